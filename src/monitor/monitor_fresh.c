/* monitor: freshness — the table's committed positions against the broker. */
#include "monitor.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "../delta/delta.h"
#include "../json/dc_json.h"
#include "../source/source.h"
#include "../storage/storage.h"

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Last offset of each partition the table holds (-1 when none). */
static int committed(dc_fresh_result *r, const dc_fresh_opts *o, dc_err *err)
{
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    int rc = dc_storage_open(&s, o->table, err);
    if (rc == 0) rc = dc_delta_snapshot_load(&snap, s, -1, err);
    if (rc < 0) dc_err_prefix(err, "table %s", o->table);
    if (rc == 0) r->table_version = dc_delta_snapshot_version(snap);
    char app[1024];
    for (size_t i = 0; rc == 0 && i < r->n_parts; i++) {
        snprintf(app, sizeof app, "%s/%s/%" PRId32, o->pipeline, o->topic, r->parts[i].partition);
        if (dc_delta_snapshot_txn_version(&r->parts[i].committed, snap, app) < 0)
            r->parts[i].committed = -1;
    }
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return rc;
}

/* Lag of one partition, from the broker. */
static int lag(dc_fresh_part *p, dc_kafka_probe *k, const dc_fresh_opts *o, double now,
               dc_err *err)
{
    DC_TRY(dc_kafka_probe_watermarks(&p->low, &p->high, k, o->topic, p->partition, o->timeout_ms,
                                     err));
    const int64_t next = p->committed + 1 > p->low ? p->committed + 1 : p->low;
    p->lag_records = p->high > next ? p->high - next : 0;
    p->lag_seconds = 0;
    if (p->lag_records > 0) {
        int64_t ts = -1, at = -1;
        DC_TRY(dc_kafka_probe_timestamp(&ts, &at, k, o->topic, p->partition, next, o->timeout_ms,
                                        err));
        if (ts > 0 && now > (double)ts / 1000.0) p->lag_seconds = now - (double)ts / 1000.0;
    }
    p->ok = p->lag_records <= o->max_lag_records || p->lag_seconds <= o->max_lag_seconds;
    return 0;
}

int dc_monitor_freshness(dc_fresh_result *out, const dc_fresh_opts *o, dc_err *err)
{
    memset(out, 0, sizeof *out);
    /* creating a handle costs a connection and its metadata (~30 ms of
     * CPU): the daemon passes the one it keeps */
    dc_kafka_probe *own = NULL, *k = o->probe;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = k ? 0 : dc_kafka_probe_new(&own, o->bootstrap, o->n_props, o->prop_keys,
                                        o->prop_values, err);
    if (!k) k = own;
    if (rc == 0) rc = dc_kafka_probe_partitions(&ids, &n, k, o->topic, o->timeout_ms, err);
    if (rc == 0 && !(out->parts = dc_calloc(n, sizeof *out->parts)))
        rc = dc_err_set(err, DC_ENOMEM, "monitor: out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) out->parts[out->n_parts++].partition = ids[i];
    if (rc == 0) rc = committed(out, o, err);
    out->checked_at = unix_now();
    out->ok = true;
    for (size_t i = 0; rc == 0 && i < out->n_parts; i++) {
        rc = lag(&out->parts[i], k, o, out->checked_at, err);
        out->ok &= out->parts[i].ok;
    }
    dc_free(ids);
    dc_kafka_probe_free(own);
    if (rc < 0) dc_fresh_result_dispose(out);
    return rc;
}

void dc_fresh_result_dispose(dc_fresh_result *r)
{
    dc_free(r->parts);
    memset(r, 0, sizeof *r);
}

int dc_monitor_fresh_text(dc_buf *out, const dc_fresh_opts *o, const dc_fresh_result *r,
                          dc_err *err)
{
    DC_TRY(dc_buf_appendf(out, err, "freshness %s <- %s (version %" PRId64 ")\n", o->table,
                          o->topic, r->table_version));
    DC_TRY(dc_buf_appendf(out, err, "%-9s %12s %12s %12s %12s  %s\n", "partition", "committed",
                          "latest", "lag", "lag_s", "status"));
    for (size_t i = 0; i < r->n_parts; i++) {
        const dc_fresh_part *p = &r->parts[i];
        DC_TRY(dc_buf_appendf(out, err, "%-9" PRId32 " %12" PRId64 " %12" PRId64 " %12" PRId64
                              " %12.1f  %s\n", p->partition, p->committed, p->high - 1,
                              p->lag_records, p->lag_seconds, p->ok ? "ok" : "LATE"));
    }
    return dc_buf_appendf(out, err, "%s: tolerance %" PRId64 " records or %.0f s\n",
                          r->ok ? "OK" : "FAIL", o->max_lag_records, o->max_lag_seconds);
}

int dc_monitor_fresh_json(dc_buf *out, const dc_fresh_opts *o, const dc_fresh_result *r,
                          dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "{\"monitor\":\"freshness\",\"table\":", err));
    DC_TRY(dc_json_put_str(out, o->table, strlen(o->table), err));
    DC_TRY(dc_buf_puts(out, ",\"topic\":", err));
    DC_TRY(dc_json_put_str(out, o->topic, strlen(o->topic), err));
    DC_TRY(dc_buf_appendf(out, err, ",\"ok\":%s,\"table_version\":%" PRId64 ",\"checked_at\":",
                          r->ok ? "true" : "false", r->table_version));
    DC_TRY(dc_json_put_f64(out, r->checked_at, err));
    DC_TRY(dc_buf_appendf(out, err, ",\"max_lag_records\":%" PRId64 ",\"max_lag_seconds\":",
                          o->max_lag_records));
    DC_TRY(dc_json_put_f64(out, o->max_lag_seconds, err));
    DC_TRY(dc_buf_puts(out, ",\"partitions\":[", err));
    for (size_t i = 0; i < r->n_parts; i++) {
        const dc_fresh_part *p = &r->parts[i];
        DC_TRY(dc_buf_appendf(out, err, "%s{\"partition\":%" PRId32 ",\"committed_offset\":%"
                              PRId64 ",\"latest_offset\":%" PRId64 ",\"low_watermark\":%" PRId64
                              ",\"lag_records\":%" PRId64 ",\"lag_seconds\":", i ? "," : "",
                              p->partition, p->committed, p->high - 1, p->low, p->lag_records));
        DC_TRY(dc_json_put_f64(out, p->lag_seconds, err));
        DC_TRY(dc_buf_appendf(out, err, ",\"ok\":%s}", p->ok ? "true" : "false"));
    }
    return dc_buf_puts(out, "]}\n", err);
}
