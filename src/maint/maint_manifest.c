/*
 * maint: Delta's symlink manifests (GENERATE symlink_format_manifest), for
 * Hive/Presto/Trino/Athena external tables that read a table through a
 * SymlinkTextInputFormat: _symlink_format_manifest/<partition dir>/manifest
 * lists the live data files of that partition, one absolute path per line.
 *
 * Lines are written as Delta writes them: the table path qualified with its
 * scheme, "file:/abs/dir/part-....parquet" (Hadoop Path text, no %-escaping).
 * The partition directory uses the Hive escaping of data directories
 * (dc_delta_partition_dir). A manifest whose content did not change is not
 * rewritten (after every commit only the touched partitions cost a write).
 */
#include "maint_int.h"

#include <stdlib.h>

#define MANIFEST_DIR "_symlink_format_manifest"
#define MAX_MANIFEST_BYTES ((size_t)1 << 32)

/* One live file: the partition directory it belongs to and its line. */
typedef struct mf_entry {
    const char *dir;     /* "col=v/col2=w" or "" (arena) */
    const char *line;    /* "file:/abs/path" (arena) */
} mf_entry;

typedef struct mf {
    dc_delta_snapshot *snap;   /* borrowed */
    dc_storage *s;             /* borrowed */
    mt_root root;              /* the table root, absolute */
    dc_arena arena;            /* entry strings */
    mf_entry *entries;         /* one per live file (owned) */
    size_t n;
    mt_strset written;         /* manifest storage paths kept (written or unchanged) */
    dc_buf tmp;                /* scratch */
    dc_buf content;            /* one manifest's text */
    dc_buf old;                /* the manifest already there */
    dc_maint_manifest_result *res;  /* counters */
} mf;

int dc_maint_manifest_check(const dc_delta_snapshot *snap, dc_err *err)
{
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(snap);
    bool found = false;
    const char *dv = dc_delta_map_get(&m->configuration, "delta.enableDeletionVectors", &found);
    size_t with_dv = 0;
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++)
        if (dc_delta_snapshot_file(snap, i)->has_dv) with_dv++;
    if ((dv && strcmp(dv, "true") == 0) || with_dv > 0)
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "symlink manifest refused: the table has deletion vectors (%s%zu live "
                          "files with a DV). A manifest lists whole files, so Hive/Presto/Athena "
                          "would return the rows the DVs delete; Delta refuses it too. Rewrite "
                          "the files without DVs (deltacdc optimize) and set "
                          "delta.enableDeletionVectors=false first",
                          dv && strcmp(dv, "true") == 0 ? "delta.enableDeletionVectors=true, "
                                                        : "",
                          with_dv);
    if (dc_delta_snapshot_cm_mode(snap) != DC_DELTA_CM_NONE)
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "symlink manifest refused: the table uses column mapping "
                          "(delta.columnMapping.mode): its files' columns have physical names "
                          "that a manifest reader would not map back; Delta refuses it too");
    return 0;
}

/* ----------------------------------------------------------- entries */

/* "col=v/col2=w" of a live file, into v->tmp (NUL-terminated). */
static int partition_dir(mf *v, const dc_delta_add *a, dc_err *err)
{
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(v->snap);
    dc_buf_reset(&v->tmp);
    for (uint32_t i = 0; i < m->n_partition_columns; i++) {
        bool found = false;
        const char *c = m->partition_columns[i];
        const char *val = dc_delta_map_get(&a->partition_values, c, &found);
        if (i > 0) DC_TRY(dc_buf_putc(&v->tmp, '/', err));
        DC_TRY(dc_delta_partition_dir(&v->tmp, c, val, err));
    }
    DC_TRY(dc_buf_putc(&v->tmp, '\0', err));
    v->tmp.len--;
    return 0;
}

/* "file:" + absolute path of a live file (on an object store its URI),
 * into v->tmp (NUL-terminated). */
static int file_line(mf *v, const dc_delta_add *a, dc_err *err)
{
    dc_buf p;
    dc_buf_init(&p, (size_t)1 << 20);
    dc_buf_reset(&v->tmp);
    int rc = dc_delta_path_to_storage(&p, a->path, err);
    if (rc == DC_EUNSUPPORTED) {  /* a URI of another scheme: already absolute */
        dc_err_clear(err);
        rc = dc_buf_puts(&v->tmp, a->path, err);
    } else if (rc == 0 && !v->s->ops->local_path) {
        /* An object store: the table's URI ("s3://bucket/prefix/part-...",
         * what Athena and Trino read), paths relative to it. */
        rc = dc_buf_appendf(&v->tmp, err, "%s/", v->s->root);
        if (rc == 0) rc = dc_buf_append(&v->tmp, p.data, p.len, err);
    } else if (rc == 0) {
        rc = dc_buf_puts(&v->tmp, "file:", err);
        if (rc == 0 && (p.len == 0 || p.data[0] != '/'))
            rc = dc_buf_appendf(&v->tmp, err, "%s/", (const char *)v->root.abs.data);
        if (rc == 0) rc = dc_buf_append(&v->tmp, p.data, p.len, err);
    }
    if (rc == 0) rc = dc_buf_putc(&v->tmp, '\0', err);
    if (rc == 0) v->tmp.len--;
    dc_buf_dispose(&p);
    return rc;
}

static int build_entries(mf *v, dc_err *err)
{
    const size_t n = dc_delta_snapshot_n_files(v->snap);
    v->entries = dc_malloc((n ? n : 1) * sizeof *v->entries);
    if (!v->entries) return dc_err_set(err, DC_ENOMEM, "manifest: out of memory (%zu files)", n);
    for (size_t i = 0; i < n; i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(v->snap, i);
        mf_entry *e = &v->entries[i];
        DC_TRY(partition_dir(v, a, err));
        if (!(e->dir = dc_arena_strndup(&v->arena, (const char *)v->tmp.data, v->tmp.len, err)))
            return DC_ENOMEM;
        DC_TRY(file_line(v, a, err));
        if (!(e->line = dc_arena_strndup(&v->arena, (const char *)v->tmp.data, v->tmp.len, err)))
            return DC_ENOMEM;
        v->n++;
    }
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const mf_entry *x = a, *y = b;
    const int c = strcmp(x->dir, y->dir);
    return c ? c : strcmp(x->line, y->line);
}

/* ----------------------------------------------------------- writing */

/* Writes the manifest of dir from entries [lo, hi) unless it already holds
 * exactly that text. */
static int write_one(mf *v, const char *dir, size_t lo, size_t hi, dc_err *err)
{
    dc_buf_reset(&v->content);
    for (size_t i = lo; i < hi; i++) {
        DC_TRY(dc_buf_puts(&v->content, v->entries[i].line, err));
        DC_TRY(dc_buf_putc(&v->content, '\n', err));
    }
    dc_buf_reset(&v->tmp);
    DC_TRY(dc_buf_appendf(&v->tmp, err, MANIFEST_DIR "/%s%smanifest", dir, *dir ? "/" : ""));
    DC_TRY(mt_buf_z(&v->tmp, err));
    const char *path = (const char *)v->tmp.data;
    DC_TRY(mt_strset_add(&v->written, path, v->tmp.len, NULL, err));
    dc_buf_reset(&v->old);
    const int rc = dc_storage_read(v->s, path, &v->old, NULL);
    if (rc == 0 && v->old.len == v->content.len &&
        (v->old.len == 0 || memcmp(v->old.data, v->content.data, v->old.len) == 0)) {
        v->res->n_unchanged++;
    } else {
        DC_TRY(dc_storage_write(v->s, path, v->content.data, v->content.len, err));
        v->res->n_manifests++;
    }
    v->res->n_files += hi - lo;
    return 0;
}

static int write_all(mf *v, dc_err *err)
{
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(v->snap);
    if (v->n) qsort(v->entries, v->n, sizeof *v->entries, cmp_entry);
    if (m->n_partition_columns == 0) return write_one(v, "", 0, v->n, err);
    for (size_t lo = 0, hi; lo < v->n; lo = hi) {
        for (hi = lo + 1; hi < v->n && strcmp(v->entries[hi].dir, v->entries[lo].dir) == 0; hi++)
            ;
        DC_TRY(write_one(v, v->entries[lo].dir, lo, hi, err));
    }
    return 0;
}

/* Directories under _symlink_format_manifest/, breadth first. */
typedef struct mf_dirs {
    const char **paths;   /* storage paths (arena strings); owned array */
    size_t n, cap;
} mf_dirs;

static int push_dir(mf *v, mf_dirs *d, const char *p, size_t n, dc_err *err)
{
    if (d->n == d->cap) {
        const size_t cap = d->cap ? d->cap * 2 : 16;
        const char **np = cap <= DC_DELTA_MAX_FILES ? dc_realloc(d->paths, cap * sizeof *np) : NULL;
        if (!np) return dc_err_set(err, DC_ENOMEM, "manifest: out of memory (%zu dirs)", cap);
        d->paths = np;
        d->cap = cap;
    }
    if (!(d->paths[d->n] = dc_arena_strndup(&v->arena, p, n, err))) return DC_ENOMEM;
    d->n++;
    return 0;
}

/* Lists one directory: subdirectories are queued, stale manifests removed. */
static int sweep_dir(mf *v, mf_dirs *d, const char *dir, dc_err *err)
{
    dc_storage_list l;
    dc_storage_list_init(&l);
    int rc = dc_storage_list_dir(v->s, dir, NULL, &l, err);
    if (rc == DC_ENOTFOUND) {
        dc_err_clear(err);
        rc = 0;
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        dc_buf_reset(&v->tmp);
        rc = dc_buf_appendf(&v->tmp, err, "%s/%s", dir, l.entries[i].name);
        if (rc == 0) rc = mt_buf_z(&v->tmp, err);
        if (rc < 0) break;
        const char *p = (const char *)v->tmp.data;
        if (l.entries[i].is_dir) {
            rc = push_dir(v, d, p, v->tmp.len, err);
        } else if (strcmp(l.entries[i].name, "manifest") == 0 &&
                   !mt_strset_has(&v->written, p, v->tmp.len)) {
            rc = dc_storage_remove(v->s, p, err);
            if (rc == DC_ENOTFOUND) {
                dc_err_clear(err);  /* a concurrent writer removed it */
                rc = 0;
            }
            if (rc == 0) v->res->n_stale++;
        }
    }
    dc_storage_list_dispose(&l);
    return rc;
}

/* Removes `manifest` files under _symlink_format_manifest/ that were not
 * just written (partitions without live files), then empty directories. */
static int remove_stale(mf *v, dc_err *err)
{
    mf_dirs d = {NULL, 0, 0};
    int rc = sweep_dir(v, &d, MANIFEST_DIR, err);
    for (size_t i = 0; rc == 0 && i < d.n; i++) rc = sweep_dir(v, &d, d.paths[i], err);
    for (size_t i = d.n; rc == 0 && i-- > 0;) (void)mt_rmdir_if_empty(v->s, d.paths[i]);
    dc_free(d.paths);
    return rc;
}

int dc_maint_manifest_write(dc_maint_manifest_result *out, dc_delta_snapshot *snap, dc_err *err)
{
    dc_maint_manifest_result res;
    mf v;
    memset(&res, 0, sizeof res);
    memset(&v, 0, sizeof v);
    v.snap = snap;
    v.s = dc_delta_snapshot_storage(snap);
    v.res = &res;
    dc_arena_init(&v.arena, (size_t)1 << 40);
    mt_strset_init(&v.written);
    dc_buf_init(&v.tmp, (size_t)1 << 20);
    dc_buf_init(&v.content, MAX_MANIFEST_BYTES);
    dc_buf_init(&v.old, MAX_MANIFEST_BYTES);
    bool have_root = false;
    int rc = mt_check_usable(snap, "manifest", err);
    if (rc == 0) rc = dc_maint_manifest_check(snap, err);
    if (rc == 0 && (rc = mt_root_init(&v.root, v.s, err)) == 0) have_root = true;
    if (rc == 0) rc = build_entries(&v, err);
    if (rc == 0) rc = write_all(&v, err);
    if (rc == 0) rc = remove_stale(&v, err);
    if (rc < 0) dc_err_prefix(err, "manifest of %s", v.s->root);
    if (have_root) mt_root_dispose(&v.root);
    dc_buf_dispose(&v.old);
    dc_buf_dispose(&v.content);
    dc_buf_dispose(&v.tmp);
    mt_strset_dispose(&v.written);
    dc_arena_dispose(&v.arena);
    dc_free(v.entries);
    if (out) *out = res;
    return rc;
}
