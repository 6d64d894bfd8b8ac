/*
 * maint: VACUUM (maint.h states the rule). Three steps:
 *   1. the referenced set: live files and their DVs, plus tombstones still
 *      within the retention and their DVs (table-relative paths);
 *   2. list every file under the root, skipping hidden names as Delta does,
 *      and pick the unreferenced ones older than the cutoff;
 *   3. delete them (progress through the callback), then the directories
 *      they leave empty (local storage only).
 * Temporary files a crashed writer left (dc_storage_is_temp_name) are
 * candidates too, though hidden, and in _delta_log/ as well: only those older
 * than the retention, so never a live writer's (one writing a file for longer
 * than the retention is not a case we serve). Right before deleting, the
 * latest version's referenced set is added again (a listing can take long,
 * and a commit that was in doubt may have landed since): a candidate it names
 * is kept. On an object store the unfinished multipart uploads under the
 * root started before the cutoff (a writer that crashed mid-upload: invisible
 * to LIST, billed until aborted) are aborted last; a store that can not list
 * them gets a warning, not a failed VACUUM.
 */
#include "maint_int.h"

#include <stdio.h>
#include <time.h>

/* One file VACUUM will delete. */
typedef struct vac_file {
    const char *path;       /* table-relative (arena) */
    uint64_t size;          /* bytes */
} vac_file;

/* A directory seen while listing, for removing it once empty. */
typedef struct vac_dir {
    const char *path;       /* table-relative (arena) */
    int64_t mtime_ms;       /* as listed, before anything was deleted */
} vac_dir;

typedef struct vac {
    dc_delta_snapshot *snap;           /* borrowed */
    dc_storage *s;                     /* borrowed: the snapshot's storage */
    const dc_delta_metadata *meta;     /* borrowed */
    const dc_maint_vacuum_opts *o;     /* borrowed */
    dc_maint_vacuum_result *res;       /* where counters go */
    mt_root root;                      /* the table root, absolute */
    mt_strset keep;                    /* referenced table-relative paths */
    dc_arena arena;                    /* candidate and directory paths */
    vac_file *files;                   /* candidates to delete (owned) */
    size_t n_files, cap_files;
    vac_dir *dirs;                     /* directories listed, in visit order (owned) */
    size_t n_dirs, cap_dirs;
    dc_buf tmp;                        /* path scratch */
} vac;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ----------------------------------------------------------- hidden names */

bool dc_maint_vacuum_is_hidden(const char *name, const dc_delta_metadata *m)
{
    if (strcmp(name, "metadata") == 0) return true;
    if (name[0] != '_' && name[0] != '.') return false;
    if (strncmp(name, "_delta_index", 12) == 0 || strncmp(name, "_change_data", 12) == 0)
        return false;
    for (uint32_t i = 0; m && i < m->n_partition_columns; i++) {
        const size_t cl = strlen(m->partition_columns[i]);
        if (strncmp(name, m->partition_columns[i], cl) == 0 && name[cl] == '=') return false;
    }
    return true;
}

/* -------------------------------------------------------- referenced set */

static int keep_rel(vac *v, int rc, bool inside, dc_err *err)
{
    if (rc < 0 || !inside) return rc;
    return mt_strset_add(&v->keep, (const char *)v->tmp.data, v->tmp.len, NULL, err);
}

/* Adds a data file path and its DV file (when it has one) to the set. */
static int keep_file(vac *v, const char *path, bool has_dv, const dc_delta_dv_desc *dv,
                     dc_err *err)
{
    bool inside = false;
    dc_buf_reset(&v->tmp);
    int rc = mt_rel_of_log_path(&v->tmp, &inside, &v->root, path, err);
    rc = keep_rel(v, rc, inside, err);
    if (rc == 0 && has_dv) {
        dc_buf_reset(&v->tmp);
        rc = mt_rel_of_dv(&v->tmp, &inside, &v->root, dv, err);
        rc = keep_rel(v, rc, inside, err);
    }
    if (rc < 0) dc_err_prefix(err, "vacuum: referenced file '%.300s'", path);
    return rc;
}

static int build_keep(vac *v, dc_err *err)
{
    dc_delta_snapshot *snap = v->snap;
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(snap, i);
        DC_TRY(keep_file(v, a->path, a->has_dv, &a->dv, err));
    }
    for (size_t i = 0; i < dc_delta_snapshot_n_tombstones(snap); i++) {
        const dc_delta_remove *r = dc_delta_snapshot_tombstone(snap, i);
        /* Delta reads a missing deletionTimestamp as 0: expired. */
        const int64_t ts = r->has_deletion_timestamp ? r->deletion_timestamp : 0;
        if (ts > v->res->cutoff_ms) DC_TRY(keep_file(v, r->path, r->has_dv, &r->dv, err));
    }
    return 0;
}

/* ---------------------------------------------------------------- listing */

static void report(vac *v, const char *phase, uint64_t files_done, uint64_t files_total,
                   uint64_t bytes_done, uint64_t bytes_total)
{
    if (!v->o->progress) return;
    const dc_maint_progress p = {phase, files_done, files_total, bytes_done, bytes_total};
    v->o->progress(v->o->ctx, &p);
}

static int push_file(vac *v, const char *path, size_t n, uint64_t size, dc_err *err)
{
    if (v->n_files == v->cap_files) {
        const size_t cap = v->cap_files ? v->cap_files * 2 : 256;
        vac_file *f = cap <= DC_DELTA_MAX_FILES ? dc_realloc(v->files, cap * sizeof *f) : NULL;
        if (!f) return dc_err_set(err, DC_ENOMEM, "vacuum: out of memory (%zu files)", cap);
        v->files = f;
        v->cap_files = cap;
    }
    const char *copy = dc_arena_strndup(&v->arena, path, n, err);
    if (!copy) return DC_ENOMEM;
    v->files[v->n_files++] = (vac_file){copy, size};
    return 0;
}

static int push_dir(vac *v, const char *path, size_t n, int64_t mtime, dc_err *err)
{
    if (v->n_dirs == v->cap_dirs) {
        const size_t cap = v->cap_dirs ? v->cap_dirs * 2 : 64;
        vac_dir *d = cap <= DC_DELTA_MAX_FILES ? dc_realloc(v->dirs, cap * sizeof *d) : NULL;
        if (!d) return dc_err_set(err, DC_ENOMEM, "vacuum: out of memory (%zu dirs)", cap);
        v->dirs = d;
        v->cap_dirs = cap;
    }
    const char *copy = dc_arena_strndup(&v->arena, path, n, err);
    if (!copy) return DC_ENOMEM;
    v->dirs[v->n_dirs++] = (vac_dir){copy, mtime};
    return 0;
}

/* Decides about one listed file: referenced, recent, or a candidate. */
static int consider(vac *v, const char *rel, size_t n, const dc_storage_entry *e, dc_err *err)
{
    dc_maint_vacuum_result *r = v->res;
    r->files_listed++;
    if (mt_strset_has(&v->keep, rel, n)) r->files_referenced++;
    else if (e->mtime_ms >= r->cutoff_ms) r->files_recent++;
    else DC_TRY(push_file(v, rel, n, e->size, err));
    if (r->files_listed % DC_MAINT_PROGRESS_EVERY == 0)
        report(v, "listing", r->files_listed, 0, 0, 0);
    return 0;
}

/* A writer's temporary file in dir: a candidate once older than the cutoff. */
static int consider_temp(vac *v, const char *dir, const dc_storage_entry *e, dc_err *err)
{
    if (e->mtime_ms >= v->res->cutoff_ms) return 0; /* maybe a writer's, in flight */
    dc_buf_reset(&v->tmp);
    int rc = *dir ? dc_buf_appendf(&v->tmp, err, "%s/", dir) : 0;
    if (rc == 0) rc = dc_buf_puts(&v->tmp, e->name, err);
    if (rc == 0) rc = mt_buf_z(&v->tmp, err);
    if (rc == 0) rc = push_file(v, (const char *)v->tmp.data, v->tmp.len, e->size, err);
    if (rc == 0) v->res->files_temp++;
    return rc;
}

/* Temporary files in _delta_log/ (a commit or checkpoint whose writer died);
 * the log's own files are log cleanup's business. */
static int list_log_temps(vac *v, dc_err *err)
{
    dc_storage_list l;
    dc_storage_list_init(&l);
    int rc = dc_storage_list_dir(v->s, "_delta_log", NULL, &l, err);
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        if (!l.entries[i].is_dir && dc_storage_is_temp_name(l.entries[i].name))
            rc = consider_temp(v, "_delta_log", &l.entries[i], err);
    dc_storage_list_dispose(&l);
    return rc;
}

/* Lists directory dirs[di] (root: ""), recording files and subdirectories;
 * subdirectories are appended to dirs, so the caller's loop visits them. */
static int list_one(vac *v, size_t di, dc_err *err)
{
    dc_storage_list l;
    dc_storage_list_init(&l);
    const char *dir = v->dirs[di].path;
    int rc = dc_storage_list_dir(v->s, dir, NULL, &l, err);
    if (rc == DC_ENOTFOUND && di > 0) {  /* removed by someone meanwhile */
        dc_err_clear(err);
        rc = 0;
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const dc_storage_entry *e = &l.entries[i];
        if (!e->is_dir && dc_storage_is_temp_name(e->name)) {
            rc = consider_temp(v, dir, e, err);
            continue;
        }
        if (dc_maint_vacuum_is_hidden(e->name, v->meta)) continue;
        dc_buf_reset(&v->tmp);
        if (*dir) rc = dc_buf_appendf(&v->tmp, err, "%s/", dir);
        if (rc == 0) rc = dc_buf_puts(&v->tmp, e->name, err);
        if (rc == 0) rc = mt_buf_z(&v->tmp, err);
        if (rc < 0) break;
        const char *rel = (const char *)v->tmp.data;
        if (e->is_dir) rc = push_dir(v, rel, v->tmp.len, e->mtime_ms, err);
        else rc = consider(v, rel, v->tmp.len, e, err);
    }
    dc_storage_list_dispose(&l);
    return rc;
}

static int list_all(vac *v, dc_err *err)
{
    DC_TRY(push_dir(v, "", 0, INT64_MAX, err));
    for (size_t di = 0; di < v->n_dirs; di++) DC_TRY(list_one(v, di, err));
    DC_TRY(list_log_temps(v, err));
    report(v, "listing", v->res->files_listed, v->res->files_listed, 0, 0);
    return 0;
}

/* The latest version's referenced set joins keep, and the candidates it
 * names leave the list (see the head comment). */
static int recheck_live(vac *v, dc_err *err)
{
    dc_delta_snapshot *latest = NULL;
    DC_TRY(dc_delta_snapshot_load(&latest, v->s, -1, err));
    dc_delta_snapshot *listed = v->snap;
    v->snap = latest;
    int rc = build_keep(v, err);
    v->snap = listed;
    dc_delta_snapshot_free(latest);
    if (rc < 0) return rc;
    size_t n = 0;
    for (size_t i = 0; i < v->n_files; i++) {
        if (mt_strset_has(&v->keep, v->files[i].path, strlen(v->files[i].path))) {
            DC_LOG(DC_LOG_INFO, "maint", "vacuum: %s was committed while listing: kept",
                   v->files[i].path);
            v->res->files_relive++;
            continue;
        }
        v->files[n++] = v->files[i];
    }
    v->n_files = n;
    return 0;
}

/* --------------------------------------------------------------- deleting */

/* Files removed per storage request (S3 DeleteObjects takes 1000 keys). */
#define VACUUM_DELETE_BATCH 1000

static int delete_all(vac *v, dc_err *err)
{
    dc_maint_vacuum_result *r = v->res;
    const char *batch[VACUUM_DELETE_BATCH];
    uint64_t total_bytes = 0;
    for (size_t i = 0; i < v->n_files; i++) total_bytes += v->files[i].size;
    for (size_t i = 0; i < v->n_files;) {
        const size_t n = v->n_files - i < VACUUM_DELETE_BATCH ? v->n_files - i
                                                              : VACUUM_DELETE_BATCH;
        for (size_t j = 0; j < n; j++) {
            /* Paired with consider(): never delete what a retained version uses. */
            DC_ASSERT(!mt_strset_has(&v->keep, v->files[i + j].path, strlen(v->files[i + j].path)));
            batch[j] = v->files[i + j].path;
        }
        /* Missing files are not an error: a concurrent vacuum got them first. */
        const int rc = v->o->dry_run ? 0 : dc_storage_remove_many(v->s, batch, n, err);
        if (rc < 0) {
            dc_err_prefix(err, "vacuum (%llu of %zu files removed)",
                          (unsigned long long)r->files_removed, v->n_files);
            return rc;
        }
        for (size_t j = 0; j < n; j++, i++) {
            const vac_file *f = &v->files[i];
            r->files_removed++;
            r->bytes_removed += f->size;
            if (v->o->on_file) v->o->on_file(v->o->ctx, f->path, f->size);
            if (r->files_removed % DC_MAINT_PROGRESS_EVERY == 0)
                report(v, "deleting", r->files_removed, v->n_files, r->bytes_removed, total_bytes);
        }
    }
    report(v, "deleting", r->files_removed, v->n_files, r->bytes_removed, total_bytes);
    return 0;
}

/* Directories left empty, deepest first (dirs is in breadth-first order, so
 * children come after their parent). Only those listed as older than the
 * cutoff: a fresh directory may be one a writer just made for its file. */
static void remove_empty_dirs(vac *v)
{
    if (v->o->dry_run) return;
    for (size_t i = v->n_dirs; i-- > 1;) {
        if (v->dirs[i].mtime_ms >= v->res->cutoff_ms) continue;
        if (mt_rmdir_if_empty(v->s, v->dirs[i].path)) v->res->dirs_removed++;
    }
}

/* ---------------------------------------------------------------- history */

/* A commitInfo-only commit, as Delta writes around a VACUUM: "VACUUM START"
 * (retention parameters, what is about to go) and "VACUUM END" (status and
 * what went). A commit without actions conflicts with nothing. */
static int record(vac *v, bool start, int64_t *version_out, dc_err *err)
{
    dc_delta_tx *tx = NULL;
    char num[24];
    const dc_maint_vacuum_result *r = v->res;
    int rc = dc_delta_tx_new(&tx, v->snap, start ? "VACUUM START" : "VACUUM END", err);
    if (rc == 0 && start) {
        dc_maint_props props;
        rc = dc_maint_props_from_metadata(&props, v->meta, err);
        if (rc == 0) rc = dc_delta_tx_param(tx, "retentionCheckEnabled",
                                            v->o->force ? "false" : "true", err);
        snprintf(num, sizeof num, "%lld", (long long)props.file_retention_ms);
        if (rc == 0) rc = dc_delta_tx_param(tx, "defaultRetentionMillis", num, err);
        snprintf(num, sizeof num, "%lld", (long long)r->retain_ms);
        if (rc == 0 && v->o->retain_ms >= 0)
            rc = dc_delta_tx_param(tx, "specifiedRetentionMillis", num, err);
        if (rc == 0) rc = dc_delta_tx_metric(tx, "numFilesToDelete", (int64_t)v->n_files, err);
        uint64_t bytes = 0;
        for (size_t i = 0; i < v->n_files; i++) bytes += v->files[i].size;
        if (rc == 0) rc = dc_delta_tx_metric(tx, "sizeOfDataToDelete", (int64_t)bytes, err);
    } else if (rc == 0) {
        rc = dc_delta_tx_param(tx, "status", "COMPLETED", err);
        if (rc == 0) rc = dc_delta_tx_metric(tx, "numDeletedFiles", (int64_t)r->files_removed, err);
        if (rc == 0)
            rc = dc_delta_tx_metric(tx, "numVacuumedDirectories", (int64_t)r->dirs_removed, err);
    }
    if (rc == 0) rc = dc_delta_tx_commit(version_out, tx, err);
    if (rc < 0) dc_err_prefix(err, "vacuum: %s commit", start ? "VACUUM START" : "VACUUM END");
    dc_delta_tx_free(tx);
    return rc;
}

/* ------------------------------------------------------------------ entry */

void dc_maint_vacuum_opts_init(dc_maint_vacuum_opts *o)
{
    memset(o, 0, sizeof *o);
    o->retain_ms = -1;
}

static int check_retention(dc_maint_vacuum_result *r, const dc_delta_snapshot *snap,
                           const dc_maint_vacuum_opts *o, dc_err *err)
{
    dc_maint_props props;
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(snap);
    DC_TRY(mt_check_usable(snap, "vacuum", err));
    DC_TRY(dc_delta_protocol_check_write(dc_delta_snapshot_protocol(snap), m, err));
    DC_TRY(dc_maint_props_from_metadata(&props, m, err));
    r->retain_ms = o->retain_ms >= 0 ? o->retain_ms : props.file_retention_ms;
    if (r->retain_ms < props.file_retention_ms && !o->force)
    {
        char a[32], b[32];
        return dc_err_set(err, DC_EINVAL,
                          "retention %s is below the table's delta.deletedFileRetentionDuration "
                          "(%s): files that readers of recent versions, time travel or a writer "
                          "in flight still need could be deleted; force it (--force) only when "
                          "no such reader or writer exists",
                          dc_maint_format_duration(a, sizeof a, r->retain_ms),
                          dc_maint_format_duration(b, sizeof b, props.file_retention_ms));
    }
    if (dc_sub_overflow_i64(dc_maint_now(o->now_ms), r->retain_ms, &r->cutoff_ms))
        r->cutoff_ms = INT64_MIN;
    return 0;
}

static void abort_uploads(vac *v)
{
    dc_err e;
    dc_err_clear(&e);
    if (dc_storage_abort_uploads(v->s, v->res->cutoff_ms, v->o->dry_run, &v->res->uploads_aborted,
                                 &e) < 0)
        DC_LOG(DC_LOG_WARN, "maint", "vacuum: %s (files were vacuumed; a lifecycle rule for "
               "incomplete uploads can clean them up)", e.msg);
}

int dc_maint_vacuum(dc_maint_vacuum_result *out, dc_delta_snapshot *snap,
                    const dc_maint_vacuum_opts *o, dc_err *err)
{
    const int64_t t0 = mono_ms();
    dc_maint_vacuum_result res;
    vac v;
    memset(&res, 0, sizeof res);
    res.start_version = res.end_version = -1;
    memset(&v, 0, sizeof v);
    v.snap = snap;
    v.s = dc_delta_snapshot_storage(snap);
    v.meta = dc_delta_snapshot_metadata(snap);
    v.o = o;
    v.res = &res;
    mt_strset_init(&v.keep);
    dc_arena_init(&v.arena, (size_t)1 << 40);
    dc_buf_init(&v.tmp, 1 << 20);
    bool have_root = false;
    int rc = check_retention(&res, snap, o, err);
    if (rc == 0 && (rc = mt_root_init(&v.root, v.s, err)) == 0) have_root = true;
    if (rc == 0) rc = build_keep(&v, err);
    const bool rec = o->record && !o->dry_run;
    if (rc == 0) rc = list_all(&v, err);
    if (rc == 0 && rec) rc = record(&v, true, &res.start_version, err);
    if (rc == 0) rc = recheck_live(&v, err);
    if (rc == 0) rc = delete_all(&v, err);
    if (rc == 0) remove_empty_dirs(&v);
    if (rc == 0) abort_uploads(&v);
    if (rc == 0 && rec) rc = record(&v, false, &res.end_version, err);
    res.elapsed_ms = mono_ms() - t0;
    if (have_root) mt_root_dispose(&v.root);
    dc_buf_dispose(&v.tmp);
    dc_arena_dispose(&v.arena);
    mt_strset_dispose(&v.keep);
    dc_free(v.files);
    dc_free(v.dirs);
    if (out) *out = res;
    return rc;
}
