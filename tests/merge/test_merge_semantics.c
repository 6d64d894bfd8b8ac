/* merge: every rule of merge.h, with small batches into a temporary table,
 * checked through the Delta read side, in both modes (dv and cow). */
#include "merge_fixture.h"

#define V1 "{\"v\":1}"
#define V2 "{\"v\":2}"
#define V3 "{\"v\":3}"

static int64_t live_files(const mfx *f, int64_t *with_dv)
{
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_storage_open(&s, f->dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    const int64_t n = snap ? (int64_t)dc_delta_snapshot_n_files(snap) : -1;
    *with_dv = 0;
    for (int64_t i = 0; snap && i < n; i++) *with_dv += dc_delta_snapshot_file(snap, (size_t)i)->has_dv;
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return n;
}

static void insert_update(dc_merge_mode mode)
{
    mfx f;
    mfx_open_id(&f, mode);
    mfx_add(&f, 'c', 1, 100, V1);
    mfx_add(&f, 'c', 2, 100, V2);
    CHECK_EQ_INT(mfx_commit(&f), 1);
    CHECK_EQ_INT(f.res.inserted, 2);
    CHECK_EQ_INT(f.res.source_rows, 2);
    MFX_STATE(&f, "1|100|c|0|" V1 "\n2|100|c|1|" V2 "\n");
    mfx_add(&f, 'u', 1, 200, V3);
    CHECK_EQ_INT(mfx_commit(&f), 2);
    CHECK_EQ_INT(f.res.updated, 1);
    CHECK_EQ_INT(f.res.inserted, 0);
    MFX_STATE(&f, "1|200|u|2|" V3 "\n2|100|c|1|" V2 "\n");
    int64_t dvs = 0;
    const int64_t files = live_files(&f, &dvs);
    /* dv: the old file keeps row 2 with a DV, plus the new file; cow: the old
     * file is rewritten without row 1, plus the new file. */
    CHECK_EQ_INT(files, 2);
    CHECK_EQ_INT(dvs, mode == DC_MERGE_DV ? 1 : 0);
    CHECK_EQ_INT(f.t->index.n, 2);
    mfx_close(&f);
}

TEST(merge_insert_update_dv) { insert_update(DC_MERGE_DV); }
TEST(merge_insert_update_cow) { insert_update(DC_MERGE_COW); }

/* A late or replayed event never regresses a row. */
static void stale(dc_merge_mode mode)
{
    mfx f;
    mfx_open_id(&f, mode);
    mfx_add(&f, 'c', 1, 100, V1);
    mfx_add(&f, 'u', 1, 300, V2);
    mfx_commit(&f);
    MFX_STATE(&f, "1|300|u|1|" V2 "\n");
    mfx_add(&f, 'u', 1, 250, V3);        /* later offset, older ts_ms */
    CHECK(mfx_commit(&f) > 0);           /* the txn still moves on */
    CHECK_EQ_INT(f.res.stale, 1);
    CHECK_EQ_INT(f.res.updated, 0);
    MFX_STATE(&f, "1|300|u|1|" V2 "\n");
    /* The same offsets again (a replay after a crash): skipped, no commit. */
    const dc_cdc_event e = mfx_ev('u', 1, 999, V3);
    mfx_add_at(&f, &e, "t", 0, 2);
    CHECK_EQ_INT(mfx_commit(&f), -1);
    CHECK_EQ_INT(f.res.stale, 1);
    CHECK_EQ_INT(f.res.source_rows, 1);
    MFX_STATE(&f, "1|300|u|1|" V2 "\n");
    mfx_close(&f);
}

TEST(merge_stale_dv) { stale(DC_MERGE_DV); }
TEST(merge_stale_cow) { stale(DC_MERGE_COW); }

/* Within a batch the greatest (ts_ms, offset) wins, not the last added. */
static void out_of_order(dc_merge_mode mode)
{
    mfx f;
    mfx_open_id(&f, mode);
    mfx_add(&f, 'c', 1, 500, V1);
    mfx_add(&f, 'u', 1, 400, V2);  /* older ts_ms, later offset: loses */
    mfx_add(&f, 'c', 2, 100, V1);
    mfx_add(&f, 'u', 2, 100, V2);  /* same ts_ms: the later offset wins */
    mfx_commit(&f);
    CHECK_EQ_INT(f.res.inserted, 2);
    MFX_STATE(&f, "1|500|c|0|" V1 "\n2|100|u|3|" V2 "\n");
    /* Across batches: an older ts_ms later on is stale, a newer one wins. */
    mfx_add(&f, 'u', 1, 450, V3);
    mfx_add(&f, 'u', 2, 101, V3);
    mfx_commit(&f);
    CHECK_EQ_INT(f.res.stale, 1);
    CHECK_EQ_INT(f.res.updated, 1);
    MFX_STATE(&f, "1|500|c|0|" V1 "\n2|101|u|5|" V3 "\n");
    mfx_close(&f);
}

TEST(merge_out_of_order_dv) { out_of_order(DC_MERGE_DV); }
TEST(merge_out_of_order_cow) { out_of_order(DC_MERGE_COW); }

/* Deletes keep a tombstone (before image); a re-created key comes back;
 * r rows are inserted like c. */
static void delete_recreate(dc_merge_mode mode)
{
    mfx f;
    mfx_open_id(&f, mode);
    mfx_add(&f, 'r', 1, 100, V1);
    mfx_add(&f, 'c', 2, 100, V2);
    mfx_commit(&f);
    CHECK_EQ_INT(f.res.inserted, 2);
    mfx_add(&f, 'd', 1, 200, V1);
    mfx_add(&f, 'd', 3, 200, V3);        /* delete of a key never seen: tombstone too */
    mfx_commit(&f);
    CHECK_EQ_INT(f.res.deleted, 2);
    CHECK_EQ_INT(f.res.inserted, 0);
    MFX_STATE(&f, "1|200|d|2|" V1 "\n2|100|c|1|" V2 "\n3|200|d|3|" V3 "\n");
    mfx_add(&f, 'c', 1, 300, V3);
    mfx_commit(&f);
    CHECK_EQ_INT(f.res.inserted, 1);     /* re-created, not updated */
    CHECK_EQ_INT(f.res.updated, 0);
    MFX_STATE(&f, "1|300|c|4|" V3 "\n2|100|c|1|" V2 "\n3|200|d|3|" V3 "\n");
    /* A delete and a re-create in one batch: the later one wins. */
    mfx_add(&f, 'd', 2, 400, V2);
    mfx_add(&f, 'c', 2, 401, V1);
    mfx_commit(&f);
    MFX_STATE(&f, "1|300|c|4|" V3 "\n2|401|c|6|" V1 "\n3|200|d|3|" V3 "\n");
    mfx_close(&f);
}

TEST(merge_delete_recreate_dv) { delete_recreate(DC_MERGE_DV); }
TEST(merge_delete_recreate_cow) { delete_recreate(DC_MERGE_COW); }

/* A delete with neither image keeps a tombstone with a null json_record;
 * an event without ts_ms has a null ts_ms and loses to any with one. */
TEST(merge_null_images)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    dc_cdc_event e = mfx_ev('d', 1, 0, NULL);
    e.has_ts_ms = false;
    mfx_add_at(&f, &e, "t", 0, 0);
    mfx_commit(&f);
    MFX_STATE(&f, "1|-|d|0|-\n");
    f.next_off = 1;
    mfx_add(&f, 'c', 1, 5, V1);
    mfx_commit(&f);
    MFX_STATE(&f, "1|5|c|1|" V1 "\n");
    mfx_close(&f);
}

/* t removes every row committed before it; rows of the batch after it stay;
 * a replayed truncate (offset at or below the txn) removes nothing. */
static void truncate_rows(dc_merge_mode mode)
{
    mfx f;
    mfx_open_id(&f, mode);
    mfx_add(&f, 'c', 1, 100, V1);
    mfx_add(&f, 'c', 2, 100, V1);
    mfx_commit(&f);
    mfx_add(&f, 'c', 3, 200, V2);       /* before the truncate: gone */
    mfx_add(&f, 't', 0, 300, NULL);
    mfx_add(&f, 'c', 4, 400, V3);       /* after it: stays */
    mfx_add(&f, 'u', 1, 50, V3);        /* after it, even with an old ts_ms */
    const int64_t v_trunc = mfx_commit(&f);
    CHECK(v_trunc > 0);
    CHECK(f.res.truncate);
    CHECK_EQ_INT(f.res.truncated, 2); /* the rows committed before it, not the batch's */
    CHECK_EQ_INT(f.res.deleted, 0);
    MFX_STATE(&f, "1|50|u|5|" V3 "\n4|400|c|4|" V3 "\n");
    CHECK_EQ_INT(f.t->index.n, 2);
    mfx_add(&f, 'c', 6, 500, V1);
    mfx_commit(&f);
    /* Replay offsets 2..5 (the truncate batch): nothing happens. */
    f.next_off = 2;
    mfx_add(&f, 'c', 3, 200, V2);
    mfx_add(&f, 't', 0, 300, NULL);
    mfx_add(&f, 'c', 4, 400, V3);
    mfx_add(&f, 'u', 1, 50, V3);
    CHECK_EQ_INT(mfx_commit(&f), -1);
    CHECK(!f.res.truncate && f.res.truncated == 0);
    MFX_STATE(&f, "1|50|u|5|" V3 "\n4|400|c|4|" V3 "\n6|500|c|6|" V1 "\n");
    mfx_close(&f);
}

TEST(merge_truncate_dv) { truncate_rows(DC_MERGE_DV); }
TEST(merge_truncate_cow) { truncate_rows(DC_MERGE_COW); }

/* Composite and string keys: exact matches on every part. */
static dc_cdc_event ev2(char op, int64_t a, const char *b, int64_t ts, const char *img)
{
    dc_cdc_event e = mfx_ev(op, a, ts, img);
    e.n_keys = 2;
    e.keys[1].type = DC_CDC_KEY_STRING;
    e.keys[1].s = b;
    e.keys[1].len = (uint32_t)strlen(b);
    return e;
}

static void composite(dc_merge_mode mode)
{
    static const char *const names[] = {"a", "b"};
    static const dc_cdc_key_type types[] = {DC_CDC_KEY_LONG, DC_CDC_KEY_STRING};
    mfx f;
    mfx_init(&f, mode, 2, names, types);
    mfx_open(&f);
    CHECK(!f.t->index.int_keys);
    const dc_cdc_event e[] = {
        ev2('c', 1, "x", 100, V1), ev2('c', 1, "y", 100, V1), ev2('c', -2, "x", 100, V1),
        ev2('u', 1, "x", 200, V2), ev2('c', 1, "", 100, V3),
    };
    for (int i = 0; i < 3; i++) mfx_add_at(&f, &e[i], "t", 0, f.next_off++);
    mfx_commit(&f);
    for (int i = 3; i < 5; i++) mfx_add_at(&f, &e[i], "t", 0, f.next_off++);
    mfx_commit(&f);
    CHECK_EQ_INT(f.res.updated, 1);
    CHECK_EQ_INT(f.res.inserted, 1);
    MFX_STATE(&f, "-2,x|100|c|2|" V1 "\n1,x|200|u|3|" V2 "\n1,y|100|c|1|" V1 "\n1,|100|c|4|" V3
                  "\n");
    mfx_reopen(&f);
    CHECK_EQ_INT(f.t->index.n, 4);
    const dc_cdc_event late = ev2('u', 1, "y", 99, V2);
    mfx_add_at(&f, &late, "t", 0, f.next_off++);
    mfx_commit(&f);
    CHECK_EQ_INT(f.res.stale, 1);
    mfx_close(&f);
}

TEST(merge_composite_keys_dv) { composite(DC_MERGE_DV); }
TEST(merge_composite_keys_cow) { composite(DC_MERGE_COW); }

TEST(merge_string_keys)
{
    static const char *const names[] = {"k"};
    static const dc_cdc_key_type types[] = {DC_CDC_KEY_STRING};
    mfx f;
    mfx_init(&f, DC_MERGE_DV, 1, names, types);
    mfx_open(&f);
    dc_cdc_event e = mfx_ev('c', 0, 100, V1);
    const char *keys[] = {"alpha", "beta", "alpha"};
    for (int i = 0; i < 3; i++) {
        e.keys[0].type = DC_CDC_KEY_STRING;
        e.keys[0].s = keys[i];
        e.keys[0].len = (uint32_t)strlen(keys[i]);
        e.ts_ms = 100 + i;
        mfx_add_at(&f, &e, "t", 0, f.next_off++);
        mfx_commit(&f);
    }
    /* A number for a string key column is its decimal text. */
    e.keys[0].type = DC_CDC_KEY_LONG;
    e.keys[0].i = 42;
    mfx_add_at(&f, &e, "t", 0, f.next_off++);
    mfx_commit(&f);
    MFX_STATE(&f, "42|102|c|3|" V1 "\nalpha|102|c|2|" V1 "\nbeta|101|c|1|" V1 "\n");
    mfx_close(&f);
}

/* A string key for a long key column is refused, naming the column and
 * the position. */
TEST(merge_key_type_mismatch)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    dc_cdc_event e = mfx_ev('c', 1, 1, V1);
    e.keys[0].type = DC_CDC_KEY_STRING;
    e.keys[0].s = "1";
    e.keys[0].len = 1;
    dc_err err;
    dc_err_clear(&err);
    mfx_begin(&f);
    CHECK_EQ_INT(dc_merge_batch_add(f.b, &e, "top", 3, 7, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "'id'") != NULL);
    CHECK(strstr(err.msg, "top/3/7") != NULL);
    mfx_close(&f);
}

/* txn per topic-partition: the last offset of each, and resume offsets. */
TEST(merge_txn_and_resume)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    const dc_cdc_event a = mfx_ev('c', 1, 1, V1), b = mfx_ev('c', 2, 1, V1);
    dc_cdc_event skip = mfx_ev('c', 0, 0, NULL);
    skip.kind = DC_CDC_SKIP;
    mfx_add_at(&f, &a, "top", 0, 10);
    mfx_add_at(&f, &b, "top", 1, 3);
    mfx_add_at(&f, &skip, "top", 0, 11); /* skipped events move the offset too */
    mfx_commit(&f);
    CHECK_EQ_INT(f.res.source_rows, 3);
    dc_err err;
    dc_err_clear(&err);
    int64_t next = 0;
    CHECK_OK(dc_merge_resume_offset(&next, f.t, "top", 0, &err), &err);
    CHECK_EQ_INT(next, 12);
    CHECK_OK(dc_merge_resume_offset(&next, f.t, "top", 1, &err), &err);
    CHECK_EQ_INT(next, 4);
    CHECK_OK(dc_merge_resume_offset(&next, f.t, "top", 2, &err), &err);
    CHECK_EQ_INT(next, -1);
    CHECK_OK(dc_merge_resume_offset(&next, f.t, "other", 0, &err), &err);
    CHECK_EQ_INT(next, -1);
    /* The txn is in the log under "<pipeline>/<topic>/<partition>". */
    int64_t v = -1;
    CHECK_OK(dc_delta_snapshot_txn_version(&v, f.t->snap, "pipe/top/1"), &err);
    CHECK_EQ_INT(v, 3);
    mfx_close(&f);
}

/* commitInfo: MERGE with the metrics. */
TEST(merge_commit_info)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    mfx_add(&f, 'c', 1, 1, V1);
    mfx_commit(&f);
    mfx_add(&f, 'u', 1, 2, V2);
    mfx_add(&f, 'c', 2, 2, V2);
    mfx_add(&f, 'd', 3, 2, V2);
    mfx_add(&f, 'u', 1, 0, V2);
    const int64_t v = mfx_commit(&f);
    dc_err err;
    dc_err_clear(&err);
    dc_delta_commit *c = NULL;
    CHECK_OK(dc_delta_commit_read(&c, f.t->s, v, &err), &err);
    const char *ci = NULL;
    for (size_t i = 0; c && i < c->n_actions; i++)
        if (c->actions[i].type == DC_DELTA_ACTION_COMMIT_INFO) ci = c->actions[i].u.commit_info.json;
    CHECK(ci != NULL);
    if (ci) {
        CHECK(strstr(ci, "\"operation\":\"MERGE\"") != NULL);
        CHECK(strstr(ci, "\"numSourceRows\":\"4\"") != NULL);
        CHECK(strstr(ci, "\"numTargetRowsInserted\":\"1\"") != NULL);
        CHECK(strstr(ci, "\"numTargetRowsUpdated\":\"1\"") != NULL);
        CHECK(strstr(ci, "\"numTargetRowsDeleted\":\"1\"") != NULL);
        CHECK(strstr(ci, "\"predicate\":\"(target.id = source.id)\"") != NULL);
    }
    dc_delta_commit_free(c);
    mfx_close(&f);
}

/* A new file's rows are sorted by key: numerically for long parts, byte-wise
 * for string parts (the scan returns rows in file order). */
static char *scan_keys(const mfx *f)
{
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_scan *sc = NULL;
    const char *cols[] = {"a", "b"};
    dc_buf out;
    dc_buf_init(&out, 1 << 20);
    CHECK_OK(dc_storage_open(&s, f->dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    CHECK_OK(dc_delta_scan_new(&sc, snap, cols, 2, &err), &err);
    for (bool done = false; !done;) CHECK_OK(dc_delta_scan_next(sc, &out, &done, &err), &err);
    CHECK_OK(dc_buf_putc(&out, 0, &err), &err);
    dc_delta_scan_free(sc);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return (char *)dc_buf_steal(&out, NULL);
}

TEST(merge_new_file_sorted_by_key)
{
    static const char *const names[] = {"a", "b"};
    static const dc_cdc_key_type types[] = {DC_CDC_KEY_LONG, DC_CDC_KEY_STRING};
    mfx f;
    mfx_init(&f, DC_MERGE_DV, 2, names, types);
    mfx_open(&f);
    const dc_cdc_event e[] = {
        ev2('c', 300, "b", 1, V1), ev2('c', -7, "zz", 1, V1), ev2('c', 300, "ab", 1, V1),
        ev2('c', 2, "x", 1, V1), ev2('c', 300, "a", 1, V1),
    };
    for (int i = 0; i < 5; i++) mfx_add_at(&f, &e[i], "t", 0, f.next_off++);
    mfx_commit(&f);
    char *got = scan_keys(&f);
    CHECK_EQ_STR(got, "{\"a\":-7,\"b\":\"zz\"}\n{\"a\":2,\"b\":\"x\"}\n{\"a\":300,\"b\":\"a\"}\n"
                      "{\"a\":300,\"b\":\"ab\"}\n{\"a\":300,\"b\":\"b\"}\n");
    dc_free(got);
    mfx_close(&f);
}
