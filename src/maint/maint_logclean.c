/*
 * maint: log cleanup (PROTOCOL.md "Metadata Cleanup"; maint.h states the
 * rule). The planner is pure (tests feed it made-up listings); the cleanup
 * lists _delta_log, plans, and deletes oldest first.
 */
#include "maint_int.h"

#include <stdio.h>
#include <stdlib.h>

#define DAY_MS ((int64_t)86400000)

/* ------------------------------------------------------- classification */

/* Parses exactly `n` decimal digits at p into *out; false if any is not one. */
static bool digits(const char *p, size_t n, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        if (dc_mul_overflow_i64(v, 10, &v) || dc_add_overflow_i64(v, p[i] - '0', &v))
            return false;
    }
    *out = v;
    return true;
}

/* A run of 1..10 digits at *p, advanced past it; false when there is none. */
static bool digit_run(const char **p, uint32_t *out)
{
    size_t n = 0;
    while (n < 10 && (*p)[n] >= '0' && (*p)[n] <= '9') n++;
    int64_t v = 0;
    if (n == 0 || ((*p)[n] >= '0' && (*p)[n] <= '9') || !digits(*p, n, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    *p += n;
    return true;
}

/* "checkpoint.parquet", "checkpoint.<p>.<n>.parquet", "checkpoint.<uuid>.(json|parquet)". */
static void classify_checkpoint(dc_maint_log_file *f, const char *rest)
{
    if (strcmp(rest, "parquet") == 0) {
        f->kind = DC_MAINT_LOG_CHECKPOINT;
        return;
    }
    const char *p = rest;
    uint32_t part = 0, parts = 0;
    if (digit_run(&p, &part) && *p == '.' && (p++, digit_run(&p, &parts)) &&
        strcmp(p, ".parquet") == 0) {
        if (part >= 1 && part <= parts) {
            f->kind = DC_MAINT_LOG_CHECKPOINT_PART;
            f->part = part;
            f->parts = parts;
        }
        return;
    }
    const char *dot = strchr(rest, '.');
    if (dot && dot > rest && (strcmp(dot, ".json") == 0 || strcmp(dot, ".parquet") == 0))
        f->kind = DC_MAINT_LOG_CHECKPOINT;
}

void dc_maint_log_classify(dc_maint_log_file *f, const char *name)
{
    f->kind = DC_MAINT_LOG_OTHER;
    f->version = -1;
    f->part = f->parts = 0;
    int64_t v = 0, v2 = 0;
    if (strlen(name) < 21 || !digits(name, 20, &v) || name[20] != '.') return;
    const char *rest = name + 21;
    f->version = v;
    if (strcmp(rest, "json") == 0) f->kind = DC_MAINT_LOG_COMMIT;
    else if (strcmp(rest, "crc") == 0) f->kind = DC_MAINT_LOG_CRC;
    else if (strncmp(rest, "checkpoint.", 11) == 0) classify_checkpoint(f, rest + 11);
    else if (strlen(rest) == 35 && digits(rest, 20, &v2) && strcmp(rest + 20, ".compacted.json") == 0
             && v2 >= v)
        f->kind = DC_MAINT_LOG_COMPACTED;
    if (f->kind == DC_MAINT_LOG_OTHER) f->version = -1;
}

/* ------------------------------------------------------------- planner */

/* Whether the checkpoint at files[i] is complete: single-file ones are; a
 * multi-part one when every part 1..parts of its version is listed. Files of
 * one version are adjacent in name order, so only that window is searched. */
static bool checkpoint_complete(const dc_maint_log_file *files, size_t n, size_t i)
{
    const dc_maint_log_file *f = &files[i];
    if (f->kind == DC_MAINT_LOG_CHECKPOINT) return true;
    if (f->kind != DC_MAINT_LOG_CHECKPOINT_PART) return false;
    size_t lo = i, hi = i + 1;
    while (lo > 0 && files[lo - 1].version == f->version) lo--;
    while (hi < n && files[hi].version == f->version) hi++;
    for (uint32_t want = 1; want <= f->parts; want++) {
        bool seen = false;
        for (size_t k = lo; k < hi && !seen; k++)
            seen = files[k].kind == DC_MAINT_LOG_CHECKPOINT_PART &&
                   files[k].parts == f->parts && files[k].part == want;
        if (!seen) return false;
    }
    return true;
}

/* latest and cutoff_commit from the commits, with times made monotonic. */
static void find_cutoff_commit(dc_maint_log_plan *out, const dc_maint_log_file *files, size_t n,
                               int64_t cutoff_ms)
{
    bool first = true;
    int64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        if (files[i].kind != DC_MAINT_LOG_COMMIT) continue;
        DC_ASSERT(files[i].version > out->latest);  /* sorted by name */
        int64_t t = files[i].mtime_ms;
        if (!first && t <= prev) t = prev == INT64_MAX ? prev : prev + 1;
        first = false;
        prev = t;
        if (t <= cutoff_ms) out->cutoff_commit = files[i].version;
        out->latest = files[i].version;
    }
}

void dc_maint_log_plan_files(dc_maint_log_plan *out, dc_maint_log_file *files, size_t n,
                             int64_t cutoff_ms, int64_t cap_version)
{
    memset(out, 0, sizeof *out);
    out->latest = out->cutoff_commit = out->keep_from = -1;
    for (size_t i = 0; i < n; i++) files[i].remove = false;
    find_cutoff_commit(out, files, n, cutoff_ms);
    if (out->cutoff_commit < 0) return;
    int64_t limit = out->cutoff_commit;
    if (cap_version >= 0 && cap_version < limit) limit = cap_version;
    for (size_t i = 0; i < n; i++) {
        const dc_maint_log_file *f = &files[i];
        if (f->version > out->keep_from && f->version <= limit && checkpoint_complete(files, n, i))
            out->keep_from = f->version;
    }
    if (out->keep_from < 0) return;
    for (size_t i = 0; i < n; i++) {
        dc_maint_log_file *f = &files[i];
        bool go = false;
        switch (f->kind) {
        case DC_MAINT_LOG_COMMIT:
        case DC_MAINT_LOG_CHECKPOINT:
        case DC_MAINT_LOG_CHECKPOINT_PART:
        case DC_MAINT_LOG_CRC: go = f->version < out->keep_from; break;
        case DC_MAINT_LOG_COMPACTED: go = f->version <= out->keep_from; break;
        case DC_MAINT_LOG_OTHER: break;
        }
        if (!go) continue;
        f->remove = true;
        out->n_remove++;
        out->bytes_remove += f->size;
    }
}

/* -------------------------------------------------------------- cleanup */

void dc_maint_log_opts_init(dc_maint_log_opts *o)
{
    memset(o, 0, sizeof *o);
    o->retention_ms = -1;
}

/* Midnight UTC of the day of t (floor, also for times before 1970). */
static int64_t day_floor(int64_t t)
{
    int64_t r = t % DAY_MS;
    return r < 0 ? t - r - DAY_MS : t - r;
}

static int remove_planned(dc_maint_log_result *res, dc_storage *s, const dc_maint_log_file *files,
                          size_t n, const dc_maint_log_opts *o, dc_err *err)
{
    char path[512];
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        if (!files[i].remove) continue;
        const int len = snprintf(path, sizeof path, "_delta_log/%s", files[i].name);
        if (len < 0 || (size_t)len >= sizeof path)
            continue;  /* classified names are short; a longer one is left alone */
        if (!o->dry_run) {
            const int rc = dc_storage_remove(s, path, err);
            if (rc == DC_ENOTFOUND) dc_err_clear(err);  /* a concurrent cleanup won */
            else if (rc < 0) {
                dc_err_prefix(err, "log cleanup (%zu of %zu files removed)", done,
                              res->plan.n_remove);
                res->plan.n_remove = done;
                return rc;
            }
        }
        done++;
        if (o->on_file) o->on_file(o->ctx, path, files[i].size);
    }
    return 0;
}

int dc_maint_log_cleanup(dc_maint_log_result *out, dc_storage *s, const dc_delta_metadata *m,
                         const dc_maint_log_opts *o, dc_err *err)
{
    dc_maint_log_result res;
    dc_maint_props props;
    dc_storage_list list;
    dc_maint_log_file *files = NULL;
    size_t n = 0;
    memset(&res, 0, sizeof res);
    dc_storage_list_init(&list);
    int rc = dc_maint_props_from_metadata(&props, m, err);
    if (rc < 0) goto out;
    res.retention_ms = o->retention_ms >= 0 ? o->retention_ms : props.log_retention_ms;
    if (!props.expired_log_cleanup && !o->ignore_disabled) {
        res.skipped = true;
        goto out;
    }
    int64_t t = 0;
    if (dc_sub_overflow_i64(dc_maint_now(o->now_ms), res.retention_ms, &t)) t = INT64_MIN / 2;
    res.cutoff_ms = day_floor(t);
    if ((rc = dc_storage_list_dir(s, "_delta_log", NULL, &list, err)) < 0) goto out;
    files = dc_malloc((list.n ? list.n : 1) * sizeof *files);
    if (!files) {
        rc = dc_err_set(err, DC_ENOMEM, "out of memory planning log cleanup");
        goto out;
    }
    for (size_t i = 0; i < list.n; i++) {
        const dc_storage_entry *e = &list.entries[i];
        if (e->is_dir) continue;
        dc_maint_log_classify(&files[n], e->name);
        files[n].name = e->name;
        files[n].mtime_ms = e->mtime_ms;
        files[n].size = e->size;
        n++;
    }
    dc_maint_log_plan_files(&res.plan, files, n, res.cutoff_ms, dc_delta_last_checkpoint(s));
    rc = remove_planned(&res, s, files, n, o, err);
out:
    dc_free(files);
    dc_storage_list_dispose(&list);
    if (out) *out = res;
    return rc;
}
