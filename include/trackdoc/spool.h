/* The click spool: while the database cannot be reached, the recorder appends the clicks of a
 * failed batch to a local file, fsynced before their redirects answer, and replays them into the
 * database once it answers again. A replay is harmless: click ids are made at the edge and the
 * store skips a click it already holds (ON CONFLICT (click_id) DO NOTHING). docs/scaling.md. */
#ifndef TRACKDOC_SPOOL_H
#define TRACKDOC_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "trackdoc/link.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_spool td_spool;

/* Bounds of the spool's size (its files together): default, smallest and largest accepted. */
#define TD_SPOOL_MAX_DEFAULT ((uint64_t)1 << 30)
#define TD_SPOOL_MAX_MIN ((uint64_t)64 << 10)
#define TD_SPOOL_MAX_MAX ((uint64_t)1 << 40)

typedef struct td_spool_stats {
    uint64_t depth;     /* clicks in the spool, not replayed yet */
    uint64_t bytes;     /* size of the spool's files */
    uint64_t max_bytes; /* the bound of bytes */
    uint64_t appended;  /* clicks appended since open */
    uint64_t replayed;  /* clicks replayed since open (stored, or found already stored) */
    uint64_t refused;   /* clicks the store refused on replay for their own sake (their link is
                           gone, their data invalid): dropped, each logged */
    uint64_t damaged;   /* bytes of damaged records skipped (a torn last record after a crash) */
} td_spool_stats;

/* Opens the spool at path: its records go to path, a replay in progress to path.replay;
 * path.lock holds an exclusive lock (flock) as long as the spool is open, so that two processes
 * never share one spool. The folder is made (0700) when missing,
 * files are 0600. Clicks left by an earlier run are counted (td_spool_replay replays them) and a
 * damaged last record (a crash during an append) is cut off. max_bytes bounds the files
 * together, TD_SPOOL_MAX_MIN to TD_SPOOL_MAX_MAX (0 = TD_SPOOL_MAX_DEFAULT).
 * Returns 0, TD_EINVAL (max_bytes out of range, path too long or empty), TD_EBUSY (another
 * process has it open), TD_EIO or TD_ENOMEM; err (errsz bytes, may be NULL) gets a message
 * naming the path. Close with td_spool_close. */
int td_spool_open(const char *path, uint64_t max_bytes, td_spool **out, char *err, size_t errsz);

/* Closes the spool and releases its lock; its records stay for the next open. NULL is a no-op. */
void td_spool_close(td_spool *sp);

/* The path the spool was opened with. */
const char *td_spool_path(const td_spool *sp);

/* Appends n clicks, all or none, and fsyncs them: once it returns 0 they survive a crash of
 * the process or of the machine. Safe from several threads, and during td_spool_replay.
 * Returns 0, TD_ETOOBIG (the files would pass max_bytes: nothing written), TD_EIO (write or
 * fsync failed: nothing kept; after a failed fsync the spool takes no more clicks until it is
 * opened again) or TD_ENOMEM. */
int td_spool_append(td_spool *sp, const td_click *clicks, size_t n);

/* Stores n clicks for a replay, as td_store_click_insert does: returns 0 with row_rc[i] for each
 * click (0: stored or already stored; else refused for its own sake, such as TD_ENOTFOUND when
 * its link is gone: dropped and logged), or an error that stops the replay (the clicks of the
 * call stay in the spool for the next one). */
typedef int (*td_spool_sink)(void *ud, const td_click *clicks, size_t n, int *row_rc);

/* Replays the spool into sink, oldest click first, at most batch (1 to 4096) at a time, until
 * it is empty; clicks appended meanwhile are replayed too. The records are read from a file
 * that appends no longer touch (path is renamed to path.replay first), which is removed once
 * every click of it went through: a crash in between replays it again, and the store skips
 * what it holds. One replay at a time (a second caller waits). Returns 0 when the spool is
 * empty, the sink's error (the rest waits for the next call), TD_EIO or TD_ENOMEM. */
int td_spool_replay(td_spool *sp, size_t batch, td_spool_sink sink, void *ud);

/* Reads the counters (cheap: no file access). */
void td_spool_get_stats(td_spool *sp, td_spool_stats *out);

#ifdef __cplusplus
}
#endif
#endif
