/*
 * Copy-on-write: a file holding replaced rows is rewritten without them (and
 * without rows its deletion vector already removed), the old file removed
 * and the new one added in the same commit. Rows carried over change file
 * and position; the index slots that point at them are noted as moves and
 * repointed by the caller once the commit succeeded.
 */
#include "merge_int.h"

#include <inttypes.h>

/* Reading one file: the leaf of each table column (-1: absent, nulls). */
typedef struct cow_src {
    dc_merge_table *t;
    const char *path;               /* add path, for messages */
    dc_pq_reader *r;
    int32_t leaf[DC_CDC_MAX_KEYS + 4];
    dc_pq_column col[DC_CDC_MAX_KEYS + 4];
    uint64_t *dv;                   /* rows deleted by the file's DV (ascending) */
    size_t n_dv, dv_at;
    size_t drop_at;                 /* walk position in the rows to drop */
    dc_buf kb;                      /* canonical key of the current row */
} cow_src;

static int map_columns(cow_src *cs, dc_err *err)
{
    const dc_pq_schema *ps = dc_pq_reader_schema(cs->r);
    const dc_merge_table *t = cs->t;
    for (uint32_t j = 0; j < t->n_cols; j++) {
        const bool want_int = t->pq_schema->leaves[j].phys != PQ_BYTE_ARRAY;
        cs->leaf[j] = -1;
        for (uint32_t i = 0; i < ps->root.n_children; i++) {
            const dc_pq_field *f = &ps->root.children[i];
            if (strcmp(f->name, t->cols[j].name) != 0) continue;
            const dc_pq_leaf *l = f->leaf >= 0 ? &ps->leaves[f->leaf] : NULL;
            if (!l || l->max_rep || (want_int ? (l->phys != PQ_INT64 && l->phys != PQ_INT32)
                                              : l->phys != PQ_BYTE_ARRAY))
                return dc_err_set(err, DC_ECORRUPT, "%s: column '%s' does not have the table's "
                                  "type", cs->path, f->name);
            cs->leaf[j] = f->leaf;
        }
        if (cs->leaf[j] < 0 && t->cols[j].role == MCOL_KEY)
            return dc_err_set(err, DC_ECORRUPT, "%s: no key column '%s'", cs->path,
                              t->cols[j].name);
    }
    return 0;
}

static bool in_sorted(const uint64_t *a, size_t n, size_t *at, uint64_t row)
{
    while (*at < n && a[*at] < row) (*at)++;
    return *at < n && a[*at] == row;
}

/* Copies one value (or null) of column j into the output. */
static int copy_value(mrows *out, cow_src *cs, mcolcur *cc, uint32_t j, bool present, size_t vi,
                      dc_err *err)
{
    if (!present) return dc_mrows_put_null(out, j, err);
    if (cc->leaf->phys != PQ_BYTE_ARRAY) return dc_mrows_put_i64(out, j, dc_mcol_i64(cc, vi), err);
    const uint32_t *o = cs->col[j].offsets;
    return dc_mrows_put_bytes(out, j, cs->col[j].values.data + o[vi], o[vi + 1] - o[vi], err);
}

/* Key of the current row from its values (keyspec order); false when a
 * key part is null. */
static int row_key(bool *ok, mkey *k, cow_src *cs, const mcolcur *cc, const bool *present,
                   const size_t *vi, dc_err *err)
{
    const dc_merge_table *t = cs->t;
    memset(k, 0, sizeof *k);
    dc_buf_reset(&cs->kb);
    *ok = true;
    for (uint32_t i = 0; i < t->n_keys && *ok; i++) {
        const uint32_t j = t->key_col[i];
        if (!present[j]) {
            *ok = false;
        } else if (cc[j].leaf->phys != PQ_BYTE_ARRAY) {
            const int64_t v = dc_mcol_i64(&cc[j], vi[j]);
            uint8_t b[8];
            dc_mkey_long_put(b, v);
            k->i = v;
            if (!t->index.int_keys) DC_TRY(dc_buf_append(&cs->kb, b, 8, err));
        } else {
            const uint32_t *o = cs->col[j].offsets;
            uint8_t l[4];
            dc_store_le32(l, o[vi[j] + 1] - o[vi[j]]);
            DC_TRY(dc_buf_append(&cs->kb, l, 4, err));
            DC_TRY(dc_buf_append(&cs->kb, cs->col[j].values.data + o[vi[j]],
                                 o[vi[j] + 1] - o[vi[j]], err));
        }
    }
    k->b = cs->kb.data;
    k->len = (uint32_t)cs->kb.len;
    k->hash = t->index.int_keys ? dc_mx_hash_i64(&t->index, k->i)
                                : dc_mx_hash_bytes(&t->index, k->b, k->len);
    return 0;
}

/* The carried-over row's index slot, when the index points at it. */
static void note_move(mcow *c, const dc_merge_table *t, const mkey *k, uint32_t file_id,
                      uint64_t row, uint32_t new_row)
{
    const size_t slot = dc_mx_find(&t->index, k);
    if (slot == SIZE_MAX) return;
    const mx_val v = dc_mx_get(&t->index, slot);
    if (v.file != file_id || (v.row & MX_ROW_MASK) != row) return;
    DC_ASSERT(c->n_moves < c->cap_moves);
    c->moves[c->n_moves++] = (mcow_move){slot, new_row | (v.row & MX_ROW_TOMB),
                                         (uint32_t)c->n_outs};
}

/* One row: every cursor moves; the row is carried over unless dropped. */
static int copy_row(mcow *c, mrows *out, cow_src *cs, mcolcur *cc, size_t row, bool drop,
                    uint32_t file_id, uint64_t global, dc_err *err)
{
    const dc_merge_table *t = cs->t;
    bool present[DC_CDC_MAX_KEYS + 4];
    size_t vi[DC_CDC_MAX_KEYS + 4];
    for (uint32_t j = 0; j < t->n_cols; j++) {
        vi[j] = 0;
        present[j] = cs->leaf[j] >= 0 && dc_mcolcur_next(&cc[j], row, &vi[j]);
    }
    if (drop) return 0;
    for (uint32_t j = 0; j < t->n_cols; j++)
        DC_TRY(copy_value(out, cs, &cc[j], j, present[j], vi[j], err));
    dc_mrows_end_row(out);
    bool ok = false;
    mkey k;
    DC_TRY(row_key(&ok, &k, cs, cc, present, vi, err));
    if (ok) note_move(c, t, &k, file_id, global, (uint32_t)(out->n - 1));
    return 0;
}

static int copy_rg(mcow *c, mrows *out, cow_src *cs, const mcow_file *f, uint32_t rg,
                   uint64_t base, dc_err *err)
{
    const dc_pq_schema *ps = dc_pq_reader_schema(cs->r);
    const size_t rows = (size_t)dc_pq_reader_meta(cs->r)->row_groups[rg].num_rows;
    mcolcur cc[DC_CDC_MAX_KEYS + 4];
    for (uint32_t j = 0; j < cs->t->n_cols; j++) {
        cc[j] = (mcolcur){&cs->col[j], NULL, 0};
        if (cs->leaf[j] < 0) continue;
        cc[j].leaf = &ps->leaves[cs->leaf[j]];
        DC_TRY(dc_pq_reader_read_column(&cs->col[j], cs->r, rg, (uint32_t)cs->leaf[j], err));
        if (cs->col[j].n_levels != rows)
            return dc_err_set(err, DC_ECORRUPT, "%s: row group %u: column %s has %zu rows, "
                              "expected %zu", cs->path, rg, cc[j].leaf->dotted,
                              cs->col[j].n_levels, rows);
    }
    for (size_t row = 0; row < rows; row++) {
        const uint64_t g = base + row;
        const bool drop = in_sorted(f->rows, f->n_rows, &cs->drop_at, g) ||
                          in_sorted(cs->dv, cs->n_dv, &cs->dv_at, g);
        DC_TRY(copy_row(c, out, cs, cc, row, drop, f->file_id, g, err));
    }
    return 0;
}

static int copy_file(mcow *c, mrows *out, cow_src *cs, const mcow_file *f,
                     const dc_delta_add *live, dc_err *err)
{
    if (live->has_dv) {
        dc_delta_dv *dv = NULL;
        DC_TRY(dc_delta_dv_load(&dv, cs->t->s, &live->dv, err));
        int rc = dc_delta_dv_to_array(&cs->dv, &cs->n_dv, dv, err);
        dc_delta_dv_free(dv);
        DC_TRY(rc);
    }
    DC_TRY(map_columns(cs, err));
    const pq_file_meta *m = dc_pq_reader_meta(cs->r);
    uint64_t base = 0;
    for (uint32_t rg = 0; rg < m->n_row_groups; rg++) {
        DC_TRY(copy_rg(c, out, cs, f, rg, base, err));
        base += (uint64_t)m->row_groups[rg].num_rows;
    }
    return 0;
}

/* Rewrites one file: the output (if any rows are left) is added, the old
 * file removed. */
static int rewrite_one(mcow *c, dc_merge_table *t, dc_delta_tx *tx, const mcow_file *f,
                       dc_err *err)
{
    const dc_delta_add *live = dc_merge_live_add(t, f->file_id);
    cow_src cs;
    memset(&cs, 0, sizeof cs);
    cs.t = t;
    cs.path = live->path;
    dc_buf hold;
    dc_buf_init(&hold, 0);
    dc_buf_init(&cs.kb, DC_MERGE_MAX_KEY_BYTES * 2);
    for (uint32_t j = 0; j < DC_CDC_MAX_KEYS + 4; j++) dc_pq_column_init(&cs.col[j]);
    mrows out;
    dc_mrows_init(&out, t);
    const size_t moves0 = c->n_moves;
    int rc = dc_merge_open_file(&cs.r, &hold, t, live->path, dc_delta_add_size(live), err);
    if (rc == 0) rc = copy_file(c, &out, &cs, f, live, err);
    if (rc == 0 && out.n > 0) {
        rc = dc_mrows_write_file(&c->outs[c->n_outs], &out, err);
        c->n_outs++; /* disposed (and removed if written) with the mcow */
        if (rc == 0) rc = dc_delta_tx_add(tx, &c->outs[c->n_outs - 1].add, err);
    } else if (rc == 0) {
        DC_ASSERT(c->n_moves == moves0); /* nothing carried over, nothing moved */
    }
    if (rc == 0) rc = dc_delta_tx_remove_file(tx, live, true, err);
    if (rc == 0) c->rows_copied += out.n;
    if (rc < 0) dc_err_prefix(err, "rewriting %s", live->path);
    dc_mrows_dispose(&out);
    for (uint32_t j = 0; j < DC_CDC_MAX_KEYS + 4; j++) dc_pq_column_dispose(&cs.col[j]);
    dc_pq_reader_free(cs.r);
    dc_free(cs.dv);
    dc_buf_dispose(&cs.kb);
    dc_buf_dispose(&hold);
    return rc;
}

int dc_mcow_reserve(mcow *c, const dc_merge_table *t, const mcow_file *files, size_t n,
                    dc_err *err)
{
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) rows += t->index.files[files[i].file_id].n_rows;
    c->moves = dc_calloc(rows ? rows : 1, sizeof *c->moves);
    c->outs = dc_calloc(n ? n : 1, sizeof *c->outs);
    if (!c->moves || !c->outs) return dc_err_set(err, DC_ENOMEM, "cow: out of memory");
    c->cap_moves = rows;
    return 0;
}

int dc_mcow_rewrite(mcow *c, dc_merge_table *t, dc_delta_tx *tx, const mcow_file *files,
                    size_t n, dc_err *err)
{
    DC_ASSERT(!c->outs && !c->moves);
    DC_TRY(dc_mcow_reserve(c, t, files, n, err));
    for (size_t i = 0; i < n; i++) DC_TRY(rewrite_one(c, t, tx, &files[i], err));
    return 0;
}

void dc_mcow_dispose(mcow *c, dc_storage *discard_from)
{
    for (size_t i = 0; i < c->n_outs; i++) {
        if (discard_from) dc_mfile_out_discard(&c->outs[i], discard_from);
        dc_mfile_out_dispose(&c->outs[i]);
    }
    dc_free(c->outs);
    dc_free(c->moves);
    memset(c, 0, sizeof *c);
}
