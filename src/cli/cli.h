/* Shared helpers of the trackdoc command line: the command table, errors, option parsing.
 * Only the CLI prints and exits: die() exits 1, usage_error() exits 2. */
#ifndef TD_CLI_H
#define TD_CLI_H

#include "core/common.h"

#include <getopt.h>

/* One subcommand: argv[0] is the subcommand name. Returns the process exit code. */
typedef int (*cli_fn)(int argc, char **argv);

struct cli_cmd {
    const char *name;
    cli_fn fn;
    const char *summary;
};

/* Prints "trackdoc: error: <message>" to stderr and exits 1. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);

/* Prints "trackdoc <cmd>: <message>" and a --help hint to stderr and exits 2. */
__attribute__((noreturn, format(printf, 2, 3))) void usage_error(const char *cmd, const char *fmt,
                                                                 ...);

/* Prints a warning "trackdoc: warning: <message>" to stderr. */
__attribute__((format(printf, 1, 2))) void warn(const char *fmt, ...);

/* Parses getopt_long options for cmd; on an unknown option or missing argument it calls
 * usage_error naming the bad argument. Returns the option character, -1 at the end. */
int cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts);

/* Parses a non-negative integer argument of option opt, or calls usage_error. */
long cli_parse_long(const char *cmd, const char *opt, const char *arg, long min, long max);

#include <jansson.h>

#include "trackdoc/config.h"
#include "trackdoc/link.h"
#include "trackdoc/store.h"
#include "trackdoc/trackvars.h"

/* Fills c from defaults and TRACKDOC_* variables; a bad variable is a usage error. */
void cli_config_load(const char *cmd, td_config *c);

/* How a command opens the database. */
enum cli_db {
    CLI_DB_MIGRATED, /* created when missing, pending migrations applied (most commands) */
    CLI_DB_EXISTING, /* must exist; schema left as it is (db status) */
    CLI_DB_RAW,      /* created when missing; schema left as it is (db migrate does it) */
};

/* Opens the store of c->db in the given mode. A malformed setting is a usage error of cmd
 * (exit 2); a failing database exits 1. */
/* Sets c->db from a --db value, or exits 2 naming the option when it does not fit. */
void cli_set_db(const char *cmd, td_config *c, const char *value);

td_store *cli_store_open(const char *cmd, const td_config *c, enum cli_db mode);

/* Makes the link tracker of c over st, accepting the functions of vars (may be NULL) too; a
 * bad setting is a usage error of cmd (exit 2). */
td_tracker *cli_tracker_new(const char *cmd, const td_config *c, td_store *st,
                            const td_trackvars *vars);

/* Makes the tracked-variable table from the defaults, TRACKDOC_TRACK_VARS and extra
 * ("var=Function,..." from --track flags, may be NULL); a bad entry is a usage error. */
td_trackvars *cli_trackvars_new(const char *cmd, const td_config *c, const char *extra);

/* Prints a JSON value to stdout, indented, with a newline, and drops the reference. */
void cli_print_json(json_t *j);

/* Reads a whole file, or standard input for "-", of at most max bytes into b (initialised
 * here), or dies naming it as what ("template", "data"). */
void cli_read_file(const char *path, size_t max, const char *what, td_buf *b);

/* Writes b to path through a temporary file, fsync and rename (never half-written), or to
 * standard output when path is NULL or "-"; dies on failure. */
void cli_write_file(const char *path, const td_buf *b);

/* Prints help text to stdout and exits 0. */
__attribute__((noreturn)) void cli_help(const char *text);

/* The subcommands (src/cli/cmd_*.c). */
int cmd_serve(int argc, char **argv);
int cmd_link(int argc, char **argv);
int cmd_apikey(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_privacy(int argc, char **argv);
int cmd_version(int argc, char **argv);

#endif
