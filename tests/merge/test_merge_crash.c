/* merge: crash safety and restarts. A batch stopped after writing its data
 * files but before its commit leaves the table as it was, and running the
 * same batch again (after a restart) gives the state an uninterrupted run
 * gives; a batch replayed after its commit changes nothing; a reopened
 * table builds the same index the batches maintained. */
#include "merge_fixture.h"

#include <dirent.h>

static int stop_always(void) { return 1; }

static int count_parquet(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".parquet") != NULL;
    if (d) closedir(d);
    return n;
}

static void crash_before_commit(dc_merge_mode mode)
{
    char *want = mfx_scenario_state(mode);
    mfx f;
    mfx_open_id(&f, mode);
    mfx_scenario_batch1(&f);
    CHECK_EQ_INT(mfx_commit(&f), 1);
    char *after1 = mfx_state(&f);
    const int files1 = count_parquet(f.dir);
    /* The crash: data files written, no commit. */
    mfx_scenario_batch2(&f);
    dc_merge_test_hook_before_commit = stop_always;
    dc_err err;
    dc_err_clear(&err);
    dc_merge_result r;
    CHECK_EQ_INT(dc_merge_batch_commit(&r, f.b, &err), DC_EIO);
    dc_merge_test_hook_before_commit = NULL;
    dc_merge_batch_free(f.b);
    f.b = NULL;
    CHECK(count_parquet(f.dir) > files1); /* orphans, as a crash leaves them */
    MFX_STATE(&f, after1);
    /* Restart: the table resumes at the first offset not committed. */
    mfx_reopen(&f);
    int64_t next = 0;
    CHECK_OK(dc_merge_resume_offset(&next, f.t, "t", 0, &err), &err);
    CHECK_EQ_INT(next, 50);
    mfx_scenario_batch2(&f);
    CHECK_EQ_INT(mfx_commit(&f), 2);
    MFX_STATE(&f, want);
    /* A replay of both batches after the commit (no crash, a re-delivery). */
    f.next_off = 0;
    mfx_scenario_batch1(&f);
    mfx_scenario_batch2(&f);
    CHECK_EQ_INT(mfx_commit(&f), -1);
    MFX_STATE(&f, want);
    dc_free(want);
    dc_free(after1);
    mfx_close(&f);
}

TEST(merge_crash_before_commit_dv) { crash_before_commit(DC_MERGE_DV); }
TEST(merge_crash_before_commit_cow) { crash_before_commit(DC_MERGE_COW); }

/* After every batch, a reopened table builds the index the batches kept. */
static void reopen_same_index(dc_merge_mode mode)
{
    mfx f;
    mfx_open_id(&f, mode);
    const char ops[] = {'c', 'u', 'd', 'c', 'r', 't', 'c', 'u'};
    for (int round = 0; round < 8; round++) {
        for (int64_t i = 0; i < 40; i++) {
            if (ops[round] == 't' && i > 0) break;
            mfx_add(&f, ops[round], (i * 7 + round) % 53, 100 + round, "{}");
        }
        mfx_commit(&f);
        char *kept = mfx_index_dump(f.t);
        mfx_reopen(&f);
        char *built = mfx_index_dump(f.t);
        CHECK_EQ_STR(built, kept);
        dc_free(kept);
        dc_free(built);
    }
    mfx_close(&f);
}

TEST(merge_reopen_same_index_dv) { reopen_same_index(DC_MERGE_DV); }
TEST(merge_reopen_same_index_cow) { reopen_same_index(DC_MERGE_COW); }

/* A dv table (with DVs) written on in cow mode: the rewritten file drops
 * the rows its DV had deleted. */
TEST(merge_cow_on_dv_table)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    for (int64_t i = 0; i < 10; i++) mfx_add(&f, 'c', i, 1, "{}");
    mfx_commit(&f);
    mfx_add(&f, 'u', 3, 2, "{\"x\":3}");
    mfx_commit(&f);
    char *want = NULL;
    f.o.mode = DC_MERGE_COW;
    mfx_reopen(&f);
    mfx_add(&f, 'u', 4, 3, "{\"x\":4}");
    mfx_commit(&f);
    want = mfx_state(&f);
    CHECK(strstr(want, "3|2|u|10|{\"x\":3}\n") != NULL);
    CHECK(strstr(want, "4|3|u|11|{\"x\":4}\n") != NULL);
    CHECK(strstr(want, "5|1|c|5|{}\n") != NULL);
    char *kept = mfx_index_dump(f.t);
    mfx_reopen(&f);
    char *built = mfx_index_dump(f.t);
    CHECK_EQ_STR(built, kept);
    CHECK_EQ_INT(f.t->index.n, 10);
    dc_free(kept);
    dc_free(built);
    dc_free(want);
    mfx_close(&f);
}
