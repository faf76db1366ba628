/* Internals of the .docx writer, shared by docx_pkg.c (zip package and safety rules), docx_xml.c
 * (safe parsing, serialising, annotations), docx_text.c (paragraph text across runs),
 * docx_tags.c (tags and sections), docx_links.c (relationships, hyperlinks, field codes),
 * docx_render.c and docx_convert.c. */
#ifndef TD_DOC_DOCX_INT_H
#define TD_DOC_DOCX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libxml/tree.h>
#include <zip.h>

#include "trackdoc/buf.h"
#include "trackdoc/docx.h"

#define TD__W_NS "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
#define TD__W_NS_STRICT "http://purl.oclc.org/ooxml/wordprocessingml/main"
#define TD__R_NS "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define TD__R_NS_STRICT "http://purl.oclc.org/ooxml/officeDocument/relationships"
#define TD__W14_NS "http://schemas.microsoft.com/office/word/2010/wordml"
#define TD__WP_NS "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
/* Our own namespace: marks on paragraphs and hyperlinks between rendering and the final pass;
 * never written to a finished document. */
#define TD__OUR_NS "urn:trackdoc:docx"
#define TD__OUR_PREFIX "tdx"

/* The delimiters of the Mustache template a part becomes: "<{" cannot occur in serialised XML
 * (a '<' is always markup there and markup never starts with '{'), so nothing but our tags can
 * be mistaken for a tag. */
#define TD__DELIMS "{{=<{ }>=}}"
#define TD__OPEN "<{"
#define TD__CLOSE "}>"

/* What rendering puts in place of a newline and a tab in a value: Unicode noncharacters, valid
 * XML, removed from values and template text, turned into <w:br/> and <w:tab/> afterwards. */
#define TD__NL_MARK "\xEF\xB7\x90"  /* U+FDD0 */
#define TD__TAB_MARK "\xEF\xB7\x91" /* U+FDD1 */
#define TD__MARK_LEN 3

/* Defaults of td_docx_limits. */
#define TD__DOCX_MAX_INPUT ((size_t)20 << 20)
#define TD__DOCX_MAX_ENTRIES 1000
#define TD__DOCX_MAX_ENTRY ((size_t)50 << 20)
#define TD__DOCX_MAX_TOTAL ((size_t)200 << 20)
#define TD__DOCX_MAX_RATIO 200u
/* The ratio limit applies to entries that claim more than this many bytes. */
#define TD__DOCX_RATIO_FLOOR ((size_t)1 << 20)

/* ---- package (docx_pkg.c) ---- */

/* One entry of the template package. */
struct td__docx_entry {
    char *name;
    zip_uint64_t index; /* in the template archive */
    zip_uint64_t size;  /* uncompressed bytes, verified */
    time_t mtime;
    char *data; /* content of XML entries (.xml, .rels, XML content types) */
    size_t len;
    char *out; /* new content to write instead (owned), or NULL: copy as is */
    size_t out_len;
};

/* A checked package, open for reading. */
struct td__docx_pkg {
    zip_source_t *src;
    zip_t *za;
    struct td__docx_entry *e;
    size_t n;
    td_docx_limits lim;
};

/* Opens the package docx and checks it against the limits and every safety rule; keeps the
 * content of its XML entries. On failure why says what and where.
 * Returns 0, TD_EDOCX, TD_EUNSAFE or TD_ENOMEM. Close with td__docx_pkg_close (also on
 * failure). */
int td__docx_pkg_open(struct td__docx_pkg *p, const void *docx, size_t len,
                      const td_docx_limits *lim, char *why, size_t whysz);

/* Frees a package. */
void td__docx_pkg_close(struct td__docx_pkg *p);

/* Returns the entry called name (exactly), or NULL. */
struct td__docx_entry *td__docx_pkg_find(struct td__docx_pkg *p, const char *name);

/* Appends the package to out as a new zip: [Content_Types].xml first, then the template's
 * order; entries with new content are deflated, the others copied compressed, byte for byte.
 * Returns 0, TD_ETOOBIG (out->max), TD_ENOMEM or TD_EIO; out is unchanged on failure. */
int td__docx_pkg_write(struct td__docx_pkg *p, td_buf *out, char *why, size_t whysz);

/* ---- XML (docx_xml.c) ---- */

/* Parses an XML part without network, DTD or entity expansion: a DOCTYPE stops the parser.
 * *out is freed with xmlFreeDoc. Returns 0, TD_EUNSAFE (DOCTYPE or ENTITY), TD_EDOCX (not
 * well-formed XML; why names the line) or TD_ENOMEM. */
int td__docx_xml_parse(const char *data, size_t len, const char *part, xmlDoc **out, char *why,
                       size_t whysz);

/* Tells whether the bytes hold a DOCTYPE or ENTITY declaration (UTF-8 or UTF-16). */
bool td__docx_xml_has_dtd(const char *data, size_t len);

/* Tells whether n is the WordprocessingML element called local (transitional or strict). */
bool td__docx_is_w(const xmlNode *n, const char *local);

/* Tells whether ns is the namespace of WordprocessingML relationships ids (r:). */
bool td__docx_is_r_ns(const xmlNs *ns);

/* Returns the value of the attribute local in namespace href (NULL: no namespace), or NULL;
 * the pointer lives as long as the attribute. */
const char *td__docx_attr(const xmlNode *n, const char *href, const char *local);

/* Returns the w: attribute local (transitional or strict namespace), or NULL. */
const char *td__docx_wattr(const xmlNode *n, const char *local);

/* Replaces the text content of element n by s[0, len). Returns 0 or TD_ENOMEM. */
int td__docx_set_text(xmlNode *n, const char *s, size_t len);

/* Gives element n xml:space="preserve". Returns 0 or TD_ENOMEM. */
int td__docx_preserve_space(xmlNode *n);

/* Appends the text content of n (its text children) to out. */
int td__docx_get_text(const xmlNode *n, td_buf *out);

/* Template fragments attached to nodes for serialising a part as a Mustache template. */
struct td__docx_chunk {
    size_t off, len; /* in the pool */
    uint32_t next;   /* index + 1 of the next chunk, 0 at the end */
};

/* A list of chunks. */
struct td__docx_frag {
    uint32_t head, tail; /* index + 1, 0 when empty */
};

enum {
    TD__ANN_SKIP = 1,    /* the node is not written (its "before" fragment is) */
    TD__ANN_CONTENT = 2, /* element: its children are replaced by "content"; attribute: its value */
    TD__ANN_MARK = 4,    /* paragraph: gets tdx:s="1" (held section tags) */
    TD__ANN_HREF = 8     /* hyperlink: gets tdx:href="<content of href>" */
};

/* What to write around, instead of or inside one node. */
struct td__docx_ann {
    unsigned flags;
    struct td__docx_frag before, content, after, href;
};

/* The annotations of one document; node->_private holds the index + 1 of a node's. */
struct td__docx_anns {
    struct td__docx_ann *v;
    size_t n, cap;
    struct td__docx_chunk *c;
    size_t nc, capc;
    td_buf pool;
    bool marks; /* some node has TD__ANN_MARK or TD__ANN_HREF: declare our namespace */
};

/* Prepares empty annotations. */
void td__docx_anns_init(struct td__docx_anns *a);

/* Frees annotations. The nodes must not be serialised with them afterwards. */
void td__docx_anns_release(struct td__docx_anns *a);

/* Returns the annotation of a node or attribute (its _private slot), creating it; NULL when out
 * of memory. */
struct td__docx_ann *td__docx_ann(struct td__docx_anns *a, void **private_slot);

/* Appends s[0, len) to a fragment. Returns 0 or TD_ENOMEM/TD_ETOOBIG. */
int td__docx_frag_add(struct td__docx_anns *a, struct td__docx_frag *f, const char *s, size_t len);

/* Appends s[0, len) escaped for XML text (attr: for an attribute value) to a fragment. */
int td__docx_frag_esc(struct td__docx_anns *a, struct td__docx_frag *f, const char *s, size_t len,
                      bool attr);

/* Appends the XML escape of s[0, len) to out: text or attribute value (quotes, newlines and
 * tabs as character references); newline_ref also writes newlines in text as &#10;. */
int td__docx_xml_escape(td_buf *out, const char *s, size_t len, bool attr, bool newline_ref);

/* Serialises doc as XML into out. With anns (template mode) annotations are applied, comments
 * dropped and newlines written as references; without (final mode) everything of our namespace
 * is left out. The XML declaration is written first unless no_decl. */
int td__docx_xml_write(const xmlDoc *doc, const struct td__docx_anns *anns, bool no_decl,
                       td_buf *out);

/* Appends to out an extract of the text s[0, n) around offset at, for error messages: at most
 * about 60 bytes, cut at character boundaries, "..." where cut, control characters as spaces. */
void td__docx_excerpt(const char *s, size_t n, size_t at, char *out, size_t outsz);

/* Returns the length of the blank (space, tab, no-break and other Unicode spaces, zero-width
 * characters) starting at s[0, n), 0 if s does not start with one. */
size_t td__docx_blank_len(const char *s, size_t n);

/* Tells whether s[0, n) is only blanks. */
bool td__docx_all_blank(const char *s, size_t n);

/* Returns the length of the valid UTF-8 sequence at s[0, n) (n > 0, s[0] >= 0x80), 0 when it
 * is not one (overlong, surrogate, beyond U+10FFFF, cut short). *cp receives the code point. */
size_t td__docx_utf8_len(const unsigned char *s, size_t n, uint32_t *cp);

/* Appends s[0, n) to out as valid XML character data: invalid UTF-8 becomes U+FFFD, characters
 * XML forbids and our markers are dropped. */
int td__docx_sanitize(td_buf *out, const char *s, size_t n);

/* ---- paragraph text across runs (docx_text.c) ---- */

/* One w:t (or w:instrText) element and its current text. */
struct td__docx_item {
    xmlNode *node; /* NULL once removed */
    uint32_t group;
    size_t off, len; /* in the text pool */
    bool changed;
};

/* The items whose text is read as one: a paragraph (w:t) or a field code (w:instrText). */
struct td__docx_group {
    xmlNode *para;     /* the paragraph (of the field's first instruction) */
    uint32_t first, n; /* in order[] */
};

/* The text model of one part. */
struct td__docx_text {
    struct td__docx_item *items;
    size_t nitems, capitems;
    struct td__docx_group *groups;
    size_t ngroups, capgroups;
    uint32_t *order; /* item indices, grouped, in document order within each group */
    td_buf pool;
};

/* Collects the w:t elements of the document under root, grouped by paragraph (instr: the
 * w:instrText elements grouped by field). Returns 0, TD_ENOMEM or TD_ETOOBIG. */
int td__docx_text_collect(struct td__docx_text *t, xmlNode *root, bool instr);

/* Frees a text model. */
void td__docx_text_release(struct td__docx_text *t);

/* Replaces out by the joined text of group g. */
int td__docx_text_join(const struct td__docx_text *t, size_t g, td_buf *out);

/* Returns the text of item i. */
const char *td__docx_item_text(const struct td__docx_text *t, size_t i);

/* Replaces [s, e) of the joined text of group g (s < e) by r[0, rn), written into the item where
 * s falls (keeping that run's formatting) and removed from the others. */
int td__docx_text_splice(struct td__docx_text *t, size_t g, size_t s, size_t e, const char *r,
                         size_t rn);

/* td__docx_text_splice starting at item k of the group (an index into the group, not into
 * items), whose text starts at offset pos of the joined text: an item at or before the one
 * where s falls (0, 0 always works), so that many splices stay linear. */
int td__docx_text_splice_at(struct td__docx_text *t, size_t g, uint32_t k, size_t pos, size_t s,
                            size_t e, const char *r, size_t rn);

/* Writes changed items back into the document: their text, xml:space="preserve"; items left
 * empty are removed, with their run when nothing but its properties remains. */
int td__docx_text_commit(struct td__docx_text *t);

/* Finds the tag starting at or after from in s[0, n): *ts, *te (end, exclusive). Returns 1 when
 * found, 0 when there is none, -1 when a tag opens and never closes (*ts is where). */
int td__docx_next_tag(const char *s, size_t n, size_t from, size_t *ts, size_t *te);

/* Merges every tag of every group that spans several items into the item where it begins.
 * On an unclosed tag returns TD_ESYNTAX with why naming part and paragraph. */
int td__docx_text_merge_tags(struct td__docx_text *t, const char *part, bool instr, char *why,
                             size_t whysz);

/* ---- tags and sections (docx_tags.c) ---- */

enum td__docx_kind {
    TD__TAG_VAR,
    TD__TAG_SECTION,
    TD__TAG_INVERTED,
    TD__TAG_CLOSE,
    TD__TAG_COMMENT
};

/* A parsed tag: its kind and name (a slice of the source it was parsed from). */
struct td__docx_tagref {
    enum td__docx_kind kind;
    size_t name, name_len; /* offsets in the source */
};

/* Parses the tag s[0, n) ("{{...}}"): on error writes the problem (without context) into
 * why and returns TD_ESYNTAX. */
int td__docx_parse_tag(const char *s, size_t n, struct td__docx_tagref *tag, char *why,
                       size_t whysz);

/* Appends to a fragment the Mustache form (our delimiters) of a tag. */
int td__docx_frag_tag(struct td__docx_anns *a, struct td__docx_frag *f, enum td__docx_kind kind,
                      const char *name, size_t name_len);

/* The preparation of one part for rendering. */
struct td__docx_prep {
    const char *part;
    xmlDoc *doc;
    struct td__docx_text wt, it; /* w:t and w:instrText */
    struct td__docx_anns anns;
    bool has_tags; /* the part holds tags: it becomes a template */
    bool sections; /* it holds sections: rendering needs the final pass */
    bool changed;  /* the DOM changed (merged tags, rewritten links) */
};

/* Turns the tags of a part (whose text models are collected and merged) into annotations:
 * sections of whole paragraphs and table rows, inline tags, paragraph marks.
 * Returns 0, TD_ESYNTAX, TD_EDEPTH (why says where) or TD_ENOMEM. */
int td__docx_tags_prepare(struct td__docx_prep *p, char *why, size_t whysz);

/* Tells whether the paragraph p has content other than text (drawings, fields, breaks,
 * footnote references...) or section properties. */
bool td__docx_para_has_content(const xmlNode *p);

/* ---- relationships and hyperlinks (docx_links.c) ---- */

/* One relationship of a part's .rels. */
struct td__docx_rel {
    xmlNode *node;
    const char *id;
    bool hyperlink;        /* Type .../hyperlink */
    bool tags;             /* its target holds tags */
    size_t tmpl, tmpl_len; /* the target as a template (attribute-escaped), in rels.pool */
    size_t uses_href;      /* hyperlinks that render it per occurrence */
    bool top;              /* rendered once, at the top of the data */
    bool assigned;         /* its Target is set */
    char *target;          /* its rendered target (owned), when assigned */
};

/* The .rels of one part. */
struct td__docx_rels {
    const char *name;
    xmlDoc *doc;
    struct td__docx_rel *v;
    size_t n;
    struct td__docx_made {
        char *id, *target; /* owned */
    } * made;              /* relationships added for per-occurrence targets */
    size_t nmade, capmade;
    td_buf pool;
    uint32_t next_id;
    bool changed;
};

/* Loads and prepares the relationships in data (may be NULL: no .rels). Returns 0, TD_EDOCX,
 * TD_EUNSAFE, TD_ESYNTAX (a tag target is malformed; why says so) or TD_ENOMEM. */
int td__docx_rels_load(struct td__docx_rels *r, const char *name, const char *data, size_t len,
                       const char *part, char *why, size_t whysz);

/* Frees a rels model. */
void td__docx_rels_release(struct td__docx_rels *r);

/* Gives every plain http(s) hyperlink target of r to the link hook. */
int td__docx_rels_rewrite(struct td__docx_rels *r, const td_docx_opts *o, td_docx_stats *st);

/* Annotates the hyperlinks of the part whose relationship target holds tags, so that each
 * occurrence renders its own target (inside sections too). Sets p->has_tags when one does. */
int td__docx_links_prepare(struct td__docx_prep *p, struct td__docx_rels *r);

/* Gives the plain URLs of HYPERLINK field codes (w:instrText, w:fldSimple) to the link hook and
 * annotates the tags of w:fldSimple instructions. Returns 0, TD_ESYNTAX or TD_ENOMEM. */
int td__docx_fields_prepare(struct td__docx_prep *p, const td_docx_opts *o, td_docx_stats *st,
                            char *why, size_t whysz);

/* Finds the URL of a HYPERLINK field code s[0, n): returns true and its range, false when the
 * code is not a HYPERLINK to an address (an anchor, another field). */
bool td__docx_field_url(const char *s, size_t n, size_t *us, size_t *ue);

/* Gives a hyperlink of the rendered part the relationship of its rendered target: sets its
 * r:id. Returns 0 or TD_ENOMEM. */
int td__docx_rels_assign(struct td__docx_rels *r, xmlNode *hyperlink, const char *target);

/* Renders a hyperlink target template at the top of the data, escaped as in the document. */
typedef int (*td__docx_render_fn)(void *ud, const char *tmpl, size_t len, td_buf *out);

/* Renders, once, the tag targets that are not rendered per hyperlink occurrence (targets of
 * other references, or of no reference in the part). Returns 0 or a render error. */
int td__docx_rels_render_top(struct td__docx_rels *r, td__docx_render_fn fn, void *ud);

/* Removes the per-occurrence relationships no occurrence used, and writes r into out (the
 * caller owns it) when it changed; out is left empty otherwise. */
int td__docx_rels_finish(struct td__docx_rels *r, td_buf *out);

#endif
