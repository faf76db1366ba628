/* Included first by every trackdoc source file: the standard headers, then banned.h. */
#ifndef TD_COMMON_H
#define TD_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "trackdoc/err.h"

#include "core/banned.h"

#define TD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TD_MAX(a, b) ((a) > (b) ? (a) : (b))
#define TD_UNUSED(x) ((void)(x))

/* Copies src into dst of size n, truncating; returns TD_ETOOBIG if it did not fit. */
int td__strlcpy(char *dst, const char *src, size_t n);

#endif
