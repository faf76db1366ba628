/* Word documents: a .docx template in, a valid .docx out. The package is read with libzip and
 * its XML parts with libxml2; Mustache tags that Word split across runs are merged; sections
 * repeat whole paragraphs or table rows; hyperlink targets are rendered and, when rendering for
 * a job, rewritten to tracked links. Untrusted packages are checked before anything else. */
#ifndef TRACKDOC_DOCX_H
#define TRACKDOC_DOCX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "trackdoc/buf.h"
#include "trackdoc/tmpl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Caps for untrusted packages. Zero fields take the defaults in brackets. */
typedef struct td_docx_limits {
    size_t max_input;      /* bytes of the .docx file [20 MiB] */
    size_t max_entries;    /* entries in the zip [1000] */
    size_t max_entry_size; /* uncompressed bytes of one entry [50 MiB] */
    size_t max_total;      /* uncompressed bytes of all entries [200 MiB] */
    unsigned max_ratio;    /* uncompressed / compressed size of one entry [200] */
} td_docx_limits;

/* Decides the replacement of an existing hyperlink target (a URL that is not a template tag):
 * returns 1 and writes the new target into out, 0 to keep it, negative on failure (the target
 * is kept and the failure counted). ud is td_docx_opts.link_ud. */
typedef int (*td_docx_link_fn)(void *ud, const char *url, td_buf *out);

typedef struct td_docx_opts {
    const td_docx_limits *limits; /* NULL: defaults */
    /* Rendering of {{tags}}, in text and in relationship targets, as for td_tmpl_render. */
    td_tmpl_value_hook value_hook;
    void *hook_ud;
    uint64_t hook_names;
    bool strict;
    /* Hyperlinks whose target is a plain URL (in .rels files and HYPERLINK field codes). */
    td_docx_link_fn link_hook; /* NULL: plain URLs are kept */
    void *link_ud;
    /* docProps/core.xml: dc:title, dc:creator (NULL keeps what the template has),
     * dcterms:modified (now_ms, UTC; 0 means the current time). */
    const char *title;
    const char *creator;
    int64_t now_ms;
} td_docx_opts;

typedef struct td_docx_stats {
    td_tmpl_stats tmpl;         /* summed over every rendered part */
    size_t parts_rendered;      /* XML parts that held tags or rewritten links */
    size_t links_rewritten;     /* hyperlink targets replaced by link_hook */
    size_t link_failures;       /* link_hook failures (targets kept) */
} td_docx_stats;

/* Frees what td_docx_render put into stats. */
void td_docx_stats_release(td_docx_stats *s);

/* Checks an untrusted package against the limits and the safety rules: a zip with
 * [Content_Types].xml, _rels/.rels and word/document.xml; no entry name with "..", a leading
 * '/', a backslash or a drive letter; no macros (vbaProject.bin, macro content types); no
 * external relationship other than hyperlinks (remote templates, OLE links); no XML part with
 * a DOCTYPE or entity declaration. On failure why (whysz bytes) says what and where.
 * Returns 0, TD_EDOCX (not a .docx, missing parts, over a limit) or TD_EUNSAFE. */
int td_docx_check(const void *docx, size_t len, const td_docx_limits *limits, char *why,
                  size_t whysz);

/* Renders the template package docx with data into out (a complete .docx file). Checks it as
 * td_docx_check does first. Parts that change are written anew; every other entry is copied
 * byte for byte. On a template error err tells the part, line and column in its message.
 * Returns 0, TD_EDOCX, TD_EUNSAFE, TD_ESYNTAX (bad template), TD_EMISSING (strict),
 * TD_ETOOBIG, TD_EDEPTH or TD_ENOMEM. */
int td_docx_render(const void *docx, size_t len, const json_t *data, const td_docx_opts *o,
                   td_buf *out, td_docx_stats *stats, td_tmpl_error *err);

/* One row of a template mapping (the CSV of the system our users come from). */
typedef struct td_docx_mapping_row {
    const char *original_text; /* text to find in the document, across runs */
    enum { TD_MAP_VARIABLE, TD_MAP_STATIC, TD_MAP_DISCARD } kind;
    const char *value; /* VARIABLE: the variable name; STATIC: the text; DISCARD: NULL */
} td_docx_mapping_row;

/* Turns a finished document into a template: each row's original text, found across runs
 * (formatting of the run where it starts), becomes {{variable}}, static text, or nothing.
 * found (n entries, may be NULL) receives how many times each row matched.
 * Returns 0, TD_EDOCX, TD_EUNSAFE, TD_ETOOBIG or TD_ENOMEM. */
int td_docx_convert(const void *docx, size_t len, const td_docx_mapping_row *rows, size_t n,
                    const td_docx_limits *limits, td_buf *out, size_t *found);

#ifdef __cplusplus
}
#endif
#endif
