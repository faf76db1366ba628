/* Click truth: tells a person's click from crawlers, link previews and mail security scanners,
 * from the user agent and the signals of the request. Pure functions over shipped data: no I/O
 * after td_classifier_new, safe from many threads at once. */
#ifndef TRACKDOC_CLASSIFY_H
#define TRACKDOC_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What made a click. Stored in link_clicks.click_class by name. */
typedef enum td_click_class {
    TD_CLASS_HUMAN = 0, /* a person in a browser, as far as the signals tell */
    TD_CLASS_BOT,       /* crawlers, monitors, scripts, HTTP libraries */
    TD_CLASS_PREVIEW,   /* link unfurlers of chat and social apps (Slackbot, LinkedInBot...) */
    TD_CLASS_SCANNER,   /* mail security (Safe Links, Proofpoint, Mimecast, Barracuda...) */
    TD_CLASS_COUNT
} td_click_class;

/* Bit of a class in a set of classes (td_click_filter.classes). */
#define TD_CLASS_BIT(c) (1u << (unsigned)(c))
#define TD_CLASS_ALL ((1u << TD_CLASS_COUNT) - 1u)

/* Room for a reason, NUL included: "ua:<pattern>" is cut to fit. */
#define TD_CLASS_REASON_SIZE 96

/* Returns the lower-case name of a class: "human", "bot", "preview", "scanner" ("human" for a
 * value out of range). Inline: the store names classes without the classifier's data. */
static inline const char *td_click_class_name(td_click_class c)
{
    static const char *const names[TD_CLASS_COUNT] = {"human", "bot", "preview", "scanner"};

    return (unsigned)c < TD_CLASS_COUNT ? names[c] : names[0];
}

/* Parses a class name (any case). Returns 0 or TD_EINVAL. */
int td_click_class_parse(const char *name, td_click_class *out);

/* Thresholds; zero fields take the documented default, negative ones switch a signal off. */
typedef struct td_classify_config {
    long burst_window_ms; /* clicks on several links of one application from one IP within
                             this time are a scanner ("burst"), default 2000 */
    long too_soon_ms;     /* a click this soon after the link was created is a scanner
                             ("too-soon"), default 5000 */
    int accept_language;  /* 1 (default): a browser-looking GET without Accept-Language is a
                             bot ("no-accept-language"); -1 switches the signal off */
} td_classify_config;

typedef struct td_classifier td_classifier;

/* Builds a classifier from the data compiled into trackdoc (the crawler user-agent data set
 * and our lists in data/; about 25 ms and 8 MiB). cfg may be NULL. On failure err (errsz
 * bytes, may be NULL) says why. Returns 0, TD_EINVAL (bad threshold, or a list that does not
 * parse: a build defect the unit tests catch), TD_ETOOBIG (more than 8192 patterns) or
 * TD_ENOMEM. Free with td_classifier_free. */
int td_classifier_new(const td_classify_config *cfg, td_classifier **out, char *err, size_t errsz);

/* Frees c and the calling thread's match data (other threads free theirs when they end);
 * NULL is a no-op. */
void td_classifier_free(td_classifier *c);

/* The signals of one request. */
typedef struct td_click_signals {
    const char *user_agent;    /* NULL or "" when absent */
    bool head;                 /* a HEAD request */
    bool has_accept_language;  /* the request had an Accept-Language header */
    bool know_accept_language; /* false when the caller cannot tell (record-click API, CLI) */
    int64_t since_created_ms;  /* time since the link was created; -1 when unknown */
    bool burst;                /* td_burst_note said this click is part of a burst */
} td_click_signals;

/* Classifies one click; writes the reason ("ua:<pattern or entry name>", "head-request", "burst",
 * "too-soon", "no-user-agent", "no-accept-language", "browser") into reason (n bytes,
 * TD_CLASS_REASON_SIZE is enough). Order: user agent lists (scanner, preview, bot), then no
 * user agent (bot), HEAD (scanner: mail security and link checkers probe with HEAD), burst
 * (scanner), too-soon (scanner), missing Accept-Language (bot); else human ("browser"). */
td_click_class td_classify(const td_classifier *c, const td_click_signals *s, char *reason,
                           size_t n);

/* Judges the user agent alone (what `trackdoc classify` prints): the lists, else "no-user-agent"
 * (bot) or "browser" (human). Only the first 2048 bytes of a user agent are read. */
td_click_class td_classify_ua(const td_classifier *c, const char *user_agent, char *reason,
                              size_t n);

/* Returns the configured burst window in ms (0 when off). */
long td_classifier_burst_window(const td_classifier *c);

/* What a classifier was built from (for tests, the benchmark and docs/classification.md). */
typedef struct td_classifier_info {
    size_t patterns[TD_CLASS_COUNT]; /* user-agent patterns per class (none for human) */
    size_t dataset_skipped;          /* crawler-user-agents patterns PCRE2 refused */
    size_t dataset_excluded;         /* ... left out by data/ua-exclusions.txt */
    size_t exclusions_unused;        /* entries of data/ua-exclusions.txt matching nothing */
    size_t always_tried;             /* patterns without a literal for the prefilter */
    size_t prefilter_literals;       /* literals in the prefilter automaton */
    size_t prefilter_states;         /* its states */
    size_t prefilter_bytes;          /* its memory */
} td_classifier_info;

/* Copies what c was built from into out. */
void td_classifier_info_get(const td_classifier *c, td_classifier_info *out);

/* ---- bursts: several links of one application opened from one IP within a window ---- */

typedef struct td_burst td_burst;

/* Makes a burst detector remembering at most max_entries recent clicks (default 65536 when 0;
 * about 200 bytes each, allocated now). When it is full the oldest click is forgotten; at most
 * 32 clicks are kept per (context, IP). Returns 0, TD_EINVAL (over 16777216) or TD_ENOMEM. */
int td_burst_new(size_t max_entries, td_burst **out);

/* Frees b; NULL is a no-op. */
void td_burst_free(td_burst *b);

/* Most earlier clicks one note can name. */
#define TD_BURST_MAX_EARLIER 16

/* Notes a click of tracking_id for context (the application_id, else the job_id; "" means no
 * context: never a burst) from ip at now_ms. Returns true when another link of the same context
 * was clicked from the same IP within window_ms; then earlier[] receives the click ids (37
 * bytes each) of the earlier clicks of that burst not yet reported, *n_earlier how many, so
 * that the caller can reclassify them. Thread-safe. */
bool td_burst_note(td_burst *b, const char *context, const char *ip, const char *tracking_id,
                   const char *click_id, int64_t now_ms, long window_ms,
                   char earlier[TD_BURST_MAX_EARLIER][37], size_t *n_earlier);

#ifdef __cplusplus
}
#endif
#endif
