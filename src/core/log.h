/* Internal logging entry point; see include/trackdoc/log.h for the handler. */
#ifndef TD_CORE_LOG_H
#define TD_CORE_LOG_H

#include "trackdoc/log.h"

/* Formats a message and passes it to the installed handler, if any. */
void td__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define td_log_error(...) td__log(TD_LOG_ERROR, __VA_ARGS__)
#define td_log_warn(...) td__log(TD_LOG_WARN, __VA_ARGS__)
#define td_log_info(...) td__log(TD_LOG_INFO, __VA_ARGS__)
#define td_log_debug(...) td__log(TD_LOG_DEBUG, __VA_ARGS__)

#endif
