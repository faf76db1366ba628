/* XML for the .docx writer: parsing parts with libxml2 so that it never fetches nor expands
 * anything, our own serialiser (which writes a part as a Mustache template when given
 * annotations), escaping, and the small text helpers the other docx files share. */
#include "core/common.h"

#include <pthread.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include "doc/docx_int.h"

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* Initialises libxml2 once, before any thread parses. */
static void xml_init(void)
{
    xmlInitParser();
}

/* Swallows libxml2's error reports: the library never prints; the last error stays in the
 * parser context. */
static void silent(void *ud, xmlErrorPtr e)
{
    (void)ud;
    (void)e;
}

/* Swallows libxml2's unstructured messages (some encoding errors use them). */
static void silent_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* The error handlers of this thread, saved while we parse with ours. */
struct quiet {
    xmlStructuredErrorFunc s;
    void *sctx;
    xmlGenericErrorFunc g;
    void *gctx;
};

/* Silences libxml2 on this thread (its error handlers are per thread), saving the current
 * handlers: a few errors (input encodings) bypass the parser context. */
static void quiet_on(struct quiet *q)
{
    q->s = xmlStructuredError;
    q->sctx = xmlStructuredErrorContext;
    q->g = xmlGenericError;
    q->gctx = xmlGenericErrorContext;
    xmlSetStructuredErrorFunc(NULL, silent);
    xmlSetGenericErrorFunc(NULL, silent_generic);
}

/* Puts back the handlers quiet_on saved. */
static void quiet_off(const struct quiet *q)
{
    xmlSetStructuredErrorFunc(q->sctx, q->s);
    xmlSetGenericErrorFunc(q->gctx, q->g);
}

/* Stops the parser at a DOCTYPE: no DTD is ever read, so no entity can be declared. */
static void on_dtd(void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
    xmlParserCtxtPtr c = ctx;

    (void)name;
    (void)eid;
    (void)sid;
    *(bool *)c->_private = true;
    xmlStopParser(c);
}

/* Stops the parser at an entity declaration (only reachable through a DTD, refused anyway). */
static void on_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pid,
                      const xmlChar *sid, xmlChar *content)
{
    xmlParserCtxtPtr c = ctx;

    (void)name;
    (void)type;
    (void)pid;
    (void)sid;
    (void)content;
    *(bool *)c->_private = true;
    xmlStopParser(c);
}

/* Parses an XML part safely (see docx_int.h). */
int td__docx_xml_parse(const char *data, size_t len, const char *part, xmlDoc **out, char *why,
                       size_t whysz)
{
    xmlParserCtxtPtr c = NULL;
    struct quiet q;
    bool dtd = false;
    int rc = 0;

    *out = NULL;
    pthread_once(&xml_once, xml_init);
    quiet_on(&q);
    if (len > INT_MAX) {
        rc = TD_EDOCX;
        snprintf(why, whysz, "%s: too large to parse", part);
        goto out;
    }
    c = xmlCreateMemoryParserCtxt(data, (int)len);
    if (!c) {
        rc = TD_ENOMEM;
        goto out;
    }
    c->sax->internalSubset = on_dtd;
    c->sax->externalSubset = on_dtd;
    c->sax->entityDecl = on_entity;
    c->sax->serror = silent;
    c->sax->warning = NULL;
    c->sax->error = NULL;
    c->vctxt.error = NULL;
    c->vctxt.warning = NULL;
    c->_private = &dtd;
    /* No XML_PARSE_NOENT, DTDLOAD, DTDATTR or XINCLUDE: nothing is substituted or loaded. */
    xmlCtxtUseOptions(c, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                             XML_PARSE_NOCDATA | XML_PARSE_COMPACT);
    xmlParseDocument(c);
    if (dtd) {
        rc = TD_EUNSAFE;
        snprintf(why, whysz,
                 "%s: DOCTYPE or ENTITY declaration is refused (entity expansion, external "
                 "fetches)",
                 part);
        goto out;
    }
    if (!c->wellFormed || !c->myDoc || !xmlDocGetRootElement(c->myDoc)) {
        if (c->lastError.code == XML_ERR_NO_MEMORY) {
            rc = TD_ENOMEM;
            goto out;
        }
        rc = TD_EDOCX;
        snprintf(why, whysz, "%s: not well-formed XML at line %d: %s", part, c->lastError.line,
                 c->lastError.message ? c->lastError.message : "parse error");
        /* libxml2's messages end with a newline. */
        if (why && whysz && *why && why[strlen(why) - 1] == '\n')
            why[strlen(why) - 1] = '\0';
        goto out;
    }
    *out = c->myDoc;
    c->myDoc = NULL;
out:
    if (c) {
        if (c->myDoc)
            xmlFreeDoc(c->myDoc);
        xmlFreeParserCtxt(c);
    }
    quiet_off(&q);
    return rc;
}

/* Tells whether pat occurs in s as ASCII, or as UTF-16 (little or big endian). */
static bool has_pattern(const char *s, size_t n, const char *pat)
{
    size_t k = strlen(pat);
    char wide[2][32];

    if (memmem(s, n, pat, k))
        return true;
    if (!memchr(s, '\0', TD_MIN(n, (size_t)512)))
        return false; /* not UTF-16: no NUL in the first bytes */
    for (size_t i = 0; i < k; i++) {
        wide[0][2 * i] = pat[i];
        wide[0][2 * i + 1] = '\0';
        wide[1][2 * i] = '\0';
        wide[1][2 * i + 1] = pat[i];
    }
    return memmem(s, n, wide[0], 2 * k) || memmem(s, n, wide[1], 2 * k);
}

/* Tells whether the bytes hold a DOCTYPE or ENTITY declaration. */
bool td__docx_xml_has_dtd(const char *data, size_t len)
{
    return has_pattern(data, len, "<!DOCTYPE") || has_pattern(data, len, "<!ENTITY");
}

/* Tells whether ns is the WordprocessingML namespace. */
static bool is_w_ns(const xmlNs *ns)
{
    return ns && ns->href &&
           (strcmp((const char *)ns->href, TD__W_NS) == 0 ||
            strcmp((const char *)ns->href, TD__W_NS_STRICT) == 0);
}

/* Tells whether n is the w: element local. */
bool td__docx_is_w(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, local) == 0 &&
           is_w_ns(n->ns);
}

/* Tells whether ns is the relationships namespace. */
bool td__docx_is_r_ns(const xmlNs *ns)
{
    return ns && ns->href &&
           (strcmp((const char *)ns->href, TD__R_NS) == 0 ||
            strcmp((const char *)ns->href, TD__R_NS_STRICT) == 0);
}

/* Returns the value of an attribute (see docx_int.h). */
const char *td__docx_attr(const xmlNode *n, const char *href, const char *local)
{
    if (!n || n->type != XML_ELEMENT_NODE)
        return NULL;
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        if (strcmp((const char *)a->name, local) != 0)
            continue;
        if (href ? !(a->ns && a->ns->href && strcmp((const char *)a->ns->href, href) == 0)
                 : a->ns != NULL)
            continue;
        return a->children && a->children->content ? (const char *)a->children->content : "";
    }
    return NULL;
}

/* Returns the w: attribute local, or NULL. */
const char *td__docx_wattr(const xmlNode *n, const char *local)
{
    if (!n || n->type != XML_ELEMENT_NODE)
        return NULL;
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        if (strcmp((const char *)a->name, local) == 0 && is_w_ns(a->ns))
            return a->children && a->children->content ? (const char *)a->children->content : "";
    }
    return NULL;
}

/* Replaces the text content of element n. */
int td__docx_set_text(xmlNode *n, const char *s, size_t len)
{
    xmlNode *c = n->children, *t;

    if (len > INT_MAX)
        return TD_ETOOBIG;
    while (c) {
        xmlNode *next = c->next;

        xmlUnlinkNode(c);
        xmlFreeNode(c);
        c = next;
    }
    if (len == 0)
        return 0;
    t = xmlNewDocTextLen(n->doc, (const xmlChar *)s, (int)len);
    if (!t)
        return TD_ENOMEM;
    xmlAddChild(n, t);
    return 0;
}

/* Gives element n xml:space="preserve". */
int td__docx_preserve_space(xmlNode *n)
{
    xmlNs *ns = xmlSearchNs(n->doc, n, (const xmlChar *)"xml");

    if (!ns || !xmlSetNsProp(n, ns, (const xmlChar *)"space", (const xmlChar *)"preserve"))
        return TD_ENOMEM;
    return 0;
}

/* Appends the text content of n to out. */
int td__docx_get_text(const xmlNode *n, td_buf *out)
{
    int rc = 0;

    for (const xmlNode *c = n->children; c && !rc; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            rc = td_buf_adds(out, (const char *)c->content);
    }
    return rc;
}

/* Prepares empty annotations. */
void td__docx_anns_init(struct td__docx_anns *a)
{
    memset(a, 0, sizeof *a);
    td_buf_init(&a->pool, 0);
}

/* Frees annotations. */
void td__docx_anns_release(struct td__docx_anns *a)
{
    free(a->v);
    free(a->c);
    td_buf_release(&a->pool);
    memset(a, 0, sizeof *a);
}

/* Returns the annotation in a node's _private slot, creating it. */
struct td__docx_ann *td__docx_ann(struct td__docx_anns *a, void **private_slot)
{
    uintptr_t k = (uintptr_t)*private_slot;

    if (k)
        return &a->v[k - 1];
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        struct td__docx_ann *v = realloc(a->v, cap * sizeof *v);

        if (!v)
            return NULL;
        a->v = v;
        a->cap = cap;
    }
    memset(&a->v[a->n], 0, sizeof a->v[0]);
    *private_slot = (void *)(uintptr_t)(a->n + 1);
    return &a->v[a->n++];
}

/* Adds pool[off, off + len) at the end of fragment f. */
static int frag_range(struct td__docx_anns *a, struct td__docx_frag *f, size_t off, size_t len)
{
    struct td__docx_chunk *t;

    if (len == 0)
        return 0;
    if (f->tail) {
        t = &a->c[f->tail - 1];
        if (t->off + t->len == off) {
            t->len += len;
            return 0;
        }
    }
    if (a->nc == a->capc) {
        size_t cap = a->capc ? a->capc * 2 : 64;
        struct td__docx_chunk *c = realloc(a->c, cap * sizeof *c);

        if (!c)
            return TD_ENOMEM;
        a->c = c;
        a->capc = cap;
    }
    if (a->nc >= UINT32_MAX - 1)
        return TD_ETOOBIG;
    a->c[a->nc] = (struct td__docx_chunk){.off = off, .len = len, .next = 0};
    if (f->tail)
        a->c[f->tail - 1].next = (uint32_t)a->nc + 1;
    else
        f->head = (uint32_t)a->nc + 1;
    f->tail = (uint32_t)a->nc + 1;
    a->nc++;
    return 0;
}

/* Appends s[0, len) to a fragment. */
int td__docx_frag_add(struct td__docx_anns *a, struct td__docx_frag *f, const char *s, size_t len)
{
    size_t off = a->pool.len;
    int rc = len ? td_buf_add(&a->pool, s, len) : 0;

    return rc ? rc : frag_range(a, f, off, len);
}

/* Appends s[0, len), escaped, to a fragment. */
int td__docx_frag_esc(struct td__docx_anns *a, struct td__docx_frag *f, const char *s, size_t len,
                      bool attr)
{
    size_t off = a->pool.len;
    int rc = td__docx_xml_escape(&a->pool, s, len, attr, true);

    return rc ? rc : frag_range(a, f, off, a->pool.len - off);
}

/* Escape classes: 0 plain, else the byte needs the replacement below (text or attribute). */
static const uint8_t esc_class[256] = {
    ['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4, ['\n'] = 5, ['\r'] = 6, ['\t'] = 7};

/* Appends the XML escape of s[0, len) to out. */
int td__docx_xml_escape(td_buf *out, const char *s, size_t len, bool attr, bool newline_ref)
{
    static const char *const rep[] = {"",       "&amp;", "&lt;",  "&gt;",
                                      "&quot;", "&#10;", "&#13;", "&#9;"};
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    int rc = 0;

    while (i < len && !rc) {
        uint8_t k = esc_class[u[i]];

        if (!k || (!attr && (k == 4 || k == 7 || (k == 5 && !newline_ref)))) {
            i++;
            continue;
        }
        rc = td_buf_add(out, s + run, i - run);
        if (!rc)
            rc = td_buf_adds(out, rep[k]);
        run = ++i;
    }
    if (!rc)
        rc = td_buf_add(out, s + run, len - run);
    return rc;
}

struct writer {
    td_buf *out;
    const struct td__docx_anns *a; /* NULL in final mode */
    int rc;
};

/* Appends n bytes. */
static void put(struct writer *w, const char *s, size_t n)
{
    if (!w->rc)
        w->rc = td_buf_add(w->out, s, n);
}

/* Appends a string. */
static void puts_(struct writer *w, const char *s)
{
    put(w, s, strlen(s));
}

/* Appends a fragment. */
static void put_frag(struct writer *w, const struct td__docx_frag *f)
{
    for (uint32_t k = f->head; k && !w->rc; k = w->a->c[k - 1].next)
        put(w, w->a->pool.data + w->a->c[k - 1].off, w->a->c[k - 1].len);
}

/* Appends escaped text. */
static void put_esc(struct writer *w, const char *s, bool attr)
{
    if (!w->rc && s)
        w->rc = td__docx_xml_escape(w->out, s, strlen(s), attr, w->a != NULL);
}

/* Appends prefix:name. */
static void put_qname(struct writer *w, const xmlNs *ns, const xmlChar *name)
{
    if (ns && ns->prefix) {
        puts_(w, (const char *)ns->prefix);
        put(w, ":", 1);
    }
    puts_(w, (const char *)name);
}

/* Tells whether ns is our namespace. */
static bool ours(const xmlNs *ns)
{
    return ns && ns->href && strcmp((const char *)ns->href, TD__OUR_NS) == 0;
}

/* Returns the annotation of a node in template mode, or NULL. */
static const struct td__docx_ann *ann_of(const struct writer *w, void *private_slot)
{
    uintptr_t k = (uintptr_t)private_slot;

    return w->a && k ? &w->a->v[k - 1] : NULL;
}

/* Writes the attributes and namespace declarations of element n. */
static void write_attrs(struct writer *w, const xmlNode *n, const struct td__docx_ann *a, bool root)
{
    for (const xmlNs *ns = n->nsDef; ns; ns = ns->next) {
        if (!w->a && ours(ns))
            continue;
        puts_(w, " xmlns");
        if (ns->prefix) {
            put(w, ":", 1);
            puts_(w, (const char *)ns->prefix);
        }
        put(w, "=\"", 2);
        put_esc(w, (const char *)ns->href, true);
        put(w, "\"", 1);
    }
    if (root && w->a && w->a->marks)
        puts_(w, " xmlns:" TD__OUR_PREFIX "=\"" TD__OUR_NS "\"");
    for (const xmlAttr *at = n->properties; at; at = at->next) {
        const struct td__docx_ann *aa = ann_of(w, at->_private);

        if (!w->a && ours(at->ns))
            continue;
        put(w, " ", 1);
        put_qname(w, at->ns, at->name);
        put(w, "=\"", 2);
        if (aa && (aa->flags & TD__ANN_CONTENT)) {
            put_frag(w, &aa->content);
        } else {
            for (const xmlNode *c = at->children; c; c = c->next)
                put_esc(w, (const char *)c->content, true);
        }
        put(w, "\"", 1);
    }
    if (a && (a->flags & TD__ANN_MARK))
        puts_(w, " " TD__OUR_PREFIX ":s=\"1\"");
    if (a && (a->flags & TD__ANN_HREF)) {
        puts_(w, " " TD__OUR_PREFIX ":href=\"");
        put_frag(w, &a->href);
        put(w, "\"", 1);
    }
}

/* Writes node n and what it holds. The depth is bounded by the parser's (256 levels). */
static void write_node(struct writer *w, const xmlNode *n, bool root)
{
    const struct td__docx_ann *a = ann_of(w, n->_private);

    if (a)
        put_frag(w, &a->before);
    if (a && (a->flags & TD__ANN_SKIP))
        goto after;
    switch (n->type) {
    case XML_ELEMENT_NODE:
        put(w, "<", 1);
        put_qname(w, n->ns, n->name);
        write_attrs(w, n, a, root);
        if (a && (a->flags & TD__ANN_CONTENT)) {
            put(w, ">", 1);
            put_frag(w, &a->content);
        } else if (!n->children) {
            put(w, "/>", 2);
            break;
        } else {
            put(w, ">", 1);
            for (const xmlNode *c = n->children; c && !w->rc; c = c->next)
                write_node(w, c, false);
        }
        put(w, "</", 2);
        put_qname(w, n->ns, n->name);
        put(w, ">", 1);
        break;
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
        put_esc(w, (const char *)n->content, false);
        break;
    case XML_COMMENT_NODE:
        if (!w->a && n->content && !strstr((const char *)n->content, "--")) {
            put(w, "<!--", 4);
            puts_(w, (const char *)n->content);
            put(w, "-->", 3);
        }
        break;
    case XML_PI_NODE:
        if (w->a && n->content && strstr((const char *)n->content, TD__OPEN))
            break;
        put(w, "<?", 2);
        puts_(w, (const char *)n->name);
        if (n->content && *n->content) {
            put(w, " ", 1);
            puts_(w, (const char *)n->content);
        }
        put(w, "?>", 2);
        break;
    default:
        break;
    }
after:
    if (a)
        put_frag(w, &a->after);
}

/* Serialises doc (see docx_int.h). */
int td__docx_xml_write(const xmlDoc *doc, const struct td__docx_anns *anns, bool no_decl,
                       td_buf *out)
{
    struct writer w = {.out = out, .a = anns, .rc = 0};
    const xmlNode *root = xmlDocGetRootElement(doc);

    if (!no_decl)
        puts_(&w, doc->standalone == 1
                      ? "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"
                      : "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n");
    for (const xmlNode *c = doc->children; c && !w.rc; c = c->next) {
        if (c->type == XML_ELEMENT_NODE || c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
            write_node(&w, c, c == root);
    }
    return w.rc;
}

/* Returns the length of a valid UTF-8 sequence at s, or 0. */
size_t td__docx_utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t k;
    uint32_t v;

    if (c >= 0xC2 && c <= 0xDF) {
        k = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if ((k == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (k == 4 && v < 0x10000) ||
        v > 0x10FFFF)
        return 0;
    *cp = v;
    return k;
}

/* Returns the length of the blank at s, or 0. */
size_t td__docx_blank_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t cp;
    size_t k;

    if (n == 0)
        return 0;
    if (u[0] < 0x80)
        return u[0] == ' ' || u[0] == '\t' || u[0] == '\n' || u[0] == '\r' ? 1 : 0;
    k = td__docx_utf8_len(u, n, &cp);
    if (!k)
        return 0;
    if (cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200D) || cp == 0x202F || cp == 0x205F ||
        cp == 0x2060 || cp == 0x3000 || cp == 0xFEFF)
        return k;
    return 0;
}

/* Tells whether s[0, n) is only blanks. */
bool td__docx_all_blank(const char *s, size_t n)
{
    size_t i = 0, k;

    while (i < n) {
        k = td__docx_blank_len(s + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

/* Writes an excerpt of s around at into out, for messages. */
void td__docx_excerpt(const char *s, size_t n, size_t at, char *out, size_t outsz)
{
    size_t start = 0, end, o = 0;

    if (outsz == 0)
        return;
    if (at > n)
        at = n;
    if (at > 25) {
        start = at - 20;
        while (start < n && ((unsigned char)s[start] & 0xC0) == 0x80)
            start++;
    }
    end = start + 60;
    if (end >= n) {
        end = n;
    } else {
        while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80)
            end--;
    }
    if (start > 0 && o + 3 < outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    for (size_t i = start; i < end && o + 1 < outsz; i++)
        out[o++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    if (end < n && o + 3 < outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Appends s[0, n) to out as valid XML character data. */
int td__docx_sanitize(td_buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0, k;
    uint32_t cp;
    int rc = 0;

    while (i < n && !rc) {
        if (u[i] >= 0x20 && u[i] < 0x80) {
            i++;
            continue;
        }
        if (u[i] == '\t' || u[i] == '\n' || u[i] == '\r') {
            i++;
            continue;
        }
        k = u[i] >= 0x80 ? td__docx_utf8_len(u + i, n - i, &cp) : 0;
        if (k && !(cp == 0xFFFE || cp == 0xFFFF || (cp >= 0xFDD0 && cp <= 0xFDEF))) {
            i += k;
            continue;
        }
        rc = td_buf_add(out, s + run, i - run);
        if (!rc && u[i] >= 0x80 && !k)
            rc = td_buf_adds(out, "\xEF\xBF\xBD"); /* U+FFFD for a byte that is not UTF-8 */
        i += k ? k : 1;
        run = i;
    }
    if (!rc)
        rc = td_buf_add(out, s + run, n - run);
    return rc;
}
