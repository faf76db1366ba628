/* JSON analytics of a link and of a job, computed from known clicks. */
#include "core/common.h"

#include "test.h"
#include "trackdoc/report.h"

#define JOB "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define DAY 86400000LL

/* Reads an integer at obj.key. */
static long long geti(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* Entry point. */
int main(void)
{
    char db[512];
    td_store *st = NULL;
    td_tracker *t = NULL;
    td_link cal, lin;
    td_link_params p1 = {
        .original_url = "https://calendly.com/j", .link_function = "Calendly", .job_id = JOB};
    td_link_params p2 = {
        .original_url = "https://linkedin.com/in/j", .link_function = "LinkedIn", .job_id = JOB};
    int64_t now = 1795498135123LL; /* 2026-11-24T05:28:55.123Z */
    td_click k[5];
    json_t *rep = NULL, *cs, *tl;

    snprintf(db, sizeof db, "%s/report.db", td_test_tmpdir());
    if (td_store_open(db, NULL, &st, NULL, 0) || td_tracker_new(st, NULL, &t, NULL, 0) ||
        td_link_create(t, &p1, &cal, NULL, NULL) || td_link_create(t, &p2, &lin, NULL, NULL))
        return 1;
    for (int i = 0; i < 5; i++) {
        td_click_init(&k[i], i < 4 ? cal.tracking_id : lin.tracking_id);
        k[i].click_source = i == 0 ? TD_SOURCE_EMAIL : TD_SOURCE_DIRECT;
    }
    k[0].clicked_at = now - 2 * DAY; /* 2026-11-22 */
    k[1].clicked_at = now;
    k[2].clicked_at = now - 1000;
    k[3].clicked_at = now;
    k[3].head = true;
    k[4].clicked_at = now - 10 * DAY; /* outside a 7-day timeline */
    CHECK(td_store_click_insert(st, k, 5, NULL) == 0, "clicks stored");

    CHECK(td_report_link(st, &cal, 7, now, &rep) == 0 && rep, "link report built");
    cs = json_object_get(rep, "click_statistics");
    CHECK_INT(geti(cs, "total_clicks"), 3, "total_clicks counts GETs");
    CHECK_INT(geti(cs, "head_requests"), 1, "head_requests separate");
    CHECK_STR(json_string_value(json_object_get(cs, "first_click")), "2026-11-22T05:28:55.123Z",
              "first_click");
    CHECK_STR(json_string_value(json_object_get(cs, "last_click")), "2026-11-24T05:28:55.123Z",
              "last_click");
    CHECK_INT(geti(json_object_get(cs, "by_source"), "email"), 1, "by_source email");
    CHECK_INT(geti(json_object_get(cs, "by_source"), "direct"), 2, "by_source direct");
    tl = json_object_get(rep, "click_timeline");
    CHECK_INT(json_array_size(tl), 7, "timeline has 7 days");
    CHECK_STR(json_string_value(json_object_get(json_array_get(tl, 0), "date")), "2026-11-18",
              "timeline starts 6 days before today");
    CHECK_INT(geti(json_array_get(tl, 4), "clicks"), 1, "2026-11-22 has 1 click");
    CHECK_INT(geti(json_array_get(tl, 5), "clicks"), 0, "2026-11-23 is zero-filled");
    CHECK_INT(geti(json_array_get(tl, 6), "clicks"), 2, "today has 2 GET clicks");
    CHECK_STR(json_string_value(json_object_get(json_object_get(rep, "link_info"), "tracking_id")),
              cal.tracking_id, "link_info");
    json_decref(rep);
    rep = NULL;
    CHECK(td_report_link(st, &cal, 0, now, &rep) == TD_EINVAL && !rep, "0 days refused");
    CHECK(td_report_link(st, &cal, 367, now, &rep) == TD_EINVAL, "367 days refused");

    CHECK(td_report_job(st, JOB, &rep) == 0, "job summary built");
    CHECK_INT(geti(rep, "total_links"), 2, "job has 2 links");
    CHECK_INT(geti(rep, "total_clicks"), 4, "job has 4 GET clicks");
    CHECK_INT(geti(json_object_get(json_object_get(rep, "by_function"), "Calendly"), "clicks"), 3,
              "Calendly clicks");
    CHECK_INT(geti(json_object_get(json_object_get(rep, "by_function"), "LinkedIn"), "clicks"), 1,
              "LinkedIn clicks");
    CHECK_INT(geti(json_object_get(json_object_get(rep, "by_function"), "LinkedIn"), "links"), 1,
              "LinkedIn links");
    json_decref(rep);
    rep = NULL;
    CHECK(td_report_job(st, "00000000-0000-4000-8000-000000000000", &rep) == 0 &&
              geti(rep, "total_links") == 0 && json_is_null(json_object_get(rep, "last_click")),
          "a job without links gives zeros");
    json_decref(rep);
    td_tracker_free(t);
    td_store_close(st);
    TEST_DONE();
}
