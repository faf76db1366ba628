/* The template data model: checks résumé and cover-letter input (our API shape or JSON Resume)
 * and derives the canonical variables the built-in templates read: split names, a one-line
 * location, display dates, has_* flags for empty sections, joined lists, first/last flags. */
#include "core/common.h"

#include "trackdoc/buf.h"
#include "trackdoc/model.h"

#define PTR_MAX 256
#define TEXT_MAX ((size_t)4 << 20)
#define NAME_TOKENS 32

struct ctx {
    char *err;
    size_t errsz;
    bool nomem; /* a value could not be made: reported as TD_ENOMEM at the end */
};

/* A trimmed view of a text field (or of an integer's digits, kept in num). */
typedef struct text {
    const char *p;
    size_t n;
    char num[32];
} text;

enum { T_INT = 1 };

/* ---------------------------------------------------------------- errors, pointers, values */

/* Writes a one-line message into the caller's error buffer and returns rc. */
__attribute__((format(printf, 3, 4))) static int fail(struct ctx *c, int rc, const char *fmt, ...)
{
    va_list ap;

    if (c->err && c->errsz) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errsz, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Writes base/key into dst, escaping '~' and '/' in key as RFC 6901 says. */
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

/* Sets key of obj to v, which it takes; a NULL v or a failed set marks the context. */
static void put(struct ctx *c, json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        c->nomem = true;
}

/* Sets key of obj to the string s of n bytes. */
static void put_str(struct ctx *c, json_t *obj, const char *key, const char *s, size_t n)
{
    put(c, obj, key, json_stringn(s ? s : "", s ? n : 0));
}

/* Sets key of obj to a text. */
static void put_text(struct ctx *c, json_t *obj, const char *key, const text *t)
{
    put_str(c, obj, key, t->p, t->n);
}

/* Sets key of obj to a URL, or null when it is empty (a null is never shown to the link hook). */
static void put_url(struct ctx *c, json_t *obj, const char *key, const text *t)
{
    put(c, obj, key, t->n ? json_stringn(t->p, t->n) : json_null());
}

/* Sets key of obj to the content of a buffer. */
static void put_buf(struct ctx *c, json_t *obj, const char *key, const td_buf *b)
{
    put_str(c, obj, key, td_buf_str(b), b->len);
}

/* Sets key of obj to a boolean. */
static void put_bool(struct ctx *c, json_t *obj, const char *key, bool v)
{
    put(c, obj, key, json_boolean(v));
}

/* Adds to d a copy of each member of src that d lacks: fields the model does not know stay
 * available to templates. */
static void keep_rest(struct ctx *c, json_t *d, const json_t *src)
{
    json_t *copy;

    if (!json_is_object(src))
        return;
    copy = json_deep_copy(src);
    if (!copy || json_object_update_missing(d, copy) != 0)
        c->nomem = true;
    json_decref(copy);
}

/* Appends n bytes to b; a failure marks the context. */
static void badd(struct ctx *c, td_buf *b, const char *s, size_t n)
{
    if (n && td_buf_add(b, s, n) != 0)
        c->nomem = true;
}

/* Appends a NUL-terminated string to b. */
static void badds(struct ctx *c, td_buf *b, const char *s)
{
    badd(c, b, s, strlen(s));
}

/* True for the ASCII white space that surrounds user text. */
static bool is_ws(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Points t at the n bytes of s without the white space around them. */
static void text_set(text *t, const char *s, size_t n)
{
    while (n && is_ws((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && is_ws((unsigned char)s[n - 1]))
        n--;
    t->p = s;
    t->n = n;
}

/* Makes t empty. */
static void text_clear(text *t)
{
    t->p = "";
    t->n = 0;
}

/* True when the text equals s, ignoring ASCII case. */
static bool text_is(const text *t, const char *s)
{
    return strlen(s) == t->n && strncasecmp(t->p, s, t->n) == 0;
}

/* Reads the optional text field key of obj (trimmed; empty when absent or null).
 * With T_INT an integer is accepted too (a year). Anything else is TD_EINVAL naming the field. */
static int get_text(struct ctx *c, const json_t *obj, const char *ptr, const char *key, int flags,
                    text *t)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    char p[PTR_MAX];

    text_clear(t);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        text_set(t, json_string_value(v), json_string_length(v));
        return 0;
    }
    if ((flags & T_INT) && json_is_integer(v)) {
        snprintf(t->num, sizeof t->num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        t->p = t->num;
        t->n = strlen(t->num);
        return 0;
    }
    ptr_key(p, sizeof p, ptr, key);
    return fail(c, TD_EINVAL, "%s must be %s", p,
                flags & T_INT ? "a string or an integer" : "a string");
}

/* Reads key, or alias (the JSON Resume name) when key is absent or empty. */
static int get_text2(struct ctx *c, const json_t *obj, const char *ptr, const char *key,
                     const char *alias, int flags, text *t)
{
    int rc = get_text(c, obj, ptr, key, flags, t);

    if (rc == 0 && t->n == 0 && alias)
        rc = get_text(c, obj, ptr, alias, flags, t);
    return rc;
}

/* Reads the optional member key of obj that must be of the JSON type want (object or array);
 * *v is NULL when it is absent or null. */
static int get_typed(struct ctx *c, const json_t *obj, const char *ptr, const char *key,
                     json_type want, const json_t **v)
{
    const json_t *x = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    char p[PTR_MAX];

    *v = NULL;
    if (!x || json_is_null(x))
        return 0;
    if (json_typeof(x) == want) {
        *v = x;
        return 0;
    }
    ptr_key(p, sizeof p, ptr, key);
    return fail(c, TD_EINVAL, "%s must be %s", p, want == JSON_OBJECT ? "an object" : "an array");
}

/* Makes a new list of the trimmed, non-empty strings of the list key of obj (alias: its JSON
 * Resume name); *out is an empty list when the field is absent. */
static int get_str_list(struct ctx *c, const json_t *obj, const char *ptr, const char *key,
                        const char *alias, json_t **out)
{
    const json_t *a = NULL;
    const char *used = key;
    char lp[PTR_MAX];
    size_t i;
    json_t *el;
    int rc;

    *out = NULL;
    rc = get_typed(c, obj, ptr, key, JSON_ARRAY, &a);
    if (rc == 0 && !a && alias) {
        used = alias;
        rc = get_typed(c, obj, ptr, alias, JSON_ARRAY, &a);
    }
    if (rc)
        return rc;
    *out = json_array();
    if (!*out)
        return TD_ENOMEM;
    json_array_foreach(a, i, el)
    {
        text t;

        if (!json_is_string(el)) {
            ptr_key(lp, sizeof lp, ptr, used);
            json_decref(*out);
            *out = NULL;
            return fail(c, TD_EINVAL, "%s/%zu must be a string", lp, i);
        }
        text_set(&t, json_string_value(el), json_string_length(el));
        if (t.n && json_array_append_new(*out, json_stringn(t.p, t.n)) != 0)
            c->nomem = true;
    }
    return 0;
}

/* Joins the strings of list with sep into a new JSON string. */
static json_t *join_list(struct ctx *c, const json_t *list, const char *sep)
{
    td_buf b;
    size_t i;
    json_t *el, *s;

    td_buf_init(&b, TEXT_MAX);
    json_array_foreach(list, i, el)
    {
        if (i)
            badds(c, &b, sep);
        badd(c, &b, json_string_value(el), json_string_length(el));
    }
    s = json_stringn(td_buf_str(&b), b.len);
    td_buf_release(&b);
    return s;
}

/* Sets first and last on each object of list, so templates can write separators. */
static void mark_ends(struct ctx *c, json_t *list)
{
    size_t i, n = json_array_size(list);
    json_t *el;

    json_array_foreach(list, i, el)
    {
        if (!json_is_object(el))
            continue;
        put_bool(c, el, "first", i == 0);
        put_bool(c, el, "last", i + 1 == n);
    }
}

/* Appends to b the display form of a URL: no scheme, no "www.", no query, fragment or final
 * slash ("https://www.linkedin.com/in/jane/" gives "linkedin.com/in/jane"). */
static void url_display(struct ctx *c, td_buf *b, const text *u)
{
    const char *s = u->p, *e = u->p + u->n;
    const char *q;

    if (u->n > 8 && strncasecmp(s, "https://", 8) == 0)
        s += 8;
    else if (u->n > 7 && strncasecmp(s, "http://", 7) == 0)
        s += 7;
    if (e - s > 4 && strncasecmp(s, "www.", 4) == 0)
        s += 4;
    for (q = s; q < e; q++)
        if (*q == '?' || *q == '#')
            break;
    e = q;
    while (e > s && e[-1] == '/')
        e--;
    badd(c, b, s, (size_t)(e - s));
}

/* ---------------------------------------------------------------------------------- dates */

static const char *const month_abbr[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const month_full[12] = {"January",   "February", "March",    "April",
                                           "May",       "June",     "July",     "August",
                                           "September", "October",  "November", "December"};

/* Reads n decimal digits at s into *v; false when one is not a digit. */
static bool digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* Parses YYYY, YYYY-MM or YYYY-MM-DD (a time may follow after 'T' or a space). Returns how
 * many parts were found (1-3), or 0 when the text is not such a date (free text). */
static int parse_date(const text *t, int *y, int *m, int *d)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *s = t->p;
    size_t n = t->n;

    *y = *m = *d = 0;
    if (n < 4 || !digits(s, 4, y))
        return 0;
    if (n == 4)
        return 1;
    if (n < 7 || s[4] != '-' || !digits(s + 5, 2, m) || *m < 1 || *m > 12)
        return 0;
    if (n == 7)
        return 2;
    if (n < 10 || s[7] != '-' || !digits(s + 8, 2, d) || *d < 1 || *d > mdays[*m - 1])
        return 0;
    if (*m == 2 && *d == 29 && !((*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0))
        return 0;
    if (n > 10 && s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return 0;
    return 3;
}

/* True when the text says a period has not ended. */
static bool is_present(const text *t)
{
    static const char *const words[] = {"present", "current", "now", "today", "ongoing"};

    for (size_t i = 0; i < TD_ARRAY_SIZE(words); i++)
        if (text_is(t, words[i]))
            return true;
    return false;
}

/* Appends the short display form of a date: "2021", "Jan 2021", "present", or the text. */
static void date_short(struct ctx *c, td_buf *b, const text *t)
{
    int y, m, d, parts = parse_date(t, &y, &m, &d);

    if (parts == 1) {
        badd(c, b, t->p, 4);
    } else if (parts >= 2) {
        badds(c, b, month_abbr[m - 1]);
        badd(c, b, " ", 1);
        badd(c, b, t->p, 4);
    } else if (is_present(t)) {
        badds(c, b, "present");
    } else {
        badd(c, b, t->p, t->n);
    }
}

/* Appends the long display form of a date: "24 November 2026", "November 2026", or the text. */
static void date_long(struct ctx *c, td_buf *b, const text *t)
{
    int y, m, d, parts = parse_date(t, &y, &m, &d);
    char tmp[48];

    if (parts == 3)
        snprintf(tmp, sizeof tmp, "%d %s %04d", d, month_full[m - 1], y);
    else if (parts == 2)
        snprintf(tmp, sizeof tmp, "%s %04d", month_full[m - 1], y);
    if (parts >= 2)
        badds(c, b, tmp);
    else
        badd(c, b, t->p, t->n);
}

/* Sets start_text, end_text, date_range and is_current of an entry from its start and end.
 * open_present: an entry with a start and no end runs to the present ("Jan 2021 – present");
 * otherwise it shows its start alone. A non-empty given range is kept as it is. */
static void put_dates(struct ctx *c, json_t *d, const text *start, const text *end,
                      const text *given_range, bool open_present)
{
    td_buf s, e, r;
    bool current = end->n == 0 || is_present(end);

    td_buf_init(&s, TEXT_MAX);
    td_buf_init(&e, TEXT_MAX);
    td_buf_init(&r, TEXT_MAX);
    if (start->n)
        date_short(c, &s, start);
    if (end->n && !is_present(end))
        date_short(c, &e, end);
    else if (current && open_present)
        badds(c, &e, "present");
    if (given_range && given_range->n) {
        badd(c, &r, given_range->p, given_range->n);
    } else if (s.len && e.len && !(s.len == e.len && memcmp(s.data, e.data, s.len) == 0)) {
        badd(c, &r, s.data, s.len);
        badds(c, &r, " \xE2\x80\x93 "); /* an en dash between spaces */
        badd(c, &r, e.data, e.len);
    } else if (s.len) {
        badd(c, &r, s.data, s.len);
    } else if (end->n) {
        badd(c, &r, e.data, e.len);
    }
    put_buf(c, d, "start_text", &s);
    put_buf(c, d, "end_text", &e);
    put_buf(c, d, "date_range", &r);
    put_bool(c, d, "is_current", current);
    td_buf_release(&s);
    td_buf_release(&e);
    td_buf_release(&r);
}

/* ----------------------------------------------------------------------------------- names */

/* True when a name token (without a final '.') is one of the words in list. */
static bool token_in(const char *s, size_t n, const char *const *list, size_t len)
{
    if (n && s[n - 1] == '.')
        n--;
    for (size_t i = 0; i < len; i++)
        if (strlen(list[i]) == n && strncasecmp(s, list[i], n) == 0)
            return true;
    return false;
}

static const char *const honorifics[] = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir"};
static const char *const suffixes[] = {"jr", "sr",  "ii",  "iii", "iv",  "phd", "ph.d",
                                       "md", "mba", "cpa", "esq", "msc", "bsc", "dds"};
/* Lower-case words that start a family name: "van Beethoven", "de la Cruz". */
static const char *const particles[] = {"van", "von", "de",  "der", "den", "del", "della", "di",
                                        "da",  "du",  "des", "la",  "le",  "dos", "das",   "do",
                                        "ter", "ten", "bin", "ibn", "al",  "el",  "zu",    "st"};

struct token {
    const char *p;
    size_t n;
};

/* Splits s into white-space separated tokens; returns how many (at most max). */
static size_t tokenize(const char *s, size_t n, struct token *tok, size_t max)
{
    size_t k = 0, i = 0;

    while (i < n && k < max) {
        while (i < n && is_ws((unsigned char)s[i]))
            i++;
        if (i == n)
            break;
        tok[k].p = s + i;
        while (i < n && !is_ws((unsigned char)s[i]))
            i++;
        tok[k].n = (size_t)(s + i - tok[k].p);
        k++;
    }
    if (k == max && i < n) /* the rest joins the last token */
        tok[k - 1].n = (size_t)(s + n - tok[k - 1].p);
    return k;
}

/* Appends tokens [from, to) joined by single spaces. */
static void add_tokens(struct ctx *c, td_buf *b, const struct token *tok, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (i > from)
            badd(c, b, " ", 1);
        badd(c, b, tok[i].p, tok[i].n);
    }
}

/* Splits a full name into first, middle and last names: "Jane Mary Doe" gives Jane / Mary /
 * Doe, "Ludwig van Beethoven" gives Ludwig / - / van Beethoven, "Doe, Jane" gives Jane / Doe,
 * "Dr. Jane Doe, PhD" gives Jane / Doe, and a single word is a first name. */
static void split_name(struct ctx *c, const text *full, td_buf *first, td_buf *middle, td_buf *last)
{
    struct token tok[NAME_TOKENS];
    const char *comma = memchr(full->p, ',', full->n);
    text before, after;
    size_t k, from = 0, to, ls;

    if (comma) {
        text_set(&before, full->p, (size_t)(comma - full->p));
        text_set(&after, comma + 1, full->n - (size_t)(comma + 1 - full->p));
        k = tokenize(after.p, after.n, tok, NAME_TOKENS);
        if (k && !token_in(tok[0].p, tok[0].n, suffixes, TD_ARRAY_SIZE(suffixes)) && before.n) {
            /* "Doe, Jane Mary" */
            badd(c, first, tok[0].p, tok[0].n);
            add_tokens(c, middle, tok, 1, k);
            badd(c, last, before.p, before.n);
            return;
        }
        full = &before; /* "Jane Doe, PhD": the suffix goes */
    }
    k = tokenize(full->p, full->n, tok, NAME_TOKENS);
    to = k;
    while (from + 1 < to &&
           token_in(tok[from].p, tok[from].n, honorifics, TD_ARRAY_SIZE(honorifics)))
        from++;
    while (to > from + 2 &&
           token_in(tok[to - 1].p, tok[to - 1].n, suffixes, TD_ARRAY_SIZE(suffixes)))
        to--;
    if (to == from)
        return;
    badd(c, first, tok[from].p, tok[from].n);
    if (to - from == 1)
        return;
    ls = to - 1;
    while (ls > from + 1 &&
           token_in(tok[ls - 1].p, tok[ls - 1].n, particles, TD_ARRAY_SIZE(particles)) &&
           islower((unsigned char)tok[ls - 1].p[0]))
        ls--;
    add_tokens(c, middle, tok, from + 1, ls);
    add_tokens(c, last, tok, ls, to);
}

/* Length of the UTF-8 character starting at s (1 for a stray byte). */
static size_t utf8_len(const char *s, size_t n)
{
    unsigned char b = (unsigned char)s[0];
    size_t l = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;

    return l <= n ? l : 1;
}

/* Appends the first character of s, upper-cased when it is ASCII. */
static void add_initial(struct ctx *c, td_buf *b, const char *s, size_t n)
{
    char up;

    if (!n)
        return;
    if ((unsigned char)s[0] < 0x80) {
        up = (char)toupper((unsigned char)s[0]);
        badd(c, b, &up, 1);
    } else {
        badd(c, b, s, utf8_len(s, n));
    }
}

/* --------------------------------------------------------------------------------- personal */

/* Appends the non-empty lines of t to list, each trimmed. */
static void add_lines(struct ctx *c, json_t *list, const text *t)
{
    const char *s = t->p, *e = t->p + t->n;

    while (s < e) {
        const char *nl = memchr(s, '\n', (size_t)(e - s));
        text line;

        if (!nl)
            nl = e;
        text_set(&line, s, (size_t)(nl - s));
        if (line.n && json_array_append_new(list, json_stringn(line.p, line.n)) != 0)
            c->nomem = true;
        s = nl + 1;
    }
}

/* Appends to b the strings of list joined by sep. */
static void join_into(struct ctx *c, td_buf *b, const json_t *list, const char *sep)
{
    size_t i;
    json_t *el;

    json_array_foreach(list, i, el)
    {
        if (i)
            badds(c, b, sep);
        badd(c, b, json_string_value(el), json_string_length(el));
    }
}

/* Reads an address or location given as a JSON Resume location object {address, postalCode,
 * city, region, countryCode}: lines gets the postal lines ("San Francisco, CA 94115"), line
 * the short one-line form ("San Francisco, California, US"). */
static int location_object(struct ctx *c, const json_t *o, const char *ptr, json_t *lines,
                           td_buf *line)
{
    text addr, pc, city, region, cc;
    td_buf l2;
    int rc;

    if ((rc = get_text(c, o, ptr, "address", 0, &addr)) ||
        (rc = get_text(c, o, ptr, "postalCode", T_INT, &pc)) ||
        (rc = get_text(c, o, ptr, "city", 0, &city)) ||
        (rc = get_text(c, o, ptr, "region", 0, &region)) ||
        (rc = get_text(c, o, ptr, "countryCode", 0, &cc)))
        return rc;
    add_lines(c, lines, &addr);
    td_buf_init(&l2, TEXT_MAX);
    badd(c, &l2, city.p, city.n);
    if (city.n && (region.n || pc.n))
        badds(c, &l2, ", ");
    badd(c, &l2, region.p, region.n);
    if (region.n && pc.n)
        badd(c, &l2, " ", 1);
    badd(c, &l2, pc.p, pc.n);
    if (l2.len && json_array_append_new(lines, json_stringn(l2.data, l2.len)) != 0)
        c->nomem = true;
    td_buf_release(&l2);
    if (cc.n && json_array_append_new(lines, json_stringn(cc.p, cc.n)) != 0)
        c->nomem = true;
    const text *parts[] = {&city, &region, &cc};
    for (size_t i = 0; i < TD_ARRAY_SIZE(parts); i++) {
        if (!parts[i]->n)
            continue;
        if (line->len)
            badds(c, line, ", ");
        badd(c, line, parts[i]->p, parts[i]->n);
    }
    return 0;
}

/* Reads an address field: a string (lines split at newlines) or a location object. lines gets
 * its lines; line, when not NULL, its short one-line form. */
static int address_field(struct ctx *c, const json_t *obj, const char *ptr, const char *key,
                         json_t *lines, td_buf *line)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    json_t *given = NULL;
    char p[PTR_MAX];
    td_buf ignore;
    text t;
    int rc;

    /* lines given (by a model built before) win over the text they were made from */
    if ((rc = get_str_list(c, obj, ptr, "address_lines", NULL, &given)) != 0)
        return rc;
    if (json_array_size(given) > 0) {
        if (json_array_extend(lines, given) != 0)
            c->nomem = true;
        json_decref(given);
        if (line)
            join_into(c, line, lines, ", ");
        return 0;
    }
    json_decref(given);
    if (json_is_object(v)) {
        ptr_key(p, sizeof p, ptr, key);
        td_buf_init(&ignore, TEXT_MAX);
        rc = location_object(c, v, p, lines, line ? line : &ignore);
        td_buf_release(&ignore);
        return rc;
    }
    if ((rc = get_text(c, obj, ptr, key, 0, &t)) != 0) {
        ptr_key(p, sizeof p, ptr, key);
        return fail(c, TD_EINVAL, "%s must be a string or an object", p);
    }
    add_lines(c, lines, &t);
    if (line)
        join_into(c, line, lines, ", ");
    return 0;
}

/* The three tracked URL variables, in the order the templates show them. */
static const struct {
    const char *var, *network, *text, *sep, *label;
} tracked[] = {
    {"linkedin_url", "linkedin", "linkedin_text", NULL, "LinkedIn"},
    {"portfolio_url", "portfolio", "portfolio_text", "portfolio_sep", "Portfolio"},
    {"calendly_url", "calendly", "calendly_text", "calendly_sep", "Book a call"},
};

/* Normalizes one profile {network, username, url} in place; url is made from the username for
 * a few networks. */
static int norm_profile(struct ctx *c, const json_t *s, json_t *d, const char *ptr)
{
    text net, user, url;
    td_buf b, disp;
    int rc;

    if ((rc = get_text(c, s, ptr, "network", 0, &net)) ||
        (rc = get_text(c, s, ptr, "username", 0, &user)) ||
        (rc = get_text(c, s, ptr, "url", 0, &url)))
        return rc;
    td_buf_init(&b, TEXT_MAX);
    td_buf_init(&disp, TEXT_MAX);
    if (!url.n && user.n) {
        if (text_is(&net, "linkedin"))
            badds(c, &b, "https://www.linkedin.com/in/");
        else if (text_is(&net, "calendly"))
            badds(c, &b, "https://calendly.com/");
        else if (text_is(&net, "github"))
            badds(c, &b, "https://github.com/");
        if (b.len) {
            badd(c, &b, user.p, user.n);
            url.p = td_buf_str(&b);
            url.n = b.len;
        }
    }
    url_display(c, &disp, &url);
    if (!disp.len)
        badd(c, &disp, user.p, user.n);
    put_text(c, d, "network", &net);
    put_text(c, d, "username", &user);
    put_url(c, d, "url", &url);
    put_buf(c, d, "text", &disp);
    td_buf_release(&b);
    td_buf_release(&disp);
    return 0;
}

/* Reads the personal data (API "personal", or JSON Resume "basics") into m.personal, and sets
 * the top-level tracked URLs with their display texts and separators, contact[] and profiles[].
 * basics is the JSON Resume "basics" object, or NULL. */
static int personal(struct ctx *c, const json_t *in, const json_t *basics, json_t *m)
{
    const json_t *p = NULL, *profs = NULL, *el;
    const char *pp = "/personal", *profp = "/profiles";
    text full, first, middle, last, headline, email, phone, loc, url, tp;
    td_buf fb, mb, lb, ib, locb, tmp, disp;
    json_t *d = NULL, *lines = NULL, *contact = NULL, *plist = NULL;
    bool have[TD_ARRAY_SIZE(tracked)] = {false};
    char ip[PTR_MAX];
    size_t i;
    int rc = 0;

    td_buf_init(&fb, TEXT_MAX);
    td_buf_init(&mb, TEXT_MAX);
    td_buf_init(&lb, TEXT_MAX);
    td_buf_init(&ib, TEXT_MAX);
    td_buf_init(&locb, TEXT_MAX);
    td_buf_init(&tmp, TEXT_MAX);
    td_buf_init(&disp, TEXT_MAX);
    if ((rc = get_typed(c, in, "", "personal", JSON_OBJECT, &p)) != 0)
        goto out;
    if (!p && basics) {
        p = basics;
        pp = "/basics";
    }
    d = json_object();
    lines = json_array();
    contact = json_array();
    plist = json_array();
    if (!d || !lines || !contact || !plist) {
        rc = TD_ENOMEM;
        goto out;
    }
    if ((rc = get_text2(c, p, pp, "full_name", "name", 0, &full)) ||
        (rc = get_text(c, p, pp, "first_name", 0, &first)) ||
        (rc = get_text(c, p, pp, "middle_name", 0, &middle)) ||
        (rc = get_text(c, p, pp, "last_name", 0, &last)) ||
        (rc = get_text2(c, p, pp, "headline", "label", 0, &headline)) ||
        (rc = get_text(c, p, pp, "email", 0, &email)) ||
        (rc = get_text(c, p, pp, "phone", 0, &phone)) ||
        (rc = get_text(c, in, "", "target_position", 0, &tp)))
        goto out;

    /* Names: the parts given win; the others come from the full name. */
    split_name(c, &full, &fb, &mb, &lb);
    if (first.n || last.n) {
        td_buf_reset(&fb);
        td_buf_reset(&mb);
        td_buf_reset(&lb);
        badd(c, &fb, first.p, first.n);
        badd(c, &mb, middle.p, middle.n);
        badd(c, &lb, last.p, last.n);
    } else if (middle.n) {
        td_buf_reset(&mb);
        badd(c, &mb, middle.p, middle.n);
    }
    if (!full.n) {
        const td_buf *parts[] = {&fb, &mb, &lb};
        for (i = 0; i < TD_ARRAY_SIZE(parts); i++) {
            if (!parts[i]->len)
                continue;
            if (tmp.len)
                badd(c, &tmp, " ", 1);
            badd(c, &tmp, parts[i]->data, parts[i]->len);
        }
        put_buf(c, d, "full_name", &tmp);
        td_buf_reset(&tmp);
    } else {
        put_text(c, d, "full_name", &full);
    }
    add_initial(c, &ib, td_buf_str(&fb), fb.len);
    {
        /* the family name's initial skips its particles: "van Beethoven" gives B */
        struct token tok[NAME_TOKENS];
        size_t k = tokenize(td_buf_str(&lb), lb.len, tok, NAME_TOKENS), j = 0;
        while (j + 1 < k && islower((unsigned char)tok[j].p[0]) &&
               token_in(tok[j].p, tok[j].n, particles, TD_ARRAY_SIZE(particles)))
            j++;
        if (k)
            add_initial(c, &ib, tok[j].p, tok[j].n);
    }
    put_buf(c, d, "first_name", &fb);
    put_buf(c, d, "middle_name", &mb);
    put_buf(c, d, "last_name", &lb);
    put_buf(c, d, "initials", &ib);
    put_text(c, d, "headline", headline.n ? &headline : &tp);
    put_text(c, d, "email", &email);
    put_text(c, d, "phone", &phone);

    /* Address lines and the one-line location: a given location string wins. */
    if ((rc = address_field(c, p, pp, "address", lines, NULL)) != 0)
        goto out;
    el = json_object_get(p, "location");
    if (json_is_object(el)) {
        json_t *ll = json_array();
        ptr_key(ip, sizeof ip, pp, "location");
        if (!ll || (rc = location_object(c, el, ip, ll, &locb)) != 0) {
            json_decref(ll);
            rc = rc ? rc : TD_ENOMEM;
            goto out;
        }
        if (!json_array_size(lines) && json_array_extend(lines, ll) != 0)
            c->nomem = true;
        json_decref(ll);
    } else {
        if ((rc = get_text(c, p, pp, "location", 0, &loc)) != 0)
            goto out;
        if (loc.n)
            badd(c, &locb, loc.p, loc.n);
        else
            join_into(c, &locb, lines, ", ");
    }
    join_into(c, &tmp, lines, ", ");
    put_buf(c, d, "address", &tmp);
    td_buf_reset(&tmp);
    put(c, d, "address_lines", json_incref(lines));
    put_buf(c, d, "location", &locb);

    /* Profiles: LinkedIn and Calendly ones feed the tracked URLs, the others stay listed. */
    if ((rc = get_typed(c, in, "", "profiles", JSON_ARRAY, &profs)) != 0)
        goto out;
    if (!profs && basics) {
        profp = "/basics/profiles";
        if ((rc = get_typed(c, basics, "/basics", "profiles", JSON_ARRAY, &profs)) != 0)
            goto out;
    }
    if (!profs && p != basics) {
        profp = "/personal/profiles";
        if ((rc = get_typed(c, p, pp, "profiles", JSON_ARRAY, &profs)) != 0)
            goto out;
    }
    json_array_foreach(profs, i, el)
    {
        json_t *pd;
        text net;
        size_t k;

        snprintf(ip, sizeof ip, "%s/%zu", profp, i);
        if (!json_is_object(el)) {
            rc = fail(c, TD_EINVAL, "%s must be an object", ip);
            goto out;
        }
        pd = json_object();
        if (!pd || json_array_append_new(plist, pd) != 0) {
            rc = TD_ENOMEM;
            goto out;
        }
        if ((rc = norm_profile(c, el, pd, ip)) != 0)
            goto out;
        keep_rest(c, pd, el);
        (void)get_text(c, pd, ip, "network", 0, &net);
        for (k = 0; k < TD_ARRAY_SIZE(tracked); k++) {
            if (!text_is(&net, tracked[k].network))
                continue;
            if (!have[k] && json_is_string(json_object_get(pd, "url"))) {
                have[k] = true;
                put(c, m, tracked[k].var, json_incref(json_object_get(pd, "url")));
            }
            json_array_remove(plist, json_array_size(plist) - 1);
            break;
        }
    }

    /* The tracked URLs: top level, then personal, then what the profiles or basics.url gave. */
    for (i = 0; i < TD_ARRAY_SIZE(tracked); i++) {
        text top, per;
        json_t *v;

        if ((rc = get_text(c, in, "", tracked[i].var, 0, &top)) ||
            (rc = get_text(c, p, pp, tracked[i].var, 0, &per)))
            goto out;
        if (top.n)
            put_url(c, m, tracked[i].var, &top);
        else if (per.n)
            put_url(c, m, tracked[i].var, &per);
        else if (!have[i] && basics && i == 1) {
            if ((rc = get_text(c, basics, "/basics", "url", 0, &url)) != 0)
                goto out;
            put_url(c, m, tracked[i].var, &url);
        } else if (!have[i])
            put(c, m, tracked[i].var, json_null());
        v = json_object_get(m, tracked[i].var);
        have[i] = json_is_string(v);
        put(c, d, tracked[i].var, json_incref(v ? v : json_null()));
        td_buf_reset(&disp);
        if (have[i]) {
            text u;
            text_set(&u, json_string_value(v), json_string_length(v));
            url_display(c, &disp, &u);
        }
        put_buf(c, m, tracked[i].text, &disp);
    }
    put_bool(c, m, "portfolio_sep", have[1] && have[0]);
    put_bool(c, m, "calendly_sep", have[2] && (have[0] || have[1]));
    put_bool(c, m, "has_links", have[0] || have[1] || have[2]);

    /* contact[]: e-mail, phone and location, each with a link where one makes sense. */
    {
        const struct {
            const char *kind, *scheme;
            const char *s;
            size_t n;
        } items[] = {
            {"email", "mailto:", email.p, email.n},
            {"phone", "tel:", phone.p, phone.n},
            {"location", NULL, td_buf_str(&locb), locb.len},
        };
        for (i = 0; i < TD_ARRAY_SIZE(items); i++) {
            json_t *it;

            if (!items[i].n)
                continue;
            it = json_object();
            if (!it || json_array_append_new(contact, it) != 0) {
                rc = TD_ENOMEM;
                goto out;
            }
            put(c, it, "kind", json_string(items[i].kind));
            put_str(c, it, "text", items[i].s, items[i].n);
            if (items[i].scheme) {
                td_buf_reset(&tmp);
                badds(c, &tmp, items[i].scheme);
                for (size_t k = 0; k < items[i].n; k++) {
                    char ch = items[i].s[k];
                    /* tel: keeps digits and a leading +; mailto: keeps the address */
                    if (!strcmp(items[i].kind, "email") || isdigit((unsigned char)ch) ||
                        (ch == '+' && k == 0))
                        badd(c, &tmp, &ch, 1);
                }
                put_buf(c, it, "href", &tmp);
            } else {
                put(c, it, "href", json_null());
            }
        }
    }
    mark_ends(c, contact);
    mark_ends(c, plist);
    put_bool(c, m, "has_contact", json_array_size(contact) > 0);
    put_bool(c, m, "has_profiles", json_array_size(plist) > 0);
    put(c, m, "contact", json_incref(contact));
    put(c, m, "profiles", json_incref(plist));
    keep_rest(c, d, p);
    put(c, m, "personal", json_incref(d));
out:
    json_decref(d);
    json_decref(lines);
    json_decref(contact);
    json_decref(plist);
    td_buf_release(&fb);
    td_buf_release(&mb);
    td_buf_release(&lb);
    td_buf_release(&ib);
    td_buf_release(&locb);
    td_buf_release(&tmp);
    td_buf_release(&disp);
    return rc;
}

/* ----------------------------------------------------------------------------------- lists */

typedef int (*norm_fn)(struct ctx *c, const json_t *src, json_t *dst, const char *ptr);

/* Normalizes each object of the list src (named ptr; may be NULL) with fn into a new list set
 * as key of m, with first/last flags. With str_key, a string element stands for
 * {str_key: element}. has (may be NULL) is set when the list is not empty. */
static int norm_list(struct ctx *c, const json_t *src, const char *ptr, json_t *m, const char *key,
                     const char *str_key, norm_fn fn, const char *has)
{
    json_t *out = json_array(), *el, *wrap = NULL, *d;
    char ip[PTR_MAX];
    size_t i;
    int rc = 0;

    if (!out)
        return TD_ENOMEM;
    json_array_foreach(src, i, el)
    {
        const json_t *s = el;

        snprintf(ip, sizeof ip, "%s/%zu", ptr, i);
        if (str_key && json_is_string(el)) {
            wrap = json_pack("{sO}", str_key, el);
            if (!wrap) {
                rc = TD_ENOMEM;
                goto out;
            }
            s = wrap;
        } else if (!json_is_object(el)) {
            rc = fail(c, TD_EINVAL, "%s must be an object%s", ip, str_key ? " or a string" : "");
            goto out;
        }
        d = json_object();
        if (!d || json_array_append_new(out, d) != 0) {
            rc = TD_ENOMEM;
            goto out;
        }
        if ((rc = fn(c, s, d, ip)) != 0)
            goto out;
        keep_rest(c, d, s);
        json_decref(wrap);
        wrap = NULL;
    }
    mark_ends(c, out);
    if (has)
        put_bool(c, m, has, json_array_size(out) > 0);
    put(c, m, key, out);
    out = NULL;
out:
    json_decref(wrap);
    json_decref(out);
    return rc;
}

/* Sets key to list and key_text to its strings joined by ", ", has_key when given. */
static void put_list(struct ctx *c, json_t *d, const char *key, const char *text_key,
                     const char *has, json_t *list)
{
    if (text_key)
        put(c, d, text_key, join_list(c, list, ", "));
    if (has)
        put_bool(c, d, has, json_array_size(list) > 0);
    put(c, d, key, list);
}

/* Splits a description into its prose (appended to prose) and the lines that start with a
 * bullet ("- ", "* ", "• ", "– "), appended to bullets unless already there. */
static void split_bullets(struct ctx *c, const text *desc, td_buf *prose, json_t *bullets)
{
    static const char *const marks[] = {"- ", "* ", "\xE2\x80\xA2 ", "\xE2\x80\x93 "};
    const char *s = desc->p, *e = desc->p + desc->n;

    while (s < e) {
        const char *nl = memchr(s, '\n', (size_t)(e - s));
        text line;
        size_t k;

        if (!nl)
            nl = e;
        text_set(&line, s, (size_t)(nl - s));
        for (k = 0; k < TD_ARRAY_SIZE(marks); k++) {
            size_t ml = strlen(marks[k]);
            if (line.n > ml && memcmp(line.p, marks[k], ml) == 0)
                break;
        }
        if (k < TD_ARRAY_SIZE(marks)) {
            text b;
            size_t i;
            json_t *el;
            bool seen = false;

            text_set(&b, line.p + strlen(marks[k]), line.n - strlen(marks[k]));
            json_array_foreach(bullets, i, el)
            {
                seen = seen || (json_string_length(el) == b.n &&
                                memcmp(json_string_value(el), b.p, b.n) == 0);
            }
            if (b.n && !seen && json_array_append_new(bullets, json_stringn(b.p, b.n)) != 0)
                c->nomem = true;
        } else {
            if (prose->len)
                badd(c, prose, "\n", 1);
            badd(c, prose, s, (size_t)(nl - s));
        }
        s = nl + 1;
    }
}

/* One job: API {company, title, start_date, end_date, description} or JSON Resume work
 * {name, position, startDate, endDate, summary, highlights}. */
static int norm_experience(struct ctx *c, const json_t *s, json_t *d, const char *ptr)
{
    text company, title, location, url, start, end, desc, summary, range;
    json_t *hl = NULL;
    td_buf prose, ignore;
    int rc;

    td_buf_init(&prose, TEXT_MAX);
    if ((rc = get_text2(c, s, ptr, "company", "name", 0, &company)) ||
        (rc = get_text2(c, s, ptr, "title", "position", 0, &title)) ||
        (rc = get_text(c, s, ptr, "location", 0, &location)) ||
        (rc = get_text2(c, s, ptr, "url", "website", 0, &url)) ||
        (rc = get_text2(c, s, ptr, "start_date", "startDate", T_INT, &start)) ||
        (rc = get_text2(c, s, ptr, "end_date", "endDate", T_INT, &end)) ||
        (rc = get_text(c, s, ptr, "description", 0, &desc)) ||
        (rc = get_text(c, s, ptr, "summary", 0, &summary)) ||
        (rc = get_text(c, s, ptr, "date_range", 0, &range)) ||
        (rc = get_str_list(c, s, ptr, "highlights", NULL, &hl)))
        goto out;
    if (!desc.n)
        desc = summary; /* JSON Resume calls the description "summary" */
    /* The summary is the prose (of a given summary, else of the description); bullet lines of
     * either join the highlights, once each. */
    td_buf_init(&ignore, TEXT_MAX);
    split_bullets(c, &desc, summary.n ? &ignore : &prose, hl);
    if (summary.n)
        split_bullets(c, &summary, &prose, hl);
    td_buf_release(&ignore);
    put_text(c, d, "company", &company);
    put_text(c, d, "title", &title);
    put_text(c, d, "location", &location);
    put_url(c, d, "url", &url);
    put_text(c, d, "start_date", &start);
    put_text(c, d, "end_date", &end);
    put_text(c, d, "description", &desc);
    put_buf(c, d, "summary", &prose);
    put_bool(c, d, "has_summary", prose.len > 0);
    put_list(c, d, "highlights", NULL, "has_highlights", hl);
    hl = NULL;
    put_dates(c, d, &start, &end, &range, true);
out:
    json_decref(hl);
    td_buf_release(&prose);
    return rc;
}

/* One school: API {institution, degree, field, graduation_year} or JSON Resume {institution,
 * studyType, area, startDate, endDate, score, courses}. */
static int norm_education(struct ctx *c, const json_t *s, json_t *d, const char *ptr)
{
    text inst, degree, field, year, start, end, location, url, score, range, line;
    json_t *courses = NULL;
    td_buf b;
    int y, m, dd, rc;

    td_buf_init(&b, TEXT_MAX);
    if ((rc = get_text2(c, s, ptr, "institution", "school", 0, &inst)) ||
        (rc = get_text2(c, s, ptr, "degree", "studyType", 0, &degree)) ||
        (rc = get_text2(c, s, ptr, "field", "area", 0, &field)) ||
        (rc = get_text(c, s, ptr, "graduation_year", T_INT, &year)) ||
        (rc = get_text2(c, s, ptr, "start_date", "startDate", T_INT, &start)) ||
        (rc = get_text2(c, s, ptr, "end_date", "endDate", T_INT, &end)) ||
        (rc = get_text(c, s, ptr, "location", 0, &location)) ||
        (rc = get_text(c, s, ptr, "url", 0, &url)) ||
        (rc = get_text2(c, s, ptr, "score", "gpa", 0, &score)) ||
        (rc = get_text(c, s, ptr, "date_range", 0, &range)) ||
        (rc = get_text(c, s, ptr, "degree_line", 0, &line)) ||
        (rc = get_str_list(c, s, ptr, "courses", NULL, &courses)))
        goto out;
    if (!year.n && end.n && parse_date(&end, &y, &m, &dd) > 0)
        text_set(&year, end.p, 4);
    if (line.n) {
        badd(c, &b, line.p, line.n);
    } else {
        badd(c, &b, degree.p, degree.n);
        if (degree.n && field.n)
            badds(c, &b, " in ");
        badd(c, &b, field.p, field.n);
    }
    put_text(c, d, "institution", &inst);
    put_text(c, d, "degree", &degree);
    put_text(c, d, "field", &field);
    put_buf(c, d, "degree_line", &b);
    put_text(c, d, "graduation_year", &year);
    put_text(c, d, "location", &location);
    put_url(c, d, "url", &url);
    put_text(c, d, "score", &score);
    put_text(c, d, "start_date", &start);
    put_text(c, d, "end_date", &end);
    put_list(c, d, "courses", "courses_text", "has_courses", courses);
    courses = NULL;
    put_dates(c, d, &start, end.n ? &end : &year, &range, true);
    put_bool(c, d, "is_current", start.n && !end.n && !year.n);
out:
    json_decref(courses);
    td_buf_release(&b);
    return rc;
}

/* One skill group {name, level, keywords[]}. */
static int norm_skill_group(struct ctx *c, const json_t *s, json_t *d, const char *ptr)
{
    text name, level;
    json_t *kw = NULL;
    int rc;

    if ((rc = get_text(c, s, ptr, "name", 0, &name)) ||
        (rc = get_text(c, s, ptr, "level", 0, &level)) ||
        (rc = get_str_list(c, s, ptr, "keywords", NULL, &kw)))
        return rc;
    put_text(c, d, "name", &name);
    put_text(c, d, "level", &level);
    put_list(c, d, "keywords", "keywords_text", "has_keywords", kw);
    return 0;
}

/* Appends the string s to list unless it is there already (any ASCII case). */
static void add_unique(struct ctx *c, json_t *list, const json_t *s)
{
    size_t i;
    json_t *el;

    json_array_foreach(list, i, el)
    {
        if (json_string_length(el) == json_string_length(s) &&
            strncasecmp(json_string_value(el), json_string_value(s), json_string_length(s)) == 0)
            return;
    }
    if (json_array_append(list, (json_t *)s) != 0)
        c->nomem = true;
}

/* Appends to groups one normalized group {name, keywords} made for a list of skills. */
static void add_group(struct ctx *c, json_t *groups, const char *name, json_t *keywords)
{
    json_t *s = json_pack("{sssO}", "name", name, "keywords", keywords);
    json_t *d = s ? json_object() : NULL;

    if (!d || norm_skill_group(c, s, d, "/skills") != 0 || json_array_append(groups, d) != 0)
        c->nomem = true;
    json_decref(s);
    json_decref(d);
}

/* skills: the API object {technical[], soft[]} (groups[] may be given), a JSON Resume list of
 * {name, level, keywords[]}, or a plain list of strings (technical). */
static int skills(struct ctx *c, const json_t *in, json_t *m)
{
    const json_t *v = json_object_get(in, "skills"), *groups = NULL;
    json_t *d = NULL, *tech = NULL, *soft = NULL, *jr = NULL, *glist = NULL, *el;
    const char *gptr = "/skills/groups";
    size_t i;
    int rc = 0;

    if (v && !json_is_null(v) && !json_is_object(v) && !json_is_array(v))
        return fail(c, TD_EINVAL, "/skills must be an object or an array");
    d = json_object();
    if (!d)
        return TD_ENOMEM;
    if (json_is_array(v)) {
        /* strings are technical skills, objects JSON Resume groups */
        tech = json_array();
        soft = json_array();
        jr = json_array();
        if (!tech || !soft || !jr) {
            rc = TD_ENOMEM;
            goto out;
        }
        json_array_foreach(v, i, el)
        {
            if (json_is_string(el)) {
                text t;
                text_set(&t, json_string_value(el), json_string_length(el));
                if (t.n && json_array_append_new(tech, json_stringn(t.p, t.n)) != 0)
                    c->nomem = true;
            } else if (json_is_object(el)) {
                if (json_array_append(jr, el) != 0)
                    c->nomem = true;
            } else {
                rc = fail(c, TD_EINVAL, "/skills/%zu must be an object or a string", i);
                goto out;
            }
        }
        groups = jr;
        gptr = "/skills";
    } else {
        if ((rc = get_str_list(c, v, "/skills", "technical", NULL, &tech)) ||
            (rc = get_str_list(c, v, "/skills", "soft", NULL, &soft)) ||
            (rc = get_typed(c, v, "/skills", "groups", JSON_ARRAY, &groups)))
            goto out;
    }
    if ((rc = norm_list(c, groups, gptr, d, "groups", NULL, norm_skill_group, NULL)) != 0)
        goto out;
    glist = json_object_get(d, "groups");
    if (json_is_array(v)) {
        /* JSON Resume: names and keywords go to technical, once each */
        json_array_foreach(glist, i, el)
        {
            const json_t *name = json_object_get(el, "name"), *kw;
            size_t k;
            if (json_string_length(name))
                add_unique(c, tech, name);
            json_array_foreach(json_object_get(el, "keywords"), k, kw)
            {
                add_unique(c, tech, kw);
            }
        }
        /* a plain list of strings shows as one group */
        if (json_array_size(glist) == 0 && json_array_size(tech) > 0)
            add_group(c, glist, "Technical", tech);
    } else if (!groups) {
        if (json_array_size(tech) > 0)
            add_group(c, glist, "Technical", tech);
        if (json_array_size(soft) > 0)
            add_group(c, glist, "Interpersonal", soft);
    }
    mark_ends(c, glist);
    put_bool(c, d, "has_groups", json_array_size(glist) > 0);
    put_bool(c, d, "has_technical", json_array_size(tech) > 0);
    put_bool(c, d, "has_soft", json_array_size(soft) > 0);
    put_bool(c, m, "has_skills",
             json_array_size(glist) + json_array_size(tech) + json_array_size(soft) > 0);
    put_list(c, d, "technical", "technical_text", NULL, tech);
    put_list(c, d, "soft", "soft_text", NULL, soft);
    tech = soft = NULL;
    keep_rest(c, d, v);
    put(c, m, "skills", d);
    d = NULL;
out:
    json_decref(d);
    json_decref(tech);
    json_decref(soft);
    json_decref(jr);
    return rc;
}

/* One project {name, description, url, highlights[], keywords[], roles[], start/end dates}. */
static int norm_project(struct ctx *c, const json_t *s, json_t *d, const char *ptr)
{
    text name, desc, url, start, end, range;
    json_t *hl = NULL, *kw = NULL, *roles = NULL;
    td_buf disp;
    int rc;

    td_buf_init(&disp, TEXT_MAX);
    if ((rc = get_text(c, s, ptr, "name", 0, &name)) ||
        (rc = get_text2(c, s, ptr, "description", "summary", 0, &desc)) ||
        (rc = get_text(c, s, ptr, "url", 0, &url)) ||
        (rc = get_text2(c, s, ptr, "start_date", "startDate", T_INT, &start)) ||
        (rc = get_text2(c, s, ptr, "end_date", "endDate", T_INT, &end)) ||
        (rc = get_text(c, s, ptr, "date_range", 0, &range)) ||
        (rc = get_str_list(c, s, ptr, "highlights", NULL, &hl)) ||
        (rc = get_str_list(c, s, ptr, "keywords", "technologies", &kw)) ||
        (rc = get_str_list(c, s, ptr, "roles", NULL, &roles)))
        goto out;
    url_display(c, &disp, &url);
    put_text(c, d, "name", &name);
    put_text(c, d, "description", &desc);
    put_url(c, d, "url", &url);
    put_buf(c, d, "url_text", &disp);
    put_text(c, d, "start_date", &start);
    put_text(c, d, "end_date", &end);
    put_dates(c, d, &start, &end, &range, false);
    put_list(c, d, "highlights", NULL, "has_highlights", hl);
    put_list(c, d, "keywords", "keywords_text", "has_keywords", kw);
    put_list(c, d, "roles", "roles_text", NULL, roles);
    hl = kw = roles = NULL;
out:
    json_decref(hl);
    json_decref(kw);
    json_decref(roles);
    td_buf_release(&disp);
    return rc;
}

/* One language {language, fluency} (or {name, level}, or a plain string). */
static int norm_language(struct ctx *c, const json_t *s, json_t *d, const char *ptr)
{
    text lang, fl;
    td_buf b;
    int rc;

    if ((rc = get_text2(c, s, ptr, "language", "name", 0, &lang)) ||
        (rc = get_text2(c, s, ptr, "fluency", "level", 0, &fl)))
        return rc;
    td_buf_init(&b, TEXT_MAX);
    badd(c, &b, lang.p, lang.n);
    if (fl.n) {
        badds(c, &b, lang.n ? " (" : "(");
        badd(c, &b, fl.p, fl.n);
        badd(c, &b, ")", 1);
    }
    put_text(c, d, "language", &lang);
    put_text(c, d, "fluency", &fl);
    put_buf(c, d, "text", &b);
    td_buf_release(&b);
    return 0;
}

/* One certificate {name, issuer, date, url}. */
static int norm_certificate(struct ctx *c, const json_t *s, json_t *d, const char *ptr)
{
    text name, issuer, date, url;
    td_buf b;
    int rc;

    if ((rc = get_text2(c, s, ptr, "name", "title", 0, &name)) ||
        (rc = get_text2(c, s, ptr, "issuer", "authority", 0, &issuer)) ||
        (rc = get_text(c, s, ptr, "date", T_INT, &date)) ||
        (rc = get_text(c, s, ptr, "url", 0, &url)))
        return rc;
    td_buf_init(&b, TEXT_MAX);
    date_short(c, &b, &date);
    put_text(c, d, "name", &name);
    put_text(c, d, "issuer", &issuer);
    put_text(c, d, "date", &date);
    put_buf(c, d, "date_text", &b);
    put_url(c, d, "url", &url);
    td_buf_release(&b);
    return 0;
}

/* One award {title, awarder, date, summary}. */
static int norm_award(struct ctx *c, const json_t *s, json_t *d, const char *ptr)
{
    text title, awarder, date, summary;
    td_buf b;
    int rc;

    if ((rc = get_text2(c, s, ptr, "title", "name", 0, &title)) ||
        (rc = get_text(c, s, ptr, "awarder", 0, &awarder)) ||
        (rc = get_text(c, s, ptr, "date", T_INT, &date)) ||
        (rc = get_text(c, s, ptr, "summary", 0, &summary)))
        return rc;
    td_buf_init(&b, TEXT_MAX);
    date_short(c, &b, &date);
    put_text(c, d, "title", &title);
    put_text(c, d, "awarder", &awarder);
    put_text(c, d, "date", &date);
    put_buf(c, d, "date_text", &b);
    put_text(c, d, "summary", &summary);
    td_buf_release(&b);
    return 0;
}

/* One volunteer position {organization, position, url, start/end dates, summary, highlights}. */
static int norm_volunteer(struct ctx *c, const json_t *s, json_t *d, const char *ptr)
{
    text org, pos, url, start, end, summary, range;
    json_t *hl = NULL;
    int rc;

    if ((rc = get_text(c, s, ptr, "organization", 0, &org)) ||
        (rc = get_text2(c, s, ptr, "position", "title", 0, &pos)) ||
        (rc = get_text(c, s, ptr, "url", 0, &url)) ||
        (rc = get_text2(c, s, ptr, "start_date", "startDate", T_INT, &start)) ||
        (rc = get_text2(c, s, ptr, "end_date", "endDate", T_INT, &end)) ||
        (rc = get_text2(c, s, ptr, "summary", "description", 0, &summary)) ||
        (rc = get_text(c, s, ptr, "date_range", 0, &range)) ||
        (rc = get_str_list(c, s, ptr, "highlights", NULL, &hl)))
        return rc;
    put_text(c, d, "organization", &org);
    put_text(c, d, "position", &pos);
    put_url(c, d, "url", &url);
    put_text(c, d, "start_date", &start);
    put_text(c, d, "end_date", &end);
    put_text(c, d, "summary", &summary);
    put_list(c, d, "highlights", NULL, "has_highlights", hl);
    put_dates(c, d, &start, &end, &range, true);
    return 0;
}

/* One interest {name, keywords[]} (or a plain string). */
static int norm_interest(struct ctx *c, const json_t *s, json_t *d, const char *ptr)
{
    text name;
    json_t *kw = NULL;
    int rc;

    if ((rc = get_text(c, s, ptr, "name", 0, &name)) ||
        (rc = get_str_list(c, s, ptr, "keywords", NULL, &kw)))
        return rc;
    put_text(c, d, "name", &name);
    put_list(c, d, "keywords", "keywords_text", "has_keywords", kw);
    return 0;
}

/* Sets key_text to the join of the field field of each object of the list key of m. */
static void join_field(struct ctx *c, json_t *m, const char *key, const char *field,
                       const char *text_key)
{
    json_t *names = json_array(), *el;
    size_t i;

    if (!names) {
        c->nomem = true;
        return;
    }
    json_array_foreach(json_object_get(m, key), i, el)
    {
        json_t *v = json_object_get(el, field);
        if (json_string_length(v) && json_array_append(names, v) != 0)
            c->nomem = true;
    }
    put(c, m, text_key, join_list(c, names, ", "));
    json_decref(names);
}

/* --------------------------------------------------------------------------- whole inputs */

/* Refuses lists longer than TD_MODEL_MAX_LIST and nesting deeper than TD_MODEL_MAX_DEPTH
 * anywhere in v; ptr (a PTR_MAX buffer) holds the pointer of v and is restored on return. */
static int check_bounds(struct ctx *c, const json_t *v, char *ptr, int depth)
{
    size_t len = strlen(ptr), i;
    const char *key;
    json_t *el;
    int rc = 0;

    if ((json_is_object(v) || json_is_array(v)) && depth > TD_MODEL_MAX_DEPTH)
        return fail(c, TD_ETOOBIG, "%s is nested deeper than %d levels", *ptr ? ptr : "/",
                    TD_MODEL_MAX_DEPTH);
    if (json_is_array(v)) {
        if (json_array_size(v) > TD_MODEL_MAX_LIST)
            return fail(c, TD_ETOOBIG, "%s has %zu entries, at most %d are allowed", ptr,
                        json_array_size(v), TD_MODEL_MAX_LIST);
        json_array_foreach(v, i, el)
        {
            snprintf(ptr + len, PTR_MAX - len, "/%zu", i);
            if ((rc = check_bounds(c, el, ptr, depth + 1)) != 0)
                break;
        }
    } else if (json_is_object(v)) {
        char tmp[PTR_MAX];
        json_object_foreach((json_t *)v, key, el)
        {
            memcpy(tmp, ptr, len);
            tmp[len] = '\0';
            ptr_key(ptr, PTR_MAX, tmp, key);
            if ((rc = check_bounds(c, el, ptr, depth + 1)) != 0)
                break;
        }
    }
    if (rc == 0)
        ptr[len] = '\0';
    return rc;
}

/* True when in is a JSON Resume document rather than our API shape. */
static const json_t *jsonresume_basics(const json_t *in)
{
    const json_t *b = json_object_get(in, "basics");

    return json_is_object(b) && !json_object_get(in, "personal") ? b : NULL;
}

/* Checks the arguments and the bounds of in, and makes the copy the model is built in. */
static int start(struct ctx *c, const json_t *in, json_t **out, json_t **m)
{
    char ptr[PTR_MAX] = "";
    int rc;

    *m = NULL;
    if (out)
        *out = NULL;
    if (!in || !out)
        return fail(c, TD_EINVAL, "no input or no output given");
    if (!json_is_object(in))
        return fail(c, TD_EINVAL, "the data must be a JSON object");
    if ((rc = check_bounds(c, in, ptr, 0)) != 0)
        return rc;
    *m = json_object();
    return *m ? 0 : TD_ENOMEM;
}

/* Hands the model out with its members in the order of keys (NULL-ended) and the fields of in
 * it does not know after them; or frees it on failure. */
static int finish(struct ctx *c, int rc, json_t *m, const json_t *in, const char *const *keys,
                  json_t **out)
{
    json_t *o = NULL, *v;

    if (rc == 0) {
        o = json_object();
        if (!o)
            c->nomem = true;
        for (; o && *keys; keys++)
            if ((v = json_object_get(m, *keys)) != NULL)
                put(c, o, *keys, json_incref(v));
        if (o && json_object_update_missing(o, m) != 0)
            c->nomem = true;
        if (o)
            keep_rest(c, o, in);
    }
    json_decref(m);
    if (rc == 0 && c->nomem)
        rc = fail(c, TD_ENOMEM, "out of memory");
    if (rc == 0)
        *out = o;
    else
        json_decref(o);
    return rc;
}

/* The order of the top-level variables of each model, as docs/template-variables.md lists them. */
static const char *const resume_keys[] = {
    "personal",
    "target_position",
    "professional_summary",
    "summary_paragraphs",
    "linkedin_url",
    "portfolio_url",
    "calendly_url",
    "linkedin_text",
    "portfolio_text",
    "calendly_text",
    "portfolio_sep",
    "calendly_sep",
    "contact",
    "profiles",
    "experience",
    "education",
    "skills",
    "projects",
    "languages",
    "languages_text",
    "certificates",
    "awards",
    "volunteer",
    "interests",
    "interests_text",
    "has_summary",
    "has_contact",
    "has_links",
    "has_profiles",
    "has_experience",
    "has_education",
    "has_skills",
    "has_projects",
    "has_languages",
    "has_certificates",
    "has_awards",
    "has_volunteer",
    "has_interests",
    NULL,
};
static const char *const letter_keys[] = {
    "personal",
    "date",
    "date_iso",
    "recipient",
    "salutation",
    "position",
    "target_position",
    "subject",
    "content",
    "paragraphs",
    "body_paragraphs",
    "sign_off",
    "linkedin_url",
    "portfolio_url",
    "calendly_url",
    "linkedin_text",
    "portfolio_text",
    "calendly_text",
    "portfolio_sep",
    "calendly_sep",
    "contact",
    "profiles",
    "has_date",
    "has_recipient",
    "has_content",
    "has_contact",
    "has_links",
    "has_profiles",
    NULL,
};

/* Splits a text at blank lines into a list of paragraphs (single newlines stay inside). */
static json_t *paragraphs_of(struct ctx *c, const text *t)
{
    json_t *list = json_array();
    const char *s = t->p, *e = t->p + t->n;

    if (!list) {
        c->nomem = true;
        return NULL;
    }
    while (s < e) {
        const char *q = s, *end = e, *next = e;
        text para;

        /* find "\n" followed by only white space up to the next "\n" */
        while (q < e) {
            const char *nl = memchr(q, '\n', (size_t)(e - q)), *r;
            if (!nl)
                break;
            for (r = nl + 1; r < e && (*r == ' ' || *r == '\t' || *r == '\r'); r++)
                ;
            if (r < e && *r == '\n') {
                end = nl;
                next = r + 1;
                break;
            }
            q = nl + 1;
        }
        text_set(&para, s, (size_t)(end - s));
        if (para.n && json_array_append_new(list, json_stringn(para.p, para.n)) != 0)
            c->nomem = true;
        s = next;
    }
    return list;
}

/* Reads a top-level list that JSON Resume may name differently (work for experience). */
static int source_list(struct ctx *c, const json_t *in, const char *key, const char *jr_key,
                       bool jr, const json_t **list, const char **ptr, char *buf)
{
    int rc;

    *list = NULL;
    if (jr && jr_key) {
        if ((rc = get_typed(c, in, "", jr_key, JSON_ARRAY, list)) != 0)
            return rc;
        if (*list) {
            snprintf(buf, PTR_MAX, "/%s", jr_key);
            *ptr = buf;
            return 0;
        }
    }
    snprintf(buf, PTR_MAX, "/%s", key);
    *ptr = buf;
    return get_typed(c, in, "", key, JSON_ARRAY, list);
}

/* Builds the canonical résumé model into m. */
static int build_resume(struct ctx *c, const json_t *in, json_t *m)
{
    static const struct {
        const char *key, *jr_key, *str_key, *has;
        norm_fn fn;
    } lists[] = {
        {"experience", "work", NULL, "has_experience", norm_experience},
        {"education", NULL, NULL, "has_education", norm_education},
        {"projects", NULL, NULL, "has_projects", norm_project},
        {"languages", NULL, "language", "has_languages", norm_language},
        {"certificates", NULL, "name", "has_certificates", norm_certificate},
        {"awards", NULL, "title", "has_awards", norm_award},
        {"volunteer", NULL, NULL, "has_volunteer", norm_volunteer},
        {"interests", NULL, "name", "has_interests", norm_interest},
    };
    const json_t *basics = jsonresume_basics(in), *list;
    text summary, tp;
    json_t *paras;
    const char *ptr;
    char buf[PTR_MAX];
    int rc;

    if ((rc = personal(c, in, basics, m)) != 0)
        return rc;
    if ((rc = get_text(c, in, "", "professional_summary", 0, &summary)) ||
        (rc = get_text(c, in, "", "target_position", 0, &tp)))
        return rc;
    if (!summary.n && basics && (rc = get_text(c, basics, "/basics", "summary", 0, &summary)))
        return rc;
    put_text(c, m, "professional_summary", &summary);
    paras = paragraphs_of(c, &summary);
    put(c, m, "summary_paragraphs", paras);
    put_bool(c, m, "has_summary", summary.n > 0);
    put_text(c, m, "target_position", &tp);
    for (size_t i = 0; i < TD_ARRAY_SIZE(lists); i++) {
        if ((rc = source_list(c, in, lists[i].key, lists[i].jr_key, basics != NULL, &list, &ptr,
                              buf)) != 0 ||
            (rc = norm_list(c, list, ptr, m, lists[i].key, lists[i].str_key, lists[i].fn,
                            lists[i].has)) != 0)
            return rc;
    }
    join_field(c, m, "languages", "text", "languages_text");
    join_field(c, m, "interests", "name", "interests_text");
    return skills(c, in, m);
}

/* Public: the résumé model. */
int td_model_resume(const json_t *in, json_t **out, char *err, size_t errsz)
{
    struct ctx c = {err, errsz, false};
    json_t *m = NULL;
    int rc;

    if ((rc = start(&c, in, out, &m)) == 0)
        rc = build_resume(&c, in, m);
    return finish(&c, rc, m, in, resume_keys, out);
}

/* Builds the canonical cover-letter model into m. */
static int build_cover_letter(struct ctx *c, const json_t *in, json_t *m)
{
    const json_t *basics = jsonresume_basics(in), *r = NULL, *pos = NULL, *ct = NULL;
    text rname, rtitle, rcompany, ptitle, pref, open, close, date, date_iso, salut, signoff,
        subject, tp;
    json_t *rd = NULL, *pd = NULL, *cd = NULL, *body = NULL, *lines = NULL, *all = NULL;
    td_buf b;
    size_t i;
    json_t *el;
    int y, mo, d, rc;

    td_buf_init(&b, TEXT_MAX);
    if ((rc = personal(c, in, basics, m)) != 0)
        goto out;
    if ((rc = get_typed(c, in, "", "recipient", JSON_OBJECT, &r)) ||
        (rc = get_typed(c, in, "", "position", JSON_OBJECT, &pos)) ||
        (rc = get_typed(c, in, "", "content", JSON_OBJECT, &ct)) ||
        (rc = get_text(c, r, "/recipient", "name", 0, &rname)) ||
        (rc = get_text(c, r, "/recipient", "title", 0, &rtitle)) ||
        (rc = get_text(c, r, "/recipient", "company", 0, &rcompany)) ||
        (rc = get_text(c, pos, "/position", "title", 0, &ptitle)) ||
        (rc = get_text(c, pos, "/position", "reference", T_INT, &pref)) ||
        (rc = get_text(c, ct, "/content", "opening_paragraph", 0, &open)) ||
        (rc = get_text(c, ct, "/content", "closing_paragraph", 0, &close)) ||
        (rc = get_str_list(c, ct, "/content", "body_paragraphs", NULL, &body)) ||
        (rc = get_text(c, in, "", "date", 0, &date)) ||
        (rc = get_text(c, in, "", "date_iso", 0, &date_iso)) ||
        (rc = get_text(c, in, "", "subject", 0, &subject)) ||
        (rc = get_text(c, in, "", "target_position", 0, &tp)))
        goto out;
    if ((rc = get_text(c, in, "", "salutation", 0, &salut)) ||
        (!salut.n && (rc = get_text(c, ct, "/content", "salutation", 0, &salut))) ||
        (rc = get_text(c, in, "", "sign_off", 0, &signoff)) ||
        (!signoff.n && (rc = get_text(c, ct, "/content", "sign_off", 0, &signoff))))
        goto out;
    rd = json_object();
    pd = json_object();
    cd = json_object();
    lines = json_array();
    all = json_array();
    if (!rd || !pd || !cd || !lines || !all) {
        rc = TD_ENOMEM;
        goto out;
    }

    /* recipient: the lines of the address block */
    {
        const text *parts[] = {&rname, &rtitle, &rcompany};
        json_t *addr = json_array();
        if (!addr) {
            rc = TD_ENOMEM;
            goto out;
        }
        for (i = 0; i < TD_ARRAY_SIZE(parts); i++)
            if (parts[i]->n &&
                json_array_append_new(lines, json_stringn(parts[i]->p, parts[i]->n)) != 0)
                c->nomem = true;
        if ((rc = address_field(c, r, "/recipient", "address", addr, NULL)) != 0) {
            json_decref(addr);
            goto out;
        }
        if (json_array_extend(lines, addr) != 0)
            c->nomem = true;
        join_into(c, &b, addr, ", ");
        put_buf(c, rd, "address", &b);
        td_buf_reset(&b);
        put(c, rd, "address_lines", addr);
    }
    put_text(c, rd, "name", &rname);
    put_text(c, rd, "title", &rtitle);
    put_text(c, rd, "company", &rcompany);
    put_bool(c, m, "has_recipient", json_array_size(lines) > 0);
    put(c, rd, "lines", json_incref(lines));
    keep_rest(c, rd, r);
    put(c, m, "recipient", json_incref(rd));

    if (salut.n) {
        badd(c, &b, salut.p, salut.n);
    } else {
        badds(c, &b, "Dear ");
        if (rname.n)
            badd(c, &b, rname.p, rname.n);
        else
            badds(c, &b, "Hiring Manager");
        badd(c, &b, ",", 1);
    }
    put_buf(c, m, "salutation", &b);
    td_buf_reset(&b);

    /* position and the subject line */
    put_text(c, pd, "title", &ptitle);
    put_text(c, pd, "reference", &pref);
    keep_rest(c, pd, pos);
    put(c, m, "position", json_incref(pd));
    put_text(c, m, "target_position", tp.n ? &tp : &ptitle);
    el = json_object_get(m, "personal");
    if (json_string_length(json_object_get(el, "headline")) == 0)
        put_text(c, el, "headline", tp.n ? &tp : &ptitle);
    if (subject.n) {
        badd(c, &b, subject.p, subject.n);
    } else if (ptitle.n) {
        badds(c, &b, "Application for ");
        badd(c, &b, ptitle.p, ptitle.n);
        if (pref.n) {
            badds(c, &b, " (Ref. ");
            badd(c, &b, pref.p, pref.n);
            badd(c, &b, ")", 1);
        }
    } else if (pref.n) {
        badds(c, &b, "Ref. ");
        badd(c, &b, pref.p, pref.n);
    }
    put_buf(c, m, "subject", &b);
    td_buf_reset(&b);

    /* the letter text */
    if (open.n && json_array_append_new(all, json_stringn(open.p, open.n)) != 0)
        c->nomem = true;
    json_array_foreach(body, i, el)
    {
        if (json_array_append(all, el) != 0)
            c->nomem = true;
    }
    if (close.n && json_array_append_new(all, json_stringn(close.p, close.n)) != 0)
        c->nomem = true;
    put_text(c, cd, "opening_paragraph", &open);
    put_text(c, cd, "closing_paragraph", &close);
    put(c, cd, "body_paragraphs", json_incref(body));
    keep_rest(c, cd, ct);
    put(c, m, "content", json_incref(cd));
    put(c, m, "body_paragraphs", json_incref(body));
    put(c, m, "paragraphs", json_incref(all));
    put_bool(c, m, "has_content", json_array_size(all) > 0);
    if (signoff.n)
        put_text(c, m, "sign_off", &signoff);
    else
        put(c, m, "sign_off", json_string("Kind regards,"));

    /* the date: ISO dates are written out, anything else is kept */
    date_long(c, &b, &date);
    put_buf(c, m, "date", &b);
    td_buf_reset(&b);
    if (parse_date(&date, &y, &mo, &d) == 3)
        text_set(&date_iso, date.p, 10);
    put_text(c, m, "date_iso", &date_iso);
    put_bool(c, m, "has_date", date.n > 0);
out:
    json_decref(rd);
    json_decref(pd);
    json_decref(cd);
    json_decref(body);
    json_decref(lines);
    json_decref(all);
    td_buf_release(&b);
    return rc;
}

/* Public: the cover-letter model. */
int td_model_cover_letter(const json_t *in, json_t **out, char *err, size_t errsz)
{
    struct ctx c = {err, errsz, false};
    json_t *m = NULL;
    int rc;

    if ((rc = start(&c, in, out, &m)) == 0)
        rc = build_cover_letter(&c, in, m);
    return finish(&c, rc, m, in, letter_keys, out);
}

/* Public: the builder named by kind. */
int td_model_apply(const char *kind, const json_t *in, json_t **out, char *err, size_t errsz)
{
    struct ctx c = {err, errsz, false};

    if (kind && strcmp(kind, "resume") == 0)
        return td_model_resume(in, out, err, errsz);
    if (kind && (strcmp(kind, "cover-letter") == 0 || strcmp(kind, "cover_letter") == 0))
        return td_model_cover_letter(in, out, err, errsz);
    if (out)
        *out = NULL;
    return fail(&c, TD_EINVAL, "unknown model \"%s\": use resume or cover-letter",
                kind ? kind : "");
}
