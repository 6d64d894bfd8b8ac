/*
 * Page compression codecs (pq_enc.h) over the system libraries: zstd,
 * snappy, zlib, brotli and lz4.
 *
 * A pq_codec_ctx keeps the zstd and zlib states between pages so a reader or
 * writer pays their setup (allocations, table clearing) once per column
 * rather than once per page; pq_decompress/pq_compress use a throw-away one.
 * zlib allocates through dc_malloc so allocation-failure tests reach it.
 */
#include "pq_enc.h"

#include <limits.h>

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "../common/dc_limits.h"

/* Defaults: Arrow's for zstd (level 1: pyarrow, and delta-rs through
 * arrow-rs; parquet-java uses 3, which costs ~1.6x the encode time for ~7%
 * smaller files on bench/parquet's table), zlib's usual 6, Arrow's brotli
 * quality. */
#define ZSTD_DEFAULT_LEVEL 1
#define GZIP_DEFAULT_LEVEL 6
#define PQ_BROTLI_QUALITY 8

struct pq_codec_ctx {
    ZSTD_CCtx *zc;          /* zstd compression state, created on first use */
    ZSTD_DCtx *zd;          /* zstd decompression state, created on first use */
    z_stream inf;           /* zlib inflate state, valid when inf_ready */
    bool inf_ready;         /* inflateInit2 succeeded on inf */
    z_stream def;           /* zlib deflate state, valid when def_ready */
    bool def_ready;         /* deflateInit2 succeeded on def */
    int def_level;          /* level def was initialised with */
};

static voidpf zalloc_hook(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    size_t n;
    if (dc_mul_overflow_sz(items, size, &n)) return Z_NULL;
    return dc_malloc(n);
}

static void zfree_hook(voidpf opaque, voidpf p)
{
    (void)opaque;
    dc_free(p);
}

int pq_codec_ctx_new(pq_codec_ctx **out, dc_err *err)
{
    pq_codec_ctx *c = dc_calloc(1, sizeof *c);
    if (!c) return dc_err_set(err, DC_ENOMEM, "out of memory for a codec context");
    *out = c;
    return 0;
}

void pq_codec_ctx_free(pq_codec_ctx *c)
{
    if (!c) return;
    ZSTD_freeCCtx(c->zc);
    ZSTD_freeDCtx(c->zd);
    if (c->inf_ready) inflateEnd(&c->inf);
    if (c->def_ready) deflateEnd(&c->def);
    dc_free(c);
}

static int size_mismatch(const char *codec, size_t got, size_t want, dc_err *err)
{
    return dc_err_set(err, DC_ECORRUPT, "%s: page decompressed to %zu bytes, header says %zu",
                      codec, got, want);
}

/* ---------------------------------------------------------- decompress */

static int gunzip(pq_codec_ctx *c, uint8_t *out, size_t out_len, const uint8_t *p, size_t n,
                  dc_err *err)
{
    if (n > UINT_MAX || out_len > UINT_MAX)
        return dc_err_set(err, DC_ELIMIT, "GZIP: page of %zu bytes (%zu inflated) is too large",
                          n, out_len);
    z_stream *s = &c->inf;
    if (!c->inf_ready) {
        memset(s, 0, sizeof *s);
        s->zalloc = zalloc_hook;
        s->zfree = zfree_hook;
        /* 15 + 32: zlib or gzip framing, detected from the header. */
        if (inflateInit2(s, 15 + 32) != Z_OK)
            return dc_err_set(err, DC_ENOMEM, "GZIP: cannot initialise zlib");
        c->inf_ready = true;
    } else if (inflateReset(s) != Z_OK) {
        return dc_err_set(err, DC_EINTERNAL, "GZIP: inflateReset failed");
    }
    s->next_in = (Bytef *)(uintptr_t)p;
    s->avail_in = (uInt)n;
    s->next_out = out;
    s->avail_out = (uInt)out_len;
    for (;;) {
        const int zrc = inflate(s, Z_FINISH);
        if (zrc == Z_STREAM_END) {
            /* Several gzip members are concatenated: start the next one. */
            if (s->avail_in == 0 || s->avail_out == 0) break;
            if (inflateReset(s) != Z_OK)
                return dc_err_set(err, DC_EINTERNAL, "GZIP: inflateReset failed");
            continue;
        }
        if (zrc == Z_MEM_ERROR) return dc_err_set(err, DC_ENOMEM, "GZIP: out of memory");
        if (zrc == Z_BUF_ERROR && s->avail_out == 0)
            return dc_err_set(err, DC_ECORRUPT, "GZIP: page inflates to more than %zu bytes",
                              out_len);
        return dc_err_set(err, DC_ECORRUPT, "GZIP: %s at compressed offset %zu",
                          zrc == Z_BUF_ERROR ? "truncated stream" : (s->msg ? s->msg : "bad data"),
                          n - s->avail_in);
    }
    const size_t got = out_len - s->avail_out;
    return got == out_len ? 0 : size_mismatch("GZIP", got, out_len, err);
}

static int unzstd(pq_codec_ctx *c, uint8_t *out, size_t out_len, const uint8_t *p, size_t n,
                  dc_err *err)
{
    if (!c->zd && !(c->zd = ZSTD_createDCtx()))
        return dc_err_set(err, DC_ENOMEM, "ZSTD: out of memory for a decompression context");
    const size_t r = ZSTD_decompressDCtx(c->zd, out, out_len, p, n);
    if (ZSTD_isError(r)) {
        if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
            return dc_err_set(err, DC_ENOMEM, "ZSTD: out of memory");
        return dc_err_set(err, DC_ECORRUPT, "ZSTD: %s (page of %zu bytes, %zu expected)",
                          ZSTD_getErrorName(r), n, out_len);
    }
    return r == out_len ? 0 : size_mismatch("ZSTD", r, out_len, err);
}

static int unsnappy(uint8_t *out, size_t out_len, const uint8_t *p, size_t n, dc_err *err)
{
    size_t len = 0;
    if (snappy_uncompressed_length((const char *)p, n, &len) != SNAPPY_OK)
        return dc_err_set(err, DC_ECORRUPT, "SNAPPY: bad length preamble (page of %zu bytes)", n);
    if (len != out_len) return size_mismatch("SNAPPY", len, out_len, err);
    if (snappy_uncompress((const char *)p, n, (char *)out, &len) != SNAPPY_OK)
        return dc_err_set(err, DC_ECORRUPT, "SNAPPY: corrupt data (page of %zu bytes)", n);
    return len == out_len ? 0 : size_mismatch("SNAPPY", len, out_len, err);
}

static int unbrotli(uint8_t *out, size_t out_len, const uint8_t *p, size_t n, dc_err *err)
{
    size_t len = out_len;
    if (BrotliDecoderDecompress(n, p, &len, out) != BROTLI_DECODER_RESULT_SUCCESS)
        return dc_err_set(err, DC_ECORRUPT,
                          "BROTLI: corrupt data or more than %zu bytes (page of %zu bytes)",
                          out_len, n);
    return len == out_len ? 0 : size_mismatch("BROTLI", len, out_len, err);
}

/* A raw LZ4 block; returns the bytes produced or -1. */
static long lz4_block(uint8_t *out, size_t out_len, const uint8_t *p, size_t n)
{
    if (n > INT_MAX || out_len > INT_MAX) return -1;
    const int r = LZ4_decompress_safe((const char *)p, (char *)out, (int)n, (int)out_len);
    return r < 0 ? -1 : r;
}

/* Hadoop framing: [be32 uncompressed][be32 compressed][raw block], repeated,
 * covering the input exactly (Arrow's rule). Returns bytes produced or -1. */
static long lz4_hadoop(uint8_t *out, size_t out_len, const uint8_t *p, size_t n)
{
    size_t got = 0;
    while (n >= 8) {
        const uint32_t ulen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                              (uint32_t)p[2] << 8 | p[3];
        const uint32_t clen = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
                              (uint32_t)p[6] << 8 | p[7];
        p += 8;
        n -= 8;
        if (clen > n || ulen > out_len - got) return -1;
        if (lz4_block(out + got, ulen, p, clen) != (long)ulen) return -1;
        got += ulen;
        p += clen;
        n -= clen;
    }
    return n == 0 ? (long)got : -1;
}

/* LZ4 frame format (one or more frames). Returns bytes produced, -1 if the
 * data is not valid frames, -2 when out of memory. */
static long lz4_frames(uint8_t *out, size_t out_len, const uint8_t *p, size_t n)
{
    LZ4F_dctx *d = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) return -2;
    size_t got = 0, used = 0;
    long rc = -1;
    while (used < n) {
        size_t dst = out_len - got, src = n - used;
        const size_t r = LZ4F_decompress(d, out + got, &dst, p + used, &src, NULL);
        if (LZ4F_isError(r)) goto out;
        got += dst;
        used += src;
        if (dst == 0 && src == 0) goto out; /* no progress: output full */
        if (r != 0 && used == n) goto out;  /* last frame truncated */
    }
    rc = (long)got;
out:
    LZ4F_freeDecompressionContext(d);
    return rc;
}

static int unlz4(pq_codec codec, uint8_t *out, size_t out_len, const uint8_t *p, size_t n,
                 dc_err *err)
{
    if (codec == PQ_CODEC_LZ4_RAW) {
        const long r = lz4_block(out, out_len, p, n);
        if (r < 0)
            return dc_err_set(err, DC_ECORRUPT,
                              "LZ4_RAW: corrupt block or more than %zu bytes (page of %zu bytes)",
                              out_len, n);
        return (size_t)r == out_len ? 0 : size_mismatch("LZ4_RAW", (size_t)r, out_len, err);
    }
    /* Deprecated LZ4: Hadoop framing, else a raw block (old parquet-cpp),
     * else the LZ4 frame format, in the order Arrow tries them. */
    long r = lz4_hadoop(out, out_len, p, n);
    if (r != (long)out_len) r = lz4_block(out, out_len, p, n);
    if (r != (long)out_len) r = lz4_frames(out, out_len, p, n);
    if (r == -2) return dc_err_set(err, DC_ENOMEM, "LZ4: out of memory");
    if (r != (long)out_len)
        return dc_err_set(err, DC_ECORRUPT,
                          "LZ4: page of %zu bytes is not Hadoop-framed, a raw block or LZ4 "
                          "frames of %zu bytes", n, out_len);
    return 0;
}

static int decompress_with(pq_codec_ctx *c, uint8_t *out, size_t out_len, pq_codec codec,
                           const uint8_t *p, size_t n, dc_err *err)
{
    switch (codec) {
    case PQ_CODEC_UNCOMPRESSED:
        if (n != out_len) return size_mismatch("UNCOMPRESSED", n, out_len, err);
        memcpy(out, p, n);
        return 0;
    case PQ_CODEC_SNAPPY: return unsnappy(out, out_len, p, n, err);
    case PQ_CODEC_GZIP: return gunzip(c, out, out_len, p, n, err);
    case PQ_CODEC_BROTLI: return unbrotli(out, out_len, p, n, err);
    case PQ_CODEC_ZSTD: return unzstd(c, out, out_len, p, n, err);
    case PQ_CODEC_LZ4:
    case PQ_CODEC_LZ4_RAW: return unlz4(codec, out, out_len, p, n, err);
    case PQ_CODEC_LZO:
        return dc_err_set(err, DC_EUNSUPPORTED, "LZO compression is not supported");
    }
    return dc_err_set(err, DC_EUNSUPPORTED, "unknown compression codec %d", (int)codec);
}

int pq_decompress_ctx(pq_codec_ctx *c, uint8_t *out, size_t out_len, pq_codec codec,
                      const uint8_t *p, size_t n, dc_err *err)
{
    /* An empty page body (a v2 page of nulls only) is not a codec stream. */
    if (n == 0 && out_len == 0) return 0;
    uint8_t dummy[1];
    if (!out) out = dummy; /* libraries want a real pointer even for 0 bytes */
    if (!p) p = dummy;
    if (c) return decompress_with(c, out, out_len, codec, p, n, err);
    pq_codec_ctx tmp = {0};
    const int rc = decompress_with(&tmp, out, out_len, codec, p, n, err);
    ZSTD_freeDCtx(tmp.zd);
    if (tmp.inf_ready) inflateEnd(&tmp.inf);
    return rc;
}

int pq_decompress(uint8_t *out, size_t out_len, pq_codec codec, const uint8_t *p, size_t n,
                  dc_err *err)
{
    return pq_decompress_ctx(NULL, out, out_len, codec, p, n, err);
}

/* ------------------------------------------------------------ compress */

static int gzip(pq_codec_ctx *c, dc_buf *out, int level, const uint8_t *p, size_t n,
                dc_err *err)
{
    if (level < 0) level = GZIP_DEFAULT_LEVEL;
    if (level > 9) return dc_err_set(err, DC_EINVAL, "GZIP: level %d is not in 0..9", level);
    if (n > UINT_MAX) return dc_err_set(err, DC_ELIMIT, "GZIP: page of %zu bytes is too large", n);
    z_stream *s = &c->def;
    if (c->def_ready && c->def_level != level) {
        deflateEnd(s);
        c->def_ready = false;
    }
    if (!c->def_ready) {
        memset(s, 0, sizeof *s);
        s->zalloc = zalloc_hook;
        s->zfree = zfree_hook;
        /* 15 + 16: gzip framing, what parquet-java and pyarrow write. */
        if (deflateInit2(s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return dc_err_set(err, DC_ENOMEM, "GZIP: cannot initialise zlib");
        c->def_ready = true;
        c->def_level = level;
    } else if (deflateReset(s) != Z_OK) {
        return dc_err_set(err, DC_EINTERNAL, "GZIP: deflateReset failed");
    }
    const size_t bound = deflateBound(s, (uLong)n);
    DC_TRY(dc_buf_reserve(out, bound, err));
    s->next_in = (Bytef *)(uintptr_t)p;
    s->avail_in = (uInt)n;
    s->next_out = out->data + out->len;
    s->avail_out = (uInt)(bound > UINT_MAX ? UINT_MAX : bound);
    const int zrc = deflate(s, Z_FINISH);
    if (zrc != Z_STREAM_END)
        return dc_err_set(err, zrc == Z_MEM_ERROR ? DC_ENOMEM : DC_EINTERNAL,
                          "GZIP: deflate failed (%d)", zrc);
    out->len += s->total_out;
    return 0;
}

static int zstd(pq_codec_ctx *c, dc_buf *out, int level, const uint8_t *p, size_t n,
                dc_err *err)
{
    if (level < 0) level = ZSTD_DEFAULT_LEVEL;
    if (level > ZSTD_maxCLevel())
        return dc_err_set(err, DC_EINVAL, "ZSTD: level %d is above %d", level, ZSTD_maxCLevel());
    if (!c->zc && !(c->zc = ZSTD_createCCtx()))
        return dc_err_set(err, DC_ENOMEM, "ZSTD: out of memory for a compression context");
    const size_t bound = ZSTD_compressBound(n);
    DC_TRY(dc_buf_reserve(out, bound, err));
    const size_t r = ZSTD_compressCCtx(c->zc, out->data + out->len, bound, p, n, level);
    if (ZSTD_isError(r))
        return dc_err_set(err, DC_EINTERNAL, "ZSTD: %s", ZSTD_getErrorName(r));
    out->len += r;
    return 0;
}

static int snappy(dc_buf *out, const uint8_t *p, size_t n, dc_err *err)
{
    if (n > UINT32_MAX)
        return dc_err_set(err, DC_ELIMIT, "SNAPPY: page of %zu bytes is too large", n);
    size_t len = snappy_max_compressed_length(n);
    DC_TRY(dc_buf_reserve(out, len, err));
    if (snappy_compress((const char *)p, n, (char *)out->data + out->len, &len) != SNAPPY_OK)
        return dc_err_set(err, DC_EINTERNAL, "SNAPPY: compression failed");
    out->len += len;
    return 0;
}

static int brotli(dc_buf *out, int level, const uint8_t *p, size_t n, dc_err *err)
{
    if (level < 0) level = PQ_BROTLI_QUALITY;
    if (level > BROTLI_MAX_QUALITY)
        return dc_err_set(err, DC_EINVAL, "BROTLI: quality %d is above %d", level,
                          BROTLI_MAX_QUALITY);
    size_t len = BrotliEncoderMaxCompressedSize(n);
    if (len == 0) return dc_err_set(err, DC_ELIMIT, "BROTLI: page of %zu bytes is too large", n);
    DC_TRY(dc_buf_reserve(out, len, err));
    if (!BrotliEncoderCompress(level, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, n, p, &len,
                               out->data + out->len))
        return dc_err_set(err, DC_EINTERNAL, "BROTLI: compression failed");
    out->len += len;
    return 0;
}

/* LZ4_RAW is one raw block; LZ4 wraps it in one Hadoop frame, which every
 * reader (parquet-java, Arrow) accepts. */
static int lz4(dc_buf *out, bool hadoop, const uint8_t *p, size_t n, dc_err *err)
{
    if (n > (size_t)LZ4_MAX_INPUT_SIZE)
        return dc_err_set(err, DC_ELIMIT, "LZ4: page of %zu bytes is too large", n);
    const int bound = LZ4_compressBound((int)n);
    const size_t hdr = hadoop ? 8 : 0;
    DC_TRY(dc_buf_reserve(out, hdr + (size_t)bound, err));
    uint8_t *o = out->data + out->len;
    const int r = LZ4_compress_default((const char *)p, (char *)o + hdr, (int)n, bound);
    if (r <= 0) return dc_err_set(err, DC_EINTERNAL, "LZ4: compression failed");
    if (hadoop) {
        const uint32_t u = (uint32_t)n, z = (uint32_t)r;
        const uint8_t be[8] = {u >> 24, u >> 16, u >> 8, u, z >> 24, z >> 16, z >> 8, z};
        memcpy(o, be, 8);
    }
    out->len += hdr + (size_t)r;
    return 0;
}

static int compress_with(pq_codec_ctx *c, dc_buf *out, pq_codec codec, int level,
                         const uint8_t *p, size_t n, dc_err *err)
{
    switch (codec) {
    case PQ_CODEC_UNCOMPRESSED: return dc_buf_append(out, p, n, err);
    case PQ_CODEC_SNAPPY: return snappy(out, p, n, err);
    case PQ_CODEC_GZIP: return gzip(c, out, level, p, n, err);
    case PQ_CODEC_ZSTD: return zstd(c, out, level, p, n, err);
    case PQ_CODEC_BROTLI: return brotli(out, level, p, n, err);
    case PQ_CODEC_LZ4: return lz4(out, true, p, n, err);
    case PQ_CODEC_LZ4_RAW: return lz4(out, false, p, n, err);
    case PQ_CODEC_LZO: break;
    }
    return dc_err_set(err, DC_EUNSUPPORTED, "compression codec %d is not supported for writing",
                      (int)codec);
}

int pq_compress_ctx(pq_codec_ctx *c, dc_buf *out, pq_codec codec, int level, const uint8_t *p,
                    size_t n, dc_err *err)
{
    static const uint8_t empty[1];
    if (!p) p = empty;
    if (c) return compress_with(c, out, codec, level, p, n, err);
    pq_codec_ctx tmp = {0};
    const int rc = compress_with(&tmp, out, codec, level, p, n, err);
    ZSTD_freeCCtx(tmp.zc);
    if (tmp.def_ready) deflateEnd(&tmp.def);
    return rc;
}

int pq_compress(dc_buf *out, pq_codec codec, int level, const uint8_t *p, size_t n,
                dc_err *err)
{
    return pq_compress_ctx(NULL, out, codec, level, p, n, err);
}
