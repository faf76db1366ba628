/* trackdoc classify: judges user agents as the redirect does from the user agent alone, one per
 * line of standard input (or the arguments), and prints "class<TAB>reason" for each. */
#include "cli/cli.h"

#include "trackdoc/classify.h"

#define UA_LINE_MAX 8192 /* bytes of a line that are kept; the rest of a longer line is skipped */

static const char usage[] =
    "usage: trackdoc classify [USER-AGENT...]\n"
    "\n"
    "Judges user agents as a redirect does from the user agent alone and prints\n"
    "\"class<TAB>reason\" for each, in order. Without arguments, reads one user agent per\n"
    "line of standard input; a line longer than 8192 bytes is judged by its first 8192.\n"
    "\n"
    "  class    human, bot, preview (link unfurlers of chat and social apps) or\n"
    "           scanner (mail security and office link checks)\n"
    "  reason   ua:<pattern> (the entry of the lists that matched), no-user-agent\n"
    "           (an empty line) or browser\n"
    "\n"
    "The signals of a request (HEAD, bursts, too-soon, Accept-Language) are not known\n"
    "here; see docs/classification.md.\n"
    "\n"
    "options:\n"
    "  -h, --help   show this help\n";

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Prints the class and reason of one user agent. */
static void print_one(const td_classifier *c, const char *ua)
{
    char reason[TD_CLASS_REASON_SIZE];
    td_click_class k = td_classify_ua(c, ua, reason, sizeof reason);

    printf("%s\t%s\n", td_click_class_name(k), reason);
}

/* Reads one line of f into line (at most UA_LINE_MAX bytes kept, without "\n" or "\r\n").
 * Returns false at the end of the input. */
static bool read_line(FILE *f, char line[UA_LINE_MAX + 1])
{
    size_t n = 0;
    int ch;

    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (n < UA_LINE_MAX)
            line[n++] = (char)ch;
    }
    if (ch == EOF && n == 0)
        return false;
    if (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    return true;
}

/* Classifies the arguments, or the lines of standard input. */
int cmd_classify(int argc, char **argv)
{
    static char line[UA_LINE_MAX + 1];
    td_classifier *c = NULL;
    char err[256] = "";
    td_config cfg;
    int opt, rc;

    while ((opt = cli_getopt("classify", argc, argv, "h", options)) != -1) {
        if (opt == 'h')
            cli_help(usage);
    }
    /* Only the user agent is judged here, but a bad TRACKDOC_* variable stops every command. */
    cli_config_load("classify", &cfg);
    rc = td_classifier_new(NULL, &c, err, sizeof err);
    if (rc)
        die("cannot build the classifier: %s", err[0] ? err : td_strerror(rc));
    if (optind < argc) {
        for (int i = optind; i < argc; i++)
            print_one(c, argv[i]);
    } else {
        while (read_line(stdin, line))
            print_one(c, line);
        if (ferror(stdin))
            die("cannot read standard input: %s", strerror(errno));
    }
    td_classifier_free(c);
    if (fflush(stdout) != 0 || ferror(stdout))
        die("cannot write the output: %s", strerror(errno));
    return 0;
}
