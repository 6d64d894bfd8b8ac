/* merge: the key index — footprint per row for integer keys (measured),
 * exact lookups (present, absent, composite keys that only differ in where
 * a part ends), values kept across growth, and the index a table builds. */
#include "merge_fixture.h"

static mkey ikey(int64_t v)
{
    mkey k = {dc_mkey_hash_i64(v), v, NULL, 0};
    return k;
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
        const mkey k = ikey((int64_t)(i * 7919));
        const mx_val v = val((uint32_t)i, (int64_t)i);
        dc_mx_insert(&x, &k, &v);
    }
    CHECK_EQ_INT(x.n, n);
    printf("    index: %.2f bytes per row (1M int keys, sized)\n", per_row(&x));
    CHECK(per_row(&x) <= 40.0);
    CHECK(per_row(&x) >= 32.0); /* 32-byte slots: below that something is not counted */
    for (size_t i = 0; i < n; i += 997) {
        const mkey k = ikey((int64_t)(i * 7919));
        const size_t s = dc_mx_find(&x, &k);
        CHECK(s != SIZE_MAX);
        if (s != SIZE_MAX) CHECK_EQ_INT(dc_mx_get(&x, s).row, i);
        const mkey absent = ikey((int64_t)(i * 7919 + 1));
        CHECK(dc_mx_find(&x, &absent) == SIZE_MAX);
    }
    dc_mx_dispose(&x);
}

/* Grown one key at a time: the footprint stays under 40 at every size. */
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
        const mkey k = ikey(i * 31 - 100000);
        const mx_val v = val((uint32_t)i, i);
        CHECK_OK(dc_mx_put_max(&x, &k, &v, &dup, &err), &err);
        if (i >= 20000 && i % 1000 == 0 && per_row(&x) > worst) worst = per_row(&x);
    }
    printf("    index: at most %.2f bytes per row while growing to 600k int keys\n", worst);
    CHECK(worst <= 40.0);
    /* Every key still holds its value after the resizes. */
    for (int64_t i = 0; i < 600000; i += 101) {
        const mkey k = ikey(i * 31 - 100000);
        const size_t s = dc_mx_find(&x, &k);
        CHECK(s != SIZE_MAX);
        if (s != SIZE_MAX) CHECK_EQ_INT(dc_mx_get(&x, s).seq.ts, i);
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
    const mkey k = ikey(5);
    mx_val a = val(1, 100), b = val(2, 50), c = val(3, 100);
    c.seq.off = a.seq.off + 1;
    CHECK_OK(dc_mx_put_max(&x, &k, &a, &dup, &err), &err);
    CHECK(!dup);
    CHECK_OK(dc_mx_put_max(&x, &k, &b, &dup, &err), &err);
    CHECK(dup);
    CHECK_EQ_INT(dc_mx_get(&x, dc_mx_find(&x, &k)).row, 1);
    CHECK_OK(dc_mx_put_max(&x, &k, &c, &dup, &err), &err);
    CHECK_EQ_INT(dc_mx_get(&x, dc_mx_find(&x, &k)).row, 3);
    CHECK_EQ_INT(x.n, 1);
    dc_mx_dispose(&x);
}

/* Byte keys: exact. ("ab","c") and ("a","bc") have the same characters but
 * are different keys; many keys survive growth. */
static mkey bkey(dc_buf *b, const char *p1, const char *p2)
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
    mkey k = {dc_mkey_hash_bytes(b->data, b->len), 0, b->data, (uint32_t)b->len};
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
    mkey k = bkey(&b, "ab", "c");
    mx_val v = val(1, 1);
    CHECK_OK(dc_mx_put_max(&x, &k, &v, &dup, &err), &err);
    k = bkey(&b, "a", "bc");
    CHECK(dc_mx_find(&x, &k) == SIZE_MAX);
    v = val(2, 1);
    CHECK_OK(dc_mx_put_max(&x, &k, &v, &dup, &err), &err);
    CHECK(!dup);
    char s1[32], s2[32];
    for (int i = 0; i < 50000; i++) {
        snprintf(s1, sizeof s1, "user-%d", i);
        snprintf(s2, sizeof s2, "%d", i % 7);
        k = bkey(&b, s1, s2);
        v = val((uint32_t)i, i);
        CHECK_OK(dc_mx_put_max(&x, &k, &v, &dup, &err), &err);
    }
    CHECK_EQ_INT(x.n, 50002);
    for (int i = 0; i < 50000; i += 37) {
        snprintf(s1, sizeof s1, "user-%d", i);
        snprintf(s2, sizeof s2, "%d", i % 7);
        k = bkey(&b, s1, s2);
        const size_t s = dc_mx_find(&x, &k);
        CHECK(s != SIZE_MAX);
        if (s != SIZE_MAX) CHECK_EQ_INT(dc_mx_get(&x, s).row, i);
        snprintf(s2, sizeof s2, "%d", i % 7 + 1);
        k = bkey(&b, s1, s2);
        CHECK(dc_mx_find(&x, &k) == SIZE_MAX);
    }
    k = bkey(&b, "ab", "c");
    CHECK_EQ_INT(dc_mx_get(&x, dc_mx_find(&x, &k)).row, 1);
    dc_buf_dispose(&b);
    dc_mx_dispose(&x);
}

/* A table of 60k rows written by batches: the index its reopen builds holds
 * every key once, at <= 40 bytes per row, and equals the one kept up to
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
    CHECK((double)st.bytes / (double)st.rows <= 40.0);
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
        const mkey k = ikey(i * 13);
        const mx_val v = val((uint32_t)i, i);
        CHECK_OK(dc_mx_put_max(&x, &k, &v, &dup, &err), &err);
    }
    for (int64_t i = 0; i < n; i += 3) {
        const mkey k = ikey(i * 13);
        const size_t s = dc_mx_find(&x, &k);
        CHECK(s != SIZE_MAX);
        if (s != SIZE_MAX) dc_mx_remove(&x, s);
    }
    CHECK_EQ_INT(x.n, n - (n + 2) / 3);
    for (int64_t i = 0; i < n; i++) {
        const mkey k = ikey(i * 13);
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
