/*
 * Typed tables (issue 9, the table half): the layout, creating a table from
 * a record's Debezium schema block, checking an existing one, the rows
 * written for winning events, the source position as a sequence, and
 * schema changes. Decoding (schema block → column types, image → row in the
 * Parquet writer's JSON conventions, source positions) is src/cdc's.
 *
 * Layout: the source columns in source order (types from the schema block,
 * dc_cdc_tcol_delta_json), then <prefix>op (string c/u/r/d),
 * <prefix>ts_ms (long), <prefix>offset (long), <prefix>source_pos (string,
 * dc_cdc_srcpos_format) and, with soft deletes, <prefix>deleted (boolean).
 * Columns a later schema block adds go after these (Delta schema evolution
 * appends; readers match columns by name). The key columns are named in the
 * table property deltacdc.key ("a,b"), so a restarted pipeline finds them.
 *
 * Sequence. An event whose payload.source has a binlog position ranks by it
 * (file number, position, snapshot before stream, row: dc_cdc_srcpos_cmp),
 * encoded into the index's two int64s (pos_seq below); an event without one
 * ranks by (ts_ms, offset) as raw tables do. A binlog file number is far
 * below any ts_ms, so a table should get one kind or the other: a stream
 * that mixes them ranks every positioned event below every unpositioned one.
 *
 * What holds for deletes (hard, the default). The deleted row is removed;
 * the index keeps the key with the delete's sequence and no row
 * (MX_FILE_NONE), so within one process an older event for that key (late,
 * or repeated) is stale. Across restarts the index is rebuilt from the
 * table's rows and deleted keys are gone from it; what stops Debezium's
 * repeats there is the watermark: every commit records, per topic-partition,
 * the greatest source position it applied (txn appIds "<appId>#pos.hi" and
 * "#pos.lo", kept by checkpoints like every txn), and an event whose position
 * is below its partition's watermark is a repeat (Debezium writes one
 * partition in binlog order), skipped and counted. Not covered: after a
 * restart, an event WITHOUT a source position that is older than a delete
 * committed before the restart re-creates the row (soft_deletes: true keeps
 * the deleted row and with it its sequence, which covers that too).
 */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>

static const char *const META_NAMES[MT_N] = {"op", "ts_ms", "offset", "source_pos", "deleted"};

int dc_mtyped_new(dc_merge_table *t, const dc_merge_opts *o, dc_err *err)
{
    mtyped *m = dc_calloc(1, sizeof *m);
    if (!m) return dc_err_set(err, DC_ENOMEM, "out of memory");
    t->typed = m;
    m->soft_deletes = o->typed.soft_deletes;
    m->types = o->typed.types;
    m->schemalog = o->typed.schema_changes;
    const char *prefix = o->typed.meta_prefix ? o->typed.meta_prefix : "__";
    dc_cdc_tschema_cache_init(&m->cache, &m->types);
    dc_buf_init(&m->key_scratch, DC_MERGE_MAX_KEY_BYTES);
    dc_buf_init(&m->meta_keys, MT_N * ((size_t)DC_CDC_MAX_COLUMN_NAME * 6 + 4));
    for (uint32_t i = 0; i < MT_N; i++) {
        const size_t n = strlen(prefix) + strlen(META_NAMES[i]) + 1;
        if (!(m->meta[i] = dc_malloc(n))) return dc_err_set(err, DC_ENOMEM, "out of memory");
        snprintf(m->meta[i], n, "%s%s", prefix, META_NAMES[i]);
        m->meta_key_at[i] = (uint32_t)m->meta_keys.len;
        DC_TRY(dc_json_put_str(&m->meta_keys, m->meta[i], n - 1, err));
        DC_TRY(dc_buf_putc(&m->meta_keys, ':', err));
    }
    m->meta_key_at[MT_N] = (uint32_t)m->meta_keys.len;
    t->seq_names[0] = m->meta[MT_TS];
    t->seq_names[1] = m->meta[MT_OFF];
    t->seq_names[2] = m->meta[MT_OP];
    t->seq_names[3] = m->meta[MT_POS];
    for (uint32_t i = 0; i < o->keys.n; i++)
        for (uint32_t j = 0; j < MT_N; j++)
            if (strcmp(o->keys.names[i], m->meta[j]) == 0)
                return dc_err_set(err, DC_EINVAL, "key column '%s' is a metadata column of the "
                                  "typed layout (set another meta_prefix)", m->meta[j]);
    return 0;
}

void dc_mtyped_free(mtyped *m)
{
    if (!m) return;
    for (uint32_t i = 0; i < MT_N; i++) dc_free(m->meta[i]);
    dc_cdc_tschema_free(m->cols);
    dc_cdc_tschema_cache_dispose(&m->cache);
    dc_buf_dispose(&m->key_scratch);
    dc_buf_dispose(&m->meta_keys);
    dc_free(m);
}

/* ------------------------------------------------------------ schema */

static int put_meta_field(dc_buf *b, const char *name, const char *type, dc_err *err)
{
    DC_TRY(dc_buf_puts(b, ",{\"name\":", err));
    DC_TRY(dc_json_put_str(b, name, strlen(name), err));
    return dc_buf_appendf(b, err, ",\"type\":\"%s\",\"nullable\":true,\"metadata\":{}}", type);
}

/* The metadata columns' StructFields, each after a comma. */
static int meta_fields_json(dc_buf *b, const mtyped *m, dc_err *err)
{
    DC_TRY(put_meta_field(b, m->meta[MT_OP], "string", err));
    DC_TRY(put_meta_field(b, m->meta[MT_TS], "long", err));
    DC_TRY(put_meta_field(b, m->meta[MT_OFF], "long", err));
    DC_TRY(put_meta_field(b, m->meta[MT_POS], "string", err));
    if (m->soft_deletes) DC_TRY(put_meta_field(b, m->meta[MT_DEL], "boolean", err));
    return 0;
}

/* Delta's name of a type (messages). */
static const char *mt_type_name(dc_type ty)
{
    static const char *const names[] = {
        [DC_TYPE_BOOLEAN] = "boolean", [DC_TYPE_BYTE] = "byte", [DC_TYPE_SHORT] = "short",
        [DC_TYPE_INT] = "integer", [DC_TYPE_LONG] = "long", [DC_TYPE_FLOAT] = "float",
        [DC_TYPE_DOUBLE] = "double", [DC_TYPE_STRING] = "string", [DC_TYPE_BINARY] = "binary",
        [DC_TYPE_DECIMAL] = "decimal", [DC_TYPE_DATE] = "date",
        [DC_TYPE_TIMESTAMP] = "timestamp", [DC_TYPE_TIMESTAMP_NTZ] = "timestamp_ntz",
        [DC_TYPE_STRUCT] = "struct", [DC_TYPE_ARRAY] = "array", [DC_TYPE_MAP] = "map"};
    return (size_t)ty < sizeof names / sizeof *names && names[ty] ? names[ty] : "(other)";
}

static bool is_int_type(dc_type ty)
{
    return ty == DC_TYPE_LONG || ty == DC_TYPE_INT || ty == DC_TYPE_SHORT || ty == DC_TYPE_BYTE;
}

/* A key column's index type from its Delta type: integers, dates (days),
 * timestamps (µs) and decimals of up to 18 digits (the unscaled value, the
 * INT32/INT64 of their Parquet column) are LONG; strings and binary (their
 * bytes) are STRING. Events' values of the latter kinds are brought to that
 * form by dc_cdc_typed_key (merge_batch.c). */
static int key_type_of(dc_cdc_key_type *out, const char *name, dc_type ty, int32_t precision,
                       dc_err *err)
{
    if (is_int_type(ty) || ty == DC_TYPE_DATE || ty == DC_TYPE_TIMESTAMP ||
        ty == DC_TYPE_TIMESTAMP_NTZ || (ty == DC_TYPE_DECIMAL && precision <= 18))
        *out = DC_CDC_KEY_LONG;
    else if (ty == DC_TYPE_STRING || ty == DC_TYPE_BINARY)
        *out = DC_CDC_KEY_STRING;
    else if (ty == DC_TYPE_DECIMAL)
        return dc_err_set(err, DC_EUNSUPPORTED, "key column '%s': a decimal key holds at most "
                          "18 digits (its type is decimal(%d,...))", name, (int)precision);
    else
        return dc_err_set(err, DC_EUNSUPPORTED, "key column '%s': typed tables take integer, "
                          "string, binary, date, timestamp and decimal (up to 18 digits) key "
                          "columns (its type is %s)", name, mt_type_name(ty));
    return 0;
}

/* Whether a key of Delta type ty needs dc_cdc_typed_key. */
static bool key_needs_conv(dc_type ty)
{
    return ty == DC_TYPE_DATE || ty == DC_TYPE_TIMESTAMP || ty == DC_TYPE_TIMESTAMP_NTZ ||
           ty == DC_TYPE_DECIMAL || ty == DC_TYPE_BINARY;
}

int dc_mtyped_key(dc_cdc_key *out, dc_merge_table *t, const dc_cdc_event *ev, uint32_t i,
                  dc_err *err)
{
    mtyped *m = t->typed;
    *out = ev->keys[i];
    if (!key_needs_conv(t->key_dtype[i])) return 0;
    const dc_cdc_tschema *cols = m->cols;
    if (ev->schema)
        DC_TRY(dc_cdc_tschema_cache_get(&cols, &m->cache, ev->schema, ev->schema_len, err));
    const char *name = t->key_names[i];
    const int32_t c = cols ? dc_cdc_tschema_find(cols, name, strlen(name)) : -1;
    if (c < 0)
        return dc_err_set(err, DC_EINVAL, "key column '%s' is not a column of the record's "
                          "schema", name);
    dc_buf_reset(&m->key_scratch);
    return dc_cdc_typed_key(out, &m->key_scratch, dc_cdc_tschema_col(cols, (uint32_t)c), err);
}

/* The Delta schema of a new typed table from the source columns. */
static int create_schema_json(dc_buf *b, const dc_merge_opts *o, const mtyped *m,
                              const dc_cdc_tschema *ts, dc_err *err)
{
    for (uint32_t i = 0; i < o->keys.n; i++) {
        const int32_t c = dc_cdc_tschema_find(ts, o->keys.names[i], strlen(o->keys.names[i]));
        if (c < 0)
            return dc_err_set(err, DC_EINVAL, "key column '%s' is not a column of the record's "
                              "schema block", o->keys.names[i]);
        dc_cdc_key_type kt;
        const dc_cdc_tcol *col = dc_cdc_tschema_col(ts, (uint32_t)c);
        DC_TRY(key_type_of(&kt, o->keys.names[i], col->type, col->precision, err));
    }
    for (uint32_t i = 0; i < dc_cdc_tschema_ncols(ts); i++) {
        const dc_cdc_tcol *c = dc_cdc_tschema_col(ts, i);
        for (uint32_t j = 0; j < MT_N; j++)
            if (strcmp(c->name, m->meta[j]) == 0)
                return dc_err_set(err, DC_EINVAL, "source column '%s' has the name of a metadata "
                                  "column (set another meta_prefix)", c->name);
    }
    DC_TRY(dc_buf_puts(b, "{\"type\":\"struct\",\"fields\":[", err));
    for (uint32_t i = 0; i < dc_cdc_tschema_ncols(ts); i++) {
        if (i) DC_TRY(dc_buf_putc(b, ',', err));
        DC_TRY(dc_cdc_tcol_delta_json(b, dc_cdc_tschema_col(ts, i), err));
    }
    if (dc_cdc_tschema_ncols(ts) == 0)
        return dc_err_set(err, DC_EINVAL, "the record's schema block has no columns");
    DC_TRY(meta_fields_json(b, m, err));
    DC_TRY(dc_buf_puts(b, "]}", err));
    return dc_buf_putc(b, '\0', err);
}

/* The table's properties plus deltacdc.key (in `a`). */
static int create_properties(dc_delta_kv **out, uint32_t *n_out, dc_arena *a,
                             const dc_merge_opts *o, int64_t max_id, dc_err *err)
{
    dc_buf keys;
    dc_buf_init(&keys, 1 << 16);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < o->keys.n; i++)
        rc = dc_buf_appendf(&keys, err, "%s%s", i ? "," : "", o->keys.names[i]);
    dc_delta_kv *kv = rc == 0 ? dc_arena_alloc(a, (o->n_properties + 3) * sizeof *kv, err) : NULL;
    const char *kt = kv ? dc_arena_strndup(a, (const char *)keys.data, keys.len, err) : NULL;
    dc_buf_dispose(&keys);
    if (!kt) return rc < 0 ? rc : DC_ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < o->n_properties; i++)
        if (strcmp(o->properties[i].key, DC_MERGE_KEY_PROPERTY) != 0) kv[n++] = o->properties[i];
    kv[n++] = (dc_delta_kv){DC_MERGE_KEY_PROPERTY, kt};
    if (max_id > 0) { /* following schema changes: column mapping (merge_colmap.c) */
        char *v = dc_arena_alloc(a, 24, err);
        if (!v) return DC_ENOMEM;
        snprintf(v, 24, "%" PRId64, max_id);
        kv[n++] = (dc_delta_kv){"delta.columnMapping.mode", "name"};
        kv[n++] = (dc_delta_kv){"delta.columnMapping.maxColumnId", v};
    }
    *out = kv;
    *n_out = n;
    return 0;
}

int dc_mtyped_create(dc_storage *s, const dc_merge_opts *o, const mtyped *m, dc_err *err)
{
    if (!o->typed.create_schema)
        return dc_err_set(err, DC_EINVAL, "no typed table at %s and the record has no schema "
                          "block to create it from (typed tables take their columns from the "
                          "Debezium schema block: JsonConverter with schemas.enable=true)",
                          s->root);
    dc_cdc_tschema *ts = NULL;
    dc_buf schema;
    dc_buf_init(&schema, DC_JSON_MAX_DOC_BYTES);
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    dc_delta_kv *kv = NULL;
    uint32_t n_kv = 0;
    int rc = dc_cdc_tschema_from_block(&ts, &m->types, o->typed.create_schema,
                                       o->typed.create_schema_len, err);
    if (rc == 0) rc = create_schema_json(&schema, o, m, ts, err);
    int64_t max_id = 0;
    if (rc == 0 && m->schemalog) { /* every column its own physical name, ids 1..n */
        dc_buf mapped;
        dc_buf_init(&mapped, DC_JSON_MAX_DOC_BYTES);
        rc = dc_delta_colmap_rewrite(&mapped, &max_id, (const char *)schema.data, NULL, NULL,
                                     err);
        if (rc == 0) rc = dc_buf_putc(&mapped, '\0', err);
        dc_buf_dispose(&schema);
        schema = mapped;
    }
    if (rc == 0) rc = create_properties(&kv, &n_kv, &a, o, max_id, err);
    if (rc == 0) {
        dc_delta_create_opts c;
        memset(&c, 0, sizeof c);
        c.schema_json = (const char *)schema.data;
        c.enable_dv = o->mode == DC_MERGE_DV;
        c.configuration = kv;
        c.n_configuration = n_kv;
        rc = dc_delta_table_create(s, &c, err);
        if (rc == DC_EEXISTS) { /* created by someone else meanwhile: use theirs */
            dc_err_clear(err);
            rc = 0;
        } else if (rc == 0) {
            DC_LOG(DC_LOG_INFO, "merge", "%s: created a typed table of %u source columns "
                   "(mode %s)", s->root, dc_cdc_tschema_ncols(ts),
                   o->mode == DC_MERGE_DV ? "dv" : "cow");
        }
    }
    dc_cdc_tschema_free(ts);
    dc_buf_dispose(&schema);
    dc_arena_dispose(&a);
    if (rc < 0) dc_err_prefix(err, "creating the typed table");
    return rc;
}

/* ------------------------------------------------------------ layout */

static int check_meta(const dc_merge_table *t, const dc_delta_schema *ds, uint32_t i,
                      dc_type want, bool required, dc_err *err)
{
    const char *name = t->typed->meta[i];
    const dc_delta_field *f = dc_delta_schema_find(ds, name);
    if (!f && !required) return 0;
    if (!f)
        return dc_err_set(err, DC_EINVAL, "column '%s' is missing: not a typed table (or one "
                          "written with another meta_prefix)", name);
    if (f->type != want)
        return dc_err_set(err, DC_EINVAL, "column '%s' must be a %s", name, mt_type_name(want));
    return 0;
}

int dc_mtyped_check_layout(dc_merge_table *t, const dc_delta_schema *ds, dc_err *err)
{
    mtyped *m = t->typed;
    DC_TRY(check_meta(t, ds, MT_OP, DC_TYPE_STRING, true, err));
    DC_TRY(check_meta(t, ds, MT_TS, DC_TYPE_LONG, true, err));
    DC_TRY(check_meta(t, ds, MT_OFF, DC_TYPE_LONG, true, err));
    DC_TRY(check_meta(t, ds, MT_POS, DC_TYPE_STRING, true, err));
    DC_TRY(check_meta(t, ds, MT_DEL, DC_TYPE_BOOLEAN, m->soft_deletes, err));
    if (!m->soft_deletes && dc_delta_schema_find(ds, m->meta[MT_DEL]))
        return dc_err_set(err, DC_EINVAL, "the table has a '%s' column: it was created with "
                          "soft_deletes: true; set it again", m->meta[MT_DEL]);
    t->key_conv = false;
    for (uint32_t i = 0; i < t->n_keys; i++) {
        const dc_delta_field *f = dc_delta_schema_find(ds, t->key_names[i]);
        if (!f) return dc_err_set(err, DC_EINVAL, "key column '%s' is not in the table",
                                  t->key_names[i]);
        DC_TRY(key_type_of(&t->key_types[i], f->name, f->type, f->precision, err));
        t->key_dtype[i] = f->type;
        if (key_needs_conv(f->type)) t->key_conv = true;
    }
    /* The source columns' decoding, for records without a schema block. */
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    const char *skip[MT_N + 1] = {m->meta[0], m->meta[1], m->meta[2], m->meta[3], m->meta[4],
                                  NULL};
    dc_cdc_tschema *cols = NULL;
    int rc = dc_json_parse(&doc, &a, t->schema_json, strlen(t->schema_json), err);
    if (rc == 0) rc = dc_cdc_tschema_from_delta(&cols, doc, skip, err);
    dc_arena_dispose(&a);
    if (rc < 0) return rc;
    dc_cdc_tschema_free(m->cols);
    m->cols = cols;
    dc_delta_cm_mode mode = DC_DELTA_CM_NONE;
    DC_TRY(dc_delta_cm_mode_of(&mode, dc_delta_snapshot_protocol(t->snap),
                               dc_delta_snapshot_metadata(t->snap), err));
    m->cm = mode == DC_DELTA_CM_NAME;
    return 0;
}

const char *dc_mtyped_physical(dc_merge_table *t, const char *logical)
{
    const dc_delta_schema *s = NULL;
    dc_err e;
    dc_err_clear(&e);
    const char *p = dc_delta_snapshot_schema(&s, t->snap, &e) == 0
                        ? dc_delta_colmap_physical(s, logical) : NULL;
    return p ? p : logical;
}

/* ---------------------------------------------------- source position */

/* Order-preserving: (file, pos, stream after snapshot, row) → two int64s
 * compared as mseq. Positions of 2^32 or more and rows of 2^31 or more
 * saturate (MySQL's binlog positions are 32-bit). */
mseq dc_mtyped_pos_seq(const dc_cdc_srcpos *p)
{
    const uint64_t pos = p->pos < 0 ? 0 : p->pos > 0xffffffffLL ? 0xffffffffu : (uint64_t)p->pos;
    const uint64_t row = p->row < 0 ? 0 : (uint64_t)p->row;
    const uint64_t lo = pos << 32 | (p->snapshot ? 0 : 1ull << 31) | (row & 0x7fffffffu);
    const int64_t file = p->file < 0 ? 0 : p->file >= DC_MTYPED_POS_BIT ? DC_MTYPED_POS_BIT - 1
                                                                        : p->file;
    return (mseq){file | DC_MTYPED_POS_BIT, (int64_t)(lo ^ (1ull << 63))};
}

void dc_merge_pos_rank(int64_t rank[2], const dc_cdc_srcpos *p)
{
    const mseq s = dc_mtyped_pos_seq(p);
    rank[0] = s.ts;
    rank[1] = s.off;
}

int dc_merge_history_floor(int64_t rank[2], const struct dc_delta_snapshot *snap)
{
    if (dc_delta_snapshot_txn_version(&rank[0], snap, DC_MERGE_HISTORY_APP "#pos.hi") < 0 ||
        dc_delta_snapshot_txn_version(&rank[1], snap, DC_MERGE_HISTORY_APP "#pos.lo") < 0)
        return DC_ENOTFOUND;
    const mseq s = dc_mtyped_pos_stored(rank[0], rank[1]); /* stored without the bit */
    rank[0] = s.ts;
    rank[1] = s.off;
    return 0;
}

int dc_mtyped_pos_parse(mseq *out, const char *s, size_t n)
{
    dc_cdc_srcpos p;
    dc_err e;
    dc_err_clear(&e);
    if (dc_cdc_srcpos_parse(&p, s, n, &e) < 0) return -1;
    *out = dc_mtyped_pos_seq(&p);
    return 0;
}

/* ---------------------------------------------------------------- rows */

/* Appends `"<meta i>":` to out, which has room (dc_mtyped_row reserved it). */
static void put_meta_key(dc_buf *out, const mtyped *m, int i)
{
    const uint32_t n = m->meta_key_at[i + 1] - m->meta_key_at[i];
    memcpy(out->data + out->len, m->meta_keys.data + m->meta_key_at[i], n);
    out->len += n;
}

static void put_raw(dc_buf *out, const char *s, size_t n)
{
    memcpy(out->data + out->len, s, n);
    out->len += n;
}

int dc_mtyped_row(dc_buf *out, const dc_merge_table *t, const mtyped_row *r, dc_err *err)
{
    /* No printf and one reservation: this runs once per row written
     * (callgrind); only the numbers and the position go through the JSON
     * writer, whose appends then find the room. */
    const mtyped *m = t->typed;
    dc_buf_reset(out);
    const size_t room = 2 + (r->image ? r->image_len : 0) + m->meta_keys.len + MT_N +
                        3 * 24 + 6 * (size_t)(r->pos ? r->pos_len : 0) + 16;
    DC_TRY(dc_buf_reserve(out, room, err));
    put_raw(out, "{", 1);
    if (r->image && r->image_len) {
        put_raw(out, r->image, r->image_len);
        put_raw(out, ",", 1);
    }
    put_meta_key(out, m, MT_OP);
    const char op[4] = {'"', r->op, '"', ','};
    put_raw(out, op, 4);
    put_meta_key(out, m, MT_TS);
    if (r->has_ts) DC_TRY(dc_json_put_i64(out, r->ts, err));
    else put_raw(out, "null", 4);
    put_raw(out, ",", 1);
    put_meta_key(out, m, MT_OFF);
    DC_TRY(dc_json_put_i64(out, r->offset, err));
    put_raw(out, ",", 1);
    put_meta_key(out, m, MT_POS);
    if (r->pos) DC_TRY(dc_json_put_str(out, r->pos, r->pos_len, err));
    else put_raw(out, "null", 4);
    if (m->soft_deletes) {
        put_raw(out, ",", 1);
        put_meta_key(out, m, MT_DEL);
        if (r->op == 'd') put_raw(out, "true", 4);
        else put_raw(out, "false", 5);
    }
    put_raw(out, "}", 1);
    return 0;
}

/* ------------------------------------------------------ schema changes */

static int int_rank(dc_type ty)
{
    switch (ty) {
    case DC_TYPE_BYTE: return 1;
    case DC_TYPE_SHORT: return 2;
    case DC_TYPE_INT: return 3;
    case DC_TYPE_LONG: return 4;
    default: return 0;
    }
}

static void type_text(char *out, size_t n, const dc_cdc_tcol *c)
{
    if (c->type == DC_TYPE_DECIMAL) snprintf(out, n, "decimal(%d,%d)", c->precision, c->scale);
    else snprintf(out, n, "%s", mt_type_name(c->type));
}

/* Same Delta type (the rows of one decode into the other's column). */
static bool same_delta_type(const dc_cdc_tcol *a, const dc_cdc_tcol *b)
{
    if (a->type != b->type) return false;
    if (a->type == DC_TYPE_DECIMAL) return a->precision == b->precision && a->scale == b->scale;
    if (a->type == DC_TYPE_STRUCT) {
        if (a->n_children != b->n_children) return false;
        for (uint32_t i = 0; i < a->n_children; i++)
            if (strcmp(a->children[i].name, b->children[i].name) != 0 ||
                !same_delta_type(&a->children[i], &b->children[i]))
                return false;
    }
    return true;
}

/* A change Delta's type widening allows (int→bigint, float→double,
 * decimal(p,s)→decimal(p+k,s)). */
static bool is_widening(const dc_cdc_tcol *from, const dc_cdc_tcol *to)
{
    if (int_rank(from->type) && int_rank(to->type)) return int_rank(to->type) > int_rank(from->type);
    if (from->type == DC_TYPE_FLOAT && to->type == DC_TYPE_DOUBLE) return true;
    return from->type == DC_TYPE_DECIMAL && to->type == DC_TYPE_DECIMAL &&
           to->scale == from->scale && to->precision > from->precision;
}

/* Checks one record column against the table's (or an added) column. */
static int check_change(const dc_cdc_tcol *old, const dc_cdc_tcol *c, dc_err *err)
{
    if (same_delta_type(old, c)) return 0;
    char a[64], b[64];
    type_text(a, sizeof a, old);
    type_text(b, sizeof b, c);
    return dc_err_set(err, DC_EINVAL, "column '%s' changes type from %s to %s: an incompatible "
                      "schema change (nothing committed)", c->name, a, b);
}

static int push_col(const dc_cdc_tcol ***arr, uint32_t *n, uint32_t *cap, const dc_cdc_tcol *c,
                    dc_err *err)
{
    if (*n == *cap) {
        const uint32_t nc = *cap ? *cap * 2 : 8;
        const dc_cdc_tcol **p = dc_realloc(*arr, nc * sizeof *p);
        if (!p) return dc_err_set(err, DC_ENOMEM, "out of memory");
        *arr = p;
        *cap = nc;
    }
    (*arr)[(*n)++] = c;
    return 0;
}

/* By the table column written (dc_cdc_tcol_ident: the physical name under
 * column mapping, where a renamed column's records meet). */
static int32_t find_col(const dc_cdc_tcol *const *arr, uint32_t n, const char *ident)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(dc_cdc_tcol_ident(arr[i]), ident) == 0) return (int32_t)i;
    return -1;
}

static int32_t find_table_col(const dc_cdc_tschema *s, const char *ident)
{
    for (uint32_t i = 0; i < dc_cdc_tschema_ncols(s); i++)
        if (strcmp(dc_cdc_tcol_ident(dc_cdc_tschema_col(s, i)), ident) == 0) return (int32_t)i;
    return -1;
}

/* A table column seen with another type: widened (noted, the widest kept),
 * a type between the table's and a noted widening, or refused. */
static int table_col_change(mt_added *ad, const dc_cdc_tcol *old, const dc_cdc_tcol *c,
                            dc_err *err)
{
    if (same_delta_type(old, c)) return 0;
    if (!is_widening(old, c)) return check_change(old, c, err);
    const int32_t w = find_col(ad->wide, ad->n_wide, dc_cdc_tcol_ident(c));
    if (w < 0) return push_col(&ad->wide, &ad->n_wide, &ad->cap_wide, c, err);
    if (is_widening(ad->wide[w], c)) ad->wide[w] = c;
    return 0;
}

int dc_mtyped_compare(mt_added *ad, const dc_merge_table *t, const dc_cdc_tschema *rec,
                      dc_err *err)
{
    const mtyped *m = t->typed;
    for (uint32_t i = 0; i < dc_cdc_tschema_ncols(rec); i++) {
        const dc_cdc_tcol *c = dc_cdc_tschema_col(rec, i);
        const int32_t j = find_table_col(m->cols, dc_cdc_tcol_ident(c));
        if (j >= 0) {
            DC_TRY(table_col_change(ad, dc_cdc_tschema_col(m->cols, (uint32_t)j), c, err));
            continue;
        }
        const int32_t k = find_col(ad->cols, ad->n, dc_cdc_tcol_ident(c));
        if (k >= 0) { /* added by this batch: it may widen too before the commit */
            if (is_widening(ad->cols[k], c)) ad->cols[k] = c;
            else if (!is_widening(c, ad->cols[k])) DC_TRY(check_change(ad->cols[k], c, err));
            continue;
        }
        for (uint32_t x = 0; x < MT_N; x++)
            if (strcmp(c->name, m->meta[x]) == 0)
                return dc_err_set(err, DC_EINVAL, "new source column '%s' has the name of a "
                                  "metadata column", c->name);
        DC_TRY(push_col(&ad->cols, &ad->n, &ad->cap, c, err));
    }
    return 0;
}

int dc_mtyped_evolved_schema(dc_buf *out, const dc_merge_table *t, const mt_added *ad,
                             dc_err *err)
{
    /* The table's fields as they are (their metadata kept), a widened one
     * replaced by the record's column, then the added ones. */
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    int rc = dc_json_parse(&doc, &a, t->schema_json, strlen(t->schema_json), err);
    const dc_json *fields = rc == 0 ? dc_json_get(doc, "fields") : NULL;
    if (rc == 0 && (!fields || fields->type != DC_JSON_ARRAY))
        rc = dc_err_set(err, DC_ECORRUPT, "the table's schema has no fields array");
    dc_buf_reset(out);
    if (rc == 0) rc = dc_buf_puts(out, "{\"type\":\"struct\",\"fields\":[", err);
    for (uint32_t i = 0; rc == 0 && i < fields->len; i++) {
        const dc_json *f = &fields->u.items[i];
        const char *name = dc_json_str(dc_json_get(dc_json_get(f, "metadata"),
                                                   "delta.columnMapping.physicalName"));
        if (!name) name = dc_json_str(dc_json_get(f, "name"));
        const int32_t w = name ? find_col(ad->wide, ad->n_wide, name) : -1;
        if (i) rc = dc_buf_putc(out, ',', err);
        if (rc == 0) rc = w >= 0 ? dc_cdc_tcol_delta_json(out, ad->wide[w], err)
                                 : dc_json_write(out, f, err);
    }
    for (uint32_t i = 0; rc == 0 && i < ad->n; i++) {
        rc = dc_buf_putc(out, ',', err);
        if (rc == 0) rc = dc_cdc_tcol_delta_json(out, ad->cols[i], err);
    }
    if (rc == 0) rc = dc_buf_puts(out, "]}", err);
    if (rc == 0) rc = dc_buf_putc(out, '\0', err);
    dc_arena_dispose(&a);
    return rc;
}
