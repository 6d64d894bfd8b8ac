/* Parquet level/value encodings: round trips of every encoder, known answers
 * from parquet-format's Encodings.md, hostile headers, and every truncation
 * of encoded buffers (exact-size copies, so ASan sees any overread). */
#include "../test.h"

#include <stdlib.h>

#include "../../src/parquet/pq_enc.h"

/* Deterministic xorshift64* so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* A random value of at most w bits; `runs` makes long repeats likely. */
static uint64_t rnd_bits(int w)
{
    if (w == 0) return 0;
    return w == 64 ? rnd() : rnd() & ((UINT64_C(1) << w) - 1);
}

static void fill_pattern(uint32_t *v, size_t n, int w, int pattern)
{
    for (size_t i = 0; i < n; i++) {
        switch (pattern) {
        case 0: v[i] = (uint32_t)rnd_bits(w); break;                  /* random */
        case 1: v[i] = i && rnd() % 16 ? v[i - 1] : (uint32_t)rnd_bits(w); break; /* runs */
        case 2: v[i] = (uint32_t)rnd_bits(w) & (rnd() % 3 ? 0 : ~0u); break; /* mostly 0 */
        default: v[i] = (uint32_t)rnd_bits(w) | (uint32_t)(rnd_bits(w) >> 1); break;
        }
    }
}

/* An exact-size heap copy of p[0..n) so ASan catches reads past n. */
static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (n) memcpy(c, p, n);
    return c;
}

static const size_t LENGTHS[] = {1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 504, 505, 513,
                                 1000, 4099};
#define N_LENGTHS (sizeof LENGTHS / sizeof LENGTHS[0])

/* ---------------------------------------------------------- hybrid RLE */

TEST(rle_u32_roundtrip_all_widths)
{
    dc_err err;
    uint32_t in[4099], out[4099 + 8];
    for (int w = 1; w <= 32; w++) {
        for (size_t li = 0; li < N_LENGTHS; li++) {
            for (int pat = 0; pat < 4; pat++) {
                const size_t n = LENGTHS[li];
                fill_pattern(in, n, w, pat);
                dc_buf b;
                dc_buf_init(&b, 1 << 20);
                CHECK_OK(pq_rle_encode_u32(&b, in, n, w, &err), &err);
                uint8_t *enc = exact_copy(b.data, b.len);
                out[n] = 0xdeadbeef;
                CHECK_OK(pq_rle_decode_u32(out, n, w, enc, b.len, &err), &err);
                CHECK(memcmp(in, out, n * sizeof *in) == 0);
                CHECK_EQ_INT(out[n], 0xdeadbeef); /* nothing written past count */
                free(enc);
                dc_buf_dispose(&b);
            }
        }
    }
}

TEST(rle_i16_roundtrip_all_widths)
{
    dc_err err;
    uint32_t tmp[4099];
    int16_t in[4099], out[4099 + 1];
    for (int w = 1; w <= 15; w++) {
        for (size_t li = 0; li < N_LENGTHS; li++) {
            for (int pat = 0; pat < 4; pat++) {
                const size_t n = LENGTHS[li];
                fill_pattern(tmp, n, w, pat);
                for (size_t i = 0; i < n; i++) in[i] = (int16_t)tmp[i];
                dc_buf b;
                dc_buf_init(&b, 1 << 20);
                CHECK_OK(pq_rle_encode_i16(&b, in, n, w, &err), &err);
                uint8_t *enc = exact_copy(b.data, b.len);
                out[n] = 12345;
                CHECK_OK(pq_rle_decode_i16(out, n, w, enc, b.len, &err), &err);
                CHECK(memcmp(in, out, n * sizeof *in) == 0);
                CHECK_EQ_INT(out[n], 12345);
                free(enc);
                dc_buf_dispose(&b);
            }
        }
    }
}

static void check_bytes(const dc_buf *b, const uint8_t *want, size_t n)
{
    CHECK_EQ_INT(b->len, n);
    if (b->len == n) CHECK(memcmp(b->data, want, n) == 0);
    if (b->len == n && memcmp(b->data, want, n) != 0) {
        for (size_t i = 0; i < n; i++) fprintf(stderr, "%02x ", b->data[i]);
        fprintf(stderr, "\n");
    }
}

/* Encodings.md: 0..7 with bit width 3 bit-pack to 10001000 11000110 11111010. */
TEST(rle_known_answers)
{
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    const uint32_t seq[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    CHECK_OK(pq_rle_encode_u32(&b, seq, 8, 3, &err), &err);
    check_bytes(&b, (const uint8_t[]){0x03, 0x88, 0xC6, 0xFA}, 4);
    uint32_t out[16];
    CHECK_OK(pq_rle_decode_u32(out, 8, 3, b.data, b.len, &err), &err);
    CHECK(memcmp(out, seq, sizeof seq) == 0);

    /* 16 repeats: an RLE run, header 16<<1, one value byte (parquet-java). */
    uint32_t rep[16];
    for (int i = 0; i < 16; i++) rep[i] = 5;
    dc_buf_reset(&b);
    CHECK_OK(pq_rle_encode_u32(&b, rep, 16, 3, &err), &err);
    check_bytes(&b, (const uint8_t[]){0x20, 0x05}, 2);

    /* 1,2 then ten 3s: the repeats do not start on a group boundary, so
     * parquet-java bit-packs everything: 2 groups, the last padded with 0. */
    const uint32_t mix[12] = {1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
    dc_buf_reset(&b);
    CHECK_OK(pq_rle_encode_u32(&b, mix, 12, 2, &err), &err);
    check_bytes(&b, (const uint8_t[]){0x05, 0xF9, 0xFF, 0xFF, 0x00}, 5);

    /* 300 zeros at width 17: varint header 600 = 0xD8 0x04, 3 value bytes. */
    uint32_t zeros[300] = {0};
    dc_buf_reset(&b);
    CHECK_OK(pq_rle_encode_u32(&b, zeros, 300, 17, &err), &err);
    check_bytes(&b, (const uint8_t[]){0xD8, 0x04, 0x00, 0x00, 0x00}, 5);
    dc_buf_dispose(&b);
}

/* More than 63 groups of distinct values need a second bit-packed header. */
TEST(rle_encode_splits_long_packed_runs)
{
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    uint32_t v[64 * 8], out[64 * 8];
    for (size_t i = 0; i < 64 * 8; i++) v[i] = (uint32_t)(i % 2);
    CHECK_OK(pq_rle_encode_u32(&b, v, 64 * 8, 1, &err), &err);
    CHECK_EQ_INT(b.len, 1 + 63 + 1 + 1);
    CHECK_EQ_INT(b.data[0], (63 << 1) | 1);
    CHECK_EQ_INT(b.data[64], (1 << 1) | 1);
    CHECK_OK(pq_rle_decode_u32(out, 64 * 8, 1, b.data, b.len, &err), &err);
    CHECK(memcmp(v, out, sizeof v) == 0);
    dc_buf_dispose(&b);
}

/* A last bit-packed run may claim more groups than the page holds
 * (parquet-java reads what is there): fine unless requested values are missing. */
TEST(rle_partial_final_group)
{
    dc_err err;
    /* 2 groups claimed at width 8 (16 bytes), only 10 present. */
    uint8_t p[11] = {(2 << 1) | 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    uint8_t *e = exact_copy(p, sizeof p);
    uint32_t out[16];
    CHECK_OK(pq_rle_decode_u32(out, 10, 8, e, sizeof p, &err), &err);
    for (uint32_t i = 0; i < 10; i++) CHECK_EQ_INT(out[i], i + 1);
    CHECK_EQ_INT(pq_rle_decode_u32(out, 11, 8, e, sizeof p, &err), DC_ECORRUPT);
    /* Width 3: 3 values need 9 bits = 2 bytes. */
    CHECK_OK(pq_rle_decode_u32(out, 3, 3, e, 3, &err), &err);
    CHECK_EQ_INT(pq_rle_decode_u32(out, 3, 3, e, 2, &err), DC_ECORRUPT);
    free(e);
}

TEST(rle_hostile_headers)
{
    dc_err err;
    uint32_t out[64];
    int16_t o16[64];
    /* Empty input, zero-length runs that never finish, a 10-byte varint run. */
    CHECK_EQ_INT(pq_rle_decode_u32(out, 1, 3, (const uint8_t *)"", 0, &err), DC_ECORRUPT);
    const uint8_t zero_runs[] = {0x00, 0x01, 0x00, 0x01};
    CHECK_EQ_INT(pq_rle_decode_u32(out, 4, 3, zero_runs, sizeof zero_runs, &err), DC_ECORRUPT);
    const uint8_t huge_rle[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x07};
    CHECK_OK(pq_rle_decode_u32(out, 64, 3, huge_rle, sizeof huge_rle, &err), &err);
    CHECK_EQ_INT(out[63], 7);
    const uint8_t huge_packed[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xAA};
    CHECK_OK(pq_rle_decode_u32(out, 8, 1, huge_packed, sizeof huge_packed, &err), &err);
    CHECK_EQ_INT(pq_rle_decode_u32(out, 9, 1, huge_packed, sizeof huge_packed, &err),
                 DC_ECORRUPT);
    const uint8_t bad_varint[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_EQ_INT(pq_rle_decode_u32(out, 1, 3, bad_varint, sizeof bad_varint, &err), DC_ECORRUPT);
    /* An RLE value wider than the bit width, bit widths out of range. */
    const uint8_t wide_val[] = {0x10, 0x09};
    CHECK_EQ_INT(pq_rle_decode_u32(out, 8, 3, wide_val, sizeof wide_val, &err), DC_ECORRUPT);
    CHECK_EQ_INT(pq_rle_decode_u32(out, 1, 33, wide_val, sizeof wide_val, &err), DC_ECORRUPT);
    CHECK_EQ_INT(pq_rle_decode_i16(o16, 1, 16, wide_val, sizeof wide_val, &err), DC_ECORRUPT);
    CHECK_EQ_INT(pq_rle_decode_i16(o16, 1, -1, wide_val, sizeof wide_val, &err), DC_ECORRUPT);
    /* Width 0: runs carry no value bytes; values are 0. */
    const uint8_t w0[] = {0x10};
    out[0] = 99;
    CHECK_OK(pq_rle_decode_u32(out, 8, 0, w0, 1, &err), &err);
    CHECK_EQ_INT(out[0], 0);
    /* Trailing runs beyond count are ignored. */
    const uint8_t extra[] = {0x02, 0x01, 0x02, 0x01};
    CHECK_OK(pq_rle_decode_u32(out, 1, 1, extra, sizeof extra, &err), &err);
}

TEST(rle_encode_rejects_bad_values)
{
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    const uint32_t v[2] = {1, 8};
    CHECK_EQ_INT(pq_rle_encode_u32(&b, v, 2, 3, &err), DC_EINVAL);
    const int16_t l[2] = {1, -1};
    CHECK_EQ_INT(pq_rle_encode_i16(&b, l, 2, 3, &err), DC_EINVAL);
    dc_buf_reset(&b);
    CHECK_OK(pq_rle_encode_u32(&b, v, 2, 0, &err), &err);
    CHECK_EQ_INT(b.len, 0);
    dc_buf_dispose(&b);
}

TEST(rle_every_truncation)
{
    dc_err err;
    for (int w = 1; w <= 32; w += 3) {
        uint32_t in[300], out[300];
        fill_pattern(in, 300, w, 1);
        dc_buf b;
        dc_buf_init(&b, 1 << 20);
        CHECK_OK(pq_rle_encode_u32(&b, in, 300, w, &err), &err);
        for (size_t k = 0; k < b.len; k++) {
            uint8_t *e = exact_copy(b.data, k);
            const int rc = pq_rle_decode_u32(out, 300, w, e, k, &err);
            /* Cutting only the padding of the last group still decodes. */
            CHECK(rc == DC_ECORRUPT || (rc == 0 && memcmp(in, out, sizeof in) == 0));
            free(e);
        }
        dc_buf_dispose(&b);
    }
}

/* ---------------------------------------------------- legacy BIT_PACKED */

TEST(bitpacked_legacy)
{
    dc_err err;
    /* Encodings.md: 0..7 at width 3 MSB first is 00000101 00111001 01110111. */
    const uint8_t p[3] = {0x05, 0x39, 0x77};
    int16_t out[8];
    size_t used = 0;
    CHECK_OK(pq_bitpacked_legacy_decode_i16(out, 8, 3, p, 3, &used, &err), &err);
    CHECK_EQ_INT(used, 3);
    for (int i = 0; i < 8; i++) CHECK_EQ_INT(out[i], i);
    CHECK_OK(pq_bitpacked_legacy_decode_i16(out, 5, 3, p, 3, &used, &err), &err);
    CHECK_EQ_INT(used, 2);
    CHECK_EQ_INT(pq_bitpacked_legacy_decode_i16(out, 8, 3, p, 2, &used, &err), DC_ECORRUPT);
    CHECK_EQ_INT(pq_bitpacked_legacy_decode_i16(out, 8, 16, p, 3, &used, &err), DC_ECORRUPT);
    /* Round trip against a bit-by-bit MSB-first packer, all widths. */
    for (int w = 0; w <= 15; w++) {
        int16_t in[77], got[77];
        uint8_t buf[200] = {0};
        size_t bit = 0;
        for (int i = 0; i < 77; i++) {
            in[i] = (int16_t)rnd_bits(w);
            for (int j = w - 1; j >= 0; j--, bit++)
                if ((in[i] >> j) & 1) buf[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
        }
        uint8_t *e = exact_copy(buf, (bit + 7) / 8);
        CHECK_OK(pq_bitpacked_legacy_decode_i16(got, 77, w, e, (bit + 7) / 8, &used, &err),
                 &err);
        CHECK_EQ_INT(used, (bit + 7) / 8);
        CHECK(memcmp(in, got, sizeof in) == 0);
        free(e);
    }
}

/* ------------------------------------------------- DELTA_BINARY_PACKED */

static void dbp_roundtrip(const int64_t *in, size_t n)
{
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 24);
    CHECK_OK(pq_delta_encode_i64(&b, in, n, &err), &err);
    uint8_t *e = exact_copy(b.data, b.len);
    int64_t *out = malloc((n + 1) * sizeof *out);
    size_t got = 0, used = 0;
    CHECK_OK(pq_delta_decode_i64(out, n, &got, e, b.len, &used, &err), &err);
    CHECK_EQ_INT(got, n);
    CHECK_EQ_INT(used, b.len);
    CHECK(n == 0 || memcmp(in, out, n * sizeof *in) == 0);
    /* The i32 decoder, modulo 2^32, must agree on the low 32 bits. */
    int32_t *o32 = malloc((n + 1) * sizeof *o32);
    CHECK_OK(pq_delta_decode_i32(o32, n, &got, e, b.len, &used, &err), &err);
    for (size_t i = 0; i < n; i++)
        if ((uint32_t)o32[i] != (uint32_t)in[i]) {
            CHECK_EQ_INT(o32[i], (int32_t)(uint32_t)in[i]);
            break;
        }
    if (n > 0) CHECK_EQ_INT(pq_delta_decode_i64(out, n - 1, &got, e, b.len, &used, &err),
                            DC_ECORRUPT);
    free(o32);
    free(out);
    free(e);
    dc_buf_dispose(&b);
}

TEST(delta_roundtrip_all_widths)
{
    static int64_t v[4099];
    const size_t lens[] = {0, 1, 2, 3, 31, 32, 33, 127, 128, 129, 130, 256, 257, 1000, 4099};
    for (int w = 0; w <= 64; w++) {
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            const size_t n = lens[li];
            /* Deltas of exactly w bits (plus a random base and sign). */
            int64_t x = (int64_t)rnd();
            for (size_t i = 0; i < n; i++) {
                v[i] = x;
                x = (int64_t)((uint64_t)x + rnd_bits(w));
            }
            dbp_roundtrip(v, n);
        }
    }
    /* Extremes: alternating INT64_MIN/MAX wrap; int32 extremes. */
    for (size_t i = 0; i < 300; i++) v[i] = i % 2 ? INT64_MAX : INT64_MIN;
    dbp_roundtrip(v, 300);
    for (size_t i = 0; i < 300; i++) v[i] = i % 3 ? INT32_MAX : INT32_MIN;
    dbp_roundtrip(v, 300);
    for (size_t i = 0; i < 4099; i++) v[i] = (int64_t)rnd();
    dbp_roundtrip(v, 4099);
}

/* Encodings.md examples. */
TEST(delta_known_answers)
{
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    /* Example 1: 1..5: deltas all 1, min delta 1, bit width 0. */
    const int64_t ex1[5] = {1, 2, 3, 4, 5};
    CHECK_OK(pq_delta_encode_i64(&b, ex1, 5, &err), &err);
    check_bytes(&b, (const uint8_t[]){0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0}, 10);
    int32_t o32[8];
    size_t got = 0, used = 0;
    CHECK_OK(pq_delta_decode_i32(o32, 8, &got, b.data, b.len, &used, &err), &err);
    CHECK_EQ_INT(got, 5);
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(o32[i], i + 1);
    /* Example 2: 7,5,3,1,2,3,4,5: min delta -2, relative 0,0,0,3,3,3,3, width 2. */
    const int64_t ex2[8] = {7, 5, 3, 1, 2, 3, 4, 5};
    dc_buf_reset(&b);
    CHECK_OK(pq_delta_encode_i64(&b, ex2, 8, &err), &err);
    const uint8_t want2[] = {0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 0x02, 0, 0, 0,
                             0xC0, 0x3F, 0, 0, 0, 0, 0, 0};
    check_bytes(&b, want2, sizeof want2);
    CHECK_OK(pq_delta_decode_i32(o32, 8, &got, want2, sizeof want2, &used, &err), &err);
    CHECK_EQ_INT(got, 8);
    CHECK_EQ_INT(used, sizeof want2);
    for (int i = 0; i < 8; i++) CHECK_EQ_INT(o32[i], ex2[i]);
    dc_buf_dispose(&b);
}

/* Hand-made header + one block for the validation tests. */
static size_t dbp_make(uint8_t *p, uint64_t block, uint64_t minis, uint64_t count, int width)
{
    size_t n = 0;
    uint64_t h[4] = {block, minis, count, 0};
    for (int i = 0; i < 4; i++) {
        uint64_t x = h[i];
        while (x >= 0x80) { p[n++] = (uint8_t)(x | 0x80); x >>= 7; }
        p[n++] = (uint8_t)x;
    }
    p[n++] = 0; /* min delta 0 */
    for (uint64_t m = 0; m < minis && m < 64; m++) p[n++] = (uint8_t)width;
    memset(p + n, 0xff, 600);
    return n + 600;
}

TEST(delta_rejects_bad_headers)
{
    dc_err err;
    uint8_t p[1024];
    int64_t out[200];
    int32_t o32[200];
    size_t got, used, n;
    n = dbp_make(p, 128, 4, 100, 5);
    CHECK_OK(pq_delta_decode_i64(out, 200, &got, p, n, &used, &err), &err);
    CHECK_EQ_INT(used, 6 + 4 + 4 * 20);
    n = dbp_make(p, 0, 4, 100, 5);
    CHECK_EQ_INT(pq_delta_decode_i64(out, 200, &got, p, n, &used, &err), DC_ECORRUPT);
    n = dbp_make(p, 100, 4, 100, 5);
    CHECK_EQ_INT(pq_delta_decode_i64(out, 200, &got, p, n, &used, &err), DC_ECORRUPT);
    n = dbp_make(p, 128, 0, 100, 5);
    CHECK_EQ_INT(pq_delta_decode_i64(out, 200, &got, p, n, &used, &err), DC_ECORRUPT);
    n = dbp_make(p, 128, 3, 100, 5);
    CHECK_EQ_INT(pq_delta_decode_i64(out, 200, &got, p, n, &used, &err), DC_ECORRUPT);
    n = dbp_make(p, 128, 8, 100, 5); /* 16 values per miniblock */
    CHECK_EQ_INT(pq_delta_decode_i32(o32, 200, &got, p, n, &used, &err), DC_ECORRUPT);
    n = dbp_make(p, 128, 4, 100, 65);
    CHECK_EQ_INT(pq_delta_decode_i64(out, 200, &got, p, n, &used, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "bit width 65") != NULL);
    n = dbp_make(p, 128, 4, 201, 1);
    CHECK_EQ_INT(pq_delta_decode_i64(out, 200, &got, p, n, &used, &err), DC_ECORRUPT);
    /* Huge block sizes and miniblock counts fail on the input's size. */
    n = dbp_make(p, UINT64_C(1) << 62, 1, 100, 8);
    CHECK_EQ_INT(pq_delta_decode_i64(out, 200, &got, p, n, &used, &err), DC_ECORRUPT);
    n = dbp_make(p, UINT64_C(1) << 40, UINT64_C(1) << 20, 100, 0);
    CHECK_EQ_INT(pq_delta_decode_i64(out, 200, &got, p, n, &used, &err), DC_ECORRUPT);
    /* Width 64 with the maximal block size (valid header, short input). */
    n = dbp_make(p, UINT64_C(0xffffffffffffff80), 4, 100, 64);
    CHECK_EQ_INT(pq_delta_decode_i32(o32, 200, &got, p, n, &used, &err), DC_ECORRUPT);
    /* Unused miniblocks of the last block may carry any width. */
    n = dbp_make(p, 128, 4, 10, 0);
    p[7] = 200; p[8] = 200; p[9] = 200;
    CHECK_OK(pq_delta_decode_i32(o32, 200, &got, p, n, &used, &err), &err);
    CHECK_EQ_INT(used, 10);
}

TEST(delta_every_truncation)
{
    dc_err err;
    int64_t v[300], out[300];
    for (size_t i = 0; i < 300; i++) v[i] = (int64_t)(rnd() % 100000) - 50000;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    CHECK_OK(pq_delta_encode_i64(&b, v, 300, &err), &err);
    for (size_t k = 0; k < b.len; k++) {
        uint8_t *e = exact_copy(b.data, k);
        size_t got, used;
        CHECK_EQ_INT(pq_delta_decode_i64(out, 300, &got, e, k, &used, &err), DC_ECORRUPT);
        free(e);
    }
    dc_buf_dispose(&b);
}

/* --------------------------------------------------- byte-array encodings */

static void dlba_encode(dc_buf *b, const char *const *vals, size_t n)
{
    dc_err err;
    int64_t lens[64];
    for (size_t i = 0; i < n; i++) lens[i] = (int64_t)strlen(vals[i]);
    CHECK_OK(pq_delta_encode_i64(b, lens, n, &err), &err);
    for (size_t i = 0; i < n; i++) CHECK_OK(dc_buf_puts(b, vals[i], &err), &err);
}

static void check_values(const dc_buf *data, const uint32_t *off, const char *const *vals,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const size_t len = off[i + 1] - off[i];
        CHECK_EQ_INT(len, strlen(vals[i]));
        if (len == strlen(vals[i])) CHECK(memcmp(data->data + off[i], vals[i], len) == 0);
    }
}

TEST(delta_length_byte_array)
{
    dc_err err;
    /* Encodings.md: DeltaEncoding(5, 5, 6, 6) "HelloWorldFoobarABCDEF". */
    const char *const vals[4] = {"Hello", "World", "Foobar", "ABCDEF"};
    dc_buf enc, data;
    dc_buf_init(&enc, 1 << 20);
    dc_buf_init(&data, 1 << 20);
    dlba_encode(&enc, vals, 4);
    CHECK_OK(dc_buf_puts(&data, "prior", &err), &err); /* appends after earlier pages */
    uint32_t off[6] = {5};
    CHECK_OK(pq_delta_length_decode(&data, off, 4, enc.data, enc.len, &err), &err);
    CHECK_EQ_INT(off[4], 5 + 22);
    CHECK_EQ_INT(data.len, 5 + 22);
    check_values(&data, off, vals, 4);
    /* Count mismatch and every truncation fail. */
    data.len = 0;
    off[0] = 0;
    CHECK_EQ_INT(pq_delta_length_decode(&data, off, 3, enc.data, enc.len, &err), DC_ECORRUPT);
    CHECK_EQ_INT(pq_delta_length_decode(&data, off, 5, enc.data, enc.len, &err), DC_ECORRUPT);
    for (size_t k = 0; k < enc.len; k++) {
        uint8_t *e = exact_copy(enc.data, k);
        data.len = 0;
        CHECK_EQ_INT(pq_delta_length_decode(&data, off, 4, e, k, &err), DC_ECORRUPT);
        free(e);
    }
    /* A negative length. */
    dc_buf_reset(&enc);
    const int64_t neg[2] = {3, -1};
    CHECK_OK(pq_delta_encode_i64(&enc, neg, 2, &err), &err);
    CHECK_OK(dc_buf_puts(&enc, "abcdef", &err), &err);
    data.len = 0;
    CHECK_EQ_INT(pq_delta_length_decode(&data, off, 2, enc.data, enc.len, &err), DC_ECORRUPT);
    dc_buf_dispose(&enc);
    dc_buf_dispose(&data);
}

/* Front coding of vals as DELTA_BYTE_ARRAY. */
static void dba_encode(dc_buf *b, const char *const *vals, size_t n)
{
    dc_err err;
    int64_t pre[300], suf[300];
    for (size_t i = 0; i < n; i++) {
        size_t p = 0;
        if (i > 0)
            while (vals[i][p] && vals[i][p] == vals[i - 1][p]) p++;
        pre[i] = (int64_t)p;
        suf[i] = (int64_t)(strlen(vals[i]) - p);
    }
    CHECK_OK(pq_delta_encode_i64(b, pre, n, &err), &err);
    CHECK_OK(pq_delta_encode_i64(b, suf, n, &err), &err);
    for (size_t i = 0; i < n; i++) CHECK_OK(dc_buf_puts(b, vals[i] + pre[i], &err), &err);
}

TEST(delta_byte_array)
{
    dc_err err;
    /* Encodings.md: "axis","axle","babble","babyhood" → prefixes 0,2,0,3,
     * suffix lengths 4,2,6,5, "axislebabbleyhood". */
    const char *const vals[4] = {"axis", "axle", "babble", "babyhood"};
    dc_buf enc, data, want;
    dc_buf_init(&enc, 1 << 20);
    dc_buf_init(&data, 1 << 20);
    dc_buf_init(&want, 1 << 20);
    dba_encode(&enc, vals, 4);
    const int64_t pre[4] = {0, 2, 0, 3}, suf[4] = {4, 2, 6, 5};
    CHECK_OK(pq_delta_encode_i64(&want, pre, 4, &err), &err);
    CHECK_OK(pq_delta_encode_i64(&want, suf, 4, &err), &err);
    CHECK_OK(dc_buf_puts(&want, "axislebabbleyhood", &err), &err);
    check_bytes(&enc, want.data, want.len);
    uint32_t off[301] = {0};
    CHECK_OK(pq_delta_byte_array_decode(&data, off, 4, enc.data, enc.len, &err), &err);
    check_values(&data, off, vals, 4);
    for (size_t k = 0; k < enc.len; k++) {
        uint8_t *e = exact_copy(enc.data, k);
        data.len = 0;
        CHECK_EQ_INT(pq_delta_byte_array_decode(&data, off, 4, e, k, &err), DC_ECORRUPT);
        free(e);
    }
    /* A prefix longer than the previous value. */
    dc_buf_reset(&enc);
    const int64_t bad_pre[2] = {0, 3}, bad_suf[2] = {2, 1};
    CHECK_OK(pq_delta_encode_i64(&enc, bad_pre, 2, &err), &err);
    CHECK_OK(pq_delta_encode_i64(&enc, bad_suf, 2, &err), &err);
    CHECK_OK(dc_buf_puts(&enc, "abc", &err), &err);
    data.len = 0;
    CHECK_EQ_INT(pq_delta_byte_array_decode(&data, off, 2, enc.data, enc.len, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "prefix length 3") != NULL);
    /* Allocation failure is reported, not crashed on. */
    dc_buf_reset(&enc);
    dba_encode(&enc, vals, 4);
    data.len = 0;
    dc_alloc_fail_after(1);
    CHECK_EQ_INT(pq_delta_byte_array_decode(&data, off, 4, enc.data, enc.len, &err), DC_ENOMEM);
    dc_alloc_fail_after(0);
    dc_buf_dispose(&enc);
    dc_buf_dispose(&data);
    dc_buf_dispose(&want);
}

TEST(delta_byte_array_random)
{
    dc_err err;
    static char store[300][40];
    const char *vals[300];
    for (size_t i = 0; i < 300; i++) {
        size_t keep = i ? rnd() % (strlen(store[i - 1]) + 1) : 0;
        if (i) memcpy(store[i], store[i - 1], keep);
        const size_t len = keep + rnd() % 8;
        for (size_t j = keep; j < len; j++) store[i][j] = (char)('a' + rnd() % 3);
        store[i][len] = 0;
        vals[i] = store[i];
    }
    dc_buf enc, data;
    dc_buf_init(&enc, 1 << 20);
    dc_buf_init(&data, 1 << 20);
    dba_encode(&enc, vals, 300);
    uint32_t off[301] = {0};
    CHECK_OK(pq_delta_byte_array_decode(&data, off, 300, enc.data, enc.len, &err), &err);
    check_values(&data, off, vals, 300);
    dc_buf_dispose(&enc);
    dc_buf_dispose(&data);
}

/* ------------------------------------------------------ other encodings */

TEST(byte_stream_split)
{
    dc_err err;
    const size_t widths[] = {1, 2, 3, 4, 5, 8, 9, 16};
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++) {
        const size_t w = widths[wi];
        for (size_t li = 0; li < N_LENGTHS; li++) {
            const size_t n = LENGTHS[li];
            uint8_t *plain = malloc(n * w), *split = malloc(n * w), *out = malloc(n * w);
            for (size_t i = 0; i < n * w; i++) plain[i] = (uint8_t)rnd();
            for (size_t i = 0; i < n; i++)
                for (size_t b = 0; b < w; b++) split[b * n + i] = plain[i * w + b];
            CHECK_OK(pq_bss_decode(out, n, w, split, n * w, &err), &err);
            CHECK(memcmp(out, plain, n * w) == 0);
            CHECK_EQ_INT(pq_bss_decode(out, n, w, split, n * w - 1, &err), DC_ECORRUPT);
            /* Fewer values than the streams hold: the stride stays n. */
            CHECK_OK(pq_bss_decode(out, n - 1, w, split, n * w, &err), &err);
            CHECK(memcmp(out, plain, (n - 1) * w) == 0);
            free(plain);
            free(split);
            free(out);
        }
    }
    /* Known answer: 1.0f (00 00 80 3f) and 2.0f (00 00 00 40). */
    const uint8_t s[8] = {0, 0, 0, 0, 0x80, 0x00, 0x3f, 0x40};
    float f[2];
    CHECK_OK(pq_bss_decode((uint8_t *)f, 2, 4, s, 8, &err), &err);
    CHECK(f[0] == 1.0f && f[1] == 2.0f);
    CHECK_EQ_INT(pq_bss_decode((uint8_t *)f, 1, 0, s, 8, &err), DC_EINVAL);
}

TEST(plain_byte_array)
{
    dc_err err;
    dc_buf enc, data;
    dc_buf_init(&enc, 1 << 20);
    dc_buf_init(&data, 1 << 20);
    const char *const vals[5] = {"", "a", "hello world", "", "xyz"};
    for (int i = 0; i < 5; i++) {
        uint8_t len[4];
        dc_store_le32(len, (uint32_t)strlen(vals[i]));
        CHECK_OK(dc_buf_append(&enc, len, 4, &err), &err);
        CHECK_OK(dc_buf_puts(&enc, vals[i], &err), &err);
    }
    CHECK_OK(dc_buf_puts(&enc, "trailing", &err), &err);
    uint32_t off[6] = {0};
    size_t used = 0;
    CHECK_OK(pq_plain_ba_decode(&data, off, 5, enc.data, enc.len, &used, &err), &err);
    CHECK_EQ_INT(used, enc.len - 8);
    check_values(&data, off, vals, 5);
    for (size_t k = 0; k < used; k++) {
        uint8_t *e = exact_copy(enc.data, k);
        data.len = 0;
        CHECK_EQ_INT(pq_plain_ba_decode(&data, off, 5, e, k, &used, &err), DC_ECORRUPT);
        free(e);
    }
    /* A length of 2^32-1 must not wrap. */
    const uint8_t huge[8] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4};
    data.len = 0;
    CHECK_EQ_INT(pq_plain_ba_decode(&data, off, 1, huge, 8, &used, &err), DC_ECORRUPT);
    dc_buf_dispose(&enc);
    dc_buf_dispose(&data);
}

TEST(plain_boolean)
{
    dc_err err;
    uint8_t p[32], out[256 + 1];
    for (size_t i = 0; i < sizeof p; i++) p[i] = (uint8_t)rnd();
    for (size_t n = 0; n <= 256; n++) {
        const size_t bytes = (n + 7) / 8;
        uint8_t *e = exact_copy(p, bytes);
        out[n] = 0x55;
        CHECK_OK(pq_plain_bool_decode(out, n, e, bytes, &err), &err);
        for (size_t i = 0; i < n; i++)
            if (out[i] != ((p[i / 8] >> (i % 8)) & 1)) {
                CHECK_EQ_INT(out[i], (p[i / 8] >> (i % 8)) & 1);
                break;
            }
        CHECK_EQ_INT(out[n], 0x55);
        if (n) CHECK_EQ_INT(pq_plain_bool_decode(out, n, e, bytes - 1, &err), DC_ECORRUPT);
        free(e);
    }
}

/* ------------------------------------- pages other engines wrote (corpus) */

/* From test_pq_compress.c: a minimal page walker over the corpus files. */
typedef struct pqt_page {
    int type;
    int32_t usize, csize;
    int32_t num_values, num_nulls, num_rows, encoding;
    int32_t def_len, rep_len;
    bool v2_compressed;
    const uint8_t *body;
    int codec;
    int column;
} pqt_page;
typedef void (*pqt_page_fn)(const pqt_page *pg, void *ctx);
const char *pqt_corpus_dir(void);
int pqt_walk_pages(const char *name, pqt_page_fn fn, void *ctx);

/* An expected-values CSV: unquoted empty fields are null. */
typedef struct csv_field {
    const char *p;
    size_t len;
    bool null;
} csv_field;

typedef struct csv {
    char *text;
    size_t rows, cols;
    csv_field *f; /* rows * cols, header row first */
} csv;

static bool csv_load(csv *c, const char *name)
{
    memset(c, 0, sizeof *c);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", pqt_corpus_dir(), name);
    size_t len = 0;
    dc_err err;
    if (dc_file_read_all((uint8_t **)&c->text, &len, path, 64u << 20, &err) != 0) return false;
    size_t cap = 1024, n = 0;
    c->f = malloc(cap * sizeof *c->f);
    size_t i = 0, cols = 0, rows = 0;
    while (i < len) {
        csv_field fl = {c->text + i, 0, true};
        if (c->text[i] == '"') {
            fl.p = c->text + ++i;
            while (i < len && c->text[i] != '"') i++;
            fl.len = (size_t)(c->text + i - fl.p);
            fl.null = false;
            i++;
        } else {
            while (i < len && c->text[i] != ',' && c->text[i] != '\n') i++;
            fl.len = (size_t)(c->text + i - fl.p);
            fl.null = fl.len == 0;
        }
        if (n == cap) c->f = realloc(c->f, (cap *= 2) * sizeof *c->f);
        c->f[n++] = fl;
        cols++;
        if (i >= len || c->text[i] == '\n') {
            if (rows == 0) c->cols = cols;
            rows++;
            cols = 0;
        }
        i++;
    }
    c->rows = rows;
    return rows > 1 && n == rows * c->cols;
}

static void csv_free(csv *c)
{
    dc_free(c->text);
    free(c->f);
}

typedef struct corpus_check {
    const csv *want;
    size_t next_row[128];  /* rows of each column seen so far */
    size_t checked;        /* values compared */
    int i32_column;        /* column decoded as INT32, or -1 */
} corpus_check;

static void check_dbp_page(const pqt_page *pg, void *vctx)
{
    corpus_check *cc = vctx;
    dc_err err;
    CHECK(pg->type == 3 && pg->encoding == PQ_ENC_DELTA_BINARY_PACKED && pg->column < 128);
    const size_t lv = (size_t)pg->def_len + (size_t)pg->rep_len;
    const size_t nv = (size_t)(pg->num_values - pg->num_nulls);
    uint8_t *body = exact_copy(pg->body + lv, (size_t)pg->csize - lv);
    int64_t *v = malloc((nv + 1) * sizeof *v);
    int32_t *v32 = malloc((nv + 1) * sizeof *v32);
    size_t got = 0, used = 0;
    if (pg->column == cc->i32_column) {
        CHECK_OK(pq_delta_decode_i32(v32, nv, &got, body, (size_t)pg->csize - lv, &used, &err),
                 &err);
        for (size_t i = 0; i < got; i++) v[i] = v32[i];
    } else {
        CHECK_OK(pq_delta_decode_i64(v, nv, &got, body, (size_t)pg->csize - lv, &used, &err),
                 &err);
    }
    CHECK_EQ_INT(got, nv);
    for (size_t i = 0; i < got; i++) {
        const size_t row = 1 + cc->next_row[pg->column]++;
        CHECK(row < cc->want->rows);
        if (row >= cc->want->rows) break;
        const csv_field *f = &cc->want->f[row * cc->want->cols + (size_t)pg->column];
        const long long exp = strtoll(f->p, NULL, 10);
        if (v[i] != exp) {
            CHECK_EQ_INT(v[i], exp);
            break;
        }
        cc->checked++;
    }
    free(v32);
    free(v);
    free(body);
}

/* parquet-mr's DELTA_BINARY_PACKED pages of bit widths 0..64 and an INT32. */
TEST(corpus_delta_binary_packed_pages)
{
    csv want;
    if (!pqt_corpus_dir() || !csv_load(&want, "delta_binary_packed_expect.csv")) {
        CHECK(!"parquet-testing corpus not found (set DC_SHARED)");
        return;
    }
    corpus_check cc = {.want = &want, .i32_column = 65};
    CHECK(pqt_walk_pages("delta_binary_packed.parquet", check_dbp_page, &cc) > 0);
    CHECK_EQ_INT(cc.checked, 66 * 200);
    csv_free(&want);
}

static void check_dba_page(const pqt_page *pg, void *vctx)
{
    corpus_check *cc = vctx;
    dc_err err;
    CHECK(pg->type == 3 && pg->encoding == PQ_ENC_DELTA_BYTE_ARRAY && pg->column < 128);
    const size_t lv = (size_t)pg->def_len + (size_t)pg->rep_len;
    const size_t nl = (size_t)pg->num_values, nv = (size_t)(pg->num_values - pg->num_nulls);
    uint8_t *lev = exact_copy(pg->body + pg->rep_len, (size_t)pg->def_len);
    uint8_t *body = exact_copy(pg->body + lv, (size_t)pg->csize - lv);
    int16_t *def = malloc((nl + 1) * sizeof *def);
    uint32_t *off = calloc(nv + 1, sizeof *off);
    dc_buf data;
    dc_buf_init(&data, 1 << 24);
    CHECK_OK(pq_rle_decode_i16(def, nl, 1, lev, (size_t)pg->def_len, &err), &err);
    CHECK_OK(pq_delta_byte_array_decode(&data, off, nv, body, (size_t)pg->csize - lv, &err), &err);
    size_t vi = 0;
    for (size_t i = 0; i < nl && vi <= nv; i++) {
        const size_t row = 1 + cc->next_row[pg->column]++;
        if (row >= cc->want->rows) { CHECK(row < cc->want->rows); break; }
        const csv_field *f = &cc->want->f[row * cc->want->cols + (size_t)pg->column];
        CHECK_EQ_INT(def[i] == 0, f->null);
        if (def[i] == 0) continue;
        const size_t len = off[vi + 1] - off[vi];
        if (vi >= nv || len != f->len || memcmp(data.data + off[vi], f->p, len) != 0) {
            CHECK(!"value differs from the expected CSV");
            break;
        }
        vi++;
        cc->checked++;
    }
    CHECK_EQ_INT(vi, nv);
    dc_buf_dispose(&data);
    free(off);
    free(def);
    free(body);
    free(lev);
}

/* parquet-mr's DELTA_BYTE_ARRAY strings with nulls (v2 RLE levels). */
TEST(corpus_delta_byte_array_pages)
{
    csv want;
    if (!pqt_corpus_dir() || !csv_load(&want, "delta_byte_array_expect.csv")) {
        CHECK(!"parquet-testing corpus not found (set DC_SHARED)");
        return;
    }
    corpus_check cc = {.want = &want, .i32_column = -1};
    CHECK(pqt_walk_pages("delta_byte_array.parquet", check_dba_page, &cc) > 0);
    size_t non_null = 0;
    for (size_t i = want.cols; i < want.rows * want.cols; i++) non_null += !want.f[i].null;
    CHECK_EQ_INT(cc.checked, non_null);
    CHECK(non_null > 7000); /* 7798 non-null strings in 9 columns */
    csv_free(&want);
}
