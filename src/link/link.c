/* The link tracker: validation, idempotent creation per job context, cached lookups for the
 * redirect path. The store's unique index is the source of truth for idempotency; the LRU
 * caches only make the common cases (same job rendered again, hot redirects) fast. */
#include "core/common.h"

#include <stdatomic.h>

#include "core/id.h"
#include "core/lru.h"
#include "core/time.h"
#include "core/url.h"
#include "trackdoc/link.h"
#include "trackdoc/store.h"

#define MAX_FUNCTIONS 32
#define DEFAULT_FUNCTIONS "Calendly,LinkedIn,Portfolio"
#define DEFAULT_BASE_URL "http://127.0.0.1:8080"
#define CTX_KEY_MAX (TD_LINK_URL_SIZE + 3 * TD_LINK_UUID_SIZE + TD_LINK_FUNCTION_SIZE)
/* While the store fails, one redirect at a time asks it again (a database that does not answer
 * holds that one for its connect timeout, not every redirect), and a cached link asks at most
 * once per STORE_RETRY_MS: its cached copy answers meanwhile. */
#define STORE_RETRY_MS 1000

struct td_tracker {
    td_store *st;
    char base_url[TD_BASE_URL_MAX + 1];
    char base_host[TD_HOST_MAX];
    td_domain_list *allowed;
    char functions[MAX_FUNCTIONS][TD_LINK_FUNCTION_SIZE];
    size_t nfunctions;
    td_lru *by_id;  /* tracking_id -> td_link */
    td_lru *by_ctx; /* context key -> tracking_id */
    int64_t ttl_ms;
    /* 0 while the store answers; else until when cached links do not ask it */
    _Atomic int64_t store_down_until;
    atomic_bool probing; /* a lookup is asking the store while it is down */
};

/* A link_function name: 1-32 letters, digits or '-'. */
bool td_link_function_name_ok(const char *s, size_t n)
{
    if (n == 0 || n >= TD_LINK_FUNCTION_SIZE)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    return true;
}

/* Parses the comma-separated function list into t; blanks around names are ignored. */
static int parse_functions(td_tracker *t, const char *spec, char *err, size_t errsz)
{
    const char *p = spec;

    while (*p) {
        size_t n;
        p += strspn(p, ", \t");
        n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0)
            break;
        if (!td_link_function_name_ok(p, n)) {
            snprintf(err, errsz, "link function \"%.*s\": use 1 to 32 letters, digits or '-'",
                     (int)TD_MIN(n, 64), p);
            return TD_EINVAL;
        }
        for (size_t i = 0; i < t->nfunctions; i++) {
            if (strncasecmp(t->functions[i], p, n) == 0 && t->functions[i][n] == '\0') {
                snprintf(err, errsz, "link function \"%.*s\" is listed twice", (int)n, p);
                return TD_EINVAL;
            }
        }
        if (t->nfunctions == MAX_FUNCTIONS) {
            snprintf(err, errsz, "at most %d link functions", MAX_FUNCTIONS);
            return TD_EINVAL;
        }
        memcpy(t->functions[t->nfunctions], p, n);
        t->functions[t->nfunctions][n] = '\0';
        t->nfunctions++;
        p += n;
    }
    if (t->nfunctions == 0) {
        snprintf(err, errsz, "the link function list is empty");
        return TD_EINVAL;
    }
    return 0;
}

/* Checks and stores the base URL: http(s), no query or fragment, no trailing slash. */
static int set_base_url(td_tracker *t, const char *base, char *err, size_t errsz)
{
    char norm[TD_LINK_URL_SIZE];
    size_t n;
    int rc = td_url_check(base, norm, sizeof norm, t->base_host);

    if (rc || strpbrk(norm, "?#") || strlen(norm) > TD_BASE_URL_MAX) {
        snprintf(err, errsz,
                 "base URL \"%.200s\" must be an http or https URL without query or fragment, at "
                 "most %d bytes",
                 base, TD_BASE_URL_MAX);
        return TD_EINVAL;
    }
    n = strlen(norm);
    while (n > 0 && norm[n - 1] == '/')
        n--;
    memcpy(t->base_url, norm, n);
    t->base_url[n] = '\0';
    return 0;
}

/* Makes a tracker over a store. */
int td_tracker_new(td_store *st, const td_link_config *cfg, td_tracker **out, char *err,
                   size_t errsz)
{
    static const td_link_config defaults = {0};
    td_tracker *t = NULL;
    char ebuf[256] = "";
    size_t cap;
    int rc = 0;

    *out = NULL;
    if (!cfg)
        cfg = &defaults;
    t = calloc(1, sizeof *t);
    if (!t) {
        rc = TD_ENOMEM;
        goto out;
    }
    t->st = st;
    atomic_init(&t->store_down_until, 0);
    atomic_init(&t->probing, false);
    t->ttl_ms = cfg->cache_ttl_ms > 0 ? cfg->cache_ttl_ms : 2000;
    rc = set_base_url(t, cfg->base_url && *cfg->base_url ? cfg->base_url : DEFAULT_BASE_URL, ebuf,
                      sizeof ebuf);
    if (rc)
        goto out;
    rc = parse_functions(t, cfg->functions && *cfg->functions ? cfg->functions : DEFAULT_FUNCTIONS,
                         ebuf, sizeof ebuf);
    if (rc)
        goto out;
    if (cfg->allowed_domains && *cfg->allowed_domains) {
        rc = td_domain_list_parse(cfg->allowed_domains, &t->allowed);
        if (rc) {
            snprintf(ebuf, sizeof ebuf,
                     "allowed domains \"%.200s\": use host names or *.domain patterns",
                     cfg->allowed_domains);
            goto out;
        }
    }
    cap = cfg->cache_size < 0 ? 0 : cfg->cache_size == 0 ? 1000 : (size_t)cfg->cache_size;
    if ((rc = td_lru_new(cap, sizeof(td_link), &t->by_id)) != 0 ||
        (rc = td_lru_new(cap, TD_LINK_ID_SIZE, &t->by_ctx)) != 0)
        goto out;
    *out = t;
    t = NULL;
out:
    if (rc && err && errsz)
        snprintf(err, errsz, "%s", *ebuf ? ebuf : td_strerror(rc));
    td_tracker_free(t);
    return rc;
}

/* Frees a tracker. */
void td_tracker_free(td_tracker *t)
{
    if (!t)
        return;
    td_lru_free(t->by_id);
    td_lru_free(t->by_ctx);
    td_domain_list_free(t->allowed);
    free(t);
}

/* Returns the configured spelling of a function name, matched in any case. */
const char *td_tracker_function(const td_tracker *t, const char *name)
{
    for (size_t i = 0; i < t->nfunctions; i++)
        if (strcasecmp(t->functions[i], name) == 0)
            return t->functions[i];
    return NULL;
}

/* Returns the redirect base URL. */
const char *td_tracker_base_url(const td_tracker *t)
{
    return t->base_url;
}

/* Returns the host of the base URL. */
const char *td_tracker_base_host(const td_tracker *t)
{
    return t->base_host;
}

/* True for a usable tracking id: 1-63 characters of [A-Za-z0-9_-]. Ours look like
 * lt_calendly_<14 base62>; ids imported from an earlier system may look otherwise. */
bool td_link_id_valid(const char *s)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= TD_LINK_ID_SIZE - 1 || !(isalnum(c) || c == '_' || c == '-'))
            return false;
    }
    return n > 0;
}

/* Makes "lt_<function lower case>_<random>". */
int td_link_id_new(const char *link_function, char out[TD_LINK_ID_SIZE])
{
    size_t n = strlen(link_function), o = 0;

    if (n == 0 || n >= TD_LINK_FUNCTION_SIZE)
        return TD_EINVAL;
    out[o++] = 'l';
    out[o++] = 't';
    out[o++] = '_';
    for (size_t i = 0; i < n; i++)
        out[o++] = (char)tolower((unsigned char)link_function[i]);
    out[o++] = '_';
    return td_id_base62(out + o, TD_LINK_ID_RANDOM);
}

/* Copies an optional bounded text field; TD_ETOOBIG names it. */
static int copy_field(char *dst, size_t size, const char *src, const char *name,
                      const char **field_out)
{
    if (!src)
        src = "";
    if (strlen(src) >= size) {
        *field_out = name;
        return TD_ETOOBIG;
    }
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

/* Validates p and fills the context fields of l in canonical form. */
static int prepare(td_tracker *t, const td_link_params *p, td_link *l, const char **field_out)
{
    char host[TD_HOST_MAX];
    const char *fn;
    int rc;

    /* Every field is set below; no memset of the whole (4 KB) struct on this hot path. */
    l->tracking_id[0] = l->job_id[0] = l->application_id[0] = l->redirect_url[0] = '\0';
    l->created_at = 0;
    if (!p->original_url || !*p->original_url) {
        *field_out = "original_url";
        return TD_EURL;
    }
    rc = td_url_check(p->original_url, l->original_url, sizeof l->original_url, host);
    if (rc) {
        *field_out = "original_url";
        return rc;
    }
    if (!td_domain_list_match(t->allowed, host)) {
        *field_out = "original_url";
        return TD_EURL_DOMAIN;
    }
    fn = p->link_function ? td_tracker_function(t, p->link_function) : NULL;
    if (!fn) {
        *field_out = "link_function";
        return TD_EFUNCTION;
    }
    memcpy(l->link_function, fn, strlen(fn) + 1);
    if (p->job_id && *p->job_id && td_uuid_normalize(p->job_id, l->job_id)) {
        *field_out = "job_id";
        return TD_EUUID;
    }
    if (p->application_id && *p->application_id &&
        td_uuid_normalize(p->application_id, l->application_id)) {
        *field_out = "application_id";
        return TD_EUUID;
    }
    if ((rc =
             copy_field(l->link_type, sizeof l->link_type, p->link_type, "link_type", field_out)) ||
        (rc = copy_field(l->description, sizeof l->description, p->description, "description",
                         field_out)) ||
        (rc = copy_field(l->created_by, sizeof l->created_by, p->created_by, "created_by",
                         field_out)))
        return rc;
    if (p->expires_at < 0) {
        *field_out = "expires_at";
        return TD_ETIME;
    }
    l->expires_at = p->expires_at;
    if (p->utm_tagging != TD_UTM_DEFAULT && p->utm_tagging != TD_UTM_ON &&
        p->utm_tagging != TD_UTM_OFF) {
        *field_out = "utm_tagging";
        return TD_EINVAL;
    }
    l->utm_tagging = p->utm_tagging;
    l->is_active = true;
    return 0;
}

/* Builds the cache key of a context from the parameters as the caller spelled them: a cache
 * hit then skips validation and normalisation (the key was valid when it was cached; two
 * spellings of one context are two keys for the same link). Returns 0 when it does not fit. */
static size_t params_key(const td_link_params *p, char *key)
{
    const char *parts[4] = {p->job_id, p->application_id, p->link_function, p->original_url};
    size_t lens[4], total = 0, at = 0;

    for (int i = 0; i < 4; i++) {
        lens[i] = parts[i] ? strlen(parts[i]) : 0;
        total += lens[i] + 1;
    }
    if (total >= CTX_KEY_MAX)
        return 0;
    for (int i = 0; i < 4; i++) {
        if (lens[i])
            memcpy(key + at, parts[i], lens[i]);
        key[at + lens[i]] = '\x1f'; /* a byte no valid field contains */
        at += lens[i] + 1;
    }
    return at;
}

/* Checks validity of p. */
int td_link_validate(td_tracker *t, const td_link_params *p, const char **field_out)
{
    td_link l;
    const char *field = NULL;
    int rc = prepare(t, p, &l, &field);

    if (field_out)
        *field_out = field;
    return rc;
}

/* Looks a context up in the caches. The context of a link never changes, so any cached copy
 * answers a create, whatever its age (only is_active could be stale, and create returns the
 * link as it is anyway). */
static int cached_context(td_tracker *t, const char *key, size_t klen, td_link *out)
{
    char id[TD_LINK_ID_SIZE];

    if (klen == 0 || td_lru_get(t->by_ctx, key, klen, id, NULL) != 0)
        return TD_ENOTFOUND;
    return td_lru_get(t->by_id, id, strlen(id), out, NULL);
}

/* Creates (or finds) the link of a validated candidate; caches it under key (may be empty). */
static int create_prepared(td_tracker *t, td_link *cand, const char *key, size_t klen, td_link *out,
                           bool *created)
{
    int64_t now = td_time_now_ms();
    int rc, attempt;

    *created = false;
    cand->created_at = now;
    /* A clash of two 83-bit random ids is not expected in the lifetime of the universe, but the
     * store tells us if it happens, and a new id costs nothing. */
    for (attempt = 0; attempt < 3; attempt++) {
        if ((rc = td_link_id_new(cand->link_function, cand->tracking_id)) != 0)
            return rc;
        snprintf(cand->redirect_url, sizeof cand->redirect_url, "%s/track/%s", t->base_url,
                 cand->tracking_id);
        rc = td_store_link_insert(t->st, cand, out, created);
        if (rc != TD_ECONFLICT)
            break;
    }
    if (rc == 0) {
        td_lru_put(t->by_id, out->tracking_id, strlen(out->tracking_id), out, now);
        if (klen)
            td_lru_put(t->by_ctx, key, klen, out->tracking_id, now);
    }
    return rc;
}

/* Creates or returns the link of a context. */
int td_link_create(td_tracker *t, const td_link_params *p, td_link *out, bool *created_out,
                   const char **field_out)
{
    char key[CTX_KEY_MAX];
    size_t klen = params_key(p, key);
    td_link cand;
    const char *field = NULL;
    bool created = false;
    int rc = cached_context(t, key, klen, out);

    if (rc != 0) {
        rc = prepare(t, p, &cand, &field);
        if (rc == 0)
            rc = create_prepared(t, &cand, key, klen, out, &created);
    }
    if (field_out)
        *field_out = field;
    if (created_out)
        *created_out = created;
    return rc;
}

/* Validates every entry, then creates each. */
int td_link_create_many(td_tracker *t, const td_link_params *p, size_t n, td_link *out,
                        bool *created_out, size_t *bad_index_out, const char **field_out)
{
    const char *field = NULL;
    bool created;
    size_t i;
    int rc = 0;

    for (i = 0; i < n; i++) {
        if ((rc = prepare(t, &p[i], &out[i], &field)) != 0)
            goto out;
    }
    for (i = 0; i < n; i++) {
        char key[CTX_KEY_MAX];
        size_t klen = params_key(&p[i], key);
        td_link cand = out[i];
        created = false;
        if (cached_context(t, key, klen, &out[i]) != 0 &&
            (rc = create_prepared(t, &cand, key, klen, &out[i], &created)) != 0)
            goto out;
        if (created_out)
            created_out[i] = created;
    }
out:
    if (rc && bad_index_out)
        *bad_index_out = i;
    if (field_out)
        *field_out = field;
    return rc;
}

/* Reads a link from the store. */
int td_link_get(td_tracker *t, const char *tracking_id, td_link *out)
{
    if (!td_link_id_valid(tracking_id))
        return TD_ENOTFOUND;
    return td_store_link_get(t->st, tracking_id, out);
}

/* Tells whether a link may be followed now. */
static int link_state(const td_link *l, int64_t now)
{
    if (!l->is_active)
        return TD_EGONE;
    if (l->expires_at && now >= l->expires_at)
        return TD_EEXPIRED;
    return 0;
}

/* Tells whether a lookup may ask the store: always while it answers; while it is down, one
 * lookup at a time (*probe is then set), and a cached link only once its wait is over. */
static bool store_may_ask(td_tracker *t, bool cached, int64_t now, bool *probe)
{
    int64_t until = atomic_load(&t->store_down_until);

    *probe = false;
    if (until == 0)
        return true;
    if (cached && now < until && until - now <= STORE_RETRY_MS)
        return false;
    if (atomic_exchange(&t->probing, true))
        return false;
    *probe = true;
    return true;
}

/* Notes whether the store answered a lookup, and ends a probe. */
static void store_answered(td_tracker *t, int rc, int64_t now, bool probe)
{
    if (rc == TD_EDB)
        atomic_store(&t->store_down_until, now + STORE_RETRY_MS);
    else if (atomic_load(&t->store_down_until) != 0)
        atomic_store(&t->store_down_until, 0);
    if (probe)
        atomic_store(&t->probing, false);
}

/* Looks a link up for a redirect, cache first. */
int td_link_resolve(td_tracker *t, const char *tracking_id, int64_t now_ms, td_link *out)
{
    size_t n;
    int64_t stamp;
    bool cached, probe;
    int rc;

    if (!td_link_id_valid(tracking_id))
        return TD_ENOTFOUND;
    n = strlen(tracking_id);
    cached = td_lru_get(t->by_id, tracking_id, n, out, &stamp) == 0;
    if (cached && now_ms - stamp < t->ttl_ms)
        return link_state(out, now_ms);
    /* The store is down: a known link keeps redirecting, an unknown one cannot be checked. */
    if (!store_may_ask(t, cached, now_ms, &probe))
        return cached ? link_state(out, now_ms) : TD_EDB;
    if (cached) {
        td_link fresh;
        rc = td_store_link_get(t->st, tracking_id, &fresh);
        store_answered(t, rc, now_ms, probe);
        if (rc == TD_EDB)
            return link_state(out, now_ms);
        if (rc) {
            td_lru_remove(t->by_id, tracking_id, n);
            return rc;
        }
        *out = fresh;
    } else {
        rc = td_store_link_get(t->st, tracking_id, out);
        store_answered(t, rc, now_ms, probe);
        if (rc)
            return rc;
    }
    td_lru_put(t->by_id, tracking_id, n, out, now_ms);
    return link_state(out, now_ms);
}

/* Activates or deactivates a link; the cached copy is dropped so this process sees it now. */
int td_link_set_active(td_tracker *t, const char *tracking_id, bool active)
{
    int rc;

    if (!td_link_id_valid(tracking_id))
        return TD_ENOTFOUND;
    rc = td_store_link_set_active(t->st, tracking_id, active);
    td_lru_remove(t->by_id, tracking_id, strlen(tracking_id));
    return rc;
}

/* Sets the utm tagging of a link; the cached copy is dropped (other processes see it within the
 * cache TTL, like a deactivation). */
int td_link_set_utm(td_tracker *t, const char *tracking_id, int mode)
{
    int rc;

    if (!td_link_id_valid(tracking_id))
        return TD_ENOTFOUND;
    rc = td_store_link_set_utm(t->st, tracking_id, mode);
    td_lru_remove(t->by_id, tracking_id, strlen(tracking_id));
    return rc;
}

/* Fills a click with a new id and the current time. */
int td_click_init(td_click *c, const char *tracking_id)
{
    memset(c, 0, sizeof *c);
    if (td__strlcpy(c->tracking_id, tracking_id, sizeof c->tracking_id))
        return TD_EINVAL;
    c->clicked_at = td_time_now_ms();
    c->click_source = TD_SOURCE_DIRECT;
    return td_uuid_v7(c->click_id);
}
