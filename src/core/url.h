/* URL checks for tracked-link destinations, domain allow-lists, and query-string helpers. */
#ifndef TD_CORE_URL_H
#define TD_CORE_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "trackdoc/buf.h"

/* Longest destination URL accepted, in bytes, after normalisation. */
#define TD_URL_MAX 2048
/* Longest host name (RFC 1035 limit, plus brackets for IPv6 literals). */
#define TD_HOST_MAX 256

/* Checks that url is an absolute http or https URL with a host, no user:password@, no
 * whitespace or control characters, at most TD_URL_MAX bytes. Bytes above 0x7f outside the host
 * are percent-encoded into out (size outsz >= TD_URL_MAX + 1), so a pasted "https://x/résumé"
 * works; a non-ASCII host is refused (give its xn-- form). host_out (TD_HOST_MAX bytes, may be
 * NULL) receives the host in lower case without port or brackets.
 * Returns 0, TD_EURL, TD_EURL_LONG, TD_EURL_CHARS or TD_EURL_USERINFO. */
int td_url_check(const char *url, char *out, size_t outsz, char *host_out);

/* Extracts the lower-case host of any absolute URL (for referrers). Returns 0 or TD_EURL. */
int td_url_host(const char *url, char *host_out, size_t hostsz);

/* A parsed list of domain patterns: "example.com" matches that host only; "*.example.com"
 * matches example.com and every subdomain. */
typedef struct td_domain_list td_domain_list;

/* Parses a comma- or space-separated pattern list. An empty spec gives *out = NULL, which
 * allows every host. Returns 0, TD_EINVAL (bad pattern) or TD_ENOMEM. Free with
 * td_domain_list_free. */
int td_domain_list_parse(const char *spec, td_domain_list **out);

/* Frees a list; NULL is a no-op. */
void td_domain_list_free(td_domain_list *l);

/* True when host (lower case) matches a pattern of l, or when l is NULL. */
bool td_domain_list_match(const td_domain_list *l, const char *host);

/* True when host equals domain or is a subdomain of it (both lower case). */
bool td_host_is_within(const char *host, const char *domain);

/* Iterates over "name=value" pairs of a query string (no leading '?'). Calls fn with the raw,
 * still percent-encoded, name and value; fn returns non-zero to stop. */
void td_query_each(const char *query, size_t len,
                   int (*fn)(void *ud, const char *name, size_t nlen, const char *val, size_t vlen),
                   void *ud);

/* Appends s percent-decoded ('+' as space) to out. Returns 0, TD_ETOOBIG or TD_ENOMEM. */
int td_url_decode(td_buf *out, const char *s, size_t n);

#endif
