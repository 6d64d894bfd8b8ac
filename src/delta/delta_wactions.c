/*
 * Write side: deep copies of actions, and their JSON lines in the field
 * names and order Spark writes (add, remove, txn, metaData, protocol,
 * domainMetadata). The same objects are the rows of a checkpoint.
 */
#include "delta_write_int.h"

#include <strings.h>
#include <inttypes.h>

char *dc_delta_w_strdup(dc_arena *a, const char *s, dc_err *err)
{
    if (!s) return NULL;
    return dc_arena_strndup(a, s, strlen(s), err);
}

/* Copies a string that must succeed when non-NULL. */
#define COPY_STR(dst, src)                                          \
    do {                                                            \
        (dst) = NULL;                                               \
        if ((src) && !((dst) = dc_delta_w_strdup(a, (src), err)))   \
            return DC_ENOMEM;                                       \
    } while (0)

int dc_delta_w_copy_map(dc_delta_map *out, dc_arena *a, const dc_delta_map *in, dc_err *err)
{
    out->n = 0;
    out->items = NULL;
    if (!in->n) return 0;
    size_t bytes;
    if (dc_mul_overflow_sz(in->n, sizeof *out->items, &bytes))
        return dc_err_set(err, DC_ELIMIT, "map too large");
    dc_delta_kv *items = dc_arena_alloc(a, bytes, err);
    if (!items) return DC_ENOMEM;
    for (uint32_t i = 0; i < in->n; i++) {
        COPY_STR(items[i].key, in->items[i].key);
        COPY_STR(items[i].value, in->items[i].value);
    }
    out->items = items;
    out->n = in->n;
    return 0;
}

int dc_delta_w_copy_dv(dc_delta_dv_desc *out, dc_arena *a, const dc_delta_dv_desc *in,
                       dc_err *err)
{
    *out = *in;
    COPY_STR(out->path_or_inline, in->path_or_inline);
    return 0;
}

int dc_delta_w_copy_add(dc_delta_add *out, dc_arena *a, const dc_delta_add *in, dc_err *err)
{
    *out = *in;
    COPY_STR(out->path, in->path);
    COPY_STR(out->stats, in->stats);
    COPY_STR(out->clustering_provider, in->clustering_provider);
    DC_TRY(dc_delta_w_copy_map(&out->partition_values, a, &in->partition_values, err));
    DC_TRY(dc_delta_w_copy_map(&out->tags, a, &in->tags, err));
    if (in->has_dv) DC_TRY(dc_delta_w_copy_dv(&out->dv, a, &in->dv, err));
    return 0;
}

int dc_delta_w_copy_remove(dc_delta_remove *out, dc_arena *a, const dc_delta_remove *in,
                           dc_err *err)
{
    *out = *in;
    COPY_STR(out->path, in->path);
    COPY_STR(out->stats, in->stats);
    DC_TRY(dc_delta_w_copy_map(&out->partition_values, a, &in->partition_values, err));
    DC_TRY(dc_delta_w_copy_map(&out->tags, a, &in->tags, err));
    if (in->has_dv) DC_TRY(dc_delta_w_copy_dv(&out->dv, a, &in->dv, err));
    return 0;
}

bool dc_delta_w_prop_true(const dc_delta_metadata *m, const char *key)
{
    bool found = false;
    const char *v = dc_delta_map_get(&m->configuration, key, &found);
    return v && strcasecmp(v, "true") == 0;
}

int dc_delta_w_stats_wide(const char **out, dc_arena *a, const char *stats, dc_err *err)
{
    *out = NULL;
    if (!stats) return 0;
    dc_json *doc = NULL;
    DC_TRY(dc_json_parse(&doc, a, stats, strlen(stats), err));
    if (doc->type != DC_JSON_OBJECT) return dc_err_set(err, DC_EINVAL, "stats: not an object");
    dc_json *tb = (dc_json *)dc_json_get(doc, "tightBounds");
    size_t n = strlen(stats);
    while (n > 0 && (stats[n - 1] == ' ' || stats[n - 1] == '\n' || stats[n - 1] == '\t' ||
                     stats[n - 1] == '\r'))
        n--;
    if (tb && tb->type == DC_JSON_FALSE) { /* a DV growing: already wide */
        if (!(*out = dc_arena_strndup(a, stats, n, err))) return DC_ENOMEM;
        return 0;
    }
    if (!tb && doc->len > 0 && n > 0 && stats[n - 1] == '}') {
        /* The usual case (a file of ours getting its first DV): the text as
         * it is, the member appended, without writing the DOM back (half
         * the cost). The parse above still vouches for the text. */
        char *w = dc_arena_alloc(a, n + sizeof ",\"tightBounds\":false}", err);
        if (!w) return DC_ENOMEM;
        memcpy(w, stats, n - 1);
        memcpy(w + n - 1, ",\"tightBounds\":false}", sizeof ",\"tightBounds\":false}");
        *out = w;
        return 0;
    }
    dc_buf b;
    dc_buf_init(&b, DC_JSON_MAX_DOC_BYTES);
    int rc = 0;
    if (tb) {
        tb->type = DC_JSON_FALSE;
        rc = dc_json_write(&b, doc, err);
    } else {
        rc = dc_json_write(&b, doc, err);
        if (rc == 0 && doc->len > 0 && b.len >= 2) {
            b.len--; /* the closing brace */
            rc = dc_buf_puts(&b, ",\"tightBounds\":false}", err);
        } else if (rc == 0) { /* {} */
            b.len = 0;
            rc = dc_buf_puts(&b, "{\"tightBounds\":false}", err);
        }
    }
    if (rc == 0 && !(*out = dc_arena_strndup(a, (const char *)b.data, b.len, err)))
        rc = DC_ENOMEM;
    dc_buf_dispose(&b);
    return rc;
}

/* ------------------------------------------------------------- JSON */

static int put_key(dc_buf *o, bool *first, const char *k, dc_err *err)
{
    if (!*first) DC_TRY(dc_buf_putc(o, ',', err));
    *first = false;
    DC_TRY(dc_json_put_str(o, k, strlen(k), err));
    return dc_buf_putc(o, ':', err);
}

static int put_kstr(dc_buf *o, bool *first, const char *k, const char *v, dc_err *err)
{
    if (!v) return 0;
    DC_TRY(put_key(o, first, k, err));
    return dc_json_put_str(o, v, strlen(v), err);
}

static int put_ki64(dc_buf *o, bool *first, const char *k, int64_t v, dc_err *err)
{
    DC_TRY(put_key(o, first, k, err));
    return dc_json_put_i64(o, v, err);
}

static int put_kbool(dc_buf *o, bool *first, const char *k, bool v, dc_err *err)
{
    DC_TRY(put_key(o, first, k, err));
    return dc_buf_puts(o, v ? "true" : "false", err);
}

static int put_map(dc_buf *o, const dc_delta_map *m, dc_err *err)
{
    DC_TRY(dc_buf_putc(o, '{', err));
    for (uint32_t i = 0; i < m->n; i++) {
        if (i) DC_TRY(dc_buf_putc(o, ',', err));
        DC_TRY(dc_json_put_str(o, m->items[i].key, strlen(m->items[i].key), err));
        DC_TRY(dc_buf_putc(o, ':', err));
        if (m->items[i].value)
            DC_TRY(dc_json_put_str(o, m->items[i].value, strlen(m->items[i].value), err));
        else DC_TRY(dc_buf_puts(o, "null", err));
    }
    return dc_buf_putc(o, '}', err);
}

static int put_kmap(dc_buf *o, bool *first, const char *k, const dc_delta_map *m, dc_err *err)
{
    DC_TRY(put_key(o, first, k, err));
    return put_map(o, m, err);
}

static int put_dv(dc_buf *o, bool *first, const dc_delta_dv_desc *dv, dc_err *err)
{
    bool f = true;
    const char st[2] = {dv->storage_type, '\0'};
    DC_TRY(put_key(o, first, "deletionVector", err));
    DC_TRY(dc_buf_putc(o, '{', err));
    DC_TRY(put_kstr(o, &f, "storageType", st, err));
    DC_TRY(put_kstr(o, &f, "pathOrInlineDv", dv->path_or_inline, err));
    if (dv->has_offset) DC_TRY(put_ki64(o, &f, "offset", dv->offset, err));
    DC_TRY(put_ki64(o, &f, "sizeInBytes", dv->size_in_bytes, err));
    DC_TRY(put_ki64(o, &f, "cardinality", dv->cardinality, err));
    if (dv->has_max_row_index) DC_TRY(put_ki64(o, &f, "maxRowIndex", dv->max_row_index, err));
    return dc_buf_putc(o, '}', err);
}

static int put_add(dc_buf *o, const dc_delta_add *a, dc_err *err)
{
    bool f = true;
    DC_TRY(dc_buf_puts(o, "{\"add\":{", err));
    DC_TRY(put_kstr(o, &f, "path", a->path, err));
    DC_TRY(put_kmap(o, &f, "partitionValues", &a->partition_values, err));
    DC_TRY(put_ki64(o, &f, "size", a->size, err));
    DC_TRY(put_ki64(o, &f, "modificationTime", a->modification_time, err));
    DC_TRY(put_kbool(o, &f, "dataChange", a->data_change, err));
    DC_TRY(put_kstr(o, &f, "stats", a->stats, err));
    if (a->tags.n) DC_TRY(put_kmap(o, &f, "tags", &a->tags, err));
    if (a->has_dv) DC_TRY(put_dv(o, &f, &a->dv, err));
    if (a->has_base_row_id) DC_TRY(put_ki64(o, &f, "baseRowId", a->base_row_id, err));
    if (a->has_default_row_commit_version)
        DC_TRY(put_ki64(o, &f, "defaultRowCommitVersion", a->default_row_commit_version, err));
    DC_TRY(put_kstr(o, &f, "clusteringProvider", a->clustering_provider, err));
    return dc_buf_puts(o, "}}", err);
}

/* In checkpoints remove carries neither stats nor tags (PROTOCOL.md). */
static int put_remove(dc_buf *o, const dc_delta_remove *r, bool checkpoint, dc_err *err)
{
    bool f = true;
    DC_TRY(dc_buf_puts(o, "{\"remove\":{", err));
    DC_TRY(put_kstr(o, &f, "path", r->path, err));
    if (r->has_deletion_timestamp)
        DC_TRY(put_ki64(o, &f, "deletionTimestamp", r->deletion_timestamp, err));
    DC_TRY(put_kbool(o, &f, "dataChange", r->data_change, err));
    if (r->extended_file_metadata) {
        DC_TRY(put_kbool(o, &f, "extendedFileMetadata", true, err));
        DC_TRY(put_kmap(o, &f, "partitionValues", &r->partition_values, err));
    }
    if (r->has_size) DC_TRY(put_ki64(o, &f, "size", r->size, err));
    if (!checkpoint) {
        DC_TRY(put_kstr(o, &f, "stats", r->stats, err));
        if (r->tags.n) DC_TRY(put_kmap(o, &f, "tags", &r->tags, err));
    }
    if (r->has_dv) DC_TRY(put_dv(o, &f, &r->dv, err));
    if (r->has_base_row_id) DC_TRY(put_ki64(o, &f, "baseRowId", r->base_row_id, err));
    if (r->has_default_row_commit_version)
        DC_TRY(put_ki64(o, &f, "defaultRowCommitVersion", r->default_row_commit_version, err));
    return dc_buf_puts(o, "}}", err);
}

static int put_strs(dc_buf *o, bool *first, const char *k, const char *const *v, uint32_t n,
                    dc_err *err)
{
    DC_TRY(put_key(o, first, k, err));
    DC_TRY(dc_buf_putc(o, '[', err));
    for (uint32_t i = 0; i < n; i++) {
        if (i) DC_TRY(dc_buf_putc(o, ',', err));
        DC_TRY(dc_json_put_str(o, v[i], strlen(v[i]), err));
    }
    return dc_buf_putc(o, ']', err);
}

static int put_metadata(dc_buf *o, const dc_delta_metadata *m, dc_err *err)
{
    bool f = true, ff = true;
    DC_TRY(dc_buf_puts(o, "{\"metaData\":{", err));
    DC_TRY(put_kstr(o, &f, "id", m->id, err));
    DC_TRY(put_kstr(o, &f, "name", m->name, err));
    DC_TRY(put_kstr(o, &f, "description", m->description, err));
    DC_TRY(put_key(o, &f, "format", err));
    DC_TRY(dc_buf_putc(o, '{', err));
    DC_TRY(put_kstr(o, &ff, "provider", m->format_provider ? m->format_provider : "parquet", err));
    DC_TRY(put_kmap(o, &ff, "options", &m->format_options, err));
    DC_TRY(dc_buf_putc(o, '}', err));
    DC_TRY(put_kstr(o, &f, "schemaString", m->schema_string, err));
    DC_TRY(put_strs(o, &f, "partitionColumns", m->partition_columns, m->n_partition_columns,
                    err));
    DC_TRY(put_kmap(o, &f, "configuration", &m->configuration, err));
    if (m->has_created_time) DC_TRY(put_ki64(o, &f, "createdTime", m->created_time, err));
    return dc_buf_puts(o, "}}", err);
}

static int put_protocol(dc_buf *o, const dc_delta_protocol *p, dc_err *err)
{
    bool f = true;
    DC_TRY(dc_buf_puts(o, "{\"protocol\":{", err));
    DC_TRY(put_ki64(o, &f, "minReaderVersion", p->min_reader_version, err));
    DC_TRY(put_ki64(o, &f, "minWriterVersion", p->min_writer_version, err));
    if (p->has_reader_features)
        DC_TRY(put_strs(o, &f, "readerFeatures", p->reader_features, p->n_reader_features, err));
    if (p->has_writer_features)
        DC_TRY(put_strs(o, &f, "writerFeatures", p->writer_features, p->n_writer_features, err));
    return dc_buf_puts(o, "}}", err);
}

static int put_action(dc_buf *o, const dc_delta_action *act, bool checkpoint, dc_err *err)
{
    bool f = true;
    switch (act->type) {
    case DC_DELTA_ACTION_ADD: return put_add(o, &act->u.add, err);
    case DC_DELTA_ACTION_REMOVE: return put_remove(o, &act->u.remove, checkpoint, err);
    case DC_DELTA_ACTION_METADATA: return put_metadata(o, &act->u.metadata, err);
    case DC_DELTA_ACTION_PROTOCOL: return put_protocol(o, &act->u.protocol, err);
    case DC_DELTA_ACTION_TXN:
        DC_TRY(dc_buf_puts(o, "{\"txn\":{", err));
        DC_TRY(put_kstr(o, &f, "appId", act->u.txn.app_id, err));
        DC_TRY(put_ki64(o, &f, "version", act->u.txn.version, err));
        if (act->u.txn.has_last_updated)
            DC_TRY(put_ki64(o, &f, "lastUpdated", act->u.txn.last_updated, err));
        return dc_buf_puts(o, "}}", err);
    case DC_DELTA_ACTION_DOMAIN_METADATA:
        DC_TRY(dc_buf_puts(o, "{\"domainMetadata\":{", err));
        DC_TRY(put_kstr(o, &f, "domain", act->u.domain.domain, err));
        DC_TRY(put_kstr(o, &f, "configuration",
                        act->u.domain.configuration ? act->u.domain.configuration : "", err));
        DC_TRY(put_kbool(o, &f, "removed", act->u.domain.removed, err));
        return dc_buf_puts(o, "}}", err);
    default:
        return dc_err_set(err, DC_EINTERNAL, "write: action type %d has no writer",
                          (int)act->type);
    }
}

int dc_delta_w_action_json(dc_buf *out, const dc_delta_action *act, dc_err *err)
{
    return put_action(out, act, false, err);
}

int dc_delta_w_checkpoint_row_json(dc_buf *out, const dc_delta_action *act, dc_err *err)
{
    return put_action(out, act, true, err);
}
