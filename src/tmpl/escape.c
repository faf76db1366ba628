/* Escapers for interpolated values (HTML, XML) and the text form of JSON numbers. */
#include "core/common.h"

#include "tmpl/tmpl_int.h"

/* Replacements, indexed by escape_class[byte] - 1; HTML and XML differ only for the
 * apostrophe, as &apos; is XML but not HTML 4. */
static const struct {
    const char *s;
    size_t n;
} html_esc[] = {{"&amp;", 5}, {"&lt;", 4}, {"&gt;", 4}, {"&quot;", 6}, {"&#39;", 5}},
  xml_esc[] = {{"&amp;", 5}, {"&lt;", 4}, {"&gt;", 4}, {"&quot;", 6}, {"&apos;", 6}};

/* 0 for bytes copied as they are, else 1 + the index of their replacement. */
static const uint8_t escape_class[256] = {['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4, ['\''] = 5};

#ifdef __SSE2__
#include <emmintrin.h>

/* Returns the index of the first byte in u[i, n) that needs escaping, or n, looking at 16 bytes
 * per step: escaping is where most of the render time goes after lookups. */
static size_t plain_run(const unsigned char *u, size_t i, size_t n)
{
    const __m128i amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'),
                  quot = _mm_set1_epi8('"'), apos = _mm_set1_epi8('\'');

    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
        __m128i m =
            _mm_or_si128(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, lt)),
                                      _mm_or_si128(_mm_cmpeq_epi8(v, gt), _mm_cmpeq_epi8(v, quot))),
                         _mm_cmpeq_epi8(v, apos));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);

        if (bits) {
            i += (size_t)__builtin_ctz(bits); /* the loop below stops right there */
            break;
        }
        i += 16;
    }
    while (i < n && !escape_class[u[i]])
        i++;
    return i;
}
#else
/* Returns the index of the first byte in u[i, n) that needs escaping, or n. */
static size_t plain_run(const unsigned char *u, size_t i, size_t n)
{
    while (i < n && !escape_class[u[i]])
        i++;
    return i;
}
#endif

/* Appends s escaped for HTML or XML, copying the runs between special bytes in one go. */
int td__tmpl_escape_markup(td_buf *out, const char *s, size_t n, bool xml)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run;
    int rc = 0;

    while (i < n && !rc) {
        run = plain_run(u, i, n);
        rc = td__tmpl_put(out, s + i, run - i);
        if (!rc && run < n) {
            int k = escape_class[u[run]] - 1;

            rc = xml ? td__tmpl_put(out, xml_esc[k].s, xml_esc[k].n)
                     : td__tmpl_put(out, html_esc[k].s, html_esc[k].n);
            run++;
        }
        i = run;
    }
    return rc;
}

/* Writes a JSON number: integers as they are, reals in the shortest form that reads back to the
 * same double (1.21, not 1.2099999999999999), as the spec's "proper significance" asks.
 * Assumes the "C" LC_NUMERIC locale, which trackdoc never changes. */
size_t td__tmpl_format_number(char *buf, size_t size, const json_t *v)
{
    int n = 0, prec;

    if (json_is_integer(v)) {
        n = snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else {
        double d = json_real_value(v);

        for (prec = 1; prec <= 17; prec++) {
            n = snprintf(buf, size, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
    }
    return n < 0 ? 0 : TD_MIN((size_t)n, size - 1);
}
