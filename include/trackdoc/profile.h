/* Candidate profiles (table user_candidate_info): validation from JSON, JSON views, and the
 * merge into document data (the payload wins where both give a value). */
#ifndef TRACKDOC_PROFILE_H
#define TRACKDOC_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "trackdoc/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills p from a JSON object with the fields of user_candidate_info (user_id comes from the
 * caller). With partial (PATCH), fields absent from obj keep the value p already has; null
 * clears a field. Checks types, lengths, the email address and the URLs (absolute http(s)).
 * On failure *field_out (may be NULL) is the JSON pointer of the bad field and err says why;
 * the pointer stays valid until the next call from the same thread.
 * Returns 0, TD_EINVAL or TD_ETOOBIG. */
int td_profile_from_json(const json_t *obj, bool partial, td_profile *p, const char **field_out,
                         char *err, size_t errsz);

/* What td_profile_check found wrong with its input. */
typedef struct td_profile_error {
    const char *code; /* static: invalid_json, unknown_field, invalid_type, too_long, invalid_value,
                         invalid_email, or the td_errcode() of a failed URL check */
    char field[160];  /* JSON pointer of the bad field ("/email"); "" for the object itself */
    char message[512];
} td_profile_error;

/* Like td_profile_from_json, with the failure described in *e (may be NULL): a machine code
 * for API answers, the field, and a message naming the field. Also accepted and ignored: the
 * read-only members user_id (the caller checks it), created_at and updated_at, so that what
 * td_profile_json gives can be sent back. Every string is trimmed of the white space around
 * it; an empty one clears the field like null. Returns 0, TD_EINVAL or TD_ETOOBIG. */
int td_profile_check(const json_t *obj, bool partial, td_profile *p, td_profile_error *e);

/* Returns the JSON object of a profile (absent values as null), or NULL when out of memory. */
json_t *td_profile_json(const td_profile *p);

/* Returns a copy of data (a résumé or cover-letter payload, either shape) where the profile
 * fills what the payload leaves empty: name, email, phone, address, and the calendly, linkedin
 * and portfolio URLs. A new reference, or NULL when out of memory. */
json_t *td_profile_merge(const json_t *data, const td_profile *p);

#ifdef __cplusplus
}
#endif
#endif
