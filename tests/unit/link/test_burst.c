/* The burst detector: the window, another link versus the same link, the key (context and
 * address), earlier clicks handed back once, the per-address and total bounds, threads. */
#include "core/common.h"

#include <pthread.h>

#include "test.h"
#include "trackdoc/classify.h"

#define W 2000 /* the window of these tests, ms */

/* One note: returns whether it was a burst; earlier ids joined by "," into list (may be NULL). */
static bool note(td_burst *b, const char *ctx, const char *ip, const char *link, const char *id,
                 int64_t t, char *list, size_t n)
{
    char earlier[TD_BURST_MAX_EARLIER][37];
    size_t ne = 99;
    bool burst = td_burst_note(b, ctx, ip, link, id, t, W, earlier, &ne);

    if (list) {
        list[0] = '\0';
        for (size_t i = 0; i < ne && i < TD_BURST_MAX_EARLIER; i++) {
            size_t len = strlen(list);
            snprintf(list + len, n - len, "%s%s", i ? "," : "", earlier[i]);
        }
    }
    return burst;
}

/* Another link within the window is a burst; the same link is not; the window's edge. */
static void test_window(void)
{
    td_burst *b = NULL;
    char ids[1024];

    CHECK_INT(td_burst_new(0, &b), 0, "a detector with the default size");
    CHECK(!note(b, "app1", "198.51.100.7", "lt_a", "c1", 1000, ids, sizeof ids),
          "a first click is no burst");
    CHECK(!note(b, "app1", "198.51.100.7", "lt_a", "c2", 1500, ids, sizeof ids),
          "the same link again (a double click, HEAD then GET) is no burst");
    CHECK(note(b, "app1", "198.51.100.7", "lt_b", "c3", 2500, ids, sizeof ids),
          "another link of the application from the same address 1.5 s later is a burst");
    CHECK_STR(ids, "c2,c1", "the earlier clicks of the burst come back, newest first");
    CHECK(note(b, "app1", "198.51.100.7", "lt_c", "c4", 2600, ids, sizeof ids),
          "a third link is still a burst");
    CHECK_STR(ids, "", "earlier clicks come back only once");
    CHECK(!note(b, "app1", "198.51.100.7", "lt_d", "c5", 2600 + W + 1, ids, sizeof ids),
          "another link 2.001 s after the last click is no burst");
    CHECK(note(b, "app1", "198.51.100.7", "lt_e", "c6", 2600 + W + 1 + W, ids, sizeof ids),
          "another link exactly 2 s later is a burst (the window includes its edge)");
    CHECK_STR(ids, "c5", "... and names the click before it");
    td_burst_free(b);
}

/* The key is the context and the address; no context, no burst. */
static void test_key(void)
{
    td_burst *b = NULL;
    char ids[1024];
    char earlier[TD_BURST_MAX_EARLIER][37];
    size_t ne = 7;

    CHECK_INT(td_burst_new(64, &b), 0, "a detector of 64 clicks");
    note(b, "app1", "198.51.100.7", "lt_a", "c1", 0, NULL, 0);
    CHECK(!note(b, "app1", "198.51.100.8", "lt_b", "c2", 100, ids, sizeof ids),
          "another address is no burst");
    CHECK(!note(b, "app2", "198.51.100.7", "lt_b", "c3", 200, ids, sizeof ids),
          "another application is no burst");
    CHECK(!note(b, "", "198.51.100.7", "lt_x", "c4", 300, ids, sizeof ids) &&
              !note(b, "", "198.51.100.7", "lt_y", "c5", 400, ids, sizeof ids),
          "clicks without a context are never a burst");
    CHECK(!note(b, NULL, "198.51.100.7", "lt_z", "c6", 450, ids, sizeof ids),
          "a NULL context is never a burst");
    CHECK(!td_burst_note(b, "app1", "198.51.100.7", "lt_q", "c7", 500, 0, earlier, &ne) && ne == 0,
          "a window of 0 (signal off) is never a burst");
    CHECK(note(b, "app1", "198.51.100.7", "lt_b", "c8", 600, ids, sizeof ids),
          "the first application's address with another link is a burst");
    CHECK_STR(ids, "c1", "... naming only that application's click from that address");
    CHECK(!td_burst_note(NULL, "app1", "1.2.3.4", "a", "b", 0, W, earlier, &ne) && ne == 0,
          "no detector: no burst");
    CHECK(note(b, "app1", "198.51.100.7", "lt_c", "c9", 550, ids, sizeof ids),
          "a click noted a little out of order still joins the burst");
    CHECK(td_burst_note(b, "app1", "198.51.100.7", "lt_d", "c10", 700, W, NULL, NULL),
          "earlier may be NULL");
    td_burst_free(b);
}

/* The ring forgets the oldest click; one address keeps at most 32; 16 ids per note. */
static void test_bounds(void)
{
    td_burst *b = NULL;
    char ids[2048], id[37];
    int commas = 0;

    CHECK_INT(td_burst_new((size_t)1 << 25, &b), TD_EINVAL, "more than 2^24 clicks is refused");
    CHECK_INT(td_burst_new(4, &b), 0, "a detector of 4 clicks");
    note(b, "app1", "198.51.100.7", "lt_a", "old", 0, NULL, 0);
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "other%d", i);
        note(b, id, "203.0.113.1", "lt_z", id, 10 + i, NULL, 0);
    }
    CHECK(!note(b, "app1", "198.51.100.7", "lt_b", "new", 100, ids, sizeof ids),
          "after 4 more clicks the oldest is forgotten: no burst");
    CHECK(note(b, "other3", "203.0.113.1", "lt_y", "x", 100, ids, sizeof ids),
          "the newest clicks are still known");
    CHECK_STR(ids, "other3", "... and named");
    td_burst_free(b);

    CHECK_INT(td_burst_new(1000, &b), 0, "a detector of 1000 clicks");
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof id, "same%02d", i);
        note(b, "app1", "198.51.100.7", "lt_a", id, i, NULL, 0);
    }
    CHECK(note(b, "app1", "198.51.100.7", "lt_b", "n1", 50, ids, sizeof ids),
          "40 clicks of one link, then another link: a burst");
    for (const char *p = ids; *p; p++)
        commas += *p == ',';
    CHECK(commas + 1 == TD_BURST_MAX_EARLIER && strncmp(ids, "same39,same38", 13) == 0,
          "the 16 newest earlier clicks come back: %.40s...", ids);
    CHECK(note(b, "app1", "198.51.100.7", "lt_c", "n2", 60, ids, sizeof ids) &&
              strncmp(ids, "same23,", 7) == 0 && strstr(ids, "same09") != NULL &&
              !strstr(ids, "same07"),
          "the next note hands back the next ones, down to the 32 kept: %.60s...", ids);
    CHECK(note(b, "app1", "198.51.100.7", "lt_d", "n3", 70, ids, sizeof ids) && !ids[0],
          "then none are left");
    td_burst_free(b);
    td_burst_free(NULL);
}

/* Notes clicks of 50 applications from one thread's address. */
static void *note_many(void *arg)
{
    td_burst *b = ((void **)arg)[0];
    int *bursts = ((void **)arg)[1];
    char ctx[32], link[32], id[37], ip[32];

    snprintf(ip, sizeof ip, "192.0.2.%d", *bursts);
    *bursts = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(ctx, sizeof ctx, "app%d", i % 50);
        snprintf(link, sizeof link, "lt_%d", i % 3);
        snprintf(id, sizeof id, "%s-%d", ip, i);
        *bursts += note(b, ctx, ip, link, id, i, NULL, 0);
    }
    return NULL;
}

/* Runs four threads of note_many on a detector of cap clicks; returns the bursts they saw. */
static int run_threads(size_t cap)
{
    td_burst *b = NULL;
    pthread_t th[4];
    int bursts[4];
    void *args[4][2];
    int started = 0, total = 0;

    if (td_burst_new(cap, &b) != 0)
        return -1;
    for (int i = 0; i < 4; i++) {
        bursts[i] = i + 1;
        args[i][0] = b;
        args[i][1] = &bursts[i];
        started += pthread_create(&th[i], NULL, note_many, args[i]) == 0;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        total += bursts[i];
    }
    td_burst_free(b);
    return started == 4 ? total : -1;
}

/* Four threads share a detector. */
static void test_threads(void)
{
    int total;

    /* Each thread's address clicks application N every 50 ms with the link changing: every
     * click but the first of each application is a burst, 4 x (2000 - 50). */
    total = run_threads(16384);
    CHECK_INT(total, 4 * (2000 - 50), "4 threads, 8000 notes, room for all: every expected burst");
    /* With room for 64 clicks, how many are still known depends on how the threads interleave:
     * only the bounds are certain. */
    total = run_threads(64);
    CHECK(total >= 0 && total <= 4 * (2000 - 50), "4 threads, 8000 notes in 64 places: %d bursts",
          total);
}

/* Entry point. */
int main(void)
{
    test_window();
    test_key();
    test_bounds();
    test_threads();
    TEST_DONE();
}
