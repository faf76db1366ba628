/* Charts of the dashboard as inline SVG, drawn on the server from click aggregates: no chart
 * library and no script. Colours come from the stylesheet through class names. */
#include "http.h"

#include "core/time.h"

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Writes "Mar 4" for a "YYYY-MM-DD" date into out (n bytes). */
static void short_date(const char *date, char *out, size_t n)
{
    int m = (date[5] - '0') * 10 + (date[6] - '0');
    int d = (date[8] - '0') * 10 + (date[9] - '0');

    if (strlen(date) < 10 || m < 1 || m > 12)
        snprintf(out, n, "%.10s", date);
    else
        snprintf(out, n, "%s %d", months[m - 1], d);
}

/* Picks a round step for about four grid lines up to max (1, 2, 5 times a power of ten). */
static int64_t nice_step(int64_t max)
{
    int64_t mag = 1;

    if (max <= 4)
        return 1;
    while (mag <= INT64_MAX / 10 && mag * 10 <= max / 4)
        mag *= 10;
    if (mag * 1 * 4 >= max)
        return mag;
    if (mag * 2 * 4 >= max)
        return 2 * mag;
    if (mag * 5 * 4 >= max)
        return 5 * mag;
    return 10 * mag;
}

/* Appends a bar chart of clicks per day: human clicks in the accent colour, filtered ones
 * stacked above in grey. width and height are the viewBox; id makes the title ids unique. */
int td__svg_daily(td_buf *b, const td_svg_day *days, size_t n, int width, int height,
                  const char *id, const char *cls)
{
    const double left = 40, right = 8, top = 10, bottom = 26;
    double pw = width - left - right, ph = height - top - bottom, slot, bw;
    int64_t max = 0, step, ymax, total_h = 0, total_f = 0;
    size_t best = 0, every;
    int rc = 0;

    if (n == 0)
        return td_buf_printf(b, "<p class=\"empty\">No days to show.</p>");
    for (size_t i = 0; i < n; i++) {
        int64_t t = days[i].human + days[i].filtered;
        total_h += days[i].human;
        total_f += days[i].filtered;
        if (t > max)
            max = t;
        if (days[i].human > days[best].human)
            best = i;
    }
    step = nice_step(max);
    ymax = TD_MAX(step, ((max + step - 1) / step) * step);
    if (step == 1 && ymax < 4)
        ymax = 4; /* a near-empty chart still gets a scale */
    slot = pw / (double)n;
    bw = slot > 6 ? slot * 0.72 : slot * 0.9;
    /* At most about one label per 64 units of width, and never more than one per bar. */
    every = (size_t)((n * 64 + (size_t)pw - 1) / (size_t)pw);
    if (every < 1)
        every = 1;
    rc = td_buf_printf(
        b,
        "<svg class=\"chart %s\" viewBox=\"0 0 %d %d\" role=\"img\" "
        "aria-labelledby=\"%s-t %s-d\" preserveAspectRatio=\"xMidYMid meet\">"
        "<title id=\"%s-t\">Clicks per day</title>"
        "<desc id=\"%s-d\">%" PRId64 " human and %" PRId64 " filtered clicks from %s to %s",
        cls, width, height, id, id, id, id, total_h, total_f, days[0].date, days[n - 1].date);
    if (!rc && total_h > 0)
        rc = td_buf_printf(b, "; the most human clicks, %" PRId64 ", on %s", days[best].human,
                           days[best].date);
    if (!rc)
        rc = td_buf_adds(b, ".</desc>");
    /* Grid and y labels. */
    for (int64_t v = 0; !rc && v <= ymax; v += step) {
        double y = top + ph - ph * (double)v / (double)ymax;
        rc = td_buf_printf(b,
                           "<line class=\"grid%s\" x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" "
                           "y2=\"%.1f\"/><text class=\"ylab\" x=\"%.0f\" y=\"%.1f\">%" PRId64
                           "</text>",
                           v == 0 ? " base" : "", left, left + pw, y, y, left - 6, y + 4, v);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        double x = left + slot * (double)i + (slot - bw) / 2;
        double hh = ph * (double)days[i].human / (double)ymax;
        double hf = ph * (double)days[i].filtered / (double)ymax;
        double base = top + ph;
        char label[16];

        rc = td_buf_printf(b,
                           "<g><title>%s: %" PRId64 " human, %" PRId64 " filtered</title>"
                           "<rect class=\"hit\" x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" "
                           "height=\"%.0f\"/>",
                           days[i].date, days[i].human, days[i].filtered, left + slot * (double)i,
                           top, slot, ph);
        if (!rc && days[i].human > 0)
            rc = td_buf_printf(b,
                               "<rect class=\"h\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                               "height=\"%.1f\"/>",
                               x, base - hh, bw, hh);
        if (!rc && days[i].filtered > 0)
            rc = td_buf_printf(b,
                               "<rect class=\"f\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                               "height=\"%.1f\"/>",
                               x, base - hh - hf, bw, hf);
        if (!rc)
            rc = td_buf_adds(b, "</g>");
        /* Labels count back from today, so that the last day always has one. */
        if (!rc && (n - 1 - i) % every == 0) {
            /* A label that would stick out on the right ends at the edge instead. */
            double cx = x + bw / 2, half;
            short_date(days[i].date, label, sizeof label);
            half = (double)strlen(label) * 3.3;
            rc = td_buf_printf(b, "<text class=\"xlab%s\" x=\"%.1f\" y=\"%.0f\">%s</text>",
                               cx + half > width - 1 ? " end" : "",
                               cx + half > width - 1 ? width - 1.0 : cx, top + ph + 17, label);
        }
    }
    if (!rc)
        rc = td_buf_adds(b, "</svg>");
    return rc;
}

/* Appends a small horizontal bar of value out of max (a share, for tables). */
int td__svg_meter(td_buf *b, int64_t value, int64_t max)
{
    double w = max > 0 ? 100.0 * (double)value / (double)max : 0;

    if (value > 0 && w < 1)
        w = 1;
    return td_buf_printf(b,
                         "<svg class=\"meter\" viewBox=\"0 0 100 8\" preserveAspectRatio=\"none\" "
                         "aria-hidden=\"true\" focusable=\"false\"><rect class=\"track\" "
                         "width=\"100\" height=\"8\" rx=\"2\"/><rect class=\"h\" width=\"%.1f\" "
                         "height=\"8\" rx=\"2\"/></svg>",
                         w);
}
