/* Random ids and UUIDs: format, uniqueness over 100k, and UUID checks. */
#include "core/common.h"

#include "core/id.h"
#include "core/lru.h"
#include "test.h"
#include "trackdoc/link.h"

/* 100k tracking ids: form lt_<function>_<14 base62> and no duplicates. */
static void tracking_ids(void)
{
    enum { N = 100000 };
    td_lru *seen = NULL;
    char id[TD_LINK_ID_SIZE], dummy = 0;
    int bad_form = 0, dups = 0;
    int counts[62] = {0};
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    CHECK(td_lru_new(N, 1, &seen) == 0, "lru for uniqueness check");
    for (int i = 0; i < N; i++) {
        const char *r;
        if (td_link_id_new("Calendly", id) != 0) {
            bad_form++;
            continue;
        }
        if (strncmp(id, "lt_calendly_", 12) != 0 || strlen(id) != 12 + TD_LINK_ID_RANDOM)
            bad_form++;
        for (r = id + 12; *r; r++) {
            const char *pos = strchr(alphabet, *r);
            if (!pos)
                bad_form++;
            else
                counts[pos - alphabet]++;
        }
        if (td_lru_get(seen, id, strlen(id), &dummy, NULL) == 0)
            dups++;
        td_lru_put(seen, id, strlen(id), &dummy, 0);
        if (!td_link_id_valid(id))
            bad_form++;
    }
    CHECK_INT(bad_form, 0, "100k tracking ids have the form lt_calendly_<14 base62>");
    CHECK_INT(dups, 0, "100k tracking ids are all different");
    /* 1.4M symbols over 62 values: each near 22580; a modulo bias would push the first 8
     * symbols about 3%% above the rest. */
    {
        int lo = counts[0], hi = counts[0];
        for (int i = 1; i < 62; i++) {
            lo = TD_MIN(lo, counts[i]);
            hi = TD_MAX(hi, counts[i]);
        }
        CHECK(lo > 21500 && hi < 23700, "base62 symbols are evenly spread (%d..%d)", lo, hi);
    }
    td_lru_free(seen);
    CHECK(td_link_id_new("", id) == TD_EINVAL, "empty function refused");
}

/* Id syntax accepted for lookups. */
static void id_valid(void)
{
    CHECK(td_link_id_valid("lt_linkedin_AbC123"), "our form is valid");
    CHECK(td_link_id_valid("legacy-id_42"), "ids of an earlier system stay usable");
    CHECK(!td_link_id_valid(""), "empty is not an id");
    CHECK(!td_link_id_valid("../etc/passwd"), "path characters are not an id");
    CHECK(!td_link_id_valid("a b"), "space is not in an id");
    CHECK(!td_link_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
          "64 characters is too long");
}

/* UUID creation and normalisation. */
static void uuids(void)
{
    char u[TD_UUID_SIZE], v[TD_UUID_SIZE], n[TD_UUID_SIZE];

    CHECK(td_uuid_v7(u) == 0 && u[14] == '7' && strchr("89ab", u[19]),
          "v7 has version and variant");
    CHECK(td_uuid_v7(v) == 0 && strcmp(u, v) != 0, "two v7 differ");
    CHECK(td_uuid_v4(u) == 0 && u[14] == '4', "v4 has version 4");
    CHECK(td_uuid_normalize("3F2504E0-4F89-41D3-9A0C-0305E82C3301", n) == 0 &&
              strcmp(n, "3f2504e0-4f89-41d3-9a0c-0305e82c3301") == 0,
          "UUID is lower-cased");
    CHECK(td_uuid_normalize("3f2504e0-4f89-41d3-9a0c-0305e82c330", n) == TD_EUUID, "short UUID");
    CHECK(td_uuid_normalize("3f2504e0-4f89-41d3-9a0c-0305e82c33011", n) == TD_EUUID, "long UUID");
    CHECK(td_uuid_normalize("3f2504e04f8941d39a0c0305e82c3301xxxx", n) == TD_EUUID, "no hyphens");
    CHECK(td_uuid_normalize("3f2504e0-4f89-41d3-9a0c-0305e82c33zz", n) == TD_EUUID, "non-hex");
    CHECK(td_uuid_normalize("", n) == TD_EUUID, "empty");
}

/* Entry point. */
int main(void)
{
    tracking_ids();
    id_valid();
    uuids();
    TEST_DONE();
}
