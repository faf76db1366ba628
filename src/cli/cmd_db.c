/* trackdoc db migrate|status */
#include "cli/cli.h"

static const char usage[] =
    "usage: trackdoc db <subcommand> [--db URL]\n"
    "\n"
    "  migrate   applies pending schema migrations (other commands also do it on open)\n"
    "  status    shows the schema version of the database and of this program\n";

static const struct option options[] = {
    {"db", required_argument, NULL, 'd'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Dispatches db subcommands. */
int cmd_db(int argc, char **argv)
{
    const char *sub;
    char cmd[32];
    td_config c;
    td_store *st;
    int opt, applied = 0, dbv = 0, known = 0;

    if (argc < 2)
        usage_error("db", "give a subcommand: migrate or status");
    sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
        cli_help(usage);
    snprintf(cmd, sizeof cmd, "db %s", sub);
    if (strcmp(sub, "migrate") != 0 && strcmp(sub, "status") != 0)
        usage_error("db", "unknown subcommand '%s'", sub);
    cli_config_load(cmd, &c);
    argc--;
    argv++;
    while ((opt = cli_getopt(cmd, argc, argv, "h", options)) != -1) {
        if (opt == 'h')
            cli_help(usage);
        if (strlen(optarg) >= sizeof c.db)
            usage_error(cmd, "--db is too long");
        snprintf(c.db, sizeof c.db, "%s", optarg);
    }
    if (optind < argc)
        usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    /* status reads what is there; migrate creates the database when it is missing. */
    st = cli_store_open(cmd, &c, strcmp(sub, "status") == 0 ? CLI_DB_EXISTING : CLI_DB_RAW);
    if (strcmp(sub, "migrate") == 0) {
        if (td_store_migrate(st, &applied) != 0)
            die("migration failed: %s", td_store_errmsg(st));
    }
    if (td_store_schema_version(st, &dbv, &known) != 0)
        die("cannot read the schema version: %s", td_store_errmsg(st));
    if (strcmp(sub, "migrate") == 0)
        printf("%s: %d migration%s applied; schema version %d\n", c.db, applied,
               applied == 1 ? "" : "s", dbv);
    else
        printf("%s (%s): schema version %d, this trackdoc knows %d%s\n", c.db, td_store_backend(st),
               dbv, known, dbv < known ? " (run 'trackdoc db migrate')" : "");
    td_store_close(st);
    return 0;
}
