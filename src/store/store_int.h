/* The contract between store.c and each backend: a table of operations over an opaque handle. */
#ifndef TD_STORE_INT_H
#define TD_STORE_INT_H

#include "trackdoc/store.h"

struct td_store_ops {
    const char *name;
    int (*open)(const char *target, const td_store_options *o, void **be, char *err, size_t errsz);
    void (*close)(void *be);
    int (*migrate)(void *be, int *applied);
    int (*schema_version)(void *be, int *db_version, int *known);
    int (*ping)(void *be);
    int (*link_insert)(void *be, const td_link *l, td_link *out, bool *created);
    int (*link_get)(void *be, const char *id, td_link *out);
    int (*link_set_active)(void *be, const char *id, bool active);
    int (*link_set_utm)(void *be, const char *id, int mode);
    int (*link_list)(void *be, const td_link_filter *f, int (*cb)(void *, const td_link *),
                     void *ud);
    int (*click_insert)(void *be, const td_click *c, size_t n, int *row_rc);
    int (*click_groups)(void *be, const td_click_filter *f, td_click_group g,
                        int (*cb)(void *, const td_click_row *), void *ud);
    int (*click_totals)(void *be, const td_click_filter *f,
                        int (*cb)(void *, const td_click_total *), void *ud);
    int (*click_days)(void *be, const td_click_filter *f, int (*cb)(void *, const td_click_day *),
                      void *ud);
    int (*click_top_jobs)(void *be, const td_click_filter *f, int limit,
                          int (*cb)(void *, const td_click_job *), void *ud);
    int (*click_reclassify)(void *be, const char *const *ids, size_t n, int cls,
                            const char *reason);
    int (*click_purge)(void *be, int64_t before, int64_t *deleted);
    int (*visitor_salt)(void *be, const char *day, const char *keep_from, char salt_hex[65]);
    int (*apikey_insert)(void *be, const td_apikey_row *k, const char *hash_hex);
    int (*apikey_find)(void *be, const char *hash_hex, td_apikey_row *out);
    int (*apikey_touch)(void *be, const char *key_id, int64_t now);
    int (*apikey_list)(void *be, bool all, int (*cb)(void *, const td_apikey_row *), void *ud);
    int (*apikey_revoke)(void *be, const char *ref, int64_t now);
    int (*profile_put)(void *be, const td_profile *p, bool only_new, bool *created);
    int (*profile_get)(void *be, const char *user_id, td_profile *out);
    int (*profile_delete)(void *be, const char *user_id);
    int (*profile_list)(void *be, const char *after, int limit,
                        int (*cb)(void *, const td_profile *), void *ud);
    int (*document_insert)(void *be, const td_document *d);
    int (*document_get)(void *be, const char *filename, td_document *out);
    int (*document_list)(void *be, const td_document_filter *f,
                         int (*cb)(void *, const td_document *), void *ud);
    int (*document_mark_deleted)(void *be, const char *filename, int64_t now);
    int (*document_count)(void *be, const char *job_id, const char *application_id, int64_t *out);
    int (*document_groups)(void *be, int (*cb)(void *, const char *, int64_t), void *ud);
    /* Calendly bookings (store.h, link_conversions) and per-database secrets. */
    int (*conversion_insert)(void *be, const td_conversion *c, bool *created);
    int (*conversion_get)(void *be, const char *invitee_uri, const char *event_type,
                          td_conversion *out);
    int (*conversion_list)(void *be, const td_conversion_filter *f,
                           int (*cb)(void *, const td_conversion *), void *ud);
    int (*conversion_groups)(void *be, const td_conversion_filter *f, td_conversion_group g,
                             int (*cb)(void *, const td_conversion_row *), void *ud);
    int (*secret)(void *be, const char *name, char hex[65]);
};

extern const struct td_store_ops td__store_sqlite_ops;
extern const struct td_store_ops td__store_pg_ops;

/* Records the detail of a failure for td_store_errmsg on this thread; returns rc. */
int td__store_error(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
