/*
 * The persisted key index of a table: _deltacdc/keyindex/<version>.dcx
 * (merge_ixfile.c has the format). Delta readers, delta-rs and Spark VACUUM,
 * and our own VACUUM skip directories whose name starts with '_', so the
 * table's readers never see it. The file is written through the storage
 * layer's streaming writer (a temporary object published whole: a crash
 * leaves the old file or the new one, never a torn one, on disk and on S3)
 * and older ones are removed after it appears. On open, the newest file at
 * or below the table's version is loaded and checked, and the commits after
 * its version are followed as for another writer's (files added indexed,
 * files removed or given a new DV re-read); anything that does not check out
 * is logged and the index built from the data files instead.
 */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#define IX_DIR "_deltacdc/keyindex"
#define IX_EXT ".dcx"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What a file must have been written for: the table (its metaData id), its
 * schema and key columns. A fixed seed: the value is compared across
 * processes. */
static uint64_t table_ident(const dc_merge_table *t)
{
    const uint64_t seed = 0x6b6579696478ULL;
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(t->snap);
    uint64_t h = dc_mkey_hash_bytes(seed, (const uint8_t *)"dcx", 3);
    if (m && m->id) h ^= dc_mkey_hash_bytes(seed + 1, (const uint8_t *)m->id, strlen(m->id));
    if (t->schema_json)
        h ^= dc_mkey_hash_bytes(seed + 2, (const uint8_t *)t->schema_json, strlen(t->schema_json));
    for (uint32_t i = 0; i < t->n_keys; i++)
        h = dc_mkey_hash_bytes(h + i, (const uint8_t *)t->key_names[i], strlen(t->key_names[i])) ^
            (uint64_t)t->key_types[i];
    return h ^ (uint64_t)t->format;
}

static void ix_path(char *out, size_t n, int64_t version)
{
    snprintf(out, n, IX_DIR "/%020" PRId64 IX_EXT, version);
}

/* The version in a file name "<20 digits>.dcx", or -1. */
static int64_t name_version(const char *name)
{
    if (strlen(name) != 20 + strlen(IX_EXT) || strcmp(name + 20, IX_EXT) != 0) return -1;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

/* ------------------------------------------------------------- writing */

static int writer_put(void *ctx, const void *p, size_t n, dc_err *err)
{
    return dc_storage_writer_write(ctx, p, n, err);
}

/* Removes the index files other than version `keep` (older ones, and ones
 * a table since rolled back past), and temporary files of writes a crash
 * cut short. Failures only cost space. */
static void remove_others(dc_merge_table *t, int64_t keep)
{
    dc_storage_list l;
    dc_storage_list_init(&l);
    dc_err err;
    if (dc_storage_list_dir(t->s, IX_DIR, NULL, &l, &err) == 0)
        for (size_t i = 0; i < l.n; i++) {
            const char *name = l.entries[i].name;
            const int64_t v = name_version(name);
            const bool tmp = dc_storage_is_temp_name(name);
            if ((v < 0 && !tmp) || v == keep || strlen(name) > 100) continue;
            char p[128];
            snprintf(p, sizeof p, IX_DIR "/%s", name);
            if (dc_storage_remove(t->s, p, &err) < 0 && err.code != DC_ENOTFOUND)
                DC_LOG(DC_LOG_WARN, "merge", "%s: %s", t->s->root, err.msg);
        }
    dc_storage_list_dispose(&l);
}

int dc_merge_table_persist(dc_merge_table *t, dc_err *err)
{
    if (t->broken) return dc_err_set(err, DC_EINVAL, "key index: out of step, not persisted");
    const double t0 = now_s();
    const int64_t version = dc_delta_snapshot_version(t->snap);
    if (version == t->persisted_version) return 0; /* that file is there already */
    char path[128];
    ix_path(path, sizeof path, version);
    dc_storage_writer *w = NULL;
    int rc = dc_storage_writer_open(&w, t->s, path, err);
    if (rc == 0) rc = dc_mxf_write(&t->index, version, table_ident(t), writer_put, w, err);
    const uint64_t bytes = w ? dc_storage_writer_bytes(w) : 0;
    if (rc == 0) rc = dc_storage_writer_commit(w, false, err);
    else dc_storage_writer_abort(w);
    if (rc < 0) {
        dc_err_prefix(err, "writing the key index %s/%s", t->s->root, path);
        return dc_storage_unknown_is_failure(rc, err);
    }
    t->persisted_version = version;
    remove_others(t, version);
    DC_LOG(DC_LOG_INFO, "merge", "%s: key index of %zu keys persisted at version %" PRId64
           " (%s, %.1f MiB) in %.3f s", t->s->root, t->index.n, version, path,
           (double)bytes / 1048576.0, now_s() - t0);
    return 0;
}

/* ------------------------------------------------------------- loading */

typedef struct ix_src {
    dc_storage *s;
    const char *path;
} ix_src;

static int src_read(void *ctx, uint64_t off, size_t n, void *dst, dc_err *err)
{
    const ix_src *src = ctx;
    return dc_storage_read_range(src->s, src->path, off, n, dst, err);
}

/* The newest index file at or below `upto`: its version, or -1. */
static int newest_file(int64_t *version, dc_merge_table *t, int64_t upto, dc_err *err)
{
    *version = -1;
    dc_storage_list l;
    dc_storage_list_init(&l);
    int rc = dc_storage_list_dir(t->s, IX_DIR, NULL, &l, err);
    if (rc == DC_ENOTFOUND) rc = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const int64_t v = name_version(l.entries[i].name);
        if (v >= 0 && v <= upto && v > *version) *version = v;
    }
    dc_storage_list_dispose(&l);
    return rc;
}

/* Every row the index points at is in a live file. */
static bool rows_live(const dc_merge_table *t)
{
    const mx_index *x = &t->index;
    for (size_t i = 0; i < x->cap; i++) {
        const uint32_t f = x->slots[i].file;
        if (f && f != MX_FILE_NONE + 1 && x->files[f - 1].snap_i == SIZE_MAX) return false;
    }
    return true;
}

/* Loads file `v` and follows the log to the snapshot's version. */
static int load_at(dc_merge_table *t, int64_t v, dc_err *err)
{
    char path[128];
    ix_path(path, sizeof path, v);
    ix_src src = {t->s, path};
    uint64_t size = 0;
    int64_t got = -1;
    DC_TRY(dc_storage_size(t->s, path, &size, err));
    DC_TRY(dc_mxf_load(&t->index, &got, table_ident(t), size, src_read, &src, err));
    if (got != v) return dc_err_set(err, DC_ECORRUPT, "it says version %" PRId64, got);
    size_t unknown = 0;
    DC_TRY(dc_merge_files_sync(t, &unknown, err));
    const int64_t to = dc_delta_snapshot_version(t->snap);
    if (v == to && unknown)
        return dc_err_set(err, DC_ECORRUPT, "it does not match the table's files");
    if (v < to) DC_TRY(dc_merge_table_follow(t, v, -1, err));
    if (!rows_live(t)) return dc_err_set(err, DC_ECORRUPT, "rows in files no longer live");
    return 0;
}

int dc_merge_index_open(dc_merge_table *t, dc_err *err)
{
    const double t0 = now_s();
    const int64_t to = dc_delta_snapshot_version(t->snap);
    int64_t v = -1;
    dc_err why;
    dc_err_clear(&why);
    const uint64_t builds = t->n_builds;
    int rc = t->persist ? newest_file(&v, t, to, &why) : 0;
    if (rc == 0 && v >= 0) rc = load_at(t, v, &why);
    if (rc == 0 && v >= 0) {
        t->n_loads++;
        t->persisted_version = v;
        if (t->n_builds == builds) /* a metadata change on the way rebuilt it */
            DC_LOG(DC_LOG_INFO, "merge", "%s: key index of %zu keys loaded from " IX_DIR
                   "/%020" PRId64 IX_EXT " and followed to version %" PRId64 " in %.3f s "
                   "(%.1f bytes per key)", t->s->root, t->index.n, v, to, now_s() - t0,
                   t->index.n ? (double)dc_mx_bytes(&t->index) / (double)t->index.n : 0.0);
        return 0;
    }
    if (rc < 0) {
        if (rc == DC_ENOMEM) return dc_err_set(err, rc, "%s", why.msg);
        DC_LOG(DC_LOG_WARN, "merge", "%s: key index file at version %" PRId64 " not used (%s): "
               "building the index from the data files", t->s->root, v, why.msg);
        t->broken = true;
        dc_mx_clear(&t->index);
    }
    DC_TRY(dc_merge_index_build(t, err));
    t->broken = false;
    return 0;
}
