/* ingest: the maintenance that follows every commit of a table (issue 5) —
 * checkpoints at the interval, log cleanup after them, the symlink manifest
 * when asked for (dc_maint_after_commit), and VACUUM at most once per
 * maintenance.vacuum_interval.
 *
 * It runs in the loop's thread after the batch's commit (and after an
 * automatic OPTIMIZE), on the merge table's snapshot, which it never moves:
 * the key index reflects that snapshot. The commit is already durable and
 * the source already told, so a failure here is logged and ingestion goes
 * on; the next commit tries again. */
#include "ingest_int.h"

#include <inttypes.h>
#include <time.h>

#include "../delta/delta.h"
#include "../maint/maint.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds between two log cleanups of a table at least. */
#define LOG_CLEANUP_EVERY_S 3600.0

static void log_policy(const ing_slot *s, const dc_maint_result *r, double ms)
{
    if (r->checkpointed)
        DC_LOG(DC_LOG_INFO, "maint", "%s: checkpoint at version %" PRId64 " (%" PRId64
               " files, %" PRId64 " bytes), %.1f ms", s->path, r->checkpoint.version,
               r->checkpoint.num_add_files, r->checkpoint.size_in_bytes, ms);
    if (r->cleaned && r->log.plan.n_remove)
        DC_LOG(DC_LOG_INFO, "maint", "%s: log cleanup removed %zu files below checkpoint %"
               PRId64, s->path, r->log.plan.n_remove, r->log.plan.keep_from);
    if (r->manifest && r->manifest_info.n_manifests + r->manifest_info.n_stale)
        DC_LOG(DC_LOG_DEBUG, "maint", "%s: manifest: %zu written, %zu unchanged, %zu removed",
               s->path, r->manifest_info.n_manifests, r->manifest_info.n_unchanged,
               r->manifest_info.n_stale);
}

static void policy(ing_state *st, ing_slot *s, dc_delta_snapshot *snap)
{
    const dc_config *c = st->cfg;
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    o.checkpoint_interval = c->checkpoint_interval;
    o.checkpoint_min_change = c->checkpoint_min_change;
    const double t0 = now_s();
    /* the cutoff moves a day at a time and a run lists the whole log */
    o.log_cleanup = c->log_cleanup &&
                    (s->last_log_cleanup == 0 || t0 - s->last_log_cleanup >= LOG_CLEANUP_EVERY_S);
    o.manifest = c->manifest;
    dc_maint_result r;
    dc_err err;
    dc_err_clear(&err);
    const int rc = dc_maint_after_commit(&r, dc_delta_snapshot_storage(snap), snap,
                                         dc_delta_snapshot_version(snap), &o, &err);
    if (r.checkpointed) st->stats.checkpoints++;
    if (r.checkpoint_tried)
        ing_metrics_maint(s, DC_METRICS_CHECKPOINT, r.checkpoint_seconds, r.checkpointed);
    if (r.log_tried)
        ing_metrics_maint(s, DC_METRICS_LOG_CLEANUP, r.log_seconds, r.cleaned || r.log.skipped);
    if (r.cleaned) s->last_log_cleanup = t0;
    log_policy(s, &r, (now_s() - t0) * 1000.0);
    if (rc < 0) DC_LOG(DC_LOG_WARN, "maint", "%s: %s", s->path, err.msg);
}

bool ing_maint_vacuum(const dc_config *c, const char *path, dc_delta_snapshot *snap,
                      dc_metrics_table *mt, double *last)
{
    const double t = now_s();
    if (c->vacuum != DC_CFG_VACUUM_AUTO) return false;
    if (*last != 0 && (t - *last) * 1000.0 < (double)c->vacuum_interval_ms) return false;
    *last = t;
    dc_maint_vacuum_opts o;
    dc_maint_vacuum_opts_init(&o);
    o.retain_ms = c->vacuum_retention_ms > 0 ? c->vacuum_retention_ms : -1;
    o.record = true;
    dc_maint_vacuum_result r;
    dc_err err;
    dc_err_clear(&err);
    const int rc = dc_maint_vacuum(&r, snap, &o, &err);
    if (mt) dc_metrics_maint_done(mt, DC_METRICS_VACUUM, now_s() - t, rc == 0);
    if (rc < 0) {
        DC_LOG(DC_LOG_WARN, "maint", "%s: vacuum: %s", path, err.msg);
        return false;
    }
    DC_LOG(DC_LOG_INFO, "maint", "%s: vacuum removed %" PRIu64 " files (%" PRIu64 " bytes) of %"
           PRIu64 " listed, %.1f ms", path, r.files_removed, r.bytes_removed, r.files_listed,
           (double)r.elapsed_ms);
    return true;
}

void ing_slot_persist(ing_state *st, ing_slot *s, bool checkpointed)
{
    const dc_config *c = st->cfg;
    const double t = now_s();
    if (!c->index_persist || !s->table) return;
    if (checkpointed && (c->index_persist_interval_ms == 0 ||
                         (s->last_persist != 0 &&
                          (t - s->last_persist) * 1000.0 < (double)c->index_persist_interval_ms)))
        return;
    dc_err err;
    dc_err_clear(&err);
    if (dc_merge_table_persist(s->table, &err) < 0)
        DC_LOG(DC_LOG_WARN, "merge", "%s: %s (the next start builds the index)", s->path,
               err.msg);
    s->last_persist = t;
}

void ing_slot_maintain(ing_state *st, ing_slot *s)
{
    if (!s->table) return;
    dc_delta_snapshot *snap = dc_merge_table_snapshot(s->table);
    if (!snap) return;
    const uint64_t checkpoints = st->stats.checkpoints;
    policy(st, s, snap);
    if (st->stats.checkpoints != checkpoints) ing_slot_persist(st, s, true);
    if (ing_maint_vacuum(st->cfg, s->path, snap, s->mt, &s->last_vacuum)) st->stats.vacuums++;
}

void ing_persist_all(ing_state *st)
{
    for (size_t i = 0; i < st->n_slots; i++) ing_slot_persist(st, st->slots[i], false);
}
