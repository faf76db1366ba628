/* The td_tmpl object: compiles the main template and keeps the cache of partials it loads
 * lazily, shared by every thread rendering it. */
#include "core/common.h"

#include "tmpl/tmpl_int.h"

/* Formats a message into err, truncating it to fit. */
void td__tmpl_error_set(td_tmpl_error *err, int line, int col, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    err->line = line;
    err->col = col;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

/* Copies at most max bytes of s into dst for quoting in a message. */
char *td__tmpl_snippet(char *dst, size_t size, const char *s, size_t n, size_t max)
{
    size_t i, k = 0;

    assert(size > max + 3);
    for (i = 0; i < n && i < max; i++) {
        unsigned char ch = (unsigned char)s[i];

        dst[k++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (n > max) {
        memcpy(dst + k, "...", 3);
        k += 3;
    }
    dst[k] = '\0';
    return dst;
}

/* Fills in the defaults of o into r; fails on values out of range. */
static int resolve_opts(const td_tmpl_opts *o, td_tmpl_opts *r, td_tmpl_error *err)
{
    int rc = 0;

    memset(r, 0, sizeof *r);
    if (o)
        *r = *o;
    if (!r->max_size)
        r->max_size = TD_TMPL_DEFAULT_MAX_SIZE;
    if (!r->max_depth)
        r->max_depth = TD_TMPL_DEFAULT_MAX_DEPTH;
    if (!r->max_partial_depth)
        r->max_partial_depth = TD_TMPL_DEFAULT_MAX_PARTIAL_DEPTH;
    if (!r->max_partials)
        r->max_partials = TD_TMPL_DEFAULT_MAX_PARTIALS;
    if (r->max_size > TD__TMPL_HARD_MAX_SIZE || r->max_depth < 0 || r->max_partial_depth < 0 ||
        r->max_partials < 0) {
        td__tmpl_error_set(err, 0, 0, "template option out of range");
        rc = TD_EINVAL;
    }
    return rc;
}

/* Compiles a template; see tmpl.h. */
int td_tmpl_compile(const char *src, size_t len, const td_tmpl_opts *opts, td_tmpl **out,
                    td_tmpl_error *err)
{
    td_tmpl *t = NULL;
    int rc = 0;

    if (err)
        memset(err, 0, sizeof *err);
    if (!out || (!src && len)) {
        td__tmpl_error_set(err, 0, 0, "invalid argument");
        rc = TD_EINVAL;
        goto out;
    }
    *out = NULL;
    t = calloc(1, sizeof *t);
    if (t)
        t->cache = calloc(1, sizeof *t->cache);
    if (!t || !t->cache || pthread_mutex_init(&t->cache->lock, NULL) != 0) {
        if (t) {
            free(t->cache);
            t->cache = NULL;
        }
        td__tmpl_error_set(err, 0, 0, "out of memory");
        rc = TD_ENOMEM;
        goto out;
    }
    rc = resolve_opts(opts, &t->opts, err);
    if (!rc)
        rc = td__tmpl_prog_compile(src, len, &t->opts, &t->root, err);
    if (rc)
        goto out;
    *out = t;
    t = NULL;
out:
    td_tmpl_free(t);
    return rc;
}

/* Frees one cache entry. */
static void entry_free(struct td__tmpl_entry *e)
{
    if (!e)
        return;
    if (e->prog) {
        td__tmpl_prog_release(e->prog);
        free(e->prog);
    }
    free(e->name);
    free(e);
}

/* Frees a template and its cached partials. */
void td_tmpl_free(td_tmpl *t)
{
    size_t i;

    if (!t)
        return;
    if (t->cache) {
        for (i = 0; i < t->cache->n; i++)
            entry_free(t->cache->entries[i]);
        free(t->cache->entries);
        pthread_mutex_destroy(&t->cache->lock);
        free(t->cache);
    }
    td__tmpl_prog_release(&t->root);
    free(t);
}

/* Loads and compiles the partial called e->name into e. Returns 0 when the outcome (found, not
 * found, does not compile) may be cached, or the loader's error, which may not. */
static int entry_load(const td_tmpl *t, struct td__tmpl_entry *e)
{
    td_buf src;
    int rc = 0, lrc;

    td_buf_init(&src, t->opts.max_size);
    e->rc = TD_ENOTFOUND;
    /* Empty names and names with a NUL (possible in JSON strings) name nothing. */
    if (!t->opts.partial || e->name_len == 0 || strlen(e->name) != e->name_len)
        goto out;
    lrc = t->opts.partial(t->opts.partial_ud, e->name, &src);
    if (lrc == TD_ENOTFOUND)
        goto out;
    if (lrc != 0) {
        rc = lrc < 0 ? lrc : TD_EIO;
        goto out;
    }
    e->prog = calloc(1, sizeof *e->prog);
    if (!e->prog) {
        rc = TD_ENOMEM;
        goto out;
    }
    e->rc = td__tmpl_prog_compile(src.data, src.len, &t->opts, e->prog, &e->err);
    if (e->rc) {
        free(e->prog);
        e->prog = NULL;
        if (e->rc == TD_ENOMEM)
            rc = TD_ENOMEM;
    }
out:
    td_buf_release(&src);
    return rc;
}

/* Finds or loads a partial; see tmpl_int.h. */
int td__tmpl_partial_get(const td_tmpl *t, const char *name, size_t len,
                         const struct td__tmpl_entry **out, char *why, size_t size)
{
    struct td__tmpl_cache *c = t->cache;
    struct td__tmpl_entry *e = NULL;
    size_t i;
    int rc = 0;

    /* Loading under the lock is what makes "each partial is loaded at most once" hold; only
     * the first render that needs a partial waits for it. */
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->n; i++) {
        if (c->entries[i]->name_len == len && memcmp(c->entries[i]->name, name, len) == 0) {
            *out = c->entries[i];
            goto out;
        }
    }
    if (c->n >= (size_t)t->opts.max_partials) {
        snprintf(why, size, "more than %d distinct partials", t->opts.max_partials);
        rc = TD_ETOOBIG;
        goto out;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct td__tmpl_entry **v = realloc(c->entries, cap * sizeof *v);

        if (!v) {
            rc = TD_ENOMEM;
            goto out;
        }
        c->entries = v;
        c->cap = cap;
    }
    e = calloc(1, sizeof *e);
    if (!e || !(e->name = malloc(len + 1))) {
        rc = TD_ENOMEM;
        goto out;
    }
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->name_len = len;
    rc = entry_load(t, e);
    if (rc) {
        snprintf(why, size, "cannot load: %s", td_strerror(rc));
        goto out;
    }
    c->entries[c->n++] = e;
    *out = e;
    e = NULL;
out:
    if (rc == TD_ENOMEM)
        snprintf(why, size, "%s", td_strerror(rc));
    pthread_mutex_unlock(&c->lock);
    entry_free(e);
    return rc;
}

/* Hashes the last dot-separated segment of a name (FNV-1a) onto one of 64 bits. */
uint64_t td_tmpl_name_bit(const char *name, size_t len)
{
    const char *seg = name;
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++)
        if (name[i] == '.')
            seg = name + i + 1;
    for (const char *p = seg; p < name + len; p++) {
        h ^= (unsigned char)*p;
        h *= 16777619u;
    }
    return (uint64_t)1 << (h % 64);
}
