/*
 * The add and remove rows of a checkpoint, shredded straight from the
 * snapshot's structs into the checkpoint schema's columns and handed to the
 * Parquet writer a slice at a time (dc_pq_writer_write_columns).
 *
 * Why: they are nearly every row of a checkpoint (the tombstones of a DV
 * table grow with its commits), and writing each one as JSON text, parsing it
 * back and shredding the DOM cost ~25k instructions a row, most of a
 * checkpoint's time and a large share of a small commit's. The values and
 * nulls written are exactly those of dc_delta_w_checkpoint_row_json's rows
 * (tests compare the two files row for row).
 *
 * Levels come from the schema's field tree (dc_pq_field.def_level and
 * rep_level), never written out by hand, so the code follows the schema
 * string in delta_checkpoint_write.c.
 */
#include "delta_write_int.h"

/* Rows (and string bytes) buffered before a slice goes to the writer: the
 * writer copies them into its row-group buffers, so this only bounds the
 * memory of the staging columns; offsets are uint32 so bytes stay far below. */
#define CP_COLS_SLICE_ROWS 4096
#define CP_COLS_SLICE_BYTES ((size_t)16 << 20)

/* The fields of one action struct the rows fill, found by name once. */
typedef struct cp_fields {
    const dc_pq_field *self;        /* the top-level "add" or "remove" column */
    const dc_pq_field *path;
    const dc_pq_field *pv;          /* partitionValues (map) */
    const dc_pq_field *size;
    const dc_pq_field *mtime;       /* add.modificationTime */
    const dc_pq_field *del_ts;      /* remove.deletionTimestamp */
    const dc_pq_field *data_change;
    const dc_pq_field *ext_meta;    /* remove.extendedFileMetadata */
    const dc_pq_field *stats;       /* add.stats */
    const dc_pq_field *tags;        /* add.tags (map) */
    const dc_pq_field *dv;          /* deletionVector (struct) */
    const dc_pq_field *base_row_id;
    const dc_pq_field *row_commit;  /* defaultRowCommitVersion */
    const dc_pq_field *clustering;  /* add.clusteringProvider */
} cp_fields;

struct dc_delta_cp_cols {
    dc_pq_writer *pw;          /* borrowed: where slices go */
    const dc_pq_schema *schema;/* borrowed: the writer's schema */
    dc_pq_column *cols;        /* one per leaf, the rows not yet handed over */
    size_t n_rows;             /* rows in cols */
    size_t bytes;              /* string bytes in cols */
    cp_fields add, remove;     /* the two structs rows fill */
    /* leaves outside the add (remove) column: null (level 0) in its rows,
       set without walking the field tree (most of a row's leaves) */
    uint32_t *others_add, *others_remove;
    uint32_t n_others_add, n_others_remove;
    /* DV struct members (same names under add and remove) */
    const dc_pq_field *dv_add[6], *dv_remove[6];
};

static const char *const DV_NAMES[6] = {"storageType", "pathOrInlineDv", "offset",
                                         "sizeInBytes", "cardinality", "maxRowIndex"};

/* The member `name` of a struct, or NULL. */
static const dc_pq_field *member(const dc_pq_field *f, const char *name)
{
    if (!f) return NULL;
    for (uint32_t i = 0; i < f->n_children; i++)
        if (strcmp(f->children[i].name, name) == 0) return &f->children[i];
    return NULL;
}

/* ------------------------------------------------------------ levels */

static int level(dc_delta_cp_cols *c, const dc_pq_field *f, int16_t def, int16_t rep,
                 dc_err *err)
{
    DC_ASSERT(f->leaf >= 0 && (uint32_t)f->leaf < c->schema->n_leaves);
    const dc_pq_leaf *leaf = &c->schema->leaves[f->leaf];
    dc_pq_column *col = &c->cols[f->leaf];
    DC_TRY(dc_pq_column_reserve_levels(col, 1, leaf->max_def > 0, leaf->max_rep > 0, err));
    if (leaf->max_def > 0) col->def[col->n_levels] = def;
    if (leaf->max_rep > 0) col->rep[col->n_levels] = rep;
    col->n_levels++;
    return 0;
}

/* Every leaf under f gets `def` (f or an ancestor is null, or a map empty). */
static int nulls(dc_delta_cp_cols *c, const dc_pq_field *f, int16_t def, int16_t rep,
                 dc_err *err)
{
    if (f->leaf >= 0) return level(c, f, def, rep, err);
    for (uint32_t i = 0; i < f->n_children; i++)
        DC_TRY(nulls(c, &f->children[i], def, rep, err));
    return 0;
}

/* A present value: its level, then its bytes (fixed width or BYTE_ARRAY). */
static int value(dc_delta_cp_cols *c, const dc_pq_field *f, const void *p, size_t n,
                 int16_t rep, dc_err *err)
{
    DC_TRY(level(c, f, f->def_level, rep, err));
    dc_pq_column *col = &c->cols[f->leaf];
    if (c->schema->leaves[f->leaf].phys == PQ_BYTE_ARRAY) {
        if (n > UINT32_MAX - col->values.len)
            return dc_err_set(err, DC_ELIMIT, "checkpoint: a string of %zu bytes", n);
        DC_TRY(dc_pq_column_reserve_offsets(col, 1, err));
        DC_TRY(dc_buf_append(&col->values, p, n, err));
        col->offsets[col->n_values + 1] = (uint32_t)col->values.len;
        c->bytes += n;
    } else {
        DC_TRY(dc_buf_append(&col->values, p, n, err));
    }
    col->n_values++;
    return 0;
}

static int put_str(dc_delta_cp_cols *c, const dc_pq_field *f, const char *s, int16_t rep,
                   dc_err *err)
{
    if (!s) return nulls(c, f, (int16_t)(f->def_level - 1), rep, err);
    return value(c, f, s, strlen(s), rep, err);
}

static int put_i64(dc_delta_cp_cols *c, const dc_pq_field *f, bool has, int64_t v,
                   dc_err *err)
{
    if (!has) return nulls(c, f, (int16_t)(f->def_level - 1), 0, err);
    if (c->schema->leaves[f->leaf].phys == PQ_INT32) {
        const int32_t v32 = (int32_t)v;
        DC_ASSERT(v32 == v);
        return value(c, f, &v32, sizeof v32, 0, err);
    }
    return value(c, f, &v, sizeof v, 0, err);
}

static int put_bool(dc_delta_cp_cols *c, const dc_pq_field *f, bool has, bool v, dc_err *err)
{
    if (!has) return nulls(c, f, (int16_t)(f->def_level - 1), 0, err);
    const uint8_t b = v ? 1 : 0;
    return value(c, f, &b, 1, 0, err);
}

/* map<string,string>: NULL when !has, empty map when m has no entries. */
static int put_map(dc_delta_cp_cols *c, const dc_pq_field *f, bool has, const dc_delta_map *m,
                   dc_err *err)
{
    if (!has) return nulls(c, f, (int16_t)(f->def_level - 1), 0, err);
    DC_ASSERT(f->type == DC_TYPE_MAP && f->n_children == 2);
    const dc_pq_field *k = &f->children[0], *v = &f->children[1];
    if (m->n == 0) return nulls(c, f, f->def_level, 0, err);
    for (uint32_t i = 0; i < m->n; i++) {
        const int16_t rep = i == 0 ? 0 : k->rep_level;
        DC_TRY(put_str(c, k, m->items[i].key, rep, err));
        DC_TRY(put_str(c, v, m->items[i].value, rep, err));
    }
    return 0;
}

static int put_dv(dc_delta_cp_cols *c, const dc_pq_field *f, const dc_pq_field *const m[6],
                  bool has, const dc_delta_dv_desc *dv, dc_err *err)
{
    if (!has) return nulls(c, f, (int16_t)(f->def_level - 1), 0, err);
    const char st[2] = {dv->storage_type, '\0'};
    DC_TRY(put_str(c, m[0], st, 0, err));
    DC_TRY(put_str(c, m[1], dv->path_or_inline, 0, err));
    DC_TRY(put_i64(c, m[2], dv->has_offset, dv->offset, err));
    DC_TRY(put_i64(c, m[3], true, dv->size_in_bytes, err));
    DC_TRY(put_i64(c, m[4], true, dv->cardinality, err));
    return put_i64(c, m[5], dv->has_max_row_index, dv->max_row_index, err);
}

/* ------------------------------------------------------------ rows */

/* Every top-level column except the row's own is null in this row: level 0
 * (and repetition 0) in each of their leaves. */
static int other_columns_null(dc_delta_cp_cols *c, const uint32_t *leaves, uint32_t n,
                              dc_err *err)
{
    for (uint32_t i = 0; i < n; i++) {
        const dc_pq_leaf *leaf = &c->schema->leaves[leaves[i]];
        dc_pq_column *col = &c->cols[leaves[i]];
        if (col->n_levels >= col->levels_cap || (leaf->max_def > 0 && !col->def) ||
            (leaf->max_rep > 0 && !col->rep))
            DC_TRY(dc_pq_column_reserve_levels(col, CP_COLS_SLICE_ROWS, leaf->max_def > 0,
                                               leaf->max_rep > 0, err));
        if (leaf->max_def > 0) col->def[col->n_levels] = 0;
        if (leaf->max_rep > 0) col->rep[col->n_levels] = 0;
        col->n_levels++;
    }
    return 0;
}

static int end_row(dc_delta_cp_cols *c, dc_err *err)
{
    c->n_rows++;
    if (c->n_rows >= CP_COLS_SLICE_ROWS || c->bytes >= CP_COLS_SLICE_BYTES)
        return dc_delta_cp_cols_flush(c, err);
    return 0;
}

int dc_delta_cp_cols_add(dc_delta_cp_cols *c, const dc_delta_add *a, dc_err *err)
{
    const cp_fields *f = &c->add;
    DC_TRY(other_columns_null(c, c->others_add, c->n_others_add, err));
    DC_TRY(put_str(c, f->path, a->path, 0, err));
    DC_TRY(put_map(c, f->pv, true, &a->partition_values, err));
    DC_TRY(put_i64(c, f->size, true, a->size, err));
    DC_TRY(put_i64(c, f->mtime, true, a->modification_time, err));
    DC_TRY(put_bool(c, f->data_change, true, a->data_change, err));
    DC_TRY(put_str(c, f->stats, a->stats, 0, err));
    DC_TRY(put_map(c, f->tags, a->tags.n > 0, &a->tags, err));
    DC_TRY(put_dv(c, f->dv, c->dv_add, a->has_dv, &a->dv, err));
    DC_TRY(put_i64(c, f->base_row_id, a->has_base_row_id, a->base_row_id, err));
    DC_TRY(put_i64(c, f->row_commit, a->has_default_row_commit_version,
                   a->default_row_commit_version, err));
    DC_TRY(put_str(c, f->clustering, a->clustering_provider, 0, err));
    return end_row(c, err);
}

/* As in dc_delta_w_checkpoint_row_json: no stats, no tags in a checkpoint. */
int dc_delta_cp_cols_remove(dc_delta_cp_cols *c, const dc_delta_remove *r, dc_err *err)
{
    const cp_fields *f = &c->remove;
    DC_TRY(other_columns_null(c, c->others_remove, c->n_others_remove, err));
    DC_TRY(put_str(c, f->path, r->path, 0, err));
    DC_TRY(put_i64(c, f->del_ts, r->has_deletion_timestamp, r->deletion_timestamp, err));
    DC_TRY(put_bool(c, f->data_change, true, r->data_change, err));
    DC_TRY(put_bool(c, f->ext_meta, r->extended_file_metadata, true, err));
    DC_TRY(put_map(c, f->pv, r->extended_file_metadata, &r->partition_values, err));
    DC_TRY(put_i64(c, f->size, r->has_size, r->size, err));
    DC_TRY(put_dv(c, f->dv, c->dv_remove, r->has_dv, &r->dv, err));
    DC_TRY(put_i64(c, f->base_row_id, r->has_base_row_id, r->base_row_id, err));
    DC_TRY(put_i64(c, f->row_commit, r->has_default_row_commit_version,
                   r->default_row_commit_version, err));
    return end_row(c, err);
}

int dc_delta_cp_cols_flush(dc_delta_cp_cols *c, dc_err *err)
{
    if (c->n_rows == 0) return 0;
    DC_TRY(dc_pq_writer_write_columns(c->pw, c->cols, c->n_rows, err));
    for (uint32_t i = 0; i < c->schema->n_leaves; i++) dc_pq_column_reset(&c->cols[i]);
    c->n_rows = 0;
    c->bytes = 0;
    return 0;
}

/* ------------------------------------------------------------ setup */

/* Finds the members of the "add" or "remove" column; false if one is missing
 * or the column has a member no row fills (the schema and this file drifted). */
static bool find_fields(cp_fields *f, const dc_pq_field *self, const dc_pq_field *dv[6])
{
    memset(f, 0, sizeof *f);
    if (!self || self->type != DC_TYPE_STRUCT) return false;
    const bool is_add = strcmp(self->name, "add") == 0;
    f->self = self;
    f->path = member(self, "path");
    f->pv = member(self, "partitionValues");
    f->size = member(self, "size");
    f->data_change = member(self, "dataChange");
    f->dv = member(self, "deletionVector");
    f->base_row_id = member(self, "baseRowId");
    f->row_commit = member(self, "defaultRowCommitVersion");
    const dc_pq_field *own[4];
    if (is_add) {
        own[0] = f->mtime = member(self, "modificationTime");
        own[1] = f->stats = member(self, "stats");
        own[2] = f->tags = member(self, "tags");
        own[3] = f->clustering = member(self, "clusteringProvider");
    } else {
        own[0] = f->del_ts = member(self, "deletionTimestamp");
        own[1] = f->ext_meta = member(self, "extendedFileMetadata");
        own[2] = own[3] = f->path;
    }
    for (int i = 0; i < 6; i++)
        if (!(dv[i] = member(f->dv, DV_NAMES[i])) || dv[i]->leaf < 0) return false;
    if (!f->dv || f->dv->n_children != 6) return false;
    const dc_pq_field *common[] = {f->path, f->pv, f->size, f->data_change, f->base_row_id,
                                   f->row_commit, own[0], own[1], own[2], own[3]};
    for (size_t i = 0; i < sizeof common / sizeof *common; i++)
        if (!common[i]) return false;
    return self->n_children == (is_add ? 11u : 9u);
}

/* The leaves of every top-level column but `self`, in *out (dc_calloc'd). */
static int leaves_outside(uint32_t **out, uint32_t *n_out, const dc_pq_schema *s,
                          const dc_pq_field *self, dc_err *err)
{
    *n_out = 0;
    *out = dc_calloc(s->n_leaves ? s->n_leaves : 1, sizeof **out);
    if (!*out) return dc_err_set(err, DC_ENOMEM, "checkpoint: out of memory");
    for (uint32_t i = 0; i < s->n_leaves; i++) {
        const dc_pq_leaf *leaf = &s->leaves[i];
        if (leaf->n_path > 0 && strcmp(leaf->path[0], self->name) != 0) (*out)[(*n_out)++] = i;
    }
    return 0;
}

int dc_delta_cp_cols_new(dc_delta_cp_cols **out, dc_pq_writer *pw, const dc_pq_schema *schema,
                         dc_err *err)
{
    *out = NULL;
    dc_delta_cp_cols *c = dc_calloc(1, sizeof *c);
    if (!c) return dc_err_set(err, DC_ENOMEM, "checkpoint: out of memory");
    c->pw = pw;
    c->schema = schema;
    c->cols = dc_calloc(schema->n_leaves ? schema->n_leaves : 1, sizeof *c->cols);
    if (!c->cols) {
        dc_free(c);
        return dc_err_set(err, DC_ENOMEM, "checkpoint: out of memory");
    }
    for (uint32_t i = 0; i < schema->n_leaves; i++) dc_pq_column_init(&c->cols[i]);
    if (!find_fields(&c->add, member(&schema->root, "add"), c->dv_add) ||
        !find_fields(&c->remove, member(&schema->root, "remove"), c->dv_remove)) {
        dc_delta_cp_cols_free(c);
        return dc_err_set(err, DC_EINTERNAL, "checkpoint: the schema's add/remove columns "
                          "are not the ones the column writer fills");
    }
    int rc = leaves_outside(&c->others_add, &c->n_others_add, schema, c->add.self, err);
    if (rc == 0)
        rc = leaves_outside(&c->others_remove, &c->n_others_remove, schema, c->remove.self, err);
    if (rc < 0) {
        dc_delta_cp_cols_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void dc_delta_cp_cols_free(dc_delta_cp_cols *c)
{
    if (!c) return;
    for (uint32_t i = 0; c->cols && i < c->schema->n_leaves; i++)
        dc_pq_column_dispose(&c->cols[i]);
    dc_free(c->cols);
    dc_free(c->others_add);
    dc_free(c->others_remove);
    dc_free(c);
}
