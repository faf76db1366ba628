/* bench/render: a 5 KB résumé template with 20 experience entries, compiled once, rendered
 * many times: renders per second and MB/s with tracking off, and on with a warm link cache.
 * Goal (issue): under 20 µs per render, tracking adding under 20%. */
#include "core/common.h"

#include "trackdoc/store.h"
#include "trackdoc/tmpl.h"
#include "trackdoc/trackvars.h"

#define ROUNDS 7
#define PER_ROUND 4000

/* The template: a realistic résumé in Markdown, about 5 KB. */
static const char *template_text(void)
{
    static char buf[8192];
    td_buf b;

    td_buf_init(&b, sizeof buf - 1);
    td_buf_adds(&b, "# {{personal.full_name}}\n"
                    "{{personal.email}} · {{personal.phone}} · {{personal.address}}\n"
                    "[Book a call]({{calendly_url}}) · [LinkedIn]({{linkedin_url}}) · "
                    "[Portfolio]({{portfolio_url}})\n\n"
                    "## Summary\n\n{{professional_summary}}\n\n"
                    "## Experience\n\n"
                    "{{#experience}}\n"
                    "### {{title}}, {{company}}\n"
                    "*{{start_date}} – {{#end_date}}{{end_date}}{{/end_date}}"
                    "{{^end_date}}present{{/end_date}}*\n\n"
                    "{{description}}\n\n"
                    "{{#highlights}}\n- {{.}}\n{{/highlights}}\n\n"
                    "{{/experience}}\n"
                    "## Education\n\n"
                    "{{#education}}\n- {{degree}} in {{field}}, {{institution}} "
                    "({{graduation_year}})\n{{/education}}\n\n"
                    "## Skills\n\n"
                    "Technical: {{#skills.technical}}{{.}}, {{/skills.technical}}\n"
                    "Soft: {{#skills.soft}}{{.}}, {{/skills.soft}}\n\n");
    /* Static prose that a real résumé template carries (headings, notes, boilerplate). */
    while (b.len < 5000)
        td_buf_adds(&b, "<!-- Layout note: keep sections short; recruiters scan the first "
                        "third of the page. This text is part of the template. -->\n");
    memcpy(buf, b.data, b.len + 1);
    td_buf_release(&b);
    return buf;
}

/* The data: 20 experience entries with three highlights each. */
static json_t *make_data(void)
{
    json_t *d = json_pack(
        "{s:{s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:[], s:[], s:{s:[s,s,s,s], s:[s,s]}}",
        "personal", "full_name", "Jane Doe", "email", "jane@example.com", "phone", "+1 555 0100",
        "address", "1 Main St, Springfield", "professional_summary",
        "Engineer with 15 years of building reliable systems & teams that ship.", "calendly_url",
        "https://calendly.com/jane-doe/30min", "linkedin_url", "https://www.linkedin.com/in/jane",
        "portfolio_url", "https://jane.example.com/", "experience", "education", "skills",
        "technical", "C", "SQL", "Linux", "HTTP", "soft", "Mentoring", "Writing");
    json_t *exp = json_object_get(d, "experience");

    for (int i = 0; i < 20; i++) {
        char company[64], title[64];
        snprintf(company, sizeof company, "Company %d <Inc.>", i);
        snprintf(title, sizeof title, "Senior Engineer %d", i);
        json_array_append_new(exp, json_pack("{s:s, s:s, s:s, s:s?, s:s, s:[s,s,s]}", "company",
                                             company, "title", title, "start_date", "2015-01",
                                             "end_date", i ? "2016-01" : NULL, "description",
                                             "Built and ran the payment service; cut latency.",
                                             "highlights", "Led 4 engineers", "Shipped v2 on time",
                                             "Cut costs by 30%"));
    }
    json_array_append_new(json_object_get(d, "education"),
                          json_pack("{s:s, s:s, s:s, s:s}", "institution", "State University",
                                    "degree", "BSc", "field", "Computer Science", "graduation_year",
                                    "2009"));
    return d;
}

/* Compares doubles for qsort. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Returns the median microseconds per render over ROUNDS rounds; *bytes gets the output size. */
static double measure(const td_tmpl *t, const json_t *data, td_tracker *tr,
                      const td_trackvars *vars, size_t *bytes, size_t *tracked)
{
    double per[ROUNDS];
    td_buf out;

    td_buf_init(&out, 0);
    for (int r = 0; r < ROUNDS; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int i = 0; i < PER_ROUND; i++) {
            td_track_ctx tc;
            td_tmpl_render_opts o = {.escape = TD_TMPL_ESCAPE_NONE,
                                     .value_hook = td_track_value_hook,
                                     .hook_names = td_trackvars_mask(vars),
                                     .hook_ud = &tc};
            td_track_ctx_init(&tc, tr, vars, tr ? "3f2504e0-4f89-41d3-9a0c-0305e82c3301" : NULL,
                              NULL, "resume", tr != NULL);
            td_buf_reset(&out);
            if (td_tmpl_render(t, data, &o, &out, NULL, NULL) != 0) {
                fprintf(stderr, "render failed\n");
                exit(1);
            }
            *tracked = tc.urls_tracked;
            td_track_ctx_release(&tc);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        per[r] = ((double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3) /
                 PER_ROUND;
    }
    *bytes = out.len;
    td_buf_release(&out);
    qsort(per, ROUNDS, sizeof per[0], cmp_double);
    return per[ROUNDS / 2];
}

/* Entry point. */
int main(void)
{
    const char *src = template_text();
    json_t *data = make_data();
    td_tmpl *t = NULL;
    td_trackvars *vars = NULL;
    td_store *st = NULL;
    td_tracker *tr = NULL;
    td_store_options so = {.sync = "normal"};
    char dir[] = "/tmp/tdbench-render.XXXXXX", db[256];
    size_t bytes = 0, tracked = 0;
    double off, on;

    if (!mkdtemp(dir))
        return 1;
    snprintf(db, sizeof db, "%s/bench.db", dir);
    if (td_tmpl_compile(src, strlen(src), NULL, &t, NULL) || td_trackvars_new(&vars) ||
        td_store_open(db, &so, &st, NULL, 0) || td_tracker_new(st, NULL, &tr, NULL, 0)) {
        fprintf(stderr, "bench/render: set-up failed\n");
        return 1;
    }
    off = measure(t, data, NULL, vars, &bytes, &tracked);
    printf("render: template %zu bytes, 20 entries, output %zu bytes\n", strlen(src), bytes);
    printf("  tracking off: %7.2f us/render  %9.0f renders/s  %7.1f MB/s   (goal < 20 us: %s)\n",
           off, 1e6 / off, (double)bytes / off, off < 20 ? "met" : "NOT met");
    measure(t, data, tr, vars, &bytes, &tracked); /* warms the link cache */
    on = measure(t, data, tr, vars, &bytes, &tracked);
    printf("  tracking on:  %7.2f us/render  %9.0f renders/s  %7.1f MB/s   (%zu links per "
           "render, cache warm)\n",
           on, 1e6 / on, (double)bytes / on, tracked);
    printf("  tracking cost: +%.1f%%   (goal < 20%%: %s)\n", (on / off - 1) * 100,
           on / off < 1.2 ? "met" : "NOT met");
    td_tracker_free(tr);
    td_store_close(st);
    td_trackvars_free(vars);
    td_tmpl_free(t);
    json_decref(data);
    unlink(db);
    {
        char p[300];
        snprintf(p, sizeof p, "%s/bench.db-wal", dir);
        unlink(p);
        snprintf(p, sizeof p, "%s/bench.db-shm", dir);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}
