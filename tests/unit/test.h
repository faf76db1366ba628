/* A minimal test harness: each check prints "ok - name" or "not ok - name: detail" (TAP-like);
 * scripts/run-tests.sh counts those lines. A test binary exits 1 if any check failed. */
#ifndef TD_TEST_H
#define TD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int td_test_failed;
static int td_test_count;

/* Records one check named name, which passed when cond is true. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        td_test_count++;                                                                           \
        if (cond) {                                                                                \
            printf("ok - ");                                                                       \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        } else {                                                                                   \
            td_test_failed++;                                                                      \
            printf("not ok - ");                                                                   \
            printf(__VA_ARGS__);                                                                   \
            printf("  (%s:%d: %s)\n", __FILE__, __LINE__, #cond);                                  \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)

/* Checks two integers for equality and prints both when they differ. */
#define CHECK_INT(got, want, ...)                                                                  \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        td_test_count++;                                                                           \
        if (g_ == w_) {                                                                            \
            printf("ok - ");                                                                       \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        } else {                                                                                   \
            td_test_failed++;                                                                      \
            printf("not ok - ");                                                                   \
            printf(__VA_ARGS__);                                                                   \
            printf("  (%s:%d: got %lld, want %lld)\n", __FILE__, __LINE__, g_, w_);                \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)

/* Checks two strings for equality and prints both when they differ. */
#define CHECK_STR(got, want, ...)                                                                  \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        td_test_count++;                                                                           \
        if (g_ && w_ && strcmp(g_, w_) == 0) {                                                     \
            printf("ok - ");                                                                       \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        } else {                                                                                   \
            td_test_failed++;                                                                      \
            printf("not ok - ");                                                                   \
            printf(__VA_ARGS__);                                                                   \
            printf("  (%s:%d: got \"%s\", want \"%s\")\n", __FILE__, __LINE__, g_ ? g_ : "(null)", \
                   w_ ? w_ : "(null)");                                                            \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)

/* Ends main(): exit status 1 when a check failed. */
#define TEST_DONE() return td_test_failed ? 1 : 0

/* Makes a fresh temporary directory for a test and returns its path (static storage). */
static inline const char *td_test_tmpdir(void)
{
    static char dir[256];
    const char *base = getenv("TMPDIR");

    snprintf(dir, sizeof dir, "%s/tdtest.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
    return dir;
}

#endif
