/* OPTIMIZE runs (src/maint/optimize*.c) on real tables: raw tables written
 * by the merge engine in small batches (dv and cow), read back through the
 * Delta read side: same rows, a handful of files, no deletion vectors,
 * files sorted by key, dataChange=false actions, time travel to the version
 * before; the key index moved by dc_merge_table_after_rewrite equals a
 * rebuilt one and later batches merge as on a table never optimized;
 * concurrent writers (a DV change of an input: conflict; a blind append:
 * none); a foreign partitioned table with nested columns, deletion vectors,
 * unsorted files and an evolved schema. */
#include "../test.h"

#include <dirent.h>
#include <stdlib.h>

#include "../../src/maint/optimize.h"
#include "../merge/merge_fixture.h"

/* ------------------------------------------------------------- helpers */

/* Runs OPTIMIZE on a fresh snapshot of dir; returns its rc. */
static int run_dir(dc_optimize_result *r, const char *dir, const dc_optimize_opts *o,
                   dc_err *err)
{
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_optimize_result_init(r);
    int rc = dc_storage_open(&s, dir, err);
    if (rc == 0) rc = dc_delta_snapshot_load(&snap, s, -1, err);
    if (rc == 0) rc = dc_optimize_run(r, snap, o, err);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return rc;
}

typedef struct tstat {
    int64_t version;
    size_t files, dv_files;
} tstat;

static tstat table_stat(const char *dir)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    tstat t = {-1, 0, 0};
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    t.version = dc_delta_snapshot_version(snap);
    t.files = dc_delta_snapshot_n_files(snap);
    for (size_t i = 0; i < t.files; i++) t.dv_files += dc_delta_snapshot_file(snap, i)->has_dv;
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return t;
}

/* Parquet files under dir (recursively), live or not. */
static size_t count_parquet(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "_delta_log") == 0) continue;
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        const size_t len = strlen(e->d_name);
        if (len > 8 && strcmp(e->d_name + len - 8, ".parquet") == 0) n++;
        else n += count_parquet(sub);
    }
    closedir(d);
    return n;
}

/* True when every live file's column `col` (INT64/INT32, flat) ascends. */
static bool files_sorted_by(const char *dir, const char *col)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    bool sorted = true;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++) {
        char path[512];
        dc_buf p;
        dc_buf_init(&p, 4096);
        CHECK_OK(dc_delta_path_to_storage(&p, dc_delta_snapshot_file(snap, i)->path, &err), &err);
        snprintf(path, sizeof path, "%s/%.*s", dir, (int)p.len, (const char *)p.data);
        dc_buf_dispose(&p);
        dc_pq_reader *r = NULL;
        CHECK_OK(dc_pq_reader_open_file(&r, path, &err), &err);
        const dc_pq_schema *ps = dc_pq_reader_schema(r);
        int32_t leaf = -1;
        for (uint32_t c = 0; c < ps->root.n_children; c++)
            if (strcmp(ps->root.children[c].name, col) == 0) leaf = ps->root.children[c].leaf;
        CHECK(leaf >= 0);
        int64_t last = INT64_MIN;
        dc_pq_column pc;
        dc_pq_column_init(&pc);
        for (uint32_t rg = 0; leaf >= 0 && rg < dc_pq_reader_meta(r)->n_row_groups; rg++) {
            CHECK_OK(dc_pq_reader_read_column(&pc, r, rg, (uint32_t)leaf, &err), &err);
            const bool i32 = ps->leaves[leaf].phys == PQ_INT32;
            for (size_t v = 0; v < pc.n_values; v++) {
                const int64_t x = i32 ? (int32_t)dc_load_le32(pc.values.data + 4 * v)
                                      : (int64_t)dc_load_le64(pc.values.data + 8 * v);
                sorted &= x >= last;
                last = x;
            }
        }
        dc_pq_column_dispose(&pc);
        dc_pq_reader_free(r);
    }
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return sorted;
}

/* Every add and remove of commit `v` says dataChange=false; counts them. */
static void check_commit(const char *dir, int64_t v, size_t *adds, size_t *removes)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_commit *c = NULL;
    *adds = *removes = 0;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    CHECK_OK(dc_delta_commit_read(&c, s, v, &err), &err);
    for (size_t i = 0; i < c->n_actions; i++) {
        const dc_delta_action *a = &c->actions[i];
        if (a->type == DC_DELTA_ACTION_ADD) {
            CHECK(!a->u.add.data_change && !a->u.add.has_dv && a->u.add.stats);
            (*adds)++;
        } else if (a->type == DC_DELTA_ACTION_REMOVE) {
            CHECK(!a->u.remove.data_change);
            (*removes)++;
        } else if (a->type == DC_DELTA_ACTION_COMMIT_INFO) {
            CHECK(strstr(a->u.commit_info.json, "\"OPTIMIZE\"") != NULL);
        }
    }
    dc_delta_commit_free(c);
    dc_storage_free(s);
}

/* A reproducible stream on keys [0, n_keys): creates, then mostly updates,
 * some deletes and re-creates; `batches` commits of `per` events. */
typedef struct wl {
    uint64_t rnd;
    int64_t ts;
    bool live[512];
} wl;

static uint64_t next_rand(wl *w)
{
    w->rnd = w->rnd * 6364136223846793005ULL + 1442695040888963407ULL;
    return w->rnd >> 33;
}

static void feed(mfx *f, wl *w, int n_keys, int per)
{
    char img[96];
    for (int e = 0; e < per; e++) {
        const int k = (int)(next_rand(w) % (uint64_t)n_keys);
        char op = w->live[k] ? (next_rand(w) % 10 == 0 ? 'd' : 'u') : 'c';
        w->ts += 1 + (int64_t)(next_rand(w) % 5);
        snprintf(img, sizeof img, "{\"id\":%d,\"v\":%llu}", k, (unsigned long long)next_rand(w));
        mfx_add(f, op, k, w->ts, img);
        w->live[k] = op != 'd';
    }
    mfx_commit(f);
}

static void feed2(mfx *a, mfx *b, wl *w, int n_keys, int per)
{
    wl copy = *w;
    feed(a, w, n_keys, per);
    feed(b, &copy, n_keys, per);
}

/* ------------------------------------------------------------ raw tables */

static void small_batches_then_optimize(dc_merge_mode mode)
{
    mfx f;
    mfx_open_id(&f, mode);
    wl w = {42, 1700000000000, {false}};
    for (int b = 0; b < 30; b++) feed(&f, &w, 300, 40);
    char *before = mfx_state(&f);
    const tstat t0 = table_stat(f.dir);
    CHECK(t0.files >= 20);
    if (mode == DC_MERGE_DV) CHECK(t0.dv_files > 0);
    dc_optimize_opts o;
    dc_optimize_opts_init(&o);
    dc_optimize_result r;
    dc_err err;
    CHECK_OK(run_dir(&r, f.dir, &o, &err), &err);
    const tstat t1 = table_stat(f.dir);
    CHECK_EQ_INT(r.version, t0.version + 1);
    CHECK_EQ_INT(r.read_version, t0.version);
    CHECK_EQ_INT(t1.files, 1);
    CHECK_EQ_INT(t1.dv_files, 0);
    CHECK_EQ_INT(r.files_removed, t0.files);
    CHECK_EQ_INT(r.files_added, 1);
    CHECK_EQ_INT(r.dvs_removed, t0.dv_files);
    size_t adds = 0, removes = 0;
    check_commit(f.dir, r.version, &adds, &removes);
    CHECK_EQ_INT(adds, 1);
    CHECK_EQ_INT(removes, t0.files);
    MFX_STATE(&f, before);
    CHECK(files_sorted_by(f.dir, "id"));
    size_t lines = 0;
    for (const char *c = before; *c; c++) lines += *c == '\n';
    CHECK_EQ_INT(r.rows, lines); /* the live rows, and nothing else, were written */
    /* A second run finds nothing to do. */
    dc_optimize_result_dispose(&r);
    CHECK_OK(run_dir(&r, f.dir, &o, &err), &err);
    CHECK_EQ_INT(r.version, -1);
    CHECK_EQ_INT(table_stat(f.dir).version, t1.version);
    dc_optimize_result_dispose(&r);
    dc_free(before);
    mfx_close(&f);
}

TEST(optimize_raw_dv_table_one_sorted_file_same_rows)
{
    small_batches_then_optimize(DC_MERGE_DV);
}

TEST(optimize_raw_cow_table_one_sorted_file_same_rows)
{
    small_batches_then_optimize(DC_MERGE_COW);
}

/* Rows of the snapshot at `version`, as mfx_state prints them. */
static char *state_at(mfx *f, int64_t version)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_storage_open(&s, f->dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, version, &err), &err);
    /* Reuse mfx_state on a copy of the table made at that version is
     * overkill: compare the row count and a checksum-free line set instead. */
    dc_delta_scan *sc = NULL;
    dc_buf out;
    dc_buf_init(&out, (size_t)1 << 30);
    CHECK_OK(dc_delta_scan_new(&sc, snap, NULL, 0, &err), &err);
    for (bool done = false; !done;) CHECK_OK(dc_delta_scan_next(sc, &out, &done, &err), &err);
    size_t n = 0, cap = 64;
    char **lines = dc_malloc(cap * sizeof *lines);
    for (size_t at = 0; at < out.len;) {
        const uint8_t *nl = memchr(out.data + at, '\n', out.len - at);
        const size_t len = (size_t)(nl - out.data) - at;
        if (n == cap) lines = dc_realloc(lines, (cap *= 2) * sizeof *lines);
        lines[n++] = dc_strndup((const char *)out.data + at, len);
        at += len + 1;
    }
    qsort(lines, n, sizeof *lines, cmp_line);
    dc_buf all;
    dc_buf_init(&all, (size_t)1 << 30);
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(dc_buf_appendf(&all, &err, "%s\n", lines[i]), &err);
        dc_free(lines[i]);
    }
    CHECK_OK(dc_buf_putc(&all, 0, &err), &err);
    dc_free(lines);
    dc_buf_dispose(&out);
    dc_delta_scan_free(sc);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return (char *)dc_buf_steal(&all, NULL);
}

TEST(optimize_time_travel_to_the_version_before)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    wl w = {7, 1700000000000, {false}};
    for (int b = 0; b < 12; b++) feed(&f, &w, 100, 30);
    const int64_t v_mid = table_stat(f.dir).version;
    char *mid = state_at(&f, v_mid);
    for (int b = 0; b < 6; b++) feed(&f, &w, 100, 30);
    const int64_t v_before = table_stat(f.dir).version;
    char *before = state_at(&f, v_before);
    dc_optimize_opts o;
    dc_optimize_opts_init(&o);
    dc_optimize_result r;
    dc_err err;
    CHECK_OK(run_dir(&r, f.dir, &o, &err), &err);
    CHECK_EQ_INT(r.version, v_before + 1);
    char *now = state_at(&f, -1), *then = state_at(&f, v_before), *mid2 = state_at(&f, v_mid);
    CHECK_EQ_STR(now, before);
    CHECK_EQ_STR(then, before);
    CHECK_EQ_STR(mid2, mid);
    CHECK(strcmp(mid, before) != 0);
    dc_free(now);
    dc_free(then);
    dc_free(mid2);
    dc_free(mid);
    dc_free(before);
    dc_optimize_result_dispose(&r);
    mfx_close(&f);
}

/* The daemon's way: plan on the merge table's own snapshot, then move the
 * index. Twin tables get the same events; only A is optimized. */
static void optimize_in_place_maps(mfx *f, bool expect_work, bool maps)
{
    dc_optimize_opts o;
    dc_optimize_opts_init(&o);
    o.max_retries = 0;
    o.automatic = true;
    o.row_maps = maps;
    dc_optimize_result r;
    dc_optimize_result_init(&r);
    dc_err err;
    dc_err_clear(&err);
    const int64_t v0 = dc_delta_snapshot_version(dc_merge_table_snapshot(f->t));
    CHECK_OK(dc_optimize_run(&r, dc_merge_table_snapshot(f->t), &o, &err), &err);
    CHECK_EQ_INT(dc_delta_snapshot_version(dc_merge_table_snapshot(f->t)), v0); /* not moved */
    CHECK(expect_work == (r.version >= 0));
    if (r.version >= 0) {
        const dc_merge_rewrite rw = {r.read_version, r.version, (const char *const *)r.removed,
                                     r.n_removed, r.added, r.n_added,
                                     (const uint32_t *const *)r.row_maps, r.map_rows,
                                     r.map_added};
        CHECK(maps == (r.row_maps != NULL));
        CHECK_OK(dc_merge_table_after_rewrite(f->t, &rw, &err), &err);
    }
    CHECK_EQ_INT(dc_delta_snapshot_version(dc_merge_table_snapshot(f->t)),
                 r.version >= 0 ? r.version : v0);
    dc_optimize_result_dispose(&r);
}

/* As the daemon does it: with row maps. */
static void optimize_in_place(mfx *f, bool expect_work)
{
    optimize_in_place_maps(f, expect_work, true);
}

static void twin_tables(dc_merge_mode mode, bool maps)
{
    mfx a, b;
    mfx_open_id(&a, mode);
    mfx_open_id(&b, mode);
    wl w = {99, 1700000000000, {false}};
    for (int round = 0; round < 4; round++) {
        for (int k = 0; k < 8; k++) feed2(&a, &b, &w, 200, 50);
        optimize_in_place_maps(&a, true, maps);
        char *moved = mfx_index_dump(a.t);
        mfx_reopen(&a);
        char *rebuilt = mfx_index_dump(a.t);
        CHECK_EQ_STR(moved, rebuilt);
        dc_free(moved);
        dc_free(rebuilt);
    }
    for (int k = 0; k < 5; k++) feed2(&a, &b, &w, 200, 50);
    optimize_in_place_maps(&a, true, maps);
    for (int k = 0; k < 5; k++) feed2(&a, &b, &w, 200, 50); /* merges on moved slots */
    char *sa = mfx_state(&a), *sb = mfx_state(&b);
    CHECK_EQ_STR(sa, sb);
    CHECK(table_stat(a.dir).files < table_stat(b.dir).files);
    dc_free(sa);
    dc_free(sb);
    mfx_close(&a);
    mfx_close(&b);
}

TEST(optimize_index_follows_dv)
{
    twin_tables(DC_MERGE_DV, true);
}

TEST(optimize_index_follows_dv_keys_looked_up)
{
    twin_tables(DC_MERGE_DV, false);
}

TEST(optimize_index_follows_cow)
{
    twin_tables(DC_MERGE_COW, true);
}

/* Issue 13, maintenance beside ingestion: the rewrite is prepared on a
 * snapshot of its own (the maintenance thread's) while batches commit
 * updates and deletes of rows in its inputs; the commit on the merge
 * table's snapshot carries those deletes over as a deletion vector (dv) or
 * leaves the bins out (cow). Either way the table equals its twin that was
 * never optimized, and the moved key index equals a rebuilt one. */
static void prepare_then_batches(dc_merge_mode mode)
{
    mfx a, b;
    mfx_open_id(&a, mode);
    mfx_open_id(&b, mode);
    wl w = {1313, 1700000000000, {false}};
    for (int k = 0; k < 10; k++) feed2(&a, &b, &w, 200, 50);
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *own = NULL;
    CHECK_OK(dc_storage_open(&s, a.dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&own, s, -1, &err), &err);
    dc_optimize_opts o;
    dc_optimize_opts_init(&o);
    o.max_retries = 0;
    o.automatic = true;
    o.row_maps = true;
    dc_optimize_prepared *p = NULL;
    CHECK_OK(dc_optimize_prepare(&p, own, &o, &err), &err);
    CHECK(!dc_optimize_prepared_empty(p));
    for (int k = 0; k < 3; k++) feed2(&a, &b, &w, 200, 50); /* rows of the inputs go */
    CHECK_OK(dc_delta_snapshot_update(own, -1, &err), &err);
    CHECK_OK(dc_optimize_prepared_rebase(p, own, &err), &err); /* the thread's share */
    for (int k = 0; k < 2; k++) feed2(&a, &b, &w, 200, 50);  /* and the commit's */
    dc_optimize_result r;
    dc_optimize_result_init(&r);
    CHECK_OK(dc_optimize_commit_prepared(&r, p, dc_merge_table_snapshot(a.t), &err), &err);
    if (mode == DC_MERGE_DV) {
        CHECK(r.version >= 0 && r.rows_carried > 0 && r.bins_dropped == 0);
    } else {
        CHECK(r.rows_carried == 0 && r.bins_dropped > 0);
    }
    if (r.version >= 0) {
        const dc_merge_rewrite rw = {r.read_version, r.version, (const char *const *)r.removed,
                                     r.n_removed, r.added, r.n_added,
                                     (const uint32_t *const *)r.row_maps, r.map_rows,
                                     r.map_added};
        CHECK_OK(dc_merge_table_after_rewrite(a.t, &rw, &err), &err);
    }
    dc_optimize_prepared_free(p, s);
    dc_optimize_result_dispose(&r);
    char *moved = mfx_index_dump(a.t);
    mfx_reopen(&a);
    char *rebuilt = mfx_index_dump(a.t);
    CHECK_EQ_STR(moved, rebuilt);
    for (int k = 0; k < 3; k++) feed2(&a, &b, &w, 200, 50); /* merges on moved slots */
    char *sa = mfx_state(&a), *sb = mfx_state(&b);
    CHECK_EQ_STR(sa, sb);
    dc_free(moved);
    dc_free(rebuilt);
    dc_free(sa);
    dc_free(sb);
    dc_delta_snapshot_free(own);
    dc_storage_free(s);
    mfx_close(&a);
    mfx_close(&b);
}

TEST(optimize_prepared_carries_deletes_of_later_batches_dv)
{
    prepare_then_batches(DC_MERGE_DV);
}

TEST(optimize_prepared_leaves_out_changed_bins_cow)
{
    prepare_then_batches(DC_MERGE_COW);
}

/* Issue 13: the first batch after an in-daemon OPTIMIZE cost many times a
 * normal one because the key index was moved by reading the new file back
 * and looking up every key in it (a cache miss each, slower than building
 * the index afresh). With the rewrite's row maps the index is repointed in
 * one pass over its slots: no data file is read and nothing is rebuilt,
 * neither by the move nor by the next batch. */
TEST(optimize_in_place_reads_no_data_file_and_rebuilds_nothing)
{
    mfx a;
    mfx_open_id(&a, DC_MERGE_DV);
    wl w = {7, 1700000000000, {false}};
    for (int k = 0; k < 12; k++) feed(&a, &w, 300, 60);
    dc_merge_index_stats s0, s1, s2;
    dc_merge_index_stats_get(&s0, a.t);
    CHECK(s0.builds == 1 && s0.rows_read == 0); /* built on an empty table, then batches */
    optimize_in_place(&a, true);
    dc_merge_index_stats_get(&s1, a.t);
    CHECK_EQ_INT(table_stat(a.dir).files, 1);
    CHECK_EQ_INT((int64_t)s1.builds, (int64_t)s0.builds);
    CHECK_EQ_INT((int64_t)s1.rows_read, (int64_t)s0.rows_read);
    CHECK_EQ_INT((int64_t)s1.rows, (int64_t)s0.rows);
    feed(&a, &w, 300, 60); /* the first batch after the rewrite */
    dc_merge_index_stats_get(&s2, a.t);
    CHECK_EQ_INT((int64_t)s2.builds, (int64_t)s0.builds);
    CHECK_EQ_INT((int64_t)s2.rows_read, (int64_t)s0.rows_read);
    char *moved = mfx_index_dump(a.t);
    mfx_reopen(&a);
    char *rebuilt = mfx_index_dump(a.t);
    CHECK_EQ_STR(moved, rebuilt);
    dc_merge_index_stats_get(&s2, a.t);
    CHECK(s2.rows_read > 0); /* the counter counts: a reopen reads every live row */
    dc_free(moved);
    dc_free(rebuilt);
    mfx_close(&a);
}

/* Without row maps the move reads the new file: its rows and no more. */
TEST(optimize_in_place_without_maps_reads_only_the_new_file)
{
    mfx a;
    mfx_open_id(&a, DC_MERGE_DV);
    wl w = {8, 1700000000000, {false}};
    for (int k = 0; k < 12; k++) feed(&a, &w, 300, 60);
    dc_merge_index_stats s0, s1;
    dc_merge_index_stats_get(&s0, a.t);
    optimize_in_place_maps(&a, true, false);
    dc_merge_index_stats_get(&s1, a.t);
    CHECK_EQ_INT((int64_t)s1.builds, (int64_t)s0.builds);
    CHECK_EQ_INT((int64_t)(s1.rows_read - s0.rows_read), (int64_t)s1.rows); /* one live file */
    mfx_close(&a);
}

/* A (string, long) key: canonical key bytes rather than int keys. */
TEST(optimize_index_follows_composite_keys)
{
    static const char *const two[] = {"tenant", "id"};
    static const dc_cdc_key_type types[] = {DC_CDC_KEY_STRING, DC_CDC_KEY_LONG};
    mfx a;
    mfx_init(&a, DC_MERGE_DV, 2, two, types);
    mfx_open(&a);
    wl w = {5, 1700000000000, {false}};
    char img[64], tenant[16];
    for (int b = 0; b < 10; b++) {
        for (int e = 0; e < 40; e++) {
            const int k = (int)(next_rand(&w) % 150);
            snprintf(tenant, sizeof tenant, "t%d", k % 7);
            snprintf(img, sizeof img, "{\"v\":%llu}", (unsigned long long)next_rand(&w));
            dc_cdc_event ev = mfx_ev(w.live[k] ? 'u' : 'c', 0, ++w.ts, img);
            ev.n_keys = 2;
            ev.keys[0].type = DC_CDC_KEY_STRING;
            ev.keys[0].s = tenant;
            ev.keys[0].len = (uint32_t)strlen(tenant);
            ev.keys[1].type = DC_CDC_KEY_LONG;
            ev.keys[1].i = k;
            w.live[k] = true;
            mfx_add_at(&a, &ev, "t", 0, a.next_off++);
        }
        mfx_commit(&a);
    }
    char *before = mfx_state(&a);
    optimize_in_place(&a, true);
    MFX_STATE(&a, before);
    char *moved = mfx_index_dump(a.t);
    mfx_reopen(&a);
    char *rebuilt = mfx_index_dump(a.t);
    CHECK_EQ_STR(moved, rebuilt);
    CHECK_EQ_INT(table_stat(a.dir).files, 1);
    dc_free(moved);
    dc_free(rebuilt);
    dc_free(before);
    mfx_close(&a);
}

/* ----------------------------------------------------------- concurrency */

/* In the progress callback (after the bins are written, before the commit)
 * another writer commits: an update of key 0 (a DV change of an input) or
 * an insert of new keys (a new file only). */
typedef struct racer {
    mfx *other;         /* a second merge table on the same directory */
    char op;            /* 'u': update key 0; 'c': insert key 10000 + n */
    int times;          /* commits left to make */
    int64_t ts;
} racer;

static void race(void *ctx, const dc_maint_progress *p)
{
    racer *r = ctx;
    if (r->times <= 0 || p->files_done != p->files_total) return;
    r->times--;
    char img[64];
    const int64_t id = r->op == 'u' ? 0 : 10000 + r->times;
    snprintf(img, sizeof img, "{\"id\":%lld,\"race\":%d}", (long long)id, r->times);
    mfx_add(r->other, r->op, id, ++r->ts, img);
    mfx_commit(r->other);
}

static void race_setup(mfx *f, mfx *g, wl *w)
{
    mfx_open_id(f, DC_MERGE_DV);
    w->rnd = 3;
    w->ts = 1700000000000;
    memset(w->live, 0, sizeof w->live);
    for (int k = 0; k < 10; k++) feed(f, w, 50, 20);
    mfx_add(f, w->live[0] ? 'u' : 'c', 0, ++w->ts, "{\"id\":0}");
    mfx_commit(f);
    *g = *f;
    g->t = NULL;
    g->b = NULL;
    mfx_open(g);
}

TEST(optimize_conflict_with_a_dv_change_gives_up_or_replans)
{
    mfx f, g;
    wl w;
    race_setup(&f, &g, &w);
    const size_t files0 = count_parquet(f.dir);
    racer rc = {&g, 'u', 1, w.ts + 1000};
    dc_optimize_opts o;
    dc_optimize_opts_init(&o);
    o.max_retries = 0;
    o.progress = race;
    o.progress_ctx = &rc;
    dc_optimize_result r;
    dc_err err;
    const int64_t v0 = table_stat(f.dir).version;
    CHECK_EQ_INT(run_dir(&r, f.dir, &o, &err), DC_ECONFLICT);
    CHECK(err.retriable);
    CHECK(strstr(err.msg, "gave up") != NULL);
    CHECK_EQ_INT(r.version, -1);
    /* The racer's commit is there, ours is not, and our file was deleted. */
    CHECK_EQ_INT(table_stat(f.dir).version, v0 + 1);
    CHECK_EQ_INT(count_parquet(f.dir), files0 + 1);
    dc_optimize_result_dispose(&r);
    /* With a retry it plans again on the new version and commits. */
    char *want = NULL;
    rc.times = 1;
    o.max_retries = 2;
    CHECK_OK(run_dir(&r, f.dir, &o, &err), &err);
    CHECK_EQ_INT(r.retries, 1);
    CHECK_EQ_INT(r.version, v0 + 3); /* racer, racer again, then us */
    CHECK_EQ_INT(table_stat(f.dir).files, 1);
    mfx_reopen(&g);
    want = mfx_state(&g);
    CHECK(strstr(want, "\"race\":0") != NULL); /* the second racer's row survived */
    MFX_STATE(&f, want);
    dc_free(want);
    dc_optimize_result_dispose(&r);
    dc_merge_table_free(g.t);
    dc_merge_batch_free(g.b);
    mfx_close(&f);
}

TEST(optimize_blind_append_does_not_conflict)
{
    mfx f, g;
    wl w;
    race_setup(&f, &g, &w);
    racer rc = {&g, 'c', 1, w.ts + 1000};
    dc_optimize_opts o;
    dc_optimize_opts_init(&o);
    o.max_retries = 0;
    o.progress = race;
    o.progress_ctx = &rc;
    dc_optimize_result r;
    dc_err err;
    const int64_t v0 = table_stat(f.dir).version;
    CHECK_OK(run_dir(&r, f.dir, &o, &err), &err);
    CHECK_EQ_INT(r.retries, 0);
    CHECK_EQ_INT(r.version, v0 + 2); /* committed after the racer's version */
    CHECK_EQ_INT(r.read_version, v0);
    CHECK_EQ_INT(table_stat(f.dir).files, 2); /* ours and the racer's */
    mfx_reopen(&g);
    char *want = mfx_state(&g);
    CHECK(strstr(want, "10000|") != NULL);
    MFX_STATE(&f, want);
    dc_free(want);
    dc_optimize_result_dispose(&r);
    dc_merge_table_free(g.t);
    mfx_close(&f);
}

/* --------------------------------------------------------- foreign table */

static const char FOREIGN[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"name\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"elementType\":\"string\","
    "\"containsNull\":true},\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"s\",\"type\":{\"type\":\"struct\",\"fields\":["
    "{\"name\":\"a\",\"type\":\"integer\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"b\",\"type\":\"double\",\"nullable\":true,\"metadata\":{}}]},"
    "\"nullable\":true,\"metadata\":{}}]}";

static void write_rows(const char *dir, const char *schema, int first, int n, uint64_t seed)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_tx *tx = NULL;
    dc_delta_file_writer *fw = NULL;
    dc_arena a;
    dc_arena_init(&a, 1 << 24);
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    CHECK_OK(dc_delta_tx_new(&tx, snap, "WRITE", &err), &err);
    if (schema) CHECK_OK(dc_delta_tx_set_schema(tx, schema, &err), &err);
    CHECK_OK(dc_delta_file_writer_new(&fw, snap, schema, &err), &err);
    for (int i = 0; i < n; i++) {
        /* ids in a scrambled order: the files are not sorted */
        const int id = first + (int)(((uint64_t)i * 7919 + seed) % (uint64_t)n);
        char text[512];
        snprintf(text, sizeof text,
                 "{\"p\":%s,\"id\":%d,\"name\":%s,\"tags\":%s,\"s\":%s%s}",
                 id % 3 == 0 ? "\"x\"" : id % 3 == 1 ? "\"y\"" : "null", id,
                 id % 5 ? "\"n\\u00e9\"" : "null",
                 id % 4 == 0 ? "null" : id % 4 == 1 ? "[]" : "[\"a\",null,\"bb\"]",
                 id % 6 == 0 ? "null" : id % 2 ? "{\"a\":1,\"b\":2.5}" : "{\"a\":null,\"b\":-1.0}",
                 schema ? ",\"extra\":\"e\"" : "");
        dc_json *row = NULL;
        CHECK_OK(dc_json_parse(&row, &a, text, strlen(text), &err), &err);
        CHECK_OK(dc_delta_file_writer_write_row(fw, row, &err), &err);
    }
    CHECK_OK(dc_delta_file_writer_finish(fw, tx, &err), &err);
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_commit(&v, tx, &err), &err);
    dc_delta_file_writer_free(fw);
    dc_delta_tx_free(tx);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    dc_arena_dispose(&a);
}

/* Deletes rows 0 and 2 of every live file through DVs. */
static void delete_some(const char *dir)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_tx *tx = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
    const uint64_t rows[] = {0, 2};
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++)
        CHECK_OK(dc_delta_tx_delete_rows(tx, dc_delta_snapshot_file(snap, i), rows, 2, &err), &err);
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_commit(&v, tx, &err), &err);
    dc_delta_tx_free(tx);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
}

TEST(optimize_foreign_partitioned_nested_evolved_table)
{
    char dir[64] = "/tmp/dc_optf_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    dc_err err;
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    const char *parts[] = {"p"};
    dc_delta_create_opts co = {FOREIGN, 1, parts, 0, NULL, true, NULL, NULL};
    CHECK_OK(dc_delta_table_create(s, &co, &err), &err);
    dc_storage_free(s);
    for (int b = 0; b < 5; b++) write_rows(dir, NULL, b * 40, 40, (uint64_t)b);
    delete_some(dir);
    /* A column added later: older files lack it (read as null). */
    char evolved[sizeof FOREIGN + 128];
    snprintf(evolved, sizeof evolved, "%.*s,{\"name\":\"extra\",\"type\":\"string\","
             "\"nullable\":true,\"metadata\":{}}]}", (int)(sizeof FOREIGN - 3), FOREIGN);
    write_rows(dir, evolved, 200, 30, 9);
    const tstat t0 = table_stat(dir);
    CHECK(t0.files >= 15 && t0.dv_files > 0);
    mfx fake;
    memset(&fake, 0, sizeof fake);
    strcpy(fake.dir, dir);
    char *before = state_at(&fake, -1);
    /* Not the raw layout: no sort key by default, --key id sorts. */
    dc_optimize_opts o;
    dc_optimize_opts_init(&o);
    const char *const keys[] = {"id"};
    o.sort = DC_OPTIMIZE_SORT_KEYS;
    o.keys = keys;
    o.n_keys = 1;
    dc_optimize_result r;
    CHECK_OK(run_dir(&r, dir, &o, &err), &err);
    const tstat t1 = table_stat(dir);
    CHECK_EQ_INT(t1.files, 3);      /* x, y and null partitions */
    CHECK_EQ_INT(t1.dv_files, 0);
    CHECK_EQ_INT(r.files_added, 3);
    CHECK_EQ_INT(r.rows_dropped, 2 * 15);
    char *after = state_at(&fake, -1);
    CHECK_EQ_STR(after, before);
    CHECK(files_sorted_by(dir, "id"));
    dc_free(after);
    dc_optimize_result_dispose(&r);
    /* A partition column is no sort key; an unknown column neither. */
    const char *const bad[] = {"p"};
    o.keys = bad;
    write_rows(dir, NULL, 500, 5, 1);
    write_rows(dir, NULL, 600, 5, 1);
    CHECK_EQ_INT(run_dir(&r, dir, &o, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "partition column") != NULL);
    dc_optimize_result_dispose(&r);
    dc_free(before);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* ------------------------------------------------- allocation failures */

/* The Nth allocation of a run fails: the run either commits (then the
 * table holds one file; some failures only change the plan, e.g. a file's
 * stats that could not be read) or leaves the table as it was, with no file
 * of its own left behind; either way the rows are the same. Under ASan this
 * also checks nothing leaks on any error path. */
static int run_failing(const char *dir, long n, const dc_optimize_opts *o, long *allocs,
                       int64_t *version)
{
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_err err;
    dc_err_clear(&err);
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    dc_optimize_result r;
    dc_optimize_result_init(&r);
    dc_alloc_fail_after(n);
    const int rc = dc_optimize_run(&r, snap, o, &err);
    if (allocs) *allocs = dc_alloc_count();
    dc_alloc_fail_after(0);
    *version = r.version;
    dc_optimize_result_dispose(&r);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return rc;
}

TEST(optimize_allocation_failures_leave_the_table_whole)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    wl w = {11, 1700000000000, {false}};
    for (int b = 0; b < 6; b++) feed(&f, &w, 60, 25);
    char *want = mfx_state(&f);
    const tstat t0 = table_stat(f.dir);
    const size_t files0 = count_parquet(f.dir);
    char pristine[80], cmd[256];
    snprintf(pristine, sizeof pristine, "%s.pristine", f.dir);
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", f.dir, pristine);
    CHECK(system(cmd) == 0);
    dc_optimize_opts o;
    dc_optimize_opts_init(&o);
    o.max_retries = 0;
    long total = 0;
    dc_alloc_fail_after(0);
    int64_t v = -1;
    CHECK_EQ_INT(run_failing(f.dir, 0, &o, &total, &v), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", f.dir, pristine, f.dir);
    CHECK(system(cmd) == 0);
    int failures = 0;
    for (long n = 1; n <= total; n += n < 400 ? 1 : 13) {
        const int rc = run_failing(f.dir, n, &o, NULL, &v);
        MFX_STATE(&f, want);
        if (rc == 0 || v >= 0) { /* committed (an error after the commit says so) */
            CHECK(v == t0.version + 1);
            CHECK_EQ_INT(table_stat(f.dir).files, 1);
            CHECK_EQ_INT(count_parquet(f.dir), files0 + 1);
            CHECK(system(cmd) == 0); /* back to the table before */
            continue;
        }
        failures++;
        CHECK(rc == DC_ENOMEM || rc == DC_ELIMIT || rc == DC_EIO);
        CHECK_EQ_INT(table_stat(f.dir).version, t0.version);
        CHECK_EQ_INT(count_parquet(f.dir), files0);
    }
    CHECK(failures > 50);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pristine);
    CHECK(system(cmd) == 0);
    dc_free(want);
    mfx_close(&f);
}
