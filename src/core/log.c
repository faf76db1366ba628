/* Log dispatch to a program-installed handler. */
#include "core/common.h"

#include <stdatomic.h>

#include "core/log.h"

static td_log_fn log_fn;
static void *log_ud;
static atomic_int log_level = TD_LOG_INFO;

/* Installs the handler; meant to be called once at start-up, before threads exist. */
void td_log_set_handler(td_log_fn fn, void *ud, int max_level)
{
    log_fn = fn;
    log_ud = ud;
    atomic_store(&log_level, max_level);
}

/* Returns the name of a level. */
const char *td_log_level_name(int level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};

    if (level < 0 || level > TD_LOG_DEBUG)
        return "log";
    return names[level];
}

/* Formats into a bounded stack buffer and hands the message over. */
void td__log(int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!log_fn || level > atomic_load(&log_level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_fn(log_ud, level, msg);
}
