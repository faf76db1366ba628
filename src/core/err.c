/* Error code names and messages. */
#include "trackdoc/err.h"

/* Returns the message for rc. */
const char *td_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "success";
#define TD__ERR_MSG(name, val, code, msg)                                                          \
    case name:                                                                                     \
        return msg;
        TD_ERRNO_MAP(TD__ERR_MSG)
#undef TD__ERR_MSG
    }
    return "unknown error";
}

/* Returns the machine-readable code for rc. */
const char *td_errcode(int rc)
{
    switch (rc) {
    case 0:
        return "ok";
#define TD__ERR_CODE(name, val, code, msg)                                                         \
    case name:                                                                                     \
        return code;
        TD_ERRNO_MAP(TD__ERR_CODE)
#undef TD__ERR_CODE
    }
    return "internal_error";
}
