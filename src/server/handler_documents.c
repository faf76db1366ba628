/* The document service over HTTP: POST /resume and POST /cover-letter generate a document
 * whose links are tracked for the job (JSON with a download URL, or the document itself), and
 * GET /download/{filename} hands out a generated file. All three need an API key, as /api
 * does: the documents hold a candidate's personal data. Rules: docs/documents.md. */
#include "http.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "core/time.h"

#define DOWNLOAD_MAX ((size_t)64 << 20)

/* True when the query parameter is 1, true or yes. */
static bool query_true(td_req *r, const char *name)
{
    const char *v = td__req_query(r, name);

    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0);
}

/* Trims blanks around the n bytes at *s. */
static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* True when the Accept header names type (its media type before any ';') with a q above 0;
 * wildcards do not count: a client asks for the document by naming it. */
static bool accept_names(td_req *r, const char *type)
{
    const char *a = td__req_header(r, "Accept");
    size_t tlen = strcspn(type, ";");

    while (a && *a) {
        size_t n = strcspn(a, ","), m;
        const char *item = a, *end = a + n;
        bool refused = false;

        a += n + (*end == ',');
        m = strcspn(item, ";");
        m = TD_MIN(m, n);
        trim(&item, &m);
        if (m != tlen || strncasecmp(item, type, tlen) != 0)
            continue;
        /* parameters: q=0 (or 0.0) refuses the type */
        for (const char *p = item + m; p < end;) {
            const char *par;
            size_t k;
            p += *p == ';';
            par = p;
            k = TD_MIN(strcspn(p, ";"), (size_t)(end - p));
            p += k;
            trim(&par, &k);
            if (k > 2 && strncasecmp(par, "q=", 2) == 0 && strtod(par + 2, NULL) <= 0)
                refused = true;
        }
        if (!refused)
            return true;
    }
    return false;
}

/* The status of a failed generation, from its code. */
static unsigned status_of_failure(int rc, const td_generate_result *res)
{
    const char *code = res->error_code ? res->error_code : "";

    if (strcmp(code, "template_error") == 0)
        return 500;
    if (strcmp(code, "unknown_template") == 0)
        return 400;
    switch (rc) {
    case TD_EINVAL:
    case TD_EUUID:
    case TD_ETOOBIG:
        return 400;
    case TD_EDB:
    case TD_EBUSY:
        return 503;
    default:
        return 500;
    }
}

/* Sends the document itself: 200, its type, an attachment name and the tracking summary. */
static enum MHD_Result reply_inline(td_req *r, const td_generate_result *res)
{
    char disp[320], tracked[24], failures[24], url[300];
    const char *hdrs[12];
    size_t h = 0;

    snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", res->filename);
    snprintf(tracked, sizeof tracked, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(res->tracking, "urls_tracked")));
    snprintf(failures, sizeof failures, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(res->tracking, "tracking_failures")));
    hdrs[h++] = "Content-Disposition";
    hdrs[h++] = disp;
    hdrs[h++] = "X-Trackdoc-Urls-Tracked";
    hdrs[h++] = tracked;
    hdrs[h++] = "X-Trackdoc-Tracking-Failures";
    hdrs[h++] = failures;
    if (res->file_path[0]) {
        snprintf(url, sizeof url, "/download/%s", res->filename);
        hdrs[h++] = "X-Trackdoc-Download-Url";
        hdrs[h++] = url;
    } else {
        hdrs[h++] = "X-Trackdoc-Stored";
        hdrs[h++] = "false";
    }
    hdrs[h] = NULL;
    return td__reply_raw(r, 200, res->content_type, res->document.data, res->document.len, hdrs);
}

/* Sends 201 with where to download the document and how its links were tracked. */
static enum MHD_Result reply_created(td_req *r, const char *kind, td_generate_result *res)
{
    char url[300], when[TD_TIME_ISO_SIZE];
    json_t *body;

    snprintf(url, sizeof url, "/download/%s", res->filename);
    td_time_format(res->timestamp, when);
    body = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:b, s:O}", "success", 1, "message",
                     strcmp(kind, "resume") == 0 ? "Resume generated successfully"
                                                 : "Cover letter generated successfully",
                     "filename", res->filename, "file_path", res->file_path, "download_url", url,
                     "timestamp", when, "profile_found", res->profile_found, "tracking",
                     res->tracking);
    return td__reply_json(r, 201, body);
}

/* Generates a document of kind from the request body. */
static enum MHD_Result generate(td_req *r, const char *kind)
{
    td_generate_request q = {.kind = kind, .store = true};
    td_generate_result res;
    const char *field = NULL;
    enum MHD_Result out;
    char err[600];
    json_t *payload;
    int rc;

    if (!r->srv->gen)
        return td__reply_error(r, 503, "not_configured", NULL,
                               "document generation is not configured on this server");
    if (!(payload = td__req_json(r, &out)))
        return out;
    q.payload = payload;
    rc = td_generate(r->srv->gen, &q, &res, &field, err, sizeof err);
    if (rc && !res.generated) {
        unsigned status = status_of_failure(rc, &res);
        const char *code = res.error_code ? res.error_code : td_errcode(rc);
        if (status == 503)
            out = td__reply_error_h(r, status, code, "Retry-After", "5", "%s", err);
        else
            out = td__reply_error(r, status, code, field, "%s", err);
    } else if (query_true(r, "inline") || accept_names(r, res.content_type)) {
        out = reply_inline(r, &res);
    } else if (rc) {
        /* Made but not stored (a read-only or failing database, a full disk): the client
         * asked for a download URL that cannot work. */
        out = td__reply_error_h(r, 503, res.error_code ? res.error_code : td_errcode(rc),
                                "Retry-After", "5",
                                "%s; ask with ?inline=1 to receive the document itself", err);
    } else {
        out = reply_created(r, kind, &res);
    }
    td_generate_result_release(&res);
    json_decref(payload);
    return out;
}

/* POST /resume */
enum MHD_Result td__handle_resume(td_req *r)
{
    return generate(r, "resume");
}

/* POST /cover-letter */
enum MHD_Result td__handle_cover_letter(td_req *r)
{
    return generate(r, "cover_letter");
}

/* Reads the file at path (at most DOWNLOAD_MAX bytes) into b, refusing symbolic links.
 * Returns 0, TD_ENOTFOUND, TD_ETOOBIG, TD_EIO or TD_ENOMEM. */
static int read_document(const char *path, td_buf *b)
{
    struct stat sb;
    char chunk[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

    if (fd < 0)
        return errno == ENOENT || errno == ELOOP ? TD_ENOTFOUND : TD_EIO;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = TD_ENOTFOUND;
        goto out;
    }
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = TD_EIO;
            goto out;
        }
        if ((rc = td_buf_add(b, chunk, (size_t)n)) != 0)
            goto out;
    }
out:
    close(fd);
    return rc;
}

/* GET /download/{filename} */
enum MHD_Result td__handle_download(td_req *r)
{
    const char *name = r->params[0];
    char path[PATH_MAX + 300], type[96], disp[320];
    enum MHD_Result out;
    td_buf b;
    int rc;

    if (!r->srv->gen)
        return td__reply_error(r, 503, "not_configured", NULL,
                               "document generation is not configured on this server");
    td_buf_init(&b, DOWNLOAD_MAX);
    rc = td_generator_download(r->srv->gen, name, path, sizeof path, type, sizeof type);
    if (rc == 0)
        rc = read_document(path, &b);
    if (rc == TD_ENOTFOUND) {
        out = td__reply_error(r, 404, "not_found", NULL,
                              "no document named \"%.255s\" (unknown, or deleted after the "
                              "retention period)",
                              name);
    } else if (rc) {
        out = td__reply_rc(r, rc, NULL, "could not read the document");
    } else {
        const char *const hdrs[] = {"Content-Disposition", disp, "Cache-Control",
                                    "private, no-store", NULL};
        snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", name);
        out = td__reply_raw(r, 200, type, b.data ? b.data : "", b.len, hdrs);
    }
    td_buf_release(&b);
    return out;
}
