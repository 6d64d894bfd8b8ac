/* config: THE table of settings (config.h), and the generators of
 * docs/CONFIGURATION.md and examples/pipeline.yaml from it. */
#include "config.h"
#include "config_int.h"

#include "../common/dc_limits.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <strings.h>

#define CF(field) offsetof(dc_config, field)
#define TF(field) offsetof(dc_config_table, field)
#define SEC(k, d) {.key = (k), .type = DC_CFG_SECTION, .doc = (d)}

/* Key columns a table may have: cdc.h's DC_CDC_MAX_KEYS (config/ does not
 * include cdc/; the daemon checks the two agree with a _Static_assert). */
#define MAX_KEY_COLUMNS 16

const dc_cfg_key dc_cfg_keys[] = {
    {.key = "pipeline", .type = DC_CFG_STR, .offset = CF(pipeline), .def = "deltacdc",
     .example = "shop-cdc",
     .doc = "Name of the pipeline: the Delta txn appIds are \"<pipeline>/<topic>/<partition>\" "
            "(so two pipelines never share a position) and it is the default Kafka consumer "
            "group. Letters, digits, '.', '_' and '-' only."},
    SEC("source", "Where the Debezium records come from: exactly one of source.kafka and "
                  "source.file (the --source flag replaces both)."),
    SEC("source.kafka", "Kafka, through librdkafka."),
    {.key = "source.kafka.bootstrap_servers", .type = DC_CFG_STR,
     .offset = CF(kafka_bootstrap), .example = "127.0.0.1:9092",
     .doc = "Brokers to bootstrap from, \"host:port[,host:port]\"."},
    {.key = "source.kafka.topics", .type = DC_CFG_TOPICS, .offset = CF(kafka_topics),
     .example = "cdc-{db}-{table}",
     .doc = "A pattern such as \"cdc-{db}-{table}\" (every topic it matches is read, and {db} "
            "and {table} are captured for tables[].match and tables[].path), or a list of "
            "topic names (then {db}.{table} are the last two dot-separated parts of the name, "
            "Debezium's \"<prefix>.<db>.<table>\", or \"default\" and the whole name)."},
    {.key = "source.kafka.group_id", .type = DC_CFG_STR, .offset = CF(kafka_group),
     .example = "shop-cdc",
     .doc = "Consumer group (default: the pipeline name). Processes running the same "
            "pipeline in one group share its topics, each table written by one of them at a "
            "time, and take over a dead one's tables after the session timeout "
            "(session.timeout.ms under properties; README, \"Several processes\"). The "
            "positions of the Delta commits are also committed as group offsets (every "
            "auto.commit.interval.ms, 5 s by default), for lag monitoring only: the table's "
            "txn actions are the source of truth for where to resume."},
    {.key = "source.kafka.starting_offsets", .type = DC_CFG_ENUM,
     .offset = CF(kafka_starting_offsets), .def = "earliest", .values = "earliest|latest",
     .doc = "Where a topic-partition the table has no position for starts (the seed's "
            "startingOffsets)."},
    {.key = "source.kafka.fail_on_data_loss", .type = DC_CFG_BOOL,
     .offset = CF(kafka_fail_on_data_loss), .def = "true",
     .doc = "When the position to resume from is gone from the broker (retention): stop "
            "with an error (true), or log it and go on from the earliest offset left "
            "(false) (the seed's failOnDataLoss)."},
    {.key = "source.kafka.properties", .type = DC_CFG_MAP, .offset = CF(kafka_props),
     .secret = true, .example_off = true,
     .example = "security.protocol=SASL_PLAINTEXT;sasl.mechanism=PLAIN;"
                "sasl.username=ingest;sasl.password=${KAFKA_PASSWORD}",
     .doc = "librdkafka properties passed as they are (SASL, SSL, timeouts...). Values of "
            "secret properties (passwords, sasl.jaas.config, private keys, OAuth secrets) "
            "are never printed or logged."},
    {.key = "source.file", .type = DC_CFG_STR, .offset = CF(source_file),
     .example = "examples/debezium/sample.jsonl", .example_off = true,
     .doc = "A JSON-lines file of Debezium record values (one per line, the line number is "
            "the offset, null is a tombstone), or \"-\" for stdin. Its position is recorded "
            "under the file's canonical path, so a second run resumes after the first."},
    SEC("source.mysql", "The MySQL/MariaDB server Debezium captures, for `deltacdc bootstrap -c` "
                        "(the history of every table a tables[] entry matches). Not a source "
                        "of records: ingest ignores it."),
    {.key = "source.mysql.url", .type = DC_CFG_STR, .offset = CF(mysql_url),
     .example = "mysql://deltacdc@127.0.0.1:3306/shop", .example_off = true,
     .doc = "mysql://USER@HOST:PORT[/DB]: with DB, that database's tables; without, every "
            "database's but the system ones. Never a password in it (refused)."},
    {.key = "source.mysql.pwd_env", .type = DC_CFG_STR, .offset = CF(mysql_pwd_env),
     .def = "MYSQL_PWD",
     .doc = "The environment variable holding the password (never in the file, never "
            "printed or logged)."},
    {.key = "source.mysql.ssl_mode", .type = DC_CFG_ENUM, .offset = CF(mysql_ssl_mode),
     .def = "preferred", .values = "preferred|disabled|required|verify_ca|verify_identity",
     .doc = "TLS to the server: preferred (when offered, unverified), disabled, required "
            "(unverified), verify_ca (signed by ssl_ca), verify_identity (and the host's "
            "name)."},
    {.key = "source.mysql.ssl_ca", .type = DC_CFG_STR, .offset = CF(mysql_ssl_ca),
     .doc = "CA certificate file (verify_ca, verify_identity)."},
    {.key = "source.mysql.ssl_cert", .type = DC_CFG_STR, .offset = CF(mysql_ssl_cert),
     .doc = "Client certificate file."},
    {.key = "source.mysql.ssl_key", .type = DC_CFG_STR, .offset = CF(mysql_ssl_key),
     .doc = "Its private key file."},
    SEC("bootstrap", "`deltacdc bootstrap -c`: each source table copied into the typed table "
                     "its tables[] entry names (README: Bootstrap)."),
    {.key = "bootstrap.chunk_rows", .type = DC_CFG_INT, .offset = CF(bootstrap_chunk_rows),
     .def = "250000", .min = 1, .max = 100000000,
     .doc = "Rows per chunk: each chunk is one Delta commit, and where an interrupted "
            "bootstrap resumes."},
    {.key = "warehouse", .type = DC_CFG_STR, .offset = CF(warehouse), .def = "./lake",
     .doc = "Root of the tables: {warehouse} in tables[].path and dead_letter.path. A "
            "directory, a file:// URI, or s3://bucket/prefix (settings: storage.s3)."},
    {.key = "tables", .type = DC_CFG_TABLES, .offset = 0,
     .doc = "Which topics go to which Delta table, in order: a topic goes to the first "
            "entry whose match fits. Records of topics no entry matches stop the pipeline "
            "with an error."},
    {.key = "tables[].match", .type = DC_CFG_STR, .offset = TF(match), .def = "*",
     .example = "shop.*",
     .doc = "Glob (* and ?) over \"{db}.{table}\" of the topic."},
    {.key = "tables[].path", .type = DC_CFG_STR, .offset = TF(path),
     .def = "{warehouse}/{db}.db/{table}",
     .doc = "The table's location; {warehouse}, {db}, {table} and {topic} are replaced "
            "(the default is the seed's layout)."},
    {.key = "tables[].format", .type = DC_CFG_ENUM, .offset = TF(format), .def = "raw",
     .values = "raw|typed|raw,typed",
     .doc = "raw: the seed's table (key columns, ts_ms, json_record, operation_type, "
            "offset); typed: one column per source column, typed from the records' "
            "Debezium schema blocks, then the metadata columns __op, __ts_ms, __offset, "
            "__source_pos (README: Typed tables); [raw, typed] (or \"raw,typed\"): both "
            "from one stream, the raw table at tables[].path and the typed one at "
            "tables[].typed_path, each with its own txn (each exactly-once on its own)."},
    {.key = "tables[].typed_path", .type = DC_CFG_STR, .offset = TF(typed_path),
     .def = "{path}_typed",
     .doc = "With format [raw, typed]: the typed table's location; the placeholders of "
            "tables[].path, and {path} for the raw table's expanded path (the default puts "
            "the typed table beside the raw one: .../orders and .../orders_typed)."},
    {.key = "tables[].soft_deletes", .type = DC_CFG_BOOL, .offset = TF(soft_deletes),
     .def = "false",
     .doc = "Typed tables: a delete keeps the row (its before image) with __deleted = true "
            "instead of removing it. Fixed when the table is created (its __deleted column)."},
    {.key = "tables[].meta_prefix", .type = DC_CFG_STR, .offset = TF(meta_prefix),
     .def = "__",
     .doc = "Typed tables: prefix of the metadata columns (op, ts_ms, offset, source_pos, "
            "deleted), Debezium's ExtractNewRecordState naming by default."},
    {.key = "tables[].schema_changes_topic", .type = DC_CFG_STR,
     .offset = TF(schema_changes_topic),
     .doc = "Typed tables: Debezium's schema-change records (include.schema.changes=true; "
            "the topic itself, kafka://HOST:PORT[,HOST:PORT]/TOPIC or, with a Kafka source, "
            "its bare name (the source's brokers and properties), read up to its high "
            "watermark before each poll's records are merged; or file:PATH, a JSON-lines "
            "file of the topic's record values, as the file source reads). With it, RENAME COLUMN, CHANGE old new and DROP COLUMN are followed in "
            "place through Delta column mapping (mode name, set on a table created with it), "
            "ordered against the data records by binlog position (README: Schema changes)."},
    {.key = "tables[].datetime", .type = DC_CFG_ENUM, .offset = TF(datetime),
     .def = "timestamp_ntz", .values = "timestamp_ntz|timestamp",
     .doc = "Typed tables: the Delta type of DATETIME columns (Debezium Timestamp, "
            "MicroTimestamp, NanoTimestamp): timestamp_ntz (DATETIME has no zone), or "
            "timestamp reading the value as UTC. Applies to columns as they are created."},
    {.key = "tables[].time", .type = DC_CFG_ENUM, .offset = TF(time), .def = "long",
     .values = "long|string",
     .doc = "Typed tables: TIME columns (Debezium Time, MicroTime) as long microseconds "
            "(Delta has no TIME type; negative and 24 h or more kept), or as a string "
            "\"[-]HH:MM:SS.ffffff\"."},
    {.key = "tables[].mode", .type = DC_CFG_ENUM, .offset = TF(mode), .def = "dv",
     .values = "dv|cow",
     .doc = "dv: replaced rows are marked in deletion vectors (merge-on-read, protocol "
            "3/7); cow: files holding replaced rows are rewritten (protocol 1/2, for "
            "readers without deletion vectors)."},
    {.key = "tables[].key", .type = DC_CFG_LIST, .offset = TF(key), .min = 0,
     .max = MAX_KEY_COLUMNS, .example = "id",
     .doc = "Key columns, a list or \"a,b\" (default: the fields of the Kafka record key)."},
    {.key = "tables[].properties", .type = DC_CFG_MAP, .offset = TF(properties),
     .example_off = true,
     .example = "delta.logRetentionDuration=interval 2 days;delta.checkpointInterval=20",
     .doc = "Table properties (Delta's metaData.configuration): given to the table when "
            "deltacdc creates it, and set at start-up on an existing table whose values "
            "differ (one SET TBLPROPERTIES commit; other properties are left alone). The "
            "Delta properties `deltacdc properties --help` lists, and any key not starting "
            "with delta.; values are checked before anything is written. At one commit a "
            "second, the log keeps 86,400 commits a day for delta.logRetentionDuration "
            "(30 days unless set)."},
    {.key = "tables[].columns", .type = DC_CFG_MAP, .offset = TF(columns),
     .example_off = true, .check = dc_config_column_check,
     .example = "id=int64;name=string;price=decimal(10,2);born=date;seen=micro_timestamp",
     .doc = "Typed tables fed records without Debezium schema blocks (JsonConverter "
            "schemas.enable=false): each source column and the Debezium type its values "
            "are encoded in, in source order: boolean, int8, int16, int32, int64, float32, "
            "float64, string, bytes (base64), decimal(P,S) (base64 unscaled), date (days), "
            "year, time (ms), micro_time, timestamp (ms), micro_timestamp, zoned_timestamp, "
            "json, enum(A,B,...), set(A,B,...). The table is created from them when the "
            "first record has no schema block (a record with one creates it from its own); "
            "an existing table keeps its own types. With neither a schema block, an "
            "existing table nor columns, the run stops (never a guess)."},
    SEC("trigger", "When a micro-batch closes: whichever of these comes first."),
    {.key = "trigger.interval", .type = DC_CFG_DURATION, .offset = CF(trigger_interval_ms),
     .def = "10s", .min = 10, .max = 24LL * 3600 * 1000,
     .doc = "Time between commits at most (the seed's triggerIntervalMs, which was 5m): a "
            "batch commits when it is this old even while records keep coming."},
    {.key = "trigger.min_interval", .type = DC_CFG_DURATION,
     .offset = CF(trigger_min_interval_ms), .def = "50ms", .min = 0, .max = 24LL * 3600 * 1000,
     .doc = "Commit as soon as the source is caught up (a poll finds no more records right "
            "now) and the batch's first record is at least this old, instead of waiting out "
            "trigger.interval: records become visible within tens of milliseconds of their "
            "arrival when the pipeline keeps up. Under a backlog the source is never caught "
            "up and batches grow to trigger.max_records as before. Set it to the "
            "trigger.interval value to commit on the interval only (fewer, larger commits)."},
    {.key = "trigger.max_records", .type = DC_CFG_INT, .offset = CF(trigger_max_records),
     .def = "1000000", .min = 1, .max = (int64_t)DC_MERGE_MAX_BATCH_EVENTS,
     .doc = "Records per batch at most (the seed's maxOffsetsPerTrigger); at most what one "
            "batch can hold. A batch that fills up before (its bytes are bounded too) is "
            "committed early, never an error."},
    {.key = "on_error", .type = DC_CFG_ENUM, .offset = CF(on_error), .def = "fail",
     .values = "fail|dead_letter",
     .doc = "A record that can not be decoded or applied: stop with an error naming its "
            "topic, partition and offset, committing nothing of its batch (fail); or "
            "append it to the dead-letter table and go on (dead_letter)."},
    {.key = "on_table_error", .type = DC_CFG_ENUM, .offset = CF(on_table_error),
     .def = "stop_table", .values = "stop_table|stop_daemon",
     .doc = "An error in one table (a bad record under on_error: fail, a schema change it can "
            "not follow, a storage error retries did not fix): stop_table stops that table "
            "only: its batch in hand is dropped, its topics are paused (nothing past its last "
            "commit is read for it; a restart resumes from its own txn positions), /healthz "
            "answers 503 naming it, and the other tables go on; the daemon exits (status 1) "
            "once every table has stopped, and at --once's end or a stop request when any "
            "has. stop_daemon: the first such error stops the whole daemon."},
    SEC("dead_letter", "The dead-letter table (on_error: dead_letter)."),
    {.key = "dead_letter.path", .type = DC_CFG_STR, .offset = CF(dead_letter_path),
     .def = "{warehouse}/_dead_letter/{pipeline}",
     .doc = "Location of the Delta table that receives bad records: columns topic, "
            "partition, offset, error, raw (the record's bytes) and ts (when)."},
    SEC("maintenance", "Table maintenance the daemon runs by itself, beside ingestion "
                       "(maintenance.background)."),
    {.key = "maintenance.optimize", .type = DC_CFG_ENUM, .offset = CF(optimize), .def = "auto",
     .values = "auto|off",
     .doc = "auto: after a batch, compact the table (OPTIMIZE: small files bin-packed, files "
            "whose deletion vectors hide many rows rewritten, rows sorted by key, one commit "
            "with dataChange=false) when a threshold below is crossed, a bounded amount of "
            "work per run so a batch is never held up for long; the key index follows the "
            "files. off: never (run `deltacdc optimize` yourself)."},
    {.key = "maintenance.optimize_target_file_size", .type = DC_CFG_SIZE,
     .offset = CF(optimize_target_size), .def = "32MiB", .min = 1024 * 1024,
     .max = 16LL << 30,
     .doc = "Size of the files the automatic OPTIMIZE writes. Smaller than `deltacdc "
            "optimize`'s 128MiB on purpose: a CDC table is merged into all the time, and a "
            "file whose rows are replaced must be rewritten whole, so smaller files keep each "
            "rewrite (and the batch it holds up) short; Databricks lowers the target to 32MB "
            "for tables with frequent MERGE (delta.tuneFileSizesForRewrites) for the same "
            "reason."},
    {.key = "maintenance.optimize_min_file_size", .type = DC_CFG_SIZE,
     .offset = CF(optimize_min_size), .def = "8MiB", .min = 0, .max = 16LL << 30,
     .doc = "Files smaller than this are small: compacted together (at most the target "
            "size). A quarter of the target by default."},
    {.key = "maintenance.optimize_small_files", .type = DC_CFG_INT,
     .offset = CF(optimize_small_files), .def = "16", .min = 2, .max = 1000000,
     .doc = "Run when the table has at least this many small files."},
    {.key = "maintenance.optimize_deleted_percent", .type = DC_CFG_INT,
     .offset = CF(optimize_deleted_pct), .def = "20", .min = 1, .max = 100,
     .doc = "Run when a file's deletion vector hides at least this percentage of its rows; "
            "such files are rewritten without those rows."},
    {.key = "maintenance.optimize_max_bytes", .type = DC_CFG_SIZE,
     .offset = CF(optimize_max_bytes), .def = "32MiB", .min = 1024 * 1024, .max = 1LL << 40,
     .doc = "Input bytes one run rewrites at most (bounds how long a run holds up the next "
            "batch; what is left waits for the next run). A run always takes the smallest "
            "small file and the file with the largest share of deleted rows, so it may go "
            "past this by one file."},
    {.key = "maintenance.optimize_max_files", .type = DC_CFG_INT,
     .offset = CF(optimize_max_files), .def = "1000", .min = 2, .max = 10000000,
     .doc = "Input files one run rewrites at most."},
    {.key = "maintenance.optimize_interval", .type = DC_CFG_DURATION,
     .offset = CF(optimize_interval_ms), .def = "10s", .min = 0, .max = 24LL * 3600 * 1000,
     .doc = "Time between two runs on a table at least (thresholds are checked after each "
            "batch)."},
    {.key = "maintenance.checkpoint_interval", .type = DC_CFG_INT,
     .offset = CF(checkpoint_interval), .def = "0", .min = -1, .max = 1000000,
     .doc = "Write a Parquet checkpoint every this many commits (after each commit of ours, "
            "OPTIMIZE's too; a checkpoint missed because another writer made the commit is "
            "written at the next one). 0: the table's delta.checkpointInterval (10 when "
            "unset); -1: never."},
    {.key = "maintenance.checkpoint_min_change", .type = DC_CFG_INT,
     .offset = CF(checkpoint_min_change), .def = "100", .min = 0, .max = 1000000,
     .doc = "A checkpoint due by the interval waits until the adds and removes committed "
            "since the last one are at least this percentage of the rows it would write "
            "(live files and tombstones), when it would write 10,000 rows or more, and at "
            "most 10 intervals: a checkpoint rewrites the table's whole file list, so "
            "small commits into a table with many files or tombstones (deletion vectors "
            "leave a tombstone per file they touch) would otherwise spend most of their "
            "CPU on it. Readers then replay up to that share of the table from JSON "
            "commits. 0: every interval, as Delta does."},
    {.key = "maintenance.log_cleanup", .type = DC_CFG_BOOL, .offset = CF(log_cleanup),
     .def = "true",
     .doc = "After a checkpoint, delete expired log files as Delta does: commits, "
            "checkpoints and checksums older than the table's delta.logRetentionDuration (30 "
            "days when unset), never one a reader of a retained version needs. At most once "
            "an hour per table: the cutoff moves a day at a time (midnight UTC), and each run "
            "lists the whole log. The table property delta.enableExpiredLogCleanup=false "
            "turns it off too."},
    {.key = "maintenance.manifest", .type = DC_CFG_BOOL, .offset = CF(manifest), .def = "false",
     .doc = "Keep _symlink_format_manifest current after every commit, for Hive, Presto, "
            "Trino or Athena external tables (only manifests whose files changed are "
            "rewritten). Also done when the table sets "
            "delta.compatibility.symlinkFormatManifest.enabled=true. Refused, with a warning "
            "per commit, on tables with deletion vectors: use mode: cow for such tables."},
    {.key = "maintenance.vacuum", .type = DC_CFG_ENUM, .offset = CF(vacuum), .def = "auto",
     .values = "auto|off",
     .doc = "auto: after a batch, at most once per maintenance.vacuum_interval, VACUUM the "
            "table: delete data and deletion-vector files that no version within the "
            "retention references and that are older than it (files of rewritten or deleted "
            "data, and files of a writer that crashed before its commit). Recorded as VACUUM "
            "START/END commits. off: never (run `deltacdc vacuum` yourself)."},
    {.key = "maintenance.vacuum_interval", .type = DC_CFG_DURATION,
     .offset = CF(vacuum_interval_ms), .def = "1h", .min = 60000,
     .max = 7LL * 24 * 3600 * 1000,
     .doc = "Time between two VACUUM runs on a table at least (a run lists every file of "
            "the table: about 1 s per 200k files)."},
    {.key = "maintenance.vacuum_retention", .type = DC_CFG_DURATION,
     .offset = CF(vacuum_retention_ms), .def = "0s", .min = 0,
     .max = 3650LL * 24 * 3600 * 1000,
     .doc = "How long a file stays after no version needs it (time travel to older "
            "versions stops working past it). 0s: the table's "
            "delta.deletedFileRetentionDuration (1 week when unset). A value below the "
            "table's is refused (the run is skipped with a warning), as Delta's retention "
            "check does."},
    {.key = "maintenance.background", .type = DC_CFG_BOOL, .offset = CF(maint_background),
     .def = "true",
     .doc = "Run maintenance in a thread of its own beside ingestion: OPTIMIZE's rewrite, "
            "checkpoints (of exactly the version due, while later batches commit), log "
            "cleanup, the manifest and VACUUM. Only the OPTIMIZE commit is made by the "
            "ingest thread, between two batches: deletes that batches made meanwhile in "
            "the files being compacted are carried over to the new file as a deletion "
            "vector (a table without deletion vectors leaves such files for the next run, "
            "and after 3 such runs in a row makes one between batches), "
            "and the key index follows the rows. false: all of it between batches, in the "
            "ingest thread, holding up the next batch."},
    SEC("ingest", "How the daemon uses the machine's cores."),
    {.key = "ingest.threads", .type = DC_CFG_INT, .offset = CF(ingest_threads), .def = "0",
     .min = 0, .max = DC_POOL_MAX_THREADS,
     .doc = "Threads that decode the records of a poll (the Debezium JSON scan), the "
            "ingest loop's own included; the loop adds the decoded events to the batch in "
            "the source's order, so results are those of one thread. 0: one per online "
            "core. The workers run only while a poll brings more than 128 records (a "
            "backlog or a high rate), so an idle pipeline costs no more. A file source is "
            "instead read and decoded a few polls ahead by a reader thread (the threads "
            "beyond two help it decode) while the loop adds, and a raw table's batch is "
            "merged and committed on a thread of its own while the loop fills the next one "
            "(one batch at a time, in order). 1: no worker threads at all."},
    SEC("index", "The key index: its file next to the table."),
    {.key = "index.persist", .type = DC_CFG_BOOL, .offset = CF(index_persist), .def = "true",
     .doc = "Keep each table's key index in the table's _deltacdc/keyindex/<version>.dcx "
            "(a directory Delta readers and VACUUM skip), written at a clean stop and after "
            "checkpoints (index.persist_interval), and load it at start instead of reading "
            "every data file; commits after its version are followed from the log. A file "
            "that does not check out (checksums, sizes, slots, table) is ignored and the "
            "index built as without it."},
    {.key = "index.persist_interval", .type = DC_CFG_DURATION,
     .offset = CF(index_persist_interval_ms), .def = "10m", .min = 0,
     .max = 7LL * 24 * 3600 * 1000,
     .doc = "Time between two writes of a table's key index after a checkpoint at least "
            "(a write costs about 20 bytes per row of I/O). 0: only at a clean stop."},
    SEC("storage", "Where tables live besides local disks."),
    SEC("storage.s3", "S3-compatible object stores (AWS S3, MinIO, Ceph, OSS) for s3:// "
                      "locations. Unset keys fall back to the standard AWS environment "
                      "variables, then ~/.aws/credentials; the CLI commands use the "
                      "environment alone when no pipeline file is given."),
    {.key = "storage.s3.endpoint", .type = DC_CFG_STR, .offset = CF(s3_endpoint),
     .example = "http://127.0.0.1:9000", .example_off = true,
     .doc = "http[s]://host[:port] of the store (unset: AWS_ENDPOINT_URL, else AWS's "
            "https://s3.<region>.amazonaws.com). An endpoint on aliyuncs.com is Alibaba OSS: "
            "commits then use x-oss-forbid-overwrite."},
    {.key = "storage.s3.region", .type = DC_CFG_STR, .offset = CF(s3_region),
     .example = "us-east-1", .example_off = true,
     .doc = "Signing region (unset: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)."},
    {.key = "storage.s3.path_style", .type = DC_CFG_ENUM, .offset = CF(s3_path_style),
     .def = "auto", .values = "auto|path|virtual",
     .doc = "Addressing: path (http://host/bucket/key) or virtual (http://bucket.host/key). "
            "auto: path-style with a custom endpoint, virtual-host on AWS."},
    {.key = "storage.s3.verify_tls", .type = DC_CFG_BOOL, .offset = CF(s3_verify_tls),
     .def = "true",
     .doc = "Verify the server's TLS certificate and host name. false only for a test "
            "store: anyone on the path could read and change the table."},
    {.key = "storage.s3.ca_file", .type = DC_CFG_STR, .offset = CF(s3_ca_file),
     .example = "/etc/ssl/private-ca.pem", .example_off = true,
     .doc = "PEM bundle of the CAs to trust (unset: AWS_CA_BUNDLE, else the system's)."},
    {.key = "storage.s3.allow_unsafe_single_writer", .type = DC_CFG_BOOL,
     .offset = CF(s3_allow_unsafe), .def = "false",
     .doc = "Commits need a store that enforces conditional PUTs (If-None-Match: *): before "
            "its first write to a table deltacdc checks it with a probe object under "
            "_deltacdc_probe/ (then removed) and refuses to write to a store that ignores "
            "the header. true writes anyway, for a table with exactly ONE writer (two would "
            "overwrite each other's commits); like delta-rs's AWS_S3_ALLOW_UNSAFE_RENAME, "
            "which also turns it on."},
    {.key = "storage.s3.access_key_id", .type = DC_CFG_STR, .offset = CF(s3_access_key_id),
     .example = "${AWS_ACCESS_KEY_ID}", .example_off = true,
     .doc = "Access key (unset: AWS_ACCESS_KEY_ID, then the credentials file's profile; "
            "none at all: unsigned requests)."},
    {.key = "storage.s3.secret_access_key", .type = DC_CFG_STR,
     .offset = CF(s3_secret_access_key), .secret = true,
     .example = "${AWS_SECRET_ACCESS_KEY}", .example_off = true,
     .doc = "Secret key, set with access_key_id; write it as ${ENV}. Never printed or "
            "logged."},
    {.key = "storage.s3.session_token", .type = DC_CFG_STR, .offset = CF(s3_session_token),
     .secret = true, .example = "${AWS_SESSION_TOKEN}", .example_off = true,
     .doc = "Temporary credentials' token (unset: AWS_SESSION_TOKEN). Never printed or "
            "logged."},
    {.key = "storage.s3.profile", .type = DC_CFG_STR, .offset = CF(s3_profile),
     .example = "default", .example_off = true,
     .doc = "Profile of the shared credentials file (unset: AWS_PROFILE, else default; "
            "file: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)."},
    {.key = "storage.s3.connect_timeout", .type = DC_CFG_DURATION,
     .offset = CF(s3_connect_timeout_ms), .def = "10s", .min = 100, .max = 600000,
     .doc = "Time to connect to the store, per attempt."},
    {.key = "storage.s3.request_timeout", .type = DC_CFG_DURATION,
     .offset = CF(s3_request_timeout_ms), .def = "5m", .min = 1000, .max = 3600000,
     .doc = "Time for a whole request, per attempt (a multipart part is 8 MiB)."},
    {.key = "storage.s3.max_attempts", .type = DC_CFG_INT, .offset = CF(s3_max_attempts),
     .def = "6", .min = 1, .max = 100,
     .doc = "Tries per request: 5xx, 429/SlowDown, timeouts and network errors are retried "
            "with exponential backoff (100 ms doubling to 5 s, full jitter). A commit whose "
            "reply was lost is resolved by reading the log back, never blindly retried."},
    SEC("http", "The HTTP endpoint: /metrics (Prometheus), /status (JSON), /healthz and a "
                "status page at /."),
    {.key = "http.listen", .type = DC_CFG_STR, .offset = CF(http_listen),
     .example = "127.0.0.1:9464",
     .doc = "Address to serve on, \"HOST:PORT\" (an IPv4 address or localhost) or \"PORT\" "
            "alone (127.0.0.1). Off unless set: a fixed default port would make the second "
            "daemon on a host (or a one-off `--once` run next to a running daemon) fail to "
            "start. Only loopback unless an address says otherwise; give a token when it "
            "does."},
    {.key = "http.token", .type = DC_CFG_STR, .offset = CF(http_token), .secret = true,
     .example = "${DELTACDC_HTTP_TOKEN}", .example_off = true,
     .doc = "When set, every request must carry \"Authorization: Bearer <token>\" (401 "
            "otherwise)."},
    {.key = "http.fail_linger", .type = DC_CFG_DURATION, .offset = CF(http_fail_linger_ms),
     .def = "15s", .min = 0, .max = 3600LL * 1000,
     .doc = "When a table stops the daemon on an error, keep serving for this long (/healthz "
            "answers 503 naming the table and its error, so a probe or a scrape sees the "
            "failure) before exiting; a signal ends the wait."},
    SEC("monitors", "The seed's freshness job, built in: is each partition's latest record in "
                    "the table? (`deltacdc check` runs the same check once.)"),
    {.key = "monitors.freshness", .type = DC_CFG_ENUM, .offset = CF(monitor_freshness),
     .def = "auto", .values = "auto|off",
     .doc = "auto: with a Kafka source, every monitors.interval, compare each partition's "
            "latest record (high watermark - 1) with the offset the table committed; a "
            "partition more than max_lag_records behind whose oldest missing record is older "
            "than max_lag is late: a WARN log line, deltacdc_monitor_* metrics and /status, "
            "and a POST to monitors.webhook. Runs on its own thread with its own Kafka "
            "connection. off: never."},
    {.key = "monitors.interval", .type = DC_CFG_DURATION, .offset = CF(monitor_interval_ms),
     .def = "15m", .min = 1000, .max = 24LL * 3600 * 1000,
     .doc = "Time between two checks (the seed's monitor ran every 15 minutes)."},
    {.key = "monitors.max_lag_records", .type = DC_CFG_INT,
     .offset = CF(monitor_max_lag_records), .def = "0", .min = 0, .max = 1LL << 50,
     .doc = "Records a partition may be behind and still be fresh."},
    {.key = "monitors.max_lag", .type = DC_CFG_DURATION, .offset = CF(monitor_max_lag_ms),
     .def = "5m", .min = 0, .max = 7LL * 24 * 3600 * 1000,
     .doc = "Age the oldest record not yet in the table (its Kafka CreateTime) may have and "
            "the partition still be fresh."},
    {.key = "monitors.webhook", .type = DC_CFG_STR, .offset = CF(monitor_webhook),
     .secret = true, .example = "https://alerts.example.com/hooks/deltacdc",
     .example_off = true,
     .doc = "URL that receives a JSON POST (the check's result: table, topic, partitions with "
            "their lag; or the completeness result) when a monitor is red, and one with "
            "\"recovered\": true when a red monitor turns green. A URL can carry a token, so "
            "it is a secret."},
    {.key = "monitors.webhook_timeout", .type = DC_CFG_DURATION,
     .offset = CF(monitor_webhook_timeout_ms), .def = "5s", .min = 100, .max = 300000,
     .doc = "Bound of one POST attempt (connect and answer)."},
    {.key = "monitors.webhook_retries", .type = DC_CFG_INT,
     .offset = CF(monitor_webhook_retries), .def = "3", .min = 0, .max = 10,
     .doc = "Attempts after a failed one (no answer, or not 2xx), 0.5 s apart and doubling."},
    SEC("monitors.completeness", "The seed's second job, built in: the source table read in "
        "one consistent snapshot at binlog position P against the typed table, every "
        "monitors.interval (`deltacdc check -c` runs it once). Equal is \"verified through "
        "P\"; a difference is an alert (WARN line, deltacdc_monitor_completeness_* metrics, "
        "/status, a POST to monitors.webhook) unless the table has not reached P yet "
        "(pending). A red monitor that turns green POSTs a recovery."),
    {.key = "monitors.completeness.mode", .type = DC_CFG_ENUM, .offset = CF(complete_mode),
     .def = "off", .values = "off|count|max_id|ranges", .example = "ranges",
     .doc = "count: row counts; max_id: the greatest first key (an integer); ranges: per "
            "range of range_size key values (for a key whose first column is not an integer, "
            "per bucket of the key's hash), a row count and a checksum of the rows' values "
            "computed by the source's SQL and by deltacdc alike, so a mismatch names the "
            "ranges (and with keys, the keys). off: no completeness monitor."},
    {.key = "monitors.completeness.db", .type = DC_CFG_STR, .offset = CF(complete_db),
     .example = "mysql://monitor@db.example.com:3306/shop", .example_off = true,
     .doc = "The source: mysql://USER@HOST:PORT/DB (a password in the URL is refused); "
            "unset: source.mysql.url, bootstrap's source. The user needs SELECT on the "
            "tables."},
    {.key = "monitors.completeness.password", .type = DC_CFG_STR,
     .offset = CF(complete_password), .secret = true, .example = "${MYSQL_PWD}",
     .example_off = true,
     .doc = "The user's password (default: the environment's MYSQL_PWD). Never printed."},
    {.key = "monitors.completeness.tables", .type = DC_CFG_MAP, .offset = CF(complete_tables),
     .example_off = true, .example = "alltypes={warehouse}/alltypes",
     .doc = "Source table (T in the URL's database, or DB.T) -> its typed Delta table: a "
            "path ({warehouse} expanded), or a topic name whose table the tables[] routing "
            "gives. Each entry is one monitor, named after its source table."},
    {.key = "monitors.completeness.range_size", .type = DC_CFG_INT,
     .offset = CF(complete_range_size), .def = "10000", .min = 1, .max = 1LL << 60,
     .doc = "ranges: key values per range of the first key column when it is an integer; "
            "else rows per bucket, about: ceil(rows / range_size) buckets of the key's hash."},
    {.key = "monitors.completeness.keys", .type = DC_CFG_BOOL, .offset = CF(complete_keys),
     .def = "true",
     .doc = "ranges: name the keys that differ in the differing ranges (missing in the "
            "table, extra in it, different values), at most 1000."},
    SEC("snapshot", "The seed's nightly merge (`deltacdc snapshot -c`): history and CDC table "
                    "merged into the partition data_date=YYYY-MM-DD of a dated Delta table."),
    {.key = "snapshot.path", .type = DC_CFG_STR, .offset = CF(snapshot_path),
     .def = "{warehouse}/snapshot/{db}.db/{table}",
     .doc = "Location template of a table's dated snapshot table ({warehouse} {db} {table} "
            "{pipeline}); its partitions are <path>/data_date=YYYY-MM-DD, as the seed's "
            "`.../{db}.db/{table}/data_date=${data_date}`. Kept outside the CDC table's "
            "directory, so that a VACUUM of one never touches the other's files."},
    {.key = "snapshot.history", .type = DC_CFG_STR, .offset = CF(snapshot_history),
     .example = "{warehouse}/history/{db}.db/{table}", .example_off = true,
     .doc = "Location template of a table's history (the seed's DataX import), merged under "
            "the CDC table's rows. Unset: the CDC table holds its own history (`deltacdc "
            "bootstrap` into it). `deltacdc rebase -c` folds the CDC table into it "
            "(required there)."},
    {.key = "snapshot.memory", .type = DC_CFG_SIZE, .offset = CF(snapshot_memory),
     .def = "512MiB", .min = 1024 * 1024, .max = 1LL << 40,
     .doc = "Sorted rows a snapshot holds in memory; beyond it, sorted runs spill to "
            "snapshot.temp_dir and are merged from there (memory stays bounded whatever "
            "the table's size)."},
    {.key = "snapshot.temp_dir", .type = DC_CFG_STR, .offset = CF(snapshot_temp_dir),
     .example = "/var/tmp", .example_off = true,
     .doc = "Directory of the spilled runs (unset: $TMPDIR, else /tmp). The files are "
            "unlinked at creation, so nothing is left behind."},
    {.key = "log_level", .type = DC_CFG_ENUM, .offset = CF(log_level), .def = "info",
     .values = "error|warn|info|debug|trace",
     .doc = "Log threshold; INFO logs one line per committed batch."},
};

const size_t dc_cfg_n_keys = sizeof dc_cfg_keys / sizeof dc_cfg_keys[0];

const dc_cfg_key *dc_config_key_find(const char *key)
{
    for (size_t i = 0; i < dc_cfg_n_keys; i++)
        if (strcmp(dc_cfg_keys[i].key, key) == 0) return &dc_cfg_keys[i];
    return NULL;
}

/* ------------------------------------------------------------ generators */

static const char *type_name(const dc_cfg_key *k)
{
    switch (k->type) {
    case DC_CFG_SECTION: return "section";
    case DC_CFG_STR: return "string";
    case DC_CFG_INT: return "integer";
    case DC_CFG_BOOL: return "boolean";
    case DC_CFG_DURATION: return "duration";
    case DC_CFG_SIZE: return "size";
    case DC_CFG_ENUM: return "enum";
    case DC_CFG_LIST: return "list of strings";
    case DC_CFG_TOPICS: return "string or list";
    case DC_CFG_MAP: return "map of strings";
    case DC_CFG_TABLES: return "list of tables";
    }
    return "?";
}

static int bounds_text(dc_buf *out, const dc_cfg_key *k, dc_err *err)
{
    if (k->type == DC_CFG_ENUM) {
        for (const char *p = k->values; *p; p++)
            DC_TRY(*p == '|' ? dc_buf_puts(out, ", ", err) : dc_buf_putc(out, (uint8_t)*p, err));
        return 0;
    }
    if (k->type == DC_CFG_INT || k->type == DC_CFG_SIZE)
        return dc_buf_appendf(out, err, "%" PRId64 " .. %" PRId64 "%s", k->min, k->max,
                              k->type == DC_CFG_SIZE ? " bytes" : "");
    if (k->type == DC_CFG_DURATION)
        return dc_buf_appendf(out, err, "%" PRId64 "ms .. %" PRId64 "h", k->min,
                              k->max / 3600000);
    if (k->type == DC_CFG_LIST)
        return dc_buf_appendf(out, err, "%" PRId64 " .. %" PRId64 " items", k->min, k->max);
    return 0;
}

/* Markdown table cells may not hold '|', and <name> would be read as HTML. */
static int md_cell(dc_buf *out, const char *s, dc_err *err)
{
    for (; *s; s++) {
        if (*s == '|') DC_TRY(dc_buf_puts(out, "\\|", err));
        else if (*s == '<') DC_TRY(dc_buf_puts(out, "&lt;", err));
        else if (*s == '>') DC_TRY(dc_buf_puts(out, "&gt;", err));
        else DC_TRY(dc_buf_putc(out, (uint8_t)*s, err));
    }
    return 0;
}

static const char md_intro[] =
    "# deltacdc configuration reference\n"
    "\n"
    "<!-- Generated by `deltacdc config reference` from src/config/config_table.c;\n"
    "     do not edit (tests/interop/test_config.py checks it is up to date). -->\n"
    "\n"
    "`deltacdc ingest -c pipeline.yaml` reads a YAML pipeline file; command-line flags\n"
    "override it (`--source`, `--table`, `--key`, `--format`, `--mode`, `--trigger`,\n"
    "`--max-batch`, `--threads`, `--http`, `--log-level`). A commented example is `examples/pipeline.yaml`.\n"
    "\n"
    "- Keys nest as YAML mappings (`trigger: {interval: 5s}`) or may be written dotted\n"
    "  (`trigger.interval: 5s`). An unknown key, a key set twice, a value of the wrong\n"
    "  type or out of bounds is an error naming the file, line and key.\n"
    "- `${NAME}` in a value is replaced by the environment variable NAME; an unset\n"
    "  variable is an error. Use it for secrets.\n"
    "- Durations: a number with a unit, `ms`, `s`, `m`, `h` or `d`, or a sum such as\n"
    "  `1m30s`.\n"
    "- Secrets (marked below) are printed as `*****` by `deltacdc config show` and in logs.\n"
    "\n"
    "| key | type | default | values / bounds | description |\n"
    "| --- | --- | --- | --- | --- |\n";

int dc_config_reference_md(dc_buf *out, dc_err *err)
{
    DC_TRY(dc_buf_puts(out, md_intro, err));
    for (size_t i = 0; i < dc_cfg_n_keys; i++) {
        const dc_cfg_key *k = &dc_cfg_keys[i];
        DC_TRY(dc_buf_appendf(out, err, "| `%s%s` | %s | ", k->key,
                              k->type == DC_CFG_MAP ? ".*" : "", type_name(k)));
        if (k->def) {
            DC_TRY(dc_buf_puts(out, "`", err));
            DC_TRY(md_cell(out, k->def, err));
            DC_TRY(dc_buf_puts(out, "`", err));
        } else if (k->type != DC_CFG_SECTION) {
            DC_TRY(dc_buf_puts(out, "(none)", err));
        }
        DC_TRY(dc_buf_puts(out, " | ", err));
        DC_TRY(bounds_text(out, k, err));
        DC_TRY(dc_buf_puts(out, " | ", err));
        if (k->secret)
            DC_TRY(dc_buf_puts(out, k->type == DC_CFG_MAP ? "**secret values masked.** "
                                                          : "**secret.** ", err));
        DC_TRY(md_cell(out, k->doc, err));
        DC_TRY(dc_buf_puts(out, " |\n", err));
    }
    return 0;
}

/* --------------------------------------------------------- example YAML */

/* The last dotted segment of a key ("interval" of "trigger.interval"). */
static const char *leaf(const char *key)
{
    const char *dot = strrchr(key, '.');
    return dot ? dot + 1 : key;
}

static int depth_of(const char *key)
{
    int d = 0;
    for (const char *p = key; *p; p++) d += *p == '.';
    return d;
}

/* Doc text as '#' comment lines of at most ~88 columns. */
static int comment(dc_buf *out, int indent, const char *doc, dc_err *err)
{
    const char *p = doc;
    while (*p) {
        size_t take = strlen(p), width = 86 - (size_t)indent;
        if (take > width) {
            take = width;
            while (take > 0 && p[take] != ' ') take--;
            if (take == 0) take = width;
        }
        DC_TRY(dc_buf_appendf(out, err, "%*s# %.*s\n", indent, "", (int)take, p));
        p += take;
        while (*p == ' ') p++;
    }
    return 0;
}

static int example_list(dc_buf *out, const char *text, dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "[", err));
    for (const char *p = text; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char item[128];
        DC_ASSERT(n < sizeof item);
        memcpy(item, p, n);
        item[n] = '\0';
        DC_TRY(cfg_put_scalar(out, item, err));
        p += n;
        if (*p == ',') {
            p++;
            DC_TRY(dc_buf_puts(out, ", ", err));
        }
    }
    return dc_buf_puts(out, "]", err);
}

/* The properties example "k=v;k=v" as one "k: v" line each. */
static int example_map(dc_buf *out, int indent, const dc_cfg_key *k, dc_err *err)
{
    DC_TRY(dc_buf_appendf(out, err, "%*s%s%s:\n", indent, "", k->example_off ? "# " : "",
                          leaf(k->key)));
    for (const char *p = k->example; *p;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        DC_ASSERT(eq != NULL);
        char val[128];
        size_t vn = n - (size_t)(eq + 1 - p);
        DC_ASSERT(vn < sizeof val);
        memcpy(val, eq + 1, vn);
        val[vn] = '\0';
        DC_TRY(dc_buf_appendf(out, err, "%*s%s%.*s: ", indent + 2, "",
                              k->example_off ? "# " : "", (int)(eq - p), p));
        DC_TRY(cfg_put_scalar(out, val, err));
        DC_TRY(dc_buf_puts(out, "\n", err));
        p += n + (semi != NULL);
    }
    return 0;
}

/* "# default: x; one of: a, b" under a key's doc. */
static int default_note(dc_buf *out, int indent, const dc_cfg_key *k, dc_err *err)
{
    if (k->type == DC_CFG_SECTION || k->type == DC_CFG_TABLES) return 0;
    DC_TRY(dc_buf_appendf(out, err, "%*s# default: %s", indent, "", k->def ? k->def : "(none)"));
    if (k->type == DC_CFG_ENUM || k->type == DC_CFG_INT || k->type == DC_CFG_DURATION ||
        k->type == DC_CFG_SIZE) {
        DC_TRY(dc_buf_puts(out, k->type == DC_CFG_ENUM ? "; one of: " : "; bounds: ", err));
        DC_TRY(bounds_text(out, k, err));
    }
    if (k->secret) DC_TRY(dc_buf_puts(out, "; secret values print as *****", err));
    return dc_buf_puts(out, "\n", err);
}

/* One key of the example: its comment, then "key: value" (commented out
 * when it is an alternative or has no value to show). */
static int example_key(dc_buf *out, const dc_cfg_key *k, bool *first_table_field, dc_err *err)
{
    bool in_table = strncmp(k->key, "tables[].", 9) == 0;
    int indent = in_table ? 4 : 2 * depth_of(k->key);
    if (indent == 0) DC_TRY(dc_buf_puts(out, "\n", err));
    DC_TRY(comment(out, indent, k->doc, err));
    DC_TRY(default_note(out, indent, k, err));
    if (k->type == DC_CFG_SECTION || k->type == DC_CFG_TABLES)
        return dc_buf_appendf(out, err, "%*s%s:\n", indent, "", leaf(k->key));
    if (k->type == DC_CFG_MAP) return example_map(out, indent, k, err);
    const char *v = k->example ? k->example : k->def;
    const char *lead = "";
    if (in_table) {
        lead = *first_table_field ? "- " : "  ";
        indent -= 2;
        *first_table_field = false;
    }
    DC_TRY(dc_buf_appendf(out, err, "%*s%s%s%s:", indent, "", (k->example_off || !v) ? "# " : "",
                          lead, leaf(k->key)));
    if (v) {
        DC_TRY(dc_buf_puts(out, " ", err));
        if (k->type == DC_CFG_LIST) DC_TRY(example_list(out, v, err));
        else if (k->type == DC_CFG_STR || k->type == DC_CFG_TOPICS)
            DC_TRY(cfg_put_scalar(out, v, err));
        else DC_TRY(dc_buf_puts(out, v, err)); /* numbers, booleans, enums: as written */
    }
    return dc_buf_puts(out, "\n", err);
}

int dc_config_example_yaml(dc_buf *out, dc_err *err)
{
    DC_TRY(dc_buf_puts(out,
        "# deltacdc pipeline file: every key, with its documentation and default.\n"
        "# Generated by `deltacdc config example` from src/config/config_table.c; the\n"
        "# reference is docs/CONFIGURATION.md. Run it with:\n"
        "#   deltacdc ingest -c examples/pipeline.yaml\n", err));
    bool first_table_field = true;
    for (size_t i = 0; i < dc_cfg_n_keys; i++)
        DC_TRY(example_key(out, &dc_cfg_keys[i], &first_table_field, err));
    return 0;
}
