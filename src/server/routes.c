/* The route table: every path the server answers, in match order (literal paths before
 * patterns that would also match them). Add a route here and its handler in handler_*.c. */
#include "http.h"

const struct td_route td__routes[] = {
    {"/healthz", M_GET | M_HEAD, 0, td__handle_health},
    {"/track/health", M_GET | M_HEAD, 0, td__handle_health},
    {"/track/{id}", M_GET | M_HEAD, R_RL_TRACK, td__handle_track},
    {"/api/link-tracking/create", M_POST, R_AUTH | R_RL_API | R_BODY, td__handle_link_create},
    {"/api/link-tracking/record-click", M_POST, R_AUTH | R_RL_API | R_BODY,
     td__handle_record_click},
    {"/api/link-tracking/links", M_GET, R_AUTH | R_RL_API, td__handle_link_list},
    {"/api/link-tracking/links/{id}", M_GET, R_AUTH | R_RL_API, td__handle_link_get},
    {"/api/link-tracking/links/{id}", M_PATCH, R_AUTH | R_RL_API | R_BODY, td__handle_link_patch},
    {"/api/link-tracking/links/{id}/deactivate", M_POST, R_AUTH | R_RL_API,
     td__handle_link_deactivate},
    {"/api/link-tracking/links/{id}/activate", M_POST, R_AUTH | R_RL_API, td__handle_link_activate},
    {"/api/link-tracking/analytics/{id}", M_GET, R_AUTH | R_RL_API, td__handle_analytics},
    {"/api/link-tracking/jobs/{job_id}/summary", M_GET, R_AUTH | R_RL_API, td__handle_job_summary},
    {"/api/link-tracking/applications/{application_id}/summary", M_GET, R_AUTH | R_RL_API,
     td__handle_application_summary},
    {"/api/link-tracking/report", M_GET, R_AUTH | R_RL_API, td__handle_report},
    {"/api/link-tracking/conversions", M_GET, R_AUTH | R_RL_API, td__handle_conversion_list},
    {"/api/candidates", M_POST, R_AUTH | R_RL_API | R_BODY, td__handle_candidate_create},
    {"/api/candidates", M_GET, R_AUTH | R_RL_API, td__handle_candidate_list},
    {"/api/candidates/{user_id}", M_GET, R_AUTH | R_RL_API, td__handle_candidate_get},
    {"/api/candidates/{user_id}", M_PUT, R_AUTH | R_RL_API | R_BODY, td__handle_candidate_put},
    {"/api/candidates/{user_id}", M_PATCH, R_AUTH | R_RL_API | R_BODY, td__handle_candidate_patch},
    {"/api/candidates/{user_id}", M_DELETE, R_AUTH | R_RL_API, td__handle_candidate_delete},
    {"/resume", M_POST, R_AUTH | R_RL_API | R_BODY | R_BIG_BODY, td__handle_resume},
    {"/cover-letter", M_POST, R_AUTH | R_RL_API | R_BODY | R_BIG_BODY, td__handle_cover_letter},
    {"/download/{filename}", M_GET | M_HEAD, R_AUTH | R_RL_API, td__handle_download},
    /* Signed by Calendly instead of an API key; bodies up to 1 MiB (long answers to booking
     * questions), read raw and verified byte for byte before they are parsed. */
    {"/webhooks/calendly", M_POST, R_RL_API | R_BODY | R_BIG_BODY, td__handle_calendly_webhook},
    {"/dashboard", M_GET, R_RL_API | R_SESSION, td__handle_dash_overview},
    {"/dashboard/login", M_GET, R_RL_API, td__handle_dash_login_page},
    {"/dashboard/login", M_POST, 0, td__handle_dash_login},
    {"/dashboard/logout", M_POST, R_RL_API, td__handle_dash_logout},
    {"/dashboard/jobs/{job_id}", M_GET, R_RL_API | R_SESSION, td__handle_dash_job},
    {"/dashboard/links/{id}", M_GET, R_RL_API | R_SESSION, td__handle_dash_link},
    {"/dashboard/assets/{name}", M_GET, 0, td__handle_dash_asset},
};

const size_t td__nroutes = TD_ARRAY_SIZE(td__routes);
