/* The storage conformance suite: what every backend must do, run against the store named by
 * TD_TEST_STORE (a fresh temporary SQLite database when unset). With a postgres:// URL the
 * suite works in schemas of its own in that database, made here and dropped at the end. */
#include "core/common.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>

#include "core/time.h"
#include "test.h"
#include "trackdoc/classify.h"
#include "trackdoc/store.h"

#define JOB "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define JOB2 "3f2504e0-4f89-41d3-9a0c-0305e82c3302"
#define APP "9b2c3d4e-1111-4222-8333-444455556666"

static char url[1024];
static const char *backend = "sqlite";
static char pg_base[1024]; /* TD_TEST_STORE as given, for the suite's own PostgreSQL work */

/* Runs sql on the PostgreSQL database at conninfo; returns 0, or 1 after printing why. */
static int pg_exec(const char *conninfo, const char *sql)
{
    PGconn *db = PQconnectdb(conninfo);
    PGresult *r = NULL;
    int rc = 1;

    if (PQstatus(db) == CONNECTION_OK) {
        PQclear(PQexec(db, "SET client_min_messages = warning"));
        r = PQexec(db, sql);
        rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : 1;
    }
    if (rc)
        printf("# %s: %s", sql, PQerrorMessage(db));
    PQclear(r);
    PQfinish(db);
    return rc;
}

/* Writes the URL of base whose connections use schema (search_path) into out. */
static void pg_schema_url(const char *base, const char *schema, char *out, size_t n)
{
    snprintf(out, n, "%s%soptions=-csearch_path%%3D%s", base, strchr(base, '?') ? "&" : "?",
             schema);
}

/* Fills a link row for tests. */
static td_link make_link(const char *id, const char *job, const char *app, const char *fn,
                         const char *dest, int64_t created)
{
    td_link l;

    memset(&l, 0, sizeof l);
    snprintf(l.tracking_id, sizeof l.tracking_id, "%s", id);
    snprintf(l.job_id, sizeof l.job_id, "%s", job ? job : "");
    snprintf(l.application_id, sizeof l.application_id, "%s", app ? app : "");
    snprintf(l.link_function, sizeof l.link_function, "%s", fn);
    snprintf(l.original_url, sizeof l.original_url, "%s", dest);
    snprintf(l.redirect_url, sizeof l.redirect_url, "http://t/track/%s", id);
    l.created_at = created;
    l.is_active = true;
    return l;
}

/* Opening: bad URLs, the PostgreSQL placeholder, migrations. */
static void opening(void)
{
    td_store *st = NULL;
    char err[512];
    int dbv = 0, known = 0, applied = -1;

    CHECK(td_store_open("postgres://u:hunter2@127.0.0.1:1/db", NULL, &st, err, sizeof err) ==
                  TD_EDB &&
              !st && strstr(err, "PostgreSQL") && !strstr(err, "hunter2"),
          "postgres URL of a server that is not there: a clear error, no password (%s)", err);
    CHECK(td_store_open("redis://x", NULL, &st, err, sizeof err) == TD_EINVAL &&
              strstr(err, "redis"),
          "unknown scheme refused naming it");
    CHECK(td_store_open("sqlite:", NULL, &st, err, sizeof err) == TD_EINVAL, "empty path refused");
    CHECK(td_store_open("/proc/forbidden/x.db", NULL, &st, err, sizeof err) != 0 && !st,
          "unwritable folder refused: %s", err);
    CHECK(td_store_open(url, NULL, &st, err, sizeof err) == 0, "open %s", url);
    CHECK(td_store_schema_version(st, &dbv, &known) == 0 && dbv == known && known >= 1,
          "migrated on open to version %d", known);
    CHECK(td_store_migrate(st, &applied) == 0 && applied == 0, "migrating again applies nothing");
    CHECK(td_store_ping(st) == 0, "ping");
    CHECK_STR(td_store_backend(st), backend, "backend name");
    td_store_close(st);
    td_store_close(NULL);
}

/* A database from a newer trackdoc is refused, not damaged. */
static void newer_schema(const char *dir)
{
    char path[600], err[512];
    sqlite3 *h = NULL;
    td_store *st = NULL;

    snprintf(path, sizeof path, "%s/newer.db", dir);
    CHECK(td_store_open(path, NULL, &st, err, sizeof err) == 0, "fresh database");
    td_store_close(st);
    st = NULL;
    sqlite3_open(path, &h);
    sqlite3_exec(h, "INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01')", NULL,
                 NULL, NULL);
    sqlite3_close(h);
    CHECK(td_store_open(path, NULL, &st, err, sizeof err) == TD_ESCHEMA && !st &&
              strstr(err, "999"),
          "newer schema refused: %s", err);
}

/* Adds up the clicks of aggregate rows. */
static int count_all(void *ud, const td_click_row *r)
{
    *(int64_t *)ud += r->clicks;
    return 0;
}

/* Counts the GET clicks of one link. */
static int64_t clicks_of(td_store *st, const char *tracking_id)
{
    td_click_filter f = {.tracking_id = tracking_id};
    int64_t n = 0;

    td_store_click_groups(st, &f, TD_GROUP_ALL, count_all, &n);
    return n;
}

/* What clients send that a database may dislike: bytes that are not UTF-8, a large batch with
 * one unknown link and one invalid metadata among good clicks. Nothing is lost but those. */
static void odd_clicks(td_store *st)
{
    static td_click k[300];
    static int row_rc[300];
    int64_t at = 1830297600000LL; /* 2028-01-01 */
    int bad = 0;

    memset(k, 0, sizeof k);
    for (int i = 0; i < 300; i++) {
        snprintf(k[i].click_id, sizeof k[i].click_id, "00000000-0000-7000-8000-0000000a%04d", i);
        snprintf(k[i].tracking_id, sizeof k[i].tracking_id, "lt_linkedin_L05");
        k[i].clicked_at = at + i;
        k[i].user_agent = "Mozilla/5.0 (\xff\xfe; caf\xc3)";
        k[i].referrer_url = "https://example.com/\xe9t\xe9";
        k[i].ip_address = i % 2 ? "2001:db8::7" : "198.51.100.7";
        k[i].metadata = "{\"utm\":{\"utm_source\":\"x\\\"y\"}}";
    }
    snprintf(k[100].tracking_id, sizeof k[100].tracking_id, "lt_gone");
    k[200].metadata = "{not json";
    CHECK(td_store_click_insert(st, k, 300, row_rc) == 0, "a batch of 300 odd clicks commits");
    for (int i = 0; i < 300; i++)
        bad += row_rc[i] != 0;
    CHECK(row_rc[100] == TD_ENOTFOUND && row_rc[200] == TD_EINVAL && bad == 2,
          "only the unknown link and the invalid metadata are refused");
    CHECK_INT(clicks_of(st, "lt_linkedin_L05"), 298,
              "298 clicks stored, bytes that are not UTF-8 too");
    CHECK(td_store_click_insert(st, k, 300, row_rc) == 0 && clicks_of(st, "lt_linkedin_L05") == 298,
          "the same batch again changes nothing");
}

/* PostgreSQL: connections the server closed (a restart, a failover) are replaced unnoticed. */
static void reconnect_pg(td_store *st)
{
    td_link out;

    CHECK(pg_exec(pg_base, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE application_name = 'trackdoc' AND pid <> pg_backend_pid()") == 0,
          "the server closes every trackdoc connection");
    CHECK(td_store_ping(st) == 0, "ping after the connections were closed");
    CHECK(td_store_link_get(st, "lt_calendly_A", &out) == 0,
          "read after the connections were closed");
    CHECK_INT(clicks_of(st, "lt_linkedin_L05"), 298, "aggregate after the connections were closed");
}

/* The same on PostgreSQL, in a schema of its own. */
static void newer_schema_pg(const char *schema)
{
    char u[1200], sql[256], err[512];
    td_store *st = NULL;

    pg_schema_url(pg_base, schema, u, sizeof u);
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
    CHECK(pg_exec(pg_base, sql) == 0 && td_store_open(u, NULL, &st, err, sizeof err) == 0,
          "fresh schema: %s", err);
    td_store_close(st);
    st = NULL;
    pg_exec(u, "INSERT INTO schema_migrations VALUES (999, 'future', now())");
    CHECK(td_store_open(u, NULL, &st, err, sizeof err) == TD_ESCHEMA && !st && strstr(err, "999"),
          "newer schema refused: %s", err);
}

struct racer {
    td_store *st;
    int worker;
    int created, failed;
    char ids[20][TD_LINK_ID_SIZE];
};

/* Creates the same 20 contexts as every other racer, each with an id of its own. */
static void *race(void *arg)
{
    struct racer *r = arg;

    for (int i = 0; i < 20; i++) {
        char id[32], dest[64];
        td_link l, out;
        bool created = false;
        snprintf(id, sizeof id, "lt_calendly_R%02dw%d", i, r->worker);
        snprintf(dest, sizeof dest, "https://race.example/%d", i);
        l = make_link(id, JOB2, APP, "Calendly", dest, 20000 + i);
        if (td_store_link_insert(r->st, &l, &out, &created) != 0) {
            r->failed++;
            continue;
        }
        r->created += created;
        snprintf(r->ids[i], sizeof r->ids[i], "%s", out.tracking_id);
    }
    return NULL;
}

/* Concurrent creators of the same contexts (8 threads, each through a store of its own, as
 * separate processes would be) end with one row per context, and all agree on it. */
static void creation_race(void)
{
    struct racer r[8];
    pthread_t th[8];
    int created = 0, failed = 0, agree = 1;

    memset(r, 0, sizeof r);
    for (int w = 0; w < 8; w++) {
        r[w].worker = w;
        if (td_store_open(url, NULL, &r[w].st, NULL, 0) != 0)
            r[w].st = NULL;
    }
    for (int w = 0; w < 8; w++)
        if (r[w].st)
            pthread_create(&th[w], NULL, race, &r[w]);
    for (int w = 0; w < 8; w++) {
        if (!r[w].st) {
            failed += 20;
            continue;
        }
        pthread_join(th[w], NULL);
        created += r[w].created;
        failed += r[w].failed;
        for (int i = 0; i < 20; i++)
            agree &= strcmp(r[w].ids[i], r[0].ids[i]) == 0;
        td_store_close(r[w].st);
    }
    CHECK(failed == 0 && created == 20 && agree,
          "8 concurrent creators of 20 contexts: 20 rows made, one answer per context "
          "(made %d, failed %d)",
          created, failed);
}

/* Inserting links: idempotent per context, NULL ids equal, id clash detected. */
static void links(td_store *st)
{
    td_link a = make_link("lt_calendly_A", JOB, APP, "Calendly", "https://c.example/x", 1000);
    td_link b = make_link("lt_calendly_B", JOB, APP, "Calendly", "https://c.example/x", 2000);
    td_link n1 = make_link("lt_portfolio_N1", NULL, NULL, "Portfolio", "https://p.example", 3000);
    td_link n2 = make_link("lt_portfolio_N2", NULL, NULL, "Portfolio", "https://p.example", 4000);
    td_link clash = make_link("lt_calendly_A", JOB2, NULL, "Calendly", "https://other.example", 5);
    td_link out;
    bool created;

    a.expires_at = 1893456000000LL;
    snprintf(a.description, sizeof a.description, "résumé link \"quoted\"");
    snprintf(a.created_by, sizeof a.created_by, "cli:jane");
    snprintf(a.link_type, sizeof a.link_type, "resume");
    CHECK(td_store_link_insert(st, &a, &out, &created) == 0 && created, "insert new link");
    CHECK(strcmp(out.description, a.description) == 0 && out.expires_at == a.expires_at &&
              out.created_at == 1000 && strcmp(out.link_type, "resume") == 0 &&
              strcmp(out.created_by, "cli:jane") == 0 && out.is_active,
          "every field round-trips");
    CHECK(td_store_link_insert(st, &b, &out, &created) == 0 && !created &&
              strcmp(out.tracking_id, "lt_calendly_A") == 0,
          "same context returns the first row");
    CHECK(td_store_link_insert(st, &n1, &out, &created) == 0 && created, "context without ids");
    CHECK(td_store_link_insert(st, &n2, &out, &created) == 0 && !created &&
              strcmp(out.tracking_id, "lt_portfolio_N1") == 0,
          "absent job and application ids count as equal");
    CHECK(td_store_link_insert(st, &clash, &out, &created) == TD_ECONFLICT,
          "a tracking id used by another context is a conflict");
    CHECK(td_store_link_get(st, "lt_calendly_A", &out) == 0 && strcmp(out.job_id, JOB) == 0, "get");
    CHECK(td_store_link_get(st, "lt_missing", &out) == TD_ENOTFOUND, "get unknown");
    CHECK(td_store_link_set_active(st, "lt_calendly_A", false) == 0 &&
              td_store_link_get(st, "lt_calendly_A", &out) == 0 && !out.is_active,
          "deactivate");
    CHECK(td_store_link_set_active(st, "lt_calendly_A", true) == 0, "activate");
    CHECK(td_store_link_set_active(st, "lt_missing", true) == TD_ENOTFOUND, "activate unknown");
}

struct collect {
    char ids[64][TD_LINK_ID_SIZE];
    int n;
};

/* Collects listed ids. */
static int collect(void *ud, const td_link *l)
{
    struct collect *c = ud;

    if (c->n < 64)
        snprintf(c->ids[c->n++], TD_LINK_ID_SIZE, "%s", l->tracking_id);
    return 0;
}

/* Listing: filters, newest first, keyset pages without gaps or repeats. */
static void listing(td_store *st)
{
    struct collect c = {0};
    td_link_filter f = {.job_id = JOB2, .active = -1, .limit = 1000};
    td_link l, out;
    int64_t last_at = 0;
    char last_id[TD_LINK_ID_SIZE] = "", seen[32] = {0};
    int pages = 0, total = 0;

    for (int i = 0; i < 25; i++) {
        char id[32], dest[64];
        snprintf(id, sizeof id, "lt_linkedin_L%02d", i);
        snprintf(dest, sizeof dest, "https://l.example/%d", i);
        /* Pairs of rows share a created_at, so the cursor must break ties by id. */
        l = make_link(id, JOB2, i % 2 ? APP : NULL, i % 3 ? "LinkedIn" : "Portfolio", dest,
                      10000 + i / 2);
        td_store_link_insert(st, &l, &out, NULL);
    }
    td_store_link_set_active(st, "lt_linkedin_L03", false);
    td_store_link_list(st, &f, collect, &c);
    CHECK_INT(c.n, 25, "list by job");
    CHECK(strcmp(c.ids[0], "lt_linkedin_L24") == 0, "newest first (%s)", c.ids[0]);
    c.n = 0;
    f.application_id = APP;
    td_store_link_list(st, &f, collect, &c);
    CHECK_INT(c.n, 12, "list by job and application");
    c.n = 0;
    f.application_id = NULL;
    f.link_function = "Portfolio";
    td_store_link_list(st, &f, collect, &c);
    CHECK_INT(c.n, 9, "list by function");
    c.n = 0;
    f.link_function = NULL;
    f.active = 0;
    td_store_link_list(st, &f, collect, &c);
    CHECK(c.n == 1 && strcmp(c.ids[0], "lt_linkedin_L03") == 0, "list inactive only");
    f.active = -1;
    f.limit = 4;
    do {
        c.n = 0;
        f.after_created_at = last_at;
        f.after_tracking_id = last_id;
        td_store_link_list(st, &f, collect, &c);
        for (int i = 0; i < c.n; i++) {
            int k = (int)strtol(c.ids[i] + 13, NULL, 10);
            seen[k]++;
            total++;
        }
        if (c.n) {
            td_store_link_get(st, c.ids[c.n - 1], &out);
            last_at = out.created_at;
            snprintf(last_id, sizeof last_id, "%s", out.tracking_id);
        }
        pages++;
    } while (c.n == 4 && pages < 20);
    {
        int once = 1;
        for (int i = 0; i < 25; i++)
            once &= seen[i] == 1;
        CHECK(total == 25 && once, "keyset pages of 4 cover 25 rows exactly once (%d pages)",
              pages);
    }
    f.limit = 0;
    CHECK(td_store_link_list(st, &f, collect, &c) == TD_EINVAL, "limit 0 refused");
}

/* Clicks: batches, replays, unknown links, invalid metadata, aggregates. */
static void clicks(td_store *st)
{
    td_click k[6];
    int row_rc[6];
    int64_t day = 1795478400000LL; /* 2026-11-24T00:00:00Z */
    const char *ids[] = {"lt_calendly_A", "lt_calendly_A", "lt_portfolio_N1",
                         "lt_nope",       "lt_calendly_A", "lt_calendly_A"};

    memset(k, 0, sizeof k);
    for (int i = 0; i < 6; i++) {
        snprintf(k[i].click_id, sizeof k[i].click_id, "00000000-0000-7000-8000-00000000000%d", i);
        snprintf(k[i].tracking_id, sizeof k[i].tracking_id, "%s", ids[i]);
        k[i].clicked_at = day + i * 3600000LL - (i == 5 ? 86400000LL : 0);
        k[i].click_source = i == 1 ? TD_SOURCE_EMAIL : TD_SOURCE_DIRECT;
        k[i].ip_address = "198.51.100.7";
        k[i].user_agent = "Mozilla/5.0";
    }
    k[4].head = true;
    k[2].metadata = "{\"utm\":{\"utm_source\":\"newsletter\"}}";
    CHECK(td_store_click_insert(st, k, 6, row_rc) == 0, "batch of 6 committed");
    CHECK(row_rc[0] == 0 && row_rc[3] == TD_ENOTFOUND && row_rc[5] == 0,
          "per-row results: unknown link refused alone");
    CHECK(td_store_click_insert(st, k, 2, row_rc) == 0 && row_rc[0] == 0,
          "replaying the same click ids is harmless");
    {
        td_click bad = k[0];
        snprintf(bad.click_id, sizeof bad.click_id, "00000000-0000-7000-8000-0000000000ff");
        bad.metadata = "{broken";
        CHECK(td_store_click_insert(st, &bad, 1, row_rc) == 0 && row_rc[0] == TD_EINVAL,
              "invalid metadata refused per row");
    }
}

struct rows {
    char keys[16][64];
    int64_t counts[16];
    int64_t visitors[16];
    int64_t first, last;
    int n;
};

/* Collects aggregate rows. */
static int take_rows(void *ud, const td_click_row *r)
{
    struct rows *a = ud;

    if (a->n < 16) {
        snprintf(a->keys[a->n], 64, "%s", r->key);
        a->visitors[a->n] = r->visitors;
        a->counts[a->n++] = r->clicks;
        a->first = r->first_click;
        a->last = r->last_click;
    }
    return 0;
}

/* Aggregates over the clicks stored by clicks(). */
static void aggregates(td_store *st)
{
    int64_t day = 1795478400000LL;
    td_click_filter f = {.tracking_id = "lt_calendly_A"};
    struct rows r = {0};

    td_store_click_groups(st, &f, TD_GROUP_ALL, take_rows, &r);
    CHECK(r.n == 1 && r.counts[0] == 3, "GET clicks of one link: 3 (HEAD not counted)");
    CHECK(r.first == day - 86400000LL + 5 * 3600000LL && r.last == day + 3600000LL,
          "first and last click times");
    memset(&r, 0, sizeof r);
    f.include_head = true;
    td_store_click_groups(st, &f, TD_GROUP_METHOD, take_rows, &r);
    CHECK(r.n == 2 && strcmp(r.keys[0], "GET") == 0 && r.counts[0] == 3 &&
              strcmp(r.keys[1], "HEAD") == 0 && r.counts[1] == 1,
          "by method: 3 GET, 1 HEAD");
    memset(&r, 0, sizeof r);
    f.include_head = false;
    td_store_click_groups(st, &f, TD_GROUP_SOURCE, take_rows, &r);
    CHECK(r.n == 2 && strcmp(r.keys[0], "direct") == 0 && r.counts[0] == 2 &&
              strcmp(r.keys[1], "email") == 0 && r.counts[1] == 1,
          "by source");
    memset(&r, 0, sizeof r);
    td_store_click_groups(st, &f, TD_GROUP_DAY, take_rows, &r);
    CHECK(r.n == 2 && strcmp(r.keys[0], "2026-11-23") == 0 &&
              strcmp(r.keys[1], "2026-11-24") == 0 && r.counts[1] == 2,
          "by day, ascending");
    memset(&r, 0, sizeof r);
    f.since = day;
    f.until = day + 3600000LL;
    td_store_click_groups(st, &f, TD_GROUP_ALL, take_rows, &r);
    CHECK(r.n == 1 && r.counts[0] == 1, "since inclusive, until exclusive");
    memset(&r, 0, sizeof r);
    {
        td_click_filter j = {.job_id = JOB};
        td_store_click_groups(st, &j, TD_GROUP_FUNCTION, take_rows, &r);
        CHECK(r.n == 1 && strcmp(r.keys[0], "Calendly") == 0 && r.counts[0] == 3,
              "by function for a job");
    }
    memset(&r, 0, sizeof r);
    {
        td_click_filter a = {.application_id = APP};
        td_store_click_groups(st, &a, TD_GROUP_LINK, take_rows, &r);
        CHECK(r.n == 1 && strcmp(r.keys[0], "lt_calendly_A") == 0, "by link for an application");
    }
    memset(&r, 0, sizeof r);
    {
        td_click_filter none = {.tracking_id = "lt_linkedin_L01"};
        td_store_click_groups(st, &none, TD_GROUP_ALL, take_rows, &r);
        CHECK_INT(r.n, 0, "a link without clicks gives no row");
    }
}

/* Click classes, visitor counts, reclassification, salts and purges. */
static void click_truth(td_store *st)
{
    int64_t t0 = 1796083200000LL; /* 2026-12-01T00:00:00Z */
    const char *who[] = {"v1", "v1", "v2", NULL, "v3"};
    const int cls[] = {TD_CLASS_HUMAN, TD_CLASS_HUMAN, TD_CLASS_HUMAN, TD_CLASS_SCANNER,
                       TD_CLASS_PREVIEW};
    const char *ids[5];
    td_click k[5];
    int row_rc[5];
    struct rows r = {0};
    td_click_filter f = {.tracking_id = "lt_portfolio_N1", .since = t0};
    char salt1[65], salt2[65], salt3[65];
    int64_t deleted = -1;

    memset(k, 0, sizeof k);
    for (int i = 0; i < 5; i++) {
        snprintf(k[i].click_id, sizeof k[i].click_id, "00000000-0000-7000-8000-0000000001%02d", i);
        snprintf(k[i].tracking_id, sizeof k[i].tracking_id, "lt_portfolio_N1");
        k[i].clicked_at = t0 + i * 1000;
        k[i].click_class = cls[i];
        k[i].class_reason = i == 3 ? "ua:Proofpoint" : "browser";
        k[i].visitor_hash = who[i];
        ids[i] = k[i].click_id;
    }
    CHECK(td_store_click_insert(st, k, 5, row_rc) == 0 && row_rc[4] == 0,
          "classified clicks stored");
    td_store_click_groups(st, &f, TD_GROUP_CLASS, take_rows, &r);
    CHECK(r.n == 3 && strcmp(r.keys[0], "human") == 0 && r.counts[0] == 3 &&
              strcmp(r.keys[1], "preview") == 0 && strcmp(r.keys[2], "scanner") == 0,
          "by class: 3 human, 1 preview, 1 scanner");
    f.classes = TD_CLASS_BIT(TD_CLASS_HUMAN);
    memset(&r, 0, sizeof r);
    td_store_click_groups(st, &f, TD_GROUP_ALL, take_rows, &r);
    CHECK(r.n == 1 && r.counts[0] == 3, "classes filter: human clicks only (3)");
    CHECK(r.visitors[0] == 2, "unique visitors of the human clicks: 2 (v1 twice, v2)");
    f.classes = TD_CLASS_BIT(TD_CLASS_HUMAN) | TD_CLASS_BIT(TD_CLASS_PREVIEW);
    memset(&r, 0, sizeof r);
    td_store_click_groups(st, &f, TD_GROUP_ALL, take_rows, &r);
    CHECK(r.n == 1 && r.counts[0] == 4, "classes filter: human and preview (4)");

    /* a burst found later: the first two become scanner clicks */
    CHECK(td_store_click_reclassify(st, ids, 2, TD_CLASS_SCANNER, "burst") == 0,
          "reclassify two clicks");
    f.classes = TD_CLASS_BIT(TD_CLASS_HUMAN);
    memset(&r, 0, sizeof r);
    td_store_click_groups(st, &f, TD_GROUP_ALL, take_rows, &r);
    CHECK(r.n == 1 && r.counts[0] == 1, "after reclassifying, one human click is left");
    {
        const char *unknown[] = {"00000000-0000-7000-8000-00000000dead"};
        CHECK(td_store_click_reclassify(st, unknown, 1, TD_CLASS_BOT, "x") == 0,
              "reclassifying an unknown click id is harmless");
        CHECK(td_store_click_reclassify(st, unknown, 1, 99, "x") == TD_EINVAL,
              "an unknown class is refused");
    }

    /* salts: one per day, shared, and old ones deleted */
    CHECK(td_store_visitor_salt(st, "2026-12-01", "2026-11-30", salt1) == 0 && strlen(salt1) == 64,
          "a day's salt is made: 64 hex characters");
    CHECK(td_store_visitor_salt(st, "2026-12-01", "2026-11-30", salt2) == 0 &&
              strcmp(salt1, salt2) == 0,
          "the same day gives the same salt");
    CHECK(td_store_visitor_salt(st, "2026-12-02", "2026-12-02", salt3) == 0 &&
              strcmp(salt1, salt3) != 0,
          "another day gives another salt");
    CHECK(td_store_visitor_salt(st, "2026-12-01", "2026-12-01", salt2) == 0 &&
              strcmp(salt1, salt2) != 0,
          "a salt deleted as too old is never given again: a new one replaces it");
    CHECK(td_store_visitor_salt(st, "2026-12", "2026-12-01", salt2) == TD_EINVAL,
          "a malformed day is refused");

    /* purge: clicks before a time go, the others stay */
    CHECK(td_store_click_purge(st, t0 + 2000, &deleted) == 0 && deleted >= 2,
          "purge before a time deletes the older clicks (%lld)", (long long)deleted);
    f.classes = 0;
    memset(&r, 0, sizeof r);
    td_store_click_groups(st, &f, TD_GROUP_ALL, take_rows, &r);
    CHECK(r.n == 1 && r.counts[0] == 3, "the three later clicks are kept");
}

/* Clicks of the rollup tests: all in March 2031, a period no other test uses. */
#define R_DAY0 1930089600000LL /* 2031-03-01T00:00:00Z */
#define R_DAY 86400000LL
#define R_HOUR 3600000LL
#define R_JOB3 "3f2504e0-4f89-41d3-9a0c-0305e82c3303"
#define R_JOB4 "3f2504e0-4f89-41d3-9a0c-0305e82c3304"
#define R_APP3 "9b2c3d4e-1111-4222-8333-444455550003"
#define R_APP4 "9b2c3d4e-1111-4222-8333-444455550004"

struct totals {
    char keys[16][96]; /* "tracking_id class method source" */
    int64_t clicks[16], first[16], last[16];
    int n;
};

/* Collects td_store_click_totals rows. */
static int take_total(void *ud, const td_click_total *r)
{
    struct totals *t = ud;

    if (t->n < 16) {
        snprintf(t->keys[t->n], sizeof t->keys[0], "%s %s %s %s", r->tracking_id, r->click_class,
                 r->http_method, r->click_source);
        t->clicks[t->n] = r->clicks;
        t->first[t->n] = r->first_click;
        t->last[t->n++] = r->last_click;
    }
    return 0;
}

struct days {
    char keys[32][64]; /* "day function class method" */
    int64_t clicks[32];
    int n;
    int64_t sum;
};

/* Collects td_store_click_days rows. */
static int take_day(void *ud, const td_click_day *r)
{
    struct days *d = ud;

    d->sum += r->clicks;
    if (d->n < 32) {
        snprintf(d->keys[d->n], sizeof d->keys[0], "%s %s %s %s", r->day, r->link_function,
                 r->click_class, r->http_method);
        d->clicks[d->n++] = r->clicks;
    }
    return 0;
}

struct jobs {
    char ids[8][40];
    int64_t human[8], clicks[8];
    int n;
};

/* Collects td_store_click_top_jobs rows. */
static int take_job(void *ud, const td_click_job *r)
{
    struct jobs *j = ud;

    if (j->n < 8) {
        snprintf(j->ids[j->n], sizeof j->ids[0], "%s", r->job_id);
        j->human[j->n] = r->human_clicks;
        j->clicks[j->n++] = r->clicks;
    }
    return 0;
}

/* Sums the per-class counts of one link from the rollups and from td_store_click_groups. */
static bool rollup_matches_clicks(td_store *st, const char *tracking_id)
{
    td_click_filter f = {.tracking_id = tracking_id, .include_head = true};
    struct totals t = {0};
    struct rows r = {0};
    int64_t a = 0, b = 0;

    td_store_click_totals(st, &f, take_total, &t);
    td_store_click_groups(st, &f, TD_GROUP_ALL, take_rows, &r);
    for (int i = 0; i < t.n; i++)
        a += t.clicks[i];
    for (int i = 0; i < r.n; i++)
        b += r.counts[i];
    return a == b;
}

/* Finds the row of key in t; -1 when absent. */
static int total_at(const struct totals *t, const char *key)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->keys[i], key) == 0)
            return i;
    return -1;
}

/* Click rollups: totals per link, daily counts, top jobs; right after reclassifying and
 * purging, whatever the backend computes them from. */
static void rollups(td_store *st)
{
    static const struct {
        const char *link;
        int64_t at;
        int cls;
        bool head;
        td_click_source src;
    } plan[] = {
        {"lt_calendly_R1", R_DAY0 + 10 * R_HOUR, TD_CLASS_HUMAN, false, TD_SOURCE_EMAIL},
        {"lt_calendly_R1", R_DAY0 + 11 * R_HOUR, TD_CLASS_HUMAN, false, TD_SOURCE_DIRECT},
        {"lt_calendly_R1", R_DAY0 + R_DAY + 9 * R_HOUR, TD_CLASS_HUMAN, false, TD_SOURCE_DIRECT},
        {"lt_calendly_R1", R_DAY0 + 12 * R_HOUR, TD_CLASS_SCANNER, true, TD_SOURCE_DIRECT},
        {"lt_calendly_R1", R_DAY0 + R_DAY + 10 * R_HOUR, TD_CLASS_BOT, false, TD_SOURCE_DIRECT},
        {"lt_linkedin_R2", R_DAY0 + R_DAY + 8 * R_HOUR, TD_CLASS_HUMAN, false, TD_SOURCE_LINKEDIN},
        {"lt_linkedin_R2", R_DAY0 + 2 * R_DAY, TD_CLASS_PREVIEW, false, TD_SOURCE_DIRECT},
        {"lt_calendly_R3", R_DAY0 + 1000, TD_CLASS_SCANNER, false, TD_SOURCE_DIRECT},
        {"lt_calendly_R3", R_DAY0 + 2000, TD_CLASS_SCANNER, false, TD_SOURCE_DIRECT},
        {"lt_portfolio_R4", R_DAY0 + 2 * R_DAY + R_HOUR, TD_CLASS_HUMAN, false, TD_SOURCE_DIRECT},
    };
    enum { N = TD_ARRAY_SIZE(plan) };
    td_link l, out;
    td_click k[N];
    int row_rc[N];
    td_click_filter f = {.tracking_id = "lt_calendly_R1", .include_head = true};
    struct totals t = {0};
    struct days d = {0};
    struct jobs j = {0};
    int i;

    l = make_link("lt_calendly_R1", R_JOB3, R_APP3, "Calendly", "https://c.example/r", 1);
    td_store_link_insert(st, &l, &out, NULL);
    l = make_link("lt_linkedin_R2", R_JOB3, R_APP3, "LinkedIn", "https://l.example/r", 1);
    td_store_link_insert(st, &l, &out, NULL);
    l = make_link("lt_calendly_R3", R_JOB3, R_APP4, "Calendly", "https://c.example/r3", 1);
    td_store_link_insert(st, &l, &out, NULL);
    l = make_link("lt_portfolio_R4", R_JOB4, NULL, "Portfolio", "https://p.example/r", 1);
    td_store_link_insert(st, &l, &out, NULL);
    memset(k, 0, sizeof k);
    for (i = 0; i < N; i++) {
        snprintf(k[i].click_id, sizeof k[i].click_id, "00000000-0000-7000-8000-0000000003%02d", i);
        snprintf(k[i].tracking_id, sizeof k[i].tracking_id, "%s", plan[i].link);
        k[i].clicked_at = plan[i].at;
        k[i].click_class = plan[i].cls;
        k[i].head = plan[i].head;
        k[i].click_source = plan[i].src;
    }
    CHECK(td_store_click_insert(st, k, N, row_rc) == 0 && row_rc[N - 1] == 0,
          "rollups: 10 clicks on 4 links stored");

    td_store_click_totals(st, &f, take_total, &t);
    CHECK(t.n == 4 && strcmp(t.keys[0], "lt_calendly_R1 bot GET direct") == 0 &&
              strcmp(t.keys[1], "lt_calendly_R1 human GET direct") == 0 &&
              strcmp(t.keys[2], "lt_calendly_R1 human GET email") == 0 &&
              strcmp(t.keys[3], "lt_calendly_R1 scanner HEAD direct") == 0,
          "totals of a link: one row per class, method and source, in order (%d rows)", t.n);
    CHECK(t.clicks[1] == 2 && t.first[1] == R_DAY0 + 11 * R_HOUR &&
              t.last[1] == R_DAY0 + R_DAY + 9 * R_HOUR,
          "totals: clicks, first and last click of a group over two days");
    memset(&t, 0, sizeof t);
    {
        td_click_filter jf = {.job_id = R_JOB3, .classes = TD_CLASS_BIT(TD_CLASS_HUMAN)};
        td_store_click_totals(st, &jf, take_total, &t);
        CHECK(t.n == 3 && strcmp(t.keys[2], "lt_linkedin_R2 human GET linkedin") == 0 &&
                  t.clicks[0] + t.clicks[1] + t.clicks[2] == 4,
              "totals of a job, human GET clicks only: 4 in 3 groups");
    }
    memset(&t, 0, sizeof t);
    {
        td_click_filter af = {.application_id = R_APP4};
        td_store_click_totals(st, &af, take_total, &t);
        CHECK(t.n == 1 && strcmp(t.keys[0], "lt_calendly_R3 scanner GET direct") == 0 &&
                  t.clicks[0] == 2,
              "totals of an application");
    }
    memset(&t, 0, sizeof t);
    f.since = R_DAY0 + R_DAY;
    f.until = R_DAY0 + 2 * R_DAY;
    td_store_click_totals(st, &f, take_total, &t);
    CHECK(t.n == 2 && t.clicks[1] == 1 && t.first[1] == R_DAY0 + R_DAY + 9 * R_HOUR,
          "totals of one day: the human click and the bot click of that day");
    f.since = R_DAY0 + 1;
    CHECK(td_store_click_totals(st, &f, take_total, &t) == TD_EINVAL,
          "a period that does not start at midnight is refused");
    CHECK(td_store_click_days(st, &f, take_day, &d) == TD_EINVAL,
          "daily counts: same rule for the period");

    {
        td_click_filter all = {.since = R_DAY0, .until = R_DAY0 + 3 * R_DAY};
        td_store_click_days(st, &all, take_day, &d);
        CHECK(d.sum == 9 && strcmp(d.keys[0], "2031-03-01 Calendly human GET") == 0 &&
                  d.clicks[0] == 2 && strcmp(d.keys[1], "2031-03-01 Calendly scanner GET") == 0 &&
                  d.clicks[1] == 2,
              "daily counts of every link: 9 GET clicks, by day, function and class (%lld)",
              (long long)d.sum);
        memset(&d, 0, sizeof d);
        all.include_head = true;
        all.classes = TD_CLASS_BIT(TD_CLASS_SCANNER);
        td_store_click_days(st, &all, take_day, &d);
        CHECK(d.sum == 3 && d.n == 2 && strcmp(d.keys[1], "2031-03-01 Calendly scanner HEAD") == 0,
              "daily counts with HEAD requests, scanner only: 3");
    }
    memset(&d, 0, sizeof d);
    {
        td_click_filter one = {.tracking_id = "lt_calendly_R1"};
        td_store_click_days(st, &one, take_day, &d);
        CHECK(d.n == 3 && strcmp(d.keys[0], "2031-03-01 Calendly human GET") == 0 &&
                  d.clicks[0] == 2 && strcmp(d.keys[1], "2031-03-02 Calendly bot GET") == 0 &&
                  strcmp(d.keys[2], "2031-03-02 Calendly human GET") == 0,
              "daily counts of one link, every day");
    }

    {
        td_click_filter p = {
            .since = R_DAY0, .until = R_DAY0 + 3 * R_DAY, .classes = TD_CLASS_BIT(TD_CLASS_HUMAN)};
        td_store_click_top_jobs(st, &p, 10, take_job, &j);
        CHECK(j.n == 2 && strcmp(j.ids[0], R_JOB3) == 0 && j.human[0] == 4 && j.clicks[0] == 4 &&
                  strcmp(j.ids[1], R_JOB4) == 0 && j.human[1] == 1,
              "top jobs by human clicks: the job with 4, then the one with 1");
        memset(&j, 0, sizeof j);
        p.classes = 0;
        td_store_click_top_jobs(st, &p, 1, take_job, &j);
        CHECK(j.n == 1 && j.human[0] == 4 && j.clicks[0] == 8,
              "top jobs, limit 1, every class counted: 8 GET clicks, 4 human");
        memset(&j, 0, sizeof j);
        p.since = R_DAY0 + 2 * R_DAY;
        p.classes = TD_CLASS_BIT(TD_CLASS_PREVIEW);
        td_store_click_top_jobs(st, &p, 10, take_job, &j);
        CHECK(j.n == 2 && strcmp(j.ids[0], R_JOB4) == 0 && j.human[1] == 0 && j.clicks[1] == 1,
              "a job with only counted non-human clicks ranks after those with human clicks");
        CHECK(td_store_click_top_jobs(st, &p, 0, take_job, &j) == TD_EINVAL,
              "top jobs: limit 0 refused");
        p.job_id = R_JOB3;
        CHECK(td_store_click_top_jobs(st, &p, 5, take_job, &j) == TD_EINVAL,
              "top jobs: a job filter is refused");
    }

    /* A burst found later: R1's click of day 2 becomes a scanner click. */
    {
        const char *ids[] = {k[2].click_id};
        CHECK(td_store_click_reclassify(st, ids, 1, TD_CLASS_SCANNER, "burst") == 0,
              "rollups: reclassify a click");
    }
    memset(&t, 0, sizeof t);
    f.since = f.until = 0;
    td_store_click_totals(st, &f, take_total, &t);
    i = total_at(&t, "lt_calendly_R1 human GET direct");
    CHECK(i >= 0 && t.clicks[i] == 1 && t.last[i] == R_DAY0 + 11 * R_HOUR,
          "after reclassifying: one human direct click, its last click moved back");
    i = total_at(&t, "lt_calendly_R1 scanner GET direct");
    CHECK(i >= 0 && t.clicks[i] == 1 && t.first[i] == R_DAY0 + R_DAY + 9 * R_HOUR,
          "after reclassifying: the click counts as a scanner GET click");
    CHECK(rollup_matches_clicks(st, "lt_calendly_R1"), "rollups agree with the clicks of R1");

    /* Purge everything before day 2. */
    CHECK(td_store_click_purge(st, R_DAY0 + R_DAY, NULL) == 0, "rollups: purge before day 2");
    memset(&t, 0, sizeof t);
    td_store_click_totals(st, &f, take_total, &t);
    CHECK(t.n == 2 && total_at(&t, "lt_calendly_R1 bot GET direct") == 0 &&
              total_at(&t, "lt_calendly_R1 scanner GET direct") == 1,
          "after the purge, only day 2's groups are left (%d)", t.n);
    memset(&j, 0, sizeof j);
    {
        td_click_filter p = {.classes = TD_CLASS_BIT(TD_CLASS_HUMAN)};
        td_store_click_top_jobs(st, &p, 10, take_job, &j);
        CHECK(j.n >= 2 && strcmp(j.ids[0], R_JOB3) == 0 && j.human[0] == 1,
              "after the purge the job has one human click left (R2's)");
    }
    memset(&d, 0, sizeof d);
    {
        td_click_filter all = {.since = R_DAY0, .until = R_DAY0 + 3 * R_DAY};
        td_store_click_days(st, &all, take_day, &d);
        CHECK(d.sum == 5 && strncmp(d.keys[0], "2031-03-02", 10) == 0,
              "after the purge the daily counts start on day 2 (%lld clicks)", (long long)d.sum);
    }
    for (i = 0; i < 4; i++) {
        const char *links[] = {"lt_calendly_R1", "lt_linkedin_R2", "lt_calendly_R3",
                               "lt_portfolio_R4"};
        CHECK(rollup_matches_clicks(st, links[i]), "rollups agree with the clicks of %s", links[i]);
    }
}

/* Returns the integer the first column of sql's first row holds (-1 on error). */
static int64_t sqlite_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *q = NULL;
    int64_t v = -1;

    if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* SQLite: migration 4 fills the rollups from the clicks already stored, and deleting a link
 * takes its clicks out of them. */
static void rollup_migration(const char *dir)
{
    char path[600];
    sqlite3 *h = NULL;
    td_store *st = NULL;
    td_link l, out;
    td_click k[3];

    snprintf(path, sizeof path, "%s/rollup.db", dir);
    if (td_store_open(path, NULL, &st, NULL, 0) != 0)
        return;
    l = make_link("lt_calendly_M1", JOB, NULL, "Calendly", "https://c.example/m", 1);
    td_store_link_insert(st, &l, &out, NULL);
    memset(k, 0, sizeof k);
    for (int i = 0; i < 3; i++) {
        snprintf(k[i].click_id, sizeof k[i].click_id, "00000000-0000-7000-8000-0000000004%02d", i);
        snprintf(k[i].tracking_id, sizeof k[i].tracking_id, "lt_calendly_M1");
        k[i].clicked_at = R_DAY0 + i * R_DAY;
        k[i].click_class = i ? TD_CLASS_HUMAN : TD_CLASS_BOT;
    }
    td_store_click_insert(st, k, 3, NULL);
    td_store_close(st);
    st = NULL;
    /* Back to a version 3 database that has clicks: every later table, index and trigger
     * dropped (later migrations only add objects). */
    sqlite3_open(path, &h);
    {
        static const char *const v3 =
            "'schema_migrations', 'user_candidate_info', 'link_tracking', 'link_clicks', "
            "'api_keys', 'generated_documents', 'visitor_salts', 'link_tracking_context', "
            "'link_tracking_job', 'link_tracking_application', 'link_tracking_created', "
            "'link_clicks_tracking_time', 'link_clicks_time', 'api_keys_active_name', "
            "'generated_documents_job', 'generated_documents_application', "
            "'generated_documents_user', 'generated_documents_created'";
        char sql[1024], drops[4096] = "";
        sqlite3_stmt *q = NULL;
        snprintf(sql, sizeof sql,
                 "SELECT 'DROP ' || type || ' ' || name || ';' FROM sqlite_master WHERE name NOT "
                 "IN (%s) AND name NOT LIKE 'sqlite_%%' ORDER BY type = 'table'",
                 v3);
        sqlite3_prepare_v2(h, sql, -1, &q, NULL);
        while (q && sqlite3_step(q) == SQLITE_ROW) {
            size_t used = strlen(drops);
            snprintf(drops + used, sizeof drops - used, "%s", sqlite3_column_text(q, 0));
        }
        sqlite3_finalize(q);
        sqlite3_exec(h, drops, NULL, NULL, NULL);
        sqlite3_exec(h, "DELETE FROM schema_migrations WHERE version > 3", NULL, NULL, NULL);
    }
    CHECK_INT(sqlite_int(h, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'click_%'"), 0,
              "a version 3 database again, with clicks");
    sqlite3_close(h);
    h = NULL;
    CHECK(td_store_open(path, NULL, &st, NULL, 0) == 0, "migration 4 over stored clicks");
    if (!st)
        return;
    CHECK(rollup_matches_clicks(st, "lt_calendly_M1"),
          "migration 4 fills the rollups from the stored clicks");
    td_store_close(st);
    sqlite3_open(path, &h);
    CHECK_INT(sqlite_int(h, "SELECT sum(clicks) FROM click_job_days"), 3,
              "migration 4: the job's 3 GET clicks in click_job_days");
    CHECK(sqlite3_exec(h, "UPDATE link_tracking SET link_function = 'LinkedIn'", NULL, NULL,
                       NULL) != SQLITE_OK,
          "a link's function cannot change under its rollups");
    CHECK(sqlite3_exec(h, "PRAGMA foreign_keys = ON; DELETE FROM link_tracking", NULL, NULL,
                       NULL) == SQLITE_OK &&
              sqlite_int(h, "SELECT count(*) FROM link_clicks") == 0,
          "deleting a link deletes its clicks");
    CHECK(sqlite_int(h, "SELECT count(*) FROM click_link_days") == 0 &&
              sqlite_int(h, "SELECT count(*) FROM click_function_days") == 0 &&
              sqlite_int(h, "SELECT count(*) FROM click_job_days") == 0,
          "deleting a link empties its rollups");
    sqlite3_close(h);
}

/* Collects key names. */
static int take_key(void *ud, const td_apikey_row *k)
{
    (*(int *)ud)++;
    return 0;
}

/* API keys: insert, find by hash, name conflicts, list, revoke. */
static void apikeys(td_store *st)
{
    td_apikey_row k = {.key_id = "k1", .name = "laptop", .prefix = "td_abc", .created_at = 1},
                  k2 = {.key_id = "k2", .name = "laptop", .prefix = "td_def", .created_at = 2},
                  k3 = {.key_id = "k3", .name = "ci", .prefix = "td_abc", .created_at = 3}, out;
    int n = 0;

    CHECK(td_store_apikey_insert(st, &k, "h1") == 0, "insert key");
    CHECK(td_store_apikey_insert(st, &k2, "h2") == TD_ECONFLICT, "second active key of a name");
    CHECK(td_store_apikey_insert(st, &k3, "h3") == 0, "another name");
    CHECK(td_store_apikey_find(st, "h1", &out) == 0 && strcmp(out.name, "laptop") == 0, "find");
    CHECK(td_store_apikey_find(st, "hx", &out) == TD_ENOTFOUND, "unknown hash");
    CHECK(td_store_apikey_touch(st, "k1", 5000) == 0 && td_store_apikey_find(st, "h1", &out) == 0 &&
              out.last_used_at == 5000,
          "touch records last use");
    CHECK(td_store_apikey_revoke(st, "td_abc", 6000) == TD_ECONFLICT,
          "an ambiguous prefix revokes nothing");
    CHECK(td_store_apikey_revoke(st, "laptop", 6000) == 0, "revoke by name");
    CHECK(td_store_apikey_find(st, "h1", &out) == TD_ENOTFOUND, "revoked key no longer found");
    CHECK(td_store_apikey_revoke(st, "laptop", 7000) == TD_ENOTFOUND, "revoking twice: not found");
    CHECK(td_store_apikey_insert(st, &k2, "h2") == 0, "the name is free again after revoking");
    td_store_apikey_list(st, false, take_key, &n);
    CHECK_INT(n, 2, "two active keys listed");
    n = 0;
    td_store_apikey_list(st, true, take_key, &n);
    CHECK_INT(n, 3, "three keys with --all");
}

/* Counts listed profiles. */
static int count_profiles(void *ud, const td_profile *p)
{
    (*(int *)ud)++;
    return 0;
}

/* Counts listed documents. */
static int count_documents(void *ud, const td_document *d)
{
    (*(int *)ud)++;
    return 0;
}

/* Profiles: create, replace (created_at kept), read, list in pages, delete. */
static void profiles(td_store *st)
{
    td_profile p = {.user_id = "11111111-1111-4111-8111-111111111111",
                    .first_name = "Zoë",
                    .last_name = "Lindqvist",
                    .email = "zoe@example.com",
                    .calendly_url = "https://calendly.com/zoe",
                    .created_at = 1000,
                    .updated_at = 1000},
               q, out;
    bool created = false;
    int n = 0;

    CHECK(td_store_profile_put(st, &p, &created) == 0 && created, "profile created");
    q = p;
    snprintf(q.email, sizeof q.email, "z@example.org");
    q.linkedin_url[0] = '\0';
    q.created_at = 0;
    q.updated_at = 2000;
    CHECK(td_store_profile_put(st, &q, &created) == 0 && !created, "profile replaced");
    CHECK(td_store_profile_get(st, p.user_id, &out) == 0 &&
              strcmp(out.email, "z@example.org") == 0 && strcmp(out.first_name, "Zoë") == 0 &&
              out.created_at == 1000 && out.updated_at == 2000,
          "replace keeps created_at, updates the rest");
    CHECK(td_store_profile_get(st, "22222222-2222-4222-8222-222222222222", &out) == TD_ENOTFOUND,
          "unknown profile");
    {
        td_profile again = p;
        snprintf(again.email, sizeof again.email, "other@example.com");
        CHECK(td_store_profile_insert(st, &again) == TD_ECONFLICT &&
                  td_store_profile_get(st, p.user_id, &out) == 0 &&
                  strcmp(out.email, "z@example.org") == 0,
              "insert-only refuses an existing user and changes nothing");
    }
    for (int i = 0; i < 5; i++) {
        snprintf(q.user_id, sizeof q.user_id, "3333333%d-3333-4333-8333-333333333333", i);
        td_store_profile_put(st, &q, NULL);
    }
    td_store_profile_list(st, NULL, 100, count_profiles, &n);
    CHECK_INT(n, 6, "six profiles listed");
    n = 0;
    td_store_profile_list(st, "33333331-3333-4333-8333-333333333333", 2, count_profiles, &n);
    CHECK_INT(n, 2, "a page after a user_id");
    CHECK(td_store_profile_delete(st, p.user_id) == 0, "profile deleted");
    CHECK(td_store_profile_delete(st, p.user_id) == TD_ENOTFOUND, "deleting twice: not found");
}

/* Keeps per-job document counts as "job-suffix:n;". */
static int collect_doc_groups(void *ud, const char *job_id, int64_t n)
{
    char *out = ud;
    size_t len = strlen(out);

    snprintf(out + len, 256 - len, "%s:%lld;", job_id[0] ? job_id + 32 : "-", (long long)n);
    return 0;
}

/* Generated documents: record, unique names, read, list, mark deleted, count. */
static void documents(td_store *st)
{
    td_document d = {.document_id = "d1",
                     .filename = "resume_Zoe_Lindqvist_20261124_080000.docx",
                     .kind = "resume",
                     .format = "docx",
                     .template_name = "resume",
                     .job_id = JOB,
                     .user_id = "u1",
                     .size_bytes = 7000,
                     .created_at = 1000,
                     .urls_tracked = 3},
                e = d, out;
    td_document_filter f = {.limit = 100};
    int n = 0;
    int64_t count = -1;
    char groups[256];

    CHECK(td_store_document_insert(st, &d) == 0, "document recorded");
    snprintf(e.document_id, sizeof e.document_id, "d2");
    CHECK(td_store_document_insert(st, &e) == TD_ECONFLICT, "a file name is recorded once");
    snprintf(e.filename, sizeof e.filename, "cover_letter_Zoe.docx");
    e.created_at = 2000;
    e.job_id[0] = '\0';
    snprintf(e.application_id, sizeof e.application_id, "%s", APP);
    CHECK(td_store_document_insert(st, &e) == 0, "second document");
    CHECK(td_store_document_get(st, d.filename, &out) == 0 && out.size_bytes == 7000 &&
              out.urls_tracked == 3 && strcmp(out.job_id, JOB) == 0 && out.deleted_at == 0,
          "document read back");
    td_store_document_list(st, &f, count_documents, &n);
    CHECK_INT(n, 2, "two documents");
    n = 0;
    f.created_before = 1500;
    td_store_document_list(st, &f, count_documents, &n);
    CHECK_INT(n, 1, "one created before 1500");
    CHECK(td_store_document_mark_deleted(st, d.filename, 3000) == 0 &&
              td_store_document_get(st, d.filename, &out) == 0 && out.deleted_at == 3000,
          "marked deleted");
    CHECK(td_store_document_mark_deleted(st, d.filename, 4000) == TD_ENOTFOUND,
          "marking twice: not found");
    n = 0;
    f.created_before = 0;
    td_store_document_list(st, &f, count_documents, &n);
    CHECK_INT(n, 1, "deleted documents left out of lists");
    CHECK(td_store_document_count(st, JOB, NULL, &count) == 0 && count == 1, "count by job");
    CHECK(td_store_document_count(st, NULL, APP, &count) == 0 && count == 1,
          "count by application");
    groups[0] = '\0';
    CHECK(td_store_document_groups(st, collect_doc_groups, groups) == 0, "documents per job");
    CHECK_STR(groups, "-:1;3301:1;", "documents per job: without a job first, deleted counted");
}

/* Entry point. */
/* Fills a conversion row for tests: n makes its id, times are base + n seconds. */
static td_conversion make_conv(int n, const char *uri, const char *type, const char *job,
                               const char *app, const char *tid, const char *attribution)
{
    td_conversion c;

    memset(&c, 0, sizeof c);
    snprintf(c.conversion_id, sizeof c.conversion_id, "01900000-0000-7000-8000-%012d", n);
    snprintf(c.invitee_uri, sizeof c.invitee_uri, "%s", uri);
    snprintf(c.event_type, sizeof c.event_type, "%s", type);
    snprintf(c.job_id, sizeof c.job_id, "%s", job ? job : "");
    snprintf(c.application_id, sizeof c.application_id, "%s", app ? app : "");
    snprintf(c.tracking_id, sizeof c.tracking_id, "%s", tid ? tid : "");
    snprintf(c.attribution, sizeof c.attribution, "%s", attribution);
    c.received_at = 1767225600000LL + (int64_t)n * 1000; /* 2026-01-01 */
    return c;
}

/* Collects the conversion ids of a listing, comma-separated. */
static int collect_conv(void *ud, const td_conversion *c)
{
    char *out = ud;
    size_t n = strlen(out);

    snprintf(out + n, 1024 - n, "%s%ld", n ? "," : "", strtol(c->conversion_id + 24, NULL, 10));
    return 0;
}

/* Keeps booking-count rows as "key:bookings/cancellations/reschedules/active;". */
static int collect_counts(void *ud, const td_conversion_row *r)
{
    char *out = ud;
    size_t n = strlen(out);

    snprintf(out + n, 1024 - n, "%s:%lld/%lld/%lld/%lld;", r->key[0] ? r->key + 32 : "-",
             (long long)r->bookings, (long long)r->cancellations, (long long)r->reschedules,
             (long long)r->active);
    return 0;
}

/* Keeps booking-count rows with their whole key as "key:bookings/cancellations;". */
static int collect_key_counts(void *ud, const td_conversion_row *r)
{
    char *out = ud;
    size_t n = strlen(out);

    snprintf(out + n, 1024 - n, "%s:%lld/%lld;", r->key[0] ? r->key : "-", (long long)r->bookings,
             (long long)r->cancellations);
    return 0;
}

/* Calendly bookings (link_conversions) and per-database secrets. */
static void conversions(td_store *st)
{
    const char *i1 = "https://api.calendly.com/scheduled_events/E1/invitees/I1";
    const char *i2 = "https://api.calendly.com/scheduled_events/E2/invitees/I2";
    const char *i3 = "https://api.calendly.com/scheduled_events/E3/invitees/I3";
    const char *i4 = "https://api.calendly.com/scheduled_events/E4/invitees/I4";
    td_conversion c, got;
    td_conversion_filter f = {.limit = 100};
    char list[1024], secret[65], again[65], other[65];
    bool created = false;
    int64_t start = 0;

    td_time_parse("2026-02-01T15:00:00Z", &start);
    c = make_conv(1, i1, TD_CONV_CREATED, JOB, APP, "lt_calendly_Conv1AAAAAAAAA", "tracking_id");
    snprintf(c.link_function, sizeof c.link_function, "Calendly");
    snprintf(c.utm_source, sizeof c.utm_source, "trackdoc");
    snprintf(c.utm_medium, sizeof c.utm_medium, "calendly");
    snprintf(c.utm_campaign, sizeof c.utm_campaign, "%s", APP);
    snprintf(c.utm_content, sizeof c.utm_content, "lt_calendly_Conv1AAAAAAAAA");
    snprintf(c.utm_term, sizeof c.utm_term, "t\xc3\xa9rm");
    snprintf(c.scheduled_event_uri, sizeof c.scheduled_event_uri,
             "https://api.calendly.com/scheduled_events/E1");
    snprintf(c.event_name, sizeof c.event_name, "30 Minute Meeting");
    c.scheduled_start = start;
    c.scheduled_end = start + 1800000;
    snprintf(c.invitee_email, sizeof c.invitee_email, "rita@example.com");
    snprintf(c.invitee_hash, sizeof c.invitee_hash, "%064d", 7);
    snprintf(c.status, sizeof c.status, "active");
    c.created_at = c.received_at - 500;
    CHECK(td_store_conversion_insert(st, &c, &created) == 0 && created, "conversion: stored");
    CHECK(td_store_conversion_get(st, i1, TD_CONV_CREATED, &got) == 0, "conversion: read back");
    CHECK(strcmp(got.conversion_id, c.conversion_id) == 0 && strcmp(got.job_id, JOB) == 0 &&
              strcmp(got.application_id, APP) == 0 &&
              strcmp(got.tracking_id, "lt_calendly_Conv1AAAAAAAAA") == 0 &&
              strcmp(got.link_function, "Calendly") == 0 &&
              strcmp(got.attribution, "tracking_id") == 0 &&
              strcmp(got.utm_source, "trackdoc") == 0 && strcmp(got.utm_term, "t\xc3\xa9rm") == 0 &&
              strcmp(got.event_name, "30 Minute Meeting") == 0 && got.scheduled_start == start &&
              got.scheduled_end == start + 1800000 &&
              strcmp(got.invitee_email, "rita@example.com") == 0 &&
              strcmp(got.invitee_hash, c.invitee_hash) == 0 && strcmp(got.status, "active") == 0 &&
              !got.rescheduled && !got.old_invitee[0] && got.created_at == c.created_at &&
              got.received_at == c.received_at && got.canceled_at == 0,
          "conversion: every field round-trips");
    c = make_conv(99, i1, TD_CONV_CREATED, JOB2, NULL, NULL, "none");
    CHECK(td_store_conversion_insert(st, &c, &created) == 0 && !created,
          "conversion: the same invitee event again is not stored");
    CHECK(td_store_conversion_get(st, i1, TD_CONV_CREATED, &got) == 0 &&
              strcmp(got.conversion_id + 24, "000000000001") == 0 && strcmp(got.job_id, JOB) == 0,
          "conversion: the first row is kept unchanged");
    c = make_conv(98, i1, "invitee.updated", JOB, NULL, NULL, "none");
    CHECK(td_store_conversion_insert(st, &c, &created) == TD_EINVAL, "conversion: unknown type");
    c = make_conv(98, i1, TD_CONV_CANCELED, JOB, NULL, NULL, "guess");
    CHECK(td_store_conversion_insert(st, &c, &created) == TD_EINVAL,
          "conversion: unknown attribution");
    c = make_conv(98, "", TD_CONV_CANCELED, JOB, NULL, NULL, "none");
    CHECK(td_store_conversion_insert(st, &c, &created) == TD_EINVAL, "conversion: no invitee");
    CHECK(td_store_conversion_get(st, i1, TD_CONV_CANCELED, &got) == TD_ENOTFOUND,
          "conversion: an event not stored is not found");

    /* i1 canceled; i2 booked and moved (rescheduled) to i3; i4 booked, unattributed. */
    c = make_conv(2, i1, TD_CONV_CANCELED, JOB, APP, "lt_calendly_Conv1AAAAAAAAA", "tracking_id");
    c.created_at = c.received_at - 100;
    CHECK(td_store_conversion_insert(st, &c, &created) == 0 && created,
          "conversion: a cancellation is a second row");
    CHECK(td_store_conversion_get(st, i1, TD_CONV_CREATED, &got) == 0 &&
              got.canceled_at == c.created_at,
          "conversion: the booking gives the time of its cancellation");
    c = make_conv(3, i2, TD_CONV_CREATED, JOB2, NULL, NULL, "campaign");
    td_store_conversion_insert(st, &c, &created);
    c = make_conv(4, i2, TD_CONV_CANCELED, JOB2, NULL, NULL, "campaign");
    c.rescheduled = true;
    snprintf(c.new_invitee, sizeof c.new_invitee, "%s", i3);
    td_store_conversion_insert(st, &c, &created);
    CHECK(td_store_conversion_get(st, i2, TD_CONV_CREATED, &got) == 0 &&
              got.canceled_at == c.received_at,
          "conversion: without Calendly's time, the cancellation's time is its received_at");
    c = make_conv(5, i3, TD_CONV_CREATED, JOB2, NULL, NULL, "campaign");
    snprintf(c.old_invitee, sizeof c.old_invitee, "%s", i2);
    td_store_conversion_insert(st, &c, &created);
    CHECK(td_store_conversion_get(st, i3, TD_CONV_CREATED, &got) == 0 &&
              strcmp(got.old_invitee, i2) == 0,
          "conversion: old_invitee round-trips");
    c = make_conv(6, i4, TD_CONV_CREATED, NULL, NULL, NULL, "none");
    td_store_conversion_insert(st, &c, &created);

    list[0] = '\0';
    CHECK(td_store_conversion_list(st, &f, collect_conv, list) == 0, "conversion: list");
    CHECK_STR(list, "6,5,4,3,2,1", "conversion: newest first");
    list[0] = '\0';
    f.job_id = JOB2;
    td_store_conversion_list(st, &f, collect_conv, list);
    CHECK_STR(list, "5,4,3", "conversion: by job");
    list[0] = '\0';
    f.job_id = NULL;
    f.application_id = APP;
    f.event_type = TD_CONV_CANCELED;
    td_store_conversion_list(st, &f, collect_conv, list);
    CHECK_STR(list, "2", "conversion: by application and event type");
    list[0] = '\0';
    f.application_id = NULL;
    f.event_type = NULL;
    f.tracking_id = "lt_calendly_Conv1AAAAAAAAA";
    td_store_conversion_list(st, &f, collect_conv, list);
    CHECK_STR(list, "2,1", "conversion: by link");
    list[0] = '\0';
    f.tracking_id = NULL;
    f.limit = 4;
    f.after_received_at = 1767225600000LL + 5000;
    f.after_conversion_id = "01900000-0000-7000-8000-000000000005";
    td_store_conversion_list(st, &f, collect_conv, list);
    CHECK_STR(list, "4,3,2,1", "conversion: the page after a cursor");
    f.limit = 0;
    CHECK(td_store_conversion_list(st, &f, collect_conv, list) == TD_EINVAL,
          "conversion: limit 0 refused");

    memset(&f, 0, sizeof f);
    list[0] = '\0';
    CHECK(td_store_conversion_groups(st, &f, TD_CONV_GROUP_ALL, collect_counts, list) == 0,
          "conversion: counts");
    /* bookings i1 i2 i4 (i3 is a reschedule); cancellations i1; reschedules i2; active i3 i4 */
    CHECK_STR(list, "-:3/1/1/2;", "conversion: bookings, cancellations, reschedules, active");
    list[0] = '\0';
    td_store_conversion_groups(st, &f, TD_CONV_GROUP_JOB, collect_counts, list);
    CHECK_STR(list, "-:1/0/0/1;3301:1/1/0/0;3302:1/0/1/1;",
              "conversion: per job, unattributed as \"\"");
    list[0] = '\0';
    f.job_id = JOB2;
    td_store_conversion_groups(st, &f, TD_CONV_GROUP_LINK, collect_counts, list);
    CHECK_STR(list, "-:1/0/1/1;", "conversion: per link within a job");
    list[0] = '\0';
    f.job_id = NULL;
    td_store_conversion_groups(st, &f, TD_CONV_GROUP_FUNCTION, collect_key_counts, list);
    CHECK_STR(list, "-:2/1;Calendly:1/0;", "conversion: per link function");
    list[0] = '\0';
    f.job_id = "3f2504e0-4f89-41d3-9a0c-0305e82c33ff";
    td_store_conversion_groups(st, &f, TD_CONV_GROUP_ALL, collect_counts, list);
    CHECK_STR(list, "-:0/0/0/0;", "conversion: a job without bookings gives one row of zeros");
    CHECK(td_store_conversion_groups(st, &f, (td_conversion_group)9, collect_counts, list) ==
              TD_EINVAL,
          "conversion: unknown grouping refused");

    CHECK(td_store_secret(st, "calendly_invitee", secret) == 0 && strlen(secret) == 64 &&
              strspn(secret, "0123456789abcdef") == 64,
          "secret: 64 hex characters");
    CHECK(td_store_secret(st, "calendly_invitee", again) == 0 && strcmp(secret, again) == 0,
          "secret: the same one every time");
    CHECK(td_store_secret(st, "another", other) == 0 && strcmp(secret, other) != 0,
          "secret: one per name");
    CHECK(td_store_secret(st, "", other) == TD_EINVAL, "secret: an empty name refused");
}

int main(void)
{
    const char *env = getenv("TD_TEST_STORE");
    const char *dir = td_test_tmpdir();
    td_store *st = NULL;

    if (env && *env) {
        snprintf(url, sizeof url, "%s", env);
        backend = strncmp(env, "postgres", 8) == 0 ? "postgres" : "sqlite";
    } else {
        snprintf(url, sizeof url, "sqlite:%s/sub/dir/conformance.db", dir);
    }
    printf("# storage conformance against %s\n", backend);
    if (strcmp(backend, "postgres") == 0) {
        /* Schemas of this run's own: the database may be shared with other runs. */
        char sql[128];
        snprintf(pg_base, sizeof pg_base, "%s", env);
        snprintf(sql, sizeof sql, "CREATE SCHEMA conformance_%d", (int)getpid());
        if (pg_exec(pg_base, sql) != 0)
            return 1;
        snprintf(sql, sizeof sql, "conformance_%d", (int)getpid());
        pg_schema_url(env, sql, url, sizeof url);
    }
    opening();
    if (strcmp(backend, "sqlite") == 0) {
        newer_schema(dir);
        rollup_migration(dir);
    } else {
        char schema[64];
        snprintf(schema, sizeof schema, "newer_%d", (int)getpid());
        newer_schema_pg(schema);
    }
    if (td_store_open(url, NULL, &st, NULL, 0) != 0)
        return 1;
    links(st);
    listing(st);
    clicks(st);
    aggregates(st);
    click_truth(st);
    rollups(st);
    apikeys(st);
    profiles(st);
    documents(st);
    odd_clicks(st);
    conversions(st);
    if (strcmp(backend, "postgres") == 0)
        reconnect_pg(st);
    td_store_close(st);
    creation_race();
    if (strcmp(backend, "postgres") == 0) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA conformance_%d, newer_%d CASCADE", (int)getpid(),
                 (int)getpid());
        pg_exec(pg_base, sql);
    }
    TEST_DONE();
}
