/* Storage: one interface over the backends (SQLite now; PostgreSQL later) chosen by URL.
 * A td_store is safe to use from many threads: it keeps its own pool of connections. */
#ifndef TRACKDOC_STORE_H
#define TRACKDOC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trackdoc/link.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_store td_store;

/* The default database, relative to the working directory. */
#define TD_STORE_DEFAULT "var/trackdoc.db"

typedef struct td_store_options {
    int pool_size;       /* connections kept open, default 4 */
    bool no_migrate;     /* leave the schema alone; by default open applies pending migrations */
    bool readonly;       /* open the database read-only */
    bool must_exist;     /* fail with TD_ENOTFOUND instead of creating a new database */
    const char *sync;    /* SQLite synchronous mode: "full" (default) or "normal" */
    int busy_timeout_ms; /* how long a writer waits for a lock, default 5000 */
} td_store_options;

/* Opens the store named by url: a path, "sqlite:PATH" or "file:PATH" (SQLite), or
 * "postgres://..." / "postgresql://..." (not built yet: TD_ENOTSUP). NULL or "" means
 * TD_STORE_DEFAULT. The folder of a SQLite file is created when missing. opts may be NULL.
 * On failure *out is NULL and errmsg (errsz bytes, may be NULL) says why.
 * Returns 0, TD_EINVAL (bad URL or option), TD_ENOTSUP, TD_ENOTFOUND (must_exist and there is
 * no database), TD_ESCHEMA (database from a newer trackdoc), TD_EDB or TD_ENOMEM. */
int td_store_open(const char *url, const td_store_options *opts, td_store **out, char *errmsg,
                  size_t errsz);

/* Closes every connection and frees st; NULL is a no-op. */
void td_store_close(td_store *st);

/* Returns the detail of the last error of this thread on st (static per thread; "" if none). */
const char *td_store_errmsg(td_store *st);

/* Returns the backend name: "sqlite" or "postgres". */
const char *td_store_backend(const td_store *st);

/* Applies pending migrations; *applied_out (may be NULL) gets how many ran. */
int td_store_migrate(td_store *st, int *applied_out);

/* Gives the schema version of the database and the newest this program knows. */
int td_store_schema_version(td_store *st, int *db_version, int *known_version);

/* Checks that the database answers. Returns 0 or TD_EDB. */
int td_store_ping(td_store *st);

/* ---- link_tracking ---- */

/* Inserts l unless a link with the same context (job_id, application_id, link_function,
 * original_url) exists; either way *out receives the stored row and *created_out whether this
 * call inserted it. Safe against concurrent creators: the unique index decides.
 * Returns 0, TD_ECONFLICT (tracking_id already used by another context) or TD_EDB. */
int td_store_link_insert(td_store *st, const td_link *l, td_link *out, bool *created_out);

/* Reads one link. Returns 0, TD_ENOTFOUND or TD_EDB. */
int td_store_link_get(td_store *st, const char *tracking_id, td_link *out);

/* Sets is_active. Returns 0, TD_ENOTFOUND or TD_EDB. */
int td_store_link_set_active(td_store *st, const char *tracking_id, bool active);

/* Most rows one listing call gives. */
#define TD_LINK_LIST_MAX 100000

/* Filter and page of a link listing; NULL or "" fields do not filter. */
typedef struct td_link_filter {
    const char *job_id;
    const char *application_id;
    const char *link_function;
    int active; /* -1 any, 0 inactive only, 1 active only */
    int limit;  /* 1..TD_LINK_LIST_MAX */
    /* Keyset cursor: rows strictly older than (created_at, tracking_id); 0/"" = from newest. */
    int64_t after_created_at;
    const char *after_tracking_id;
} td_link_filter;

/* Calls cb for each link matching f, newest first, at most f->limit rows; cb returns non-zero
 * to stop (that value is returned). */
int td_store_link_list(td_store *st, const td_link_filter *f, int (*cb)(void *ud, const td_link *l),
                       void *ud);

/* ---- link_clicks ---- */

/* Inserts n clicks in one transaction (the group commit). A click whose click_id is already
 * stored is skipped (replays are harmless). row_rc (n entries, may be NULL) receives each row's
 * result: 0, or TD_ENOTFOUND when its link does not exist. The call returns TD_EDB when the
 * transaction could not be committed: then no row of the batch is stored. */
int td_store_click_insert(td_store *st, const td_click *clicks, size_t n, int *row_rc);

/* Which clicks an aggregate counts. NULL or "" fields do not filter. */
typedef struct td_click_filter {
    const char *tracking_id;
    const char *job_id;
    const char *application_id;
    int64_t since;     /* UTC ms, inclusive; 0 = no bound */
    int64_t until;     /* UTC ms, exclusive; 0 = no bound */
    bool include_head; /* count HEAD requests too */
} td_click_filter;

/* How an aggregate groups clicks. */
typedef enum td_click_group {
    TD_GROUP_ALL = 0,  /* one row, key "" */
    TD_GROUP_SOURCE,   /* key: click_source */
    TD_GROUP_DAY,      /* key: "YYYY-MM-DD" (UTC), ascending */
    TD_GROUP_FUNCTION, /* key: link_function */
    TD_GROUP_LINK,     /* key: tracking_id */
    TD_GROUP_METHOD,   /* key: "GET" or "HEAD" */
} td_click_group;

typedef struct td_click_row {
    const char *key;
    int64_t clicks;
    int64_t first_click; /* UTC ms */
    int64_t last_click;  /* UTC ms */
} td_click_row;

/* Counts clicks matching f grouped by g; calls cb per group (only groups with clicks).
 * cb returns non-zero to stop. Returns 0, TD_EINVAL or TD_EDB. */
int td_store_click_groups(td_store *st, const td_click_filter *f, td_click_group g,
                          int (*cb)(void *ud, const td_click_row *row), void *ud);

/* ---- api_keys ---- */

typedef struct td_apikey_row {
    char key_id[37];
    char name[129];
    char prefix[16]; /* first characters of the key, to recognise it in a list */
    int64_t created_at;
    int64_t last_used_at; /* 0 when never */
    int64_t revoked_at;   /* 0 when active */
} td_apikey_row;

/* Stores a key by its hash (hex SHA-256). Returns 0, TD_ECONFLICT (an active key has that
 * name) or TD_EDB. */
int td_store_apikey_insert(td_store *st, const td_apikey_row *k, const char *hash_hex);

/* Finds an active key by hash. Returns 0, TD_ENOTFOUND or TD_EDB. */
int td_store_apikey_find(td_store *st, const char *hash_hex, td_apikey_row *out);

/* Records that a key was used now. */
int td_store_apikey_touch(td_store *st, const char *key_id, int64_t now);

/* Lists keys, newest first; revoked ones too when all is set. */
int td_store_apikey_list(td_store *st, bool all, int (*cb)(void *ud, const td_apikey_row *k),
                         void *ud);

/* Revokes the active key whose id, name or prefix is ref. Returns 0, TD_ENOTFOUND,
 * TD_ECONFLICT (ref matches more than one key) or TD_EDB. */
int td_store_apikey_revoke(td_store *st, const char *ref, int64_t now);

/* ---- user_candidate_info ---- */

/* A candidate profile. Strings are "" when NULL; times UTC ms. */
typedef struct td_profile {
    char user_id[37];
    char first_name[129];
    char last_name[129];
    char email[255];
    char phone_number[65];
    char mailing_address[513];
    char calendly_url[2049];
    char linkedin_url[2049];
    char portfolio_url[2049];
    int64_t created_at;
    int64_t updated_at;
} td_profile;

/* Stores p whole (every column), creating or replacing the row of p->user_id; created_at is
 * kept on replace. *created_out (may be NULL) tells which. Returns 0 or TD_EDB. */
int td_store_profile_put(td_store *st, const td_profile *p, bool *created_out);

/* Creates p; TD_ECONFLICT (and nothing changed) when p->user_id has a profile already.
 * Atomic: of two concurrent creators, one gets TD_ECONFLICT. Returns 0, TD_ECONFLICT or TD_EDB. */
int td_store_profile_insert(td_store *st, const td_profile *p);

/* Reads one profile. Returns 0, TD_ENOTFOUND or TD_EDB. */
int td_store_profile_get(td_store *st, const char *user_id, td_profile *out);

/* Deletes one profile. Returns 0, TD_ENOTFOUND or TD_EDB. */
int td_store_profile_delete(td_store *st, const char *user_id);

/* Calls cb for profiles ordered by user_id, after after_user_id ("" or NULL: from the first),
 * at most limit (1..TD_LINK_LIST_MAX); cb returns non-zero to stop. */
int td_store_profile_list(td_store *st, const char *after_user_id, int limit,
                          int (*cb)(void *ud, const td_profile *p), void *ud);

/* ---- generated_documents ---- */

/* A document the service generated, as recorded for downloads, retention and funnels. */
typedef struct td_document {
    char document_id[37];
    char filename[256]; /* unique, safe characters only */
    char kind[16];      /* "resume" or "cover_letter" */
    char format[8];     /* "docx", "html", "md", "txt" */
    char template_name[65];
    char job_id[37];
    char application_id[37];
    char user_id[37];
    int64_t size_bytes;
    int64_t created_at;
    int64_t deleted_at; /* 0 while the file exists */
    int urls_tracked;
    int tracking_failures;
} td_document;

/* Records a document. Returns 0, TD_ECONFLICT (filename taken) or TD_EDB. */
int td_store_document_insert(td_store *st, const td_document *d);

/* Reads a document by file name (deleted ones too). Returns 0, TD_ENOTFOUND or TD_EDB. */
int td_store_document_get(td_store *st, const char *filename, td_document *out);

typedef struct td_document_filter {
    const char *user_id;    /* NULL or "": any */
    const char *job_id;     /* NULL or "": any */
    int64_t created_before; /* 0: any; else created_at < this */
    bool include_deleted;
    int limit; /* 1..TD_LINK_LIST_MAX */
} td_document_filter;

/* Calls cb for matching documents, oldest first; cb returns non-zero to stop. */
int td_store_document_list(td_store *st, const td_document_filter *f,
                           int (*cb)(void *ud, const td_document *d), void *ud);

/* Marks a document's file as deleted at now. Returns 0, TD_ENOTFOUND or TD_EDB. */
int td_store_document_mark_deleted(td_store *st, const char *filename, int64_t now);

/* Counts documents (deleted ones too) matching job_id or application_id (one of them given),
 * for funnels. Returns 0 or TD_EDB. */
int td_store_document_count(td_store *st, const char *job_id, const char *application_id,
                            int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
