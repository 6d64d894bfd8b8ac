/* delta write: table creation, commits and their naming, lost races resolved
 * by the conflict rules, deletion vectors (several per file, growing), schema
 * evolution — each read back through the read side. */
#include "../test.h"

#include <stdlib.h>
#include <unistd.h>

#include "../../src/delta/delta.h"

static const char SCHEMA[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}";

typedef struct fixture {
    char dir[64];
    dc_storage *s;
} fixture;

static void fx_open(fixture *f, bool dv)
{
    dc_err err;
    dc_err_clear(&err);
    strcpy(f->dir, "/tmp/dc_dwrite_XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    f->s = NULL;
    CHECK_OK(dc_storage_open(&f->s, f->dir, &err), &err);
    const char *parts[] = {"p"};
    dc_delta_create_opts o = {SCHEMA, 1, parts, 0, NULL, dv, NULL, NULL};
    CHECK_OK(dc_delta_table_create(f->s, &o, &err), &err);
}

static void fx_close(fixture *f)
{
    dc_storage_free(f->s);
    dc_test_rm_rf(f->dir);
}

static dc_delta_snapshot *load(fixture *f)
{
    dc_err err;
    dc_err_clear(&err);
    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_delta_snapshot_load(&snap, f->s, -1, &err), &err);
    return snap;
}

/* A fake data file entry (the log does not look inside it). */
static dc_delta_add fake_add(const char *path, const char *pv, const char *stats)
{
    static dc_delta_kv kv;
    dc_delta_add a;
    memset(&a, 0, sizeof a);
    kv.key = "p";
    kv.value = pv;
    a.path = path;
    a.partition_values.n = 1;
    a.partition_values.items = &kv;
    a.size = 100;
    a.modification_time = 1700000000000;
    a.data_change = true;
    a.stats = stats;
    return a;
}

/* Commits tx (freed) and steps snap up to the new version; the version. */
static int64_t commit_and_follow(dc_delta_tx *tx, dc_delta_snapshot *snap)
{
    dc_err err;
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_commit(&v, tx, &err), &err);
    dc_delta_tx_free(tx);
    CHECK_OK(dc_delta_snapshot_update(snap, -1, &err), &err);
    return v;
}

static int64_t commit_one(fixture *f, dc_delta_snapshot *snap, const char *path, dc_err *err)
{
    dc_delta_tx *tx = NULL;
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_new(&tx, snap, "WRITE", err), err);
    dc_delta_add a = fake_add(path, "x", "{\"numRecords\":10}");
    CHECK_OK(dc_delta_tx_add(tx, &a, err), err);
    const int rc = dc_delta_tx_commit(&v, tx, err);
    dc_delta_tx_free(tx);
    (void)f;
    return rc < 0 ? rc : v;
}

TEST(delta_write_create_protocols)
{
    dc_err err;
    dc_err_clear(&err);
    fixture f;
    fx_open(&f, false);
    dc_delta_snapshot *snap = load(&f);
    const dc_delta_protocol *p = dc_delta_snapshot_protocol(snap);
    CHECK_EQ_INT(p->min_reader_version, 1);
    CHECK_EQ_INT(p->min_writer_version, 2);
    CHECK(!p->has_reader_features && !p->has_writer_features);
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(snap);
    CHECK_EQ_INT(m->n_partition_columns, 1);
    CHECK_EQ_STR(m->partition_columns[0], "p");
    CHECK(m->id && strlen(m->id) == 36 && m->id[14] == '4');
    CHECK_EQ_INT(dc_delta_snapshot_version(snap), 0);
    dc_delta_snapshot_free(snap);
    /* Creating again fails: the table exists. */
    const char *parts[] = {"p"};
    dc_delta_create_opts o = {SCHEMA, 1, parts, 0, NULL, false, NULL, NULL};
    CHECK_EQ_INT(dc_delta_table_create(f.s, &o, &err), DC_EEXISTS);
    fx_close(&f);

    fixture g;
    fx_open(&g, true);
    snap = load(&g);
    p = dc_delta_snapshot_protocol(snap);
    CHECK_EQ_INT(p->min_reader_version, 3);
    CHECK_EQ_INT(p->min_writer_version, 7);
    CHECK(dc_delta_protocol_has_reader_feature(p, "deletionVectors"));
    CHECK(dc_delta_protocol_has_writer_feature(p, "deletionVectors"));
    bool found = false;
    CHECK_EQ_STR(dc_delta_map_get(&dc_delta_snapshot_metadata(snap)->configuration,
                                  "delta.enableDeletionVectors", &found), "true");
    dc_delta_snapshot_free(snap);
    fx_close(&g);
}

TEST(delta_write_create_rejects_bad_partition)
{
    dc_err err;
    dc_err_clear(&err);
    char dir[] = "/tmp/dc_dwrite_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    const char *parts[] = {"nope"};
    dc_delta_create_opts o = {SCHEMA, 1, parts, 0, NULL, false, NULL, NULL};
    CHECK_EQ_INT(dc_delta_table_create(s, &o, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "nope") != NULL);
    dc_storage_free(s);
    rmdir(dir);
}

TEST(delta_write_commit_naming_and_actions)
{
    dc_err err;
    dc_err_clear(&err);
    fixture f;
    fx_open(&f, false);
    dc_delta_snapshot *snap = load(&f);
    dc_delta_tx *tx = NULL;
    CHECK_OK(dc_delta_tx_new(&tx, snap, "WRITE", &err), &err);
    dc_delta_add a = fake_add("p=a%20b/part-1.parquet", "a b", "{\"numRecords\":7}");
    CHECK_OK(dc_delta_tx_add(tx, &a, &err), &err);
    CHECK_OK(dc_delta_tx_set_txn(tx, "app-1", 42, &err), &err);
    CHECK_OK(dc_delta_tx_param(tx, "mode", "Append", &err), &err);
    int64_t v = -1;
    /* The same path twice is refused at commit, and nothing is written. */
    dc_delta_tx *dup = NULL;
    CHECK_OK(dc_delta_tx_new(&dup, snap, "WRITE", &err), &err);
    CHECK_OK(dc_delta_tx_add(dup, &a, &err), &err);
    CHECK_OK(dc_delta_tx_add(dup, &a, &err), &err);
    CHECK_EQ_INT(dc_delta_tx_commit(&v, dup, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "twice") != NULL);
    dc_delta_tx_free(dup);
    CHECK_OK(dc_delta_tx_commit(&v, tx, &err), &err);
    CHECK_EQ_INT(v, 1);
    dc_delta_tx_free(tx);

    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    CHECK_OK(dc_storage_read(f.s, "_delta_log/00000000000000000001.json", &b, &err), &err);
    CHECK_OK(dc_buf_putc(&b, 0, &err), &err);
    const char *text = (const char *)b.data;
    CHECK(strncmp(text, "{\"commitInfo\":{\"timestamp\":", 27) == 0);
    CHECK(strstr(text, "\"engineInfo\":\"deltacdc/0.1.0\"") != NULL);
    CHECK(strstr(text, "\"numOutputRows\":\"7\"") != NULL);
    CHECK(strstr(text, "\"isBlindAppend\":true") != NULL);
    dc_buf_dispose(&b);

    CHECK_OK(dc_delta_snapshot_update(snap, -1, &err), &err);
    CHECK_EQ_INT(dc_delta_snapshot_version(snap), 1);
    CHECK_EQ_INT(dc_delta_snapshot_n_files(snap), 1);
    CHECK_EQ_STR(dc_delta_snapshot_file(snap, 0)->path, "p=a%20b/part-1.parquet");
    int64_t tv = 0;
    CHECK_OK(dc_delta_snapshot_txn_version(&tv, snap, "app-1"), &err);
    CHECK_EQ_INT(tv, 42);
    dc_delta_snapshot_free(snap);
    fx_close(&f);
}

TEST(delta_write_lost_race_appends_rebase)
{
    dc_err err;
    dc_err_clear(&err);
    fixture f;
    fx_open(&f, false);
    dc_delta_snapshot *s1 = load(&f), *s2 = load(&f);
    /* Both read version 0; the second commits after the first won v1. */
    CHECK_EQ_INT(commit_one(&f, s1, "p=x/a.parquet", &err), 1);
    CHECK_EQ_INT(commit_one(&f, s2, "p=x/b.parquet", &err), 2);
    /* s2 still reads v0: its next append lands at v3 after two winners. */
    CHECK_EQ_INT(commit_one(&f, s2, "p=x/c.parquet", &err), 3);
    dc_delta_snapshot *s3 = load(&f);
    CHECK_EQ_INT(dc_delta_snapshot_n_files(s3), 3);
    dc_delta_snapshot_free(s1);
    dc_delta_snapshot_free(s2);
    dc_delta_snapshot_free(s3);
    fx_close(&f);
}

TEST(delta_write_conflicts_are_retriable)
{
    dc_err err;
    dc_err_clear(&err);
    fixture f;
    fx_open(&f, false);
    dc_delta_snapshot *s0 = load(&f);
    CHECK_EQ_INT(commit_one(&f, s0, "p=x/a.parquet", &err), 1);
    dc_delta_snapshot *s1 = load(&f), *s2 = load(&f);
    const dc_delta_add *live = dc_delta_snapshot_file(s1, 0);
    /* Both remove the same file: the second is a real conflict. */
    dc_delta_tx *t1 = NULL, *t2 = NULL;
    CHECK_OK(dc_delta_tx_new(&t1, s1, "DELETE", &err), &err);
    CHECK_OK(dc_delta_tx_new(&t2, s2, "DELETE", &err), &err);
    CHECK_OK(dc_delta_tx_remove_file(t1, live, true, &err), &err);
    CHECK_OK(dc_delta_tx_remove_file(t2, dc_delta_snapshot_file(s2, 0), true, &err), &err);
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_commit(&v, t1, &err), &err);
    CHECK_EQ_INT(v, 2);
    dc_err_clear(&err);
    CHECK_EQ_INT(dc_delta_tx_commit(&v, t2, &err), DC_ECONFLICT);
    CHECK(err.retriable);
    CHECK(strstr(err.msg, "ConcurrentDeleteDelete") != NULL);
    CHECK(strstr(err.msg, "version 2") != NULL);
    dc_delta_tx_free(t1);
    dc_delta_tx_free(t2);

    /* The same appId advanced by someone else: exactly-once conflict. */
    CHECK_OK(dc_delta_tx_new(&t1, s1, "WRITE", &err), &err);
    CHECK_OK(dc_delta_tx_new(&t2, s2, "WRITE", &err), &err);
    CHECK_OK(dc_delta_tx_set_txn(t1, "stream", 1, &err), &err);
    CHECK_OK(dc_delta_tx_set_txn(t2, "stream", 1, &err), &err);
    CHECK_OK(dc_delta_tx_commit(&v, t1, &err), &err);
    dc_err_clear(&err);
    CHECK_EQ_INT(dc_delta_tx_commit(&v, t2, &err), DC_ECONFLICT);
    CHECK(err.retriable && strstr(err.msg, "ConcurrentTransaction") != NULL);
    dc_delta_tx_free(t1);
    dc_delta_tx_free(t2);
    dc_delta_snapshot_free(s0);
    dc_delta_snapshot_free(s1);
    dc_delta_snapshot_free(s2);
    fx_close(&f);
}

static void check_dv_rows(fixture *f, const dc_delta_add *a, const uint64_t *want, size_t n)
{
    dc_err err;
    dc_err_clear(&err);
    CHECK(a->has_dv);
    if (!a->has_dv) return;
    CHECK_EQ_INT(a->dv.storage_type, 'u');
    CHECK_EQ_INT(a->dv.cardinality, n);
    dc_delta_dv *dv = NULL;
    CHECK_OK(dc_delta_dv_load(&dv, f->s, &a->dv, &err), &err);
    if (!dv) return;
    CHECK_EQ_INT(dc_delta_dv_cardinality(dv), n);
    for (size_t i = 0; i < n; i++) CHECK(dc_delta_dv_contains(dv, want[i]));
    dc_delta_dv_free(dv);
}

static const dc_delta_add *find_file(dc_delta_snapshot *snap, const char *path)
{
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++)
        if (strcmp(dc_delta_snapshot_file(snap, i)->path, path) == 0)
            return dc_delta_snapshot_file(snap, i);
    return NULL;
}

/* One WRITE of n files of 10 rows each in partition p=x, followed. */
static void add_files(dc_delta_snapshot *snap, const char *const *paths, int n)
{
    dc_err err;
    dc_delta_tx *tx = NULL;
    CHECK_OK(dc_delta_tx_new(&tx, snap, "WRITE", &err), &err);
    for (int i = 0; tx && i < n; i++) {
        dc_delta_add a = fake_add(paths[i], "x", "{\"numRecords\":10}");
        CHECK_OK(dc_delta_tx_add(tx, &a, &err), &err);
    }
    if (tx) commit_and_follow(tx, snap);
}

/* Deletes row 1 of paths[order[i]] for every i in one transaction: the
 * DV files read meanwhile (the cache's misses); then every file has rows
 * 0 and 1 deleted. */
static uint64_t delete_row_1_counting_gets(fixture *f, dc_delta_snapshot *snap,
                                           const char *const *paths, const int *order, int n)
{
    dc_err err;
    dc_delta_tx *tx = NULL;
    dc_storage_stats s0, s1, d;
    const uint64_t r1[] = {1}, both[] = {0, 1};
    CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
    if (!tx) return 0;
    dc_storage_stats_get(f->s, &s0);
    for (int i = 0; i < n; i++)
        CHECK_OK(dc_delta_tx_delete_rows(tx, find_file(snap, paths[order[i]]), r1, 1, &err),
                 &err);
    dc_storage_stats_get(f->s, &s1);
    dc_storage_stats_sub(&d, &s1, &s0);
    commit_and_follow(tx, snap);
    for (int i = 0; i < n; i++) check_dv_rows(f, find_file(snap, paths[i]), both, 2);
    return d.get;
}

TEST(delta_write_dv_delete_grow_and_share_file)
{
    dc_err err;
    dc_err_clear(&err);
    fixture f;
    fx_open(&f, true);
    dc_delta_snapshot *snap = load(&f);
    dc_delta_tx *tx = NULL;
    CHECK_OK(dc_delta_tx_new(&tx, snap, "WRITE", &err), &err);
    dc_delta_add a = fake_add("p=x/a.parquet", "x", "{\"numRecords\":10,\"tightBounds\":true}");
    dc_delta_add b = fake_add("p=x/b.parquet", "x", "{\"numRecords\":4}");
    CHECK_OK(dc_delta_tx_add(tx, &a, &err), &err);
    CHECK_OK(dc_delta_tx_add(tx, &b, &err), &err);
    commit_and_follow(tx, snap);

    /* Two DVs in one tx share one DV file at different offsets. */
    const uint64_t ra[] = {1, 3}, rb[] = {0};
    CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
    CHECK_OK(dc_delta_tx_delete_rows(tx, find_file(snap, "p=x/a.parquet"), ra, 2, &err), &err);
    CHECK_OK(dc_delta_tx_delete_rows(tx, find_file(snap, "p=x/b.parquet"), rb, 1, &err), &err);
    const uint64_t bad[] = {10};
    CHECK_EQ_INT(dc_delta_tx_delete_rows(tx, find_file(snap, "p=x/a.parquet"), bad, 1, &err),
                 DC_EINVAL);
    commit_and_follow(tx, snap);
    const dc_delta_add *la = find_file(snap, "p=x/a.parquet"), *lb = find_file(snap, "p=x/b.parquet");
    CHECK(la && lb);
    if (!la || !lb) goto done;
    check_dv_rows(&f, la, ra, 2);
    check_dv_rows(&f, lb, rb, 1);
    CHECK_EQ_STR(la->dv.path_or_inline, lb->dv.path_or_inline);
    CHECK(la->dv.offset != lb->dv.offset);
    CHECK(strstr(la->stats, "\"tightBounds\":false") != NULL);
    CHECK(strstr(lb->stats, "\"tightBounds\":false") != NULL);

    /* Growing both DVs reads their shared file once (one request on an
     * object store), not once per DV; the rows are the unions. */
    {
        const uint64_t ra3[] = {7}, rb3[] = {2}, all_a3[] = {1, 3, 7}, all_b3[] = {0, 2};
        dc_storage_stats s0, s1, d;
        CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
        dc_storage_stats_get(f.s, &s0);
        CHECK_OK(dc_delta_tx_delete_rows(tx, la, ra3, 1, &err), &err);
        CHECK_OK(dc_delta_tx_delete_rows(tx, lb, rb3, 1, &err), &err);
        dc_storage_stats_get(f.s, &s1);
        dc_storage_stats_sub(&d, &s1, &s0);
        CHECK_EQ_INT(d.get, 1);
        commit_and_follow(tx, snap);
        la = find_file(snap, "p=x/a.parquet");
        lb = find_file(snap, "p=x/b.parquet");
        CHECK(la && lb);
        if (!la || !lb) goto done;
        check_dv_rows(&f, la, all_a3, 3);
        check_dv_rows(&f, lb, all_b3, 2);
    }

    /* The DV grows: remove(old DV) + add(new DV) with the union. */
    const uint64_t ra2[] = {3, 5}, all_a[] = {1, 3, 5, 7};
    CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
    CHECK_OK(dc_delta_tx_delete_rows(tx, la, ra2, 2, &err), &err);
    commit_and_follow(tx, snap);
    la = find_file(snap, "p=x/a.parquet");
    CHECK(la != NULL);
    if (la) check_dv_rows(&f, la, all_a, 4);
    CHECK(dc_delta_snapshot_n_tombstones(snap) >= 2);

    /* Deleting every remaining row removes the file. */
    const uint64_t rest[] = {1, 2, 3};
    CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
    CHECK_OK(dc_delta_tx_delete_rows(tx, find_file(snap, "p=x/b.parquet"), rest, 3, &err), &err);
    commit_and_follow(tx, snap);
    CHECK(find_file(snap, "p=x/b.parquet") == NULL);
    CHECK_EQ_INT(dc_delta_snapshot_n_files(snap), 1);
done:
    dc_delta_snapshot_free(snap);
    fx_close(&f);
}

/* DVs of one transaction's files kept in two DV files, grown in alternating
 * order, read each file once (the cache holds a few files; one file held
 * read a file per DV). */
TEST(delta_write_dv_cache_holds_several_files)
{
    dc_err err;
    dc_err_clear(&err);
    fixture f;
    fx_open(&f, true);
    dc_delta_snapshot *snap = load(&f);
    dc_delta_tx *tx = NULL;
    const char *const paths[] = {"p=x/a.parquet", "p=x/b.parquet", "p=x/c.parquet",
                                 "p=x/d.parquet"};
    add_files(snap, paths, 4);
    /* a and b get DVs in one DV file, c and d in another */
    const uint64_t r0[] = {0};
    for (int k = 0; k < 2; k++) {
        CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
        for (int i = 2 * k; i < 2 * k + 2; i++)
            CHECK_OK(dc_delta_tx_delete_rows(tx, find_file(snap, paths[i]), r0, 1, &err), &err);
        commit_and_follow(tx, snap);
    }
    CHECK(strcmp(find_file(snap, paths[0])->dv.path_or_inline,
                 find_file(snap, paths[2])->dv.path_or_inline) != 0);
    const int order[] = {0, 2, 1, 3};
    CHECK_EQ_INT(delete_row_1_counting_gets(&f, snap, paths, order, 4), 2);
    dc_delta_snapshot_free(snap);
    fx_close(&f);
}

/* Updates that hit rows all over a table: the DVs of a transaction's files
 * sit in many DV files, each visited again after the others (6 files here,
 * each twice, round robin: 4 cache entries read a file per DV, 12 reads). */
TEST(delta_write_dv_cache_holds_many_files)
{
    dc_err err;
    dc_err_clear(&err);
    fixture f;
    fx_open(&f, true);
    dc_delta_snapshot *snap = load(&f);
    dc_delta_tx *tx = NULL;
    char names[12][32];
    const char *paths[12];
    int order[12];
    for (int i = 0; i < 12; i++) {
        snprintf(names[i], sizeof names[i], "p=x/f%02d.parquet", i);
        paths[i] = names[i];
        order[i] = i;
    }
    add_files(snap, paths, 12);
    /* files k and k + 6 get their DVs in the k-th DV file */
    const uint64_t r0[] = {0};
    for (int k = 0; k < 6; k++) {
        CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
        CHECK_OK(dc_delta_tx_delete_rows(tx, find_file(snap, paths[k]), r0, 1, &err), &err);
        CHECK_OK(dc_delta_tx_delete_rows(tx, find_file(snap, paths[k + 6]), r0, 1, &err), &err);
        commit_and_follow(tx, snap);
    }
    CHECK_EQ_INT(delete_row_1_counting_gets(&f, snap, paths, order, 12), 6);
    dc_delta_snapshot_free(snap);
    fx_close(&f);
}

/* With the commit cache on, a second snapshot of the table steps up to our
 * commits without reading them (files, DVs, tombstones and txns as a fresh
 * load sees them); off, it reads the file again. */
TEST(delta_write_commit_cache_feeds_a_follower)
{
    dc_err err;
    dc_err_clear(&err);
    fixture f;
    fx_open(&f, true);
    dc_delta_snapshot *snap = load(&f), *follower = load(&f), *fresh = NULL;
    dc_delta_commit_cache_enable(true);
    dc_delta_tx *tx = NULL;
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_new(&tx, snap, "WRITE", &err), &err);
    dc_delta_add a = fake_add("p=x/a.parquet", "x", "{\"numRecords\":10}");
    CHECK_OK(dc_delta_tx_add(tx, &a, &err), &err);
    CHECK_OK(dc_delta_tx_set_txn(tx, "app/t/0", 41, &err), &err);
    CHECK_OK(dc_delta_tx_commit(&v, tx, &err), &err);
    CHECK_OK(dc_delta_tx_apply_to_snapshot(tx, v, &err), &err);
    dc_delta_tx_free(tx);
    const uint64_t r[] = {3};
    CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
    CHECK_OK(dc_delta_tx_delete_rows(tx, find_file(snap, "p=x/a.parquet"), r, 1, &err), &err);
    CHECK_OK(dc_delta_tx_set_txn(tx, "app/t/0", 42, &err), &err);
    CHECK_OK(dc_delta_tx_commit(&v, tx, &err), &err);
    dc_delta_tx_free(tx);
    dc_storage_stats s0, s1, d;
    dc_storage_stats_get(f.s, &s0);
    CHECK_OK(dc_delta_snapshot_update(follower, v, &err), &err);
    dc_storage_stats_get(f.s, &s1);
    dc_storage_stats_sub(&d, &s1, &s0);
    CHECK_EQ_INT(d.get, 0);
    CHECK_OK(dc_delta_snapshot_load(&fresh, f.s, v, &err), &err);
    CHECK(fresh != NULL);
    if (fresh) {
        CHECK_EQ_INT(dc_delta_snapshot_n_files(follower), dc_delta_snapshot_n_files(fresh));
        CHECK_EQ_INT(dc_delta_snapshot_n_tombstones(follower),
                     dc_delta_snapshot_n_tombstones(fresh));
        const dc_delta_add *x = find_file(follower, "p=x/a.parquet");
        const dc_delta_add *y = find_file(fresh, "p=x/a.parquet");
        CHECK(x && y && x->has_dv && y->has_dv);
        if (x && y) {
            CHECK(strcmp(x->dv.path_or_inline, y->dv.path_or_inline) == 0);
            CHECK_EQ_INT(x->dv.offset, y->dv.offset);
            CHECK(strcmp(x->stats, y->stats) == 0);
        }
        int64_t tv = -1;
        CHECK_OK(dc_delta_snapshot_txn_version(&tv, follower, "app/t/0"), &err);
        CHECK_EQ_INT(tv, 42);
    }
    /* Off: the next commit is read from its file. */
    dc_delta_commit_cache_enable(false);
    CHECK_EQ_INT(commit_one(&f, snap, "p=x/b.parquet", &err), v + 1);
    dc_storage_stats_get(f.s, &s0);
    CHECK_OK(dc_delta_snapshot_update(follower, v + 1, &err), &err);
    dc_storage_stats_get(f.s, &s1);
    dc_storage_stats_sub(&d, &s1, &s0);
    CHECK_EQ_INT(d.get, 1);
    CHECK(find_file(follower, "p=x/b.parquet") != NULL);
    dc_delta_snapshot_free(fresh);
    dc_delta_snapshot_free(follower);
    dc_delta_snapshot_free(snap);
    fx_close(&f);
}

TEST(delta_write_dv_needs_enabled_table)
{
    dc_err err;
    dc_err_clear(&err);
    fixture f;
    fx_open(&f, false);
    dc_delta_snapshot *snap = load(&f);
    CHECK_EQ_INT(commit_one(&f, snap, "p=x/a.parquet", &err), 1);
    CHECK_OK(dc_delta_snapshot_update(snap, -1, &err), &err);
    dc_delta_tx *tx = NULL;
    const uint64_t r[] = {0};
    CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
    CHECK_EQ_INT(dc_delta_tx_delete_rows(tx, dc_delta_snapshot_file(snap, 0), r, 1, &err),
                 DC_EUNSUPPORTED);
    dc_delta_tx_free(tx);
    dc_delta_snapshot_free(snap);
    fx_close(&f);
}

TEST(delta_write_schema_evolution)
{
    dc_err err;
    dc_err_clear(&err);
    fixture f;
    fx_open(&f, false);
    dc_delta_snapshot *snap = load(&f);
    dc_delta_tx *tx = NULL;
    static const char ok[] =
        "{\"type\":\"struct\",\"fields\":["
        "{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"extra\",\"type\":\"double\",\"nullable\":true,\"metadata\":{}}]}";
    static const char not_null[] =
        "{\"type\":\"struct\",\"fields\":["
        "{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"extra\",\"type\":\"double\",\"nullable\":false,\"metadata\":{}}]}";
    static const char retyped[] =
        "{\"type\":\"struct\",\"fields\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}";
    CHECK_OK(dc_delta_tx_new(&tx, snap, "WRITE", &err), &err);
    CHECK_EQ_INT(dc_delta_tx_set_schema(tx, not_null, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "extra") != NULL);
    CHECK_EQ_INT(dc_delta_tx_set_schema(tx, retyped, &err), DC_EINVAL);
    CHECK_OK(dc_delta_tx_set_schema(tx, ok, &err), &err);
    commit_and_follow(tx, snap);
    const dc_delta_schema *sc = NULL;
    CHECK_OK(dc_delta_snapshot_schema(&sc, snap, &err), &err);
    CHECK(sc && dc_delta_schema_find(sc, "extra") != NULL);
    CHECK_EQ_INT(dc_delta_snapshot_metadata(snap)->n_partition_columns, 1);
    dc_delta_snapshot_free(snap);
    fx_close(&f);
}
