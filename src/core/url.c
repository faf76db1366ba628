/* URL validation for link destinations and allow-lists. Written by hand rather than with a URL
 * library: we need a narrow, strict check (absolute http(s) with a host) and exact control over
 * what is stored, which is what the 302 Location will carry byte for byte. */
#include "core/common.h"

#include "core/url.h"

struct td_domain_list {
    size_t n;
    struct pattern {
        bool wildcard;
        char domain[TD_HOST_MAX];
    } p[];
};

/* True for the characters allowed in a registered host name. */
static bool host_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_';
}

/* Checks an IPv6 literal between brackets (hex digits, ':' and '.' for an embedded IPv4). */
static bool ipv6_ok(const char *s, size_t n)
{
    size_t colons = 0;

    if (n < 2)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ':')
            colons++;
        else if (!isxdigit(c) && c != '.')
            return false;
    }
    return colons >= 2 && colons <= 7;
}

/* Parses the scheme and authority of url; fills host (lower case) and the authority end. */
static int parse_authority(const char *url, bool http_only, char *host, size_t hostsz,
                           size_t *auth_end, long *port_out)
{
    const char *p, *a, *h, *hend, *end;
    size_t scheme_len, hlen;

    *port_out = 0;
    p = strstr(url, "://");
    if (!p)
        return TD_EURL;
    scheme_len = (size_t)(p - url);
    if (http_only) {
        if (!((scheme_len == 4 && strncasecmp(url, "http", 4) == 0) ||
              (scheme_len == 5 && strncasecmp(url, "https", 5) == 0)))
            return TD_EURL;
    } else {
        if (scheme_len == 0)
            return TD_EURL;
        for (size_t i = 0; i < scheme_len; i++)
            if (!isalnum((unsigned char)url[i]) && url[i] != '+' && url[i] != '-' && url[i] != '.')
                return TD_EURL;
    }
    a = p + 3;
    end = a + strcspn(a, "/?#");
    *auth_end = (size_t)(end - url);
    if (memchr(a, '@', (size_t)(end - a)))
        return TD_EURL_USERINFO;
    h = a;
    if (*h == '[') {
        const char *close = memchr(h, ']', (size_t)(end - h));
        if (!close || !ipv6_ok(h + 1, (size_t)(close - h - 1)))
            return TD_EURL;
        hend = close + 1;
        h++;
        hlen = (size_t)(close - h);
    } else {
        hend = memchr(h, ':', (size_t)(end - h));
        if (!hend)
            hend = end;
        hlen = (size_t)(hend - h);
        if (hlen == 0 || h[0] == '.' || h[0] == '-')
            return TD_EURL;
        for (size_t i = 0; i < hlen; i++)
            if (!host_char((unsigned char)h[i]))
                return TD_EURL;
    }
    if (hend < end) { /* port */
        long port = 0;
        const char *q = hend + 1;
        if (*hend != ':' || q == end || end - q > 5)
            return TD_EURL;
        for (; q < end; q++) {
            if (!isdigit((unsigned char)*q))
                return TD_EURL;
            port = port * 10 + (*q - '0');
        }
        if (port < 1 || port > 65535)
            return TD_EURL;
        *port_out = port;
    }
    if (hlen == 0 || hlen >= hostsz)
        return TD_EURL;
    for (size_t i = 0; i < hlen; i++)
        host[i] = (char)tolower((unsigned char)h[i]);
    host[hlen] = '\0';
    return 0;
}

/* Validates and normalises a destination URL. */
int td_url_check(const char *url, char *out, size_t outsz, char *host_out)
{
    static const char hex[] = "0123456789ABCDEF";
    char host[TD_HOST_MAX];
    size_t auth_end, o = 0, in_len;
    long port;
    bool https;
    int n, rc;

    in_len = strlen(url);
    if (in_len > TD_URL_MAX * 3) /* do not even scan absurd inputs */
        return TD_EURL_LONG;
    for (size_t i = 0; i < in_len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f)
            return TD_EURL_CHARS;
    }
    rc = parse_authority(url, true, host, sizeof host, &auth_end, &port);
    if (rc)
        return rc;
    /* Scheme and host are case-insensitive and a default port says nothing (RFC 3986 6.2.2-3):
     * they are normalised so that one destination is one link. The rest is kept byte for byte,
     * but for bytes above 0x7f, which are percent-encoded. */
    https = url[4] == 's' || url[4] == 'S';
    if (port == (https ? 443 : 80))
        port = 0;
    n = snprintf(out, outsz, "%s://%s%s%s", https ? "https" : "http", strchr(host, ':') ? "[" : "",
                 host, strchr(host, ':') ? "]" : "");
    if (n < 0 || (size_t)n >= outsz)
        return TD_EURL_LONG;
    o = (size_t)n;
    if (port) {
        n = snprintf(out + o, outsz - o, ":%ld", port);
        if (n < 0 || (size_t)n >= outsz - o)
            return TD_EURL_LONG;
        o += (size_t)n;
    }
    for (size_t i = auth_end; i < in_len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c >= 0x80) {
            if (o + 3 >= outsz || o + 3 > TD_URL_MAX)
                return TD_EURL_LONG;
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            if (o + 1 >= outsz || o + 1 > TD_URL_MAX)
                return TD_EURL_LONG;
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    if (host_out)
        memcpy(host_out, host, strlen(host) + 1);
    return 0;
}

/* Extracts the lower-case host of an absolute URL of any scheme. */
int td_url_host(const char *url, char *host_out, size_t hostsz)
{
    size_t auth_end;
    long port;
    int rc = parse_authority(url, false, host_out, hostsz, &auth_end, &port);

    return rc == TD_EURL_USERINFO ? TD_EURL : rc;
}

/* True when host equals domain or ends with "." + domain. */
bool td_host_is_within(const char *host, const char *domain)
{
    size_t hl = strlen(host), dl = strlen(domain);

    if (hl == dl)
        return memcmp(host, domain, hl) == 0;
    return hl > dl && host[hl - dl - 1] == '.' && memcmp(host + hl - dl, domain, dl) == 0;
}

/* Parses a comma- or space-separated list of domain patterns. */
int td_domain_list_parse(const char *spec, td_domain_list **out)
{
    td_domain_list *l = NULL;
    const char *p;
    size_t count = 0;
    int rc = 0;

    *out = NULL;
    for (p = spec; *p;) {
        p += strspn(p, ", \t");
        if (*p) {
            count++;
            p += strcspn(p, ", \t");
        }
    }
    if (count == 0)
        goto out;
    l = calloc(1, sizeof *l + count * sizeof l->p[0]);
    if (!l) {
        rc = TD_ENOMEM;
        goto out;
    }
    for (p = spec; *p;) {
        size_t n;
        struct pattern *pt;
        p += strspn(p, ", \t");
        n = strcspn(p, ", \t");
        if (n == 0)
            break;
        pt = &l->p[l->n];
        if (n >= 2 && p[0] == '*' && p[1] == '.') {
            pt->wildcard = true;
            p += 2;
            n -= 2;
        }
        if (n == 0 || n >= sizeof pt->domain) {
            rc = TD_EINVAL;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (!host_char((unsigned char)p[i])) {
                rc = TD_EINVAL;
                goto out;
            }
            pt->domain[i] = (char)tolower((unsigned char)p[i]);
        }
        pt->domain[n] = '\0';
        l->n++;
        p += n;
    }
    *out = l;
    l = NULL;
out:
    free(l);
    return rc;
}

/* Frees a pattern list. */
void td_domain_list_free(td_domain_list *l)
{
    free(l);
}

/* True when host matches one of the patterns (or there is no list). */
bool td_domain_list_match(const td_domain_list *l, const char *host)
{
    if (!l)
        return true;
    for (size_t i = 0; i < l->n; i++) {
        const struct pattern *pt = &l->p[i];
        if (pt->wildcard ? td_host_is_within(host, pt->domain) : strcmp(host, pt->domain) == 0)
            return true;
    }
    return false;
}

/* Calls fn for each name=value pair of a query string. */
void td_query_each(const char *query, size_t len,
                   int (*fn)(void *ud, const char *name, size_t nlen, const char *val, size_t vlen),
                   void *ud)
{
    const char *p = query, *end = query + len;

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        if (pe > p) {
            const char *v = eq ? eq + 1 : pe;
            if (fn(ud, p, (size_t)((eq ? eq : pe) - p), v, (size_t)(pe - v)))
                return;
        }
        p = pe + 1;
    }
}

/* Returns the value of one hex digit, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends the percent-decoded form of s. */
int td_url_decode(td_buf *out, const char *s, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            rc = td_buf_addc(out, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
            i += 2;
        } else {
            rc = td_buf_addc(out, s[i] == '+' ? ' ' : s[i]);
        }
    }
    return rc;
}
