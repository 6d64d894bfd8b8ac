/*
 * Parquet level and value encodings (pq_enc.h): the RLE/bit-packed hybrid,
 * legacy BIT_PACKED, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 * DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT, PLAIN byte arrays and booleans.
 *
 * Speed: bit-packed data is unpacked a group of 8 values at a time by
 * functions specialised per bit width (one 8-byte load per value, constant
 * shifts and masks), chosen once per run; RLE runs are fills. A group is
 * unpacked in place only when UNPACK_SLACK bytes past it are readable;
 * groups near the end of the input go through a zero-padded copy.
 */
#include "pq_enc.h"

#include "../common/dc_limits.h"

/* Bytes past a group's last byte that the word-load unpackers may read. */
#define UNPACK_SLACK 16

/* ------------------------------------------------------------ unpackers */

typedef void (*unpack_fn)(void *out, const uint8_t *in, size_t groups);

/* Value i of a group of W-bit values, 1 <= W <= 56: one unaligned load. */
#define UNPACK_WORD(in, i, W) (dc_load_le64((in) + ((i) * (W)) / 8) >> (((i) * (W)) % 8))

#define DEF_UNPACK(T, NAME, W, MASK)                                         \
    static void NAME##W(void *out_v, const uint8_t *in, size_t groups)       \
    {                                                                        \
        T *out = out_v;                                                      \
        for (size_t g = 0; g < groups; g++, in += (W), out += 8) {           \
            out[0] = (T)(UNPACK_WORD(in, 0, W) & (MASK));                    \
            out[1] = (T)(UNPACK_WORD(in, 1, W) & (MASK));                    \
            out[2] = (T)(UNPACK_WORD(in, 2, W) & (MASK));                    \
            out[3] = (T)(UNPACK_WORD(in, 3, W) & (MASK));                    \
            out[4] = (T)(UNPACK_WORD(in, 4, W) & (MASK));                    \
            out[5] = (T)(UNPACK_WORD(in, 5, W) & (MASK));                    \
            out[6] = (T)(UNPACK_WORD(in, 6, W) & (MASK));                    \
            out[7] = (T)(UNPACK_WORD(in, 7, W) & (MASK));                    \
        }                                                                    \
    }

#define MASK32(W) (~(uint64_t)0 >> (64 - (W)) & 0xffffffffu)
#define MASK64(W) (~(uint64_t)0 >> (64 - (W)))

#define DEF_U32(W) DEF_UNPACK(uint32_t, unpack_u32_, W, MASK32(W))
#define DEF_I16(W) DEF_UNPACK(int16_t, unpack_i16_, W, MASK32(W))
#define DEF_U64(W) DEF_UNPACK(uint64_t, unpack_u64_, W, MASK64(W))

#define WIDTHS_1_15(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) \
    X(13) X(14) X(15)
#define WIDTHS_16_32(X) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) \
    X(26) X(27) X(28) X(29) X(30) X(31) X(32)
#define WIDTHS_33_56(X) X(33) X(34) X(35) X(36) X(37) X(38) X(39) X(40) X(41) X(42) \
    X(43) X(44) X(45) X(46) X(47) X(48) X(49) X(50) X(51) X(52) X(53) X(54) X(55) X(56)

WIDTHS_1_15(DEF_U32)
WIDTHS_16_32(DEF_U32)
WIDTHS_1_15(DEF_I16)
WIDTHS_1_15(DEF_U64)
WIDTHS_16_32(DEF_U64)
WIDTHS_33_56(DEF_U64)

/* Widths 57..64 straddle nine bytes: a second load supplies the top bits. */
static void unpack_u64_wide(uint64_t *out, const uint8_t *in, size_t groups, int w)
{
    const uint64_t mask = ~(uint64_t)0 >> (64 - w);
    for (size_t g = 0; g < groups; g++, in += w, out += 8) {
        for (int i = 0; i < 8; i++) {
            const size_t bit = (size_t)i * (size_t)w;
            const unsigned sh = bit % 8;
            uint64_t v = dc_load_le64(in + bit / 8) >> sh;
            if (sh) v |= (uint64_t)in[bit / 8 + 8] << (64 - sh);
            out[i] = v & mask;
        }
    }
}

#define TAB_ENTRY(W) [W] = unpack_u32_##W,
static const unpack_fn unpack_u32_tab[33] = {WIDTHS_1_15(TAB_ENTRY) WIDTHS_16_32(TAB_ENTRY)};
#undef TAB_ENTRY
#define TAB_ENTRY(W) [W] = unpack_i16_##W,
static const unpack_fn unpack_i16_tab[16] = {WIDTHS_1_15(TAB_ENTRY)};
#undef TAB_ENTRY
#define TAB_ENTRY(W) [W] = unpack_u64_##W,
static const unpack_fn unpack_u64_tab[57] = {
    WIDTHS_1_15(TAB_ENTRY) WIDTHS_16_32(TAB_ENTRY) WIDTHS_33_56(TAB_ENTRY)};
#undef TAB_ENTRY

/* How values of one kind are unpacked: element size and the per-width table. */
typedef struct unpack_kind {
    size_t elem;               /* bytes per output value */
    const unpack_fn *tab;      /* specialised unpackers; NULL entry for width 0 */
    int max_width;             /* widths above this are handled by unpack_u64_wide */
} unpack_kind;

static const unpack_kind KIND_U32 = {4, unpack_u32_tab, 32};
static const unpack_kind KIND_I16 = {2, unpack_i16_tab, 15};
static const unpack_kind KIND_U64 = {8, unpack_u64_tab, 56};

static void unpack_groups(const unpack_kind *k, void *out, const uint8_t *in, size_t groups,
                          int w)
{
    if (w <= k->max_width) k->tab[w](out, in, groups);
    else unpack_u64_wide(out, in, groups, w);
}

/* Unpacks `nvals` values of width w (>= 1) from in[0..avail) into out; the
 * caller has checked that avail holds ceil(nvals*w/8) bytes. Groups with
 * UNPACK_SLACK readable bytes after them are unpacked in place, the rest
 * (and a final partial group) through a zero-padded copy. */
static void unpack_values(const unpack_kind *k, void *out, size_t nvals, int w, const uint8_t *in,
                          size_t avail)
{
    const size_t wz = (size_t)w;
    const size_t full = nvals / 8;
    size_t fast = avail >= wz + UNPACK_SLACK ? (avail - UNPACK_SLACK) / wz : 0;
    if (fast > full) fast = full;
    if (fast) unpack_groups(k, out, in, fast, w);
    uint8_t *o = (uint8_t *)out + fast * 8 * k->elem;
    for (size_t g = fast; g * 8 < nvals; g++) {
        uint8_t pad[64 + UNPACK_SLACK] = {0};
        uint64_t tmp[8];
        const size_t off = g * wz;
        const size_t have = avail - off < wz ? avail - off : wz;
        memcpy(pad, in + off, have);
        unpack_groups(k, tmp, pad, 1, w);
        const size_t nv = nvals - g * 8 < 8 ? nvals - g * 8 : 8;
        memcpy(o, tmp, nv * k->elem);
        o += nv * k->elem;
    }
}

/* ------------------------------------------------------------- helpers */

/* Unsigned LEB128 from p[*pos..n); false when truncated or longer than 10 bytes. */
static inline bool get_uvarint(const uint8_t *p, size_t n, size_t *pos, uint64_t *out)
{
    size_t i = *pos;
    if (i < n && p[i] < 0x80) {
        *out = p[i];
        *pos = i + 1;
        return true;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70 && i < n; shift += 7, i++) {
        const uint8_t b = p[i];
        if (shift == 63 && b > 1) return false;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            *pos = i + 1;
            return true;
        }
    }
    return false;
}

static inline uint64_t zigzag_decode(uint64_t v) { return (v >> 1) ^ (0 - (v & 1)); }
static inline uint64_t zigzag_encode(int64_t v)
{
    return ((uint64_t)v << 1) ^ (0 - (uint64_t)(v < 0));
}

static inline size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* ------------------------------------------ RLE / bit-packed hybrid decode */

static void fill_values(void *out, size_t elem, size_t count, uint32_t v)
{
    if (elem == 4) {
        uint32_t *o = out;
        for (size_t i = 0; i < count; i++) o[i] = v;
    } else {
        int16_t *o = out;
        for (size_t i = 0; i < count; i++) o[i] = (int16_t)v;
    }
}

/* One RLE run starting at p[*pos] (after its header): repeats a value. */
static int rle_run(void *out, const unpack_kind *k, size_t want, int bw, const uint8_t *p,
                   size_t n, size_t *pos, dc_err *err)
{
    const size_t vbytes = ((size_t)bw + 7) / 8;
    if (n - *pos < vbytes)
        return dc_err_set(err, DC_ECORRUPT,
                          "RLE/bit-packed hybrid: RLE run value at offset %zu needs %zu bytes, "
                          "%zu remain", *pos, vbytes, n - *pos);
    uint32_t v = 0;
    for (size_t i = 0; i < vbytes; i++) v |= (uint32_t)p[*pos + i] << (8 * i);
    if (bw < 32 && (v >> bw) != 0)
        return dc_err_set(err, DC_ECORRUPT,
                          "RLE/bit-packed hybrid: RLE run value %u at offset %zu does not fit "
                          "the bit width %d", v, *pos, bw);
    *pos += vbytes;
    fill_values(out, k->elem, want, v);
    return 0;
}

/* One bit-packed run of `groups` groups starting at p[*pos]. As parquet-java
 * does, a run may claim more groups than bytes remain (the last run of a
 * page): only values that are actually requested must be present. */
static int packed_run(void *out, const unpack_kind *k, size_t want, uint64_t groups, int bw,
                      const uint8_t *p, size_t n, size_t *pos, dc_err *err)
{
    const size_t avail = n - *pos;
    if (bw == 0) {
        fill_values(out, k->elem, want, 0);
        return 0;
    }
    /* want <= count, and count * 32 bits was checked not to overflow. */
    const size_t need = (want * (size_t)bw + 7) / 8;
    if (need > avail)
        return dc_err_set(err, DC_ECORRUPT,
                          "RLE/bit-packed hybrid: bit-packed run at offset %zu needs %zu bytes "
                          "for %zu values of %d bits, %zu remain", *pos, need, want, bw, avail);
    unpack_values(k, out, want, bw, p + *pos, avail);
    const uint64_t run_bytes = groups > avail ? UINT64_MAX : groups * (uint64_t)bw;
    *pos += run_bytes > avail ? avail : (size_t)run_bytes;
    return 0;
}

static int hybrid_decode(void *out, const unpack_kind *k, size_t count, int bw, const uint8_t *p,
                         size_t n, dc_err *err)
{
    if (bw < 0 || bw > k->max_width)
        return dc_err_set(err, DC_ECORRUPT, "RLE/bit-packed hybrid: bit width %d is not in 0..%d",
                          bw, k->max_width);
    if (count > SIZE_MAX / 32)
        return dc_err_set(err, DC_ELIMIT, "RLE/bit-packed hybrid: %zu values is too many", count);
    size_t pos = 0, done = 0;
    uint8_t *o = out;
    while (done < count) {
        const size_t hdr_at = pos;
        uint64_t hdr = 0;
        if (!get_uvarint(p, n, &pos, &hdr))
            return dc_err_set(err, DC_ECORRUPT,
                              "RLE/bit-packed hybrid: %s run header at offset %zu after %zu of "
                              "%zu values", hdr_at >= n ? "missing" : "bad", hdr_at, done, count);
        const uint64_t left = count - done;
        int rc;
        if (hdr & 1) {
            const uint64_t groups = hdr >> 1;
            const size_t want = (size_t)(groups >= left / 8 + 1 ? left : groups * 8);
            rc = packed_run(o, k, want, groups, bw, p, n, &pos, err);
            done += want;
            o += want * k->elem;
        } else {
            const size_t want = (size_t)((hdr >> 1) < left ? (hdr >> 1) : left);
            rc = rle_run(o, k, want, bw, p, n, &pos, err);
            done += want;
            o += want * k->elem;
        }
        if (rc < 0) return rc;
    }
    return 0;
}

int pq_rle_decode_u32(uint32_t *out, size_t count, int bit_width, const uint8_t *p, size_t n,
                      dc_err *err)
{
    return hybrid_decode(out, &KIND_U32, count, bit_width, p, n, err);
}

int pq_rle_decode_i16(int16_t *out, size_t count, int bit_width, const uint8_t *p, size_t n,
                      dc_err *err)
{
    return hybrid_decode(out, &KIND_I16, count, bit_width, p, n, err);
}

/* ------------------------------------------------------ legacy BIT_PACKED */

int pq_bitpacked_legacy_decode_i16(int16_t *out, size_t count, int bit_width, const uint8_t *p,
                                   size_t n, size_t *consumed, dc_err *err)
{
    if (bit_width < 0 || bit_width > 15)
        return dc_err_set(err, DC_ECORRUPT, "BIT_PACKED levels: bit width %d is not in 0..15",
                          bit_width);
    if (count > SIZE_MAX / 16)
        return dc_err_set(err, DC_ELIMIT, "BIT_PACKED levels: %zu values is too many", count);
    const size_t need = (count * (size_t)bit_width + 7) / 8;
    if (need > n)
        return dc_err_set(err, DC_ECORRUPT,
                          "BIT_PACKED levels: %zu values of %d bits need %zu bytes, have %zu",
                          count, bit_width, need, n);
    /* MSB first: bits enter a big-endian accumulator from the top. */
    uint64_t acc = 0;
    int have = 0;
    size_t pos = 0;
    const uint32_t mask = ((uint32_t)1 << bit_width) - 1;
    for (size_t i = 0; i < count; i++) {
        while (have < bit_width) {
            acc = (acc << 8) | p[pos++];
            have += 8;
        }
        have -= bit_width;
        out[i] = (int16_t)((acc >> have) & mask);
    }
    *consumed = need;
    return 0;
}

/* ------------------------------------------ RLE / bit-packed hybrid encode */

/* Packs 8 values of w (1..64) bits LSB first into o: writes w bytes, and may
 * scribble up to 8 bytes past them (callers reserve the slack). */
static inline uint8_t *pack8(uint8_t *o, const uint64_t v[8], int w)
{
    uint64_t acc = 0; /* pending bits, low first */
    int nb = 0;       /* bits pending in acc, < 64 */
    for (int k = 0; k < 8; k++) {
        acc |= v[k] << nb;
        nb += w;
        if (nb >= 64) {
            dc_store_le64(o, acc);
            o += 8;
            nb -= 64;
            acc = nb ? v[k] >> (w - nb) : 0;
        }
    }
    dc_store_le64(o, acc); /* 8 * w bits in all: nb is a multiple of 8 */
    return o + nb / 8;
}

/* Output of the hybrid encoder: the open bit-packed run and its header. */
typedef struct hyb_enc {
    dc_buf *out;
    int bw;                 /* bit width of every value */
    size_t header_at;       /* offset in out of the open bit-packed run's header */
    bool run_open;          /* a bit-packed run is open (header_at valid) */
    int groups;             /* groups in the open bit-packed run, <= 63 */
} hyb_enc;

static void hyb_end_packed(hyb_enc *e)
{
    if (!e->run_open) return;
    e->out->data[e->header_at] = (uint8_t)((e->groups << 1) | 1);
    e->run_open = false;
    e->groups = 0;
}

/* Room for the largest unit: a 10-byte header, a 32-byte group, 8 of slack. */
#define HYB_UNIT_MAX 56

static int hyb_room(hyb_enc *e, dc_err *err)
{
    if (e->out->cap - e->out->len >= HYB_UNIT_MAX) return 0;
    return dc_buf_reserve(e->out, HYB_UNIT_MAX, err);
}

static int hyb_group(hyb_enc *e, const uint64_t v[8], dc_err *err)
{
    if (e->groups == 63) hyb_end_packed(e);
    DC_TRY(hyb_room(e, err));
    uint8_t *o = e->out->data + e->out->len;
    if (!e->run_open) {
        e->header_at = e->out->len;
        e->run_open = true;
        *o++ = 0;
    }
    o = pack8(o, v, e->bw);
    e->out->len = (size_t)(o - e->out->data);
    e->groups++;
    return 0;
}

static int hyb_rle(hyb_enc *e, size_t repeats, uint32_t value, dc_err *err)
{
    hyb_end_packed(e);
    DC_TRY(hyb_room(e, err));
    uint8_t *o = e->out->data + e->out->len;
    uint64_t h = (uint64_t)repeats << 1;
    while (h >= 0x80) {
        *o++ = (uint8_t)(h | 0x80);
        h >>= 7;
    }
    *o++ = (uint8_t)h;
    for (int i = 0; i < (e->bw + 7) / 8; i++) *o++ = (uint8_t)(value >> (8 * i));
    e->out->len = (size_t)(o - e->out->data);
    return 0;
}

/* parquet-java's RunLengthBitPackingHybridEncoder, group by group: its
 * per-value state machine starts an RLE run only when the 8 values of a
 * fresh group are equal (repeats are counted from the group's first value),
 * the run then extends to the next different value, which starts a new
 * group; other groups are bit-packed, at most 63 under one header, and a
 * final partial group is padded with zeros. */
#define DEF_HYB_ENCODE(NAME, T)                                                       \
    static int NAME(hyb_enc *e, const T *v, size_t count, dc_err *err)               \
    {                                                                                 \
        size_t i = 0;                                                                 \
        while (count - i >= 8) {                                                      \
            const T x = v[i];                                                         \
            /* & not &&: no branch per value on data that rarely repeats. */          \
            if ((v[i + 1] == x) & (v[i + 2] == x) & (v[i + 3] == x) & (v[i + 4] == x) & \
                (v[i + 5] == x) & (v[i + 6] == x) & (v[i + 7] == x)) {                  \
                size_t r = 8;                                                         \
                while (i + r < count && v[i + r] == x) r++;                           \
                DC_TRY(hyb_rle(e, r, (uint32_t)x, err));                              \
                i += r;                                                               \
                continue;                                                             \
            }                                                                         \
            const uint64_t g[8] = {(uint32_t)v[i], (uint32_t)v[i + 1], (uint32_t)v[i + 2], \
                                   (uint32_t)v[i + 3], (uint32_t)v[i + 4],            \
                                   (uint32_t)v[i + 5], (uint32_t)v[i + 6],            \
                                   (uint32_t)v[i + 7]};                               \
            DC_TRY(hyb_group(e, g, err));                                             \
            i += 8;                                                                   \
        }                                                                             \
        if (i < count) {                                                              \
            uint64_t g[8] = {0};                                                      \
            for (size_t k = 0; i + k < count; k++) g[k] = (uint32_t)v[i + k];         \
            DC_TRY(hyb_group(e, g, err));                                             \
        }                                                                             \
        hyb_end_packed(e);                                                            \
        return 0;                                                                     \
    }

DEF_HYB_ENCODE(hyb_encode_u32, uint32_t)
DEF_HYB_ENCODE(hyb_encode_i16, int16_t)

int pq_rle_encode_u32(dc_buf *out, const uint32_t *vals, size_t count, int bit_width,
                      dc_err *err)
{
    if (bit_width < 0 || bit_width > 32)
        return dc_err_set(err, DC_EINVAL, "RLE encode: bit width %d is not in 0..32", bit_width);
    if (bit_width == 0) return 0;
    uint32_t all = 0;
    for (size_t i = 0; i < count; i++) all |= vals[i];
    if (bit_width < 32 && (all >> bit_width) != 0) {
        size_t i = 0;
        while ((vals[i] >> bit_width) == 0) i++;
        return dc_err_set(err, DC_EINVAL, "RLE encode: value %u at index %zu needs more than "
                          "%d bits", vals[i], i, bit_width);
    }
    hyb_enc e = {out, bit_width, 0, false, 0};
    return hyb_encode_u32(&e, vals, count, err);
}

int pq_rle_encode_i16(dc_buf *out, const int16_t *vals, size_t count, int bit_width,
                      dc_err *err)
{
    if (bit_width < 0 || bit_width > 15)
        return dc_err_set(err, DC_EINVAL, "RLE encode: bit width %d is not in 0..15", bit_width);
    if (bit_width == 0) return 0;
    uint16_t all = 0;
    for (size_t i = 0; i < count; i++) all |= (uint16_t)vals[i];
    if ((all >> bit_width) != 0) {
        size_t i = 0;
        while (((uint16_t)vals[i] >> bit_width) == 0) i++;
        return dc_err_set(err, DC_EINVAL, "RLE encode: level %d at index %zu is not in 0..%d",
                          vals[i], i, (1 << bit_width) - 1);
    }
    hyb_enc e = {out, bit_width, 0, false, 0};
    return hyb_encode_i16(&e, vals, count, err);
}

/* ------------------------------------------------- DELTA_BINARY_PACKED */

/* The header of a DELTA_BINARY_PACKED stream. */
typedef struct dbp_header {
    uint64_t block_size;    /* values per block, a multiple of 128 */
    uint64_t n_mini;        /* miniblocks per block */
    uint64_t per_mini;      /* values per miniblock, a multiple of 32 */
    uint64_t total;         /* values in the stream */
    uint64_t first;         /* first value (zigzag decoded, two's complement) */
} dbp_header;

static int dbp_read_header(dbp_header *h, const uint8_t *p, size_t n, size_t *pos, dc_err *err)
{
    uint64_t first = 0;
    if (!get_uvarint(p, n, pos, &h->block_size) || !get_uvarint(p, n, pos, &h->n_mini) ||
        !get_uvarint(p, n, pos, &h->total) || !get_uvarint(p, n, pos, &first))
        return dc_err_set(err, DC_ECORRUPT,
                          "DELTA_BINARY_PACKED: truncated or bad varint in the header at offset "
                          "%zu (%zu bytes)", *pos, n);
    h->first = zigzag_decode(first);
    if (h->block_size == 0 || h->block_size % 128 != 0)
        return dc_err_set(err, DC_ECORRUPT,
                          "DELTA_BINARY_PACKED: block size %llu is not a positive multiple of 128",
                          (unsigned long long)h->block_size);
    if (h->n_mini == 0 || h->block_size % h->n_mini != 0 ||
        (h->block_size / h->n_mini) % 32 != 0)
        return dc_err_set(err, DC_ECORRUPT,
                          "DELTA_BINARY_PACKED: %llu miniblocks do not divide block size %llu "
                          "into multiples of 32 values", (unsigned long long)h->n_mini,
                          (unsigned long long)h->block_size);
    h->per_mini = h->block_size / h->n_mini;
    return 0;
}

/* A miniblock's place in the input, checked to be fully present. */
static int dbp_mini_bytes(size_t *bytes, const dbp_header *h, int bw, size_t pos, size_t n,
                          dc_err *err)
{
    if (bw > 64)
        return dc_err_set(err, DC_ECORRUPT,
                          "DELTA_BINARY_PACKED: miniblock bit width %d at offset %zu exceeds 64",
                          bw, pos);
    /* per_mini is a multiple of 32, so a miniblock is per_mini / 8 * bw bytes. */
    const uint64_t groups = h->per_mini / 8;
    if (bw > 0 && groups > (n - pos) / (size_t)bw)
        return dc_err_set(err, DC_ECORRUPT,
                          "DELTA_BINARY_PACKED: miniblock at offset %zu of %llu values of %d "
                          "bits exceeds the %zu bytes that remain", pos,
                          (unsigned long long)h->per_mini, bw, n - pos);
    *bytes = (size_t)groups * (size_t)bw;
    return 0;
}

/* Reads a block's min delta and bit widths; *widths points into p. */
static int dbp_block_head(uint64_t *min_delta, const uint8_t **widths, const dbp_header *h,
                          const uint8_t *p, size_t n, size_t *pos, dc_err *err)
{
    uint64_t md = 0;
    if (!get_uvarint(p, n, pos, &md))
        return dc_err_set(err, DC_ECORRUPT,
                          "DELTA_BINARY_PACKED: truncated or bad block min delta at offset %zu",
                          *pos);
    *min_delta = zigzag_decode(md);
    if (h->n_mini > n - *pos)
        return dc_err_set(err, DC_ECORRUPT,
                          "DELTA_BINARY_PACKED: %llu miniblock bit widths at offset %zu, %zu "
                          "bytes remain", (unsigned long long)h->n_mini, *pos, n - *pos);
    *widths = p + *pos;
    *pos += (size_t)h->n_mini;
    return 0;
}

static int dbp_check_count(const dbp_header *h, size_t max_out, dc_err *err)
{
    if (h->total > max_out)
        return dc_err_set(err, DC_ECORRUPT,
                          "DELTA_BINARY_PACKED: header announces %llu values, room for %zu",
                          (unsigned long long)h->total, max_out);
    return 0;
}

int pq_delta_decode_i64(int64_t *out, size_t max_out, size_t *count_out, const uint8_t *p,
                        size_t n, size_t *consumed, dc_err *err)
{
    dbp_header h;
    size_t pos = 0;
    DC_TRY(dbp_read_header(&h, p, n, &pos, err));
    DC_TRY(dbp_check_count(&h, max_out, err));
    const size_t total = (size_t)h.total;
    uint64_t *o = (uint64_t *)out; /* wrapping arithmetic in uint64 */
    uint64_t last = h.first;
    size_t done = 0;
    if (total > 0) o[done++] = last;
    while (done < total) {
        uint64_t min_delta;
        const uint8_t *widths;
        DC_TRY(dbp_block_head(&min_delta, &widths, &h, p, n, &pos, err));
        for (uint64_t m = 0; m < h.n_mini && done < total; m++) {
            size_t bytes;
            const int bw = widths[m];
            DC_TRY(dbp_mini_bytes(&bytes, &h, bw, pos, n, err));
            const size_t k = (size_t)(h.per_mini < total - done ? h.per_mini : total - done);
            uint64_t *d = o + done;
            if (bw == 0) {
                for (size_t i = 0; i < k; i++) d[i] = last += min_delta;
            } else {
                unpack_values(&KIND_U64, d, k, bw, p + pos, n - pos);
                for (size_t i = 0; i < k; i++) d[i] = last += min_delta + d[i];
            }
            done += k;
            pos += bytes;
        }
    }
    *count_out = total;
    *consumed = pos;
    return 0;
}

/* Unpacks k deltas of width bw (1..64) into d; only the low 32 bits matter. */
static void dbp_unpack32(uint32_t *d, size_t k, int bw, const uint8_t *in, size_t avail)
{
    if (bw <= 32) {
        unpack_values(&KIND_U32, d, k, bw, in, avail);
        return;
    }
    for (size_t g = 0; g * 8 < k; g++) {
        uint64_t tmp[8];
        const size_t off = g * (size_t)bw;
        unpack_values(&KIND_U64, tmp, min_sz(k - g * 8, 8), bw, in + off, avail - off);
        for (size_t i = 0; i < min_sz(k - g * 8, 8); i++) d[g * 8 + i] = (uint32_t)tmp[i];
    }
}

int pq_delta_decode_i32(int32_t *out, size_t max_out, size_t *count_out, const uint8_t *p,
                        size_t n, size_t *consumed, dc_err *err)
{
    dbp_header h;
    size_t pos = 0;
    DC_TRY(dbp_read_header(&h, p, n, &pos, err));
    DC_TRY(dbp_check_count(&h, max_out, err));
    const size_t total = (size_t)h.total;
    uint32_t *o = (uint32_t *)out; /* arithmetic modulo 2^32 */
    uint32_t last = (uint32_t)h.first;
    size_t done = 0;
    if (total > 0) o[done++] = last;
    while (done < total) {
        uint64_t md;
        const uint8_t *widths;
        DC_TRY(dbp_block_head(&md, &widths, &h, p, n, &pos, err));
        const uint32_t min_delta = (uint32_t)md;
        for (uint64_t m = 0; m < h.n_mini && done < total; m++) {
            size_t bytes;
            const int bw = widths[m];
            DC_TRY(dbp_mini_bytes(&bytes, &h, bw, pos, n, err));
            const size_t k = (size_t)(h.per_mini < total - done ? h.per_mini : total - done);
            uint32_t *d = o + done;
            if (bw == 0) {
                for (size_t i = 0; i < k; i++) d[i] = last += min_delta;
            } else {
                dbp_unpack32(d, k, bw, p + pos, n - pos);
                for (size_t i = 0; i < k; i++) d[i] = last += min_delta + d[i];
            }
            done += k;
            pos += bytes;
        }
    }
    *count_out = total;
    *consumed = pos;
    return 0;
}

/* ------------------------------------------- DELTA_BINARY_PACKED encode */

static void put_uvarint(uint8_t **o, uint64_t v)
{
    while (v >= 0x80) {
        *(*o)++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *(*o)++ = (uint8_t)v;
}

/* One block of up to 128 deltas (already computed, wrapping). */
static int dbp_encode_block(dc_buf *out, uint64_t *deltas, size_t nd, dc_err *err)
{
    int64_t min = (int64_t)deltas[0];
    for (size_t i = 1; i < nd; i++)
        if ((int64_t)deltas[i] < min) min = (int64_t)deltas[i];
    for (size_t i = 0; i < nd; i++) deltas[i] -= (uint64_t)min;
    for (size_t i = nd; i < 128; i++) deltas[i] = 0;
    DC_TRY(dc_buf_reserve(out, 10 + 4 + 128 * 8 + 8, err)); /* + pack8's slack */
    uint8_t *o = out->data + out->len;
    put_uvarint(&o, zigzag_encode(min));
    /* The widest value of a miniblock has the bit width of their OR. */
    int widths[4] = {0, 0, 0, 0};
    for (size_t m = 0; m * 32 < nd; m++) {
        uint64_t all = 0;
        for (size_t i = m * 32; i < m * 32 + 32; i++) all |= deltas[i];
        widths[m] = pq_bit_width(all);
    }
    for (int m = 0; m < 4; m++) *o++ = (uint8_t)widths[m];
    for (size_t m = 0; m * 32 < nd; m++) {
        if (widths[m] == 0) continue;
        for (size_t g = 0; g < 4; g++) o = pack8(o, deltas + m * 32 + g * 8, widths[m]);
    }
    out->len = (size_t)(o - out->data);
    return 0;
}

int pq_delta_encode_i64(dc_buf *out, const int64_t *vals, size_t count, dc_err *err)
{
    DC_TRY(dc_buf_reserve(out, 40, err));
    uint8_t *o = out->data + out->len;
    put_uvarint(&o, 128);
    put_uvarint(&o, 4);
    put_uvarint(&o, count);
    put_uvarint(&o, zigzag_encode(count ? vals[0] : 0));
    out->len = (size_t)(o - out->data);
    uint64_t deltas[128];
    for (size_t i = 1; i < count; i += 128) {
        const size_t nd = min_sz(128, count - i);
        for (size_t j = 0; j < nd; j++)
            deltas[j] = (uint64_t)vals[i + j] - (uint64_t)vals[i + j - 1];
        DC_TRY(dbp_encode_block(out, deltas, nd, err));
    }
    return 0;
}

/* ----------------------------------------------- byte-array encodings */

/* Sums non-negative lengths into offsets[1..count] (offsets[0] is given). */
static int lengths_to_offsets(uint32_t *offsets, const int32_t *lens, size_t count,
                              const char *what, dc_err *err)
{
    uint64_t at = offsets[0];
    for (size_t i = 0; i < count; i++) {
        if (lens[i] < 0)
            return dc_err_set(err, DC_ECORRUPT, "%s: value %zu has negative length %d", what, i,
                              lens[i]);
        at += (uint64_t)lens[i];
        if (at > UINT32_MAX)
            return dc_err_set(err, DC_ELIMIT, "%s: values exceed 4 GiB at value %zu", what, i);
        offsets[i + 1] = (uint32_t)at;
    }
    return 0;
}

/* Decodes exactly `count` lengths of a DELTA_BINARY_PACKED stream into lens. */
static int decode_lengths(int32_t *lens, size_t count, const uint8_t *p, size_t n,
                          size_t *consumed, const char *what, dc_err *err)
{
    size_t got = 0;
    int rc = pq_delta_decode_i32(lens, count, &got, p, n, consumed, err);
    if (rc < 0) {
        dc_err_prefix(err, "%s lengths", what);
        return rc;
    }
    if (got != count)
        return dc_err_set(err, DC_ECORRUPT, "%s: %zu lengths for %zu values", what, got, count);
    return 0;
}

int pq_delta_length_decode(dc_buf *data, uint32_t *offsets, size_t count, const uint8_t *p,
                           size_t n, dc_err *err)
{
    static const char what[] = "DELTA_LENGTH_BYTE_ARRAY";
    if ((size_t)offsets[0] != data->len)
        return dc_err_set(err, DC_EINTERNAL, "%s: offsets[0] != data length", what);
    /* The lengths are decoded into offsets[1..], then summed in place. */
    int32_t *lens = (int32_t *)(offsets + 1);
    size_t pos = 0;
    DC_TRY(decode_lengths(lens, count, p, n, &pos, what, err));
    DC_TRY(lengths_to_offsets(offsets, lens, count, what, err));
    const size_t total = (size_t)offsets[count] - data->len;
    if (total > n - pos)
        return dc_err_set(err, DC_ECORRUPT, "%s: values need %zu bytes at offset %zu, %zu remain",
                          what, total, pos, n - pos);
    return dc_buf_append(data, p + pos, total, err);
}

/* Checks prefix and suffix lengths and returns the bytes the values need. */
static int front_total(size_t *total_out, const int32_t *prefix, const int32_t *suffix,
                       size_t count, size_t base, size_t sn, dc_err *err)
{
    static const char what[] = "DELTA_BYTE_ARRAY";
    uint64_t prev_len = 0, total = 0, sum_suffix = 0;
    for (size_t i = 0; i < count; i++) {
        if (prefix[i] < 0 || suffix[i] < 0)
            return dc_err_set(err, DC_ECORRUPT, "%s: value %zu has negative %s length", what, i,
                              prefix[i] < 0 ? "prefix" : "suffix");
        if ((uint64_t)prefix[i] > prev_len)
            return dc_err_set(err, DC_ECORRUPT,
                              "%s: value %zu has prefix length %d, previous value has %llu bytes",
                              what, i, prefix[i], (unsigned long long)prev_len);
        prev_len = (uint64_t)prefix[i] + (uint64_t)suffix[i];
        sum_suffix += (uint64_t)suffix[i];
        total += prev_len;
        if (base + total > UINT32_MAX)
            return dc_err_set(err, DC_ELIMIT, "%s: values exceed 4 GiB at value %zu", what, i);
    }
    if (sum_suffix > sn)
        return dc_err_set(err, DC_ECORRUPT, "%s: suffixes need %llu bytes, %zu remain", what,
                          (unsigned long long)sum_suffix, sn);
    *total_out = (size_t)total;
    return 0;
}

/* Appends the values of DELTA_BYTE_ARRAY given prefix and suffix lengths
 * (suffix may alias offsets + 1: each entry is read before it is written). */
static int front_decode(dc_buf *data, uint32_t *offsets, const int32_t *prefix,
                        const int32_t *suffix, size_t count, const uint8_t *s, size_t sn,
                        dc_err *err)
{
    size_t total = 0;
    DC_TRY(front_total(&total, prefix, suffix, count, data->len, sn, err));
    if (total == 0) { /* all values empty; data->data may still be NULL */
        for (size_t i = 0; i < count; i++) offsets[i + 1] = (uint32_t)data->len;
        return 0;
    }
    DC_TRY(dc_buf_reserve(data, total, err));
    uint8_t *dst = data->data + data->len;
    size_t prev_len = 0, at = data->len;
    for (size_t i = 0; i < count; i++) {
        const size_t pl = (size_t)prefix[i], sl = (size_t)suffix[i];
        if (pl) memcpy(dst, dst - prev_len, pl);
        if (sl) memcpy(dst + pl, s, sl);
        s += sl;
        dst += pl + sl;
        at += pl + sl;
        offsets[i + 1] = (uint32_t)at;
        prev_len = pl + sl;
    }
    data->len = at;
    return 0;
}

int pq_delta_byte_array_decode(dc_buf *data, uint32_t *offsets, size_t count, const uint8_t *p,
                               size_t n, dc_err *err)
{
    static const char what[] = "DELTA_BYTE_ARRAY";
    int rc = 0;
    int32_t *prefix = NULL;
    if ((size_t)offsets[0] != data->len)
        return dc_err_set(err, DC_EINTERNAL, "%s: offsets[0] != data length", what);
    if (count > SIZE_MAX / sizeof(int32_t))
        return dc_err_set(err, DC_ELIMIT, "%s: %zu values is too many", what, count);
    prefix = dc_malloc(count ? count * sizeof(int32_t) : 1);
    if (!prefix) {
        rc = dc_err_set(err, DC_ENOMEM, "%s: out of memory for %zu prefix lengths", what, count);
        goto out;
    }
    /* Suffix lengths go into offsets[1..]; front_decode overwrites each
     * entry only after reading it. */
    int32_t *suffix = (int32_t *)(offsets + 1);
    size_t used = 0, used2 = 0;
    rc = decode_lengths(prefix, count, p, n, &used, "DELTA_BYTE_ARRAY prefix", err);
    if (rc < 0) goto out;
    rc = decode_lengths(suffix, count, p + used, n - used, &used2, "DELTA_BYTE_ARRAY suffix",
                        err);
    if (rc < 0) goto out;
    used += used2;
    rc = front_decode(data, offsets, prefix, suffix, count, p + used, n - used, err);
out:
    dc_free(prefix);
    return rc;
}

/* ------------------------------------------------- BYTE_STREAM_SPLIT */

#if defined(__SSE2__) && !defined(DC_NO_SIMD)
#include <emmintrin.h>

/* 16 values of 8 bytes from 8 streams: three rounds of byte interleaving. */
static void bss_block8(uint8_t *out, const uint8_t *p, size_t stride)
{
    __m128i a[8], b[8];
    for (int s = 0; s < 8; s++) a[s] = _mm_loadu_si128((const __m128i *)(p + (size_t)s * stride));
    for (int s = 0; s < 4; s++) {
        b[2 * s] = _mm_unpacklo_epi8(a[2 * s], a[2 * s + 1]);
        b[2 * s + 1] = _mm_unpackhi_epi8(a[2 * s], a[2 * s + 1]);
    }
    /* b[2s] holds bytes (2s, 2s+1) of values 0..7, b[2s+1] of values 8..15. */
    for (int h = 0; h < 2; h++) {
        a[4 * h] = _mm_unpacklo_epi16(b[h], b[2 + h]);
        a[4 * h + 1] = _mm_unpackhi_epi16(b[h], b[2 + h]);
        a[4 * h + 2] = _mm_unpacklo_epi16(b[4 + h], b[6 + h]);
        a[4 * h + 3] = _mm_unpackhi_epi16(b[4 + h], b[6 + h]);
    }
    /* a[4h+q] holds bytes 0..3 (q < 2) or 4..7 of values 8h+4(q%2) .. +3. */
    for (int h = 0; h < 2; h++) {
        for (int q = 0; q < 2; q++) {
            const __m128i lo = a[4 * h + q], hi = a[4 * h + 2 + q];
            uint8_t *o = out + (size_t)(8 * h + 4 * q) * 8;
            _mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi32(lo, hi));
            _mm_storeu_si128((__m128i *)(o + 16), _mm_unpackhi_epi32(lo, hi));
        }
    }
}

/* 16 values of 4 bytes from 4 streams. */
static void bss_block4(uint8_t *out, const uint8_t *p, size_t stride)
{
    const __m128i s0 = _mm_loadu_si128((const __m128i *)p);
    const __m128i s1 = _mm_loadu_si128((const __m128i *)(p + stride));
    const __m128i s2 = _mm_loadu_si128((const __m128i *)(p + 2 * stride));
    const __m128i s3 = _mm_loadu_si128((const __m128i *)(p + 3 * stride));
    const __m128i b0 = _mm_unpacklo_epi8(s0, s1), b1 = _mm_unpackhi_epi8(s0, s1);
    const __m128i b2 = _mm_unpacklo_epi8(s2, s3), b3 = _mm_unpackhi_epi8(s2, s3);
    _mm_storeu_si128((__m128i *)out, _mm_unpacklo_epi16(b0, b2));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_unpackhi_epi16(b0, b2));
    _mm_storeu_si128((__m128i *)(out + 32), _mm_unpacklo_epi16(b1, b3));
    _mm_storeu_si128((__m128i *)(out + 48), _mm_unpackhi_epi16(b1, b3));
}
#else
/* Portable: 8 values of 8 bytes as an 8x8 byte-matrix transpose in words. */
static void bss_block8(uint8_t *out, const uint8_t *p, size_t stride)
{
    for (int half = 0; half < 2; half++, p += 8, out += 64) {
        uint64_t x[8];
        for (int s = 0; s < 8; s++) x[s] = dc_load_le64(p + (size_t)s * stride);
        for (int r = 0; r < 4; r++) {
            const uint64_t t = ((x[r] >> 32) ^ x[r + 4]) & UINT64_C(0x00000000ffffffff);
            x[r] ^= t << 32;
            x[r + 4] ^= t;
        }
        for (int r = 0; r < 8; r += (r % 2 ? 3 : 1)) {
            const uint64_t t = ((x[r] >> 16) ^ x[r + 2]) & UINT64_C(0x0000ffff0000ffff);
            x[r] ^= t << 16;
            x[r + 2] ^= t;
        }
        for (int r = 0; r < 8; r += 2) {
            const uint64_t t = ((x[r] >> 8) ^ x[r + 1]) & UINT64_C(0x00ff00ff00ff00ff);
            x[r] ^= t << 8;
            x[r + 1] ^= t;
        }
        for (int s = 0; s < 8; s++) dc_store_le64(out + 8 * s, x[s]);
    }
}

static void bss_block4(uint8_t *out, const uint8_t *p, size_t stride)
{
    for (size_t i = 0; i < 16; i++)
        for (size_t b = 0; b < 4; b++) out[4 * i + b] = p[b * stride + i];
}
#endif

int pq_bss_decode(uint8_t *out, size_t count, size_t width, const uint8_t *p, size_t n,
                  dc_err *err)
{
    if (width == 0)
        return dc_err_set(err, DC_EINVAL, "BYTE_STREAM_SPLIT: value width 0");
    /* As Arrow does, the streams' stride is the number of whole values the
     * data holds, which may exceed the values asked for. */
    const size_t stride = n / width;
    if (count > stride)
        return dc_err_set(err, DC_ECORRUPT,
                          "BYTE_STREAM_SPLIT: %zu values of %zu bytes need %zu bytes, have %zu",
                          count, width, count * width, n);
    size_t i = 0;
    if (width == 8)
        for (; i + 16 <= count; i += 16) bss_block8(out + 8 * i, p + i, stride);
    else if (width == 4)
        for (; i + 16 <= count; i += 16) bss_block4(out + 4 * i, p + i, stride);
    for (size_t b = 0; b < width; b++) {
        const uint8_t *s = p + b * stride;
        for (size_t j = i; j < count; j++) out[j * width + b] = s[j];
    }
    return 0;
}

/* ------------------------------------------------------------ PLAIN */

int pq_plain_ba_decode(dc_buf *data, uint32_t *offsets, size_t count, const uint8_t *p, size_t n,
                       size_t *consumed, dc_err *err)
{
    static const char what[] = "PLAIN BYTE_ARRAY";
    if ((size_t)offsets[0] != data->len)
        return dc_err_set(err, DC_EINTERNAL, "%s: offsets[0] != data length", what);
    /* Pass 1 checks every length and fills the offsets; pass 2 copies. */
    size_t pos = 0;
    uint64_t at = offsets[0];
    for (size_t i = 0; i < count; i++) {
        if (n - pos < 4)
            return dc_err_set(err, DC_ECORRUPT,
                              "%s: length of value %zu at offset %zu truncated (%zu bytes remain)",
                              what, i, pos, n - pos);
        const uint32_t len = dc_load_le32(p + pos);
        pos += 4;
        if (len > n - pos)
            return dc_err_set(err, DC_ECORRUPT,
                              "%s: value %zu at offset %zu has length %u, %zu bytes remain", what,
                              i, pos - 4, len, n - pos);
        pos += len;
        at += len;
        if (at > UINT32_MAX)
            return dc_err_set(err, DC_ELIMIT, "%s: values exceed 4 GiB at value %zu", what, i);
        offsets[i + 1] = (uint32_t)at;
    }
    const size_t total = (size_t)(at - offsets[0]);
    *consumed = pos;
    if (total == 0) return 0; /* data->data may still be NULL */
    DC_TRY(dc_buf_reserve(data, total, err));
    uint8_t *dst = data->data + data->len;
    size_t src = 0;
    for (size_t i = 0; i < count; i++) {
        const size_t len = offsets[i + 1] - offsets[i];
        memcpy(dst, p + src + 4, len);
        dst += len;
        src += 4 + len;
    }
    data->len += total;
    return 0;
}

/* Spreads the 8 bits of b (LSB first) to 8 bytes of 0/1. */
static inline uint64_t spread_bits(uint8_t b)
{
    const uint64_t x = ((uint64_t)b * UINT64_C(0x0101010101010101)) &
                       UINT64_C(0x8040201008040201);
    return ((x + UINT64_C(0x7f7f7f7f7f7f7f7f)) >> 7) & UINT64_C(0x0101010101010101);
}

int pq_plain_bool_decode(uint8_t *out, size_t count, const uint8_t *p, size_t n, dc_err *err)
{
    const size_t need = count / 8 + (count % 8 != 0);
    if (need > n)
        return dc_err_set(err, DC_ECORRUPT, "PLAIN BOOLEAN: %zu values need %zu bytes, have %zu",
                          count, need, n);
    const size_t full = count / 8;
    for (size_t i = 0; i < full; i++) dc_store_le64(out + 8 * i, spread_bits(p[i]));
    for (size_t i = full * 8; i < count; i++) out[i] = (p[i / 8] >> (i % 8)) & 1;
    return 0;
}
