/* Configuration defaults and TRACKDOC_* environment variables. */
#include "core/common.h"

#include <math.h>

#include "core/time.h"
#include "trackdoc/config.h"
#include "trackdoc/log.h"
#include "trackdoc/store.h"

/* Fills the defaults. */
void td_config_defaults(td_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->db, sizeof c->db, "%s", TD_STORE_DEFAULT);
    snprintf(c->base_url, sizeof c->base_url, "http://127.0.0.1:8080");
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    snprintf(c->link_functions, sizeof c->link_functions, "Calendly,LinkedIn,Portfolio");
    snprintf(c->sqlite_sync, sizeof c->sqlite_sync, "full");
    c->link_cache_size = 1000;
    c->link_cache_ttl_ms = 2000;
    c->threads = 0; /* one per CPU */
    c->db_pool = 4;
    c->rate_limit_api = 20;
    c->rate_limit_track = 50;
    c->trust_proxy = false;
    c->log_level = TD_LOG_INFO;
    c->enable_url_tracking = true;
    td_config_default_templates_dir(c->templates_dir, sizeof c->templates_dir);
    snprintf(c->storage_dir, sizeof c->storage_dir, "var/documents");
    c->retention_days = 0;
    c->db_readonly = false;
}

/* Finds the templates shipped next to the binary. */
void td_config_default_templates_dir(char *out, size_t n)
{
    static const char *const rel[] = {"/../templates", "/../../templates"};
    char exe[PATH_MAX], probe[PATH_MAX + 64];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;

    snprintf(out, n, "templates");
    if (len <= 0)
        return;
    exe[len] = '\0';
    if (!(slash = strrchr(exe, '/')))
        return;
    *slash = '\0';
    for (size_t i = 0; i < TD_ARRAY_SIZE(rel); i++) {
        char real[PATH_MAX];
        snprintf(probe, sizeof probe, "%s%s/resume.docx", exe, rel[i]);
        if (access(probe, R_OK) != 0)
            continue;
        probe[strlen(probe) - strlen("/resume.docx")] = '\0';
        snprintf(out, n, "%s", realpath(probe, real) ? real : probe);
        return;
    }
}

/* Parses a boolean word. */
int td_config_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};

    for (size_t i = 0; i < TD_ARRAY_SIZE(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return TD_EINVAL;
}

/* Parses a rate in requests per second. */
int td_config_parse_rate(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1e9)
        return TD_EINVAL;
    *out = v;
    return 0;
}

/* Parses a log level name. */
int td_config_parse_log_level(const char *s, int *out)
{
    for (int l = TD_LOG_ERROR; l <= TD_LOG_DEBUG; l++) {
        if (strcasecmp(s, td_log_level_name(l)) == 0) {
            *out = l;
            return 0;
        }
    }
    return TD_EINVAL;
}

/* Copies an environment string into a bounded field. */
static int env_str(const char *name, char *dst, size_t n, char *err, size_t errsz)
{
    const char *v = getenv(name);

    if (!v)
        return 0;
    if (strlen(v) >= n) {
        snprintf(err, errsz, "%s is longer than %zu bytes", name, n - 1);
        return TD_EINVAL;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* Reads an integer environment variable within [min, max]. */
static int env_long(const char *name, long *dst, long min, long max, char *err, size_t errsz)
{
    const char *v = getenv(name);
    char *end;
    long x;

    if (!v || !*v)
        return 0;
    errno = 0;
    x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max) {
        snprintf(err, errsz, "%s=\"%s\": expected a whole number from %ld to %ld", name, v, min,
                 max);
        return TD_EINVAL;
    }
    *dst = x;
    return 0;
}

/* Applies TRACKDOC_* variables. */
int td_config_from_env(td_config *c, char *err, size_t errsz)
{
    const char *v;
    int64_t ms;
    int rc;

    if ((rc = env_str("TRACKDOC_DB", c->db, sizeof c->db, err, errsz)) ||
        (rc = env_str("TRACKDOC_BASE_URL", c->base_url, sizeof c->base_url, err, errsz)) ||
        (rc = env_str("TRACKDOC_LISTEN", c->listen, sizeof c->listen, err, errsz)) ||
        (rc = env_str("TRACKDOC_ALLOWED_DOMAINS", c->allowed_domains, sizeof c->allowed_domains,
                      err, errsz)) ||
        (rc = env_str("TRACKDOC_LINK_FUNCTIONS", c->link_functions, sizeof c->link_functions, err,
                      errsz)) ||
        (rc = env_str("TRACKDOC_SQLITE_SYNC", c->sqlite_sync, sizeof c->sqlite_sync, err, errsz)) ||
        (rc = env_long("TRACKDOC_LINK_CACHE_SIZE", &c->link_cache_size, 0, 10000000, err, errsz)) ||
        (rc = env_long("TRACKDOC_THREADS", &c->threads, 0, 256, err, errsz)) ||
        (rc = env_long("TRACKDOC_DB_POOL", &c->db_pool, 1, 256, err, errsz)))
        return rc;
    if ((v = getenv("TRACKDOC_LINK_CACHE_TTL")) && *v) {
        if (td_time_parse_duration(v, &ms) != 0) {
            snprintf(err, errsz, "TRACKDOC_LINK_CACHE_TTL=\"%s\": expected a duration such as 10s",
                     v);
            return TD_EINVAL;
        }
        c->link_cache_ttl_ms = (long)ms;
    }
    if ((v = getenv("TRACKDOC_RATE_LIMIT_API")) && *v &&
        td_config_parse_rate(v, &c->rate_limit_api) != 0) {
        snprintf(err, errsz, "TRACKDOC_RATE_LIMIT_API=\"%s\": expected requests per second", v);
        return TD_EINVAL;
    }
    if ((v = getenv("TRACKDOC_RATE_LIMIT_TRACK")) && *v &&
        td_config_parse_rate(v, &c->rate_limit_track) != 0) {
        snprintf(err, errsz, "TRACKDOC_RATE_LIMIT_TRACK=\"%s\": expected requests per second", v);
        return TD_EINVAL;
    }
    if ((v = getenv("TRACKDOC_TRUST_PROXY")) && *v &&
        td_config_parse_bool(v, &c->trust_proxy) != 0) {
        snprintf(err, errsz, "TRACKDOC_TRUST_PROXY=\"%s\": expected true or false", v);
        return TD_EINVAL;
    }
    if ((v = getenv("ENABLE_URL_TRACKING")) && *v &&
        td_config_parse_bool(v, &c->enable_url_tracking) != 0) {
        /* The system our users come from treated any other value as "on": so do we, but say so. */
        c->enable_url_tracking = true;
        snprintf(c->warnings, sizeof c->warnings,
                 "ENABLE_URL_TRACKING=\"%.64s\" is not true/false/1/0/yes/no/on/off: tracking "
                 "stays enabled",
                 v);
    }
    if ((rc = env_str("TRACKDOC_TRACK_VARS", c->track_vars, sizeof c->track_vars, err, errsz)) ||
        (rc = env_str("TRACKDOC_TRACK_RULES", c->track_rules, sizeof c->track_rules, err, errsz)))
        return rc;
    if ((rc = env_str("TRACKDOC_TEMPLATES_DIR", c->templates_dir, sizeof c->templates_dir, err,
                      errsz)) ||
        (rc = env_str("TRACKDOC_STORAGE_DIR", c->storage_dir, sizeof c->storage_dir, err, errsz)) ||
        (rc = env_long("TRACKDOC_RETENTION_DAYS", &c->retention_days, 0, 36500, err, errsz)))
        return rc;
    if ((v = getenv("TRACKDOC_DB_READONLY")) && *v &&
        td_config_parse_bool(v, &c->db_readonly) != 0) {
        snprintf(err, errsz, "TRACKDOC_DB_READONLY=\"%s\": expected true or false", v);
        return TD_EINVAL;
    }
    if ((v = getenv("TRACKDOC_LOG_LEVEL")) && *v && td_config_parse_log_level(v, &c->log_level)) {
        snprintf(err, errsz, "TRACKDOC_LOG_LEVEL=\"%s\": expected error, warn, info or debug", v);
        return TD_EINVAL;
    }
    return 0;
}
