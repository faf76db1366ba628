/* Mustache renderer: walks the instructions of a compiled template against JSON data, following
 * sections, partials, parents and blocks, and writes the output with the chosen escaping.
 * All its state lives in one struct render per call, so one template renders on many threads. */
#include "core/common.h"

#include "tmpl/tmpl_int.h"

/* Bound on the indentation the nested standalone partials and blocks add up to. */
#define MAX_INDENT ((size_t)1 << 20)

/* The context stack, one frame per section value, linked through the C stack. */
struct ctx {
    const json_t *v;
    const struct ctx *up;
};

/* The parents being rendered, innermost first: their blocks override the blocks of what they
 * include. */
struct frame {
    const struct td__tmpl_prog *p;
    uint32_t op; /* the parent instruction; its content holds the overriding blocks */
    const struct frame *prev;
};

/* The state of one render call. */
struct render {
    const td_tmpl *t;
    td_buf *out;
    const td_tmpl_render_opts *o;
    size_t max_output;
    size_t steps_left;
    td_buf indent; /* added at each line start: the indentation of enclosing partials/blocks */
    bool bol;      /* the output stands at the start of a template line */
    int depth;     /* sections and blocks being rendered, across partials */
    int partial_depth;
    const char *where; /* partial being rendered, NULL in the main template */
    td_buf scratch;    /* the value hook's output */
    td_tmpl_stats st;
    int miss_line; /* first missing variable */
    int miss_col;
    const char *miss_where;
    td_tmpl_error *err;
    bool err_set;
};

static int render_range(struct render *r, const struct td__tmpl_prog *p, uint32_t i, uint32_t end,
                        const struct ctx *cx, const struct frame *chain);

/* Records the error rc at the tag of op, naming the partial it is in. Returns rc. */
__attribute__((format(printf, 4, 5))) static int
fail(struct render *r, const struct td__tmpl_op *op, int rc, const char *fmt, ...)
{
    char msg[256], where[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->where)
        td__tmpl_error_set(r->err, op->line, op->col, "in partial \"%s\": %s",
                           td__tmpl_snippet(where, sizeof where, r->where, strlen(r->where), 40),
                           msg);
    else
        td__tmpl_error_set(r->err, op->line, op->col, "%s", msg);
    r->err_set = true;
    return rc;
}

/* Quotes the name written in op (a looked-up name, or a partial or block name) for messages. */
static const char *op_name(const struct td__tmpl_prog *p, const struct td__tmpl_op *op, char *buf,
                           size_t size)
{
    bool looked_up = op->kind == TD__OP_VAR || op->kind == TD__OP_RAW ||
                     op->kind == TD__OP_SECTION || op->kind == TD__OP_INVERTED ||
                     (op->flags & TD__OPF_DYNAMIC);
    const char *s = looked_up ? p->pool + p->names[op->arg].off : p->pool + op->arg;
    size_t n = looked_up ? p->names[op->arg].len : op->len;

    return td__tmpl_snippet(buf, size, s, n, 40);
}

/* Gets the member key (len bytes, NUL-terminated) of object o; NULL when absent. Newer
 * jansson takes the length, which spares it a strlen on every lookup. */
static const json_t *member(const json_t *o, const char *key, size_t len)
{
#if JANSSON_VERSION_HEX >= 0x020e00
    return json_object_getn(o, key, len);
#else
    (void)len;
    return json_object_get(o, key);
#endif
}

/* Resolves a name against the context stack; NULL when it does not resolve. */
static const json_t *lookup(const struct td__tmpl_prog *p, const struct td__tmpl_name *n,
                            const struct ctx *cx)
{
    const char *part = p->pool + n->parts;
    const json_t *v = NULL;
    uint32_t k;

    if (n->nparts == 0) {
        v = cx->v;
        goto out;
    }
    for (; cx && !v; cx = cx->up) {
        if (json_is_object(cx->v))
            v = member(cx->v, part, n->first_len);
    }
    /* Further parts resolve against the value found so far only, never the whole stack. */
    for (k = 1; k < n->nparts && v; k++) {
        part += strlen(part) + 1;
        v = json_is_object(v) ? member(v, part, strlen(part)) : NULL;
    }
out:
    return v;
}

/* Tells whether a section value counts as false: missing, null, false, "" or []. */
static bool falsey(const json_t *v)
{
    return !v || json_is_null(v) || json_is_false(v) ||
           (json_is_string(v) && json_string_length(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0);
}

/* Gives the text of a scalar in *s and *len (num holds numbers); false for null, objects and
 * arrays, which print nothing. */
static bool scalar_text(const json_t *v, char *num, size_t size, const char **s, size_t *len)
{
    bool ok = true;

    switch (json_typeof(v)) {
    case JSON_STRING:
        *s = json_string_value(v);
        *len = json_string_length(v);
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        *len = td__tmpl_format_number(num, size, v);
        *s = num;
        break;
    case JSON_TRUE:
        *s = "true";
        *len = 4;
        break;
    case JSON_FALSE:
        *s = "false";
        *len = 5;
        break;
    default:
        ok = false;
        break;
    }
    return ok;
}

/* Remembers a name that did not resolve: once per name, the first TD_TMPL_MAX_MISSING only. */
static int note_missing(struct render *r, const struct td__tmpl_op *op, const char *name)
{
    td_tmpl_stats *st = &r->st;
    size_t i;
    int rc = 0;

    if (!r->miss_line) {
        r->miss_line = op->line;
        r->miss_col = op->col;
        r->miss_where = r->where;
    }
    for (i = 0; i < st->missing_len; i++) {
        if (strcmp(st->missing[i], name) == 0)
            goto out;
    }
    if (st->missing_len == TD_TMPL_MAX_MISSING) {
        st->missing_truncated = true;
        goto out;
    }
    if (!st->missing && !(st->missing = calloc(TD_TMPL_MAX_MISSING, sizeof *st->missing))) {
        rc = TD_ENOMEM;
        goto out;
    }
    st->missing[st->missing_len] = strdup(name);
    if (!st->missing[st->missing_len]) {
        rc = TD_ENOMEM;
        goto out;
    }
    st->missing_len++;
out:
    return rc;
}

/* Writes the indentation when the output stands at the start of a template line. */
static int start_line(struct render *r)
{
    int rc = 0;

    if (r->bol && r->indent.len)
        rc = td__tmpl_put(r->out, r->indent.data, r->indent.len);
    r->bol = false;
    return rc;
}

/* Writes template text (n > 0), indenting each line it starts except empty ones. */
static int write_text(struct render *r, const char *s, size_t n)
{
    int rc = 0;

    if (!r->indent.len) { /* the common case: nothing to indent */
        rc = td__tmpl_put(r->out, s, n);
        r->bol = s[n - 1] == '\n';
        goto out;
    }
    while (n && !rc) {
        const char *nl = memchr(s, '\n', n);
        size_t k = nl ? (size_t)(nl - s) + 1 : n;
        bool empty = s[0] == '\n' || (k == 2 && s[0] == '\r');

        if (!empty)
            rc = start_line(r);
        if (!rc)
            rc = td__tmpl_put(r->out, s, k);
        r->bol = nl != NULL;
        s += k;
        n -= k;
    }
out:
    return rc;
}

/* Writes an interpolated value, escaped unless raw. */
static int write_value(struct render *r, const struct td__tmpl_prog *p,
                       const struct td__tmpl_op *op, const char *s, size_t n)
{
    const td_tmpl_render_opts *o = r->o;
    char name[64];
    int rc = start_line(r);

    if (rc)
        goto out;
    if (op->kind == TD__OP_RAW || o->escape == TD_TMPL_ESCAPE_NONE) {
        rc = td__tmpl_put(r->out, s, n);
    } else if (o->escape != TD_TMPL_ESCAPE_CUSTOM) {
        rc = td__tmpl_escape_markup(r->out, s, n, o->escape == TD_TMPL_ESCAPE_XML);
    } else {
        rc = o->escape_fn(o->escape_ud, s, n, r->out);
        if (rc > 0)
            rc = 0;
        if (rc < 0 && rc != TD_ETOOBIG)
            rc = fail(r, op, rc, "escape callback failed on \"%s\": %s",
                      op_name(p, op, name, sizeof name), td_strerror(rc));
    }
out:
    return rc;
}

/* Renders {{name}} or {{{name}}}: looks the value up, lets the hook see it, writes it. */
static int interpolate(struct render *r, const struct td__tmpl_prog *p,
                       const struct td__tmpl_op *op, const struct ctx *cx)
{
    const struct td__tmpl_name *n = &p->names[op->arg];
    const json_t *v = lookup(p, n, cx);
    const char *s = NULL;
    size_t len = 0;
    char num[40];
    int rc = 0, hrc;

    if (!v) {
        rc = note_missing(r, op, p->pool + n->off);
        goto out;
    }
    r->st.variables_substituted++;
    if (!scalar_text(v, num, sizeof num, &s, &len))
        goto out;
    if (r->o->value_hook && (!r->o->hook_names || (r->o->hook_names & n->hook_bit))) {
        td_buf_reset(&r->scratch);
        hrc = r->o->value_hook(r->o->hook_ud, p->pool + n->off, s, len, &r->scratch);
        if (hrc == 1) {
            s = td_buf_str(&r->scratch);
            len = r->scratch.len;
            r->st.hook_replacements++;
        } else if (hrc < 0) {
            r->st.hook_failures++;
        }
    }
    if (len)
        rc = write_value(r, p, op, s, len);
out:
    return rc;
}

/* Counts one step of work (an instruction or a loop pass), failing past the limit. */
static int step(struct render *r, const struct td__tmpl_op *op)
{
    int rc = 0;

    if (r->steps_left == 0)
        rc = fail(r, op, TD_ETOOBIG, "render ran more than %zu steps",
                  r->o->max_steps ? r->o->max_steps : TD_TMPL_DEFAULT_MAX_STEPS);
    else
        r->steps_left--;
    return rc;
}

/* Counts one more level of nesting, failing past the limit. */
static int enter(struct render *r, const struct td__tmpl_prog *p, const struct td__tmpl_op *op)
{
    char name[64];
    int rc = 0;

    if (++r->depth > r->t->opts.max_depth)
        rc = fail(r, op, TD_EDEPTH, "\"%s\" nested deeper than %d levels (counting partials)",
                  op_name(p, op, name, sizeof name), r->t->opts.max_depth);
    return rc;
}

/* Renders a section or inverted section starting at instruction i. */
static int section(struct render *r, const struct td__tmpl_prog *p, uint32_t i,
                   const struct ctx *cx, const struct frame *chain)
{
    const struct td__tmpl_op *op = &p->ops[i];
    const json_t *v = lookup(p, &p->names[op->arg], cx);
    struct ctx item = {v, cx};
    size_t k;
    int rc = enter(r, p, op);

    if (rc)
        goto out;
    if (op->kind == TD__OP_INVERTED) {
        if (falsey(v))
            rc = render_range(r, p, i + 1, op->end, cx, chain);
        goto out;
    }
    if (falsey(v))
        goto out;
    if (!json_is_array(v)) {
        rc = render_range(r, p, i + 1, op->end, &item, chain);
        goto out;
    }
    for (k = 0; k < json_array_size(v) && !rc; k++) {
        item.v = json_array_get(v, k);
        rc = step(r, op);
        if (!rc)
            rc = render_range(r, p, i + 1, op->end, &item, chain);
    }
out:
    r->depth--;
    return rc;
}

/* Finds the partial an include names: written in the tag (cached in its slot after the first
 * look), or for {{>*name}} the value of name. *out stays NULL when a dynamic name does not
 * resolve to a string or number, which renders nothing. */
static int resolve_partial(struct render *r, const struct td__tmpl_prog *p,
                           const struct td__tmpl_op *op, const struct ctx *cx,
                           const struct td__tmpl_entry **out)
{
    const struct td__tmpl_entry *e = NULL;
    const char *s = p->pool + op->arg;
    size_t len = op->len;
    char num[40], why[160], name[64];
    int rc = 0;

    *out = NULL;
    if (op->flags & TD__OPF_DYNAMIC) {
        const struct td__tmpl_name *n = &p->names[op->arg];
        const json_t *v = lookup(p, n, cx);

        if (!v) {
            rc = note_missing(r, op, p->pool + n->off);
            goto out;
        }
        if (!(json_is_string(v) || json_is_number(v)) || !scalar_text(v, num, sizeof num, &s, &len))
            goto out;
    } else {
        e = atomic_load_explicit(&p->slots[op->slot], memory_order_acquire);
    }
    if (!e) {
        rc = td__tmpl_partial_get(r->t, s, len, &e, why, sizeof why);
        if (rc) {
            rc = fail(r, op, rc, "partial \"%s\": %s",
                      td__tmpl_snippet(name, sizeof name, s, len, 40), why);
            goto out;
        }
        if (!(op->flags & TD__OPF_DYNAMIC))
            atomic_store_explicit(&p->slots[op->slot], e, memory_order_release);
    }
    *out = e;
out:
    return rc;
}

/* Renders {{>name}} or {{<name}}...{{/name}} at instruction i: the partial, indented when the
 * tag stands alone on its line; a parent also makes its blocks override the partial's. */
static int include(struct render *r, const struct td__tmpl_prog *p, uint32_t i,
                   const struct ctx *cx, const struct frame *chain)
{
    const struct td__tmpl_op *op = &p->ops[i];
    const struct td__tmpl_entry *e = NULL;
    struct frame f = {p, i, chain};
    const char *saved_where = r->where;
    size_t saved_indent = r->indent.len;
    char name[64];
    int rc = resolve_partial(r, p, op, cx, &e);

    if (rc || !e)
        goto out;
    if (e->rc == TD_ENOTFOUND) {
        if (r->o->strict)
            rc = fail(r, op, TD_ENOTFOUND, "unknown partial \"%s\"",
                      td__tmpl_snippet(name, sizeof name, e->name, e->name_len, 40));
        goto out;
    }
    if (e->rc) {
        td__tmpl_error_set(r->err, e->err.line, e->err.col, "in partial \"%s\": %s",
                           td__tmpl_snippet(name, sizeof name, e->name, e->name_len, 40),
                           e->err.message);
        r->err_set = true;
        rc = e->rc;
        goto out;
    }
    if (r->partial_depth >= r->t->opts.max_partial_depth) {
        rc = fail(r, op, TD_EDEPTH, "partial \"%s\" nested deeper than %d levels",
                  td__tmpl_snippet(name, sizeof name, e->name, e->name_len, 40),
                  r->t->opts.max_partial_depth);
        goto out;
    }
    if (op->flags & TD__OPF_INDENT) {
        rc = td_buf_add(&r->indent, p->pool + op->indent, op->indent_len);
        if (rc) {
            rc = fail(r, op, rc, "indentation of nested partials too long");
            goto out;
        }
    }
    if (op->flags & TD__OPF_BOL)
        r->bol = true;
    r->partial_depth++;
    r->where = e->name;
    rc = render_range(r, e->prog, 0, e->prog->nops, cx, op->kind == TD__OP_PARENT ? &f : chain);
    r->where = saved_where;
    r->partial_depth--;
out:
    r->indent.len = saved_indent;
    if (r->indent.data)
        r->indent.data[saved_indent] = '\0';
    return rc;
}

/* Finds the block called name among the blocks a parent instruction holds; 0 when absent. */
static uint32_t find_block(const struct td__tmpl_prog *p, uint32_t parent, const char *name,
                           uint32_t len)
{
    uint32_t j = parent + 1, found = 0;

    while (j < p->ops[parent].end) {
        const struct td__tmpl_op *op = &p->ops[j];

        if (op->len == len && memcmp(p->pool + op->arg, name, len) == 0) {
            found = j;
            break;
        }
        j = op->end; /* the compiler keeps nothing but blocks in a parent */
    }
    return found;
}

/* Renders {{$name}} at instruction i: the content some enclosing parent gives it, else its
 * own. The outermost parent wins, so a template's caller has the last word. */
static int block(struct render *r, const struct td__tmpl_prog *p, uint32_t i, const struct ctx *cx,
                 const struct frame *chain)
{
    const struct td__tmpl_op *op = &p->ops[i];
    const struct td__tmpl_prog *bp = p;
    const struct frame *f, *bchain = chain;
    size_t saved_indent = r->indent.len;
    uint32_t bi = i;
    int rc = enter(r, p, op);

    if (rc)
        goto out;
    for (f = chain; f; f = f->prev) {
        uint32_t j = find_block(f->p, f->op, p->pool + op->arg, op->len);

        if (j) {
            bp = f->p;
            bi = j;
            bchain = f->prev; /* an override sees the parents of where it was written */
        }
    }
    if (op->flags & TD__OPF_INDENT) {
        rc = td_buf_add(&r->indent, p->pool + op->indent, op->indent_len);
        if (rc) {
            rc = fail(r, op, rc, "indentation of nested blocks too long");
            goto out;
        }
    }
    if (op->flags & TD__OPF_BOL)
        r->bol = true;
    rc = render_range(r, bp, bi + 1, bp->ops[bi].end, cx, bchain);
out:
    r->indent.len = saved_indent;
    if (r->indent.data)
        r->indent.data[saved_indent] = '\0';
    r->depth--;
    return rc;
}

/* Does the work of one instruction (its leading text is written); *next receives the index
 * of the instruction that follows it at the same level. */
static int run_op(struct render *r, const struct td__tmpl_prog *p, uint32_t i, const struct ctx *cx,
                  const struct frame *chain, uint32_t *next)
{
    const struct td__tmpl_op *op = &p->ops[i];
    int rc = 0;

    *next = i + 1;
    switch (op->kind) {
    case TD__OP_TEXT:
        break;
    case TD__OP_VAR:
    case TD__OP_RAW:
        rc = interpolate(r, p, op, cx);
        break;
    case TD__OP_SECTION:
    case TD__OP_INVERTED:
        rc = section(r, p, i, cx, chain);
        *next = op->end;
        break;
    case TD__OP_PARTIAL:
        rc = include(r, p, i, cx, chain);
        break;
    case TD__OP_PARENT:
        rc = include(r, p, i, cx, chain);
        *next = op->end;
        break;
    case TD__OP_BLOCK:
        rc = block(r, p, i, cx, chain);
        *next = op->end;
        break;
    default:
        assert(0 && "unknown instruction");
        break;
    }
    return rc;
}

/* Renders instructions [i, end) of p. */
static int render_range(struct render *r, const struct td__tmpl_prog *p, uint32_t i, uint32_t end,
                        const struct ctx *cx, const struct frame *chain)
{
    int rc = 0;

    while (i < end && !rc) {
        const struct td__tmpl_op *op = &p->ops[i];

        rc = step(r, op);
        if (!rc && op->text_len)
            rc = write_text(r, p->pool + op->text, op->text_len);
        if (!rc)
            rc = run_op(r, p, i, cx, chain, &i);
        /* Errors from below that carry no message yet get one pointing at this tag. */
        if (rc && !r->err_set) {
            if (rc == TD_ETOOBIG)
                fail(r, op, rc, "output larger than %zu bytes", r->max_output);
            else
                fail(r, op, rc, "%s", td_strerror(rc));
        }
    }
    return rc;
}

/* Fails a strict render that met missing variables, listing as many as fit in the message. */
static int missing_error(struct render *r)
{
    const td_tmpl_stats *st = &r->st;
    char name[64];
    bool cut = false;
    td_buf msg;
    size_t i;

    /* A bounded buffer refuses what does not fit; keep room for the tail added below. */
    td_buf_init(&msg, sizeof r->err->message - 1 - 80);
    td_buf_printf(&msg, "missing variable%s", st->missing_len > 1 ? "s" : "");
    for (i = 0; i < st->missing_len && !cut; i++) {
        td__tmpl_snippet(name, sizeof name, st->missing[i], strlen(st->missing[i]), 40);
        cut = td_buf_printf(&msg, "%s\"%s\"", i ? ", " : " ", name) != 0;
    }
    msg.max = sizeof r->err->message - 1;
    if (cut || st->missing_truncated)
        td_buf_adds(&msg, ", ...");
    if (r->miss_where)
        td_buf_printf(
            &msg, " (the first in partial \"%s\")",
            td__tmpl_snippet(name, sizeof name, r->miss_where, strlen(r->miss_where), 40));
    td__tmpl_error_set(r->err, r->miss_line, r->miss_col, "%s", td_buf_str(&msg));
    td_buf_release(&msg);
    return TD_EMISSING;
}

/* Renders a template; see tmpl.h. */
int td_tmpl_render(const td_tmpl *t, const json_t *data, const td_tmpl_render_opts *opts,
                   td_buf *out, td_tmpl_stats *stats, td_tmpl_error *err)
{
    static const td_tmpl_render_opts defaults;
    struct render r;
    struct ctx root = {data, NULL};
    size_t start_len = 0, saved_max = 0;
    bool limited = false;
    int rc = 0;

    memset(&r, 0, sizeof r);
    r.err = err;
    if (err)
        memset(err, 0, sizeof *err);
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!opts)
        opts = &defaults;
    r.o = opts;
    r.max_output = opts->max_output ? opts->max_output : TD_TMPL_DEFAULT_MAX_OUTPUT;
    r.steps_left = opts->max_steps ? opts->max_steps : TD_TMPL_DEFAULT_MAX_STEPS;
    td_buf_init(&r.indent, MAX_INDENT);
    td_buf_init(&r.scratch, r.max_output);
    if (!t || !out || (unsigned)opts->escape > TD_TMPL_ESCAPE_CUSTOM ||
        (opts->escape == TD_TMPL_ESCAPE_CUSTOM && !opts->escape_fn)) {
        td__tmpl_error_set(err, 0, 0, "invalid argument");
        rc = TD_EINVAL;
        goto out;
    }
    r.t = t;
    r.out = out;
    r.bol = true;
    /* The limit is applied through out->max for the length of the call. */
    start_len = out->len;
    saved_max = out->max;
    limited = true;
    if (out->max - out->len > r.max_output)
        out->max = out->len + r.max_output;
    rc = render_range(&r, &t->root, 0, t->root.nops, &root, NULL);
    if (!rc && opts->strict && r.st.missing_len)
        rc = missing_error(&r);
out:
    if (limited) {
        out->max = saved_max;
        if (rc) {
            out->len = start_len;
            if (out->data)
                out->data[start_len] = '\0';
        }
    }
    if (stats)
        *stats = r.st;
    else
        td_tmpl_stats_release(&r.st);
    td_buf_release(&r.indent);
    td_buf_release(&r.scratch);
    return rc;
}

/* Frees what a render put in s. */
void td_tmpl_stats_release(td_tmpl_stats *s)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < s->missing_len; i++)
        free(s->missing[i]);
    free(s->missing);
    memset(s, 0, sizeof *s);
}
