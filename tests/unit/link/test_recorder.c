/* The click recorder: group commit from many threads, per-click results, a full queue, a
 * database that stays locked, and draining on free. */
#include "core/common.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "test.h"
#include "trackdoc/classify.h"
#include "trackdoc/recorder.h"
#include "trackdoc/store.h"

static char db[512];
static td_store *st;
static td_recorder *rec;
static char link_id[TD_LINK_ID_SIZE];

/* Counts click rows of link_id with plain SQLite, independently of the store. */
static long count_rows(void)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    long n = -1;

    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, "SELECT count(*) FROM link_clicks", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return n;
}

/* Records 500 clicks synchronously. */
static void *clicker(void *arg)
{
    long *failures = arg;

    for (int i = 0; i < 500; i++) {
        td_click c;
        td_click_init(&c, link_id);
        c.user_agent = "Mozilla/5.0 test";
        c.ip_address = "192.0.2.1";
        if (td_recorder_record(rec, &c) != 0)
            (*failures)++;
    }
    return NULL;
}

/* Eight threads, 4000 clicks: all committed, in far fewer transactions. */
static void group_commit(void)
{
    pthread_t th[8];
    long failures[8] = {0}, total = 0;
    td_recorder_stats s;

    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, clicker, &failures[i]);
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += failures[i];
    }
    td_recorder_get_stats(rec, &s);
    CHECK_INT(total, 0, "4000 clicks from 8 threads all recorded");
    CHECK_INT(count_rows(), 4000, "4000 rows in link_clicks");
    CHECK_INT(s.committed, 4000, "recorder counts 4000 committed");
    CHECK(s.batches < 4000 && s.largest > 1,
          "clicks shared transactions (%" PRIu64 " batches, largest %" PRIu64 ")", s.batches,
          s.largest);
}

/* A click for a link that does not exist fails alone. */
static void unknown_link(void)
{
    td_click bad, good;
    long before = count_rows();

    td_click_init(&bad, "lt_nope_zzzzzzzzzzzzzz");
    td_click_init(&good, link_id);
    CHECK(td_recorder_record(rec, &bad) == TD_ENOTFOUND, "click of an unknown link: not found");
    CHECK(td_recorder_record(rec, &good) == 0, "the next click is fine");
    CHECK_INT(count_rows(), before + 1, "only the good click stored");
}

struct counter {
    atomic_int ok, failed;
};

/* Counts async results. */
static void count_done(void *ud, int rc)
{
    struct counter *c = ud;

    if (rc == 0)
        atomic_fetch_add(&c->ok, 1);
    else
        atomic_fetch_add(&c->failed, 1);
}

/* With the database locked by someone else: the queue fills (TD_EBUSY), then a batch fails
 * (TD_EDB) and nothing of it is stored; once unlocked, clicks flow again. */
static void locked_database(void)
{
    td_store_options o = {.busy_timeout_ms = 100};
    td_recorder_config rc_cfg = {.max_pending = 8, .max_batch = 4, .retries = 1};
    td_store *slow = NULL;
    td_recorder *r = NULL;
    struct counter cnt = {0};
    sqlite3 *h = NULL;
    long before = count_rows();
    int busy = 0, accepted = 0;

    CHECK(td_store_open(db, &o, &slow, NULL, 0) == 0, "second store with a short busy timeout");
    CHECK(td_recorder_new(slow, &rc_cfg, &r) == 0, "recorder with a queue of 8");
    sqlite3_open(db, &h);
    sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL); /* hold the write lock */
    for (int i = 0; i < 40; i++) {
        td_click c;
        int rc;
        td_click_init(&c, link_id);
        rc = td_recorder_submit(r, &c, count_done, &cnt);
        if (rc == TD_EBUSY)
            busy++;
        else if (rc == 0)
            accepted++;
    }
    CHECK(busy > 0, "a full queue answers busy (%d of 40 refused)", busy);
    while (atomic_load(&cnt.ok) + atomic_load(&cnt.failed) < accepted)
        usleep(10000);
    CHECK_INT(atomic_load(&cnt.failed), accepted, "every click of a failed batch is told so");
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(h);
    CHECK_INT(count_rows(), before, "nothing of the failed batches was stored");
    {
        td_click c;
        td_click_init(&c, link_id);
        CHECK(td_recorder_record(r, &c) == 0, "after the lock is gone clicks are stored again");
    }
    td_recorder_free(r);
    td_store_close(slow);
}

/* Freeing the recorder commits what is queued and calls every done function. */
static void drain_on_free(void)
{
    td_recorder *r = NULL;
    struct counter cnt = {0};
    long before = count_rows();

    td_recorder_new(st, NULL, &r);
    for (int i = 0; i < 1000; i++) {
        td_click c;
        td_click_init(&c, link_id);
        c.referrer_url = "https://mail.google.com/";
        c.metadata = "{\"utm\":{\"utm_source\":\"x\"}}";
        td_recorder_submit(r, &c, count_done, &cnt);
    }
    td_recorder_free(r);
    CHECK_INT(atomic_load(&cnt.ok), 1000, "free drains: 1000 done callbacks with success");
    CHECK_INT(count_rows(), before + 1000, "and 1000 rows stored");
    {
        td_recorder *r2 = NULL;
        td_click c;
        td_recorder_new(st, NULL, &r2);
        td_click_init(&c, link_id);
        c.metadata = "{not json";
        CHECK(td_recorder_record(r2, &c) == TD_EINVAL, "invalid metadata JSON refused per row");
        td_recorder_free(r2);
    }
}

/* Counts stored clicks of a class and reason with plain SQLite. */
static long count_class(const char *cls, const char *reason)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    long n = -1;

    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h,
                           "SELECT count(*) FROM link_clicks WHERE click_class = ?1 AND "
                           "class_reason = ?2",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, cls, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, reason, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            n = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    sqlite3_close(h);
    return n;
}

/* Classes are stored with the click; a reclassification queued right behind clicks that are
 * not committed yet still reaches them. */
static void classes(void)
{
    td_recorder *r = NULL;
    struct counter cnt = {0};
    char ids[3][TD_LINK_UUID_SIZE];

    td_recorder_new(st, NULL, &r);
    for (int i = 0; i < 3; i++) {
        td_click c;
        td_click_init(&c, link_id);
        c.click_class = TD_CLASS_HUMAN;
        c.class_reason = "browser-t";
        c.visitor_hash = "0123456789abcdef";
        memcpy(ids[i], c.click_id, sizeof ids[i]);
        td_recorder_submit(r, &c, count_done, &cnt);
    }
    CHECK_INT(td_recorder_reclassify(r, (const char(*)[TD_LINK_UUID_SIZE])ids, 2, TD_CLASS_SCANNER,
                                     "burst-t"),
              0, "a reclassification is queued behind its clicks");
    td_recorder_free(r);
    CHECK_INT(atomic_load(&cnt.ok), 3, "the three clicks committed");
    CHECK_INT(count_class("scanner", "burst-t"), 2, "two of them became scanner clicks (burst)");
    CHECK_INT(count_class("human", "browser-t"), 1, "the third keeps its class and reason");
}

/* Entry point. */
int main(void)
{
    td_tracker *t = NULL;
    td_link l;
    td_link_params p = {.original_url = "https://calendly.com/x", .link_function = "Calendly"};

    snprintf(db, sizeof db, "%s/clicks.db", td_test_tmpdir());
    if (td_store_open(db, NULL, &st, NULL, 0) || td_tracker_new(st, NULL, &t, NULL, 0) ||
        td_link_create(t, &p, &l, NULL, NULL) || td_recorder_new(st, NULL, &rec)) {
        printf("not ok - set-up\n");
        return 1;
    }
    memcpy(link_id, l.tracking_id, sizeof link_id);
    group_commit();
    unknown_link();
    locked_database();
    drain_on_free();
    classes();
    td_recorder_free(rec);
    td_tracker_free(t);
    td_store_close(st);
    TEST_DONE();
}
