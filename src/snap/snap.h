/*
 * snap: the seed's nightly merge, done right (`deltacdc snapshot`, issue 10).
 *
 * history ∪ CDC table → the latest row per key → deletes dropped → typed
 * rows written as the partition data_date=YYYY-MM-DD of an output Delta
 * table, in ONE commit that removes that partition's old files and adds the
 * new ones (a rerun of a date replaces it atomically: readers see the old
 * partition or the new one, never a mix).
 *
 * Semantics (the seed's SQL: history rows are op 'c' with ts_ms 0, UNION ALL
 * the CDC table, ROW_NUMBER per key newest first, keep rank 1, drop 'd'),
 * with typed tables' ranking (merge.h): a row with a source position
 * (__source_pos) ranks by it, so a CDC row at or before the history's own
 * position does not regress it (ties go to the history), and CDC rows at or
 * before the history table's floor (a bootstrap's position) are skipped;
 * a row without one ranks by (__ts_ms, __offset); a history row without a
 * position is older than every CDC row (the seed's ts_ms 0).
 *
 * Memory is bounded by a budget whatever the tables' size: rows are
 * gathered into runs sorted by key (newest first within a key, only each
 * key's newest kept), runs over the budget are spilled to temporary files,
 * and the runs are merged in one streaming pass. A history whose files lie
 * in key order (a bootstrap's, a rebase's) is merged from them as it lies,
 * without a run. Beyond the budget: the input row group being scanned (per
 * reader) and the output's row groups. Two threads read (two sorters, half
 * the budget each), and at the merge a writer thread encodes the output.
 *
 * Depends on common/, json/, parquet/, storage/, delta/, cdc/, merge/, maint/.
 */
#ifndef DC_SNAP_H
#define DC_SNAP_H

#include "../common/dc_common.h"

typedef struct dc_snap_opts {
    const char *history_uri;    /* history table, or NULL (the CDC table holds it) */
    const char *cdc_uri;        /* the typed CDC table (required) */
    const char *out_uri;        /* output table, created when absent (required) */
    const char *date;           /* the partition's value, YYYY-MM-DD (required) */
    const char *as_of;          /* CDC table version "N" or time (ISO 8601 / "YYYY-MM-DD
                                   HH:MM:SS", UTC), or NULL: the latest version */
    const char *meta_prefix;    /* typed layout's metadata prefix; NULL: "__" */
    const char *key;            /* "a,b": key columns; NULL: the CDC table's deltacdc.key */
    const char *tmp_dir;        /* where runs spill; NULL: $TMPDIR or /tmp */
    int64_t memory_bytes;       /* budget of the sorted runs held in memory (>= 1 MiB) */
    bool manifest;              /* write _symlink_format_manifest after the commit */
} dc_snap_opts;

/* Defaults: memory 512 MiB, manifest true, everything else NULL. */
void dc_snap_opts_init(dc_snap_opts *o);

typedef struct dc_snap_result {
    int64_t version;            /* the output table's version committed */
    int64_t cdc_version;        /* the CDC table's version read */
    int64_t history_version;    /* the history's version read, -1 without one */
    uint64_t history_rows;      /* rows read from the history */
    bool history_streamed;      /* the history lay in key order: merged from its files as
                                   they are, neither held nor sorted (snap_hist.c) */
    uint64_t cdc_rows;          /* rows read from the CDC table */
    uint64_t floor_skipped;     /* CDC rows at or before the history's floor */
    uint64_t rows;              /* rows written to the partition */
    uint64_t deleted;           /* keys whose newest row is a delete: left out */
    uint64_t replaced_files;    /* files of the partition's previous contents removed */
    uint32_t runs_spilled;      /* sorted runs written to temporary files */
    uint64_t spill_bytes;       /* their bytes */
    double seconds;             /* wall time */
} dc_snap_result;

/* Runs the merge and commits the partition. Bad inputs (a missing table,
 * key columns that do not match, a bad date or as-of) are errors naming the
 * table and the column, and nothing is committed. */
int dc_snap_run(dc_snap_result *out, const dc_snap_opts *o, dc_err *err);

/* `deltacdc rebase` (snap_rebase.c): the seed's "replace the Delta data with
 * the latest merged snapshot and restart consumption", safely. The CDC table
 * at its latest version V is folded into the history (o->history_uri,
 * created when absent): history ∪ CDC@V, the latest row per key, deletes
 * dropped, as ONE commit that replaces every file of the history and sets
 * the txn "deltacdc.rebase/<CDC table id>" = V. Then ONE commit of the CDC
 * table removes the files live at V (not those added since): its txns stay,
 * so ingest (running or restarted) goes on from its offsets, nothing lost
 * or doubled. A run first finishes the removal of a fold the history holds
 * (a crash between the two commits), and commits nothing when the CDC table
 * is empty. The CDC table must keep its deletes (soft deletes). Uses
 * cdc_uri, history_uri, key, meta_prefix, tmp_dir, memory_bytes of o. */
typedef struct dc_snap_rebase_result {
    dc_snap_result fold;        /* the fold (fold.version: the history's new version, -1:
                                   none; fold.cdc_version: the CDC version folded) */
    bool folded;                /* this run folded (else there was nothing to fold) */
    int64_t drop_version;       /* the CDC table's version that removed folded files, -1 */
    int64_t resumed;            /* the CDC version of an earlier fold whose files this run
                                   removed (an interrupted run), -1: none */
    uint64_t removed_files;     /* CDC files removed (both steps) */
    uint64_t kept_files;        /* CDC files added after the fold, kept */
    double seconds;             /* wall time */
} dc_snap_rebase_result;

void dc_snap_rebase_result_init(dc_snap_rebase_result *r);
int dc_snap_rebase(dc_snap_rebase_result *out, const dc_snap_opts *o, dc_err *err);

/* Appends Hive DDL (Presto/Trino's Hive connector reads it too) for an
 * external table `name` ("db.table") over the output table's symlink
 * manifest, partitioned by data_date, then MSCK REPAIR TABLE. */
int dc_snap_ddl(dc_buf *out, const char *out_uri, const char *name, dc_err *err);

#endif /* DC_SNAP_H */
