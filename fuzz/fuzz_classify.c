/* libFuzzer target for the click classifier: the input is a user agent. td_classify_ua must give
 * exactly the answer of trying every pattern in order (td__classify_ua_unfiltered): a literal
 * the prefilter wrongly thinks required would show here as a missed pattern. */
#include "core/common.h"

#include "link/classify_int.h"
#include "trackdoc/classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Judges one input both ways; aborts when they differ. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static td_classifier *c;
    char ua[4096], fast[TD_CLASS_REASON_SIZE], slow[TD_CLASS_REASON_SIZE];
    td_click_class a, b;

    if (!c && td_classifier_new(NULL, &c, NULL, 0) != 0)
        abort();
    size = TD_MIN(size, sizeof ua - 1);
    memcpy(ua, data, size);
    ua[size] = '\0';
    a = td_classify_ua(c, ua, fast, sizeof fast);
    b = td__classify_ua_unfiltered(c, ua, slow, sizeof slow);
    if (a != b || strcmp(fast, slow) != 0) {
        fprintf(stderr, "prefilter: %s (%s), every pattern: %s (%s)\n", td_click_class_name(a),
                fast, td_click_class_name(b), slow);
        abort();
    }
    return 0;
}
