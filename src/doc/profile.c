/* Candidate profiles: strict validation of the JSON a client sends (types, lengths, e-mail
 * syntax, absolute http(s) URLs, no unknown fields), the JSON view, and the merge that lets a
 * profile fill what a résumé or cover-letter payload leaves empty, in the fields model.c reads. */
#include "core/common.h"

#include "core/url.h"
#include "trackdoc/profile.h"
#include "trackdoc/report.h"

/* Longest JSON pointer token kept in an error (bytes, before escaping). */
#define KEY_SHOWN 48

enum kind { K_NAME, K_EMAIL, K_PHONE, K_ADDRESS, K_URL };

/* clang-format off */
#define FIELD(name, kind) \
    {#name, "/" #name, offsetof(td_profile, name), sizeof(((td_profile *)0)->name), kind}
/* clang-format on */

/* The fields of user_candidate_info a client may set, in the order of their columns. */
static const struct field {
    const char *name, *ptr;
    size_t off, size;
    enum kind kind;
} fields[] = {
    FIELD(first_name, K_NAME),    FIELD(last_name, K_NAME),          FIELD(email, K_EMAIL),
    FIELD(phone_number, K_PHONE), FIELD(mailing_address, K_ADDRESS), FIELD(calendly_url, K_URL),
    FIELD(linkedin_url, K_URL),   FIELD(portfolio_url, K_URL),
};

#undef FIELD

/* Members that td_profile_json writes but a client cannot set: accepted and ignored. */
static const char *const read_only[] = {"user_id", "created_at", "updated_at"};

/* ---------------------------------------------------------------------------- validation */

/* Fills e (may be NULL) and returns rc. */
__attribute__((format(printf, 5, 6))) static int fail(td_profile_error *e, int rc, const char *code,
                                                      const char *field, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return rc;
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return rc;
}

/* Writes "/" and key as a JSON pointer token (~0, ~1) into dst, cut at a character boundary
 * after KEY_SHOWN bytes so that the result stays valid UTF-8. */
static void key_ptr(char *dst, size_t n, const char *key)
{
    size_t i = 0, k = 0, len = strlen(key);

    if (len > KEY_SHOWN) {
        len = KEY_SHOWN;
        while (len && ((unsigned char)key[len] & 0xC0) == 0x80)
            len--; /* key[len] continues a character: cut before the character starts */
    }
    dst[i++] = '/';
    for (; k < len && i + 3 < n; k++) {
        if (key[k] == '~' || key[k] == '/') {
            dst[i++] = '~';
            dst[i++] = key[k] == '~' ? '0' : '1';
        } else {
            dst[i++] = key[k];
        }
    }
    if (k < strlen(key) && i + 3 < n) {
        memcpy(dst + i, "...", 3);
        i += 3;
    }
    dst[i] = '\0';
}

/* True when name is a field or a read-only member. */
static bool known_member(const char *name)
{
    for (size_t i = 0; i < TD_ARRAY_SIZE(fields); i++)
        if (strcmp(name, fields[i].name) == 0)
            return true;
    for (size_t i = 0; i < TD_ARRAY_SIZE(read_only); i++)
        if (strcmp(name, read_only[i]) == 0)
            return true;
    return false;
}

/* Refuses members that are not fields: a typo would otherwise be dropped without a word. The
 * error names every unknown member (as many as fit) and points at the first. */
static int check_unknown(json_t *obj, td_profile_error *e)
{
    char first[KEY_SHOWN * 2 + 8] = "", names[320] = "", ptr[KEY_SHOWN * 2 + 8];
    size_t count = 0, shown = 0, used = 0;
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        if (known_member(key))
            continue;
        key_ptr(ptr, sizeof ptr, key);
        if (count++ == 0)
            snprintf(first, sizeof first, "%s", ptr);
        if (used + strlen(ptr) + 8 < sizeof names) {
            used +=
                (size_t)snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", ptr);
            shown++;
        }
    }
    if (!count)
        return 0;
    return fail(e, TD_EINVAL, "unknown_field", first,
                "unknown field%s %s%s (a profile has first_name, last_name, email, phone_number, "
                "mailing_address, calendly_url, linkedin_url, portfolio_url)",
                count > 1 ? "s" : "", names, shown < count ? ", ..." : "");
}

/* True for the ASCII white space trimmed from values. */
static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* True when the n bytes at s hold a control character: C0 (line breaks and tabs allowed when
 * lines is set), DEL, or C1 (U+0080..U+009F, encoded C2 80..C2 9F). */
static bool has_control(const char *s, size_t n, bool lines)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (lines && (c == '\n' || c == '\r' || c == '\t'))
            continue;
        if (c < 0x20 || c == 0x7f)
            return true;
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9F)
            return true;
    }
    return false;
}

/* True for a byte allowed in the local part of an address besides letters and digits (RFC 5322
 * atext, and the bytes of UTF-8 characters, RFC 6531). */
static bool local_char(unsigned char c)
{
    return isalnum(c) || c >= 0x80 || (c && strchr("!#$%&'*+/=?^_`{|}~-.", c));
}

/* Checks an e-mail address: local@domain, one @, a local part of 1-64 allowed characters
 * without leading, trailing or doubled dots, and a domain of two or more labels (letters,
 * digits, inner hyphens) whose last one is not all digits. Quoted local parts and address
 * literals are refused: no résumé needs them. */
static bool email_valid(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n), *d, *end = s + n, *label;
    size_t local;
    bool digits_only = true;

    if (!at || memchr(at + 1, '@', (size_t)(end - at - 1)) || n > 254)
        return false;
    local = (size_t)(at - s);
    if (local == 0 || local > 64 || s[0] == '.' || at[-1] == '.')
        return false;
    for (size_t i = 0; i < local; i++)
        if (!local_char((unsigned char)s[i]) || (s[i] == '.' && s[i + 1] == '.'))
            return false;
    d = at + 1;
    if (d == end || !memchr(d, '.', (size_t)(end - d)))
        return false;
    for (label = d; label <= end;) {
        const char *dot = memchr(label, '.', (size_t)(end - label));
        const char *le = dot ? dot : end;
        size_t ln = (size_t)(le - label);

        if (ln == 0 || ln > 63 || label[0] == '-' || le[-1] == '-')
            return false;
        digits_only = true;
        for (const char *q = label; q < le; q++) {
            unsigned char c = (unsigned char)*q;
            if (!isalnum(c) && c != '-' && c < 0x80)
                return false;
            if (!isdigit(c))
                digits_only = false;
        }
        if (!dot)
            break;
        label = dot + 1;
    }
    return !digits_only;
}

/* Checks a URL field's value (trimmed, n bytes) and writes its normalised form into dst. */
static int set_url(const struct field *f, const char *s, size_t n, char *dst, td_profile_error *e)
{
    char in[TD_URL_MAX + 1], out[TD_URL_MAX + 1];
    int rc;

    if (n > TD_URL_MAX)
        return fail(e, TD_ETOOBIG, td_errcode(TD_EURL_LONG), f->ptr, "%s: %s", f->ptr,
                    td_strerror(TD_EURL_LONG));
    memcpy(in, s, n);
    in[n] = '\0';
    rc = td_url_check(in, out, sizeof out, NULL);
    if (rc == 0 && strlen(out) >= f->size)
        rc = TD_EURL_LONG;
    if (rc)
        return fail(e, rc == TD_EURL_LONG ? TD_ETOOBIG : TD_EINVAL, td_errcode(rc), f->ptr,
                    "%s: %s", f->ptr, td_strerror(rc));
    memcpy(dst, out, strlen(out) + 1);
    return 0;
}

/* Checks the value v of field f and stores it into p (null or a blank string clears it). */
static int set_field(const struct field *f, const json_t *v, td_profile *p, td_profile_error *e)
{
    char *dst = (char *)p + f->off;
    const char *s;
    size_t n;

    if (json_is_null(v)) {
        dst[0] = '\0';
        return 0;
    }
    if (!json_is_string(v))
        return fail(e, TD_EINVAL, "invalid_type", f->ptr, "%s must be a string or null", f->ptr);
    s = json_string_value(v);
    n = json_string_length(v);
    if (strlen(s) != n)
        return fail(e, TD_EINVAL, "invalid_value", f->ptr, "%s contains a NUL character", f->ptr);
    while (n && is_ws((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && is_ws((unsigned char)s[n - 1]))
        n--;
    if (n == 0) {
        dst[0] = '\0';
        return 0;
    }
    if (f->kind == K_URL)
        return set_url(f, s, n, dst, e);
    if (n >= f->size)
        return fail(e, TD_ETOOBIG, "too_long", f->ptr, "%s is longer than %zu bytes", f->ptr,
                    f->size - 1);
    if (has_control(s, n, f->kind == K_ADDRESS))
        return fail(e, TD_EINVAL, "invalid_value", f->ptr, "%s contains a control character",
                    f->ptr);
    if (f->kind == K_EMAIL && !email_valid(s, n))
        return fail(e, TD_EINVAL, "invalid_email", f->ptr,
                    "%s must be an e-mail address such as jane.doe@example.com", f->ptr);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

/* Validates obj into a copy of p and stores the copy only when every field is good. */
int td_profile_check(const json_t *obj, bool partial, td_profile *p, td_profile_error *e)
{
    json_t *o = (json_t *)obj; /* jansson's getters and iterators take non-const objects */
    td_profile q;
    int rc = 0;

    if (e) {
        e->code = "";
        e->field[0] = '\0';
        e->message[0] = '\0';
    }
    if (!json_is_object(o))
        return fail(e, TD_EINVAL, "invalid_json", "", "a profile must be a JSON object");
    if ((rc = check_unknown(o, e)) != 0)
        return rc;
    q = *p;
    for (size_t i = 0; i < TD_ARRAY_SIZE(fields); i++) {
        const json_t *v = json_object_get(o, fields[i].name);
        if (!v && partial)
            continue;
        if (!v)
            ((char *)&q + fields[i].off)[0] = '\0';
        else if ((rc = set_field(&fields[i], v, &q, e)) != 0)
            return rc;
    }
    *p = q;
    return 0;
}

/* Validates obj into p; on failure *field_out points at this thread's copy of the pointer. */
int td_profile_from_json(const json_t *obj, bool partial, td_profile *p, const char **field_out,
                         char *err, size_t errsz)
{
    static _Thread_local char field[sizeof((td_profile_error *)0)->field];
    td_profile_error e;
    int rc = td_profile_check(obj, partial, p, &e);

    if (rc == 0)
        return 0;
    snprintf(field, sizeof field, "%s", e.field);
    if (field_out)
        *field_out = field;
    if (err && errsz)
        snprintf(err, errsz, "%s", e.message);
    return rc;
}

/* ---------------------------------------------------------------------------------- JSON */

/* Sets a string member, or null when it is empty. */
static int set_opt(json_t *o, const char *key, const char *s)
{
    return json_object_set_new(o, key, *s ? json_string(s) : json_null()) ? TD_ENOMEM : 0;
}

/* Returns the JSON object of a profile; the caller drops the reference. */
json_t *td_profile_json(const td_profile *p)
{
    json_t *o = json_object();
    int rc = 0;

    if (!o)
        return NULL;
    rc |= set_opt(o, "user_id", p->user_id);
    for (size_t i = 0; i < TD_ARRAY_SIZE(fields); i++)
        rc |= set_opt(o, fields[i].name, (const char *)p + fields[i].off);
    rc |= td_json_set_time(o, "created_at", p->created_at);
    rc |= td_json_set_time(o, "updated_at", p->updated_at);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* --------------------------------------------------------------------------------- merge */

/* True when a payload value gives nothing: absent, null, a string of white space, or an object
 * or array holding only such values. Numbers and booleans count as given (the model then
 * reports their type). */
static bool blank(const json_t *v)
{
    const char *key;
    json_t *m;
    size_t i;

    if (!v || json_is_null(v))
        return true;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (size_t k = 0, n = json_string_length(v); k < n; k++)
            if (!is_ws((unsigned char)s[k]))
                return false;
        return true;
    }
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, m)
        {
            if (!blank(m))
                return false;
        }
        return true;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, m)
        {
            if (!blank(m))
                return false;
        }
        return true;
    }
    return false;
}

/* True when obj is an object whose member key gives a value. */
static bool given(const json_t *obj, const char *key)
{
    return json_is_object(obj) && !blank(json_object_get(obj, key));
}

/* True when the text of s, trimmed, equals word ignoring ASCII case. */
static bool word_is(const json_t *s, const char *word)
{
    const char *p = json_string_value(s);
    size_t n = json_string_length(s), w = strlen(word);

    if (!p)
        return false;
    while (n && is_ws((unsigned char)*p)) {
        p++;
        n--;
    }
    while (n && is_ws((unsigned char)p[n - 1]))
        n--;
    return n == w && strncasecmp(p, word, n) == 0;
}

/* True when the list of profiles holds an entry of network that gives a URL (its url, or for
 * LinkedIn and Calendly a username the model turns into one), as model.c reads them. */
static bool profiles_give(const json_t *profiles, const char *network)
{
    size_t i;
    json_t *el;

    json_array_foreach(profiles, i, el)
    {
        if (!json_is_object(el) || !word_is(json_object_get(el, "network"), network))
            continue;
        if (given(el, "url") || (strcmp(network, "portfolio") != 0 && given(el, "username")))
            return true;
    }
    return false;
}

/* Sets key of obj to the string s (NUL-terminated). Returns 0 or TD_ENOMEM. */
static int put(json_t *obj, const char *key, const char *s)
{
    return json_object_set_new(obj, key, json_string(s)) ? TD_ENOMEM : 0;
}

/* Sets *out to the object member key of obj, made (empty) when absent or null, or to NULL when
 * the member has another type (the model reports it). Returns 0 or TD_ENOMEM. */
static int child_object(json_t *obj, const char *key, json_t **out)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v && !json_is_null(v)) {
        *out = json_is_object(v) ? v : NULL;
        return 0;
    }
    v = json_object();
    if (!v || json_object_set_new(obj, key, v) != 0)
        return TD_ENOMEM;
    *out = v;
    return 0;
}

/* Fills the name of the person object per ("personal" or "basics"; name_key is "full_name" or
 * "name") when the payload gives no part of a name. The parts are set too, so that the model
 * splits the name as the profile does ("Mary Ann" + "Smith"). */
static int fill_name(json_t *per, const char *name_key, const td_profile *p)
{
    char full[sizeof p->first_name + sizeof p->last_name];
    int rc = 0;

    if (given(per, "full_name") || given(per, "name") || given(per, "first_name") ||
        given(per, "last_name") || (!*p->first_name && !*p->last_name))
        return 0;
    snprintf(full, sizeof full, "%s%s%s", p->first_name, *p->first_name && *p->last_name ? " " : "",
             p->last_name);
    rc = put(per, name_key, full);
    if (rc == 0 && *p->first_name)
        rc = put(per, "first_name", p->first_name);
    if (rc == 0 && *p->last_name)
        rc = put(per, "last_name", p->last_name);
    return rc;
}

/* Fills key of obj with s when obj does not give it and s is not empty. */
static int fill(json_t *obj, const char *key, const char *s)
{
    return *s && !given(obj, key) ? put(obj, key, s) : 0;
}

/* The profiles list the model reads: top-level "profiles", else that of the person object
 * (basics for JSON Resume, personal for the API shape); NULL when there is none. */
static json_t *profiles_list(json_t *d, json_t *per)
{
    json_t *v = json_object_get(d, "profiles");

    if (v && !json_is_null(v))
        return v;
    return json_is_object(per) ? json_object_get(per, "profiles") : NULL;
}

/* The three tracked URLs of a profile, with their model variable and profile network. */
struct url_slot {
    const char *var, *network, *label, *value;
};

/* Fills the API shape: personal.{full_name, email, phone, address} and the URLs at the top. */
static int merge_api(json_t *d, const td_profile *p, const struct url_slot *urls, size_t nurls)
{
    json_t *per = json_object_get(d, "personal"), *profs;
    bool made = !per || json_is_null(per);
    int rc;

    if ((rc = child_object(d, "personal", &per)) != 0)
        return rc;
    if (per) {
        if ((rc = fill_name(per, "full_name", p)) || (rc = fill(per, "email", p->email)) ||
            (rc = fill(per, "phone", p->phone_number)))
            return rc;
        if (!given(per, "address") && !given(per, "address_lines") &&
            (rc = fill(per, "address", p->mailing_address)))
            return rc;
        if (made && json_object_size(per) == 0) {
            json_object_del(d, "personal"); /* nothing to fill: leave the payload as it was */
            per = NULL;
        }
    }
    profs = profiles_list(d, per);
    for (size_t i = 0; i < nurls; i++) {
        if (!*urls[i].value || given(d, urls[i].var) || given(per, urls[i].var) ||
            profiles_give(profs, urls[i].network))
            continue;
        if ((rc = put(d, urls[i].var, urls[i].value)) != 0)
            return rc;
    }
    return 0;
}

/* Fills a JSON Resume document: basics.{name, email, phone, location.address, url} and a
 * LinkedIn and a Calendly entry in the profiles list the model reads. */
static int merge_jsonresume(json_t *d, json_t *basics, const td_profile *p,
                            const struct url_slot *urls, size_t nurls)
{
    json_t *loc = json_object_get(basics, "location"), *profs;
    int rc = 0;

    if ((rc = fill_name(basics, "name", p)) || (rc = fill(basics, "email", p->email)) ||
        (rc = fill(basics, "phone", p->phone_number)))
        return rc;
    if (*p->mailing_address && !given(basics, "address") && !given(basics, "address_lines") &&
        !(json_is_object(loc) && given(loc, "address"))) {
        json_t *lo = NULL;
        if (json_is_string(loc)) {
            /* a one-line location of our own shape: the model reads the address beside it */
            rc = put(basics, "address", p->mailing_address);
        } else if ((rc = child_object(basics, "location", &lo)) == 0 && lo) {
            rc = put(lo, "address", p->mailing_address);
        }
        if (rc)
            return rc;
    }
    profs = profiles_list(d, basics);
    for (size_t i = 0; i < nurls; i++) {
        json_t *entry;

        if (!*urls[i].value || given(d, urls[i].var) || given(basics, urls[i].var) ||
            profiles_give(profs, urls[i].network))
            continue;
        if (strcmp(urls[i].network, "portfolio") == 0) {
            if (!given(basics, "url") && (rc = put(basics, "url", urls[i].value)) != 0)
                return rc;
            continue;
        }
        if (!profs || json_is_null(profs)) {
            profs = json_array();
            if (!profs || json_object_set_new(basics, "profiles", profs) != 0)
                return TD_ENOMEM;
        }
        if (!json_is_array(profs))
            continue; /* of another type: the model reports it */
        entry = json_pack("{s:s, s:s}", "network", urls[i].label, "url", urls[i].value);
        if (!entry || json_array_append_new(profs, entry) != 0)
            return TD_ENOMEM;
    }
    return 0;
}

/* Returns a copy of data filled from p; the caller drops the reference. */
json_t *td_profile_merge(const json_t *data, const td_profile *p)
{
    json_t *d = json_deep_copy(data), *basics;
    const struct url_slot urls[] = {
        {"linkedin_url", "linkedin", "LinkedIn", p ? p->linkedin_url : ""},
        {"portfolio_url", "portfolio", "Portfolio", p ? p->portfolio_url : ""},
        {"calendly_url", "calendly", "Calendly", p ? p->calendly_url : ""},
    };
    int rc;

    if (!d || !p || !json_is_object(d))
        return d; /* not an object: the model says so */
    basics = json_object_get(d, "basics");
    if (json_is_object(basics) && !json_object_get(d, "personal"))
        rc = merge_jsonresume(d, basics, p, urls, TD_ARRAY_SIZE(urls));
    else
        rc = merge_api(d, p, urls, TD_ARRAY_SIZE(urls));
    if (rc) {
        json_decref(d);
        return NULL;
    }
    return d;
}
