/* Click source from the referrer, driven by tests/data/click_sources.tsv. */
#include "core/common.h"

#include "test.h"
#include "trackdoc/link.h"

/* Entry point. */
int main(void)
{
    FILE *f = fopen("tests/data/click_sources.tsv", "r");
    char line[4096];
    int rows = 0;
    td_click_source s;

    CHECK(f != NULL, "tests/data/click_sources.tsv opens");
    while (f && fgets(line, sizeof line, f)) {
        char *ref;
        const char *got;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || !line[0] || !(ref = strchr(line, '\t')))
            continue;
        *ref++ = '\0';
        got = td_click_source_name(
            td_click_source_of(strcmp(ref, "-") == 0 ? NULL : ref, "trackdoc.example.org"));
        CHECK_STR(got, line, "source of %s", ref);
        rows++;
    }
    if (f)
        fclose(f);
    CHECK(rows >= 25, "%d rows read", rows);
    CHECK(td_click_source_of("", NULL) == TD_SOURCE_DIRECT, "empty referrer is direct");
    CHECK(td_click_source_parse("email", &s) == 0 && s == TD_SOURCE_EMAIL, "parse email");
    CHECK(td_click_source_parse("mail", &s) == TD_EINVAL, "unknown name refused");
    TEST_DONE();
}
