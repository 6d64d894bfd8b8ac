/* delta: the three-way outcome of a commit (delta_resolve.c). A put whose
 * reply was lost is found in the log (committed, once); one that never
 * landed is put again (committed, once); one that lost its version to
 * another writer goes down the conflict path (the next version); and when
 * the log can not be read back either, DC_EUNKNOWN goes up with the commit's
 * files left alone. Faults come from the fault backend (storage_fault.c). */
#include "../maint/maint_fixture.h"
#include "outcome_fixture.h"

/* One append of rows first..first+n-1 through `snap` (on any storage);
 * returns dc_delta_tx_commit's rc. */
static int append_via(int64_t *v, dc_delta_snapshot *snap, int first, int n, dc_err *err)
{
    dc_delta_file_writer *fw = NULL;
    dc_delta_tx *tx = NULL;
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    *v = -1;
    int rc = dc_delta_tx_new(&tx, snap, "WRITE", err);
    if (rc == 0) rc = dc_delta_file_writer_new(&fw, snap, NULL, err);
    for (int i = first; rc == 0 && i < first + n; i++) {
        char line[64];
        snprintf(line, sizeof line, "{\"id\":%d,\"_part\":\"a\"}", i);
        dc_json *row = NULL;
        dc_arena_reset(&a);
        rc = dc_json_parse(&row, &a, line, strlen(line), err);
        if (rc == 0) rc = dc_delta_file_writer_write_row(fw, row, err);
    }
    if (rc == 0) rc = dc_delta_file_writer_finish(fw, tx, err);
    if (rc == 0) rc = dc_delta_tx_commit(v, tx, err);
    dc_delta_file_writer_free(fw);
    dc_delta_tx_free(tx);
    dc_arena_dispose(&a);
    return rc;
}

/* A root on f->dir with `spec`'s faults, and the latest snapshot on it. */
typedef struct faulty {
    dc_storage *s;
    dc_delta_snapshot *snap;
} faulty;

static void faulty_open(faulty *q, const mt_fx *f, const char *spec)
{
    dc_err err;
    dc_storage *inner = NULL;
    memset(q, 0, sizeof *q);
    CHECK_OK(dc_storage_local_open(&inner, f->dir, &err), &err);
    CHECK_OK(dc_storage_fault_open(&q->s, inner, spec, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&q->snap, q->s, -1, &err), &err);
}

static void faulty_close(faulty *q)
{
    dc_delta_snapshot_free(q->snap);
    dc_storage_free(q->s);
}

static size_t live_rows(mt_fx *f)
{
    CHECK_OK(dc_delta_snapshot_update(f->snap, -1, &f->err), &f->err);
    size_t rows = 0;
    for (size_t i = 0; i < dc_delta_snapshot_n_files(f->snap); i++) {
        int64_t n = 0;
        CHECK_OK(dc_delta_stats_num_records(&n, dc_delta_snapshot_file(f->snap, i)->stats,
                                            &f->err), &f->err);
        rows += (size_t)n;
    }
    return rows;
}

/* A commit under `spec` (its first put lost one way or another) ends
 * committed at version 2, exactly once. */
static void committed_once(const char *spec)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    CHECK_EQ_INT(mt_append(&f, 0, 10), 1);
    faulty q;
    faulty_open(&q, &f, spec);
    int64_t v = -1;
    CHECK_OK(append_via(&v, q.snap, 10, 5, &f.err), &f.err);
    CHECK_EQ_INT(v, 2);
    CHECK(dc_storage_fault_injected(q.s) >= 1);
    faulty_close(&q);
    CHECK_EQ_INT(outcome_check_files(f.dir), 2);
    CHECK(!mt_exists(&f, "_delta_log/00000000000000000003.json"));
    CHECK_EQ_INT(live_rows(&f), 15);
    mt_close(&f);
}

TEST(commit_outcome_reply_lost_after_the_put_is_committed)
{
    committed_once("put_if_absent@_delta_log/:after:#1");
}

TEST(commit_outcome_put_that_never_landed_is_put_again)
{
    committed_once("put_if_absent@_delta_log/:lost:#1");
}

TEST(commit_outcome_unknown_twice_then_found)
{
    /* the re-put is lost too, the read-back after it finds nothing, the
     * third attempt lands */
    committed_once("put_if_absent@_delta_log/:lost:#1,put_if_absent@_delta_log/:lost:#2");
}

TEST(commit_outcome_hang_either_way_commits_once)
{
    for (unsigned seed = 1; seed <= 6; seed++) {
        char spec[96];
        snprintf(spec, sizeof spec, "put_if_absent@_delta_log/:hang:#1,hang_ms=1,seed=%u", seed);
        committed_once(spec);
    }
}

TEST(commit_outcome_version_taken_by_another_writer_goes_to_the_next)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    CHECK_EQ_INT(mt_append(&f, 0, 10), 1);
    faulty q; /* our writer read version 1 */
    faulty_open(&q, &f, "put_if_absent@_delta_log/:lost:#1");
    CHECK_EQ_INT(mt_append(&f, 100, 3), 2); /* another writer takes version 2 */
    int64_t v = -1;
    CHECK_OK(append_via(&v, q.snap, 10, 5, &f.err), &f.err); /* blind appends: no conflict */
    CHECK_EQ_INT(v, 3);
    faulty_close(&q);
    CHECK_EQ_INT(outcome_check_files(f.dir), 3);
    CHECK_EQ_INT(live_rows(&f), 18);
    mt_close(&f);
}

TEST(commit_outcome_unreadable_log_stays_unknown)
{
    for (int landed = 0; landed < 2; landed++) {
        mt_fx f;
        mt_open(&f, false, false, NULL);
        CHECK_EQ_INT(mt_append(&f, 0, 10), 1);
        faulty q;
        faulty_open(&q, &f, landed ? "put_if_absent@_delta_log/:after:#1,"
                                     "read@_delta_log/00000000000000000002.json:before:1"
                                   : "put_if_absent@_delta_log/:lost:1,"
                                     "read@_delta_log/00000000000000000002.json:before:1");
        int64_t v = -1;
        CHECK_EQ_INT(append_via(&v, q.snap, 10, 5, &f.err), DC_EUNKNOWN);
        CHECK(strstr(f.err.msg, "may or may not be committed") != NULL);
        faulty_close(&q);
        /* whatever the log holds names only files that are there */
        CHECK_EQ_INT(outcome_check_files(f.dir), landed ? 2 : 1);
        CHECK_EQ_INT(live_rows(&f), landed ? 15 : 10);
        mt_close(&f);
    }
}

TEST(commit_outcome_resolve_tells_ours_from_theirs)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    static const char ours[] = "{\"commitInfo\":{\"txnId\":\"ours\"}}\n";
    static const char theirs[] = "{\"commitInfo\":{\"txnId\":\"theirs\"}}\n";
    CHECK_OK(dc_storage_put_if_absent(f.s, "_delta_log/00000000000000000001.json", theirs,
                                      sizeof theirs - 1, &f.err), &f.err);
    CHECK_EQ_INT(dc_delta_commit_resolve(f.s, 1, ours, sizeof ours - 1, &f.err), DC_EEXISTS);
    CHECK_OK(dc_delta_commit_resolve(f.s, 1, theirs, sizeof theirs - 1, &f.err), &f.err);
    /* absent: put again, then it is ours */
    CHECK_OK(dc_delta_commit_resolve(f.s, 2, ours, sizeof ours - 1, &f.err), &f.err);
    CHECK(mt_exists(&f, "_delta_log/00000000000000000002.json"));
    /* a longer file that starts with our bytes is not ours */
    CHECK_EQ_INT(dc_delta_commit_resolve(f.s, 1, theirs, 10, &f.err), DC_EEXISTS);
    mt_close(&f);
}
