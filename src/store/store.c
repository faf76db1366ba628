/* Backend choice by URL and dispatch of every store call to the backend's operation table. */
#include "core/common.h"

#include "store/store_int.h"

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
    if (strncmp(target, "postgres://", 11) == 0 || strncmp(target, "postgresql://", 13) == 0) {
        snprintf(err, sizeof err,
                 "the PostgreSQL backend is not built yet; use a SQLite path such as %s",
                 TD_STORE_DEFAULT);
        rc = TD_ENOTSUP;
        goto out;
    }
    if (strncmp(target, "sqlite:", 7) == 0)
        target += 7;
    else if (strncmp(target, "file:", 5) == 0)
        target += 5;
    if (strncmp(target, "//", 2) == 0) /* sqlite:///abs/path */
        target += 2;
    if (!*target) {
        snprintf(err, sizeof err, "empty database path in \"%s\"", url);
        rc = TD_EINVAL;
        goto out;
    }
    if (strstr(target, "://")) {
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
