/*
 * delta: the Delta Lake transaction log (the module's contract).
 *
 * Follows PROTOCOL.md of delta-io/delta. Read side: actions (parsed from
 * JSON commit lines and from checkpoint rows), snapshots at the latest
 * version or at version N (checkpoints classic/multi-part/V2 with sidecars,
 * then JSON commits, reconciled), deletion vectors, and scans that return a
 * snapshot's rows as JSON lines in parquet.h's value conventions.
 * Write side (commits, checkpoints, DV files) builds on the same structs.
 *
 * Ownership: strings in actions are borrowed. An action parsed by
 * dc_delta_action_parse lives in the caller's arena; actions returned by a
 * snapshot live until dc_delta_snapshot_free. A NULL `const char *` is an
 * absent field (or JSON null).
 *
 * Depends on common/, json/, parquet/, storage/.
 */
#ifndef DC_DELTA_H
#define DC_DELTA_H

#include "../common/dc_common.h"
#include "../common/dc_limits.h"
#include "../json/dc_json.h"
#include "../parquet/parquet.h"
#include "../storage/storage.h"

/* ------------------------------------------------------------ actions */

/* One entry of a Map[String, String] (partitionValues, configuration, tags). */
typedef struct dc_delta_kv {
    const char *key;    /* never NULL */
    const char *value;  /* NULL when the value is JSON null (a null partition value) */
} dc_delta_kv;

typedef struct dc_delta_map {
    uint32_t n;         /* entries */
    dc_delta_kv *items; /* in the order they appeared */
} dc_delta_map;

/* Value of `key` in m: *found tells absent from null. Returns the value or NULL. */
const char *dc_delta_map_get(const dc_delta_map *m, const char *key, bool *found);

typedef struct dc_delta_protocol {
    int32_t min_reader_version;   /* 1, 2 or 3 */
    int32_t min_writer_version;   /* 1..7 */
    bool has_reader_features;     /* readerFeatures present (reader version 3) */
    uint32_t n_reader_features;
    const char **reader_features; /* feature names */
    bool has_writer_features;     /* writerFeatures present (writer version 7) */
    uint32_t n_writer_features;
    const char **writer_features;
} dc_delta_protocol;

typedef struct dc_delta_metadata {
    const char *id;               /* table GUID (required) */
    const char *name;             /* optional */
    const char *description;      /* optional */
    const char *format_provider;  /* "parquet" */
    dc_delta_map format_options;
    const char *schema_string;    /* Delta schema JSON text; parse with dc_delta_schema_parse */
    uint32_t n_partition_columns;
    const char **partition_columns;  /* logical column names, in order */
    bool has_created_time;
    int64_t created_time;         /* ms since the epoch */
    dc_delta_map configuration;   /* table properties ("delta.columnMapping.mode", ...) */
} dc_delta_metadata;

/* DeletionVectorDescriptor. */
typedef struct dc_delta_dv_desc {
    char storage_type;            /* 'u' (relative, UUID), 'i' (inline), 'p' (absolute path) */
    const char *path_or_inline;   /* as in the log */
    bool has_offset;              /* offset present (never for 'i') */
    int32_t offset;               /* byte offset of the DV in its file (0 when absent) */
    int32_t size_in_bytes;        /* serialized bitmap size (before Z85 for inline) */
    int64_t cardinality;          /* rows the DV removes */
    bool has_max_row_index;       /* Spark's optional maxRowIndex */
    int64_t max_row_index;
} dc_delta_dv_desc;

/* add; also the file entries of a snapshot. */
typedef struct dc_delta_add {
    const char *path;             /* as in the log: a URI reference, %-escaped */
    dc_delta_map partition_values;/* physical column name → value (NULL: null) */
    int64_t size;                 /* bytes */
    int64_t modification_time;    /* ms since the epoch */
    bool data_change;
    const char *stats;            /* statistics JSON text, or NULL */
    dc_delta_map tags;
    bool has_dv;                  /* dv below is valid */
    dc_delta_dv_desc dv;
    bool has_base_row_id;
    int64_t base_row_id;
    bool has_default_row_commit_version;
    int64_t default_row_commit_version;
    const char *clustering_provider;  /* optional */
} dc_delta_add;

typedef struct dc_delta_remove {
    const char *path;
    bool has_deletion_timestamp;
    int64_t deletion_timestamp;   /* ms since the epoch */
    bool data_change;
    bool extended_file_metadata;  /* partitionValues, size and tags are present */
    dc_delta_map partition_values;
    bool has_size;
    int64_t size;
    const char *stats;            /* optional (JSON commits only) */
    dc_delta_map tags;
    bool has_dv;
    dc_delta_dv_desc dv;
    bool has_base_row_id;
    int64_t base_row_id;
    bool has_default_row_commit_version;
    int64_t default_row_commit_version;
} dc_delta_remove;

typedef struct dc_delta_txn {
    const char *app_id;
    int64_t version;              /* the application's version */
    bool has_last_updated;
    int64_t last_updated;         /* ms since the epoch */
} dc_delta_txn;

typedef struct dc_delta_domain {
    const char *domain;
    const char *configuration;    /* a string (often JSON text) */
    bool removed;                 /* tombstone */
} dc_delta_domain;

/* cdc (change data file). Read for history; not part of snapshots. */
typedef struct dc_delta_cdc {
    const char *path;
    dc_delta_map partition_values;
    int64_t size;
    bool data_change;
    dc_delta_map tags;
} dc_delta_cdc;

/* sidecar (V2 checkpoints only). */
typedef struct dc_delta_sidecar {
    const char *path;             /* file name under _delta_log/_sidecars/ (or a URI) */
    int64_t size_in_bytes;
    int64_t modification_time;
} dc_delta_sidecar;

typedef enum dc_delta_action_type {
    DC_DELTA_ACTION_NONE = 0,     /* an action we do not know: ignored (protocol rule) */
    DC_DELTA_ACTION_PROTOCOL,
    DC_DELTA_ACTION_METADATA,
    DC_DELTA_ACTION_ADD,
    DC_DELTA_ACTION_REMOVE,
    DC_DELTA_ACTION_TXN,
    DC_DELTA_ACTION_DOMAIN_METADATA,
    DC_DELTA_ACTION_COMMIT_INFO,
    DC_DELTA_ACTION_CDC,
    DC_DELTA_ACTION_CHECKPOINT_METADATA,
    DC_DELTA_ACTION_SIDECAR,
} dc_delta_action_type;

typedef struct dc_delta_action {
    dc_delta_action_type type;
    union {
        dc_delta_protocol protocol;
        dc_delta_metadata metadata;
        dc_delta_add add;
        dc_delta_remove remove;
        dc_delta_txn txn;
        dc_delta_domain domain;
        dc_delta_cdc cdc;
        dc_delta_sidecar sidecar;
        int64_t checkpoint_version;   /* checkpointMetadata.version */
        /* commitInfo: the object kept as compact JSON text (any content is
         * valid per the protocol); read fields with dc_json_parse. */
        struct { const char *json; size_t len; } commit_info;
    } u;
} dc_delta_action;

/* Parses one line of a commit (or V2 JSON checkpoint) into `out`. Strings are
 * allocated in `arena`. Unknown actions give DC_DELTA_ACTION_NONE and unknown
 * fields are ignored; an empty/blank line is DC_DELTA_ACTION_NONE. Malformed
 * JSON, a line with several actions, or a known action with a missing
 * required field or a field of the wrong type is DC_ECORRUPT naming `file`
 * and `line` (1-based) and the field. Also accepts checkpoint rows as
 * dc_pq_reader_rows_json prints them: maps as [{"key":..,"value":..}] arrays,
 * several top-level keys of which all but one are null; add.stats_parsed is
 * turned into stats text when add.stats is absent. */
int dc_delta_action_parse(dc_delta_action *out, dc_arena *arena, const char *text, size_t n,
                          const char *file, uint64_t line, dc_err *err);
/* Same from an already parsed DOM (the object of one line). */
int dc_delta_action_from_json(dc_delta_action *out, dc_arena *arena, const dc_json *obj,
                              const char *file, uint64_t line, dc_err *err);
/* Appends one line (without '\n') for the action, in the field names and
 * order Spark writes. NONE is an error. */
int dc_delta_action_write_json(dc_buf *out, const dc_delta_action *a, dc_err *err);

/* DV unique id: storageType + pathOrInlineDv [+ "@" offset], appended to out
 * (not NUL-terminated). Used as part of the logical file key. */
int dc_delta_dv_unique_id(dc_buf *out, const dc_delta_dv_desc *dv, dc_err *err);

/* --------------------------------------------------------- protocol */

/* 0 when this build can read a table with protocol p; else DC_EUNSUPPORTED
 * naming the reader version or the first unsupported reader feature. Reader
 * versions 1-3; features deletionVectors, timestampNtz, columnMapping,
 * v2Checkpoint, typeWidening, typeWidening-preview, vacuumProtocolCheck. */
int dc_delta_protocol_check_read(const dc_delta_protocol *p, dc_err *err);
/* True when p lists `feature` among its reader (or writer) features. */
bool dc_delta_protocol_has_reader_feature(const dc_delta_protocol *p, const char *feature);
bool dc_delta_protocol_has_writer_feature(const dc_delta_protocol *p, const char *feature);

/* ----------------------------------------------------------- schema */

typedef enum dc_delta_cm_mode {
    DC_DELTA_CM_NONE = 0,   /* read by display names */
    DC_DELTA_CM_NAME,       /* by delta.columnMapping.physicalName */
    DC_DELTA_CM_ID,         /* by Parquet field_id = delta.columnMapping.id */
} dc_delta_cm_mode;

typedef struct dc_delta_field dc_delta_field;

/* A node of a Delta schema (StructField, or the element/key/value of an
 * array/map, or the root struct). Types reuse parquet.h's dc_type. */
struct dc_delta_field {
    const char *name;           /* display (logical) name; "element"/"key"/"value" in
                                   arrays and maps; "" for the root */
    const char *physical_name;  /* delta.columnMapping.physicalName, else = name */
    bool has_id;
    int32_t id;                 /* delta.columnMapping.id */
    dc_type type;               /* DC_TYPE_NULL for "void" */
    bool nullable;              /* nullable / containsNull / valueContainsNull */
    int32_t precision, scale;   /* DECIMAL */
    uint32_t n_children;        /* STRUCT: fields; ARRAY: 1; MAP: 2 (key, value) */
    dc_delta_field *children;
    const dc_json *metadata;    /* the field's metadata object (NULL when absent) */
};

typedef struct dc_delta_schema {
    dc_arena arena;             /* owns everything below */
    dc_delta_field root;        /* STRUCT of the top-level columns */
} dc_delta_schema;

/* Parses Delta schema JSON text. Unknown primitive types ("variant", ...)
 * are DC_EUNSUPPORTED naming the type and the column. */
int dc_delta_schema_parse(dc_delta_schema **out, const char *text, size_t n, dc_err *err);
void dc_delta_schema_free(dc_delta_schema *s);
/* Top-level field by display name (exact match), or NULL. */
const dc_delta_field *dc_delta_schema_find(const dc_delta_schema *s, const char *name);
/* Column mapping mode in effect for a protocol + configuration
 * ("delta.columnMapping.mode", honoured on reader version 2 or with the
 * columnMapping reader feature). An unknown mode is DC_EUNSUPPORTED. */
int dc_delta_cm_mode_of(dc_delta_cm_mode *out, const dc_delta_protocol *p,
                        const dc_delta_metadata *m, dc_err *err);

/* Column mapping mode name as deltacdc writes it (delta_colmap.c). */
/* The physical name of top-level column `logical` (its own name without
 * column mapping), or NULL when the schema has no such column: every
 * reader of data files by column name goes through this. */
const char *dc_delta_colmap_physical(const dc_delta_schema *s, const char *logical);
/* delta.columnMapping.maxColumnId of m (0 when absent); DC_ECORRUPT when
 * it is not a number. */
int dc_delta_colmap_max_id(int64_t *out, const dc_delta_metadata *m, dc_err *err);
/* Top-level columns to rename or drop, by physical name. */
typedef struct dc_delta_colmap_edit {
    uint32_t n;
    const char *const *physical;  /* n physical names */
    const char *const *logical;   /* their new logical names; NULL: drop the column */
} dc_delta_colmap_edit;
/* The schema with every StructField (nested too) given an id and a
 * physical name (its name) where it has none, and `edit` (may be NULL)
 * applied to the top level. A top-level field without an id takes the id
 * of `old`'s field of its physical name (`old` may be NULL), else ++*max_id.
 * NUL-terminated in out (len without it). */
int dc_delta_colmap_rewrite(dc_buf *out, int64_t *max_id, const char *schema_json,
                            const dc_delta_colmap_edit *edit, const dc_delta_schema *old,
                            dc_err *err);

/* Parses a partition value (the string in partitionValues) of a primitive
 * type and appends it to `out` in parquet.h's JSON conventions; NULL or ""
 * appends null. Timestamps accept "YYYY-MM-DD HH:MM:SS[.ffffff]" (read as
 * UTC) and ISO 8601 with 'T' and 'Z' or an offset. Errors name the value. */
int dc_delta_partition_value_json(dc_buf *out, const dc_delta_field *f, const char *value,
                                  dc_err *err);

/* ---------------------------------------------------- deletion vectors */

/* The set of deleted row indexes of one data file. */
typedef struct dc_delta_dv dc_delta_dv;

/* Loads the DV of a descriptor: reads the DV file through storage (u, p) or
 * decodes it inline (i); checks the size prefix, the CRC-32, the magic, and
 * that the decoded cardinality equals dv->cardinality. */
int dc_delta_dv_load(dc_delta_dv **out, dc_storage *s, const dc_delta_dv_desc *dv,
                     dc_err *err);
/* Decodes a serialized RoaringBitmapArray (magic + portable 64-bit roaring). */
int dc_delta_dv_decode(dc_delta_dv **out, const uint8_t *p, size_t n, dc_err *err);
/* Empty DV for writers to fill. */
int dc_delta_dv_new(dc_delta_dv **out, dc_err *err);
int dc_delta_dv_add(dc_delta_dv *dv, uint64_t row, dc_err *err);
/* Appends the serialized RoaringBitmapArray (magic included). */
int dc_delta_dv_encode(dc_buf *out, const dc_delta_dv *dv, dc_err *err);
void dc_delta_dv_free(dc_delta_dv *dv);
uint64_t dc_delta_dv_cardinality(const dc_delta_dv *dv);
bool dc_delta_dv_contains(const dc_delta_dv *dv, uint64_t row);
/* All rows, ascending, into a fresh array (dc_free). */
int dc_delta_dv_to_array(uint64_t **rows_out, size_t *n_out, const dc_delta_dv *dv,
                         dc_err *err);
/* Storage path of a 'u' or 'p' DV file ('u': [prefix/]deletion_vector_<uuid>.bin,
 * relative to the table root; 'p': the absolute path decoded from its URI). */
int dc_delta_dv_file_path(dc_buf *out, const dc_delta_dv_desc *dv, dc_err *err);
/* Z85 (ZeroMQ RFC 32): n must be a multiple of 5 to decode, 4 to encode. */
int dc_z85_decode(dc_buf *out, const char *s, size_t n, dc_err *err);
int dc_z85_encode(dc_buf *out, const uint8_t *p, size_t n, dc_err *err);
/* CRC-32 (IEEE, as zlib's crc32). */
uint32_t dc_delta_crc32(const uint8_t *p, size_t n);

/* ---------------------------------------------------------- the log */

/* Log file names. */
int dc_delta_commit_name(char out[64], int64_t version);  /* "_delta_log/%020lld.json" */

/* One parsed commit file. */
typedef struct dc_delta_commit {
    dc_arena arena;               /* owns actions and their strings */
    int64_t version;
    int64_t mtime_ms;             /* the file's modification time (from listing, or 0) */
    size_t n_actions;
    dc_delta_action *actions;     /* in file order, unknown actions left out */
} dc_delta_commit;

/* Reads and parses _delta_log/<version>.json. Missing is DC_ENOTFOUND. */
int dc_delta_commit_read(dc_delta_commit **out, dc_storage *s, int64_t version, dc_err *err);
void dc_delta_commit_free(dc_delta_commit *c);
/* Keeps the commits this process writes parsed, for dc_delta_snapshot_update
 * of another snapshot of the same table in this process (delta_ccache.c);
 * off by default; turning it off drops what is held. For a process that
 * follows its own commits with a second snapshot (the daemon's maintenance
 * thread). */
void dc_delta_commit_cache_enable(bool on);

/* Versions of the JSON commits present (sorted, with their mtimes), for
 * history and for writers looking for the latest version. */
typedef struct dc_delta_versions {
    size_t n;
    int64_t *versions;            /* ascending */
    int64_t *mtimes_ms;           /* parallel to versions */
} dc_delta_versions;
int dc_delta_log_versions(dc_delta_versions *out, dc_storage *s, dc_err *err);
void dc_delta_versions_dispose(dc_delta_versions *v);

/* -------------------------------------------------------- snapshots */

typedef struct dc_delta_snapshot dc_delta_snapshot;

/* Loads the snapshot at `version`, or the latest when version < 0.
 * `s` is borrowed and must outlive the snapshot. No _delta_log or no commit
 * is DC_ENOTFOUND; a version that is not there or can not be reconstructed
 * (log cleaned) is DC_ENOTFOUND naming the versions available; a gap in the
 * log is DC_ECORRUPT; a protocol we can not read is DC_EUNSUPPORTED naming
 * the feature. */
int dc_delta_snapshot_load(dc_delta_snapshot **out, dc_storage *s, int64_t version,
                           dc_err *err);
void dc_delta_snapshot_free(dc_delta_snapshot *snap);
/* Moves a loaded snapshot forward to `version` (latest when < 0) by
 * replaying the JSON commits after its version (writers refreshing after a
 * lost commit race, the daemon following a table). Going backwards is
 * DC_EINVAL. Every new commit is read and parsed before any is applied, so a
 * missing or malformed commit leaves the snapshot as it was; only running
 * out of memory while applying leaves it unusable: it is then marked broken,
 * every later update fails with DC_EINTERNAL, and it must be freed. */
int dc_delta_snapshot_update(dc_delta_snapshot *snap, int64_t version, dc_err *err);

/* Getters: borrowed, valid until dc_delta_snapshot_free. */
int64_t dc_delta_snapshot_version(const dc_delta_snapshot *snap);
dc_storage *dc_delta_snapshot_storage(const dc_delta_snapshot *snap);
const dc_delta_protocol *dc_delta_snapshot_protocol(const dc_delta_snapshot *snap);
const dc_delta_metadata *dc_delta_snapshot_metadata(const dc_delta_snapshot *snap);
/* Parsed schema (parsed on first call, then cached). */
int dc_delta_snapshot_schema(const dc_delta_schema **out, dc_delta_snapshot *snap, dc_err *err);
dc_delta_cm_mode dc_delta_snapshot_cm_mode(const dc_delta_snapshot *snap);
/* Live files (add actions), in log order: the order of their latest add. */
size_t dc_delta_snapshot_n_files(const dc_delta_snapshot *snap);
const dc_delta_add *dc_delta_snapshot_file(const dc_delta_snapshot *snap, size_t i);
/* Remove tombstones kept by the log (for VACUUM and checkpoints), log order. */
size_t dc_delta_snapshot_n_tombstones(const dc_delta_snapshot *snap);
const dc_delta_remove *dc_delta_snapshot_tombstone(const dc_delta_snapshot *snap, size_t i);
/* Transactions, one per appId, in first-seen order. */
size_t dc_delta_snapshot_n_txns(const dc_delta_snapshot *snap);
const dc_delta_txn *dc_delta_snapshot_txn(const dc_delta_snapshot *snap, size_t i);
/* The txn appId "<pipeline>/<topic>/<partition>" into out (reset first,
 * NUL-terminated, len counts the NUL): the one builder for every position we
 * record and look up, bounded by DC_DELTA_MAX_APP_ID_BYTES (beyond it is
 * DC_ELIMIT naming the topic; no lookup works on a truncated copy). */
int dc_delta_app_id(dc_buf *out, const char *pipeline, const char *topic, int32_t partition,
                    dc_err *err);
/* txn version of appId → 0, or DC_ENOTFOUND (err untouched). */
int dc_delta_snapshot_txn_version(int64_t *version_out, const dc_delta_snapshot *snap,
                                  const char *app_id);
/* Live domain metadata (tombstones excluded), first-seen order. */
size_t dc_delta_snapshot_n_domains(const dc_delta_snapshot *snap);
const dc_delta_domain *dc_delta_snapshot_domain(const dc_delta_snapshot *snap, size_t i);
/* Version of the checkpoint the snapshot was loaded from, or -1. */
int64_t dc_delta_snapshot_checkpoint_version(const dc_delta_snapshot *snap);
/* The newest checkpoint this snapshot knows of without reading storage: the
 * one it was loaded from, one dc_delta_checkpoint_write wrote for it, or one
 * noted; -1 for none. Another writer's later checkpoint is not seen (read
 * dc_delta_last_checkpoint, then note it). */
int64_t dc_delta_snapshot_known_checkpoint(const dc_delta_snapshot *snap);
void dc_delta_snapshot_note_checkpoint(dc_delta_snapshot *snap, int64_t version);
/* Adds and removes this snapshot applied since it was loaded or since its
 * known checkpoint last moved (a noted checkpoint older than the snapshot
 * counts as current: the actions between are not known without reading
 * them). What a checkpoint policy weighs against a checkpoint's rows. */
uint64_t dc_delta_snapshot_changes_since_checkpoint(const dc_delta_snapshot *snap);
/* Version named by _delta_log/_last_checkpoint, or -1 when it is absent or
 * unusable (it is a hint: an unusable one is logged at warn level). One GET. */
int64_t dc_delta_last_checkpoint(dc_storage *s);
/* True when an update failed while applying (dc_delta_snapshot_update): its
 * files may be incomplete, so nothing may be written or deleted from it. */
bool dc_delta_snapshot_broken(const dc_delta_snapshot *snap);

/* ------------------------------------------------------------ scans */

typedef struct dc_delta_scan dc_delta_scan;

/* A scan over a snapshot's rows. `columns` selects top-level columns by
 * display name (NULL: all, in schema order); unknown names are DC_EINVAL.
 * The snapshot is borrowed. */
int dc_delta_scan_new(dc_delta_scan **out, dc_delta_snapshot *snap, const char *const *columns,
                      size_t n_columns, dc_err *err);
/* Appends the next batch (the live rows of one row group of one file) as JSON
 * lines, one object per row with display names, in parquet.h's conventions;
 * sets *done when every file was read (nothing appended then). Files come in
 * log order, rows in file order; rows deleted by the file's DV are left out;
 * partition values come from the log; columns missing from a file are null. */
int dc_delta_scan_next(dc_delta_scan *sc, dc_buf *out, bool *done, dc_err *err);
/* Counters so far: rows returned and rows left out because of DVs. */
uint64_t dc_delta_scan_rows(const dc_delta_scan *sc);
uint64_t dc_delta_scan_rows_deleted(const dc_delta_scan *sc);
void dc_delta_scan_free(dc_delta_scan *sc);

/* Decodes an add/remove path (a URI reference) into a storage path: %XX
 * unescaped; "file:" URIs become absolute paths; other schemes are
 * DC_EUNSUPPORTED. */
int dc_delta_path_to_storage(dc_buf *out, const char *uri_path, dc_err *err);

/* Opens a Parquet file of the table (data file, checkpoint, sidecar) at
 * storage path `path` for reading (delta_pqfile.c), the one way every reader
 * opens one: mapped on a local backend; on an object store a small file is
 * read whole into `hold` (one GET), a large one sparsely: the footer by range
 * now, each column chunk by range on its first read, so unread columns are
 * never downloaded and no request is larger than a column chunk. `size`: the
 * object's bytes when the caller knows them (add.size, a listing), else 0
 * (then one HEAD asks). `hold` (caller-initialised, disposed by the caller
 * after the reader) owns the bytes; its max bounds the file's size. */
int dc_delta_pq_open(dc_pq_reader **out, dc_buf *hold, dc_storage *s, const char *path,
                     uint64_t size, dc_err *err);
/* An add's size for dc_delta_pq_open: 0 (unknown) when the log says none. */
static inline uint64_t dc_delta_add_size(const dc_delta_add *a)
{
    return a && a->size > 0 ? (uint64_t)a->size : 0;
}

/* =====================================================================
 * WRITE SIDE (delta_create.c, delta_commit.c, delta_conflict.c,
 * delta_stats.c, delta_dv_write.c, delta_checkpoint_write.c,
 * delta_datafile.c, delta_wutil.c). Additive to the contract above.
 *
 * A writer: loads a snapshot, opens a transaction on it, writes data files
 * (dc_delta_file_writer) and/or deletes rows (DVs), then commits. Data and
 * DV files are made durable before the commit file is created with
 * put-if-absent; a lost race is resolved by the conflict rules of Delta's
 * optimistic concurrency (see dc_delta_conflict_check).
 * ===================================================================== */

#define DC_DELTA_ENGINE_INFO "deltacdc/0.1.0"

/* ------------------------------------------------------ small helpers */

/* Random (RFC 4122 version 4) UUID in canonical text form, NUL-terminated. */
int dc_delta_uuid_v4(char out[37], dc_err *err);
/* Wall-clock milliseconds since the Unix epoch. */
int64_t dc_delta_now_ms(void);
/* %-escapes a table-relative storage path for an add/remove `path` (a URI
 * reference, RFC 2396): keeps unreserved characters and / : @ & = + $ , ;
 * escapes every other byte as %XX (upper-case hex). */
int dc_delta_path_encode(dc_buf *out, const char *path, size_t n, dc_err *err);
/* Appends the Hive-style directory segment "col=value" for a partition
 * value, escaping as Spark does (%XX for control characters and
 * " # % ' * / : = ? \ { [ ] ^ DEL); NULL or "" is __HIVE_DEFAULT_PARTITION__. */
int dc_delta_partition_dir(dc_buf *out, const char *col, const char *value, dc_err *err);

/* 0 when this build can write a table with protocol p and metadata m; else
 * DC_EUNSUPPORTED naming the writer version, the writer feature, or the
 * active feature (column mapping, invariants, CHECK constraints, generated
 * or identity columns, row tracking, in-commit timestamps...) we can not
 * honour. Reader features are checked too (writers read the table). */
int dc_delta_protocol_check_write(const dc_delta_protocol *p, const dc_delta_metadata *m,
                                  dc_err *err);

/* ------------------------------------------------------------ create */

typedef struct dc_delta_create_opts {
    const char *schema_json;            /* Delta schema JSON text (a struct) */
    uint32_t n_partition_columns;
    const char *const *partition_columns;  /* top-level column names, in order */
    uint32_t n_configuration;
    const dc_delta_kv *configuration;   /* table properties, copied into metaData */
    bool enable_dv;                     /* deletion vectors: protocol (3,7) with the
                                           deletionVectors feature and
                                           delta.enableDeletionVectors=true */
    const char *name;                   /* optional metaData.name */
    const char *description;            /* optional metaData.description */
} dc_delta_create_opts;

/* Creates a table: version 0 with protocol, metaData (random id) and
 * commitInfo (CREATE TABLE), written with put-if-absent. Protocol (1,2) by
 * default; (3,7) with readerFeatures/writerFeatures when deletion vectors or
 * timestamp_ntz columns need table features. An existing table is DC_EEXISTS.
 * The schema is checked (parsed, partition columns present and primitive). */
int dc_delta_table_create(dc_storage *s, const dc_delta_create_opts *o, dc_err *err);

/* ------------------------------------------------------------- stats */

typedef struct dc_delta_stats_opts {
    int32_t num_indexed_cols;  /* leaf columns with statistics, in schema order
                                  (delta.dataSkippingNumIndexedCols, 32; -1: all) */
    int32_t string_prefix;     /* delta.dataSkippingStringPrefixLength (32 UTF-16 units) */
    bool tight_bounds;         /* write "tightBounds":true (tables with deletion vectors) */
} dc_delta_stats_opts;

void dc_delta_stats_opts_init(dc_delta_stats_opts *o);
/* From a table's properties; bad values are DC_EINVAL naming the property. */
int dc_delta_stats_opts_from_metadata(dc_delta_stats_opts *o, const dc_delta_protocol *p,
                                      const dc_delta_metadata *m, dc_err *err);
/* Appends the add-action stats JSON of a data file from its Parquet footer
 * (dc_pq_writer_meta after close) and the schema it was written with:
 * numRecords; minValues/maxValues (numbers, decimals, dates, timestamps
 * truncated to milliseconds, strings truncated to string_prefix as Spark
 * does) and nullCount per leaf column outside arrays/maps, nested as the
 * schema; tightBounds when asked. Names are the Parquet (physical) names. */
int dc_delta_stats_from_footer(dc_buf *out, const dc_pq_schema *schema, const pq_file_meta *meta,
                               const dc_delta_stats_opts *o, dc_err *err);
/* numRecords of a stats JSON text → 0, or DC_ENOTFOUND when absent. */
int dc_delta_stats_num_records(int64_t *out, const char *stats, dc_err *err);
/* maxValues of top-level integer column `physical` of a stats JSON text → 0,
 * or DC_ENOTFOUND when absent (or null); *tight is false when the stats say
 * "tightBounds": false (the max is a bound, perhaps of a deleted row). */
int dc_delta_stats_max_i64(int64_t *out, bool *tight, const char *stats, const char *physical,
                           dc_err *err);

/* ------------------------------------------------------ transactions */

typedef struct dc_delta_tx dc_delta_tx;

/* A transaction against `snap` (borrowed; must outlive the tx). `operation`
 * names the commitInfo operation in Spark's words ("WRITE", "DELETE",
 * "MERGE", "OPTIMIZE", ...). Fails with DC_EUNSUPPORTED when the table's
 * protocol can not be written by us (dc_delta_protocol_check_write). */
int dc_delta_tx_new(dc_delta_tx **out, dc_delta_snapshot *snap, const char *operation,
                    dc_err *err);
void dc_delta_tx_free(dc_delta_tx *tx);
/* Actions. Everything is copied. A path may appear at most once among the
 * adds and once among the removes of a transaction (DC_EINVAL otherwise). */
int dc_delta_tx_add(dc_delta_tx *tx, const dc_delta_add *a, dc_err *err);
int dc_delta_tx_remove(dc_delta_tx *tx, const dc_delta_remove *r, dc_err *err);
/* The remove Spark writes for a live file (an add of the snapshot):
 * deletionTimestamp now, extendedFileMetadata, size, partitionValues, tags,
 * stats and the file's deletion vector. Marks the tx as having read the file. */
int dc_delta_tx_remove_file(dc_delta_tx *tx, const dc_delta_add *live, bool data_change,
                            dc_err *err);
/* Soft-deletes rows (physical row indexes) of the live file `live` with a
 * deletion vector: new DV = old DV ∪ rows, stored in the tx's DV file; adds
 * the remove of the old logical file and the add of the new one (same stats
 * with tightBounds false). All rows deleted → the file is removed. Requires
 * delta.enableDeletionVectors=true (DC_EUNSUPPORTED otherwise). */
int dc_delta_tx_delete_rows(dc_delta_tx *tx, const dc_delta_add *live, const uint64_t *rows,
                            size_t n, dc_err *err);
/* Adds a new file `a` (no DV of its own) whose rows `dv` marks deleted: the
 * DV goes to the tx's DV file, the stats get tightBounds false. For a
 * rewrite that carries over deletes other commits made meanwhile (OPTIMIZE
 * beside a writer). Needs deletion vectors (DC_EUNSUPPORTED otherwise:
 * dc_delta_tx_can_delete_rows tells beforehand). */
int dc_delta_tx_add_with_dv(dc_delta_tx *tx, const dc_delta_add *a, const dc_delta_dv *dv,
                            dc_err *err);
bool dc_delta_tx_can_delete_rows(const dc_delta_tx *tx);
/* Application transaction (exactly-once progress). A concurrent commit that
 * sets the same appId makes this tx conflict. */
int dc_delta_tx_set_txn(dc_delta_tx *tx, const char *app_id, int64_t version, dc_err *err);
/* Schema evolution: the new schema must keep every existing field (same
 * name, type, nullability, order) and may only add nullable fields (at the
 * end of a struct). Writes a metaData action with the new schemaString. */
int dc_delta_tx_set_schema(dc_delta_tx *tx, const char *schema_json, dc_err *err);
/* The same, also letting top-level primitive columns widen (byte→short→
 * integer→long, float→double, decimal(p,s)→decimal(p+k,s)) for a
 * transaction that rewrites every live file with the new types: readers
 * need no type-widening support. */
int dc_delta_tx_set_schema_widened(dc_delta_tx *tx, const char *schema_json, dc_err *err);
/* Schema change of a table with column mapping mode name: columns matched
 * by physical name may be renamed or dropped, new nullable ones added (ids
 * above the table's maxColumnId), and with `widen` types widened; sets
 * delta.columnMapping.maxColumnId to max_id (delta_colmap.c). */
int dc_delta_tx_set_schema_mapped(dc_delta_tx *tx, const char *schema_json, int64_t max_id,
                                  bool widen, dc_err *err);
/* Table properties: writes a metaData action equal to the snapshot's with
 * `configuration` (n entries, copied) instead of its own. The caller checks
 * the values; a property that needs another protocol is its business too. */
int dc_delta_tx_set_configuration(dc_delta_tx *tx, const dc_delta_kv *configuration, uint32_t n,
                                  dc_err *err);
int dc_delta_tx_set_domain(dc_delta_tx *tx, const char *domain, const char *configuration,
                           bool removed, dc_err *err);
/* commitInfo operationParameters (string values, as Spark writes them) and
 * operationMetrics (Spark writes the numbers as strings; so do we). */
int dc_delta_tx_param(dc_delta_tx *tx, const char *key, const char *value, dc_err *err);
int dc_delta_tx_metric(dc_delta_tx *tx, const char *key, int64_t value, dc_err *err);
/* The transaction read the whole table to decide what it writes (MERGE,
 * DELETE): it is not a blind append, and concurrent removes of any file or
 * non-blind adds make it conflict. */
void dc_delta_tx_mark_read_all(dc_delta_tx *tx);
/* Writes the DV file (if any), then creates the next commit file with
 * put-if-absent. When another writer won the version, its commits are read
 * and checked (dc_delta_conflict_check); without a conflict the same actions
 * are tried at the next version. A conflict is DC_ECONFLICT with
 * err->retriable set (reload the snapshot and redo the work). The snapshot
 * is not updated: call dc_delta_snapshot_update. */
int dc_delta_tx_commit(int64_t *version_out, dc_delta_tx *tx, dc_err *err);
/* ^ An outcome that stays unknown (the commit may be in the log, and reading
 * it back failed: see dc_delta_commit_resolve) is DC_EUNKNOWN: the caller must
 * then keep every file the transaction names and not go on as if it had
 * failed (stop; a restart resumes from what the log holds). Any other error
 * means the commit is not in the log. */

/* Creates commit file `version` holding `body` with put-if-absent, and
 * resolves an unknown outcome: 0 committed, DC_EEXISTS another writer has
 * that version, DC_EUNKNOWN when even reading the log back could not tell.
 * Every commit we write goes through it (delta_resolve.c explains how). */
int dc_delta_commit_put(dc_storage *s, int64_t version, const void *body, size_t len,
                        dc_err *err);
/* The resolution alone, after a put of `body` at `version` returned
 * DC_EUNKNOWN: same results as dc_delta_commit_put. */
int dc_delta_commit_resolve(dc_storage *s, int64_t version, const void *body, size_t len,
                            dc_err *err);
/* After dc_delta_tx_commit committed `version`: moves the snapshot the tx
 * read (which must not have moved meanwhile) to that version. When the
 * commit came right after it, the tx's own actions are applied as replaying
 * the commit file would, without reading and parsing the file back; else
 * the commits in between are read (dc_delta_snapshot_update). */
int dc_delta_tx_apply_to_snapshot(dc_delta_tx *tx, int64_t version, dc_err *err);

/* -------------------------------------------------------- conflicts */

/* What a transaction did, for checking it against a winning commit. */
typedef struct dc_delta_tx_info {
    bool read_all;              /* read every file (not a blind append) */
    bool blind_append;          /* only adds, nothing read (commitInfo.isBlindAppend) */
    bool changes_metadata;      /* commits a metaData action */
    bool changes_protocol;      /* commits a protocol action */
    size_t n_removed;
    const char *const *removed; /* paths (as in the log) this tx removes */
    size_t n_app_ids;
    const char *const *app_ids; /* appIds whose txn this tx sets or depends on */
    size_t n_domains;
    const char *const *domains; /* domainMetadata domains this tx writes */
} dc_delta_tx_info;

/* 0 when `tx` can commit after `winner` (version tx.read+k) without
 * changing meaning; else DC_ECONFLICT (retriable) naming the winning version
 * and the rule: protocol changed, metadata changed, concurrent transaction
 * (same appId), concurrent domain metadata, concurrent append (the tx read
 * all and the winner added files in a non-blind commit), concurrent delete
 * of a file the tx read, concurrent delete of a file the tx removes. A new
 * protocol we can not write is DC_EUNSUPPORTED. */
int dc_delta_conflict_check(const dc_delta_tx_info *tx, const dc_delta_commit *winner,
                            dc_err *err);

/* --------------------------------------------------- deletion vectors */

/* Writes several DVs into one DV file deletion_vector_<uuid>.bin (format
 * version 1; each DV: 4-byte big-endian size, RoaringBitmapArray, 4-byte
 * big-endian CRC-32) and describes each as storage type 'u' (Z85 UUID). */
typedef struct dc_delta_dv_writer dc_delta_dv_writer;

int dc_delta_dv_writer_new(dc_delta_dv_writer **out, dc_storage *s, dc_err *err);
/* Appends a DV; *out gets its descriptor (pathOrInlineDv in `arena`). */
int dc_delta_dv_writer_add(dc_delta_dv_desc *out, dc_arena *arena, dc_delta_dv_writer *w,
                           const dc_delta_dv *dv, dc_err *err);
/* DVs added so far. */
size_t dc_delta_dv_writer_count(const dc_delta_dv_writer *w);
/* Creates the file durably (put-if-absent); nothing when no DV was added. */
int dc_delta_dv_writer_finish(dc_delta_dv_writer *w, dc_err *err);
void dc_delta_dv_writer_free(dc_delta_dv_writer *w);

/* ------------------------------------------------------ data files */

/* True when `name` is one of the table's partition columns. */
bool dc_delta_is_partition_column(const dc_delta_metadata *m, const char *name);
/* The schema DOM `doc` (a struct with "fields") without the partition
 * columns, which Delta keeps out of the data files; new nodes in `arena`. */
int dc_delta_data_schema_json(const dc_json **out, dc_arena *arena, const dc_json *doc,
                              const dc_delta_metadata *m, dc_err *err);
/* Parquet writer options for the table's data files and the codec's tag in
 * file names ("zstd", "snappy", ...): delta.parquet.compression.codec,
 * default zstd; an unknown codec is DC_EUNSUPPORTED naming it. */
int dc_delta_data_file_opts(dc_pq_writer_opts *opts, const char **codec_tag,
                            const dc_delta_metadata *m, dc_err *err);

/* Writes a table's rows (JSON objects with display names, parquet.h's
 * conventions) into Parquet data files, one file per distinct tuple of
 * partition values under Hive-style directories, and turns each into an add
 * action with stats. Codec from delta.parquet.compression.codec (zstd). */
typedef struct dc_delta_file_writer dc_delta_file_writer;

/* `schema_json` NULL: the snapshot's schema (else the evolved schema the tx
 * will commit). The snapshot is borrowed. */
int dc_delta_file_writer_new(dc_delta_file_writer **out, dc_delta_snapshot *snap,
                             const char *schema_json, dc_err *err);
int dc_delta_file_writer_write_row(dc_delta_file_writer *w, const dc_json *row, dc_err *err);
/* Columnar input: n_rows rows of one partition, `part_values` its n_part
 * serialized values in partition-column order (NULL: null), `cols` one
 * column per leaf of dc_delta_file_writer_data_schema. For writers that
 * hold rows as values already (snapshot), without a JSON row each. */
int dc_delta_file_writer_write_columns(dc_delta_file_writer *w, const char *const *part_values,
                                       const dc_pq_column *cols, size_t n_rows, dc_err *err);
/* The data files' schema (no partition columns; borrowed while w lives). */
const dc_pq_schema *dc_delta_file_writer_data_schema(const dc_delta_file_writer *w);
/* Closes every file (fsync) and adds its add action to tx (dataChange true). */
int dc_delta_file_writer_finish(dc_delta_file_writer *w, dc_delta_tx *tx, dc_err *err);
/* Removes files not yet handed to a tx; NULL is a no-op. */
void dc_delta_file_writer_free(dc_delta_file_writer *w);

/* ------------------------------------------------------- checkpoints */

typedef struct dc_delta_checkpoint_info {
    int64_t version;            /* the snapshot version checkpointed */
    int64_t size;               /* actions (rows) in the checkpoint */
    int64_t size_in_bytes;      /* bytes of the checkpoint file */
    int64_t num_add_files;      /* add rows */
} dc_delta_checkpoint_info;

/* Writes the classic single-file checkpoint _delta_log/<v>.checkpoint.parquet
 * of `snap` (protocol, metaData, txn, live domains, adds, unexpired remove
 * tombstones; Spark's nested schema, stats as JSON text), then
 * _last_checkpoint (atomic overwrite) unless it already names a newer one. */
int dc_delta_checkpoint_write(dc_delta_checkpoint_info *out, dc_delta_snapshot *snap,
                              dc_err *err);

#endif /* DC_DELTA_H */
