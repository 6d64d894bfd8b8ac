/* Fuzzes the schema-change decoder (src/cdc/cdc_schemachange.c): the input's
 * lines are schema-change records added to one log in order (so an ALTER is
 * compared with the lists before it):
 *   - no crash; an error names its line and leaves the ops as they were;
 *   - every op has a table, a name, a position, and a rename a new name
 *     different from the old;
 *   - the whole input as a data record's schema block gives a table name
 *     or nothing (dc_cdc_envelope_table), no crash. */
#include "../src/cdc/cdc.h"

#include <stdio.h>
#include <stdlib.h>

static void check(bool ok, const char *what, const char *detail)
{
    if (!ok) {
        fprintf(stderr, "fuzz_cdc_schemachange: %s%s%s\n", what, detail ? ": " : "",
                detail ? detail : "");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_err err;
    dc_cdc_schemalog *l = NULL;
    check(dc_cdc_schemalog_new(&l, &err) == 0, "new", err.msg);
    const char *p = (const char *)data, *end = p + size;
    for (int64_t line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const size_t before = dc_cdc_schemalog_n(l);
        if (dc_cdc_schemalog_add(l, p, n, line, &err) < 0) {
            char want[48];
            snprintf(want, sizeof want, "line %lld", (long long)line);
            check(strstr(err.msg, want) != NULL, "error without its line", err.msg);
            check(dc_cdc_schemalog_n(l) >= before, "ops lost", err.msg);
        }
        p += n + (nl != NULL);
    }
    for (size_t i = 0; i < dc_cdc_schemalog_n(l); i++) {
        const dc_cdc_colop *op = dc_cdc_schemalog_op(l, i);
        check(op->table && op->from && op->pos.pos >= 0, "op without table, name or position",
              NULL);
        if (op->kind == DC_CDC_COL_RENAME)
            check(op->to && strcmp(op->to, op->from) != 0, "rename to the same name", op->from);
        else
            check(op->kind == DC_CDC_COL_DROP && !op->to, "unknown op", op->from);
    }
    dc_cdc_schemalog_free(l);
    char table[256];
    if (dc_cdc_envelope_table(table, sizeof table, (const char *)data, size, &err) == 0)
        check(strlen(table) < sizeof table, "table name overflow", NULL);
    return 0;
}
