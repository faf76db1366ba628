/* Tracked URL variables: the table, and renders with and without a job, with a failing
 * tracker, and twice for the same job. */
#include "core/common.h"

#include "test.h"
#include "trackdoc/store.h"
#include "trackdoc/tmpl.h"
#include "trackdoc/trackvars.h"

#define JOB "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define JOB2 "3f2504e0-4f89-41d3-9a0c-0305e82c3302"

static const char *tpl = "Cal {{calendly_url}} | In {{personal.linkedin_url}} | Site {{site_url}} "
                         "| Again {{calendly_url}} | Bad {{portfolio_url}}";
static const char *data_text =
    "{\"calendly_url\": \"https://calendly.com/jane/30min\", \"site_url\": \"https://jane.dev/\","
    " \"personal\": {\"linkedin_url\": \"https://www.linkedin.com/in/jane\"},"
    " \"portfolio_url\": \"N/A\"}";

/* The table: defaults, additions, errors, dotted names, the function list. */
static void table(void)
{
    td_trackvars *v = NULL;
    char err[256] = "", fns[256];

    CHECK(td_trackvars_new(&v) == 0, "default table");
    CHECK_STR(td_trackvars_function(v, "calendly_url"), "Calendly", "calendly_url is Calendly");
    CHECK_STR(td_trackvars_function(v, "personal.linkedin_url"), "LinkedIn",
              "a dotted name uses its last segment");
    CHECK(td_trackvars_function(v, "website_url") == NULL, "website_url is not tracked by default");
    CHECK(td_trackvars_parse(v, " website_url = Website , github_url=GitHub", err, sizeof err) == 0,
          "add two variables");
    CHECK_STR(td_trackvars_function(v, "github_url"), "GitHub", "github_url added");
    CHECK(td_trackvars_parse(v, "portfolio_url=Site", err, sizeof err) == 0 &&
              strcmp(td_trackvars_function(v, "portfolio_url"), "Site") == 0,
          "an entry can be replaced");
    CHECK(td_trackvars_parse(v, "ok_url=Ok,bad", err, sizeof err) == TD_EINVAL &&
              strstr(err, "\"bad\"") && td_trackvars_function(v, "ok_url") == NULL,
          "a bad item refuses the whole spec: %s", err);
    CHECK(td_trackvars_parse(v, "a b=X", err, sizeof err) == TD_EINVAL, "space in a variable");
    CHECK(td_trackvars_parse(v, "x_url=Fax Machine", err, sizeof err) == TD_EINVAL,
          "space in a function");
    CHECK(td_trackvars_functions(v, "Calendly, linkedin", fns, sizeof fns) == 0 &&
              strcmp(fns, "Calendly, linkedin,Site,Website,GitHub") == 0,
          "function list gains what it lacks: %s", fns);
    td_trackvars_free(v);
}

struct fixture {
    td_store *st;
    td_tracker *tr;
    td_trackvars *vars;
    td_tmpl *t;
    json_t *data;
};

/* Renders tpl with the given context; returns the output (static) and fills tc. */
static const char *render(struct fixture *f, td_tracker *tr, const char *job, bool enabled,
                          td_track_ctx *tc, size_t *hook_failures)
{
    static char text[4096];
    td_tmpl_render_opts o = {.escape = TD_TMPL_ESCAPE_NONE, .value_hook = td_track_value_hook};
    td_tmpl_stats stats = {0};
    td_buf out;

    td_track_ctx_init(tc, tr, f->vars, job, NULL, "resume", enabled);
    o.hook_ud = tc;
    td_buf_init(&out, 0);
    if (td_tmpl_render(f->t, f->data, &o, &out, &stats, NULL) != 0)
        snprintf(text, sizeof text, "RENDER FAILED");
    else
        snprintf(text, sizeof text, "%s", td_buf_str(&out));
    if (hook_failures)
        *hook_failures = stats.hook_failures;
    td_tmpl_stats_release(&stats);
    td_buf_release(&out);
    return text;
}

/* Extracts the URL after a label ("Cal ") from a rendered line. */
static const char *field(const char *text, const char *label, char *out, size_t n)
{
    const char *p = strstr(text, label);

    out[0] = '\0';
    if (p) {
        p += strlen(label);
        snprintf(out, n, "%.*s", (int)strcspn(p, " "), p);
    }
    return out;
}

/* Renders with and without a job, twice for a job, after a restart, for another job. */
static void renders(struct fixture *f, const char *db)
{
    td_track_ctx tc;
    char a[256], b[256], c[256], d[256];
    const char *text;
    size_t hf = 0;

    text = render(f, f->tr, NULL, true, &tc, NULL);
    CHECK_STR(text,
              "Cal https://calendly.com/jane/30min | In https://www.linkedin.com/in/jane | Site "
              "https://jane.dev/ | Again https://calendly.com/jane/30min | Bad N/A",
              "without a job: the original URLs");
    CHECK(!tc.enabled && tc.urls_tracked == 0 && tc.failures == 0,
          "without a job: nothing tracked");
    td_track_ctx_release(&tc);

    text = render(f, f->tr, JOB, true, &tc, &hf);
    field(text, "Cal ", a, sizeof a);
    field(text, "Again ", b, sizeof b);
    CHECK(strncmp(a, "https://t.example/track/lt_calendly_", 36) == 0, "calendly tracked: %s", a);
    CHECK_STR(b, a, "the same variable twice gives the same link");
    CHECK(strncmp(field(text, "In ", c, sizeof c), "https://t.example/track/lt_linkedin_", 36) == 0,
          "dotted personal.linkedin_url tracked: %s", c);
    CHECK_STR(field(text, "Site ", d, sizeof d), "https://jane.dev/", "untracked variable kept");
    CHECK_STR(field(text, "Bad ", d, sizeof d), "N/A", "a value that is no URL is kept as it is");
    CHECK(tc.enabled && tc.urls_tracked == 2 && tc.failures == 1 && tc.nlinks == 3,
          "stats: 2 tracked, 1 failure, 3 listed (%zu, %zu, %zu)", tc.urls_tracked, tc.failures,
          tc.nlinks);
    CHECK(hf == 1, "the engine counted one hook failure");
    {
        json_t *j = td_track_ctx_json(&tc);
        json_t *l0 = json_array_get(json_object_get(j, "links"), 0);
        json_t *l2 = json_array_get(json_object_get(j, "links"), 2);
        CHECK(j && json_integer_value(json_object_get(j, "urls_tracked")) == 2 &&
                  strcmp(json_string_value(json_object_get(l0, "variable")), "calendly_url") == 0 &&
                  strcmp(json_string_value(json_object_get(l0, "original_url")),
                         "https://calendly.com/jane/30min") == 0 &&
                  json_is_null(json_object_get(l2, "tracking_id")) &&
                  strcmp(json_string_value(json_object_get(l2, "error")), "invalid_url") == 0,
              "stats JSON lists links and the failure's error");
        json_decref(j);
    }
    td_track_ctx_release(&tc);

    text = render(f, f->tr, JOB, true, &tc, NULL);
    CHECK_STR(field(text, "Cal ", b, sizeof b), a, "rendering the same job again: the same link");
    td_track_ctx_release(&tc);

    {
        /* A new process: new store handle and tracker, empty caches. */
        td_store *st2 = NULL;
        td_tracker *tr2 = NULL;
        td_link_config cfg = {.base_url = "https://t.example"};
        td_store_open(db, NULL, &st2, NULL, 0);
        td_tracker_new(st2, &cfg, &tr2, NULL, 0);
        text = render(f, tr2, JOB, true, &tc, NULL);
        CHECK_STR(field(text, "Cal ", b, sizeof b), a, "after a restart: the same link");
        td_track_ctx_release(&tc);
        td_tracker_free(tr2);
        td_store_close(st2);
    }

    text = render(f, f->tr, JOB2, true, &tc, NULL);
    field(text, "Cal ", b, sizeof b);
    CHECK(strncmp(b, "https://t.example/track/lt_calendly_", 36) == 0 && strcmp(a, b) != 0,
          "another job: another link");
    td_track_ctx_release(&tc);

    text = render(f, f->tr, JOB, false, &tc, NULL);
    CHECK(strstr(text, "Cal https://calendly.com/jane/30min") && !tc.enabled,
          "tracking disabled: the original URL even with a job");
    td_track_ctx_release(&tc);
}

/* A tracker that cannot write gives original URLs and counted failures, never a failed render. */
static void failing(struct fixture *f, const char *db)
{
    td_store_options ro = {.readonly = true};
    td_store *st = NULL;
    td_tracker *tr = NULL;
    td_link_config cfg = {.base_url = "https://t.example"};
    td_track_ctx tc;
    const char *text;

    CHECK(td_store_open(db, &ro, &st, NULL, 0) == 0 && td_tracker_new(st, &cfg, &tr, NULL, 0) == 0,
          "read-only store");
    text = render(f, tr, "3f2504e0-4f89-41d3-9a0c-0305e82c3399", true, &tc, NULL);
    CHECK(strstr(text, "Cal https://calendly.com/jane/30min") &&
              strstr(text, "In https://www.linkedin.com/in/jane"),
          "the document is made with the original URLs");
    CHECK(tc.urls_tracked == 0 && tc.failures == 3, "three failures counted (%zu)", tc.failures);
    td_track_ctx_release(&tc);
    td_tracker_free(tr);
    td_store_close(st);

    text = render(f, NULL, JOB, true, &tc, NULL);
    CHECK(strstr(text, "Cal https://calendly.com/jane/30min") && tc.failures == 3,
          "no tracker at all: original URLs, failures counted");
    td_track_ctx_release(&tc);
}

/* Hyperlink targets: the candidate's URLs from the data, rules, our own links, no job. */
static void link_hook(struct fixture *f)
{
    td_track_ctx tc;
    td_buf out;
    td_trackvars *v = NULL;
    char err[256];
    int rc;

    td_buf_init(&out, 0);
    td_track_ctx_init(&tc, f->tr, f->vars, JOB, NULL, "resume", true);
    td_track_ctx_set_data(&tc, f->data);
    CHECK_INT(tc.ndata, 3, "three trackable URLs found in the data (nested one included)");
    rc = td_track_link_hook(&tc, "https://www.linkedin.com/in/jane", &out);
    CHECK(rc == 1 && strncmp(td_buf_str(&out), "https://t.example/track/lt_linkedin_", 36) == 0,
          "a hyperlink to the candidate's LinkedIn becomes the tracked link: %s", td_buf_str(&out));
    CHECK(tc.nlinks == 1 && strcmp(tc.links[0].variable, "linkedin_url") == 0,
          "listed under its variable");
    td_buf_reset(&out);
    rc = td_track_link_hook(&tc, "https://calendly.com/someone-else/15min", &out);
    CHECK(rc == 1 && strncmp(td_buf_str(&out), "https://t.example/track/lt_calendly_", 36) == 0,
          "a calendly.com link matches the default rule");
    CHECK_STR(tc.links[1].variable, "calendly.com/*", "rule links are listed under the rule");
    td_buf_reset(&out);
    td_buf_reset(&out);
    CHECK(td_track_link_hook(&tc, "https://calendly.com", &out) == 1,
          "calendly.com/* matches the bare host too");
    td_buf_reset(&out);
    CHECK(td_track_link_hook(&tc, "https://www.linkedin.com/company/acme", &out) == 0,
          "linkedin.com/company is not linkedin.com/in/*");
    CHECK(td_track_link_hook(&tc, "https://example.org/", &out) == 0, "other links are kept");
    CHECK(td_track_link_hook(&tc, tc.links[0].redirect_url, &out) == 0,
          "a tracked link of ours is left alone");
    td_track_ctx_release(&tc);

    td_track_ctx_init(&tc, f->tr, f->vars, NULL, NULL, "resume", true);
    td_track_ctx_set_data(&tc, f->data);
    CHECK(td_track_link_hook(&tc, "https://calendly.com/jane/30min", &out) == 0,
          "without a job nothing is rewritten");
    td_track_ctx_release(&tc);

    td_trackvars_new(&v);
    CHECK(td_trackvars_parse_rules(v, "jane.dev/talks*=Portfolio", err, sizeof err) == 0,
          "own rule");
    td_track_ctx_init(&tc, f->tr, v, JOB, NULL, "resume", true);
    td_buf_reset(&out);
    CHECK(td_track_link_hook(&tc, "https://www.jane.dev/talks/2026?x=1", &out) == 1 &&
              strstr(td_buf_str(&out), "/track/lt_portfolio_"),
          "a custom rule, prefix path, subdomain host");
    td_buf_reset(&out);
    CHECK(td_track_link_hook(&tc, "https://calendly.com/jane/30min", &out) == 0,
          "custom rules replace the defaults");
    td_track_ctx_release(&tc);
    CHECK(td_trackvars_parse_rules(v, "calendly.com", err, sizeof err) == TD_EINVAL &&
              strstr(err, "calendly.com"),
          "a rule without a function is refused: %s", err);
    CHECK(td_trackvars_parse_rules(v, "https://calendly.com/*=Calendly", err, sizeof err) ==
              TD_EINVAL,
          "a rule with a scheme is refused (it could never match)");
    CHECK(td_trackvars_parse_rules(v, "*.calendly.com/*=Calendly", err, sizeof err) == TD_EINVAL,
          "a leading * is refused (subdomains match anyway)");
    CHECK(td_trackvars_parse_rules(v, "a.com/x*y=Z", err, sizeof err) == TD_EINVAL,
          "a * inside the path is refused");
    CHECK(td_trackvars_parse_rules(v, " NONE ", err, sizeof err) == 0, "none clears the rules");
    td_trackvars_free(v);
    td_buf_release(&out);
}

/* Entry point. */
int main(void)
{
    struct fixture f = {0};
    td_link_config cfg = {.base_url = "https://t.example"};
    char db[512];

    table();
    snprintf(db, sizeof db, "%s/track.db", td_test_tmpdir());
    if (td_store_open(db, NULL, &f.st, NULL, 0) || td_tracker_new(f.st, &cfg, &f.tr, NULL, 0) ||
        td_trackvars_new(&f.vars) || td_tmpl_compile(tpl, strlen(tpl), NULL, &f.t, NULL) ||
        !(f.data = json_loads(data_text, 0, NULL))) {
        printf("not ok - set-up\n");
        return 1;
    }
    renders(&f, db);
    link_hook(&f);
    failing(&f, db);
    json_decref(f.data);
    td_tmpl_free(f.t);
    td_trackvars_free(f.vars);
    td_tracker_free(f.tr);
    td_store_close(f.st);
    TEST_DONE();
}
