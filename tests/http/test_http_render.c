/* http: the renderers (Prometheus text, /status JSON, /healthz, the status
 * page and its SVG plots) and the listen address parser, on a registry
 * filled through the same calls the daemon makes. */
#include "../test.h"

#include <math.h>

#include "../../src/http/http.h"
#include "../../src/json/dc_json.h"

/* A registry with one table that saw a batch with a truncate, a dead
 * letter, a checkpoint, and one whose name needs escaping. */
static dc_metrics *filled(dc_err *err)
{
    dc_metrics *m = NULL;
    CHECK_OK(dc_metrics_new(&m, err), err);
    dc_metrics_table *t = NULL, *u = NULL;
    CHECK_OK(dc_metrics_table_get(&t, m, "/lake/shop.db/orders", err), err);
    CHECK_OK(dc_metrics_table_get(&u, m, "/odd/a\"b\\c\nd<e>", err), err);
    dc_metrics_pending(t, 1700000000000);
    dc_metrics_batch b = {.records_in = 880, .inserted = 5, .updated = 1, .deleted = 7,
                          .truncated = 873, .committed = true, .batch_s = 0.3,
                          .commit_s = 0.004, .last_event_ts_ms = 1700000001000, .version = 12,
                          .live_files = 3, .live_rows = 5, .dv_rows = 2};
    dc_metrics_batch_done(t, &b);
    CHECK_OK(dc_metrics_part_update(t, "cdc.shop.orders", 2, 880, 4000, 4010, err), err);
    CHECK_OK(dc_metrics_part_update(t, "cdc.shop.orders", 0, 0, 99, -1, err), err);
    dc_metrics_dead_letter(t);
    dc_metrics_maint_done(t, DC_METRICS_CHECKPOINT, 0.02, true);
    dc_metrics_maint_done(t, DC_METRICS_VACUUM, 3, false);
    return m;
}

static const char *render(dc_buf *b, dc_metrics *m, int (*fn)(dc_buf *, const dc_metrics_snap *,
                                                               dc_err *), dc_err *err)
{
    dc_metrics_snap s;
    CHECK_OK(dc_metrics_snapshot(&s, m, err), err);
    dc_buf_reset(b);
    CHECK_OK(fn(b, &s, err), err);
    CHECK_OK(dc_buf_putc(b, 0, err), err);
    dc_metrics_snap_dispose(&s);
    return (const char *)b->data;
}

TEST(http_prom_label_escaping)
{
    dc_err err;
    dc_err_clear(&err);
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    CHECK_OK(dc_http_prom_label(&b, "a\"b\\c\nd", &err), &err);
    CHECK(b.len == 10 && memcmp(b.data, "a\\\"b\\\\c\\nd", 10) == 0);
    dc_buf_dispose(&b);
}

TEST(http_prom_text)
{
    dc_err err;
    dc_err_clear(&err);
    dc_metrics *m = filled(&err);
    dc_buf b;
    dc_buf_init(&b, 1 << 24);
    const char *t = render(&b, m, dc_http_prom, &err);
    CHECK(strstr(t, "deltacdc_rows_truncated_total{table=\"/lake/shop.db/orders\"} 873\n"));
    CHECK(strstr(t, "deltacdc_rows_deleted_total{table=\"/lake/shop.db/orders\"} 7\n"));
    CHECK(strstr(t, "deltacdc_table_dv_hidden_rows{table=\"/lake/shop.db/orders\"} 2\n"));
    CHECK(strstr(t, "deltacdc_dead_letters_total{table=\"/lake/shop.db/orders\"} 1\n"));
    CHECK(strstr(t, "{table=\"/odd/a\\\"b\\\\c\\nd<e>\"}"));
    /* lag only where the watermark is known: 4010 - 4001 = 9 */
    CHECK(strstr(t, "deltacdc_consumer_lag_records{table=\"/lake/shop.db/orders\",topic=\""
                    "cdc.shop.orders\",partition=\"2\"} 9\n"));
    CHECK(!strstr(t, "consumer_lag_records{table=\"/lake/shop.db/orders\",topic=\"cdc.shop."
                     "orders\",partition=\"0\"}"));
    /* histogram: cumulative, +Inf equals _count; 0.3 s falls in le=0.5 and not in le=0.25 */
    CHECK(strstr(t, "deltacdc_batch_duration_seconds_bucket{table=\"/lake/shop.db/orders\","
                    "le=\"0.25\"} 0\n"));
    CHECK(strstr(t, "deltacdc_batch_duration_seconds_bucket{table=\"/lake/shop.db/orders\","
                    "le=\"0.5\"} 1\n"));
    CHECK(strstr(t, "deltacdc_batch_duration_seconds_bucket{table=\"/lake/shop.db/orders\","
                    "le=\"+Inf\"} 1\n"));
    CHECK(strstr(t, "deltacdc_batch_duration_seconds_count{table=\"/lake/shop.db/orders\"} 1\n"));
    CHECK(strstr(t, "deltacdc_maintenance_failures_total{table=\"/lake/shop.db/orders\","
                    "kind=\"vacuum\"} 1\n"));
    /* one HELP and one TYPE per family, and a family's samples together */
    const char *p = strstr(t, "# TYPE deltacdc_rows_inserted_total counter\n");
    CHECK(p && !strstr(p + 1, "# TYPE deltacdc_rows_inserted_total"));
    const char *last = NULL;
    for (const char *q = t; (q = strstr(q, "\ndeltacdc_rows_inserted_total{")); q++) {
        if (last) CHECK(!memchr(last + 1, '#', (size_t)(q - last - 1)));
        last = q;
    }
    CHECK(last != NULL);
    dc_buf_dispose(&b);
    dc_metrics_free(m);
}

TEST(http_hist_buckets)
{
    dc_metrics_hist h;
    memset(&h, 0, sizeof h);
    dc_metrics_hist_observe(&h, 0.001);  /* le is inclusive */
    dc_metrics_hist_observe(&h, 0.0011);
    dc_metrics_hist_observe(&h, -1);     /* counts as 0 */
    dc_metrics_hist_observe(&h, NAN);    /* counts as 0 */
    dc_metrics_hist_observe(&h, 1e6);    /* +Inf */
    CHECK_EQ_INT(h.counts[0], 3);
    CHECK_EQ_INT(h.counts[1], 1);
    CHECK_EQ_INT(h.counts[DC_METRICS_N_BUCKETS], 1);
    CHECK_EQ_INT(h.count, 5);
    CHECK(fabs(h.sum - (0.0021 + 1e6)) < 1e-6);
    for (size_t i = 1; i < DC_METRICS_N_BUCKETS; i++)
        CHECK(dc_metrics_buckets[i] > dc_metrics_buckets[i - 1]);
}

TEST(http_status_json_and_healthz)
{
    dc_err err;
    dc_err_clear(&err);
    dc_metrics *m = filled(&err);
    dc_buf b;
    dc_buf_init(&b, 1 << 24);
    const char *t = render(&b, m, dc_http_status_json, &err);
    dc_arena a;
    dc_arena_init(&a, 1 << 24);
    dc_json *v = NULL;
    CHECK_OK(dc_json_parse(&v, &a, t, strlen(t), &err), &err);
    const dc_json *tables = v ? dc_json_get(v, "tables") : NULL;
    CHECK(tables != NULL);
    CHECK(strstr(t, "\"rows_truncated\":873"));
    CHECK(strstr(t, "\"lag_records\":9"));
    CHECK(strstr(t, "\"healthy\":true"));
    CHECK_EQ_STR(render(&b, m, dc_http_healthz, &err), "ok\n");
    dc_metrics_table *x = NULL;
    CHECK_OK(dc_metrics_table_get(&x, m, "/lake/shop.db/orders", &err), &err);
    dc_metrics_fail(m, x, "topic t partition 0 offset 5: bad");
    t = render(&b, m, dc_http_healthz, &err);
    CHECK(strstr(t, "failed: /lake/shop.db/orders: topic t partition 0 offset 5: bad\n"));
    CHECK(!strstr(t, "/odd/")); /* only the failed table */
    t = render(&b, m, dc_http_status_json, &err);
    CHECK(strstr(t, "\"healthy\":false"));
    CHECK(strstr(t, "\"state\":\"failed\""));
    dc_arena_dispose(&a);
    dc_buf_dispose(&b);
    dc_metrics_free(m);
}

/* Counts occurrences of needle. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

TEST(http_svg_plot)
{
    dc_err err;
    dc_err_clear(&err);
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    const double t[] = {1000, 1010, 1020, 1030, 1040};
    const double y1[] = {0, 5, NAN, 20, 10};   /* a gap: two lines */
    const double y2[] = {1, 1, 1, 1, 1};
    const dc_http_series s[] = {{"a<b", t, y1, 5}, {"c", t, y2, 5}};
    CHECK_OK(dc_http_svg_plot(&b, "Lag", "records", s, 2, 1000, 1040, &err), &err);
    CHECK_OK(dc_buf_putc(&b, 0, &err), &err);
    const char *x = (const char *)b.data;
    CHECK(strncmp(x, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    CHECK_EQ_INT(count(x, "<polyline"), 3);
    CHECK(strstr(x, ">a&lt;b</text>"));
    CHECK(strstr(x, ">20</text>"));                 /* y axis top: a round 20 */
    /* the first point is at the left edge and the plot's bottom, the last at the right */
    CHECK(strstr(x, "points=\"56.0,158.0 "));
    CHECK(strstr(x, " 628.0,"));
    CHECK(strstr(x, "</svg>\n"));
    CHECK_EQ_INT(count(x, "<circle"), 0);
    /* a lone point (a gap either side) is a dot, not an invisible line */
    const double y3[] = {NAN, 3, NAN, NAN, NAN};
    const dc_http_series s3 = {"d", t, y3, 5};
    dc_buf_reset(&b);
    CHECK_OK(dc_http_svg_plot(&b, "T", "u", &s3, 1, 1000, 1040, &err), &err);
    CHECK_OK(dc_buf_putc(&b, 0, &err), &err);
    x = (const char *)b.data;
    CHECK_EQ_INT(count(x, "<circle"), 1);
    CHECK_EQ_INT(count(x, "<polyline"), 0);
    dc_buf_dispose(&b);
}

TEST(http_page)
{
    dc_err err;
    dc_err_clear(&err);
    dc_metrics *m = filled(&err);
    dc_metrics_tick(m, dc_metrics_now());
    dc_buf b;
    dc_buf_init(&b, 1 << 24);
    const char *t = render(&b, m, dc_http_page, &err);
    CHECK_EQ_INT(count(t, "<tr class=\"table-row\">"), 2);
    CHECK_EQ_INT(count(t, "<svg "), 3);
    CHECK(strstr(t, "/odd/a&quot;b\\c\nd&lt;e&gt;"));
    CHECK(!strstr(t, "<script"));
    CHECK(!strstr(t, ", late<"));
    dc_metrics_table *x = NULL;
    CHECK_OK(dc_metrics_table_get(&x, m, "/lake/shop.db/orders", &err), &err);
    CHECK_OK(dc_metrics_monitor_part(x, "cdc.shop.orders", 2, false, 9, 400, &err), &err);
    t = render(&b, m, dc_http_page, &err);
    CHECK(strstr(t, "<td class=\"bad\">running, late</td>"));
    CHECK(!strstr(t, "src=\"http"));
    dc_buf_dispose(&b);
    dc_metrics_free(m);
}

TEST(http_parse_listen)
{
    dc_err err;
    dc_err_clear(&err);
    dc_http_addr a;
    CHECK_OK(dc_http_parse_listen(&a, "9464", &err), &err);
    CHECK(a.ip[0] == 127 && a.ip[3] == 1 && a.port == 9464);
    CHECK_OK(dc_http_parse_listen(&a, ":80", &err), &err);
    CHECK(a.ip[0] == 127 && a.port == 80);
    CHECK_OK(dc_http_parse_listen(&a, "localhost:0", &err), &err);
    CHECK(a.ip[0] == 127 && a.port == 0);
    CHECK_OK(dc_http_parse_listen(&a, "0.0.0.0:9464", &err), &err);
    CHECK(a.ip[0] == 0 && a.port == 9464);
    const char *bad[] = {"", "host:1", "1.2.3.4:65536", "1.2.3.4:", "1.2.3.4:x", "1.2.3.4:-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        dc_err_clear(&err);
        CHECK(dc_http_parse_listen(&a, bad[i], &err) == DC_EINVAL);
        CHECK(strstr(err.msg, "http.listen"));
    }
}
