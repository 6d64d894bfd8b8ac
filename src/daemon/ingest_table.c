/* ingest: one table of the pipeline (a slot): finding its key columns,
 * opening or creating it, the batch in hand, and committing it — with a
 * replay of the batch's events after a conflict. */
#include "ingest_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "../common/dc_limits.h"
#include "../delta/delta.h"
#include "../json/dc_json.h"
#include "../maint/maint.h"

_Static_assert(DC_CDC_MAX_KEYS == 16, "config_table.c's MAX_KEY_COLUMNS is 16");

static dc_cdc_key_type key_type_of(const dc_delta_field *f)
{
    switch (f->type) {
    case DC_TYPE_BYTE:
    case DC_TYPE_SHORT:
    case DC_TYPE_INT:
    case DC_TYPE_LONG: return DC_CDC_KEY_LONG;
    default: return DC_CDC_KEY_STRING;
    }
}

static int set_key_name(ing_slot *s, uint32_t i, const char *name, size_t len, dc_err *err)
{
    s->keys.names[i] = dc_arena_strndup(&s->arena, name, len, err);
    return s->keys.names[i] ? 0 : err->code;
}

/* Key columns and types from an existing table's schema: the raw layout is
 * the key columns, then ts_ms, json_record, operation_type, offset. */
static int keys_from_schema(ing_slot *s, const dc_delta_schema *sch, dc_err *err)
{
    const dc_delta_field *root = &sch->root;
    uint32_t ts = 0;
    while (ts < root->n_children && strcmp(root->children[ts].name, "ts_ms") != 0) ts++;
    if (!s->keys_known && ts > 0 && ts < root->n_children && ts <= DC_CDC_MAX_KEYS) {
        for (uint32_t i = 0; i < ts; i++)
            DC_TRY(set_key_name(s, i, root->children[i].name, strlen(root->children[i].name),
                                err));
        s->keys.n = ts;
        s->keys_known = true;
    }
    for (uint32_t i = 0; s->keys_known && i < s->keys.n; i++) {
        const dc_delta_field *f = dc_delta_schema_find(sch, s->keys.names[i]);
        s->key_types[i] = f ? key_type_of(f) : DC_CDC_KEY_STRING;
    }
    return 0;
}

/* A typed table's key columns from its deltacdc.key property ("a,b"). */
static int keys_from_property(ing_slot *s, const dc_delta_snapshot *snap, dc_err *err)
{
    bool found = false;
    const char *v = dc_delta_map_get(&dc_delta_snapshot_metadata(snap)->configuration,
                                     "deltacdc.key", &found);
    if (s->keys_known || !found || !v) return 0;
    dc_cdc_keyspec k;
    DC_TRY(dc_cdc_keyspec_parse(&k, &s->arena, v, err));
    s->keys = k;
    s->keys_known = true;
    return 0;
}

/* Whether a table exists at the slot's path; learns its keys if it does. */
static int probe(bool *exists, ing_slot *s, dc_err *err)
{
    dc_storage *sto = NULL;
    dc_delta_snapshot *snap = NULL;
    const dc_delta_schema *sch = NULL;
    int rc = dc_storage_open(&sto, s->path, err);
    if (rc < 0) goto out;
    rc = dc_delta_snapshot_load(&snap, sto, -1, err);
    if (rc == DC_ENOTFOUND) {
        dc_err_clear(err);
        *exists = false;
        rc = 0;
        goto out;
    }
    if (rc < 0) goto out;
    *exists = true;
    rc = dc_delta_snapshot_schema(&sch, snap, err);
    if (rc == 0 && s->format == DC_CFG_FORMAT_TYPED) rc = keys_from_property(s, snap, err);
    else if (rc == 0) rc = keys_from_schema(s, sch, err);
out:
    if (rc < 0) dc_err_prefix(err, "table %s", s->path);
    dc_delta_snapshot_free(snap);
    dc_storage_free(sto);
    return rc;
}

/* ------------------------------------------------ tables[].properties */

/* The entry's tables[].properties as Delta key/values (*out in s->arena;
 * NULL when there are none). */
static int config_properties(dc_delta_kv **out, ing_slot *s, dc_err *err)
{
    const dc_cfg_map *m = &s->ct->properties;
    *out = NULL;
    if (!m->n) return 0;
    dc_delta_kv *kv = dc_arena_alloc(&s->arena, m->n * sizeof *kv, err);
    if (!kv) return err->code;
    for (uint32_t i = 0; i < m->n; i++) kv[i] = (dc_delta_kv){m->keys[i], m->values[i]};
    *out = kv;
    return 0;
}

/* Names and values of the properties a new table is created with (an
 * existing table's are checked by dc_maint_set_properties). */
static int check_new_properties(const dc_delta_kv *kv, uint32_t n, dc_err *err)
{
    for (uint32_t i = 0; i < n; i++) {
        const char *why = dc_maint_property_refused(kv[i].key);
        if (why) return dc_err_set(err, DC_EUNSUPPORTED, "'%s' %s", kv[i].key, why);
    }
    dc_delta_metadata m;
    dc_delta_protocol p;
    memset(&m, 0, sizeof m);
    memset(&p, 0, sizeof p);
    m.configuration = (dc_delta_map){n, (dc_delta_kv *)kv};
    p.min_reader_version = 1;
    p.min_writer_version = 2;
    return dc_maint_check_properties(&p, &m, err);
}

/* Makes the table's properties those of the pipeline file (the ones it
 * lists; others are left alone): one SET TBLPROPERTIES commit when some
 * differ. */
static int apply_properties(ing_slot *s, const dc_delta_kv *kv, uint32_t n, dc_err *err)
{
    dc_storage *sto = NULL;
    bool changed = false;
    int64_t version = -1;
    const dc_maint_prop_change c = {kv, n, NULL, 0};
    int rc = dc_storage_open(&sto, s->path, err);
    if (rc == 0) rc = dc_maint_set_properties(&version, &changed, sto, &c, err);
    if (rc == 0 && changed)
        DC_LOG(DC_LOG_INFO, "ingest", "table %s: properties changed to those of "
               "tables[].properties (version %" PRId64 ")", s->path, version);
    dc_storage_free(sto);
    return rc;
}

static int open_table(ing_state *st, ing_slot *s, bool create, dc_err *err)
{
    dc_delta_kv *props = NULL;
    const uint32_t n_props = s->ct->properties.n;
    int rc = config_properties(&props, s, err);
    if (rc == 0 && n_props) rc = create ? check_new_properties(props, n_props, err)
                                        : apply_properties(s, props, n_props, err);
    if (rc < 0) {
        dc_err_prefix(err, "table %s: tables[].properties (pipeline file line %d)", s->path,
                      s->ct->line);
        return rc;
    }
    if ((rc = ing_schemalog_open(st, s, err)) < 0) return rc;
    dc_merge_opts mo;
    memset(&mo, 0, sizeof mo);
    mo.table_uri = s->path;
    mo.pipeline = st->cfg->pipeline;
    mo.mode = s->ct->mode == DC_CFG_MODE_COW ? DC_MERGE_COW : DC_MERGE_DV;
    mo.format = s->format == DC_CFG_FORMAT_TYPED ? DC_FORMAT_TYPED : DC_FORMAT_RAW;
    mo.typed.soft_deletes = s->ct->soft_deletes;
    mo.typed.meta_prefix = s->ct->meta_prefix;
    mo.typed.types.datetime_as_timestamp = s->ct->datetime == DC_CFG_DATETIME_UTC;
    mo.typed.types.time_as_string = s->ct->time == DC_CFG_TIME_STRING;
    mo.typed.create_schema = create ? s->create_schema : NULL;
    mo.typed.create_schema_len = create ? s->create_schema_len : 0;
    mo.typed.schema_changes = s->schemalog;
    mo.keys = s->keys;
    memcpy(mo.key_types, s->key_types, sizeof mo.key_types);
    memcpy(mo.key_int_bytes, s->key_int_bytes, sizeof mo.key_int_bytes);
    mo.create_if_missing = create;
    mo.index_file = st->cfg->index_persist;
    mo.properties = props;
    mo.n_properties = n_props;
    rc = dc_merge_table_open(&s->table, &mo, err); /* errors name the table */
    if (rc < 0) s->table = NULL;
    /* a table another process created meanwhile has its own properties */
    if (rc == 0 && create && n_props) rc = apply_properties(s, props, n_props, err);
    return rc;
}

int ing_slot_probe(ing_state *st, ing_slot *s, dc_err *err)
{
    if (s->probed) return 0;
    bool exists = false;
    DC_TRY(probe(&exists, s, err));
    s->probed = true;
    if (!exists) return 0;
    if (!s->keys_known)
        return dc_err_set(err, DC_EINVAL, "table %s: %s; give the key with --key or "
                          "tables[].key", s->path, s->format == DC_CFG_FORMAT_TYPED
                          ? "the typed table does not name its key columns (deltacdc.key)"
                          : "its schema is not the raw layout (key columns, then ts_ms)");
    return open_table(st, s, false, err);
}

/* Key names from the Kafka record key: the fields of its JSON object (or of
 * its "payload" when it carries a JsonConverter schema block). */
int ing_slot_keys_from_record(ing_slot *s, const dc_source_record *r, dc_err *err)
{
    if (!r->key || r->key_len == 0)
        return dc_err_set(err, DC_EINVAL, "table %s: no key columns (give --key or "
                          "tables[].key; the record has no Kafka key to take them from)", s->path);
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    int rc = dc_json_parse(&doc, &a, r->key, r->key_len, err);
    if (rc < 0) goto out;
    const dc_json *obj = doc;
    const dc_json *payload = doc->type == DC_JSON_OBJECT ? dc_json_get(doc, "payload") : NULL;
    if (payload && payload->type == DC_JSON_OBJECT && dc_json_get(doc, "schema")) obj = payload;
    if (obj->type != DC_JSON_OBJECT || obj->len == 0 || obj->len > DC_CDC_MAX_KEYS) {
        rc = dc_err_set(err, DC_EINVAL, "the Kafka record key is not an object of 1 to %d "
                        "fields", DC_CDC_MAX_KEYS);
        goto out;
    }
    for (uint32_t i = 0; i < obj->len && rc == 0; i++)
        rc = set_key_name(s, i, obj->u.items[i].key, obj->u.items[i].key_len, err);
    if (rc == 0) {
        s->keys.n = obj->len;
        s->keys_known = true;
    }
out:
    if (rc < 0) dc_err_prefix(err, "table %s: key columns from the record key", s->path);
    dc_arena_dispose(&a);
    return rc;
}

/* A typed table without a schema block to create it from: the block that
 * tables[].columns stands for (in the slot's arena), or a refusal. */
static int columns_schema(ing_slot *s, dc_err *err)
{
    if (!s->ct->columns.n)
        return dc_err_set(err, DC_EINVAL, "no typed table at %s, and the record has no schema "
                          "block and tables[].columns gives no column types to create it from "
                          "(JsonConverter schemas.enable=true, or tables[].columns: README, "
                          "Typed tables)", s->path);
    dc_buf b;
    dc_buf_init(&b, DC_JSON_MAX_DOC_BYTES);
    int rc = dc_config_columns_schema(&b, &s->ct->columns, &s->ct->key, err);
    if (rc == 0) {
        s->create_schema = dc_arena_strndup(&s->arena, (const char *)b.data, b.len - 1, err);
        s->create_schema_len = b.len - 1;
        if (!s->create_schema) rc = err->code;
    }
    if (rc < 0) dc_err_prefix(err, "table %s (pipeline file line %d)", s->path, s->ct->line);
    dc_buf_dispose(&b);
    return rc;
}

/* Key types for creating the table: from the record's schema block, else
 * from the JSON values of its first change event. A schema block that can
 * not be read is bad input (the caller names the record). */
int ing_slot_key_types(ing_slot *s, const dc_source_record *r, const dc_cdc_event *ev,
                       dc_err *err)
{
    s->create_schema = ev->schema; /* a typed table is created from it (valid until the
                                      record is released: ing_slot_create comes first) */
    s->create_schema_len = ev->schema_len;
    if (!ev->schema && s->format == DC_CFG_FORMAT_TYPED) DC_TRY(columns_schema(s, err));
    int rc = dc_cdc_key_types_ex(s->key_types, s->key_int_bytes, &s->keys, r->value,
                                 r->value_len, err);
    if (rc == DC_ENOTFOUND) {
        dc_err_clear(err);
        for (uint32_t i = 0; i < s->keys.n; i++) s->key_types[i] = ev->keys[i].type;
        rc = 0;
    }
    return rc;
}

int ing_slot_create(ing_state *st, ing_slot *s, const char *topic, dc_err *err)
{
    DC_TRY(open_table(st, s, true, err));
    DC_LOG(DC_LOG_INFO, "ingest", "table %s: created for %s (%u key column%s)", s->path, topic,
           s->keys.n, s->keys.n == 1 ? "" : "s");
    return 0;
}
