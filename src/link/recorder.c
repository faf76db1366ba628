/* Group commit of clicks: submitters append to a queue; one writer thread takes everything
 * queued (up to a batch size), commits it in one transaction, then notifies each submitter.
 * While a batch commits, new clicks gather for the next one, so under load the cost of the
 * fsync is shared by many clicks and at low load a click waits for one commit only. */
#include "core/common.h"

#include <pthread.h>

#include "core/log.h"
#include "trackdoc/recorder.h"
#include "trackdoc/store.h"

struct item {
    struct item *next;
    td_recorder_done_fn done;
    void *ud;
    int rc;         /* the result, once committed */
    td_click click; /* its strings point into text[] */
    char text[];
};

struct td_recorder {
    td_store *st;
    td_recorder_config cfg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct item *head, *tail;
    size_t pending;
    bool stopping, started;
    td_recorder_stats stats;
    /* Committed batches wait here for the notifier thread, which tells their submitters: the
     * writer goes straight on to the next commit instead of waking connections one by one
     * (a wake-up is a system call: about a fifth of the writer's time, bench/redirect.sh). */
    pthread_t notifier;
    pthread_cond_t notify_work;
    struct item *notify_head, *notify_tail;
    bool notify_stop, notifier_started;
};

/* Length of an optional string including its NUL, 0 for NULL. */
static size_t opt_len(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copies an optional string into the item's text area and returns the copy. */
static const char *opt_copy(char **p, const char *s)
{
    char *d;
    size_t n;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    d = *p;
    memcpy(d, s, n);
    *p += n;
    return d;
}

/* Commits one batch, retrying a failed transaction if configured, and hands it to the notifier. */
static void commit_batch(td_recorder *r, struct item *batch, size_t n)
{
    td_click *clicks = calloc(n, sizeof *clicks);
    int *row_rc = calloc(n, sizeof *row_rc);
    struct item *it;
    size_t i = 0;
    int rc = TD_ENOMEM;

    if (clicks && row_rc) {
        for (it = batch; it; it = it->next)
            clicks[i++] = it->click;
        for (int attempt = 0; attempt <= r->cfg.retries; attempt++) {
            rc = td_store_click_insert(r->st, clicks, n, row_rc);
            if (rc == 0)
                break;
            td_log_warn("click batch of %zu failed (attempt %d): %s", n, attempt + 1,
                        td_store_errmsg(r->st));
            if (attempt < r->cfg.retries)
                usleep(20000u << attempt);
        }
    }
    for (i = 0, it = batch; it; it = it->next, i++)
        it->rc = rc ? rc : row_rc[i]; /* row_rc is set whenever rc is 0 */
    for (it = batch; it->next; it = it->next)
        ;
    pthread_mutex_lock(&r->lock);
    if (rc == 0) {
        r->stats.committed += n;
        r->stats.batches++;
        if (n > r->stats.largest)
            r->stats.largest = n;
    } else {
        r->stats.failed += n;
    }
    if (r->notify_tail)
        r->notify_tail->next = batch;
    else
        r->notify_head = batch;
    r->notify_tail = it;
    pthread_cond_signal(&r->notify_work);
    pthread_mutex_unlock(&r->lock);
    free(clicks);
    free(row_rc);
}

/* The notifier thread: tells each submitter of a committed batch, until stopped and drained. */
static void *notifier_main(void *arg)
{
    td_recorder *r = arg;

    for (;;) {
        struct item *it, *next;

        pthread_mutex_lock(&r->lock);
        while (!r->notify_head && !r->notify_stop)
            pthread_cond_wait(&r->notify_work, &r->lock);
        it = r->notify_head;
        r->notify_head = r->notify_tail = NULL;
        pthread_mutex_unlock(&r->lock);
        if (!it)
            break;
        for (; it; it = next) {
            next = it->next;
            it->done(it->ud, it->rc);
            free(it);
        }
    }
    return NULL;
}

/* The writer thread: takes what is queued and commits it, until stopped and drained. */
static void *writer_main(void *arg)
{
    td_recorder *r = arg;

    for (;;) {
        struct item *batch, *last;
        size_t n = 1;

        pthread_mutex_lock(&r->lock);
        while (!r->head && !r->stopping)
            pthread_cond_wait(&r->work, &r->lock);
        if (!r->head) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        batch = last = r->head;
        while (last->next && n < r->cfg.max_batch) {
            last = last->next;
            n++;
        }
        r->head = last->next;
        if (!r->head)
            r->tail = NULL;
        last->next = NULL;
        r->pending -= n;
        pthread_mutex_unlock(&r->lock);
        commit_batch(r, batch, n);
    }
    return NULL;
}

/* Starts the recorder and its writer thread. */
int td_recorder_new(td_store *st, const td_recorder_config *cfg, td_recorder **out)
{
    td_recorder *r = calloc(1, sizeof *r);
    int rc = 0;

    *out = NULL;
    if (!r)
        return TD_ENOMEM;
    r->st = st;
    if (cfg)
        r->cfg = *cfg;
    if (!r->cfg.max_pending)
        r->cfg.max_pending = 16384;
    if (!r->cfg.max_batch)
        r->cfg.max_batch = 512;
    if (r->cfg.retries < 0)
        r->cfg.retries = 0;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->work, NULL);
    pthread_cond_init(&r->notify_work, NULL);
    if (pthread_create(&r->notifier, NULL, notifier_main, r) != 0) {
        rc = TD_EIO;
        goto out;
    }
    r->notifier_started = true;
    if (pthread_create(&r->thread, NULL, writer_main, r) != 0) {
        rc = TD_EIO;
        goto out;
    }
    r->started = true;
    *out = r;
    r = NULL;
out:
    td_recorder_free(r);
    return rc;
}

/* Drains the queue, stops the writer and frees r. */
void td_recorder_free(td_recorder *r)
{
    if (!r)
        return;
    if (r->started) {
        pthread_mutex_lock(&r->lock);
        r->stopping = true;
        pthread_cond_signal(&r->work);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    /* The writer has committed everything and handed it over: now the notifier drains. */
    if (r->notifier_started) {
        pthread_mutex_lock(&r->lock);
        r->notify_stop = true;
        pthread_cond_signal(&r->notify_work);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->notifier, NULL);
    }
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->work);
    pthread_cond_destroy(&r->notify_work);
    free(r);
}

/* Queues a copy of a click. */
int td_recorder_submit(td_recorder *r, const td_click *c, td_recorder_done_fn done, void *ud)
{
    size_t text = opt_len(c->ip_address) + opt_len(c->user_agent) + opt_len(c->referrer_url) +
                  opt_len(c->session_id) + opt_len(c->metadata);
    struct item *it = malloc(sizeof *it + text);
    char *p;
    int rc = 0;

    if (!it)
        return TD_ENOMEM;
    it->next = NULL;
    it->done = done;
    it->ud = ud;
    it->click = *c;
    p = it->text;
    it->click.ip_address = opt_copy(&p, c->ip_address);
    it->click.user_agent = opt_copy(&p, c->user_agent);
    it->click.referrer_url = opt_copy(&p, c->referrer_url);
    it->click.session_id = opt_copy(&p, c->session_id);
    it->click.metadata = opt_copy(&p, c->metadata);
    pthread_mutex_lock(&r->lock);
    if (r->stopping)
        rc = TD_ECLOSED;
    else if (r->pending >= r->cfg.max_pending)
        rc = TD_EBUSY;
    if (rc == 0) {
        if (r->tail)
            r->tail->next = it;
        else
            r->head = it;
        r->tail = it;
        r->pending++;
        pthread_cond_signal(&r->work);
        it = NULL;
    }
    pthread_mutex_unlock(&r->lock);
    free(it);
    return rc;
}

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool finished;
    int rc;
};

/* Wakes a synchronous caller. */
static void waiter_done(void *ud, int rc)
{
    struct waiter *w = ud;

    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    w->finished = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Records a click and waits for its commit. */
int td_recorder_record(td_recorder *r, const td_click *c)
{
    struct waiter w = {.finished = false, .rc = 0};
    int rc;

    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    rc = td_recorder_submit(r, c, waiter_done, &w);
    if (rc == 0) {
        pthread_mutex_lock(&w.lock);
        while (!w.finished)
            pthread_cond_wait(&w.cond, &w.lock);
        rc = w.rc;
        pthread_mutex_unlock(&w.lock);
    }
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return rc;
}

/* Copies the counters. */
void td_recorder_get_stats(td_recorder *r, td_recorder_stats *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->stats;
    out->pending = r->pending;
    pthread_mutex_unlock(&r->lock);
}
