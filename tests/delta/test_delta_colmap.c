/* Column mapping mode name as deltacdc writes it (src/delta/delta_colmap.c):
 * ids and physical names given, renames and drops by physical name, the
 * protocol of a new table, the schema change checked, the logical →
 * physical helper, and a Parquet schema with physical names and field ids. */
#include "../test.h"

#include <stdlib.h>
#include <unistd.h>

#include "../../src/delta/delta.h"
#include "../../src/json/dc_json.h"
#include "../../src/parquet/parquet.h"

static const char SCHEMA[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"note\",\"type\":\"string\",\"nullable\":true,\"metadata\":{\"x\":\"y\"}},"
    "{\"name\":\"g\",\"type\":{\"type\":\"struct\",\"fields\":["
    "{\"name\":\"wkb\",\"type\":\"binary\",\"nullable\":true,\"metadata\":{}}]},"
    "\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"gone\",\"type\":\"integer\",\"nullable\":true,\"metadata\":{}}]}";

static dc_delta_schema *parsed(const dc_buf *b)
{
    dc_err err;
    dc_delta_schema *s = NULL;
    CHECK_OK(dc_delta_schema_parse(&s, (const char *)b->data, b->len, &err), &err);
    return s;
}

TEST(delta_colmap_rewrite_gives_ids_and_edits)
{
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    int64_t max = 0;
    CHECK_OK(dc_delta_colmap_rewrite(&b, &max, SCHEMA, NULL, NULL, &err), &err);
    CHECK_EQ_INT(max, 5); /* id, note, g, g.wkb, gone */
    dc_delta_schema *s = parsed(&b);
    CHECK(s != NULL);
    if (s) {
        const dc_delta_field *note = dc_delta_schema_find(s, "note");
        CHECK(note && note->has_id && note->id == 2);
        CHECK_EQ_STR(note ? note->physical_name : NULL, "note");
        CHECK(note && dc_json_str(dc_json_get(note->metadata, "x")) != NULL); /* kept */
        const dc_delta_field *g = dc_delta_schema_find(s, "g");
        CHECK(g && g->n_children == 1 && g->children[0].has_id &&
              strcmp(g->children[0].physical_name, "wkb") == 0);
        CHECK_EQ_STR(dc_delta_colmap_physical(s, "gone"), "gone");
        CHECK(dc_delta_colmap_physical(s, "nope") == NULL);
    }
    /* rename note -> remark, drop gone: ids stay, nothing new given */
    const char *phys[] = {"note", "gone"}, *logical[] = {"remark", NULL};
    const dc_delta_colmap_edit e = {2, phys, logical};
    char *first = dc_strdup((const char *)b.data);
    CHECK_OK(dc_delta_colmap_rewrite(&b, &max, first, &e, NULL, &err), &err);
    CHECK_EQ_INT(max, 5);
    dc_delta_schema *r = parsed(&b);
    if (r) {
        CHECK(dc_delta_schema_find(r, "note") == NULL);
        CHECK(dc_delta_schema_find(r, "gone") == NULL);
        const dc_delta_field *rem = dc_delta_schema_find(r, "remark");
        CHECK(rem && rem->id == 2);
        CHECK_EQ_STR(dc_delta_colmap_physical(r, "remark"), "note");
        CHECK_EQ_INT(r->root.n_children, 3);
    }
    /* a field that lost its id (a widened column written again) takes old's */
    static const char widened[] =
        "{\"type\":\"struct\",\"fields\":[{\"name\":\"remark\",\"type\":\"string\","
        "\"nullable\":true,\"metadata\":{\"delta.columnMapping.physicalName\":\"note\"}},"
        "{\"name\":\"new\",\"type\":\"string\",\"nullable\":true,\"metadata\":"
        "{\"delta.columnMapping.physicalName\":\"col-1\"}}]}";
    CHECK_OK(dc_delta_colmap_rewrite(&b, &max, widened, NULL, r, &err), &err);
    dc_delta_schema *w = parsed(&b);
    if (w) {
        CHECK_EQ_INT(dc_delta_schema_find(w, "remark")->id, 2);
        CHECK_EQ_INT(dc_delta_schema_find(w, "new")->id, 6);
        CHECK_EQ_STR(dc_delta_colmap_physical(w, "new"), "col-1");
    }
    /* the Parquet schema of data files: physical names and field ids */
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    dc_json *doc = NULL;
    dc_pq_schema *ps = NULL;
    CHECK_OK(dc_json_parse(&doc, &a, (const char *)b.data, b.len, &err), &err);
    CHECK_OK(dc_pq_schema_from_delta(&ps, doc, &err), &err);
    if (ps) {
        CHECK_EQ_STR(ps->root.children[0].name, "note");
        CHECK(ps->root.children[0].has_field_id && ps->root.children[0].field_id == 2);
        CHECK_EQ_STR(ps->root.children[1].name, "col-1");
    }
    dc_pq_schema_free(ps);
    dc_arena_dispose(&a);
    dc_delta_schema_free(s);
    dc_delta_schema_free(r);
    dc_delta_schema_free(w);
    dc_free(first);
    dc_buf_dispose(&b);
}

/* A new table with mode name; a tx renaming and dropping, and the refusals. */
TEST(delta_colmap_table_and_schema_change)
{
    dc_err err;
    char dir[] = "/tmp/dc_colmap_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    int64_t max = 0;
    CHECK_OK(dc_delta_colmap_rewrite(&b, &max, SCHEMA, NULL, NULL, &err), &err);
    char maxs[24];
    snprintf(maxs, sizeof maxs, "%lld", (long long)max);
    const dc_delta_kv conf[] = {{"delta.columnMapping.mode", "name"},
                                {"delta.columnMapping.maxColumnId", maxs}};
    dc_delta_create_opts o = {(const char *)b.data, 0, NULL, 2, conf, false, NULL, NULL};
    CHECK_OK(dc_delta_table_create(s, &o, &err), &err);
    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    if (!snap) goto out;
    CHECK_EQ_INT(dc_delta_snapshot_protocol(snap)->min_reader_version, 2);
    CHECK_EQ_INT(dc_delta_snapshot_protocol(snap)->min_writer_version, 5);
    const char *phys[] = {"note", "gone"}, *logical[] = {"remark", NULL};
    const dc_delta_colmap_edit e = {2, phys, logical};
    dc_buf nb;
    dc_buf_init(&nb, 1 << 20);
    CHECK_OK(dc_delta_colmap_rewrite(&nb, &max, (const char *)b.data, &e, NULL, &err), &err);
    dc_delta_tx *tx = NULL;
    CHECK_OK(dc_delta_tx_new(&tx, snap, "WRITE", &err), &err);
    /* maxColumnId may not go down; the plain evolution refuses a rename */
    CHECK_EQ_INT(dc_delta_tx_set_schema_mapped(tx, (const char *)nb.data, 1, false, &err),
                 DC_EINVAL);
    CHECK_EQ_INT(dc_delta_tx_set_schema(tx, (const char *)nb.data, &err), DC_EINVAL);
    /* a column that keeps its physical name but changes its id */
    static const char bad_id[] =
        "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,"
        "\"metadata\":{\"delta.columnMapping.id\":9,\"delta.columnMapping.physicalName\":"
        "\"id\"}}]}";
    CHECK_EQ_INT(dc_delta_tx_set_schema_mapped(tx, bad_id, 9, false, &err), DC_EINVAL);
    CHECK_OK(dc_delta_tx_set_schema_mapped(tx, (const char *)nb.data, max, false, &err), &err);
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_commit(&v, tx, &err), &err);
    dc_delta_tx_free(tx);
    CHECK_OK(dc_delta_snapshot_update(snap, -1, &err), &err);
    const dc_delta_schema *sc = NULL;
    CHECK_OK(dc_delta_snapshot_schema(&sc, snap, &err), &err);
    CHECK_EQ_STR(sc ? dc_delta_colmap_physical(sc, "remark") : NULL, "note");
    CHECK(sc && dc_delta_schema_find(sc, "gone") == NULL);
    int64_t got = 0;
    CHECK_OK(dc_delta_colmap_max_id(&got, dc_delta_snapshot_metadata(snap), &err), &err);
    CHECK_EQ_INT(got, max);
    dc_delta_snapshot_free(snap);
    dc_buf_dispose(&nb);
out:
    dc_buf_dispose(&b);
    dc_storage_free(s);
    dc_test_rm_rf(dir);
}
