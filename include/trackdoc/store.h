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
 * "postgres://..." / "postgresql://..." (PostgreSQL through libpq). NULL or "" means
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

/* Sets the utm tagging of a link's redirects: TD_UTM_DEFAULT (stored NULL: the server's
 * rule), TD_UTM_ON (1) or TD_UTM_OFF (0). Returns 0, TD_EINVAL, TD_ENOTFOUND or TD_EDB. */
int td_store_link_set_utm(td_store *st, const char *tracking_id, int mode);

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
    unsigned classes;  /* TD_CLASS_BIT set of click classes counted; 0 = every class */
} td_click_filter;

/* How an aggregate groups clicks. */
typedef enum td_click_group {
    TD_GROUP_ALL = 0,  /* one row, key "" */
    TD_GROUP_SOURCE,   /* key: click_source */
    TD_GROUP_DAY,      /* key: "YYYY-MM-DD" (UTC), ascending */
    TD_GROUP_FUNCTION, /* key: link_function */
    TD_GROUP_LINK,     /* key: tracking_id */
    TD_GROUP_METHOD,   /* key: "GET" or "HEAD" */
    TD_GROUP_CLASS,    /* key: click_class ("human", "bot", "preview", "scanner") */
} td_click_group;

typedef struct td_click_row {
    const char *key;
    int64_t clicks;
    int64_t first_click; /* UTC ms */
    int64_t last_click;  /* UTC ms */
    int64_t visitors;    /* distinct visitor hashes among these clicks */
} td_click_row;

/* Counts clicks matching f grouped by g; calls cb per group (only groups with clicks).
 * cb returns non-zero to stop. Returns 0, TD_EINVAL or TD_EDB. */
int td_store_click_groups(td_store *st, const td_click_filter *f, td_click_group g,
                          int (*cb)(void *ud, const td_click_row *row), void *ud);

/* ---- click rollups: the counts analytics read (fast on any number of clicks) ----
 *
 * The three calls below answer from daily counts, so a period is whole UTC days: f->since and
 * f->until must be UTC midnights (or 0: unbounded), else TD_EINVAL. Their semantics are those
 * of the same counts over link_clicks (a backend may compute them either way); the SQLite
 * backend keeps rollup tables current with triggers on every insert, update and delete of a
 * click. Strings in the rows are valid during the callback only. */

/* The clicks of one link that share a class, a method and a source. */
typedef struct td_click_total {
    const char *tracking_id;
    const char *click_class;  /* "human", "bot", "preview" or "scanner" */
    const char *http_method;  /* "GET" or "HEAD" */
    const char *click_source; /* td_click_source_name */
    int64_t clicks;           /* > 0 */
    int64_t first_click;      /* UTC ms of the first and last of these clicks */
    int64_t last_click;
} td_click_total;

/* Calls cb, ordered by tracking_id, class, method and source, for every such group of the
 * clicks matching f: tracking_id, job_id, application_id (of the clicks' links), the period,
 * classes, and include_head (false: GET requests only). Returns 0, TD_EINVAL, TD_ENOTSUP
 * (a backend without rollups) or TD_EDB; a non-zero return of cb stops and is returned. */
int td_store_click_totals(td_store *st, const td_click_filter *f,
                          int (*cb)(void *ud, const td_click_total *row), void *ud);

/* The clicks of one UTC day that share a link function, a class and a method. */
typedef struct td_click_day {
    const char *day; /* "YYYY-MM-DD" */
    const char *link_function;
    const char *click_class;
    const char *http_method;
    int64_t clicks; /* > 0 */
} td_click_day;

/* Calls cb, ordered by day, function, class and method, for every such group of the clicks
 * matching f (as td_store_click_totals; no link, job or application: every link). Returns 0,
 * TD_EINVAL, TD_ENOTSUP or TD_EDB. */
int td_store_click_days(td_store *st, const td_click_filter *f,
                        int (*cb)(void *ud, const td_click_day *row), void *ud);

/* A job's GET clicks in a period. */
typedef struct td_click_job {
    const char *job_id;
    int64_t human_clicks; /* GET clicks of class human */
    int64_t clicks;       /* GET clicks of the classes of f->classes (0: every class) */
} td_click_job;

/* Calls cb for the limit (1..1000) jobs with the most human GET clicks in f's period (links
 * without a job are left out), ordered by human_clicks, then clicks, both descending, then
 * job_id; a job is listed only when one of its two counts is above 0. f may set only since,
 * until and classes (which only decides the clicks column). Returns 0, TD_EINVAL, TD_ENOTSUP
 * or TD_EDB. */
int td_store_click_top_jobs(td_store *st, const td_click_filter *f, int limit,
                            int (*cb)(void *ud, const td_click_job *row), void *ud);

/* Sets the class and reason of stored clicks (a burst seen after its first clicks were
 * recorded). Unknown click ids are ignored. Returns 0 or TD_EDB. */
int td_store_click_reclassify(td_store *st, const char *const *click_ids, size_t n, int click_class,
                              const char *reason);

/* Deletes the clicks before a time (UTC ms, exclusive); *deleted_out (may be NULL) gets how
 * many. A backend may delete in batches, each its own transaction (SQLite: 1000 clicks), so
 * that recording goes on meanwhile; after a failure the clicks deleted so far stay deleted.
 * Returns 0 or TD_EDB. */
int td_store_click_purge(td_store *st, int64_t before, int64_t *deleted_out);

/* The salt of a day for visitor hashes: day is "YYYY-MM-DD" (UTC); the first caller of a day
 * makes it (random, 32 bytes, written as 64 hex characters into salt_hex), every process sharing
 * the database gets the same one, and salts of days before keep_from ("YYYY-MM-DD") are deleted
 * so that old hashes can no longer be tied to an address. Returns 0 or TD_EDB. */
int td_store_visitor_salt(td_store *st, const char *day, const char *keep_from, char salt_hex[65]);

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

/* Counts documents (deleted ones too) per job_id, for the report's funnel: calls cb once per
 * job in job_id order (key "" for documents without a job, listed first); cb returns non-zero
 * to stop (that value is returned). Returns 0 or TD_EDB. */
int td_store_document_groups(td_store *st, int (*cb)(void *ud, const char *job_id, int64_t n),
                             void *ud);

/* ---- link_conversions (Calendly bookings, trackdoc/calendly.h) ---- */

/* Field sizes, each including the terminating NUL. */
#define TD_CONV_URI_SIZE 513   /* invitee_uri, scheduled_event_uri, old/new_invitee */
#define TD_CONV_TEXT_SIZE 257  /* event_name and each utm_* value */
#define TD_CONV_EMAIL_SIZE 321 /* invitee_email */
#define TD_CONV_TYPE_SIZE 33   /* event_type */

/* The two event types a row can have. */
#define TD_CONV_CREATED "invitee.created"
#define TD_CONV_CANCELED "invitee.canceled"

/* One row of link_conversions: one Calendly webhook event about one invitee (a booking, or the
 * cancellation of one). Both events of a booking are kept as two rows; (invitee_uri,
 * event_type) is unique. Strings are "" when the column is NULL; times are UTC ms, 0 when
 * NULL. */
typedef struct td_conversion {
    char conversion_id[37];             /* UUIDv7, made by the caller */
    char invitee_uri[TD_CONV_URI_SIZE]; /* Calendly's invitee URI, never "" */
    char event_type[TD_CONV_TYPE_SIZE]; /* TD_CONV_CREATED or TD_CONV_CANCELED */
    char tracking_id[TD_LINK_ID_SIZE];  /* the link the invitee came through, "" if unknown */
    char job_id[TD_LINK_UUID_SIZE];     /* attributed job, "" if none */
    char application_id[TD_LINK_UUID_SIZE];
    char link_function[TD_LINK_FUNCTION_SIZE]; /* of the link; "" without a tracking_id */
    char attribution[16]; /* "tracking_id", "campaign" or "none" (then no job, application) */
    char utm_source[TD_CONV_TEXT_SIZE], utm_medium[TD_CONV_TEXT_SIZE],
        utm_campaign[TD_CONV_TEXT_SIZE], utm_content[TD_CONV_TEXT_SIZE],
        utm_term[TD_CONV_TEXT_SIZE]; /* the tracking object as Calendly sent it */
    char scheduled_event_uri[TD_CONV_URI_SIZE];
    char event_name[TD_CONV_TEXT_SIZE];
    int64_t scheduled_start, scheduled_end;
    char invitee_email[TD_CONV_EMAIL_SIZE]; /* "" unless TRACKDOC_CALENDLY_STORE_EMAIL */
    char invitee_hash[65]; /* hex HMAC-SHA256 of the address (td_calendly_invitee_hash) */
    char status[16];       /* the invitee's status in the event: "active" or "canceled" */
    bool rescheduled;      /* Calendly's payload.rescheduled: this invitee moved to new_invitee */
    char old_invitee[TD_CONV_URI_SIZE]; /* set on the invitee.created of a rescheduled booking */
    char new_invitee[TD_CONV_URI_SIZE];
    int64_t created_at;  /* Calendly's created_at of the event */
    int64_t received_at; /* when trackdoc stored the row */
    /* Read only (computed by get and list, ignored by insert): the created_at (else
     * received_at) of the invitee.canceled row of the same invitee_uri, 0 when there is none. */
    int64_t canceled_at;
} td_conversion;

/* Stores c unless a row with the same (invitee_uri, event_type) exists: a webhook delivered
 * twice is stored once. *created_out tells whether this call inserted it; either way the stored
 * row is not changed. Safe against concurrent deliveries: the unique index decides (SQLite:
 * INSERT ... ON CONFLICT (invitee_uri, event_type) DO NOTHING; PostgreSQL the same).
 * Returns 0, TD_EINVAL (event_type or attribution not one of the values above, or an empty
 * invitee_uri or conversion_id; nothing stored) or TD_EDB. */
int td_store_conversion_insert(td_store *st, const td_conversion *c, bool *created_out);

/* Reads the row of (invitee_uri, event_type), canceled_at included. Returns 0, TD_ENOTFOUND or
 * TD_EDB. */
int td_store_conversion_get(td_store *st, const char *invitee_uri, const char *event_type,
                            td_conversion *out);

/* Which rows a listing or a count takes. NULL or "" fields do not filter; filters combine
 * with AND. */
typedef struct td_conversion_filter {
    const char *job_id;
    const char *application_id;
    const char *tracking_id;
    const char *event_type; /* listing only: TD_CONV_CREATED or TD_CONV_CANCELED */
    int limit;              /* listing only: 1..TD_LINK_LIST_MAX */
    /* Listing only, keyset cursor: rows strictly before (received_at, conversion_id) in the
     * order of the listing; 0/"" = from the newest. */
    int64_t after_received_at;
    const char *after_conversion_id;
} td_conversion_filter;

/* Calls cb for each row matching f, newest first (received_at DESC, conversion_id DESC), at
 * most f->limit rows, canceled_at filled; cb returns non-zero to stop (that value is
 * returned). Returns 0, TD_EINVAL (limit out of range) or TD_EDB. */
int td_store_conversion_list(td_store *st, const td_conversion_filter *f,
                             int (*cb)(void *ud, const td_conversion *c), void *ud);

/* How booking counts are grouped. */
typedef enum td_conversion_group {
    TD_CONV_GROUP_ALL = 0,     /* one row, key "" (given even when there is no row) */
    TD_CONV_GROUP_JOB,         /* key: job_id ("" for bookings without one) */
    TD_CONV_GROUP_APPLICATION, /* key: application_id ("" for none) */
    TD_CONV_GROUP_LINK,        /* key: tracking_id ("" for none) */
    TD_CONV_GROUP_FUNCTION,    /* key: link_function of the link ("" without one) */
} td_conversion_group;

/* Booking counts of one group. With every event delivered, bookings = active + cancellations.
 *   bookings:      invitee.created rows without old_invitee (a new meeting, not a reschedule)
 *   cancellations: invitee.canceled rows with rescheduled false (a meeting called off)
 *   reschedules:   invitee.canceled rows with rescheduled true (moved to a new invitee)
 *   active:        invitee.created rows (reschedules included) whose invitee_uri has no
 *                  invitee.canceled row anywhere in the table (whatever the filter)
 *   first_at, last_at: min and max of coalesce(created_at, received_at) over the group's rows */
typedef struct td_conversion_row {
    const char *key;
    int64_t bookings, cancellations, reschedules, active;
    int64_t first_at, last_at;
} td_conversion_row;

/* Counts the rows matching f (event_type, limit and cursor ignored) grouped by g, in key order;
 * calls cb per group (TD_CONV_GROUP_ALL: once, zeros when nothing matches). cb returns non-zero
 * to stop. Returns 0, TD_EINVAL (unknown grouping) or TD_EDB. */
int td_store_conversion_groups(td_store *st, const td_conversion_filter *f, td_conversion_group g,
                               int (*cb)(void *ud, const td_conversion_row *row), void *ud);

/* ---- store_secrets ---- */

/* A per-database secret by name (1..64 bytes): the first caller makes it (32 random bytes,
 * written as 64 lower-case hex characters), every later caller and every process sharing the
 * database gets the same one (insert-if-absent, then read). It never changes. Used to key
 * hashes that must match across events without storing what they hash ("calendly_invitee").
 * Returns 0, TD_EINVAL (bad name), TD_EIO (no random source) or TD_EDB. */
int td_store_secret(td_store *st, const char *name, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
