/* The document service: validates a résumé or cover-letter request, merges the candidate's
 * profile, shapes the data model, renders a cached template with the job's tracked links, and
 * stores the file (atomically) with its generated_documents record for downloads and purges. */
#include "core/common.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "core/id.h"
#include "core/time.h"
#include "trackdoc/docx.h"
#include "trackdoc/generate.h"
#include "trackdoc/model.h"
#include "trackdoc/profile.h"
#include "trackdoc/tmpl.h"

#define NAME_MAX_LEN 64       /* template names */
#define NAME_PART_MAX 40      /* bytes of the first or last name in a file name */
#define TEMPLATE_CACHE_MAX 64 /* templates kept compiled; more are loaded per request */
#define DOCX_TEMPLATE_MAX ((size_t)20 << 20)
#define DOCX_OUTPUT_MAX ((size_t)50 << 20)
#define TEXT_OUTPUT_MAX ((size_t)16 << 20)
#define UNIQUE_SEQ 9      /* base, then _2 ... _9 */
#define UNIQUE_RANDOM 16  /* then _<7 random base62> before giving up on a name */
#define PURGE_BATCH 500   /* documents read per listing while purging */
#define WALK_DEPTH_MAX 64 /* deeper input is refused by the model anyway */

/* One output format: its name, file extension, content type and escaping. */
struct format {
    const char *name;
    const char *content_type;
    td_tmpl_escape escape;
};

static const struct format formats[] = {
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     TD_TMPL_ESCAPE_XML},
    {"html", "text/html; charset=utf-8", TD_TMPL_ESCAPE_HTML},
    {"md", "text/markdown; charset=utf-8", TD_TMPL_ESCAPE_NONE},
    {"txt", "text/plain; charset=utf-8", TD_TMPL_ESCAPE_NONE},
};

/* A loaded template: a compiled Mustache template, or the bytes of a .docx package. */
struct template
{
    char name[NAME_MAX_LEN + 1];
    const struct format *fmt;
    td_tmpl *tmpl; /* text formats */
    td_buf docx;   /* docx */
};

struct td_generator {
    char templates_dir[PATH_MAX];
    char storage_dir[PATH_MAX]; /* absolute, symbolic links resolved */
    long retention_days;
    bool tracking;
    td_store *st;
    td_tracker *tr;
    const td_trackvars *vars;
    td_tmpl_dir *partials; /* {{> x}} reads templates_dir/x.mustache */
    pthread_mutex_t lock;  /* guards the cache; entries never change once added */
    struct template *cache[TEMPLATE_CACHE_MAX];
    size_t ncache;
};

/* What one td_generate call works with. */
struct gen {
    td_generator *g;
    const td_generate_request *req;
    td_generate_result *res;
    char *err;
    size_t errsz;
    const char *kind; /* "resume" or "cover_letter" */
    const struct format *fmt;
    char template_name[NAME_MAX_LEN + 1];
    char job[TD_UUID_SIZE], app[TD_UUID_SIZE], user[TD_UUID_SIZE];
    bool has_field; /* res->field names the bad field ("" is the whole payload) */
};

/* ------------------------------------------------------------------------------- errors */

/* Records a failure: the code for APIs, the field pointer (may be NULL) and the message. */
__attribute__((format(printf, 5, 6))) static int fail(struct gen *c, int rc, const char *code,
                                                      const char *field, const char *fmt, ...)
{
    va_list ap;

    c->res->error_code = code;
    c->has_field = field != NULL;
    if (field)
        snprintf(c->res->field, sizeof c->res->field, "%s", field);
    if (c->err && c->errsz) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errsz, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Writes base/key into dst (n bytes), escaping '~' and '/' in key as RFC 6901 says. */
static void ptr_key(char *dst, size_t n, const char *base, const char *key)
{
    int w = snprintf(dst, n, "%s/", base);
    size_t i = w < 0 ? 0 : TD_MIN((size_t)w, n - 1);

    for (; *key && i + 3 < n; key++) {
        if (*key == '~' || *key == '/') {
            dst[i++] = '~';
            dst[i++] = *key == '~' ? '0' : '1';
        } else {
            dst[i++] = *key;
        }
    }
    dst[i] = '\0';
}

/* ------------------------------------------------------------------------ request fields */

/* Reads the optional string member name of the payload (NULL when absent, null or "").
 * Anything but a string is TD_EINVAL naming it. */
static int payload_str(struct gen *c, const char *name, const char **out)
{
    const json_t *v = json_object_get(c->req->payload, name);
    char ptr[80];

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    snprintf(ptr, sizeof ptr, "/%s", name);
    if (!json_is_string(v))
        return fail(c, TD_EINVAL, "invalid_type", ptr, "%s must be a string", ptr);
    if (json_string_length(v) > 0)
        *out = json_string_value(v);
    return 0;
}

/* Reads one of the three ids: given, else from the payload; checks and normalises it into out
 * ("" when absent). */
static int read_uuid(struct gen *c, const char *given, const char *name, char out[TD_UUID_SIZE])
{
    const char *s = given;
    char ptr[80];
    int rc;

    out[0] = '\0';
    if (!s && (rc = payload_str(c, name, &s)) != 0)
        return rc;
    if (!s || !*s)
        return 0;
    snprintf(ptr, sizeof ptr, "/%s", name);
    if (strlen(s) > 64 || td_uuid_normalize(s, out) != 0) {
        out[0] = '\0';
        return fail(c, TD_EUUID, "invalid_uuid", ptr,
                    "%s must be a UUID such as 6a1f0c2e-7b3d-4e5f-9a8b-2c1d0e9f8a7b", ptr);
    }
    return 0;
}

/* True when s is a template name: 1-64 letters, digits, '_' or '-'. */
static bool template_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

/* Reads the kind, the format, the template name and the ids of the request. */
static int read_request(struct gen *c)
{
    const td_generate_request *q = c->req;
    const char *fmt = q->format, *tpl = q->template_name;
    int rc;

    if (q->kind && strcmp(q->kind, "resume") == 0)
        c->kind = "resume";
    else if (q->kind &&
             (strcmp(q->kind, "cover_letter") == 0 || strcmp(q->kind, "cover-letter") == 0))
        c->kind = "cover_letter";
    else
        return fail(c, TD_EINVAL, "invalid_value", NULL,
                    "unknown document kind \"%.40s\": use resume or cover_letter",
                    q->kind ? q->kind : "");
    if (!json_is_object(q->payload))
        return fail(c, TD_EINVAL, "invalid_type", "", "the payload must be a JSON object");
    if ((rc = read_uuid(c, q->job_id, "job_id", c->job)) ||
        (rc = read_uuid(c, q->application_id, "application_id", c->app)) ||
        (rc = read_uuid(c, q->user_id, "user_id", c->user)))
        return rc;
    if ((!fmt && (rc = payload_str(c, "format", &fmt)) != 0) ||
        (!tpl && (rc = payload_str(c, "template", &tpl)) != 0))
        return rc;
    if (!fmt || !*fmt)
        fmt = "docx";
    for (size_t i = 0; i < TD_ARRAY_SIZE(formats) && !c->fmt; i++)
        if (strcasecmp(fmt, formats[i].name) == 0)
            c->fmt = &formats[i];
    if (!c->fmt)
        return fail(c, TD_EINVAL, "invalid_value", "/format",
                    "/format \"%.40s\" is not one of docx, html, md, txt", fmt);
    if (!tpl || !*tpl)
        tpl = c->kind;
    if (!template_name_ok(tpl))
        return fail(c, TD_EINVAL, "invalid_value", "/template",
                    "/template must be 1 to %d letters, digits, '_' or '-' (a template name, "
                    "not a path)",
                    NAME_MAX_LEN);
    snprintf(c->template_name, sizeof c->template_name, "%s", tpl);
    return 0;
}

/* Refuses a string longer than TD_GENERATE_MAX_STRING anywhere in v; ptr (a buffer of ptrsz
 * bytes) holds the pointer of v. */
static int check_strings(struct gen *c, const json_t *v, char *ptr, size_t ptrsz, int depth)
{
    size_t len = strlen(ptr), i;
    const char *key;
    json_t *el;
    int rc = 0;

    if (json_is_string(v) && json_string_length(v) > TD_GENERATE_MAX_STRING)
        return fail(c, TD_ETOOBIG, "too_long", ptr, "%s is longer than %d bytes", ptr,
                    TD_GENERATE_MAX_STRING);
    if (depth >= WALK_DEPTH_MAX)
        return 0;
    if (json_is_array(v)) {
        json_array_foreach(v, i, el)
        {
            snprintf(ptr + len, ptrsz - len, "/%zu", i);
            if ((rc = check_strings(c, el, ptr, ptrsz, depth + 1)) != 0)
                return rc;
        }
    } else if (json_is_object(v)) {
        char base[256];
        snprintf(base, sizeof base, "%s", ptr);
        json_object_foreach((json_t *)v, key, el)
        {
            ptr_key(ptr, ptrsz, base, key);
            if ((rc = check_strings(c, el, ptr, ptrsz, depth + 1)) != 0)
                return rc;
        }
    }
    ptr[len] = '\0';
    return 0;
}

/* -------------------------------------------------------------------------------- templates */

/* Frees a loaded template; NULL is a no-op. */
static void template_free(struct template *t)
{
    if (!t)
        return;
    td_tmpl_free(t->tmpl);
    td_buf_release(&t->docx);
    free(t);
}

/* Reads the regular file at path, at most max bytes, into b. Returns 0, TD_ENOTFOUND,
 * TD_ETOOBIG, TD_EIO or TD_ENOMEM. */
static int read_file(const char *path, size_t max, td_buf *b)
{
    struct stat sb;
    char chunk[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? TD_ENOTFOUND : TD_EIO;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = TD_ENOTFOUND;
        goto out;
    }
    if ((size_t)sb.st_size > max) {
        rc = TD_ETOOBIG;
        goto out;
    }
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = TD_EIO;
            goto out;
        }
        if ((size_t)n > max - b->len) {
            rc = TD_ETOOBIG;
            goto out;
        }
        if ((rc = td_buf_add(b, chunk, (size_t)n)) != 0)
            goto out;
    }
out:
    close(fd);
    return rc;
}

/* Reads and compiles templates_dir/NAME.FORMAT into a new template (*out, freed with
 * template_free). */
static int template_load(struct gen *c, struct template **out)
{
    td_generator *g = c->g;
    struct template *t = calloc(1, sizeof *t);
    td_tmpl_opts topts = {.partial = td_tmpl_dir_loader, .partial_ud = g->partials};
    td_tmpl_error terr = {0};
    char path[PATH_MAX + 100];
    td_buf src;
    bool docx = strcmp(c->fmt->name, "docx") == 0;
    int rc;

    *out = NULL;
    td_buf_init(&src, docx ? DOCX_TEMPLATE_MAX : TD_TMPL_DEFAULT_MAX_SIZE);
    if (!t) {
        rc = TD_ENOMEM;
        goto out;
    }
    snprintf(t->name, sizeof t->name, "%s", c->template_name);
    t->fmt = c->fmt;
    td_buf_init(&t->docx, DOCX_TEMPLATE_MAX);
    snprintf(path, sizeof path, "%s/%s.%s", g->templates_dir, c->template_name, c->fmt->name);
    rc = read_file(path, docx ? DOCX_TEMPLATE_MAX : TD_TMPL_DEFAULT_MAX_SIZE, &src);
    if (rc == TD_ENOTFOUND) {
        rc = fail(c, rc, "unknown_template", "/template",
                  "/template: there is no template \"%s\" in the %s format", c->template_name,
                  c->fmt->name);
        goto out;
    }
    if (rc) {
        rc = fail(c, rc, "template_error", "/template", "template %s.%s cannot be read: %s",
                  c->template_name, c->fmt->name, td_strerror(rc));
        goto out;
    }
    if (docx) {
        td_buf tmp = t->docx;
        t->docx = src;
        src = tmp;
    } else if ((rc = td_tmpl_compile(td_buf_str(&src), src.len, &topts, &t->tmpl, &terr)) != 0) {
        rc = fail(c, rc, "template_error", "/template", "template %s.%s:%d:%d: %s",
                  c->template_name, c->fmt->name, terr.line, terr.col,
                  terr.message[0] ? terr.message : td_strerror(rc));
        goto out;
    }
    *out = t;
    t = NULL;
out:
    template_free(t);
    td_buf_release(&src);
    return rc;
}

/* Finds the template of the request in the cache, loading it on first use. *fresh tells that
 * the cache was full: the caller frees *out after use. */
static int template_get(struct gen *c, struct template **out, bool *fresh)
{
    td_generator *g = c->g;
    int rc = 0;

    *out = NULL;
    *fresh = false;
    pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < g->ncache; i++) {
        if (g->cache[i]->fmt == c->fmt && strcmp(g->cache[i]->name, c->template_name) == 0) {
            *out = g->cache[i];
            goto out;
        }
    }
    /* Loaded under the lock: once per template for the life of the generator, and a second
     * thread asking for the same one waits instead of compiling it again. */
    if ((rc = template_load(c, out)) != 0)
        goto out;
    if (g->ncache < TEMPLATE_CACHE_MAX)
        g->cache[g->ncache++] = *out;
    else
        *fresh = true;
out:
    pthread_mutex_unlock(&g->lock);
    return rc;
}

/* ---------------------------------------------------------------------------- file names */

/* ASCII spellings of U+00C0..U+017F: one letter each, '*' for the few that need two (see
 * wide_letter), '?' for the signs that are dropped (multiplication and division). */
static const char latin[] = "AAAAAA*CEEEEIIIIDNOOOOO?OUUUUY**aaaaaa*ceeeeiiiidnooooo?ouuuuy*y"
                            "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi**JjKkkLlLlLlL"
                            "lLlNnNnNnnNnOoOoOo**RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

/* The two-letter spellings of the '*' entries of latin. */
static const char *wide_letter(unsigned cp)
{
    switch (cp) {
    case 0xC6:
        return "AE";
    case 0xDE:
        return "TH";
    case 0xDF:
        return "ss";
    case 0xE6:
        return "ae";
    case 0xFE:
        return "th";
    case 0x132:
        return "IJ";
    case 0x133:
        return "ij";
    case 0x152:
        return "OE";
    case 0x153:
        return "oe";
    default:
        return "";
    }
}

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length (1 for a bad byte, whose
 * code point is then 0xFFFD). */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    size_t len;
    unsigned v;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        v = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        v = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        v = s[0] & 0x07;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

/* Writes the file-name form of a name part into out (outsz bytes): ASCII letters and digits,
 * accented Latin letters transliterated (é→e, ß→ss, Ł→L), white space and '-' as one '-',
 * everything else dropped; at most NAME_PART_MAX bytes. */
static void name_part(const char *s, char *out, size_t outsz)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), o = 0, lim = TD_MIN(outsz - 1, (size_t)NAME_PART_MAX);
    bool dash = false;

    while (n) {
        unsigned cp;
        size_t k = utf8_next(p, n, &cp);
        const char *add = "";
        char one[2] = {0, 0};

        p += k;
        n -= k;
        if (cp < 0x80 && isalnum((int)cp)) {
            one[0] = (char)cp;
            add = one;
        } else if (cp == ' ' || cp == '-' || cp == '\t' || cp == 0xA0) {
            dash = o > 0;
            continue;
        } else if (cp >= 0xC0 && cp <= 0x17F) {
            one[0] = latin[cp - 0xC0];
            add = one[0] == '*' ? wide_letter(cp) : one[0] == '?' ? "" : one;
        } else if (cp >= 0x218 && cp <= 0x21B) {
            one[0] = "SsTt"[cp - 0x218]; /* Romanian ș and ț with a comma */
            add = one;
        } else if (cp == 0x1E9E) {
            add = "SS";
        }
        if (!*add)
            continue;
        if (o + (dash ? 1 : 0) + strlen(add) > lim)
            break;
        if (dash)
            out[o++] = '-';
        dash = false;
        memcpy(out + o, add, strlen(add));
        o += strlen(add);
    }
    out[o] = '\0';
}

/* Writes the file name without its uniqueness suffix and extension:
 * KIND_First_Last_YYYYMMDD_HHMMSS (UTC), "candidate" when the name gives no safe letter. */
static void base_name(const char *kind, const json_t *model, int64_t now_ms, char *out, size_t n)
{
    const json_t *p = json_object_get(model, "personal");
    char first[NAME_PART_MAX + 1], last[NAME_PART_MAX + 1], stamp[32];
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;

    name_part(json_string_value(json_object_get(p, "first_name")), first, sizeof first);
    name_part(json_string_value(json_object_get(p, "last_name")), last, sizeof last);
    gmtime_r(&secs, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
    if (!*first && !*last)
        snprintf(out, n, "%s_candidate_%s", kind, stamp);
    else
        snprintf(out, n, "%s%s%s%s%s_%s", kind, *first ? "_" : "", first, *last ? "_" : "", last,
                 stamp);
}

/* True when name could be a file the service made: letters, digits, '_', '-' and '.', not
 * starting with '.', no "..", at most 255 bytes. */
static bool generated_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 255 || name[0] == '.' || strstr(name, ".."))
        return false;
    for (; *name; name++)
        if (!isalnum((unsigned char)*name) && !strchr("_-.", *name))
            return false;
    return true;
}

/* ----------------------------------------------------------------------------- rendering */

/* Returns the candidate's full name from the model, or "". */
static const char *full_name(const json_t *model)
{
    const char *s =
        json_string_value(json_object_get(json_object_get(model, "personal"), "full_name"));

    return s ? s : "";
}

/* Renders the model with template t into c->res->document, tracking links through tc. */
static int render(struct gen *c, const struct template *t, const json_t *model, td_track_ctx *tc)
{
    td_generate_result *res = c->res;
    td_tmpl_error terr = {0};
    int rc;

    if (t->tmpl) {
        td_tmpl_render_opts o = {.escape = t->fmt->escape,
                                 .value_hook = td_track_value_hook,
                                 .hook_ud = tc,
                                 .hook_names = td_trackvars_mask(c->g->vars),
                                 .max_output = TEXT_OUTPUT_MAX};
        td_tmpl_stats stats = {0};
        res->document.max = TEXT_OUTPUT_MAX;
        rc = td_tmpl_render(t->tmpl, model, &o, &res->document, &stats, &terr);
        td_tmpl_stats_release(&stats);
    } else {
        td_docx_opts o = {.value_hook = td_track_value_hook,
                          .hook_ud = tc,
                          .hook_names = td_trackvars_mask(c->g->vars),
                          .link_hook = td_track_link_hook,
                          .link_ud = tc,
                          .now_ms = res->timestamp};
        td_docx_stats stats = {0};
        const char *name = full_name(model);
        char title[300];

        snprintf(title, sizeof title, "%s – %s", name,
                 strcmp(c->kind, "resume") == 0 ? "Résumé" : "Cover letter");
        o.title = *name ? title : NULL;
        o.creator = *name ? name : NULL;
        res->document.max = DOCX_OUTPUT_MAX;
        td_track_ctx_set_data(tc, model);
        rc = td_docx_render(t->docx.data, t->docx.len, model, &o, &res->document, &stats, &terr);
        td_docx_stats_release(&stats);
    }
    if (rc == TD_ENOMEM)
        return rc;
    if (rc)
        return fail(c, rc, "template_error", "/template", "template %s.%s: %s", t->name,
                    t->fmt->name, terr.message[0] ? terr.message : td_strerror(rc));
    return 0;
}

/* Builds the data of the request: the payload, the extra variables where the payload has
 * none, the profile where both leave a value empty; then the kind's model. */
static int build_model(struct gen *c, json_t **out)
{
    const td_generate_request *q = c->req;
    json_t *data = NULL, *merged = NULL;
    char merr[300];
    td_profile prof;
    int rc = 0;

    *out = NULL;
    if (q->extra && json_is_object(q->extra)) {
        if (!(data = json_copy((json_t *)q->payload)) ||
            json_object_update_missing(data, (json_t *)q->extra) != 0) {
            rc = TD_ENOMEM;
            goto out;
        }
    } else {
        data = json_incref((json_t *)q->payload);
    }
    if (c->user[0]) {
        rc = td_store_profile_get(c->g->st, c->user, &prof);
        if (rc == 0) {
            c->res->profile_found = true;
            if (!(merged = td_profile_merge(data, &prof))) {
                rc = TD_ENOMEM;
                goto out;
            }
            json_decref(data);
            data = merged;
        } else if (rc != TD_ENOTFOUND) {
            rc = fail(c, rc, "database_error", NULL, "the profile of /user_id %s: %s", c->user,
                      td_strerror(rc));
            goto out;
        }
        rc = 0;
    }
    merr[0] = '\0';
    if ((rc = td_model_apply(c->kind, data, out, merr, sizeof merr)) != 0) {
        /* The model's messages start with the pointer of the bad field. */
        char field[256] = "";
        if (merr[0] == '/')
            snprintf(field, sizeof field, "%.*s", (int)strcspn(merr, " "), merr);
        if (strcmp(field, "/") == 0)
            field[0] = '\0';
        if (rc == TD_ENOMEM)
            goto out;
        rc = fail(c, rc, rc == TD_ETOOBIG ? "too_big" : "invalid_type", field, "%s", merr);
        goto out;
    }
    if (!*full_name(*out)) {
        bool jr =
            json_is_object(json_object_get(data, "basics")) && !json_object_get(data, "personal");
        const char *ptr = jr ? "/basics/name" : "/personal/full_name";
        rc = fail(c, TD_EINVAL, "missing_field", ptr, "%s is required (the candidate's name%s)",
                  ptr, c->user[0] ? "; the profile of user_id gives none either" : "");
        json_decref(*out);
        *out = NULL;
    }
out:
    json_decref(data);
    return rc;
}

/* ------------------------------------------------------------------------------- storage */

/* Writes the document to storage_dir/name through a temporary file, fsync and rename, then
 * syncs the folder. Returns 0 or TD_EIO. */
static int write_atomic(td_generator *g, const char *name, const td_buf *doc)
{
    char tmp[PATH_MAX + 300], final[PATH_MAX + 300], rnd[13];
    size_t off = 0;
    int fd = -1, dfd, rc = 0;

    if (td_id_base62(rnd, 12) != 0)
        return TD_EIO;
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%s", g->storage_dir, rnd, name);
    snprintf(final, sizeof final, "%s/%s", g->storage_dir, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return TD_EIO;
    while (off < doc->len) {
        ssize_t n = write(fd, doc->data + off, doc->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = TD_EIO;
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0) {
        rc = TD_EIO;
        goto out;
    }
    rc = close(fd) != 0 ? TD_EIO : 0;
    fd = -1;
    if (rc)
        goto out;
    if (rename(tmp, final) != 0) {
        rc = TD_EIO;
        goto out;
    }
    if ((dfd = open(g->storage_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    if (rc) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        errno = e;
    }
    return rc;
}

/* Records the document under the first free name (base, base_2, base_3 ...: the unique index
 * of generated_documents decides), then writes the file. */
static int store_document(struct gen *c, const char *base, const json_t *tracking)
{
    td_generator *g = c->g;
    td_generate_result *res = c->res;
    td_document *d = &res->record;
    int rc = TD_ECONFLICT;

    memset(d, 0, sizeof *d);
    if (td_uuid_v7(d->document_id) != 0)
        return fail(c, TD_EIO, "storage_error", NULL, "no random source for the document id");
    snprintf(d->kind, sizeof d->kind, "%s", c->kind);
    snprintf(d->format, sizeof d->format, "%s", c->fmt->name);
    snprintf(d->template_name, sizeof d->template_name, "%s", c->template_name);
    snprintf(d->job_id, sizeof d->job_id, "%s", c->job);
    snprintf(d->application_id, sizeof d->application_id, "%s", c->app);
    snprintf(d->user_id, sizeof d->user_id, "%s", c->user);
    d->size_bytes = (int64_t)res->document.len;
    d->created_at = res->timestamp;
    d->urls_tracked = (int)json_integer_value(json_object_get(tracking, "urls_tracked"));
    d->tracking_failures = (int)json_integer_value(json_object_get(tracking, "tracking_failures"));
    /* Many documents of one candidate in one second (a batch, a busy client) would make a
     * long run of _N probes; after _9 a random suffix ends the clash in one try. */
    for (int i = 1; i <= UNIQUE_SEQ + UNIQUE_RANDOM && rc == TD_ECONFLICT; i++) {
        char rnd[16];

        if (i == 1)
            snprintf(d->filename, sizeof d->filename, "%s.%s", base, c->fmt->name);
        else if (i <= UNIQUE_SEQ)
            snprintf(d->filename, sizeof d->filename, "%s_%d.%s", base, i, c->fmt->name);
        else if (td_id_base62(rnd, 7) == 0)
            snprintf(d->filename, sizeof d->filename, "%s_%s.%s", base, rnd, c->fmt->name);
        else
            break;
        rc = td_store_document_insert(g->st, d);
    }
    if (rc) {
        memset(d, 0, sizeof *d);
        return fail(c, rc == TD_ECONFLICT ? TD_EIO : rc, "storage_error", NULL,
                    "the document could not be recorded for download: %s",
                    rc == TD_ECONFLICT ? "no free file name" : td_store_errmsg(g->st));
    }
    snprintf(res->filename, sizeof res->filename, "%s", d->filename);
    if ((rc = write_atomic(g, d->filename, &res->document)) != 0) {
        int e = errno;
        /* The row stays, marked deleted: the name is never handed out twice. */
        td_store_document_mark_deleted(g->st, d->filename, td_time_now_ms());
        d->deleted_at = res->timestamp;
        res->file_path[0] = '\0';
        return fail(c, rc, "storage_error", NULL, "the document could not be written to %s: %s",
                    g->storage_dir, strerror(e));
    }
    snprintf(res->file_path, sizeof res->file_path, "%s", d->filename);
    return 0;
}

/* ---------------------------------------------------------------------------- public API */

/* Creates every missing folder of path (mode 0700). Returns 0 or TD_EIO. */
static int mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    struct stat sb;

    if (strlen(path) >= sizeof tmp)
        return TD_EIO;
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return TD_EIO;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return TD_EIO;
    return stat(tmp, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : TD_EIO;
}

/* Makes a generator. */
int td_generator_new(const td_generator_config *cfg, td_store *st, td_tracker *tr,
                     const td_trackvars *vars, td_generator **out, char *err, size_t errsz)
{
    td_generator *g = NULL;
    struct stat sb;
    bool locked = false;
    int rc = 0;

    if (out)
        *out = NULL;
    if (err && errsz)
        err[0] = '\0';
    if (!cfg || !st || !vars || !out) {
        if (err)
            snprintf(err, errsz, "no configuration, store or tracked-variable table");
        return TD_EINVAL;
    }
    if (!cfg->templates_dir || !*cfg->templates_dir ||
        strlen(cfg->templates_dir) >= sizeof g->templates_dir ||
        stat(cfg->templates_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        if (err)
            snprintf(err, errsz, "templates folder \"%.300s\": not a folder",
                     cfg->templates_dir ? cfg->templates_dir : "");
        return TD_EINVAL;
    }
    if (!cfg->storage_dir || !*cfg->storage_dir || strlen(cfg->storage_dir) >= PATH_MAX - 300) {
        if (err)
            snprintf(err, errsz, "storage folder: give a path of at most %d bytes", PATH_MAX - 301);
        return TD_EINVAL;
    }
    if (cfg->retention_days < 0 || cfg->retention_days > 36500) {
        if (err)
            snprintf(err, errsz, "retention: %ld days is not between 0 and 36500",
                     cfg->retention_days);
        return TD_EINVAL;
    }
    if (!(g = calloc(1, sizeof *g))) {
        rc = TD_ENOMEM;
        goto out;
    }
    if (pthread_mutex_init(&g->lock, NULL) != 0) {
        rc = TD_ENOMEM;
        goto out;
    }
    locked = true;
    snprintf(g->templates_dir, sizeof g->templates_dir, "%s", cfg->templates_dir);
    if (mkdirs(cfg->storage_dir) != 0 || !realpath(cfg->storage_dir, g->storage_dir) ||
        access(g->storage_dir, W_OK | X_OK) != 0) {
        if (err)
            snprintf(err, errsz, "storage folder \"%.300s\": %s", cfg->storage_dir,
                     strerror(errno));
        rc = TD_EIO;
        goto out;
    }
    if ((rc = td_tmpl_dir_new(g->templates_dir, TD_TMPL_DEFAULT_MAX_SIZE, &g->partials)) != 0)
        goto out;
    g->retention_days = cfg->retention_days;
    g->tracking = cfg->tracking;
    g->st = st;
    g->tr = tr;
    g->vars = vars;
    *out = g;
    g = NULL;
out:
    if (g) {
        if (locked)
            pthread_mutex_destroy(&g->lock);
        free(g);
    }
    if (rc && err && errsz && !*err)
        snprintf(err, errsz, "%s", td_strerror(rc));
    return rc;
}

/* Frees a generator and its cached templates. */
void td_generator_free(td_generator *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->ncache; i++)
        template_free(g->cache[i]);
    td_tmpl_dir_free(g->partials);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

/* Frees what a result holds. */
void td_generate_result_release(td_generate_result *res)
{
    if (!res)
        return;
    td_buf_release(&res->document);
    json_decref(res->tracking);
    res->tracking = NULL;
}

/* Generates one document. */
int td_generate(td_generator *g, const td_generate_request *req, td_generate_result *res,
                const char **field_out, char *err, size_t errsz)
{
    struct gen c = {.g = g, .req = req, .res = res, .err = err, .errsz = errsz};
    struct template *t = NULL;
    json_t *model = NULL;
    td_track_ctx tc;
    bool fresh = false, tc_ready = false;
    char base[200], ptr[256] = "";
    int rc;

    memset(res, 0, sizeof *res);
    td_buf_init(&res->document, DOCX_OUTPUT_MAX);
    res->timestamp = td_time_now_ms();
    if (field_out)
        *field_out = NULL;
    if (err && errsz)
        err[0] = '\0';
    if (!g || !req) {
        rc = fail(&c, TD_EINVAL, "invalid_value", NULL, "no generator or no request");
        goto out;
    }
    if ((rc = read_request(&c)) != 0)
        goto out;
    if ((rc = check_strings(&c, req->payload, ptr, sizeof ptr, 0)) != 0 ||
        (req->extra && (rc = check_strings(&c, req->extra, ptr, sizeof ptr, 0)) != 0))
        goto out;
    if ((rc = template_get(&c, &t, &fresh)) != 0 || (rc = build_model(&c, &model)) != 0)
        goto out;
    td_track_ctx_init(&tc, g->tr, g->vars, c.job, c.app, c.kind, g->tracking);
    tc_ready = true;
    if ((rc = render(&c, t, model, &tc)) != 0)
        goto out;
    if (!(res->tracking = td_track_ctx_json(&tc))) {
        rc = TD_ENOMEM;
        goto out;
    }
    snprintf(res->content_type, sizeof res->content_type, "%s", c.fmt->content_type);
    base_name(c.kind, model, res->timestamp, base, sizeof base);
    snprintf(res->filename, sizeof res->filename, "%s.%s", base, c.fmt->name);
    res->generated = true;
    if (req->store)
        rc = store_document(&c, base, res->tracking);
out:
    if (rc == TD_ENOMEM && !res->error_code)
        fail(&c, rc, "out_of_memory", NULL, "out of memory");
    if (rc == 0)
        res->error_code = NULL;
    if (rc && field_out && c.has_field)
        *field_out = res->field;
    if (tc_ready)
        td_track_ctx_release(&tc);
    if (fresh)
        template_free(t);
    json_decref(model);
    return rc;
}

/* Calls the purge on each listed document: collects the names of a batch. */
struct batch {
    char (*names)[256];
    size_t n;
};

/* td_store_document_list callback: keeps the file name. */
static int collect(void *ud, const td_document *d)
{
    struct batch *b = ud;

    snprintf(b->names[b->n++], sizeof b->names[0], "%s", d->filename);
    return 0;
}

/* Marks each document of the filter deleted, then removes its file (the database is the truth:
 * a file whose row cannot be marked stays). */
static int purge_where(td_generator *g, td_document_filter *f, int64_t now_ms, size_t *deleted)
{
    struct batch b = {0};
    char path[PATH_MAX + 300];
    int rc = 0;

    *deleted = 0;
    if (!(b.names = calloc(PURGE_BATCH, sizeof *b.names)))
        return TD_ENOMEM;
    f->limit = PURGE_BATCH;
    f->include_deleted = false;
    for (;;) {
        b.n = 0;
        if ((rc = td_store_document_list(g->st, f, collect, &b)) != 0)
            break;
        for (size_t i = 0; i < b.n; i++) {
            if ((rc = td_store_document_mark_deleted(g->st, b.names[i], now_ms)) != 0 &&
                rc != TD_ENOTFOUND)
                goto out;
            rc = 0;
            if (!generated_name_ok(b.names[i]))
                continue;
            snprintf(path, sizeof path, "%s/%s", g->storage_dir, b.names[i]);
            if (unlink(path) != 0 && errno != ENOENT) {
                rc = TD_EIO;
                goto out;
            }
            (*deleted)++;
        }
        if (b.n < PURGE_BATCH)
            break;
    }
out:
    free(b.names);
    return rc;
}

/* Deletes the documents older than the retention. */
int td_generator_purge(td_generator *g, int64_t now_ms, size_t *deleted_out)
{
    td_document_filter f = {0};
    size_t n = 0;
    int rc = 0;

    if (g->retention_days > 0) {
        f.created_before = now_ms - (int64_t)g->retention_days * 86400 * 1000;
        rc = purge_where(g, &f, now_ms, &n);
    }
    if (deleted_out)
        *deleted_out = n;
    return rc;
}

/* Deletes every document of one user. */
int td_generator_purge_user(td_generator *g, const char *user_id, size_t *deleted_out)
{
    td_document_filter f = {0};
    char uid[TD_UUID_SIZE];
    size_t n = 0;
    int rc;

    if (deleted_out)
        *deleted_out = 0;
    if (!user_id || td_uuid_normalize(user_id, uid) != 0)
        return TD_EUUID;
    f.user_id = uid;
    rc = purge_where(g, &f, td_time_now_ms(), &n);
    if (deleted_out)
        *deleted_out = n;
    return rc;
}

/* Resolves a download to a file in the storage folder. */
int td_generator_download(td_generator *g, const char *filename, char *path, size_t pathsz,
                          char *content_type, size_t ctsz)
{
    td_document d;
    struct stat sb;
    int rc;

    if (!filename || !generated_name_ok(filename))
        return TD_ENOTFOUND;
    if ((rc = td_store_document_get(g->st, filename, &d)) != 0)
        return rc;
    if (d.deleted_at)
        return TD_ENOTFOUND;
    if ((size_t)snprintf(path, pathsz, "%s/%s", g->storage_dir, d.filename) >= pathsz)
        return TD_ENOTFOUND;
    /* A regular file of the storage folder itself: no symbolic link leads elsewhere. */
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return TD_ENOTFOUND;
    snprintf(content_type, ctsz, "application/octet-stream");
    for (size_t i = 0; i < TD_ARRAY_SIZE(formats); i++)
        if (strcmp(d.format, formats[i].name) == 0)
            snprintf(content_type, ctsz, "%s", formats[i].content_type);
    return 0;
}
