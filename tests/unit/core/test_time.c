/* ISO 8601 formatting and parsing, durations. */
#include "core/common.h"

#include "core/time.h"
#include "test.h"

/* Entry point. */
int main(void)
{
    char iso[TD_TIME_ISO_SIZE];
    int64_t ms = 0;

    td_time_format(0, iso);
    CHECK_STR(iso, "1970-01-01T00:00:00.000Z", "epoch formats");
    td_time_format(1795498135123LL, iso);
    CHECK_STR(iso, "2026-11-24T05:28:55.123Z", "a time with milliseconds formats");
    CHECK(td_time_parse("2026-11-24T05:28:55.123Z", &ms) == 0 && ms == 1795498135123LL,
          "round trip");
    CHECK(td_time_parse("2026-11-24", &ms) == 0 && ms == 1795478400000LL, "a date is midnight UTC");
    CHECK(td_time_parse("2026-11-24T06:28:55.123+01:00", &ms) == 0 && ms == 1795498135123LL,
          "offset is applied");
    CHECK(td_time_parse("2026-11-24T05:28:55.1Z", &ms) == 0 && ms == 1795498135100LL,
          "one fraction digit is tenths");
    CHECK(td_time_parse("2026-11-24 05:28", &ms) == 0 && ms == 1795498080000LL,
          "space separator and no seconds");
    CHECK(td_time_parse("2026-02-30", &ms) == TD_ETIME, "February 30 refused");
    CHECK(td_time_parse("2026-13-01", &ms) == TD_ETIME, "month 13 refused");
    CHECK(td_time_parse("2026-11-24T25:00Z", &ms) == TD_ETIME, "hour 25 refused");
    CHECK(td_time_parse("2026-11-24Tx", &ms) == TD_ETIME, "garbage refused");
    CHECK(td_time_parse("2026-11-24Z junk", &ms) == TD_ETIME, "trailing text refused");
    CHECK(td_time_parse("", &ms) == TD_ETIME, "empty refused");
    CHECK(td_time_parse_duration("30d", &ms) == 0 && ms == 30LL * 86400000, "30d");
    CHECK(td_time_parse_duration("90s", &ms) == 0 && ms == 90000, "90s");
    CHECK(td_time_parse_duration("2w", &ms) == 0 && ms == 14LL * 86400000, "2w");
    CHECK(td_time_parse_duration("10", &ms) == TD_ETIME, "unit required");
    CHECK(td_time_parse_duration("-1d", &ms) == TD_ETIME, "negative refused");
    CHECK(td_time_parse_duration("0s", &ms) == TD_ETIME, "zero refused");
    CHECK(td_time_parse_duration("5dd", &ms) == TD_ETIME, "trailing unit refused");
    CHECK(td_time_parse_duration("99999999999999999w", &ms) == TD_ETIME, "overflow refused");
    CHECK(td_time_parse_duration("5200w", &ms) == 0, "99.7 years accepted");
    CHECK(td_time_parse_duration("5300w", &ms) == TD_ETIME, "over 100 years refused");
    CHECK(td_time_parse_duration("500000w", &ms) == TD_ETIME, "500000 weeks refused");
    CHECK(td_time_now_ms() > 1700000000000LL, "clock is sane");
    TEST_DONE();
}
