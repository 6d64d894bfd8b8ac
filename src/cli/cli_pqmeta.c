/* `deltacdc parquet meta FILE`: the footer in human-readable form. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../parquet/parquet.h"

static const char *type_name(const dc_pq_field *f)
{
    static const char *const names[] = {
        [DC_TYPE_BOOLEAN] = "boolean", [DC_TYPE_BYTE] = "byte", [DC_TYPE_SHORT] = "short",
        [DC_TYPE_INT] = "integer", [DC_TYPE_LONG] = "long", [DC_TYPE_FLOAT] = "float",
        [DC_TYPE_DOUBLE] = "double", [DC_TYPE_STRING] = "string", [DC_TYPE_BINARY] = "binary",
        [DC_TYPE_DECIMAL] = "decimal", [DC_TYPE_DATE] = "date", [DC_TYPE_TIMESTAMP] = "timestamp",
        [DC_TYPE_TIMESTAMP_NTZ] = "timestamp_ntz", [DC_TYPE_STRUCT] = "struct",
        [DC_TYPE_ARRAY] = "array", [DC_TYPE_MAP] = "map", [DC_TYPE_UINT8] = "uint8",
        [DC_TYPE_UINT16] = "uint16", [DC_TYPE_UINT32] = "uint32", [DC_TYPE_UINT64] = "uint64",
        [DC_TYPE_TIME] = "time", [DC_TYPE_FLOAT16] = "float16", [DC_TYPE_UUID] = "uuid",
        [DC_TYPE_NULL] = "null",
    };
    return f && (unsigned)f->type < sizeof names / sizeof names[0] ? names[f->type] : "?";
}

/* Prints one plain-encoded statistics value of a leaf. */
static void put_stat(dc_buf *b, const dc_pq_leaf *l, pq_bytes v, dc_err *err)
{
    switch (l->phys) {
    case PQ_INT32:
        if (v.len == 4) { dc_buf_appendf(b, err, "%" PRId32, (int32_t)dc_load_le32(v.ptr)); return; }
        break;
    case PQ_INT64:
        if (v.len == 8) { dc_buf_appendf(b, err, "%" PRId64, (int64_t)dc_load_le64(v.ptr)); return; }
        break;
    case PQ_FLOAT:
        if (v.len == 4) { float f; memcpy(&f, v.ptr, 4); dc_json_put_f32(b, f, err); return; }
        break;
    case PQ_DOUBLE:
        if (v.len == 8) { double d; memcpy(&d, v.ptr, 8); dc_json_put_f64(b, d, err); return; }
        break;
    case PQ_BOOLEAN:
        if (v.len == 1) { dc_buf_puts(b, v.ptr[0] ? "true" : "false", err); return; }
        break;
    default:
        if (l->field && l->field->type == DC_TYPE_STRING) {
            dc_json_put_str(b, (const char *)v.ptr, v.len, err);
            return;
        }
        dc_buf_puts(b, "base64:", err);
        dc_base64_encode(b, v.ptr, v.len, err);
        return;
    }
    dc_buf_appendf(b, err, "<%u bytes>", v.len);
}

static void print_encodings(const pq_column_meta *cm)
{
    printf(" encodings=");
    for (uint32_t i = 0; i < cm->n_encodings; i++)
        printf("%s%s", i ? "," : "", pq_encoding_name(cm->encodings[i]));
}

static void print_chunk(const dc_pq_reader *r, uint32_t rg, uint32_t c, dc_buf *b, dc_err *err)
{
    const pq_column_chunk *cc = &dc_pq_reader_meta(r)->row_groups[rg].columns[c];
    const pq_column_meta *cm = &cc->meta_data;
    const dc_pq_leaf *l = &dc_pq_reader_schema(r)->leaves[c];
    printf("    %s: %s codec=%s", l->dotted, pq_type_name(cm->type), pq_codec_name(cm->codec));
    print_encodings(cm);
    printf(" values=%" PRId64 " compressed=%" PRId64 " uncompressed=%" PRId64
           " data_page_offset=%" PRId64,
           cm->num_values, cm->total_compressed_size, cm->total_uncompressed_size,
           cm->data_page_offset);
    if (cm->has_dictionary_page_offset) printf(" dictionary_page_offset=%" PRId64, cm->dictionary_page_offset);
    dc_pq_stats st;
    if (dc_pq_reader_stats(&st, r, rg, c, err) == 0) {
        if (st.has_null_count) printf(" nulls=%" PRId64, st.null_count);
        if (st.has_min_max) {
            dc_buf_reset(b);
            dc_buf_puts(b, " min=", err);
            put_stat(b, l, st.min, err);
            dc_buf_puts(b, " max=", err);
            put_stat(b, l, st.max, err);
            printf("%.*s", (int)b->len, (const char *)b->data);
        }
    }
    if (cc->has_column_index) printf(" column_index=%" PRId64 "+%d", cc->column_index_offset, cc->column_index_length);
    if (cc->has_offset_index) printf(" offset_index=%" PRId64 "+%d", cc->offset_index_offset, cc->offset_index_length);
    printf("\n");
}

int dc_cli_parquet_meta(const char *path)
{
    dc_err err;
    dc_err_clear(&err);
    dc_pq_reader *r = NULL;
    dc_buf b;
    dc_buf_init(&b, 1u << 20);
    int rc = dc_pq_reader_open_file(&r, path, &err);
    if (rc < 0) {
        fprintf(stderr, "deltacdc: %s\n", err.msg);
        return 1;
    }
    const pq_file_meta *m = dc_pq_reader_meta(r);
    const dc_pq_schema *s = dc_pq_reader_schema(r);
    printf("file: %s\ncreated_by: %s\nversion: %d\nrows: %" PRId64 "\nrow groups: %u\n", path,
           m->created_by ? m->created_by : "(none)", m->version, m->num_rows, m->n_row_groups);
    printf("columns: %u\n", s->n_leaves);
    for (uint32_t i = 0; i < s->n_leaves; i++) {
        const dc_pq_leaf *l = &s->leaves[i];
        printf("  %s: %s %s%s max_def=%d max_rep=%d\n", l->dotted, pq_type_name(l->phys),
               type_name(l->field), l->field && l->field->nullable ? " nullable" : "",
               l->max_def, l->max_rep);
    }
    for (uint32_t i = 0; i < m->n_kv; i++)
        printf("metadata: %s = %.200s%s\n", m->kv[i].key, m->kv[i].value ? m->kv[i].value : "(null)",
               m->kv[i].value && strlen(m->kv[i].value) > 200 ? "..." : "");
    for (uint32_t rg = 0; rg < m->n_row_groups; rg++) {
        const pq_row_group *g = &m->row_groups[rg];
        printf("row group %u: rows=%" PRId64 " bytes=%" PRId64 "\n", rg, g->num_rows, g->total_byte_size);
        for (uint32_t c = 0; c < g->n_columns; c++) print_chunk(r, rg, c, &b, &err);
    }
    dc_buf_dispose(&b);
    dc_pq_reader_free(r);
    return 0;
}
