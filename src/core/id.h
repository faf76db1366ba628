/* Identifiers: random base62 strings from the OS random source, UUIDs (make and check). */
#ifndef TD_CORE_ID_H
#define TD_CORE_ID_H

#include <stdbool.h>
#include <stddef.h>

/* Text size of a UUID plus NUL. */
#define TD_UUID_SIZE 37

/* Fills buf with n bytes from the OS random source (getrandom). Returns 0 or TD_EIO. */
int td_random_bytes(void *buf, size_t n);

/* Writes n random base62 characters and a NUL into out (n + 1 bytes). Each character carries
 * log2(62) = 5.95 bits; bytes are drawn with rejection sampling so there is no modulo bias.
 * Returns 0 or TD_EIO. */
int td_id_base62(char *out, size_t n);

/* Writes a new time-ordered UUID (version 7, RFC 9562) in lower case into out. Returns 0 or TD_EIO.
 */
int td_uuid_v7(char out[TD_UUID_SIZE]);

/* Writes a new random UUID (version 4) in lower case into out. Returns 0 or TD_EIO. */
int td_uuid_v4(char out[TD_UUID_SIZE]);

/* Checks that s is a UUID in the 8-4-4-4-12 hex form (any case) and, if out is not NULL,
 * writes its lower-case form. Returns 0 or TD_EUUID. */
int td_uuid_normalize(const char *s, char out[TD_UUID_SIZE]);

#endif
