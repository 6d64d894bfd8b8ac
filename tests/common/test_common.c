/* Unit tests of src/common: errors, buffers, cursor, arena, base64, alloc hook. */
#include "../test.h"

TEST(err_set_and_prefix)
{
    dc_err err;
    dc_err_clear(&err);
    CHECK_EQ_INT(dc_err_set(&err, DC_ECORRUPT, "bad %d", 7), DC_ECORRUPT);
    dc_err_prefix(&err, "file %s", "x.parquet");
    CHECK_EQ_STR(err.msg, "file x.parquet: bad 7");
    CHECK(!err.retriable);
    dc_err_set_retriable(&err, DC_ECONFLICT, "lost race");
    CHECK(err.retriable);
}

TEST(buf_respects_max)
{
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 10);
    CHECK_OK(dc_buf_append(&b, "0123456789", 10, &err), &err);
    CHECK_EQ_INT(dc_buf_append(&b, "x", 1, &err), DC_ELIMIT);
    CHECK_EQ_INT(b.len, 10);
    dc_buf_dispose(&b);
    dc_buf_init(&b, 1 << 20);
    for (int i = 0; i < 100; i++) CHECK_OK(dc_buf_appendf(&b, &err, "%d,", i), &err);
    CHECK(b.len > 100);
    CHECK(memcmp(b.data, "0,1,2,", 6) == 0);
    dc_buf_dispose(&b);
}

TEST(array_grow_doubles_up_to_max)
{
    dc_err err;
    uint32_t *a = NULL;
    size_t cap = 0;
    CHECK_OK(dc_array_grow((void **)&a, &cap, 1, sizeof *a, 100, &err), &err);
    CHECK(cap >= 1 && cap <= 100);
    for (uint32_t i = 0; i < 100; i++) {
        CHECK_OK(dc_array_grow((void **)&a, &cap, i + 1, sizeof *a, 100, &err), &err);
        a[i] = i;
    }
    CHECK_EQ_INT(cap, 100);
    CHECK_EQ_INT(a[99], 99);
    CHECK_EQ_INT(dc_array_grow((void **)&a, &cap, 101, sizeof *a, 100, &err), DC_ENOMEM);
    CHECK_EQ_INT(cap, 100);
    CHECK_EQ_INT(dc_array_grow((void **)&a, &cap, SIZE_MAX / 2, 8, SIZE_MAX, &err), DC_ENOMEM);
    CHECK_EQ_INT(cap, 100);
    dc_alloc_fail_after(1);
    CHECK_EQ_INT(dc_array_grow((void **)&a, &cap, 200, sizeof *a, SIZE_MAX, &err), DC_ENOMEM);
    CHECK_EQ_INT(cap, 100);
    CHECK_EQ_INT(a[50], 50);
    dc_free(a);
}

TEST(cursor_bounds)
{
    dc_err err;
    const uint8_t bytes[] = {0x96, 0x01, 1, 2, 3, 4, 5};
    dc_cur c;
    dc_cur_init(&c, bytes, sizeof bytes, "test input");
    uint64_t v = 0;
    CHECK_OK(dc_cur_uvarint(&c, &v, &err), &err);
    CHECK_EQ_INT(v, 150);
    uint32_t u = 0;
    CHECK_OK(dc_cur_le32(&c, &u, &err), &err);
    CHECK_EQ_INT(u, 0x04030201);
    CHECK_EQ_INT(dc_cur_le32(&c, &u, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "test input: truncated at offset 6") != NULL);
    const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    dc_cur_init(&c, over, sizeof over, "v");
    CHECK_EQ_INT(dc_cur_uvarint(&c, &v, &err), DC_ECORRUPT);
}

TEST(arena_alloc_and_limit)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    char *s = dc_arena_strndup(&a, "hello", 5, &err);
    CHECK(s && strcmp(s, "hello") == 0);
    void *big = dc_arena_alloc(&a, 200000, &err);
    CHECK(big != NULL);
    CHECK(((uintptr_t)big & 7) == 0);
    CHECK(dc_arena_alloc(&a, 2 << 20, &err) == NULL);
    CHECK_EQ_INT(err.code, DC_ELIMIT);
    dc_arena_dispose(&a);
}

TEST(base64_round_trip)
{
    dc_err err;
    dc_buf b, d;
    dc_buf_init(&b, 1024);
    dc_buf_init(&d, 1024);
    const char *cases[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        dc_buf_reset(&b);
        dc_buf_reset(&d);
        CHECK_OK(dc_base64_encode(&b, (const uint8_t *)cases[i], strlen(cases[i]), &err), &err);
        CHECK(b.len == strlen(want[i]) && (b.len == 0 || memcmp(b.data, want[i], b.len) == 0));
        CHECK_OK(dc_base64_decode(&d, (const char *)b.data, b.len, &err), &err);
        CHECK(d.len == strlen(cases[i]) && (d.len == 0 || memcmp(d.data, cases[i], d.len) == 0));
    }
    CHECK_EQ_INT(dc_base64_decode(&d, "Zm9v!", 5, &err), DC_EINVAL);
    dc_buf_dispose(&b);
    dc_buf_dispose(&d);
}

TEST(alloc_hook_fails_nth)
{
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    dc_alloc_fail_after(1);
    CHECK_EQ_INT(dc_buf_append(&b, "x", 1, &err), DC_ENOMEM);
    CHECK_OK(dc_buf_append(&b, "x", 1, &err), &err);
    dc_buf_dispose(&b);
}

TEST(checked_arithmetic)
{
    size_t s;
    int64_t v;
    CHECK(dc_mul_overflow_sz(SIZE_MAX / 2 + 1, 2, &s));
    CHECK(!dc_mul_overflow_sz(1000, 1000, &s) && s == 1000000);
    CHECK(dc_add_overflow_i64(INT64_MAX, 1, &v));
    CHECK(!dc_sub_overflow_i64(-5, 5, &v) && v == -10);
}
