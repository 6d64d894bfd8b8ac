/* Fuzz target: the input as a Parquet footer (FileMetaData), a ColumnIndex
 * and an OffsetIndex. Whatever decodes must re-encode to bytes that decode
 * and re-encode to the same bytes (the codec is a fixed point after one
 * round), else abort. */
#include <stdlib.h>

#include "../src/parquet/pq_meta.h"

#define ARENA_MAX ((size_t)256 * 1024 * 1024)

/* Encodes with enc, decodes with dec, encodes again: both encodings equal. */
#define CHECK_FIXED_POINT(T, value, enc, dec)                                      \
    do {                                                                           \
        dc_buf a_, b_;                                                             \
        dc_buf_init(&a_, ARENA_MAX);                                               \
        dc_buf_init(&b_, ARENA_MAX);                                               \
        int rc_ = enc(&a_, (value), &err);                                         \
        if (rc_ == 0) {                                                            \
            T again_;                                                              \
            if (dec(&again_, &arena, a_.data, a_.len, &err) != 0) abort();         \
            if (enc(&b_, &again_, &err) != 0) abort();                             \
            if (a_.len != b_.len || memcmp(a_.data, b_.data, a_.len) != 0) abort(); \
        } else if (rc_ != DC_EINVAL && rc_ != DC_EUNSUPPORTED) {                   \
            abort();                                                               \
        }                                                                          \
        dc_buf_dispose(&a_);                                                       \
        dc_buf_dispose(&b_);                                                       \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_err err;
    dc_arena arena;
    dc_arena_init(&arena, ARENA_MAX);
    pq_file_meta m;
    if (pq_file_meta_decode(&m, &arena, data, size, &err) == 0)
        CHECK_FIXED_POINT(pq_file_meta, &m, pq_file_meta_encode, pq_file_meta_decode);
    else if (err.code >= 0 || err.msg[0] == '\0')
        abort();
    pq_column_index ci;
    if (pq_column_index_decode(&ci, &arena, data, size, &err) == 0)
        CHECK_FIXED_POINT(pq_column_index, &ci, pq_column_index_encode, pq_column_index_decode);
    pq_offset_index oi;
    if (pq_offset_index_decode(&oi, &arena, data, size, &err) == 0)
        CHECK_FIXED_POINT(pq_offset_index, &oi, pq_offset_index_encode, pq_offset_index_decode);
    dc_arena_dispose(&arena);
    return 0;
}
