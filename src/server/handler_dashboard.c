/* The web dashboard under /dashboard: sign-in with an API key (then a session cookie), and
 * server-rendered pages of human clicks (bots, link previews and mail scanners counted apart as
 * "filtered") per job and per link, with SVG charts drawn here. No script; the stylesheet and
 * icon come from the binary (web/, embedded by web/embed.sh). */
#include "http.h"

#include "core/id.h"
#include "core/time.h"
#include "trackdoc/report.h"

#define DAY_MS ((int64_t)86400000)
#define PAGE_MAX ((size_t)4 << 20)
#define OVERVIEW_LINKS 10000 /* newest links the overview reads */
#define OVERVIEW_JOBS 100    /* rows of its table of jobs */
#define JOB_LINKS 500        /* links a job page lists */
#define FN_COLS 6            /* link-function columns; the others add up in "Other" */
#define KEY_FIELD_MAX 256

/* Pages send no script and load nothing from elsewhere. */
#define CSP                                                                                        \
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "                   \
    "frame-ancestors 'none'; base-uri 'none'"

#define LOGO                                                                                       \
    "<svg viewBox=\"0 0 32 32\" aria-hidden=\"true\" focusable=\"false\"><rect width=\"32\" "      \
    "height=\"32\" rx=\"7\" fill=\"#2d64d8\"/><path d=\"M8 22l5-6 4 3 7-9\" fill=\"none\" "        \
    "stroke=\"#fff\" stroke-width=\"3\" stroke-linecap=\"round\" stroke-linejoin=\"round\"/>"      \
    "</svg>"

static const char *const class_names[TD_CLASS_COUNT] = {"human", "bot", "preview", "scanner"};
static const char *const class_titles[TD_CLASS_COUNT] = {"Human", "Bots", "Link previews",
                                                         "Mail scanners"};
static const char *const class_notes[TD_CLASS_COUNT] = {
    "people in a browser",
    "crawlers, uptime monitors, scripts and HTTP libraries",
    "chat and social apps fetching the link to show a preview card",
    "mail security services opening links before the mail is delivered",
};

/* ---- page building ---- */

struct page {
    td_buf b;
    int rc; /* the first failure; later appends are skipped */
    int64_t now;
};

/* Appends text as it is. */
static void put(struct page *p, const char *s)
{
    if (!p->rc)
        p->rc = td_buf_adds(&p->b, s);
}

/* Appends formatted text (values must not need escaping). */
static void putf(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends formatted text. */
static void putf(struct page *p, const char *fmt, ...)
{
    va_list ap;

    if (p->rc)
        return;
    va_start(ap, fmt);
    p->rc = td_buf_vprintf(&p->b, fmt, ap);
    va_end(ap);
}

/* Appends text with HTML special characters escaped (also safe in quoted attributes). */
static void esc(struct page *p, const char *s)
{
    if (!p->rc)
        p->rc = td__html_escape(&p->b, s ? s : "");
}

/* Writes n with thousands separators into out. */
static const char *fmt_int(int64_t n, char out[32])
{
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%" PRId64, n < 0 ? -n : n), o = 0;

    if (n < 0)
        out[o++] = '-';
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = '\0';
    return out;
}

/* Appends a number with separators. */
static void put_int(struct page *p, int64_t n)
{
    char s[32];

    put(p, fmt_int(n, s));
}

/* Appends a time as "3 h ago", with the exact UTC time in its title; "never" for 0. */
static void put_when(struct page *p, int64_t ms)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char iso[TD_TIME_ISO_SIZE], exact[32], rel[48];
    int64_t d = p->now - ms;
    int month;

    if (!ms) {
        put(p, "<span class=\"muted\">never</span>");
        return;
    }
    td_time_format(ms, iso);
    snprintf(exact, sizeof exact, "%.10s %.5s UTC", iso, iso + 11);
    month = (iso[5] - '0') * 10 + (iso[6] - '0');
    if (d < 60000)
        snprintf(rel, sizeof rel, "just now");
    else if (d < 3600000)
        snprintf(rel, sizeof rel, "%" PRId64 " min ago", d / 60000);
    else if (d < DAY_MS)
        snprintf(rel, sizeof rel, "%" PRId64 " h ago", d / 3600000);
    else if (d < 2 * DAY_MS)
        snprintf(rel, sizeof rel, "yesterday");
    else if (d < 14 * DAY_MS)
        snprintf(rel, sizeof rel, "%" PRId64 " days ago", d / DAY_MS);
    else
        snprintf(rel, sizeof rel, "%s %d, %.4s",
                 months[(month >= 1 && month <= 12) ? month - 1 : 0],
                 (iso[8] - '0') * 10 + (iso[9] - '0'), iso);
    putf(p, "<time datetime=\"%s\" title=\"%s\">%s</time>", iso, exact, rel);
}

/* Starts a page: head, top bar (with the key and sign-out when signed in), main. */
static void page_start(struct page *p, td_req *r, const char *title)
{
    td_buf_init(&p->b, PAGE_MAX);
    p->rc = 0;
    p->now = td_time_now_ms();
    put(p, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           "<meta name=\"robots\" content=\"noindex\"><title>");
    esc(p, title);
    put(p, " \xc2\xb7 trackdoc</title>"
           "<link rel=\"stylesheet\" href=\"/dashboard/assets/dashboard.css?v=" TD_VERSION "\">"
           "<link rel=\"icon\" href=\"/dashboard/assets/favicon.svg\" type=\"image/svg+xml\">"
           "</head><body><a class=\"skip\" href=\"#main\">Skip to content</a>"
           "<header class=\"top\"><div class=\"wrap\"><a class=\"brand\" href=\"/dashboard\">" LOGO
           "trackdoc</a>");
    if (r->authed) {
        put(p, "<div class=\"who\"><span>Key <strong>");
        esc(p, r->key.name);
        put(p, "</strong></span><form method=\"post\" action=\"/dashboard/logout\">"
               "<button class=\"btn-quiet\" type=\"submit\">Sign out</button></form></div>");
    }
    put(p, "</div></header><main id=\"main\"><div class=\"wrap\">");
}

/* Ends a page. */
static void page_end(struct page *p)
{
    put(p, "</div></main><footer><div class=\"wrap\">trackdoc " TD_VERSION
           " \xc2\xb7 times in UTC \xc2\xb7 human clicks leave out bots, link previews and mail "
           "scanners</div></footer></body></html>\n");
}

/* Sends a page (and frees it); cookie, when set, is a Set-Cookie value. */
static enum MHD_Result page_send(td_req *r, struct page *p, unsigned status, const char *cookie,
                                 const char *retry)
{
    const char *headers[12] = {"Content-Security-Policy", CSP,          "X-Frame-Options", "DENY",
                               "Referrer-Policy",         "same-origin"};
    size_t h = 6;
    enum MHD_Result res;

    if (cookie) {
        headers[h++] = "Set-Cookie";
        headers[h++] = cookie;
    }
    if (retry) {
        headers[h++] = "Retry-After";
        headers[h++] = retry;
    }
    headers[h] = NULL;
    if (p->rc)
        res = td__reply_error(r, 500, td_errcode(p->rc), NULL, "could not build the page: %s",
                              td_strerror(p->rc));
    else
        res = td__reply_raw(r, status, "text/html; charset=utf-8", p->b.data, p->b.len, headers);
    td_buf_release(&p->b);
    return res;
}

/* Answers an error: a page for a browser, the JSON error otherwise. */
static enum MHD_Result dash_error(td_req *r, unsigned status, const char *code, const char *title,
                                  const char *msg)
{
    struct page p;

    if (!td__req_wants_html(r)) {
        if (status == 503)
            return td__reply_error_h(r, status, code, "Retry-After", "5", "%s", msg);
        return td__reply_error(r, status, code, NULL, "%s", msg);
    }
    page_start(&p, r, title);
    put(&p, "<div class=\"signin\"><div class=\"card\"><h1>");
    esc(&p, title);
    put(&p, "</h1><p>");
    esc(&p, msg);
    put(&p, "</p><p><a href=\"/dashboard\">Back to the overview</a></p></div></div>");
    page_end(&p);
    return page_send(r, &p, status, NULL, status == 503 ? "5" : NULL);
}

/* Answers a failure of the store (or memory) while reading data. */
static enum MHD_Result data_error(td_req *r, int rc)
{
    if (rc == TD_ENOMEM || rc == TD_ETOOBIG)
        return dash_error(r, 500, td_errcode(rc), "Something went wrong",
                          "The page could not be built. Try again, or with fewer days.");
    return dash_error(r, 503, td_errcode(rc), "Try again in a moment",
                      "The database did not answer. Try again in a few seconds.");
}

/* Sends 303 See Other to a path of ours, with an optional Set-Cookie. */
static enum MHD_Result redirect(td_req *r, const char *to, const char *cookie)
{
    const char *headers[] = {"Location", to, cookie ? "Set-Cookie" : NULL, cookie, NULL};

    return td__reply_raw(r, 303, NULL, "", 0, headers);
}

/* Answers a request of a page that needs a session: to the sign-in page, or 401 in JSON. */
static enum MHD_Result need_signin(td_req *r)
{
    if (td__req_wants_html(r))
        return redirect(r, "/dashboard/login", NULL);
    return td__reply_error(r, 401, "unauthorized", NULL,
                           "sign in first: POST /dashboard/login with api_key, then send the "
                           "td_session cookie");
}

/* ---- requests ---- */

/* Reads ?days= (1..366, default 30); false after replying 400. */
static bool get_days(td_req *r, int *days, enum MHD_Result *res)
{
    const char *v = td__req_query(r, "days");
    char *end;
    long n;

    *days = 30;
    if (!v)
        return true;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 1 || n > 366) {
        *res = dash_error(r, 400, "invalid_value", "Invalid period",
                          "The days parameter must be a whole number from 1 to 366.");
        return false;
    }
    *days = (int)n;
    return true;
}

/* True when origin (n bytes, "scheme://host[:port]") is this server as the browser sees it:
 * the Host header of the request, or the origin of the base URL. */
static bool origin_is_ours(td_req *r, const char *origin, size_t n)
{
    const char *host = td__req_header(r, "Host");
    const char *base = td_tracker_base_url(r->srv->tr);
    const char *scheme_end = strstr(base, "://");
    size_t blen;
    char want[600];

    if (host && *host) {
        for (int https = 0; https < 2; https++) {
            int w = snprintf(want, sizeof want, "%s://%s", https ? "https" : "http", host);
            if (w > 0 && (size_t)w == n && strncasecmp(want, origin, n) == 0)
                return true;
        }
    }
    if (!scheme_end)
        return false;
    blen = (size_t)(scheme_end + 3 - base) + strcspn(scheme_end + 3, "/?#");
    return blen == n && strncasecmp(base, origin, n) == 0;
}

/* CSRF defence of the forms (with the SameSite=Strict cookie): a POST must come from one of our
 * own pages, as told by Origin, or by Referer when a browser sent no Origin. */
static bool same_origin(td_req *r)
{
    const char *o = td__req_header(r, "Origin");
    const char *ref, *p;

    if (o && *o)
        return origin_is_ours(r, o, strlen(o));
    ref = td__req_header(r, "Referer");
    if (!ref || !(p = strstr(ref, "://")))
        return false;
    return origin_is_ours(r, ref, (size_t)(p + 3 - ref) + strcspn(p + 3, "/?#"));
}

/* Value of one hex digit, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Finds field name in an application/x-www-form-urlencoded body and decodes its value into
 * out. Returns 0, TD_ENOTFOUND, TD_ETOOBIG or TD_EINVAL (a NUL or a bad escape). */
static int form_field(const char *body, size_t len, const char *name, char *out, size_t outsz)
{
    size_t nlen = strlen(name), i = 0;

    while (i < len) {
        size_t end = i, o = 0;
        while (end < len && body[end] != '&')
            end++;
        if (end - i > nlen && memcmp(body + i, name, nlen) == 0 && body[i + nlen] == '=') {
            for (size_t k = i + nlen + 1; k < end; k++) {
                int c = (unsigned char)body[k];
                if (c == '+')
                    c = ' ';
                else if (c == '%') {
                    int hi = k + 2 < end ? hexval(body[k + 1]) : -1;
                    int lo = k + 2 < end ? hexval(body[k + 2]) : -1;
                    if (hi < 0 || lo < 0)
                        return TD_EINVAL;
                    c = hi * 16 + lo;
                    k += 2;
                }
                if (c == 0)
                    return TD_EINVAL;
                if (o + 1 >= outsz)
                    return TD_ETOOBIG;
                out[o++] = (char)c;
            }
            out[o] = '\0';
            return 0;
        }
        i = end + 1;
    }
    return TD_ENOTFOUND;
}

/* ---- click aggregates ---- */

struct cls_counts {
    int64_t n[TD_CLASS_COUNT];
    int64_t last_human;
};

/* Index of a class name; clicks stored before classes existed count as human. */
static int class_index(const char *key)
{
    for (int i = 0; i < TD_CLASS_COUNT; i++)
        if (key && strcmp(key, class_names[i]) == 0)
            return i;
    return TD_CLASS_HUMAN;
}

/* Adds one class row of td_store_click_groups. */
static int take_class(void *ud, const td_click_row *row)
{
    struct cls_counts *c = ud;
    int i = class_index(row->key);

    c->n[i] += row->clicks;
    if (i == TD_CLASS_HUMAN && row->last_click > c->last_human)
        c->last_human = row->last_click;
    return 0;
}

/* Clicks not made by people. */
static int64_t filtered_of(const struct cls_counts *c)
{
    int64_t n = 0;

    for (int i = 0; i < TD_CLASS_COUNT; i++)
        if (i != TD_CLASS_HUMAN)
            n += c->n[i];
    return n;
}

/* Counts the clicks of base since a time (0: all) by class. */
static int count_classes(td_store *st, const td_click_filter *base, int64_t since,
                         struct cls_counts *out)
{
    td_click_filter f = *base;

    memset(out, 0, sizeof *out);
    f.since = since;
    f.classes = 0;
    return td_store_click_groups(st, &f, TD_GROUP_CLASS, take_class, out);
}

struct day_acc {
    td_svg_day *d;
    int n;
    int64_t start;
    bool human;
};

/* Adds one day row into the series. */
static int take_day(void *ud, const td_click_row *row)
{
    struct day_acc *a = ud;
    int64_t ms, i;

    if (!row->key || td_time_parse(row->key, &ms) != 0 || ms < a->start)
        return 0;
    i = (ms - a->start) / DAY_MS;
    if (i < a->n) {
        if (a->human)
            a->d[i].human += row->clicks;
        else
            a->d[i].filtered += row->clicks;
    }
    return 0;
}

/* Fills n UTC days ending today with the human and filtered clicks of base. */
static int daily(td_store *st, const td_click_filter *base, int n, int64_t now, td_svg_day *d)
{
    struct day_acc a = {.d = d, .n = n, .start = (now / DAY_MS - (n - 1)) * DAY_MS};
    td_click_filter f = *base;
    int rc;

    for (int i = 0; i < n; i++) {
        char iso[TD_TIME_ISO_SIZE];
        td_time_format(a.start + i * DAY_MS, iso);
        memcpy(d[i].date, iso, 10);
        d[i].date[10] = '\0';
        d[i].human = d[i].filtered = 0;
    }
    f.since = a.start;
    f.classes = TD_CLASS_BIT(TD_CLASS_HUMAN);
    a.human = true;
    if ((rc = td_store_click_groups(st, &f, TD_GROUP_DAY, take_day, &a)) != 0)
        return rc;
    f.classes = TD_CLASS_ALL & ~TD_CLASS_BIT(TD_CLASS_HUMAN);
    a.human = false;
    return td_store_click_groups(st, &f, TD_GROUP_DAY, take_day, &a);
}

struct src_acc {
    char key[8][16];
    int64_t n[8];
    int count;
};

/* Keeps one source row, most clicks first. */
static int take_source(void *ud, const td_click_row *row)
{
    struct src_acc *a = ud;
    int i;

    if (a->count == 8)
        return 0;
    for (i = a->count; i > 0 && a->n[i - 1] < row->clicks; i--) {
        memcpy(a->key[i], a->key[i - 1], sizeof a->key[0]);
        a->n[i] = a->n[i - 1];
    }
    snprintf(a->key[i], sizeof a->key[0], "%s", row->key ? row->key : "");
    a->n[i] = row->clicks;
    a->count++;
    return 0;
}

/* ---- shared page parts ---- */

/* Appends one figure card; note (may be NULL) goes under the value. */
static void kpi(struct page *p, const char *label, int64_t value, const char *note)
{
    put(p, "<div class=\"kpi\"><p class=\"label\">");
    esc(p, label);
    put(p, "</p><p class=\"value\">");
    put_int(p, value);
    put(p, "</p><p class=\"note\">");
    esc(p, note);
    put(p, "</p></div>");
}

/* Appends a figure card of human clicks with the filtered ones as its note. */
static void kpi_human(struct page *p, const char *label, const struct cls_counts *c)
{
    char n[32], note[48];

    snprintf(note, sizeof note, "%s filtered", fmt_int(filtered_of(c), n));
    kpi(p, label, c->n[TD_CLASS_HUMAN], note);
}

/* Appends the card of Calendly bookings with the cancellations as its note. */
static void kpi_bookings(struct page *p, const char *label, int64_t bookings, int64_t cancellations)
{
    char n[32], note[48];

    snprintf(note, sizeof note, "%s canceled", fmt_int(cancellations, n));
    kpi(p, label, bookings, note);
}

/* Keeps the one row of an ungrouped booking count. */
static int take_book_all(void *ud, const td_conversion_row *row)
{
    td_conversion_row *r = ud;

    *r = *row;
    r->key = "";
    return 0;
}

/* Counts the bookings of a job or a link (all time) into *r. */
static int booking_count(td_store *st, const td_conversion_filter *f, td_conversion_row *r)
{
    memset(r, 0, sizeof *r);
    return td_store_conversion_groups(st, f, TD_CONV_GROUP_ALL, take_book_all, r);
}

/* Booking counts per job, for the jobs table (job ids owned). */
struct obook {
    struct obook_row {
        char job[TD_LINK_UUID_SIZE];
        int64_t bookings;
    } * v;
    size_t n, cap;
};

/* Keeps the bookings of one job. */
static int take_obook(void *ud, const td_conversion_row *row)
{
    struct obook *b = ud;

    if (!row->key[0] || !row->bookings)
        return 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct obook_row *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return TD_ENOMEM;
        b->v = v;
        b->cap = cap;
    }
    snprintf(b->v[b->n].job, sizeof b->v[0].job, "%s", row->key);
    b->v[b->n++].bookings = row->bookings;
    return 0;
}

/* Returns the bookings of a job (rows are in job_id order). */
static int64_t obook_of(const struct obook *b, const char *job)
{
    size_t lo = 0, hi = b->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(b->v[mid].job, job);
        if (c == 0)
            return b->v[mid].bookings;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Appends the card of the last human click. */
static void kpi_last(struct page *p, int64_t last)
{
    put(p, "<div class=\"kpi\"><p class=\"label\">Last human click</p><p class=\"value small\">");
    put_when(p, last);
    put(p, "</p><p class=\"note\">");
    if (last) {
        char iso[TD_TIME_ISO_SIZE];
        td_time_format(last, iso);
        putf(p, "%.10s %.5s UTC", iso, iso + 11);
    }
    put(p, "</p></div>");
}

/* Appends the chart card: the series, a period switch, a legend and the numbers as a table. */
static void chart_card(struct page *p, const td_svg_day *d, int n, const char *self)
{
    static const int ranges[] = {7, 30, 90};
    int64_t th = 0, tf = 0;

    for (int i = 0; i < n; i++) {
        th += d[i].human;
        tf += d[i].filtered;
    }
    put(p, "<section class=\"card\" aria-labelledby=\"chart-h\"><div class=\"card-head\">"
           "<h2 id=\"chart-h\">Clicks per day</h2><nav class=\"range\" aria-label=\"Period\">");
    for (size_t i = 0; i < TD_ARRAY_SIZE(ranges); i++) {
        put(p, "<a href=\"");
        esc(p, self);
        putf(p, "?days=%d\"%s>%d days</a>", ranges[i],
             ranges[i] == n ? " aria-current=\"page\"" : "", ranges[i]);
    }
    put(p, "</nav></div>");
    if (!p->rc)
        p->rc = td__svg_daily(&p->b, d, (size_t)n, 960, 250, "cw", "wide");
    if (!p->rc)
        p->rc = td__svg_daily(&p->b, d, (size_t)n, 360, 220, "cn", "narrow");
    put(p, "<ul class=\"legend\"><li class=\"lh\">Human: ");
    put_int(p, th);
    put(p, "</li><li class=\"lf\">Filtered (bots, previews, scanners): ");
    put_int(p, tf);
    putf(p, "</li><li>Last %d days, UTC</li></ul>", n);
    put(p, "<details><summary>The numbers</summary>");
    if (th + tf == 0) {
        put(p, "<p class=\"empty\">No clicks in this period.</p>");
    } else {
        put(p, "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Day</th>"
               "<th scope=\"col\" class=\"num\">Human</th><th scope=\"col\" class=\"num\">"
               "Filtered</th></tr></thead><tbody>");
        for (int i = n - 1; i >= 0; i--) {
            if (!d[i].human && !d[i].filtered)
                continue;
            putf(p, "<tr><td>%s</td><td class=\"num\">", d[i].date);
            put_int(p, d[i].human);
            put(p, "</td><td class=\"num\">");
            put_int(p, d[i].filtered);
            put(p, "</td></tr>");
        }
        put(p, "</tbody></table></div><p class=\"muted\">Days without clicks are left out.</p>");
    }
    put(p, "</details></section>");
}

/* Appends the card of human clicks by source. */
static void sources_card(struct page *p, const struct src_acc *s)
{
    static const struct {
        const char *key, *title;
    } names[] = {{"direct", "Direct (no referrer)"}, {"email", "Web mail"},
                 {"linkedin", "LinkedIn"},           {"indeed", "Indeed"},
                 {"dashboard", "This dashboard"},    {"external", "Other websites"}};
    int64_t max = 0;

    for (int i = 0; i < s->count; i++)
        max = TD_MAX(max, s->n[i]);
    put(p, "<section class=\"card\" aria-labelledby=\"src-h\"><div class=\"card-head\">"
           "<h2 id=\"src-h\">Where human clicks came from</h2><p>All time</p></div>");
    if (s->count == 0) {
        put(p, "<p class=\"empty\">No human clicks yet.</p></section>");
        return;
    }
    put(p, "<table class=\"stack\"><thead><tr><th scope=\"col\">Source</th><th scope=\"col\" "
           "class=\"num\">Clicks</th><th scope=\"col\"><span class=\"muted\">Share</span></th>"
           "</tr></thead><tbody>");
    for (int i = 0; i < s->count; i++) {
        const char *title = s->key[i];
        for (size_t k = 0; k < TD_ARRAY_SIZE(names); k++)
            if (strcmp(names[k].key, s->key[i]) == 0)
                title = names[k].title;
        put(p, "<tr><td class=\"first\">");
        esc(p, title);
        put(p, "</td><td class=\"num\" data-label=\"Clicks\">");
        put_int(p, s->n[i]);
        put(p, "</td><td data-label=\"Share\">");
        if (!p->rc)
            p->rc = td__svg_meter(&p->b, s->n[i], max);
        put(p, "</td></tr>");
    }
    put(p, "</tbody></table></section>");
}

/* Appends the card of filtered clicks by class. */
static void filtered_card(struct page *p, const struct cls_counts *c, const char *period)
{
    put(p, "<section class=\"card\" aria-labelledby=\"flt-h\"><div class=\"card-head\">"
           "<h2 id=\"flt-h\">Filtered clicks</h2><p>");
    esc(p, period);
    put(p, "</p></div><table class=\"stack\"><thead><tr><th scope=\"col\">Kind</th>"
           "<th scope=\"col\" class=\"num\">Clicks</th></tr></thead><tbody>");
    for (int i = 0; i < TD_CLASS_COUNT; i++) {
        if (i == TD_CLASS_HUMAN)
            continue;
        put(p, "<tr><td class=\"first\">");
        esc(p, class_titles[i]);
        put(p, "<div class=\"muted\">");
        esc(p, class_notes[i]);
        put(p, "</div></td><td class=\"num\" data-label=\"Clicks\">");
        put_int(p, c->n[i]);
        put(p, "</td></tr>");
    }
    put(p, "</tbody></table></section>");
}

/* ---- GET /dashboard ---- */

struct olink {
    char id[TD_LINK_ID_SIZE];
    char job[TD_LINK_UUID_SIZE];
    char fn[TD_LINK_FUNCTION_SIZE];
    int64_t created, human, filtered, last;
};

struct olist {
    struct olink *v;
    size_t n, cap;
    bool truncated;
};

/* Keeps the fields of a link that the overview needs. */
static int take_olink(void *ud, const td_link *l)
{
    struct olist *o = ud;
    struct olink *e;

    if (o->n == OVERVIEW_LINKS) {
        o->truncated = true;
        return 1;
    }
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        struct olink *v = realloc(o->v, cap * sizeof *v);
        if (!v)
            return TD_ENOMEM;
        o->v = v;
        o->cap = cap;
    }
    e = &o->v[o->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->id, l->tracking_id, sizeof e->id);
    memcpy(e->job, l->job_id, sizeof e->job);
    memcpy(e->fn, l->link_function, sizeof e->fn);
    e->created = l->created_at;
    return 0;
}

/* Orders links by tracking id. */
static int cmp_olink_id(const void *a, const void *b)
{
    return strcmp(((const struct olink *)a)->id, ((const struct olink *)b)->id);
}

struct olink_acc {
    struct olist *o;
    bool human;
};

/* Adds a per-link click row to its link. */
static int take_olink_clicks(void *ud, const td_click_row *row)
{
    struct olink_acc *a = ud;
    struct olink key, *e;

    if (!row->key || strlen(row->key) >= sizeof key.id || a->o->n == 0)
        return 0;
    memset(&key, 0, sizeof key);
    memcpy(key.id, row->key, strlen(row->key) + 1);
    e = bsearch(&key, a->o->v, a->o->n, sizeof *e, cmp_olink_id);
    if (!e)
        return 0;
    if (a->human) {
        e->human += row->clicks;
        e->last = TD_MAX(e->last, row->last_click);
    } else {
        e->filtered += row->clicks;
    }
    return 0;
}

struct ojob {
    const char *job; /* "" for links without a job */
    int64_t fn[FN_COLS + 1];
    int64_t human, filtered, last, newest;
    int links;
};

/* Orders links by job id. */
static int cmp_olink_job(const void *a, const void *b)
{
    return strcmp(((const struct olink *)a)->job, ((const struct olink *)b)->job);
}

/* Orders jobs: most recent human click first, then newest link first; no job last. */
static int cmp_ojob(const void *a, const void *b)
{
    const struct ojob *x = a, *y = b;

    if (!*x->job != !*y->job)
        return *x->job ? -1 : 1;
    if (x->last != y->last)
        return x->last > y->last ? -1 : 1;
    if (x->newest != y->newest)
        return x->newest > y->newest ? -1 : 1;
    return strcmp(x->job, y->job);
}

/* Orders link-function names. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Appends the table of jobs. */
static void jobs_table(struct page *p, struct olist *o, const struct obook *books)
{
    char fns[FN_COLS][TD_LINK_FUNCTION_SIZE];
    int nfn = 0;
    bool other = false;
    struct ojob *jobs = NULL;
    size_t njobs = 0;

    put(p, "<section class=\"card\" aria-labelledby=\"jobs-h\"><div class=\"card-head\">"
           "<h2 id=\"jobs-h\">Jobs</h2><p>Human clicks per link, all time</p></div>");
    if (o->n == 0) {
        put(p,
            "<p class=\"empty\">No tracked links yet. They appear here once a r\xc3\xa9sum\xc3\xa9 "
            "is rendered for a job (<code>trackdoc render \xe2\x80\xa6 --job-id ID</code>) or "
            "links are made with <code>POST /api/link-tracking/create</code>.</p></section>");
        return;
    }
    /* The link functions in use, in alphabetical order: the first FN_COLS get a column. */
    for (size_t i = 0; i < o->n; i++) {
        bool seen = false;
        for (int k = 0; k < nfn && !seen; k++)
            seen = strcmp(fns[k], o->v[i].fn) == 0;
        if (!seen && nfn < FN_COLS)
            memcpy(fns[nfn++], o->v[i].fn, sizeof fns[0]);
    }
    qsort(fns, (size_t)nfn, sizeof fns[0], cmp_str);
    qsort(o->v, o->n, sizeof o->v[0], cmp_olink_job);
    if (!(jobs = calloc(o->n, sizeof *jobs))) {
        p->rc = TD_ENOMEM;
        return;
    }
    for (size_t i = 0; i < o->n; i++) {
        struct olink *l = &o->v[i];
        struct ojob *j;
        int col = nfn;
        if (njobs == 0 || strcmp(jobs[njobs - 1].job, l->job) != 0)
            jobs[njobs++].job = l->job;
        j = &jobs[njobs - 1];
        for (int k = 0; k < nfn; k++)
            if (strcmp(fns[k], l->fn) == 0)
                col = k;
        other |= col == nfn;
        j->fn[col] += l->human;
        j->human += l->human;
        j->filtered += l->filtered;
        j->last = TD_MAX(j->last, l->last);
        j->newest = TD_MAX(j->newest, l->created);
        j->links++;
    }
    qsort(jobs, njobs, sizeof *jobs, cmp_ojob);
    put(p,
        "<div class=\"table-wrap\"><table class=\"stack\"><thead><tr><th scope=\"col\">Job</th>");
    for (int k = 0; k < nfn; k++) {
        put(p, "<th scope=\"col\" class=\"num\">");
        esc(p, fns[k]);
        put(p, "</th>");
    }
    if (other)
        put(p, "<th scope=\"col\" class=\"num\">Other</th>");
    put(p, "<th scope=\"col\" class=\"num\">Human</th><th scope=\"col\" class=\"num\">Filtered</th>"
           "<th scope=\"col\" class=\"num\">Bookings</th>"
           "<th scope=\"col\">Last human click</th></tr></thead><tbody>");
    for (size_t i = 0; i < njobs && i < OVERVIEW_JOBS; i++) {
        struct ojob *j = &jobs[i];
        put(p, "<tr><td class=\"first\">");
        if (*j->job) {
            put(p, "<a class=\"mono strong\" href=\"/dashboard/jobs/");
            esc(p, j->job);
            put(p, "\" title=\"");
            esc(p, j->job);
            putf(p, "\">Job %.8s</a>", j->job);
        } else {
            put(p, "<span class=\"strong\">Links without a job</span>");
        }
        putf(p, "<div class=\"muted\">%d link%s, newest ", j->links, j->links == 1 ? "" : "s");
        put_when(p, j->newest);
        put(p, "</div></td>");
        for (int k = 0; k < nfn + (other ? 1 : 0); k++) {
            put(p, "<td class=\"num\" data-label=\"");
            esc(p, k < nfn ? fns[k] : "Other");
            put(p, "\">");
            put_int(p, j->fn[k]);
            put(p, "</td>");
        }
        putf(p, "<td class=\"num%s\" data-label=\"Human\">", j->human ? " strong" : "");
        put_int(p, j->human);
        put(p, "</td><td class=\"num muted\" data-label=\"Filtered\">");
        put_int(p, j->filtered);
        {
            int64_t nb = *j->job ? obook_of(books, j->job) : 0;
            putf(p, "</td><td class=\"num%s\" data-label=\"Bookings\">", nb ? " strong" : "");
            put_int(p, nb);
        }
        put(p, "</td><td data-label=\"Last human click\">");
        put_when(p, j->last);
        put(p, "</td></tr>");
    }
    put(p, "</tbody></table></div>");
    if (njobs > OVERVIEW_JOBS || o->truncated)
        putf(p, "<p class=\"muted\">Showing %d of %zu%s jobs, from the newest %d links.</p>",
             OVERVIEW_JOBS < (int)njobs ? OVERVIEW_JOBS : (int)njobs, njobs,
             o->truncated ? " or more" : "", OVERVIEW_LINKS);
    put(p, "</section>");
    free(jobs);
}

/* GET /dashboard: human clicks today, 7 and 30 days, the chart, the table of jobs. */
enum MHD_Result td__handle_dash_overview(td_req *r)
{
    td_store *st = r->srv->st;
    td_click_filter all = {0};
    struct cls_counts today, week, month, ever;
    struct olist links = {0};
    struct olink_acc acc = {.o = &links};
    struct obook books = {0};
    td_conversion_filter bf = {0};
    int64_t booked = 0, canceled = 0;
    td_svg_day *days = NULL;
    struct page p;
    enum MHD_Result res = MHD_NO;
    int64_t now = td_time_now_ms(), midnight = now / DAY_MS * DAY_MS;
    int ndays, rc;

    if (!r->authed)
        return need_signin(r);
    if (!get_days(r, &ndays, &res))
        return res;
    if (!(days = calloc((size_t)ndays, sizeof *days))) {
        rc = TD_ENOMEM;
        goto fail;
    }
    if ((rc = count_classes(st, &all, midnight, &today)) != 0 ||
        (rc = count_classes(st, &all, midnight - 6 * DAY_MS, &week)) != 0 ||
        (rc = count_classes(st, &all, midnight - 29 * DAY_MS, &month)) != 0 ||
        (rc = count_classes(st, &all, 0, &ever)) != 0 ||
        (rc = daily(st, &all, ndays, now, days)) != 0 ||
        (rc = td_report_bookings_since(st, midnight - 29 * DAY_MS, &booked, &canceled)) != 0 ||
        (rc = td_store_conversion_groups(st, &bf, TD_CONV_GROUP_JOB, take_obook, &books)) != 0)
        goto fail;
    {
        td_link_filter lf = {.active = -1, .limit = OVERVIEW_LINKS + 1};
        td_click_filter f = {0};
        rc = td_store_link_list(st, &lf, take_olink, &links);
        if (rc > 0)
            rc = 0;
        if (rc)
            goto fail;
        if (links.n > 0)
            qsort(links.v, links.n, sizeof links.v[0], cmp_olink_id);
        f.classes = TD_CLASS_BIT(TD_CLASS_HUMAN);
        acc.human = true;
        if ((rc = td_store_click_groups(st, &f, TD_GROUP_LINK, take_olink_clicks, &acc)) != 0)
            goto fail;
        f.classes = TD_CLASS_ALL & ~TD_CLASS_BIT(TD_CLASS_HUMAN);
        acc.human = false;
        if ((rc = td_store_click_groups(st, &f, TD_GROUP_LINK, take_olink_clicks, &acc)) != 0)
            goto fail;
    }
    page_start(&p, r, "Overview");
    put(&p, "<h1>Did a person open your links?</h1><p class=\"sub\">Human clicks on your tracked "
            "links. Bots, link previews and mail scanners are counted apart, as filtered.</p>"
            "<section class=\"kpis\" aria-label=\"Human clicks\">");
    kpi_human(&p, "Human clicks today", &today);
    kpi_human(&p, "Last 7 days", &week);
    kpi_human(&p, "Last 30 days", &month);
    kpi_bookings(&p, "Bookings, 30 days", booked, canceled);
    kpi_last(&p, ever.last_human);
    put(&p, "</section>");
    chart_card(&p, days, ndays, "/dashboard");
    jobs_table(&p, &links, &books);
    filtered_card(&p, &month, "Last 30 days");
    page_end(&p);
    res = page_send(r, &p, 200, NULL, NULL);
    goto out;
fail:
    res = data_error(r, rc);
out:
    free(days);
    free(links.v);
    free(books.v);
    return res;
}

/* ---- GET /dashboard/jobs/{job_id} and /dashboard/links/{id} ---- */

struct jlinks {
    td_link *v;
    size_t n;
    bool truncated;
};

/* Keeps one link of a job. */
static int take_jlink(void *ud, const td_link *l)
{
    struct jlinks *j = ud;

    if (j->n == JOB_LINKS) {
        j->truncated = true;
        return 1;
    }
    j->v[j->n++] = *l;
    return 0;
}

struct jcount {
    char id[TD_LINK_ID_SIZE];
    size_t link; /* index in the job's links */
    int64_t human, filtered, last;
};

/* Orders a job's links: most human clicks first, then the most recent human click. */
static int cmp_jcount(const void *a, const void *b)
{
    const struct jcount *x = a, *y = b;

    if (x->human != y->human)
        return x->human > y->human ? -1 : 1;
    if (x->last != y->last)
        return x->last > y->last ? -1 : 1;
    return x->link < y->link ? -1 : x->link > y->link;
}

struct jcount_acc {
    struct jcount *v;
    size_t n;
    bool human;
};

/* Adds a per-link click row of a job. */
static int take_jcount(void *ud, const td_click_row *row)
{
    struct jcount_acc *a = ud;

    for (size_t i = 0; i < a->n; i++) {
        if (row->key && strcmp(a->v[i].id, row->key) == 0) {
            if (a->human) {
                a->v[i].human += row->clicks;
                a->v[i].last = TD_MAX(a->v[i].last, row->last_click);
            } else {
                a->v[i].filtered += row->clicks;
            }
            break;
        }
    }
    return 0;
}

/* Appends the three figures and the last click of a job or a link. */
static void detail_kpis(struct page *p, const struct cls_counts *ever,
                        const struct cls_counts *week, const td_conversion_row *books)
{
    put(p, "<section class=\"kpis\" aria-label=\"Human clicks\">");
    kpi(p, "Human clicks", ever->n[TD_CLASS_HUMAN], "all time");
    kpi_human(p, "Last 7 days", week);
    kpi(p, "Filtered", filtered_of(ever), "bots, previews, scanners");
    kpi_bookings(p, "Bookings", books->bookings, books->cancellations);
    kpi_last(p, ever->last_human);
    put(p, "</section>");
}

/* Appends "Active", "Off" or "Expired". */
static void put_status(struct page *p, const td_link *l)
{
    if (!l->is_active)
        put(p, "<span class=\"pill off\">Off</span>");
    else if (l->expires_at && l->expires_at <= p->now)
        put(p, "<span class=\"pill off\">Expired</span>");
    else
        put(p, "<span class=\"pill\">Active</span>");
}

/* Appends a destination URL as a link that sends no referrer. */
static void put_url(struct page *p, const char *url)
{
    put(p, "<a class=\"url\" rel=\"noreferrer noopener\" href=\"");
    esc(p, url);
    put(p, "\">");
    esc(p, url);
    put(p, "</a>");
}

/* Appends the table of a job's links. */
static void job_links_table(struct page *p, const struct jlinks *jl, const struct jcount *c)
{
    put(p, "<section class=\"card\" aria-labelledby=\"links-h\"><div class=\"card-head\">"
           "<h2 id=\"links-h\">Links</h2><p>Human clicks, all time</p></div>"
           "<div class=\"table-wrap\"><table class=\"stack\"><thead><tr>"
           "<th scope=\"col\">Link</th><th scope=\"col\">Destination</th>"
           "<th scope=\"col\" class=\"num\">Human</th><th scope=\"col\" class=\"num\">Filtered</th>"
           "<th scope=\"col\">Last human click</th><th scope=\"col\">Status</th></tr></thead>"
           "<tbody>");
    for (size_t i = 0; i < jl->n; i++) {
        const td_link *l = &jl->v[c[i].link];
        put(p, "<tr><td class=\"first\"><a class=\"strong\" href=\"/dashboard/links/");
        esc(p, l->tracking_id);
        put(p, "\">");
        esc(p, l->link_function);
        put(p, "</a>");
        if (*l->link_type) {
            put(p, "<div class=\"muted\">in ");
            esc(p, l->link_type);
            put(p, "</div>");
        }
        put(p, "</td><td data-label=\"Destination\">");
        put_url(p, l->original_url);
        putf(p, "</td><td class=\"num%s\" data-label=\"Human\">", c[i].human ? " strong" : "");
        put_int(p, c[i].human);
        put(p, "</td><td class=\"num muted\" data-label=\"Filtered\">");
        put_int(p, c[i].filtered);
        put(p, "</td><td data-label=\"Last human click\">");
        put_when(p, c[i].last);
        put(p, "</td><td data-label=\"Status\">");
        put_status(p, l);
        put(p, "</td></tr>");
    }
    put(p, "</tbody></table></div>");
    if (jl->truncated)
        putf(p, "<p class=\"muted\">Showing the newest %d links of this job.</p>", JOB_LINKS);
    put(p, "</section>");
}

/* GET /dashboard/jobs/{job_id}: one job's figures, chart, links, sources and filtered clicks. */
enum MHD_Result td__handle_dash_job(td_req *r)
{
    td_store *st = r->srv->st;
    char job[TD_UUID_SIZE], self[64];
    td_click_filter f = {0};
    td_link_filter lf = {.active = -1, .limit = JOB_LINKS + 1};
    struct cls_counts ever, week;
    struct jlinks jl = {0};
    struct jcount_acc ca = {0};
    struct src_acc src = {0};
    td_conversion_row books;
    td_svg_day *days = NULL;
    struct page p;
    enum MHD_Result res = MHD_NO;
    int64_t now = td_time_now_ms();
    int ndays, rc;

    if (!r->authed)
        return need_signin(r);
    if (td_uuid_normalize(r->params[0], job) != 0)
        return dash_error(r, 400, "invalid_uuid", "Not a job id",
                          "A job id is a UUID, such as 0a1b2c3d-4e5f-4a6b-8c7d-000000000001.");
    if (!get_days(r, &ndays, &res))
        return res;
    f.job_id = lf.job_id = job;
    if (!(jl.v = malloc(JOB_LINKS * sizeof *jl.v)) || !(ca.v = calloc(JOB_LINKS, sizeof *ca.v)) ||
        !(days = calloc((size_t)ndays, sizeof *days))) {
        rc = TD_ENOMEM;
        goto fail;
    }
    rc = td_store_link_list(st, &lf, take_jlink, &jl);
    if (rc < 0)
        goto fail;
    if (jl.n == 0) {
        res = dash_error(r, 404, "not_found", "No such job",
                         "No tracked link was made for this job.");
        goto out;
    }
    ca.n = jl.n;
    for (size_t i = 0; i < jl.n; i++) {
        memcpy(ca.v[i].id, jl.v[i].tracking_id, sizeof ca.v[i].id);
        ca.v[i].link = i;
    }
    f.classes = TD_CLASS_BIT(TD_CLASS_HUMAN);
    ca.human = true;
    if ((rc = td_store_click_groups(st, &f, TD_GROUP_LINK, take_jcount, &ca)) != 0 ||
        (rc = td_store_click_groups(st, &f, TD_GROUP_SOURCE, take_source, &src)) != 0)
        goto fail;
    f.classes = TD_CLASS_ALL & ~TD_CLASS_BIT(TD_CLASS_HUMAN);
    ca.human = false;
    if ((rc = td_store_click_groups(st, &f, TD_GROUP_LINK, take_jcount, &ca)) != 0)
        goto fail;
    f.classes = 0;
    if ((rc = count_classes(st, &f, 0, &ever)) != 0 ||
        (rc = count_classes(st, &f, (now / DAY_MS - 6) * DAY_MS, &week)) != 0 ||
        (rc = daily(st, &f, ndays, now, days)) != 0)
        goto fail;
    {
        td_conversion_filter bf = {.job_id = job};
        if ((rc = booking_count(st, &bf, &books)) != 0)
            goto fail;
    }
    qsort(ca.v, ca.n, sizeof *ca.v, cmp_jcount);
    snprintf(self, sizeof self, "/dashboard/jobs/%s", job);
    page_start(&p, r, "Job");
    put(&p, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/dashboard\">Overview</a> "
            "\xe2\x80\xba Job</nav>");
    putf(&p, "<h1>Job %.8s</h1><p class=\"sub mono\">%s</p>", job, job);
    detail_kpis(&p, &ever, &week, &books);
    chart_card(&p, days, ndays, self);
    job_links_table(&p, &jl, ca.v);
    put(&p, "<div class=\"grid2\">");
    sources_card(&p, &src);
    filtered_card(&p, &ever, "All time");
    put(&p, "</div>");
    page_end(&p);
    res = page_send(r, &p, 200, NULL, NULL);
    goto out;
fail:
    res = data_error(r, rc);
out:
    free(days);
    free(ca.v);
    free(jl.v);
    return res;
}

/* Appends one term and its escaped value to a definition list, unless the value is empty. */
static void fact(struct page *p, const char *term, const char *dd_attrs, const char *value)
{
    if (!*value)
        return;
    put(p, "<dt>");
    put(p, term);
    put(p, "</dt><dd");
    put(p, dd_attrs);
    put(p, ">");
    esc(p, value);
    put(p, "</dd>");
}

/* Appends the facts of a link. */
static void link_facts(struct page *p, const td_link *l)
{
    put(p, "<section class=\"card\" aria-labelledby=\"facts-h\"><div class=\"card-head\">"
           "<h2 id=\"facts-h\">About this link</h2></div><dl class=\"facts\">"
           "<dt>Destination</dt><dd>");
    put_url(p, l->original_url);
    put(p, "</dd><dt>Tracked URL</dt><dd><code>");
    esc(p, l->redirect_url);
    put(p, "</code></dd>");
    if (*l->job_id) {
        put(p, "<dt>Job</dt><dd><a class=\"mono\" href=\"/dashboard/jobs/");
        esc(p, l->job_id);
        put(p, "\">");
        esc(p, l->job_id);
        put(p, "</a></dd>");
    }
    fact(p, "Application", " class=\"mono\"", l->application_id);
    fact(p, "Placed in", "", l->link_type);
    fact(p, "Description", "", l->description);
    put(p, "<dt>Created</dt><dd>");
    put_when(p, l->created_at);
    if (*l->created_by) {
        put(p, " by ");
        esc(p, l->created_by);
    }
    put(p, "</dd>");
    if (l->expires_at) {
        put(p, "<dt>Expires</dt><dd>");
        if (l->expires_at > p->now) {
            char iso[TD_TIME_ISO_SIZE];
            td_time_format(l->expires_at, iso);
            putf(p, "%.10s %.5s UTC", iso, iso + 11);
        } else {
            put_when(p, l->expires_at);
        }
        put(p, "</dd>");
    }
    put(p, "<dt>Status</dt><dd>");
    put_status(p, l);
    put(p, "</dd></dl></section>");
}

/* GET /dashboard/links/{id}: one link's facts, figures, chart, sources and filtered clicks. */
enum MHD_Result td__handle_dash_link(td_req *r)
{
    td_store *st = r->srv->st;
    td_link l;
    td_click_filter f = {0};
    struct cls_counts ever, week;
    struct src_acc src = {0};
    td_conversion_row books;
    td_svg_day *days = NULL;
    struct page p;
    char self[TD_LINK_ID_SIZE + 32];
    enum MHD_Result res = MHD_NO;
    int64_t now = td_time_now_ms();
    int ndays, rc;

    if (!r->authed)
        return need_signin(r);
    if (!get_days(r, &ndays, &res))
        return res;
    rc = td_link_id_valid(r->params[0]) ? td_link_get(r->srv->tr, r->params[0], &l) : TD_ENOTFOUND;
    if (rc == TD_ENOTFOUND)
        return dash_error(r, 404, "not_found", "No such link",
                          "There is no tracked link with this id.");
    if (rc)
        return data_error(r, rc);
    if (!(days = calloc((size_t)ndays, sizeof *days))) {
        rc = TD_ENOMEM;
        goto fail;
    }
    f.tracking_id = l.tracking_id;
    if ((rc = count_classes(st, &f, 0, &ever)) != 0 ||
        (rc = count_classes(st, &f, (now / DAY_MS - 6) * DAY_MS, &week)) != 0 ||
        (rc = daily(st, &f, ndays, now, days)) != 0)
        goto fail;
    f.classes = TD_CLASS_BIT(TD_CLASS_HUMAN);
    if ((rc = td_store_click_groups(st, &f, TD_GROUP_SOURCE, take_source, &src)) != 0)
        goto fail;
    {
        td_conversion_filter bf = {.tracking_id = l.tracking_id};
        if ((rc = booking_count(st, &bf, &books)) != 0)
            goto fail;
    }
    snprintf(self, sizeof self, "/dashboard/links/%s", l.tracking_id);
    page_start(&p, r, l.link_function);
    put(&p, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/dashboard\">Overview</a>");
    if (*l.job_id) {
        put(&p, " \xe2\x80\xba <a href=\"/dashboard/jobs/");
        esc(&p, l.job_id);
        putf(&p, "\">Job %.8s</a>", l.job_id);
    }
    put(&p, " \xe2\x80\xba Link</nav><h1>");
    esc(&p, l.link_function);
    put(&p, " link</h1><p class=\"sub mono\">");
    esc(&p, l.tracking_id);
    put(&p, "</p>");
    detail_kpis(&p, &ever, &week, &books);
    chart_card(&p, days, ndays, self);
    link_facts(&p, &l);
    put(&p, "<div class=\"grid2\">");
    sources_card(&p, &src);
    filtered_card(&p, &ever, "All time");
    put(&p, "</div>");
    page_end(&p);
    res = page_send(r, &p, 200, NULL, NULL);
    goto out;
fail:
    res = data_error(r, rc);
out:
    free(days);
    return res;
}

/* ---- sign-in and sign-out ---- */

/* Sends the sign-in page with status, and an error message when msg is set. */
static enum MHD_Result login_page(td_req *r, unsigned status, const char *msg, const char *retry)
{
    struct page p;

    page_start(&p, r, "Sign in");
    put(&p, "<div class=\"signin\"><div class=\"card\"><h1>Sign in</h1><p>See who opened the "
            "links in your r\xc3\xa9sum\xc3\xa9s and cover letters. Sign in with a trackdoc API "
            "key; make one with <code>trackdoc apikey create --name NAME</code>.</p>");
    if (msg) {
        put(&p, "<div class=\"alert\" role=\"alert\" id=\"key-error\">");
        esc(&p, msg);
        put(&p, "</div>");
    }
    put(&p, "<form method=\"post\" action=\"/dashboard/login\"><label for=\"api_key\">API key"
            "</label><input id=\"api_key\" name=\"api_key\" type=\"password\" required "
            "autocomplete=\"current-password\" spellcheck=\"false\" autocapitalize=\"off\" "
            "maxlength=\"200\" placeholder=\"td_\xe2\x80\xa6\" ");
    put(&p, msg ? "aria-invalid=\"true\" aria-describedby=\"key-error key-hint\""
                : "aria-describedby=\"key-hint\"");
    put(&p, "><p class=\"hint\" id=\"key-hint\">The key is checked once; the browser then keeps "
            "only a session cookie, which ends after a period without use.</p>"
            "<button class=\"btn\" type=\"submit\">Sign in</button></form></div></div>");
    page_end(&p);
    return page_send(r, &p, status, NULL, retry);
}

/* Refuses a sign-in: the page again with the message for a browser, JSON otherwise. */
static enum MHD_Result login_refused(td_req *r, unsigned status, const char *code, const char *msg,
                                     const char *retry)
{
    if (td__req_wants_html(r))
        return login_page(r, status, msg, retry);
    if (retry)
        return td__reply_error_h(r, status, code, "Retry-After", retry, "%s", msg);
    return td__reply_error(r, status, code, NULL, "%s", msg);
}

/* GET /dashboard/login: the sign-in form, or to the overview when already signed in. */
enum MHD_Result td__handle_dash_login_page(td_req *r)
{
    enum MHD_Result res;
    bool go_on;

    res = td__session_auth(r, &go_on);
    if (!go_on)
        return res;
    if (r->authed)
        return redirect(r, "/dashboard", NULL);
    return login_page(r, 200, NULL, NULL);
}

/* Writes the Set-Cookie value of a session (token "" clears the cookie). */
static void session_cookie(td_req *r, const char *token, char *out, size_t n)
{
    bool secure = strncasecmp(td_tracker_base_url(r->srv->tr), "https:", 6) == 0;

    snprintf(out, n, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", TD_SESSION_COOKIE, token,
             secure ? "; Secure" : "", *token ? "" : "; Max-Age=0");
}

/* POST /dashboard/login (api_key=...): checks the key, starts a session, 303 to /dashboard. */
enum MHD_Result td__handle_dash_login(td_req *r)
{
    const char *ctype = td__req_header(r, "Content-Type");
    char key[KEY_FIELD_MAX], token[TD_SESSION_TOKEN_SIZE], cookie[160], retry[16];
    td_session_info who;
    td_apikey_row row;
    const char *k;
    enum MHD_Result res;
    int wait, rc;

    memset(&who, 0, sizeof who);
    if (!same_origin(r))
        return dash_error(r, 403, "cross_origin", "Request refused",
                          "This form was sent from another site or without an Origin header. "
                          "Sign in from the trackdoc sign-in page.");
    if (r->srv->rl_login &&
        (wait = td__ratelimit_take(r->srv->rl_login, r->ip, td_time_mono_ms())) > 0) {
        snprintf(retry, sizeof retry, "%d", wait);
        return login_refused(r, 429, "rate_limited",
                             "Too many sign-in attempts from this address. Wait a minute and "
                             "try again.",
                             retry);
    }
    if (!ctype || strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0)
        return login_refused(r, 400, "invalid_value",
                             "Send the sign-in form as application/x-www-form-urlencoded with "
                             "the field api_key.",
                             NULL);
    rc = form_field(r->body.data ? r->body.data : "", r->body.len, "api_key", key, sizeof key);
    k = key + strspn(key, " \t\r\n");
    if (rc == 0)
        key[strcspn(key, " \t\r\n")] = '\0';
    if (rc == TD_ETOOBIG || rc == TD_EINVAL) {
        explicit_bzero(key, sizeof key);
        return login_refused(r, 400, "invalid_value",
                             "That is not an API key: a key is td_ and 40 letters and digits.",
                             NULL);
    }
    if (rc != 0 || !*k)
        return login_refused(r, 400, "invalid_value", "Enter an API key.", NULL);
    rc = td_apikey_check(r->srv->st, k, &row);
    if (rc == 0)
        rc = td_apikey_hash(k, who.key_hash);
    explicit_bzero(key, sizeof key);
    if (rc == TD_EAUTH)
        return login_refused(r, 401, "unauthorized", "That API key is unknown or revoked.", NULL);
    if (rc)
        return data_error(r, rc);
    memcpy(who.key_id, row.key_id, sizeof who.key_id);
    memcpy(who.key_name, row.name, sizeof who.key_name);
    if ((rc = td__sessions_create(r->srv->sessions, &who, td_time_mono_ms(), token)) != 0)
        return data_error(r, rc);
    session_cookie(r, token, cookie, sizeof cookie);
    res = redirect(r, "/dashboard", cookie);
    explicit_bzero(token, sizeof token);
    explicit_bzero(cookie, sizeof cookie);
    return res;
}

/* POST /dashboard/logout: ends the session, clears the cookie, 303 to the sign-in page. */
enum MHD_Result td__handle_dash_logout(td_req *r)
{
    const char *tok = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, TD_SESSION_COOKIE);
    char cookie[160];

    if (!same_origin(r))
        return dash_error(r, 403, "cross_origin", "Request refused",
                          "This form was sent from another site or without an Origin header.");
    if (tok)
        td__sessions_drop(r->srv->sessions, tok);
    session_cookie(r, "", cookie, sizeof cookie);
    return redirect(r, "/dashboard/login", cookie);
}

/* ---- GET /dashboard/assets/{name} ---- */

/* Serves a file of web/ from the binary. */
enum MHD_Result td__handle_dash_asset(td_req *r)
{
    const char *const headers[] = {"Cache-Control", "public, max-age=86400", NULL};

    for (size_t i = 0; i < td__nassets; i++)
        if (strcmp(td__assets[i].name, r->params[0]) == 0)
            return td__reply_raw(r, 200, td__assets[i].type, td__assets[i].data, td__assets[i].len,
                                 headers);
    return td__reply_error(r, 404, "not_found", NULL, "no such asset: %.100s", r->params[0]);
}
