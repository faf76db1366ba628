/* API keys for /api: made at random, shown once, stored only as a SHA-256 hash. */
#ifndef TRACKDOC_APIKEY_H
#define TRACKDOC_APIKEY_H

#include "trackdoc/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "td_" + 40 base62 characters (238 random bits) + NUL. */
#define TD_APIKEY_SIZE 44
/* Characters of a key kept in clear, to recognise it in a list. */
#define TD_APIKEY_PREFIX_LEN 10

/* Makes a key named name (1-128 printable characters; unique among active keys), stores its
 * hash, and gives the key itself in key_out: it is never stored and cannot be shown again.
 * row_out may be NULL. Returns 0, TD_EINVAL (bad name), TD_ECONFLICT (name taken) or TD_EDB. */
int td_apikey_create(td_store *st, const char *name, char key_out[TD_APIKEY_SIZE],
                     td_apikey_row *row_out);

/* Checks a presented key. Returns 0 and the key's row, TD_EAUTH (unknown, revoked or
 * malformed) or TD_EDB. Records the use at most once a minute per key. */
int td_apikey_check(td_store *st, const char *key, td_apikey_row *row_out);

/* Writes the lower-case hex SHA-256 of key into hex. Returns 0 or TD_EIO. */
int td_apikey_hash(const char *key, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
