/* ingest: automatic OPTIMIZE between batches (maintenance.optimize: auto).
 *
 * After a batch committed to a table, once maintenance.optimize_interval
 * has passed since the last run, the table's files are planned (on the
 * merge table's own snapshot: what its key index reflects) and when a
 * threshold is crossed — at least maintenance.optimize_small_files small
 * files, or a file whose deletion vector hides at least
 * maintenance.optimize_deleted_percent of its rows — one bounded run
 * (maintenance.optimize_max_bytes / _max_files of input) rewrites them and
 * commits. The key index then follows the rows into the new files
 * (dc_merge_table_after_rewrite, with the row maps the run keeps: one pass
 * over the index, no data file read back). The run happens in the loop's thread
 * between two batches, so it holds up the next batch for as long as it
 * takes, and the bounds are what keep that short. That is the
 * maintenance.background: false way; by default the rewrite runs in the
 * maintenance thread (ingest_bg.c) and only its commit comes here, through
 * ing_optimize_after.
 *
 * Nothing here stops ingestion: a run that loses a commit race (a second
 * OPTIMIZE, a DELETE by another engine) gives up at once and the next one
 * plans again; any other failure is logged and the table reloads before
 * its next batch. */
#include "ingest_int.h"

#include <inttypes.h>
#include <time.h>

#include "../maint/optimize.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ing_optimize_opts(dc_optimize_opts *o, const dc_config *c)
{
    dc_optimize_opts_init(o);
    o->target_file_size = c->optimize_target_size;
    o->min_file_size = c->optimize_min_size < c->optimize_target_size ? c->optimize_min_size
                                                                       : c->optimize_target_size;
    o->max_deleted_ratio = (double)c->optimize_deleted_pct / 100.0;
    o->max_files = (uint64_t)c->optimize_max_files;
    o->max_bytes = (uint64_t)c->optimize_max_bytes;
    o->max_retries = 0;     /* never move the merge table's snapshot: give up, plan later */
    o->automatic = true;
    o->row_maps = true;     /* the key index follows the rows without reading them back */
}

int ing_optimize_worth_it(bool *yes, dc_delta_snapshot *snap, const dc_optimize_opts *o,
                    const dc_config *c, dc_err *err)
{
    dc_optimize_opts dry = *o;
    dry.dry_run = true;
    dc_optimize_result r;
    dc_optimize_result_init(&r);
    int rc = dc_optimize_run(&r, snap, &dry, err);
    *yes = rc == 0 && r.plan.n_bins &&
           (r.plan.n_small >= (uint64_t)c->optimize_small_files || r.plan.n_deleted > 0);
    dc_optimize_result_dispose(&r);
    return rc;
}

static void log_run(const ing_slot *s, const dc_optimize_result *r)
{
    DC_LOG(DC_LOG_INFO, "optimize",
           "optimize %s: version %" PRId64 ", %" PRIu64 " files (%.1f MiB, %" PRIu64 " DVs) -> %"
           PRIu64 " files (%.1f MiB), %" PRIu64 " rows, %" PRIu64 " deleted rows purged, %.1f ms",
           s->path, r->version, r->files_removed, (double)r->bytes_removed / 1048576.0,
           r->dvs_removed, r->files_added, (double)r->bytes_added / 1048576.0, r->rows,
           r->rows_dropped, r->seconds * 1000.0);
}

void ing_optimize_after(ing_state *st, ing_slot *s, const dc_optimize_result *r, int rc,
                        const dc_err *err)
{
    if (r->version >= 0) { /* committed (even when filling the lists failed after) */
        st->stats.optimizes++;
        log_run(s, r);
        dc_err e2;
        dc_err_clear(&e2);
        /* without the lists (rc < 0) a read version of -2 makes the index rebuild */
        const dc_merge_rewrite rw = {rc == 0 ? r->read_version : -2, r->version,
                                     (const char *const *)r->removed, r->n_removed, r->added,
                                     r->n_added, (const uint32_t *const *)r->row_maps,
                                     r->map_rows, r->map_added};
        if (dc_merge_table_after_rewrite(s->table, &rw, &e2) < 0)
            DC_LOG(DC_LOG_WARN, "optimize", "%s: %s (the table reloads before its next batch)",
                   s->path, e2.msg);
    }
    if (rc == DC_ECONFLICT)
        DC_LOG(DC_LOG_INFO, "optimize", "%s: %s; the next run plans again", s->path, err->msg);
    else if (rc < 0)
        DC_LOG(DC_LOG_WARN, "optimize", "%s: %s", s->path, err->msg);
}

/* One run on a slot's table; failures are logged, never returned. True
 * when a run was tried (a threshold was crossed). */
static bool run(ing_state *st, ing_slot *s)
{
    dc_optimize_opts o;
    ing_optimize_opts(&o, st->cfg);
    dc_delta_snapshot *snap = dc_merge_table_snapshot(s->table);
    dc_optimize_result r;
    dc_optimize_result_init(&r);
    dc_err err;
    dc_err_clear(&err);
    bool yes = false;
    const double t0 = now_s();
    int rc = ing_optimize_worth_it(&yes, snap, &o, st->cfg, &err);
    if (rc == 0 && yes) rc = dc_optimize_run(&r, snap, &o, &err);
    if (yes || rc < 0) /* a lost race is no failure: the next run plans again */
        ing_metrics_maint(s, DC_METRICS_OPTIMIZE, now_s() - t0, rc == 0 || rc == DC_ECONFLICT);
    ing_optimize_after(st, s, &r, rc, &err);
    dc_optimize_result_dispose(&r);
    return yes || rc < 0;
}

void ing_slot_optimize(ing_state *st, ing_slot *s)
{
    const dc_config *c = st->cfg;
    if (c->optimize != DC_CFG_OPTIMIZE_AUTO || !s->table) return;
    const double t = now_s();
    if (s->last_optimize == 0) s->last_optimize = t; /* the first run waits an interval too */
    if ((t - s->last_optimize) * 1000.0 < (double)c->optimize_interval_ms) return;
    if (run(st, s)) s->last_optimize = now_s(); /* else check again after the next batch */
}
