/* merge: the persisted key index — the file round-trips (int and byte keys,
 * ghosts, the ordering window); every flipped byte, every truncation and a
 * file of another table is refused and leaves the index empty; a table
 * reopened loads its file (no build, no row read) and follows commits made
 * after it; a corrupt, foreign or stale file makes the open build instead,
 * and the index is the same either way. */
#include "merge_fixture.h"

#include <inttypes.h>

typedef struct membuf {
    dc_buf b;
    size_t limit;           /* reads past this fail (a truncated file) */
} membuf;

static int mem_put(void *ctx, const void *p, size_t n, dc_err *err)
{
    return dc_buf_append(&((membuf *)ctx)->b, p, n, err);
}

static int mem_read(void *ctx, uint64_t off, size_t n, void *dst, dc_err *err)
{
    const membuf *m = ctx;
    if (off > m->limit || n > m->limit - off) return dc_err_set(err, DC_ECORRUPT, "short read");
    memcpy(dst, m->b.data + off, n);
    return 0;
}

/* An index of 3000 keys (int or byte), some deleted (ghosts), some null ts. */
static void fill(mx_index *x, bool int_keys, dc_buf *kb)
{
    dc_err err;
    dc_err_clear(&err);
    dc_mx_init(x, int_keys);
    uint32_t id = 0;
    CHECK_OK(dc_mx_file_add(&id, x, "part-a.parquet", 5000, &err), &err);
    CHECK_OK(dc_mx_file_add(&id, x, "part-b.parquet", 5000, &err), &err);
    CHECK_OK(dc_mx_reserve(x, 3000, 3000 * 16, &err), &err);
    CHECK_OK(dc_mx_reserve_ghosts(x, 3000, &err), &err);
    for (int64_t i = 0; i < 3000; i++) {
        mkey k = {0, i * 7 - 100, NULL, 0};
        if (!int_keys) {
            dc_buf_reset(kb);
            CHECK_OK(dc_buf_appendf(kb, &err, "key-%" PRId64, i), &err);
            k.b = kb->data;
            k.len = (uint32_t)kb->len;
            k.hash = dc_mx_hash_bytes(x, k.b, k.len);
        } else {
            k.hash = dc_mx_hash_i64(x, k.i);
        }
        mx_val v = {(uint32_t)(i % 2), (uint32_t)i, {1700000000000LL + i * 1000, i}};
        if (i % 11 == 0) v.seq.ts = INT64_MIN;
        if (i % 13 == 0) v = (mx_val){MX_FILE_NONE, 0, {(int64_t)i, 5}};
        dc_mx_insert(x, &k, &v);
    }
}

static void encode(membuf *m, const mx_index *x, int64_t version, uint64_t ident)
{
    dc_err err;
    dc_err_clear(&err);
    dc_buf_init(&m->b, (size_t)1 << 30);
    CHECK_OK(dc_mxf_write(x, version, ident, mem_put, m, &err), &err);
    m->limit = m->b.len;
}

/* The same answers from both indexes for every key. */
static void same(const mx_index *a, const mx_index *b)
{
    CHECK_EQ_INT(a->n, b->n);
    CHECK_EQ_INT(a->n_files, b->n_files);
    CHECK(dc_mx_file_find(b, "part-b.parquet") == 1);
    for (size_t i = 0; i < a->cap; i++) {
        if (!a->slots[i].file) continue;
        CHECK_EQ_INT(b->slots[i].file, a->slots[i].file);
        CHECK_EQ_INT(b->slots[i].row, a->slots[i].row);
        CHECK_EQ_INT(b->ord[i], a->ord[i]);
        const mx_val va = dc_mx_get(a, i), vb = dc_mx_get(b, i);
        CHECK(dc_mseq_cmp(va.seq, vb.seq) == 0);
    }
}

TEST(merge_ixfile_round_trip)
{
    for (int ik = 0; ik < 2; ik++) {
        dc_err err;
        dc_err_clear(&err);
        dc_buf kb;
        dc_buf_init(&kb, 1 << 20);
        mx_index x, y;
        fill(&x, ik == 1, &kb);
        membuf m;
        encode(&m, &x, 42, 777);
        dc_mx_init(&y, ik == 1);
        int64_t v = -1;
        CHECK_OK(dc_mxf_load(&y, &v, 777, m.b.len, mem_read, &m, &err), &err);
        CHECK_EQ_INT(v, 42);
        CHECK(y.seed == x.seed);
        same(&x, &y);
        /* lookups work on the loaded one (same seed, same slots) */
        const mkey k = {dc_mx_hash_i64(&y, 14 * 7 - 100), 14 * 7 - 100, NULL, 0};
        if (ik == 1) CHECK(dc_mx_find(&y, &k) != SIZE_MAX);
        /* another table's file, or another key layout: refused */
        mx_index z;
        dc_mx_init(&z, ik == 1);
        CHECK(dc_mxf_load(&z, &v, 778, m.b.len, mem_read, &m, &err) == DC_ECORRUPT);
        CHECK_EQ_INT(z.n, 0);
        dc_mx_dispose(&z);
        dc_mx_init(&z, ik != 1);
        CHECK(dc_mxf_load(&z, &v, 777, m.b.len, mem_read, &m, &err) == DC_ECORRUPT);
        dc_mx_dispose(&z);
        dc_buf_dispose(&m.b);
        dc_buf_dispose(&kb);
        dc_mx_dispose(&x);
        dc_mx_dispose(&y);
    }
}

/* Every byte flipped (sampled densely over each section) and every length
 * short of the whole: refused, the index left empty. */
TEST(merge_ixfile_corrupt_and_truncated)
{
    dc_buf kb;
    dc_buf_init(&kb, 1 << 20);
    mx_index x;
    fill(&x, false, &kb);
    membuf m;
    encode(&m, &x, 7, 1);
    const size_t n = m.b.len;
    size_t refused = 0, tried = 0;
    for (size_t at = 0; at < n; at += at < 512 ? 1 : 97) {
        dc_err err;
        mx_index y;
        dc_mx_init(&y, false);
        m.b.data[at] ^= 0x10;
        int64_t v = -1;
        const int rc = dc_mxf_load(&y, &v, 1, n, mem_read, &m, &err);
        m.b.data[at] ^= 0x10;
        tried++;
        refused += rc == DC_ECORRUPT;
        if (rc != DC_ECORRUPT) printf("    byte %zu flipped: loaded\n", at);
        CHECK(rc == DC_ECORRUPT);
        CHECK_EQ_INT(y.n, 0);
        CHECK_EQ_INT(y.n_files, 0);
        dc_mx_dispose(&y);
    }
    for (size_t len = 0; len < n; len += len < 256 ? 1 : 131) {
        dc_err err;
        mx_index y;
        dc_mx_init(&y, false);
        m.limit = len;
        int64_t v = -1;
        CHECK(dc_mxf_load(&y, &v, 1, len, mem_read, &m, &err) == DC_ECORRUPT);
        /* a size that claims the whole file but reads stop short */
        CHECK(dc_mxf_load(&y, &v, 1, n, mem_read, &m, &err) < 0);
        CHECK_EQ_INT(y.n, 0);
        dc_mx_dispose(&y);
    }
    printf("    index file of %zu bytes: %zu of %zu flipped bytes refused\n", n, refused, tried);
    dc_buf_dispose(&m.b);
    dc_buf_dispose(&kb);
    dc_mx_dispose(&x);
}

/* ------------------------------------------------------- on a table */

static void persist(mfx *f)
{
    dc_err err;
    dc_err_clear(&err);
    CHECK_OK(dc_merge_table_persist(f->t, &err), &err);
}

static void batches(mfx *f, int64_t from, int n, int64_t ts)
{
    for (int b = 0; b < n; b++) {
        for (int64_t i = 0; i < 500; i++) mfx_add(f, 'c', from + b * 500 + i, ts + b, "{}");
        for (int64_t i = 0; i < 100; i++) mfx_add(f, 'u', from + i * 3, ts + b + 1, "{}");
        mfx_add(f, 'd', from + 1, ts + b + 2, "{}");
        mfx_commit(f);
    }
}

static char *index_file(const mfx *f, int64_t version)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/_deltacdc/keyindex/%020" PRId64 ".dcx", f->dir, version);
    return p;
}

TEST(merge_ixfile_table_load_follow_rebuild)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    f.o.index_file = true;
    batches(&f, 0, 3, 1000);
    persist(&f);
    const int64_t v1 = dc_delta_snapshot_version(dc_merge_table_snapshot(f.t));
    CHECK(access(index_file(&f, v1), F_OK) == 0);
    char *want = mfx_index_dump(f.t);
    /* loaded: no build, no data row read */
    mfx_reopen(&f);
    dc_merge_index_stats st;
    dc_merge_index_stats_get(&st, f.t);
    CHECK_EQ_INT(st.loads, 1);
    CHECK_EQ_INT(st.builds, 0);
    CHECK_EQ_INT(st.rows_read, 0);
    char *got = mfx_index_dump(f.t);
    CHECK_EQ_STR(got, want);
    dc_free(got);
    dc_free(want);
    /* stale: three more commits after the file; the open follows them */
    batches(&f, 100000, 3, 2000);
    want = mfx_index_dump(f.t);
    mfx_reopen(&f);
    dc_merge_index_stats_get(&st, f.t);
    CHECK_EQ_INT(st.loads, 1);
    CHECK_EQ_INT(st.builds, 0);
    got = mfx_index_dump(f.t);
    CHECK_EQ_STR(got, want);
    dc_free(got);
    /* and merging on after the load gives what the batches expect */
    mfx_add(&f, 'u', 100000, 5000, "{\"v\":1}");
    mfx_add(&f, 'u', 100001, 1, "{\"v\":2}"); /* older than its row: stale */
    mfx_commit(&f);
    CHECK_EQ_INT(f.res.updated, 1);
    CHECK_EQ_INT(f.res.stale, 1);
    /* corrupt: one byte of the file flipped; the open builds */
    persist(&f);
    const int64_t v2 = dc_delta_snapshot_version(dc_merge_table_snapshot(f.t));
    CHECK(access(index_file(&f, v1), F_OK) != 0); /* the older one is gone */
    dc_free(want);
    want = mfx_index_dump(f.t);
    FILE *fp = fopen(index_file(&f, v2), "r+b");
    CHECK(fp != NULL);
    fseek(fp, 4000, SEEK_SET);
    const int c = fgetc(fp);
    fseek(fp, 4000, SEEK_SET);
    fputc(c ^ 1, fp);
    fclose(fp);
    mfx_reopen(&f);
    dc_merge_index_stats_get(&st, f.t);
    CHECK_EQ_INT(st.loads, 0);
    CHECK_EQ_INT(st.builds, 1);
    got = mfx_index_dump(f.t);
    CHECK_EQ_STR(got, want);
    dc_free(got);
    /* truncated: the same */
    persist(&f);
    CHECK(truncate(index_file(&f, v2), 1000) == 0);
    mfx_reopen(&f);
    dc_merge_index_stats_get(&st, f.t);
    CHECK_EQ_INT(st.loads, 0);
    CHECK_EQ_INT(st.builds, 1);
    dc_free(want);
    mfx_close(&f);
}

/* A file of another table at the same path (recreated) is not used. */
TEST(merge_ixfile_other_table)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    f.o.index_file = true;
    batches(&f, 0, 2, 1000);
    persist(&f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -r '%s/_deltacdc' '%s/keep' && rm -rf '%s/_delta_log' '%s'/*.parquet",
             f.dir, f.dir, f.dir, f.dir);
    CHECK(system(cmd) == 0);
    mfx_reopen(&f); /* a new table (new metaData id) */
    batches(&f, 0, 2, 1000);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/_deltacdc' && mv '%s/keep' '%s/_deltacdc'", f.dir,
             f.dir, f.dir);
    CHECK(system(cmd) == 0);
    mfx_reopen(&f);
    dc_merge_index_stats st;
    dc_merge_index_stats_get(&st, f.t);
    CHECK_EQ_INT(st.loads, 0);
    CHECK_EQ_INT(st.builds, 1);
    mfx_close(&f);
}
