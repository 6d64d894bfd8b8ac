/* delta write: checkpoint add/remove rows written column by column from the
 * structs (delta_checkpoint_cols.c) read back exactly as the same rows
 * written as JSON through the Parquet writer's JSON-row path. */
#include "../test.h"

#include <stdio.h>

#include "../../src/delta/delta_write_int.h"

#define N_ROWS 9000 /* more than one staging slice */

static dc_delta_kv PV[] = {{"p", "a/b \"q\""}, {"q", NULL}};
static dc_delta_kv TAGS[] = {{"INSERTION_TIME", "1700000000000000"}};

/* Row i: an add or a remove, with every optional member present or absent
 * in turn. `s` holds the strings. */
static void make_action(dc_delta_action *a, int i, char *s, size_t n)
{
    memset(a, 0, sizeof *a);
    snprintf(s, n, "part-%05d-\xc3\xa9.parquet", i);
    dc_delta_dv_desc dv = {i % 2 ? 'u' : 'i', i % 2 ? "ab^-aqEH.-t@S}K{vb[*k^" : "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L",
                           i % 2 == 1, i % 2 ? 1 + i : 0, 34 + i % 7, i % 50, i % 3 == 0, i};
    if (i % 3) {
        a->type = DC_DELTA_ACTION_ADD;
        dc_delta_add *x = &a->u.add;
        x->path = s;
        x->partition_values = (dc_delta_map){(uint32_t)(i % 3), PV};
        x->size = 1000 + i;
        x->modification_time = 1700000000000LL + i;
        x->stats = i % 4 ? "{\"numRecords\":3,\"minValues\":{\"id\":1}}" : NULL;
        x->tags = (dc_delta_map){i % 5 == 0, TAGS};
        x->has_dv = i % 2 == 1 || i % 7 == 0;
        x->dv = dv;
        x->has_base_row_id = i % 4 == 1;
        x->base_row_id = i * 10;
        x->has_default_row_commit_version = i % 4 == 1;
        x->default_row_commit_version = i;
        x->clustering_provider = i % 11 == 0 ? "liquid" : NULL;
    } else {
        a->type = DC_DELTA_ACTION_REMOVE;
        dc_delta_remove *x = &a->u.remove;
        x->path = s;
        x->has_deletion_timestamp = i % 2 == 0;
        x->deletion_timestamp = 1700000000000LL - i;
        x->data_change = i % 5 == 0;
        x->extended_file_metadata = i % 4 == 0;
        x->partition_values = (dc_delta_map){(uint32_t)(i % 3), PV};
        x->has_size = i % 6 != 3;
        x->size = 5000 + i;
        x->has_dv = i % 2 == 0;
        x->dv = dv;
        x->has_base_row_id = i % 8 == 0;
        x->base_row_id = i;
        x->has_default_row_commit_version = i % 8 == 0;
        x->default_row_commit_version = i + 1;
    }
}

/* The rows of every row group of a Parquet file in memory, as JSON lines. */
static void rows_of(dc_buf *out, const dc_buf *file, dc_err *err)
{
    dc_pq_reader *r = NULL;
    CHECK_OK(dc_pq_reader_open_mem(&r, file->data, file->len, "cp", err), err);
    for (uint32_t rg = 0; r && rg < dc_pq_reader_meta(r)->n_row_groups; rg++)
        CHECK_OK(dc_pq_reader_rows_json(out, r, rg, NULL, err), err);
    dc_pq_reader_free(r);
}

/* Writes N_ROWS rows (a protocol row first) one way or the other. */
static void write_file(dc_buf *file, const dc_pq_schema *schema, bool columns, dc_err *err)
{
    dc_pq_sink sink;
    dc_pq_sink_mem_init(&sink, file);
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.codec = PQ_CODEC_SNAPPY;
    o.row_group_bytes = 256 * 1024; /* several row groups, slices across them */
    dc_pq_writer *pw = NULL;
    dc_delta_cp_cols *cols = NULL;
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    dc_buf line;
    dc_buf_init(&line, 1 << 20);
    CHECK_OK(dc_pq_writer_new(&pw, schema, &o, &sink, err), err);
    if (columns) CHECK_OK(dc_delta_cp_cols_new(&cols, pw, schema, err), err);
    const char *feats[] = {"deletionVectors"};
    dc_delta_action act = {.type = DC_DELTA_ACTION_PROTOCOL};
    act.u.protocol = (dc_delta_protocol){3, 7, true, 1, feats, true, 1, feats};
    for (int i = -1; pw && i < N_ROWS; i++) {
        char s[64];
        if (i >= 0) make_action(&act, i, s, sizeof s);
        dc_json *row = NULL;
        if (columns && i >= 0) {
            if (act.type == DC_DELTA_ACTION_ADD) CHECK_OK(dc_delta_cp_cols_add(cols, &act.u.add, err), err);
            else CHECK_OK(dc_delta_cp_cols_remove(cols, &act.u.remove, err), err);
            continue;
        }
        line.len = 0;
        dc_arena_reset(&a);
        CHECK_OK(dc_delta_w_checkpoint_row_json(&line, &act, err), err);
        CHECK_OK(dc_json_parse(&row, &a, (const char *)line.data, line.len, err), err);
        CHECK_OK(dc_pq_writer_write_json_row(pw, row, err), err);
    }
    if (cols) CHECK_OK(dc_delta_cp_cols_flush(cols, err), err);
    CHECK_OK(dc_pq_writer_close(pw, err), err);
    dc_delta_cp_cols_free(cols);
    dc_pq_writer_free(pw);
    dc_buf_dispose(&line);
    dc_arena_dispose(&a);
}

TEST(delta_checkpoint_cols_same_rows_as_json)
{
    dc_err err;
    dc_err_clear(&err);
    dc_arena sa;
    dc_arena_init(&sa, 1 << 20);
    dc_json *doc = NULL;
    dc_pq_schema *schema = NULL;
    const char *text = dc_delta_w_checkpoint_schema();
    CHECK_OK(dc_json_parse(&doc, &sa, text, strlen(text), &err), &err);
    CHECK_OK(dc_pq_schema_from_delta(&schema, doc, &err), &err);
    dc_buf fj, fc, rj, rc;
    dc_buf_init(&fj, (size_t)1 << 30);
    dc_buf_init(&fc, (size_t)1 << 30);
    dc_buf_init(&rj, (size_t)1 << 30);
    dc_buf_init(&rc, (size_t)1 << 30);
    if (schema) {
        write_file(&fj, schema, false, &err);
        write_file(&fc, schema, true, &err);
        rows_of(&rj, &fj, &err);
        rows_of(&rc, &fc, &err);
    }
    CHECK(rj.len > (size_t)N_ROWS * 50);
    CHECK_EQ_INT(rj.len, rc.len);
    CHECK(rj.len == rc.len && memcmp(rj.data, rc.data, rj.len) == 0);
    if (rj.len != rc.len || memcmp(rj.data, rc.data, rj.len)) {
        size_t i = 0;
        while (i < rj.len && i < rc.len && rj.data[i] == rc.data[i]) i++;
        size_t from = i > 200 ? i - 200 : 0;
        fprintf(stderr, "first difference at byte %zu:\njson: %.400s\ncols: %.400s\n", i,
                (const char *)rj.data + from, (const char *)rc.data + from);
    }
    dc_buf_dispose(&fj);
    dc_buf_dispose(&fc);
    dc_buf_dispose(&rj);
    dc_buf_dispose(&rc);
    dc_pq_schema_free(schema);
    dc_arena_dispose(&sa);
}

/* A schema whose add column lacks a member the rows fill is refused. */
TEST(delta_checkpoint_cols_schema_drift)
{
    dc_err err;
    dc_err_clear(&err);
    dc_arena sa;
    dc_arena_init(&sa, 1 << 16);
    static const char text[] =
        "{\"type\":\"struct\",\"fields\":[{\"name\":\"add\",\"type\":{\"type\":\"struct\","
        "\"fields\":[{\"name\":\"path\",\"type\":\"string\",\"nullable\":true,"
        "\"metadata\":{}}]},\"nullable\":true,\"metadata\":{}}]}";
    dc_json *doc = NULL;
    dc_pq_schema *schema = NULL;
    CHECK_OK(dc_json_parse(&doc, &sa, text, strlen(text), &err), &err);
    CHECK_OK(dc_pq_schema_from_delta(&schema, doc, &err), &err);
    dc_delta_cp_cols *cols = NULL;
    CHECK(dc_delta_cp_cols_new(&cols, NULL, schema, &err) == DC_EINTERNAL);
    CHECK(cols == NULL && strstr(err.msg, "add/remove") != NULL);
    dc_pq_schema_free(schema);
    dc_arena_dispose(&sa);
}
