/* http: /metrics in the Prometheus text exposition format 0.0.4. One family
 * at a time (HELP, TYPE, then a sample per table or per topic-partition), as
 * the format requires all samples of a family to be together. */
#include "http.h"

#include <inttypes.h>
#include <math.h>

int dc_http_prom_label(dc_buf *out, const char *v, dc_err *err)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\') DC_TRY(dc_buf_puts(out, "\\\\", err));
        else if (*p == '"') DC_TRY(dc_buf_puts(out, "\\\"", err));
        else if (*p == '\n') DC_TRY(dc_buf_puts(out, "\\n", err));
        else DC_TRY(dc_buf_putc(out, (uint8_t)*p, err));
    }
    return 0;
}

/* A float as the format reads it (Go's ParseFloat): +Inf, -Inf, NaN. */
static int put_float(dc_buf *out, double v, dc_err *err)
{
    if (isnan(v)) return dc_buf_puts(out, "NaN", err);
    if (isinf(v)) return dc_buf_puts(out, v > 0 ? "+Inf" : "-Inf", err);
    return dc_buf_appendf(out, err, "%.17g", v);
}

static int family(dc_buf *out, const char *name, const char *type, const char *help, dc_err *err)
{
    return dc_buf_appendf(out, err, "# HELP deltacdc_%s %s\n# TYPE deltacdc_%s %s\n", name, help,
                          name, type);
}

/* `deltacdc_<name><suffix>{table="..."[,extra]` ... the caller closes it. */
static int series_start(dc_buf *out, const char *name, const char *suffix,
                        const dc_metrics_tstate *t, dc_err *err)
{
    DC_TRY(dc_buf_appendf(out, err, "deltacdc_%s%s{table=\"", name, suffix));
    DC_TRY(dc_http_prom_label(out, t->path, err));
    return dc_buf_putc(out, '"', err);
}

static int sample(dc_buf *out, const char *name, const dc_metrics_tstate *t, double v,
                  dc_err *err)
{
    DC_TRY(series_start(out, name, "", t, err));
    DC_TRY(dc_buf_puts(out, "} ", err));
    DC_TRY(put_float(out, v, err));
    return dc_buf_putc(out, '\n', err);
}

/* A histogram's lines; `kind` adds a kind="..." label when not NULL. */
static int histogram(dc_buf *out, const char *name, const dc_metrics_tstate *t, const char *kind,
                     const dc_metrics_hist *h, dc_err *err)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= DC_METRICS_N_BUCKETS; i++) {
        cum += h->counts[i];
        DC_TRY(series_start(out, name, "_bucket", t, err));
        if (kind) DC_TRY(dc_buf_appendf(out, err, ",kind=\"%s\"", kind));
        if (i < DC_METRICS_N_BUCKETS)
            DC_TRY(dc_buf_appendf(out, err, ",le=\"%g\"} %" PRIu64 "\n", dc_metrics_buckets[i], cum));
        else
            DC_TRY(dc_buf_appendf(out, err, ",le=\"+Inf\"} %" PRIu64 "\n", cum));
    }
    const char *sfx[2] = {"_sum", "_count"};
    for (int j = 0; j < 2; j++) {
        DC_TRY(series_start(out, name, sfx[j], t, err));
        if (kind) DC_TRY(dc_buf_appendf(out, err, ",kind=\"%s\"", kind));
        DC_TRY(dc_buf_puts(out, "} ", err));
        if (j == 0) DC_TRY(put_float(out, h->sum, err));
        else DC_TRY(dc_buf_appendf(out, err, "%" PRIu64, h->count));
        DC_TRY(dc_buf_putc(out, '\n', err));
    }
    return 0;
}

/* Per-table values, in the order written. */
typedef double (*table_value_fn)(const dc_metrics_tstate *t, double now);

#define TV(fn, expr) \
    static double fn(const dc_metrics_tstate *t, double now) { (void)now; return (double)(expr); }
TV(v_records, t->records_in)
TV(v_batches, t->batches)
TV(v_commits, t->commits)
TV(v_inserted, t->inserted)
TV(v_updated, t->updated)
TV(v_deleted, t->deleted)
TV(v_truncated, t->truncated)
TV(v_stale, t->stale)
TV(v_dead, t->dead_letters)
TV(v_retries, t->retries)
TV(v_failed, t->state == DC_METRICS_FAILED)
TV(v_version, t->version)
TV(v_files, t->live_files)
TV(v_rows, t->live_rows)
TV(v_dv_rows, t->dv_rows)
TV(v_last_commit, t->last_commit_t)
TV(v_last_event, (double)t->last_event_ts_ms / 1000.0)
TV(v_mon_runs, t->monitor_runs)
TV(v_mon_alerts, t->monitor_alerts)
TV(v_mon_errors, t->monitor_errors)
TV(v_cmon_runs, t->complete_runs)
TV(v_cmon_alerts, t->complete_alerts)
TV(v_cmon_errors, t->complete_errors)
TV(v_cmon_state, t->complete_state)
TV(v_cmon_ranges, t->complete_ranges)
#undef TV
static double v_fresh(const dc_metrics_tstate *t, double now)
{
    return dc_metrics_freshness(t, now);
}

static const struct table_family {
    const char *name, *type, *help;
    table_value_fn value;
} table_families[] = {
    {"records_in_total", "counter", "Records read from the source and committed to the table "
     "(skipped ones included).", v_records},
    {"batches_total", "counter", "Micro-batches committed.", v_batches},
    {"commits_total", "counter", "Delta commits of data (a batch of only stale events makes "
     "none).", v_commits},
    {"rows_inserted_total", "counter", "Rows inserted (new keys, and deleted keys created "
     "again).", v_inserted},
    {"rows_updated_total", "counter", "Rows replaced by a newer version.", v_updated},
    {"rows_deleted_total", "counter", "Delete events applied (a tombstone row each).",
     v_deleted},
    {"rows_truncated_total", "counter", "Rows removed by truncate events.", v_truncated},
    {"events_stale_total", "counter", "Events older than the table's row, ignored.", v_stale},
    {"dead_letters_total", "counter", "Records sent to the dead-letter table.", v_dead},
    {"commit_retries_total", "counter", "Commits redone after a conflict with another "
     "writer.", v_retries},
    {"table_failed", "gauge", "1 when the table stopped on an error.", v_failed},
    {"table_version", "gauge", "Delta version of the table's snapshot.", v_version},
    {"table_files", "gauge", "Data files in the table's snapshot.", v_files},
    {"table_rows", "gauge", "Rows visible in the table (tombstone rows included).", v_rows},
    {"table_dv_hidden_rows", "gauge", "Rows hidden by deletion vectors (space OPTIMIZE "
     "reclaims).", v_dv_rows},
    {"freshness_seconds", "gauge", "Age of the oldest event read and not yet committed, by "
     "its source ts_ms (0 when all read is committed).", v_fresh},
    {"last_commit_timestamp_seconds", "gauge", "Unix time of the last commit (0: none yet).",
     v_last_commit},
    {"last_event_timestamp_seconds", "gauge", "Source ts_ms of the newest event committed, "
     "in seconds (0: none yet).", v_last_event},
    {"monitor_runs_total", "counter", "Freshness monitor checks of the table.", v_mon_runs},
    {"monitor_alerts_total", "counter", "Freshness checks that found a partition late (each "
     "one logged and sent to the webhook).", v_mon_alerts},
    {"monitor_errors_total", "counter", "Freshness checks that could not run (broker or "
     "table unreachable).", v_mon_errors},
    {"monitor_completeness_runs_total", "counter", "Completeness checks of the table against "
     "its source.", v_cmon_runs},
    {"monitor_completeness_alerts_total", "counter", "Completeness checks that found the table "
     "different from the source (each one logged and sent to the webhook).", v_cmon_alerts},
    {"monitor_completeness_errors_total", "counter", "Completeness checks that could not run "
     "(database or table unreachable).", v_cmon_errors},
    {"monitor_completeness_state", "gauge", "The last completeness check: 0 equal (verified "
     "through the source position), 1 mismatch, 2 pending, -1 not run.", v_cmon_state},
    {"monitor_completeness_differing_ranges", "gauge", "Key ranges the last completeness "
     "check found different.", v_cmon_ranges},
};

static int table_families_out(dc_buf *out, const dc_metrics_snap *s, dc_err *err)
{
    for (size_t f = 0; f < sizeof table_families / sizeof *table_families; f++) {
        const struct table_family *tf = &table_families[f];
        DC_TRY(family(out, tf->name, tf->type, tf->help, err));
        for (size_t i = 0; i < s->n_tables; i++)
            DC_TRY(sample(out, tf->name, &s->tables[i], tf->value(&s->tables[i], s->now), err));
    }
    return 0;
}

static int part_labels(dc_buf *out, const char *name, const dc_metrics_tstate *t,
                       const dc_metrics_part *p, dc_err *err)
{
    DC_TRY(series_start(out, name, "", t, err));
    DC_TRY(dc_buf_puts(out, ",topic=\"", err));
    DC_TRY(dc_http_prom_label(out, p->topic, err));
    return dc_buf_appendf(out, err, "\",partition=\"%" PRId32 "\"} ", p->partition);
}

/* The freshness monitor's last verdict per topic-partition (where it ran). */
static int monitor_families(dc_buf *out, const dc_metrics_snap *s, dc_err *err)
{
    static const char *const names[3] = {"monitor_freshness_ok", "monitor_lag_records",
                                         "monitor_lag_seconds"};
    static const char *const helps[3] = {
        "1 when the freshness monitor found the partition's latest record in the table "
        "within the tolerance, 0 when late.",
        "Records of the partition on the broker not in the table, at the last check.",
        "Age of the oldest record of the partition not in the table, at the last check."};
    for (int f = 0; f < 3; f++) {
        DC_TRY(family(out, names[f], "gauge", helps[f], err));
        for (size_t i = 0; i < s->n_tables; i++)
            for (size_t j = 0; j < s->tables[i].n_parts; j++) {
                const dc_metrics_part *p = &s->tables[i].parts[j];
                if (p->mon_ok < 0) continue;
                DC_TRY(part_labels(out, names[f], &s->tables[i], p, err));
                DC_TRY(put_float(out, f == 0 ? p->mon_ok : f == 1 ? (double)p->mon_lag_records
                                                                   : p->mon_lag_seconds, err));
                DC_TRY(dc_buf_putc(out, '\n', err));
            }
    }
    return 0;
}

static int partition_families(dc_buf *out, const dc_metrics_snap *s, dc_err *err)
{
    DC_TRY(family(out, "partition_records_in_total", "counter",
                  "Records of the topic-partition committed to the table.", err));
    for (size_t i = 0; i < s->n_tables; i++)
        for (size_t j = 0; j < s->tables[i].n_parts; j++) {
            const dc_metrics_part *p = &s->tables[i].parts[j];
            DC_TRY(part_labels(out, "partition_records_in_total", &s->tables[i], p, err));
            DC_TRY(dc_buf_appendf(out, err, "%" PRIu64 "\n", p->records_in));
        }
    DC_TRY(family(out, "partition_committed_offset", "gauge",
                  "Last offset of the topic-partition committed to the table.", err));
    for (size_t i = 0; i < s->n_tables; i++)
        for (size_t j = 0; j < s->tables[i].n_parts; j++) {
            const dc_metrics_part *p = &s->tables[i].parts[j];
            DC_TRY(part_labels(out, "partition_committed_offset", &s->tables[i], p, err));
            DC_TRY(dc_buf_appendf(out, err, "%" PRId64 "\n", p->committed));
        }
    DC_TRY(family(out, "consumer_lag_records", "gauge", "Records of the topic-partition on the "
                  "broker not yet committed to the table (high watermark - committed - 1); "
                  "only where the broker's watermark is known.", err));
    for (size_t i = 0; i < s->n_tables; i++)
        for (size_t j = 0; j < s->tables[i].n_parts; j++) {
            const dc_metrics_part *p = &s->tables[i].parts[j];
            if (p->high_watermark < 0) continue;
            const int64_t lag = p->high_watermark - (p->committed + 1);
            DC_TRY(part_labels(out, "consumer_lag_records", &s->tables[i], p, err));
            DC_TRY(dc_buf_appendf(out, err, "%" PRId64 "\n", lag > 0 ? lag : 0));
        }
    return monitor_families(out, s, err);
}

static int histograms(dc_buf *out, const dc_metrics_snap *s, dc_err *err)
{
    DC_TRY(family(out, "batch_duration_seconds", "histogram",
                  "From a batch's first record read to its commit.", err));
    for (size_t i = 0; i < s->n_tables; i++)
        DC_TRY(histogram(out, "batch_duration_seconds", &s->tables[i], NULL,
                         &s->tables[i].batch_h, err));
    DC_TRY(family(out, "commit_duration_seconds", "histogram",
                  "Merge of a batch and its Delta commit.", err));
    for (size_t i = 0; i < s->n_tables; i++)
        DC_TRY(histogram(out, "commit_duration_seconds", &s->tables[i], NULL,
                         &s->tables[i].commit_h, err));
    DC_TRY(family(out, "maintenance_duration_seconds", "histogram", "Automatic maintenance "
                  "runs by kind (checkpoint, optimize, vacuum, log_cleanup).", err));
    for (size_t i = 0; i < s->n_tables; i++)
        for (int k = 0; k < DC_METRICS_N_MAINT; k++)
            DC_TRY(histogram(out, "maintenance_duration_seconds", &s->tables[i],
                             dc_metrics_maint_names[k], &s->tables[i].maint_h[k], err));
    DC_TRY(family(out, "maintenance_failures_total", "counter",
                  "Automatic maintenance runs that failed (logged; ingestion went on).", err));
    for (size_t i = 0; i < s->n_tables; i++)
        for (int k = 0; k < DC_METRICS_N_MAINT; k++) {
            DC_TRY(series_start(out, "maintenance_failures_total", "", &s->tables[i], err));
            DC_TRY(dc_buf_appendf(out, err, ",kind=\"%s\"} %" PRIu64 "\n",
                                  dc_metrics_maint_names[k], s->tables[i].maint_failures[k]));
        }
    return 0;
}

int dc_http_prom(dc_buf *out, const dc_metrics_snap *s, dc_err *err)
{
    DC_TRY(family(out, "start_time_seconds", "gauge", "Unix time the daemon started.", err));
    DC_TRY(dc_buf_puts(out, "deltacdc_start_time_seconds ", err));
    DC_TRY(put_float(out, s->started, err));
    DC_TRY(dc_buf_putc(out, '\n', err));
    DC_TRY(table_families_out(out, s, err));
    DC_TRY(partition_families(out, s, err));
    return histograms(out, s, err);
}
