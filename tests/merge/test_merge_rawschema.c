/* merge: the schemas a raw table keeps (merge_rawschema.c): a schema is
 * written once however often it comes, a change point per partition and
 * change, read back into the schema in force at an offset; a file whose
 * bytes do not hash to its name is refused. */
#include "../test.h"

#include <stdio.h>
#include <stdlib.h>

#include "../../src/merge/merge.h"
#include "../../src/storage/storage.h"

#define S1 "{\"type\":\"struct\",\"fields\":[{\"field\":\"after\",\"v\":1}]}"
#define S2 "{\"type\":\"struct\",\"fields\":[{\"field\":\"after\",\"v\":2}]}"

static void note(dc_merge_schemas *w, int32_t part, int64_t off, const char *s)
{
    dc_err err;
    dc_err_clear(&err);
    CHECK_OK(dc_merge_schemas_note(w, "t", part, off, s, s ? strlen(s) : 0, &err), &err);
}

static const char *at(const dc_merge_schema_set *set, int64_t off, uint32_t *n)
{
    uint32_t idx[4];
    *n = dc_merge_schema_set_at(idx, 4, set, off);
    return *n ? dc_merge_schema_set_get(set, idx[0])->block : NULL;
}

TEST(merge_rawschema_points_and_readback)
{
    char *dir = dc_test_tmpdir("rawschema");
    dc_err err;
    dc_err_clear(&err);
    dc_merge_schemas *w = NULL;
    CHECK_OK(dc_merge_schemas_new(&w, &err), &err);
    note(w, 0, 1, S1);
    note(w, 0, 2, S1);       /* the same: nothing new */
    note(w, 0, 3, NULL);     /* no block: goes on */
    note(w, 1, 2, S1);       /* another partition: its own change point */
    note(w, 0, 10, S2);      /* a change */
    note(w, 0, 11, S2);
    CHECK_OK(dc_merge_schemas_flush(w, dir, &err), &err);
    note(w, 0, 20, S1);      /* back: a third point, the schema file already there */
    CHECK_OK(dc_merge_schemas_flush(w, dir, &err), &err);
    CHECK_OK(dc_merge_schemas_flush(w, dir, &err), &err); /* nothing pending */
    dc_merge_schemas_free(w);

    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    dc_storage_list l;
    dc_storage_list_init(&l);
    CHECK_OK(dc_storage_list_dir(s, DC_MERGE_SCHEMAS_DIR, NULL, &l, &err), &err);
    CHECK_EQ_INT(l.n, 2 + 4); /* two schemas, four change points */
    dc_storage_list_dispose(&l);
    dc_merge_schema_set *set = NULL;
    CHECK_OK(dc_merge_schema_set_load(&set, s, &err), &err);
    CHECK_EQ_INT(dc_merge_schema_set_count(set), 2);
    uint32_t n = 0;
    CHECK(at(set, 0, &n) == NULL && n == 0);               /* before any point */
    CHECK(strcmp(at(set, 1, &n), S1) == 0 && n == 1);      /* only partition 0 started */
    CHECK(strcmp(at(set, 5, &n), S1) == 0 && n == 1);      /* both partitions agree */
    at(set, 10, &n);
    CHECK_EQ_INT(n, 2);                                    /* 0 changed, 1 did not */
    CHECK(strcmp(at(set, 25, &n), S1) == 0 && n == 1);     /* 0 went back */
    dc_merge_schema_set_free(set);

    /* a schema file whose bytes are not its name's: refused, never half-read */
    dc_buf name;
    dc_buf_init(&name, 4096);
    CHECK_OK(dc_storage_list_dir(s, DC_MERGE_SCHEMAS_DIR, NULL, &l, &err), &err);
    for (size_t i = 0; i < l.n; i++)
        if (l.entries[i].name[0] == 'S') {
            CHECK_OK(dc_buf_appendf(&name, &err, "%s/%s", DC_MERGE_SCHEMAS_DIR,
                                    l.entries[i].name), &err);
            break;
        }
    dc_storage_list_dispose(&l);
    CHECK_OK(dc_buf_putc(&name, 0, &err), &err);
    CHECK_OK(dc_storage_write(s, (const char *)name.data, "{}", 2, &err), &err);
    CHECK_EQ_INT(dc_merge_schema_set_load(&set, s, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "do not hash to its name") != NULL);
    CHECK(set == NULL);
    dc_buf_dispose(&name);
    dc_storage_free(s);
    dc_test_rm_rf(dir);
    free(dir);
}
