/* The click recorder: clicks from many threads are committed together, one transaction per
 * batch (group commit), and each submitter learns when its own click is durable. The redirect
 * server answers 302 only from that notification, so no acknowledged click is ever lost. */
#ifndef TRACKDOC_RECORDER_H
#define TRACKDOC_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "trackdoc/link.h"
#include "trackdoc/spool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_recorder td_recorder;

/* Called exactly once per accepted click, from the recorder's notifier thread, after its batch was
 * committed, or spooled (rc 0), or failed (rc TD_EDB; TD_ENOTFOUND when the click's link does
 * not exist). It must not block: hand the result to the waiting request and return. */
typedef void (*td_recorder_done_fn)(void *ud, int rc);

typedef struct td_recorder_config {
    size_t max_pending; /* clicks queued before submit answers TD_EBUSY, default 16384 */
    size_t max_batch;   /* clicks per transaction at most, default 512 */
    int retries;        /* extra attempts of a failed batch, default 0: a busy database is
                           already waited for (busy timeout), and a redirect must not hang */
    /* The spool (include/trackdoc/spool.h; not owned, must outlive the recorder), or NULL. With
     * one, a batch whose commit fails with TD_EDB is appended to it and reported committed
     * (rc 0); until the store answers td_store_ping again, later batches go straight to the
     * spool (the database is not tried for each) and reclassifications are dropped. A replay
     * thread checks every replay_ms (default 1000) and replays the spool once the store
     * answers; it replays what an earlier run left at once. */
    td_spool *spool;
    unsigned replay_ms;
} td_recorder_config;

typedef struct td_recorder_stats {
    uint64_t committed; /* clicks committed */
    uint64_t failed;    /* clicks whose batch failed */
    uint64_t batches;   /* transactions committed */
    uint64_t largest;   /* largest batch so far */
    size_t pending;     /* clicks waiting now */
    uint64_t spooled;   /* clicks of failed batches written to the spool (and answered) */
    bool outage;        /* batches go to the spool until the store answers again */
    bool has_spool;     /* a spool is configured: spool holds its counters */
    td_spool_stats spool;
} td_recorder_stats;

/* Starts a recorder writing to st (which must outlive it). cfg may be NULL.
 * Returns 0, TD_ENOMEM or TD_EIO (thread start failed). Free with td_recorder_free. */
int td_recorder_new(td_store *st, const td_recorder_config *cfg, td_recorder **out);

/* Stops the replay thread (a replay in progress ends after its batch; the spool keeps the
 * rest), stops taking clicks, commits (or spools) every click already queued, calling their
 * done functions, and frees r. The spool is not closed. NULL is a no-op. */
void td_recorder_free(td_recorder *r);

/* Queues a copy of c (its strings are copied too); done(ud, rc) follows once the click is
 * committed. Returns 0 (done will be called), TD_EBUSY (queue full), TD_ECLOSED (stopping)
 * or TD_ENOMEM; on an error done is never called. */
int td_recorder_submit(td_recorder *r, const td_click *c, td_recorder_done_fn done, void *ud);

/* Queues a change of class of earlier clicks (ids: n click ids, at most TD_BURST_MAX_EARLIER
 * are taken), applied after every click queued before it is committed: a burst is recognised
 * at its second click, when the first may still be waiting for its commit. Never blocks on a
 * full queue (a reclassification is small and rare). Returns 0, TD_ECLOSED or TD_ENOMEM. */
int td_recorder_reclassify(td_recorder *r, const char (*ids)[TD_LINK_UUID_SIZE], size_t n,
                           int click_class, const char *reason);

/* Records c and waits until it is committed. Returns 0, or the error of submit or of done. */
int td_recorder_record(td_recorder *r, const td_click *c);

/* Reads the counters. */
void td_recorder_get_stats(td_recorder *r, td_recorder_stats *out);

#ifdef __cplusplus
}
#endif
#endif
