/* daemon: the dead-letter table's append when the commit PUT took effect
 * but its reply was lost: resolved, the records are in the table once with
 * their positions; unresolved, DC_EUNKNOWN goes up (the daemon stops) and
 * the visible commit's file is still there, so a rerun skips the records. */
#include "../test.h"

#include "../../src/daemon/ingest_int.h"
#include "../delta/outcome_fixture.h"

static int64_t dlq_rows(const char *dir)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    int64_t rows = 0;
    CHECK_OK(dc_storage_local_open(&s, dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    for (size_t i = 0; snap && i < dc_delta_snapshot_n_files(snap); i++) {
        int64_t n = 0;
        CHECK_OK(dc_delta_stats_num_records(&n, dc_delta_snapshot_file(snap, i)->stats, &err),
                 &err);
        rows += n;
    }
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return rows;
}

static void lost_reply(bool unknown)
{
    char *dir = dc_test_tmpdir("dc_dlq");
    outcome_faults_on(unknown ? "put_if_absent@_delta_log/00000000000000000001.json:after:#1,"
                                "read@_delta_log/00000000000000000001.json:before:1"
                              : "put_if_absent@_delta_log/00000000000000000001.json:after:#1");
    ing_dlq *d = NULL;
    dc_err err;
    dc_err_clear(&err);
    CHECK_OK(ing_dlq_open(&d, dir, "pipe", &err), &err);
    outcome_faults_off();
    CHECK_OK(ing_dlq_add(d, "topic.a", 0, 5, "bad", "x", 1, &err), &err);
    CHECK_OK(ing_dlq_add(d, "topic.a", 0, 7, "bad", NULL, 0, &err), &err);
    if (unknown) CHECK_EQ_INT(ing_dlq_commit(d, &err), DC_EUNKNOWN);
    else CHECK_OK(ing_dlq_commit(d, &err), &err);
    ing_dlq_free(d);
    CHECK_EQ_INT(outcome_check_files(dir), 1);
    CHECK_EQ_INT(dlq_rows(dir), 2);
    /* a rerun (after the daemon stopped) knows both records are there */
    CHECK_OK(ing_dlq_open(&d, dir, "pipe", &err), &err);
    CHECK(ing_dlq_has(d, "topic.a", 0, 5));
    CHECK(ing_dlq_has(d, "topic.a", 0, 7));
    CHECK(!ing_dlq_has(d, "topic.a", 0, 8));
    ing_dlq_free(d);
    dc_test_rm_rf(dir);
    free(dir);
}

TEST(dlq_lost_reply_resolved) { lost_reply(false); }
TEST(dlq_lost_reply_unknown) { lost_reply(true); }
