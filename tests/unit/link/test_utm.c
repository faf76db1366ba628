/* utm_* parameters on the Location of redirects to Calendly. */
#include "core/common.h"

#include "test.h"
#include "trackdoc/utm.h"

/* Fills a link of the tests. */
static void mk(td_link *l, const char *url, const char *fn, const char *job, const char *app)
{
    memset(l, 0, sizeof *l);
    snprintf(l->original_url, sizeof l->original_url, "%s", url);
    snprintf(l->link_function, sizeof l->link_function, "%s", fn);
    snprintf(l->tracking_id, sizeof l->tracking_id, "lt_calendly_Ab3dE5gH7jK9mN");
    snprintf(l->job_id, sizeof l->job_id, "%s", job);
    snprintf(l->application_id, sizeof l->application_id, "%s", app);
}

/* Checks the Location of one link. */
static void expect(const td_utm *u, const td_link *l, const char *want, const char *what)
{
    td_buf b;

    td_buf_init(&b, 8192);
    CHECK_INT(td_utm_location(u, l, &b), 0, "%s: built", what);
    CHECK_STR(td_buf_str(&b), want, "%s", what);
    td_buf_release(&b);
}

/* Entry point. */
int main(void)
{
    const char *job = "3f2b8c1e-6d4a-4e8b-9c7d-2a1b0c9d8e7f";
    const char *app = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
    td_utm *u = NULL, *off = NULL, *custom = NULL, *none = NULL;
    td_link l;

    CHECK_INT(td_utm_new(NULL, true, &u), 0, "default rules");
    CHECK_INT(td_utm_new(NULL, false, &off), 0, "rules switched off");
    CHECK_INT(td_utm_new("zoe.dev", true, &custom), 0, "a configured host list");
    CHECK_INT(td_utm_new("none", true, &none), 0, "'none' tags nothing");
    {
        td_utm *bad = NULL;
        CHECK(td_utm_new("*.*bad", true, &bad) == TD_EINVAL && bad == NULL,
              "a malformed host pattern is refused");
    }

    mk(&l, "https://calendly.com/zoe/30min", "Calendly", job, app);
    expect(u, &l,
           "https://calendly.com/zoe/30min?utm_source=trackdoc&utm_medium=calendly&utm_campaign="
           "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d&utm_content=lt_calendly_Ab3dE5gH7jK9mN",
           "a Calendly URL gets the four parameters, the campaign is the application");
    mk(&l, "https://calendly.com/zoe/30min", "Calendly", job, "");
    expect(u, &l,
           "https://calendly.com/zoe/30min?utm_source=trackdoc&utm_medium=calendly&utm_campaign="
           "3f2b8c1e-6d4a-4e8b-9c7d-2a1b0c9d8e7f&utm_content=lt_calendly_Ab3dE5gH7jK9mN",
           "without an application the campaign is the job");
    mk(&l, "https://calendly.com/zoe/30min", "Calendly", "", "");
    expect(u, &l,
           "https://calendly.com/zoe/30min?utm_source=trackdoc&utm_medium=calendly&utm_content="
           "lt_calendly_Ab3dE5gH7jK9mN",
           "without job or application there is no campaign");
    mk(&l, "https://calendly.com/zoe/30min?month=2026-12&utm_source=cv#top", "Calendly", job, app);
    expect(u, &l,
           "https://calendly.com/zoe/30min?month=2026-12&utm_source=cv&utm_medium=calendly&"
           "utm_campaign=9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d&utm_content="
           "lt_calendly_Ab3dE5gH7jK9mN#top",
           "an existing query is extended, its utm_source kept, the fragment stays last");
    mk(&l, "https://calendly.com/zoe/30min?", "Calendly", job, app);
    expect(u, &l,
           "https://calendly.com/zoe/30min?utm_source=trackdoc&utm_medium=calendly&utm_campaign="
           "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d&utm_content=lt_calendly_Ab3dE5gH7jK9mN",
           "an empty query takes the parameters without a stray '&'");
    mk(&l, "https://calendly.com/zoe?a=1&", "Calendly", "", "");
    expect(u, &l,
           "https://calendly.com/zoe?a=1&utm_source=trackdoc&utm_medium=calendly&utm_content="
           "lt_calendly_Ab3dE5gH7jK9mN",
           "a query ending in '&' takes the parameters without doubling it");
    mk(&l, "https://calendly.com/zoe?utm_source=a&utm_medium=b&utm_campaign=c&utm%5Fcontent=d",
       "Calendly", job, app);
    expect(u, &l,
           "https://calendly.com/zoe?utm_source=a&utm_medium=b&utm_campaign=c&utm%5Fcontent=d",
           "every parameter set already (one percent-encoded): the URL is unchanged");
    mk(&l, "https://eu.calendly.com/zoe", "Calendly", "", "");
    expect(u, &l,
           "https://eu.calendly.com/zoe?utm_source=trackdoc&utm_medium=calendly&utm_content="
           "lt_calendly_Ab3dE5gH7jK9mN",
           "a Calendly subdomain is tagged");
    mk(&l, "https://www.linkedin.com/in/zoe/", "LinkedIn", job, app);
    expect(u, &l, "https://www.linkedin.com/in/zoe/", "other destinations are untouched");
    mk(&l, "https://calendly.com.evil.example/zoe", "Calendly", job, app);
    expect(u, &l, "https://calendly.com.evil.example/zoe",
           "a host that only starts with calendly.com is not Calendly");
    mk(&l, "https://calendly.com/zoe", "Calendly", job, app);
    expect(off, &l, "https://calendly.com/zoe", "tagging switched off: untouched");
    expect(none, &l, "https://calendly.com/zoe", "hosts 'none': untouched");
    expect(custom, &l, "https://calendly.com/zoe", "a configured list replaces the default");
    mk(&l, "https://zoe.dev/work", "My Portfolio", "", app);
    expect(custom, &l,
           "https://zoe.dev/work?utm_source=trackdoc&utm_medium=my%20portfolio&utm_campaign="
           "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d&utm_content=lt_calendly_Ab3dE5gH7jK9mN",
           "a configured host is tagged; the medium is the function in lower case, encoded");
    mk(&l, "https://calendly.com/zoe", "Calendly", "", "");
    l.utm_tagging = TD_UTM_OFF;
    expect(u, &l, "https://calendly.com/zoe", "a link switched off is never tagged");
    mk(&l, "https://www.linkedin.com/in/zoe/", "LinkedIn", "", "");
    l.utm_tagging = TD_UTM_ON;
    expect(off, &l,
           "https://www.linkedin.com/in/zoe/?utm_source=trackdoc&utm_medium=linkedin&utm_content="
           "lt_calendly_Ab3dE5gH7jK9mN",
           "a link switched on is tagged whatever the host and the server's rule");
    td_utm_free(u);
    td_utm_free(off);
    td_utm_free(custom);
    td_utm_free(none);
    TEST_DONE();
}
