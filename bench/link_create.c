/* Benchmark of td_link_create on a temporary SQLite database: microseconds per call with the
 * link cache warm, cold with an insert, and cold with the row already stored (a store read).
 * Usage: build/bench/link_create [N]: N contexts per case (default 1000); TRACKDOC_SQLITE_SYNC
 * (full or normal) runs one synchronous mode instead of both. */
#include "core/common.h"

#include <fcntl.h>

#include "trackdoc/link.h"
#include "trackdoc/store.h"

#define DEFAULT_N 1000
#define MAX_N 1000000
#define WARMUP_CALLS 16   /* untimed creates first: statements prepared, pages cached */
#define WARM_ROUNDS 10    /* the same N contexts again, this many times */
#define ROW_ROUNDS 5      /* fresh trackers over the stored rows, this many times */
#define GOAL_WARM_US 20.0 /* goals from the issue */
#define GOAL_COLD_US 200.0

struct stats {
    size_t n;
    double median, p90, p99, max;
};

/* Returns the monotonic clock in nanoseconds. */
static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Orders doubles for qsort. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Returns the q-quantile (0 < q <= 1) of sorted v by nearest rank. */
static double quantile(const double *v, size_t n, double q)
{
    size_t rank = (size_t)(q * (double)n + 0.999999);

    return v[rank == 0 ? 0 : TD_MIN(rank, n) - 1];
}

/* Sorts v (microseconds per call) and fills out with its median, p90, p99 and max. */
static void summarize(double *v, size_t n, struct stats *out)
{
    qsort(v, n, sizeof *v, cmp_double);
    out->n = n;
    out->median = quantile(v, n, 0.5);
    out->p90 = quantile(v, n, 0.9);
    out->p99 = quantile(v, n, 0.99);
    out->max = v[n - 1];
}

/* Fills the parameters of context i: a job's Calendly link as a resume carries it. The job id
 * and URL strings live in the caller's buffers. */
static void make_params(size_t i, char job[TD_LINK_UUID_SIZE], char url[64], td_link_params *p)
{
    snprintf(job, TD_LINK_UUID_SIZE, "00000000-0000-4000-8000-%012zx", i);
    snprintf(url, 64, "https://calendly.com/bench/%zu", i);
    memset(p, 0, sizeof *p);
    p->original_url = url;
    p->link_function = "Calendly";
    p->job_id = job;
    p->link_type = "resume";
    p->created_by = "bench";
}

/* Times td_link_create for contexts first..first+n-1 into us[0..n-1]; every call must have
 * created a row (want_created) or found one (!want_created). Returns 0 or the error. */
static int time_calls(td_tracker *t, size_t first, size_t n, bool want_created, double *us)
{
    char job[TD_LINK_UUID_SIZE], url[64];
    td_link_params p;
    td_link out;
    const char *field = NULL;
    bool created = false;
    size_t i;
    int rc = 0;

    for (i = 0; i < n; i++) {
        int64_t t0, t1;
        make_params(first + i, job, url, &p);
        t0 = now_ns();
        rc = td_link_create(t, &p, &out, &created, &field);
        t1 = now_ns();
        if (rc) {
            fprintf(stderr, "link_create: td_link_create of context %zu: %s%s%s\n", first + i,
                    td_strerror(rc), field ? " in " : "", field ? field : "");
            goto out;
        }
        if (created != want_created) {
            fprintf(stderr, "link_create: context %zu was %s, expected it %s\n", first + i,
                    created ? "created" : "found", want_created ? "created" : "found");
            rc = TD_EINVAL;
            goto out;
        }
        if (us)
            us[i] = (double)(t1 - t0) / 1000.0;
    }
out:
    return rc;
}

/* Makes a tracker whose cache holds every context of the run and trusts it for the whole run,
 * so that the warm figure measures the cache path (the server's default TTL is 10 s). */
static int tracker_new(td_store *st, size_t n, td_tracker **out)
{
    td_link_config cfg = {.cache_size = (long)n + 2 * WARMUP_CALLS, .cache_ttl_ms = 3600000};
    char err[256];
    int rc = td_tracker_new(st, &cfg, out, err, sizeof err);

    if (rc)
        fprintf(stderr, "link_create: td_tracker_new: %s\n", err);
    return rc;
}

/* Prints one result line with its ratio to the goal (judged on the median). */
static void print_row(const char *name, const struct stats *s, double goal)
{
    printf("  %-34s %6zu %9.1f %9.1f %9.1f %9.1f   < %3.0f us %7.2f  %s\n", name, s->n, s->median,
           s->p90, s->p99, s->max, goal, s->median / goal, s->median < goal ? "met" : "missed");
}

/* Removes a SQLite database and its WAL and shared-memory files. */
static void remove_db(const char *path)
{
    char side[1300];

    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* Times n writes of 4 KiB each followed by fdatasync, in dir: the floor of a durable commit on
 * this disk, for reading the cold figures. */
static int bench_fsync(const char *dir, size_t n, struct stats *out)
{
    char path[1200], block[4096];
    double *us = calloc(n, sizeof *us);
    int fd = -1, rc = 0;

    memset(block, 'x', sizeof block);
    snprintf(path, sizeof path, "%s/fsync.bin", dir);
    if (!us || (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        rc = TD_EIO;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t t0 = now_ns();
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block || fdatasync(fd) != 0) {
            rc = TD_EIO;
            goto out;
        }
        us[i] = (double)(now_ns() - t0) / 1000.0;
    }
    summarize(us, n, out);
out:
    if (rc)
        fprintf(stderr, "link_create: fsync reference in %s: %s\n", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(path);
    free(us);
    return rc;
}

/* Runs the three cases on a fresh database with SQLite synchronous=sync and prints them. */
static int bench_mode(const char *dir, const char *sync, size_t n)
{
    td_store_options opts = {.sync = sync};
    td_store *st = NULL;
    td_tracker *t = NULL, *fresh = NULL;
    struct stats cold, warm, row;
    char path[1200], err[512], upper[16];
    size_t nwarm = n * WARM_ROUNDS, nrow = n * ROW_ROUNDS, i;
    double *us = calloc(TD_MAX(nwarm, nrow), sizeof *us);
    int rc = 0;

    snprintf(path, sizeof path, "%s/link_create-%s.db", dir, sync);
    remove_db(path);
    if (!us) {
        rc = TD_ENOMEM;
        goto out;
    }
    if ((rc = td_store_open(path, &opts, &st, err, sizeof err)) != 0) {
        fprintf(stderr, "link_create: td_store_open %s: %s\n", path, err);
        goto out;
    }
    if ((rc = tracker_new(st, n, &t)) != 0)
        goto out;
    /* Contexts MAX_N.. are the untimed warm-up, apart from the measured 0..n-1. */
    if ((rc = time_calls(t, MAX_N, WARMUP_CALLS, true, NULL)) != 0)
        goto out;
    /* Cold: every context is new, so every call validates, misses the cache and inserts. */
    if ((rc = time_calls(t, 0, n, true, us)) != 0)
        goto out;
    summarize(us, n, &cold);
    /* Warm: the same contexts again through the same tracker: answered by the cache. */
    for (i = 0; i < WARM_ROUNDS; i++)
        if ((rc = time_calls(t, 0, n, false, us + i * n)) != 0)
            goto out;
    summarize(us, nwarm, &warm);
    /* Cold cache, row exists: a new tracker (a restarted process) over the stored rows, so
     * every call reads the store once. */
    for (i = 0; i < ROW_ROUNDS; i++) {
        if ((rc = tracker_new(st, n, &fresh)) != 0 ||
            (rc = time_calls(fresh, 0, n, false, us + i * n)) != 0)
            goto out;
        td_tracker_free(fresh);
        fresh = NULL;
    }
    summarize(us, nrow, &row);

    for (i = 0; i < sizeof upper - 1 && sync[i]; i++)
        upper[i] = (char)toupper((unsigned char)sync[i]);
    upper[i] = '\0';
    printf("\nSQLite synchronous=%s (microseconds per call)\n", upper);
    printf("  %-34s %6s %9s %9s %9s %9s   %-8s %7s\n", "case", "calls", "median", "p90", "p99",
           "max", "goal", "x goal");
    print_row("warm: same contexts, cache hit", &warm, GOAL_WARM_US);
    print_row("cold: new context, insert", &cold, GOAL_COLD_US);
    print_row("cold cache, row exists: store read", &row, GOAL_COLD_US);
    printf("summary: link_create sync=%s: warm %.1f us (goal < %.0f: %s), cold insert %.1f us "
           "(goal < %.0f: %s), cold row exists %.1f us (goal < %.0f: %s)\n",
           sync, warm.median, GOAL_WARM_US, warm.median < GOAL_WARM_US ? "met" : "missed",
           cold.median, GOAL_COLD_US, cold.median < GOAL_COLD_US ? "met" : "missed", row.median,
           GOAL_COLD_US, row.median < GOAL_COLD_US ? "met" : "missed");
out:
    td_tracker_free(fresh);
    td_tracker_free(t);
    td_store_close(st);
    remove_db(path);
    free(us);
    return rc;
}

/* Parses N, makes the temporary folder, runs each synchronous mode and removes the folder. */
int main(int argc, char **argv)
{
    static const char *const modes[] = {"full", "normal"};
    const char *env_sync = getenv("TRACKDOC_SQLITE_SYNC");
    const char *tmpdir = getenv("TMPDIR");
    char dir[1024];
    struct stats disk;
    size_t n = DEFAULT_N;
    int rc = 0;

    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--help") == 0)) {
        fprintf(stderr,
                "usage: %s [N]   (N contexts per case, default %d; "
                "TRACKDOC_SQLITE_SYNC=full|normal runs one mode, default both)\n",
                argv[0], DEFAULT_N);
        return 2;
    }
    if (argc == 2) {
        char *end;
        long v;
        errno = 0;
        v = strtol(argv[1], &end, 10);
        if (errno || end == argv[1] || *end || v < 1 || v > MAX_N) {
            fprintf(stderr, "link_create: N must be 1 to %d, not \"%s\"\n", MAX_N, argv[1]);
            return 2;
        }
        n = (size_t)v;
    }
    if (env_sync && *env_sync && strcasecmp(env_sync, "full") != 0 &&
        strcasecmp(env_sync, "normal") != 0) {
        fprintf(stderr, "link_create: TRACKDOC_SQLITE_SYNC must be full or normal, not \"%s\"\n",
                env_sync);
        return 2;
    }
    snprintf(dir, sizeof dir, "%s/trackdoc-bench-link.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "link_create: cannot make a temporary folder %s: %s\n", dir,
                strerror(errno));
        return 1;
    }
    printf("link_create: td_link_create with %zu contexts per case on a temporary SQLite "
           "database in %s, %ld CPUs\n",
           n, dir, sysconf(_SC_NPROCESSORS_ONLN));
    if ((rc = bench_fsync(dir, n, &disk)) == 0)
        printf("disk reference: write 4 KiB + fdatasync: median %.1f us, p90 %.1f us, p99 %.1f "
               "us\n",
               disk.median, disk.p90, disk.p99);
    for (size_t i = 0; rc == 0 && i < TD_ARRAY_SIZE(modes); i++) {
        if (env_sync && *env_sync && strcasecmp(env_sync, modes[i]) != 0)
            continue;
        rc = bench_mode(dir, modes[i], n);
    }
    rmdir(dir);
    return rc ? 1 : 0;
}
