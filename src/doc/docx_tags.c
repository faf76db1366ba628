/* Tags and sections of a .docx part: parses the (merged) tags, pairs sections, decides whether a
 * section repeats whole paragraphs, table rows or text inside a paragraph, and records what the
 * serialiser writes so that the part becomes one Mustache template. */
#include "core/common.h"

#include <libxml/tree.h>

#include "doc/docx_int.h"

/* Deepest nesting of sections, as in the text engine. */
#define MAX_DEPTH 100

enum { CLS_INLINE, CLS_PARA, CLS_ROW };

struct tag {
    bool instr;    /* in a field code (the it model) */
    uint32_t item; /* in its model */
    size_t off, len;
    enum td__docx_kind kind;
    size_t name, name_len; /* in the item's text */
    int32_t partner;
    uint8_t cls;
    xmlNode *row; /* nearest enclosing w:tr, for sections */
};

struct ctx {
    struct td__docx_prep *p;
    struct tag *tags;
    size_t ntags, cap;
    uint32_t *item_first; /* per w:t item: index of its first tag, and count */
    uint32_t *item_n;
    bool *nonblank;      /* per paragraph group: text outside tags */
    bool *only_sections; /* per paragraph group: no tag but sections and comments */
    bool *has_section;
    bool *removable;
    char *why;
    size_t whysz;
};

/* Tells whether c may appear in a tag name (ASCII part). */
static bool name_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':' || c == '@' || c == '$';
}

/* Parses a tag (see docx_int.h). */
int td__docx_parse_tag(const char *s, size_t n, struct td__docx_tagref *tag, char *why,
                       size_t whysz)
{
    bool triple = n >= 6 && s[2] == '{';
    size_t a = triple ? 3 : 2, e = triple ? n - 3 : n - 2, k;
    char shown[64];

    td__docx_excerpt(s, n, 0, shown, 48);
    tag->kind = TD__TAG_VAR;
    while (a < e && (k = td__docx_blank_len(s + a, e - a)) > 0)
        a += k;
    switch (!triple && a < e ? s[a] : '\0') {
    case '#':
        tag->kind = TD__TAG_SECTION;
        a++;
        break;
    case '^':
        tag->kind = TD__TAG_INVERTED;
        a++;
        break;
    case '/':
        tag->kind = TD__TAG_CLOSE;
        a++;
        break;
    case '&':
        a++;
        break;
    case '!':
        tag->kind = TD__TAG_COMMENT;
        tag->name = a;
        tag->name_len = 0;
        return 0;
    case '>':
        snprintf(why, whysz, "partials (\"%s\") are not supported in .docx templates", shown);
        return TD_ESYNTAX;
    case '=':
        snprintf(why, whysz, "set-delimiter tags (\"%s\") are not supported in .docx templates",
                 shown);
        return TD_ESYNTAX;
    case '<':
    case '$':
        snprintf(why, whysz, "template inheritance (\"%s\") is not supported in .docx templates",
                 shown);
        return TD_ESYNTAX;
    default:
        break;
    }
    while (a < e && (k = td__docx_blank_len(s + a, e - a)) > 0)
        a += k;
    /* Trailing blanks: step back over whole characters (at most 4 bytes each). */
    while (e > a) {
        size_t w = 1;

        while (w < 4 && e - w > a && ((unsigned char)s[e - w] & 0xC0) == 0x80)
            w++;
        if (td__docx_blank_len(s + e - w, w) != w)
            break;
        e -= w;
    }
    tag->name = a;
    tag->name_len = e - a;
    if (a == e) {
        snprintf(why, whysz, "empty tag name in \"%s\"", shown);
        return TD_ESYNTAX;
    }
    for (size_t i = a; i < e;) {
        const unsigned char *u = (const unsigned char *)s + i;
        uint32_t cp;

        if (td__docx_blank_len(s + i, e - i)) {
            snprintf(why, whysz, "tag name in \"%s\" contains a space", shown);
            return TD_ESYNTAX;
        }
        if (u[0] < 0x80) {
            if (!name_char(u[0])) {
                snprintf(why, whysz, "bad character '%c' in the tag name of \"%s\"",
                         u[0] >= 0x20 ? u[0] : '?', shown);
                return TD_ESYNTAX;
            }
            i++;
            continue;
        }
        k = td__docx_utf8_len(u, e - i, &cp);
        if (!k) {
            snprintf(why, whysz, "tag name in \"%s\" is not UTF-8", shown);
            return TD_ESYNTAX;
        }
        i += k;
    }
    if (!(tag->name_len == 1 && s[a] == '.') &&
        (s[a] == '.' || s[e - 1] == '.' || memmem(s + a, e - a, "..", 2))) {
        snprintf(why, whysz, "bad dotted name in \"%s\"", shown);
        return TD_ESYNTAX;
    }
    return 0;
}

/* Appends the Mustache form of a tag with our delimiters. */
int td__docx_frag_tag(struct td__docx_anns *a, struct td__docx_frag *f, enum td__docx_kind kind,
                      const char *name, size_t name_len)
{
    static const char *const sig[] = {"", "#", "^", "/", "!"};
    int rc = td__docx_frag_add(a, f, TD__OPEN, 2);

    if (!rc)
        rc = td__docx_frag_add(a, f, sig[kind], strlen(sig[kind]));
    if (!rc)
        rc = td__docx_frag_add(a, f, name, name_len);
    if (!rc)
        rc = td__docx_frag_add(a, f, TD__CLOSE, 2);
    return rc;
}

/* Elements that make a paragraph more than its text. */
static bool content_element(const xmlNode *n)
{
    static const char *const names[] = {"drawing",
                                        "pict",
                                        "object",
                                        "sym",
                                        "ptab",
                                        "fldSimple",
                                        "fldChar",
                                        "instrText",
                                        "footnoteReference",
                                        "endnoteReference",
                                        "footnoteRef",
                                        "endnoteRef",
                                        "separator",
                                        "continuationSeparator",
                                        "pgNum",
                                        "oMath",
                                        "oMathPara",
                                        "txbxContent",
                                        "sectPr",
                                        "altChunk"};
    const char *name = (const char *)n->name;

    if (strcmp(name, "br") == 0) {
        const char *type = td__docx_wattr(n, "type");

        return type && (strcmp(type, "page") == 0 || strcmp(type, "column") == 0);
    }
    for (size_t i = 0; i < TD_ARRAY_SIZE(names); i++) {
        if (strcmp(name, names[i]) == 0)
            return true;
    }
    return false;
}

/* Looks for content elements under n. */
static bool content_walk(const xmlNode *n)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (content_element(c) || content_walk(c))
            return true;
    }
    return false;
}

/* Tells whether a paragraph has content other than text (see docx_int.h). */
bool td__docx_para_has_content(const xmlNode *p)
{
    return content_walk(p);
}

/* Returns the text of a tag's item. */
static const char *tag_text(const struct ctx *c, const struct tag *t)
{
    return td__docx_item_text(t->instr ? &c->p->it : &c->p->wt, t->item);
}

/* Writes an excerpt of the paragraph (or field code) of tag t around it into out. */
static void tag_excerpt(const struct ctx *c, const struct tag *t, char *out, size_t outsz)
{
    const struct td__docx_text *m = t->instr ? &c->p->it : &c->p->wt;
    const struct td__docx_group *g = &m->groups[m->items[t->item].group];
    size_t at = 0;
    td_buf j;

    td_buf_init(&j, 0);
    for (uint32_t k = 0; k < g->n; k++) {
        uint32_t i = m->order[g->first + k];

        if (i == t->item)
            break;
        at += m->items[i].len;
    }
    if (td__docx_text_join(m, m->items[t->item].group, &j) == 0)
        td__docx_excerpt(j.data, j.len, at + t->off, out, outsz);
    else
        snprintf(out, outsz, "?");
    td_buf_release(&j);
}

/* Writes the name of tag t (shortened) into out. */
static const char *tag_name(const struct ctx *c, const struct tag *t, char *out, size_t outsz)
{
    snprintf(out, outsz, "%.*s", (int)TD_MIN(t->name_len, (size_t)40), tag_text(c, t) + t->name);
    return out;
}

/* Adds a tag. */
static int add_tag(struct ctx *c, const struct tag *t)
{
    if (c->ntags == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct tag *v = realloc(c->tags, cap * sizeof *v);

        if (!v)
            return TD_ENOMEM;
        c->tags = v;
        c->cap = cap;
    }
    if (c->ntags >= INT32_MAX)
        return TD_ETOOBIG;
    c->tags[c->ntags++] = *t;
    return 0;
}

/* Reads the tags of every item of a model, in document order. */
static int extract(struct ctx *c, bool instr)
{
    struct td__docx_text *m = instr ? &c->p->it : &c->p->wt;
    int rc = 0;

    for (size_t i = 0; i < m->nitems && !rc; i++) {
        const struct td__docx_item *it = &m->items[i];
        const char *s = td__docx_item_text(m, i);
        size_t from = 0, ts = 0, te = 0;
        int found;

        if (!it->node)
            continue;
        if (!instr)
            c->item_first[i] = (uint32_t)c->ntags;
        while ((found = td__docx_next_tag(s, it->len, from, &ts, &te)) == 1) {
            struct td__docx_tagref ref;
            struct tag t = {.instr = instr,
                            .item = (uint32_t)i,
                            .off = ts,
                            .len = te - ts,
                            .partner = -1,
                            .cls = CLS_INLINE};
            char msg[160], ex[80];

            if (!instr && !td__docx_all_blank(s + from, ts - from))
                c->nonblank[it->group] = true;
            rc = td__docx_parse_tag(s + ts, te - ts, &ref, msg, sizeof msg);
            if (rc) {
                if (add_tag(c, &t) == 0)
                    tag_excerpt(c, &c->tags[c->ntags - 1], ex, sizeof ex);
                else
                    snprintf(ex, sizeof ex, "?");
                snprintf(c->why, c->whysz, "%s: %s in the %s \"%s\"", c->p->part, msg,
                         instr ? "field code" : "paragraph", ex);
                goto out;
            }
            t.kind = ref.kind;
            t.name = ts + ref.name;
            t.name_len = ref.name_len;
            rc = add_tag(c, &t);
            if (rc)
                goto out;
            if (instr && ref.kind != TD__TAG_VAR && ref.kind != TD__TAG_COMMENT) {
                char nm[48];

                tag_excerpt(c, &c->tags[c->ntags - 1], ex, sizeof ex);
                snprintf(c->why, c->whysz,
                         "%s: section \"%s\" in a field code: only {{name}} tags may be used "
                         "there (in \"%s\")",
                         c->p->part, tag_name(c, &c->tags[c->ntags - 1], nm, sizeof nm), ex);
                rc = TD_ESYNTAX;
                goto out;
            }
            if (!instr) {
                if (ref.kind == TD__TAG_VAR)
                    c->only_sections[it->group] = false;
                else if (ref.kind != TD__TAG_COMMENT)
                    c->has_section[it->group] = true;
            }
            from = te;
        }
        if (!instr) {
            c->item_n[i] = (uint32_t)(c->ntags - c->item_first[i]);
            if (!td__docx_all_blank(s + from, it->len - from))
                c->nonblank[it->group] = true;
        }
    }
out:
    return rc;
}

/* Pairs the sections of the w:t tags (document order), checking names and depth. */
static int match(struct ctx *c)
{
    int32_t stack[MAX_DEPTH];
    int depth = 0, rc = 0;
    char n1[48], n2[48], e1[64], e2[64];

    for (size_t i = 0; i < c->ntags; i++) {
        struct tag *t = &c->tags[i];

        if (t->instr)
            continue;
        if (t->kind == TD__TAG_SECTION || t->kind == TD__TAG_INVERTED) {
            if (depth == MAX_DEPTH) {
                tag_excerpt(c, t, e1, sizeof e1);
                snprintf(c->why, c->whysz,
                         "%s: section \"%s\" nested deeper than %d levels in the paragraph "
                         "\"%s\"",
                         c->p->part, tag_name(c, t, n1, sizeof n1), MAX_DEPTH, e1);
                rc = TD_EDEPTH;
                goto out;
            }
            stack[depth++] = (int32_t)i;
        } else if (t->kind == TD__TAG_CLOSE) {
            struct tag *o;

            if (depth == 0) {
                tag_excerpt(c, t, e1, sizeof e1);
                snprintf(c->why, c->whysz,
                         "%s: closing tag \"%s\" without an open section in the paragraph \"%s\"",
                         c->p->part, tag_name(c, t, n1, sizeof n1), e1);
                rc = TD_ESYNTAX;
                goto out;
            }
            o = &c->tags[stack[depth - 1]];
            if (o->name_len != t->name_len ||
                memcmp(tag_text(c, o) + o->name, tag_text(c, t) + t->name, t->name_len) != 0) {
                tag_excerpt(c, t, e1, 48);
                tag_excerpt(c, o, e2, 48);
                snprintf(c->why, c->whysz,
                         "%s: closing tag \"%s\" in the paragraph \"%s\" does not match the "
                         "section \"%s\" opened in the paragraph \"%s\"",
                         c->p->part, tag_name(c, t, n1, 32), e1, tag_name(c, o, n2, 32), e2);
                rc = TD_ESYNTAX;
                goto out;
            }
            o->partner = (int32_t)i;
            t->partner = stack[--depth];
            c->p->sections = true;
        }
    }
    if (depth > 0) {
        struct tag *o = &c->tags[stack[depth - 1]];

        tag_excerpt(c, o, e1, sizeof e1);
        snprintf(c->why, c->whysz, "%s: unclosed section \"%s\" in the paragraph \"%s\"",
                 c->p->part, tag_name(c, o, n1, sizeof n1), e1);
        rc = TD_ESYNTAX;
    }
out:
    return rc;
}

/* Returns the paragraph group of a w:t tag. */
static uint32_t group_of(const struct ctx *c, const struct tag *t)
{
    return c->p->wt.items[t->item].group;
}

/* Marks paragraph g as not removable and queues it: its partners must be looked at again. */
static void keep_para(struct ctx *c, uint32_t g, uint32_t *queue, size_t *nq)
{
    if (c->removable[g]) {
        c->removable[g] = false;
        queue[(*nq)++] = g;
    }
}

/* Decides which paragraphs hold only section tags whose partners are in sibling paragraphs of
 * the same kind: those are removed and their tags go between the paragraphs around them. A
 * paragraph found not removable makes its partners' paragraphs not removable either, through
 * a work queue (each paragraph enters it once). */
static int classify_paragraphs(struct ctx *c)
{
    const struct td__docx_text *m = &c->p->wt;
    size_t ng = m->ngroups, nq = 0;
    uint32_t *first = calloc(ng + 1, sizeof *first), *list = NULL, *queue = NULL, *fill = NULL;
    int rc = 0;

    list = malloc((c->ntags ? c->ntags : 1) * sizeof *list);
    queue = malloc((ng ? ng : 1) * sizeof *queue);
    fill = malloc((ng ? ng : 1) * sizeof *fill);
    if (!first || !list || !queue || !fill) {
        rc = TD_ENOMEM;
        goto out;
    }
    /* The section tags of each paragraph (counting sort). */
    for (size_t i = 0; i < c->ntags; i++) {
        if (!c->tags[i].instr && c->tags[i].partner >= 0)
            first[group_of(c, &c->tags[i]) + 1]++;
    }
    for (size_t g = 0; g < ng; g++) {
        first[g + 1] += first[g];
        fill[g] = first[g];
    }
    for (size_t i = 0; i < c->ntags; i++) {
        if (!c->tags[i].instr && c->tags[i].partner >= 0)
            list[fill[group_of(c, &c->tags[i])]++] = (uint32_t)i;
    }
    for (size_t g = 0; g < ng; g++)
        c->removable[g] = c->has_section[g] && c->only_sections[g] && !c->nonblank[g] &&
                          !td__docx_para_has_content(m->groups[g].para);
    for (size_t g = 0; g < ng; g++) {
        for (uint32_t k = first[g]; k < first[g + 1] && c->removable[g]; k++) {
            uint32_t h = group_of(c, &c->tags[c->tags[list[k]].partner]);

            if (!c->removable[h] || m->groups[g].para->parent != m->groups[h].para->parent)
                keep_para(c, (uint32_t)g, queue, &nq);
        }
    }
    while (nq > 0) {
        uint32_t g = queue[--nq];

        for (uint32_t k = first[g]; k < first[g + 1]; k++)
            keep_para(c, group_of(c, &c->tags[c->tags[list[k]].partner]), queue, &nq);
    }
    for (size_t i = 0; i < c->ntags; i++) {
        struct tag *t = &c->tags[i];

        if (!t->instr && t->kind != TD__TAG_VAR && c->removable[group_of(c, t)])
            t->cls = CLS_PARA;
    }
out:
    free(first);
    free(list);
    free(queue);
    free(fill);
    return rc;
}

/* Returns the nearest w:tr above n, or NULL. */
static xmlNode *row_of(xmlNode *n)
{
    for (n = n->parent; n && n->type == XML_ELEMENT_NODE; n = n->parent) {
        if (td__docx_is_w(n, "tr"))
            return n;
    }
    return NULL;
}

/* Tells whether n is inside r. */
static bool inside(const xmlNode *n, const xmlNode *r)
{
    for (; n; n = n->parent) {
        if (n == r)
            return true;
    }
    return false;
}

/* Tells whether the tags and text of item i between [from, to) leave a row boundary clear:
 * blanks, comments and row tags of the given kind (opens or closes) only. */
static bool clear_span(const struct ctx *c, size_t i, size_t from, size_t to, bool opens)
{
    const char *s = td__docx_item_text(&c->p->wt, i);
    size_t at = from;

    for (uint32_t k = c->item_first[i]; k < c->item_first[i] + c->item_n[i]; k++) {
        const struct tag *t = &c->tags[k];

        if (t->off < from || t->off + t->len > to)
            continue;
        if (!td__docx_all_blank(s + at, t->off - at))
            return false;
        if (t->kind != TD__TAG_COMMENT &&
            !(t->cls == CLS_ROW && (opens ? t->kind != TD__TAG_CLOSE : t->kind == TD__TAG_CLOSE)))
            return false;
        at = t->off + t->len;
    }
    return td__docx_all_blank(s + at, to - at);
}

/* Tells whether tag t starts (start) or ends (!start) the text of its row r. */
static bool row_edge(const struct ctx *c, const struct tag *t, xmlNode *r, bool start)
{
    const struct td__docx_text *m = &c->p->wt;
    size_t i = t->item;

    if (start ? !clear_span(c, i, 0, t->off, true)
              : !clear_span(c, i, t->off + t->len, m->items[i].len, false))
        return false;
    /* The items of r are contiguous in document order: walk away from t until leaving it. */
    for (;;) {
        if (start ? i == 0 : i + 1 >= m->nitems)
            break;
        i = start ? i - 1 : i + 1;
        if (!m->items[i].node)
            continue;
        if (!inside(m->items[i].node, r))
            break;
        if (row_of(m->items[i].node) != r)
            continue;
        if (!clear_span(c, i, 0, m->items[i].len, start))
            return false;
    }
    return true;
}

/* Finds the sections whose opening tag starts a row's text and whose closing tag ends the text
 * of that row (or of a later row of the same table): those rows repeat. */
static void classify_rows(struct ctx *c)
{
    for (size_t i = 0; i < c->ntags; i++) {
        struct tag *o = &c->tags[i], *e;

        if (o->instr || o->cls != CLS_INLINE ||
            (o->kind != TD__TAG_SECTION && o->kind != TD__TAG_INVERTED))
            continue;
        e = &c->tags[o->partner];
        o->row = row_of(c->p->wt.items[o->item].node);
        e->row = row_of(c->p->wt.items[e->item].node);
        if (!o->row || !e->row || o->row->parent != e->row->parent)
            continue;
        if (row_edge(c, o, o->row, true) && row_edge(c, e, e->row, false)) {
            o->cls = CLS_ROW;
            e->cls = CLS_ROW;
        }
    }
}

/* Returns the depth of n in its document. */
static int depth_of(const xmlNode *n)
{
    int d = 0;

    for (; n; n = n->parent)
        d++;
    return d;
}

/* Tells whether the paths from the common ancestor of a and b down to each have the same
 * element names: then the XML between them can repeat without breaking the nesting. Equal
 * depths put both at the same distance from that ancestor, so a lockstep walk meets there. */
static bool same_level(const xmlNode *a, const xmlNode *b)
{
    if (depth_of(a) != depth_of(b))
        return false;
    while (a != b) {
        if (strcmp((const char *)a->name, (const char *)b->name) != 0 ||
            (a->ns == NULL) != (b->ns == NULL) ||
            (a->ns && strcmp((const char *)a->ns->href, (const char *)b->ns->href) != 0))
            return false;
        a = a->parent;
        b = b->parent;
    }
    return true;
}

/* Checks that every section left inside the text can repeat: both tags at the same level. */
static int check_inline(struct ctx *c)
{
    for (size_t i = 0; i < c->ntags; i++) {
        const struct tag *o = &c->tags[i], *e;
        char n1[48], e1[56], e2[56];

        if (o->instr || o->cls != CLS_INLINE ||
            (o->kind != TD__TAG_SECTION && o->kind != TD__TAG_INVERTED))
            continue;
        e = &c->tags[o->partner];
        if (same_level(c->p->wt.items[o->item].node, c->p->wt.items[e->item].node))
            continue;
        tag_excerpt(c, o, e1, 44);
        tag_excerpt(c, e, e2, 44);
        snprintf(c->why, c->whysz,
                 "%s: section \"%s\" opens and closes at different levels (one inside a table, "
                 "text box or hyperlink, the other not): from \"%s\" to \"%s\"",
                 c->p->part, tag_name(c, o, n1, 32), e1, e2);
        return TD_ESYNTAX;
    }
    return 0;
}

/* Returns the annotation of an element; NULL when out of memory. */
static struct td__docx_ann *ann(struct ctx *c, xmlNode *n)
{
    return td__docx_ann(&c->p->anns, &n->_private);
}

/* Writes the template form of item i of a model: its text with the inline tags translated. */
static int item_frag(struct ctx *c, bool instr, size_t i, size_t first, size_t count)
{
    struct td__docx_text *m = instr ? &c->p->it : &c->p->wt;
    const char *s = td__docx_item_text(m, i);
    struct td__docx_ann *a = ann(c, m->items[i].node);
    size_t at = 0;
    int rc = 0;

    if (!a)
        return TD_ENOMEM;
    a->flags |= TD__ANN_CONTENT;
    for (size_t k = first; k < first + count && !rc; k++) {
        const struct tag *t = &c->tags[k];

        rc = td__docx_frag_esc(&c->p->anns, &a->content, s + at, t->off - at, false);
        if (!rc && t->cls == CLS_INLINE && t->kind != TD__TAG_COMMENT)
            rc = td__docx_frag_tag(&c->p->anns, &a->content, t->kind, s + t->name, t->name_len);
        at = t->off + t->len;
    }
    if (!rc)
        rc = td__docx_frag_esc(&c->p->anns, &a->content, s + at, m->items[i].len - at, false);
    if (!rc)
        rc = td__docx_preserve_space(m->items[i].node);
    return rc;
}

/* Records the annotations: item contents, removed paragraphs, row tags, paragraph marks. */
static int annotate(struct ctx *c)
{
    struct td__docx_prep *p = c->p;
    int rc = 0;

    for (size_t i = 0; i < c->ntags && !rc; i++) {
        const struct tag *t = &c->tags[i];
        struct td__docx_ann *a;
        xmlNode *para;

        if (t->instr)
            continue;
        para = p->wt.groups[group_of(c, t)].para;
        if (t->cls == CLS_PARA) {
            a = ann(c, para);
            if (!a)
                return TD_ENOMEM;
            a->flags |= TD__ANN_SKIP;
            if (t->kind != TD__TAG_COMMENT)
                rc = td__docx_frag_tag(&p->anns, &a->before, t->kind, tag_text(c, t) + t->name,
                                       t->name_len);
            continue;
        }
        if (t->cls == CLS_ROW) {
            a = ann(c, t->row);
            if (!a)
                return TD_ENOMEM;
            rc = td__docx_frag_tag(&p->anns, t->kind == TD__TAG_CLOSE ? &a->after : &a->before,
                                   t->kind, tag_text(c, t) + t->name, t->name_len);
        }
        if (t->kind != TD__TAG_VAR) {
            a = ann(c, para);
            if (!a)
                return TD_ENOMEM;
            a->flags |= TD__ANN_MARK;
            p->anns.marks = true;
        }
    }
    for (size_t i = 0; i < p->wt.nitems && !rc; i++) {
        if (p->wt.items[i].node && c->item_n[i])
            rc = item_frag(c, false, i, c->item_first[i], c->item_n[i]);
    }
    for (size_t k = 0; k < c->ntags && !rc;) {
        size_t j = k;

        if (!c->tags[k].instr) {
            k++;
            continue;
        }
        while (j < c->ntags && c->tags[j].instr && c->tags[j].item == c->tags[k].item)
            j++;
        rc = item_frag(c, true, c->tags[k].item, k, j - k);
        k = j;
    }
    return rc;
}

/* Turns the tags of a part into annotations (see docx_int.h). */
int td__docx_tags_prepare(struct td__docx_prep *p, char *why, size_t whysz)
{
    struct ctx c = {.p = p, .why = why, .whysz = whysz};
    size_t ni = p->wt.nitems ? p->wt.nitems : 1, ng = p->wt.ngroups ? p->wt.ngroups : 1;
    int rc = 0;

    c.item_first = calloc(ni, sizeof *c.item_first);
    c.item_n = calloc(ni, sizeof *c.item_n);
    c.nonblank = calloc(ng, sizeof *c.nonblank);
    c.only_sections = malloc(ng * sizeof *c.only_sections);
    c.has_section = calloc(ng, sizeof *c.has_section);
    c.removable = calloc(ng, sizeof *c.removable);
    if (!c.item_first || !c.item_n || !c.nonblank || !c.only_sections || !c.has_section ||
        !c.removable) {
        rc = TD_ENOMEM;
        goto out;
    }
    for (size_t g = 0; g < ng; g++)
        c.only_sections[g] = true;
    rc = extract(&c, false);
    if (!rc)
        rc = extract(&c, true);
    if (!rc)
        rc = match(&c);
    if (rc || c.ntags == 0)
        goto out;
    p->has_tags = true;
    rc = classify_paragraphs(&c);
    if (rc)
        goto out;
    classify_rows(&c);
    rc = check_inline(&c);
    if (!rc)
        rc = annotate(&c);
out:
    free(c.tags);
    free(c.item_first);
    free(c.item_n);
    free(c.nonblank);
    free(c.only_sections);
    free(c.has_section);
    free(c.removable);
    return rc;
}
