/*
 * delta: one action → one JSON line, with Spark's field names and order
 * (what other engines have seen most), optional fields left out when absent.
 */
#include "delta_int.h"

typedef struct jw {
    dc_buf *out;
    dc_err *err;
    bool first;   /* no member written yet in the current object */
} jw;

static int key(jw *w, const char *k)
{
    if (!w->first) DC_TRY(dc_buf_putc(w->out, ',', w->err));
    w->first = false;
    DC_TRY(dc_json_put_str(w->out, k, strlen(k), w->err));
    return dc_buf_putc(w->out, ':', w->err);
}

static int str_or_null(jw *w, const char *v)
{
    if (!v) return dc_buf_puts(w->out, "null", w->err);
    return dc_json_put_str(w->out, v, strlen(v), w->err);
}

static int m_str(jw *w, const char *k, const char *v)
{
    DC_TRY(key(w, k));
    return str_or_null(w, v);
}

static int m_i64(jw *w, const char *k, int64_t v)
{
    DC_TRY(key(w, k));
    return dc_json_put_i64(w->out, v, w->err);
}

static int m_bool(jw *w, const char *k, bool v)
{
    DC_TRY(key(w, k));
    return dc_buf_puts(w->out, v ? "true" : "false", w->err);
}

static int m_map(jw *w, const char *k, const dc_delta_map *m)
{
    DC_TRY(key(w, k));
    DC_TRY(dc_buf_putc(w->out, '{', w->err));
    for (uint32_t i = 0; i < m->n; i++) {
        if (i) DC_TRY(dc_buf_putc(w->out, ',', w->err));
        DC_TRY(dc_json_put_str(w->out, m->items[i].key, strlen(m->items[i].key), w->err));
        DC_TRY(dc_buf_putc(w->out, ':', w->err));
        DC_TRY(str_or_null(w, m->items[i].value));
    }
    return dc_buf_putc(w->out, '}', w->err);
}

static int m_strs(jw *w, const char *k, uint32_t n, const char *const *v)
{
    DC_TRY(key(w, k));
    DC_TRY(dc_buf_putc(w->out, '[', w->err));
    for (uint32_t i = 0; i < n; i++) {
        if (i) DC_TRY(dc_buf_putc(w->out, ',', w->err));
        DC_TRY(str_or_null(w, v[i]));
    }
    return dc_buf_putc(w->out, ']', w->err);
}

static int open_obj(jw *w, const char *k)
{
    if (k) DC_TRY(key(w, k));
    w->first = true;
    return dc_buf_putc(w->out, '{', w->err);
}

static int close_obj(jw *w)
{
    w->first = false;
    return dc_buf_putc(w->out, '}', w->err);
}

static int m_dv(jw *w, const dc_delta_dv_desc *dv)
{
    char st[2] = {dv->storage_type, '\0'};
    DC_TRY(open_obj(w, "deletionVector"));
    DC_TRY(m_str(w, "storageType", st));
    DC_TRY(m_str(w, "pathOrInlineDv", dv->path_or_inline));
    if (dv->has_offset) DC_TRY(m_i64(w, "offset", dv->offset));
    DC_TRY(m_i64(w, "sizeInBytes", dv->size_in_bytes));
    DC_TRY(m_i64(w, "cardinality", dv->cardinality));
    if (dv->has_max_row_index) DC_TRY(m_i64(w, "maxRowIndex", dv->max_row_index));
    return close_obj(w);
}

static int w_add(jw *w, const dc_delta_add *a)
{
    DC_TRY(m_str(w, "path", a->path));
    DC_TRY(m_map(w, "partitionValues", &a->partition_values));
    DC_TRY(m_i64(w, "size", a->size));
    DC_TRY(m_i64(w, "modificationTime", a->modification_time));
    DC_TRY(m_bool(w, "dataChange", a->data_change));
    if (a->stats) DC_TRY(m_str(w, "stats", a->stats));
    if (a->tags.n) DC_TRY(m_map(w, "tags", &a->tags));
    if (a->has_dv) DC_TRY(m_dv(w, &a->dv));
    if (a->has_base_row_id) DC_TRY(m_i64(w, "baseRowId", a->base_row_id));
    if (a->has_default_row_commit_version)
        DC_TRY(m_i64(w, "defaultRowCommitVersion", a->default_row_commit_version));
    if (a->clustering_provider) DC_TRY(m_str(w, "clusteringProvider", a->clustering_provider));
    return 0;
}

static int w_remove(jw *w, const dc_delta_remove *r)
{
    DC_TRY(m_str(w, "path", r->path));
    if (r->has_deletion_timestamp) DC_TRY(m_i64(w, "deletionTimestamp", r->deletion_timestamp));
    DC_TRY(m_bool(w, "dataChange", r->data_change));
    if (r->extended_file_metadata) {
        DC_TRY(m_bool(w, "extendedFileMetadata", true));
        DC_TRY(m_map(w, "partitionValues", &r->partition_values));
    } else if (r->partition_values.n) {
        DC_TRY(m_map(w, "partitionValues", &r->partition_values));
    }
    if (r->has_size) DC_TRY(m_i64(w, "size", r->size));
    if (r->tags.n) DC_TRY(m_map(w, "tags", &r->tags));
    if (r->has_dv) DC_TRY(m_dv(w, &r->dv));
    if (r->has_base_row_id) DC_TRY(m_i64(w, "baseRowId", r->base_row_id));
    if (r->has_default_row_commit_version)
        DC_TRY(m_i64(w, "defaultRowCommitVersion", r->default_row_commit_version));
    if (r->stats) DC_TRY(m_str(w, "stats", r->stats));
    return 0;
}

static int w_metadata(jw *w, const dc_delta_metadata *m)
{
    DC_TRY(m_str(w, "id", m->id));
    if (m->name) DC_TRY(m_str(w, "name", m->name));
    if (m->description) DC_TRY(m_str(w, "description", m->description));
    DC_TRY(open_obj(w, "format"));
    DC_TRY(m_str(w, "provider", m->format_provider ? m->format_provider : "parquet"));
    DC_TRY(m_map(w, "options", &m->format_options));
    DC_TRY(close_obj(w));
    DC_TRY(m_str(w, "schemaString", m->schema_string));
    DC_TRY(m_strs(w, "partitionColumns", m->n_partition_columns, m->partition_columns));
    DC_TRY(m_map(w, "configuration", &m->configuration));
    if (m->has_created_time) DC_TRY(m_i64(w, "createdTime", m->created_time));
    return 0;
}

static int w_protocol(jw *w, const dc_delta_protocol *p)
{
    DC_TRY(m_i64(w, "minReaderVersion", p->min_reader_version));
    DC_TRY(m_i64(w, "minWriterVersion", p->min_writer_version));
    if (p->has_reader_features)
        DC_TRY(m_strs(w, "readerFeatures", p->n_reader_features, p->reader_features));
    if (p->has_writer_features)
        DC_TRY(m_strs(w, "writerFeatures", p->n_writer_features, p->writer_features));
    return 0;
}

static int w_body(jw *w, const dc_delta_action *a)
{
    switch (a->type) {
    case DC_DELTA_ACTION_ADD: return w_add(w, &a->u.add);
    case DC_DELTA_ACTION_REMOVE: return w_remove(w, &a->u.remove);
    case DC_DELTA_ACTION_METADATA: return w_metadata(w, &a->u.metadata);
    case DC_DELTA_ACTION_PROTOCOL: return w_protocol(w, &a->u.protocol);
    case DC_DELTA_ACTION_TXN:
        DC_TRY(m_str(w, "appId", a->u.txn.app_id));
        DC_TRY(m_i64(w, "version", a->u.txn.version));
        if (a->u.txn.has_last_updated) DC_TRY(m_i64(w, "lastUpdated", a->u.txn.last_updated));
        return 0;
    case DC_DELTA_ACTION_DOMAIN_METADATA:
        DC_TRY(m_str(w, "domain", a->u.domain.domain));
        DC_TRY(m_str(w, "configuration", a->u.domain.configuration));
        return m_bool(w, "removed", a->u.domain.removed);
    case DC_DELTA_ACTION_CDC:
        DC_TRY(m_str(w, "path", a->u.cdc.path));
        DC_TRY(m_map(w, "partitionValues", &a->u.cdc.partition_values));
        DC_TRY(m_i64(w, "size", a->u.cdc.size));
        DC_TRY(m_bool(w, "dataChange", a->u.cdc.data_change));
        if (a->u.cdc.tags.n) DC_TRY(m_map(w, "tags", &a->u.cdc.tags));
        return 0;
    case DC_DELTA_ACTION_CHECKPOINT_METADATA:
        return m_i64(w, "version", a->u.checkpoint_version);
    case DC_DELTA_ACTION_SIDECAR:
        DC_TRY(m_str(w, "path", a->u.sidecar.path));
        DC_TRY(m_i64(w, "sizeInBytes", a->u.sidecar.size_in_bytes));
        return m_i64(w, "modificationTime", a->u.sidecar.modification_time);
    case DC_DELTA_ACTION_COMMIT_INFO:
    case DC_DELTA_ACTION_NONE: break;
    }
    return dc_err_set(w->err, DC_EINTERNAL, "delta: action type %d has no body writer",
                      (int)a->type);
}

static const char *const type_key[] = {
    [DC_DELTA_ACTION_PROTOCOL] = "protocol",
    [DC_DELTA_ACTION_METADATA] = "metaData",
    [DC_DELTA_ACTION_ADD] = "add",
    [DC_DELTA_ACTION_REMOVE] = "remove",
    [DC_DELTA_ACTION_TXN] = "txn",
    [DC_DELTA_ACTION_DOMAIN_METADATA] = "domainMetadata",
    [DC_DELTA_ACTION_COMMIT_INFO] = "commitInfo",
    [DC_DELTA_ACTION_CDC] = "cdc",
    [DC_DELTA_ACTION_CHECKPOINT_METADATA] = "checkpointMetadata",
    [DC_DELTA_ACTION_SIDECAR] = "sidecar",
};

int dc_delta_action_write_json(dc_buf *out, const dc_delta_action *a, dc_err *err)
{
    if (a->type == DC_DELTA_ACTION_NONE || (unsigned)a->type >= sizeof type_key / sizeof *type_key)
        return dc_err_set(err, DC_EINVAL, "delta: can not write an action of unknown type");
    jw w = {out, err, true};
    DC_TRY(open_obj(&w, NULL));
    if (a->type == DC_DELTA_ACTION_COMMIT_INFO) {
        DC_TRY(key(&w, "commitInfo"));
        if (!a->u.commit_info.json)
            return dc_err_set(err, DC_EINVAL, "delta: commitInfo without JSON");
        DC_TRY(dc_buf_append(out, a->u.commit_info.json, a->u.commit_info.len, err));
        return close_obj(&w);
    }
    DC_TRY(open_obj(&w, type_key[a->type]));
    DC_TRY(w_body(&w, a));
    DC_TRY(close_obj(&w));
    return close_obj(&w);
}
