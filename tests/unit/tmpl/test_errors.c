/* Behaviour of the template engine beyond the Mustache spec: error positions and messages,
 * limits, strict mode, the value hook, escaping modes, thread safety and the folder loader. */
#include "core/common.h"

#include <pthread.h>
#include <sys/stat.h>

#include "test.h"
#include "trackdoc/tmpl.h"

/* Compiles src with opts and returns the code; *err receives the error. */
static int compile_rc(const char *src, const td_tmpl_opts *opts, td_tmpl_error *err)
{
    td_tmpl *t = NULL;
    int rc = td_tmpl_compile(src, strlen(src), opts, &t, err);

    td_tmpl_free(t);
    return rc;
}

/* Checks that src fails to compile with rc at line:col, with a message containing want. */
static void expect_error(const char *what, const char *src, int want_rc, int line, int col,
                         const char *want)
{
    td_tmpl_error err;
    int rc = compile_rc(src, NULL, &err);

    CHECK_INT(rc, want_rc, "%s: error code", what);
    CHECK(err.line == line && err.col == col, "%s: at line %d, column %d (got %d:%d)", what, line,
          col, err.line, err.col);
    CHECK(strstr(err.message, want) != NULL, "%s: message \"%s\" contains \"%s\"", what,
          err.message, want);
}

/* Partials for the render tests, from a NULL-terminated list of name/source pairs. */
static int pairs_loader(void *ud, const char *name, td_buf *out)
{
    const char *const *p = ud;

    for (; p[0]; p += 2) {
        if (strcmp(p[0], name) == 0)
            return td_buf_adds(out, p[1]);
    }
    return TD_ENOTFOUND;
}

/* Compiles src (with the given partials), renders it against the JSON text data with ropts,
 * and returns the render code; the output goes to out. */
static int render_rc(const char *src, const char *const *partials, const char *data,
                     const td_tmpl_render_opts *ropts, td_buf *out, td_tmpl_stats *st,
                     td_tmpl_error *err)
{
    td_tmpl_opts opts = {.partial = partials ? pairs_loader : NULL, .partial_ud = (void *)partials};
    json_t *json = json_loads(data, JSON_DECODE_ANY, NULL);
    td_tmpl *t = NULL;
    int rc = td_tmpl_compile(src, strlen(src), &opts, &t, err);

    if (rc == 0)
        rc = td_tmpl_render(t, json, ropts, out, st, err);
    td_tmpl_free(t);
    json_decref(json);
    return rc;
}

/* Renders src against data with ropts and returns the output (static storage), or an error
 * marker. */
static const char *render(const char *src, const char *data, const td_tmpl_render_opts *ropts)
{
    static char result[1024];
    td_tmpl_error err;
    td_buf out;
    int rc;

    td_buf_init(&out, 0);
    rc = render_rc(src, NULL, data, ropts, &out, NULL, &err);
    if (rc)
        snprintf(result, sizeof result, "error %s: %s", td_errcode(rc), err.message);
    else
        snprintf(result, sizeof result, "%s", td_buf_str(&out));
    td_buf_release(&out);
    return result;
}

static void test_syntax_errors(void)
{
    expect_error("unclosed tag", "line one\n  {{name", TD_ESYNTAX, 2, 3, "unclosed tag");
    expect_error("unclosed triple mustache", "{{{name}}", TD_ESYNTAX, 1, 1, "\"}}}\"");
    expect_error("section closed by another name", "{{#a}}\n x {{/b}}", TD_ESYNTAX, 2, 4,
                 "closing tag \"b\" does not match section \"a\" opened at line 1, column 1");
    expect_error("unclosed section", "x\n\n    {{#jobs}}\n{{name}}\n", TD_ESYNTAX, 3, 5,
                 "unclosed section \"jobs\" opened at line 3, column 5");
    expect_error("unclosed inverted section", "{{^a}}", TD_ESYNTAX, 1, 1,
                 "unclosed inverted section \"a\"");
    expect_error("closing tag without opening", "ab {{/x}}", TD_ESYNTAX, 1, 4,
                 "closing tag \"x\" without an open section");
    expect_error("set delimiter with one delimiter", "a\n{{=<%%>=}}", TD_ESYNTAX, 2, 1,
                 "bad set-delimiter tag");
    expect_error("set delimiter with three parts", "{{=< % >=}}", TD_ESYNTAX, 1, 1,
                 "bad set-delimiter tag");
    expect_error("set delimiter containing '='", "{{=a= b=}}", TD_ESYNTAX, 1, 1,
                 "bad set-delimiter tag");
    expect_error("set delimiter without its closing '='", "{{=<% %>}}", TD_ESYNTAX, 1, 1,
                 "bad set-delimiter tag \"{{=<% %>}}\": no closing \"=}}\"");
    expect_error("set delimiter never closed", "{{=<% %>", TD_ESYNTAX, 1, 1, "unclosed tag");
    expect_error("empty tag name", "ab\ncd {{ }}", TD_ESYNTAX, 2, 4, "empty tag name");
    expect_error("empty section name", "{{#}}", TD_ESYNTAX, 1, 1, "empty tag name");
    expect_error("empty partial name", "{{>  }}", TD_ESYNTAX, 1, 1, "empty tag name");
    expect_error("whitespace in name", "{{first name}}", TD_ESYNTAX, 1, 1, "whitespace");
    expect_error("bad dotted name", "{{a..b}}", TD_ESYNTAX, 1, 1, "bad dotted name \"a..b\"");
    /* Columns count characters, not bytes. */
    expect_error("column counts UTF-8 characters", "été {{/x}}", TD_ESYNTAX, 1, 5,
                 "without an open section");
    expect_error("errors after a delimiter change", "{{=<% %>=}}\n<%#a%>\n<%/b%>", TD_ESYNTAX, 3, 1,
                 "does not match section \"a\"");
}

static void test_limits(void)
{
    td_tmpl_opts small = {.max_size = 10, .max_depth = 3};
    td_tmpl_error err;
    td_buf out;
    char deep[2048] = "";
    int i, rc;

    CHECK_INT(compile_rc("0123456789", &small, &err), 0, "template of exactly max_size compiles");
    CHECK_INT(compile_rc("0123456789a", &small, &err), TD_ETOOBIG, "template over max_size");
    CHECK(strstr(err.message, "11 bytes") != NULL, "size error says the size: %s", err.message);

    small.max_size = 0;
    CHECK_INT(compile_rc("{{#a}}{{#b}}{{#c}}{{/c}}{{/b}}{{/a}}", &small, &err), 0,
              "nesting at max_depth compiles");
    CHECK_INT(compile_rc("{{#a}}{{#b}}{{^c}}\n  {{$d}}{{/d}}{{/c}}{{/b}}{{/a}}", &small, &err),
              TD_EDEPTH, "nesting past max_depth");
    CHECK(err.line == 2 && err.col == 3, "depth error points at the 4th level (%d:%d)", err.line,
          err.col);
    for (i = 0; i < 101; i++)
        snprintf(deep + strlen(deep), sizeof deep - strlen(deep), "{{#a}}");
    for (i = 0; i < 101; i++)
        snprintf(deep + strlen(deep), sizeof deep - strlen(deep), "{{/a}}");
    CHECK_INT(compile_rc(deep, NULL, &err), TD_EDEPTH, "default depth limit is 100");

    /* Partial recursion. */
    {
        static const char *const self[] = {"self", "x{{>self}}", NULL};
        td_tmpl_opts opts = {
            .partial = pairs_loader, .partial_ud = (void *)self, .max_partial_depth = 5};
        td_tmpl *t = NULL;

        td_buf_init(&out, 0);
        rc = td_tmpl_compile("{{>self}}", 9, &opts, &t, &err);
        if (rc == 0)
            rc = td_tmpl_render(t, NULL, NULL, &out, NULL, &err);
        CHECK_INT(rc, TD_EDEPTH, "partial recursion stops at max_partial_depth");
        CHECK(strstr(err.message, "partial \"self\" nested deeper than 5") != NULL,
              "recursion message: %s", err.message);
        CHECK(err.line == 1 && err.col == 2, "recursion error points at the tag (%d:%d)", err.line,
              err.col);
        td_tmpl_free(t);
        td_buf_release(&out);
    }

    /* Output size: the render fails and out is left as it was. */
    {
        td_tmpl_render_opts ro = {.max_output = 10};

        td_buf_init(&out, 0);
        td_buf_adds(&out, "keep");
        rc = render_rc("{{#l}}0123456789{{/l}}", NULL, "{\"l\": [1, 2]}", &ro, &out, NULL, &err);
        CHECK_INT(rc, TD_ETOOBIG, "output over max_output");
        CHECK_STR(td_buf_str(&out), "keep", "failed render leaves out as it was");
        CHECK(strstr(err.message, "output larger than 10 bytes") != NULL, "output message: %s",
              err.message);
        rc = render_rc("{{#l}}01234{{/l}}", NULL, "{\"l\": [1, 2]}", &ro, &out, NULL, &err);
        CHECK_INT(rc, 0, "output of exactly max_output");
        CHECK_STR(td_buf_str(&out), "keep0123401234", "output appended after existing content");
        td_buf_release(&out);

        td_buf_init(&out, 8);
        rc = render_rc("0123456789", NULL, "{}", NULL, &out, NULL, &err);
        CHECK_INT(rc, TD_ETOOBIG, "out->max applies too");
        td_buf_release(&out);
    }

    /* Work limit: loops that write nothing still end. */
    {
        td_tmpl_render_opts ro = {.max_steps = 1000};

        CHECK(strstr(render("{{#l}}{{#l}}{{#l}}{{#l}}{{/l}}{{/l}}{{/l}}{{/l}}",
                            "{\"l\": [1,2,3,4,5,6,7,8,9,10]}", &ro),
                     "more than 1000 steps") != NULL,
              "max_steps bounds silent loops");
    }
}

static void test_partial_errors(void)
{
    static const char *const parts[] = {"bad", "ok\n{{#x}}\n", "good", "[{{v}}]", NULL};
    td_tmpl_render_opts strict = {.strict = true};
    td_tmpl_error err;
    td_buf out;
    int rc;

    td_buf_init(&out, 0);
    rc = render_rc("a {{>nope}} b", parts, "{}", NULL, &out, NULL, &err);
    CHECK(rc == 0 && strcmp(td_buf_str(&out), "a  b") == 0, "unknown partial renders empty");
    td_buf_reset(&out);
    rc = render_rc("a\n  {{>nope}}\n", parts, "{}", &strict, &out, NULL, &err);
    CHECK_INT(rc, TD_ENOTFOUND, "strict: unknown partial is an error");
    CHECK(err.line == 2 && err.col == 3, "unknown partial at its tag (%d:%d)", err.line, err.col);
    CHECK_STR(err.message, "unknown partial \"nope\"", "unknown partial message");
    rc = render_rc("{{>good}}{{>*which}}", parts, "{\"which\": \"nada\"}", &strict, &out, NULL,
                   &err);
    CHECK_INT(rc, TD_ENOTFOUND, "strict: unknown dynamic partial is an error");
    CHECK(err.line == 1 && err.col == 10, "unknown dynamic partial at its tag (%d:%d)", err.line,
          err.col);
    rc = render_rc("x\n{{>bad}}", parts, "{}", NULL, &out, NULL, &err);
    CHECK_INT(rc, TD_ESYNTAX, "a partial that does not compile fails the render");
    CHECK(err.line == 2 && err.col == 1, "position is inside the partial (%d:%d)", err.line,
          err.col);
    CHECK(strncmp(err.message, "in partial \"bad\": unclosed section \"x\"", 37) == 0,
          "message names the partial: %s", err.message);
    rc = render_rc("{{>good}}", parts, "{}", &strict, &out, NULL, &err);
    CHECK_INT(rc, TD_EMISSING, "strict: missing variable inside a partial");
    CHECK(strstr(err.message, "(the first in partial \"good\")") != NULL,
          "missing message names the partial: %s", err.message);
    CHECK(err.line == 1 && err.col == 2, "position inside the partial (%d:%d)", err.line, err.col);
    td_buf_release(&out);
}

static void test_strict(void)
{
    td_tmpl_render_opts strict = {.strict = true};
    td_tmpl_stats st;
    td_tmpl_error err;
    td_buf out;
    char src[4096] = "";
    int rc, i;

    td_buf_init(&out, 0);
    rc = render_rc("Hi {{name}},\n{{a}} {{b.c}} {{a}} {{#sec}}x{{/sec}}{{^sec}}y{{/sec}} "
                   "{{{d}}} {{nil}} {{person.name}}",
                   NULL, "{\"name\": \"Ann\", \"nil\": null, \"b\": {}, \"person\": {\"name\": 1}}",
                   &strict, &out, &st, &err);
    CHECK_INT(rc, TD_EMISSING, "strict: missing variables are an error");
    CHECK_STR(err.message, "missing variables \"a\", \"b.c\", \"d\"", "message lists every one");
    CHECK(err.line == 2 && err.col == 1, "error at the first missing (%d:%d)", err.line, err.col);
    CHECK_INT(st.missing_len, 3, "stats list 3 missing names");
    CHECK(st.missing_len == 3 && strcmp(st.missing[0], "a") == 0 &&
              strcmp(st.missing[1], "b.c") == 0 && strcmp(st.missing[2], "d") == 0,
          "missing names in order of first appearance");
    CHECK_INT(st.variables_substituted, 3, "found: name, nil (null counts), person.name");
    CHECK_INT(out.len, 0, "strict failure leaves no output");
    td_tmpl_stats_release(&st);

    rc = render_rc("{{a}} {{b}}", NULL, "{}", NULL, &out, &st, &err);
    CHECK(rc == 0 && strcmp(td_buf_str(&out), " ") == 0, "lenient: missing renders empty");
    CHECK_INT(st.missing_len, 2, "lenient: missing still reported in stats");
    td_tmpl_stats_release(&st);

    rc = render_rc("{{x}}", NULL, "{}", &strict, &out, &st, &err);
    CHECK_STR(err.message, "missing variable \"x\"", "singular message for one name");
    td_tmpl_stats_release(&st);

    for (i = 0; i < 70; i++)
        snprintf(src + strlen(src), sizeof src - strlen(src), "{{v%d}}", i);
    rc = render_rc(src, NULL, "{}", &strict, &out, &st, &err);
    CHECK_INT(rc, TD_EMISSING, "strict with many missing");
    CHECK(st.missing_len == TD_TMPL_MAX_MISSING && st.missing_truncated,
          "missing list is bounded and says so");
    CHECK(strlen(err.message) < sizeof err.message - 1 &&
              strstr(err.message, "variables \"v0\", \"v1\", ") != NULL &&
              strstr(err.message, ", ...") != NULL,
          "long list is cut in the message: %s", err.message);
    td_tmpl_stats_release(&st);
    td_tmpl_stats_release(NULL);
    td_buf_release(&out);
}

/* Counts hook calls; replaces URLs, fails on "broken", keeps the rest. */
struct hook_log {
    int calls;
    char names[256];
};

static int test_hook(void *ud, const char *name, const char *value, size_t len, td_buf *out)
{
    struct hook_log *log = ud;

    log->calls++;
    snprintf(log->names + strlen(log->names), sizeof log->names - strlen(log->names), "%s;", name);
    if (strcmp(name, "broken") == 0)
        return TD_EIO;
    if (len > 8 && memcmp(value, "https://", 8) == 0)
        return td_buf_printf(out, "https://t.example/r/%zu?x=<&>", len) ? -1 : 1;
    return 0;
}

static void test_value_hook(void)
{
    struct hook_log log = {0};
    td_tmpl_render_opts ro = {.value_hook = test_hook, .hook_ud = &log};
    td_tmpl_stats st;
    td_tmpl_error err;
    td_buf out;
    int rc;

    td_buf_init(&out, 0);
    rc = render_rc("{{calendly_url}}|{{{personal.linkedin_url}}}|{{broken}}|{{n}}|{{missing}}|"
                   "{{nil}}|{{#personal}}{{linkedin_url}}{{/personal}}",
                   NULL,
                   "{\"calendly_url\": \"https://cal.com/ann\", \"personal\": {\"linkedin_url\": "
                   "\"https://linkedin.com/in/ann\"}, \"broken\": \"https://b<\", \"n\": 7,"
                   " \"nil\": null}",
                   &ro, &out, &st, &err);
    CHECK_INT(rc, 0, "render with a value hook");
    CHECK_STR(td_buf_str(&out),
              "https://t.example/r/19?x=&lt;&amp;&gt;|https://t.example/r/27?x=<&>|"
              "https://b&lt;|7|||https://t.example/r/27?x=&lt;&amp;&gt;",
              "hook replaces (escaped unless raw), keeps on failure, keeps on 0");
    CHECK_STR(log.names, "calendly_url;personal.linkedin_url;broken;n;linkedin_url;",
              "hook sees names as written, scalars only");
    CHECK_INT(st.hook_replacements, 3, "hook_replacements");
    CHECK_INT(st.hook_failures, 1, "hook_failures");
    CHECK_INT(st.variables_substituted, 6, "variables_substituted");
    td_tmpl_stats_release(&st);
    td_buf_release(&out);
}

/* Custom escaper for a .docx run: newlines become line breaks, markup is escaped. */
static int docx_escape(void *ud, const char *s, size_t len, td_buf *out)
{
    size_t i;
    int rc = 0;

    (void)ud;
    for (i = 0; i < len && !rc; i++) {
        if (s[i] == '\n')
            rc = td_buf_adds(out, "<w:br/>");
        else if (s[i] == '&')
            rc = td_buf_adds(out, "&amp;");
        else if (s[i] == '<')
            rc = td_buf_adds(out, "&lt;");
        else if (s[i] == '>')
            rc = td_buf_adds(out, "&gt;");
        else
            rc = td_buf_addc(out, s[i]);
    }
    return rc;
}

static void test_escaping(void)
{
    const char *data = "{\"v\": \"a&b <c> \\\"d\\\" 'e'\\nf\", \"pi\": 1.210, \"n\": 85,"
                       " \"big\": 12345678901234, \"t\": true, \"f\": false, \"o\": {\"k\": 1}}";
    td_tmpl_render_opts html = {.escape = TD_TMPL_ESCAPE_HTML};
    td_tmpl_render_opts xml = {.escape = TD_TMPL_ESCAPE_XML};
    td_tmpl_render_opts none = {.escape = TD_TMPL_ESCAPE_NONE};
    td_tmpl_render_opts custom = {.escape = TD_TMPL_ESCAPE_CUSTOM, .escape_fn = docx_escape};
    td_tmpl_render_opts bad = {.escape = TD_TMPL_ESCAPE_CUSTOM};

    CHECK_STR(render("{{v}}", data, &html), "a&amp;b &lt;c&gt; &quot;d&quot; &#39;e&#39;\nf",
              "HTML escaping");
    CHECK_STR(render("{{v}}", data, NULL), "a&amp;b &lt;c&gt; &quot;d&quot; &#39;e&#39;\nf",
              "HTML is the default");
    CHECK_STR(render("{{v}}", data, &xml), "a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos;\nf",
              "XML escaping");
    CHECK_STR(render("{{v}}", data, &none), "a&b <c> \"d\" 'e'\nf", "no escaping");
    CHECK_STR(render("{{v}}", data, &custom), "a&amp;b &lt;c&gt; \"d\" 'e'<w:br/>f",
              "custom escaping");
    CHECK_STR(render("{{{v}}}{{&v}}", data, &custom), "a&b <c> \"d\" 'e'\nfa&b <c> \"d\" 'e'\nf",
              "raw tags are never escaped");
    CHECK(strncmp(render("{{v}}", data, &bad), "error invalid_argument", 22) == 0,
          "custom escaping without a callback is refused");
    CHECK_STR(render("{{pi}} {{n}} {{big}} {{t}} {{f}} [{{o}}]", data, NULL),
              "1.21 85 12345678901234 true false []", "numbers, booleans and objects");
}

/* Loader that counts its calls, for the thread test. */
struct counted {
    pthread_mutex_t lock;
    int calls;
};

static int counting_loader(void *ud, const char *name, td_buf *out)
{
    struct counted *c = ud;
    int rc = TD_ENOTFOUND;

    pthread_mutex_lock(&c->lock);
    c->calls++;
    pthread_mutex_unlock(&c->lock);
    if (strcmp(name, "job") == 0)
        rc = td_buf_adds(out, "  <li>{{title}} at {{company}}</li>\n");
    else if (strcmp(name, "layout") == 0)
        rc = td_buf_adds(out, "<html>\n  {{$body}}{{/body}}\n</html>\n");
    return rc;
}

struct worker {
    const td_tmpl *t;
    const json_t *data;
    char *first;
    int mismatches;
    int failures;
};

/* Renders the shared template many times and compares every output with the first. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    td_tmpl_render_opts ro = {.escape = TD_TMPL_ESCAPE_XML};
    td_buf out;
    int i;

    td_buf_init(&out, 0);
    for (i = 0; i < 300; i++) {
        td_buf_reset(&out);
        if (td_tmpl_render(w->t, w->data, &ro, &out, NULL, NULL) != 0) {
            w->failures++;
            continue;
        }
        if (!w->first)
            w->first = strdup(td_buf_str(&out));
        else if (strcmp(w->first, td_buf_str(&out)) != 0)
            w->mismatches++;
    }
    td_buf_release(&out);
    return NULL;
}

static void test_threads(void)
{
    static const char src[] = "{{<layout}}{{$body}}\n<ul>\n{{#jobs}}\n{{>job}}\n{{/jobs}}\n"
                              "{{>*extra}}{{>nothing}}</ul>{{/body}}{{/layout}}";
    struct counted counter = {PTHREAD_MUTEX_INITIALIZER, 0};
    td_tmpl_opts opts = {.partial = counting_loader, .partial_ud = &counter};
    json_t *data = json_pack("{s:[{s:s,s:s},{s:s,s:s}],s:s}", "jobs", "title", "Dev", "company",
                             "A&B", "title", "Lead", "company", "C<D>", "extra", "job");
    struct worker w[4];
    pthread_t th[4];
    td_tmpl *t = NULL;
    td_buf one;
    int i, rc;

    rc = td_tmpl_compile(src, strlen(src), &opts, &t, NULL);
    CHECK_INT(rc, 0, "threads: compile");
    for (i = 0; i < 4; i++) {
        w[i] = (struct worker){.t = t, .data = data};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    td_buf_init(&one, 0);
    td_tmpl_render(t, data, &(td_tmpl_render_opts){.escape = TD_TMPL_ESCAPE_XML}, &one, NULL, NULL);
    CHECK_STR(td_buf_str(&one),
              "<html>\n  <ul>\n    <li>Dev at A&amp;B</li>\n    <li>Lead at C&lt;D&gt;</li>\n"
              "    <li> at </li>\n  </ul>\n</html>\n",
              "threads: expected output");
    for (i = 0; i < 4; i++) {
        CHECK(w[i].failures == 0 && w[i].mismatches == 0 && w[i].first &&
                  strcmp(w[i].first, td_buf_str(&one)) == 0,
              "threads: worker %d rendered 300 identical outputs", i);
        free(w[i].first);
    }
    CHECK_INT(counter.calls, 3, "threads: each partial loaded once (job, layout, nothing)");
    td_buf_release(&one);
    td_tmpl_free(t);
    json_decref(data);
}

/* Writes a file under dir. */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_dir_loader(void)
{
    const char *dir = td_test_tmpdir();
    char sub[512], big[3000];
    td_tmpl_dir *d = NULL;
    td_tmpl *t = NULL;
    td_tmpl_opts opts = {.partial = td_tmpl_dir_loader};
    json_t *v = json_pack("{s:s}", "v", "1"), *p = json_pack("{s:s}", "p", "../x");
    td_buf out;
    int rc;

    write_file(dir, "x.mustache", "X={{v}}");
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    write_file(dir, "big.mustache", big);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0700);
    write_file(sub, "y.mustache", "Y");
    CHECK_INT(td_tmpl_dir_new(dir, 2048, &d), 0, "dir: new");
    opts.partial_ud = d;
    td_buf_init(&out, 0);
    CHECK_INT(td_tmpl_dir_loader(d, "x", &out), 0, "dir: loads x.mustache");
    CHECK_STR(td_buf_str(&out), "X={{v}}", "dir: content");
    td_buf_reset(&out);
    CHECK_INT(td_tmpl_dir_loader(d, "../x", &out), TD_EINVAL, "dir: '../x' rejected");
    CHECK_INT(td_tmpl_dir_loader(d, "..", &out), TD_EINVAL, "dir: '..' rejected");
    CHECK_INT(td_tmpl_dir_loader(d, "sub/y", &out), TD_EINVAL, "dir: '/' rejected");
    CHECK_INT(td_tmpl_dir_loader(d, "", &out), TD_EINVAL, "dir: empty name rejected");
    CHECK_INT(td_tmpl_dir_loader(d, "a\nb", &out), TD_EINVAL, "dir: control character rejected");
    CHECK_INT(td_tmpl_dir_loader(d, "nope", &out), TD_ENOTFOUND, "dir: missing file");
    CHECK_INT(td_tmpl_dir_loader(d, "sub", &out), TD_ENOTFOUND, "dir: folder is not a partial");
    CHECK_INT(td_tmpl_dir_loader(d, "big", &out), TD_ETOOBIG, "dir: file over max_size");
    CHECK_INT(out.len, 0, "dir: nothing appended on failure");

    rc = td_tmpl_compile("[{{>x}}]", 8, &opts, &t, NULL);
    if (rc == 0)
        rc = td_tmpl_render(t, v, NULL, &out, NULL, NULL);
    CHECK(rc == 0 && strcmp(td_buf_str(&out), "[X=1]") == 0, "dir: partial rendered");
    td_tmpl_free(t);
    t = NULL;
    td_buf_reset(&out);
    rc = td_tmpl_compile("[{{>*p}}]", 9, &opts, &t, NULL);
    if (rc == 0)
        rc = td_tmpl_render(t, p, NULL, &out, NULL, NULL);
    CHECK_INT(rc, TD_EINVAL, "dir: a dynamic name from data cannot escape the folder");
    td_tmpl_free(t);
    td_buf_release(&out);
    td_tmpl_dir_free(d);
    td_tmpl_dir_free(NULL);
    CHECK_INT(td_tmpl_dir_new("", 0, &d), TD_EINVAL, "dir: empty path refused");
    json_decref(v);
    json_decref(p);
}

static void test_layouts(void)
{
    static const char *const parts[] = {
        "layout",
        "<html>\n  <head><title>{{$title}}Default{{/title}}</title></head>\n  <body>\n"
        "    {{$body}}\n    nothing\n    {{/body}}\n  </body>\n</html>\n",
        "item",
        "<li>\n  {{name}}\n</li>\n",
        "list",
        "<ul>\n  {{#items}}\n  {{>item}}\n  {{/items}}\n</ul>\n",
        NULL};
    td_tmpl_error err;
    td_buf out;
    int rc;

    td_buf_init(&out, 0);
    rc = render_rc("{{<layout}}\n{{$title}}My page{{/title}}\n{{$body}}\n<p>\n  Hello {{name}}\n"
                   "</p>\n{{/body}}\n{{/layout}}\n",
                   parts, "{\"name\": \"Ann\"}", NULL, &out, NULL, &err);
    CHECK(rc == 0 && strcmp(td_buf_str(&out), "<html>\n  <head><title>My page</title></head>\n"
                                              "  <body>\n    <p>\n      Hello Ann\n    </p>\n"
                                              "  </body>\n</html>\n") == 0,
          "layout: blocks replaced and reindented where they land");
    td_buf_reset(&out);
    rc = render_rc("{{<layout}}{{/layout}}", parts, "{}", NULL, &out, NULL, &err);
    CHECK(rc == 0 && strcmp(td_buf_str(&out), "<html>\n  <head><title>Default</title></head>\n"
                                              "  <body>\n    nothing\n  </body>\n</html>\n") == 0,
          "layout: defaults kept when nothing overrides them");
    td_buf_reset(&out);
    rc = render_rc("<body>\n  {{>list}}\n</body>\n", parts,
                   "{\"items\": [{\"name\": \"a\"}, {\"name\": \"b\\nc\"}]}", NULL, &out, NULL,
                   &err);
    CHECK(rc == 0 && strcmp(td_buf_str(&out), "<body>\n  <ul>\n    <li>\n      a\n    </li>\n"
                                              "    <li>\n      b\nc\n    </li>\n  </ul>\n"
                                              "</body>\n") == 0,
          "nested standalone partials add up their indentation, values are not reindented");
    td_buf_release(&out);
}

static void test_misc(void)
{
    td_tmpl *t = NULL;
    td_tmpl_error err;
    td_buf out;

    td_tmpl_free(NULL);
    CHECK_INT(td_tmpl_compile(NULL, 0, NULL, &t, &err), 0, "empty template compiles");
    td_buf_init(&out, 0);
    CHECK_INT(td_tmpl_render(t, NULL, NULL, &out, NULL, &err), 0, "renders with NULL data");
    CHECK_INT(out.len, 0, "empty output");
    CHECK_INT(td_tmpl_render(NULL, NULL, NULL, &out, NULL, &err), TD_EINVAL, "NULL template");
    td_tmpl_free(t);
    td_buf_release(&out);
    CHECK_STR(render("{{#e}}x{{/e}}{{^e}}empty string is falsey{{/e}}", "{\"e\": \"\"}", NULL),
              "empty string is falsey", "empty string is falsey");
    CHECK_STR(render("{{#z}}zero is truthy{{/z}}", "{\"z\": 0}", NULL), "zero is truthy",
              "zero is truthy");
    CHECK_STR(render("{{! unclosed? no }}{{=| |=}}|a|", "{\"a\": \"A\"}", NULL), "A",
              "comment then delimiters");
}

int main(void)
{
    test_syntax_errors();
    test_limits();
    test_partial_errors();
    test_strict();
    test_value_hook();
    test_escaping();
    test_threads();
    test_dir_loader();
    test_layouts();
    test_misc();
    TEST_DONE();
}
