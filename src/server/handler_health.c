/* GET /healthz and /track/health: liveness, version, uptime, whether the database answers, and
 * the click spool (clicks waiting for the database). */
#include "http.h"

#include "core/time.h"

/* Reports health; 503 with status "degraded" when the database does not answer. */
enum MHD_Result td__handle_health(td_req *r)
{
    td_server *s = r->srv;
    td_recorder_stats rs;
    bool db_ok = td_store_ping(s->st) == 0;
    json_t *body;

    td_recorder_get_stats(s->rec, &rs);
    body = json_pack("{s:s, s:s, s:I, s:{s:s, s:b}, s:{s:I, s:I, s:I, s:I}, "
                     "s:{s:b, s:I, s:I, s:I, s:I}}",
                     "status", db_ok ? "ok" : "degraded", "version", TD_VERSION, "uptime_seconds",
                     (json_int_t)((td_time_mono_ms() - s->started_ms) / 1000), "database",
                     "backend", td_store_backend(s->st), "reachable", db_ok, "clicks", "committed",
                     (json_int_t)rs.committed, "pending", (json_int_t)rs.pending, "failed",
                     (json_int_t)rs.failed, "spooled", (json_int_t)rs.spooled, "spool", "enabled",
                     rs.has_spool, "depth", (json_int_t)rs.spool.depth, "bytes",
                     (json_int_t)rs.spool.bytes, "max_bytes", (json_int_t)rs.spool.max_bytes,
                     "replayed", (json_int_t)rs.spool.replayed);
    return td__reply_json(r, db_ok ? 200 : 503, body);
}
