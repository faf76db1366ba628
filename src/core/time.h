/* Wall-clock time in milliseconds since the Unix epoch, and its ISO 8601 UTC text form. */
#ifndef TD_CORE_TIME_H
#define TD_CORE_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Length of "2026-11-24T05:28:55.123Z" plus NUL. */
#define TD_TIME_ISO_SIZE 25

/* Returns the current UTC time in milliseconds. */
int64_t td_time_now_ms(void);

/* Returns a monotonic clock in milliseconds, for durations and timeouts. */
int64_t td_time_mono_ms(void);

/* Writes ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least TD_TIME_ISO_SIZE bytes). */
void td_time_format(int64_t ms, char *out);

/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]" with "Z", "+HH:MM" or no zone (UTC).
 * Returns 0 and *ms_out, or TD_ETIME. */
int td_time_parse(const char *s, int64_t *ms_out);

/* Parses a duration such as "90s", "15m", "12h", "30d" or "2w" (at most 100 years) into
 * milliseconds. Returns 0 or TD_ETIME. */
int td_time_parse_duration(const char *s, int64_t *ms_out);

#endif
