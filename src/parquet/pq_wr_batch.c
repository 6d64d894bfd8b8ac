/*
 * Columnar input to the writer (dc_pq_writer_write_columns): every column of
 * the batch is checked against its leaf first (levels in range, row counts
 * equal, values matching the levels), then copied into the row-group buffers
 * in slices of rows so a large batch still flushes row groups as it goes.
 */
#include "pq_wr_int.h"

/* Rows of a repeated column = entries with rep == 0 (the first must be). */
static int check_levels(const dc_pq_leaf *leaf, const dc_pq_column *c, size_t n_rows,
                        size_t *n_values, dc_err *err)
{
    if ((leaf->max_def > 0 && c->n_levels && !c->def) || (leaf->max_rep > 0 && c->n_levels && !c->rep))
        return dc_err_set(err, DC_EINVAL, "levels missing");
    size_t rows = 0, vals = 0;
    for (size_t i = 0; i < c->n_levels; i++) {
        if (leaf->max_rep > 0) {
            if (c->rep[i] < 0 || c->rep[i] > leaf->max_rep)
                return dc_err_set(err, DC_EINVAL, "repetition level %d at entry %zu is outside "
                                  "0..%d", c->rep[i], i, leaf->max_rep);
            if (i == 0 && c->rep[i] != 0)
                return dc_err_set(err, DC_EINVAL, "the first repetition level must be 0");
            rows += c->rep[i] == 0;
        }
        if (leaf->max_def > 0) {
            if (c->def[i] < 0 || c->def[i] > leaf->max_def)
                return dc_err_set(err, DC_EINVAL, "definition level %d at entry %zu is outside "
                                  "0..%d", c->def[i], i, leaf->max_def);
            vals += c->def[i] == leaf->max_def;
        }
    }
    if (leaf->max_rep == 0) rows = c->n_levels;
    if (leaf->max_def == 0) vals = c->n_levels;
    if (rows != n_rows)
        return dc_err_set(err, DC_EINVAL, "%zu rows, expected %zu", rows, n_rows);
    if (vals != c->n_values)
        return dc_err_set(err, DC_EINVAL, "levels say %zu values, n_values is %zu", vals,
                          c->n_values);
    *n_values = vals;
    return 0;
}

static int check_values(const dc_pq_leaf *leaf, const dc_pq_column *c, dc_err *err)
{
    if (leaf->phys != PQ_BYTE_ARRAY) {
        const size_t w = dc_pq_phys_width(leaf->phys, leaf->type_length);
        size_t need;
        if (dc_mul_overflow_sz(c->n_values, w, &need) || c->values.len != need)
            return dc_err_set(err, DC_EINVAL, "%zu value bytes, expected %zu values of %zu bytes",
                              c->values.len, c->n_values, w);
        if (leaf->phys == PQ_BOOLEAN)
            for (size_t i = 0; i < c->n_values; i++)
                if (c->values.data[i] > 1)
                    return dc_err_set(err, DC_EINVAL, "boolean value %zu is not 0 or 1", i);
        return 0;
    }
    if (c->n_values == 0) return 0;
    if (!c->offsets) return dc_err_set(err, DC_EINVAL, "byte-array offsets missing");
    for (size_t i = 0; i < c->n_values; i++)
        if (c->offsets[i + 1] < c->offsets[i])
            return dc_err_set(err, DC_EINVAL, "offsets decrease at value %zu", i);
    if (c->offsets[c->n_values] > c->values.len)
        return dc_err_set(err, DC_EINVAL, "offsets run past the %zu value bytes", c->values.len);
    return 0;
}

/* Level entries [l0, *l1) holding the next k rows; values in them. */
static void slice_end(const dc_pq_leaf *leaf, const dc_pq_column *c, size_t l0, size_t k,
                      size_t *l1, size_t *nv)
{
    size_t l = l0;
    if (leaf->max_rep == 0) {
        l = l0 + k;
    } else {
        size_t rows = 0;
        for (; l < c->n_levels; l++) {
            if (c->rep[l] == 0 && rows++ == k) break;
        }
    }
    size_t v = 0;
    if (leaf->max_def == 0) v = l - l0;
    else
        for (size_t i = l0; i < l; i++) v += c->def[i] == leaf->max_def;
    *l1 = l;
    *nv = v;
}

static int append_ba(dc_pq_column *d, const dc_pq_column *s, size_t v0, size_t nv, dc_err *err)
{
    if (nv == 0) return 0;
    const size_t bytes = s->offsets[v0 + nv] - s->offsets[v0], base = d->values.len;
    if (bytes > UINT32_MAX - base)
        return dc_err_set(err, DC_ELIMIT, "a column's byte arrays exceed 4 GiB in one row group");
    DC_TRY(dc_pq_column_reserve_offsets(d, nv, err));
    DC_TRY(dc_buf_append(&d->values, s->values.data + s->offsets[v0], bytes, err));
    if (d->n_values == 0) d->offsets[0] = (uint32_t)base;
    for (size_t j = 1; j <= nv; j++)
        d->offsets[d->n_values + j] = (uint32_t)(base + s->offsets[v0 + j] - s->offsets[v0]);
    return 0;
}

/* Copies k rows of source column s (from level l0 / value v0) into leaf li. */
static int append_slice(dc_pq_writer *w, uint32_t li, const dc_pq_column *s, size_t *l0,
                        size_t *v0, size_t k, dc_err *err)
{
    const dc_pq_leaf *leaf = &w->schema->leaves[li];
    dc_pq_column *d = &w->cols[li];
    size_t l1, nv;
    slice_end(leaf, s, *l0, k, &l1, &nv);
    const size_t nl = l1 - *l0;
    DC_TRY(pq_wr_col_reserve_levels(d, leaf, nl, err));
    if (leaf->max_def > 0) memcpy(d->def + d->n_levels, s->def + *l0, nl * sizeof *d->def);
    if (leaf->max_rep > 0) memcpy(d->rep + d->n_levels, s->rep + *l0, nl * sizeof *d->rep);
    const size_t before = d->values.len;
    if (leaf->phys == PQ_BYTE_ARRAY) {
        DC_TRY(append_ba(d, s, *v0, nv, err));
    } else {
        const size_t wd = dc_pq_phys_width(leaf->phys, leaf->type_length);
        DC_TRY(dc_buf_append(&d->values, s->values.data + *v0 * wd, nv * wd, err));
    }
    d->n_levels += nl;
    d->n_values += nv;
    w->rg_bytes += d->values.len - before + nl * 2 * (size_t)((leaf->max_def > 0) + (leaf->max_rep > 0)) +
                   (leaf->phys == PQ_BYTE_ARRAY ? nv * 4 : 0);
    *l0 = l1;
    *v0 += nv;
    return 0;
}

int dc_pq_writer_write_columns(dc_pq_writer *w, const dc_pq_column *cols, size_t n_rows,
                               dc_err *err)
{
    DC_TRY(pq_wr_check_open(w, err));
    const uint32_t n = w->schema->n_leaves;
    size_t batch_bytes = 0;  /* what the batch adds to the buffers, for slicing */
    for (uint32_t i = 0; i < n; i++) {
        const dc_pq_leaf *leaf = &w->schema->leaves[i];
        size_t nv = 0;
        int rc = check_levels(leaf, &cols[i], n_rows, &nv, err);
        if (rc == 0) rc = check_values(leaf, &cols[i], err);
        if (rc < 0) {
            dc_err_prefix(err, "parquet writer: batch column %s", leaf->dotted);
            return rc;
        }
        batch_bytes += cols[i].values.len + cols[i].n_levels * 4 + nv * 4;
    }
    const size_t per_row = n_rows ? batch_bytes / n_rows + 1 : 1;
    size_t *pos = dc_calloc((size_t)n * 2, sizeof *pos);  /* level, value cursor per leaf */
    if (!pos) return dc_err_set(err, DC_ENOMEM, "parquet writer: out of memory");
    int rc = 0;
    for (size_t done = 0; done < n_rows && rc == 0;) {
        /* Rows that about fill the row group, at most a slice. */
        const size_t room = w->rg_bytes < w->opts.row_group_bytes
                                ? w->opts.row_group_bytes - w->rg_bytes : 0;
        size_t k = room / per_row + 1;
        if (k > PQ_WR_BATCH_SLICE) k = PQ_WR_BATCH_SLICE;
        if (k > n_rows - done) k = n_rows - done;
        const size_t rg_bytes = w->rg_bytes;
        pq_wr_mark_all(w);
        for (uint32_t i = 0; i < n && rc == 0; i++)
            rc = append_slice(w, i, &cols[i], &pos[2 * i], &pos[2 * i + 1], k, err);
        if (rc < 0) {
            pq_wr_rollback(w, rg_bytes);
            /* Earlier slices may be in the file already: the batch is half in. */
            if (done > 0) w->state = PQ_WR_FAILED;
            break;
        }
        w->rg_rows += k;
        done += k;
        rc = pq_wr_maybe_flush(w, err);
    }
    dc_free(pos);
    return rc;
}
