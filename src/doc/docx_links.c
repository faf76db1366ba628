/* Hyperlinks of a .docx part: relationship targets that hold tags (also percent-encoded by
 * Word) become templates rendered per hyperlink occurrence; plain URLs in relationships and in
 * HYPERLINK field codes go to the link hook; rendered targets get relationships of their own. */
#include "core/common.h"

#include <libxml/tree.h>

#include "doc/docx_int.h"

/* Largest link the hook may write. */
#define LINK_MAX ((size_t)64 << 10)

/* Tells whether s is an http or https URL. */
static bool is_http(const char *s, size_t n)
{
    return (n >= 7 && strncasecmp(s, "http://", 7) == 0) ||
           (n >= 8 && strncasecmp(s, "https://", 8) == 0);
}

/* Returns the value of a hex digit, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes a relationship target as Word writes it into out: %7B and %7D (any case) become
 * braces, other escapes inside tags are decoded, and the "http://" Word adds in front of an
 * address that is only a tag is dropped. Returns whether the target holds a tag. */
static int decode_target(const char *t, td_buf *out, bool *tags)
{
    size_t n = strlen(t), ts = 0, te = 0, from = 0;
    td_buf d;
    int rc = 0, found;

    *tags = false;
    td_buf_init(&d, 0);
    rc = td_buf_add(&d, "", 0);
    for (size_t i = 0; i < n && !rc; i++) {
        if (t[i] == '%' && i + 2 < n && t[i + 1] == '7' &&
            ((t[i + 2] | 0x20) == 'b' || (t[i + 2] | 0x20) == 'd')) {
            rc = td_buf_addc(&d, (t[i + 2] | 0x20) == 'b' ? '{' : '}');
            i += 2;
        } else {
            rc = td_buf_addc(&d, t[i]);
        }
    }
    if (rc || !memmem(d.data, d.len, "{{", 2))
        goto out;
    *tags = true;
    td_buf_reset(out);
    while (!rc && (found = td__docx_next_tag(d.data, d.len, from, &ts, &te)) == 1) {
        rc = td_buf_add(out, d.data + from, ts - from);
        for (size_t i = ts; i < te && !rc; i++) {
            if (d.data[i] == '%' && i + 2 < te && hexval(d.data[i + 1]) >= 0 &&
                hexval(d.data[i + 2]) >= 0) {
                rc = td_buf_addc(out, (char)(hexval(d.data[i + 1]) * 16 + hexval(d.data[i + 2])));
                i += 2;
            } else {
                rc = td_buf_addc(out, d.data[i]);
            }
        }
        from = te;
    }
    if (!rc)
        rc = td_buf_add(out, d.data + from, d.len - from);
    if (!rc) {
        /* "http://{{x}}" or "http://{{x}}/": Word's automatic scheme in front of a tag. */
        size_t skip = strncasecmp(out->data, "http://", 7) == 0    ? 7
                      : strncasecmp(out->data, "https://", 8) == 0 ? 8
                                                                   : 0;

        if (skip && td__docx_next_tag(out->data, out->len, skip, &ts, &te) == 1 && ts == skip &&
            (te == out->len || (te + 1 == out->len && out->data[te] == '/'))) {
            memmove(out->data, out->data + skip, te - skip);
            out->len = te - skip;
            out->data[out->len] = '\0';
        }
    }
out:
    td_buf_release(&d);
    return rc;
}

/* Appends to pool the template form of the address s[0, n): literal text escaped for an
 * attribute, {{name}} tags translated; what names where an error is. */
static int address_template(td_buf *pool, const char *s, size_t n, const char *part,
                            const char *what, char *why, size_t whysz)
{
    size_t from = 0, ts = 0, te = 0;
    int rc = 0, found;
    char msg[160], ex[80];

    while ((found = td__docx_next_tag(s, n, from, &ts, &te)) == 1) {
        struct td__docx_tagref ref;

        rc = td__docx_xml_escape(pool, s + from, ts - from, true, true);
        if (rc)
            goto out;
        rc = td__docx_parse_tag(s + ts, te - ts, &ref, msg, sizeof msg);
        if (rc) {
            td__docx_excerpt(s, n, ts, ex, sizeof ex);
            snprintf(why, whysz, "%s: %s in %s \"%s\"", part, msg, what, ex);
            goto out;
        }
        if (ref.kind != TD__TAG_VAR && ref.kind != TD__TAG_COMMENT) {
            td__docx_excerpt(s, n, ts, ex, sizeof ex);
            snprintf(why, whysz,
                     "%s: section \"%.*s\" in %s \"%s\": only {{name}} tags may be used there",
                     part, (int)TD_MIN(ref.name_len, (size_t)40), s + ts + ref.name, what, ex);
            rc = TD_ESYNTAX;
            goto out;
        }
        if (ref.kind == TD__TAG_VAR) {
            rc = td_buf_adds(pool, TD__OPEN);
            if (!rc)
                rc = td_buf_add(pool, s + ts + ref.name, ref.name_len);
            if (!rc)
                rc = td_buf_adds(pool, TD__CLOSE);
            if (rc)
                goto out;
        }
        from = te;
    }
    if (found < 0) {
        td__docx_excerpt(s, n, ts, ex, sizeof ex);
        snprintf(why, whysz, "%s: unclosed tag (no closing \"}}\") in %s \"%s\"", part, what, ex);
        rc = TD_ESYNTAX;
        goto out;
    }
    rc = td__docx_xml_escape(pool, s + from, n - from, true, true);
out:
    return rc;
}

/* Loads the relationships of a part (see docx_int.h). */
int td__docx_rels_load(struct td__docx_rels *r, const char *name, const char *data, size_t len,
                       const char *part, char *why, size_t whysz)
{
    xmlNode *root, *n;
    td_buf dec;
    size_t count = 0;
    int rc = 0;

    memset(r, 0, sizeof *r);
    r->name = name;
    td_buf_init(&r->pool, 0);
    td_buf_init(&dec, 0);
    rc = td_buf_add(&r->pool, "", 0); /* allocated even when no template goes in */
    if (rc || !data)
        goto out;
    rc = td__docx_xml_parse(data, len, name, &r->doc, why, whysz);
    if (rc)
        goto out;
    root = xmlDocGetRootElement(r->doc);
    for (n = root->children; n; n = n->next)
        count += n->type == XML_ELEMENT_NODE;
    r->v = calloc(count ? count : 1, sizeof *r->v);
    if (!r->v) {
        rc = TD_ENOMEM;
        goto out;
    }
    for (n = root->children; n; n = n->next) {
        struct td__docx_rel *rel;
        const char *id = td__docx_attr(n, NULL, "Id"), *type = td__docx_attr(n, NULL, "Type");
        const char *target = td__docx_attr(n, NULL, "Target");
        char what[120];
        bool tags = false;

        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Relationship") != 0 ||
            !id)
            continue;
        rel = &r->v[r->n++];
        rel->node = n;
        rel->id = id;
        rel->hyperlink =
            type && strlen(type) >= 10 && strcmp(type + strlen(type) - 10, "/hyperlink") == 0;
        if (!rel->hyperlink || !target ||
            (!memchr(target, '{', strlen(target)) && !strcasestr(target, "%7B")))
            continue;
        rc = decode_target(target, &dec, &tags);
        if (rc)
            goto out;
        if (!tags)
            continue;
        rel->tags = true;
        rel->tmpl = r->pool.len;
        snprintf(what, sizeof what, "the address of hyperlink %.40s", id);
        rc = address_template(&r->pool, dec.data, dec.len, part, what, why, whysz);
        if (rc)
            goto out;
        rel->tmpl_len = r->pool.len - rel->tmpl;
    }
out:
    td_buf_release(&dec);
    return rc;
}

/* Frees a rels model. */
void td__docx_rels_release(struct td__docx_rels *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].target);
    for (size_t i = 0; i < r->nmade; i++) {
        free(r->made[i].id);
        free(r->made[i].target);
    }
    free(r->made);
    free(r->v);
    if (r->doc)
        xmlFreeDoc(r->doc);
    td_buf_release(&r->pool);
    memset(r, 0, sizeof *r);
}

/* Asks the link hook about url; on a replacement, appends it (valid XML text) to out and
 * returns 1. Counts replacements and failures in st. */
static int ask_hook(const td_docx_opts *o, td_docx_stats *st, const char *url, td_buf *out)
{
    td_buf b;
    int rc;

    td_buf_init(&b, LINK_MAX);
    rc = o->link_hook(o->link_ud, url, &b);
    if (rc == 1 && b.len > 0) {
        rc = td__docx_sanitize(out, b.data, b.len);
        if (rc == 0) {
            rc = 1;
            if (st)
                st->links_rewritten++;
        }
    } else if (rc < 0) {
        if (st)
            st->link_failures++;
        rc = rc == TD_ENOMEM ? rc : 0;
    } else {
        rc = 0;
    }
    td_buf_release(&b);
    return rc;
}

/* Sets the target of rel (external). */
static int set_target(struct td__docx_rels *r, struct td__docx_rel *rel, const char *target)
{
    char *copy = strdup(target);

    if (!copy || !xmlSetProp(rel->node, (const xmlChar *)"Target", (const xmlChar *)target) ||
        !xmlSetProp(rel->node, (const xmlChar *)"TargetMode", (const xmlChar *)"External")) {
        free(copy);
        return TD_ENOMEM;
    }
    free(rel->target);
    rel->target = copy;
    rel->assigned = true;
    r->changed = true;
    return 0;
}

/* Gives plain http(s) hyperlink targets to the link hook (see docx_int.h). */
int td__docx_rels_rewrite(struct td__docx_rels *r, const td_docx_opts *o, td_docx_stats *st)
{
    td_buf out;
    int rc = 0;

    if (!o || !o->link_hook)
        return 0;
    td_buf_init(&out, LINK_MAX * 2);
    for (size_t i = 0; i < r->n && rc >= 0; i++) {
        struct td__docx_rel *rel = &r->v[i];
        const char *target = td__docx_attr(rel->node, NULL, "Target");

        if (!rel->hyperlink || rel->tags || !target || !is_http(target, strlen(target)))
            continue;
        td_buf_reset(&out);
        rc = ask_hook(o, st, target, &out);
        if (rc == 1)
            rc = set_target(r, rel, td_buf_str(&out));
    }
    td_buf_release(&out);
    return rc < 0 ? rc : 0;
}

/* Returns the relationship with a tag target whose id is id, or NULL. */
static struct td__docx_rel *tag_rel(struct td__docx_rels *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].tags && strcmp(r->v[i].id, id) == 0)
            return &r->v[i];
    }
    return NULL;
}

/* Finds the references to tag targets under n: per-occurrence hyperlinks are annotated. */
static int find_refs(struct td__docx_prep *p, struct td__docx_rels *r, xmlNode *n)
{
    int rc = 0;

    for (; n && !rc; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        for (xmlAttr *a = n->properties; a && !rc; a = a->next) {
            struct td__docx_rel *rel;
            struct td__docx_ann *an;

            if (!td__docx_is_r_ns(a->ns) || !a->children || !a->children->content)
                continue;
            rel = tag_rel(r, (const char *)a->children->content);
            if (!rel)
                continue;
            if (!td__docx_is_w(n, "hyperlink") || strcmp((const char *)a->name, "id") != 0) {
                rel->top = true;
                continue;
            }
            an = td__docx_ann(&p->anns, &n->_private);
            if (!an)
                return TD_ENOMEM;
            an->flags |= TD__ANN_HREF;
            rc = td__docx_frag_add(&p->anns, &an->href, r->pool.data + rel->tmpl, rel->tmpl_len);
            rel->uses_href++;
            p->has_tags = true;
            p->anns.marks = true;
        }
        if (!rc)
            rc = find_refs(p, r, n->children);
    }
    return rc;
}

/* Annotates the hyperlinks whose target holds tags (see docx_int.h). */
int td__docx_links_prepare(struct td__docx_prep *p, struct td__docx_rels *r)
{
    bool any = false;
    int rc;

    for (size_t i = 0; i < r->n; i++)
        any |= r->v[i].tags;
    if (!any)
        return 0;
    rc = find_refs(p, r, xmlDocGetRootElement(p->doc));
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].tags && r->v[i].uses_href == 0)
            r->v[i].top = true;
    }
    return rc;
}

/* Returns the length of the quote character at s (", “, ”, „), or 0. */
static size_t quote_len(const char *s, size_t n)
{
    if (n >= 1 && s[0] == '"')
        return 1;
    if (n >= 3 && (unsigned char)s[0] == 0xE2 && (unsigned char)s[1] == 0x80 &&
        ((unsigned char)s[2] == 0x9C || (unsigned char)s[2] == 0x9D || (unsigned char)s[2] == 0x9E))
        return 3;
    return 0;
}

/* Skips blanks from i. */
static size_t skip_blanks(const char *s, size_t n, size_t i)
{
    size_t k;

    while (i < n && (k = td__docx_blank_len(s + i, n - i)) > 0)
        i += k;
    return i;
}

/* Reads one field argument (quoted or not) at i: its text is [*as, *ae); returns the offset
 * after it. */
static size_t field_arg(const char *s, size_t n, size_t i, size_t *as, size_t *ae)
{
    size_t q = quote_len(s + i, n - i);

    if (q) {
        size_t j = i + q;

        while (j < n && !quote_len(s + j, n - j))
            j++;
        *as = i + q;
        *ae = j;
        return j < n ? j + quote_len(s + j, n - j) : n;
    }
    *as = i;
    while (i < n && !td__docx_blank_len(s + i, n - i))
        i++;
    *ae = i;
    return i;
}

/* Finds the URL of a HYPERLINK field code (see docx_int.h). */
bool td__docx_field_url(const char *s, size_t n, size_t *us, size_t *ue)
{
    size_t i = skip_blanks(s, n, 0), as, ae;

    if (n - i < 9 || strncasecmp(s + i, "HYPERLINK", 9) != 0)
        return false;
    i += 9;
    if (i < n && !td__docx_blank_len(s + i, n - i) && !quote_len(s + i, n - i))
        return false;
    for (;;) {
        i = skip_blanks(s, n, i);
        if (i >= n)
            return false;
        if (s[i] == '\\') {
            char sw = i + 1 < n ? (char)(s[i + 1] | 0x20) : '\0';

            if (sw == 'l')
                return false; /* a bookmark in this document */
            i += 2;
            if (sw == 'o' || sw == 't')
                i = field_arg(s, n, skip_blanks(s, n, i), &as, &ae);
            continue;
        }
        field_arg(s, n, i, us, ue);
        return *ue > *us;
    }
}

/* Asks the link hook about the URL s[us, ue) of a field code; on a replacement appends it to
 * out, quotes percent-encoded, and returns 1. */
static int field_hook(const td_docx_opts *o, td_docx_stats *st, const char *s, size_t us, size_t ue,
                      td_buf *out)
{
    char *url = strndup(s + us, ue - us);
    td_buf b;
    int rc;

    if (!url)
        return TD_ENOMEM;
    td_buf_init(&b, LINK_MAX * 2);
    rc = ask_hook(o, st, url, &b);
    for (size_t i = 0; rc == 1 && i < b.len; i++) {
        int e = b.data[i] == '"' ? td_buf_adds(out, "%22") : td_buf_addc(out, b.data[i]);

        if (e)
            rc = e;
    }
    td_buf_release(&b);
    free(url);
    return rc;
}

/* Handles the w:fldSimple elements under n: tags become annotations, plain URLs go to the
 * link hook. */
static int simple_fields(struct td__docx_prep *p, const td_docx_opts *o, td_docx_stats *st,
                         xmlNode *n, char *why, size_t whysz)
{
    int rc = 0;

    for (; n && !rc; n = n->next) {
        xmlAttr *a;

        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (!td__docx_is_w(n, "fldSimple")) {
            rc = simple_fields(p, o, st, n->children, why, whysz);
            continue;
        }
        for (a = n->properties; a; a = a->next) {
            if (strcmp((const char *)a->name, "instr") == 0 && a->ns)
                break;
        }
        if (a && a->children && a->children->content) {
            const char *v = (const char *)a->children->content;
            size_t len = strlen(v), us, ue;

            if (memmem(v, len, "{{", 2)) {
                struct td__docx_ann *an = td__docx_ann(&p->anns, &a->_private);
                td_buf t;

                if (!an)
                    return TD_ENOMEM;
                an->flags |= TD__ANN_CONTENT;
                td_buf_init(&t, 0);
                rc = address_template(&t, v, len, p->part, "the field code", why, whysz);
                if (!rc)
                    rc = td__docx_frag_add(&p->anns, &an->content, td_buf_str(&t), t.len);
                td_buf_release(&t);
                p->has_tags = true;
            } else if (o && o->link_hook && td__docx_field_url(v, len, &us, &ue) &&
                       is_http(v + us, ue - us)) {
                td_buf nv;

                td_buf_init(&nv, 0);
                rc = td_buf_add(&nv, v, us);
                if (!rc)
                    rc = field_hook(o, st, v, us, ue, &nv);
                if (rc == 1) {
                    rc = td_buf_add(&nv, v + ue, len - ue);
                    if (!rc &&
                        !xmlSetNsProp(n, a->ns, (const xmlChar *)"instr", (const xmlChar *)nv.data))
                        rc = TD_ENOMEM;
                    p->changed = true;
                }
                td_buf_release(&nv);
            }
        }
        if (!rc)
            rc = simple_fields(p, o, st, n->children, why, whysz);
    }
    return rc < 0 ? rc : 0;
}

/* Handles HYPERLINK field codes (see docx_int.h). */
int td__docx_fields_prepare(struct td__docx_prep *p, const td_docx_opts *o, td_docx_stats *st,
                            char *why, size_t whysz)
{
    td_buf j, nu;
    int rc = 0;

    td_buf_init(&j, 0);
    td_buf_init(&nu, 0);
    for (size_t g = 0; g < p->it.ngroups && !rc && o && o->link_hook; g++) {
        size_t us, ue;

        if (p->it.groups[g].n == 0)
            continue;
        rc = td__docx_text_join(&p->it, g, &j);
        if (rc || !td__docx_field_url(j.data, j.len, &us, &ue) ||
            memchr(j.data + us, '{', ue - us) || !is_http(j.data + us, ue - us))
            continue;
        td_buf_reset(&nu);
        rc = field_hook(o, st, j.data, us, ue, &nu);
        if (rc == 1) {
            rc = td__docx_text_splice(&p->it, g, us, ue, nu.data, nu.len);
            p->changed = true;
        }
    }
    if (rc >= 0)
        rc = simple_fields(p, o, st, xmlDocGetRootElement(p->doc), why, whysz);
    td_buf_release(&j);
    td_buf_release(&nu);
    return rc < 0 ? rc : 0;
}

/* Appends s without our newline and tab marks (a link has no line breaks). */
static int strip_marks(td_buf *out, const char *s)
{
    size_t n = strlen(s);
    int rc = 0;

    for (size_t i = 0; i < n && !rc;) {
        if (n - i >= TD__MARK_LEN && (memcmp(s + i, TD__NL_MARK, TD__MARK_LEN) == 0 ||
                                      memcmp(s + i, TD__TAB_MARK, TD__MARK_LEN) == 0)) {
            i += TD__MARK_LEN;
            continue;
        }
        rc = td_buf_addc(out, s[i++]);
    }
    return rc;
}

/* Finds a free relationship id. */
static int fresh_id(struct td__docx_rels *r, char *buf, size_t sz)
{
    for (;;) {
        bool used = false;

        snprintf(buf, sz, "rIdTd%" PRIu32, ++r->next_id);
        for (size_t i = 0; i < r->n && !used; i++)
            used = strcmp(r->v[i].id, buf) == 0;
        for (size_t i = 0; i < r->nmade && !used; i++)
            used = strcmp(r->made[i].id, buf) == 0;
        if (!used)
            return 0;
        if (r->next_id == UINT32_MAX)
            return TD_ETOOBIG;
    }
}

/* Adds a relationship like rel with another target; its id goes to *id. */
static int add_rel(struct td__docx_rels *r, const struct td__docx_rel *rel, const char *target,
                   const char **id)
{
    char buf[32];
    xmlNode *n;
    struct td__docx_made *m;
    int rc = fresh_id(r, buf, sizeof buf);

    if (rc)
        return rc;
    if (r->nmade == r->capmade) {
        size_t cap = r->capmade ? r->capmade * 2 : 8;
        struct td__docx_made *v = realloc(r->made, cap * sizeof *v);

        if (!v)
            return TD_ENOMEM;
        r->made = v;
        r->capmade = cap;
    }
    m = &r->made[r->nmade];
    m->id = strdup(buf);
    m->target = strdup(target);
    n = xmlNewChild(xmlDocGetRootElement(r->doc), rel->node->ns, (const xmlChar *)"Relationship",
                    NULL);
    if (!m->id || !m->target || !n || !xmlSetProp(n, (const xmlChar *)"Id", (const xmlChar *)buf) ||
        !xmlSetProp(n, (const xmlChar *)"Type",
                    (const xmlChar *)td__docx_attr(rel->node, NULL, "Type")) ||
        !xmlSetProp(n, (const xmlChar *)"Target", (const xmlChar *)target) ||
        !xmlSetProp(n, (const xmlChar *)"TargetMode", (const xmlChar *)"External")) {
        free(m->id);
        free(m->target);
        return TD_ENOMEM;
    }
    r->nmade++;
    r->changed = true;
    *id = m->id;
    return 0;
}

/* Gives a rendered hyperlink the relationship of its target (see docx_int.h). */
int td__docx_rels_assign(struct td__docx_rels *r, xmlNode *hyperlink, const char *target)
{
    struct td__docx_rel *rel;
    const char *id = NULL;
    xmlAttr *a;
    td_buf t;
    int rc = 0;

    for (a = hyperlink->properties; a; a = a->next) {
        if (td__docx_is_r_ns(a->ns) && strcmp((const char *)a->name, "id") == 0)
            break;
    }
    if (!a || !a->children || !a->children->content)
        return 0;
    rel = tag_rel(r, (const char *)a->children->content);
    if (!rel)
        return 0;
    td_buf_init(&t, 0);
    rc = strip_marks(&t, target);
    if (rc)
        goto out;
    if (rel->assigned && strcmp(rel->target, td_buf_str(&t)) == 0)
        goto out;
    if (!rel->assigned && !rel->top) {
        rc = set_target(r, rel, td_buf_str(&t));
        goto out;
    }
    for (size_t i = 0; i < r->nmade && !id; i++) {
        if (strcmp(r->made[i].target, td_buf_str(&t)) == 0)
            id = r->made[i].id;
    }
    if (!id)
        rc = add_rel(r, rel, td_buf_str(&t), &id);
    if (!rc && !xmlSetNsProp(hyperlink, a->ns, (const xmlChar *)"id", (const xmlChar *)id))
        rc = TD_ENOMEM;
out:
    td_buf_release(&t);
    return rc;
}

/* Decodes the escapes our writer and our escaper produce, dropping our marks. */
static int unescape(const char *s, size_t n, td_buf *out)
{
    static const struct {
        const char *e;
        char c;
    } ents[] = {{"&amp;", '&'},   {"&lt;", '<'},   {"&gt;", '>'},   {"&quot;", '"'},
                {"&apos;", '\''}, {"&#10;", '\n'}, {"&#13;", '\r'}, {"&#9;", '\t'}};
    td_buf raw;
    int rc = 0;

    td_buf_init(&raw, 0);
    rc = td_buf_add(&raw, "", 0);
    for (size_t i = 0; i < n && !rc;) {
        size_t k = 0;

        if (s[i] == '&') {
            for (size_t e = 0; e < TD_ARRAY_SIZE(ents) && !k; e++) {
                size_t el = strlen(ents[e].e);

                if (n - i >= el && memcmp(s + i, ents[e].e, el) == 0) {
                    rc = td_buf_addc(&raw, ents[e].c);
                    k = el;
                }
            }
        }
        if (!k) {
            rc = td_buf_addc(&raw, s[i]);
            k = 1;
        }
        i += k;
    }
    if (!rc)
        rc = strip_marks(out, raw.data);
    td_buf_release(&raw);
    return rc;
}

/* Renders the top-level tag targets once (see docx_int.h). */
int td__docx_rels_render_top(struct td__docx_rels *r, td__docx_render_fn fn, void *ud)
{
    td_buf out, plain, clean;
    int rc = 0;

    td_buf_init(&out, LINK_MAX * 4);
    td_buf_init(&plain, LINK_MAX * 4);
    td_buf_init(&clean, LINK_MAX * 4);
    for (size_t i = 0; i < r->n && !rc; i++) {
        struct td__docx_rel *rel = &r->v[i];

        if (!rel->tags || !rel->top)
            continue;
        td_buf_reset(&out);
        td_buf_reset(&plain);
        td_buf_reset(&clean);
        rc = fn(ud, r->pool.data + rel->tmpl, rel->tmpl_len, &out);
        if (!rc)
            rc = unescape(td_buf_str(&out), out.len, &plain);
        if (!rc)
            rc = td__docx_sanitize(&clean, td_buf_str(&plain), plain.len);
        if (!rc)
            rc = set_target(r, rel, td_buf_str(&clean));
    }
    td_buf_release(&out);
    td_buf_release(&plain);
    td_buf_release(&clean);
    return rc;
}

/* Removes unused per-occurrence relationships and writes r if it changed (see docx_int.h). */
int td__docx_rels_finish(struct td__docx_rels *r, td_buf *out)
{
    td_buf_reset(out);
    if (!r->doc)
        return 0;
    for (size_t i = 0; i < r->n; i++) {
        struct td__docx_rel *rel = &r->v[i];

        if (rel->tags && !rel->top && !rel->assigned && rel->node) {
            xmlUnlinkNode(rel->node);
            xmlFreeNode(rel->node);
            rel->node = NULL;
            r->changed = true;
        }
    }
    return r->changed ? td__docx_xml_write(r->doc, NULL, false, out) : 0;
}
