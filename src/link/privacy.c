/* Truncated client addresses (IPv4 /24, IPv6 /48) and salted daily visitor hashes. */
#include "core/common.h"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include "trackdoc/privacy.h"

/* Clears the host part of an address. */
int td_ip_anonymize(const char *ip, char *out, size_t n)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned char a[16];
    char text[TD_IP_TEXT_SIZE];
    int rc = 0;

    if (n)
        out[0] = '\0';
    if (!ip || !*ip || n == 0)
        return TD_EINVAL;
    if (inet_pton(AF_INET, ip, a) == 1) {
        a[3] = 0;
        if (!inet_ntop(AF_INET, a, text, sizeof text))
            rc = TD_EINVAL;
    } else if (inet_pton(AF_INET6, ip, a) == 1) {
        if (memcmp(a, mapped, sizeof mapped) == 0) {
            a[15] = 0;
            if (!inet_ntop(AF_INET, a + 12, text, sizeof text))
                rc = TD_EINVAL;
        } else {
            memset(a + 6, 0, 10);
            if (!inet_ntop(AF_INET6, a, text, sizeof text))
                rc = TD_EINVAL;
        }
    } else {
        rc = TD_EINVAL;
    }
    if (rc == 0)
        snprintf(out, n, "%s", text);
    return rc;
}

/* Hashes salt, address and user agent into a visitor id. */
void td_visitor_hash(const char *salt_hex, const char *ip, const char *user_agent,
                     char out[TD_VISITOR_HASH_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    /* NUL separators: "a" + "bc" and "ab" + "c" hash differently. */
    bool ok =
        ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
        EVP_DigestUpdate(ctx, salt_hex ? salt_hex : "", strlen(salt_hex ? salt_hex : "") + 1) &&
        EVP_DigestUpdate(ctx, ip ? ip : "", strlen(ip ? ip : "") + 1) &&
        EVP_DigestUpdate(ctx, user_agent ? user_agent : "", strlen(user_agent ? user_agent : "")) &&
        EVP_DigestFinal_ex(ctx, md, &len) && len >= 16;

    EVP_MD_CTX_free(ctx);
    if (!ok) {
        out[0] = '\0';
        return;
    }
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[32] = '\0';
}
