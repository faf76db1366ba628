/* Data files compiled into the library: build/gen/data.c, written by tools/embed.c from the
 * files the Makefile lists in EMBED_DATA (the user-agent lists of data/). */
#ifndef TD_CORE_DATA_H
#define TD_CORE_DATA_H

#include <stddef.h>

/* One embedded file: its path under data/, its bytes (followed by a NUL), its length. */
struct td__data_file {
    const char *name;
    const unsigned char *bytes;
    size_t len;
};

extern const struct td__data_file td__data_files[];
extern const size_t td__data_count;

#endif
