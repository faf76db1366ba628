/* Calendly booking attribution: webhook signatures (HMAC-SHA256 over "<t>.<body>", compared in
 * constant time), the parse of invitee events, attribution through the utm parameters that our
 * redirects add, salted invitee hashes, and the idempotent record of each event. */
#include "core/common.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/id.h"
#include "core/time.h"
#include "trackdoc/calendly.h"
#include "trackdoc/link.h"
#include "trackdoc/report.h"

#define SIG_HEADER_MAX 4096
#define SHA256_LEN 32

/* ---- signatures ---- */

/* Computes HMAC-SHA256 of the concatenation of n parts into out (32 bytes). */
static int hmac_sha256(const void *key, size_t keylen, const void *const *parts, const size_t *lens,
                       size_t n, unsigned char out[SHA256_LEN])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    size_t outlen = 0;
    int rc = TD_EIO;

    if (!ctx || !EVP_MAC_init(ctx, key, keylen, params))
        goto out;
    for (size_t i = 0; i < n; i++)
        if (lens[i] && !EVP_MAC_update(ctx, parts[i], lens[i]))
            goto out;
    if (EVP_MAC_final(ctx, out, &outlen, SHA256_LEN) && outlen == SHA256_LEN)
        rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

/* Value of one hex digit, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes exactly 64 hex digits (s[0..n)) into 32 bytes; false when s is not that. */
static bool hex32(const char *s, size_t n, unsigned char out[SHA256_LEN])
{
    if (n != 2 * SHA256_LEN)
        return false;
    for (size_t i = 0; i < SHA256_LEN; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

/* One "name=value" element of a signature header, spaces trimmed. */
struct elem {
    const char *name, *value;
    size_t nlen, vlen;
};

/* Splits the element that starts at *p (up to the next comma) and moves *p past it. */
static bool next_elem(const char **p, struct elem *e)
{
    const char *s = *p, *end, *eq;

    if (!*s)
        return false;
    end = s + strcspn(s, ",");
    *p = *end ? end + 1 : end;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    eq = memchr(s, '=', (size_t)(end - s));
    e->name = s;
    e->nlen = eq ? (size_t)(eq - s) : (size_t)(end - s);
    e->value = eq ? eq + 1 : end;
    e->vlen = eq ? (size_t)(end - eq - 1) : 0;
    return true;
}

/* Verifies the signature header of a webhook body. */
int td_calendly_verify(const char *key, const char *header, const void *body, size_t len,
                       int64_t now_ms, int64_t tolerance_ms)
{
    unsigned char mac[SHA256_LEN], sig[SHA256_LEN];
    const char *p;
    struct elem e;
    char ts[20] = "";
    int64_t t = -1, skew;
    bool any_v1 = false, match = false;
    int rc;

    if (!key || !*key || !header || strlen(header) > SIG_HEADER_MAX)
        return TD_EINVAL;
    /* The time first: the MAC covers it. Exactly one t, of 1 to 12 digits. */
    for (p = header; next_elem(&p, &e);) {
        if (e.nlen != 1 || e.name[0] != 't')
            continue;
        if (t >= 0 || e.vlen == 0 || e.vlen > 12)
            return TD_EINVAL;
        for (size_t i = 0; i < e.vlen; i++)
            if (!isdigit((unsigned char)e.value[i]))
                return TD_EINVAL;
        memcpy(ts, e.value, e.vlen);
        ts[e.vlen] = '\0';
        t = strtoll(ts, NULL, 10);
    }
    if (t < 0)
        return TD_EINVAL;
    {
        const void *parts[] = {ts, ".", body};
        size_t lens[] = {strlen(ts), 1, body ? len : 0};
        if ((rc = hmac_sha256(key, strlen(key), parts, lens, 3, mac)) != 0)
            return rc;
    }
    for (p = header; next_elem(&p, &e);) {
        if (e.nlen != 2 || memcmp(e.name, "v1", 2) != 0)
            continue;
        any_v1 = true;
        if (hex32(e.value, e.vlen, sig) && CRYPTO_memcmp(sig, mac, SHA256_LEN) == 0)
            match = true;
    }
    OPENSSL_cleanse(mac, sizeof mac);
    if (!any_v1)
        return TD_EINVAL;
    if (!match)
        return TD_EAUTH;
    skew = now_ms - t * 1000;
    if (skew > tolerance_ms || skew < -tolerance_ms)
        return TD_ETIME;
    return 0;
}

/* ---- parsing ---- */

/* How a string member is taken. */
enum take { TAKE_CUT, TAKE_URI };

/* Copies s into dst (n bytes), cut at a UTF-8 boundary when longer. */
static void copy_cut(char *dst, size_t n, const char *s)
{
    size_t len = strlen(s);

    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* The state of one parse: where to report a failure. */
struct parse {
    char *err;
    size_t errsz;
    const char **field;
};

/* Records a failure at JSON pointer ptr; returns rc. */
static int fail(struct parse *ps, int rc, const char *ptr, const char *what)
{
    if (ps->field)
        *ps->field = ptr;
    if (ps->err && ps->errsz)
        snprintf(ps->err, ps->errsz, "%s %s", *ptr ? ptr : "the body", what);
    return rc;
}

/* Reads an optional string member name of obj (ptr is its JSON pointer) into dst. */
static int take_str(struct parse *ps, json_t *obj, const char *name, const char *ptr, char *dst,
                    size_t n, enum take how)
{
    json_t *v = json_object_get(obj, name);
    const char *s;

    dst[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(ps, TD_EINVAL, ptr, "must be a string");
    s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return fail(ps, TD_EINVAL, ptr, "contains a NUL character");
    if (how == TAKE_URI && strlen(s) >= n)
        return fail(ps, TD_ETOOBIG, ptr, "is longer than 512 bytes");
    copy_cut(dst, n, s);
    return 0;
}

/* Reads an optional ISO 8601 time member. */
static int take_time(struct parse *ps, json_t *obj, const char *name, const char *ptr, int64_t *out)
{
    char text[64];
    int rc;

    *out = 0;
    if ((rc = take_str(ps, obj, name, ptr, text, sizeof text, TAKE_CUT)) != 0 || !text[0])
        return rc;
    if (td_time_parse(text, out) != 0)
        return fail(ps, TD_ETIME, ptr, "must be an ISO 8601 time");
    return 0;
}

/* Returns the member name of obj when it is an object (or absent/null: NULL); else fails. */
static int take_obj(struct parse *ps, json_t *obj, const char *name, const char *ptr, json_t **out)
{
    json_t *v = json_object_get(obj, name);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(ps, TD_EINVAL, ptr, "must be an object");
    *out = v;
    return 0;
}

/* Reads the members of an invitee event's payload. */
static int parse_payload(struct parse *ps, json_t *pl, td_calendly_event *ev)
{
    json_t *se = NULL, *tr = NULL, *v;
    int rc;

    if ((rc = take_str(ps, pl, "uri", "/payload/uri", ev->invitee_uri, sizeof ev->invitee_uri,
                       TAKE_URI)) != 0)
        return rc;
    if (!ev->invitee_uri[0])
        return fail(ps, TD_EINVAL, "/payload/uri", "is required: the invitee's URI");
    if ((rc = take_str(ps, pl, "email", "/payload/email", ev->email, sizeof ev->email, TAKE_CUT)) ||
        (rc = take_str(ps, pl, "status", "/payload/status", ev->status, sizeof ev->status,
                       TAKE_CUT)) ||
        (rc = take_str(ps, pl, "old_invitee", "/payload/old_invitee", ev->old_invitee,
                       sizeof ev->old_invitee, TAKE_URI)) ||
        (rc = take_str(ps, pl, "new_invitee", "/payload/new_invitee", ev->new_invitee,
                       sizeof ev->new_invitee, TAKE_URI)))
        return rc;
    v = json_object_get(pl, "rescheduled");
    if (v && !json_is_null(v) && !json_is_boolean(v))
        return fail(ps, TD_EINVAL, "/payload/rescheduled", "must be true or false");
    ev->rescheduled = v && json_is_true(v);
    if ((rc = take_obj(ps, pl, "scheduled_event", "/payload/scheduled_event", &se)) != 0)
        return rc;
    if (se) {
        if ((rc = take_str(ps, se, "uri", "/payload/scheduled_event/uri", ev->scheduled_event_uri,
                           sizeof ev->scheduled_event_uri, TAKE_URI)) ||
            (rc = take_str(ps, se, "name", "/payload/scheduled_event/name", ev->event_name,
                           sizeof ev->event_name, TAKE_CUT)) ||
            (rc = take_time(ps, se, "start_time", "/payload/scheduled_event/start_time",
                            &ev->start_time)) ||
            (rc =
                 take_time(ps, se, "end_time", "/payload/scheduled_event/end_time", &ev->end_time)))
            return rc;
    } else if (json_is_string(json_object_get(pl, "event"))) {
        /* Older payloads name the scheduled event by its URI only. */
        if ((rc = take_str(ps, pl, "event", "/payload/event", ev->scheduled_event_uri,
                           sizeof ev->scheduled_event_uri, TAKE_URI)) != 0)
            return rc;
    }
    if ((rc = take_obj(ps, pl, "tracking", "/payload/tracking", &tr)) != 0 || !tr)
        return rc;
    if ((rc = take_str(ps, tr, "utm_source", "/payload/tracking/utm_source", ev->utm_source,
                       sizeof ev->utm_source, TAKE_CUT)) ||
        (rc = take_str(ps, tr, "utm_medium", "/payload/tracking/utm_medium", ev->utm_medium,
                       sizeof ev->utm_medium, TAKE_CUT)) ||
        (rc = take_str(ps, tr, "utm_campaign", "/payload/tracking/utm_campaign", ev->utm_campaign,
                       sizeof ev->utm_campaign, TAKE_CUT)) ||
        (rc = take_str(ps, tr, "utm_content", "/payload/tracking/utm_content", ev->utm_content,
                       sizeof ev->utm_content, TAKE_CUT)) ||
        (rc = take_str(ps, tr, "utm_term", "/payload/tracking/utm_term", ev->utm_term,
                       sizeof ev->utm_term, TAKE_CUT)))
        return rc;
    return 0;
}

/* Parses a verified webhook body. */
int td_calendly_parse(const void *body, size_t len, td_calendly_event *out, char *err, size_t errsz,
                      const char **field_out)
{
    struct parse ps = {err, errsz, field_out};
    json_error_t je;
    json_t *root = NULL, *pl = NULL;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (err && errsz)
        err[0] = '\0';
    if (field_out)
        *field_out = NULL;
    root = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!root) {
        rc = fail(&ps, TD_ESYNTAX, "", "is not JSON");
        if (len && err && errsz)
            snprintf(err, errsz, "invalid JSON at line %d, column %d: %s", je.line, je.column,
                     je.text);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = fail(&ps, TD_ESYNTAX, "", "must be a JSON object");
        goto out;
    }
    if ((rc = take_str(&ps, root, "event", "/event", out->event, sizeof out->event, TAKE_CUT)))
        goto out;
    if (!out->event[0]) {
        rc = fail(&ps, TD_EINVAL, "/event", "is required: the event type");
        goto out;
    }
    if (strcmp(out->event, TD_CONV_CREATED) == 0)
        out->kind = TD_CALENDLY_CREATED;
    else if (strcmp(out->event, TD_CONV_CANCELED) == 0)
        out->kind = TD_CALENDLY_CANCELED;
    else
        goto out; /* another event type: nothing more is read */
    if ((rc = take_time(&ps, root, "created_at", "/created_at", &out->created_at)) ||
        (rc = take_obj(&ps, root, "payload", "/payload", &pl)))
        goto out;
    if (!pl) {
        rc = fail(&ps, TD_EINVAL, "/payload", "is required: the invitee");
        goto out;
    }
    rc = parse_payload(&ps, pl, out);
out:
    json_decref(root);
    return rc;
}

/* ---- attribution ---- */

/* Keeps the first link a listing gives. */
static int first_link(void *ud, const td_link *l)
{
    *(td_link *)ud = *l;
    return 1;
}

/* Finds a stored link of an application (by_app) or of a job. Returns 0, TD_ENOTFOUND or
 * TD_EDB. */
static int link_of(td_store *st, const char *id, bool by_app, td_link *out)
{
    td_link_filter f = {.active = -1, .limit = 1};
    int rc;

    if (by_app)
        f.application_id = id;
    else
        f.job_id = id;
    out->tracking_id[0] = '\0';
    rc = td_store_link_list(st, &f, first_link, out);
    if (rc == 1)
        return 0;
    return rc ? rc : TD_ENOTFOUND;
}

/* Attributes a booking to its link, application or job. */
int td_calendly_attribute(td_store *st, const td_calendly_event *ev, td_conversion *c)
{
    char uuid[TD_UUID_SIZE];
    td_link l;
    int rc;

    copy_cut(c->utm_source, sizeof c->utm_source, ev->utm_source);
    copy_cut(c->utm_medium, sizeof c->utm_medium, ev->utm_medium);
    copy_cut(c->utm_campaign, sizeof c->utm_campaign, ev->utm_campaign);
    copy_cut(c->utm_content, sizeof c->utm_content, ev->utm_content);
    copy_cut(c->utm_term, sizeof c->utm_term, ev->utm_term);
    c->tracking_id[0] = c->job_id[0] = c->application_id[0] = c->link_function[0] = '\0';
    snprintf(c->attribution, sizeof c->attribution, "none");
    if (ev->utm_content[0] && td_link_id_valid(ev->utm_content)) {
        rc = td_store_link_get(st, ev->utm_content, &l);
        if (rc == 0) {
            snprintf(c->tracking_id, sizeof c->tracking_id, "%s", l.tracking_id);
            snprintf(c->job_id, sizeof c->job_id, "%s", l.job_id);
            snprintf(c->application_id, sizeof c->application_id, "%s", l.application_id);
            snprintf(c->link_function, sizeof c->link_function, "%s", l.link_function);
            snprintf(c->attribution, sizeof c->attribution, "tracking_id");
            return 0;
        }
        if (rc != TD_ENOTFOUND)
            return rc;
    }
    if (!ev->utm_campaign[0] || td_uuid_normalize(ev->utm_campaign, uuid) != 0)
        return 0;
    /* Our redirects put the application_id there, else the job_id. */
    rc = link_of(st, uuid, true, &l);
    if (rc == 0) {
        snprintf(c->application_id, sizeof c->application_id, "%s", uuid);
        snprintf(c->job_id, sizeof c->job_id, "%s", l.job_id);
    } else if (rc == TD_ENOTFOUND && (rc = link_of(st, uuid, false, &l)) == 0) {
        snprintf(c->job_id, sizeof c->job_id, "%s", uuid);
    }
    if (rc == 0)
        snprintf(c->attribution, sizeof c->attribution, "campaign");
    return rc == TD_ENOTFOUND ? 0 : rc;
}

/* ---- invitee hashes ---- */

/* Hashes an address with the database secret. */
int td_calendly_invitee_hash(const char *secret_hex, const char *email, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    char norm[TD_CONV_EMAIL_SIZE] = "";
    unsigned char mac[SHA256_LEN];
    size_t n = 0;
    int rc;

    out[0] = '\0';
    while (*email == ' ' || *email == '\t')
        email++;
    for (; *email && n < sizeof norm - 1; email++)
        norm[n++] = (char)tolower((unsigned char)*email);
    while (n > 0 && (norm[n - 1] == ' ' || norm[n - 1] == '\t'))
        n--;
    if (n == 0)
        return 0;
    {
        const void *parts[] = {norm};
        size_t lens[] = {n};
        if ((rc = hmac_sha256(secret_hex, strlen(secret_hex), parts, lens, 1, mac)) != 0)
            return rc;
    }
    for (size_t i = 0; i < SHA256_LEN; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

/* ---- recording ---- */

/* Takes the attribution of a stored row of the invitee a reschedule came from. */
static int inherit(td_store *st, const char *old_invitee, td_conversion *c)
{
    static const char *const types[] = {TD_CONV_CREATED, TD_CONV_CANCELED};
    td_conversion *old = calloc(1, sizeof *old);
    int rc = TD_ENOTFOUND;

    if (!old)
        return TD_ENOMEM;
    for (size_t i = 0; i < TD_ARRAY_SIZE(types) && rc == TD_ENOTFOUND; i++)
        rc = td_store_conversion_get(st, old_invitee, types[i], old);
    if (rc == 0 && strcmp(old->attribution, "none") != 0) {
        memcpy(c->tracking_id, old->tracking_id, sizeof c->tracking_id);
        memcpy(c->job_id, old->job_id, sizeof c->job_id);
        memcpy(c->application_id, old->application_id, sizeof c->application_id);
        memcpy(c->link_function, old->link_function, sizeof c->link_function);
        memcpy(c->attribution, old->attribution, sizeof c->attribution);
    }
    free(old);
    return rc == TD_ENOTFOUND ? 0 : rc;
}

/* Attributes, hashes and stores one invitee event. */
int td_calendly_record(td_store *st, const td_calendly_event *ev, const td_calendly_options *o,
                       int64_t now_ms, td_conversion *out, bool *created_out)
{
    td_conversion *c = calloc(1, sizeof *c);
    char secret[65] = "";
    bool created = false;
    int rc;

    if (created_out)
        *created_out = false;
    if (!c)
        return TD_ENOMEM;
    if (ev->kind != TD_CALENDLY_CREATED && ev->kind != TD_CALENDLY_CANCELED) {
        rc = TD_EINVAL;
        goto out;
    }
    if ((rc = td_uuid_v7(c->conversion_id)) != 0)
        goto out;
    snprintf(c->invitee_uri, sizeof c->invitee_uri, "%s", ev->invitee_uri);
    snprintf(c->event_type, sizeof c->event_type, "%s",
             ev->kind == TD_CALENDLY_CREATED ? TD_CONV_CREATED : TD_CONV_CANCELED);
    if ((rc = td_calendly_attribute(st, ev, c)) != 0)
        goto out;
    if (ev->kind == TD_CALENDLY_CREATED && ev->old_invitee[0] &&
        strcmp(c->attribution, "none") == 0 && (rc = inherit(st, ev->old_invitee, c)) != 0)
        goto out;
    snprintf(c->scheduled_event_uri, sizeof c->scheduled_event_uri, "%s", ev->scheduled_event_uri);
    snprintf(c->event_name, sizeof c->event_name, "%s", ev->event_name);
    c->scheduled_start = ev->start_time;
    c->scheduled_end = ev->end_time;
    if (ev->email[0]) {
        if ((rc = td_store_secret(st, TD_CALENDLY_SECRET, secret)) != 0 ||
            (rc = td_calendly_invitee_hash(secret, ev->email, c->invitee_hash)) != 0)
            goto out;
        if (o && o->store_email)
            snprintf(c->invitee_email, sizeof c->invitee_email, "%s", ev->email);
    }
    snprintf(c->status, sizeof c->status, "%s", ev->status);
    c->rescheduled = ev->rescheduled;
    snprintf(c->old_invitee, sizeof c->old_invitee, "%s", ev->old_invitee);
    snprintf(c->new_invitee, sizeof c->new_invitee, "%s", ev->new_invitee);
    c->created_at = ev->created_at;
    c->received_at = now_ms;
    if ((rc = td_store_conversion_insert(st, c, &created)) != 0)
        goto out;
    if (created_out)
        *created_out = created;
    rc = td_store_conversion_get(st, c->invitee_uri, c->event_type, out);
out:
    OPENSSL_cleanse(secret, sizeof secret);
    free(c);
    return rc;
}

/* ---- JSON ---- */

/* Sets a string member, or null when empty. */
static int set_opt(json_t *o, const char *key, const char *s)
{
    return json_object_set_new(o, key, *s ? json_string(s) : json_null()) ? TD_ENOMEM : 0;
}

/* The JSON view of a stored row. */
json_t *td_conversion_json(const td_conversion *c)
{
    json_t *o = json_object(), *utm = json_object();
    bool canceled = c->canceled_at || strcmp(c->event_type, TD_CONV_CANCELED) == 0;
    int rc = 0;

    if (!o || !utm) {
        json_decref(o);
        json_decref(utm);
        return NULL;
    }
    rc |= set_opt(o, "conversion_id", c->conversion_id);
    rc |= set_opt(o, "event_type", c->event_type);
    rc |= set_opt(o, "invitee_uri", c->invitee_uri);
    rc |= set_opt(o, "scheduled_event_uri", c->scheduled_event_uri);
    rc |= set_opt(o, "event_name", c->event_name);
    rc |= td_json_set_time(o, "scheduled_start", c->scheduled_start);
    rc |= td_json_set_time(o, "scheduled_end", c->scheduled_end);
    rc |= set_opt(o, "status", c->status);
    rc |= json_object_set_new(o, "booking_status", json_string(canceled ? "canceled" : "active"));
    rc |= td_json_set_time(o, "canceled_at", c->canceled_at);
    rc |= json_object_set_new(o, "rescheduled", json_boolean(c->rescheduled));
    rc |= set_opt(o, "old_invitee", c->old_invitee);
    rc |= set_opt(o, "new_invitee", c->new_invitee);
    rc |= set_opt(o, "tracking_id", c->tracking_id);
    rc |= set_opt(o, "job_id", c->job_id);
    rc |= set_opt(o, "application_id", c->application_id);
    rc |= set_opt(o, "link_function", c->link_function);
    rc |= set_opt(o, "attribution", c->attribution);
    rc |= set_opt(utm, "source", c->utm_source);
    rc |= set_opt(utm, "medium", c->utm_medium);
    rc |= set_opt(utm, "campaign", c->utm_campaign);
    rc |= set_opt(utm, "content", c->utm_content);
    rc |= set_opt(utm, "term", c->utm_term);
    rc |= json_object_set(o, "utm", utm);
    rc |= set_opt(o, "invitee_email", c->invitee_email);
    rc |= set_opt(o, "invitee_hash", c->invitee_hash);
    rc |= td_json_set_time(o, "created_at", c->created_at);
    rc |= td_json_set_time(o, "received_at", c->received_at);
    json_decref(utm);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The JSON view of booking counts. */
json_t *td_conversion_counts_json(const td_conversion_row *row)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "bookings", (json_int_t)row->bookings, "cancellations",
                     (json_int_t)row->cancellations, "reschedules", (json_int_t)row->reschedules,
                     "active", (json_int_t)row->active);
}
