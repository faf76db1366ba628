/* Privacy of clicks: truncated addresses and unique visitors counted without the address. */
#ifndef TRACKDOC_PRIVACY_H
#define TRACKDOC_PRIVACY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Room for an address in text, NUL included (INET6_ADDRSTRLEN). */
#define TD_IP_TEXT_SIZE 46

/* Room for a visitor hash: 32 hex characters and the NUL. */
#define TD_VISITOR_HASH_SIZE 33

/* Writes ip with its host part cleared into out (n bytes): IPv4 keeps its /24 (203.0.113.77 ->
 * 203.0.113.0), IPv6 its /48 (2001:db8:1:2::5 -> 2001:db8:1::), an IPv4-mapped IPv6 address is
 * treated as the IPv4 address it holds. Returns 0, or TD_EINVAL when ip is not an address
 * (out is then ""). */
int td_ip_anonymize(const char *ip, char *out, size_t n);

/* Writes the visitor hash of a click: the first 128 bits of SHA-256 over the day's salt, the
 * full address and the user agent, in hex. The same visitor gives the same hash within one day
 * and an unrelated one the next day; without the salt (deleted after its day) the hash cannot
 * be tied back to an address. ip and user_agent may be NULL. */
void td_visitor_hash(const char *salt_hex, const char *ip, const char *user_agent,
                     char out[TD_VISITOR_HASH_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
