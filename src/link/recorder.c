/* Group commit of clicks: submitters append to a queue; one writer thread takes everything
 * queued (up to a batch size), commits it in one transaction, then notifies each submitter.
 * While a batch commits, new clicks gather for the next one, so under load the cost of the
 * fsync is shared by many clicks and at low load a click waits for one commit only. */
#include "core/common.h"

#include <pthread.h>
#include <stdatomic.h>

#include "core/log.h"
#include "trackdoc/classify.h"
#include "trackdoc/recorder.h"
#include "trackdoc/spool.h"
#include "trackdoc/store.h"

struct item {
    struct item *next;
    td_recorder_done_fn done; /* NULL for a reclassification */
    void *ud;
    int rc;         /* the result, once committed */
    td_click click; /* its strings point into text[] */
    /* A reclassification of earlier clicks (done is NULL): n_ids click ids in text[], each
     * TD_LINK_UUID_SIZE bytes, then the reason; the class is click.click_class. */
    size_t n_ids;
    const char *reason;
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
    /* With a spool: set when a batch failed with TD_EDB, cleared by the replay thread when the
     * store answers td_store_ping. While set, batches go to the spool without trying the store,
     * so that an unreachable database (a connect timeout of 10 s) does not stall the writer. */
    atomic_bool outage;
    pthread_t replayer;
    pthread_cond_t replay_work;
    bool replay_stop, replayer_started;
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

/* Writes the clicks of a batch the store did not take to the spool; true when they are safe
 * there. Enters the outage state either way: the store is not tried again until it answers. */
static bool spool_batch(td_recorder *r, const td_click *clicks, size_t n, int *row_rc)
{
    int rc;

    if (!atomic_exchange(&r->outage, true))
        td_log_warn("the database does not take clicks (%s): clicks go to the spool %s until it "
                    "answers again",
                    td_store_errmsg(r->st), td_spool_path(r->cfg.spool));
    if (n == 0)
        return true;
    if ((rc = td_spool_append(r->cfg.spool, clicks, n)) != 0) {
        td_log_warn("spooling %zu clicks failed: %s%s", n, td_strerror(rc),
                    rc == TD_ETOOBIG ? " (the spool is full): they answer 503" : "");
        return false;
    }
    memset(row_rc, 0, n * sizeof *row_rc);
    return true;
}

/* Commits one batch, retrying a failed transaction if configured, and hands it to the notifier.
 * With a spool, a batch the database cannot take goes to the spool instead. */
static void commit_batch(td_recorder *r, struct item *batch, size_t n)
{
    td_click *clicks = calloc(n, sizeof *clicks);
    int *row_rc = calloc(n, sizeof *row_rc);
    struct item *it;
    size_t i = 0;
    int rc = TD_ENOMEM;
    bool spooled = false, outage = r->cfg.spool && atomic_load(&r->outage);

    if (clicks && row_rc) {
        for (it = batch; it; it = it->next)
            if (it->done)
                clicks[i++] = it->click;
        for (int attempt = 0; attempt <= r->cfg.retries && !outage; attempt++) {
            rc = td_store_click_insert(r->st, clicks, i, row_rc);
            if (rc == 0)
                break;
            td_log_warn("click batch of %zu failed (attempt %d): %s", n, attempt + 1,
                        td_store_errmsg(r->st));
            if (attempt < r->cfg.retries)
                usleep(20000u << attempt);
        }
        if (r->cfg.spool && (outage || rc == TD_EDB)) {
            rc = TD_EDB;
            if (spool_batch(r, clicks, i, row_rc)) {
                rc = 0;
                spooled = true;
            }
            outage = true;
        }
    }
    for (i = 0, it = batch; it; it = it->next)
        if (it->done)
            it->rc = rc ? rc : row_rc[i++]; /* row_rc is set whenever rc is 0 */
    /* Reclassifications come after the clicks they name: those are committed by now (in this
     * batch or an earlier one). A failure costs only the class of a few clicks. */
    for (it = batch; it; it = it->next) {
        if (it->done || it->n_ids == 0)
            continue;
        if (outage) {
            /* Its clicks are in the spool, or were refused: the class of a few clicks is not
             * worth a wait for a database that does not answer. */
            td_log_debug("reclassification of %zu clicks dropped: the database does not answer",
                         it->n_ids);
            continue;
        }
        {
            const char *ids[TD_BURST_MAX_EARLIER];
            size_t k;

            for (k = 0; k < it->n_ids && k < TD_BURST_MAX_EARLIER; k++)
                ids[k] = it->text + k * TD_LINK_UUID_SIZE;
            if (td_store_click_reclassify(r->st, ids, k, it->click.click_class, it->reason) != 0)
                td_log_warn("reclassifying %zu clicks failed: %s", k, td_store_errmsg(r->st));
        }
    }
    for (n = 0, it = batch; it; it = it->next) /* the clicks, for the counters */
        n += it->done != NULL;
    for (it = batch; it->next; it = it->next)
        ;
    pthread_mutex_lock(&r->lock);
    if (rc == 0 && spooled) {
        r->stats.spooled += n;
    } else if (rc == 0) {
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
            if (it->done)
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

/* Stores a batch from the spool. A batch the store does not take stops the replay, whatever
 * the reason: the spool keeps it and the next round tries again (a click is never dropped for a
 * failure that may be the database's, only when the store refuses that click itself). */
static int replay_sink(void *ud, const td_click *clicks, size_t n, int *row_rc)
{
    td_recorder *r = ud;
    bool stop;
    int rc;

    pthread_mutex_lock(&r->lock);
    stop = r->replay_stop;
    pthread_mutex_unlock(&r->lock);
    if (stop)
        return TD_ECLOSED; /* the rest waits for the next start */
    rc = td_store_click_insert(r->st, clicks, n, row_rc);
    if (rc)
        td_log_debug("replaying %zu spooled clicks failed: %s", n, td_store_errmsg(r->st));
    return rc;
}

/* The replay thread: while the spool holds clicks or the outage lasts, checks that the store
 * answers, ends the outage and replays the spool; then sleeps replay_ms or until woken. */
static void *replayer_main(void *arg)
{
    td_recorder *r = arg;
    td_spool_stats ss;
    bool failing = false;

    pthread_mutex_lock(&r->lock);
    while (!r->replay_stop) {
        struct timespec until;
        pthread_mutex_unlock(&r->lock);
        td_spool_get_stats(r->cfg.spool, &ss);
        if ((ss.depth > 0 || atomic_load(&r->outage)) && td_store_ping(r->st) == 0) {
            uint64_t before = ss.replayed;
            int rc;

            if (atomic_exchange(&r->outage, false))
                td_log_info("the database answers again: clicks are committed to it");
            rc = ss.depth > 0
                     ? td_spool_replay(r->cfg.spool, TD_MIN(r->cfg.max_batch, 4096), replay_sink, r)
                     : 0;
            td_spool_get_stats(r->cfg.spool, &ss);
            if (rc == 0 && ss.replayed > before)
                td_log_info("spool replayed: %" PRIu64 " clicks", ss.replayed - before);
            else if (rc && rc != TD_ECLOSED && !failing)
                td_log_warn("replaying the spool stopped: %s: %s (%" PRIu64 " clicks wait; "
                            "tried again every %u ms)",
                            td_strerror(rc), td_store_errmsg(r->st), ss.depth, r->cfg.replay_ms);
            failing = rc != 0;
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += r->cfg.replay_ms / 1000;
        until.tv_nsec += (long)(r->cfg.replay_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&r->lock);
        if (!r->replay_stop)
            pthread_cond_timedwait(&r->replay_work, &r->lock, &until);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Starts the recorder: its writer and notifier threads, and with a spool its replay thread. */
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
    if (!r->cfg.replay_ms)
        r->cfg.replay_ms = 1000;
    atomic_init(&r->outage, false);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->work, NULL);
    pthread_cond_init(&r->notify_work, NULL);
    pthread_cond_init(&r->replay_work, NULL);
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
    if (r->cfg.spool) {
        if (pthread_create(&r->replayer, NULL, replayer_main, r) != 0) {
            rc = TD_EIO;
            goto out;
        }
        r->replayer_started = true;
    }
    *out = r;
    r = NULL;
out:
    td_recorder_free(r);
    return rc;
}

/* Stops the replay thread, drains the queue, stops the writer and frees r. */
void td_recorder_free(td_recorder *r)
{
    if (!r)
        return;
    /* The replay thread first: a replay in progress stops after its batch; the rest of the
     * spool waits for the next start. */
    if (r->replayer_started) {
        pthread_mutex_lock(&r->lock);
        r->replay_stop = true;
        pthread_cond_signal(&r->replay_work);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->replayer, NULL);
    }
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
    pthread_cond_destroy(&r->replay_work);
    free(r);
}

/* Appends it to the queue and wakes the writer; a full queue refuses it when bounded. Takes
 * ownership of it (freed on refusal). Returns 0, TD_ECLOSED or TD_EBUSY. */
static int enqueue(td_recorder *r, struct item *it, bool bounded)
{
    int rc = 0;

    pthread_mutex_lock(&r->lock);
    if (r->stopping)
        rc = TD_ECLOSED;
    else if (bounded && r->pending >= r->cfg.max_pending)
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

/* Queues a copy of a click. */
int td_recorder_submit(td_recorder *r, const td_click *c, td_recorder_done_fn done, void *ud)
{
    size_t text = opt_len(c->ip_address) + opt_len(c->user_agent) + opt_len(c->referrer_url) +
                  opt_len(c->session_id) + opt_len(c->metadata) + opt_len(c->class_reason) +
                  opt_len(c->visitor_hash);
    struct item *it = malloc(sizeof *it + text);
    char *p;

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
    it->click.class_reason = opt_copy(&p, c->class_reason);
    it->click.visitor_hash = opt_copy(&p, c->visitor_hash);
    it->n_ids = 0;
    it->reason = NULL;
    return enqueue(r, it, true);
}

/* Queues a reclassification of earlier clicks behind them. */
int td_recorder_reclassify(td_recorder *r, const char (*ids)[TD_LINK_UUID_SIZE], size_t n,
                           int click_class, const char *reason)
{
    size_t rlen = opt_len(reason);
    struct item *it;
    char *p;

    if (n == 0)
        return 0;
    if (n > TD_BURST_MAX_EARLIER)
        n = TD_BURST_MAX_EARLIER;
    if (!(it = calloc(1, sizeof *it + n * TD_LINK_UUID_SIZE + rlen)))
        return TD_ENOMEM;
    for (size_t i = 0; i < n; i++)
        snprintf(it->text + i * TD_LINK_UUID_SIZE, TD_LINK_UUID_SIZE, "%s", ids[i]);
    p = it->text + n * TD_LINK_UUID_SIZE;
    it->reason = opt_copy(&p, reason);
    it->n_ids = n;
    it->click.click_class = click_class;
    return enqueue(r, it, false);
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
    out->outage = r->cfg.spool && atomic_load(&r->outage);
    out->has_spool = r->cfg.spool != NULL;
    if (r->cfg.spool)
        td_spool_get_stats(r->cfg.spool, &out->spool);
    else
        memset(&out->spool, 0, sizeof out->spool);
}
