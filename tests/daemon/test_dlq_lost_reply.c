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

static bool dlq_has(ing_dlq *d, const char *topic, int32_t partition, int64_t offset)
{
    dc_err err;
    bool has = false;
    CHECK_OK(ing_dlq_has(&has, d, topic, partition, offset, &err), &err);
    return has;
}

static void lost_reply(bool unknown)
{
    char *dir = dc_test_tmpdir("dc_dlq");
    outcome_faults_on(unknown ? "put_if_absent@_delta_log/00000000000000000001.json:after:#1,"
                                "read@_delta_log/00000000000000000001.json:before:#2+"
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
    CHECK(dlq_has(d, "topic.a", 0, 5));
    CHECK(dlq_has(d, "topic.a", 0, 7));
    CHECK(!dlq_has(d, "topic.a", 0, 8));
    ing_dlq_free(d);
    dc_test_rm_rf(dir);
    free(dir);
}

TEST(dlq_lost_reply_resolved) { lost_reply(false); }
TEST(dlq_lost_reply_unknown) { lost_reply(true); }

/* A record dead-lettered under a long topic name (a file source's topic is
 * "file:" + a path of up to 4096 bytes) is found after a restart: the lookup
 * formatted into 1200 bytes and missed, so a rerun dead-lettered it twice. */
TEST(dlq_long_topic_found_after_restart)
{
    char *dir = dc_test_tmpdir("dc_dlq");
    char topic[3000];
    memcpy(topic, "file:/", 6);
    memset(topic + 6, 'x', sizeof topic - 7);
    topic[sizeof topic - 1] = '\0';
    ing_dlq *d = NULL;
    dc_err err;
    dc_err_clear(&err);
    CHECK_OK(ing_dlq_open(&d, dir, "pipe", &err), &err);
    CHECK_OK(ing_dlq_add(d, topic, 0, 41, "bad", "x", 1, &err), &err);
    CHECK_OK(ing_dlq_commit(d, &err), &err);
    ing_dlq_free(d);
    CHECK_OK(ing_dlq_open(&d, dir, "pipe", &err), &err);
    CHECK(dlq_has(d, topic, 0, 41));
    CHECK(!dlq_has(d, topic, 0, 42));
    ing_dlq_free(d);
    dc_test_rm_rf(dir);
    free(dir);
}
