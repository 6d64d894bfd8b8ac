/* Parquet writer: files written to memory, checked by decoding their own
 * footer, page headers and page index (and, with DC_TEST_PQ_DUMP=DIR, dumped
 * for pyarrow/DuckDB to read). */
#include "../test.h"
#include "../../src/parquet/pq_wr_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

TEST(pq_writer_refuses_bad_options)
{
    dc_err err;
    wfix f;
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.codec = PQ_CODEC_LZO;
    CHECK(fix_open(&f, NULL, FLAT, &o, &err) == DC_EUNSUPPORTED);
    CHECK(f.w == NULL);
    fix_free(&f);
    dc_pq_writer_opts_init(&o);
    o.page_bytes = 0;
    CHECK(fix_open(&f, NULL, FLAT, &o, &err) == DC_EINVAL);
    fix_free(&f);
    dc_pq_writer_opts_init(&o);
    o.row_group_bytes = (size_t)1 << 40;
    CHECK(fix_open(&f, NULL, FLAT, &o, &err) == DC_EINVAL);
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

/* ---------------------------------------------------------- JSON input */

static const char *NESTED = SCHEMA(
    FLD("id", "\"integer\"", "false") ","
    FLD("price", "\"decimal(10,2)\"", "true") ","
    FLD("a", "{\"type\":\"struct\",\"fields\":[" FLD("b", "{\"type\":\"array\",\"elementType\":"
        "{\"type\":\"struct\",\"fields\":[" FLD("c", "\"date\"", "true") "]},\"containsNull\":true}", "true")
        "]}", "true") ","
    FLD("m", "{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":\"long\",\"valueContainsNull\":false}", "true") ","
    FLD("req", "{\"type\":\"struct\",\"fields\":[" FLD("x", "\"byte\"", "false") "]}", "true"));

/* Expects the row to fail with a message containing `want`. */
static void expect_fail(wfix *f, const char *row, int code, const char *want)
{
    dc_err err;
    dc_err_clear(&err);
    int rc = fix_row(f, row, &err);
    if (rc != code || !strstr(err.msg, want))
        dc_test_fail(__FILE__, __LINE__, "row %s: rc %d msg \"%s\", expected %d and \"%s\"", row, rc,
                     err.msg, code, want);
}

TEST(pq_writer_json_errors)
{
    dc_err err;
    wfix f;
    CHECK_OK(fix_open(&f, NULL, NESTED, NULL, &err), &err);
    expect_fail(&f, "{\"id\":\"x\"}", DC_EINVAL, "field id: expected an int");
    expect_fail(&f, "{\"id\":2147483648}", DC_EINVAL, "field id: expected an int");
    expect_fail(&f, "{\"id\":1.5}", DC_EINVAL, "field id");
    expect_fail(&f, "{\"price\":\"1.00\"}", DC_EINVAL, "field id: null (missing) in a non-nullable");
    expect_fail(&f, "{\"id\":null}", DC_EINVAL, "field id: null in a non-nullable");
    expect_fail(&f, "{\"id\":1,\"nope\":1}", DC_EINVAL, "field nope: unknown field");
    expect_fail(&f, "{\"id\":1,\"price\":\"abc\"}", DC_EINVAL,
                "field price: expected a decimal(10,2), got \"abc\"");
    expect_fail(&f, "{\"id\":1,\"price\":\"1.234\"}", DC_EINVAL, "more fraction digits");
    expect_fail(&f, "{\"id\":1,\"price\":\"123456789.1\"}", DC_EINVAL, "more digits than the precision");
    expect_fail(&f, "{\"id\":1,\"price\":1e9}", DC_EINVAL, "more digits than the precision");
    expect_fail(&f, "{\"id\":1,\"a\":{\"b\":[{\"c\":\"2024-01-01\"},{\"c\":\"2023-02-29\"}]}}",
                DC_EINVAL, "field a.b[1].c: expected a date");
    expect_fail(&f, "{\"id\":1,\"a\":{\"b\":{}}}", DC_EINVAL, "field a.b: expected an array");
    expect_fail(&f, "{\"id\":1,\"a\":[]}", DC_EINVAL, "field a: expected an object");
    expect_fail(&f, "{\"id\":1,\"m\":{\"k\":null}}", DC_EINVAL, "field m[\"k\"].value: null in a non-nullable");
    expect_fail(&f, "{\"id\":1,\"m\":[{\"key\":null,\"value\":1}]}", DC_EINVAL, "field m[0]: map key is null");
    expect_fail(&f, "{\"id\":1,\"m\":[{\"key\":\"a\",\"value\":1,\"x\":2}]}", DC_EINVAL, "unknown member \"x\"");
    expect_fail(&f, "{\"id\":1,\"m\":[{\"key\":\"a\",\"value\":\"1\"}]}", DC_EINVAL, "field m[0].value: expected a long");
    expect_fail(&f, "{\"id\":1,\"req\":{}}", DC_EINVAL, "field req.x: null (missing)");
    expect_fail(&f, "{\"id\":1,\"req\":{\"x\":128}}", DC_EINVAL, "field req.x: expected a byte");
    expect_fail(&f, "{\"id\":1,\"id\":2}", DC_EINVAL, "duplicate member");
    expect_fail(&f, "[1]", DC_EINVAL, "a row must be a JSON object");
    CHECK_OK(fix_close(&f, &err), &err);
    CHECK_EQ_INT(f.meta.num_rows, 0);
    CHECK_EQ_INT(f.meta.n_row_groups, 0);
    fix_free(&f);
}

/* A failed row leaves no level or value behind: the rows around it are intact. */
TEST(pq_writer_json_rollback)
{
    dc_err err;
    wfix f;
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.dictionary = false;
    CHECK_OK(fix_open(&f, "rollback", NESTED, &o, &err), &err);
    CHECK_OK(fix_row(&f, "{\"id\":1,\"price\":\"1.50\",\"a\":{\"b\":[{\"c\":\"2024-01-01\"}]},"
                         "\"m\":{\"k\":1},\"req\":{\"x\":1}}", &err), &err);
    /* fails deep inside, after id, price and several leaves were appended */
    expect_fail(&f, "{\"id\":2,\"price\":\"9.99\",\"a\":{\"b\":[{\"c\":\"2020-01-01\"},null,{\"c\":5}]},"
                    "\"m\":{\"k\":2}}", DC_EINVAL, "a.b[2].c");
    expect_fail(&f, "{\"id\":3,\"price\":\"8.88\",\"m\":{\"a\":1,\"b\":2},\"req\":{\"x\":\"no\"}}", DC_EINVAL,
                "req.x");
    CHECK_OK(fix_row(&f, "{\"id\":4,\"price\":\"2.50\",\"a\":{\"b\":[]},\"m\":[],\"req\":null}", &err), &err);
    CHECK_OK(fix_close(&f, &err), &err);
    CHECK_EQ_INT(f.meta.num_rows, 2);
    if (f.meta.n_row_groups == 1) {
        const pq_column_meta *id = cmeta(&f, 0, 0), *price = cmeta(&f, 0, 1), *c = cmeta(&f, 0, 2);
        const pq_column_meta *k = cmeta(&f, 0, 3), *x = cmeta(&f, 0, 5);
        CHECK_EQ_INT(id->num_values, 2);
        CHECK_EQ_INT(le32(id->statistics.max_value), 4);
        CHECK_EQ_INT(price->num_values, 2);
        CHECK_EQ_INT(le64(price->statistics.max_value), 250);
        CHECK_EQ_INT(c->num_values, 2);   /* one element, one empty list */
        CHECK_EQ_INT(c->statistics.null_count, 1);
        CHECK_EQ_INT(k->num_values, 2);   /* {"k":1} and an empty map */
        CHECK_EQ_INT(x->num_values, 2);
        CHECK_EQ_INT(x->statistics.null_count, 1);
    } else {
        CHECK(!"one row group expected");
    }
    check_all_pages(&f);
    fix_free(&f);
}

TEST(pq_writer_json_values)
{
    dc_err err;
    wfix f;
    /* timestamps in several spellings, all the same instant */
    const char *ts[] = {"\"2024-01-02T03:04:05.5Z\"", "\"2024-01-02 04:04:05.500+01:00\"",
                        "\"2024-01-02T01:04:05.500000-0200\"", "\"2024-01-02t03:04:05.500000000z\""};
    const pq_column_meta *m = one_column(&f, "ts", "\"timestamp\"", ts, 4, &err);
    CHECK(m != NULL);
    if (m) {
        const int64_t want = (int64_t)1704164645 * 1000000 + 500000;
        CHECK_EQ_INT(le64(m->statistics.min_value), want);
        CHECK_EQ_INT(le64(m->statistics.max_value), want);
    }
    fix_free(&f);
    const char *dates[] = {"\"1970-01-01\"", "\"0001-01-01\"", "\"9999-12-31\"", "\"2000-02-29\""};
    m = one_column(&f, "dates", "\"date\"", dates, 4, &err);
    if (m) {
        CHECK_EQ_INT(le32(m->statistics.min_value), -719162);
        CHECK_EQ_INT(le32(m->statistics.max_value), 2932896);
    }
    fix_free(&f);
    const char *ntz[] = {"\"1969-12-31T23:59:59.999999\"", "\"1970-01-01\""};
    m = one_column(&f, "ntz", "\"timestamp_ntz\"", ntz, 2, &err);
    if (m) {
        CHECK_EQ_INT(le64(m->statistics.min_value), -1);
        CHECK_EQ_INT(le64(m->statistics.max_value), 0);
    }
    fix_free(&f);
    const char *decs[] = {"\"-0.005\"", "12.5e-1", "\"0.00100\"", "1E2"};
    m = one_column(&f, "decs", "\"decimal(18,3)\"", decs, 4, &err);
    if (m) {
        CHECK_EQ_INT(m->type, PQ_INT64);
        CHECK_EQ_INT(le64(m->statistics.min_value), -5);
        CHECK_EQ_INT(le64(m->statistics.max_value), 100000);
    }
    fix_free(&f);
    /* rejected spellings */
    CHECK_OK(fix_open(&f, NULL, SCHEMA(FLD("t", "\"timestamp_ntz\"", "true") "," FLD("d", "\"date\"", "true")
                                       "," FLD("f", "\"float\"", "true") "," FLD("b", "\"binary\"", "true")
                                       "," FLD("t2", "\"timestamp\"", "true")),
                      NULL, &err), &err);
    expect_fail(&f, "{\"t\":\"2024-01-02T03:04:05+01:00\"}", DC_EINVAL, "field t: expected a timestamp_ntz");
    expect_fail(&f, "{\"t2\":\"2024-01-02T03:04:05.1234567Z\"}", DC_EINVAL, "at most 6 fraction digits");
    expect_fail(&f, "{\"t2\":\"2024-01-02T24:00:00Z\"}", DC_EINVAL, "field t2");
    expect_fail(&f, "{\"d\":\"2024-1-2\"}", DC_EINVAL, "field d: expected a date");
    expect_fail(&f, "{\"d\":\"2024-04-31\"}", DC_EINVAL, "field d");
    expect_fail(&f, "{\"f\":1e39}", DC_EINVAL, "field f: expected a float");
    expect_fail(&f, "{\"f\":\"nan\"}", DC_EINVAL, "field f");
    expect_fail(&f, "{\"b\":\"@@@\"}", DC_EINVAL, "field b: expected a base64 string");
    expect_fail(&f, "{\"b\":true}", DC_EINVAL, "field b");
    CHECK_OK(fix_close(&f, &err), &err);
    fix_free(&f);
}

/* ---------------------------------------------------------- columnar input */

/* Builds the batch of NESTED-like shape: id INT32 required, a list<long>. */
static const char *BATCH = SCHEMA(FLD("id", "\"integer\"", "false") ","
                                  FLD("s", "\"string\"", "true") ","
                                  FLD("l", "{\"type\":\"array\",\"elementType\":\"long\",\"containsNull\":true}", "true"));

static void batch_build(dc_pq_column *c, int rows, dc_err *err)
{
    for (int i = 0; i < 3; i++) dc_pq_column_init(&c[i]);
    for (int r = 0; r < rows; r++) {
        int32_t id = r;
        dc_buf_append(&c[0].values, &id, 4, err);
        c[0].n_values++;
        c[0].n_levels++;
        dc_pq_column_reserve_levels(&c[1], 1, true, false, err);
        if (r % 3 == 0) {
            c[1].def[c[1].n_levels++] = 0;
        } else {
            char s[16];
            int n = snprintf(s, sizeof s, "s%d", r % 10);
            dc_pq_column_reserve_offsets(&c[1], 1, err);
            dc_buf_append(&c[1].values, s, (size_t)n, err);
            c[1].offsets[++c[1].n_values] = (uint32_t)c[1].values.len;
            c[1].def[c[1].n_levels++] = 1;
        }
        /* l: null, [], [r, null, r+1] in turn; max_def 3, max_rep 1 */
        int kind = r % 3;
        int n = kind == 2 ? 3 : 1;
        dc_pq_column_reserve_levels(&c[2], (size_t)n, true, true, err);
        for (int k = 0; k < n; k++) {
            c[2].rep[c[2].n_levels] = (int16_t)(k ? 1 : 0);
            int16_t d = kind == 0 ? 0 : kind == 1 ? 1 : k == 1 ? 2 : 3;
            c[2].def[c[2].n_levels++] = d;
            if (d == 3) {
                int64_t v = r + k;
                dc_buf_append(&c[2].values, &v, 8, err);
                c[2].n_values++;
            }
        }
    }
}

TEST(pq_writer_columns_batches)
{
    dc_err err;
    wfix f;
    dc_pq_column c[3];
    batch_build(c, 1000, &err);
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.row_group_bytes = 6000;
    CHECK_OK(fix_open(&f, "batches", BATCH, &o, &err), &err);
    CHECK_OK(dc_pq_writer_write_columns(f.w, c, 1000, &err), &err);
    CHECK_OK(fix_row(&f, "{\"id\":1000,\"s\":\"zz\",\"l\":[7]}", &err), &err);
    CHECK_OK(dc_pq_writer_write_columns(f.w, c, 1000, &err), &err);
    CHECK_OK(fix_close(&f, &err), &err);
    CHECK_EQ_INT(f.meta.num_rows, 2001);
    CHECK(f.meta.n_row_groups > 2);
    int64_t rows = 0, lvals = 0, lnulls = 0;
    for (uint32_t r = 0; r < f.meta.n_row_groups; r++) {
        rows += f.meta.row_groups[r].num_rows;
        lvals += cmeta(&f, r, 2)->num_values;
        lnulls += cmeta(&f, r, 2)->statistics.null_count;
    }
    CHECK_EQ_INT(rows, 2001);
    CHECK_EQ_INT(lvals, 2 * (c[2].n_levels) + 1);
    CHECK_EQ_INT(lnulls, 2 * (int64_t)(c[2].n_levels - c[2].n_values));
    check_all_pages(&f);
    fix_free(&f);
    for (int i = 0; i < 3; i++) dc_pq_column_dispose(&c[i]);
}

TEST(pq_writer_columns_rejects_bad_batches)
{
    dc_err err;
    wfix f;
    dc_pq_column c[3];
    batch_build(c, 30, &err);
    CHECK_OK(fix_open(&f, NULL, BATCH, NULL, &err), &err);
    CHECK(dc_pq_writer_write_columns(f.w, c, 29, &err) == DC_EINVAL);
    CHECK(strstr(err.msg, "column id") != NULL);
    c[1].def[4] = 2;
    CHECK(dc_pq_writer_write_columns(f.w, c, 30, &err) == DC_EINVAL);
    CHECK(strstr(err.msg, "definition level 2") != NULL);
    c[1].def[4] = 1;
    c[2].rep[0] = 1;
    CHECK(dc_pq_writer_write_columns(f.w, c, 30, &err) == DC_EINVAL);
    c[2].rep[0] = 0;
    c[2].n_values--;
    CHECK(dc_pq_writer_write_columns(f.w, c, 30, &err) == DC_EINVAL);
    c[2].n_values++;
    c[1].offsets[3] = c[1].offsets[2] - 1;
    CHECK(dc_pq_writer_write_columns(f.w, c, 30, &err) == DC_EINVAL);
    CHECK(strstr(err.msg, "offsets") != NULL);
    CHECK_OK(fix_close(&f, &err), &err);
    CHECK_EQ_INT(f.meta.num_rows, 0);
    fix_free(&f);
    for (int i = 0; i < 3; i++) dc_pq_column_dispose(&c[i]);
}

/* ---------------------------------------------------------- failures */

/* Fails every allocation of a whole write in turn: each run ends with an
 * error or a valid file, never a crash or a leak (ASan checks the latter). */
TEST(pq_writer_alloc_failures)
{
    dc_pq_column c[3];
    dc_err err;
    batch_build(c, 200, &err);
    const char *row = "{\"id\":1,\"price\":\"1.50\",\"a\":{\"b\":[{\"c\":\"2024-01-01\"},null]},"
                      "\"m\":{\"k\":1},\"req\":{\"x\":1}}";
    int ok = 0, failed = 0;
    long last = 0;
    for (int which = 0; which < 2; which++) {
        for (long n = 1; n < 100000; n++) {
            wfix f;
            dc_pq_writer_opts o;
            dc_pq_writer_opts_init(&o);
            o.row_group_bytes = 2000;
            o.page_bytes = 300;
            dc_alloc_fail_after(n);
            int rc = fix_open(&f, NULL, which ? NESTED : BATCH, &o, &err);
            for (int i = 0; rc == 0 && i < 8; i++)
                rc = which ? fix_row(&f, row, &err) : dc_pq_writer_write_columns(f.w, c, 200, &err);
            if (rc == 0) rc = fix_close(&f, &err);
            const bool hit = dc_alloc_count() >= n;
            dc_alloc_fail_after(0);
            if (rc == 0) {
                ok++;
                CHECK_EQ_INT(f.meta.num_rows, which ? 8 : 1600);
            } else {
                failed++;
                CHECK(rc == DC_ENOMEM || rc == DC_ELIMIT);
            }
            fix_free(&f);
            if (!hit) {  /* the whole run fitted: every allocation was failed once */
                CHECK(rc == 0);
                last += n;
                break;
            }
        }
    }
    CHECK(last > 100);
    if (getenv("DC_TEST_VERBOSE")) printf("alloc failure runs: %ld, ok %d failed %d\n", last, ok, failed);
    CHECK(failed > 50);
    CHECK(ok > 0);
    for (int i = 0; i < 3; i++) dc_pq_column_dispose(&c[i]);
}

/* ---------------------------------------------------------- sinks, metadata */

TEST(pq_writer_file_sink_and_kv)
{
    dc_err err;
    char path[64];
    snprintf(path, sizeof path, "/tmp/dc_test_pq_writer_%d.parquet", (int)getpid());
    const pq_key_value kv[] = {{"org.apache.spark.version", "3.5.0"}, {"k2", NULL}};
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.kv = kv;
    o.n_kv = 2;
    dc_pq_sink sink;
    CHECK_OK(dc_pq_sink_file_open(&sink, path, &err), &err);
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    dc_json *js;
    dc_pq_schema *s = NULL;
    CHECK_OK(dc_json_parse(&js, &a, FLAT, strlen(FLAT), &err), &err);
    CHECK_OK(dc_pq_schema_from_delta(&s, js, &err), &err);
    dc_pq_writer *w = NULL;
    CHECK_OK(dc_pq_writer_new(&w, s, &o, &sink, &err), &err);
    for (int i = 0; w && i < 100; i++) {
        char row[64];
        snprintf(row, sizeof row, "{\"id\":%d}", i);
        CHECK_OK(dc_json_parse(&js, &a, row, strlen(row), &err), &err);
        CHECK_OK(dc_pq_writer_write_json_row(w, js, &err), &err);
    }
    if (w) CHECK_OK(dc_pq_writer_close(w, &err), &err);
    CHECK_OK(dc_pq_sink_file_close(&sink, true, &err), &err);
    uint8_t *data = NULL;
    size_t n = 0;
    CHECK_OK(dc_file_read_all(&data, &n, path, 1 << 20, &err), &err);
    CHECK(w && n == dc_pq_writer_bytes_written(w));
    const pq_file_meta *m = w ? dc_pq_writer_meta(w) : NULL;
    CHECK(m && m->num_rows == 100 && m->n_kv == 2);
    pq_file_meta back;
    if (data && n > 12) {
        uint32_t flen = dc_load_le32(data + n - 8);
        CHECK_OK(flen <= n - 12 ? pq_file_meta_decode(&back, &a, data + n - 8 - flen, flen, &err) : -1,
                 &err);
        if (flen <= n - 12) {
            CHECK_EQ_INT(back.n_kv, 2);
            CHECK(back.n_kv == 2 && strcmp(back.kv[0].key, "org.apache.spark.version") == 0 &&
                  back.kv[0].value && strcmp(back.kv[0].value, "3.5.0") == 0 && !back.kv[1].value);
        }
    }
    dc_free(data);
    unlink(path);
    /* a sink that can not be created */
    CHECK(dc_pq_sink_file_open(&sink, "/nonexistent-dir/x.parquet", &err) == DC_ENOTFOUND);
    CHECK(strstr(err.msg, "/nonexistent-dir/x.parquet") != NULL);
    dc_pq_writer_free(w);
    dc_pq_schema_free(s);
    dc_arena_dispose(&a);
}

/* A sink that fails after a few writes: the writer reports it and refuses
 * further work instead of writing a broken file silently. */
static int failing_write(void *ctx, const void *p, size_t n, dc_err *err)
{
    (void)p;
    (void)n;
    int *left = ctx;
    if ((*left)-- <= 0) return dc_err_set(err, DC_EIO, "disk full (test)");
    return 0;
}

TEST(pq_writer_sink_failure)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    dc_json *js;
    dc_pq_schema *s = NULL;
    CHECK_OK(dc_json_parse(&js, &a, FLAT, strlen(FLAT), &err), &err);
    CHECK_OK(dc_pq_schema_from_delta(&s, js, &err), &err);
    int left = 0;
    dc_pq_sink sink = {.version = 1, .ctx = &left, .write = failing_write};
    dc_pq_writer *w = NULL;
    CHECK_OK(dc_pq_writer_new(&w, s, NULL, &sink, &err), &err);
    CHECK_OK(dc_json_parse(&js, &a, "{\"id\":1}", 8, &err), &err);
    if (w) {
        CHECK_OK(dc_pq_writer_write_json_row(w, js, &err), &err);
        CHECK(dc_pq_writer_close(w, &err) == DC_EIO);
        CHECK(strstr(err.msg, "disk full") != NULL);
        CHECK(dc_pq_writer_write_json_row(w, js, &err) == DC_EINVAL);
        CHECK(strstr(err.msg, "earlier write failed") != NULL);
        CHECK(dc_pq_writer_meta(w) == NULL);
    }
    dc_pq_writer_free(w);
    dc_pq_schema_free(s);
    dc_arena_dispose(&a);
}
