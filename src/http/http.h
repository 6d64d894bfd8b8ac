/*
 * http: the daemon's HTTP endpoint (issue 11), through libmicrohttpd.
 *
 *   /metrics  Prometheus text format 0.0.4 (deltacdc_ prefix, units in
 *             names, _total counters, histograms with _bucket/_sum/_count)
 *   /status   the same per table as JSON
 *   /healthz  200 "ok" while every table is healthy, 503 naming the tables
 *             that stopped on an error
 *   /         a status page: one line per table, and plots of freshness, lag
 *             and throughput over the last hour as inline SVG (nothing is
 *             loaded from outside the daemon)
 *
 * Every response is rendered from a dc_metrics_snap (a copy of the registry),
 * so the renderers below are pure and the server thread never holds a lock
 * of the ingest loop while formatting. Bound to 127.0.0.1 unless an address
 * is configured; with a token every request must carry
 * "Authorization: Bearer <token>" (401 otherwise).
 *
 * Sits on top with daemon/: depends on metrics/, json/ and common/.
 */
#ifndef DC_HTTP_H
#define DC_HTTP_H

#include "../common/dc_common.h"
#include "../metrics/metrics.h"

/* ------------------------------------------------------- renderers (pure) */

/* Prometheus text exposition format 0.0.4. */
int dc_http_prom(dc_buf *out, const dc_metrics_snap *s, dc_err *err);
/* Label value escaping of the text format: \ " and newline. */
int dc_http_prom_label(dc_buf *out, const char *v, dc_err *err);
/* /status body. */
int dc_http_status_json(dc_buf *out, const dc_metrics_snap *s, dc_err *err);
/* True when no table has failed. */
bool dc_http_healthy(const dc_metrics_snap *s);
/* /healthz body: "ok\n", or one line per failed table with its error. */
int dc_http_healthz(dc_buf *out, const dc_metrics_snap *s, dc_err *err);
/* The status page (HTML with inline CSS and SVG). */
int dc_http_page(dc_buf *out, const dc_metrics_snap *s, dc_err *err);

/* One line of a plot: n points (t unix seconds, y); NaN y values are gaps. */
typedef struct dc_http_series {
    const char *name;       /* legend text (escaped when written) */
    const double *t;
    const double *y;
    size_t n;
} dc_http_series;

/* An <svg> plot of the series over [t0, t1] with a y axis from 0 to a round
 * maximum; `title` and `unit` label it. */
int dc_http_svg_plot(dc_buf *out, const char *title, const char *unit,
                     const dc_http_series *series, size_t n_series, double t0, double t1,
                     dc_err *err);
/* Text with & < > " escaped for HTML and SVG. */
int dc_http_html_text(dc_buf *out, const char *s, dc_err *err);

/* ----------------------------------------------------------------- server */

/* "HOST:PORT" (IPv4 literal or localhost), or "PORT" alone (127.0.0.1). */
typedef struct dc_http_addr {
    uint8_t ip[4];          /* network order */
    uint16_t port;
} dc_http_addr;
int dc_http_parse_listen(dc_http_addr *out, const char *s, dc_err *err);

typedef struct dc_http_opts {
    const char *listen;     /* http.listen */
    const char *token;      /* http.token, NULL or "" for none (a secret: never logged) */
} dc_http_opts;

typedef struct dc_http dc_http;

/* Starts the server on its own thread; m must outlive it. A port in use is
 * an error naming the address. */
int dc_http_start(dc_http **out, const dc_http_opts *o, dc_metrics *m, dc_err *err);
/* The port bound (the configured one, or the one the kernel chose for 0). */
uint16_t dc_http_port(const dc_http *h);
/* Stops the server (waits for requests in flight). NULL is a no-op. */
void dc_http_free(dc_http *h);

#endif /* DC_HTTP_H */
