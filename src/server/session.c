/* Dashboard sessions: random tokens kept only as SHA-256 hashes in a fixed table in memory, with
 * an idle timeout and a maximum age. A restart signs everybody out; a full table drops the
 * session that has been idle longest. */
#include "http.h"

#include <pthread.h>

#include "core/id.h"
#include "core/time.h"

struct sess {
    char hash[65]; /* SHA-256 of the token, hex; "" when the slot is free */
    td_session_info who;
    int64_t created_ms, seen_ms;
};

struct td_sessions {
    pthread_mutex_t lock;
    int64_t idle_ms, max_age_ms;
    size_t n;
    struct sess slots[];
};

/* Makes an empty session table. */
int td__sessions_new(size_t max, int64_t idle_ms, int64_t max_age_ms, td_sessions **out)
{
    td_sessions *ss;

    *out = NULL;
    if (max == 0 || idle_ms <= 0 || max_age_ms <= 0)
        return TD_EINVAL;
    ss = calloc(1, sizeof *ss + max * sizeof ss->slots[0]);
    if (!ss)
        return TD_ENOMEM;
    pthread_mutex_init(&ss->lock, NULL);
    ss->idle_ms = idle_ms;
    ss->max_age_ms = max_age_ms;
    ss->n = max;
    *out = ss;
    return 0;
}

/* Frees a table; NULL is a no-op. */
void td__sessions_free(td_sessions *ss)
{
    if (!ss)
        return;
    pthread_mutex_destroy(&ss->lock);
    free(ss);
}

/* True when a used slot is past its idle time or its maximum age at now. */
static bool expired(const td_sessions *ss, const struct sess *s, int64_t now_ms)
{
    return now_ms - s->seen_ms >= ss->idle_ms || now_ms - s->created_ms >= ss->max_age_ms;
}

/* Starts a session for who and writes its token. */
int td__sessions_create(td_sessions *ss, const td_session_info *who, int64_t now_ms,
                        char token[TD_SESSION_TOKEN_SIZE])
{
    char hash[65];
    struct sess *slot = NULL;
    int rc;

    if ((rc = td_id_base62(token, TD_SESSION_TOKEN_SIZE - 1)) != 0 ||
        (rc = td_apikey_hash(token, hash)) != 0)
        return rc;
    pthread_mutex_lock(&ss->lock);
    /* A free or expired slot, else the one idle longest. */
    for (size_t i = 0; i < ss->n; i++) {
        struct sess *s = &ss->slots[i];
        if (!s->hash[0] || expired(ss, s, now_ms)) {
            slot = s;
            break;
        }
        if (!slot || s->seen_ms < slot->seen_ms)
            slot = s;
    }
    memcpy(slot->hash, hash, sizeof hash);
    slot->who = *who;
    slot->created_ms = slot->seen_ms = now_ms;
    pthread_mutex_unlock(&ss->lock);
    return 0;
}

/* Finds the slot of a token's hash; the caller holds the lock. */
static struct sess *find(td_sessions *ss, const char *hash)
{
    for (size_t i = 0; i < ss->n; i++)
        if (ss->slots[i].hash[0] && memcmp(ss->slots[i].hash, hash, 64) == 0)
            return &ss->slots[i];
    return NULL;
}

/* Checks a token: a live session gets its last use set to now and its owner copied. */
int td__sessions_check(td_sessions *ss, const char *token, int64_t now_ms, td_session_info *out)
{
    char hash[65];
    struct sess *s;
    int rc = TD_ENOTFOUND;

    if (!token || strlen(token) != TD_SESSION_TOKEN_SIZE - 1 || td_apikey_hash(token, hash) != 0)
        return TD_ENOTFOUND;
    pthread_mutex_lock(&ss->lock);
    s = find(ss, hash);
    if (s && expired(ss, s, now_ms)) {
        memset(s, 0, sizeof *s);
        rc = TD_EEXPIRED;
    } else if (s) {
        s->seen_ms = now_ms;
        *out = s->who;
        rc = 0;
    }
    pthread_mutex_unlock(&ss->lock);
    return rc;
}

/* Ends the session of a token; an unknown token is a no-op. */
void td__sessions_drop(td_sessions *ss, const char *token)
{
    char hash[65];
    struct sess *s;

    if (!token || strlen(token) != TD_SESSION_TOKEN_SIZE - 1 || td_apikey_hash(token, hash) != 0)
        return;
    pthread_mutex_lock(&ss->lock);
    if ((s = find(ss, hash)) != NULL)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&ss->lock);
}

/* Counts the live sessions at now (for tests and the log). */
size_t td__sessions_count(td_sessions *ss, int64_t now_ms)
{
    size_t n = 0;

    pthread_mutex_lock(&ss->lock);
    for (size_t i = 0; i < ss->n; i++)
        n += ss->slots[i].hash[0] && !expired(ss, &ss->slots[i], now_ms);
    pthread_mutex_unlock(&ss->lock);
    return n;
}

/* Signs the request in from its session cookie, if it has a live one. */
enum MHD_Result td__session_auth(td_req *r, bool *go_on)
{
    const char *tok = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, TD_SESSION_COOKIE);
    td_session_info who;
    td_apikey_row row;
    int rc;

    *go_on = true;
    if (!tok || !r->srv->sessions ||
        td__sessions_check(r->srv->sessions, tok, td_time_mono_ms(), &who) != 0)
        return MHD_YES;
    /* A revoked key ends its sessions at their next request. */
    rc = td_store_apikey_find(r->srv->st, who.key_hash, &row);
    if (rc == TD_ENOTFOUND) {
        td__sessions_drop(r->srv->sessions, tok);
        return MHD_YES;
    }
    if (rc) {
        *go_on = false;
        return td__reply_rc(r, rc, NULL, "could not check the session's API key");
    }
    r->key = row;
    r->authed = true;
    return MHD_YES;
}
