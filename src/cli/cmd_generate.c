/* trackdoc generate: one tracked document per row of a jobs CSV, from one template and one base
 * payload, written to a folder; a progress bar on a terminal, a summary at the end, exit 1 when
 * a row failed. The documents come from the document service (td_generate), as over HTTP. */
#include "cli/cli.h"

#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>

#include "cli/mapping.h"
#include "core/csv.h"
#include "core/id.h"
#include "core/time.h"
#include "trackdoc/docx.h"
#include "trackdoc/generate.h"

static const char usage[] =
    "usage: trackdoc generate --template T --data BASE.json --jobs JOBS.csv --out DIR [options]\n"
    "\n"
    "Makes one document per row of JOBS.csv from the template T and the payload BASE.json (the\n"
    "body of POST /resume or POST /cover-letter, or a JSON Resume document). The links of each\n"
    "document (calendly_url, linkedin_url, portfolio_url, ...) are tracked for that row's job.\n"
    "A bad row is reported and skipped; the others are still made.\n"
    "\n"
    "  -t, --template T     a built-in template name (resume, cover_letter; from\n"
    "                       TRACKDOC_TEMPLATES_DIR) or a template file: .docx, .html, .md, .txt\n"
    "  -d, --data FILE      the base payload, JSON (- for standard input)\n"
    "  -j, --jobs FILE      the jobs, CSV with a header line (- for standard input): a column\n"
    "                       job_id (a UUID per row), optionally application_id; every column\n"
    "                       becomes a variable of the template ({{company}}, {{title}}, ...);\n"
    "                       at most 10000 rows\n"
    "  -o, --out DIR        where the documents go (created when missing); a file is never\n"
    "                       replaced: KIND_First_Last_COMPANY.EXT, then _2, _3 ...\n"
    "  --map MAPPING.csv    T is a finished .docx: turn it into a template with this mapping\n"
    "                       first (as 'trackdoc template convert' does), then use it\n"
    "  --kind KIND          resume or cover_letter (default: cover_letter when the template's\n"
    "                       name starts with \"cover\", else resume); for a cover letter, the\n"
    "                       columns company and title fill recipient.company and position.title\n"
    "                       when BASE.json leaves them empty\n"
    "  --format FORMAT      docx, html, md or txt for a built-in template (default docx); a\n"
    "                       template file's format is its extension\n"
    "  --no-tracking        keep the original URLs (ENABLE_URL_TRACKING=false)\n"
    "  --db URL             the link database (default var/trackdoc.db; TRACKDOC_DB)\n"
    "  --base-url URL       base of the tracked links (TRACKDOC_BASE_URL)\n"
    "  --json               the summary as JSON on standard output, one entry per row\n"
    "  --help               this text\n"
    "\n"
    "Progress goes to standard error: a bar on a terminal, else a line per row. The summary\n"
    "goes to standard output.\n"
    "Exit status: 0 every row made, 1 a row failed (or the input cannot be read), 2 usage error.\n";

enum {
    O_MAP = 256,
    O_KIND,
    O_FORMAT,
    O_NO_TRACKING,
    O_DB,
    O_BASE,
    O_JSON,
};

static const struct option options[] = {
    {"template", required_argument, NULL, 't'},
    {"data", required_argument, NULL, 'd'},
    {"jobs", required_argument, NULL, 'j'},
    {"out", required_argument, NULL, 'o'},
    {"map", required_argument, NULL, O_MAP},
    {"kind", required_argument, NULL, O_KIND},
    {"format", required_argument, NULL, O_FORMAT},
    {"no-tracking", no_argument, NULL, O_NO_TRACKING},
    {"db", required_argument, NULL, O_DB},
    {"base-url", required_argument, NULL, O_BASE},
    {"json", no_argument, NULL, O_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

#define JOBS_MAX_ROWS 10000
#define JOBS_MAX_BYTES ((size_t)32 << 20)
#define DATA_MAX ((size_t)16 << 20)
#define DOCX_MAX ((size_t)20 << 20)
#define CONVERTED_MAX ((size_t)256 << 20)
#define NAME_MAX_LEN 64     /* template names, as the document service takes them */
#define COMPANY_PART_MAX 48 /* bytes of the company in a file name */
#define UNIQUE_TRIES 1000   /* _2 ... _1000 before a row fails for want of a name */
#define FAILURES_LISTED 20  /* failed rows named in the text summary */
#define BAR_WIDTH 24

static const char *const formats[] = {"docx", "html", "md", "txt"};

struct args {
    const char *template_arg, *data, *jobs, *out, *map, *kind, *format;
    bool no_tracking, json;
};

/* The template as the document service takes it: a folder, a name and a format. */
struct tpl {
    char dir[PATH_MAX];
    char name[NAME_MAX_LEN + 1];
    const char *format;
    const char *kind;
};

/* The outcome of one row. */
enum row_status { ROW_SKIPPED, ROW_OK, ROW_FAILED };

struct row_result {
    size_t line;
    const char *job_id; /* the cell as written (points into the CSV table) */
    enum row_status status;
    char *file;  /* DIR/NAME, malloc'd; NULL unless ok */
    char *error; /* malloc'd; NULL unless failed */
    long urls_tracked, tracking_failures;
};

/* The columns of the jobs CSV that the command reads itself. */
struct columns {
    int job, app, company, title;
};

/* Everything a run works with. */
struct run {
    const struct args *a;
    struct tpl *t;
    td_generator *gen;
    const json_t *base;
    const td_csv *jobs;
    struct columns col;
    struct row_result *res;
    size_t nrows;
    bool tty;
    bool template_broken; /* the first rows failed for the template: stop */
    size_t done, ok, failed;
    long urls_tracked, tracking_failures;
};

/* The folder where a --map template or an oddly named one is staged; removed at exit. */
static char staged_dir[PATH_MAX];
static char staged_file[PATH_MAX + 100];

/* Set by SIGINT or SIGTERM: stop after the row in progress and report. */
static volatile sig_atomic_t interrupted;

/* Removes the staged template and its folder (atexit, so that die() cleans up too). */
static void remove_staged(void)
{
    if (staged_file[0])
        unlink(staged_file);
    if (staged_dir[0])
        rmdir(staged_dir);
    staged_file[0] = staged_dir[0] = '\0';
}

/* Asks the loop to stop. */
static void on_signal(int sig)
{
    TD_UNUSED(sig);
    interrupted = 1;
}

/* ------------------------------------------------------------------------------ arguments */

/* Parses the command line into a; a bad argument is a usage error naming it. */
static void parse(int argc, char **argv, td_config *c, struct args *a)
{
    int opt;

    while ((opt = cli_getopt("generate", argc, argv, "t:d:j:o:h", options)) != -1) {
        switch (opt) {
        case 't':
            a->template_arg = optarg;
            break;
        case 'd':
            a->data = optarg;
            break;
        case 'j':
            a->jobs = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case O_MAP:
            a->map = optarg;
            break;
        case O_KIND:
            if (strcmp(optarg, "resume") == 0)
                a->kind = "resume";
            else if (strcmp(optarg, "cover_letter") == 0 || strcmp(optarg, "cover-letter") == 0)
                a->kind = "cover_letter";
            else
                usage_error("generate", "--kind \"%s\": expected resume or cover_letter", optarg);
            break;
        case O_FORMAT:
            a->format = NULL;
            for (size_t i = 0; i < TD_ARRAY_SIZE(formats); i++)
                if (strcasecmp(optarg, formats[i]) == 0)
                    a->format = formats[i];
            if (!a->format)
                usage_error("generate", "--format \"%s\": expected docx, html, md or txt", optarg);
            break;
        case O_NO_TRACKING:
            a->no_tracking = true;
            break;
        case O_DB:
            cli_set_db("generate", c, optarg);
            break;
        case O_BASE:
            if (strlen(optarg) >= sizeof c->base_url)
                usage_error("generate", "--base-url is longer than %zu bytes",
                            sizeof c->base_url - 1);
            snprintf(c->base_url, sizeof c->base_url, "%s", optarg);
            break;
        case O_JSON:
            a->json = true;
            break;
        case 'h':
            cli_help(usage);
        }
    }
    if (optind < argc)
        usage_error("generate", "unexpected argument '%s'", argv[optind]);
    if (!a->template_arg)
        usage_error("generate", "--template is required (resume, cover_letter or a file)");
    if (!a->data)
        usage_error("generate", "--data is required (the base payload, JSON)");
    if (!a->jobs)
        usage_error("generate", "--jobs is required (a CSV file with a job_id column)");
    if (!a->out)
        usage_error("generate", "--out is required (the folder for the documents)");
    if (!*a->template_arg || !*a->data || !*a->jobs || !*a->out)
        usage_error("generate", "--template, --data, --jobs and --out take a non-empty value");
    if (strcmp(a->data, "-") == 0 && strcmp(a->jobs, "-") == 0)
        usage_error("generate", "--data and --jobs cannot both be standard input");
}

/* True when s is a template name as the document service takes it: 1-64 of [A-Za-z0-9_-]. */
static bool template_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

/* ------------------------------------------------------------------------------ template */

/* Writes b to path, created new (mode 0600: the folder is private); dies on failure. */
static void write_new(const char *path, const td_buf *b)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t off = 0;

    if (fd < 0)
        die("cannot write %s: %s", path, strerror(errno));
    while (off < b->len) {
        ssize_t n = write(fd, b->data + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            die("cannot write %s: %s", path, strerror(errno));
        }
        off += (size_t)n;
    }
    if (close(fd) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

/* Puts doc (the template's bytes) in a private temporary folder as NAME.FORMAT and points t
 * there: for a --map conversion, or a file whose name the document service would refuse. */
static void stage(struct tpl *t, const td_buf *doc)
{
    const char *tmp = getenv("TMPDIR");

    if (!tmp || !*tmp || strlen(tmp) > PATH_MAX - 200)
        tmp = "/tmp";
    snprintf(staged_dir, sizeof staged_dir, "%s/trackdoc-generate.XXXXXX", tmp);
    if (!mkdtemp(staged_dir)) {
        int e = errno;
        staged_dir[0] = '\0';
        die("cannot make a temporary folder in %s: %s", tmp, strerror(e));
    }
    atexit(remove_staged);
    snprintf(staged_file, sizeof staged_file, "%s/%s.%s", staged_dir, t->name, t->format);
    write_new(staged_file, doc);
    snprintf(t->dir, sizeof t->dir, "%s", staged_dir);
}

/* Turns the finished .docx at path into a template with the mapping (--map) into out. */
static void convert(const char *path, const char *map, td_buf *out)
{
    td_docx_mapping_row *rows = NULL;
    td_csv table;
    td_buf in;
    size_t n, *found;
    int rc;

    n = cli_read_mapping(map, &table, &rows);
    cli_read_file(path, DOCX_MAX, "template", &in);
    if (!(found = calloc(n ? n : 1, sizeof *found)))
        die("out of memory");
    td_buf_init(out, CONVERTED_MAX);
    rc = td_docx_convert(in.data, in.len, rows, n, NULL, out, found);
    if (rc) {
        char why[512] = "";
        if (rc == TD_EDOCX || rc == TD_EUNSAFE)
            td_docx_check(in.data, in.len, NULL, why, sizeof why);
        free(found);
        free(rows);
        td_csv_release(&table);
        td_buf_release(&in);
        td_buf_release(out);
        die("%s: %s", path, *why ? why : td_strerror(rc));
    }
    for (size_t i = 0; i < n; i++)
        if (found[i] == 0)
            warn("--map: not found in %s: \"%.80s\"", path, rows[i].original_text);
    free(found);
    free(rows);
    td_csv_release(&table);
    td_buf_release(&in);
}

/* Resolves --template (with --format, --kind and --map) into the folder, name, format and
 * kind of the document service. Built-in names must exist in the templates folder. */
static void resolve_template(const struct args *a, const td_config *c, struct tpl *t)
{
    const char *arg = a->template_arg, *slash = strrchr(arg, '/');
    const char *base = slash ? slash + 1 : arg, *dot = strrchr(base, '.');
    size_t stem = dot ? (size_t)(dot - base) : strlen(base);
    struct stat sb;
    char path[PATH_MAX + 100];
    bool staged = false;
    td_buf doc;

    if (!slash && !dot) {
        /* A built-in (or TRACKDOC_TEMPLATES_DIR) template. */
        if (a->map)
            usage_error("generate", "--map converts a finished .docx: give its path as --template");
        if (!template_name_ok(arg, strlen(arg)))
            usage_error("generate",
                        "--template \"%.80s\": a template name is 1 to %d letters, digits, '_' "
                        "or '-'; a file needs its extension (.docx, .html, .md, .txt)",
                        arg, NAME_MAX_LEN);
        t->format = a->format ? a->format : "docx";
        snprintf(t->dir, sizeof t->dir, "%s", c->templates_dir);
        snprintf(t->name, sizeof t->name, "%s", arg);
        snprintf(path, sizeof path, "%s/%s.%s", t->dir, t->name, t->format);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            usage_error("generate",
                        "--template \"%s\": there is no template %s.%s in %s (built-in: resume, "
                        "cover_letter)",
                        arg, t->name, t->format, t->dir);
    } else {
        t->format = NULL;
        for (size_t i = 0; dot && i < TD_ARRAY_SIZE(formats); i++)
            if (strcasecmp(dot + 1, formats[i]) == 0)
                t->format = formats[i];
        if (!t->format)
            usage_error("generate",
                        "--template \"%.200s\": a template file ends in .docx, .html, .md or .txt",
                        arg);
        if (a->format && strcmp(a->format, t->format) != 0)
            usage_error("generate", "--format %s does not match the template %.200s", a->format,
                        arg);
        if (a->map && strcmp(t->format, "docx") != 0)
            usage_error("generate", "--map converts a finished .docx, not %.200s", arg);
        if (stat(arg, &sb) != 0)
            die("cannot read template %s: %s", arg, strerror(errno));
        if (!S_ISREG(sb.st_mode))
            die("cannot read template %s: not a regular file", arg);
        /* The service reads DIR/NAME.FORMAT: other names (and RESUME.DOCX) go through a copy. */
        if (template_name_ok(base, stem) && strcmp(dot + 1, t->format) == 0) {
            snprintf(t->name, sizeof t->name, "%.*s", (int)stem, base);
            if (slash)
                snprintf(t->dir, sizeof t->dir, "%.*s", (int)(slash - arg), arg);
            else
                snprintf(t->dir, sizeof t->dir, ".");
            if (!t->dir[0])
                snprintf(t->dir, sizeof t->dir, "/");
        } else {
            snprintf(t->name, sizeof t->name, "template");
            staged = true;
        }
        if (a->map) {
            convert(arg, a->map, &doc);
            stage(t, &doc);
            td_buf_release(&doc);
        } else if (staged) {
            cli_read_file(arg, DOCX_MAX, "template", &doc);
            stage(t, &doc);
            td_buf_release(&doc);
        }
    }
    if (a->kind)
        t->kind = a->kind;
    else
        t->kind = strncasecmp(base, "cover", 5) == 0 ? "cover_letter" : "resume";
}

/* ------------------------------------------------------------------------------ jobs CSV */

/* Returns the cell of column col in row r, "" when the row is short or the column missing. */
static const char *cell(const td_csv_row *r, int col)
{
    return col >= 0 && (size_t)col < r->n ? r->fields[col] : "";
}

/* Writes the message for a header line without job_id, naming the columns it has. */
static void header_missing(const char *path, const td_csv_row *head, char *msg, size_t n)
{
    size_t len;

    snprintf(msg, n, "jobs %s: no column \"job_id\" in the header line (line %zu has:", path,
             head->line);
    for (size_t i = 0; i < head->n && (len = strlen(msg)) < n - 80; i++)
        snprintf(msg + len, n - len, "%s \"%.40s\"", i ? "," : "", head->fields[i]);
    len = strlen(msg);
    snprintf(msg + len, n - len, ")");
}

/* Reads and checks the jobs CSV: a header line with job_id, then 1 to JOBS_MAX_ROWS rows. */
static void read_jobs(const char *path, td_csv *t, struct columns *col)
{
    td_buf text;
    char err[256], msg[600] = "";

    cli_read_file(path, JOBS_MAX_BYTES, "jobs", &text);
    memset(t, 0, sizeof *t);
    if (td_csv_parse(td_buf_str(&text), text.len, JOBS_MAX_ROWS + 1, t, err, sizeof err) != 0)
        snprintf(msg, sizeof msg, "jobs %s: %s (at most %d rows)", path, err, JOBS_MAX_ROWS);
    else if (t->n == 0)
        snprintf(msg, sizeof msg,
                 "jobs %s is empty: give a header line with a job_id column, then a row per job",
                 path);
    else if ((col->job = td_csv_column(&t->rows[0], "job_id")) < 0)
        header_missing(path, &t->rows[0], msg, sizeof msg);
    else if (t->n == 1)
        snprintf(msg, sizeof msg, "jobs %s has no rows below its header line", path);
    td_buf_release(&text);
    if (msg[0]) {
        td_csv_release(t);
        die("%s", msg);
    }
    col->app = td_csv_column(&t->rows[0], "application_id");
    col->company = td_csv_column(&t->rows[0], "company");
    col->title = td_csv_column(&t->rows[0], "title");
}

/* Returns s without the blanks around it, in buf (n bytes). */
static const char *trimmed(const char *s, char *buf, size_t n)
{
    size_t len;

    while (isspace((unsigned char)*s))
        s++;
    len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    snprintf(buf, n, "%.*s", (int)TD_MIN(len, n - 1), s);
    return buf;
}

/* Builds the variables of a row: each column named in the header, with a non-empty cell, by
 * its header name (blanks around it removed; the first of two equal names wins). Sets err on
 * a cell that is not UTF-8. Returns a new object, or NULL. */
static json_t *row_vars(const td_csv_row *head, const td_csv_row *r, char *err, size_t errsz)
{
    json_t *o = json_object(), *v;
    char name[256];

    if (!o) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < head->n && i < r->n; i++) {
        trimmed(head->fields[i], name, sizeof name);
        if (!name[0] || !r->fields[i][0] || json_object_get(o, name))
            continue;
        if (!(v = json_string(r->fields[i])) || json_object_set_new(o, name, v) != 0) {
            snprintf(err, errsz, "column %.100s is not valid UTF-8 text", name);
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* True when member key of object o (which may be absent or not an object) is absent, null or
 * an empty string: a value the row may fill in. */
static bool unset(const json_t *o, const char *key)
{
    const json_t *v;

    if (o && !json_is_object(o))
        return false; /* the model reports the wrong type */
    v = o ? json_object_get(o, key) : NULL;
    return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

/* Sets member key of the object at parent[name] (created when absent) to value. */
static int fill(json_t *parent, const char *name, const char *key, const char *value)
{
    json_t *o = json_object_get(parent, name);

    if (!json_is_object(o)) {
        if (!(o = json_object()) || json_object_set_new(parent, name, o) != 0)
            return TD_ENOMEM;
    }
    return json_object_set_new(o, key, json_string(value)) == 0 ? 0 : TD_ENOMEM;
}

/* The payload of a row: the base, and for a cover letter the row's company and title where the
 * base leaves recipient.company and position.title empty. Returns a new reference or NULL. */
static json_t *row_payload(const struct run *w, const char *company, const char *title)
{
    const json_t *rec = json_object_get(w->base, "recipient");
    const json_t *pos = json_object_get(w->base, "position");
    bool fill_company, fill_title;
    json_t *p;

    if (strcmp(w->t->kind, "cover_letter") != 0)
        return json_incref((json_t *)w->base);
    fill_company = *company && unset(rec, "company");
    fill_title = *title && unset(pos, "title");
    if (!fill_company && !fill_title)
        return json_incref((json_t *)w->base);
    if (!(p = json_deep_copy(w->base)))
        return NULL;
    if ((fill_company && fill(p, "recipient", "company", company) != 0) ||
        (fill_title && fill(p, "position", "title", title) != 0)) {
        json_decref(p);
        return NULL;
    }
    return p;
}

/* -------------------------------------------------------------------------------- output */

/* Creates every missing folder of path (mode 0777 less the umask). Returns 0 or -1. */
static int mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    struct stat sb;

    if (strlen(path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return -1;
    if (stat(tmp, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Appends the file-name form of a company to out (n bytes): letters and digits (accented ones
 * too, as UTF-8), anything else as one '-', at most COMPANY_PART_MAX bytes, cut between
 * characters. */
static void company_part(const char *s, char *out, size_t n)
{
    size_t o = strlen(out), lim = TD_MIN(n - 1, o + COMPANY_PART_MAX), start = o;
    const unsigned char *p = (const unsigned char *)s;
    bool dash = false;

    while (*p) {
        size_t k = 1;
        if (*p >= 0x80)
            while ((p[k] & 0xC0) == 0x80)
                k++;
        if (*p < 0x80 && !isalnum(*p)) {
            dash = o > start;
            p++;
            continue;
        }
        if (o + (dash ? 1 : 0) + k > lim)
            break;
        if (dash)
            out[o++] = '-';
        dash = false;
        memcpy(out + o, p, k);
        o += k;
        p += k;
    }
    out[o] = '\0';
}

/* The file name of a row without extension and suffix: the service's name (KIND_First_Last,
 * its time stamp dropped), then the company, or the start of the job id without one. */
static void file_stem(const char *generated, const char *company, const char *job, char *out,
                      size_t n)
{
    size_t len = strcspn(generated, ".");
    const char *u1, *u2;
    char head[256];

    snprintf(head, sizeof head, "%.*s", (int)len, generated);
    /* resume_Zoe_Lindqvist_20250101_120000: drop _YYYYMMDD_HHMMSS */
    u2 = strrchr(head, '_');
    if (u2 && strlen(u2 + 1) == 6 && strspn(u2 + 1, "0123456789") == 6) {
        head[u2 - head] = '\0';
        u1 = strrchr(head, '_');
        if (u1 && strlen(u1 + 1) == 8 && strspn(u1 + 1, "0123456789") == 8)
            head[u1 - head] = '\0';
        else
            head[u2 - head] = '_';
    }
    snprintf(out, n, "%s_", head);
    company_part(company, out, n);
    if (out[strlen(out) - 1] == '_')
        snprintf(out + strlen(out), n - strlen(out), "job-%.8s", job);
}

/* Writes doc into dir under the first free name STEM.EXT, STEM_2.EXT ...: the name is
 * reserved with O_EXCL (nothing is ever replaced), the bytes written to a temporary file and
 * renamed over the reservation, so that no half-written document carries the name. *name_out
 * (malloc'd) gets DIR/NAME. Returns 0, or -1 with errno set and a message in err. */
static int write_unique(const char *dir, const char *stem, const char *ext, const td_buf *doc,
                        char **name_out, char *err, size_t errsz)
{
    char tmp[PATH_MAX], final[PATH_MAX], rnd[13];
    size_t off = 0;
    int fd, e;

    *name_out = NULL;
    if (td_id_base62(rnd, 12) != 0) {
        snprintf(err, errsz, "no random source for a temporary name");
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s/.trackdoc-%s.tmp", dir, rnd);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) < 0)
        goto fail;
    while (off < doc->len) {
        ssize_t w = write(fd, doc->data + off, doc->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = errno;
            close(fd);
            errno = w == 0 ? EIO : e;
            goto fail;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        e = errno;
        close(fd);
        errno = e;
        goto fail;
    }
    if (close(fd) != 0)
        goto fail;
    for (int i = 1; i <= UNIQUE_TRIES; i++) {
        int r;
        if (i == 1)
            r = snprintf(final, sizeof final, "%s/%s.%s", dir, stem, ext);
        else
            r = snprintf(final, sizeof final, "%s/%s_%d.%s", dir, stem, i, ext);
        if (r < 0 || (size_t)r >= sizeof final) {
            errno = ENAMETOOLONG;
            goto fail;
        }
        if ((fd = open(final, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) < 0) {
            if (errno == EEXIST)
                continue;
            goto fail;
        }
        close(fd);
        if (rename(tmp, final) != 0) {
            e = errno;
            unlink(final);
            errno = e;
            goto fail;
        }
        if (!(*name_out = strdup(final))) {
            snprintf(err, errsz, "out of memory");
            return -1;
        }
        return 0;
    }
    unlink(tmp);
    snprintf(err, errsz, "%s/%s.%s and %d more names are taken", dir, stem, ext, UNIQUE_TRIES - 1);
    return -1;
fail:
    e = errno;
    unlink(tmp);
    snprintf(err, errsz, "cannot write into %s: %s", dir, strerror(e));
    errno = e;
    return -1;
}

/* Makes the new names of the folder durable (each file was synced when written). */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* ------------------------------------------------------------------------------ progress */

/* Writes at most max bytes of s to f, cut between UTF-8 characters, control bytes as ' '. */
static void put_clipped(FILE *f, const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n > max) {
        n = max;
        while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++)
        fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7F ? ' ' : s[i], f);
}

/* Draws the progress bar on standard error (a terminal): count, percent, current company. */
static void bar(const struct run *w, const char *company)
{
    size_t fill = w->nrows ? w->done * BAR_WIDTH / w->nrows : BAR_WIDTH;
    char line[BAR_WIDTH + 1];

    memset(line, '#', fill);
    memset(line + fill, '.', BAR_WIDTH - fill);
    line[BAR_WIDTH] = '\0';
    fprintf(stderr, "\r\033[K[%s] %zu/%zu %3zu%%", line, w->done, w->nrows,
            w->nrows ? w->done * 100 / w->nrows : 100);
    if (w->failed)
        fprintf(stderr, " (%zu failed)", w->failed);
    if (company && *company) {
        fputs("  ", stderr);
        put_clipped(stderr, company, 32);
    }
    fflush(stderr);
}

/* Reports one finished row: a line on standard error (above the bar on a terminal, where only
 * failures get one). */
static void report_row(const struct run *w, size_t i)
{
    const struct row_result *r = &w->res[i];

    if (w->tty && r->status == ROW_OK)
        return;
    if (w->tty)
        fputs("\r\033[K", stderr);
    if (r->status != ROW_OK) {
        fprintf(stderr, "row %zu: failed (line %zu): %s\n", i + 1, r->line, r->error);
    } else {
        fprintf(stderr, "row %zu: ok %s (%ld %s tracked", i + 1, r->file, r->urls_tracked,
                r->urls_tracked == 1 ? "link" : "links");
        if (r->tracking_failures)
            fprintf(stderr, ", %ld left untracked: tracking failed", r->tracking_failures);
        fputs(")\n", stderr);
    }
    fflush(stderr);
}

/* -------------------------------------------------------------------------------- rows */

/* Records a failure of row i with a message. */
__attribute__((format(printf, 3, 4))) static void row_fail(struct run *w, size_t i, const char *fmt,
                                                           ...)
{
    struct row_result *r = &w->res[i];
    char msg[700];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->status = ROW_FAILED;
    r->error = strdup(msg);
    if (!r->error)
        die("out of memory");
    w->failed++;
}

/* Makes the document of row i (the CSV row i + 1) and writes it to the output folder. */
static void do_row(struct run *w, size_t i)
{
    const td_csv_row *head = &w->jobs->rows[0], *row = &w->jobs->rows[i + 1];
    struct row_result *r = &w->res[i];
    td_generate_request q = {
        .kind = w->t->kind, .template_name = w->t->name, .format = w->t->format, .store = false};
    td_generate_result res;
    json_t *vars = NULL, *payload = NULL;
    char job_raw[128], app_raw[128], job[TD_UUID_SIZE], app[TD_UUID_SIZE], err[700] = "";
    char stem[256], company[COMPANY_PART_MAX * 4 + 1];
    int rc;

    r->line = row->line;
    r->job_id = cell(row, w->col.job);
    trimmed(r->job_id, job_raw, sizeof job_raw);
    trimmed(cell(row, w->col.app), app_raw, sizeof app_raw);
    trimmed(cell(row, w->col.company), company, sizeof company);
    if (row->n > head->n) {
        row_fail(w, i,
                 "%zu fields where the header line has %zu (a comma inside an unquoted "
                 "value?)",
                 row->n, head->n);
        return;
    }
    if (!job_raw[0]) {
        row_fail(w, i, "job_id is empty");
        return;
    }
    if (strlen(r->job_id) > 64 || td_uuid_normalize(job_raw, job) != 0) {
        row_fail(w, i,
                 "job_id \"%.64s\" is not a UUID (such as 6a1f0c2e-7b3d-4e5f-9a8b-"
                 "2c1d0e9f8a7b)",
                 r->job_id);
        return;
    }
    if (app_raw[0] && (strlen(app_raw) > 64 || td_uuid_normalize(app_raw, app) != 0)) {
        row_fail(w, i, "application_id \"%.64s\" is not a UUID", app_raw);
        return;
    }
    if (!(vars = row_vars(head, row, err, sizeof err))) {
        row_fail(w, i, "%s", err);
        return;
    }
    if (!(payload = row_payload(w, company, cell(row, w->col.title)))) {
        json_decref(vars);
        row_fail(w, i, "out of memory");
        return;
    }
    q.payload = payload;
    q.extra = vars;
    q.job_id = job;
    q.application_id = app_raw[0] ? app : NULL; /* none: the payload's, if any */
    rc = td_generate(w->gen, &q, &res, NULL, err, sizeof err);
    if (rc) {
        row_fail(w, i, "%s", err[0] ? err : td_strerror(rc));
        /* A template that cannot be read or compiled fails every row the same way. */
        if (w->ok == 0 && res.error_code &&
            (strcmp(res.error_code, "template_error") == 0 ||
             strcmp(res.error_code, "unknown_template") == 0))
            w->template_broken = true;
    } else {
        file_stem(res.filename, company, job, stem, sizeof stem);
        if (write_unique(w->a->out, stem, w->t->format, &res.document, &r->file, err, sizeof err) !=
            0) {
            row_fail(w, i, "%s", err);
        } else {
            r->status = ROW_OK;
            r->urls_tracked =
                (long)json_integer_value(json_object_get(res.tracking, "urls_tracked"));
            r->tracking_failures =
                (long)json_integer_value(json_object_get(res.tracking, "tracking_failures"));
            w->ok++;
            w->urls_tracked += r->urls_tracked;
            w->tracking_failures += r->tracking_failures;
        }
    }
    td_generate_result_release(&res);
    json_decref(payload);
    json_decref(vars);
}

/* -------------------------------------------------------------------------------- summary */

/* Prints the summary as JSON on standard output. */
static void summary_json(const struct run *w, int64_t ms)
{
    static const char *const names[] = {"skipped", "ok", "failed"};
    json_t *rows = json_array(), *o;

    if (!rows)
        die("out of memory");
    for (size_t i = 0; i < w->nrows; i++) {
        const struct row_result *r = &w->res[i];
        json_t *e = json_pack(
            "{s:I, s:s, s:s, s:s?, s:I, s:I, s:s?}", "line", (json_int_t)w->jobs->rows[i + 1].line,
            "job_id", cell(&w->jobs->rows[i + 1], w->col.job), "status", names[r->status], "file",
            r->file, "urls_tracked", (json_int_t)r->urls_tracked, "tracking_failures",
            (json_int_t)r->tracking_failures, "error", r->error);
        if (!e || json_array_append_new(rows, e) != 0)
            die("out of memory");
    }
    o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "template",
                  w->a->template_arg, "kind", w->t->kind, "format", w->t->format, "out", w->a->out,
                  "rows", (json_int_t)w->nrows, "succeeded", (json_int_t)w->ok, "failed",
                  (json_int_t)w->failed, "skipped", (json_int_t)(w->nrows - w->done),
                  "urls_tracked", (json_int_t)w->urls_tracked, "tracking_failures",
                  (json_int_t)w->tracking_failures, "elapsed_ms", (json_int_t)ms, "results", rows);
    cli_print_json(o);
}

/* Prints the summary as text on standard output. */
static void summary_text(const struct run *w, int64_t ms)
{
    double secs = (double)ms / 1000.0;
    size_t listed = 0;

    printf("%zu of %zu documents made in %s in %.2f s (%.1f/s); %ld links tracked", w->ok, w->nrows,
           w->a->out, secs, secs > 0 ? (double)w->done / secs : 0.0, w->urls_tracked);
    if (w->tracking_failures)
        printf(", %ld URLs left untracked (tracking failed)", w->tracking_failures);
    printf("\n");
    if (w->done < w->nrows)
        printf("%s: %zu rows not processed\n",
               w->template_broken ? "stopped, the template cannot be used" : "interrupted",
               w->nrows - w->done);
    if (!w->failed)
        return;
    printf("%zu %s failed:\n", w->failed, w->failed == 1 ? "row" : "rows");
    for (size_t i = 0; i < w->nrows && listed < FAILURES_LISTED; i++) {
        if (w->res[i].status != ROW_FAILED)
            continue;
        printf("  line %zu: %s\n", w->res[i].line, w->res[i].error);
        listed++;
    }
    if (w->failed > listed)
        printf("  ... and %zu more (--json lists every row)\n", w->failed - listed);
}

/* ---------------------------------------------------------------------------------- main */

/* Reads the base payload: a JSON object. */
static json_t *read_base(const char *path)
{
    json_error_t jerr;
    td_buf text;
    json_t *j;

    cli_read_file(path, DATA_MAX, "data", &text);
    j = json_loadb(text.data ? text.data : "", text.len, 0, &jerr);
    td_buf_release(&text);
    if (!j)
        die("data %s: invalid JSON at line %d, column %d: %s", path, jerr.line, jerr.column,
            jerr.text);
    if (!json_is_object(j)) {
        json_decref(j);
        die("data %s: expected a JSON object (the payload of POST /resume or /cover-letter)", path);
    }
    return j;
}

/* Makes the document service over the template's folder, writing nothing itself (store is
 * false: the command names and writes the files). */
static td_generator *generator_new(const struct tpl *t, const char *out, bool tracking,
                                   td_store *st, td_tracker *tr, const td_trackvars *vars)
{
    td_generator_config gc = {.templates_dir = t->dir, .storage_dir = out, .tracking = tracking};
    td_generator *g = NULL;
    char err[512];

    if (td_generator_new(&gc, st, tr, vars, &g, err, sizeof err) != 0)
        die("document service: %s", err);
    return g;
}

/* Runs the generate command. */
int cmd_generate(int argc, char **argv)
{
    struct args a = {0};
    struct tpl t = {0};
    struct run w = {0};
    struct sigaction sa = {0};
    td_config c;
    td_csv jobs;
    td_store *st;
    td_tracker *tr;
    td_trackvars *vars;
    json_t *base;
    int64_t t0, ms;
    bool tracking;

    cli_config_load("generate", &c);
    parse(argc, argv, &c, &a);
    resolve_template(&a, &c, &t);
    base = read_base(a.data);
    read_jobs(a.jobs, &jobs, &w.col);
    if (mkdirs(a.out) != 0)
        die("--out %s: %s", a.out, strerror(errno));
    tracking = c.enable_url_tracking && !a.no_tracking;
    vars = cli_trackvars_new("generate", &c, NULL);
    st = cli_store_open("generate", &c, CLI_DB_MIGRATED);
    tr = cli_tracker_new("generate", &c, st, vars);

    w.a = &a;
    w.t = &t;
    w.base = base;
    w.jobs = &jobs;
    w.nrows = jobs.n - 1;
    w.gen = generator_new(&t, a.out, tracking, st, tr, vars);
    w.tty = isatty(STDERR_FILENO) && !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
    if (!(w.res = calloc(w.nrows, sizeof *w.res)))
        die("out of memory");

    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    t0 = td_time_mono_ms();
    for (size_t i = 0; i < w.nrows && !interrupted && !w.template_broken; i++) {
        if (w.tty)
            bar(&w, cell(&jobs.rows[i + 1], w.col.company));
        do_row(&w, i);
        w.done++;
        report_row(&w, i);
    }
    ms = td_time_mono_ms() - t0;
    sync_dir(a.out);
    if (w.tty) {
        bar(&w, NULL);
        fputc('\n', stderr);
    }
    if (interrupted)
        warn("interrupted: stopped after %zu of %zu rows", w.done, w.nrows);
    if (w.template_broken && w.done < w.nrows)
        warn("stopped after row %zu: the template cannot be used", w.done);
    if (a.json)
        summary_json(&w, ms);
    else
        summary_text(&w, ms);
    fflush(stdout);

    for (size_t i = 0; i < w.nrows; i++) {
        free(w.res[i].file);
        free(w.res[i].error);
    }
    free(w.res);
    td_generator_free(w.gen);
    td_tracker_free(tr);
    td_trackvars_free(vars);
    td_store_close(st);
    td_csv_release(&jobs);
    json_decref(base);
    remove_staged();
    return w.ok == w.nrows ? 0 : 1;
}
