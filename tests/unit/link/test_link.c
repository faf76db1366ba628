/* The link tracker: validation, idempotency (across store handles and threads), caching,
 * redirect states and batch creation. */
#include "core/common.h"

#include <pthread.h>

#include "core/time.h"
#include "test.h"
#include "trackdoc/link.h"
#include "trackdoc/store.h"

#define JOB "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define APP "9b2c3d4e-1111-4222-8333-444455556666"

static char db[512];

/* Opens a store on the shared test database. */
static td_store *open_store(void)
{
    td_store *st = NULL;
    char err[256];

    if (td_store_open(db, NULL, &st, err, sizeof err) != 0) {
        printf("# store: %s\n", err);
        exit(2);
    }
    return st;
}

/* Makes a tracker with defaults plus the given TTL. */
static td_tracker *tracker(td_store *st, long ttl_ms, const char *allowed)
{
    td_link_config cfg = {
        .base_url = "https://t.example.org/", .cache_ttl_ms = ttl_ms, .allowed_domains = allowed};
    td_tracker *t = NULL;
    char err[256];

    if (td_tracker_new(st, &cfg, &t, err, sizeof err) != 0) {
        printf("# tracker: %s\n", err);
        exit(2);
    }
    return t;
}

/* Each invalid input gives its own code and names its field. */
static void validation(td_tracker *t)
{
    static const struct {
        td_link_params p;
        int rc;
        const char *field;
    } cases[] = {
        {{.link_function = "Calendly"}, TD_EURL, "original_url"},
        {{.original_url = "ftp://x.example", .link_function = "Calendly"}, TD_EURL, "original_url"},
        {{.original_url = "https://u:p@x.example", .link_function = "Calendly"},
         TD_EURL_USERINFO,
         "original_url"},
        {{.original_url = "https://x.example/a b", .link_function = "Calendly"},
         TD_EURL_CHARS,
         "original_url"},
        {{.original_url = "https://x.example", .link_function = "Fax"},
         TD_EFUNCTION,
         "link_function"},
        {{.original_url = "https://x.example"}, TD_EFUNCTION, "link_function"},
        {{.original_url = "https://x.example", .link_function = "Calendly", .job_id = "42"},
         TD_EUUID,
         "job_id"},
        {{.original_url = "https://x.example",
          .link_function = "Calendly",
          .application_id = "nope"},
         TD_EUUID,
         "application_id"},
        {{.original_url = "https://x.example", .link_function = "calendly", .job_id = JOB},
         0,
         NULL},
    };
    char longtype[100];

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        const char *field = NULL;
        int rc = td_link_validate(t, &cases[i].p, &field);
        CHECK(rc == cases[i].rc &&
                  (cases[i].field ? field && strcmp(field, cases[i].field) == 0 : field == NULL),
              "validation case %zu gives %s on %s", i, td_errcode(cases[i].rc),
              cases[i].field ? cases[i].field : "-");
    }
    memset(longtype, 'x', sizeof longtype - 1);
    longtype[sizeof longtype - 1] = '\0';
    {
        td_link_params p = {.original_url = "https://x.example",
                            .link_function = "LinkedIn",
                            .link_type = longtype};
        const char *field = NULL;
        CHECK(td_link_validate(t, &p, &field) == TD_ETOOBIG && strcmp(field, "link_type") == 0,
              "over-long link_type refused naming it");
    }
}

/* The same context gives the same link through two separate store handles. */
static void idempotency(void)
{
    td_store *s1 = open_store(), *s2 = open_store();
    td_tracker *t1 = tracker(s1, 10000, NULL), *t2 = tracker(s2, 10000, NULL);
    td_link_params p = {.original_url = "https://calendly.com/jane/30min",
                        .link_function = "CALENDLY",
                        .job_id = "3F2504E0-4F89-41D3-9A0C-0305E82C3301",
                        .application_id = APP};
    td_link a, b, c;
    bool created_a = false, created_b = true;

    CHECK(td_link_create(t1, &p, &a, &created_a, NULL) == 0 && created_a, "first create makes it");
    CHECK(td_link_create(t2, &p, &b, &created_b, NULL) == 0 && !created_b,
          "second handle finds it");
    CHECK_STR(b.tracking_id, a.tracking_id, "same tracking id across handles");
    CHECK_STR(a.link_function, "Calendly", "function stored in its configured spelling");
    CHECK_STR(a.job_id, JOB, "job id stored in lower case");
    CHECK(strncmp(a.tracking_id, "lt_calendly_", 12) == 0, "id starts with lt_calendly_");
    {
        char want[TD_LINK_REDIRECT_SIZE];
        snprintf(want, sizeof want, "https://t.example.org/track/%s", a.tracking_id);
        CHECK_STR(a.redirect_url, want, "redirect_url is base + /track/ + id (slash trimmed)");
    }
    p.application_id = NULL;
    CHECK(td_link_create(t1, &p, &c, NULL, NULL) == 0 && strcmp(c.tracking_id, a.tracking_id),
          "another application is another context");
    {
        td_link d;
        td_link_params q = p;
        q.original_url = "https://calendly.com/jane/60min";
        CHECK(td_link_create(t2, &q, &d, NULL, NULL) == 0 && strcmp(d.tracking_id, c.tracking_id),
              "another URL is another context");
    }
    /* After a restart (new handles, empty caches) the same link comes back. */
    td_tracker_free(t1);
    td_store_close(s1);
    s1 = open_store();
    t1 = tracker(s1, 10000, NULL);
    p.application_id = APP;
    CHECK(td_link_create(t1, &p, &b, &created_b, NULL) == 0 && !created_b &&
              strcmp(b.tracking_id, a.tracking_id) == 0,
          "same link after a restart");
    td_tracker_free(t1);
    td_tracker_free(t2);
    td_store_close(s1);
    td_store_close(s2);
}

struct race {
    int thread;
    int failures;
    char ids[40][TD_LINK_ID_SIZE];
};

/* Creates the same 40 contexts from its own store handle. */
static void *racer(void *arg)
{
    struct race *r = arg;
    td_store *st = open_store();
    td_tracker *t = tracker(st, 10000, NULL);

    for (int i = 0; i < 40; i++) {
        char url[64];
        td_link l;
        td_link_params p = {.original_url = url, .link_function = "Portfolio", .job_id = JOB};
        snprintf(url, sizeof url, "https://jane.example/project/%d", i);
        if (td_link_create(t, &p, &l, NULL, NULL) != 0)
            r->failures++;
        else
            memcpy(r->ids[i], l.tracking_id, sizeof l.tracking_id);
    }
    td_tracker_free(t);
    td_store_close(st);
    return NULL;
}

/* Counts listed links. */
static int count_cb(void *ud, const td_link *l)
{
    (*(int *)ud)++;
    return 0;
}

/* Concurrent creators of the same contexts end with one row per context. */
static void concurrency(void)
{
    enum { T = 6 };
    static struct race races[T];
    pthread_t th[T];
    td_store *st;
    td_link_filter f = {.job_id = JOB, .link_function = "Portfolio", .active = -1, .limit = 1000};
    int rows = 0, same = 1, failures = 0;

    for (int i = 0; i < T; i++) {
        races[i].thread = i;
        pthread_create(&th[i], NULL, racer, &races[i]);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < T; i++) {
        failures += races[i].failures;
        for (int j = 0; j < 40; j++)
            same &= strcmp(races[i].ids[j], races[0].ids[j]) == 0;
    }
    CHECK_INT(failures, 0, "%d concurrent creators all succeed", T);
    CHECK(same, "every creator got the same id for each context");
    st = open_store();
    td_store_link_list(st, &f, count_cb, &rows);
    CHECK_INT(rows, 40, "one row per context after the race");
    td_store_close(st);
}

/* Redirect lookups: active, deactivated, expired, unknown, and cache freshness. */
static void resolve(void)
{
    td_store *s1 = open_store(), *s2 = open_store();
    td_tracker *t1 = tracker(s1, 200, NULL), *t2 = tracker(s2, 200, NULL);
    td_link_params p = {.original_url = "https://www.linkedin.com/in/jane",
                        .link_function = "LinkedIn",
                        .job_id = JOB};
    td_link l, r;
    int64_t now = td_time_now_ms();

    td_link_create(t1, &p, &l, NULL, NULL);
    CHECK(td_link_resolve(t1, l.tracking_id, now, &r) == 0 &&
              strcmp(r.original_url, p.original_url) == 0,
          "active link resolves to its URL");
    CHECK(td_link_resolve(t1, "lt_linkedin_doesnotexist", now, &r) == TD_ENOTFOUND, "unknown id");
    CHECK(td_link_resolve(t1, "bad id!", now, &r) == TD_ENOTFOUND, "malformed id");
    CHECK(td_link_set_active(t1, l.tracking_id, false) == 0, "deactivate");
    CHECK(td_link_resolve(t1, l.tracking_id, now, &r) == TD_EGONE,
          "deactivated link is gone at once in the same process");
    CHECK(td_link_set_active(t1, "lt_nope_x", false) == TD_ENOTFOUND, "deactivate unknown");
    CHECK(td_link_set_active(t1, l.tracking_id, true) == 0 &&
              td_link_resolve(t1, l.tracking_id, td_time_now_ms(), &r) == 0,
          "reactivated link resolves");
    /* Another process deactivates: seen here once the cached copy is older than the TTL. */
    CHECK(td_link_set_active(t2, l.tracking_id, false) == 0, "deactivated by another handle");
    usleep(250 * 1000);
    CHECK(td_link_resolve(t1, l.tracking_id, td_time_now_ms(), &r) == TD_EGONE,
          "another handle's deactivation is seen after the cache TTL");
    td_link_set_active(t2, l.tracking_id, true);
    /* Expiry. */
    p.original_url = "https://jane.example/expiring";
    p.link_function = "Portfolio";
    p.expires_at = now + 1000;
    CHECK(td_link_create(t1, &p, &l, NULL, NULL) == 0 && l.expires_at == now + 1000,
          "link with expiry");
    CHECK(td_link_resolve(t1, l.tracking_id, now + 999, &r) == 0, "before expiry it resolves");
    CHECK(td_link_resolve(t1, l.tracking_id, now + 1000, &r) == TD_EEXPIRED, "at expiry: expired");
    td_tracker_free(t1);
    td_tracker_free(t2);
    td_store_close(s1);
    td_store_close(s2);
}

/* Batch creation validates everything first. */
static void batch(void)
{
    td_store *st = open_store();
    td_tracker *t = tracker(st, 10000, "calendly.com,*.linkedin.com");
    td_link_params p[3] = {
        {.original_url = "https://calendly.com/jane", .link_function = "Calendly", .job_id = APP},
        {.original_url = "https://www.linkedin.com/in/jane",
         .link_function = "LinkedIn",
         .job_id = APP},
        {.original_url = "https://evil.example/", .link_function = "Portfolio", .job_id = APP},
    };
    td_link out[3], l;
    bool created[3];
    size_t bad = 99;
    const char *field = NULL;
    td_link_filter f = {.job_id = APP, .active = -1, .limit = 100};
    int rows = 0;

    CHECK(td_link_create_many(t, p, 3, out, created, &bad, &field) == TD_EURL_DOMAIN && bad == 2 &&
              strcmp(field, "original_url") == 0,
          "allow-list refusal names entry 2");
    td_store_link_list(st, &f, count_cb, &rows);
    CHECK_INT(rows, 0, "nothing stored when one entry is bad");
    CHECK(td_link_create_many(t, p, 2, out, created, &bad, &field) == 0 && created[0] && created[1],
          "two links made in one call");
    CHECK(td_link_create(t, &p[0], &l, NULL, NULL) == 0 &&
              strcmp(l.tracking_id, out[0].tracking_id) == 0,
          "batch links are the same as single ones");
    td_tracker_free(t);
    td_store_close(st);
}

/* Bad tracker settings are refused with a message. */
static void settings(td_store *st)
{
    td_link_config bad_base = {.base_url = "ftp://x"};
    td_link_config bad_fn = {.functions = "Calendly,Fax Machine"};
    td_link_config bad_dom = {.allowed_domains = "a$b"};
    td_link_config custom = {.functions = "Calendly,Website"};
    td_tracker *t = NULL;
    char err[256];

    CHECK(td_tracker_new(st, &bad_base, &t, err, sizeof err) == TD_EINVAL && !t &&
              strstr(err, "base URL"),
          "bad base URL: %s", err);
    CHECK(td_tracker_new(st, &bad_fn, &t, err, sizeof err) == TD_EINVAL && strstr(err, "Fax"),
          "bad function name: %s", err);
    CHECK(td_tracker_new(st, &bad_dom, &t, err, sizeof err) == TD_EINVAL, "bad domain: %s", err);
    CHECK(td_tracker_new(st, &custom, &t, err, sizeof err) == 0 &&
              td_tracker_function(t, "website") && !td_tracker_function(t, "LinkedIn"),
          "configured functions replace the default set");
    td_tracker_free(t);
}

/* Entry point. */
int main(void)
{
    td_store *st;
    td_tracker *t;

    snprintf(db, sizeof db, "%s/links.db", td_test_tmpdir());
    st = open_store();
    t = tracker(st, 10000, NULL);
    validation(t);
    settings(st);
    td_tracker_free(t);
    td_store_close(st);
    idempotency();
    concurrency();
    resolve();
    batch();
    TEST_DONE();
}
