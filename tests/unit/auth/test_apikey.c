/* API keys: the hash, creation shown once, checks of good, malformed and revoked keys. */
#include "core/common.h"

#include "core/time.h"
#include "test.h"
#include "trackdoc/apikey.h"

/* Entry point. */
int main(void)
{
    char db[512], key[TD_APIKEY_SIZE], key2[TD_APIKEY_SIZE], hex[65];
    td_store *st = NULL;
    td_apikey_row row, got;

    CHECK(td_apikey_hash("abc", hex) == 0 &&
              strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
          "SHA-256 of abc (FIPS 180-2 test vector)");
    snprintf(db, sizeof db, "%s/keys.db", td_test_tmpdir());
    if (td_store_open(db, NULL, &st, NULL, 0))
        return 1;
    CHECK(td_apikey_create(st, "laptop", key, &row) == 0, "create");
    CHECK(strncmp(key, "td_", 3) == 0 && strlen(key) == TD_APIKEY_SIZE - 1, "key form td_<40>");
    CHECK(strncmp(row.prefix, key, TD_APIKEY_PREFIX_LEN) == 0, "prefix is the key's start");
    CHECK(td_apikey_check(st, key, &got) == 0 && strcmp(got.name, "laptop") == 0, "check good key");
    CHECK(got.last_used_at > 0, "use recorded");
    CHECK(td_apikey_create(st, "laptop", key2, NULL) == TD_ECONFLICT, "name taken");
    CHECK(td_apikey_create(st, "", key2, NULL) == TD_EINVAL, "empty name");
    CHECK(td_apikey_create(st, "tab\there", key2, NULL) == TD_EINVAL, "control character in name");
    key2[0] = '\0';
    CHECK(td_apikey_check(st, "", NULL) == TD_EAUTH, "empty key");
    CHECK(td_apikey_check(st, NULL, NULL) == TD_EAUTH, "no key");
    CHECK(td_apikey_check(st, "td_short", NULL) == TD_EAUTH, "short key");
    snprintf(key2, sizeof key2, "%s", key);
    key2[10] = key2[10] == 'a' ? 'b' : 'a';
    CHECK(td_apikey_check(st, key2, NULL) == TD_EAUTH, "one character changed");
    key2[10] = '!';
    CHECK(td_apikey_check(st, key2, NULL) == TD_EAUTH, "bad character");
    CHECK(td_store_apikey_revoke(st, "laptop", td_time_now_ms()) == 0, "revoke");
    CHECK(td_apikey_check(st, key, NULL) == TD_EAUTH, "revoked key refused");
    td_store_close(st);
    TEST_DONE();
}
