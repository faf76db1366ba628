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
    c->session_idle_s = 12 * 3600;
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
    c->burst_window_ms = 2000;
    c->too_soon_ms = 5000;
    c->accept_language_signal = true;
    c->utm_tagging = true;
    c->calendly_tolerance_ms = 5 * 60 * 1000;
    c->spool_max = 1ULL << 30;
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

/* Parses a size: digits, then an optional K, M, G or T (binary), optionally followed by B or
 * iB. */
int td_config_parse_size(const char *s, unsigned long long *out)
{
    static const char units[] = "KMGT";
    unsigned long long n, mult = 1;
    const char *u;
    char *end;

    if (!isdigit((unsigned char)*s))
        return TD_EINVAL;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno)
        return TD_EINVAL;
    if (*end && (u = strchr(units, toupper((unsigned char)*end))) != NULL) {
        mult = 1ULL << (10 * (u - units + 1));
        end++;
        if (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0)
            end += strlen(end);
    } else if (strcasecmp(end, "B") == 0) {
        end++;
    }
    if (*end || n > ULLONG_MAX / mult)
        return TD_EINVAL;
    *out = n * mult;
    return 0;
}

/* Parses a classifier threshold: a duration, "<n>ms", or off. */
int td_config_parse_threshold(const char *s, long max_ms, long *out)
{
    int64_t ms;
    char *end;
    long long n;

    if (strcasecmp(s, "off") == 0 || strcmp(s, "0") == 0 || strcmp(s, "0s") == 0) {
        *out = -1;
        return 0;
    }
    errno = 0;
    n = strtoll(s, &end, 10);
    if (isdigit((unsigned char)*s) && !errno && strcmp(end, "ms") == 0 && n > 0 && n <= max_ms) {
        *out = (long)n;
        return 0;
    }
    if (td_time_parse_duration(s, &ms) != 0 || ms > max_ms)
        return TD_EINVAL;
    *out = (long)ms;
    return 0;
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
    /* No TRACKDOC_DB but libpq's PGHOST: PostgreSQL, reached through the PG* variables. */
    if ((!(v = getenv("TRACKDOC_DB")) || !*v) && (v = getenv("PGHOST")) && *v)
        snprintf(c->db, sizeof c->db, "postgres://");
    if ((v = getenv("TRACKDOC_LINK_CACHE_TTL")) && *v) {
        if (td_time_parse_duration(v, &ms) != 0) {
            snprintf(err, errsz, "TRACKDOC_LINK_CACHE_TTL=\"%s\": expected a duration such as 10s",
                     v);
            return TD_EINVAL;
        }
        c->link_cache_ttl_ms = (long)ms;
    }
    if ((v = getenv("TRACKDOC_SESSION_IDLE")) && *v) {
        if (td_time_parse_duration(v, &ms) != 0 || ms < 60000 || ms > 30 * 86400000LL) {
            snprintf(err, errsz,
                     "TRACKDOC_SESSION_IDLE=\"%s\": expected a duration from 1m to 30d, such as "
                     "12h",
                     v);
            return TD_EINVAL;
        }
        c->session_idle_s = (long)(ms / 1000);
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
    if ((v = getenv("TRACKDOC_UTM_TAGGING")) && *v &&
        td_config_parse_bool(v, &c->utm_tagging) != 0) {
        snprintf(err, errsz, "TRACKDOC_UTM_TAGGING=\"%s\": expected true or false", v);
        return TD_EINVAL;
    }
    if ((rc = env_str("TRACKDOC_UTM_HOSTS", c->utm_hosts, sizeof c->utm_hosts, err, errsz)))
        return rc;
    if ((v = getenv("TRACKDOC_STORE_FULL_IP")) && *v &&
        td_config_parse_bool(v, &c->store_full_ip) != 0) {
        snprintf(err, errsz, "TRACKDOC_STORE_FULL_IP=\"%s\": expected true or false", v);
        return TD_EINVAL;
    }
    /* The key's value is never echoed in a message. */
    if ((v = getenv("TRACKDOC_CALENDLY_SIGNING_KEY")) &&
        strlen(v) >= sizeof c->calendly_signing_key) {
        snprintf(err, errsz, "TRACKDOC_CALENDLY_SIGNING_KEY is longer than %zu bytes",
                 sizeof c->calendly_signing_key - 1);
        return TD_EINVAL;
    }
    if (v)
        snprintf(c->calendly_signing_key, sizeof c->calendly_signing_key, "%s", v);
    if ((v = getenv("TRACKDOC_CALENDLY_TOLERANCE")) && *v) {
        if (td_time_parse_duration(v, &ms) != 0 || ms < 1000 || ms > 86400000) {
            snprintf(err, errsz,
                     "TRACKDOC_CALENDLY_TOLERANCE=\"%s\": expected a duration from 1s to 24h, "
                     "such as 5m",
                     v);
            return TD_EINVAL;
        }
        c->calendly_tolerance_ms = (long)ms;
    }
    if ((v = getenv("TRACKDOC_CALENDLY_STORE_EMAIL")) && *v &&
        td_config_parse_bool(v, &c->calendly_store_email) != 0) {
        snprintf(err, errsz, "TRACKDOC_CALENDLY_STORE_EMAIL=\"%s\": expected true or false", v);
        return TD_EINVAL;
    }
    if ((v = getenv("TRACKDOC_BURST_WINDOW")) && *v &&
        td_config_parse_threshold(v, 3600000, &c->burst_window_ms) != 0) {
        snprintf(err, errsz,
                 "TRACKDOC_BURST_WINDOW=\"%s\": expected a duration up to 1h, such as 2s or "
                 "1500ms, or off",
                 v);
        return TD_EINVAL;
    }
    if ((v = getenv("TRACKDOC_TOO_SOON")) && *v &&
        td_config_parse_threshold(v, 86400000, &c->too_soon_ms) != 0) {
        snprintf(err, errsz,
                 "TRACKDOC_TOO_SOON=\"%s\": expected a duration up to 1d, such as 5s, or off", v);
        return TD_EINVAL;
    }
    if ((v = getenv("TRACKDOC_ACCEPT_LANGUAGE_SIGNAL")) && *v &&
        td_config_parse_bool(v, &c->accept_language_signal) != 0) {
        snprintf(err, errsz, "TRACKDOC_ACCEPT_LANGUAGE_SIGNAL=\"%s\": expected true or false", v);
        return TD_EINVAL;
    }
    if ((rc = env_str("TRACKDOC_SPOOL", c->spool, sizeof c->spool, err, errsz)))
        return rc;
    if ((v = getenv("TRACKDOC_SPOOL_MAX")) && *v &&
        (td_config_parse_size(v, &c->spool_max) != 0 || c->spool_max < (64ULL << 10) ||
         c->spool_max > (1ULL << 40))) {
        snprintf(err, errsz,
                 "TRACKDOC_SPOOL_MAX=\"%s\": expected a size from 64K to 1T, such as 512M or 1G",
                 v);
        return TD_EINVAL;
    }
    if ((v = getenv("TRACKDOC_LOG_LEVEL")) && *v && td_config_parse_log_level(v, &c->log_level)) {
        snprintf(err, errsz, "TRACKDOC_LOG_LEVEL=\"%s\": expected error, warn, info or debug", v);
        return TD_EINVAL;
    }
    return 0;
}
