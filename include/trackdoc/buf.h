/* td_buf: a growable byte buffer with a hard maximum size (after curl's dynbuf and git's strbuf).
 * The content is always NUL-terminated; appends past the maximum fail with TD_ETOOBIG and leave
 * the buffer as it was. */
#ifndef TRACKDOC_BUF_H
#define TRACKDOC_BUF_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_buf {
    char *data; /* NUL-terminated content, or NULL before the first append */
    size_t len; /* bytes of content, excluding the terminating NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard maximum of len */
} td_buf;

/* Default maximum for buffers whose owner gives none: 64 MiB. */
#define TD_BUF_DEFAULT_MAX ((size_t)64 << 20)

/* Prepares b, empty, holding at most max bytes (0 means TD_BUF_DEFAULT_MAX). */
void td_buf_init(td_buf *b, size_t max);

/* Frees the content of b and leaves it empty and reusable. */
void td_buf_release(td_buf *b);

/* Empties b, keeping its allocation. */
void td_buf_reset(td_buf *b);

/* Appends n bytes. Returns 0, TD_ETOOBIG past the maximum, or TD_ENOMEM. */
int td_buf_add(td_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string. */
int td_buf_adds(td_buf *b, const char *s);

/* Appends one byte. */
int td_buf_addc(td_buf *b, char c);

/* Appends printf-formatted text. */
int td_buf_printf(td_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends printf-formatted text from a va_list. */
int td_buf_vprintf(td_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Makes room for at least n more bytes without changing the content. */
int td_buf_reserve(td_buf *b, size_t n);

/* Hands the content to the caller, who frees it with free(); b is left empty.
 * Never returns NULL: an empty buffer gives an allocated "". *len_out may be NULL. */
char *td_buf_detach(td_buf *b, size_t *len_out);

/* Returns the content as a string, "" when empty; valid until the next change of b. */
const char *td_buf_str(const td_buf *b);

#ifdef __cplusplus
}
#endif
#endif
