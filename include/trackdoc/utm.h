/* Campaign parameters on redirects: a Calendly scheduling link followed through trackdoc
 * carries utm_source, utm_medium, utm_campaign and utm_content, which Calendly hands back in
 * its booking webhooks, so that a booking is tied to the job and application it came from. */
#ifndef TRACKDOC_UTM_H
#define TRACKDOC_UTM_H

#include <stdbool.h>

#include "trackdoc/buf.h"
#include "trackdoc/link.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The hosts tagged by default: Calendly and its subdomains. */
#define TD_UTM_DEFAULT_HOSTS "*.calendly.com"

typedef struct td_utm td_utm;

/* Makes the tagging rules: hosts is a domain pattern list ("*.calendly.com,example.org"; NULL
 * or "" = TD_UTM_DEFAULT_HOSTS; "none" tags nothing); enabled false switches tagging off
 * everywhere. Returns 0, TD_EINVAL (bad pattern) or TD_ENOMEM. */
int td_utm_new(const char *hosts, bool enabled, td_utm **out);

/* Frees u; NULL is a no-op. */
void td_utm_free(td_utm *u);

/* True when a redirect to l's destination gets the parameters: l->utm_tagging TD_UTM_ON or
 * TD_UTM_OFF decides for that link whatever the rules say; TD_UTM_DEFAULT follows the rules
 * (enabled, and the destination host in the list). */
bool td_utm_applies(const td_utm *u, const td_link *l);

/* Writes the Location of a redirect to l into out: original_url, and when td_utm_applies,
 * utm_source=trackdoc, utm_medium=<link_function in lower case>, utm_campaign=<application_id,
 * else job_id; left out when neither>, utm_content=<tracking_id> appended to its query (before
 * any #fragment); a parameter the URL already sets is kept as it is. The stored original_url
 * never changes. Returns 0, TD_ETOOBIG or TD_ENOMEM. */
int td_utm_location(const td_utm *u, const td_link *l, td_buf *out);

#ifdef __cplusplus
}
#endif
#endif
