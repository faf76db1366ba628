/* The PostgreSQL backend over libpq: a pool of connections, statements prepared once per
 * connection, and the migrations of the SQLite backend under the same version numbers, written
 * with PostgreSQL's own types (uuid, inet, jsonb, timestamptz, boolean). */
#include "core/common.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <pthread.h>

#include "core/id.h"
#include "core/time.h"
#include "store/store_int.h"
#include "store/store_text.h"
#include "trackdoc/buf.h"
#include "trackdoc/classify.h"

/* ---- schema ---- */

struct migration {
    int version;
    const char *name;
    const char *sql;
};

/* The nil UUID stands for an absent job or application id in the context index, so that
 * absent ids count as equal (as coalesce(id, '') does on SQLite). */
#define NIL_UUID "'00000000-0000-0000-0000-000000000000'::uuid"
#define CONTEXT_KEY                                                                                \
    "(coalesce(job_id, " NIL_UUID ")), (coalesce(application_id, " NIL_UUID ")), "                 \
    "link_function, original_url"

/* The twins of the SQLite migrations: same versions, names, tables and columns. Ids compared
 * in keyset pages and orderings are COLLATE "C", so that they sort byte by byte, as on SQLite.
 * link_clicks is not partitioned: docs/scaling.md says why. */
static const struct migration migrations[] = {
    {1, "initial schema",
     "CREATE TABLE user_candidate_info ("
     "  user_id uuid PRIMARY KEY,"
     "  first_name text, last_name text, email text, phone_number text, mailing_address text,"
     "  calendly_url text, linkedin_url text, portfolio_url text,"
     "  created_at timestamptz NOT NULL DEFAULT now(),"
     "  updated_at timestamptz NOT NULL DEFAULT now());"
     "CREATE TABLE link_tracking ("
     "  tracking_id text COLLATE \"C\" PRIMARY KEY,"
     "  job_id uuid, application_id uuid,"
     "  link_function text NOT NULL, link_type text,"
     "  original_url text NOT NULL, redirect_url text NOT NULL,"
     "  created_at timestamptz NOT NULL, created_by text,"
     "  is_active boolean NOT NULL DEFAULT true,"
     "  description text, expires_at timestamptz);"
     "CREATE UNIQUE INDEX link_tracking_context ON link_tracking (" CONTEXT_KEY ");"
     "CREATE INDEX link_tracking_job ON link_tracking (job_id, created_at);"
     "CREATE INDEX link_tracking_application ON link_tracking (application_id, created_at);"
     "CREATE INDEX link_tracking_created ON link_tracking (created_at, tracking_id);"
     "CREATE TABLE link_clicks ("
     "  click_id uuid PRIMARY KEY,"
     "  tracking_id text COLLATE \"C\" NOT NULL"
     "    REFERENCES link_tracking (tracking_id) ON DELETE CASCADE,"
     "  clicked_at timestamptz NOT NULL,"
     "  ip_address inet, user_agent text, referrer_url text, session_id text,"
     "  click_source text NOT NULL DEFAULT 'direct',"
     "  metadata jsonb,"
     "  http_method text NOT NULL DEFAULT 'GET');"
     "CREATE INDEX link_clicks_tracking_time ON link_clicks (tracking_id, clicked_at);"
     "CREATE INDEX link_clicks_time ON link_clicks (clicked_at);"
     "CREATE TABLE api_keys ("
     "  key_id text PRIMARY KEY, name text NOT NULL, key_hash text NOT NULL UNIQUE,"
     "  key_prefix text NOT NULL, created_at timestamptz NOT NULL,"
     "  last_used_at timestamptz, revoked_at timestamptz);"
     "CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;"},
    {2, "generated documents",
     "CREATE TABLE generated_documents ("
     "  document_id text PRIMARY KEY, filename text COLLATE \"C\" NOT NULL UNIQUE,"
     "  kind text NOT NULL, format text NOT NULL, template_name text,"
     "  job_id text, application_id text, user_id text,"
     "  size_bytes bigint NOT NULL, created_at timestamptz NOT NULL, deleted_at timestamptz,"
     "  urls_tracked integer NOT NULL DEFAULT 0, tracking_failures integer NOT NULL DEFAULT 0);"
     "CREATE INDEX generated_documents_job ON generated_documents (job_id);"
     "CREATE INDEX generated_documents_application ON generated_documents (application_id);"
     "CREATE INDEX generated_documents_user ON generated_documents (user_id, created_at);"
     "CREATE INDEX generated_documents_created ON generated_documents (created_at);"},
    {3, "click classes and visitor hashes",
     /* As on SQLite: older clicks count as human, but for HEAD requests, never visits. */
     "ALTER TABLE link_clicks ADD COLUMN click_class text NOT NULL DEFAULT 'human'"
     "  CHECK (click_class IN ('human', 'bot', 'preview', 'scanner'));"
     "ALTER TABLE link_clicks ADD COLUMN class_reason text;"
     "ALTER TABLE link_clicks ADD COLUMN visitor_hash text;"
     "UPDATE link_clicks SET click_class = 'scanner', class_reason = 'head-request'"
     "  WHERE http_method = 'HEAD';"
     "CREATE TABLE visitor_salts (day date PRIMARY KEY, salt text NOT NULL);"
     /* utm_* tagging of the link's redirects: NULL follows the server. */
     "ALTER TABLE link_tracking ADD COLUMN utm_tagging boolean;"},
    /* No rollup tables here: the rollup queries count link_clicks through its indexes, as
     * their contract allows. Counter rows updated by triggers on every click would make the
     * group commits of several servers wait on each other's row locks (docs/scaling.md). */
    {4, "click rollups for analytics",
     "CREATE INDEX link_clicks_visitors ON link_clicks (tracking_id, http_method, visitor_hash,"
     "  click_class, clicked_at);"
     "CREATE FUNCTION link_tracking_context_fixed() RETURNS trigger LANGUAGE plpgsql AS $$"
     " BEGIN IF old.job_id IS DISTINCT FROM new.job_id"
     "   OR old.link_function IS DISTINCT FROM new.link_function THEN"
     "   RAISE EXCEPTION 'the job and function of a link cannot change'; END IF;"
     " RETURN new; END $$;"
     "CREATE TRIGGER link_tracking_context_fixed BEFORE UPDATE OF job_id, link_function"
     "  ON link_tracking FOR EACH ROW EXECUTE FUNCTION link_tracking_context_fixed();"},
    {5, "calendly bookings",
     /* As on SQLite: no foreign key to link_tracking, a booking outlives its link. */
     "CREATE TABLE link_conversions ("
     "  conversion_id text COLLATE \"C\" PRIMARY KEY,"
     "  invitee_uri text NOT NULL,"
     "  event_type text NOT NULL CHECK (event_type IN ('invitee.created', 'invitee.canceled')),"
     "  tracking_id text COLLATE \"C\", job_id text COLLATE \"C\","
     "  application_id text COLLATE \"C\", link_function text,"
     "  attribution text NOT NULL DEFAULT 'none'"
     "    CHECK (attribution IN ('tracking_id', 'campaign', 'none')),"
     "  utm_source text, utm_medium text, utm_campaign text, utm_content text, utm_term text,"
     "  scheduled_event_uri text, event_name text,"
     "  scheduled_start timestamptz, scheduled_end timestamptz,"
     "  invitee_email text, invitee_hash text, status text,"
     "  rescheduled boolean NOT NULL DEFAULT false,"
     "  old_invitee text, new_invitee text,"
     "  created_at timestamptz, received_at timestamptz NOT NULL);"
     "CREATE UNIQUE INDEX link_conversions_event ON link_conversions (invitee_uri, event_type);"
     "CREATE INDEX link_conversions_job ON link_conversions (job_id, received_at);"
     "CREATE INDEX link_conversions_application ON link_conversions (application_id,"
     "  received_at);"
     "CREATE INDEX link_conversions_tracking ON link_conversions (tracking_id, received_at);"
     "CREATE INDEX link_conversions_received ON link_conversions (received_at, conversion_id);"
     "CREATE TABLE store_secrets (name text PRIMARY KEY, value text NOT NULL,"
     "  created_at timestamptz NOT NULL);"},
};

#define KNOWN_VERSION ((int)TD_ARRAY_SIZE(migrations))

/* A time column as UTC milliseconds (NULL stays NULL). */
#define MS(col) "(extract(epoch FROM " col ") * 1000)::int8"

/* ---- statements ---- */

#define LINK_COLS                                                                                  \
    "tracking_id, job_id, application_id, link_function, link_type, original_url, redirect_url, "  \
    "created_at, created_by, is_active, description, expires_at, utm_tagging"
#define LINK_SEL                                                                                   \
    "tracking_id, job_id, application_id, link_function, link_type, original_url, "                \
    "redirect_url, " MS("created_at") ", created_by, is_active, description, " MS(                 \
        "expires_at") ", utm_tagging"
#define APIKEY_SEL                                                                                 \
    "key_id, name, key_prefix, " MS("created_at") ", " MS("last_used_at") ", " MS("revoked_at")
#define PROFILE_COLS                                                                               \
    "user_id, first_name, last_name, email, phone_number, mailing_address, calendly_url, "         \
    "linkedin_url, portfolio_url, created_at, updated_at"
#define PROFILE_SEL                                                                                \
    "user_id, first_name, last_name, email, phone_number, mailing_address, calendly_url, "         \
    "linkedin_url, portfolio_url, " MS("created_at") ", " MS("updated_at")
#define DOC_COLS                                                                                   \
    "document_id, filename, kind, format, template_name, job_id, application_id, user_id, "        \
    "size_bytes, created_at, deleted_at, urls_tracked, tracking_failures"
#define DOC_SEL                                                                                    \
    "document_id, filename, kind, format, template_name, job_id, application_id, user_id, "        \
    "size_bytes, " MS("created_at") ", " MS("deleted_at") ", urls_tracked, tracking_failures"
#define CLICK_COLS                                                                                 \
    "click_id, tracking_id, clicked_at, ip_address, user_agent, referrer_url, session_id, "        \
    "click_source, metadata, http_method, click_class, class_reason, visitor_hash"
#define CLICK_PARAMS 13

#define CONV_COLS                                                                                  \
    "conversion_id, invitee_uri, event_type, tracking_id, job_id, application_id, "                \
    "link_function, attribution, utm_source, utm_medium, utm_campaign, utm_content, utm_term, "    \
    "scheduled_event_uri, event_name, scheduled_start, scheduled_end, invitee_email, "             \
    "invitee_hash, status, rescheduled, old_invitee, new_invitee, created_at, received_at"
/* The time of the cancellation of row c's invitee. */
#define CONV_CANCELED_AT                                                                           \
    "(SELECT coalesce(k.created_at, k.received_at) FROM link_conversions k "                       \
    "WHERE k.invitee_uri = c.invitee_uri AND k.event_type = 'invitee.canceled')"
/* CONV_COLS of the row c with times in ms, then the time of the invitee's cancellation. */
#define CONV_SEL                                                                                   \
    "c.conversion_id, c.invitee_uri, c.event_type, c.tracking_id, c.job_id, c.application_id, "    \
    "c.link_function, c.attribution, c.utm_source, c.utm_medium, c.utm_campaign, c.utm_content, "  \
    "c.utm_term, c.scheduled_event_uri, c.event_name, " MS("c.scheduled_start") ", " MS(           \
        "c.scheduled_end") ", c.invitee_email, c.invitee_hash, c.status, c.rescheduled, "          \
                           "c.old_invitee, c.new_invitee, " MS("c.created_at") ", " MS(            \
                               "c.received_at") ", " MS(CONV_CANCELED_AT)

enum stmt_id {
    S_PING,
    S_LINK_INSERT,
    S_LINK_BY_CONTEXT,
    S_LINK_GET,
    S_LINK_SET_ACTIVE,
    S_LINK_SET_UTM,
    S_CLICK_BATCH,
    S_CLICK_ONE,
    S_CLICK_RECLASSIFY,
    S_CLICK_PURGE,
    S_SALT_PRUNE,
    S_SALT_INSERT,
    S_SALT_GET,
    S_KEY_INSERT,
    S_KEY_FIND,
    S_KEY_TOUCH,
    S_KEY_LOCK_REF,
    S_KEY_REVOKE,
    S_PROFILE_INSERT,
    S_PROFILE_UPSERT,
    S_PROFILE_GET,
    S_PROFILE_DELETE,
    S_PROFILE_LIST_FIRST,
    S_PROFILE_LIST_AFTER,
    S_DOC_INSERT,
    S_DOC_GET,
    S_DOC_MARK,
    S_DOC_COUNT_JOB,
    S_DOC_COUNT_APP,
    S_CONV_INSERT,
    S_CONV_GET,
    S_SECRET_GET,
    S_SECRET_INSERT,
    S_COUNT
};

/* The SQL of each prepared statement, by id. */
static const char *const stmt_sql[S_COUNT] = {
    [S_PING] = "SELECT 1",
    [S_LINK_INSERT] = "INSERT INTO link_tracking (" LINK_COLS ") "
                      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
                      "ON CONFLICT (" CONTEXT_KEY ") DO NOTHING RETURNING " LINK_SEL,
    [S_LINK_BY_CONTEXT] = "SELECT " LINK_SEL " FROM link_tracking "
                          "WHERE coalesce(job_id, " NIL_UUID ") = coalesce($1::uuid, " NIL_UUID ") "
                          "AND coalesce(application_id, " NIL_UUID ") = "
                          "coalesce($2::uuid, " NIL_UUID ") "
                          "AND link_function = $3 AND original_url = $4",
    [S_LINK_GET] = "SELECT " LINK_SEL " FROM link_tracking WHERE tracking_id = $1",
    [S_LINK_SET_ACTIVE] = "UPDATE link_tracking SET is_active = $2 WHERE tracking_id = $1",
    [S_LINK_SET_UTM] = "UPDATE link_tracking SET utm_tagging = $2 WHERE tracking_id = $1",
    /* The group commit: one statement for the whole batch, each column an array. */
    [S_CLICK_BATCH] = "INSERT INTO link_clicks (" CLICK_COLS ") "
                      "SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], "
                      "$4::inet[], $5::text[], $6::text[], $7::text[], $8::text[], $9::jsonb[], "
                      "$10::text[], $11::text[], $12::text[], $13::text[]) "
                      "ON CONFLICT (click_id) DO NOTHING",
    [S_CLICK_ONE] = "INSERT INTO link_clicks (" CLICK_COLS ") "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
                    "ON CONFLICT (click_id) DO NOTHING",
    [S_CLICK_RECLASSIFY] = "UPDATE link_clicks SET click_class = $2, class_reason = $3 "
                           "WHERE click_id = ANY ($1::uuid[])",
    [S_CLICK_PURGE] = "DELETE FROM link_clicks WHERE clicked_at < $1",
    [S_SALT_PRUNE] = "DELETE FROM visitor_salts WHERE day < $1",
    [S_SALT_INSERT] = "INSERT INTO visitor_salts (day, salt) VALUES ($1, $2) "
                      "ON CONFLICT (day) DO NOTHING",
    [S_SALT_GET] = "SELECT salt FROM visitor_salts WHERE day = $1",
    [S_KEY_INSERT] = "INSERT INTO api_keys (key_id, name, key_hash, key_prefix, created_at) "
                     "VALUES ($1, $2, $3, $4, $5)",
    [S_KEY_FIND] = "SELECT " APIKEY_SEL " FROM api_keys "
                   "WHERE key_hash = $1 AND revoked_at IS NULL",
    /* Best effort: a key whose row another transaction holds is not waited for. */
    [S_KEY_TOUCH] = "UPDATE api_keys SET last_used_at = $2 WHERE key_id = "
                    "(SELECT key_id FROM api_keys WHERE key_id = $1 FOR UPDATE SKIP LOCKED)",
    [S_KEY_LOCK_REF] = "SELECT key_id FROM api_keys WHERE revoked_at IS NULL "
                       "AND (key_id = $1 OR name = $1 OR key_prefix = $1) FOR UPDATE",
    [S_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1",
    [S_PROFILE_INSERT] = "INSERT INTO user_candidate_info (" PROFILE_COLS ") "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
                         "ON CONFLICT (user_id) DO NOTHING RETURNING true",
    /* xmax is 0 in the row version an INSERT made, not in one an UPDATE made. */
    [S_PROFILE_UPSERT] =
        "INSERT INTO user_candidate_info (" PROFILE_COLS ") "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "ON CONFLICT (user_id) DO UPDATE SET first_name = excluded.first_name, "
        "last_name = excluded.last_name, email = excluded.email, "
        "phone_number = excluded.phone_number, mailing_address = excluded.mailing_address, "
        "calendly_url = excluded.calendly_url, linkedin_url = excluded.linkedin_url, "
        "portfolio_url = excluded.portfolio_url, updated_at = excluded.updated_at "
        "RETURNING (xmax = 0)",
    [S_PROFILE_GET] = "SELECT " PROFILE_SEL " FROM user_candidate_info WHERE user_id = $1",
    [S_PROFILE_DELETE] = "DELETE FROM user_candidate_info WHERE user_id = $1",
    [S_PROFILE_LIST_FIRST] = "SELECT " PROFILE_SEL " FROM user_candidate_info "
                             "ORDER BY user_id LIMIT $1",
    [S_PROFILE_LIST_AFTER] = "SELECT " PROFILE_SEL " FROM user_candidate_info WHERE user_id > $2 "
                             "ORDER BY user_id LIMIT $1",
    [S_DOC_INSERT] = "INSERT INTO generated_documents (" DOC_COLS ") "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    [S_DOC_GET] = "SELECT " DOC_SEL " FROM generated_documents WHERE filename = $1",
    [S_DOC_MARK] = "UPDATE generated_documents SET deleted_at = $2 WHERE filename = $1 "
                   "AND deleted_at IS NULL",
    [S_DOC_COUNT_JOB] = "SELECT count(*) FROM generated_documents WHERE job_id = $1",
    [S_DOC_COUNT_APP] = "SELECT count(*) FROM generated_documents WHERE application_id = $1",
    [S_CONV_INSERT] = "INSERT INTO link_conversions (" CONV_COLS ") VALUES ($1, $2, $3, $4, $5, "
                      "$6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, "
                      "$22, $23, $24, $25) ON CONFLICT (invitee_uri, event_type) DO NOTHING "
                      "RETURNING true",
    [S_CONV_GET] = "SELECT " CONV_SEL " FROM link_conversions c "
                   "WHERE invitee_uri = $1 AND event_type = $2",
    [S_SECRET_GET] = "SELECT value FROM store_secrets WHERE name = $1",
    [S_SECRET_INSERT] = "INSERT INTO store_secrets (name, value, created_at) "
                        "VALUES ($1, $2, now()) ON CONFLICT (name) DO NOTHING",
};

/* ---- connection pool ---- */

struct conn {
    PGconn *db;
    uint64_t prepared; /* bit i: stmt_sql[i] is prepared on this connection */
    char state[6];     /* SQLSTATE of the last failure, "" when it had none */
    struct conn *next;
};

struct pg {
    char *url;
    td_store_options opts;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct conn *idle;
    int open, max;
};

/* Seconds a connection attempt may take unless the URL or PGCONNECT_TIMEOUT says otherwise:
 * an unreachable server must give an error (and /healthz "degraded"), not a hang. */
#define CONNECT_TIMEOUT "10"

/* Swallows libpq notices (the library never prints). */
static void quiet(void *arg, const char *message)
{
    TD_UNUSED(arg);
    TD_UNUSED(message);
}

/* Records a libpq message on one line (its lines joined by "; ", no trailing break) as this
 * thread's store error; returns rc. */
static int pq_error(int rc, const char *what, const char *msg)
{
    char line[400];
    size_t n = 0;
    bool brk = false;

    for (const char *p = msg ? msg : ""; *p && n < sizeof line - 3; p++) {
        if (*p == '\n' || *p == '\r') {
            brk = true;
            continue;
        }
        if ((*p == '\t' || *p == ' ') && (n == 0 || brk || line[n - 1] == ' '))
            continue;
        if (brk && n > 0) {
            line[n++] = ';';
            line[n++] = ' ';
        }
        brk = false;
        line[n++] = *p == '\t' ? ' ' : *p;
    }
    line[n] = '\0';
    return td__store_error(rc, "%s: %s", what, line);
}

/* Closes one connection. */
static void conn_close(struct conn *c)
{
    if (!c)
        return;
    PQfinish(c->db);
    free(c);
}

/* Connects c->db with our defaults before the URL's settings, and sets up the session. */
static int conn_connect(struct pg *s, struct conn *c)
{
    const char *keys[8], *vals[8];
    char lock_timeout[256];
    PGresult *r = NULL;
    const char *msg;
    int k = 0, rc = 0;

    PQfinish(c->db);
    c->db = NULL;
    c->prepared = 0;
    c->state[0] = '\0';
    /* Earlier keywords are overridden by the URL's own (dbname, expanded, comes last). */
    if (!getenv("PGCONNECT_TIMEOUT")) {
        keys[k] = "connect_timeout";
        vals[k++] = CONNECT_TIMEOUT;
    }
    keys[k] = "application_name";
    vals[k++] = "trackdoc";
    keys[k] = "client_encoding";
    vals[k++] = "UTF8";
    keys[k] = "dbname";
    vals[k++] = s->url;
    keys[k] = NULL;
    vals[k] = NULL;
    c->db = PQconnectdbParams(keys, vals, 1);
    if (!c->db)
        return td__store_error(TD_ENOMEM, "cannot connect: out of memory");
    if (PQstatus(c->db) != CONNECTION_OK) {
        msg = PQerrorMessage(c->db);
        /* libpq has no SQLSTATE for a failed connection: recognise the missing database. */
        if (strstr(msg, "database \"") && strstr(msg, "does not exist"))
            rc = pq_error(s->opts.must_exist ? TD_ENOTFOUND : TD_EDB,
                          "no such PostgreSQL database (create it first, e.g. with createdb)", msg);
        else if (strncmp(msg, "invalid ", 8) == 0) /* a setting of the URL: sslmode=nope */
            rc = pq_error(TD_EINVAL, "not a usable PostgreSQL URL", msg);
        else
            rc = pq_error(TD_EDB, "cannot connect to PostgreSQL", msg);
        goto out;
    }
    PQsetNoticeProcessor(c->db, quiet, NULL);
    /* busy_timeout_ms is how long a writer waits for a lock, as on SQLite. */
    snprintf(lock_timeout, sizeof lock_timeout, "SET TimeZone = 'UTC'; SET lock_timeout = %d;%s",
             s->opts.busy_timeout_ms > 0 ? s->opts.busy_timeout_ms : 5000,
             s->opts.readonly ? " SET default_transaction_read_only = on;" : "");
    r = PQexec(c->db, lock_timeout);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = pq_error(TD_EDB, "cannot set up the PostgreSQL session", PQerrorMessage(c->db));
        goto out;
    }
out:
    PQclear(r);
    return rc;
}

/* Opens one connection. */
static int conn_open(struct pg *s, struct conn **out)
{
    struct conn *c = calloc(1, sizeof *c);
    int rc;

    *out = NULL;
    if (!c)
        return TD_ENOMEM;
    rc = conn_connect(s, c);
    if (rc) {
        conn_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Takes a connection from the pool, opening one when under the limit, else waiting. */
static int acquire(struct pg *s, struct conn **out)
{
    struct conn *c = NULL;
    int rc;

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

/* Returns a connection to the pool; one that is broken or still in a transaction is closed. */
static void release(struct pg *s, struct conn *c)
{
    bool keep;

    if (!c)
        return;
    if (PQstatus(c->db) == CONNECTION_OK && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        PQclear(PQexec(c->db, "ROLLBACK"));
    keep = PQstatus(c->db) == CONNECTION_OK && PQtransactionStatus(c->db) == PQTRANS_IDLE;
    pthread_mutex_lock(&s->lock);
    if (keep) {
        c->next = s->idle;
        s->idle = c;
    } else {
        s->open--;
    }
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
    if (!keep)
        conn_close(c);
}

/* ---- text and parameters ---- */

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2, cp = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, cp = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* True when s is valid UTF-8. */
static bool utf8_ok(const char *s)
{
    size_t n = strlen(s), len;

    for (size_t i = 0; i < n; i += len)
        if ((len = utf8_seq((const unsigned char *)s + i, n - i)) == 0)
            return false;
    return true;
}

/* Appends n bytes of s, each byte that is not part of valid UTF-8 as U+FFFD (PostgreSQL
 * refuses such text where SQLite keeps it), escaping '"' and '\' when quoted. */
static int add_text(td_buf *b, const char *s, size_t n, bool quoted);

/* Repairs text that is not UTF-8 (store_text.h). */
char *td__store_utf8_fix(const char *s, int *rc)
{
    td_buf b;

    *rc = 0;
    if (utf8_ok(s))
        return NULL;
    td_buf_init(&b, 0);
    if ((*rc = add_text(&b, s, strlen(s), false)) != 0) {
        td_buf_release(&b);
        return NULL;
    }
    return td_buf_detach(&b, NULL);
}

/* Appends text, repaired and escaped (see the declaration above). */
static int add_text(td_buf *b, const char *s, size_t n, bool quoted)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, len;
    int rc = 0;

    while (i < n && !rc) {
        len = utf8_seq(p + i, n - i);
        if (len == 0) {
            rc = td_buf_adds(b, "\xEF\xBF\xBD");
            i++;
        } else if (quoted && (p[i] == '"' || p[i] == '\\')) {
            rc = td_buf_addc(b, '\\');
            rc = rc ? rc : td_buf_addc(b, (char)p[i]);
            i++;
        } else {
            rc = td_buf_add(b, p + i, len);
            i += len;
        }
    }
    return rc;
}

/* Bytes of s kept when cut to at most max, on a character boundary (as bind_cut on SQLite). */
static size_t cut_len(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return n;
}

/* s, or NULL (SQL NULL) when NULL or empty. */
static const char *opt(const char *s)
{
    return s && *s ? s : NULL;
}

/* ms as ISO 8601 text into buf, or NULL when 0. */
static const char *time_param(char buf[TD_TIME_ISO_SIZE], int64_t ms)
{
    if (ms == 0)
        return NULL;
    td_time_format(ms, buf);
    return buf;
}

/* The lower-case form of a UUID into buf, or NULL when s is not one. */
static const char *uuid_param(char buf[TD_UUID_SIZE], const char *s)
{
    return s && td_uuid_normalize(s, buf) == 0 ? buf : NULL;
}

/* ---- running statements ---- */

#define MAX_PARAMS 32

/* Records the failure of r (NULL: of the connection) on c; returns TD_EDB. */
static int stmt_error(struct conn *c, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    snprintf(c->state, sizeof c->state, "%s", state ? state : "");
    return pq_error(TD_EDB, what, r ? PQresultErrorMessage(r) : PQerrorMessage(c->db));
}

/* True when the failure recorded on c means the connection was lost. */
static bool conn_lost(const struct conn *c)
{
    return PQstatus(c->db) != CONNECTION_OK || strncmp(c->state, "08", 2) == 0 ||
           strcmp(c->state, "57P01") == 0 || strcmp(c->state, "57P02") == 0 ||
           strcmp(c->state, "57P03") == 0;
}

/* Sends sql (id >= 0: prepared statement id, prepared here on first use) with n text
 * parameters (NULL is SQL NULL; text that is not UTF-8 is repaired). In single-row mode when
 * single is set. Returns 0 or TD_EDB. */
static int send_stmt(struct conn *c, int id, const char *sql, int n, const char *const *v,
                     bool single, const char *what)
{
    const char *vals[MAX_PARAMS];
    char *fixed[MAX_PARAMS] = {0};
    char name[16];
    PGresult *r = NULL;
    int rc = 0, ok;

    assert(n <= MAX_PARAMS);
    for (int i = 0; i < n; i++) {
        vals[i] = v[i];
        if (v[i] && (fixed[i] = td__store_utf8_fix(v[i], &rc)) != NULL)
            vals[i] = fixed[i];
        if (rc) {
            rc = td__store_error(rc, "%s: out of memory", what);
            goto out;
        }
    }
    if (id >= 0) {
        snprintf(name, sizeof name, "td_%d", id);
        if (!(c->prepared & (UINT64_C(1) << id))) {
            r = PQprepare(c->db, name, stmt_sql[id], 0, NULL);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                rc = stmt_error(c, r, what);
                goto out;
            }
            c->prepared |= UINT64_C(1) << id;
        }
        ok = PQsendQueryPrepared(c->db, name, n, vals, NULL, NULL, 0);
    } else {
        ok = PQsendQueryParams(c->db, sql, n, NULL, vals, NULL, NULL, 0);
    }
    if (!ok) {
        rc = stmt_error(c, NULL, what);
        goto out;
    }
    if (single)
        PQsetSingleRowMode(c->db);
out:
    PQclear(r);
    for (int i = 0; i < n; i++)
        free(fixed[i]);
    return rc;
}

/* Reads the results of a sent statement: the last one into *out (may be NULL; PQclear it).
 * Returns 0 or TD_EDB. */
static int take_result(struct conn *c, PGresult **out, const char *what)
{
    PGresult *r, *last = NULL;
    int rc = 0;

    while ((r = PQgetResult(c->db)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (!rc && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            rc = stmt_error(c, r, what);
        PQclear(last);
        last = r;
    }
    if (!rc && !last)
        rc = stmt_error(c, NULL, what);
    if (!rc && out) {
        *out = last;
        last = NULL;
    }
    PQclear(last);
    return rc;
}

/* Runs one statement (see send_stmt) and gives its result in *out (may be NULL; PQclear it).
 * A statement outside a transaction whose connection turns out to be lost (a restarted server)
 * is sent once more on a new connection. Returns 0 or TD_EDB; c->state holds the SQLSTATE. */
static int run(struct pg *s, struct conn *c, int id, const char *sql, int n, const char *const *v,
               PGresult **out, const char *what)
{
    bool autocommit = PQtransactionStatus(c->db) == PQTRANS_IDLE;
    int rc;

    if (out)
        *out = NULL;
    c->state[0] = '\0';
    rc = send_stmt(c, id, sql, n, v, false, what);
    if (rc == 0)
        rc = take_result(c, out, what);
    if (rc == TD_EDB && autocommit && conn_lost(c)) {
        if (conn_connect(s, c) != 0)
            return TD_EDB;
        rc = send_stmt(c, id, sql, n, v, false, what);
        if (rc == 0)
            rc = take_result(c, out, what);
    }
    return rc;
}

/* Runs one statement with no parameters and no rows (BEGIN, COMMIT, ...). */
static int exec_sql(struct pg *s, struct conn *c, const char *sql)
{
    return run(s, c, -1, sql, 0, NULL, NULL, sql);
}

/* Rolls back the open transaction of c, if any. */
static void rollback(struct conn *c)
{
    if (PQtransactionStatus(c->db) != PQTRANS_IDLE)
        PQclear(PQexec(c->db, "ROLLBACK"));
}

/* Runs a query in single-row mode and calls row(ud, r) for each row until it returns non-zero
 * (the rest is read and dropped); returns that value, 0 or TD_EDB. Memory stays bounded
 * whatever the number of rows. A lost connection is retried as in run() while no row was
 * handed out. */
static int run_rows(struct pg *s, struct conn *c, int id, const char *sql, int n,
                    const char *const *v, int (*row)(void *ud, const PGresult *r), void *ud,
                    const char *what)
{
    bool autocommit = PQtransactionStatus(c->db) == PQTRANS_IDLE;
    PGresult *r;
    int rc = 0, stop = 0, rows = 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        bool got = false;
        if (attempt > 0 && (!autocommit || rows > 0 || !conn_lost(c) || conn_connect(s, c) != 0))
            break;
        c->state[0] = '\0';
        rc = send_stmt(c, id, sql, n, v, true, what);
        while (rc == 0 && (r = PQgetResult(c->db)) != NULL) {
            ExecStatusType st = PQresultStatus(r);
            got = true;
            if (st == PGRES_SINGLE_TUPLE) {
                rows++;
                if (!stop)
                    stop = row(ud, r);
            } else if (st != PGRES_TUPLES_OK) {
                rc = stmt_error(c, r, what);
            }
            PQclear(r);
        }
        /* After an error libpq still owes the end of the results: drain them. */
        while (rc && (r = PQgetResult(c->db)) != NULL)
            PQclear(r);
        if (rc == 0 && !got)
            rc = stmt_error(c, NULL, what);
        if (rc == 0)
            break;
    }
    return rc ? rc : stop;
}

/* Number of rows a command changed. */
static int64_t changed(const PGresult *r)
{
    const char *t = PQcmdTuples((PGresult *)r);

    return t && *t ? strtoll(t, NULL, 10) : 0;
}

/* ---- reading rows ---- */

/* Copies column col of row 0 of r into dst (size n), "" for NULL. */
static void get_str(const PGresult *r, int col, char *dst, size_t n)
{
    td__strlcpy(dst, PQgetisnull(r, 0, col) ? "" : PQgetvalue(r, 0, col), n);
}

/* Reads an integer column of row 0; 0 for NULL. */
static int64_t get_i64(const PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? 0 : strtoll(PQgetvalue(r, 0, col), NULL, 10);
}

/* Fills l from a row of LINK_SEL. */
static void read_link(const PGresult *r, td_link *l)
{
    get_str(r, 0, l->tracking_id, sizeof l->tracking_id);
    get_str(r, 1, l->job_id, sizeof l->job_id);
    get_str(r, 2, l->application_id, sizeof l->application_id);
    get_str(r, 3, l->link_function, sizeof l->link_function);
    get_str(r, 4, l->link_type, sizeof l->link_type);
    get_str(r, 5, l->original_url, sizeof l->original_url);
    get_str(r, 6, l->redirect_url, sizeof l->redirect_url);
    l->created_at = get_i64(r, 7);
    get_str(r, 8, l->created_by, sizeof l->created_by);
    l->is_active = strcmp(PQgetvalue(r, 0, 9), "t") == 0;
    get_str(r, 10, l->description, sizeof l->description);
    l->expires_at = get_i64(r, 11);
    l->utm_tagging = PQgetisnull(r, 0, 12)                    ? TD_UTM_DEFAULT
                     : strcmp(PQgetvalue(r, 0, 12), "t") == 0 ? TD_UTM_ON
                                                              : TD_UTM_OFF;
}

/* The utm_tagging value of a mode: NULL for the server's rule. */
static const char *utm_param(int mode)
{
    return mode == TD_UTM_ON ? "true" : mode == TD_UTM_OFF ? "false" : NULL;
}

/* Fills k from a row of APIKEY_SEL. */
static void read_key(const PGresult *r, td_apikey_row *k)
{
    get_str(r, 0, k->key_id, sizeof k->key_id);
    get_str(r, 1, k->name, sizeof k->name);
    get_str(r, 2, k->prefix, sizeof k->prefix);
    k->created_at = get_i64(r, 3);
    k->last_used_at = get_i64(r, 4);
    k->revoked_at = get_i64(r, 5);
}

/* Fills p from a row of PROFILE_SEL. */
static void read_profile(const PGresult *r, td_profile *p)
{
    get_str(r, 0, p->user_id, sizeof p->user_id);
    get_str(r, 1, p->first_name, sizeof p->first_name);
    get_str(r, 2, p->last_name, sizeof p->last_name);
    get_str(r, 3, p->email, sizeof p->email);
    get_str(r, 4, p->phone_number, sizeof p->phone_number);
    get_str(r, 5, p->mailing_address, sizeof p->mailing_address);
    get_str(r, 6, p->calendly_url, sizeof p->calendly_url);
    get_str(r, 7, p->linkedin_url, sizeof p->linkedin_url);
    get_str(r, 8, p->portfolio_url, sizeof p->portfolio_url);
    p->created_at = get_i64(r, 9);
    p->updated_at = get_i64(r, 10);
}

/* Fills d from a row of DOC_SEL. */
static void read_document(const PGresult *r, td_document *d)
{
    get_str(r, 0, d->document_id, sizeof d->document_id);
    get_str(r, 1, d->filename, sizeof d->filename);
    get_str(r, 2, d->kind, sizeof d->kind);
    get_str(r, 3, d->format, sizeof d->format);
    get_str(r, 4, d->template_name, sizeof d->template_name);
    get_str(r, 5, d->job_id, sizeof d->job_id);
    get_str(r, 6, d->application_id, sizeof d->application_id);
    get_str(r, 7, d->user_id, sizeof d->user_id);
    d->size_bytes = get_i64(r, 8);
    d->created_at = get_i64(r, 9);
    d->deleted_at = get_i64(r, 10);
    d->urls_tracked = (int)get_i64(r, 11);
    d->tracking_failures = (int)get_i64(r, 12);
}

/* ---- migrations ---- */

/* Reads the highest applied migration (0 for a database without our tables). */
static int read_version(struct pg *s, struct conn *c, int *out)
{
    PGresult *r = NULL;
    int rc;

    *out = 0;
    rc = run(s, c, -1, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, &r,
             "read schema");
    if (rc || strcmp(PQgetvalue(r, 0, 0), "t") != 0)
        goto out;
    PQclear(r);
    rc = run(s, c, -1, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL, &r,
             "read schema version");
    if (rc == 0)
        *out = (int)get_i64(r, 0);
out:
    PQclear(r);
    return rc;
}

/* Applies every migration newer than the database, each in its own transaction. */
static int pg_migrate(void *be, int *applied)
{
    struct pg *s = be;
    struct conn *c = NULL;
    PGresult *r = NULL;
    int rc, version;

    *applied = 0;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    /* Up to date, the common case: a read answers it, without a lock. */
    if ((rc = read_version(s, c, &version)) != 0 || version == KNOWN_VERSION)
        goto out;
    for (;;) {
        const struct migration *m;
        char num[16];
        const char *v[2];

        /* The advisory lock serialises trackdoc processes migrating one schema at once: the
         * second sees the first's work. Migrations may wait for locks as long as they need. */
        if ((rc = exec_sql(s, c, "BEGIN")) != 0 ||
            (rc = exec_sql(s, c, "SET LOCAL lock_timeout = 0")) != 0 ||
            (rc = exec_sql(s, c,
                           "SELECT pg_advisory_xact_lock(1952673892, "
                           "hashtext(coalesce(current_schema(), '')))")) != 0 ||
            (rc = exec_sql(s, c,
                           "CREATE TABLE IF NOT EXISTS schema_migrations (version integer "
                           "PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)")) !=
                0 ||
            (rc = read_version(s, c, &version)) != 0)
            goto fail;
        if (version > KNOWN_VERSION) {
            rc = td__store_error(TD_ESCHEMA,
                                 "database schema version %d is newer than this trackdoc "
                                 "(knows %d): upgrade trackdoc",
                                 version, KNOWN_VERSION);
            goto fail;
        }
        if (version == KNOWN_VERSION) {
            rc = exec_sql(s, c, "COMMIT");
            goto out;
        }
        m = &migrations[version];
        snprintf(num, sizeof num, "%d", m->version);
        v[0] = num;
        v[1] = m->name;
        r = PQexec(c->db, m->sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            char what[128];
            snprintf(what, sizeof what, "migration %d (%s) failed", m->version, m->name);
            rc = stmt_error(c, r, what);
            goto fail;
        }
        PQclear(r);
        r = NULL;
        if ((rc = run(s, c, -1,
                      "INSERT INTO schema_migrations (version, name, applied_at) "
                      "VALUES ($1, $2, now())",
                      2, v, NULL, "record migration")) != 0 ||
            (rc = exec_sql(s, c, "COMMIT")) != 0)
            goto fail;
        (*applied)++;
    }
fail:
    rollback(c);
out:
    PQclear(r);
    release(s, c);
    return rc;
}

/* Gives the database's and this program's schema versions. */
static int pg_schema_version(void *be, int *db_version, int *known)
{
    struct pg *s = be;
    struct conn *c = NULL;
    int rc = acquire(s, &c);

    *known = KNOWN_VERSION;
    if (rc == 0)
        rc = read_version(s, c, db_version);
    release(s, c);
    return rc;
}

/* ---- open and close ---- */

static void pg_close(void *be);

/* Opens the pool, migrates unless told not to, and checks the schema version. */
static int pg_open(const char *target, const td_store_options *o, void **be, char *err,
                   size_t errsz)
{
    struct pg *s = calloc(1, sizeof *s);
    struct conn *c = NULL;
    int rc = 0, applied, version = 0;

    *be = NULL;
    if (!s) {
        rc = TD_ENOMEM;
        goto out;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    s->opts = *o;
    s->max = o->pool_size > 0 ? o->pool_size : 4;
    if (!(s->url = strdup(target))) {
        rc = TD_ENOMEM;
        goto out;
    }
    /* A URL libpq cannot read is a setting to fix (TD_EINVAL), not a database failure. */
    {
        char *why = NULL;
        PQconninfoOption *parsed = PQconninfoParse(target, &why);
        if (!parsed) {
            rc = pq_error(TD_EINVAL, "not a PostgreSQL URL", why ? why : "out of memory");
            PQfreemem(why);
            goto out;
        }
        PQconninfoFree(parsed);
    }
    /* One connection now, so that a bad URL or an unreachable server fails here. */
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    release(s, c);
    if (!o->no_migrate && !o->readonly && (rc = pg_migrate(s, &applied)) != 0)
        goto out;
    if ((rc = pg_schema_version(s, &version, &applied)) != 0)
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
    *be = s;
    s = NULL;
out:
    if (rc && err && errsz)
        snprintf(err, errsz, "%s",
                 td_store_errmsg(NULL)[0] ? td_store_errmsg(NULL) : td_strerror(rc));
    pg_close(s);
    return rc;
}

/* Closes every pooled connection. */
static void pg_close(void *be)
{
    struct pg *s = be;
    struct conn *c, *next;

    if (!s)
        return;
    for (c = s->idle; c; c = next) {
        next = c->next;
        conn_close(c);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->freed);
    free(s->url);
    free(s);
}

/* Runs SELECT 1. */
static int pg_ping(void *be)
{
    struct pg *s = be;
    struct conn *c = NULL;
    int rc = acquire(s, &c);

    if (rc == 0)
        rc = run(s, c, S_PING, NULL, 0, NULL, NULL, "ping");
    release(s, c);
    return rc;
}

/* ---- links ---- */

/* Reads the link of l's context into out; TD_ENOTFOUND when there is none. */
static int link_by_context(struct pg *s, struct conn *c, const char *const *ctx, td_link *out)
{
    PGresult *r = NULL;
    int rc = run(s, c, S_LINK_BY_CONTEXT, NULL, 4, ctx, &r, "read link by context");

    if (rc == 0) {
        if (PQntuples(r) == 1)
            read_link(r, out);
        else
            rc = TD_ENOTFOUND;
    }
    PQclear(r);
    return rc;
}

/* Inserts a link unless its context exists, then gives the stored row. */
static int pg_link_insert(void *be, const td_link *l, td_link *out, bool *created)
{
    struct pg *s = be;
    struct conn *c = NULL;
    PGresult *r = NULL;
    char job[TD_UUID_SIZE], app[TD_UUID_SIZE], at[TD_TIME_ISO_SIZE], exp[TD_TIME_ISO_SIZE];
    const char *ctx[4], *v[13];
    int rc;

    *created = false;
    ctx[0] = uuid_param(job, l->job_id);
    ctx[1] = uuid_param(app, l->application_id);
    ctx[2] = l->link_function;
    ctx[3] = l->original_url;
    if ((!ctx[0] && *l->job_id) || (!ctx[1] && *l->application_id))
        return td__store_error(TD_EINVAL, "job_id and application_id must be UUIDs");
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    /* The common case by far is a context seen before: answer it without a write. */
    rc = link_by_context(s, c, ctx, out);
    if (rc != TD_ENOTFOUND)
        goto out;
    v[0] = l->tracking_id;
    v[1] = ctx[0];
    v[2] = ctx[1];
    v[3] = l->link_function;
    v[4] = opt(l->link_type);
    v[5] = l->original_url;
    v[6] = l->redirect_url;
    v[7] = time_param(at, l->created_at);
    v[8] = opt(l->created_by);
    v[9] = l->is_active ? "true" : "false";
    v[10] = opt(l->description);
    v[11] = time_param(exp, l->expires_at);
    v[12] = utm_param(l->utm_tagging);
    /* ON CONFLICT on the context index: a concurrent creator's insert is waited for, then
     * ours does nothing and the context's row is read. A clash of tracking_id alone (a random
     * id taken by another context) is a unique violation. */
    rc = run(s, c, S_LINK_INSERT, NULL, 13, v, &r, "insert link");
    if (rc == TD_EDB && strcmp(c->state, "23505") == 0) {
        rc = td__store_error(TD_ECONFLICT, "tracking id %s already taken", l->tracking_id);
        goto out;
    }
    if (rc)
        goto out;
    if (PQntuples(r) == 1) {
        read_link(r, out);
        *created = true;
        goto out;
    }
    rc = link_by_context(s, c, ctx, out);
    if (rc == TD_ENOTFOUND)
        rc = td__store_error(TD_EDB, "the link of context %s was neither inserted nor found",
                             l->tracking_id);
out:
    PQclear(r);
    release(s, c);
    return rc;
}

/* Runs a one-row read by key with statement id; TD_ENOTFOUND when there is no row. */
static int get_one(struct pg *s, enum stmt_id id, const char *key,
                   void (*read)(const PGresult *, void *), void *out)
{
    struct conn *c = NULL;
    PGresult *r = NULL;
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if ((rc = run(s, c, id, NULL, 1, &key, &r, "read")) != 0)
        goto out;
    if (PQntuples(r) == 1)
        read(r, out);
    else
        rc = TD_ENOTFOUND;
out:
    PQclear(r);
    release(s, c);
    return rc;
}

/* Runs a one-row change with statement id and n parameters; TD_ENOTFOUND when no row
 * changed. */
static int change_one(struct pg *s, enum stmt_id id, int n, const char *const *v)
{
    struct conn *c = NULL;
    PGresult *r = NULL;
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if ((rc = run(s, c, id, NULL, n, v, &r, "write")) != 0)
        goto out;
    if (changed(r) == 0)
        rc = TD_ENOTFOUND;
out:
    PQclear(r);
    release(s, c);
    return rc;
}

/* Adapts read_link to get_one. */
static void read_link_any(const PGresult *r, void *out)
{
    read_link(r, out);
}

/* Reads one link by id. */
static int pg_link_get(void *be, const char *id, td_link *out)
{
    return get_one(be, S_LINK_GET, id, read_link_any, out);
}

/* Sets is_active of one link. */
static int pg_link_set_active(void *be, const char *id, bool active)
{
    const char *v[2] = {id, active ? "true" : "false"};

    return change_one(be, S_LINK_SET_ACTIVE, 2, v);
}

/* Sets the utm tagging of one link. */
static int pg_link_set_utm(void *be, const char *id, int mode)
{
    const char *v[2] = {id, utm_param(mode)};

    return change_one(be, S_LINK_SET_UTM, 2, v);
}

struct link_rows {
    int (*cb)(void *, const td_link *);
    void *ud;
};

/* Hands one listed row to the caller's callback. */
static int link_row(void *ud, const PGresult *r)
{
    struct link_rows *lr = ud;
    td_link l;

    read_link(r, &l);
    return lr->cb(lr->ud, &l);
}

/* Lists links newest first with optional filters and a keyset cursor. The SQL is built per
 * call from fixed fragments (never from input), so that each filter can use its index. */
static int pg_link_list(void *be, const td_link_filter *f, int (*cb)(void *, const td_link *),
                        void *ud)
{
    struct pg *s = be;
    struct conn *c = NULL;
    struct link_rows lr = {cb, ud};
    char job[TD_UUID_SIZE], app[TD_UUID_SIZE], iso[TD_TIME_ISO_SIZE], limit[16];
    const char *v[8];
    td_buf sql;
    int rc, n = 0;

    td_buf_init(&sql, 4096);
    /* A filter that is not a UUID matches no row (the column holds only UUIDs). */
    if ((f->job_id && *f->job_id && !uuid_param(job, f->job_id)) ||
        (f->application_id && *f->application_id && !uuid_param(app, f->application_id)))
        return 0;
    rc = td_buf_adds(&sql, "SELECT " LINK_SEL " FROM link_tracking WHERE true");
    if (f->job_id && *f->job_id) {
        v[n++] = job;
        rc = rc ? rc : td_buf_printf(&sql, " AND job_id = $%d", n);
    }
    if (f->application_id && *f->application_id) {
        v[n++] = app;
        rc = rc ? rc : td_buf_printf(&sql, " AND application_id = $%d", n);
    }
    if (f->link_function && *f->link_function) {
        v[n++] = f->link_function;
        rc = rc ? rc : td_buf_printf(&sql, " AND link_function = $%d", n);
    }
    if (f->active >= 0) {
        v[n++] = f->active ? "true" : "false";
        rc = rc ? rc : td_buf_printf(&sql, " AND is_active = $%d", n);
    }
    if (f->after_created_at) {
        td_time_format(f->after_created_at, iso);
        v[n++] = iso;
        v[n++] = f->after_tracking_id ? f->after_tracking_id : "";
        rc = rc ? rc
                : td_buf_printf(&sql, " AND (created_at, tracking_id) < ($%d::timestamptz, $%d)",
                                n - 1, n);
    }
    snprintf(limit, sizeof limit, "%d", f->limit);
    v[n++] = limit;
    rc = rc ? rc : td_buf_printf(&sql, " ORDER BY created_at DESC, tracking_id DESC LIMIT $%d", n);
    if (rc)
        goto out;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = run_rows(s, c, -1, sql.data, n, v, link_row, &lr, "list links");
out:
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

/* ---- clicks ---- */

/* Appends one element to the array literal in b: s cut to max bytes, NULL when NULL or "". */
static int arr_add(td_buf *b, const char *s, size_t max)
{
    int rc = td_buf_addc(b, b->len == 0 ? '{' : ',');

    if (rc)
        return rc;
    if (!s || !*s)
        return td_buf_adds(b, "NULL");
    rc = td_buf_addc(b, '"');
    rc = rc ? rc : add_text(b, s, cut_len(s, max), true);
    return rc ? rc : td_buf_addc(b, '"');
}

/* The text of an address PostgreSQL's inet takes, or NULL (trackdoc only records addresses
 * it checked; anything else is not an address). */
static const char *ip_param(const char *ip)
{
    unsigned char a[16];

    return ip && (inet_pton(AF_INET, ip, a) == 1 || inet_pton(AF_INET6, ip, a) == 1) ? ip : NULL;
}

/* Fills the CLICK_PARAMS values of one click (iso: room for its time). */
static void click_values(const td_click *k, char iso[TD_TIME_ISO_SIZE], const char **v)
{
    td_time_format(k->clicked_at, iso);
    v[0] = k->click_id;
    v[1] = k->tracking_id;
    v[2] = iso;
    v[3] = ip_param(k->ip_address);
    v[4] = k->user_agent;
    v[5] = k->referrer_url;
    v[6] = k->session_id;
    v[7] = td_click_source_name(k->click_source);
    v[8] = k->metadata;
    v[9] = k->head ? "HEAD" : "GET";
    v[10] = td_click_class_name((td_click_class)k->click_class);
    v[11] = k->class_reason;
    v[12] = k->visitor_hash;
}

/* Most bytes each click column keeps (the limits of the SQLite backend). */
static const size_t click_max[CLICK_PARAMS] = {
    SIZE_MAX,
    SIZE_MAX,
    SIZE_MAX,
    64,
    TD_CLICK_UA_MAX,
    TD_CLICK_REFERRER_MAX,
    TD_CLICK_SESSION_MAX,
    SIZE_MAX,
    SIZE_MAX,
    SIZE_MAX,
    SIZE_MAX,
    TD_CLASS_REASON_SIZE - 1,
    64,
};

/* Inserts the batch in one statement (the fast path). Returns 0, or TD_EDB with c->state. */
static int click_batch(struct pg *s, struct conn *c, const td_click *clicks, size_t n)
{
    td_buf col[CLICK_PARAMS];
    const char *v[CLICK_PARAMS];
    int rc = 0;

    for (int j = 0; j < CLICK_PARAMS; j++)
        td_buf_init(&col[j], 0);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *row[CLICK_PARAMS];
        char iso[TD_TIME_ISO_SIZE];
        click_values(&clicks[i], iso, row);
        for (int j = 0; j < CLICK_PARAMS && !rc; j++)
            rc = arr_add(&col[j], row[j], click_max[j]);
    }
    for (int j = 0; j < CLICK_PARAMS && !rc; j++)
        rc = td_buf_addc(&col[j], '}');
    if (rc) {
        rc = td__store_error(rc, "insert clicks: %s", td_strerror(rc));
        goto out;
    }
    for (int j = 0; j < CLICK_PARAMS; j++)
        v[j] = col[j].data;
    rc = run(s, c, S_CLICK_BATCH, NULL, CLICK_PARAMS, v, NULL, "insert clicks");
out:
    for (int j = 0; j < CLICK_PARAMS; j++)
        td_buf_release(&col[j]);
    return rc;
}

/* True when a failed batch failed for one click's own sake (then the slow path sorts it out):
 * a missing link, data PostgreSQL refuses (invalid JSON, ...), a check, a missing value. */
static bool row_failure(const struct conn *c)
{
    return strcmp(c->state, "23503") == 0 || strncmp(c->state, "22", 2) == 0 ||
           strcmp(c->state, "23514") == 0 || strcmp(c->state, "23502") == 0;
}

/* Inserts the batch a click at a time, each behind a savepoint, so that a click refused for
 * its own sake (unknown link, invalid metadata) leaves the others: the slow path, taken only
 * when the fast one failed for such a click. */
static int click_rows(struct pg *s, struct conn *c, const td_click *clicks, size_t n, int *row_rc)
{
    int rc = 0;

    for (size_t i = 0; i < n && !rc; i++) {
        const char *v[CLICK_PARAMS];
        char iso[TD_TIME_ISO_SIZE], cut[CLICK_PARAMS][TD_CLICK_REFERRER_MAX + 1];
        int row = 0;

        click_values(&clicks[i], iso, v);
        for (int j = 0; j < CLICK_PARAMS; j++) {
            if (v[j] && click_max[j] < sizeof cut[j] && strlen(v[j]) > click_max[j]) {
                memcpy(cut[j], v[j], cut_len(v[j], click_max[j]));
                cut[j][cut_len(v[j], click_max[j])] = '\0';
                v[j] = cut[j];
            }
            v[j] = opt(v[j]);
        }
        if ((rc = exec_sql(s, c, "SAVEPOINT click")) != 0)
            break;
        row = run(s, c, S_CLICK_ONE, NULL, CLICK_PARAMS, v, NULL, "insert click");
        if (row == TD_EDB && strcmp(c->state, "23503") == 0)
            row = TD_ENOTFOUND;
        else if (row == TD_EDB && row_failure(c))
            row = TD_EINVAL;
        if (row == TD_EDB) {
            rc = row;
            break;
        }
        rc = exec_sql(s, c, row ? "ROLLBACK TO SAVEPOINT click" : "RELEASE SAVEPOINT click");
        if (row_rc)
            row_rc[i] = row;
    }
    return rc;
}

/* Inserts a batch of clicks in one transaction: one multi-row statement when every click can
 * be stored, which is the rule; else click by click with savepoints, with SQLite's results. */
static int pg_click_insert(void *be, const td_click *clicks, size_t n, int *row_rc)
{
    struct pg *s = be;
    struct conn *c = NULL;
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if ((rc = exec_sql(s, c, "BEGIN")) != 0)
        goto out;
    rc = click_batch(s, c, clicks, n);
    if (rc == TD_EDB && row_failure(c)) {
        rollback(c);
        if ((rc = exec_sql(s, c, "BEGIN")) != 0)
            goto out;
        rc = click_rows(s, c, clicks, n, row_rc);
    } else if (rc == 0 && row_rc) {
        memset(row_rc, 0, n * sizeof *row_rc);
    }
    if (rc == 0)
        rc = exec_sql(s, c, "COMMIT");
out:
    if (c)
        rollback(c);
    release(s, c);
    return rc;
}

struct group_rows {
    int (*cb)(void *, const td_click_row *);
    void *ud;
};

/* Hands one aggregate row to the caller's callback. */
static int group_row(void *ud, const PGresult *r)
{
    struct group_rows *g = ud;
    td_click_row row = {
        .key = PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0),
        .clicks = get_i64(r, 1),
        .first_click = get_i64(r, 2),
        .last_click = get_i64(r, 3),
        .visitors = get_i64(r, 4),
    };

    if (row.clicks == 0)
        return 0;
    return g->cb(g->ud, &row);
}

/* Counts clicks grouped by one key. */
static int pg_click_groups(void *be, const td_click_filter *f, td_click_group g,
                           int (*cb)(void *, const td_click_row *), void *ud)
{
    static const char *const keys[] = {
        [TD_GROUP_ALL] = "''",
        [TD_GROUP_SOURCE] = "c.click_source",
        [TD_GROUP_DAY] = "to_char(c.clicked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        [TD_GROUP_FUNCTION] = "l.link_function",
        [TD_GROUP_LINK] = "c.tracking_id",
        [TD_GROUP_METHOD] = "c.http_method",
        [TD_GROUP_CLASS] = "c.click_class",
    };
    struct pg *s = be;
    struct conn *c = NULL;
    struct group_rows gr = {cb, ud};
    char since[TD_TIME_ISO_SIZE], until[TD_TIME_ISO_SIZE], job[TD_UUID_SIZE], app[TD_UUID_SIZE];
    const char *v[8];
    bool join;
    td_buf sql;
    int rc, n = 0;

    if ((int)g < 0 || (size_t)g >= TD_ARRAY_SIZE(keys))
        return td__store_error(TD_EINVAL, "unknown click grouping");
    if ((f->job_id && *f->job_id && !uuid_param(job, f->job_id)) ||
        (f->application_id && *f->application_id && !uuid_param(app, f->application_id)))
        return 0; /* not a UUID: no link has it */
    td_buf_init(&sql, 4096);
    join = (f->job_id && *f->job_id) || (f->application_id && *f->application_id) ||
           g == TD_GROUP_FUNCTION;
    rc = td_buf_printf(&sql,
                       "SELECT %s, count(*), " MS("min(c.clicked_at)") ", " MS(
                           "max(c.clicked_at)") ", count(DISTINCT c.visitor_hash) "
                                                "FROM link_clicks c%s WHERE true",
                       keys[g],
                       join ? " JOIN link_tracking l ON l.tracking_id = c.tracking_id" : "");
    if (f->tracking_id && *f->tracking_id) {
        v[n++] = f->tracking_id;
        rc = rc ? rc : td_buf_printf(&sql, " AND c.tracking_id = $%d", n);
    }
    if (f->job_id && *f->job_id) {
        v[n++] = job;
        rc = rc ? rc : td_buf_printf(&sql, " AND l.job_id = $%d", n);
    }
    if (f->application_id && *f->application_id) {
        v[n++] = app;
        rc = rc ? rc : td_buf_printf(&sql, " AND l.application_id = $%d", n);
    }
    if (f->since) {
        td_time_format(f->since, since);
        v[n++] = since;
        rc = rc ? rc : td_buf_printf(&sql, " AND c.clicked_at >= $%d", n);
    }
    if (f->until) {
        td_time_format(f->until, until);
        v[n++] = until;
        rc = rc ? rc : td_buf_printf(&sql, " AND c.clicked_at < $%d", n);
    }
    if (!f->include_head && g != TD_GROUP_METHOD)
        rc = rc ? rc : td_buf_adds(&sql, " AND c.http_method = 'GET'");
    if (f->classes && (f->classes & TD_CLASS_ALL) != TD_CLASS_ALL) {
        const char *sep = " AND c.click_class IN (";
        /* Class names are constants: no parameter needed. */
        for (int k = 0; k < TD_CLASS_COUNT && !rc; k++) {
            if (!(f->classes & TD_CLASS_BIT(k)))
                continue;
            rc = td_buf_printf(&sql, "%s'%s'", sep, td_click_class_name((td_click_class)k));
            sep = ", ";
        }
        rc = rc ? rc : td_buf_adds(&sql, ")");
    }
    /* Keys in byte order, as SQLite sorts them. */
    if (g != TD_GROUP_ALL)
        rc = rc ? rc : td_buf_printf(&sql, " GROUP BY 1 ORDER BY %s COLLATE \"C\"", keys[g]);
    if (rc)
        goto out;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = run_rows(s, c, -1, sql.data, n, v, group_row, &gr, "count clicks");
out:
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
    /* Class names are constants: no parameter needed. */
    for (int k = 0; k < TD_CLASS_COUNT && !rc; k++) {
        if (!(classes & TD_CLASS_BIT(k)))
            continue;
        rc = td_buf_printf(sql, "%s'%s'", sep, td_click_class_name((td_click_class)k));
        sep = ", ";
    }
    return rc ? rc : td_buf_adds(sql, ")");
}

/* The conditions of f on the clicks c (and their links l) with their values, for the rollup
 * queries, which count link_clicks directly (store.c checked that the period is whole days). */
struct rollup_where {
    char since[TD_TIME_ISO_SIZE], until[TD_TIME_ISO_SIZE], job[TD_UUID_SIZE], app[TD_UUID_SIZE];
    const char *v[6];
    int n;
    bool none; /* a filter no row can match */
};

/* Appends the WHERE of f to sql and fills w. */
static int rollup_filter(td_buf *sql, const td_click_filter *f, struct rollup_where *w)
{
    int rc = td_buf_adds(sql, " WHERE true");

    if (f->tracking_id && *f->tracking_id) {
        w->v[w->n++] = f->tracking_id;
        rc = rc ? rc : td_buf_printf(sql, " AND c.tracking_id = $%d", w->n);
    }
    if (f->job_id && *f->job_id) {
        w->none |= !uuid_param(w->job, f->job_id);
        w->v[w->n++] = w->job;
        rc = rc ? rc : td_buf_printf(sql, " AND l.job_id = $%d", w->n);
    }
    if (f->application_id && *f->application_id) {
        w->none |= !uuid_param(w->app, f->application_id);
        w->v[w->n++] = w->app;
        rc = rc ? rc : td_buf_printf(sql, " AND l.application_id = $%d", w->n);
    }
    if (f->since) {
        w->v[w->n++] = time_param(w->since, f->since);
        rc = rc ? rc : td_buf_printf(sql, " AND c.clicked_at >= $%d", w->n);
    }
    if (f->until) {
        w->v[w->n++] = time_param(w->until, f->until);
        rc = rc ? rc : td_buf_printf(sql, " AND c.clicked_at < $%d", w->n);
    }
    if (!f->include_head)
        rc = rc ? rc : td_buf_adds(sql, " AND c.http_method = 'GET'");
    return rc ? rc : append_classes(sql, "c.click_class", f->classes);
}

struct total_rows {
    int (*cb)(void *, const td_click_total *);
    void *ud;
};

/* Hands one per-link total to the caller's callback. */
static int total_row(void *ud, const PGresult *r)
{
    struct total_rows *t = ud;
    td_click_total row = {
        .tracking_id = PQgetvalue(r, 0, 0),
        .click_class = PQgetvalue(r, 0, 1),
        .http_method = PQgetvalue(r, 0, 2),
        .click_source = PQgetvalue(r, 0, 3),
        .clicks = get_i64(r, 4),
        .first_click = get_i64(r, 5),
        .last_click = get_i64(r, 6),
    };

    return row.clicks > 0 ? t->cb(t->ud, &row) : 0;
}

/* Per-link totals by class, method and source. */
static int pg_click_totals(void *be, const td_click_filter *f,
                           int (*cb)(void *, const td_click_total *), void *ud)
{
    struct pg *s = be;
    struct conn *c = NULL;
    struct total_rows t = {cb, ud};
    struct rollup_where w = {0};
    td_buf sql;
    int rc;

    td_buf_init(&sql, 4096);
    rc = td_buf_adds(&sql, "SELECT c.tracking_id, c.click_class, c.http_method, c.click_source, "
                           "count(*), " MS("min(c.clicked_at)") ", " MS(
                               "max(c.clicked_at)") " "
                                                    "FROM link_clicks c JOIN link_tracking l "
                                                    "ON l.tracking_id = c.tracking_id");
    rc = rc ? rc : rollup_filter(&sql, f, &w);
    rc = rc ? rc
            : td_buf_adds(&sql, " GROUP BY 1, 2, 3, 4 ORDER BY c.tracking_id, c.click_class "
                                "COLLATE \"C\", c.http_method COLLATE \"C\", "
                                "c.click_source COLLATE \"C\"");
    if (rc || w.none)
        goto out;
    if ((rc = acquire(s, &c)) == 0)
        rc = run_rows(s, c, -1, sql.data, w.n, w.v, total_row, &t, "read click totals");
out:
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

struct day_rows {
    int (*cb)(void *, const td_click_day *);
    void *ud;
};

/* Hands one daily count to the caller's callback. */
static int day_row(void *ud, const PGresult *r)
{
    struct day_rows *d = ud;
    td_click_day row = {
        .day = PQgetvalue(r, 0, 0),
        .link_function = PQgetvalue(r, 0, 1),
        .click_class = PQgetvalue(r, 0, 2),
        .http_method = PQgetvalue(r, 0, 3),
        .clicks = get_i64(r, 4),
    };

    return row.clicks > 0 ? d->cb(d->ud, &row) : 0;
}

/* Daily counts by function, class and method. */
static int pg_click_days(void *be, const td_click_filter *f,
                         int (*cb)(void *, const td_click_day *), void *ud)
{
    struct pg *s = be;
    struct conn *c = NULL;
    struct day_rows d = {cb, ud};
    struct rollup_where w = {0};
    td_buf sql;
    int rc;

    td_buf_init(&sql, 4096);
    rc = td_buf_adds(&sql, "SELECT to_char(c.clicked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), "
                           "l.link_function, c.click_class, c.http_method, count(*) "
                           "FROM link_clicks c JOIN link_tracking l "
                           "ON l.tracking_id = c.tracking_id");
    rc = rc ? rc : rollup_filter(&sql, f, &w);
    rc = rc ? rc
            : td_buf_adds(&sql, " GROUP BY 1, 2, 3, 4 ORDER BY 1, l.link_function COLLATE \"C\", "
                                "c.click_class COLLATE \"C\", c.http_method COLLATE \"C\"");
    if (rc || w.none)
        goto out;
    if ((rc = acquire(s, &c)) == 0)
        rc = run_rows(s, c, -1, sql.data, w.n, w.v, day_row, &d, "read daily clicks");
out:
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

struct job_rows {
    int (*cb)(void *, const td_click_job *);
    void *ud;
};

/* Hands one ranked job to the caller's callback. */
static int job_row(void *ud, const PGresult *r)
{
    struct job_rows *j = ud;
    td_click_job row = {
        .job_id = PQgetvalue(r, 0, 0),
        .human_clicks = get_i64(r, 1),
        .clicks = get_i64(r, 2),
    };

    return j->cb(j->ud, &row);
}

/* Jobs ranked by human GET clicks. */
static int pg_click_top_jobs(void *be, const td_click_filter *f, int limit,
                             int (*cb)(void *, const td_click_job *), void *ud)
{
    struct pg *s = be;
    struct conn *c = NULL;
    struct job_rows j = {cb, ud};
    struct rollup_where w = {0};
    /* GET clicks of every class: the counted classes go into a FILTER, not the WHERE. */
    td_click_filter period = {.since = f->since, .until = f->until};
    td_buf sql;
    int rc;

    td_buf_init(&sql, 4096);
    rc = td_buf_adds(&sql, "SELECT job_id, human, counted FROM (SELECT l.job_id, "
                           "count(*) FILTER (WHERE c.click_class = 'human') AS human, "
                           "count(*) FILTER (WHERE true");
    rc = rc ? rc : append_classes(&sql, "c.click_class", f->classes);
    rc = rc ? rc
            : td_buf_adds(&sql, ") AS counted FROM link_clicks c JOIN link_tracking l "
                                "ON l.tracking_id = c.tracking_id");
    rc = rc ? rc : rollup_filter(&sql, &period, &w);
    rc = rc ? rc
            : td_buf_printf(&sql,
                            " AND l.job_id IS NOT NULL GROUP BY l.job_id) j "
                            "WHERE human > 0 OR counted > 0 "
                            "ORDER BY human DESC, counted DESC, job_id LIMIT %d",
                            limit);
    if (rc)
        goto out;
    if ((rc = acquire(s, &c)) == 0)
        rc = run_rows(s, c, -1, sql.data, w.n, w.v, job_row, &j, "read top jobs");
out:
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

/* Sets the class of stored clicks, in one statement; ids that are not UUIDs match nothing. */
static int pg_click_reclassify(void *be, const char *const *ids, size_t n, int cls,
                               const char *reason)
{
    struct pg *s = be;
    struct conn *c = NULL;
    char norm[TD_UUID_SIZE];
    const char *v[3];
    td_buf arr;
    int rc = 0;

    td_buf_init(&arr, 0);
    for (size_t i = 0; i < n && !rc; i++)
        if (uuid_param(norm, ids[i]))
            rc = arr_add(&arr, norm, TD_UUID_SIZE);
    if (rc || arr.len == 0)
        goto out;
    if ((rc = td_buf_addc(&arr, '}')) != 0 || (rc = acquire(s, &c)) != 0)
        goto out;
    v[0] = arr.data;
    v[1] = td_click_class_name((td_click_class)cls);
    v[2] = opt(reason);
    {
        char cut[TD_CLASS_REASON_SIZE];
        if (v[2] && strlen(v[2]) >= sizeof cut) {
            memcpy(cut, v[2], cut_len(v[2], sizeof cut - 1));
            cut[cut_len(v[2], sizeof cut - 1)] = '\0';
            v[2] = cut;
        }
        rc = run(s, c, S_CLICK_RECLASSIFY, NULL, 3, v, NULL, "reclassify clicks");
    }
out:
    release(s, c);
    td_buf_release(&arr);
    return rc;
}

/* Deletes clicks older than a time. */
static int pg_click_purge(void *be, int64_t before, int64_t *deleted)
{
    struct pg *s = be;
    struct conn *c = NULL;
    PGresult *r = NULL;
    char iso[TD_TIME_ISO_SIZE];
    const char *v[1] = {iso};
    int rc;

    *deleted = 0;
    td_time_format(before, iso);
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if ((rc = run(s, c, S_CLICK_PURGE, NULL, 1, v, &r, "purge clicks")) == 0)
        *deleted = changed(r);
out:
    PQclear(r);
    release(s, c);
    return rc;
}

/* Gets the salt of a day, making it when this is the day's first caller; older days' salts
 * are deleted in the same transaction. */
static int pg_visitor_salt(void *be, const char *day, const char *keep_from, char salt_hex[65])
{
    static const char hex[] = "0123456789abcdef";
    struct pg *s = be;
    struct conn *c = NULL;
    PGresult *r = NULL;
    unsigned char rnd[32];
    char fresh[65];
    const char *v[2];
    int rc;

    if (td_random_bytes(rnd, sizeof rnd) != 0)
        return td__store_error(TD_EIO, "no random source for the visitor salt");
    for (size_t i = 0; i < sizeof rnd; i++) {
        fresh[2 * i] = hex[rnd[i] >> 4];
        fresh[2 * i + 1] = hex[rnd[i] & 15];
    }
    fresh[64] = '\0';
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    v[0] = keep_from;
    if ((rc = exec_sql(s, c, "BEGIN")) != 0 ||
        (rc = run(s, c, S_SALT_PRUNE, NULL, 1, v, NULL, "visitor salt")) != 0)
        goto fail;
    v[0] = day;
    v[1] = fresh;
    if ((rc = run(s, c, S_SALT_INSERT, NULL, 2, v, NULL, "visitor salt")) != 0 ||
        (rc = run(s, c, S_SALT_GET, NULL, 1, v, &r, "visitor salt")) != 0)
        goto fail;
    if (PQntuples(r) != 1) {
        rc = td__store_error(TD_EDB, "visitor salt: the salt of %s is missing", day);
        goto fail;
    }
    get_str(r, 0, salt_hex, 65);
    if ((rc = exec_sql(s, c, "COMMIT")) == 0)
        goto out;
fail:
    if (rc == TD_EDB && strncmp(c->state, "22", 2) == 0)
        rc = td__store_error(TD_EINVAL, "days are YYYY-MM-DD dates");
    rollback(c);
out:
    PQclear(r);
    release(s, c);
    return rc;
}

/* ---- API keys ---- */

/* Stores a new key hash. */
static int pg_apikey_insert(void *be, const td_apikey_row *k, const char *hash_hex)
{
    struct pg *s = be;
    struct conn *c = NULL;
    char at[TD_TIME_ISO_SIZE];
    const char *v[5] = {k->key_id, k->name, hash_hex, k->prefix, time_param(at, k->created_at)};
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = run(s, c, S_KEY_INSERT, NULL, 5, v, NULL, "insert API key");
    if (rc == TD_EDB && strcmp(c->state, "23505") == 0)
        rc = td__store_error(TD_ECONFLICT, "an active API key is already named \"%s\"", k->name);
out:
    release(s, c);
    return rc;
}

/* Adapts read_key to get_one. */
static void read_key_any(const PGresult *r, void *out)
{
    read_key(r, out);
}

/* Finds an active key by hash. */
static int pg_apikey_find(void *be, const char *hash_hex, td_apikey_row *out)
{
    return get_one(be, S_KEY_FIND, hash_hex, read_key_any, out);
}

/* Records when a key was last used (best effort: a locked row is skipped, not waited for). */
static int pg_apikey_touch(void *be, const char *key_id, int64_t now)
{
    struct pg *s = be;
    struct conn *c = NULL;
    char at[TD_TIME_ISO_SIZE];
    const char *v[2] = {key_id, time_param(at, now)};
    int rc;

    if ((rc = acquire(s, &c)) == 0)
        rc = run(s, c, S_KEY_TOUCH, NULL, 2, v, NULL, "update API key");
    release(s, c);
    return rc;
}

struct key_rows {
    int (*cb)(void *, const td_apikey_row *);
    void *ud;
};

/* Hands one listed key to the caller's callback. */
static int key_row(void *ud, const PGresult *r)
{
    struct key_rows *kr = ud;
    td_apikey_row k;

    read_key(r, &k);
    return kr->cb(kr->ud, &k);
}

/* Lists keys, newest first. */
static int pg_apikey_list(void *be, bool all, int (*cb)(void *, const td_apikey_row *), void *ud)
{
    struct pg *s = be;
    struct conn *c = NULL;
    struct key_rows kr = {cb, ud};
    int rc;

    if ((rc = acquire(s, &c)) == 0)
        rc = run_rows(s, c, -1,
                      all ? "SELECT " APIKEY_SEL " FROM api_keys ORDER BY created_at DESC"
                          : "SELECT " APIKEY_SEL " FROM api_keys WHERE revoked_at IS NULL "
                            "ORDER BY created_at DESC",
                      0, NULL, key_row, &kr, "list API keys");
    release(s, c);
    return rc;
}

/* Revokes the one active key that ref names: the matching rows are locked, counted, and the
 * key revoked only when there is exactly one. */
static int pg_apikey_revoke(void *be, const char *ref, int64_t now)
{
    struct pg *s = be;
    struct conn *c = NULL;
    PGresult *r = NULL;
    char at[TD_TIME_ISO_SIZE], key_id[64];
    const char *v[2];
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    v[0] = ref;
    if ((rc = exec_sql(s, c, "BEGIN")) != 0 ||
        (rc = run(s, c, S_KEY_LOCK_REF, NULL, 1, v, &r, "revoke API key")) != 0)
        goto fail;
    if (PQntuples(r) == 0) {
        rc = td__store_error(TD_ENOTFOUND, "no active API key has the id, name or prefix \"%s\"",
                             ref);
        goto fail;
    }
    if (PQntuples(r) > 1) {
        rc = td__store_error(TD_ECONFLICT, "\"%s\" matches %d keys: give the key id", ref,
                             PQntuples(r));
        goto fail;
    }
    get_str(r, 0, key_id, sizeof key_id);
    v[0] = key_id;
    v[1] = time_param(at, now);
    if ((rc = run(s, c, S_KEY_REVOKE, NULL, 2, v, NULL, "revoke API key")) != 0 ||
        (rc = exec_sql(s, c, "COMMIT")) != 0)
        goto fail;
    goto out;
fail:
    rollback(c);
out:
    PQclear(r);
    release(s, c);
    return rc;
}

/* ---- profiles ---- */

/* Creates or replaces a profile (only_new: creates only), in one statement that tells which. */
static int pg_profile_put(void *be, const td_profile *p, bool only_new, bool *created)
{
    struct pg *s = be;
    struct conn *c = NULL;
    PGresult *r = NULL;
    char uid[TD_UUID_SIZE], at[TD_TIME_ISO_SIZE], up[TD_TIME_ISO_SIZE];
    const char *v[11];
    int rc;

    *created = false;
    if (!uuid_param(uid, p->user_id))
        return td__store_error(TD_EINVAL, "user_id must be a UUID");
    v[0] = uid;
    v[1] = opt(p->first_name);
    v[2] = opt(p->last_name);
    v[3] = opt(p->email);
    v[4] = opt(p->phone_number);
    v[5] = opt(p->mailing_address);
    v[6] = opt(p->calendly_url);
    v[7] = opt(p->linkedin_url);
    v[8] = opt(p->portfolio_url);
    v[9] = time_param(at, p->created_at ? p->created_at : p->updated_at);
    v[10] = time_param(up, p->updated_at);
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc =
        run(s, c, only_new ? S_PROFILE_INSERT : S_PROFILE_UPSERT, NULL, 11, v, &r, "write profile");
    if (rc)
        goto out;
    if (PQntuples(r) == 1)
        *created = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    if (only_new && !*created)
        rc = td__store_error(TD_ECONFLICT, "user %s has a profile already", p->user_id);
out:
    PQclear(r);
    release(s, c);
    return rc;
}

/* Adapts read_profile to get_one. */
static void read_profile_any(const PGresult *r, void *out)
{
    read_profile(r, out);
}

/* Reads a profile; a user_id that is not a UUID has none. */
static int pg_profile_get(void *be, const char *user_id, td_profile *out)
{
    char uid[TD_UUID_SIZE];

    if (!uuid_param(uid, user_id))
        return TD_ENOTFOUND;
    return get_one(be, S_PROFILE_GET, uid, read_profile_any, out);
}

/* Deletes a profile. */
static int pg_profile_delete(void *be, const char *user_id)
{
    char uid[TD_UUID_SIZE];
    const char *v[1] = {uid};

    if (!uuid_param(uid, user_id))
        return TD_ENOTFOUND;
    return change_one(be, S_PROFILE_DELETE, 1, v);
}

struct profile_rows {
    int (*cb)(void *, const td_profile *);
    void *ud;
};

/* Hands one listed profile to the caller's callback. */
static int profile_row(void *ud, const PGresult *r)
{
    struct profile_rows *pr = ud;
    td_profile p;

    read_profile(r, &p);
    return pr->cb(pr->ud, &p);
}

/* Lists profiles by user_id. */
static int pg_profile_list(void *be, const char *after, int limit,
                           int (*cb)(void *, const td_profile *), void *ud)
{
    struct pg *s = be;
    struct conn *c = NULL;
    struct profile_rows pr = {cb, ud};
    char uid[TD_UUID_SIZE], lim[16];
    const char *v[2] = {lim, uid};
    int rc;

    snprintf(lim, sizeof lim, "%d", limit);
    if (*after && !uuid_param(uid, after))
        return td__store_error(TD_EINVAL, "the cursor of a profile list is a user_id (a UUID)");
    if ((rc = acquire(s, &c)) == 0)
        rc = run_rows(s, c, *after ? S_PROFILE_LIST_AFTER : S_PROFILE_LIST_FIRST, NULL,
                      *after ? 2 : 1, v, profile_row, &pr, "list profiles");
    release(s, c);
    return rc;
}

/* ---- generated documents ---- */

/* Records a generated document. */
static int pg_document_insert(void *be, const td_document *d)
{
    struct pg *s = be;
    struct conn *c = NULL;
    char size[24], at[TD_TIME_ISO_SIZE], del[TD_TIME_ISO_SIZE], urls[16], fails[16];
    const char *v[13];
    int rc;

    snprintf(size, sizeof size, "%" PRId64, d->size_bytes);
    snprintf(urls, sizeof urls, "%d", d->urls_tracked);
    snprintf(fails, sizeof fails, "%d", d->tracking_failures);
    v[0] = d->document_id;
    v[1] = d->filename;
    v[2] = d->kind;
    v[3] = d->format;
    v[4] = opt(d->template_name);
    v[5] = opt(d->job_id);
    v[6] = opt(d->application_id);
    v[7] = opt(d->user_id);
    v[8] = size;
    v[9] = time_param(at, d->created_at);
    v[10] = time_param(del, d->deleted_at);
    v[11] = urls;
    v[12] = fails;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = run(s, c, S_DOC_INSERT, NULL, 13, v, NULL, "record document");
    if (rc == TD_EDB && strncmp(c->state, "23", 2) == 0)
        rc = td__store_error(TD_ECONFLICT, "a document is already named %s", d->filename);
out:
    release(s, c);
    return rc;
}

/* Adapts read_document to get_one. */
static void read_document_any(const PGresult *r, void *out)
{
    read_document(r, out);
}

/* Reads a document by file name. */
static int pg_document_get(void *be, const char *filename, td_document *out)
{
    return get_one(be, S_DOC_GET, filename, read_document_any, out);
}

struct doc_rows {
    int (*cb)(void *, const td_document *);
    void *ud;
};

/* Hands one listed document to the caller's callback. */
static int doc_row(void *ud, const PGresult *r)
{
    struct doc_rows *dr = ud;
    td_document d;

    read_document(r, &d);
    return dr->cb(dr->ud, &d);
}

/* Lists documents, oldest first; the SQL is built from fixed fragments. */
static int pg_document_list(void *be, const td_document_filter *f,
                            int (*cb)(void *, const td_document *), void *ud)
{
    struct pg *s = be;
    struct conn *c = NULL;
    struct doc_rows dr = {cb, ud};
    char before[TD_TIME_ISO_SIZE], limit[16];
    const char *v[4];
    td_buf sql;
    int rc, n = 0;

    td_buf_init(&sql, 2048);
    rc = td_buf_adds(&sql, "SELECT " DOC_SEL " FROM generated_documents WHERE true");
    if (f->user_id && *f->user_id) {
        v[n++] = f->user_id;
        rc = rc ? rc : td_buf_printf(&sql, " AND user_id = $%d", n);
    }
    if (f->job_id && *f->job_id) {
        v[n++] = f->job_id;
        rc = rc ? rc : td_buf_printf(&sql, " AND job_id = $%d", n);
    }
    if (f->created_before) {
        td_time_format(f->created_before, before);
        v[n++] = before;
        rc = rc ? rc : td_buf_printf(&sql, " AND created_at < $%d", n);
    }
    if (!f->include_deleted)
        rc = rc ? rc : td_buf_adds(&sql, " AND deleted_at IS NULL");
    snprintf(limit, sizeof limit, "%d", f->limit);
    v[n++] = limit;
    rc = rc ? rc : td_buf_printf(&sql, " ORDER BY created_at, filename LIMIT $%d", n);
    if (rc)
        goto out;
    if ((rc = acquire(s, &c)) == 0)
        rc = run_rows(s, c, -1, sql.data, n, v, doc_row, &dr, "list documents");
out:
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

/* Marks a document's file deleted. */
static int pg_document_mark_deleted(void *be, const char *filename, int64_t now)
{
    char at[TD_TIME_ISO_SIZE];
    const char *v[2] = {filename, time_param(at, now)};

    return change_one(be, S_DOC_MARK, 2, v);
}

/* Counts the documents of a job or an application. */
static int pg_document_count(void *be, const char *job_id, const char *application_id, int64_t *out)
{
    struct pg *s = be;
    struct conn *c = NULL;
    PGresult *r = NULL;
    bool by_job = job_id && *job_id;
    const char *v[1] = {by_job ? job_id : application_id ? application_id : ""};
    int rc;

    *out = 0;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = run(s, c, by_job ? S_DOC_COUNT_JOB : S_DOC_COUNT_APP, NULL, 1, v, &r, "count documents");
    if (rc == 0)
        *out = get_i64(r, 0);
out:
    PQclear(r);
    release(s, c);
    return rc;
}

/* What a document group row goes to. */
struct doc_groups {
    int (*cb)(void *, const char *, int64_t);
    void *ud;
};

/* Passes one row of per-job document counts on. */
static int doc_group_row(void *ud, const PGresult *r)
{
    struct doc_groups *dg = ud;

    return dg->cb(dg->ud, PQgetvalue(r, 0, 0), get_i64(r, 1));
}

/* Counts documents per job, in job_id order. */
static int pg_document_groups(void *be, int (*cb)(void *, const char *, int64_t), void *ud)
{
    struct pg *s = be;
    struct conn *c = NULL;
    struct doc_groups dg = {cb, ud};
    int rc;

    if ((rc = acquire(s, &c)) == 0)
        rc = run_rows(s, c, -1,
                      "SELECT coalesce(job_id::text, ''), count(*) FROM generated_documents "
                      "GROUP BY 1 ORDER BY coalesce(job_id::text, '') COLLATE \"C\"",
                      0, NULL, doc_group_row, &dg, "count documents");
    release(s, c);
    return rc;
}

/* ---- conversions (Calendly bookings) and secrets ---- */

/* Fills v from a row of CONV_SEL. */
static void read_conversion(const PGresult *r, td_conversion *v)
{
    get_str(r, 0, v->conversion_id, sizeof v->conversion_id);
    get_str(r, 1, v->invitee_uri, sizeof v->invitee_uri);
    get_str(r, 2, v->event_type, sizeof v->event_type);
    get_str(r, 3, v->tracking_id, sizeof v->tracking_id);
    get_str(r, 4, v->job_id, sizeof v->job_id);
    get_str(r, 5, v->application_id, sizeof v->application_id);
    get_str(r, 6, v->link_function, sizeof v->link_function);
    get_str(r, 7, v->attribution, sizeof v->attribution);
    get_str(r, 8, v->utm_source, sizeof v->utm_source);
    get_str(r, 9, v->utm_medium, sizeof v->utm_medium);
    get_str(r, 10, v->utm_campaign, sizeof v->utm_campaign);
    get_str(r, 11, v->utm_content, sizeof v->utm_content);
    get_str(r, 12, v->utm_term, sizeof v->utm_term);
    get_str(r, 13, v->scheduled_event_uri, sizeof v->scheduled_event_uri);
    get_str(r, 14, v->event_name, sizeof v->event_name);
    v->scheduled_start = get_i64(r, 15);
    v->scheduled_end = get_i64(r, 16);
    get_str(r, 17, v->invitee_email, sizeof v->invitee_email);
    get_str(r, 18, v->invitee_hash, sizeof v->invitee_hash);
    get_str(r, 19, v->status, sizeof v->status);
    v->rescheduled = strcmp(PQgetvalue(r, 0, 20), "t") == 0;
    get_str(r, 21, v->old_invitee, sizeof v->old_invitee);
    get_str(r, 22, v->new_invitee, sizeof v->new_invitee);
    v->created_at = get_i64(r, 23);
    v->received_at = get_i64(r, 24);
    v->canceled_at = get_i64(r, 25);
}

/* Stores an invitee event unless (invitee_uri, event_type) is stored already. */
static int pg_conversion_insert(void *be, const td_conversion *v, bool *created)
{
    struct pg *s = be;
    struct conn *c = NULL;
    PGresult *r = NULL;
    char start[TD_TIME_ISO_SIZE], end[TD_TIME_ISO_SIZE], at[TD_TIME_ISO_SIZE],
        got[TD_TIME_ISO_SIZE];
    const char *p[25] = {
        v->conversion_id,
        v->invitee_uri,
        v->event_type,
        opt(v->tracking_id),
        opt(v->job_id),
        opt(v->application_id),
        opt(v->link_function),
        v->attribution,
        opt(v->utm_source),
        opt(v->utm_medium),
        opt(v->utm_campaign),
        opt(v->utm_content),
        opt(v->utm_term),
        opt(v->scheduled_event_uri),
        opt(v->event_name),
        time_param(start, v->scheduled_start),
        time_param(end, v->scheduled_end),
        opt(v->invitee_email),
        opt(v->invitee_hash),
        opt(v->status),
        v->rescheduled ? "true" : "false",
        opt(v->old_invitee),
        opt(v->new_invitee),
        time_param(at, v->created_at),
        time_param(got, v->received_at),
    };
    int rc;

    *created = false;
    if ((rc = acquire(s, &c)) != 0)
        goto out;
    rc = run(s, c, S_CONV_INSERT, NULL, 25, p, &r, "record conversion");
    if (rc == 0)
        *created = PQntuples(r) == 1;
out:
    PQclear(r);
    release(s, c);
    return rc;
}

/* Reads the row of one invitee event. */
static int pg_conversion_get(void *be, const char *invitee_uri, const char *event_type,
                             td_conversion *out)
{
    struct pg *s = be;
    struct conn *c = NULL;
    PGresult *r = NULL;
    const char *v[2] = {invitee_uri, event_type};
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    if ((rc = run(s, c, S_CONV_GET, NULL, 2, v, &r, "read conversion")) != 0)
        goto out;
    if (PQntuples(r) == 1)
        read_conversion(r, out);
    else
        rc = TD_ENOTFOUND;
out:
    PQclear(r);
    release(s, c);
    return rc;
}

/* Appends the filter of f to sql with its values in v from v[*n]; returns 0 or a td_buf
 * error. iso: room for the cursor's time. */
static int conversion_where(td_buf *sql, const td_conversion_filter *f, bool listing,
                            const char **v, int *n, char iso[TD_TIME_ISO_SIZE])
{
    int rc = 0;

    if (f->job_id && *f->job_id) {
        v[(*n)++] = f->job_id;
        rc = rc ? rc : td_buf_printf(sql, " AND c.job_id = $%d", *n);
    }
    if (f->application_id && *f->application_id) {
        v[(*n)++] = f->application_id;
        rc = rc ? rc : td_buf_printf(sql, " AND c.application_id = $%d", *n);
    }
    if (f->tracking_id && *f->tracking_id) {
        v[(*n)++] = f->tracking_id;
        rc = rc ? rc : td_buf_printf(sql, " AND c.tracking_id = $%d", *n);
    }
    if (listing && f->event_type && *f->event_type) {
        v[(*n)++] = f->event_type;
        rc = rc ? rc : td_buf_printf(sql, " AND c.event_type = $%d", *n);
    }
    if (listing && f->after_received_at) {
        td_time_format(f->after_received_at, iso);
        v[(*n)++] = iso;
        v[(*n)++] = f->after_conversion_id ? f->after_conversion_id : "";
        rc = rc ? rc
                : td_buf_printf(sql,
                                " AND (c.received_at, c.conversion_id) < ($%d::timestamptz, $%d)",
                                *n - 1, *n);
    }
    return rc;
}

struct conv_rows {
    int (*cb)(void *, const td_conversion *);
    void *ud;
    td_conversion *v;
};

/* Hands one listed conversion to the caller's callback. */
static int conv_row(void *ud, const PGresult *r)
{
    struct conv_rows *cr = ud;

    read_conversion(r, cr->v);
    return cr->cb(cr->ud, cr->v);
}

/* Lists conversions newest first; the SQL is built from fixed fragments. */
static int pg_conversion_list(void *be, const td_conversion_filter *f,
                              int (*cb)(void *, const td_conversion *), void *ud)
{
    struct pg *s = be;
    struct conn *c = NULL;
    struct conv_rows cr = {cb, ud, calloc(1, sizeof(td_conversion))};
    char iso[TD_TIME_ISO_SIZE], limit[16];
    const char *v[8];
    td_buf sql;
    int rc, n = 0;

    td_buf_init(&sql, 8192);
    if (!cr.v)
        return TD_ENOMEM;
    rc = td_buf_adds(&sql, "SELECT " CONV_SEL " FROM link_conversions c WHERE true");
    rc = rc ? rc : conversion_where(&sql, f, true, v, &n, iso);
    snprintf(limit, sizeof limit, "%d", f->limit);
    v[n++] = limit;
    rc =
        rc ? rc
           : td_buf_printf(&sql, " ORDER BY c.received_at DESC, c.conversion_id DESC LIMIT $%d", n);
    if (rc)
        goto out;
    if ((rc = acquire(s, &c)) == 0)
        rc = run_rows(s, c, -1, sql.data, n, v, conv_row, &cr, "list conversions");
out:
    release(s, c);
    td_buf_release(&sql);
    free(cr.v);
    return rc;
}

struct conv_groups {
    int (*cb)(void *, const td_conversion_row *);
    void *ud;
};

/* Hands one group of booking counts to the caller's callback. */
static int conv_group_row(void *ud, const PGresult *r)
{
    struct conv_groups *cg = ud;
    td_conversion_row row = {
        .key = PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0),
        .bookings = get_i64(r, 1),
        .cancellations = get_i64(r, 2),
        .reschedules = get_i64(r, 3),
        .active = get_i64(r, 4),
        .first_at = get_i64(r, 5),
        .last_at = get_i64(r, 6),
    };

    return cg->cb(cg->ud, &row);
}

/* Counts bookings, cancellations, reschedules and active bookings per group. */
static int pg_conversion_groups(void *be, const td_conversion_filter *f, td_conversion_group g,
                                int (*cb)(void *, const td_conversion_row *), void *ud)
{
    static const char *const keys[] = {
        [TD_CONV_GROUP_ALL] = "''",
        [TD_CONV_GROUP_JOB] = "coalesce(c.job_id::text, '')",
        [TD_CONV_GROUP_APPLICATION] = "coalesce(c.application_id::text, '')",
        [TD_CONV_GROUP_LINK] = "coalesce(c.tracking_id, '')",
        [TD_CONV_GROUP_FUNCTION] = "coalesce(c.link_function, '')",
    };
    struct pg *s = be;
    struct conn *c = NULL;
    struct conv_groups cg = {cb, ud};
    char iso[TD_TIME_ISO_SIZE];
    const char *v[8];
    td_buf sql;
    int rc, n = 0;

    td_buf_init(&sql, 8192);
    rc = td_buf_printf(
        &sql,
        "SELECT %s, "
        "count(*) FILTER (WHERE c.event_type = 'invitee.created' AND c.old_invitee IS NULL), "
        "count(*) FILTER (WHERE c.event_type = 'invitee.canceled' AND NOT c.rescheduled), "
        "count(*) FILTER (WHERE c.event_type = 'invitee.canceled' AND c.rescheduled), "
        "count(*) FILTER (WHERE c.event_type = 'invitee.created' AND NOT EXISTS (SELECT 1 FROM "
        "link_conversions k WHERE k.invitee_uri = c.invitee_uri AND "
        "k.event_type = 'invitee.canceled')), " MS(
            "min(coalesce(c.created_at, c.received_at))") ", " MS("max(coalesce(c.created_at, "
                                                                  "c.received_at))") " FROM "
                                                                                     "link_"
                                                                                     "conversions "
                                                                                     "c WHERE true",
        keys[g]);
    rc = rc ? rc : conversion_where(&sql, f, false, v, &n, iso);
    if (g != TD_CONV_GROUP_ALL)
        rc = rc ? rc : td_buf_printf(&sql, " GROUP BY 1 ORDER BY %s COLLATE \"C\"", keys[g]);
    if (rc)
        goto out;
    if ((rc = acquire(s, &c)) == 0)
        rc = run_rows(s, c, -1, sql.data, n, v, conv_group_row, &cg, "count conversions");
out:
    release(s, c);
    td_buf_release(&sql);
    return rc;
}

/* Gets a per-database secret, making it on first use (the first writer wins). */
static int pg_secret(void *be, const char *name, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    struct pg *s = be;
    struct conn *c = NULL;
    PGresult *r = NULL;
    unsigned char rnd[32];
    char fresh[65];
    const char *v[2] = {name, fresh};
    int rc;

    if ((rc = acquire(s, &c)) != 0)
        goto out;
    /* The common case reads only, so that it works on a read-only database too. */
    if ((rc = run(s, c, S_SECRET_GET, NULL, 1, v, &r, "read secret")) != 0)
        goto out;
    if (PQntuples(r) == 1) {
        get_str(r, 0, hex, 65);
        goto out;
    }
    PQclear(r);
    r = NULL;
    if (td_random_bytes(rnd, sizeof rnd) != 0) {
        rc = td__store_error(TD_EIO, "no random source for a secret");
        goto out;
    }
    for (size_t i = 0; i < sizeof rnd; i++) {
        fresh[2 * i] = digits[rnd[i] >> 4];
        fresh[2 * i + 1] = digits[rnd[i] & 15];
    }
    fresh[64] = '\0';
    /* Ours, or a concurrent maker's: the stored one is the answer. */
    if ((rc = run(s, c, S_SECRET_INSERT, NULL, 2, v, NULL, "make secret")) != 0 ||
        (rc = run(s, c, S_SECRET_GET, NULL, 1, v, &r, "read secret")) != 0)
        goto out;
    if (PQntuples(r) == 1)
        get_str(r, 0, hex, 65);
    else
        rc = td__store_error(TD_EDB, "the secret %s is missing", name);
out:
    PQclear(r);
    release(s, c);
    memset(fresh, 0, sizeof fresh);
    return rc;
}

const struct td_store_ops td__store_pg_ops = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .migrate = pg_migrate,
    .schema_version = pg_schema_version,
    .ping = pg_ping,
    .link_insert = pg_link_insert,
    .link_get = pg_link_get,
    .link_set_active = pg_link_set_active,
    .link_set_utm = pg_link_set_utm,
    .link_list = pg_link_list,
    .click_insert = pg_click_insert,
    .click_groups = pg_click_groups,
    .click_totals = pg_click_totals,
    .click_days = pg_click_days,
    .click_top_jobs = pg_click_top_jobs,
    .click_reclassify = pg_click_reclassify,
    .click_purge = pg_click_purge,
    .visitor_salt = pg_visitor_salt,
    .apikey_insert = pg_apikey_insert,
    .apikey_find = pg_apikey_find,
    .apikey_touch = pg_apikey_touch,
    .apikey_list = pg_apikey_list,
    .apikey_revoke = pg_apikey_revoke,
    .profile_put = pg_profile_put,
    .profile_get = pg_profile_get,
    .profile_delete = pg_profile_delete,
    .profile_list = pg_profile_list,
    .document_insert = pg_document_insert,
    .document_get = pg_document_get,
    .document_list = pg_document_list,
    .document_mark_deleted = pg_document_mark_deleted,
    .document_count = pg_document_count,
    .document_groups = pg_document_groups,
    .conversion_insert = pg_conversion_insert,
    .conversion_get = pg_conversion_get,
    .conversion_list = pg_conversion_list,
    .conversion_groups = pg_conversion_groups,
    .secret = pg_secret,
};
