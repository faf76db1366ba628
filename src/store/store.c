/* Backend choice by URL and dispatch of every store call to the backend's operation table. */
#include "core/common.h"

#include "store/store_int.h"
#include "trackdoc/classify.h"

struct td_store {
    const struct td_store_ops *ops;
    void *be;
};

static __thread char last_error[512];

/* Saves an error detail for this thread. */
int td__store_error(int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return rc;
}

/* Returns this thread's last error detail. */
const char *td_store_errmsg(td_store *st)
{
    TD_UNUSED(st);
    return last_error;
}

/* Chooses the backend from the URL scheme and opens it. */
int td_store_open(const char *url, const td_store_options *opts, td_store **out, char *errmsg,
                  size_t errsz)
{
    static const td_store_options defaults = {0};
    const struct td_store_ops *ops = &td__store_sqlite_ops;
    const char *target = url && *url ? url : TD_STORE_DEFAULT;
    td_store *st = NULL;
    char err[512] = "";
    int rc = 0;

    *out = NULL;
    last_error[0] = '\0';
    if (!opts)
        opts = &defaults;
    /* A PostgreSQL URL goes to libpq whole: "postgres://" alone means the PG* variables. */
    if (strncmp(target, "postgres://", 11) == 0 || strncmp(target, "postgresql://", 13) == 0)
        ops = &td__store_pg_ops;
    else if (strncmp(target, "sqlite:", 7) == 0)
        target += 7;
    else if (strncmp(target, "file:", 5) == 0)
        target += 5;
    if (ops == &td__store_sqlite_ops && strncmp(target, "//", 2) == 0) /* sqlite:///abs/path */
        target += 2;
    if (!*target) {
        snprintf(err, sizeof err, "empty database path in \"%s\"", url);
        rc = TD_EINVAL;
        goto out;
    }
    if (ops == &td__store_sqlite_ops && strstr(target, "://")) {
        snprintf(err, sizeof err,
                 "unknown database URL scheme in \"%s\" (use a path, sqlite:PATH "
                 "or postgres://...)",
                 url);
        rc = TD_EINVAL;
        goto out;
    }
    st = calloc(1, sizeof *st);
    if (!st) {
        rc = TD_ENOMEM;
        goto out;
    }
    st->ops = ops;
    rc = ops->open(target, opts, &st->be, err, sizeof err);
    if (rc)
        goto out;
    *out = st;
    st = NULL;
out:
    free(st);
    if (errmsg && errsz)
        snprintf(errmsg, errsz, "%s", *err ? err : td_strerror(rc));
    return rc;
}

/* Closes the backend and frees st. */
void td_store_close(td_store *st)
{
    if (!st)
        return;
    if (st->be)
        st->ops->close(st->be);
    free(st);
}

/* Returns the backend name. */
const char *td_store_backend(const td_store *st)
{
    return st->ops->name;
}

/* Applies pending migrations. */
int td_store_migrate(td_store *st, int *applied_out)
{
    int applied = 0, rc = st->ops->migrate(st->be, &applied);

    if (applied_out)
        *applied_out = applied;
    return rc;
}

/* Gives the database and program schema versions. */
int td_store_schema_version(td_store *st, int *db_version, int *known_version)
{
    return st->ops->schema_version(st->be, db_version, known_version);
}

/* Checks that the database answers. */
int td_store_ping(td_store *st)
{
    return st->ops->ping(st->be);
}

/* Inserts a link or returns the one of the same context. */
int td_store_link_insert(td_store *st, const td_link *l, td_link *out, bool *created_out)
{
    bool created = false;
    int rc = st->ops->link_insert(st->be, l, out, &created);

    if (created_out)
        *created_out = created;
    return rc;
}

/* Reads one link. */
int td_store_link_get(td_store *st, const char *tracking_id, td_link *out)
{
    return st->ops->link_get(st->be, tracking_id, out);
}

/* Sets is_active of a link. */
int td_store_link_set_active(td_store *st, const char *tracking_id, bool active)
{
    return st->ops->link_set_active(st->be, tracking_id, active);
}

/* Sets the utm tagging of a link. */
int td_store_link_set_utm(td_store *st, const char *tracking_id, int mode)
{
    if (mode != TD_UTM_DEFAULT && mode != TD_UTM_ON && mode != TD_UTM_OFF)
        return td__store_error(TD_EINVAL, "unknown utm tagging mode %d", mode);
    return st->ops->link_set_utm(st->be, tracking_id, mode);
}

/* Lists links matching a filter. */
int td_store_link_list(td_store *st, const td_link_filter *f, int (*cb)(void *ud, const td_link *l),
                       void *ud)
{
    if (f->limit < 1 || f->limit > TD_LINK_LIST_MAX)
        return td__store_error(TD_EINVAL, "limit must be between 1 and %d", TD_LINK_LIST_MAX);
    return st->ops->link_list(st->be, f, cb, ud);
}

/* Inserts a batch of clicks in one transaction. */
int td_store_click_insert(td_store *st, const td_click *clicks, size_t n, int *row_rc)
{
    if (n == 0)
        return 0;
    return st->ops->click_insert(st->be, clicks, n, row_rc);
}

/* Aggregates clicks. */
int td_store_click_groups(td_store *st, const td_click_filter *f, td_click_group g,
                          int (*cb)(void *ud, const td_click_row *row), void *ud)
{
    return st->ops->click_groups(st->be, f, g, cb, ud);
}

/* Checks that a rollup period is whole UTC days. */
static int rollup_period(const td_click_filter *f)
{
    const int64_t day = 86400000LL;

    if (f->since < 0 || f->until < 0 || f->since % day || f->until % day)
        return td__store_error(TD_EINVAL, "a rollup period starts and ends at UTC midnight");
    return 0;
}

/* Reads per-link totals from the rollups. */
int td_store_click_totals(td_store *st, const td_click_filter *f,
                          int (*cb)(void *ud, const td_click_total *row), void *ud)
{
    int rc = rollup_period(f);

    if (rc)
        return rc;
    if (!st->ops->click_totals)
        return td__store_error(TD_ENOTSUP, "%s has no click rollups", st->ops->name);
    return st->ops->click_totals(st->be, f, cb, ud);
}

/* Reads daily counts from the rollups. */
int td_store_click_days(td_store *st, const td_click_filter *f,
                        int (*cb)(void *ud, const td_click_day *row), void *ud)
{
    int rc = rollup_period(f);

    if (rc)
        return rc;
    if (!st->ops->click_days)
        return td__store_error(TD_ENOTSUP, "%s has no click rollups", st->ops->name);
    return st->ops->click_days(st->be, f, cb, ud);
}

/* Ranks jobs by human clicks. */
int td_store_click_top_jobs(td_store *st, const td_click_filter *f, int limit,
                            int (*cb)(void *ud, const td_click_job *row), void *ud)
{
    int rc = rollup_period(f);

    if (rc)
        return rc;
    if (limit < 1 || limit > 1000)
        return td__store_error(TD_EINVAL, "limit must be between 1 and 1000");
    if ((f->tracking_id && *f->tracking_id) || (f->job_id && *f->job_id) ||
        (f->application_id && *f->application_id))
        return td__store_error(TD_EINVAL, "top jobs cover every link");
    if (!st->ops->click_top_jobs)
        return td__store_error(TD_ENOTSUP, "%s has no click rollups", st->ops->name);
    return st->ops->click_top_jobs(st->be, f, limit, cb, ud);
}

/* Reclassifies stored clicks. */
int td_store_click_reclassify(td_store *st, const char *const *click_ids, size_t n, int click_class,
                              const char *reason)
{
    if (n == 0)
        return 0;
    if (click_class < 0 || click_class >= TD_CLASS_COUNT)
        return td__store_error(TD_EINVAL, "unknown click class %d", click_class);
    return st->ops->click_reclassify(st->be, click_ids, n, click_class, reason);
}

/* Deletes clicks before a time. */
int td_store_click_purge(td_store *st, int64_t before, int64_t *deleted_out)
{
    int64_t dummy;

    return st->ops->click_purge(st->be, before, deleted_out ? deleted_out : &dummy);
}

/* Gets or makes the visitor-hash salt of a day. */
int td_store_visitor_salt(td_store *st, const char *day, const char *keep_from, char salt_hex[65])
{
    if (strlen(day) != 10 || !keep_from || strlen(keep_from) != 10)
        return td__store_error(TD_EINVAL, "days are YYYY-MM-DD");
    return st->ops->visitor_salt(st->be, day, keep_from, salt_hex);
}

/* Stores an API key hash. */
int td_store_apikey_insert(td_store *st, const td_apikey_row *k, const char *hash_hex)
{
    return st->ops->apikey_insert(st->be, k, hash_hex);
}

/* Finds an active API key by hash. */
int td_store_apikey_find(td_store *st, const char *hash_hex, td_apikey_row *out)
{
    return st->ops->apikey_find(st->be, hash_hex, out);
}

/* Records the use of a key. */
int td_store_apikey_touch(td_store *st, const char *key_id, int64_t now)
{
    return st->ops->apikey_touch(st->be, key_id, now);
}

/* Lists API keys. */
int td_store_apikey_list(td_store *st, bool all, int (*cb)(void *ud, const td_apikey_row *k),
                         void *ud)
{
    return st->ops->apikey_list(st->be, all, cb, ud);
}

/* Revokes an API key. */
int td_store_apikey_revoke(td_store *st, const char *ref, int64_t now)
{
    return st->ops->apikey_revoke(st->be, ref, now);
}

/* Creates or replaces a profile. */
int td_store_profile_put(td_store *st, const td_profile *p, bool *created_out)
{
    bool created = false;
    int rc = st->ops->profile_put(st->be, p, false, &created);

    if (created_out)
        *created_out = created;
    return rc;
}

/* Creates a profile only if none exists. */
int td_store_profile_insert(td_store *st, const td_profile *p)
{
    bool created = false;

    return st->ops->profile_put(st->be, p, true, &created);
}

/* Reads a profile. */
int td_store_profile_get(td_store *st, const char *user_id, td_profile *out)
{
    return st->ops->profile_get(st->be, user_id, out);
}

/* Deletes a profile. */
int td_store_profile_delete(td_store *st, const char *user_id)
{
    return st->ops->profile_delete(st->be, user_id);
}

/* Lists profiles by user_id. */
int td_store_profile_list(td_store *st, const char *after_user_id, int limit,
                          int (*cb)(void *ud, const td_profile *p), void *ud)
{
    if (limit < 1 || limit > TD_LINK_LIST_MAX)
        return td__store_error(TD_EINVAL, "limit must be between 1 and %d", TD_LINK_LIST_MAX);
    return st->ops->profile_list(st->be, after_user_id ? after_user_id : "", limit, cb, ud);
}

/* Records a generated document. */
int td_store_document_insert(td_store *st, const td_document *d)
{
    return st->ops->document_insert(st->be, d);
}

/* Reads a generated document by file name. */
int td_store_document_get(td_store *st, const char *filename, td_document *out)
{
    return st->ops->document_get(st->be, filename, out);
}

/* Lists generated documents. */
int td_store_document_list(td_store *st, const td_document_filter *f,
                           int (*cb)(void *ud, const td_document *d), void *ud)
{
    if (f->limit < 1 || f->limit > TD_LINK_LIST_MAX)
        return td__store_error(TD_EINVAL, "limit must be between 1 and %d", TD_LINK_LIST_MAX);
    return st->ops->document_list(st->be, f, cb, ud);
}

/* Marks a document's file deleted. */
int td_store_document_mark_deleted(td_store *st, const char *filename, int64_t now)
{
    return st->ops->document_mark_deleted(st->be, filename, now);
}

/* Counts generated documents of a job or application. */
int td_store_document_count(td_store *st, const char *job_id, const char *application_id,
                            int64_t *out)
{
    return st->ops->document_count(st->be, job_id, application_id, out);
}

/* Counts documents per job. */
int td_store_document_groups(td_store *st, int (*cb)(void *ud, const char *job_id, int64_t n),
                             void *ud)
{
    return st->ops->document_groups(st->be, cb, ud);
}

/* True when s is one of the two event types of link_conversions. */
static bool conversion_type_ok(const char *s)
{
    return s && (strcmp(s, TD_CONV_CREATED) == 0 || strcmp(s, TD_CONV_CANCELED) == 0);
}

/* Stores a Calendly event once per (invitee_uri, event_type). */
int td_store_conversion_insert(td_store *st, const td_conversion *c, bool *created_out)
{
    bool dummy;

    if (!conversion_type_ok(c->event_type))
        return td__store_error(TD_EINVAL, "unknown conversion event type \"%.40s\"", c->event_type);
    if (strcmp(c->attribution, "tracking_id") != 0 && strcmp(c->attribution, "campaign") != 0 &&
        strcmp(c->attribution, "none") != 0)
        return td__store_error(TD_EINVAL, "unknown attribution \"%.20s\"", c->attribution);
    if (!c->invitee_uri[0] || !c->conversion_id[0])
        return td__store_error(TD_EINVAL, "a conversion needs an invitee_uri and an id");
    return st->ops->conversion_insert(st->be, c, created_out ? created_out : &dummy);
}

/* Reads the row of one invitee event. */
int td_store_conversion_get(td_store *st, const char *invitee_uri, const char *event_type,
                            td_conversion *out)
{
    if (!conversion_type_ok(event_type) || !invitee_uri || !*invitee_uri)
        return td__store_error(TD_ENOTFOUND, "no such conversion");
    return st->ops->conversion_get(st->be, invitee_uri, event_type, out);
}

/* Lists conversions, newest first. */
int td_store_conversion_list(td_store *st, const td_conversion_filter *f,
                             int (*cb)(void *ud, const td_conversion *c), void *ud)
{
    if (f->limit < 1 || f->limit > TD_LINK_LIST_MAX)
        return td__store_error(TD_EINVAL, "limit must be 1 to %d", TD_LINK_LIST_MAX);
    if (f->event_type && *f->event_type && !conversion_type_ok(f->event_type))
        return td__store_error(TD_EINVAL, "unknown conversion event type");
    return st->ops->conversion_list(st->be, f, cb, ud);
}

/* Counts bookings grouped by job, application or link. */
int td_store_conversion_groups(td_store *st, const td_conversion_filter *f, td_conversion_group g,
                               int (*cb)(void *ud, const td_conversion_row *row), void *ud)
{
    if ((int)g < TD_CONV_GROUP_ALL || (int)g > TD_CONV_GROUP_FUNCTION)
        return td__store_error(TD_EINVAL, "unknown conversion grouping");
    return st->ops->conversion_groups(st->be, f, g, cb, ud);
}

/* Gets or makes a per-database secret. */
int td_store_secret(td_store *st, const char *name, char hex[65])
{
    if (!name || !*name || strlen(name) > 64)
        return td__store_error(TD_EINVAL, "secret names are 1 to 64 bytes");
    return st->ops->secret(st->be, name, hex);
}
