/*
 * The merge table: opening (or creating) a raw-format Delta table, checking
 * that its layout is the raw one for the configured keys, and building its
 * key index. Creation: partition-free, protocol (3,7) with deletionVectors
 * and delta.enableDeletionVectors=true for mode dv, (1,2) for cow. Typed
 * tables (format TYPED) are created and checked by merge_typed.c; the rest
 * (snapshot, index, refresh) is shared.
 */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>

static const char *const RAW_COLS[4] = {"ts_ms", "json_record", "operation_type", "offset"};

/* ------------------------------------------------------------ create */

static int put_field(dc_buf *b, const char *name, const char *type, bool first, dc_err *err)
{
    if (!first) DC_TRY(dc_buf_putc(b, ',', err));
    DC_TRY(dc_buf_puts(b, "{\"name\":", err));
    DC_TRY(dc_json_put_str(b, name, strlen(name), err));
    return dc_buf_appendf(b, err, ",\"type\":\"%s\",\"nullable\":true,\"metadata\":{}}", type);
}

static int raw_schema_json(dc_buf *b, const dc_merge_opts *o, dc_err *err)
{
    DC_TRY(dc_buf_puts(b, "{\"type\":\"struct\",\"fields\":[", err));
    for (uint32_t i = 0; i < o->keys.n; i++) {
        /* an integer key keeps its schema type (README: key types from the schema block) */
        const uint8_t w = o->key_int_bytes[i];
        const char *ty = o->key_types[i] != DC_CDC_KEY_LONG ? "string"
                       : w == 1 ? "byte" : w == 2 ? "short" : w == 4 ? "integer" : "long";
        DC_TRY(put_field(b, o->keys.names[i], ty, i == 0, err));
    }
    DC_TRY(put_field(b, "ts_ms", "long", false, err));
    DC_TRY(put_field(b, "json_record", "string", false, err));
    DC_TRY(put_field(b, "operation_type", "string", false, err));
    DC_TRY(put_field(b, "offset", "long", false, err));
    DC_TRY(dc_buf_puts(b, "]}", err));
    return dc_buf_putc(b, '\0', err);
}

static int create_table(dc_storage *s, const dc_merge_opts *o, dc_err *err)
{
    dc_buf schema;
    dc_buf_init(&schema, 1 << 20);
    int rc = raw_schema_json(&schema, o, err);
    if (rc == 0) {
        dc_delta_create_opts c;
        memset(&c, 0, sizeof c);
        c.schema_json = (const char *)schema.data;
        c.enable_dv = o->mode == DC_MERGE_DV;
        c.configuration = o->properties;
        c.n_configuration = o->n_properties;
        rc = dc_delta_table_create(s, &c, err);
        if (rc == DC_EEXISTS) { /* created by someone else meanwhile: use theirs */
            dc_err_clear(err);
            rc = 0;
        }
    }
    if (rc == 0)
        DC_LOG(DC_LOG_INFO, "merge", "%s: created a raw table (mode %s)", s->root,
               o->mode == DC_MERGE_DV ? "dv" : "cow");
    dc_buf_dispose(&schema);
    return rc;
}

static int load_or_create(dc_merge_table *t, const dc_merge_opts *o, dc_err *err)
{
    int rc = dc_delta_snapshot_load(&t->snap, t->s, -1, err);
    if (rc != DC_ENOTFOUND || !o->create_if_missing) return rc;
    dc_err_clear(err);
    if (o->format == DC_FORMAT_TYPED) DC_TRY(dc_mtyped_create(t->s, o, t->typed, err));
    else DC_TRY(create_table(t->s, o, err));
    return dc_delta_snapshot_load(&t->snap, t->s, -1, err);
}

/* ------------------------------------------------------------ layout */

static bool is_int_type(dc_type ty)
{
    return ty == DC_TYPE_LONG || ty == DC_TYPE_INT || ty == DC_TYPE_SHORT || ty == DC_TYPE_BYTE;
}

/* Role of one schema column; refuses what is not the raw layout. */
static int column_role(mcol *c, dc_merge_table *t, const dc_delta_field *f,
                       const dc_cdc_key_type *want, dc_err *err)
{
    c->name = f->name;
    c->type = f->type;
    for (uint32_t i = 0; i < t->n_keys; i++) {
        if (strcmp(f->name, t->key_names[i]) != 0) continue;
        const bool is_long = is_int_type(f->type);
        if (!is_long && f->type != DC_TYPE_STRING)
            return dc_err_set(err, DC_EINVAL, "key column '%s' must be an integer or a string",
                              f->name);
        if ((want[i] == DC_CDC_KEY_LONG) != is_long)
            return dc_err_set(err, DC_EINVAL, "key column '%s' is a %s in the table, the "
                              "events' key is a %s", f->name, is_long ? "integer" : "string",
                              want[i] == DC_CDC_KEY_LONG ? "long" : "string");
        c->role = MCOL_KEY;
        c->key_i = i;
        return 0;
    }
    for (uint32_t r = 0; r < 4; r++) {
        if (strcmp(f->name, RAW_COLS[r]) != 0) continue;
        const dc_type ty = (r == 0 || r == 3) ? DC_TYPE_LONG : DC_TYPE_STRING;
        if (f->type != ty)
            return dc_err_set(err, DC_EINVAL, "column '%s' must be a %s", f->name,
                              ty == DC_TYPE_LONG ? "long" : "string");
        c->role = (mcol_role)(MCOL_TS + r);
        return 0;
    }
    return dc_err_set(err, DC_EINVAL, "column '%s' is not part of the raw layout (keys, ts_ms, "
                      "json_record, operation_type, offset)", f->name);
}

static int check_columns(dc_merge_table *t, const dc_delta_schema *ds, const dc_cdc_key_type *want,
                         dc_err *err)
{
    bool seen[DC_CDC_MAX_KEYS + 4] = {false};
    if (ds->root.n_children > DC_CDC_MAX_KEYS + 4)
        return dc_err_set(err, DC_EINVAL, "%u columns: not the raw layout", ds->root.n_children);
    for (uint32_t i = 0; i < ds->root.n_children; i++) {
        mcol *c = &t->cols[i];
        DC_TRY(column_role(c, t, &ds->root.children[i], want, err));
        const uint32_t slot = c->role == MCOL_KEY ? c->key_i : t->n_keys + (uint32_t)c->role - 1;
        if (seen[slot]) return dc_err_set(err, DC_EINVAL, "column '%s' twice", c->name);
        seen[slot] = true;
        if (c->role == MCOL_KEY) t->key_col[c->key_i] = i;
        if (c->role == MCOL_TS) t->ts_col = i;
        if (c->role == MCOL_JSON) t->json_col = i;
        if (c->role == MCOL_OP) t->op_col = i;
        if (c->role == MCOL_OFFSET) t->off_col = i;
    }
    t->n_cols = ds->root.n_children;
    for (uint32_t i = 0; i < t->n_keys + 4; i++)
        if (!seen[i])
            return dc_err_set(err, DC_EINVAL, "column '%s' is missing",
                              i < t->n_keys ? t->key_names[i] : RAW_COLS[i - t->n_keys]);
    return 0;
}

static int check_protocol(dc_merge_table *t, dc_err *err)
{
    const dc_delta_protocol *p = dc_delta_snapshot_protocol(t->snap);
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(t->snap);
    DC_TRY(dc_delta_protocol_check_write(p, m, err));
    dc_delta_cm_mode cm = DC_DELTA_CM_NONE;
    DC_TRY(dc_delta_cm_mode_of(&cm, p, m, err));
    if (cm != DC_DELTA_CM_NONE && t->format != DC_FORMAT_TYPED)
        return dc_err_set(err, DC_EUNSUPPORTED, "the table has column mapping "
                          "(delta.columnMapping.mode); raw tables are written without it");
    if (m->n_partition_columns)
        return dc_err_set(err, DC_EUNSUPPORTED, "the table is partitioned (by '%s'); raw tables "
                          "are not", m->partition_columns[0]);
    if (t->mode != DC_MERGE_DV) return 0;
    bool found = false;
    const char *dv = dc_delta_map_get(&m->configuration, "delta.enableDeletionVectors", &found);
    if (!dc_delta_protocol_has_writer_feature(p, "deletionVectors") || !dv ||
        strcmp(dv, "true") != 0)
        return dc_err_set(err, DC_EUNSUPPORTED, "mode dv needs deletion vectors, which the table "
                          "does not enable (protocol %d/%d): use mode cow",
                          p->min_reader_version, p->min_writer_version);
    return 0;
}

/* Schema of the snapshot → columns, key types, Parquet schema. */
static int check_layout(dc_merge_table *t, const dc_cdc_key_type *want, dc_err *err)
{
    const dc_delta_schema *ds = NULL;
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(t->snap);
    const bool typed = t->format == DC_FORMAT_TYPED;
    int rc = check_protocol(t, err);
    if (rc == 0) rc = dc_delta_snapshot_schema(&ds, t->snap, err);
    if (rc == 0 && !typed) rc = check_columns(t, ds, want, err);
    for (uint32_t i = 0; rc == 0 && !typed && i < t->n_keys; i++)
        t->key_types[i] = want[i];
    dc_free(t->schema_json);
    t->schema_json = NULL;
    dc_pq_schema_free(t->pq_schema);
    t->pq_schema = NULL;
    if (rc == 0 && !(t->schema_json = dc_strdup(m->schema_string)))
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc == 0 && typed) rc = dc_mtyped_check_layout(t, ds, err);
    if (rc == 0) rc = dc_json_parse(&doc, &a, t->schema_json, strlen(t->schema_json), err);
    if (rc == 0) rc = dc_pq_schema_from_delta(&t->pq_schema, doc, err);
    if (rc == 0 && !typed) DC_ASSERT(t->pq_schema->n_leaves == t->n_cols);
    dc_arena_dispose(&a);
    return rc;
}

/* -------------------------------------------------------------- open */

static int check_opts(const dc_merge_opts *o, dc_err *err)
{
    if (o->format != DC_FORMAT_RAW && o->format != DC_FORMAT_TYPED)
        return dc_err_set(err, DC_EINVAL, "merge: unknown table format %d", (int)o->format);
    if (!o->table_uri || !o->pipeline || !*o->pipeline)
        return dc_err_set(err, DC_EINVAL, "merge: a table and a pipeline name are needed");
    if (o->keys.n < 1 || o->keys.n > DC_CDC_MAX_KEYS)
        return dc_err_set(err, DC_EINVAL, "merge: %u key columns (1..%d)", o->keys.n,
                          DC_CDC_MAX_KEYS);
    for (uint32_t i = 0; i < o->keys.n; i++) {
        const char *k = o->keys.names[i];
        if (!k || !*k) return dc_err_set(err, DC_EINVAL, "merge: key column %u has no name", i);
        for (uint32_t r = 0; o->format == DC_FORMAT_RAW && r < 4; r++)
            if (strcmp(k, RAW_COLS[r]) == 0)
                return dc_err_set(err, DC_EINVAL, "key column '%s' is a column of the raw layout",
                                  k);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(k, o->keys.names[j]) == 0)
                return dc_err_set(err, DC_EINVAL, "key column '%s' named twice", k);
    }
    return 0;
}

static int copy_opts(dc_merge_table *t, const dc_merge_opts *o, dc_err *err)
{
    t->mode = o->mode;
    t->format = o->format;
    t->n_keys = o->keys.n;
    if (o->format == DC_FORMAT_TYPED) DC_TRY(dc_mtyped_new(t, o, err));
    else { /* (ts_ms, offset), operation_type; no source position */
        t->seq_names[0] = RAW_COLS[0];
        t->seq_names[1] = RAW_COLS[3];
        t->seq_names[2] = RAW_COLS[2];
    }
    if (!(t->pipeline = dc_strdup(o->pipeline))) return dc_err_set(err, DC_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < o->keys.n; i++)
        if (!(t->key_names[i] = dc_strdup(o->keys.names[i])))
            return dc_err_set(err, DC_ENOMEM, "out of memory");
    return 0;
}

int dc_merge_table_open(dc_merge_table **out, const dc_merge_opts *o, dc_err *err)
{
    *out = NULL;
    DC_TRY(check_opts(o, err));
    dc_merge_table *t = dc_calloc(1, sizeof *t);
    if (!t) return dc_err_set(err, DC_ENOMEM, "out of memory");
    dc_mx_init(&t->index, o->keys.n == 1 && o->key_types[0] == DC_CDC_KEY_LONG);
    int rc = copy_opts(t, o, err);
    if (rc == 0) rc = dc_storage_open(&t->s, o->table_uri, err);
    if (rc == 0) rc = load_or_create(t, o, err);
    if (rc == 0) rc = check_layout(t, o->key_types, err);
    if (rc == 0 && t->format == DC_FORMAT_TYPED) { /* key types come from the table */
        dc_mx_dispose(&t->index);
        dc_mx_init(&t->index, t->n_keys == 1 && t->key_types[0] == DC_CDC_KEY_LONG);
    }
    t->persist = o->index_file;
    t->persisted_version = -1;
    if (rc == 0) rc = dc_merge_index_open(t, err);
    if (rc < 0) {
        dc_err_prefix(err, "table %s", o->table_uri);
        dc_merge_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int dc_merge_table_reload(dc_merge_table *t, dc_err *err)
{
    t->broken = true;
    dc_cdc_key_type want[DC_CDC_MAX_KEYS];
    memcpy(want, t->key_types, sizeof want);
    DC_TRY(check_layout(t, want, err));
    DC_TRY(dc_merge_index_build(t, err));
    t->broken = false;
    return 0;
}

int dc_merge_table_relayout(dc_merge_table *t, dc_err *err)
{
    dc_cdc_key_type want[DC_CDC_MAX_KEYS];
    memcpy(want, t->key_types, sizeof want);
    return check_layout(t, want, err);
}

/* Whether version v of the table exists: one look-up by name. */
static int version_exists(bool *yes, dc_merge_table *t, int64_t v, dc_err *err)
{
    char name[64];
    uint64_t size = 0;
    DC_TRY(dc_delta_commit_name(name, v));
    const int rc = dc_storage_size(t->s, name, &size, err);
    *yes = rc == 0;
    if (rc == DC_ENOTFOUND) dc_err_clear(err);
    return rc == DC_ENOTFOUND ? 0 : rc;
}

int dc_merge_table_catch_up(dc_merge_table *t, dc_err *err)
{
    if (!t->broken) {
        /* Before each batch: when the next version does not exist nobody
         * committed since the snapshot, and one look-up by name says so
         * where a listing of the log costs what the log holds. A commit
         * that lands after this look-up is caught by our put-if-absent at
         * that version and the conflict rules (dc_merge_batch_commit). */
        bool next = false;
        DC_TRY(version_exists(&next, t, dc_delta_snapshot_version(t->snap) + 1, err));
        return next ? dc_merge_table_refresh(t, -1, -1, err) : 0;
    }
    /* A snapshot whose update failed part way is not trusted: load it anew. */
    dc_delta_snapshot *snap = NULL;
    DC_TRY(dc_delta_snapshot_load(&snap, t->s, -1, err));
    dc_delta_snapshot_free(t->snap);
    t->snap = snap;
    return dc_merge_table_reload(t, err);
}

void dc_merge_table_free(dc_merge_table *t)
{
    if (!t) return;
    dc_mx_dispose(&t->index);
    dc_free(t->seqc.seqs);
    dc_mtyped_free(t->typed);
    dc_pq_schema_free(t->pq_schema);
    dc_free(t->schema_json);
    dc_delta_snapshot_free(t->snap);
    dc_storage_free(t->s);
    for (uint32_t i = 0; i < t->n_keys; i++) dc_free(t->key_names[i]);
    dc_free(t->pipeline);
    dc_free(t);
}

/* ----------------------------------------------------------- queries */

int dc_merge_app_id(dc_buf *out, const dc_merge_table *t, const char *topic, int32_t partition,
                    dc_err *err)
{
    return dc_delta_app_id(out, t->pipeline, topic, partition, err);
}

int dc_merge_resume_offset(int64_t *next_out, dc_merge_table *t, const char *topic,
                           int32_t partition, dc_err *err)
{
    *next_out = -1;
    DC_TRY(dc_merge_table_catch_up(t, err));
    dc_buf id;
    dc_buf_init(&id, 1 << 20);
    int64_t v = -1;
    int rc = dc_merge_app_id(&id, t, topic, partition, err);
    if (rc == 0 && dc_delta_snapshot_txn_version(&v, t->snap, (const char *)id.data) == 0)
        *next_out = v + 1;
    dc_buf_dispose(&id);
    return rc;
}

int dc_merge_table_reserve_keys(dc_merge_table *t, uint64_t n, dc_err *err)
{
    if (n > SIZE_MAX / 4) return dc_err_set(err, DC_ELIMIT, "key index: %" PRIu64 " keys", n);
    return dc_mx_reserve(&t->index, (size_t)n, 0, err);
}

void dc_merge_index_stats_get(dc_merge_index_stats *out, const dc_merge_table *t)
{
    out->rows = t->index.n;
    out->bytes = dc_mx_bytes(&t->index);
    out->builds = t->n_builds;
    out->rows_read = t->rows_read;
    out->loads = t->n_loads;
    out->seq_reads = t->seq_reads;
}
