/* Benchmark of the click classifier: nanoseconds per td_classify_ua for a browser, crawlers, a
 * preview and an in-app browser, each next to reference loops run in the same process on the
 * same user agent: strstr of one literal ("Googlebot"), and every pattern tried in order
 * without the prefilter. Also the time and memory to build the classifier.
 * Usage: build/bench/classify [N] (iterations per figure, default 200000). */
#include "core/common.h"

#include "link/classify_int.h"
#include "trackdoc/classify.h"

#define DEFAULT_N 200000
#define ROUNDS 5          /* each figure is the median of this many rounds */
#define UNFILTERED_DIV 50 /* trying every pattern is slow: this many times fewer iterations */

static volatile size_t sink;

/* Returns the monotonic clock in nanoseconds. */
static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Returns the resident set size of this process in KiB (0 when /proc cannot tell). */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;

    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

/* Orders doubles for qsort. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

enum loop { LOOP_CLASSIFY, LOOP_STRSTR, LOOP_UNFILTERED };

/* Returns the median over ROUNDS of the nanoseconds per call of one loop over ua. */
static double time_loop(const td_classifier *c, enum loop what, const char *ua, long n)
{
    double r[ROUNDS];
    char reason[TD_CLASS_REASON_SIZE];

    for (int k = 0; k < ROUNDS; k++) {
        int64_t t0 = now_ns();
        for (long i = 0; i < n; i++) {
            if (what == LOOP_CLASSIFY)
                sink += (size_t)td_classify_ua(c, ua, reason, sizeof reason);
            else if (what == LOOP_STRSTR)
                sink += strstr(ua, "Googlebot") != NULL;
            else
                sink += (size_t)td__classify_ua_unfiltered(c, ua, reason, sizeof reason);
        }
        r[k] = (double)(now_ns() - t0) / (double)n;
    }
    qsort(r, ROUNDS, sizeof *r, cmp_double);
    return r[ROUNDS / 2];
}

/* Returns nanoseconds per td_burst_note over n notes: 1000 applications, each clicked from its
 * own address every 1000 notes (1 ms of simulated time per note) on one of three links, so most
 * notes are bursts. Returns -1 when memory runs out. */
static double time_burst(long n)
{
    static char ctx[1000][40], ip[1000][40];
    static const char *const links[] = {"lt_calendly_a", "lt_linkedin_b", "lt_portfolio_c"};
    char earlier[TD_BURST_MAX_EARLIER][37];
    td_burst *b = NULL;
    size_t ne;
    int64_t t0;
    double ns;

    for (int k = 0; k < 1000; k++) {
        snprintf(ctx[k], sizeof ctx[k], "00000000-0000-4000-8000-%012d", k);
        snprintf(ip[k], sizeof ip[k], "198.51.%d.%d", k / 250, k % 250);
    }
    if (td_burst_new(0, &b) != 0)
        return -1;
    t0 = now_ns();
    for (long i = 0; i < n; i++)
        sink += td_burst_note(b, ctx[i % 1000], ip[i % 1000], links[i % 3], "0190f5c2-click", i,
                              2000, earlier, &ne);
    ns = (double)(now_ns() - t0) / (double)n;
    td_burst_free(b);
    return ns;
}

static const struct {
    const char *name;
    const char *ua;
} cases[] = {
    {"browser (Chrome, Windows)",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36"},
    {"browser (Facebook app, iPhone)",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.38.109;FBBV/621285012;FBDV/iPhone15,2]"},
    {"bot (Googlebot)", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
    {"bot (python-requests)", "python-requests/2.31.0"},
    {"preview (Slackbot)", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
};

/* Builds the classifier, then times every case. */
int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : DEFAULT_N;
    td_classifier *c = NULL;
    td_classifier_info info;
    char err[256] = "", reason[TD_CLASS_REASON_SIZE];
    double build_ms, worst = 0, browser = 0, bot = 0;
    int64_t t0;
    long rss0 = rss_kib();

    if (n <= 0 || n > 100000000) {
        fprintf(stderr, "usage: classify [N]  (1 to 100000000 iterations)\n");
        return 2;
    }
    t0 = now_ns();
    if (td_classifier_new(NULL, &c, err, sizeof err) != 0) {
        fprintf(stderr, "classify: %s\n", err);
        return 1;
    }
    build_ms = (double)(now_ns() - t0) / 1e6;
    td_classifier_info_get(c, &info);
    printf("classifier: %zu patterns (%zu scanner, %zu preview, %zu bot), built in %.0f ms, "
           "resident memory +%ld KiB;\nprefilter %zu literals, %zu states, %zu KiB; %zu patterns "
           "tried on every user agent\n",
           info.patterns[TD_CLASS_SCANNER] + info.patterns[TD_CLASS_PREVIEW] +
               info.patterns[TD_CLASS_BOT],
           info.patterns[TD_CLASS_SCANNER], info.patterns[TD_CLASS_PREVIEW],
           info.patterns[TD_CLASS_BOT], build_ms, rss_kib() - rss0, info.prefilter_literals,
           info.prefilter_states, info.prefilter_bytes / 1024, info.always_tried);
    printf("%ld iterations per figure, median of %d rounds, one thread\n\n", n, ROUNDS);
    printf("%-32s %-9s %10s %10s %8s %12s %8s\n", "user agent", "class", "classify", "strstr",
           "ratio", "all patterns", "ratio");
    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        const char *ua = cases[i].ua;
        td_click_class k = td_classify_ua(c, ua, reason, sizeof reason);
        double tc = time_loop(c, LOOP_CLASSIFY, ua, n);
        double ts = time_loop(c, LOOP_STRSTR, ua, n);
        double tu = time_loop(c, LOOP_UNFILTERED, ua, TD_MAX(n / UNFILTERED_DIV, 1));

        printf("%-32s %-9s %7.0f ns %7.0f ns %7.1fx %9.0f ns %7.1fx\n", cases[i].name,
               td_click_class_name(k), tc, ts, tc / ts, tu, tu / tc);
        worst = TD_MAX(worst, tc);
        if (i == 0)
            browser = tc;
        if (i == 2)
            bot = tc;
    }
    printf("\nclassify: the classifier; strstr: strstr(ua, \"Googlebot\"), one literal; "
           "all patterns:\nevery pattern tried in order without the prefilter (ratio to "
           "classify).\n");
    printf("At 30000 redirects/s the worst case above takes %.1f%% of one core.\n",
           worst * 30000 / 1e9 * 100);
    printf("td_burst_note: %.0f ns per note (default 65536-click ring, 1000 applications, one "
           "thread)\n",
           time_burst(n));
    printf("summary: classify: %.0f ns per browser, %.0f ns per crawler user agent (worst %.0f "
           "ns = %.1f%% of a core at 30k redirects/s); built in %.0f ms\n",
           browser, bot, worst, worst * 30000 / 1e9 * 100, build_ms);
    td_classifier_free(c);
    return 0;
}
