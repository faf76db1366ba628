/* bench/docx: 100 tracked résumés for 100 jobs from the built-in .docx template: the sample
 * résumé shaped by the model, rendered with the tracked-link hooks on a fresh SQLite database
 * (synchronous=FULL: every new link is durable), each output checked by td_docx_check.
 * Goal (issue): under 1 s in total on this machine; prints documents per second. */
#include "core/common.h"

#include "core/id.h"
#include "trackdoc/docx.h"
#include "trackdoc/model.h"
#include "trackdoc/store.h"
#include "trackdoc/trackvars.h"

#define DOCS 100

/* Reads a whole file into b, or exits. */
static void slurp(const char *path, td_buf *b)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;

    td_buf_init(b, (size_t)64 << 20);
    if (!f) {
        fprintf(stderr, "bench/docx: cannot read %s (run from the repository root)\n", path);
        exit(1);
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        td_buf_add(b, chunk, n);
    fclose(f);
}

/* Returns the seconds between two times. */
static double secs(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Entry point. */
int main(void)
{
    td_buf tpl, data_text, out;
    json_t *raw, *data = NULL;
    td_trackvars *vars = NULL;
    td_store *st = NULL;
    td_tracker *tr = NULL;
    char dir[] = "/tmp/tdbench-docx.XXXXXX", db[256], err[256];
    struct timespec a, b;
    size_t bytes = 0, links = 0, failures = 0;
    double total;

    slurp("templates/resume.docx", &tpl);
    slurp("tests/data/model/sample_resume.json", &data_text);
    raw = json_loadb(data_text.data, data_text.len, 0, NULL);
    if (!raw || td_model_resume(raw, &data, err, sizeof err) != 0 || !mkdtemp(dir)) {
        fprintf(stderr, "bench/docx: set-up failed: %s\n", err);
        return 1;
    }
    snprintf(db, sizeof db, "%s/bench.db", dir);
    if (td_store_open(db, NULL, &st, err, sizeof err) || td_trackvars_new(&vars) ||
        td_tracker_new(st, NULL, &tr, err, sizeof err)) {
        fprintf(stderr, "bench/docx: set-up failed: %s\n", err);
        return 1;
    }
    td_buf_init(&out, (size_t)64 << 20);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < DOCS; i++) {
        char job[TD_UUID_SIZE];
        td_track_ctx tc;
        td_docx_opts o = {.value_hook = td_track_value_hook,
                          .hook_names = td_trackvars_mask(vars),
                          .link_hook = td_track_link_hook,
                          .title = "Zoë Lindqvist – resume",
                          .creator = "Zoë Lindqvist"};
        td_docx_stats ds = {0};
        td_tmpl_error te = {0};

        td_uuid_v4(job);
        td_track_ctx_init(&tc, tr, vars, job, NULL, "resume", true);
        td_track_ctx_set_data(&tc, data);
        o.hook_ud = o.link_ud = &tc;
        td_buf_reset(&out);
        if (td_docx_render(tpl.data, tpl.len, data, &o, &out, &ds, &te) != 0 ||
            td_docx_check(out.data, out.len, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "bench/docx: document %d failed: %s %s\n", i, te.message, err);
            return 1;
        }
        bytes += out.len;
        links += tc.urls_tracked;
        failures += tc.failures;
        td_docx_stats_release(&ds);
        td_track_ctx_release(&tc);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    total = secs(&a, &b);
    printf("docx: %d tracked résumés for %d jobs from templates/resume.docx (SQLite "
           "synchronous=FULL)\n",
           DOCS, DOCS);
    printf("  total %.3f s  %.1f documents/s  %.2f ms/document  %zu links made (%zu failed), "
           "%.0f KB per document\n",
           total, DOCS / total, total * 1000 / DOCS, links, failures, (double)bytes / DOCS / 1024);
    printf("summary: docx 100 tracked documents in %.3f s (goal < 1 s: %s)\n", total,
           total < 1.0 ? "met" : "missed");
    td_tracker_free(tr);
    td_store_close(st);
    td_trackvars_free(vars);
    json_decref(data);
    json_decref(raw);
    td_buf_release(&tpl);
    td_buf_release(&data_text);
    td_buf_release(&out);
    {
        char p[300];
        const char *suffix[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s%s", db, suffix[i]);
            unlink(p);
        }
        rmdir(dir);
    }
    return 0;
}
