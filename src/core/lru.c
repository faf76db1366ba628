/* Bounded LRU cache: a chained hash table plus an intrusive doubly-linked recency list. */
#include "core/common.h"

#include <pthread.h>

#include "core/lru.h"

#define KEY_MAX 4096

struct entry {
    struct entry *hnext;       /* hash chain */
    struct entry *prev, *next; /* recency list, head = most recent */
    uint64_t hash;
    int64_t stamp;
    size_t klen;
    unsigned char data[]; /* value (value_size bytes), then the key */
};

struct td_lru {
    pthread_mutex_t lock;
    size_t capacity, count, value_size, nbuckets;
    struct entry **buckets;
    struct entry *head, *tail;
};

/* FNV-1a, 64 bit: keys are short and this is not exposed to hash flooding at scale, since the
 * table is bounded by capacity and chains are at most a few entries long on average. */
static uint64_t hash_key(const void *key, size_t n)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Makes an empty cache. */
int td_lru_new(size_t capacity, size_t value_size, td_lru **out)
{
    td_lru *c = calloc(1, sizeof *c);
    int rc = 0;

    *out = NULL;
    if (!c) {
        rc = TD_ENOMEM;
        goto out;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->capacity = capacity;
    c->value_size = value_size;
    c->nbuckets = 16;
    while (c->nbuckets < capacity * 2)
        c->nbuckets *= 2;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets) {
        rc = TD_ENOMEM;
        goto out;
    }
    *out = c;
    c = NULL;
out:
    td_lru_free(c);
    return rc;
}

/* Frees every entry and the cache. */
void td_lru_free(td_lru *c)
{
    struct entry *e, *next;

    if (!c)
        return;
    for (e = c->head; e; e = next) {
        next = e->next;
        free(e);
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Finds the entry for key, or NULL. */
static struct entry *find(td_lru *c, const void *key, size_t klen, uint64_t h)
{
    struct entry **pp = &c->buckets[h & (c->nbuckets - 1)];

    for (; *pp; pp = &(*pp)->hnext) {
        struct entry *e = *pp;
        if (e->hash == h && e->klen == klen && memcmp(e->data + c->value_size, key, klen) == 0)
            return e;
    }
    return NULL;
}

/* Takes e out of the recency list. */
static void list_unlink(td_lru *c, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

/* Puts e at the head of the recency list. */
static void list_push(td_lru *c, struct entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

/* Removes e from the table and the list and frees it. */
static void drop(td_lru *c, struct entry *e)
{
    struct entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];

    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    list_unlink(c, e);
    c->count--;
    free(e);
}

/* Copies out the value of key. */
int td_lru_get(td_lru *c, const void *key, size_t klen, void *value_out, int64_t *stamp_out)
{
    uint64_t h = hash_key(key, klen);
    struct entry *e;
    int rc = TD_ENOTFOUND;

    pthread_mutex_lock(&c->lock);
    e = find(c, key, klen, h);
    if (e) {
        memcpy(value_out, e->data, c->value_size);
        if (stamp_out)
            *stamp_out = e->stamp;
        list_unlink(c, e);
        list_push(c, e);
        rc = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Inserts or replaces key. */
int td_lru_put(td_lru *c, const void *key, size_t klen, const void *value, int64_t stamp)
{
    uint64_t h = hash_key(key, klen);
    struct entry *e;
    int rc = 0;

    if (klen > KEY_MAX)
        return TD_ETOOBIG;
    if (c->capacity == 0)
        return 0;
    pthread_mutex_lock(&c->lock);
    e = find(c, key, klen, h);
    if (e) {
        memcpy(e->data, value, c->value_size);
        e->stamp = stamp;
        list_unlink(c, e);
        list_push(c, e);
        goto out;
    }
    if (c->count >= c->capacity)
        drop(c, c->tail);
    e = malloc(sizeof *e + c->value_size + klen);
    if (!e) {
        rc = TD_ENOMEM;
        goto out;
    }
    e->hash = h;
    e->stamp = stamp;
    e->klen = klen;
    memcpy(e->data, value, c->value_size);
    memcpy(e->data + c->value_size, key, klen);
    e->hnext = c->buckets[h & (c->nbuckets - 1)];
    c->buckets[h & (c->nbuckets - 1)] = e;
    list_push(c, e);
    c->count++;
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Removes key if present. */
void td_lru_remove(td_lru *c, const void *key, size_t klen)
{
    uint64_t h = hash_key(key, klen);
    struct entry *e;

    pthread_mutex_lock(&c->lock);
    e = find(c, key, klen, h);
    if (e)
        drop(c, e);
    pthread_mutex_unlock(&c->lock);
}

/* Returns the number of entries. */
size_t td_lru_count(td_lru *c)
{
    size_t n;

    pthread_mutex_lock(&c->lock);
    n = c->count;
    pthread_mutex_unlock(&c->lock);
    return n;
}
