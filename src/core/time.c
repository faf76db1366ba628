/* Time helpers: clocks, ISO 8601 formatting and parsing. */
#include "core/common.h"

#include "core/time.h"

/* Returns the current UTC time in milliseconds. */
int64_t td_time_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns a monotonic clock in milliseconds. */
int64_t td_time_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Formats ms as ISO 8601 UTC with milliseconds. */
void td_time_format(int64_t ms, char *out)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, TD_TIME_ISO_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* Reads exactly n decimal digits from *p, advancing it; returns -1 if they are not there. */
static int digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

/* Parses an ISO 8601 date or date-time into UTC milliseconds. */
int td_time_parse(const char *s, int64_t *ms_out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off = 0;
    time_t t;

    if ((y = digits(&p, 4)) < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 0 || *p++ != '-' ||
        (d = digits(&p, 2)) < 0)
        return TD_ETIME;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || y < 1970)
        return TD_ETIME;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if ((h = digits(&p, 2)) < 0 || *p++ != ':' || (mi = digits(&p, 2)) < 0)
            return TD_ETIME;
        if (*p == ':') {
            p++;
            if ((sec = digits(&p, 2)) < 0)
                return TD_ETIME;
            if (*p == '.') {
                int scale = 100;
                p++;
                if (!isdigit((unsigned char)*p))
                    return TD_ETIME;
                for (; isdigit((unsigned char)*p); p++, scale /= 10)
                    ms += (*p - '0') * scale;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return TD_ETIME;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if ((oh = digits(&p, 2)) < 0)
                return TD_ETIME;
            if (*p == ':')
                p++;
            if ((om = digits(&p, 2)) < 0 || oh > 23 || om > 59)
                return TD_ETIME;
            off = sign * (oh * 60 + om);
        }
    }
    if (*p)
        return TD_ETIME;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) /* rejects 2026-02-30 and friends */
        return TD_ETIME;
    *ms_out = ((int64_t)t - (int64_t)off * 60) * 1000 + ms;
    return 0;
}

/* Parses "<n><unit>" with unit s, m, h, d or w. */
int td_time_parse_duration(const char *s, int64_t *ms_out)
{
    char *end;
    long long n;
    int64_t unit;

    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno || end == s || n <= 0 || !isdigit((unsigned char)*s))
        return TD_ETIME;
    switch (*end) {
    case 's':
        unit = 1000;
        break;
    case 'm':
        unit = 60 * 1000;
        break;
    case 'h':
        unit = 3600 * 1000;
        break;
    case 'd':
        unit = 86400 * 1000LL;
        break;
    case 'w':
        unit = 7 * 86400 * 1000LL;
        break;
    default:
        return TD_ETIME;
    }
    /* At most 100 years: longer is a typo, and it would overflow the time arithmetic. */
    if (end[1] || n > 100LL * 365 * 86400000 / unit)
        return TD_ETIME;
    *ms_out = (int64_t)n * unit;
    return 0;
}
