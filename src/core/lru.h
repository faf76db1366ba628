/* A bounded, thread-safe LRU cache from byte-string keys to fixed-size values. Values are
 * copied in and out under the lock, so a caller never holds a pointer into the cache. */
#ifndef TD_CORE_LRU_H
#define TD_CORE_LRU_H

#include <stddef.h>
#include <stdint.h>

typedef struct td_lru td_lru;

/* Makes a cache of at most capacity entries of value_size bytes each; capacity 0 makes a cache
 * that stores nothing. Returns 0 or TD_ENOMEM; free with td_lru_free. */
int td_lru_new(size_t capacity, size_t value_size, td_lru **out);

/* Frees the cache; NULL is a no-op. */
void td_lru_free(td_lru *c);

/* Copies the value of key into value_out and marks it most recently used; *stamp_out (may be
 * NULL) receives the stamp given at put. Returns 0 or TD_ENOTFOUND. */
int td_lru_get(td_lru *c, const void *key, size_t klen, void *value_out, int64_t *stamp_out);

/* Inserts or replaces key, evicting the least recently used entry when full.
 * Returns 0, TD_ETOOBIG (key over 4 KiB) or TD_ENOMEM. */
int td_lru_put(td_lru *c, const void *key, size_t klen, const void *value, int64_t stamp);

/* Removes key if present. */
void td_lru_remove(td_lru *c, const void *key, size_t klen);

/* Returns the number of entries. */
size_t td_lru_count(td_lru *c);

#endif
