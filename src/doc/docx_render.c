/* td_docx_render: each part that holds tags (document, headers, footers, footnotes, endnotes)
 * becomes one Mustache template rendered by src/tmpl; a final pass over the rendered XML turns
 * newlines into breaks, removes emptied paragraphs, gives hyperlinks their relationships, and
 * keeps the ids Word wants unique; docProps/core.xml gets the title, author and time. */
#include "core/common.h"

#include <libxml/tree.h>

#include "core/time.h"
#include "doc/docx_int.h"
#include "trackdoc/docx.h"

#define DC_NS "http://purl.org/dc/elements/1.1/"
#define DCTERMS_NS "http://purl.org/dc/terms/"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"

struct render {
    const td_docx_opts *o;
    const json_t *data;
    td_docx_stats *st;
    char *why; /* the error message (td_tmpl_error.message) */
    size_t whysz;
    size_t max_part;      /* bytes of one rendered part */
    bool marks;           /* the escaper wrote newline or tab marks */
    td_buf missing_parts; /* the parts where variables were missing, for the message */
    bool missing_cut;     /* missing_parts could not hold every part */
};

/* Escapes a value for the XML of a part: markup characters as references, newlines and tabs as
 * marks the final pass turns into <w:br/> and <w:tab/>, characters XML forbids dropped,
 * bytes that are not UTF-8 as U+FFFD. */
static int docx_escape(void *ud, const char *s, size_t len, td_buf *out)
{
    struct render *r = ud;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    int rc = 0;

    while (i < len && !rc) {
        unsigned char c = u[i];
        const char *rep;
        size_t k = 1;

        if (c >= 0x20 && c < 0x80) {
            switch (c) {
            case '&':
                rep = "&amp;";
                break;
            case '<':
                rep = "&lt;";
                break;
            case '>':
                rep = "&gt;";
                break;
            case '"':
                rep = "&quot;";
                break;
            default:
                i++;
                continue;
            }
        } else if (c < 0x20) {
            rep = "";
            if (c == '\n' || c == '\r') {
                rep = TD__NL_MARK;
                k = c == '\r' && i + 1 < len && u[i + 1] == '\n' ? 2 : 1;
                r->marks = true;
            } else if (c == '\t') {
                rep = TD__TAB_MARK;
                r->marks = true;
            }
        } else {
            uint32_t cp = 0;
            size_t n = td__docx_utf8_len(u + i, len - i, &cp);

            if (n && !(cp == 0xFFFE || cp == 0xFFFF || (cp >= 0xFDD0 && cp <= 0xFDEF))) {
                i += n;
                continue;
            }
            rep = n ? "" : "\xEF\xBF\xBD";
            k = n ? n : 1;
        }
        rc = td_buf_add(out, s + run, i - run);
        if (!rc)
            rc = td_buf_adds(out, rep);
        i += k;
        run = i;
    }
    if (!rc)
        rc = td_buf_add(out, s + run, len - run);
    return rc;
}

/* Adds the counts and missing names of one render to the document's stats. */
static int merge_stats(td_docx_stats *d, const td_tmpl_stats *s)
{
    d->tmpl.variables_substituted += s->variables_substituted;
    d->tmpl.hook_replacements += s->hook_replacements;
    d->tmpl.hook_failures += s->hook_failures;
    d->tmpl.missing_truncated |= s->missing_truncated;
    for (size_t i = 0; i < s->missing_len; i++) {
        bool seen = false;

        for (size_t j = 0; j < d->tmpl.missing_len && !seen; j++)
            seen = strcmp(d->tmpl.missing[j], s->missing[i]) == 0;
        if (seen)
            continue;
        if (d->tmpl.missing_len == TD_TMPL_MAX_MISSING) {
            d->tmpl.missing_truncated = true;
            break;
        }
        if (!d->tmpl.missing &&
            !(d->tmpl.missing = calloc(TD_TMPL_MAX_MISSING, sizeof *d->tmpl.missing)))
            return TD_ENOMEM;
        d->tmpl.missing[d->tmpl.missing_len] = strdup(s->missing[i]);
        if (!d->tmpl.missing[d->tmpl.missing_len])
            return TD_ENOMEM;
        d->tmpl.missing_len++;
    }
    return 0;
}

/* Compiles and renders src (which starts with our set-delimiter tag) into out. Strictness is
 * applied by the caller over the whole document. */
static int run_template(struct render *r, const char *part, const char *src, size_t len,
                        td_buf *out)
{
    td_tmpl_opts to = {.max_size = len ? len : 1};
    td_tmpl_render_opts ro = {.escape = TD_TMPL_ESCAPE_CUSTOM,
                              .escape_fn = docx_escape,
                              .escape_ud = r,
                              .value_hook = r->o->value_hook,
                              .hook_ud = r->o->hook_ud,
                              .hook_names = r->o->hook_names,
                              .strict = false,
                              .max_output = r->max_part};
    td_tmpl_stats ts = {0};
    td_tmpl_error e = {0};
    td_tmpl *t = NULL;
    size_t missing0 = r->st->tmpl.missing_len;
    int rc;

    if (len > ((size_t)256 << 20)) {
        snprintf(r->why, r->whysz, "%s: too large to render", part);
        return TD_ETOOBIG;
    }
    rc = td_tmpl_compile(src, len, &to, &t, &e);
    if (rc) {
        snprintf(r->why, r->whysz, "%s: %s", part, e.message);
        goto out;
    }
    rc = td_tmpl_render(t, r->data, &ro, out, &ts, &e);
    if (rc == 0 || rc == TD_ETOOBIG || rc == TD_EMISSING) {
        int mrc = merge_stats(r->st, &ts);

        if (mrc && !rc)
            rc = mrc;
    }
    if (rc) {
        snprintf(r->why, r->whysz, "%s: %s", part, e.message[0] ? e.message : td_strerror(rc));
    } else if (r->st->tmpl.missing_len > missing0 || ts.missing_truncated) {
        /* Only for the message: a list too long to hold is cut, not an error. */
        if (td_buf_printf(&r->missing_parts, "%s%s", r->missing_parts.len ? ", " : "", part))
            r->missing_cut = true;
    }
out:
    td_tmpl_stats_release(&ts);
    td_tmpl_free(t);
    return rc;
}

struct top_ud {
    struct render *r;
    const char *rels;
};

/* Renders a hyperlink target template (td__docx_render_fn). */
static int render_top(void *ud, const char *tmpl, size_t len, td_buf *out)
{
    struct top_ud *t = ud;
    td_buf src;
    int rc;

    td_buf_init(&src, 0);
    rc = td_buf_adds(&src, TD__DELIMS);
    if (!rc)
        rc = td_buf_add(&src, tmpl, len);
    if (!rc)
        rc = run_template(t->r, t->rels, src.data, src.len, out);
    td_buf_release(&src);
    return rc;
}

/* Small open-addressing set of strings, for the ids that must stay unique. */
struct strset {
    const char **v;
    size_t cap, n;
};

/* Returns the FNV-1a hash of s. */
static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Puts s into the table v of cap slots (a power of two) unless there; returns 1 if it was. */
static int slot_put(const char **v, size_t cap, const char *s)
{
    size_t i;

    for (i = (size_t)str_hash(s) & (cap - 1); v[i]; i = (i + 1) & (cap - 1)) {
        if (strcmp(v[i], s) == 0)
            return 1;
    }
    v[i] = s;
    return 0;
}

/* Adds s (which must outlive the set); returns 1 when it was already there, 0 when added, or
 * TD_ENOMEM. */
static int strset_add(struct strset *set, const char *s)
{
    int rc;

    if (set->n * 2 >= set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        const char **v = calloc(cap, sizeof *v);

        if (!v)
            return TD_ENOMEM;
        for (size_t k = 0; k < set->cap; k++) {
            if (set->v[k])
                slot_put(v, cap, set->v[k]);
        }
        free(set->v);
        set->v = v;
        set->cap = cap;
    }
    rc = slot_put(set->v, set->cap, s);
    set->n += rc == 0;
    return rc;
}

/* A growable list of nodes. */
struct nodes {
    xmlNode **v;
    size_t n, cap;
};

/* Appends n to l. */
static int nodes_add(struct nodes *l, xmlNode *n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        xmlNode **v = realloc(l->v, cap * sizeof *v);

        if (!v)
            return TD_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = n;
    return 0;
}

/* What the final pass found in the rendered part. */
struct post {
    struct render *r;
    struct td__docx_rels *rels;
    bool sections;
    struct nodes marked, links, texts, split, tables, cells, containers, ids, docprs;
    int rc;
};

/* Tells whether s holds one of our marks. */
static bool has_marks(const char *s)
{
    return s && (strstr(s, TD__NL_MARK) || strstr(s, TD__TAB_MARK));
}

/* Tells whether n has an attribute of our namespace called local. */
static const char *our_attr(const xmlNode *n, const char *local)
{
    return td__docx_attr(n, TD__OUR_NS, local);
}

/* Collects what the final pass works on, under n. */
static void post_walk(struct post *p, xmlNode *n)
{
    for (; n && !p->rc; n = n->next) {
        if (n->type == XML_TEXT_NODE) {
            xmlNode *wt = n->parent;

            if (!p->r->marks || !has_marks((const char *)n->content))
                continue;
            /* A w:t is split as a whole (it may hold several text nodes); others per node. */
            if (!td__docx_is_w(wt, "t"))
                p->rc = nodes_add(&p->texts, n);
            else if (!p->split.n || p->split.v[p->split.n - 1] != wt)
                p->rc = nodes_add(&p->split, wt);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (p->r->marks) {
            for (xmlAttr *a = n->properties; a; a = a->next) {
                if (a->children && has_marks((const char *)a->children->content))
                    p->rc = p->rc ? p->rc : nodes_add(&p->texts, a->children);
            }
        }
        if (td__docx_is_w(n, "p") && our_attr(n, "s"))
            p->rc = nodes_add(&p->marked, n);
        else if (td__docx_is_w(n, "hyperlink") && our_attr(n, "href"))
            p->rc = nodes_add(&p->links, n);
        if (p->sections) {
            if (td__docx_is_w(n, "tbl"))
                p->rc = p->rc ? p->rc : nodes_add(&p->tables, n);
            else if (td__docx_is_w(n, "tc"))
                p->rc = p->rc ? p->rc : nodes_add(&p->cells, n);
            else if (td__docx_is_w(n, "txbxContent") || td__docx_is_w(n, "hdr") ||
                     td__docx_is_w(n, "ftr") || td__docx_is_w(n, "footnote") ||
                     td__docx_is_w(n, "endnote") || td__docx_is_w(n, "comment"))
                p->rc = p->rc ? p->rc : nodes_add(&p->containers, n);
            if ((td__docx_is_w(n, "p") || td__docx_is_w(n, "tr")) &&
                td__docx_attr(n, TD__W14_NS, "paraId"))
                p->rc = p->rc ? p->rc : nodes_add(&p->ids, n);
            if (strcmp((const char *)n->name, "docPr") == 0 && n->ns &&
                strcmp((const char *)n->ns->href, TD__WP_NS) == 0)
                p->rc = p->rc ? p->rc : nodes_add(&p->docprs, n);
        }
        post_walk(p, n->children);
    }
}

/* Creates a w: element named local, in the namespace of like. */
static xmlNode *new_w(const xmlNode *like, const char *local)
{
    return xmlNewDocNode(like->doc, like->ns, (const xmlChar *)local, NULL);
}

/* Splits a w:t whose text holds marks into text, <w:br/> and <w:tab/> siblings. */
static int split_text(xmlNode *wt)
{
    xmlNode *cur = wt;
    td_buf b;
    char *s;
    size_t n, at = 0, first = SIZE_MAX;
    int rc;

    td_buf_init(&b, 0);
    rc = td__docx_get_text(wt, &b);
    s = rc ? NULL : td_buf_detach(&b, &n);
    td_buf_release(&b);
    if (!s)
        return TD_ENOMEM;
    for (size_t i = 0; i + TD__MARK_LEN <= n && !rc;) {
        bool nl = memcmp(s + i, TD__NL_MARK, TD__MARK_LEN) == 0;
        xmlNode *el, *t2;

        if (!nl && memcmp(s + i, TD__TAB_MARK, TD__MARK_LEN) != 0) {
            i++;
            continue;
        }
        if (first == SIZE_MAX) {
            first = i;
        } else if (i > at) {
            t2 = new_w(wt, "t");
            if (!t2 || td__docx_set_text(t2, s + at, i - at) || td__docx_preserve_space(t2)) {
                xmlFreeNode(t2);
                rc = TD_ENOMEM;
                break;
            }
            cur = xmlAddNextSibling(cur, t2);
        }
        el = new_w(wt, nl ? "br" : "tab");
        if (!el) {
            rc = TD_ENOMEM;
            break;
        }
        cur = xmlAddNextSibling(cur, el);
        i += TD__MARK_LEN;
        at = i;
    }
    if (!rc && at < n) {
        xmlNode *t2 = new_w(wt, "t");

        if (!t2 || td__docx_set_text(t2, s + at, n - at) || td__docx_preserve_space(t2)) {
            xmlFreeNode(t2);
            rc = TD_ENOMEM;
        } else {
            xmlAddNextSibling(cur, t2);
        }
    }
    if (!rc && first != SIZE_MAX)
        rc = td__docx_set_text(wt, s, first); /* frees text */
    free(s);
    return rc;
}

/* Replaces the marks in a text node that is not w:t text (field code, attribute) by spaces. */
static int blank_marks(xmlNode *text)
{
    td_buf b;
    const char *s = (const char *)text->content;
    size_t n = strlen(s);
    int rc = 0;

    td_buf_init(&b, 0);
    for (size_t i = 0; i < n && !rc;) {
        if (n - i >= TD__MARK_LEN && (memcmp(s + i, TD__NL_MARK, TD__MARK_LEN) == 0 ||
                                      memcmp(s + i, TD__TAB_MARK, TD__MARK_LEN) == 0)) {
            rc = td_buf_addc(&b, ' ');
            i += TD__MARK_LEN;
        } else {
            rc = td_buf_addc(&b, s[i++]);
        }
    }
    if (!rc)
        xmlNodeSetContent(text, (const xmlChar *)td_buf_str(&b));
    td_buf_release(&b);
    return rc;
}

/* Tells whether the w:t text under n (not counting nested paragraphs) is blank. */
static bool blank_text(const xmlNode *n)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (td__docx_is_w(c, "t")) {
            for (const xmlNode *t = c->children; t; t = t->next) {
                if (t->content &&
                    !td__docx_all_blank((const char *)t->content, strlen((const char *)t->content)))
                    return false;
            }
        } else if (!blank_text(c)) {
            return false;
        }
    }
    return true;
}

/* Tells whether paragraph p has another w:p among its siblings (looking outwards from p: the
 * nearest is usually next to it). */
static bool has_sibling_para(const xmlNode *p)
{
    for (const xmlNode *a = p->prev, *b = p->next; a || b;) {
        if (td__docx_is_w(a, "p") || td__docx_is_w(b, "p"))
            return true;
        a = a ? a->prev : NULL;
        b = b ? b->next : NULL;
    }
    return false;
}

/* Removes the runs under n that hold nothing but an empty w:t (left by section tags). */
static void drop_empty_runs(xmlNode *n)
{
    xmlNode *c = n->children;

    while (c) {
        xmlNode *next = c->next;

        if (td__docx_is_w(c, "r")) {
            bool empty = true;

            for (xmlNode *k = c->children; k && empty; k = k->next) {
                if (k->type != XML_ELEMENT_NODE || td__docx_is_w(k, "rPr"))
                    continue;
                empty = td__docx_is_w(k, "t") &&
                        (!k->children || !k->children->content || !*k->children->content);
            }
            if (empty) {
                xmlUnlinkNode(c);
                xmlFreeNode(c);
            }
        } else if (c->type == XML_ELEMENT_NODE && !td__docx_is_w(c, "p")) {
            drop_empty_runs(c);
        }
        c = next;
    }
}

/* Removes the marked paragraphs that rendering left empty, and the empty runs of the others. */
static void remove_empty(struct post *p)
{
    for (size_t i = 0; i < p->marked.n; i++) {
        xmlNode *para = p->marked.v[i];

        if (!blank_text(para) || td__docx_para_has_content(para)) {
            drop_empty_runs(para);
            continue;
        }
        if (!td__docx_is_w(para->parent, "body") && !has_sibling_para(para))
            continue; /* a cell, header or note keeps at least one paragraph */
        xmlUnlinkNode(para);
        xmlFreeNode(para);
    }
}

/* Returns the last element child of n, or NULL. */
static xmlNode *last_element(xmlNode *n)
{
    xmlNode *last = NULL;

    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            last = c;
    }
    return last;
}

/* Keeps tables and containers valid after sections removed their content: a table without
 * rows goes; a cell ends with a paragraph; a header, note or text box holds one. */
static int fix_containers(struct post *p)
{
    for (size_t i = p->tables.n; i-- > 0;) {
        xmlNode *t = p->tables.v[i];
        bool rows = false;

        for (xmlNode *c = t->children; c && !rows; c = c->next)
            rows = td__docx_is_w(c, "tr");
        if (!rows) {
            xmlUnlinkNode(t);
            xmlFreeNode(t);
        }
    }
    for (size_t i = 0; i < p->cells.n; i++) {
        xmlNode *last = last_element(p->cells.v[i]);

        if (!td__docx_is_w(last, "p") && !xmlAddChild(p->cells.v[i], new_w(p->cells.v[i], "p")))
            return TD_ENOMEM;
    }
    for (size_t i = 0; i < p->containers.n; i++) {
        xmlNode *n = p->containers.v[i];
        bool block = false;

        for (xmlNode *c = n->children; c && !block; c = c->next)
            block = td__docx_is_w(c, "p") || td__docx_is_w(c, "tbl");
        if (!block && !xmlAddChild(n, new_w(n, "p")))
            return TD_ENOMEM;
    }
    return 0;
}

/* Removes an attribute in namespace href called local. */
static void drop_attr(xmlNode *n, const char *href, const char *local)
{
    for (xmlAttr *a = n->properties; a; a = a->next) {
        if (a->ns && strcmp((const char *)a->ns->href, href) == 0 &&
            strcmp((const char *)a->name, local) == 0) {
            xmlRemoveProp(a);
            return;
        }
    }
}

/* Keeps the ids Word wants unique after paragraphs repeated: duplicate w14:paraId go (Word
 * makes new ones), duplicate drawing ids (wp:docPr/@id) get new numbers. */
static int unique_ids(struct post *p)
{
    struct strset seen = {0};
    unsigned long max = 0;
    int rc = 0;

    for (size_t i = 0; i < p->ids.n && rc >= 0; i++) {
        rc = strset_add(&seen, td__docx_attr(p->ids.v[i], TD__W14_NS, "paraId"));
        if (rc == 1) {
            drop_attr(p->ids.v[i], TD__W14_NS, "paraId");
            drop_attr(p->ids.v[i], TD__W14_NS, "textId");
        }
    }
    free(seen.v);
    memset(&seen, 0, sizeof seen);
    for (size_t i = 0; i < p->docprs.n; i++) {
        const char *id = td__docx_attr(p->docprs.v[i], NULL, "id");
        unsigned long v = id ? strtoul(id, NULL, 10) : 0;

        max = TD_MAX(max, v);
    }
    for (size_t i = 0; i < p->docprs.n && rc >= 0; i++) {
        const char *id = td__docx_attr(p->docprs.v[i], NULL, "id");

        if (!id)
            continue;
        rc = strset_add(&seen, id);
        if (rc == 1) {
            char buf[24];

            snprintf(buf, sizeof buf, "%lu", ++max);
            rc = xmlSetProp(p->docprs.v[i], (const xmlChar *)"id", (const xmlChar *)buf)
                     ? 0
                     : TD_ENOMEM;
        }
    }
    free(seen.v);
    return rc < 0 ? rc : 0;
}

/* Tells whether a rendered link address is empty (marks aside): its variable was missing. */
static bool blank_link(const char *href)
{
    size_t n = href ? strlen(href) : 0;

    for (size_t i = 0; i < n; i++) {
        if (n - i >= TD__MARK_LEN && (memcmp(href + i, TD__NL_MARK, TD__MARK_LEN) == 0 ||
                                      memcmp(href + i, TD__TAB_MARK, TD__MARK_LEN) == 0))
            i += TD__MARK_LEN - 1;
        else if (!isspace((unsigned char)href[i]))
            return false;
    }
    return true;
}

/* Replaces element n by its children: a hyperlink without an address keeps its text. */
static void unwrap(xmlNode *n)
{
    xmlNode *c = n->children;

    while (c) {
        xmlNode *next = c->next;

        xmlUnlinkNode(c);
        xmlAddPrevSibling(n, c);
        c = next;
    }
    xmlUnlinkNode(n);
    xmlFreeNode(n);
}

/* The final pass over a rendered part: parses it, fixes it up, writes it into out. */
static int post_pass(struct render *r, const char *part, struct td__docx_rels *rels, bool sections,
                     const char *xml, size_t len, td_buf *out)
{
    struct post p = {.r = r, .rels = rels, .sections = sections};
    xmlDoc *doc = NULL;
    int rc = td__docx_xml_parse(xml, len, part, &doc, r->why, r->whysz);

    if (rc) {
        if (rc == TD_EDOCX)
            snprintf(r->why + strlen(r->why), r->whysz - strlen(r->why),
                     " (after rendering: a bug in trackdoc)");
        goto out;
    }
    post_walk(&p, xmlDocGetRootElement(doc));
    rc = p.rc;
    for (size_t i = 0; i < p.texts.n && !rc; i++)
        rc = blank_marks(p.texts.v[i]);
    for (size_t i = 0; i < p.split.n && !rc; i++)
        rc = split_text(p.split.v[i]);
    for (size_t i = 0; i < p.links.n && !rc; i++) {
        const char *href = our_attr(p.links.v[i], "href");

        if (!blank_link(href))
            rc = td__docx_rels_assign(rels, p.links.v[i], href);
        else
            unwrap(p.links.v[i]);
    }
    /* Ids before removals: the lists hold paragraphs that may go. */
    if (!rc && sections)
        rc = unique_ids(&p);
    if (rc)
        goto out;
    remove_empty(&p);
    if (sections)
        rc = fix_containers(&p);
    if (!rc)
        rc = td_buf_adds(out, XML_DECL);
    if (!rc)
        rc = td__docx_xml_write(doc, NULL, true, out);
out:
    free(p.marked.v);
    free(p.links.v);
    free(p.texts.v);
    free(p.split.v);
    free(p.tables.v);
    free(p.cells.v);
    free(p.containers.v);
    free(p.ids.v);
    free(p.docprs.v);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

/* Writes the name of the .rels of part into buf ("word/_rels/document.xml.rels"). */
static void rels_name(const char *part, char *buf, size_t sz)
{
    const char *slash = strrchr(part, '/');

    if (slash)
        snprintf(buf, sz, "%.*s/_rels/%s.rels", (int)(slash - part), part, slash + 1);
    else
        snprintf(buf, sz, "_rels/%s.rels", part);
}

/* Tells whether a part or its relationships may need work: a brace (tags may be split, so any
 * '{' counts), a field code or hyperlink for the link hook, a percent-encoded brace. */
static bool worth_it(const struct render *r, const struct td__docx_entry *e,
                     const struct td__docx_entry *re)
{
    bool hook = r->o->link_hook != NULL;

    if (memchr(e->data, '{', e->len) || (hook && memmem(e->data, e->len, "HYPERLINK", 9)))
        return true;
    return re && re->data &&
           (memchr(re->data, '{', re->len) || strcasestr(re->data, "%7B") ||
            (hook && memmem(re->data, re->len, "/hyperlink\"", 11)));
}

/* Hands the bytes of b to e as its new content. */
static void give(struct td__docx_entry *e, td_buf *b)
{
    free(e->out);
    e->out = td_buf_detach(b, &e->out_len);
}

/* Renders one XML part and its relationships. */
static int render_part(struct render *r, struct td__docx_pkg *pkg, struct td__docx_entry *e)
{
    struct td__docx_prep p = {.part = e->name};
    struct td__docx_rels rels;
    struct td__docx_entry *re;
    struct top_ud top = {.r = r};
    char rname[512];
    td_buf tmpl, rendered, out;
    int rc = 0;

    rels_name(e->name, rname, sizeof rname);
    re = td__docx_pkg_find(pkg, rname);
    top.rels = rname;
    memset(&rels, 0, sizeof rels);
    td__docx_anns_init(&p.anns);
    td_buf_init(&tmpl, r->max_part + 4096);
    td_buf_init(&rendered, r->max_part);
    td_buf_init(&out, r->max_part + 4096);
    if (!e->data)
        goto out;
    /* Parsed even when there is nothing to do: a malformed part is refused, as by the check. */
    rc = td__docx_xml_parse(e->data, e->len, e->name, &p.doc, r->why, r->whysz);
    if (rc || !worth_it(r, e, re))
        goto out;
    rc = td__docx_rels_load(&rels, rname, re ? re->data : NULL, re ? re->len : 0, e->name, r->why,
                            r->whysz);
    if (!rc)
        rc = td__docx_rels_rewrite(&rels, r->o, r->st);
    if (rc)
        goto out;
    rc = td__docx_text_collect(&p.wt, xmlDocGetRootElement(p.doc), false);
    if (!rc)
        rc = td__docx_text_collect(&p.it, xmlDocGetRootElement(p.doc), true);
    if (!rc)
        rc = td__docx_text_merge_tags(&p.wt, e->name, false, r->why, r->whysz);
    if (!rc)
        rc = td__docx_text_merge_tags(&p.it, e->name, true, r->why, r->whysz);
    if (!rc)
        rc = td__docx_fields_prepare(&p, r->o, r->st, r->why, r->whysz);
    for (size_t i = 0; i < p.wt.nitems && !rc && !p.changed; i++)
        p.changed = p.wt.items[i].changed;
    for (size_t i = 0; i < p.it.nitems && !rc && !p.changed; i++)
        p.changed = p.it.items[i].changed;
    if (!rc)
        rc = td__docx_text_commit(&p.wt);
    if (!rc)
        rc = td__docx_text_commit(&p.it);
    if (!rc)
        rc = td__docx_tags_prepare(&p, r->why, r->whysz);
    if (!rc)
        rc = td__docx_links_prepare(&p, &rels);
    if (!rc)
        rc = td__docx_rels_render_top(&rels, render_top, &top);
    if (rc)
        goto out;
    if (p.has_tags) {
        r->marks = false;
        /* Room for the usual sizes up front: growing by doubling costs copies and page faults. */
        rc = td_buf_reserve(&tmpl, TD_MIN(e->len + e->len / 2, r->max_part));
        if (!rc)
            rc = td_buf_reserve(&rendered, TD_MIN(e->len * 4, r->max_part));
        if (!rc)
            rc = td_buf_adds(&tmpl, TD__DELIMS);
        if (!rc)
            rc = td__docx_xml_write(p.doc, &p.anns, true, &tmpl);
        if (!rc)
            rc = run_template(r, e->name, tmpl.data, tmpl.len, &rendered);
        if (!rc)
            rc = td_buf_reserve(&out, TD_MIN(rendered.len + 4096, r->max_part));
        if (rc)
            goto out;
        if (p.sections || p.anns.marks || r->marks) {
            rc = post_pass(r, e->name, &rels, p.sections, rendered.data, rendered.len, &out);
        } else {
            rc = td_buf_adds(&out, XML_DECL);
            if (!rc)
                rc = td_buf_add(&out, rendered.data, rendered.len);
        }
    } else if (p.changed) {
        rc = td__docx_xml_write(p.doc, NULL, false, &out);
    }
    if (rc)
        goto out;
    if (out.len) {
        give(e, &out);
        r->st->parts_rendered++;
    }
    td_buf_reset(&out);
    rc = td__docx_rels_finish(&rels, &out);
    if (!rc && out.len && re) {
        give(re, &out);
        if (!e->out)
            r->st->parts_rendered++;
    }
out:
    if (rc == TD_ENOMEM && !r->why[0])
        snprintf(r->why, r->whysz, "%s: out of memory", e->name);
    else if (rc == TD_ETOOBIG && !r->why[0])
        snprintf(r->why, r->whysz, "%s: over the size limit", e->name);
    td__docx_text_release(&p.wt);
    td__docx_text_release(&p.it);
    td__docx_anns_release(&p.anns);
    if (p.doc)
        xmlFreeDoc(p.doc);
    td__docx_rels_release(&rels);
    td_buf_release(&tmpl);
    td_buf_release(&rendered);
    td_buf_release(&out);
    return rc;
}

/* Tells whether name is a part we render. */
static bool rendered_part(const char *name)
{
    static const char *const exact[] = {"word/document.xml", "word/footnotes.xml",
                                        "word/endnotes.xml"};
    size_t n = strlen(name);

    for (size_t i = 0; i < TD_ARRAY_SIZE(exact); i++) {
        if (strcmp(name, exact[i]) == 0)
            return true;
    }
    return (strncmp(name, "word/header", 11) == 0 || strncmp(name, "word/footer", 11) == 0) &&
           !strchr(name + 5, '/') && n > 4 && strcmp(name + n - 4, ".xml") == 0;
}

/* Returns the child of parent in namespace href called local, creating it (prefix for a new
 * namespace declaration) when create; NULL when absent or out of memory. */
static xmlNode *core_child(xmlNode *parent, const char *href, const char *prefix, const char *local,
                           bool create)
{
    xmlNs *ns;

    for (xmlNode *c = parent->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && c->ns && strcmp((const char *)c->name, local) == 0 &&
            strcmp((const char *)c->ns->href, href) == 0)
            return c;
    }
    if (!create)
        return NULL;
    ns = xmlSearchNsByHref(parent->doc, parent, (const xmlChar *)href);
    if (!ns) {
        xmlNs *taken = xmlSearchNs(parent->doc, parent, (const xmlChar *)prefix);

        ns = xmlNewNs(xmlDocGetRootElement(parent->doc), (const xmlChar *)href,
                      (const xmlChar *)(taken ? NULL : prefix));
        if (!ns)
            return NULL;
    }
    return xmlNewChild(parent, ns, (const xmlChar *)local, NULL);
}

/* Sets the text of core property href:local to value. */
static int core_set(xmlNode *root, const char *href, const char *prefix, const char *local,
                    const char *value)
{
    xmlNode *n = core_child(root, href, prefix, local, true);
    td_buf clean;
    int rc;

    if (!n)
        return TD_ENOMEM;
    td_buf_init(&clean, 0);
    rc = td__docx_sanitize(&clean, value, strlen(value));
    if (!rc)
        rc = td__docx_set_text(n, td_buf_str(&clean), clean.len);
    td_buf_release(&clean);
    return rc;
}

/* Updates docProps/core.xml: title, creator, modification time (W3CDTF, UTC). */
static int update_core(struct render *r, struct td__docx_pkg *pkg)
{
    struct td__docx_entry *e = td__docx_pkg_find(pkg, "docProps/core.xml");
    int64_t ms = r->o->now_ms ? r->o->now_ms : td_time_now_ms();
    time_t secs = (time_t)(ms / 1000);
    xmlDoc *doc = NULL;
    xmlNode *root, *mod;
    xmlNs *xsi, *dct;
    char when[32], type[64];
    struct tm tm;
    td_buf out;
    int rc = 0;

    td_buf_init(&out, 0);
    if (!e || !e->data)
        goto out;
    rc = td__docx_xml_parse(e->data, e->len, e->name, &doc, r->why, r->whysz);
    if (rc)
        goto out;
    root = xmlDocGetRootElement(doc);
    if (r->o->title)
        rc = core_set(root, DC_NS, "dc", "title", r->o->title);
    if (!rc && r->o->creator)
        rc = core_set(root, DC_NS, "dc", "creator", r->o->creator);
    gmtime_r(&secs, &tm);
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (!rc)
        rc = core_set(root, DCTERMS_NS, "dcterms", "modified", when);
    if (rc)
        goto out;
    mod = core_child(root, DCTERMS_NS, "dcterms", "modified", false);
    dct = mod ? mod->ns : NULL;
    xsi = xmlSearchNsByHref(doc, root, (const xmlChar *)XSI_NS);
    if (!xsi)
        xsi = xmlNewNs(root, (const xmlChar *)XSI_NS, (const xmlChar *)"xsi");
    if (!mod || !dct || !xsi) {
        rc = TD_ENOMEM;
        goto out;
    }
    snprintf(type, sizeof type, "%s%sW3CDTF", dct->prefix ? (const char *)dct->prefix : "",
             dct->prefix ? ":" : "");
    if (!xmlSetNsProp(mod, xsi, (const xmlChar *)"type", (const xmlChar *)type)) {
        rc = TD_ENOMEM;
        goto out;
    }
    rc = td__docx_xml_write(doc, NULL, false, &out);
    if (!rc)
        give(e, &out);
out:
    td_buf_release(&out);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

/* Frees what td_docx_render put into stats. */
void td_docx_stats_release(td_docx_stats *s)
{
    if (!s)
        return;
    td_tmpl_stats_release(&s->tmpl);
    memset(s, 0, sizeof *s);
}

/* Checks an untrusted package. */
int td_docx_check(const void *docx, size_t len, const td_docx_limits *limits, char *why,
                  size_t whysz)
{
    struct td__docx_pkg pkg;
    char dummy[8];
    int rc;

    if (!why || !whysz) {
        why = dummy;
        whysz = sizeof dummy;
    }
    rc = td__docx_pkg_open(&pkg, docx, len, limits, why, whysz);
    for (size_t i = 0; i < pkg.n && !rc; i++) {
        xmlDoc *doc = NULL;

        if (rendered_part(pkg.e[i].name) && pkg.e[i].data)
            rc = td__docx_xml_parse(pkg.e[i].data, pkg.e[i].len, pkg.e[i].name, &doc, why, whysz);
        if (doc)
            xmlFreeDoc(doc);
    }
    td__docx_pkg_close(&pkg);
    if (rc == TD_ENOMEM && !why[0])
        snprintf(why, whysz, "out of memory");
    return rc;
}

/* Renders a .docx template. */
int td_docx_render(const void *docx, size_t len, const json_t *data, const td_docx_opts *o,
                   td_buf *out, td_docx_stats *stats, td_tmpl_error *err)
{
    static const td_docx_opts defaults;
    struct td__docx_pkg pkg;
    td_docx_stats local_stats;
    td_tmpl_error local_err;
    struct render r;
    size_t len0 = out ? out->len : 0;
    int rc;

    if (!err)
        err = &local_err;
    memset(err, 0, sizeof *err);
    if (!stats)
        stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    memset(&r, 0, sizeof r);
    td_buf_init(&r.missing_parts, 1024);
    r.o = o ? o : &defaults;
    r.data = data;
    r.st = stats;
    r.why = err->message;
    r.whysz = sizeof err->message;
    if (!out) {
        snprintf(err->message, sizeof err->message, "invalid argument");
        rc = TD_EINVAL;
        goto done;
    }
    rc = td__docx_pkg_open(&pkg, docx, len, r.o->limits, r.why, r.whysz);
    if (rc)
        goto out;
    r.max_part = pkg.lim.max_entry_size;
    for (size_t i = 0; i < pkg.n && !rc; i++) {
        if (rendered_part(pkg.e[i].name))
            rc = render_part(&r, &pkg, &pkg.e[i]);
    }
    if (!rc && r.o->strict && stats->tmpl.missing_len) {
        td_buf msg;

        td_buf_init(&msg, sizeof err->message - 1);
        td_buf_printf(&msg, "%s%s: missing variable%s", td_buf_str(&r.missing_parts),
                      r.missing_cut ? ", ..." : "", stats->tmpl.missing_len > 1 ? "s" : "");
        for (size_t i = 0; i < stats->tmpl.missing_len; i++) {
            if (td_buf_printf(&msg, "%s \"%.40s\"", i ? "," : "", stats->tmpl.missing[i])) {
                td_buf_adds(&msg, " ...");
                break;
            }
        }
        snprintf(err->message, sizeof err->message, "%s", td_buf_str(&msg));
        td_buf_release(&msg);
        rc = TD_EMISSING;
    }
    if (!rc)
        rc = update_core(&r, &pkg);
    if (!rc)
        rc = td__docx_pkg_write(&pkg, out, r.why, r.whysz);
out:
    td__docx_pkg_close(&pkg);
done:
    if (rc && out) {
        out->len = len0;
        if (out->data)
            out->data[len0] = '\0';
    }
    if (rc == TD_ENOMEM && !err->message[0])
        snprintf(err->message, sizeof err->message, "out of memory");
    if (stats == &local_stats)
        td_docx_stats_release(&local_stats);
    td_buf_release(&r.missing_parts);
    return rc;
}
