/* delta write: a checkpoint written by us and read back by our read side,
 * with the JSON commits it covers deleted, gives the same snapshot. */
#include "../test.h"

#include <stdlib.h>
#include <unistd.h>

#include "../../src/delta/delta.h"

static const char SCHEMA[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}";

static void add_rows(dc_delta_snapshot *snap, int first, int n, dc_err *err)
{
    dc_delta_file_writer *fw = NULL;
    dc_delta_tx *tx = NULL;
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_new(&tx, snap, "WRITE", err), err);
    CHECK_OK(dc_delta_tx_set_txn(tx, "app", first, err), err);
    CHECK_OK(dc_delta_file_writer_new(&fw, snap, NULL, err), err);
    for (int i = first; fw && i < first + n; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"id\":%d,\"p\":%s}", i,
                 i % 3 == 0 ? "null" : i % 3 == 1 ? "\"a\"" : "\"b/c\"");
        dc_json *row = NULL;
        dc_arena_reset(&a);
        CHECK_OK(dc_json_parse(&row, &a, line, strlen(line), err), err);
        CHECK_OK(dc_delta_file_writer_write_row(fw, row, err), err);
    }
    CHECK_OK(dc_delta_file_writer_finish(fw, tx, err), err);
    CHECK_OK(dc_delta_tx_commit(&v, tx, err), err);
    dc_delta_file_writer_free(fw);
    dc_delta_tx_free(tx);
    dc_arena_dispose(&a);
    CHECK_OK(dc_delta_snapshot_update(snap, -1, err), err);
}

static const dc_delta_add *by_path(dc_delta_snapshot *s, const char *path)
{
    for (size_t i = 0; i < dc_delta_snapshot_n_files(s); i++)
        if (strcmp(dc_delta_snapshot_file(s, i)->path, path) == 0)
            return dc_delta_snapshot_file(s, i);
    return NULL;
}

/* Files, their DVs and stats, txns, protocol and metadata agree. */
static void same_snapshot(dc_delta_snapshot *x, dc_delta_snapshot *y)
{
    CHECK_EQ_INT(dc_delta_snapshot_version(x), dc_delta_snapshot_version(y));
    CHECK_EQ_INT(dc_delta_snapshot_n_files(x), dc_delta_snapshot_n_files(y));
    for (size_t i = 0; i < dc_delta_snapshot_n_files(x); i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(x, i);
        const dc_delta_add *b = by_path(y, a->path);
        CHECK(b != NULL);
        if (!b) continue;
        CHECK_EQ_INT(a->size, b->size);
        CHECK_EQ_STR(a->stats, b->stats);
        CHECK_EQ_INT(a->partition_values.n, b->partition_values.n);
        bool f1 = false, f2 = false;
        const char *v1 = dc_delta_map_get(&a->partition_values, "p", &f1);
        const char *v2 = dc_delta_map_get(&b->partition_values, "p", &f2);
        CHECK(f1 && f2 && ((!v1 && !v2) || (v1 && v2 && strcmp(v1, v2) == 0)));
        CHECK_EQ_INT(a->has_dv, b->has_dv);
        if (a->has_dv && b->has_dv) {
            CHECK_EQ_STR(a->dv.path_or_inline, b->dv.path_or_inline);
            CHECK_EQ_INT(a->dv.offset, b->dv.offset);
            CHECK_EQ_INT(a->dv.cardinality, b->dv.cardinality);
        }
    }
    CHECK_EQ_INT(dc_delta_snapshot_n_tombstones(x), dc_delta_snapshot_n_tombstones(y));
    int64_t t1 = -1, t2 = -2;
    CHECK_OK(dc_delta_snapshot_txn_version(&t1, x, "app"), &(dc_err){0});
    CHECK_OK(dc_delta_snapshot_txn_version(&t2, y, "app"), &(dc_err){0});
    CHECK_EQ_INT(t1, t2);
    const dc_delta_protocol *p1 = dc_delta_snapshot_protocol(x), *p2 = dc_delta_snapshot_protocol(y);
    CHECK_EQ_INT(p1->min_reader_version, p2->min_reader_version);
    CHECK_EQ_INT(p1->n_writer_features, p2->n_writer_features);
    CHECK_EQ_STR(dc_delta_snapshot_metadata(x)->id, dc_delta_snapshot_metadata(y)->id);
    CHECK_EQ_STR(dc_delta_snapshot_metadata(x)->schema_string,
                 dc_delta_snapshot_metadata(y)->schema_string);
}

TEST(delta_write_checkpoint_round_trip)
{
    dc_err err;
    dc_err_clear(&err);
    char dir[] = "/tmp/dc_dwcp_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    const char *parts[] = {"p"};
    dc_delta_create_opts o = {SCHEMA, 1, parts, 0, NULL, true, NULL, NULL};
    CHECK_OK(dc_delta_table_create(s, &o, &err), &err);
    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    if (!snap) goto done;
    add_rows(snap, 0, 30, &err);
    add_rows(snap, 30, 10, &err);
    /* A DV on one file, a removed file (a tombstone). */
    dc_delta_tx *tx = NULL;
    int64_t v = -1;
    const uint64_t rows[] = {0, 2};
    CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
    CHECK_OK(dc_delta_tx_delete_rows(tx, dc_delta_snapshot_file(snap, 0), rows, 2, &err), &err);
    CHECK_OK(dc_delta_tx_remove_file(tx, dc_delta_snapshot_file(snap, 1), true, &err), &err);
    CHECK_OK(dc_delta_tx_commit(&v, tx, &err), &err);
    dc_delta_tx_free(tx);
    CHECK_OK(dc_delta_snapshot_update(snap, -1, &err), &err);

    dc_delta_checkpoint_info info;
    CHECK_OK(dc_delta_checkpoint_write(&info, snap, &err), &err);
    CHECK_EQ_INT(info.version, v);
    CHECK_EQ_INT(info.num_add_files, dc_delta_snapshot_n_files(snap));
    CHECK_EQ_INT(info.size, 2 + 1 + info.num_add_files + dc_delta_snapshot_n_tombstones(snap));
    /* Remove every JSON commit the checkpoint covers. */
    for (int64_t i = 0; i <= v; i++) {
        char name[64];
        CHECK_OK(dc_delta_commit_name(name, i), &err);
        CHECK_OK(dc_storage_remove(s, name, &err), &err);
    }
    dc_delta_snapshot *back = NULL;
    CHECK_OK(dc_delta_snapshot_load(&back, s, -1, &err), &err);
    if (back) {
        CHECK_EQ_INT(dc_delta_snapshot_checkpoint_version(back), v);
        same_snapshot(snap, back);
        dc_delta_snapshot_free(back);
    }
    /* An older checkpoint never moves _last_checkpoint backwards. */
    dc_buf b;
    dc_buf_init(&b, 4096);
    CHECK_OK(dc_storage_read(s, "_delta_log/_last_checkpoint", &b, &err), &err);
    CHECK_OK(dc_buf_putc(&b, 0, &err), &err);
    char want[64];
    snprintf(want, sizeof want, "{\"version\":%lld,", (long long)v);
    CHECK(strncmp((char *)b.data, want, strlen(want)) == 0);
    dc_buf_dispose(&b);
    dc_delta_snapshot_free(snap);
done:
    dc_storage_free(s);
    dc_test_rm_rf(dir);
}
