/* Response helpers: JSON bodies, the one error shape {"error":{"code","message"}}, and the
 * mapping from library error codes to HTTP statuses. */
#include "http.h"

/* Adds the headers every response carries, then queues it. */
static enum MHD_Result queue(td_req *r, unsigned status, struct MHD_Response *resp)
{
    enum MHD_Result res;

    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (!MHD_get_response_header(resp, "Cache-Control"))
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (atomic_load(&r->srv->draining))
        MHD_add_response_header(resp, "Connection", "close");
    res = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->state = REQ_DONE;
    return res;
}

/* Sends a body with optional extra headers. */
enum MHD_Result td__reply_raw(td_req *r, unsigned status, const char *type, const void *data,
                              size_t len, const char *const *headers)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);

    if (!resp)
        return MHD_NO;
    if (type)
        MHD_add_response_header(resp, "Content-Type", type);
    for (; headers && headers[0] && headers[1]; headers += 2)
        MHD_add_response_header(resp, headers[0], headers[1]);
    return queue(r, status, resp);
}

/* Sends a JSON body. */
enum MHD_Result td__reply_json(td_req *r, unsigned status, json_t *body)
{
    struct MHD_Response *resp;
    char *text;
    size_t len;

    static const char oom[] =
        "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";

    if (!body)
        return td__reply_raw(r, 500, "application/json", oom, sizeof oom - 1, NULL);
    text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(body);
    if (!text)
        return MHD_NO;
    len = strlen(text);
    text[len++] = '\n'; /* json_dumps leaves room: it allocated len + 1 for the NUL */
    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    return queue(r, status, resp);
}

/* Appends s with HTML special characters escaped. */
int td__html_escape(td_buf *b, const char *s)
{
    int rc = 0;

    for (; *s && rc == 0; s++) {
        switch (*s) {
        case '&':
            rc = td_buf_adds(b, "&amp;");
            break;
        case '<':
            rc = td_buf_adds(b, "&lt;");
            break;
        case '>':
            rc = td_buf_adds(b, "&gt;");
            break;
        case '"':
            rc = td_buf_adds(b, "&quot;");
            break;
        case '\'':
            rc = td_buf_adds(b, "&#39;");
            break;
        default:
            rc = td_buf_addc(b, *s);
        }
    }
    return rc;
}

/* True when the client prefers a page to JSON (a browser following a link). */
bool td__req_wants_html(td_req *r)
{
    const char *accept = td__req_header(r, "Accept");

    return accept && strstr(accept, "text/html");
}

/* Sends a small standalone HTML page (for people who followed a link in a browser). */
enum MHD_Result td__reply_page(td_req *r, unsigned status, const char *title, const char *text,
                               const char *const *headers)
{
    td_buf b;
    enum MHD_Result res = MHD_NO;

    td_buf_init(&b, 16384);
    if (td_buf_adds(&b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                        "<meta name=\"viewport\" content=\"width=device-width\"><title>") ||
        td__html_escape(&b, title) ||
        td_buf_adds(&b, "</title></head><body style=\"font-family:sans-serif;max-width:32em;"
                        "margin:4em auto;padding:0 1em\"><h1>") ||
        td__html_escape(&b, title) || td_buf_adds(&b, "</h1><p>") || td__html_escape(&b, text) ||
        td_buf_adds(&b, "</p></body></html>\n"))
        goto out;
    res = td__reply_raw(r, status, "text/html; charset=utf-8", b.data, b.len, headers);
out:
    td_buf_release(&b);
    return res;
}

/* Builds the error object. */
static json_t *error_body(const char *code, const char *field, const char *msg)
{
    json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);

    if (e && field)
        json_object_set_new(e, "field", json_string(field));
    return e ? json_pack("{s:o}", "error", e) : NULL;
}

/* Sends an error with one optional extra header. */
static enum MHD_Result reply_error_v(td_req *r, unsigned status, const char *code,
                                     const char *field, const char *hname, const char *hvalue,
                                     const char *fmt, va_list ap)
{
    char msg[768];
    json_t *body;
    char *text;
    enum MHD_Result res;

    vsnprintf(msg, sizeof msg, fmt, ap);
    body = error_body(code, field, msg);
    text = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(body);
    if (!text)
        return MHD_NO;
    {
        const char *const headers[] = {hname, hvalue, NULL};
        size_t len = strlen(text);
        text[len++] = '\n'; /* like every JSON body we send; json_dumps left room for the NUL */
        res = td__reply_raw(r, status, "application/json", text, len, headers);
    }
    free(text);
    return res;
}

/* Sends an error. */
enum MHD_Result td__reply_error(td_req *r, unsigned status, const char *code, const char *field,
                                const char *fmt, ...)
{
    enum MHD_Result res;
    va_list ap;

    va_start(ap, fmt);
    res = reply_error_v(r, status, code, field, NULL, NULL, fmt, ap);
    va_end(ap);
    return res;
}

/* Sends an error with an extra header. */
enum MHD_Result td__reply_error_h(td_req *r, unsigned status, const char *code, const char *hname,
                                  const char *hvalue, const char *fmt, ...)
{
    enum MHD_Result res;
    va_list ap;

    va_start(ap, fmt);
    res = reply_error_v(r, status, code, NULL, hname, hvalue, fmt, ap);
    va_end(ap);
    return res;
}

/* Chooses the status for a library error code. */
static unsigned status_of(int rc)
{
    switch (rc) {
    case TD_EINVAL:
    case TD_ETOOBIG:
    case TD_EURL:
    case TD_EURL_LONG:
    case TD_EURL_CHARS:
    case TD_EURL_USERINFO:
    case TD_EURL_DOMAIN:
    case TD_EFUNCTION:
    case TD_EUUID:
    case TD_ETIME:
    case TD_ESYNTAX:
    case TD_EMISSING:
    case TD_EDEPTH:
        return 400;
    case TD_EAUTH:
        return 401;
    case TD_ENOTFOUND:
        return 404;
    case TD_ECONFLICT:
        return 409;
    case TD_EGONE:
    case TD_EEXPIRED:
        return 410;
    case TD_EDB:
    case TD_EBUSY:
    case TD_ECLOSED:
        return 503;
    default:
        return 500;
    }
}

/* Sends the error for a library code, naming the field when there is one. */
enum MHD_Result td__reply_rc(td_req *r, int rc, const char *field, const char *detail)
{
    unsigned status = status_of(rc);
    char ptr[96];

    if (field)
        snprintf(ptr, sizeof ptr, "%s%s", field[0] == '/' ? "" : "/", field);
    if (status == 503)
        return td__reply_error_h(r, status, td_errcode(rc), "Retry-After", "5", "%s%s%s",
                                 detail ? detail : "", detail ? ": " : "", td_strerror(rc));
    if (field)
        return td__reply_error(r, status, td_errcode(rc), ptr, "%s: %s%s%s", ptr, td_strerror(rc),
                               detail ? ": " : "", detail ? detail : "");
    return td__reply_error(r, status, td_errcode(rc), NULL, "%s%s%s", detail ? detail : "",
                           detail ? ": " : "", td_strerror(rc));
}

/* Reads an optional string member of the object at JSON pointer prefix. */
bool td__json_str_at(td_req *r, json_t *obj, const char *prefix, const char *name, size_t max,
                     const char **out, enum MHD_Result *res)
{
    json_t *v = json_object_get(obj, name);
    char ptr[128];

    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    snprintf(ptr, sizeof ptr, "%s/%s", prefix, name);
    if (!json_is_string(v)) {
        *res = td__reply_error(r, 400, "invalid_type", ptr, "%s must be a string", ptr);
        return false;
    }
    if (json_string_length(v) > max) {
        *res = td__reply_error(r, 400, "too_long", ptr, "%s is longer than %zu bytes", ptr, max);
        return false;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        *res = td__reply_error(r, 400, "invalid_value", ptr, "%s contains a NUL character", ptr);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* Reads an optional string member of the request body's top level. */
bool td__json_str(td_req *r, json_t *obj, const char *name, size_t max, const char **out,
                  enum MHD_Result *res)
{
    return td__json_str_at(r, obj, "", name, max, out, res);
}
