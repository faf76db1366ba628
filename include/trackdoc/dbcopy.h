/* Copying a SQLite database into PostgreSQL (trackdoc db copy): every table, in batches that
 * each commit with a note of how far they got, so that a copy that stopped goes on from there. */
#ifndef TRACKDOC_DBCOPY_H
#define TRACKDOC_DBCOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where a copy is; handed to the progress callback after each batch and table. */
typedef struct td_db_copy_progress {
    const char *table; /* the table being copied */
    int64_t done;      /* its source rows read so far (this run and the runs before) */
    int64_t total;     /* its source rows */
    int64_t all_done;  /* the same over every table */
    int64_t all_total;
} td_db_copy_progress;

/* One table at the end of a copy. */
typedef struct td_db_copy_table {
    const char *table;
    int64_t source;   /* rows in the SQLite table */
    int64_t dest;     /* rows in the PostgreSQL table */
    int64_t inserted; /* rows this run inserted */
} td_db_copy_table;

typedef struct td_db_copy_opts {
    int batch; /* source rows per batch (one transaction each), 1..10000, default 1000 */
    /* Called after each committed batch; a non-zero return stops the copy after that batch
     * (it can be resumed), and is returned. May be NULL. */
    int (*progress)(void *ud, const td_db_copy_progress *p);
    /* Called once per table at the end, with the counts compared. May be NULL. */
    int (*table)(void *ud, const td_db_copy_table *t);
    void *ud;
} td_db_copy_opts;

/* Copies every table of the SQLite database from ("sqlite:PATH", "file:PATH" or a path; it
 * must exist and have this program's schema version) into the PostgreSQL database to
 * ("postgres://..."; migrated to this program's schema first). Rows are inserted with ON
 * CONFLICT DO NOTHING, table by table in rowid order; each batch commits together with the
 * rowid it reached (table db_copy_progress in the destination, dropped when a copy has been
 * verified), so running the same copy again resumes where it stopped. Derived tables (the
 * SQLite click rollups) are not copied: PostgreSQL computes them. At the end the rows of each
 * table are counted on both sides.
 * On failure err (errsz bytes, may be NULL) says why, naming the table and rows.
 * Returns 0 (every count equal), TD_EINVAL (a URL of the wrong kind, a bad batch size),
 * TD_ENOTFOUND (no source database), TD_ESTATE (source schema older than this program: migrate
 * it first), TD_ESCHEMA, TD_ECONFLICT (counts differ after the copy: the destination was not
 * empty, or the source changed while it was copied), TD_EDB, TD_ENOMEM, or the progress
 * callback's non-zero value. */
int td_db_copy(const char *from, const char *to, const td_db_copy_opts *opts, char *err,
               size_t errsz);

#ifdef __cplusplus
}
#endif
#endif
