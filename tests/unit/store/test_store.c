/* The storage conformance suite: what every backend must do, run against the store named by
 * TD_TEST_STORE (a fresh temporary SQLite database when unset). */
#include "core/common.h"

#include <sqlite3.h>

#include "core/time.h"
#include "test.h"
#include "trackdoc/store.h"

#define JOB "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define JOB2 "3f2504e0-4f89-41d3-9a0c-0305e82c3302"
#define APP "9b2c3d4e-1111-4222-8333-444455556666"

static char url[1024];
static const char *backend = "sqlite";

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

    CHECK(td_store_open("postgres://u:p@127.0.0.1/db", NULL, &st, err, sizeof err) == TD_ENOTSUP &&
              !st && strstr(err, "PostgreSQL"),
          "postgres URL: clear not-built-yet error (%s)", err);
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
    int64_t first, last;
    int n;
};

/* Collects aggregate rows. */
static int take_rows(void *ud, const td_click_row *r)
{
    struct rows *a = ud;

    if (a->n < 16) {
        snprintf(a->keys[a->n], 64, "%s", r->key);
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
}

/* Entry point. */
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
    opening();
    if (strcmp(backend, "sqlite") == 0)
        newer_schema(dir);
    if (td_store_open(url, NULL, &st, NULL, 0) != 0)
        return 1;
    links(st);
    listing(st);
    clicks(st);
    aggregates(st);
    apikeys(st);
    profiles(st);
    documents(st);
    td_store_close(st);
    TEST_DONE();
}
