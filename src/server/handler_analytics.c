/* Analytics: per link (GET /api/link-tracking/analytics/{id}), per job and per application
 * (GET .../jobs/{job_id}/summary, .../applications/{application_id}/summary), and of every link
 * (GET /api/link-tracking/report). Each takes include= (the counted classes) and format=csv. */
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

/* What a request asks to see. */
struct view {
    td_report_opts opts;
    bool csv;
};

/* Reads include, format and (when with_days) days; replies 400 naming the parameter and returns
 * false on a bad value. */
static bool read_view(td_req *r, bool with_days, struct view *v, enum MHD_Result *res)
{
    const char *inc = td__req_query(r, "include"), *fmt = td__req_query(r, "format");
    const char *days = with_days ? td__req_query(r, "days") : NULL;

    memset(v, 0, sizeof *v);
    if (inc && td_report_parse_include(inc, &v->opts.classes) != 0) {
        *res = td__reply_error(r, 400, "invalid_value", NULL,
                               "query parameter include must be all or a comma-separated list "
                               "of human, bot, preview, scanner (not \"%.64s\")",
                               inc);
        return false;
    }
    if (fmt && strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0) {
        *res = td__reply_error(r, 400, "invalid_value", NULL,
                               "query parameter format must be json or csv (not \"%.64s\")", fmt);
        return false;
    }
    v->csv = fmt && strcmp(fmt, "csv") == 0;
    if (days && *days) {
        char *end;
        long n = strtol(days, &end, 10);
        if (*end || n < 1 || n > 366) {
            *res = td__reply_error(r, 400, "invalid_value", NULL,
                                   "query parameter days must be from 1 to 366");
            return false;
        }
        v->opts.days = (int)n;
    }
    v->opts.now_ms = td_time_now_ms();
    return true;
}

/* Sends a report as JSON (with success: true), or as a CSV attachment named name. */
static enum MHD_Result send_report(td_req *r, const struct view *v, td_report_kind kind,
                                   json_t *rep, const char *name)
{
    td_buf csv;
    char disp[160];
    enum MHD_Result res;
    int rc;

    if (!v->csv) {
        json_object_set_new(rep, "success", json_true());
        return td__reply_json(r, 200, rep);
    }
    td_buf_init(&csv, TD_BUF_DEFAULT_MAX);
    rc = td_report_csv(kind, rep, &csv);
    json_decref(rep);
    if (rc) {
        td_buf_release(&csv);
        return td__reply_rc(r, rc, NULL, "could not write the CSV");
    }
    snprintf(disp, sizeof disp, "attachment; filename=\"%s.csv\"", name);
    {
        const char *const hdrs[] = {"Content-Disposition", disp, NULL};
        res = td__reply_raw(r, 200, "text/csv; charset=utf-8", csv.data ? csv.data : "", csv.len,
                            hdrs);
    }
    td_buf_release(&csv);
    return res;
}

/* GET /api/link-tracking/analytics/{id}?days=N&include=...&format=csv */
enum MHD_Result td__handle_analytics(td_req *r)
{
    struct view v;
    enum MHD_Result res;
    char name[96];
    td_link l;
    json_t *out = NULL;
    int rc;

    if (!read_view(r, true, &v, &res))
        return res;
    rc = td_link_get(r->srv->tr, r->params[0], &l);
    if (rc)
        return td__reply_rc(r, rc, NULL, "link");
    rc = td_report_link(r->srv->st, &l, &v.opts, &out);
    if (rc)
        return td__reply_rc(r, rc, NULL, "could not compute analytics");
    snprintf(name, sizeof name, "trackdoc-link-%s", l.tracking_id);
    return send_report(r, &v, TD_REPORT_LINK, out, name);
}

/* The summary of a job (by_job) or an application: GET .../{id}/summary */
static enum MHD_Result summary(td_req *r, bool by_job)
{
    char id[TD_UUID_SIZE], name[96];
    struct view v;
    enum MHD_Result res;
    json_t *out = NULL;
    int rc;

    if (td_uuid_normalize(r->params[0], id) != 0)
        return td__reply_error(r, 400, "invalid_uuid", NULL, "the %s id in the path must be a UUID",
                               by_job ? "job" : "application");
    if (!read_view(r, false, &v, &res))
        return res;
    rc = by_job ? td_report_job(r->srv->st, id, &v.opts, &out)
                : td_report_application(r->srv->st, id, &v.opts, &out);
    if (rc)
        return td__reply_rc(r, rc, NULL,
                            by_job ? "could not compute the job summary"
                                   : "could not compute the application summary");
    snprintf(name, sizeof name, "trackdoc-%s-%s", by_job ? "job" : "application", id);
    return send_report(r, &v, by_job ? TD_REPORT_JOB : TD_REPORT_APPLICATION, out, name);
}

/* GET /api/link-tracking/jobs/{job_id}/summary */
enum MHD_Result td__handle_job_summary(td_req *r)
{
    return summary(r, true);
}

/* GET /api/link-tracking/applications/{application_id}/summary */
enum MHD_Result td__handle_application_summary(td_req *r)
{
    return summary(r, false);
}

/* GET /api/link-tracking/report?days=N&include=...&format=csv */
enum MHD_Result td__handle_report(td_req *r)
{
    struct view v;
    enum MHD_Result res;
    char name[96];
    json_t *out = NULL;
    int rc;

    if (!read_view(r, true, &v, &res))
        return res;
    rc = td_report_overall(r->srv->st, &v.opts, &out);
    if (rc)
        return td__reply_rc(r, rc, NULL, "could not compute the report");
    snprintf(name, sizeof name, "trackdoc-report-%s-%dd",
             json_string_value(json_object_get(out, "to")),
             (int)json_integer_value(json_object_get(out, "days")));
    return send_report(r, &v, TD_REPORT_OVERALL, out, name);
}
