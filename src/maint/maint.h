/*
 * maint: table maintenance that runs itself (issue 5) — the contract.
 *
 * This header (maint_*.c, owned by the maint helper): table properties and
 * durations, the after-commit policy (automatic checkpoints every
 * delta.checkpointInterval commits, then log cleanup, then the symlink
 * manifest when asked), log cleanup, VACUUM and symlink manifests.
 * OPTIMIZE has its own header, optimize.h (optimize.c), next to this one.
 *
 * Rules followed (PROTOCOL.md of delta-io/delta, and what Delta/Spark do):
 * - A version can be reconstructed only from a complete checkpoint at or
 *   before it plus every commit after that checkpoint. Log cleanup follows
 *   PROTOCOL.md "Metadata Cleanup": the cutoff is midnight UTC of the day
 *   (now - delta.logRetentionDuration); the cutoff commit is the newest
 *   commit not newer than the cutoff (it and everything after it are
 *   retained); the cutoff checkpoint is the newest complete checkpoint at or
 *   before the cutoff commit; commits, checkpoints and checksums of versions
 *   below it are deleted (and compacted files starting at or before it),
 *   never anything a retained version needs.
 * - Commit times are file modification times (as Delta does), made
 *   monotonic in version order first (a commit is taken to be at least 1 ms
 *   newer than the commit before it), so expiry always removes a prefix.
 * - VACUUM keeps every file the latest snapshot references (live adds and
 *   their DV files) and every file of a remove tombstone whose
 *   deletionTimestamp is within the retention (and its DV file); other files
 *   under the table root are deleted when their modification time is older
 *   than the retention — that covers files orphaned by a crash before their
 *   commit, while files of a commit in flight (recent mtime) are kept.
 *
 * All operations are safe to run while another writer commits: they delete
 * only what no retained version references, and write only checkpoints,
 * _last_checkpoint and manifests (each atomically).
 *
 * Time: every *_opts has now_ms; 0 means the wall clock (tests pin it).
 *
 * Depends on common/, storage/, delta/.
 */
#ifndef DC_MAINT_H
#define DC_MAINT_H

#include "../common/dc_common.h"
#include "../delta/delta.h"
#include "../storage/storage.h"

/* ------------------------------------------- table properties, durations */

/* Delta's defaults for the table properties below. */
#define DC_MAINT_DEFAULT_CHECKPOINT_INTERVAL 10
#define DC_MAINT_DEFAULT_LOG_RETENTION_MS ((int64_t)30 * 24 * 3600 * 1000)  /* 30 days */
#define DC_MAINT_DEFAULT_FILE_RETENTION_MS ((int64_t)7 * 24 * 3600 * 1000)  /* 1 week */

/* Parses a duration into milliseconds. Accepts Delta's interval syntax
 * ("interval 30 days", "interval 1 week", "7 days", "1 hour", units
 * week/day/hour/minute/second/millisecond, singular or plural, any case) and
 * short forms with optional sums ("168h", "30m", "10s", "500ms", "7d", "1w",
 * "1h30m"). Empty, negative, unknown units and overflow are DC_EINVAL
 * naming the text. */
int dc_maint_parse_duration(int64_t *ms_out, const char *s, dc_err *err);

/* Writes ms as its largest whole unit ("7d", "36h", "90m", "1500ms"; "0s")
 * into buf and returns buf. */
const char *dc_maint_format_duration(char *buf, size_t n, int64_t ms);

/* The table properties maintenance honours, with Delta's defaults. */
typedef struct dc_maint_props {
    int64_t checkpoint_interval;   /* delta.checkpointInterval (10), >= 1 */
    int64_t log_retention_ms;      /* delta.logRetentionDuration (30 days) */
    int64_t file_retention_ms;     /* delta.deletedFileRetentionDuration (1 week) */
    bool expired_log_cleanup;      /* delta.enableExpiredLogCleanup (true) */
    bool manifest_on_commit;       /* delta.compatibility.symlinkFormatManifest.enabled (false) */
} dc_maint_props;

/* Reads the properties of a table's metaData; absent ones get the defaults,
 * a malformed one is DC_EINVAL naming the property and its value. */
int dc_maint_props_from_metadata(dc_maint_props *out, const dc_delta_metadata *m, dc_err *err);

/* Why a property may not be set by a metaData change alone (NULL: it may):
 * delta.* names that turn a table feature on or off or name protocol
 * versions, and delta.* names deltacdc does not know (a misspelt one would
 * be ignored by every engine; Spark refuses them too). Other keys are the
 * user's. */
const char *dc_maint_property_refused(const char *key);
/* Reads back every property deltacdc reads (maintenance, statistics, the
 * data file codec, checkpoint and manifest flags, delta.targetFileSize) as
 * it will; a malformed value is DC_EINVAL naming the property. */
int dc_maint_check_properties(const dc_delta_protocol *p, const dc_delta_metadata *m,
                              dc_err *err);

/* Property changes: KEY=VALUE pairs to set, or keys to unset (one kind per
 * commit, as Spark's SET and UNSET TBLPROPERTIES). */
typedef struct dc_maint_prop_change {
    const dc_delta_kv *set;
    uint32_t n_set;
    const char *const *unset;
    uint32_t n_unset;
} dc_maint_prop_change;

/* A concurrent metaData change makes a property commit check and try again
 * on the new version this many times. */
#define DC_MAINT_PROPERTY_RETRIES 3

/* Applies `c` to the latest version of the table in one SET TBLPROPERTIES
 * (or UNSET) commit: names refused by dc_maint_property_refused, repeated
 * keys, keys to unset that are not set, and values dc_maint_check_properties
 * refuses (the table's other properties included) are errors naming the
 * property, and nothing is committed. Nothing to change: no commit,
 * *changed false. *version_out: the version committed, or the latest. */
int dc_maint_set_properties(int64_t *version_out, bool *changed, dc_storage *s,
                            const dc_maint_prop_change *c, dc_err *err);

/* now_ms of an opts struct: the value itself, or the wall clock when 0. */
int64_t dc_maint_now(int64_t now_ms);

/* ---------------------------------------------------------- progress */

/* Progress of a long operation (VACUUM; OPTIMIZE may use it too), reported
 * through a callback so that the CLI decides how (and whether) to show it. */
typedef struct dc_maint_progress {
    const char *phase;       /* "listing", "deleting" (static text) */
    uint64_t files_done;     /* files handled in this phase so far */
    uint64_t files_total;    /* files the phase will handle (0: unknown yet) */
    uint64_t bytes_done;     /* bytes of those files */
    uint64_t bytes_total;    /* bytes the phase will handle (0: unknown yet) */
} dc_maint_progress;

/* Called at most every DC_MAINT_PROGRESS_EVERY files and at the end of a phase. */
typedef void (*dc_maint_progress_fn)(void *ctx, const dc_maint_progress *p);
#define DC_MAINT_PROGRESS_EVERY 256

/* ------------------------------------------------------- log cleanup */

/* What a file in _delta_log is. */
typedef enum dc_maint_log_kind {
    DC_MAINT_LOG_OTHER = 0,        /* not ours to touch (_last_checkpoint, temp files...) */
    DC_MAINT_LOG_COMMIT,           /* <v>.json */
    DC_MAINT_LOG_CHECKPOINT,       /* <v>.checkpoint.parquet or <v>.checkpoint.<uuid>.(json|parquet) */
    DC_MAINT_LOG_CHECKPOINT_PART,  /* <v>.checkpoint.<part>.<parts>.parquet */
    DC_MAINT_LOG_CRC,              /* <v>.crc (version checksum) */
    DC_MAINT_LOG_COMPACTED,        /* <v1>.<v2>.compacted.json (version is v1, its first) */
} dc_maint_log_kind;

/* One file of _delta_log, as the cleanup planner sees it. */
typedef struct dc_maint_log_file {
    const char *name;            /* file name in _delta_log (borrowed) */
    dc_maint_log_kind kind;
    int64_t version;             /* the version it belongs to (COMPACTED: its first) */
    uint32_t part, parts;        /* CHECKPOINT_PART: 1-based part and number of parts */
    int64_t mtime_ms;            /* modification time */
    uint64_t size;               /* bytes */
    bool remove;                 /* out: set by dc_maint_log_plan when the file goes */
} dc_maint_log_file;

/* Classifies a _delta_log file name; fills kind, version, part, parts (the
 * other fields are left alone). Names that are not 20-digit versioned log
 * files are DC_MAINT_LOG_OTHER. */
void dc_maint_log_classify(dc_maint_log_file *f, const char *name);

/* The outcome of planning a cleanup. */
typedef struct dc_maint_log_plan {
    int64_t latest;              /* newest commit version listed (-1: none) */
    int64_t cutoff_commit;       /* newest commit not newer than the cutoff: the oldest
                                    version retained (-1: no commit is that old) */
    int64_t keep_from;           /* the cutoff checkpoint: every file of a version
                                    below it is removed (-1: nothing is removed) */
    size_t n_remove;             /* files marked remove */
    uint64_t bytes_remove;       /* their bytes */
} dc_maint_log_plan;

/* Pure planner (the rule at the top of this file): given every file of
 * _delta_log sorted by name (as dc_storage_list_dir returns them: 20-digit
 * versions sort numerically) and the cutoff time, marks `remove` on the
 * commits, checkpoints and checksums of versions below keep_from and the
 * compacted files starting at or before it. keep_from is also at most
 * cap_version when cap_version >= 0 (the checkpoint _last_checkpoint names
 * is never deleted). Incomplete multi-part checkpoints are never chosen as
 * keep_from. Files of other kinds are never marked. */
void dc_maint_log_plan_files(dc_maint_log_plan *out, dc_maint_log_file *files, size_t n,
                             int64_t cutoff_ms, int64_t cap_version);

typedef struct dc_maint_log_opts {
    int64_t retention_ms;        /* < 0: the table's delta.logRetentionDuration */
    bool ignore_disabled;        /* run even with delta.enableExpiredLogCleanup=false */
    bool dry_run;                /* plan only: nothing is deleted */
    int64_t now_ms;              /* 0: wall clock */
    /* Called for each file removed (or that would be, in a dry run); may be NULL. */
    void (*on_file)(void *ctx, const char *path, uint64_t size);
    void *ctx;                   /* for on_file */
} dc_maint_log_opts;

void dc_maint_log_opts_init(dc_maint_log_opts *o);

typedef struct dc_maint_log_result {
    bool skipped;                /* delta.enableExpiredLogCleanup=false: nothing done */
    int64_t retention_ms;        /* the retention applied */
    int64_t cutoff_ms;           /* midnight UTC of the day (now - retention) */
    dc_maint_log_plan plan;      /* what was planned (n_remove: files deleted) */
} dc_maint_log_result;

/* Deletes expired log files of the table under `s` (the metadata gives the
 * properties). Oldest first, so a failure midway leaves a log whose every
 * retained version still loads. `out` may be NULL. */
int dc_maint_log_cleanup(dc_maint_log_result *out, dc_storage *s, const dc_delta_metadata *m,
                         const dc_maint_log_opts *o, dc_err *err);

/* --------------------------------------------------------- manifests */

/* 0 when a symlink manifest may be generated for the table; else
 * DC_EUNSUPPORTED saying why: deletion vectors (delta.enableDeletionVectors
 * =true, or any live file with a DV — a manifest lists whole files, so the
 * rows a DV deletes would come back) or column mapping (the files' columns
 * have physical names), as Delta refuses them. */
int dc_maint_manifest_check(const dc_delta_snapshot *snap, dc_err *err);

typedef struct dc_maint_manifest_result {
    size_t n_manifests;          /* manifest files written (content changed) */
    size_t n_unchanged;          /* manifests already up to date: not rewritten */
    size_t n_files;              /* data files listed in them */
    size_t n_stale;              /* manifests of partitions without files, removed */
} dc_maint_manifest_result;

/* Writes Delta's _symlink_format_manifest/ for `snap`: one file `manifest`
 * per partition directory (_symlink_format_manifest/<col=value/...>/manifest;
 * unpartitioned: _symlink_format_manifest/manifest, empty for an empty
 * table) listing the absolute URIs of its live data files, one per line,
 * each written atomically; then removes the manifests of partitions that
 * have no live file any more. Refused as dc_maint_manifest_check says.
 * `out` may be NULL. */
int dc_maint_manifest_write(dc_maint_manifest_result *out, dc_delta_snapshot *snap, dc_err *err);

/* ------------------------------------------------------------ VACUUM */

typedef struct dc_maint_vacuum_opts {
    int64_t retain_ms;           /* < 0: the table's delta.deletedFileRetentionDuration */
    bool force;                  /* allow retain_ms below the table's retention */
    bool dry_run;                /* list only: nothing is deleted */
    int64_t now_ms;              /* 0: wall clock */
    dc_maint_progress_fn progress; /* may be NULL */
    /* Called for each file deleted (or that would be, in a dry run), with its
     * table-relative path; may be NULL. */
    void (*on_file)(void *ctx, const char *path, uint64_t size);
    void *ctx;                   /* for progress and on_file */
    bool record;                 /* commit "VACUUM START" before deleting and "VACUUM END"
                                    after (commitInfo only, as Delta and delta-rs do), so the
                                    table's history shows the run; never in a dry run */
} dc_maint_vacuum_opts;

void dc_maint_vacuum_opts_init(dc_maint_vacuum_opts *o);

typedef struct dc_maint_vacuum_result {
    int64_t retain_ms;           /* retention applied */
    int64_t cutoff_ms;           /* files older than this (and unreferenced) go */
    uint64_t files_listed;       /* files seen under the table root (hidden dirs excluded) */
    uint64_t files_referenced;   /* of those, kept because a retained version uses them */
    uint64_t files_recent;       /* unreferenced but newer than the cutoff: kept */
    uint64_t files_temp;         /* of the files to delete, temporary files a crashed writer
                                    left (hidden names, _delta_log/ included) */
    uint64_t files_relive;       /* candidates a commit made while listing names: kept */
    uint64_t files_removed;      /* deleted (dry run: that would be) */
    uint64_t bytes_removed;
    uint64_t dirs_removed;       /* directories left empty, removed (local storage) */
    uint64_t uploads_aborted;    /* unfinished multipart uploads started before the cutoff,
                                    aborted (dry run: that would be; object stores) */
    int64_t elapsed_ms;
    int64_t start_version;       /* version of the VACUUM START commit (-1: none) */
    int64_t end_version;         /* version of the VACUUM END commit (-1: none) */
} dc_maint_vacuum_result;

/* Delta's rule for names VACUUM does not descend into or delete: names that
 * start with '_' or '.' (except partition directories "<partition col>=...",
 * "_change_data" and "_delta_index*"), and "metadata" (Iceberg uniform). */
bool dc_maint_vacuum_is_hidden(const char *name, const dc_delta_metadata *m);

/* VACUUM of the table of `snap` (its latest version: load it fresh).
 * A retention below the table's is DC_EINVAL unless o->force. `out` may be
 * NULL. Paths outside the table root are never touched. */
int dc_maint_vacuum(dc_maint_vacuum_result *out, dc_delta_snapshot *snap,
                    const dc_maint_vacuum_opts *o, dc_err *err);

/* ------------------------------------------------ after-commit policy */

typedef struct dc_maint_opts {
    int64_t checkpoint_interval; /* > 0 overrides delta.checkpointInterval; 0: the
                                    table's; < 0: no automatic checkpoints */
    int64_t checkpoint_min_change; /* percent: a due checkpoint of many rows waits for
                                      changes of this share of them (0: never waits;
                                      see maint_checkpoint.c) */
    bool log_cleanup;            /* clean the log after each checkpoint (the table can
                                    still turn it off: delta.enableExpiredLogCleanup) */
    bool manifest;               /* regenerate the manifest after every commit (also
                                    done when the table property asks for it) */
    int64_t now_ms;              /* 0: wall clock */
    int64_t newest;              /* the newest version committed, when the caller is
                                    behind (a maintenance thread): a checkpoint due at
                                    `version` is left out when the next multiple of the
                                    interval is at or below it (0: `version` is the newest) */
} dc_maint_opts;

/* checkpoint_interval 0, checkpoint_min_change 100, log_cleanup true,
 * manifest false, now_ms 0, newest 0. */
void dc_maint_opts_init(dc_maint_opts *o);

typedef struct dc_maint_result {
    bool checkpointed;           /* a checkpoint was written */
    dc_delta_checkpoint_info checkpoint;  /* valid when checkpointed */
    bool cleaned;                /* log cleanup ran (see log) */
    dc_maint_log_result log;
    bool manifest;               /* the manifest was regenerated */
    dc_maint_manifest_result manifest_info;
    bool checkpoint_tried;       /* a checkpoint was due (written, or failed) */
    double checkpoint_seconds;   /* its wall time */
    bool log_tried;              /* log cleanup ran (done, skipped, or failed) */
    double log_seconds;          /* its wall time */
} dc_maint_result;

/* Call after every successful commit of `version` (by any writer of ours).
 * `snap` is the writer's snapshot, borrowed and never modified (the
 * daemon's key index reflects it): at `version`, or older (its table
 * properties are used; a snapshot at `version` is then loaded only when a
 * checkpoint or a manifest is due), or NULL (the same, loading for the
 * properties too: slower). Newer than `version` is DC_EINVAL. Writes a
 * checkpoint when version > 0 and version is a multiple of the interval, or
 * when the newest checkpoint (_last_checkpoint) is an interval or more
 * behind (a multiple committed by another writer, or a crash between commit
 * and checkpoint); then log cleanup (opts); then the manifest when
 * o->manifest or the table property asks for it. The commit is already
 * durable: a failure here loses nothing — log it and go on. `out` may be
 * NULL. */
int dc_maint_after_commit(dc_maint_result *out, dc_storage *s, dc_delta_snapshot *snap,
                          int64_t version, const dc_maint_opts *o, dc_err *err);

#endif /* DC_MAINT_H */
