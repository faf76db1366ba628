/* Mustache templates: compile once, render many times against JSON data (jansson).
 * Full Mustache spec plus the optional inheritance ({{<parent}}, {{$block}}) and dynamic-name
 * ({{>*name}}) modules; no lambdas. The language and its limits are described in
 * docs/templates-engine.md. */
#ifndef TRACKDOC_TMPL_H
#define TRACKDOC_TMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "trackdoc/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A compiled template, immutable once compiled except for its internal partial cache.
 * Any number of threads may render the same td_tmpl at once. */
typedef struct td_tmpl td_tmpl;

/* Defaults used when an option is 0. */
#define TD_TMPL_DEFAULT_MAX_SIZE ((size_t)1 << 20)    /* bytes of one template or partial */
#define TD_TMPL_DEFAULT_MAX_DEPTH 100                 /* nested sections, blocks and parents */
#define TD_TMPL_DEFAULT_MAX_PARTIAL_DEPTH 32          /* partials and parents inside each other */
#define TD_TMPL_DEFAULT_MAX_PARTIALS 256              /* distinct partial names per td_tmpl */
#define TD_TMPL_DEFAULT_MAX_OUTPUT ((size_t)16 << 20) /* bytes one render may add */
#define TD_TMPL_DEFAULT_MAX_STEPS ((size_t)10000000)  /* instructions one render may run */

/* At most this many distinct missing variable names are listed in td_tmpl_stats. */
#define TD_TMPL_MAX_MISSING 64

/* Where a compile or render error happened and what it was.
 * line and column are 1-based and point at the opening delimiter of the offending tag; the
 * column counts characters (UTF-8 code points), a tab counting as one. Both are 0 when the error
 * has no position (template too big, out of memory). When the error lies in a
 * partial, the position is inside that partial and the message starts with
 * `in partial "name": `. */
typedef struct td_tmpl_error {
    int line;
    int col;
    char message[256]; /* NUL-terminated, names the problem and the tag */
} td_tmpl_error;

/* Loads the source of the partial called name (as written after {{> or {{<, or the value of a
 * dynamic name) by appending it to out, which is empty and bounded by max_size.
 * Returns 0, TD_ENOTFOUND when there is no such partial, or another negative code, which makes
 * the render fail. Called at most once per name per td_tmpl (results are cached, including
 * "not found"), under a lock: it need not be thread safe but must not render the same td_tmpl. */
typedef int (*td_tmpl_partial_fn)(void *ud, const char *name, td_buf *out);

/* Compile options. A NULL td_tmpl_opts, or 0 in a field, means the default. */
typedef struct td_tmpl_opts {
    td_tmpl_partial_fn partial; /* NULL: no partial exists */
    void *partial_ud;           /* passed to partial; must outlive the td_tmpl */
    size_t max_size;            /* max bytes of the template and of each partial */
    int max_depth;              /* max nesting of sections/blocks/parents, also across partials */
    int max_partial_depth;      /* max nesting of partial and parent inclusions */
    int max_partials;           /* max distinct partial names loaded (or found missing) */
} td_tmpl_opts;

/* Compiles len bytes of Mustache source (need not be NUL-terminated; NUL bytes are plain text).
 * On success *out holds a new template, freed with td_tmpl_free(). Partials are not loaded now
 * but on first use by a render, then kept for the life of the template.
 * Returns 0, TD_ESYNTAX (unclosed tag or section, mismatched or stray closing tag, bad set
 * delimiters, empty or malformed tag name), TD_ETOOBIG (len > max_size), TD_EDEPTH (nesting
 * beyond max_depth), TD_EINVAL (NULL src with len > 0, NULL out, negative limits, or max_size
 * above 256 MiB) or TD_ENOMEM.
 * err may be NULL; on failure it receives the position and a message. */
int td_tmpl_compile(const char *src, size_t len, const td_tmpl_opts *opts, td_tmpl **out,
                    td_tmpl_error *err);

/* Frees a template and its cached partials. NULL is a no-op. No render may be running on it. */
void td_tmpl_free(td_tmpl *t);

/* How interpolated values from {{name}} are escaped ({{{name}}} and {{&name}} never are). */
typedef enum td_tmpl_escape {
    TD_TMPL_ESCAPE_HTML = 0, /* & < > " ' as &amp; &lt; &gt; &quot; &#39; */
    TD_TMPL_ESCAPE_XML,      /* & < > " ' as &amp; &lt; &gt; &quot; &apos; */
    TD_TMPL_ESCAPE_NONE,     /* values copied as they are */
    TD_TMPL_ESCAPE_CUSTOM    /* td_tmpl_render_opts.escape_fn decides */
} td_tmpl_escape;

/* Appends the escaped form of the len bytes at s to out. Returns 0 or a negative code, which
 * makes the render fail with that code. */
typedef int (*td_tmpl_escape_fn)(void *ud, const char *s, size_t len, td_buf *out);

/* Sees every interpolated scalar (string, number or boolean; null renders nothing and is not
 * shown) before it is written. name is the tag name as written ("personal.linkedin_url", "."),
 * value/len the text that would be written, before escaping (NUL-terminated at len). out is an
 * empty scratch buffer bounded by max_output.
 * Return 1 to write the content of out instead of value (escaped unless the tag is raw), 0 to
 * keep value, or a negative code for a failure: value is kept, the failure is counted in
 * td_tmpl_stats.hook_failures and the render goes on. May be called from several threads at once
 * when several renders run. */
typedef int (*td_tmpl_value_hook)(void *ud, const char *name, const char *value, size_t len,
                                  td_buf *out);

/* Render options. A NULL td_tmpl_render_opts, or 0 in a field, means the default. */
typedef struct td_tmpl_render_opts {
    td_tmpl_escape escape;         /* default HTML */
    td_tmpl_escape_fn escape_fn;   /* required with TD_TMPL_ESCAPE_CUSTOM */
    void *escape_ud;               /* passed to escape_fn */
    td_tmpl_value_hook value_hook; /* NULL: values are written as they are */
    void *hook_ud;                 /* passed to value_hook */
    uint64_t hook_names;           /* 0: value_hook sees every value; otherwise only values
                                      whose name has its td_tmpl_name_bit in this mask (a cheap
                                      filter: the hook may still see names it ignores) */
    bool strict;                   /* missing variables and unknown partials are errors */
    size_t max_output;             /* max bytes this render may append to out */
    size_t max_steps;              /* max instructions run, counting each loop pass: bounds the
                                      time of templates that loop without writing */
} td_tmpl_render_opts;

/* What a render did. Filled by td_tmpl_render (also on failure); release with
 * td_tmpl_stats_release() after each render. */
typedef struct td_tmpl_stats {
    size_t variables_substituted; /* interpolations whose name resolved (null included) */
    size_t hook_replacements;     /* value_hook returned 1 */
    size_t hook_failures;         /* value_hook returned a negative code */
    char **missing;               /* distinct unresolved interpolation names, as written, in
                                     order of first appearance; owned by the stats */
    size_t missing_len;           /* entries in missing, at most TD_TMPL_MAX_MISSING */
    bool missing_truncated;       /* more distinct names were missing than are listed */
} td_tmpl_stats;

/* Renders t against data (any JSON value; NULL: no data, every name is missing), appending to
 * out.
 * The output may grow by at most max_output bytes and never beyond out->max.
 * Name resolution: a name resolves if some object on the context stack has its first part as
 * a key and each further dotted part is a key of the previous value. Only interpolations of
 * names that do not resolve are "missing"; sections and inverted sections treat them as false.
 * Falsey section values: false, null, "" and []. Numbers print as integers or in the shortest
 * form that reads back exactly (1.21), true/false as "true"/"false"; objects and arrays
 * interpolate as nothing.
 * Returns 0, or on failure a negative code, with out restored to its length on entry:
 * TD_EMISSING (strict: all missing names listed in the message and in stats),
 * TD_ENOTFOUND (strict: unknown partial), TD_ETOOBIG (output, step or partial size limit, or
 * too many partials), TD_EDEPTH (partial or section nesting), TD_ESYNTAX (a partial does not
 * compile), a code from the partial loader or escape_fn, TD_EINVAL (bad arguments) or TD_ENOMEM.
 * stats and err may be NULL. */
int td_tmpl_render(const td_tmpl *t, const json_t *data, const td_tmpl_render_opts *opts,
                   td_buf *out, td_tmpl_stats *stats, td_tmpl_error *err);

/* Frees what td_tmpl_render put in s and zeroes it. NULL is a no-op. */
void td_tmpl_stats_release(td_tmpl_stats *s);

/* Returns the filter bit of a name for td_tmpl_render_opts.hook_names: one of 64 bits, chosen
 * by a hash of the name's last dot-separated segment ("personal.calendly_url" and
 * "calendly_url" share it). The compiler stores it per tag, so the filter costs one AND. */
uint64_t td_tmpl_name_bit(const char *name, size_t len);

/* A folder of partials for td_tmpl_dir_loader: the partial called x is the file x.mustache. */
typedef struct td_tmpl_dir td_tmpl_dir;

/* Makes a loader over the folder at path (copied). max_size bounds each file (0: 1 MiB).
 * *out is freed with td_tmpl_dir_free() after every td_tmpl using it.
 * Returns 0, TD_EINVAL (NULL or empty path) or TD_ENOMEM. */
int td_tmpl_dir_new(const char *path, size_t max_size, td_tmpl_dir **out);

/* Frees a folder loader. NULL is a no-op. */
void td_tmpl_dir_free(td_tmpl_dir *d);

/* A td_tmpl_partial_fn over a folder: ud is a td_tmpl_dir. Appends the file name.mustache to out.
 * Names that are empty, longer than 200 bytes, or contain '/', '\\', "..", or control characters
 * are refused with TD_EINVAL. Returns 0, TD_ENOTFOUND (no such regular file), TD_ETOOBIG (file
 * larger than max_size or out->max), TD_EIO or TD_ENOMEM. */
int td_tmpl_dir_loader(void *ud, const char *name, td_buf *out);

#ifdef __cplusplus
}
#endif
#endif
