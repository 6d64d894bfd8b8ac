/* `deltacdc optimize TABLE [...]`: compacts small files and rewrites files
 * whose deletion vectors hide many rows (src/maint/optimize.h), as one
 * commit with dataChange=false. Progress on stderr (a terminal, or --progress), one
 * summary line on stdout. Exit status: 0 done (or nothing to do), 1 error,
 * 2 usage, 3 gave up after losing to concurrent writers (nothing changed). */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../config/config.h"
#include "../maint/optimize.h"

static const char usage[] =
    "usage: deltacdc optimize TABLE [--target-file-size SIZE] [--min-file-size SIZE]\n"
    "                         [--max-deleted-ratio R] [--key COL[,COL]] [--no-sort]\n"
    "                         [--max-files N] [--max-bytes SIZE] [--retries N]\n"
    "                         [--dry-run] [--progress]\n"
    "  Bin-packs files smaller than --min-file-size (default: a quarter of the target)\n"
    "  into files of up to --target-file-size (default 128MiB), and rewrites files\n"
    "  whose deletion vectors hide at least --max-deleted-ratio of their rows (default\n"
    "  0.2) without those rows; rows are sorted by --key (default: the key columns of\n"
    "  a deltacdc raw table, else input order; --no-sort keeps input order). Per\n"
    "  partition; one commit with dataChange=false. --max-files/--max-bytes bound the\n"
    "  input of the run. A concurrent writer that removed or changed an input file\n"
    "  makes the run plan again on the new version, --retries times (default 3), then\n"
    "  give up (exit 3) leaving the table as it was. Progress goes to stderr when it\n"
    "  is a terminal (or with --progress). SIZE: 4096, 512KiB, 128MiB, 1GiB.\n";

/* Progress on stderr (cli_maint.c's way): "\r"-updated on a terminal, a
 * line per update otherwise (--progress); at most 5 updates a second,
 * always the last. */
typedef struct progress {
    bool on;                /* show progress */
    bool tty;               /* stderr is a terminal */
    bool dirty;             /* a "\r" line is on screen */
    double last;            /* monotonic seconds of the last update */
} progress;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mib(uint64_t b)
{
    return (double)b / (1024.0 * 1024.0);
}

static void on_progress(void *ctx, const dc_maint_progress *p)
{
    progress *pr = ctx;
    const bool final = p->files_done == p->files_total;
    const double t = now_s();
    if (!pr->on || (!final && t - pr->last < 0.2)) return;
    pr->last = t;
    fprintf(stderr, "%soptimize: %s %" PRIu64 "/%" PRIu64 " files, %.1f/%.1f MiB%s",
            pr->tty ? "\r\033[K" : "", p->phase, p->files_done, p->files_total,
            mib(p->bytes_done), mib(p->bytes_total), pr->tty ? "" : "\n");
    pr->dirty = pr->tty;
}

static int parse_ratio(double *out, const char *s)
{
    char *end = NULL;
    const double v = strtod(s, &end);
    if (!*s || *end || !(v > 0.0) || v > 1e9) {
        fprintf(stderr, "deltacdc optimize: --max-deleted-ratio '%s': expected a number > 0 "
                "(0.2 = a fifth of the rows; above 1 turns the rule off)\n", s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_count(uint64_t *out, const char *flag, const char *s)
{
    char *end = NULL;
    const unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || *s == '-') {
        fprintf(stderr, "deltacdc optimize: %s '%s': expected a whole number\n", flag, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_size(int64_t *out, const char *flag, const char *s)
{
    dc_err err;
    if (dc_config_parse_size(out, s, &err) == 0) return 0;
    fprintf(stderr, "deltacdc optimize: %s: %s\n", flag, err.msg);
    return -1;
}

/* The command line. Key names point into `arena`. */
typedef struct args {
    const char *table;
    dc_optimize_opts o;
    dc_cfg_list keys;
    bool progress;          /* --progress: progress lines even when stderr is no terminal */
} args;

static int parse_flag(args *a, dc_arena *arena, const char *f, const char *v)
{
    uint64_t n = 0;
    dc_err err;
    if (strcmp(f, "--target-file-size") == 0) return parse_size(&a->o.target_file_size, f, v);
    if (strcmp(f, "--min-file-size") == 0) return parse_size(&a->o.min_file_size, f, v);
    if (strcmp(f, "--max-deleted-ratio") == 0) return parse_ratio(&a->o.max_deleted_ratio, v);
    if (strcmp(f, "--max-bytes") == 0) {
        int64_t b = 0;
        if (parse_size(&b, f, v) < 0) return -1;
        a->o.max_bytes = (uint64_t)b;
        return 0;
    }
    if (strcmp(f, "--max-files") == 0) return parse_count(&a->o.max_files, f, v);
    if (strcmp(f, "--retries") == 0) {
        if (parse_count(&n, f, v) < 0 || n > 1000) return -1;
        a->o.max_retries = (int)n;
        return 0;
    }
    if (strcmp(f, "--key") == 0) {
        if (dc_config_split_list(&a->keys, arena, v, &err) < 0) {
            fprintf(stderr, "deltacdc optimize: --key: %s\n", err.msg);
            return -1;
        }
        a->o.sort = DC_OPTIMIZE_SORT_KEYS;
        a->o.n_keys = a->keys.n;
        a->o.keys = a->keys.items;
        return 0;
    }
    fprintf(stderr, "deltacdc optimize: unknown option '%s'\n%s", f, usage);
    return -1;
}

/* 0, 1 (help printed) or -1 (usage error printed). */
static int parse_args(args *a, dc_arena *arena, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        }
        if (strcmp(f, "--dry-run") == 0) a->o.dry_run = true;
        else if (strcmp(f, "--progress") == 0) a->progress = true;
        else if (strcmp(f, "--no-sort") == 0) a->o.sort = DC_OPTIMIZE_SORT_NONE;
        else if (f[0] != '-' && !a->table) a->table = f;
        else if (f[0] != '-' || i + 1 >= argc) {
            fprintf(stderr, "deltacdc optimize: %s '%s'\n%s",
                    f[0] == '-' ? "missing value after" : "unexpected argument", f, usage);
            return -1;
        } else if (parse_flag(a, arena, f, argv[++i]) < 0) {
            return -1;
        }
    }
    if (!a->table) {
        fputs(usage, stderr);
        return -1;
    }
    return 0;
}

static void summary(const dc_optimize_result *r, const dc_optimize_opts *o)
{
    if (o->dry_run) {
        printf("optimize (dry run) at version %" PRId64 ": would rewrite %" PRIu64 " files "
               "(%.1f MiB; %" PRIu64 " small, %" PRIu64 " with deleted rows) into %zu\n",
               r->read_version, r->plan.n_files, mib(r->plan.bytes), r->plan.n_small,
               r->plan.n_deleted, r->plan.n_bins);
    } else if (r->version < 0) {
        printf("optimize: nothing to do at version %" PRId64 " (%" PRIu64 " candidate files, "
               "%" PRIu64 " bins skipped)\n", r->read_version, r->plan.candidates,
               r->bins_skipped);
    } else {
        printf("optimize: version %" PRId64 ": removed %" PRIu64 " files (%.1f MiB, %" PRIu64
               " deletion vectors), added %" PRIu64 " files (%.1f MiB), %" PRIu64 " rows, %"
               PRIu64 " deleted rows purged, %d retries, %.2f s\n", r->version,
               r->files_removed, mib(r->bytes_removed), r->dvs_removed, r->files_added,
               mib(r->bytes_added), r->rows, r->rows_dropped, r->retries, r->seconds);
    }
}

static int optimize_main(int argc, char **argv)
{
    args a;
    memset(&a, 0, sizeof a);
    dc_optimize_opts_init(&a.o);
    dc_arena arena;
    dc_arena_init(&arena, 1 << 20);
    const int pr = parse_args(&a, &arena, argc, argv);
    if (pr != 0) {
        dc_arena_dispose(&arena);
        return pr > 0 ? 0 : 2;
    }
    progress prog = {a.progress || isatty(2), isatty(2), false, 0};
    a.o.progress = on_progress;
    a.o.progress_ctx = &prog;
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_optimize_result res;
    dc_optimize_result_init(&res);
    int rc = dc_optimize_opts_check(&a.o, &err);
    if (rc == 0) rc = dc_storage_open(&s, a.table, &err);
    if (rc == 0) rc = dc_delta_snapshot_load(&snap, s, -1, &err);
    if (rc == 0) rc = dc_optimize_run(&res, snap, &a.o, &err);
    if (prog.dirty) fputs("\r\033[K", stderr);
    if (rc == 0) summary(&res, &a.o);
    else fprintf(stderr, "deltacdc optimize: %s: %s\n", a.table, err.msg);
    dc_optimize_result_dispose(&res);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    dc_arena_dispose(&arena);
    return rc == 0 ? 0 : rc == DC_ECONFLICT ? 3 : rc == DC_EINVAL && !snap ? 2 : 1;
}

int dc_cli_optimize(int argc, char **argv)
{
    return dc_cli_with_pipeline(optimize_main, argc, argv);
}
