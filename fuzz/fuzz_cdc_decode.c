/* Fuzzes the Debezium decoder against the DOM-based reference decoder
 * (tests/cdc/cdc_ref.h), with one and with two key columns: both must
 * accept or both refuse; an accepted record's kind, op, ts_ms, before/after
 * slices (inside the input, parsed by dc_json_parse) and keys must equal the
 * reference's; a refused one must say "cdc: ... at byte N" with N inside
 * the input. The decode with a schema cache (a miss, then a hit) must say
 * exactly what the decode without one said. */
#include "../tests/cdc/cdc_ref.h"

#include <stdio.h>
#include <stdlib.h>

static void check(bool ok, const char *what, const char *detail)
{
    if (!ok) {
        fprintf(stderr, "fuzz_cdc_decode: %s%s%s\n", what, detail ? ": " : "",
                detail ? detail : "");
        abort();
    }
}

/* The error names a byte offset no larger than the input. */
static void check_position(const char *msg, size_t size)
{
    const char *at = strstr(msg, " at byte ");
    if (!at) return; /* limits and keyspec errors have no position */
    const unsigned long long byte = strtoull(at + 9, NULL, 10);
    check(byte <= size, "error offset beyond the input", msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const dc_cdc_keyspec keyspecs[2] = {{1, {"id"}}, {2, {"id", "email"}}};
    char msg[DC_ERR_MSG_MAX];
    dc_cdc_schema_cache cache;
    dc_cdc_schema_cache_init(&cache);
    for (int k = 0; k < 2; k++) {
        const char *const why =
            cdc_ref_check(&keyspecs[k], (const char *)data, size, msg, &cache);
        check(why == NULL, "decoder and reference differ", why);
        check_position(msg, size);
    }
    dc_cdc_schema_cache_dispose(&cache);
    return 0;
}
