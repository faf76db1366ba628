/* The HTTP server: tracked-link redirects, the link API and health checks, over
 * libmicrohttpd's epoll thread pool. */
#ifndef TRACKDOC_SERVER_H
#define TRACKDOC_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "trackdoc/classify.h"
#include "trackdoc/generate.h"
#include "trackdoc/link.h"
#include "trackdoc/recorder.h"
#include "trackdoc/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_server td_server;

typedef struct td_server_config {
    const char *listen;          /* "127.0.0.1:8080", "[::1]:8080", ":8080" (every interface) or
                                    "8080" (loopback); port 0 picks a free port */
    int threads;                 /* worker threads, default: one per CPU (at least 2) */
    bool trust_proxy;            /* client IP from the last X-Forwarded-For entry */
    double rate_limit_api;       /* requests/s per IP on /api, 0 = off */
    double rate_limit_track;     /* requests/s per IP on /track, 0 = off */
    size_t max_body;             /* request body limit, default 64 KiB */
    unsigned connection_limit;   /* open connections, default 4096 */
    unsigned connection_timeout; /* idle seconds before a connection is closed, default 30 */
    bool store_full_ip;          /* keep whole client addresses; default IPv4 /24, IPv6 /48 */
    td_classify_config classify; /* thresholds of the click classifier */
    const char *utm_hosts;       /* destinations whose redirects carry utm_* (trackdoc/utm.h);
                                    NULL = TD_UTM_DEFAULT_HOSTS, "none" = no tagging */
    bool no_utm;                 /* no utm_* tagging at all */
    long session_idle_s;         /* dashboard sessions end after this long unused, default 12 h */
    const char *calendly_key;    /* signing key of POST /webhooks/calendly (never logged); NULL
                                    or "" answers 503 not_configured */
    long calendly_tolerance_ms;  /* signed time skew allowed, default 5 minutes */
    bool calendly_store_email;   /* keep invitee addresses, not only their hashes */
} td_server_config;

/* Binds the listening socket (so that the port is known, even with port 0) without serving
 * yet. On failure err (errsz bytes) says why. Returns 0, TD_EINVAL (bad listen address),
 * TD_EIO (cannot bind) or TD_ENOMEM. Free with td_server_stop. */
int td_server_new(const td_server_config *cfg, td_server **out, char *err, size_t errsz);

/* Returns the port the server listens on. */
int td_server_port(const td_server *s);

/* Starts serving with the given store, tracker and recorder, which must outlive the server.
 * Returns 0 or TD_EIO (err says why). */
int td_server_start(td_server *s, td_store *st, td_tracker *tr, td_recorder *rec, char *err,
                    size_t errsz);

/* Gives the server its document service (POST /resume, POST /cover-letter, GET /download);
 * call before td_server_start. gen must outlive the server; without one those routes answer
 * 503. */
void td_server_set_generator(td_server *s, td_generator *gen);

/* Stops accepting connections, lets requests in flight finish (at most drain_ms), closes
 * every connection and frees s. NULL is a no-op. */
void td_server_stop(td_server *s, int drain_ms);

#ifdef __cplusplus
}
#endif
#endif
