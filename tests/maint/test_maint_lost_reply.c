/* maint: OPTIMIZE, checkpoints and property changes when the store applied a
 * write but the reply was lost. Each ends with the right version and every
 * file the log names present; OPTIMIZE whose commit stays unknown keeps the
 * files it rewrote (the commit may name them). */
#include "../test.h"

#include "../../src/maint/optimize.h"
#include "../delta/outcome_fixture.h"
#include "../merge/merge_fixture.h"
#include "maint_fixture.h"

/* A raw dv table with 12 small batches: version 12. */
static void small_table(mfx *f)
{
    mfx_open_id(f, DC_MERGE_DV);
    for (int b = 0; b < 12; b++) {
        for (int64_t i = 0; i < 20; i++) {
            char img[48];
            snprintf(img, sizeof img, "{\"id\":%lld,\"b\":%d}", (long long)(i * 3 + b) % 40, b);
            mfx_add(f, b && i % 4 == 0 ? 'u' : 'c', (i * 3 + b) % 40, 100 + b, img);
        }
        mfx_commit(f);
    }
}

static int optimize_dir(dc_optimize_result *r, const char *dir, dc_err *err)
{
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_optimize_opts o;
    dc_optimize_opts_init(&o);
    dc_optimize_result_init(r);
    int rc = dc_storage_open(&s, dir, err);
    if (rc == 0) rc = dc_delta_snapshot_load(&snap, s, -1, err);
    if (rc == 0) rc = dc_optimize_run(r, snap, &o, err);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return rc;
}

TEST(optimize_lost_reply_resolved_and_unknown)
{
    for (int unknown = 0; unknown < 2; unknown++) {
        mfx f;
        small_table(&f);
        char *before = mfx_state(&f);
        CHECK_EQ_INT(outcome_check_files(f.dir), 12);
        outcome_faults_on(unknown ? "put_if_absent@_delta_log/00000000000000000013.json:after:#1,"
                                    "read@_delta_log/00000000000000000013.json:before:1"
                                  : "put_if_absent@_delta_log/00000000000000000013.json:after:#1");
        dc_optimize_result r;
        dc_err err;
        dc_err_clear(&err);
        const int rc = optimize_dir(&r, f.dir, &err);
        outcome_faults_off();
        if (unknown) {
            CHECK_EQ_INT(rc, DC_EUNKNOWN);
            CHECK_EQ_INT(r.version, -1);
        } else {
            CHECK_OK(rc, &err);
            CHECK_EQ_INT(r.version, 13);
        }
        /* the commit landed either way: its rewritten file must be there */
        CHECK_EQ_INT(outcome_check_files(f.dir), 13);
        mfx_reopen(&f);
        MFX_STATE(&f, before);
        dc_optimize_result_dispose(&r);
        dc_free(before);
        mfx_close(&f);
    }
}

TEST(checkpoint_lost_reply_leaves_a_loadable_table)
{
    mt_fx f;
    mt_open(&f, true, false, NULL);
    for (int i = 0; i < 4; i++) mt_append(&f, i * 10, 10);
    const size_t files = dc_delta_snapshot_n_files(f.snap);
    outcome_faults_on("writer_commit@_delta_log/:after:#1,write@_delta_log/:after:#1");
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_storage_open(&s, f.dir, &f.err), &f.err);
    outcome_faults_off();
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &f.err), &f.err);
    dc_delta_checkpoint_info info;
    /* the checkpoint file is in place, the caller is told it may not be */
    CHECK_EQ_INT(dc_delta_checkpoint_write(&info, snap, &f.err), DC_EUNKNOWN);
    CHECK(mt_exists(&f, "_delta_log/00000000000000000004.checkpoint.parquet"));
    /* a second try: the checkpoint again, _last_checkpoint's reply lost */
    CHECK_EQ_INT(dc_delta_checkpoint_write(&info, snap, &f.err), DC_EUNKNOWN);
    CHECK(mt_exists(&f, "_delta_log/_last_checkpoint"));
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    /* what is there is whole: the table loads through it, same files */
    CHECK_EQ_INT(outcome_check_files(f.dir), 4);
    dc_delta_snapshot *again = NULL;
    CHECK_OK(dc_delta_snapshot_load(&again, f.s, -1, &f.err), &f.err);
    CHECK_EQ_INT(dc_delta_snapshot_n_files(again), files);
    dc_delta_snapshot_free(again);
    mt_close(&f);
}

TEST(properties_lost_reply_commit_once)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    mt_append(&f, 0, 10);
    outcome_faults_on("put_if_absent@_delta_log/00000000000000000002.json:after:#1");
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, f.dir, &f.err), &f.err);
    outcome_faults_off();
    const dc_delta_kv kv[] = {{"delta.logRetentionDuration", "interval 9 days"}};
    const dc_maint_prop_change c = {kv, 1, NULL, 0};
    int64_t v = -1;
    bool changed = false;
    CHECK_OK(dc_maint_set_properties(&v, &changed, s, &c, &f.err), &f.err);
    CHECK(changed);
    CHECK_EQ_INT(v, 2);
    CHECK_EQ_INT(dc_storage_fault_injected(s), 1);
    dc_storage_free(s);
    CHECK_EQ_INT(outcome_check_files(f.dir), 2);
    CHECK(!mt_exists(&f, "_delta_log/00000000000000000003.json"));
    CHECK_OK(dc_delta_snapshot_update(f.snap, -1, &f.err), &f.err);
    bool found = false;
    const char *val = dc_delta_map_get(&dc_delta_snapshot_metadata(f.snap)->configuration,
                                       "delta.logRetentionDuration", &found);
    CHECK(found);
    CHECK_EQ_STR(val, "interval 9 days");
    mt_close(&f);
}
