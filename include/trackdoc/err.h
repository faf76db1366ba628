/* Error codes shared by every trackdoc module.
 * Functions return 0 on success and one of these negative codes on failure. */
#ifndef TRACKDOC_ERR_H
#define TRACKDOC_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X-macro: name, value, short machine code (used in JSON error bodies), message. */
#define TD_ERRNO_MAP(X)                                                                            \
    X(TD_EINVAL, -1, "invalid_argument", "invalid argument")                                       \
    X(TD_ENOMEM, -2, "out_of_memory", "out of memory")                                             \
    X(TD_ETOOBIG, -3, "too_big", "size limit exceeded")                                            \
    X(TD_ENOTFOUND, -4, "not_found", "not found")                                                  \
    X(TD_EGONE, -5, "link_inactive", "link is deactivated")                                        \
    X(TD_EEXPIRED, -6, "link_expired", "link has expired")                                         \
    X(TD_EIO, -7, "io_error", "input/output error")                                                \
    X(TD_EDB, -8, "database_error", "database error")                                              \
    X(TD_EBUSY, -9, "busy", "resource busy, try again")                                            \
    X(TD_ENOTSUP, -10, "not_supported", "not supported")                                           \
    X(TD_EURL, -11, "invalid_url", "URL is not an absolute http or https URL with a host")         \
    X(TD_EURL_LONG, -12, "url_too_long", "URL is longer than 2048 bytes")                          \
    X(TD_EURL_CHARS, -13, "url_bad_characters", "URL contains whitespace or control characters")   \
    X(TD_EURL_USERINFO, -14, "url_has_credentials", "URL must not contain user:password@")         \
    X(TD_EURL_DOMAIN, -15, "domain_not_allowed", "URL host is not in the allowed domain list")     \
    X(TD_EFUNCTION, -16, "invalid_link_function",                                                  \
      "link_function is not one of the configured functions")                                      \
    X(TD_EUUID, -17, "invalid_uuid", "not a UUID")                                                 \
    X(TD_ECONFLICT, -18, "conflict", "conflicting state")                                          \
    X(TD_EAUTH, -19, "unauthorized", "missing or invalid API key")                                 \
    X(TD_ESTATE, -20, "bad_state", "object is not in a state that allows this")                    \
    X(TD_ESCHEMA, -21, "schema_too_new", "database schema is newer than this program")             \
    X(TD_ETIME, -22, "invalid_time", "not an ISO 8601 UTC time")                                   \
    X(TD_ESYNTAX, -23, "syntax_error", "syntax error")                                             \
    X(TD_ECLOSED, -24, "shutting_down", "service is shutting down")                                \
    X(TD_EMISSING, -25, "missing_variable", "template variable has no value")                      \
    X(TD_EDEPTH, -26, "too_deep", "nesting or recursion limit exceeded")                           \
    X(TD_EDOCX, -27, "invalid_document", "not a valid .docx document")                             \
    X(TD_EUNSAFE, -28, "unsafe_document", "the document holds content refused for safety")

enum {
#define TD__ERR_ENUM(name, val, code, msg) name = (val),
    TD_ERRNO_MAP(TD__ERR_ENUM)
#undef TD__ERR_ENUM
};

/* Human-readable text for an error code; never NULL, static storage. */
const char *td_strerror(int rc);

/* Short snake_case code for an error code ("invalid_url"); never NULL, static storage. */
const char *td_errcode(int rc);

#ifdef __cplusplus
}
#endif
#endif
