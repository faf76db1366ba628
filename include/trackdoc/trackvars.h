/* Tracked URL variables: template variables (calendly_url, linkedin_url, portfolio_url, ...)
 * whose values become the tracked link of the job a document is rendered for. A render keeps
 * a td_track_ctx; its value hook plugs into td_tmpl_render. Tracking never fails a document:
 * when the tracker fails, the original URL is rendered and the failure is counted and logged. */
#ifndef TRACKDOC_TRACKVARS_H
#define TRACKDOC_TRACKVARS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "trackdoc/buf.h"
#include "trackdoc/link.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default table: calendly_url=Calendly, linkedin_url=LinkedIn, portfolio_url=Portfolio. */
#define TD_TRACKVARS_DEFAULT "calendly_url=Calendly,linkedin_url=LinkedIn,portfolio_url=Portfolio"
#define TD_TRACKVAR_NAME_SIZE 65 /* variable names: at most 64 bytes */
#define TD_TRACKVARS_MAX 64
/* The default hyperlink rules: links to these are tracked wherever they appear in a document. */
#define TD_TRACK_RULES_DEFAULT "calendly.com/*=Calendly,linkedin.com/in/*=LinkedIn"
#define TD_TRACK_RULES_MAX 32
#define TD_TRACK_DATA_URLS_MAX 32

typedef struct td_trackvars td_trackvars;

/* Makes the default table. Returns 0 or TD_ENOMEM; free with td_trackvars_free. */
int td_trackvars_new(td_trackvars **out);

/* Frees a table; NULL is a no-op. */
void td_trackvars_free(td_trackvars *v);

/* Adds or replaces entries from "var=Function,var2=Function2" (blanks around items ignored).
 * A variable is 1-64 letters, digits or '_'; a function as for link functions. On TD_EINVAL
 * err (errsz bytes) names the bad item and nothing was added. */
int td_trackvars_parse(td_trackvars *v, const char *spec, char *err, size_t errsz);

/* Replaces the hyperlink rules with "pattern=Function,..." where a pattern is a host (its
 * subdomains match too) and a path, ending in '*' for a prefix: "calendly.com/<star>",
 * "linkedin.com/in/<star>", "jane.example.com/portfolio". "none" or "" leaves no rule. On
 * TD_EINVAL err names the bad item and the rules are unchanged. */
int td_trackvars_parse_rules(td_trackvars *v, const char *spec, char *err, size_t errsz);

/* Returns the link function of a variable, or NULL. name may be dotted ("personal.calendly_url"):
 * its last segment is the variable. */
const char *td_trackvars_function(const td_trackvars *v, const char *name);

/* Returns the td_tmpl_render_opts.hook_names mask of the table's variables. */
uint64_t td_trackvars_mask(const td_trackvars *v);

/* Writes into out (outsz bytes) the comma-separated list functions plus every function of v
 * that it lacks (compared in any case), so that the tracker accepts them.
 * Returns 0 or TD_ETOOBIG. */
int td_trackvars_functions(const td_trackvars *v, const char *functions, char *out, size_t outsz);

/* One tracked variable of a render. */
typedef struct td_track_link {
    char variable[TD_TRACKVAR_NAME_SIZE];
    char link_function[TD_LINK_FUNCTION_SIZE];
    char original_url[TD_LINK_URL_SIZE];
    char tracking_id[TD_LINK_ID_SIZE]; /* "" when tracking this value failed */
    char redirect_url[TD_LINK_REDIRECT_SIZE];
    int error; /* 0, or the tracker's error code */
} td_track_link;

/* The tracking state of one render. Fill it with td_track_ctx_init; read the results after the
 * render; release it with td_track_ctx_release. */
typedef struct td_track_ctx {
    td_tracker *tracker; /* NULL when tracking is unavailable: every value is a failure */
    const td_trackvars *vars;
    const char *job_id;         /* NULL or "" */
    const char *application_id; /* NULL or "" */
    const char *link_type;      /* recorded on new links, e.g. "resume"; may be NULL */
    bool enabled;               /* tracking switched on and a job or application given */
    size_t urls_tracked;        /* distinct (variable, URL) pairs that became tracked links */
    size_t failures;            /* distinct pairs whose tracking failed */
    td_track_link *links;       /* every tracked or failed pair, in order of first use */
    size_t nlinks, cap;
    struct td_track_data_url { /* the data's trackable URLs (td_track_ctx_set_data) */
        const char *var, *fn, *url;
    } data_urls[TD_TRACK_DATA_URLS_MAX];
    size_t ndata;
} td_track_ctx;

/* Prepares c. Tracking is active when enabled is true and job_id or application_id is given;
 * otherwise every trackable variable renders its original URL (what users rely on). */
void td_track_ctx_init(td_track_ctx *c, td_tracker *tracker, const td_trackvars *vars,
                       const char *job_id, const char *application_id, const char *link_type,
                       bool enabled);

/* Learns the trackable URLs in data (values of keys named like tracked variables, at any
 * depth), which td_track_link_hook then recognises in hyperlinks. data must outlive c. */
void td_track_ctx_set_data(td_track_ctx *c, const json_t *data);

/* The hyperlink hook of td_docx_render (ud is a td_track_ctx): a link target that is one of
 * the data's trackable URLs, or matches a rule, is replaced by the tracked link (returns 1);
 * other targets, and links that are tracked links already, are kept (0); a tracking failure
 * keeps the target and returns the error. */
int td_track_link_hook(void *ud, const char *url, td_buf *out);

/* Frees the results of c. */
void td_track_ctx_release(td_track_ctx *c);

/* The td_tmpl value hook (ud is a td_track_ctx): for a trackable variable with a value, writes
 * the tracked redirect URL into out and returns 1; returns 0 to keep the value; returns a
 * negative code when tracking failed (the engine then renders the original URL). */
int td_track_value_hook(void *ud, const char *name, const char *value, size_t len, td_buf *out);

/* Returns the render statistics as JSON: tracking_enabled, urls_tracked, tracking_failures,
 * links [{variable, link_function, tracking_id, redirect_url, original_url[, error]}]; a new
 * reference or NULL when out of memory. */
json_t *td_track_ctx_json(const td_track_ctx *c);

#ifdef __cplusplus
}
#endif
#endif
