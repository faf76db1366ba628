/* Internals of the HTTP server shared by its files: the request context, the route table and
 * the response helpers. Handlers never touch libmicrohttpd responses directly. */
#ifndef TD_SERVER_HTTP_H
#define TD_SERVER_HTTP_H

#include "core/common.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>

#include "core/arena.h"
#include "trackdoc/apikey.h"
#include "trackdoc/buf.h"
#include "trackdoc/generate.h"
#include "trackdoc/link.h"
#include "trackdoc/recorder.h"
#include "trackdoc/server.h"
#include "trackdoc/store.h"

typedef struct td_ratelimit td_ratelimit;

struct td_server {
    struct MHD_Daemon *daemon;
    td_store *st;
    td_tracker *tr;
    td_recorder *rec;
    td_generator *gen; /* the document service, may be NULL */
    td_server_config cfg;
    td_ratelimit *rl_api, *rl_track;
    int listen_fd; /* ours until the daemon takes it */
    int port;
    int64_t started_ms;
    atomic_int inflight;  /* requests between their first byte and their completion */
    atomic_int suspended; /* requests waiting for their click's commit */
    atomic_bool draining;
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
};

/* The route table, in match order (src/server/routes.c). */
extern const struct td_route td__routes[];
extern const size_t td__nroutes;

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
enum MHD_Result td__handle_analytics(td_req *r);
enum MHD_Result td__handle_job_summary(td_req *r);
enum MHD_Result td__handle_candidate_create(td_req *r);
enum MHD_Result td__handle_candidate_list(td_req *r);
enum MHD_Result td__handle_candidate_get(td_req *r);
enum MHD_Result td__handle_candidate_put(td_req *r);
enum MHD_Result td__handle_candidate_patch(td_req *r);
enum MHD_Result td__handle_candidate_delete(td_req *r);
enum MHD_Result td__handle_resume(td_req *r);
enum MHD_Result td__handle_cover_letter(td_req *r);
enum MHD_Result td__handle_download(td_req *r);

#endif
