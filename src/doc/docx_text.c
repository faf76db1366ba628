/* Paragraph text across runs: Word cuts the text of a paragraph into runs wherever formatting,
 * spell checking or editing history changes, so a tag typed as "{{name}}" may arrive as "{{",
 * "na", "me}}". This file reads the w:t (or w:instrText) elements of each paragraph (or field)
 * as one text, and splices it: tags are merged into the run where they begin. */
#include "core/common.h"

#include <libxml/tree.h>

#include "doc/docx_int.h"

/* Deepest nesting of fields we follow; deeper instructions count as their own field. */
#define MAX_FIELD_DEPTH 32

struct walk {
    struct td__docx_text *t;
    bool instr;
    int64_t group; /* current paragraph (w:t) or -1 */
    xmlNode *para;
    uint32_t fields[MAX_FIELD_DEPTH];
    int depth;
    int rc;
};

/* Adds a group for paragraph para; returns its index in *g. */
static int add_group(struct td__docx_text *t, xmlNode *para, uint32_t *g)
{
    if (t->ngroups == t->capgroups) {
        size_t cap = t->capgroups ? t->capgroups * 2 : 64;
        struct td__docx_group *v = realloc(t->groups, cap * sizeof *v);

        if (!v)
            return TD_ENOMEM;
        t->groups = v;
        t->capgroups = cap;
    }
    if (t->ngroups >= UINT32_MAX - 1)
        return TD_ETOOBIG;
    t->groups[t->ngroups] = (struct td__docx_group){.para = para, .first = 0, .n = 0};
    *g = (uint32_t)t->ngroups++;
    return 0;
}

/* Adds element n as an item of group g, reading its text. */
static int add_item(struct td__docx_text *t, xmlNode *n, uint32_t g)
{
    struct td__docx_item *it;
    size_t off = t->pool.len;
    int rc;

    if (t->nitems == t->capitems) {
        size_t cap = t->capitems ? t->capitems * 2 : 128;
        struct td__docx_item *v = realloc(t->items, cap * sizeof *v);

        if (!v)
            return TD_ENOMEM;
        t->items = v;
        t->capitems = cap;
    }
    rc = td__docx_get_text(n, &t->pool);
    if (rc)
        return rc;
    it = &t->items[t->nitems++];
    *it = (struct td__docx_item){
        .node = n, .group = g, .off = off, .len = t->pool.len - off, .changed = false};
    t->groups[g].n++;
    return 0;
}

/* Walks the siblings from n down, collecting items. */
static void walk(struct walk *w, xmlNode *n)
{
    for (; n && !w->rc; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (td__docx_is_w(n, "p")) {
            int64_t saved_group = w->group;
            xmlNode *saved_para = w->para;

            w->para = n;
            if (!w->instr) {
                uint32_t g;

                w->rc = add_group(w->t, n, &g);
                w->group = g;
            }
            walk(w, n->children);
            w->group = saved_group;
            w->para = saved_para;
            continue;
        }
        if (!w->instr && td__docx_is_w(n, "t")) {
            if (w->group >= 0)
                w->rc = add_item(w->t, n, (uint32_t)w->group);
            continue;
        }
        if (w->instr && td__docx_is_w(n, "fldChar")) {
            const char *type = td__docx_wattr(n, "fldCharType");

            if (type && strcmp(type, "begin") == 0) {
                uint32_t g;

                w->rc = add_group(w->t, w->para, &g);
                if (w->depth < MAX_FIELD_DEPTH)
                    w->fields[w->depth] = g;
                w->depth++;
            } else if (type && strcmp(type, "end") == 0 && w->depth > 0) {
                w->depth--;
            }
            continue;
        }
        if (w->instr && td__docx_is_w(n, "instrText")) {
            uint32_t g;

            if (w->depth > 0 && w->depth <= MAX_FIELD_DEPTH) {
                g = w->fields[w->depth - 1];
            } else {
                w->rc = add_group(w->t, w->para, &g);
                if (w->rc)
                    break;
            }
            w->rc = add_item(w->t, n, g);
            continue;
        }
        walk(w, n->children);
    }
}

/* Collects the items under root (see docx_int.h). */
int td__docx_text_collect(struct td__docx_text *t, xmlNode *root, bool instr)
{
    struct walk w = {.t = t, .instr = instr, .group = -1, .para = NULL, .depth = 0, .rc = 0};
    uint32_t *next = NULL;
    int rc = 0;

    memset(t, 0, sizeof *t);
    td_buf_init(&t->pool, 0);
    rc = td_buf_add(&t->pool, "", 0); /* allocated even when no item has text */
    if (rc)
        goto out;
    walk(&w, root);
    rc = w.rc;
    if (rc)
        goto out;
    t->order = malloc((t->nitems ? t->nitems : 1) * sizeof *t->order);
    next = calloc(t->ngroups ? t->ngroups : 1, sizeof *next);
    if (!t->order || !next) {
        rc = TD_ENOMEM;
        goto out;
    }
    /* Counting sort by group keeps the document order inside each group. */
    for (size_t g = 0, at = 0; g < t->ngroups; g++) {
        t->groups[g].first = (uint32_t)at;
        next[g] = (uint32_t)at;
        at += t->groups[g].n;
    }
    for (size_t i = 0; i < t->nitems; i++)
        t->order[next[t->items[i].group]++] = (uint32_t)i;
out:
    free(next);
    return rc;
}

/* Frees a text model. */
void td__docx_text_release(struct td__docx_text *t)
{
    free(t->items);
    free(t->groups);
    free(t->order);
    td_buf_release(&t->pool);
    memset(t, 0, sizeof *t);
}

/* Returns the text of item i. */
const char *td__docx_item_text(const struct td__docx_text *t, size_t i)
{
    return t->pool.data ? t->pool.data + t->items[i].off : "";
}

/* Replaces out by the joined text of group g. */
int td__docx_text_join(const struct td__docx_text *t, size_t g, td_buf *out)
{
    const struct td__docx_group *gr = &t->groups[g];
    int rc = 0;

    td_buf_reset(out);
    rc = td_buf_add(out, "", 0);
    for (uint32_t k = 0; k < gr->n && !rc; k++) {
        const struct td__docx_item *it = &t->items[t->order[gr->first + k]];

        rc = td_buf_add(out, t->pool.data + it->off, it->len);
    }
    return rc;
}

/* Splices the joined text of group g from its item k on, whose text starts at offset pos. */
int td__docx_text_splice_at(struct td__docx_text *t, size_t g, uint32_t k, size_t pos, size_t s,
                            size_t e, const char *r, size_t rn)
{
    const struct td__docx_group *gr = &t->groups[g];
    bool placed = false;
    int rc = 0;

    for (; k < gr->n; k++) {
        struct td__docx_item *it = &t->items[t->order[gr->first + k]];
        size_t a = pos, b = pos + it->len;

        pos = b;
        if (placed && a >= e)
            break;
        if (!placed && s >= a && s < b) {
            size_t keep_tail = e < b ? b - e : 0, off = t->pool.len;

            rc = td_buf_reserve(&t->pool, (s - a) + rn + keep_tail);
            if (rc)
                goto out;
            /* The pool does not move after the reserve: copy from it into its end. */
            memcpy(t->pool.data + off, t->pool.data + it->off, s - a);
            memcpy(t->pool.data + off + (s - a), r, rn);
            memcpy(t->pool.data + off + (s - a) + rn,
                   t->pool.data + it->off + (it->len - keep_tail), keep_tail);
            t->pool.len += (s - a) + rn + keep_tail;
            t->pool.data[t->pool.len] = '\0';
            it->off = off;
            it->len = (s - a) + rn + keep_tail;
            it->changed = true;
            placed = true;
        } else if (placed && a < e) {
            size_t cut = TD_MIN(e, b) - a;

            it->off += cut;
            it->len -= cut;
            it->changed = true;
        }
    }
out:
    return rc;
}

/* Splices the joined text of group g (see docx_int.h). */
int td__docx_text_splice(struct td__docx_text *t, size_t g, size_t s, size_t e, const char *r,
                         size_t rn)
{
    return td__docx_text_splice_at(t, g, 0, 0, s, e, r, rn);
}

/* Tells whether run r holds nothing but its properties. */
static bool run_is_empty(const xmlNode *r)
{
    for (const xmlNode *c = r->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && !td__docx_is_w(c, "rPr"))
            return false;
    }
    return true;
}

/* Writes changed items back into the document. */
int td__docx_text_commit(struct td__docx_text *t)
{
    int rc = 0;

    for (size_t i = 0; i < t->nitems && !rc; i++) {
        struct td__docx_item *it = &t->items[i];

        if (!it->changed || !it->node)
            continue;
        if (it->len == 0) {
            xmlNode *run = it->node->parent;

            xmlUnlinkNode(it->node);
            xmlFreeNode(it->node);
            it->node = NULL;
            if (run && td__docx_is_w(run, "r") && run_is_empty(run)) {
                xmlUnlinkNode(run);
                xmlFreeNode(run);
            }
            continue;
        }
        rc = td__docx_set_text(it->node, t->pool.data + it->off, it->len);
        if (!rc)
            rc = td__docx_preserve_space(it->node);
        it->changed = false;
    }
    return rc;
}

/* Finds the next tag in s[from, n) (see docx_int.h). */
int td__docx_next_tag(const char *s, size_t n, size_t from, size_t *ts, size_t *te)
{
    const char *p, *q;

    if (from >= n)
        return 0;
    p = memmem(s + from, n - from, "{{", 2);
    if (!p)
        return 0;
    *ts = (size_t)(p - s);
    if (*ts + 2 < n && s[*ts + 2] == '{') {
        q = memmem(s + *ts + 3, n - *ts - 3, "}}}", 3);
        if (!q)
            return -1;
        *te = (size_t)(q - s) + 3;
    } else {
        q = memmem(s + *ts + 2, n - *ts - 2, "}}", 2);
        if (!q)
            return -1;
        *te = (size_t)(q - s) + 2;
    }
    return 1;
}

/* Merges split tags of every group (see docx_int.h). */
int td__docx_text_merge_tags(struct td__docx_text *t, const char *part, bool instr, char *why,
                             size_t whysz)
{
    td_buf joined;
    int rc = 0;

    td_buf_init(&joined, 0);
    for (size_t g = 0; g < t->ngroups && !rc; g++) {
        const struct td__docx_group *gr = &t->groups[g];
        size_t from = 0, ts = 0, te = 0, pos = 0;
        uint32_t k = 0;
        int found;

        if (gr->n == 0)
            continue;
        rc = td__docx_text_join(t, g, &joined);
        if (rc)
            break;
        if (!memchr(joined.data, '{', joined.len))
            continue;
        /* Tags come left to right: the item where each begins only moves forward. */
        while ((found = td__docx_next_tag(joined.data, joined.len, from, &ts, &te)) == 1) {
            size_t len;

            while (k < gr->n && pos + t->items[t->order[gr->first + k]].len <= ts) {
                pos += t->items[t->order[gr->first + k]].len;
                k++;
            }
            if (k >= gr->n)
                break;
            len = t->items[t->order[gr->first + k]].len;
            if (te > pos + len) {
                rc = td__docx_text_splice_at(t, g, k, pos, ts, te, joined.data + ts, te - ts);
                if (rc)
                    break;
            }
            from = te;
        }
        if (found < 0) {
            char ex[80], tag[32];

            td__docx_excerpt(joined.data, joined.len, ts, ex, sizeof ex);
            td__docx_excerpt(joined.data + ts, TD_MIN(joined.len - ts, (size_t)20), 0, tag,
                             sizeof tag);
            snprintf(why, whysz, "%s: unclosed tag \"%s\" (no closing \"}}\") in the %s \"%s\"",
                     part, tag, instr ? "field code" : "paragraph", ex);
            rc = TD_ESYNTAX;
        }
    }
    td_buf_release(&joined);
    return rc;
}
