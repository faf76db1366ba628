/* td_buf bounds and td_arena bounds. */
#include "core/common.h"

#include "core/arena.h"
#include "test.h"
#include "trackdoc/buf.h"

/* Buffer appends, limits and detach. */
static void buf(void)
{
    td_buf b;
    char *s;
    size_t n;

    td_buf_init(&b, 10);
    CHECK(td_buf_adds(&b, "hello") == 0 && b.len == 5, "append within limit");
    CHECK(td_buf_printf(&b, "%d", 12345) == 0 && strcmp(td_buf_str(&b), "hello12345") == 0,
          "printf up to the limit");
    CHECK(td_buf_addc(&b, 'x') == TD_ETOOBIG, "one byte past the limit refused");
    CHECK_STR(td_buf_str(&b), "hello12345", "content unchanged after a refused append");
    s = td_buf_detach(&b, &n);
    CHECK(s && n == 10 && strcmp(s, "hello12345") == 0 && b.len == 0, "detach hands over");
    free(s);
    s = td_buf_detach(&b, &n);
    CHECK(s && n == 0 && *s == '\0', "detach of empty gives an empty string");
    free(s);
    td_buf_init(&b, 0);
    CHECK(b.max == TD_BUF_DEFAULT_MAX, "0 means the default maximum");
    CHECK(td_buf_reserve(&b, SIZE_MAX) == TD_ETOOBIG, "huge reserve refused without overflow");
    td_buf_release(&b);
}

/* Arena allocation and its limit. */
static void arena(void)
{
    td_arena a;
    char *p, *q;

    td_arena_init(&a, 10000);
    p = td_arena_strdup(&a, "abc");
    q = td_arena_alloc(&a, 5000);
    CHECK(p && strcmp(p, "abc") == 0 && q, "allocations succeed");
    CHECK(((uintptr_t)q & 15) == 0, "allocations are aligned");
    CHECK(td_arena_alloc(&a, 6000) == NULL, "past the maximum refused");
    CHECK(td_arena_alloc(&a, SIZE_MAX) == NULL, "huge size refused without overflow");
    td_arena_release(&a);
    CHECK(td_arena_alloc(&a, 6000) != NULL, "usable again after release");
    td_arena_release(&a);
}

/* Entry point. */
int main(void)
{
    buf();
    arena();
    TEST_DONE();
}
