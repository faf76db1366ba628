/* Runs every test of the official Mustache spec files (tests/data/mustache-spec, or the folder
 * named by TD_SPEC_DIR) through td_tmpl_compile and td_tmpl_render, one check per spec test. */
#include "core/common.h"

#include "test.h"
#include "trackdoc/tmpl.h"

/* The spec files trackdoc implements; ~lambdas needs host-language code and is left out. */
static const char *const spec_files[] = {
    "comments.json", "delimiters.json", "interpolation.json",  "inverted.json",
    "partials.json", "sections.json",   "~dynamic-names.json", "~inheritance.json",
};

/* Partial loader over the "partials" object of a spec test. */
static int load_partial(void *ud, const char *name, td_buf *out)
{
    const json_t *s = json_object_get((const json_t *)ud, name);

    if (!json_is_string(s))
        return TD_ENOTFOUND;
    return td_buf_add(out, json_string_value(s), json_string_length(s));
}

/* Prints a string as a JSON literal after a '#', so that a failure shows exact whitespace. */
static void show(const char *label, const char *s)
{
    json_t *j = json_string(s);
    char *txt = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

    printf("#   %s %s\n", label, txt ? txt : "(unprintable)");
    free(txt);
    json_decref(j);
}

/* Runs one spec test; returns true when the output is the expected one. */
static bool run_one(const json_t *test)
{
    const char *tmpl = json_string_value(json_object_get(test, "template"));
    const char *want = json_string_value(json_object_get(test, "expected"));
    json_t *partials = json_object_get(test, "partials");
    td_tmpl_opts opts = {.partial = load_partial, .partial_ud = partials};
    td_tmpl_error err;
    td_tmpl *t = NULL;
    td_buf out;
    bool ok = false;
    int rc;

    td_buf_init(&out, 0);
    if (!tmpl || !want)
        goto out;
    if (!partials)
        opts.partial = NULL;
    rc = td_tmpl_compile(tmpl, strlen(tmpl), &opts, &t, &err);
    if (rc == 0)
        rc = td_tmpl_render(t, json_object_get(test, "data"), NULL, &out, NULL, &err);
    if (rc != 0) {
        printf("#   error %s at %d:%d: %s\n", td_errcode(rc), err.line, err.col, err.message);
        goto out;
    }
    ok = strcmp(td_buf_str(&out), want) == 0;
    if (!ok) {
        show("template:", tmpl);
        show("expected:", want);
        show("got:     ", td_buf_str(&out));
    }
out:
    td_tmpl_free(t);
    td_buf_release(&out);
    return ok;
}

/* Runs every test of one spec file and prints its summary line. */
static void run_file(const char *dir, const char *file)
{
    char path[1024];
    json_error_t jerr;
    json_t *root, *tests, *test;
    size_t i, passed = 0, total = 0;

    snprintf(path, sizeof path, "%s/%s", dir, file);
    root = json_load_file(path, 0, &jerr);
    tests = json_object_get(root, "tests");
    CHECK(json_is_array(tests), "spec %s: file loads (%s)", file, root ? path : jerr.text);
    json_array_foreach(tests, i, test)
    {
        bool ok = run_one(test);

        total++;
        passed += ok;
        CHECK(ok, "spec %s: %s", file, json_string_value(json_object_get(test, "name")));
    }
    printf("# %s: %zu/%zu passed\n", file, passed, total);
    json_decref(root);
}

int main(void)
{
    const char *dir = getenv("TD_SPEC_DIR");
    size_t i;

    if (!dir || !*dir)
        dir = "tests/data/mustache-spec";
    for (i = 0; i < TD_ARRAY_SIZE(spec_files); i++)
        run_file(dir, spec_files[i]);
    TEST_DONE();
}
