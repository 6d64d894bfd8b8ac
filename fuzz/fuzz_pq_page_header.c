/* Fuzz target: the input as a Parquet page header followed by page bytes.
 * A decoded header must report a consumed size within the input and must
 * re-encode to bytes that decode and re-encode identically, else abort. */
#include <stdlib.h>

#include "../src/parquet/pq_meta.h"

#define ARENA_MAX ((size_t)64 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_err err;
    dc_arena arena;
    dc_arena_init(&arena, ARENA_MAX);
    pq_page_header h, again;
    size_t used = 0, used2 = 0;
    dc_buf a, b;
    dc_buf_init(&a, ARENA_MAX);
    dc_buf_init(&b, ARENA_MAX);
    if (pq_page_header_decode(&h, &used, &arena, data, size, &err) == 0) {
        if (used == 0 || used > size) abort();
        if (pq_page_header_encode(&a, &h, &err) != 0) abort();
        if (pq_page_header_decode(&again, &used2, &arena, a.data, a.len, &err) != 0) abort();
        if (used2 != a.len) abort();
        if (pq_page_header_encode(&b, &again, &err) != 0) abort();
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) abort();
        if (again.type != h.type || again.compressed_page_size != h.compressed_page_size ||
            again.uncompressed_page_size != h.uncompressed_page_size)
            abort();
    } else if (err.code >= 0 || err.msg[0] == '\0') {
        abort();
    }
    dc_buf_dispose(&a);
    dc_buf_dispose(&b);
    dc_arena_dispose(&arena);
    return 0;
}
