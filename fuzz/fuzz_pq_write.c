/* Fuzz target: JSON lines into the Parquet writer (a fixed schema with every
 * Delta type and nested shape). Rows that fail must leave nothing behind:
 * the file reads back with exactly the rows accepted, and writing the rows
 * the reader prints gives the same rows again. The lines written as text
 * (dc_pq_writer_write_json_text, no DOM) give the same file byte for byte
 * as the lines parsed and written as JSON rows. The first byte picks codec,
 * dictionary and tiny pages/row groups. */
#include <stdio.h>
#include <stdlib.h>

#include "../src/parquet/parquet.h"

#define FLD(name, type, nullable) \
    "{\"name\":\"" name "\",\"type\":" type ",\"nullable\":" nullable ",\"metadata\":{}}"

static const char *SCHEMA = "{\"type\":\"struct\",\"fields\":["
    FLD("id", "\"long\"", "false") "," FLD("b", "\"boolean\"", "true") ","
    FLD("by", "\"byte\"", "true") "," FLD("i", "\"integer\"", "true") ","
    FLD("f", "\"float\"", "true") "," FLD("x", "\"double\"", "true") ","
    FLD("s", "\"string\"", "true") "," FLD("bin", "\"binary\"", "true") ","
    FLD("dec", "\"decimal(9,3)\"", "true") "," FLD("dec38", "\"decimal(38,5)\"", "true") ","
    FLD("d", "\"date\"", "true") "," FLD("ts", "\"timestamp\"", "true") ","
    FLD("ntz", "\"timestamp_ntz\"", "true") ","
    FLD("arr", "{\"type\":\"array\",\"elementType\":\"integer\",\"containsNull\":true}", "true") ","
    FLD("m", "{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":{\"type\":\"array\","
             "\"elementType\":\"string\",\"containsNull\":false},\"valueContainsNull\":true}", "true") ","
    FLD("st", "{\"type\":\"struct\",\"fields\":[" FLD("a", "\"string\"", "false") ","
              FLD("n", "{\"type\":\"struct\",\"fields\":[" FLD("q", "\"long\"", "true") "]}", "true")
              "]}", "true")
    "]}";

/* Writes every line of text[0..n) that parses; returns the rows accepted or -1. */
static long write_lines(dc_buf *file, const dc_pq_schema *s, const dc_pq_writer_opts *o,
                        const char *text, size_t n, bool must_accept, bool as_text)
{
    dc_err err;
    dc_pq_sink sink;
    dc_pq_sink_mem_init(&sink, file);
    dc_pq_writer *w = NULL;
    dc_arena a;
    dc_arena_init(&a, (size_t)1 << 26);
    long rows = 0;
    if (dc_pq_writer_new(&w, s, o, &sink, &err) < 0) abort();
    const char *p = text, *end = n ? text + n : text;  /* text is NULL when n == 0 */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        dc_json *row;
        if (as_text) {
            if (dc_pq_writer_write_json_text(w, p, (size_t)(nl - p), &err) == 0) rows++;
        } else if (dc_json_parse(&row, &a, p, (size_t)(nl - p), &err) == 0) {
            if (dc_pq_writer_write_json_row(w, row, &err) == 0) rows++;
            else if (must_accept) {
                fprintf(stderr, "reader output refused: %s\n", err.msg);
                abort();
            }
        }
        dc_arena_reset(&a);
        p = nl + 1;
    }
    if (dc_pq_writer_close(w, &err) < 0) {
        fprintf(stderr, "close: %s\n", err.msg);
        abort();
    }
    if (dc_pq_writer_meta(w)->num_rows != rows) abort();
    dc_pq_writer_free(w);
    dc_arena_dispose(&a);
    return rows;
}

static void read_rows(dc_buf *out, const dc_buf *file)
{
    dc_err err;
    dc_pq_reader *r = NULL;
    if (dc_pq_reader_open_mem(&r, file->data, file->len, "fuzz", &err) < 0) {
        fprintf(stderr, "reopen: %s\n", err.msg);
        abort();
    }
    for (uint32_t g = 0; g < dc_pq_reader_meta(r)->n_row_groups; g++) {
        if (dc_pq_reader_rows_json(out, r, g, NULL, &err) < 0) {
            fprintf(stderr, "read back: %s\n", err.msg);
            abort();
        }
    }
    dc_pq_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dc_pq_schema *schema;
    dc_err err;
    if (!schema) {
        dc_arena a;
        dc_arena_init(&a, 1 << 20);
        dc_json *js;
        if (dc_json_parse(&js, &a, SCHEMA, strlen(SCHEMA), &err) < 0 ||
            dc_pq_schema_from_delta(&schema, js, &err) < 0)
            abort();
        dc_arena_dispose(&a);
    }
    if (size < 1 || size > 65536) return 0;
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    static const pq_codec codecs[4] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP,
                                       PQ_CODEC_ZSTD};
    o.codec = codecs[data[0] & 3];
    o.dictionary = !(data[0] & 4);
    if (data[0] & 8) o.page_bytes = 64;
    if (data[0] & 16) o.row_group_bytes = 512;
    dc_buf f1, f2, f3, r1, r2;
    dc_buf_init(&f1, (size_t)1 << 28);
    dc_buf_init(&f3, (size_t)1 << 28);
    dc_buf_init(&f2, (size_t)1 << 28);
    dc_buf_init(&r1, (size_t)1 << 28);
    dc_buf_init(&r2, (size_t)1 << 28);
    write_lines(&f1, schema, &o, (const char *)data + 1, size - 1, false, false);
    write_lines(&f3, schema, &o, (const char *)data + 1, size - 1, false, true);
    if (f1.len != f3.len || memcmp(f1.data, f3.data, f1.len) != 0) {
        fprintf(stderr, "the text path wrote another file than the JSON-row path\n");
        abort();
    }
    read_rows(&r1, &f1);
    write_lines(&f2, schema, &o, (const char *)r1.data, r1.len, true, false);
    read_rows(&r2, &f2);
    if (r1.len != r2.len || (r1.len && memcmp(r1.data, r2.data, r1.len) != 0)) {
        fprintf(stderr, "rows changed on a second write:\n%.*s\n---\n%.*s\n", (int)r1.len,
                (const char *)r1.data, (int)r2.len, (const char *)r2.data);
        abort();
    }
    dc_buf_dispose(&f1);
    dc_buf_dispose(&f2);
    dc_buf_dispose(&f3);
    dc_buf_dispose(&r1);
    dc_buf_dispose(&r2);
    return 0;
}
