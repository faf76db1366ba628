/* Analytics of links and jobs as JSON, from the store's grouped click counts. */
#include "core/common.h"

#include "core/time.h"
#include "trackdoc/report.h"

#define DAY_MS 86400000LL

/* Sets an ISO time or null. */
int td_json_set_time(json_t *obj, const char *key, int64_t ms)
{
    char iso[TD_TIME_ISO_SIZE];

    if (!ms)
        return json_object_set_new(obj, key, json_null()) ? TD_ENOMEM : 0;
    td_time_format(ms, iso);
    return json_object_set_new(obj, key, json_string(iso)) ? TD_ENOMEM : 0;
}

/* Sets a string, or null when empty. */
static int set_opt(json_t *obj, const char *key, const char *s)
{
    return json_object_set_new(obj, key, *s ? json_string(s) : json_null()) ? TD_ENOMEM : 0;
}

/* Returns the JSON object of a link. */
json_t *td_link_json(const td_link *l)
{
    json_t *o = json_object();
    int rc = 0;

    if (!o)
        return NULL;
    rc |= json_object_set_new(o, "tracking_id", json_string(l->tracking_id));
    rc |= set_opt(o, "job_id", l->job_id);
    rc |= set_opt(o, "application_id", l->application_id);
    rc |= json_object_set_new(o, "link_function", json_string(l->link_function));
    rc |= set_opt(o, "link_type", l->link_type);
    rc |= json_object_set_new(o, "original_url", json_string(l->original_url));
    rc |= json_object_set_new(o, "redirect_url", json_string(l->redirect_url));
    rc |= td_json_set_time(o, "created_at", l->created_at);
    rc |= set_opt(o, "created_by", l->created_by);
    rc |= json_object_set_new(o, "is_active", json_boolean(l->is_active));
    rc |= set_opt(o, "description", l->description);
    rc |= td_json_set_time(o, "expires_at", l->expires_at);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

struct stats_acc {
    int64_t clicks, first, last;
    json_t *obj; /* key -> count */
};

/* Keeps the one row of an ungrouped count. */
static int take_total(void *ud, const td_click_row *row)
{
    struct stats_acc *a = ud;

    a->clicks = row->clicks;
    a->first = row->first_click;
    a->last = row->last_click;
    return 0;
}

/* Adds key: count to an object. */
static int take_count(void *ud, const td_click_row *row)
{
    struct stats_acc *a = ud;

    return json_object_set_new(a->obj, row->key, json_integer(row->clicks)) ? TD_ENOMEM : 0;
}

/* Builds the analytics of one link. */
int td_report_link(td_store *st, const td_link *l, int days, int64_t now_ms, json_t **out)
{
    td_click_filter f = {.tracking_id = l->tracking_id};
    struct stats_acc total = {0}, methods = {0}, src = {0}, per_day = {0};
    json_t *head;
    json_t *o = NULL, *cs = NULL, *tl = NULL;
    int64_t start;
    int rc;

    *out = NULL;
    if (days < 1 || days > 366)
        return TD_EINVAL;
    if (!(o = json_object()) || !(cs = json_object()) || !(tl = json_array()) ||
        !(src.obj = json_object()) || !(per_day.obj = json_object()) ||
        !(methods.obj = json_object())) {
        rc = TD_ENOMEM;
        goto out;
    }
    if ((rc = td_store_click_groups(st, &f, TD_GROUP_ALL, take_total, &total)) != 0 ||
        (rc = td_store_click_groups(st, &f, TD_GROUP_SOURCE, take_count, &src)) != 0)
        goto out;
    f.include_head = true;
    if ((rc = td_store_click_groups(st, &f, TD_GROUP_METHOD, take_count, &methods)) != 0)
        goto out;
    /* The timeline covers whole UTC days, today included. */
    start = (now_ms / DAY_MS - (days - 1)) * DAY_MS;
    f.include_head = false;
    f.since = start;
    if ((rc = td_store_click_groups(st, &f, TD_GROUP_DAY, take_count, &per_day)) != 0)
        goto out;
    for (int d = 0; d < days; d++) {
        char iso[TD_TIME_ISO_SIZE];
        json_t *n, *e;
        td_time_format(start + d * DAY_MS, iso);
        iso[10] = '\0';
        n = json_object_get(per_day.obj, iso);
        e = json_pack("{s:s, s:I}", "date", iso, "clicks",
                      (json_int_t)(n ? json_integer_value(n) : 0));
        if (!e || json_array_append_new(tl, e)) {
            rc = TD_ENOMEM;
            goto out;
        }
    }
    rc |= json_object_set_new(cs, "total_clicks", json_integer(total.clicks));
    head = json_object_get(methods.obj, "HEAD");
    rc |=
        json_object_set_new(cs, "head_requests", json_integer(head ? json_integer_value(head) : 0));
    rc |= td_json_set_time(cs, "first_click", total.first);
    rc |= td_json_set_time(cs, "last_click", total.last);
    rc |= json_object_set(cs, "by_source", src.obj);
    rc |= json_object_set_new(o, "link_info", td_link_json(l));
    rc |= json_object_set(o, "click_statistics", cs);
    rc |= json_object_set(o, "click_timeline", tl);
    rc |= json_object_set_new(o, "timeline_days", json_integer(days));
    if (rc) {
        rc = TD_ENOMEM;
        goto out;
    }
    *out = o;
    o = NULL;
out:
    json_decref(o);
    json_decref(cs);
    json_decref(tl);
    json_decref(src.obj);
    json_decref(per_day.obj);
    json_decref(methods.obj);
    return rc;
}

#define JOB_LINKS_MAX 10000

struct job_acc {
    json_t *links;       /* array of link objects */
    json_t *by_id;       /* tracking_id -> the same link objects, to find them in O(1) */
    json_t *by_function; /* function -> {links, clicks, last_click} */
    int64_t nlinks;
    bool truncated; /* the job has more links than the summary lists */
};

/* Adds one link of the job to the summary. */
static int take_link(void *ud, const td_link *l)
{
    struct job_acc *a = ud;
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:b, s:I, s:n}", "tracking_id",
                          l->tracking_id, "link_function", l->link_function, "application_id",
                          *l->application_id ? l->application_id : NULL, "original_url",
                          l->original_url, "redirect_url", l->redirect_url, "is_active",
                          l->is_active, "clicks", (json_int_t)0, "last_click");
    json_t *fn = json_object_get(a->by_function, l->link_function);

    if (a->nlinks == JOB_LINKS_MAX) {
        a->truncated = true;
        json_decref(o);
        return 0;
    }
    if (!o)
        return TD_ENOMEM;
    if (json_object_set(a->by_id, l->tracking_id, o)) {
        json_decref(o);
        return TD_ENOMEM;
    }
    if (json_array_append_new(a->links, o))
        return TD_ENOMEM;
    if (!fn) {
        fn = json_pack("{s:I, s:I, s:n}", "links", (json_int_t)0, "clicks", (json_int_t)0,
                       "last_click");
        if (!fn || json_object_set_new(a->by_function, l->link_function, fn))
            return TD_ENOMEM;
    }
    a->nlinks++;
    return json_object_set_new(fn, "links",
                               json_integer(json_integer_value(json_object_get(fn, "links")) + 1))
               ? TD_ENOMEM
               : 0;
}

/* Puts a link's click count into its entry of the links array. */
static int take_link_clicks(void *ud, const td_click_row *row)
{
    struct job_acc *a = ud;
    json_t *o = json_object_get(a->by_id, row->key);

    if (!o) /* a link beyond the listed ones */
        return 0;
    json_object_set_new(o, "clicks", json_integer(row->clicks));
    return td_json_set_time(o, "last_click", row->last_click);
}

/* Puts a function's click count into by_function. */
static int take_function_clicks(void *ud, const td_click_row *row)
{
    struct job_acc *a = ud;
    json_t *fn = json_object_get(a->by_function, row->key);

    if (!fn)
        return 0;
    json_object_set_new(fn, "clicks", json_integer(row->clicks));
    return td_json_set_time(fn, "last_click", row->last_click);
}

/* Builds the summary of a job. */
int td_report_job(td_store *st, const char *job_id, json_t **out)
{
    td_link_filter lf = {.job_id = job_id, .active = -1, .limit = JOB_LINKS_MAX + 1};
    td_click_filter cf = {.job_id = job_id};
    struct job_acc a = {0};
    struct stats_acc total = {0};
    json_t *o = NULL;
    int rc;

    *out = NULL;
    if (!(a.links = json_array()) || !(a.by_function = json_object()) ||
        !(a.by_id = json_object())) {
        rc = TD_ENOMEM;
        goto out;
    }
    if ((rc = td_store_link_list(st, &lf, take_link, &a)) != 0 ||
        (rc = td_store_click_groups(st, &cf, TD_GROUP_LINK, take_link_clicks, &a)) != 0 ||
        (rc = td_store_click_groups(st, &cf, TD_GROUP_FUNCTION, take_function_clicks, &a)) != 0 ||
        (rc = td_store_click_groups(st, &cf, TD_GROUP_ALL, take_total, &total)) != 0)
        goto out;
    o = json_pack("{s:s, s:I, s:I, s:O, s:O, s:b}", "job_id", job_id, "total_links",
                  (json_int_t)a.nlinks, "total_clicks", (json_int_t)total.clicks, "by_function",
                  a.by_function, "links", a.links, "links_truncated", a.truncated);
    if (!o || td_json_set_time(o, "last_click", total.last)) {
        rc = TD_ENOMEM;
        goto out;
    }
    *out = o;
    o = NULL;
out:
    json_decref(o);
    json_decref(a.links);
    json_decref(a.by_id);
    json_decref(a.by_function);
    return rc;
}
