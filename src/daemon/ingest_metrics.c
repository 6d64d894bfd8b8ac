/* ingest: the hooks that feed the metrics registry (issue 11). Called once
 * per batch, per dead letter and per maintenance run, never per record; all
 * are no-ops when the registry is off (no HTTP endpoint configured). */
#include "ingest_int.h"

#include <time.h>

#include "../delta/delta.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ing_metrics_slot(ing_state *st, ing_slot *s, dc_err *err)
{
    if (!st->metrics || s->mt) return 0;
    return dc_metrics_table_get(&s->mt, st->metrics, s->path, err);
}

void ing_metrics_first(ing_slot *s, const dc_cdc_event *ev)
{
    s->h.batch_t0 = mono_s();
    s->h.batch_ts_max = 0;
    if (s->mt) dc_metrics_pending(s->mt, ev->kind == DC_CDC_CHANGE && ev->has_ts_ms ? ev->ts_ms : 0);
}

/* Files, and rows hidden by deletion vectors, of the table's snapshot: one
 * pass over its files (per batch, not per record). */
static void table_gauges(dc_metrics_batch *b, ing_slot *s)
{
    dc_delta_snapshot *snap = s->table ? dc_merge_table_snapshot(s->table) : NULL;
    if (!snap) return;
    b->version = dc_delta_snapshot_version(snap);
    const size_t n = dc_delta_snapshot_n_files(snap);
    b->live_files = n;
    for (size_t i = 0; i < n; i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(snap, i);
        if (a->has_dv && a->dv.cardinality > 0) b->dv_rows += (uint64_t)a->dv.cardinality;
    }
    dc_merge_index_stats ix;
    dc_merge_index_stats_get(&ix, s->table);
    b->live_rows = ix.rows;
}

/* The source's high watermark; with a reader thread (ingest_ahead.c, one
 * file: one partition) the one it noted, as only it touches the source. */
static int64_t source_watermark(ing_state *st, const char *topic, int32_t partition)
{
    if (st->ahead) return ing_ahead_watermark(st->ahead);
    return dc_source_high_watermark(st->src, topic, partition);
}

static int64_t watermark(void *ctx, const char *topic, int32_t partition)
{
    return source_watermark(ctx, topic, partition);
}

void ing_metrics_batch(ing_state *st, ing_slot *s, const dc_merge_result *r, uint64_t retries)
{
    if (!s->mt) return;
    dc_err err;
    dc_err_clear(&err);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->h.n_tps; i++)
        rc = dc_metrics_part_update(s->mt, s->h.tps[i].topic, s->h.tps[i].partition, s->h.tps[i].n,
                                    s->h.tps[i].last,
                                    source_watermark(st, s->h.tps[i].topic,
                                                     s->h.tps[i].partition), &err);
    if (rc < 0) DC_LOG(DC_LOG_WARN, "ingest", "%s", err.msg); /* metrics never stop ingestion */
    dc_metrics_batch b = {
        .records_in = s->h.n_in, .inserted = r->inserted, .updated = r->updated,
        .deleted = r->deleted, .truncated = r->truncated, .stale = r->stale, .retries = retries,
        .committed = r->version >= 0, .batch_s = mono_s() - s->h.batch_t0, .commit_s = r->seconds,
        .last_event_ts_ms = s->h.batch_ts_max, .version = -1,
    };
    table_gauges(&b, s);
    dc_metrics_batch_done(s->mt, &b);
}

void ing_metrics_dead_letter(ing_slot *s)
{
    if (s->mt) dc_metrics_dead_letter(s->mt);
}

void ing_metrics_maint(ing_slot *s, dc_metrics_maint kind, double seconds, bool ok)
{
    if (s->mt) dc_metrics_maint_done(s->mt, kind, seconds, ok);
}

void ing_metrics_tick(ing_state *st)
{
    if (!st->metrics) return;
    const double now = dc_metrics_now();
    if (!dc_metrics_due(st->metrics, now)) return;
    for (size_t i = 0; i < st->n_slots; i++)
        if (st->slots[i]->mt) dc_metrics_watermarks(st->slots[i]->mt, watermark, st);
    dc_metrics_tick(st->metrics, now);
}

void ing_metrics_fail(ing_state *st, const dc_err *err)
{
    if (!st->metrics) return;
    for (size_t i = 0; i < st->n_slots; i++) {
        if (st->slots[i]->mt && strstr(err->msg, st->slots[i]->path)) {
            /* a stopped table keeps its own error (ing_slot_stop) */
            if (!st->slots[i]->stop_error) dc_metrics_fail(st->metrics, st->slots[i]->mt, err->msg);
            return;
        }
    }
    dc_metrics_table *t = NULL;
    if (strncmp(err->msg, "topic ", 6) == 0 && st->n_routes)
        t = st->routes[st->last_route].slot->mt;
    dc_metrics_fail(st->metrics, t, err->msg);
}
