/* trackdoc serve: runs the HTTP server until SIGTERM or SIGINT, then drains and exits 0. */
#include "cli/cli.h"

#include <pthread.h>
#include <signal.h>

#include "core/log.h"
#include "core/time.h"
#include "trackdoc/generate.h"
#include "trackdoc/recorder.h"
#include "trackdoc/spool.h"
#include "trackdoc/utm.h"
#include "trackdoc/server.h"

static const char usage[] =
    "usage: trackdoc serve [options]\n"
    "\n"
    "Serves GET /track/{id} (302 to the original URL, click recorded first), the link API\n"
    "under /api/link-tracking/, the documents (POST /resume, POST /cover-letter,\n"
    "GET /download/NAME), the web dashboard (/dashboard) and /healthz.\n"
    "\n"
    "  --listen ADDR            HOST:PORT, [IPv6]:PORT or PORT (default 127.0.0.1:8080;\n"
    "                           TRACKDOC_LISTEN); port 0 picks a free port\n"
    "  --db URL                 database (default var/trackdoc.db; TRACKDOC_DB)\n"
    "  --base-url URL           base of redirect URLs (TRACKDOC_BASE_URL; default: this\n"
    "                           server's own address, http://HOST:PORT as bound)\n"
    "  --threads N              HTTP worker threads; 0, the default, is one per CPU\n"
    "                           (TRACKDOC_THREADS)\n"
    "  --trust-proxy            take the client IP from X-Forwarded-For (TRACKDOC_TRUST_PROXY)\n"
    "  --rate-limit-api RATE    requests/s per IP on /api, 0 = off (default 20)\n"
    "  --rate-limit-track RATE  requests/s per IP on /track, 0 = off (default 50)\n"
    "  --allowed-domains LIST   destinations allowed, e.g. 'calendly.com,*.linkedin.com'\n"
    "  --link-functions LIST    link functions (default Calendly,LinkedIn,Portfolio)\n"
    "  --link-cache-size N      links cached in memory (default 1000; 0 = no cache)\n"
    "  --templates-dir DIR      templates of the documents, NAME.docx|html|md|txt (default:\n"
    "                           the templates shipped with trackdoc; TRACKDOC_TEMPLATES_DIR)\n"
    "  --storage-dir DIR        generated documents (default var/documents; TRACKDOC_STORAGE_DIR)\n"
    "  --retention-days N       delete documents older than N days, hourly; 0 keeps them\n"
    "                           (default 0; TRACKDOC_RETENTION_DAYS)\n"
    "  --db-readonly            open the database read-only (a replica): reads and inline\n"
    "                           documents work; redirects and writes answer 503\n"
    "                           (TRACKDOC_DB_READONLY)\n"
    "  --utm-hosts LIST         destinations whose redirects carry utm_source, utm_medium,\n"
    "                           utm_campaign, utm_content (default *.calendly.com; 'none';\n"
    "                           TRACKDOC_UTM_HOSTS)\n"
    "  --no-utm                 no utm_* parameters on any redirect (TRACKDOC_UTM_TAGGING)\n"
    "  --store-full-ip          keep whole client addresses of clicks; by default IPv4 /24\n"
    "                           and IPv6 /48 are kept (TRACKDOC_STORE_FULL_IP)\n"
    "  --calendly-signing-key-file FILE\n"
    "                           the signing key of Calendly's webhooks (POST\n"
    "                           /webhooks/calendly), read from FILE; default\n"
    "                           TRACKDOC_CALENDLY_SIGNING_KEY; without one the route answers 503\n"
    "  --session-idle TIME      dashboard sign-ins end after this long unused, 1m to 30d\n"
    "                           (default 12h; TRACKDOC_SESSION_IDLE)\n"
    "  --spool PATH             file where clicks wait while the database does not answer,\n"
    "                           replayed when it does (default var/spool/clicks.spool, or\n"
    "                           clicks-2.spool ... when another server holds it; 'off' = none,\n"
    "                           such redirects answer 503; TRACKDOC_SPOOL)\n"
    "  --spool-max SIZE         the spool's size at most, 64K to 1T (default 1G;\n"
    "                           TRACKDOC_SPOOL_MAX); when full, redirects answer 503\n"
    "  --help                   this text\n";

enum {
    O_LISTEN = 256,
    O_SESSION_IDLE,
    O_DB,
    O_BASE,
    O_THREADS,
    O_TRUST,
    O_RL_API,
    O_RL_TRACK,
    O_DOMAINS,
    O_FUNCTIONS,
    O_CACHE,
    O_TEMPLATES,
    O_STORAGE,
    O_RETENTION,
    O_READONLY,
    O_FULL_IP,
    O_UTM_HOSTS,
    O_NO_UTM,
    O_CALENDLY_KEY,
    O_SPOOL,
    O_SPOOL_MAX,
};

static const struct option options[] = {
    {"listen", required_argument, NULL, O_LISTEN},
    {"db", required_argument, NULL, O_DB},
    {"base-url", required_argument, NULL, O_BASE},
    {"threads", required_argument, NULL, O_THREADS},
    {"trust-proxy", no_argument, NULL, O_TRUST},
    {"rate-limit-api", required_argument, NULL, O_RL_API},
    {"rate-limit-track", required_argument, NULL, O_RL_TRACK},
    {"allowed-domains", required_argument, NULL, O_DOMAINS},
    {"link-functions", required_argument, NULL, O_FUNCTIONS},
    {"link-cache-size", required_argument, NULL, O_CACHE},
    {"templates-dir", required_argument, NULL, O_TEMPLATES},
    {"storage-dir", required_argument, NULL, O_STORAGE},
    {"retention-days", required_argument, NULL, O_RETENTION},
    {"db-readonly", no_argument, NULL, O_READONLY},
    {"store-full-ip", no_argument, NULL, O_FULL_IP},
    {"utm-hosts", required_argument, NULL, O_UTM_HOSTS},
    {"no-utm", no_argument, NULL, O_NO_UTM},
    {"calendly-signing-key-file", required_argument, NULL, O_CALENDLY_KEY},
    {"session-idle", required_argument, NULL, O_SESSION_IDLE},
    {"spool", required_argument, NULL, O_SPOOL},
    {"spool-max", required_argument, NULL, O_SPOOL_MAX},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Copies a flag value into a bounded config field, or fails naming the flag. */
static void set_str(const char *flag, char *dst, size_t n, const char *v)
{
    if (strlen(v) >= n)
        usage_error("serve", "%s is longer than %zu bytes", flag, n - 1);
    memcpy(dst, v, strlen(v) + 1);
}

/* Reads the Calendly signing key from a file (surrounding whitespace dropped) into dst, or fails
 * naming the flag; the key itself never appears in a message. */
static void read_key_file(const char *path, char *dst, size_t n)
{
    const char *flag = "--calendly-signing-key-file";
    FILE *f = fopen(path, "rb");
    char buf[2048];
    size_t len, start = 0;

    if (!f)
        usage_error("serve", "%s %s: %s", flag, path, strerror(errno));
    len = fread(buf, 1, sizeof buf, f);
    if (ferror(f)) {
        fclose(f);
        usage_error("serve", "%s %s: %s", flag, path, strerror(errno));
    }
    fclose(f);
    while (len > 0 && isspace((unsigned char)buf[len - 1]))
        len--;
    while (start < len && isspace((unsigned char)buf[start]))
        start++;
    if (len - start >= n)
        usage_error("serve", "%s %s: the key is longer than %zu bytes", flag, path, n - 1);
    if (len == start)
        usage_error("serve", "%s %s: the file is empty", flag, path);
    if (memchr(buf + start, '\0', len - start))
        usage_error("serve", "%s %s: the key contains a NUL byte", flag, path);
    memcpy(dst, buf + start, len - start);
    dst[len - start] = '\0';
    explicit_bzero(buf, sizeof buf);
}

/* Gives the host part of a listen address as it goes in a URL. */
static const char *listen_host(const char *spec, char *buf, size_t n)
{
    const char *colon = strrchr(spec, ':');

    if (spec[0] == '[') {
        size_t len = strcspn(spec, "]") + 1;
        snprintf(buf, n, "%.*s", (int)len, spec);
    } else if (!colon) {
        snprintf(buf, n, "127.0.0.1");
    } else if (colon == spec) {
        snprintf(buf, n, "0.0.0.0");
    } else {
        snprintf(buf, n, "%.*s", (int)(colon - spec), spec);
    }
    return buf;
}

/* Opens the database read-only (--db-readonly): it must exist with the current schema. */
static td_store *open_readonly(const td_config *c)
{
    td_store_options o = {.pool_size = (int)c->db_pool, .readonly = true, .must_exist = true};
    td_store *st = NULL;
    char err[512];
    int rc = td_store_open(c->db, &o, &st, err, sizeof err);

    if (rc == TD_EINVAL)
        usage_error("serve", "database \"%s\": %s", c->db, err);
    if (rc)
        die("database %s (read-only): %s", c->db, err);
    {
        /* A replica cannot be migrated from here: an older schema lacks columns this program
         * reads, and every query would fail. Say so at start, not on each request. */
        int dbv = 0, known = 0;
        if (td_store_schema_version(st, &dbv, &known) == 0 && dbv < known)
            die("database %s (read-only) has schema version %d; this trackdoc needs %d: run "
                "'trackdoc db migrate' on the primary database first",
                c->db, dbv, known);
    }
    return st;
}

#define SPOOL_DEFAULT_DIR "var/spool"
#define SPOOL_SLOTS 16

/* Opens the click spool: the configured one, or the first of var/spool/clicks.spool,
 * clicks-2.spool, ... that no other process holds. NULL when it is off, in read-only mode (no
 * click is recorded there), or when the default cannot be made (a warning: the server still
 * runs, and an unreachable database answers 503 as without a spool). */
static td_spool *spool_open(const td_config *c)
{
    td_spool *sp = NULL;
    char path[64], err[1200];
    int rc = 0;

    if (c->db_readonly || strcmp(c->spool, "off") == 0)
        return NULL;
    if (*c->spool) {
        rc = td_spool_open(c->spool, c->spool_max, &sp, err, sizeof err);
        if (rc == TD_EINVAL)
            usage_error("serve", "--spool: %s", err);
        if (rc)
            die("click spool: %s (--spool or TRACKDOC_SPOOL; 'off' runs without one)", err);
        return sp;
    }
    for (int slot = 1; slot <= SPOOL_SLOTS; slot++) {
        if (slot == 1)
            snprintf(path, sizeof path, SPOOL_DEFAULT_DIR "/clicks.spool");
        else
            snprintf(path, sizeof path, SPOOL_DEFAULT_DIR "/clicks-%d.spool", slot);
        if ((rc = td_spool_open(path, c->spool_max, &sp, err, sizeof err)) != TD_EBUSY)
            break;
    }
    if (rc) {
        warn("no click spool: %s%s; while the database does not answer, redirects answer 503 "
             "(set --spool PATH, or --spool off)",
             err, rc == TD_EBUSY ? " (and every other slot)" : "");
        return NULL;
    }
    return sp;
}

/* Makes the document service from the configuration; a bad setting is a usage error. */
static td_generator *generator_new(const td_config *c, td_store *st, td_tracker *tr,
                                   const td_trackvars *vars)
{
    td_generator_config gc = {.templates_dir = c->templates_dir,
                              .storage_dir = c->storage_dir,
                              .retention_days = c->retention_days,
                              .tracking = c->enable_url_tracking};
    td_generator *g = NULL;
    char err[512];
    int rc = td_generator_new(&gc, st, tr, vars, &g, err, sizeof err);

    if (rc == TD_EINVAL)
        usage_error("serve", "%s (--templates-dir, --storage-dir, --retention-days)", err);
    if (rc)
        die("document service: %s", err);
    return g;
}

/* The retention thread: deletes old documents at start, then every hour, until stopped. */
struct purger {
    td_generator *gen;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, running;
};

#define PURGE_INTERVAL_S 3600

/* Body of the retention thread. */
static void *purger_main(void *ud)
{
    struct purger *p = ud;
    size_t n;
    int rc;

    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec until;
        pthread_mutex_unlock(&p->mu);
        rc = td_generator_purge(p->gen, td_time_now_ms(), &n);
        if (rc)
            td_log_warn("document retention: purge failed: %s", td_strerror(rc));
        else if (n)
            td_log_info("document retention: %zu documents deleted", n);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += PURGE_INTERVAL_S;
        pthread_mutex_lock(&p->mu);
        while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Starts the retention thread. */
static void purger_start(struct purger *p, td_generator *gen)
{
    p->gen = gen;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, purger_main, p) != 0)
        die("cannot start the document retention thread");
    p->running = true;
}

/* Stops the retention thread (waits for a purge in progress). */
static void purger_stop(struct purger *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    p->running = false;
}

/* Runs the server. */
int cmd_serve(int argc, char **argv)
{
    td_config c;
    td_server_config sc = {0};
    td_store *st;
    td_tracker *tr;
    td_trackvars *vars;
    td_recorder *rec = NULL;
    td_recorder_config rcfg = {0};
    td_spool *spool;
    td_generator *gen;
    struct purger pg = {0};
    td_server *srv = NULL;
    td_recorder_stats rs;
    sigset_t set;
    char err[512];
    int opt, sig = 0;
    bool base_given = getenv("TRACKDOC_BASE_URL") && *getenv("TRACKDOC_BASE_URL");

    cli_config_load("serve", &c);
    while ((opt = cli_getopt("serve", argc, argv, "h", options)) != -1) {
        switch (opt) {
        case O_LISTEN:
            set_str("--listen", c.listen, sizeof c.listen, optarg);
            break;
        case O_DB:
            set_str("--db", c.db, sizeof c.db, optarg);
            break;
        case O_BASE:
            set_str("--base-url", c.base_url, sizeof c.base_url, optarg);
            base_given = true;
            break;
        case O_THREADS:
            c.threads = cli_parse_long("serve", "--threads", optarg, 0, 256);
            break;
        case O_TRUST:
            c.trust_proxy = true;
            break;
        case O_RL_API:
            if (td_config_parse_rate(optarg, &c.rate_limit_api) != 0)
                usage_error("serve", "--rate-limit-api \"%s\": expected requests per second",
                            optarg);
            break;
        case O_RL_TRACK:
            if (td_config_parse_rate(optarg, &c.rate_limit_track) != 0)
                usage_error("serve", "--rate-limit-track \"%s\": expected requests per second",
                            optarg);
            break;
        case O_DOMAINS:
            set_str("--allowed-domains", c.allowed_domains, sizeof c.allowed_domains, optarg);
            break;
        case O_FUNCTIONS:
            set_str("--link-functions", c.link_functions, sizeof c.link_functions, optarg);
            break;
        case O_CACHE:
            c.link_cache_size = cli_parse_long("serve", "--link-cache-size", optarg, 0, 10000000);
            break;
        case O_TEMPLATES:
            set_str("--templates-dir", c.templates_dir, sizeof c.templates_dir, optarg);
            break;
        case O_STORAGE:
            set_str("--storage-dir", c.storage_dir, sizeof c.storage_dir, optarg);
            break;
        case O_RETENTION:
            c.retention_days = cli_parse_long("serve", "--retention-days", optarg, 0, 36500);
            break;
        case O_SESSION_IDLE: {
            int64_t ms;
            if (td_time_parse_duration(optarg, &ms) != 0 || ms < 60000 || ms > 30 * 86400000LL)
                usage_error("serve",
                            "--session-idle \"%s\": expected a duration from 1m to 30d, such "
                            "as 30m or 12h",
                            optarg);
            c.session_idle_s = (long)(ms / 1000);
            break;
        }
        case O_READONLY:
            c.db_readonly = true;
            break;
        case O_FULL_IP:
            c.store_full_ip = true;
            break;
        case O_UTM_HOSTS:
            set_str("--utm-hosts", c.utm_hosts, sizeof c.utm_hosts, optarg);
            break;
        case O_NO_UTM:
            c.utm_tagging = false;
            break;
        case O_CALENDLY_KEY:
            read_key_file(optarg, c.calendly_signing_key, sizeof c.calendly_signing_key);
            break;
        case O_SPOOL:
            set_str("--spool", c.spool, sizeof c.spool, optarg);
            break;
        case O_SPOOL_MAX:
            if (td_config_parse_size(optarg, &c.spool_max) != 0 || c.spool_max < (64ULL << 10) ||
                c.spool_max > (1ULL << 40))
                usage_error("serve",
                            "--spool-max \"%s\": expected a size from 64K to 1T, such as 512M "
                            "or 1G",
                            optarg);
            break;
        case 'h':
            cli_help(usage);
        }
    }
    if (optind < argc)
        usage_error("serve", "unexpected argument '%s'", argv[optind]);

    /* Block the stop signals before any thread starts, so that every thread inherits the mask
     * and only sigwait below receives them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    st = c.db_readonly ? open_readonly(&c) : cli_store_open("serve", &c, CLI_DB_MIGRATED);
    sc.listen = c.listen;
    sc.threads = (int)c.threads;
    sc.trust_proxy = c.trust_proxy;
    sc.rate_limit_api = c.rate_limit_api;
    sc.rate_limit_track = c.rate_limit_track;
    sc.session_idle_s = c.session_idle_s;
    sc.store_full_ip = c.store_full_ip;
    sc.classify.burst_window_ms = c.burst_window_ms;
    sc.classify.too_soon_ms = c.too_soon_ms;
    sc.classify.accept_language = c.accept_language_signal ? 1 : -1;
    sc.utm_hosts = c.utm_hosts;
    sc.no_utm = !c.utm_tagging;
    sc.calendly_key = c.calendly_signing_key;
    sc.calendly_tolerance_ms = c.calendly_tolerance_ms;
    sc.calendly_store_email = c.calendly_store_email;
    {
        td_utm *probe = NULL;
        if (td_utm_new(c.utm_hosts, true, &probe) != 0)
            usage_error("serve",
                        "--utm-hosts \"%s\": expected domain patterns such as "
                        "'*.calendly.com,example.org', or 'none'",
                        c.utm_hosts);
        td_utm_free(probe);
    }
    /* Bind first: the base URL of redirect links may depend on the port (with port 0). */
    opt = td_server_new(&sc, &srv, err, sizeof err);
    if (opt == TD_EINVAL)
        usage_error("serve", "--listen: %s", err);
    if (opt)
        die("%s", err);
    if (!base_given) {
        /* Without a configured base URL, redirect URLs point at this server itself. */
        char host[128];
        listen_host(c.listen, host, sizeof host);
        if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "[::]") == 0)
            snprintf(host, sizeof host, "127.0.0.1");
        snprintf(c.base_url, sizeof c.base_url, "http://%s:%d", host, td_server_port(srv));
    }
    vars = cli_trackvars_new("serve", &c, NULL);
    tr = cli_tracker_new("serve", &c, st, vars);
    gen = generator_new(&c, st, tr, vars);
    td_server_set_generator(srv, gen);
    /* The spool once the arguments are known good (opening it makes its folder). */
    spool = spool_open(&c);
    if (spool) {
        td_spool_stats ss;
        td_spool_get_stats(spool, &ss);
        td_log_info("click spool %s: %" PRIu64 " clicks waiting, %" PRIu64 " MiB at most",
                    td_spool_path(spool), ss.depth, ss.max_bytes >> 20);
    }
    rcfg.spool = spool;
    if (td_recorder_new(st, &rcfg, &rec) != 0)
        die("cannot start the click recorder");
    if (td_server_start(srv, st, tr, rec, err, sizeof err) != 0)
        die("%s", err);
    if (c.retention_days > 0)
        purger_start(&pg, gen);
    printf("trackdoc %s listening on http://%s:%d (database: %s %s; links: %s/track/...)\n",
           TD_VERSION, listen_host(c.listen, err, sizeof err), td_server_port(srv),
           td_store_backend(st), c.db, td_tracker_base_url(tr));
    fflush(stdout);

    sigwait(&set, &sig);
    fprintf(stderr, "trackdoc: %s received, draining requests in flight\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    purger_stop(&pg);
    td_server_stop(srv, 10000);
    td_recorder_get_stats(rec, &rs);
    td_recorder_free(rec);
    if (spool) {
        td_spool_stats ss;
        td_spool_get_stats(spool, &ss);
        fprintf(stderr,
                "trackdoc: stopped; %" PRIu64 " clicks committed in %" PRIu64 " batches; %" PRIu64
                " spooled, %" PRIu64 " replayed, %" PRIu64 " waiting in %s\n",
                rs.committed, rs.batches, rs.spooled, ss.replayed, ss.depth, td_spool_path(spool));
    } else {
        fprintf(stderr, "trackdoc: stopped; %" PRIu64 " clicks committed in %" PRIu64 " batches\n",
                rs.committed, rs.batches);
    }
    td_spool_close(spool);
    td_generator_free(gen);
    td_tracker_free(tr);
    td_trackvars_free(vars);
    td_store_close(st);
    explicit_bzero(c.calendly_signing_key, sizeof c.calendly_signing_key);
    return 0;
}
