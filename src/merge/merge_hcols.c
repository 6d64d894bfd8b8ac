/*
 * A bootstrap's rows handed over as columns (dc_merge_batch_columns). The
 * bootstrap's reader thread converts the source's text straight into the
 * table's leaves with the writer's own JSON-value conversion
 * (dc_pq_column_put_json), so the new file is written with
 * dc_pq_writer_write_columns instead of a JSON text row per event shredded
 * on the committing thread (that shredding was 40% of a bootstrap's CPU).
 * The batch adds what it alone knows: the metadata columns, the same for
 * every row of such a batch (one op, ts_ms, offset and source position),
 * converted the same way from the text dc_mtyped_row would give them, and
 * nulls for table columns the source lacks.
 */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>

/* Which metadata column (MT_*) a top-level leaf is, or -1. */
static int meta_of(const dc_merge_table *t, const dc_pq_leaf *leaf)
{
    const mtyped *m = t->typed;
    for (int i = 0; i < MT_N; i++)
        if ((i != MT_DEL || m->soft_deletes) && strcmp(leaf->path[0], m->meta[i]) == 0) return i;
    return -1;
}

/* The same stored type: a value converted for one is right for the other. */
static bool same_leaf(const dc_pq_leaf *a, const dc_pq_leaf *b)
{
    const dc_pq_field *x = a->field, *y = b->field;
    return a->n_path == 1 && b->n_path == 1 && a->max_rep == 0 && b->max_rep == 0 &&
           strcmp(a->path[0], b->path[0]) == 0 && a->phys == b->phys &&
           a->type_length == b->type_length && a->max_def == b->max_def &&
           x->type == y->type && x->precision == y->precision && x->scale == y->scale &&
           x->unit == y->unit && x->int96 == y->int96;
}

bool dc_mhcols_fit(const dc_merge_table *t, const dc_pq_schema *s, const dc_pq_column *cols,
                   size_t n)
{
    const dc_pq_schema *ts = t->pq_schema;
    if (!t->typed || t->typed->cm || !s || !cols || n == 0 || s->n_leaves != ts->n_leaves)
        return false;
    for (uint32_t i = 0; i < ts->n_leaves; i++) {
        const dc_pq_leaf *leaf = &ts->leaves[i];
        if (!same_leaf(leaf, &s->leaves[i])) return false;
        const bool meta = meta_of(t, leaf) >= 0;
        if (cols[i].n_levels == 0 ? !meta && leaf->max_def == 0
                                  : meta || cols[i].n_levels != n)
            return false;
    }
    return true;
}

/* The metadata value of leaf `which` as its JSON scalar (NULL: null). */
static const dc_json *meta_value(dc_json *v, char *num, size_t cap, int which,
                                 const mtyped_row *r)
{
    memset(v, 0, sizeof *v);
    v->type = DC_JSON_STRING;
    switch (which) {
    case MT_OP:
        v->u.str = &r->op;
        v->len = 1;
        return v;
    case MT_TS: case MT_OFF:
        if (which == MT_TS && !r->has_ts) return NULL;
        v->type = DC_JSON_NUMBER;
        v->len = (uint32_t)snprintf(num, cap, "%" PRId64, which == MT_TS ? r->ts : r->offset);
        v->u.str = num;
        return v;
    case MT_POS:
        if (!r->pos) return NULL;
        v->u.str = r->pos;
        v->len = r->pos_len;
        return v;
    default: /* MT_DEL: a soft delete never takes this way (op 'd') */
        v->type = r->op == 'd' ? DC_JSON_TRUE : DC_JSON_FALSE;
        return v;
    }
}

/* c: n copies of one value (NULL: null) of leaf. */
static int fill_const(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v, size_t n,
                      dc_err *err)
{
    DC_TRY(dc_pq_column_put_json(c, leaf, v, err)); /* the first: converted, checked */
    DC_TRY(dc_pq_column_reserve_levels(c, n - 1, leaf->max_def > 0, false, err));
    for (size_t i = 1; i < n; i++)
        if (c->def) c->def[i] = c->def[0];
    c->n_levels = n;
    if (!v) return 0;
    const size_t w = c->values.len; /* the one value's bytes */
    DC_TRY(dc_buf_reserve(&c->values, w * (n - 1), err));
    for (size_t i = 1; i < n; i++) memcpy(c->values.data + i * w, c->values.data, w);
    c->values.len = w * n;
    if (leaf->phys == PQ_BYTE_ARRAY) {
        DC_TRY(dc_pq_column_reserve_offsets(c, n - 1, err));
        for (size_t i = 1; i <= n; i++) c->offsets[i] = (uint32_t)(i * w);
    }
    c->n_values = n;
    return 0;
}

typedef struct hc_feed {
    dc_pq_column *cols;         /* one per leaf: the caller's (shallow copies) or filled */
    size_t n;                   /* rows */
} hc_feed;

static int feed_cols(dc_pq_writer *w, void *ctx, dc_err *err)
{
    const hc_feed *f = ctx;
    return dc_pq_writer_write_columns(w, f->cols, f->n, err);
}

int dc_mhcols_write(mfile_out *out, dc_merge_table *t, const dc_pq_column *cols, size_t n,
                    const mtyped_row *meta, dc_err *err)
{
    const dc_pq_schema *ts = t->pq_schema;
    hc_feed f = {dc_calloc(ts->n_leaves, sizeof *f.cols), n};
    if (!f.cols) return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < ts->n_leaves; i++) {
        if (cols[i].n_levels) {
            f.cols[i] = cols[i];
            continue;
        }
        dc_pq_column_init(&f.cols[i]);
        const int which = meta_of(t, &ts->leaves[i]);
        dc_json v;
        char num[32];
        const dc_json *val = which < 0 ? NULL : meta_value(&v, num, sizeof num, which, meta);
        rc = fill_const(&f.cols[i], &ts->leaves[i], val, n, err);
        if (rc < 0) dc_err_prefix(err, "column %s", ts->leaves[i].dotted);
    }
    if (rc == 0) rc = dc_merge_write_file(out, t, feed_cols, &f, n, err);
    if (rc == 0)
        DC_LOG(DC_LOG_DEBUG, "merge", "%s: new file of %zu rows written from columns", t->s->root,
               n);
    for (uint32_t i = 0; i < ts->n_leaves; i++)
        if (!cols[i].n_levels) dc_pq_column_dispose(&f.cols[i]);
    dc_free(f.cols);
    return rc;
}
