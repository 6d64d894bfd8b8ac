/* http: the status page at / — a table a person reads at a glance, and three
 * plots (freshness, lag, throughput) over the last hour drawn as inline SVG
 * from the registry's history ring. No script, no stylesheet or font from
 * elsewhere: the page is one self-contained document. */
#include "http.h"

#include <inttypes.h>
#include <math.h>

/* Plot geometry, SVG user units. */
#define W 640
#define H 180
#define ML 56   /* left margin: y labels */
#define MR 12
#define MT 24   /* top: title */
#define MB 22   /* bottom: x labels */

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                     "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
#define N_COLORS (sizeof colors / sizeof *colors)

int dc_http_html_text(dc_buf *out, const char *s, dc_err *err)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': DC_TRY(dc_buf_puts(out, "&amp;", err)); break;
        case '<': DC_TRY(dc_buf_puts(out, "&lt;", err)); break;
        case '>': DC_TRY(dc_buf_puts(out, "&gt;", err)); break;
        case '"': DC_TRY(dc_buf_puts(out, "&quot;", err)); break;
        default: DC_TRY(dc_buf_putc(out, (uint8_t)*s, err));
        }
    }
    return 0;
}

/* 1, 2 or 5 times a power of ten, at least v (the y axis' top). */
static double nice_max(double v)
{
    if (!(v > 0)) return 1;
    const double p = pow(10, floor(log10(v)));
    const double steps[] = {1, 2, 5, 10};
    for (size_t i = 0; i < 4; i++)
        if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
}

static bool drawn(const dc_http_series *s, size_t i, double t0, double t1)
{
    return i < s->n && !isnan(s->y[i]) && s->t[i] >= t0 && s->t[i] <= t1;
}

/* One polyline per run of points between gaps; a lone point is a dot. */
static int polyline(dc_buf *out, const dc_http_series *s, const char *color, double t0,
                    double t1, double ymax, dc_err *err)
{
    const double pw = W - ML - MR, ph = H - MT - MB;
    for (size_t i = 0; i < s->n; i++) {
        if (!drawn(s, i, t0, t1)) continue;
        const bool alone = !drawn(s, i + 1, t0, t1);
        if (alone)
            DC_TRY(dc_buf_appendf(out, err, "<circle r=\"2.5\" fill=\"%s\" ", color));
        else
            DC_TRY(dc_buf_appendf(out, err, "<polyline fill=\"none\" stroke=\"%s\" "
                                  "stroke-width=\"1.5\" points=\"", color));
        for (bool first = true; drawn(s, i, t0, t1); i++, first = false) {
            const double x = ML + (s->t[i] - t0) / (t1 - t0) * pw;
            const double y = MT + ph - (s->y[i] < 0 ? 0 : s->y[i]) / ymax * ph;
            if (alone) DC_TRY(dc_buf_appendf(out, err, "cx=\"%.1f\" cy=\"%.1f\"/>\n", x, y));
            else DC_TRY(dc_buf_appendf(out, err, "%s%.1f,%.1f", first ? "" : " ", x, y));
        }
        if (!alone) DC_TRY(dc_buf_puts(out, "\"/>\n", err));
    }
    return 0;
}

static int axes(dc_buf *out, const char *title, const char *unit, double ymax, double t0,
                double t1, dc_err *err)
{
    const int px = W - ML - MR, py = H - MT - MB;
    DC_TRY(dc_buf_appendf(out, err, "<text x=\"%d\" y=\"16\" class=\"t\">", ML));
    DC_TRY(dc_http_html_text(out, title, err));
    DC_TRY(dc_buf_puts(out, " (", err));
    DC_TRY(dc_http_html_text(out, unit, err));
    DC_TRY(dc_buf_puts(out, ")</text>\n", err));
    DC_TRY(dc_buf_appendf(out, err, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                          "fill=\"#fafafa\" stroke=\"#999\"/>\n", ML, MT, px, py));
    for (int i = 0; i <= 2; i++) { /* y grid at 0, half, top */
        const double y = MT + py - py * i / 2.0;
        DC_TRY(dc_buf_appendf(out, err, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                              "stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" class=\"a\" "
                              "text-anchor=\"end\">%g</text>\n", ML, y, W - MR, y, ML - 4,
                              y + 4, ymax * i / 2.0));
    }
    const bool minutes = t1 - t0 >= 300; /* else seconds */
    for (int i = 0; i < 4; i++) { /* x labels: time before now */
        const double x = ML + px * i / 4.0, ago = (t1 - t0) * (4 - i) / 4.0;
        DC_TRY(dc_buf_appendf(out, err, "<text x=\"%.1f\" y=\"%d\" class=\"a\" "
                              "text-anchor=\"middle\">-%.0f %s</text>\n", x, H - 6,
                              minutes ? ago / 60 : ago, minutes ? "min" : "s"));
    }
    DC_TRY(dc_buf_appendf(out, err, "<text x=\"%d\" y=\"%d\" class=\"a\" "
                          "text-anchor=\"end\">now</text>\n", W - MR, H - 6));
    return 0;
}

static int legend(dc_buf *out, const dc_http_series *series, size_t n, dc_err *err)
{
    for (size_t i = 0; i < n; i++) {
        DC_TRY(dc_buf_appendf(out, err, "<text x=\"%d\" y=\"%zu\" class=\"a\" fill=\"%s\" "
                              "text-anchor=\"end\">", W - MR - 4, (size_t)MT + 12 + 12 * i,
                              colors[i % N_COLORS]));
        DC_TRY(dc_http_html_text(out, series[i].name, err));
        DC_TRY(dc_buf_puts(out, "</text>\n", err));
    }
    return 0;
}

int dc_http_svg_plot(dc_buf *out, const char *title, const char *unit,
                     const dc_http_series *series, size_t n_series, double t0, double t1,
                     dc_err *err)
{
    if (!(t1 > t0)) t1 = t0 + 1;
    double top = 0;
    for (size_t i = 0; i < n_series; i++)
        for (size_t j = 0; j < series[i].n; j++)
            if (!isnan(series[i].y[j]) && series[i].y[j] > top) top = series[i].y[j];
    const double ymax = nice_max(top);
    DC_TRY(dc_buf_appendf(out, err, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                          "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" class=\"plot\" "
                          "aria-label=\"", W, H, W, H));
    DC_TRY(dc_http_html_text(out, title, err));
    DC_TRY(dc_buf_puts(out, "\">\n", err));
    DC_TRY(axes(out, title, unit, ymax, t0, t1, err));
    for (size_t i = 0; i < n_series; i++)
        DC_TRY(polyline(out, &series[i], colors[i % N_COLORS], t0, t1, ymax, err));
    DC_TRY(legend(out, series, n_series, err));
    return dc_buf_puts(out, "</svg>\n", err);
}
