/*
 * One column chunk: dictionary attempt (open-addressing hash of the distinct
 * values; PLAIN for the whole chunk when the dictionary outgrows dict_bytes
 * or would not be smaller than PLAIN), a PLAIN dictionary page, v1 data pages
 * (RLE levels with a 4-byte length, then RLE_DICTIONARY indices or PLAIN
 * values) cut at page_bytes and PQ_WR_PAGE_MAX_ROWS on row boundaries, page
 * compression, chunk statistics and the page index.
 */
#include "pq_wr_int.h"

void pq_wr_enc_init(pq_wr_enc *e)
{
    memset(e, 0, sizeof *e);
    dc_buf_init(&e->dict, (size_t)UINT32_MAX);
    dc_buf_init(&e->body, DC_PQ_MAX_PAGE_BYTES);
    dc_buf_init(&e->lvl, DC_PQ_MAX_PAGE_BYTES);
    dc_buf_init(&e->comp, (size_t)DC_PQ_MAX_PAGE_BYTES * 2);
    dc_buf_init(&e->hdr, DC_PQ_MAX_PAGE_BYTES);
    dc_buf_init(&e->page_stats, (size_t)UINT32_MAX);
}

void pq_wr_enc_dispose(pq_wr_enc *e)
{
    dc_free(e->idx);
    dc_free(e->slots);
    dc_buf_dispose(&e->dict);
    dc_free(e->dict_off);
    dc_free(e->stamp);
    dc_buf_dispose(&e->body);
    dc_buf_dispose(&e->lvl);
    dc_buf_dispose(&e->comp);
    dc_buf_dispose(&e->hdr);
    dc_free(e->pages);
    dc_buf_dispose(&e->page_stats);
    dc_free(e->ci_null);
    dc_free(e->ci_min);
    dc_free(e->ci_max);
    dc_free(e->ci_nulls);
    dc_free(e->oi_loc);
    pq_codec_ctx_free(e->cctx);
    memset(e, 0, sizeof *e);
}

/* ------------------------------------------------------------ hashing */

static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static inline uint32_t fold(uint64_t h) { return (uint32_t)(h ^ (h >> 32)); }

static inline uint32_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0x100000001b3ull);
    while (n >= 8) {
        h = (h ^ dc_load_le64(p)) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t t = 0;
        memcpy(&t, p, n);
        h = (h ^ t) * 0xc4ceb9fe1a85ec53ull;
    }
    return fold(mix64(h));
}

static inline uint32_t hash_fixed(const uint8_t *p, size_t w)
{
    if (w == 4) return fold(mix64(dc_load_le32(p)));
    if (w == 8) return fold(mix64(dc_load_le64(p)));
    return hash_bytes(p, w);
}

/* ---------------------------------------------------------- dictionary */

static int table_reset(pq_wr_enc *e, size_t n_values, dc_err *err)
{
    size_t want = 1024;
    while (want < 2 * n_values && want < 65536) want *= 2;
    if (e->n_slots < want || e->n_slots > want * 8) {
        dc_free(e->slots);
        e->slots = NULL;
        e->n_slots = 0;
        if (!(e->slots = dc_malloc(want * sizeof *e->slots)))
            return dc_err_set(err, DC_ENOMEM, "parquet writer: out of memory (dictionary table)");
        e->n_slots = want;
    }
    memset(e->slots, 0, e->n_slots * sizeof *e->slots);
    e->n_dict = 0;
    e->dict_plain = 0;
    dc_buf_reset(&e->dict);
    return dc_buf_reserve(&e->dict, 64, err);  /* never NULL, even for "" values */
}

/* Doubles the table when it is half full (slots keep their hash). */
static int table_grow(pq_wr_enc *e, dc_err *err)
{
    size_t n = e->n_slots * 2;
    pq_wr_slot *s = dc_calloc(n, sizeof *s);
    if (!s) return dc_err_set(err, DC_ENOMEM, "parquet writer: out of memory (dictionary table)");
    for (size_t i = 0; i < e->n_slots; i++) {
        if (!e->slots[i].idx1) continue;
        size_t pos = e->slots[i].hash & (n - 1);
        while (s[pos].idx1) pos = (pos + 1) & (n - 1);
        s[pos] = e->slots[i];
    }
    dc_free(e->slots);
    e->slots = s;
    e->n_slots = n;
    return 0;
}

/* Values after which a dictionary that does not compress them is given up
 * (parquet-mr checks the same after a column's first page): a column of
 * distinct values (a key, a sequence, a timestamp per row) otherwise fills
 * the table up to the budget before PLAIN is chosen anyway, which was 15% of
 * a bootstrap's writing thread. A column that repeats only later is written
 * PLAIN: bigger, never wrong. */
#define PQ_DICT_SAMPLE 16384

/* The dictionary of the first n values (of `plain` bytes PLAIN) and their
 * indices are not smaller than those values PLAIN. */
static bool dict_hopeless(const pq_wr_enc *e, size_t n, size_t plain)
{
    const int bw = pq_bit_width(e->n_dict - 1) ? pq_bit_width(e->n_dict - 1) : 1;
    return e->dict_plain + (n * (size_t)bw + 7) / 8 >= plain;
}

/* Dictionary of fixed-width values; *fits false when over budget. */
static inline __attribute__((always_inline)) int
dict_fixed(pq_wr_enc *e, const uint8_t *base, size_t nv, size_t w, size_t budget, bool *fits,
           dc_err *err)
{
    size_t mask = e->n_slots - 1;
    for (size_t i = 0; i < nv; i++) {
        const uint8_t *p = base + i * w;
        const uint32_t h = hash_fixed(p, w);
        size_t pos = h & mask;
        for (;;) {
            const pq_wr_slot s = e->slots[pos];
            if (!s.idx1) break;
            if (s.hash == h && memcmp(e->dict.data + (size_t)(s.idx1 - 1) * w, p, w) == 0) break;
            pos = (pos + 1) & mask;
        }
        if (i == PQ_DICT_SAMPLE && dict_hopeless(e, i, i * w)) {
            *fits = false;
            return 0;
        }
        if (e->slots[pos].idx1) {
            e->idx[i] = e->slots[pos].idx1 - 1;
            continue;
        }
        if ((e->dict_plain += w) > budget) {
            *fits = false;
            return 0;
        }
        DC_TRY(dc_buf_append(&e->dict, p, w, err));
        e->slots[pos] = (pq_wr_slot){(uint32_t)++e->n_dict, h};
        e->idx[i] = (uint32_t)(e->n_dict - 1);
        if (e->n_dict * 2 > e->n_slots) {
            DC_TRY(table_grow(e, err));
            mask = e->n_slots - 1;
        }
    }
    *fits = true;
    return 0;
}

static int dict_ba(pq_wr_enc *e, const dc_pq_column *c, size_t budget, bool *fits, dc_err *err)
{
    size_t mask = e->n_slots - 1;
    DC_TRY(dc_array_grow((void **)&e->dict_off, &e->dict_off_cap, 1, sizeof *e->dict_off, SIZE_MAX,
                         err));
    e->dict_off[0] = 0;
    for (size_t i = 0; i < c->n_values; i++) {
        const uint8_t *p = c->values.data + c->offsets[i];
        const uint32_t n = c->offsets[i + 1] - c->offsets[i];
        const uint32_t h = hash_bytes(p, n);
        size_t pos = h & mask;
        for (;;) {
            const pq_wr_slot s = e->slots[pos];
            if (!s.idx1) break;
            if (s.hash == h) {
                const uint32_t o = e->dict_off[s.idx1 - 1];
                if (e->dict_off[s.idx1] - o == n && memcmp(e->dict.data + o, p, n) == 0) break;
            }
            pos = (pos + 1) & mask;
        }
        if (i == PQ_DICT_SAMPLE &&
            dict_hopeless(e, i, c->offsets[i] - c->offsets[0] + 4 * i)) {
            *fits = false;
            return 0;
        }
        if (e->slots[pos].idx1) {
            e->idx[i] = e->slots[pos].idx1 - 1;
            continue;
        }
        if ((e->dict_plain += 4 + (size_t)n) > budget) {
            *fits = false;
            return 0;
        }
        DC_TRY(dc_array_grow((void **)&e->dict_off, &e->dict_off_cap, e->n_dict + 2,
                             sizeof *e->dict_off, SIZE_MAX, err));
        DC_TRY(dc_buf_append(&e->dict, p, n, err));
        e->dict_off[e->n_dict + 1] = (uint32_t)e->dict.len;
        e->slots[pos] = (pq_wr_slot){(uint32_t)++e->n_dict, h};
        e->idx[i] = (uint32_t)(e->n_dict - 1);
        if (e->n_dict * 2 > e->n_slots) {
            DC_TRY(table_grow(e, err));
            mask = e->n_slots - 1;
        }
    }
    *fits = true;
    return 0;
}

/* Bytes the values take PLAIN encoded. */
static size_t plain_bytes(const dc_pq_leaf *leaf, const dc_pq_column *c)
{
    if (leaf->phys == PQ_BYTE_ARRAY) return c->values.len + 4 * c->n_values;
    if (leaf->phys == PQ_BOOLEAN) return (c->n_values + 7) / 8;
    return c->n_values * dc_pq_phys_width(leaf->phys, leaf->type_length);
}

/* Builds the dictionary and the indices; *use false: write PLAIN. */
static int dict_build(dc_pq_writer *w, const dc_pq_leaf *leaf, const dc_pq_column *c, bool *use,
                      dc_err *err)
{
    pq_wr_enc *e = &w->enc;
    *use = false;
    if (!w->opts.dictionary || leaf->phys == PQ_BOOLEAN || c->n_values == 0) return 0;
    DC_TRY(table_reset(e, c->n_values, err));
    DC_TRY(dc_array_grow((void **)&e->idx, &e->idx_cap, c->n_values, sizeof *e->idx, SIZE_MAX,
                         err));
    const size_t budget = w->opts.dict_bytes;
    bool fits = false;
    switch (leaf->phys) {
    case PQ_INT32: case PQ_FLOAT:
        DC_TRY(dict_fixed(e, c->values.data, c->n_values, 4, budget, &fits, err));
        break;
    case PQ_INT64: case PQ_DOUBLE:
        DC_TRY(dict_fixed(e, c->values.data, c->n_values, 8, budget, &fits, err));
        break;
    case PQ_BYTE_ARRAY: DC_TRY(dict_ba(e, c, budget, &fits, err)); break;
    default:
        DC_TRY(dict_fixed(e, c->values.data, c->n_values,
                          dc_pq_phys_width(leaf->phys, leaf->type_length), budget, &fits, err));
        break;
    }
    if (!fits) return 0;
    /* Paying off: dictionary + bit-packed indices smaller than PLAIN. */
    const int bw = pq_bit_width(e->n_dict - 1) ? pq_bit_width(e->n_dict - 1) : 1;
    const size_t dict_size = e->dict_plain + (c->n_values * (size_t)bw + 7) / 8;
    *use = dict_size < plain_bytes(leaf, c);
    return 0;
}

/* --------------------------------------------------------------- pages */

/* A run of level entries that becomes one data page. */
typedef struct page_span {
    size_t l0, l1;          /* level entries */
    size_t v0, v1;          /* non-null values */
    size_t rows;            /* rows that start in it */
} page_span;

static void next_span(page_span *s, const dc_pq_leaf *leaf, const dc_pq_column *c, size_t page_bytes,
                      int dict_bw)
{
    const int16_t *def = leaf->max_def > 0 ? c->def : NULL;
    const int16_t *rep = leaf->max_rep > 0 ? c->rep : NULL;
    const size_t fixed = leaf->phys == PQ_BOOLEAN ? 1 : dc_pq_phys_width(leaf->phys, leaf->type_length) * 8;
    const uint64_t level_bits = (uint64_t)pq_bit_width((uint64_t)leaf->max_def) +
                                (uint64_t)pq_bit_width((uint64_t)leaf->max_rep);
    const uint64_t limit = (uint64_t)page_bytes * 8;
    uint64_t bits = 0;
    size_t l = s->l0, v = s->v0, rows = 0;
    for (; l < c->n_levels; l++) {
        if (!rep || rep[l] == 0) {
            if (rows > 0 && (bits >= limit || rows >= PQ_WR_PAGE_MAX_ROWS ||
                             l - s->l0 >= DC_PQ_MAX_PAGE_VALUES / 2))
                break;
            rows++;
        }
        bits += level_bits;
        if (def && def[l] != leaf->max_def) continue;
        if (dict_bw) bits += (uint64_t)dict_bw;
        else if (leaf->phys == PQ_BYTE_ARRAY) bits += (32 + (uint64_t)(c->offsets[v + 1] - c->offsets[v]) * 8);
        else bits += fixed;
        v++;
    }
    s->l1 = l;
    s->v1 = v;
    s->rows = rows;
}

/* Appends the 4-byte length and the RLE levels. */
static int put_levels(pq_wr_enc *e, const int16_t *lv, size_t n, int16_t max, dc_err *err)
{
    dc_buf_reset(&e->lvl);
    DC_TRY(pq_rle_encode_i16(&e->lvl, lv, n, pq_bit_width((uint64_t)max), err));
    if (e->lvl.len > INT32_MAX) return dc_err_set(err, DC_ELIMIT, "parquet writer: levels too large");
    uint8_t len[4];
    dc_store_le32(len, (uint32_t)e->lvl.len);
    DC_TRY(dc_buf_append(&e->body, len, 4, err));
    return dc_buf_append(&e->body, e->lvl.data, e->lvl.len, err);
}

static int put_plain(dc_buf *out, const dc_pq_leaf *leaf, const dc_pq_column *c, size_t v0,
                     size_t v1, dc_err *err)
{
    if (leaf->phys == PQ_BOOLEAN) {
        const size_t nb = (v1 - v0 + 7) / 8;
        DC_TRY(dc_buf_reserve(out, nb, err));
        uint8_t *o = out->data + out->len;
        memset(o, 0, nb);
        for (size_t i = v0; i < v1; i++)
            if (c->values.data[i]) o[(i - v0) >> 3] |= (uint8_t)(1u << ((i - v0) & 7));
        out->len += nb;
        return 0;
    }
    if (leaf->phys != PQ_BYTE_ARRAY) {
        const size_t wd = dc_pq_phys_width(leaf->phys, leaf->type_length);
        return dc_buf_append(out, c->values.data + v0 * wd, (v1 - v0) * wd, err);
    }
    if (v0 == v1) return 0;  /* offsets may be absent when a chunk has no value */
    size_t need = (size_t)(c->offsets[v1] - c->offsets[v0]) + 4 * (v1 - v0);
    DC_TRY(dc_buf_reserve(out, need, err));
    uint8_t *o = out->data + out->len;
    for (size_t i = v0; i < v1; i++) {
        const uint32_t n = c->offsets[i + 1] - c->offsets[i];
        dc_store_le32(o, n);
        memcpy(o + 4, c->values.data + c->offsets[i], n);
        o += 4 + n;
    }
    out->len += need;
    return 0;
}

/* Compresses e->body (unless UNCOMPRESSED), encodes the header and emits
 * both. *hdr_len and *comp_len receive the sizes written. */
static int emit_page(dc_pq_writer *w, pq_page_header *h, size_t *hdr_len, size_t *comp_len,
                     dc_err *err)
{
    pq_wr_enc *e = &w->enc;
    const uint8_t *payload = e->body.data;
    size_t plen = e->body.len;
    if (w->opts.codec != PQ_CODEC_UNCOMPRESSED) {
        if (!e->cctx) DC_TRY(pq_codec_ctx_new(&e->cctx, err));
        dc_buf_reset(&e->comp);
        DC_TRY(pq_compress_ctx(e->cctx, &e->comp, w->opts.codec, w->opts.level, e->body.data,
                               e->body.len, err));
        payload = e->comp.data;
        plen = e->comp.len;
    }
    if (e->body.len > INT32_MAX || plen > INT32_MAX)
        return dc_err_set(err, DC_ELIMIT, "parquet writer: page of %zu bytes is too large",
                          e->body.len);
    h->uncompressed_page_size = (int32_t)e->body.len;
    h->compressed_page_size = (int32_t)plen;
    dc_buf_reset(&e->hdr);
    DC_TRY(pq_page_header_encode(&e->hdr, h, err));
    DC_TRY(pq_wr_emit(w, e->hdr.data, e->hdr.len, err));
    DC_TRY(pq_wr_emit(w, payload, plen, err));
    *hdr_len = e->hdr.len;
    *comp_len = plen;
    return 0;
}

static int write_dict_page(dc_pq_writer *w, const dc_pq_leaf *leaf, int64_t *usize,
                           int64_t *csize, dc_err *err)
{
    pq_wr_enc *e = &w->enc;
    dc_buf_reset(&e->body);
    if (leaf->phys == PQ_BYTE_ARRAY) {
        DC_TRY(dc_buf_reserve(&e->body, e->dict_plain, err));
        uint8_t *o = e->body.data;
        for (size_t i = 0; i < e->n_dict; i++) {
            const uint32_t n = e->dict_off[i + 1] - e->dict_off[i];
            dc_store_le32(o, n);
            memcpy(o + 4, e->dict.data + e->dict_off[i], n);
            o += 4 + n;
        }
        e->body.len = e->dict_plain;
    } else {
        DC_TRY(dc_buf_append(&e->body, e->dict.data, e->dict.len, err));
    }
    pq_page_header h = {0};
    h.type = PQ_PAGE_DICTIONARY;
    h.has_dictionary_page_header = true;
    h.dictionary_page_header.num_values = (int32_t)e->n_dict;
    h.dictionary_page_header.encoding = PQ_ENC_PLAIN;
    size_t hl, cl;
    DC_TRY(emit_page(w, &h, &hl, &cl, err));
    *usize += (int64_t)(hl + e->body.len);
    *csize += (int64_t)(hl + cl);
    return 0;
}

/* ------------------------------------------------------------ statistics */

/* What the chunk's pages add up to. */
typedef struct chunk_acc {
    int64_t usize, csize;   /* bytes with headers: uncompressed / compressed */
    int64_t nulls;          /* level entries below max_def */
    pq_wr_minmax mm;        /* chunk min/max (NaN skipped) */
    bool index_ok;          /* every non-null page has a min/max */
} chunk_acc;

static void page_minmax(pq_wr_minmax *mm, pq_wr_enc *e, const dc_pq_leaf *leaf,
                        const dc_pq_column *c, const page_span *s, bool dict, uint32_t page_no)
{
    if (!dict || leaf->phys != PQ_BYTE_ARRAY) {
        pq_wr_minmax_range(mm, leaf, c, s->v0, s->v1);
        return;
    }
    /* Dictionary strings: compare each distinct value of the page once. */
    *mm = (pq_wr_minmax){0};
    if (!pq_wr_has_order(leaf)) return;
    for (size_t i = s->v0; i < s->v1; i++) {
        const uint32_t d = e->idx[i];
        if (e->stamp[d] == page_no) continue;
        e->stamp[d] = page_no;
        const uint32_t o = e->dict_off[d], n = e->dict_off[d + 1] - o;
        pq_wr_minmax_add(mm, leaf, e->dict.data + o, n, e->dict.data + o, n);
    }
}

static bool is_utf8(const dc_pq_leaf *leaf)
{
    return leaf->field && leaf->field->type == DC_TYPE_STRING;
}

/* Page bounds for the column index: truncated byte arrays, the whole value
 * when a truncated max does not exist. */
static int record_page_bounds(pq_wr_enc *e, pq_wr_page *pg, const dc_pq_leaf *leaf,
                              const pq_wr_minmax *mm, dc_err *err)
{
    uint8_t lo[DC_PQ_STATS_TRUNCATE + 4], hi[DC_PQ_STATS_TRUNCATE + 4];
    const uint8_t *pmin = mm->min, *pmax = mm->max;
    uint32_t nmin = mm->min_len, nmax = mm->max_len;
    bool exact;
    if (leaf->phys == PQ_BYTE_ARRAY) {
        pq_wr_trunc_min(lo, &nmin, &exact, mm->min, mm->min_len, is_utf8(leaf));
        pmin = lo;
        if (pq_wr_trunc_max(hi, &nmax, &exact, mm->max, mm->max_len, is_utf8(leaf))) pmax = hi;
        else nmax = mm->max_len;
    }
    if (e->page_stats.len > UINT32_MAX - nmin - nmax)
        return dc_err_set(err, DC_ELIMIT, "parquet writer: page index too large");
    pg->min_off = (uint32_t)e->page_stats.len;
    pg->min_len = nmin;
    DC_TRY(dc_buf_append(&e->page_stats, pmin, nmin, err));
    pg->max_off = (uint32_t)e->page_stats.len;
    pg->max_len = nmax;
    return dc_buf_append(&e->page_stats, pmax, nmax, err);
}

static int page_slot(pq_wr_enc *e, pq_wr_page **out, dc_err *err)
{
    size_t need = e->n_pages + 1;
    if (need > e->pages_cap) {
        size_t cap = e->pages_cap, c1 = cap, c2 = cap, c3 = cap, c4 = cap, c5 = cap;
        DC_TRY(dc_array_grow((void **)&e->ci_null, &c1, need, sizeof *e->ci_null, SIZE_MAX, err));
        DC_TRY(dc_array_grow((void **)&e->ci_min, &c2, need, sizeof *e->ci_min, SIZE_MAX, err));
        DC_TRY(dc_array_grow((void **)&e->ci_max, &c3, need, sizeof *e->ci_max, SIZE_MAX, err));
        DC_TRY(dc_array_grow((void **)&e->ci_nulls, &c4, need, sizeof *e->ci_nulls, SIZE_MAX, err));
        DC_TRY(dc_array_grow((void **)&e->oi_loc, &c5, need, sizeof *e->oi_loc, SIZE_MAX, err));
        DC_TRY(dc_array_grow((void **)&e->pages, &cap, need, sizeof *e->pages, SIZE_MAX, err));
        e->pages_cap = cap;
    }
    *out = &e->pages[e->n_pages++];
    memset(*out, 0, sizeof **out);
    return 0;
}

/* One data page: levels, values, emit, page index record. */
static int write_data_page(dc_pq_writer *w, const dc_pq_leaf *leaf, const dc_pq_column *c,
                           const page_span *s, int dict_bw, int64_t first_row, chunk_acc *acc,
                           dc_err *err)
{
    pq_wr_enc *e = &w->enc;
    if (s->l1 - s->l0 > INT32_MAX)
        return dc_err_set(err, DC_ELIMIT, "parquet writer: %s: one row has more than 2^31 values",
                          leaf->dotted);
    dc_buf_reset(&e->body);
    if (leaf->max_rep > 0) DC_TRY(put_levels(e, c->rep + s->l0, s->l1 - s->l0, leaf->max_rep, err));
    if (leaf->max_def > 0) DC_TRY(put_levels(e, c->def + s->l0, s->l1 - s->l0, leaf->max_def, err));
    if (dict_bw) {
        DC_TRY(dc_buf_putc(&e->body, (uint8_t)dict_bw, err));
        DC_TRY(pq_rle_encode_u32(&e->body, e->idx + s->v0, s->v1 - s->v0, dict_bw, err));
    } else {
        DC_TRY(put_plain(&e->body, leaf, c, s->v0, s->v1, err));
    }
    pq_page_header h = {0};
    h.type = PQ_PAGE_DATA;
    h.has_data_page_header = true;
    h.data_page_header.num_values = (int32_t)(s->l1 - s->l0);
    h.data_page_header.encoding = dict_bw ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN;
    h.data_page_header.definition_level_encoding = PQ_ENC_RLE;
    h.data_page_header.repetition_level_encoding = PQ_ENC_RLE;
    pq_wr_page *pg;
    DC_TRY(page_slot(e, &pg, err));
    pg->offset = (int64_t)w->offset;
    size_t hl, cl;
    DC_TRY(emit_page(w, &h, &hl, &cl, err));
    acc->usize += (int64_t)(hl + e->body.len);
    acc->csize += (int64_t)(hl + cl);
    pg->size = (int32_t)(hl + cl);
    pg->first_row = first_row;
    pg->null_count = (int64_t)((s->l1 - s->l0) - (s->v1 - s->v0));
    pg->null_page = s->v1 == s->v0;
    acc->nulls += pg->null_count;
    if (pg->null_page) return 0;
    pq_wr_minmax mm;
    page_minmax(&mm, e, leaf, c, s, dict_bw != 0, (uint32_t)e->n_pages);
    if (!mm.has) {
        acc->index_ok = false;
        return 0;
    }
    pg->has_minmax = true;
    pq_wr_minmax_add(&acc->mm, leaf, mm.min, mm.min_len, mm.max, mm.max_len);
    return record_page_bounds(e, pg, leaf, &mm, err);
}

static int write_data_pages(dc_pq_writer *w, const dc_pq_leaf *leaf, const dc_pq_column *c,
                            bool dict, chunk_acc *acc, dc_err *err)
{
    pq_wr_enc *e = &w->enc;
    int bw = 0;
    if (dict) {
        bw = pq_bit_width(e->n_dict - 1) ? pq_bit_width(e->n_dict - 1) : 1;
        if (leaf->phys == PQ_BYTE_ARRAY) {
            DC_TRY(dc_array_grow((void **)&e->stamp, &e->stamp_cap, e->n_dict, sizeof *e->stamp,
                                 SIZE_MAX, err));
            memset(e->stamp, 0, e->n_dict * sizeof *e->stamp);
        }
    }
    e->n_pages = 0;
    dc_buf_reset(&e->page_stats);
    page_span s = {0};
    int64_t first_row = 0;
    while (s.l0 < c->n_levels) {
        next_span(&s, leaf, c, w->opts.page_bytes, bw);
        DC_TRY(write_data_page(w, leaf, c, &s, bw, first_row, acc, err));
        first_row += (int64_t)s.rows;
        s.l0 = s.l1;
        s.v0 = s.v1;
    }
    DC_ASSERT(s.v0 == c->n_values);
    return 0;
}

/* ------------------------------------------------------------ page index */

static pq_boundary_order boundary_order(const pq_wr_enc *e, const dc_pq_leaf *leaf)
{
    bool asc = true, desc = true;
    const pq_wr_page *prev = NULL;
    for (size_t i = 0; i < e->n_pages && (asc || desc); i++) {
        const pq_wr_page *p = &e->pages[i];
        if (p->null_page) continue;
        if (prev) {
            const uint8_t *b = e->page_stats.data;
            int cmin = pq_wr_cmp(leaf, b + prev->min_off, prev->min_len, b + p->min_off, p->min_len);
            int cmax = pq_wr_cmp(leaf, b + prev->max_off, prev->max_len, b + p->max_off, p->max_len);
            if (cmin > 0 || cmax > 0) asc = false;
            if (cmin < 0 || cmax < 0) desc = false;
        }
        prev = p;
    }
    return asc ? PQ_BO_ASCENDING : desc ? PQ_BO_DESCENDING : PQ_BO_UNORDERED;
}

static int write_page_index(dc_pq_writer *w, const dc_pq_leaf *leaf, const chunk_acc *acc,
                            pq_column_chunk *cc, dc_err *err)
{
    pq_wr_enc *e = &w->enc;
    const uint8_t *b = e->page_stats.data;
    for (size_t i = 0; i < e->n_pages; i++) {
        const pq_wr_page *p = &e->pages[i];
        e->ci_null[i] = p->null_page;
        e->ci_min[i] = (pq_bytes){p->null_page ? (const uint8_t *)"" : b + p->min_off, p->min_len};
        e->ci_max[i] = (pq_bytes){p->null_page ? (const uint8_t *)"" : b + p->max_off, p->max_len};
        e->ci_nulls[i] = p->null_count;
        e->oi_loc[i] = (pq_page_location){p->offset, p->size, p->first_row};
    }
    if (acc->index_ok && pq_wr_has_order(leaf)) {
        pq_column_index ci = {
            .n_pages = (uint32_t)e->n_pages, .null_pages = e->ci_null,
            .min_values = e->ci_min, .max_values = e->ci_max,
            .boundary_order = boundary_order(e, leaf), .has_null_counts = true,
            .null_counts = e->ci_nulls,
        };
        size_t at = w->ci.len;
        DC_TRY(pq_column_index_encode(&w->ci, &ci, err));
        cc->has_column_index = true;
        cc->column_index_offset = (int64_t)at;  /* relative until close */
        cc->column_index_length = (int32_t)(w->ci.len - at);
    }
    pq_offset_index oi = {.n_pages = (uint32_t)e->n_pages, .page_locations = e->oi_loc};
    size_t at = w->oi.len;
    DC_TRY(pq_offset_index_encode(&w->oi, &oi, err));
    cc->has_offset_index = true;
    cc->offset_index_offset = (int64_t)at;
    cc->offset_index_length = (int32_t)(w->oi.len - at);
    return 0;
}

/* -------------------------------------------------------------- metadata */

static void *arena_dup(dc_arena *a, const void *p, size_t n, dc_err *err)
{
    void *d = dc_arena_alloc(a, n ? n : 1, err);
    if (d && n) memcpy(d, p, n);
    return d;
}

static int chunk_stats(dc_pq_writer *w, const dc_pq_leaf *leaf, const chunk_acc *acc,
                       pq_statistics *st, dc_err *err)
{
    memset(st, 0, sizeof *st);
    st->is_set = true;
    st->has_null_count = true;
    st->null_count = acc->nulls;
    if (!acc->mm.has) return 0;
    uint8_t lo[DC_PQ_STATS_TRUNCATE + 4], hi[DC_PQ_STATS_TRUNCATE + 4];
    const uint8_t *pmin = acc->mm.min, *pmax = acc->mm.max;
    uint32_t nmin = acc->mm.min_len, nmax = acc->mm.max_len;
    bool min_exact = true, max_exact = true, has_max = true;
    if (leaf->phys == PQ_BYTE_ARRAY) {
        pq_wr_trunc_min(lo, &nmin, &min_exact, pmin, nmin, is_utf8(leaf));
        pmin = lo;
        has_max = pq_wr_trunc_max(hi, &nmax, &max_exact, pmax, nmax, is_utf8(leaf));
        pmax = hi;
    }
    const uint8_t *dmin = arena_dup(&w->meta, pmin, nmin, err);
    if (!dmin) return err ? err->code : DC_ENOMEM;
    st->has_min_value = true;
    st->min_value = (pq_bytes){dmin, nmin};
    st->has_is_min_exact = true;
    st->is_min_value_exact = min_exact;
    if (!has_max) return 0;
    const uint8_t *dmax = arena_dup(&w->meta, pmax, nmax, err);
    if (!dmax) return err ? err->code : DC_ENOMEM;
    st->has_max_value = true;
    st->max_value = (pq_bytes){dmax, nmax};
    st->has_is_max_exact = true;
    st->is_max_value_exact = max_exact;
    return 0;
}

static int chunk_meta(dc_pq_writer *w, const dc_pq_leaf *leaf, const dc_pq_column *c, bool dict,
                      const chunk_acc *acc, pq_column_meta *md, dc_err *err)
{
    md->type = leaf->phys;
    pq_encoding *enc = dc_arena_alloc(&w->meta, 3 * sizeof *enc, err);
    pq_page_encoding_stats *es = dc_arena_alloc(&w->meta, 2 * sizeof *es, err);
    if (!enc || !es) return err ? err->code : DC_ENOMEM;
    uint32_t ne = 0;
    enc[ne++] = PQ_ENC_PLAIN;  /* dictionary page or data pages */
    if (leaf->max_def > 0 || leaf->max_rep > 0) enc[ne++] = PQ_ENC_RLE;
    if (dict) enc[ne++] = PQ_ENC_RLE_DICTIONARY;
    md->n_encodings = ne;
    md->encodings = enc;
    md->n_path = leaf->n_path;
    md->path_in_schema = leaf->path;
    md->codec = w->opts.codec;
    md->num_values = (int64_t)c->n_levels;
    md->total_uncompressed_size = acc->usize;
    md->total_compressed_size = acc->csize;
    uint32_t ns = 0;
    if (dict) es[ns++] = (pq_page_encoding_stats){PQ_PAGE_DICTIONARY, PQ_ENC_PLAIN, 1};
    es[ns++] = (pq_page_encoding_stats){PQ_PAGE_DATA, dict ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN,
                                        (int32_t)w->enc.n_pages};
    md->n_encoding_stats = ns;
    md->encoding_stats = es;
    return chunk_stats(w, leaf, acc, &md->statistics, err);
}

int pq_wr_chunk_write(dc_pq_writer *w, uint32_t li, pq_column_chunk *cc, dc_err *err)
{
    const dc_pq_leaf *leaf = &w->schema->leaves[li];
    const dc_pq_column *c = &w->cols[li];
    pq_column_meta *md = &cc->meta_data;
    memset(cc, 0, sizeof *cc);
    bool dict;
    DC_TRY(dict_build(w, leaf, c, &dict, err));
    chunk_acc acc = {.index_ok = true};
    const int64_t start = (int64_t)w->offset;
    if (dict) {
        DC_TRY(write_dict_page(w, leaf, &acc.usize, &acc.csize, err));
        md->has_dictionary_page_offset = true;
        md->dictionary_page_offset = start;
    }
    md->data_page_offset = (int64_t)w->offset;
    DC_TRY(write_data_pages(w, leaf, c, dict, &acc, err));
    cc->file_offset = start;
    cc->has_meta_data = true;
    DC_TRY(chunk_meta(w, leaf, c, dict, &acc, md, err));
    if (w->opts.page_index) DC_TRY(write_page_index(w, leaf, &acc, cc, err));
    return 0;
}
