/* The candidate-profile API (table user_candidate_info): create, replace, patch, read, list and
 * delete the profile of a candidate; a delete can purge the candidate's generated files too. */
#include "http.h"

#include "core/id.h"
#include "core/time.h"
#include "trackdoc/config.h"
#include "trackdoc/generate.h"
#include "trackdoc/profile.h"

#define LIST_DEFAULT 50
#define LIST_MAX 1000

/* Normalises the {user_id} of the path into out; replies 400 invalid_uuid when it is not one. */
static bool path_user(td_req *r, char out[TD_UUID_SIZE], enum MHD_Result *res)
{
    if (td_uuid_normalize(r->params[0], out) == 0)
        return true;
    *res = td__reply_error(r, 400, "invalid_uuid", NULL,
                           "the user_id in the path must be a UUID such as "
                           "3f2b8c1e-5d4a-4b6c-9e7f-0a1b2c3d4e5f");
    return false;
}

/* Reads user_id of the body into out (lower case). It is required when path_id is NULL (POST)
 * and must equal path_id otherwise; replies 400 naming /user_id when it is wrong. */
static bool body_user(td_req *r, json_t *body, const char *path_id, char out[TD_UUID_SIZE],
                      enum MHD_Result *res)
{
    json_t *v = json_object_get(body, "user_id");

    if (!v || json_is_null(v)) {
        if (path_id) {
            snprintf(out, TD_UUID_SIZE, "%s", path_id);
            return true;
        }
        *res = td__reply_error(r, 400, "missing_field", "/user_id", "/user_id is required");
        return false;
    }
    if (!json_is_string(v)) {
        *res = td__reply_error(r, 400, "invalid_type", "/user_id", "/user_id must be a string");
        return false;
    }
    if (td_uuid_normalize(json_string_value(v), out) != 0) {
        *res = td__reply_error(r, 400, "invalid_uuid", "/user_id", "/user_id must be a UUID");
        return false;
    }
    if (path_id && strcmp(out, path_id) != 0) {
        *res =
            td__reply_error(r, 400, "invalid_value", "/user_id",
                            "/user_id %s does not match the user_id %s of the path", out, path_id);
        return false;
    }
    return true;
}

/* Answers status with the profile's JSON and "success": true. */
static enum MHD_Result reply_profile(td_req *r, unsigned status, const td_profile *p)
{
    json_t *o = td_profile_json(p);

    if (o && json_object_set_new(o, "success", json_true()) != 0) {
        json_decref(o);
        o = NULL;
    }
    return td__reply_json(r, status, o);
}

/* Answers the failure of td_profile_check. */
static enum MHD_Result reply_invalid(td_req *r, const td_profile_error *e)
{
    return td__reply_error(r, 400, e->code, e->field, "%s", e->message);
}

/* Allocates a zeroed profile in the request's arena (they are too big for a thread's stack to
 * hold several comfortably); replies 500 when the arena is full. */
static td_profile *profile_alloc(td_req *r, enum MHD_Result *res)
{
    td_profile *p = td_arena_alloc(&r->arena, sizeof *p);

    if (p)
        memset(p, 0, sizeof *p);
    else
        *res = td__reply_rc(r, TD_ENOMEM, NULL, NULL);
    return p;
}

/* Stores p with updated_at now; *created tells whether the row is new. Replies on failure. */
static bool store_put(td_req *r, td_profile *p, bool *created, enum MHD_Result *res)
{
    int rc;

    p->updated_at = td_time_now_ms();
    if (!p->created_at)
        p->created_at = p->updated_at;
    rc = td_store_profile_put(r->srv->st, p, created);
    if (rc)
        *res = td__reply_rc(r, rc, NULL, "could not store the profile");
    return rc == 0;
}

/* POST /api/candidates: creates a profile; 409 when the user_id has one. */
enum MHD_Result td__handle_candidate_create(td_req *r)
{
    enum MHD_Result res = MHD_NO;
    json_t *body = td__req_json(r, &res);
    td_profile *p;
    td_profile_error e;
    int rc;

    if (!body)
        return res;
    if (!(p = profile_alloc(r, &res)) || !body_user(r, body, NULL, p->user_id, &res))
        goto out;
    if (td_profile_check(body, false, p, &e) != 0) {
        res = reply_invalid(r, &e);
        goto out;
    }
    /* Insert-only: of two concurrent POSTs for one user_id, the second gets 409. */
    p->updated_at = p->created_at = td_time_now_ms();
    rc = td_store_profile_insert(r->srv->st, p);
    if (rc == TD_ECONFLICT) {
        res = td__reply_error(r, 409, "conflict", "/user_id",
                              "a profile for user_id %s exists; change it with PUT or PATCH "
                              "/api/candidates/%s",
                              p->user_id, p->user_id);
        goto out;
    }
    if (rc) {
        res = td__reply_rc(r, rc, NULL, "could not store the profile");
        goto out;
    }
    res = reply_profile(r, 201, p);
out:
    json_decref(body);
    return res;
}

/* GET /api/candidates/{user_id} */
enum MHD_Result td__handle_candidate_get(td_req *r)
{
    enum MHD_Result res = MHD_NO;
    char id[TD_UUID_SIZE];
    td_profile *p;
    int rc;

    if (!path_user(r, id, &res) || !(p = profile_alloc(r, &res)))
        return res;
    rc = td_store_profile_get(r->srv->st, id, p);
    if (rc == TD_ENOTFOUND)
        return td__reply_error(r, 404, "not_found", NULL, "no profile for user_id %s", id);
    if (rc)
        return td__reply_rc(r, rc, NULL, "could not read the profile");
    return reply_profile(r, 200, p);
}

/* PUT and PATCH /api/candidates/{user_id}: PUT replaces the whole profile (and creates it),
 * PATCH changes the fields given in a profile that exists. */
static enum MHD_Result update(td_req *r, bool partial)
{
    enum MHD_Result res = MHD_NO;
    char id[TD_UUID_SIZE], body_id[TD_UUID_SIZE];
    json_t *body = NULL;
    td_profile *p;
    td_profile_error e;
    bool created;
    int rc;

    if (!path_user(r, id, &res) || !(body = td__req_json(r, &res)))
        return res;
    if (!body_user(r, body, id, body_id, &res) || !(p = profile_alloc(r, &res)))
        goto out;
    rc = td_store_profile_get(r->srv->st, id, p);
    if (rc == TD_ENOTFOUND && partial) {
        res = td__reply_error(r, 404, "not_found", NULL,
                              "no profile for user_id %s; create it with POST /api/candidates or "
                              "PUT",
                              id);
        goto out;
    }
    if (rc && rc != TD_ENOTFOUND) {
        res = td__reply_rc(r, rc, NULL, "could not read the profile");
        goto out;
    }
    if (rc == TD_ENOTFOUND) {
        memset(p, 0, sizeof *p);
        snprintf(p->user_id, sizeof p->user_id, "%s", id);
    }
    if (td_profile_check(body, partial, p, &e) != 0) {
        res = reply_invalid(r, &e);
        goto out;
    }
    if (!store_put(r, p, &created, &res))
        goto out;
    res = reply_profile(r, created ? 201 : 200, p);
out:
    json_decref(body);
    return res;
}

/* PUT /api/candidates/{user_id} */
enum MHD_Result td__handle_candidate_put(td_req *r)
{
    return update(r, false);
}

/* PATCH /api/candidates/{user_id} */
enum MHD_Result td__handle_candidate_patch(td_req *r)
{
    return update(r, true);
}

/* DELETE /api/candidates/{user_id}[?purge=1]: the files go first, so that a failure leaves the
 * profile in place and the call can be repeated. */
enum MHD_Result td__handle_candidate_delete(td_req *r)
{
    enum MHD_Result res = MHD_NO;
    const char *v = td__req_query(r, "purge");
    char id[TD_UUID_SIZE];
    size_t files = 0;
    bool purge = false;
    td_profile *p;
    int rc;

    if (!path_user(r, id, &res))
        return res;
    if (v && *v && td_config_parse_bool(v, &purge) != 0)
        return td__reply_error(r, 400, "invalid_value", NULL,
                               "query parameter purge must be 1 or 0 (true or false)");
    if (!(p = profile_alloc(r, &res)))
        return res;
    rc = td_store_profile_get(r->srv->st, id, p);
    if (rc == TD_ENOTFOUND)
        return td__reply_error(r, 404, "not_found", NULL, "no profile for user_id %s", id);
    if (rc)
        return td__reply_rc(r, rc, NULL, "could not read the profile");
    if (purge && r->srv->gen) {
        rc = td_generator_purge_user(r->srv->gen, id, &files);
        if (rc)
            return td__reply_rc(r, rc, NULL, "could not delete the candidate's files");
    }
    rc = td_store_profile_delete(r->srv->st, id);
    if (rc == TD_ENOTFOUND)
        return td__reply_error(r, 404, "not_found", NULL, "no profile for user_id %s", id);
    if (rc)
        return td__reply_rc(r, rc, NULL, "could not delete the profile");
    return td__reply_json(r, 200,
                          json_pack("{s:b, s:s, s:I}", "success", 1, "user_id", id, "files_deleted",
                                    (json_int_t)files));
}

struct list_acc {
    json_t *arr;
    int want;
    int got;
    char last[TD_UUID_SIZE];
};

/* Collects one listed profile; keeps the last user_id of the page for the cursor. */
static int take_listed(void *ud, const td_profile *p)
{
    struct list_acc *a = ud;

    if (++a->got > a->want)
        return 0; /* the extra row only tells that a next page exists */
    snprintf(a->last, sizeof a->last, "%s", p->user_id);
    return json_array_append_new(a->arr, td_profile_json(p)) ? TD_ENOMEM : 0;
}

/* GET /api/candidates?limit=&cursor=: profiles ordered by user_id. */
enum MHD_Result td__handle_candidate_list(td_req *r)
{
    struct list_acc a = {.want = LIST_DEFAULT};
    char cursor[TD_UUID_SIZE] = "";
    const char *v;
    json_t *body;
    int rc;

    if ((v = td__req_query(r, "limit")) && *v) {
        char *end;
        long n;
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || *end || n < 1 || n > LIST_MAX)
            return td__reply_error(r, 400, "invalid_value", NULL,
                                   "query parameter limit must be from 1 to %d", LIST_MAX);
        a.want = (int)n;
    }
    if ((v = td__req_query(r, "cursor")) && *v && td_uuid_normalize(v, cursor) != 0)
        return td__reply_error(r, 400, "invalid_value", NULL,
                               "query parameter cursor must be a user_id (the next_cursor of "
                               "the page before)");
    if (!(a.arr = json_array()))
        return MHD_NO;
    rc = td_store_profile_list(r->srv->st, cursor, a.want + 1, take_listed, &a);
    if (rc) {
        json_decref(a.arr);
        return td__reply_rc(r, rc, NULL, "could not list the profiles");
    }
    body = json_pack("{s:b, s:o, s:I, s:o}", "success", 1, "candidates", a.arr, "count",
                     (json_int_t)json_array_size(a.arr), "next_cursor",
                     a.got > a.want ? json_string(a.last) : json_null());
    return td__reply_json(r, 200, body);
}
