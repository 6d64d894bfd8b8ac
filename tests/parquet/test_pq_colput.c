/* dc_pq_column_put_json (the bootstrap's columns) and the dictionary's early
 * give-up (PQ_DICT_SAMPLE): files written from such columns are byte for
 * byte the files written from the same JSON rows. */
#include "../test.h"
#include "../../src/parquet/pq_wr_int.h"

#include <stdio.h>

#define FLD(name, type, nullable) \
    "{\"name\":\"" name "\",\"type\":" type ",\"nullable\":" nullable ",\"metadata\":{}}"

static const char *ALL = "{\"type\":\"struct\",\"fields\":["
    FLD("id", "\"long\"", "false") "," FLD("i", "\"integer\"", "true") ","
    FLD("s", "\"string\"", "true") "," FLD("c", "\"decimal(12,2)\"", "true") ","
    FLD("w", "\"decimal(38,10)\"", "true") "," FLD("d", "\"date\"", "true") ","
    FLD("t", "\"timestamp\"", "true") "," FLD("n", "\"timestamp_ntz\"", "true") ","
    FLD("x", "\"double\"", "true") "," FLD("b", "\"boolean\"", "true") "]}";

static const char *ROWS[] = {
    "{\"id\":1,\"i\":2147483647,\"s\":\"q \\\" b \\\\ \\u0000 \\u00e9\",\"c\":\"-12.50\","
    "\"w\":\"9999999999999999999999999999.9999999999\",\"d\":\"2024-02-29\","
    "\"t\":\"2024-01-01T00:00:00.000001Z\",\"n\":\"9999-12-31T23:59:59.999999\",\"x\":0.25,"
    "\"b\":true}",
    "{\"id\":-9223372036854775808,\"i\":null,\"s\":null,\"c\":null,\"w\":null,\"d\":null,"
    "\"t\":null,\"n\":null,\"x\":null,\"b\":null}",
    "{\"id\":9223372036854775807,\"i\":-2147483648,\"s\":\"\",\"c\":\"0.01\",\"w\":\"-1\","
    "\"d\":\"0001-01-01\",\"t\":\"1970-01-01T00:00:00Z\",\"n\":\"1000-01-01T00:00:00\","
    "\"x\":-1.7976931348623157e308,\"b\":false}",
};
#define N_ROWS (sizeof ROWS / sizeof ROWS[0])

typedef struct out {
    dc_buf file;
    dc_pq_sink sink;
    dc_pq_writer *w;
} out;

static int open_out(out *o, const dc_pq_schema *s, dc_err *err)
{
    memset(o, 0, sizeof *o);
    dc_buf_init(&o->file, (size_t)1 << 30);
    dc_pq_sink_mem_init(&o->sink, &o->file);
    return dc_pq_writer_new(&o->w, s, NULL, &o->sink, err);
}

static void free_out(out *o)
{
    dc_pq_writer_free(o->w);
    dc_buf_dispose(&o->file);
}

static int schema_of(dc_pq_schema **s, dc_arena *a, const char *json, dc_err *err)
{
    dc_json *js = NULL;
    DC_TRY(dc_json_parse(&js, a, json, strlen(json), err));
    return dc_pq_schema_from_delta(s, js, err);
}

/* Each row's members put into the columns of its leaves. */
static int put_rows(dc_pq_column *cols, const dc_pq_schema *s, dc_arena *a, const char **rows,
                    size_t n, dc_err *err)
{
    for (size_t r = 0; r < n; r++) {
        dc_json *row = NULL;
        DC_TRY(dc_json_parse(&row, a, rows[r], strlen(rows[r]), err));
        for (uint32_t l = 0; l < s->n_leaves; l++) {
            const dc_json *v = dc_json_get(row, s->leaves[l].path[0]);
            DC_TRY(dc_pq_column_put_json(&cols[l], &s->leaves[l],
                                         v && v->type != DC_JSON_NULL ? v : NULL, err));
        }
    }
    return 0;
}

TEST(pq_column_put_json_equals_rows)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, (size_t)1 << 26);
    dc_pq_schema *s = NULL;
    CHECK_OK(schema_of(&s, &a, ALL, &err), &err);
    if (!s) return;
    out byrow, bycol;
    CHECK_OK(open_out(&byrow, s, &err), &err);
    CHECK_OK(open_out(&bycol, s, &err), &err);
    for (size_t r = 0; r < N_ROWS; r++) {
        dc_json *row = NULL;
        CHECK_OK(dc_json_parse(&row, &a, ROWS[r], strlen(ROWS[r]), &err), &err);
        CHECK_OK(dc_pq_writer_write_json_row(byrow.w, row, &err), &err);
    }
    dc_pq_column cols[10];
    CHECK_EQ_INT(s->n_leaves, 10);
    for (int i = 0; i < 10; i++) dc_pq_column_init(&cols[i]);
    CHECK_OK(put_rows(cols, s, &a, ROWS, N_ROWS, &err), &err);
    CHECK_EQ_INT(cols[0].n_levels, N_ROWS);
    CHECK_EQ_INT(cols[2].n_values, 2); /* one null */
    CHECK_OK(dc_pq_writer_write_columns(bycol.w, cols, N_ROWS, &err), &err);
    CHECK_OK(dc_pq_writer_close(byrow.w, &err), &err);
    CHECK_OK(dc_pq_writer_close(bycol.w, &err), &err);
    CHECK(byrow.file.len > 100 && byrow.file.len == bycol.file.len &&
          memcmp(byrow.file.data, bycol.file.data, byrow.file.len) == 0);

    /* refusals leave the column as it was: a value out of range, a null in a
     * required leaf, a malformed date */
    const size_t lv = cols[1].n_levels, vl = cols[1].values.len;
    dc_json big = {.type = DC_JSON_NUMBER, .len = 10, .u.str = "2147483648"};
    CHECK(dc_pq_column_put_json(&cols[1], &s->leaves[1], &big, &err) == DC_EINVAL);
    CHECK(strstr(err.msg, "an int") != NULL);
    CHECK_EQ_INT(cols[1].n_levels, lv);
    CHECK_EQ_INT(cols[1].values.len, vl);
    CHECK(dc_pq_column_put_json(&cols[0], &s->leaves[0], NULL, &err) < 0);
    CHECK_EQ_INT(cols[0].n_levels, N_ROWS);
    dc_json latin1 = {.type = DC_JSON_STRING, .len = 3, .u.str = "a\xe9" "b"};
    const size_t sl = cols[2].n_levels;
    CHECK(dc_pq_column_put_json(&cols[2], &s->leaves[2], &latin1, &err) == DC_EINVAL);
    CHECK(strstr(err.msg, "UTF-8") != NULL);
    CHECK_EQ_INT(cols[2].n_levels, sl);
    dc_json bad = {.type = DC_JSON_STRING, .len = 10, .u.str = "2024-02-30"};
    CHECK(dc_pq_column_put_json(&cols[5], &s->leaves[5], &bad, &err) < 0);
    CHECK_EQ_INT(cols[5].n_levels, N_ROWS);
    for (int i = 0; i < 10; i++) dc_pq_column_dispose(&cols[i]);
    free_out(&byrow);
    free_out(&bycol);
    dc_pq_schema_free(s);
    dc_arena_dispose(&a);
}

/* Whether the file's first column chunk has a dictionary page. */
static bool first_chunk_dict(const dc_pq_reader *r)
{
    return dc_pq_reader_meta(r)->row_groups[0].columns[0].meta_data.has_dictionary_page_offset;
}

/* A column of distinct values for its first PQ_DICT_SAMPLE values is written
 * PLAIN even when later repeats would have made a dictionary pay; one that
 * repeats within them keeps its dictionary. */
TEST(pq_writer_dictionary_given_up_early)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, (size_t)1 << 26);
    dc_pq_schema *s = NULL;
    CHECK_OK(schema_of(&s, &a, "{\"type\":\"struct\",\"fields\":[" FLD("s", "\"string\"", "false")
                       "]}", &err), &err);
    if (!s) return;
    for (int repeat_early = 0; repeat_early < 2; repeat_early++) {
        const size_t n = 200000;
        dc_pq_column c;
        dc_pq_column_init(&c);
        for (size_t i = 0; i < n; i++) {
            char v[32];
            const size_t k = i < 16400 ? (repeat_early ? i % 1000 : i) : 7;
            const int len = snprintf(v, sizeof v, "v%zu", k);
            dc_json j = {.type = DC_JSON_STRING, .len = (uint32_t)len, .u.str = v};
            CHECK_OK(dc_pq_column_put_json(&c, &s->leaves[0], &j, &err), &err);
        }
        out o;
        CHECK_OK(open_out(&o, s, &err), &err);
        CHECK_OK(dc_pq_writer_write_columns(o.w, &c, n, &err), &err);
        CHECK_OK(dc_pq_writer_close(o.w, &err), &err);
        dc_pq_reader *r = NULL;
        CHECK_OK(dc_pq_reader_open_mem(&r, o.file.data, o.file.len, "dict", &err), &err);
        if (r) {
            CHECK(first_chunk_dict(r) == (repeat_early == 1));
            dc_pq_column back;
            dc_pq_column_init(&back);
            CHECK_OK(dc_pq_reader_read_column(&back, r, 0, 0, &err), &err);
            CHECK_EQ_INT(back.n_values, n);
            CHECK(back.values.len == c.values.len &&
                  memcmp(back.values.data, c.values.data, c.values.len) == 0);
            dc_pq_column_dispose(&back);
        }
        dc_pq_reader_free(r);
        free_out(&o);
        dc_pq_column_dispose(&c);
    }
    dc_pq_schema_free(s);
    dc_arena_dispose(&a);
}
