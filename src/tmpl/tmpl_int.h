/* Internal form of a compiled Mustache template, shared by the compiler (compile.c), the
 * renderer (render.c), the partial cache (tmpl.c) and the escapers (escape.c). */
#ifndef TD_TMPL_INT_H
#define TD_TMPL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "trackdoc/tmpl.h"

/* Largest accepted max_size: keeps every pool offset within 32 bits. */
#define TD__TMPL_HARD_MAX_SIZE ((size_t)256 << 20)

/* One instruction. Each first writes its leading text pool[text, text + text_len) (the
 * template text before the tag, fused in to halve the dispatches), then does its kind's work.
 * Sections, blocks and parents own the instructions (i, end). */
enum td__tmpl_op_kind {
    TD__OP_TEXT,     /* only the leading text */
    TD__OP_VAR,      /* write names[arg], escaped */
    TD__OP_RAW,      /* write names[arg] as is */
    TD__OP_SECTION,  /* names[arg]: render the content once per item, or once, or not */
    TD__OP_INVERTED, /* names[arg]: render the content when the value is falsey */
    TD__OP_PARTIAL,  /* include pool[arg, arg + len), or names[arg]'s value when dynamic */
    TD__OP_PARENT,   /* as a partial; the content holds only the overriding blocks */
    TD__OP_BLOCK     /* block pool[arg, arg + len): an override, or the default content */
};

enum {
    TD__OPF_DYNAMIC = 1, /* partial/parent: the name is looked up in the data ({{>*name}}) */
    TD__OPF_INDENT = 2,  /* partial/parent/block: indent its lines by pool[indent, +indent_len) */
    TD__OPF_BOL = 4      /* partial/parent/block: its first line starts a line (standalone tag) */
};

struct td__tmpl_op {
    uint8_t kind;
    uint8_t flags;
    uint32_t text;
    uint32_t text_len;
    uint32_t arg;
    uint32_t len;
    uint32_t end;  /* sections, blocks, parents: index of the first instruction after */
    uint32_t slot; /* static partials and parents: index in prog.slots */
    uint32_t indent;
    uint32_t indent_len;
    int32_t line; /* position of the tag, for render errors */
    int32_t col;
};

/* A name looked up in the data: pool[off] is the name as written, NUL-terminated; pool[parts]
 * holds its nparts dot-separated parts, each NUL-terminated, back to back, the first one
 * first_len bytes long. "." has no parts. */
struct td__tmpl_name {
    uint32_t off;
    uint32_t len;
    uint32_t parts;
    uint32_t nparts;
    uint32_t first_len;
    uint64_t hook_bit; /* td_tmpl_name_bit of the name, for td_tmpl_render_opts.hook_names */
};

struct td__tmpl_entry;

/* One compiled template or partial. Immutable after compile except slots, which cache the
 * partial each static partial tag resolved to (set once, atomically, by the first render). */
struct td__tmpl_prog {
    struct td__tmpl_op *ops;
    uint32_t nops;
    char *pool;
    struct td__tmpl_name *names;
    _Atomic(const struct td__tmpl_entry *) *slots;
    uint32_t nslots;
};

/* A partial in the cache of a td_tmpl: compiled, known to be missing, or failed to compile. */
struct td__tmpl_entry {
    char *name; /* NUL-terminated */
    size_t name_len;
    struct td__tmpl_prog *prog; /* NULL unless rc == 0 */
    int rc;                     /* 0, TD_ENOTFOUND, or the compile error */
    td_tmpl_error err;          /* the compile error, when there is one */
};

/* The partials a template has loaded: the one part of a td_tmpl that renders change, so it
 * lives behind a pointer and a lock. */
struct td__tmpl_cache {
    pthread_mutex_t lock;
    struct td__tmpl_entry **entries;
    size_t n;
    size_t cap;
};

struct td_tmpl {
    struct td__tmpl_prog root;
    td_tmpl_opts opts; /* with the defaults filled in */
    struct td__tmpl_cache *cache;
};

/* Compiles src into *p (zeroed first). Returns 0 or a compile error, described in err. */
int td__tmpl_prog_compile(const char *src, size_t len, const td_tmpl_opts *o,
                          struct td__tmpl_prog *p, td_tmpl_error *err);

/* Frees what *p holds (not p itself). */
void td__tmpl_prog_release(struct td__tmpl_prog *p);

/* Finds the partial called name in t's cache, loading and compiling it on first use.
 * *out stays valid as long as t. Returns 0 (see (*out)->rc for found or not), or the loader's
 * error, TD_ETOOBIG (too many partials) or TD_ENOMEM, which are not cached and are described
 * in why (size bytes). Thread safe. */
int td__tmpl_partial_get(const td_tmpl *t, const char *name, size_t len,
                         const struct td__tmpl_entry **out, char *why, size_t size);

/* Appends n bytes to b like td_buf_add, with the common case (room left) inlined: the
 * renderer appends a few bytes at a time and this is its hottest path. */
static inline int td__tmpl_put(td_buf *b, const char *s, size_t n)
{
    int rc = 0;

    if (n < b->cap - b->len && n <= b->max - b->len) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
    } else {
        rc = td_buf_add(b, s, n);
    }
    return rc;
}

/* Appends s escaped for HTML (or XML when xml is true) to out. */
int td__tmpl_escape_markup(td_buf *out, const char *s, size_t n, bool xml);

/* Writes the text of a JSON number into buf (at least 32 bytes); returns its length. */
size_t td__tmpl_format_number(char *buf, size_t size, const json_t *v);

/* Formats a message into err (NULL-safe), truncating it to fit. */
void td__tmpl_error_set(td_tmpl_error *err, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copies at most max bytes of s into dst (size > max + 3) for quoting in a message: control
 * bytes become '?', and "..." marks a cut. Returns dst. */
char *td__tmpl_snippet(char *dst, size_t size, const char *s, size_t n, size_t max);

#endif
