/* The document service: validation with JSON pointers, file names (accents, clashes), both
 * payload shapes, the profile merge through a real store, each format, tracking on, off and
 * failing, storage and records, the template cache, concurrency, purges and download names. */
#include "core/common.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>

#include "core/time.h"
#include "test.h"
#include "trackdoc/docx.h"
#include "trackdoc/generate.h"
#include "trackdoc/store.h"

#define JOB "6a1f0c2e-7b3d-4e5f-9a8b-2c1d0e9f8a7b"
#define APP "6a1f0c2e-7b3d-4e5f-9a8b-2c1d0e9f8a7c"
#define USER "0b7c6a1e-1111-4a2b-8c3d-4e5f6a7b8c9d"
#define DATA "tests/data/model/"

static char tmp[256], db[300], storage[300], custom[300];
static td_store *st;
static td_tracker *tr;
static td_trackvars *vars;

/* Parses JSON text or exits: the tests' own inputs are always valid. */
static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);

    if (!v) {
        printf("not ok - test input does not parse: %s: %s\n", je.text, text);
        exit(1);
    }
    return v;
}

/* Loads a JSON fixture or exits. */
static json_t *fixture(const char *name)
{
    char path[256];
    json_error_t je;
    json_t *v;

    snprintf(path, sizeof path, DATA "%s", name);
    if (!(v = json_load_file(path, 0, &je))) {
        printf("not ok - fixture %s: %s\n", path, je.text);
        exit(1);
    }
    return v;
}

/* Makes a generator over the shared store; tracker may be NULL. */
static td_generator *gen_new(bool tracking, td_tracker *t, const char *templates, long retention)
{
    td_generator_config c = {.templates_dir = templates ? templates : "templates",
                             .storage_dir = storage,
                             .retention_days = retention,
                             .tracking = tracking};
    td_generator *g = NULL;
    char err[256];

    if (td_generator_new(&c, st, t, vars, &g, err, sizeof err) != 0) {
        printf("not ok - td_generator_new: %s\n", err);
        exit(1);
    }
    return g;
}

/* One generation: kind, payload text, storing or not. */
struct run {
    int rc;
    const char *field; /* NULL when none */
    char err[512];
    td_generate_result res;
};

/* Runs td_generate on a payload; r->res is released by done(). */
static void gen(td_generator *g, const char *kind, json_t *payload, bool store, struct run *r)
{
    td_generate_request q = {.kind = kind, .payload = payload, .store = store};

    r->rc = td_generate(g, &q, &r->res, &r->field, r->err, sizeof r->err);
}

/* Like gen, from JSON text. */
static void gen_text(td_generator *g, const char *kind, const char *text, bool store, struct run *r)
{
    json_t *p = parse(text);

    gen(g, kind, p, store, r);
    json_decref(p);
}

/* Releases a run. */
static void done(struct run *r)
{
    td_generate_result_release(&r->res);
}

/* The document as a string (text formats). */
static const char *doc(const struct run *r)
{
    return td_buf_str(&r->res.document);
}

/* The tracking summary's integer field. */
static long long tracking_int(const struct run *r, const char *key)
{
    return json_integer_value(json_object_get(r->res.tracking, key));
}

/* ----------------------------------------------------------------------------- validation */

/* Expects a failure with rc, error code and field pointer. */
static void expect_bad(td_generator *g, const char *kind, const char *text, int rc,
                       const char *code, const char *field, const char *what)
{
    struct run r;

    gen_text(g, kind, text, false, &r);
    CHECK_INT(r.rc, rc, "validation: %s: code %d", what, rc);
    CHECK_STR(r.res.error_code, code, "validation: %s: error code", what);
    if (field)
        CHECK_STR(r.field, field, "validation: %s: field %s", what, field);
    else
        CHECK(r.field == NULL, "validation: %s: no field", what);
    CHECK(!r.res.generated && r.res.document.len == 0, "validation: %s: nothing generated", what);
    CHECK(r.err[0] != '\0', "validation: %s: message \"%s\"", what, r.err);
    done(&r);
}

/* Bad input of every kind, each naming its field. */
static void test_validation(void)
{
    td_generator *g = gen_new(true, tr, NULL, 0);
    td_buf big;
    struct run r;
    json_t *p;

    expect_bad(g, "resume", "[]", TD_EINVAL, "invalid_type", "", "payload not an object");
    expect_bad(g, "letter", "{}", TD_EINVAL, "invalid_value", NULL, "unknown kind");
    expect_bad(g, "resume", "{}", TD_EINVAL, "missing_field", "/personal/full_name",
               "no name (API shape)");
    expect_bad(g, "resume", "{\"personal\": {\"full_name\": \"   \"}}", TD_EINVAL, "missing_field",
               "/personal/full_name", "blank name");
    expect_bad(g, "cover_letter", "{\"basics\": {\"email\": \"a@b.c\"}}", TD_EINVAL,
               "missing_field", "/basics/name", "no name (JSON Resume)");
    expect_bad(g, "resume", "{\"personal\": {\"full_name\": 7}}", TD_EINVAL, "invalid_type",
               "/personal/full_name", "name of the wrong type");
    expect_bad(g, "resume",
               "{\"personal\": {\"full_name\": \"A B\"}, \"experience\": [{}, {\"company\": []}]}",
               TD_EINVAL, "invalid_type", "/experience/1/company", "nested wrong type");
    expect_bad(g, "resume", "{\"personal\": {\"full_name\": \"A B\"}, \"experience\": {}}",
               TD_EINVAL, "invalid_type", "/experience", "list of the wrong type");
    expect_bad(g, "resume", "{\"personal\": {\"full_name\": \"A B\"}, \"job_id\": 12}", TD_EINVAL,
               "invalid_type", "/job_id", "job_id not a string");
    expect_bad(g, "resume", "{\"personal\": {\"full_name\": \"A B\"}, \"job_id\": \"12\"}",
               TD_EUUID, "invalid_uuid", "/job_id", "job_id not a UUID");
    expect_bad(g, "resume",
               "{\"personal\": {\"full_name\": \"A B\"}, \"application_id\": \"" JOB "x\"}",
               TD_EUUID, "invalid_uuid", "/application_id", "application_id not a UUID");
    expect_bad(g, "resume", "{\"personal\": {\"full_name\": \"A B\"}, \"user_id\": \"bob\"}",
               TD_EUUID, "invalid_uuid", "/user_id", "user_id not a UUID");
    expect_bad(g, "resume", "{\"personal\": {\"full_name\": \"A B\"}, \"format\": \"pdf\"}",
               TD_EINVAL, "invalid_value", "/format", "unknown format");
    expect_bad(g, "resume", "{\"personal\": {\"full_name\": \"A B\"}, \"format\": true}", TD_EINVAL,
               "invalid_type", "/format", "format not a string");
    expect_bad(g, "resume", "{\"personal\": {\"full_name\": \"A B\"}, \"template\": \"nope\"}",
               TD_ENOTFOUND, "unknown_template", "/template", "unknown template");
    expect_bad(g, "resume",
               "{\"personal\": {\"full_name\": \"A B\"}, \"template\": \"cover_letter\", "
               "\"format\": \"pdf\"}",
               TD_EINVAL, "invalid_value", "/format", "format checked before the template");
    expect_bad(g, "resume", "{\"personal\": {\"full_name\": \"A B\"}, \"template\": \"../resume\"}",
               TD_EINVAL, "invalid_value", "/template", "template with a path");
    expect_bad(g, "resume",
               "{\"personal\": {\"full_name\": \"A B\"}, \"template\": \"resume.docx\"}", TD_EINVAL,
               "invalid_value", "/template", "template with an extension");
    expect_bad(g, "resume", "{\"personal\": {\"full_name\": \"A B\"}, \"template\": 3}", TD_EINVAL,
               "invalid_type", "/template", "template not a string");

    /* over-long strings, with the pointer escaped as RFC 6901 says */
    td_buf_init(&big, 0);
    td_buf_adds(&big,
                "{\"personal\": {\"full_name\": \"A B\"}, \"skills\": [\"x\", {\"a/b~c\": \"");
    for (int i = 0; i < TD_GENERATE_MAX_STRING + 1; i++)
        td_buf_addc(&big, 'y');
    td_buf_adds(&big, "\"}]}");
    expect_bad(g, "resume", td_buf_str(&big), TD_ETOOBIG, "too_long", "/skills/1/a~1b~0c",
               "string over 10000 bytes");
    td_buf_release(&big);
    p = parse("{\"personal\": {\"full_name\": \"A B\"}}");
    {
        char *s = malloc(TD_GENERATE_MAX_STRING + 1);
        memset(s, 'z', TD_GENERATE_MAX_STRING);
        s[TD_GENERATE_MAX_STRING] = '\0';
        json_object_set_new(p, "professional_summary", json_string(s));
        free(s);
    }
    gen(g, "resume", p, false, &r);
    CHECK_INT(r.rc, 0, "validation: a string of exactly 10000 bytes is accepted");
    done(&r);
    json_decref(p);

    /* ids: null and "" are absent; UUIDs in any case are normalised */
    gen_text(g, "resume",
             "{\"personal\": {\"full_name\": \"A B\"}, \"job_id\": null, \"application_id\": \"\", "
             "\"user_id\": null}",
             false, &r);
    CHECK_INT(r.rc, 0, "validation: null and empty ids are absent");
    CHECK(json_is_false(json_object_get(r.res.tracking, "tracking_enabled")),
          "validation: no ids, no tracking");
    done(&r);

    /* first and last name are enough */
    gen_text(g, "resume", "{\"personal\": {\"first_name\": \"Ann\", \"last_name\": \"Lee\"}}",
             false, &r);
    CHECK_INT(r.rc, 0, "validation: first_name and last_name give the name");
    done(&r);
    td_generator_free(g);
}

/* ------------------------------------------------------------------------------ file names */

/* Checks the file name of a résumé for a full name: prefix, the name part and the stamp. */
static void expect_name(td_generator *g, const char *full, const char *want)
{
    struct run r;
    json_t *p = json_pack("{s:{s:s}, s:s}", "personal", "full_name", full, "format", "md");
    char prefix[200];

    gen(g, "resume", p, false, &r);
    snprintf(prefix, sizeof prefix, "resume_%s_", want);
    CHECK(r.rc == 0 && strncmp(r.res.filename, prefix, strlen(prefix)) == 0 &&
              strlen(r.res.filename) == strlen(prefix) + strlen("YYYYMMDD_HHMMSS.md"),
          "file name: \"%s\" gives %s (got %s)", full, prefix, r.res.filename);
    done(&r);
    json_decref(p);
}

/* Names: transliterated, safe characters only, "candidate" as the fallback. */
static void test_filenames(void)
{
    td_generator *g = gen_new(false, NULL, NULL, 0);
    struct run r;
    char stamp[32], want[300];
    time_t secs;
    struct tm tm;

    expect_name(g, "Zoë Lindqvist", "Zoe_Lindqvist");
    expect_name(g, "José Núñez-García", "Jose_Nunez-Garcia");
    expect_name(g, "Łukasz Żółć", "Lukasz_Zolc");
    expect_name(g, "Søren Ærø", "Soren_AEro");
    expect_name(g, "Jürgen Groß", "Jurgen_Gross");
    expect_name(g, "Þóra Œuvre", "THora_OEuvre");
    expect_name(g, "Ștefan Țurcanu", "Stefan_Turcanu");
    expect_name(g, "Daniel O'Connor", "Daniel_OConnor");
    expect_name(g, "Ludwig van Beethoven", "Ludwig_van-Beethoven");
    expect_name(g, "Anne/../../etc <x>", "Anneetc_x");
    expect_name(g, "王芳", "candidate");
    expect_name(g, "Ἀλέξανδρος Παπαδόπουλος", "candidate");
    expect_name(g, "Madonna", "Madonna");

    /* the stamp is the generation time in UTC */
    gen_text(g, "cover_letter", "{\"personal\": {\"full_name\": \"Ann Lee\"}, \"format\": \"txt\"}",
             false, &r);
    secs = (time_t)(r.res.timestamp / 1000);
    gmtime_r(&secs, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
    snprintf(want, sizeof want, "cover_letter_Ann_Lee_%s.txt", stamp);
    CHECK_STR(r.res.filename, want, "file name: cover_letter_<First>_<Last>_<UTC stamp>.txt");
    CHECK_STR(r.res.file_path, "", "file name: nothing stored without store");
    done(&r);
    td_generator_free(g);
}

/* Clashes: the unique index decides, _2, _3 ... are tried in turn. */
static void test_clashes(void)
{
    td_generator *g = gen_new(false, NULL, NULL, 0);
    int64_t now = td_time_now_ms();
    struct run r;
    td_document d;
    char path[600];
    struct stat sb;

    /* take the plain name and _2 for the next few seconds, so that the next one is _3 */
    for (int s = 0; s < 5; s++) {
        time_t secs = (time_t)(now / 1000 + s);
        struct tm tm;
        char stamp[32];
        gmtime_r(&secs, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
        for (int k = 1; k <= 2; k++) {
            memset(&d, 0, sizeof d);
            snprintf(d.document_id, sizeof d.document_id, "00000000-0000-4000-8000-%012d",
                     s * 10 + k);
            if (k == 1)
                snprintf(d.filename, sizeof d.filename, "resume_Clash_Test_%s.txt", stamp);
            else
                snprintf(d.filename, sizeof d.filename, "resume_Clash_Test_%s_2.txt", stamp);
            snprintf(d.kind, sizeof d.kind, "resume");
            snprintf(d.format, sizeof d.format, "txt");
            d.created_at = now;
            td_store_document_insert(st, &d);
        }
    }
    gen_text(g, "resume", "{\"personal\": {\"full_name\": \"Clash Test\"}, \"format\": \"txt\"}",
             true, &r);
    CHECK_INT(r.rc, 0, "clash: generated (%s)", r.err);
    CHECK(strstr(r.res.filename, "_3.txt") != NULL, "clash: taken names give _3 (%s)",
          r.res.filename);
    CHECK_STR(r.res.file_path, r.res.filename, "clash: file_path is the name in the folder");
    snprintf(path, sizeof path, "%s/%s", storage, r.res.filename);
    CHECK(stat(path, &sb) == 0 && (size_t)sb.st_size == r.res.document.len,
          "clash: the file is written whole");
    CHECK(td_store_document_get(st, r.res.filename, &d) == 0 && d.size_bytes == sb.st_size &&
              strcmp(d.kind, "resume") == 0 && strcmp(d.format, "txt") == 0 &&
              strcmp(d.template_name, "resume") == 0,
          "clash: the record names the file, kind, format and template");
    done(&r);

    /* two documents of the same second get distinct names */
    {
        struct run a, b;
        gen_text(g, "resume", "{\"personal\": {\"full_name\": \"Twin Name\"}, \"format\": \"md\"}",
                 true, &a);
        gen_text(g, "resume", "{\"personal\": {\"full_name\": \"Twin Name\"}, \"format\": \"md\"}",
                 true, &b);
        CHECK(a.rc == 0 && b.rc == 0 && strcmp(a.res.filename, b.res.filename) != 0,
              "clash: two documents never share a name (%s, %s)", a.res.filename, b.res.filename);
        done(&a);
        done(&b);
    }

    /* a burst for one candidate (a batch): every document gets its own name, past _9 too */
    {
        enum { BURST = 40 };
        static char names[BURST][256];
        int ok = 0, distinct = 1, random_suffix = 0;

        for (int i = 0; i < BURST; i++) {
            struct run a;
            gen_text(g, "resume",
                     "{\"personal\": {\"full_name\": \"Burst Name\"}, \"format\": \"txt\"}", true,
                     &a);
            if (a.rc == 0) {
                ok++;
                snprintf(names[i], sizeof names[i], "%s", a.res.filename);
                for (int j = 0; j < i; j++)
                    if (strcmp(names[j], names[i]) == 0)
                        distinct = 0;
                /* resume_Burst_Name_YYYYMMDD_HHMMSS_xxxxxxx.txt */
                if (strlen(a.res.filename) == strlen("resume_Burst_Name_20260101_000000_") + 7 + 4)
                    random_suffix++;
            }
            done(&a);
        }
        CHECK_INT(ok, BURST, "clash: %d documents of one candidate in a burst are all stored",
                  BURST);
        CHECK(distinct, "clash: a burst of documents never shares a name");
        CHECK(random_suffix > 0, "clash: past _9 the names take a random suffix (%d did)",
              random_suffix);
    }
    td_generator_free(g);
}

/* ----------------------------------------------------------------------- shapes and profiles */

/* The API shape and JSON Resume both give documents. */
static void test_shapes(void)
{
    td_generator *g = gen_new(false, NULL, NULL, 0);
    json_t *p;
    struct run r;

    p = fixture("sample_resume_jsonresume.json");
    json_object_set_new(p, "format", json_string("txt"));
    gen(g, "resume", p, false, &r);
    CHECK_INT(r.rc, 0, "shapes: JSON Resume résumé (%s)", r.err);
    CHECK(strncmp(r.res.filename, "resume_Daniel_OConnor_", 22) == 0,
          "shapes: JSON Resume name in the file name (%s)", r.res.filename);
    CHECK(strstr(doc(&r), "Daniel O'Connor") && strstr(doc(&r), "Machine Learning Engineer"),
          "shapes: JSON Resume basics rendered");
    done(&r);
    json_decref(p);

    p = fixture("sample_resume.json");
    json_object_set_new(p, "format", json_string("md"));
    gen(g, "resume", p, false, &r);
    CHECK_INT(r.rc, 0, "shapes: API résumé as Markdown (%s)", r.err);
    CHECK(strstr(doc(&r), json_string_value(json_object_get(json_object_get(p, "personal"),
                                                            "full_name"))) != NULL,
          "shapes: API name rendered");
    done(&r);
    json_decref(p);

    p = fixture("sample_cover_letter.json");
    json_object_set_new(p, "format", json_string("txt"));
    gen(g, "cover-letter", p, false, &r);
    CHECK_INT(r.rc, 0, "shapes: cover-letter is a kind too (%s)", r.err);
    CHECK(strncmp(r.res.filename, "cover_letter_Zoe_Lindqvist_", 27) == 0,
          "shapes: cover letter file name (%s)", r.res.filename);
    CHECK(strstr(doc(&r), "Dear Sarah Chen,") != NULL, "shapes: the letter's salutation");
    done(&r);
    json_decref(p);

    /* extra variables fill what the payload leaves out, never what it gives */
    {
        td_generate_request q = {.kind = "cover_letter", .format = "txt"};
        json_t *extra = parse("{\"subject\": \"From the CSV\", \"personal\": {\"full_name\": "
                              "\"Not Used\"}}");
        const char *field;
        char err[256];
        p = parse("{\"personal\": {\"full_name\": \"Ann Lee\"}}");
        q.payload = p;
        q.extra = extra;
        CHECK_INT(td_generate(g, &q, &r.res, &field, err, sizeof err), 0, "shapes: with extra");
        CHECK(strstr(doc(&r), "From the CSV") && strstr(doc(&r), "Ann Lee") &&
                  !strstr(doc(&r), "Not Used"),
              "shapes: extra fills only what the payload lacks");
        done(&r);
        json_decref(p);
        json_decref(extra);
    }
    td_generator_free(g);
}

/* A user_id merges the stored profile: the payload wins, the profile fills the gaps. */
static void test_profile(void)
{
    td_generator *g = gen_new(true, tr, NULL, 0);
    td_profile pr = {0};
    struct run r;

    snprintf(pr.user_id, sizeof pr.user_id, USER);
    snprintf(pr.first_name, sizeof pr.first_name, "Émilie");
    snprintf(pr.last_name, sizeof pr.last_name, "Dubois");
    snprintf(pr.email, sizeof pr.email, "emilie@example.com");
    snprintf(pr.calendly_url, sizeof pr.calendly_url, "https://calendly.com/emilie/intro");
    pr.created_at = pr.updated_at = td_time_now_ms();
    CHECK_INT(td_store_profile_put(st, &pr, NULL), 0, "profile: stored");

    gen_text(g, "cover_letter",
             "{\"user_id\": \"0B7C6A1E-1111-4A2B-8C3D-4E5F6A7B8C9D\", \"format\": \"txt\"}", true,
             &r);
    CHECK_INT(r.rc, 0, "profile: the profile gives the name (%s)", r.err);
    CHECK(r.res.profile_found, "profile: profile_found");
    CHECK(strncmp(r.res.filename, "cover_letter_Emilie_Dubois_", 27) == 0,
          "profile: the profile's name in the file name (%s)", r.res.filename);
    CHECK(strstr(doc(&r), "emilie@example.com") && strstr(doc(&r), "Émilie Dubois"),
          "profile: email and name rendered");
    CHECK(strstr(doc(&r), "https://calendly.com/emilie/intro") != NULL,
          "profile: calendly URL rendered as it is without a job");
    CHECK_STR(r.res.record.user_id, USER, "profile: the record keeps the normalised user_id");
    done(&r);

    gen_text(g, "cover_letter",
             "{\"user_id\": \"" USER "\", \"job_id\": \"" JOB "\", \"format\": \"txt\", "
             "\"personal\": {\"full_name\": \"Emma Given\", \"email\": \"given@example.com\"}}",
             false, &r);
    CHECK_INT(r.rc, 0, "profile: with payload fields");
    CHECK(strstr(doc(&r), "Emma Given") && strstr(doc(&r), "given@example.com") &&
              !strstr(doc(&r), "emilie@example.com"),
          "profile: the payload wins");
    CHECK(strstr(doc(&r), "/track/lt_calendly_") && !strstr(doc(&r), "calendly.com/emilie"),
          "profile: the profile's calendly URL is tracked for the job");
    CHECK_INT(tracking_int(&r, "urls_tracked"), 1, "profile: one URL tracked");
    done(&r);

    gen_text(g, "resume",
             "{\"user_id\": \"9b7c6a1e-1111-4a2b-8c3d-4e5f6a7b8c9d\", \"personal\": "
             "{\"full_name\": \"No Profile\"}, \"format\": \"txt\"}",
             false, &r);
    CHECK(r.rc == 0 && !r.res.profile_found, "profile: unknown user_id gives profile_found false");
    done(&r);
    expect_bad(g, "resume", "{\"user_id\": \"9b7c6a1e-1111-4a2b-8c3d-4e5f6a7b8c9d\"}", TD_EINVAL,
               "missing_field", "/personal/full_name", "unknown profile and no name");
    td_generator_free(g);
}

/* ---------------------------------------------------------------------------------- formats */

/* Each format: type, escaping, a valid package for docx. */
static void test_formats(void)
{
    static const struct {
        const char *fmt, *type, *ext;
    } f[] = {
        {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         ".docx"},
        {"html", "text/html; charset=utf-8", ".html"},
        {"md", "text/markdown; charset=utf-8", ".md"},
        {"txt", "text/plain; charset=utf-8", ".txt"},
        {"HTML", "text/html; charset=utf-8", ".html"},
    };
    td_generator *g = gen_new(false, NULL, NULL, 0);

    for (size_t i = 0; i < TD_ARRAY_SIZE(f); i++) {
        for (int k = 0; k < 2; k++) {
            const char *kind = k ? "cover_letter" : "resume";
            json_t *p = parse("{\"personal\": {\"full_name\": \"Ann <b>&amp; Lee\"}, "
                              "\"professional_summary\": \"R&D <team> lead\", "
                              "\"target_position\": \"Engineer\"}");
            struct run r;
            char why[256] = "";
            json_object_set_new(p, "format", json_string(f[i].fmt));
            gen(g, kind, p, false, &r);
            CHECK_INT(r.rc, 0, "format %s %s: generated (%s)", f[i].fmt, kind, r.err);
            CHECK_STR(r.res.content_type, f[i].type, "format %s %s: content type", f[i].fmt, kind);
            CHECK(strlen(r.res.filename) > strlen(f[i].ext) &&
                      strcmp(r.res.filename + strlen(r.res.filename) - strlen(f[i].ext),
                             f[i].ext) == 0,
                  "format %s %s: extension %s (%s)", f[i].fmt, kind, f[i].ext, r.res.filename);
            CHECK_STR(r.res.record.format, "", "format %s %s: no record without store", f[i].fmt,
                      kind);
            if (strcmp(f[i].fmt, "docx") == 0) {
                CHECK(td_docx_check(r.res.document.data, r.res.document.len, NULL, why,
                                    sizeof why) == 0,
                      "format docx %s: a valid package (%s)", kind, why);
            } else if (strcasecmp(f[i].fmt, "html") == 0) {
                CHECK(strstr(doc(&r), "Ann &lt;b&gt;&amp;amp; Lee") && !strstr(doc(&r), "<b>&"),
                      "format html %s: values escaped for HTML", kind);
                if (!k)
                    CHECK(strstr(doc(&r), "R&amp;D &lt;team&gt;") != NULL,
                          "format html: summary escaped");
            } else {
                CHECK(strstr(doc(&r), "Ann <b>&amp; Lee") != NULL,
                      "format %s %s: values as they are", f[i].fmt, kind);
            }
            done(&r);
            json_decref(p);
        }
    }
    td_generator_free(g);
}

/* --------------------------------------------------------------------------------- tracking */

/* Counts the entries of a folder. */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* Tracking on, off (setting), off (no job), and failing (no tracker, a read-only store). */
static void test_tracking(void)
{
    td_generator *on = gen_new(true, tr, NULL, 0), *off = gen_new(false, tr, NULL, 0),
                 *broken = gen_new(true, NULL, NULL, 0);
    json_t *p = fixture("sample_cover_letter.json");
    struct run r;

    json_object_set_new(p, "format", json_string("txt"));
    json_object_set_new(p, "job_id", json_string(JOB));
    json_object_set_new(p, "application_id", json_string(APP));
    gen(on, "cover_letter", p, true, &r);
    CHECK_INT(r.rc, 0, "tracking on: generated");
    CHECK(json_is_true(json_object_get(r.res.tracking, "tracking_enabled")),
          "tracking on: enabled");
    CHECK_INT(tracking_int(&r, "urls_tracked"), 3, "tracking on: three URLs tracked");
    CHECK_INT(tracking_int(&r, "tracking_failures"), 0, "tracking on: no failure");
    CHECK(strstr(doc(&r), "http://127.0.0.1:8080/track/lt_calendly_") &&
              !strstr(doc(&r), "calendly.com/zoe-lindqvist"),
          "tracking on: the tracked Calendly link replaces the original");
    CHECK_INT(json_array_size(json_object_get(r.res.tracking, "links")), 3,
              "tracking on: three links listed");
    CHECK(r.res.record.urls_tracked == 3 && r.res.record.tracking_failures == 0 &&
              strcmp(r.res.record.job_id, JOB) == 0 &&
              strcmp(r.res.record.application_id, APP) == 0,
          "tracking on: the record counts them with the job and application");
    {
        int64_t n = 0;
        CHECK(td_store_document_count(st, JOB, NULL, &n) == 0 && n >= 1,
              "tracking on: the job's documents are counted");
    }
    done(&r);

    /* the same links come back for the same job: idempotent */
    gen(on, "cover_letter", p, false, &r);
    {
        struct run r2;
        gen(on, "cover_letter", p, false, &r2);
        json_t *a = json_array_get(json_object_get(r.res.tracking, "links"), 0),
               *b = json_array_get(json_object_get(r2.res.tracking, "links"), 0);
        CHECK(json_equal(json_object_get(a, "tracking_id"), json_object_get(b, "tracking_id")),
              "tracking on: the same job gets the same tracked links");
        done(&r2);
    }
    done(&r);

    /* docx: the hyperlink relationships carry the tracked link */
    json_object_set_new(p, "format", json_string("docx"));
    gen(on, "cover_letter", p, false, &r);
    CHECK(r.rc == 0 &&
              memmem(r.res.document.data, r.res.document.len, "PK", 2) == r.res.document.data,
          "tracking docx: a zip");
    CHECK_INT(tracking_int(&r, "urls_tracked"), 3, "tracking docx: three URLs tracked");
    done(&r);
    json_object_set_new(p, "format", json_string("txt"));

    gen(off, "cover_letter", p, false, &r);
    CHECK(r.rc == 0 && json_is_false(json_object_get(r.res.tracking, "tracking_enabled")),
          "tracking off: disabled by the setting");
    CHECK(strstr(doc(&r), "https://calendly.com/zoe-lindqvist/30min") &&
              !strstr(doc(&r), "/track/"),
          "tracking off: original URLs");
    CHECK_INT(tracking_int(&r, "urls_tracked"), 0, "tracking off: nothing tracked");
    done(&r);

    json_object_del(p, "job_id");
    json_object_del(p, "application_id");
    gen(on, "cover_letter", p, false, &r);
    CHECK(r.rc == 0 && json_is_false(json_object_get(r.res.tracking, "tracking_enabled")) &&
              !strstr(doc(&r), "/track/"),
          "tracking: no job and no application, original URLs");
    done(&r);

    json_object_set_new(p, "application_id", json_string(APP));
    gen(broken, "cover_letter", p, true, &r);
    CHECK_INT(r.rc, 0, "tracking failing: the document is still made");
    CHECK_INT(tracking_int(&r, "tracking_failures"), 3, "tracking failing: three failures");
    CHECK_INT(tracking_int(&r, "urls_tracked"), 0, "tracking failing: none tracked");
    CHECK(strstr(doc(&r), "https://calendly.com/zoe-lindqvist/30min") != NULL,
          "tracking failing: original URLs");
    CHECK_INT(r.res.record.tracking_failures, 3, "tracking failing: recorded");
    done(&r);

    /* a tracker over a read-only store: the links cannot be made, nor the record */
    {
        td_store_options ro = {.readonly = true, .must_exist = true};
        td_link_config lc = {.base_url = "http://127.0.0.1:8080"};
        td_store *rost = NULL;
        td_tracker *rotr = NULL;
        td_generator_config c = {
            .templates_dir = "templates", .storage_dir = storage, .tracking = true};
        td_generator *rog = NULL;
        char err[256];
        CHECK(td_store_open(db, &ro, &rost, err, sizeof err) == 0 &&
                  td_tracker_new(rost, &lc, &rotr, err, sizeof err) == 0 &&
                  td_generator_new(&c, rost, rotr, vars, &rog, err, sizeof err) == 0,
              "read-only: opened (%s)", err);
        json_object_set_new(p, "application_id",
                            json_string("6a1f0c2e-7b3d-4e5f-9a8b-0000000000ff"));
        if (rog) {
            int files = count_files(storage);
            gen(rog, "cover_letter", p, true, &r);
            CHECK_INT(r.rc, TD_EDB, "read-only: recording fails with TD_EDB");
            CHECK(r.res.generated && r.res.document.len > 0,
                  "read-only: the document is made all the same");
            CHECK_STR(r.res.error_code, "storage_error", "read-only: storage_error");
            CHECK_STR(r.res.file_path, "", "read-only: no file path");
            CHECK_INT(tracking_int(&r, "tracking_failures"), 3, "read-only: failures counted");
            CHECK(strstr(doc(&r), "https://calendly.com/zoe-lindqvist/30min") != NULL,
                  "read-only: original URLs");
            CHECK_INT(count_files(storage), files, "read-only: no file left behind");
            done(&r);
        }
        td_generator_free(rog);
        td_tracker_free(rotr);
        td_store_close(rost);
    }
    json_decref(p);
    td_generator_free(on);
    td_generator_free(off);
    td_generator_free(broken);
}

/* -------------------------------------------------------------------------------- templates */

/* Writes a file or exits. */
static void write_text(const char *dir, const char *name, const char *text)
{
    char path[600];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "w"))) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

/* Custom templates: by name, with partials, compiled once and cached; broken ones. */
static void test_templates(void)
{
    td_generator *g;
    struct run r;

    write_text(custom, "resume.txt", "built-in {{personal.full_name}}\n");
    write_text(custom, "fancy.txt", "Fancy {{personal.full_name}} {{> footer}}");
    write_text(custom, "footer.mustache", "[{{personal.email}}]");
    write_text(custom, "broken.txt", "{{#personal}} unclosed");
    write_text(custom, "fancy.html", "<h1>{{personal.full_name}}</h1>");
    g = gen_new(false, NULL, custom, 0);

    gen_text(g, "resume",
             "{\"personal\": {\"full_name\": \"Ann Lee\", \"email\": \"a@b.c\"}, \"template\": "
             "\"fancy\", \"format\": \"txt\"}",
             true, &r);
    CHECK_INT(r.rc, 0, "templates: custom template by name (%s)", r.err);
    CHECK_STR(doc(&r), "Fancy Ann Lee [a@b.c]", "templates: rendered with its partial");
    CHECK_STR(r.res.record.template_name, "fancy", "templates: the record names the template");
    done(&r);

    write_text(custom, "fancy.txt", "Changed");
    gen_text(g, "resume",
             "{\"personal\": {\"full_name\": \"Ann Lee\"}, \"template\": \"fancy\", "
             "\"format\": \"txt\"}",
             false, &r);
    CHECK(r.rc == 0 && strncmp(doc(&r), "Fancy Ann Lee", 13) == 0,
          "templates: compiled once and kept (%s)", doc(&r));
    done(&r);

    gen_text(g, "resume",
             "{\"personal\": {\"full_name\": \"Ann & Lee\"}, \"template\": \"fancy\", \"format\": "
             "\"html\"}",
             false, &r);
    CHECK_STR(doc(&r), "<h1>Ann &amp; Lee</h1>", "templates: same name, other format");
    done(&r);

    gen_text(g, "resume", "{\"personal\": {\"full_name\": \"Ann Lee\"}, \"format\": \"txt\"}",
             false, &r);
    CHECK_STR(doc(&r), "built-in Ann Lee\n", "templates: the kind's name is the default");
    done(&r);

    expect_bad(g, "resume",
               "{\"personal\": {\"full_name\": \"A B\"}, \"template\": \"fancy\", \"format\": "
               "\"md\"}",
               TD_ENOTFOUND, "unknown_template", "/template", "template missing in that format");
    expect_bad(g, "cover_letter", "{\"personal\": {\"full_name\": \"A B\"}, \"format\": \"txt\"}",
               TD_ENOTFOUND, "unknown_template", "/template", "built-in missing from the folder");
    {
        gen_text(g, "resume",
                 "{\"personal\": {\"full_name\": \"A B\"}, \"template\": \"broken\", \"format\": "
                 "\"txt\"}",
                 false, &r);
        CHECK(r.rc == TD_ESYNTAX && strcmp(r.res.error_code, "template_error") == 0 &&
                  strstr(r.err, "broken.txt"),
              "templates: a broken template is a template_error naming it (%s)", r.err);
        done(&r);
    }
    td_generator_free(g);

    /* configuration errors */
    {
        td_generator_config c = {.templates_dir = "/nonexistent/templates", .storage_dir = storage};
        td_generator *x = NULL;
        char err[256] = "";
        CHECK(td_generator_new(&c, st, NULL, vars, &x, err, sizeof err) == TD_EINVAL && !x &&
                  strstr(err, "templates"),
              "config: a missing templates folder is TD_EINVAL (%s)", err);
        c.templates_dir = "templates";
        c.retention_days = -1;
        CHECK(td_generator_new(&c, st, NULL, vars, &x, err, sizeof err) == TD_EINVAL,
              "config: negative retention is TD_EINVAL (%s)", err);
        c.retention_days = 0;
        c.storage_dir = "/proc/version/documents";
        CHECK(td_generator_new(&c, st, NULL, vars, &x, err, sizeof err) == TD_EIO,
              "config: an unusable storage folder is TD_EIO (%s)", err);
        td_generator_free(NULL);
    }
}

/* ------------------------------------------------------------------------------ concurrency */

struct worker {
    td_generator *g;
    int ok;
};

/* Generates a few documents of every format. */
static void *worker_main(void *ud)
{
    struct worker *w = ud;
    static const char *const fmts[] = {"docx", "html", "md", "txt"};

    for (int i = 0; i < 8; i++) {
        struct run r;
        json_t *p = json_pack("{s:{s:s, s:s}, s:s, s:s}", "personal", "full_name", "Thread Worker",
                              "calendly_url", "https://calendly.com/t/w", "format", fmts[i % 4],
                              "job_id", JOB);
        gen(w->g, i % 2 ? "resume" : "cover_letter", p, true, &r);
        w->ok += r.rc == 0 && tracking_int(&r, "tracking_failures") == 0;
        done(&r);
        json_decref(p);
    }
    return NULL;
}

/* Several threads render from one generator (the template cache under contention). */
static void test_threads(void)
{
    td_generator *g = gen_new(true, tr, NULL, 0);
    struct worker w[4];
    pthread_t th[4];
    int ok = 0;

    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){g, 0};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
    }
    CHECK_INT(ok, 32, "threads: 4 threads x 8 documents, all made and tracked");
    td_generator_free(g);
}

/* ------------------------------------------------------------------------ purge and download */

/* Retention, per-user purge, and what a download accepts. */
static void test_purge_download(void)
{
    td_generator *g = gen_new(false, NULL, NULL, 2), *keep = gen_new(false, NULL, NULL, 0);
    char path[700], type[96], fresh[256], old[256], mine[256];
    struct run r;
    td_document d;
    size_t n = 99;
    int64_t now = td_time_now_ms();

    gen_text(g, "resume", "{\"personal\": {\"full_name\": \"Old Doc\"}, \"format\": \"txt\"}", true,
             &r);
    snprintf(old, sizeof old, "%s", r.res.filename);
    done(&r);
    gen_text(g, "resume",
             "{\"personal\": {\"full_name\": \"Fresh Doc\"}, \"format\": \"html\", \"user_id\": "
             "\"" USER "\"}",
             true, &r);
    snprintf(fresh, sizeof fresh, "%s", r.res.filename);
    done(&r);

    CHECK_INT(td_generator_download(g, fresh, path, sizeof path, type, sizeof type), 0,
              "download: a generated name resolves");
    CHECK(strncmp(path, "/", 1) == 0 && strstr(path, fresh) && access(path, R_OK) == 0,
          "download: an absolute path in the storage folder (%s)", path);
    CHECK_STR(type, "text/html; charset=utf-8", "download: the content type of its format");
    {
        static const char *const bad[] = {"",
                                          "..",
                                          "../trackdoc.db",
                                          "a/b.txt",
                                          ".hidden",
                                          "resume_x..txt",
                                          "resume_Nobody_20260101_000000.txt",
                                          "x\\y.txt",
                                          "%2e%2e",
                                          "resume x.txt"};
        for (size_t i = 0; i < TD_ARRAY_SIZE(bad); i++)
            CHECK_INT(td_generator_download(g, bad[i], path, sizeof path, type, sizeof type),
                      TD_ENOTFOUND, "download: \"%s\" is refused", bad[i]);
    }
    /* a file in the folder that the service did not record */
    write_text(storage, "resume_Planted_File_20260101_000000.txt", "planted");
    CHECK_INT(td_generator_download(g, "resume_Planted_File_20260101_000000.txt", path, sizeof path,
                                    type, sizeof type),
              TD_ENOTFOUND, "download: an unrecorded file is refused");

    /* age the first document: retention 2 days */
    CHECK_INT(td_store_document_get(st, old, &d), 0, "purge: the old document is recorded");
    CHECK_INT(td_generator_purge(g, now + 3LL * 86400 * 1000, &n), 0, "purge: runs");
    CHECK(n >= 2, "purge: every document older than 2 days is deleted (%zu)", n);
    CHECK_INT(td_generator_download(g, old, path, sizeof path, type, sizeof type), TD_ENOTFOUND,
              "purge: a purged document is not downloadable");
    snprintf(path, sizeof path, "%s/%s", storage, old);
    CHECK(access(path, F_OK) != 0, "purge: its file is gone");
    CHECK(td_store_document_get(st, old, &d) == 0 && d.deleted_at > 0,
          "purge: its record is marked deleted");
    CHECK_INT(td_generator_purge(g, now + 3LL * 86400 * 1000, &n), 0, "purge: again");
    CHECK_INT(n, 0, "purge: nothing left to delete");
    CHECK(td_generator_purge(keep, now + 3000LL * 86400 * 1000, &n) == 0 && n == 0,
          "purge: retention 0 keeps everything");

    /* per user */
    gen_text(keep, "resume",
             "{\"personal\": {\"full_name\": \"User Doc\"}, \"format\": \"md\", \"user_id\": "
             "\"" USER "\"}",
             true, &r);
    snprintf(mine, sizeof mine, "%s", r.res.filename);
    done(&r);
    gen_text(keep, "resume",
             "{\"personal\": {\"full_name\": \"Other Doc\"}, \"format\": \"md\", \"user_id\": "
             "\"9b7c6a1e-1111-4a2b-8c3d-4e5f6a7b8c9d\"}",
             true, &r);
    CHECK_INT(td_generator_purge_user(keep, USER, &n), 0, "purge user: runs");
    CHECK_INT(n, 1, "purge user: the user's one remaining document");
    CHECK_INT(td_generator_download(keep, mine, path, sizeof path, type, sizeof type), TD_ENOTFOUND,
              "purge user: gone");
    CHECK_INT(td_generator_download(keep, r.res.filename, path, sizeof path, type, sizeof type), 0,
              "purge user: another user's document stays");
    CHECK_INT(td_generator_purge_user(keep, "nope", &n), TD_EUUID, "purge user: bad id");
    done(&r);
    td_generator_free(g);
    td_generator_free(keep);
}

int main(void)
{
    td_link_config lc = {.base_url = "http://127.0.0.1:8080"};
    char err[256];

    snprintf(tmp, sizeof tmp, "%s", td_test_tmpdir());
    snprintf(db, sizeof db, "%s/trackdoc.db", tmp);
    snprintf(storage, sizeof storage, "%s/var/documents", tmp);
    snprintf(custom, sizeof custom, "%s/custom", tmp);
    mkdir(custom, 0700);
    if (td_store_open(db, NULL, &st, err, sizeof err) != 0 ||
        td_tracker_new(st, &lc, &tr, err, sizeof err) != 0 || td_trackvars_new(&vars) != 0) {
        printf("not ok - setup: %s\n", err);
        return 1;
    }
    test_validation();
    test_filenames();
    test_clashes();
    test_shapes();
    test_profile();
    test_formats();
    test_tracking();
    test_templates();
    test_threads();
    test_purge_download();
    td_trackvars_free(vars);
    td_tracker_free(tr);
    td_store_close(st);
    {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", tmp);
    }
    TEST_DONE();
}
