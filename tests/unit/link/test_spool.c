/* The click spool: appends that survive a reopen, a torn last record, damage in the middle,
 * replays that stop and start again (each click stored once), the size bound, the lock, and the
 * recorder answering from the spool while the database is locked, then replaying it. */
#include "core/common.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "test.h"
#include "trackdoc/recorder.h"
#include "trackdoc/spool.h"
#include "trackdoc/store.h"

static char dir[256];
static char db[512];
static td_store *st;
static char link_id[TD_LINK_ID_SIZE];

/* Counts click rows with plain SQLite, independently of the store. */
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

/* Size of a file, -1 when missing. */
static long long file_size(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* A click of the test link with every field set (n varies the text). */
static void make_click(td_click *c, int n)
{
    static char ua[8][64];

    td_click_init(c, link_id);
    snprintf(ua[n % 8], sizeof ua[n % 8], "Mozilla/5.0 (spool %d) \xff\xfe not UTF-8", n);
    c->user_agent = ua[n % 8];
    c->ip_address = "192.0.2.0";
    c->referrer_url = "https://mail.example.org/";
    c->metadata = "{\"utm\":{\"utm_source\":\"x\"}}";
    c->click_source = TD_SOURCE_EMAIL;
    c->click_class = 1;
    c->class_reason = "browser";
    c->visitor_hash = "0123456789abcdef";
    c->head = n % 2 == 1;
}

/* What a sink received, for comparisons. */
struct capture {
    size_t n, calls;
    char ids[64][TD_LINK_UUID_SIZE];
    char ua[64][96];
    bool nulls_ok, fields_ok;
    int fail_after;      /* calls accepted before the sink fails with TD_EDB; -1 never */
    td_spool *append_to; /* appends one click to it during the first call */
};

/* Sink that keeps the ids (and checks the fields) of what it is given. */
static int capture_sink(void *ud, const td_click *clicks, size_t n, int *row_rc)
{
    struct capture *cap = ud;

    if (cap->fail_after >= 0 && (int)cap->calls >= cap->fail_after)
        return TD_EDB;
    if (cap->append_to && cap->calls == 0) {
        td_click extra;
        make_click(&extra, 99);
        td_spool_append(cap->append_to, &extra, 1);
    }
    cap->calls++;
    for (size_t i = 0; i < n && cap->n < 64; i++, cap->n++) {
        const td_click *c = &clicks[i];
        memcpy(cap->ids[cap->n], c->click_id, TD_LINK_UUID_SIZE);
        snprintf(cap->ua[cap->n], sizeof cap->ua[cap->n], "%s", c->user_agent ? c->user_agent : "");
        if (!c->session_id && c->ip_address && strcmp(c->ip_address, "192.0.2.0") == 0 &&
            strcmp(c->tracking_id, link_id) == 0 && c->click_source == TD_SOURCE_EMAIL &&
            c->click_class == 1 && strcmp(c->class_reason, "browser") == 0 &&
            strcmp(c->visitor_hash, "0123456789abcdef") == 0 &&
            strcmp(c->metadata, "{\"utm\":{\"utm_source\":\"x\"}}") == 0 &&
            strcmp(c->referrer_url, "https://mail.example.org/") == 0)
            cap->nulls_ok = true;
        else
            cap->fields_ok = false;
        row_rc[i] = 0;
    }
    return 0;
}

/* Sink into the test database. */
static int store_sink(void *ud, const td_click *clicks, size_t n, int *row_rc)
{
    return td_store_click_insert(ud, clicks, n, row_rc);
}

/* Clicks appended survive a close and a reopen and come back field for field, in order. */
static void append_reopen(void)
{
    char path[512];
    td_spool *sp = NULL;
    td_spool_stats s;
    td_click c[3];
    struct capture cap = {.fields_ok = true, .fail_after = -1};

    snprintf(path, sizeof path, "%s/a/b/clicks.spool", dir);
    CHECK_INT(td_spool_open(path, 0, &sp, NULL, 0), 0, "spool opens in a folder it makes");
    for (int i = 0; i < 3; i++)
        make_click(&c[i], i);
    CHECK_INT(td_spool_append(sp, c, 3), 0, "three clicks appended");
    td_spool_get_stats(sp, &s);
    CHECK_INT(s.depth, 3, "depth 3");
    CHECK_INT(s.bytes, file_size(path), "bytes are the file's size");
    CHECK_INT(s.max_bytes, TD_SPOOL_MAX_DEFAULT, "max 0 means the default bound");
    td_spool_close(sp);
    sp = NULL;
    CHECK_INT(td_spool_open(path, 0, &sp, NULL, 0), 0, "reopened");
    td_spool_get_stats(sp, &s);
    CHECK_INT(s.depth, 3, "after a reopen the 3 clicks still wait");
    CHECK_INT(td_spool_replay(sp, 2, capture_sink, &cap), 0, "replay in batches of 2");
    CHECK_INT(cap.calls, 2, "two sink calls (2 + 1)");
    CHECK(cap.n == 3 && memcmp(cap.ids[0], c[0].click_id, TD_LINK_UUID_SIZE) == 0 &&
              memcmp(cap.ids[2], c[2].click_id, TD_LINK_UUID_SIZE) == 0,
          "the same clicks, oldest first");
    CHECK(cap.fields_ok && cap.nulls_ok, "every field, and NULL, comes back as appended");
    CHECK_STR(cap.ua[1], c[1].user_agent, "bytes that are not UTF-8 come back unchanged");
    td_spool_get_stats(sp, &s);
    CHECK(s.depth == 0 && s.replayed == 3 && s.bytes == 0, "after the replay: empty, 3 replayed");
    {
        char rp[600];
        snprintf(rp, sizeof rp, "%s.replay", path);
        CHECK(file_size(rp) == -1 && file_size(path) == 0, "the replayed file is removed");
    }
    CHECK_INT(td_spool_replay(sp, 2, capture_sink, &cap), 0, "replaying an empty spool is a no-op");
    CHECK_INT(cap.calls, 2, "and calls no sink");
    td_spool_close(sp);
}

/* A record cut short (a crash during an append) is dropped at open; the next append follows
 * the last good record. */
static void torn_tail(void)
{
    char path[512];
    td_spool *sp = NULL;
    td_spool_stats s;
    td_click c[3];
    long long two, three;
    struct capture cap = {.fields_ok = true, .fail_after = -1};

    snprintf(path, sizeof path, "%s/torn.spool", dir);
    td_spool_open(path, 0, &sp, NULL, 0);
    for (int i = 0; i < 3; i++)
        make_click(&c[i], i);
    td_spool_append(sp, c, 2);
    two = file_size(path);
    td_spool_append(sp, c + 2, 1);
    three = file_size(path);
    td_spool_close(sp);
    sp = NULL;
    CHECK(truncate(path, (off_t)(two + (three - two) / 2)) == 0, "third record cut in half");
    CHECK_INT(td_spool_open(path, 0, &sp, NULL, 0), 0, "reopens");
    td_spool_get_stats(sp, &s);
    CHECK_INT(s.depth, 2, "the torn record is not counted");
    CHECK_INT(s.damaged, (three - two) / 2, "its bytes are reported damaged");
    CHECK_INT(file_size(path), two, "and cut off the file");
    CHECK_INT(td_spool_append(sp, c + 2, 1), 0, "appending again");
    CHECK_INT(td_spool_replay(sp, 10, capture_sink, &cap), 0, "replay");
    CHECK(cap.n == 3 && memcmp(cap.ids[2], c[2].click_id, TD_LINK_UUID_SIZE) == 0,
          "the two old clicks and the new one are replayed");
    td_spool_close(sp);
}

/* A damaged record in the middle is skipped; the records after it are still replayed. */
static void damaged_middle(void)
{
    char path[512];
    td_spool *sp = NULL;
    td_spool_stats s;
    td_click c[3];
    long long one;
    struct capture cap = {.fields_ok = true, .fail_after = -1};
    int fd;

    snprintf(path, sizeof path, "%s/middle.spool", dir);
    td_spool_open(path, 0, &sp, NULL, 0);
    for (int i = 0; i < 3; i++)
        make_click(&c[i], i);
    td_spool_append(sp, c, 1);
    one = file_size(path);
    td_spool_append(sp, c + 1, 2);
    td_spool_close(sp);
    sp = NULL;
    fd = open(path, O_WRONLY);
    CHECK(fd >= 0 && pwrite(fd, "X", 1, (off_t)(one + 40)) == 1, "a byte of record 2 flipped");
    close(fd);
    CHECK_INT(td_spool_open(path, 0, &sp, NULL, 0), 0, "reopens");
    td_spool_get_stats(sp, &s);
    CHECK_INT(s.depth, 2, "records 1 and 3 count");
    CHECK_INT(td_spool_replay(sp, 10, capture_sink, &cap), 0, "replay");
    CHECK(cap.n == 2 && memcmp(cap.ids[0], c[0].click_id, TD_LINK_UUID_SIZE) == 0 &&
              memcmp(cap.ids[1], c[2].click_id, TD_LINK_UUID_SIZE) == 0,
          "records 1 and 3 are replayed, 2 is skipped");
    td_spool_get_stats(sp, &s);
    CHECK(s.damaged > 0 && s.depth == 0, "the skipped bytes are reported damaged");
    td_spool_close(sp);
}

/* A replay that stops half-way (the database went again, or the process died) goes on later;
 * the store skips what it already holds: every click is stored exactly once. */
static void replay_idempotent(void)
{
    char path[512];
    td_spool *sp = NULL;
    td_spool_stats s;
    td_click c[10];
    struct capture cap = {.fields_ok = true, .fail_after = 1};
    long before = count_rows();

    snprintf(path, sizeof path, "%s/replay.spool", dir);
    td_spool_open(path, 0, &sp, NULL, 0);
    for (int i = 0; i < 10; i++)
        make_click(&c[i], i);
    td_spool_append(sp, c, 10);
    CHECK_INT(td_spool_replay(sp, 4, capture_sink, &cap), TD_EDB,
              "the sink fails on its second batch: replay returns its error");
    td_spool_get_stats(sp, &s);
    CHECK_INT(s.depth, 6, "the first batch of 4 went through, 6 wait");
    CHECK_INT(td_spool_append(sp, c, 1), 0, "appends go on during a replay (to a new file)");
    td_spool_get_stats(sp, &s);
    CHECK_INT(s.depth, 7, "depth 7");
    /* The first 4 reach the store now, as if stored before a crash. */
    {
        int row_rc[4];
        CHECK_INT(td_store_click_insert(st, c, 4, row_rc), 0, "4 clicks stored directly");
    }
    td_spool_close(sp); /* "crash": the replay file stays */
    sp = NULL;
    CHECK_INT(td_spool_open(path, 0, &sp, NULL, 0), 0, "reopened after the interruption");
    td_spool_get_stats(sp, &s);
    CHECK_INT(s.depth, 11, "all 10 of the replay file and the 1 new click wait again");
    CHECK_INT(td_spool_replay(sp, 4, store_sink, st), 0, "replay into the store");
    td_spool_get_stats(sp, &s);
    CHECK(s.depth == 0 && s.replayed == 11 && s.refused == 0, "11 replayed, none refused");
    CHECK_INT(count_rows(), before + 10, "10 rows: each click once, duplicates skipped");
    td_spool_close(sp);
}

/* Clicks of a link that is gone are refused by the store on replay: dropped, not retried. */
static void refused_rows(void)
{
    char path[512];
    td_spool *sp = NULL;
    td_spool_stats s;
    td_click c[2];
    long before = count_rows();

    snprintf(path, sizeof path, "%s/refused.spool", dir);
    td_spool_open(path, 0, &sp, NULL, 0);
    make_click(&c[0], 0);
    make_click(&c[1], 1);
    snprintf(c[1].tracking_id, sizeof c[1].tracking_id, "lt_gone_zzzzzzzzzzzzzz");
    td_spool_append(sp, c, 2);
    CHECK_INT(td_spool_replay(sp, 8, store_sink, st), 0, "replay with an unknown link");
    td_spool_get_stats(sp, &s);
    CHECK(s.depth == 0 && s.replayed == 1 && s.refused == 1,
          "one replayed, one refused (depth %" PRIu64 ", refused %" PRIu64 ")", s.depth, s.refused);
    CHECK_INT(count_rows(), before + 1, "only the click of the existing link is stored");
    td_spool_close(sp);
}

/* The bound: an append that would pass it is refused whole, nothing is written; after a replay
 * there is room again. */
static void bound(void)
{
    char path[512];
    td_spool *sp = NULL;
    td_spool_stats s;
    td_click c[16];
    long long size;
    int accepted = 0, rc = 0;
    struct capture cap = {.fields_ok = true, .fail_after = -1};

    snprintf(path, sizeof path, "%s/bound.spool", dir);
    CHECK_INT(td_spool_open(path, TD_SPOOL_MAX_MIN - 1, &sp, NULL, 0), TD_EINVAL,
              "a bound under 64 KiB is refused");
    CHECK_INT(td_spool_open(path, TD_SPOOL_MAX_MIN, &sp, NULL, 0), 0, "a 64 KiB spool");
    for (int i = 0; i < 16; i++)
        make_click(&c[i], i);
    while (accepted < 10000 && (rc = td_spool_append(sp, c, 16)) == 0)
        accepted += 16;
    CHECK_INT(rc, TD_ETOOBIG, "appends stop with TD_ETOOBIG when the spool is full");
    size = file_size(path);
    td_spool_get_stats(sp, &s);
    CHECK(size <= (long long)TD_SPOOL_MAX_MIN && s.bytes == (uint64_t)size,
          "the file stays within the bound (%lld bytes)", size);
    CHECK_INT(s.depth, accepted, "every accepted click is counted, none of the refused batch");
    CHECK_INT(td_spool_replay(sp, 64, capture_sink, &cap), 0, "replay");
    CHECK_INT(td_spool_append(sp, c, 16), 0, "after the replay there is room again");
    td_spool_close(sp);
}

/* Two spools on one path cannot be open at once (one per server); bad paths are refused. */
static void lock_and_paths(void)
{
    char path[512], err[600];
    td_spool *a = NULL, *b = NULL;

    snprintf(path, sizeof path, "%s/lock.spool", dir);
    CHECK_INT(td_spool_open(path, 0, &a, NULL, 0), 0, "first opener");
    CHECK_INT(td_spool_open(path, 0, &b, err, sizeof err), TD_EBUSY, "second opener: busy");
    CHECK(strstr(err, "in use by another process") != NULL, "the message says why: %s", err);
    td_spool_close(a);
    CHECK_INT(td_spool_open(path, 0, &b, NULL, 0), 0, "free again once closed");
    td_spool_close(b);
    CHECK_INT(td_spool_open("", 0, &a, NULL, 0), TD_EINVAL, "an empty path is refused");
    snprintf(path, sizeof path, "%s/lock.spool/inside", dir);
    CHECK_INT(td_spool_open(path, 0, &a, err, sizeof err), TD_EIO,
              "a folder that is a file: TD_EIO (%s)", err);
    CHECK(a == NULL, "and no spool");
}

/* A sink that appends while the replay runs: the new click is replayed in the same call. */
static void append_during_replay(void)
{
    char path[512];
    td_spool *sp = NULL;
    td_spool_stats s;
    td_click c;
    struct capture cap = {.fields_ok = true, .fail_after = -1};

    snprintf(path, sizeof path, "%s/during.spool", dir);
    td_spool_open(path, 0, &sp, NULL, 0);
    make_click(&c, 0);
    td_spool_append(sp, &c, 1);
    cap.append_to = sp;
    CHECK_INT(td_spool_replay(sp, 8, capture_sink, &cap), 0, "replay");
    td_spool_get_stats(sp, &s);
    CHECK(cap.n == 2 && s.depth == 0, "the click appended during the replay was replayed too");
    td_spool_close(sp);
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

/* Waits (up to 60 s) until the spool is empty. */
static bool wait_drained(td_spool *sp)
{
    td_spool_stats s;

    for (int i = 0; i < 6000; i++) {
        td_spool_get_stats(sp, &s);
        if (s.depth == 0)
            return true;
        usleep(10000);
    }
    return false;
}

/* The recorder with a spool: while the database is locked, clicks are answered from the spool
 * (rc 0) and nothing reaches the database; once unlocked the replay thread stores each once. */
static void recorder_spool(void)
{
    char path[512];
    td_store_options o = {.busy_timeout_ms = 50};
    td_recorder_config cfg = {.max_batch = 8, .replay_ms = 20};
    td_store *slow = NULL;
    td_recorder *r = NULL;
    td_spool *sp = NULL;
    td_recorder_stats rs;
    struct counter cnt = {0};
    sqlite3 *h = NULL;
    long before = count_rows();
    int accepted = 0;

    snprintf(path, sizeof path, "%s/recorder.spool", dir);
    CHECK_INT(td_spool_open(path, 0, &sp, NULL, 0), 0, "spool for the recorder");
    cfg.spool = sp;
    CHECK(td_store_open(db, &o, &slow, NULL, 0) == 0, "store with a short busy timeout");
    CHECK(td_recorder_new(slow, &cfg, &r) == 0, "recorder with the spool");
    sqlite3_open(db, &h);
    sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL); /* hold the write lock */
    for (int i = 0; i < 40; i++) {
        td_click c;
        make_click(&c, i);
        if (td_recorder_submit(r, &c, count_done, &cnt) == 0)
            accepted++;
    }
    {
        td_click c;
        make_click(&c, 41);
        CHECK_INT(td_recorder_record(r, &c), 0, "a click while the database is locked: rc 0");
        accepted++;
    }
    while (atomic_load(&cnt.ok) + atomic_load(&cnt.failed) < accepted - 1)
        usleep(10000);
    CHECK_INT(atomic_load(&cnt.ok), accepted - 1, "every click is answered with success");
    td_recorder_get_stats(r, &rs);
    CHECK(rs.has_spool && rs.spooled == (uint64_t)accepted && rs.committed == 0,
          "all %d spooled, none committed (spooled %" PRIu64 ")", accepted, rs.spooled);
    CHECK(rs.spool.depth > 0, "the spool holds them while the lock lasts (%" PRIu64 ")",
          rs.spool.depth);
    CHECK_INT(count_rows(), before, "nothing reached the database");
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(h);
    CHECK(wait_drained(sp), "once unlocked the replay thread empties the spool");
    CHECK_INT(count_rows(), before + accepted, "each click stored once");
    {
        td_click c;
        make_click(&c, 50);
        CHECK_INT(td_recorder_record(r, &c), 0, "a click after the replay");
    }
    /* Committed directly, or (when a lock of the 50 ms busy timeout comes in the way on a busy
     * machine) spooled and replayed: stored either way. */
    CHECK(wait_drained(sp) && count_rows() == before + accepted + 1, "and stored (%ld rows)",
          count_rows() - before);
    for (int i = 0; i < 6000; i++) {
        td_recorder_get_stats(r, &rs);
        if (!rs.outage)
            break;
        usleep(10000);
    }
    CHECK(!rs.outage, "the outage is over: batches go to the database again");
    td_recorder_free(r);
    td_spool_close(sp);
    td_store_close(slow);
}

/* A spool left by a process that died is replayed by the next recorder at its start. */
static void recorder_start_replays(void)
{
    char path[512];
    td_recorder_config cfg = {.replay_ms = 20};
    td_recorder *r = NULL;
    td_spool *sp = NULL;
    td_click c[5];
    long before = count_rows();

    snprintf(path, sizeof path, "%s/leftover.spool", dir);
    td_spool_open(path, 0, &sp, NULL, 0);
    for (int i = 0; i < 5; i++)
        make_click(&c[i], i);
    td_spool_append(sp, c, 5);
    td_spool_close(sp);
    sp = NULL;
    td_spool_open(path, 0, &sp, NULL, 0);
    cfg.spool = sp;
    td_recorder_new(st, &cfg, &r);
    CHECK(wait_drained(sp), "a new recorder replays what an earlier run left");
    CHECK_INT(count_rows(), before + 5, "5 rows");
    td_recorder_free(r);
    td_spool_close(sp);
}

/* Entry point. */
int main(void)
{
    td_tracker *t = NULL;
    td_link l;
    td_link_params p = {.original_url = "https://calendly.com/x", .link_function = "Calendly"};

    snprintf(dir, sizeof dir, "%s", td_test_tmpdir());
    snprintf(db, sizeof db, "%s/clicks.db", dir);
    if (td_store_open(db, NULL, &st, NULL, 0) || td_tracker_new(st, NULL, &t, NULL, 0) ||
        td_link_create(t, &p, &l, NULL, NULL)) {
        printf("not ok - set-up\n");
        return 1;
    }
    memcpy(link_id, l.tracking_id, sizeof link_id);
    append_reopen();
    torn_tail();
    damaged_middle();
    replay_idempotent();
    refused_rows();
    bound();
    lock_and_paths();
    append_during_replay();
    recorder_spool();
    recorder_start_replays();
    td_tracker_free(t);
    td_store_close(st);
    TEST_DONE();
}
