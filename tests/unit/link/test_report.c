/* Analytics of a link, a job, an application and of everything, in JSON and CSV, computed from
 * clicks of known classes; the include parser and the CSV cell rules. */
#include "core/common.h"

#include "test.h"
#include "trackdoc/report.h"

#define JOB "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define JOB2 "3f2504e0-4f89-41d3-9a0c-0305e82c3302"
#define APP "9b2c3d4e-1111-4222-8333-444455556666"
#define APP2 "9b2c3d4e-1111-4222-8333-444455557777"
#define DAY 86400000LL

/* Reads an integer at obj.key. */
static long long geti(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* Reads a string at obj.key ("(null)" when absent or not a string). */
static const char *gets_(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : "(null)";
}

/* The include parameter. */
static void include_parser(void)
{
    unsigned c = 99;

    CHECK(td_report_parse_include("all", &c) == 0 && c == TD_CLASS_ALL, "include=all");
    CHECK(td_report_parse_include("human,preview", &c) == 0 &&
              c == (TD_CLASS_BIT(TD_CLASS_HUMAN) | TD_CLASS_BIT(TD_CLASS_PREVIEW)),
          "include=human,preview");
    CHECK(td_report_parse_include("Scanner,BOT,bot", &c) == 0 &&
              c == (TD_CLASS_BIT(TD_CLASS_SCANNER) | TD_CLASS_BIT(TD_CLASS_BOT)),
          "include: any case, repeats allowed");
    CHECK(td_report_parse_include("", &c) == TD_EINVAL && c == 0, "include: empty refused");
    CHECK(td_report_parse_include("human,", &c) == TD_EINVAL, "include: empty item refused");
    CHECK(td_report_parse_include(",human", &c) == TD_EINVAL, "include: leading comma refused");
    CHECK(td_report_parse_include("humans", &c) == TD_EINVAL, "include: unknown name refused");
    CHECK(td_report_parse_include("human preview", &c) == TD_EINVAL,
          "include: space-separated refused");
}

/* Returns the CSV of one cell as a new static string. */
static const char *cell(const char *s)
{
    static char out[128];
    td_buf b;

    td_buf_init(&b, 1024);
    td_report_csv_cell(&b, s);
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.data ? b.data : "");
    td_buf_release(&b);
    return out;
}

/* CSV cells: RFC 4180 quoting and formula guards. */
static void csv_cells(void)
{
    CHECK_STR(cell("Calendly"), "Calendly", "plain cell as it is");
    CHECK_STR(cell("a,b"), "\"a,b\"", "a comma is quoted");
    CHECK_STR(cell("say \"hi\""), "\"say \"\"hi\"\"\"", "quotes are doubled inside quotes");
    CHECK_STR(cell("two\nlines"), "\"two\nlines\"", "a line break is quoted");
    CHECK_STR(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"",
              "a formula gets a leading ' (and quotes)");
    CHECK_STR(cell("+1"), "'+1", "+ guarded");
    CHECK_STR(cell("-2+3"), "'-2+3", "- guarded");
    CHECK_STR(cell("@SUM(A1)"), "'@SUM(A1)", "@ guarded");
    CHECK_STR(cell("\tx"), "'\tx", "tab guarded");
    CHECK_STR(cell(" x"), "\" x\"", "a leading space is kept by quoting");
    CHECK_STR(cell("a=b"), "a=b", "= inside a cell is harmless");
}

/* Stores one Calendly event; tid NULL for a booking not through a link. */
static void add_conv(td_store *st, int n, const char *type, const char *job, const char *app,
                     const td_link *l, const char *attribution, int64_t at)
{
    td_conversion c;

    memset(&c, 0, sizeof c);
    snprintf(c.conversion_id, sizeof c.conversion_id, "01900000-0000-7000-8000-%012d", n);
    snprintf(c.invitee_uri, sizeof c.invitee_uri,
             "https://api.calendly.com/scheduled_events/E%d/invitees/I%d", n % 10, n % 10);
    snprintf(c.event_type, sizeof c.event_type, "%s", type);
    snprintf(c.job_id, sizeof c.job_id, "%s", job ? job : "");
    snprintf(c.application_id, sizeof c.application_id, "%s", app ? app : "");
    if (l) {
        snprintf(c.tracking_id, sizeof c.tracking_id, "%s", l->tracking_id);
        snprintf(c.link_function, sizeof c.link_function, "%s", l->link_function);
    }
    snprintf(c.attribution, sizeof c.attribution, "%s", attribution);
    c.received_at = at;
    CHECK(td_store_conversion_insert(st, &c, NULL) == 0, "booking event stored");
}

/* Stores one generated document of a job (NULL: none). */
static void add_doc(td_store *st, int n, const char *job, int64_t at)
{
    td_document d;

    memset(&d, 0, sizeof d);
    snprintf(d.document_id, sizeof d.document_id, "doc%d", n);
    snprintf(d.filename, sizeof d.filename, "resume_%d.docx", n);
    snprintf(d.kind, sizeof d.kind, "resume");
    snprintf(d.format, sizeof d.format, "docx");
    snprintf(d.job_id, sizeof d.job_id, "%s", job ? job : "");
    d.size_bytes = 100;
    d.created_at = at;
    CHECK(td_store_document_insert(st, &d) == 0, "document stored");
}

/* Entry point. */
int main(void)
{
    char db[512];
    td_store *st = NULL;
    td_tracker *t = NULL;
    td_link cal, lin, port, other;
    td_link_params p1 = {.original_url = "https://calendly.com/j",
                         .link_function = "Calendly",
                         .job_id = JOB,
                         .application_id = APP};
    td_link_params p2 = {.original_url = "https://linkedin.com/in/j",
                         .link_function = "LinkedIn",
                         .job_id = JOB,
                         .application_id = APP};
    td_link_params p3 = {.original_url = "https://j.example/=cmd",
                         .link_function = "Portfolio",
                         .job_id = JOB,
                         .application_id = APP2};
    td_link_params p4 = {
        .original_url = "https://calendly.com/j2", .link_function = "Calendly", .job_id = JOB2};
    int64_t now = 1795498135123LL; /* 2026-11-24T05:28:55.123Z */
    td_report_opts human7 = {.days = 7, .now_ms = now};
    td_report_opts all7 = {.days = 7, .now_ms = now, .classes = TD_CLASS_ALL};
    td_click k[10];
    json_t *rep = NULL, *cs, *tl, *e;
    td_buf csv;

    include_parser();
    csv_cells();
    snprintf(db, sizeof db, "%s/report.db", td_test_tmpdir());
    if (td_store_open(db, NULL, &st, NULL, 0) || td_tracker_new(st, NULL, &t, NULL, 0) ||
        td_link_create(t, &p1, &cal, NULL, NULL) || td_link_create(t, &p2, &lin, NULL, NULL) ||
        td_link_create(t, &p3, &port, NULL, NULL) || td_link_create(t, &p4, &other, NULL, NULL))
        return 1;
    /* Calendly: 3 human GETs by 2 visitors (email, direct, direct), a bot GET, a scanner HEAD,
     * a preview GET; one human GET 10 days ago (outside a 7-day timeline). LinkedIn: a human
     * GET. The other job's link: a human GET and a scanner GET (yesterday). */
    for (int i = 0; i < 10; i++) {
        td_click_init(&k[i], i < 7    ? cal.tracking_id
                             : i == 7 ? lin.tracking_id
                                      : other.tracking_id);
        k[i].click_source = TD_SOURCE_DIRECT;
        k[i].click_class = TD_CLASS_HUMAN;
        k[i].clicked_at = now;
    }
    k[0].click_source = TD_SOURCE_EMAIL;
    k[0].clicked_at = now - 2 * DAY; /* 2026-11-22 */
    k[0].visitor_hash = "v1";
    k[1].clicked_at = now - 1000;
    k[1].visitor_hash = "v1";
    k[2].visitor_hash = "v2";
    k[3].click_class = TD_CLASS_BOT;
    k[3].click_source = TD_SOURCE_LINKEDIN;
    k[3].visitor_hash = "v3";
    k[4].click_class = TD_CLASS_SCANNER;
    k[4].head = true;
    k[5].click_class = TD_CLASS_PREVIEW;
    k[5].visitor_hash = "v4";
    k[6].clicked_at = now - 10 * DAY;
    k[6].visitor_hash = "v5";
    k[9].click_class = TD_CLASS_SCANNER;
    k[9].clicked_at = now - DAY;
    CHECK(td_store_click_insert(st, k, 10, NULL) == 0, "clicks stored");
    /* Bookings: one through the Calendly link of JOB, then canceled; one of JOB2 by campaign
     * (20 days ago, outside a 7-day period); one unattributed. Documents: 2 for JOB, 1 for
     * JOB2, 1 without a job. */
    add_conv(st, 1, TD_CONV_CREATED, JOB, APP, &cal, "tracking_id", now - 1000);
    add_conv(st, 11, TD_CONV_CANCELED, JOB, APP, &cal, "tracking_id", now - 500);
    add_conv(st, 2, TD_CONV_CREATED, JOB2, NULL, NULL, "campaign", now - 20 * DAY);
    add_conv(st, 3, TD_CONV_CREATED, NULL, NULL, NULL, "none", now - 100);
    add_doc(st, 1, JOB, now - 30 * DAY);
    add_doc(st, 2, JOB, now - 30 * DAY);
    add_doc(st, 3, JOB2, now - 30 * DAY);
    add_doc(st, 4, NULL, now - 30 * DAY);

    /* ---- one link ---- */
    CHECK(td_report_link(st, &cal, &human7, &rep) == 0 && rep, "link report built");
    cs = json_object_get(rep, "click_statistics");
    CHECK_INT(geti(cs, "total_clicks"), 4, "total_clicks: human GETs by default");
    CHECK_INT(geti(cs, "human_clicks"), 4, "human_clicks");
    CHECK_INT(geti(cs, "unique_visitors"), 3, "unique_visitors of the human clicks: v1, v2, v5");
    CHECK_INT(geti(cs, "head_requests"), 1, "head_requests separate");
    CHECK_STR(gets_(cs, "first_click"), "2026-11-14T05:28:55.123Z", "first human click");
    CHECK_STR(gets_(cs, "last_click"), "2026-11-24T05:28:55.123Z", "last human click");
    e = json_object_get(cs, "by_source");
    CHECK(json_object_size(e) == 2 && geti(e, "direct") == 3 && geti(e, "email") == 1,
          "by_source of the human clicks");
    e = json_object_get(cs, "by_class");
    CHECK(json_object_size(e) == 4 && geti(e, "human") == 4 && geti(e, "bot") == 1 &&
              geti(e, "preview") == 1 && geti(e, "scanner") == 0,
          "by_class: every class, GET requests only");
    CHECK(json_array_size(json_object_get(rep, "counted_classes")) == 1 &&
              strcmp(json_string_value(json_array_get(json_object_get(rep, "counted_classes"), 0)),
                     "human") == 0,
          "counted_classes: [human]");
    tl = json_object_get(rep, "click_timeline");
    CHECK_INT(json_array_size(tl), 7, "timeline has 7 days");
    CHECK_STR(gets_(json_array_get(tl, 0), "date"), "2026-11-18", "timeline starts 6 days ago");
    CHECK_INT(geti(json_array_get(tl, 4), "clicks"), 1, "2026-11-22 has 1 click");
    CHECK_INT(geti(json_array_get(tl, 5), "clicks"), 0, "2026-11-23 is zero-filled");
    CHECK(geti(json_array_get(tl, 6), "clicks") == 2 &&
              geti(json_array_get(tl, 6), "human_clicks") == 2,
          "today: 2 human clicks (the bot and the preview not counted)");
    CHECK_STR(gets_(json_object_get(rep, "link_info"), "tracking_id"), cal.tracking_id,
              "link_info");
    e = json_object_get(rep, "booking_statistics");
    CHECK(geti(e, "bookings") == 1 && geti(e, "cancellations") == 1 && geti(e, "active") == 0 &&
              geti(e, "reschedules") == 0,
          "link: its booking, canceled");
    json_decref(rep);
    CHECK(
        td_report_link(st, &lin, &human7, &rep) == 0 &&
            geti(json_object_get(rep, "booking_statistics"), "bookings") == 0 &&
            json_is_null(json_object_get(json_object_get(rep, "booking_statistics"), "last_event")),
        "link without bookings: zeros, no last event");
    json_decref(rep);

    CHECK(td_report_link(st, &cal, &all7, &rep) == 0, "link report, every class");
    cs = json_object_get(rep, "click_statistics");
    CHECK(geti(cs, "total_clicks") == 6 && geti(cs, "human_clicks") == 4,
          "include=all: 6 GET clicks, 4 of them human");
    CHECK_INT(geti(cs, "unique_visitors"), 5, "unique_visitors of every class: v1..v5");
    CHECK_INT(geti(json_object_get(cs, "by_source"), "linkedin"), 1, "the bot's source counts");
    tl = json_object_get(rep, "click_timeline");
    CHECK(geti(json_array_get(tl, 6), "clicks") == 4 &&
              geti(json_array_get(tl, 6), "human_clicks") == 2,
          "today: 4 clicks, 2 human");
    CHECK_INT(json_array_size(json_object_get(rep, "counted_classes")), 4,
              "counted_classes lists the four");
    td_buf_init(&csv, 1 << 20);
    CHECK(td_report_csv(TD_REPORT_LINK, rep, &csv) == 0 && csv.len > 0, "link CSV written");
    td_buf_addc(&csv, '\0');
    CHECK(strncmp(csv.data, "tracking_id,date,clicks,human_clicks\r\n", 38) == 0,
          "link CSV header");
    CHECK(strstr(csv.data, ",2026-11-24,4,2\r\n") && strstr(csv.data, ",2026-11-18,0,0\r\n"),
          "link CSV: one row per day");
    td_buf_release(&csv);
    json_decref(rep);
    {
        td_report_opts o = {.days = 1, .now_ms = now, .classes = TD_CLASS_BIT(TD_CLASS_PREVIEW)};
        CHECK(td_report_link(st, &cal, &o, &rep) == 0 &&
                  geti(json_object_get(rep, "click_statistics"), "total_clicks") == 1 &&
                  geti(json_object_get(rep, "click_statistics"), "human_clicks") == 4,
              "include=preview: 1 click, human_clicks still 4");
        json_decref(rep);
        rep = NULL;
        o.days = 367;
        CHECK(td_report_link(st, &cal, &o, &rep) == TD_EINVAL && !rep, "367 days refused");
        o.days = -1;
        CHECK(td_report_link(st, &cal, &o, &rep) == TD_EINVAL, "negative days refused");
    }

    /* ---- a job ---- */
    CHECK(td_report_job(st, JOB, &human7, &rep) == 0, "job summary built");
    CHECK_INT(geti(rep, "total_links"), 3, "job has 3 links");
    CHECK_INT(geti(rep, "total_clicks"), 5, "job: 5 human clicks");
    CHECK_INT(geti(rep, "human_clicks"), 5, "job: human_clicks");
    CHECK_STR(gets_(rep, "last_human_click"), "2026-11-24T05:28:55.123Z", "job: last human click");
    e = json_object_get(json_object_get(rep, "by_function"), "Calendly");
    CHECK(geti(e, "links") == 1 && geti(e, "clicks") == 4 && geti(e, "human_clicks") == 4,
          "by_function Calendly");
    e = json_object_get(json_object_get(rep, "by_function"), "Portfolio");
    CHECK(geti(e, "links") == 1 && geti(e, "clicks") == 0 &&
              json_is_null(json_object_get(e, "last_human_click")),
          "by_function Portfolio: a link without clicks");
    CHECK(geti(json_object_get(rep, "by_class"), "bot") == 1, "job by_class");
    e = json_array_get(json_object_get(rep, "links"), 0);
    CHECK_STR(gets_(e, "tracking_id"), port.tracking_id, "links newest first");
    CHECK_STR(gets_(e, "application_id"), APP2, "a job's links show their application");
    CHECK(geti(rep, "bookings") == 1 && geti(rep, "cancellations") == 1 &&
              geti(rep, "documents") == 2,
          "job: 1 booking, 1 cancellation, 2 documents");
    e = json_object_get(json_object_get(rep, "by_function"), "Calendly");
    CHECK(geti(e, "bookings") == 1 && geti(e, "cancellations") == 1, "by_function: bookings");
    CHECK(geti(json_object_get(json_object_get(rep, "by_function"), "LinkedIn"), "bookings") == 0,
          "by_function: a function without bookings");
    json_decref(rep);
    CHECK(td_report_job(st, JOB2, &human7, &rep) == 0 && geti(rep, "bookings") == 1 &&
              geti(json_array_get(json_object_get(rep, "links"), 0), "bookings") == 0,
          "job: a booking by campaign counts for the job, not for its link");
    json_decref(rep);
    CHECK(td_report_job(st, JOB, &all7, &rep) == 0 && geti(rep, "total_clicks") == 7 &&
              geti(rep, "human_clicks") == 5,
          "job, every class: 7 GET clicks, 5 human");
    td_buf_init(&csv, 1 << 20);
    CHECK(td_report_csv(TD_REPORT_JOB, rep, &csv) == 0, "job CSV written");
    td_buf_addc(&csv, '\0');
    CHECK(strstr(csv.data, "tracking_id,link_function,application_id,original_url,is_active,"
                           "clicks,human_clicks,last_click,last_human_click,bookings,"
                           "cancellations\r\n") == csv.data,
          "job CSV header");
    CHECK(strstr(csv.data, ",Portfolio," APP2 ",https://j.example/=cmd,true,0,0,,,0,0\r\n") != NULL,
          "job CSV: a link row, empty times for no clicks");
    CHECK(strstr(csv.data, ",Calendly," APP ",https://calendly.com/j,true,") &&
              strstr(csv.data, "Z,1,1\r\n"),
          "job CSV: the Calendly link's booking and cancellation");
    td_buf_release(&csv);
    json_decref(rep);
    CHECK(td_report_job(st, "00000000-0000-4000-8000-000000000000", NULL, &rep) == 0 &&
              geti(rep, "total_links") == 0 && json_is_null(json_object_get(rep, "last_click")) &&
              json_array_size(json_object_get(rep, "links")) == 0,
          "a job without links gives zeros");
    json_decref(rep);

    /* ---- an application ---- */
    CHECK(td_report_application(st, APP, &all7, &rep) == 0, "application summary built");
    CHECK(geti(rep, "total_links") == 2 && geti(rep, "total_clicks") == 7 &&
              strcmp(gets_(rep, "application_id"), APP) == 0,
          "application: 2 links, 7 GET clicks");
    e = json_array_get(json_object_get(rep, "links"), 0);
    CHECK(strcmp(gets_(e, "job_id"), JOB) == 0 && !json_object_get(e, "application_id"),
          "an application's links show their job");
    td_buf_init(&csv, 1 << 20);
    CHECK(td_report_csv(TD_REPORT_APPLICATION, rep, &csv) == 0, "application CSV written");
    td_buf_addc(&csv, '\0');
    CHECK(strstr(csv.data, "tracking_id,link_function,job_id,") == csv.data,
          "application CSV names job_id");
    td_buf_release(&csv);
    json_decref(rep);

    /* ---- everything ---- */
    CHECK(td_report_overall(st, &human7, &rep) == 0, "overall report built");
    CHECK(geti(rep, "days") == 7 && strcmp(gets_(rep, "from"), "2026-11-18") == 0 &&
              strcmp(gets_(rep, "to"), "2026-11-24") == 0,
          "the period: 7 days ending today");
    e = json_object_get(rep, "overall_statistics");
    CHECK(geti(e, "total_clicks") == 5 && geti(e, "human_clicks") == 5 &&
              geti(e, "head_requests") == 1,
          "overall: 5 human clicks in 7 days (the one 10 days ago left out), 1 HEAD");
    CHECK(geti(json_object_get(e, "by_class"), "scanner") == 1, "overall by_class");
    CHECK(geti(e, "bookings") == 2 && geti(e, "cancellations") == 1,
          "overall: 2 bookings in 7 days (one unattributed), 1 cancellation");
    e = json_object_get(rep, "funnel");
    CHECK_STR(gets_(e, "period"), "all_time", "funnel: all time");
    CHECK(geti(e, "documents") == 4 && geti(e, "documents_without_job") == 1 &&
              geti(e, "documents_clicked") == 3 && geti(e, "jobs_clicked") == 2 &&
              geti(e, "human_clicks") == 6,
          "funnel: 4 documents, 3 of jobs with human clicks, 6 human clicks");
    CHECK(geti(e, "bookings") == 3 && geti(e, "cancellations") == 1 &&
              geti(e, "unattributed_bookings") == 1 && geti(e, "jobs_booked") == 2,
          "funnel: 3 bookings, 1 unattributed, 2 jobs booked");
    CHECK(json_real_value(json_object_get(e, "click_rate")) == 0.75 &&
              json_real_value(json_object_get(e, "booking_rate")) == 0.5,
          "funnel rates: 3/4 documents clicked, 3 bookings / 6 human clicks");
    {
        const json_t *j0 = json_array_get(json_object_get(e, "jobs"), 0);
        const json_t *fns = json_object_get(e, "by_function");
        const json_t *f0 = NULL;
        size_t i;
        CHECK(json_array_size(json_object_get(e, "jobs")) == 2 &&
                  strcmp(gets_(j0, "job_id"), JOB) == 0 && geti(j0, "documents") == 2 &&
                  geti(j0, "human_clicks") == 5 && geti(j0, "bookings") == 1 &&
                  json_is_true(json_object_get(j0, "booked")),
              "funnel per job: JOB first, 2 documents, 5 human clicks, booked");
        json_array_foreach(fns, i, f0)
        {
            if (strcmp(gets_(f0, "link_function"), "Calendly") == 0)
                break;
        }
        CHECK(f0 && geti(f0, "human_clicks") == 5 && geti(f0, "bookings") == 1,
              "funnel per function: Calendly 5 human clicks, 1 booking through its links");
    }
    e = json_object_get(rep, "function_performance");
    CHECK(json_array_size(e) == 2 &&
              strcmp(gets_(json_array_get(e, 0), "link_function"), "Calendly") == 0 &&
              geti(json_array_get(e, 0), "human_clicks") == 4,
          "function_performance: Calendly first with 4 human clicks");
    e = json_object_get(rep, "daily_trends");
    CHECK(json_array_size(e) == 7 && geti(json_array_get(e, 6), "human_clicks") == 4,
          "daily_trends: 7 days, 4 human clicks today");
    e = json_object_get(rep, "top_jobs");
    CHECK(json_array_size(e) == 2 && strcmp(gets_(json_array_get(e, 0), "job_id"), JOB) == 0 &&
              geti(json_array_get(e, 0), "human_clicks") == 4 &&
              geti(json_array_get(e, 1), "human_clicks") == 1,
          "top_jobs by human clicks");
    td_buf_init(&csv, 1 << 20);
    CHECK(td_report_csv(TD_REPORT_OVERALL, rep, &csv) == 0, "overall CSV written");
    td_buf_addc(&csv, '\0');
    CHECK(strstr(csv.data, "section,key,clicks,human_clicks,documents,bookings,cancellations\r\n"
                           "overall,all,5,5,,2,1\r\n") == csv.data,
          "overall CSV starts with the totals");
    CHECK(strstr(csv.data, "\r\nfunction,Calendly,4,4,,,\r\n") &&
              strstr(csv.data, "\r\nday,2026-11-24,4,4,,,\r\n") &&
              strstr(csv.data, "\r\njob," JOB ",4,4,,,\r\n"),
          "overall CSV: functions, days and jobs");
    CHECK(strstr(csv.data, "\r\nfunnel,all,,6,4,3,1\r\nfunnel,unattributed,,,,1,\r\n") &&
              strstr(csv.data, "\r\nfunnel_function,Calendly,,5,,1,1\r\n") &&
              strstr(csv.data, "\r\nfunnel_job," JOB ",,5,2,1,1\r\n"),
          "overall CSV: the funnel, unattributed bookings, per function and per job");
    td_buf_release(&csv);
    json_decref(rep);
    CHECK(td_report_overall(st, &all7, &rep) == 0 &&
              geti(json_object_get(rep, "overall_statistics"), "total_clicks") == 8,
          "overall, every class: 8 GET clicks in 7 days");
    json_decref(rep);
    {
        td_report_opts o = {.days = 366};
        CHECK(td_report_overall(st, &o, &rep) == 0 &&
                  json_array_size(json_object_get(rep, "daily_trends")) == 366,
              "a year's report: 366 days of trends");
        json_decref(rep);
        rep = NULL;
        o.days = 400;
        CHECK(td_report_overall(st, &o, &rep) == TD_EINVAL && !rep, "400 days refused");
    }
    td_buf_init(&csv, 1024);
    rep = json_object();
    CHECK(td_report_csv(TD_REPORT_JOB, rep, &csv) == TD_EINVAL,
          "CSV of something that is not that report is refused");
    json_decref(rep);
    td_buf_release(&csv);
    td_tracker_free(t);
    td_store_close(st);
    TEST_DONE();
}
