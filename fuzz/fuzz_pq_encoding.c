/* Fuzzes the Parquet level/value decoders and the page codecs (pq_enc.h).
 *
 * Input: [target][param][lo][hi] then the bytes to decode. `target` picks a
 * decoder, `param` its bit width or value width, lo|hi<<8 the value count
 * (codecs: param|lo<<8|hi<<16 is the decompressed size, at most 1 MiB).
 * Outputs are exact-size heap buffers so ASan sees any write past them.
 * Round-trip targets encode the payload and check the decoder gives it back. */
#include <stdint.h>
#include <stdlib.h>

#include "../src/parquet/pq_enc.h"

enum {
    T_RLE_U32, T_RLE_I16, T_BITPACKED, T_DELTA_I64, T_DELTA_I32, T_DELTA_LENGTH,
    T_DELTA_BYTE_ARRAY, T_BSS, T_PLAIN_BA, T_PLAIN_BOOL, T_DECOMPRESS, T_RT_RLE, T_RT_DELTA,
    T_RT_CODEC, T_COUNT
};

static const pq_codec CODECS[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP,
                                  PQ_CODEC_BROTLI,       PQ_CODEC_ZSTD,   PQ_CODEC_LZ4,
                                  PQ_CODEC_LZ4_RAW,      PQ_CODEC_LZO};

#define MAX_OUT ((size_t)1 << 20)

static void check_offsets(const dc_buf *data, const uint32_t *off, size_t count)
{
    for (size_t i = 0; i < count; i++) DC_ASSERT(off[i] <= off[i + 1]);
    DC_ASSERT(off[count] == data->len);
}

static void byte_arrays(int target, size_t count, const uint8_t *p, size_t n)
{
    dc_err err;
    dc_buf data;
    dc_buf_init(&data, 16u << 20);
    uint32_t *off = malloc((count + 1) * sizeof *off);
    off[0] = 0;
    size_t used = 0;
    int rc;
    if (target == T_DELTA_LENGTH) rc = pq_delta_length_decode(&data, off, count, p, n, &err);
    else if (target == T_DELTA_BYTE_ARRAY)
        rc = pq_delta_byte_array_decode(&data, off, count, p, n, &err);
    else rc = pq_plain_ba_decode(&data, off, count, p, n, &used, &err);
    if (rc == 0) check_offsets(&data, off, count);
    DC_ASSERT(rc == 0 || rc == DC_ECORRUPT || rc == DC_ELIMIT);
    DC_ASSERT(used <= n);
    free(off);
    dc_buf_dispose(&data);
}

static void levels_and_deltas(int target, int param, size_t count, const uint8_t *p, size_t n)
{
    dc_err err;
    size_t got = 0, used = 0;
    int rc;
    const size_t elem = target == T_RLE_U32 || target == T_DELTA_I32 ? 4
                        : target == T_RLE_I16 || target == T_BITPACKED ? 2
                        : target == T_DELTA_I64 ? 8 : 1;
    void *out = malloc(count ? count * elem : 1); /* exact: overruns are caught */
    switch (target) {
    case T_RLE_U32: rc = pq_rle_decode_u32(out, count, param % 34, p, n, &err); break;
    case T_RLE_I16: rc = pq_rle_decode_i16(out, count, param % 17, p, n, &err); break;
    case T_BITPACKED:
        rc = pq_bitpacked_legacy_decode_i16(out, count, param % 17, p, n, &used, &err);
        break;
    case T_DELTA_I64: rc = pq_delta_decode_i64(out, count, &got, p, n, &used, &err); break;
    case T_DELTA_I32: rc = pq_delta_decode_i32(out, count, &got, p, n, &used, &err); break;
    case T_BSS: /* count / 16 values of at most 16 bytes fit the count bytes of out */
        rc = pq_bss_decode(out, count / 16, (size_t)(param % 17), p, n, &err);
        break;
    default: rc = pq_plain_bool_decode(out, count, p, n, &err); break;
    }
    DC_ASSERT(rc == 0 || rc == DC_ECORRUPT || rc == DC_ELIMIT || rc == DC_EINVAL);
    DC_ASSERT(used <= n && got <= count);
    free(out);
}

static void decompress(int param, size_t out_len, const uint8_t *p, size_t n)
{
    dc_err err;
    uint8_t *out = malloc(out_len ? out_len : 1);
    const int rc = pq_decompress(out, out_len, CODECS[param % 8], p, n, &err);
    DC_ASSERT(rc == 0 || rc == DC_ECORRUPT || rc == DC_EUNSUPPORTED || rc == DC_ELIMIT);
    free(out);
}

/* Encodes the payload as values of the given width and decodes it back. */
static void roundtrip_rle(int param, const uint8_t *p, size_t n)
{
    dc_err err;
    const int bw = 1 + param % 32;
    const size_t count = n / 4;
    uint32_t *v = malloc((count ? count : 1) * sizeof *v), *back = malloc((count ? count : 1) * 4);
    const uint32_t mask = bw == 32 ? ~0u : ((uint32_t)1 << bw) - 1;
    /* Few distinct values so RLE runs occur. */
    for (size_t i = 0; i < count; i++) v[i] = dc_load_le32(p + 4 * i) % (param & 1 ? 3 : ~0u) & mask;
    dc_buf b;
    dc_buf_init(&b, 16u << 20);
    DC_ASSERT(pq_rle_encode_u32(&b, v, count, bw, &err) == 0);
    DC_ASSERT(pq_rle_decode_u32(back, count, bw, b.data, b.len, &err) == 0);
    DC_ASSERT(count == 0 || memcmp(v, back, count * 4) == 0);
    dc_buf_dispose(&b);
    free(back);
    free(v);
}

static void roundtrip_delta(const uint8_t *p, size_t n)
{
    dc_err err;
    const size_t count = n / 8;
    int64_t *v = malloc((count ? count : 1) * 8), *back = malloc((count ? count : 1) * 8);
    for (size_t i = 0; i < count; i++) v[i] = (int64_t)dc_load_le64(p + 8 * i);
    dc_buf b;
    dc_buf_init(&b, 16u << 20);
    size_t got = 0, used = 0;
    DC_ASSERT(pq_delta_encode_i64(&b, v, count, &err) == 0);
    DC_ASSERT(pq_delta_decode_i64(back, count, &got, b.data, b.len, &used, &err) == 0);
    DC_ASSERT(got == count && used == b.len);
    DC_ASSERT(count == 0 || memcmp(v, back, count * 8) == 0);
    dc_buf_dispose(&b);
    free(back);
    free(v);
}

static void roundtrip_codec(int param, const uint8_t *p, size_t n)
{
    dc_err err;
    const pq_codec c = CODECS[param % 7];
    dc_buf b;
    dc_buf_init(&b, 16u << 20);
    DC_ASSERT(pq_compress(&b, c, c == PQ_CODEC_BROTLI ? 1 : -1, p, n, &err) == 0);
    uint8_t *back = malloc(n ? n : 1);
    DC_ASSERT(pq_decompress(back, n, c, b.data, b.len, &err) == 0);
    DC_ASSERT(n == 0 || memcmp(p, back, n) == 0);
    free(back);
    dc_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    const int target = data[0] % T_COUNT, param = data[1];
    const size_t count = (size_t)data[2] | (size_t)data[3] << 8;
    const uint8_t *p = data + 4;
    const size_t n = size - 4;
    switch (target) {
    case T_DELTA_LENGTH:
    case T_DELTA_BYTE_ARRAY:
    case T_PLAIN_BA: byte_arrays(target, count, p, n); break;
    case T_DECOMPRESS: {
        size_t out_len = (size_t)param | count << 8;
        decompress(data[0] / T_COUNT, out_len > MAX_OUT ? MAX_OUT : out_len, p, n);
        break;
    }
    case T_RT_RLE: roundtrip_rle(param, p, n); break;
    case T_RT_DELTA: roundtrip_delta(p, n); break;
    case T_RT_CODEC: roundtrip_codec(param, p, n); break;
    default: levels_and_deltas(target, param, count, p, n); break;
    }
    return 0;
}
