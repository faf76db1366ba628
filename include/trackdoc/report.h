/* JSON views of links and their clicks, shared by the HTTP API and the CLI's --json output. */
#ifndef TRACKDOC_REPORT_H
#define TRACKDOC_REPORT_H

#include <jansson.h>

#include "trackdoc/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns a new JSON object with every field of l (absent values as null, times as ISO 8601
 * UTC), or NULL when out of memory. The caller owns the reference (json_decref). */
json_t *td_link_json(const td_link *l);

/* Sets key of obj to an ISO 8601 time, or null for 0. Returns 0 or TD_ENOMEM. */
int td_json_set_time(json_t *obj, const char *key, int64_t ms);

/* Builds the analytics of one link: link_info, click_statistics (total_clicks, head_requests,
 * first_click, last_click, by_source) and click_timeline (one entry per day of the last days
 * days, zeros included; days 1..366). *out is a new reference. Returns 0, TD_EINVAL, TD_EDB
 * or TD_ENOMEM. */
int td_report_link(td_store *st, const td_link *l, int days, int64_t now_ms, json_t **out);

/* Builds the summary of a job: its links (the newest 10000; links_truncated tells when there
 * are more), clicks per link_function, and per link.
 * Returns 0 (a job without links gives zeros), TD_EDB or TD_ENOMEM. */
int td_report_job(td_store *st, const char *job_id, json_t **out);

#ifdef __cplusplus
}
#endif
#endif
