/* Page codecs: round trips of every codec (empty and 1-byte inputs too),
 * size mismatches, truncated and corrupted streams, multi-member gzip,
 * multi-frame zstd, the LZ4 fallbacks, and every compressed page of the
 * parquet-testing corpus files that other engines wrote. */
#include "../test.h"

#include <stdlib.h>

#include <lz4.h>
#include <lz4frame.h>
#include <zlib.h>

#include "../../src/parquet/pq_enc.h"

/* ------------------------------------------- corpus page walker (shared) */

/* One page of a file as the walker sees it (fields of PageHeader). */
typedef struct pqt_page {
    int type;               /* PageType */
    int32_t usize, csize;   /* uncompressed / compressed page size */
    int32_t num_values;     /* v1 or v2 header */
    int32_t num_nulls;      /* v2 only */
    int32_t num_rows;       /* v2 only */
    int32_t encoding;       /* of the values */
    int32_t def_len, rep_len;  /* v2: level bytes ahead of the values */
    bool v2_compressed;     /* v2 is_compressed (default true) */
    const uint8_t *body;    /* csize bytes */
    int codec;              /* the column chunk's codec */
    int column;             /* index of the chunk in the footer's order */
} pqt_page;

typedef void (*pqt_page_fn)(const pqt_page *pg, void *ctx);
/* Declared again in test_pq_encoding.c, which walks delta-encoded pages. */
const char *pqt_corpus_dir(void);
int pqt_walk_pages(const char *name, pqt_page_fn fn, void *ctx);

const char *pqt_corpus_dir(void)
{
    static char dir[2048];
    const char *shared = dc_test_shared_dir();
    if (!shared) return NULL;
    snprintf(dir, sizeof dir, "%s/corpus/parquet-testing/data", shared);
    return dir;
}

/* Minimal Thrift compact reader: just enough to walk page headers. */
typedef struct tc {
    const uint8_t *p, *end;
    bool bad;
} tc;

static uint64_t tc_varint(tc *t)
{
    uint64_t v = 0;
    for (int s = 0; s < 64 && t->p < t->end; s += 7) {
        const uint8_t b = *t->p++;
        v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) return v;
    }
    t->bad = true;
    return 0;
}

static int64_t tc_zz(tc *t)
{
    const uint64_t v = tc_varint(t);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static void tc_skip(tc *t, int type, int depth);

static void tc_skip_struct(tc *t, int depth)
{
    while (!t->bad && t->p < t->end) {
        const uint8_t h = *t->p++;
        if (h == 0) return;
        if ((h >> 4) == 0) tc_zz(t);
        tc_skip(t, h & 0x0f, depth + 1);
    }
    t->bad = true;
}

static void tc_skip(tc *t, int type, int depth)
{
    if (depth > 32) { t->bad = true; return; }
    switch (type) {
    case 1: case 2: return;
    case 3: t->p++; return;
    case 4: case 5: case 6: tc_varint(t); return;
    case 7: t->p += 8; return;
    case 8: { const uint64_t n = tc_varint(t);
              if (n > (uint64_t)(t->end - t->p)) t->bad = true; else t->p += n; return; }
    case 9: case 10: {
        if (t->p >= t->end) { t->bad = true; return; }
        const uint8_t h = *t->p++;
        uint64_t n = h >> 4;
        if (n == 15) n = tc_varint(t);
        for (uint64_t i = 0; i < n && !t->bad; i++) {
            if ((h & 0x0f) == 1 || (h & 0x0f) == 2) t->p++;
            else tc_skip(t, h & 0x0f, depth + 1);
        }
        return;
    }
    case 12: tc_skip_struct(t, depth); return;
    default: t->bad = true; return;
    }
}

/* Fields of DataPageHeader (v1) or DataPageHeaderV2 that the tests need. */
static void tc_data_header(tc *t, pqt_page *pg, bool v2)
{
    int id = 0;
    while (!t->bad && t->p < t->end) {
        const uint8_t h = *t->p++;
        if (h == 0) return;
        id = (h >> 4) ? id + (h >> 4) : (int)tc_zz(t);
        const int ty = h & 0x0f;
        if (ty == 5 && id == 1) pg->num_values = (int32_t)tc_zz(t);
        else if (ty == 5 && v2 && id == 2) pg->num_nulls = (int32_t)tc_zz(t);
        else if (ty == 5 && v2 && id == 3) pg->num_rows = (int32_t)tc_zz(t);
        else if (ty == 5 && (v2 ? id == 4 : id == 2)) pg->encoding = (int32_t)tc_zz(t);
        else if (ty == 5 && v2 && id == 5) pg->def_len = (int32_t)tc_zz(t);
        else if (ty == 5 && v2 && id == 6) pg->rep_len = (int32_t)tc_zz(t);
        else if (v2 && id == 7 && (ty == 1 || ty == 2)) pg->v2_compressed = ty == 1;
        else tc_skip(t, ty, 1);
    }
    t->bad = true;
}

/* Parses a PageHeader; false when the bytes are not one. */
static bool tc_page_header(tc *t, pqt_page *pg)
{
    memset(pg, 0, sizeof *pg);
    pg->type = -1;
    pg->v2_compressed = true;
    int id = 0, seen = 0;
    while (!t->bad && t->p < t->end) {
        const uint8_t h = *t->p++;
        if (h == 0) break;
        id = (h >> 4) ? id + (h >> 4) : (int)tc_zz(t);
        const int ty = h & 0x0f;
        if (id <= 3 && ty != 5) return false;
        if (id == 1) pg->type = (int)tc_zz(t), seen |= 1;
        else if (id == 2) pg->usize = (int32_t)tc_zz(t), seen |= 2;
        else if (id == 3) pg->csize = (int32_t)tc_zz(t), seen |= 4;
        else if ((id == 5 || id == 8) && ty == 12) tc_data_header(t, pg, id == 8);
        else tc_skip(t, ty, 1);
    }
    return !t->bad && seen == 7 && pg->type >= 0 && pg->type <= 3 && pg->usize >= 0 &&
           pg->csize >= 0 && pg->csize <= t->end - t->p;
}

/* One column chunk of the footer: where its pages are and their codec. */
typedef struct tc_chunk {
    int64_t start, size;
    int codec;
} tc_chunk;

/* ColumnMetaData: codec (4), total_compressed_size (7), data_page_offset (9),
 * dictionary_page_offset (11). */
static void tc_column_meta(tc *t, tc_chunk *c)
{
    int id = 0;
    int64_t data = -1, dict = -1;
    while (!t->bad && t->p < t->end) {
        const uint8_t h = *t->p++;
        if (h == 0) break;
        id = (h >> 4) ? id + (h >> 4) : (int)tc_zz(t);
        const int ty = h & 0x0f;
        if (id == 4 && ty == 5) c->codec = (int)tc_zz(t);
        else if (id == 7 && ty == 6) c->size = tc_zz(t);
        else if (id == 9 && ty == 6) data = tc_zz(t);
        else if (id == 11 && ty == 6) dict = tc_zz(t);
        else tc_skip(t, ty, 1);
    }
    /* dictionary_page_offset 0 means absent (dict-page-offset-zero.parquet). */
    c->start = dict > 0 && dict < data ? dict : data;
}

/* Walks a list header and calls back for each struct element. */
static uint64_t tc_list_len(tc *t)
{
    if (t->p >= t->end) { t->bad = true; return 0; }
    const uint8_t h = *t->p++;
    uint64_t n = h >> 4;
    if (n == 15) n = tc_varint(t);
    if ((h & 0x0f) != 12) t->bad = true;
    return n;
}

/* FileMetaData.row_groups (4) → RowGroup.columns (1) → ColumnChunk.meta_data (3). */
static int tc_footer_chunks(tc *t, tc_chunk *out, int max)
{
    int n = 0, id = 0;
    while (!t->bad && t->p < t->end) {
        const uint8_t h = *t->p++;
        if (h == 0) break;
        id = (h >> 4) ? id + (h >> 4) : (int)tc_zz(t);
        if (id != 4 || (h & 0x0f) != 9) { tc_skip(t, h & 0x0f, 1); continue; }
        for (uint64_t rg = tc_list_len(t); rg > 0 && !t->bad; rg--) {
            int rid = 0;
            while (!t->bad && t->p < t->end) {
                const uint8_t rh = *t->p++;
                if (rh == 0) break;
                rid = (rh >> 4) ? rid + (rh >> 4) : (int)tc_zz(t);
                if (rid != 1 || (rh & 0x0f) != 9) { tc_skip(t, rh & 0x0f, 1); continue; }
                for (uint64_t cc = tc_list_len(t); cc > 0 && !t->bad; cc--) {
                    int cid = 0;
                    tc_chunk c = {-1, -1, -1};
                    while (!t->bad && t->p < t->end) {
                        const uint8_t ch = *t->p++;
                        if (ch == 0) break;
                        cid = (ch >> 4) ? cid + (ch >> 4) : (int)tc_zz(t);
                        if (cid == 3 && (ch & 0x0f) == 12) tc_column_meta(t, &c);
                        else tc_skip(t, ch & 0x0f, 1);
                    }
                    if (n < max) out[n++] = c;
                }
            }
        }
    }
    return t->bad ? -1 : n;
}

/* Calls fn for every page of every column chunk the footer lists. Returns the page count, or -1 when the file can not be read or parsed. */
int pqt_walk_pages(const char *name, pqt_page_fn fn, void *ctx)
{
    const char *dir = pqt_corpus_dir();
    if (!dir) return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *data = NULL;
    size_t len = 0;
    dc_err err;
    int pages = -1;
    tc_chunk chunks[256];
    if (dc_file_read_all(&data, &len, path, 64u << 20, &err) != 0 || len < 12) goto out;
    const size_t footer = dc_load_le32(data + len - 8);
    if (footer > len - 12) goto out;
    tc ft = {data + len - 8 - footer, data + len - 8, false};
    const int n = tc_footer_chunks(&ft, chunks, 256);
    if (n <= 0) goto out;
    pages = 0;
    for (int i = 0; i < n; i++) {
        if (chunks[i].start < 4 || chunks[i].size < 0 ||
            (uint64_t)chunks[i].start + (uint64_t)chunks[i].size > len) {
            pages = -1;
            goto out;
        }
        tc t = {data + chunks[i].start, data + chunks[i].start + chunks[i].size, false};
        pqt_page pg;
        while (t.p < t.end) {
            if (!tc_page_header(&t, &pg)) {
                pages = -1;
                goto out;
            }
            pg.body = t.p;
            pg.codec = chunks[i].codec;
            pg.column = i;
            fn(&pg, ctx);
            t.p += pg.csize;
            pages++;
        }
    }
out:
    dc_free(data);
    return pages;
}

/* ---------------------------------------------------------- round trips */

static const pq_codec CODECS[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP,
                                  PQ_CODEC_BROTLI,       PQ_CODEC_ZSTD,   PQ_CODEC_LZ4,
                                  PQ_CODEC_LZ4_RAW};
#define N_CODECS (sizeof CODECS / sizeof CODECS[0])

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

/* Text-like data (compressible) or random bytes. */
static uint8_t *make_input(size_t n, bool compressible)
{
    uint8_t *p = malloc(n ? n : 1);
    static const char words[] = "parquet delta lake change data capture row group page ";
    for (size_t i = 0; i < n; i++)
        p[i] = compressible ? (uint8_t)words[(i + (i / 97)) % (sizeof words - 1)]
                            : (uint8_t)rnd();
    return p;
}

/* Compresses, decompresses into an exact-size buffer, compares. */
static void roundtrip(pq_codec_ctx *ctx, pq_codec c, int level, const uint8_t *in, size_t n)
{
    dc_err err;
    dc_buf z;
    dc_buf_init(&z, (size_t)1 << 30);
    CHECK_OK(pq_compress_ctx(ctx, &z, c, level, in, n, &err), &err);
    uint8_t *zc = malloc(z.len ? z.len : 1);
    if (z.len) memcpy(zc, z.data, z.len);
    uint8_t *out = malloc(n ? n : 1);
    CHECK_OK(pq_decompress_ctx(ctx, n ? out : NULL, n, c, zc, z.len, &err), &err);
    CHECK(n == 0 || memcmp(in, out, n) == 0);
    /* The header's size is authoritative: one byte more or less is corrupt. */
    uint8_t *big = malloc(n + 1);
    CHECK_EQ_INT(pq_decompress_ctx(ctx, big, n + 1, c, zc, z.len, &err), DC_ECORRUPT);
    if (n > 0) CHECK_EQ_INT(pq_decompress_ctx(ctx, out, n - 1, c, zc, z.len, &err), DC_ECORRUPT);
    free(big);
    free(out);
    free(zc);
    dc_buf_dispose(&z);
}

TEST(codec_roundtrip_every_codec)
{
    dc_err err;
    pq_codec_ctx *ctx = NULL;
    CHECK_OK(pq_codec_ctx_new(&ctx, &err), &err);
    const size_t sizes[] = {0, 1, 2, 100, 4096, 70000, 1 << 20};
    for (size_t ci = 0; ci < N_CODECS; ci++) {
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            for (int comp = 0; comp < 2; comp++) {
                uint8_t *in = make_input(sizes[si], comp);
                roundtrip(ctx, CODECS[ci], -1, in, sizes[si]);
                roundtrip(NULL, CODECS[ci], -1, in, sizes[si]);
                free(in);
            }
        }
    }
    /* Levels: each codec's range, and contexts that switch levels. */
    uint8_t *in = make_input(50000, true);
    const int levels[] = {1, 9, 6, 0};
    for (size_t i = 0; i < 4; i++) roundtrip(ctx, PQ_CODEC_GZIP, levels[i], in, 50000);
    roundtrip(ctx, PQ_CODEC_ZSTD, 1, in, 50000);
    roundtrip(ctx, PQ_CODEC_ZSTD, 19, in, 50000);
    roundtrip(ctx, PQ_CODEC_BROTLI, 1, in, 50000);
    dc_buf z;
    dc_buf_init(&z, 1 << 20);
    CHECK_EQ_INT(pq_compress(&z, PQ_CODEC_GZIP, 10, in, 100, &err), DC_EINVAL);
    CHECK_EQ_INT(pq_compress(&z, PQ_CODEC_ZSTD, 99, in, 100, &err), DC_EINVAL);
    CHECK_EQ_INT(pq_compress(&z, PQ_CODEC_LZO, -1, in, 100, &err), DC_EUNSUPPORTED);
    /* The buffer's maximum is respected. */
    dc_buf small;
    dc_buf_init(&small, 10);
    CHECK_EQ_INT(pq_compress(&small, PQ_CODEC_ZSTD, -1, in, 50000, &err), DC_ELIMIT);
    dc_buf_dispose(&small);
    dc_buf_dispose(&z);
    free(in);
    pq_codec_ctx_free(ctx);
    pq_codec_ctx_free(NULL);
}

TEST(codec_empty_page_needs_no_codec)
{
    dc_err err;
    /* A v2 page of nulls only has no bytes at all, whatever the codec. */
    for (int c = 0; c <= 7; c++)
        CHECK_OK(pq_decompress(NULL, 0, (pq_codec)c, NULL, 0, &err), &err);
    uint8_t out[4];
    CHECK_EQ_INT(pq_decompress(out, 4, PQ_CODEC_ZSTD, NULL, 0, &err), DC_ECORRUPT);
    CHECK_EQ_INT(pq_decompress(out, 4, PQ_CODEC_LZO, out, 4, &err), DC_EUNSUPPORTED);
    CHECK_EQ_INT(pq_decompress(out, 4, (pq_codec)42, out, 4, &err), DC_EUNSUPPORTED);
}

/* Every prefix of every codec's stream fails, and corrupted streams either
 * fail with DC_ECORRUPT or produce the announced size (no checksum in some). */
TEST(codec_truncated_and_corrupt_streams)
{
    dc_err err;
    uint8_t *in = make_input(3000, true);
    uint8_t out[3000];
    for (size_t ci = 0; ci < N_CODECS; ci++) {
        const pq_codec c = CODECS[ci];
        dc_buf z;
        dc_buf_init(&z, 1 << 20);
        CHECK_OK(pq_compress(&z, c, -1, in, sizeof out, &err), &err);
        for (size_t k = 0; k < z.len; k++) {
            uint8_t *e = malloc(k ? k : 1);
            memcpy(e, z.data, k);
            const int rc = pq_decompress(out, sizeof out, c, e, k, &err);
            if (rc != DC_ECORRUPT) {
                fprintf(stderr, "  %d: prefix %zu of %zu gave %d\n", (int)c, k, z.len, rc);
                CHECK_EQ_INT(rc, DC_ECORRUPT);
            }
            free(e);
        }
        for (int trial = 0; trial < 300; trial++) {
            uint8_t *e = malloc(z.len);
            memcpy(e, z.data, z.len);
            for (int f = 0; f < 1 + trial % 4; f++) e[rnd() % z.len] ^= (uint8_t)(1 + rnd() % 255);
            const int rc = pq_decompress(out, sizeof out, c, e, z.len, &err);
            CHECK(rc == 0 || rc == DC_ECORRUPT);
            free(e);
        }
        dc_buf_dispose(&z);
    }
    free(in);
}

static void append_gzip_member(dc_buf *z, const uint8_t *p, size_t n)
{
    dc_err err;
    CHECK_OK(pq_compress(z, PQ_CODEC_GZIP, -1, p, n, &err), &err);
}

TEST(codec_gzip_members_and_zlib_framing)
{
    dc_err err;
    uint8_t *in = make_input(10000, true);
    uint8_t out[10000];
    dc_buf z;
    dc_buf_init(&z, 1 << 20);
    append_gzip_member(&z, in, 4000);
    append_gzip_member(&z, in + 4000, 0);
    append_gzip_member(&z, in + 4000, 6000);
    CHECK_OK(pq_decompress(out, 10000, PQ_CODEC_GZIP, z.data, z.len, &err), &err);
    CHECK(memcmp(in, out, 10000) == 0);
    /* Garbage after the members while output is still expected. */
    CHECK_EQ_INT(pq_decompress(out, 10000, PQ_CODEC_GZIP, z.data, z.len - 1, &err), DC_ECORRUPT);
    CHECK_OK(dc_buf_puts(&z, "junk", &err), &err);
    CHECK_OK(pq_decompress(out, 10000, PQ_CODEC_GZIP, z.data, z.len, &err), &err);
    CHECK_EQ_INT(pq_decompress(out, 10000 - 1, PQ_CODEC_GZIP, z.data, z.len, &err), DC_ECORRUPT);
    /* zlib framing (RFC 1950), which some writers produced. */
    uLongf zl = compressBound(10000);
    uint8_t *zb = malloc(zl);
    CHECK_EQ_INT(compress2(zb, &zl, in, 10000, 6), Z_OK);
    CHECK_OK(pq_decompress(out, 10000, PQ_CODEC_GZIP, zb, zl, &err), &err);
    CHECK(memcmp(in, out, 10000) == 0);
    /* Allocation failures inside zlib come back as DC_ENOMEM. */
    dc_alloc_fail_after(1);
    CHECK_EQ_INT(pq_decompress(out, 10000, PQ_CODEC_GZIP, zb, zl, &err), DC_ENOMEM);
    dc_alloc_fail_after(1);
    dc_buf_reset(&z);
    CHECK_EQ_INT(pq_compress(&z, PQ_CODEC_GZIP, -1, in, 100, &err), DC_ENOMEM);
    dc_alloc_fail_after(0);
    free(zb);
    dc_buf_dispose(&z);
    free(in);
}

TEST(codec_zstd_frames_and_lz4_fallbacks)
{
    dc_err err;
    uint8_t *in = make_input(20000, true);
    uint8_t out[20000];
    dc_buf z;
    dc_buf_init(&z, 1 << 20);
    CHECK_OK(pq_compress(&z, PQ_CODEC_ZSTD, -1, in, 5000, &err), &err);
    CHECK_OK(pq_compress(&z, PQ_CODEC_ZSTD, 7, in + 5000, 15000, &err), &err);
    CHECK_OK(pq_decompress(out, 20000, PQ_CODEC_ZSTD, z.data, z.len, &err), &err);
    CHECK(memcmp(in, out, 20000) == 0);
    /* Hadoop LZ4 with two frames. */
    dc_buf_reset(&z);
    CHECK_OK(pq_compress(&z, PQ_CODEC_LZ4, -1, in, 7000, &err), &err);
    CHECK_OK(pq_compress(&z, PQ_CODEC_LZ4, -1, in + 7000, 13000, &err), &err);
    memset(out, 0, sizeof out);
    CHECK_OK(pq_decompress(out, 20000, PQ_CODEC_LZ4, z.data, z.len, &err), &err);
    CHECK(memcmp(in, out, 20000) == 0);
    /* A raw block under the LZ4 codec (old parquet-cpp). */
    dc_buf_reset(&z);
    CHECK_OK(pq_compress(&z, PQ_CODEC_LZ4_RAW, -1, in, 20000, &err), &err);
    memset(out, 0, sizeof out);
    CHECK_OK(pq_decompress(out, 20000, PQ_CODEC_LZ4, z.data, z.len, &err), &err);
    CHECK(memcmp(in, out, 20000) == 0);
    /* The LZ4 frame format, two frames. */
    size_t cap = LZ4F_compressFrameBound(20000, NULL) * 2;
    uint8_t *fb = malloc(cap);
    const size_t f1 = LZ4F_compressFrame(fb, cap, in, 9000, NULL);
    CHECK(!LZ4F_isError(f1));
    const size_t f2 = LZ4F_compressFrame(fb + f1, cap - f1, in + 9000, 11000, NULL);
    CHECK(!LZ4F_isError(f2));
    memset(out, 0, sizeof out);
    CHECK_OK(pq_decompress(out, 20000, PQ_CODEC_LZ4, fb, f1 + f2, &err), &err);
    CHECK(memcmp(in, out, 20000) == 0);
    CHECK_EQ_INT(pq_decompress(out, 20000, PQ_CODEC_LZ4, fb, f1 + f2 - 1, &err), DC_ECORRUPT);
    CHECK_EQ_INT(pq_decompress(out, 20000, PQ_CODEC_LZ4_RAW, fb, f1 + f2, &err), DC_ECORRUPT);
    free(fb);
    dc_buf_dispose(&z);
    free(in);
}

/* ---------------------------------------------------- corpus pages */

typedef struct corpus_ctx {
    pq_codec codec;
    int ok, failed, empty;
    size_t bytes;
} corpus_ctx;

static void decompress_page(const pqt_page *pg, void *vctx)
{
    corpus_ctx *c = vctx;
    dc_err err;
    /* v2 levels are stored uncompressed ahead of the values. */
    const size_t lv = pg->type == 3 ? (size_t)pg->def_len + (size_t)pg->rep_len : 0;
    if (lv > (size_t)pg->csize || lv > (size_t)pg->usize) {
        c->failed++;
        return;
    }
    if (pg->codec != (int)c->codec) {
        fprintf(stderr, "  chunk codec %d, expected %d\n", pg->codec, (int)c->codec);
        c->failed++;
        return;
    }
    const pq_codec codec = pg->type == 3 && !pg->v2_compressed ? PQ_CODEC_UNCOMPRESSED : c->codec;
    const size_t ulen = (size_t)pg->usize - lv, clen = (size_t)pg->csize - lv;
    uint8_t *out = malloc(ulen ? ulen : 1);
    uint8_t *in = malloc(clen ? clen : 1); /* exact size for ASan */
    if (clen) memcpy(in, pg->body + lv, clen);
    const int rc = pq_decompress(out, ulen, codec, in, clen, &err);
    if (rc == 0) c->ok++;
    else {
        fprintf(stderr, "  page %d: %s\n", c->ok + c->failed, err.msg);
        c->failed++;
    }
    if (clen == 0) c->empty++;
    c->bytes += ulen;
    free(in);
    free(out);
}

TEST(codec_corpus_pages)
{
    static const struct { const char *file; pq_codec codec; } files[] = {
        {"concatenated_gzip_members.parquet", PQ_CODEC_GZIP},
        {"byte_stream_split_extended.gzip.parquet", PQ_CODEC_GZIP},
        {"data_index_bloom_encoding_stats.parquet", PQ_CODEC_GZIP},
        {"hadoop_lz4_compressed.parquet", PQ_CODEC_LZ4},
        {"hadoop_lz4_compressed_larger.parquet", PQ_CODEC_LZ4},
        {"non_hadoop_lz4_compressed.parquet", PQ_CODEC_LZ4},
        {"lz4_raw_compressed.parquet", PQ_CODEC_LZ4_RAW},
        {"lz4_raw_compressed_larger.parquet", PQ_CODEC_LZ4_RAW},
        {"large_string_map.brotli.parquet", PQ_CODEC_BROTLI},
        {"byte_stream_split.zstd.parquet", PQ_CODEC_ZSTD},
        {"delta_length_byte_array.parquet", PQ_CODEC_ZSTD},
        {"page_v2_empty_compressed.parquet", PQ_CODEC_ZSTD},
        {"datapage_v2.snappy.parquet", PQ_CODEC_SNAPPY},
        {"datapage_v2_empty_datapage.snappy.parquet", PQ_CODEC_SNAPPY},
        {"alltypes_plain.snappy.parquet", PQ_CODEC_SNAPPY},
        {"datapage_v1-snappy-compressed-checksum.parquet", PQ_CODEC_SNAPPY},
    };
    if (!pqt_corpus_dir()) {
        CHECK(!"parquet-testing corpus not found (set DC_SHARED)");
        return;
    }
    int empty = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        corpus_ctx c = {files[i].codec, 0, 0, 0, 0};
        const int pages = pqt_walk_pages(files[i].file, decompress_page, &c);
        if (pages <= 0 || c.failed || getenv("DC_TEST_VERBOSE")) fprintf(stderr, "  %s: %d pages\n", files[i].file, pages);
        CHECK(pages > 0);
        CHECK_EQ_INT(c.failed, 0);
        CHECK_EQ_INT(c.ok, pages);
        empty += c.empty;
    }
    CHECK(empty > 0); /* datapage_v2_empty_datapage has a 0-byte body */
}
