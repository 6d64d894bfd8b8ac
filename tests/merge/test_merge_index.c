/* merge: the key index — footprint per row for integer keys (measured),
 * ordering values against exact sequences (random, widening windows, null
 * ts_ms, ghosts),
 * exact lookups (present, absent, composite keys that only differ in where
 * a part ends), values kept across growth, and the index a table builds. */
#include "merge_fixture.h"

#include <inttypes.h>

static mkey ikey(const mx_index *x, int64_t v)
{
    mkey k = {dc_mx_hash_i64(x, v), v, NULL, 0};
    return k;
}

/* Exact sequences for put_max in these tests: ctx NULL, row r was stored
 * with val(r, r); else ctx is an array of sequences by row. */
static int test_seq(mseq *out, void *ctx, uint32_t file, uint32_t row, dc_err *err)
{
    (void)file;
    (void)err;
    *out = ctx ? ((const mseq *)ctx)[row] : (mseq){row, (int64_t)row + 1};
    return 0;
}

static mx_val val(uint32_t row, int64_t ts)
{
    mx_val v = {0, row, {ts, ts + 1}};
    return v;
}

static double per_row(const mx_index *x)
{
    return (double)dc_mx_bytes(x) / (double)x->n;
}

/* Sized once for the rows (as an index build does). */
TEST(merge_index_bytes_per_row_sized)
{
    dc_err err;
    dc_err_clear(&err);
    mx_index x;
    dc_mx_init(&x, true);
    uint32_t id = 0;
    CHECK_OK(dc_mx_file_add(&id, &x, "part-0.parquet", 1000000, &err), &err);
    const size_t n = 1000000;
    CHECK_OK(dc_mx_reserve(&x, n, 0, &err), &err);
    for (size_t i = 0; i < n; i++) {
        const mkey k = ikey(&x, (int64_t)(i * 7919));
        const mx_val v = val((uint32_t)i, (int64_t)i);
        dc_mx_insert(&x, &k, &v);
    }
    CHECK_EQ_INT(x.n, n);
    printf("    index: %.2f bytes per row (1M int keys, sized)\n", per_row(&x));
    CHECK(per_row(&x) <= 24.0);
    CHECK(per_row(&x) >= 20.0); /* 16-byte slots + 4-byte ordering values */
    for (size_t i = 0; i < n; i += 997) {
        const mkey k = ikey(&x, (int64_t)(i * 7919));
        const size_t s = dc_mx_find(&x, &k);
        CHECK(s != SIZE_MAX);
        if (s != SIZE_MAX) CHECK_EQ_INT(dc_mx_get(&x, s).row, i);
        const mkey absent = ikey(&x, (int64_t)(i * 7919 + 1));
        CHECK(dc_mx_find(&x, &absent) == SIZE_MAX);
    }
    dc_mx_dispose(&x);
}

/* Grown one key at a time: the footprint stays under 24 at every size. */
TEST(merge_index_bytes_per_row_growing)
{
    dc_err err;
    dc_err_clear(&err);
    mx_index x;
    dc_mx_init(&x, true);
    uint32_t id = 0;
    CHECK_OK(dc_mx_file_add(&id, &x, "part-0.parquet", 1, &err), &err);
    double worst = 0;
    for (int64_t i = 0; i < 600000; i++) {
        bool dup = false;
        const mkey k = ikey(&x, i * 31 - 100000);
        const mx_val v = val((uint32_t)i, i);
        CHECK_OK(dc_mx_put_max(&x, &k, &v, &dup, test_seq, NULL, &err), &err);
        if (i >= 20000 && i % 1000 == 0 && per_row(&x) > worst) worst = per_row(&x);
    }
    printf("    index: at most %.2f bytes per row while growing to 600k int keys\n", worst);
    CHECK(worst <= 24.0);
    /* Every key still holds its value after the resizes. */
    for (int64_t i = 0; i < 600000; i += 101) {
        const mkey k = ikey(&x, i * 31 - 100000);
        const size_t s = dc_mx_find(&x, &k);
        CHECK(s != SIZE_MAX);
        if (s == SIZE_MAX) continue;
        CHECK_EQ_INT(dc_mx_get(&x, s).row, i);
        CHECK_EQ_INT(dc_mx_cmp(&x, s, (mseq){i, i + 1}), MX_UNSURE); /* its own: a tie */
        CHECK_EQ_INT(dc_mx_cmp(&x, s, (mseq){i + 1, 0}), 1);
        CHECK_EQ_INT(dc_mx_cmp(&x, s, (mseq){i - 1, 0}), -1);
    }
    dc_mx_dispose(&x);
}

/* put_max keeps the greater sequence; a key seen twice is reported. */
TEST(merge_index_put_max)
{
    dc_err err;
    dc_err_clear(&err);
    mx_index x;
    dc_mx_init(&x, true);
    uint32_t id = 0;
    CHECK_OK(dc_mx_file_add(&id, &x, "f", 10, &err), &err);
    bool dup = true;
    const mkey k = ikey(&x, 5);
    mx_val a = val(1, 100), b = val(2, 50), c = val(3, 100);
    c.seq.off = a.seq.off + 1;
    const mseq by_row[4] = {{0, 0}, a.seq, b.seq, c.seq}; /* what each row's file says */
    CHECK_OK(dc_mx_put_max(&x, &k, &a, &dup, test_seq, (void *)by_row, &err), &err);
    CHECK(!dup);
    CHECK_OK(dc_mx_put_max(&x, &k, &b, &dup, test_seq, (void *)by_row, &err), &err);
    CHECK(dup);
    CHECK_EQ_INT(dc_mx_get(&x, dc_mx_find(&x, &k)).row, 1);
    /* same ts_ms, a later offset: the ordering values may tie, the row decides */
    CHECK_OK(dc_mx_put_max(&x, &k, &c, &dup, test_seq, (void *)by_row, &err), &err);
    CHECK_EQ_INT(dc_mx_get(&x, dc_mx_find(&x, &k)).row, 3);
    CHECK_EQ_INT(x.n, 1);
    dc_mx_dispose(&x);
}

/* Byte keys: exact. ("ab","c") and ("a","bc") have the same characters but
 * are different keys; many keys survive growth. */
static mkey bkey(const mx_index *x, dc_buf *b, const char *p1, const char *p2)
{
    dc_err err;
    dc_buf_reset(b);
    const char *parts[2] = {p1, p2};
    for (int i = 0; i < 2; i++) {
        uint8_t l[4];
        dc_store_le32(l, (uint32_t)strlen(parts[i]));
        CHECK_OK(dc_buf_append(b, l, 4, &err), &err);
        CHECK_OK(dc_buf_append(b, parts[i], strlen(parts[i]), &err), &err);
    }
    mkey k = {dc_mx_hash_bytes(x, b->data, b->len), 0, b->data, (uint32_t)b->len};
    return k;
}

TEST(merge_index_byte_keys_exact)
{
    dc_err err;
    dc_err_clear(&err);
    mx_index x;
    dc_mx_init(&x, false);
    uint32_t id = 0;
    CHECK_OK(dc_mx_file_add(&id, &x, "f", 1, &err), &err);
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    bool dup = false;
    mkey k = bkey(&x, &b, "ab", "c");
    mx_val v = val(1, 1);
    CHECK_OK(dc_mx_put_max(&x, &k, &v, &dup, test_seq, NULL, &err), &err);
    k = bkey(&x, &b, "a", "bc");
    CHECK(dc_mx_find(&x, &k) == SIZE_MAX);
    v = val(2, 1);
    CHECK_OK(dc_mx_put_max(&x, &k, &v, &dup, test_seq, NULL, &err), &err);
    CHECK(!dup);
    char s1[32], s2[32];
    for (int i = 0; i < 50000; i++) {
        snprintf(s1, sizeof s1, "user-%d", i);
        snprintf(s2, sizeof s2, "%d", i % 7);
        k = bkey(&x, &b, s1, s2);
        v = val((uint32_t)i, i);
        CHECK_OK(dc_mx_put_max(&x, &k, &v, &dup, test_seq, NULL, &err), &err);
    }
    CHECK_EQ_INT(x.n, 50002);
    for (int i = 0; i < 50000; i += 37) {
        snprintf(s1, sizeof s1, "user-%d", i);
        snprintf(s2, sizeof s2, "%d", i % 7);
        k = bkey(&x, &b, s1, s2);
        const size_t s = dc_mx_find(&x, &k);
        CHECK(s != SIZE_MAX);
        if (s != SIZE_MAX) CHECK_EQ_INT(dc_mx_get(&x, s).row, i);
        snprintf(s2, sizeof s2, "%d", i % 7 + 1);
        k = bkey(&x, &b, s1, s2);
        CHECK(dc_mx_find(&x, &k) == SIZE_MAX);
    }
    k = bkey(&x, &b, "ab", "c");
    CHECK_EQ_INT(dc_mx_get(&x, dc_mx_find(&x, &k)).row, 1);
    dc_buf_dispose(&b);
    dc_mx_dispose(&x);
}

/* A table of 60k rows written by batches: the index its reopen builds holds
 * every key once, at <= 24 bytes per row, and equals the one kept up to
 * date by the batches. */
TEST(merge_index_table_rebuild)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    for (int batch = 0; batch < 3; batch++) {
        for (int64_t i = 0; i < 20000; i++) mfx_add(&f, 'c', batch * 20000 + i, 1, "{}");
        /* and updates of the previous batch's keys */
        for (int64_t i = 0; batch && i < 2000; i++) mfx_add(&f, 'u', (batch - 1) * 20000 + i * 3, 2, "{}");
        mfx_commit(&f);
    }
    dc_merge_index_stats st;
    dc_merge_index_stats_get(&st, f.t);
    CHECK_EQ_INT(st.rows, 60000);
    char *before = mfx_index_dump(f.t);
    mfx_reopen(&f);
    dc_merge_index_stats_get(&st, f.t);
    CHECK_EQ_INT(st.rows, 60000);
    printf("    table index: %.2f bytes per row (60k rows)\n", (double)st.bytes / (double)st.rows);
    CHECK((double)st.bytes / (double)st.rows <= 24.0);
    char *after = mfx_index_dump(f.t);
    CHECK_EQ_STR(after, before);
    dc_free(before);
    dc_free(after);
    mfx_close(&f);
}

/* Removal (backward shift) keeps every other key findable. */
TEST(merge_index_remove)
{
    dc_err err;
    dc_err_clear(&err);
    mx_index x;
    dc_mx_init(&x, true);
    uint32_t id = 0;
    CHECK_OK(dc_mx_file_add(&id, &x, "f", 1, &err), &err);
    const int64_t n = 30000;
    for (int64_t i = 0; i < n; i++) {
        bool dup = false;
        const mkey k = ikey(&x, i * 13);
        const mx_val v = val((uint32_t)i, i);
        CHECK_OK(dc_mx_put_max(&x, &k, &v, &dup, test_seq, NULL, &err), &err);
    }
    for (int64_t i = 0; i < n; i += 3) {
        const mkey k = ikey(&x, i * 13);
        const size_t s = dc_mx_find(&x, &k);
        CHECK(s != SIZE_MAX);
        if (s != SIZE_MAX) dc_mx_remove(&x, s);
    }
    CHECK_EQ_INT(x.n, n - (n + 2) / 3);
    for (int64_t i = 0; i < n; i++) {
        const mkey k = ikey(&x, i * 13);
        const size_t s = dc_mx_find(&x, &k);
        if (i % 3 == 0) {
            CHECK(s == SIZE_MAX);
        } else {
            CHECK(s != SIZE_MAX);
            if (s != SIZE_MAX) CHECK_EQ_INT(dc_mx_get(&x, s).row, i);
        }
    }
    dc_mx_dispose(&x);
}

/* A random sequence: ts_ms spread over `span` (null one time in 16), the
 * offset over a small range so that equal ts_ms are common. */
static mseq rand_seq(uint64_t *r, int64_t t0, int64_t span)
{
    *r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint64_t a = *r >> 20;
    if ((a & 15) == 0) return (mseq){INT64_MIN, (int64_t)(a >> 8) % 50};
    return (mseq){t0 + (int64_t)((a >> 4) % (uint64_t)span), (int64_t)(a >> 30) % 50};
}

/* Ordering values never contradict the exact order: for random rows
 * (windows widened over and over as their spread grows, up and down) and
 * random events, dc_mx_cmp is the exact answer or MX_UNSURE, and unsure only
 * when the sequences are close; ghosts compare exactly. */
TEST(merge_index_ordering_values)
{
    dc_err err;
    dc_err_clear(&err);
    mx_index x;
    dc_mx_init(&x, true);
    uint32_t id = 0;
    CHECK_OK(dc_mx_file_add(&id, &x, "f", 1, &err), &err);
    enum { N = 20000 };
    static mseq truth[N];
    uint64_t r = 42;
    CHECK_OK(dc_mx_reserve(&x, N, 0, &err), &err);
    CHECK_OK(dc_mx_reserve_ghosts(&x, N, &err), &err);
    for (int64_t i = 0; i < N; i++) {
        /* the spread grows with i, around 1.7e12 ms, and drifts below it too */
        const int64_t span = 1 + i * i * 50;
        truth[i] = rand_seq(&r, 1700000000000LL - span / 3, span);
        mx_val v = {0, (uint32_t)i, truth[i]};
        if (i % 97 == 0) v.file = MX_FILE_NONE; /* a deleted key */
        const mkey k = ikey(&x, i);
        dc_mx_insert(&x, &k, &v);
    }
    CHECK(x.rewindows > 3);
    uint64_t unsure = 0, checks = 0;
    for (int64_t i = 0; i < N; i++) {
        const mkey k = ikey(&x, i);
        const size_t s = dc_mx_find(&x, &k);
        CHECK(s != SIZE_MAX);
        if (s == SIZE_MAX) continue;
        for (int j = 0; j < 8; j++) {
            const mseq e = j == 0 ? truth[i] : rand_seq(&r, 1700000000000LL - 1000000000000LL,
                                                        2000000000000LL);
            const int want = dc_mseq_cmp(e, truth[i]), got = dc_mx_cmp(&x, s, e);
            checks++;
            if (got == MX_UNSURE) {
                unsure++;
                CHECK(i % 97 != 0); /* ghosts are exact */
                continue;
            }
            if (got != want) {
                printf("    row %" PRId64 " (%" PRId64 ",%" PRId64 ") event (%" PRId64 ",%" PRId64
                       "): %d, want %d\n", i, truth[i].ts, truth[i].off, e.ts, e.off, got, want);
                CHECK(got == want);
                break;
            }
        }
    }
    printf("    ordering values: %" PRIu64 " of %" PRIu64 " comparisons unsure, %" PRIu64
           " windows\n", unsure, checks, x.rewindows);
    CHECK(unsure < checks / 4); /* the rows' own sequence, 1 in 8, and close ones */
    dc_mx_dispose(&x);
}

/* A ghost's entry is reused after its key gets a row again; clear starts a
 * new generation (file ids start over). */
TEST(merge_index_ghosts_reused)
{
    dc_err err;
    dc_err_clear(&err);
    mx_index x;
    dc_mx_init(&x, true);
    uint32_t id = 0;
    CHECK_OK(dc_mx_file_add(&id, &x, "f", 1, &err), &err);
    CHECK_OK(dc_mx_reserve(&x, 100, 0, &err), &err);
    CHECK_OK(dc_mx_reserve_ghosts(&x, 100, &err), &err);
    for (int round = 0; round < 50; round++) {
        for (int64_t i = 0; i < 10; i++) {
            const mkey k = ikey(&x, i);
            const mx_val g = {MX_FILE_NONE, 0, {round * 10 + i, 7}};
            const size_t s = dc_mx_find(&x, &k);
            if (s == SIZE_MAX) dc_mx_insert(&x, &k, &g);
            else dc_mx_set(&x, s, &g);
            const size_t s2 = dc_mx_find(&x, &k);
            CHECK_EQ_INT(dc_mx_cmp(&x, s2, g.seq), 0);
            CHECK(dc_mseq_cmp(dc_mx_get(&x, s2).seq, g.seq) == 0);
            const mx_val row = {0, 3, {round * 10 + i + 1, 0}};
            dc_mx_set(&x, s2, &row);
        }
    }
    CHECK(x.n_ghosts <= 1); /* one entry, freed and taken again */
    CHECK_EQ_INT(x.ghosts_live, 0);
    const uint64_t g = x.gen;
    dc_mx_clear(&x);
    CHECK(x.gen == g + 1);
    dc_mx_dispose(&x);
}
