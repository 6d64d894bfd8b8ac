/* Fuzzes the deletion-vector decoder (RoaringBitmapArray: portable and
 * native layouts, through libroaring): any input decodes or fails cleanly.
 * A decoded set must be ascending with as many rows as its cardinality, and
 * encoding it then decoding again gives the same rows. The input is also
 * tried as Z85 text of an inline DV. */
#include "../src/delta/delta_int.h"

#include <stdio.h>
#include <stdlib.h>

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_delta_dv: %s\n", what);
        abort();
    }
}

static void decode_and_check(const uint8_t *p, size_t n)
{
    dc_err err;
    dc_delta_dv *dv = NULL;
    if (dc_delta_dv_decode(&dv, p, n, &err) != 0) {
        check(dv == NULL, "failed decode returned a DV");
        return;
    }
    uint64_t *rows = NULL, *back_rows = NULL;
    size_t nr = 0, nb = 0;
    if (dc_delta_dv_to_array(&rows, &nr, dv, &err) != 0) {  /* over the row limit */
        dc_delta_dv_free(dv);
        return;
    }
    check(nr == dc_delta_dv_cardinality(dv), "array length differs from the cardinality");
    for (size_t i = 0; i < nr; i++) {
        check(i == 0 || rows[i - 1] < rows[i], "rows are not ascending");
        check(dc_delta_dv_contains(dv, rows[i]), "a listed row is not contained");
        check(i + 1 == nr || rows[i] + 1 == rows[i + 1] || !dc_delta_dv_contains(dv, rows[i] + 1),
              "a row between listed rows is contained");
    }
    dc_buf enc;
    dc_buf_init(&enc, DC_DELTA_MAX_DV_BYTES);
    check(dc_delta_dv_encode(&enc, dv, &err) == 0, "encode failed");
    dc_delta_dv *back = NULL;
    check(dc_delta_dv_decode(&back, enc.data, enc.len, &err) == 0, "re-decode failed");
    check(dc_delta_dv_to_array(&back_rows, &nb, back, &err) == 0, "re-decoded array failed");
    check(nb == nr && (nr == 0 || memcmp(rows, back_rows, nr * sizeof *rows) == 0),
          "encode/decode changed the rows");
    dc_free(rows);
    dc_free(back_rows);
    dc_buf_dispose(&enc);
    dc_delta_dv_free(back);
    dc_delta_dv_free(dv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_and_check(data, size);
    /* as an inline DV: Z85 text of the bitmap */
    dc_err err;
    dc_buf raw;
    dc_buf_init(&raw, DC_DELTA_MAX_DV_BYTES);
    if (size % 5 == 0 && dc_z85_decode(&raw, (const char *)data, size, &err) == 0) {
        dc_buf z;
        dc_buf_init(&z, (size_t)1 << 30);
        check(dc_z85_encode(&z, raw.data, raw.len, &err) == 0, "z85 encode failed");
        check(z.len == size && (size == 0 || memcmp(z.data, data, size) == 0),
              "z85 does not round-trip");
        dc_buf_dispose(&z);
        decode_and_check(raw.data, raw.len);
    }
    dc_buf_dispose(&raw);
    return 0;
}
