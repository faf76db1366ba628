/* Per-IP token buckets in a fixed table: memory is bounded whatever the number of addresses.
 * A slot belongs to one address; a new address takes over a slot only when the old one's
 * bucket has refilled (it has been quiet), otherwise the two share it, which can only make
 * the limit stricter for them, never looser. */
#include "http.h"

#include <pthread.h>

#define STRIPES 64
#define KEY_SIZE 64

struct slot {
    char key[KEY_SIZE];
    double tokens;
    int64_t last_ms;
    bool used;
};

struct td_ratelimit {
    double rate, burst;
    size_t nslots;
    pthread_mutex_t locks[STRIPES];
    struct slot slots[];
};

/* Makes a limiter. */
int td__ratelimit_new(double rate, double burst, size_t slots, td_ratelimit **out)
{
    td_ratelimit *rl;

    *out = NULL;
    if (rate <= 0 || burst < 1 || slots == 0)
        return TD_EINVAL;
    rl = calloc(1, sizeof *rl + slots * sizeof rl->slots[0]);
    if (!rl)
        return TD_ENOMEM;
    rl->rate = rate;
    rl->burst = burst;
    rl->nslots = slots;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&rl->locks[i], NULL);
    *out = rl;
    return 0;
}

/* Frees a limiter. */
void td__ratelimit_free(td_ratelimit *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&rl->locks[i]);
    free(rl);
}

/* FNV-1a of a short key. */
static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Takes one token for key. */
int td__ratelimit_take(td_ratelimit *rl, const char *key, int64_t now_ms)
{
    size_t idx = (size_t)(hash(key) % rl->nslots);
    struct slot *s = &rl->slots[idx];
    pthread_mutex_t *lock = &rl->locks[idx % STRIPES]; /* a slot always maps to one stripe */
    double tokens;
    int wait = 0;

    pthread_mutex_lock(lock);
    tokens = s->used ? s->tokens + (double)(now_ms - s->last_ms) / 1000.0 * rl->rate : rl->burst;
    if (tokens > rl->burst)
        tokens = rl->burst;
    if (strncmp(s->key, key, KEY_SIZE) != 0 && (!s->used || tokens >= rl->burst)) {
        snprintf(s->key, sizeof s->key, "%s", key);
        tokens = rl->burst;
    }
    if (tokens >= 1.0) {
        tokens -= 1.0;
    } else {
        double secs = (1.0 - tokens) / rl->rate;
        wait = (int)secs + 1;
    }
    s->tokens = tokens;
    s->last_ms = now_ms;
    s->used = true;
    pthread_mutex_unlock(lock);
    return wait;
}
