/* Click truth on the redirect path: the class of each click (classifier + burst detector),
 * the daily salted visitor hash, and the address truncated before it is stored. */
#include "http.h"

#include "core/log.h"
#include "core/time.h"
#include "trackdoc/privacy.h"

/* Makes the classifier and burst detector of the server. */
int td__truth_init(td_server *s, char *err, size_t errsz)
{
    int rc;

    pthread_mutex_init(&s->salt_lock, NULL);
    s->truth_ready = true;
    if ((rc = td_classifier_new(&s->cfg.classify, &s->classifier, err, errsz)) != 0)
        return rc;
    return td_burst_new(0, &s->burst);
}

/* Frees what td__truth_init made. */
void td__truth_free(td_server *s)
{
    if (!s->truth_ready)
        return;
    s->truth_ready = false;
    td_classifier_free(s->classifier);
    td_burst_free(s->burst);
    s->classifier = NULL;
    s->burst = NULL;
    pthread_mutex_destroy(&s->salt_lock);
}

/* Copies today's salt into out (65 bytes); "" when the store cannot give one. The salt is
 * fetched once per UTC day (the first click of a day makes it in the database, shared by
 * every server), and yesterday's is deleted then. */
static void today_salt(td_server *s, int64_t now_ms, char out[65])
{
    char day[TD_TIME_ISO_SIZE];

    td_time_format(now_ms, day);
    day[10] = '\0';
    pthread_mutex_lock(&s->salt_lock);
    if (strcmp(day, s->salt_day) != 0) {
        char salt[65];
        if (td_store_visitor_salt(s->st, day, day, salt) == 0) {
            memcpy(s->salt, salt, sizeof s->salt);
            memcpy(s->salt_day, day, sizeof s->salt_day);
        } else {
            td_log_warn("no visitor salt for %s: unique visitors not counted for now: %s", day,
                        td_store_errmsg(s->st));
            s->salt[0] = '\0';
        }
    }
    memcpy(out, s->salt, 65);
    pthread_mutex_unlock(&s->salt_lock);
}

/* Classifies c, hashes its visitor and truncates its address (strings in r's arena). ip is
 * the full client address (NULL when unknown); has_al tells whether Accept-Language was sent
 * (know_al false when the caller cannot tell); burst detection runs when with_burst is set.
 * The click ids of earlier clicks of a burst go to r->burst_ids for td__truth_after. */
void td__truth_fill(td_req *r, td_click *c, const char *ip, bool know_al, bool has_al,
                    bool with_burst)
{
    td_server *s = r->srv;
    const td_link *l = r->link;
    td_click_signals sig = {
        .user_agent = c->user_agent,
        .head = c->head,
        .has_accept_language = has_al,
        .know_accept_language = know_al,
        .since_created_ms = l->created_at ? c->clicked_at - l->created_at : -1,
    };
    char reason[TD_CLASS_REASON_SIZE], salt[65], hash[TD_VISITOR_HASH_SIZE];
    char anon[TD_IP_TEXT_SIZE];
    long window = td_classifier_burst_window(s->classifier);
    const char *context = l->application_id[0] ? l->application_id : l->job_id;

    r->n_burst = 0;
    if (with_burst && !c->head && window > 0 && ip && *ip && *context)
        sig.burst = td_burst_note(s->burst, context, ip, l->tracking_id, c->click_id, c->clicked_at,
                                  window, r->burst_ids, &r->n_burst);
    c->click_class = (int)td_classify(s->classifier, &sig, reason, sizeof reason);
    c->class_reason = td_arena_strdup(&r->arena, reason);
    today_salt(s, td_time_now_ms(), salt);
    if (salt[0]) {
        td_visitor_hash(salt, ip, c->user_agent, hash);
        c->visitor_hash = hash[0] ? td_arena_strdup(&r->arena, hash) : NULL;
    }
    if (ip && !s->cfg.store_full_ip)
        c->ip_address =
            td_ip_anonymize(ip, anon, sizeof anon) == 0 ? td_arena_strdup(&r->arena, anon) : NULL;
    else
        c->ip_address = ip;
}

/* Queues the reclassification of the earlier clicks of a burst, behind the current click. */
void td__truth_after(td_req *r)
{
    if (r->n_burst == 0)
        return;
    if (td_recorder_reclassify(r->srv->rec, (const char(*)[TD_LINK_UUID_SIZE])r->burst_ids,
                               r->n_burst, TD_CLASS_SCANNER, "burst") != 0)
        td_log_warn("could not reclassify %zu clicks of a burst", r->n_burst);
    r->n_burst = 0;
}
