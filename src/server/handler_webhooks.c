/* Calendly's booking webhooks (POST /webhooks/calendly: signed with the configured key, no API
 * key) and the listing of the bookings they recorded (GET /api/link-tracking/conversions). */
#include "http.h"

#include "core/id.h"
#include "core/log.h"
#include "core/time.h"
#include "trackdoc/calendly.h"

/* The one answer to every signature failure, whatever the cause: a caller learns nothing about
 * which part was wrong (the server log says, for the operator). */
static enum MHD_Result reply_unsigned(td_req *r)
{
    return td__reply_error(r, 401, "invalid_signature", NULL,
                           "the request is not signed by Calendly with the configured signing "
                           "key (Calendly-Webhook-Signature)");
}

/* Why a signature was refused, for the log (never the key or the header itself). */
static const char *refusal(int rc)
{
    switch (rc) {
    case TD_EAUTH:
        return "the signature does not match (another signing key?)";
    case TD_ETIME:
        return "the signed time is outside the tolerance (clock skew, or a replay)";
    case TD_EINVAL:
        return "the Calendly-Webhook-Signature header is missing or malformed";
    default:
        return td_strerror(rc);
    }
}

/* Answers a body that was signed but cannot be read. */
static enum MHD_Result reply_bad_payload(td_req *r, int rc, const char *field, const char *err)
{
    const char *code = rc == TD_ESYNTAX   ? "invalid_json"
                       : rc == TD_ETIME   ? "invalid_time"
                       : rc == TD_ETOOBIG ? "too_long"
                                          : "invalid_payload";

    return td__reply_error(r, 400, code, field && *field ? field : NULL, "%s", err);
}

/* POST /webhooks/calendly */
enum MHD_Result td__handle_calendly_webhook(td_req *r)
{
    const td_server_config *cfg = &r->srv->cfg;
    td_calendly_options o = {.store_email = cfg->calendly_store_email};
    td_calendly_event *ev = NULL;
    td_conversion *c = NULL;
    const char *field = NULL;
    char err[256];
    bool created = false;
    long tolerance =
        cfg->calendly_tolerance_ms > 0 ? cfg->calendly_tolerance_ms : TD_CALENDLY_TOLERANCE_MS;
    enum MHD_Result res;
    int rc;

    if (!cfg->calendly_key || !*cfg->calendly_key)
        return td__reply_error(r, 503, "not_configured", NULL,
                               "Calendly webhooks are not configured on this server: set "
                               "TRACKDOC_CALENDLY_SIGNING_KEY or --calendly-signing-key-file");
    /* The raw bytes as received, before anything parses them. */
    rc = td_calendly_verify(cfg->calendly_key, td__req_header(r, TD_CALENDLY_SIG_HEADER),
                            r->body.data, r->body.len, td_time_now_ms(), tolerance);
    if (rc) {
        td_log_warn("calendly webhook from %s refused: %s", r->ip, refusal(rc));
        return reply_unsigned(r);
    }
    if (!(ev = calloc(1, sizeof *ev)) || !(c = calloc(1, sizeof *c))) {
        res = td__reply_rc(r, TD_ENOMEM, NULL, NULL);
        goto out;
    }
    rc = td_calendly_parse(r->body.data, r->body.len, ev, err, sizeof err, &field);
    if (rc) {
        td_log_warn("calendly webhook: a signed body that cannot be read: %s", err);
        res = reply_bad_payload(r, rc, field, err);
        goto out;
    }
    if (ev->kind == TD_CALENDLY_OTHER) {
        td_log_info("calendly webhook: event %s ignored", ev->event);
        res = td__reply_json(r, 200,
                             json_pack("{s:s, s:s}", "status", "ignored", "event", ev->event));
        goto out;
    }
    rc = td_calendly_record(r->srv->st, ev, &o, td_time_now_ms(), c, &created);
    if (rc) {
        td_log_error("calendly webhook: %s of %s not recorded: %s (%s)", ev->event, ev->invitee_uri,
                     td_strerror(rc), td_store_errmsg(r->srv->st));
        res = td__reply_rc(r, rc, NULL, "could not record the booking");
        goto out;
    }
    if (created)
        td_log_info("calendly webhook: %s recorded (attribution %s%s%s)", c->event_type,
                    c->attribution, c->job_id[0] ? ", job " : "", c->job_id);
    res = td__reply_json(r, 200,
                         json_pack("{s:s, s:s, s:s, s:s}", "status",
                                   created ? "recorded" : "duplicate", "conversion_id",
                                   c->conversion_id, "event_type", c->event_type, "attribution",
                                   c->attribution));
out:
    free(ev);
    free(c);
    return res;
}

/* ---- listing ---- */

/* A page of the listing being built. */
struct conv_acc {
    json_t *arr;
    int want;
    int got;
    int64_t last_received;
    char last_id[TD_UUID_SIZE];
};

/* Collects one listed row; keeps the last of the page for the cursor. */
static int take_conversion(void *ud, const td_conversion *c)
{
    struct conv_acc *a = ud;

    if (++a->got > a->want)
        return 0; /* the extra row only tells that a next page exists */
    a->last_received = c->received_at;
    snprintf(a->last_id, sizeof a->last_id, "%s", c->conversion_id);
    return json_array_append_new(a->arr, td_conversion_json(c)) ? TD_ENOMEM : 0;
}

/* Keeps the counts of the one group of TD_CONV_GROUP_ALL. */
static int take_counts(void *ud, const td_conversion_row *row)
{
    json_t **out = ud;

    json_decref(*out);
    *out = td_conversion_counts_json(row);
    return *out ? 0 : TD_ENOMEM;
}

/* Reads an optional UUID query parameter into out; replies 400 when malformed. */
static bool query_uuid(td_req *r, const char *name, char out[TD_UUID_SIZE], const char **ptr,
                       enum MHD_Result *res)
{
    const char *v = td__req_query(r, name);

    *ptr = NULL;
    if (!v || !*v)
        return true;
    if (td_uuid_normalize(v, out) != 0) {
        *res = td__reply_error(r, 400, "invalid_uuid", NULL, "query parameter %s must be a UUID",
                               name);
        return false;
    }
    *ptr = out;
    return true;
}

/* Reads the query of the listing into f; replies 400 and returns false on a bad value. */
static bool read_query(td_req *r, td_conversion_filter *f, char job[TD_UUID_SIZE],
                       char app[TD_UUID_SIZE], char cursor_id[TD_UUID_SIZE], enum MHD_Result *res)
{
    const char *v;

    if (!query_uuid(r, "job_id", job, &f->job_id, res) ||
        !query_uuid(r, "application_id", app, &f->application_id, res))
        return false;
    if ((v = td__req_query(r, "tracking_id")) && *v) {
        if (!td_link_id_valid(v)) {
            *res = td__reply_error(r, 400, "invalid_value", NULL,
                                   "query parameter tracking_id is not a tracking id");
            return false;
        }
        f->tracking_id = v;
    }
    if ((v = td__req_query(r, "event_type")) && *v) {
        if (strcmp(v, TD_CONV_CREATED) == 0 || strcmp(v, "created") == 0) {
            f->event_type = TD_CONV_CREATED;
        } else if (strcmp(v, TD_CONV_CANCELED) == 0 || strcmp(v, "canceled") == 0) {
            f->event_type = TD_CONV_CANCELED;
        } else {
            *res = td__reply_error(r, 400, "invalid_value", NULL,
                                   "query parameter event_type must be invitee.created or "
                                   "invitee.canceled");
            return false;
        }
    }
    if ((v = td__req_query(r, "limit")) && *v) {
        char *end;
        long n;
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || *end || n < 1 || n > 1000) {
            *res = td__reply_error(r, 400, "invalid_value", NULL,
                                   "query parameter limit must be from 1 to 1000");
            return false;
        }
        f->limit = (int)n;
    }
    if ((v = td__req_query(r, "cursor")) && *v) {
        char *end;
        long long ms;
        errno = 0;
        ms = strtoll(v, &end, 10);
        if (errno || ms <= 0 || *end != '.' || td_uuid_normalize(end + 1, cursor_id) != 0) {
            *res = td__reply_error(r, 400, "invalid_value", NULL,
                                   "query parameter cursor is not one this server gave");
            return false;
        }
        f->after_received_at = ms;
        f->after_conversion_id = cursor_id;
    }
    return true;
}

/* GET /api/link-tracking/conversions?job_id=&application_id=&tracking_id=&event_type=&limit=
 * &cursor= */
enum MHD_Result td__handle_conversion_list(td_req *r)
{
    char job[TD_UUID_SIZE], app[TD_UUID_SIZE], cursor_id[TD_UUID_SIZE], next[128];
    td_conversion_filter f = {.limit = 50};
    struct conv_acc a = {0};
    enum MHD_Result res = MHD_NO;
    json_t *body, *summary = NULL;
    int rc;

    if (!read_query(r, &f, job, app, cursor_id, &res))
        return res;
    a.want = f.limit;
    f.limit++;
    if (!(a.arr = json_array()))
        return td__reply_rc(r, TD_ENOMEM, NULL, NULL);
    rc = td_store_conversion_list(r->srv->st, &f, take_conversion, &a);
    if (rc == 0)
        rc = td_store_conversion_groups(r->srv->st, &f, TD_CONV_GROUP_ALL, take_counts, &summary);
    if (rc) {
        json_decref(a.arr);
        json_decref(summary);
        return td__reply_rc(r, rc, NULL, "could not list the bookings");
    }
    body =
        json_pack("{s:b, s:o, s:I, s:o}", "success", 1, "conversions", a.arr, "count",
                  (json_int_t)json_array_size(a.arr), "summary", summary ? summary : json_object());
    if (body && a.got > a.want) {
        snprintf(next, sizeof next, "%" PRId64 ".%s", a.last_received, a.last_id);
        json_object_set_new(body, "next_cursor", json_string(next));
    } else if (body) {
        json_object_set_new(body, "next_cursor", json_null());
    }
    return td__reply_json(r, 200, body);
}
