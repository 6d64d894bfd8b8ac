/* merge: typed tables — the source position as the index's sequence (order
 * kept by the encoding), keys a hard delete leaves without a row (stale
 * older events, re-create), the per-partition watermark that makes
 * Debezium's repeats no-ops across a restart, and the rebuild of the index
 * from __source_pos. Events are built by hand with a schema block. */
#include "merge_fixture.h"

#define BLOCK "{\"type\":\"struct\",\"fields\":[" \
    "{\"type\":\"struct\",\"optional\":true,\"field\":\"before\",\"fields\":[" \
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"id\"}," \
    "{\"type\":\"string\",\"optional\":true,\"field\":\"v\"}]}," \
    "{\"type\":\"struct\",\"optional\":true,\"field\":\"after\",\"fields\":[" \
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"id\"}," \
    "{\"type\":\"string\",\"optional\":true,\"field\":\"v\"}]}," \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"}]}"

static void tfx_open(mfx *f, dc_merge_mode mode, bool soft)
{
    static const char *const names[] = {"id"};
    static const dc_cdc_key_type types[] = {DC_CDC_KEY_LONG};
    if (!f->dir[0]) mfx_init(f, mode, 1, names, types);
    f->o.format = DC_FORMAT_TYPED;
    f->o.typed.soft_deletes = soft;
    f->o.typed.create_schema = BLOCK;
    f->o.typed.create_schema_len = strlen(BLOCK);
    mfx_open(f);
}

/* An event of key id at binlog position (file 3, pos), value v. */
static dc_cdc_event tev(char op, int64_t id, int64_t pos, int64_t ts, const char *img)
{
    dc_cdc_event e = mfx_ev(op, id, ts, img);
    e.schema = BLOCK;
    e.schema_len = (uint32_t)strlen(BLOCK);
    e.has_srcpos = true;
    e.srcpos.file = 3;
    e.srcpos.pos = pos;
    e.src_file = "mysql-bin.000003";
    e.src_file_len = (uint32_t)strlen(e.src_file);
    return e;
}

static void add(mfx *f, char op, int64_t id, int64_t pos, int64_t ts, const char *img)
{
    const dc_cdc_event e = tev(op, id, pos, ts, img);
    mfx_add_at(f, &e, "t", 0, f->next_off++);
}

static void commit(mfx *f)
{
    dc_err err;
    dc_err_clear(&err);
    CHECK_OK(dc_merge_batch_commit(&f->res, f->b, &err), &err);
    dc_merge_batch_free(f->b);
    f->b = NULL;
}

/* The key's slot value with its exact sequence (a row's read back from its
 * file); *found false when the index does not hold it. */
static mx_val slot_of(const mfx *f, int64_t id, bool *found)
{
    const mkey k = {dc_mx_hash_i64(&f->t->index, id), id, NULL, 0};
    const size_t s = dc_mx_find(&f->t->index, &k);
    *found = s != SIZE_MAX;
    mx_val v = {0, 0, {0, 0}};
    if (!*found) return v;
    v = dc_mx_get(&f->t->index, s);
    if (v.file == MX_FILE_NONE) return v;
    dc_err err;
    dc_err_clear(&err);
    CHECK_OK(dc_merge_row_seq_read(&v.seq, f->t, v.file, v.row & MX_ROW_MASK, &err), &err);
    return v;
}

TEST(merge_typed_pos_order)
{
    /* file, then pos, then snapshot before stream, then row */
    const dc_cdc_srcpos p[] = {{2, 900000, 5, false}, {3, 4, 0, true}, {3, 4, 0, false},
                               {3, 4, 1, false}, {3, 5, 0, true}, {3, 0xfffffffeLL, 9, false},
                               {4, 0, 0, false}};
    for (size_t i = 0; i + 1 < sizeof p / sizeof *p; i++) {
        CHECK(dc_mseq_cmp(dc_mtyped_pos_seq(&p[i]), dc_mtyped_pos_seq(&p[i + 1])) < 0);
        CHECK(dc_cdc_srcpos_cmp(&p[i], &p[i + 1]) < 0); /* the decoder's order agrees */
    }
    CHECK_EQ_INT(dc_mseq_cmp(dc_mtyped_pos_seq(&p[2]), dc_mtyped_pos_seq(&p[2])), 0);
}

static void hard_delete(dc_merge_mode mode)
{
    mfx f;
    memset(&f, 0, sizeof f);
    tfx_open(&f, mode, false);
    f.next_off = 1;
    add(&f, 'c', 1, 100, 5000, "{\"id\":1,\"v\":\"a\"}");
    add(&f, 'c', 2, 110, 5001, "{\"id\":2,\"v\":\"b\"}");
    commit(&f);
    CHECK_EQ_INT(f.res.inserted, 2);
    add(&f, 'd', 1, 120, 5002, "{\"id\":1,\"v\":\"a\"}");
    commit(&f);
    CHECK_EQ_INT(f.res.deleted, 1);
    bool found = false;
    mx_val v = slot_of(&f, 1, &found);
    CHECK(found);                              /* the key stays, without a row */
    CHECK_EQ_INT(v.file, MX_FILE_NONE);
    /* An older event for the deleted key (a late one, or a repeat with a new
     * ts_ms) from another partition, where no watermark applies: stale. */
    dc_cdc_event e = tev('u', 1, 105, 9999, "{\"id\":1,\"v\":\"late\"}");
    mfx_add_at(&f, &e, "t", 1, 1);
    commit(&f);
    CHECK_EQ_INT(f.res.inserted + f.res.updated, 0);
    CHECK_EQ_INT(f.res.repeats, 1);
    /* A newer create brings it back. */
    add(&f, 'c', 1, 130, 5003, "{\"id\":1,\"v\":\"again\"}");
    commit(&f);
    CHECK_EQ_INT(f.res.inserted, 1);
    v = slot_of(&f, 1, &found);
    CHECK(found && v.file != MX_FILE_NONE);
    mfx_close(&f);
}
TEST(merge_typed_hard_delete_dv) { hard_delete(DC_MERGE_DV); }
TEST(merge_typed_hard_delete_cow) { hard_delete(DC_MERGE_COW); }

/* A restart that loads the persisted key index keeps a deleted key with its
 * delete's position, so the late event above is stale after the restart too
 * (a built index would not know the key: no watermark covers partition 1). */
TEST(merge_typed_hard_delete_kept_by_the_index_file)
{
    mfx f;
    memset(&f, 0, sizeof f);
    tfx_open(&f, DC_MERGE_DV, false);
    f.o.index_file = true;
    f.next_off = 1;
    add(&f, 'c', 1, 100, 5000, "{\"id\":1,\"v\":\"a\"}");
    commit(&f);
    add(&f, 'd', 1, 120, 5002, "{\"id\":1,\"v\":\"a\"}");
    commit(&f);
    dc_err err;
    dc_err_clear(&err);
    CHECK_OK(dc_merge_table_persist(f.t, &err), &err);
    mfx_reopen(&f);
    dc_merge_index_stats st;
    dc_merge_index_stats_get(&st, f.t);
    CHECK_EQ_INT(st.loads, 1);
    bool found = false;
    const mx_val v = slot_of(&f, 1, &found);
    CHECK(found && v.file == MX_FILE_NONE);
    dc_cdc_event e = tev('u', 1, 105, 9999, "{\"id\":1,\"v\":\"late\"}");
    mfx_add_at(&f, &e, "t", 1, 1);
    commit(&f);
    CHECK_EQ_INT(f.res.inserted + f.res.updated, 0);
    CHECK_EQ_INT(f.res.repeats, 1);
    mfx_close(&f);
}

TEST(merge_typed_watermark_across_restart)
{
    mfx f;
    memset(&f, 0, sizeof f);
    tfx_open(&f, DC_MERGE_DV, false);
    f.next_off = 1;
    add(&f, 'c', 7, 200, 1, "{\"id\":7,\"v\":\"x\"}");
    add(&f, 'd', 7, 210, 2, "{\"id\":7,\"v\":\"x\"}");
    add(&f, 'c', 8, 220, 3, "{\"id\":8,\"v\":\"y\"}");
    /* within the batch: the connector re-sends from pos 200 */
    add(&f, 'c', 7, 200, 4, "{\"id\":7,\"v\":\"x\"}");
    commit(&f);
    CHECK_EQ_INT(f.res.repeats, 1);
    int64_t hi = 0, lo = 0;
    dc_delta_snapshot *snap = dc_merge_table_snapshot(f.t);
    CHECK(dc_delta_snapshot_txn_version(&hi, snap, "pipe/t/0#pos.hi") == 0);
    CHECK(dc_delta_snapshot_txn_version(&lo, snap, "pipe/t/0#pos.lo") == 0);
    const dc_cdc_srcpos top = {3, 220, 0, false};
    CHECK_EQ_INT(hi, dc_mtyped_pos_seq(&top).ts & ~DC_MTYPED_POS_BIT); /* stored as before */
    CHECK_EQ_INT(hi, 3);
    CHECK_EQ_INT(lo, dc_mtyped_pos_seq(&top).off);
    /* Restart: the index is rebuilt from the rows (key 7 has none), the
     * watermark from the txn; the repeat of 7's create is a no-op. */
    mfx_reopen(&f);
    bool found = true;
    (void)slot_of(&f, 7, &found);
    CHECK(!found);
    bool found8 = false;
    const mx_val v8 = slot_of(&f, 8, &found8); /* sequence from __source_pos */
    CHECK(found8 && dc_mseq_cmp(v8.seq, dc_mtyped_pos_seq(&top)) == 0);
    add(&f, 'c', 7, 200, 50, "{\"id\":7,\"v\":\"x\"}");
    add(&f, 'u', 8, 220, 51, "{\"id\":8,\"v\":\"y\"}");
    commit(&f);
    CHECK_EQ_INT(f.res.inserted + f.res.updated, 0);
    CHECK_EQ_INT(f.res.repeats, 2);
    (void)slot_of(&f, 7, &found);
    CHECK(!found);
    /* A primary-key change: MariaDB's delete of the old key and create of
     * the new one share one position; neither is a repeat. */
    add(&f, 'c', 9, 300, 60, "{\"id\":9,\"v\":\"z\"}");
    commit(&f);
    add(&f, 'd', 9, 310, 61, "{\"id\":9,\"v\":\"z\"}");
    commit(&f);
    add(&f, 'c', 10, 310, 61, "{\"id\":10,\"v\":\"z\"}");
    add(&f, 'd', 9, 310, 62, "{\"id\":9,\"v\":\"z\"}"); /* ... and that delete again */
    commit(&f);
    CHECK_EQ_INT(f.res.inserted, 1);
    CHECK_EQ_INT(f.res.repeats, 1);
    (void)slot_of(&f, 10, &found);
    CHECK(found);
    mfx_close(&f);
}

TEST(merge_typed_soft_delete_keeps_row)
{
    mfx f;
    memset(&f, 0, sizeof f);
    tfx_open(&f, DC_MERGE_DV, true);
    f.next_off = 1;
    add(&f, 'c', 1, 100, 1, "{\"id\":1,\"v\":\"a\"}");
    add(&f, 'd', 1, 110, 2, "{\"id\":1,\"v\":\"a\"}");
    commit(&f);
    bool found = false;
    const mx_val v = slot_of(&f, 1, &found);
    CHECK(found && v.file != MX_FILE_NONE && (v.row & MX_ROW_TOMB));
    CHECK(dc_delta_snapshot_n_files(dc_merge_table_snapshot(f.t)) == 1);
    mfx_close(&f);
}

/* The schema block with one more column "w" (a schema change). */
#define BLOCK_W "{\"type\":\"struct\",\"fields\":[" \
    "{\"type\":\"struct\",\"optional\":true,\"field\":\"after\",\"fields\":[" \
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"id\"}," \
    "{\"type\":\"string\",\"optional\":true,\"field\":\"v\"}," \
    "{\"type\":\"int32\",\"optional\":true,\"field\":\"w\"}]}," \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"}]}"

/* An image {"id":i,"v":v} in a static ring (events are copied when added). */
static const char *img(int64_t id, const char *v)
{
    static char ring[8][64];
    static unsigned at;
    char *b = ring[at++ % 8];
    snprintf(b, sizeof ring[0], "{\"id\":%lld,\"v\":\"%s\"}", (long long)id, v);
    return b;
}

static void oom_first(mfx *f)
{
    f->next_off = 1;
    for (int64_t i = 0; i < 20; i++) add(f, 'c', i, 100 + i, 1, img(i, "a"));
    commit(f);
}

/* Updates, a hard delete, a new key, and a record adding a column. */
static void oom_second(mfx *f)
{
    f->next_off = 21;
    for (int64_t i = 0; i < 20; i += 3) add(f, 'u', i, 200 + i, 2, img(i, "b"));
    add(f, 'd', 4, 300, 3, img(4, "a"));
    dc_cdc_event e = tev('c', 30, 310, 4, "{\"id\":30,\"v\":\"c\",\"w\":7}");
    e.schema = BLOCK_W;
    e.schema_len = (uint32_t)strlen(BLOCK_W);
    mfx_add_at(f, &e, "t", 0, f->next_off++);
}

static bool typed_try(dc_merge_mode mode, long n, const char *want, long *allocs)
{
    mfx f;
    memset(&f, 0, sizeof f);
    tfx_open(&f, mode, false);
    oom_first(&f);
    char *state0 = mfx_state(&f);
    oom_second(&f);
    dc_err err;
    dc_err_clear(&err);
    dc_merge_result r;
    dc_alloc_fail_after(n);
    const int rc = dc_merge_batch_commit(&r, f.b, &err);
    if (allocs) *allocs = dc_alloc_count();
    dc_alloc_fail_after(0);
    dc_merge_batch_free(f.b);
    f.b = NULL;
    char *st = NULL;
    if (rc < 0) { /* nothing changed; the same batch again reaches the state */
        MFX_STATE(&f, state0);
        oom_second(&f);
        commit(&f);
    }
    st = mfx_state(&f);
    if (want) CHECK_EQ_STR(st, want);
    mfx_reopen(&f); /* the table reads back (new column in its schema) */
    MFX_STATE(&f, st);
    dc_free(st);
    dc_free(state0);
    mfx_close(&f);
    return rc == 0;
}

static void typed_alloc_failures(dc_merge_mode mode)
{
    long total = 0;
    /* control run: the state an undisturbed commit reaches */
    mfx f;
    memset(&f, 0, sizeof f);
    tfx_open(&f, mode, false);
    oom_first(&f);
    oom_second(&f);
    dc_alloc_fail_after(0);
    commit(&f);
    total = dc_alloc_count();
    char *want = mfx_state(&f);
    CHECK(strstr(want, "\"w\":7") != NULL);
    mfx_close(&f);
    int ok = 0, failed = 0;
    /* the last try is total + 1, which the commit's allocations never reach */
    for (long n = 1; n <= total + 1; n = n == total + 1 ? n + 1 : n < 24 ? n + 1
                                       : n + n / 5 > total + 1 ? total + 1 : n + n / 5) {
        if (typed_try(mode, n, want, NULL)) ok++;
        else failed++;
    }
    CHECK(failed > 0);
    CHECK(ok > 0);
    dc_free(want);
}
TEST(merge_typed_alloc_failures_dv) { typed_alloc_failures(DC_MERGE_DV); }
TEST(merge_typed_alloc_failures_cow) { typed_alloc_failures(DC_MERGE_COW); }
