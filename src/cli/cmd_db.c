/* trackdoc db migrate|status|copy */
#include "cli/cli.h"

#include <signal.h>

#include "trackdoc/dbcopy.h"

static const char usage[] =
    "usage: trackdoc db <subcommand> [--db URL]\n"
    "       trackdoc db copy --from sqlite:PATH --to postgres://... [--batch N]\n"
    "\n"
    "  migrate   applies pending schema migrations (other commands also do it on open)\n"
    "  status    shows the schema version of the database and of this program\n"
    "  copy      copies every table of a SQLite database into PostgreSQL; run it again after\n"
    "            an interruption to go on where it stopped; the row counts of both sides are\n"
    "            compared at the end (exit 1 when they differ). A progress bar goes to\n"
    "            standard error on a terminal. --batch: rows per transaction (default 1000)\n";

static const struct option copy_options[] = {
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'},
    {"batch", required_argument, NULL, 'b'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Set by SIGINT or SIGTERM: the copy stops after the batch in progress. */
static volatile sig_atomic_t copy_stop;

/* Asks the copy to stop. */
static void on_stop(int sig)
{
    TD_UNUSED(sig);
    copy_stop = 1;
}

/* What the copy's callbacks share. */
struct copy_ui {
    bool tty;   /* draw a progress bar on standard error */
    bool first; /* the summary's heading is still to print */
};

/* Draws the progress bar on a terminal; stops the copy when asked to. */
static int copy_progress(void *ud, const td_db_copy_progress *p)
{
    enum { WIDTH = 30 };
    const struct copy_ui *ui = ud;
    char line[WIDTH + 1];
    int64_t fill = p->all_total ? TD_MIN(p->all_done * WIDTH / p->all_total, WIDTH) : WIDTH;

    if (ui->tty) {
        memset(line, '#', (size_t)fill);
        memset(line + fill, '.', (size_t)(WIDTH - fill));
        line[WIDTH] = '\0';
        fprintf(stderr, "\r\033[K[%s] %3d%%  %s %" PRId64 "/%" PRId64, line,
                (int)(p->all_total ? TD_MIN(p->all_done * 100 / p->all_total, 100) : 100), p->table,
                p->done, p->total);
        fflush(stderr);
    }
    return copy_stop ? TD_ECLOSED : 0;
}

/* Prints one table's counts (after clearing the bar). */
static int copy_table_line(void *ud, const td_db_copy_table *t)
{
    struct copy_ui *ui = ud;

    if (ui->first) {
        if (ui->tty)
            fputs("\r\033[K", stderr);
        printf("%-24s %12s %12s %12s\n", "TABLE", "SOURCE", "DESTINATION", "COPIED NOW");
        ui->first = false;
    }
    printf("%-24s %12" PRId64 " %12" PRId64 " %12" PRId64 "%s\n", t->table, t->source, t->dest,
           t->inserted, t->source == t->dest ? "" : "  differs");
    return 0;
}

/* trackdoc db copy --from --to: the copy, its bar, its summary and its exit code. */
static int db_copy(int argc, char **argv)
{
    const char *from = NULL, *to = NULL;
    struct copy_ui ui = {.first = true};
    td_db_copy_opts o = {
        .batch = 1000, .progress = copy_progress, .table = copy_table_line, .ud = &ui};
    struct sigaction sa;
    char err[1024];
    td_config c;
    int opt, rc;

    cli_config_load("db copy", &c);
    while ((opt = cli_getopt("db copy", argc, argv, "h", copy_options)) != -1) {
        if (opt == 'h')
            cli_help(usage);
        if (opt == 'f')
            from = optarg;
        else if (opt == 't')
            to = optarg;
        else if (opt == 'b')
            o.batch = (int)cli_parse_long("db copy", "--batch", optarg, 1, 10000);
    }
    if (optind < argc)
        usage_error("db copy", "unexpected argument '%s'", argv[optind]);
    if (!from || !*from)
        usage_error("db copy", "give the SQLite database to copy: --from sqlite:PATH");
    if (!to || !*to)
        usage_error("db copy", "give the PostgreSQL database to fill: --to postgres://...");
    ui.tty = isatty(STDERR_FILENO) && !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = td_db_copy(from, to, &o, err, sizeof err);
    if (ui.tty && ui.first)
        fputs("\r\033[K", stderr);
    if (rc == TD_ECLOSED)
        die("stopped before the end: run the same command again to go on from there");
    if (rc == TD_EINVAL)
        usage_error("db copy", "%s", err);
    if (rc)
        die("%s", err);
    printf("copy verified: every table has as many rows in the destination as in the source\n");
    return 0;
}

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
        usage_error("db", "give a subcommand: migrate, status or copy");
    sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
        cli_help(usage);
    snprintf(cmd, sizeof cmd, "db %s", sub);
    if (strcmp(sub, "copy") == 0)
        return db_copy(argc - 1, argv + 1);
    if (strcmp(sub, "migrate") != 0 && strcmp(sub, "status") != 0)
        usage_error("db", "unknown subcommand '%s'", sub);
    cli_config_load(cmd, &c);
    argc--;
    argv++;
    while ((opt = cli_getopt(cmd, argc, argv, "h", options)) != -1) {
        if (opt == 'h')
            cli_help(usage);
        cli_set_db(cmd, &c, optarg);
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
