/* Bump allocator over a list of chunks. */
#include "core/common.h"

#include "core/arena.h"

#define CHUNK_SIZE 4096
#define ALIGN 16

struct td_arena_chunk {
    td_arena_chunk *next;
    size_t size, used;
    _Alignas(ALIGN) unsigned char data[];
};

/* Prepares an empty arena. */
void td_arena_init(td_arena *a, size_t max)
{
    a->head = NULL;
    a->used_total = 0;
    a->max = max;
}

/* Frees all chunks. */
void td_arena_release(td_arena *a)
{
    td_arena_chunk *c = a->head, *next;

    for (; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
    a->used_total = 0;
}

/* Hands out n aligned bytes. */
void *td_arena_alloc(td_arena *a, size_t n)
{
    td_arena_chunk *c = a->head;
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    void *p;

    if (n == 0)
        need = ALIGN;
    if (need < n || need > a->max || a->used_total > a->max - need)
        return NULL;
    if (!c || c->size - c->used < need) {
        size_t size = need > CHUNK_SIZE ? need : CHUNK_SIZE;
        c = malloc(sizeof *c + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    p = c->data + c->used;
    c->used += need;
    a->used_total += need;
    return p;
}

/* Copies n bytes and a NUL. */
char *td_arena_strndup(td_arena *a, const char *s, size_t n)
{
    char *p = td_arena_alloc(a, n + 1);

    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Copies a string. */
char *td_arena_strdup(td_arena *a, const char *s)
{
    return td_arena_strndup(a, s, strlen(s));
}
