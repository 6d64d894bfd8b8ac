/*
 * Parquet value and level encodings, and page compression codecs.
 * Internal to src/parquet/. All decoders take untrusted bytes and never read
 * outside [p, p+n); they fail with DC_ECORRUPT and a message saying which
 * encoding, what was wrong and at which byte offset of the input.
 *
 * Byte-array outputs: values are appended to `data`; `offsets` has count+1
 * entries, offsets[0] is set by the caller (== data->len on entry) and the
 * decoder fills offsets[1..count] with data->len after each value, so the
 * values of several pages can be appended to one column.
 */
#ifndef DC_PQ_ENC_H
#define DC_PQ_ENC_H

#include "pq_meta.h"

/* -------------------------------------------- RLE / bit-packed hybrid */

/* Decodes exactly `count` values of `bit_width` (0..32) bits from the hybrid
 * encoding (no length prefix: callers strip the 4-byte prefix of v1 levels).
 * Fails if the runs end before `count` values. Extra trailing runs are fine. */
int pq_rle_decode_u32(uint32_t *out, size_t count, int bit_width, const uint8_t *p, size_t n,
                      dc_err *err);
int pq_rle_decode_i16(int16_t *out, size_t count, int bit_width, const uint8_t *p, size_t n,
                      dc_err *err);
/* Legacy BIT_PACKED levels (MSB-first, deprecated); consumes ceil(count*bw/8). */
int pq_bitpacked_legacy_decode_i16(int16_t *out, size_t count, int bit_width, const uint8_t *p,
                                   size_t n, size_t *consumed, dc_err *err);

/* Encoders append the hybrid encoding (no length prefix) to out, choosing RLE
 * runs for repeats (>= 8) and bit-packed groups of 8 otherwise, as
 * parquet-java does. bit_width may be 0 (then nothing is written). */
int pq_rle_encode_u32(dc_buf *out, const uint32_t *vals, size_t count, int bit_width,
                      dc_err *err);
int pq_rle_encode_i16(dc_buf *out, const int16_t *vals, size_t count, int bit_width,
                      dc_err *err);

/* Bits needed to represent v (0 for 0). */
static inline int pq_bit_width(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }

/* -------------------------------------------------- delta encodings */

/* DELTA_BINARY_PACKED. Decodes up to max_out values; *count_out is the total
 * the header announced (must be <= max_out) and *consumed the bytes used
 * (needed because DELTA_LENGTH_BYTE_ARRAY data follows the lengths).
 * The _i32 variant does its arithmetic modulo 2^32 as the spec requires. */
int pq_delta_decode_i64(int64_t *out, size_t max_out, size_t *count_out, const uint8_t *p,
                        size_t n, size_t *consumed, dc_err *err);
int pq_delta_decode_i32(int32_t *out, size_t max_out, size_t *count_out, const uint8_t *p,
                        size_t n, size_t *consumed, dc_err *err);
/* DELTA_LENGTH_BYTE_ARRAY: exactly `count` values. */
int pq_delta_length_decode(dc_buf *data, uint32_t *offsets, size_t count, const uint8_t *p,
                           size_t n, dc_err *err);
/* DELTA_BYTE_ARRAY (incremental / front coding): exactly `count` values. */
int pq_delta_byte_array_decode(dc_buf *data, uint32_t *offsets, size_t count, const uint8_t *p,
                               size_t n, dc_err *err);
/* Encoder for DELTA_BINARY_PACKED (block 128, 4 miniblocks), used by tests
 * and available to writers that want it. */
int pq_delta_encode_i64(dc_buf *out, const int64_t *vals, size_t count, dc_err *err);

/* ----------------------------------------------------- other encodings */

/* BYTE_STREAM_SPLIT of `count` values of `width` bytes (FLOAT 4, DOUBLE 8,
 * INT32 4, INT64 8, FLBA type_length): out receives count*width bytes. */
int pq_bss_decode(uint8_t *out, size_t count, size_t width, const uint8_t *p, size_t n,
                  dc_err *err);

/* PLAIN byte arrays (4-byte little-endian length + bytes), exactly `count`;
 * *consumed is the bytes used. */
int pq_plain_ba_decode(dc_buf *data, uint32_t *offsets, size_t count, const uint8_t *p, size_t n,
                       size_t *consumed, dc_err *err);
/* PLAIN booleans: bit-packed LSB first, one output byte (0/1) per value;
 * needs ceil(count/8) bytes. */
int pq_plain_bool_decode(uint8_t *out, size_t count, const uint8_t *p, size_t n, dc_err *err);

/* ------------------------------------------------------------ codecs */

/* Decompresses a page body into exactly `out_len` bytes (the page header's
 * uncompressed size; a different actual size is DC_ECORRUPT). Handles
 * UNCOMPRESSED, SNAPPY, GZIP (zlib or gzip framing, several gzip members),
 * BROTLI, ZSTD (several frames), LZ4_RAW, and LZ4 (Hadoop framing, falling
 * back to a raw LZ4 block as parquet-cpp once wrote). LZO is DC_EUNSUPPORTED. */
int pq_decompress(uint8_t *out, size_t out_len, pq_codec codec, const uint8_t *p, size_t n,
                  dc_err *err);
/* Appends the compressed form of p[0..n) to out. level < 0 means the codec's
 * default (zstd 1 as Arrow — pyarrow, delta-rs —, gzip 6, brotli
 * 8). Writers use UNCOMPRESSED, SNAPPY, GZIP, ZSTD; BROTLI, LZ4_RAW and LZ4
 * (one Hadoop frame) also work (tests, fuzzing); LZO is DC_EUNSUPPORTED. */
int pq_compress(dc_buf *out, pq_codec codec, int level, const uint8_t *p, size_t n,
                dc_err *err);

/* Codec state kept between pages (zstd contexts, zlib streams) so a reader or
 * writer pays the codecs' setup once, not per page. One per thread. The _ctx
 * variants behave as the calls above; c may be NULL (a throw-away state). */
typedef struct pq_codec_ctx pq_codec_ctx;
int pq_codec_ctx_new(pq_codec_ctx **out, dc_err *err);
void pq_codec_ctx_free(pq_codec_ctx *c);
int pq_decompress_ctx(pq_codec_ctx *c, uint8_t *out, size_t out_len, pq_codec codec,
                      const uint8_t *p, size_t n, dc_err *err);
int pq_compress_ctx(pq_codec_ctx *c, dc_buf *out, pq_codec codec, int level, const uint8_t *p,
                    size_t n, dc_err *err);

#endif /* DC_PQ_ENC_H */
