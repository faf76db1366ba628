/* The LRU cache: hits, replacement, eviction order, capacity 0, concurrent use. */
#include "core/common.h"

#include <pthread.h>

#include "core/lru.h"
#include "test.h"

/* Eviction removes the least recently used entry, and a get refreshes an entry. */
static void eviction(void)
{
    td_lru *c = NULL;
    int v, i;
    char key[16];

    CHECK(td_lru_new(3, sizeof(int), &c) == 0, "cache of 3 made");
    for (i = 1; i <= 3; i++) {
        snprintf(key, sizeof key, "k%d", i);
        td_lru_put(c, key, strlen(key), &i, i);
    }
    CHECK(td_lru_get(c, "k1", 2, &v, NULL) == 0 && v == 1, "k1 present");
    i = 4;
    td_lru_put(c, "k4", 2, &i, 4); /* k2 is now the least recently used */
    CHECK(td_lru_get(c, "k2", 2, &v, NULL) == TD_ENOTFOUND, "k2 evicted (least recently used)");
    CHECK(td_lru_get(c, "k1", 2, &v, NULL) == 0, "k1 kept (was used)");
    CHECK(td_lru_get(c, "k3", 2, &v, NULL) == 0, "k3 kept");
    CHECK(td_lru_get(c, "k4", 2, &v, NULL) == 0 && v == 4, "k4 present");
    CHECK_INT(td_lru_count(c), 3, "count stays at capacity");
    i = 40;
    td_lru_put(c, "k4", 2, &i, 99);
    {
        int64_t stamp = 0;
        CHECK(td_lru_get(c, "k4", 2, &v, &stamp) == 0 && v == 40 && stamp == 99,
              "put replaces value and stamp");
    }
    CHECK_INT(td_lru_count(c), 3, "replacement does not grow the cache");
    td_lru_remove(c, "k4", 2);
    CHECK(td_lru_get(c, "k4", 2, &v, NULL) == TD_ENOTFOUND, "removed");
    td_lru_free(c);
}

/* A cache of capacity 0 stores nothing. */
static void disabled(void)
{
    td_lru *c = NULL;
    int v = 1;

    CHECK(td_lru_new(0, sizeof(int), &c) == 0, "cache of 0 made");
    CHECK(td_lru_put(c, "a", 1, &v, 0) == 0, "put succeeds");
    CHECK(td_lru_get(c, "a", 1, &v, NULL) == TD_ENOTFOUND, "nothing stored");
    td_lru_free(c);
    td_lru_free(NULL);
}

static td_lru *shared;

/* Hammers the shared cache from one thread. */
static void *worker(void *arg)
{
    long t = (long)arg;
    char key[32];
    long v;

    for (long i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "k%ld", (i * 7 + t) % 500);
        v = i;
        td_lru_put(shared, key, strlen(key), &v, i);
        td_lru_get(shared, key, strlen(key), &v, NULL);
    }
    return NULL;
}

/* Four threads at once keep the cache consistent and bounded. */
static void threads(void)
{
    pthread_t th[4];

    td_lru_new(100, sizeof(long), &shared);
    for (long i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, worker, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(td_lru_count(shared), 100, "bounded under concurrent use");
    td_lru_free(shared);
}

/* Entry point. */
int main(void)
{
    eviction();
    disabled();
    threads();
    TEST_DONE();
}
