/* merge: a batch whose commit PUT took effect but whose reply was lost
 * (dv and cow). Resolved by reading the log back, the batch is committed
 * once at the right version with every file it names present; when the log
 * can not be read back either, the batch fails with DC_EUNKNOWN, keeps its
 * files (the visible commit names them), and a restart resumes after it.
 * Before the three-way outcome, such a failure disposed of the plan and
 * deleted the files of the visible commit. */
#include "merge_fixture.h"

#include "../delta/outcome_fixture.h"

#define V2 "_delta_log/00000000000000000002.json"

/* Version 1 committed normally, then the table reopened with `faults`. */
static void open_with_faults(mfx *f, dc_merge_mode mode, const char *faults)
{
    mfx_open_id(f, mode);
    mfx_scenario_batch1(f);
    CHECK_EQ_INT(mfx_commit(f), 1);
    outcome_faults_on(faults);
    mfx_reopen(f);
    outcome_faults_off();
}

static void lost_reply_resolved(dc_merge_mode mode)
{
    char *want = mfx_scenario_state(mode);
    mfx f;
    open_with_faults(&f, mode, "put_if_absent@" V2 ":after:#1");
    mfx_scenario_batch2(&f);
    CHECK_EQ_INT(mfx_commit(&f), 2);
    CHECK_EQ_INT(dc_storage_fault_injected(f.t->s), 1);
    MFX_STATE(&f, want);
    CHECK_EQ_INT(outcome_check_files(f.dir), 2);
    /* the index the batch kept is the one a reopened table builds */
    char *kept = mfx_index_dump(f.t);
    mfx_reopen(&f);
    char *built = mfx_index_dump(f.t);
    CHECK_EQ_STR(built, kept);
    dc_free(kept);
    dc_free(built);
    dc_free(want);
    mfx_close(&f);
}

TEST(merge_lost_reply_resolved_dv) { lost_reply_resolved(DC_MERGE_DV); }
TEST(merge_lost_reply_resolved_cow) { lost_reply_resolved(DC_MERGE_COW); }

static void lost_reply_unknown(dc_merge_mode mode)
{
    char *want = mfx_scenario_state(mode);
    mfx f;
    open_with_faults(&f, mode, "put_if_absent@" V2 ":after:#1,read@" V2 ":before:1");
    mfx_scenario_batch2(&f);
    dc_err err;
    dc_err_clear(&err);
    dc_merge_result r;
    CHECK_EQ_INT(dc_merge_batch_commit(&r, f.b, &err), DC_EUNKNOWN);
    dc_merge_batch_free(f.b);
    f.b = NULL;
    /* the commit is visible and every file it names is still there */
    CHECK_EQ_INT(outcome_check_files(f.dir), 2);
    /* Restart: the table resumes after the batch; a re-delivery is stale. */
    mfx_reopen(&f);
    int64_t next = 0;
    CHECK_OK(dc_merge_resume_offset(&next, f.t, "t", 0, &err), &err);
    CHECK_EQ_INT(next, 90);
    mfx_scenario_batch2(&f);
    CHECK_EQ_INT(mfx_commit(&f), -1);
    MFX_STATE(&f, want);
    dc_free(want);
    mfx_close(&f);
}

TEST(merge_lost_reply_unknown_keeps_files_dv) { lost_reply_unknown(DC_MERGE_DV); }
TEST(merge_lost_reply_unknown_keeps_files_cow) { lost_reply_unknown(DC_MERGE_COW); }
