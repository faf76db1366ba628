/* GET|HEAD /track/{id}: the redirect. The 302 leaves only after the click is committed. */
#include "http.h"

#include "core/time.h"

#define UTM_MAX 10
#define UTM_VALUE_MAX 256

/* Answers a redirect that cannot happen: a short page for browsers, the JSON error otherwise. */
static enum MHD_Result track_error(td_req *r, int rc)
{
    const char *const retry[] = {"Retry-After", "5", NULL};
    const char *title, *text;
    unsigned status;

    switch (rc) {
    case TD_ENOTFOUND:
        status = 404;
        title = "Link not found";
        text = "This link does not exist. Check that it was copied in full.";
        break;
    case TD_EGONE:
    case TD_EEXPIRED:
        status = 410;
        title = "Link no longer available";
        text =
            rc == TD_EGONE ? "The owner of this link has turned it off." : "This link has expired.";
        break;
    default:
        status = 503;
        title = "Try again in a moment";
        text = "This link cannot be followed right now. Please try again shortly.";
    }
    if (td__req_wants_html(r))
        return td__reply_page(r, status, title, text, status == 503 ? retry : NULL);
    if (status == 503)
        return td__reply_error_h(r, status, td_errcode(rc), "Retry-After", "5", "%s", text);
    return td__reply_error(r, status, td_errcode(rc), NULL, "%s", text);
}

struct utm_acc {
    json_t *obj;
    int n;
};

/* Keeps the utm_* query parameters (bounded in number and size). */
static enum MHD_Result take_utm(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    struct utm_acc *a = cls;

    if (strncmp(key, "utm_", 4) != 0 || strlen(key) > 32 || a->n >= UTM_MAX)
        return MHD_YES;
    if (!a->obj && !(a->obj = json_object()))
        return MHD_NO;
    if (value && strlen(value) > UTM_VALUE_MAX)
        return MHD_YES;
    /* Invalid UTF-8 makes json_string fail: such a value is left out. */
    json_object_set_new(a->obj, key, value ? json_string(value) : json_string(""));
    a->n++;
    return MHD_YES;
}

/* Builds the metadata of a click: the utm_* parameters of the tracked URL, or NULL. */
static const char *click_metadata(td_req *r)
{
    struct utm_acc a = {0};
    json_t *meta;
    char *text;
    const char *out = NULL;

    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, take_utm, &a);
    if (!a.obj)
        return NULL;
    meta = json_pack("{s:o}", "utm", a.obj);
    text = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    if (text)
        out = td_arena_strdup(&r->arena, text);
    free(text);
    json_decref(meta);
    return out;
}

/* After the commit: the 302, or the reason there is none. */
static enum MHD_Result track_resume(td_req *r)
{
    int rc = atomic_load(&r->click_rc);
    td_buf body, location;
    enum MHD_Result res;

    if (rc)
        return track_error(r, rc);
    td_buf_init(&body, 16384);
    td_buf_init(&location, 8192);
    if (td_utm_location(r->srv->utm, r->link, &location) ||
        td_buf_adds(&body, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Redirecting"
                           "</title></head><body><p>Redirecting to <a href=\"") ||
        td__html_escape(&body, td_buf_str(&location)) || td_buf_adds(&body, "\">") ||
        td__html_escape(&body, r->link->original_url) ||
        td_buf_adds(&body, "</a>.</p></body></html>\n")) {
        td_buf_release(&body);
        td_buf_release(&location);
        return MHD_NO;
    }
    {
        const char *const headers[] = {"Location",
                                       td_buf_str(&location),
                                       "Cache-Control",
                                       "private, no-store",
                                       "X-Robots-Tag",
                                       "noindex",
                                       NULL};
        res = td__reply_raw(r, 302, "text/html; charset=utf-8", body.data, body.len, headers);
    }
    td_buf_release(&body);
    td_buf_release(&location);
    return res;
}

/* Resolves the link, records the click, and answers once it is durable. */
enum MHD_Result td__handle_track(td_req *r)
{
    td_server *s = r->srv;
    const char *referrer;
    td_click c;
    int rc;

    r->link = td_arena_alloc(&r->arena, sizeof *r->link);
    if (!r->link)
        return MHD_NO;
    rc = td_link_resolve(s->tr, r->params[0], td_time_now_ms(), r->link);
    if (rc)
        return track_error(r, rc);
    if ((rc = td_click_init(&c, r->link->tracking_id)) != 0)
        return track_error(r, rc);
    referrer = td__req_header(r, "Referer");
    c.user_agent = td__req_header(r, "User-Agent");
    c.referrer_url = referrer;
    c.click_source = td_click_source_of(referrer, td_tracker_base_host(s->tr));
    c.head = r->method == M_HEAD;
    c.metadata = click_metadata(r);
    /* Every click gets its 302, whatever its class: mail security blocks mails whose links
     * fail, and a person behind a misjudged agent must still arrive. */
    td__truth_fill(r, &c, r->ip[0] ? r->ip : NULL, true,
                   td__req_header(r, "Accept-Language") != NULL, true);
    /* The earlier clicks of a burst were queued before this one; their reclassification goes
     * right behind them (r may be gone once the click is submitted). */
    td__truth_after(r);
    return td__req_record_click(r, &c, track_resume);
}
