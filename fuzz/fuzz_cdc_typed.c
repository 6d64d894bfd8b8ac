/* Fuzzes the typed decoding (src/cdc/cdc_tschema.c, cdc_typed.c,
 * cdc_tdelta.c, cdc_srcpos.c) on one Debezium record:
 *   - the tschema of its schema block (options from the input's length);
 *   - its Delta schema reads back (dc_cdc_tschema_from_delta) as the same
 *     columns, and makes a Parquet schema;
 *   - the typed row of the decoded event's image: the checking path
 *     (dc_cdc_typed_members) and the trusted one (dc_cdc_typed_event) agree
 *     on the outcome and the bytes, and an accepted row is taken by the
 *     Parquet writer of that schema (the conventions of parquet.h);
 *   - for flat schemas, the values in stored form (dc_cdc_typed_values and
 *     _decoded) have the row's outcome and error, and written as columns
 *     (dc_cdc_typed_values_put) give the very file the row's JSON gives;
 *   - the whole input as an image through the checking path (no crash);
 *   - a source position formats and parses back to itself;
 *   - the key "id" in the key index's form (dc_cdc_typed_key). */
#include "../src/cdc/cdc.h"
#include "../src/json/dc_json.h"
#include "../src/parquet/parquet.h"

#include <stdio.h>
#include <stdlib.h>

static void check(bool ok, const char *what, const char *detail)
{
    if (!ok) {
        fprintf(stderr, "fuzz_cdc_typed: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
        abort();
    }
}

/* A one-row file of schema ps from stored-form values (a flat tschema's
 * column i is leaf i). */
static void write_values(dc_buf *file, const dc_pq_schema *ps, const dc_cdc_tschema *s,
                         const dc_buf *vals)
{
    dc_err err;
    dc_pq_sink sink;
    dc_pq_writer *w = NULL;
    dc_pq_writer_opts o;
    const uint32_t n = ps->n_leaves;
    dc_pq_column *cols = calloc(n + 1, sizeof *cols);
    int32_t *leaf_of = calloc(n + 1, sizeof *leaf_of);
    bool *filled = calloc(n + 1, sizeof *filled);
    check(cols && leaf_of && filled && n == dc_cdc_tschema_ncols(s), "flat leaves", NULL);
    for (uint32_t i = 0; i < n; i++) {
        dc_pq_column_init(&cols[i]);
        leaf_of[i] = (int32_t)i;
    }
    check(dc_cdc_typed_values_put(cols, ps->leaves, leaf_of, filled, s, vals->data, vals->len,
                                  &err) == 0, "the values the row's JSON gives are refused",
          err.msg);
    for (uint32_t i = 0; i < n; i++) check(filled[i], "a leaf without its value", NULL);
    dc_pq_sink_mem_init(&sink, file);
    dc_pq_writer_opts_init(&o);
    check(dc_pq_writer_new(&w, ps, &o, &sink, &err) == 0, "writer", err.msg);
    check(dc_pq_writer_write_columns(w, cols, 1, &err) == 0, "columns of values", err.msg);
    check(dc_pq_writer_close(w, &err) == 0, "writer close", err.msg);
    dc_pq_writer_free(w);
    for (uint32_t i = 0; i < n; i++) dc_pq_column_dispose(&cols[i]);
    free(cols);
    free(leaf_of);
    free(filled);
}

/* The Delta schema of s reads back as s, and the writer takes row[0..n);
 * vals (NULL: none): the row's values in stored form, which make the same file. */
static void check_schema_and_row(const dc_cdc_tschema *s, const dc_buf *row, const dc_buf *vals)
{
    dc_buf b;
    dc_arena a;
    dc_err err;
    dc_json *dom = NULL, *rdom = NULL;
    dc_cdc_tschema *back = NULL;
    dc_pq_schema *ps = NULL;
    dc_buf_init(&b, (size_t)1 << 28);
    dc_arena_init(&a, (size_t)1 << 30);
    check(dc_cdc_tschema_delta_json(&b, s, &err) == 0, "delta json", err.msg);
    check(dc_json_parse(&dom, &a, (const char *)b.data, b.len, &err) == 0, "delta json parses",
          err.msg);
    check(dc_cdc_tschema_from_delta(&back, dom, NULL, &err) == 0, "from_delta", err.msg);
    check(dc_cdc_tschema_equal(s, back), "from_delta gives other columns", NULL);
    dc_cdc_tschema_free(back);
    check(dc_pq_schema_from_delta(&ps, dom, &err) == 0, "parquet schema", err.msg);
    if (row && ps) {
        dc_buf file;
        dc_pq_sink sink;
        dc_pq_writer *w = NULL;
        dc_pq_writer_opts o;
        dc_buf_init(&file, (size_t)1 << 30);
        dc_pq_sink_mem_init(&sink, &file);
        dc_pq_writer_opts_init(&o);
        check(dc_json_parse(&rdom, &a, (const char *)row->data, row->len, &err) == 0,
              "typed row is JSON", err.msg);
        check(dc_pq_writer_new(&w, ps, &o, &sink, &err) == 0, "writer", err.msg);
        check(dc_pq_writer_write_json_row(w, rdom, &err) == 0, "the writer refuses a typed row",
              err.msg);
        check(dc_pq_writer_close(w, &err) == 0, "writer close", err.msg);
        dc_pq_writer_free(w);
        if (vals) {
            dc_buf file2;
            dc_buf_init(&file2, (size_t)1 << 30);
            write_values(&file2, ps, s, vals);
            check(file.len == file2.len && memcmp(file.data, file2.data, file.len) == 0,
                  "the values' file differs from the row's", NULL);
            dc_buf_dispose(&file2);
        }
        dc_buf_dispose(&file);
    }
    dc_pq_schema_free(ps);
    dc_arena_dispose(&a);
    dc_buf_dispose(&b);
}

/* A position reads back from its string when the file name holds no ':'
 * or ' ' (binlog names never do). */
static void check_srcpos(const dc_cdc_event *ev)
{
    dc_buf b;
    dc_err err;
    dc_cdc_srcpos p;
    if (!ev->has_srcpos || memchr(ev->src_file, ':', ev->src_file_len) ||
        memchr(ev->src_file, ' ', ev->src_file_len))
        return;
    dc_buf_init(&b, (size_t)1 << 20);
    check(dc_cdc_srcpos_format(&b, ev, &err) == 0, "srcpos format", err.msg);
    check(dc_cdc_srcpos_parse(&p, (const char *)b.data, b.len, &err) == 0, "srcpos parse", err.msg);
    check(dc_cdc_srcpos_cmp(&p, &ev->srcpos) == 0, "srcpos round trip", NULL);
    dc_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const dc_cdc_keyspec keys = {1, {"id"}};
    const dc_cdc_typed_opts opts = {.datetime_as_timestamp = size & 1, .time_as_string = size & 2};
    const char *const rec = (const char *)data;
    dc_cdc_tschema *s = NULL;
    dc_cdc_event ev;
    dc_buf scratch, r1, r2, v1;
    dc_err err, err2;
    dc_buf_init(&scratch, (size_t)1 << 30);
    dc_buf_init(&r1, (size_t)1 << 30);
    dc_buf_init(&r2, (size_t)1 << 30);
    dc_buf_init(&v1, (size_t)1 << 30);
    bool has_vals = false;
    const int drc = dc_cdc_decode(&ev, &scratch, &keys, rec, size, &err);
    if (drc == 0) check_srcpos(&ev);
    if (dc_cdc_tschema_from_record(&s, &opts, rec, size, &err) == 0) {
        (void)dc_cdc_typed_row(&r1, s, rec, size, &err); /* any bytes as an image */
        dc_buf_reset(&r1);
        bool row_ok = false;
        if (drc == 0 && ev.kind == DC_CDC_CHANGE) {
            const bool del = ev.op == 'd';
            const int rc1 = dc_cdc_typed_members(&r1, s, del ? ev.before : ev.after,
                                                 del ? ev.before_len : ev.after_len, &err);
            const int rc2 = dc_cdc_typed_event(&r2, s, &ev, &err2);
            check(rc1 == rc2, "checking and trusted paths differ", rc1 ? err.msg : err2.msg);
            if (rc1 == 0)
                check(r1.len == r2.len && memcmp(r1.data, r2.data, r1.len) == 0,
                      "checking and trusted rows differ", NULL);
            else
                check(strcmp(err.msg, err2.msg) == 0, "checking and trusted errors differ", err.msg);
            if (dc_cdc_tschema_flat(s)) { /* the stored form: same outcome, same error */
                const char *img = del ? ev.before : ev.after;
                const size_t ilen = del ? ev.before_len : ev.after_len;
                const int rc3 = dc_cdc_typed_values(&v1, s, img, ilen, &err2);
                check(rc3 == rc1, "stored-form values and JSON row differ", rc3 ? err2.msg : NULL);
                if (rc3 < 0) check(strcmp(err.msg, err2.msg) == 0, "stored-form error differs",
                                   err2.msg);
                dc_buf_reset(&r2);
                const int rc4 = dc_cdc_typed_values_decoded(&r2, s, img, ilen, &err2);
                check(rc4 == rc1, "trusted stored-form values differ", rc4 ? err2.msg : NULL);
                if (rc4 == 0)
                    check(r2.len == v1.len && memcmp(r2.data, v1.data, v1.len) == 0,
                          "checking and trusted stored-form values differ", NULL);
                has_vals = rc3 == 0;
            }
            if (rc1 == 0) {
                dc_buf_reset(&r1);
                check(dc_cdc_typed_row(&r1, s, del ? ev.before : ev.after,
                                       del ? ev.before_len : ev.after_len, &err) == 0,
                      "typed_row after typed_members", err.msg);
                row_ok = true;
            }
        }
        const int32_t kc = drc == 0 && ev.kind == DC_CDC_CHANGE && ev.n_keys == 1
                               ? dc_cdc_tschema_find(s, "id", 2) : -1;
        if (kc >= 0) { /* the key in the index's form (dates, timestamps, decimals, bytes) */
            dc_cdc_key k = ev.keys[0];
            dc_buf_reset(&r2);
            if (dc_cdc_typed_key(&k, &r2, dc_cdc_tschema_col(s, (uint32_t)kc), &err) == 0 &&
                k.type == DC_CDC_KEY_STRING && ev.keys[0].type == DC_CDC_KEY_STRING)
                check(k.len <= ev.keys[0].len, "decoded key longer than its text", NULL);
        }
        check_schema_and_row(s, row_ok ? &r1 : NULL, row_ok && has_vals ? &v1 : NULL);
        dc_cdc_tschema_free(s);
    }
    dc_buf_dispose(&scratch);
    dc_buf_dispose(&r1);
    dc_buf_dispose(&r2);
    dc_buf_dispose(&v1);
    return 0;
}
