/*
 * Maintenance commands (issue 5): `deltacdc vacuum`, `deltacdc cleanup`
 * (log cleanup) and `deltacdc manifest`. `deltacdc checkpoint` is in
 * cli_checkpoint.c, `deltacdc optimize` in the optimize helper's file.
 *
 * Summary lines go to stdout, progress to stderr (only when stderr is a
 * terminal, or with --progress), errors to stderr. Exit 0, 1 on error, 2 on
 * usage.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../maint/maint.h"

/* ------------------------------------------------------------- helpers */

static bool is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

/* "1.5 GiB" style, into buf. */
static const char *fmt_bytes(char *buf, size_t n, uint64_t b)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof *units) {
        v /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, n, "%llu B", (unsigned long long)b);
    else snprintf(buf, n, "%.1f %s", v, units[u]);
    return buf;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Progress on stderr: "\r"-updated on a terminal, one line per update
 * otherwise; at most 5 updates a second, always the last of a phase. */
typedef struct progress_ctx {
    const char *cmd;      /* "vacuum" */
    bool on;              /* show progress */
    bool tty;             /* stderr is a terminal */
    bool dirty;           /* a "\r" line is on screen */
    double last;          /* mono_s of the last update */
    bool list;            /* print each file (dry run) on stdout */
} progress_ctx;

static void on_progress(void *vctx, const dc_maint_progress *p)
{
    progress_ctx *c = vctx;
    if (!c->on) return;
    const bool final = p->files_total && p->files_done == p->files_total;
    const double now = mono_s();
    if (!final && now - c->last < 0.2) return;
    c->last = now;
    char b1[32], b2[32];
    if (p->files_total && p->bytes_total)
        fprintf(stderr, "%s%s: %s %llu/%llu files, %s/%s%s", c->tty ? "\r\033[K" : "", c->cmd,
                p->phase, (unsigned long long)p->files_done, (unsigned long long)p->files_total,
                fmt_bytes(b1, sizeof b1, p->bytes_done), fmt_bytes(b2, sizeof b2, p->bytes_total),
                c->tty ? "" : "\n");
    else
        fprintf(stderr, "%s%s: %s %llu files%s", c->tty ? "\r\033[K" : "", c->cmd, p->phase,
                (unsigned long long)p->files_done, c->tty ? "" : "\n");
    c->dirty = c->tty;
    fflush(stderr);
}

static void progress_end(progress_ctx *c)
{
    if (c->dirty) fputs("\r\033[K", stderr);
    c->dirty = false;
}

static void on_file(void *vctx, const char *path, uint64_t size)
{
    const progress_ctx *c = vctx;
    (void)size;
    if (c->list) printf("%s\n", path);
}

/* Common options of the maintenance commands. */
typedef struct maint_args {
    const char *table;    /* positional */
    const char *retain;   /* --retain */
    bool dry_run;         /* --dry-run */
    bool force;           /* --force */
    bool progress;        /* --progress */
} maint_args;

/* Parses argv[1..]; `allowed` lists the options the command takes. */
static int parse(maint_args *a, int argc, char **argv, const char *allowed, const char *usage)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (is_help(o)) {
            fputs(usage, stdout);
            return 1;
        }
        const bool ok = o[0] == '-' && strstr(allowed, o) != NULL;
        if (ok && strcmp(o, "--retain") == 0 && i + 1 < argc) a->retain = argv[++i];
        else if (ok && strcmp(o, "--dry-run") == 0) a->dry_run = true;
        else if (ok && strcmp(o, "--force") == 0) a->force = true;
        else if (ok && strcmp(o, "--progress") == 0) a->progress = true;
        else if (o[0] != '-' && !a->table) a->table = o;
        else {
            fprintf(stderr, "deltacdc %s: unexpected argument '%s'\n%s", argv[0], o, usage);
            return 2;
        }
    }
    if (!a->table) {
        fputs(usage, stderr);
        return 2;
    }
    return 0;
}

static int open_latest(dc_storage **s, dc_delta_snapshot **snap, const char *table, dc_err *err)
{
    DC_TRY(dc_storage_open(s, table, err));
    return dc_delta_snapshot_load(snap, *s, -1, err);
}

/* -------------------------------------------------------------- vacuum */

static const char vacuum_usage[] =
    "usage: deltacdc vacuum TABLE [--retain DURATION] [--dry-run] [--force] [--progress]\n"
    "  Deletes the data and deletion-vector files under TABLE that no version\n"
    "  within the retention references and that are older than the retention:\n"
    "  files removed from the table longer ago than that, and files orphaned by\n"
    "  a writer that crashed before its commit (on S3 also its unfinished\n"
    "  multipart uploads). Hidden paths (_delta_log, names\n"
    "  starting with _ or ., except partition directories) are never touched.\n"
    "  Time travel to versions older than the retention stops working. The run is\n"
    "  recorded in the table's history as VACUUM START / VACUUM END commits.\n"
    "\n"
    "  --retain DURATION  168h, 7d, 30m, 1w or \"interval 7 days\" (default: the\n"
    "                     table's delta.deletedFileRetentionDuration, 1 week)\n"
    "  --force            allow a retention below the table's (readers of older\n"
    "                     versions and writers in flight can lose their files)\n"
    "  --dry-run          list the files that would be deleted (stdout); delete nothing\n"
    "  --progress         progress on stderr even when it is not a terminal\n";

static void vacuum_summary(const char *table, const dc_maint_vacuum_result *r, bool dry)
{
    char b[32], d[32];
    printf("vacuum %s: %s %llu files (%s); kept %llu referenced and %llu newer than the "
           "retention of %llu listed; %llu empty directories removed; retention %s; %.2f s\n",
           table, dry ? "would remove" : "removed", (unsigned long long)r->files_removed,
           fmt_bytes(b, sizeof b, r->bytes_removed), (unsigned long long)r->files_referenced,
           (unsigned long long)r->files_recent, (unsigned long long)r->files_listed,
           (unsigned long long)r->dirs_removed, dc_maint_format_duration(d, sizeof d, r->retain_ms),
           (double)r->elapsed_ms / 1000.0);
    if (r->uploads_aborted)
        printf("vacuum %s: %s %llu unfinished multipart uploads started before the retention\n",
               table, dry ? "would abort" : "aborted", (unsigned long long)r->uploads_aborted);
    if (r->start_version >= 0)
        printf("vacuum %s: recorded as versions %lld (VACUUM START) and %lld (VACUUM END)\n",
               table, (long long)r->start_version, (long long)r->end_version);
}

static int vacuum_main(int argc, char **argv)
{
    maint_args a;
    int rc = parse(&a, argc, argv, "--retain --dry-run --force --progress", vacuum_usage);
    if (rc) return rc == 1 ? 0 : rc;
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_maint_vacuum_opts o;
    dc_maint_vacuum_result res;
    progress_ctx pc = {"vacuum", a.progress || isatty(2), isatty(2), false, 0, a.dry_run};
    dc_maint_vacuum_opts_init(&o);
    o.force = a.force;
    o.dry_run = a.dry_run;
    o.progress = on_progress;
    o.on_file = on_file;
    o.ctx = &pc;
    o.record = true;
    if (a.retain) rc = dc_maint_parse_duration(&o.retain_ms, a.retain, &err);
    if (rc == 0) rc = open_latest(&s, &snap, a.table, &err);
    if (rc == 0) rc = dc_maint_vacuum(&res, snap, &o, &err);
    progress_end(&pc);
    if (rc == 0) vacuum_summary(a.table, &res, a.dry_run);
    else fprintf(stderr, "deltacdc vacuum: %s\n", err.msg);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return rc == 0 ? 0 : 1;
}

/* ------------------------------------------------------------- cleanup */

static const char cleanup_usage[] =
    "usage: deltacdc cleanup TABLE [--retain DURATION] [--dry-run] [--force]\n"
    "  Deletes expired log files (commits, checkpoints, checksums) of TABLE as\n"
    "  Delta's metadata cleanup does: the cutoff is midnight UTC of (now -\n"
    "  retention); everything from the newest checkpoint at or before the newest\n"
    "  commit older than the cutoff is kept, so every retained version still\n"
    "  loads. The daemon runs this after each automatic checkpoint.\n"
    "\n"
    "  --retain DURATION  30d, 720h, \"interval 30 days\" (default: the table's\n"
    "                     delta.logRetentionDuration, 30 days)\n"
    "  --force            run even with delta.enableExpiredLogCleanup=false, and\n"
    "                     allow a retention below the table's\n"
    "  --dry-run          list the files that would be deleted (stdout); delete nothing\n";

static int run_cleanup(dc_maint_log_result *res, dc_storage *s, dc_delta_snapshot *snap,
                       const maint_args *a, progress_ctx *pc, dc_err *err)
{
    dc_maint_log_opts o;
    dc_maint_props props;
    dc_maint_log_opts_init(&o);
    o.dry_run = a->dry_run;
    o.ignore_disabled = a->force;
    o.on_file = on_file;
    o.ctx = pc;
    DC_TRY(dc_maint_props_from_metadata(&props, dc_delta_snapshot_metadata(snap), err));
    if (a->retain) DC_TRY(dc_maint_parse_duration(&o.retention_ms, a->retain, err));
    if (o.retention_ms >= 0 && o.retention_ms < props.log_retention_ms && !a->force)
        return dc_err_set(err, DC_EINVAL,
                          "retention %s is below the table's delta.logRetentionDuration "
                          "(%lld ms): time travel within that window would break; use --force",
                          a->retain, (long long)props.log_retention_ms);
    return dc_maint_log_cleanup(res, s, dc_delta_snapshot_metadata(snap), &o, err);
}

static int cleanup_main(int argc, char **argv)
{
    maint_args a;
    int rc = parse(&a, argc, argv, "--retain --dry-run --force", cleanup_usage);
    if (rc) return rc == 1 ? 0 : rc;
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_maint_log_result res;
    progress_ctx pc = {"cleanup", false, false, false, 0, a.dry_run};
    rc = open_latest(&s, &snap, a.table, &err);
    if (rc == 0) rc = run_cleanup(&res, s, snap, &a, &pc, &err);
    char b[32], d[32];
    if (rc == 0 && res.skipped)
        printf("cleanup %s: delta.enableExpiredLogCleanup=false: nothing removed (--force runs "
               "it anyway)\n", a.table);
    else if (rc == 0)
        printf("cleanup %s: %s %zu log files (%s) below checkpoint %lld; cutoff commit %lld, "
               "latest %lld; retention %s\n",
               a.table, a.dry_run ? "would remove" : "removed", res.plan.n_remove,
               fmt_bytes(b, sizeof b, res.plan.bytes_remove), (long long)res.plan.keep_from,
               (long long)res.plan.cutoff_commit, (long long)res.plan.latest,
               dc_maint_format_duration(d, sizeof d, res.retention_ms));
    else
        fprintf(stderr, "deltacdc cleanup: %s\n", err.msg);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return rc == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ manifest */

static const char manifest_usage[] =
    "usage: deltacdc manifest TABLE\n"
    "  Writes Delta's symlink manifests for Hive/Presto/Trino/Athena external\n"
    "  tables: TABLE/_symlink_format_manifest/[<partition dirs>/]manifest lists the\n"
    "  live data files (absolute file: paths), one per line; each is replaced\n"
    "  atomically and manifests of partitions without files are removed.\n"
    "  Refused on tables with deletion vectors or column mapping (as Delta does).\n"
    "  The daemon can keep it current after every commit (maintenance.manifest).\n";

static int manifest_main(int argc, char **argv)
{
    maint_args a;
    int rc = parse(&a, argc, argv, "", manifest_usage);
    if (rc) return rc == 1 ? 0 : rc;
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_maint_manifest_result res;
    rc = open_latest(&s, &snap, a.table, &err);
    if (rc == 0) rc = dc_maint_manifest_write(&res, snap, &err);
    if (rc == 0)
        printf("manifest %s: version %lld, %zu files in %zu manifests (%zu written, %zu "
               "unchanged), %zu stale removed\n",
               a.table, (long long)dc_delta_snapshot_version(snap), res.n_files,
               res.n_manifests + res.n_unchanged, res.n_manifests, res.n_unchanged, res.n_stale);
    else
        fprintf(stderr, "deltacdc manifest: %s\n", err.msg);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return rc == 0 ? 0 : 1;
}

int dc_cli_vacuum(int argc, char **argv)
{
    return dc_cli_with_pipeline(vacuum_main, argc, argv);
}

int dc_cli_cleanup(int argc, char **argv)
{
    return dc_cli_with_pipeline(cleanup_main, argc, argv);
}

int dc_cli_manifest(int argc, char **argv)
{
    return dc_cli_with_pipeline(manifest_main, argc, argv);
}
