/*
 * maint: the after-commit policy — automatic checkpoints every
 * delta.checkpointInterval commits (or our override), then log cleanup,
 * then the symlink manifest when asked for.
 *
 * Delta checkpoints when `version % interval == 0`. That alone misses a
 * checkpoint when the multiple was committed by another writer (a foreign
 * OPTIMIZE, a Spark job) or when we crashed between commit and checkpoint,
 * so we also checkpoint when the newest checkpoint is an interval or more
 * behind. Which is the newest: the snapshot knows the checkpoint it was
 * loaded from and the ones written for it, so the steady state reads
 * nothing; only when that says one is due is _last_checkpoint read (another
 * writer may have written a newer one; it is a hint, so a missing or
 * unreadable one counts as none), and what it says is noted.
 *
 * A checkpoint rewrites every live file and tombstone; a commit adds a few.
 * On a table with many of them (a DV table's tombstones grow with every file
 * its batches touch: ~80 a 200-record batch of bench/ingest_file's stream,
 * 40k after 500 batches) a checkpoint every 10 small commits was most of
 * their CPU. So a due checkpoint of DC_MAINT_CHECKPOINT_WAIT_MIN_ROWS rows
 * or more waits until the adds and removes since the last one reach
 * checkpoint_min_change percent of its rows (at 100 it costs about what the
 * commits wrote, once more), and never more than
 * DC_MAINT_CHECKPOINT_WAIT_MAX_INTERVALS intervals. The wait is decided from
 * the snapshot alone, so a waiting checkpoint reads nothing per commit.
 */
#include "maint_int.h"

#include <time.h>

void dc_maint_opts_init(dc_maint_opts *o)
{
    memset(o, 0, sizeof *o);
    o->checkpoint_min_change = 100;
    o->log_cleanup = true;
}

/* Whether a checkpoint the interval makes due at `version` waits for more
 * changes (see the top of the file). */
static bool checkpoint_waits(const dc_delta_snapshot *snap, int64_t version, int64_t interval,
                             int64_t min_change_pct)
{
    const int64_t last = dc_delta_snapshot_known_checkpoint(snap);
    if (min_change_pct <= 0 || last < 0) return false;
    if (version - last >= interval * DC_MAINT_CHECKPOINT_WAIT_MAX_INTERVALS) return false;
    const uint64_t rows = dc_delta_snapshot_n_files(snap) + dc_delta_snapshot_n_tombstones(snap);
    if (rows < DC_MAINT_CHECKPOINT_WAIT_MIN_ROWS) return false;
    const uint64_t changes = dc_delta_snapshot_changes_since_checkpoint(snap);
    return (double)changes * 100.0 < (double)rows * (double)min_change_pct;
}

/* Whether `version` should get a checkpoint under `interval` (> 0). */
static bool checkpoint_due(dc_storage *s, dc_delta_snapshot *snap, int64_t version,
                           int64_t interval, int64_t min_change_pct)
{
    if (version <= 0) return false;
    const bool multiple = version % interval == 0;
    int64_t last = dc_delta_snapshot_known_checkpoint(snap);
    if (!multiple && (last >= version || version - (last < 0 ? 0 : last) < interval))
        return false;
    if (checkpoint_waits(snap, version, interval, min_change_pct)) return false;
    if (multiple) return true;
    const int64_t hint = dc_delta_last_checkpoint(s);
    if (hint <= last) return true;
    dc_delta_snapshot_note_checkpoint(snap, hint);
    last = hint;
    return last < version && version - last >= interval;
}

/* The snapshot at `version`: `snap` itself when it is there, else one
 * loaded into *owned (the caller frees it). */
static int at_version(dc_delta_snapshot **out, dc_delta_snapshot **owned, dc_storage *s,
                      dc_delta_snapshot *snap, int64_t version, dc_err *err)
{
    if (snap && dc_delta_snapshot_version(snap) == version && !dc_delta_snapshot_broken(snap)) {
        *out = snap;
        return 0;
    }
    if (!*owned) DC_TRY(dc_delta_snapshot_load(owned, s, version, err));
    *out = *owned;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t interval_of(const dc_maint_opts *o, const dc_maint_props *props)
{
    if (o->checkpoint_interval > 0) return o->checkpoint_interval;
    return o->checkpoint_interval == 0 ? props->checkpoint_interval : -1;
}

int dc_maint_after_commit(dc_maint_result *out, dc_storage *s, dc_delta_snapshot *snap,
                          int64_t version, const dc_maint_opts *o, dc_err *err)
{
    dc_maint_result res;
    dc_maint_props props;
    dc_delta_snapshot *owned = NULL, *at = NULL;
    memset(&res, 0, sizeof res);
    int rc = 0;
    if (snap && dc_delta_snapshot_version(snap) > version)
        rc = dc_err_set(err, DC_EINVAL,
                        "maintenance after commit %lld: the snapshot is already at version %lld",
                        (long long)version, (long long)dc_delta_snapshot_version(snap));
    if (rc == 0 && !snap) rc = at_version(&snap, &owned, s, NULL, version, err);
    if (rc == 0) rc = dc_maint_props_from_metadata(&props, dc_delta_snapshot_metadata(snap), err);
    const int64_t interval = rc == 0 ? interval_of(o, &props) : -1;
    double t0 = now_s();
    /* Behind: the next multiple of the interval is committed already, its
     * checkpoint is due, and writing this one too would only make a slow
     * thread fall further back. */
    const bool superseded = interval > 0 && (version / interval + 1) * interval <= o->newest;
    if (rc == 0 && interval > 0 && !superseded &&
        checkpoint_due(s, snap, version, interval, o->checkpoint_min_change)) {
        res.checkpoint_tried = true;
        rc = at_version(&at, &owned, s, snap, version, err);
        if (rc == 0) rc = dc_delta_checkpoint_write(&res.checkpoint, at, err);
        if (rc == 0) res.checkpointed = true;
        else dc_err_prefix(err, "checkpoint at version %lld", (long long)version);
        res.checkpoint_seconds = now_s() - t0;
    }
    if (rc == 0 && res.checkpointed && o->log_cleanup) {
        t0 = now_s();
        res.log_tried = true;
        dc_maint_log_opts lo;
        dc_maint_log_opts_init(&lo);
        lo.now_ms = o->now_ms;
        rc = dc_maint_log_cleanup(&res.log, s, dc_delta_snapshot_metadata(at), &lo, err);
        if (rc == 0) res.cleaned = !res.log.skipped;
        res.log_seconds = now_s() - t0;
    }
    if (rc == 0 && (o->manifest || props.manifest_on_commit)) {
        rc = at_version(&at, &owned, s, snap, version, err);
        if (rc == 0) rc = dc_maint_manifest_write(&res.manifest_info, at, err);
        if (rc == 0) res.manifest = true;
    }
    dc_delta_snapshot_free(owned);
    if (out) *out = res;
    return rc;
}
