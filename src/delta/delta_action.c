/*
 * delta: one JSON line (a commit line, a V2 JSON checkpoint line, or a
 * checkpoint row as the Parquet reader prints it) → one action.
 *
 * Unknown actions and unknown fields are ignored (PROTOCOL.md, Protocol
 * Evolution). Strings are borrowed from the DOM, which lives in the caller's
 * arena, so parsing a line costs one DOM and no copies.
 */
#include "delta_int.h"

#include <stdio.h>
#include <stdlib.h>

/* Where we are, for messages: "<file>:<line>: add.size: ...". */
typedef struct actx {
    dc_arena *arena;
    const char *file;
    uint64_t line;
    const char *action;   /* "add", "remove", ... */
    dc_err *err;
} actx;

static const char *kind_of(const dc_json *v)
{
    if (!v) return "nothing";
    switch (v->type) {
    case DC_JSON_NULL: return "null";
    case DC_JSON_FALSE:
    case DC_JSON_TRUE: return "a boolean";
    case DC_JSON_NUMBER: return "a number";
    case DC_JSON_STRING: return "a string";
    case DC_JSON_ARRAY: return "an array";
    case DC_JSON_OBJECT: return "an object";
    }
    return "?";
}

static int bad_field(const actx *c, const char *field, const char *expected, const dc_json *v)
{
    return dc_err_set(c->err, DC_ECORRUPT, "%s:%llu: %s.%s: expected %s, found %s", c->file,
                      (unsigned long long)c->line, c->action, field, expected,
                      v ? kind_of(v) : "it missing");
}

static bool is_null(const dc_json *v) { return !v || v->type == DC_JSON_NULL; }

/* Optional string: absent or null → NULL. */
static int opt_str(const actx *c, const dc_json *o, const char *field, const char **out)
{
    const dc_json *v = dc_json_get(o, field);
    *out = NULL;
    if (is_null(v)) return 0;
    if (v->type != DC_JSON_STRING) return bad_field(c, field, "a string", v);
    *out = v->u.str;
    return 0;
}

static int req_str(const actx *c, const dc_json *o, const char *field, const char **out)
{
    DC_TRY(opt_str(c, o, field, out));
    if (!*out) return bad_field(c, field, "a string", dc_json_get(o, field));
    return 0;
}

static int opt_i64(const actx *c, const dc_json *o, const char *field, bool *has, int64_t *out)
{
    const dc_json *v = dc_json_get(o, field);
    *has = false;
    *out = 0;
    if (is_null(v)) return 0;
    dc_err tmp;
    if (v->type != DC_JSON_NUMBER || dc_json_i64(out, v, field, &tmp) < 0)
        return bad_field(c, field, "an integer", v);
    *has = true;
    return 0;
}

static int req_i64(const actx *c, const dc_json *o, const char *field, int64_t *out)
{
    bool has;
    DC_TRY(opt_i64(c, o, field, &has, out));
    if (!has) return bad_field(c, field, "an integer", dc_json_get(o, field));
    return 0;
}

static int req_i32(const actx *c, const dc_json *o, const char *field, int32_t *out)
{
    int64_t v;
    DC_TRY(req_i64(c, o, field, &v));
    if (v < INT32_MIN || v > INT32_MAX)
        return bad_field(c, field, "a 32-bit integer", dc_json_get(o, field));
    *out = (int32_t)v;
    return 0;
}

static int opt_bool(const actx *c, const dc_json *o, const char *field, bool *has, bool *out)
{
    const dc_json *v = dc_json_get(o, field);
    *has = false;
    *out = false;
    if (is_null(v)) return 0;
    if (v->type != DC_JSON_TRUE && v->type != DC_JSON_FALSE)
        return bad_field(c, field, "a boolean", v);
    *has = true;
    *out = v->type == DC_JSON_TRUE;
    return 0;
}

static int req_bool(const actx *c, const dc_json *o, const char *field, bool *out)
{
    bool has;
    DC_TRY(opt_bool(c, o, field, &has, out));
    if (!has) return bad_field(c, field, "a boolean", dc_json_get(o, field));
    return 0;
}

static void *alloc_n(const actx *c, size_t n, size_t size)
{
    size_t bytes;
    if (dc_mul_overflow_sz(n, size, &bytes)) {
        dc_err_set(c->err, DC_ELIMIT, "%s:%llu: too many entries", c->file,
                   (unsigned long long)c->line);
        return NULL;
    }
    return dc_arena_alloc(c->arena, bytes ? bytes : 1, c->err);
}

/* Map[String,String]: a JSON object of strings/nulls, or (checkpoint rows)
 * an array of {"key":k,"value":v}. Absent or null → empty. */
static int opt_map(const actx *c, const dc_json *o, const char *field, dc_delta_map *out)
{
    const dc_json *v = dc_json_get(o, field);
    out->n = 0;
    out->items = NULL;
    if (is_null(v)) return 0;
    if (v->type != DC_JSON_OBJECT && v->type != DC_JSON_ARRAY)
        return bad_field(c, field, "a map (object)", v);
    if (v->len == 0) return 0;
    dc_delta_kv *kv = alloc_n(c, v->len, sizeof *kv);
    if (!kv) return c->err->code;
    for (uint32_t i = 0; i < v->len; i++) {
        const dc_json *m = &v->u.items[i];
        const dc_json *val = m;
        if (v->type == DC_JSON_OBJECT) {
            kv[i].key = m->key;
        } else {
            const char *k = dc_json_str(dc_json_get(m, "key"));
            if (m->type != DC_JSON_OBJECT || !k)
                return bad_field(c, field, "map entries {\"key\":string,\"value\":...}", m);
            kv[i].key = k;
            val = dc_json_get(m, "value");
        }
        if (is_null(val)) {
            kv[i].value = NULL;
        } else if (val->type == DC_JSON_STRING) {
            kv[i].value = val->u.str;
        } else {
            return bad_field(c, field, "string values", val);
        }
    }
    out->n = v->len;
    out->items = kv;
    return 0;
}

/* Array of strings; absent or null → has=false. */
static int opt_str_array(const actx *c, const dc_json *o, const char *field, bool *has,
                         uint32_t *n_out, const char ***out)
{
    const dc_json *v = dc_json_get(o, field);
    *has = false;
    *n_out = 0;
    *out = NULL;
    if (is_null(v)) return 0;
    if (v->type != DC_JSON_ARRAY) return bad_field(c, field, "an array of strings", v);
    const char **a = alloc_n(c, v->len, sizeof *a);
    if (!a) return c->err->code;
    for (uint32_t i = 0; i < v->len; i++) {
        if (v->u.items[i].type != DC_JSON_STRING)
            return bad_field(c, field, "an array of strings", &v->u.items[i]);
        a[i] = v->u.items[i].u.str;
    }
    *has = true;
    *n_out = v->len;
    *out = a;
    return 0;
}

/* ------------------------------------------------------------ actions */

static int parse_protocol(const actx *c, const dc_json *o, dc_delta_protocol *p)
{
    memset(p, 0, sizeof *p);
    DC_TRY(req_i32(c, o, "minReaderVersion", &p->min_reader_version));
    DC_TRY(req_i32(c, o, "minWriterVersion", &p->min_writer_version));
    DC_TRY(opt_str_array(c, o, "readerFeatures", &p->has_reader_features, &p->n_reader_features,
                         &p->reader_features));
    DC_TRY(opt_str_array(c, o, "writerFeatures", &p->has_writer_features, &p->n_writer_features,
                         &p->writer_features));
    return 0;
}

static int parse_metadata(const actx *c, const dc_json *o, dc_delta_metadata *m)
{
    memset(m, 0, sizeof *m);
    bool has;
    DC_TRY(req_str(c, o, "id", &m->id));
    DC_TRY(opt_str(c, o, "name", &m->name));
    DC_TRY(opt_str(c, o, "description", &m->description));
    const dc_json *fmt = dc_json_get(o, "format");
    if (!is_null(fmt)) {
        if (fmt->type != DC_JSON_OBJECT) return bad_field(c, "format", "an object", fmt);
        actx fc = *c;
        fc.action = "metaData.format";
        DC_TRY(opt_str(&fc, fmt, "provider", &m->format_provider));
        DC_TRY(opt_map(&fc, fmt, "options", &m->format_options));
    }
    if (!m->format_provider) m->format_provider = "parquet";
    DC_TRY(req_str(c, o, "schemaString", &m->schema_string));
    DC_TRY(opt_str_array(c, o, "partitionColumns", &has, &m->n_partition_columns,
                         &m->partition_columns));
    DC_TRY(opt_i64(c, o, "createdTime", &m->has_created_time, &m->created_time));
    DC_TRY(opt_map(c, o, "configuration", &m->configuration));
    return 0;
}

static int parse_dv(const actx *c, const dc_json *o, bool *has, dc_delta_dv_desc *dv)
{
    const dc_json *v = dc_json_get(o, "deletionVector");
    memset(dv, 0, sizeof *dv);
    *has = false;
    if (is_null(v)) return 0;
    if (v->type != DC_JSON_OBJECT) return bad_field(c, "deletionVector", "an object", v);
    /* A checkpoint row prints a null struct's members as nulls only when the
     * struct itself is non-null; treat a descriptor without storageType as absent. */
    if (is_null(dc_json_get(v, "storageType"))) return 0;
    actx dc = *c;
    char action[64];
    snprintf(action, sizeof action, "%s.deletionVector", c->action);
    dc.action = action;
    const char *st;
    int64_t off;
    DC_TRY(req_str(&dc, v, "storageType", &st));
    if (strlen(st) != 1 || !strchr("uip", st[0]))
        return dc_err_set(c->err, DC_EUNSUPPORTED,
                          "%s:%llu: %s: storageType '%s' is not one of u, i, p", c->file,
                          (unsigned long long)c->line, action, st);
    dv->storage_type = st[0];
    DC_TRY(req_str(&dc, v, "pathOrInlineDv", &dv->path_or_inline));
    DC_TRY(opt_i64(&dc, v, "offset", &dv->has_offset, &off));
    if (off < 0 || off > INT32_MAX)
        return bad_field(&dc, "offset", "a non-negative 32-bit integer", dc_json_get(v, "offset"));
    dv->offset = (int32_t)off;
    DC_TRY(req_i32(&dc, v, "sizeInBytes", &dv->size_in_bytes));
    if (dv->size_in_bytes < 0)
        return bad_field(&dc, "sizeInBytes", "a size >= 0", dc_json_get(v, "sizeInBytes"));
    DC_TRY(req_i64(&dc, v, "cardinality", &dv->cardinality));
    if (dv->cardinality < 0)
        return bad_field(&dc, "cardinality", "a count >= 0", dc_json_get(v, "cardinality"));
    DC_TRY(opt_i64(&dc, v, "maxRowIndex", &dv->has_max_row_index, &dv->max_row_index));
    *has = true;
    return 0;
}

/* stats: the JSON text; from a checkpoint that only has stats_parsed, the
 * struct is serialised back to the same JSON shape. */
static int parse_stats(const actx *c, const dc_json *o, const char **out)
{
    DC_TRY(opt_str(c, o, "stats", out));
    const dc_json *sp = dc_json_get(o, "stats_parsed");
    if (*out || is_null(sp)) return 0;
    if (sp->type != DC_JSON_OBJECT) return bad_field(c, "stats_parsed", "an object", sp);
    dc_buf b;
    dc_buf_init(&b, DC_JSON_MAX_DOC_BYTES);
    int rc = dc_json_write(&b, sp, c->err);
    if (rc == 0) {
        *out = dc_arena_strndup(c->arena, (const char *)b.data, b.len, c->err);
        if (!*out) rc = c->err->code;
    }
    dc_buf_dispose(&b);
    return rc;
}

static int parse_add(const actx *c, const dc_json *o, dc_delta_add *a)
{
    memset(a, 0, sizeof *a);
    DC_TRY(req_str(c, o, "path", &a->path));
    if (is_null(dc_json_get(o, "partitionValues")))
        return bad_field(c, "partitionValues", "a map (object)", dc_json_get(o, "partitionValues"));
    DC_TRY(opt_map(c, o, "partitionValues", &a->partition_values));
    DC_TRY(req_i64(c, o, "size", &a->size));
    DC_TRY(req_i64(c, o, "modificationTime", &a->modification_time));
    DC_TRY(req_bool(c, o, "dataChange", &a->data_change));
    DC_TRY(parse_stats(c, o, &a->stats));
    DC_TRY(opt_map(c, o, "tags", &a->tags));
    DC_TRY(parse_dv(c, o, &a->has_dv, &a->dv));
    DC_TRY(opt_i64(c, o, "baseRowId", &a->has_base_row_id, &a->base_row_id));
    DC_TRY(opt_i64(c, o, "defaultRowCommitVersion", &a->has_default_row_commit_version,
                   &a->default_row_commit_version));
    DC_TRY(opt_str(c, o, "clusteringProvider", &a->clustering_provider));
    if (a->size < 0) return bad_field(c, "size", "a size >= 0", dc_json_get(o, "size"));
    return 0;
}

static int parse_remove(const actx *c, const dc_json *o, dc_delta_remove *r)
{
    memset(r, 0, sizeof *r);
    bool has;
    DC_TRY(req_str(c, o, "path", &r->path));
    DC_TRY(opt_i64(c, o, "deletionTimestamp", &r->has_deletion_timestamp,
                   &r->deletion_timestamp));
    DC_TRY(req_bool(c, o, "dataChange", &r->data_change));
    DC_TRY(opt_bool(c, o, "extendedFileMetadata", &has, &r->extended_file_metadata));
    DC_TRY(opt_map(c, o, "partitionValues", &r->partition_values));
    DC_TRY(opt_i64(c, o, "size", &r->has_size, &r->size));
    DC_TRY(opt_str(c, o, "stats", &r->stats));
    DC_TRY(opt_map(c, o, "tags", &r->tags));
    DC_TRY(parse_dv(c, o, &r->has_dv, &r->dv));
    DC_TRY(opt_i64(c, o, "baseRowId", &r->has_base_row_id, &r->base_row_id));
    DC_TRY(opt_i64(c, o, "defaultRowCommitVersion", &r->has_default_row_commit_version,
                   &r->default_row_commit_version));
    return 0;
}

static int parse_txn(const actx *c, const dc_json *o, dc_delta_txn *t)
{
    memset(t, 0, sizeof *t);
    DC_TRY(req_str(c, o, "appId", &t->app_id));
    DC_TRY(req_i64(c, o, "version", &t->version));
    DC_TRY(opt_i64(c, o, "lastUpdated", &t->has_last_updated, &t->last_updated));
    return 0;
}

static int parse_domain(const actx *c, const dc_json *o, dc_delta_domain *d)
{
    memset(d, 0, sizeof *d);
    DC_TRY(req_str(c, o, "domain", &d->domain));
    DC_TRY(req_str(c, o, "configuration", &d->configuration));
    DC_TRY(req_bool(c, o, "removed", &d->removed));
    return 0;
}

static int parse_cdc(const actx *c, const dc_json *o, dc_delta_cdc *d)
{
    memset(d, 0, sizeof *d);
    bool has;
    DC_TRY(req_str(c, o, "path", &d->path));
    DC_TRY(opt_map(c, o, "partitionValues", &d->partition_values));
    DC_TRY(req_i64(c, o, "size", &d->size));
    DC_TRY(opt_bool(c, o, "dataChange", &has, &d->data_change));
    DC_TRY(opt_map(c, o, "tags", &d->tags));
    return 0;
}

static int parse_sidecar(const actx *c, const dc_json *o, dc_delta_sidecar *s)
{
    memset(s, 0, sizeof *s);
    DC_TRY(req_str(c, o, "path", &s->path));
    DC_TRY(req_i64(c, o, "sizeInBytes", &s->size_in_bytes));
    DC_TRY(req_i64(c, o, "modificationTime", &s->modification_time));
    return 0;
}

static int keep_commit_info(const actx *c, const dc_json *o, dc_delta_action *out)
{
    dc_buf b;
    dc_buf_init(&b, DC_JSON_MAX_DOC_BYTES);
    int rc = dc_json_write(&b, o, c->err);
    if (rc == 0) {
        char *s = dc_arena_strndup(c->arena, (const char *)b.data, b.len, c->err);
        if (!s) rc = c->err->code;
        out->u.commit_info.json = s;
        out->u.commit_info.len = b.len;
    }
    dc_buf_dispose(&b);
    return rc;
}

static const struct {
    const char *key;
    dc_delta_action_type type;
} known[] = {
    {"add", DC_DELTA_ACTION_ADD},
    {"remove", DC_DELTA_ACTION_REMOVE},
    {"metaData", DC_DELTA_ACTION_METADATA},
    {"protocol", DC_DELTA_ACTION_PROTOCOL},
    {"txn", DC_DELTA_ACTION_TXN},
    {"domainMetadata", DC_DELTA_ACTION_DOMAIN_METADATA},
    {"commitInfo", DC_DELTA_ACTION_COMMIT_INFO},
    {"cdc", DC_DELTA_ACTION_CDC},
    {"checkpointMetadata", DC_DELTA_ACTION_CHECKPOINT_METADATA},
    {"sidecar", DC_DELTA_ACTION_SIDECAR},
};

static int dispatch(const actx *c, const dc_json *body, dc_delta_action *out)
{
    switch (out->type) {
    case DC_DELTA_ACTION_ADD: return parse_add(c, body, &out->u.add);
    case DC_DELTA_ACTION_REMOVE: return parse_remove(c, body, &out->u.remove);
    case DC_DELTA_ACTION_METADATA: return parse_metadata(c, body, &out->u.metadata);
    case DC_DELTA_ACTION_PROTOCOL: return parse_protocol(c, body, &out->u.protocol);
    case DC_DELTA_ACTION_TXN: return parse_txn(c, body, &out->u.txn);
    case DC_DELTA_ACTION_DOMAIN_METADATA: return parse_domain(c, body, &out->u.domain);
    case DC_DELTA_ACTION_COMMIT_INFO: return keep_commit_info(c, body, out);
    case DC_DELTA_ACTION_CDC: return parse_cdc(c, body, &out->u.cdc);
    case DC_DELTA_ACTION_SIDECAR: return parse_sidecar(c, body, &out->u.sidecar);
    case DC_DELTA_ACTION_CHECKPOINT_METADATA:
        return req_i64(c, body, "version", &out->u.checkpoint_version);
    case DC_DELTA_ACTION_NONE: break;
    }
    return 0;
}

int dc_delta_action_from_json(dc_delta_action *out, dc_arena *arena, const dc_json *obj,
                              const char *file, uint64_t line, dc_err *err)
{
    memset(out, 0, sizeof *out);
    actx c = {arena, file ? file : "(log)", line, "", err};
    if (!obj || obj->type != DC_JSON_OBJECT)
        return dc_err_set(err, DC_ECORRUPT, "%s:%llu: expected an action object, found %s",
                          c.file, (unsigned long long)line, kind_of(obj));
    const dc_json *body = NULL;
    dc_delta_action_type type = DC_DELTA_ACTION_NONE;
    for (uint32_t i = 0; i < obj->len; i++) {
        const dc_json *m = &obj->u.items[i];
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
            if (strcmp(m->key, known[k].key) != 0 || is_null(m)) continue;
            if (body)
                return dc_err_set(err, DC_ECORRUPT, "%s:%llu: one line holds two actions (%s and %s)",
                                  c.file, (unsigned long long)line, c.action, known[k].key);
            if (m->type != DC_JSON_OBJECT)
                return dc_err_set(err, DC_ECORRUPT, "%s:%llu: %s: expected an object, found %s",
                                  c.file, (unsigned long long)line, known[k].key, kind_of(m));
            body = m;
            c.action = known[k].key;
            type = known[k].type;
        }
    }
    if (!body) return 0;
    out->type = type;
    int rc = dispatch(&c, body, out);
    if (rc < 0) memset(&out->u, 0, sizeof out->u), out->type = DC_DELTA_ACTION_NONE;
    return rc;
}

int dc_delta_action_parse(dc_delta_action *out, dc_arena *arena, const char *text, size_t n,
                          const char *file, uint64_t line, dc_err *err)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i == n) return 0;  /* blank line */
    dc_json *doc = NULL;
    int rc = dc_json_parse(&doc, arena, text, n, err);
    if (rc < 0) {
        dc_err_prefix(err, "%s:%llu", file ? file : "(log)", (unsigned long long)line);
        if (rc == DC_EINVAL) {  /* malformed JSON in the log is corruption */
            rc = DC_ECORRUPT;
            if (err) err->code = rc;
        }
        return rc;
    }
    return dc_delta_action_from_json(out, arena, doc, file, line, err);
}

const char *dc_delta_map_get(const dc_delta_map *m, const char *key, bool *found)
{
    for (uint32_t i = 0; i < m->n; i++) {
        if (strcmp(m->items[i].key, key) == 0) {
            if (found) *found = true;
            return m->items[i].value;
        }
    }
    if (found) *found = false;
    return NULL;
}
