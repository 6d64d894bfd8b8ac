/*
 * merge: applying Debezium events to a Delta table (issue 4), exactly once,
 * with a cost that grows with the batch and not with the table.
 *
 * Raw format (the seed's table, drop-in): the key columns (typed), ts_ms
 * bigint, json_record string (after image, or before image for a delete),
 * operation_type string (c, u, d, r as sent), offset bigint.
 *
 * Typed format (issue 9, merge_typed.c): one column per source column from
 * the records' Debezium schema blocks, then __op, __ts_ms, __offset,
 * __source_pos (and __deleted with soft deletes). The same semantics, with
 * three differences: events rank by their binlog position when they have
 * one; a delete removes the row (the index keeps the key and the delete's
 * sequence without a row) unless soft deletes keep it; repeats at or below
 * a topic-partition's committed position watermark are no-ops (counted).
 * New and widened columns are followed in the batch's own commit.
 *
 * Semantics (issue 4; the seed's SQL in ../shared/seed/ with three fixes):
 *   - within a batch, per key, the event with the greatest (ts_ms, offset) wins;
 *   - it replaces the table's row only if its (ts_ms, offset) is greater
 *     than the row's (no regression on replay or late events);
 *   - a deleted key (tombstone row, operation_type d) that is created again
 *     comes back; deletes keep their tombstone row;
 *   - r rows are inserted like c; t (truncate) removes every row committed
 *     before it (rows of the same batch after it stay).
 *
 * A key index (key -> file, row, sequence) is built from the table's key,
 * ts_ms and offset columns when the table is opened (exact; <= 40 bytes per
 * row for integer keys), so a batch touches only the rows it replaces:
 *   dv  (default): new versions go to a new file, replaced rows are marked in
 *                  deletion vectors of their old files (protocol 3/7);
 *   cow:           files holding replaced rows are rewritten (protocol 1/2).
 *
 * One Delta commit per batch holds the new files, the DV changes or removes,
 * a txn per topic-partition (appId "<pipeline>/<topic>/<partition>", version
 * = last offset of that topic-partition in the batch) and commitInfo with
 * operation MERGE and metrics numTargetRowsInserted / Updated / Deleted,
 * numSourceRows, and numTargetRowsTruncated (rows a truncate removed; they
 * are not in numTargetRowsDeleted, which counts delete events).
 */
#ifndef DC_MERGE_H
#define DC_MERGE_H

#include "../cdc/cdc.h"
#include "../common/dc_common.h"
#include "../delta/delta.h"

typedef enum dc_merge_mode { DC_MERGE_DV = 0, DC_MERGE_COW = 1 } dc_merge_mode;
typedef enum dc_table_format { DC_FORMAT_RAW = 0, DC_FORMAT_TYPED = 1 } dc_table_format;

/* Typed tables (merge_typed.c): one column per source column, typed from
 * the records' Debezium schema blocks, then the metadata columns
 * <prefix>op, <prefix>ts_ms, <prefix>offset, <prefix>source_pos and, with
 * soft deletes, <prefix>deleted. */
typedef struct dc_merge_typed_opts {
    bool soft_deletes;              /* a delete keeps the row (before image) with
                                       <prefix>deleted = true instead of removing it */
    const char *meta_prefix;        /* prefix of the metadata columns; NULL: "__" */
    dc_cdc_typed_opts types;        /* Delta types chosen for DATETIME and TIME */
    const char *create_schema;      /* creating the table: the first change record's schema
                                       block (dc_cdc_event.schema); NULL: none (refused) */
    size_t create_schema_len;
    const dc_cdc_schemalog *schema_changes; /* renames and drops to follow in place through
                                       column mapping (a new table gets mode name); borrowed,
                                       outlives the table; NULL: none */
} dc_merge_typed_opts;

typedef struct dc_merge_opts {
    const char *table_uri;          /* table root: path or file:// URI */
    const char *pipeline;           /* names the txn appIds */
    dc_merge_mode mode;
    dc_table_format format;         /* RAW or TYPED */
    dc_merge_typed_opts typed;      /* TYPED only */
    dc_cdc_keyspec keys;            /* key columns */
    dc_cdc_key_type key_types[DC_CDC_MAX_KEYS]; /* used to create a missing table */
    uint8_t key_int_bytes[DC_CDC_MAX_KEYS]; /* raw tables created here: an integer key's
                                       schema width (1, 2, 4: byte, short, integer;
                                       0 or 8: long), from the record's schema block */
    bool create_if_missing;         /* create the table (raw schema) when absent */
    const dc_delta_kv *properties;  /* table properties of a table created here */
    uint32_t n_properties;
    bool index_file;                /* load the persisted key index when there is one */
} dc_merge_opts;

typedef struct dc_merge_table dc_merge_table;

/* Opens (or creates) the table, loads its snapshot and builds the key index.
 * An existing table whose schema is not the raw layout for these keys, or
 * whose key types differ, is refused with a message naming the column. */
int dc_merge_table_open(dc_merge_table **out, const dc_merge_opts *o, dc_err *err);
void dc_merge_table_free(dc_merge_table *t);

/* Next offset to read for a topic-partition: last committed + 1, or -1. */
int dc_merge_resume_offset(int64_t *next_out, dc_merge_table *t, const char *topic,
                           int32_t partition, dc_err *err);

/* Index footprint, for benchmarks and /status. */
/* Typed tables: the schema-change records to follow from the next batch on
 * (borrowed, outlives the table; NULL: none). */
void dc_merge_table_set_schema_changes(dc_merge_table *t, const dc_cdc_schemalog *log);

typedef struct dc_merge_index_stats {
    uint64_t rows;          /* live rows indexed (typed tables: and deleted keys kept) */
    uint64_t bytes;         /* memory held by the index */
    uint64_t builds;        /* full builds so far (open, reloads after a broken state or a
                               metadata change) */
    uint64_t rows_read;     /* data-file rows read for the index so far (builds, re-reads of
                               files others changed, moves after a rewrite) */
    uint64_t loads;         /* loads from a persisted index file */
    uint64_t seq_reads;     /* row groups read back to order two equal ordering values */
} dc_merge_index_stats;
void dc_merge_index_stats_get(dc_merge_index_stats *out, const dc_merge_table *t);
/* Room in the key index for n more keys, made now: a writer that knows how
 * many keys are coming (a bootstrap: the source's estimated rows) grows the
 * index once instead of rehashing every key it holds at each batch that
 * outgrows it. A hint: the batches still reserve what they need. */
int dc_merge_table_reserve_keys(dc_merge_table *t, uint64_t n, dc_err *err);
/* Writes the key index to the table's _deltacdc/keyindex/<version>.dcx
 * (published whole through the storage layer; older files removed), for
 * the next open to load instead of reading every data file. */
int dc_merge_table_persist(dc_merge_table *t, dc_err *err);

typedef struct dc_merge_batch dc_merge_batch;

int dc_merge_batch_new(dc_merge_batch **out, dc_merge_table *t, dc_err *err);
/* Whether `ev` fits in the batch (its events and bytes are bounded). A full
 * batch is not bad input: the caller commits it and adds `ev` to the next.
 * dc_merge_batch_add on a full batch is DC_ENOMEM. */
bool dc_merge_batch_has_room(const dc_merge_batch *b, const dc_cdc_event *ev);
/* The identity of a file source's input at the batch's last offset of
 * (topic, partition) (source.h: bytes through that line and their hash),
 * committed with the position as two more txn actions: appIds
 * "<pipeline>/<topic>#bytes/<partition>" and "...#hash/...". */
#define DC_MERGE_ID_BYTES "#bytes"
#define DC_MERGE_ID_HASH "#hash"
int dc_merge_batch_set_input_id(dc_merge_batch *b, const char *topic, int32_t partition,
                                uint64_t bytes, uint64_t hash, dc_err *err);
/* The identity recorded with the position of (topic, partition); *found
 * false when the table has none. */
int dc_merge_input_id(bool *found, uint64_t *bytes, uint64_t *hash, dc_merge_table *t,
                      const char *topic, int32_t partition, dc_err *err);
/* Adds one decoded event at its position; copies what it needs. SKIP events
 * only advance the position (so their offsets are committed too). All or
 * nothing: after an error the batch is as before the call (an earlier
 * winner of the key intact, the position not advanced). */
int dc_merge_batch_add(dc_merge_batch *b, const dc_cdc_event *ev, const char *topic,
                       int32_t partition, int64_t offset, dc_err *err);

/* A raw table's key columns as dc_merge_batch_add checks events against
 * them, copied out of the table (dc_merge_table_keyshape): a thread that
 * adds events while another commits checks them against the copy
 * (dc_merge_event_check) instead of reading the table the commit changes. */
typedef struct dc_merge_keyshape {
    uint32_t n_keys;
    dc_cdc_key_type key_types[DC_CDC_MAX_KEYS]; /* LONG / STRING, the table's */
    const char *key_names[DC_CDC_MAX_KEYS]; /* for messages (borrowed: the caller's names of
                                              the same columns, live while it uses them) */
} dc_merge_keyshape;
/* The raw table's key columns, with `names` (n_keys of them) for messages. */
void dc_merge_table_keyshape(dc_merge_keyshape *out, const dc_merge_table *t,
                             const char *const *names);
/* The errors dc_merge_batch_add gives a raw table's event for the event
 * itself (not a row change, its keys not the table's, a key too long), the
 * same codes and messages, without a batch: 0 when it would be added. */
int dc_merge_event_check(const dc_merge_keyshape *k, const dc_cdc_event *ev, const char *topic,
                         int32_t partition, int64_t offset, dc_err *err);
/* Events one batch holds at most (dc_merge_batch_has_room's bound). */
size_t dc_merge_batch_max_events(void);

/* Typed tables: the batch writes the table's history as of the source
 * position `pos` (a bootstrap's consistent snapshot: every source change at
 * or before it is in the rows). Its commit records `pos` as the table's
 * history floor (txns DC_MERGE_HISTORY_APP "#pos.hi"/"#pos.lo"; a lower
 * floor already there stays), and from then on every batch of the table
 * skips positioned events at or before the floor as repeats — also those of
 * keys the history does not hold (deleted before the snapshot), which the
 * per-key ranking alone would let an older event re-create. This batch itself
 * is not held to the floor. */
#define DC_MERGE_HISTORY_APP "deltacdc.history"
void dc_merge_batch_history(dc_merge_batch *b, const dc_cdc_srcpos *pos);
/* Typed tables: the events' images are already their decoded members
 * (dc_cdc_typed_members of the image with the columns of the schema block
 * the events carry, the table's typed options): the batch takes them as
 * they are, and keeps pointing at them (no copy): they must stay valid until
 * the commit. The bootstrap decodes on its reader thread, so that both cores
 * work. */
void dc_merge_batch_images_typed(dc_merge_batch *b);
/* Typed tables: the same rows also as columns (the bootstrap's reader
 * converts the source's text into them with dc_pq_column_put_json), one
 * per leaf of `schema` (built from the table's Delta schema): the values of
 * the events in the order they were added, or an empty column (n_levels 0)
 * for a leaf the batch fills (metadata columns; columns the source lacks,
 * null). The new file is written from them when every event goes into it
 * as an insert, in the order added, with the same metadata, and the table's
 * layout is still `schema`'s (merge_hcols.c); else from the images as
 * always. Borrowed until the commit. */
struct dc_pq_schema;
struct dc_pq_column;
void dc_merge_batch_columns(dc_merge_batch *b, const struct dc_pq_schema *schema,
                            const struct dc_pq_column *cols);
/* After dc_merge_batch_columns, before the first event: the events carry no
 * images (after and before NULL), the columns alone hold the rows. When the
 * columns can not be written as they are (see above), the commit fails
 * (DC_EUNSUPPORTED), commits nothing, and dc_merge_batch_columns_refused
 * says so: the caller sends the rows again with their images (a bootstrap's
 * reader re-reads the chunk). Spares the reader the images it rarely needs. */
void dc_merge_batch_columns_only(dc_merge_batch *b);
bool dc_merge_batch_columns_refused(const dc_merge_batch *b);

/* For readers that rank typed rows as the merge does (deltacdc snapshot): a
 * source position as the two int64s typed tables rank by, compared as a pair
 * (rank[0] first, signed), in dc_cdc_srcpos_cmp's order (positions of 2^32
 * or more saturate). */
void dc_merge_pos_rank(int64_t rank[2], const dc_cdc_srcpos *p);
/* The history floor a bootstrap recorded in `snap` (DC_MERGE_HISTORY_APP
 * txns) as such a pair: 0, or DC_ENOTFOUND when the table has none. */
int dc_merge_history_floor(int64_t rank[2], const struct dc_delta_snapshot *snap);

/* Adds a commitInfo operationParameter (string value) to the batch's commit,
 * e.g. a bootstrap's last key, so that it is committed atomically with the
 * rows (read back from the log). Copied. At most 8 per batch. */
int dc_merge_batch_param(dc_merge_batch *b, const char *key, const char *value, dc_err *err);

typedef struct dc_merge_result {
    int64_t version;        /* the Delta version committed, -1 when nothing to commit */
    uint64_t source_rows;   /* events added (incl. skipped ones) */
    uint64_t inserted, updated, deleted; /* rows: deleted counts tombstone rows written */
    uint64_t stale;         /* events older than the table's row: ignored */
    bool truncate;          /* a truncate applied: every row committed before it is gone */
    uint64_t truncated;     /* the rows it removed (the table's live rows before it,
                               tombstone rows included); commitInfo's
                               numTargetRowsTruncated */
    bool typed;             /* a typed table: repeats is counted (the batch line says it) */
    uint64_t repeats;       /* typed tables: events not newer than the table's row or at
                               or before their partition's source-position watermark
                               (Debezium's at-least-once repeats): no-ops, also in stale */
    uint32_t columns_added; /* typed tables: source columns this commit added */
    uint32_t columns_widened; /* typed tables: columns it widened (every file rewritten) */
    double seconds;         /* wall time of the commit */
} dc_merge_result;

/* Writes the new file(s), DVs or rewrites and commits once. A lost race with
 * another writer is retried by the protocol's rules; a real conflict returns
 * DC_ECONFLICT (retriable: reopen the table and replay from its txn). After a
 * failed commit the batch is spent and the index is unchanged. */
int dc_merge_batch_commit(dc_merge_result *out, dc_merge_batch *b, dc_err *err);
void dc_merge_batch_free(dc_merge_batch *b);

/* ------------------------------------------- table maintenance (issue 5) */

struct dc_delta_snapshot;
struct dc_delta_add;

/* The snapshot the key index reflects (borrowed; valid until the next call
 * on t). Maintenance that must plan on the index's version (OPTIMIZE in the
 * daemon) reads it; it must not move it. */
struct dc_delta_snapshot *dc_merge_table_snapshot(dc_merge_table *t);

/* A rewrite that keeps every live row (OPTIMIZE), committed at `version`
 * and planned on the table's snapshot at `read_version`: the files
 * `removed` (paths as in the log) were replaced by `added`, which hold
 * exactly their live rows. */
typedef struct dc_merge_rewrite {
    int64_t read_version;           /* the version the rewrite was planned on */
    int64_t version;                /* the version it committed */
    const char *const *removed;     /* n_removed paths as in the log */
    size_t n_removed;
    const struct dc_delta_add *added; /* n_added adds */
    size_t n_added;
    /* Optional (NULL when unknown), per removed file: */
    const uint32_t *const *row_maps; /* per physical row: its row in added[map_added[i]],
                                       UINT32_MAX for a row that was not live */
    const uint64_t *map_rows;       /* entries of row_maps[i] */
    const uint32_t *map_added;      /* index into added, UINT32_MAX when none */
} dc_merge_rewrite;

/* Moves the key index along a committed rewrite, then the snapshot to its
 * version. With row maps the index slots are repointed in one pass over
 * the index (no data file is read) when the rewrite moved a fair share of
 * the table's rows; otherwise the added files' key, ts_ms, offset and
 * operation_type columns are read and each moved key looked up. When the
 * rewrite was planned on another version than the index's, or removed a
 * file the index does not know, the index is rebuilt instead. On an error
 * the table reloads before its next use (the commit stands). */
int dc_merge_table_after_rewrite(dc_merge_table *t, const dc_merge_rewrite *rw, dc_err *err);

/* ------------------------------- raw tables keep their schemas (issue 9) */

/* Every distinct Debezium value schema a raw table has seen is kept once, in
 * <table>/_deltacdc_schemas/ (merge_rawschema.c): S-<sha256>.json holds a
 * record's "schema" member byte for byte, P-<sha256>.json a change point
 * (topic, partition, offset, schema): from that offset on the partition's
 * records carried that schema. A raw row's schema is its offset's: per
 * partition, the last change point at or before the row's offset. Files
 * are written before the commit whose rows use them; '_' names are left
 * alone by Delta readers, OPTIMIZE and VACUUM. */
#define DC_MERGE_SCHEMAS_DIR "_deltacdc_schemas"

/* Writer side, one per raw table: the last schema per topic-partition, and
 * the files a change makes, put by dc_merge_schemas_flush. */
typedef struct dc_merge_schemas dc_merge_schemas;
int dc_merge_schemas_new(dc_merge_schemas **out, dc_err *err);
void dc_merge_schemas_free(dc_merge_schemas *w);
/* A record's schema block (NULL: none, nothing changes). Cheap when it is
 * the partition's last one (memcmp). */
int dc_merge_schemas_note(dc_merge_schemas *w, const char *topic, int32_t partition,
                          int64_t offset, const char *schema, size_t len, dc_err *err);
/* Puts the pending files (schemas first), durably; call before the commit. */
int dc_merge_schemas_flush(dc_merge_schemas *w, const char *table_uri, dc_err *err);

/* Reader side. */
typedef struct dc_merge_schema {
    char *id;               /* 64 hex digits (sha256 of block) */
    char *block;            /* the "schema" member (NUL-terminated) */
    size_t len;             /* its bytes */
} dc_merge_schema;
typedef struct dc_merge_schema_set dc_merge_schema_set;
/* Every schema and change point of the table at `s` (none: an empty set). */
int dc_merge_schema_set_load(dc_merge_schema_set **out, dc_storage *s, dc_err *err);
void dc_merge_schema_set_free(dc_merge_schema_set *set);
uint32_t dc_merge_schema_set_count(const dc_merge_schema_set *set);
const dc_merge_schema *dc_merge_schema_set_get(const dc_merge_schema_set *set, uint32_t i);
/* The distinct schemas (indexes, at most max) in force at `offset`, one
 * candidate per topic-partition that has a change point at or before it. */
/* The least offset of a change point naming schema i (INT64_MAX: none). */
int64_t dc_merge_schema_set_first(const dc_merge_schema_set *set, uint32_t i);
uint32_t dc_merge_schema_set_at(uint32_t *out, uint32_t max, const dc_merge_schema_set *set,
                                int64_t offset);
/* The schemas' indexes by their first change point, oldest first (*out
 * owned, dc_free): the order the stream went through them. */
int dc_merge_schema_set_order(uint32_t **out, uint32_t *n_out, const dc_merge_schema_set *set,
                              dc_err *err);

/* --------------------------------------------- retype (merge_retype.c) */

/* A typed table rebuilt from a raw table: each live raw row as the change
 * event it was (op, ts_ms, offset; no source position), decoded with the
 * schema kept for its offset; then the raw table's txns, so typed ingest
 * goes on from the raw table's positions. The rows' batches use txn appIds
 * "<DC_MERGE_RETYPE_PIPELINE>/<DC_MERGE_RETYPE_TOPIC>/<batch>". An existing
 * typed table is refused (DC_EEXISTS). */
#define DC_MERGE_RETYPE_PIPELINE "deltacdc.retype"
#define DC_MERGE_RETYPE_TOPIC "rows"
typedef struct dc_merge_retype_opts {
    const char *raw_uri;            /* the raw table */
    const char *typed_uri;          /* the typed table to create */
    dc_merge_mode mode;
    dc_merge_typed_opts typed;      /* soft deletes, metadata prefix, types
                                       (create_schema is set by retype) */
} dc_merge_retype_opts;
typedef struct dc_merge_retype_stats {
    uint64_t rows_in;               /* raw rows read */
    uint64_t rows_out;              /* rows the typed table got */
    uint64_t commits;               /* row commits */
    size_t positions;               /* txns copied */
} dc_merge_retype_stats;
int dc_merge_retype(dc_merge_retype_stats *out, const dc_merge_retype_opts *o, dc_err *err);

#endif /* DC_MERGE_H */
