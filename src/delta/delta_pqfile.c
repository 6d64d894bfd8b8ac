/*
 * delta: opening a table's Parquet file for reading, on any backend. Local
 * files are mapped; on an object store a large file is read sparsely: the
 * footer first, then only the column chunks the reader reads, each by range
 * on its first read. A reader of a few columns (the key index reads the key,
 * ts_ms, offset and operation_type columns of a raw table, not json_record,
 * which is most of the bytes; checkpoint replay skips stats_parsed and the
 * other columns it does not need) downloads only theirs; a reader of every
 * column (cow rewrites, cat, OPTIMIZE) gets them chunk by chunk, so a failed
 * request repeats one chunk, not the whole object. A small file is one GET:
 * a few range requests would cost more than the bytes they save.
 */
#include "delta_int.h"

/* Below this a file is one GET: a few range requests cost more than the
 * bytes they save. */
#define SPARSE_MIN_BYTES ((uint64_t)4 * 1024 * 1024)
/* The tail read first: the footer of a data file with a few row groups fits. */
#define SPARSE_TAIL_BYTES ((size_t)64 * 1024)
#define PQ_MAGIC_LEN 4

static int fetch_range(void *ctx, const char *name, uint64_t off, size_t n, uint8_t *dst,
                       dc_err *err)
{
    return dc_storage_read_range(ctx, name, off, n, dst, err);
}

/* The first 4 bytes and the footer into a buffer of the file's size. */
static int read_frame(dc_buf *hold, size_t *tail_out, dc_storage *s, const char *path,
                      uint64_t size, dc_err *err)
{
    if (size > SIZE_MAX / 2)
        return dc_err_set(err, DC_ELIMIT, "%s: %llu bytes", path, (unsigned long long)size);
    const size_t n = (size_t)size;
    size_t tail = n < SPARSE_TAIL_BYTES ? n : SPARSE_TAIL_BYTES;
    DC_TRY(dc_buf_reserve(hold, n, err));
    hold->len = n;
    DC_TRY(dc_storage_read_range(s, path, 0, PQ_MAGIC_LEN, hold->data, err));
    DC_TRY(dc_storage_read_range(s, path, n - tail, tail, hold->data + n - tail, err));
    /* The footer length sits before the final magic; the reader checks it. */
    const uint32_t flen = dc_load_le32(hold->data + n - 2 * PQ_MAGIC_LEN);
    const uint64_t need = (uint64_t)flen + 2 * PQ_MAGIC_LEN;
    if (need > tail && need <= n - PQ_MAGIC_LEN) {
        DC_TRY(dc_storage_read_range(s, path, n - need, (size_t)need - tail,
                                     hold->data + n - need, err));
        tail = (size_t)need;
    }
    *tail_out = tail;
    return 0;
}

int dc_delta_pq_open(dc_pq_reader **out, dc_buf *hold, dc_storage *s, const char *path,
                     uint64_t size, dc_err *err)
{
    *out = NULL;
    if (s->ops->local_path) {
        dc_buf lp;
        dc_buf_init(&lp, 1 << 20);
        int rc = dc_storage_local_path(s, path, &lp, err);
        if (rc == 0) rc = dc_pq_reader_open_file(out, (const char *)lp.data, err);
        dc_buf_dispose(&lp);
        return rc;
    }
    if (size == 0) DC_TRY(dc_storage_size(s, path, &size, err));
    if (size < SPARSE_MIN_BYTES || size > hold->max) {
        DC_TRY(dc_storage_read(s, path, hold, err));
        return dc_pq_reader_open_mem(out, hold->data, hold->len, path, err);
    }
    size_t tail = 0;
    DC_TRY(read_frame(hold, &tail, s, path, size, err));
    return dc_pq_reader_open_sparse(out, hold->data, hold->len, tail, path, fetch_range, s, err);
}
