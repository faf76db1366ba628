/* libFuzzer target for the .docx writer: td_docx_check, td_docx_render (fixed JSON data, value
 * and link hooks, small limits) and td_docx_convert over the input. An input that starts with
 * '<' is a word/document.xml, wrapped into a minimal package with hyperlink relationships, so
 * that the fuzzer spends its time on tags, sections and links rather than on zip headers. */
#include "core/common.h"

#include <zip.h>

#include "trackdoc/docx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const data_json =
    "{\"name\": \"Ada <Lovelace> & 'co'\", \"first\": \"Ada\", \"empty\": \"\", \"yes\": true,"
    " \"no\": false, \"nil\": null, \"n\": 42, \"multi\": \"line one\\nline two\\ttab\\r\\n3\","
    " \"url\": \"https://example.com/a?b=c&d=e\", \"linkedin_url\": \"https://linkedin.com/in/a\","
    " \"bad\": \"\\u0001\\u0002\\ufffe\\ufdd0x\","
    " \"jobs\": [{\"name\": \"A\", \"url\": \"https://a.example\", \"tags\": [\"x\", \"y\"]},"
    "  {\"name\": \"B\", \"url\": \"https://b.example\"}, {\"name\": \"C\", \"jobs\": []}],"
    " \"a\": [1, 2, 3], \"x\": {\"y\": {\"z\": \"deep\"}}}";

static const char *const content_types =
    "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/"
    "content-types\"><Default Extension=\"rels\" ContentType=\"application/"
    "vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" "
    "ContentType=\"application/xml\"/></Types>";
static const char *const root_rels =
    "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/"
    "relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/"
    "officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/>"
    "</Relationships>";
static const char *const doc_rels =
    "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/"
    "relationships\">"
    "<Relationship Id=\"rIdL\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/hyperlink\" Target=\"%7B%7Burl%7D%7D\" TargetMode=\"External\"/>"
    "<Relationship Id=\"rIdT\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/hyperlink\" Target=\"{{linkedin_url}}/{{name}}\" TargetMode=\"External\"/>"
    "<Relationship Id=\"rIdP\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/hyperlink\" Target=\"https://plain.example/x\" TargetMode=\"External\"/>"
    "</Relationships>";

static const td_docx_limits limits = {.max_input = 1 << 20,
                                      .max_entries = 64,
                                      .max_entry_size = 1 << 20,
                                      .max_total = 4 << 20,
                                      .max_ratio = 200};

static const td_docx_mapping_row rows[] = {
    {"Ada", TD_MAP_VARIABLE, "first"},
    {"{{", TD_MAP_STATIC, "<&>"},
    {"a", TD_MAP_DISCARD, NULL},
    {"https://plain.example/x", TD_MAP_VARIABLE, "url"},
};

/* Replaces URLs, fails on names starting with 'n', keeps the rest. */
static int value_hook(void *ud, const char *name, const char *value, size_t len, td_buf *out)
{
    (void)ud;
    if (name[0] == 'n')
        return TD_EIO;
    if (len >= 4 && memcmp(value, "http", 4) == 0)
        return td_buf_adds(out, "https://t.example/v?\"<&>\"\n") ? -1 : 1;
    return 0;
}

/* Rewrites every other link, fails on the rest. */
static int link_hook(void *ud, const char *url, td_buf *out)
{
    static int calls;

    (void)ud;
    (void)url;
    if (++calls % 2)
        return TD_EIO;
    return td_buf_adds(out, "https://t.example/l?\"q\"\x01") ? -1 : 1;
}

/* Wraps a document.xml into a package (in memory). Returns 0 or -1. */
static int wrap(const uint8_t *doc, size_t size, td_buf *out)
{
    static const char *const names[] = {"[Content_Types].xml", "_rels/.rels",
                                        "word/_rels/document.xml.rels", "word/document.xml"};
    const void *bodies[] = {content_types, root_rels, doc_rels, doc};
    size_t lens[] = {strlen(content_types), strlen(root_rels), strlen(doc_rels), size};
    zip_source_t *src, *s;
    zip_error_t ze;
    zip_stat_t st;
    zip_t *za;
    int rc = -1;

    zip_error_init(&ze);
    src = zip_source_buffer_create(NULL, 0, 0, &ze);
    za = src ? zip_open_from_source(src, ZIP_TRUNCATE | ZIP_CREATE, &ze) : NULL;
    if (!za) {
        zip_source_free(src);
        goto out;
    }
    zip_source_keep(src);
    for (size_t i = 0; i < 4; i++) {
        s = zip_source_buffer(za, bodies[i], lens[i], 0);
        if (!s || zip_file_add(za, names[i], s, 0) < 0) {
            zip_source_free(s);
            zip_discard(za);
            zip_source_free(src);
            goto out;
        }
    }
    if (zip_close(za) != 0) {
        zip_discard(za);
        zip_source_free(src);
        goto out;
    }
    zip_stat_init(&st);
    if (zip_source_stat(src, &st) == 0 && zip_source_open(src) == 0) {
        if (td_buf_reserve(out, (size_t)st.size) == 0 &&
            zip_source_read(src, out->data, st.size) == (zip_int64_t)st.size) {
            out->len = (size_t)st.size;
            rc = 0;
        }
        zip_source_close(src);
    }
    zip_source_free(src);
out:
    zip_error_fini(&ze);
    return rc;
}

/* Checks, renders and converts one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *json;
    td_docx_opts o = {.limits = &limits,
                      .value_hook = value_hook,
                      .link_hook = link_hook,
                      .title = "T\x01<>",
                      .creator = "C",
                      .now_ms = 1700000000000};
    td_buf pkg, out;
    td_docx_stats st;
    td_tmpl_error err;
    size_t found[TD_ARRAY_SIZE(rows)];
    char why[256];
    const void *in = data;
    size_t len = size;

    if (!json)
        json = json_loads(data_json, 0, NULL);
    td_buf_init(&pkg, (size_t)8 << 20);
    td_buf_init(&out, (size_t)16 << 20);
    if (size > 0 && data[0] == '<') {
        if (wrap(data, size, &pkg) != 0)
            goto out;
        in = pkg.data;
        len = pkg.len;
    }
    td_docx_check(in, len, &limits, why, sizeof why);
    if (td_docx_render(in, len, json, &o, &out, &st, &err) == 0 && out.len) {
        /* What we write must pass our own check. */
        if (td_docx_check(out.data, out.len, NULL, why, sizeof why) != 0)
            abort();
    }
    td_docx_stats_release(&st);
    o.strict = true;
    td_buf_reset(&out);
    td_docx_render(in, len, json, &o, &out, &st, &err);
    td_docx_stats_release(&st);
    td_buf_reset(&out);
    td_docx_convert(in, len, rows, TD_ARRAY_SIZE(rows), &limits, &out, found);
out:
    td_buf_release(&pkg);
    td_buf_release(&out);
    return 0;
}
