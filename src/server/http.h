/* Internals of the HTTP server shared by its files: the request context, the route table and
 * the response helpers. Handlers never touch libmicrohttpd responses directly. */
#ifndef TD_SERVER_HTTP_H
#define TD_SERVER_HTTP_H

#include "core/common.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/arena.h"
#include "trackdoc/apikey.h"
#include "core/time.h"
#include "trackdoc/buf.h"
#include "trackdoc/classify.h"
#include "trackdoc/generate.h"
#include "trackdoc/link.h"
#include "trackdoc/recorder.h"
#include "trackdoc/server.h"
#include "trackdoc/store.h"
#include "trackdoc/utm.h"

typedef struct td_ratelimit td_ratelimit;
typedef struct td_sessions td_sessions;

struct td_server {
    struct MHD_Daemon *daemon;
    td_store *st;
    td_tracker *tr;
    td_recorder *rec;
    td_generator *gen; /* the document service, may be NULL */
    td_server_config cfg;
    td_ratelimit *rl_api, *rl_track;
    /* Dashboard sign-ins (session.c); sign-in attempts per IP, NULL when limits are off. */
    td_sessions *sessions;
    td_ratelimit *rl_login;
    int listen_fd; /* ours until the daemon takes it */
    int port;
    int64_t started_ms;
    atomic_int inflight;  /* requests between their first byte and their completion */
    atomic_int suspended; /* requests waiting for their click's commit */
    atomic_bool draining;
    /* Click truth (clicktruth.c). */
    td_classifier *classifier;
    td_burst *burst;
    bool truth_ready; /* td__truth_init ran */
    td_utm *utm;      /* utm_* tagging of redirects */
    pthread_mutex_t salt_lock;
    char salt_day[TD_TIME_ISO_SIZE]; /* "YYYY-MM-DD" of salt */
    char salt[65];                   /* today's visitor-hash salt, "" when unknown */
};

enum {
    M_GET = 1 << 0,
    M_HEAD = 1 << 1,
    M_POST = 1 << 2,
    M_PUT = 1 << 3,
    M_PATCH = 1 << 4,
    M_DELETE = 1 << 5,
    M_OTHER = 1 << 6,
};

/* Route flags. */
enum {
    R_AUTH = 1 << 0,     /* needs an API key */
    R_RL_API = 1 << 1,   /* API rate limit */
    R_RL_TRACK = 1 << 2, /* redirect rate limit */
    R_BODY = 1 << 3,     /* reads a JSON body */
    R_BIG_BODY = 1 << 4, /* body up to TD_BIG_BODY instead of the server's max_body */
    R_SESSION = 1 << 5,  /* a dashboard page: the session cookie sets authed (session.c) */
};

/* The body limit of R_BIG_BODY routes (POST /resume, POST /cover-letter): a long résumé with
 * every section, where 64 KiB is too little. */
#define TD_BIG_BODY ((size_t)1 << 20)

#define TD_MAX_PARAMS 3

typedef struct td_req td_req;
typedef enum MHD_Result (*td_handler)(td_req *r);

struct td_route {
    const char *pattern; /* "/api/link-tracking/links/{id}" */
    int methods;
    int flags;
    td_handler handler;
};

enum req_state { REQ_NEW, REQ_BODY, REQ_WAITING, REQ_RESUMED, REQ_DONE };

struct td_req {
    td_server *srv;
    struct MHD_Connection *conn;
    td_arena arena;
    const struct td_route *route;
    const char *path;
    int method;
    const char *params[TD_MAX_PARAMS];
    td_buf body;
    size_t discarded; /* bytes of an over-long body thrown away */
    bool query_over;  /* the query was over our limits and was cut off (on_uri) */
    bool path_nul;    /* the raw path holds %00, which decoding would cut it at (on_uri) */
    enum req_state state;
    char ip[64];
    td_apikey_row key;
    bool authed;
    /* A handler that waits for a click commit sets resume and the data it needs. */
    td_handler resume;
    atomic_int click_rc;
    td_link *link;
    void *extra;
    /* Earlier clicks of a burst this click revealed (clicktruth.c). */
    char burst_ids[TD_BURST_MAX_EARLIER][TD_LINK_UUID_SIZE];
    size_t n_burst;
};

/* The route table, in match order (src/server/routes.c). */
extern const struct td_route td__routes[];
extern const size_t td__nroutes;

/* ---- click truth (src/server/clicktruth.c) ---- */

/* Makes the classifier and the burst detector from s->cfg. Returns 0, TD_EINVAL or TD_ENOMEM
 * (err says why). */
int td__truth_init(td_server *s, char *err, size_t errsz);

/* Frees what td__truth_init made. */
void td__truth_free(td_server *s);

/* Classifies c (r->link is its link), hashes its visitor, truncates ip into c->ip_address. */
void td__truth_fill(td_req *r, td_click *c, const char *ip, bool know_al, bool has_al,
                    bool with_burst);

/* Queues the reclassification of the earlier clicks of a burst found by td__truth_fill. */
void td__truth_after(td_req *r);

/* ---- responses (src/server/respond.c) ---- */

/* Sends status with a JSON body; takes ownership of body. */
enum MHD_Result td__reply_json(td_req *r, unsigned status, json_t *body);

/* Sends {"error":{"code","message"[,"field"]}} with status; field is a JSON pointer or NULL. */
enum MHD_Result td__reply_error(td_req *r, unsigned status, const char *code, const char *field,
                                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Like td__reply_error, with one extra response header (e.g. Retry-After, Allow). */
enum MHD_Result td__reply_error_h(td_req *r, unsigned status, const char *code, const char *hname,
                                  const char *hvalue, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Sends the error for a library code rc (status chosen from rc); field as above. */
enum MHD_Result td__reply_rc(td_req *r, int rc, const char *field, const char *detail);

/* Sends a body of the given type; headers (may be NULL) lists extra name, value pairs and ends
 * with NULL. */
enum MHD_Result td__reply_raw(td_req *r, unsigned status, const char *type, const void *data,
                              size_t len, const char *const *headers);

/* Sends a small HTML page with a title and one paragraph (text is escaped). */
enum MHD_Result td__reply_page(td_req *r, unsigned status, const char *title, const char *text,
                               const char *const *headers);

/* True when the client asks for HTML (a browser), judged from Accept. */
bool td__req_wants_html(td_req *r);

/* Appends s to b with & < > " ' escaped. Returns 0, TD_ETOOBIG or TD_ENOMEM. */
int td__html_escape(td_buf *b, const char *s);

/* ---- request helpers (src/server/server.c) ---- */

/* Returns a request header or NULL. */
const char *td__req_header(td_req *r, const char *name);

/* Returns a query parameter or NULL. */
const char *td__req_query(td_req *r, const char *name);

/* Parses the body as a JSON object; on failure replies 400 and returns NULL. */
json_t *td__req_json(td_req *r, enum MHD_Result *res);

/* Suspends r until the click is committed, then calls r->resume with r->click_rc set. */
enum MHD_Result td__req_record_click(td_req *r, const td_click *c, td_handler resume);

/* ---- JSON field helpers (src/server/respond.c) ---- */

/* Reads an optional string member (NULL when absent or null). Replies 400 naming the field and
 * returns false when it has another type or is longer than max bytes. */
bool td__json_str(td_req *r, json_t *obj, const char *name, size_t max, const char **out,
                  enum MHD_Result *res);

/* Like td__json_str for an object found at the JSON pointer prefix ("/links/2"). */
bool td__json_str_at(td_req *r, json_t *obj, const char *prefix, const char *name, size_t max,
                     const char **out, enum MHD_Result *res);

/* ---- rate limiting (src/server/ratelimit.c) ---- */

/* Makes a per-key token bucket limiter: rate tokens/s, burst capacity, slots keys tracked. */
int td__ratelimit_new(double rate, double burst, size_t slots, td_ratelimit **out);

/* Frees a limiter; NULL is a no-op. */
void td__ratelimit_free(td_ratelimit *rl);

/* Takes a token for key: returns 0 when allowed, else the whole seconds to wait (>= 1). */
int td__ratelimit_take(td_ratelimit *rl, const char *key, int64_t now_ms);

/* Click-count callback for td_store_click_groups: stores row->clicks into *(int64_t *)ud. */
int td__count_clicks(void *ud, const td_click_row *row);

/* ---- handlers ---- */
enum MHD_Result td__handle_track(td_req *r);
enum MHD_Result td__handle_health(td_req *r);
enum MHD_Result td__handle_link_create(td_req *r);
enum MHD_Result td__handle_record_click(td_req *r);
enum MHD_Result td__handle_link_list(td_req *r);
enum MHD_Result td__handle_link_get(td_req *r);
enum MHD_Result td__handle_link_deactivate(td_req *r);
enum MHD_Result td__handle_link_activate(td_req *r);
enum MHD_Result td__handle_link_patch(td_req *r);
enum MHD_Result td__handle_analytics(td_req *r);
enum MHD_Result td__handle_job_summary(td_req *r);
enum MHD_Result td__handle_application_summary(td_req *r);
enum MHD_Result td__handle_report(td_req *r);
enum MHD_Result td__handle_candidate_create(td_req *r);
enum MHD_Result td__handle_candidate_list(td_req *r);
enum MHD_Result td__handle_candidate_get(td_req *r);
enum MHD_Result td__handle_candidate_put(td_req *r);
enum MHD_Result td__handle_candidate_patch(td_req *r);
enum MHD_Result td__handle_candidate_delete(td_req *r);
enum MHD_Result td__handle_resume(td_req *r);
enum MHD_Result td__handle_cover_letter(td_req *r);
enum MHD_Result td__handle_download(td_req *r);
enum MHD_Result td__handle_calendly_webhook(td_req *r);
enum MHD_Result td__handle_conversion_list(td_req *r);

/* ---- dashboard sessions (src/server/session.c) ---- */

/* The session cookie's value: 43 base62 characters (256 bits) and a NUL. */
#define TD_SESSION_TOKEN_SIZE 44
#define TD_SESSION_COOKIE "td_session"

/* Who a session belongs to: the API key that signed in (its hash, to see a revocation). */
typedef struct td_session_info {
    char key_id[37];
    char key_name[129];
    char key_hash[65];
} td_session_info;

/* Makes a table of at most max sessions that end after idle_ms without use or max_age_ms
 * after sign-in. Returns 0, TD_EINVAL or TD_ENOMEM; free with td__sessions_free. */
int td__sessions_new(size_t max, int64_t idle_ms, int64_t max_age_ms, td_sessions **out);

/* Frees a table; NULL is a no-op. */
void td__sessions_free(td_sessions *ss);

/* Starts a session for who and writes its token (only its SHA-256 is kept). A full table drops
 * the session idle longest. Returns 0 or TD_EIO. */
int td__sessions_create(td_sessions *ss, const td_session_info *who, int64_t now_ms,
                        char token[TD_SESSION_TOKEN_SIZE]);

/* Checks a token and marks the session used at now_ms. Returns 0 (and *out), TD_ENOTFOUND or
 * TD_EEXPIRED (the session is then forgotten). */
int td__sessions_check(td_sessions *ss, const char *token, int64_t now_ms, td_session_info *out);

/* Ends the session of a token; an unknown token is a no-op. */
void td__sessions_drop(td_sessions *ss, const char *token);

/* Counts the live sessions at now_ms. */
size_t td__sessions_count(td_sessions *ss, int64_t now_ms);

/* Sets r->authed and r->key from the session cookie when it names a live session whose API key
 * is still active. *go_on is false when a response was queued instead (503: the database). */
enum MHD_Result td__session_auth(td_req *r, bool *go_on);

/* ---- dashboard charts (src/server/svg.c) ---- */

typedef struct td_svg_day {
    char date[11]; /* "YYYY-MM-DD" */
    int64_t human, filtered;
} td_svg_day;

/* Appends a bar chart of n days (human clicks, filtered ones stacked above) as inline SVG of
 * viewBox width x height; id makes its element ids unique, cls is added to its class. Returns 0,
 * TD_ETOOBIG or TD_ENOMEM. */
int td__svg_daily(td_buf *b, const td_svg_day *days, size_t n, int width, int height,
                  const char *id, const char *cls);

/* Appends a small horizontal bar showing value out of max. */
int td__svg_meter(td_buf *b, int64_t value, int64_t max);

/* ---- dashboard assets (generated from web/ by web/embed.sh) ---- */

struct td_asset {
    const char *name; /* "dashboard.css" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};
extern const struct td_asset td__assets[];
extern const size_t td__nassets;

/* ---- dashboard handlers (src/server/handler_dashboard.c) ---- */
enum MHD_Result td__handle_dash_overview(td_req *r);
enum MHD_Result td__handle_dash_login_page(td_req *r);
enum MHD_Result td__handle_dash_login(td_req *r);
enum MHD_Result td__handle_dash_logout(td_req *r);
enum MHD_Result td__handle_dash_job(td_req *r);
enum MHD_Result td__handle_dash_link(td_req *r);
enum MHD_Result td__handle_dash_asset(td_req *r);

#endif
