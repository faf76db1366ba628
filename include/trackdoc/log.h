/* Logging: the library never prints; it hands messages to a handler that the program installs. */
#ifndef TRACKDOC_LOG_H
#define TRACKDOC_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum { TD_LOG_ERROR = 0, TD_LOG_WARN = 1, TD_LOG_INFO = 2, TD_LOG_DEBUG = 3 };

/* Receives one formatted message (no trailing newline). Called from any thread. */
typedef void (*td_log_fn)(void *ud, int level, const char *msg);

/* Installs the handler (NULL drops messages, the default) and the most verbose level passed. */
void td_log_set_handler(td_log_fn fn, void *ud, int max_level);

/* Returns the name of a level ("error", "warn", "info", "debug"). */
const char *td_log_level_name(int level);

#ifdef __cplusplus
}
#endif
#endif
