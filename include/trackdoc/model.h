/* The template data model: turns what a user sends (the payload of POST /resume or
 * POST /cover-letter, or a JSON Resume document) into the one canonical shape that every
 * built-in template reads. Every variable is listed in docs/template-variables.md. */
#ifndef TRACKDOC_MODEL_H
#define TRACKDOC_MODEL_H

#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A list anywhere in the input (known field or not) may hold at most this many entries. */
#define TD_MODEL_MAX_LIST 200
/* Objects and lists may be nested at most this deep in the input. */
#define TD_MODEL_MAX_DEPTH 32

/* Builds the canonical résumé model from in, which is either the API shape (personal,
 * professional_summary, experience, education, skills, target_position, ...) or a JSON Resume
 * document (recognised by an object "basics" and no "personal"). The input is not changed;
 * fields the model does not know are copied as they are, so templates may still use them.
 * Applying it to its own output gives the same output.
 * On success *out holds a new object the caller frees with json_decref().
 * Returns 0, TD_EINVAL (in is not an object, a field has the wrong type: err names it as a
 * JSON pointer, "/experience/2/company must be a string"), TD_ETOOBIG (a list holds more than
 * TD_MODEL_MAX_LIST entries, or nesting beyond TD_MODEL_MAX_DEPTH) or TD_ENOMEM.
 * err (errsz bytes, may be NULL) receives a one-line message on failure. */
int td_model_resume(const json_t *in, json_t **out, char *err, size_t errsz);

/* Builds the canonical cover-letter model from in: the API shape (personal, recipient,
 * position, content, date, the three URLs), or a JSON Resume "basics" for the sender.
 * Same ownership, idempotence and return codes as td_model_resume. */
int td_model_cover_letter(const json_t *in, json_t **out, char *err, size_t errsz);

/* Calls the builder named by kind: "resume", or "cover-letter" / "cover_letter".
 * Returns what it returns, or TD_EINVAL for an unknown kind. */
int td_model_apply(const char *kind, const json_t *in, json_t **out, char *err, size_t errsz);

#ifdef __cplusplus
}
#endif
#endif
