/*
 * delta: deletion vectors (PROTOCOL.md, Deletion Vectors and Deletion Vector
 * Format).
 *
 *   descriptor  storageType u: [prefix]<20 Z85 chars of a UUID> → file
 *               "<prefix>/deletion_vector_<uuid>.bin" under the table root;
 *               i: Z85 of the serialized bitmap itself; p: absolute path URI.
 *   DV file     byte 0 = version 1; at `offset`: u32 BE size, the bitmap,
 *               u32 BE CRC-32 of the bitmap.
 *   bitmap      RoaringBitmapArray: u32 LE magic 1681511377, u64 LE number of
 *               buckets, then per bucket u32 LE key (high 32 bits, ascending,
 *               top bit clear) and a portable 32-bit roaring bitmap (libroaring).
 *               Readers also meet delta-spark's older "native" layout (see
 *               dc_delta_dv_decode); writers produce only the portable one.
 */
#include "delta_int.h"

#include <roaring/roaring.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#define DV_MAGIC 1681511377u
#define DV_FILE_VERSION 1

typedef struct dv_bucket {
    uint32_t key;            /* high 32 bits of the rows in bm */
    roaring_bitmap_t *bm;    /* low 32 bits (owned; libroaring allocates with malloc) */
} dv_bucket;

struct dc_delta_dv {
    size_t n, cap;           /* buckets in use / allocated */
    dv_bucket *buckets;      /* ascending keys */
    uint64_t cardinality;    /* rows in the set */
};

/* ----------------------------------------------------------------- Z85 */

static const char z85_chars[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/* Character → digit (-1: not in the alphabet); const so threads share it. */
static const int8_t z85_value[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, 68, -1, 84, 83, 82, 72, -1, 75, 76, 70, 65, -1, 63, 62, 69,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 64, -1, 73, 66, 74, 71,
    81, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50,
    51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 77, -1, 78, 67, -1,
    -1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
    25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 79, -1, 80, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

int dc_z85_decode(dc_buf *out, const char *s, size_t n, dc_err *err)
{
    if (n % 5 != 0)
        return dc_err_set(err, DC_ECORRUPT, "z85: length %zu is not a multiple of 5", n);
    DC_TRY(dc_buf_reserve(out, n / 5 * 4, err));
    for (size_t i = 0; i < n; i += 5) {
        uint64_t v = 0;
        for (size_t k = 0; k < 5; k++) {
            int8_t d = z85_value[(uint8_t)s[i + k]];
            if (d < 0)
                return dc_err_set(err, DC_ECORRUPT, "z85: invalid character 0x%02x at offset %zu",
                                  (unsigned)(uint8_t)s[i + k], i + k);
            v = v * 85 + (uint64_t)d;
        }
        if (v > UINT32_MAX)
            return dc_err_set(err, DC_ECORRUPT, "z85: group at offset %zu exceeds 32 bits", i);
        uint8_t *d = out->data + out->len;
        d[0] = (uint8_t)(v >> 24);
        d[1] = (uint8_t)(v >> 16);
        d[2] = (uint8_t)(v >> 8);
        d[3] = (uint8_t)v;
        out->len += 4;
    }
    return 0;
}

int dc_z85_encode(dc_buf *out, const uint8_t *p, size_t n, dc_err *err)
{
    if (n % 4 != 0)
        return dc_err_set(err, DC_EINVAL, "z85: length %zu is not a multiple of 4", n);
    DC_TRY(dc_buf_reserve(out, n / 4 * 5, err));
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 |
                     p[i + 3];
        char *d = (char *)out->data + out->len;
        for (int k = 4; k >= 0; k--) {
            d[k] = z85_chars[v % 85];
            v /= 85;
        }
        out->len += 5;
    }
    return 0;
}

uint32_t dc_delta_crc32(const uint8_t *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

/* ---------------------------------------------------------- the object */

void dc_delta_dv_free(dc_delta_dv *dv)
{
    if (!dv) return;
    for (size_t i = 0; i < dv->n; i++) roaring_bitmap_free(dv->buckets[i].bm);
    dc_free(dv->buckets);
    dc_free(dv);
}

int dc_delta_dv_new(dc_delta_dv **out, dc_err *err)
{
    *out = dc_calloc(1, sizeof **out);
    if (!*out) return dc_err_set(err, DC_ENOMEM, "out of memory");
    return 0;
}

uint64_t dc_delta_dv_cardinality(const dc_delta_dv *dv) { return dv->cardinality; }

static dv_bucket *find_bucket(const dc_delta_dv *dv, uint32_t key, size_t *pos)
{
    size_t lo = 0, hi = dv->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dv->buckets[mid].key < key) lo = mid + 1;
        else hi = mid;
    }
    if (pos) *pos = lo;
    return lo < dv->n && dv->buckets[lo].key == key ? &dv->buckets[lo] : NULL;
}

bool dc_delta_dv_contains(const dc_delta_dv *dv, uint64_t row)
{
    const dv_bucket *b = find_bucket(dv, (uint32_t)(row >> 32), NULL);
    return b && (row >> 63) == 0 && roaring_bitmap_contains(b->bm, (uint32_t)row);
}

/* Inserts an empty bucket for key at pos (keeps keys ascending). */
static int insert_bucket(dc_delta_dv *dv, size_t pos, uint32_t key, roaring_bitmap_t *bm,
                         dc_err *err)
{
    if (dv->n == dv->cap) {
        size_t cap = dv->cap ? dv->cap * 2 : 4;
        dv_bucket *b = dc_realloc(dv->buckets, cap * sizeof *b);
        if (!b) return dc_err_set(err, DC_ENOMEM, "out of memory");
        dv->buckets = b;
        dv->cap = cap;
    }
    memmove(dv->buckets + pos + 1, dv->buckets + pos, (dv->n - pos) * sizeof *dv->buckets);
    dv->buckets[pos].key = key;
    dv->buckets[pos].bm = bm;
    dv->n++;
    return 0;
}

int dc_delta_dv_add(dc_delta_dv *dv, uint64_t row, dc_err *err)
{
    if (row >> 63)
        return dc_err_set(err, DC_EINVAL, "deletion vector: row index %llu has the top bit set",
                          (unsigned long long)row);
    size_t pos;
    dv_bucket *b = find_bucket(dv, (uint32_t)(row >> 32), &pos);
    if (!b) {
        roaring_bitmap_t *bm = roaring_bitmap_create();
        if (!bm) return dc_err_set(err, DC_ENOMEM, "out of memory");
        int rc = insert_bucket(dv, pos, (uint32_t)(row >> 32), bm, err);
        if (rc < 0) {
            roaring_bitmap_free(bm);
            return rc;
        }
        b = &dv->buckets[pos];
    }
    if (roaring_bitmap_add_checked(b->bm, (uint32_t)row)) dv->cardinality++;
    return 0;
}

static bool collect(uint32_t value, void *param)
{
    uint64_t **cursor = param;
    *(*cursor)++ = value;
    return true;
}

int dc_delta_dv_to_array(uint64_t **rows_out, size_t *n_out, const dc_delta_dv *dv, dc_err *err)
{
    *rows_out = NULL;
    *n_out = 0;
    if (dv->cardinality > DC_DELTA_MAX_DV_ROWS || dv->cardinality > SIZE_MAX / sizeof(uint64_t))
        return dc_err_set(err, DC_ELIMIT, "deletion vector: %llu rows exceed the limit",
                          (unsigned long long)dv->cardinality);
    uint64_t *rows = dc_malloc(dv->cardinality ? (size_t)dv->cardinality * sizeof *rows : 1);
    if (!rows) return dc_err_set(err, DC_ENOMEM, "out of memory");
    uint64_t *cursor = rows;
    for (size_t i = 0; i < dv->n; i++) {
        uint64_t *start = cursor;
        roaring_iterate(dv->buckets[i].bm, collect, &cursor);
        for (uint64_t *r = start; r < cursor; r++) *r |= (uint64_t)dv->buckets[i].key << 32;
    }
    DC_ASSERT((uint64_t)(cursor - rows) == dv->cardinality);
    *rows_out = rows;
    *n_out = (size_t)dv->cardinality;
    return 0;
}

/* ---------------------------------------------------- decode / encode */

typedef struct order_check {
    bool first;       /* no value seen yet */
    uint32_t last;    /* previous value */
    bool ascending;   /* every value was greater than the previous */
    uint64_t count;   /* values seen */
} order_check;

static bool check_order(uint32_t value, void *param)
{
    order_check *c = param;
    if (!c->first && value <= c->last) {
        c->ascending = false;
        return false;
    }
    c->first = false;
    c->last = value;
    c->count++;
    return true;
}

/* One 32-bit portable bitmap at the cursor. Its structure is checked first
 * (delta_roaring.c: libroaring 0.2 trusts container contents), then
 * libroaring decodes exactly those bytes. */
static int decode_bucket(dc_delta_dv *dv, dc_cur *c, uint32_t key, dc_err *err)
{
    const size_t at = dc_cur_offset(c);
    size_t size = 0;
    uint64_t card = 0;
    DC_TRY(dc_delta_roaring32_check(&size, &card, c->p, dc_cur_left(c), at, err));
    roaring_bitmap_t *bm = roaring_bitmap_portable_deserialize_safe((const char *)c->p, size);
    if (!bm)
        return dc_err_set(err, DC_ENOMEM, "deletion vector: bucket %u at offset %zu: libroaring "
                          "could not allocate it", key, at);
    /* Paired check: what libroaring decoded is what we validated. */
    order_check oc = {true, 0, true, 0};
    roaring_iterate(bm, check_order, &oc);
    if (!oc.ascending || oc.count != card) {
        roaring_bitmap_free(bm);
        return dc_err_set(err, DC_EINTERNAL,
                          "deletion vector: bucket %u at offset %zu: libroaring decoded %llu "
                          "rows, the layout has %llu", key, at, (unsigned long long)oc.count,
                          (unsigned long long)card);
    }
    int rc = insert_bucket(dv, dv->n, key, bm, err);
    if (rc < 0) {
        roaring_bitmap_free(bm);
        return rc;
    }
    dv->cardinality += card;
    c->p += size;
    return 0;
}

/* PROTOCOL.md's format: u64 LE bucket count, then per bucket u32 LE key
 * (ascending, top bit clear) and a portable 32-bit bitmap. */
static int decode_portable(dc_delta_dv *dv, dc_cur *c, dc_err *err)
{
    uint64_t nb = 0;
    DC_TRY(dc_cur_le64(c, &nb, err));
    if (nb > DC_DELTA_MAX_DV_BUCKETS || nb > dc_cur_left(c) / 12)
        return dc_err_set(err, DC_ECORRUPT,
                          "deletion vector: %llu buckets do not fit in %zu bytes (or exceed %llu)",
                          (unsigned long long)nb, dc_cur_left(c),
                          (unsigned long long)DC_DELTA_MAX_DV_BUCKETS);
    for (uint64_t i = 0; i < nb; i++) {
        uint32_t key = 0;
        DC_TRY(dc_cur_le32(c, &key, err));
        if (key >> 31 || (dv->n && key <= dv->buckets[dv->n - 1].key))
            return dc_err_set(err, DC_ECORRUPT,
                              "deletion vector: bucket key %u at offset %zu is not ascending or "
                              "has its top bit set",
                              key, dc_cur_offset(c) - 4);
        DC_TRY(decode_bucket(dv, c, key, err));
    }
    return 0;
}

static int cur_u32(dc_cur *c, bool big_endian, uint32_t *out, dc_err *err)
{
    DC_TRY(dc_cur_le32(c, out, err));
    if (big_endian) *out = __builtin_bswap32(*out);
    return 0;
}

/* delta-spark's "native" format: u32 bitmap count, then per bitmap (key =
 * its index) a u32 size and a portable 32-bit bitmap of exactly that size. */
static int decode_native(dc_delta_dv *dv, dc_cur *c, bool big_endian, dc_err *err)
{
    uint32_t nb = 0;
    DC_TRY(cur_u32(c, big_endian, &nb, err));
    if (nb > DC_DELTA_MAX_DV_BUCKETS || nb > dc_cur_left(c) / 12)
        return dc_err_set(err, DC_ECORRUPT,
                          "deletion vector: %u bitmaps do not fit in %zu bytes (or exceed %llu)",
                          nb, dc_cur_left(c), (unsigned long long)DC_DELTA_MAX_DV_BUCKETS);
    for (uint32_t key = 0; key < nb; key++) {
        uint32_t size = 0;
        DC_TRY(cur_u32(c, big_endian, &size, err));
        const size_t at = dc_cur_offset(c);
        if (size > dc_cur_left(c))
            return dc_cur_short(c, size, err);
        dc_cur one;
        dc_cur_init(&one, c->p, size, "deletion vector bitmap");
        DC_TRY(decode_bucket(dv, &one, key, err));
        if (dc_cur_left(&one) != 0)
            return dc_err_set(err, DC_ECORRUPT,
                              "deletion vector: bitmap %u at offset %zu is %zu bytes, not the %u "
                              "its frame says",
                              key, at, size - dc_cur_left(&one), size);
        c->p += size;
    }
    return 0;
}

/* Magic numbers (read little-endian). PORTABLE is PROTOCOL.md's format;
 * NATIVE is the older layout delta-spark still reads; NATIVE_BE is NATIVE
 * written big-endian, which is what PROTOCOL.md's own inline example holds
 * ("wi5b=0000100..." → rows 3, 4, 7, 11, 18, 29). No other format uses these
 * bytes, so accepting all three is unambiguous; the cardinality check of
 * dc_delta_dv_load still guards the result. */
#define DV_MAGIC_NATIVE 1681511376u
#define DV_MAGIC_NATIVE_BE 0xD0D33964u

int dc_delta_dv_decode(dc_delta_dv **out, const uint8_t *p, size_t n, dc_err *err)
{
    *out = NULL;
    dc_delta_dv *dv = NULL;
    dc_cur c;
    dc_cur_init(&c, n ? p : (const uint8_t *)"", n, "deletion vector");
    uint32_t magic = 0;
    int rc = dc_cur_le32(&c, &magic, err);
    if (rc == 0) rc = dc_delta_dv_new(&dv, err);
    if (rc == 0) {
        if (magic == DV_MAGIC) rc = decode_portable(dv, &c, err);
        else if (magic == DV_MAGIC_NATIVE) rc = decode_native(dv, &c, false, err);
        else if (magic == DV_MAGIC_NATIVE_BE) rc = decode_native(dv, &c, true, err);
        else
            rc = dc_err_set(err, DC_ECORRUPT, "deletion vector: magic %u, expected %u", magic,
                            DV_MAGIC);
    }
    if (rc == 0 && dc_cur_left(&c) != 0)
        rc = dc_err_set(err, DC_ECORRUPT, "deletion vector: %zu trailing bytes after the bitmap",
                        dc_cur_left(&c));
    if (rc < 0) {
        dc_delta_dv_free(dv);
        return rc;
    }
    *out = dv;
    return 0;
}

int dc_delta_dv_encode(dc_buf *out, const dc_delta_dv *dv, dc_err *err)
{
    uint8_t head[12];
    dc_store_le32(head, DV_MAGIC);
    size_t nonempty = 0;
    for (size_t i = 0; i < dv->n; i++) nonempty += !roaring_bitmap_is_empty(dv->buckets[i].bm);
    dc_store_le64(head + 4, nonempty);
    DC_TRY(dc_buf_append(out, head, sizeof head, err));
    for (size_t i = 0; i < dv->n; i++) {
        roaring_bitmap_t *bm = dv->buckets[i].bm;
        if (roaring_bitmap_is_empty(bm)) continue;
        roaring_bitmap_run_optimize(bm);  /* what Spark does before writing */
        size_t sz = roaring_bitmap_portable_size_in_bytes(bm);
        DC_TRY(dc_buf_reserve(out, 4 + sz, err));
        dc_store_le32(out->data + out->len, dv->buckets[i].key);
        out->len += 4;
        size_t wrote = roaring_bitmap_portable_serialize(bm, (char *)out->data + out->len);
        DC_ASSERT(wrote == sz);
        out->len += wrote;
    }
    return 0;
}

/* ------------------------------------------------------- descriptors */

int dc_delta_dv_unique_id(dc_buf *out, const dc_delta_dv_desc *dv, dc_err *err)
{
    DC_TRY(dc_buf_putc(out, (uint8_t)dv->storage_type, err));
    DC_TRY(dc_buf_puts(out, dv->path_or_inline, err));
    if (dv->has_offset) DC_TRY(dc_buf_appendf(out, err, "@%d", (int)dv->offset));
    return 0;
}

int dc_delta_dv_file_path(dc_buf *out, const dc_delta_dv_desc *dv, dc_err *err)
{
    const char *s = dv->path_or_inline;
    if (dv->storage_type == 'p') return dc_delta_path_to_storage(out, s, err);
    if (dv->storage_type != 'u')
        return dc_err_set(err, DC_EINVAL, "deletion vector: storage type '%c' has no file",
                          dv->storage_type);
    size_t n = strlen(s);
    if (n < 20)
        return dc_err_set(err, DC_ECORRUPT,
                          "deletion vector: pathOrInlineDv '%s' is shorter than a Z85 UUID (20)", s);
    dc_buf uuid;
    dc_buf_init(&uuid, 16);
    int rc = dc_z85_decode(&uuid, s + n - 20, 20, err);
    if (rc == 0 && n > 20) {
        /* The random prefix is a directory of the table root. */
        rc = dc_buf_append(out, s, n - 20, err);
        if (rc == 0) rc = dc_buf_putc(out, '/', err);
    }
    if (rc == 0) {
        const uint8_t *u = uuid.data;
        rc = dc_buf_appendf(out, err,
                            "deletion_vector_%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                            "%02x%02x%02x%02x%02x%02x.bin",
                            u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
                            u[11], u[12], u[13], u[14], u[15]);
    }
    dc_buf_dispose(&uuid);
    return rc;
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A DV this close to the start of its file is read with the version byte in
 * one request (object stores bill per request; deltacdc and Spark write one
 * DV per file at offset 1). */
#define DV_READ_TOGETHER 4096

/* Checks the frame of a 'u'/'p' DV whose version byte is `ver` and whose
 * frame (size, bitmap, CRC: size + 8 bytes) starts at `frame`, then moves
 * the bitmap to the start of `bitmap` (which may hold the frame). */
static int check_frame(dc_buf *bitmap, uint8_t ver, const uint8_t *frame, const char *file,
                       const dc_delta_dv_desc *dv, dc_err *err)
{
    const size_t size = (size_t)dv->size_in_bytes;
    if (ver != DV_FILE_VERSION)
        return dc_err_set(err, DC_ECORRUPT, "%s: deletion vector file version %u, expected 1",
                          file, ver);
    if (load_be32(frame) != size)
        return dc_err_set(err, DC_ECORRUPT,
                          "%s: deletion vector at offset %d has size %u, the log says %zu", file,
                          (int)dv->offset, load_be32(frame), size);
    uint32_t want = load_be32(frame + 4 + size), got = dc_delta_crc32(frame + 4, size);
    if (want != got)
        return dc_err_set(err, DC_ECORRUPT,
                          "%s: deletion vector at offset %d: CRC-32 %08x, stored %08x", file,
                          (int)dv->offset, got, want);
    DC_TRY(dc_buf_reserve(bitmap, size, err));
    memmove(bitmap->data, frame + 4, size);
    bitmap->len = size;
    return 0;
}

/* Reads the framed bitmap of a 'u'/'p' DV: version byte, size, data, CRC.
 * The log gives the size, so the frame and bitmap are one range read. */
static int read_dv_file(dc_buf *bitmap, dc_storage *s, const dc_delta_dv_desc *dv, dc_err *err)
{
    dc_buf path;
    dc_buf_init(&path, 64 * 1024);
    uint8_t ver = 0;
    const size_t size = (size_t)dv->size_in_bytes;
    const uint64_t off = (uint64_t)dv->offset;
    const size_t head = off <= DV_READ_TOGETHER ? (size_t)off : 0; /* bytes before the frame */
    int rc = dc_delta_dv_file_path(&path, dv, err);
    if (rc == 0) rc = dc_buf_putc(&path, '\0', err);
    const char *file = (const char *)path.data;
    if (rc == 0 && size > DC_DELTA_MAX_DV_BYTES)
        rc = dc_err_set(err, DC_ELIMIT, "%s: deletion vector of %zu bytes exceeds the limit", file,
                        size);
    if (rc == 0 && off > DV_READ_TOGETHER) rc = dc_storage_read_range(s, file, 0, 1, &ver, err);
    if (rc == 0) rc = dc_buf_reserve(bitmap, head + size + 8, err);
    if (rc == 0)
        rc = dc_storage_read_range(s, file, off - head, head + size + 8, bitmap->data, err);
    if (rc == 0 && off <= DV_READ_TOGETHER) ver = bitmap->data[0];
    if (rc == 0) rc = check_frame(bitmap, ver, bitmap->data + head, file, dv, err);
    dc_buf_dispose(&path);
    return rc;
}

/* The bitmap decoded and checked against the log's cardinality. */
static int decode_checked(dc_delta_dv **out, const dc_buf *bitmap, const dc_delta_dv_desc *dv,
                          dc_err *err)
{
    DC_TRY(dc_delta_dv_decode(out, bitmap->data, bitmap->len, err));
    if (dc_delta_dv_cardinality(*out) == (uint64_t)dv->cardinality) return 0;
    int rc = dc_err_set(err, DC_ECORRUPT,
                        "deletion vector '%c%s': %llu rows decoded, the log says cardinality %lld",
                        dv->storage_type, dv->path_or_inline,
                        (unsigned long long)dc_delta_dv_cardinality(*out),
                        (long long)dv->cardinality);
    dc_delta_dv_free(*out);
    *out = NULL;
    return rc;
}

int dc_delta_dv_load(dc_delta_dv **out, dc_storage *s, const dc_delta_dv_desc *dv, dc_err *err)
{
    *out = NULL;
    dc_buf bitmap;
    dc_buf_init(&bitmap, DC_DELTA_MAX_DV_BYTES + 8 + DV_READ_TOGETHER);
    int rc = 0;
    if (dv->storage_type == 'i') {
        const char *z = dv->path_or_inline;
        rc = dc_z85_decode(&bitmap, z, strlen(z), err);
        if (rc == 0 && (size_t)dv->size_in_bytes > bitmap.len)
            rc = dc_err_set(err, DC_ECORRUPT,
                            "inline deletion vector: %zu bytes decoded, sizeInBytes says %d",
                            bitmap.len, (int)dv->size_in_bytes);
        if (rc == 0) bitmap.len = (size_t)dv->size_in_bytes;  /* Z85 pads to 4 bytes */
    } else {
        rc = read_dv_file(&bitmap, s, dv, err);
    }
    if (rc == 0) rc = decode_checked(out, &bitmap, dv, err);
    dc_buf_dispose(&bitmap);
    return rc;
}

/* ------------------------------------------------------ cached loading */

void dc_delta_dv_cache_init(dc_delta_dv_cache *c)
{
    c->clock = 0;
    for (int i = 0; i < DC_DELTA_DV_CACHE_FILES; i++) {
        c->files[i].path = NULL;
        c->files[i].too_big = false;
        c->files[i].used = 0;
        dc_buf_init(&c->files[i].bytes, DC_DELTA_DV_CACHE_BYTES);
    }
}

void dc_delta_dv_cache_dispose(dc_delta_dv_cache *c)
{
    for (int i = 0; i < DC_DELTA_DV_CACHE_FILES; i++) {
        dc_free(c->files[i].path);
        c->files[i].path = NULL;
        dc_buf_dispose(&c->files[i].bytes);
    }
}

static void cache_drop(dc_delta_dv_cache_file *f)
{
    dc_free(f->path);
    f->path = NULL;
    f->too_big = false;
    f->used = 0;
    dc_buf_dispose(&f->bytes); /* keeps its max: the buffer is reusable */
}

/* Drops the least recently used files but `keep` until the memory held is
 * at most DC_DELTA_DV_CACHE_TOTAL. */
static void cache_trim(dc_delta_dv_cache *c, const dc_delta_dv_cache_file *keep)
{
    for (;;) {
        size_t total = 0;
        dc_delta_dv_cache_file *lru = NULL;
        for (int i = 0; i < DC_DELTA_DV_CACHE_FILES; i++) {
            dc_delta_dv_cache_file *f = &c->files[i];
            total += f->bytes.cap;
            if (f != keep && f->bytes.cap && (!lru || f->used < lru->used)) lru = f;
        }
        if (total <= DC_DELTA_DV_CACHE_TOTAL || !lru) return;
        cache_drop(lru);
    }
}

/* Makes the cache hold `file` (one whole read, replacing the file used
 * longest ago), or marks it too big; *out is its entry. */
static int cache_fill(dc_delta_dv_cache_file **out, dc_delta_dv_cache *c, dc_storage *s,
                      const char *file, dc_err *err)
{
    dc_delta_dv_cache_file *f = &c->files[0];
    for (int i = 0; i < DC_DELTA_DV_CACHE_FILES; i++) {
        if (c->files[i].path && strcmp(c->files[i].path, file) == 0) {
            *out = &c->files[i];
            return 0;
        }
        if (c->files[i].used < f->used) f = &c->files[i];
    }
    *out = f;
    cache_drop(f);
    int rc = dc_storage_read(s, file, &f->bytes, err);
    if (rc == 0) cache_trim(c, f);
    if (rc == DC_ELIMIT) {
        dc_err_clear(err);
        dc_buf_reset(&f->bytes);
        f->too_big = true;
        rc = 0;
    }
    if (rc == 0 && !(f->path = dc_strdup(file))) rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    return rc;
}

int dc_delta_dv_load_cached(dc_delta_dv **out, dc_storage *s, const dc_delta_dv_desc *dv,
                            dc_delta_dv_cache *c, dc_err *err)
{
    *out = NULL;
    if (dv->storage_type == 'i') return dc_delta_dv_load(out, s, dv, err);
    dc_buf path, bitmap;
    dc_buf_init(&path, 64 * 1024);
    dc_buf_init(&bitmap, DC_DELTA_MAX_DV_BYTES + 8);
    int rc = dc_delta_dv_file_path(&path, dv, err);
    if (rc == 0) rc = dc_buf_putc(&path, '\0', err);
    const char *file = (const char *)path.data;
    dc_delta_dv_cache_file *f = NULL;
    if (rc == 0) rc = cache_fill(&f, c, s, file, err);
    if (f) f->used = ++c->clock;
    const uint64_t end = (uint64_t)dv->offset + 4 + (uint64_t)dv->size_in_bytes + 4;
    if (rc == 0 && (f->too_big || dv->offset < 1 || end > f->bytes.len)) {
        /* Not in the bytes held (too big to hold, or a bad offset): by range,
         * which reports a bad offset as it always did. */
        rc = dc_delta_dv_load(out, s, dv, err);
    } else if (rc == 0) {
        rc = check_frame(&bitmap, f->bytes.data[0], f->bytes.data + dv->offset, file, dv, err);
        if (rc == 0) rc = decode_checked(out, &bitmap, dv, err);
    }
    dc_buf_dispose(&bitmap);
    dc_buf_dispose(&path);
    return rc;
}
