/* The click classifier: class names, thresholds, the user-agent lists on examples of every
 * class, every request signal and their order, the prefilter against trying every pattern, and
 * accuracy on the labelled user agents of tests/data/useragents/ (README.md there says where
 * they come from): precision and recall for non-human are printed as "# " lines, and the goals
 * are checked: at most 2% of real browsers called non-human, at least 95% of crawlers caught. */
#include "core/common.h"

#include <jansson.h>
#include <pthread.h>

#include "link/classify_int.h"
#include "test.h"
#include "trackdoc/classify.h"

#define UA_DIR "tests/data/useragents/"
#define DATASET "data/crawler-user-agents/crawler-user-agents.json"
#define GOAL_BROWSERS_FLAGGED 0.02 /* at most this share of real browsers called non-human */
#define GOAL_CRAWLERS_CAUGHT 0.95  /* at least this share of crawlers called non-human */

#define CHROME                                                                                     \
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "            \
    "Chrome/126.0.0.0 Safari/537.36"

/* A list of user agents read from a file. */
struct ua_list {
    char **v;
    size_t n;
};

/* Adds a copy of s to l. */
static void list_add(struct ua_list *l, const char *s)
{
    char **nv = realloc(l->v, (l->n + 1) * sizeof *nv);

    if (!nv || !(nv[l->n] = strdup(s))) {
        perror("out of memory");
        exit(2);
    }
    l->v = nv;
    l->n++;
}

/* Frees l. */
static void list_free(struct ua_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Reads the non-empty lines of path into l; returns how many. */
static size_t read_lines(const char *path, struct ua_list *l)
{
    FILE *f = fopen(path, "rb");
    char line[8192];
    size_t n = 0;

    CHECK(f != NULL, "%s opens", path);
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0]) {
            list_add(l, line);
            n++;
        }
    }
    if (f)
        fclose(f);
    return n;
}

/* Reads the strings of the JSON array in path into l; returns how many. */
static size_t read_json_strings(const char *path, struct ua_list *l)
{
    json_error_t e;
    json_t *a = json_load_file(path, 0, &e), *v;
    size_t i, n = 0;

    CHECK(json_is_array(a), "%s is a JSON array", path);
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v)) {
            list_add(l, json_string_value(v));
            n++;
        }
    }
    json_decref(a);
    return n;
}

/* Reads every "instances" string of the crawler-user-agents data set into l. */
static void read_dataset_instances(struct ua_list *l)
{
    json_error_t e;
    json_t *a = json_load_file(DATASET, 0, &e), *entry, *inst;
    size_t i, j;

    CHECK(json_is_array(a), "%s is a JSON array", DATASET);
    json_array_foreach(a, i, entry)
    {
        json_array_foreach(json_object_get(entry, "instances"), j, inst)
        {
            if (json_is_string(inst))
                list_add(l, json_string_value(inst));
        }
    }
    json_decref(a);
}

/* True when l holds s. */
static bool list_has(const struct ua_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

/* ---- names and thresholds ---- */

/* Class names and their parsing. */
static void test_names(void)
{
    td_click_class c;

    for (int i = 0; i < TD_CLASS_COUNT; i++) {
        CHECK(td_click_class_parse(td_click_class_name((td_click_class)i), &c) == 0 &&
                  c == (td_click_class)i,
              "class name %s parses back", td_click_class_name((td_click_class)i));
    }
    CHECK_STR(td_click_class_name(TD_CLASS_SCANNER), "scanner", "scanner is named scanner");
    CHECK(td_click_class_parse("PREVIEW", &c) == 0 && c == TD_CLASS_PREVIEW,
          "class names parse in any case");
    CHECK_INT(td_click_class_parse("robot", &c), TD_EINVAL, "an unknown class name is refused");
    CHECK_INT(td_click_class_parse("", &c), TD_EINVAL, "an empty class name is refused");
    CHECK_INT(td_click_class_parse(NULL, &c), TD_EINVAL, "no class name is refused");
}

/* Defaults, switching signals off, and refused thresholds. */
static void test_config(void)
{
    td_classifier *c = NULL;
    char err[256] = "";
    td_classify_config off = {.burst_window_ms = -1, .too_soon_ms = -1, .accept_language = -1};
    td_classify_config custom = {.burst_window_ms = 750};
    td_classify_config bad_window = {.burst_window_ms = 3600001};
    td_classify_config bad_soon = {.too_soon_ms = 86400001};
    td_classify_config bad_lang = {.accept_language = 2};

    CHECK_INT(td_classifier_new(NULL, &c, err, sizeof err), 0, "a classifier with defaults: %s",
              err);
    CHECK_INT(td_classifier_burst_window(c), 2000, "default burst window is 2000 ms");
    td_classifier_free(c);
    CHECK_INT(td_classifier_new(&custom, &c, err, sizeof err), 0, "a burst window of 750 ms");
    CHECK_INT(td_classifier_burst_window(c), 750, "the burst window is the configured one");
    td_classifier_free(c);
    CHECK_INT(td_classifier_new(&off, &c, err, sizeof err), 0, "every signal off");
    CHECK_INT(td_classifier_burst_window(c), 0, "a burst window switched off reads 0");
    td_classifier_free(c);
    c = (td_classifier *)&c;
    CHECK_INT(td_classifier_new(&bad_window, &c, err, sizeof err), TD_EINVAL,
              "a burst window over an hour is refused");
    CHECK(c == NULL && strstr(err, "burst window"), "... saying so: %s", err);
    CHECK_INT(td_classifier_new(&bad_soon, &c, err, sizeof err), TD_EINVAL,
              "a too-soon threshold over a day is refused");
    CHECK(strstr(err, "too-soon") != NULL, "... saying so: %s", err);
    CHECK_INT(td_classifier_new(&bad_lang, &c, NULL, 0), TD_EINVAL,
              "accept_language 2 is refused (err may be NULL)");
    td_classifier_free(NULL);
    CHECK_INT(td_classifier_burst_window(NULL), 0, "no classifier: no burst window");
}

/* ---- the user-agent lists ---- */

struct ua_case {
    const char *ua;
    td_click_class want;
    const char *reason; /* a prefix of the reason */
    const char *what;
};

/* Written for this test after the formats their vendors publish; the accuracy test below uses
 * user agents nobody here wrote. */
static const struct ua_case ua_cases[] = {
    /* previews win over crawler patterns */
    {"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", TD_CLASS_PREVIEW, "ua:Slackbot",
     "Slack unfurling"},
    {"LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
     TD_CLASS_PREVIEW, "ua:LinkedInBot", "LinkedIn preview (not the Apache-HttpClient bot)"},
    {"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", TD_CLASS_PREVIEW,
     "ua:facebookexternalhit", "Facebook preview"},
    {"facebookexternalhit/1.1 Facebot Twitterbot/1.0", TD_CLASS_PREVIEW, "ua:", "iMessage preview"},
    {"Twitterbot/1.0", TD_CLASS_PREVIEW, "ua:Twitterbot", "X preview"},
    {"WhatsApp/2.23.20.0 A", TD_CLASS_PREVIEW, "ua:WhatsApp", "WhatsApp preview"},
    {"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", TD_CLASS_PREVIEW,
     "ua:Discordbot", "Discord preview"},
    {"TelegramBot (like TwitterBot)", TD_CLASS_PREVIEW, "ua:TelegramBot", "Telegram preview"},
    {"Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 "
     "skype-url-preview@microsoft.com",
     TD_CLASS_PREVIEW, "ua:SkypeUriPreview", "Teams and Skype preview"},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/100.0.4896.127 Safari/537.36 MicrosoftPreview/2.0 +https://aka.ms/MicrosoftPreview",
     TD_CLASS_PREVIEW, "ua:MicrosoftPreview", "Microsoft preview"},
    {"Acme-LinkPreview/3.1", TD_CLASS_PREVIEW, "ua:link-preview", "a generic link preview"},
    /* mail security and office probes */
    {"Microsoft Office Existence Discovery", TD_CLASS_SCANNER, "ua:microsoft-office",
     "Office's existence discovery"},
    {"Mozilla/4.0 (compatible; ms-office; MSOffice 16)", TD_CLASS_SCANNER, "ua:microsoft-office",
     "Office fetching a link"},
    {"Mozilla/5.0 (compatible; Barracuda Link Protection)", TD_CLASS_SCANNER, "ua:barracuda",
     "Barracuda names itself"},
    {"Mozilla/5.0 (compatible; proofpoint url defense)", TD_CLASS_SCANNER, "ua:proofpoint",
     "Proofpoint names itself"},
    {"Google-Safety", TD_CLASS_SCANNER, "ua:google-safety", "Google's abuse checks"},
    /* crawlers and programs */
    {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", TD_CLASS_BOT,
     "ua:Googlebot", "Googlebot"},
    {"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", TD_CLASS_BOT,
     "ua:bingbot", "Bingbot"},
    {"curl/8.5.0", TD_CLASS_BOT, "ua:", "curl"},
    {"python-requests/2.31.0", TD_CLASS_BOT, "ua:", "python-requests"},
    {"Go-http-client/1.1", TD_CLASS_BOT, "ua:", "Go net/http"},
    {"Java/17.0.2", TD_CLASS_BOT, "ua:", "Java"},
    {"okhttp/4.12.0", TD_CLASS_BOT, "ua:", "OkHttp"},
    {"Wget/1.21.4", TD_CLASS_BOT, "ua:", "Wget"},
    {"libwww-perl/6.72", TD_CLASS_BOT, "ua:", "libwww-perl"},
    {"axios/1.6.7", TD_CLASS_BOT, "ua:", "axios"},
    {"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", TD_CLASS_BOT, "ua:", "node-fetch"},
    {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/120.0.0.0 Safari/537.36",
     TD_CLASS_BOT, "ua:", "headless Chrome"},
    {"AcmeTool/2.0", TD_CLASS_BOT, "ua:not-a-browser", "a program no list names"},
    {"Mozilla/5.0 (compatible; AcmeWatch/1.0; +https://acme.example/watch)", TD_CLASS_BOT,
     "ua:contact-in-user-agent", "a crawler that says where to complain"},
    {"Mozilla/5.0 (compatible; FooCrawler 1.0)", TD_CLASS_BOT, "ua:", "a crawler by its name"},
    /* people, including in-app browsers of the apps that also have previews */
    {CHROME, TD_CLASS_HUMAN, "browser", "Chrome on Windows"},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Safari/605.1.15",
     TD_CLASS_HUMAN, "browser", "Safari on a Mac"},
    {"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", TD_CLASS_HUMAN,
     "browser", "Firefox on Linux"},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
     TD_CLASS_HUMAN, "browser", "Edge"},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.38.109;FBBV/621285012;FBDV/iPhone15,2]",
     TD_CLASS_HUMAN, "browser", "Facebook's in-app browser on an iPhone"},
    {"Mozilla/5.0 (Linux; Android 16; Pixel 10 Pro XL Build/CP1A.260305.018; wv) "
     "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/146.0.7680.174 Mobile "
     "Safari/537.36 MetaIAB Facebook",
     TD_CLASS_HUMAN, "browser", "Facebook's in-app browser on Android (data/ua-exclusions.txt)"},
    {"Mozilla/5.0 (Linux; Android 15; CPH2557 Build/AP3A.240617.008; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/142.0.7444.142 Mobile Safari/537.36 Instagram "
     "406.0.0.58.159 Android",
     TD_CLASS_HUMAN, "browser", "Instagram's in-app browser (data/ua-exclusions.txt)"},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 [LinkedInApp]/9.29.8962",
     TD_CLASS_HUMAN, "browser", "LinkedIn's in-app browser (not LinkedInBot)"},
    {"Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Mobile Safari/537.36",
     TD_CLASS_HUMAN, "browser", "a Cubot phone (not a bot)"},
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Mobile Safari/537.36 (Ecosia android@126.0.0.0)",
     TD_CLASS_HUMAN, "browser", "Ecosia (an @ that is no e-mail address)"},
    {"Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) "
     "Presto/2.5.25 Version/10.54",
     TD_CLASS_HUMAN, "browser", "Opera Mini"},
    /* no user agent */
    {"", TD_CLASS_BOT, "no-user-agent", "an empty user agent"},
    {NULL, TD_CLASS_BOT, "no-user-agent", "no user agent"},
};

/* Every example above, through td_classify_ua and through the reference without prefilter. */
static void test_user_agents(const td_classifier *c)
{
    for (size_t i = 0; i < TD_ARRAY_SIZE(ua_cases); i++) {
        const struct ua_case *t = &ua_cases[i];
        char reason[TD_CLASS_REASON_SIZE], ref[TD_CLASS_REASON_SIZE];
        td_click_class got = td_classify_ua(c, t->ua, reason, sizeof reason);

        CHECK(got == t->want && strncmp(reason, t->reason, strlen(t->reason)) == 0,
              "%s: %s (%s), want %s (%s...)", t->what, td_click_class_name(got), reason,
              td_click_class_name(t->want), t->reason);
        td__classify_ua_unfiltered(c, t->ua, ref, sizeof ref);
        CHECK_STR(reason, ref, "%s: the prefilter gives the reason of trying every pattern",
                  t->what);
    }
}

/* Bytes that are not UTF-8, a user agent longer than what is judged, a small reason buffer. */
static void test_odd_input(const td_classifier *c)
{
    char big[10000], reason[TD_CLASS_REASON_SIZE], tiny[6];
    const char *bin = "Mozilla/5.0 (\xff\xfe\x80; Windows) Gecko/20100101 \xc3\x28 Firefox/1";

    snprintf(big, sizeof big, "%s", CHROME);
    memset(big + strlen(big), 'x', sizeof big - strlen(big) - 20);
    snprintf(big + sizeof big - 20, 20, " Googlebot/2.1");
    CHECK(td_classify_ua(c, bin, reason, sizeof reason) == TD_CLASS_HUMAN,
          "bytes that are not UTF-8 are judged as bytes: %s", reason);
    CHECK(td_classify_ua(c, big, reason, sizeof reason) == TD_CLASS_HUMAN,
          "only the first 2048 bytes are judged (a crawler name at byte 9980 is not seen)");
    big[100] = '\0';
    snprintf(big + 90, 10, "Googlebot");
    CHECK(td_classify_ua(c, big, reason, sizeof reason) == TD_CLASS_BOT,
          "a crawler name at byte 90 is seen: %s", reason);
    CHECK(td_classify_ua(c, "Twitterbot/1.0", tiny, sizeof tiny) == TD_CLASS_PREVIEW &&
              strcmp(tiny, "ua:Tw") == 0,
          "a reason is cut to the buffer: \"%s\"", tiny);
    CHECK(td_classify_ua(c, "Twitterbot/1.0", NULL, 0) == TD_CLASS_PREVIEW,
          "the reason buffer may be NULL");
}

/* ---- request signals ---- */

/* A browser's GET with every signal quiet. */
static td_click_signals quiet(void)
{
    td_click_signals s = {.user_agent = CHROME,
                          .has_accept_language = true,
                          .know_accept_language = true,
                          .since_created_ms = 3600000};
    return s;
}

/* Checks one classification of signals s. */
static void expect(const td_classifier *c, const td_click_signals *s, td_click_class want,
                   const char *reason, const char *what)
{
    char got_reason[TD_CLASS_REASON_SIZE];
    td_click_class got = td_classify(c, s, got_reason, sizeof got_reason);

    CHECK(got == want && strncmp(got_reason, reason, strlen(reason)) == 0,
          "%s: %s (%s), want %s (%s)", what, td_click_class_name(got), got_reason,
          td_click_class_name(want), reason);
}

/* Every signal alone, their order, and the thresholds. */
static void test_signals(const td_classifier *c, const td_classifier *off)
{
    td_click_signals s = quiet();

    expect(c, &s, TD_CLASS_HUMAN, "browser", "a browser's GET");
    s.head = true;
    expect(c, &s, TD_CLASS_SCANNER, "head-request", "HEAD");
    s = quiet();
    s.burst = true;
    expect(c, &s, TD_CLASS_SCANNER, "burst", "part of a burst");
    s = quiet();
    s.since_created_ms = 4999;
    expect(c, &s, TD_CLASS_SCANNER, "too-soon", "4.999 s after the link was made");
    s.since_created_ms = 5000;
    expect(c, &s, TD_CLASS_HUMAN, "browser", "5 s after the link was made");
    s.since_created_ms = 0;
    expect(c, &s, TD_CLASS_SCANNER, "too-soon", "at the link's creation");
    s.since_created_ms = -1;
    expect(c, &s, TD_CLASS_HUMAN, "browser", "creation time unknown");
    s = quiet();
    s.has_accept_language = false;
    expect(c, &s, TD_CLASS_BOT, "no-accept-language", "no Accept-Language");
    s.know_accept_language = false;
    expect(c, &s, TD_CLASS_HUMAN, "browser", "Accept-Language unknown (record-click API)");
    s = quiet();
    s.user_agent = NULL;
    s.head = true;
    expect(c, &s, TD_CLASS_BOT, "no-user-agent", "no user agent comes before HEAD");
    s = quiet();
    s.user_agent = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    s.head = true;
    s.burst = true;
    expect(c, &s, TD_CLASS_BOT, "ua:Googlebot", "the user agent lists come first");
    s.user_agent = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";
    expect(c, &s, TD_CLASS_PREVIEW, "ua:Slackbot", "a preview is a preview, even in a burst");
    s = quiet();
    s.head = true;
    s.burst = true;
    s.since_created_ms = 10;
    s.has_accept_language = false;
    expect(c, &s, TD_CLASS_SCANNER, "head-request", "HEAD comes before burst");
    s.head = false;
    expect(c, &s, TD_CLASS_SCANNER, "burst", "burst comes before too-soon");
    s.burst = false;
    expect(c, &s, TD_CLASS_SCANNER, "too-soon", "too-soon comes before Accept-Language");
    expect(off, &s, TD_CLASS_HUMAN, "browser", "too-soon and Accept-Language switched off");
    s.head = true;
    expect(off, &s, TD_CLASS_SCANNER, "head-request", "HEAD cannot be switched off");
}

/* ---- threads ---- */

/* Classifies a browser and a crawler many times; counts wrong answers into *arg's slot. */
static void *classify_many(void *arg)
{
    void **a = arg;
    const td_classifier *c = a[0];
    long *wrong = a[1];
    char reason[TD_CLASS_REASON_SIZE];

    for (int i = 0; i < 2000; i++) {
        *wrong += td_classify_ua(c, CHROME, reason, sizeof reason) != TD_CLASS_HUMAN;
        *wrong += td_classify_ua(c, "Twitterbot/1.0", reason, sizeof reason) != TD_CLASS_PREVIEW;
    }
    return NULL;
}

/* Four threads share one classifier. */
static void test_threads(const td_classifier *c)
{
    pthread_t th[4];
    long wrong[4] = {0};
    void *args[4][2];
    int started = 0;

    for (int i = 0; i < 4; i++) {
        args[i][0] = (void *)c;
        args[i][1] = &wrong[i];
        started += pthread_create(&th[i], NULL, classify_many, args[i]) == 0;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    CHECK(started == 4 && wrong[0] + wrong[1] + wrong[2] + wrong[3] == 0,
          "4 threads x 4000 classifications on one classifier, all right");
}

/* ---- accuracy ---- */

/* Counts how many of l c calls non-human; checks the prefilter against trying every pattern on
 * each; prints the reasons of the first few user agents whose class is not want_human's. */
static size_t count_flagged(const td_classifier *c, const struct ua_list *l, bool want_human,
                            const char *set, size_t *prefilter_diff)
{
    size_t flagged = 0, shown = 0;

    for (size_t i = 0; i < l->n; i++) {
        char reason[TD_CLASS_REASON_SIZE], ref[TD_CLASS_REASON_SIZE];
        td_click_class k = td_classify_ua(c, l->v[i], reason, sizeof reason);

        td__classify_ua_unfiltered(c, l->v[i], ref, sizeof ref);
        *prefilter_diff += strcmp(reason, ref) != 0;
        flagged += k != TD_CLASS_HUMAN;
        if ((k == TD_CLASS_HUMAN) != want_human && shown < 5 && getenv("TD_TEST_VERBOSE")) {
            printf("#   %s: %s (%s): %.160s\n", set, td_click_class_name(k), reason, l->v[i]);
            shown++;
        }
    }
    return flagged;
}

/* Precision and recall for non-human on the labelled sets, and the goals. */
static void test_accuracy(const td_classifier *c)
{
    struct ua_list top = {0}, intoli = {0}, crawlers = {0}, instances = {0}, independent = {0};
    size_t diff = 0, fb, fc, fi, nb;
    double browsers_flagged, recall, recall_ind, precision;

    read_json_strings(UA_DIR "browsers-top-user-agents.json", &top);
    read_lines(UA_DIR "browsers-user-agents.txt", &intoli);
    read_lines(UA_DIR "crawlers-isbot-2.0.0.txt", &crawlers);
    read_dataset_instances(&instances);
    for (size_t i = 0; i < crawlers.n; i++)
        if (!list_has(&instances, crawlers.v[i]))
            list_add(&independent, crawlers.v[i]);
    CHECK(top.n >= 90 && intoli.n >= 900 && crawlers.n >= 2700,
          "labelled sets read: %zu + %zu browsers, %zu crawlers", top.n, intoli.n, crawlers.n);

    fb = count_flagged(c, &top, true, "top-user-agents", &diff) +
         count_flagged(c, &intoli, true, "user-agents", &diff);
    fc = count_flagged(c, &crawlers, false, "isbot crawlers", &diff);
    fi = count_flagged(c, &independent, false, "isbot crawlers", &diff);
    nb = top.n + intoli.n;
    browsers_flagged = nb ? (double)fb / (double)nb : 1;
    recall = crawlers.n ? (double)fc / (double)crawlers.n : 0;
    recall_ind = independent.n ? (double)fi / (double)independent.n : 0;
    precision = fc + fb ? (double)fc / (double)(fc + fb) : 0;
    printf("# accuracy on tests/data/useragents/ (non-human is the positive class):\n");
    printf("#   real browsers: %zu, called non-human: %zu (%.2f%%)\n", nb, fb,
           100 * browsers_flagged);
    printf("#   crawlers: %zu, caught: %zu, recall %.2f%%\n", crawlers.n, fc, 100 * recall);
    printf("#   crawlers that are not instances of crawler-user-agents: %zu, caught %zu, recall "
           "%.2f%%\n",
           independent.n, fi, 100 * recall_ind);
    printf("#   precision %.2f%% (crawlers among all called non-human)\n", 100 * precision);
    CHECK(browsers_flagged <= GOAL_BROWSERS_FLAGGED,
          "at most 2%% of real browsers non-human: %.2f%%", 100 * browsers_flagged);
    CHECK(recall >= GOAL_CRAWLERS_CAUGHT, "at least 95%% of crawlers caught: %.2f%%", 100 * recall);
    CHECK(recall_ind >= GOAL_CRAWLERS_CAUGHT,
          "at least 95%% of the crawlers independent of the data set caught: %.2f%%",
          100 * recall_ind);
    CHECK_INT(diff, 0, "on %zu user agents the prefilter gives the answer of trying every pattern",
              nb + crawlers.n + independent.n);
    list_free(&top);
    list_free(&intoli);
    list_free(&crawlers);
    list_free(&instances);
    list_free(&independent);
}

/* What the classifier was built from. */
static void test_info(const td_classifier *c)
{
    td_classifier_info in;

    td_classifier_info_get(c, &in);
    printf("# patterns: %zu scanner, %zu preview, %zu bot; %zu always tried; prefilter %zu "
           "literals, %zu states, %zu KiB\n",
           in.patterns[TD_CLASS_SCANNER], in.patterns[TD_CLASS_PREVIEW], in.patterns[TD_CLASS_BOT],
           in.always_tried, in.prefilter_literals, in.prefilter_states, in.prefilter_bytes / 1024);
    CHECK(in.patterns[TD_CLASS_BOT] > 1000 && in.patterns[TD_CLASS_PREVIEW] > 50 &&
              in.patterns[TD_CLASS_SCANNER] >= 10,
          "the lists are compiled in");
    CHECK_INT(in.patterns[TD_CLASS_HUMAN], 0, "no pattern makes a click human");
    CHECK_INT(in.dataset_skipped, 0, "PCRE2 compiles every pattern of crawler-user-agents");
    CHECK_INT(in.dataset_excluded, 2, "both entries of data/ua-exclusions.txt leave the data set");
    CHECK_INT(in.exclusions_unused, 0, "data/ua-exclusions.txt names only existing patterns");
    CHECK(in.always_tried <= 10, "at most 10 patterns run on every user agent: %zu",
          in.always_tried);
}

/* Entry point. */
int main(void)
{
    td_classifier *c = NULL, *off = NULL;
    td_classify_config cfg_off = {.too_soon_ms = -1, .accept_language = -1};
    char err[256] = "";

    test_names();
    test_config();
    if (td_classifier_new(NULL, &c, err, sizeof err) != 0 ||
        td_classifier_new(&cfg_off, &off, err, sizeof err) != 0) {
        CHECK(0, "classifier: %s", err);
        TEST_DONE();
    }
    test_info(c);
    test_user_agents(c);
    test_odd_input(c);
    test_signals(c, off);
    test_threads(c);
    test_accuracy(c);
    td_classifier_free(c);
    td_classifier_free(off);
    TEST_DONE();
}
