/* The SQLite backend: a pool of connections in WAL mode, persistent prepared statements, and
 * versioned migrations recorded in schema_migrations. Times are stored as ISO 8601 UTC text
 * with milliseconds, which sorts in time order. */
#include "core/common.h"

#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "core/id.h"
#include "core/time.h"
#include "store/store_int.h"
#include "trackdoc/buf.h"
#include "trackdoc/classify.h"

/* ---- schema ---- */

struct migration {
    int version;
    const char *name;
    const char *sql;
};

/* Click rollups (migration 4). Analytics read daily counts instead of individual clicks:
 *   click_link_days      per link, UTC day, class, method and source: clicks, first and last
 *                        click (link analytics, job and application summaries);
 *   click_function_days  per day, link function, class and method (the overall report);
 *   click_job_days       GET clicks per class, day and job (top jobs of the report: the
 *                        human rows of a period are one range).
 * Triggers on link_clicks keep them right for every writer: inserts (the recorder), updates
 * (reclassification) and deletes (purge, and links deleted with their clicks). A link's job and
 * function are fixed once it has clicks, since the rollups are keyed by them. The index of a
 * link's clicks by time becomes a covering one (class, method, source and visitor hash too):
 * unique visitors, timelines and the triggers' first/last lookups read no table row, and the
 * write path keeps the same number of B-trees that take random inserts (the function and job
 * rollups are keyed by day first, so today's rows sit together). Day bounds: clicked_at is
 * "YYYY-MM-DDTHH:MM:SS.mmmZ", so the clicks of day D are those with
 * D || 'T' <= clicked_at < D || 'U'. */
/* clang-format off */
#define ROLLUP_KEY(r)                                                                              \
    "tracking_id = " r ".tracking_id AND day = substr(" r ".clicked_at, 1, 10) AND click_class "   \
    "= " r ".click_class AND http_method = " r ".http_method AND click_source = " r                \
    ".click_source"
#define ROLLUP_FN_KEY(r)                                                                           \
    "day = substr(" r ".clicked_at, 1, 10) AND link_function = (SELECT link_function FROM "        \
    "link_tracking WHERE tracking_id = " r ".tracking_id) AND click_class = " r                    \
    ".click_class AND http_method = " r ".http_method"
#define ROLLUP_JOB_KEY(r)                                                                          \
    r ".http_method = 'GET' AND day = substr(" r ".clicked_at, 1, 10) AND job_id = (SELECT "       \
    "job_id FROM link_tracking WHERE tracking_id = " r ".tracking_id) AND click_class = " r        \
    ".click_class"
/* The first or last click of r's rollup cell once r is gone; dir is "" or " DESC". */
#define ROLLUP_EDGE(r, dir)                                                                        \
    "(SELECT c.clicked_at FROM link_clicks c WHERE c.tracking_id = " r ".tracking_id"              \
    " AND c.clicked_at >= substr(" r ".clicked_at, 1, 10) || 'T'"                                  \
    " AND c.clicked_at < substr(" r ".clicked_at, 1, 10) || 'U'"                                   \
    " AND c.click_class = " r ".click_class AND c.http_method = " r ".http_method"                 \
    " AND c.click_source = " r ".click_source ORDER BY c.clicked_at" dir " LIMIT 1)"
/* Adds click r to the rollups. */
#define ROLLUP_ADD(r)                                                                              \
    "INSERT INTO click_link_days VALUES (" r ".tracking_id, substr(" r ".clicked_at, 1, 10), " r   \
    ".click_class, " r ".http_method, " r ".click_source, 1, " r ".clicked_at, " r ".clicked_at)"  \
    " ON CONFLICT DO UPDATE SET clicks = clicks + 1, first_at = min(first_at, excluded.first_at)," \
    " last_at = max(last_at, excluded.last_at);"                                                   \
    "INSERT INTO click_function_days SELECT substr(" r ".clicked_at, 1, 10), link_function, " r    \
    ".click_class, " r ".http_method, 1 FROM link_tracking WHERE tracking_id = " r ".tracking_id"  \
    " ON CONFLICT DO UPDATE SET clicks = clicks + 1;"                                              \
    "INSERT INTO click_job_days SELECT substr(" r ".clicked_at, 1, 10), job_id, " r                \
    ".click_class, 1 FROM link_tracking WHERE tracking_id = " r ".tracking_id"                     \
    " AND job_id IS NOT NULL AND " r ".http_method = 'GET' ON CONFLICT DO UPDATE SET clicks = "    \
    "clicks + 1;"
/* Takes click r out of the rollups (after it was deleted or changed). */
#define ROLLUP_SUB(r)                                                                              \
    "UPDATE click_link_days SET clicks = clicks - 1,"                                              \
    " first_at = CASE WHEN first_at < " r ".clicked_at THEN first_at"                              \
    "   ELSE coalesce(" ROLLUP_EDGE(r, "") ", first_at) END,"                                      \
    " last_at = CASE WHEN last_at > " r ".clicked_at THEN last_at"                                 \
    "   ELSE coalesce(" ROLLUP_EDGE(r, " DESC") ", last_at) END"                                   \
    " WHERE " ROLLUP_KEY(r) ";"                                                                    \
    "DELETE FROM click_link_days WHERE " ROLLUP_KEY(r) " AND clicks <= 0;"                         \
    "UPDATE click_function_days SET clicks = clicks - 1 WHERE " ROLLUP_FN_KEY(r) ";"               \
    "DELETE FROM click_function_days WHERE " ROLLUP_FN_KEY(r) " AND clicks <= 0;"                  \
    "UPDATE click_job_days SET clicks = clicks - 1 WHERE " ROLLUP_JOB_KEY(r) ";"                   \
    "DELETE FROM click_job_days WHERE " ROLLUP_JOB_KEY(r) " AND clicks <= 0;"
#define ROLLUP_MIGRATION                                                                           \
    "DROP INDEX IF EXISTS link_clicks_tracking_time;"                                              \
    "CREATE INDEX link_clicks_link ON link_clicks(tracking_id, clicked_at, http_method,"           \
    "  click_class, click_source, visitor_hash);"                                                  \
    "CREATE TABLE click_link_days (tracking_id TEXT NOT NULL, day TEXT NOT NULL,"                  \
    "  click_class TEXT NOT NULL, http_method TEXT NOT NULL, click_source TEXT NOT NULL,"          \
    "  clicks INTEGER NOT NULL, first_at TEXT NOT NULL, last_at TEXT NOT NULL,"                    \
    "  PRIMARY KEY (tracking_id, day, click_class, http_method, click_source)) WITHOUT ROWID;"     \
    "CREATE TABLE click_function_days (day TEXT NOT NULL, link_function TEXT NOT NULL,"            \
    "  click_class TEXT NOT NULL, http_method TEXT NOT NULL, clicks INTEGER NOT NULL,"             \
    "  PRIMARY KEY (day, link_function, click_class, http_method)) WITHOUT ROWID;"                 \
    "CREATE TABLE click_job_days (day TEXT NOT NULL, job_id TEXT NOT NULL,"                        \
    "  click_class TEXT NOT NULL, clicks INTEGER NOT NULL,"                                        \
    "  PRIMARY KEY (click_class, day, job_id)) WITHOUT ROWID;"                                     \
    "INSERT INTO click_link_days SELECT tracking_id, substr(clicked_at, 1, 10), click_class,"      \
    "  http_method, click_source, count(*), min(clicked_at), max(clicked_at) FROM link_clicks"     \
    "  GROUP BY 1, 2, 3, 4, 5;"                                                                    \
    "INSERT INTO click_function_days SELECT substr(c.clicked_at, 1, 10), l.link_function,"         \
    "  c.click_class, c.http_method, count(*) FROM link_clicks c JOIN link_tracking l"             \
    "  ON l.tracking_id = c.tracking_id GROUP BY 1, 2, 3, 4;"                                      \
    "INSERT INTO click_job_days SELECT substr(c.clicked_at, 1, 10), l.job_id, c.click_class,"      \
    "  count(*) FROM link_clicks c JOIN link_tracking l ON l.tracking_id = c.tracking_id"          \
    "  WHERE c.http_method = 'GET' AND l.job_id IS NOT NULL GROUP BY 1, 2, 3;"                     \
    "CREATE TRIGGER link_clicks_rollup_insert AFTER INSERT ON link_clicks BEGIN "                  \
    ROLLUP_ADD("new") " END;"                                                                      \
    "CREATE TRIGGER link_clicks_rollup_delete AFTER DELETE ON link_clicks BEGIN "                  \
    ROLLUP_SUB("old") " END;"                                                                      \
    "CREATE TRIGGER link_clicks_rollup_update AFTER UPDATE OF tracking_id, clicked_at,"            \
    " click_source, http_method, click_class ON link_clicks BEGIN "                                \
    ROLLUP_SUB("old") ROLLUP_ADD("new") " END;"                                                    \
    /* Deleting a link deletes its clicks first, while the link still names their job and          \
     * function (the cascade of the foreign key would run after the link is gone). */              \
    "CREATE TRIGGER link_tracking_rollup_delete BEFORE DELETE ON link_tracking BEGIN"              \
    " DELETE FROM link_clicks WHERE tracking_id = old.tracking_id; END;"                           \
    "CREATE TRIGGER link_tracking_context_fixed BEFORE UPDATE OF job_id, link_function"            \
    " ON link_tracking WHEN old.job_id IS NOT new.job_id OR old.link_function IS NOT"              \
    " new.link_function BEGIN SELECT RAISE(ABORT, 'the job and function of a link cannot"          \
    " change'); END;"
/* clang-format on */

/* Each migration runs once, in its own transaction, and is never edited after release: later
 * changes come as new entries. Table and column names are those of the system our users come
 * from, so their data carries over; columns we add have defaults. */
static const struct migration migrations[] = {
    {1, "initial schema",
     "CREATE TABLE user_candidate_info ("
     "  user_id TEXT PRIMARY KEY,"
     "  first_name TEXT, last_name TEXT, email TEXT, phone_number TEXT, mailing_address TEXT,"
     "  calendly_url TEXT, linkedin_url TEXT, portfolio_url TEXT,"
     "  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
     "  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));"
     "CREATE TABLE link_tracking ("
     "  tracking_id TEXT PRIMARY KEY,"
     "  job_id TEXT, application_id TEXT,"
     "  link_function TEXT NOT NULL, link_type TEXT,"
     "  original_url TEXT NOT NULL, redirect_url TEXT NOT NULL,"
     "  created_at TEXT NOT NULL, created_by TEXT,"
     "  is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),"
     "  description TEXT, expires_at TEXT);"
     /* The context that makes creation idempotent; NULL ids count as equal. */
     "CREATE UNIQUE INDEX link_tracking_context ON link_tracking("
     "  coalesce(job_id, ''), coalesce(application_id, ''), link_function, original_url);"
     "CREATE INDEX link_tracking_job ON link_tracking(job_id, created_at);"
     "CREATE INDEX link_tracking_application ON link_tracking(application_id, created_at);"
     "CREATE INDEX link_tracking_created ON link_tracking(created_at, tracking_id);"
     "CREATE TABLE link_clicks ("
     "  click_id TEXT PRIMARY KEY,"
     "  tracking_id TEXT NOT NULL REFERENCES link_tracking(tracking_id) ON DELETE CASCADE,"
     "  clicked_at TEXT NOT NULL,"
     "  ip_address TEXT, user_agent TEXT, referrer_url TEXT, session_id TEXT,"
     "  click_source TEXT NOT NULL DEFAULT 'direct',"
     "  metadata TEXT CHECK (metadata IS NULL OR json_valid(metadata)),"
     "  http_method TEXT NOT NULL DEFAULT 'GET');"
     "CREATE INDEX link_clicks_tracking_time ON link_clicks(tracking_id, clicked_at);"
     "CREATE INDEX link_clicks_time ON link_clicks(clicked_at);"
     "CREATE TABLE api_keys ("
     "  key_id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,"
     "  key_prefix TEXT NOT NULL, created_at TEXT NOT NULL, last_used_at TEXT, revoked_at TEXT);"
     "CREATE UNIQUE INDEX api_keys_active_name ON api_keys(name) WHERE revoked_at IS NULL;"},
    {2, "generated documents",
     "CREATE TABLE generated_documents ("
     "  document_id TEXT PRIMARY KEY, filename TEXT NOT NULL UNIQUE,"
     "  kind TEXT NOT NULL, format TEXT NOT NULL, template_name TEXT,"
     "  job_id TEXT, application_id TEXT, user_id TEXT,"
     "  size_bytes INTEGER NOT NULL, created_at TEXT NOT NULL, deleted_at TEXT,"
     "  urls_tracked INTEGER NOT NULL DEFAULT 0, tracking_failures INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX generated_documents_job ON generated_documents(job_id);"
     "CREATE INDEX generated_documents_application ON generated_documents(application_id);"
     "CREATE INDEX generated_documents_user ON generated_documents(user_id, created_at);"
     "CREATE INDEX generated_documents_created ON generated_documents(created_at);"},
    {3, "click classes and visitor hashes",
     /* Clicks recorded before classification count as human, but for HEAD requests: those
      * were never visits. */
     "ALTER TABLE link_clicks ADD COLUMN click_class TEXT NOT NULL DEFAULT 'human'"
     "  CHECK (click_class IN ('human', 'bot', 'preview', 'scanner'));"
     "ALTER TABLE link_clicks ADD COLUMN class_reason TEXT;"
     "ALTER TABLE link_clicks ADD COLUMN visitor_hash TEXT;"
     "UPDATE link_clicks SET click_class = 'scanner', class_reason = 'head-request'"
     "  WHERE http_method = 'HEAD';"
     "CREATE TABLE visitor_salts (day TEXT PRIMARY KEY, salt TEXT NOT NULL);"
     /* utm_* tagging of the link's redirects: NULL follows the server, 1 on, 0 off. */
     "ALTER TABLE link_tracking ADD COLUMN utm_tagging INTEGER"
     "  CHECK (utm_tagging IS NULL OR utm_tagging IN (0, 1));"},
    {4, "click rollups for analytics", ROLLUP_MIGRATION},
    {5, "calendly bookings",
     /* One row per Calendly webhook event about an invitee, kept once however often it is
      * delivered; no foreign key to link_tracking: a booking is kept whatever happens to its
      * link. created_at is Calendly's time of the event, received_at ours. */
     "CREATE TABLE link_conversions ("
     "  conversion_id TEXT PRIMARY KEY,"
     "  invitee_uri TEXT NOT NULL,"
     "  event_type TEXT NOT NULL CHECK (event_type IN ('invitee.created', 'invitee.canceled')),"
     "  tracking_id TEXT, job_id TEXT, application_id TEXT, link_function TEXT,"
     "  attribution TEXT NOT NULL DEFAULT 'none'"
     "    CHECK (attribution IN ('tracking_id', 'campaign', 'none')),"
     "  utm_source TEXT, utm_medium TEXT, utm_campaign TEXT, utm_content TEXT, utm_term TEXT,"
     "  scheduled_event_uri TEXT, event_name TEXT, scheduled_start TEXT, scheduled_end TEXT,"
     "  invitee_email TEXT, invitee_hash TEXT, status TEXT,"
     "  rescheduled INTEGER NOT NULL DEFAULT 0 CHECK (rescheduled IN (0, 1)),"
     "  old_invitee TEXT, new_invitee TEXT,"
     "  created_at TEXT, received_at TEXT NOT NULL);"
     "CREATE UNIQUE INDEX link_conversions_event ON link_conversions(invitee_uri, event_type);"
     "CREATE INDEX link_conversions_job ON link_conversions(job_id, received_at);"
     "CREATE INDEX link_conversions_application ON link_conversions(application_id, received_at);"
     "CREATE INDEX link_conversions_tracking ON link_conversions(tracking_id, received_at);"
     "CREATE INDEX link_conversions_received ON link_conversions(received_at, conversion_id);"
     /* Per-database secrets (td_store_secret), e.g. the key of invitee hashes. */
     "CREATE TABLE store_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL,"
     "  created_at TEXT NOT NULL);"},
};

#define KNOWN_VERSION ((int)TD_ARRAY_SIZE(migrations))

/* ---- statements ---- */

#define LINK_COLS                                                                                  \
    "tracking_id, job_id, application_id, link_function, link_type, original_url, redirect_url, "  \
    "created_at, created_by, is_active, description, expires_at, utm_tagging"
#define APIKEY_COLS "key_id, name, key_prefix, created_at, last_used_at, revoked_at"
#define PROFILE_COLS                                                                               \
    "user_id, first_name, last_name, email, phone_number, mailing_address, calendly_url, "         \
    "linkedin_url, portfolio_url, created_at, updated_at"
#define DOC_COLS                                                                                   \
    "document_id, filename, kind, format, template_name, job_id, application_id, user_id, "        \
    "size_bytes, created_at, deleted_at, urls_tracked, tracking_failures"

/* The click insert, one row (numbered parameters) or several in one statement: with the rollup
 * triggers, a statement costs a journal of every page it changes, so batches go in chunks. */
#define CLICK_INSERT                                                                               \
    "INSERT INTO link_clicks (click_id, tracking_id, clicked_at, ip_address, user_agent, "         \
    "referrer_url, session_id, click_source, metadata, http_method, click_class, class_reason, "   \
    "visitor_hash) VALUES "
#define CLICK_COLUMNS 13
#define CLICK_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define CLICK_ROWS2 CLICK_ROW ", " CLICK_ROW
#define CLICK_ROWS4 CLICK_ROWS2 ", " CLICK_ROWS2
#define CLICK_ROWS8 CLICK_ROWS4 ", " CLICK_ROWS4
#define CLICK_ROWS16 CLICK_ROWS8 ", " CLICK_ROWS8
#define CLICK_ROWS32 CLICK_ROWS16 ", " CLICK_ROWS16

enum stmt_id {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_LINK_INSERT,
    S_LINK_BY_CONTEXT,
    S_LINK_GET,
    S_LINK_SET_ACTIVE,
    S_LINK_SET_UTM,
    S_CLICK_INSERT,
    S_CLICK_INSERT2,
    S_CLICK_INSERT8,
    S_CLICK_INSERT32,
    S_CLICK_RECLASSIFY,
    S_CLICK_PURGE,
    S_SALT_INSERT,
    S_SALT_GET,
    S_SALT_PRUNE,
    S_KEY_INSERT,
    S_KEY_FIND,
    S_KEY_TOUCH,
    S_KEY_COUNT_REF,
    S_KEY_REVOKE,
    S_PING,
    S_PROFILE_EXISTS,
    S_PROFILE_UPSERT,
    S_PROFILE_GET,
    S_PROFILE_DELETE,
    S_PROFILE_LIST,
    S_DOC_INSERT,
    S_DOC_GET,
    S_DOC_MARK,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_LINK_INSERT] = "INSERT INTO link_tracking (" LINK_COLS ") "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                      "ON CONFLICT DO NOTHING",
    [S_LINK_BY_CONTEXT] = "SELECT " LINK_COLS " FROM link_tracking "
                          "WHERE coalesce(job_id, '') = ?1 AND coalesce(application_id, '') = ?2 "
                          "AND link_function = ?3 AND original_url = ?4",
    [S_LINK_GET] = "SELECT " LINK_COLS " FROM link_tracking WHERE tracking_id = ?1",
    [S_LINK_SET_ACTIVE] = "UPDATE link_tracking SET is_active = ?2 WHERE tracking_id = ?1",
    [S_LINK_SET_UTM] = "UPDATE link_tracking SET utm_tagging = ?2 WHERE tracking_id = ?1",
    [S_CLICK_INSERT] = CLICK_INSERT "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                                    "ON CONFLICT (click_id) DO NOTHING",
    [S_CLICK_INSERT2] = CLICK_INSERT CLICK_ROWS2 " ON CONFLICT (click_id) DO NOTHING",
    [S_CLICK_INSERT8] = CLICK_INSERT CLICK_ROWS8 " ON CONFLICT (click_id) DO NOTHING",
    [S_CLICK_INSERT32] = CLICK_INSERT CLICK_ROWS32 " ON CONFLICT (click_id) DO NOTHING",
    [S_CLICK_RECLASSIFY] = "UPDATE link_clicks SET click_class = ?2, class_reason = ?3 "
                           "WHERE click_id = ?1",
    /* In batches (each its own transaction), so that the recorder's commits go on between
     * them: a purge of months of clicks, with their rollups, takes seconds. */
    [S_CLICK_PURGE] = "DELETE FROM link_clicks WHERE rowid IN (SELECT rowid FROM link_clicks "
                      "WHERE clicked_at < ?1 ORDER BY clicked_at LIMIT 1000)",
    [S_SALT_INSERT] = "INSERT INTO visitor_salts (day, salt) VALUES (?1, ?2) "
                      "ON CONFLICT (day) DO NOTHING",
    [S_SALT_GET] = "SELECT salt FROM visitor_salts WHERE day = ?1",
    [S_SALT_PRUNE] = "DELETE FROM visitor_salts WHERE day < ?1",
    [S_KEY_INSERT] = "INSERT INTO api_keys (key_id, name, key_hash, key_prefix, created_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_KEY_FIND] = "SELECT " APIKEY_COLS " FROM api_keys "
                   "WHERE key_hash = ?1 AND revoked_at IS NULL",
    [S_KEY_TOUCH] = "UPDATE api_keys SET last_used_at = ?2 WHERE key_id = ?1",
    [S_KEY_COUNT_REF] = "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL "
                        "AND (key_id = ?1 OR name = ?1 OR key_prefix = ?1)",
    [S_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = ?2 WHERE revoked_at IS NULL "
                     "AND (key_id = ?1 OR name = ?1 OR key_prefix = ?1)",
    [S_PING] = "SELECT 1",
    [S_PROFILE_EXISTS] = "SELECT 1 FROM user_candidate_info WHERE user_id = ?1",
    [S_PROFILE_UPSERT] =
        "INSERT INTO user_candidate_info (" PROFILE_COLS ") "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
        "ON CONFLICT (user_id) DO UPDATE SET first_name = excluded.first_name, "
        "last_name = excluded.last_name, email = excluded.email, "
        "phone_number = excluded.phone_number, mailing_address = excluded.mailing_address, "
        "calendly_url = excluded.calendly_url, linkedin_url = excluded.linkedin_url, "
        "portfolio_url = excluded.portfolio_url, updated_at = excluded.updated_at",
    [S_PROFILE_GET] = "SELECT " PROFILE_COLS " FROM user_candidate_info WHERE user_id = ?1",
    [S_PROFILE_DELETE] = "DELETE FROM user_candidate_info WHERE user_id = ?1",
    [S_PROFILE_LIST] = "SELECT " PROFILE_COLS " FROM user_candidate_info WHERE user_id > ?1 "
                       "ORDER BY user_id LIMIT ?2",
    [S_DOC_INSERT] = "INSERT INTO generated_documents (" DOC_COLS ") "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [S_DOC_GET] = "SELECT " DOC_COLS " FROM generated_documents WHERE filename = ?1",
    [S_DOC_MARK] = "UPDATE generated_documents SET deleted_at = ?2 WHERE filename = ?1 "
                   "AND deleted_at IS NULL",
};

/* ---- connection pool ---- */

struct conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    struct conn *next;
};

struct sq {
    char *path;
    td_store_options opts;
    char sync[16];
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct conn *idle;
    int open, max;
    /* The checkpointer: WAL checkpoints run on their own thread and connection, so that no
     * commit (a redirect waiting for its click) ever pays for copying the WAL into the
     * database; commits only wake it when the WAL has grown. */
    pthread_t ckpt_thread;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    bool ckpt_started, ckpt_wanted, ckpt_stop;
};

/* WAL frames after which a commit asks for a checkpoint (SQLite's own default threshold). */
#define CKPT_FRAMES 1000

/* Records the SQLite error of db as this thread's store error; returns TD_EDB. */
static int db_error(sqlite3 *db, const char *what)
{
    return td__store_error(TD_EDB, "%s: %s", what, db ? sqlite3_errmsg(db) : "no connection");
}

/* Closes one connection and its statements. */
static void conn_close(struct conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    sqlite3_close(c->db);
    free(c);
}

/* Called by SQLite after each commit with the WAL's size: past the threshold, wakes the
 * checkpointer (cheap: a flag and a signal, never I/O on the committing thread). */
static int wal_grew(void *ud, sqlite3 *db, const char *name, int frames)
{
    struct sq *s = ud;

    if (frames >= CKPT_FRAMES) {
        pthread_mutex_lock(&s->ckpt_lock);
        s->ckpt_wanted = true;
        pthread_cond_signal(&s->ckpt_cond);
        pthread_mutex_unlock(&s->ckpt_lock);
    }
    return SQLITE_OK;
}

/* Opens one connection with the pragmas every connection needs. */
static int conn_open(struct sq *s, struct conn **out)
{
    struct conn *c = calloc(1, sizeof *c);
    char sql[256];
    int flags, rc = 0;

    *out = NULL;
    if (!c)
        return TD_ENOMEM;
    flags = SQLITE_OPEN_NOMUTEX | (s->opts.readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
    if (!s->opts.readonly && !s->opts.must_exist)
        flags |= SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(s->path, &c->db, flags, NULL) != SQLITE_OK) {
        rc = td__store_error(TD_EDB, "cannot open database %s: %s", s->path,
                             c->db ? sqlite3_errmsg(c->db) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, s->opts.busy_timeout_ms > 0 ? s->opts.busy_timeout_ms : 5000);
    /* WAL: readers never block the click writer. synchronous=FULL makes every commit durable
     * against power loss, not only against a crash of the process; the group commit pays for
     * the fsync once per batch. */
    snprintf(sql, sizeof sql,
             "%sPRAGMA synchronous = %s; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
             " PRAGMA cache_size = -16000;",
             s->opts.readonly ? "" : "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; ",
             s->sync);
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = td__store_error(TD_EDB, "cannot set up database %s: %s", s->path,
                             sqlite3_errmsg(c->db));
        goto out;
    }
    if (!s->opts.readonly)
        sqlite3_wal_hook(c->db, wal_grew, s);
    *out = c;
    c = NULL;
out:
    conn_close(c);
    return rc;
}

/* Takes a connection from the pool, opening one when under the limit, else waiting. */
static int acquire(struct sq *s, struct conn **out)
{
    struct conn *c = NULL;
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    while (!s->idle && s->open >= s->max)
        pthread_cond_wait(&s->freed, &s->lock);
    if (s->idle) {
        c = s->idle;
        s->idle = c->next;
        c->next = NULL;
        pthread_mutex_unlock(&s->lock);
        *out = c;
        return 0;
    }
    s->open++;
    pthread_mutex_unlock(&s->lock);
    rc = conn_open(s, &c);
    if (rc) {
        pthread_mutex_lock(&s->lock);
        s->open--;
        pthread_cond_signal(&s->freed);
        pthread_mutex_unlock(&s->lock);
    }
    *out = c;
    return rc;
}

/* Returns a connection to the pool. */
static void release(struct sq *s, struct conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&s->lock);
    c->next = s->idle;
    s->idle = c;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

/* Returns the prepared statement id of c, reset and unbound, preparing it on first use. */
static sqlite3_stmt *stmt(struct conn *c, enum stmt_id id)
{
    if (!c->stmt[id]) {
        if (sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[id],
                               NULL) != SQLITE_OK) {
            db_error(c->db, "prepare");
            return NULL;
        }
    }
    return c->stmt[id];
}

/* Resets a statement after use so that it holds no lock and no bound value. */
static void done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* Runs a statement that returns no row (BEGIN, COMMIT, ...). */
static int exec_stmt(struct conn *c, enum stmt_id id)
{
    sqlite3_stmt *st = stmt(c, id);
    int rc = 0;

    if (!st)
        return TD_EDB;
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_error(c->db, stmt_sql[id]);
    done(st);
    return rc;
}

/* Binds s as text, or NULL when s is NULL or empty. */
static void bind_opt(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Binds a time as ISO text, or NULL when 0. */
static void bind_time(sqlite3_stmt *st, int i, int64_t ms)
{
    char iso[TD_TIME_ISO_SIZE];

    if (ms == 0) {
        sqlite3_bind_null(st, i);
        return;
    }
    td_time_format(ms, iso);
    sqlite3_bind_text(st, i, iso, -1, SQLITE_TRANSIENT);
}

/* Copies text column i into dst (size n), "" for NULL. */
static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    td__strlcpy(dst, t ? (const char *)t : "", n);
}

/* Reads an ISO time column; 0 for NULL or unparsable. */
static int64_t col_time(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    int64_t ms = 0;

    if (t && td_time_parse((const char *)t, &ms) != 0)
        ms = 0;
    return ms;
}

/* Fills l from a row of LINK_COLS. */
static void read_link(sqlite3_stmt *st, td_link *l)
{
    col_copy(st, 0, l->tracking_id, sizeof l->tracking_id);
    col_copy(st, 1, l->job_id, sizeof l->job_id);
    col_copy(st, 2, l->application_id, sizeof l->application_id);
    col_copy(st, 3, l->link_function, sizeof l->link_function);
    col_copy(st, 4, l->link_type, sizeof l->link_type);
    col_copy(st, 5, l->original_url, sizeof l->original_url);
    col_copy(st, 6, l->redirect_url, sizeof l->redirect_url);
    l->created_at = col_time(st, 7);
    col_copy(st, 8, l->created_by, sizeof l->created_by);
    l->is_active = sqlite3_column_int(st, 9) != 0;
    col_copy(st, 10, l->description, sizeof l->description);
    l->expires_at = col_time(st, 11);
    l->utm_tagging = sqlite3_column_type(st, 12) == SQLITE_NULL ? TD_UTM_DEFAULT
                     : sqlite3_column_int(st, 12)               ? TD_UTM_ON
                                                                : TD_UTM_OFF;
}

/* ---- migrations ---- */

/* Reads the highest applied migration (0 for a new database). */
static int read_version(struct conn *c, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;

    *out = 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                           "name = 'schema_migrations'",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "read schema");
        goto out;
    }
    if (sqlite3_step(st) != SQLITE_ROW)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1,
                           &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = db_error(c->db, "read schema version");
        goto out;
    }
    *out = sqlite3_column_int(st, 0);
out:
    sqlite3_finalize(st);
    return rc;
}

/* Applies every migration newer than the database, each in its own transaction. */
static int sq_migrate(void *be, int *applied)
{
    struct sq *s = be;
    struct conn *c = NULL;
    char *errmsg = NULL;
    int rc, version;

    *applied = 0;
    rc = acquire(s, &c);
    if (rc)
        goto out;
    /* Up to date, the common case: a read answers it, without the write lock (so that opening
     * the store never waits for, or blocks, a writer). */
    if ((rc = read_version(c, &version)) != 0 || version == KNOWN_VERSION)
        goto out;
    for (;;) {
        const struct migration *m;
        char sql[256];
        char iso[TD_TIME_ISO_SIZE];

        /* BEGIN IMMEDIATE first, then read the version: two processes migrating at once
         * serialise here and the second sees the first's work. */
        if ((rc = exec_stmt(c, S_BEGIN)) != 0)
            goto out;
        if (sqlite3_exec(c->db,
                         "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                         "KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                         NULL, NULL, &errmsg) != SQLITE_OK ||
            (rc = read_version(c, &version)) != 0) {
            rc = rc ? rc : td__store_error(TD_EDB, "migrate: %s", errmsg ? errmsg : "?");
            exec_stmt(c, S_ROLLBACK);
            goto out;
        }
        if (version > KNOWN_VERSION) {
            exec_stmt(c, S_ROLLBACK);
            rc = td__store_error(TD_ESCHEMA,
                                 "database schema version %d is newer than this trackdoc "
                                 "(knows %d): upgrade trackdoc",
                                 version, KNOWN_VERSION);
            goto out;
        }
        if (version == KNOWN_VERSION) {
            rc = exec_stmt(c, S_COMMIT);
            goto out;
        }
        m = &migrations[version];
        td_time_format(td_time_now_ms(), iso);
        snprintf(
            sql, sizeof sql,
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, '%s', '%s')",
            m->version, m->name, iso);
        if (sqlite3_exec(c->db, m->sql, NULL, NULL, &errmsg) != SQLITE_OK ||
            sqlite3_exec(c->db, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
            rc = td__store_error(TD_EDB, "migration %d (%s) failed: %s", m->version, m->name,
                                 errmsg ? errmsg : "?");
            exec_stmt(c, S_ROLLBACK);
            goto out;
        }
        if ((rc = exec_stmt(c, S_COMMIT)) != 0)
            goto out;
        (*applied)++;
    }
out:
    sqlite3_free(errmsg);
    release(s, c);
    return rc;
}

/* Gives the database's and this program's schema versions. */
static int sq_schema_version(void *be, int *db_version, int *known)
{
    struct sq *s = be;
    struct conn *c = NULL;
    int rc = acquire(s, &c);

    *known = KNOWN_VERSION;
    if (rc == 0)
        rc = read_version(c, db_version);
    release(s, c);
    return rc;
}

/* ---- open and close ---- */

/* Creates the folder that will hold path, like mkdir -p. */
static int make_parent_dir(const char *path)
{
    char tmp[PATH_MAX];
    char *dir;

    if (td__strlcpy(tmp, path, sizeof tmp))
        return td__store_error(TD_EINVAL, "database path too long");
    dir = dirname(tmp);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return td__store_error(TD_EIO, "cannot create folder %s: %s", dir, strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return td__store_error(TD_EIO, "cannot create folder %s: %s", dir, strerror(errno));
    return 0;
}

static void sq_close(void *be);

/* The checkpointer thread: a PASSIVE checkpoint when a commit asks for one, and every few
 * seconds anyway; a last one when the store closes. */
static void *checkpointer(void *arg)
{
    struct sq *s = arg;
    struct conn *c = NULL;
    bool stop = false;

    if (conn_open(s, &c) != 0) {
        /* Without its connection the WAL is still checkpointed by SQLite when the last
         * connection closes; log nothing here, the store reports its own errors. */
        return NULL;
    }
    while (!stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        pthread_mutex_lock(&s->ckpt_lock);
        while (!s->ckpt_wanted && !s->ckpt_stop)
            if (pthread_cond_timedwait(&s->ckpt_cond, &s->ckpt_lock, &until) == ETIMEDOUT)
                break;
        s->ckpt_wanted = false;
        stop = s->ckpt_stop;
        pthread_mutex_unlock(&s->ckpt_lock);
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    }
    conn_close(c);
    return NULL;
}

/* Opens the pool, migrates unless told not to, and checks the schema version. */
static int sq_open(const char *target, const td_store_options *o, void **be, char *err,
                   size_t errsz)
{
    struct sq *s = calloc(1, sizeof *s);
    struct conn *c = NULL;
    int rc = 0, applied, version = 0;

    *be = NULL;
    if (!s) {
        rc = TD_ENOMEM;
        goto out;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    pthread_mutex_init(&s->ckpt_lock, NULL);
    pthread_cond_init(&s->ckpt_cond, NULL);
    s->opts = *o;
    s->max = o->pool_size > 0 ? o->pool_size : 4;
    if (!o->sync || !*o->sync || strcasecmp(o->sync, "full") == 0) {
        snprintf(s->sync, sizeof s->sync, "FULL");
    } else if (strcasecmp(o->sync, "normal") == 0) {
        snprintf(s->sync, sizeof s->sync, "NORMAL");
    } else {
        rc = td__store_error(TD_EINVAL, "SQLite sync mode must be full or normal, not \"%s\"",
                             o->sync);
        goto out;
    }
    s->path = strdup(target);
    if (!s->path) {
        rc = TD_ENOMEM;
        goto out;
    }
    if ((o->must_exist || o->readonly) && strcmp(target, ":memory:") != 0 &&
        access(target, F_OK) != 0) {
        rc = td__store_error(TD_ENOTFOUND, "no database at %s", target);
        goto out;
    }
    if (!o->readonly && strcmp(target, ":memory:") != 0 && (rc = make_parent_dir(target)) != 0)
        goto out;
    /* Open one connection now so that a bad path fails here, not at the first request. */
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    release(s, c);
    c = NULL;
    if (!o->no_migrate && !o->readonly && (rc = sq_migrate(s, &applied)) != 0)
        goto out;
    if ((rc = sq_schema_version(s, &version, &applied)) != 0)
        goto out;
    if (version > KNOWN_VERSION) {
        rc = td__store_error(TD_ESCHEMA,
                             "database schema version %d is newer than this trackdoc "
                             "(knows %d): upgrade trackdoc",
                             version, KNOWN_VERSION);
        goto out;
    }
    if (version < KNOWN_VERSION && o->readonly) {
        rc = td__store_error(TD_ESTATE,
                             "schema version %d, this trackdoc needs %d: run "
                             "'trackdoc db migrate'",
                             version, KNOWN_VERSION);
        goto out;
    }
    if (!o->readonly && strcmp(target, ":memory:") != 0) {
        if (pthread_create(&s->ckpt_thread, NULL, checkpointer, s) != 0) {
            rc = td__store_error(TD_EIO, "cannot start the checkpoint thread");
            goto out;
        }
        s->ckpt_started = true;
    }
    *be = s;
    s = NULL;
out:
    if (rc && err && errsz)
        snprintf(err, errsz, "%s",
                 td_store_errmsg(NULL)[0] ? td_store_errmsg(NULL) : td_strerror(rc));
    sq_close(s);
    return rc;
}

/* Closes every pooled connection. */
static void sq_close(void *be)
{
    struct sq *s = be;
    struct conn *c, *next;

    if (!s)
        return;
    if (s->ckpt_started) {
        pthread_mutex_lock(&s->ckpt_lock);
        s->ckpt_stop = true;
        pthread_cond_signal(&s->ckpt_cond);
        pthread_mutex_unlock(&s->ckpt_lock);
        pthread_join(s->ckpt_thread, NULL);
    }
    pthread_mutex_destroy(&s->ckpt_lock);
    pthread_cond_destroy(&s->ckpt_cond);
    for (c = s->idle; c; c = next) {
        next = c->next;
        conn_close(c);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->freed);
    free(s->path);
    free(s);
}

/* Runs SELECT 1. */
static int sq_ping(void *be)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc = acquire(s, &c);

    if (rc)
        goto out;
    st = stmt(c, S_PING);
    if (!st || sqlite3_step(st) != SQLITE_ROW)
        rc = db_error(c->db, "ping");
    done(st);
out:
    release(s, c);
    return rc;
}

/* ---- links ---- */

/* Reads the link of l's context into out; TD_ENOTFOUND when there is none. */
static int link_by_context(struct conn *c, const td_link *l, td_link *out)
{
    sqlite3_stmt *st = stmt(c, S_LINK_BY_CONTEXT);
    int rc = 0, step;

    if (!st)
        return TD_EDB;
    sqlite3_bind_text(st, 1, l->job_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, l->application_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, l->link_function, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, l->original_url, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        read_link(st, out);
    else if (step == SQLITE_DONE)
        rc = TD_ENOTFOUND;
    else
        rc = db_error(c->db, "read link by context");
    done(st);
    return rc;
}

/* Inserts a link unless its context exists, then reads the stored row. */
static int sq_link_insert(void *be, const td_link *l, td_link *out, bool *created)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc;

    *created = false;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    /* The common case by far is a context seen before: answer it without a write. */
    rc = link_by_context(c, l, out);
    if (rc != TD_ENOTFOUND)
        goto out;
    if (!(st = stmt(c, S_LINK_INSERT))) {
        rc = TD_EDB;
        goto out;
    }
    sqlite3_bind_text(st, 1, l->tracking_id, -1, SQLITE_STATIC);
    bind_opt(st, 2, l->job_id);
    bind_opt(st, 3, l->application_id);
    sqlite3_bind_text(st, 4, l->link_function, -1, SQLITE_STATIC);
    bind_opt(st, 5, l->link_type);
    sqlite3_bind_text(st, 6, l->original_url, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, l->redirect_url, -1, SQLITE_STATIC);
    bind_time(st, 8, l->created_at);
    bind_opt(st, 9, l->created_by);
    sqlite3_bind_int(st, 10, l->is_active ? 1 : 0);
    bind_opt(st, 11, l->description);
    bind_time(st, 12, l->expires_at);
    if (l->utm_tagging == TD_UTM_ON || l->utm_tagging == TD_UTM_OFF)
        sqlite3_bind_int(st, 13, l->utm_tagging == TD_UTM_ON);
    else
        sqlite3_bind_null(st, 13);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_error(c->db, "insert link");
        done(st);
        goto out;
    }
    *created = sqlite3_changes(c->db) == 1;
    done(st);
    /* Inserted, or a concurrent creator won the race: either way the row of the context is the
     * answer. If there is none, our insert was ignored for its tracking_id (a random clash). */
    rc = link_by_context(c, l, out);
    if (rc == TD_ENOTFOUND)
        rc = td__store_error(TD_ECONFLICT, "tracking id %s already taken", l->tracking_id);
out:
    release(s, c);
    return rc;
}

/* Reads one link by id. */
static int sq_link_get(void *be, const char *id, td_link *out)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc, step;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (!(st = stmt(c, S_LINK_GET))) {
        rc = TD_EDB;
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        read_link(st, out);
    else if (step == SQLITE_DONE)
        rc = TD_ENOTFOUND;
    else
        rc = db_error(c->db, "read link");
    done(st);
out:
    release(s, c);
    return rc;
}

/* Sets is_active of one link. */
static int sq_link_set_active(void *be, const char *id, bool active)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (!(st = stmt(c, S_LINK_SET_ACTIVE))) {
        rc = TD_EDB;
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, active ? 1 : 0);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_error(c->db, "update link");
    else if (sqlite3_changes(c->db) == 0)
        rc = TD_ENOTFOUND;
    done(st);
out:
    release(s, c);
    return rc;
}

/* Sets the utm tagging of a link: NULL (server default), 1 or 0. */
static int sq_link_set_utm(void *be, const char *id, int mode)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (!(st = stmt(c, S_LINK_SET_UTM))) {
        rc = TD_EDB;
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (mode == TD_UTM_ON || mode == TD_UTM_OFF)
        sqlite3_bind_int(st, 2, mode == TD_UTM_ON);
    else
        sqlite3_bind_null(st, 2);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_error(c->db, "update link");
    else if (sqlite3_changes(c->db) == 0)
        rc = TD_ENOTFOUND;
    done(st);
out:
    release(s, c);
    return rc;
}

/* Lists links newest first with optional filters and a keyset cursor. The SQL is built per
 * call from fixed fragments (never from input), so that each filter can use its index. */
static int sq_link_list(void *be, const td_link_filter *f, int (*cb)(void *, const td_link *),
                        void *ud)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    td_buf sql;
    td_link l;
    char iso[TD_TIME_ISO_SIZE];
    int rc, i = 1, step;

    td_buf_init(&sql, 4096);
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = td_buf_adds(&sql, "SELECT " LINK_COLS " FROM link_tracking WHERE 1 = 1");
    if (f->job_id && *f->job_id)
        rc = rc ? rc : td_buf_adds(&sql, " AND job_id = ?");
    if (f->application_id && *f->application_id)
        rc = rc ? rc : td_buf_adds(&sql, " AND application_id = ?");
    if (f->link_function && *f->link_function)
        rc = rc ? rc : td_buf_adds(&sql, " AND link_function = ?");
    if (f->active >= 0)
        rc = rc ? rc : td_buf_adds(&sql, " AND is_active = ?");
    if (f->after_created_at)
        rc = rc ? rc : td_buf_adds(&sql, " AND (created_at, tracking_id) < (?, ?)");
    rc = rc ? rc : td_buf_adds(&sql, " ORDER BY created_at DESC, tracking_id DESC LIMIT ?");
    if (rc)
        goto out;
    if (sqlite3_prepare_v2(c->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "list links");
        goto out;
    }
    if (f->job_id && *f->job_id)
        sqlite3_bind_text(st, i++, f->job_id, -1, SQLITE_STATIC);
    if (f->application_id && *f->application_id)
        sqlite3_bind_text(st, i++, f->application_id, -1, SQLITE_STATIC);
    if (f->link_function && *f->link_function)
        sqlite3_bind_text(st, i++, f->link_function, -1, SQLITE_STATIC);
    if (f->active >= 0)
        sqlite3_bind_int(st, i++, f->active ? 1 : 0);
    if (f->after_created_at) {
        td_time_format(f->after_created_at, iso);
        sqlite3_bind_text(st, i++, iso, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, i++, f->after_tracking_id ? f->after_tracking_id : "", -1,
                          SQLITE_STATIC);
    }
    sqlite3_bind_int(st, i, f->limit);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        read_link(st, &l);
        if ((rc = cb(ud, &l)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(c->db, "list links");
out:
    sqlite3_finalize(st);
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

/* ---- clicks ---- */

/* Binds text cut to at most max bytes (on a UTF-8 boundary), or NULL. */
static void bind_cut(sqlite3_stmt *st, int i, const char *s, size_t max)
{
    size_t n;

    if (!s || !*s) {
        sqlite3_bind_null(st, i);
        return;
    }
    n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC);
}

/* Binds click k as the row whose parameters follow base (CLICK_COLUMNS of them); iso is its
 * time, which must live until the statement has run. */
static void bind_click(sqlite3_stmt *st, int base, const td_click *k, const char *iso)
{
    sqlite3_bind_text(st, base + 1, k->click_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, base + 2, k->tracking_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, base + 3, iso, -1, SQLITE_STATIC);
    bind_cut(st, base + 4, k->ip_address, 64);
    bind_cut(st, base + 5, k->user_agent, TD_CLICK_UA_MAX);
    bind_cut(st, base + 6, k->referrer_url, TD_CLICK_REFERRER_MAX);
    bind_cut(st, base + 7, k->session_id, TD_CLICK_SESSION_MAX);
    sqlite3_bind_text(st, base + 8, td_click_source_name(k->click_source), -1, SQLITE_STATIC);
    bind_opt(st, base + 9, k->metadata);
    sqlite3_bind_text(st, base + 10, k->head ? "HEAD" : "GET", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, base + 11, td_click_class_name((td_click_class)k->click_class), -1,
                      SQLITE_STATIC);
    bind_cut(st, base + 12, k->class_reason, TD_CLASS_REASON_SIZE - 1);
    bind_cut(st, base + 13, k->visitor_hash, 64);
}

/* Inserts n clicks one statement each, with a result per row (inside the caller's
 * transaction). Returns 0 or TD_EDB (then the transaction must be rolled back). */
static int insert_rows(struct conn *c, const td_click *k, size_t n, int *row_rc)
{
    sqlite3_stmt *st = stmt(c, S_CLICK_INSERT);
    char iso[TD_TIME_ISO_SIZE];

    if (!st)
        return TD_EDB;
    for (size_t i = 0; i < n; i++) {
        int step, row = 0;

        td_time_format(k[i].clicked_at, iso);
        bind_click(st, 0, &k[i], iso);
        step = sqlite3_step(st);
        done(st);
        if (step == SQLITE_CONSTRAINT_FOREIGNKEY)
            row = TD_ENOTFOUND; /* statement-level rollback only: the batch goes on */
        else if (step == SQLITE_CONSTRAINT_CHECK)
            row = TD_EINVAL;
        else if (step != SQLITE_DONE)
            return db_error(c->db, "insert click");
        if (row_rc)
            row_rc[i] = row;
    }
    return 0;
}

/* Inserts rows clicks (2, 8 or 32) in one statement; when one of them is refused (unknown link,
 * bad metadata) the statement is undone and they go in one by one for their own results. */
static int insert_chunk(struct conn *c, enum stmt_id id, size_t rows, const td_click *k,
                        int *row_rc)
{
    sqlite3_stmt *st = stmt(c, id);
    char iso[32][TD_TIME_ISO_SIZE];
    int step;

    if (!st)
        return TD_EDB;
    for (size_t i = 0; i < rows; i++) {
        td_time_format(k[i].clicked_at, iso[i]);
        bind_click(st, (int)i * CLICK_COLUMNS, &k[i], iso[i]);
    }
    step = sqlite3_step(st);
    done(st);
    if (step == SQLITE_CONSTRAINT_FOREIGNKEY || step == SQLITE_CONSTRAINT_CHECK)
        return insert_rows(c, k, rows, row_rc);
    if (step != SQLITE_DONE)
        return db_error(c->db, "insert clicks");
    if (row_rc)
        memset(row_rc, 0, rows * sizeof *row_rc);
    return 0;
}

/* Inserts a batch of clicks in one transaction: chunks of 32, 8 and 2 rows per statement. */
static int sq_click_insert(void *be, const td_click *clicks, size_t n, int *row_rc)
{
    struct sq *s = be;
    struct conn *c = NULL;
    size_t i = 0;
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if ((rc = exec_stmt(c, S_BEGIN)) != 0)
        goto out;
    while (i < n && rc == 0) {
        size_t left = n - i, rows = left >= 32 ? 32 : left >= 8 ? 8 : left >= 2 ? 2 : 1;
        int *rr = row_rc ? row_rc + i : NULL;

        if (rows == 1)
            rc = insert_rows(c, clicks + i, rows, rr);
        else
            rc = insert_chunk(c,
                              rows == 32  ? S_CLICK_INSERT32
                              : rows == 8 ? S_CLICK_INSERT8
                                          : S_CLICK_INSERT2,
                              rows, clicks + i, rr);
        i += rows;
    }
    if (rc == 0 && (rc = exec_stmt(c, S_COMMIT)) == 0)
        goto out;
    exec_stmt(c, S_ROLLBACK);
out:
    release(s, c);
    return rc;
}

/* Counts clicks grouped by one key. */
static int sq_click_groups(void *be, const td_click_filter *f, td_click_group g,
                           int (*cb)(void *, const td_click_row *), void *ud)
{
    static const char *const keys[] = {
        [TD_GROUP_ALL] = "''",
        [TD_GROUP_SOURCE] = "c.click_source",
        [TD_GROUP_DAY] = "substr(c.clicked_at, 1, 10)",
        [TD_GROUP_FUNCTION] = "l.link_function",
        [TD_GROUP_LINK] = "c.tracking_id",
        [TD_GROUP_METHOD] = "c.http_method",
        [TD_GROUP_CLASS] = "c.click_class",
    };
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    char since[TD_TIME_ISO_SIZE], until[TD_TIME_ISO_SIZE];
    bool join;
    td_buf sql;
    int rc, i = 1, step;

    td_buf_init(&sql, 4096);
    if ((int)g < 0 || (size_t)g >= TD_ARRAY_SIZE(keys))
        return td__store_error(TD_EINVAL, "unknown click grouping");
    join = (f->job_id && *f->job_id) || (f->application_id && *f->application_id) ||
           g == TD_GROUP_FUNCTION;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = td_buf_printf(&sql,
                       "SELECT %s, count(*), min(c.clicked_at), max(c.clicked_at), "
                       "count(DISTINCT c.visitor_hash) "
                       "FROM link_clicks c%s WHERE 1 = 1",
                       keys[g],
                       join ? " JOIN link_tracking l ON l.tracking_id = c.tracking_id" : "");
    if (f->tracking_id && *f->tracking_id)
        rc = rc ? rc : td_buf_adds(&sql, " AND c.tracking_id = ?");
    if (f->job_id && *f->job_id)
        rc = rc ? rc : td_buf_adds(&sql, " AND l.job_id = ?");
    if (f->application_id && *f->application_id)
        rc = rc ? rc : td_buf_adds(&sql, " AND l.application_id = ?");
    if (f->since)
        rc = rc ? rc : td_buf_adds(&sql, " AND c.clicked_at >= ?");
    if (f->until)
        rc = rc ? rc : td_buf_adds(&sql, " AND c.clicked_at < ?");
    if (!f->include_head && g != TD_GROUP_METHOD)
        rc = rc ? rc : td_buf_adds(&sql, " AND c.http_method = 'GET'");
    if (f->classes && (f->classes & TD_CLASS_ALL) != TD_CLASS_ALL) {
        const char *sep = " AND c.click_class IN (";
        /* Class names are constants: no binding needed. */
        for (int k = 0; k < TD_CLASS_COUNT && !rc; k++) {
            if (!(f->classes & TD_CLASS_BIT(k)))
                continue;
            rc = td_buf_printf(&sql, "%s'%s'", sep, td_click_class_name((td_click_class)k));
            sep = ", ";
        }
        rc = rc ? rc : td_buf_adds(&sql, ")");
    }
    if (g != TD_GROUP_ALL)
        rc = rc ? rc : td_buf_adds(&sql, " GROUP BY 1 ORDER BY 1");
    if (rc)
        goto out;
    if (sqlite3_prepare_v2(c->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "count clicks");
        goto out;
    }
    if (f->tracking_id && *f->tracking_id)
        sqlite3_bind_text(st, i++, f->tracking_id, -1, SQLITE_STATIC);
    if (f->job_id && *f->job_id)
        sqlite3_bind_text(st, i++, f->job_id, -1, SQLITE_STATIC);
    if (f->application_id && *f->application_id)
        sqlite3_bind_text(st, i++, f->application_id, -1, SQLITE_STATIC);
    if (f->since) {
        td_time_format(f->since, since);
        sqlite3_bind_text(st, i++, since, -1, SQLITE_STATIC);
    }
    if (f->until) {
        td_time_format(f->until, until);
        sqlite3_bind_text(st, i++, until, -1, SQLITE_STATIC);
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *key = sqlite3_column_text(st, 0);
        td_click_row row = {
            .key = key ? (const char *)key : "",
            .clicks = sqlite3_column_int64(st, 1),
            .first_click = col_time(st, 2),
            .last_click = col_time(st, 3),
            .visitors = sqlite3_column_int64(st, 4),
        };
        if (row.clicks == 0)
            continue;
        if ((rc = cb(ud, &row)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(c->db, "count clicks");
out:
    sqlite3_finalize(st);
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

/* Appends " AND <col> IN ('human', ...)" for a class set that is not every class. */
static int append_classes(td_buf *sql, const char *col, unsigned classes)
{
    const char *sep = " IN (";
    int rc;

    if (!classes || (classes & TD_CLASS_ALL) == TD_CLASS_ALL)
        return 0;
    rc = td_buf_printf(sql, " AND %s", col);
    /* Class names are constants: no binding needed. */
    for (int k = 0; k < TD_CLASS_COUNT && !rc; k++) {
        if (!(classes & TD_CLASS_BIT(k)))
            continue;
        rc = td_buf_printf(sql, "%s'%s'", sep, td_click_class_name((td_click_class)k));
        sep = ", ";
    }
    return rc ? rc : td_buf_adds(sql, ")");
}

/* Writes the UTC day of a time that must be a UTC midnight ("" for 0). */
static int rollup_day(int64_t ms, char day[TD_TIME_ISO_SIZE])
{
    day[0] = '\0';
    if (!ms)
        return 0;
    if (ms % 86400000LL != 0)
        return td__store_error(TD_EINVAL, "rollup bounds must be UTC midnights");
    td_time_format(ms, day);
    day[10] = '\0';
    return 0;
}

/* The parts of a rollup query that f decides: the join, the conditions, and their values. */
struct rollup_where {
    char since[TD_TIME_ISO_SIZE], until[TD_TIME_ISO_SIZE];
    const char *binds[5];
    int nbinds;
};

/* Appends the conditions of f on the rollup alias d (joined to link_tracking l when f names a
 * job or an application) and remembers the values to bind. */
static int rollup_filter(td_buf *sql, const td_click_filter *f, const char *day_col,
                         struct rollup_where *w)
{
    int rc;

    if ((rc = rollup_day(f->since, w->since)) != 0 || (rc = rollup_day(f->until, w->until)) != 0)
        return rc;
    rc = td_buf_adds(sql, " WHERE 1 = 1");
    if (f->tracking_id && *f->tracking_id) {
        rc = rc ? rc : td_buf_adds(sql, " AND d.tracking_id = ?");
        w->binds[w->nbinds++] = f->tracking_id;
    }
    if (f->job_id && *f->job_id) {
        rc = rc ? rc : td_buf_adds(sql, " AND l.job_id = ?");
        w->binds[w->nbinds++] = f->job_id;
    }
    if (f->application_id && *f->application_id) {
        rc = rc ? rc : td_buf_adds(sql, " AND l.application_id = ?");
        w->binds[w->nbinds++] = f->application_id;
    }
    if (w->since[0]) {
        rc = rc ? rc : td_buf_printf(sql, " AND %s >= ?", day_col);
        w->binds[w->nbinds++] = w->since;
    }
    if (w->until[0]) {
        rc = rc ? rc : td_buf_printf(sql, " AND %s < ?", day_col);
        w->binds[w->nbinds++] = w->until;
    }
    if (!f->include_head)
        rc = rc ? rc : td_buf_adds(sql, " AND d.http_method = 'GET'");
    return rc ? rc : append_classes(sql, "d.click_class", f->classes);
}

/* Prepares sql on c and binds the values of w. */
static int rollup_prepare(struct conn *c, const td_buf *sql, const struct rollup_where *w,
                          sqlite3_stmt **out)
{
    if (sqlite3_prepare_v2(c->db, sql->data, -1, out, NULL) != SQLITE_OK)
        return db_error(c->db, "read click rollups");
    for (int i = 0; i < w->nbinds; i++)
        sqlite3_bind_text(*out, i + 1, w->binds[i], -1, SQLITE_STATIC);
    return 0;
}

/* Returns text column i, "" for NULL. */
static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t ? (const char *)t : "";
}

/* Per-link totals by class, method and source, from click_link_days. */
static int sq_click_totals(void *be, const td_click_filter *f,
                           int (*cb)(void *, const td_click_total *), void *ud)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    struct rollup_where w = {0};
    td_buf sql;
    int rc, step;
    bool join = (f->job_id && *f->job_id) || (f->application_id && *f->application_id);

    td_buf_init(&sql, 4096);
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = td_buf_printf(&sql,
                       "SELECT d.tracking_id, d.click_class, d.http_method, d.click_source, "
                       "sum(d.clicks), min(d.first_at), max(d.last_at) FROM %s",
                       join ? "link_tracking l JOIN click_link_days d ON d.tracking_id = "
                              "l.tracking_id"
                            : "click_link_days d");
    rc = rc ? rc : rollup_filter(&sql, f, "d.day", &w);
    rc = rc ? rc : td_buf_adds(&sql, " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4");
    if (rc || (rc = rollup_prepare(c, &sql, &w, &st)) != 0)
        goto out;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        td_click_total row = {
            .tracking_id = col_text(st, 0),
            .click_class = col_text(st, 1),
            .http_method = col_text(st, 2),
            .click_source = col_text(st, 3),
            .clicks = sqlite3_column_int64(st, 4),
            .first_click = col_time(st, 5),
            .last_click = col_time(st, 6),
        };
        if (row.clicks > 0 && (rc = cb(ud, &row)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(c->db, "read click totals");
out:
    sqlite3_finalize(st);
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

/* Daily counts by function, class and method: from click_function_days for every link, from
 * click_link_days for some. */
static int sq_click_days(void *be, const td_click_filter *f,
                         int (*cb)(void *, const td_click_day *), void *ud)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    struct rollup_where w = {0};
    td_buf sql;
    int rc, step;
    bool some = (f->tracking_id && *f->tracking_id) || (f->job_id && *f->job_id) ||
                (f->application_id && *f->application_id);

    td_buf_init(&sql, 4096);
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (some)
        rc = td_buf_adds(&sql, "SELECT d.day, l.link_function, d.click_class, d.http_method, "
                               "sum(d.clicks) FROM link_tracking l JOIN click_link_days d "
                               "ON d.tracking_id = l.tracking_id");
    else
        rc = td_buf_adds(&sql, "SELECT d.day, d.link_function, d.click_class, d.http_method, "
                               "sum(d.clicks) FROM click_function_days d");
    rc = rc ? rc : rollup_filter(&sql, f, "d.day", &w);
    rc = rc ? rc : td_buf_adds(&sql, " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4");
    if (rc || (rc = rollup_prepare(c, &sql, &w, &st)) != 0)
        goto out;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        td_click_day row = {
            .day = col_text(st, 0),
            .link_function = col_text(st, 1),
            .click_class = col_text(st, 2),
            .http_method = col_text(st, 3),
            .clicks = sqlite3_column_int64(st, 4),
        };
        if (row.clicks > 0 && (rc = cb(ud, &row)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(c->db, "read daily clicks");
out:
    sqlite3_finalize(st);
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

/* Jobs ranked by human GET clicks, from click_job_days. */
static int sq_click_top_jobs(void *be, const td_click_filter *f, int limit,
                             int (*cb)(void *, const td_click_job *), void *ud)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    struct rollup_where w = {0};
    td_click_filter days = {.since = f->since, .until = f->until, .include_head = true};
    td_buf sql;
    int rc, step;

    td_buf_init(&sql, 4096);
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    /* Only the rows of human and counted classes matter; the counted ones go into a CASE. */
    rc = td_buf_adds(&sql, "SELECT d.job_id, sum(CASE WHEN d.click_class = 'human' THEN d.clicks "
                           "ELSE 0 END) AS human, sum(CASE WHEN 1 = 1");
    rc = rc ? rc : append_classes(&sql, "d.click_class", f->classes);
    rc = rc ? rc : td_buf_adds(&sql, " THEN d.clicks ELSE 0 END) AS counted FROM click_job_days d");
    days.classes = f->classes ? f->classes | TD_CLASS_BIT(TD_CLASS_HUMAN) : 0;
    rc = rc ? rc : rollup_filter(&sql, &days, "d.day", &w);
    rc = rc ? rc
            : td_buf_printf(&sql,
                            " GROUP BY d.job_id HAVING human > 0 OR counted > 0 ORDER BY "
                            "human DESC, counted DESC, d.job_id LIMIT %d",
                            limit);
    if (rc || (rc = rollup_prepare(c, &sql, &w, &st)) != 0)
        goto out;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        td_click_job row = {
            .job_id = col_text(st, 0),
            .human_clicks = sqlite3_column_int64(st, 1),
            .clicks = sqlite3_column_int64(st, 2),
        };
        if ((rc = cb(ud, &row)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(c->db, "read top jobs");
out:
    sqlite3_finalize(st);
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

/* Sets the class of stored clicks, in one transaction. */
static int sq_click_reclassify(void *be, const char *const *ids, size_t n, int cls,
                               const char *reason)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if ((rc = exec_stmt(c, S_BEGIN)) != 0)
        goto out;
    if (!(st = stmt(c, S_CLICK_RECLASSIFY))) {
        rc = TD_EDB;
        goto rollback;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, td_click_class_name((td_click_class)cls), -1, SQLITE_STATIC);
        bind_cut(st, 3, reason, TD_CLASS_REASON_SIZE - 1);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = db_error(c->db, "reclassify clicks");
            done(st);
            goto rollback;
        }
        done(st);
    }
    if ((rc = exec_stmt(c, S_COMMIT)) == 0)
        goto out;
rollback:
    exec_stmt(c, S_ROLLBACK);
out:
    release(s, c);
    return rc;
}

/* Deletes clicks older than a time. */
static int sq_click_purge(void *be, int64_t before, int64_t *deleted)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    char iso[TD_TIME_ISO_SIZE];
    int rc;

    *deleted = 0;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (!(st = stmt(c, S_CLICK_PURGE))) {
        rc = TD_EDB;
        goto out;
    }
    td_time_format(before, iso);
    for (;;) {
        int64_t n;
        sqlite3_bind_text(st, 1, iso, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = db_error(c->db, "purge clicks");
            done(st);
            break;
        }
        /* Only the rows of link_clicks itself: sqlite3_changes leaves out trigger work. */
        n = sqlite3_changes64(c->db);
        done(st);
        *deleted += n;
        if (n < 1000) /* the LIMIT of S_CLICK_PURGE: the last batch */
            break;
    }
out:
    release(s, c);
    return rc;
}

/* Gets the salt of a day, making it when this is the day's first caller. */
static int sq_visitor_salt(void *be, const char *day, const char *keep_from, char salt_hex[65])
{
    static const char hex[] = "0123456789abcdef";
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    unsigned char rnd[32];
    char fresh[65];
    int rc;

    if ((rc = td_random_bytes(rnd, sizeof rnd)) != 0)
        return td__store_error(TD_EIO, "no random source for the visitor salt");
    for (size_t i = 0; i < sizeof rnd; i++) {
        fresh[2 * i] = hex[rnd[i] >> 4];
        fresh[2 * i + 1] = hex[rnd[i] & 15];
    }
    fresh[64] = '\0';
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if ((rc = exec_stmt(c, S_BEGIN)) != 0)
        goto out;
    if (!(st = stmt(c, S_SALT_PRUNE)))
        goto fail;
    sqlite3_bind_text(st, 1, keep_from, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail_done;
    done(st);
    if (!(st = stmt(c, S_SALT_INSERT)))
        goto fail;
    sqlite3_bind_text(st, 1, day, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fresh, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail_done;
    done(st);
    if (!(st = stmt(c, S_SALT_GET)))
        goto fail;
    sqlite3_bind_text(st, 1, day, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto fail_done;
    col_copy(st, 0, salt_hex, 65);
    done(st);
    if ((rc = exec_stmt(c, S_COMMIT)) == 0)
        goto out;
    goto rollback;
fail_done:
    done(st);
fail:
    rc = db_error(c->db, "visitor salt");
rollback:
    exec_stmt(c, S_ROLLBACK);
out:
    release(s, c);
    return rc;
}

/* ---- API keys ---- */

/* Fills k from a row of APIKEY_COLS. */
static void read_key(sqlite3_stmt *st, td_apikey_row *k)
{
    col_copy(st, 0, k->key_id, sizeof k->key_id);
    col_copy(st, 1, k->name, sizeof k->name);
    col_copy(st, 2, k->prefix, sizeof k->prefix);
    k->created_at = col_time(st, 3);
    k->last_used_at = col_time(st, 4);
    k->revoked_at = col_time(st, 5);
}

/* Stores a new key hash. */
static int sq_apikey_insert(void *be, const td_apikey_row *k, const char *hash_hex)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc, step;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (!(st = stmt(c, S_KEY_INSERT))) {
        rc = TD_EDB;
        goto out;
    }
    sqlite3_bind_text(st, 1, k->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, hash_hex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, k->prefix, -1, SQLITE_STATIC);
    bind_time(st, 5, k->created_at);
    step = sqlite3_step(st);
    if ((step & 0xff) == SQLITE_CONSTRAINT)
        rc = td__store_error(TD_ECONFLICT, "an active API key is already named \"%s\"", k->name);
    else if (step != SQLITE_DONE)
        rc = db_error(c->db, "insert API key");
    done(st);
out:
    release(s, c);
    return rc;
}

/* Finds an active key by hash. */
static int sq_apikey_find(void *be, const char *hash_hex, td_apikey_row *out)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc, step;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (!(st = stmt(c, S_KEY_FIND))) {
        rc = TD_EDB;
        goto out;
    }
    sqlite3_bind_text(st, 1, hash_hex, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        read_key(st, out);
    else if (step == SQLITE_DONE)
        rc = TD_ENOTFOUND;
    else
        rc = db_error(c->db, "find API key");
    done(st);
out:
    release(s, c);
    return rc;
}

/* Records when a key was last used. */
static int sq_apikey_touch(void *be, const char *key_id, int64_t now)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (!(st = stmt(c, S_KEY_TOUCH))) {
        rc = TD_EDB;
        goto out;
    }
    sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC);
    bind_time(st, 2, now);
    /* Best effort: while another process holds the write lock, skip it rather than make the
     * API request wait for the lock. */
    sqlite3_busy_timeout(c->db, 0);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_error(c->db, "update API key");
    sqlite3_busy_timeout(c->db, s->opts.busy_timeout_ms > 0 ? s->opts.busy_timeout_ms : 5000);
    done(st);
out:
    release(s, c);
    return rc;
}

/* Lists keys, newest first. */
static int sq_apikey_list(void *be, bool all, int (*cb)(void *, const td_apikey_row *), void *ud)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    td_apikey_row k;
    int rc, step;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (sqlite3_prepare_v2(c->db,
                           all ? "SELECT " APIKEY_COLS " FROM api_keys ORDER BY created_at DESC"
                               : "SELECT " APIKEY_COLS " FROM api_keys WHERE revoked_at IS NULL "
                                 "ORDER BY created_at DESC",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "list API keys");
        goto out;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        read_key(st, &k);
        if ((rc = cb(ud, &k)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(c->db, "list API keys");
out:
    sqlite3_finalize(st);
    release(s, c);
    return rc;
}

/* Revokes the one active key that ref names. */
static int sq_apikey_revoke(void *be, const char *ref, int64_t now)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int64_t matches = 0;
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if ((rc = exec_stmt(c, S_BEGIN)) != 0)
        goto out;
    if (!(st = stmt(c, S_KEY_COUNT_REF))) {
        rc = TD_EDB;
        goto rollback;
    }
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        matches = sqlite3_column_int64(st, 0);
    done(st);
    if (matches == 0) {
        rc = td__store_error(TD_ENOTFOUND, "no active API key has the id, name or prefix \"%s\"",
                             ref);
        goto rollback;
    }
    if (matches > 1) {
        rc = td__store_error(TD_ECONFLICT, "\"%s\" matches %" PRId64 " keys: give the key id", ref,
                             matches);
        goto rollback;
    }
    if (!(st = stmt(c, S_KEY_REVOKE))) {
        rc = TD_EDB;
        goto rollback;
    }
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    bind_time(st, 2, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_error(c->db, "revoke API key");
    done(st);
    if (rc)
        goto rollback;
    rc = exec_stmt(c, S_COMMIT);
    if (rc == 0)
        goto out;
rollback:
    exec_stmt(c, S_ROLLBACK);
out:
    release(s, c);
    return rc;
}

/* ---- profiles ---- */

/* Fills p from a row of PROFILE_COLS. */
static void read_profile(sqlite3_stmt *st, td_profile *p)
{
    col_copy(st, 0, p->user_id, sizeof p->user_id);
    col_copy(st, 1, p->first_name, sizeof p->first_name);
    col_copy(st, 2, p->last_name, sizeof p->last_name);
    col_copy(st, 3, p->email, sizeof p->email);
    col_copy(st, 4, p->phone_number, sizeof p->phone_number);
    col_copy(st, 5, p->mailing_address, sizeof p->mailing_address);
    col_copy(st, 6, p->calendly_url, sizeof p->calendly_url);
    col_copy(st, 7, p->linkedin_url, sizeof p->linkedin_url);
    col_copy(st, 8, p->portfolio_url, sizeof p->portfolio_url);
    p->created_at = col_time(st, 9);
    p->updated_at = col_time(st, 10);
}

/* Creates or replaces a profile in one transaction (to tell which it was). */
static int sq_profile_put(void *be, const td_profile *p, bool only_new, bool *created)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc, step;

    *created = false;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if ((rc = exec_stmt(c, S_BEGIN)) != 0)
        goto out;
    if (!(st = stmt(c, S_PROFILE_EXISTS))) {
        rc = TD_EDB;
        goto rollback;
    }
    sqlite3_bind_text(st, 1, p->user_id, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    *created = step == SQLITE_DONE;
    done(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = db_error(c->db, "read profile");
        goto rollback;
    }
    if (only_new && !*created) {
        rc = td__store_error(TD_ECONFLICT, "user %s has a profile already", p->user_id);
        goto rollback;
    }
    if (!(st = stmt(c, S_PROFILE_UPSERT))) {
        rc = TD_EDB;
        goto rollback;
    }
    sqlite3_bind_text(st, 1, p->user_id, -1, SQLITE_STATIC);
    bind_opt(st, 2, p->first_name);
    bind_opt(st, 3, p->last_name);
    bind_opt(st, 4, p->email);
    bind_opt(st, 5, p->phone_number);
    bind_opt(st, 6, p->mailing_address);
    bind_opt(st, 7, p->calendly_url);
    bind_opt(st, 8, p->linkedin_url);
    bind_opt(st, 9, p->portfolio_url);
    bind_time(st, 10, p->created_at ? p->created_at : p->updated_at);
    bind_time(st, 11, p->updated_at);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_error(c->db, "write profile");
    done(st);
    if (rc)
        goto rollback;
    if ((rc = exec_stmt(c, S_COMMIT)) == 0)
        goto out;
rollback:
    exec_stmt(c, S_ROLLBACK);
out:
    release(s, c);
    return rc;
}

/* Runs a one-row read by key with statement id; TD_ENOTFOUND when there is no row. */
static int sq_get_one(struct sq *s, enum stmt_id id, const char *key,
                      void (*read)(sqlite3_stmt *, void *), void *out)
{
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc, step;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (!(st = stmt(c, id))) {
        rc = TD_EDB;
        goto out;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        read(st, out);
    else if (step == SQLITE_DONE)
        rc = TD_ENOTFOUND;
    else
        rc = db_error(c->db, "read");
    done(st);
out:
    release(s, c);
    return rc;
}

/* Adapts read_profile to sq_get_one. */
static void read_profile_any(sqlite3_stmt *st, void *out)
{
    read_profile(st, out);
}

/* Reads a profile. */
static int sq_profile_get(void *be, const char *user_id, td_profile *out)
{
    return sq_get_one(be, S_PROFILE_GET, user_id, read_profile_any, out);
}

/* Runs a one-row change by key with statement id (and an optional time); TD_ENOTFOUND when no
 * row changed. */
static int sq_change_one(struct sq *s, enum stmt_id id, const char *key, int64_t when)
{
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (!(st = stmt(c, id))) {
        rc = TD_EDB;
        goto out;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (when)
        bind_time(st, 2, when);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_error(c->db, "write");
    else if (sqlite3_changes(c->db) == 0)
        rc = TD_ENOTFOUND;
    done(st);
out:
    release(s, c);
    return rc;
}

/* Deletes a profile. */
static int sq_profile_delete(void *be, const char *user_id)
{
    return sq_change_one(be, S_PROFILE_DELETE, user_id, 0);
}

/* Lists profiles by user_id. */
static int sq_profile_list(void *be, const char *after, int limit,
                           int (*cb)(void *, const td_profile *), void *ud)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    td_profile p;
    int rc, step;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (!(st = stmt(c, S_PROFILE_LIST))) {
        rc = TD_EDB;
        goto out;
    }
    sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        read_profile(st, &p);
        if ((rc = cb(ud, &p)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(c->db, "list profiles");
out:
    done(st);
    release(s, c);
    return rc;
}

/* ---- generated documents ---- */

/* Fills d from a row of DOC_COLS. */
static void read_document(sqlite3_stmt *st, void *out)
{
    td_document *d = out;

    col_copy(st, 0, d->document_id, sizeof d->document_id);
    col_copy(st, 1, d->filename, sizeof d->filename);
    col_copy(st, 2, d->kind, sizeof d->kind);
    col_copy(st, 3, d->format, sizeof d->format);
    col_copy(st, 4, d->template_name, sizeof d->template_name);
    col_copy(st, 5, d->job_id, sizeof d->job_id);
    col_copy(st, 6, d->application_id, sizeof d->application_id);
    col_copy(st, 7, d->user_id, sizeof d->user_id);
    d->size_bytes = sqlite3_column_int64(st, 8);
    d->created_at = col_time(st, 9);
    d->deleted_at = col_time(st, 10);
    d->urls_tracked = sqlite3_column_int(st, 11);
    d->tracking_failures = sqlite3_column_int(st, 12);
}

/* Records a generated document. */
static int sq_document_insert(void *be, const td_document *d)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st;
    int rc, step;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (!(st = stmt(c, S_DOC_INSERT))) {
        rc = TD_EDB;
        goto out;
    }
    sqlite3_bind_text(st, 1, d->document_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->filename, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, d->format, -1, SQLITE_STATIC);
    bind_opt(st, 5, d->template_name);
    bind_opt(st, 6, d->job_id);
    bind_opt(st, 7, d->application_id);
    bind_opt(st, 8, d->user_id);
    sqlite3_bind_int64(st, 9, d->size_bytes);
    bind_time(st, 10, d->created_at);
    bind_time(st, 11, d->deleted_at);
    sqlite3_bind_int(st, 12, d->urls_tracked);
    sqlite3_bind_int(st, 13, d->tracking_failures);
    step = sqlite3_step(st);
    if ((step & 0xff) == SQLITE_CONSTRAINT)
        rc = td__store_error(TD_ECONFLICT, "a document is already named %s", d->filename);
    else if (step != SQLITE_DONE)
        rc = db_error(c->db, "record document");
    done(st);
out:
    release(s, c);
    return rc;
}

/* Reads a document by file name. */
static int sq_document_get(void *be, const char *filename, td_document *out)
{
    return sq_get_one(be, S_DOC_GET, filename, read_document, out);
}

/* Lists documents, oldest first; the SQL is built from fixed fragments. */
static int sq_document_list(void *be, const td_document_filter *f,
                            int (*cb)(void *, const td_document *), void *ud)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    char before[TD_TIME_ISO_SIZE];
    td_document d;
    td_buf sql;
    int rc, i = 1, step;

    td_buf_init(&sql, 2048);
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = td_buf_adds(&sql, "SELECT " DOC_COLS " FROM generated_documents WHERE 1 = 1");
    if (f->user_id && *f->user_id)
        rc = rc ? rc : td_buf_adds(&sql, " AND user_id = ?");
    if (f->job_id && *f->job_id)
        rc = rc ? rc : td_buf_adds(&sql, " AND job_id = ?");
    if (f->created_before)
        rc = rc ? rc : td_buf_adds(&sql, " AND created_at < ?");
    if (!f->include_deleted)
        rc = rc ? rc : td_buf_adds(&sql, " AND deleted_at IS NULL");
    rc = rc ? rc : td_buf_adds(&sql, " ORDER BY created_at, filename LIMIT ?");
    if (rc)
        goto out;
    if (sqlite3_prepare_v2(c->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "list documents");
        goto out;
    }
    if (f->user_id && *f->user_id)
        sqlite3_bind_text(st, i++, f->user_id, -1, SQLITE_STATIC);
    if (f->job_id && *f->job_id)
        sqlite3_bind_text(st, i++, f->job_id, -1, SQLITE_STATIC);
    if (f->created_before) {
        td_time_format(f->created_before, before);
        sqlite3_bind_text(st, i++, before, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int(st, i, f->limit);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        read_document(st, &d);
        if ((rc = cb(ud, &d)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(c->db, "list documents");
out:
    sqlite3_finalize(st);
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

/* Marks a document's file deleted. */
static int sq_document_mark_deleted(void *be, const char *filename, int64_t now)
{
    return sq_change_one(be, S_DOC_MARK, filename, now);
}

/* Counts the documents of a job or an application. */
static int sq_document_count(void *be, const char *job_id, const char *application_id, int64_t *out)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    bool by_job = job_id && *job_id;
    int rc;

    *out = 0;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (sqlite3_prepare_v2(c->db,
                           by_job ? "SELECT count(*) FROM generated_documents WHERE job_id = ?1"
                                  : "SELECT count(*) FROM generated_documents WHERE "
                                    "application_id = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "count documents");
        goto out;
    }
    sqlite3_bind_text(st, 1,
                      by_job           ? job_id
                      : application_id ? application_id
                                       : "",
                      -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = db_error(c->db, "count documents");
out:
    sqlite3_finalize(st);
    release(s, c);
    return rc;
}

/* Counts documents per job, in job_id order (the index on job_id gives the order). */
static int sq_document_groups(void *be, int (*cb)(void *, const char *, int64_t), void *ud)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    int rc, step;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT coalesce(job_id, ''), count(*) FROM generated_documents "
                           "GROUP BY 1 ORDER BY 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "count documents");
        goto out;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *key = sqlite3_column_text(st, 0);
        if ((rc = cb(ud, key ? (const char *)key : "", sqlite3_column_int64(st, 1))) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(c->db, "count documents");
out:
    sqlite3_finalize(st);
    release(s, c);
    return rc;
}

/* ---- conversions (Calendly bookings) and secrets ---- */

#define CONV_COLS                                                                                  \
    "conversion_id, invitee_uri, event_type, tracking_id, job_id, application_id, "                \
    "link_function, attribution, utm_source, utm_medium, utm_campaign, utm_content, utm_term, "    \
    "scheduled_event_uri, event_name, scheduled_start, scheduled_end, invitee_email, "             \
    "invitee_hash, status, rescheduled, old_invitee, new_invitee, created_at, received_at"
/* The time of the invitee's cancellation, read with every row (column 25). */
#define CONV_CANCELED_AT                                                                           \
    "(SELECT coalesce(k.created_at, k.received_at) FROM link_conversions k "                       \
    "WHERE k.invitee_uri = c.invitee_uri AND k.event_type = 'invitee.canceled')"

/* Fills v from a row of CONV_COLS and CONV_CANCELED_AT. */
static void read_conversion(sqlite3_stmt *st, td_conversion *v)
{
    col_copy(st, 0, v->conversion_id, sizeof v->conversion_id);
    col_copy(st, 1, v->invitee_uri, sizeof v->invitee_uri);
    col_copy(st, 2, v->event_type, sizeof v->event_type);
    col_copy(st, 3, v->tracking_id, sizeof v->tracking_id);
    col_copy(st, 4, v->job_id, sizeof v->job_id);
    col_copy(st, 5, v->application_id, sizeof v->application_id);
    col_copy(st, 6, v->link_function, sizeof v->link_function);
    col_copy(st, 7, v->attribution, sizeof v->attribution);
    col_copy(st, 8, v->utm_source, sizeof v->utm_source);
    col_copy(st, 9, v->utm_medium, sizeof v->utm_medium);
    col_copy(st, 10, v->utm_campaign, sizeof v->utm_campaign);
    col_copy(st, 11, v->utm_content, sizeof v->utm_content);
    col_copy(st, 12, v->utm_term, sizeof v->utm_term);
    col_copy(st, 13, v->scheduled_event_uri, sizeof v->scheduled_event_uri);
    col_copy(st, 14, v->event_name, sizeof v->event_name);
    v->scheduled_start = col_time(st, 15);
    v->scheduled_end = col_time(st, 16);
    col_copy(st, 17, v->invitee_email, sizeof v->invitee_email);
    col_copy(st, 18, v->invitee_hash, sizeof v->invitee_hash);
    col_copy(st, 19, v->status, sizeof v->status);
    v->rescheduled = sqlite3_column_int(st, 20) != 0;
    col_copy(st, 21, v->old_invitee, sizeof v->old_invitee);
    col_copy(st, 22, v->new_invitee, sizeof v->new_invitee);
    v->created_at = col_time(st, 23);
    v->received_at = col_time(st, 24);
    v->canceled_at = col_time(st, 25);
}

/* Stores an invitee event unless (invitee_uri, event_type) is stored already. */
static int sq_conversion_insert(void *be, const td_conversion *v, bool *created)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    int rc;

    *created = false;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO link_conversions (" CONV_COLS ") VALUES (?1, ?2, ?3, ?4, "
                           "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
                           "?20, ?21, ?22, ?23, ?24, ?25) "
                           "ON CONFLICT (invitee_uri, event_type) DO NOTHING",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "record conversion");
        goto out;
    }
    sqlite3_bind_text(st, 1, v->conversion_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, v->invitee_uri, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, v->event_type, -1, SQLITE_STATIC);
    bind_opt(st, 4, v->tracking_id);
    bind_opt(st, 5, v->job_id);
    bind_opt(st, 6, v->application_id);
    bind_opt(st, 7, v->link_function);
    sqlite3_bind_text(st, 8, v->attribution, -1, SQLITE_STATIC);
    bind_opt(st, 9, v->utm_source);
    bind_opt(st, 10, v->utm_medium);
    bind_opt(st, 11, v->utm_campaign);
    bind_opt(st, 12, v->utm_content);
    bind_opt(st, 13, v->utm_term);
    bind_opt(st, 14, v->scheduled_event_uri);
    bind_opt(st, 15, v->event_name);
    bind_time(st, 16, v->scheduled_start);
    bind_time(st, 17, v->scheduled_end);
    bind_opt(st, 18, v->invitee_email);
    bind_opt(st, 19, v->invitee_hash);
    bind_opt(st, 20, v->status);
    sqlite3_bind_int(st, 21, v->rescheduled ? 1 : 0);
    bind_opt(st, 22, v->old_invitee);
    bind_opt(st, 23, v->new_invitee);
    bind_time(st, 24, v->created_at);
    bind_time(st, 25, v->received_at);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_error(c->db, "record conversion");
    else
        *created = sqlite3_changes(c->db) == 1;
out:
    sqlite3_finalize(st);
    release(s, c);
    return rc;
}

/* Reads the row of one invitee event. */
static int sq_conversion_get(void *be, const char *invitee_uri, const char *event_type,
                             td_conversion *out)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    int rc, step;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT " CONV_COLS ", " CONV_CANCELED_AT " FROM link_conversions c "
                           "WHERE invitee_uri = ?1 AND event_type = ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "read conversion");
        goto out;
    }
    sqlite3_bind_text(st, 1, invitee_uri, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, event_type, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        read_conversion(st, out);
    else if (step == SQLITE_DONE)
        rc = TD_ENOTFOUND;
    else
        rc = db_error(c->db, "read conversion");
out:
    sqlite3_finalize(st);
    release(s, c);
    return rc;
}

/* Appends the filter of f to sql; returns 0, TD_ETOOBIG or TD_ENOMEM. */
static int conversion_where(td_buf *sql, const td_conversion_filter *f, bool listing)
{
    int rc = 0;

    if (f->job_id && *f->job_id)
        rc = rc ? rc : td_buf_adds(sql, " AND c.job_id = ?");
    if (f->application_id && *f->application_id)
        rc = rc ? rc : td_buf_adds(sql, " AND c.application_id = ?");
    if (f->tracking_id && *f->tracking_id)
        rc = rc ? rc : td_buf_adds(sql, " AND c.tracking_id = ?");
    if (listing && f->event_type && *f->event_type)
        rc = rc ? rc : td_buf_adds(sql, " AND c.event_type = ?");
    if (listing && f->after_received_at)
        rc = rc ? rc : td_buf_adds(sql, " AND (c.received_at, c.conversion_id) < (?, ?)");
    return rc;
}

/* Binds the values of conversion_where from index 1; returns the next index. */
static int conversion_bind(sqlite3_stmt *st, const td_conversion_filter *f, bool listing,
                           char iso[TD_TIME_ISO_SIZE])
{
    int i = 1;

    if (f->job_id && *f->job_id)
        sqlite3_bind_text(st, i++, f->job_id, -1, SQLITE_STATIC);
    if (f->application_id && *f->application_id)
        sqlite3_bind_text(st, i++, f->application_id, -1, SQLITE_STATIC);
    if (f->tracking_id && *f->tracking_id)
        sqlite3_bind_text(st, i++, f->tracking_id, -1, SQLITE_STATIC);
    if (listing && f->event_type && *f->event_type)
        sqlite3_bind_text(st, i++, f->event_type, -1, SQLITE_STATIC);
    if (listing && f->after_received_at) {
        td_time_format(f->after_received_at, iso);
        sqlite3_bind_text(st, i++, iso, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, i++, f->after_conversion_id ? f->after_conversion_id : "", -1,
                          SQLITE_STATIC);
    }
    return i;
}

/* Lists conversions newest first; the SQL is built from fixed fragments. */
static int sq_conversion_list(void *be, const td_conversion_filter *f,
                              int (*cb)(void *, const td_conversion *), void *ud)
{
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    td_conversion *v = calloc(1, sizeof *v);
    char iso[TD_TIME_ISO_SIZE];
    td_buf sql;
    int rc, step;

    td_buf_init(&sql, 4096);
    if (!v)
        return TD_ENOMEM;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = td_buf_adds(&sql, "SELECT " CONV_COLS ", " CONV_CANCELED_AT
                           " FROM link_conversions c WHERE 1 = 1");
    rc = rc ? rc : conversion_where(&sql, f, true);
    rc = rc ? rc : td_buf_adds(&sql, " ORDER BY c.received_at DESC, c.conversion_id DESC LIMIT ?");
    if (rc)
        goto out;
    if (sqlite3_prepare_v2(c->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "list conversions");
        goto out;
    }
    sqlite3_bind_int(st, conversion_bind(st, f, true, iso), f->limit);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        read_conversion(st, v);
        if ((rc = cb(ud, v)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(c->db, "list conversions");
out:
    sqlite3_finalize(st);
    release(s, c);
    td_buf_release(&sql);
    free(v);
    return rc;
}

/* Counts bookings, cancellations, reschedules and active bookings per group. */
static int sq_conversion_groups(void *be, const td_conversion_filter *f, td_conversion_group g,
                                int (*cb)(void *, const td_conversion_row *), void *ud)
{
    static const char *const keys[] = {
        [TD_CONV_GROUP_ALL] = "''",
        [TD_CONV_GROUP_JOB] = "coalesce(c.job_id, '')",
        [TD_CONV_GROUP_APPLICATION] = "coalesce(c.application_id, '')",
        [TD_CONV_GROUP_LINK] = "coalesce(c.tracking_id, '')",
        [TD_CONV_GROUP_FUNCTION] = "coalesce(c.link_function, '')",
    };
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    char iso[TD_TIME_ISO_SIZE];
    td_buf sql;
    int rc, step;

    td_buf_init(&sql, 4096);
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = td_buf_printf(
        &sql,
        "SELECT %s, "
        "coalesce(sum(c.event_type = 'invitee.created' AND c.old_invitee IS NULL), 0), "
        "coalesce(sum(c.event_type = 'invitee.canceled' AND c.rescheduled = 0), 0), "
        "coalesce(sum(c.event_type = 'invitee.canceled' AND c.rescheduled = 1), 0), "
        "coalesce(sum(c.event_type = 'invitee.created' AND NOT EXISTS (SELECT 1 FROM "
        "link_conversions k WHERE k.invitee_uri = c.invitee_uri AND "
        "k.event_type = 'invitee.canceled')), 0), "
        "min(coalesce(c.created_at, c.received_at)), max(coalesce(c.created_at, c.received_at)) "
        "FROM link_conversions c WHERE 1 = 1",
        keys[g]);
    rc = rc ? rc : conversion_where(&sql, f, false);
    if (g != TD_CONV_GROUP_ALL)
        rc = rc ? rc : td_buf_adds(&sql, " GROUP BY 1 ORDER BY 1");
    if (rc)
        goto out;
    if (sqlite3_prepare_v2(c->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "count conversions");
        goto out;
    }
    conversion_bind(st, f, false, iso);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *key = sqlite3_column_text(st, 0);
        td_conversion_row row = {
            .key = key ? (const char *)key : "",
            .bookings = sqlite3_column_int64(st, 1),
            .cancellations = sqlite3_column_int64(st, 2),
            .reschedules = sqlite3_column_int64(st, 3),
            .active = sqlite3_column_int64(st, 4),
            .first_at = col_time(st, 5),
            .last_at = col_time(st, 6),
        };
        if ((rc = cb(ud, &row)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE)
        rc = db_error(c->db, "count conversions");
out:
    sqlite3_finalize(st);
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

/* Reads a secret; TD_ENOTFOUND when it does not exist yet. */
static int secret_read(struct conn *c, const char *name, char hex[65])
{
    sqlite3_stmt *st = NULL;
    int rc = 0, step;

    if (sqlite3_prepare_v2(c->db, "SELECT value FROM store_secrets WHERE name = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return db_error(c->db, "read secret");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        col_copy(st, 0, hex, 65);
    else if (step == SQLITE_DONE)
        rc = TD_ENOTFOUND;
    else
        rc = db_error(c->db, "read secret");
    sqlite3_finalize(st);
    return rc;
}

/* Gets a per-database secret, making it on first use (the first writer wins). */
static int sq_secret(void *be, const char *name, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    struct sq *s = be;
    struct conn *c = NULL;
    sqlite3_stmt *st = NULL;
    unsigned char rnd[32];
    char fresh[65], iso[TD_TIME_ISO_SIZE];
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    /* The common case reads only, so that it works on a read-only database too. */
    if ((rc = secret_read(c, name, hex)) != TD_ENOTFOUND)
        goto out;
    if (td_random_bytes(rnd, sizeof rnd) != 0) {
        rc = td__store_error(TD_EIO, "no random source for a secret");
        goto out;
    }
    for (size_t i = 0; i < sizeof rnd; i++) {
        fresh[2 * i] = digits[rnd[i] >> 4];
        fresh[2 * i + 1] = digits[rnd[i] & 15];
    }
    fresh[64] = '\0';
    td_time_format(td_time_now_ms(), iso);
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO store_secrets (name, value, created_at) "
                           "VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(c->db, "make secret");
        goto out;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fresh, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, iso, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_error(c->db, "make secret");
        goto out;
    }
    /* Ours, or a concurrent maker's: the stored one is the answer. */
    rc = secret_read(c, name, hex);
out:
    sqlite3_finalize(st);
    release(s, c);
    memset(fresh, 0, sizeof fresh);
    return rc;
}

const struct td_store_ops td__store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .migrate = sq_migrate,
    .schema_version = sq_schema_version,
    .ping = sq_ping,
    .link_insert = sq_link_insert,
    .link_get = sq_link_get,
    .link_set_active = sq_link_set_active,
    .link_set_utm = sq_link_set_utm,
    .link_list = sq_link_list,
    .click_insert = sq_click_insert,
    .click_groups = sq_click_groups,
    .click_totals = sq_click_totals,
    .click_days = sq_click_days,
    .click_top_jobs = sq_click_top_jobs,
    .click_reclassify = sq_click_reclassify,
    .click_purge = sq_click_purge,
    .visitor_salt = sq_visitor_salt,
    .apikey_insert = sq_apikey_insert,
    .apikey_find = sq_apikey_find,
    .apikey_touch = sq_apikey_touch,
    .apikey_list = sq_apikey_list,
    .apikey_revoke = sq_apikey_revoke,
    .profile_put = sq_profile_put,
    .profile_get = sq_profile_get,
    .profile_delete = sq_profile_delete,
    .profile_list = sq_profile_list,
    .document_insert = sq_document_insert,
    .document_get = sq_document_get,
    .document_list = sq_document_list,
    .document_mark_deleted = sq_document_mark_deleted,
    .document_count = sq_document_count,
    .document_groups = sq_document_groups,
    .conversion_insert = sq_conversion_insert,
    .conversion_get = sq_conversion_get,
    .conversion_list = sq_conversion_list,
    .conversion_groups = sq_conversion_groups,
    .secret = sq_secret,
};
