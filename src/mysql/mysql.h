/*
 * mysql: a MySQL/MariaDB client through libmariadb (issue 10), for the
 * bootstrap (and later the completeness monitor).
 *
 * What it does: connects (URL mysql://USER@HOST:PORT/DB, the password from
 * the caller — MYSQL_PWD by default — never logged or put in a message; TLS
 * options), reads a table's columns from information_schema, opens one
 * consistent snapshot and records the binlog position it corresponds to,
 * streams a query's rows (mysql_use_result: never the whole result in
 * memory), and maps the columns and rows to what Debezium's MySQL/MariaDB
 * connector would send for them (a JsonConverter schema block and after
 * images), so that the typed table has ONE mapping: src/cdc's, from the
 * Debezium schema block (https://debezium.io/documentation/reference/stable/
 * connectors/mariadb.html#mariadb-data-types; tests/data/
 * debezium_mariadb_README.md records how each type arrived in a real capture).
 * Depends on common/ and json/ only.
 */
#ifndef DC_MYSQL_H
#define DC_MYSQL_H

#include "../common/dc_common.h"

/* TLS of the connection (the mysql client's --ssl-mode words). */
typedef enum dc_mysql_ssl_mode {
    DC_MYSQL_SSL_PREFERRED = 0, /* TLS when the server offers it, no verification (default) */
    DC_MYSQL_SSL_DISABLED,      /* plain TCP */
    DC_MYSQL_SSL_REQUIRED,      /* TLS or fail, no certificate verification */
    DC_MYSQL_SSL_VERIFY_CA,     /* TLS, the server's certificate signed by ssl_ca */
    DC_MYSQL_SSL_VERIFY_IDENTITY, /* and its name is the host's */
} dc_mysql_ssl_mode;

/* Parses "disabled", "preferred", "required", "verify_ca"/"verify-ca",
 * "verify_identity"/"verify-identity" (any case). */
int dc_mysql_ssl_mode_parse(dc_mysql_ssl_mode *out, const char *s, dc_err *err);

/* Connection settings. Strings are borrowed for the call. */
typedef struct dc_mysql_opts {
    const char *url;            /* mysql://USER@HOST[:PORT]/DB (a password in it is refused) */
    const char *password;       /* NULL: none */
    dc_mysql_ssl_mode ssl_mode;
    const char *ssl_ca;         /* CA file (verify modes), or NULL */
    const char *ssl_cert;       /* client certificate, or NULL */
    const char *ssl_key;        /* its key, or NULL */
    unsigned connect_timeout_s; /* 0: 10 s */
} dc_mysql_opts;

typedef struct dc_mysql dc_mysql;

/* Connects, sets the session (utf8mb4, time_zone UTC, REPEATABLE READ, long
 * net timeouts). Errors name user, host and port and libmariadb's reason,
 * never the password. */
int dc_mysql_connect(dc_mysql **out, const dc_mysql_opts *o, dc_err *err);
void dc_mysql_close(dc_mysql *m);
/* The URL's database, user, host, port (borrowed while m lives). */
const char *dc_mysql_db(const dc_mysql *m);
const char *dc_mysql_where(const dc_mysql *m);   /* "user@host:port", for messages */
bool dc_mysql_is_mariadb(const dc_mysql *m);

/* Runs a statement that returns no rows (or discards them). */
int dc_mysql_exec(dc_mysql *m, const char *sql, dc_err *err);
/* Appends s[0..n) as a quoted SQL string literal ('...', escaped for the
 * connection's charset) / as a quoted identifier (`...`). */
int dc_mysql_put_literal(dc_buf *out, dc_mysql *m, const char *s, size_t n, dc_err *err);
int dc_mysql_put_ident(dc_buf *out, const char *s, size_t n, dc_err *err);

/* Streaming a query's rows: _stream_start, then _stream_next until *done
 * (the row's values and lengths are valid until the next call; a NULL value
 * is SQL NULL), then _stream_end (also after an error or early stop: it
 * drains the rest so the connection stays usable). */
int dc_mysql_stream_start(dc_mysql *m, const char *sql, dc_err *err);
int dc_mysql_stream_next(char ***row, unsigned long **lens, bool *done, dc_mysql *m,
                         dc_err *err);
void dc_mysql_stream_end(dc_mysql *m);
/* The first row of a query whose values fit in `out` as NUL-separated
 * strings: n_out values (NULL values as empty strings with null[i] set).
 * DC_ENOTFOUND when the query returns no row. At most 16 columns. */
int dc_mysql_query_row(dc_buf *out, const char *vals[16], bool null[16], uint32_t *n_out,
                       dc_mysql *m, const char *sql, dc_err *err);

/* ---------------------------------------------------------- snapshot */

/* A binlog position. */
typedef struct dc_mysql_binlog_pos {
    char file[256];             /* "mysql-bin.000003"; empty when binary logging is off */
    int64_t pos;                /* byte position in it */
    char gtid[1024];            /* MariaDB gtid_binlog_pos / MySQL Executed_Gtid_Set; may be empty */
    int64_t ts_ms;              /* the server's clock when it was read (ms since 1970) */
    const char *how;            /* "binlog_snapshot_*" (MariaDB, no lock) or "FTWRL" */
} dc_mysql_binlog_pos;

/* START TRANSACTION WITH CONSISTENT SNAPSHOT (REPEATABLE READ, read only)
 * and the binlog position that snapshot sees: on MariaDB the status
 * variables binlog_snapshot_file/position, which the server sets for the
 * consistent snapshot without any lock; elsewhere the snapshot is started
 * under a brief FLUSH TABLES WITH READ LOCK and SHOW MASTER STATUS read
 * before UNLOCK TABLES (needs RELOAD). Every query on m until
 * dc_mysql_exec(m, "COMMIT") reads that snapshot. */
int dc_mysql_snapshot_begin(dc_mysql_binlog_pos *out, dc_mysql *m, dc_err *err);

/* --------------------------------------------------------- columns */

/* The Debezium encoding chosen for a column (how its text value becomes the
 * after image's JSON value). */
typedef enum dc_mysql_enc {
    DC_MYSQL_ENC_INT = 0,       /* integer text as a JSON number */
    DC_MYSQL_ENC_DECIMAL,       /* exact number as a JSON number (decimal.format NUMERIC) */
    DC_MYSQL_ENC_FLOAT,         /* float/double text as a JSON number */
    DC_MYSQL_ENC_YEAR,          /* YEAR: a JSON number */
    DC_MYSQL_ENC_STRING,        /* text as a JSON string */
    DC_MYSQL_ENC_BYTES,         /* bytes as base64 */
    DC_MYSQL_ENC_BIT1,          /* BIT(1): boolean */
    DC_MYSQL_ENC_BITS,          /* BIT(n>1): big-endian bytes → little-endian base64 */
    DC_MYSQL_ENC_DATE,          /* 'YYYY-MM-DD' → days since 1970; zero date → null */
    DC_MYSQL_ENC_DATETIME_MS,   /* DATETIME(0..3) → ms since 1970; zero → null */
    DC_MYSQL_ENC_DATETIME_US,   /* DATETIME(4..6) → µs since 1970; zero → null */
    DC_MYSQL_ENC_TIMESTAMP,     /* TIMESTAMP (session in UTC) → ISO-8601 'Z' string */
    DC_MYSQL_ENC_TIME,          /* TIME → µs (negative and beyond 24 h as stored) */
    DC_MYSQL_ENC_GEOMETRY,      /* SRID + WKB → {"wkb":base64,"srid":n|null} */
    DC_MYSQL_ENC_POINT,         /* the same plus "x", "y" */
} dc_mysql_enc;

/* One column as information_schema.COLUMNS describes it. */
typedef struct dc_mysql_column {
    char *name;                 /* COLUMN_NAME */
    char *data_type;            /* DATA_TYPE, lower case ("int", "decimal", ...) */
    char *column_type;          /* COLUMN_TYPE ("int(10) unsigned", "enum('a','b')") */
    bool nullable;              /* IS_NULLABLE = 'YES' */
    bool is_unsigned;           /* COLUMN_TYPE says unsigned */
    int64_t precision;          /* NUMERIC_PRECISION, or -1 */
    int64_t scale;              /* NUMERIC_SCALE, or -1 */
    int64_t dt_precision;       /* DATETIME_PRECISION, or -1 */
    int64_t char_len;           /* CHARACTER_MAXIMUM_LENGTH (BIT: bits in NUMERIC_PRECISION) */
    dc_mysql_enc enc;           /* set by dc_mysql_table_load */
} dc_mysql_column;

/* A table's columns (ordinal order) and primary key. */
typedef struct dc_mysql_table {
    char *db, *name;            /* as given */
    dc_mysql_column *cols;      /* n_cols */
    uint32_t n_cols;
    uint32_t n_pk;              /* primary key columns (0: none) */
    uint32_t pk[16];            /* their indexes into cols, in key order */
    int64_t est_rows;           /* information_schema.TABLES.TABLE_ROWS (an estimate), -1 */
} dc_mysql_table;

/* Reads columns, primary key and row estimate. DC_ENOTFOUND naming db.table
 * when it does not exist (or is not visible to the user); DC_EUNSUPPORTED
 * naming the column for a type without a Debezium mapping here. */
int dc_mysql_table_load(dc_mysql_table *out, dc_mysql *m, const char *db, const char *table,
                        dc_err *err);
void dc_mysql_table_dispose(dc_mysql_table *t);
/* Index of a column by name, or -1. */
int32_t dc_mysql_table_find(const dc_mysql_table *t, const char *name);

/* The SELECT list reading the columns in the form dc_mysql_image expects
 * (FLOAT through CAST(.. AS DOUBLE): the text protocol prints floats with 6
 * digits, the double of a float is exact). */
int dc_mysql_select_list(dc_buf *out, const dc_mysql_table *t, dc_err *err);

/* ----------------------------------------------- the Debezium shapes */

/* The JsonConverter value schema block Debezium's connector sends for the
 * table's change events (the envelope with its "before" and "after"
 * structs), as compact JSON: what dc_cdc_tschema_from_block reads.
 * `server` names the schema ("<server>.<db>.<table>.Value"). */
int dc_mysql_debezium_schema(dc_buf *out, const dc_mysql_table *t, const char *server,
                             dc_err *err);
/* Appends the after image (a JSON object, Debezium's encoding of each
 * column) of one row of the dc_mysql_select_list query. Bad text (a date
 * that does not parse...) is DC_EINVAL naming the column. */
int dc_mysql_image(dc_buf *out, const dc_mysql_table *t, char **row, const unsigned long *lens,
                   dc_err *err);

/* Appends one non-NULL value's JSON in the after image's encoding (what
 * dc_mysql_image writes for it): bootstrap's key values. */
int dc_mysql_value(dc_buf *out, const dc_mysql_column *c, const char *v, size_t n, dc_err *err);

/* ------------------------------------------------- canonical rows */

/* The canonical text of one column's value as an SQL expression (NULL for
 * SQL NULL and zero dates), the form mysql_canon.c describes; src/monitor
 * computes the same text from the typed table. */
int dc_mysql_canon_expr(dc_buf *out, const dc_mysql_column *c, dc_err *err);
/* The canonical text of a whole row: "<bytes>:<text>" or "N" per column. */
int dc_mysql_canon_row(dc_buf *out, const dc_mysql_table *t, dc_err *err);
/* The canonical text of a row's primary key: the same over the key columns,
 * in key order. */
int dc_mysql_canon_key(dc_buf *out, const dc_mysql_table *t, dc_err *err);
/* The 64-bit hash of the row's text, of its key's text: the first 8 bytes of
 * MD5(text), an unsigned integer. */
int dc_mysql_canon_hash(dc_buf *out, const dc_mysql_table *t, dc_err *err);
int dc_mysql_canon_key_hash(dc_buf *out, const dc_mysql_table *t, dc_err *err);

#endif /* DC_MYSQL_H */
