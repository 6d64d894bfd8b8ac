/* merge: a batch commit whose Nth allocation fails either succeeds or
 * leaves the table and the index as they were ("after a failed commit the
 * batch is spent and the index is unchanged"); the same batch run again then
 * reaches the state of an undisturbed run. Run under ASan for leaks. */
#include "merge_fixture.h"

static void first_batch(mfx *f)
{
    for (int64_t i = 0; i < 20; i++) mfx_add(f, 'c', i, 100, "{\"a\":1}");
    mfx_commit(f);
}

static void second_batch(mfx *f)
{
    f->next_off = 20;
    for (int64_t i = 0; i < 20; i += 3) mfx_add(f, 'u', i, 200, "{\"a\":2}");
    mfx_add(f, 'd', 4, 200, "{\"a\":1}");
    mfx_add(f, 'c', 30, 200, "{\"a\":3}");
}

static char *control(dc_merge_mode mode, long *allocs)
{
    mfx f;
    mfx_open_id(&f, mode);
    first_batch(&f);
    second_batch(&f);
    dc_err err;
    dc_err_clear(&err);
    dc_alloc_fail_after(0);
    CHECK_OK(dc_merge_batch_commit(&f.res, f.b, &err), &err);
    *allocs = dc_alloc_count();
    char *s = mfx_state(&f);
    mfx_close(&f);
    return s;
}

/* One try with allocation n failing; true when the commit succeeded. */
static bool try_with_failure(dc_merge_mode mode, long n, const char *want)
{
    mfx f;
    mfx_open_id(&f, mode);
    first_batch(&f);
    char *state0 = mfx_state(&f);
    char *index0 = mfx_index_dump(f.t);
    second_batch(&f);
    dc_err err;
    dc_err_clear(&err);
    dc_merge_result r;
    dc_alloc_fail_after(n);
    const int rc = dc_merge_batch_commit(&r, f.b, &err);
    dc_alloc_fail_after(0);
    dc_merge_batch_free(f.b);
    f.b = NULL;
    if (rc == 0) {
        MFX_STATE(&f, want);
    } else {
        MFX_STATE(&f, state0);
        if (!f.t->broken) {
            char *index1 = mfx_index_dump(f.t);
            CHECK_EQ_STR(index1, index0);
            dc_free(index1);
        }
        second_batch(&f); /* the same batch again, on the same handle */
        mfx_commit(&f);
        MFX_STATE(&f, want);
    }
    /* Whatever happened, the index matches the table once caught up (a
     * commit whose read-back failed marks the table for a reload, which the
     * next call does). */
    int64_t next = 0;
    CHECK_OK(dc_merge_resume_offset(&next, f.t, "t", 0, &err), &err);
    CHECK_EQ_INT(next, 29);
    CHECK(!f.t->broken);
    char *kept = mfx_index_dump(f.t);
    mfx_reopen(&f);
    char *built = mfx_index_dump(f.t);
    CHECK_EQ_STR(built, kept);
    dc_free(kept);
    dc_free(built);
    dc_free(state0);
    dc_free(index0);
    mfx_close(&f);
    return rc == 0;
}

static void alloc_failures(dc_merge_mode mode)
{
    long total = 0;
    char *want = control(mode, &total);
    CHECK(total > 10);
    int ok = 0, failed = 0;
    for (long n = 1; n <= total + 1; n += n < 24 ? 1 : n / 6) {
        if (try_with_failure(mode, n, want)) ok++;
        else failed++;
    }
    if (try_with_failure(mode, total + 1, want)) ok++; /* the steps may end short of it */
    else failed++;
    CHECK(failed > 0);
    CHECK(ok > 0); /* past the last allocation the commit succeeds */
    dc_free(want);
}

TEST(merge_alloc_failures_dv) { alloc_failures(DC_MERGE_DV); }
TEST(merge_alloc_failures_cow) { alloc_failures(DC_MERGE_COW); }

/* Adding an event is all or nothing: a newer event for a key whose copy
 * fails leaves the earlier winner whole (before, its ts and op were already
 * the new event's and its image gone), and the position does not advance
 * past the event that is not in the batch. */
TEST(merge_oom_add_keeps_the_earlier_winner_whole)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    mfx_add(&f, 'c', 1, 100, "{\"a\":1}");
    /* an image bigger than an arena chunk: its copy is an allocation of its own */
    const size_t n = 4u << 20;
    char *big = dc_malloc(n + 1);
    CHECK(big != NULL);
    memset(big, ' ', n);
    memcpy(big, "{\"a\":2}", 7);
    big[n] = '\0';
    const dc_cdc_event e = mfx_ev('u', 1, 200, big);
    dc_err err;
    dc_err_clear(&err);
    dc_alloc_fail_after(1);
    const int rc = dc_merge_batch_add(f.b, &e, "t", 0, 1, &err);
    dc_alloc_fail_after(0);
    CHECK(rc < 0);
    CHECK_EQ_INT(mfx_commit(&f), 1);
    char *s = mfx_state(&f);
    CHECK_EQ_STR(s, "1|100|c|0|{\"a\":1}\n");
    int64_t next = 0;
    CHECK_OK(dc_merge_resume_offset(&next, f.t, "t", 0, &err), &err);
    CHECK_EQ_INT(next, 1); /* offset 1 was not added: not committed either */
    dc_free(s);
    dc_free(big);
    mfx_close(&f);
}
