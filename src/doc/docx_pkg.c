/* The .docx package: reads a zip from memory with libzip under hard limits, applies the safety
 * rules of td_docx_check (names, sizes that lie, macros, remote relationships, DTDs), keeps the
 * XML entries in memory, and writes the result back to memory. */
#include "core/common.h"

#include <libxml/tree.h>
#include <zip.h>

#include "doc/docx_int.h"

/* Compression level of the entries we write: zlib's 6 costs twice the time of 1 for a few
 * percent of size on WordprocessingML; rendering speed matters more here. */
#define WRITE_LEVEL 1

/* Writes a printf message into why (if any) and returns rc. */
static int fail(char *why, size_t whysz, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes a printf message into why (if any) and returns rc. */
static int fail(char *why, size_t whysz, int rc, const char *fmt, ...)
{
    va_list ap;

    if (why && whysz) {
        va_start(ap, fmt);
        vsnprintf(why, whysz, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Copies a name for a message: at most 100 bytes, control characters as '?'. */
static const char *shown(const char *name, char *buf, size_t sz)
{
    size_t i;

    for (i = 0; name[i] && i + 1 < sz && i < 100; i++)
        buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    buf[i] = '\0';
    return buf;
}

/* Fills l from in (NULL or zero fields: defaults). */
static void limits_fill(td_docx_limits *l, const td_docx_limits *in)
{
    td_docx_limits z = {0};

    if (!in)
        in = &z;
    l->max_input = in->max_input ? in->max_input : TD__DOCX_MAX_INPUT;
    l->max_entries = in->max_entries ? in->max_entries : TD__DOCX_MAX_ENTRIES;
    l->max_entry_size = in->max_entry_size ? in->max_entry_size : TD__DOCX_MAX_ENTRY;
    l->max_total = in->max_total ? in->max_total : TD__DOCX_MAX_TOTAL;
    l->max_ratio = in->max_ratio ? in->max_ratio : TD__DOCX_MAX_RATIO;
}

/* Tells whether s ends with suffix, ignoring ASCII case. */
static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* Tells whether hay contains needle, ignoring ASCII case. */
static bool contains_ci(const char *hay, const char *needle)
{
    return strcasestr(hay, needle) != NULL;
}

/* Checks one entry name: no '..' segment, absolute path, backslash, drive letter or control
 * character; no VBA project. */
static int check_name(const char *name, char *why, size_t whysz)
{
    const char *seg = name, *base = strrchr(name, '/');
    char buf[128];
    size_t i;

    if (!*name)
        return fail(why, whysz, TD_EDOCX, "an entry has an empty name");
    for (i = 0; name[i]; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return fail(why, whysz, TD_EUNSAFE, "%s: control character in an entry name",
                        shown(name, buf, sizeof buf));
        if (name[i] == '\\')
            return fail(why, whysz, TD_EUNSAFE,
                        "%s: backslash in an entry name (a Windows path) is refused",
                        shown(name, buf, sizeof buf));
    }
    if (name[0] == '/')
        return fail(why, whysz, TD_EUNSAFE, "%s: absolute entry name is refused",
                    shown(name, buf, sizeof buf));
    if (isalpha((unsigned char)name[0]) && name[1] == ':')
        return fail(why, whysz, TD_EUNSAFE, "%s: drive letter in an entry name is refused",
                    shown(name, buf, sizeof buf));
    while (seg) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);

        if (n == 2 && seg[0] == '.' && seg[1] == '.')
            return fail(why, whysz, TD_EUNSAFE,
                        "%s: '..' in an entry name (path traversal) is "
                        "refused",
                        shown(name, buf, sizeof buf));
        seg = end ? end + 1 : NULL;
    }
    base = base ? base + 1 : name;
    if (strcasecmp(base, "vbaProject.bin") == 0)
        return fail(why, whysz, TD_EUNSAFE, "%s: macros (a VBA project) are refused",
                    shown(name, buf, sizeof buf));
    return 0;
}

/* Orders entries by name, ignoring ASCII case, for the duplicate check. */
static int cmp_name(const void *a, const void *b)
{
    const struct td__docx_entry *const *x = a, *const *y = b;

    return strcasecmp((*x)->name, (*y)->name);
}

/* Refuses two entries with the same name (ignoring case, as OPC part names do). */
static int check_duplicates(struct td__docx_pkg *p, char *why, size_t whysz)
{
    struct td__docx_entry **v = NULL;
    char buf[128];
    int rc = 0;
    size_t i;

    if (p->n < 2)
        goto out;
    v = malloc(p->n * sizeof *v);
    if (!v) {
        rc = TD_ENOMEM;
        goto out;
    }
    for (i = 0; i < p->n; i++)
        v[i] = &p->e[i];
    qsort(v, p->n, sizeof *v, cmp_name);
    for (i = 1; i < p->n; i++) {
        if (strcasecmp(v[i - 1]->name, v[i]->name) == 0) {
            rc = fail(why, whysz, TD_EUNSAFE, "%s: two entries have this name",
                      shown(v[i]->name, buf, sizeof buf));
            goto out;
        }
    }
out:
    free(v);
    return rc;
}

/* Reads the stat of every entry and checks names, methods and the size claims. */
static int scan_entries(struct td__docx_pkg *p, char *why, size_t whysz)
{
    zip_int64_t ne = zip_get_num_entries(p->za, 0);
    zip_uint64_t total = 0;
    char buf[128];
    int rc = 0;

    if (ne < 0) {
        rc = fail(why, whysz, TD_EDOCX, "not a zip file: cannot count its entries");
        goto out;
    }
    if ((zip_uint64_t)ne > p->lim.max_entries) {
        rc = fail(why, whysz, TD_EDOCX, "the package has %lld entries, over the limit of %zu",
                  (long long)ne, p->lim.max_entries);
        goto out;
    }
    p->e = calloc(ne ? (size_t)ne : 1, sizeof *p->e);
    if (!p->e) {
        rc = TD_ENOMEM;
        goto out;
    }
    for (zip_uint64_t i = 0; i < (zip_uint64_t)ne; i++) {
        struct td__docx_entry *e = &p->e[p->n];
        const char *name = zip_get_name(p->za, i, 0);
        zip_stat_t st;

        zip_stat_init(&st);
        if (!name || zip_stat_index(p->za, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
            !(st.valid & ZIP_STAT_COMP_SIZE)) {
            rc = fail(why, whysz, TD_EDOCX, "entry %llu: unreadable zip directory record",
                      (unsigned long long)i);
            goto out;
        }
        rc = check_name(name, why, whysz);
        if (rc)
            goto out;
        e->name = strdup(name);
        if (!e->name) {
            rc = TD_ENOMEM;
            goto out;
        }
        e->index = i;
        e->size = st.size;
        e->mtime = (st.valid & ZIP_STAT_MTIME) ? st.mtime : 0;
        p->n++;
        shown(name, buf, sizeof buf);
        if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
            rc = fail(why, whysz, TD_EDOCX, "%s: encrypted entry", buf);
            goto out;
        }
        if (!(st.valid & ZIP_STAT_COMP_METHOD) ||
            (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE)) {
            rc = fail(why, whysz, TD_EDOCX,
                      "%s: compression method %d is not one a .docx uses (stored, deflated)", buf,
                      (st.valid & ZIP_STAT_COMP_METHOD) ? (int)st.comp_method : -1);
            goto out;
        }
        if (st.comp_method == ZIP_CM_STORE && st.size != st.comp_size) {
            rc = fail(why, whysz, TD_EDOCX, "%s: stored entry whose sizes disagree (%llu, %llu)",
                      buf, (unsigned long long)st.size, (unsigned long long)st.comp_size);
            goto out;
        }
        if (st.size > p->lim.max_entry_size) {
            rc = fail(why, whysz, TD_EDOCX,
                      "%s: %llu bytes uncompressed, over the limit of %zu per entry", buf,
                      (unsigned long long)st.size, p->lim.max_entry_size);
            goto out;
        }
        if (st.size > TD__DOCX_RATIO_FLOOR &&
            (st.comp_size == 0 || st.size / st.comp_size >= p->lim.max_ratio)) {
            rc = fail(why, whysz, TD_EDOCX,
                      "%s: compressed %llu to 1 (%llu bytes from %llu), over the ratio limit "
                      "of %u (a zip bomb)",
                      buf, (unsigned long long)(st.comp_size ? st.size / st.comp_size : st.size),
                      (unsigned long long)st.size, (unsigned long long)st.comp_size,
                      p->lim.max_ratio);
            goto out;
        }
        total += st.size;
        if (total > p->lim.max_total) {
            rc = fail(why, whysz, TD_EDOCX,
                      "%s: the entries add up to more than %zu bytes uncompressed, the limit", buf,
                      p->lim.max_total);
            goto out;
        }
    }
    rc = check_duplicates(p, why, whysz);
out:
    return rc;
}

/* Reads entry e (decompressing) into e->data when keep, else through a scratch buffer, and
 * refuses it when it holds more or fewer bytes than it claims. */
static int read_entry(struct td__docx_pkg *p, struct td__docx_entry *e, bool keep, char *why,
                      size_t whysz)
{
    char scratch[16384] = {0}, buf[128];
    zip_file_t *zf = NULL;
    zip_uint64_t got = 0;
    int rc = 0;

    shown(e->name, buf, sizeof buf);
    if (keep) {
        e->data = malloc((size_t)e->size + 1);
        if (!e->data) {
            rc = TD_ENOMEM;
            goto out;
        }
    }
    zf = zip_fopen_index(p->za, e->index, 0);
    if (!zf) {
        rc = fail(why, whysz, TD_EDOCX, "%s: cannot be read: %s", buf,
                  zip_error_strerror(zip_get_error(p->za)));
        goto out;
    }
    for (;;) {
        char *dst = keep ? e->data + got : scratch;
        zip_uint64_t want = keep ? e->size + 1 - got : sizeof scratch;
        zip_int64_t n = zip_fread(zf, dst, want);

        if (n < 0) {
            rc = fail(why, whysz, TD_EDOCX, "%s: damaged entry: %s", buf,
                      zip_error_strerror(zip_file_get_error(zf)));
            goto out;
        }
        if (n == 0)
            break;
        got += (zip_uint64_t)n;
        if (got > e->size) {
            rc = fail(why, whysz, TD_EDOCX,
                      "%s: holds more bytes than the %llu it claims (a zip bomb)", buf,
                      (unsigned long long)e->size);
            goto out;
        }
    }
    if (got != e->size) {
        rc = fail(why, whysz, TD_EDOCX, "%s: holds %llu bytes, not the %llu it claims", buf,
                  (unsigned long long)got, (unsigned long long)e->size);
        goto out;
    }
    if (keep) {
        e->data[got] = '\0';
        e->len = (size_t)got;
    }
out:
    if (zf)
        zip_fclose(zf);
    if (rc && keep) {
        free(e->data);
        e->data = NULL;
    }
    return rc;
}

/* Tells whether a content type is XML ("application/xml", "...+xml", "text/xml"). */
static bool xml_type(const char *ct)
{
    return ends_with_ci(ct, "+xml") || ends_with_ci(ct, "/xml");
}

/* Checks [Content_Types].xml (no macro, VBA or ActiveX content type) and marks in xml[] the
 * entries whose declared content type is XML. */
static int check_types(struct td__docx_pkg *p, struct td__docx_entry *ct, bool *xml, char *why,
                       size_t whysz)
{
    xmlDoc *doc = NULL;
    xmlNode *n;
    int rc = read_entry(p, ct, true, why, whysz);

    if (rc)
        goto out;
    if (td__docx_xml_has_dtd(ct->data, ct->len)) {
        rc = fail(why, whysz, TD_EUNSAFE,
                  "[Content_Types].xml: DOCTYPE or ENTITY declaration is refused (entity "
                  "expansion, external fetches)");
        goto out;
    }
    rc = td__docx_xml_parse(ct->data, ct->len, "[Content_Types].xml", &doc, why, whysz);
    if (rc)
        goto out;
    for (n = xmlDocGetRootElement(doc) ? xmlDocGetRootElement(doc)->children : NULL; n;
         n = n->next) {
        const char *type = td__docx_attr(n, NULL, "ContentType");
        const char *ext = td__docx_attr(n, NULL, "Extension");
        const char *part = td__docx_attr(n, NULL, "PartName");
        char buf[128];

        if (n->type != XML_ELEMENT_NODE || !type)
            continue;
        shown(type, buf, sizeof buf);
        if (contains_ci(type, "macroEnabled")) {
            rc = fail(why, whysz, TD_EUNSAFE,
                      "[Content_Types].xml: macro-enabled content type \"%s\" is refused", buf);
            goto out;
        }
        if (contains_ci(type, "vbaProject")) {
            rc = fail(why, whysz, TD_EUNSAFE,
                      "[Content_Types].xml: %s declared as a VBA project (macros) is refused",
                      ext    ? ext
                      : part ? part
                             : "a part");
            goto out;
        }
        if (contains_ci(type, "activeX")) {
            rc = fail(why, whysz, TD_EUNSAFE,
                      "[Content_Types].xml: ActiveX controls (\"%s\") are refused", buf);
            goto out;
        }
        if (!xml_type(type))
            continue;
        for (size_t i = 0; i < p->n; i++) {
            const char *dot = strrchr(p->e[i].name, '.');

            if ((ext && dot && strchr(dot, '/') == NULL && strcasecmp(dot + 1, ext) == 0) ||
                (part && part[0] == '/' && strcasecmp(part + 1, p->e[i].name) == 0))
                xml[i] = true;
        }
    }
out:
    xmlFreeDoc(doc);
    return rc;
}

/* True for a path on the machine that opens the document, after any file:/// or
 * file://localhost/ prefix and percent-decoding: a drive path (C:\\... or C:/...), an absolute
 * path (/...) or a relative name; never a URL, a share (\\\\host, //host) or file://host/. */
static bool local_path(const char *t)
{
    char p[1024];
    size_t o = 0;

    if (strncasecmp(t, "file:///", 8) == 0)
        t += 8 - 1; /* keep the slash: "/C:/x" or "/home/x" */
    else if (strncasecmp(t, "file://localhost/", 17) == 0)
        t += 17 - 1;
    else if (strstr(t, "://") || strncasecmp(t, "file:", 5) == 0)
        return false;
    /* Decode %XX so that %5C%5Chost cannot pass for a local path. */
    for (; *t && o + 1 < sizeof p; t++) {
        if (t[0] == '%' && isxdigit((unsigned char)t[1]) && isxdigit((unsigned char)t[2])) {
            char hex[3] = {t[1], t[2], 0};
            p[o++] = (char)strtol(hex, NULL, 16);
            t += 2;
        } else {
            p[o++] = *t;
        }
    }
    p[o] = '\0';
    t = p;
    if (t[0] == '/' && isalpha((unsigned char)t[1]) && t[2] == ':')
        t++; /* "/C:/..." from file:///C:/... */
    if (isalpha((unsigned char)t[0]) && t[1] == ':')
        return (t[2] == '\\' || t[2] == '/') && t[3] != '\\' && t[3] != '/';
    if ((t[0] == '/' || t[0] == '\\') && (t[1] == '/' || t[1] == '\\'))
        return false; /* //host or \\host: a network share */
    return true;
}

/* Checks the relationships of one .rels entry: no attached template, no VBA project, nothing
 * external but hyperlinks. */
static int check_rels(const struct td__docx_entry *e, char *why, size_t whysz)
{
    xmlDoc *doc = NULL;
    xmlNode *n, *root;
    char name[128], b1[128], b2[128];
    int rc = td__docx_xml_parse(e->data, e->len, e->name, &doc, why, whysz);

    if (rc)
        goto out;
    shown(e->name, name, sizeof name);
    root = xmlDocGetRootElement(doc);
    for (n = root ? root->children : NULL; n; n = n->next) {
        const char *type, *mode, *id, *target;

        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Relationship") != 0)
            continue;
        type = td__docx_attr(n, NULL, "Type");
        mode = td__docx_attr(n, NULL, "TargetMode");
        id = td__docx_attr(n, NULL, "Id");
        target = td__docx_attr(n, NULL, "Target");
        if (!type)
            type = "";
        if (!id)
            id = "?";
        if (ends_with_ci(type, "/attachedTemplate")) {
            /* Word records the template a document was made from (often a local Normal.dotm);
             * that is harmless. A template fetched from elsewhere (http, ftp, a file share)
             * is the "remote template" attack: refused. */
            if (target && local_path(target))
                continue;
            rc = fail(why, whysz, TD_EUNSAFE,
                      "%s: relationship %s attaches a remote template (%s): refused (remote "
                      "templates can carry macros; in Word, detach it under Developer > Document "
                      "Template)",
                      name, shown(id, b1, sizeof b1), target ? shown(target, b2, sizeof b2) : "");
            goto out;
        }
        if (ends_with_ci(type, "/vbaProject")) {
            rc = fail(why, whysz, TD_EUNSAFE,
                      "%s: relationship %s is a VBA project (macros): "
                      "refused",
                      name, shown(id, b1, sizeof b1));
            goto out;
        }
        if (mode && strcasecmp(mode, "External") == 0 && !ends_with_ci(type, "/hyperlink")) {
            const char *slash = strrchr(type, '/');

            rc = fail(why, whysz, TD_EUNSAFE,
                      "%s: relationship %s (%s) points outside the document to %s: only "
                      "hyperlinks may",
                      name, shown(id, b1, sizeof b1), slash ? slash + 1 : type,
                      target ? shown(target, b2, sizeof b2) : "?");
            goto out;
        }
    }
out:
    xmlFreeDoc(doc);
    return rc;
}

/* Tells whether an entry is XML by its name. */
static bool xml_name(const char *name)
{
    return ends_with_ci(name, ".xml") || ends_with_ci(name, ".rels") || ends_with_ci(name, ".vml");
}

/* Opens and checks a package (see docx_int.h). */
int td__docx_pkg_open(struct td__docx_pkg *p, const void *docx, size_t len,
                      const td_docx_limits *lim, char *why, size_t whysz)
{
    static const char *const required[] = {"[Content_Types].xml", "_rels/.rels",
                                           "word/document.xml"};
    struct td__docx_entry *ct;
    zip_error_t ze;
    bool *xml = NULL, dup = false;
    int rc = 0;

    memset(p, 0, sizeof *p);
    limits_fill(&p->lim, lim);
    if (why && whysz)
        why[0] = '\0';
    if (!docx || len == 0) {
        rc = fail(why, whysz, TD_EDOCX, "empty file: a .docx is a zip package");
        goto out;
    }
    if (len > p->lim.max_input) {
        rc = fail(why, whysz, TD_EDOCX, "the file has %zu bytes, over the limit of %zu", len,
                  p->lim.max_input);
        goto out;
    }
    zip_error_init(&ze);
    p->src = zip_source_buffer_create(docx, len, 0, &ze);
    if (!p->src) {
        zip_error_fini(&ze);
        rc = TD_ENOMEM;
        goto out;
    }
    p->za = zip_open_from_source(p->src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!p->za && zip_error_code_zip(&ze) == ZIP_ER_EXISTS) {
        /* Two entries with one name: open it leniently, to name them below. */
        dup = true;
        zip_error_fini(&ze);
        zip_error_init(&ze);
        p->za = zip_open_from_source(p->src, ZIP_RDONLY, &ze);
    }
    if (!p->za) {
        rc = fail(why, whysz, TD_EDOCX, "not a zip file (a .docx is a zip package): %s",
                  zip_error_strerror(&ze));
        zip_error_fini(&ze);
        goto out;
    }
    zip_error_fini(&ze);
    p->src = NULL; /* the archive owns it now */
    rc = scan_entries(p, why, whysz);
    if (!rc && dup)
        rc = fail(why, whysz, TD_EUNSAFE, "two entries have the same name");
    if (rc)
        goto out;
    for (size_t i = 0; i < TD_ARRAY_SIZE(required); i++) {
        if (!td__docx_pkg_find(p, required[i])) {
            rc = fail(why, whysz, TD_EDOCX, "%s is missing: not a Word document", required[i]);
            goto out;
        }
    }
    xml = calloc(p->n ? p->n : 1, sizeof *xml);
    if (!xml) {
        rc = TD_ENOMEM;
        goto out;
    }
    ct = td__docx_pkg_find(p, "[Content_Types].xml");
    rc = check_types(p, ct, xml, why, whysz);
    if (rc)
        goto out;
    for (size_t i = 0; i < p->n; i++) {
        struct td__docx_entry *e = &p->e[i];
        bool keep = xml[i] || xml_name(e->name);
        char buf[128];

        if (e == ct || (e->name[0] && e->name[strlen(e->name) - 1] == '/' && e->size == 0))
            continue;
        rc = read_entry(p, e, keep, why, whysz);
        if (rc)
            goto out;
        if (keep && td__docx_xml_has_dtd(e->data, e->len)) {
            rc = fail(why, whysz, TD_EUNSAFE,
                      "%s: DOCTYPE or ENTITY declaration is refused (entity expansion, external "
                      "fetches)",
                      shown(e->name, buf, sizeof buf));
            goto out;
        }
        if (keep && ends_with_ci(e->name, ".rels")) {
            rc = check_rels(e, why, whysz);
            if (rc)
                goto out;
        }
    }
out:
    free(xml);
    return rc;
}

/* Frees a package. */
void td__docx_pkg_close(struct td__docx_pkg *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->e[i].name);
        free(p->e[i].data);
        free(p->e[i].out);
    }
    free(p->e);
    if (p->za)
        zip_discard(p->za);
    if (p->src)
        zip_source_free(p->src);
    memset(p, 0, sizeof *p);
}

/* Returns the entry called name, or NULL. */
struct td__docx_entry *td__docx_pkg_find(struct td__docx_pkg *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->e[i].name, name) == 0)
            return &p->e[i];
    }
    return NULL;
}

/* Adds entry e to the archive being written. */
static int add_entry(struct td__docx_pkg *p, zip_t *za, const struct td__docx_entry *e)
{
    zip_source_t *s;
    zip_int64_t idx;

    if (e->out)
        s = zip_source_buffer(za, e->out, e->out_len, 0);
    else
        s = zip_source_zip(za, p->za, e->index, ZIP_FL_COMPRESSED, 0, -1);
    if (!s)
        return TD_ENOMEM;
    idx = zip_file_add(za, e->name, s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(s);
        return TD_EIO;
    }
    if (e->out && zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, WRITE_LEVEL))
        return TD_EIO;
    if (e->mtime && zip_file_set_mtime(za, (zip_uint64_t)idx, e->mtime, 0))
        return TD_EIO;
    return 0;
}

/* Writes the package as a new zip at the end of out (see docx_int.h). */
int td__docx_pkg_write(struct td__docx_pkg *p, td_buf *out, char *why, size_t whysz)
{
    struct td__docx_entry *ct = td__docx_pkg_find(p, "[Content_Types].xml");
    zip_source_t *dst = NULL;
    zip_t *za = NULL;
    zip_stat_t st;
    zip_error_t ze;
    size_t len0 = out->len;
    bool opened = false;
    int rc = 0;

    zip_error_init(&ze);
    dst = zip_source_buffer_create(NULL, 0, 0, &ze);
    if (!dst) {
        rc = TD_ENOMEM;
        goto out;
    }
    za = zip_open_from_source(dst, ZIP_TRUNCATE | ZIP_CREATE, &ze);
    if (!za) {
        rc = fail(why, whysz, TD_EIO, "cannot create the zip: %s", zip_error_strerror(&ze));
        goto out;
    }
    zip_source_keep(dst); /* the archive owns one reference, we keep another to read it back */
    if (ct)
        rc = add_entry(p, za, ct);
    for (size_t i = 0; i < p->n && !rc; i++) {
        if (&p->e[i] != ct)
            rc = add_entry(p, za, &p->e[i]);
    }
    if (rc) {
        fail(why, whysz, rc, "cannot add an entry to the zip: %s",
             zip_error_strerror(zip_get_error(za)));
        goto out;
    }
    if (zip_close(za) != 0) {
        rc = fail(why, whysz, TD_EIO, "cannot write the zip: %s",
                  zip_error_strerror(zip_get_error(za)));
        goto out;
    }
    za = NULL;
    zip_stat_init(&st);
    if (zip_source_stat(dst, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
        zip_source_open(dst) != 0) {
        rc = fail(why, whysz, TD_EIO, "cannot read the zip back");
        goto out;
    }
    opened = true;
    rc = td_buf_reserve(out, (size_t)st.size);
    if (rc)
        goto out;
    if (zip_source_read(dst, out->data + out->len, st.size) != (zip_int64_t)st.size) {
        rc = fail(why, whysz, TD_EIO, "cannot read the zip back");
        goto out;
    }
    out->len += (size_t)st.size;
    out->data[out->len] = '\0';
out:
    if (za)
        zip_discard(za);
    if (opened)
        zip_source_close(dst);
    if (dst)
        zip_source_free(dst);
    zip_error_fini(&ze);
    if (rc) {
        out->len = len0;
        if (out->data)
            out->data[len0] = '\0';
    }
    return rc;
}
