/*
 * delta: the file actions (add, remove) of a Parquet checkpoint or sidecar,
 * read column by column.
 *
 * Checkpoints of big tables are mostly add rows; printing them as JSON and
 * parsing that back (the general path in delta_log.c) cost twice what the
 * columns themselves do. Here only the leaves a snapshot keeps are decoded
 * (add.stats_parsed, partitionValues_parsed and the other action columns are
 * not), and each row's action is built straight from the levels and values.
 * A checkpoint whose add/remove columns do not have the protocol's types is
 * left to the general path (dc_delta_cp_files returns DC_EUNSUPPORTED).
 */
#include "delta_int.h"

#include <stdio.h>
#include <stdlib.h>

/* One leaf being walked row by row. */
typedef struct ccol {
    bool present;          /* the file has this leaf */
    uint32_t leaf;         /* index into the schema's leaves */
    int16_t max_def;       /* definition level of a present value */
    pq_type phys;          /* physical type */
    dc_pq_column col;      /* the row group's levels and values */
    size_t li, vi;         /* next level, next value */
} ccol;

enum { F_PATH, F_PV_K, F_PV_V, F_SIZE, F_MTIME, F_DC, F_STATS, F_TAGS_K, F_TAGS_V, F_DV_ST, F_DV_PI,
       F_DV_OFF, F_DV_SIZE, F_DV_CARD, F_DV_MAX, F_BRID, F_DRCV, F_CLUST, F_DTS, F_EFM, F_N };

typedef struct field_spec {
    const char *path[3];   /* names below the action struct */
    pq_type phys;          /* expected physical type */
    bool required;         /* the fast path needs it */
} field_spec;

static const field_spec add_spec[F_N] = {
    [F_PATH] = {{"path"}, PQ_BYTE_ARRAY, true},
    [F_PV_K] = {{"partitionValues", "key"}, PQ_BYTE_ARRAY, true},
    [F_PV_V] = {{"partitionValues", "value"}, PQ_BYTE_ARRAY, true},
    [F_SIZE] = {{"size"}, PQ_INT64, true},
    [F_MTIME] = {{"modificationTime"}, PQ_INT64, true},
    [F_DC] = {{"dataChange"}, PQ_BOOLEAN, true},
    [F_STATS] = {{"stats"}, PQ_BYTE_ARRAY, true},
    [F_TAGS_K] = {{"tags", "key"}, PQ_BYTE_ARRAY, false},
    [F_TAGS_V] = {{"tags", "value"}, PQ_BYTE_ARRAY, false},
    [F_DV_ST] = {{"deletionVector", "storageType"}, PQ_BYTE_ARRAY, false},
    [F_DV_PI] = {{"deletionVector", "pathOrInlineDv"}, PQ_BYTE_ARRAY, false},
    [F_DV_OFF] = {{"deletionVector", "offset"}, PQ_INT32, false},
    [F_DV_SIZE] = {{"deletionVector", "sizeInBytes"}, PQ_INT32, false},
    [F_DV_CARD] = {{"deletionVector", "cardinality"}, PQ_INT64, false},
    [F_DV_MAX] = {{"deletionVector", "maxRowIndex"}, PQ_INT64, false},
    [F_BRID] = {{"baseRowId"}, PQ_INT64, false},
    [F_DRCV] = {{"defaultRowCommitVersion"}, PQ_INT64, false},
    [F_CLUST] = {{"clusteringProvider"}, PQ_BYTE_ARRAY, false},
};

static const field_spec remove_spec[F_N] = {
    [F_PATH] = {{"path"}, PQ_BYTE_ARRAY, true},
    [F_DTS] = {{"deletionTimestamp"}, PQ_INT64, false},
    [F_DC] = {{"dataChange"}, PQ_BOOLEAN, true},
    [F_EFM] = {{"extendedFileMetadata"}, PQ_BOOLEAN, false},
    [F_PV_K] = {{"partitionValues", "key"}, PQ_BYTE_ARRAY, false},
    [F_PV_V] = {{"partitionValues", "value"}, PQ_BYTE_ARRAY, false},
    [F_SIZE] = {{"size"}, PQ_INT64, false},
    [F_DV_ST] = {{"deletionVector", "storageType"}, PQ_BYTE_ARRAY, false},
    [F_DV_PI] = {{"deletionVector", "pathOrInlineDv"}, PQ_BYTE_ARRAY, false},
    [F_DV_OFF] = {{"deletionVector", "offset"}, PQ_INT32, false},
    [F_DV_SIZE] = {{"deletionVector", "sizeInBytes"}, PQ_INT32, false},
    [F_DV_CARD] = {{"deletionVector", "cardinality"}, PQ_INT64, false},
    [F_DV_MAX] = {{"deletionVector", "maxRowIndex"}, PQ_INT64, false},
    [F_BRID] = {{"baseRowId"}, PQ_INT64, false},
    [F_DRCV] = {{"defaultRowCommitVersion"}, PQ_INT64, false},
};

static const dc_pq_field *child(const dc_pq_field *f, const char *name)
{
    for (uint32_t i = 0; f && i < f->n_children; i++)
        if (strcmp(f->children[i].name, name) == 0) return &f->children[i];
    return NULL;
}

/* Finds the leaf of spec below `action`; maps go through their key/value. */
static const dc_pq_field *find_leaf(const dc_pq_field *action, const field_spec *sp)
{
    const dc_pq_field *f = action;
    for (int k = 0; k < 3 && sp->path[k] && f; k++) {
        if (f->type == DC_TYPE_MAP) {
            f = strcmp(sp->path[k], "key") == 0 ? &f->children[0] : &f->children[1];
        } else {
            f = child(f, sp->path[k]);
        }
    }
    return f && f->leaf >= 0 ? f : NULL;
}

/* Maps each spec to a leaf; DC_EUNSUPPORTED when the layout is not the protocol's. */
static int bind(ccol *cols, const dc_pq_schema *s, const dc_pq_field *action,
                const field_spec *spec, dc_err *err)
{
    for (int i = 0; i < F_N; i++) {
        cols[i].present = false;
        if (!spec[i].path[0]) continue;
        const dc_pq_field *f = find_leaf(action, &spec[i]);
        if (f) {
            const dc_pq_leaf *lf = &s->leaves[f->leaf];
            if (lf->phys != spec[i].phys) f = NULL;
            else {
                cols[i].present = true;
                cols[i].leaf = (uint32_t)f->leaf;
                cols[i].max_def = lf->max_def;
                cols[i].phys = lf->phys;
            }
        }
        if (!f && spec[i].required)
            return dc_err_set(err, DC_EUNSUPPORTED, "checkpoint: %s.%s has an unexpected layout",
                              action->name, spec[i].path[0]);
    }
    /* A map is read through both of its leaves or not at all. */
    const int pairs[][2] = {{F_PV_K, F_PV_V}, {F_TAGS_K, F_TAGS_V}};
    for (size_t i = 0; i < 2; i++) {
        if (cols[pairs[i][0]].present != cols[pairs[i][1]].present) {
            if (spec[pairs[i][0]].required)
                return dc_err_set(err, DC_EUNSUPPORTED, "checkpoint: %s map has an unexpected "
                                  "layout", action->name);
            cols[pairs[i][0]].present = cols[pairs[i][1]].present = false;
        }
    }
    return 0;
}

/* ------------------------------------------------------- level walking */

static int short_col(const ccol *c, dc_err *err)
{
    return dc_err_set(err, DC_ECORRUPT, "checkpoint: column %u has fewer levels or values than "
                      "rows", c->leaf);
}

/* Definition level of the next level of a flat (non-repeated) column. */
static int next_def(ccol *c, int16_t *def, dc_err *err)
{
    if (c->li >= c->col.n_levels) return short_col(c, err);
    *def = c->col.def ? c->col.def[c->li] : c->max_def;
    c->li++;
    return 0;
}

/* Next value of a flat column: *present false when null. */
static int flat_bytes(ccol *c, const char **p, size_t *n, bool *present, dc_err *err)
{
    int16_t def = 0;
    *present = false;
    if (!c->present) return 0;
    DC_TRY(next_def(c, &def, err));
    if (def < c->max_def) return 0;
    if (c->vi >= c->col.n_values) return short_col(c, err);
    const uint32_t a = c->col.offsets[c->vi], b = c->col.offsets[c->vi + 1];
    if (b < a || b > c->col.values.len) return short_col(c, err);
    *n = b - a;
    *p = *n ? (const char *)c->col.values.data + a : "";  /* an empty string may have no buffer */
    c->vi++;
    *present = true;
    return 0;
}

static int flat_fixed(ccol *c, int64_t *v, bool *present, dc_err *err)
{
    int16_t def = 0;
    *present = false;
    if (!c->present) return 0;
    DC_TRY(next_def(c, &def, err));
    if (def < c->max_def) return 0;
    const size_t w = c->phys == PQ_INT64 ? 8 : c->phys == PQ_INT32 ? 4 : 1;
    if (c->vi >= c->col.n_values || (c->vi + 1) * w > c->col.values.len) return short_col(c, err);
    const uint8_t *d = c->col.values.data + c->vi * w;
    *v = w == 8 ? (int64_t)dc_load_le64(d) : w == 4 ? (int32_t)dc_load_le32(d) : (d[0] != 0);
    c->vi++;
    *present = true;
    return 0;
}

/* NUL-terminated copy in the row arena. */
static const char *dup(dc_arena *a, const char *p, size_t n, dc_err *err)
{
    return dc_arena_strndup(a, p, n, err);
}

static int flat_str(ccol *c, dc_arena *a, const char **out, dc_err *err)
{
    const char *p = NULL;
    size_t n = 0;
    bool present;
    *out = NULL;
    DC_TRY(flat_bytes(c, &p, &n, &present, err));
    if (present && !(*out = dup(a, p, n, err))) return err ? err->code : DC_ENOMEM;
    return 0;
}

/* One row of a map<string,string>: the key and value leaves walk together. */
static int map_row(ccol *k, ccol *v, dc_arena *a, dc_delta_map *out, dc_err *err)
{
    out->n = 0;
    out->items = NULL;
    if (!k->present || !v->present) return 0;
    size_t cap = 0;
    for (bool first = true;; first = false) {
        if (k->li >= k->col.n_levels || v->li >= v->col.n_levels) {
            if (first) return short_col(k, err);
            break;
        }
        if (!first && (!k->col.rep || k->col.rep[k->li] == 0)) break;  /* next row starts */
        const char *kp = NULL, *vp = NULL;
        size_t kn = 0, vn = 0;
        bool kpres, vpres;
        DC_TRY(flat_bytes(k, &kp, &kn, &kpres, err));
        DC_TRY(flat_bytes(v, &vp, &vn, &vpres, err));
        if (!kpres) continue;  /* null or empty map: one level, no entry */
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            dc_delta_kv *items = dc_arena_alloc(a, nc * sizeof *items, err);
            if (!items) return err ? err->code : DC_ENOMEM;
            if (out->n) memcpy(items, out->items, out->n * sizeof *items);
            out->items = items;
            cap = nc;
        }
        dc_delta_kv *kv = &out->items[out->n++];
        if (!(kv->key = dup(a, kp, kn, err))) return err ? err->code : DC_ENOMEM;
        kv->value = NULL;
        if (vpres && !(kv->value = dup(a, vp, vn, err))) return err ? err->code : DC_ENOMEM;
    }
    return 0;
}

/* --------------------------------------------------------- row building */

typedef struct cctx {
    const char *file;      /* for messages */
    uint64_t row;          /* row in the file */
    const char *action;    /* "add" / "remove" */
} cctx;

static int row_error(const cctx *x, const char *what, dc_err *err)
{
    return dc_err_set(err, DC_ECORRUPT, "%s: row %llu: %s.%s", x->file,
                      (unsigned long long)x->row, x->action, what);
}

/* The deletionVector columns of one row (all advanced, present or not). */
static int row_dv(const cctx *x, ccol *c, dc_arena *a, bool *has, dc_delta_dv_desc *dv, dc_err *err)
{
    const char *st = NULL;
    int64_t off = 0, size = 0, card = 0, max = 0;
    bool has_off, has_size, has_card;
    memset(dv, 0, sizeof *dv);
    DC_TRY(flat_str(&c[F_DV_ST], a, &st, err));
    DC_TRY(flat_str(&c[F_DV_PI], a, &dv->path_or_inline, err));
    DC_TRY(flat_fixed(&c[F_DV_OFF], &off, &has_off, err));
    DC_TRY(flat_fixed(&c[F_DV_SIZE], &size, &has_size, err));
    DC_TRY(flat_fixed(&c[F_DV_CARD], &card, &has_card, err));
    DC_TRY(flat_fixed(&c[F_DV_MAX], &max, &dv->has_max_row_index, err));
    *has = st != NULL;
    if (!*has) return 0;
    if (strlen(st) != 1 || !strchr("uip", st[0]))
        return dc_err_set(err, DC_EUNSUPPORTED, "%s: row %llu: %s.deletionVector.storageType '%s' "
                          "is not one of u, i, p", x->file, (unsigned long long)x->row, x->action, st);
    if (!dv->path_or_inline) return row_error(x, "deletionVector.pathOrInlineDv missing", err);
    if (!has_size || size < 0 || !has_card || card < 0 || (has_off && off < 0))
        return row_error(x, "deletionVector sizes missing or negative", err);
    dv->storage_type = st[0];
    dv->has_offset = has_off;
    dv->offset = (int32_t)off;
    dv->size_in_bytes = (int32_t)size;
    dv->cardinality = card;
    dv->max_row_index = max;
    return 0;
}

/* One row's add columns; out->type stays NONE when the row has no add. */
static int row_add(const cctx *x, ccol *c, dc_arena *a, dc_delta_action *out, dc_err *err)
{
    dc_delta_add *d = &out->u.add;
    bool has_size, has_mtime, has_dc, dcv = false;
    int64_t v = 0;
    memset(out, 0, sizeof *out);
    DC_TRY(flat_str(&c[F_PATH], a, &d->path, err));
    DC_TRY(map_row(&c[F_PV_K], &c[F_PV_V], a, &d->partition_values, err));
    DC_TRY(flat_fixed(&c[F_SIZE], &d->size, &has_size, err));
    DC_TRY(flat_fixed(&c[F_MTIME], &d->modification_time, &has_mtime, err));
    DC_TRY(flat_fixed(&c[F_DC], &v, &has_dc, err));
    dcv = v != 0;
    DC_TRY(flat_str(&c[F_STATS], a, &d->stats, err));
    DC_TRY(map_row(&c[F_TAGS_K], &c[F_TAGS_V], a, &d->tags, err));
    DC_TRY(row_dv(x, c, a, &d->has_dv, &d->dv, err));
    DC_TRY(flat_fixed(&c[F_BRID], &d->base_row_id, &d->has_base_row_id, err));
    DC_TRY(flat_fixed(&c[F_DRCV], &d->default_row_commit_version,
                      &d->has_default_row_commit_version, err));
    DC_TRY(flat_str(&c[F_CLUST], a, &d->clustering_provider, err));
    if (!d->path) {
        /* a row of another action: every other add column must be null too */
        if (has_size || has_mtime || d->stats || d->has_dv)
            return row_error(x, "path missing", err);
        return 0;
    }
    if (!has_size || d->size < 0) return row_error(x, "size missing or negative", err);
    if (!has_mtime) return row_error(x, "modificationTime missing", err);
    if (!has_dc) return row_error(x, "dataChange missing", err);
    d->data_change = dcv;
    out->type = DC_DELTA_ACTION_ADD;
    return 0;
}

static int row_remove(const cctx *x, ccol *c, dc_arena *a, dc_delta_action *out, dc_err *err)
{
    dc_delta_remove *d = &out->u.remove;
    bool has_dc, has_efm;
    int64_t dcv = 0, efm = 0;
    memset(out, 0, sizeof *out);
    DC_TRY(flat_str(&c[F_PATH], a, &d->path, err));
    DC_TRY(flat_fixed(&c[F_DTS], &d->deletion_timestamp, &d->has_deletion_timestamp, err));
    DC_TRY(flat_fixed(&c[F_DC], &dcv, &has_dc, err));
    DC_TRY(flat_fixed(&c[F_EFM], &efm, &has_efm, err));
    DC_TRY(map_row(&c[F_PV_K], &c[F_PV_V], a, &d->partition_values, err));
    DC_TRY(flat_fixed(&c[F_SIZE], &d->size, &d->has_size, err));
    DC_TRY(row_dv(x, c, a, &d->has_dv, &d->dv, err));
    DC_TRY(flat_fixed(&c[F_BRID], &d->base_row_id, &d->has_base_row_id, err));
    DC_TRY(flat_fixed(&c[F_DRCV], &d->default_row_commit_version,
                      &d->has_default_row_commit_version, err));
    if (!d->path) {
        if (has_dc || d->has_deletion_timestamp || d->has_dv) return row_error(x, "path missing", err);
        return 0;
    }
    if (!has_dc) return row_error(x, "dataChange missing", err);
    d->data_change = dcv != 0;
    d->extended_file_metadata = efm != 0;
    out->type = DC_DELTA_ACTION_REMOVE;
    return 0;
}

/* ------------------------------------------------------------- driver */

typedef struct cset {
    bool on;               /* the file has this action column */
    ccol cols[F_N];
} cset;

static int read_cols(cset *cs, dc_pq_reader *r, uint32_t rg, dc_err *err)
{
    for (int i = 0; cs->on && i < F_N; i++) {
        ccol *c = &cs->cols[i];
        c->li = c->vi = 0;
        if (c->present) DC_TRY(dc_pq_reader_read_column(&c->col, r, rg, c->leaf, err));
    }
    return 0;
}

static void cset_dispose(cset *cs)
{
    for (int i = 0; i < F_N; i++) dc_pq_column_dispose(&cs->cols[i].col);
}

static int each_row(cset *add, cset *rem, int64_t rows, uint64_t base, const char *file,
                    dc_arena *a, dc_delta_action_fn fn, void *ctx, dc_err *err)
{
    for (int64_t i = 0; i < rows; i++) {
        cctx x = {file, base + (uint64_t)i, "add"};
        dc_delta_action act;
        if (add->on) {
            DC_TRY(row_add(&x, add->cols, a, &act, err));
            if (act.type != DC_DELTA_ACTION_NONE) DC_TRY(fn(ctx, &act, err));
        }
        if (rem->on) {
            x.action = "remove";
            DC_TRY(row_remove(&x, rem->cols, a, &act, err));
            if (act.type != DC_DELTA_ACTION_NONE) DC_TRY(fn(ctx, &act, err));
        }
        if (a->used > ((size_t)4 << 20)) dc_arena_reset(a);
    }
    return 0;
}

int dc_delta_cp_files(dc_pq_reader *r, const char *file, dc_delta_action_fn fn, void *ctx,
                      dc_err *err)
{
    const dc_pq_schema *s = dc_pq_reader_schema(r);
    const pq_file_meta *m = dc_pq_reader_meta(r);
    const dc_pq_field *fa = child(&s->root, "add"), *fr = child(&s->root, "remove");
    cset *add = dc_calloc(2, sizeof *add), *rem = add ? add + 1 : NULL;
    dc_arena a;
    dc_arena_init(&a, (size_t)64 << 20);
    int rc = add ? 0 : dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc == 0 && fa && fa->type == DC_TYPE_STRUCT) {
        add->on = true;
        rc = bind(add->cols, s, fa, add_spec, err);
    }
    if (rc == 0 && fr && fr->type == DC_TYPE_STRUCT) {
        rem->on = true;
        rc = bind(rem->cols, s, fr, remove_spec, err);
    }
    for (int i = 0; add && i < F_N; i++) {
        dc_pq_column_init(&add->cols[i].col);
        dc_pq_column_init(&rem->cols[i].col);
    }
    uint64_t base = 0;
    for (uint32_t rg = 0; rc == 0 && rg < m->n_row_groups; rg++) {
        rc = read_cols(add, r, rg, err);
        if (rc == 0) rc = read_cols(rem, r, rg, err);
        if (rc == 0) rc = each_row(add, rem, m->row_groups[rg].num_rows, base, file, &a, fn, ctx, err);
        base += (uint64_t)m->row_groups[rg].num_rows;
    }
    if (add) {
        cset_dispose(add);
        cset_dispose(rem);
    }
    dc_free(add);
    dc_arena_dispose(&a);
    return rc;
}
