/* trackdoc privacy purge: deletes the clicks recorded before a date (their addresses, user agents
 * and visitor hashes with them); links, documents and profiles stay. */
#include "cli/cli.h"

#include "core/time.h"

static const char usage[] =
    "usage: trackdoc privacy purge --before DATE [--dry-run] [--force] [--json] [--db URL]\n"
    "\n"
    "  purge    deletes every click recorded before DATE, and prints how many\n"
    "\n"
    "  --before DATE  YYYY-MM-DD (midnight UTC) or an ISO 8601 time such as\n"
    "                 2026-06-01T12:00:00Z; clicks at that time and later are kept\n"
    "  --dry-run      count the clicks that would go; delete nothing\n"
    "  --force        allow a DATE in the future (which deletes every click up to then)\n"
    "  --json         print {\"before\", \"dry_run\", \"clicks\"}\n"
    "  --db URL       the database (TRACKDOC_DB, default var/trackdoc.db); it must exist\n"
    "\n"
    "Analytics follow at once: their daily counts lose the purged clicks too. A purge runs\n"
    "in batches, so a running server keeps recording clicks meanwhile.\n";

enum { O_BEFORE = 256, O_DRY, O_FORCE, O_JSON, O_DB };

static const struct option options[] = {
    {"before", required_argument, NULL, O_BEFORE},
    {"dry-run", no_argument, NULL, O_DRY},
    {"force", no_argument, NULL, O_FORCE},
    {"json", no_argument, NULL, O_JSON},
    {"db", required_argument, NULL, O_DB},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Adds up the clicks of an ungrouped count. */
static int take_count(void *ud, const td_click_row *row)
{
    *(int64_t *)ud += row->clicks;
    return 0;
}

/* trackdoc privacy purge */
static int purge(int argc, char **argv)
{
    const char *cmd = "privacy purge", *before_arg = NULL;
    bool dry = false, force = false, json = false;
    int64_t before = 0, n = 0;
    char iso[TD_TIME_ISO_SIZE];
    td_config c;
    td_store *st;
    int opt, rc;

    cli_config_load(cmd, &c);
    while ((opt = cli_getopt(cmd, argc, argv, "h", options)) != -1) {
        switch (opt) {
        case O_BEFORE:
            before_arg = optarg;
            if (td_time_parse(optarg, &before) != 0)
                usage_error(cmd,
                            "--before \"%s\": expected a date YYYY-MM-DD or an ISO 8601 time "
                            "such as 2026-06-01T12:00:00Z",
                            optarg);
            break;
        case O_DRY:
            dry = true;
            break;
        case O_FORCE:
            force = true;
            break;
        case O_JSON:
            json = true;
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
    if (!before_arg)
        usage_error(cmd, "--before DATE is required: the clicks before it are deleted");
    if (before > td_time_now_ms() && !force)
        usage_error(cmd,
                    "--before %s is in the future: every click recorded until then would go; "
                    "add --force if you mean it",
                    before_arg);
    td_time_format(before, iso);
    st = cli_store_open(cmd, &c, CLI_DB_EXISTING);
    if (before <= 0) /* no click is that old */
        rc = 0;
    else if (dry) {
        td_click_filter f = {.until = before, .include_head = true};
        rc = td_store_click_groups(st, &f, TD_GROUP_ALL, take_count, &n);
    } else {
        rc = td_store_click_purge(st, before, &n);
    }
    if (rc)
        die("cannot %s the clicks: %s", dry ? "count" : "delete",
            rc == TD_EDB ? td_store_errmsg(st) : td_strerror(rc));
    if (json)
        cli_print_json(
            json_pack("{s:s, s:b, s:I}", "before", iso, "dry_run", dry, "clicks", (json_int_t)n));
    else if (dry)
        printf("would delete %lld click%s recorded before %s (dry run: nothing deleted)\n",
               (long long)n, n == 1 ? "" : "s", iso);
    else
        printf("deleted %lld click%s recorded before %s\n", (long long)n, n == 1 ? "" : "s", iso);
    td_store_close(st);
    return 0;
}

/* Dispatches privacy subcommands. */
int cmd_privacy(int argc, char **argv)
{
    if (argc < 2)
        usage_error("privacy", "give a subcommand: purge");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        cli_help(usage);
    if (strcmp(argv[1], "purge") != 0)
        usage_error("privacy", "unknown subcommand '%s'", argv[1]);
    return purge(argc - 1, argv + 1);
}
