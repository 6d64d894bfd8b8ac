/* Fuzzes the column-by-column checkpoint reader (add/remove rows straight
 * from levels and values): any Parquet input reads or fails cleanly; the
 * actions it yields must be well formed, and replaying them through the
 * reconciliation table must succeed. */
#include "../src/delta/delta_int.h"

#include <stdio.h>
#include <stdlib.h>

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_delta_checkpoint: %s\n", what);
        abort();
    }
}

static int on_action(void *ctx, const dc_delta_action *a, dc_err *err)
{
    file_table *ft = ctx;
    check(a->type == DC_DELTA_ACTION_ADD || a->type == DC_DELTA_ACTION_REMOVE, "not a file action");
    const bool add = a->type == DC_DELTA_ACTION_ADD;
    const char *path = add ? a->u.add.path : a->u.remove.path;
    const dc_delta_map *pv = add ? &a->u.add.partition_values : &a->u.remove.partition_values;
    check(path != NULL, "file action without a path");
    for (uint32_t i = 0; i < pv->n; i++) check(pv->items[i].key != NULL, "map entry without key");
    if (add) check(a->u.add.size >= 0, "negative size");
    const dc_delta_dv_desc *dv = add ? (a->u.add.has_dv ? &a->u.add.dv : NULL)
                                     : (a->u.remove.has_dv ? &a->u.remove.dv : NULL);
    if (dv) check(strchr("uip", dv->storage_type) && dv->path_or_inline && dv->cardinality >= 0,
                  "malformed DV descriptor");
    return dc_delta_ft_apply(ft, a, 0, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_err err;
    dc_pq_reader *r = NULL;
    if (dc_pq_reader_open_mem(&r, data, size, "fuzz.checkpoint.parquet", &err) != 0) return 0;
    file_table ft;
    dc_delta_ft_init(&ft);
    int rc = dc_delta_cp_files(r, "fuzz.checkpoint.parquet", on_action, &ft, &err);
    check(rc == 0 || err.msg[0] != '\0', "failure without a message");
    size_t n = 0;
    for (size_t i = 0; i < ft.cap; i++) n += ft.slots[i].e != NULL;
    check(n == ft.n, "file table count is off");
    dc_delta_ft_dispose(&ft);
    dc_pq_reader_free(r);
    return 0;
}
