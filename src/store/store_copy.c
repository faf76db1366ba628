/* trackdoc db copy: every table of a SQLite database into PostgreSQL, in resumable batches, with
 * the rows counted on both sides at the end. Columns go across as text, which PostgreSQL reads
 * into the types of its twin tables (timestamptz, uuid, inet, jsonb, boolean from 0/1). */
#include "core/common.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/store_text.h"
#include "trackdoc/buf.h"
#include "trackdoc/dbcopy.h"
#include "trackdoc/store.h"

/* Tables whose rows are computed from others (the SQLite click rollups): not copied. */
static const char *const derived[] = {"click_link_days", "click_function_days", "click_job_days",
                                      "schema_migrations"};

/* Tables copied first, in this order, because others refer to them. */
static const char *const parents[] = {"user_candidate_info", "link_tracking"};

/* Most tables and columns a copy handles. */
#define MAX_TABLES 64
#define MAX_COLS 64
/* PostgreSQL takes at most 65535 parameters in one statement. */
#define MAX_PARAMS 65000

struct copy {
    const td_db_copy_opts *o;
    sqlite3 *src;
    PGconn *dst;
    char source[PATH_MAX]; /* the source file, as the key of its progress rows */
    char *tables[MAX_TABLES];
    int ntables;
    int64_t all_done, all_total;
    char *err;
    size_t errsz;
};

/* Writes a message into the caller's buffer; returns rc. */
static int fail(struct copy *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct copy *c, int rc, const char *fmt, ...)
{
    va_list ap;

    if (c->err && c->errsz) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errsz, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Swallows libpq notices (the library never prints). */
static void quiet(void *arg, const char *message)
{
    TD_UNUSED(arg);
    TD_UNUSED(message);
}

/* Runs sql on the destination with text parameters (without any, sql may hold several
 * statements); *out (may be NULL) gets the result. Returns 0 or TD_EDB with the message in
 * c->err, prefixed by what. */
static int pg_run(struct copy *c, const char *sql, int n, const char *const *v, PGresult **out,
                  const char *what)
{
    PGresult *r = n ? PQexecParams(c->dst, sql, n, NULL, v, NULL, NULL, 0) : PQexec(c->dst, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
        rc = fail(c, TD_EDB, "%s: %s%s%s%s", what, msg ? msg : PQerrorMessage(c->dst),
                  detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
        PQclear(r);
        r = NULL;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return rc;
}

/* Reads one integer from a query on the source; -1 when it fails. */
static int64_t src_count(struct copy *c, const char *sql, int64_t arg)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;

    if (sqlite3_prepare_v2(c->src, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_bind_parameter_count(st) > 0)
            sqlite3_bind_int64(st, 1, arg);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return n;
}

/* True when name is in the list of n names. */
static bool listed(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

/* Appends s as a quoted SQL identifier (doubling quotes; valid in SQLite and PostgreSQL). */
static int add_ident(td_buf *b, const char *s)
{
    int rc = td_buf_addc(b, '"');

    for (; *s && !rc; s++)
        rc = *s == '"' ? td_buf_adds(b, "\"\"") : td_buf_addc(b, *s);
    return rc ? rc : td_buf_addc(b, '"');
}

/* Lists the source tables to copy into c->tables: the parents first, then the others by name. */
static int list_tables(struct copy *c)
{
    sqlite3_stmt *st = NULL;
    char *names[MAX_TABLES];
    int n = 0, rc = 0;

    if (sqlite3_prepare_v2(c->src,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                           "LIKE 'sqlite_%' ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(c, TD_EDB, "read the source tables: %s", sqlite3_errmsg(c->src));
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!name || listed(name, derived, TD_ARRAY_SIZE(derived)))
            continue;
        if (n == MAX_TABLES) {
            rc = fail(c, TD_ETOOBIG, "more than %d tables in the source", MAX_TABLES);
            break;
        }
        if (!(names[n++] = strdup(name))) {
            n--;
            rc = TD_ENOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    for (size_t p = 0; p < TD_ARRAY_SIZE(parents); p++)
        for (int i = 0; i < n; i++)
            if (names[i] && strcmp(names[i], parents[p]) == 0) {
                c->tables[c->ntables++] = names[i];
                names[i] = NULL;
            }
    for (int i = 0; i < n; i++)
        if (names[i])
            c->tables[c->ntables++] = names[i];
    return rc;
}

/* Reads the columns of a source table into cols (strings owned by the caller, n set), and
 * checks that the destination table has each of them. */
static int table_columns(struct copy *c, const char *table, char **cols, int *n)
{
    sqlite3_stmt *st = NULL;
    PGresult *r = NULL;
    const char *v[1] = {table};
    int rc = 0;

    *n = 0;
    if (sqlite3_prepare_v2(c->src, "SELECT name FROM pragma_table_info(?1) ORDER BY cid", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = fail(c, TD_EDB, "read the columns of %s: %s", table, sqlite3_errmsg(c->src));
        goto out;
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW && *n < MAX_COLS)
        if (!(cols[(*n)++] = strdup((const char *)sqlite3_column_text(st, 0)))) {
            (*n)--;
            rc = TD_ENOMEM;
            goto out;
        }
    if ((rc = pg_run(c,
                     "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                     "current_schema() AND table_name = $1",
                     1, v, &r, table)) != 0)
        goto out;
    if (PQntuples(r) == 0) {
        rc = fail(c, TD_ESCHEMA, "the destination has no table %s", table);
        goto out;
    }
    for (int i = 0; i < *n; i++) {
        bool found = false;
        for (int k = 0; k < PQntuples(r) && !found; k++)
            found = strcmp(PQgetvalue(r, k, 0), cols[i]) == 0;
        if (!found) {
            rc = fail(c, TD_ESCHEMA, "the destination table %s has no column %s", table, cols[i]);
            goto out;
        }
    }
out:
    sqlite3_finalize(st);
    PQclear(r);
    return rc;
}

/* Builds the INSERT of rows rows of ncols columns into table. */
static int insert_sql(td_buf *b, const char *table, char **cols, int ncols, int rows)
{
    int rc = td_buf_adds(b, "INSERT INTO ");

    rc = rc ? rc : add_ident(b, table);
    rc = rc ? rc : td_buf_adds(b, " (");
    for (int i = 0; i < ncols && !rc; i++) {
        rc = i ? td_buf_adds(b, ", ") : 0;
        rc = rc ? rc : add_ident(b, cols[i]);
    }
    rc = rc ? rc : td_buf_adds(b, ") VALUES ");
    for (int r = 0, p = 1; r < rows && !rc; r++) {
        rc = td_buf_adds(b, r ? ", (" : "(");
        for (int i = 0; i < ncols && !rc; i++)
            rc = td_buf_printf(b, i ? ", $%d" : "$%d", p++);
        rc = rc ? rc : td_buf_addc(b, ')');
    }
    return rc ? rc : td_buf_adds(b, " ON CONFLICT DO NOTHING");
}

/* Copies the rows of one table after the rowid the last run reached; *inserted counts the
 * rows this run added. */
static int copy_table(struct copy *c, const char *table, int64_t *inserted)
{
    char *cols[MAX_COLS] = {0};
    const char **vals = NULL;
    char **own = NULL;
    sqlite3_stmt *st = NULL;
    PGresult *r = NULL;
    td_buf sql, ins;
    char last_s[24];
    const char *pv[3];
    int ncols = 0, rows, rc, batch;
    int64_t last = 0, total, done;

    *inserted = 0;
    td_buf_init(&sql, 0);
    td_buf_init(&ins, 0);
    if ((rc = table_columns(c, table, cols, &ncols)) != 0)
        goto out;
    batch = TD_MIN(c->o->batch, MAX_PARAMS / ncols);
    pv[0] = c->source;
    pv[1] = table;
    if ((rc = pg_run(c,
                     "SELECT last_rowid FROM db_copy_progress WHERE source = $1 AND "
                     "table_name = $2",
                     2, pv, &r, "read the progress of an earlier copy")) != 0)
        goto out;
    if (PQntuples(r) == 1)
        last = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    r = NULL;
    rc = td_buf_adds(&sql, "SELECT rowid");
    for (int i = 0; i < ncols && !rc; i++) {
        rc = td_buf_adds(&sql, ", ");
        rc = rc ? rc : add_ident(&sql, cols[i]);
    }
    rc = rc ? rc : td_buf_adds(&sql, " FROM ");
    rc = rc ? rc : add_ident(&sql, table);
    rc = rc ? rc : td_buf_adds(&sql, " WHERE rowid > ?1 ORDER BY rowid LIMIT ?2");
    if (rc)
        goto out;
    if (sqlite3_prepare_v2(c->src, sql.data, -1, &st, NULL) != SQLITE_OK) {
        rc = fail(c, TD_EDB, "read %s: %s", table, sqlite3_errmsg(c->src));
        goto out;
    }
    vals = calloc((size_t)batch * ncols, sizeof *vals);
    own = calloc((size_t)batch * ncols, sizeof *own);
    if (!vals || !own) {
        rc = TD_ENOMEM;
        goto out;
    }
    td_buf_reset(&sql);
    rc = td_buf_adds(&sql, "SELECT count(*) FROM ");
    rc = rc ? rc : add_ident(&sql, table);
    if (rc)
        goto out;
    total = src_count(c, sql.data, 0);
    rc = td_buf_adds(&sql, " WHERE rowid <= ?1");
    if (rc)
        goto out;
    done = src_count(c, sql.data, last);
    c->all_done += done;
    for (;;) {
        int64_t from = last;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, last);
        sqlite3_bind_int(st, 2, batch);
        rows = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            last = sqlite3_column_int64(st, 0);
            for (int i = 0; i < ncols; i++) {
                const unsigned char *t = sqlite3_column_text(st, i + 1);
                size_t k = (size_t)rows * ncols + i;
                /* Text that is not UTF-8, which PostgreSQL refuses, gets U+FFFD for its bad
                 * bytes, as the PostgreSQL store does with what it is given. */
                own[k] = t ? td__store_utf8_fix((const char *)t, &rc) : NULL;
                if (t && !own[k] && !rc)
                    own[k] = strdup((const char *)t);
                if (rc || (t && !own[k])) {
                    rc = TD_ENOMEM;
                    goto out;
                }
                vals[k] = own[k];
            }
            rows++;
        }
        if (rows == 0)
            break;
        td_buf_reset(&ins);
        if ((rc = insert_sql(&ins, table, cols, ncols, rows)) != 0)
            goto out;
        snprintf(last_s, sizeof last_s, "%" PRId64, last);
        pv[2] = last_s;
        /* The rows and the note of how far they go commit together. */
        if ((rc = pg_run(c, "BEGIN", 0, NULL, NULL, "begin")) != 0)
            goto out;
        rc = pg_run(c, ins.data, rows * ncols, vals, &r, table);
        if (rc == 0) {
            *inserted += strtoll(PQcmdTuples(r), NULL, 10);
            rc = pg_run(c,
                        "INSERT INTO db_copy_progress (source, table_name, last_rowid) VALUES "
                        "($1, $2, $3) ON CONFLICT (source, table_name) DO UPDATE SET "
                        "last_rowid = excluded.last_rowid",
                        3, pv, NULL, "record the progress");
        }
        rc = rc ? rc : pg_run(c, "COMMIT", 0, NULL, NULL, "commit");
        PQclear(r);
        r = NULL;
        for (int k = 0; k < rows * ncols; k++) {
            free(own[k]);
            own[k] = NULL;
        }
        if (rc) {
            char why[512];
            snprintf(why, sizeof why, "%s", c->err ? c->err : "");
            PQclear(PQexec(c->dst, "ROLLBACK"));
            rc = fail(c, rc, "rows after rowid %" PRId64 " of %s", from, why);
            goto out;
        }
        done += rows;
        c->all_done += rows;
        if (c->o->progress) {
            td_db_copy_progress p = {table, done, total, c->all_done, c->all_total};
            if ((rc = c->o->progress(c->o->ud, &p)) != 0)
                goto out;
        }
    }
out:
    sqlite3_finalize(st);
    PQclear(r);
    if (own)
        for (int k = 0; k < batch * ncols; k++)
            free(own[k]);
    free(own);
    free(vals);
    for (int i = 0; i < ncols; i++)
        free(cols[i]);
    td_buf_release(&sql);
    td_buf_release(&ins);
    return rc;
}

/* Counts the rows of table on both sides. */
static int count_both(struct copy *c, const char *table, int64_t *src, int64_t *dst)
{
    PGresult *r = NULL;
    td_buf sql;
    int rc;

    td_buf_init(&sql, 0);
    rc = td_buf_adds(&sql, "SELECT count(*) FROM ");
    rc = rc ? rc : add_ident(&sql, table);
    if (rc)
        goto out;
    *src = src_count(c, sql.data, 0);
    if ((rc = pg_run(c, sql.data, 0, NULL, &r, table)) == 0)
        *dst = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
out:
    PQclear(r);
    td_buf_release(&sql);
    return rc;
}

/* Checks from and to and opens both with the store, which checks (source) and brings up to
 * date (destination) their schemas; then opens the raw connections of the copy. */
static int open_both(struct copy *c, const char *from, const char *to)
{
    td_store_options ro = {.readonly = true, .must_exist = true};
    const char *keys[] = {"application_name", "client_encoding", "dbname", NULL};
    const char *vals[] = {"trackdoc db copy", "UTF8", to, NULL};
    const char *path = from;
    td_store *st = NULL;
    char why[512];
    int rc;

    if (strncmp(to, "postgres://", 11) != 0 && strncmp(to, "postgresql://", 13) != 0)
        return fail(c, TD_EINVAL, "the destination must be a postgres:// URL, not \"%s\"", to);
    if (strstr(from, "://") && strncmp(from, "sqlite:", 7) != 0)
        return fail(c, TD_EINVAL, "the source must be a SQLite database, not \"%s\"", from);
    if (strncmp(path, "sqlite:", 7) == 0)
        path += 7;
    else if (strncmp(path, "file:", 5) == 0)
        path += 5;
    if (strncmp(path, "//", 2) == 0)
        path += 2;
    if ((rc = td_store_open(from, &ro, &st, why, sizeof why)) != 0)
        return fail(c, rc, "source %s: %s", from, why);
    td_store_close(st);
    st = NULL;
    if ((rc = td_store_open(to, NULL, &st, why, sizeof why)) != 0)
        return fail(c, rc, "destination: %s", why);
    td_store_close(st);
    if (!realpath(path, c->source))
        snprintf(c->source, sizeof c->source, "%s", path);
    if (sqlite3_open_v2(path, &c->src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return fail(c, TD_EDB, "source %s: %s", path, sqlite3_errmsg(c->src));
    sqlite3_busy_timeout(c->src, 5000);
    c->dst = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c->dst) != CONNECTION_OK)
        return fail(c, TD_EDB, "destination: %s", PQerrorMessage(c->dst));
    PQsetNoticeProcessor(c->dst, quiet, NULL);
    return pg_run(c,
                  "SET TimeZone = 'UTC'; CREATE TABLE IF NOT EXISTS db_copy_progress ("
                  "source text NOT NULL, table_name text NOT NULL, last_rowid bigint NOT NULL, "
                  "PRIMARY KEY (source, table_name))",
                  0, NULL, NULL, "destination");
}

/* Copies a SQLite database into PostgreSQL, resumably, and compares the counts. */
int td_db_copy(const char *from, const char *to, const td_db_copy_opts *opts, char *err,
               size_t errsz)
{
    static const td_db_copy_opts defaults = {.batch = 1000};
    td_db_copy_opts o = opts ? *opts : defaults;
    struct copy c = {.o = &o, .err = err, .errsz = errsz};
    int rc = 0, differ = 0;
    int64_t inserted[MAX_TABLES] = {0};

    if (err && errsz)
        err[0] = '\0';
    if (o.batch == 0)
        o.batch = 1000;
    if (o.batch < 1 || o.batch > 10000)
        return fail(&c, TD_EINVAL, "the batch size must be 1 to 10000");
    if ((rc = open_both(&c, from, to)) != 0 || (rc = list_tables(&c)) != 0)
        goto out;
    for (int i = 0; i < c.ntables; i++) {
        td_buf sql;
        int64_t n;
        td_buf_init(&sql, 0);
        rc = td_buf_adds(&sql, "SELECT count(*) FROM ");
        rc = rc ? rc : add_ident(&sql, c.tables[i]);
        n = rc ? 0 : src_count(&c, sql.data, 0);
        td_buf_release(&sql);
        if (rc)
            goto out;
        c.all_total += n > 0 ? n : 0;
    }
    for (int i = 0; i < c.ntables; i++)
        if ((rc = copy_table(&c, c.tables[i], &inserted[i])) != 0)
            goto out;
    for (int i = 0; i < c.ntables; i++) {
        td_db_copy_table t = {.table = c.tables[i], .inserted = inserted[i]};
        if ((rc = count_both(&c, c.tables[i], &t.source, &t.dest)) != 0)
            goto out;
        if (o.table)
            o.table(o.ud, &t);
        if (t.source != t.dest && !differ++)
            fail(&c, TD_ECONFLICT,
                 "%s: %" PRId64 " rows in the source, %" PRId64
                 " in the destination (was it empty? did the source change meanwhile?)",
                 t.table, t.source, t.dest);
    }
    rc = differ ? TD_ECONFLICT : 0;
    if (rc == 0) {
        const char *v[1] = {c.source};
        /* Verified: the notes of this copy are not needed any more. */
        rc = pg_run(&c, "DELETE FROM db_copy_progress WHERE source = $1", 1, v, NULL,
                    "clean up the progress");
        if (rc == 0)
            pg_run(&c,
                   "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM db_copy_progress) THEN "
                   "DROP TABLE db_copy_progress; END IF; END $$",
                   0, NULL, NULL, "clean up the progress");
    }
out:
    for (int i = 0; i < c.ntables; i++)
        free(c.tables[i]);
    sqlite3_close(c.src);
    PQfinish(c.dst);
    return rc;
}
