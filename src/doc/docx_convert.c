/* td_docx_convert: turns a finished document into a template with the mapping of the system our
 * users come from. Each row's text is found in paragraph text across runs and replaced by a
 * {{variable}}, static text or nothing, in the run where the match starts. */
#include "core/common.h"

#include <libxml/tree.h>

#include "doc/docx_int.h"
#include "trackdoc/docx.h"

struct match {
    size_t s, e, row;
};

/* Orders candidate matches: longer first, then by row, then leftmost. */
static int cmp_pick(const void *a, const void *b)
{
    const struct match *x = a, *y = b;
    size_t lx = x->e - x->s, ly = y->e - y->s;

    if (lx != ly)
        return lx > ly ? -1 : 1;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return x->s < y->s ? -1 : x->s > y->s;
}

/* Orders accepted matches right to left, so that splicing one keeps the others' offsets. */
static int cmp_right(const void *a, const void *b)
{
    const struct match *x = a, *y = b;

    return x->s < y->s ? 1 : x->s > y->s ? -1 : 0;
}

struct conv {
    const td_docx_mapping_row *rows;
    size_t n;
    char **repl; /* per row: the replacement text */
    size_t *found;
    struct match *m;
    size_t nm, capm;
    size_t *starts; /* per item of the current group: where its text starts */
    size_t capstarts;
};

/* Adds a candidate match. */
static int add_match(struct conv *c, size_t s, size_t e, size_t row)
{
    if (c->nm == c->capm) {
        size_t cap = c->capm ? c->capm * 2 : 64;
        struct match *v = realloc(c->m, cap * sizeof *v);

        if (!v)
            return TD_ENOMEM;
        c->m = v;
        c->capm = cap;
    }
    c->m[c->nm++] = (struct match){s, e, row};
    return 0;
}

/* Fills c->starts with where each item of group g starts in the joined text. */
static int item_starts(struct conv *c, const struct td__docx_text *t, size_t g)
{
    const struct td__docx_group *gr = &t->groups[g];
    size_t pos = 0;

    if (gr->n > c->capstarts) {
        size_t *v = realloc(c->starts, gr->n * sizeof *v);

        if (!v)
            return TD_ENOMEM;
        c->starts = v;
        c->capstarts = gr->n;
    }
    for (uint32_t k = 0; k < gr->n; k++) {
        c->starts[k] = pos;
        pos += t->items[t->order[gr->first + k]].len;
    }
    return 0;
}

/* Returns the last item of a group of n items that starts at or before offset s. */
static uint32_t item_of(const struct conv *c, uint32_t n, size_t s)
{
    uint32_t lo = 0, hi = n;

    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (c->starts[mid] <= s)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Applies the mapping to the paragraphs of one text model; *changed tells whether it did. */
static int convert_text(struct conv *c, struct td__docx_text *t, bool *changed)
{
    td_buf j;
    int rc = 0;

    td_buf_init(&j, 0);
    for (size_t g = 0; g < t->ngroups && !rc; g++) {
        size_t keep = 0;

        if (t->groups[g].n == 0)
            continue;
        rc = td__docx_text_join(t, g, &j);
        c->nm = 0;
        for (size_t r = 0; r < c->n && !rc; r++) {
            const char *o = c->rows[r].original_text;
            size_t ol = o ? strlen(o) : 0, at = 0;
            const char *hit;

            if (ol == 0)
                continue;
            while (at < j.len && (hit = memmem(j.data + at, j.len - at, o, ol)) != NULL) {
                size_t s = (size_t)(hit - j.data);

                rc = add_match(c, s, s + ol, r);
                if (rc)
                    break;
                at = s + ol;
            }
        }
        if (rc || c->nm == 0)
            continue;
        qsort(c->m, c->nm, sizeof *c->m, cmp_pick);
        for (size_t i = 0; i < c->nm; i++) {
            bool overlap = false;

            for (size_t k = 0; k < keep && !overlap; k++)
                overlap = c->m[i].s < c->m[k].e && c->m[k].s < c->m[i].e;
            if (!overlap)
                c->m[keep++] = c->m[i];
        }
        qsort(c->m, keep, sizeof *c->m, cmp_right);
        rc = item_starts(c, t, g);
        for (size_t i = 0; i < keep && !rc; i++) {
            const char *r = c->repl[c->m[i].row];
            uint32_t k = item_of(c, t->groups[g].n, c->m[i].s);

            /* Right to left: the items before the match keep their places. */
            rc = td__docx_text_splice_at(t, g, k, c->starts[k], c->m[i].s, c->m[i].e, r, strlen(r));
            if (c->found)
                c->found[c->m[i].row]++;
            *changed = true;
        }
    }
    td_buf_release(&j);
    return rc;
}

/* Strips what often differs between a link's address and its visible text: the scheme,
 * "www." and a final '/'. Returns the length of the part kept, from *s. */
static size_t link_core(const char **s)
{
    const char *p = *s;
    size_t n;

    if (strncasecmp(p, "https://", 8) == 0)
        p += 8;
    else if (strncasecmp(p, "http://", 7) == 0)
        p += 7;
    if (strncasecmp(p, "www.", 4) == 0)
        p += 4;
    n = strlen(p);
    if (n > 0 && p[n - 1] == '/')
        n--;
    *s = p;
    return n;
}

/* Applies the mapping to the external hyperlink targets of a .rels entry: a target that is a
 * row's text (give or take scheme, "www." and a final '/') becomes the row's variable or
 * static text. */
static int convert_rels(struct conv *c, struct td__docx_entry *re)
{
    xmlDoc *doc = NULL;
    td_buf out;
    char why[256];
    bool changed = false;
    int rc = td__docx_xml_parse(re->data, re->len, re->name, &doc, why, sizeof why);

    td_buf_init(&out, 0);
    if (rc)
        goto out;
    for (xmlNode *n = xmlDocGetRootElement(doc)->children; n; n = n->next) {
        const char *type = td__docx_attr(n, NULL, "Type"), *target, *tc;
        size_t tl;

        target = td__docx_attr(n, NULL, "Target");
        if (!type || !target || strlen(type) < 10 ||
            strcmp(type + strlen(type) - 10, "/hyperlink") != 0)
            continue;
        tc = target;
        tl = link_core(&tc);
        for (size_t r = 0; r < c->n; r++) {
            const char *o = c->rows[r].original_text;
            size_t ol;

            if (!o || !*o || c->rows[r].kind == TD_MAP_DISCARD)
                continue;
            ol = link_core(&o);
            if (ol == 0 || ol != tl || memcmp(o, tc, tl) != 0)
                continue;
            if (!xmlSetProp(n, (const xmlChar *)"Target", (const xmlChar *)c->repl[r])) {
                rc = TD_ENOMEM;
                goto out;
            }
            if (c->found)
                c->found[r]++;
            changed = true;
            break;
        }
    }
    if (changed) {
        rc = td__docx_xml_write(doc, NULL, false, &out);
        if (!rc) {
            free(re->out);
            re->out = td_buf_detach(&out, &re->out_len);
        }
    }
out:
    td_buf_release(&out);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

/* Applies the mapping to one part and its relationships. */
static int convert_part(struct conv *c, struct td__docx_pkg *pkg, struct td__docx_entry *e)
{
    struct td__docx_text t;
    xmlDoc *doc = NULL;
    struct td__docx_entry *re;
    char why[256], rname[512];
    const char *slash = strrchr(e->name, '/');
    bool changed = false;
    td_buf out;
    int rc;

    memset(&t, 0, sizeof t);
    td_buf_init(&out, 0);
    snprintf(rname, sizeof rname, "%.*s/_rels/%s.rels", (int)(slash - e->name), e->name, slash + 1);
    re = td__docx_pkg_find(pkg, rname);
    rc = td__docx_xml_parse(e->data, e->len, e->name, &doc, why, sizeof why);
    if (!rc)
        rc = td__docx_text_collect(&t, xmlDocGetRootElement(doc), false);
    if (!rc)
        rc = convert_text(c, &t, &changed);
    if (!rc && changed)
        rc = td__docx_text_commit(&t);
    if (!rc && changed)
        rc = td__docx_xml_write(doc, NULL, false, &out);
    if (!rc && changed) {
        free(e->out);
        e->out = td_buf_detach(&out, &e->out_len);
    }
    if (!rc && re && re->data)
        rc = convert_rels(c, re);
    td__docx_text_release(&t);
    td_buf_release(&out);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

/* Tells whether name is a part whose text the mapping applies to. */
static bool text_part(const char *name)
{
    size_t n = strlen(name);

    if (strcmp(name, "word/document.xml") == 0 || strcmp(name, "word/footnotes.xml") == 0 ||
        strcmp(name, "word/endnotes.xml") == 0)
        return true;
    return (strncmp(name, "word/header", 11) == 0 || strncmp(name, "word/footer", 11) == 0) &&
           !strchr(name + 5, '/') && n > 4 && strcmp(name + n - 4, ".xml") == 0;
}

/* Turns a finished document into a template. */
int td_docx_convert(const void *docx, size_t len, const td_docx_mapping_row *rows, size_t n,
                    const td_docx_limits *limits, td_buf *out, size_t *found)
{
    struct td__docx_pkg pkg;
    struct conv c = {.rows = rows, .n = n, .found = found};
    char why[256];
    int rc;

    if (found)
        memset(found, 0, n * sizeof *found);
    if (!out || (n && !rows))
        return TD_EINVAL;
    rc = td__docx_pkg_open(&pkg, docx, len, limits, why, sizeof why);
    if (rc)
        goto out;
    c.repl = calloc(n ? n : 1, sizeof *c.repl);
    if (!c.repl) {
        rc = TD_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const char *v = rows[i].value ? rows[i].value : "";
        td_buf b;

        td_buf_init(&b, 0);
        if (rows[i].kind == TD_MAP_VARIABLE)
            rc = td_buf_printf(&b, "{{%s}}", v);
        else if (rows[i].kind == TD_MAP_STATIC)
            rc = td__docx_sanitize(&b, v, strlen(v));
        else
            rc = td_buf_add(&b, "", 0);
        c.repl[i] = td_buf_detach(&b, NULL);
        td_buf_release(&b);
    }
    for (size_t i = 0; i < pkg.n && !rc; i++) {
        if (text_part(pkg.e[i].name) && pkg.e[i].data)
            rc = convert_part(&c, &pkg, &pkg.e[i]);
    }
    if (!rc)
        rc = td__docx_pkg_write(&pkg, out, why, sizeof why);
out:
    td__docx_pkg_close(&pkg);
    for (size_t i = 0; c.repl && i < n; i++)
        free(c.repl[i]);
    free(c.repl);
    free(c.m);
    free(c.starts);
    return rc;
}
