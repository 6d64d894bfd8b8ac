/*
 * Parquet metadata (parquet.thrift) decoders and encoders over the Thrift
 * compact protocol. Decoding walks each struct with pq_tr_struct and one
 * field callback per struct; everything kept is copied into the caller's
 * arena. Encoders write fields in increasing id order and optional fields only
 * when set, as parquet-java and parquet-cpp do.
 */
#include "pq_meta.h"

#include "pq_thrift.h"

#define REQ(id) (1u << (id))
#define DESC(var, sname, names, req) \
    static const pq_tstruct var = {sname, names, sizeof names / sizeof names[0], req}

/* ============================================================ decoding helpers */

static int arena_alloc(pq_treader *r, size_t n, void **out, dc_err *err)
{
    *out = dc_arena_alloc(r->arena, n, err);
    if (*out) return 0;
    return err && err->code < 0 ? err->code : DC_ENOMEM;
}

/* An array of n zeroed elements (NULL when n is 0). */
static int rd_array(pq_treader *r, uint32_t n, size_t size, void **out, dc_err *err)
{
    size_t total;
    *out = NULL;
    if (n == 0) return 0;
    if (dc_mul_overflow_sz(n, size, &total))
        return dc_err_set(err, DC_ELIMIT, "array of %u elements overflows", n);
    DC_TRY(arena_alloc(r, total, out, err));
    memset(*out, 0, total);
    return 0;
}

static int copy_bytes(pq_treader *r, const uint8_t *p, uint32_t n, pq_bytes *out, dc_err *err)
{
    static const uint8_t empty[1];
    void *d = NULL;
    out->len = n;
    if (n == 0) {
        out->ptr = empty;
        return 0;
    }
    DC_TRY(arena_alloc(r, n, &d, err));
    memcpy(d, p, n);
    out->ptr = d;
    return 0;
}

static int rd_bytes(pq_treader *r, uint8_t t, pq_bytes *out, dc_err *err)
{
    const uint8_t *p = NULL;
    uint32_t n = 0;
    DC_TRY(pq_tr_field_binary(r, t, &p, &n, err));
    return copy_bytes(r, p, n, out, err);
}

/* A string copied into the arena with a terminating NUL. */
static int copy_string(pq_treader *r, const uint8_t *p, uint32_t n, const char **out,
                       dc_err *err)
{
    void *d = NULL;
    DC_TRY(arena_alloc(r, (size_t)n + 1, &d, err));
    memcpy(d, p, n);
    ((char *)d)[n] = '\0';
    *out = d;
    return 0;
}

static int rd_string(pq_treader *r, uint8_t t, const char **out, dc_err *err)
{
    const uint8_t *p = NULL;
    uint32_t n = 0;
    DC_TRY(pq_tr_field_binary(r, t, &p, &n, err));
    return copy_string(r, p, n, out, err);
}

/* An i32 enum that later code uses to index tables: must be in [lo, hi]. */
static int rd_enum(pq_treader *r, uint8_t t, int32_t lo, int32_t hi, const char *what,
                   int32_t *out, dc_err *err)
{
    DC_TRY(pq_tr_field_i32(r, t, out, err));
    if (*out < lo || *out > hi)
        return dc_err_set(err, DC_ECORRUPT, "unknown %s %d (expected %d..%d)", what, *out, lo,
                          hi);
    return 0;
}

static int rd_nonneg_i32(pq_treader *r, uint8_t t, int32_t *out, dc_err *err)
{
    DC_TRY(pq_tr_field_i32(r, t, out, err));
    if (*out < 0) return dc_err_set(err, DC_ECORRUPT, "negative value %d", *out);
    return 0;
}

static int rd_struct(pq_treader *r, uint8_t t, const pq_tstruct *d, void *obj, pq_tfield_fn fn,
                     dc_err *err)
{
    DC_TRY(pq_tr_expect(r, t, PQ_TT_STRUCT, err));
    return pq_tr_struct(r, d, obj, fn, err);
}

/* How to read one list<struct> field. */
typedef struct list_spec {
    const pq_tstruct *desc;   /* the element struct */
    pq_tfield_fn fn;          /* its field callback */
    size_t size;              /* bytes of one decoded element */
    void (*init)(void *);     /* sets defaults on a zeroed element, or NULL */
    uint32_t max;             /* most elements accepted (a dc_limits.h value) */
} list_spec;

static int rd_struct_list(pq_treader *r, uint8_t t, const list_spec *s, void **out, uint32_t *n,
                          dc_err *err)
{
    uint32_t count = 0;
    DC_TRY(pq_tr_list(r, t, PQ_TT_STRUCT, &count, err));
    if (count > s->max)
        return dc_err_set(err, DC_ELIMIT, "list of %u %s exceeds the limit of %u", count,
                          s->desc->name, s->max);
    DC_TRY(rd_array(r, count, s->size, out, err));
    *n = count;
    for (uint32_t i = 0; i < count; i++) {
        void *elem = (uint8_t *)*out + (size_t)i * s->size;
        if (s->init) s->init(elem);
        DC_TRY(pq_tr_struct(r, s->desc, elem, s->fn, err));
    }
    return 0;
}

static int ignore_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    (void)obj, (void)r, (void)id, (void)t, (void)err;
    return PQ_TSKIP;
}

/* A struct whose content we do not keep (empty structs, union members). */
static int rd_opaque(pq_treader *r, uint8_t t, const char *name, dc_err *err)
{
    const pq_tstruct d = {name, NULL, 0, 0};
    return rd_struct(r, t, &d, NULL, ignore_field, err);
}

/* ============================================================ Statistics */

static const pq_tfield statistics_names[] = {
    {NULL, 0},
    {"max", PQ_TT_BINARY},
    {"min", PQ_TT_BINARY},
    {"null_count", PQ_TT_I64},
    {"distinct_count", PQ_TT_I64},
    {"max_value", PQ_TT_BINARY},
    {"min_value", PQ_TT_BINARY},
    {"is_max_value_exact", PQ_TT_TRUE},
    {"is_min_value_exact", PQ_TT_TRUE},
};
DESC(statistics_desc, "Statistics", statistics_names, 0);

static int statistics_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_statistics *s = obj;
    switch (id) {
    case 1: s->has_max = true; return rd_bytes(r, t, &s->max, err);
    case 2: s->has_min = true; return rd_bytes(r, t, &s->min, err);
    case 3: s->has_null_count = true; return pq_tr_field_i64(r, t, &s->null_count, err);
    case 4: s->has_distinct_count = true; return pq_tr_field_i64(r, t, &s->distinct_count, err);
    case 5: s->has_max_value = true; return rd_bytes(r, t, &s->max_value, err);
    case 6: s->has_min_value = true; return rd_bytes(r, t, &s->min_value, err);
    case 7: s->has_is_max_exact = true; return pq_tr_field_bool(r, t, &s->is_max_value_exact, err);
    case 8: s->has_is_min_exact = true; return pq_tr_field_bool(r, t, &s->is_min_value_exact, err);
    default: return PQ_TSKIP;
    }
}

static int rd_statistics(pq_treader *r, uint8_t t, pq_statistics *s, dc_err *err)
{
    memset(s, 0, sizeof *s);
    s->is_set = true;
    return rd_struct(r, t, &statistics_desc, s, statistics_field, err);
}

/* ============================================================ LogicalType */

static const pq_tfield unit_names[] = {
    {NULL, 0},
    {"MILLIS", PQ_TT_STRUCT},
    {"MICROS", PQ_TT_STRUCT},
    {"NANOS", PQ_TT_STRUCT},
};
DESC(unit_desc, "TimeUnit", unit_names, 0);

static int unit_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    if (id < PQ_UNIT_MILLIS || id > PQ_UNIT_NANOS) return PQ_TSKIP;
    DC_TRY(rd_opaque(r, t, unit_names[id].name, err));
    *(pq_time_unit *)obj = (pq_time_unit)id;
    return 0;
}

static const pq_tfield time_names[] = {
    {NULL, 0},
    {"isAdjustedToUTC", PQ_TT_TRUE},
    {"unit", PQ_TT_STRUCT},
};
DESC(time_desc, "TimeType", time_names, REQ(1) | REQ(2));
DESC(timestamp_desc, "TimestampType", time_names, REQ(1) | REQ(2));

static int time_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_logical_type *lt = obj;
    if (id == 1) return pq_tr_field_bool(r, t, &lt->is_adjusted_to_utc, err);
    if (id != 2) return PQ_TSKIP;
    pq_time_unit unit = (pq_time_unit)0;
    DC_TRY(rd_struct(r, t, &unit_desc, &unit, unit_field, err));
    if (unit == 0) return dc_err_set(err, DC_ECORRUPT, "TimeUnit has no known member");
    lt->unit = unit;
    return 0;
}

static const pq_tfield decimal_names[] = {
    {NULL, 0},
    {"scale", PQ_TT_I32},
    {"precision", PQ_TT_I32},
};
DESC(decimal_desc, "DecimalType", decimal_names, REQ(1) | REQ(2));

static int decimal_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_logical_type *lt = obj;
    if (id == 1) return pq_tr_field_i32(r, t, &lt->scale, err);
    if (id == 2) return pq_tr_field_i32(r, t, &lt->precision, err);
    return PQ_TSKIP;
}

static const pq_tfield int_names[] = {
    {NULL, 0},
    {"bitWidth", PQ_TT_I8},
    {"isSigned", PQ_TT_TRUE},
};
DESC(int_desc, "IntType", int_names, REQ(1) | REQ(2));

static int int_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_logical_type *lt = obj;
    if (id == 2) return pq_tr_field_bool(r, t, &lt->is_signed, err);
    if (id != 1) return PQ_TSKIP;
    DC_TRY(pq_tr_field_i8(r, t, &lt->bit_width, err));
    const int bw = lt->bit_width;
    if (bw != 8 && bw != 16 && bw != 32 && bw != 64)
        return dc_err_set(err, DC_ECORRUPT, "bit width %d is not 8, 16, 32 or 64", bw);
    return 0;
}

static const pq_tfield logical_names[] = {
    {NULL, 0},
    {"STRING", PQ_TT_STRUCT},
    {"MAP", PQ_TT_STRUCT},
    {"LIST", PQ_TT_STRUCT},
    {"ENUM", PQ_TT_STRUCT},
    {"DECIMAL", PQ_TT_STRUCT},
    {"DATE", PQ_TT_STRUCT},
    {"TIME", PQ_TT_STRUCT},
    {"TIMESTAMP", PQ_TT_STRUCT},
    {NULL, 0},
    {"INTEGER", PQ_TT_STRUCT},
    {"UNKNOWN", PQ_TT_STRUCT},
    {"JSON", PQ_TT_STRUCT},
    {"BSON", PQ_TT_STRUCT},
    {"UUID", PQ_TT_STRUCT},
    {"FLOAT16", PQ_TT_STRUCT},
    {"VARIANT", PQ_TT_STRUCT},
    {"GEOMETRY", PQ_TT_STRUCT},
    {"GEOGRAPHY", PQ_TT_STRUCT},
};
DESC(logical_desc, "LogicalType", logical_names, 0);

/* A union: the member's field id is the kind. Members from a newer format
 * version are skipped and leave kind PQ_LT_NONE, so converted_type rules. */
static int logical_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_logical_type *lt = obj;
    int rc;
    switch (id) {
    case PQ_LT_DECIMAL: rc = rd_struct(r, t, &decimal_desc, lt, decimal_field, err); break;
    case PQ_LT_TIME: rc = rd_struct(r, t, &time_desc, lt, time_field, err); break;
    case PQ_LT_TIMESTAMP: rc = rd_struct(r, t, &timestamp_desc, lt, time_field, err); break;
    case PQ_LT_INTEGER: rc = rd_struct(r, t, &int_desc, lt, int_field, err); break;
    case PQ_LT_STRING: case PQ_LT_MAP: case PQ_LT_LIST: case PQ_LT_ENUM: case PQ_LT_DATE:
    case PQ_LT_UNKNOWN: case PQ_LT_JSON: case PQ_LT_BSON: case PQ_LT_UUID: case PQ_LT_FLOAT16:
    case PQ_LT_VARIANT: case PQ_LT_GEOMETRY: case PQ_LT_GEOGRAPHY:
        /* Empty, or optional details (crs, algorithm, version) we do not keep. */
        rc = rd_opaque(r, t, logical_names[id].name, err);
        break;
    default: return PQ_TSKIP;
    }
    if (rc == 0) lt->kind = (pq_logical_kind)id;
    return rc;
}

static int rd_logical(pq_treader *r, uint8_t t, pq_logical_type *lt, dc_err *err)
{
    memset(lt, 0, sizeof *lt);
    return rd_struct(r, t, &logical_desc, lt, logical_field, err);
}

/* ============================================================ SchemaElement */

static const pq_tfield schema_names[] = {
    {NULL, 0},
    {"type", PQ_TT_I32},
    {"type_length", PQ_TT_I32},
    {"repetition_type", PQ_TT_I32},
    {"name", PQ_TT_BINARY},
    {"num_children", PQ_TT_I32},
    {"converted_type", PQ_TT_I32},
    {"scale", PQ_TT_I32},
    {"precision", PQ_TT_I32},
    {"field_id", PQ_TT_I32},
    {"logicalType", PQ_TT_STRUCT},
};
DESC(schema_desc, "SchemaElement", schema_names, REQ(4));

static int schema_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_schema_element *e = obj;
    int32_t v = 0;
    switch (id) {
    case 1:
        DC_TRY(rd_enum(r, t, PQ_BOOLEAN, PQ_FIXED_LEN_BYTE_ARRAY, "physical type", &v, err));
        e->has_type = true;
        e->type = (pq_type)v;
        return 0;
    case 2: return rd_nonneg_i32(r, t, &e->type_length, err);
    case 3:
        DC_TRY(rd_enum(r, t, PQ_REQUIRED, PQ_REPEATED, "repetition type", &v, err));
        e->has_repetition = true;
        e->repetition = (pq_repetition)v;
        return 0;
    case 4: return rd_string(r, t, &e->name, err);
    case 5: return rd_nonneg_i32(r, t, &e->num_children, err);
    case 6:
        DC_TRY(rd_enum(r, t, PQ_CT_UTF8, PQ_CT_INTERVAL, "converted type", &v, err));
        e->converted_type = (pq_converted_type)v;
        return 0;
    case 7: e->has_scale = true; return pq_tr_field_i32(r, t, &e->scale, err);
    case 8: e->has_precision = true; return pq_tr_field_i32(r, t, &e->precision, err);
    case 9: e->has_field_id = true; return pq_tr_field_i32(r, t, &e->field_id, err);
    case 10: return rd_logical(r, t, &e->logical, err);
    default: return PQ_TSKIP;
    }
}

static void schema_init(void *obj) { ((pq_schema_element *)obj)->converted_type = PQ_CT_NONE; }

/* ============================================================ KeyValue */

static const pq_tfield kv_names[] = {
    {NULL, 0},
    {"key", PQ_TT_BINARY},
    {"value", PQ_TT_BINARY},
};
DESC(kv_desc, "KeyValue", kv_names, REQ(1));

static int kv_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_key_value *kv = obj;
    if (id == 1) return rd_string(r, t, &kv->key, err);
    if (id == 2) return rd_string(r, t, &kv->value, err);
    return PQ_TSKIP;
}

static int rd_kv_list(pq_treader *r, uint8_t t, pq_key_value **kv, uint32_t *n, dc_err *err)
{
    static const list_spec spec = {&kv_desc, kv_field, sizeof **kv, NULL, DC_THRIFT_MAX_LIST};
    return rd_struct_list(r, t, &spec, (void **)kv, n, err);
}

/* ============================================================ ColumnMetaData */

static const pq_tfield pes_names[] = {
    {NULL, 0},
    {"page_type", PQ_TT_I32},
    {"encoding", PQ_TT_I32},
    {"count", PQ_TT_I32},
};
DESC(pes_desc, "PageEncodingStats", pes_names, REQ(1) | REQ(2) | REQ(3));

static int pes_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_page_encoding_stats *s = obj;
    int32_t v = 0;
    switch (id) {
    case 1: /* kept as-is: statistics only, never used to index */
        DC_TRY(pq_tr_field_i32(r, t, &v, err));
        s->page_type = (pq_page_type)v;
        return 0;
    case 2:
        DC_TRY(pq_tr_field_i32(r, t, &v, err));
        s->encoding = (pq_encoding)v;
        return 0;
    case 3: return pq_tr_field_i32(r, t, &s->count, err);
    default: return PQ_TSKIP;
    }
}

static int rd_encodings(pq_treader *r, uint8_t t, pq_column_meta *m, dc_err *err)
{
    uint32_t n = 0;
    DC_TRY(pq_tr_list(r, t, PQ_TT_I32, &n, err));
    DC_TRY(rd_array(r, n, sizeof *m->encodings, (void **)&m->encodings, err));
    m->n_encodings = n;
    for (uint32_t i = 0; i < n; i++) {
        int32_t v = 0;
        DC_TRY(pq_tr_i32(r, &v, err));
        m->encodings[i] = (pq_encoding)v; /* unknown values are kept; users check */
    }
    return 0;
}

static int rd_path(pq_treader *r, uint8_t t, pq_column_meta *m, dc_err *err)
{
    uint32_t n = 0;
    DC_TRY(pq_tr_list(r, t, PQ_TT_BINARY, &n, err));
    DC_TRY(rd_array(r, n, sizeof *m->path_in_schema, (void **)&m->path_in_schema, err));
    m->n_path = n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = NULL;
        uint32_t len = 0;
        DC_TRY(pq_tr_binary(r, &p, &len, err));
        DC_TRY(copy_string(r, p, len, &m->path_in_schema[i], err));
    }
    return 0;
}

static const pq_tfield colmeta_names[] = {
    {NULL, 0},
    {"type", PQ_TT_I32},
    {"encodings", PQ_TT_LIST},
    {"path_in_schema", PQ_TT_LIST},
    {"codec", PQ_TT_I32},
    {"num_values", PQ_TT_I64},
    {"total_uncompressed_size", PQ_TT_I64},
    {"total_compressed_size", PQ_TT_I64},
    {"key_value_metadata", PQ_TT_LIST},
    {"data_page_offset", PQ_TT_I64},
    {"index_page_offset", PQ_TT_I64},
    {"dictionary_page_offset", PQ_TT_I64},
    {"statistics", PQ_TT_STRUCT},
    {"encoding_stats", PQ_TT_LIST},
    {"bloom_filter_offset", PQ_TT_I64},
    {"bloom_filter_length", PQ_TT_I32},
    {"size_statistics", PQ_TT_STRUCT},
    {"geospatial_statistics", PQ_TT_STRUCT},
};
DESC(colmeta_desc, "ColumnMetaData", colmeta_names,
     REQ(1) | REQ(2) | REQ(3) | REQ(4) | REQ(5) | REQ(6) | REQ(7) | REQ(9));

static const list_spec pes_list = {&pes_desc, pes_field, sizeof(pq_page_encoding_stats), NULL,
                                   DC_THRIFT_MAX_LIST};

static int colmeta_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_column_meta *m = obj;
    int32_t v = 0;
    switch (id) {
    case 1:
        DC_TRY(rd_enum(r, t, PQ_BOOLEAN, PQ_FIXED_LEN_BYTE_ARRAY, "physical type", &v, err));
        m->type = (pq_type)v;
        return 0;
    case 2: return rd_encodings(r, t, m, err);
    case 3: return rd_path(r, t, m, err);
    case 4:
        DC_TRY(rd_enum(r, t, PQ_CODEC_UNCOMPRESSED, PQ_CODEC_LZ4_RAW, "compression codec", &v,
                       err));
        m->codec = (pq_codec)v;
        return 0;
    case 5: return pq_tr_field_i64(r, t, &m->num_values, err);
    case 6: return pq_tr_field_i64(r, t, &m->total_uncompressed_size, err);
    case 7: return pq_tr_field_i64(r, t, &m->total_compressed_size, err);
    case 8: return rd_kv_list(r, t, &m->kv, &m->n_kv, err);
    case 9: return pq_tr_field_i64(r, t, &m->data_page_offset, err);
    case 10: m->has_index_page_offset = true; return pq_tr_field_i64(r, t, &m->index_page_offset, err);
    case 11:
        m->has_dictionary_page_offset = true;
        return pq_tr_field_i64(r, t, &m->dictionary_page_offset, err);
    case 12: return rd_statistics(r, t, &m->statistics, err);
    case 13:
        return rd_struct_list(r, t, &pes_list, (void **)&m->encoding_stats,
                              &m->n_encoding_stats, err);
    case 14:
        m->has_bloom_filter_offset = true;
        return pq_tr_field_i64(r, t, &m->bloom_filter_offset, err);
    case 15:
        m->has_bloom_filter_length = true;
        return pq_tr_field_i32(r, t, &m->bloom_filter_length, err);
    default: return PQ_TSKIP;
    }
}

/* ============================================================ ColumnChunk, RowGroup */

static const pq_tfield chunk_names[] = {
    {NULL, 0},
    {"file_path", PQ_TT_BINARY},
    {"file_offset", PQ_TT_I64},
    {"meta_data", PQ_TT_STRUCT},
    {"offset_index_offset", PQ_TT_I64},
    {"offset_index_length", PQ_TT_I32},
    {"column_index_offset", PQ_TT_I64},
    {"column_index_length", PQ_TT_I32},
    {"crypto_metadata", PQ_TT_STRUCT},
    {"encrypted_column_metadata", PQ_TT_BINARY},
};
DESC(chunk_desc, "ColumnChunk", chunk_names, REQ(2));

static int chunk_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_column_chunk *c = obj;
    switch (id) {
    case 1: return rd_string(r, t, &c->file_path, err);
    case 2: return pq_tr_field_i64(r, t, &c->file_offset, err);
    case 3:
        c->has_meta_data = true;
        return rd_struct(r, t, &colmeta_desc, &c->meta_data, colmeta_field, err);
    case 4: c->has_offset_index = true; return pq_tr_field_i64(r, t, &c->offset_index_offset, err);
    case 5: return pq_tr_field_i32(r, t, &c->offset_index_length, err);
    case 6: c->has_column_index = true; return pq_tr_field_i64(r, t, &c->column_index_offset, err);
    case 7: return pq_tr_field_i32(r, t, &c->column_index_length, err);
    case 8:
    case 9: c->is_encrypted = true; return PQ_TSKIP;
    default: return PQ_TSKIP;
    }
}

static const pq_tfield sorting_names[] = {
    {NULL, 0},
    {"column_idx", PQ_TT_I32},
    {"descending", PQ_TT_TRUE},
    {"nulls_first", PQ_TT_TRUE},
};
DESC(sorting_desc, "SortingColumn", sorting_names, REQ(1) | REQ(2) | REQ(3));

static int sorting_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_sorting_column *s = obj;
    if (id == 1) return pq_tr_field_i32(r, t, &s->column_idx, err);
    if (id == 2) return pq_tr_field_bool(r, t, &s->descending, err);
    if (id == 3) return pq_tr_field_bool(r, t, &s->nulls_first, err);
    return PQ_TSKIP;
}

static const list_spec chunk_list = {&chunk_desc, chunk_field, sizeof(pq_column_chunk), NULL,
                                     DC_THRIFT_MAX_LIST};
static const list_spec sorting_list = {&sorting_desc, sorting_field, sizeof(pq_sorting_column),
                                       NULL, DC_THRIFT_MAX_LIST};

static const pq_tfield rowgroup_names[] = {
    {NULL, 0},
    {"columns", PQ_TT_LIST},
    {"total_byte_size", PQ_TT_I64},
    {"num_rows", PQ_TT_I64},
    {"sorting_columns", PQ_TT_LIST},
    {"file_offset", PQ_TT_I64},
    {"total_compressed_size", PQ_TT_I64},
    {"ordinal", PQ_TT_I16},
};
DESC(rowgroup_desc, "RowGroup", rowgroup_names, REQ(1) | REQ(2) | REQ(3));

static int rowgroup_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_row_group *g = obj;
    switch (id) {
    case 1:
        return rd_struct_list(r, t, &chunk_list, (void **)&g->columns, &g->n_columns, err);
    case 2: return pq_tr_field_i64(r, t, &g->total_byte_size, err);
    case 3: return pq_tr_field_i64(r, t, &g->num_rows, err);
    case 4:
        return rd_struct_list(r, t, &sorting_list, (void **)&g->sorting_columns,
                              &g->n_sorting_columns, err);
    case 5: g->has_file_offset = true; return pq_tr_field_i64(r, t, &g->file_offset, err);
    case 6:
        g->has_total_compressed_size = true;
        return pq_tr_field_i64(r, t, &g->total_compressed_size, err);
    case 7: g->has_ordinal = true; return pq_tr_field_i16(r, t, &g->ordinal, err);
    default: return PQ_TSKIP;
    }
}

/* ============================================================ FileMetaData */

static const pq_tfield order_names[] = {
    {NULL, 0},
    {"TYPE_ORDER", PQ_TT_STRUCT},
    {"IEEE_754_TOTAL_ORDER", PQ_TT_STRUCT},
};
DESC(order_desc, "ColumnOrder", order_names, 0);

/* A union; a member from a newer format version leaves PQ_ORDER_UNKNOWN. */
static int order_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    if (id != 1 && id != 2) return PQ_TSKIP;
    DC_TRY(rd_opaque(r, t, order_names[id].name, err));
    *(pq_column_order *)obj = id == 1 ? PQ_ORDER_TYPE_DEFINED : PQ_ORDER_IEEE754_TOTAL;
    return 0;
}

static const list_spec schema_list = {&schema_desc, schema_field, sizeof(pq_schema_element),
                                      schema_init, DC_PQ_MAX_SCHEMA_ELEMENTS};
static const list_spec rowgroup_list = {&rowgroup_desc, rowgroup_field, sizeof(pq_row_group),
                                        NULL, DC_PQ_MAX_ROW_GROUPS};
static const list_spec order_list = {&order_desc, order_field, sizeof(pq_column_order), NULL,
                                     DC_PQ_MAX_SCHEMA_ELEMENTS};

static const pq_tfield filemeta_names[] = {
    {NULL, 0},
    {"version", PQ_TT_I32},
    {"schema", PQ_TT_LIST},
    {"num_rows", PQ_TT_I64},
    {"row_groups", PQ_TT_LIST},
    {"key_value_metadata", PQ_TT_LIST},
    {"created_by", PQ_TT_BINARY},
    {"column_orders", PQ_TT_LIST},
    {"encryption_algorithm", PQ_TT_STRUCT},
    {"footer_signing_key_metadata", PQ_TT_BINARY},
};
DESC(filemeta_desc, "FileMetaData", filemeta_names, REQ(1) | REQ(2) | REQ(3) | REQ(4));

static int filemeta_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_file_meta *m = obj;
    switch (id) {
    case 1: return pq_tr_field_i32(r, t, &m->version, err);
    case 2:
        return rd_struct_list(r, t, &schema_list, (void **)&m->schema, &m->n_schema, err);
    case 3: return pq_tr_field_i64(r, t, &m->num_rows, err);
    case 4:
        return rd_struct_list(r, t, &rowgroup_list, (void **)&m->row_groups, &m->n_row_groups,
                              err);
    case 5: return rd_kv_list(r, t, &m->kv, &m->n_kv, err);
    case 6: return rd_string(r, t, &m->created_by, err);
    case 7:
        return rd_struct_list(r, t, &order_list, (void **)&m->column_orders,
                              &m->n_column_orders, err);
    case 8: m->has_encryption_algorithm = true; return PQ_TSKIP;
    default: return PQ_TSKIP;
    }
}

int pq_file_meta_decode(pq_file_meta *out, dc_arena *arena, const uint8_t *p, size_t n,
                        dc_err *err)
{
    pq_treader r;
    memset(out, 0, sizeof *out);
    pq_tr_init(&r, p, n, "parquet footer", arena);
    return pq_tr_struct(&r, &filemeta_desc, out, filemeta_field, err);
}

/* ============================================================ PageHeader */

static const pq_tfield dph_names[] = {
    {NULL, 0},
    {"num_values", PQ_TT_I32},
    {"encoding", PQ_TT_I32},
    {"definition_level_encoding", PQ_TT_I32},
    {"repetition_level_encoding", PQ_TT_I32},
    {"statistics", PQ_TT_STRUCT},
};
DESC(dph_desc, "DataPageHeader", dph_names, REQ(1) | REQ(2) | REQ(3) | REQ(4));

static int rd_encoding(pq_treader *r, uint8_t t, pq_encoding *out, dc_err *err)
{
    int32_t v = 0;
    DC_TRY(pq_tr_field_i32(r, t, &v, err));
    *out = (pq_encoding)v; /* unknown values are kept; the page decoder refuses them */
    return 0;
}

static int dph_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_data_page_header *h = obj;
    switch (id) {
    case 1: return rd_nonneg_i32(r, t, &h->num_values, err);
    case 2: return rd_encoding(r, t, &h->encoding, err);
    case 3: return rd_encoding(r, t, &h->definition_level_encoding, err);
    case 4: return rd_encoding(r, t, &h->repetition_level_encoding, err);
    case 5: return rd_statistics(r, t, &h->statistics, err);
    default: return PQ_TSKIP;
    }
}

static const pq_tfield dict_names[] = {
    {NULL, 0},
    {"num_values", PQ_TT_I32},
    {"encoding", PQ_TT_I32},
    {"is_sorted", PQ_TT_TRUE},
};
DESC(dict_desc, "DictionaryPageHeader", dict_names, REQ(1) | REQ(2));

static int dict_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_dictionary_page_header *h = obj;
    switch (id) {
    case 1: return rd_nonneg_i32(r, t, &h->num_values, err);
    case 2: return rd_encoding(r, t, &h->encoding, err);
    case 3: h->has_is_sorted = true; return pq_tr_field_bool(r, t, &h->is_sorted, err);
    default: return PQ_TSKIP;
    }
}

static const pq_tfield v2_names[] = {
    {NULL, 0},
    {"num_values", PQ_TT_I32},
    {"num_nulls", PQ_TT_I32},
    {"num_rows", PQ_TT_I32},
    {"encoding", PQ_TT_I32},
    {"definition_levels_byte_length", PQ_TT_I32},
    {"repetition_levels_byte_length", PQ_TT_I32},
    {"is_compressed", PQ_TT_TRUE},
    {"statistics", PQ_TT_STRUCT},
};
DESC(v2_desc, "DataPageHeaderV2", v2_names,
     REQ(1) | REQ(2) | REQ(3) | REQ(4) | REQ(5) | REQ(6));

static int v2_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_data_page_header_v2 *h = obj;
    switch (id) {
    case 1: return rd_nonneg_i32(r, t, &h->num_values, err);
    case 2: return rd_nonneg_i32(r, t, &h->num_nulls, err);
    case 3: return rd_nonneg_i32(r, t, &h->num_rows, err);
    case 4: return rd_encoding(r, t, &h->encoding, err);
    case 5: return rd_nonneg_i32(r, t, &h->definition_levels_byte_length, err);
    case 6: return rd_nonneg_i32(r, t, &h->repetition_levels_byte_length, err);
    case 7: return pq_tr_field_bool(r, t, &h->is_compressed, err);
    case 8: return rd_statistics(r, t, &h->statistics, err);
    default: return PQ_TSKIP;
    }
}

static const pq_tfield page_names[] = {
    {NULL, 0},
    {"type", PQ_TT_I32},
    {"uncompressed_page_size", PQ_TT_I32},
    {"compressed_page_size", PQ_TT_I32},
    {"crc", PQ_TT_I32},
    {"data_page_header", PQ_TT_STRUCT},
    {"index_page_header", PQ_TT_STRUCT},
    {"dictionary_page_header", PQ_TT_STRUCT},
    {"data_page_header_v2", PQ_TT_STRUCT},
};
DESC(page_desc, "PageHeader", page_names, REQ(1) | REQ(2) | REQ(3));

static int page_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_page_header *h = obj;
    int32_t v = 0;
    switch (id) {
    case 1:
        DC_TRY(rd_enum(r, t, PQ_PAGE_DATA, PQ_PAGE_DATA_V2, "page type", &v, err));
        h->type = (pq_page_type)v;
        return 0;
    case 2: return rd_nonneg_i32(r, t, &h->uncompressed_page_size, err);
    case 3: return rd_nonneg_i32(r, t, &h->compressed_page_size, err);
    case 4: h->has_crc = true; return pq_tr_field_i32(r, t, &h->crc, err);
    case 5:
        h->has_data_page_header = true;
        return rd_struct(r, t, &dph_desc, &h->data_page_header, dph_field, err);
    case 6: return rd_opaque(r, t, "IndexPageHeader", err);
    case 7:
        h->has_dictionary_page_header = true;
        return rd_struct(r, t, &dict_desc, &h->dictionary_page_header, dict_field, err);
    case 8:
        h->has_data_page_header_v2 = true;
        h->data_page_header_v2.is_compressed = true; /* the Thrift default */
        return rd_struct(r, t, &v2_desc, &h->data_page_header_v2, v2_field, err);
    default: return PQ_TSKIP;
    }
}

int pq_page_header_decode(pq_page_header *out, size_t *consumed, dc_arena *arena,
                          const uint8_t *p, size_t n, dc_err *err)
{
    pq_treader r;
    memset(out, 0, sizeof *out);
    pq_tr_init(&r, p, n, "parquet page header", arena);
    DC_TRY(pq_tr_struct(&r, &page_desc, out, page_field, err));
    if (consumed) *consumed = pq_tr_offset(&r);
    return 0;
}

/* ============================================================ ColumnIndex, OffsetIndex */

static int rd_bool_list(pq_treader *r, uint8_t t, bool **out, uint32_t *n, dc_err *err)
{
    DC_TRY(pq_tr_list(r, t, PQ_TT_TRUE, n, err));
    DC_TRY(rd_array(r, *n, sizeof **out, (void **)out, err));
    for (uint32_t i = 0; i < *n; i++) DC_TRY(pq_tr_bool_elem(r, &(*out)[i], err));
    return 0;
}

static int rd_bytes_list(pq_treader *r, uint8_t t, pq_bytes **out, uint32_t *n, dc_err *err)
{
    DC_TRY(pq_tr_list(r, t, PQ_TT_BINARY, n, err));
    DC_TRY(rd_array(r, *n, sizeof **out, (void **)out, err));
    for (uint32_t i = 0; i < *n; i++) {
        const uint8_t *p = NULL;
        uint32_t len = 0;
        DC_TRY(pq_tr_binary(r, &p, &len, err));
        DC_TRY(copy_bytes(r, p, len, &(*out)[i], err));
    }
    return 0;
}

static int rd_i64_list(pq_treader *r, uint8_t t, int64_t **out, uint32_t *n, dc_err *err)
{
    DC_TRY(pq_tr_list(r, t, PQ_TT_I64, n, err));
    DC_TRY(rd_array(r, *n, sizeof **out, (void **)out, err));
    for (uint32_t i = 0; i < *n; i++) DC_TRY(pq_tr_i64(r, &(*out)[i], err));
    return 0;
}

/* Element counts of the ColumnIndex lists, checked against each other at the end. */
typedef struct colidx_ctx {
    pq_column_index *ci;  /* being filled */
    uint32_t n_min;       /* min_values entries */
    uint32_t n_max;       /* max_values entries */
    uint32_t n_nulls;     /* null_counts entries */
} colidx_ctx;

static const pq_tfield colidx_names[] = {
    {NULL, 0},
    {"null_pages", PQ_TT_LIST},
    {"min_values", PQ_TT_LIST},
    {"max_values", PQ_TT_LIST},
    {"boundary_order", PQ_TT_I32},
    {"null_counts", PQ_TT_LIST},
    {"repetition_level_histograms", PQ_TT_LIST},
    {"definition_level_histograms", PQ_TT_LIST},
};
DESC(colidx_desc, "ColumnIndex", colidx_names, REQ(1) | REQ(2) | REQ(3) | REQ(4));

static int colidx_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    colidx_ctx *c = obj;
    pq_column_index *ci = c->ci;
    int32_t v = 0;
    switch (id) {
    case 1: return rd_bool_list(r, t, &ci->null_pages, &ci->n_pages, err);
    case 2: return rd_bytes_list(r, t, &ci->min_values, &c->n_min, err);
    case 3: return rd_bytes_list(r, t, &ci->max_values, &c->n_max, err);
    case 4:
        DC_TRY(rd_enum(r, t, PQ_BO_UNORDERED, PQ_BO_DESCENDING, "boundary order", &v, err));
        ci->boundary_order = (pq_boundary_order)v;
        return 0;
    case 5:
        ci->has_null_counts = true;
        return rd_i64_list(r, t, &ci->null_counts, &c->n_nulls, err);
    default: return PQ_TSKIP;
    }
}

int pq_column_index_decode(pq_column_index *out, dc_arena *arena, const uint8_t *p, size_t n,
                           dc_err *err)
{
    pq_treader r;
    colidx_ctx c = {out, 0, 0, 0};
    memset(out, 0, sizeof *out);
    pq_tr_init(&r, p, n, "parquet column index", arena);
    DC_TRY(pq_tr_struct(&r, &colidx_desc, &c, colidx_field, err));
    if (c.n_min != out->n_pages || c.n_max != out->n_pages ||
        (out->has_null_counts && c.n_nulls != out->n_pages))
        return dc_err_set(err, DC_ECORRUPT,
                          "parquet column index: ColumnIndex lists disagree: %u null_pages, "
                          "%u min_values, %u max_values, %u null_counts",
                          out->n_pages, c.n_min, c.n_max, c.n_nulls);
    return 0;
}

static const pq_tfield loc_names[] = {
    {NULL, 0},
    {"offset", PQ_TT_I64},
    {"compressed_page_size", PQ_TT_I32},
    {"first_row_index", PQ_TT_I64},
};
DESC(loc_desc, "PageLocation", loc_names, REQ(1) | REQ(2) | REQ(3));

static int loc_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_page_location *l = obj;
    if (id == 1) return pq_tr_field_i64(r, t, &l->offset, err);
    if (id == 2) return pq_tr_field_i32(r, t, &l->compressed_page_size, err);
    if (id == 3) return pq_tr_field_i64(r, t, &l->first_row_index, err);
    return PQ_TSKIP;
}

static const pq_tfield offidx_names[] = {
    {NULL, 0},
    {"page_locations", PQ_TT_LIST},
    {"unencoded_byte_array_data_bytes", PQ_TT_LIST},
};
DESC(offidx_desc, "OffsetIndex", offidx_names, REQ(1));

static int offidx_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    pq_offset_index *oi = obj;
    if (id != 1) return PQ_TSKIP;
    static const list_spec spec = {&loc_desc, loc_field, sizeof(pq_page_location), NULL,
                                   DC_THRIFT_MAX_LIST};
    return rd_struct_list(r, t, &spec, (void **)&oi->page_locations, &oi->n_pages, err);
}

int pq_offset_index_decode(pq_offset_index *out, dc_arena *arena, const uint8_t *p, size_t n,
                           dc_err *err)
{
    pq_treader r;
    memset(out, 0, sizeof *out);
    pq_tr_init(&r, p, n, "parquet offset index", arena);
    return pq_tr_struct(&r, &offidx_desc, out, offidx_field, err);
}

/* ============================================================ encoders */

static void wr_bytes(pq_twriter *w, int16_t id, const pq_bytes *b)
{
    if (!b->ptr && b->len) {
        pq_tw_fail(w, DC_EINVAL, "parquet encode: field %d has a NULL pointer", id);
        return;
    }
    pq_tw_field_binary(w, id, b->ptr, b->len);
}

static void wr_statistics(pq_twriter *w, int16_t id, const pq_statistics *s)
{
    pq_tw_field(w, id, PQ_TT_STRUCT);
    pq_tw_struct_begin(w);
    if (s->has_max) wr_bytes(w, 1, &s->max);
    if (s->has_min) wr_bytes(w, 2, &s->min);
    if (s->has_null_count) pq_tw_field_i64(w, 3, s->null_count);
    if (s->has_distinct_count) pq_tw_field_i64(w, 4, s->distinct_count);
    if (s->has_max_value) wr_bytes(w, 5, &s->max_value);
    if (s->has_min_value) wr_bytes(w, 6, &s->min_value);
    if (s->has_is_max_exact) pq_tw_field_bool(w, 7, s->is_max_value_exact);
    if (s->has_is_min_exact) pq_tw_field_bool(w, 8, s->is_min_value_exact);
    pq_tw_struct_end(w);
}

static void wr_empty(pq_twriter *w, int16_t id)
{
    pq_tw_field(w, id, PQ_TT_STRUCT);
    pq_tw_struct_begin(w);
    pq_tw_struct_end(w);
}

/* The member struct of a LogicalType union. */
static void wr_logical_member(pq_twriter *w, const pq_logical_type *lt)
{
    switch (lt->kind) {
    case PQ_LT_DECIMAL:
        pq_tw_field_i32(w, 1, lt->scale);
        pq_tw_field_i32(w, 2, lt->precision);
        break;
    case PQ_LT_TIME:
    case PQ_LT_TIMESTAMP:
        pq_tw_field_bool(w, 1, lt->is_adjusted_to_utc);
        if (lt->unit < PQ_UNIT_MILLIS || lt->unit > PQ_UNIT_NANOS) {
            pq_tw_fail(w, DC_EINVAL, "parquet encode: time unit %d is not valid", lt->unit);
            return;
        }
        pq_tw_field(w, 2, PQ_TT_STRUCT);
        pq_tw_struct_begin(w);
        wr_empty(w, (int16_t)lt->unit);
        pq_tw_struct_end(w);
        break;
    case PQ_LT_INTEGER:
        pq_tw_field_i8(w, 1, lt->bit_width);
        pq_tw_field_bool(w, 2, lt->is_signed);
        break;
    case PQ_LT_STRING: case PQ_LT_MAP: case PQ_LT_LIST: case PQ_LT_ENUM: case PQ_LT_DATE:
    case PQ_LT_UNKNOWN: case PQ_LT_JSON: case PQ_LT_BSON: case PQ_LT_UUID: case PQ_LT_FLOAT16:
    case PQ_LT_VARIANT: case PQ_LT_GEOMETRY: case PQ_LT_GEOGRAPHY:
        break;
    default:
        pq_tw_fail(w, DC_EINVAL, "parquet encode: logical type kind %d is not valid", lt->kind);
    }
}

static void wr_logical(pq_twriter *w, int16_t id, const pq_logical_type *lt)
{
    pq_tw_field(w, id, PQ_TT_STRUCT);
    pq_tw_struct_begin(w);
    pq_tw_field(w, (int16_t)lt->kind, PQ_TT_STRUCT);
    pq_tw_struct_begin(w);
    wr_logical_member(w, lt);
    pq_tw_struct_end(w);
    pq_tw_struct_end(w);
}

static void wr_schema_element(pq_twriter *w, const pq_schema_element *e)
{
    if (!e->name) {
        pq_tw_fail(w, DC_EINVAL, "parquet encode: SchemaElement without a name");
        return;
    }
    pq_tw_struct_begin(w);
    if (e->has_type) pq_tw_field_i32(w, 1, e->type);
    if (e->type_length != 0 || (e->has_type && e->type == PQ_FIXED_LEN_BYTE_ARRAY))
        pq_tw_field_i32(w, 2, e->type_length);
    if (e->has_repetition) pq_tw_field_i32(w, 3, e->repetition);
    pq_tw_field_string(w, 4, e->name);
    if (!e->has_type || e->num_children != 0) pq_tw_field_i32(w, 5, e->num_children);
    if (e->converted_type != PQ_CT_NONE) pq_tw_field_i32(w, 6, e->converted_type);
    if (e->has_scale) pq_tw_field_i32(w, 7, e->scale);
    if (e->has_precision) pq_tw_field_i32(w, 8, e->precision);
    if (e->has_field_id) pq_tw_field_i32(w, 9, e->field_id);
    if (e->logical.kind != PQ_LT_NONE) wr_logical(w, 10, &e->logical);
    pq_tw_struct_end(w);
}

static void wr_kv_list(pq_twriter *w, int16_t id, const pq_key_value *kv, uint32_t n)
{
    pq_tw_field(w, id, PQ_TT_LIST);
    pq_tw_list(w, PQ_TT_STRUCT, n);
    for (uint32_t i = 0; i < n && w->rc == 0; i++) {
        if (!kv[i].key) {
            pq_tw_fail(w, DC_EINVAL, "parquet encode: KeyValue %u without a key", i);
            return;
        }
        pq_tw_struct_begin(w);
        pq_tw_field_string(w, 1, kv[i].key);
        if (kv[i].value) pq_tw_field_string(w, 2, kv[i].value);
        pq_tw_struct_end(w);
    }
}

static void wr_column_lists(pq_twriter *w, const pq_column_meta *m)
{
    pq_tw_field(w, 2, PQ_TT_LIST);
    pq_tw_list(w, PQ_TT_I32, m->n_encodings);
    for (uint32_t i = 0; i < m->n_encodings; i++) pq_tw_i32(w, m->encodings[i]);
    pq_tw_field(w, 3, PQ_TT_LIST);
    pq_tw_list(w, PQ_TT_BINARY, m->n_path);
    for (uint32_t i = 0; i < m->n_path && w->rc == 0; i++) {
        if (!m->path_in_schema[i]) {
            pq_tw_fail(w, DC_EINVAL, "parquet encode: path_in_schema[%u] is NULL", i);
            return;
        }
        pq_tw_binary(w, m->path_in_schema[i], strlen(m->path_in_schema[i]));
    }
}

static void wr_column_meta(pq_twriter *w, int16_t id, const pq_column_meta *m)
{
    pq_tw_field(w, id, PQ_TT_STRUCT);
    pq_tw_struct_begin(w);
    pq_tw_field_i32(w, 1, m->type);
    wr_column_lists(w, m);
    pq_tw_field_i32(w, 4, m->codec);
    pq_tw_field_i64(w, 5, m->num_values);
    pq_tw_field_i64(w, 6, m->total_uncompressed_size);
    pq_tw_field_i64(w, 7, m->total_compressed_size);
    if (m->n_kv) wr_kv_list(w, 8, m->kv, m->n_kv);
    pq_tw_field_i64(w, 9, m->data_page_offset);
    if (m->has_index_page_offset) pq_tw_field_i64(w, 10, m->index_page_offset);
    if (m->has_dictionary_page_offset) pq_tw_field_i64(w, 11, m->dictionary_page_offset);
    if (m->statistics.is_set) wr_statistics(w, 12, &m->statistics);
    if (m->n_encoding_stats) {
        pq_tw_field(w, 13, PQ_TT_LIST);
        pq_tw_list(w, PQ_TT_STRUCT, m->n_encoding_stats);
        for (uint32_t i = 0; i < m->n_encoding_stats; i++) {
            const pq_page_encoding_stats *s = &m->encoding_stats[i];
            pq_tw_struct_begin(w);
            pq_tw_field_i32(w, 1, s->page_type);
            pq_tw_field_i32(w, 2, s->encoding);
            pq_tw_field_i32(w, 3, s->count);
            pq_tw_struct_end(w);
        }
    }
    if (m->has_bloom_filter_offset) pq_tw_field_i64(w, 14, m->bloom_filter_offset);
    if (m->has_bloom_filter_length) pq_tw_field_i32(w, 15, m->bloom_filter_length);
    pq_tw_struct_end(w);
}

static void wr_column_chunk(pq_twriter *w, const pq_column_chunk *c)
{
    if (c->is_encrypted) {
        pq_tw_fail(w, DC_EUNSUPPORTED, "parquet encode: encrypted column chunks");
        return;
    }
    pq_tw_struct_begin(w);
    if (c->file_path) pq_tw_field_string(w, 1, c->file_path);
    pq_tw_field_i64(w, 2, c->file_offset);
    if (c->has_meta_data) wr_column_meta(w, 3, &c->meta_data);
    if (c->has_offset_index) {
        pq_tw_field_i64(w, 4, c->offset_index_offset);
        pq_tw_field_i32(w, 5, c->offset_index_length);
    }
    if (c->has_column_index) {
        pq_tw_field_i64(w, 6, c->column_index_offset);
        pq_tw_field_i32(w, 7, c->column_index_length);
    }
    pq_tw_struct_end(w);
}

static void wr_row_group(pq_twriter *w, const pq_row_group *g)
{
    pq_tw_struct_begin(w);
    pq_tw_field(w, 1, PQ_TT_LIST);
    pq_tw_list(w, PQ_TT_STRUCT, g->n_columns);
    for (uint32_t i = 0; i < g->n_columns && w->rc == 0; i++)
        wr_column_chunk(w, &g->columns[i]);
    pq_tw_field_i64(w, 2, g->total_byte_size);
    pq_tw_field_i64(w, 3, g->num_rows);
    if (g->n_sorting_columns) {
        pq_tw_field(w, 4, PQ_TT_LIST);
        pq_tw_list(w, PQ_TT_STRUCT, g->n_sorting_columns);
        for (uint32_t i = 0; i < g->n_sorting_columns; i++) {
            pq_tw_struct_begin(w);
            pq_tw_field_i32(w, 1, g->sorting_columns[i].column_idx);
            pq_tw_field_bool(w, 2, g->sorting_columns[i].descending);
            pq_tw_field_bool(w, 3, g->sorting_columns[i].nulls_first);
            pq_tw_struct_end(w);
        }
    }
    if (g->has_file_offset) pq_tw_field_i64(w, 5, g->file_offset);
    if (g->has_total_compressed_size) pq_tw_field_i64(w, 6, g->total_compressed_size);
    if (g->has_ordinal) pq_tw_field_i16(w, 7, g->ordinal);
    pq_tw_struct_end(w);
}

static void wr_column_orders(pq_twriter *w, const pq_file_meta *m)
{
    pq_tw_field(w, 7, PQ_TT_LIST);
    pq_tw_list(w, PQ_TT_STRUCT, m->n_column_orders);
    for (uint32_t i = 0; i < m->n_column_orders && w->rc == 0; i++) {
        const pq_column_order o = m->column_orders[i];
        if (o != PQ_ORDER_TYPE_DEFINED && o != PQ_ORDER_IEEE754_TOTAL) {
            pq_tw_fail(w, DC_EINVAL, "parquet encode: column order %u is unknown", i);
            return;
        }
        pq_tw_struct_begin(w);
        wr_empty(w, o == PQ_ORDER_TYPE_DEFINED ? 1 : 2);
        pq_tw_struct_end(w);
    }
}

int pq_file_meta_encode(dc_buf *out, const pq_file_meta *m, dc_err *err)
{
    pq_twriter w;
    pq_tw_init(&w, out, err);
    if (m->has_encryption_algorithm)
        return pq_tw_fail(&w, DC_EUNSUPPORTED, "parquet encode: encrypted footers");
    pq_tw_struct_begin(&w);
    pq_tw_field_i32(&w, 1, m->version);
    pq_tw_field(&w, 2, PQ_TT_LIST);
    pq_tw_list(&w, PQ_TT_STRUCT, m->n_schema);
    for (uint32_t i = 0; i < m->n_schema && w.rc == 0; i++) wr_schema_element(&w, &m->schema[i]);
    pq_tw_field_i64(&w, 3, m->num_rows);
    pq_tw_field(&w, 4, PQ_TT_LIST);
    pq_tw_list(&w, PQ_TT_STRUCT, m->n_row_groups);
    for (uint32_t i = 0; i < m->n_row_groups && w.rc == 0; i++)
        wr_row_group(&w, &m->row_groups[i]);
    if (m->n_kv) wr_kv_list(&w, 5, m->kv, m->n_kv);
    if (m->created_by) pq_tw_field_string(&w, 6, m->created_by);
    if (m->n_column_orders) wr_column_orders(&w, m);
    pq_tw_struct_end(&w);
    return w.rc;
}

static void wr_data_page_v1(pq_twriter *w, const pq_data_page_header *h)
{
    pq_tw_field(w, 5, PQ_TT_STRUCT);
    pq_tw_struct_begin(w);
    pq_tw_field_i32(w, 1, h->num_values);
    pq_tw_field_i32(w, 2, h->encoding);
    pq_tw_field_i32(w, 3, h->definition_level_encoding);
    pq_tw_field_i32(w, 4, h->repetition_level_encoding);
    if (h->statistics.is_set) wr_statistics(w, 5, &h->statistics);
    pq_tw_struct_end(w);
}

static void wr_dict_page(pq_twriter *w, const pq_dictionary_page_header *h)
{
    pq_tw_field(w, 7, PQ_TT_STRUCT);
    pq_tw_struct_begin(w);
    pq_tw_field_i32(w, 1, h->num_values);
    pq_tw_field_i32(w, 2, h->encoding);
    if (h->has_is_sorted) pq_tw_field_bool(w, 3, h->is_sorted);
    pq_tw_struct_end(w);
}

/* is_compressed is always written: its default (true) is easy to get wrong. */
static void wr_data_page_v2(pq_twriter *w, const pq_data_page_header_v2 *h)
{
    pq_tw_field(w, 8, PQ_TT_STRUCT);
    pq_tw_struct_begin(w);
    pq_tw_field_i32(w, 1, h->num_values);
    pq_tw_field_i32(w, 2, h->num_nulls);
    pq_tw_field_i32(w, 3, h->num_rows);
    pq_tw_field_i32(w, 4, h->encoding);
    pq_tw_field_i32(w, 5, h->definition_levels_byte_length);
    pq_tw_field_i32(w, 6, h->repetition_levels_byte_length);
    pq_tw_field_bool(w, 7, h->is_compressed);
    if (h->statistics.is_set) wr_statistics(w, 8, &h->statistics);
    pq_tw_struct_end(w);
}

int pq_page_header_encode(dc_buf *out, const pq_page_header *h, dc_err *err)
{
    pq_twriter w;
    pq_tw_init(&w, out, err);
    pq_tw_struct_begin(&w);
    pq_tw_field_i32(&w, 1, h->type);
    pq_tw_field_i32(&w, 2, h->uncompressed_page_size);
    pq_tw_field_i32(&w, 3, h->compressed_page_size);
    if (h->has_crc) pq_tw_field_i32(&w, 4, h->crc);
    if (h->has_data_page_header) wr_data_page_v1(&w, &h->data_page_header);
    if (h->type == PQ_PAGE_INDEX) wr_empty(&w, 6);
    if (h->has_dictionary_page_header) wr_dict_page(&w, &h->dictionary_page_header);
    if (h->has_data_page_header_v2) wr_data_page_v2(&w, &h->data_page_header_v2);
    pq_tw_struct_end(&w);
    return w.rc;
}

int pq_column_index_encode(dc_buf *out, const pq_column_index *ci, dc_err *err)
{
    pq_twriter w;
    pq_tw_init(&w, out, err);
    pq_tw_struct_begin(&w);
    pq_tw_field(&w, 1, PQ_TT_LIST);
    pq_tw_list(&w, PQ_TT_TRUE, ci->n_pages);
    for (uint32_t i = 0; i < ci->n_pages; i++) pq_tw_bool_elem(&w, ci->null_pages[i]);
    pq_tw_field(&w, 2, PQ_TT_LIST);
    pq_tw_list(&w, PQ_TT_BINARY, ci->n_pages);
    for (uint32_t i = 0; i < ci->n_pages; i++)
        pq_tw_binary(&w, ci->min_values[i].ptr, ci->min_values[i].len);
    pq_tw_field(&w, 3, PQ_TT_LIST);
    pq_tw_list(&w, PQ_TT_BINARY, ci->n_pages);
    for (uint32_t i = 0; i < ci->n_pages; i++)
        pq_tw_binary(&w, ci->max_values[i].ptr, ci->max_values[i].len);
    pq_tw_field_i32(&w, 4, ci->boundary_order);
    if (ci->has_null_counts) {
        pq_tw_field(&w, 5, PQ_TT_LIST);
        pq_tw_list(&w, PQ_TT_I64, ci->n_pages);
        for (uint32_t i = 0; i < ci->n_pages; i++) pq_tw_i64(&w, ci->null_counts[i]);
    }
    pq_tw_struct_end(&w);
    return w.rc;
}

int pq_offset_index_encode(dc_buf *out, const pq_offset_index *oi, dc_err *err)
{
    pq_twriter w;
    pq_tw_init(&w, out, err);
    pq_tw_struct_begin(&w);
    pq_tw_field(&w, 1, PQ_TT_LIST);
    pq_tw_list(&w, PQ_TT_STRUCT, oi->n_pages);
    for (uint32_t i = 0; i < oi->n_pages; i++) {
        const pq_page_location *l = &oi->page_locations[i];
        pq_tw_struct_begin(&w);
        pq_tw_field_i64(&w, 1, l->offset);
        pq_tw_field_i32(&w, 2, l->compressed_page_size);
        pq_tw_field_i64(&w, 3, l->first_row_index);
        pq_tw_struct_end(&w);
    }
    pq_tw_struct_end(&w);
    return w.rc;
}

/* ============================================================ names */

const char *pq_type_name(pq_type t)
{
    static const char *const names[] = {
        "BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY",
        "FIXED_LEN_BYTE_ARRAY",
    };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "UNKNOWN";
}

const char *pq_encoding_name(pq_encoding e)
{
    static const char *const names[] = {
        "PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
        "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "RLE_DICTIONARY",
        "BYTE_STREAM_SPLIT",
    };
    return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "UNKNOWN";
}

const char *pq_codec_name(pq_codec c)
{
    static const char *const names[] = {
        "UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW",
    };
    return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "UNKNOWN";
}
