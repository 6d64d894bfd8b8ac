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
 * out of memory while applying leaves it unusable (free it). */
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
/* txn version of appId → 0, or DC_ENOTFOUND (err untouched). */
int dc_delta_snapshot_txn_version(int64_t *version_out, const dc_delta_snapshot *snap,
                                  const char *app_id);
/* Live domain metadata (tombstones excluded), first-seen order. */
size_t dc_delta_snapshot_n_domains(const dc_delta_snapshot *snap);
const dc_delta_domain *dc_delta_snapshot_domain(const dc_delta_snapshot *snap, size_t i);
/* Version of the checkpoint the snapshot was loaded from, or -1. */
int64_t dc_delta_snapshot_checkpoint_version(const dc_delta_snapshot *snap);

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

#endif /* DC_DELTA_H */
