/*
 * Table creation, the writer's protocol check, and schema evolution.
 *
 * Protocol of a new table: (1,2) unless a feature needs more. Deletion
 * vectors and timestamp_ntz are reader-writer table features, so they take
 * the table to (3,7) with both lists (PROTOCOL.md "Table Features": reader
 * features are listed in readerFeatures and writerFeatures, writer-only
 * features in writerFeatures only, and every feature the table uses is
 * listed). Change data feed needs writer version 4 (or its writer feature).
 */
#include "delta_write_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

/* Writer features we honour; some only while inactive (checked below). */
static const char *const WRITABLE_FEATURES[] = {
    "appendOnly", "invariants", "checkConstraints", "generatedColumns", "allowColumnDefaults",
    "changeDataFeed", "identityColumns", "columnMapping", "deletionVectors", "timestampNtz",
    "domainMetadata", "v2Checkpoint", "vacuumProtocolCheck", "typeWidening",
    "typeWidening-preview",
};

static bool writable_feature(const char *f)
{
    for (size_t i = 0; i < sizeof WRITABLE_FEATURES / sizeof *WRITABLE_FEATURES; i++)
        if (strcmp(WRITABLE_FEATURES[i], f) == 0) return true;
    return false;
}

/* Column metadata keys that ask writers for work we do not do. */
static const char *field_blocker(const dc_delta_field *f)
{
    static const char *const keys[] = {"delta.invariants", "delta.generationExpression",
                                       "delta.identity.start", "delta.identity.step",
                                       "CURRENT_DEFAULT"};
    for (size_t i = 0; f->metadata && i < sizeof keys / sizeof *keys; i++)
        if (dc_json_get(f->metadata, keys[i])) return keys[i];
    for (uint32_t i = 0; i < f->n_children; i++) {
        const char *k = field_blocker(&f->children[i]);
        if (k) return k;
    }
    return NULL;
}

static bool has_ntz(const dc_delta_field *f)
{
    if (f->type == DC_TYPE_TIMESTAMP_NTZ) return true;
    for (uint32_t i = 0; i < f->n_children; i++)
        if (has_ntz(&f->children[i])) return true;
    return false;
}

static int check_schema_writable(const dc_delta_metadata *m, dc_err *err)
{
    dc_delta_schema *s = NULL;
    if (!m->schema_string) return dc_err_set(err, DC_ECORRUPT, "metaData has no schemaString");
    DC_TRY(dc_delta_schema_parse(&s, m->schema_string, strlen(m->schema_string), err));
    const char *k = field_blocker(&s->root);
    int rc = 0;
    if (k)
        rc = dc_err_set(err, DC_EUNSUPPORTED,
                        "writing this table needs column metadata '%s' enforced, which "
                        "deltacdc does not do", k);
    dc_delta_schema_free(s);
    return rc;
}

/* Table properties that activate features we can not honour. */
static int check_config(const dc_delta_protocol *p, const dc_delta_metadata *m, dc_err *err)
{
    bool found = false;
    const char *cm = dc_delta_map_get(&m->configuration, "delta.columnMapping.mode", &found);
    if (cm && strcasecmp(cm, "none") != 0 && strcmp(cm, "name") != 0)
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "writing tables with column mapping mode '%s' is not supported (mode "
                          "name is)", cm);
    for (uint32_t i = 0; i < m->configuration.n; i++)
        if (strncmp(m->configuration.items[i].key, "delta.constraints.", 18) == 0)
            return dc_err_set(err, DC_EUNSUPPORTED,
                              "writing tables with CHECK constraints (%s) is not supported",
                              m->configuration.items[i].key);
    if (dc_delta_w_prop_true(m, "delta.enableInCommitTimestamps"))
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "writing tables with in-commit timestamps is not supported");
    (void)p;
    return 0;
}

int dc_delta_protocol_check_write(const dc_delta_protocol *p, const dc_delta_metadata *m,
                                  dc_err *err)
{
    if (p->min_writer_version < 1 || p->min_writer_version > 7)
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "table needs writer version %d; deltacdc writes versions 1-7",
                          (int)p->min_writer_version);
    DC_TRY(dc_delta_protocol_check_read(p, err));
    if (p->min_writer_version == 7) {
        for (uint32_t i = 0; i < p->n_writer_features; i++)
            if (!writable_feature(p->writer_features[i]))
                return dc_err_set(err, DC_EUNSUPPORTED,
                                  "table uses writer feature '%s', which deltacdc can not write",
                                  p->writer_features[i]);
    }
    DC_TRY(check_config(p, m, err));
    return check_schema_writable(m, err);
}

/* ------------------------------------------------------------ create */

typedef struct feats {
    const char *r[4];   /* reader (and writer) features */
    uint32_t nr;
    const char *w[8];   /* writer features */
    uint32_t nw;
} feats;

static void protocol_for(dc_delta_protocol *p, feats *f, bool dv, bool ntz, bool append_only,
                         bool cdf, bool cm)
{
    memset(p, 0, sizeof *p);
    if (dv) f->r[f->nr++] = "deletionVectors";
    if (ntz) f->r[f->nr++] = "timestampNtz";
    if (f->nr == 0) { /* column mapping: reader 2 / writer 5 without table features */
        p->min_reader_version = cm ? 2 : 1;
        p->min_writer_version = cm ? 5 : cdf ? 4 : 2;
        return;
    }
    if (cm) f->r[f->nr++] = "columnMapping";
    for (uint32_t i = 0; i < f->nr; i++) f->w[f->nw++] = f->r[i];
    if (append_only) f->w[f->nw++] = "appendOnly";
    if (cdf) f->w[f->nw++] = "changeDataFeed";
    p->min_reader_version = 3;
    p->min_writer_version = 7;
    p->has_reader_features = p->has_writer_features = true;
    p->n_reader_features = f->nr;
    p->reader_features = f->r;
    p->n_writer_features = f->nw;
    p->writer_features = f->w;
}

static int check_partitions(const dc_delta_schema *s, const dc_delta_create_opts *o, dc_err *err)
{
    for (uint32_t i = 0; i < o->n_partition_columns; i++) {
        const dc_delta_field *f = dc_delta_schema_find(s, o->partition_columns[i]);
        if (!f)
            return dc_err_set(err, DC_EINVAL, "partition column '%s' is not in the schema",
                              o->partition_columns[i]);
        if (f->type == DC_TYPE_STRUCT || f->type == DC_TYPE_ARRAY || f->type == DC_TYPE_MAP ||
            f->type == DC_TYPE_NULL)
            return dc_err_set(err, DC_EINVAL, "partition column '%s' must have a primitive type",
                              o->partition_columns[i]);
    }
    if (o->n_partition_columns >= s->root.n_children && s->root.n_children)
        return dc_err_set(err, DC_EINVAL, "every column is a partition column: no data column");
    return 0;
}

/* A string of JSON text as Spark puts in operationParameters. */
static int create_params(dc_buf *b, const dc_delta_metadata *m, dc_err *err)
{
    dc_buf t;
    dc_buf_init(&t, DC_JSON_MAX_DOC_BYTES);
    int rc = dc_buf_putc(&t, '[', err);
    for (uint32_t i = 0; rc == 0 && i < m->n_partition_columns; i++) {
        if (i) rc = dc_buf_putc(&t, ',', err);
        if (rc == 0) rc = dc_json_put_str(&t, m->partition_columns[i],
                                          strlen(m->partition_columns[i]), err);
    }
    if (rc == 0) rc = dc_buf_puts(b, "\"partitionBy\":", err);
    if (rc == 0) rc = dc_buf_putc(&t, ']', err);
    if (rc == 0) rc = dc_json_put_str(b, (const char *)t.data, t.len, err);
    t.len = 0;
    if (rc == 0) rc = dc_buf_putc(&t, '{', err);
    for (uint32_t i = 0; rc == 0 && i < m->configuration.n; i++) {
        const dc_delta_kv *kv = &m->configuration.items[i];
        if (i) rc = dc_buf_putc(&t, ',', err);
        if (rc == 0) rc = dc_json_put_str(&t, kv->key, strlen(kv->key), err);
        if (rc == 0) rc = dc_buf_putc(&t, ':', err);
        if (rc == 0) rc = dc_json_put_str(&t, kv->value ? kv->value : "",
                                          kv->value ? strlen(kv->value) : 0, err);
    }
    if (rc == 0) rc = dc_buf_putc(&t, '}', err);
    if (rc == 0) rc = dc_buf_puts(b, ",\"description\":null,\"isManaged\":\"false\",\"properties\":",
                                  err);
    if (rc == 0) rc = dc_json_put_str(b, (const char *)t.data, t.len, err);
    dc_buf_dispose(&t);
    return rc;
}

static int create_body(dc_buf *b, const dc_delta_protocol *p, const dc_delta_metadata *m,
                       dc_err *err)
{
    char txn_id[37];
    DC_TRY(dc_delta_uuid_v4(txn_id, err));
    DC_TRY(dc_buf_appendf(b, err, "{\"commitInfo\":{\"timestamp\":%" PRId64
                          ",\"operation\":\"CREATE TABLE\",\"operationParameters\":{",
                          m->created_time));
    DC_TRY(create_params(b, m, err));
    DC_TRY(dc_buf_appendf(b, err, "},\"isolationLevel\":\"Serializable\",\"isBlindAppend\":true,"
                          "\"operationMetrics\":{},\"engineInfo\":\"%s\",\"txnId\":\"%s\"}}\n",
                          DC_DELTA_ENGINE_INFO, txn_id));
    dc_delta_action a;
    a.type = DC_DELTA_ACTION_PROTOCOL;
    a.u.protocol = *p;
    DC_TRY(dc_delta_w_action_json(b, &a, err));
    DC_TRY(dc_buf_putc(b, '\n', err));
    a.type = DC_DELTA_ACTION_METADATA;
    a.u.metadata = *m;
    DC_TRY(dc_delta_w_action_json(b, &a, err));
    return dc_buf_putc(b, '\n', err);
}

/* Any log file present means a table is there (version 0 may be cleaned). */
static int check_absent(dc_storage *s, dc_err *err)
{
    dc_storage_list l;
    dc_storage_list_init(&l);
    int rc = dc_storage_list_dir(s, "_delta_log", NULL, &l, err);
    if (rc == DC_ENOTFOUND) {
        dc_err_clear(err);
        rc = 0;
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        if (l.entries[i].name[0] >= '0' && l.entries[i].name[0] <= '9' && !l.entries[i].is_dir)
            rc = dc_err_set(err, DC_EEXISTS, "%s: a Delta table already exists (_delta_log/%s)",
                            s->root, l.entries[i].name);
    dc_storage_list_dispose(&l);
    return rc;
}

int dc_delta_tx_set_configuration(dc_delta_tx *tx, const dc_delta_kv *configuration, uint32_t n,
                                  dc_err *err)
{
    dc_delta_metadata m = *dc_delta_snapshot_metadata(dc_delta_w_tx_snapshot(tx));
    m.configuration.n = n;
    m.configuration.items = (dc_delta_kv *)configuration; /* copied by set_metadata */
    return dc_delta_w_tx_set_metadata(tx, &m, err);
}

/* metaData of the new table (strings borrowed from o and `conf`/`id`). */
static void fill_metadata(dc_delta_metadata *m, const dc_delta_create_opts *o, const char *id,
                          dc_delta_kv *conf, uint32_t n_conf)
{
    memset(m, 0, sizeof *m);
    m->id = id;
    m->name = o->name;
    m->description = o->description;
    m->format_provider = "parquet";
    m->schema_string = o->schema_json;
    m->n_partition_columns = o->n_partition_columns;
    m->partition_columns = (const char **)o->partition_columns;
    m->has_created_time = true;
    m->created_time = dc_delta_now_ms();
    m->configuration.n = n_conf;
    m->configuration.items = conf;
}

static int create_checked(dc_storage *s, const dc_delta_create_opts *o, const dc_delta_schema *sc,
                          dc_delta_kv *conf, dc_err *err)
{
    char id[37];
    uint32_t n_conf = 0;
    bool has_dv_prop = false;
    for (uint32_t i = 0; i < o->n_configuration; i++) {
        conf[n_conf++] = o->configuration[i];
        if (strcmp(o->configuration[i].key, "delta.enableDeletionVectors") == 0) {
            has_dv_prop = true;
            if (o->enable_dv) conf[n_conf - 1].value = "true";
        }
    }
    if (o->enable_dv && !has_dv_prop)
        conf[n_conf++] = (dc_delta_kv){"delta.enableDeletionVectors", "true"};
    DC_TRY(dc_delta_uuid_v4(id, err));
    dc_delta_metadata m;
    fill_metadata(&m, o, id, conf, n_conf);
    const bool dv = o->enable_dv || dc_delta_w_prop_true(&m, "delta.enableDeletionVectors");
    dc_delta_protocol p;
    feats f = {{0}, 0, {0}, 0};
    protocol_for(&p, &f, dv, has_ntz(&sc->root), dc_delta_w_prop_true(&m, "delta.appendOnly"),
                 dc_delta_w_prop_true(&m, "delta.enableChangeDataFeed"),
                 dc_delta_map_get(&m.configuration, "delta.columnMapping.mode", NULL) &&
                 strcmp(dc_delta_map_get(&m.configuration, "delta.columnMapping.mode", NULL),
                        "name") == 0);
    DC_TRY(dc_delta_protocol_check_write(&p, &m, err));
    DC_TRY(check_absent(s, err));
    dc_buf body;
    dc_buf_init(&body, DC_DELTA_MAX_COMMIT_BYTES);
    int rc = create_body(&body, &p, &m, err);
    if (rc == 0) rc = dc_delta_commit_put(s, 0, body.data, body.len, err);
    dc_buf_dispose(&body);
    return rc;
}

int dc_delta_table_create(dc_storage *s, const dc_delta_create_opts *o, dc_err *err)
{
    dc_delta_schema *sc = NULL;
    dc_delta_kv *conf = NULL;
    int rc = 0;
    if (!o->schema_json) return dc_err_set(err, DC_EINVAL, "create table: no schema");
    if ((rc = dc_delta_schema_parse(&sc, o->schema_json, strlen(o->schema_json), err)) < 0)
        goto out;
    if ((rc = check_partitions(sc, o, err)) < 0) goto out;
    if (!(conf = dc_calloc((size_t)o->n_configuration + 1, sizeof *conf))) {
        rc = dc_err_set(err, DC_ENOMEM, "create table: out of memory");
        goto out;
    }
    rc = create_checked(s, o, sc, conf, err);
out:
    if (rc < 0) dc_err_prefix(err, "create table %s", s->root);
    dc_free(conf);
    dc_delta_schema_free(sc);
    return rc;
}

/* ------------------------------------------------- schema evolution */

static bool same_type(const dc_delta_field *a, const dc_delta_field *b);

static bool same_children(const dc_delta_field *a, const dc_delta_field *b)
{
    if (a->n_children != b->n_children) return false;
    for (uint32_t i = 0; i < a->n_children; i++) {
        const dc_delta_field *x = &a->children[i], *y = &b->children[i];
        if (strcmp(x->name, y->name) != 0 || x->nullable != y->nullable || !same_type(x, y))
            return false;
    }
    return true;
}

static bool same_type(const dc_delta_field *a, const dc_delta_field *b)
{
    if (a->type != b->type) return false;
    if (a->type == DC_TYPE_DECIMAL && (a->precision != b->precision || a->scale != b->scale))
        return false;
    return same_children(a, b);
}

static int int_rank(dc_type t)
{
    return t == DC_TYPE_BYTE ? 1 : t == DC_TYPE_SHORT ? 2 : t == DC_TYPE_INT ? 3
         : t == DC_TYPE_LONG ? 4 : 0;
}

/* A type change Delta's type widening lists that keeps every value:
 * byte→short→integer→long, float→double, decimal(p,s)→decimal(p+k,s). */
static bool widens(const dc_delta_field *x, const dc_delta_field *y)
{
    if (int_rank(x->type) && int_rank(y->type)) return int_rank(y->type) > int_rank(x->type);
    if (x->type == DC_TYPE_FLOAT && y->type == DC_TYPE_DOUBLE) return true;
    return x->type == DC_TYPE_DECIMAL && y->type == DC_TYPE_DECIMAL && y->scale == x->scale &&
           y->precision > x->precision;
}

/* new_ must keep old's fields in order and may add nullable fields at the
 * end of any struct; with `widen`, a top-level primitive column may also
 * widen (the caller rewrites every file). `path` names the struct. */
static int check_evolution(const dc_delta_field *old, const dc_delta_field *nw, const char *path,
                           bool widen, dc_err *err)
{
    if (nw->n_children < old->n_children)
        return dc_err_set(err, DC_EINVAL, "schema evolution: %s loses fields", path);
    for (uint32_t i = 0; i < nw->n_children; i++) {
        const dc_delta_field *y = &nw->children[i];
        if (i >= old->n_children) {
            if (!y->nullable)
                return dc_err_set(err, DC_EINVAL,
                                  "schema evolution: new column %s.%s must be nullable", path,
                                  y->name);
            continue;
        }
        const dc_delta_field *x = &old->children[i];
        if (strcmp(x->name, y->name) != 0)
            return dc_err_set(err, DC_EINVAL,
                              "schema evolution: %s field %u is '%s', expected '%s' (new "
                              "columns go at the end)", path, i, y->name, x->name);
        if (x->nullable != y->nullable)
            return dc_err_set(err, DC_EINVAL, "schema evolution: %s.%s changes nullability",
                              path, x->name);
        if (x->type == DC_TYPE_STRUCT && y->type == DC_TYPE_STRUCT) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s.%s", path, x->name);
            DC_TRY(check_evolution(x, y, sub, false, err));
        } else if (!same_type(x, y) && !(widen && widens(x, y))) {
            return dc_err_set(err, DC_EINVAL, "schema evolution: %s.%s changes type", path,
                              x->name);
        }
    }
    return 0;
}

static int set_schema(dc_delta_tx *tx, const char *schema_json, bool widen, dc_err *err)
{
    dc_delta_snapshot *snap = dc_delta_w_tx_snapshot(tx);
    const dc_delta_schema *old = NULL;
    dc_delta_schema *nw = NULL;
    int rc = dc_delta_snapshot_schema(&old, snap, err);
    if (rc == 0) rc = dc_delta_schema_parse(&nw, schema_json, strlen(schema_json), err);
    if (rc == 0) rc = check_evolution(&old->root, &nw->root, "<root>", widen, err);
    if (rc == 0 && has_ntz(&nw->root) && !has_ntz(&old->root) &&
        !dc_delta_protocol_has_writer_feature(dc_delta_snapshot_protocol(snap), "timestampNtz"))
        rc = dc_err_set(err, DC_EUNSUPPORTED,
                        "schema evolution: a timestamp_ntz column needs the timestampNtz table "
                        "feature, which this table does not have");
    if (rc == 0) {
        dc_delta_metadata m = *dc_delta_snapshot_metadata(snap);
        m.schema_string = schema_json;
        rc = dc_delta_w_tx_set_metadata(tx, &m, err);
    }
    dc_delta_schema_free(nw);
    return rc;
}

int dc_delta_tx_set_schema(dc_delta_tx *tx, const char *schema_json, dc_err *err)
{
    return set_schema(tx, schema_json, false, err);
}

int dc_delta_tx_set_schema_widened(dc_delta_tx *tx, const char *schema_json, dc_err *err)
{
    return set_schema(tx, schema_json, true, err);
}
