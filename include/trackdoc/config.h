/* Settings shared by the CLI and the server: defaults, then TRACKDOC_* environment variables,
 * then command-line flags (applied by the CLI). docs/configuration.md lists every one. */
#ifndef TRACKDOC_CONFIG_H
#define TRACKDOC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_config {
    char db[1024];              /* TRACKDOC_DB: path, sqlite:PATH or postgres://... */
    char base_url[513];         /* TRACKDOC_BASE_URL: redirect base */
    char listen[128];           /* TRACKDOC_LISTEN: host:port for serve */
    char allowed_domains[2048]; /* TRACKDOC_ALLOWED_DOMAINS: destination allow-list */
    char link_functions[1024];  /* TRACKDOC_LINK_FUNCTIONS: comma-separated */
    char sqlite_sync[16];       /* TRACKDOC_SQLITE_SYNC: full or normal */
    char track_vars[2048];      /* TRACKDOC_TRACK_VARS: more tracked URL variables,
                                   "website_url=Website,github_url=GitHub" */
    char track_rules[2048];     /* TRACKDOC_TRACK_RULES: hyperlinks tracked in documents,
                                   "calendly.com/<star>=Calendly,..."; "none"; "" = default */
    bool enable_url_tracking;   /* ENABLE_URL_TRACKING: tracked links in rendered documents */
    char warnings[512];         /* set by td_config_from_env: lines for the caller to show */
    long link_cache_size;       /* TRACKDOC_LINK_CACHE_SIZE: entries */
    long link_cache_ttl_ms;     /* TRACKDOC_LINK_CACHE_TTL: duration such as 10s */
    long threads;               /* TRACKDOC_THREADS: HTTP worker threads */
    long db_pool;               /* TRACKDOC_DB_POOL: database connections */
    double rate_limit_api;      /* TRACKDOC_RATE_LIMIT_API: requests/s per IP, 0 = off */
    double rate_limit_track;    /* TRACKDOC_RATE_LIMIT_TRACK: requests/s per IP, 0 = off */
    bool trust_proxy;           /* TRACKDOC_TRUST_PROXY: take the client IP from X-Forwarded-For */
    int log_level;              /* TRACKDOC_LOG_LEVEL: error, warn, info or debug */
    char templates_dir[1024];   /* TRACKDOC_TEMPLATES_DIR: templates of the document service;
                                   default td_config_default_templates_dir() */
    char storage_dir[1024];     /* TRACKDOC_STORAGE_DIR: generated documents (var/documents) */
    long retention_days;        /* TRACKDOC_RETENTION_DAYS: documents older are deleted, 0 keeps */
    bool db_readonly;           /* TRACKDOC_DB_READONLY: open the database read-only */
    long session_idle_s;        /* TRACKDOC_SESSION_IDLE: dashboard sessions end after this
                                   long unused (default 12 h) */
    bool store_full_ip;         /* TRACKDOC_STORE_FULL_IP: keep whole client addresses of
                                   clicks (default: IPv4 /24, IPv6 /48) */
    bool utm_tagging;           /* TRACKDOC_UTM_TAGGING: utm_* on redirects to utm_hosts */
    char utm_hosts[1024];       /* TRACKDOC_UTM_HOSTS: "" = *.calendly.com; "none" */
    char calendly_signing_key[1025]; /* TRACKDOC_CALENDLY_SIGNING_KEY (or serve
                                        --calendly-signing-key-file): "" = webhook off */
    long calendly_tolerance_ms;      /* TRACKDOC_CALENDLY_TOLERANCE: signed time skew, 5m */
    bool calendly_store_email;       /* TRACKDOC_CALENDLY_STORE_EMAIL: keep invitee addresses */
    /* Click classification (docs/classification.md). TRACKDOC_BURST_WINDOW: clicks on two
     * links of one application from one IP within it are a scanner; default 2 s, -1 off. */
    long burst_window_ms;
    /* TRACKDOC_TOO_SOON: a click this soon after the link was made is a scanner; 5 s, -1 off. */
    long too_soon_ms;
    /* TRACKDOC_ACCEPT_LANGUAGE_SIGNAL: a browser-looking GET without Accept-Language is a bot
     * (default true). */
    bool accept_language_signal;
    /* TRACKDOC_SPOOL: the click spool of serve (docs/scaling.md#outages); "" = the default,
     * var/spool/clicks.spool (or the first of clicks-2.spool ... that no other server holds);
     * "off" = no spool (a click the database cannot take answers 503). */
    char spool[1024];
    unsigned long long spool_max; /* TRACKDOC_SPOOL_MAX: bytes of the spool at most, 1 GiB */
} td_config;

/* Fills c with the built-in defaults. */
void td_config_defaults(td_config *c);

/* Applies the TRACKDOC_* environment variables over c. On a bad value returns TD_EINVAL and
 * writes a message naming the variable into err (errsz bytes). */
int td_config_from_env(td_config *c, char *err, size_t errsz);

/* Parses true/false/1/0/yes/no/on/off (any case). Returns 0 or TD_EINVAL. */
int td_config_parse_bool(const char *s, bool *out);

/* Parses a non-negative rate in requests per second ("25", "0.5"). Returns 0 or TD_EINVAL. */
int td_config_parse_rate(const char *s, double *out);

/* Writes the default templates folder into out (n bytes): <folder of the running binary>/..
 * /templates, or <folder>/../../templates (the sanitizer build in build/asan/), the first that
 * holds resume.docx; else "templates" (relative to the working directory). */
void td_config_default_templates_dir(char *out, size_t n);

/* Parses a log level name. Returns 0 or TD_EINVAL. */
int td_config_parse_log_level(const char *s, int *out);

/* Parses a size in bytes: a whole number with an optional binary unit, K, M, G or T (also
 * KiB, MB, ..., any case: 1K = 1024). Returns 0 or TD_EINVAL. */
int td_config_parse_size(const char *s, unsigned long long *out);

/* Parses a threshold of the click classifier: a duration ("2s", "1500ms", "1m") of at most
 * max_ms into milliseconds, or "off" (any case), "0" or "0s" into -1. Returns 0 or TD_EINVAL. */
int td_config_parse_threshold(const char *s, long max_ms, long *out);

#ifdef __cplusplus
}
#endif
#endif
