/* trackdoc render: fills a Mustache template from JSON data; with a job or application id,
 * trackable URL variables become tracked links for that job. */
#include "cli/cli.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "core/id.h"
#include "trackdoc/docx.h"
#include "trackdoc/model.h"
#include "trackdoc/tmpl.h"

static const char usage[] =
    "usage: trackdoc render TEMPLATE --data DATA.json [options]\n"
    "\n"
    "Renders a Mustache template (sections, partials, inheritance) with JSON data and writes\n"
    "the result to standard output. TEMPLATE or DATA may be - for standard input. A .docx\n"
    "template gives a .docx (give -o): text, headers, footers, hyperlink targets and field\n"
    "codes are rendered, and hyperlinks to the candidate's URLs become tracked links too.\n"
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
    "  --model resume|cover-letter|none\n"
    "                            shape the data for the built-in templates (the API payload or\n"
    "                            a JSON Resume document; see docs/template-variables.md);\n"
    "                            default: from the template's name (resume*, cover_letter*,\n"
    "                            cover-letter*), none otherwise\n"
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
    O_MODEL,
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
    {"model", required_argument, NULL, O_MODEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

#define DATA_MAX ((size_t)16 << 20)
#define DOCX_MAX ((size_t)20 << 20)
#define OUTPUT_DOCX_MAX ((size_t)256 << 20)

struct args {
    const char *template_path, *data_path, *output, *partials, *link_type;
    char job[TD_UUID_SIZE], app[TD_UUID_SIZE];
    bool has_job, has_app, no_tracking, strict, stats;
    const char *model; /* "resume", "cover-letter", "none", or NULL: from the name */
    int escape;        /* -1: from the extension */
    td_buf track;      /* the --track values joined by commas */
};

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
            cli_set_db("render", c, optarg);
            break;
        case O_MODEL:
            if (strcmp(optarg, "resume") != 0 && strcmp(optarg, "cover-letter") != 0 &&
                strcmp(optarg, "cover_letter") != 0 && strcmp(optarg, "none") != 0)
                usage_error("render", "--model \"%s\": expected resume, cover-letter or none",
                            optarg);
            a->model = optarg;
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

/* Renders a text template (Mustache, with partials); fills out, stats and err. */
static int render_text(const struct args *a, const json_t *data, td_track_ctx *tc,
                       const td_trackvars *vars, const td_buf *src, td_buf *out,
                       td_tmpl_stats *stats, td_tmpl_error *err)
{
    td_tmpl_opts topts = {0};
    td_tmpl_render_opts ropts = {0};
    td_tmpl_dir *dir = NULL;
    td_tmpl *t = NULL;
    char dirbuf[PATH_MAX];
    const char *partials = a->partials;
    struct stat sb;
    int rc;

    if (!partials) {
        snprintf(dirbuf, sizeof dirbuf, "%s",
                 strcmp(a->template_path, "-") == 0 ? "." : a->template_path);
        partials = strcmp(a->template_path, "-") == 0 ? "." : dirname(dirbuf);
    }
    if (stat(partials, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
        td_tmpl_dir_new(partials, TD_TMPL_DEFAULT_MAX_SIZE, &dir) != 0)
        usage_error("render", "--partials %s: not a readable folder", partials);
    topts.partial = td_tmpl_dir_loader;
    topts.partial_ud = dir;
    rc = td_tmpl_compile(td_buf_str(src), src->len, &topts, &t, err);
    if (rc == 0) {
        ropts.escape = a->escape >= 0 ? (td_tmpl_escape)a->escape : escape_for(a->template_path);
        ropts.strict = a->strict;
        ropts.value_hook = td_track_value_hook;
        ropts.hook_names = td_trackvars_mask(vars);
        ropts.hook_ud = tc;
        rc = td_tmpl_render(t, data, &ropts, out, stats, err);
    }
    td_tmpl_free(t);
    td_tmpl_dir_free(dir);
    return rc;
}

/* The data model for a template: --model, else guessed from the file name. */
static const char *model_for(const struct args *a)
{
    char tmp[PATH_MAX];
    const char *base;

    if (a->model)
        return a->model;
    if (strcmp(a->template_path, "-") == 0)
        return "none";
    snprintf(tmp, sizeof tmp, "%s", a->template_path);
    base = basename(tmp);
    if (strncasecmp(base, "resume", 6) == 0)
        return "resume";
    if (strncasecmp(base, "cover_letter", 12) == 0 || strncasecmp(base, "cover-letter", 12) == 0)
        return "cover-letter";
    return "none";
}

/* Returns data's personal.full_name (or full_name, or basics.name), or NULL. */
static const char *person_name(const json_t *data)
{
    const json_t *v = json_object_get(json_object_get(data, "personal"), "full_name");

    if (!json_is_string(v))
        v = json_object_get(data, "full_name");
    if (!json_is_string(v))
        v = json_object_get(json_object_get(data, "basics"), "name");
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Renders a .docx template: text, hyperlink targets and field codes; the document's title
 * and author come from the data's name. */
static int render_docx(const struct args *a, const json_t *data, td_track_ctx *tc,
                       const td_trackvars *vars, const td_buf *src, td_buf *out,
                       td_docx_stats *stats, td_tmpl_error *err)
{
    td_docx_opts o = {0};
    const char *name = person_name(data);
    char title[300];

    if (name)
        snprintf(title, sizeof title, "%s – %s", name, a->link_type);
    o.value_hook = td_track_value_hook;
    o.hook_ud = tc;
    o.hook_names = td_trackvars_mask(vars);
    o.link_hook = td_track_link_hook;
    o.link_ud = tc;
    o.strict = a->strict;
    o.title = name ? title : NULL;
    o.creator = name;
    td_track_ctx_set_data(tc, data);
    return td_docx_render(src->data, src->len, data, &o, out, stats, err);
}

/* Runs the render command. */
int cmd_render(int argc, char **argv)
{
    struct args a = {.escape = -1};
    td_config c;
    td_trackvars *vars;
    td_store *st = NULL;
    td_tracker *tr = NULL;
    td_docx_stats dstats = {0};
    td_tmpl_stats *stats = &dstats.tmpl;
    td_tmpl_error terr = {0};
    td_track_ctx tc;
    td_buf src, data_text, out;
    json_t *data;
    json_error_t jerr;
    char link_type[TD_LINK_TYPE_SIZE];
    bool tracking, docx;
    int rc;

    td_buf_init(&a.track, 8192);
    cli_config_load("render", &c);
    parse(argc, argv, &c, &a);
    vars = cli_trackvars_new("render", &c, a.track.len ? td_buf_str(&a.track) : NULL);
    /* A Word package is told by its content (a zip), whatever its name: .docx, .dotx, or -. */
    cli_read_file(a.template_path, DOCX_MAX, "template", &src);
    docx = ends_with(a.template_path, ".docx") ||
           (src.len >= 4 && memcmp(src.data, "PK\x03\x04", 4) == 0);
    if (!docx && src.len > TD_TMPL_DEFAULT_MAX_SIZE)
        die("template %s is larger than %zu bytes", a.template_path,
            (size_t)TD_TMPL_DEFAULT_MAX_SIZE);
    if (docx && (a.partials || a.escape >= 0))
        usage_error("render", "--partials and --escape do not apply to .docx templates");
    if (docx && !a.output && isatty(STDOUT_FILENO))
        usage_error("render", "a .docx goes to a file: give -o FILE.docx");
    cli_read_file(a.data_path, DATA_MAX, "data", &data_text);
    data = json_loadb(data_text.data ? data_text.data : "", data_text.len, 0, &jerr);
    if (!data)
        die("data %s: invalid JSON at line %d, column %d: %s", a.data_path, jerr.line, jerr.column,
            jerr.text);
    if (strcmp(model_for(&a), "none") != 0) {
        json_t *shaped = NULL;
        char merr[256];
        if (td_model_apply(model_for(&a), data, &shaped, merr, sizeof merr) != 0) {
            json_decref(data); /* die() exits: nothing may stay allocated behind it */
            die("data %s: %s", a.data_path, merr);
        }
        json_decref(data);
        data = shaped;
    }

    tracking = c.enable_url_tracking && !a.no_tracking && (a.has_job || a.has_app);
    if (tracking)
        tr = open_tracking(&c, vars, &st);
    if (!a.link_type) {
        default_link_type(a.template_path, link_type, sizeof link_type);
        a.link_type = link_type;
    }
    td_track_ctx_init(&tc, tr, vars, a.has_job ? a.job : NULL, a.has_app ? a.app : NULL,
                      a.link_type, tracking);
    td_buf_init(&out, docx ? OUTPUT_DOCX_MAX : TD_TMPL_DEFAULT_MAX_OUTPUT);
    if (docx)
        rc = render_docx(&a, data, &tc, vars, &src, &out, &dstats, &terr);
    else
        rc = render_text(&a, data, &tc, vars, &src, &out, stats, &terr);
    if (a.stats) {
        json_t *s = stats_json(&tc, stats);
        if (docx) {
            json_object_set_new(s, "links_rewritten",
                                json_integer((json_int_t)dstats.links_rewritten));
            json_object_set_new(s, "parts_rendered",
                                json_integer((json_int_t)dstats.parts_rendered));
        }
        json_dumpf(s, stderr, JSON_INDENT(2));
        fputc('\n', stderr);
        json_decref(s);
    }
    if (rc) {
        char msg[600];
        if (docx || rc == TD_EDOCX || rc == TD_EUNSAFE)
            snprintf(msg, sizeof msg, "%s: %s", a.template_path,
                     terr.message[0] ? terr.message : td_strerror(rc));
        else
            snprintf(msg, sizeof msg, "%s:%d:%d: %s", a.template_path, terr.line, terr.col,
                     terr.message);
        /* Everything is freed before exiting, so that leak checks see a clean exit. */
        td_track_ctx_release(&tc);
        if (docx)
            td_docx_stats_release(&dstats);
        else
            td_tmpl_stats_release(stats);
        td_tracker_free(tr);
        td_store_close(st);
        td_trackvars_free(vars);
        json_decref(data);
        td_buf_release(&out);
        td_buf_release(&src);
        td_buf_release(&data_text);
        td_buf_release(&a.track);
        die("%s", msg);
    }
    cli_write_file(a.output, &out);

    td_track_ctx_release(&tc);
    if (docx)
        td_docx_stats_release(&dstats);
    else
        td_tmpl_stats_release(stats);
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
