/* Tracked URL variables: the table of trackable variables and the value hook that turns their
 * values into tracked links during a render. */
#include "core/common.h"

#include "core/log.h"
#include "core/url.h"
#include "trackdoc/tmpl.h"
#include "trackdoc/trackvars.h"

#define MAX_LISTED 256

/* A hyperlink rule: host (and subdomains), path exact or prefix, function, label for stats. */
struct td__trackrule {
    char host[TD_HOST_MAX];
    char path[256];
    bool prefix;
    char fn[TD_LINK_FUNCTION_SIZE];
    char label[TD_TRACKVAR_NAME_SIZE];
};

struct td_trackvars {
    size_t nrules;
    struct td__trackrule rules[TD_TRACK_RULES_MAX];
    size_t n;
    struct {
        char var[TD_TRACKVAR_NAME_SIZE];
        char fn[TD_LINK_FUNCTION_SIZE];
        size_t len; /* of var: the hook runs for every value, most names differ in length */
    } e[TD_TRACKVARS_MAX];
};

/* A variable name: 1-64 letters, digits or '_'. */
static bool var_ok(const char *s, size_t n)
{
    if (n == 0 || n >= TD_TRACKVAR_NAME_SIZE)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* Makes the default table. */
int td_trackvars_new(td_trackvars **out)
{
    td_trackvars *v = calloc(1, sizeof *v);

    *out = NULL;
    if (!v)
        return TD_ENOMEM;
    if (td_trackvars_parse(v, TD_TRACKVARS_DEFAULT, NULL, 0) != 0 ||
        td_trackvars_parse_rules(v, TD_TRACK_RULES_DEFAULT, NULL, 0) != 0) {
        free(v);
        return TD_EINVAL;
    }
    *out = v;
    return 0;
}

/* Frees a table. */
void td_trackvars_free(td_trackvars *v)
{
    free(v);
}

/* Trims blanks at both ends of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* Adds entries from "var=Function,..."; all or nothing. */
int td_trackvars_parse(td_trackvars *v, const char *spec, char *err, size_t errsz)
{
    td_trackvars tmp = *v;
    const char *p = spec;

    while (*p) {
        size_t n = strcspn(p, ","), vn, fnn;
        const char *item = p, *eq, *fn;
        size_t i;

        p += n + (p[n] == ',');
        trim(&item, &n);
        if (n == 0)
            continue;
        eq = memchr(item, '=', n);
        if (!eq) {
            if (err)
                snprintf(err, errsz, "tracked variable \"%.*s\": expected variable=Function",
                         (int)TD_MIN(n, 80), item);
            return TD_EINVAL;
        }
        vn = (size_t)(eq - item);
        fn = eq + 1;
        fnn = n - vn - 1;
        trim(&item, &vn);
        trim(&fn, &fnn);
        if (!var_ok(item, vn) || !td_link_function_name_ok(fn, fnn)) {
            if (err)
                snprintf(err, errsz,
                         "tracked variable \"%.*s\": the variable takes 1-64 letters, digits or "
                         "'_', the function 1-32 letters, digits or '-'",
                         (int)TD_MIN(n, 80), item);
            return TD_EINVAL;
        }
        for (i = 0; i < tmp.n; i++)
            if (strlen(tmp.e[i].var) == vn && memcmp(tmp.e[i].var, item, vn) == 0)
                break;
        if (i == tmp.n) {
            if (tmp.n == TD_TRACKVARS_MAX) {
                if (err)
                    snprintf(err, errsz, "at most %d tracked variables", TD_TRACKVARS_MAX);
                return TD_EINVAL;
            }
            tmp.n++;
        }
        memcpy(tmp.e[i].var, item, vn);
        tmp.e[i].var[vn] = '\0';
        tmp.e[i].len = vn;
        memcpy(tmp.e[i].fn, fn, fnn);
        tmp.e[i].fn[fnn] = '\0';
    }
    *v = tmp;
    return 0;
}

/* Replaces the hyperlink rules; all or nothing. */
int td_trackvars_parse_rules(td_trackvars *v, const char *spec, char *err, size_t errsz)
{
    struct td__trackrule rules[TD_TRACK_RULES_MAX] = {0};
    size_t n = 0;
    const char *p = spec;

    {
        const char *t = spec;
        size_t tl = strlen(spec);
        trim(&t, &tl);
        if (tl == 4 && strncasecmp(t, "none", 4) == 0)
            p = "";
    }
    while (*p) {
        size_t len = strcspn(p, ","), pl, hl, fnl;
        const char *item = p, *eq, *fn, *slash;
        struct td__trackrule *r;

        p += len + (p[len] == ',');
        trim(&item, &len);
        if (len == 0)
            continue;
        eq = memchr(item, '=', len);
        if (n == TD_TRACK_RULES_MAX || !eq) {
            if (err)
                snprintf(err, errsz,
                         "link rule \"%.*s\": expected host/path*=Function (at most %d)",
                         (int)TD_MIN(len, 80), item, TD_TRACK_RULES_MAX);
            return TD_EINVAL;
        }
        r = &rules[n];
        pl = (size_t)(eq - item);
        fn = eq + 1;
        fnl = len - pl - 1;
        trim(&item, &pl);
        trim(&fn, &fnl);
        slash = memchr(item, '/', pl);
        hl = slash ? (size_t)(slash - item) : pl;
        memset(r, 0, sizeof *r);
        /* A host and a path, '*' only at the end: "https://..." or "*.x.com" would never
         * match, so they are refused rather than silently ignored. */
        if (hl == 0 || hl >= sizeof r->host || pl - hl >= sizeof r->path ||
            !td_link_function_name_ok(fn, fnl) || pl >= sizeof r->label || memchr(item, ':', pl) ||
            (memchr(item, '*', pl) && memchr(item, '*', pl) != item + pl - 1)) {
            if (err)
                snprintf(err, errsz,
                         "link rule \"%.*s\": a host, an optional /path ending in * "
                         "for a prefix, and a function of 1-32 letters, digits or '-'",
                         (int)TD_MIN(len, 80), item);
            return TD_EINVAL;
        }
        for (size_t i = 0; i < hl; i++)
            r->host[i] = (char)tolower((unsigned char)item[i]);
        memcpy(r->path, slash ? slash : "/", slash ? pl - hl : 1);
        r->prefix = pl > hl && item[pl - 1] == '*';
        if (r->prefix)
            r->path[strlen(r->path) - 1] = '\0';
        memcpy(r->fn, fn, fnl);
        memcpy(r->label, item, pl);
        n++;
    }
    memcpy(v->rules, rules, n * sizeof rules[0]);
    v->nrules = n;
    return 0;
}

/* Finds the function of the variable var of length n. */
static const char *function_of(const td_trackvars *v, const char *var, size_t n)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->e[i].len == n && memcmp(v->e[i].var, var, n) == 0)
            return v->e[i].fn;
    return NULL;
}

/* Gives the last segment of a dotted name and its length. */
static const char *last_segment(const char *name, size_t *n)
{
    const char *var = name;

    for (const char *p = name; *p; p++)
        if (*p == '.')
            var = p + 1;
    *n = strlen(var);
    return var;
}

/* Returns the function of a variable (the last segment of a dotted name). */
const char *td_trackvars_function(const td_trackvars *v, const char *name)
{
    size_t n;
    const char *var = last_segment(name, &n);

    return function_of(v, var, n);
}

/* Returns the render filter mask of the table's variables. */
uint64_t td_trackvars_mask(const td_trackvars *v)
{
    uint64_t m = 0;

    for (size_t i = 0; i < v->n; i++)
        m |= td_tmpl_name_bit(v->e[i].var, v->e[i].len);
    return m;
}

/* True when the comma-separated list has fn (in any case). */
static bool list_has(const char *list, const char *fn)
{
    size_t fl = strlen(fn);

    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        const char *item = p;
        trim(&item, &n);
        if (n == fl && strncasecmp(item, fn, n) == 0)
            return true;
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    return false;
}

/* Writes functions plus the missing functions of v. */
int td_trackvars_functions(const td_trackvars *v, const char *functions, char *out, size_t outsz)
{
    td_buf b;
    int rc;

    td_buf_init(&b, outsz - 1);
    rc = td_buf_adds(&b, functions);
    for (size_t i = 0; rc == 0 && i < v->n + v->nrules; i++) {
        const char *fn = i < v->n ? v->e[i].fn : v->rules[i - v->n].fn;
        if (list_has(td_buf_str(&b), fn))
            continue;
        rc = td_buf_printf(&b, "%s%s", b.len ? "," : "", fn);
    }
    if (rc == 0)
        memcpy(out, td_buf_str(&b), b.len + 1);
    td_buf_release(&b);
    return rc;
}

/* Prepares the tracking state of a render. */
void td_track_ctx_init(td_track_ctx *c, td_tracker *tracker, const td_trackvars *vars,
                       const char *job_id, const char *application_id, const char *link_type,
                       bool enabled)
{
    memset(c, 0, sizeof *c);
    c->tracker = tracker;
    c->vars = vars;
    c->job_id = job_id && *job_id ? job_id : NULL;
    c->application_id = application_id && *application_id ? application_id : NULL;
    c->link_type = link_type;
    c->enabled = enabled && (c->job_id || c->application_id);
}

/* Frees the results. */
void td_track_ctx_release(td_track_ctx *c)
{
    free(c->links);
    c->links = NULL;
    c->nlinks = c->cap = 0;
}

/* Finds a pair already handled in this render. */
static const td_track_link *seen(const td_track_ctx *c, const char *var, const char *url)
{
    for (size_t i = 0; i < c->nlinks; i++)
        if (strcmp(c->links[i].variable, var) == 0 && strcmp(c->links[i].original_url, url) == 0)
            return &c->links[i];
    return NULL;
}

/* Keeps the result of one pair (up to MAX_LISTED pairs). */
static void remember(td_track_ctx *c, const td_track_link *l)
{
    td_track_link *grown;

    if (c->nlinks == MAX_LISTED)
        return;
    if (c->nlinks == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        grown = realloc(c->links, cap * sizeof *c->links);
        if (!grown)
            return; /* only the listing suffers; the render goes on */
        c->links = grown;
        c->cap = cap;
    }
    c->links[c->nlinks++] = *l;
}

/* Tracks url (len bytes) as variable var (vn bytes; a rule's pattern when by_rule) of function
 * fn: writes the redirect URL into out and returns 1, or returns the failure (counted, logged).
 * Both hooks end here, so that a URL used in the text and in a hyperlink is one link and one
 * entry of the statistics. */
static int track_url(td_track_ctx *c, const char *var, size_t vn, const char *fn, const char *url,
                     size_t len, bool by_rule, td_buf *out)
{
    const char *field = NULL;
    td_link_params p = {0};
    const td_track_link *prev;
    td_track_link r;
    td_link l;
    int rc;

    r.error = 0;
    r.tracking_id[0] = r.redirect_url[0] = '\0';
    vn = TD_MIN(vn, sizeof r.variable - 1);
    memcpy(r.variable, var, vn);
    r.variable[vn] = '\0';
    memcpy(r.link_function, fn, strlen(fn) + 1);
    if (len >= sizeof r.original_url) {
        rc = TD_EURL_LONG;
        memcpy(r.original_url, url, sizeof r.original_url - 1);
        r.original_url[sizeof r.original_url - 1] = '\0';
    } else {
        memcpy(r.original_url, url, len);
        r.original_url[len] = '\0';
        rc = memchr(url, '\0', len) ? TD_EURL_CHARS : 0;
    }
    /* The same variable and URL again in this render: the same answer, without asking again. */
    if (rc == 0 && (prev = seen(c, r.variable, r.original_url)) != NULL) {
        if (prev->error)
            return prev->error;
        return td_buf_adds(out, prev->redirect_url) == 0 ? 1 : TD_ENOMEM;
    }
    if (rc == 0 && !c->tracker)
        rc = TD_EDB; /* no tracker: its database could not be opened */
    if (rc == 0) {
        /* "{{calendly_url}} in resume" or "rule calendly.com/<star> in resume": built by hand,
         * this runs for every tracked value. */
        char desc[TD_TRACKVAR_NAME_SIZE + TD_LINK_TYPE_SIZE + 16];
        size_t tl = c->link_type ? TD_MIN(strlen(c->link_type), TD_LINK_TYPE_SIZE - 1) : 0, d = 0;
        memcpy(desc, by_rule ? "rule " : "{{", d = by_rule ? 5 : 2);
        memcpy(desc + d, r.variable, vn);
        d += vn;
        if (!by_rule) {
            memcpy(desc + d, "}}", 2);
            d += 2;
        }
        if (tl) {
            memcpy(desc + d, " in ", 4);
            memcpy(desc + d + 4, c->link_type, tl);
            d += 4 + tl;
        }
        desc[d] = '\0';
        p.original_url = r.original_url;
        p.link_function = fn;
        p.job_id = c->job_id;
        p.application_id = c->application_id;
        p.link_type = c->link_type;
        p.description = desc;
        p.created_by = "render";
        rc = td_link_create(c->tracker, &p, &l, NULL, &field);
    }
    if (rc) {
        /* The document is made anyway, with the original URL; the failure is counted here and
         * logged with what the owner needs to find it. */
        r.error = rc;
        c->failures++;
        remember(c, &r);
        td_log_warn("tracking failed for %s%s%s (job_id %s, application_id %s): %s%s%s",
                    by_rule ? "the link rule " : "{{", r.variable, by_rule ? "" : "}}",
                    c->job_id ? c->job_id : "-", c->application_id ? c->application_id : "-",
                    td_strerror(rc), field ? " in " : "", field ? field : "");
        return rc;
    }
    snprintf(r.tracking_id, sizeof r.tracking_id, "%s", l.tracking_id);
    snprintf(r.redirect_url, sizeof r.redirect_url, "%s", l.redirect_url);
    c->urls_tracked++;
    remember(c, &r);
    return td_buf_adds(out, l.redirect_url) == 0 ? 1 : TD_ENOMEM;
}

/* The value hook: tracked link for a trackable variable. */
int td_track_value_hook(void *ud, const char *name, const char *value, size_t len, td_buf *out)
{
    td_track_ctx *c = ud;
    const char *fn, *var;
    size_t vn;

    /* Called for every value of every render: leave untracked names as fast as possible. */
    if (!c->enabled || len == 0)
        return 0;
    var = last_segment(name, &vn);
    if (!(fn = function_of(c->vars, var, vn)))
        return 0;
    return track_url(c, var, vn, fn, value, len, false, out);
}

/* Remembers the trackable URLs of the data (keys named like tracked variables), depth first. */
static void collect_urls(td_track_ctx *c, const json_t *j, int depth)
{
    const char *key;
    const json_t *v;
    size_t i;

    if (depth > 16)
        return;
    if (json_is_array(j)) {
        json_array_foreach((json_t *)j, i, v)
        {
            collect_urls(c, v, depth + 1);
        }
        return;
    }
    if (!json_is_object(j))
        return;
    json_object_foreach((json_t *)j, key, v)
    {
        const char *fn = td_trackvars_function(c->vars, key);
        if (fn && json_is_string(v) && json_string_length(v) > 0 &&
            c->ndata < TD_TRACK_DATA_URLS_MAX) {
            c->data_urls[c->ndata].var = key;
            c->data_urls[c->ndata].fn = fn;
            c->data_urls[c->ndata].url = json_string_value(v);
            c->ndata++;
        } else {
            collect_urls(c, v, depth + 1);
        }
    }
}

/* Learns the candidate's trackable URLs from the render data (for td_track_link_hook). */
void td_track_ctx_set_data(td_track_ctx *c, const json_t *data)
{
    c->ndata = 0;
    if (data)
        collect_urls(c, data, 0);
}

/* True when url's host and path match a rule ("calendly.com/" with prefix: the host or a
 * subdomain, and a path starting with the given one). */
static bool rule_matches(const struct td__trackrule *r, const char *url)
{
    char host[TD_HOST_MAX];
    const char *path;
    size_t pl = strlen(r->path);

    if (td_url_host(url, host, sizeof host) != 0 || !td_host_is_within(host, r->host))
        return false;
    path = strstr(url, "://") + 3;
    path += strcspn(path, "/?#");
    if (*path != '/')
        path = "/"; /* "https://calendly.com" is the path "/" */
    if (r->prefix)
        return strncmp(path, r->path, pl) == 0;
    return strncmp(path, r->path, pl) == 0 && (path[pl] == '\0' || strchr("?#", path[pl]));
}

/* The hyperlink hook: a link target that is the candidate's trackable URL, or that matches a
 * configured rule, becomes the tracked link of the job. */
int td_track_link_hook(void *ud, const char *url, td_buf *out)
{
    td_track_ctx *c = ud;
    const char *base = c->tracker ? td_tracker_base_url(c->tracker) : NULL;
    size_t len = strlen(url), bl;

    if (!c->enabled || len == 0)
        return 0;
    /* Already a tracked link of ours (a tag rendered by the value hook): leave it. */
    if (base && (bl = strlen(base)) < len && strncmp(url, base, bl) == 0 &&
        strncmp(url + bl, "/track/", 7) == 0)
        return 0;
    for (size_t i = 0; i < c->ndata; i++) {
        if (strcmp(c->data_urls[i].url, url) == 0)
            return track_url(c, c->data_urls[i].var, strlen(c->data_urls[i].var),
                             c->data_urls[i].fn, url, len, false, out);
    }
    for (size_t i = 0; i < c->vars->nrules; i++) {
        const struct td__trackrule *r = &c->vars->rules[i];
        if (rule_matches(r, url))
            return track_url(c, r->label, strlen(r->label), r->fn, url, len, true, out);
    }
    return 0;
}

/* Builds the tracking part of render statistics. */
json_t *td_track_ctx_json(const td_track_ctx *c)
{
    json_t *o =
        json_pack("{s:b, s:I, s:I}", "tracking_enabled", c->enabled, "urls_tracked",
                  (json_int_t)c->urls_tracked, "tracking_failures", (json_int_t)c->failures);
    json_t *links = json_array();

    if (!o || !links)
        goto fail;
    for (size_t i = 0; i < c->nlinks; i++) {
        const td_track_link *l = &c->links[i];
        json_t *e =
            json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "variable", l->variable, "link_function",
                      l->link_function, "tracking_id", *l->tracking_id ? l->tracking_id : NULL,
                      "redirect_url", *l->redirect_url ? l->redirect_url : NULL, "original_url",
                      l->original_url);
        if (e && l->error)
            json_object_set_new(e, "error", json_string(td_errcode(l->error)));
        if (!e || json_array_append_new(links, e))
            goto fail;
    }
    if (json_object_set_new(o, "links", links))
        goto fail_o;
    return o;
fail:
    json_decref(links);
fail_o:
    json_decref(o);
    return NULL;
}
