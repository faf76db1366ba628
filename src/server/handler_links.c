/* The link API: create (one or many), record a click from another front-end, list, read,
 * deactivate and activate. Paths and field names are those of the system our users come from. */
#include "http.h"

#include <arpa/inet.h>

#include "core/id.h"
#include "core/time.h"
#include "trackdoc/config.h"
#include "trackdoc/report.h"

#define MAX_BATCH 100

/* Field limits in bytes (the store's column sizes, minus the NUL). */
#define LEN_URL 8192 /* longer than TD_URL_MAX so that the URL check gives its precise error */
#define LEN_FUNCTION (TD_LINK_FUNCTION_SIZE - 1)
#define LEN_TYPE (TD_LINK_TYPE_SIZE - 1)
#define LEN_DESC (TD_LINK_DESC_SIZE - 1)
#define LEN_BY (TD_LINK_BY_SIZE - 1)

/* Parses expires_in: whole seconds (a JSON integer or a string of digits) or a duration such
 * as "30d". Returns 0 and milliseconds, or TD_ETIME. */
static int parse_expires_in(json_t *in, int64_t *ms)
{
    const char *s;
    char *end;
    long long secs;

    if (json_is_integer(in)) {
        secs = json_integer_value(in);
    } else if (json_is_string(in)) {
        s = json_string_value(in);
        if (td_time_parse_duration(s, ms) == 0)
            return 0;
        if (!isdigit((unsigned char)*s))
            return TD_ETIME;
        errno = 0;
        secs = strtoll(s, &end, 10);
        if (errno || end == s || *end)
            return TD_ETIME;
    } else {
        return TD_ETIME;
    }
    if (secs <= 0 || secs > 100LL * 365 * 86400)
        return TD_ETIME;
    *ms = secs * 1000;
    return 0;
}

/* Reads expires_at (ISO time) or expires_in of the object at JSON pointer prefix into *out. */
static bool read_expiry(td_req *r, json_t *obj, const char *prefix, int64_t *out,
                        enum MHD_Result *res)
{
    json_t *at = json_object_get(obj, "expires_at"), *in = json_object_get(obj, "expires_in");
    int64_t now = td_time_now_ms(), ms = 0;
    char ptr[128];

    *out = 0;
    if (at && !json_is_null(at)) {
        snprintf(ptr, sizeof ptr, "%s/expires_at", prefix);
        if (!json_is_string(at) || td_time_parse(json_string_value(at), &ms) != 0) {
            *res = td__reply_error(r, 400, "invalid_time", ptr,
                                   "%s must be an ISO 8601 time such as 2027-01-31T00:00:00Z", ptr);
            return false;
        }
        if (ms <= now) {
            *res = td__reply_error(r, 400, "invalid_time", ptr, "%s is in the past", ptr);
            return false;
        }
        *out = ms;
    } else if (in && !json_is_null(in)) {
        snprintf(ptr, sizeof ptr, "%s/expires_in", prefix);
        if (parse_expires_in(in, &ms) != 0) {
            *res = td__reply_error(r, 400, "invalid_time", ptr,
                                   "%s must be whole seconds (up to 100 years) or a duration such "
                                   "as 30d, 12h, 2w",
                                   ptr);
            return false;
        }
        *out = now + ms;
    }
    return true;
}

/* Reads utm_tagging (true, false, or null/absent for the server's rule) into *mode. */
static bool read_utm(td_req *r, json_t *obj, const char *prefix, int *mode, enum MHD_Result *res)
{
    json_t *v = json_object_get(obj, "utm_tagging");
    char ptr[128];

    if (!v)
        return true;
    if (json_is_null(v)) {
        *mode = TD_UTM_DEFAULT;
        return true;
    }
    if (!json_is_boolean(v)) {
        snprintf(ptr, sizeof ptr, "%s/utm_tagging", prefix);
        *res = td__reply_error(r, 400, "invalid_type", ptr, "%s must be true, false or null", ptr);
        return false;
    }
    *mode = json_is_true(v) ? TD_UTM_ON : TD_UTM_OFF;
    return true;
}

/* Reads the fields of one link from the object at JSON pointer prefix ("" or "/links/2");
 * defaults come from base (the batch's shared fields). */
static bool read_params(td_req *r, json_t *obj, const char *prefix, const td_link_params *base,
                        td_link_params *p, enum MHD_Result *res)
{
    const char *s;

    *p = *base;
#define FIELD(name, max)                                                                           \
    do {                                                                                           \
        if (!td__json_str_at(r, obj, prefix, #name, max, &s, res))                                 \
            return false;                                                                          \
        if (s)                                                                                     \
            p->name = s;                                                                           \
    } while (0)
    FIELD(original_url, LEN_URL);
    FIELD(link_function, LEN_FUNCTION);
    FIELD(job_id, 64);
    FIELD(application_id, 64);
    FIELD(link_type, LEN_TYPE);
    FIELD(description, LEN_DESC);
    FIELD(created_by, LEN_BY);
#undef FIELD
    if (!read_utm(r, obj, prefix, &p->utm_tagging, res))
        return false;
    if (json_object_get(obj, "expires_at") || json_object_get(obj, "expires_in"))
        return read_expiry(r, obj, prefix, &p->expires_at, res);
    return true;
}

/* Replies 400 missing_field unless p has the two required fields. */
static bool require_fields(td_req *r, const td_link_params *p, const char *prefix,
                           enum MHD_Result *res)
{
    char ptr[128];

    if (!p->original_url) {
        snprintf(ptr, sizeof ptr, "%s/original_url", prefix);
        *res = td__reply_error(r, 400, "missing_field", ptr, "%s is required", ptr);
        return false;
    }
    if (!p->link_function) {
        snprintf(ptr, sizeof ptr, "%s/link_function", prefix);
        *res = td__reply_error(r, 400, "missing_field", ptr,
                               "%s is required (one of the configured link functions)", ptr);
        return false;
    }
    return true;
}

/* Adds "created" to a link's JSON. */
static json_t *link_out(const td_link *l, bool created)
{
    json_t *o = td_link_json(l);

    if (o)
        json_object_set_new(o, "created", json_boolean(created));
    return o;
}

/* Creates links for many URLs of one job in one call: {"links": [...], shared fields}. */
static enum MHD_Result create_batch(td_req *r, json_t *links, const td_link_params *base)
{
    td_link_params *p = NULL;
    td_link *out = NULL;
    bool *created = NULL;
    size_t n = json_array_size(links), bad = 0, i;
    const char *field = NULL;
    json_t *arr = NULL, *item;
    enum MHD_Result res = MHD_NO;
    bool any = false;
    int rc;

    if (n == 0 || n > MAX_BATCH)
        return td__reply_error(r, 400, "invalid_value", "/links", "/links must hold 1 to %d links",
                               MAX_BATCH);
    p = calloc(n, sizeof *p);
    out = calloc(n, sizeof *out);
    created = calloc(n, sizeof *created);
    arr = json_array();
    if (!p || !out || !created || !arr)
        goto out;
    json_array_foreach(links, i, item)
    {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "/links/%zu", i);
        if (!json_is_object(item)) {
            res = td__reply_error(r, 400, "invalid_type", prefix, "%s must be an object", prefix);
            goto out;
        }
        if (!read_params(r, item, prefix, base, &p[i], &res) ||
            !require_fields(r, &p[i], prefix, &res))
            goto out;
    }
    rc = td_link_create_many(r->srv->tr, p, n, out, created, &bad, &field);
    if (rc) {
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/links/%zu/%s", bad, field ? field : "");
        res = td__reply_rc(r, rc, field ? ptr : NULL, NULL);
        goto out;
    }
    for (i = 0; i < n; i++) {
        any |= created[i];
        if (json_array_append_new(arr, link_out(&out[i], created[i])))
            goto out;
    }
    res = td__reply_json(
        r, any ? 201 : 200,
        json_pack("{s:b, s:I, s:O}", "success", 1, "count", (json_int_t)n, "links", arr));
out:
    json_decref(arr);
    free(p);
    free(out);
    free(created);
    return res;
}

/* POST /api/link-tracking/create */
enum MHD_Result td__handle_link_create(td_req *r)
{
    enum MHD_Result res = MHD_NO;
    json_t *body = td__req_json(r, &res), *links;
    td_link_params base = {0}, p;
    const char *field = NULL;
    char by[160];
    td_link l;
    bool created;
    int rc;

    if (!body)
        return res;
    snprintf(by, sizeof by, "apikey:%s", r->key.name);
    base.created_by = by;
    links = json_object_get(body, "links");
    if (links) {
        json_t *shared = json_deep_copy(body);
        if (!json_is_array(links)) {
            res = td__reply_error(r, 400, "invalid_type", "/links", "/links must be an array");
            json_decref(shared);
            goto out;
        }
        /* Shared fields (job_id, application_id, ...) apply to every link of the batch. */
        json_object_del(shared, "links");
        if (read_params(r, shared, "", &base, &p, &res))
            res = create_batch(r, links, &p);
        json_decref(shared);
        goto out;
    }
    if (!read_params(r, body, "", &base, &p, &res) || !require_fields(r, &p, "", &res))
        goto out;
    rc = td_link_create(r->srv->tr, &p, &l, &created, &field);
    if (rc) {
        res = td__reply_rc(r, rc, field, NULL);
        goto out;
    }
    {
        json_t *o = link_out(&l, created);
        if (o)
            json_object_set_new(o, "success", json_true());
        res = td__reply_json(r, created ? 201 : 200, o);
    }
out:
    json_decref(body);
    return res;
}

/* After the click of record-click is committed. */
static enum MHD_Result record_resume(td_req *r)
{
    int rc = atomic_load(&r->click_rc);
    json_t *o;

    if (rc)
        return td__reply_rc(r, rc, NULL, "the click was not recorded");
    o = json_pack("{s:b, s:s, s:s, s:s}", "success", 1, "click_id", (const char *)r->extra,
                  "tracking_id", r->link->tracking_id, "original_url", r->link->original_url);
    return td__reply_json(r, 201, o);
}

/* POST /api/link-tracking/record-click: a redirect served elsewhere reports its click. */
enum MHD_Result td__handle_record_click(td_req *r)
{
    enum MHD_Result res = MHD_NO;
    json_t *body = td__req_json(r, &res), *meta;
    const char *id, *ip, *ua, *ref, *sid, *src, *method, *at;
    unsigned char addr[16];
    char *meta_text = NULL;
    td_click c;
    int rc;

    if (!body)
        return res;
    if (!td__json_str(r, body, "tracking_id", 64, &id, &res) ||
        !td__json_str(r, body, "ip_address", 64, &ip, &res) ||
        !td__json_str(r, body, "user_agent", 4096, &ua, &res) ||
        !td__json_str(r, body, "referrer_url", 8192, &ref, &res) ||
        !td__json_str(r, body, "session_id", TD_CLICK_SESSION_MAX, &sid, &res) ||
        !td__json_str(r, body, "click_source", 32, &src, &res) ||
        !td__json_str(r, body, "http_method", 8, &method, &res) ||
        !td__json_str(r, body, "clicked_at", 64, &at, &res))
        goto out;
    if (!id) {
        res = td__reply_error(r, 400, "missing_field", "/tracking_id", "/tracking_id is required");
        goto out;
    }
    if (ip && inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1) {
        res = td__reply_error(r, 400, "invalid_value", "/ip_address",
                              "/ip_address must be an IPv4 or IPv6 address");
        goto out;
    }
    meta = json_object_get(body, "metadata");
    if (meta && !json_is_null(meta)) {
        if (!json_is_object(meta)) {
            res =
                td__reply_error(r, 400, "invalid_type", "/metadata", "/metadata must be an object");
            goto out;
        }
        meta_text = json_dumps(meta, JSON_COMPACT);
        if (!meta_text || strlen(meta_text) > TD_CLICK_METADATA_MAX) {
            res = td__reply_error(r, 400, "too_long", "/metadata",
                                  "/metadata is over %d bytes as JSON", TD_CLICK_METADATA_MAX);
            goto out;
        }
    }
    r->link = td_arena_alloc(&r->arena, sizeof *r->link);
    if (!r->link)
        goto out;
    rc = td_link_resolve(r->srv->tr, id, td_time_now_ms(), r->link);
    if (rc) {
        res = td__reply_rc(r, rc, rc == TD_ENOTFOUND ? "/tracking_id" : NULL, NULL);
        goto out;
    }
    if ((rc = td_click_init(&c, r->link->tracking_id)) != 0) {
        res = td__reply_rc(r, rc, NULL, NULL);
        goto out;
    }
    if (src && td_click_source_parse(src, &c.click_source) != 0) {
        res = td__reply_error(r, 400, "invalid_value", "/click_source",
                              "/click_source must be one of direct, email, linkedin, indeed, "
                              "dashboard, external");
        goto out;
    }
    if (!src)
        c.click_source = td_click_source_of(ref, td_tracker_base_host(r->srv->tr));
    if (method && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        res = td__reply_error(r, 400, "invalid_value", "/http_method",
                              "/http_method must be GET or HEAD");
        goto out;
    }
    if (at) {
        int64_t now = td_time_now_ms();
        if (td_time_parse(at, &c.clicked_at) != 0 || c.clicked_at > now + 300000 ||
            c.clicked_at < now - 30LL * 86400000) {
            res = td__reply_error(r, 400, "invalid_time", "/clicked_at",
                                  "/clicked_at must be an ISO 8601 time within the last 30 days");
            goto out;
        }
    }
    c.head = method && strcmp(method, "HEAD") == 0;
    c.user_agent = ua;
    c.referrer_url = ref;
    c.session_id = sid;
    c.metadata = meta_text;
    /* Another front-end's click: its user agent and method are judged; whether it sent
     * Accept-Language is unknown, and its clicks are not checked for bursts. */
    td__truth_fill(r, &c, ip, false, false, false);
    r->extra = td_arena_strdup(&r->arena, c.click_id);
    if (!r->extra)
        goto out;
    res = td__req_record_click(r, &c, record_resume); /* the recorder copies every string */
out:
    free(meta_text);
    json_decref(body);
    return res;
}

struct list_acc {
    json_t *arr;
    int want;
    int got;
    td_link last;
};

/* Collects one listed link; keeps the last of the page for the cursor. */
static int take_listed(void *ud, const td_link *l)
{
    struct list_acc *a = ud;

    if (++a->got > a->want)
        return 0; /* the extra row only tells that a next page exists */
    a->last = *l;
    return json_array_append_new(a->arr, td_link_json(l)) ? TD_ENOMEM : 0;
}

/* Reads an optional UUID query parameter; replies 400 when malformed. */
static bool query_uuid(td_req *r, const char *name, char *out, const char **ptr,
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

/* GET /api/link-tracking/links?job_id=&application_id=&function=&active=&limit=&cursor= */
enum MHD_Result td__handle_link_list(td_req *r)
{
    char job[TD_UUID_SIZE], app[TD_UUID_SIZE], cursor_id[TD_LINK_ID_SIZE], next[128];
    const char *fn = td__req_query(r, "function"), *v;
    td_link_filter f = {.active = -1, .limit = 50};
    struct list_acc a = {0};
    enum MHD_Result res = MHD_NO;
    json_t *body;
    int rc;

    if (!query_uuid(r, "job_id", job, &f.job_id, &res) ||
        !query_uuid(r, "application_id", app, &f.application_id, &res))
        return res;
    if (fn && *fn) {
        f.link_function = td_tracker_function(r->srv->tr, fn);
        if (!f.link_function)
            return td__reply_error(r, 400, "invalid_link_function", NULL,
                                   "query parameter function: \"%.64s\" is not a configured link "
                                   "function",
                                   fn);
    }
    if ((v = td__req_query(r, "active")) && *v) {
        bool b;
        if (td_config_parse_bool(v, &b) != 0)
            return td__reply_error(r, 400, "invalid_value", NULL,
                                   "query parameter active must be true or false");
        f.active = b;
    }
    if ((v = td__req_query(r, "limit")) && *v) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 1000)
            return td__reply_error(r, 400, "invalid_value", NULL,
                                   "query parameter limit must be from 1 to 1000");
        f.limit = (int)n;
    }
    if ((v = td__req_query(r, "cursor")) && *v) {
        char *end;
        long long ms;
        errno = 0;
        ms = strtoll(v, &end, 10);
        if (errno || ms <= 0 || *end != '.' || !td_link_id_valid(end + 1)) {
            return td__reply_error(r, 400, "invalid_value", NULL,
                                   "query parameter cursor is not one this server gave");
        }
        f.after_created_at = ms;
        snprintf(cursor_id, sizeof cursor_id, "%s", end + 1);
        f.after_tracking_id = cursor_id;
    }
    a.want = f.limit;
    f.limit++;
    if (!(a.arr = json_array()))
        return MHD_NO;
    rc = td_store_link_list(r->srv->st, &f, take_listed, &a);
    if (rc) {
        json_decref(a.arr);
        return td__reply_rc(r, rc, NULL, "could not list links");
    }
    body = json_pack("{s:b, s:o, s:I}", "success", 1, "links", a.arr, "count",
                     (json_int_t)json_array_size(a.arr));
    if (body && a.got > a.want) {
        snprintf(next, sizeof next, "%" PRId64 ".%s", a.last.created_at, a.last.tracking_id);
        json_object_set_new(body, "next_cursor", json_string(next));
    } else if (body) {
        json_object_set_new(body, "next_cursor", json_null());
    }
    return td__reply_json(r, 200, body);
}

/* GET /api/link-tracking/links/{id} */
enum MHD_Result td__handle_link_get(td_req *r)
{
    td_click_filter f = {.tracking_id = r->params[0]};
    td_link l;
    int64_t clicks = 0;
    json_t *o;
    int rc = td_link_get(r->srv->tr, r->params[0], &l);

    if (rc)
        return td__reply_rc(r, rc, NULL, "link");
    f.tracking_id = l.tracking_id;
    rc = td_store_click_groups(r->srv->st, &f, TD_GROUP_ALL, td__count_clicks, &clicks);
    if (rc)
        return td__reply_rc(r, rc, NULL, "could not count clicks");
    o = td_link_json(&l);
    if (o) {
        json_object_set_new(o, "total_clicks", json_integer(clicks));
        json_object_set_new(o, "success", json_true());
    }
    return td__reply_json(r, 200, o);
}

/* Sets is_active and answers with the link's new state. */
static enum MHD_Result set_active(td_req *r, bool active)
{
    int rc = td_link_set_active(r->srv->tr, r->params[0], active);

    if (rc)
        return td__reply_rc(r, rc, NULL, "link");
    return td__reply_json(r, 200,
                          json_pack("{s:b, s:s, s:b}", "success", 1, "tracking_id", r->params[0],
                                    "is_active", active));
}

/* POST /api/link-tracking/links/{id}/deactivate */
enum MHD_Result td__handle_link_deactivate(td_req *r)
{
    return set_active(r, false);
}

/* PATCH /api/link-tracking/links/{id}: {"utm_tagging": true|false|null}; answers the link. */
enum MHD_Result td__handle_link_patch(td_req *r)
{
    enum MHD_Result res = MHD_NO;
    json_t *body = td__req_json(r, &res);
    const char *key;
    json_t *v;
    int mode = TD_UTM_DEFAULT, rc;
    td_link l;

    if (!body)
        return res;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "utm_tagging") != 0) {
            res = td__reply_error(r, 400, "invalid_value", NULL,
                                  "only utm_tagging can be changed; \"%.64s\" cannot", key);
            goto out;
        }
    }
    if (!json_object_get(body, "utm_tagging")) {
        res = td__reply_error(r, 400, "missing_field", "/utm_tagging", "/utm_tagging is required");
        goto out;
    }
    if (!read_utm(r, body, "", &mode, &res))
        goto out;
    if ((rc = td_link_set_utm(r->srv->tr, r->params[0], mode)) != 0 ||
        (rc = td_link_get(r->srv->tr, r->params[0], &l)) != 0) {
        res = td__reply_rc(r, rc, NULL, "link");
        goto out;
    }
    v = td_link_json(&l);
    if (v)
        json_object_set_new(v, "success", json_true());
    res = td__reply_json(r, 200, v);
out:
    json_decref(body);
    return res;
}

/* POST /api/link-tracking/links/{id}/activate */
enum MHD_Result td__handle_link_activate(td_req *r)
{
    return set_active(r, true);
}
