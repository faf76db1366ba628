/* Per-IP token buckets: burst, refill, separate addresses, bounded table. */
#include "server/http.h"

#include "test.h"

/* Entry point. */
int main(void)
{
    td_ratelimit *rl = NULL;
    int allowed = 0, wait = 0;

    CHECK(td__ratelimit_new(2, 4, 1024, &rl) == 0, "limiter of 2/s, burst 4");
    for (int i = 0; i < 10; i++)
        if (td__ratelimit_take(rl, "192.0.2.1", 1000) == 0)
            allowed++;
    CHECK_INT(allowed, 4, "a burst of 4 is allowed at once");
    wait = td__ratelimit_take(rl, "192.0.2.1", 1000);
    CHECK_INT(wait, 1, "the next request waits 1 s (Retry-After)");
    CHECK_INT(td__ratelimit_take(rl, "192.0.2.1", 1500), 0, "after 0.5 s one token is back");
    CHECK(td__ratelimit_take(rl, "192.0.2.1", 1500) > 0, "and only one");
    CHECK_INT(td__ratelimit_take(rl, "198.51.100.9", 1500), 0,
              "another address has its own bucket");
    CHECK_INT(td__ratelimit_take(rl, "192.0.2.1", 11500), 0, "after a pause the bucket is full");
    td__ratelimit_free(rl);
    CHECK(td__ratelimit_new(0, 4, 10, &rl) == TD_EINVAL, "rate 0 is no limiter");
    CHECK(td__ratelimit_new(1, 1, 1, &rl) == 0, "a one-slot table");
    CHECK_INT(td__ratelimit_take(rl, "a", 0), 0, "a takes the slot");
    CHECK(td__ratelimit_take(rl, "b", 100) > 0, "b shares a busy slot: stricter, never looser");
    CHECK_INT(td__ratelimit_take(rl, "b", 5000), 0, "b takes the slot once a has been quiet");
    td__ratelimit_free(rl);
    TEST_DONE();
}
