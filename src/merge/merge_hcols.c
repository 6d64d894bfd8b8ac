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

/* Rows per dc_pq_writer_write_columns call: the metadata and null columns
 * are built for this many rows once and fed again with every slice (a
 * whole batch of them was 12 MB of one __source_pos, built and copied). */
#define HC_SLICE 16384

typedef struct hc_feed {
    const dc_pq_schema *s;      /* the table's leaves */
    const dc_pq_column *cols;   /* the caller's, one per leaf (empty: the batch's) */
    dc_pq_column *fill;         /* per leaf: the batch's HC_SLICE rows (metadata, null) */
    size_t n;                   /* rows */
} hc_feed;

/* v: a read-only view of rows [row, row + k) of flat column c (a level per
 * row), whose values start at value *vi (advanced past the view's). */
static void view_of(dc_pq_column *v, const dc_pq_column *c, const dc_pq_leaf *leaf, size_t row,
                    size_t k, size_t *vi)
{
    size_t nv = k;
    if (leaf->max_def > 0) {
        nv = 0;
        for (size_t i = row; i < row + k; i++) nv += c->def[i] == leaf->max_def;
    }
    memset(v, 0, sizeof *v);
    v->n_levels = k;
    v->def = c->def ? c->def + row : NULL;
    v->n_values = nv;
    v->values = c->values; /* read only */
    if (leaf->phys == PQ_BYTE_ARRAY) {
        v->offsets = c->offsets ? c->offsets + *vi : NULL; /* absolute: values stay whole */
    } else {
        const size_t w = dc_pq_phys_width(leaf->phys, leaf->type_length);
        v->values.data = c->values.data ? c->values.data + *vi * w : NULL;
        v->values.len = nv * w;
    }
    *vi += nv;
}

static int feed_cols(dc_pq_writer *w, void *ctx, dc_err *err)
{
    const hc_feed *f = ctx;
    const uint32_t nl = f->s->n_leaves;
    dc_pq_column *views = dc_calloc(nl, sizeof *views);
    size_t *vi = dc_calloc(nl, sizeof *vi); /* per leaf: values before the slice */
    int rc = views && vi ? 0 : dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    for (size_t row = 0; rc == 0 && row < f->n; row += HC_SLICE) {
        const size_t k = f->n - row < HC_SLICE ? f->n - row : HC_SLICE;
        for (uint32_t i = 0; i < nl; i++) {
            const bool own = f->cols[i].n_levels > 0; /* else the batch's slice, again */
            size_t zero = 0;
            view_of(&views[i], own ? &f->cols[i] : &f->fill[i], &f->s->leaves[i],
                    own ? row : 0, k, own ? &vi[i] : &zero);
        }
        rc = dc_pq_writer_write_columns(w, views, k, err);
    }
    dc_free(views);
    dc_free(vi);
    return rc;
}

int dc_mhcols_write(mfile_out *out, dc_merge_table *t, const dc_pq_column *cols, size_t n,
                    const mtyped_row *meta, dc_err *err)
{
    const dc_pq_schema *ts = t->pq_schema;
    hc_feed f = {ts, cols, dc_calloc(ts->n_leaves, sizeof *f.fill), n};
    if (!f.fill) return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < ts->n_leaves; i++) {
        dc_pq_column_init(&f.fill[i]);
        if (cols[i].n_levels) continue;
        const int which = meta_of(t, &ts->leaves[i]);
        dc_json v;
        char num[32];
        const dc_json *val = which < 0 ? NULL : meta_value(&v, num, sizeof num, which, meta);
        rc = fill_const(&f.fill[i], &ts->leaves[i], val, n < HC_SLICE ? n : HC_SLICE, err);
        if (rc < 0) dc_err_prefix(err, "column %s", ts->leaves[i].dotted);
    }
    if (rc == 0) rc = dc_merge_write_file(out, t, feed_cols, &f, n, err);
    if (rc == 0)
        DC_LOG(DC_LOG_DEBUG, "merge", "%s: new file of %zu rows written from columns", t->s->root,
               n);
    for (uint32_t i = 0; i < ts->n_leaves; i++) dc_pq_column_dispose(&f.fill[i]);
    dc_free(f.fill);
    return rc;
}
