/* trackdoc stats: click analytics of every link, one link, a job or an application, as aligned
 * tables, JSON or CSV (the same JSON and CSV as the HTTP API). */
#include "cli/cli.h"

#include "core/id.h"
#include "trackdoc/report.h"

static const char usage[] =
    "usage: trackdoc stats [--job UUID | --application UUID | --link ID] [--days N]\n"
    "                      [--include all|CLASSES] [--json | --csv] [--db URL]\n"
    "\n"
    "Clicks and Calendly bookings of your tracked links.\n"
    "  (no filter)         every link over the last --days days: totals, per link\n"
    "                      function, per day, and the jobs with the most human clicks;\n"
    "                      then the funnel of all time: documents, human clicks, bookings\n"
    "  --link ID           one link: all-time counts, and --days days per day\n"
    "  --job UUID          the links of one job: all-time counts per function and per link\n"
    "  --application UUID  the same for one application\n"
    "  --days N            1 to 366 (default 30); not with --job or --application\n"
    "  --include all|CLASSES  the classes counted as clicks: all, or a comma-separated list\n"
    "                      of human, bot, preview, scanner (default human). Human clicks\n"
    "                      are always shown beside, and counts of every class by class.\n"
    "  --json, --csv       the JSON or CSV of the HTTP API instead of tables\n"
    "  --db URL            the database (TRACKDOC_DB, default var/trackdoc.db)\n"
    "\n"
    "A job or application without links shows zeros. Exit status: 0; 1 when the link does\n"
    "not exist or the database fails; 2 for a bad argument.\n";

enum { O_JOB = 256, O_APP, O_LINK, O_DAYS, O_INCLUDE, O_JSON, O_CSV, O_DB };

static const struct option options[] = {
    {"job", required_argument, NULL, O_JOB},
    {"job-id", required_argument, NULL, O_JOB},
    {"application", required_argument, NULL, O_APP},
    {"application-id", required_argument, NULL, O_APP},
    {"link", required_argument, NULL, O_LINK},
    {"days", required_argument, NULL, O_DAYS},
    {"include", required_argument, NULL, O_INCLUDE},
    {"json", no_argument, NULL, O_JSON},
    {"csv", no_argument, NULL, O_CSV},
    {"db", required_argument, NULL, O_DB},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns the integer member key of obj. */
static json_int_t num(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* Returns the string member key of obj, or "-" when it is null or absent. */
static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s && *s ? s : "-";
}

/* Prints "label  value" with the labels of a block aligned. */
static void field(const char *label, const char *value)
{
    printf("%-18s%s\n", label, value);
}

/* Prints a count field. */
static void count(const char *label, json_int_t n)
{
    printf("%-18s%" JSON_INTEGER_FORMAT "\n", label, n);
}

/* Prints "what we count" from counted_classes. */
static void counting(const json_t *rep)
{
    const json_t *c = json_object_get(rep, "counted_classes");
    const json_t *v;
    size_t i;

    printf("%-18s", "counting");
    if (json_array_size(c) == TD_CLASS_COUNT) {
        printf("clicks of every class\n");
        return;
    }
    json_array_foreach(c, i, v)
    {
        printf("%s%s", i ? ", " : "", json_string_value(v));
    }
    printf(" clicks%s\n", json_array_size(c) == 1 ? "" : " together");
}

/* Prints an object of counts as "k n, k n". */
static void counts(const char *label, const json_t *obj)
{
    const char *k;
    const json_t *v;
    int i = 0;

    printf("%-18s", label);
    json_object_foreach((json_t *)obj, k, v)
    {
        printf("%s%s %" JSON_INTEGER_FORMAT, i++ ? ", " : "", k, json_integer_value(v));
    }
    printf("%s\n", i ? "" : "none");
}

/* Prints the days of an array of {date, clicks, human_clicks} that have clicks. */
static void days_table(const json_t *arr)
{
    const json_t *d;
    size_t i;
    int shown = 0;

    json_array_foreach(arr, i, d)
    {
        if (!num(d, "clicks") && !num(d, "human_clicks"))
            continue;
        if (!shown++)
            printf("\n%-12s %8s %8s\n", "DAY (UTC)", "CLICKS", "HUMAN");
        printf("%-12s %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT "\n", str(d, "date"),
               num(d, "clicks"), num(d, "human_clicks"));
    }
    if (!shown)
        printf("\n(no clicks on any of these days)\n");
}

/* Prints a rate (a fraction) as a percentage, or "-" when null. */
static void rate(const char *label, const json_t *v)
{
    if (json_is_number(v))
        printf("%-18s%.1f%%\n", label, json_number_value(v) * 100.0);
    else
        field(label, "-");
}

/* Prints the funnel of the overall report: documents -> human clicks -> bookings. */
static void print_funnel(const json_t *fu)
{
    const json_t *e;
    size_t i;
    int w = 8;

    if (!json_is_object(fu))
        return;
    printf("\nFunnel (all time)\n");
    count("documents", num(fu, "documents"));
    count("docs clicked", num(fu, "documents_clicked"));
    count("human clicks", num(fu, "human_clicks"));
    count("bookings", num(fu, "bookings"));
    count("cancellations", num(fu, "cancellations"));
    count("unattributed", num(fu, "unattributed_bookings"));
    rate("click rate", json_object_get(fu, "click_rate"));
    rate("booking rate", json_object_get(fu, "booking_rate"));
    json_array_foreach(json_object_get(fu, "by_function"), i, e)
    {
        w = TD_MAX(w, (int)strlen(str(e, "link_function")));
    }
    if (json_array_size(json_object_get(fu, "by_function"))) {
        printf("\n%-*s %8s %8s %8s\n", w, "FUNCTION", "HUMAN", "BOOKINGS", "CANCELED");
        json_array_foreach(json_object_get(fu, "by_function"), i, e)
        {
            printf("%-*s %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT
                   "\n",
                   w, str(e, "link_function"), num(e, "human_clicks"), num(e, "bookings"),
                   num(e, "cancellations"));
        }
    }
    if (json_array_size(json_object_get(fu, "jobs"))) {
        printf("\n%-36s %9s %8s %8s %8s\n", "FUNNEL JOBS", "DOCUMENTS", "HUMAN", "BOOKINGS",
               "CANCELED");
        json_array_foreach(json_object_get(fu, "jobs"), i, e)
        {
            printf("%-36s %9" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT
                   " %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT "\n",
                   str(e, "job_id"), num(e, "documents"), num(e, "human_clicks"),
                   num(e, "bookings"), num(e, "cancellations"));
        }
        if (json_is_true(json_object_get(fu, "jobs_truncated")))
            printf("(the first %zu jobs)\n", json_array_size(json_object_get(fu, "jobs")));
    }
}

/* Prints the report of every link. */
static void print_overall(const json_t *rep)
{
    const json_t *os = json_object_get(rep, "overall_statistics"), *e;
    size_t i;
    int w = 8;

    printf("Clicks from %s to %s (%" JSON_INTEGER_FORMAT " days, UTC)\n", str(rep, "from"),
           str(rep, "to"), num(rep, "days"));
    counting(rep);
    count("clicks", num(os, "total_clicks"));
    count("human clicks", num(os, "human_clicks"));
    count("HEAD requests", num(os, "head_requests"));
    counts("by class", json_object_get(os, "by_class"));
    count("bookings", num(os, "bookings"));
    count("cancellations", num(os, "cancellations"));
    json_array_foreach(json_object_get(rep, "function_performance"), i, e)
    {
        w = TD_MAX(w, (int)strlen(str(e, "link_function")));
    }
    if (json_array_size(json_object_get(rep, "function_performance"))) {
        printf("\n%-*s %8s %8s\n", w, "FUNCTION", "CLICKS", "HUMAN");
        json_array_foreach(json_object_get(rep, "function_performance"), i, e)
        {
            printf("%-*s %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT "\n", w,
                   str(e, "link_function"), num(e, "clicks"), num(e, "human_clicks"));
        }
    }
    if (json_array_size(json_object_get(rep, "top_jobs"))) {
        printf("\n%-36s %8s %8s\n", "TOP JOBS", "CLICKS", "HUMAN");
        json_array_foreach(json_object_get(rep, "top_jobs"), i, e)
        {
            printf("%-36s %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT "\n", str(e, "job_id"),
                   num(e, "clicks"), num(e, "human_clicks"));
        }
    }
    days_table(json_object_get(rep, "daily_trends"));
    print_funnel(json_object_get(rep, "funnel"));
}

/* Prints the analytics of one link. */
static void print_link(const json_t *rep)
{
    const json_t *li = json_object_get(rep, "link_info");
    const json_t *cs = json_object_get(rep, "click_statistics");

    field("tracking_id", str(li, "tracking_id"));
    field("link_function", str(li, "link_function"));
    field("job_id", str(li, "job_id"));
    field("application_id", str(li, "application_id"));
    field("original_url", str(li, "original_url"));
    field("active", json_is_true(json_object_get(li, "is_active")) ? "yes" : "no");
    counting(rep);
    printf("\n");
    count("clicks", num(cs, "total_clicks"));
    count("human clicks", num(cs, "human_clicks"));
    count("unique visitors", num(cs, "unique_visitors"));
    count("HEAD requests", num(cs, "head_requests"));
    field("first click", str(cs, "first_click"));
    field("last click", str(cs, "last_click"));
    counts("by class", json_object_get(cs, "by_class"));
    counts("by source", json_object_get(cs, "by_source"));
    count("bookings", num(json_object_get(rep, "booking_statistics"), "bookings"));
    count("cancellations", num(json_object_get(rep, "booking_statistics"), "cancellations"));
    days_table(json_object_get(rep, "click_timeline"));
}

/* Prints the summary of a job or an application. */
static void print_summary(const json_t *rep, bool job)
{
    const json_t *links = json_object_get(rep, "links"), *e;
    const char *k;
    size_t i;
    int wf = 8, wt = 11;

    field(job ? "job_id" : "application_id", str(rep, job ? "job_id" : "application_id"));
    counting(rep);
    count("links", num(rep, "total_links"));
    count("clicks", num(rep, "total_clicks"));
    count("human clicks", num(rep, "human_clicks"));
    field("last click", str(rep, "last_click"));
    field("last human click", str(rep, "last_human_click"));
    counts("by class", json_object_get(rep, "by_class"));
    count("documents", num(rep, "documents"));
    count("bookings", num(rep, "bookings"));
    count("cancellations", num(rep, "cancellations"));
    if (!json_array_size(links)) {
        printf("\n(no links)\n");
        return;
    }
    json_array_foreach(links, i, e)
    {
        wf = TD_MAX(wf, (int)strlen(str(e, "link_function")));
        wt = TD_MAX(wt, (int)strlen(str(e, "tracking_id")));
    }
    printf("\n%-*s %6s %8s %8s %8s  %s\n", wf, "FUNCTION", "LINKS", "CLICKS", "HUMAN", "BOOKINGS",
           "LAST HUMAN CLICK");
    json_object_foreach(json_object_get(rep, "by_function"), k, e)
    {
        printf("%-*s %6" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT
               " %8" JSON_INTEGER_FORMAT "  %s\n",
               wf, k, num(e, "links"), num(e, "clicks"), num(e, "human_clicks"), num(e, "bookings"),
               str(e, "last_human_click"));
    }
    printf("\n%-*s %-*s %8s %8s %8s  %-24s  %s\n", wt, "TRACKING_ID", wf, "FUNCTION", "CLICKS",
           "HUMAN", "BOOKINGS", "LAST HUMAN CLICK", "ORIGINAL_URL");
    json_array_foreach(links, i, e)
    {
        printf("%-*s %-*s %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT
               " %8" JSON_INTEGER_FORMAT "  %-24s  %s\n",
               wt, str(e, "tracking_id"), wf, str(e, "link_function"), num(e, "clicks"),
               num(e, "human_clicks"), num(e, "bookings"), str(e, "last_human_click"),
               str(e, "original_url"));
    }
    if (json_is_true(json_object_get(rep, "links_truncated")))
        printf("(the newest %zu links; the %s has more)\n", json_array_size(links),
               job ? "job" : "application");
}

/* Dies with the message of a failed report. */
static void report_fail(int rc, td_store *st)
{
    if (rc == TD_EDB)
        die("cannot read the clicks: %s", td_store_errmsg(st));
    die("cannot read the clicks: %s", td_strerror(rc));
}

/* trackdoc stats */
int cmd_stats(int argc, char **argv)
{
    const char *cmd = "stats", *job = NULL, *app = NULL, *link = NULL;
    char id[TD_UUID_SIZE];
    td_report_opts ro = {0};
    td_report_kind kind = TD_REPORT_OVERALL;
    bool json = false, csv = false;
    td_config c;
    td_store *st;
    json_t *rep = NULL;
    int opt, rc;

    cli_config_load(cmd, &c);
    while ((opt = cli_getopt(cmd, argc, argv, "h", options)) != -1) {
        switch (opt) {
        case O_JOB:
            job = optarg;
            break;
        case O_APP:
            app = optarg;
            break;
        case O_LINK:
            link = optarg;
            break;
        case O_DAYS:
            ro.days = (int)cli_parse_long(cmd, "--days", optarg, 1, 366);
            break;
        case O_INCLUDE:
            if (td_report_parse_include(optarg, &ro.classes) != 0)
                usage_error(cmd,
                            "--include \"%s\": expected all, or a comma-separated list of "
                            "human, bot, preview, scanner",
                            optarg);
            break;
        case O_JSON:
            json = true;
            break;
        case O_CSV:
            csv = true;
            break;
        case O_DB:
            cli_set_db(cmd, &c, optarg);
            break;
        case 'h':
            cli_help(usage);
        }
    }
    if (optind < argc)
        usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!!job + !!app + !!link > 1)
        usage_error(cmd, "give one of --job, --application and --link");
    if (json && csv)
        usage_error(cmd, "give --json or --csv, not both");
    if (ro.days && (job || app))
        usage_error(cmd, "--days applies to the report of every link and to --link, not to %s",
                    job ? "--job" : "--application");
    if ((job || app) && td_uuid_normalize(job ? job : app, id) != 0)
        usage_error(cmd, "%s \"%s\": not a UUID", job ? "--job" : "--application", job ? job : app);
    if (link && !td_link_id_valid(link))
        usage_error(cmd, "--link \"%s\": not a tracking id", link);
    st = cli_store_open(cmd, &c, CLI_DB_MIGRATED);
    if (link) {
        td_link l;
        rc = td_store_link_get(st, link, &l);
        if (rc == TD_ENOTFOUND)
            die("no link has the tracking id \"%s\"", link);
        if (rc)
            report_fail(rc, st);
        kind = TD_REPORT_LINK;
        rc = td_report_link(st, &l, &ro, &rep);
    } else if (job) {
        kind = TD_REPORT_JOB;
        rc = td_report_job(st, id, &ro, &rep);
    } else if (app) {
        kind = TD_REPORT_APPLICATION;
        rc = td_report_application(st, id, &ro, &rep);
    } else {
        rc = td_report_overall(st, &ro, &rep);
    }
    if (rc)
        report_fail(rc, st);
    if (csv) {
        td_buf b;
        td_buf_init(&b, TD_BUF_DEFAULT_MAX);
        if ((rc = td_report_csv(kind, rep, &b)) != 0)
            report_fail(rc, st);
        if (b.len && fwrite(b.data, 1, b.len, stdout) != b.len)
            die("cannot write the CSV: %s", strerror(errno));
        td_buf_release(&b);
        json_decref(rep);
    } else if (json) {
        cli_print_json(rep);
    } else {
        if (kind == TD_REPORT_LINK)
            print_link(rep);
        else if (kind == TD_REPORT_OVERALL)
            print_overall(rep);
        else
            print_summary(rep, kind == TD_REPORT_JOB);
        json_decref(rep);
    }
    td_store_close(st);
    return 0;
}
