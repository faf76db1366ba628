/* Internals of src/link/classify.c that its unit test uses. */
#ifndef TD_LINK_CLASSIFY_INT_H
#define TD_LINK_CLASSIFY_INT_H

#include "trackdoc/classify.h"

/* Judges a user agent like td_classify_ua, but tries every pattern in order instead of the
 * ones the prefilter names: the reference that shows the prefilter changes no answer. */
td_click_class td__classify_ua_unfiltered(const td_classifier *c, const char *ua, char *reason,
                                          size_t n);

#endif
