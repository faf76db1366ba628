/* utm_* parameters appended to the Location of redirects to tagged hosts (Calendly). */
#include "core/common.h"

#include "core/url.h"
#include "trackdoc/utm.h"

struct td_utm {
    td_domain_list *hosts; /* NULL with none: tags nothing */
    bool enabled;
};

/* Makes the tagging rules. */
int td_utm_new(const char *hosts, bool enabled, td_utm **out)
{
    td_utm *u = calloc(1, sizeof *u);
    int rc = 0;

    *out = NULL;
    if (!u)
        return TD_ENOMEM;
    u->enabled = enabled;
    if (!hosts || !*hosts)
        hosts = TD_UTM_DEFAULT_HOSTS;
    if (strcasecmp(hosts, "none") == 0)
        u->enabled = false;
    else if ((rc = td_domain_list_parse(hosts, &u->hosts)) != 0)
        goto out;
    *out = u;
    u = NULL;
out:
    td_utm_free(u);
    return rc;
}

/* Frees the rules. */
void td_utm_free(td_utm *u)
{
    if (!u)
        return;
    td_domain_list_free(u->hosts);
    free(u);
}

/* Tells whether a redirect to l is tagged. */
bool td_utm_applies(const td_utm *u, const td_link *l)
{
    char host[TD_HOST_MAX];

    /* A link's own setting wins over the server's rule, either way. */
    if (l->utm_tagging == TD_UTM_OFF)
        return false;
    if (l->utm_tagging == TD_UTM_ON)
        return true;
    if (!u || !u->enabled || !u->hosts)
        return false;
    if (td_url_host(l->original_url, host, sizeof host) != 0)
        return false;
    return td_domain_list_match(u->hosts, host);
}

struct seen {
    unsigned mask; /* bit i: names[i] is in the query already */
};

static const char *const names[] = {"utm_source", "utm_medium", "utm_campaign", "utm_content"};

/* Notes which utm names a query sets (names compared after percent-decoding). */
static int note_name(void *ud, const char *name, size_t nlen, const char *val, size_t vlen)
{
    struct seen *s = ud;
    td_buf dec;

    td_buf_init(&dec, 256);
    if (td_url_decode(&dec, name, nlen) == 0)
        for (size_t i = 0; i < TD_ARRAY_SIZE(names); i++)
            if (strcmp(td_buf_str(&dec), names[i]) == 0)
                s->mask |= 1u << i;
    td_buf_release(&dec);
    return 0;
}

/* Appends s percent-encoded as a query value (unreserved characters kept). */
static int add_encoded(td_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    for (; *s && !rc; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr("-._~", c)) {
            char ch = (char)c;
            rc = td_buf_add(b, &ch, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = td_buf_add(b, e, 3);
        }
    }
    return rc;
}

/* Builds the Location of a redirect. */
int td_utm_location(const td_utm *u, const td_link *l, td_buf *out)
{
    const char *url = l->original_url, *frag, *q;
    size_t base_len;
    struct seen seen = {0};
    char medium[TD_LINK_FUNCTION_SIZE];
    const char *values[4];
    bool need_sep;
    int rc;

    if (!td_utm_applies(u, l))
        return td_buf_adds(out, url);
    frag = strchr(url, '#');
    base_len = frag ? (size_t)(frag - url) : strlen(url);
    q = memchr(url, '?', base_len);
    if (q)
        td_query_each(q + 1, base_len - (size_t)(q + 1 - url), note_name, &seen);
    snprintf(medium, sizeof medium, "%s", l->link_function);
    for (char *p = medium; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    values[0] = "trackdoc";
    values[1] = medium;
    values[2] = l->application_id[0] ? l->application_id : l->job_id;
    values[3] = l->tracking_id;
    if ((rc = td_buf_add(out, url, base_len)) != 0)
        return rc;
    /* "?", "?a=1&" and "?a=1" take the next parameter differently. */
    need_sep = q && base_len > (size_t)(q + 1 - url) && url[base_len - 1] != '&';
    for (size_t i = 0; i < TD_ARRAY_SIZE(names) && !rc; i++) {
        if ((seen.mask & (1u << i)) || !values[i][0])
            continue;
        rc = td_buf_adds(out, !q ? "?" : need_sep ? "&" : "");
        q = q ? q : url; /* from now on there is a query */
        need_sep = true;
        rc = rc ? rc : td_buf_adds(out, names[i]);
        rc = rc ? rc : td_buf_adds(out, "=");
        rc = rc ? rc : add_encoded(out, values[i]);
    }
    if (!rc && frag)
        rc = td_buf_adds(out, frag);
    return rc;
}
