/* The click recorder: clicks from many threads are committed together, one transaction per
 * batch (group commit), and each submitter learns when its own click is durable. The redirect
 * server answers 302 only from that notification, so no acknowledged click is ever lost. */
#ifndef TRACKDOC_RECORDER_H
#define TRACKDOC_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "trackdoc/link.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_recorder td_recorder;

/* Called exactly once per accepted click, from the recorder's notifier thread, after its batch was
 * committed (rc 0) or failed (rc TD_EDB; TD_ENOTFOUND when the click's link does not exist).
 * It must not block: hand the result to the waiting request and return. */
typedef void (*td_recorder_done_fn)(void *ud, int rc);

typedef struct td_recorder_config {
    size_t max_pending; /* clicks queued before submit answers TD_EBUSY, default 16384 */
    size_t max_batch;   /* clicks per transaction at most, default 512 */
    int retries;        /* extra attempts of a failed batch, default 0: a busy database is
                           already waited for (busy timeout), and a redirect must not hang */
} td_recorder_config;

typedef struct td_recorder_stats {
    uint64_t committed; /* clicks committed */
    uint64_t failed;    /* clicks whose batch failed */
    uint64_t batches;   /* transactions committed */
    uint64_t largest;   /* largest batch so far */
    size_t pending;     /* clicks waiting now */
} td_recorder_stats;

/* Starts a recorder writing to st (which must outlive it). cfg may be NULL.
 * Returns 0, TD_ENOMEM or TD_EIO (thread start failed). Free with td_recorder_free. */
int td_recorder_new(td_store *st, const td_recorder_config *cfg, td_recorder **out);

/* Stops taking clicks, commits every click already queued (calling their done functions),
 * and frees r. NULL is a no-op. */
void td_recorder_free(td_recorder *r);

/* Queues a copy of c (its strings are copied too); done(ud, rc) follows once the click is
 * committed. Returns 0 (done will be called), TD_EBUSY (queue full), TD_ECLOSED (stopping)
 * or TD_ENOMEM; on an error done is never called. */
int td_recorder_submit(td_recorder *r, const td_click *c, td_recorder_done_fn done, void *ud);

/* Records c and waits until it is committed. Returns 0, or the error of submit or of done. */
int td_recorder_record(td_recorder *r, const td_click *c);

/* Reads the counters. */
void td_recorder_get_stats(td_recorder *r, td_recorder_stats *out);

#ifdef __cplusplus
}
#endif
#endif
