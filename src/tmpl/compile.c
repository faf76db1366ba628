/* Mustache compiler: splits the source into text and tags (following set-delimiter tags), checks
 * the nesting, applies the standalone-line and indentation rules, then emits the flat
 * instruction array and string pool that render.c walks. */
#include "core/common.h"

#include "tmpl/tmpl_int.h"

enum tok_kind {
    TK_TEXT,
    TK_VAR,
    TK_RAW,
    TK_SECTION,
    TK_INVERTED,
    TK_CLOSE,
    TK_COMMENT,
    TK_PARTIAL,
    TK_PARENT,
    TK_BLOCK,
    TK_DELIM
};

/* A piece of the source: a run of text, or one tag. */
struct tok {
    uint8_t kind;
    uint8_t flags;     /* TD__OPF_* for partials, parents and blocks */
    bool dynamic;      /* {{>*name}} / {{<*name}} */
    size_t start, end; /* text: its bytes, trimmed by standalone neighbours; tag: whole tag */
    size_t name;       /* tag content, trimmed, after the sigil (and the '*') */
    size_t name_len;   /* ... */
    size_t indent;     /* indentation pushed by a partial, parent or block */
    size_t indent_len; /* ... */
    size_t dedent;     /* text: blanks dropped at each line start; open tags: for content */
    int up;            /* enclosing open tag, -1 at the top; for a closing tag, the open's */
    int match;         /* open tag: its closing tag; closing tag: its open tag */
    int line, col;     /* of the opening delimiter */
    uint32_t op;       /* instruction emitted for an open tag */
};

struct compiler {
    const char *src;
    size_t len;
    const td_tmpl_opts *o;
    td_tmpl_error *err;
    struct tok *toks;
    int ntoks;
    int cap;
    size_t at; /* locate() remembers where it stopped, as tags come in source order */
    int at_line;
    int at_col;
    struct td__tmpl_prog *p;
    td_buf pool;
    uint32_t nnames;
    long mergeable; /* last instruction, when it is only text that ends the pool: the next
                       text extends it, the next tag takes it as its leading text */
};

/* Tells whether c is whitespace inside a tag. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Tells whether c is a blank that can indent a line. */
static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Computes the 1-based line and column (in UTF-8 characters) of byte offset off. */
static void locate(struct compiler *c, size_t off, int *line, int *col)
{
    if (off < c->at || c->at_line == 0) {
        c->at = 0;
        c->at_line = 1;
        c->at_col = 1;
    }
    for (; c->at < off; c->at++) {
        unsigned char ch = (unsigned char)c->src[c->at];

        if (ch == '\n') {
            c->at_line++;
            c->at_col = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c->at_col++;
        }
    }
    *line = c->at_line;
    *col = c->at_col;
}

/* Names the kind of an open tag for messages. */
static const char *kind_label(uint8_t kind)
{
    const char *s = "section";

    if (kind == TK_INVERTED)
        s = "inverted section";
    else if (kind == TK_PARENT)
        s = "parent";
    else if (kind == TK_BLOCK)
        s = "block";
    return s;
}

/* Appends a zeroed token and returns its index in *idx. */
static int add_tok(struct compiler *c, uint8_t kind, size_t start, size_t end, int up, int *idx)
{
    int rc = 0;

    if (c->ntoks == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        struct tok *t = realloc(c->toks, (size_t)cap * sizeof *t);

        if (!t) {
            rc = TD_ENOMEM;
            goto out;
        }
        c->toks = t;
        c->cap = cap;
    }
    memset(&c->toks[c->ntoks], 0, sizeof c->toks[0]);
    c->toks[c->ntoks].kind = kind;
    c->toks[c->ntoks].start = start;
    c->toks[c->ntoks].end = end;
    c->toks[c->ntoks].up = up;
    c->toks[c->ntoks].match = -1;
    *idx = c->ntoks++;
out:
    return rc;
}

/* Finds the closing delimiter of a tag whose content starts at from. With pre ('}' for {{{x}}},
 * '=' for {{=a b=}}) the delimiter must follow that character. Returns the offset where the
 * content ends, or SIZE_MAX when the tag is never closed. */
static size_t find_close(const struct compiler *c, size_t from, char pre, const char *ctag,
                         size_t clen)
{
    size_t at = from, found = SIZE_MAX;

    while (at < c->len) {
        const char *q = memmem(c->src + at, c->len - at, ctag, clen);
        size_t k;

        if (!q)
            break;
        k = (size_t)(q - c->src);
        if (!pre) {
            found = k;
            break;
        }
        if (k > from && c->src[k - 1] == pre) {
            found = k - 1;
            break;
        }
        at = k + 1;
    }
    return found;
}

/* Checks the name of a tag: present, without whitespace, and for names looked up in the data,
 * made of non-empty dotted parts (or exactly "."). */
static int check_name(struct compiler *c, const struct tok *t, bool lookup)
{
    const char *s = c->src + t->name;
    size_t n = t->name_len, i;
    char snip[64];
    int rc = 0;

    if (n == 0) {
        td__tmpl_error_set(
            c->err, t->line, t->col, "empty tag name in \"%s\"",
            td__tmpl_snippet(snip, sizeof snip, c->src + t->start, t->end - t->start, 40));
        rc = TD_ESYNTAX;
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (is_space(s[i])) {
            td__tmpl_error_set(c->err, t->line, t->col, "tag name \"%s\" contains whitespace",
                               td__tmpl_snippet(snip, sizeof snip, s, n, 40));
            rc = TD_ESYNTAX;
            goto out;
        }
    }
    if (lookup && !(n == 1 && s[0] == '.') &&
        (s[0] == '.' || s[n - 1] == '.' || memmem(s, n, "..", 2))) {
        td__tmpl_error_set(c->err, t->line, t->col, "bad dotted name \"%s\"",
                           td__tmpl_snippet(snip, sizeof snip, s, n, 40));
        rc = TD_ESYNTAX;
    }
out:
    return rc;
}

/* Parses the content of a set-delimiter tag into the two new delimiters (slices of the source). */
static int parse_delims(struct compiler *c, const struct tok *t, size_t s, size_t e,
                        const char **otag, size_t *olen, const char **ctag, size_t *clen)
{
    size_t a = s, a_end, b, b_end;
    int rc = 0;

    while (a < e && is_space(c->src[a]))
        a++;
    for (a_end = a; a_end < e && !is_space(c->src[a_end]);)
        a_end++;
    for (b = a_end; b < e && is_space(c->src[b]);)
        b++;
    for (b_end = b; b_end < e && !is_space(c->src[b_end]);)
        b_end++;
    while (e > b_end && is_space(c->src[e - 1]))
        e--;
    if (a == a_end || b == b_end || b_end != e || memchr(c->src + a, '=', a_end - a) ||
        memchr(c->src + b, '=', b_end - b)) {
        char snip[64];

        td__tmpl_error_set(
            c->err, t->line, t->col,
            "bad set-delimiter tag \"%s\": expected two delimiters without "
            "whitespace or '=', as in {{=<%% %%>=}}",
            td__tmpl_snippet(snip, sizeof snip, c->src + t->start, t->end - t->start, 40));
        rc = TD_ESYNTAX;
        goto out;
    }
    *otag = c->src + a;
    *olen = a_end - a;
    *ctag = c->src + b;
    *clen = b_end - b;
out:
    return rc;
}

/* Links a closing tag to the innermost open tag, which must have the same name. */
static int close_section(struct compiler *c, int k, int *cur, int *depth)
{
    struct tok *t = &c->toks[k];
    const char *name = c->src + t->name;
    size_t n = t->name_len;
    char snip[64], snip2[64];
    struct tok *open;
    int rc = 0;

    if (*cur < 0) {
        td__tmpl_error_set(c->err, t->line, t->col, "closing tag \"%s\" without an open section",
                           td__tmpl_snippet(snip, sizeof snip, name, n, 40));
        rc = TD_ESYNTAX;
        goto out;
    }
    open = &c->toks[*cur];
    /* A dynamic parent is closed by its name with the star repeated before it. */
    if (open->dynamic && n > 0 && name[0] == '*') {
        name++;
        n--;
        while (n > 0 && is_space(*name)) {
            name++;
            n--;
        }
    }
    if (n != open->name_len || memcmp(name, c->src + open->name, n) != 0) {
        td__tmpl_error_set(
            c->err, t->line, t->col,
            "closing tag \"%s\" does not match %s \"%s\" opened at line %d, column %d",
            td__tmpl_snippet(snip, sizeof snip, c->src + t->name, t->name_len, 40),
            kind_label(open->kind),
            td__tmpl_snippet(snip2, sizeof snip2, c->src + open->name, open->name_len, 40),
            open->line, open->col);
        rc = TD_ESYNTAX;
        goto out;
    }
    open->match = k;
    t->match = *cur;
    t->up = open->up;
    *cur = open->up;
    (*depth)--;
out:
    return rc;
}

/* Reads the tag opened at ts; stores it as token(s) and returns where scanning resumes in *next.
 * Set-delimiter tags update the delimiters. */
static int scan_tag(struct compiler *c, size_t ts, const char **otag, size_t *olen,
                    const char **ctag, size_t *clen, int *cur, int *depth, size_t *next)
{
    size_t p = ts + *olen, k, e;
    char sig = p < c->len ? c->src[p] : '\0', pre = '\0', snip[64];
    uint8_t kind = TK_VAR;
    struct tok *t;
    int rc = 0, idx, line, col;

    switch (sig) {
    case '{':
        kind = TK_RAW;
        pre = '}';
        break;
    case '=':
        kind = TK_DELIM;
        pre = '=';
        break;
    case '&':
        kind = TK_RAW;
        break;
    case '#':
        kind = TK_SECTION;
        break;
    case '^':
        kind = TK_INVERTED;
        break;
    case '/':
        kind = TK_CLOSE;
        break;
    case '!':
        kind = TK_COMMENT;
        break;
    case '>':
        kind = TK_PARTIAL;
        break;
    case '<':
        kind = TK_PARENT;
        break;
    case '$':
        kind = TK_BLOCK;
        break;
    default:
        break;
    }
    if (kind != TK_VAR)
        p++;
    locate(c, ts, &line, &col);
    k = find_close(c, p, pre, *ctag, *clen);
    if (k == SIZE_MAX && kind == TK_DELIM && find_close(c, p, '\0', *ctag, *clen) != SIZE_MAX) {
        td__tmpl_error_set(c->err, line, col, "bad set-delimiter tag \"%s\": no closing \"=%.*s\"",
                           td__tmpl_snippet(snip, sizeof snip, c->src + ts, c->len - ts, 20),
                           (int)TD_MIN(*clen, 40), *ctag);
        rc = TD_ESYNTAX;
        goto out;
    }
    if (k == SIZE_MAX) {
        td__tmpl_error_set(c->err, line, col, "unclosed tag \"%s\": no closing \"%s%.*s\"",
                           td__tmpl_snippet(snip, sizeof snip, c->src + ts, c->len - ts, 20),
                           pre == '}'   ? "}"
                           : pre == '=' ? "="
                                        : "",
                           (int)TD_MIN(*clen, 40), *ctag);
        rc = TD_ESYNTAX;
        goto out;
    }
    e = k + (pre ? 1 : 0) + *clen;
    rc = add_tok(c, kind, ts, e, *cur, &idx);
    if (rc)
        goto out;
    t = &c->toks[idx];
    t->line = line;
    t->col = col;
    *next = e;
    if (kind == TK_COMMENT)
        goto out;
    if (kind == TK_DELIM) {
        rc = parse_delims(c, t, p, k, otag, olen, ctag, clen);
        goto out;
    }
    while (p < k && is_space(c->src[p]))
        p++;
    while (k > p && is_space(c->src[k - 1]))
        k--;
    if ((kind == TK_PARTIAL || kind == TK_PARENT) && p < k && c->src[p] == '*') {
        t->dynamic = true;
        p++;
        while (p < k && is_space(c->src[p]))
            p++;
    }
    t->name = p;
    t->name_len = k - p;
    rc = check_name(c, t,
                    t->dynamic || kind == TK_VAR || kind == TK_RAW || kind == TK_SECTION ||
                        kind == TK_INVERTED);
    if (rc)
        goto out;
    if (kind == TK_CLOSE) {
        rc = close_section(c, idx, cur, depth);
    } else if (kind == TK_SECTION || kind == TK_INVERTED || kind == TK_PARENT || kind == TK_BLOCK) {
        if (++*depth > c->o->max_depth) {
            td__tmpl_error_set(
                c->err, line, col, "%s \"%s\" nested deeper than %d levels", kind_label(kind),
                td__tmpl_snippet(snip, sizeof snip, c->src + p, k - p, 40), c->o->max_depth);
            rc = TD_EDEPTH;
            goto out;
        }
        *cur = idx;
    }
out:
    return rc;
}

/* Splits the whole source into tokens and pairs open and closing tags. */
static int tokenize(struct compiler *c)
{
    const char *otag = "{{", *ctag = "}}";
    size_t olen = 2, clen = 2, i = 0;
    int cur = -1, depth = 0, rc = 0, idx;

    while (i < c->len) {
        const char *o = memmem(c->src + i, c->len - i, otag, olen);
        size_t ts = o ? (size_t)(o - c->src) : c->len;

        if (ts > i) {
            rc = add_tok(c, TK_TEXT, i, ts, cur, &idx);
            if (rc)
                goto out;
        }
        if (!o)
            break;
        rc = scan_tag(c, ts, &otag, &olen, &ctag, &clen, &cur, &depth, &i);
        if (rc)
            goto out;
    }
    if (cur >= 0) {
        const struct tok *t = &c->toks[cur];
        char snip[64];

        td__tmpl_error_set(c->err, t->line, t->col,
                           "unclosed %s \"%s\" opened at line %d, column %d", kind_label(t->kind),
                           td__tmpl_snippet(snip, sizeof snip, c->src + t->name, t->name_len, 40),
                           t->line, t->col);
        rc = TD_ESYNTAX;
    }
out:
    return rc;
}

/* Tells whether only blanks stand between the start of the line and offset at; *ws receives
 * where those blanks start. */
static bool left_clear(const struct compiler *c, size_t at, size_t *ws)
{
    size_t p = at;

    while (p > 0 && is_blank(c->src[p - 1]))
        p--;
    *ws = p;
    return p == 0 || c->src[p - 1] == '\n';
}

/* Tells whether only blanks stand between offset at and the end of the line; *after receives
 * the start of the next line. */
static bool right_clear(const struct compiler *c, size_t at, size_t *after)
{
    size_t p = at;
    bool clear = false;

    while (p < c->len && is_blank(c->src[p]))
        p++;
    if (p == c->len) {
        clear = true;
    } else if (c->src[p] == '\n') {
        clear = true;
        p++;
    } else if (c->src[p] == '\r' && p + 1 < c->len && c->src[p + 1] == '\n') {
        clear = true;
        p += 2;
    }
    *after = p;
    return clear;
}

/* Drops the blanks before tag k (from ws on) from the text that precedes it. */
static void trim_left(struct compiler *c, int k, size_t ws)
{
    if (ws < c->toks[k].start) {
        assert(k > 0 && c->toks[k - 1].kind == TK_TEXT);
        c->toks[k - 1].end = ws;
    }
}

/* Drops the rest of the line after tag k (up to after) from the text that follows it. */
static void trim_right(struct compiler *c, int k, size_t after)
{
    if (after > c->toks[k].end) {
        assert(k + 1 < c->ntoks && c->toks[k + 1].kind == TK_TEXT);
        c->toks[k + 1].start = after;
    }
}

/* Records the indentation [ws, end) of tag t, less the blanks its enclosing blocks remove. */
static void set_indent(struct tok *t, size_t ws, size_t end, size_t dedent)
{
    size_t strip = TD_MIN(dedent, end - ws);

    t->indent = ws + strip;
    t->indent_len = end - ws - strip;
    if (t->indent_len)
        t->flags |= TD__OPF_INDENT;
}

/* Takes a block's own indentation from the first line of its content (the line at `line`):
 * that much is removed from each content line here and added back where the block lands. */
static void set_intrinsic(const struct compiler *c, struct tok *t, size_t line, size_t dedent)
{
    size_t raw = 0;

    while (line + raw < c->len && is_blank(c->src[line + raw]))
        raw++;
    if (raw > dedent) {
        t->indent = line + dedent;
        t->indent_len = raw - dedent;
        t->flags |= TD__OPF_INDENT;
        t->dedent = raw;
    }
}

/* Applies the standalone rules to tag k, which sits inside content dropping `dedent` blanks. */
static void standalone(struct compiler *c, int k, size_t dedent)
{
    struct tok *t = &c->toks[k];
    bool in_body = t->up >= 0 && c->toks[t->up].kind == TK_PARENT;
    size_t ws, after;
    bool left = left_clear(c, t->start, &ws), right = right_clear(c, t->end, &after);

    switch (t->kind) {
    case TK_VAR:
    case TK_RAW:
        break;
    case TK_PARENT:
        /* The body is ignored, so the pair {{<x}}...{{/x}} stands alone when the open tag
         * starts its line and the closing tag ends its own. */
        if (left && right_clear(c, c->toks[t->match].end, &after)) {
            trim_left(c, k, ws);
            set_indent(t, ws, t->start, dedent);
            t->flags |= TD__OPF_BOL;
        }
        break;
    case TK_CLOSE: {
        const struct tok *open = &c->toks[t->match];
        bool open_in_body = open->up >= 0 && c->toks[open->up].kind == TK_PARENT;

        if (open->kind == TK_PARENT) {
            if (open->flags & TD__OPF_BOL)
                trim_right(c, k, after);
        } else if (open->kind == TK_BLOCK && open_in_body) {
            if (left) /* the blanks before it are not content; what follows is body */
                trim_left(c, k, ws);
        } else if (left && right) {
            trim_left(c, k, ws);
            trim_right(c, k, after);
        }
        break;
    }
    case TK_BLOCK:
        if (in_body) {
            /* An override: what precedes it is ignored body, a line end after it is not
             * content, and its lines lose their own indentation. */
            if (right) {
                trim_right(c, k, after);
                set_intrinsic(c, t, after, dedent);
            }
            t->flags = 0;
        } else if (left && right) {
            trim_left(c, k, ws);
            trim_right(c, k, after);
            set_intrinsic(c, t, after, dedent);
            t->flags |= TD__OPF_BOL;
        } else if (left && k + 1 < c->ntoks && c->toks[k + 1].match == k &&
                   right_clear(c, c->toks[k + 1].end, &after)) {
            /* "  {{$b}}{{/b}}": the blanks stay as text and indent the following lines. */
            set_indent(t, ws, t->start, dedent);
        }
        break;
    default:
        if (left && right) {
            trim_left(c, k, ws);
            trim_right(c, k, after);
            if (t->kind == TK_PARTIAL) {
                set_indent(t, ws, t->start, dedent);
                t->flags |= TD__OPF_BOL;
            }
        }
        break;
    }
}

/* Applies the standalone and indentation rules to every tag, in source order. */
static void apply_layout(struct compiler *c)
{
    int k;

    for (k = 0; k < c->ntoks; k++) {
        struct tok *t = &c->toks[k];
        size_t dedent = t->up >= 0 ? c->toks[t->up].dedent : 0;

        t->dedent = dedent;
        if (t->kind != TK_TEXT)
            standalone(c, k, dedent);
    }
}

/* Appends n bytes to the pool and returns their offset in *off. */
static int pool_add(struct compiler *c, const char *s, size_t n, uint32_t *off)
{
    *off = (uint32_t)c->pool.len;
    return td_buf_add(&c->pool, s, n);
}

/* Adds a name looked up in the data and returns its index in *idx. */
static int add_name(struct compiler *c, const struct tok *t, uint32_t *idx)
{
    struct td__tmpl_name *n = &c->p->names[c->nnames];
    const char *s = c->src + t->name;
    size_t i;
    int rc;

    n->len = (uint32_t)t->name_len;
    rc = pool_add(c, s, t->name_len, &n->off);
    if (!rc)
        rc = td_buf_addc(&c->pool, '\0');
    if (rc)
        goto out;
    n->parts = (uint32_t)c->pool.len;
    n->nparts = 0;
    if (!(t->name_len == 1 && s[0] == '.')) {
        n->nparts = 1;
        for (i = 0; i < t->name_len && !rc; i++) {
            if (s[i] == '.' && n->nparts++ == 1)
                n->first_len = (uint32_t)i;
            rc = td_buf_addc(&c->pool, s[i] == '.' ? '\0' : s[i]);
        }
        if (!rc)
            rc = td_buf_addc(&c->pool, '\0');
        if (n->nparts == 1)
            n->first_len = n->len;
    }
    n->hook_bit = td_tmpl_name_bit(s, t->name_len);
    if (!rc)
        *idx = c->nnames++;
out:
    return rc;
}

/* Emits a text token, dropping the blanks its enclosing blocks remove at each line start. */
static int emit_text(struct compiler *c, const struct tok *t)
{
    size_t s = t->start, e = t->end, before = c->pool.len;
    int rc = 0;

    while (s < e && !rc) {
        size_t stop = e;
        const char *nl;

        if (t->dedent) {
            size_t n = 0;

            if (s == 0 || c->src[s - 1] == '\n') {
                while (n < t->dedent && s < e && is_blank(c->src[s])) {
                    s++;
                    n++;
                }
            }
            nl = memchr(c->src + s, '\n', e - s);
            if (nl)
                stop = (size_t)(nl - c->src) + 1;
        }
        rc = td_buf_add(&c->pool, c->src + s, stop - s);
        s = stop;
    }
    if (rc || c->pool.len == before)
        goto out;
    if (c->mergeable >= 0) {
        c->p->ops[c->mergeable].text_len += (uint32_t)(c->pool.len - before);
    } else {
        struct td__tmpl_op *op = &c->p->ops[c->p->nops];

        op->kind = TD__OP_TEXT;
        op->text = (uint32_t)before;
        op->text_len = (uint32_t)(c->pool.len - before);
        c->mergeable = c->p->nops++;
    }
out:
    return rc;
}

/* Emits the instruction for tag token t. */
static int emit_tag(struct compiler *c, struct tok *t)
{
    /* A text instruction just before becomes this one's leading text. */
    uint32_t idx = c->mergeable >= 0 ? (uint32_t)c->mergeable : c->p->nops;
    struct td__tmpl_op *op = &c->p->ops[idx];
    int rc = 0;

    c->mergeable = -1;
    op->line = t->line;
    op->col = t->col;
    op->flags = t->flags;
    switch (t->kind) {
    case TK_VAR:
    case TK_RAW:
    case TK_SECTION:
    case TK_INVERTED:
        op->kind = t->kind == TK_VAR       ? TD__OP_VAR
                   : t->kind == TK_RAW     ? TD__OP_RAW
                   : t->kind == TK_SECTION ? TD__OP_SECTION
                                           : TD__OP_INVERTED;
        rc = add_name(c, t, &op->arg);
        break;
    case TK_PARTIAL:
    case TK_PARENT:
    case TK_BLOCK:
        op->kind = t->kind == TK_PARTIAL  ? TD__OP_PARTIAL
                   : t->kind == TK_PARENT ? TD__OP_PARENT
                                          : TD__OP_BLOCK;
        if (t->dynamic) {
            op->flags |= TD__OPF_DYNAMIC;
            rc = add_name(c, t, &op->arg);
        } else {
            op->len = (uint32_t)t->name_len;
            rc = pool_add(c, c->src + t->name, t->name_len, &op->arg);
            if (!rc)
                rc = td_buf_addc(&c->pool, '\0');
            if (t->kind != TK_BLOCK)
                op->slot = c->p->nslots++;
        }
        if (!rc && t->indent_len) {
            op->indent_len = (uint32_t)t->indent_len;
            rc = pool_add(c, c->src + t->indent, t->indent_len, &op->indent);
        }
        break;
    default:
        break;
    }
    if (!rc) {
        t->op = idx;
        c->p->nops = idx + 1;
    }
    return rc;
}

/* Emits the instructions for every token. What a parent tag holds other than blocks is
 * dropped: only its blocks matter. */
static int emit(struct compiler *c)
{
    struct td__tmpl_prog *p = c->p;
    size_t n = (size_t)c->ntoks + 1;
    int k, rc = 0;

    p->ops = calloc(n, sizeof *p->ops);
    p->names = calloc(n, sizeof *p->names);
    if (!p->ops || !p->names) {
        rc = TD_ENOMEM;
        goto out;
    }
    for (k = 0; k < c->ntoks; k++) {
        struct tok *t = &c->toks[k];
        bool in_body = t->up >= 0 && c->toks[t->up].kind == TK_PARENT;

        if (in_body && t->kind != TK_BLOCK &&
            !(t->kind == TK_CLOSE && c->toks[t->match].kind == TK_BLOCK)) {
            if (t->match > k)
                k = t->match;
            continue;
        }
        if (t->kind == TK_TEXT) {
            rc = emit_text(c, t);
        } else if (t->kind == TK_CLOSE) {
            p->ops[c->toks[t->match].op].end = p->nops;
            c->mergeable = -1;
        } else if (t->kind != TK_COMMENT && t->kind != TK_DELIM) {
            rc = emit_tag(c, t);
        }
        if (rc)
            goto out;
    }
    if (p->nslots) {
        uint32_t i;

        p->slots = calloc(p->nslots, sizeof *p->slots);
        if (!p->slots) {
            rc = TD_ENOMEM;
            goto out;
        }
        for (i = 0; i < p->nslots; i++)
            atomic_init(&p->slots[i], NULL);
    }
    if (c->pool.len == 0)
        rc = td_buf_addc(&c->pool, '\0'); /* so that pool is never NULL */
    if (!rc)
        p->pool = td_buf_detach(&c->pool, NULL);
out:
    return rc;
}

/* Compiles src into *p. */
int td__tmpl_prog_compile(const char *src, size_t len, const td_tmpl_opts *o,
                          struct td__tmpl_prog *p, td_tmpl_error *err)
{
    struct compiler c;
    int rc = 0;

    memset(p, 0, sizeof *p);
    memset(&c, 0, sizeof c);
    c.src = src ? src : "";
    c.len = len;
    c.o = o;
    c.err = err;
    c.p = p;
    c.mergeable = -1;
    /* Text, names twice, and indentation never take more than this. */
    td_buf_init(&c.pool, 4 * len + 64);
    if (len > o->max_size) {
        td__tmpl_error_set(err, 0, 0, "template is %zu bytes, more than the limit of %zu", len,
                           o->max_size);
        rc = TD_ETOOBIG;
        goto out;
    }
    rc = tokenize(&c);
    if (rc)
        goto out;
    apply_layout(&c);
    rc = emit(&c);
out:
    if (rc == TD_ENOMEM)
        td__tmpl_error_set(err, 0, 0, "%s", td_strerror(rc));
    if (rc)
        td__tmpl_prog_release(p);
    td_buf_release(&c.pool);
    free(c.toks);
    return rc;
}

/* Frees what *p holds. */
void td__tmpl_prog_release(struct td__tmpl_prog *p)
{
    free(p->ops);
    free(p->pool);
    free(p->names);
    free((void *)p->slots);
    memset(p, 0, sizeof *p);
}
