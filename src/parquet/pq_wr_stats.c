/*
 * Writer statistics: min/max in each logical type's column order (signed
 * integers, unsigned byte-wise strings and binary, signed big-endian decimals
 * on byte arrays, IEEE floats without NaN and with -0.0 as the minimum zero),
 * and truncation of long byte-array bounds (UTF-8 aware for strings).
 */
#include "pq_wr_int.h"

#include <math.h>

/* Zeros written for float/double bounds, as the spec asks: a min of 0 is
 * -0.0, a max of 0 is +0.0. */
static const float F_NEG0 = -0.0f, F_POS0 = 0.0f;
static const double D_NEG0 = -0.0, D_POS0 = 0.0;

static bool is_decimal(const dc_pq_leaf *leaf)
{
    return leaf->field && leaf->field->type == DC_TYPE_DECIMAL;
}

bool pq_wr_has_order(const dc_pq_leaf *leaf)
{
    if (leaf->phys == PQ_INT96) return false;
    if (leaf->field && (leaf->field->type == DC_TYPE_FLOAT16 || leaf->field->type == DC_TYPE_NULL))
        return false;
    return true;
}

/* Signed big-endian two's complement of possibly different lengths. */
static int cmp_signed_be(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    bool an = alen && (a[0] & 0x80), bn = blen && (b[0] & 0x80);
    if (an != bn) return an ? -1 : 1;
    const uint8_t pad = an ? 0xff : 0x00;
    size_t n = alen > blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        uint8_t x = i + alen < n ? pad : a[i + alen - n];
        uint8_t y = i + blen < n ? pad : b[i + blen - n];
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

static int cmp_unsigned(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

int pq_wr_cmp(const dc_pq_leaf *leaf, const uint8_t *a, size_t alen, const uint8_t *b,
              size_t blen)
{
    switch (leaf->phys) {
    case PQ_BOOLEAN: return (a[0] > b[0]) - (a[0] < b[0]);
    case PQ_INT32: {
        if (leaf->unsigned_order) {
            uint32_t x = dc_load_le32(a), y = dc_load_le32(b);
            return (x > y) - (x < y);
        }
        int32_t x = (int32_t)dc_load_le32(a), y = (int32_t)dc_load_le32(b);
        return (x > y) - (x < y);
    }
    case PQ_INT64: {
        if (leaf->unsigned_order) {
            uint64_t x = dc_load_le64(a), y = dc_load_le64(b);
            return (x > y) - (x < y);
        }
        int64_t x = (int64_t)dc_load_le64(a), y = (int64_t)dc_load_le64(b);
        return (x > y) - (x < y);
    }
    case PQ_FLOAT: {
        float x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return (x > y) - (x < y);
    }
    case PQ_DOUBLE: {
        double x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return (x > y) - (x < y);
    }
    case PQ_BYTE_ARRAY:
    case PQ_FIXED_LEN_BYTE_ARRAY:
        if (is_decimal(leaf)) return cmp_signed_be(a, alen, b, blen);
        return cmp_unsigned(a, alen, b, blen);
    case PQ_INT96: break;
    }
    return 0;
}

void pq_wr_minmax_add(pq_wr_minmax *mm, const dc_pq_leaf *leaf, const uint8_t *min,
                      uint32_t min_len, const uint8_t *max, uint32_t max_len)
{
    if (!mm->has) {
        *mm = (pq_wr_minmax){true, min, max, min_len, max_len};
        return;
    }
    if (pq_wr_cmp(leaf, min, min_len, mm->min, mm->min_len) < 0) {
        mm->min = min;
        mm->min_len = min_len;
    }
    if (pq_wr_cmp(leaf, max, max_len, mm->max, mm->max_len) > 0) {
        mm->max = max;
        mm->max_len = max_len;
    }
}

/* Typed loops over fixed-width values: index of the min and max. */
#define MINMAX_LOOP(T, LOAD)                                              \
    do {                                                                  \
        T lo = LOAD(base + v0 * sizeof(T)), hi = lo;                      \
        size_t ilo = v0, ihi = v0;                                        \
        for (size_t i = v0 + 1; i < v1; i++) {                            \
            T x = LOAD(base + i * sizeof(T));                             \
            if (x < lo) { lo = x; ilo = i; }                              \
            if (x > hi) { hi = x; ihi = i; }                              \
        }                                                                 \
        mm->has = true;                                                   \
        mm->min = base + ilo * sizeof(T);                                 \
        mm->max = base + ihi * sizeof(T);                                 \
        mm->min_len = mm->max_len = sizeof(T);                            \
    } while (0)

static inline int32_t ld_i32(const uint8_t *p) { return (int32_t)dc_load_le32(p); }
static inline uint32_t ld_u32(const uint8_t *p) { return dc_load_le32(p); }
static inline int64_t ld_i64(const uint8_t *p) { return (int64_t)dc_load_le64(p); }
static inline uint64_t ld_u64(const uint8_t *p) { return dc_load_le64(p); }
static inline float ld_f32(const uint8_t *p) { float f; memcpy(&f, p, 4); return f; }
static inline double ld_f64(const uint8_t *p) { double d; memcpy(&d, p, 8); return d; }

/* Floats: NaN skipped; zero bounds normalised to -0.0 / +0.0. */
#define FLOAT_LOOP(T, LOAD, NEG0, POS0)                                   \
    do {                                                                  \
        size_t ilo = SIZE_MAX, ihi = SIZE_MAX;                            \
        T lo = 0, hi = 0;                                                 \
        for (size_t i = v0; i < v1; i++) {                                \
            T x = LOAD(base + i * sizeof(T));                             \
            if (isnan(x)) continue;                                       \
            if (ilo == SIZE_MAX || x < lo) { lo = x; ilo = i; }           \
            if (ihi == SIZE_MAX || x > hi) { hi = x; ihi = i; }           \
        }                                                                 \
        if (ilo == SIZE_MAX) break;                                       \
        mm->has = true;                                                   \
        mm->min = lo == 0 ? (const uint8_t *)&NEG0 : base + ilo * sizeof(T); \
        mm->max = hi == 0 ? (const uint8_t *)&POS0 : base + ihi * sizeof(T); \
        mm->min_len = mm->max_len = sizeof(T);                            \
    } while (0)

void pq_wr_minmax_range(pq_wr_minmax *mm, const dc_pq_leaf *leaf, const dc_pq_column *c,
                        size_t v0, size_t v1)
{
    *mm = (pq_wr_minmax){0};
    if (v0 >= v1 || !pq_wr_has_order(leaf)) return;
    const uint8_t *base = c->values.data;
    switch (leaf->phys) {
    case PQ_BOOLEAN: {
        static const uint8_t f = 0, t = 1;
        bool any0 = false, any1 = false;
        for (size_t i = v0; i < v1 && !(any0 && any1); i++) {
            if (base[i]) any1 = true;
            else any0 = true;
        }
        mm->has = true;
        mm->min = any0 ? &f : &t;
        mm->max = any1 ? &t : &f;
        mm->min_len = mm->max_len = 1;
        return;
    }
    case PQ_INT32:
        if (leaf->unsigned_order) MINMAX_LOOP(uint32_t, ld_u32);
        else MINMAX_LOOP(int32_t, ld_i32);
        return;
    case PQ_INT64:
        if (leaf->unsigned_order) MINMAX_LOOP(uint64_t, ld_u64);
        else MINMAX_LOOP(int64_t, ld_i64);
        return;
    case PQ_FLOAT: FLOAT_LOOP(float, ld_f32, F_NEG0, F_POS0); return;
    case PQ_DOUBLE: FLOAT_LOOP(double, ld_f64, D_NEG0, D_POS0); return;
    case PQ_FIXED_LEN_BYTE_ARRAY: {
        const size_t w = (size_t)leaf->type_length;
        for (size_t i = v0; i < v1; i++)
            pq_wr_minmax_add(mm, leaf, base + i * w, (uint32_t)w, base + i * w, (uint32_t)w);
        return;
    }
    case PQ_BYTE_ARRAY:
        for (size_t i = v0; i < v1; i++) {
            const uint8_t *p = base + c->offsets[i];
            uint32_t n = c->offsets[i + 1] - c->offsets[i];
            pq_wr_minmax_add(mm, leaf, p, n, p, n);
        }
        return;
    case PQ_INT96: return;
    }
}

/* ----------------------------------------------------------- truncation */

/* Largest cut <= DC_PQ_STATS_TRUNCATE that does not split a UTF-8 sequence. */
static uint32_t utf8_cut(const uint8_t *p, uint32_t n)
{
    uint32_t cut = DC_PQ_STATS_TRUNCATE;
    if (cut >= n) return n;
    for (int k = 0; k < 3 && cut > 0 && (p[cut] & 0xC0) == 0x80; k++) cut--;
    return cut;
}

void pq_wr_trunc_min(uint8_t *out, uint32_t *out_len, bool *exact, const uint8_t *p,
                     uint32_t n, bool utf8)
{
    uint32_t cut = n <= DC_PQ_STATS_TRUNCATE ? n : utf8 ? utf8_cut(p, n) : DC_PQ_STATS_TRUNCATE;
    memcpy(out, p, cut);
    *out_len = cut;
    *exact = cut == n;
}

/* Decodes the code point at p[0..n) (strict UTF-8); 0 bytes when invalid. */
static int utf8_decode(uint32_t *cp, const uint8_t *p, uint32_t n)
{
    if (n == 0) return 0;
    uint8_t b = p[0];
    int len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || (uint32_t)len != n) return 0;
    uint32_t v = len == 1 ? b : len == 2 ? b & 0x1Fu : len == 3 ? b & 0x0Fu : b & 0x07u;
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (p[i] & 0x3Fu);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min_cp[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

static uint32_t utf8_encode(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { o[0] = (uint8_t)(0xC0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* UTF-8: the prefix with its last incrementable code point incremented;
 * false when the prefix is not valid UTF-8 or nothing can be incremented. */
static bool utf8_max(uint8_t *out, uint32_t *out_len, const uint8_t *p, uint32_t cut)
{
    uint32_t end = cut;
    while (end > 0) {
        uint32_t start = end - 1, cp;
        while (start > 0 && end - start < 4 && (p[start] & 0xC0) == 0x80) start--;
        if (utf8_decode(&cp, p + start, end - start) == 0) return false;
        uint32_t next = cp + 1 == 0xD800 ? 0xE000 : cp + 1;
        if (next <= 0x10FFFF) {
            memcpy(out, p, start);
            *out_len = start + utf8_encode(out + start, next);
            return true;
        }
        end = start;
    }
    return false;
}

bool pq_wr_trunc_max(uint8_t *out, uint32_t *out_len, bool *exact, const uint8_t *p,
                     uint32_t n, bool utf8)
{
    if (n <= DC_PQ_STATS_TRUNCATE) {
        memcpy(out, p, n);
        *out_len = n;
        *exact = true;
        return true;
    }
    *exact = false;
    if (utf8 && utf8_max(out, out_len, p, utf8_cut(p, n))) return true;
    for (uint32_t i = DC_PQ_STATS_TRUNCATE; i > 0; i--) {
        if (p[i - 1] != 0xFF) {
            memcpy(out, p, i - 1);
            out[i - 1] = (uint8_t)(p[i - 1] + 1);
            *out_len = i;
            return true;
        }
    }
    return false;
}
