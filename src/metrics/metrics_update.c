/* metrics: the writer side, called by the ingest loop a few times per batch
 * (never per record). Each call holds the table's mutex for a few stores. */
#include "metrics_int.h"

void dc_metrics_pending(dc_metrics_table *t, int64_t ts_ms)
{
    const double now = dc_metrics_now();
    pthread_mutex_lock(&t->mu);
    t->v.pending_t = now;
    t->v.pending_ts_ms = ts_ms;
    pthread_mutex_unlock(&t->mu);
}

void dc_metrics_batch_done(dc_metrics_table *t, const dc_metrics_batch *b)
{
    const double now = dc_metrics_now();
    pthread_mutex_lock(&t->mu);
    dc_metrics_tstate *v = &t->v;
    if (v->state == DC_METRICS_STARTING) v->state = DC_METRICS_RUNNING;
    v->records_in += b->records_in;
    v->batches++;
    v->commits += b->committed;
    v->inserted += b->inserted;
    v->updated += b->updated;
    v->deleted += b->deleted;
    v->truncated += b->truncated;
    v->stale += b->stale;
    v->retries += b->retries;
    dc_metrics_hist_observe(&v->batch_h, b->batch_s);
    dc_metrics_hist_observe(&v->commit_h, b->commit_s);
    if (b->version >= 0) {
        v->version = b->version;
        v->live_files = b->live_files;
        v->live_rows = b->live_rows;
        v->dv_rows = b->dv_rows;
    }
    if (b->last_event_ts_ms > v->last_event_ts_ms) v->last_event_ts_ms = b->last_event_ts_ms;
    if (b->committed) v->last_commit_t = now;
    v->pending_t = 0;
    v->pending_ts_ms = 0;
    pthread_mutex_unlock(&t->mu);
}

static dc_metrics_part *part_get(dc_metrics_tstate *v, const char *topic, int32_t partition,
                                 dc_err *err)
{
    for (size_t i = 0; i < v->n_parts; i++)
        if (v->parts[i].partition == partition && strcmp(v->parts[i].topic, topic) == 0)
            return &v->parts[i];
    if (v->n_parts >= DC_METRICS_MAX_PARTS) {
        dc_err_set(err, DC_ELIMIT, "metrics: table %s has more than %d topic-partitions",
                   v->path, DC_METRICS_MAX_PARTS);
        return NULL;
    }
    if (v->n_parts == v->cap_parts) {
        size_t cap = v->cap_parts ? v->cap_parts * 2 : 4;
        dc_metrics_part *p = dc_realloc(v->parts, cap * sizeof *p);
        if (!p) {
            dc_err_set(err, DC_ENOMEM, "metrics: out of memory");
            return NULL;
        }
        v->parts = p;
        v->cap_parts = cap;
    }
    char *copy = dc_strdup(topic);
    if (!copy) {
        dc_err_set(err, DC_ENOMEM, "metrics: out of memory");
        return NULL;
    }
    v->parts[v->n_parts] = (dc_metrics_part){copy, partition, 0, -1, -1, -1, 0, 0};
    return &v->parts[v->n_parts++];
}

int dc_metrics_part_update(dc_metrics_table *t, const char *topic, int32_t partition,
                           uint64_t records, int64_t committed, int64_t high_watermark,
                           dc_err *err)
{
    pthread_mutex_lock(&t->mu);
    dc_metrics_part *p = part_get(&t->v, topic, partition, err);
    if (p) {
        p->records_in += records;
        if (committed > p->committed) p->committed = committed;
        if (high_watermark >= 0) p->high_watermark = high_watermark;
    }
    pthread_mutex_unlock(&t->mu);
    return p ? 0 : err->code;
}

int dc_metrics_monitor_part(dc_metrics_table *t, const char *topic, int32_t partition, bool ok,
                            int64_t lag_records, double lag_seconds, dc_err *err)
{
    pthread_mutex_lock(&t->mu);
    dc_metrics_part *p = part_get(&t->v, topic, partition, err);
    if (p) {
        p->mon_ok = ok;
        p->mon_lag_records = lag_records;
        p->mon_lag_seconds = lag_seconds;
    }
    pthread_mutex_unlock(&t->mu);
    return p ? 0 : err->code;
}

void dc_metrics_monitor_run(dc_metrics_table *t, bool late, bool failed)
{
    pthread_mutex_lock(&t->mu);
    t->v.monitor_runs++;
    t->v.monitor_alerts += late;
    t->v.monitor_errors += failed;
    pthread_mutex_unlock(&t->mu);
}

void dc_metrics_complete_run(dc_metrics_table *t, int state, uint64_t ranges, bool failed)
{
    pthread_mutex_lock(&t->mu);
    t->v.complete_runs++;
    t->v.complete_errors += failed;
    if (!failed) {
        t->v.complete_alerts += state == 1;
        t->v.complete_state = state;
        t->v.complete_ranges = ranges;
    }
    pthread_mutex_unlock(&t->mu);
}

void dc_metrics_dead_letter(dc_metrics_table *t)
{
    pthread_mutex_lock(&t->mu);
    t->v.dead_letters++;
    pthread_mutex_unlock(&t->mu);
}

void dc_metrics_maint_done(dc_metrics_table *t, dc_metrics_maint kind, double seconds, bool ok)
{
    DC_ASSERT(kind < DC_METRICS_N_MAINT);
    pthread_mutex_lock(&t->mu);
    dc_metrics_hist_observe(&t->v.maint_h[kind], seconds);
    if (!ok) t->v.maint_failures[kind]++;
    pthread_mutex_unlock(&t->mu);
}

void dc_metrics_watermarks(dc_metrics_table *t, dc_metrics_watermark_fn fn, void *ctx)
{
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->v.n_parts; i++) {
        dc_metrics_part *p = &t->v.parts[i];
        const int64_t hw = fn(ctx, p->topic, p->partition);
        if (hw >= 0) p->high_watermark = hw;
    }
    pthread_mutex_unlock(&t->mu);
}
