/* Benchmark of the analytics on 1,000,000 clicks over 10,000 links (SQLite, in a temporary
 * folder): each report's library call (link analytics of the hottest and of a typical link,
 * the hottest job's and application's summaries, the 30-day report), side by side with the
 * same answers computed from link_clicks without the rollups (td_store_click_groups, as before
 * migration 4), and over HTTP from a server on loopback. The data set also holds Calendly
 * bookings (link_conversions: one per 500 clicks through Calendly links, a tenth canceled, and
 * a twentieth as many unattributed), which the summaries and the report's funnel count. Also
 * the cost of the rollups: a purge, and the time per click of the recorder's batches with and
 * without them. Every answer is checked against the reference (clicks) or a count in SQL
 * (bookings), so a wrong rollup fails the run; times are only printed.
 *
 * Usage: build/bench/analytics [CLICKS]   (default 1000000; links are CLICKS / 100)
 *        TRACKDOC_BENCH_KEEP=1 keeps the folder and prints its name. */
#include "core/common.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>

#include "trackdoc/apikey.h"
#include "trackdoc/link.h"
#include "trackdoc/recorder.h"
#include "trackdoc/report.h"
#include "trackdoc/server.h"
#include "trackdoc/store.h"

#define DEFAULT_CLICKS 1000000L
#define DAY_MS 86400000LL
#define SPAN_DAYS 90
#define HOT_JOBS 5
#define HOT_SHARE 0.30 /* of the clicks go to the hot jobs */
#define ROUNDS 15
#define GOAL_MS 100.0
#define WRITE_CLICKS 100000    /* clicks of the write-cost runs, in batches of 512 */
#define CLICKS_PER_BOOKING 500 /* attributed bookings: 2,000 for 1,000,000 clicks */
#define CANCELED_SHARE 0.10    /* of the bookings get an invitee.canceled row */
#define UNATTRIBUTED_SHARE 20  /* one unattributed booking per 20 attributed ones */

static const char *const functions[] = {"Calendly", "LinkedIn", "Portfolio"};

/* Returns the monotonic clock in milliseconds, as a double. */
static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* xorshift64*: a fast, repeatable random source. */
static uint64_t rnd_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 0x2545F4914F6CDD1DULL;
}

/* Returns a uniform double in [0, 1). */
static double unif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* Writes the tracking id, job and application of link i. */
static void link_ids(long i, char id[32], char job[40], char app[40])
{
    long a = i / 3, j = a * 3 / 10; /* 3 links per application, 3.3 applications per job */

    snprintf(id, 32, "lt_%c_%014ld", "clp"[i % 3], i);
    snprintf(job, 40, "00000000-0000-4000-8000-%012ld", j);
    snprintf(app, 40, "10000000-0000-4000-8000-%012ld", a);
}

/* Formats a time as the store does. */
static void iso(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* Fails the run with a SQLite message. */
static int sql_fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "analytics: %s: %s\n", what, sqlite3_errmsg(db));
    return 1;
}

/* Fills the database: nlinks links created over SPAN_DAYS days, then nclicks clicks in one
 * transaction with prepared inserts (the rollup triggers run for each). Clicks follow their
 * link's creation (most within days), HOT_SHARE of them go to HOT_JOBS jobs, the classes are
 * a realistic mix (45% human, 25% scanner of which a fifth HEAD, 15% bot, 15% preview).
 * *insert_s gets the time of the click inserts. */
static int fill(const char *path, long nlinks, long nclicks, int64_t now, double *insert_s)
{
    static const char *const classes[] = {"human", "scanner", "bot", "preview"};
    static const char *const sources[] = {"direct", "email", "linkedin", "external"};
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    int64_t *created = NULL;
    long hot_links = 0;
    double t0;
    int rc = 1;

    if (!(created = calloc((size_t)nlinks, sizeof *created)))
        goto out;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; BEGIN", NULL, NULL,
                     NULL) != SQLITE_OK) {
        rc = sql_fail(db, "open");
        goto out;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO link_tracking (tracking_id, job_id, application_id, "
                           "link_function, link_type, original_url, redirect_url, created_at, "
                           "created_by, is_active) VALUES (?1, ?2, ?3, ?4, 'resume', ?5, ?6, ?7, "
                           "'bench', 1)",
                           -1, &ins, NULL) != SQLITE_OK) {
        rc = sql_fail(db, "prepare links");
        goto out;
    }
    for (long i = 0; i < nlinks; i++) {
        char id[32], job[40], app[40], url[64], redir[96], at[32];
        link_ids(i, id, job, app);
        created[i] = now - (int64_t)(unif() * SPAN_DAYS * DAY_MS);
        snprintf(url, sizeof url, "https://example.com/%s/%ld", functions[i % 3], i);
        snprintf(redir, sizeof redir, "http://127.0.0.1:8080/track/%s", id);
        iso(created[i], at);
        sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, job, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, app, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 4, functions[i % 3], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, url, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 6, redir, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 7, at, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = sql_fail(db, "insert link");
            goto out;
        }
        sqlite3_reset(ins);
        {
            char j2[40];
            snprintf(j2, sizeof j2, "00000000-0000-4000-8000-%012d", HOT_JOBS);
            if (strcmp(job, j2) < 0)
                hot_links = i + 1;
        }
    }
    sqlite3_finalize(ins);
    ins = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO link_clicks (click_id, tracking_id, clicked_at, "
                           "ip_address, user_agent, click_source, http_method, click_class, "
                           "class_reason, visitor_hash) VALUES (?1, ?2, ?3, '198.51.100.0', ?4, "
                           "?5, ?6, ?7, ?8, ?9)",
                           -1, &ins, NULL) != SQLITE_OK) {
        rc = sql_fail(db, "prepare clicks");
        goto out;
    }
    t0 = now_ms();
    for (long n = 0; n < nclicks; n++) {
        char cid[40], at[32], id[32], job[40], app[40], vh[40];
        double u = unif(), c = unif();
        long i;
        int64_t t, age;
        int cls = c < 0.45 ? 0 : c < 0.70 ? 1 : c < 0.85 ? 2 : 3;
        bool head = cls == 1 && unif() < 0.2;
        /* A hot job's link, or any link with a skew toward some (a Zipf-like tail). */
        if (u < HOT_SHARE && hot_links)
            i = (long)(unif() * (double)hot_links);
        else
            i = (long)((double)nlinks * pow(unif(), 1.6));
        i = TD_MIN(i, nlinks - 1);
        link_ids(i, id, job, app);
        /* After the link was made: mostly within days (exponential, mean 4 days). */
        age = now - created[i];
        t = created[i] + (int64_t)(-log(1.0 - unif()) * 4.0 * DAY_MS);
        if (t >= now)
            t = created[i] + (int64_t)(unif() * (double)age);
        iso(t, at);
        snprintf(cid, sizeof cid, "00000000-0000-7000-8000-%012lx", (unsigned long)n);
        /* People come back: a human's hash repeats within a job and a day. */
        snprintf(vh, sizeof vh, "%08lx%08lx%016llx", (unsigned long)(i / 9),
                 (unsigned long)(cls == 0 ? rnd() % 4 : rnd() % 1000000),
                 (unsigned long long)(t / DAY_MS));
        sqlite3_bind_text(ins, 1, cid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, at, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 4, cls == 0 ? "Mozilla/5.0 (Windows NT 10.0) Chrome/124" : "bot/1",
                          -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, sources[rnd() % 4], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, head ? "HEAD" : "GET", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 7, classes[cls], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 8, cls == 0 ? "browser" : "ua:bench", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 9, vh, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = sql_fail(db, "insert click");
            goto out;
        }
        sqlite3_reset(ins);
    }
    if (sqlite3_exec(db, "COMMIT; ANALYZE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = sql_fail(db, "commit");
        goto out;
    }
    *insert_s = (now_ms() - t0) / 1e3;
    rc = 0;
out:
    sqlite3_finalize(ins);
    sqlite3_close(db);
    free(created);
    return rc;
}

/* Fills one Calendly event about invitee n of the link l (NULL: a booking that matched no link
 * and no campaign), made at created (UTC ms). */
static void booking_row(td_conversion *c, long n, const td_link *l, bool cancel, int64_t created)
{
    memset(c, 0, sizeof *c);
    snprintf(c->conversion_id, sizeof c->conversion_id, "00000000-0000-7000-a000-%012lx",
             (unsigned long)(n * 2 + cancel));
    snprintf(c->invitee_uri, sizeof c->invitee_uri,
             "https://api.calendly.com/scheduled_events/EVB%09ld/invitees/INB%09ld", n, n);
    snprintf(c->scheduled_event_uri, sizeof c->scheduled_event_uri,
             "https://api.calendly.com/scheduled_events/EVB%09ld", n);
    snprintf(c->event_type, sizeof c->event_type, "%s",
             cancel ? TD_CONV_CANCELED : TD_CONV_CREATED);
    snprintf(c->event_name, sizeof c->event_name, "30 Minute Interview");
    snprintf(c->status, sizeof c->status, "%s", cancel ? "canceled" : "active");
    snprintf(c->invitee_hash, sizeof c->invitee_hash, "%064lx", (unsigned long)n);
    if (l) {
        snprintf(c->tracking_id, sizeof c->tracking_id, "%s", l->tracking_id);
        snprintf(c->job_id, sizeof c->job_id, "%s", l->job_id);
        snprintf(c->application_id, sizeof c->application_id, "%s", l->application_id);
        snprintf(c->link_function, sizeof c->link_function, "%s", l->link_function);
        snprintf(c->attribution, sizeof c->attribution, "tracking_id");
        snprintf(c->utm_source, sizeof c->utm_source, "trackdoc");
        snprintf(c->utm_medium, sizeof c->utm_medium, "calendly");
        snprintf(c->utm_campaign, sizeof c->utm_campaign, "%s", l->application_id);
        snprintf(c->utm_content, sizeof c->utm_content, "%s", l->tracking_id);
    } else {
        snprintf(c->attribution, sizeof c->attribution, "none");
    }
    c->created_at = created;
    c->received_at = created + 1500;
    c->scheduled_start = created + (int64_t)(1 + rnd() % 10) * DAY_MS;
    c->scheduled_end = c->scheduled_start + 30 * 60000;
}

/* Adds the bookings through td_store_conversion_insert (synchronous=NORMAL): nclicks /
 * CLICKS_PER_BOOKING on Calendly links chosen as the clicks are (the hot jobs' share, then
 * skewed), each within days of its link's creation, CANCELED_SHARE of them canceled a day
 * later; and a twentieth as many without tracking. *attributed, *canceled and *unattributed
 * get the counts; *insert_s the time. */
static int add_bookings(const char *path, long nlinks, long nclicks, int64_t now, long *attributed,
                        long *canceled, long *unattributed, double *insert_s)
{
    td_store_options so = {.sync = "normal"};
    td_store *st = NULL;
    td_conversion *c = NULL;
    long hot_links = 0, n = 0;
    double t0;
    int rc = 1;

    *attributed = nclicks / CLICKS_PER_BOOKING;
    *unattributed = *attributed / UNATTRIBUTED_SHARE;
    *canceled = 0;
    if (!(c = malloc(sizeof *c)) || td_store_open(path, &so, &st, NULL, 0) != 0)
        goto out;
    while (hot_links < nlinks) {
        char id[32], job[40], app[40], j2[40];
        link_ids(hot_links, id, job, app);
        snprintf(j2, sizeof j2, "00000000-0000-4000-8000-%012d", HOT_JOBS);
        if (strcmp(job, j2) >= 0)
            break;
        hot_links++;
    }
    t0 = now_ms();
    for (; n < *attributed + *unattributed; n++) {
        td_link l;
        bool attr = n < *attributed, created_row = false;
        int64_t at;
        if (attr) {
            char id[32], job[40], app[40];
            long i = unif() < HOT_SHARE && hot_links ? (long)(unif() * (double)hot_links)
                                                     : (long)((double)nlinks * pow(unif(), 1.6));
            i = TD_MIN(i, nlinks - 1);
            i -= i % 3; /* the application's Calendly link */
            link_ids(i, id, job, app);
            if (td_store_link_get(st, id, &l) != 0)
                goto fail;
            at = l.created_at + (int64_t)(unif() * 7.0 * DAY_MS);
            at = TD_MIN(at, now - 60000);
        } else {
            at = now - (int64_t)(unif() * SPAN_DAYS * DAY_MS);
        }
        booking_row(c, n, attr ? &l : NULL, false, at);
        if (td_store_conversion_insert(st, c, &created_row) != 0 || !created_row)
            goto fail;
        if (unif() < CANCELED_SHARE) {
            booking_row(c, n, attr ? &l : NULL, true, TD_MIN(at + DAY_MS, now - 1000));
            if (td_store_conversion_insert(st, c, &created_row) != 0 || !created_row)
                goto fail;
            ++*canceled;
        }
    }
    *insert_s = (now_ms() - t0) / 1e3;
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "analytics: booking %ld: %s\n", n, td_store_errmsg(st));
out:
    td_store_close(st);
    free(c);
    return rc;
}

/* Reads one text value of a query into out ("" when none). */
static void query_text(const char *path, const char *sql, char *out, size_t n)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    out[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, n, "%s",
                 sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- the reference: the same answers from link_clicks, without the rollups ---- */

struct ref {
    int64_t clicks; /* counted (human) GET clicks */
    td_link_filter lf;
    json_t *fn_of; /* tracking_id -> function, for the report's reference */
    json_t *job_of;
    json_t *per_job; /* job -> human clicks */
};

/* Adds an ungrouped or grouped count. */
static int ref_add(void *ud, const td_click_row *row)
{
    ((struct ref *)ud)->clicks += row->clicks;
    return 0;
}

/* Ignores a row. */
static int ref_skip(void *ud, const td_click_row *row)
{
    TD_UNUSED(ud);
    TD_UNUSED(row);
    return 0;
}

/* The analytics of a link as before the rollups: totals, sources, methods, classes, visitors
 * and the timeline, each a GROUP BY over the link's clicks. Returns the human GET clicks. */
static int64_t ref_link(td_store *st, const char *id, int64_t now)
{
    td_click_filter f = {.tracking_id = id, .classes = TD_CLASS_BIT(TD_CLASS_HUMAN)};
    struct ref r = {0};

    td_store_click_groups(st, &f, TD_GROUP_ALL, ref_add, &r);
    td_store_click_groups(st, &f, TD_GROUP_SOURCE, ref_skip, &r);
    f.classes = 0;
    td_store_click_groups(st, &f, TD_GROUP_CLASS, ref_skip, &r);
    f.include_head = true;
    td_store_click_groups(st, &f, TD_GROUP_METHOD, ref_skip, &r);
    f.include_head = false;
    f.classes = TD_CLASS_BIT(TD_CLASS_HUMAN);
    f.since = (now / DAY_MS - 29) * DAY_MS;
    td_store_click_groups(st, &f, TD_GROUP_DAY, ref_skip, &r);
    return r.clicks;
}

/* Lists links (for the reference summaries). */
static int ref_take_link(void *ud, const td_link *l)
{
    TD_UNUSED(ud);
    TD_UNUSED(l);
    return 0;
}

/* A summary as before the rollups: the links, then per link, per function and in all, each a
 * GROUP BY over the clicks of the job's (or application's) links. Returns human GET clicks. */
static int64_t ref_summary(td_store *st, const char *job, const char *app)
{
    td_link_filter lf = {.job_id = job, .application_id = app, .active = -1, .limit = 10001};
    td_click_filter f = {
        .job_id = job, .application_id = app, .classes = TD_CLASS_BIT(TD_CLASS_HUMAN)};
    struct ref r = {0};

    td_store_link_list(st, &lf, ref_take_link, NULL);
    td_store_click_groups(st, &f, TD_GROUP_LINK, ref_skip, &r);
    td_store_click_groups(st, &f, TD_GROUP_FUNCTION, ref_skip, &r);
    f.classes = 0;
    td_store_click_groups(st, &f, TD_GROUP_CLASS, ref_skip, &r);
    f.classes = TD_CLASS_BIT(TD_CLASS_HUMAN);
    td_store_click_groups(st, &f, TD_GROUP_ALL, ref_add, &r);
    return r.clicks;
}

/* Adds a link's human clicks to its job (reference report). */
static int ref_job_add(void *ud, const td_click_row *row)
{
    struct ref *r = ud;
    char id[32], job[40], app[40];
    long i = strtol(row->key + 5, NULL, 10);
    json_t *n;

    link_ids(i, id, job, app);
    n = json_object_get(r->per_job, job);
    r->clicks += row->clicks;
    return json_object_set_new(r->per_job, job,
                               json_integer((n ? json_integer_value(n) : 0) + row->clicks));
}

/* The 30-day report as before the rollups: per day, per function and per class over every
 * link's clicks of the period, and the top jobs from per-link counts. Returns human clicks. */
static int64_t ref_report(td_store *st, int64_t now, char top_job[40])
{
    td_click_filter f = {.since = (now / DAY_MS - 29) * DAY_MS};
    struct ref r = {0};
    const char *k;
    json_t *v;
    json_int_t best = -1;

    r.per_job = json_object();
    td_store_click_groups(st, &f, TD_GROUP_DAY, ref_skip, &r);
    td_store_click_groups(st, &f, TD_GROUP_FUNCTION, ref_skip, &r);
    td_store_click_groups(st, &f, TD_GROUP_CLASS, ref_skip, &r);
    f.classes = TD_CLASS_BIT(TD_CLASS_HUMAN);
    td_store_click_groups(st, &f, TD_GROUP_LINK, ref_job_add, &r);
    json_object_foreach(r.per_job, k, v)
    {
        if (json_integer_value(v) > best ||
            (json_integer_value(v) == best && strcmp(k, top_job) < 0)) {
            best = json_integer_value(v);
            snprintf(top_job, 40, "%s", k);
        }
    }
    json_decref(r.per_job);
    return r.clicks;
}

/* ---- timing ---- */

struct timing {
    double median, max;
};

/* Orders doubles. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Summarises ROUNDS times. */
static struct timing summarize(double *v)
{
    struct timing t;

    qsort(v, ROUNDS, sizeof *v, cmp_double);
    t.median = v[ROUNDS / 2];
    t.max = v[ROUNDS - 1];
    return t;
}

enum what { W_LINK_HOT, W_LINK_TYPICAL, W_JOB, W_APP, W_REPORT, W_COUNT };

struct target {
    const char *name;
    const char *path; /* HTTP path */
    td_link link;
    char id[40];
};

/* Runs the library call of one target once; returns its human clicks (for the check). */
static int64_t run_new(td_store *st, struct target *t, enum what w, int64_t now)
{
    td_report_opts o = {.now_ms = now};
    json_t *rep = NULL;
    int64_t human = -1;
    int rc;

    switch (w) {
    case W_LINK_HOT:
    case W_LINK_TYPICAL:
        rc = td_report_link(st, &t->link, &o, &rep);
        human = json_integer_value(
            json_object_get(json_object_get(rep, "click_statistics"), "human_clicks"));
        break;
    case W_JOB:
        rc = td_report_job(st, t->id, &o, &rep);
        human = json_integer_value(json_object_get(rep, "human_clicks"));
        break;
    case W_APP:
        rc = td_report_application(st, t->id, &o, &rep);
        human = json_integer_value(json_object_get(rep, "human_clicks"));
        break;
    default:
        rc = td_report_overall(st, &o, &rep);
        human = json_integer_value(
            json_object_get(json_object_get(rep, "overall_statistics"), "human_clicks"));
        if (rc == 0)
            snprintf(t->id, sizeof t->id, "%s",
                     json_string_value(json_object_get(
                         json_array_get(json_object_get(rep, "top_jobs"), 0), "job_id")));
        break;
    }
    json_decref(rep);
    return rc ? -1 : human;
}

/* Checks the bookings of the answers against counts in SQL: the hottest job's and
 * application's summaries, and the report's funnel (every booking, the unattributed ones).
 * Prints them; returns 0 when they match. */
static int check_bookings(td_store *st, const char *path, const struct target *tg, int64_t now)
{
    td_report_opts o = {.now_ms = now};
    json_t *job = NULL, *app = NULL, *rep = NULL, *fu;
    char want[4][64], q[512];
    int64_t got[4];
    int rc = 1;

    if (td_report_job(st, tg[W_JOB].id, &o, &job) != 0 ||
        td_report_application(st, tg[W_APP].id, &o, &app) != 0 ||
        td_report_overall(st, &o, &rep) != 0) {
        fprintf(stderr, "analytics: bookings: %s\n", td_store_errmsg(st));
        goto out;
    }
    fu = json_object_get(rep, "funnel");
    got[0] = json_integer_value(json_object_get(job, "bookings"));
    got[1] = json_integer_value(json_object_get(app, "bookings"));
    got[2] = json_integer_value(json_object_get(fu, "bookings"));
    got[3] = json_integer_value(json_object_get(fu, "unattributed_bookings"));
    snprintf(q, sizeof q,
             "SELECT count(*) FROM link_conversions WHERE event_type = 'invitee.created' AND "
             "job_id = '%s'",
             tg[W_JOB].id);
    query_text(path, q, want[0], sizeof want[0]);
    snprintf(q, sizeof q,
             "SELECT count(*) FROM link_conversions WHERE event_type = 'invitee.created' AND "
             "application_id = '%s'",
             tg[W_APP].id);
    query_text(path, q, want[1], sizeof want[1]);
    query_text(path, "SELECT count(*) FROM link_conversions WHERE event_type = 'invitee.created'",
               want[2], sizeof want[2]);
    query_text(path,
               "SELECT count(*) FROM link_conversions WHERE event_type = 'invitee.created' AND "
               "job_id IS NULL",
               want[3], sizeof want[3]);
    printf("  bookings in the answers: hottest job %lld, hottest application %lld, report funnel "
           "%lld of which %lld unattributed\n",
           (long long)got[0], (long long)got[1], (long long)got[2], (long long)got[3]);
    for (int i = 0; i < 4; i++) {
        if (got[i] != strtoll(want[i], NULL, 10)) {
            fprintf(stderr, "analytics: bookings: %lld in answer %d, %s in link_conversions\n",
                    (long long)got[i], i, want[i]);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(job);
    json_decref(app);
    json_decref(rep);
    return rc;
}

/* Runs the reference of one target once; returns its human clicks. */
static int64_t run_ref(td_store *st, struct target *t, enum what w, int64_t now, char top[40])
{
    switch (w) {
    case W_LINK_HOT:
    case W_LINK_TYPICAL:
        return ref_link(st, t->link.tracking_id, now);
    case W_JOB:
        return ref_summary(st, t->id, NULL);
    case W_APP:
        return ref_summary(st, NULL, t->id);
    default:
        return ref_report(st, now, top);
    }
}

/* Sends GET path with the key and reads the whole answer; returns the HTTP status or -1. */
static int http_get(int port, const char *path, const char *key)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[512], head[32], buf[65536];
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    size_t got = 0;
    ssize_t n;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto out;
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Connection: close\r\n\r\n",
             path, key);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        goto out;
    /* The status line first ("HTTP/1.1 200 "), then everything else until the server closes. */
    while (got < 13 && (n = read(fd, head + got, 13 - got)) > 0)
        got += (size_t)n;
    if (got == 13 && strncmp(head, "HTTP/1.1 ", 9) == 0)
        status = (int)strtol(head + 9, NULL, 10);
    while (read(fd, buf, sizeof buf) > 0)
        ;
out:
    if (fd >= 0)
        close(fd);
    return status;
}

/* Times ROUNDS requests of path (after one untimed); fails on a status other than 200. */
static int time_http(int port, const char *path, const char *key, struct timing *out)
{
    double v[ROUNDS];

    if (http_get(port, path, key) != 200) {
        fprintf(stderr, "analytics: GET %s did not answer 200\n", path);
        return 1;
    }
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ms();
        http_get(port, path, key);
        v[r] = now_ms() - t0;
    }
    *out = summarize(v);
    return 0;
}

/* Serves st on loopback and times each endpoint over HTTP. */
static int http_round(td_store *st, struct target *tg, double http_ms[W_COUNT][2])
{
    td_server_config cfg = {.listen = "127.0.0.1:0", .threads = 2};
    td_server *srv = NULL;
    td_tracker *tr = NULL;
    td_recorder *rec = NULL;
    char err[256], key[TD_APIKEY_SIZE];
    int rc = 1;

    if (td_apikey_create(st, "bench", key, NULL) != 0 ||
        td_tracker_new(st, NULL, &tr, err, sizeof err) != 0 ||
        td_recorder_new(st, NULL, &rec) != 0 || td_server_new(&cfg, &srv, err, sizeof err) != 0 ||
        td_server_start(srv, st, tr, rec, err, sizeof err) != 0) {
        fprintf(stderr, "analytics: cannot start the server: %s\n", err);
        goto out;
    }
    for (int w = 0; w < W_COUNT; w++) {
        struct timing t;
        if (time_http(td_server_port(srv), tg[w].path, key, &t) != 0)
            goto out;
        http_ms[w][0] = t.median;
        http_ms[w][1] = t.max;
    }
    rc = 0;
out:
    td_server_stop(srv, 1000);
    td_recorder_free(rec);
    td_tracker_free(tr);
    return rc;
}

/* ---- the cost of the rollups on the write path ---- */

#define WRITE_BATCH 32 /* clicks per commit, as the recorder's at 64 connections (~27) */

/* Writes WRITE_CLICKS clicks on the links of path through td_store_click_insert in batches of
 * WRITE_BATCH (synchronous=NORMAL, so that fsync does not hide the work); click ids start at
 * first. Returns microseconds per click, or -1. */
static double write_cost(const char *path, long nlinks, long first, int64_t now)
{
    td_store_options so = {.sync = "normal"};
    td_store *st = NULL;
    td_click k[WRITE_BATCH];
    char ids[WRITE_BATCH][40], id[32], job[40], app[40];
    double t0, us = -1;

    if (td_store_open(path, &so, &st, NULL, 0) != 0)
        return -1;
    t0 = now_ms();
    for (long n = 0; n < WRITE_CLICKS; n += WRITE_BATCH) {
        for (int j = 0; j < WRITE_BATCH; j++) {
            td_click_init(&k[j], "");
            link_ids((long)(rnd() % (uint64_t)nlinks), id, job, app);
            snprintf(k[j].tracking_id, sizeof k[j].tracking_id, "%s", id);
            snprintf(ids[j], sizeof ids[j], "00000000-0000-7000-9000-%012lx",
                     (unsigned long)(first + n + j));
            snprintf(k[j].click_id, sizeof k[j].click_id, "%s", ids[j]);
            k[j].clicked_at = now + n + j;
            k[j].click_class = (int)(rnd() % TD_CLASS_COUNT);
            k[j].visitor_hash = "0123456789abcdef0123456789abcdef";
        }
        if (td_store_click_insert(st, k, WRITE_BATCH, NULL) != 0) {
            fprintf(stderr, "analytics: write: %s\n", td_store_errmsg(st));
            goto out;
        }
    }
    us = (now_ms() - t0) * 1e3 / (double)WRITE_CLICKS;
out:
    td_store_close(st);
    return us;
}

/* Takes the rollups off path: the schema before migration 4 (its triggers gone, the index of a
 * link's clicks back to (tracking_id, clicked_at)). */
static int drop_rollups(const char *path)
{
    sqlite3 *db = NULL;
    int rc;

    sqlite3_open(path, &db);
    rc = sqlite3_exec(db,
                      "DROP TRIGGER link_clicks_rollup_insert; DROP TRIGGER "
                      "link_clicks_rollup_delete; DROP TRIGGER link_clicks_rollup_update; "
                      "DROP INDEX link_clicks_link; CREATE INDEX link_clicks_tracking_time ON "
                      "link_clicks(tracking_id, clicked_at)",
                      NULL, NULL, NULL) == SQLITE_OK
             ? 0
             : sql_fail(db, "drop the rollups");
    sqlite3_close(db);
    return rc;
}

/* Removes a SQLite database and its side files. */
static void remove_db(const char *path)
{
    char side[1300];

    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* Entry point. */
int main(int argc, char **argv)
{
    long nclicks = argc > 1 ? strtol(argv[1], NULL, 10) : DEFAULT_CLICKS, nlinks;
    const char *tmp = getenv("TMPDIR");
    bool keep = getenv("TRACKDOC_BENCH_KEEP") != NULL;
    char dir[256], path[512], top[40] = "", q[512];
    struct target tg[W_COUNT] = {
        {.name = "link analytics (hottest link)"},
        {.name = "link analytics (typical link)"},
        {.name = "job summary (hottest job)"},
        {.name = "application summary (hottest)"},
        {.name = "report?days=30"},
    };
    double http_ms[W_COUNT][2] = {{0}};
    td_store *st = NULL;
    double insert_s = 0, t0;
    int64_t now = (int64_t)time(NULL) * 1000;
    int rc = 1, met = 0;

    if (nclicks < 1000 || nclicks > 20000000) {
        fprintf(stderr, "usage: analytics [CLICKS]   (1000 to 20000000)\n");
        return 2;
    }
    nlinks = nclicks / 100;
    snprintf(dir, sizeof dir, "%s/trackdoc-bench-analytics.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/analytics.db", dir);
    printf("analytics: %ld clicks over %ld links, %d days, %d hot jobs with %.0f%% of the clicks; "
           "database %s\n",
           nclicks, nlinks, SPAN_DAYS, HOT_JOBS, HOT_SHARE * 100, path);
    if (td_store_open(path, NULL, &st, NULL, 0) != 0) {
        fprintf(stderr, "analytics: cannot open %s: %s\n", path, td_store_errmsg(NULL));
        goto out;
    }
    td_store_close(st);
    st = NULL;
    if (fill(path, nlinks, nclicks, now, &insert_s) != 0)
        goto out;
    printf("  data set written in %.1f s (%.0f clicks/s, one transaction, rollup triggers on)\n",
           insert_s, (double)nclicks / insert_s);
    {
        long attributed, canceled, unattributed;
        if (add_bookings(path, nlinks, nclicks, now, &attributed, &canceled, &unattributed,
                         &insert_s) != 0)
            goto out;
        printf("  bookings: %ld through Calendly links, %ld unattributed, %ld of them canceled "
               "(%ld link_conversions rows, td_store_conversion_insert, %.1f s)\n",
               attributed, unattributed, canceled, attributed + unattributed + canceled, insert_s);
    }
    {
        char n1[64], n2[64], n3[64], n4[64];
        query_text(path, "SELECT count(*) FROM click_link_days", n1, sizeof n1);
        query_text(path, "SELECT count(*) FROM click_function_days", n2, sizeof n2);
        query_text(path, "SELECT count(*) FROM click_job_days", n3, sizeof n3);
        query_text(path,
                   "SELECT page_count * page_size / 1048576 FROM pragma_page_count(), "
                   "pragma_page_size()",
                   n4, sizeof n4);
        printf("  rollup rows: click_link_days %s, click_function_days %s, click_job_days %s; "
               "database %s MiB\n",
               n1, n2, n3, n4);
    }
    /* The targets: the link with the most clicks, the median link, the busiest job and
     * application. */
    query_text(path,
               "SELECT tracking_id FROM click_link_days GROUP BY 1 ORDER BY sum(clicks) DESC "
               "LIMIT 1",
               tg[W_LINK_HOT].id, sizeof tg[0].id);
    snprintf(q, sizeof q,
             "SELECT tracking_id FROM click_link_days GROUP BY 1 ORDER BY sum(clicks) LIMIT 1 "
             "OFFSET (SELECT count(DISTINCT tracking_id) / 2 FROM click_link_days)");
    query_text(path, q, tg[W_LINK_TYPICAL].id, sizeof tg[0].id);
    query_text(path,
               "SELECT l.job_id FROM click_link_days d JOIN link_tracking l USING (tracking_id) "
               "GROUP BY 1 ORDER BY sum(d.clicks) DESC LIMIT 1",
               tg[W_JOB].id, sizeof tg[0].id);
    query_text(path,
               "SELECT l.application_id FROM click_link_days d JOIN link_tracking l USING "
               "(tracking_id) GROUP BY 1 ORDER BY sum(d.clicks) DESC LIMIT 1",
               tg[W_APP].id, sizeof tg[0].id);
    {
        char n[4][64];
        snprintf(q, sizeof q, "SELECT sum(clicks) FROM click_link_days WHERE tracking_id = '%s'",
                 tg[W_LINK_HOT].id);
        query_text(path, q, n[0], sizeof n[0]);
        snprintf(q, sizeof q, "SELECT sum(clicks) FROM click_link_days WHERE tracking_id = '%s'",
                 tg[W_LINK_TYPICAL].id);
        query_text(path, q, n[1], sizeof n[1]);
        snprintf(q, sizeof q,
                 "SELECT sum(clicks) || ' clicks, ' || count(DISTINCT tracking_id) || ' links' "
                 "FROM click_link_days WHERE tracking_id IN (SELECT tracking_id FROM "
                 "link_tracking WHERE job_id = '%s')",
                 tg[W_JOB].id);
        query_text(path, q, n[2], sizeof n[2]);
        snprintf(q, sizeof q,
                 "SELECT sum(clicks) || ' clicks, ' || count(DISTINCT tracking_id) || ' links' "
                 "FROM click_link_days WHERE tracking_id IN (SELECT tracking_id FROM "
                 "link_tracking WHERE application_id = '%s')",
                 tg[W_APP].id);
        query_text(path, q, n[3], sizeof n[3]);
        printf(
            "  targets: hottest link %s clicks, typical (median) link %s clicks, hottest job %s, "
            "hottest application %s\n",
            n[0], n[1], n[2], n[3]);
    }
    if (td_store_open(path, NULL, &st, NULL, 0) != 0 ||
        td_store_link_get(st, tg[W_LINK_HOT].id, &tg[W_LINK_HOT].link) != 0 ||
        td_store_link_get(st, tg[W_LINK_TYPICAL].id, &tg[W_LINK_TYPICAL].link) != 0) {
        fprintf(stderr, "analytics: cannot read the targets: %s\n", td_store_errmsg(st));
        goto out;
    }
    {
        static char paths[W_COUNT][160];
        snprintf(paths[0], sizeof paths[0], "/api/link-tracking/analytics/%s", tg[0].id);
        snprintf(paths[1], sizeof paths[1], "/api/link-tracking/analytics/%s", tg[1].id);
        snprintf(paths[2], sizeof paths[2], "/api/link-tracking/jobs/%s/summary", tg[2].id);
        snprintf(paths[3], sizeof paths[3], "/api/link-tracking/applications/%s/summary", tg[3].id);
        snprintf(paths[4], sizeof paths[4], "/api/link-tracking/report?days=30");
        for (int w = 0; w < W_COUNT; w++)
            tg[w].path = paths[w];
    }
    {
        double v[ROUNDS];
        char n[64];
        for (int r = 0; r < ROUNDS; r++) {
            t0 = now_ms();
            query_text(path, "SELECT count(*) FROM link_clicks", n, sizeof n);
            v[r] = now_ms() - t0;
        }
        printf("  scale: SELECT count(*) FROM link_clicks (%s rows): %.1f ms median\n", n,
               summarize(v).median);
    }

    if (check_bookings(st, path, tg, now) != 0)
        goto out;

    printf("\n  %-31s %8s %8s %10s %8s %7s %9s  %s\n", "library call (ms)", "median", "max",
           "reference", "ratio", "HTTP", "HTTP max", "goal < 100 ms");
    if (http_round(st, tg, http_ms) != 0)
        goto out;
    for (int w = 0; w < W_COUNT; w++) {
        double nv[ROUNDS], rv[ROUNDS];
        struct timing nt, rt;
        int64_t got = 0, want = 0;
        for (int r = -2; r < ROUNDS; r++) { /* two untimed rounds: statements, pages */
            t0 = now_ms();
            got = run_new(st, &tg[w], w, now);
            if (r >= 0)
                nv[r] = now_ms() - t0;
        }
        for (int r = -1; r < ROUNDS; r++) {
            t0 = now_ms();
            want = run_ref(st, &tg[w], w, now, top);
            if (r >= 0)
                rv[r] = now_ms() - t0;
        }
        nt = summarize(nv);
        rt = summarize(rv);
        printf("  %-31s %8.2f %8.2f %10.1f %7.0fx %7.2f %9.2f  %s\n", tg[w].name, nt.median, nt.max,
               rt.median, rt.median / nt.median, http_ms[w][0], http_ms[w][1],
               TD_MAX(nt.median, http_ms[w][0]) < GOAL_MS ? "met" : "missed");
        met += TD_MAX(nt.median, http_ms[w][0]) < GOAL_MS;
        if (got != want || (w == W_REPORT && strcmp(top, tg[w].id) != 0)) {
            fprintf(stderr,
                    "analytics: %s: %lld human clicks from the rollups, %lld from the clicks%s\n",
                    tg[w].name, (long long)got, (long long)want,
                    w == W_REPORT && strcmp(top, tg[w].id) ? " (or another top job)" : "");
            goto out;
        }
        printf("summary: analytics %s: %.2f ms (HTTP %.2f ms), %.0fx faster than without "
               "rollups (%.0f ms); goal < 100 ms %s\n",
               tg[w].name, nt.median, http_ms[w][0], rt.median / nt.median, rt.median,
               TD_MAX(nt.median, http_ms[w][0]) < GOAL_MS ? "met" : "missed");
    }
    printf("  (reference: the same answers from link_clicks with td_store_click_groups, as "
           "before the rollups; every answer matched it)\n");

    /* Purge: a third of the clicks, then the rollups must still add up to the clicks. */
    {
        int64_t n = 0;
        char c1[64], c2[64], c3[64], c4[64], c5[64];
        t0 = now_ms();
        if (td_store_click_purge(st, (now / DAY_MS - 60) * DAY_MS, &n) != 0) {
            fprintf(stderr, "analytics: purge: %s\n", td_store_errmsg(st));
            goto out;
        }
        printf("\n  purge of the clicks older than 60 days: %lld clicks in %.1f s (%.0f/s)\n",
               (long long)n, (now_ms() - t0) / 1e3, (double)n * 1e3 / (now_ms() - t0));
        query_text(path, "SELECT count(*) FROM link_clicks", c1, sizeof c1);
        query_text(path, "SELECT sum(clicks) FROM click_link_days", c2, sizeof c2);
        query_text(path, "SELECT sum(clicks) FROM click_function_days", c3, sizeof c3);
        query_text(path,
                   "SELECT count(*) FROM link_clicks c JOIN link_tracking l USING (tracking_id) "
                   "WHERE c.http_method = 'GET' AND l.job_id IS NOT NULL",
                   c4, sizeof c4);
        query_text(path, "SELECT sum(clicks) FROM click_job_days", c5, sizeof c5);
        printf("  after the purge: %s clicks; rollups hold %s, %s and %s of %s GET clicks\n", c1,
               c2, c3, c5, c4);
        if (strcmp(c1, c2) != 0 || strcmp(c1, c3) != 0 || strcmp(c4, c5) != 0) {
            fprintf(stderr, "analytics: the rollups do not add up after the purge\n");
            goto out;
        }
    }
    td_store_close(st);
    st = NULL;

    /* The write path: the recorder's batches with and without the rollups, on this data. */
    {
        double with_us, without_us;
        if ((with_us = write_cost(path, nlinks, 0, now)) < 0 || drop_rollups(path) != 0 ||
            (without_us = write_cost(path, nlinks, WRITE_CLICKS, now)) < 0)
            goto out;
        printf("  write path, %d clicks in batches of %d (synchronous=NORMAL): %.1f us per click "
               "with the rollups, %.1f us without them (%.2fx)\n",
               WRITE_CLICKS, WRITE_BATCH, with_us, without_us, with_us / without_us);
        printf("summary: analytics write cost: %.1f us per click with rollups, %.1f without "
               "(%.2fx)\n",
               with_us, without_us, with_us / without_us);
    }
    printf("\n  %d of %d answers under %.0f ms\n", met, W_COUNT, GOAL_MS);
    rc = 0;
out:
    td_store_close(st);
    if (keep) {
        printf("  kept %s\n", dir);
    } else {
        remove_db(path);
        rmdir(dir);
    }
    return rc;
}
