/* Growable bounded byte buffer. */
#include "core/common.h"

#include "trackdoc/buf.h"

/* Prepares b, empty, with the given maximum. */
void td_buf_init(td_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : TD_BUF_DEFAULT_MAX;
}

/* Frees the content of b. */
void td_buf_release(td_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* Empties b, keeping its allocation. */
void td_buf_reset(td_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Grows the allocation so that n more bytes and a NUL fit. */
int td_buf_reserve(td_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (n > b->max || b->len > b->max - n)
        return TD_ETOOBIG;
    need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = TD_MAX(need, b->max + 1);
    p = realloc(b->data, cap);
    if (!p)
        return TD_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Appends n bytes. */
int td_buf_add(td_buf *b, const void *p, size_t n)
{
    int rc = td_buf_reserve(b, n);

    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* Appends a string. */
int td_buf_adds(td_buf *b, const char *s)
{
    return td_buf_add(b, s, strlen(s));
}

/* Appends one byte. */
int td_buf_addc(td_buf *b, char c)
{
    return td_buf_add(b, &c, 1);
}

/* Appends formatted text from a va_list. */
int td_buf_vprintf(td_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n, rc;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return TD_EINVAL;
    rc = td_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

/* Appends formatted text. */
int td_buf_printf(td_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = td_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* Hands the content to the caller (free with free()). */
char *td_buf_detach(td_buf *b, size_t *len_out)
{
    char *p = b->data;
    size_t len = b->len;

    if (!p) {
        p = calloc(1, 1);
        len = 0;
    }
    if (len_out)
        *len_out = len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

/* Returns the content, "" when empty. */
const char *td_buf_str(const td_buf *b)
{
    return b->data ? b->data : "";
}

/* Copies src into dst of size n, truncating; TD_ETOOBIG when truncated. */
int td__strlcpy(char *dst, const char *src, size_t n)
{
    size_t len = strlen(src);

    if (n == 0)
        return TD_ETOOBIG;
    if (len >= n) {
        memcpy(dst, src, n - 1);
        dst[n - 1] = '\0';
        return TD_ETOOBIG;
    }
    memcpy(dst, src, len + 1);
    return 0;
}
