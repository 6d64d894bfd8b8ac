/*
 * delta: a structural check of one portable 32-bit Roaring bitmap
 * (RoaringFormatSpec) before libroaring sees it.
 *
 * Why: Debian's libroaring 0.2.x deserializes within the byte bounds it is
 * given but trusts the contents — run containers that wrap past 65535 or
 * overlap, unsorted arrays, bitset cardinalities that lie — and then answers
 * queries wrongly. Deletion vectors come from files anyone can write, so
 * every container is checked here; libroaring only ever decodes bytes that
 * passed.
 *
 * Layout: u32 cookie — 12346 then u32 container count, or 12347 | (count-1)
 * << 16 then a bitset of which containers are runs; count × (u16 key, u16
 * cardinality-1), keys ascending; count × u32 offsets (absent when runs are
 * present and count < 4); then the containers: runs (u16 n, n × (u16 start,
 * u16 length-1)), bitsets (8192 bytes, for cardinality > 4096) or arrays
 * (cardinality × u16, ascending).
 */
#include "delta_int.h"

#define COOKIE_NO_RUNS 12346u
#define COOKIE_RUNS 12347u
#define NO_OFFSET_THRESHOLD 4u
#define ARRAY_MAX 4096u
#define BITSET_BYTES 8192u
#define MAX_CONTAINERS 65536u

static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static int bad(size_t at, const char *what, dc_err *err)
{
    return dc_err_set(err, DC_ECORRUPT, "deletion vector: roaring bitmap at offset %zu: %s", at,
                      what);
}

static int check_runs(dc_cur *c, uint32_t card, size_t at, dc_err *err)
{
    const uint8_t *p = NULL;
    DC_TRY(dc_cur_take(c, 2, &p, err));
    const uint16_t n = le16(p);
    if (n == 0) return bad(at, "run container without runs", err);
    DC_TRY(dc_cur_take(c, (size_t)n * 4, &p, err));
    uint32_t total = 0;
    int32_t prev_end = -1;
    for (uint16_t i = 0; i < n; i++) {
        const uint32_t start = le16(p + 4 * i), len = le16(p + 4 * i + 2) + 1u;
        if (start + len - 1 > 0xFFFF) return bad(at, "a run passes 65535", err);
        if ((int32_t)start <= prev_end) return bad(at, "runs overlap or are not sorted", err);
        prev_end = (int32_t)(start + len - 1);
        total += len;
    }
    if (total != card) return bad(at, "run lengths disagree with the cardinality", err);
    return 0;
}

static int check_bitset(dc_cur *c, uint32_t card, size_t at, dc_err *err)
{
    const uint8_t *p = NULL;
    DC_TRY(dc_cur_take(c, BITSET_BYTES, &p, err));
    uint32_t bits = 0;
    for (size_t i = 0; i < BITSET_BYTES; i += 8) bits += (uint32_t)__builtin_popcountll(dc_load_le64(p + i));
    if (bits != card) return bad(at, "bitset population disagrees with the cardinality", err);
    return 0;
}

static int check_array(dc_cur *c, uint32_t card, size_t at, dc_err *err)
{
    const uint8_t *p = NULL;
    DC_TRY(dc_cur_take(c, (size_t)card * 2, &p, err));
    for (uint32_t i = 1; i < card; i++)
        if (le16(p + 2 * i) <= le16(p + 2 * (i - 1))) return bad(at, "array not ascending", err);
    return 0;
}

/* Reads the cookie: container count and where the run bitset is (or NULL). */
static int read_cookie(dc_cur *c, uint32_t *count, const uint8_t **runs, size_t at, dc_err *err)
{
    uint32_t cookie = 0;
    DC_TRY(dc_cur_le32(c, &cookie, err));
    *runs = NULL;
    if ((cookie & 0xFFFF) == COOKIE_RUNS) {
        *count = (cookie >> 16) + 1;
        return dc_cur_take(c, (*count + 7) / 8, runs, err);
    }
    if (cookie != COOKIE_NO_RUNS) return bad(at, "unknown cookie", err);
    DC_TRY(dc_cur_le32(c, count, err));
    if (*count > MAX_CONTAINERS) return bad(at, "more than 65536 containers", err);
    return 0;
}

int dc_delta_roaring32_check(size_t *size_out, uint64_t *card_out, const uint8_t *p, size_t n,
                             size_t at, dc_err *err)
{
    dc_cur c;
    dc_cur_init(&c, n ? p : (const uint8_t *)"", n, "deletion vector bitmap");
    uint32_t count = 0;
    const uint8_t *runs = NULL, *hdr = NULL, *offsets = NULL;
    DC_TRY(read_cookie(&c, &count, &runs, at, err));
    DC_TRY(dc_cur_take(&c, (size_t)count * 4, &hdr, err));
    if (!runs || count >= NO_OFFSET_THRESHOLD) DC_TRY(dc_cur_take(&c, (size_t)count * 4, &offsets, err));
    uint64_t card_total = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (i > 0 && le16(hdr + 4 * i) <= le16(hdr + 4 * (i - 1)))
            return bad(at, "container keys not ascending", err);
        const uint32_t card = le16(hdr + 4 * i + 2) + 1u;
        const size_t pos = dc_cur_offset(&c);
        if (offsets && dc_load_le32(offsets + 4 * i) != pos)
            return bad(at, "container offset disagrees with the layout", err);
        if (runs && (runs[i / 8] >> (i % 8) & 1)) DC_TRY(check_runs(&c, card, at, err));
        else if (card > ARRAY_MAX) DC_TRY(check_bitset(&c, card, at, err));
        else DC_TRY(check_array(&c, card, at, err));
        card_total += card;
    }
    *size_out = dc_cur_offset(&c);
    *card_out = card_total;
    return 0;
}
