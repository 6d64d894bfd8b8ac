/*
 * A typed batch's new rows as columns (mtcols): the insert path of typed
 * ingest without JSON text. The batch keeps each winner's values in stored
 * form (dc_cdc_typed_values_decoded, merge_batch.c) instead of the JSON
 * members of dc_cdc_typed_members; here they go straight into one column per
 * leaf of the file's schema (dc_cdc_typed_values_put), the metadata columns
 * beside them, nulls where the row has no value, and the columns into the
 * writer a slice at a time (dc_pq_writer_write_columns). Formatting each
 * row as JSON text and parsing it back was about 40% of a typed run's
 * instructions (callgrind, bench/ingest_file --format typed).
 *
 * The values land as the writer stores the JSON form of the same row, so
 * the files hold the same values as the JSON path writes (byte for byte
 * within a row group; a file past the writer's row-group size may split its
 * row groups elsewhere). A record's columns find their leaves by the name
 * the row's member would carry (dc_cdc_tcol_ident); a column the file's
 * schema lacks is left out when the batch dropped columns in place (as
 * dc_mcolmap_strip leaves it out of a JSON row) and an error otherwise, and
 * a leaf must hold the column's type or a widening of it.
 */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>

/* Record column sets remembered per batch (a batch rarely sees more than one). */
#define MTC_MAPS 8

/* Where one record column set's values go. */
typedef struct mtc_map {
    const dc_cdc_tschema *cols; /* the events' columns (held by the batch) */
    int32_t *leaf_of;           /* per column: its leaf in the file's schema, -1: left out */
} mtc_map;

struct mtcols {
    const dc_merge_table *t;    /* the table (its typed layout) */
    const dc_pq_schema *s;      /* the file's schema (t->pq_schema while it is written) */
    bool strip;                 /* columns missing from s are left out (dropped in place) */
    dc_pq_column *cols;         /* per leaf: the rows added since the last flush */
    bool *filled;               /* per leaf: the current row has a value or null there */
    int32_t meta_leaf[MT_N];    /* per metadata column: its leaf, -1: none */
    mtc_map maps[MTC_MAPS];     /* column sets seen, oldest replaced first when full */
    uint32_t n_maps, next_map;  /* maps used; the one replaced next */
    size_t n;                   /* rows in cols */
};

/* The top-level field named `name` (a flat leaf), or -1. */
static int32_t leaf_named(const dc_pq_schema *s, const char *name)
{
    for (uint32_t i = 0; i < s->root.n_children; i++)
        if (strcmp(s->root.children[i].name, name) == 0) return s->root.children[i].leaf;
    return -1;
}

int dc_mtcols_new(mtcols **out, const dc_merge_table *t, bool strip, dc_err *err)
{
    const dc_pq_schema *s = t->pq_schema;
    mtcols *c = dc_calloc(1, sizeof *c);
    if (c) c->cols = dc_calloc(s->n_leaves ? s->n_leaves : 1, sizeof *c->cols);
    if (c && c->cols) c->filled = dc_calloc(s->n_leaves ? s->n_leaves : 1, sizeof *c->filled);
    if (!c || !c->filled) {
        dc_mtcols_free(c);
        return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    }
    c->t = t;
    c->s = s;
    c->strip = strip;
    for (uint32_t i = 0; i < s->n_leaves; i++) dc_pq_column_init(&c->cols[i]);
    for (int i = 0; i < MT_N; i++)
        c->meta_leaf[i] = i == MT_DEL && !t->typed->soft_deletes
                              ? -1 : leaf_named(s, t->typed->meta[i]);
    *out = c;
    return 0;
}

void dc_mtcols_free(mtcols *c)
{
    if (!c) return;
    for (uint32_t i = 0; c->cols && i < c->s->n_leaves; i++) dc_pq_column_dispose(&c->cols[i]);
    for (uint32_t i = 0; i < c->n_maps; i++) dc_free(c->maps[i].leaf_of);
    dc_free(c->cols);
    dc_free(c->filled);
    dc_free(c);
}

size_t dc_mtcols_rows(const mtcols *c)
{
    return c->n;
}

static bool is_int(dc_type ty)
{
    return ty == DC_TYPE_BYTE || ty == DC_TYPE_SHORT || ty == DC_TYPE_INT || ty == DC_TYPE_LONG;
}

/* Whether leaf holds column c's values: its type, or a widening the table
 * follows (dc_mtyped_compare: integers, float to double, decimal precision). */
static bool leaf_fits(const dc_pq_leaf *leaf, const dc_cdc_tcol *c)
{
    const dc_pq_field *f = leaf->field;
    if (leaf->max_rep > 0 || leaf->n_path != 1) return false;
    if (f->type == c->type)
        return c->type != DC_TYPE_DECIMAL || (f->precision >= c->precision && f->scale == c->scale);
    return (is_int(f->type) && is_int(c->type)) ||
           (f->type == DC_TYPE_DOUBLE && c->type == DC_TYPE_FLOAT);
}

/* The leaves of a column set in the file's schema (made on first use). */
static int map_of(const int32_t **out, mtcols *c, const dc_cdc_tschema *cols, dc_err *err)
{
    for (uint32_t i = 0; i < c->n_maps; i++)
        if (c->maps[i].cols == cols) return *out = c->maps[i].leaf_of, 0;
    const uint32_t n = dc_cdc_tschema_ncols(cols);
    int32_t *leaf_of = dc_calloc(n ? n : 1, sizeof *leaf_of);
    if (!leaf_of) return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    for (uint32_t i = 0; i < n; i++) {
        const dc_cdc_tcol *col = dc_cdc_tschema_col(cols, i);
        leaf_of[i] = leaf_named(c->s, dc_cdc_tcol_ident(col));
        if (leaf_of[i] < 0 && !c->strip) {
            dc_free(leaf_of);
            return dc_err_set(err, DC_EINVAL, "column '%s' of the record is not a column of the "
                              "table", col->name);
        }
        if (leaf_of[i] >= 0 && !leaf_fits(&c->s->leaves[leaf_of[i]], col)) {
            dc_free(leaf_of);
            return dc_err_set(err, DC_EINVAL, "column '%s' of the record does not fit the "
                              "table's column of that name (its type changed meanwhile)",
                              col->name);
        }
    }
    mtc_map *m = &c->maps[c->n_maps < MTC_MAPS ? c->n_maps++ : c->next_map++ % MTC_MAPS];
    dc_free(m->leaf_of); /* NULL in a slot not used before */
    *m = (mtc_map){cols, leaf_of};
    *out = leaf_of;
    return 0;
}

/* A null in any leaf (flat or below a struct or array): the top-level
 * column is null, which every column of a typed table may be. */
static int put_null(dc_pq_column *col, const dc_pq_leaf *leaf, dc_err *err)
{
    if (leaf->max_def == 0)
        return dc_err_set(err, DC_EINVAL, "column %s is required: no null can go in it",
                          leaf->dotted);
    DC_TRY(dc_pq_column_reserve_levels(col, 1, true, leaf->max_rep > 0, err));
    col->def[col->n_levels] = 0;
    if (leaf->max_rep > 0) col->rep[col->n_levels] = 0;
    col->n_levels++;
    return 0;
}

/* The metadata columns' values of row r (dc_mtyped_row's, stored). */
static int put_meta(mtcols *c, const mtyped_row *r, dc_err *err)
{
    for (int i = 0; i < MT_N; i++) {
        const int32_t l = c->meta_leaf[i];
        if (l < 0) continue;
        dc_pq_column *col = &c->cols[l];
        const dc_pq_leaf *leaf = &c->s->leaves[l];
        c->filled[l] = true;
        switch (i) {
        case MT_OP: DC_TRY(dc_pq_column_put_bytes(col, leaf, &r->op, 1, err)); break;
        case MT_TS:
            DC_TRY(r->has_ts ? dc_pq_column_put_i64(col, leaf, r->ts, err)
                             : put_null(col, leaf, err));
            break;
        case MT_OFF: DC_TRY(dc_pq_column_put_i64(col, leaf, r->offset, err)); break;
        case MT_POS:
            DC_TRY(r->pos ? dc_pq_column_put_bytes(col, leaf, r->pos, r->pos_len, err)
                          : put_null(col, leaf, err));
            break;
        default: DC_TRY(dc_pq_column_put_bool(col, leaf, r->op == 'd', err)); break;
        }
    }
    return 0;
}

int dc_mtcols_add(mtcols *c, const mtyped_row *r, dc_err *err)
{
    const uint32_t nl = c->s->n_leaves;
    const int32_t *leaf_of = NULL;
    memset(c->filled, 0, nl * sizeof *c->filled);
    int rc = map_of(&leaf_of, c, r->cols, err);
    if (rc == 0)
        rc = dc_cdc_typed_values_put(c->cols, c->s->leaves, leaf_of, c->filled, r->cols,
                                     (const uint8_t *)r->image, r->image_len, err);
    if (rc == 0) rc = put_meta(c, r, err);
    for (uint32_t i = 0; rc == 0 && i < nl; i++)
        if (!c->filled[i]) rc = put_null(&c->cols[i], &c->s->leaves[i], err);
    if (rc < 0) return rc; /* the columns are left uneven: the file is not written */
    c->n++;
    return 0;
}

int dc_mtcols_flush(mtcols *c, dc_pq_writer *w, dc_err *err)
{
    if (c->n == 0) return 0;
    const int rc = dc_pq_writer_write_columns(w, c->cols, c->n, err);
    for (uint32_t i = 0; i < c->s->n_leaves; i++) dc_pq_column_reset(&c->cols[i]);
    c->n = 0;
    return rc;
}
