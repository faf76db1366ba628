/* Analytics of links, jobs, applications and of everything, as JSON and CSV: shared by the HTTP
 * API and the CLI (trackdoc stats, link show). Counts come from the store's click rollups, so a
 * report costs the same on a thousand clicks as on millions. */
#ifndef TRACKDOC_REPORT_H
#define TRACKDOC_REPORT_H

#include <jansson.h>

#include "trackdoc/buf.h"
#include "trackdoc/classify.h"
#include "trackdoc/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns a new JSON object with every field of l (absent values as null, times as ISO 8601
 * UTC), or NULL when out of memory. The caller owns the reference (json_decref). */
json_t *td_link_json(const td_link *l);

/* Sets key of obj to an ISO 8601 time, or null for 0. Returns 0 or TD_ENOMEM. */
int td_json_set_time(json_t *obj, const char *key, int64_t ms);

/* What a report counts. Every report counts GET requests of the chosen classes as "clicks"
 * (total_clicks, clicks, by_source, click_timeline, first_click, last_click, unique_visitors);
 * human_clicks and last_human_click always count human clicks only, and by_class always shows
 * the GET requests of all four classes. HEAD requests are never clicks (head_requests). */
typedef struct td_report_opts {
    unsigned classes; /* TD_CLASS_BIT set of the counted classes; 0 = human only (the default) */
    int days;         /* timeline of a link, period of the overall report: 1..366; 0 = 30 */
    int64_t now_ms;   /* the clock, UTC ms; 0 = now */
} td_report_opts;

/* Length of the overall report's top_jobs list. */
#define TD_REPORT_TOP_JOBS 10

/* Parses the value of an include parameter: "all", or a comma-separated list of class names
 * ("human,preview"; any case, repeats allowed). Returns 0 and the TD_CLASS_BIT set in *classes,
 * or TD_EINVAL (nothing set) for an empty value, an empty item or an unknown name. */
int td_report_parse_include(const char *s, unsigned *classes);

/* Builds the analytics of one link: link_info, counted_classes, click_statistics (total_clicks,
 * human_clicks, unique_visitors, head_requests, first_click, last_click, by_source, by_class;
 * all time) and click_timeline (one entry {date, clicks, human_clicks} per UTC day of the last
 * o->days days, today included, zeros included), timeline_days, and booking_statistics (the
 * Calendly bookings attributed to the link by tracking_id, all time: bookings, cancellations,
 * reschedules, active, first_event, last_event; as td_conversion_row). *out is a new reference.
 * Returns 0, TD_EINVAL (days out of range), TD_EDB or TD_ENOMEM. */
int td_report_link(td_store *st, const td_link *l, const td_report_opts *o, json_t **out);

/* Builds the summary of a job (all time): total_links, total_clicks, human_clicks, last_click,
 * last_human_click, by_class, documents (generated for the job), bookings and cancellations
 * (attributed to the job by tracking_id or campaign) and booking_statistics (as for a link),
 * by_function {function: {links, clicks, human_clicks, last_click, last_human_click, bookings,
 * cancellations}}, links (the newest 10000, each with the same counts, bookings by tracking_id;
 * links_truncated tells when there are more, and then by_function leaves the others out too).
 * A booking attributed by campaign only counts for the job, not for a link or function. A job
 * without links gives zeros. Returns 0, TD_EDB or TD_ENOMEM. */
int td_report_job(td_store *st, const char *job_id, const td_report_opts *o, json_t **out);

/* The same for an application (application_id at the top; its links carry their job_id). */
int td_report_application(td_store *st, const char *application_id, const td_report_opts *o,
                          json_t **out);

/* Builds the report of every link over the last o->days UTC days, today included: days, from,
 * to (dates), counted_classes, overall_statistics (total_clicks, human_clicks, head_requests,
 * by_class, bookings and cancellations received in the period, attributed or not),
 * function_performance (per link function with clicks: clicks, human_clicks; most
 * human clicks first), daily_trends ({date, clicks, human_clicks} per day, zeros included) and
 * top_jobs (the TD_REPORT_TOP_JOBS jobs with the most human clicks: job_id, clicks,
 * human_clicks), and funnel, all time whatever the period: period "all_time", documents (every
 * generated document), documents_without_job, documents_clicked (documents of the jobs with at
 * least one human click), jobs_clicked, human_clicks, bookings, cancellations,
 * unattributed_bookings (bookings without a job), jobs_booked, click_rate (documents_clicked /
 * documents), booking_rate (bookings / human_clicks; rates are null when dividing by 0),
 * by_function [{link_function, human_clicks, bookings, cancellations, booking_rate}] (bookings
 * through links of that function), jobs [{job_id, documents, human_clicks, bookings,
 * cancellations, booked}] (most bookings, then human clicks, then documents first; at most
 * TD_REPORT_FUNNEL_JOBS, jobs_truncated tells; human clicks are those of the
 * TD_REPORT_FUNNEL_JOBS most clicked jobs). Returns 0, TD_EINVAL (days out of range), TD_EDB or
 * TD_ENOMEM. */
int td_report_overall(td_store *st, const td_report_opts *o, json_t **out);

/* Most jobs listed in the overall report's funnel (funnel.jobs). */
#define TD_REPORT_FUNNEL_JOBS 1000

/* Counts the Calendly bookings (invitee.created, not a reschedule) and cancellations
 * (invitee.canceled, not a reschedule) received at or after since_ms (UTC ms), whatever their
 * attribution. Returns 0 or TD_EDB. */
int td_report_bookings_since(td_store *st, int64_t since_ms, int64_t *bookings,
                             int64_t *cancellations);

/* The reports, for td_report_csv. */
typedef enum td_report_kind {
    TD_REPORT_LINK,        /* rows: tracking_id, date, clicks, human_clicks (the timeline) */
    TD_REPORT_JOB,         /* rows: one per listed link, with its counts and bookings */
    TD_REPORT_APPLICATION, /* the same, with job_id instead of application_id */
    TD_REPORT_OVERALL,     /* rows: section (overall, function, day, job, then funnel (keys all,
                              unattributed), funnel_function, funnel_job), key, clicks,
                              human_clicks, documents, bookings, cancellations (empty cells
                              where a section has no such count) */
} td_report_kind;

/* Appends report (made by the td_report_* function of kind) to out as CSV (RFC 4180: a header
 * row, CRLF line ends, cells quoted when they hold a comma, a quote or a line break). A text
 * cell starting with = + - @, a tab or a carriage return gets a leading ' so that spreadsheets
 * do not run it as a formula. Returns 0, TD_EINVAL (not a report of that kind), TD_ETOOBIG or
 * TD_ENOMEM. */
int td_report_csv(td_report_kind kind, const json_t *report, td_buf *out);

/* Appends one CSV text cell (quoted and formula-guarded as above; NULL is an empty cell).
 * Returns 0, TD_ETOOBIG or TD_ENOMEM. */
int td_report_csv_cell(td_buf *out, const char *s);

#ifdef __cplusplus
}
#endif
#endif
