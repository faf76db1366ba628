/* trackdoc profile set|get|list|delete: the candidate profiles that fill the name, contact
 * details and links of generated documents (the same table as /api/candidates). */
#include "cli/cli.h"

#include "core/id.h"
#include "core/time.h"
#include "trackdoc/profile.h"

static const char usage[] =
    "usage: trackdoc profile <subcommand> [options]\n"
    "\n"
    "  set USER_ID [--first-name X] [--last-name X] [--email X] [--phone X] [--address X]\n"
    "      [--calendly-url URL] [--linkedin-url URL] [--portfolio-url URL]\n"
    "                      creates the profile of USER_ID (a UUID) or changes the fields given;\n"
    "                      an empty value clears a field\n"
    "  get USER_ID         prints a profile\n"
    "  list [--limit N] [--after USER_ID]\n"
    "                      profiles ordered by user id (N from 1 to 1000, default 50), after\n"
    "                      USER_ID when given\n"
    "  delete USER_ID      deletes a profile\n"
    "\n"
    "Every subcommand takes --db URL (TRACKDOC_DB) and --json. The URLs must be absolute\n"
    "http or https URLs; the e-mail address is checked too.\n";

enum {
    O_FIRST = 256,
    O_LAST,
    O_EMAIL,
    O_PHONE,
    O_ADDRESS,
    O_CALENDLY,
    O_LINKEDIN,
    O_PORTFOLIO,
    O_LIMIT,
    O_AFTER,
    O_DB,
    O_JSON,
};

static const struct option options[] = {
    {"first-name", required_argument, NULL, O_FIRST},
    {"last-name", required_argument, NULL, O_LAST},
    {"email", required_argument, NULL, O_EMAIL},
    {"phone", required_argument, NULL, O_PHONE},
    {"address", required_argument, NULL, O_ADDRESS},
    {"calendly-url", required_argument, NULL, O_CALENDLY},
    {"linkedin-url", required_argument, NULL, O_LINKEDIN},
    {"portfolio-url", required_argument, NULL, O_PORTFOLIO},
    {"limit", required_argument, NULL, O_LIMIT},
    {"after", required_argument, NULL, O_AFTER},
    {"db", required_argument, NULL, O_DB},
    {"json", no_argument, NULL, O_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The profile field each field option sets, in option order (O_FIRST..O_PORTFOLIO). */
static const char *const field_of[] = {
    "first_name",      "last_name",    "email",        "phone_number",
    "mailing_address", "calendly_url", "linkedin_url", "portfolio_url",
};

#define NFIELDS TD_ARRAY_SIZE(field_of)
#define BIT(o) (1u << ((o)-O_FIRST))

struct args {
    char cmd[32];   /* "profile <sub>", for messages */
    unsigned given; /* BIT(option) for each option on the command line */
    const char *value[NFIELDS];
    const char *after;
    long limit;
    bool json;
    const char *pos; /* the positional USER_ID */
};

/* Parses the options of every subcommand; which ones apply is checked afterwards. */
static void parse(int argc, char **argv, td_config *c, struct args *a)
{
    int opt;

    while ((opt = cli_getopt(a->cmd, argc, argv, "h", options)) != -1) {
        if (opt >= O_FIRST)
            a->given |= BIT(opt);
        if (opt >= O_FIRST && opt < O_FIRST + (int)NFIELDS) {
            a->value[opt - O_FIRST] = optarg;
            continue;
        }
        switch (opt) {
        case O_LIMIT:
            a->limit = cli_parse_long(a->cmd, "--limit", optarg, 1, 1000);
            break;
        case O_AFTER:
            a->after = optarg;
            break;
        case O_DB:
            cli_set_db(a->cmd, c, optarg);
            break;
        case O_JSON:
            a->json = true;
            break;
        case 'h':
            cli_help(usage);
        }
    }
    if (optind < argc)
        a->pos = argv[optind++];
    if (optind < argc)
        usage_error(a->cmd, "unexpected argument '%s'", argv[optind]);
}

/* Refuses options that the subcommand does not use (allowed: a mask of option bits). */
static void check_options(const struct args *a, unsigned allowed)
{
    for (const struct option *o = options; o->name; o++) {
        if (o->val >= O_FIRST && (a->given & BIT(o->val)) && !(allowed & BIT(o->val)))
            usage_error(a->cmd, "option --%s does not apply to %s", o->name, a->cmd);
    }
}

/* Reads the USER_ID argument into id (lower case), or exits 2. */
static void user_arg(const struct args *a, char id[TD_UUID_SIZE])
{
    if (!a->pos)
        usage_error(a->cmd, "give the user id: trackdoc %s USER_ID", a->cmd);
    if (td_uuid_normalize(a->pos, id) != 0)
        usage_error(a->cmd, "USER_ID \"%s\": not a UUID", a->pos);
}

/* Dies with the message of a failed store call. */
static void store_fail(const char *what, int rc, td_store *st)
{
    if (rc == TD_EDB)
        die("%s: %s", what, td_store_errmsg(st));
    die("%s: %s", what, td_strerror(rc));
}

/* Prints the human form of a profile. */
static void print_profile(const td_profile *p)
{
    const struct {
        const char *label, *value;
    } rows[] = {
        {"first_name", p->first_name},
        {"last_name", p->last_name},
        {"email", p->email},
        {"phone_number", p->phone_number},
        {"calendly_url", p->calendly_url},
        {"linkedin_url", p->linkedin_url},
        {"portfolio_url", p->portfolio_url},
    };
    char iso[TD_TIME_ISO_SIZE];

    printf("user_id          %s\n", p->user_id);
    for (size_t i = 0; i < TD_ARRAY_SIZE(rows); i++)
        printf("%-16s %s\n", rows[i].label, *rows[i].value ? rows[i].value : "-");
    /* an address may hold several lines: indent the following ones under the first */
    printf("mailing_address  ");
    if (!*p->mailing_address)
        printf("-");
    for (const char *s = p->mailing_address; *s; s++) {
        if (*s == '\r')
            continue;
        putchar(*s);
        if (*s == '\n')
            printf("%17s", "");
    }
    printf("\n");
    td_time_format(p->created_at, iso);
    printf("created_at       %s\n", iso);
    td_time_format(p->updated_at, iso);
    printf("updated_at       %s\n", iso);
}

/* Prints a profile as asked (JSON or text). */
static void show(const struct args *a, const td_profile *p)
{
    if (a->json)
        cli_print_json(td_profile_json(p));
    else
        print_profile(p);
}

/* Exits 2 with the failure of a field option: "--email \"x\": must be an e-mail address...". */
__attribute__((noreturn)) static void bad_field(const struct args *a, const td_profile_error *e)
{
    const char *msg = e->message;
    size_t n = strlen(e->field);

    if (n && strncmp(msg, e->field, n) == 0) /* the message starts with the pointer: drop it */
        for (msg += n; *msg == ':' || *msg == ' ';)
            msg++;
    for (size_t i = 0; i < NFIELDS; i++)
        if (e->field[0] == '/' && strcmp(e->field + 1, field_of[i]) == 0)
            usage_error(a->cmd, "--%s \"%s\": %s", options[i].name, a->value[i], msg);
    usage_error(a->cmd, "%s", e->message);
}

/* profile set USER_ID [field options] */
static int profile_set(td_config *c, struct args *a)
{
    char id[TD_UUID_SIZE];
    td_profile_error e;
    td_profile p = {0};
    json_t *obj = json_object();
    td_store *st;
    bool created;
    int rc;

    user_arg(a, id);
    if (!obj)
        die("out of memory");
    for (size_t i = 0; i < NFIELDS; i++) {
        json_t *v;
        if (!a->value[i])
            continue;
        if (!(v = json_string(a->value[i]))) {
            json_decref(obj);
            usage_error(a->cmd, "--%s: not valid UTF-8 text", options[i].name);
        }
        json_object_set_new(obj, field_of[i], v);
    }
    /* Check the values before the database is opened: bad input is exit 2 wherever it is. */
    if (td_profile_check(obj, true, &p, &e) != 0) {
        json_decref(obj);
        bad_field(a, &e);
    }
    st = cli_store_open(a->cmd, c, CLI_DB_MIGRATED);
    rc = td_store_profile_get(st, id, &p);
    if (rc && rc != TD_ENOTFOUND)
        store_fail("cannot read the profile", rc, st);
    if (rc == TD_ENOTFOUND) {
        memset(&p, 0, sizeof p);
        snprintf(p.user_id, sizeof p.user_id, "%s", id);
    }
    if (td_profile_check(obj, true, &p, &e) != 0) /* checked above: cannot fail now */
        die("%s", e.message);
    json_decref(obj);
    p.updated_at = td_time_now_ms();
    if (!p.created_at)
        p.created_at = p.updated_at;
    rc = td_store_profile_put(st, &p, &created);
    if (rc)
        store_fail("cannot store the profile", rc, st);
    if (!a->json)
        printf("%s\n", created ? "created" : "updated");
    show(a, &p);
    td_store_close(st);
    return 0;
}

/* profile get USER_ID */
static int profile_get(td_config *c, struct args *a)
{
    char id[TD_UUID_SIZE];
    td_profile p;
    td_store *st;
    int rc;

    user_arg(a, id);
    st = cli_store_open(a->cmd, c, CLI_DB_MIGRATED);
    rc = td_store_profile_get(st, id, &p);
    if (rc == TD_ENOTFOUND)
        die("no profile for user id %s", id);
    if (rc)
        store_fail("cannot read the profile", rc, st);
    show(a, &p);
    td_store_close(st);
    return 0;
}

struct list_out {
    bool json;
    json_t *arr;
    int n;
};

/* Prints or collects one listed profile. */
static int list_one(void *ud, const td_profile *p)
{
    struct list_out *o = ud;
    char name[sizeof p->first_name + sizeof p->last_name];

    o->n++;
    if (o->json)
        return json_array_append_new(o->arr, td_profile_json(p)) ? TD_ENOMEM : 0;
    snprintf(name, sizeof name, "%s%s%s", p->first_name, *p->first_name && *p->last_name ? " " : "",
             p->last_name);
    printf("%-36s  %-30s  %s\n", p->user_id, *name ? name : "-", *p->email ? p->email : "-");
    return 0;
}

/* profile list [--limit N] [--after USER_ID] */
static int profile_list(td_config *c, struct args *a)
{
    struct list_out o = {.json = a->json};
    char after[TD_UUID_SIZE] = "";
    td_store *st;
    int rc;

    if (a->pos)
        usage_error(a->cmd, "unexpected argument '%s'", a->pos);
    if (a->after && td_uuid_normalize(a->after, after) != 0)
        usage_error(a->cmd, "--after \"%s\": not a UUID", a->after);
    st = cli_store_open(a->cmd, c, CLI_DB_MIGRATED);
    if (o.json && !(o.arr = json_array()))
        die("out of memory");
    if (!o.json)
        printf("%-36s  %-30s  %s\n", "USER_ID", "NAME", "EMAIL");
    rc = td_store_profile_list(st, after, (int)(a->limit ? a->limit : 50), list_one, &o);
    if (rc)
        store_fail("cannot list the profiles", rc, st);
    if (o.json)
        cli_print_json(o.arr);
    else if (o.n == 0)
        printf("(no profiles)\n");
    td_store_close(st);
    return 0;
}

/* profile delete USER_ID */
static int profile_delete(td_config *c, struct args *a)
{
    char id[TD_UUID_SIZE];
    td_store *st;
    int rc;

    user_arg(a, id);
    st = cli_store_open(a->cmd, c, CLI_DB_MIGRATED);
    rc = td_store_profile_delete(st, id);
    if (rc == TD_ENOTFOUND)
        die("no profile for user id %s", id);
    if (rc)
        store_fail("cannot delete the profile", rc, st);
    if (a->json)
        cli_print_json(json_pack("{s:s, s:b}", "user_id", id, "deleted", 1));
    else
        printf("deleted the profile of %s\n", id);
    td_store_close(st);
    return 0;
}

/* Dispatches profile subcommands. */
int cmd_profile(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(td_config *c, struct args *a);
        unsigned allowed;
    } subs[] = {
        {"set", profile_set,
         BIT(O_FIRST) | BIT(O_LAST) | BIT(O_EMAIL) | BIT(O_PHONE) | BIT(O_ADDRESS) |
             BIT(O_CALENDLY) | BIT(O_LINKEDIN) | BIT(O_PORTFOLIO)},
        {"get", profile_get, 0},
        {"list", profile_list, BIT(O_LIMIT) | BIT(O_AFTER)},
        {"delete", profile_delete, 0},
    };
    struct args a = {0};
    td_config c;

    if (argc < 2)
        usage_error("profile", "give a subcommand: set, get, list or delete");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        cli_help(usage);
    for (size_t i = 0; i < TD_ARRAY_SIZE(subs); i++) {
        if (strcmp(argv[1], subs[i].name) != 0)
            continue;
        snprintf(a.cmd, sizeof a.cmd, "profile %s", subs[i].name);
        cli_config_load(a.cmd, &c);
        parse(argc - 1, argv + 1, &c, &a);
        check_options(&a, subs[i].allowed | BIT(O_DB) | BIT(O_JSON));
        return subs[i].fn(&c, &a);
    }
    usage_error("profile", "unknown subcommand '%s'", argv[1]);
}
