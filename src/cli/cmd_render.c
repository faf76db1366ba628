/* trackdoc render: fills a Mustache template from JSON data; with a job or application id,
 * trackable URL variables become tracked links for that job. */
#include "cli/cli.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "core/id.h"
#include "trackdoc/tmpl.h"

static const char usage[] =
    "usage: trackdoc render TEMPLATE --data DATA.json [options]\n"
    "\n"
    "Renders a Mustache template (sections, partials, inheritance) with JSON data and writes\n"
    "the result to standard output. TEMPLATE or DATA may be - for standard input.\n"
    "\n"
    "  -o, --output FILE         write to FILE instead (replaced whole, never half-written)\n"
    "  --partials DIR            {{> name}} reads DIR/name.mustache (default: the template's\n"
    "                            folder)\n"
    "  --job-id UUID             render for this job: calendly_url, linkedin_url and\n"
    "  --application-id UUID     portfolio_url become tracked links of the job\n"
    "  --track VAR=FUNCTION      track another variable too, e.g. website_url=Website\n"
    "                            (repeatable; TRACKDOC_TRACK_VARS)\n"
    "  --no-tracking             keep original URLs even with a job (ENABLE_URL_TRACKING=false)\n"
    "  --link-type TYPE          label of the links made (default: the template's file name,\n"
    "                            e.g. resume)\n"
    "  --escape html|xml|none    escaping of {{values}} (default: html for .html and .htm\n"
    "                            templates, xml for .xml, none otherwise)\n"
    "  --strict                  a missing variable or partial is an error naming each\n"
    "  --stats                   statistics as JSON on standard error\n"
    "  --db URL, --base-url URL  the link database and the base of tracked links\n"
    "\n"
    "Exit status: 0 rendered, 1 the template, data or output failed, 2 usage error.\n";

enum {
    O_DATA = 256,
    O_PARTIALS,
    O_JOB,
    O_APP,
    O_TRACK,
    O_NO_TRACKING,
    O_LINK_TYPE,
    O_ESCAPE,
    O_STRICT,
    O_STATS,
    O_DB,
    O_BASE,
};

static const struct option options[] = {
    {"data", required_argument, NULL, O_DATA},
    {"output", required_argument, NULL, 'o'},
    {"partials", required_argument, NULL, O_PARTIALS},
    {"job-id", required_argument, NULL, O_JOB},
    {"application-id", required_argument, NULL, O_APP},
    {"track", required_argument, NULL, O_TRACK},
    {"no-tracking", no_argument, NULL, O_NO_TRACKING},
    {"link-type", required_argument, NULL, O_LINK_TYPE},
    {"escape", required_argument, NULL, O_ESCAPE},
    {"strict", no_argument, NULL, O_STRICT},
    {"stats", no_argument, NULL, O_STATS},
    {"db", required_argument, NULL, O_DB},
    {"base-url", required_argument, NULL, O_BASE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

#define DATA_MAX ((size_t)16 << 20)

struct args {
    const char *template_path, *data_path, *output, *partials, *link_type;
    char job[TD_UUID_SIZE], app[TD_UUID_SIZE];
    bool has_job, has_app, no_tracking, strict, stats;
    int escape;   /* -1: from the extension */
    td_buf track; /* the --track values joined by commas */
};

/* Reads a whole file (or standard input for "-") of at most max bytes into b, or dies. */
static void read_input(const char *path, size_t max, const char *what, td_buf *b)
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

/* True when path ends with suffix (any case). */
static bool ends_with(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);

    return n >= m && strcasecmp(path + n - m, suffix) == 0;
}

/* Chooses the escaping from the template's name, as the help text says. */
static td_tmpl_escape escape_for(const char *path)
{
    if (ends_with(path, ".html") || ends_with(path, ".htm") || ends_with(path, ".html.mustache"))
        return TD_TMPL_ESCAPE_HTML;
    if (ends_with(path, ".xml") || ends_with(path, ".xml.mustache"))
        return TD_TMPL_ESCAPE_XML;
    return TD_TMPL_ESCAPE_NONE;
}

/* The default link type: the template's file name up to its first dot ("resume"). */
static void default_link_type(const char *path, char *out, size_t n)
{
    char tmp[PATH_MAX];
    const char *base;

    if (strcmp(path, "-") == 0) {
        snprintf(out, n, "document");
        return;
    }
    snprintf(tmp, sizeof tmp, "%s", path);
    base = basename(tmp);
    snprintf(out, n, "%.*s", (int)TD_MIN(strcspn(base, "."), TD_LINK_TYPE_SIZE - 1), base);
}

/* Writes the result to FILE through a temporary file and a rename, or to standard output. */
static void write_output(const char *path, const td_buf *b)
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

/* Parses the command line into a. */
static void parse(int argc, char **argv, td_config *c, struct args *a)
{
    int opt;

    while ((opt = cli_getopt("render", argc, argv, "o:h", options)) != -1) {
        switch (opt) {
        case O_DATA:
            a->data_path = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case O_PARTIALS:
            a->partials = optarg;
            break;
        case O_JOB:
            if (td_uuid_normalize(optarg, a->job) != 0)
                usage_error("render", "--job-id \"%s\": not a UUID", optarg);
            a->has_job = true;
            break;
        case O_APP:
            if (td_uuid_normalize(optarg, a->app) != 0)
                usage_error("render", "--application-id \"%s\": not a UUID", optarg);
            a->has_app = true;
            break;
        case O_TRACK:
            if ((a->track.len && td_buf_addc(&a->track, ',')) || td_buf_adds(&a->track, optarg))
                usage_error("render", "too many --track values");
            break;
        case O_NO_TRACKING:
            a->no_tracking = true;
            break;
        case O_LINK_TYPE:
            if (strlen(optarg) == 0 || strlen(optarg) >= TD_LINK_TYPE_SIZE)
                usage_error("render", "--link-type: 1 to %d bytes", TD_LINK_TYPE_SIZE - 1);
            a->link_type = optarg;
            break;
        case O_ESCAPE:
            if (strcmp(optarg, "html") == 0)
                a->escape = TD_TMPL_ESCAPE_HTML;
            else if (strcmp(optarg, "xml") == 0)
                a->escape = TD_TMPL_ESCAPE_XML;
            else if (strcmp(optarg, "none") == 0)
                a->escape = TD_TMPL_ESCAPE_NONE;
            else
                usage_error("render", "--escape \"%s\": expected html, xml or none", optarg);
            break;
        case O_STRICT:
            a->strict = true;
            break;
        case O_STATS:
            a->stats = true;
            break;
        case O_DB:
            if (strlen(optarg) >= sizeof c->db)
                usage_error("render", "--db is too long");
            snprintf(c->db, sizeof c->db, "%s", optarg);
            break;
        case O_BASE:
            if (strlen(optarg) >= sizeof c->base_url)
                usage_error("render", "--base-url is too long");
            snprintf(c->base_url, sizeof c->base_url, "%s", optarg);
            break;
        case 'h':
            cli_help(usage);
        }
    }
    if (optind < argc)
        a->template_path = argv[optind++];
    if (optind < argc)
        usage_error("render", "unexpected argument '%s'", argv[optind]);
    if (!a->template_path)
        usage_error("render", "give the template: trackdoc render TEMPLATE --data DATA.json");
    if (!a->data_path)
        usage_error("render", "--data is required (a JSON file, or - for standard input)");
    if (strcmp(a->template_path, "-") == 0 && strcmp(a->data_path, "-") == 0)
        usage_error("render", "the template and --data cannot both be standard input");
    if (ends_with(a->template_path, ".docx"))
        usage_error("render", "%s: .docx templates are not supported by this build",
                    a->template_path);
}

/* Opens what tracking needs. A failing database does not stop the render: the document is
 * made with original URLs and the failures are counted (and reported by --stats). */
static td_tracker *open_tracking(const td_config *c, const td_trackvars *vars, td_store **st)
{
    td_store_options o = {.pool_size = 1, .sync = c->sqlite_sync};
    char err[512];

    *st = NULL;
    if (td_store_open(c->db, &o, st, err, sizeof err) != 0) {
        warn("tracking unavailable, original URLs are used: database %s: %s", c->db, err);
        return NULL;
    }
    return cli_tracker_new("render", c, *st, vars);
}

/* Builds the --stats document. */
static json_t *stats_json(const td_track_ctx *tc, const td_tmpl_stats *ts)
{
    json_t *o = td_track_ctx_json(tc), *missing = json_array();

    if (!o || !missing)
        die("out of memory");
    for (size_t i = 0; i < ts->missing_len; i++)
        json_array_append_new(missing, json_string(ts->missing[i]));
    json_object_set_new(o, "variables_substituted",
                        json_integer((json_int_t)ts->variables_substituted));
    json_object_set_new(o, "variables_missing", missing);
    json_object_set_new(o, "variables_missing_truncated", json_boolean(ts->missing_truncated));
    return o;
}

/* Runs the render command. */
int cmd_render(int argc, char **argv)
{
    struct args a = {.escape = -1};
    td_config c;
    td_trackvars *vars;
    td_store *st = NULL;
    td_tracker *tr = NULL;
    td_tmpl_dir *dir = NULL;
    td_tmpl *t = NULL;
    td_tmpl_opts topts = {0};
    td_tmpl_render_opts ropts = {0};
    td_tmpl_stats stats = {0};
    td_tmpl_error terr = {0};
    td_track_ctx tc;
    td_buf src, data_text, out;
    json_t *data;
    json_error_t jerr;
    char dirbuf[PATH_MAX], link_type[TD_LINK_TYPE_SIZE];
    struct stat sb;
    bool tracking;
    int rc;

    td_buf_init(&a.track, 8192);
    cli_config_load("render", &c);
    parse(argc, argv, &c, &a);
    vars = cli_trackvars_new("render", &c, a.track.len ? td_buf_str(&a.track) : NULL);

    read_input(a.template_path, TD_TMPL_DEFAULT_MAX_SIZE, "template", &src);
    read_input(a.data_path, DATA_MAX, "data", &data_text);
    data = json_loadb(data_text.data ? data_text.data : "", data_text.len, 0, &jerr);
    if (!data)
        die("data %s: invalid JSON at line %d, column %d: %s", a.data_path, jerr.line, jerr.column,
            jerr.text);

    if (!a.partials) {
        snprintf(dirbuf, sizeof dirbuf, "%s",
                 strcmp(a.template_path, "-") == 0 ? "." : a.template_path);
        a.partials = strcmp(a.template_path, "-") == 0 ? "." : dirname(dirbuf);
    }
    if (stat(a.partials, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
        td_tmpl_dir_new(a.partials, TD_TMPL_DEFAULT_MAX_SIZE, &dir) != 0)
        usage_error("render", "--partials %s: not a readable folder", a.partials);
    topts.partial = td_tmpl_dir_loader;
    topts.partial_ud = dir;
    rc = td_tmpl_compile(td_buf_str(&src), src.len, &topts, &t, &terr);
    if (rc)
        die("%s:%d:%d: %s", a.template_path, terr.line, terr.col, terr.message);

    tracking = c.enable_url_tracking && !a.no_tracking && (a.has_job || a.has_app);
    if (tracking)
        tr = open_tracking(&c, vars, &st);
    if (!a.link_type) {
        default_link_type(a.template_path, link_type, sizeof link_type);
        a.link_type = link_type;
    }
    td_track_ctx_init(&tc, tr, vars, a.has_job ? a.job : NULL, a.has_app ? a.app : NULL,
                      a.link_type, tracking);
    ropts.escape = a.escape >= 0 ? (td_tmpl_escape)a.escape : escape_for(a.template_path);
    ropts.strict = a.strict;
    ropts.value_hook = td_track_value_hook;
    ropts.hook_names = td_trackvars_mask(vars);
    ropts.hook_ud = &tc;
    td_buf_init(&out, TD_TMPL_DEFAULT_MAX_OUTPUT);
    rc = td_tmpl_render(t, data, &ropts, &out, &stats, &terr);
    if (a.stats) {
        json_t *s = stats_json(&tc, &stats);
        json_dumpf(s, stderr, JSON_INDENT(2));
        fputc('\n', stderr);
        json_decref(s);
    }
    if (rc)
        die("%s:%d:%d: %s", a.template_path, terr.line, terr.col, terr.message);
    write_output(a.output, &out);

    td_track_ctx_release(&tc);
    td_tmpl_stats_release(&stats);
    td_tmpl_free(t);
    td_tmpl_dir_free(dir);
    td_tracker_free(tr);
    td_store_close(st);
    td_trackvars_free(vars);
    json_decref(data);
    td_buf_release(&out);
    td_buf_release(&src);
    td_buf_release(&data_text);
    td_buf_release(&a.track);
    return 0;
}
