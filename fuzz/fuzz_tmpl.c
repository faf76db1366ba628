/* libFuzzer target for the Mustache engine: compiles the input as a template and renders it
 * twice against fixed JSON data (lenient HTML with a value hook, then strict with a custom
 * escaper), with small limits. The partial "self" is the input itself, for recursion. */
#include "core/common.h"

#include "trackdoc/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const data_json =
    "{\"name\": \"Ada <Lovelace> & 'co' \\\"x\\\"\", \"empty\": \"\", \"zero\": 0,"
    " \"pi\": 3.14159, \"big\": 1e300, \"neg\": -42, \"yes\": true, \"no\": false, \"nil\": null,"
    " \"url\": \"https://example.com/a?b=c&d=e\", \"multi\": \"line one\\nline two\","
    " \"person\": {\"name\": \"Bob\", \"links\": {\"url\": \"http://x.y\"}},"
    " \"jobs\": [{\"title\": \"A\", \"year\": 2001}, {\"title\": \"B\", \"tags\": [\"x\", \"y\"]},"
    "           {\"title\": \"C\", \"sub\": {\"jobs\": []}}],"
    " \"list\": [1, 2, 3], \"nested\": [[1, [2]], {\"a\": {\"b\": {\"c\": \"deep\"}}}],"
    " \"dyn\": \"p1\", \"dyn2\": \"parent\", \"selfname\": \"self\", \"bad\": \"../etc/passwd\"}";

/* Partials the loader knows besides "self". */
static const char *const partials[][2] = {
    {"p1", "<{{name}}>\n  {{#jobs}}\n  - {{title}}\n  {{/jobs}}\n"},
    {"parent", "head\n  {{$body}}\n  default {{name}}\n  {{/body}}\n{{$tail}}t{{/tail}}\n"},
    {"deep", "{{#nested}}{{>deep}}{{/nested}}{{a.b.c}}"},
    {"broken", "{{#open}} never closed"},
};

static const char *self_src;
static size_t self_len;

/* Serves the fixed partials and "self" (the input being fuzzed). */
static int loader(void *ud, const char *name, td_buf *out)
{
    size_t i;

    (void)ud;
    if (strcmp(name, "self") == 0)
        return td_buf_add(out, self_src, self_len);
    for (i = 0; i < TD_ARRAY_SIZE(partials); i++) {
        if (strcmp(name, partials[i][0]) == 0)
            return td_buf_adds(out, partials[i][1]);
    }
    return TD_ENOTFOUND;
}

/* Replaces URLs, fails on names starting with 'n', keeps the rest. */
static int hook(void *ud, const char *name, const char *value, size_t len, td_buf *out)
{
    (void)ud;
    if (name[0] == 'n')
        return TD_EIO;
    if (len >= 4 && memcmp(value, "http", 4) == 0)
        return td_buf_adds(out, "https://t.example/abc") ? -1 : 1;
    return 0;
}

/* Turns newlines into line breaks, escaping the rest as XML would. */
static int escape_br(void *ud, const char *s, size_t len, td_buf *out)
{
    size_t i;
    int rc = 0;

    (void)ud;
    for (i = 0; i < len && !rc; i++)
        rc = s[i] == '\n'  ? td_buf_adds(out, "<br/>")
             : s[i] == '<' ? td_buf_adds(out, "&lt;")
                           : td_buf_addc(out, s[i]);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *json;
    td_tmpl_opts opts = {.partial = loader,
                         .max_size = 64 << 10,
                         .max_depth = 16,
                         .max_partial_depth = 6,
                         .max_partials = 16};
    td_tmpl_render_opts r1 = {.value_hook = hook, .max_output = 256 << 10, .max_steps = 100000};
    td_tmpl_render_opts r2 = {.escape = TD_TMPL_ESCAPE_CUSTOM,
                              .escape_fn = escape_br,
                              .strict = true,
                              .max_output = 64 << 10,
                              .max_steps = 100000};
    td_tmpl_error err;
    td_tmpl_stats st;
    td_tmpl *t = NULL;
    td_buf out;

    if (!json)
        json = json_loads(data_json, 0, NULL);
    self_src = (const char *)data;
    self_len = size;
    td_buf_init(&out, 1 << 20);
    if (td_tmpl_compile((const char *)data, size, &opts, &t, &err) == 0) {
        td_tmpl_render(t, json, &r1, &out, &st, &err);
        td_tmpl_stats_release(&st);
        td_buf_reset(&out);
        td_tmpl_render(t, json, &r2, &out, &st, &err);
        td_tmpl_stats_release(&st);
    }
    /* Messages must always be terminated and positions sane. */
    if (strnlen(err.message, sizeof err.message) == sizeof err.message || err.line < 0 ||
        err.col < 0)
        abort();
    td_tmpl_free(t);
    td_buf_release(&out);
    return 0;
}
