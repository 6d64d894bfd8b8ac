/* maint: every allocation of VACUUM, log cleanup, the manifest writer and
 * the after-commit policy made to fail in turn: the call fails cleanly
 * (DC_ENOMEM, no crash, nothing leaked under ASan), never deletes a file a
 * retained version needs, and a run without failures still completes. */
#include "maint_fixture.h"

/* A table with a tombstone and orphans, old enough for everything to go. */
static void setup(mt_fx *f, char live[2][256])
{
    mt_open(f, true, false, NULL);
    mt_append(f, 0, 4);
    mt_remove(f, 0);
    mt_live_rel(f, 0, live[0], 256);
    mt_live_rel(f, 1, live[1], 256);
    mt_touch(f, "orphan-1.parquet");
    mt_touch(f, "_part=a/orphan-2.parquet");
    mt_touch(f, "gone/orphan-3.parquet");
}

typedef int (*op_fn)(mt_fx *f, int64_t now);

static int op_vacuum(mt_fx *f, int64_t now)
{
    dc_maint_vacuum_opts o;
    dc_maint_vacuum_opts_init(&o);
    o.now_ms = now + 8 * MT_DAY;
    return dc_maint_vacuum(NULL, f->snap, &o, &f->err);
}

static int op_manifest(mt_fx *f, int64_t now)
{
    (void)now;
    return dc_maint_manifest_write(NULL, f->snap, &f->err);
}

static int op_cleanup(mt_fx *f, int64_t now)
{
    dc_maint_log_opts o;
    dc_maint_log_opts_init(&o);
    o.now_ms = now + 60 * MT_DAY;
    return dc_maint_log_cleanup(NULL, f->s, dc_delta_snapshot_metadata(f->snap), &o, &f->err);
}

static int op_after_commit(mt_fx *f, int64_t now)
{
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    o.checkpoint_interval = 1;
    o.manifest = true;
    o.now_ms = now + 60 * MT_DAY;
    return dc_maint_after_commit(NULL, f->s, f->snap, dc_delta_snapshot_version(f->snap), &o,
                                 &f->err);
}

/* A copy of the template table (cp -a keeps the ages; no fsync, so each
 * try costs a copy, not a table's worth of durable commits). */
static void clone(mt_fx *f, const mt_fx *tmpl)
{
    memset(f, 0, sizeof *f);
    char *d = dc_test_tmpdir("dc_maint_oom");
    CHECK(d != NULL && strlen(d) < sizeof f->dir);
    if (d) snprintf(f->dir, sizeof f->dir, "%s", d);
    free(d);
    char cmd[256];
    const int len = snprintf(cmd, sizeof cmd, "cp -a '%s/.' '%s/'", tmpl->dir, f->dir);
    CHECK(len > 0 && (size_t)len < sizeof cmd && system(cmd) == 0);
    CHECK_OK(dc_storage_open(&f->s, f->dir, &f->err), &f->err);
    CHECK_OK(dc_delta_snapshot_load(&f->snap, f->s, -1, &f->err), &f->err);
}

/* Fails allocation 1, 2, ... (after the first 64, every `stride`-th: the
 * checkpoint writer inside the policy makes thousands, each try fsyncs). */
static void run_with_failures(op_fn op, const char *name, long stride)
{
    const int64_t now = dc_maint_now(0);
    mt_fx tmpl;
    char live[2][256];
    setup(&tmpl, live);
    bool done = false;
    long n = 1;
    for (; n < 20000 && !done; n += n < 64 ? 1 : stride) {
        mt_fx f;
        clone(&f, &tmpl);
        dc_err_clear(&f.err);
        dc_alloc_fail_after(n);
        const int rc = op(&f, now);
        dc_alloc_fail_after(0);
        if (rc == 0) done = true;
        else if (rc != DC_ENOMEM) {
            dc_test_fail(__FILE__, __LINE__, "%s, allocation %ld failing: %d %s", name, n, rc,
                         f.err.msg);
        }
        CHECK(mt_exists(&f, live[0]));
        CHECK(mt_exists(&f, live[1]));
        /* The table still loads at its latest version. */
        dc_delta_snapshot *back = NULL;
        CHECK_OK(dc_delta_snapshot_load(&back, f.s, -1, &f.err), &f.err);
        if (back) CHECK_EQ_INT(dc_delta_snapshot_n_files(back), 2);
        dc_delta_snapshot_free(back);
        mt_close(&f);
    }
    mt_close(&tmpl);
    CHECK(done);
    CHECK(n > 3);  /* the operation allocates: failures were really injected */
}

TEST(maint_oom_vacuum) { run_with_failures(op_vacuum, "vacuum", 1); }
TEST(maint_oom_manifest) { run_with_failures(op_manifest, "manifest", 1); }
TEST(maint_oom_cleanup) { run_with_failures(op_cleanup, "log cleanup", 1); }
TEST(maint_oom_after_commit) { run_with_failures(op_after_commit, "after commit", 13); }
