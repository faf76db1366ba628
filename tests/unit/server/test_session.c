/* Dashboard sessions (idle time, maximum age, sign-out, a full table) and the SVG charts. */
#include "server/http.h"

#include "test.h"

#define H 3600000LL

/* Counts the occurrences of needle in s. */
static int count(const char *s, const char *needle)
{
    int n = 0;

    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Sessions: tokens, expiry, sign-out, eviction. */
static void test_sessions(void)
{
    td_sessions *ss = NULL;
    td_session_info who = {.key_id = "k1", .key_name = "laptop", .key_hash = "ab"}, got;
    char t1[TD_SESSION_TOKEN_SIZE], t2[TD_SESSION_TOKEN_SIZE], t3[TD_SESSION_TOKEN_SIZE];
    bool base62 = true;

    CHECK(td__sessions_new(0, H, H, &ss) == TD_EINVAL, "a table of 0 sessions is refused");
    CHECK(td__sessions_new(2, 12 * H, 48 * H, &ss) == 0, "a table of 2 sessions, 12 h idle");
    CHECK(td__sessions_create(ss, &who, 1000, t1) == 0 &&
              td__sessions_create(ss, &who, 1000, t2) == 0,
          "two sign-ins");
    CHECK_INT(strlen(t1), TD_SESSION_TOKEN_SIZE - 1, "a token has 43 characters (256 bits)");
    for (const char *p = t1; *p; p++)
        base62 &= isalnum((unsigned char)*p) != 0;
    CHECK(base62, "a token is base62, safe in a cookie");
    CHECK(strcmp(t1, t2) != 0, "each sign-in gets its own token");
    CHECK(td__sessions_check(ss, t1, 2000, &got) == 0 && strcmp(got.key_name, "laptop") == 0,
          "a token names its key");
    CHECK(td__sessions_check(ss, "nope", 2000, &got) == TD_ENOTFOUND,
          "an unknown token is refused");
    t3[0] = 'x';
    memcpy(t3, t1, sizeof t3);
    t3[0] = t3[0] == 'a' ? 'b' : 'a';
    CHECK(td__sessions_check(ss, t3, 2000, &got) == TD_ENOTFOUND,
          "a token with one character changed is refused");
    CHECK(td__sessions_check(ss, t1, 2000 + 11 * H, &got) == 0,
          "used again after 11 h: still signed in, and the idle time starts again");
    CHECK(td__sessions_check(ss, t1, 2000 + 22 * H, &got) == 0, "and again 11 h later");
    CHECK(td__sessions_check(ss, t2, 1000 + 12 * H, &got) == TD_EEXPIRED,
          "12 h without use ends a session");
    CHECK(td__sessions_check(ss, t2, 1000 + 12 * H, &got) == TD_ENOTFOUND, "and it is forgotten");
    for (int64_t t = 2000 + 33 * H; t < 1000 + 48 * H; t += 11 * H)
        td__sessions_check(ss, t1, t, &got);
    CHECK(td__sessions_check(ss, t1, 1000 + 48 * H, &got) == TD_EEXPIRED,
          "a session in use ends at its maximum age (48 h here)");
    td__sessions_free(ss);

    CHECK(td__sessions_new(2, 12 * H, 48 * H, &ss) == 0, "a new table");
    td__sessions_create(ss, &who, 0, t1);
    td__sessions_create(ss, &who, 10, t2);
    td__sessions_check(ss, t1, 20, &got);
    CHECK(td__sessions_create(ss, &who, 30, t3) == 0, "a third sign-in in a full table");
    CHECK(td__sessions_check(ss, t2, 40, &got) == TD_ENOTFOUND,
          "it takes the place of the session idle longest");
    CHECK(td__sessions_check(ss, t1, 40, &got) == 0 && td__sessions_check(ss, t3, 40, &got) == 0,
          "the others stay signed in");
    td__sessions_drop(ss, t1);
    CHECK(td__sessions_check(ss, t1, 50, &got) == TD_ENOTFOUND, "signing out ends the session");
    td__sessions_drop(ss, "unknown");
    CHECK_INT(td__sessions_count(ss, 50), 1, "one session is left");
    td__sessions_free(ss);
    td__sessions_free(NULL);
}

/* The chart: bars, scale, labels, a description for screen readers. */
static void test_svg(void)
{
    td_svg_day days[3] = {{"2026-03-01", 0, 0}, {"2026-03-02", 5, 2}, {"2026-03-03", 1, 0}};
    td_svg_day empty[2] = {{"2026-03-01", 0, 0}, {"2026-03-02", 0, 0}};
    td_buf b;

    td_buf_init(&b, 1 << 20);
    CHECK(td__svg_daily(&b, days, 3, 960, 250, "c1", "wide") == 0, "a chart of 3 days");
    CHECK(strncmp(b.data, "<svg class=\"chart wide\" viewBox=\"0 0 960 250\" role=\"img\"", 56) ==
              0,
          "an SVG with a role and a viewBox");
    CHECK(strstr(b.data, "6 human and 2 filtered clicks from 2026-03-01 to 2026-03-03; the most "
                         "human clicks, 5, on 2026-03-02.") != NULL,
          "its description gives the totals and the best day");
    CHECK_INT(count(b.data, "<rect class=\"h\""), 2, "a human bar for each day with human clicks");
    CHECK_INT(count(b.data, "<rect class=\"f\""), 1,
              "a filtered bar for the day with filtered ones");
    CHECK(strstr(b.data, "<title>2026-03-02: 5 human, 2 filtered</title>") != NULL,
          "each day has a tooltip");
    CHECK(strstr(b.data, ">Mar 3</text>") != NULL, "the last day is labelled");
    CHECK(strstr(b.data, ">8</text>") != NULL, "the scale rounds 7 up to 8");
    td_buf_reset(&b);
    CHECK(td__svg_daily(&b, empty, 2, 360, 220, "c2", "narrow") == 0 &&
              count(b.data, "<rect class=\"h\"") == 0 && strstr(b.data, ">4</text>"),
          "no clicks: no bars, a scale of 0 to 4");
    td_buf_reset(&b);
    CHECK(td__svg_meter(&b, 1, 4) == 0 && strstr(b.data, "width=\"25.0\""),
          "a meter of 1 out of 4 is a quarter wide");
    td_buf_release(&b);
    td_buf_init(&b, 64);
    CHECK(td__svg_daily(&b, days, 3, 960, 250, "c3", "wide") == TD_ETOOBIG,
          "a buffer too small gives TD_ETOOBIG");
    td_buf_release(&b);
}

/* Entry point. */
int main(void)
{
    test_sessions();
    test_svg();
    return td_test_failed ? 1 : 0;
}
