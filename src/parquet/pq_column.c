/* dc_pq_column: caller-owned buffers of one leaf's levels and values. */
#include "parquet.h"

void dc_pq_column_init(dc_pq_column *c)
{
    memset(c, 0, sizeof *c);
    dc_buf_init(&c->values, DC_PQ_MAX_CHUNK_BYTES);
}

void dc_pq_column_dispose(dc_pq_column *c)
{
    dc_free(c->def);
    dc_free(c->rep);
    dc_free(c->offsets);
    dc_buf_dispose(&c->values);
    memset(c, 0, sizeof *c);
}

void dc_pq_column_reset(dc_pq_column *c)
{
    c->n_levels = 0;
    c->n_values = 0;
    dc_buf_reset(&c->values);
    if (c->offsets) c->offsets[0] = 0;
}

size_t dc_pq_phys_width(pq_type t, int32_t type_length)
{
    switch (t) {
    case PQ_BOOLEAN: return 1;
    case PQ_INT32: case PQ_FLOAT: return 4;
    case PQ_INT64: case PQ_DOUBLE: return 8;
    case PQ_INT96: return 12;
    case PQ_FIXED_LEN_BYTE_ARRAY: return type_length > 0 ? (size_t)type_length : 0;
    case PQ_BYTE_ARRAY: return 0;
    }
    return 0;
}

/* Capacity that holds `need` entries: 1024, doubled as needed. */
static int next_cap(size_t *out, size_t cap, size_t need, size_t size, dc_err *err)
{
    size_t ncap = cap ? cap : 1024, bytes;
    while (ncap < need) ncap *= 2;
    if (dc_mul_overflow_sz(ncap, size, &bytes) || bytes > DC_PQ_MAX_CHUNK_BYTES)
        return dc_err_set(err, DC_ELIMIT, "column chunk exceeds %zu bytes of levels or offsets",
                          (size_t)DC_PQ_MAX_CHUNK_BYTES);
    *out = ncap;
    return 0;
}

static int realloc_to(void **p, size_t bytes, dc_err *err)
{
    void *np = dc_realloc(*p, bytes);
    if (!np) return dc_err_set(err, DC_ENOMEM, "out of memory growing a column to %zu bytes", bytes);
    *p = np;
    return 0;
}

int dc_pq_column_reserve_levels(dc_pq_column *c, size_t extra, bool want_def, bool want_rep,
                                dc_err *err)
{
    size_t need, cap = c->levels_cap;
    bool need_def = want_def || c->def, need_rep = want_rep || c->rep;
    if (dc_add_overflow_sz(c->n_levels, extra, &need))
        return dc_err_set(err, DC_ELIMIT, "too many levels in a column");
    if (need <= cap && (!need_def || c->def) && (!need_rep || c->rep)) return 0;
    /* def and rep always share levels_cap, so a new array is sized like the other */
    if (need > cap) DC_TRY(next_cap(&cap, cap, need, sizeof(int16_t), err));
    if (need_def) DC_TRY(realloc_to((void **)&c->def, cap * sizeof(int16_t), err));
    if (need_rep) DC_TRY(realloc_to((void **)&c->rep, cap * sizeof(int16_t), err));
    c->levels_cap = cap;
    return 0;
}

int dc_pq_column_reserve_offsets(dc_pq_column *c, size_t extra, dc_err *err)
{
    size_t need, cap = c->offsets_cap;
    if (dc_add_overflow_sz(c->n_values, extra, &need) || dc_add_overflow_sz(need, 1, &need))
        return dc_err_set(err, DC_ELIMIT, "too many values in a column");
    if (need <= cap && c->offsets) return 0;
    bool was_null = c->offsets == NULL;
    if (need > cap) DC_TRY(next_cap(&cap, cap, need, sizeof(uint32_t), err));
    DC_TRY(realloc_to((void **)&c->offsets, cap * sizeof(uint32_t), err));
    c->offsets_cap = cap;
    if (was_null) c->offsets[0] = 0;
    return 0;
}
