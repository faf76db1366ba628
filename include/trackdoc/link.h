/* Tracked links: creation (idempotent per job context), lookup for redirects, activation, and
 * the click records that redirects produce. */
#ifndef TRACKDOC_LINK_H
#define TRACKDOC_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_store td_store;

/* Field sizes, each including the terminating NUL. */
#define TD_LINK_ID_SIZE 64        /* "lt_<function>_<14 base62>" */
#define TD_LINK_UUID_SIZE 37      /* job_id, application_id */
#define TD_LINK_FUNCTION_SIZE 33  /* link_function: at most 32 bytes */
#define TD_LINK_TYPE_SIZE 65      /* link_type: at most 64 bytes */
#define TD_LINK_URL_SIZE 2049     /* original_url: at most 2048 bytes */
#define TD_LINK_REDIRECT_SIZE 640 /* base URL (at most 512) + "/track/" + id */
#define TD_LINK_BY_SIZE 129       /* created_by: at most 128 bytes */
#define TD_LINK_DESC_SIZE 1025    /* description: at most 1024 bytes */
#define TD_BASE_URL_MAX 512

/* Random base62 characters in a tracking id: 14 * log2(62) = 83 bits. */
#define TD_LINK_ID_RANDOM 14

/* One row of link_tracking. Strings are "" when the column is NULL; times are UTC
 * milliseconds, 0 when NULL. */
typedef struct td_link {
    char tracking_id[TD_LINK_ID_SIZE];
    char job_id[TD_LINK_UUID_SIZE];
    char application_id[TD_LINK_UUID_SIZE];
    char link_function[TD_LINK_FUNCTION_SIZE];
    char link_type[TD_LINK_TYPE_SIZE];
    char original_url[TD_LINK_URL_SIZE];
    char redirect_url[TD_LINK_REDIRECT_SIZE];
    char created_by[TD_LINK_BY_SIZE];
    char description[TD_LINK_DESC_SIZE];
    int64_t created_at;
    int64_t expires_at;
    bool is_active;
    int utm_tagging; /* TD_UTM_DEFAULT (the server's rule), TD_UTM_ON or TD_UTM_OFF */
} td_link;

/* utm_* tagging of one link's redirects (trackdoc/utm.h). */
enum { TD_UTM_DEFAULT = 0, TD_UTM_ON = 1, TD_UTM_OFF = 2 };

/* What a caller gives to create a link. NULL or "" means absent for every optional field. */
typedef struct td_link_params {
    const char *original_url;   /* required: absolute http(s) URL */
    const char *link_function;  /* required: one of the configured functions (any case) */
    const char *job_id;         /* optional UUID */
    const char *application_id; /* optional UUID */
    const char *link_type;      /* optional label of where the link is placed, e.g. "resume" */
    const char *description;    /* optional */
    const char *created_by;     /* optional */
    int64_t expires_at;         /* optional, UTC milliseconds; 0 means never */
    int utm_tagging;            /* optional: TD_UTM_DEFAULT, TD_UTM_ON or TD_UTM_OFF */
} td_link_params;

/* Settings of the link tracker. Zero/NULL fields take the documented default. */
typedef struct td_link_config {
    const char *base_url;        /* redirect base, default "http://127.0.0.1:8080" */
    const char *allowed_domains; /* destination allow-list ("calendly.com,*.linkedin.com"),
                                    NULL or "" allows any host */
    const char *functions;       /* comma-separated link functions, default
                                    "Calendly,LinkedIn,Portfolio" */
    long cache_size;             /* LRU entries, default 1000; negative disables the cache */
    long cache_ttl_ms;           /* how long a redirect trusts a cached link before reading the
                                    store again (a deactivation by another process shows up
                                    within this time), default 2000 */
} td_link_config;

/* The link tracker: validation, idempotent creation and cached lookups over a store. */
typedef struct td_tracker td_tracker;

/* Makes a tracker over st (which must outlive it). On TD_EINVAL, err (may be NULL, errsz
 * bytes) names the bad setting. Free with td_tracker_free. */
int td_tracker_new(td_store *st, const td_link_config *cfg, td_tracker **out, char *err,
                   size_t errsz);

/* Frees a tracker; NULL is a no-op. */
void td_tracker_free(td_tracker *t);

/* Returns the canonical spelling of a configured link function matching name in any case, or
 * NULL when it is not configured. */
const char *td_tracker_function(const td_tracker *t, const char *name);

/* Returns the redirect base URL (no trailing slash). */
const char *td_tracker_base_url(const td_tracker *t);

/* Returns the lower-case host of the base URL (used to recognise our own dashboard). */
const char *td_tracker_base_host(const td_tracker *t);

/* Checks p without storing anything. On failure *field_out (may be NULL) names the bad field
 * ("original_url", "link_function", "job_id", ...). Returns 0, TD_EURL*, TD_EFUNCTION,
 * TD_EUUID or TD_ETOOBIG. */
int td_link_validate(td_tracker *t, const td_link_params *p, const char **field_out);

/* Returns the link for the context (job_id, application_id, link_function, original_url),
 * creating it when there is none: the same context gives the same link on every call, in every
 * process. *created_out (may be NULL) tells whether this call made the row. Validation errors as
 * for td_link_validate; TD_EDB when the store fails. */
int td_link_create(td_tracker *t, const td_link_params *p, td_link *out, bool *created_out,
                   const char **field_out);

/* Creates n links (same rules as td_link_create) after validating all of them first: on a
 * validation error nothing is stored and *bad_index_out tells which entry failed. */
int td_link_create_many(td_tracker *t, const td_link_params *p, size_t n, td_link *out,
                        bool *created_out, size_t *bad_index_out, const char **field_out);

/* Reads a link by tracking id from the store (no cache). Returns 0, TD_ENOTFOUND or TD_EDB. */
int td_link_get(td_tracker *t, const char *tracking_id, td_link *out);

/* Looks a link up for a redirect: from the cache when fresh, else from the store; when the store
 * fails, a cached copy of any age is used. Returns 0 for an active link, TD_ENOTFOUND (unknown
 * or malformed id), TD_EGONE (deactivated), TD_EEXPIRED, or TD_EDB (store down, not cached).
 * *out is filled for 0, TD_EGONE and TD_EEXPIRED. */
int td_link_resolve(td_tracker *t, const char *tracking_id, int64_t now_ms, td_link *out);

/* Sets is_active of a link. Returns 0, TD_ENOTFOUND or TD_EDB. */
int td_link_set_active(td_tracker *t, const char *tracking_id, bool active);

/* Sets the utm tagging of a link's redirects (TD_UTM_DEFAULT, TD_UTM_ON, TD_UTM_OFF).
 * Returns 0, TD_EINVAL, TD_ENOTFOUND or TD_EDB. */
int td_link_set_utm(td_tracker *t, const char *tracking_id, int mode);

/* True when s[0..n) is a valid link function name: 1-32 letters, digits or '-'. */
bool td_link_function_name_ok(const char *s, size_t n);

/* True when s has the form of a tracking id (cheap check before any lookup). */
bool td_link_id_valid(const char *s);

/* Makes a new tracking id "lt_<function in lower case>_<14 base62>" into out. */
int td_link_id_new(const char *link_function, char out[TD_LINK_ID_SIZE]);

/* Where a click came from, judged from its referrer. */
typedef enum td_click_source {
    TD_SOURCE_DIRECT = 0, /* no referrer */
    TD_SOURCE_EMAIL,      /* a web-mail host */
    TD_SOURCE_LINKEDIN,
    TD_SOURCE_INDEED,
    TD_SOURCE_DASHBOARD, /* our own host */
    TD_SOURCE_EXTERNAL,  /* any other referrer */
} td_click_source;

/* Classifies a referrer URL (NULL or "" is direct); own_host is our base URL's host. */
td_click_source td_click_source_of(const char *referrer, const char *own_host);

/* Returns the lower-case name of a source ("email", "direct", ...). */
const char *td_click_source_name(td_click_source s);

/* Parses a source name; returns 0 or TD_EINVAL. */
int td_click_source_parse(const char *name, td_click_source *out);

/* One click, as recorded in link_clicks. Strings are borrowed from the caller; NULL is NULL. */
typedef struct td_click {
    char click_id[TD_LINK_UUID_SIZE]; /* made by td_click_init: a UUIDv7 */
    char tracking_id[TD_LINK_ID_SIZE];
    int64_t clicked_at; /* UTC milliseconds */
    const char *ip_address;
    const char *user_agent;   /* cut to 512 bytes when stored */
    const char *referrer_url; /* cut to 2048 bytes when stored */
    const char *session_id;
    const char *metadata; /* a JSON object as text, or NULL */
    td_click_source click_source;
    bool head; /* a HEAD request: recorded, but not counted as a visit */
    /* Click truth (include/trackdoc/classify.h): a td_click_class value, why, and the daily
     * salted hash of IP and user agent that counts unique visitors (NULL: not counted). */
    int click_class;
    const char *class_reason;
    const char *visitor_hash;
} td_click;

/* Limits applied to click text fields when stored. */
#define TD_CLICK_UA_MAX 512
#define TD_CLICK_REFERRER_MAX 2048
#define TD_CLICK_SESSION_MAX 128
#define TD_CLICK_METADATA_MAX 4096

/* Fills c for tracking_id with a fresh click_id and the current time. Returns 0 or TD_EIO. */
int td_click_init(td_click *c, const char *tracking_id);

#ifdef __cplusplus
}
#endif
#endif
