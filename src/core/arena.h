/* A bump allocator freed in one shot (after h2o's and nginx's pools): every HTTP request owns
 * one, so request handling allocates freely and frees nothing piecemeal. Bounded by a maximum. */
#ifndef TD_CORE_ARENA_H
#define TD_CORE_ARENA_H

#include <stddef.h>

typedef struct td_arena_chunk td_arena_chunk;

typedef struct td_arena {
    td_arena_chunk *head;
    size_t used_total; /* bytes handed out */
    size_t max;        /* hard limit of used_total */
} td_arena;

/* Prepares an empty arena that hands out at most max bytes in total. */
void td_arena_init(td_arena *a, size_t max);

/* Frees every chunk; the arena is empty and reusable. */
void td_arena_release(td_arena *a);

/* Returns n bytes aligned for any type, or NULL past the maximum or out of memory.
 * Freed only by td_arena_release. */
void *td_arena_alloc(td_arena *a, size_t n);

/* Copies n bytes of s and a NUL into the arena; NULL on failure. */
char *td_arena_strndup(td_arena *a, const char *s, size_t n);

/* Copies a string into the arena; NULL on failure. */
char *td_arena_strdup(td_arena *a, const char *s);

#endif
