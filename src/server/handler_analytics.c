/* Analytics: per link (GET /api/link-tracking/analytics/{id}) and per job
 * (GET /api/link-tracking/jobs/{job_id}/summary). */
#include "http.h"

#include "core/id.h"
#include "core/time.h"
#include "trackdoc/report.h"

/* Keeps the count of an ungrouped click query. */
int td__count_clicks(void *ud, const td_click_row *row)
{
    *(int64_t *)ud = row->clicks;
    return 0;
}

/* GET /api/link-tracking/analytics/{id}?days=N */
enum MHD_Result td__handle_analytics(td_req *r)
{
    const char *v = td__req_query(r, "days");
    long days = 30;
    td_link l;
    json_t *out = NULL;
    int rc;

    if (v && *v) {
        char *end;
        days = strtol(v, &end, 10);
        if (*end || days < 1 || days > 366)
            return td__reply_error(r, 400, "invalid_value", NULL,
                                   "query parameter days must be from 1 to 366");
    }
    rc = td_link_get(r->srv->tr, r->params[0], &l);
    if (rc)
        return td__reply_rc(r, rc, NULL, "link");
    rc = td_report_link(r->srv->st, &l, (int)days, td_time_now_ms(), &out);
    if (rc)
        return td__reply_rc(r, rc, NULL, "could not compute analytics");
    json_object_set_new(out, "success", json_true());
    return td__reply_json(r, 200, out);
}

/* GET /api/link-tracking/jobs/{job_id}/summary */
enum MHD_Result td__handle_job_summary(td_req *r)
{
    char job[TD_UUID_SIZE];
    json_t *out = NULL;
    int rc;

    if (td_uuid_normalize(r->params[0], job) != 0)
        return td__reply_error(r, 400, "invalid_uuid", NULL,
                               "the job id in the path must be a UUID");
    rc = td_report_job(r->srv->st, job, &out);
    if (rc)
        return td__reply_rc(r, rc, NULL, "could not compute the job summary");
    json_object_set_new(out, "success", json_true());
    return td__reply_json(r, 200, out);
}
