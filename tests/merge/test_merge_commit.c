/* The snapshot after our own commit (issue 13): the merge table moves its
 * snapshot by applying the transaction's actions instead of reading the
 * commit file back; that snapshot must equal one loaded from the log. */
#include "../test.h"

#include <stdio.h>
#include <stdlib.h>

#include "merge_fixture.h"

/* Files, tombstones and txns of a snapshot, one line each, in its order. */
static char *snap_dump(dc_delta_snapshot *snap)
{
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 64 << 20);
    CHECK_OK(dc_buf_appendf(&b, &err, "version %lld\n", (long long)dc_delta_snapshot_version(snap)),
             &err);
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(snap, i);
        CHECK_OK(dc_buf_appendf(&b, &err, "add %s %lld %d %s dv=%d %c%s@%d/%lld\n", a->path,
                                (long long)a->size, a->data_change, a->stats ? a->stats : "-",
                                a->has_dv, a->has_dv ? a->dv.storage_type : '-',
                                a->has_dv ? a->dv.path_or_inline : "", a->has_dv ? a->dv.offset : 0,
                                a->has_dv ? (long long)a->dv.cardinality : 0LL), &err);
    }
    for (size_t i = 0; i < dc_delta_snapshot_n_tombstones(snap); i++) {
        const dc_delta_remove *r = dc_delta_snapshot_tombstone(snap, i);
        CHECK_OK(dc_buf_appendf(&b, &err, "remove %s %lld %d %s dv=%d\n", r->path,
                                (long long)r->deletion_timestamp, r->data_change,
                                r->stats ? r->stats : "-", r->has_dv), &err);
    }
    for (size_t i = 0; i < dc_delta_snapshot_n_txns(snap); i++) {
        const dc_delta_txn *t = dc_delta_snapshot_txn(snap, i);
        CHECK_OK(dc_buf_appendf(&b, &err, "txn %s %lld\n", t->app_id, (long long)t->version),
                 &err);
    }
    CHECK_OK(dc_buf_putc(&b, 0, &err), &err);
    return (char *)dc_buf_steal(&b, NULL);
}

static char *loaded_dump(const char *dir)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    char *d = snap_dump(snap);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return d;
}

TEST(merge_own_commit_applied_equals_the_log)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    uint64_t rnd = 11;
    int64_t ts = 1700000000000;
    char img[64];
    for (int batch = 0; batch < 25; batch++) {
        for (int e = 0; e < 40; e++) {
            rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
            const int64_t k = (int64_t)((rnd >> 33) % 120);
            const char op = (rnd >> 20) % 9 == 0 ? 'd' : 'u'; /* u of an absent key inserts */
            snprintf(img, sizeof img, "{\"id\":%lld,\"b\":%d}", (long long)k, batch);
            mfx_add(&f, op, k, ++ts, img);
        }
        mfx_commit(&f);
        /* every few batches: the in-memory snapshot against the log's */
        if (batch % 6 == 5 || batch == 24) {
            char *mem = snap_dump(dc_merge_table_snapshot(f.t));
            char *log = loaded_dump(f.dir);
            CHECK_EQ_STR(mem, log);
            CHECK(strstr(mem, "dv=1") != NULL); /* deletion vectors and tombstones seen */
            CHECK(strstr(mem, "remove ") != NULL);
            dc_free(mem);
            dc_free(log);
        }
    }
    mfx_close(&f);
}
