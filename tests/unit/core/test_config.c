/* Configuration from the environment: defaults, values, and errors naming the variable. */
#include "core/common.h"

#include "test.h"
#include "trackdoc/config.h"
#include "trackdoc/log.h"

/* Entry point. */
int main(void)
{
    td_config c;
    char err[256] = "";
    bool b;
    double r;

    td_config_defaults(&c);
    CHECK_STR(c.db, "var/trackdoc.db", "default database");
    CHECK_STR(c.base_url, "http://127.0.0.1:8080", "default base URL");
    CHECK(c.link_cache_size == 1000, "default cache size");
    setenv("TRACKDOC_DB", "sqlite:/tmp/x.db", 1);
    setenv("TRACKDOC_RATE_LIMIT_TRACK", "0", 1);
    setenv("TRACKDOC_TRUST_PROXY", "yes", 1);
    setenv("TRACKDOC_LINK_CACHE_TTL", "2m", 1);
    CHECK(td_config_from_env(&c, err, sizeof err) == 0, "environment applies");
    CHECK_STR(c.db, "sqlite:/tmp/x.db", "TRACKDOC_DB");
    CHECK(c.rate_limit_track == 0 && c.trust_proxy && c.link_cache_ttl_ms == 120000,
          "rate, boolean and duration values");
    setenv("TRACKDOC_THREADS", "lots", 1);
    CHECK(td_config_from_env(&c, err, sizeof err) == TD_EINVAL && strstr(err, "TRACKDOC_THREADS"),
          "bad number names the variable: %s", err);
    unsetenv("TRACKDOC_THREADS");
    setenv("TRACKDOC_TRUST_PROXY", "maybe", 1);
    CHECK(td_config_from_env(&c, err, sizeof err) == TD_EINVAL &&
              strstr(err, "TRACKDOC_TRUST_PROXY"),
          "bad boolean names the variable");
    unsetenv("TRACKDOC_TRUST_PROXY");
    CHECK(td_config_parse_bool("ON", &b) == 0 && b, "ON is true");
    CHECK(td_config_parse_bool("off", &b) == 0 && !b, "off is false");
    CHECK(td_config_parse_bool("2", &b) == TD_EINVAL, "2 is not a boolean");
    CHECK(td_config_parse_rate("0.5", &r) == 0 && r == 0.5, "fractional rate");
    CHECK(td_config_parse_rate("-1", &r) == TD_EINVAL, "negative rate refused");
    CHECK(td_config_parse_rate("nan", &r) == TD_EINVAL, "nan refused");
    td_config_defaults(&c);
    CHECK(c.burst_window_ms == 2000 && c.too_soon_ms == 5000 && c.accept_language_signal,
          "classifier thresholds default to 2s, 5s and the Accept-Language signal on");
    setenv("TRACKDOC_BURST_WINDOW", "1500ms", 1);
    setenv("TRACKDOC_TOO_SOON", "off", 1);
    setenv("TRACKDOC_ACCEPT_LANGUAGE_SIGNAL", "false", 1);
    CHECK(td_config_from_env(&c, err, sizeof err) == 0 && c.burst_window_ms == 1500 &&
              c.too_soon_ms == -1 && !c.accept_language_signal,
          "TRACKDOC_BURST_WINDOW=1500ms, TRACKDOC_TOO_SOON=off, TRACKDOC_ACCEPT_LANGUAGE_SIGNAL");
    setenv("TRACKDOC_BURST_WINDOW", "2h", 1);
    CHECK(td_config_from_env(&c, err, sizeof err) == TD_EINVAL &&
              strstr(err, "TRACKDOC_BURST_WINDOW=\"2h\""),
          "a burst window over an hour names the variable: %s", err);
    setenv("TRACKDOC_BURST_WINDOW", "soon", 1);
    CHECK(td_config_from_env(&c, err, sizeof err) == TD_EINVAL, "a burst window of soon");
    unsetenv("TRACKDOC_BURST_WINDOW");
    setenv("TRACKDOC_TOO_SOON", "-5s", 1);
    CHECK(td_config_from_env(&c, err, sizeof err) == TD_EINVAL && strstr(err, "TRACKDOC_TOO_SOON"),
          "a negative too-soon threshold names the variable");
    unsetenv("TRACKDOC_TOO_SOON");
    setenv("TRACKDOC_ACCEPT_LANGUAGE_SIGNAL", "sometimes", 1);
    CHECK(td_config_from_env(&c, err, sizeof err) == TD_EINVAL &&
              strstr(err, "TRACKDOC_ACCEPT_LANGUAGE_SIGNAL"),
          "a bad Accept-Language switch names the variable");
    unsetenv("TRACKDOC_ACCEPT_LANGUAGE_SIGNAL");
    {
        long ms;
        CHECK(td_config_parse_threshold("0s", 1000, &ms) == 0 && ms == -1, "0s is off");
        CHECK(td_config_parse_threshold("1000ms", 1000, &ms) == 0 && ms == 1000,
              "1000ms is the maximum 1000");
        CHECK(td_config_parse_threshold("1001ms", 1000, &ms) == TD_EINVAL, "1001ms is over 1000");
        CHECK(td_config_parse_threshold("ms", 1000, &ms) == TD_EINVAL, "ms alone is refused");
    }
    TEST_DONE();
}
