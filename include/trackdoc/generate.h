/* The document service: one call turns a résumé or cover-letter payload (the API shape or a
 * JSON Resume document), an optional candidate profile and a job context into a document whose
 * links are tracked for that job, stored in the storage folder and recorded for downloads.
 * Used by POST /resume, POST /cover-letter and `trackdoc generate`. */
#ifndef TRACKDOC_GENERATE_H
#define TRACKDOC_GENERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "trackdoc/buf.h"
#include "trackdoc/link.h"
#include "trackdoc/store.h"
#include "trackdoc/trackvars.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_generator td_generator;

/* The longest string accepted anywhere in a payload, in bytes. */
#define TD_GENERATE_MAX_STRING 10000

typedef struct td_generator_config {
    const char *templates_dir; /* built-in and custom templates: NAME.docx|.html|.md|.txt */
    const char *storage_dir;   /* where generated files go (created when missing) */
    long retention_days;       /* files older than this are deleted by td_generator_purge;
                                  0 keeps them forever */
    bool tracking;             /* ENABLE_URL_TRACKING */
} td_generator_config;

/* Makes a generator over st, tr (may be NULL: tracking unavailable, every trackable URL is
 * then rendered as it is and counted as a failure) and vars; all must outlive it. Templates are
 * read and compiled once, on first use, and kept. On TD_EINVAL err names the bad setting.
 * Returns 0, TD_EINVAL, TD_EIO (storage folder) or TD_ENOMEM. */
int td_generator_new(const td_generator_config *cfg, td_store *st, td_tracker *tr,
                     const td_trackvars *vars, td_generator **out, char *err, size_t errsz);

/* Frees a generator; NULL is a no-op. */
void td_generator_free(td_generator *g);

typedef struct td_generate_request {
    const char *kind;           /* "resume" or "cover_letter" */
    const json_t *payload;      /* the request body (fields job_id, application_id, user_id,
                                   template and format inside it are read too, unless given
                                   below) */
    const char *template_name;  /* NULL: payload "template", else the kind's built-in */
    const char *format;         /* NULL: payload "format", else "docx" */
    const char *job_id;         /* NULL: payload "job_id" */
    const char *application_id; /* NULL: payload "application_id" */
    const char *user_id;        /* NULL: payload "user_id" */
    const json_t *extra;        /* more variables (a row of a jobs CSV), may be NULL */
    bool store;                 /* write the file to the storage folder and record it */
} td_generate_request;

typedef struct td_generate_result {
    td_buf document;     /* the file's bytes (initialised by td_generate) */
    char filename[256];  /* resume_<First>_<Last>_<YYYYMMDD_HHMMSS>[_N].<ext>, unique */
    char file_path[512]; /* relative to the storage folder (store: true only) */
    char content_type[96];
    int64_t timestamp;  /* UTC ms of the generation */
    bool profile_found; /* a user_id was given and its profile exists */
    json_t *tracking;   /* {tracking_enabled, urls_tracked, tracking_failures, links[]} */
    td_document record; /* the generated_documents row (store: true only) */
    /* Added with the HTTP service: */
    bool generated;         /* the document was made: true on success, and also when
                               td_generate failed only to store it (TD_EDB, TD_EIO), so that
                               a caller can still hand out document (a read-only replica) */
    char field[256];        /* on a validation error, the JSON pointer *field_out points to */
    const char *error_code; /* on failure, a short static code for API errors: missing_field,
                               invalid_type, invalid_value, too_long, too_big, invalid_uuid,
                               unknown_template, template_error, storage_error; NULL on
                               success */
} td_generate_result;

/* Generates one document. Bad input gives TD_EINVAL (or TD_EUUID, TD_ENOTFOUND for an unknown
 * template, TD_ETOOBIG) with *field_out (may be NULL) a JSON pointer into the payload and err
 * (errsz bytes) a message naming it. Tracking never fails a document. Release res with
 * td_generate_result_release whatever the result.
 * Rules (docs/documents.md): job_id, application_id and user_id are UUIDs (null or "" means
 * absent); template is 1-64 of [A-Za-z0-9_-] naming templates_dir/NAME.<format>; format is
 * docx, html, md or txt (any case); every string of the payload is at most
 * TD_GENERATE_MAX_STRING bytes; the candidate's name is required (personal.full_name or
 * first_name/last_name, basics.name for JSON Resume), unless the profile of user_id gives it.
 * A profile that cannot be read (TD_EDB) fails the request. A broken template gives its own
 * code (TD_ESYNTAX, TD_EDOCX, ...) with error_code "template_error". With store, a failure to
 * record (TD_EDB, e.g. a read-only database) or to write the file (TD_EIO) is returned with
 * res->generated still true and nothing left in the storage folder. */
int td_generate(td_generator *g, const td_generate_request *req, td_generate_result *res,
                const char **field_out, char *err, size_t errsz);

/* Frees what a result holds. */
void td_generate_result_release(td_generate_result *res);

/* Deletes the generated files older than the retention (and marks them deleted); *deleted_out
 * (may be NULL) gets how many. Returns 0 or TD_EDB/TD_EIO. */
int td_generator_purge(td_generator *g, int64_t now_ms, size_t *deleted_out);

/* Resolves a download: the document named filename (a name the service generated, not
 * deleted) as an absolute path in the storage folder and its content type. Returns 0,
 * TD_ENOTFOUND (unknown, deleted, or not a generated name) or TD_EDB. */
int td_generator_download(td_generator *g, const char *filename, char *path, size_t pathsz,
                          char *content_type, size_t ctsz);

/* Deletes the files of every document generated for user_id (DELETE /api/candidates/{id}
 * ?purge=1); *deleted_out (may be NULL) gets how many. */
int td_generator_purge_user(td_generator *g, const char *user_id, size_t *deleted_out);

#ifdef __cplusplus
}
#endif
#endif
