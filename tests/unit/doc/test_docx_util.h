/* Helpers shared by the .docx tests: fixtures, zip entries of a rendered package, and XPath
 * queries over its parts (what a user would see: text, runs, hyperlinks, relationships). */
#ifndef TD_TEST_DOCX_UTIL_H
#define TD_TEST_DOCX_UTIL_H

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <zip.h>

#include "test.h"
#include "trackdoc/docx.h"

#define FIXTURES "tests/data/docx/"

/* Reads a whole file into b (dies on failure: the fixtures are part of the repository). */
static inline void read_file(const char *path, td_buf *b)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;

    td_buf_init(b, 0);
    if (!f) {
        printf("not ok - cannot open %s\n", path);
        exit(1);
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        td_buf_add(b, chunk, n);
    td_buf_add(b, "", 0);
    fclose(f);
}

/* Reads a fixture. */
static inline void fixture(const char *name, td_buf *b)
{
    char path[512];

    snprintf(path, sizeof path, FIXTURES "%s", name);
    read_file(path, b);
}

/* Writes b into $TD_DOCX_KEEP/name when that variable is set (to look at outputs by hand, or
 * open them with LibreOffice). */
static inline void keep_output(const char *name, const td_buf *b)
{
    const char *dir = getenv("TD_DOCX_KEEP");
    char path[512];
    FILE *f;

    if (!dir || !*dir)
        return;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f) {
        fwrite(b->data, 1, b->len, f);
        fclose(f);
    }
}

/* Opens a zip held in memory, or returns NULL. */
static inline zip_t *zip_mem(const td_buf *b)
{
    zip_error_t ze;
    zip_source_t *src;
    zip_t *za;

    zip_error_init(&ze);
    src = zip_source_buffer_create(b->data, b->len, 0, &ze);
    za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    if (src && !za)
        zip_source_free(src);
    zip_error_fini(&ze);
    return za;
}

/* Reads entry name of the zip b into out (raw: the compressed bytes). Returns 0 or -1. */
static inline int zip_entry(const td_buf *b, const char *name, bool raw, td_buf *out)
{
    zip_t *za = zip_mem(b);
    zip_file_t *zf = za ? zip_fopen(za, name, raw ? ZIP_FL_COMPRESSED : 0) : NULL;
    char chunk[65536];
    zip_int64_t n;
    int rc = zf ? 0 : -1;

    td_buf_init(out, 0);
    td_buf_add(out, "", 0);
    while (zf && (n = zip_fread(zf, chunk, sizeof chunk)) > 0)
        td_buf_add(out, chunk, (size_t)n);
    if (zf)
        zip_fclose(zf);
    if (za)
        zip_discard(za);
    return rc;
}

/* Writes the names of the entries of zip b, separated by '|', into out. */
static inline void zip_names(const td_buf *b, td_buf *out)
{
    zip_t *za = zip_mem(b);

    td_buf_init(out, 0);
    td_buf_add(out, "", 0);
    for (zip_int64_t i = 0; za && i < zip_get_num_entries(za, 0); i++)
        td_buf_printf(out, "%s%s", i ? "|" : "", zip_get_name(za, (zip_uint64_t)i, 0));
    if (za)
        zip_discard(za);
}

/* Tells whether entry name has the same compressed bytes (and CRC) in both packages. */
static inline bool same_entry(const td_buf *a, const td_buf *b, const char *name)
{
    td_buf x, y;
    bool same;

    same = zip_entry(a, name, true, &x) == 0 && zip_entry(b, name, true, &y) == 0 &&
           x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    td_buf_release(&x);
    td_buf_release(&y);
    return same;
}

/* A parsed part with an XPath context knowing the usual prefixes. */
struct xdoc {
    xmlDoc *doc;
    xmlXPathContext *ctx;
};

/* Parses entry name of package b; returns false when it is missing or not XML. */
static inline bool xdoc_open(struct xdoc *x, const td_buf *b, const char *name)
{
    static const char *const ns[][2] = {
        {"w", "http://schemas.openxmlformats.org/wordprocessingml/2006/main"},
        {"r", "http://schemas.openxmlformats.org/officeDocument/2006/relationships"},
        {"rel", "http://schemas.openxmlformats.org/package/2006/relationships"},
        {"w14", "http://schemas.microsoft.com/office/word/2010/wordml"},
        {"cp", "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"},
        {"dc", "http://purl.org/dc/elements/1.1/"},
        {"dcterms", "http://purl.org/dc/terms/"},
        {"xsi", "http://www.w3.org/2001/XMLSchema-instance"},
        {"wp", "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"},
        {"tdx", "urn:trackdoc:docx"}};
    td_buf e;

    memset(x, 0, sizeof *x);
    if (zip_entry(b, name, false, &e) != 0) {
        td_buf_release(&e);
        return false;
    }
    x->doc = xmlReadMemory(e.data, (int)e.len, name, NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    td_buf_release(&e);
    if (!x->doc)
        return false;
    x->ctx = xmlXPathNewContext(x->doc);
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        xmlXPathRegisterNs(x->ctx, (const xmlChar *)ns[i][0], (const xmlChar *)ns[i][1]);
    return true;
}

/* Frees a parsed part. */
static inline void xdoc_close(struct xdoc *x)
{
    if (x->ctx)
        xmlXPathFreeContext(x->ctx);
    if (x->doc)
        xmlFreeDoc(x->doc);
    memset(x, 0, sizeof *x);
}

/* Evaluates an XPath number expression (count(...)); -1 on error. */
static inline double xp_num(const struct xdoc *x, const char *expr)
{
    xmlXPathObject *o = x->ctx ? xmlXPathEvalExpression((const xmlChar *)expr, x->ctx) : NULL;
    double v = o ? xmlXPathCastToNumber(o) : -1;

    xmlXPathFreeObject(o);
    return v;
}

/* Evaluates an XPath expression as a string into a static buffer (one at a time). */
static inline const char *xp_str(const struct xdoc *x, const char *expr)
{
    static char buf[4096];
    xmlXPathObject *o = x->ctx ? xmlXPathEvalExpression((const xmlChar *)expr, x->ctx) : NULL;
    xmlChar *s = o ? xmlXPathCastToString(o) : NULL;

    snprintf(buf, sizeof buf, "%s", s ? (const char *)s : "(xpath error)");
    xmlFree(s);
    xmlXPathFreeObject(o);
    return buf;
}

/* Appends the visible text of a node to out: w:t text, w:br as "\n", w:tab as "\t"; field
 * codes are left out. */
static inline void vis_text(const xmlNode *n, td_buf *out)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp((const char *)c->name, "t") == 0) {
            xmlChar *s = xmlNodeGetContent(c);

            td_buf_adds(out, (const char *)s);
            xmlFree(s);
        } else if (strcmp((const char *)c->name, "br") == 0) {
            td_buf_addc(out, '\n');
        } else if (strcmp((const char *)c->name, "tab") == 0 &&
                   strcmp((const char *)c->parent->name, "tabs") != 0) {
            td_buf_addc(out, '\t');
        } else if (strcmp((const char *)c->name, "instrText") != 0) {
            vis_text(c, out);
        }
    }
}

/* Returns the visible texts of the nodes selected by expr, joined by '|' (static buffer). */
static inline const char *xp_texts(const struct xdoc *x, const char *expr)
{
    static char buf[16384];
    xmlXPathObject *o = x->ctx ? xmlXPathEvalExpression((const xmlChar *)expr, x->ctx) : NULL;
    td_buf out;

    td_buf_init(&out, sizeof buf - 1);
    td_buf_add(&out, "", 0);
    if (!o || o->type != XPATH_NODESET) {
        td_buf_adds(&out, "(xpath error)");
    } else {
        for (int i = 0; o->nodesetval && i < o->nodesetval->nodeNr; i++) {
            if (i)
                td_buf_addc(&out, '|');
            vis_text(o->nodesetval->nodeTab[i], &out);
        }
    }
    snprintf(buf, sizeof buf, "%s", td_buf_str(&out));
    td_buf_release(&out);
    xmlXPathFreeObject(o);
    return buf;
}

/* Renders fixture name against the JSON text data with o into out. */
static inline int render_fixture(const char *name, const char *data, const td_docx_opts *o,
                                 td_buf *out, td_docx_stats *st, td_tmpl_error *err)
{
    json_error_t je;
    json_t *j = json_loads(data, 0, &je);
    td_buf in;
    int rc;

    if (!j) {
        printf("not ok - bad JSON in the test: %s\n", je.text);
        exit(1);
    }
    fixture(name, &in);
    td_buf_init(out, 0);
    rc = td_docx_render(in.data, in.len, j, o, out, st, err);
    if (rc == 0) {
        char why[256] = "";

        CHECK(td_docx_check(out->data, out->len, NULL, why, sizeof why) == 0,
              "%s: the output passes td_docx_check (%s)", name, why);
    }
    td_buf_release(&in);
    json_decref(j);
    return rc;
}

#endif
