/* API keys: generation, hashing and checking. Keys carry 238 random bits, so a plain SHA-256
 * is the right hash (a slow password hash protects guessable secrets, which these are not)
 * and the lookup by hash needs no constant-time comparison of secrets. */
#include "core/common.h"

#include <openssl/evp.h>

#include "core/id.h"
#include "core/time.h"
#include "trackdoc/apikey.h"

#define KEY_RANDOM 40

/* Hashes key with SHA-256 into lower-case hex. */
int td_apikey_hash(const char *key, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (!EVP_Digest(key, strlen(key), md, &len, EVP_sha256(), NULL) || len != 32)
        return TD_EIO;
    for (unsigned int i = 0; i < len; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    return 0;
}

/* A key name: 1-128 bytes, no control characters. */
static bool name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n >= sizeof(((td_apikey_row *)0)->name))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return false;
    return true;
}

/* Makes, stores and returns a new key. */
int td_apikey_create(td_store *st, const char *name, char key_out[TD_APIKEY_SIZE],
                     td_apikey_row *row_out)
{
    td_apikey_row row;
    char key[TD_APIKEY_SIZE], hex[65];
    int rc;

    memset(&row, 0, sizeof row);
    if (!name_ok(name))
        return TD_EINVAL;
    memcpy(key, "td_", 3);
    if ((rc = td_id_base62(key + 3, KEY_RANDOM)) != 0 || (rc = td_uuid_v4(row.key_id)) != 0 ||
        (rc = td_apikey_hash(key, hex)) != 0)
        goto out;
    memcpy(row.name, name, strlen(name) + 1);
    memcpy(row.prefix, key, TD_APIKEY_PREFIX_LEN);
    row.prefix[TD_APIKEY_PREFIX_LEN] = '\0';
    row.created_at = td_time_now_ms();
    if ((rc = td_store_apikey_insert(st, &row, hex)) != 0)
        goto out;
    memcpy(key_out, key, sizeof key);
    if (row_out)
        *row_out = row;
out:
    memset(key, 0, sizeof key);
    return rc;
}

/* Checks a key presented by a client. */
int td_apikey_check(td_store *st, const char *key, td_apikey_row *row_out)
{
    td_apikey_row row;
    char hex[65];
    int64_t now;
    int rc;

    if (!key || strncmp(key, "td_", 3) != 0 || strlen(key) != TD_APIKEY_SIZE - 1)
        return TD_EAUTH;
    for (const char *p = key + 3; *p; p++)
        if (!isalnum((unsigned char)*p))
            return TD_EAUTH;
    if ((rc = td_apikey_hash(key, hex)) != 0)
        return rc;
    rc = td_store_apikey_find(st, hex, &row);
    if (rc == TD_ENOTFOUND)
        return TD_EAUTH;
    if (rc)
        return rc;
    now = td_time_now_ms();
    /* A write per request would make every API call pay a commit; once a minute tells enough. */
    if (now - row.last_used_at > 60000 && td_store_apikey_touch(st, row.key_id, now) == 0)
        row.last_used_at = now;
    if (row_out)
        *row_out = row;
    return 0;
}
