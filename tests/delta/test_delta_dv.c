/* delta: deletion vectors — Z85, descriptors, RoaringBitmapArray, DV files. */
#include "../test.h"

#include <stdlib.h>
#include <unistd.h>

#include "../../src/delta/delta_int.h"

TEST(delta_z85_rfc_vector)
{
    dc_err err;
    /* ZeroMQ RFC 32's test vector */
    const uint8_t raw[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    dc_buf b;
    dc_buf_init(&b, 100);
    CHECK_OK(dc_z85_encode(&b, raw, 8, &err), &err);
    CHECK(b.len == 10 && memcmp(b.data, "HelloWorld", 10) == 0);
    dc_buf_reset(&b);
    CHECK_OK(dc_z85_decode(&b, "HelloWorld", 10, &err), &err);
    CHECK(b.len == 8 && memcmp(b.data, raw, 8) == 0);
    CHECK_EQ_INT(dc_z85_decode(&b, "Hello", 4, &err), DC_ECORRUPT);   /* not 5k chars */
    CHECK_EQ_INT(dc_z85_decode(&b, "Hell\"", 5, &err), DC_ECORRUPT);  /* not in the alphabet */
    CHECK(strstr(err.msg, "offset 4") != NULL);
    CHECK_EQ_INT(dc_z85_decode(&b, "#####", 5, &err), DC_ECORRUPT);   /* 85^5-1 > 2^32 */
    CHECK_EQ_INT(dc_z85_encode(&b, raw, 7, &err), DC_EINVAL);
    dc_buf_dispose(&b);
}

/* PROTOCOL.md, "JSON Example 1": prefix "ab" + the Z85 UUID. */
TEST(delta_dv_relative_path_from_protocol_example)
{
    dc_err err;
    dc_delta_dv_desc dv = {'u', "ab^-aqEH.-t@S}K{vb[*k^", true, 4, 40, 6, false, 0};
    dc_buf b;
    dc_buf_init(&b, 1000);
    CHECK_OK(dc_delta_dv_file_path(&b, &dv, &err), &err);
    const char *want = "ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin";
    CHECK(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0);
    dc_buf_reset(&b);
    dv.path_or_inline = "^-aqEH.-t@S}K{vb[*k^";  /* no prefix */
    CHECK_OK(dc_delta_dv_file_path(&b, &dv, &err), &err);
    CHECK(b.len == strlen(want) - 3 && memcmp(b.data, want + 3, b.len) == 0);
    dc_buf_reset(&b);
    /* 'p': the absolute path of PROTOCOL.md's example 2, as a file: URI here */
    dc_delta_dv_desc p = {'p', "file:///mytable/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin",
                          true, 4, 40, 6, false, 0};
    CHECK_OK(dc_delta_dv_file_path(&b, &p, &err), &err);
    CHECK(b.len > 0 && b.data[0] == '/');
    dc_buf_reset(&b);
    dv.path_or_inline = "short";
    CHECK_EQ_INT(dc_delta_dv_file_path(&b, &dv, &err), DC_ECORRUPT);
    dc_buf_dispose(&b);
}

/* PROTOCOL.md, "JSON Example 3": the inline DV holds rows 3, 4, 7, 11, 18, 29. */
TEST(delta_dv_inline_protocol_example)
{
    dc_err err;
    dc_delta_dv_desc dv = {'i', "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L", false, 0, 40,
                           6, false, 0};
    dc_delta_dv *d = NULL;
    CHECK_OK(dc_delta_dv_load(&d, NULL, &dv, &err), &err);
    if (!d) return;
    CHECK_EQ_INT(dc_delta_dv_cardinality(d), 6);
    uint64_t *rows = NULL;
    size_t n = 0;
    CHECK_OK(dc_delta_dv_to_array(&rows, &n, d, &err), &err);
    const uint64_t want[] = {3, 4, 7, 11, 18, 29};
    CHECK_EQ_INT(n, 6);
    for (size_t i = 0; i < n && i < 6; i++) CHECK_EQ_INT(rows[i], want[i]);
    for (uint64_t r = 0; r < 40; r++) {
        bool in = false;
        for (size_t i = 0; i < 6; i++) in |= want[i] == r;
        CHECK(dc_delta_dv_contains(d, r) == in);
    }
    CHECK(!dc_delta_dv_contains(d, ((uint64_t)1 << 32) + 3));
    dc_free(rows);
    dc_delta_dv_free(d);

    /* Its bytes are delta-spark's "native" layout written big-endian; the
     * same layout little-endian (what delta-spark writes) decodes alike. */
    dc_buf raw;
    dc_buf_init(&raw, 100);
    CHECK_OK(dc_z85_decode(&raw, dv.path_or_inline, strlen(dv.path_or_inline), &err), &err);
    CHECK(raw.len == 40 && raw.data[0] == 0x64 && raw.data[3] == 0xD0);
    for (int k = 0; k < 3; k++) {
        uint32_t be;
        memcpy(&be, raw.data + 4 * k, 4);
        dc_store_le32(raw.data + 4 * k, __builtin_bswap32(be));
    }
    CHECK_EQ_INT(dc_load_le32(raw.data), 1681511376u);
    CHECK_OK(dc_delta_dv_decode(&d, raw.data, raw.len, &err), &err);
    CHECK(d && dc_delta_dv_cardinality(d) == 6 && dc_delta_dv_contains(d, 29));
    dc_delta_dv_free(d);
    d = NULL;
    dc_store_le32(raw.data + 8, 29);  /* a frame size that disagrees with the bitmap */
    CHECK_EQ_INT(dc_delta_dv_decode(&d, raw.data, raw.len, &err), DC_ECORRUPT);
    dc_buf_dispose(&raw);

    /* the same bitmap with a wrong cardinality in the descriptor */
    dv.cardinality = 5;
    CHECK_EQ_INT(dc_delta_dv_load(&d, NULL, &dv, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "cardinality") != NULL);
    CHECK(d == NULL);
}

static dc_delta_dv *make_dv(const uint64_t *rows, size_t n)
{
    dc_err err;
    dc_delta_dv *d = NULL;
    CHECK_OK(dc_delta_dv_new(&d, &err), &err);
    for (size_t i = 0; i < n; i++) CHECK_OK(dc_delta_dv_add(d, rows[i], &err), &err);
    return d;
}

TEST(delta_dv_roaring_array_round_trip)
{
    dc_err err;
    /* several buckets (high 32 bits), a run, duplicates, unsorted input */
    uint64_t rows[300];
    size_t n = 0;
    for (uint64_t r = 1000; r < 1200; r++) rows[n++] = r;          /* a run */
    rows[n++] = ((uint64_t)5 << 32) | 7;
    rows[n++] = 0;
    rows[n++] = ((uint64_t)1 << 32);
    rows[n++] = 0xFFFFFFFFu;
    rows[n++] = 1000;                                                 /* duplicate */
    dc_delta_dv *d = make_dv(rows, n);
    CHECK_EQ_INT(dc_delta_dv_cardinality(d), n - 1);
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    CHECK_OK(dc_delta_dv_encode(&b, d, &err), &err);
    CHECK_EQ_INT(dc_load_le32(b.data), 1681511377u);
    CHECK_EQ_INT(dc_load_le64(b.data + 4), 3);  /* buckets 0, 1, 5 */
    dc_delta_dv *back = NULL;
    CHECK_OK(dc_delta_dv_decode(&back, b.data, b.len, &err), &err);
    if (back) {
        CHECK_EQ_INT(dc_delta_dv_cardinality(back), n - 1);
        uint64_t *a1, *a2;
        size_t n1, n2;
        CHECK_OK(dc_delta_dv_to_array(&a1, &n1, d, &err), &err);
        CHECK_OK(dc_delta_dv_to_array(&a2, &n2, back, &err), &err);
        CHECK(n1 == n2 && memcmp(a1, a2, n1 * sizeof *a1) == 0);
        for (size_t i = 1; i < n2; i++) CHECK(a2[i - 1] < a2[i]);
        CHECK_EQ_INT(a2[n2 - 1], ((uint64_t)5 << 32) | 7);
        dc_free(a1);
        dc_free(a2);
    }
    CHECK_EQ_INT(dc_delta_dv_add(d, (uint64_t)1 << 63, &err), DC_EINVAL);

    /* hostile variants */
    dc_delta_dv *x = NULL;
    uint8_t *m = malloc(b.len + 4);
    memcpy(m, b.data, b.len);
    m[1] ^= 1;
    CHECK_EQ_INT(dc_delta_dv_decode(&x, m, b.len, &err), DC_ECORRUPT);  /* magic */
    CHECK(strstr(err.msg, "magic") != NULL);
    memcpy(m, b.data, b.len);
    memset(m + b.len, 0, 4);
    CHECK_EQ_INT(dc_delta_dv_decode(&x, m, b.len + 4, &err), DC_ECORRUPT); /* trailing */
    for (size_t cut = 0; cut < b.len; cut++)                              /* every truncation */
        if (dc_delta_dv_decode(&x, b.data, cut, &err) == 0)
            dc_test_fail(__FILE__, __LINE__, "truncated to %zu bytes decoded", cut);
    memcpy(m, b.data, b.len);
    dc_store_le64(m + 4, (uint64_t)1 << 40);                              /* bucket count */
    CHECK_EQ_INT(dc_delta_dv_decode(&x, m, b.len, &err), DC_ECORRUPT);
    memcpy(m, b.data, b.len);
    dc_store_le32(m + 12, 0x80000000u);                                   /* key top bit */
    CHECK_EQ_INT(dc_delta_dv_decode(&x, m, b.len, &err), DC_ECORRUPT);
    CHECK(x == NULL);
    free(m);
    dc_buf_dispose(&b);
    dc_delta_dv_free(back);
    dc_delta_dv_free(d);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Two DVs in one file: version byte, then per DV size, bitmap, CRC. */
TEST(delta_dv_file_layout)
{
    dc_err err;
    char tmpl[] = "/tmp/dc_dv_XXXXXX";
    CHECK(mkdtemp(tmpl) != NULL);
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, tmpl, &err), &err);
    const uint64_t r1[] = {1, 2, 3}, r2[] = {0, 99};
    dc_delta_dv *d1 = make_dv(r1, 3), *d2 = make_dv(r2, 2);
    dc_buf b1, b2, file;
    dc_buf_init(&b1, 1 << 20);
    dc_buf_init(&b2, 1 << 20);
    dc_buf_init(&file, 1 << 20);
    CHECK_OK(dc_delta_dv_encode(&b1, d1, &err), &err);
    CHECK_OK(dc_delta_dv_encode(&b2, d2, &err), &err);
    uint8_t v = 1, hdr[4], crc[4];
    dc_buf_append(&file, &v, 1, &err);
    const size_t off2 = 1 + 4 + b1.len + 4;
    put_be32(hdr, (uint32_t)b1.len);
    put_be32(crc, dc_delta_crc32(b1.data, b1.len));
    dc_buf_append(&file, hdr, 4, &err);
    dc_buf_append(&file, b1.data, b1.len, &err);
    dc_buf_append(&file, crc, 4, &err);
    put_be32(hdr, (uint32_t)b2.len);
    put_be32(crc, dc_delta_crc32(b2.data, b2.len));
    dc_buf_append(&file, hdr, 4, &err);
    dc_buf_append(&file, b2.data, b2.len, &err);
    dc_buf_append(&file, crc, 4, &err);
    /* UUID 00000000-0000-0000-0000-000000000000 is Z85 "00000" x4 */
    const char *name = "deletion_vector_00000000-0000-0000-0000-000000000000.bin";
    CHECK_OK(dc_storage_write(s, name, file.data, file.len, &err), &err);

    dc_delta_dv_desc dv = {'u', "00000000000000000000", true, 1, (int32_t)b1.len, 3, false, 0};
    dc_delta_dv *got = NULL;
    CHECK_OK(dc_delta_dv_load(&got, s, &dv, &err), &err);
    CHECK(got && dc_delta_dv_contains(got, 2) && !dc_delta_dv_contains(got, 0));
    dc_delta_dv_free(got);
    dv.offset = (int32_t)off2;
    dv.size_in_bytes = (int32_t)b2.len;
    dv.cardinality = 2;
    CHECK_OK(dc_delta_dv_load(&got, s, &dv, &err), &err);
    CHECK(got && dc_delta_dv_contains(got, 99) && !dc_delta_dv_contains(got, 2));
    dc_delta_dv_free(got);
    got = NULL;

    dv.size_in_bytes = (int32_t)b2.len - 1;                   /* size differs from the frame */
    CHECK_EQ_INT(dc_delta_dv_load(&got, s, &dv, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "size") != NULL);
    dv.size_in_bytes = (int32_t)b2.len;
    dv.offset = (int32_t)file.len;                            /* past the end */
    CHECK(dc_delta_dv_load(&got, s, &dv, &err) < 0);
    file.data[off2 + 4 + 2] ^= 0x40;                          /* a flipped bit: CRC */
    CHECK_OK(dc_storage_write(s, name, file.data, file.len, &err), &err);
    dv.offset = (int32_t)off2;
    CHECK_EQ_INT(dc_delta_dv_load(&got, s, &dv, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "CRC") != NULL);
    file.data[0] = 2;                                         /* unknown file version */
    CHECK_OK(dc_storage_write(s, name, file.data, file.len, &err), &err);
    CHECK_EQ_INT(dc_delta_dv_load(&got, s, &dv, &err), DC_ECORRUPT);
    dv.path_or_inline = "11111111111111111111";               /* no such file */
    CHECK_EQ_INT(dc_delta_dv_load(&got, s, &dv, &err), DC_ENOTFOUND);
    CHECK(got == NULL);

    dc_buf_dispose(&b1);
    dc_buf_dispose(&b2);
    dc_buf_dispose(&file);
    dc_delta_dv_free(d1);
    dc_delta_dv_free(d2);
    dc_storage_remove(s, name, &err);
    dc_storage_free(s);
    rmdir(tmpl);
}

TEST(delta_crc32)
{
    /* the standard check value of CRC-32/ISO-HDLC */
    CHECK_EQ_INT(dc_delta_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
}

/* Containers libroaring 0.2 would take as they are (found by fuzzing): each
 * is refused before it reaches libroaring. */
TEST(delta_dv_hostile_containers)
{
    dc_err err;
    dc_delta_dv *d = NULL;
    /* portable magic, 1 bucket, key 0, cookie 12347 (runs), 1 container that is
     * a run starting at 65535 with length 2: it would wrap past 65535 */
    const uint8_t wrap[] = {0xd1, 0xd3, 0x39, 0x64, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                            0x3b, 0x30, 0, 0, /* run bitset */ 1, /* key 0, card 2 */ 0, 0, 1, 0,
                            /* 1 run: 65535, length 2 */ 1, 0, 0xff, 0xff, 1, 0};
    CHECK_EQ_INT(dc_delta_dv_decode(&d, wrap, sizeof wrap, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "65535") != NULL);
    /* cookie 12346 (no runs), 1 container of 2 values: 5, 3 (not ascending) */
    const uint8_t unsorted[] = {0xd1, 0xd3, 0x39, 0x64, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                0x3a, 0x30, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 16, 0, 0, 0, 5, 0, 3, 0};
    CHECK_EQ_INT(dc_delta_dv_decode(&d, unsorted, sizeof unsorted, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "ascending") != NULL);
    /* the same with a wrong container offset */
    uint8_t badoff[sizeof unsorted];
    memcpy(badoff, unsorted, sizeof unsorted);
    badoff[32] = 3, badoff[34] = 5;  /* sorted now */
    badoff[28] = 17;                 /* offset 17 instead of 16 */
    CHECK_EQ_INT(dc_delta_dv_decode(&d, badoff, sizeof badoff, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "offset") != NULL);
    badoff[28] = 16;
    CHECK_OK(dc_delta_dv_decode(&d, badoff, sizeof badoff, &err), &err);
    CHECK(d && dc_delta_dv_cardinality(d) == 2 && dc_delta_dv_contains(d, 5));
    dc_delta_dv_free(d);
}
