/* http: the status page's document — one row per table, then one SVG plot
 * per measure with a line per table. Refreshes itself every 10 s with a
 * meta tag (no script). */
#include "http.h"

#include <inttypes.h>
#include <math.h>

static const char head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"refresh\" content=\"10\">\n<title>deltacdc status</title>\n"
    "<style>body{font:14px sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    ".ok{color:#2a7d2a}.bad{color:#c62828;font-weight:bold}.err{color:#c62828;text-align:left}"
    "svg.plot{display:block;margin-bottom:1em}svg .t{font:bold 13px sans-serif}"
    "svg .a{font:11px sans-serif}</style></head><body>\n";

/* Measures plotted, in order. */
enum { M_FRESH = 0, M_LAG = 1, M_RATE = 2, N_MEASURES = 3 };
static const char *const m_title[N_MEASURES] = {"Freshness", "Consumer lag", "Throughput"};
static const char *const m_unit[N_MEASURES] = {"seconds", "records", "records/s"};

static int row(dc_buf *out, const dc_metrics_tstate *t, double now, dc_err *err)
{
    const bool failed = t->state == DC_METRICS_FAILED;
    DC_TRY(dc_buf_puts(out, "<tr class=\"table-row\"><td>", err));
    DC_TRY(dc_http_html_text(out, t->path, err));
    bool late = false; /* the freshness monitor's last verdict on a partition */
    for (size_t i = 0; i < t->n_parts; i++) late |= t->parts[i].mon_ok == 0;
    DC_TRY(dc_buf_appendf(out, err, "</td><td class=\"%s\">%s%s</td><td>%" PRId64 "</td>",
                          failed || late ? "bad" : "ok", dc_metrics_state_names[t->state],
                          late ? ", late" : "", t->version));
    const int64_t lag = dc_metrics_lag(t);
    if (lag >= 0) DC_TRY(dc_buf_appendf(out, err, "<td>%" PRId64 "</td>", lag));
    else DC_TRY(dc_buf_puts(out, "<td>-</td>", err));
    DC_TRY(dc_buf_appendf(out, err, "<td>%.1f s</td><td>%" PRIu64 "</td><td>%" PRIu64 " / %"
                          PRIu64 " / %" PRIu64 " / %" PRIu64 "</td>",
                          dc_metrics_freshness(t, now), t->records_in, t->inserted, t->updated,
                          t->deleted, t->truncated));
    if (t->last_commit_t > 0)
        DC_TRY(dc_buf_appendf(out, err, "<td>%.0f s ago</td>", now - t->last_commit_t));
    else
        DC_TRY(dc_buf_puts(out, "<td>never</td>", err));
    DC_TRY(dc_buf_puts(out, "<td class=\"err\">", err));
    if (failed) DC_TRY(dc_http_html_text(out, t->error, err));
    return dc_buf_puts(out, "</td></tr>\n", err);
}

static int tables(dc_buf *out, const dc_metrics_snap *s, dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "<table id=\"tables\"><thead><tr><th>table</th><th>state</th>"
                       "<th>version</th><th>lag (records)</th><th>freshness</th>"
                       "<th>records in</th><th>inserted / updated / deleted / truncated</th>"
                       "<th>last commit</th><th>error</th></tr></thead><tbody>\n", err));
    for (size_t i = 0; i < s->n_tables; i++) DC_TRY(row(out, &s->tables[i], s->now, err));
    return dc_buf_puts(out, "</tbody></table>\n", err);
}

/* The ring of table t as (time, value) points of measure m, oldest first,
 * then the value at `now` (so a line shows from the first sample on). */
static size_t points(double *ts, double *ys, const dc_metrics_tstate *t, int m, double now)
{
    dc_metrics_sample at_now = {now, dc_metrics_freshness(t, now), dc_metrics_lag(t),
                                t->records_in};
    for (size_t j = 0; j <= t->ring_n; j++) {
        const dc_metrics_sample *p = j < t->ring_n
                                         ? &t->ring[(t->ring_head + j) % DC_METRICS_HISTORY]
                                         : &at_now;
        ts[j] = p->t;
        if (m == M_FRESH) {
            ys[j] = p->freshness_s;
        } else if (m == M_LAG) {
            ys[j] = p->lag < 0 ? NAN : (double)p->lag;
        } else if (j == 0) {
            ys[j] = NAN; /* a rate needs two samples */
        } else {
            const dc_metrics_sample *q = &t->ring[(t->ring_head + j - 1) % DC_METRICS_HISTORY];
            ys[j] = p->t > q->t ? (double)(p->records_in - q->records_in) / (p->t - q->t) : NAN;
        }
    }
    return t->ring_n + 1;
}

static int plot(dc_buf *out, const dc_metrics_snap *s, int m, dc_err *err)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_tables; i++) n += s->tables[i].ring_n + 1;
    double *ts = dc_calloc(n ? n : 1, sizeof *ts), *ys = dc_calloc(n ? n : 1, sizeof *ys);
    dc_http_series *series = dc_calloc(s->n_tables ? s->n_tables : 1, sizeof *series);
    int rc = ts && ys && series ? 0 : dc_err_set(err, DC_ENOMEM, "http: out of memory");
    size_t at = 0;
    for (size_t i = 0; rc == 0 && i < s->n_tables; i++) {
        const dc_metrics_tstate *t = &s->tables[i];
        const size_t k = points(ts + at, ys + at, t, m, s->now);
        series[i] = (dc_http_series){t->path, ts + at, ys + at, k};
        at += k;
    }
    /* the last hour, or since the first sample when that is shorter (at least a
     * minute): a daemon that just started shows its first minutes readably */
    double t0 = s->now;
    for (size_t i = 0; i < at; i++)
        if (ts[i] < t0) t0 = ts[i];
    if (t0 < s->now - 3600) t0 = s->now - 3600;
    if (t0 > s->now - 60) t0 = s->now - 60;
    if (rc == 0)
        rc = dc_http_svg_plot(out, m_title[m], m_unit[m], series, s->n_tables, t0, s->now, err);
    dc_free(ts);
    dc_free(ys);
    dc_free(series);
    return rc;
}

int dc_http_page(dc_buf *out, const dc_metrics_snap *s, dc_err *err)
{
    DC_TRY(dc_buf_puts(out, head, err));
    const bool ok = dc_http_healthy(s);
    DC_TRY(dc_buf_appendf(out, err, "<h1>deltacdc</h1>\n<p>%s &middot; up %.0f s &middot; "
                          "%zu table%s &middot; <a href=\"/metrics\">/metrics</a> "
                          "<a href=\"/status\">/status</a> <a href=\"/healthz\">/healthz</a></p>\n",
                          ok ? "<span class=\"ok\">healthy</span>"
                             : "<span class=\"bad\">a table failed</span>",
                          s->now - s->started, s->n_tables, s->n_tables == 1 ? "" : "s"));
    DC_TRY(tables(out, s, err));
    DC_TRY(dc_buf_puts(out, "<h2>The last hour</h2>\n", err));
    for (int m = 0; m < N_MEASURES; m++) DC_TRY(plot(out, s, m, err));
    return dc_buf_puts(out, "</body></html>\n", err);
}
