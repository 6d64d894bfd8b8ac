/*
 * Data files of a table: rows (JSON objects with display names) are split by
 * their partition values and streamed into one Parquet file per partition,
 * each under Hive-style directories ("p=value/part-00000-<uuid>.c000.zstd.parquet"),
 * through a storage writer. finish() closes every file (fsync, rename into
 * place), computes its stats from the footer and adds it to a transaction.
 *
 * Partition columns are not stored in the files (Delta keeps them in the
 * log); their values are serialized as PROTOCOL.md "Partition Value
 * Serialization" says, timestamps in the recommended UTC ISO-8601 form.
 */
#include "delta_write_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

/* Open partitions at once: each holds a row group in memory. */
#define DC_DELTA_MAX_OPEN_PARTITIONS 4096

typedef struct part_file {
    char *key;                  /* partition tuple, for lookup (dc_malloc) */
    char **values;              /* n_part values, NULL for null (dc_malloc each) */
    char *rel_path;             /* storage path of the file (dc_malloc) */
    dc_storage_writer *sw;      /* the file being written; NULL once committed */
    dc_pq_sink sink;            /* sink into sw */
    dc_pq_writer *pw;           /* Parquet writer */
} part_file;

struct dc_delta_file_writer {
    dc_delta_snapshot *snap;        /* borrowed */
    dc_storage *s;                  /* borrowed from snap */
    dc_arena schema_arena;          /* the schema DOMs */
    dc_delta_schema *dschema;       /* the table schema (partition column types) */
    dc_pq_schema *data_schema;      /* data columns only */
    uint32_t n_part;
    const dc_delta_field **part_fields; /* n_part, in partition order (into dschema) */
    dc_delta_stats_opts stats_opts;
    dc_pq_writer_opts pq_opts;
    const char *codec_tag;          /* in file names: "zstd", "snappy", ... */
    dc_arena row_arena;             /* a filtered row, reset per row */
    part_file *files;               /* n_files open files */
    size_t n_files, cap_files;
};

/* ------------------------------------------------------------ setup */

int dc_delta_data_file_opts(dc_pq_writer_opts *opts, const char **codec_tag,
                            const dc_delta_metadata *m, dc_err *err)
{
    bool found = false;
    const char *c = dc_delta_map_get(&m->configuration, "delta.parquet.compression.codec", &found);
    static const struct { const char *name; pq_codec codec; const char *tag; } map[] = {
        {"zstd", PQ_CODEC_ZSTD, "zstd"}, {"snappy", PQ_CODEC_SNAPPY, "snappy"},
        {"gzip", PQ_CODEC_GZIP, "gz"}, {"lz4_raw", PQ_CODEC_LZ4_RAW, "lz4raw"},
        {"uncompressed", PQ_CODEC_UNCOMPRESSED, "uncompressed"},
        {"none", PQ_CODEC_UNCOMPRESSED, "uncompressed"},
    };
    dc_pq_writer_opts_init(opts);
    *codec_tag = "zstd";
    if (!c) return 0;
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcasecmp(c, map[i].name) == 0) {
            opts->codec = map[i].codec;
            *codec_tag = map[i].tag;
            return 0;
        }
    return dc_err_set(err, DC_EUNSUPPORTED,
                      "table property delta.parquet.compression.codec: '%s' is not one of zstd, "
                      "snappy, gzip, lz4_raw, uncompressed", c);
}

bool dc_delta_is_partition_column(const dc_delta_metadata *m, const char *name)
{
    for (uint32_t i = 0; i < m->n_partition_columns; i++)
        if (strcmp(m->partition_columns[i], name) == 0) return true;
    return false;
}

int dc_delta_data_schema_json(const dc_json **out, dc_arena *arena, const dc_json *doc,
                              const dc_delta_metadata *m, dc_err *err)
{
    const dc_json *fields = dc_json_get(doc, "fields");
    if (doc->type != DC_JSON_OBJECT || !fields || fields->type != DC_JSON_ARRAY)
        return dc_err_set(err, DC_ECORRUPT, "the table schema has no fields array");
    dc_json *root = dc_arena_alloc(arena, sizeof *root, err);
    dc_json *members = root ? dc_arena_alloc(arena, (doc->len + 1) * sizeof *root, err) : NULL;
    dc_json *kept = members ? dc_arena_alloc(arena, (fields->len + 1) * sizeof *root, err)
                            : NULL;
    if (!kept) return err->code;
    uint32_t nk = 0;
    for (uint32_t i = 0; i < fields->len; i++) {
        const char *name = dc_json_str(dc_json_get(&fields->u.items[i], "name"));
        if (!name || !dc_delta_is_partition_column(m, name)) kept[nk++] = fields->u.items[i];
    }
    *root = *doc;
    root->u.items = members;
    for (uint32_t i = 0; i < doc->len; i++) {
        members[i] = doc->u.items[i];
        if (&doc->u.items[i] == fields) {
            members[i].len = nk;
            members[i].u.items = kept;
        }
    }
    *out = root;
    return 0;
}

static int setup_schemas(dc_delta_file_writer *w, const char *schema_json, dc_err *err)
{
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(w->snap);
    dc_json *doc = NULL;
    const dc_json *data = NULL;
    DC_TRY(dc_delta_schema_parse(&w->dschema, schema_json, strlen(schema_json), err));
    DC_TRY(dc_json_parse(&doc, &w->schema_arena, schema_json, strlen(schema_json), err));
    DC_TRY(dc_delta_data_schema_json(&data, &w->schema_arena, doc, m, err));
    DC_TRY(dc_pq_schema_from_delta(&w->data_schema, data, err));
    w->n_part = m->n_partition_columns;
    if (!w->n_part) return 0;
    w->part_fields = dc_calloc(w->n_part, sizeof *w->part_fields);
    if (!w->part_fields) return dc_err_set(err, DC_ENOMEM, "data files: out of memory");
    for (uint32_t i = 0; i < w->n_part; i++)
        if (!(w->part_fields[i] = dc_delta_schema_find(w->dschema, m->partition_columns[i])))
            return dc_err_set(err, DC_ECORRUPT, "partition column '%s' is not in the schema",
                              m->partition_columns[i]);
    return 0;
}

int dc_delta_file_writer_new(dc_delta_file_writer **out, dc_delta_snapshot *snap,
                             const char *schema_json, dc_err *err)
{
    *out = NULL;
    dc_delta_file_writer *w = dc_calloc(1, sizeof *w);
    if (!w) return dc_err_set(err, DC_ENOMEM, "data files: out of memory");
    w->snap = snap;
    w->s = dc_delta_snapshot_storage(snap);
    dc_arena_init(&w->schema_arena, DC_JSON_MAX_DOC_BYTES);
    dc_arena_init(&w->row_arena, DC_JSON_MAX_DOC_BYTES);
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(snap);
    int rc = dc_delta_stats_opts_from_metadata(&w->stats_opts, dc_delta_snapshot_protocol(snap),
                                               m, err);
    if (rc == 0) rc = dc_delta_data_file_opts(&w->pq_opts, &w->codec_tag, m, err);
    if (rc == 0) rc = setup_schemas(w, schema_json ? schema_json : m->schema_string, err);
    if (rc < 0) {
        dc_delta_file_writer_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

static void part_file_dispose(part_file *f)
{
    dc_pq_writer_free(f->pw);
    dc_storage_writer_abort(f->sw);
    dc_free(f->key);
    dc_free(f->rel_path);
    dc_free(f->values);
}

void dc_delta_file_writer_free(dc_delta_file_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n_files; i++) {
        for (uint32_t j = 0; j < w->n_part; j++) dc_free(w->files[i].values[j]);
        part_file_dispose(&w->files[i]);
    }
    dc_free(w->files);
    dc_free(w->part_fields);
    dc_pq_schema_free(w->data_schema);
    dc_delta_schema_free(w->dschema);
    dc_arena_dispose(&w->schema_arena);
    dc_arena_dispose(&w->row_arena);
    dc_free(w);
}

/* ------------------------------------------------- partition values */

/* The serialized partition value of JSON value v for field f (appended to
 * out); *is_null when it is null. */
static int pvalue_string(dc_buf *out, bool *is_null, const dc_delta_field *f, const dc_json *v,
                         dc_err *err)
{
    *is_null = !v || v->type == DC_JSON_NULL;
    if (*is_null) return 0;
    switch (f->type) {
    case DC_TYPE_BOOLEAN:
        if (v->type != DC_JSON_TRUE && v->type != DC_JSON_FALSE) break;
        return dc_buf_puts(out, v->type == DC_JSON_TRUE ? "true" : "false", err);
    case DC_TYPE_BYTE: case DC_TYPE_SHORT: case DC_TYPE_INT: case DC_TYPE_LONG:
    case DC_TYPE_FLOAT: case DC_TYPE_DOUBLE: case DC_TYPE_DECIMAL:
        if (v->type != DC_JSON_NUMBER && v->type != DC_JSON_STRING) break;
        return dc_buf_append(out, v->u.str, v->len, err);
    case DC_TYPE_STRING: case DC_TYPE_DATE:
        if (v->type != DC_JSON_STRING) break;
        return dc_buf_append(out, v->u.str, v->len, err);
    case DC_TYPE_TIMESTAMP: case DC_TYPE_TIMESTAMP_NTZ: {
        if (v->type != DC_JSON_STRING || v->len < 19 || v->u.str[10] != 'T') break;
        const bool utc = f->type == DC_TYPE_TIMESTAMP;
        if (utc && v->u.str[v->len - 1] != 'Z') break;
        if (utc) return dc_buf_append(out, v->u.str, v->len, err);
        DC_TRY(dc_buf_append(out, v->u.str, 10, err));
        DC_TRY(dc_buf_putc(out, ' ', err));
        return dc_buf_append(out, v->u.str + 11, v->len - 11, err);
    }
    default:
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "partition column '%s': its type can not be a partition value here",
                          f->name);
    }
    return dc_err_set(err, DC_EINVAL, "partition column '%s': value of JSON type %d does not fit "
                      "its type", f->name, (int)v->type);
}

/* Key of the row's partition tuple: values separated by 0x01, null as 0x02. */
static int partition_key(dc_buf *key, const dc_delta_file_writer *w, const dc_json *row,
                         dc_err *err)
{
    for (uint32_t i = 0; i < w->n_part; i++) {
        bool is_null = false;
        const size_t at = key->len;
        DC_TRY(pvalue_string(key, &is_null, w->part_fields[i],
                             dc_json_get(row, w->part_fields[i]->name), err));
        if (key->len > at && (memchr(key->data + at, 1, key->len - at) ||
                               memchr(key->data + at, 2, key->len - at)))
            return dc_err_set(err, DC_EINVAL, "partition column '%s': control bytes 0x01/0x02 "
                              "in a value", w->part_fields[i]->name);
        if (is_null) DC_TRY(dc_buf_putc(key, 2, err));
        DC_TRY(dc_buf_putc(key, 1, err));
    }
    return dc_buf_putc(key, 0, err);
}

/* ------------------------------------------------------------- files */

/* Splits the key back into values (dc_malloc'd strings, NULL for null). */
static int key_values(char ***out, const char *key, uint32_t n, dc_err *err)
{
    char **v = dc_calloc(n ? n : 1, sizeof *v);
    if (!v) return dc_err_set(err, DC_ENOMEM, "data files: out of memory");
    const char *p = key;
    for (uint32_t i = 0; i < n; i++) {
        const char *end = strchr(p, 1);
        DC_ASSERT(end);
        if (!(end - p == 1 && *p == 2) && !(v[i] = dc_strndup(p, (size_t)(end - p)))) {
            for (uint32_t j = 0; j < i; j++) dc_free(v[j]);
            dc_free(v);
            return dc_err_set(err, DC_ENOMEM, "data files: out of memory");
        }
        p = end + 1;
    }
    *out = v;
    return 0;
}

static int file_path(part_file *f, const dc_delta_file_writer *w, dc_err *err)
{
    char uuid[37];
    dc_buf p;
    dc_buf_init(&p, 1 << 20);
    int rc = dc_delta_uuid_v4(uuid, err);
    for (uint32_t i = 0; rc == 0 && i < w->n_part; i++) {
        rc = dc_delta_partition_dir(&p, w->part_fields[i]->name, f->values[i], err);
        if (rc == 0) rc = dc_buf_putc(&p, '/', err);
    }
    if (rc == 0) rc = dc_buf_appendf(&p, err, "part-%05zu-%s.c000.%s.parquet", w->n_files, uuid,
                                     w->codec_tag);
    if (rc == 0) rc = dc_buf_putc(&p, 0, err);
    if (rc == 0) f->rel_path = (char *)dc_buf_steal(&p, NULL);
    dc_buf_dispose(&p);
    return rc;
}

static int open_file(part_file **out, dc_delta_file_writer *w, const char *key, dc_err *err)
{
    if (w->n_files >= DC_DELTA_MAX_OPEN_PARTITIONS)
        return dc_err_set(err, DC_ELIMIT, "data files: more than %d partitions in one batch",
                          DC_DELTA_MAX_OPEN_PARTITIONS);
    if (w->n_files == w->cap_files) {
        const size_t cap = w->cap_files ? w->cap_files * 2 : 8;
        part_file *nf = dc_realloc(w->files, cap * sizeof *nf);
        if (!nf) return dc_err_set(err, DC_ENOMEM, "data files: out of memory");
        w->files = nf;
        w->cap_files = cap;
    }
    part_file *f = &w->files[w->n_files];
    memset(f, 0, sizeof *f);
    int rc = 0;
    if (!(f->key = dc_strdup(key))) rc = dc_err_set(err, DC_ENOMEM, "data files: out of memory");
    if (rc == 0) rc = key_values(&f->values, key, w->n_part, err);
    if (rc == 0) rc = file_path(f, w, err);
    if (rc == 0) rc = dc_storage_writer_open(&f->sw, w->s, f->rel_path, err);
    if (rc == 0) {
        f->sink = (dc_pq_sink){1, f->sw, dc_storage_writer_write};
        rc = dc_pq_writer_new(&f->pw, w->data_schema, &w->pq_opts, &f->sink, err);
    }
    if (rc < 0) {
        if (f->values)
            for (uint32_t j = 0; j < w->n_part; j++) dc_free(f->values[j]);
        part_file_dispose(f);
        return rc;
    }
    w->n_files++;
    *out = f;
    return 0;
}

/* The row without its partition members (a shallow copy in row_arena). */
static int data_row(const dc_json **out, dc_delta_file_writer *w, const dc_json *row,
                    dc_err *err)
{
    if (!w->n_part) {
        *out = row;
        return 0;
    }
    dc_json *r = dc_arena_alloc(&w->row_arena, sizeof *r, err);
    dc_json *items = r ? dc_arena_alloc(&w->row_arena, (row->len + 1) * sizeof *items, err) : NULL;
    if (!items) return DC_ENOMEM;
    *r = *row;
    r->len = 0;
    r->u.items = items;
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(w->snap);
    for (uint32_t i = 0; i < row->len; i++)
        if (!dc_delta_is_partition_column(m, row->u.items[i].key))
            items[r->len++] = row->u.items[i];
    *out = r;
    return 0;
}

int dc_delta_file_writer_write_row(dc_delta_file_writer *w, const dc_json *row, dc_err *err)
{
    if (!row || row->type != DC_JSON_OBJECT)
        return dc_err_set(err, DC_EINVAL, "data files: a row must be a JSON object");
    dc_buf key;
    dc_buf_init(&key, 1 << 20);
    part_file *f = NULL;
    const dc_json *data = NULL;
    dc_arena_reset(&w->row_arena);
    int rc = partition_key(&key, w, row, err);
    for (size_t i = 0; rc == 0 && !f && i < w->n_files; i++)
        if (strcmp(w->files[i].key, (const char *)key.data) == 0) f = &w->files[i];
    if (rc == 0 && !f) rc = open_file(&f, w, (const char *)key.data, err);
    if (rc == 0) rc = data_row(&data, w, row, err);
    if (rc == 0) rc = dc_pq_writer_write_json_row(f->pw, data, err);
    dc_buf_dispose(&key);
    return rc;
}

int dc_delta_file_writer_write_columns(dc_delta_file_writer *w, const char *const *part_values,
                                       const dc_pq_column *cols, size_t n_rows, dc_err *err)
{
    dc_buf key;
    dc_buf_init(&key, 1 << 20);
    part_file *f = NULL;
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < w->n_part; i++) { /* partition_key's form */
        const char *v = part_values[i];
        if (v && strpbrk(v, "\x01\x02"))
            rc = dc_err_set(err, DC_EINVAL, "partition column '%s': control bytes 0x01/0x02 "
                            "in a value", w->part_fields[i]->name);
        if (rc == 0) rc = v ? dc_buf_puts(&key, v, err) : dc_buf_putc(&key, 2, err);
        if (rc == 0) rc = dc_buf_putc(&key, 1, err);
    }
    if (rc == 0) rc = dc_buf_putc(&key, 0, err);
    for (size_t i = 0; rc == 0 && !f && i < w->n_files; i++)
        if (strcmp(w->files[i].key, (const char *)key.data) == 0) f = &w->files[i];
    if (rc == 0 && !f) rc = open_file(&f, w, (const char *)key.data, err);
    if (rc == 0) rc = dc_pq_writer_write_columns(f->pw, cols, n_rows, err);
    dc_buf_dispose(&key);
    return rc;
}

const dc_pq_schema *dc_delta_file_writer_data_schema(const dc_delta_file_writer *w)
{
    return w->data_schema;
}

/* Closes one file, makes it durable, and adds it to tx. */
static int finish_file(dc_delta_file_writer *w, part_file *f, dc_delta_tx *tx, dc_err *err)
{
    dc_buf stats, path;
    dc_buf_init(&stats, DC_JSON_MAX_DOC_BYTES);
    dc_buf_init(&path, 1 << 20);
    dc_delta_kv *kv = dc_calloc(w->n_part ? w->n_part : 1, sizeof *kv);
    int rc = kv ? dc_pq_writer_close(f->pw, err) : dc_err_set(err, DC_ENOMEM, "out of memory");
    const uint64_t size = rc == 0 ? dc_pq_writer_bytes_written(f->pw) : 0;
    if (rc == 0) {
        dc_storage_writer *sw = f->sw;
        f->sw = NULL;
        rc = dc_storage_unknown_is_failure(dc_storage_writer_commit(sw, true, err), err);
    }
    if (rc == 0) rc = dc_delta_stats_from_footer(&stats, w->data_schema, dc_pq_writer_meta(f->pw),
                                                 &w->stats_opts, err);
    if (rc == 0) rc = dc_buf_putc(&stats, 0, err);
    if (rc == 0) rc = dc_delta_path_encode(&path, f->rel_path, strlen(f->rel_path), err);
    if (rc == 0) rc = dc_buf_putc(&path, 0, err);
    if (rc == 0) {
        for (uint32_t i = 0; i < w->n_part; i++)
            kv[i] = (dc_delta_kv){w->part_fields[i]->name, f->values[i]};
        dc_delta_add a;
        memset(&a, 0, sizeof a);
        a.path = (const char *)path.data;
        a.partition_values = (dc_delta_map){w->n_part, kv};
        a.size = (int64_t)size;
        a.modification_time = dc_delta_now_ms();
        a.data_change = true;
        a.stats = (const char *)stats.data;
        rc = dc_delta_tx_add(tx, &a, err);
    }
    if (rc < 0) dc_err_prefix(err, "data file %s", f->rel_path);
    dc_free(kv);
    dc_buf_dispose(&stats);
    dc_buf_dispose(&path);
    return rc;
}

int dc_delta_file_writer_finish(dc_delta_file_writer *w, dc_delta_tx *tx, dc_err *err)
{
    for (size_t i = 0; i < w->n_files; i++) {
        if (!w->files[i].sw) continue; /* already handed over */
        DC_TRY(finish_file(w, &w->files[i], tx, err));
    }
    return 0;
}
