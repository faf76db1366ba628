/* trackdoc: the command line. Dispatches to one cmd_<name>.c per subcommand from one table. */
#include "cli/cli.h"

#include <signal.h>

#include "core/log.h"

static const struct cli_cmd commands[] = {
    {"serve", cmd_serve, "run the HTTP server: redirects, link API, health"},
    {"link", cmd_link, "create, show, list, deactivate and activate tracked links"},
    {"apikey", cmd_apikey, "create, list and revoke API keys for /api"},
    {"render", cmd_render, "fill a Mustache template from JSON; links tracked for a job"},
    {"template", cmd_template, "turn a .docx into a template (CSV mapping); check a .docx"},
    {"generate", cmd_generate, "one tracked document per row of a jobs CSV, into a folder"},
    {"profile", cmd_profile, "set, show, list and delete candidate profiles"},
    {"db", cmd_db, "migrate the database and show its schema version"},
    {"classify", cmd_classify, "tell people from bots, previews and scanners by user agent"},
    {"stats", cmd_stats, "click analytics: every link, one link, a job or an application"},
    {"privacy", cmd_privacy, "purge clicks recorded before a date"},
    {"version", cmd_version, "print the version"},
};

/* Prints the overview. */
static void print_usage(FILE *f)
{
    fprintf(f, "usage: trackdoc <command> [options]\n\n"
               "Tracked links for job applications: documents whose links tell you which\n"
               "application got a recruiter to click.\n\ncommands:\n");
    for (size_t i = 0; i < TD_ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nEvery command takes --help; those that use the database take --db PATH (or\n"
               "TRACKDOC_DB).\n"
               "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

/* Writes library log messages to stderr. */
static void log_stderr(void *ud, int level, const char *msg)
{
    char line[1200];
    int n = snprintf(line, sizeof line, "trackdoc: %s: %s\n", td_log_level_name(level), msg);

    /* One write per line keeps lines from different threads whole. */
    if (n > 0 && write(STDERR_FILENO, line, (size_t)TD_MIN(n, (int)sizeof line - 1)) < 0)
        return;
}

/* Entry point. */
int main(int argc, char **argv)
{
    const char *name;
    const char *lvl = getenv("TRACKDOC_LOG_LEVEL");
    int level = TD_LOG_INFO;

    signal(SIGPIPE, SIG_IGN);
    if (lvl && *lvl)
        td_config_parse_log_level(lvl, &level);
    td_log_set_handler(log_stderr, NULL, level);
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < TD_ARRAY_SIZE(commands); i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "trackdoc: unknown command '%s'\n\n", name);
    print_usage(stderr);
    return 2;
}

/* Prints the version. */
int cmd_version(int argc, char **argv)
{
    TD_UNUSED(argc);
    TD_UNUSED(argv);
    printf("trackdoc %s\n", TD_VERSION);
    return 0;
}
