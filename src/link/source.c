/* Click source from the referrer: web mail, LinkedIn, Indeed, our own dashboard, direct, or
 * any other site. Mobile apps send "android-app://<package>" referrers, recognised too. */
#include "core/common.h"

#include "core/url.h"
#include "trackdoc/link.h"

static const char *const source_names[] = {
    [TD_SOURCE_DIRECT] = "direct",       [TD_SOURCE_EMAIL] = "email",
    [TD_SOURCE_LINKEDIN] = "linkedin",   [TD_SOURCE_INDEED] = "indeed",
    [TD_SOURCE_DASHBOARD] = "dashboard", [TD_SOURCE_EXTERNAL] = "external",
};

/* Web-mail hosts and their subdomains. Sources: the sign-in hosts of the large web-mail
 * services, and Microsoft's Safe Links rewriter, which only ever appears for links in mail. */
static const char *const mail_domains[] = {
    "mail.google.com",
    "inbox.google.com",
    "outlook.live.com",
    "outlook.office.com",
    "outlook.office365.com",
    "outlook.cloud.microsoft",
    "safelinks.protection.outlook.com",
    "mail.yahoo.com",
    "mail.aol.com",
    "mail.proton.me",
    "mail.protonmail.com",
    "app.fastmail.com",
    "fastmail.com",
    "mail.zoho.com",
    "mail.zoho.eu",
    "mail.zoho.in",
    "mail.yandex.ru",
    "mail.yandex.com",
    "e.mail.ru",
    "mail.gmx.com",
    "mail.gmx.net",
    "navigator.gmx.net",
    "navigator.web.de",
    "mail.tutanota.com",
    "app.tuta.com",
    "app.hey.com",
    "mail.superhuman.com",
    "webmail.", /* prefix rule, see is_mail_host */
};

/* Android packages that open links from mail or from LinkedIn. */
static const struct {
    const char *package;
    td_click_source source;
} app_sources[] = {
    {"com.google.android.gm", TD_SOURCE_EMAIL},
    {"com.microsoft.office.outlook", TD_SOURCE_EMAIL},
    {"com.yahoo.mobile.client.android.mail", TD_SOURCE_EMAIL},
    {"ch.protonmail.android", TD_SOURCE_EMAIL},
    {"com.linkedin.android", TD_SOURCE_LINKEDIN},
    {"com.indeed.android.jobsearch", TD_SOURCE_INDEED},
};

/* True for hosts of web-mail services; "webmail.<anything>" covers self-hosted web mail. */
static bool is_mail_host(const char *host)
{
    for (size_t i = 0; i < TD_ARRAY_SIZE(mail_domains); i++) {
        const char *d = mail_domains[i];
        size_t n = strlen(d);
        if (d[n - 1] == '.') {
            if (strncmp(host, d, n) == 0)
                return true;
        } else if (td_host_is_within(host, d)) {
            return true;
        }
    }
    return false;
}

/* True for Indeed's hosts: indeed.com and its country sites (indeed.co.uk, de.indeed.com, ...):
 * a label "indeed" followed only by short country or top-level labels. */
static bool is_indeed_host(const char *host)
{
    const char *p = host;

    for (;;) {
        if (strncmp(p, "indeed.", 7) == 0) {
            const char *rest = p + 7;
            bool ok = *rest != '\0';
            while (ok && *rest) {
                size_t n = strcspn(rest, ".");
                ok = n >= 2 && n <= 3;
                rest += n;
                if (*rest == '.')
                    rest++;
            }
            if (ok)
                return true;
        }
        p = strchr(p, '.');
        if (!p)
            return false;
        p++;
    }
}

/* Classifies a referrer. */
td_click_source td_click_source_of(const char *referrer, const char *own_host)
{
    char host[TD_HOST_MAX];

    if (!referrer || !*referrer)
        return TD_SOURCE_DIRECT;
    if (strncasecmp(referrer, "android-app://", 14) == 0) {
        const char *pkg = referrer + 14;
        size_t n = strcspn(pkg, "/");
        for (size_t i = 0; i < TD_ARRAY_SIZE(app_sources); i++)
            if (strlen(app_sources[i].package) == n &&
                strncasecmp(pkg, app_sources[i].package, n) == 0)
                return app_sources[i].source;
        return TD_SOURCE_EXTERNAL;
    }
    if (td_url_host(referrer, host, sizeof host) != 0)
        return TD_SOURCE_EXTERNAL;
    if (own_host && *own_host && strcmp(host, own_host) == 0)
        return TD_SOURCE_DASHBOARD;
    if (is_mail_host(host))
        return TD_SOURCE_EMAIL;
    if (td_host_is_within(host, "linkedin.com") || td_host_is_within(host, "lnkd.in"))
        return TD_SOURCE_LINKEDIN;
    if (is_indeed_host(host))
        return TD_SOURCE_INDEED;
    return TD_SOURCE_EXTERNAL;
}

/* Returns the name of a source. */
const char *td_click_source_name(td_click_source s)
{
    if ((int)s < 0 || (size_t)s >= TD_ARRAY_SIZE(source_names))
        return "external";
    return source_names[s];
}

/* Parses a source name. */
int td_click_source_parse(const char *name, td_click_source *out)
{
    for (size_t i = 0; i < TD_ARRAY_SIZE(source_names); i++) {
        if (strcmp(name, source_names[i]) == 0) {
            *out = (td_click_source)i;
            return 0;
        }
    }
    return TD_EINVAL;
}
