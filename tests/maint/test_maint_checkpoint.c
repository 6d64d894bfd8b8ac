/* maint: the after-commit policy — checkpoints at the interval (the
 * table's, or ours), catching up after commits of other writers, log
 * cleanup after a checkpoint, the manifest option, snapshot handling. */
#include "maint_fixture.h"

static bool has_checkpoint(mt_fx *f, int64_t v)
{
    char rel[96];
    snprintf(rel, sizeof rel, "_delta_log/%020lld.checkpoint.parquet", (long long)v);
    return mt_exists(f, rel);
}

/* Commits n appends, calling the policy after each; returns how many
 * checkpoints it wrote. */
static int run(mt_fx *f, int n, const dc_maint_opts *o)
{
    int written = 0;
    for (int i = 0; i < n; i++) {
        const int64_t v = mt_append(f, i, 1);
        dc_maint_result r;
        CHECK_OK(dc_maint_after_commit(&r, f->s, f->snap, v, o, &f->err), &f->err);
        if (r.checkpointed) {
            written++;
            CHECK_EQ_INT(r.checkpoint.version, v);
            CHECK_EQ_INT(r.checkpoint.num_add_files, (int64_t)dc_delta_snapshot_n_files(f->snap));
        }
    }
    return written;
}

TEST(maint_policy_checkpoints_at_the_table_interval)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    CHECK_EQ_INT(run(&f, 21, &o), 2);  /* versions 1..21: 10 and 20 */
    for (int64_t v = 1; v <= 21; v++) CHECK_EQ_INT(has_checkpoint(&f, v), v == 10 || v == 20);
    CHECK(!mt_exists(&f, "_symlink_format_manifest"));
    /* The newest loads through its checkpoint. */
    dc_delta_snapshot *s = NULL;
    CHECK_OK(dc_delta_snapshot_load(&s, f.s, 20, &f.err), &f.err);
    if (s) CHECK_EQ_INT(dc_delta_snapshot_checkpoint_version(s), 20);
    dc_delta_snapshot_free(s);
    mt_close(&f);

    static const char *const props[] = {"delta.checkpointInterval=4", NULL};
    mt_open(&f, false, false, props);
    CHECK_EQ_INT(run(&f, 9, &o), 2);
    CHECK(has_checkpoint(&f, 4) && has_checkpoint(&f, 8));
    /* Our option overrides the table's; < 0 turns checkpoints off. Versions
     * 10..15 with interval 3: 11 (3 behind the checkpoint at 8), 12, 15. */
    o.checkpoint_interval = 3;
    CHECK_EQ_INT(run(&f, 6, &o), 3);
    CHECK(!has_checkpoint(&f, 10));
    CHECK(has_checkpoint(&f, 11) && has_checkpoint(&f, 12) && has_checkpoint(&f, 15));
    o.checkpoint_interval = -1;
    CHECK_EQ_INT(run(&f, 10, &o), 0);
    mt_close(&f);
}

TEST(maint_policy_catches_up_after_other_writers)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    o.checkpoint_interval = 5;
    for (int i = 0; i < 5; i++) mt_append(&f, i, 1);  /* 1..5 by "someone else" */
    CHECK_EQ_INT(run(&f, 1, &o), 1);                   /* 6: 6 - 0 >= 5 */
    CHECK(has_checkpoint(&f, 6));
    CHECK_EQ_INT(run(&f, 3, &o), 0);                   /* 7..9 */
    CHECK_EQ_INT(run(&f, 1, &o), 1);                   /* 10: a multiple */
    for (int i = 0; i < 6; i++) mt_append(&f, i, 1);  /* 11..16 elsewhere */
    CHECK_EQ_INT(run(&f, 1, &o), 1);                   /* 17: 17 - 10 >= 5 */
    CHECK(has_checkpoint(&f, 17));
    mt_close(&f);
}

/* The steady state reads no _last_checkpoint: the snapshot knows the
 * checkpoint it was loaded from and the ones written for it. Only when that
 * knowledge says one is due is the hint read, and a newer checkpoint there
 * (another writer's) is noted instead of written again. */
TEST(maint_policy_reads_no_last_checkpoint_in_the_steady_state)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    o.checkpoint_interval = 5;
    o.log_cleanup = false;
    for (int i = 0; i < 9; i++) {
        const int64_t v = mt_append(&f, i, 1);
        dc_storage_stats a, b, d;
        dc_storage_stats_get(f.s, &a);
        dc_maint_result r;
        CHECK_OK(dc_maint_after_commit(&r, f.s, f.snap, v, &o, &f.err), &f.err);
        dc_storage_stats_get(f.s, &b);
        dc_storage_stats_sub(&d, &b, &a);
        if (!r.checkpointed) CHECK_EQ_INT(d.get + d.list, 0);  /* versions 1..4, 6..9 */
        CHECK_EQ_INT(r.checkpointed, v == 5);
    }
    CHECK_EQ_INT(dc_delta_snapshot_known_checkpoint(f.snap), 5);
    /* Another writer checkpoints version 11 (our snapshot does not see it). */
    dc_delta_snapshot *other = NULL;
    mt_append(&f, 9, 1);
    mt_append(&f, 10, 1);
    CHECK_OK(dc_delta_snapshot_load(&other, f.s, 11, &f.err), &f.err);
    dc_delta_checkpoint_info info;
    if (other) CHECK_OK(dc_delta_checkpoint_write(&info, other, &f.err), &f.err);
    dc_delta_snapshot_free(other);
    CHECK_EQ_INT(dc_delta_snapshot_known_checkpoint(f.snap), 5);
    /* 12: 12 - 5 >= 5 by our knowledge; the hint says 11: noted, not written. */
    const int64_t v = mt_append(&f, 11, 1);
    dc_maint_result r;
    CHECK_OK(dc_maint_after_commit(&r, f.s, f.snap, v, &o, &f.err), &f.err);
    CHECK(!r.checkpointed && !has_checkpoint(&f, 12));
    CHECK_EQ_INT(dc_delta_snapshot_known_checkpoint(f.snap), 11);
    mt_close(&f);
}

/* One commit of n files nothing reads (their rows are what a checkpoint
 * writes). Returns the version. */
static int64_t bulk_add(mt_fx *f, int first, int n)
{
    dc_delta_tx *tx = NULL;
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_new(&tx, f->snap, "WRITE", &f->err), &f->err);
    for (int i = 0; tx && i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "bulk-%06d.parquet", first + i);
        dc_delta_add a;
        memset(&a, 0, sizeof a);
        a.path = path;
        a.size = 100;
        a.modification_time = 1;
        a.data_change = true;
        a.stats = "{\"numRecords\":1}";
        CHECK_OK(dc_delta_tx_add(tx, &a, &f->err), &f->err);
    }
    if (tx) CHECK_OK(dc_delta_tx_commit(&v, tx, &f->err), &f->err);
    dc_delta_tx_free(tx);
    CHECK_OK(dc_delta_snapshot_update(f->snap, -1, &f->err), &f->err);
    return v;
}

/* A checkpoint of 10,000 rows or more, due by the interval, waits until the
 * adds and removes since the last one reach checkpoint_min_change percent of
 * its rows, and 10 intervals at most; waiting reads nothing; 0 keeps
 * Delta's cadence; a large change is checkpointed at the next multiple. */
TEST(maint_policy_large_checkpoint_waits_for_changes)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    o.log_cleanup = false;
    CHECK_EQ_INT(o.checkpoint_min_change, 100);
    CHECK_EQ_INT(bulk_add(&f, 0, 10000), 1);
    CHECK_EQ_INT(run(&f, 9, &o), 1); /* 10: no checkpoint yet, so none to wait on */
    CHECK(has_checkpoint(&f, 10));
    for (int i = 0; i < 99; i++) {   /* 11..109: 99 changes against 10,000+ rows */
        const int64_t v = mt_append(&f, i, 1);
        dc_storage_stats a, b, d;
        dc_storage_stats_get(f.s, &a);
        dc_maint_result r;
        CHECK_OK(dc_maint_after_commit(&r, f.s, f.snap, v, &o, &f.err), &f.err);
        dc_storage_stats_get(f.s, &b);
        dc_storage_stats_sub(&d, &b, &a);
        CHECK(!r.checkpoint_tried);
        CHECK_EQ_INT(d.get + d.list + d.put, 0);
    }
    CHECK_EQ_INT(run(&f, 1, &o), 1); /* 110: ten intervals after 10 */
    CHECK(has_checkpoint(&f, 110));
    CHECK_EQ_INT(dc_delta_snapshot_changes_since_checkpoint(f.snap), 0);
    o.checkpoint_min_change = 0;
    CHECK_EQ_INT(run(&f, 10, &o), 1);
    CHECK(has_checkpoint(&f, 120));
    /* 121: 11,000 files, about half the rows of 130's checkpoint */
    o.checkpoint_min_change = 50;
    CHECK_EQ_INT(bulk_add(&f, 10000, 11000), 121);
    CHECK_EQ_INT(run(&f, 9, &o), 1);
    CHECK(has_checkpoint(&f, 130));
    mt_close(&f);
}

TEST(maint_policy_cleans_the_log_after_a_checkpoint)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    CHECK_EQ_INT(run(&f, 9, &o), 0);
    /* Pretend two months pass before commit 10. */
    o.now_ms = dc_maint_now(0) + 60 * MT_DAY;
    const int64_t v = mt_append(&f, 100, 1);
    dc_maint_result r;
    CHECK_OK(dc_maint_after_commit(&r, f.s, f.snap, v, &o, &f.err), &f.err);
    CHECK(r.checkpointed);
    CHECK(r.cleaned);
    CHECK_EQ_INT(r.log.plan.keep_from, 10);
    CHECK_EQ_INT(r.log.plan.n_remove, 10);
    CHECK(!mt_exists(&f, "_delta_log/00000000000000000009.json"));
    CHECK(mt_exists(&f, "_delta_log/00000000000000000010.json"));
    dc_delta_snapshot *s = NULL;
    CHECK_OK(dc_delta_snapshot_load(&s, f.s, -1, &f.err), &f.err);
    if (s) CHECK_EQ_INT(dc_delta_snapshot_n_files(s), 10);
    dc_delta_snapshot_free(s);
    /* Without log_cleanup the next checkpoint leaves the log alone. */
    o.log_cleanup = false;
    o.checkpoint_interval = 1;
    const int64_t v2 = mt_append(&f, 101, 1);
    CHECK_OK(dc_maint_after_commit(&r, f.s, f.snap, v2, &o, &f.err), &f.err);
    CHECK(r.checkpointed && !r.cleaned);
    CHECK(mt_exists(&f, "_delta_log/00000000000000000010.json"));
    mt_close(&f);
}

TEST(maint_policy_snapshot_and_manifest)
{
    mt_fx f;
    mt_open(&f, true, false, NULL);
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    o.manifest = true;
    mt_append(&f, 0, 10);
    /* A snapshot behind the committed version is left alone (the daemon's
     * index reflects it); the manifest is of the committed version. */
    dc_delta_snapshot *old = NULL;
    CHECK_OK(dc_delta_snapshot_load(&old, f.s, 0, &f.err), &f.err);
    dc_maint_result r;
    CHECK_OK(dc_maint_after_commit(&r, f.s, old, 1, &o, &f.err), &f.err);
    if (old) CHECK_EQ_INT(dc_delta_snapshot_version(old), 0);
    CHECK(r.manifest);
    CHECK_EQ_INT(r.manifest_info.n_files, 3);
    CHECK(mt_exists(&f, "_symlink_format_manifest/_part=a/manifest"));
    /* No snapshot at all: loaded. */
    CHECK_OK(dc_maint_after_commit(&r, f.s, NULL, 1, &o, &f.err), &f.err);
    CHECK(r.manifest);
    CHECK_EQ_INT(r.manifest_info.n_unchanged, 3);
    /* One ahead of the version is a caller's bug. */
    mt_append(&f, 10, 1);
    CHECK_EQ_INT(dc_maint_after_commit(&r, f.s, f.snap, 1, &o, &f.err), DC_EINVAL);
    dc_delta_snapshot_free(old);
    mt_close(&f);

    /* The table property asks for manifests too. */
    static const char *const props[] = {"delta.compatibility.symlinkFormatManifest.enabled=true",
                                        NULL};
    mt_open(&f, false, false, props);
    dc_maint_opts_init(&o);
    const int64_t v = mt_append(&f, 0, 3);
    CHECK_OK(dc_maint_after_commit(&r, f.s, f.snap, v, &o, &f.err), &f.err);
    CHECK(r.manifest);
    CHECK(mt_exists(&f, "_symlink_format_manifest/manifest"));
    mt_close(&f);
}

TEST(maint_policy_checkpoints_the_committed_version_from_an_older_snapshot)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    for (int i = 0; i < 9; i++) mt_append(&f, i, 1);
    dc_delta_snapshot *old = NULL;
    CHECK_OK(dc_delta_snapshot_load(&old, f.s, 9, &f.err), &f.err);
    const int64_t v = mt_append(&f, 9, 1);
    CHECK_EQ_INT(v, 10);
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    dc_maint_result r;
    CHECK_OK(dc_maint_after_commit(&r, f.s, old, v, &o, &f.err), &f.err);
    CHECK(r.checkpointed);
    CHECK_EQ_INT(r.checkpoint.version, 10);
    CHECK_EQ_INT(r.checkpoint.num_add_files, 10);
    if (old) CHECK_EQ_INT(dc_delta_snapshot_version(old), 9);
    dc_delta_snapshot_free(old);
    mt_close(&f);
}

/* A snapshot left broken by a failed update (out of memory while applying)
 * is never written or deleted from: VACUUM and the manifest refuse it, the
 * policy checkpoints from a fresh load. */
TEST(maint_broken_snapshot_is_never_used_for_writing)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    for (int i = 0; i < 4; i++) mt_append(&f, i, 1);
    dc_delta_snapshot *snap = NULL;
    bool broken = false;
    for (long n = 1; n < 2000 && !broken; n++) {
        dc_delta_snapshot_free(snap);
        snap = NULL;
        CHECK_OK(dc_delta_snapshot_load(&snap, f.s, 1, &f.err), &f.err);
        if (!snap) break;
        dc_err_clear(&f.err);
        dc_alloc_fail_after(n);
        const int rc = dc_delta_snapshot_update(snap, 4, &f.err);
        dc_alloc_fail_after(0);
        broken = rc < 0 && dc_delta_snapshot_broken(snap);
        if (rc == 0) break;  /* no allocation left to fail while applying */
    }
    CHECK(broken);
    if (!broken || !snap) {
        dc_delta_snapshot_free(snap);
        mt_close(&f);
        return;
    }
    dc_maint_vacuum_opts vo;
    dc_maint_vacuum_opts_init(&vo);
    CHECK_EQ_INT(dc_maint_vacuum(NULL, snap, &vo, &f.err), DC_EINVAL);
    CHECK(strstr(f.err.msg, "unusable") != NULL);
    CHECK_EQ_INT(dc_maint_manifest_write(NULL, snap, &f.err), DC_EINVAL);
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    o.checkpoint_interval = 1;
    o.manifest = true;
    dc_maint_result r;
    CHECK_OK(dc_maint_after_commit(&r, f.s, snap, 4,
                                   &o, &f.err), &f.err);
    CHECK(r.checkpointed);
    CHECK_EQ_INT(r.checkpoint.num_add_files, 4);
    CHECK_EQ_INT(r.manifest_info.n_files, 4);
    dc_delta_snapshot_free(snap);
    mt_close(&f);
}

/* A maintenance thread a whole interval behind leaves out the due checkpoint
 * a later one supersedes: following versions 1..25 once they are all
 * committed, it writes 20 only (not 10); in step (newest 0) it writes both. */
TEST(maint_policy_behind_writes_the_newest_due_checkpoint_only)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    o.checkpoint_interval = -1;
    CHECK_EQ_INT(run(&f, 25, &o), 0);
    o.checkpoint_interval = 0;
    o.newest = 25;
    int written = 0;
    for (int64_t v = 1; v <= 25; v++) {
        dc_maint_result r;
        CHECK_OK(dc_maint_after_commit(&r, f.s, NULL, v, &o, &f.err), &f.err);
        written += r.checkpointed;
    }
    CHECK_EQ_INT(written, 1);
    CHECK(!has_checkpoint(&f, 10) && has_checkpoint(&f, 20));
    o.newest = 0;
    dc_maint_result r;
    CHECK_OK(dc_maint_after_commit(&r, f.s, NULL, 10, &o, &f.err), &f.err);
    CHECK(r.checkpointed && has_checkpoint(&f, 10));
    mt_close(&f);
}
