/* http: /status (JSON) and /healthz, from a snapshot of the registry. */
#include "http.h"

#include <inttypes.h>

#include "../json/dc_json.h"

bool dc_http_healthy(const dc_metrics_snap *s)
{
    if (s->failed) return false;
    for (size_t i = 0; i < s->n_tables; i++)
        if (s->tables[i].state == DC_METRICS_FAILED) return false;
    return true;
}

int dc_http_healthz(dc_buf *out, const dc_metrics_snap *s, dc_err *err)
{
    if (dc_http_healthy(s)) return dc_buf_puts(out, "ok\n", err);
    if (s->failed) DC_TRY(dc_buf_appendf(out, err, "failed: %s\n", s->error));
    for (size_t i = 0; i < s->n_tables && !s->failed; i++) {
        const dc_metrics_tstate *t = &s->tables[i];
        if (t->state != DC_METRICS_FAILED) continue;
        DC_TRY(dc_buf_appendf(out, err, "failed: %s: %s\n", t->path, t->error));
    }
    return 0;
}

/* "key": */
static int key(dc_buf *out, const char *k, dc_err *err)
{
    DC_TRY(dc_json_put_str(out, k, strlen(k), err));
    return dc_buf_putc(out, ':', err);
}

static int kv_u64(dc_buf *out, const char *k, uint64_t v, dc_err *err)
{
    DC_TRY(key(out, k, err));
    DC_TRY(dc_json_put_u64(out, v, err));
    return dc_buf_putc(out, ',', err);
}

static int kv_i64(dc_buf *out, const char *k, int64_t v, dc_err *err)
{
    DC_TRY(key(out, k, err));
    DC_TRY(dc_json_put_i64(out, v, err));
    return dc_buf_putc(out, ',', err);
}

static int kv_f64(dc_buf *out, const char *k, double v, dc_err *err)
{
    DC_TRY(key(out, k, err));
    DC_TRY(dc_json_put_f64(out, v, err));
    return dc_buf_putc(out, ',', err);
}

static int kv_str(dc_buf *out, const char *k, const char *v, dc_err *err)
{
    DC_TRY(key(out, k, err));
    DC_TRY(v ? dc_json_put_str(out, v, strlen(v), err) : dc_buf_puts(out, "null", err));
    return dc_buf_putc(out, ',', err);
}

/* Drops the trailing comma of an object or array being closed. */
static int end(dc_buf *out, char c, dc_err *err)
{
    if (out->len && out->data[out->len - 1] == ',') out->len--;
    return dc_buf_putc(out, (uint8_t)c, err);
}

static int hist(dc_buf *out, const char *k, const dc_metrics_hist *h, dc_err *err)
{
    DC_TRY(key(out, k, err));
    DC_TRY(dc_buf_putc(out, '{', err));
    DC_TRY(kv_u64(out, "count", h->count, err));
    DC_TRY(kv_f64(out, "sum_seconds", h->sum, err));
    DC_TRY(end(out, '}', err));
    return dc_buf_putc(out, ',', err);
}

static int parts(dc_buf *out, const dc_metrics_tstate *t, dc_err *err)
{
    DC_TRY(key(out, "partitions", err));
    DC_TRY(dc_buf_putc(out, '[', err));
    for (size_t i = 0; i < t->n_parts; i++) {
        const dc_metrics_part *p = &t->parts[i];
        DC_TRY(dc_buf_putc(out, '{', err));
        DC_TRY(kv_str(out, "topic", p->topic, err));
        DC_TRY(kv_i64(out, "partition", p->partition, err));
        DC_TRY(kv_u64(out, "records_in", p->records_in, err));
        DC_TRY(kv_i64(out, "committed_offset", p->committed, err));
        if (p->high_watermark >= 0) {
            DC_TRY(kv_i64(out, "high_watermark", p->high_watermark, err));
            const int64_t lag = p->high_watermark - (p->committed + 1);
            DC_TRY(kv_i64(out, "lag_records", lag > 0 ? lag : 0, err));
        }
        if (p->mon_ok >= 0) {
            DC_TRY(key(out, "monitor", err));
            DC_TRY(dc_buf_appendf(out, err, "{\"ok\":%s,", p->mon_ok ? "true" : "false"));
            DC_TRY(kv_i64(out, "lag_records", p->mon_lag_records, err));
            DC_TRY(kv_f64(out, "lag_seconds", p->mon_lag_seconds, err));
            DC_TRY(end(out, '}', err));
            DC_TRY(dc_buf_putc(out, ',', err));
        }
        DC_TRY(end(out, '}', err));
        DC_TRY(dc_buf_putc(out, ',', err));
    }
    DC_TRY(end(out, ']', err));
    return dc_buf_putc(out, ',', err);
}

static int maint(dc_buf *out, const dc_metrics_tstate *t, dc_err *err)
{
    DC_TRY(key(out, "maintenance", err));
    DC_TRY(dc_buf_putc(out, '{', err));
    for (int k = 0; k < DC_METRICS_N_MAINT; k++) {
        DC_TRY(key(out, dc_metrics_maint_names[k], err));
        DC_TRY(dc_buf_putc(out, '{', err));
        DC_TRY(kv_u64(out, "runs", t->maint_h[k].count, err));
        DC_TRY(kv_u64(out, "failures", t->maint_failures[k], err));
        DC_TRY(kv_f64(out, "seconds", t->maint_h[k].sum, err));
        DC_TRY(end(out, '}', err));
        DC_TRY(dc_buf_putc(out, ',', err));
    }
    DC_TRY(end(out, '}', err));
    return dc_buf_putc(out, ',', err);
}

static int table(dc_buf *out, const dc_metrics_tstate *t, double now, dc_err *err)
{
    DC_TRY(dc_buf_putc(out, '{', err));
    DC_TRY(kv_str(out, "table", t->path, err));
    DC_TRY(kv_str(out, "state", dc_metrics_state_names[t->state], err));
    DC_TRY(kv_str(out, "error", t->state == DC_METRICS_FAILED ? t->error : NULL, err));
    DC_TRY(kv_i64(out, "version", t->version, err));
    DC_TRY(kv_f64(out, "freshness_seconds", dc_metrics_freshness(t, now), err));
    const int64_t lag = dc_metrics_lag(t);
    if (lag >= 0) DC_TRY(kv_i64(out, "lag_records", lag, err));
    else DC_TRY(kv_str(out, "lag_records", NULL, err));
    DC_TRY(kv_u64(out, "records_in", t->records_in, err));
    DC_TRY(kv_u64(out, "batches", t->batches, err));
    DC_TRY(kv_u64(out, "commits", t->commits, err));
    DC_TRY(kv_u64(out, "rows_inserted", t->inserted, err));
    DC_TRY(kv_u64(out, "rows_updated", t->updated, err));
    DC_TRY(kv_u64(out, "rows_deleted", t->deleted, err));
    DC_TRY(kv_u64(out, "rows_truncated", t->truncated, err));
    DC_TRY(kv_u64(out, "events_stale", t->stale, err));
    DC_TRY(kv_u64(out, "dead_letters", t->dead_letters, err));
    DC_TRY(kv_u64(out, "commit_retries", t->retries, err));
    DC_TRY(kv_u64(out, "monitor_runs", t->monitor_runs, err));
    DC_TRY(kv_u64(out, "monitor_alerts", t->monitor_alerts, err));
    DC_TRY(kv_u64(out, "monitor_errors", t->monitor_errors, err));
    DC_TRY(kv_u64(out, "completeness_runs", t->complete_runs, err));
    DC_TRY(kv_u64(out, "completeness_alerts", t->complete_alerts, err));
    DC_TRY(kv_u64(out, "completeness_errors", t->complete_errors, err));
    DC_TRY(kv_f64(out, "completeness_state", t->complete_state, err));
    DC_TRY(kv_u64(out, "completeness_differing_ranges", t->complete_ranges, err));
    DC_TRY(kv_u64(out, "files", t->live_files, err));
    DC_TRY(kv_u64(out, "rows", t->live_rows, err));
    DC_TRY(kv_u64(out, "dv_hidden_rows", t->dv_rows, err));
    DC_TRY(kv_f64(out, "last_commit_unix", t->last_commit_t, err));
    DC_TRY(kv_i64(out, "last_event_ts_ms", t->last_event_ts_ms, err));
    DC_TRY(hist(out, "batch_duration", &t->batch_h, err));
    DC_TRY(hist(out, "commit_duration", &t->commit_h, err));
    DC_TRY(maint(out, t, err));
    DC_TRY(parts(out, t, err));
    return end(out, '}', err);
}

int dc_http_status_json(dc_buf *out, const dc_metrics_snap *s, dc_err *err)
{
    DC_TRY(dc_buf_putc(out, '{', err));
    DC_TRY(key(out, "healthy", err));
    DC_TRY(dc_buf_puts(out, dc_http_healthy(s) ? "true," : "false,", err));
    DC_TRY(kv_str(out, "error", s->failed ? s->error : NULL, err));
    DC_TRY(kv_f64(out, "now_unix", s->now, err));
    DC_TRY(kv_f64(out, "started_unix", s->started, err));
    DC_TRY(key(out, "tables", err));
    DC_TRY(dc_buf_putc(out, '[', err));
    for (size_t i = 0; i < s->n_tables; i++) {
        DC_TRY(table(out, &s->tables[i], s->now, err));
        DC_TRY(dc_buf_putc(out, ',', err));
    }
    DC_TRY(end(out, ']', err));
    DC_TRY(dc_buf_putc(out, '}', err));
    return dc_buf_putc(out, '\n', err);
}
