/* Text helpers the PostgreSQL backend shares with the database copy (store_copy.c). */
#ifndef TD_STORE_TEXT_H
#define TD_STORE_TEXT_H

/* Gives s with each byte that is not part of valid UTF-8 replaced by U+FFFD, in a new string
 * the caller frees, or NULL when s is valid UTF-8 (or out of memory: *rc says which). */
char *td__store_utf8_fix(const char *s, int *rc);

#endif
