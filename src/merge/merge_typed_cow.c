/*
 * Copy-on-write for typed tables: a file holding replaced rows is rewritten
 * without them (and without rows its deletion vector removed). A typed
 * table's columns may nest (geometry structs, SET arrays), so rows are
 * carried over in their JSON text (the reader's and the writer's common
 * conventions, parquet.h: the round trip is exact), shredded straight into
 * the writer's columns as the dv writer does (dc_pq_writer_write_json_text:
 * no DOM), instead of flat columns as merge_cow.c does for raw tables. Only
 * the file's columns the table still has are read (column mapping: a column
 * dropped in place stays in old files, not in the table), and the file is
 * written with the table's schema of this commit (a column the batch adds is
 * null in carried rows). Each carried row's key is read from its key
 * columns (as the index scan reads them), and index slots pointing at
 * carried rows are noted as moves, as in merge_cow.c.
 */
#include "merge_int.h"

#include <inttypes.h>

/* One file being rewritten. */
typedef struct tcow_src {
    dc_merge_table *t;
    mcow *c;
    const mcow_file *f;
    const dc_delta_add *live;
    dc_pq_reader *r;
    uint64_t *dv;                   /* rows its DV deletes (ascending), or NULL */
    size_t n_dv, dv_at, drop_at;    /* entries, walk positions */
    bool *project;                  /* the file's top-level fields the table has (owned) */
    int32_t leaf[DC_CDC_MAX_KEYS];  /* the key columns' leaves in the file */
    dc_pq_column col[DC_CDC_MAX_KEYS]; /* their values in the current row group */
    dc_buf lines;                   /* JSON lines of the current row group */
    dc_buf kb;                      /* canonical key of the current row */
    uint32_t out_rows;              /* rows written so far */
} tcow_src;

static bool in_sorted(const uint64_t *a, size_t n, size_t *at, uint64_t row)
{
    while (*at < n && a[*at] < row) (*at)++;
    return *at < n && a[*at] == row;
}

/* Which of the file's fields to read (the table's, by physical name), and
 * its key columns' leaves (flat INT32/INT64 for LONG parts, BYTE_ARRAY). */
static int map_file(tcow_src *cs, dc_err *err)
{
    const dc_merge_table *t = cs->t;
    const dc_pq_schema *ps = dc_pq_reader_schema(cs->r);
    const dc_pq_schema *ts = t->pq_schema;
    if (!(cs->project = dc_calloc(ps->root.n_children ? ps->root.n_children : 1, 1)))
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < ps->root.n_children; i++)
        for (uint32_t j = 0; j < ts->root.n_children && !cs->project[i]; j++)
            cs->project[i] = strcmp(ps->root.children[i].name, ts->root.children[j].name) == 0;
    for (uint32_t k = 0; k < t->n_keys; k++) {
        const char *phys = dc_mtyped_physical(cs->t, t->key_names[k]);
        cs->leaf[k] = -1;
        for (uint32_t i = 0; i < ps->root.n_children; i++) {
            const dc_pq_field *f = &ps->root.children[i];
            if (strcmp(f->name, phys) != 0 || f->leaf < 0) continue;
            const dc_pq_leaf *l = &ps->leaves[f->leaf];
            const bool fits = l->max_rep == 0 &&
                              (t->key_types[k] == DC_CDC_KEY_LONG
                                   ? l->phys == PQ_INT32 || l->phys == PQ_INT64
                                   : l->phys == PQ_BYTE_ARRAY);
            if (!fits)
                return dc_err_set(err, DC_ECORRUPT, "%s: key column '%s' is not a%s column",
                                  cs->live->path, t->key_names[k],
                                  t->key_types[k] == DC_CDC_KEY_LONG ? "n integer" : " byte");
            cs->leaf[k] = f->leaf;
        }
        if (cs->leaf[k] < 0)
            return dc_err_set(err, DC_ECORRUPT, "%s: the data file has no key column '%s'",
                              cs->live->path, t->key_names[k]);
    }
    return 0;
}

/* The canonical key of row `row` from the key columns' cursors (every
 * cursor moves); false when a part is null. */
static int row_key(bool *ok, mkey *k, tcow_src *cs, mcolcur *cc, size_t row, dc_err *err)
{
    const dc_merge_table *t = cs->t;
    memset(k, 0, sizeof *k);
    dc_buf_reset(&cs->kb);
    *ok = true;
    for (uint32_t i = 0; i < t->n_keys; i++) {
        size_t vi = 0;
        if (!dc_mcolcur_next(&cc[i], row, &vi)) {
            *ok = false;
            continue; /* keep every cursor in step */
        }
        if (t->key_types[i] == DC_CDC_KEY_LONG) {
            k->i = dc_mcol_i64(&cc[i], vi);
            uint8_t b[8];
            dc_mkey_long_put(b, k->i);
            if (!t->index.int_keys) DC_TRY(dc_buf_append(&cs->kb, b, 8, err));
        } else {
            const uint32_t *o = cc[i].c->offsets;
            uint8_t l[4];
            dc_store_le32(l, o[vi + 1] - o[vi]);
            DC_TRY(dc_buf_append(&cs->kb, l, 4, err));
            DC_TRY(dc_buf_append(&cs->kb, cc[i].c->values.data + o[vi], o[vi + 1] - o[vi], err));
        }
    }
    k->b = cs->kb.data;
    k->len = (uint32_t)cs->kb.len;
    k->hash = t->index.int_keys ? dc_mx_hash_i64(&t->index, k->i)
                                : dc_mx_hash_bytes(&t->index, k->b, k->len);
    return 0;
}

/* The carried-over row's index slot, when the index points at it. */
static void note_move(tcow_src *cs, const mkey *k, uint64_t row)
{
    mcow *c = cs->c;
    const size_t slot = dc_mx_find(&cs->t->index, k);
    if (slot == SIZE_MAX) return;
    const mx_val v = dc_mx_get(&cs->t->index, slot);
    if (v.file != cs->f->file_id || (v.row & MX_ROW_MASK) != row) return;
    DC_ASSERT(c->n_moves < c->cap_moves);
    c->moves[c->n_moves++] = (mcow_move){slot, cs->out_rows | (v.row & MX_ROW_TOMB),
                                         (uint32_t)c->n_outs};
}

/* Feeds the writer every row of the file that stays. */
static int feed_rows(dc_pq_writer *w, void *ctx, dc_err *err)
{
    tcow_src *cs = ctx;
    const pq_file_meta *m = dc_pq_reader_meta(cs->r);
    uint64_t base = 0;
    mcolcur cc[DC_CDC_MAX_KEYS];
    for (uint32_t rg = 0; rg < m->n_row_groups; rg++) {
        dc_buf_reset(&cs->lines);
        DC_TRY(dc_pq_reader_rows_json(&cs->lines, cs->r, rg, cs->project, err));
        DC_TRY(dc_merge_read_cols(cc, cs->col, cs->leaf, cs->t->n_keys, cs->r, rg,
                                  cs->live->path, err));
        const char *p = (const char *)cs->lines.data, *end = p + cs->lines.len;
        for (uint64_t row = base; p < end; row++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            const bool drop = in_sorted(cs->f->rows, cs->f->n_rows, &cs->drop_at, row) ||
                              in_sorted(cs->dv, cs->n_dv, &cs->dv_at, row);
            bool ok = false;
            mkey k;
            DC_TRY(row_key(&ok, &k, cs, cc, (size_t)(row - base), err));
            if (!drop) {
                DC_TRY(dc_pq_writer_write_json_text(w, p, n, err));
                if (ok) note_move(cs, &k, row);
                cs->out_rows++;
            }
            p += n + 1;
        }
        base += (uint64_t)m->row_groups[rg].num_rows;
    }
    return 0;
}

static int rewrite_one(mcow *c, dc_merge_table *t, dc_delta_tx *tx, const mcow_file *f,
                       dc_err *err)
{
    tcow_src cs;
    memset(&cs, 0, sizeof cs);
    cs.t = t;
    cs.c = c;
    cs.f = f;
    cs.live = dc_merge_live_add(t, f->file_id);
    dc_buf hold;
    dc_buf_init(&hold, 0);
    dc_buf_init(&cs.lines, DC_MERGE_MAX_BATCH_BYTES);
    dc_buf_init(&cs.kb, DC_MERGE_MAX_KEY_BYTES * 2);
    for (uint32_t i = 0; i < DC_CDC_MAX_KEYS; i++) dc_pq_column_init(&cs.col[i]);
    int rc = dc_merge_open_file(&cs.r, &hold, t, cs.live->path,
                                dc_delta_add_size(cs.live), err);
    if (rc == 0) rc = map_file(&cs, err);
    if (rc == 0 && cs.live->has_dv) {
        dc_delta_dv *dv = NULL;
        rc = dc_delta_dv_load(&dv, t->s, &cs.live->dv, err);
        if (rc == 0) rc = dc_delta_dv_to_array(&cs.dv, &cs.n_dv, dv, err);
        dc_delta_dv_free(dv);
    }
    /* Rows that stay: the file's, less its DV's and the dropped ones (live rows). */
    const uint64_t rows = t->index.files[f->file_id].n_rows;
    const uint64_t keep = rows - cs.n_dv - f->n_rows;
    if (rc == 0 && keep > 0) {
        rc = dc_merge_write_file(&c->outs[c->n_outs], t, feed_rows, &cs, (size_t)keep, err);
        c->n_outs++; /* disposed (and removed if written) with the mcow */
        if (rc == 0) rc = dc_delta_tx_add(tx, &c->outs[c->n_outs - 1].add, err);
    }
    if (rc == 0) rc = dc_delta_tx_remove_file(tx, cs.live, true, err);
    if (rc == 0) c->rows_copied += keep;
    if (rc < 0) dc_err_prefix(err, "rewriting %s", cs.live->path);
    dc_pq_reader_free(cs.r);
    dc_free(cs.dv);
    dc_buf_dispose(&cs.lines);
    dc_buf_dispose(&cs.kb);
    for (uint32_t i = 0; i < DC_CDC_MAX_KEYS; i++) dc_pq_column_dispose(&cs.col[i]);
    dc_free(cs.project);
    dc_buf_dispose(&hold);
    return rc;
}

int dc_mtyped_cow_rewrite(mcow *c, dc_merge_table *t, dc_delta_tx *tx, const mcow_file *files,
                          size_t n, dc_err *err)
{
    DC_ASSERT(!c->outs && !c->moves);
    DC_TRY(dc_mcow_reserve(c, t, files, n, err));
    for (size_t i = 0; i < n; i++) DC_TRY(rewrite_one(c, t, tx, &files[i], err));
    return 0;
}
