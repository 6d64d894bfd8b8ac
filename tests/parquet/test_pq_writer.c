/* Parquet writer: files written to memory, checked by decoding their own
 * footer, page headers and page index (and, with DC_TEST_PQ_DUMP=DIR, dumped
 * for pyarrow/DuckDB to read). */
#include "../test.h"
#include "../../src/parquet/pq_wr_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------ fixture */

typedef struct wfix {
    dc_arena arena;          /* JSON documents */
    dc_pq_schema *schema;
    dc_buf file;             /* the file written */
    dc_pq_sink sink;
    dc_pq_writer *w;
    dc_arena marena;         /* decoded footer */
    pq_file_meta meta;
    const char *name;        /* for DC_TEST_PQ_DUMP */
} wfix;

#define FLD(name, type, nullable) \
    "{\"name\":\"" name "\",\"type\":" type ",\"nullable\":" nullable ",\"metadata\":{}}"
#define SCHEMA(...) "{\"type\":\"struct\",\"fields\":[" __VA_ARGS__ "]}"

static int fix_open(wfix *f, const char *name, const char *schema_json,
                    const dc_pq_writer_opts *o, dc_err *err)
{
    memset(f, 0, sizeof *f);
    f->name = name;
    dc_arena_init(&f->arena, (size_t)1 << 30);
    dc_arena_init(&f->marena, (size_t)1 << 30);
    dc_buf_init(&f->file, (size_t)1 << 32);
    dc_pq_sink_mem_init(&f->sink, &f->file);
    dc_json *js;
    DC_TRY(dc_json_parse(&js, &f->arena, schema_json, strlen(schema_json), err));
    DC_TRY(dc_pq_schema_from_delta(&f->schema, js, err));
    return dc_pq_writer_new(&f->w, f->schema, o, &f->sink, err);
}

static int fix_row(wfix *f, const char *row, dc_err *err)
{
    dc_json *js;
    DC_TRY(dc_json_parse(&js, &f->arena, row, strlen(row), err));
    return dc_pq_writer_write_json_row(f->w, js, err);
}

static void dump(const wfix *f)
{
    const char *dir = getenv("DC_TEST_PQ_DUMP");
    if (!dir || !f->name) return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s.parquet", dir, f->name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return;
    fwrite(f->file.data, 1, f->file.len, fp);
    fclose(fp);
}

/* Closes the writer and decodes the footer it wrote. */
static int fix_close(wfix *f, dc_err *err)
{
    DC_TRY(dc_pq_writer_close(f->w, err));
    dump(f);
    const uint8_t *b = f->file.data;
    size_t n = f->file.len;
    if (n < 12 || memcmp(b, "PAR1", 4) != 0 || memcmp(b + n - 4, "PAR1", 4) != 0)
        return dc_err_set(err, DC_ECORRUPT, "no PAR1 magic");
    uint32_t flen = dc_load_le32(b + n - 8);
    if (flen > n - 12) return dc_err_set(err, DC_ECORRUPT, "footer length");
    return pq_file_meta_decode(&f->meta, &f->marena, b + n - 8 - flen, flen, err);
}

static void fix_free(wfix *f)
{
    dc_pq_writer_free(f->w);
    dc_pq_schema_free(f->schema);
    dc_arena_dispose(&f->arena);
    dc_arena_dispose(&f->marena);
    dc_buf_dispose(&f->file);
}

static const pq_column_meta *cmeta(const wfix *f, uint32_t rg, uint32_t col)
{
    return &f->meta.row_groups[rg].columns[col].meta_data;
}

static bool has_enc(const pq_column_meta *m, pq_encoding e)
{
    for (uint32_t i = 0; i < m->n_encodings; i++)
        if (m->encodings[i] == e) return true;
    return false;
}

static int64_t le64(pq_bytes b) { return b.len == 8 ? (int64_t)dc_load_le64(b.ptr) : -999999; }
static int32_t le32(pq_bytes b) { return b.len == 4 ? (int32_t)dc_load_le32(b.ptr) : -999999; }

static bool bytes_eq(pq_bytes b, const char *s)
{
    return b.len == strlen(s) && memcmp(b.ptr, s, b.len) == 0;
}

static int read_ci(const wfix *f, uint32_t rg, uint32_t col, pq_column_index *ci, dc_arena *a,
                   dc_err *err)
{
    const pq_column_chunk *cc = &f->meta.row_groups[rg].columns[col];
    if (!cc->has_column_index) return dc_err_set(err, DC_ENOTFOUND, "no column index");
    if (cc->column_index_offset < 0 || (size_t)cc->column_index_offset + (size_t)cc->column_index_length > f->file.len)
        return dc_err_set(err, DC_ECORRUPT, "column index out of the file");
    return pq_column_index_decode(ci, a, f->file.data + cc->column_index_offset,
                                  (size_t)cc->column_index_length, err);
}

static int read_oi(const wfix *f, uint32_t rg, uint32_t col, pq_offset_index *oi, dc_arena *a,
                   dc_err *err)
{
    const pq_column_chunk *cc = &f->meta.row_groups[rg].columns[col];
    if (!cc->has_offset_index) return dc_err_set(err, DC_ENOTFOUND, "no offset index");
    if (cc->offset_index_offset < 0 || (size_t)cc->offset_index_offset + (size_t)cc->offset_index_length > f->file.len)
        return dc_err_set(err, DC_ECORRUPT, "offset index out of the file");
    return pq_offset_index_decode(oi, a, f->file.data + cc->offset_index_offset,
                                  (size_t)cc->offset_index_length, err);
}

/* Walks every page header of a chunk: sizes add up to the chunk's sizes,
 * the dictionary page comes first, data pages carry num_values that add up. */
static void check_chunk_pages(const wfix *f, uint32_t rg, uint32_t col)
{
    dc_err err;
    const pq_column_meta *m = cmeta(f, rg, col);
    int64_t at = m->has_dictionary_page_offset ? m->dictionary_page_offset : m->data_page_offset;
    const int64_t end = at + m->total_compressed_size;
    int64_t values = 0, usize = 0;
    int pages = 0;
    dc_arena a;
    dc_arena_init(&a, (size_t)1 << 26);
    CHECK(end <= (int64_t)f->file.len);
    while (at < end && end <= (int64_t)f->file.len) {
        pq_page_header h;
        size_t used;
        int rc = pq_page_header_decode(&h, &used, &a, f->file.data + at, (size_t)(end - at), &err);
        CHECK_OK(rc, &err);
        if (rc) break;
        if (pages == 0 && m->has_dictionary_page_offset) {
            CHECK_EQ_INT(h.type, PQ_PAGE_DICTIONARY);
            CHECK_EQ_INT(at + (int64_t)used + h.compressed_page_size, m->data_page_offset);
        } else {
            CHECK_EQ_INT(h.type, PQ_PAGE_DATA);
            CHECK(h.has_data_page_header);
            values += h.data_page_header.num_values;
        }
        if (m->codec == PQ_CODEC_UNCOMPRESSED)
            CHECK_EQ_INT(h.compressed_page_size, h.uncompressed_page_size);
        usize += (int64_t)used + h.uncompressed_page_size;
        at += (int64_t)used + h.compressed_page_size;
        pages++;
    }
    CHECK_EQ_INT(at, end);
    CHECK_EQ_INT(values, m->num_values);
    CHECK_EQ_INT(usize, m->total_uncompressed_size);
    dc_arena_dispose(&a);
}

static void check_all_pages(const wfix *f)
{
    for (uint32_t r = 0; r < f->meta.n_row_groups; r++)
        for (uint32_t c = 0; c < f->meta.row_groups[r].n_columns; c++) check_chunk_pages(f, r, c);
}

/* ---------------------------------------------------------- structure */

TEST(pq_writer_opts_defaults)
{
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    CHECK_EQ_INT(o.codec, PQ_CODEC_ZSTD);
    CHECK_EQ_INT(o.level, -1);
    CHECK_EQ_INT(o.row_group_bytes, DC_PQ_DEFAULT_ROW_GROUP_BYTES);
    CHECK_EQ_INT(o.page_bytes, DC_PQ_DEFAULT_PAGE_BYTES);
    CHECK_EQ_INT(o.dict_bytes, DC_PQ_DEFAULT_DICT_BYTES);
    CHECK(o.dictionary);
    CHECK(o.page_index);
}

static const char *FLAT = SCHEMA(FLD("id", "\"long\"", "false") "," FLD("s", "\"string\"", "true")
                                 "," FLD("d", "\"double\"", "true"));

TEST(pq_writer_flat_footer)
{
    dc_err err;
    wfix f;
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.codec = PQ_CODEC_UNCOMPRESSED;
    CHECK_OK(fix_open(&f, "flat", FLAT, &o, &err), &err);
    const char *rows[] = {
        "{\"id\":5,\"s\":\"b\",\"d\":1.5}", "{\"id\":-3,\"s\":null,\"d\":-2}",
        "{\"id\":9,\"s\":\"a\"}", "{\"s\":\"c\",\"id\":0,\"d\":\"NaN\"}",
    };
    for (int i = 0; i < 4; i++) CHECK_OK(fix_row(&f, rows[i], &err), &err);
    CHECK_OK(fix_close(&f, &err), &err);
    const pq_file_meta *m = &f.meta;
    CHECK_EQ_INT(m->version, 1);
    CHECK_EQ_INT(m->num_rows, 4);
    CHECK_EQ_INT(m->n_row_groups, 1);
    CHECK_EQ_INT(m->n_schema, 4);
    CHECK_EQ_STR(m->created_by, DC_PQ_CREATED_BY);
    CHECK_EQ_INT(m->n_column_orders, 3);
    CHECK_EQ_INT(m->column_orders[0], PQ_ORDER_TYPE_DEFINED);
    CHECK(dc_pq_writer_meta(f.w) != NULL);
    CHECK_EQ_INT(dc_pq_writer_bytes_written(f.w), f.file.len);
    if (m->n_row_groups != 1) goto out;
    const pq_row_group *rg = &m->row_groups[0];
    CHECK_EQ_INT(rg->num_rows, 4);
    CHECK_EQ_INT(rg->n_columns, 3);
    CHECK(rg->has_ordinal && rg->ordinal == 0);
    CHECK_EQ_INT(rg->file_offset, 4);
    const pq_column_meta *id = cmeta(&f, 0, 0), *s = cmeta(&f, 0, 1), *d = cmeta(&f, 0, 2);
    CHECK_EQ_INT(id->type, PQ_INT64);
    CHECK_EQ_INT(id->num_values, 4);
    CHECK_EQ_INT(id->codec, PQ_CODEC_UNCOMPRESSED);
    CHECK_EQ_STR(id->path_in_schema[0], "id");
    CHECK(!has_enc(id, PQ_ENC_RLE));  /* required, flat: no levels */
    CHECK(id->statistics.has_min_value && id->statistics.has_max_value);
    CHECK_EQ_INT(le64(id->statistics.min_value), -3);
    CHECK_EQ_INT(le64(id->statistics.max_value), 9);
    CHECK_EQ_INT(id->statistics.null_count, 0);
    CHECK(!id->statistics.has_min && !id->statistics.has_max);  /* no deprecated fields */
    CHECK(has_enc(s, PQ_ENC_RLE));
    CHECK_EQ_INT(s->statistics.null_count, 1);
    CHECK(bytes_eq(s->statistics.min_value, "a"));
    CHECK(bytes_eq(s->statistics.max_value, "c"));
    CHECK(s->statistics.is_min_value_exact && s->statistics.is_max_value_exact);
    /* doubles: NaN ignored, null counted */
    CHECK_EQ_INT(d->statistics.null_count, 1);
    double dmin = 0, dmax = 0;
    if (d->statistics.min_value.len == 8) memcpy(&dmin, d->statistics.min_value.ptr, 8);
    if (d->statistics.max_value.len == 8) memcpy(&dmax, d->statistics.max_value.ptr, 8);
    CHECK(dmin == -2.0 && dmax == 1.5);
    int64_t total = 0;
    for (uint32_t i = 0; i < 3; i++) total += cmeta(&f, 0, i)->total_compressed_size;
    CHECK_EQ_INT(rg->total_compressed_size, total);
    check_all_pages(&f);
out:
    fix_free(&f);
}

TEST(pq_writer_zero_rows)
{
    dc_err err;
    wfix f;
    CHECK_OK(fix_open(&f, "empty", FLAT, NULL, &err), &err);
    CHECK_OK(fix_close(&f, &err), &err);
    CHECK_EQ_INT(f.meta.num_rows, 0);
    CHECK_EQ_INT(f.meta.n_row_groups, 0);
    CHECK_EQ_INT(f.meta.n_schema, 4);
    /* closing twice or writing after close is refused */
    CHECK(dc_pq_writer_close(f.w, &err) < 0);
    fix_free(&f);
}

static int write_ints(wfix *f, int n, int mod, dc_err *err)
{
    char row[128];
    for (int i = 0; i < n; i++) {
        snprintf(row, sizeof row, "{\"id\":%d,\"s\":\"v%d\",\"d\":%d.25}", i, mod ? i % mod : i, i);
        DC_TRY(fix_row(f, row, err));
    }
    return 0;
}

TEST(pq_writer_row_groups_split)
{
    dc_err err;
    wfix f;
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.row_group_bytes = 20000;
    o.codec = PQ_CODEC_SNAPPY;
    CHECK_OK(fix_open(&f, "rowgroups", FLAT, &o, &err), &err);
    CHECK_OK(write_ints(&f, 5000, 7, &err), &err);
    CHECK_OK(fix_close(&f, &err), &err);
    CHECK(f.meta.n_row_groups > 3);
    int64_t rows = 0, prev_off = 0;
    for (uint32_t r = 0; r < f.meta.n_row_groups; r++) {
        const pq_row_group *rg = &f.meta.row_groups[r];
        CHECK(rg->num_rows > 0);
        CHECK_EQ_INT(rg->ordinal, r);
        CHECK(rg->file_offset > prev_off);
        prev_off = rg->file_offset;
        /* the id column's statistics cover exactly the rows of this group */
        CHECK_EQ_INT(le64(rg->columns[0].meta_data.statistics.min_value), rows);
        CHECK_EQ_INT(le64(rg->columns[0].meta_data.statistics.max_value), rows + rg->num_rows - 1);
        rows += rg->num_rows;
    }
    CHECK_EQ_INT(rows, 5000);
    CHECK_EQ_INT(f.meta.num_rows, 5000);
    check_all_pages(&f);
    fix_free(&f);
}

TEST(pq_writer_dictionary_choice)
{
    dc_err err;
    wfix f;
    CHECK_OK(fix_open(&f, "dict", FLAT, NULL, &err), &err);
    CHECK_OK(write_ints(&f, 3000, 5, &err), &err);
    CHECK_OK(fix_close(&f, &err), &err);
    /* ids are all distinct: PLAIN; s has 5 values: dictionary */
    const pq_column_meta *id = cmeta(&f, 0, 0), *s = cmeta(&f, 0, 1);
    CHECK(!has_enc(id, PQ_ENC_RLE_DICTIONARY));
    CHECK(!id->has_dictionary_page_offset);
    CHECK(has_enc(s, PQ_ENC_RLE_DICTIONARY));
    CHECK(has_enc(s, PQ_ENC_PLAIN));
    CHECK(s->has_dictionary_page_offset);
    CHECK(s->n_encoding_stats == 2 && s->encoding_stats[0].page_type == PQ_PAGE_DICTIONARY);
    CHECK(bytes_eq(s->statistics.min_value, "v0"));
    CHECK(bytes_eq(s->statistics.max_value, "v4"));
    check_all_pages(&f);
    fix_free(&f);

    /* a dictionary budget too small for the distinct values: PLAIN */
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.dict_bytes = 64;
    CHECK_OK(fix_open(&f, "dict_budget", FLAT, &o, &err), &err);
    CHECK_OK(write_ints(&f, 3000, 100, &err), &err);
    CHECK_OK(fix_close(&f, &err), &err);
    CHECK(!has_enc(cmeta(&f, 0, 1), PQ_ENC_RLE_DICTIONARY));
    CHECK(bytes_eq(cmeta(&f, 0, 1)->statistics.max_value, "v99"));
    check_all_pages(&f);
    fix_free(&f);

    /* dictionary switched off */
    dc_pq_writer_opts_init(&o);
    o.dictionary = false;
    CHECK_OK(fix_open(&f, "nodict", FLAT, &o, &err), &err);
    CHECK_OK(write_ints(&f, 300, 2, &err), &err);
    CHECK_OK(fix_close(&f, &err), &err);
    for (uint32_t c = 0; c < 3; c++) CHECK(!has_enc(cmeta(&f, 0, c), PQ_ENC_RLE_DICTIONARY));
    fix_free(&f);
}

/* ---------------------------------------------------------- page index */

TEST(pq_writer_page_index_flat)
{
    dc_err err;
    wfix f;
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.page_bytes = 512;
    CHECK_OK(fix_open(&f, "pages", FLAT, &o, &err), &err);
    CHECK_OK(write_ints(&f, 3000, 3, &err), &err);
    CHECK_OK(fix_close(&f, &err), &err);
    dc_arena a;
    dc_arena_init(&a, (size_t)1 << 26);
    pq_offset_index oi;
    pq_column_index ci;
    CHECK_OK(read_oi(&f, 0, 0, &oi, &a, &err), &err);
    CHECK_OK(read_ci(&f, 0, 0, &ci, &a, &err), &err);
    CHECK(oi.n_pages > 10);
    CHECK_EQ_INT(ci.n_pages, oi.n_pages);
    CHECK_EQ_INT(ci.boundary_order, PQ_BO_ASCENDING);
    CHECK(ci.has_null_counts);
    const pq_column_meta *m = cmeta(&f, 0, 0);
    CHECK_EQ_INT(oi.page_locations[0].offset, m->data_page_offset);
    for (uint32_t i = 0; i < oi.n_pages && i < ci.n_pages; i++) {
        const pq_page_location *p = &oi.page_locations[i];
        if (i + 1 < oi.n_pages) {
            CHECK_EQ_INT(p->offset + p->compressed_page_size, oi.page_locations[i + 1].offset);
            CHECK(p->first_row_index < oi.page_locations[i + 1].first_row_index);
        }
        /* id == row index: each page's min is its first row, its max the next page's - 1 */
        CHECK_EQ_INT(le64(ci.min_values[i]), p->first_row_index);
        int64_t next = i + 1 < oi.n_pages ? oi.page_locations[i + 1].first_row_index : 3000;
        CHECK_EQ_INT(le64(ci.max_values[i]), next - 1);
        CHECK(!ci.null_pages[i]);
        CHECK_EQ_INT(ci.null_counts[i], 0);
    }
    CHECK_EQ_INT(oi.page_locations[0].first_row_index, 0);
    /* rows per page are capped even when pages are small in bytes */
    dc_arena_dispose(&a);
    check_all_pages(&f);
    fix_free(&f);
}

TEST(pq_writer_page_index_orders_and_null_pages)
{
    dc_err err;
    wfix f;
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.page_bytes = 256;
    CHECK_OK(fix_open(&f, "pages_desc", FLAT, &o, &err), &err);
    char row[128];
    for (int i = 0; i < 8000; i++) {
        /* id descending; s null for the first 5000 rows; d unordered */
        snprintf(row, sizeof row, "{\"id\":%d,\"s\":%s,\"d\":%d}", 9000 - i,
                 i < 5000 ? "null" : "\"x\"", (i * 7919) % 1000);
        CHECK_OK(fix_row(&f, row, &err), &err);
    }
    CHECK_OK(fix_close(&f, &err), &err);
    dc_arena a;
    dc_arena_init(&a, (size_t)1 << 26);
    pq_column_index ci;
    CHECK_OK(read_ci(&f, 0, 0, &ci, &a, &err), &err);
    CHECK_EQ_INT(ci.boundary_order, PQ_BO_DESCENDING);
    CHECK_OK(read_ci(&f, 0, 1, &ci, &a, &err), &err);
    CHECK(ci.n_pages > 1);
    CHECK(ci.n_pages > 0 && ci.null_pages[0]);
    CHECK(ci.n_pages > 0 && ci.min_values[0].len == 0);
    CHECK(ci.n_pages > 0 && !ci.null_pages[ci.n_pages - 1]);
    int64_t nulls = 0;
    for (uint32_t i = 0; i < ci.n_pages; i++) nulls += ci.null_counts[i];
    CHECK_EQ_INT(nulls, 5000);
    CHECK_EQ_INT(cmeta(&f, 0, 1)->statistics.null_count, 5000);
    CHECK_OK(read_ci(&f, 0, 2, &ci, &a, &err), &err);
    CHECK_EQ_INT(ci.boundary_order, PQ_BO_UNORDERED);
    dc_arena_dispose(&a);
    fix_free(&f);
}

/* Lists: pages end only where a row starts, so first_row_index is exact. */
TEST(pq_writer_page_index_repeated)
{
    dc_err err;
    wfix f;
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.page_bytes = 300;
    o.codec = PQ_CODEC_UNCOMPRESSED;
    CHECK_OK(fix_open(&f, "pages_list",
                      SCHEMA(FLD("l", "{\"type\":\"array\",\"elementType\":\"long\",\"containsNull\":true}", "true")),
                      &o, &err), &err);
    dc_buf row;
    dc_buf_init(&row, 1 << 20);
    const int rows = 3000;
    for (int i = 0; i < rows; i++) {
        dc_buf_reset(&row);
        dc_buf_puts(&row, "{\"l\":[", &err);
        for (int k = 0; k < i % 7; k++) dc_buf_appendf(&row, &err, "%s%d", k ? "," : "", i + k);
        dc_buf_puts(&row, "]}", &err);
        dc_buf_putc(&row, 0, &err);
        CHECK_OK(fix_row(&f, (const char *)row.data, &err), &err);
    }
    dc_buf_dispose(&row);
    CHECK_OK(fix_close(&f, &err), &err);
    check_all_pages(&f);
    dc_arena a;
    dc_arena_init(&a, (size_t)1 << 26);
    pq_offset_index oi;
    CHECK_OK(read_oi(&f, 0, 0, &oi, &a, &err), &err);
    CHECK(oi.n_pages > 5);
    /* level entries before row r: sum of max(1, i % 7) */
    for (uint32_t p = 0; p < oi.n_pages; p++) {
        int64_t r = oi.page_locations[p].first_row_index, levels = 0, seen = 0;
        for (int64_t i = 0; i < r; i++) levels += i % 7 ? i % 7 : 1;
        /* levels in the pages before p, from their headers */
        for (uint32_t q = 0; q < p; q++) {
            pq_page_header h;
            size_t used;
            const pq_page_location *l = &oi.page_locations[q];
            if (pq_page_header_decode(&h, &used, &a, f.file.data + l->offset,
                                      (size_t)l->compressed_page_size, &err) == 0)
                seen += h.data_page_header.num_values;
        }
        CHECK_EQ_INT(seen, levels);
    }
    int64_t all = 0;
    for (int i = 0; i < rows; i++) all += i % 7 ? i % 7 : 1;
    CHECK_EQ_INT(cmeta(&f, 0, 0)->num_values, all);
    dc_arena_dispose(&a);
    fix_free(&f);
}

/* ---------------------------------------------------------- statistics */

/* One column `v` of `type`; writes the JSON values given, returns its meta. */
static const pq_column_meta *one_column(wfix *f, const char *name, const char *type,
                                        const char *const *vals, int n, dc_err *err)
{
    char schema[512], row[1024];
    snprintf(schema, sizeof schema, SCHEMA(FLD("v", "%s", "true")), type);
    if (fix_open(f, name, schema, NULL, err) < 0) return NULL;
    for (int i = 0; i < n; i++) {
        snprintf(row, sizeof row, "{\"v\":%s}", vals[i]);
        if (fix_row(f, row, err) < 0) return NULL;
    }
    if (fix_close(f, err) < 0) return NULL;
    return cmeta(f, 0, 0);
}

TEST(pq_writer_stats_signed_and_decimals)
{
    dc_err err;
    wfix f;
    const char *ints[] = {"3", "-7", "null", "2147483647", "-2147483648"};
    const pq_column_meta *m = one_column(&f, "st_int", "\"integer\"", ints, 5, &err);
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(le32(m->statistics.min_value), INT32_MIN);
        CHECK_EQ_INT(le32(m->statistics.max_value), INT32_MAX);
        CHECK_EQ_INT(m->statistics.null_count, 1);
    }
    fix_free(&f);
    /* decimal(5,2) on INT32: signed */
    const char *d5[] = {"\"-1.5\"", "\"2\"", "0.25"};
    m = one_column(&f, "st_dec32", "\"decimal(5,2)\"", d5, 3, &err);
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(m->type, PQ_INT32);
        CHECK_EQ_INT(le32(m->statistics.min_value), -150);
        CHECK_EQ_INT(le32(m->statistics.max_value), 200);
    }
    fix_free(&f);
    /* decimal(30,0) on FLBA: signed big-endian two's complement */
    const char *d30[] = {"\"1\"", "\"-1\"", "\"-999999999999999999999999999999\"",
                         "\"999999999999999999999999999999\""};
    m = one_column(&f, "st_dec_flba", "\"decimal(30,0)\"", d30, 4, &err);
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(m->type, PQ_FIXED_LEN_BYTE_ARRAY);
        CHECK_EQ_INT(m->statistics.min_value.len, 13);
        CHECK(m->statistics.min_value.len == 13 && m->statistics.min_value.ptr[0] == 0xf3);
        CHECK(m->statistics.max_value.len == 13 && m->statistics.max_value.ptr[0] == 0x0c);
    }
    fix_free(&f);
}

TEST(pq_writer_stats_floats)
{
    dc_err err;
    wfix f;
    const char *nan_only[] = {"\"NaN\"", "null", "\"NaN\""};
    const pq_column_meta *m = one_column(&f, "st_nan", "\"double\"", nan_only, 3, &err);
    CHECK(m != NULL);
    if (m) {
        CHECK(!m->statistics.has_min_value && !m->statistics.has_max_value);
        CHECK_EQ_INT(m->statistics.null_count, 1);
        /* a page with only NaN has no bounds: no column index, an offset index */
        CHECK(!f.meta.row_groups[0].columns[0].has_column_index);
        CHECK(f.meta.row_groups[0].columns[0].has_offset_index);
    }
    fix_free(&f);
    const char *zeros[] = {"0.0", "\"NaN\"", "0"};
    m = one_column(&f, "st_zero", "\"float\"", zeros, 3, &err);
    CHECK(m != NULL);
    if (m && m->statistics.min_value.len == 4 && m->statistics.max_value.len == 4) {
        float lo, hi;
        memcpy(&lo, m->statistics.min_value.ptr, 4);
        memcpy(&hi, m->statistics.max_value.ptr, 4);
        CHECK(lo == 0 && signbit(lo));
        CHECK(hi == 0 && !signbit(hi));
    } else {
        CHECK(!"float zero bounds missing");
    }
    fix_free(&f);
    const char *infs[] = {"\"-Infinity\"", "1e30", "\"Infinity\"", "-0.0"};
    m = one_column(&f, "st_inf", "\"float\"", infs, 4, &err);
    if (m && m->statistics.min_value.len == 4 && m->statistics.max_value.len == 4) {
        float lo, hi;
        memcpy(&lo, m->statistics.min_value.ptr, 4);
        memcpy(&hi, m->statistics.max_value.ptr, 4);
        CHECK(isinf(lo) && lo < 0);
        CHECK(isinf(hi) && hi > 0);
    } else {
        CHECK(!"float inf bounds missing");
    }
    fix_free(&f);
}

TEST(pq_writer_stats_truncation)
{
    dc_err err;
    wfix f;
    char lo[200], hi[200];
    memset(lo, 'a', 100);
    lo[100] = '\0';
    memset(hi, 'z', 100);
    hi[100] = '\0';
    char qlo[210], qhi[210];
    snprintf(qlo, sizeof qlo, "\"%s\"", lo);
    snprintf(qhi, sizeof qhi, "\"%s\"", hi);
    const char *vals[] = {qhi, "\"m\"", qlo};
    const pq_column_meta *m = one_column(&f, "st_trunc", "\"string\"", vals, 3, &err);
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(m->statistics.min_value.len, DC_PQ_STATS_TRUNCATE);
        CHECK(m->statistics.has_is_min_exact && !m->statistics.is_min_value_exact);
        CHECK_EQ_INT(m->statistics.max_value.len, DC_PQ_STATS_TRUNCATE);
        CHECK(m->statistics.max_value.len == DC_PQ_STATS_TRUNCATE &&
              m->statistics.max_value.ptr[DC_PQ_STATS_TRUNCATE - 1] == '{');
        CHECK(m->statistics.has_is_max_exact && !m->statistics.is_max_value_exact);
    }
    fix_free(&f);
    /* binary of 100 0xff bytes: no upper bound of 64 bytes exists */
    uint8_t ff[100];
    memset(ff, 0xff, sizeof ff);
    dc_buf b64;
    dc_buf_init(&b64, 1 << 20);
    dc_buf_putc(&b64, '"', &err);
    dc_base64_encode(&b64, ff, sizeof ff, &err);
    dc_buf_puts(&b64, "\"", &err);
    dc_buf_putc(&b64, 0, &err);
    const char *bins[] = {(const char *)b64.data, "\"AA==\""};
    m = one_column(&f, "st_ff", "\"binary\"", bins, 2, &err);
    CHECK(m != NULL);
    if (m) {
        CHECK(m->statistics.has_min_value && m->statistics.min_value.len == 1);
        CHECK(!m->statistics.has_max_value);
    }
    fix_free(&f);
    dc_buf_dispose(&b64);
}

TEST(pq_writer_truncate_utf8)
{
    uint8_t in[80], out[DC_PQ_STATS_TRUNCATE + 4];
    uint32_t n;
    bool exact;
    /* 62 'a' then "é" (2 bytes) then "€" (3 bytes): the cut at 64 falls inside "€" */
    memset(in, 'a', 62);
    memcpy(in + 62, "\xc3\xa9\xe2\x82\xac", 5);
    pq_wr_trunc_min(out, &n, &exact, in, 67, true);
    CHECK_EQ_INT(n, 64);
    CHECK(!exact);
    CHECK(pq_wr_trunc_max(out, &n, &exact, in, 67, true));
    /* "é" (U+E9) + 1 = U+EA */
    CHECK_EQ_INT(n, 64);
    CHECK(out[62] == 0xc3 && out[63] == 0xaa);
    /* U+10FFFF can not be incremented: the code point before it is */
    memset(in, 'b', 60);
    memcpy(in + 60, "\xf4\x8f\xbf\xbf" "\xf4\x8f\xbf\xbf", 8);
    CHECK(pq_wr_trunc_max(out, &n, &exact, in, 68, true));
    CHECK_EQ_INT(n, 60);
    CHECK(out[59] == 'c');
    /* byte-wise for binary: last byte below 0xff incremented */
    memset(in, 0xff, 70);
    in[10] = 0x41;
    CHECK(pq_wr_trunc_max(out, &n, &exact, in, 70, false));
    CHECK_EQ_INT(n, 11);
    CHECK(out[10] == 0x42);
    /* short values are exact */
    CHECK(pq_wr_trunc_max(out, &n, &exact, in, 5, false));
    CHECK(exact && n == 5);
}
