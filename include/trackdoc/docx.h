/* Word documents: a .docx template in, a valid .docx out. The package is read with libzip and
 * its XML parts with libxml2; Mustache tags that Word split across runs are merged; sections
 * repeat whole paragraphs or table rows; hyperlink targets are rendered and, when rendering for
 * a job, rewritten to tracked links. Untrusted packages are checked before anything else.
 * How templates work, what is refused and why: docs/docx.md. */
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

/* Caps for untrusted packages. Zero fields take the defaults in brackets. Sizes are checked as
 * the zip directory claims them, and again while decompressing: an entry that holds more (or
 * fewer) bytes than it claims is refused as soon as it does. */
typedef struct td_docx_limits {
    size_t max_input;      /* bytes of the .docx file [20 MiB] */
    size_t max_entries;    /* entries in the zip [1000] */
    size_t max_entry_size; /* uncompressed bytes of one entry, also of one rendered part
                              [50 MiB] */
    size_t max_total;      /* uncompressed bytes of all entries [200 MiB] */
    unsigned max_ratio;    /* uncompressed / compressed size of one entry, for entries of more
                              than 1 MiB [200] */
} td_docx_limits;

/* Decides the replacement of an existing hyperlink target (a URL that is not a template tag):
 * returns 1 and writes the new target into out, 0 to keep it, negative on failure (the target
 * is kept and the failure counted). ud is td_docx_opts.link_ud. Only http:// and https://
 * targets are given (mailto:, file: and anchors are kept): relationship targets of hyperlinks
 * (once per relationship, whether or not a section repeats it) and the addresses of HYPERLINK
 * field codes. What it writes is made valid XML; in a field code a '"' becomes %22. */
typedef int (*td_docx_link_fn)(void *ud, const char *url, td_buf *out);

typedef struct td_docx_opts {
    const td_docx_limits *limits; /* NULL: defaults */
    /* Rendering of {{tags}}, in text, field codes and relationship targets, as for
     * td_tmpl_render. Values are always escaped for XML ({{{x}}} and {{&x}} too). A hyperlink
     * target with tags renders once per occurrence of the hyperlink (per item inside a
     * section), so the value hook sees each; a target that renders empty removes the
     * hyperlink (its text stays). strict: any variable missing in any part fails the render
     * with TD_EMISSING, all of them listed. */
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
    td_tmpl_stats tmpl;     /* summed over every rendered part (missing: distinct names) */
    size_t parts_rendered;  /* parts (document, headers, footers, notes) written anew because
                               they or their relationships held tags or rewritten links */
    size_t links_rewritten; /* hyperlink targets replaced by link_hook */
    size_t link_failures;   /* link_hook failures (targets kept) */
} td_docx_stats;

/* Frees what td_docx_render put into stats. */
void td_docx_stats_release(td_docx_stats *s);

/* Checks an untrusted package against the limits and the safety rules: a zip with
 * [Content_Types].xml, _rels/.rels and word/document.xml (exact names), entries stored or
 * deflated, not encrypted; no entry name with a ".." segment, a leading '/', a backslash, a
 * drive letter or a control character, no two names equal ignoring case; no macros
 * (vbaProject.bin, any part declared as a VBA project, macro-enabled content types, VBA
 * project relationships, attached templates other than a file on the local machine, which is
 * what Word records for Normal.dotm), no ActiveX content type; no external relationship other
 * than hyperlinks (remote templates, linked images, OLE links); no XML
 * part with a DOCTYPE or entity declaration (UTF-8 or UTF-16); the parts rendered are
 * well-formed XML. On failure why (whysz bytes; may be NULL) names the entry and the rule.
 * Returns 0, TD_EDOCX (not a .docx, missing parts, over a limit, malformed XML),
 * TD_EUNSAFE or TD_ENOMEM. */
int td_docx_check(const void *docx, size_t len, const td_docx_limits *limits, char *why,
                  size_t whysz);

/* Renders the template package docx with data (any JSON value, or NULL) and appends the result
 * to out (a complete .docx file; out is left as it was on failure). Checks the package as
 * td_docx_check does first. The parts rendered are word/document.xml, word/header*.xml,
 * word/footer*.xml, word/footnotes.xml and word/endnotes.xml with their .rels;
 * docProps/core.xml gets the title, creator and modification time. Parts that change are
 * written anew (deflated); every other entry is copied byte for byte, compressed data as is,
 * in the template's order. On failure err->message (err may be NULL) names the part, the tag
 * and an extract of the paragraph, e.g. `word/document.xml: unclosed section "experience" in
 * the paragraph "{{#experience}}"`; err->line and err->col are 0 (positions in the XML mean
 * nothing to a user). stats may be NULL; release it with td_docx_stats_release (also after a
 * failure). Thread safe: any number of renders may run at once.
 * Returns 0, TD_EDOCX, TD_EUNSAFE, TD_ESYNTAX (bad template), TD_EMISSING (strict),
 * TD_ETOOBIG (a rendered part over max_entry_size, or out->max), TD_EDEPTH (sections nested
 * deeper than 100), TD_EINVAL (out is NULL), TD_EIO (libzip could not write) or TD_ENOMEM. */
int td_docx_render(const void *docx, size_t len, const json_t *data, const td_docx_opts *o,
                   td_buf *out, td_docx_stats *stats, td_tmpl_error *err);

/* One row of a template mapping (the CSV of the system our users come from). */
typedef struct td_docx_mapping_row {
    const char *original_text; /* text to find in the document, across runs */
    enum { TD_MAP_VARIABLE, TD_MAP_STATIC, TD_MAP_DISCARD } kind;
    const char *value; /* VARIABLE: the variable name; STATIC: the text; DISCARD: NULL */
} td_docx_mapping_row;

/* Turns a finished document into a template, appended to out: each row's original text, found
 * in the text of each paragraph across runs (of the document, headers, footers and notes; all
 * occurrences), becomes {{variable}}, static text, or nothing, written in the run where the
 * match starts (its formatting kept). Where matches overlap, the longest wins (then the
 * earlier row); replacements are never searched again. A hyperlink address equal to a
 * variable or static row's text (ignoring http(s)://, "www." and a final '/') is replaced
 * too. Rows whose original_text is NULL or "" are ignored. found (n entries, may be NULL)
 * receives how many times each row matched (text and addresses). The package is checked as
 * by td_docx_check. Returns 0, TD_EDOCX, TD_EUNSAFE, TD_EINVAL (out NULL, or rows NULL with
 * n > 0), TD_ETOOBIG, TD_EIO or TD_ENOMEM. */
int td_docx_convert(const void *docx, size_t len, const td_docx_mapping_row *rows, size_t n,
                    const td_docx_limits *limits, td_buf *out, size_t *found);

#ifdef __cplusplus
}
#endif
#endif
