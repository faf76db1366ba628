/* URL checks, driven by the table in tests/data/url_cases.tsv; domain allow-lists. */
#include "core/common.h"

#include "core/url.h"
#include "test.h"

/* Expands the escapes and LONG:N form of a table cell into out. */
static void expand(const char *cell, char *out, size_t n)
{
    size_t o = 0;

    if (strncmp(cell, "LONG:", 5) == 0) {
        long len = strtol(cell + 5, NULL, 10);
        const char *head = "https://example.com/";
        snprintf(out, n, "%s", head);
        for (o = strlen(head); o < (size_t)len && o + 1 < n; o++)
            out[o] = 'a';
        out[o] = '\0';
        return;
    }
    for (const char *p = cell; *p && o + 1 < n; p++) {
        if (p[0] == '\\' && p[1] == 't') {
            out[o++] = '\t';
            p++;
        } else if (p[0] == '\\' && p[1] == 'n') {
            out[o++] = '\n';
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* Runs every row of the URL table. */
static void url_table(void)
{
    FILE *f = fopen("tests/data/url_cases.tsv", "r");
    char line[8192], url[8192], want_norm[8192], got[TD_URL_MAX + 1], host[TD_HOST_MAX];
    int rows = 0;

    CHECK(f != NULL, "url table: tests/data/url_cases.tsv opens");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *want, *cell, *norm;
        int rc;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        want = line;
        cell = strchr(line, '\t');
        if (!cell)
            continue;
        *cell++ = '\0';
        norm = strchr(cell, '\t');
        if (norm)
            *norm++ = '\0';
        expand(cell, url, sizeof url);
        rc = td_url_check(url, got, sizeof got, host);
        CHECK_STR(rc == 0 ? "ok" : td_errcode(rc), want, "url table: %.60s -> %s", cell, want);
        if (rc == 0) {
            expand(norm ? norm : cell, want_norm, sizeof want_norm);
            CHECK_STR(got, want_norm, "url table: %.60s is stored as given (or encoded)", cell);
        }
        rows++;
    }
    fclose(f);
    CHECK(rows >= 40, "url table: %d rows read", rows);
}

/* Host extraction lower-cases and drops port and brackets. */
static void hosts(void)
{
    char host[TD_HOST_MAX], out[TD_URL_MAX + 1];

    CHECK(td_url_check("HTTPS://WWW.Example.COM:443/x", out, sizeof out, host) == 0 &&
              strcmp(host, "www.example.com") == 0,
          "host is lower case without port");
    CHECK(td_url_check("http://[::1]:80/", out, sizeof out, host) == 0 && strcmp(host, "::1") == 0,
          "IPv6 host without brackets");
    CHECK(td_url_host("android-app://com.x/", host, sizeof host) == 0 && strcmp(host, "com.x") == 0,
          "td_url_host takes any scheme");
}

/* Allow-list patterns. */
static void domains(void)
{
    td_domain_list *l = NULL;

    CHECK(td_domain_list_parse("calendly.com, *.linkedin.com  example.org", &l) == 0 && l,
          "allow-list parses");
    CHECK(td_domain_list_match(l, "calendly.com"), "exact domain matches");
    CHECK(!td_domain_list_match(l, "www.calendly.com"), "exact pattern does not match subdomain");
    CHECK(td_domain_list_match(l, "linkedin.com"), "*.linkedin.com matches linkedin.com");
    CHECK(td_domain_list_match(l, "www.linkedin.com"), "*.linkedin.com matches a subdomain");
    CHECK(!td_domain_list_match(l, "evillinkedin.com"), "no match on a mere suffix");
    CHECK(!td_domain_list_match(l, "linkedin.com.evil.net"), "no match on a prefix");
    CHECK(td_domain_list_match(NULL, "anything.example"), "no list allows every host");
    td_domain_list_free(l);
    l = NULL;
    CHECK(td_domain_list_parse("bad host", &l) == 0, "space separates patterns");
    td_domain_list_free(l);
    l = NULL;
    CHECK(td_domain_list_parse("exa$mple.com", &l) == TD_EINVAL && !l, "bad pattern refused");
    CHECK(td_domain_list_parse("  ", &l) == 0 && !l, "empty list is no list");
}

/* Query-string iteration and percent-decoding. */
static int count_pairs(void *ud, const char *n, size_t nl, const char *v, size_t vl)
{
    (*(int *)ud)++;
    return 0;
}

/* Checks query helpers. */
static void query(void)
{
    td_buf b;
    int n = 0;

    td_query_each("a=1&b=&c&&d=4", 13, count_pairs, &n);
    CHECK_INT(n, 4, "query: four pairs, empty ones skipped");
    td_buf_init(&b, 64);
    CHECK(td_url_decode(&b, "a%20b+c%2", 9) == 0 && strcmp(td_buf_str(&b), "a b c%2") == 0,
          "percent-decoding keeps a broken escape as it is");
    td_buf_release(&b);
}

/* Entry point. */
int main(void)
{
    url_table();
    hosts();
    domains();
    query();
    TEST_DONE();
}
