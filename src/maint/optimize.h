/*
 * maint/optimize: OPTIMIZE (issue 5). Compacts a Delta table's small files
 * and rewrites files whose deletion vectors hide many rows, as ONE commit
 * whose removes and adds all say dataChange=false (readers of the change
 * stream skip it; the table's rows are the same before and after).
 *
 * Planning (pure: dc_optimize_plan_files):
 *   - candidates are live files smaller than min_file_size, and files whose
 *     deletion vector hides at least max_deleted_ratio of their rows
 *     (numRecords from the file's stats; a file without it is never a ratio
 *     candidate);
 *   - the run's budget (max_files, max_bytes of input) takes small files
 *     first, smallest first (they bound the file count and the log), then
 *     ratio files, most deleted first; the first candidate of each kind is
 *     taken whatever its size, so both kinds make progress at every run
 *     (a run may exceed max_bytes by one file);
 *   - per partition (partitionValues tuple), the selected files are packed
 *     into bins, smallest live size first, each bin holding at most
 *     target_file_size of estimated output (size x live share) — a file
 *     larger than the target is a bin of its own;
 *   - a bin of one file without deleted rows is dropped (rewriting it would
 *     change nothing).
 *
 * Rewriting: each bin becomes one data file holding the bin's live rows
 * (rows hidden by deletion vectors are dropped), sorted by the sort key
 * when there is one, written column by column (no JSON round trip) in the
 * table's schema with stats from its footer. Inputs already sorted by the
 * key (every file deltacdc writes) are merged streaming, one decoded row
 * group per input at a time; unsorted inputs are held decoded while the
 * bin is written. Files of another layout than the table's current schema
 * (a column of another type, a nested layout that differs) are left as
 * they are: their bin is skipped with a warning.
 *
 * Sort key: the columns given (top-level primitive columns), else for the
 * raw format (key columns, then ts_ms, json_record, operation_type, offset)
 * its key columns, else none (rows keep the input order).
 *
 * Committing: removes (with their deletion vectors, dataChange=false) and
 * adds (dataChange=false, stats) in one transaction with operation OPTIMIZE.
 * A concurrent writer that removed one of the inputs or changed its
 * deletion vector (another OPTIMIZE, a DELETE, a MERGE) makes the commit
 * conflict (dc_delta_conflict_check); blind appends do not. On a conflict
 * the files written are deleted and, when retries are allowed, the
 * snapshot is moved to the latest version and the work planned again;
 * past max_retries the run gives up with DC_ECONFLICT. Either way no row is
 * lost: nothing of a losing run is visible.
 *
 * Depends on common/, parquet/, storage/, delta/ and maint.h (progress).
 */
#ifndef DC_OPTIMIZE_H
#define DC_OPTIMIZE_H

#include "../common/dc_common.h"
#include "../delta/delta.h"
#include "maint.h"

/* Target size of an output file: Delta's and delta-rs's OPTIMIZE default
 * (spark.databricks.delta.optimize.maxFileSize), kept for CDC tables too:
 * readers plan by file, and 128 MiB files keep a table of a billion rows
 * at a few thousand files. */
#define DC_OPTIMIZE_DEFAULT_TARGET ((int64_t)128 * 1024 * 1024)
/* Files whose deletion vector hides at least this share are rewritten. */
#define DC_OPTIMIZE_DEFAULT_RATIO 0.2
/* Lost commit races re-planned by default before giving up. */
#define DC_OPTIMIZE_DEFAULT_RETRIES 3

/* How the sort key is chosen. */
typedef enum dc_optimize_sort {
    DC_OPTIMIZE_SORT_AUTO = 0,  /* the raw format's key columns, else none */
    DC_OPTIMIZE_SORT_KEYS,      /* the columns in keys */
    DC_OPTIMIZE_SORT_NONE,      /* input order */
} dc_optimize_sort;

typedef struct dc_optimize_opts {
    int64_t target_file_size;   /* bytes of output per bin (> 0) */
    int64_t min_file_size;      /* files smaller are compacted; < 0: target / 4 */
    double max_deleted_ratio;   /* files with at least this share of deleted rows are
                                   rewritten (0 < r; > 1 never) */
    dc_optimize_sort sort;
    uint32_t n_keys;            /* DC_OPTIMIZE_SORT_KEYS: sort columns, in order */
    const char *const *keys;    /* top-level column names (borrowed) */
    uint64_t max_files;         /* input files per run at most (0: no limit) */
    uint64_t max_bytes;         /* input bytes per run at most (0: no limit) */
    int max_retries;            /* conflicts re-planned on the latest version; 0: give
                                   up at the first (the snapshot is then never moved) */
    bool dry_run;               /* plan only: nothing written or committed */
    bool automatic;             /* run by the daemon (commitInfo operationParameters.auto) */
    bool row_maps;              /* keep where each input row went (dc_optimize_result's
                                   row_maps): the daemon moves its key index with them
                                   instead of reading the new files */
    dc_maint_progress_fn progress;  /* phase "rewriting": called after each bin (may be
                                       NULL); files and bytes are the bins' inputs */
    void *progress_ctx;
} dc_optimize_opts;

/* Defaults: 128 MiB target, min target/4, ratio 0.2, sort auto, no budget,
 * DC_OPTIMIZE_DEFAULT_RETRIES. */
void dc_optimize_opts_init(dc_optimize_opts *o);
/* Checks the options (sizes, ratio, keys): DC_EINVAL naming the option. */
int dc_optimize_opts_check(const dc_optimize_opts *o, dc_err *err);

/* ---------------------------------------------------------- planning */

/* One bin: input files that become one output file. */
typedef struct dc_optimize_bin {
    size_t n;                   /* input files */
    size_t *files;              /* indexes into the planner's input array */
    int64_t bytes;              /* input bytes */
    int64_t rows;               /* input rows (numRecords), -1 when a file has none */
    int64_t deleted;            /* rows hidden by deletion vectors */
} dc_optimize_bin;

typedef struct dc_optimize_plan {
    size_t n_bins;
    dc_optimize_bin *bins;      /* in the order they are rewritten (dc_malloc) */
    size_t *idx;                /* storage of every bin's files (dc_malloc) */
    uint64_t n_files;           /* input files over all bins */
    uint64_t bytes;             /* their bytes */
    uint64_t n_small;           /* of which were picked as small files */
    uint64_t n_deleted;         /* of which were picked for their deleted rows */
    uint64_t candidates;        /* candidates before the budget (small + ratio) */
} dc_optimize_plan;

/* Plans over `files` (a snapshot's live files, or any array: tests). Only
 * size, stats numRecords, the DV's cardinality and partitionValues are
 * used. The plan holds indexes into `files`. */
int dc_optimize_plan_files(dc_optimize_plan *out, const dc_delta_add *const *files, size_t n,
                           const dc_optimize_opts *o, dc_err *err);
void dc_optimize_plan_dispose(dc_optimize_plan *p);

/* --------------------------------------------------------------- run */

/* What a run did. Owns the lists below: dc_optimize_result_dispose. */
typedef struct dc_optimize_result {
    int64_t read_version;       /* the snapshot version the committed plan was made on */
    int64_t version;            /* version committed, -1 when nothing was to do (or dry run) */
    uint64_t files_removed, files_added;
    uint64_t bytes_removed, bytes_added;
    uint64_t rows;              /* rows written (live rows of the inputs) */
    uint64_t rows_dropped;      /* rows of the inputs hidden by deletion vectors */
    uint64_t dvs_removed;       /* inputs that had a deletion vector */
    uint64_t bins_skipped;      /* bins left alone (a layout we do not rewrite) */
    int retries;                /* conflicts lost and re-planned */
    double seconds;             /* wall time */
    dc_optimize_plan plan;      /* the committed (or dry-run) plan, over the snapshot's files
                                   at read_version */
    size_t n_removed;
    char **removed;             /* paths removed, as in the log (dc_malloc each) */
    size_t n_added;
    dc_delta_add *added;        /* adds committed; strings owned by `arena` */
    dc_arena arena;
    /* With opts.row_maps, per removed file (same order as `removed`): */
    uint32_t **row_maps;        /* per physical row of the file: its row in
                                   added[map_added[i]], UINT32_MAX for a row its deletion
                                   vector hid (dc_malloc each) */
    uint64_t *map_rows;         /* entries of row_maps[i] (the file's rows) */
    uint32_t *map_added;        /* index into added; UINT32_MAX when no row was live */
    uint64_t rows_carried;      /* rows later commits deleted from the inputs, hidden in
                                   the outputs by deletion vectors (commit_prepared) */
    uint64_t bins_dropped;      /* bins left out at commit: an input changed and the table
                                   has no deletion vectors */
} dc_optimize_result;

void dc_optimize_result_init(dc_optimize_result *r);
void dc_optimize_result_dispose(dc_optimize_result *r);

/* Plans on `snap`, rewrites and commits once (see the top of this file).
 * An error after the commit (out of memory filling the lists) leaves
 * out->version set and the lists empty: the table changed.
 * With o->max_retries > 0 a lost race moves `snap` to the latest version
 * and plans again; with 0 `snap` is never moved. A give-up is DC_ECONFLICT
 * (retriable). The table's protocol must be writable by us. */
int dc_optimize_run(dc_optimize_result *out, dc_delta_snapshot *snap, const dc_optimize_opts *o,
                    dc_err *err);

/* ------------------------------------------------ prepare, then commit */

/* OPTIMIZE in two steps, for a writer that keeps committing meanwhile (the
 * daemon's maintenance thread rewrites, the ingest thread commits):
 *   dc_optimize_prepare plans on `snap` and writes every bin's output file,
 *   committing nothing; it keeps where each input row went;
 *   dc_optimize_commit_prepared commits the rewrite on a snapshot of the same
 *   table at the same or a later version. Inputs that later commits changed
 *   are rebased (Delta's row-level concurrency): rows a newer deletion vector
 *   hides are hidden in the output too, through a deletion vector at their
 *   new positions (tables with deletion vectors; elsewhere such a bin is
 *   left out and its output deleted), and an input removed meanwhile has all
 *   its rows hidden; an output with no row left is not added. Removes name
 *   the inputs as they are at the commit's snapshot (their current DVs). A
 *   schema or table id that changed since is DC_ECONFLICT. */
typedef struct dc_optimize_prepared dc_optimize_prepared;

/* *out NULL never on success; a plan without bins gives a prepared run with
 * nothing to commit (dc_optimize_prepared_empty). o->dry_run plans only. */
int dc_optimize_prepare(dc_optimize_prepared **out, dc_delta_snapshot *snap,
                        const dc_optimize_opts *o, dc_err *err);
/* Commits p on `snap` (not moved; call dc_delta_snapshot_update after).
 * out as dc_optimize_run's: read_version is snap's version (the rewrite's
 * removes and adds apply to it); `removed` lists every input of a bin the
 * commit took, also one a commit in between had removed already (its row
 * map still says where its rows are in the output). */
int dc_optimize_commit_prepared(dc_optimize_result *out, dc_optimize_prepared *p,
                                dc_delta_snapshot *snap, dc_err *err);
/* Carries the deletes of the commits up to snap's version into p ahead of
 * its commit (a maintenance thread does this work, so that the commit
 * rebases only the versions after it). Optional; snap as for the commit. */
int dc_optimize_prepared_rebase(dc_optimize_prepared *p, dc_delta_snapshot *snap, dc_err *err);
/* Output files no commit names are deleted through discard_from (NULL:
 * left for VACUUM). NULL p is a no-op. */
void dc_optimize_prepared_free(dc_optimize_prepared *p, dc_storage *discard_from);
/* The version the rewrite read. */
int64_t dc_optimize_prepared_version(const dc_optimize_prepared *p);
/* True when no bin was rewritten (nothing to commit). */
bool dc_optimize_prepared_empty(const dc_optimize_prepared *p);

/* The raw format's key columns of a schema (the top-level columns before
 * ts_ms, json_record, operation_type, offset), into names (borrowed from
 * the schema); *n = 0 when the schema is not the raw layout. */
void dc_optimize_raw_keys(const char **names, uint32_t *n, uint32_t max,
                          const dc_delta_schema *s);

#endif /* DC_OPTIMIZE_H */
