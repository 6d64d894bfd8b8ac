/* Thrift compact protocol and Parquet metadata codec: round trips of every
 * struct, real footers written by other engines (parquet-testing), hostile
 * inputs and allocation failures. The parquet-testing checkout is found at
 * dc_test_corpus() (the shared folder, see tests/test.h). */
#include "../test.h"
#include "../../src/common/dc_limits.h"
#include "../../src/parquet/pq_meta.h"
#include "../../src/parquet/pq_thrift.h"

#include <stdio.h>
#include <stdlib.h>

#define BIG ((size_t)1 << 30)

/* ------------------------------------------------------------ helpers */

typedef struct pq_file {
    uint8_t *data;          /* the whole file (dc_free) */
    size_t len;             /* bytes in data */
    const uint8_t *footer;  /* Thrift FileMetaData inside data */
    uint32_t footer_len;    /* its length */
} pq_file;

static int load(pq_file *f, const char *name)
{
    char rel[512], path[2048];
    dc_err err;
    snprintf(rel, sizeof rel, "parquet-testing/data/%s", name);
    const char *full = dc_test_corpus(rel);
    if (!full) return -1;
    snprintf(path, sizeof path, "%s", full);
    memset(f, 0, sizeof *f);
    if (dc_file_read_all(&f->data, &f->len, path, BIG, &err) != 0) {
        dc_test_fail(__FILE__, __LINE__, "cannot read %s: %s", path, err.msg);
        return -1;
    }
    if (f->len < 12 || memcmp(f->data + f->len - 4, "PAR1", 4) != 0) goto bad;
    f->footer_len = dc_load_le32(f->data + f->len - 8);
    if (f->footer_len > f->len - 12) goto bad;
    f->footer = f->data + f->len - 8 - f->footer_len;
    return 0;
bad:
    dc_test_fail(__FILE__, __LINE__, "%s is not a plain Parquet file", path);
    dc_free(f->data);
    f->data = NULL;
    return -1;
}

static bool bytes_eq(const pq_bytes *a, const pq_bytes *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool stats_eq(const pq_statistics *a, const pq_statistics *b)
{
    return a->is_set == b->is_set && a->has_max == b->has_max && a->has_min == b->has_min &&
           (!a->has_max || bytes_eq(&a->max, &b->max)) &&
           (!a->has_min || bytes_eq(&a->min, &b->min)) &&
           a->has_null_count == b->has_null_count && a->null_count == b->null_count &&
           a->has_distinct_count == b->has_distinct_count &&
           a->distinct_count == b->distinct_count && a->has_max_value == b->has_max_value &&
           a->has_min_value == b->has_min_value &&
           (!a->has_max_value || bytes_eq(&a->max_value, &b->max_value)) &&
           (!a->has_min_value || bytes_eq(&a->min_value, &b->min_value)) &&
           a->has_is_max_exact == b->has_is_max_exact &&
           a->has_is_min_exact == b->has_is_min_exact &&
           a->is_max_value_exact == b->is_max_value_exact &&
           a->is_min_value_exact == b->is_min_value_exact;
}

static bool logical_eq(const pq_logical_type *a, const pq_logical_type *b)
{
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case PQ_LT_DECIMAL: return a->scale == b->scale && a->precision == b->precision;
    case PQ_LT_TIME:
    case PQ_LT_TIMESTAMP:
        return a->is_adjusted_to_utc == b->is_adjusted_to_utc && a->unit == b->unit;
    case PQ_LT_INTEGER: return a->bit_width == b->bit_width && a->is_signed == b->is_signed;
    default: return true;
    }
}

static bool element_eq(const pq_schema_element *a, const pq_schema_element *b)
{
    return a->has_type == b->has_type && (!a->has_type || a->type == b->type) &&
           a->type_length == b->type_length && a->has_repetition == b->has_repetition &&
           (!a->has_repetition || a->repetition == b->repetition) && str_eq(a->name, b->name) &&
           a->num_children == b->num_children && a->converted_type == b->converted_type &&
           a->has_scale == b->has_scale && a->scale == b->scale &&
           a->has_precision == b->has_precision && a->precision == b->precision &&
           a->has_field_id == b->has_field_id && a->field_id == b->field_id &&
           logical_eq(&a->logical, &b->logical);
}

static bool kv_eq(const pq_key_value *a, const pq_key_value *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!str_eq(a[i].key, b[i].key) || !str_eq(a[i].value, b[i].value)) return false;
    return true;
}

static bool colmeta_eq(const pq_column_meta *a, const pq_column_meta *b)
{
    if (a->type != b->type || a->n_encodings != b->n_encodings || a->n_path != b->n_path ||
        a->codec != b->codec || a->num_values != b->num_values ||
        a->total_uncompressed_size != b->total_uncompressed_size ||
        a->total_compressed_size != b->total_compressed_size || a->n_kv != b->n_kv ||
        !kv_eq(a->kv, b->kv, a->n_kv) || a->data_page_offset != b->data_page_offset ||
        a->has_index_page_offset != b->has_index_page_offset ||
        a->index_page_offset != b->index_page_offset ||
        a->has_dictionary_page_offset != b->has_dictionary_page_offset ||
        a->dictionary_page_offset != b->dictionary_page_offset ||
        !stats_eq(&a->statistics, &b->statistics) ||
        a->n_encoding_stats != b->n_encoding_stats ||
        a->has_bloom_filter_offset != b->has_bloom_filter_offset ||
        a->bloom_filter_offset != b->bloom_filter_offset ||
        a->has_bloom_filter_length != b->has_bloom_filter_length ||
        a->bloom_filter_length != b->bloom_filter_length)
        return false;
    for (uint32_t i = 0; i < a->n_encodings; i++)
        if (a->encodings[i] != b->encodings[i]) return false;
    for (uint32_t i = 0; i < a->n_path; i++)
        if (!str_eq(a->path_in_schema[i], b->path_in_schema[i])) return false;
    for (uint32_t i = 0; i < a->n_encoding_stats; i++)
        if (memcmp(&a->encoding_stats[i], &b->encoding_stats[i], sizeof a->encoding_stats[i]))
            return false;
    return true;
}

static bool chunk_eq(const pq_column_chunk *a, const pq_column_chunk *b)
{
    return str_eq(a->file_path, b->file_path) && a->file_offset == b->file_offset &&
           a->has_meta_data == b->has_meta_data &&
           (!a->has_meta_data || colmeta_eq(&a->meta_data, &b->meta_data)) &&
           a->has_offset_index == b->has_offset_index &&
           a->has_column_index == b->has_column_index &&
           a->offset_index_offset == b->offset_index_offset &&
           a->offset_index_length == b->offset_index_length &&
           a->column_index_offset == b->column_index_offset &&
           a->column_index_length == b->column_index_length &&
           a->is_encrypted == b->is_encrypted;
}

static bool rowgroup_eq(const pq_row_group *a, const pq_row_group *b)
{
    if (a->n_columns != b->n_columns || a->total_byte_size != b->total_byte_size ||
        a->num_rows != b->num_rows || a->n_sorting_columns != b->n_sorting_columns ||
        a->has_file_offset != b->has_file_offset || a->file_offset != b->file_offset ||
        a->has_total_compressed_size != b->has_total_compressed_size ||
        a->total_compressed_size != b->total_compressed_size ||
        a->has_ordinal != b->has_ordinal || a->ordinal != b->ordinal)
        return false;
    for (uint32_t i = 0; i < a->n_columns; i++)
        if (!chunk_eq(&a->columns[i], &b->columns[i])) return false;
    for (uint32_t i = 0; i < a->n_sorting_columns; i++) {
        const pq_sorting_column *x = &a->sorting_columns[i], *y = &b->sorting_columns[i];
        if (x->column_idx != y->column_idx || x->descending != y->descending ||
            x->nulls_first != y->nulls_first)
            return false;
    }
    return true;
}

static bool filemeta_eq(const pq_file_meta *a, const pq_file_meta *b)
{
    if (a->version != b->version || a->n_schema != b->n_schema || a->num_rows != b->num_rows ||
        a->n_row_groups != b->n_row_groups || a->n_kv != b->n_kv ||
        !kv_eq(a->kv, b->kv, a->n_kv) || !str_eq(a->created_by, b->created_by) ||
        a->n_column_orders != b->n_column_orders ||
        a->has_encryption_algorithm != b->has_encryption_algorithm)
        return false;
    for (uint32_t i = 0; i < a->n_schema; i++)
        if (!element_eq(&a->schema[i], &b->schema[i])) return false;
    for (uint32_t i = 0; i < a->n_row_groups; i++)
        if (!rowgroup_eq(&a->row_groups[i], &b->row_groups[i])) return false;
    for (uint32_t i = 0; i < a->n_column_orders; i++)
        if (a->column_orders[i] != b->column_orders[i]) return false;
    return true;
}

/* Encodes m, decodes it, checks equality, re-encodes and compares bytes. */
static void roundtrip_file_meta(const pq_file_meta *m)
{
    dc_err err;
    dc_buf a, b;
    dc_arena arena;
    pq_file_meta d;
    dc_buf_init(&a, BIG);
    dc_buf_init(&b, BIG);
    dc_arena_init(&arena, BIG);
    CHECK_OK(pq_file_meta_encode(&a, m, &err), &err);
    CHECK_OK(pq_file_meta_decode(&d, &arena, a.data, a.len, &err), &err);
    CHECK(filemeta_eq(m, &d));
    CHECK_OK(pq_file_meta_encode(&b, &d, &err), &err);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    dc_arena_dispose(&arena);
    dc_buf_dispose(&a);
    dc_buf_dispose(&b);
}

/* ------------------------------------------------------------ thrift primitives */

TEST(thrift_varints_zigzag_limits)
{
    dc_err err;
    dc_buf out;
    dc_buf_init(&out, 1 << 20);
    pq_twriter w;
    pq_tw_init(&w, &out, &err);
    const int64_t i64s[] = {0, -1, 1, INT64_MIN, INT64_MAX, -300, 1ll << 40};
    const int32_t i32s[] = {0, -1, INT32_MIN, INT32_MAX, 63, -64, 64};
    const int16_t i16s[] = {0, INT16_MIN, INT16_MAX, -129};
    for (size_t i = 0; i < 7; i++) pq_tw_i64(&w, i64s[i]);
    for (size_t i = 0; i < 7; i++) pq_tw_i32(&w, i32s[i]);
    for (size_t i = 0; i < 4; i++) pq_tw_i16(&w, i16s[i]);
    pq_tw_double(&w, -2.5);
    pq_tw_binary(&w, "abc", 3);
    CHECK_OK(w.rc, &err);
    pq_treader r;
    pq_tr_init(&r, out.data, out.len, "test", NULL);
    for (size_t i = 0; i < 7; i++) {
        int64_t v = 7;
        CHECK_OK(pq_tr_i64(&r, &v, &err), &err);
        CHECK(v == i64s[i]);
    }
    for (size_t i = 0; i < 7; i++) {
        int32_t v = 7;
        CHECK_OK(pq_tr_i32(&r, &v, &err), &err);
        CHECK_EQ_INT(v, i32s[i]);
    }
    for (size_t i = 0; i < 4; i++) {
        int16_t v = 7;
        CHECK_OK(pq_tr_i16(&r, &v, &err), &err);
        CHECK_EQ_INT(v, i16s[i]);
    }
    double dv = 0;
    CHECK_OK(pq_tr_double(&r, &dv, &err), &err);
    CHECK(dv == -2.5);
    const uint8_t *p = NULL;
    uint32_t len = 0;
    CHECK_OK(pq_tr_binary(&r, &p, &len, &err), &err);
    CHECK(len == 3 && memcmp(p, "abc", 3) == 0);
    CHECK_EQ_INT(dc_cur_left(&r.cur), 0);
    /* zigzag: -1 is 1, 1 is 2, INT64_MIN is all ones (10 bytes). */
    CHECK_EQ_INT(out.data[1], 1);
    CHECK_EQ_INT(out.data[2], 2);
    dc_buf_dispose(&out);

    /* An i32 varint above 2^32, an 11-byte varint, a truncated one. */
    const uint8_t big32[] = {0x80, 0x80, 0x80, 0x80, 0x20};
    const uint8_t long64[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    const uint8_t cut[] = {0x80, 0x80};
    int32_t v32;
    int64_t v64;
    pq_tr_init(&r, big32, sizeof big32, "test", NULL);
    CHECK_EQ_INT(pq_tr_i32(&r, &v32, &err), DC_ECORRUPT);
    pq_tr_init(&r, long64, sizeof long64, "test", NULL);
    CHECK_EQ_INT(pq_tr_i64(&r, &v64, &err), DC_ECORRUPT);
    pq_tr_init(&r, cut, sizeof cut, "test", NULL);
    CHECK_EQ_INT(pq_tr_i64(&r, &v64, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "truncated") != NULL);
}

/* Field ids with small deltas, long-form jumps and decreasing ids. */
static int ids_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    int32_t *got = obj;
    int32_t v = 0;
    (void)t;
    DC_TRY(pq_tr_i32(r, &v, err));
    if (id == 1) got[0] = v;
    else if (id == 17) got[1] = v;
    else if (id == 3) got[2] = v;
    else if (id == 300) got[3] = v;
    else if (id == -5) got[4] = v;
    return 0;
}

TEST(thrift_field_header_delta_and_long_form)
{
    dc_err err;
    dc_buf out;
    dc_buf_init(&out, 1 << 20);
    pq_twriter w;
    pq_tw_init(&w, &out, &err);
    pq_tw_struct_begin(&w);
    pq_tw_field_i32(&w, 1, 10);    /* delta 1 */
    pq_tw_field_i32(&w, 17, 20);   /* delta 16: long form */
    pq_tw_field_i32(&w, 3, 30);    /* decreasing: long form */
    pq_tw_field_i32(&w, 300, 40);  /* long form */
    pq_tw_field_i32(&w, -5, 50);   /* negative id */
    pq_tw_struct_end(&w);
    CHECK_OK(w.rc, &err);
    CHECK_EQ_INT(out.data[0], 0x15);          /* delta 1, i32 */
    CHECK_EQ_INT(out.data[2], PQ_TT_I32);     /* long form header */
    CHECK_EQ_INT(out.data[3], 34);            /* zigzag(17) */
    static pq_tfield fields[301];
    fields[1] = fields[3] = fields[17] = fields[300] = (pq_tfield){"f", PQ_TT_I32};
    const pq_tstruct d = {"Ids", fields, 301, 1u << 3};
    int32_t got[5] = {0};
    pq_treader r;
    pq_tr_init(&r, out.data, out.len, "test", NULL);
    CHECK_OK(pq_tr_struct(&r, &d, got, ids_field, &err), &err);
    CHECK_EQ_INT(got[0], 10);
    CHECK_EQ_INT(got[1], 20);
    CHECK_EQ_INT(got[2], 30);
    CHECK_EQ_INT(got[3], 40);
    CHECK_EQ_INT(got[4], 0); /* id -5 is unknown: skipped */
    CHECK_EQ_INT(dc_cur_left(&r.cur), 0);
    /* The same bytes without field 3: the required check names it. */
    const uint8_t no3[] = {0x15, 0x14, 0x00};
    pq_tr_init(&r, no3, sizeof no3, "test", NULL);
    CHECK_EQ_INT(pq_tr_struct(&r, &d, got, ids_field, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "test: Ids.f (field id 3) at offset 2: required field is missing"));
    /* Field 3 with the wrong wire type is skipped, and the message says so. */
    const uint8_t bad3[] = {0x38, 0x01, 'x', 0x00};
    pq_tr_init(&r, bad3, sizeof bad3, "test", NULL);
    CHECK_EQ_INT(pq_tr_struct(&r, &d, got, ids_field, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "wire type binary, expected i32"));
    dc_buf_dispose(&out);
}

static int last_i32_field(void *obj, pq_treader *r, int16_t id, uint8_t t, dc_err *err)
{
    (void)id, (void)t;
    return pq_tr_i32(r, obj, err);
}

TEST(thrift_skip_every_type)
{
    dc_err err;
    dc_buf out;
    dc_buf_init(&out, 1 << 20);
    pq_twriter w;
    pq_tw_init(&w, &out, &err);
    pq_tw_struct_begin(&w);
    pq_tw_field_bool(&w, 1, true);
    pq_tw_field_bool(&w, 2, false);
    pq_tw_field_i8(&w, 3, -3);
    pq_tw_field_i16(&w, 4, -300);
    pq_tw_field_i32(&w, 5, 1 << 30);
    pq_tw_field_i64(&w, 6, INT64_MIN);
    pq_tw_field(&w, 7, PQ_TT_DOUBLE);
    pq_tw_double(&w, 1.5);
    pq_tw_field_binary(&w, 8, "hello", 5);
    pq_tw_field(&w, 9, PQ_TT_LIST);
    pq_tw_list(&w, PQ_TT_I32, 20); /* long-form list header */
    for (int i = 0; i < 20; i++) pq_tw_i32(&w, i * 1000);
    pq_tw_field(&w, 10, PQ_TT_SET);
    pq_tw_list(&w, PQ_TT_BINARY, 2);
    pq_tw_binary(&w, "a", 1);
    pq_tw_binary(&w, "bc", 2);
    pq_tw_field(&w, 11, PQ_TT_MAP);
    const uint8_t map[] = {0x02, 0x58, 0x02, 0x01, 'k', 0x04, 0x02, 'k', 'l'}; /* i32 -> binary */
    dc_buf_append(&out, map, sizeof map, &err);
    pq_tw_field(&w, 12, PQ_TT_MAP);
    dc_buf_putc(&out, 0x00, &err); /* empty map: no type byte */
    pq_tw_field(&w, 13, PQ_TT_STRUCT);
    pq_tw_struct_begin(&w);
    pq_tw_field(&w, 1, PQ_TT_LIST);
    pq_tw_list(&w, PQ_TT_TRUE, 3);
    pq_tw_bool_elem(&w, true);
    pq_tw_bool_elem(&w, false);
    pq_tw_bool_elem(&w, true);
    pq_tw_field(&w, 2, PQ_TT_LIST);
    pq_tw_list(&w, PQ_TT_STRUCT, 1);
    pq_tw_struct_begin(&w);
    pq_tw_field_i32(&w, 1, 5);
    pq_tw_struct_end(&w);
    pq_tw_struct_end(&w);
    pq_tw_field(&w, 14, PQ_TT_UUID);
    dc_buf_append(&out, "0123456789abcdef", 16, &err);
    pq_tw_field(&w, 15, PQ_TT_LIST);
    pq_tw_list(&w, PQ_TT_DOUBLE, 1);
    pq_tw_double(&w, 2.0);
    pq_tw_field_i32(&w, 500, 77); /* the one field the descriptor knows */
    pq_tw_struct_end(&w);
    CHECK_OK(w.rc, &err);
    static pq_tfield fields[501];
    fields[500] = (pq_tfield){"last", PQ_TT_I32};
    const pq_tstruct d = {"Skips", fields, 501, 0};
    int32_t last = 0;
    pq_treader r;
    pq_tr_init(&r, out.data, out.len, "test", NULL);
    CHECK_OK(pq_tr_struct(&r, &d, &last, last_i32_field, &err), &err);
    CHECK_EQ_INT(last, 77);
    CHECK_EQ_INT(dc_cur_left(&r.cur), 0);
    /* Every proper prefix fails (the STOP is missing) and never reads past it. */
    for (size_t n = 0; n < out.len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, out.data, n);
        pq_tr_init(&r, cut, n, "test", NULL);
        CHECK(pq_tr_struct(&r, &d, &last, last_i32_field, &err) < 0);
        free(cut);
    }
    dc_buf_dispose(&out);
}

static int run_skip(const uint8_t *p, size_t n, dc_err *err)
{
    const pq_tstruct d = {"Probe", NULL, 0, 0};
    int32_t unused = 0;
    pq_treader r;
    pq_tr_init(&r, p, n, "test", NULL);
    return pq_tr_struct(&r, &d, &unused, last_i32_field, err);
}

TEST(thrift_hostile_containers_and_depth)
{
    dc_err err;
    /* list<i32> claiming 2^31-1 elements; list claiming more than the bytes left. */
    const uint8_t huge[] = {0x19, 0xf5, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00};
    CHECK_EQ_INT(run_skip(huge, sizeof huge, &err), DC_ELIMIT);
    const uint8_t more[] = {0x19, 0xf5, 0x10, 0x01, 0x02, 0x00};
    CHECK_EQ_INT(run_skip(more, sizeof more, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "cannot fit"));
    /* list<double> of 2 with 9 bytes left. */
    const uint8_t dbl[] = {0x19, 0x27, 1, 2, 3, 4, 5, 6, 7, 8, 0x00};
    CHECK_EQ_INT(run_skip(dbl, sizeof dbl, &err), DC_ECORRUPT);
    /* map with more entries than bytes. */
    const uint8_t mp[] = {0x1b, 0x64, 0x55, 0x02, 0x02, 0x00};
    CHECK_EQ_INT(run_skip(mp, sizeof mp, &err), DC_ECORRUPT);
    /* binary longer than the limit, binary longer than the input. */
    const uint8_t bin[] = {0x18, 0x80, 0x80, 0x80, 0x40, 0x00};
    CHECK_EQ_INT(run_skip(bin, sizeof bin, &err), DC_ELIMIT);
    const uint8_t bin2[] = {0x18, 0x05, 'a', 0x00};
    CHECK_EQ_INT(run_skip(bin2, sizeof bin2, &err), DC_ECORRUPT);
    /* Types 14 and 15 do not exist; STOP as list element type neither. */
    const uint8_t t14[] = {0x1e, 0x00};
    CHECK_EQ_INT(run_skip(t14, sizeof t14, &err), DC_ECORRUPT);
    const uint8_t l0[] = {0x19, 0x10, 0x00, 0x00};
    CHECK_EQ_INT(run_skip(l0, sizeof l0, &err), DC_ECORRUPT);
    /* Field id overflow through deltas. */
    const uint8_t ovf[] = {0x05, 0xfc, 0xff, 0x03, 0x01, 0xf5, 0x01, 0x00};
    CHECK_EQ_INT(run_skip(ovf, sizeof ovf, &err), DC_ECORRUPT);

    /* 200 nested structs, then 200 nested lists: both hit the depth limit. */
    uint8_t deep[600];
    size_t n = 0;
    for (int i = 0; i < 200; i++) deep[n++] = 0x1c;
    for (int i = 0; i < 201; i++) deep[n++] = 0x00;
    CHECK_EQ_INT(run_skip(deep, n, &err), DC_ELIMIT);
    CHECK(strstr(err.msg, "nesting deeper than"));
    n = 0;
    deep[n++] = 0x19;
    for (int i = 0; i < 200; i++) deep[n++] = 0x19;
    deep[n++] = 0x05;
    deep[n++] = 0x00;
    CHECK_EQ_INT(run_skip(deep, n, &err), DC_ELIMIT);
    /* Exactly at the limit is fine: DC_THRIFT_MAX_DEPTH - 1 nested below the top. */
    n = 0;
    for (int i = 0; i < DC_THRIFT_MAX_DEPTH - 1; i++) deep[n++] = 0x1c;
    for (int i = 0; i < DC_THRIFT_MAX_DEPTH; i++) deep[n++] = 0x00;
    CHECK_OK(run_skip(deep, n, &err), &err);
}

/* ------------------------------------------------------------ round trips */

static pq_schema_element leaf(const char *name, pq_type t, pq_logical_kind k)
{
    pq_schema_element e;
    memset(&e, 0, sizeof e);
    e.name = name;
    e.has_type = true;
    e.type = t;
    e.has_repetition = true;
    e.repetition = PQ_OPTIONAL;
    e.converted_type = PQ_CT_NONE;
    e.logical.kind = k;
    return e;
}

static pq_statistics full_stats(void)
{
    pq_statistics s;
    memset(&s, 0, sizeof s);
    s.is_set = true;
    s.has_max = s.has_min = true;
    s.max = (pq_bytes){(const uint8_t *)"zz", 2};
    s.min = (pq_bytes){(const uint8_t *)"", 0};
    s.has_null_count = s.has_distinct_count = true;
    s.null_count = 3;
    s.distinct_count = INT64_MAX;
    s.has_max_value = s.has_min_value = true;
    s.max_value = (pq_bytes){(const uint8_t *)"\xff\x00\x01", 3};
    s.min_value = (pq_bytes){(const uint8_t *)"a", 1};
    s.has_is_max_exact = s.has_is_min_exact = true;
    s.is_max_value_exact = true;
    s.is_min_value_exact = false;
    return s;
}

TEST(meta_roundtrip_every_field)
{
    enum { NL = 19 };
    pq_schema_element schema[NL + 1];
    memset(&schema[0], 0, sizeof schema[0]);
    schema[0].name = "schema";
    schema[0].num_children = NL;
    schema[0].converted_type = PQ_CT_NONE;
    static const pq_logical_kind kinds[] = {
        PQ_LT_STRING, PQ_LT_MAP, PQ_LT_LIST, PQ_LT_ENUM, PQ_LT_DECIMAL, PQ_LT_DATE,
        PQ_LT_TIME, PQ_LT_TIMESTAMP, PQ_LT_INTEGER, PQ_LT_UNKNOWN, PQ_LT_JSON, PQ_LT_BSON,
        PQ_LT_UUID, PQ_LT_FLOAT16, PQ_LT_VARIANT, PQ_LT_GEOMETRY, PQ_LT_GEOGRAPHY,
        PQ_LT_TIMESTAMP, PQ_LT_NONE,
    };
    char names[NL][16];
    for (int i = 0; i < NL; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        schema[i + 1] = leaf(names[i], (pq_type)(i % 8), kinds[i]);
    }
    schema[5].logical.scale = 2, schema[5].logical.precision = 38;
    schema[5].has_scale = schema[5].has_precision = true;
    schema[5].scale = 2, schema[5].precision = 38, schema[5].converted_type = PQ_CT_DECIMAL;
    schema[7].logical.unit = PQ_UNIT_MILLIS, schema[7].logical.is_adjusted_to_utc = true;
    schema[8].logical.unit = PQ_UNIT_MICROS;
    schema[18].logical.unit = PQ_UNIT_NANOS, schema[18].logical.is_adjusted_to_utc = true;
    schema[9].logical.bit_width = 16, schema[9].logical.is_signed = true;
    schema[8].type = PQ_FIXED_LEN_BYTE_ARRAY, schema[8].type_length = 16;
    schema[19].has_field_id = true, schema[19].field_id = -7;
    schema[19].has_repetition = true, schema[19].repetition = PQ_REPEATED;
    schema[19].converted_type = PQ_CT_INTERVAL;

    pq_encoding encs[] = {PQ_ENC_PLAIN, PQ_ENC_RLE, PQ_ENC_RLE_DICTIONARY, (pq_encoding)42};
    const char *path[] = {"c0", "nested"};
    pq_key_value ckv[] = {{"k", "v"}, {"novalue", NULL}};
    pq_page_encoding_stats es[] = {{PQ_PAGE_DICTIONARY, PQ_ENC_PLAIN, 1},
                                   {PQ_PAGE_DATA, PQ_ENC_RLE_DICTIONARY, 1000}};
    pq_column_chunk cols[2];
    memset(cols, 0, sizeof cols);
    cols[0].file_path = "other.parquet";
    cols[0].file_offset = 4;
    cols[0].has_meta_data = true;
    pq_column_meta *cm = &cols[0].meta_data;
    cm->type = PQ_BYTE_ARRAY;
    cm->n_encodings = 4, cm->encodings = encs;
    cm->n_path = 2, cm->path_in_schema = path;
    cm->codec = PQ_CODEC_ZSTD;
    cm->num_values = 1ll << 40, cm->total_uncompressed_size = 123456789;
    cm->total_compressed_size = 99;
    cm->n_kv = 2, cm->kv = ckv;
    cm->data_page_offset = 40;
    cm->has_index_page_offset = true, cm->index_page_offset = 30;
    cm->has_dictionary_page_offset = true, cm->dictionary_page_offset = 4;
    cm->statistics = full_stats();
    cm->n_encoding_stats = 2, cm->encoding_stats = es;
    cm->has_bloom_filter_offset = true, cm->bloom_filter_offset = 5000;
    cm->has_bloom_filter_length = true, cm->bloom_filter_length = 256;
    cols[0].has_offset_index = true;
    cols[0].offset_index_offset = 6000, cols[0].offset_index_length = 20;
    cols[0].has_column_index = true;
    cols[0].column_index_offset = 7000, cols[0].column_index_length = 30;
    cols[1].file_offset = 9; /* no meta_data, nothing optional */

    pq_sorting_column sc[] = {{1, true, false}, {0, false, true}};
    pq_row_group rgs[2];
    memset(rgs, 0, sizeof rgs);
    rgs[0].n_columns = 2, rgs[0].columns = cols;
    rgs[0].total_byte_size = 1000, rgs[0].num_rows = 10;
    rgs[0].n_sorting_columns = 2, rgs[0].sorting_columns = sc;
    rgs[0].has_file_offset = true, rgs[0].file_offset = 4;
    rgs[0].has_total_compressed_size = true, rgs[0].total_compressed_size = 99;
    rgs[0].has_ordinal = true, rgs[0].ordinal = -2;
    rgs[1].num_rows = 0;

    pq_key_value kv[] = {{"ARROW:schema", "abc"}, {"empty", ""}, {"null", NULL}};
    pq_column_order orders[NL];
    for (int i = 0; i < NL; i++)
        orders[i] = i % 2 ? PQ_ORDER_IEEE754_TOTAL : PQ_ORDER_TYPE_DEFINED;
    pq_file_meta m;
    memset(&m, 0, sizeof m);
    m.version = 2;
    m.n_schema = NL + 1, m.schema = schema;
    m.num_rows = 10;
    m.n_row_groups = 2, m.row_groups = rgs;
    m.n_kv = 3, m.kv = kv;
    m.created_by = "deltacdc test";
    m.n_column_orders = NL, m.column_orders = orders;
    roundtrip_file_meta(&m);

    /* Minimal: no optional field at all. */
    pq_file_meta z;
    memset(&z, 0, sizeof z);
    z.n_schema = 1, z.schema = schema;
    roundtrip_file_meta(&z);
}

TEST(meta_encode_refuses_what_it_cannot_write)
{
    dc_err err;
    dc_buf out;
    dc_buf_init(&out, BIG);
    pq_schema_element e = leaf(NULL, PQ_INT32, PQ_LT_NONE);
    pq_file_meta m;
    memset(&m, 0, sizeof m);
    m.n_schema = 1, m.schema = &e;
    CHECK_EQ_INT(pq_file_meta_encode(&out, &m, &err), DC_EINVAL);
    e.name = "x";
    e.logical.kind = PQ_LT_TIME; /* unit 0 */
    CHECK_EQ_INT(pq_file_meta_encode(&out, &m, &err), DC_EINVAL);
    e.logical.kind = (pq_logical_kind)9;
    CHECK_EQ_INT(pq_file_meta_encode(&out, &m, &err), DC_EINVAL);
    e.logical.kind = PQ_LT_NONE;
    m.has_encryption_algorithm = true;
    CHECK_EQ_INT(pq_file_meta_encode(&out, &m, &err), DC_EUNSUPPORTED);
    m.has_encryption_algorithm = false;
    pq_column_order o = PQ_ORDER_UNKNOWN;
    m.n_column_orders = 1, m.column_orders = &o;
    CHECK_EQ_INT(pq_file_meta_encode(&out, &m, &err), DC_EINVAL);
    m.n_column_orders = 0;
    pq_column_chunk c;
    memset(&c, 0, sizeof c);
    c.is_encrypted = true;
    pq_row_group g;
    memset(&g, 0, sizeof g);
    g.n_columns = 1, g.columns = &c;
    m.n_row_groups = 1, m.row_groups = &g;
    CHECK_EQ_INT(pq_file_meta_encode(&out, &m, &err), DC_EUNSUPPORTED);
    /* A buffer that cannot hold the footer: DC_ELIMIT, not a partial success. */
    c.is_encrypted = false;
    dc_buf small;
    dc_buf_init(&small, 5);
    CHECK_EQ_INT(pq_file_meta_encode(&small, &m, &err), DC_ELIMIT);
    dc_buf_dispose(&small);
    dc_buf_dispose(&out);
}

static void roundtrip_page_header(const pq_page_header *h)
{
    dc_err err;
    dc_buf a, b;
    dc_arena arena;
    pq_page_header d;
    size_t used = 0;
    dc_buf_init(&a, BIG);
    dc_buf_init(&b, BIG);
    dc_arena_init(&arena, BIG);
    CHECK_OK(pq_page_header_encode(&a, h, &err), &err);
    dc_buf_append(&a, "trailing page bytes", 19, &err);
    CHECK_OK(pq_page_header_decode(&d, &used, &arena, a.data, a.len, &err), &err);
    CHECK_EQ_INT(used, a.len - 19);
    CHECK(d.type == h->type && d.uncompressed_page_size == h->uncompressed_page_size &&
          d.compressed_page_size == h->compressed_page_size && d.has_crc == h->has_crc &&
          d.crc == h->crc && d.has_data_page_header == h->has_data_page_header &&
          d.has_dictionary_page_header == h->has_dictionary_page_header &&
          d.has_data_page_header_v2 == h->has_data_page_header_v2);
    if (h->has_data_page_header) {
        const pq_data_page_header *x = &h->data_page_header, *y = &d.data_page_header;
        CHECK(x->num_values == y->num_values && x->encoding == y->encoding &&
              x->definition_level_encoding == y->definition_level_encoding &&
              x->repetition_level_encoding == y->repetition_level_encoding &&
              stats_eq(&x->statistics, &y->statistics));
    }
    if (h->has_dictionary_page_header) {
        const pq_dictionary_page_header *x = &h->dictionary_page_header;
        const pq_dictionary_page_header *y = &d.dictionary_page_header;
        CHECK(x->num_values == y->num_values && x->encoding == y->encoding &&
              x->has_is_sorted == y->has_is_sorted && x->is_sorted == y->is_sorted);
    }
    if (h->has_data_page_header_v2) {
        const pq_data_page_header_v2 *x = &h->data_page_header_v2, *y = &d.data_page_header_v2;
        CHECK(x->num_values == y->num_values && x->num_nulls == y->num_nulls &&
              x->num_rows == y->num_rows && x->encoding == y->encoding &&
              x->definition_levels_byte_length == y->definition_levels_byte_length &&
              x->repetition_levels_byte_length == y->repetition_levels_byte_length &&
              x->is_compressed == y->is_compressed && stats_eq(&x->statistics, &y->statistics));
    }
    CHECK_OK(pq_page_header_encode(&b, &d, &err), &err);
    CHECK(b.len == a.len - 19 && memcmp(a.data, b.data, b.len) == 0);
    dc_arena_dispose(&arena);
    dc_buf_dispose(&a);
    dc_buf_dispose(&b);
}

TEST(page_header_roundtrip_all_kinds)
{
    pq_page_header h;
    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_DATA;
    h.uncompressed_page_size = 100, h.compressed_page_size = 60;
    h.has_crc = true, h.crc = -123456;
    h.has_data_page_header = true;
    h.data_page_header.num_values = 10;
    h.data_page_header.encoding = PQ_ENC_RLE_DICTIONARY;
    h.data_page_header.definition_level_encoding = PQ_ENC_RLE;
    h.data_page_header.repetition_level_encoding = PQ_ENC_BIT_PACKED;
    h.data_page_header.statistics = full_stats();
    roundtrip_page_header(&h);

    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_DICTIONARY;
    h.uncompressed_page_size = h.compressed_page_size = 8;
    h.has_dictionary_page_header = true;
    h.dictionary_page_header.num_values = 2;
    h.dictionary_page_header.encoding = PQ_ENC_PLAIN;
    roundtrip_page_header(&h);
    h.dictionary_page_header.has_is_sorted = true;
    h.dictionary_page_header.is_sorted = true;
    roundtrip_page_header(&h);

    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_DATA_V2;
    h.uncompressed_page_size = 0, h.compressed_page_size = 0;
    h.has_data_page_header_v2 = true;
    pq_data_page_header_v2 *v2 = &h.data_page_header_v2;
    v2->num_values = 5, v2->num_nulls = 1, v2->num_rows = 4;
    v2->encoding = PQ_ENC_DELTA_BINARY_PACKED;
    v2->definition_levels_byte_length = 3, v2->repetition_levels_byte_length = 2;
    v2->is_compressed = false;
    roundtrip_page_header(&h);
    v2->is_compressed = true;
    v2->statistics = full_stats();
    roundtrip_page_header(&h);

    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_INDEX;
    h.uncompressed_page_size = h.compressed_page_size = 1;
    roundtrip_page_header(&h);
}

/* Bytes written by hand from parquet.thrift, so that the encoder and decoder
 * cannot agree on a wrong field id between themselves. */
TEST(page_header_golden_bytes)
{
    const uint8_t v1[] = {
        0x15, 0x00,             /* 1: type = DATA_PAGE */
        0x15, 0x20,             /* 2: uncompressed_page_size = 16 */
        0x15, 0x1e,             /* 3: compressed_page_size = 15 */
        0x2c,                   /* 5: data_page_header */
        0x15, 0x10, 0x15, 0x00, 0x15, 0x06, 0x15, 0x08, /* 8, PLAIN, RLE, BIT_PACKED */
        0x00, 0x00,
    };
    const uint8_t v2[] = {
        0x15, 0x06, 0x15, 0x02, 0x15, 0x02,
        0x5c,                   /* delta 5 from 3: 8 = data_page_header_v2 */
        0x15, 0x06, 0x15, 0x00, 0x15, 0x06, 0x15, 0x10, 0x15, 0x04, 0x15, 0x00, /* RLE_DICT */
        0x00, 0x00,             /* is_compressed absent: true */
    };
    dc_err err;
    dc_arena arena;
    dc_arena_init(&arena, BIG);
    pq_page_header h;
    size_t used = 0;
    CHECK_OK(pq_page_header_decode(&h, &used, &arena, v1, sizeof v1, &err), &err);
    CHECK_EQ_INT(used, sizeof v1);
    CHECK_EQ_INT(h.type, PQ_PAGE_DATA);
    CHECK_EQ_INT(h.uncompressed_page_size, 16);
    CHECK_EQ_INT(h.compressed_page_size, 15);
    CHECK(h.has_data_page_header && !h.has_crc && !h.data_page_header.statistics.is_set);
    CHECK_EQ_INT(h.data_page_header.num_values, 8);
    CHECK_EQ_INT(h.data_page_header.encoding, PQ_ENC_PLAIN);
    CHECK_EQ_INT(h.data_page_header.definition_level_encoding, PQ_ENC_RLE);
    CHECK_EQ_INT(h.data_page_header.repetition_level_encoding, PQ_ENC_BIT_PACKED);
    dc_buf out;
    dc_buf_init(&out, BIG);
    CHECK_OK(pq_page_header_encode(&out, &h, &err), &err);
    CHECK(out.len == sizeof v1 && memcmp(out.data, v1, sizeof v1) == 0);

    CHECK_OK(pq_page_header_decode(&h, &used, &arena, v2, sizeof v2, &err), &err);
    CHECK_EQ_INT(h.type, PQ_PAGE_DATA_V2);
    CHECK(h.has_data_page_header_v2 && h.data_page_header_v2.is_compressed);
    CHECK_EQ_INT(h.data_page_header_v2.num_values, 3);
    CHECK_EQ_INT(h.data_page_header_v2.num_nulls, 0);
    CHECK_EQ_INT(h.data_page_header_v2.num_rows, 3);
    CHECK_EQ_INT(h.data_page_header_v2.encoding, PQ_ENC_RLE_DICTIONARY);
    CHECK_EQ_INT(h.data_page_header_v2.definition_levels_byte_length, 2);
    CHECK_EQ_INT(h.data_page_header_v2.repetition_levels_byte_length, 0);
    dc_buf_dispose(&out);
    dc_arena_dispose(&arena);
}

TEST(page_header_rejects_bad_values)
{
    dc_err err;
    dc_arena arena;
    dc_arena_init(&arena, BIG);
    pq_page_header h;
    const uint8_t badtype[] = {0x15, 0x0e, 0x15, 0x02, 0x15, 0x02, 0x00};
    CHECK_EQ_INT(pq_page_header_decode(&h, NULL, &arena, badtype, sizeof badtype, &err),
                 DC_ECORRUPT);
    CHECK(strstr(err.msg, "parquet page header: PageHeader.type (field id 1) at offset 0: "
                          "unknown page type 7"));
    const uint8_t negsize[] = {0x15, 0x00, 0x15, 0x02, 0x15, 0x01, 0x00};
    CHECK_EQ_INT(pq_page_header_decode(&h, NULL, &arena, negsize, sizeof negsize, &err),
                 DC_ECORRUPT);
    CHECK(strstr(err.msg, "PageHeader.compressed_page_size (field id 3) at offset 4"));
    const uint8_t nov1[] = {0x15, 0x00, 0x15, 0x02, 0x15, 0x02, 0x2c, 0x15, 0x02, 0x00, 0x00};
    CHECK_EQ_INT(pq_page_header_decode(&h, NULL, &arena, nov1, sizeof nov1, &err),
                 DC_ECORRUPT);
    CHECK(strstr(err.msg, "DataPageHeader.encoding (field id 2) at offset 9: required field "
                          "is missing"));
    dc_arena_dispose(&arena);
}

TEST(column_and_offset_index_roundtrip)
{
    dc_err err;
    dc_arena arena;
    dc_arena_init(&arena, BIG);
    bool nulls[] = {false, true, false};
    pq_bytes mins[] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"", 0},
                       {(const uint8_t *)"m", 1}};
    pq_bytes maxs[] = {{(const uint8_t *)"l", 1}, {(const uint8_t *)"", 0},
                       {(const uint8_t *)"zzz", 3}};
    int64_t counts[] = {0, 7, 1ll << 33};
    pq_column_index ci = {3, nulls, mins, maxs, PQ_BO_ASCENDING, true, counts};
    for (int with_counts = 1; with_counts >= 0; with_counts--) {
        ci.has_null_counts = with_counts;
        dc_buf a, b;
        dc_buf_init(&a, BIG);
        dc_buf_init(&b, BIG);
        pq_column_index d;
        CHECK_OK(pq_column_index_encode(&a, &ci, &err), &err);
        CHECK_OK(pq_column_index_decode(&d, &arena, a.data, a.len, &err), &err);
        CHECK_EQ_INT(d.n_pages, 3);
        CHECK_EQ_INT(d.boundary_order, PQ_BO_ASCENDING);
        CHECK_EQ_INT(d.has_null_counts, with_counts);
        for (int i = 0; i < 3; i++) {
            CHECK(d.null_pages[i] == nulls[i]);
            CHECK(bytes_eq(&d.min_values[i], &mins[i]) && bytes_eq(&d.max_values[i], &maxs[i]));
            if (with_counts) CHECK(d.null_counts[i] == counts[i]);
        }
        CHECK_OK(pq_column_index_encode(&b, &d, &err), &err);
        CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        dc_buf_dispose(&a);
        dc_buf_dispose(&b);
    }

    pq_page_location locs[] = {{4, 100, 0}, {104, 200, 10}, {1ll << 40, INT32_MAX, 1ll << 35}};
    pq_offset_index oi = {3, locs};
    dc_buf a, b;
    dc_buf_init(&a, BIG);
    dc_buf_init(&b, BIG);
    pq_offset_index d;
    CHECK_OK(pq_offset_index_encode(&a, &oi, &err), &err);
    CHECK_OK(pq_offset_index_decode(&d, &arena, a.data, a.len, &err), &err);
    CHECK_EQ_INT(d.n_pages, 3);
    for (int i = 0; i < 3; i++)
        CHECK(d.page_locations[i].offset == locs[i].offset &&
              d.page_locations[i].compressed_page_size == locs[i].compressed_page_size &&
              d.page_locations[i].first_row_index == locs[i].first_row_index);
    CHECK_OK(pq_offset_index_encode(&b, &d, &err), &err);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    dc_buf_dispose(&a);
    dc_buf_dispose(&b);
    dc_arena_dispose(&arena);
}

TEST(column_index_lists_must_agree)
{
    dc_err err;
    dc_arena arena;
    dc_arena_init(&arena, BIG);
    /* null_pages has 2 entries, min_values and max_values 1. */
    const uint8_t bad[] = {0x19, 0x21, 0x02, 0x01, 0x19, 0x18, 0x00, 0x19, 0x18, 0x00,
                           0x15, 0x00, 0x00};
    pq_column_index ci;
    CHECK_EQ_INT(pq_column_index_decode(&ci, &arena, bad, sizeof bad, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "disagree"));
    dc_arena_dispose(&arena);
}

/* ------------------------------------------------------------ real files */

/* Decodes the footer of a parquet-testing file into arena. */
static int decode_footer(pq_file *f, pq_file_meta *m, dc_arena *arena, const char *name)
{
    dc_err err;
    if (load(f, name) != 0) return -1;
    if (pq_file_meta_decode(m, arena, f->footer, f->footer_len, &err) != 0) {
        dc_test_fail(__FILE__, __LINE__, "%s: %s", name, err.msg);
        dc_free(f->data);
        f->data = NULL;
        return -1;
    }
    return 0;
}

TEST(real_footer_alltypes_plain)
{
    dc_err err;
    dc_arena arena;
    dc_arena_init(&arena, BIG);
    pq_file f;
    pq_file_meta m;
    if (decode_footer(&f, &m, &arena, "alltypes_plain.parquet") != 0) goto out;
    CHECK_EQ_INT(m.num_rows, 8);
    CHECK_EQ_INT(m.n_schema, 12);
    CHECK_EQ_INT(m.schema[0].num_children, 11);
    CHECK(!m.schema[0].has_type);
    CHECK(m.created_by && strncmp(m.created_by, "impala", 6) == 0);
    CHECK_EQ_STR(m.schema[1].name, "id");
    CHECK(m.schema[1].has_type && m.schema[1].type == PQ_INT32);
    CHECK_EQ_INT(m.schema[1].repetition, PQ_OPTIONAL);
    CHECK_EQ_STR(m.schema[11].name, "timestamp_col");
    CHECK_EQ_INT(m.schema[11].type, PQ_INT96);
    CHECK_EQ_INT(m.n_row_groups, 1);
    CHECK_EQ_INT(m.row_groups[0].n_columns, 11);
    const pq_column_meta *c = &m.row_groups[0].columns[0].meta_data;
    /* Values pyarrow reports for this file. */
    CHECK_EQ_INT(c->type, PQ_INT32);
    CHECK_EQ_INT(c->codec, PQ_CODEC_UNCOMPRESSED);
    CHECK_EQ_INT(c->data_page_offset, 49);
    CHECK(c->has_dictionary_page_offset && c->dictionary_page_offset == 4);
    CHECK_EQ_INT(c->total_compressed_size, 73);
    CHECK_EQ_INT(c->n_path, 1);
    CHECK_EQ_STR(c->path_in_schema[0], "id");
    CHECK_EQ_STR(pq_codec_name(c->codec), "UNCOMPRESSED");
    CHECK_EQ_STR(pq_type_name(m.schema[11].type), "INT96");

    /* The dictionary page at 4, then the data page at 49. */
    pq_page_header h;
    size_t used = 0;
    CHECK_OK(pq_page_header_decode(&h, &used, &arena, f.data + 4, f.len - 4, &err), &err);
    CHECK_EQ_INT(h.type, PQ_PAGE_DICTIONARY);
    CHECK(h.has_dictionary_page_header && h.dictionary_page_header.num_values == 8);
    CHECK_EQ_INT(4 + used + (size_t)h.compressed_page_size, 49);
    CHECK_OK(pq_page_header_decode(&h, &used, &arena, f.data + 49, f.len - 49, &err), &err);
    CHECK_EQ_INT(h.type, PQ_PAGE_DATA);
    CHECK(h.has_data_page_header);
    CHECK_EQ_INT(h.data_page_header.num_values, 8);
    CHECK_EQ_INT(h.data_page_header.encoding, PQ_ENC_PLAIN_DICTIONARY);
    CHECK_EQ_STR(pq_encoding_name(h.data_page_header.encoding), "PLAIN_DICTIONARY");
    CHECK_EQ_INT(49 + used + (size_t)h.compressed_page_size, 4 + c->total_compressed_size);
    dc_free(f.data);
out:
    dc_arena_dispose(&arena);
}

TEST(real_footer_tiny_pages_indexes)
{
    dc_err err;
    dc_arena arena;
    dc_arena_init(&arena, BIG);
    pq_file f;
    pq_file_meta m;
    if (decode_footer(&f, &m, &arena, "alltypes_tiny_pages.parquet") != 0) goto out;
    CHECK_EQ_INT(m.num_rows, 7300);
    CHECK(strncmp(m.created_by, "parquet-mr", 10) == 0);
    const pq_row_group *g = &m.row_groups[0];
    CHECK_EQ_INT(g->n_columns, 13);
    CHECK_EQ_INT(g->columns[1].meta_data.data_page_offset, 37329);
    for (uint32_t i = 0; i < g->n_columns; i++) {
        const pq_column_chunk *c = &g->columns[i];
        /* pyarrow agrees: every column has an offset index, all but the
         * INT96 one (no defined order) a column index. */
        CHECK(c->has_offset_index && c->offset_index_length > 0);
        CHECK_EQ_INT(c->has_column_index, c->meta_data.type != PQ_INT96);
        CHECK((uint64_t)c->offset_index_offset + (uint64_t)c->offset_index_length <= f.len);
        pq_offset_index oi;
        pq_column_index ci;
        CHECK_OK(pq_offset_index_decode(&oi, &arena, f.data + c->offset_index_offset,
                                        (size_t)c->offset_index_length, &err), &err);
        if (c->has_column_index) {
            CHECK((uint64_t)c->column_index_offset + (uint64_t)c->column_index_length <= f.len);
            CHECK_OK(pq_column_index_decode(&ci, &arena, f.data + c->column_index_offset,
                                            (size_t)c->column_index_length, &err), &err);
            CHECK_EQ_INT(ci.n_pages, oi.n_pages);
        }
        CHECK(oi.n_pages > 1);
        CHECK_EQ_INT(oi.page_locations[0].first_row_index, 0);
        const int64_t first = c->meta_data.has_dictionary_page_offset
                                  ? c->meta_data.dictionary_page_offset
                                  : c->meta_data.data_page_offset;
        CHECK(oi.page_locations[0].offset >= first);
        int64_t end = c->meta_data.data_page_offset;
        for (uint32_t p = 0; p < oi.n_pages; p++) {
            const pq_page_location *l = &oi.page_locations[p];
            if (p > 0) CHECK(l->first_row_index > oi.page_locations[p - 1].first_row_index);
            CHECK(l->first_row_index < m.num_rows);
            /* Each location points at a page header whose sizes agree. */
            pq_page_header h;
            size_t used = 0;
            if (l->offset < 0 || (uint64_t)l->offset >= f.len) {
                CHECK(false);
                continue;
            }
            CHECK_OK(pq_page_header_decode(&h, &used, &arena, f.data + l->offset,
                                           f.len - (size_t)l->offset, &err), &err);
            CHECK_EQ_INT((int64_t)used + h.compressed_page_size, l->compressed_page_size);
            CHECK_EQ_INT(h.type, PQ_PAGE_DATA);
            end = l->offset + l->compressed_page_size;
        }
        CHECK_EQ_INT(end, first + c->meta_data.total_compressed_size);
    }
    dc_free(f.data);
out:
    dc_arena_dispose(&arena);
}

TEST(real_footer_page_v2_and_logical_types)
{
    dc_err err;
    dc_arena arena;
    dc_arena_init(&arena, BIG);
    pq_file f;
    pq_file_meta m;
    if (decode_footer(&f, &m, &arena, "datapage_v2.snappy.parquet") == 0) {
        CHECK_EQ_INT(m.n_schema, 8);
        CHECK_EQ_STR(m.schema[1].name, "a");
        CHECK_EQ_INT(m.schema[1].converted_type, PQ_CT_UTF8);
        CHECK_EQ_INT(m.schema[5].converted_type, PQ_CT_LIST);
        const pq_column_meta *c = &m.row_groups[0].columns[0].meta_data;
        CHECK_EQ_INT(c->codec, PQ_CODEC_SNAPPY);
        pq_page_header h;
        size_t used = 0;
        const size_t off = (size_t)c->data_page_offset;
        CHECK_OK(pq_page_header_decode(&h, &used, &arena, f.data + off, f.len - off, &err),
                 &err);
        CHECK(h.has_data_page_header_v2 || h.has_dictionary_page_header);
        dc_free(f.data);
    }
    /* A TIMESTAMP / INTEGER / DECIMAL rich file written by parquet-cpp. */
    if (decode_footer(&f, &m, &arena, "byte_stream_split_extended.gzip.parquet") == 0) {
        int n_logical = 0;
        for (uint32_t i = 0; i < m.n_schema; i++) n_logical += m.schema[i].logical.kind != 0;
        CHECK(n_logical > 0);
        dc_free(f.data);
    }
    /* parquet-cpp 20 wrote a LogicalType member this decoder does not know. */
    if (decode_footer(&f, &m, &arena, "unknown-logical-type.parquet") == 0) {
        int none = 0;
        for (uint32_t i = 1; i < m.n_schema; i++) none += m.schema[i].logical.kind == PQ_LT_NONE;
        CHECK(none >= 1);
        dc_free(f.data);
    }
    if (decode_footer(&f, &m, &arena, "float16_nonzeros_and_nans.parquet") == 0) {
        CHECK_EQ_INT(m.schema[1].logical.kind, PQ_LT_FLOAT16);
        CHECK_EQ_INT(m.schema[1].type, PQ_FIXED_LEN_BYTE_ARRAY);
        CHECK_EQ_INT(m.schema[1].type_length, 2);
        dc_free(f.data);
    }
    dc_arena_dispose(&arena);
}

TEST(real_footer_optional_structs)
{
    dc_arena arena;
    dc_arena_init(&arena, BIG);
    pq_file f;
    pq_file_meta m;
    if (decode_footer(&f, &m, &arena, "sort_columns.parquet") == 0) {
        const pq_row_group *g = &m.row_groups[0];
        CHECK_EQ_INT(g->n_sorting_columns, 2);
        CHECK(g->sorting_columns[0].column_idx == 0 && g->sorting_columns[0].descending &&
              g->sorting_columns[0].nulls_first);
        CHECK(g->sorting_columns[1].column_idx == 1 && !g->sorting_columns[1].descending &&
              !g->sorting_columns[1].nulls_first);
        dc_free(f.data);
    }
    if (decode_footer(&f, &m, &arena, "column_chunk_key_value_metadata.parquet") == 0) {
        const pq_column_meta *c = &m.row_groups[0].columns[0].meta_data;
        CHECK_EQ_INT(c->n_kv, 2);
        CHECK_EQ_STR(c->kv[0].key, "foo");
        CHECK_EQ_STR(c->kv[0].value, "bar");
        CHECK_EQ_STR(c->kv[1].key, "thisiskeywithoutvalue");
        CHECK(c->kv[1].value == NULL);
        dc_free(f.data);
    }
    if (decode_footer(&f, &m, &arena, "data_index_bloom_encoding_stats.parquet") == 0) {
        const pq_column_meta *c = &m.row_groups[0].columns[0].meta_data;
        CHECK(c->has_bloom_filter_offset && c->bloom_filter_offset == 192);
        CHECK(!c->has_bloom_filter_length);
        CHECK(c->n_encoding_stats > 0);
        CHECK(c->statistics.is_set && c->statistics.has_min_value);
        CHECK(c->statistics.min_value.len == 5 &&
              memcmp(c->statistics.min_value.ptr, "Hello", 5) == 0);
        CHECK_EQ_INT(c->codec, PQ_CODEC_GZIP);
        dc_free(f.data);
    }
    if (decode_footer(&f, &m, &arena, "floating_orders_nan_count.parquet") == 0) {
        int ieee = 0;
        for (uint32_t i = 0; i < m.n_column_orders; i++)
            ieee += m.column_orders[i] == PQ_ORDER_IEEE754_TOTAL;
        CHECK(m.n_column_orders > 0 && ieee > 0);
        dc_free(f.data);
    }
    /* Plaintext footer of an encrypted file: flagged, not decoded further. */
    if (decode_footer(&f, &m, &arena, "encrypt_columns_plaintext_footer.parquet.encrypted") == 0) {
        CHECK(m.has_encryption_algorithm);
        int enc = 0;
        for (uint32_t i = 0; i < m.row_groups[0].n_columns; i++)
            enc += m.row_groups[0].columns[i].is_encrypted;
        CHECK(enc > 0);
        dc_free(f.data);
    }
    dc_arena_dispose(&arena);
}

/* Footers whose re-encoding must be byte-identical (writers that write only
 * fields we know, in id order): the encoder writes what engines write. */
TEST(real_footer_reencode_identical)
{
    static const char *const files[] = {
        "alltypes_plain.parquet", "alltypes_tiny_pages.parquet", "nested_structs.rust.parquet",
        "byte_stream_split_extended.gzip.parquet", "sort_columns.parquet",
        "data_index_bloom_encoding_with_length.parquet", "nullable.impala.parquet",
        "datapage_v2.snappy.parquet", "column_chunk_key_value_metadata.parquet",
        "delta_binary_packed.parquet",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        dc_err err;
        dc_arena arena;
        dc_arena_init(&arena, BIG);
        pq_file f;
        pq_file_meta m;
        if (decode_footer(&f, &m, &arena, files[i]) == 0) {
            dc_buf out;
            dc_buf_init(&out, BIG);
            CHECK_OK(pq_file_meta_encode(&out, &m, &err), &err);
            if (out.len != f.footer_len || memcmp(out.data, f.footer, out.len) != 0)
                dc_test_fail(__FILE__, __LINE__, "%s: re-encoded footer differs", files[i]);
            dc_buf_dispose(&out);
            dc_free(f.data);
        }
        dc_arena_dispose(&arena);
    }
}

/* dict-page-offset-zero has a ColumnMetaData field 15 that is a list (an old
 * pre-release id), where bloom_filter_length is an i32: skipped, like pyarrow. */
TEST(real_footer_field_with_foreign_type_is_skipped)
{
    dc_arena arena;
    dc_arena_init(&arena, BIG);
    pq_file f;
    pq_file_meta m;
    if (decode_footer(&f, &m, &arena, "dict-page-offset-zero.parquet") == 0) {
        CHECK_EQ_INT(m.num_rows, 39);
        CHECK(!m.row_groups[0].columns[0].meta_data.has_bloom_filter_length);
        dc_free(f.data);
    }
    dc_arena_dispose(&arena);
}

TEST(real_footer_bad_physical_type_named)
{
    const char *path = dc_test_corpus("parquet-testing/bad_data/PARQUET-1481.parquet");
    if (!path) return;
    dc_err err;
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(dc_file_read_all(&data, &len, path, BIG, &err), &err);
    if (!data) return;
    const uint32_t fl = dc_load_le32(data + len - 8);
    dc_arena arena;
    dc_arena_init(&arena, BIG);
    pq_file_meta m;
    CHECK_EQ_INT(pq_file_meta_decode(&m, &arena, data + len - 8 - fl, fl, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "parquet footer: SchemaElement.type (field id 1) at offset "));
    CHECK(strstr(err.msg, "unknown physical type -7"));
    dc_arena_dispose(&arena);
    dc_free(data);
}

/* ------------------------------------------------------------ hostile input */

static const char *const fuzz_files[] = {
    "alltypes_tiny_pages.parquet", "nested_structs.rust.parquet", "sort_columns.parquet",
    "data_index_bloom_encoding_stats.parquet", "floating_orders_nan_count.parquet",
    "byte_stream_split_extended.gzip.parquet",
};

/* Every truncation of a real footer is an error (the closing STOP is gone),
 * and never a read past the end (ASan build: each prefix is its own malloc). */
TEST(footer_every_truncation_fails)
{
    for (size_t i = 0; i < sizeof fuzz_files / sizeof fuzz_files[0]; i++) {
        pq_file f;
        if (load(&f, fuzz_files[i]) != 0) continue;
        dc_arena arena;
        dc_arena_init(&arena, BIG);
        for (uint32_t n = 0; n < f.footer_len; n++) {
            dc_err err;
            pq_file_meta m;
            uint8_t *cut = malloc(n ? n : 1);
            memcpy(cut, f.footer, n);
            const int rc = pq_file_meta_decode(&m, &arena, cut, n, &err);
            if (rc == 0 || (rc != DC_ECORRUPT && rc != DC_ELIMIT))
                dc_test_fail(__FILE__, __LINE__, "%s cut at %u: rc %d", fuzz_files[i], n, rc);
            else if (n == f.footer_len / 2 && !strstr(err.msg, "parquet footer: "))
                dc_test_fail(__FILE__, __LINE__, "message without location: %s", err.msg);
            free(cut);
            dc_arena_reset(&arena);
        }
        dc_arena_dispose(&arena);
        dc_free(f.data);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random byte flips in real footers and pure noise: errors or successes,
 * never a crash; a successful decode re-encodes unless it holds what the
 * encoder refuses (unknown column order). */
TEST(footer_mutations_and_noise)
{
    uint8_t noise[512];
    for (size_t i = 0; i < sizeof fuzz_files / sizeof fuzz_files[0]; i++) {
        pq_file f;
        if (load(&f, fuzz_files[i]) != 0) continue;
        uint8_t *copy = malloc(f.footer_len);
        dc_arena arena;
        dc_arena_init(&arena, BIG);
        for (int round = 0; round < 400; round++) {
            dc_err err;
            pq_file_meta m;
            memcpy(copy, f.footer, f.footer_len);
            const int flips = 1 + (int)(rng() % 4);
            for (int k = 0; k < flips; k++) copy[rng() % f.footer_len] ^= (uint8_t)(1 + rng() % 255);
            if (pq_file_meta_decode(&m, &arena, copy, f.footer_len, &err) == 0) {
                dc_buf out;
                dc_buf_init(&out, BIG);
                const int rc = pq_file_meta_encode(&out, &m, &err);
                CHECK(rc == 0 || rc == DC_EINVAL || rc == DC_EUNSUPPORTED);
                dc_buf_dispose(&out);
            }
            pq_column_index ci;
            pq_offset_index oi;
            pq_page_header h;
            (void)pq_column_index_decode(&ci, &arena, copy, f.footer_len, &err);
            (void)pq_offset_index_decode(&oi, &arena, copy, f.footer_len, &err);
            (void)pq_page_header_decode(&h, NULL, &arena, copy, f.footer_len, &err);
            dc_arena_reset(&arena);
        }
        for (int round = 0; round < 2000; round++) {
            dc_err err;
            pq_file_meta m;
            const size_t n = rng() % sizeof noise;
            for (size_t k = 0; k < n; k++) noise[k] = (uint8_t)rng();
            (void)pq_file_meta_decode(&m, &arena, noise, n, &err);
            dc_arena_reset(&arena);
        }
        dc_arena_dispose(&arena);
        free(copy);
        dc_free(f.data);
    }
}

/* A list header promising many structs is bounded by the bytes behind it,
 * so the arena never sees a request larger than (bytes left) * element size. */
TEST(footer_list_allocation_bounded_by_input)
{
    /* FileMetaData.schema: list of 1,000,000 structs with 10 bytes behind it. */
    const uint8_t p[] = {0x15, 0x02, 0x19, 0xfc, 0xc0, 0x84, 0x3d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    dc_err err;
    dc_arena arena;
    dc_arena_init(&arena, 1 << 20);
    pq_file_meta m;
    CHECK_EQ_INT(pq_file_meta_decode(&m, &arena, p, sizeof p, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "FileMetaData.schema (field id 2) at offset 2: list of 1000000 struct "
                          "elements cannot fit"));
    CHECK_EQ_INT(arena.used, 0);
    /* One more schema element than DC_PQ_MAX_SCHEMA_ELEMENTS, bytes present. */
    const size_t n = 8 + DC_PQ_MAX_SCHEMA_ELEMENTS + 1;
    uint8_t *big = calloc(1, n);
    big[0] = 0x15, big[1] = 0x02, big[2] = 0x19, big[3] = 0xfc;
    big[4] = 0xa1, big[5] = 0x8d, big[6] = 0x06; /* 100001 */
    CHECK_EQ_INT(pq_file_meta_decode(&m, &arena, big, n, &err), DC_ELIMIT);
    CHECK(strstr(err.msg, "list of 100001 SchemaElement exceeds the limit of 100000"));
    free(big);
    dc_arena_dispose(&arena);
}

/* Every allocation failing in turn: DC_ENOMEM (or the arena's own limit),
 * never a crash or a leak (ASan), until the decode succeeds. */
TEST(footer_allocation_failures)
{
    pq_file f;
    if (load(&f, "alltypes_tiny_pages.parquet") != 0) return;
    bool done = false;
    for (long n = 1; n < 100000 && !done; n++) {
        dc_err err;
        dc_arena arena;
        dc_arena_init(&arena, BIG);
        pq_file_meta m;
        dc_alloc_fail_after(n);
        const int rc = pq_file_meta_decode(&m, &arena, f.footer, f.footer_len, &err);
        int rc2 = 0;
        dc_buf out;
        dc_buf_init(&out, BIG);
        if (rc == 0) rc2 = pq_file_meta_encode(&out, &m, &err);
        dc_alloc_fail_after(0);
        if (rc == 0 && rc2 == 0) done = true;
        else if ((rc != 0 && rc != DC_ENOMEM) || (rc2 != 0 && rc2 != DC_ENOMEM))
            dc_test_fail(__FILE__, __LINE__, "failing allocation %ld: rc %d/%d %s", n, rc, rc2,
                         err.msg);
        dc_buf_dispose(&out);
        dc_arena_dispose(&arena);
    }
    CHECK(done);
    dc_free(f.data);
}
