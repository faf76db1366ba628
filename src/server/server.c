/* The HTTP server core: listening socket, libmicrohttpd daemon, request lifecycle (routing,
 * limits, rate limits, API keys, bodies), and the suspend/resume that lets a redirect wait for
 * its click's group commit without holding a thread. */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/time.h"

#define MAX_PATH_LEN 4096
#define MAX_QUERY_LEN 8192
#define MAX_HEADERS_LEN 16384
#define MAX_PARAMS 200
#define MAX_DISCARD ((size_t)1 << 20)
/* Per-connection memory of libmicrohttpd, where the request head and the parsed query arguments
 * live. libmicrohttpd 0.9.75 clears it after every request of a kept-alive connection, so it
 * is kept small: 512 KiB cost half the CPU of a redirect (bench/redirect.sh, 31 -> 89 us per
 * request). Heads past it get libmicrohttpd's own 414/431 pages; our own limits below are
 * checked first and answer in JSON. Query arguments are counted before libmicrohttpd parses
 * them (see on_uri): it stalls the connection when they do not fit. */
#define CONNECTION_MEMORY (32 * 1024)
#define ARENA_MAX ((size_t)1 << 20)

/* ---- listening socket ---- */

/* Parses "host:port", "[v6]:port", ":port" or "port" into a socket address. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128] = "127.0.0.1";
    const char *port_s;
    char *end;
    long port;

    memset(ss, 0, sizeof *ss);
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof host)
            return TD_EINVAL;
        memcpy(host, spec + 1, (size_t)(close - spec - 1));
        host[close - spec - 1] = '\0';
        port_s = close + 2;
    } else if (strchr(spec, ':')) {
        const char *colon = strrchr(spec, ':');
        size_t n = (size_t)(colon - spec);
        if (n >= sizeof host)
            return TD_EINVAL;
        if (n == 0)
            snprintf(host, sizeof host, "0.0.0.0");
        else {
            memcpy(host, spec, n);
            host[n] = '\0';
        }
        port_s = colon + 1;
    } else {
        port_s = spec;
    }
    errno = 0;
    port = strtol(port_s, &end, 10);
    if (errno || end == port_s || *end || port < 0 || port > 65535)
        return TD_EINVAL;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof *sin;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof *sin6;
        return 0;
    }
    return TD_EINVAL;
}

/* Creates, binds and listens on the socket of spec; gives the fd and the bound port. */
static int open_listener(const char *spec, int *fd_out, int *port_out, char *err, size_t errsz)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int fd = -1, one = 1, rc = 0;

    *fd_out = -1;
    if (parse_listen(spec, &ss, &len) != 0) {
        snprintf(err, errsz, "listen address \"%s\": expected HOST:PORT, [IPv6]:PORT or PORT",
                 spec);
        return TD_EINVAL;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, errsz, "cannot listen on %s: %s", spec, strerror(errno));
        rc = TD_EIO;
        goto out;
    }
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *port_out = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
    *fd_out = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- request helpers ---- */

/* Returns a request header. */
const char *td__req_header(td_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* Returns a query parameter. */
const char *td__req_query(td_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Parses the request body as a JSON object. */
json_t *td__req_json(td_req *r, enum MHD_Result *res)
{
    json_error_t e;
    json_t *j;

    if (r->body.len == 0) {
        *res =
            td__reply_error(r, 400, "invalid_json", "", "the request body must be a JSON object");
        return NULL;
    }
    j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &e);
    if (!j && strstr(e.text, "JSON_ALLOW_NUL")) {
        *res = td__reply_error(r, 400, "invalid_json", "",
                               "invalid JSON at line %d, column %d: strings must not contain "
                               "\\u0000",
                               e.line, e.column);
        return NULL;
    }
    if (!j) {
        *res = td__reply_error(r, 400, "invalid_json", "", "invalid JSON at line %d, column %d: %s",
                               e.line, e.column, e.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        *res =
            td__reply_error(r, 400, "invalid_json", "", "the request body must be a JSON object");
        return NULL;
    }
    return j;
}

/* Notification from the recorder thread: keep the result and wake the connection. */
static void click_done(void *ud, int rc)
{
    td_req *r = ud;

    atomic_store(&r->click_rc, rc);
    MHD_resume_connection(r->conn);
}

/* Suspends the connection until the click is durable. The suspension comes first, so that a
 * commit finishing at once cannot resume a connection that is not suspended yet. */
enum MHD_Result td__req_record_click(td_req *r, const td_click *c, td_handler resume)
{
    td_server *s = r->srv;
    int rc;

    /* Counted before draining is read: td_server_stop sets draining, then waits for this count
     * to reach 0, so either it sees this request, or this request sees draining. */
    atomic_fetch_add(&s->suspended, 1);
    if (atomic_load(&s->draining)) {
        /* While stopping, nothing may be suspended (libmicrohttpd cannot stop with suspended
         * connections): wait for the commit here instead; stopping takes a moment anyway. */
        atomic_fetch_sub(&s->suspended, 1);
        atomic_store(&r->click_rc, td_recorder_record(s->rec, c));
        r->state = REQ_DONE;
        return resume(r);
    }
    r->resume = resume;
    r->state = REQ_WAITING;
    MHD_suspend_connection(r->conn);
    rc = td_recorder_submit(s->rec, c, click_done, r);
    if (rc != 0) {
        atomic_store(&r->click_rc, rc);
        MHD_resume_connection(r->conn);
    }
    return MHD_YES;
}

/* ---- routing ---- */

/* Maps a method name to its bit. */
static int method_bit(const char *m)
{
    static const struct {
        const char *name;
        int bit;
    } map[] = {{"GET", M_GET}, {"HEAD", M_HEAD},   {"POST", M_POST},
               {"PUT", M_PUT}, {"PATCH", M_PATCH}, {"DELETE", M_DELETE}};

    for (size_t i = 0; i < TD_ARRAY_SIZE(map); i++)
        if (strcmp(m, map[i].name) == 0)
            return map[i].bit;
    return M_OTHER;
}

/* Returns the name of a method bit. */
static const char *method_name(int bit)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};

    for (size_t i = 0; i < TD_ARRAY_SIZE(names); i++)
        if (bit == 1 << i)
            return names[i];
    return "this method";
}

/* Matches path against a pattern; fills params (arena copies) on success. */
static bool route_match(td_req *r, const char *pattern, const char *path, const char **params)
{
    const char *p = pattern, *s = path;
    int np = 0;

    while (*p && *s) {
        if (*p == '{') {
            const char *pend = strchr(p, '}');
            size_t n = strcspn(s, "/");
            if (!pend || n == 0 || np == TD_MAX_PARAMS)
                return false;
            if (params && !(params[np] = td_arena_strndup(&r->arena, s, n)))
                return false;
            np++;
            p = pend + 1;
            s += n;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            return false;
        }
    }
    return *p == '\0' && *s == '\0';
}

/* Finds the route of the request; *allowed gets the methods of every route of the path. */
static const struct td_route *route_find(td_req *r, int *allowed)
{
    const struct td_route *found = NULL;

    *allowed = 0;
    for (size_t i = 0; i < td__nroutes; i++) {
        const struct td_route *rt = &td__routes[i];
        if (!route_match(r, rt->pattern, r->path, NULL))
            continue;
        *allowed |= rt->methods;
        if (!found && (rt->methods & r->method)) {
            found = rt;
            route_match(r, rt->pattern, r->path, r->params);
        }
    }
    return found;
}

/* Writes the Allow header value of a method set. */
static void allow_header(int methods, char *out, size_t n)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < TD_ARRAY_SIZE(names); i++) {
        if (methods & (1 << i))
            o += (size_t)snprintf(out + o, n - o, "%s%s", o ? ", " : "", names[i]);
        if (o >= n)
            break;
    }
}

/* ---- client address ---- */

/* True when s is a textual IPv4 or IPv6 address. */
static bool ip_valid(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Sets r->ip from the socket, or from the last X-Forwarded-For entry behind a trusted proxy:
 * the last entry is the one our proxy appended; earlier ones are whatever the client sent. */
static void client_ip(td_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const char *xff;

    r->ip[0] = '\0';
    if (r->srv->cfg.trust_proxy && (xff = td__req_header(r, "X-Forwarded-For")) != NULL) {
        const char *last = strrchr(xff, ',');
        char tmp[64];
        size_t n;
        last = last ? last + 1 : xff;
        last += strspn(last, " \t");
        n = strcspn(last, " \t");
        if (n > 0 && n < sizeof tmp) {
            memcpy(tmp, last, n);
            tmp[n] = '\0';
            if (ip_valid(tmp)) {
                memcpy(r->ip, tmp, n + 1);
                return;
            }
        }
    }
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->ip, sizeof r->ip);
        else if (sa->sa_family == AF_INET6) {
            const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
            if (IN6_IS_ADDR_V4MAPPED(a6))
                inet_ntop(AF_INET, &a6->s6_addr[12], r->ip, sizeof r->ip);
            else
                inet_ntop(AF_INET6, a6, r->ip, sizeof r->ip);
        }
    }
}

/* ---- request lifecycle ---- */

/* Adds the size of one header or argument to the running total. */
static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    size_t *total = cls;

    *total += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* Checks the API key of the request. */
static enum MHD_Result check_auth(td_req *r, bool *ok)
{
    const char *h = td__req_header(r, "Authorization");
    int rc;

    *ok = false;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return td__reply_error_h(r, 401, "unauthorized", "WWW-Authenticate",
                                 "Bearer realm=\"trackdoc\"",
                                 "send an API key: Authorization: Bearer <key> (make one with "
                                 "'trackdoc apikey create --name NAME')");
    h += 7;
    h += strspn(h, " ");
    rc = td_apikey_check(r->srv->st, h, &r->key);
    if (rc == TD_EAUTH)
        return td__reply_error_h(r, 401, "unauthorized", "WWW-Authenticate",
                                 "Bearer realm=\"trackdoc\", error=\"invalid_token\"",
                                 "the API key is unknown or revoked");
    if (rc)
        return td__reply_rc(r, rc, NULL, "could not check the API key");
    r->authed = true;
    *ok = true;
    return MHD_YES;
}

/* Answers 429 with Retry-After: a short page for a browser on /track, JSON otherwise. */
static enum MHD_Result reply_limited(td_req *r, int wait)
{
    char retry[16];
    const char *const headers[] = {"Retry-After", retry, NULL};

    snprintf(retry, sizeof retry, "%d", wait);
    if ((r->route->flags & R_RL_TRACK) && td__req_wants_html(r))
        return td__reply_page(r, 429, "Too many requests",
                              "Too many links were opened from this address. Please wait a few "
                              "seconds and try again.",
                              headers);
    return td__reply_error_h(r, 429, "rate_limited", "Retry-After", retry,
                             "too many requests from this address; retry in %d s", wait);
}

/* The first call for a request: everything that can be decided from the headers. Returns
 * MHD_YES with r->state REQ_BODY to go on, or a queued response. */
static enum MHD_Result request_start(td_req *r)
{
    td_server *s = r->srv;
    const char *cl;
    size_t headers = 0, query = 0;
    int allowed = 0, wait, nparams;
    char allow[64];
    bool ok;

    client_ip(r);
    if (atomic_load(&s->draining)) {
        /* A request that arrives on a kept-alive connection while we stop is refused before it
         * does anything, so that no click is recorded whose 302 could be cut off. */
        return td__reply_error_h(r, 503, "shutting_down", "Retry-After", "1",
                                 "the server is shutting down; retry");
    }
    if (r->path_nul)
        return td__reply_error(r, 400, "invalid_path", NULL,
                               "the request path contains an encoded NUL byte (%%00)");
    if (strlen(r->path) > MAX_PATH_LEN)
        return td__reply_error(r, 414, "uri_too_long", NULL, "the request path is over %d bytes",
                               MAX_PATH_LEN);
    nparams = MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, sum_header, &query);
    if (r->query_over || query > MAX_QUERY_LEN || nparams > MAX_PARAMS)
        return td__reply_error(r, 414, "uri_too_long", NULL,
                               "the query string is over %d bytes or %d parameters", MAX_QUERY_LEN,
                               MAX_PARAMS);
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, sum_header, &headers);
    if (headers > MAX_HEADERS_LEN)
        return td__reply_error(r, 431, "headers_too_large", NULL,
                               "the request headers are over %d bytes", MAX_HEADERS_LEN);
    r->route = route_find(r, &allowed);
    if (!r->route && allowed) {
        allow_header(allowed, allow, sizeof allow);
        return td__reply_error_h(r, 405, "method_not_allowed", "Allow", allow,
                                 "%s is not allowed here; use %s", method_name(r->method), allow);
    }
    if (!r->route)
        return td__reply_error(r, 404, "not_found", NULL, "no such path: %.200s", r->path);
    if ((r->route->flags & R_RL_TRACK) && s->rl_track &&
        (wait = td__ratelimit_take(s->rl_track, r->ip, td_time_mono_ms())) > 0)
        goto limited;
    if ((r->route->flags & R_RL_API) && s->rl_api &&
        (wait = td__ratelimit_take(s->rl_api, r->ip, td_time_mono_ms())) > 0)
        goto limited;
    if (r->route->flags & R_AUTH) {
        enum MHD_Result res = check_auth(r, &ok);
        if (!ok)
            return res;
    }
    if (r->route->flags & R_SESSION) {
        enum MHD_Result res = td__session_auth(r, &ok);
        if (!ok)
            return res;
    }
    /* The body buffer was made before the route was known: give it the route's limit. */
    if (r->route->flags & R_BIG_BODY)
        r->body.max = TD_MAX(s->cfg.max_body, TD_BIG_BODY);
    cl = td__req_header(r, "Content-Length");
    if (cl) {
        char *end;
        unsigned long long n;
        errno = 0;
        n = strtoull(cl, &end, 10);
        if (errno || end == cl || *end || n > r->body.max)
            return td__reply_error(r, 413, "body_too_large", NULL,
                                   "the request body is over %zu bytes", r->body.max);
    }
    r->state = REQ_BODY;
    return MHD_YES;
limited:
    return reply_limited(r, wait);
}

/* Called by libmicrohttpd with the raw request target, before it parses the query: makes the
 * request context (it becomes *con_cls) and counts the query's arguments. libmicrohttpd keeps
 * every argument in the connection's small memory and, when they do not fit, stalls the
 * connection without an answer; so a query over our limits is cut off here, in libmicrohttpd's
 * own buffer (the one place it is still ours to change), and answered 414 in on_request. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    td_server *s = cls;
    td_req *r = calloc(1, sizeof *r);
    char *q = strchr(uri, '?');

    if (!r)
        return NULL;
    r->srv = s;
    r->conn = conn;
    r->state = REQ_NEW;
    td_arena_init(&r->arena, ARENA_MAX);
    td_buf_init(&r->body, s->cfg.max_body);
    atomic_fetch_add(&s->inflight, 1);
    /* The decoded path is a C string: "/download/a.md%00.txt" would arrive as "/download/a.md". */
    for (const char *p = uri; *p && p != q; p++)
        if (p[0] == '%' && p[1] == '0' && p[2] == '0')
            r->path_nul = true;
    if (q) {
        size_t params = 1, len = strcspn(q + 1, " ");
        for (const char *p = q + 1; p < q + 1 + len; p++)
            params += *p == '&' || *p == ';';
        if (len > MAX_QUERY_LEN || params > MAX_PARAMS) {
            r->query_over = true;
            q[1] = '\0'; /* the arguments parsed are then none */
        }
    }
    return r;
}

/* The access handler: called for the headers, for each piece of body, at the end of the body,
 * and once more after a suspended request is resumed. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    td_server *s = cls;
    td_req *r = *con_cls;

    if (!r)
        return MHD_NO; /* on_uri could not allocate */
    switch (r->state) {
    case REQ_NEW:
        r->path = url;
        r->method = method_bit(method);
        return request_start(r);
    case REQ_BODY:
        if (*upload_data_size) {
            if (r->discarded || td_buf_add(&r->body, upload_data, *upload_data_size) != 0) {
                /* Over the limit without a Content-Length: drop the rest, answer 413 at the end;
                 * a body that will not end is cut off. */
                r->discarded += *upload_data_size;
                if (r->discarded > MAX_DISCARD)
                    return MHD_NO;
            }
            *upload_data_size = 0;
            return MHD_YES;
        }
        r->state = REQ_DONE;
        if (r->discarded)
            return td__reply_error(r, 413, "body_too_large", NULL,
                                   "the request body is over %zu bytes", r->body.max);
        return r->route->handler(r);
    case REQ_WAITING:
        /* Resumed: the connection has left libmicrohttpd's suspended list. */
        atomic_fetch_sub(&s->suspended, 1);
        r->state = REQ_DONE;
        return r->resume(r);
    default:
        /* A response is already queued. */
        return MHD_YES;
    }
}

/* Frees the request once its response is sent (or the connection dropped). */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    td_server *s = cls;
    td_req *r = *con_cls;

    if (!r)
        return;
    /* A client that closed its connection while its click was being committed never gets its
     * request resumed into on_request: it ends here. */
    if (r->state == REQ_WAITING)
        atomic_fetch_sub(&s->suspended, 1);
    td_arena_release(&r->arena);
    td_buf_release(&r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
}

/* Passes libmicrohttpd's own messages to our log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    td_log_debug("http: %s", msg);
}

/* Frees what td_server_new made. */
static void server_free(td_server *s)
{
    if (!s)
        return;
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    td__ratelimit_free(s->rl_api);
    td__ratelimit_free(s->rl_track);
    td__ratelimit_free(s->rl_login);
    td__sessions_free(s->sessions);
    td__truth_free(s);
    td_utm_free(s->utm);
    free(s);
}

/* Binds the listener and prepares the server. */
int td_server_new(const td_server_config *cfg, td_server **out, char *err, size_t errsz)
{
    td_server *s = calloc(1, sizeof *s);
    int rc = 0;
    long ncpu;

    *out = NULL;
    if (err && errsz)
        err[0] = '\0';
    if (!s) {
        rc = TD_ENOMEM;
        goto out;
    }
    s->listen_fd = -1;
    s->cfg = *cfg;
    if (!s->cfg.listen || !*s->cfg.listen)
        s->cfg.listen = "127.0.0.1:8080";
    if (s->cfg.threads <= 0) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        s->cfg.threads = (int)TD_MAX(2, TD_MIN(ncpu, 64));
    }
    if (!s->cfg.max_body)
        s->cfg.max_body = 64 * 1024;
    if (!s->cfg.connection_limit)
        s->cfg.connection_limit = 4096;
    if (!s->cfg.connection_timeout)
        s->cfg.connection_timeout = 30;
    /* Bursts of twice the rate, and never below 10: a recruiter opening three links at once
     * from a shared office address must not be refused. */
    if (s->cfg.rate_limit_api > 0 &&
        (rc = td__ratelimit_new(s->cfg.rate_limit_api, TD_MAX(10.0, 2 * s->cfg.rate_limit_api),
                                65536, &s->rl_api)) != 0)
        goto out;
    if (s->cfg.rate_limit_track > 0 &&
        (rc = td__ratelimit_new(s->cfg.rate_limit_track, TD_MAX(10.0, 2 * s->cfg.rate_limit_track),
                                65536, &s->rl_track)) != 0)
        goto out;
    if ((rc = td__truth_init(s, err, errsz)) != 0)
        goto out;
    if ((rc = td_utm_new(s->cfg.utm_hosts, !s->cfg.no_utm, &s->utm)) != 0) {
        snprintf(err, errsz, "utm hosts \"%s\": not a domain pattern list", s->cfg.utm_hosts);
        goto out;
    }
    /* Dashboard sign-ins: 10 attempts at once, then one every 6 s per address. */
    if (s->cfg.rate_limit_api > 0 && (rc = td__ratelimit_new(1.0 / 6, 10, 4096, &s->rl_login)) != 0)
        goto out;
    if (s->cfg.session_idle_s <= 0)
        s->cfg.session_idle_s = 12 * 3600;
    if ((rc = td__sessions_new(4096, (int64_t)s->cfg.session_idle_s * 1000,
                               TD_MAX((int64_t)s->cfg.session_idle_s, 7 * 86400) * 1000,
                               &s->sessions)) != 0)
        goto out;
    if ((rc = open_listener(s->cfg.listen, &s->listen_fd, &s->port, err, errsz)) != 0)
        goto out;
    *out = s;
    s = NULL;
out:
    server_free(s);
    if (rc && err && errsz && !*err)
        snprintf(err, errsz, "%s", td_strerror(rc));
    return rc;
}

/* Starts the daemon on the bound socket. */
int td_server_start(td_server *s, td_store *st, td_tracker *tr, td_recorder *rec, char *err,
                    size_t errsz)
{
    s->st = st;
    s->tr = tr;
    s->rec = rec;
    s->started_ms = td_time_mono_ms();
    s->daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg.threads, MHD_OPTION_CONNECTION_LIMIT,
        s->cfg.connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errsz, "cannot start the HTTP server on %s", s->cfg.listen);
        return TD_EIO;
    }
    s->listen_fd = -1; /* the daemon owns it now */
    return 0;
}

/* Sets the document service of POST /resume, POST /cover-letter and GET /download. */
void td_server_set_generator(td_server *s, td_generator *gen)
{
    s->gen = gen;
}

/* Returns the bound port. */
int td_server_port(const td_server *s)
{
    return s->port;
}

/* Drains and stops the server. */
void td_server_stop(td_server *s, int drain_ms)
{
    MHD_socket fd;
    int64_t deadline;

    if (!s)
        return;
    if (!s->daemon) {
        server_free(s);
        return;
    }
    atomic_store(&s->draining, true);
    /* Stop accepting; requests already read keep going (a click waiting for its commit gets
     * its 302), then idle keep-alive connections are closed by MHD_stop_daemon. The listening
     * socket is closed only after the daemon stopped: its threads still hold it in epoll. */
    fd = MHD_quiesce_daemon(s->daemon);
    deadline = td_time_mono_ms() + drain_ms;
    while (atomic_load(&s->inflight) > 0 && td_time_mono_ms() < deadline)
        usleep(5000);
    /* Suspended requests always end: the recorder answers each one, committed or failed. The
     * deadline is a last resort against a bug in that accounting: stopping with a suspended
     * connection aborts libmicrohttpd, waiting forever would hang the deploy. */
    deadline = td_time_mono_ms() + drain_ms + 60000;
    while (atomic_load(&s->suspended) > 0 && td_time_mono_ms() < deadline)
        usleep(5000);
    if (atomic_load(&s->suspended) > 0)
        td_log_error("stopping with %d requests still waiting for their click",
                     atomic_load(&s->suspended));
    if (atomic_load(&s->inflight) > 0)
        td_log_warn("stopping with %d requests still in flight", atomic_load(&s->inflight));
    MHD_stop_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    server_free(s);
}
