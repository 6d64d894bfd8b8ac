/*
 * Every limit deltacdc enforces on input, with its reason (SQLite's sqliteLimit.h).
 * A value from a file or a message is checked against these before it sizes
 * an allocation or a loop.
 */
#ifndef DC_LIMITS_H
#define DC_LIMITS_H

/* Parquet footer: real footers of wide, many-row-group files reach a few MiB;
 * 64 MiB leaves room and stops a forged length from allocating gigabytes. */
#define DC_PQ_MAX_FOOTER_BYTES (64u * 1024 * 1024)

/* Decoded footer (or one page header) in memory: structs are larger than
 * their compact encoding (a ColumnChunk of ~20 bytes decodes to ~300), so
 * allow 16x the largest footer, and no more. */
#define DC_PQ_MAX_FOOTER_MEMORY ((size_t)DC_PQ_MAX_FOOTER_BYTES * 16)

/* One page, compressed or not. parquet-java caps pages near 1 MiB by default,
 * Spark at 2 GiB per chunk; 512 MiB is far above any sane writer. */
#define DC_PQ_MAX_PAGE_BYTES (512u * 1024 * 1024)

/* One column chunk decoded in memory (values + offsets) in the reader. */
#define DC_PQ_MAX_CHUNK_BYTES ((size_t)2 * 1024 * 1024 * 1024)

/* Values (levels) in one page: bounds the level arrays a header can ask for. */
#define DC_PQ_MAX_PAGE_VALUES (64u * 1024 * 1024)

/* Schema elements in one file and nesting depth of a schema. Wide tables have
 * a few thousand columns; depth beyond 64 is only seen in hostile files. */
#define DC_PQ_MAX_SCHEMA_ELEMENTS 100000
#define DC_PQ_MAX_SCHEMA_DEPTH 64

/* Definition/repetition levels are int16 in our buffers. */
#define DC_PQ_MAX_LEVEL 32767
_Static_assert(DC_PQ_MAX_SCHEMA_DEPTH <= DC_PQ_MAX_LEVEL, "levels fit int16");

/* Row groups in one file and rows in one file. */
#define DC_PQ_MAX_ROW_GROUPS 1000000
/* Thrift: nesting of structs/lists, and elements of one list. */
#define DC_THRIFT_MAX_DEPTH 64
#define DC_THRIFT_MAX_LIST 10000000
/* One Thrift binary/string field (statistics, key-value metadata). */
#define DC_THRIFT_MAX_BINARY (64u * 1024 * 1024)
_Static_assert(DC_THRIFT_MAX_BINARY <= DC_PQ_MAX_FOOTER_BYTES, "a field fits a footer");

/* Decompressed size claimed by a page header, checked before inflating:
 * a page can not legitimately expand beyond this ratio of its compressed size
 * plus a constant (zstd's maximum ratio is ~32000 for runs; we allow that). */
#define DC_PQ_MAX_PAGE_UNCOMPRESSED DC_PQ_MAX_PAGE_BYTES

/* Writer defaults. A row group of 128 MiB is what Spark and parquet-java use;
 * pages of 1 MiB keep page indexes useful. */
#define DC_PQ_DEFAULT_ROW_GROUP_BYTES (128u * 1024 * 1024)
#define DC_PQ_DEFAULT_PAGE_BYTES (1024u * 1024)
#define DC_PQ_DEFAULT_DICT_BYTES (1024u * 1024)
/* Statistics of byte arrays longer than this are truncated (parquet-java 64). */
#define DC_PQ_STATS_TRUNCATE 64

/* JSON: documents (a schema, a Delta commit line, a record) and nesting. */
#define DC_JSON_MAX_DEPTH 256
#define DC_JSON_MAX_DOC_BYTES ((size_t)1024 * 1024 * 1024)
/* One line of a JSON-lines input file. */
#define DC_JSONL_MAX_LINE ((size_t)256 * 1024 * 1024)
_Static_assert(DC_JSONL_MAX_LINE <= DC_JSON_MAX_DOC_BYTES, "a line fits a document");

/* Debezium: largest schema block the decoder's cache copies. Real blocks
 * are a few KiB (a few hundred columns stay under 64 KiB); a larger one is
 * still decoded, only scanned every time. */
#define DC_CDC_MAX_CACHED_SCHEMA ((size_t)1024 * 1024)

/* Typed tables. MySQL and MariaDB allow at most 4096 columns per table and
 * 64-character names (256 bytes in utf8mb4); the name limit leaves room
 * for other sources. A typed row keeps one 8-byte slot per column on the
 * stack (32 KiB at most). */
#define DC_CDC_MAX_COLUMNS 4096
#define DC_CDC_MAX_COLUMN_NAME 1024
/* Memory of one parsed schema (columns, names, each field's schema JSON). */
#define DC_CDC_MAX_TSCHEMA_BYTES ((size_t)64 * 1024 * 1024)
/* Digits of a Decimal: MySQL's DECIMAL holds 65; 76 is what 32 bytes of two's
 * complement always hold (2^255 has 77 digits), the most a value may carry. */
#define DC_CDC_MAX_DECIMAL_DIGITS 76
#define DC_CDC_MAX_DECIMAL_BYTES 32
/* Members of a struct column (geometry: wkb, srid; points also x, y). */
#define DC_CDC_MAX_STRUCT_FIELDS 16
/* Schema-change records kept for a typed table (cdc_schemachange.c): the
 * renames and drops of a table's whole life, and the column lists they come
 * from (every ALTER's list is kept: a few KiB each). */
#define DC_CDC_MAX_SCHEMALOG_OPS (1 << 20)
#define DC_CDC_MAX_SCHEMALOG_BYTES ((size_t)1024 * 1024 * 1024)

/* Whole files read into memory (a schema file, a Delta commit). */
#define DC_MAX_SMALL_FILE ((size_t)1024 * 1024 * 1024)

/* Delta. A commit or JSON checkpoint file is read whole: DC_MAX_SMALL_FILE.
 * _last_checkpoint may embed a V2 checkpoint's non-file actions and schema;
 * real ones are a few KiB, 64 MiB stops a forged one. */
#define DC_DELTA_MAX_LAST_CHECKPOINT ((size_t)64 * 1024 * 1024)
/* Parts of a multi-part checkpoint (Spark writes ~1 per million actions). */
#define DC_DELTA_MAX_CHECKPOINT_PARTS 100000
/* Logical files in one snapshot: far above real tables (tens of millions),
 * bounds the hash table a hostile log could grow. */
#define DC_DELTA_MAX_FILES ((size_t)1 << 30)
/* A txn appId we write, "<pipeline>/<topic>/<partition>": a pipeline name is
 * at most 200 bytes (config), a Kafka topic 249, a file source's topic
 * "file:" + a path of at most PATH_MAX (4096); 16 KiB holds any of them with
 * the identity suffixes, so a lookup can never miss for want of room. */
#define DC_DELTA_MAX_APP_ID_BYTES ((size_t)16 * 1024)
/* One serialized deletion vector (RoaringBitmapArray). Spark caps a DV file
 * near 2 GiB; a single DV of a 2^31-row file as bitmaps is ~256 MiB. */
#define DC_DELTA_MAX_DV_BYTES ((size_t)512 * 1024 * 1024)
/* A deletion-vector file a transaction holds whole (one GET for the DVs of
 * every file in it, as a batch writes all its DVs into one file); a larger
 * one is read DV by DV, by range. */
#define DC_DELTA_DV_CACHE_BYTES ((size_t)4 * 1024 * 1024)
/* The DV files one transaction holds at once, in all (the least recently
 * used are dropped to stay under it). */
#define DC_DELTA_DV_CACHE_TOTAL ((size_t)16 * 1024 * 1024)
_Static_assert(DC_DELTA_DV_CACHE_TOTAL >= DC_DELTA_DV_CACHE_BYTES,
               "the DV cache total must hold its largest file");
/* 32-bit buckets in one RoaringBitmapArray: row indexes above 2^52 are not
 * real (a file of 2^52 rows does not exist); keys are checked < this. */
#define DC_DELTA_MAX_DV_BUCKETS ((uint64_t)1 << 20)
/* Rows a DV may delete, checked before materialising them as an array. */
#define DC_DELTA_MAX_DV_ROWS ((uint64_t)1 << 32)
_Static_assert(DC_DELTA_MAX_DV_BYTES <= DC_MAX_SMALL_FILE, "a DV fits a small file");

/* Pipeline files (config/): a hand-written YAML file is a few KiB; one
 * generated for thousands of tables stays far below 16 MiB. Parsed values
 * (strings, lists, tables) are held in an arena of at most 64 MiB. */
#define DC_CONFIG_MAX_FILE ((size_t)16 * 1024 * 1024)
#define DC_CONFIG_MAX_MEMORY ((size_t)64 * 1024 * 1024)
/* Entries of tables: and librdkafka properties in one file. */
#define DC_CONFIG_MAX_TABLES 100000
#define DC_CONFIG_MAX_PROPERTIES 10000

/* Threads of a worker pool (dc_pool.h, ingest.threads): more than the cores
 * buys nothing, and each one holds its own decoder scratch. */
#define DC_POOL_MAX_THREADS 64

/* ingest: bytes of decoded events a table's batch keeps to replay it after a
 * commit conflict (another writer won). Beyond it the copies stop and a
 * conflict ends the run instead (a restart resumes from the table). */
#define DC_INGEST_MAX_REPLAY_BYTES ((size_t)256 * 1024 * 1024)

/* Merge (issue 4). One key's canonical bytes: primary keys are tens of
 * bytes (MySQL caps an index key at 3072); 64 KiB is far above that and
 * stops a hostile record from bloating the key index. */
#define DC_MERGE_MAX_KEY_BYTES ((size_t)64 * 1024)
/* Events held by one batch (ingest's default trigger is 1,000,000 records). */
#define DC_MERGE_MAX_BATCH_EVENTS ((size_t)64 * 1024 * 1024)
/* Bytes copied into one batch (key and JSON images of its events). */
#define DC_MERGE_MAX_BATCH_BYTES ((size_t)16 * 1024 * 1024 * 1024)
/* Key bytes the index keeps for string/composite keys: 1 TiB is beyond any
 * machine; the bound is there so growth is checked. */
#define DC_MERGE_MAX_INDEX_BYTES ((size_t)1 << 40)
_Static_assert(DC_MERGE_MAX_KEY_BYTES <= DC_MERGE_MAX_BATCH_BYTES, "a key fits a batch");

/* OPTIMIZE (maint/optimize). Sort columns: a key of more than 16 columns is
 * not a key anyone sorts by (merge's DC_CDC_MAX_KEYS is 16 too). One row's
 * sort key in its order-preserving encoding: the merge key limit plus the
 * encoding's escapes. Sort keys of one bin in memory: a bin is at most the
 * target file size of input, so 4 GiB of keys is far above a real bin. */
#define DC_OPTIMIZE_MAX_KEYS 16
#define DC_OPTIMIZE_MAX_KEY_BYTES ((size_t)2 * 64 * 1024 + 64)
#define DC_OPTIMIZE_MAX_BIN_KEY_BYTES ((size_t)4 * 1024 * 1024 * 1024)
/* Rows of one bin: row numbers within a row group are uint32. */
#define DC_OPTIMIZE_MAX_BIN_ROWS ((uint64_t)1 << 32)
/* Bytes of column data gathered before they are handed to the Parquet
 * writer (an output chunk); byte-array offsets are uint32. */
#define DC_OPTIMIZE_CHUNK_BYTES ((size_t)64 * 1024 * 1024)
_Static_assert(DC_OPTIMIZE_MAX_KEY_BYTES < DC_OPTIMIZE_MAX_BIN_KEY_BYTES, "a key fits a bin");

/* Commits kept parsed for a follower in the same process (delta_ccache.c):
 * the maintenance thread takes each within a batch or two; more are held
 * only while it is busy (a checkpoint, OPTIMIZE), then it reads the files. */
#define DC_DELTA_COMMIT_CACHE_ENTRIES 64
#define DC_DELTA_COMMIT_CACHE_BYTES ((size_t)64 * 1024 * 1024)

/* Automatic checkpoints (maint/maint_checkpoint.c). A checkpoint due by the
 * interval may wait for more changes only when it would hold at least this
 * many rows (live files and tombstones): below, one costs little (~1.7 us a
 * row) and Delta's cadence is kept exactly. It never waits past this many
 * intervals since the last one, so a reader replays at most that many
 * commits on top of a checkpoint. */
#define DC_MAINT_CHECKPOINT_WAIT_MIN_ROWS 10000
#define DC_MAINT_CHECKPOINT_WAIT_MAX_INTERVALS 10

/* Metrics and HTTP (metrics/, http/). Tables one registry holds and
 * topic-partitions per table: far above a pipeline's, and they bound a
 * scrape's size. A response body: /metrics of 4096 tables with a few
 * partitions each stays under 64 MiB. A request's header value (the bearer
 * token) is compared only up to this length. */
#define DC_METRICS_MAX_TABLES 4096
#define DC_METRICS_MAX_PARTS 65536
#define DC_HTTP_MAX_BODY ((size_t)64 * 1024 * 1024)
#define DC_HTTP_MAX_TOKEN 1024

#endif /* DC_LIMITS_H */
