/* Writer → reader round trips: every Delta type and nested shape, every
 * codec, dictionary on and off, small pages and row groups; and columns read
 * back written again through dc_pq_writer_write_columns. */
#include "../test.h"
#include "../../src/parquet/parquet.h"

#include <stdio.h>
#include <stdlib.h>

#define FLD(name, type, nullable) \
    "{\"name\":\"" name "\",\"type\":" type ",\"nullable\":" nullable ",\"metadata\":{}}"

static const char *ALL_TYPES = "{\"type\":\"struct\",\"fields\":["
    FLD("id", "\"long\"", "false") ","
    FLD("b", "\"boolean\"", "true") ","
    FLD("by", "\"byte\"", "true") ","
    FLD("sh", "\"short\"", "true") ","
    FLD("i", "\"integer\"", "true") ","
    FLD("f", "\"float\"", "true") ","
    FLD("x", "\"double\"", "true") ","
    FLD("s", "\"string\"", "true") ","
    FLD("bin", "\"binary\"", "true") ","
    FLD("dec", "\"decimal(10,2)\"", "true") ","
    FLD("dec18", "\"decimal(18,4)\"", "true") ","
    FLD("dec38", "\"decimal(38,10)\"", "true") ","
    FLD("d", "\"date\"", "true") ","
    FLD("ts", "\"timestamp\"", "true") ","
    FLD("ntz", "\"timestamp_ntz\"", "true") ","
    FLD("arr", "{\"type\":\"array\",\"elementType\":\"integer\",\"containsNull\":true}", "true") ","
    FLD("m", "{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":{\"type\":\"struct\",\"fields\":["
             FLD("a", "\"integer\"", "true") ","
             FLD("l", "{\"type\":\"array\",\"elementType\":\"string\",\"containsNull\":true}", "true")
             "]},\"valueContainsNull\":true}", "true") ","
    FLD("st", "{\"type\":\"struct\",\"fields\":[" FLD("a", "\"string\"", "true") ","
              FLD("n", "{\"type\":\"struct\",\"fields\":[" FLD("q", "\"long\"", "false") "]}", "true")
              "]}", "true") ","
    FLD("aa", "{\"type\":\"array\",\"elementType\":{\"type\":\"array\",\"elementType\":\"long\","
              "\"containsNull\":false},\"containsNull\":true}", "false") ","
    FLD("mi", "{\"type\":\"map\",\"keyType\":\"integer\",\"valueType\":\"string\","
              "\"valueContainsNull\":false}", "true")
    "]}";

/* Row i in the reader's canonical JSON (the writer reads it the same). */
static void gen_row_maps(dc_buf *o, int i, bool maps, dc_err *err)
{
    static const char *dates[] = {"2024-02-29", "1969-12-31", "0001-01-01", "9999-12-31", "1970-01-01"};
    static const char *ts[] = {"2024-01-02T03:04:05.123456", "1969-12-31T23:59:59.999999",
                               "0001-01-01T00:00:00.000000", "9999-12-31T23:59:59.999999",
                               "2000-02-29T12:00:00.000001"};
    static const char *strs[] = {"", "caf\xc3\xa9", "\xe2\x82\xac\xf0\x9f\x98\x80", "tab\\there",
                                 "q\\\"uote"};
    dc_buf_appendf(o, err, "{\"id\":%d", i * 1000003 - 500);
    dc_buf_appendf(o, err, ",\"b\":%s", i % 3 == 0 ? "null" : i % 3 == 1 ? "true" : "false");
    dc_buf_appendf(o, err, ",\"by\":%d,\"sh\":%d", i % 256 - 128, (i * 131) % 65536 - 32768);
    if (i % 11 == 0) dc_buf_puts(o, ",\"i\":null", err);
    else dc_buf_appendf(o, err, ",\"i\":%d", i % 2 ? -i * 4099 : i * 65537);
    if (i % 13 == 0) dc_buf_puts(o, ",\"f\":\"NaN\"", err);
    else dc_buf_appendf(o, err, ",\"f\":%s", (const char *[]){"-1.0", "-0.5", "0.0", "0.5", "1.5", "\"Infinity\"", "-0.0"}[i % 7]);
    if (i % 17 == 0) dc_buf_puts(o, ",\"x\":null", err);
    else dc_buf_appendf(o, err, ",\"x\":%d.%s", i / 4 - 20, (const char *[]){"0", "25", "5", "75"}[i % 4]);
    if (i % 9 == 0) dc_buf_puts(o, ",\"s\":null", err);
    else if (i % 5 == 4) dc_buf_appendf(o, err, ",\"s\":\"%s\"", strs[(i / 5) % 5]);
    else dc_buf_appendf(o, err, ",\"s\":\"s%d\"", i % 50);
    uint8_t raw[8];
    for (int k = 0; k < 8; k++) raw[k] = (uint8_t)(i * 7 + k * 31);
    dc_buf_puts(o, ",\"bin\":\"", err);
    dc_base64_encode(o, raw, (size_t)(i % 6), err);
    dc_buf_puts(o, "\"", err);
    long long u = (long long)((i * 7919) % 100000) - 50000;
    dc_buf_appendf(o, err, ",\"dec\":\"%s%lld.%02lld\"", u < 0 ? "-" : "", llabs(u) / 100, llabs(u) % 100);
    if (i % 4 == 0) dc_buf_puts(o, ",\"dec18\":null", err);
    else dc_buf_appendf(o, err, ",\"dec18\":\"%s%d.%04d\"", i % 3 ? "" : "-", i * 12345, i % 10000);
    dc_buf_appendf(o, err, ",\"dec38\":\"%s%d%020d.%010d\"", i % 2 ? "-" : "", i + 1, i, i * 7);
    dc_buf_appendf(o, err, ",\"d\":\"%s\"", dates[i % 5]);
    dc_buf_appendf(o, err, ",\"ts\":\"%sZ\",\"ntz\":\"%s\"", ts[i % 5], ts[(i + 2) % 5]);
    switch (i % 4) {
    case 0: dc_buf_puts(o, ",\"arr\":null", err); break;
    case 1: dc_buf_puts(o, ",\"arr\":[]", err); break;
    case 2: dc_buf_appendf(o, err, ",\"arr\":[%d,null,%d]", i, -i); break;
    default: dc_buf_appendf(o, err, ",\"arr\":[%d]", i); break;
    }
    switch (maps ? i % 3 : 3) {
    case 3: break;
    case 0: dc_buf_puts(o, ",\"m\":null", err); break;
    case 1: dc_buf_puts(o, ",\"m\":[]", err); break;
    default:
        dc_buf_appendf(o, err, ",\"m\":[{\"key\":\"k%d\",\"value\":{\"a\":%d,\"l\":[\"x\",null]}},"
                       "{\"key\":\"k2\",\"value\":null},{\"key\":\"k3\",\"value\":{\"a\":null,\"l\":[]}}]", i, i);
    }
    if (i % 5 == 0) dc_buf_puts(o, ",\"st\":null", err);
    else if (i % 5 == 1) dc_buf_puts(o, ",\"st\":{\"a\":null,\"n\":null}", err);
    else dc_buf_appendf(o, err, ",\"st\":{\"a\":\"v%d\",\"n\":{\"q\":%d}}", i, i * 3);
    if (i % 3 == 0) dc_buf_appendf(o, err, ",\"aa\":[[%d,2],[],null,[3]]", i);
    else if (i % 3 == 1) dc_buf_puts(o, ",\"aa\":[null]", err);
    else dc_buf_puts(o, ",\"aa\":[]", err);
    if (!maps) (void)0;
    else if (i % 2) dc_buf_appendf(o, err, ",\"mi\":[{\"key\":%d,\"value\":\"a\"},{\"key\":-1,\"value\":\"\"}]", i);
    else dc_buf_puts(o, ",\"mi\":null", err);
    dc_buf_puts(o, "}\n", err);
}

static void gen_row(dc_buf *o, int i, dc_err *err) { gen_row_maps(o, i, true, err); }

typedef struct rt_case {
    pq_codec codec;
    bool dictionary;
    size_t page_bytes, row_group_bytes;
    bool text;      /* rows through dc_pq_writer_write_json_text */
} rt_case;

/* Writes the rows (JSON lines in `in`) and returns the file in *file. */
static int write_file(dc_buf *file, const dc_pq_schema *s, const rt_case *k, const dc_buf *in,
                      dc_err *err)
{
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.codec = k->codec;
    o.dictionary = k->dictionary;
    o.page_bytes = k->page_bytes;
    o.row_group_bytes = k->row_group_bytes;
    dc_pq_sink sink;
    dc_pq_sink_mem_init(&sink, file);
    dc_pq_writer *w = NULL;
    dc_arena a;
    dc_arena_init(&a, (size_t)1 << 30);
    int rc = dc_pq_writer_new(&w, s, &o, &sink, err);
    const char *p = (const char *)in->data, *end = p + in->len;
    while (rc == 0 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        dc_json *row;
        if (k->text) {
            rc = dc_pq_writer_write_json_text(w, p, (size_t)(nl - p), err);
        } else {
            rc = dc_json_parse(&row, &a, p, (size_t)(nl - p), err);
            if (rc == 0) rc = dc_pq_writer_write_json_row(w, row, err);
        }
        dc_arena_reset(&a);
        p = nl + 1;
    }
    if (rc == 0) rc = dc_pq_writer_close(w, err);
    dc_pq_writer_free(w);
    dc_arena_dispose(&a);
    return rc;
}

/* All rows of a file as JSON lines. */
static int read_rows(dc_buf *out, const dc_buf *file, dc_err *err)
{
    dc_pq_reader *r = NULL;
    int rc = dc_pq_reader_open_mem(&r, file->data, file->len, "rt", err);
    for (uint32_t g = 0; rc == 0 && g < dc_pq_reader_meta(r)->n_row_groups; g++)
        rc = dc_pq_reader_rows_json(out, r, g, NULL, err);
    dc_pq_reader_free(r);
    return rc;
}

static void first_diff(const dc_buf *a, const dc_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len, i = 0, line = 1, start = 0;
    for (; i < n && a->data[i] == b->data[i]; i++)
        if (a->data[i] == '\n') line++, start = i + 1;
    fprintf(stderr, "    first difference on line %zu:\n    want %.300s\n    got  %.300s\n", line,
            (const char *)a->data + start, (const char *)b->data + start);
}

static dc_pq_schema *schema_of(const char *json, dc_arena *a, dc_err *err)
{
    dc_json *js;
    dc_pq_schema *s = NULL;
    if (dc_json_parse(&js, a, json, strlen(json), err) == 0) dc_pq_schema_from_delta(&s, js, err);
    return s;
}

TEST(pq_writer_rt_all_types)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, 1 << 24);
    dc_pq_schema *s = schema_of(ALL_TYPES, &a, &err);
    CHECK(s != NULL);
    dc_buf in, file, out;
    dc_buf_init(&in, (size_t)1 << 30);
    dc_buf_init(&file, (size_t)1 << 30);
    dc_buf_init(&out, (size_t)1 << 30);
    for (int i = 0; i < 1500; i++) gen_row(&in, i, &err);
    const rt_case cases[] = {
        {PQ_CODEC_UNCOMPRESSED, true, 1 << 20, 128u << 20},
        {PQ_CODEC_SNAPPY, true, 700, 30000},
        {PQ_CODEC_GZIP, false, 2000, 1 << 20},
        {PQ_CODEC_ZSTD, true, 64, 5000},
        {PQ_CODEC_ZSTD, false, 1 << 20, 128u << 20},
        {PQ_CODEC_BROTLI, true, 4000, 1 << 20},
        {PQ_CODEC_LZ4_RAW, true, 300, 40000},
    };
    for (size_t k = 0; s && k < sizeof cases / sizeof cases[0]; k++) {
        dc_buf_reset(&file);
        dc_buf_reset(&out);
        CHECK_OK(write_file(&file, s, &cases[k], &in, &err), &err);
        CHECK_OK(read_rows(&out, &file, &err), &err);
        if (out.len != in.len || memcmp(out.data, in.data, in.len) != 0) {
            dc_test_fail(__FILE__, __LINE__, "case %zu: rows differ", k);
            first_diff(&in, &out);
        }
    }
    dc_buf_dispose(&in);
    dc_buf_dispose(&file);
    dc_buf_dispose(&out);
    dc_pq_schema_free(s);
    dc_arena_dispose(&a);
}

/* Columns read back, written again columnar: the same rows. */
TEST(pq_writer_rt_columns_rewrite)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, 1 << 24);
    dc_pq_schema *s = schema_of(ALL_TYPES, &a, &err);
    CHECK(s != NULL);
    if (!s) return;
    dc_buf in, f1, f2, o1, o2;
    dc_buf_init(&in, (size_t)1 << 30);
    dc_buf_init(&f1, (size_t)1 << 30);
    dc_buf_init(&f2, (size_t)1 << 30);
    dc_buf_init(&o1, (size_t)1 << 30);
    dc_buf_init(&o2, (size_t)1 << 30);
    for (int i = 0; i < 800; i++) gen_row(&in, i, &err);
    const rt_case k = {PQ_CODEC_SNAPPY, true, 1000, 20000};
    CHECK_OK(write_file(&f1, s, &k, &in, &err), &err);
    dc_pq_reader *r = NULL;
    CHECK_OK(dc_pq_reader_open_mem(&r, f1.data, f1.len, "f1", &err), &err);
    dc_pq_column *cols = calloc(s->n_leaves, sizeof *cols);
    for (uint32_t i = 0; i < s->n_leaves; i++) dc_pq_column_init(&cols[i]);
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    dc_pq_sink sink;
    dc_pq_sink_mem_init(&sink, &f2);
    dc_pq_writer *w = NULL;
    const dc_pq_schema *rs = r ? dc_pq_reader_schema(r) : NULL;
    CHECK_OK(r ? dc_pq_writer_new(&w, rs, &o, &sink, &err) : -1, &err);
    for (uint32_t g = 0; w && g < dc_pq_reader_meta(r)->n_row_groups; g++) {
        for (uint32_t i = 0; i < rs->n_leaves; i++)
            CHECK_OK(dc_pq_reader_read_column(&cols[i], r, g, i, &err), &err);
        CHECK_OK(dc_pq_writer_write_columns(w, cols, (size_t)dc_pq_reader_meta(r)->row_groups[g].num_rows,
                                            &err), &err);
    }
    if (w) CHECK_OK(dc_pq_writer_close(w, &err), &err);
    dc_pq_writer_free(w);
    dc_pq_reader_free(r);
    CHECK_OK(read_rows(&o1, &f1, &err), &err);
    CHECK_OK(read_rows(&o2, &f2, &err), &err);
    CHECK(o1.len == in.len && memcmp(o1.data, in.data, in.len) == 0);
    if (o2.len != o1.len || memcmp(o1.data, o2.data, o1.len) != 0) {
        CHECK(!"rewritten rows differ");
        first_diff(&o1, &o2);
    }
    for (uint32_t i = 0; i < s->n_leaves; i++) dc_pq_column_dispose(&cols[i]);
    free(cols);
    dc_buf_dispose(&in);
    dc_buf_dispose(&f1);
    dc_buf_dispose(&f2);
    dc_buf_dispose(&o1);
    dc_buf_dispose(&o2);
    dc_pq_schema_free(s);
    dc_arena_dispose(&a);
}

/* The text path (no DOM) writes byte for byte the file the JSON-row path
 * writes: rows it takes directly (no maps here: every row) and rows it hands
 * to the DOM path (maps, surrogate escapes); and fails the same way. */
static const char *NO_MAPS = "{\"type\":\"struct\",\"fields\":["
    FLD("id", "\"long\"", "false") "," FLD("b", "\"boolean\"", "true") ","
    FLD("by", "\"byte\"", "true") "," FLD("sh", "\"short\"", "true") ","
    FLD("i", "\"integer\"", "true") "," FLD("f", "\"float\"", "true") ","
    FLD("x", "\"double\"", "true") "," FLD("s", "\"string\"", "true") ","
    FLD("bin", "\"binary\"", "true") "," FLD("dec", "\"decimal(10,2)\"", "true") ","
    FLD("dec18", "\"decimal(18,4)\"", "true") "," FLD("dec38", "\"decimal(38,10)\"", "true") ","
    FLD("d", "\"date\"", "true") "," FLD("ts", "\"timestamp\"", "true") ","
    FLD("ntz", "\"timestamp_ntz\"", "true") ","
    FLD("arr", "{\"type\":\"array\",\"elementType\":\"integer\",\"containsNull\":true}", "true") ","
    FLD("st", "{\"type\":\"struct\",\"fields\":[" FLD("a", "\"string\"", "true") ","
              FLD("n", "{\"type\":\"struct\",\"fields\":[" FLD("q", "\"long\"", "false") "]}", "true")
              "]}", "true") ","
    FLD("aa", "{\"type\":\"array\",\"elementType\":{\"type\":\"array\",\"elementType\":\"long\","
              "\"containsNull\":false},\"containsNull\":true}", "false")
    "]}";

static void same_file(const char *schema, bool maps, const char *extra)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, 1 << 24);
    dc_pq_schema *s = schema_of(schema, &a, &err);
    CHECK(s != NULL);
    dc_buf in, f1, f2;
    dc_buf_init(&in, (size_t)1 << 30);
    dc_buf_init(&f1, (size_t)1 << 30);
    dc_buf_init(&f2, (size_t)1 << 30);
    for (int i = 0; i < 1200; i++) gen_row_maps(&in, i, maps, &err);
    if (extra) dc_buf_puts(&in, extra, &err);
    rt_case k = {PQ_CODEC_SNAPPY, true, 700, 30000, false};
    CHECK_OK(s ? write_file(&f1, s, &k, &in, &err) : -1, &err);
    k.text = true;
    CHECK_OK(s ? write_file(&f2, s, &k, &in, &err) : -1, &err);
    CHECK(f1.len > 1000 && f1.len == f2.len && memcmp(f1.data, f2.data, f1.len) == 0);
    dc_buf_dispose(&in);
    dc_buf_dispose(&f1);
    dc_buf_dispose(&f2);
    dc_pq_schema_free(s);
    dc_arena_dispose(&a);
}

TEST(pq_writer_text_same_file)
{
    same_file(NO_MAPS, false,
              "{\"id\":1,\"s\":\"\\u0001\\u00e9\\ud83d\\ude00 \\/\\b\\f\\n\\r\\t\",\"aa\":[]}\n"
              "{ \"aa\" : [ [ 1 , 2 ] ] , \"st\" : { } , \"id\" : -0 , \"x\" : 1e3 }\n"
              "{\"id\":2,\"aa\":[],\"s\":\"caf\\u00e9 \\\"q\\\" \\\\\"}\n"
              /* names escaped or out of order (not matched by their bytes);
               * escapes and UTF-8 on each side of 8-byte steps of the scan */
              "{\"\\u0069d\":3,\"aa\":[],\"\\u0069\":null,\"s\":\"abcdefg\\nhijklmnop\"}\n"
              "{\"aa\":[],\"s\":\"abcdefgh\\\"ijklmnopq\\\\\",\"id\":4}\n"
              "{\"id\":5,\"s\":\"abcdefghijklmnoé\",\"bin\":\"AAEC\",\"aa\":[]}\n"
              "{\"id\":6,\"s\":\"abcdefghijklmnop\\u00e9\u00e9\",\"aa\":[]}\n");
    same_file(ALL_TYPES, true, NULL);
}

/* Bad rows: the same error as the JSON-row path, and the row left out. */
TEST(pq_writer_text_errors)
{
    static const char *bad[] = {
        "{\"id\":1,\"i\":\"x\",\"aa\":[]}",          /* a string in an int */
        "{\"id\":1,\"i\":1,\"i\":2,\"aa\":[]}",       /* duplicate member */
        "{\"id\":1,\"nope\":1,\"aa\":[]}",            /* unknown member */
        "{\"i\":1,\"aa\":[]}",                        /* missing non-nullable */
        "{\"id\":1,\"aa\":[]",                        /* unterminated */
        "{\"id\":1,\"s\":\"\\ud800\",\"aa\":[]}",     /* lone surrogate */
        "{\"id\":1,\"s\":\"a\\qb\",\"aa\":[]}",       /* bad escape */
        "{\"id\":1,\"by\":300,\"aa\":[]}",            /* out of range */
        "{\"id\":01,\"aa\":[]}",                      /* not JSON's number */
        "{\"id\":1,\"aa\":[[null]]}",                 /* null in a non-null element */
        "{\"id\":1,\"s\":\"abcdefghij\x01k\",\"aa\":[]}", /* a control byte past 8 */
        "{\"id\":1,\"s\":\"abcdefghij\xffk\",\"aa\":[]}", /* not UTF-8 past 8 */
        "{\"id\":1,\"s\":\"abcdefghijklmnop",         /* unterminated, long */
        "{\"id\":1,\"id\":2,\"aa\":[]}",             /* duplicate matched member */
        "{\"id\":1,\"\\u0069d\":2,\"aa\":[]}",      /* the same, escaped */
        "{\"id\":1,\"aa\":[],\"id",                  /* a name cut short */
    };
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, 1 << 24);
    dc_pq_schema *s = schema_of(NO_MAPS, &a, &err);
    CHECK(s != NULL);
    if (!s) return;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dc_buf f1, f2;
        dc_buf_init(&f1, 1 << 20);
        dc_buf_init(&f2, 1 << 20);
        dc_pq_writer_opts o;
        dc_pq_writer_opts_init(&o);
        dc_pq_sink s1, s2;
        dc_pq_sink_mem_init(&s1, &f1);
        dc_pq_sink_mem_init(&s2, &f2);
        dc_pq_writer *w1 = NULL, *w2 = NULL;
        CHECK_OK(dc_pq_writer_new(&w1, s, &o, &s1, &err), &err);
        CHECK_OK(dc_pq_writer_new(&w2, s, &o, &s2, &err), &err);
        const char *good = "{\"id\":7,\"s\":\"ok\",\"aa\":[[1]]}";
        dc_json *row = NULL;
        CHECK_OK(dc_json_parse(&row, &a, good, strlen(good), &err), &err);
        CHECK_OK(dc_pq_writer_write_json_row(w1, row, &err), &err);
        CHECK_OK(dc_pq_writer_write_json_text(w2, good, strlen(good), &err), &err);
        dc_err e1, e2;
        int r1 = dc_json_parse(&row, &a, bad[i], strlen(bad[i]), &e1);
        if (r1 == 0) r1 = dc_pq_writer_write_json_row(w1, row, &e1);
        const int r2 = dc_pq_writer_write_json_text(w2, bad[i], strlen(bad[i]), &e2);
        CHECK(r1 < 0 && r1 == r2);
        if (r1 < 0 && r2 < 0) CHECK_EQ_STR(e1.msg, e2.msg);
        CHECK_OK(dc_pq_writer_close(w1, &err), &err);
        CHECK_OK(dc_pq_writer_close(w2, &err), &err);
        CHECK(f1.len == f2.len && memcmp(f1.data, f2.data, f1.len) == 0);
        dc_pq_writer_free(w1);
        dc_pq_writer_free(w2);
        dc_buf_dispose(&f1);
        dc_buf_dispose(&f2);
    }
    dc_pq_schema_free(s);
    dc_arena_dispose(&a);
}
