/* trackdoc link create|show|list|deactivate|activate|utm */
#include "cli/cli.h"

#include "core/id.h"
#include "core/time.h"
#include "trackdoc/report.h"

static const char usage[] =
    "usage: trackdoc link <subcommand> [options]\n"
    "\n"
    "  create --url URL --function F [--job-id UUID] [--application-id UUID] [--type T]\n"
    "         [--description TEXT] [--created-by NAME] [--expires-at TIME | --expires-in 30d]\n"
    "         [--utm on|off|default]\n"
    "         makes (or finds: same job, application, function and URL give the same link)\n"
    "         a tracked link and prints it\n"
    "  show ID [--days N]         the link, its clicks by source and per day\n"
    "  list [--job-id UUID] [--application-id UUID] [--function F] [--active true|false]\n"
    "       [--limit N]           links, newest first\n"
    "  deactivate ID              /track/ID answers 410 from now on\n"
    "  activate ID                turns it back on\n"
    "  utm ID on|off|default      utm_* parameters on this link's redirects: always, never,\n"
    "                             or as the server decides (Calendly links by default)\n"
    "\n"
    "Every subcommand takes --db URL (TRACKDOC_DB) and --json; create, show and list take\n"
    "--base-url URL (TRACKDOC_BASE_URL, default http://127.0.0.1:8080), the base of the\n"
    "redirect URLs of new links.\n";

enum {
    O_URL = 256,
    O_FUNCTION,
    O_JOB,
    O_APP,
    O_TYPE,
    O_DESC,
    O_BY,
    O_EXP_AT,
    O_EXP_IN,
    O_DB,
    O_JSON,
    O_DAYS,
    O_ACTIVE,
    O_LIMIT,
    O_BASE,
    O_UTM,
};

static const struct option options[] = {
    {"url", required_argument, NULL, O_URL},
    {"function", required_argument, NULL, O_FUNCTION},
    {"job-id", required_argument, NULL, O_JOB},
    {"application-id", required_argument, NULL, O_APP},
    {"type", required_argument, NULL, O_TYPE},
    {"description", required_argument, NULL, O_DESC},
    {"created-by", required_argument, NULL, O_BY},
    {"expires-at", required_argument, NULL, O_EXP_AT},
    {"expires-in", required_argument, NULL, O_EXP_IN},
    {"db", required_argument, NULL, O_DB},
    {"base-url", required_argument, NULL, O_BASE},
    {"json", no_argument, NULL, O_JSON},
    {"days", required_argument, NULL, O_DAYS},
    {"active", required_argument, NULL, O_ACTIVE},
    {"limit", required_argument, NULL, O_LIMIT},
    {"utm", required_argument, NULL, O_UTM},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct args {
    const char *sub;
    char cmd[32];   /* "link <sub>", for messages */
    unsigned given; /* bit (option - O_URL) for each option on the command line */
    td_link_params p;
    bool json;
    long days, limit;
    int active;
    const char *pos;  /* the positional ID */
    const char *pos2; /* a second positional (link utm ID MODE) */
};

/* Parses on|off|default (also true/false) into a TD_UTM_* mode; -1 when unreadable. */
static int utm_mode(const char *s)
{
    bool b;

    if (strcasecmp(s, "default") == 0)
        return TD_UTM_DEFAULT;
    if (td_config_parse_bool(s, &b) != 0)
        return -1;
    return b ? TD_UTM_ON : TD_UTM_OFF;
}

/* Parses the options shared by every subcommand; which ones apply is checked by each. */
static void parse(int argc, char **argv, td_config *c, struct args *a)
{
    const char *cmd = a->cmd;
    int opt;

    while ((opt = cli_getopt(cmd, argc, argv, "h", options)) != -1) {
        if (opt >= O_URL)
            a->given |= 1u << (opt - O_URL);
        switch (opt) {
        case O_URL:
            a->p.original_url = optarg;
            break;
        case O_FUNCTION:
            a->p.link_function = optarg;
            break;
        case O_JOB:
            a->p.job_id = optarg;
            break;
        case O_APP:
            a->p.application_id = optarg;
            break;
        case O_TYPE:
            a->p.link_type = optarg;
            break;
        case O_DESC:
            a->p.description = optarg;
            break;
        case O_BY:
            a->p.created_by = optarg;
            break;
        case O_EXP_AT:
            if (td_time_parse(optarg, &a->p.expires_at) != 0)
                usage_error(cmd,
                            "--expires-at \"%s\": expected an ISO 8601 time such as "
                            "2027-01-31T00:00:00Z",
                            optarg);
            if (a->p.expires_at <= td_time_now_ms())
                usage_error(cmd, "--expires-at \"%s\" is in the past", optarg);
            break;
        case O_EXP_IN: {
            int64_t ms;
            if (td_time_parse_duration(optarg, &ms) != 0)
                usage_error(cmd, "--expires-in \"%s\": expected a duration such as 30d, 12h",
                            optarg);
            a->p.expires_at = td_time_now_ms() + ms;
            break;
        }
        case O_DB:
            cli_set_db(cmd, c, optarg);
            break;
        case O_BASE:
            if (strlen(optarg) >= sizeof c->base_url)
                usage_error(cmd, "--base-url is too long");
            snprintf(c->base_url, sizeof c->base_url, "%s", optarg);
            break;
        case O_JSON:
            a->json = true;
            break;
        case O_DAYS:
            a->days = cli_parse_long(cmd, "--days", optarg, 1, 366);
            break;
        case O_ACTIVE: {
            bool b;
            if (td_config_parse_bool(optarg, &b) != 0)
                usage_error(cmd, "--active \"%s\": expected true or false", optarg);
            a->active = b;
            break;
        }
        case O_LIMIT:
            a->limit = cli_parse_long(cmd, "--limit", optarg, 1, 1000);
            break;
        case O_UTM:
            if ((a->p.utm_tagging = utm_mode(optarg)) < 0)
                usage_error(cmd, "--utm \"%s\": expected on, off or default", optarg);
            break;
        case 'h':
            cli_help(usage);
        }
    }
    if (optind < argc)
        a->pos = argv[optind++];
    if (optind < argc && strcmp(a->sub, "utm") == 0)
        a->pos2 = argv[optind++];
    if (optind < argc)
        usage_error(cmd, "unexpected argument '%s'", argv[optind]);
}

/* Names the command-line option of a td_link_params field. */
static const char *field_option(const char *field)
{
    static const char *const map[][2] = {
        {"original_url", "--url"},        {"link_function", "--function"},
        {"job_id", "--job-id"},           {"application_id", "--application-id"},
        {"link_type", "--type"},          {"created_by", "--created-by"},
        {"description", "--description"}, {"expires_at", "--expires-at"},
    };

    for (size_t i = 0; field && i < TD_ARRAY_SIZE(map); i++)
        if (strcmp(field, map[i][0]) == 0)
            return map[i][1];
    return field ? field : "?";
}

/* Dies with the message of a failed link operation. */
static void link_fail(const char *what, int rc, td_store *st)
{
    if (rc == TD_EDB)
        die("%s: %s", what, td_store_errmsg(st));
    die("%s: %s", what, td_strerror(rc));
}

/* Makes the tracker for a link subcommand: the functions of tracked variables count too. */
static td_tracker *link_tracker(const struct args *a, const td_config *c, td_store *st)
{
    td_trackvars *vars = cli_trackvars_new(a->cmd, c, NULL);
    td_tracker *t = cli_tracker_new(a->cmd, c, st, vars);

    td_trackvars_free(vars);
    return t;
}

/* Prints the human form of a link. */
static void print_link(const td_link *l)
{
    char iso[TD_TIME_ISO_SIZE];

    printf("tracking_id     %s\n", l->tracking_id);
    printf("redirect_url    %s\n", l->redirect_url);
    printf("original_url    %s\n", l->original_url);
    printf("link_function   %s\n", l->link_function);
    printf("job_id          %s\n", *l->job_id ? l->job_id : "-");
    printf("application_id  %s\n", *l->application_id ? l->application_id : "-");
    if (*l->link_type)
        printf("link_type       %s\n", l->link_type);
    if (*l->description)
        printf("description     %s\n", l->description);
    td_time_format(l->created_at, iso);
    printf("created_at      %s%s%s\n", iso, *l->created_by ? " by " : "", l->created_by);
    if (l->expires_at) {
        td_time_format(l->expires_at, iso);
        printf("expires_at      %s\n", iso);
    }
    printf("active          %s\n", l->is_active ? "yes" : "no");
    if (l->utm_tagging != TD_UTM_DEFAULT)
        printf("utm_tagging     %s\n", l->utm_tagging == TD_UTM_ON ? "on" : "off");
}

/* link create */
static int link_create(td_config *c, struct args *a)
{
    td_store *st;
    td_tracker *tr;
    td_link l;
    const char *field = NULL;
    char by[160];
    bool created;
    int rc;

    if (!a->p.original_url)
        usage_error("link create", "--url is required");
    if (!a->p.link_function)
        usage_error("link create", "--function is required (%s)", c->link_functions);
    if (a->pos)
        usage_error("link create", "unexpected argument '%s'", a->pos);
    if (!a->p.created_by) {
        const char *user = getenv("USER");
        snprintf(by, sizeof by, "cli:%s", user && *user ? user : "unknown");
        a->p.created_by = by;
    }
    st = cli_store_open(a->cmd, c, CLI_DB_MIGRATED);
    tr = link_tracker(a, c, st);
    /* Bad input is a usage error (exit 2) that names the option; the store failing is exit 1. */
    rc = td_link_validate(tr, &a->p, &field);
    if (rc) {
        td_tracker_free(tr);
        td_store_close(st);
        usage_error("link create", "%s: %s", field_option(field), td_strerror(rc));
    }
    rc = td_link_create(tr, &a->p, &l, &created, &field);
    if (rc)
        link_fail("cannot create the link", rc, st);
    if (a->json) {
        json_t *o = td_link_json(&l);
        json_object_set_new(o, "created", json_boolean(created));
        cli_print_json(o);
    } else {
        printf("%s\n", created ? "created" : "exists (same job, application, function and URL)");
        print_link(&l);
    }
    td_tracker_free(tr);
    td_store_close(st);
    return 0;
}

/* Prints one "key: count" pair of an analytics object. */
static void print_counts(json_t *obj, const char *title)
{
    const char *k;
    json_t *v;

    printf("%s", title);
    if (json_object_size(obj) == 0)
        printf(" none");
    json_object_foreach(obj, k, v)
    {
        printf(" %s=%" JSON_INTEGER_FORMAT, k, json_integer_value(v));
    }
    printf("\n");
}

/* link show ID */
static int link_show(td_config *c, struct args *a)
{
    td_store *st;
    td_tracker *tr;
    td_link l;
    json_t *rep = NULL, *cs, *day;
    size_t i;
    int rc;

    if (!a->pos)
        usage_error("link show", "give the tracking id: trackdoc link show ID");
    st = cli_store_open(a->cmd, c, CLI_DB_MIGRATED);
    tr = link_tracker(a, c, st);
    rc = td_link_get(tr, a->pos, &l);
    if (rc == TD_ENOTFOUND)
        die("no link has the tracking id \"%s\"", a->pos);
    if (rc)
        link_fail("cannot read the link", rc, st);
    {
        td_report_opts ro = {.days = (int)a->days}; /* human clicks, as trackdoc stats */
        rc = td_report_link(st, &l, &ro, &rep);
    }
    if (rc)
        link_fail("cannot read the clicks", rc, st);
    if (a->json) {
        cli_print_json(rep);
    } else {
        print_link(&l);
        cs = json_object_get(rep, "click_statistics");
        printf("\nclicks          %" JSON_INTEGER_FORMAT
               " (human clicks; HEAD requests: %" JSON_INTEGER_FORMAT ")\n",
               json_integer_value(json_object_get(cs, "total_clicks")),
               json_integer_value(json_object_get(cs, "head_requests")));
        print_counts(json_object_get(cs, "by_class"), "by class       ");
        printf("first click     %s\n", json_string_value(json_object_get(cs, "first_click"))
                                           ? json_string_value(json_object_get(cs, "first_click"))
                                           : "-");
        printf("last click      %s\n", json_string_value(json_object_get(cs, "last_click"))
                                           ? json_string_value(json_object_get(cs, "last_click"))
                                           : "-");
        print_counts(json_object_get(cs, "by_source"), "by source      ");
        printf("per day (UTC, days with clicks):\n");
        json_array_foreach(json_object_get(rep, "click_timeline"), i, day)
        {
            json_int_t n = json_integer_value(json_object_get(day, "clicks"));
            if (n)
                printf("  %s  %" JSON_INTEGER_FORMAT "\n",
                       json_string_value(json_object_get(day, "date")), n);
        }
        json_decref(rep);
    }
    td_tracker_free(tr);
    td_store_close(st);
    return 0;
}

struct list_out {
    bool json;
    json_t *arr;
    int n;
};

/* Prints or collects one listed link. */
static int list_one(void *ud, const td_link *l)
{
    struct list_out *o = ud;
    char iso[TD_TIME_ISO_SIZE];

    o->n++;
    if (o->json)
        return json_array_append_new(o->arr, td_link_json(l)) ? TD_ENOMEM : 0;
    td_time_format(l->created_at, iso);
    iso[16] = '\0';
    iso[10] = ' ';
    printf("%-34s %-10s %-3s %-16s %-36s %s\n", l->tracking_id, l->link_function,
           l->is_active ? "yes" : "no", iso, *l->job_id ? l->job_id : "-", l->original_url);
    return 0;
}

/* link list */
static int link_list(td_config *c, struct args *a)
{
    char job[TD_UUID_SIZE], app[TD_UUID_SIZE];
    td_link_filter f = {.active = a->active, .limit = (int)(a->limit ? a->limit : 50)};
    struct list_out o = {.json = a->json};
    td_store *st;
    td_tracker *tr;
    int rc;

    if (a->pos)
        usage_error("link list", "unexpected argument '%s'", a->pos);
    if (a->p.job_id && td_uuid_normalize(a->p.job_id, job) != 0)
        usage_error("link list", "--job-id \"%s\": not a UUID", a->p.job_id);
    if (a->p.application_id && td_uuid_normalize(a->p.application_id, app) != 0)
        usage_error("link list", "--application-id \"%s\": not a UUID", a->p.application_id);
    f.job_id = a->p.job_id ? job : NULL;
    f.application_id = a->p.application_id ? app : NULL;
    st = cli_store_open(a->cmd, c, CLI_DB_MIGRATED);
    tr = link_tracker(a, c, st);
    if (a->p.link_function && !(f.link_function = td_tracker_function(tr, a->p.link_function)))
        usage_error("link list", "--function \"%s\": not one of %s", a->p.link_function,
                    c->link_functions);
    if (o.json && !(o.arr = json_array()))
        die("out of memory");
    if (!o.json)
        printf("%-34s %-10s %-3s %-16s %-36s %s\n", "TRACKING_ID", "FUNCTION", "ON",
               "CREATED (UTC)", "JOB_ID", "ORIGINAL_URL");
    rc = td_store_link_list(st, &f, list_one, &o);
    if (rc)
        link_fail("cannot list links", rc, st);
    if (o.json)
        cli_print_json(o.arr);
    else if (o.n == 0)
        printf("(no links)\n");
    td_tracker_free(tr);
    td_store_close(st);
    return 0;
}

/* link activate|deactivate ID */
static int link_set_active(td_config *c, struct args *a, bool active)
{
    td_store *st;
    td_tracker *tr;
    int rc;

    if (!a->pos)
        usage_error(active ? "link activate" : "link deactivate", "give the tracking id");
    st = cli_store_open(a->cmd, c, CLI_DB_MIGRATED);
    tr = link_tracker(a, c, st);
    rc = td_link_set_active(tr, a->pos, active);
    if (rc == TD_ENOTFOUND)
        die("no link has the tracking id \"%s\"", a->pos);
    if (rc)
        link_fail("cannot change the link", rc, st);
    if (a->json)
        cli_print_json(json_pack("{s:s, s:b}", "tracking_id", a->pos, "is_active", active));
    else
        printf("%s %s\n", a->pos, active ? "activated" : "deactivated (now answers 410)");
    td_tracker_free(tr);
    td_store_close(st);
    return 0;
}

/* link utm ID on|off|default */
static int link_set_utm(td_config *c, struct args *a)
{
    static const char *const said[] = {
        [TD_UTM_DEFAULT] = "as the server decides", [TD_UTM_ON] = "on", [TD_UTM_OFF] = "off"};
    td_store *st;
    td_tracker *tr;
    int mode, rc;

    if (!a->pos || !a->pos2)
        usage_error("link utm", "give the tracking id and on, off or default");
    if ((mode = utm_mode(a->pos2)) < 0)
        usage_error("link utm", "\"%s\": expected on, off or default", a->pos2);
    st = cli_store_open(a->cmd, c, CLI_DB_MIGRATED);
    tr = link_tracker(a, c, st);
    rc = td_link_set_utm(tr, a->pos, mode);
    if (rc == TD_ENOTFOUND)
        die("no link has the tracking id \"%s\"", a->pos);
    if (rc)
        link_fail("cannot change the link", rc, st);
    if (a->json)
        cli_print_json(json_pack("{s:s, s:o}", "tracking_id", a->pos, "utm_tagging",
                                 mode == TD_UTM_ON    ? json_true()
                                 : mode == TD_UTM_OFF ? json_false()
                                                      : json_null()));
    else
        printf("%s: utm parameters %s\n", a->pos, said[mode]);
    td_tracker_free(tr);
    td_store_close(st);
    return 0;
}

/* Refuses options that the subcommand does not use (allowed: a mask of option bits). */
static void check_options(const struct args *a, unsigned allowed)
{
    for (const struct option *o = options; o->name; o++) {
        if (o->val >= O_URL && (a->given & (1u << (o->val - O_URL))) &&
            !(allowed & (1u << (o->val - O_URL))))
            usage_error(a->cmd, "option --%s does not apply to %s", o->name, a->cmd);
    }
}

#define BIT(o) (1u << ((o)-O_URL))

/* Dispatches link subcommands. */
int cmd_link(int argc, char **argv)
{
    static const struct {
        const char *name;
        unsigned allowed;
    } subs[] = {
        {"create", BIT(O_URL) | BIT(O_FUNCTION) | BIT(O_JOB) | BIT(O_APP) | BIT(O_TYPE) |
                       BIT(O_DESC) | BIT(O_BY) | BIT(O_EXP_AT) | BIT(O_EXP_IN) | BIT(O_BASE) |
                       BIT(O_UTM)},
        {"show", BIT(O_DAYS) | BIT(O_BASE)},
        {"list",
         BIT(O_JOB) | BIT(O_APP) | BIT(O_FUNCTION) | BIT(O_ACTIVE) | BIT(O_LIMIT) | BIT(O_BASE)},
        {"deactivate", 0},
        {"activate", 0},
        {"utm", 0},
    };
    struct args a = {.active = -1};
    unsigned allowed = 0;
    bool known = false;
    td_config c;

    if (argc < 2)
        usage_error("link", "give a subcommand: create, show, list, deactivate, activate or utm");
    a.sub = argv[1];
    if (strcmp(a.sub, "--help") == 0 || strcmp(a.sub, "-h") == 0)
        cli_help(usage);
    for (size_t i = 0; i < TD_ARRAY_SIZE(subs); i++) {
        if (strcmp(a.sub, subs[i].name) == 0) {
            known = true;
            allowed = subs[i].allowed | BIT(O_DB) | BIT(O_JSON);
        }
    }
    if (!known)
        usage_error("link", "unknown subcommand '%s'", a.sub);
    snprintf(a.cmd, sizeof a.cmd, "link %s", a.sub);
    cli_config_load(a.cmd, &c);
    parse(argc - 1, argv + 1, &c, &a);
    check_options(&a, allowed);
    if (strcmp(a.sub, "create") == 0)
        return link_create(&c, &a);
    if (strcmp(a.sub, "show") == 0)
        return link_show(&c, &a);
    if (strcmp(a.sub, "list") == 0)
        return link_list(&c, &a);
    if (strcmp(a.sub, "deactivate") == 0)
        return link_set_active(&c, &a, false);
    if (strcmp(a.sub, "activate") == 0)
        return link_set_active(&c, &a, true);
    if (strcmp(a.sub, "utm") == 0)
        return link_set_utm(&c, &a);
    usage_error("link", "unknown subcommand '%s'", a.sub);
}
