/* Analytics of links, jobs, applications and of everything, as JSON and CSV, from the store's
 * click rollups (per link, day, class, method and source) and visitor counts. */
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
    rc |= json_object_set_new(o, "utm_tagging",
                              l->utm_tagging == TD_UTM_ON    ? json_true()
                              : l->utm_tagging == TD_UTM_OFF ? json_false()
                                                             : json_null());
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

#define DEFAULT_DAYS 30
#define SUMMARY_LINKS_MAX 10000

/* ---- common pieces ---- */

/* Parses a class set: "all" or a comma-separated list of class names. */
int td_report_parse_include(const char *s, unsigned *classes)
{
    unsigned set = 0;
    const char *p = s;

    *classes = 0;
    if (!s || !*s)
        return TD_EINVAL;
    if (strcasecmp(s, "all") == 0) {
        *classes = TD_CLASS_ALL;
        return 0;
    }
    for (;;) {
        size_t n = strcspn(p, ",");
        int k;
        for (k = 0; k < TD_CLASS_COUNT; k++) {
            const char *name = td_click_class_name((td_click_class)k);
            if (n == strlen(name) && strncasecmp(p, name, n) == 0)
                break;
        }
        if (k == TD_CLASS_COUNT) /* also an empty item */
            return TD_EINVAL;
        set |= TD_CLASS_BIT(k);
        if (!p[n])
            break;
        p += n + 1;
    }
    *classes = set;
    return 0;
}

/* The settled options: counted classes (never 0), days, clock. */
struct opts {
    unsigned classes;
    int days;
    int64_t now;
};

/* Fills o from the caller's options (NULL: defaults). Returns 0 or TD_EINVAL. */
static int settle(const td_report_opts *in, struct opts *o)
{
    o->classes = in && in->classes ? in->classes & TD_CLASS_ALL : 0;
    if (!o->classes)
        o->classes = TD_CLASS_BIT(TD_CLASS_HUMAN);
    o->days = in && in->days ? in->days : DEFAULT_DAYS;
    o->now = in && in->now_ms ? in->now_ms : td_time_now_ms();
    return o->days < 1 || o->days > 366 ? TD_EINVAL : 0;
}

/* Returns the index of a class name (TD_CLASS_COUNT when unknown). */
static int class_index(const char *name)
{
    for (int k = 0; k < TD_CLASS_COUNT; k++)
        if (strcmp(name, td_click_class_name((td_click_class)k)) == 0)
            return k;
    return TD_CLASS_COUNT;
}

/* ---- bookings (Calendly, link_conversions) ---- */

/* Keeps the one row of a TD_CONV_GROUP_ALL count. */
static int take_booking_row(void *ud, const td_conversion_row *row)
{
    td_conversion_row *r = ud;

    *r = *row;
    r->key = "";
    return 0;
}

/* Counts the bookings matching f (all time) into *r. */
static int bookings_read(td_store *st, const td_conversion_filter *f, td_conversion_row *r)
{
    memset(r, 0, sizeof *r);
    return td_store_conversion_groups(st, f, TD_CONV_GROUP_ALL, take_booking_row, r);
}

/* Returns the booking_statistics object of a count (NULL when out of memory). */
static json_t *booking_json(const td_conversion_row *r)
{
    json_t *o = json_pack("{s:I, s:I, s:I, s:I}", "bookings", (json_int_t)r->bookings,
                          "cancellations", (json_int_t)r->cancellations, "reschedules",
                          (json_int_t)r->reschedules, "active", (json_int_t)r->active);

    if (o && (td_json_set_time(o, "first_event", r->first_at) ||
              td_json_set_time(o, "last_event", r->last_at))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* What td_report_bookings_since counts. */
struct since_count {
    int64_t since, bookings, cancellations, last_at;
    char last_id[37];
    bool done;
};

/* Counts one listed conversion received since the start; stops at an older one. */
static int take_since(void *ud, const td_conversion *c)
{
    struct since_count *sc = ud;

    sc->last_at = c->received_at;
    snprintf(sc->last_id, sizeof sc->last_id, "%s", c->conversion_id);
    if (c->received_at < sc->since) {
        sc->done = true;
        return 1;
    }
    if (strcmp(c->event_type, TD_CONV_CREATED) == 0 && !c->old_invitee[0])
        sc->bookings++;
    else if (strcmp(c->event_type, TD_CONV_CANCELED) == 0 && !c->rescheduled)
        sc->cancellations++;
    return 0;
}

/* Counts bookings and cancellations received since a time, newest first, page by page. */
int td_report_bookings_since(td_store *st, int64_t since_ms, int64_t *bookings,
                             int64_t *cancellations)
{
    struct since_count sc = {.since = since_ms};
    td_conversion_filter f = {.limit = 1000};
    int rc = 0;

    for (;;) {
        int64_t at = sc.last_at;
        char id[37];
        snprintf(id, sizeof id, "%s", sc.last_id);
        f.after_received_at = at;
        f.after_conversion_id = id;
        rc = td_store_conversion_list(st, &f, take_since, &sc);
        if (rc == 1)
            rc = 0;
        if (rc || sc.done || (sc.last_at == at && strcmp(sc.last_id, id) == 0))
            break; /* an error, an older row, or an empty page: the end */
    }
    *bookings = sc.bookings;
    *cancellations = sc.cancellations;
    return rc;
}

/* True when a GET click of class name counts under classes. */
static bool counted(unsigned classes, const char *name)
{
    int k = class_index(name);

    return k < TD_CLASS_COUNT && (classes & TD_CLASS_BIT(k));
}

/* Returns a new array of the names of the counted classes. */
static json_t *class_names(unsigned classes)
{
    json_t *a = json_array();

    for (int k = 0; a && k < TD_CLASS_COUNT; k++)
        if ((classes & TD_CLASS_BIT(k)) &&
            json_array_append_new(a, json_string(td_click_class_name((td_click_class)k)))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Returns a new object {class: count} with all four classes. */
static json_t *by_class_json(const int64_t n[TD_CLASS_COUNT])
{
    json_t *o = json_object();

    for (int k = 0; o && k < TD_CLASS_COUNT; k++)
        if (json_object_set_new(o, td_click_class_name((td_click_class)k), json_integer(n[k]))) {
            json_decref(o);
            return NULL;
        }
    return o;
}

/* Keeps the later of two times (0 = none). */
static void keep_last(int64_t *at, int64_t t)
{
    if (t > *at)
        *at = t;
}

/* Keeps the earlier of two times (0 = none). */
static void keep_first(int64_t *at, int64_t t)
{
    if (t && (!*at || t < *at))
        *at = t;
}

/* The UTC midnight days - 1 days before now's day. */
static int64_t period_start(const struct opts *o)
{
    return (o->now / DAY_MS - (o->days - 1)) * DAY_MS;
}

/* Per-day counters of a timeline: counted clicks and human clicks. */
struct timeline {
    int64_t start; /* UTC midnight of the first day */
    int days;
    unsigned classes;
    int64_t *clicks, *human;
};

/* Adds a td_store_click_days row to the timeline. */
static int take_day(void *ud, const td_click_day *row)
{
    struct timeline *t = ud;
    int64_t ms;
    long d;

    if (strcmp(row->http_method, "GET") != 0 || td_time_parse(row->day, &ms) != 0)
        return 0;
    d = (long)((ms - t->start) / DAY_MS);
    if (ms < t->start || d >= t->days)
        return 0;
    if (counted(t->classes, row->click_class))
        t->clicks[d] += row->clicks;
    if (strcmp(row->click_class, "human") == 0)
        t->human[d] += row->clicks;
    return 0;
}

/* Reads the daily counts of f into t (start and days set) and returns the array of
 * {date, clicks, human_clicks} in *out. */
static int timeline_read(td_store *st, td_click_filter *f, struct timeline *t, json_t **out)
{
    json_t *a = NULL;
    int rc;

    *out = NULL;
    t->clicks = calloc((size_t)t->days, sizeof *t->clicks);
    t->human = calloc((size_t)t->days, sizeof *t->human);
    if (!t->clicks || !t->human || !(a = json_array())) {
        rc = TD_ENOMEM;
        goto out;
    }
    f->since = t->start;
    f->until = t->start + t->days * DAY_MS;
    if ((rc = td_store_click_days(st, f, take_day, t)) != 0)
        goto out;
    for (int d = 0; d < t->days; d++) {
        char iso[TD_TIME_ISO_SIZE];
        json_t *e;
        td_time_format(t->start + d * DAY_MS, iso);
        iso[10] = '\0';
        e = json_pack("{s:s, s:I, s:I}", "date", iso, "clicks", (json_int_t)t->clicks[d],
                      "human_clicks", (json_int_t)t->human[d]);
        if (!e || json_array_append_new(a, e)) {
            rc = TD_ENOMEM;
            goto out;
        }
    }
    *out = a;
    a = NULL;
out:
    json_decref(a);
    free(t->clicks);
    free(t->human);
    t->clicks = t->human = NULL;
    return rc;
}

/* ---- one link ---- */

#define SOURCES_MAX 16

struct link_acc {
    unsigned classes;
    int64_t clicks, human, head, first, last;
    int64_t by_class[TD_CLASS_COUNT];
    struct {
        char name[32];
        int64_t n;
    } src[SOURCES_MAX];
    int nsrc;
};

/* Adds a td_store_click_totals row of the link. */
static int take_link_total(void *ud, const td_click_total *row)
{
    struct link_acc *a = ud;
    int k = class_index(row->click_class), i;

    if (strcmp(row->http_method, "GET") != 0) {
        a->head += row->clicks;
        return 0;
    }
    if (k < TD_CLASS_COUNT)
        a->by_class[k] += row->clicks;
    if (k == TD_CLASS_HUMAN)
        a->human += row->clicks;
    if (!counted(a->classes, row->click_class))
        return 0;
    a->clicks += row->clicks;
    keep_first(&a->first, row->first_click);
    keep_last(&a->last, row->last_click);
    for (i = 0; i < a->nsrc && strcmp(a->src[i].name, row->click_source) != 0; i++)
        ;
    if (i == a->nsrc) {
        if (a->nsrc == SOURCES_MAX)
            return 0;
        snprintf(a->src[a->nsrc++].name, sizeof a->src[0].name, "%s", row->click_source);
    }
    a->src[i].n += row->clicks;
    return 0;
}

/* Orders sources by name. */
static int cmp_source(const void *x, const void *y)
{
    return strcmp((const char *)x, (const char *)y);
}

/* Keeps the visitor count of an ungrouped click count. */
static int take_visitors(void *ud, const td_click_row *row)
{
    *(int64_t *)ud = row->visitors;
    return 0;
}

/* Builds the analytics of one link. */
int td_report_link(td_store *st, const td_link *l, const td_report_opts *opts, json_t **out)
{
    struct opts o;
    struct link_acc a = {0};
    struct timeline t = {0};
    td_click_filter f = {.tracking_id = l->tracking_id, .include_head = true};
    td_conversion_filter bf = {.tracking_id = l->tracking_id};
    td_conversion_row br;
    json_t *rep = NULL, *cs = NULL, *src = NULL, *tl = NULL;
    int64_t visitors = 0;
    int rc;

    *out = NULL;
    if ((rc = settle(opts, &o)) != 0)
        return rc;
    if ((rc = bookings_read(st, &bf, &br)) != 0)
        return rc;
    a.classes = o.classes;
    if ((rc = td_store_click_totals(st, &f, take_link_total, &a)) != 0)
        goto out;
    f.include_head = false;
    f.classes = o.classes;
    if ((rc = td_store_click_groups(st, &f, TD_GROUP_ALL, take_visitors, &visitors)) != 0)
        goto out;
    t.start = period_start(&o);
    t.days = o.days;
    t.classes = o.classes;
    f.classes = 0;
    if ((rc = timeline_read(st, &f, &t, &tl)) != 0)
        goto out;
    qsort(a.src, (size_t)a.nsrc, sizeof a.src[0], cmp_source);
    if (!(src = json_object())) {
        rc = TD_ENOMEM;
        goto out;
    }
    for (int i = 0; i < a.nsrc; i++)
        if (json_object_set_new(src, a.src[i].name, json_integer(a.src[i].n))) {
            rc = TD_ENOMEM;
            goto out;
        }
    cs = json_pack("{s:I, s:I, s:I, s:I}", "total_clicks", (json_int_t)a.clicks, "human_clicks",
                   (json_int_t)a.human, "unique_visitors", (json_int_t)visitors, "head_requests",
                   (json_int_t)a.head);
    rep = json_object();
    if (!cs || !rep || td_json_set_time(cs, "first_click", a.first) ||
        td_json_set_time(cs, "last_click", a.last) || json_object_set(cs, "by_source", src) ||
        json_object_set_new(cs, "by_class", by_class_json(a.by_class)) ||
        json_object_set_new(rep, "link_info", td_link_json(l)) ||
        json_object_set_new(rep, "counted_classes", class_names(o.classes)) ||
        json_object_set(rep, "click_statistics", cs) ||
        json_object_set(rep, "click_timeline", tl) ||
        json_object_set_new(rep, "timeline_days", json_integer(o.days)) ||
        json_object_set_new(rep, "booking_statistics", booking_json(&br))) {
        rc = TD_ENOMEM;
        goto out;
    }
    *out = rep;
    rep = NULL;
out:
    json_decref(rep);
    json_decref(cs);
    json_decref(src);
    json_decref(tl);
    return rc;
}

/* ---- summaries of a job or an application ---- */

/* Counts of one link or one function in a summary. */
struct counts {
    int64_t links, clicks, human, last, last_human;
    int64_t bookings, cancellations;
};

/* Writes c into the JSON object o (links only when with_links). */
static int counts_json(json_t *o, const struct counts *c, bool with_links)
{
    int rc = 0;

    if (with_links)
        rc |= json_object_set_new(o, "links", json_integer(c->links));
    rc |= json_object_set_new(o, "clicks", json_integer(c->clicks));
    rc |= json_object_set_new(o, "human_clicks", json_integer(c->human));
    rc |= td_json_set_time(o, "last_click", c->last);
    rc |= td_json_set_time(o, "last_human_click", c->last_human);
    rc |= json_object_set_new(o, "bookings", json_integer(c->bookings));
    rc |= json_object_set_new(o, "cancellations", json_integer(c->cancellations));
    return rc ? TD_ENOMEM : 0;
}

/* One listed link of a summary: what its entry shows. */
struct slink {
    char tracking_id[TD_LINK_ID_SIZE];
    char link_function[TD_LINK_FUNCTION_SIZE];
    char other_id[TD_LINK_UUID_SIZE];  /* the application of a job's link, or the job */
    char *original_url, *redirect_url; /* owned */
    bool is_active;
    struct counts c;
};

struct summary {
    bool by_job; /* a job's summary (links show their application) or an application's */
    unsigned classes;
    struct slink *links;  /* newest first, as listed */
    struct slink **by_id; /* the same, ordered by tracking_id */
    size_t n, cap;
    bool truncated;
    struct counts total;
    int64_t by_class[TD_CLASS_COUNT];
    td_conversion_row bookings; /* of the job or application, however attributed */
    int64_t documents;          /* generated for it */
};

/* Lists one link of the summary. */
static int take_slink(void *ud, const td_link *l)
{
    struct summary *s = ud;
    struct slink *sl;

    if (s->n == SUMMARY_LINKS_MAX) {
        s->truncated = true;
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct slink *p = realloc(s->links, cap * sizeof *p);
        if (!p)
            return TD_ENOMEM;
        s->links = p;
        s->cap = cap;
    }
    sl = &s->links[s->n];
    memset(sl, 0, sizeof *sl);
    snprintf(sl->tracking_id, sizeof sl->tracking_id, "%s", l->tracking_id);
    snprintf(sl->link_function, sizeof sl->link_function, "%s", l->link_function);
    snprintf(sl->other_id, sizeof sl->other_id, "%s", s->by_job ? l->application_id : l->job_id);
    sl->is_active = l->is_active;
    sl->original_url = strdup(l->original_url);
    sl->redirect_url = strdup(l->redirect_url);
    s->n++;
    return sl->original_url && sl->redirect_url ? 0 : TD_ENOMEM;
}

/* Orders pointers to listed links by tracking_id. */
static int cmp_slink_id(const void *x, const void *y)
{
    return strcmp((*(const struct slink *const *)x)->tracking_id,
                  (*(const struct slink *const *)y)->tracking_id);
}

/* Compares a tracking id with a listed link, for bsearch. */
static int cmp_id_slink(const void *key, const void *y)
{
    return strcmp((const char *)key, (*(const struct slink *const *)y)->tracking_id);
}

/* Adds a td_store_click_totals row (GET clicks) to the summary and to its link. */
static int take_stotal(void *ud, const td_click_total *row)
{
    struct summary *s = ud;
    struct slink **found = NULL;
    int k = class_index(row->click_class);
    bool is_counted = counted(s->classes, row->click_class), human = k == TD_CLASS_HUMAN;

    if (k < TD_CLASS_COUNT)
        s->by_class[k] += row->clicks;
    if (s->n)
        found = bsearch(row->tracking_id, s->by_id, s->n, sizeof *s->by_id, cmp_id_slink);
    for (int i = 0; i < 2; i++) {
        struct counts *c = i == 0 ? &s->total : found ? &(*found)->c : NULL;
        if (!c)
            continue;
        if (is_counted) {
            c->clicks += row->clicks;
            keep_last(&c->last, row->last_click);
        }
        if (human) {
            c->human += row->clicks;
            keep_last(&c->last_human, row->last_click);
        }
    }
    return 0;
}

/* Adds link counts into a function's counts. */
static void add_counts(struct counts *to, const struct counts *c)
{
    to->links++;
    to->clicks += c->clicks;
    to->human += c->human;
    keep_last(&to->last, c->last);
    keep_last(&to->last_human, c->last_human);
    to->bookings += c->bookings;
    to->cancellations += c->cancellations;
}

/* Adds a per-link booking count to its listed link. */
static int take_link_bookings(void *ud, const td_conversion_row *row)
{
    struct summary *s = ud;
    struct slink **found = NULL;

    if (s->n && row->key[0])
        found = bsearch(row->key, s->by_id, s->n, sizeof *s->by_id, cmp_id_slink);
    if (found) {
        (*found)->c.bookings = row->bookings;
        (*found)->c.cancellations = row->cancellations;
    }
    return 0;
}

/* Builds the JSON of a summary whose links and counts are read. */
static int summary_json(const struct summary *s, const char *id, json_t **out)
{
    json_t *o = NULL, *links = NULL, *fns = NULL;
    struct counts fc[64];
    char names[64][64];
    size_t nfn = 0;
    int rc = TD_ENOMEM;

    if (!(o = json_object()) || !(links = json_array()) || !(fns = json_object()))
        goto out;
    for (size_t i = 0; i < s->n; i++) {
        const struct slink *sl = &s->links[i];
        json_t *e =
            json_pack("{s:s, s:s, s:s?, s:s, s:s, s:b}", "tracking_id", sl->tracking_id,
                      "link_function", sl->link_function, s->by_job ? "application_id" : "job_id",
                      *sl->other_id ? sl->other_id : NULL, "original_url", sl->original_url,
                      "redirect_url", sl->redirect_url, "is_active", sl->is_active);
        size_t f;
        if (!e || counts_json(e, &sl->c, false) || json_array_append_new(links, e)) {
            json_decref(e);
            goto out;
        }
        for (f = 0; f < nfn && strcmp(names[f], sl->link_function) != 0; f++)
            ;
        if (f == nfn && nfn < TD_ARRAY_SIZE(fc)) {
            snprintf(names[nfn], sizeof names[0], "%s", sl->link_function);
            memset(&fc[nfn++], 0, sizeof fc[0]);
        }
        if (f < nfn)
            add_counts(&fc[f], &sl->c);
    }
    for (size_t f = 0; f < nfn; f++) {
        json_t *e = json_object();
        if (!e || counts_json(e, &fc[f], true) || json_object_set_new(fns, names[f], e)) {
            json_decref(e);
            goto out;
        }
    }
    if (json_object_set_new(o, s->by_job ? "job_id" : "application_id", json_string(id)) ||
        json_object_set_new(o, "counted_classes", class_names(s->classes)) ||
        json_object_set_new(o, "total_links", json_integer((json_int_t)s->n)) ||
        json_object_set_new(o, "total_clicks", json_integer(s->total.clicks)) ||
        json_object_set_new(o, "human_clicks", json_integer(s->total.human)) ||
        td_json_set_time(o, "last_click", s->total.last) ||
        td_json_set_time(o, "last_human_click", s->total.last_human) ||
        json_object_set_new(o, "by_class", by_class_json(s->by_class)) ||
        json_object_set_new(o, "documents", json_integer(s->documents)) ||
        json_object_set_new(o, "bookings", json_integer(s->bookings.bookings)) ||
        json_object_set_new(o, "cancellations", json_integer(s->bookings.cancellations)) ||
        json_object_set_new(o, "booking_statistics", booking_json(&s->bookings)) ||
        json_object_set(o, "by_function", fns) || json_object_set(o, "links", links) ||
        json_object_set_new(o, "links_truncated", json_boolean(s->truncated)))
        goto out;
    *out = o;
    o = NULL;
    rc = 0;
out:
    json_decref(o);
    json_decref(links);
    json_decref(fns);
    return rc;
}

/* Builds the summary of the links of a job (by_job) or of an application. */
static int report_summary(td_store *st, bool by_job, const char *id, const td_report_opts *opts,
                          json_t **out)
{
    struct opts o;
    struct summary s = {.by_job = by_job};
    td_link_filter lf = {.active = -1, .limit = SUMMARY_LINKS_MAX + 1};
    td_click_filter cf = {0};
    td_conversion_filter bf = {0};
    int rc;

    *out = NULL;
    if ((rc = settle(opts, &o)) != 0)
        return rc;
    s.classes = o.classes;
    if (by_job)
        lf.job_id = cf.job_id = bf.job_id = id;
    else
        lf.application_id = cf.application_id = bf.application_id = id;
    if ((rc = td_store_link_list(st, &lf, take_slink, &s)) != 0)
        goto out;
    if (s.n) {
        /* Counts are matched to links by id. */
        if (!(s.by_id = malloc(s.n * sizeof *s.by_id))) {
            rc = TD_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < s.n; i++)
            s.by_id[i] = &s.links[i];
        qsort(s.by_id, s.n, sizeof *s.by_id, cmp_slink_id);
    }
    if ((rc = td_store_click_totals(st, &cf, take_stotal, &s)) != 0)
        goto out;
    if ((rc = bookings_read(st, &bf, &s.bookings)) != 0 ||
        (rc = td_store_conversion_groups(st, &bf, TD_CONV_GROUP_LINK, take_link_bookings, &s)) !=
            0 ||
        (rc = td_store_document_count(st, by_job ? id : NULL, by_job ? NULL : id, &s.documents)) !=
            0)
        goto out;
    rc = summary_json(&s, id, out);
out:
    for (size_t i = 0; i < s.n; i++) {
        free(s.links[i].original_url);
        free(s.links[i].redirect_url);
    }
    free(s.links);
    free(s.by_id);
    return rc;
}

/* Builds the summary of a job. */
int td_report_job(td_store *st, const char *job_id, const td_report_opts *o, json_t **out)
{
    return report_summary(st, true, job_id, o, out);
}

/* Builds the summary of an application. */
int td_report_application(td_store *st, const char *application_id, const td_report_opts *o,
                          json_t **out)
{
    return report_summary(st, false, application_id, o, out);
}

/* ---- everything ---- */

#define FUNCTIONS_MAX 64

struct overall {
    struct timeline t;
    unsigned classes;
    int64_t clicks, human, head;
    int64_t by_class[TD_CLASS_COUNT];
    struct fperf {
        char name[64];
        int64_t clicks, human;
    } fn[FUNCTIONS_MAX];
    int nfn;
    json_t *jobs;
};

/* Adds a daily row to the totals of the overall report and to its timeline. */
static int take_overall_day(void *ud, const td_click_day *row)
{
    struct overall *a = ud;
    int k = class_index(row->click_class), f;
    bool is_counted = counted(a->classes, row->click_class);

    if (strcmp(row->http_method, "GET") != 0) {
        a->head += row->clicks;
        return 0;
    }
    if (k < TD_CLASS_COUNT)
        a->by_class[k] += row->clicks;
    if (is_counted)
        a->clicks += row->clicks;
    if (k == TD_CLASS_HUMAN)
        a->human += row->clicks;
    for (f = 0; f < a->nfn && strcmp(a->fn[f].name, row->link_function) != 0; f++)
        ;
    if (f == a->nfn && a->nfn < FUNCTIONS_MAX)
        snprintf(a->fn[a->nfn++].name, sizeof a->fn[0].name, "%s", row->link_function);
    if (f < a->nfn) {
        a->fn[f].clicks += is_counted ? row->clicks : 0;
        a->fn[f].human += k == TD_CLASS_HUMAN ? row->clicks : 0;
    }
    return take_day(&a->t, row);
}

/* Orders functions by human clicks, then clicks, both descending, then name. */
static int cmp_fperf(const void *x, const void *y)
{
    const struct fperf *a = x, *b = y;

    if (a->human != b->human)
        return a->human < b->human ? 1 : -1;
    if (a->clicks != b->clicks)
        return a->clicks < b->clicks ? 1 : -1;
    return strcmp(a->name, b->name);
}

/* Appends a top job. */
static int take_top_job(void *ud, const td_click_job *row)
{
    struct overall *a = ud;
    json_t *e = json_pack("{s:s, s:I, s:I}", "job_id", row->job_id, "clicks",
                          (json_int_t)row->clicks, "human_clicks", (json_int_t)row->human_clicks);

    return !e || json_array_append_new(a->jobs, e) ? TD_ENOMEM : 0;
}

/* One job of the funnel. */
struct fjob {
    char job_id[TD_LINK_UUID_SIZE];
    int64_t documents, human, bookings, cancellations;
};

/* The funnel of the overall report (all time). */
struct funnel {
    struct fjob *jobs;
    size_t n, cap;
    int64_t documents, documents_no_job, human;
    td_conversion_row all, unattributed;
    struct fperf fn[FUNCTIONS_MAX]; /* clicks unused: human clicks and bookings */
    int64_t fn_bookings[FUNCTIONS_MAX], fn_cancellations[FUNCTIONS_MAX];
    int nfn;
    bool truncated;
};

/* Returns the funnel entry of a job, appended when new (NULL when out of memory). */
static struct fjob *funnel_job(struct funnel *fu, const char *job_id)
{
    if (fu->n == fu->cap) {
        size_t cap = fu->cap ? fu->cap * 2 : 64;
        struct fjob *p = realloc(fu->jobs, cap * sizeof *p);
        if (!p)
            return NULL;
        fu->jobs = p;
        fu->cap = cap;
    }
    memset(&fu->jobs[fu->n], 0, sizeof fu->jobs[0]);
    snprintf(fu->jobs[fu->n].job_id, sizeof fu->jobs[0].job_id, "%s", job_id);
    return &fu->jobs[fu->n++];
}

/* Returns the index of a function in the funnel, added when new (-1 when full). */
static int funnel_fn(struct funnel *fu, const char *name)
{
    int f;

    for (f = 0; f < fu->nfn && strcmp(fu->fn[f].name, name) != 0; f++)
        ;
    if (f == fu->nfn) {
        if (fu->nfn == FUNCTIONS_MAX)
            return -1;
        snprintf(fu->fn[fu->nfn++].name, sizeof fu->fn[0].name, "%s", name);
    }
    return f;
}

/* Takes the documents of one job. */
static int take_fdocs(void *ud, const char *job_id, int64_t n)
{
    struct funnel *fu = ud;
    struct fjob *j;

    fu->documents += n;
    if (!*job_id) {
        fu->documents_no_job += n;
        return 0;
    }
    if (!(j = funnel_job(fu, job_id)))
        return TD_ENOMEM;
    j->documents = n;
    return 0;
}

/* Takes the human clicks of one job. */
static int take_fclicks(void *ud, const td_click_job *row)
{
    struct funnel *fu = ud;
    struct fjob *j;

    if (!row->human_clicks)
        return 0;
    if (!(j = funnel_job(fu, row->job_id)))
        return TD_ENOMEM;
    j->human = row->human_clicks;
    return 0;
}

/* Takes the bookings of one job ("" : unattributed). */
static int take_fbookings(void *ud, const td_conversion_row *row)
{
    struct funnel *fu = ud;
    struct fjob *j;

    if (!row->key[0]) {
        fu->unattributed = *row;
        fu->unattributed.key = "";
        return 0;
    }
    if (!(j = funnel_job(fu, row->key)))
        return TD_ENOMEM;
    j->bookings = row->bookings;
    j->cancellations = row->cancellations;
    return 0;
}

/* Adds the human clicks of a day's row to its function. */
static int take_fday(void *ud, const td_click_day *row)
{
    struct funnel *fu = ud;
    int f;

    if (strcmp(row->http_method, "GET") != 0 ||
        strcmp(row->click_class, td_click_class_name(TD_CLASS_HUMAN)) != 0)
        return 0;
    fu->human += row->clicks;
    if ((f = funnel_fn(fu, row->link_function)) >= 0)
        fu->fn[f].human += row->clicks;
    return 0;
}

/* Adds the bookings through the links of one function. */
static int take_ffn_bookings(void *ud, const td_conversion_row *row)
{
    struct funnel *fu = ud;
    int f;

    if (!row->key[0]) /* not through a link */
        return 0;
    if ((f = funnel_fn(fu, row->key)) >= 0) {
        fu->fn_bookings[f] = row->bookings;
        fu->fn_cancellations[f] = row->cancellations;
    }
    return 0;
}

/* Orders funnel jobs by job_id. */
static int cmp_fjob_id(const void *x, const void *y)
{
    return strcmp(((const struct fjob *)x)->job_id, ((const struct fjob *)y)->job_id);
}

/* Orders funnel jobs by bookings, human clicks, documents (descending), then job_id. */
static int cmp_fjob_rank(const void *x, const void *y)
{
    const struct fjob *a = x, *b = y;

    if (a->bookings != b->bookings)
        return a->bookings < b->bookings ? 1 : -1;
    if (a->human != b->human)
        return a->human < b->human ? 1 : -1;
    if (a->documents != b->documents)
        return a->documents < b->documents ? 1 : -1;
    return strcmp(a->job_id, b->job_id);
}

/* Returns num/den, or null when den is 0. */
static json_t *rate_json(int64_t num, int64_t den)
{
    return den ? json_real((double)num / (double)den) : json_null();
}

/* Builds the funnel object: documents -> human clicks -> bookings, all time. */
static int funnel_build(td_store *st, json_t **out)
{
    struct funnel *fu = calloc(1, sizeof *fu);
    td_conversion_filter bf = {0};
    /* Only human GET clicks enter the funnel: filtering here lets the store read a fraction
     * of the daily counts (the all-time pass was most of the report's time). */
    td_click_filter cf = {.classes = TD_CLASS_BIT(TD_CLASS_HUMAN)};
    json_t *o = NULL, *jobs = NULL, *fns = NULL;
    int64_t clicked_docs = 0, booked_jobs = 0, clicked_jobs = 0;
    size_t w = 0;
    int rc;

    if (!fu)
        return TD_ENOMEM;
    if ((rc = td_store_document_groups(st, take_fdocs, fu)) != 0 ||
        (rc = td_store_click_top_jobs(st, &cf, TD_REPORT_FUNNEL_JOBS, take_fclicks, fu)) != 0 ||
        (rc = td_store_conversion_groups(st, &bf, TD_CONV_GROUP_JOB, take_fbookings, fu)) != 0 ||
        (rc = bookings_read(st, &bf, &fu->all)) != 0 ||
        (rc = td_store_click_days(st, &cf, take_fday, fu)) != 0 ||
        (rc = td_store_conversion_groups(st, &bf, TD_CONV_GROUP_FUNCTION, take_ffn_bookings, fu)) !=
            0)
        goto out;
    /* A job met in several sources is merged into one entry. */
    if (fu->n)
        qsort(fu->jobs, fu->n, sizeof fu->jobs[0], cmp_fjob_id);
    for (size_t i = 0; i < fu->n; i++) {
        struct fjob *j = &fu->jobs[i];
        if (w && strcmp(fu->jobs[w - 1].job_id, j->job_id) == 0) {
            struct fjob *k = &fu->jobs[w - 1];
            k->documents += j->documents;
            k->human += j->human;
            k->bookings += j->bookings;
            k->cancellations += j->cancellations;
        } else {
            fu->jobs[w++] = *j;
        }
    }
    fu->n = w;
    for (size_t i = 0; i < fu->n; i++) {
        if (fu->jobs[i].human) {
            clicked_docs += fu->jobs[i].documents;
            clicked_jobs++;
        }
        booked_jobs += fu->jobs[i].bookings > 0;
    }
    if (fu->n)
        qsort(fu->jobs, fu->n, sizeof fu->jobs[0], cmp_fjob_rank);
    if (fu->n > TD_REPORT_FUNNEL_JOBS) {
        fu->n = TD_REPORT_FUNNEL_JOBS;
        fu->truncated = true;
    }
    rc = TD_ENOMEM;
    if (!(jobs = json_array()) || !(fns = json_array()))
        goto out;
    for (size_t i = 0; i < fu->n; i++) {
        const struct fjob *j = &fu->jobs[i];
        json_t *e = json_pack("{s:s, s:I, s:I, s:I, s:I, s:b}", "job_id", j->job_id, "documents",
                              (json_int_t)j->documents, "human_clicks", (json_int_t)j->human,
                              "bookings", (json_int_t)j->bookings, "cancellations",
                              (json_int_t)j->cancellations, "booked", j->bookings > 0);
        if (!e || json_array_append_new(jobs, e)) {
            json_decref(e);
            goto out;
        }
    }
    for (int f = 0; f < fu->nfn; f++) {
        json_t *e =
            json_pack("{s:s, s:I, s:I, s:I}", "link_function", fu->fn[f].name, "human_clicks",
                      (json_int_t)fu->fn[f].human, "bookings", (json_int_t)fu->fn_bookings[f],
                      "cancellations", (json_int_t)fu->fn_cancellations[f]);
        if (!e ||
            json_object_set_new(e, "booking_rate",
                                rate_json(fu->fn_bookings[f], fu->fn[f].human)) ||
            json_array_append_new(fns, e)) {
            json_decref(e);
            goto out;
        }
    }
    o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:O, s:O, s:b}",
                  "period", "all_time", "documents", (json_int_t)fu->documents,
                  "documents_without_job", (json_int_t)fu->documents_no_job, "documents_clicked",
                  (json_int_t)clicked_docs, "jobs_clicked", (json_int_t)clicked_jobs,
                  "human_clicks", (json_int_t)fu->human, "bookings", (json_int_t)fu->all.bookings,
                  "cancellations", (json_int_t)fu->all.cancellations, "unattributed_bookings",
                  (json_int_t)fu->unattributed.bookings, "jobs_booked", (json_int_t)booked_jobs,
                  "click_rate", rate_json(clicked_docs, fu->documents), "booking_rate",
                  rate_json(fu->all.bookings, fu->human), "by_function", fns, "jobs", jobs,
                  "jobs_truncated", fu->truncated);
    if (!o)
        goto out;
    *out = o;
    rc = 0;
out:
    json_decref(jobs);
    json_decref(fns);
    free(fu->jobs);
    free(fu);
    return rc;
}

/* Builds the report of every link over a period. */
int td_report_overall(td_store *st, const td_report_opts *opts, json_t **out)
{
    struct opts o;
    struct overall *a = NULL;
    td_click_filter f = {.include_head = true};
    json_t *rep = NULL, *os = NULL, *fp = NULL, *trend = NULL, *funnel = NULL;
    char from[TD_TIME_ISO_SIZE], to[TD_TIME_ISO_SIZE];
    int64_t bookings = 0, cancellations = 0;
    int rc;

    *out = NULL;
    if ((rc = settle(opts, &o)) != 0)
        return rc;
    /* Large (64 function names): on the heap, not a server thread's stack. */
    if (!(a = calloc(1, sizeof *a)) || !(a->jobs = json_array()) || !(fp = json_array())) {
        rc = TD_ENOMEM;
        goto out;
    }
    a->classes = a->t.classes = o.classes;
    a->t.start = period_start(&o);
    a->t.days = o.days;
    a->t.clicks = calloc((size_t)o.days, sizeof *a->t.clicks);
    a->t.human = calloc((size_t)o.days, sizeof *a->t.human);
    if (!a->t.clicks || !a->t.human || !(trend = json_array())) {
        rc = TD_ENOMEM;
        goto out;
    }
    f.since = a->t.start;
    f.until = a->t.start + o.days * DAY_MS;
    if ((rc = td_store_click_days(st, &f, take_overall_day, a)) != 0)
        goto out;
    f.include_head = false;
    f.classes = o.classes;
    if ((rc = td_store_click_top_jobs(st, &f, TD_REPORT_TOP_JOBS, take_top_job, a)) != 0)
        goto out;
    if ((rc = td_report_bookings_since(st, a->t.start, &bookings, &cancellations)) != 0 ||
        (rc = funnel_build(st, &funnel)) != 0)
        goto out;
    for (int d = 0; d < o.days; d++) {
        char iso[TD_TIME_ISO_SIZE];
        json_t *e;
        td_time_format(a->t.start + d * DAY_MS, iso);
        iso[10] = '\0';
        e = json_pack("{s:s, s:I, s:I}", "date", iso, "clicks", (json_int_t)a->t.clicks[d],
                      "human_clicks", (json_int_t)a->t.human[d]);
        if (!e || json_array_append_new(trend, e)) {
            rc = TD_ENOMEM;
            goto out;
        }
    }
    qsort(a->fn, (size_t)a->nfn, sizeof a->fn[0], cmp_fperf);
    for (int i = 0; i < a->nfn; i++) {
        json_t *e =
            json_pack("{s:s, s:I, s:I}", "link_function", a->fn[i].name, "clicks",
                      (json_int_t)a->fn[i].clicks, "human_clicks", (json_int_t)a->fn[i].human);
        if (!e || json_array_append_new(fp, e)) {
            rc = TD_ENOMEM;
            goto out;
        }
    }
    td_time_format(a->t.start, from);
    td_time_format(f.until - DAY_MS, to);
    from[10] = to[10] = '\0';
    os = json_pack("{s:I, s:I, s:I, s:o, s:I, s:I}", "total_clicks", (json_int_t)a->clicks,
                   "human_clicks", (json_int_t)a->human, "head_requests", (json_int_t)a->head,
                   "by_class", by_class_json(a->by_class), "bookings", (json_int_t)bookings,
                   "cancellations", (json_int_t)cancellations);
    rep = json_pack("{s:i, s:s, s:s, s:o, s:O, s:O, s:O, s:O, s:O}", "days", o.days, "from", from,
                    "to", to, "counted_classes", class_names(o.classes), "overall_statistics", os,
                    "function_performance", fp, "daily_trends", trend, "top_jobs", a->jobs,
                    "funnel", funnel);
    if (!rep) {
        rc = TD_ENOMEM;
        goto out;
    }
    *out = rep;
    rep = NULL;
out:
    json_decref(rep);
    json_decref(os);
    json_decref(fp);
    json_decref(trend);
    json_decref(funnel);
    if (a) {
        json_decref(a->jobs);
        free(a->t.clicks);
        free(a->t.human);
        free(a);
    }
    return rc;
}

/* ---- CSV ---- */

/* Appends one CSV text cell, quoted when needed, with a ' before a formula-like start. */
int td_report_csv_cell(td_buf *out, const char *s)
{
    bool guard, quote;
    int rc;

    if (!s)
        return 0;
    guard = *s && strchr("=+-@\t\r", *s);
    quote = s[strcspn(s, ",\"\r\n")] != '\0' || *s == ' ' || (*s && s[strlen(s) - 1] == ' ');
    if (!quote)
        return guard ? td_buf_printf(out, "'%s", s) : td_buf_adds(out, s);
    rc = td_buf_addc(out, '"');
    if (!rc && guard)
        rc = td_buf_addc(out, '\'');
    for (const char *p = s; !rc && *p; p++)
        rc = *p == '"' ? td_buf_adds(out, "\"\"") : td_buf_addc(out, *p);
    return rc ? rc : td_buf_addc(out, '"');
}

/* Appends the cell of a JSON value: text cells guarded, numbers and booleans as they are,
 * null empty; then sep. */
static int csv_value(td_buf *out, const json_t *v, char sep)
{
    int rc = 0;

    if (json_is_string(v))
        rc = td_report_csv_cell(out, json_string_value(v));
    else if (json_is_integer(v))
        rc = td_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_boolean(v))
        rc = td_buf_adds(out, json_is_true(v) ? "true" : "false");
    if (rc)
        return rc;
    return sep == '\n' ? td_buf_adds(out, "\r\n") : td_buf_addc(out, sep);
}

/* Appends a row of the named members of obj (pre: a value for each leading column). */
static int csv_row(td_buf *out, const json_t *const *lead, size_t nlead, const json_t *obj,
                   const char *const *keys, size_t nkeys)
{
    int rc = 0;

    for (size_t i = 0; !rc && i < nlead; i++)
        rc = csv_value(out, lead[i], nkeys || i + 1 < nlead ? ',' : '\n');
    for (size_t i = 0; !rc && i < nkeys; i++)
        rc = csv_value(out, json_object_get(obj, keys[i]), i + 1 < nkeys ? ',' : '\n');
    return rc;
}

/* Appends the rows of one array of the overall report under a section name. */
static int csv_section(td_buf *out, const char *section, const json_t *arr, const char *key)
{
    static const char *const cols[] = {"clicks", "human_clicks", "documents", "bookings",
                                       "cancellations"};
    json_t *sec = json_string(section);
    const json_t *e;
    size_t i;
    int rc = sec ? 0 : TD_ENOMEM;

    json_array_foreach(arr, i, e)
    {
        const json_t *lead[2] = {sec, json_object_get(e, key)};
        if (rc || (rc = csv_row(out, lead, 2, e, cols, TD_ARRAY_SIZE(cols))) != 0)
            break;
    }
    json_decref(sec);
    return rc;
}

/* Writes a report as CSV. */
int td_report_csv(td_report_kind kind, const json_t *rep, td_buf *out)
{
    static const char *const day_cols[] = {"date", "clicks", "human_clicks"};
    static const char *const link_cols[] = {"tracking_id",  "link_function", NULL,
                                            "original_url", "is_active",     "clicks",
                                            "human_clicks", "last_click",    "last_human_click",
                                            "bookings",     "cancellations"};
    const char *cols[TD_ARRAY_SIZE(link_cols)];
    const json_t *e;
    size_t i;
    int rc = 0;

    if (!json_is_object(rep))
        return TD_EINVAL;
    switch (kind) {
    case TD_REPORT_LINK: {
        const json_t *id = json_object_get(json_object_get(rep, "link_info"), "tracking_id");
        const json_t *tl = json_object_get(rep, "click_timeline");
        if (!json_is_string(id) || !json_is_array(tl))
            return TD_EINVAL;
        rc = td_buf_adds(out, "tracking_id,date,clicks,human_clicks\r\n");
        json_array_foreach(tl, i, e)
        {
            if (rc || (rc = csv_row(out, &id, 1, e, day_cols, 3)) != 0)
                break;
        }
        return rc;
    }
    case TD_REPORT_JOB:
    case TD_REPORT_APPLICATION:
        if (!json_is_array(json_object_get(rep, "links")))
            return TD_EINVAL;
        memcpy(cols, link_cols, sizeof cols);
        cols[2] = kind == TD_REPORT_JOB ? "application_id" : "job_id";
        for (i = 0; !rc && i < TD_ARRAY_SIZE(cols); i++)
            rc = td_buf_printf(out, "%s%s", cols[i], i + 1 < TD_ARRAY_SIZE(cols) ? "," : "\r\n");
        json_array_foreach(json_object_get(rep, "links"), i, e)
        {
            if (rc || (rc = csv_row(out, NULL, 0, e, cols, TD_ARRAY_SIZE(cols))) != 0)
                break;
        }
        return rc;
    case TD_REPORT_OVERALL: {
        const json_t *os = json_object_get(rep, "overall_statistics");
        const json_t *fu = json_object_get(rep, "funnel");
        json_t *total = NULL, *ftotal = NULL;
        if (!json_is_object(os) || (fu && !json_is_object(fu)) ||
            !json_is_array(json_object_get(rep, "daily_trends")))
            return TD_EINVAL;
        /* O? : a member missing from a hand-made report gives an empty cell. */
        total = json_pack("[{s:s, s:O?, s:O?, s:O?, s:O?}]", "key", "all", "clicks",
                          json_object_get(os, "total_clicks"), "human_clicks",
                          json_object_get(os, "human_clicks"), "bookings",
                          json_object_get(os, "bookings"), "cancellations",
                          json_object_get(os, "cancellations"));
        ftotal =
            json_pack("[{s:s, s:O?, s:O?, s:O?, s:O?}, {s:s, s:O?}]", "key", "all", "human_clicks",
                      json_object_get(fu, "human_clicks"), "documents",
                      json_object_get(fu, "documents"), "bookings", json_object_get(fu, "bookings"),
                      "cancellations", json_object_get(fu, "cancellations"), "key", "unattributed",
                      "bookings", json_object_get(fu, "unattributed_bookings"));
        if (!total || !ftotal) {
            json_decref(total);
            json_decref(ftotal);
            return TD_ENOMEM;
        }
        rc = td_buf_adds(out,
                         "section,key,clicks,human_clicks,documents,bookings,cancellations\r\n");
        rc = rc ? rc : csv_section(out, "overall", total, "key");
        rc = rc ? rc
                : csv_section(out, "function", json_object_get(rep, "function_performance"),
                              "link_function");
        rc = rc ? rc : csv_section(out, "day", json_object_get(rep, "daily_trends"), "date");
        rc = rc ? rc : csv_section(out, "job", json_object_get(rep, "top_jobs"), "job_id");
        if (!fu) /* a report made before the funnel existed */
            goto overall_done;
        rc = rc ? rc : csv_section(out, "funnel", ftotal, "key");
        rc = rc ? rc
                : csv_section(out, "funnel_function", json_object_get(fu, "by_function"),
                              "link_function");
        rc = rc ? rc : csv_section(out, "funnel_job", json_object_get(fu, "jobs"), "job_id");
    overall_done:
        json_decref(total);
        json_decref(ftotal);
        return rc;
    }
    }
    return TD_EINVAL;
}
