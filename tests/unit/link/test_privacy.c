/* Truncated addresses and visitor hashes. */
#include "core/common.h"

#include "test.h"
#include "trackdoc/privacy.h"

/* Entry point. */
int main(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"203.0.113.77", "203.0.113.0"},
        {"10.1.2.3", "10.1.2.0"},
        {"2001:db8:1:2::5", "2001:db8:1::"},
        {"2001:db8:abcd:12:34:56:78:9a", "2001:db8:abcd::"},
        {"::ffff:198.51.100.9", "198.51.100.0"},
        {"::1", "::"},
    };
    char out[TD_IP_TEXT_SIZE], h1[TD_VISITOR_HASH_SIZE], h2[TD_VISITOR_HASH_SIZE];

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        CHECK_INT(td_ip_anonymize(cases[i].in, out, sizeof out), 0, "%s is an address",
                  cases[i].in);
        CHECK_STR(out, cases[i].want, "%s is stored with its host part cleared", cases[i].in);
    }
    CHECK(td_ip_anonymize("not-an-ip", out, sizeof out) == TD_EINVAL && out[0] == '\0',
          "a name that is not an address is refused, nothing written");
    CHECK(td_ip_anonymize("", out, sizeof out) == TD_EINVAL, "an empty address is refused");
    CHECK(td_ip_anonymize("203.0.113.77", out, 4) == 0 && strlen(out) == 3,
          "a small buffer is never overrun");

    td_visitor_hash("aa", "203.0.113.77", "Mozilla/5.0", h1);
    td_visitor_hash("aa", "203.0.113.77", "Mozilla/5.0", h2);
    CHECK(strlen(h1) == 32 && strcmp(h1, h2) == 0, "same salt, address and agent: same hash");
    td_visitor_hash("bb", "203.0.113.77", "Mozilla/5.0", h2);
    CHECK(strcmp(h1, h2) != 0, "another day's salt: another hash");
    td_visitor_hash("aa", "203.0.113.78", "Mozilla/5.0", h2);
    CHECK(strcmp(h1, h2) != 0, "another address in the same /24: another visitor");
    td_visitor_hash("aa", "203.0.113.7", "7Mozilla/5.0", h2);
    td_visitor_hash("aa", "203.0.113.77", "Mozilla/5.0", h1);
    CHECK(strcmp(h1, h2) != 0, "fields are separated: no ambiguity at their borders");
    td_visitor_hash(NULL, NULL, NULL, h2);
    CHECK(strlen(h2) == 32, "absent values still hash");
    TEST_DONE();
}
