/* Shared CLI helpers: error exits, option parsing with named errors, opening the store. */
#include "cli/cli.h"

#include "core/log.h"

/* Prints an error and exits 1. */
void die(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("trackdoc: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* Prints a usage error naming the command and exits 2. */
void usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "trackdoc %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'trackdoc %s --help'.\n", cmd);
    exit(2);
}

/* Prints a warning. */
void warn(const char *fmt, ...)
{
    va_list ap;

    fputs("trackdoc: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* getopt_long with errors that name the bad argument. */
int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts)
{
    char spec[128];
    int c, before = optind;

    opterr = 0;
    snprintf(spec, sizeof spec, ":%s", shortopts); /* leading ':' reports a missing argument */
    c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c == '?') {
        const char *bad = argv[optind - 1 >= before ? optind - 1 : before];
        if (optopt)
            usage_error(cmd, "unknown option '-%c'", optopt);
        usage_error(cmd, "unknown option '%s'", bad);
    }
    if (c == ':') {
        const char *bad = argv[optind - 1];
        usage_error(cmd, "option '%s' needs a value", bad);
    }
    return c;
}

/* Parses a whole number within [min, max]. */
long cli_parse_long(const char *cmd, const char *opt, const char *arg, long min, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max)
        usage_error(cmd, "%s \"%s\": expected a whole number from %ld to %ld", opt, arg, min, max);
    return v;
}

/* Loads defaults and the environment. */
void cli_config_load(const char *cmd, td_config *c)
{
    char err[256];

    td_config_defaults(c);
    if (td_config_from_env(c, err, sizeof err) != 0)
        usage_error(cmd, "%s", err);
    if (c->warnings[0])
        warn("%s", c->warnings);
}

/* Makes the tracked-variable table: the defaults, TRACKDOC_TRACK_VARS, then extra (the
 * --track flags joined by commas; may be NULL). */
td_trackvars *cli_trackvars_new(const char *cmd, const td_config *c, const char *extra)
{
    td_trackvars *v = NULL;
    char err[256];

    if (td_trackvars_new(&v) != 0)
        die("out of memory");
    if (td_trackvars_parse(v, c->track_vars, err, sizeof err) != 0)
        usage_error(cmd, "TRACKDOC_TRACK_VARS: %s", err);
    if (c->track_rules[0] && td_trackvars_parse_rules(v, c->track_rules, err, sizeof err) != 0)
        usage_error(cmd, "TRACKDOC_TRACK_RULES: %s", err);
    if (extra && td_trackvars_parse(v, extra, err, sizeof err) != 0)
        usage_error(cmd, "--track: %s", err);
    return v;
}

/* Copies a --db value into the configuration. */
void cli_set_db(const char *cmd, td_config *c, const char *value)
{
    if (strlen(value) >= sizeof c->db)
        usage_error(cmd, "--db is too long (at most %zu bytes)", sizeof c->db - 1);
    snprintf(c->db, sizeof c->db, "%s", value);
}

/* Opens the store or exits: 2 for a malformed setting, 1 when the database fails. */
td_store *cli_store_open(const char *cmd, const td_config *c, enum cli_db mode)
{
    td_store_options o = {.pool_size = (int)c->db_pool,
                          .sync = c->sqlite_sync,
                          .must_exist = mode == CLI_DB_EXISTING,
                          .no_migrate = mode != CLI_DB_MIGRATED};
    td_store *st = NULL;
    char err[512];
    int rc = td_store_open(c->db, &o, &st, err, sizeof err);

    if (rc == TD_EINVAL)
        usage_error(cmd, "database \"%s\": %s", c->db, err);
    if (rc)
        die("database %s: %s", c->db, err);
    return st;
}

/* Makes the tracker; a bad setting (base URL, functions, domains) is a usage error. */
td_tracker *cli_tracker_new(const char *cmd, const td_config *c, td_store *st,
                            const td_trackvars *vars)
{
    char functions[sizeof c->link_functions + 1024];
    td_link_config lc = {.base_url = c->base_url,
                         .allowed_domains = c->allowed_domains,
                         .functions = c->link_functions,
                         .cache_size = c->link_cache_size ? c->link_cache_size : -1,
                         .cache_ttl_ms = c->link_cache_ttl_ms};
    td_tracker *t = NULL;
    char err[256];
    int rc;

    /* The functions of tracked variables are link functions too. */
    if (vars) {
        if (td_trackvars_functions(vars, c->link_functions, functions, sizeof functions) != 0)
            usage_error(cmd, "too many link functions");
        lc.functions = functions;
    }
    rc = td_tracker_new(st, &lc, &t, err, sizeof err);

    if (rc == TD_EINVAL)
        usage_error(cmd, "%s", err);
    if (rc)
        die("%s", err);
    return t;
}

/* Prints JSON to stdout. */
void cli_print_json(json_t *j)
{
    if (!j)
        die("out of memory");
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    fputc('\n', stdout);
    json_decref(j);
}

/* Prints help and exits 0. */
void cli_help(const char *text)
{
    fputs(text, stdout);
    exit(0);
}

/* Reads a whole file (or standard input for "-") of at most max bytes into b, or dies. */
void cli_read_file(const char *path, size_t max, const char *what, td_buf *b)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char chunk[65536];
    size_t n;

    if (!f)
        die("cannot read %s %s: %s", what, path, strerror(errno));
    td_buf_init(b, max);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (td_buf_add(b, chunk, n) != 0)
            die("%s %s is larger than %zu bytes", what, path, max);
    }
    if (ferror(f))
        die("cannot read %s %s: %s", what, path, strerror(errno));
    if (f != stdin)
        fclose(f);
}

/* Writes the result to FILE through a temporary file and a rename, or to standard output. */
void cli_write_file(const char *path, const td_buf *b)
{
    char tmp[PATH_MAX];
    FILE *f;

    if (!path || strcmp(path, "-") == 0) {
        if (fwrite(td_buf_str(b), 1, b->len, stdout) != b->len || fflush(stdout) != 0)
            die("cannot write the output: %s", strerror(errno));
        return;
    }
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        die("output path too long");
    f = fopen(tmp, "wb");
    if (!f)
        die("cannot write %s: %s", path, strerror(errno));
    if (fwrite(td_buf_str(b), 1, b->len, f) != b->len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        unlink(tmp);
        die("cannot write %s: %s", path, strerror(errno));
    }
    fclose(f);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        die("cannot write %s: %s", path, strerror(errno));
    }
}
