/* Fuzz target: the Parquet reader on arbitrary bytes. Opens the input as a
 * file in memory, reads every column of every row group, then every row
 * group as JSON rows (all fields, and every other top-level field). */
#include <stdlib.h>

#include "../src/parquet/parquet.h"

/* Values a legitimate file may ask for (a 2 GiB chunk) would only make the
 * fuzzer report out-of-memory; cap what one input may decode. */
#define FUZZ_MAX_VALUES ((int64_t)4 << 20)
#define FUZZ_MAX_BYTES ((size_t)64 << 20)

/* Reads every column with a capped buffer; false when one failed or the
 * footer claims more values than the fuzzer lets an input decode. */
static bool read_columns(dc_pq_reader *r)
{
    const pq_file_meta *m = dc_pq_reader_meta(r);
    const dc_pq_schema *s = dc_pq_reader_schema(r);
    dc_pq_column col;
    dc_err err;
    bool ok = true;
    for (uint32_t g = 0; g < m->n_row_groups && ok; g++)
        for (uint32_t l = 0; l < s->n_leaves && ok; l++)
            ok = m->row_groups[g].columns[l].meta_data.num_values <= FUZZ_MAX_VALUES &&
                 m->row_groups[g].num_rows <= FUZZ_MAX_VALUES;
    dc_pq_column_init(&col);
    col.values.max = FUZZ_MAX_BYTES;
    for (uint32_t g = 0; g < m->n_row_groups && ok; g++)
        for (uint32_t l = 0; l < s->n_leaves && ok; l++)
            ok = dc_pq_reader_read_column(&col, r, g, l, &err) == 0;
    for (uint32_t g = 0; g < m->n_row_groups; g++)
        for (uint32_t l = 0; l < s->n_leaves; l++) {
            dc_pq_stats st;
            (void)dc_pq_reader_stats(&st, r, g, l, &err);
            (void)dc_pq_reader_rg_may_contain_i64(r, g, l, -5, 5);
            (void)dc_pq_reader_rg_may_contain_bytes(r, g, l, (const uint8_t *)"a", 1,
                                                    (const uint8_t *)"m", 1);
        }
    dc_pq_column_dispose(&col);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_pq_reader *r = NULL;
    dc_err err;
    if (dc_pq_reader_open_mem(&r, data, size, "fuzz.parquet", &err) != 0) return 0;
    if (read_columns(r)) {
        const pq_file_meta *m = dc_pq_reader_meta(r);
        uint32_t n = dc_pq_reader_schema(r)->root.n_children;
        bool *proj = calloc(n ? n : 1, 1);
        for (uint32_t i = 0; proj && i < n; i += 2) proj[i] = true;
        dc_buf out;
        dc_buf_init(&out, FUZZ_MAX_BYTES);
        for (uint32_t g = 0; g < m->n_row_groups; g++) {
            dc_buf_reset(&out);
            (void)dc_pq_reader_rows_json(&out, r, g, NULL, &err);
            dc_buf_reset(&out);
            (void)dc_pq_reader_rows_json(&out, r, g, proj, &err);
        }
        dc_buf_dispose(&out);
        free(proj);
    }
    dc_pq_reader_free(r);
    return 0;
}
