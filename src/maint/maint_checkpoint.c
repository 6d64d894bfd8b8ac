/*
 * maint: the after-commit policy — automatic checkpoints every
 * delta.checkpointInterval commits (or our override), then log cleanup,
 * then the symlink manifest when asked for.
 *
 * Delta checkpoints when `version % interval == 0`. That alone misses a
 * checkpoint when the multiple was committed by another writer (a foreign
 * OPTIMIZE, a Spark job) or when we crashed between commit and checkpoint,
 * so we also checkpoint when the newest checkpoint is an interval or more
 * behind. _last_checkpoint tells which is the newest (one small read per
 * commit; it is a hint, so a missing or unreadable one counts as none).
 */
#include "maint_int.h"

void dc_maint_opts_init(dc_maint_opts *o)
{
    memset(o, 0, sizeof *o);
    o->log_cleanup = true;
}

/* Whether `version` should get a checkpoint under `interval` (> 0). */
static bool checkpoint_due(dc_storage *s, int64_t version, int64_t interval)
{
    if (version <= 0) return false;
    if (version % interval == 0) return true;
    const int64_t last = mt_last_checkpoint(s);
    if (last >= version) return false;
    return version - (last < 0 ? 0 : last) >= interval;
}

static int sync_snapshot(dc_delta_snapshot *snap, int64_t version, dc_err *err)
{
    const int64_t have = dc_delta_snapshot_version(snap);
    if (have > version)
        return dc_err_set(err, DC_EINVAL,
                          "maintenance after commit %lld: the snapshot is already at version "
                          "%lld", (long long)version, (long long)have);
    if (have < version) DC_TRY(dc_delta_snapshot_update(snap, version, err));
    return 0;
}

int dc_maint_after_commit(dc_maint_result *out, dc_storage *s, dc_delta_snapshot *snap,
                          int64_t version, const dc_maint_opts *o, dc_err *err)
{
    dc_maint_result res;
    dc_maint_props props;
    memset(&res, 0, sizeof res);
    int rc = sync_snapshot(snap, version, err);
    const dc_delta_metadata *m = rc == 0 ? dc_delta_snapshot_metadata(snap) : NULL;
    if (rc == 0) rc = dc_maint_props_from_metadata(&props, m, err);
    const int64_t interval = rc < 0 ? -1
                             : o->checkpoint_interval > 0 ? o->checkpoint_interval
                             : o->checkpoint_interval == 0 ? props.checkpoint_interval : -1;
    if (rc == 0 && interval > 0 && checkpoint_due(s, version, interval)) {
        rc = dc_delta_checkpoint_write(&res.checkpoint, snap, err);
        if (rc == 0) res.checkpointed = true;
        else dc_err_prefix(err, "checkpoint at version %lld", (long long)version);
    }
    if (rc == 0 && res.checkpointed && o->log_cleanup) {
        dc_maint_log_opts lo;
        dc_maint_log_opts_init(&lo);
        lo.now_ms = o->now_ms;
        rc = dc_maint_log_cleanup(&res.log, s, m, &lo, err);
        if (rc == 0) res.cleaned = !res.log.skipped;
    }
    if (rc == 0 && (o->manifest || props.manifest_on_commit)) {
        rc = dc_maint_manifest_write(&res.manifest_info, snap, err);
        if (rc == 0) res.manifest = true;
    }
    if (out) *out = res;
    return rc;
}
