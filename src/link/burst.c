/* Bursts: a mail security scanner opens every link of a message within a second or two, from
 * one address. td_burst remembers recent clicks per (context, IP) in a fixed-size ring, and
 * tells when a click of another link of the same context came from the same address within the
 * window, handing back the earlier clicks of the burst (once each) for reclassification.
 * Memory is fixed at creation: the oldest click is forgotten when the ring is full. */
#include "core/common.h"

#include <pthread.h>

#include "trackdoc/classify.h"

#define DEFAULT_ENTRIES 65536
#define MAX_ENTRIES (1u << 24)
#define PER_KEY 32  /* clicks remembered per (context, IP): bounds the work of a note */
#define CTX_KEEP 40 /* bytes of a context kept (ids are 36); longer ones are hashed whole */
#define IP_KEEP 46  /* INET6_ADDRSTRLEN */
#define CLICK_ID_SIZE 37
#define NONE UINT32_MAX

/* One remembered click; key is NONE for an empty slot of the ring. */
struct bclick {
    int64_t t;
    uint64_t link;         /* hash of the tracking id */
    uint32_t key;          /* its (context, IP) */
    uint32_t older, newer; /* neighbours among the clicks of that key */
    bool reported;         /* already part of a burst */
    char click_id[CLICK_ID_SIZE];
};

/* One (context, IP) with its clicks, newest first; in a hash bucket's chain or the free list. */
struct bkey {
    uint64_t hash;
    uint32_t chain;
    uint32_t newest, oldest, nclicks;
    char ctx[CTX_KEEP + 1];
    char ip[IP_KEEP + 1];
};

struct td_burst {
    pthread_mutex_t lock;
    uint32_t cap;          /* clicks in the ring, and keys in the pool */
    uint32_t next;         /* ring slot written next: the oldest click */
    struct bclick *clicks; /* the ring */
    struct bkey *keys;
    uint32_t free_keys;
    uint32_t *buckets; /* nbuckets chains of keys */
    uint32_t nbuckets; /* a power of two */
};

/* FNV-1a over s (NUL included, so that ("ab", "c") and ("a", "bc") differ), continuing h. */
static uint64_t fnv(uint64_t h, const char *s)
{
    do {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    } while (*s++);
    return h;
}

/* Makes a detector of max_entries clicks. */
int td_burst_new(size_t max_entries, td_burst **out)
{
    td_burst *b = NULL;
    int rc = TD_ENOMEM;

    *out = NULL;
    if (max_entries == 0)
        max_entries = DEFAULT_ENTRIES;
    if (max_entries > MAX_ENTRIES)
        return TD_EINVAL;
    if (!(b = calloc(1, sizeof *b)))
        goto out;
    b->cap = (uint32_t)max_entries;
    for (b->nbuckets = 1; b->nbuckets < b->cap; b->nbuckets *= 2)
        ;
    if (!(b->clicks = calloc(b->cap, sizeof *b->clicks)) ||
        !(b->keys = calloc(b->cap, sizeof *b->keys)) ||
        !(b->buckets = malloc(b->nbuckets * sizeof *b->buckets)))
        goto out;
    if (pthread_mutex_init(&b->lock, NULL) != 0)
        goto out;
    for (uint32_t i = 0; i < b->cap; i++) {
        b->clicks[i].key = NONE;
        b->keys[i].chain = i + 1 < b->cap ? i + 1 : NONE;
    }
    for (uint32_t i = 0; i < b->nbuckets; i++)
        b->buckets[i] = NONE;
    b->free_keys = 0;
    *out = b;
    b = NULL;
    rc = 0;
out:
    if (b) {
        free(b->clicks);
        free(b->keys);
        free(b->buckets);
        free(b);
    }
    return rc;
}

/* Frees the detector. */
void td_burst_free(td_burst *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->lock);
    free(b->clicks);
    free(b->keys);
    free(b->buckets);
    free(b);
}

/* Returns the key of (ctx, ip) with hash h, or NONE. */
static uint32_t key_find(const td_burst *b, uint64_t h, const char *ctx, const char *ip)
{
    for (uint32_t k = b->buckets[h & (b->nbuckets - 1)]; k != NONE; k = b->keys[k].chain) {
        const struct bkey *e = &b->keys[k];
        if (e->hash == h && strncmp(e->ctx, ctx, CTX_KEEP) == 0 && strncmp(e->ip, ip, IP_KEEP) == 0)
            return k;
    }
    return NONE;
}

/* Takes a key from the free list for (ctx, ip) and puts it in its bucket. There is always one:
 * every key in use holds at least one of the cap clicks, and a slot was freed before. */
static uint32_t key_add(td_burst *b, uint64_t h, const char *ctx, const char *ip)
{
    uint32_t k = b->free_keys, *bucket = &b->buckets[h & (b->nbuckets - 1)];
    struct bkey *e;

    assert(k != NONE);
    e = &b->keys[k];
    b->free_keys = e->chain;
    e->hash = h;
    snprintf(e->ctx, sizeof e->ctx, "%s", ctx);
    snprintf(e->ip, sizeof e->ip, "%s", ip);
    e->newest = e->oldest = NONE;
    e->nclicks = 0;
    e->chain = *bucket;
    *bucket = k;
    return k;
}

/* Takes key k out of its bucket and back to the free list. */
static void key_remove(td_burst *b, uint32_t k)
{
    uint32_t *p = &b->buckets[b->keys[k].hash & (b->nbuckets - 1)];

    while (*p != k)
        p = &b->keys[*p].chain;
    *p = b->keys[k].chain;
    b->keys[k].chain = b->free_keys;
    b->free_keys = k;
}

/* Forgets the click in ring slot i (a no-op for an empty slot); a key left without clicks goes. */
static void click_forget(td_burst *b, uint32_t i)
{
    struct bclick *c = &b->clicks[i];
    struct bkey *e;

    if (c->key == NONE)
        return;
    e = &b->keys[c->key];
    if (c->older != NONE)
        b->clicks[c->older].newer = c->newer;
    else
        e->oldest = c->newer;
    if (c->newer != NONE)
        b->clicks[c->newer].older = c->older;
    else
        e->newest = c->older;
    if (--e->nclicks == 0)
        key_remove(b, c->key);
    c->key = NONE;
}

/* True when a click at t is within window_ms of now (either side: threads note clicks a little
 * out of order). */
static bool within(int64_t t, int64_t now, long window_ms)
{
    int64_t d = t > now ? t - now : now - t;

    return d <= window_ms;
}

/* Notes a click and tells whether it is part of a burst. */
bool td_burst_note(td_burst *b, const char *context, const char *ip, const char *tracking_id,
                   const char *click_id, int64_t now_ms, long window_ms,
                   char earlier[TD_BURST_MAX_EARLIER][37], size_t *n_earlier)
{
    uint64_t h, link;
    uint32_t k, slot;
    bool burst = false;
    struct bclick *c;
    struct bkey *e;

    if (n_earlier)
        *n_earlier = 0;
    if (!b || !context || !*context || window_ms <= 0)
        return false;
    if (!ip)
        ip = "";
    h = fnv(fnv(14695981039346656037ULL, context), ip);
    link = fnv(14695981039346656037ULL, tracking_id ? tracking_id : "");

    pthread_mutex_lock(&b->lock);
    /* Make room first: forgetting the oldest click may free this very key. */
    slot = b->next;
    click_forget(b, slot);
    b->next = b->next + 1 == b->cap ? 0 : b->next + 1;

    k = key_find(b, h, context, ip);
    if (k != NONE) {
        for (uint32_t i = b->keys[k].newest; i != NONE && !burst; i = b->clicks[i].older)
            burst = b->clicks[i].link != link && within(b->clicks[i].t, now_ms, window_ms);
        for (uint32_t i = b->keys[k].newest; burst && i != NONE; i = b->clicks[i].older) {
            c = &b->clicks[i];
            if (c->reported || !within(c->t, now_ms, window_ms))
                continue;
            if (!earlier || !n_earlier || *n_earlier == TD_BURST_MAX_EARLIER)
                break;
            snprintf(earlier[*n_earlier], CLICK_ID_SIZE, "%s", c->click_id);
            (*n_earlier)++;
            c->reported = true;
        }
        /* PER_KEY > 1, so the key keeps clicks and stays. */
        if (b->keys[k].nclicks == PER_KEY)
            click_forget(b, b->keys[k].oldest);
    } else {
        k = key_add(b, h, context, ip);
    }

    e = &b->keys[k];
    c = &b->clicks[slot];
    c->t = now_ms;
    c->link = link;
    c->key = k;
    c->reported = burst;
    snprintf(c->click_id, sizeof c->click_id, "%s", click_id ? click_id : "");
    c->older = e->newest;
    c->newer = NONE;
    if (e->newest != NONE)
        b->clicks[e->newest].newer = slot;
    else
        e->oldest = slot;
    e->newest = slot;
    e->nclicks++;
    pthread_mutex_unlock(&b->lock);
    return burst;
}
