/*
 * config: the pipeline file (issue 4). Every setting is one row of ONE table
 * (config_table.c: key, type, default, bounds, doc text, secret flag), and
 * everything else is derived from it: defaults are applied by parsing the
 * row's default text, the YAML loader finds rows by key, command-line flags
 * go through dc_config_set with the same parser, and docs/CONFIGURATION.md
 * and examples/pipeline.yaml are generated from it (`deltacdc config
 * reference|example`), so the code and the docs can not drift apart.
 *
 * YAML through libyaml. Scalars may use ${NAME} (environment; an unset name
 * is an error). Durations are "500ms", "10s", "5m", "1h" or sums ("1m30s").
 * Unknown keys, duplicates, wrong types and out-of-bounds values are errors
 * naming file:line and the key. Secrets print as *****.
 *
 * Depends on common/ only (the daemon maps the enums to merge/source types).
 */
#ifndef DC_CONFIG_H
#define DC_CONFIG_H

#include "../common/dc_common.h"

/* What a row holds. */
typedef enum dc_cfg_type {
    DC_CFG_SECTION = 0, /* a mapping that only holds other keys (source, trigger) */
    DC_CFG_STR,         /* string (const char *) */
    DC_CFG_INT,         /* int64_t within [min, max] */
    DC_CFG_BOOL,        /* bool: true | false */
    DC_CFG_DURATION,    /* int64_t milliseconds within [min, max] */
    DC_CFG_SIZE,        /* int64_t bytes within [min, max]: "128MiB", "64MB", "4096" */
    DC_CFG_ENUM,        /* int: index into `values` ("a|b|c") */
    DC_CFG_LIST,        /* dc_cfg_list: a YAML list, or a scalar "a,b"; count in [min, max] */
    DC_CFG_TOPICS,      /* dc_cfg_topics: a pattern string, or a list of topic names */
    DC_CFG_MAP,         /* dc_cfg_map: string -> string (librdkafka properties) */
    DC_CFG_TABLES,      /* the list of table objects (rows "tables[].<field>") */
} dc_cfg_type;

/* A list of strings (arena-owned). */
typedef struct dc_cfg_list {
    uint32_t n;            /* items */
    const char **items;    /* n strings */
} dc_cfg_list;

/* source.kafka.topics: one pattern with {db}/{table} captures, or explicit names. */
typedef struct dc_cfg_topics {
    const char *pattern;   /* set when given as a string (may have no placeholder) */
    dc_cfg_list list;      /* set when given as a list */
} dc_cfg_topics;

/* A string map in file order (arena-owned). */
typedef struct dc_cfg_map {
    uint32_t n;            /* entries */
    const char **keys;     /* n keys */
    const char **values;   /* n values */
} dc_cfg_map;

/* Enum values, in the order of the rows' `values` text. */
enum { DC_CFG_OFFSETS_EARLIEST = 0, DC_CFG_OFFSETS_LATEST = 1 };
enum { DC_CFG_FORMAT_RAW = 0, DC_CFG_FORMAT_TYPED = 1, DC_CFG_FORMAT_BOTH = 2 };
enum { DC_CFG_MODE_DV = 0, DC_CFG_MODE_COW = 1 };
enum { DC_CFG_DATETIME_NTZ = 0, DC_CFG_DATETIME_UTC = 1 };
enum { DC_CFG_TIME_LONG = 0, DC_CFG_TIME_STRING = 1 };
enum { DC_CFG_ON_ERROR_FAIL = 0, DC_CFG_ON_ERROR_DEAD_LETTER = 1 };
enum { DC_CFG_TABLE_ERROR_STOP_TABLE = 0, DC_CFG_TABLE_ERROR_STOP_DAEMON = 1 };
enum { DC_CFG_OPTIMIZE_AUTO = 0, DC_CFG_OPTIMIZE_OFF = 1 };
enum { DC_CFG_VACUUM_AUTO = 0, DC_CFG_VACUUM_OFF = 1 };
enum { DC_CFG_S3_PATH_AUTO = 0, DC_CFG_S3_PATH_PATH = 1, DC_CFG_S3_PATH_VIRTUAL = 2 };
enum { DC_CFG_MONITOR_AUTO = 0, DC_CFG_MONITOR_OFF = 1 };
/* source.mysql.ssl_mode, in the order of its values (mysql.h's names). */
enum { DC_CFG_SSL_PREFERRED = 0, DC_CFG_SSL_DISABLED, DC_CFG_SSL_REQUIRED, DC_CFG_SSL_VERIFY_CA,
       DC_CFG_SSL_VERIFY_IDENTITY };
/* monitors.completeness.mode: off, then monitor.h's dc_complete_mode + 1 */
enum { DC_CFG_COMPLETE_OFF = 0, DC_CFG_COMPLETE_COUNT = 1, DC_CFG_COMPLETE_MAX_ID = 2,
       DC_CFG_COMPLETE_RANGES = 3 };

/* One entry of `tables:`. */
typedef struct dc_config_table {
    const char *match;     /* glob over "db.table" (pattern topics) or the topic name */
    const char *path;      /* table location template: {warehouse} {db} {table} {topic} */
    int format;            /* DC_CFG_FORMAT_* (BOTH: a raw and a typed table) */
    const char *typed_path; /* format BOTH: the typed table's template ({path}: the raw one's) */
    int mode;              /* DC_CFG_MODE_* */
    dc_cfg_list key;       /* key columns; n == 0: from the Kafka record key */
    bool soft_deletes;     /* typed: deletes keep the row with <meta_prefix>deleted = true */
    const char *meta_prefix; /* typed: prefix of the metadata columns ("__") */
    int datetime;          /* typed: DC_CFG_DATETIME_* (DATETIME → timestamp_ntz or timestamp) */
    int time;              /* typed: DC_CFG_TIME_* (TIME → long microseconds or string) */
    const char *schema_changes_topic; /* typed: Debezium's schema-change records to follow
                              renames and drops from (file:PATH), NULL: none */
    dc_cfg_map properties; /* table properties to set (tables[].properties.*) */
    dc_cfg_map columns;    /* typed, streams without schema blocks: column -> type
                              (tables[].columns.*, config_columns.c), in file order */
    int line;              /* line in the file (0: made from flags), for messages */
} dc_config_table;

/* The whole configuration. Init with dc_config_init (defaults applied),
 * dispose with dc_config_dispose. Strings live in `arena`. */
typedef struct dc_config {
    dc_arena arena;                  /* owns every string and array below */
    const char *file;                /* the pipeline file loaded, or NULL */
    const char *pipeline;            /* names txn appIds and the default consumer group */
    const char *source_uri;          /* --source: overrides the source section when set */
    const char *kafka_bootstrap;     /* source.kafka.bootstrap_servers */
    dc_cfg_topics kafka_topics;      /* source.kafka.topics */
    const char *kafka_group;         /* source.kafka.group_id (NULL: the pipeline name) */
    int kafka_starting_offsets;      /* DC_CFG_OFFSETS_* */
    bool kafka_fail_on_data_loss;    /* source.kafka.fail_on_data_loss */
    dc_cfg_map kafka_props;          /* source.kafka.properties.* */
    const char *source_file;         /* source.file: a path or "-" */
    const char *mysql_url;           /* source.mysql.url (bootstrap -c), or NULL */
    const char *mysql_pwd_env;  /* source.mysql.pwd_env: the password's variable */
    int mysql_ssl_mode;              /* source.mysql.ssl_mode: DC_CFG_SSL_* */
    const char *mysql_ssl_ca;        /* source.mysql.ssl_ca */
    const char *mysql_ssl_cert;      /* source.mysql.ssl_cert */
    const char *mysql_ssl_key;       /* source.mysql.ssl_key */
    int64_t bootstrap_chunk_rows;    /* bootstrap.chunk_rows */
    const char *warehouse;           /* {warehouse} in table paths */
    uint32_t n_tables;               /* entries of tables */
    dc_config_table *tables;         /* arena-owned */
    int64_t trigger_interval_ms;     /* trigger.interval */
    int64_t trigger_min_interval_ms; /* trigger.min_interval */
    int64_t ingest_threads;          /* ingest.threads (0: one per core) */
    int64_t trigger_max_records;     /* trigger.max_records */
    int on_error;                    /* DC_CFG_ON_ERROR_* */
    int on_table_error;              /* DC_CFG_TABLE_ERROR_* */
    const char *dead_letter_path;    /* dead_letter.path template */
    int log_level;                   /* dc_log_level */
    int optimize;                    /* DC_CFG_OPTIMIZE_* (maintenance.optimize) */
    int64_t optimize_target_size;    /* maintenance.optimize_target_file_size, bytes */
    int64_t optimize_min_size;       /* maintenance.optimize_min_file_size, bytes */
    int64_t optimize_small_files;    /* maintenance.optimize_small_files */
    int64_t optimize_deleted_pct;    /* maintenance.optimize_deleted_percent */
    int64_t optimize_max_bytes;      /* maintenance.optimize_max_bytes, per run */
    int64_t optimize_max_files;      /* maintenance.optimize_max_files, per run */
    int64_t optimize_interval_ms;    /* maintenance.optimize_interval */
    int64_t checkpoint_interval;     /* maintenance.checkpoint_interval (0: the table's) */
    int64_t checkpoint_min_change;   /* maintenance.checkpoint_min_change, percent (0: off) */
    bool log_cleanup;                /* maintenance.log_cleanup */
    bool manifest;                   /* maintenance.manifest */
    int vacuum;                      /* DC_CFG_VACUUM_* (maintenance.vacuum) */
    int64_t vacuum_interval_ms;      /* maintenance.vacuum_interval */
    int64_t vacuum_retention_ms;     /* maintenance.vacuum_retention (0: the table's) */
    bool maint_background;           /* maintenance.background */
    bool index_persist;              /* index.persist */
    int64_t index_persist_interval_ms; /* index.persist_interval */
    const char *s3_endpoint;         /* storage.s3.endpoint (NULL: environment) */
    const char *s3_region;           /* storage.s3.region (NULL: environment) */
    int s3_path_style;               /* DC_CFG_S3_PATH_* */
    bool s3_verify_tls;              /* storage.s3.verify_tls */
    const char *s3_ca_file;          /* storage.s3.ca_file */
    bool s3_allow_unsafe;            /* storage.s3.allow_unsafe_single_writer */
    const char *s3_access_key_id;    /* storage.s3.access_key_id */
    const char *s3_secret_access_key; /* storage.s3.secret_access_key (secret) */
    const char *s3_session_token;    /* storage.s3.session_token (secret) */
    const char *s3_profile;          /* storage.s3.profile */
    int64_t s3_connect_timeout_ms;   /* storage.s3.connect_timeout */
    int64_t s3_request_timeout_ms;   /* storage.s3.request_timeout */
    int64_t s3_max_attempts;         /* storage.s3.max_attempts */
    const char *http_listen;         /* http.listen (NULL: no HTTP endpoint) */
    const char *http_token;          /* http.token (NULL: none); a secret */
    int64_t http_fail_linger_ms;     /* http.fail_linger */
    int monitor_freshness;           /* DC_CFG_MONITOR_* (monitors.freshness) */
    int64_t monitor_interval_ms;     /* monitors.interval */
    int64_t monitor_max_lag_records; /* monitors.max_lag_records */
    int64_t monitor_max_lag_ms;      /* monitors.max_lag */
    const char *monitor_webhook;     /* monitors.webhook (NULL: none); a secret */
    int64_t monitor_webhook_timeout_ms; /* monitors.webhook_timeout */
    int64_t monitor_webhook_retries; /* monitors.webhook_retries */
    const char *snapshot_path;       /* snapshot.path template (the dated table) */
    const char *snapshot_history;    /* snapshot.history template (NULL: none) */
    int64_t snapshot_memory;         /* snapshot.memory, bytes */
    const char *snapshot_temp_dir;   /* snapshot.temp_dir (NULL: $TMPDIR or /tmp) */
    int complete_mode;               /* DC_CFG_COMPLETE_* (monitors.completeness.mode) */
    const char *complete_db;         /* monitors.completeness.db: mysql://USER@HOST:PORT/DB */
    const char *complete_password;   /* monitors.completeness.password (NULL: MYSQL_PWD) */
    dc_cfg_map complete_tables;      /* monitors.completeness.tables: source table -> table */
    int64_t complete_range_size;     /* monitors.completeness.range_size */
    bool complete_keys;              /* monitors.completeness.keys */
} dc_config;

/* One row of the table. */
typedef struct dc_cfg_key {
    const char *key;       /* dotted path; "tables[].x" for fields of table entries */
    dc_cfg_type type;
    size_t offset;         /* field offset in dc_config (dc_config_table for tables[]) */
    const char *def;       /* default as text, parsed like a value (NULL: unset) */
    int64_t min, max;      /* INT / DURATION (ms) bounds; LIST item count */
    const char *values;    /* ENUM: "a|b|c" */
    bool secret;           /* never printed (MAP: see dc_is_secret_key) */
    const char *example;   /* value in examples/pipeline.yaml (NULL: the default) */
    bool example_off;      /* commented out in the example (an alternative) */
    const char *doc;       /* what it does, for the reference and the example */
    int (*check)(const char *value, dc_err *err); /* MAP: checks each value as it loads
                                                      (NULL: any string) */
} dc_cfg_key;

/* The table (config_table.c), in document order. */
extern const dc_cfg_key dc_cfg_keys[];
extern const size_t dc_cfg_n_keys;
const dc_cfg_key *dc_config_key_find(const char *key);

/* Sets every default. */
int dc_config_init(dc_config *c, dc_err *err);
void dc_config_dispose(dc_config *c);

/* Loads a YAML pipeline file over the current values. Errors name
 * "path:line: key: what". */
int dc_config_load_file(dc_config *c, const char *path, dc_err *err);
/* The same from text already in memory (`name` for messages). */
int dc_config_load_text(dc_config *c, const char *name, const char *text, size_t n,
                        dc_err *err);

/* Sets one key from text (a command-line flag): `origin` names it in errors
 * ("--trigger"). Keys of tables[] are refused here (the CLI edits tables). */
int dc_config_set(dc_config *c, const char *key, const char *value, const char *origin,
                  dc_err *err);

/* --table PATH: the tables become one entry (every other field default)
 * whose path is `path`. */
int dc_config_table_only(dc_config *c, const char *path, dc_err *err);
/* --key/--format/--mode: sets tables[].<field> in every entry (making the
 * default entry first when there is none). */
int dc_config_table_set(dc_config *c, const char *field, const char *value, const char *origin,
                        dc_err *err);

/* tables[].columns (config_columns.c): whether `type` is a column type, and
 * the Debezium envelope schema block (NUL-terminated JSON in out) standing
 * for the columns, key columns not optional. */
int dc_config_column_check(const char *type, dc_err *err);
int dc_config_columns_schema(dc_buf *out, const dc_cfg_map *cols, const dc_cfg_list *key,
                             dc_err *err);

/* Parsers shared with the CLI. */
int dc_config_parse_duration(int64_t *ms_out, const char *s, dc_err *err);
/* Byte sizes: a number and an optional unit, B, KiB/MiB/GiB/TiB (and K/M/G/T,
 * powers of 1024) or KB/MB/GB/TB (powers of 1000): "128MiB", "64MB", "4096". */
int dc_config_parse_size(int64_t *bytes_out, const char *s, dc_err *err);
/* "a,b" -> list (items trimmed, empty items refused). */
int dc_config_split_list(dc_cfg_list *out, dc_arena *arena, const char *s, dc_err *err);

/* True for librdkafka properties whose values are secrets (passwords,
 * JAAS config, private keys, OAuth secrets). */

/* Appends the effective configuration as YAML, secrets as *****. */
int dc_config_dump(dc_buf *out, const dc_config *c, dc_err *err);

/* Generators (config_table.c): docs/CONFIGURATION.md and examples/pipeline.yaml. */
int dc_config_reference_md(dc_buf *out, dc_err *err);
int dc_config_example_yaml(dc_buf *out, dc_err *err);

#endif /* DC_CONFIG_H */
