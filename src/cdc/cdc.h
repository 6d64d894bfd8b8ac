/*
 * cdc: decoding Debezium change events (issue 4).
 *
 * The hot path: one call per Kafka record value (or JSON line), no DOM. The
 * scanner walks the record once, skips the JsonConverter "schema" block
 * without building it (it only notes the types of the key columns when the
 * caller asks), and returns slices of the input for the before/after images.
 * Depends on common/ and json/ (for the slow path and escaping), and on
 * parquet/ for dc_type alone (the typed table's Delta types).
 *
 * Debezium shapes handled (https://debezium.io/documentation/reference/stable/
 * connectors/mysql.html#mysql-events):
 *   {"schema":{...},"payload":{"before":..,"after":..,"source":{..},"op":"c","ts_ms":N}}
 *   {"before":..,"after":..,"source":{..},"op":"u","ts_ms":N}          (no schema block)
 *   null / empty value                                                   (tombstone)
 *   op "c" create, "u" update, "d" delete, "r" snapshot read, "t" truncate,
 *   "m" message (skipped); heartbeats ({"ts_ms":N} without op, or a
 *   __debezium-heartbeat topic) and schema-change records (payload with
 *   "ddl"/"databaseName"/"tableChanges") are skipped.
 */
#ifndef DC_CDC_H
#define DC_CDC_H

#include "../common/dc_common.h"
#include "../json/dc_json.h"
#include "../parquet/parquet.h" /* dc_type: the typed table's Delta types */

/* What a record turned out to be. */
typedef enum dc_cdc_kind {
    DC_CDC_CHANGE = 0,   /* a row change: op c, u, d or r */
    DC_CDC_TRUNCATE,     /* op t: every row committed before it is gone */
    DC_CDC_SKIP,         /* tombstone, heartbeat, schema change, op m */
} dc_cdc_kind;

/* Type of a key column value. */
typedef enum dc_cdc_key_type {
    DC_CDC_KEY_LONG = 0, /* integers (from schema int8..int64, or a JSON integer) */
    DC_CDC_KEY_STRING,   /* strings (and anything else, as its JSON text) */
} dc_cdc_key_type;

/* One key column's value in an event. */
typedef struct dc_cdc_key {
    dc_cdc_key_type type;
    int64_t i;           /* LONG */
    const char *s;       /* STRING: unescaped bytes; borrowed from the record (no escapes)
                          * or the event's scratch (escaped): copy to keep */
    uint32_t len;        /* STRING: bytes */
} dc_cdc_key;

#define DC_CDC_MAX_KEYS 16

/* Which columns make the key, in order. Caller-owned. */
typedef struct dc_cdc_keyspec {
    uint32_t n;                          /* 1..DC_CDC_MAX_KEYS */
    const char *names[DC_CDC_MAX_KEYS];  /* column names as in the after/before image */
} dc_cdc_keyspec;

/* Where an event sits in the source's own log (payload.source of the MySQL and
 * MariaDB connectors: "file", "pos", "row", "snapshot"; https://debezium.io/
 * documentation/reference/stable/connectors/mariadb.html#mariadb-change-event-values).
 * `pos` is the position of the binlog event that carried the row and `row` the
 * row's index within that event, so later changes compare greater: by file
 * number (the digits after the file name's last '.', so mysql-bin.000010
 * follows mysql-bin.000009), then pos, then snapshot reads before streamed
 * changes at the same position (a snapshot records the position it started
 * at, which the first streamed event may share), then row. */
typedef struct dc_cdc_srcpos {
    int64_t file;            /* binlog file number: 3 for "mysql-bin.000003" */
    int64_t pos;             /* byte position of the binlog event in that file */
    int32_t row;             /* row within the binlog event (0 for snapshot reads) */
    bool snapshot;           /* a snapshot read (source.snapshot true/"true"/"first"/
                              * "last"/...), not a streamed change */
} dc_cdc_srcpos;

/* A decoded event. Slices point into the record (valid while it is) or into
 * `scratch` (valid until the next decode with the same scratch). */
typedef struct dc_cdc_event {
    dc_cdc_kind kind;
    char op;                 /* 'c','u','d','r','t' as sent */
    bool has_ts_ms;
    int64_t ts_ms;           /* payload.ts_ms (0 when absent, has_ts_ms false) */
    const char *after;       /* raw JSON text of payload.after, NULL if null/absent */
    uint32_t after_len;
    const char *before;      /* raw JSON text of payload.before, NULL if null/absent */
    uint32_t before_len;
    uint32_t n_keys;         /* == keyspec n for CHANGE events */
    dc_cdc_key keys[DC_CDC_MAX_KEYS]; /* from after (c,u,r) or before (d) */
    const char *schema;      /* raw JSON text of the record's top-level "schema" block
                              * (the key of dc_cdc_tschema_cache_get), NULL if absent */
    uint32_t schema_len;
    uint64_t schema_id;      /* nonzero when the decoder's schema cache held the block:
                              * every event of this id carries these very bytes (ids
                              * are never reused in the process), so a consumer that
                              * saw the id compares it instead of the bytes; 0: none */
    bool has_srcpos;         /* payload.source has a file (with a number), pos and row */
    dc_cdc_srcpos srcpos;    /* valid when has_srcpos */
    const char *src_file;    /* body of the source.file string (escapes as sent), NULL
                              * when absent; borrowed from the record */
    uint32_t src_file_len;
    const char *gtid;        /* body of the source.gtid string ("0-1-42" on MariaDB,
                              * "uuid:N" on MySQL), NULL when absent or null */
    uint32_t gtid_len;
    bool has_server_id;
    int64_t server_id;       /* source.server_id when has_server_id */
    /* A primary-key change: Debezium sends it as a delete of the old key and a
     * create of the new; nothing extra is needed here — each record decodes
     * on its own. */
} dc_cdc_event;

/* Decodes one record value. `scratch` receives unescaped key strings.
 * Errors (DC_EINVAL) say what is wrong and the byte offset: not JSON, no
 * payload/op, unknown op, a key column missing or null, ts_ms not an integer.
 * The caller prefixes topic/partition/offset.
 * Details (src/cdc/cdc_decode.c; tests/cdc/cdc_ref.h restates them on the DOM):
 *   - the record is checked as strictly as dc_json_parse (what decodes here
 *     parses there; before/after slices are valid JSON); errors read
 *     "cdc: <what> at byte N"; nesting beyond DC_JSON_MAX_DEPTH is DC_ELIMIT;
 *   - repeated members: the last one counts (as dc_json_get);
 *   - a record with "payload" is an envelope ("payload": null is a
 *     tombstone); "schema" without "payload" is an error; otherwise the
 *     record is the payload;
 *   - no op (or op null): SKIP when there is no before/after image and the
 *     payload has ts_ms (heartbeat), ddl/databaseName/tableChanges (schema
 *     change) or status (transaction metadata); an error otherwise;
 *   - op m: SKIP with op 'm'; t: TRUNCATE; c, u, r need an after object, d a
 *     before object; before/after must be objects or null;
 *   - keys: a JSON integer in int64 range is LONG; a string is STRING
 *     (unescaped); any other value (fraction, exponent, big integer, boolean,
 *     object, array) is STRING with its JSON text; null or missing is an
 *     error naming the column; ts_ms null counts as absent.
 * `out` is unspecified after an error. */
int dc_cdc_decode(dc_cdc_event *out, dc_buf *scratch, const dc_cdc_keyspec *keys,
                  const char *rec, size_t n, dc_err *err);

/* Schema blocks a stream's decoder validated lately (caller-owned, one per
 * thread or stream; _init/_dispose). JsonConverter repeats the same block in
 * every record of a table: a record whose block is byte for byte one of
 * these is skipped with a memcmp instead of a validating scan — the same
 * verdict (a JSON value's validity depends on its bytes and its depth only,
 * and the block is always at depth 1), for a fraction of the work. Misses
 * are remembered round robin; a failed copy is simply not remembered. */
#define DC_CDC_SCHEMA_CACHE_SLOTS 4
typedef struct dc_cdc_schema_cache {
    uint8_t *block[DC_CDC_SCHEMA_CACHE_SLOTS]; /* validated blocks' bytes; owned, NULL if empty */
    size_t len[DC_CDC_SCHEMA_CACHE_SLOTS];     /* bytes of each block */
    uint64_t id[DC_CDC_SCHEMA_CACHE_SLOTS];    /* each block's dc_cdc_event.schema_id */
    uint32_t next;                             /* slot the next miss replaces */
    uint32_t last_hit;                         /* slot compared first */
    uint64_t hits;                             /* blocks skipped by memcmp */
    uint64_t misses;                           /* blocks scanned (cached if small enough) */
} dc_cdc_schema_cache;

void dc_cdc_schema_cache_init(dc_cdc_schema_cache *c);
void dc_cdc_schema_cache_dispose(dc_cdc_schema_cache *c);

/* dc_cdc_decode with a schema cache (NULL: none). Same results, faster on
 * records with schema blocks. */
int dc_cdc_decode_cached(dc_cdc_event *out, dc_buf *scratch, dc_cdc_schema_cache *cache,
                         const dc_cdc_keyspec *keys, const char *rec, size_t n, dc_err *err);

/* Types of the key columns announced by a record's schema block (the
 * "after"/"before" struct fields), for creating a table's schema: returns 0
 * and fills types[i] (LONG for int8/16/32/64, STRING otherwise) when the
 * record has a schema block naming every key column, DC_ENOTFOUND when it
 * has no schema block. Slow path (builds a DOM); called once per table. */
int dc_cdc_key_types(dc_cdc_key_type *types, const dc_cdc_keyspec *keys, const char *rec,
                     size_t n, dc_err *err);
/* The same, and per key the bytes of its schema integer type (int8 1, int16
 * 2, int32 4, int64 8; 0: not an integer), which a raw table's key column is
 * created with (byte, short, integer, long). int_bytes may be NULL. */
int dc_cdc_key_types_ex(dc_cdc_key_type *types, uint8_t *int_bytes, const dc_cdc_keyspec *keys,
                        const char *rec, size_t n, dc_err *err);

/* Parses "id" or "a,b" into a keyspec whose names point into `text` copies
 * held by `arena`. */
int dc_cdc_keyspec_parse(dc_cdc_keyspec *out, dc_arena *arena, const char *text, dc_err *err);

/* ------------------------------------------------------------------------
 * Typed tables (issue 9, decoding half): a Debezium value schema block → one
 * Delta column per source column, and before/after images → rows for the
 * Parquet writer. Types follow the block's `type`, `name` and `parameters`,
 * never the values (Debezium's MariaDB/MySQL data type mappings:
 * https://debezium.io/documentation/reference/stable/connectors/mariadb.html#mariadb-data-types
 * and .../mysql.html#mysql-data-types). */

/* How a column's JSON value is decoded. */
typedef enum dc_cdc_tkind {
    DC_CDC_TK_BOOL = 0,   /* boolean → boolean */
    DC_CDC_TK_INT,        /* int8/16/32/64 → byte/short/integer/long (range-checked) */
    DC_CDC_TK_YEAR,       /* io.debezium.time.Year (int32) → integer */
    DC_CDC_TK_FLOAT,      /* float32 → float */
    DC_CDC_TK_DOUBLE,     /* float64 → double (also decimal.handling.mode=double) */
    DC_CDC_TK_STRING,     /* string → string (also decimal.handling.mode=string,
                           * binary.handling.mode=hex/base64 strings, ZonedTime) */
    DC_CDC_TK_JSON,       /* io.debezium.data.Json: the JSON text as a string, verbatim */
    DC_CDC_TK_ENUM,       /* io.debezium.data.Enum: string, one of `allowed` when given */
    DC_CDC_TK_ENUM_SET,   /* io.debezium.data.EnumSet: "a,b" → array<string> */
    DC_CDC_TK_BYTES,      /* bytes: base64 in JSON → binary */
    DC_CDC_TK_BITS,       /* io.debezium.data.Bits (bytes, BIT(n>1)) → binary */
    DC_CDC_TK_DECIMAL,    /* org.apache.kafka.connect.data.Decimal: base64 big-endian two's
                           * complement (or a JSON number, JsonConverter decimal.format=NUMERIC)
                           * → decimal(p,s) for p <= 38, string of exact digits above */
    DC_CDC_TK_DATE_DAYS,  /* io.debezium.time.Date / connect Date: days since 1970 → date */
    DC_CDC_TK_TS_MS,      /* io.debezium.time.Timestamp / connect Timestamp: ms → timestamp_ntz */
    DC_CDC_TK_TS_US,      /* io.debezium.time.MicroTimestamp: µs → timestamp_ntz */
    DC_CDC_TK_TS_NS,      /* io.debezium.time.NanoTimestamp: ns → timestamp_ntz (µs exact) */
    DC_CDC_TK_ZONED_TS,   /* io.debezium.time.ZonedTimestamp: ISO-8601 with offset → timestamp */
    DC_CDC_TK_TIME_MS,    /* io.debezium.time.Time / connect Time: ms → long µs (or string) */
    DC_CDC_TK_TIME_US,    /* io.debezium.time.MicroTime: µs → long µs (or string) */
    DC_CDC_TK_TIME_NS,    /* io.debezium.time.NanoTime: ns → long µs (or string) */
    DC_CDC_TK_GEOMETRY,   /* io.debezium.data.geometry.Geometry/Point/Geography: a struct
                           * ({wkb, srid}, Point also {x, y}) → struct of its members */
    DC_CDC_TK_VDECIMAL,   /* io.debezium.data.VariableScaleDecimal: struct {scale: int32,
                           * value: bytes (base64 unscaled)}, each value its own scale →
                           * string of exact digits (no Delta decimal has a varying scale) */
} dc_cdc_tkind;

typedef struct dc_cdc_tcol dc_cdc_tcol;

/* The typed table's view of one source column, from a Debezium schema block.
 * Owned by its dc_cdc_tschema; strings are NUL-terminated. */
struct dc_cdc_tcol {
    const char *name;         /* column name ("field"), unescaped */
    uint32_t name_len;        /* bytes of name */
    bool optional;            /* the block's "optional": false makes a null bad input */
    dc_cdc_tkind kind;        /* how the JSON value is decoded */
    dc_type type;             /* Delta type: BOOLEAN..DECIMAL, DATE, TIMESTAMP(_NTZ), STRING,
                               * BINARY; ARRAY (of string) for ENUM_SET; STRUCT for GEOMETRY */
    int32_t precision, scale; /* DECIMAL kind: connect.decimal.precision (0 when the block
                               * gives none) and scale; type DECIMAL when 1 <= p <= 38 */
    const char *allowed;      /* ENUM/ENUM_SET: the "allowed" parameter, comma-separated
                               * values as sent; NULL when absent (any value goes) */
    uint32_t allowed_len;     /* bytes of allowed */
    const char *src_type;     /* the block's "type" ("int64", "bytes", "struct", ...) */
    const char *src_name;     /* the block's "name" (io.debezium.time.MicroTime...), or NULL */
    const char *src_json;     /* the field's schema block as compact JSON: kept in the Delta
                               * column's metadata so a table rebuilds this view exactly */
    uint32_t n_children;      /* GEOMETRY: struct members */
    const dc_cdc_tcol *children; /* GEOMETRY: n_children members in block order (primitive) */
    const char *ident;        /* the table column it writes, by physical name (column
                               * mapping, dc_cdc_tschema_mapped); NULL: `name` */
};

/* The table column a source column writes: its ident, else its name. */
static inline const char *dc_cdc_tcol_ident(const dc_cdc_tcol *c)
{
    return c->ident ? c->ident : c->name;
}

/* Settings that choose among Delta types for one Debezium encoding. */
typedef struct dc_cdc_typed_opts {
    bool datetime_as_timestamp; /* DATETIME (Timestamp/MicroTimestamp/NanoTimestamp) →
                                 * timestamp, read as UTC, instead of timestamp_ntz */
    bool time_as_string;        /* TIME → string "[-]HH:MM:SS.ffffff" (hours may exceed 23)
                                 * instead of long microseconds */
} dc_cdc_typed_opts;

/* Source columns in source order. Reference-counted (not thread-safe: one per
 * thread or guarded by the caller); _free drops one reference. */
typedef struct dc_cdc_tschema dc_cdc_tschema;

/* From a record's JsonConverter value schema block: the "after" (else
 * "before") struct of the envelope schema. DC_ENOTFOUND when the record has
 * no schema block; DC_EINVAL naming the column for a block we cannot map;
 * DC_EUNSUPPORTED for a type we refuse (array, map, nested structs other than
 * geometry). `o` NULL means all defaults. */
int dc_cdc_tschema_from_record(dc_cdc_tschema **out, const dc_cdc_typed_opts *o, const char *rec,
                               size_t n, dc_err *err);
/* The same from the top-level schema block's text alone (dc_cdc_event.schema). */
int dc_cdc_tschema_from_block(dc_cdc_tschema **out, const dc_cdc_typed_opts *o,
                              const char *block, size_t n, dc_err *err);
/* From an existing table's Delta schema (for records without schema blocks):
 * `struct_type` is {"type":"struct","fields":[...]}. Columns named in
 * `skip` (e.g. the __op/__ts_ms metadata columns; NULL-terminated, may be
 * NULL) are left out. A column written by this module carries its Debezium
 * field schema in metadata ("deltacdc.debezium") and maps back exactly;
 * others map from their Delta type where the JSON encoding is unambiguous
 * (boolean, integers, float, double, string, binary, decimal, date) and are
 * DC_EUNSUPPORTED naming the column otherwise (a timestamp could be ms or µs). */
int dc_cdc_tschema_from_delta(dc_cdc_tschema **out, const dc_json *struct_type,
                              const char *const *skip, dc_err *err);
/* A new reference to s (dropped with _free). */
dc_cdc_tschema *dc_cdc_tschema_dup(dc_cdc_tschema *s);
void dc_cdc_tschema_free(dc_cdc_tschema *s);
uint32_t dc_cdc_tschema_ncols(const dc_cdc_tschema *s);
/* Column i (< ncols), borrowed while s lives. */
const dc_cdc_tcol *dc_cdc_tschema_col(const dc_cdc_tschema *s, uint32_t i);
/* Index of the column named name[0..n), or -1. */
int32_t dc_cdc_tschema_find(const dc_cdc_tschema *s, const char *name, size_t n);
/* Same columns, kinds, types and parameters (the rows they decode are the same). */
bool dc_cdc_tcol_equal(const dc_cdc_tcol *a, const dc_cdc_tcol *b);
bool dc_cdc_tschema_equal(const dc_cdc_tschema *a, const dc_cdc_tschema *b);

/* Appends the Delta StructField JSON of one column:
 * {"name":..,"type":..,"nullable":true,"metadata":{"deltacdc.debezium":"<src_json>"}}
 * (always nullable: columns added later, dropped columns and soft deletes are null). */
int dc_cdc_tcol_delta_json(dc_buf *out, const dc_cdc_tcol *c, dc_err *err);
/* Appends {"type":"struct","fields":[...]} of all columns. */
int dc_cdc_tschema_delta_json(dc_buf *out, const dc_cdc_tschema *s, dc_err *err);

/* Parsed schema blocks by their bytes (JsonConverter repeats one block per
 * record of a table): a hit is a memcmp. Caller-owned, one per thread or
 * stream; holds one reference to each cached tschema. */
#define DC_CDC_TSCHEMA_CACHE_SLOTS 8
typedef struct dc_cdc_tschema_cache {
    dc_cdc_typed_opts opts;                         /* applied to every block parsed */
    uint8_t *block[DC_CDC_TSCHEMA_CACHE_SLOTS];     /* cached blocks' bytes; owned */
    size_t len[DC_CDC_TSCHEMA_CACHE_SLOTS];         /* bytes of each block */
    dc_cdc_tschema *schema[DC_CDC_TSCHEMA_CACHE_SLOTS]; /* each block's tschema; one ref */
    uint64_t id[DC_CDC_TSCHEMA_CACHE_SLOTS];        /* the schema_id last seen with each
                                                       block (0: none) */
    uint32_t next;                                  /* slot the next miss replaces */
    uint32_t last_hit;                              /* slot compared first */
    uint64_t hits;                                  /* lookups answered by memcmp */
    uint64_t misses;                                /* blocks parsed */
} dc_cdc_tschema_cache;

void dc_cdc_tschema_cache_init(dc_cdc_tschema_cache *c, const dc_cdc_typed_opts *o);
void dc_cdc_tschema_cache_dispose(dc_cdc_tschema_cache *c);
/* The tschema of the schema block block[0..n) (dc_cdc_event.schema): borrowed,
 * valid until the slot is replaced (DC_CDC_TSCHEMA_CACHE_SLOTS misses later)
 * or the cache is disposed; take a reference with _dup to keep it longer. */
int dc_cdc_tschema_cache_get(const dc_cdc_tschema **out, dc_cdc_tschema_cache *c,
                             const char *block, size_t n, dc_err *err);
/* The same for an event's block and its schema_id (0: unknown): a slot that
 * saw the id answers without comparing the bytes (a memcmp of the whole
 * block per record, ~1% of typed ingest). */
int dc_cdc_tschema_cache_get_id(const dc_cdc_tschema **out, dc_cdc_tschema_cache *c,
                                const char *block, size_t n, uint64_t id, dc_err *err);
/* A new schema_id, never handed out before in this process (the decoder's
 * ids come from it too): for events a caller builds itself around one
 * schema block (a bootstrap's), so the merge compares ids, not bytes. */
uint64_t dc_cdc_schema_id_new(void);

/* Converts a before/after image (a JSON object) into one JSON object in the
 * Parquet writer's conventions (src/parquet/parquet.h: what
 * dc_pq_writer_write_json_row takes for the Delta types of
 * dc_cdc_tschema_delta_json), columns in schema order, appended to `out`
 * (a single pass over the image, no DOM, nothing allocated but out's growth).
 * Columns missing from the image are null. Bad input is DC_EINVAL
 * "column 'x': <what>" (a value that does not fit its type: decimal digits
 * beyond the precision, bad base64, a date out of range 0001-01-01..
 * 9999-12-31, an enum value not in `allowed`, the wrong JSON kind, null in a
 * non-optional column, a member not in the schema); out is then unspecified. */
int dc_cdc_typed_row(dc_buf *out, const dc_cdc_tschema *s, const char *image, size_t len,
                     dc_err *err);
/* The same without the braces: "\"a\":1,\"b\":null" (nothing for zero
 * columns), for callers that add their own members around it. */
int dc_cdc_typed_members(dc_buf *out, const dc_cdc_tschema *s, const char *image, size_t len,
                         dc_err *err);
/* dc_cdc_typed_members of the image a change event carries (after for c, u,
 * r; before for d) as dc_cdc_decode returned it: faster, because that
 * image's JSON was already checked (the values' types still are). The
 * event's record must be unchanged since the decode. */
int dc_cdc_typed_event(dc_buf *out, const dc_cdc_tschema *s, const dc_cdc_event *ev, dc_err *err);
/* dc_cdc_typed_members of image bytes dc_cdc_decode returned (or an exact
 * copy of them, kept for later): as fast as dc_cdc_typed_event. Other bytes
 * must go through dc_cdc_typed_members: this one trusts the JSON. */
int dc_cdc_typed_members_decoded(dc_buf *out, const dc_cdc_tschema *s, const char *image,
                                 size_t len, dc_err *err);

/* Typed rows without JSON text in between (the merge's insert path): the
 * values of dc_cdc_typed_members in their stored form, decoded and checked
 * exactly as there (the same errors), one tagged value per column in schema
 * order (cdc_typed_int.h), appended to `out`. Flat schemas only
 * (dc_cdc_tschema_flat: no set or geometry columns; others DC_EINTERNAL).
 * _decoded takes the images dc_cdc_typed_members_decoded takes. */
int dc_cdc_typed_values(dc_buf *out, const dc_cdc_tschema *s, const char *image, size_t len,
                        dc_err *err);
int dc_cdc_typed_values_decoded(dc_buf *out, const dc_cdc_tschema *s, const char *image,
                                size_t len, dc_err *err);
/* No column of s is a set (array) or a struct: every column is one flat leaf. */
bool dc_cdc_tschema_flat(const dc_cdc_tschema *s);
/* Appends one row's values rec[0..len) (from dc_cdc_typed_values with s)
 * to Parquet columns: column i of s to cols[leaf_of[i]] of leaf
 * leaves[leaf_of[i]] (flat), stored exactly as the writer stores the same
 * value of the row's JSON text (dc_cdc_typed_members); leaf_of[i] < 0: the
 * value is left out. Fills filled[leaf] for each leaf written. A value the
 * leaf does not take is DC_EINVAL "column 'x': ..."; columns already
 * appended to then keep their values (the caller drops the rows). */
int dc_cdc_typed_values_put(dc_pq_column *cols, const dc_pq_leaf *leaves, const int32_t *leaf_of,
                            bool *filled, const dc_cdc_tschema *s, const uint8_t *rec,
                            size_t len, dc_err *err);

/* A key value as dc_cdc_decode extracted it from the image (a JSON integer
 * or string) → the table column's value, the form the key index holds:
 * dates as days, timestamps (ms, µs, ns, ISO-8601 zoned) as µs, decimals
 * (base64) as their unscaled int64, bytes (base64) as the bytes (into
 * scratch: k->s points there, valid until scratch moves). Other kinds are
 * left as they are. A value that is not its encoding is DC_EINVAL naming
 * the column. */
int dc_cdc_typed_key(dc_cdc_key *k, dc_buf *scratch, const dc_cdc_tcol *c, dc_err *err);

/* Source positions: the typed table's __source_pos column. */
/* Appends "FILE:POS:ROW", then ":snapshot" for snapshot reads, then
 * " gtid=GTID" when the event has one, e.g. "mysql-bin.000003:1234:0 gtid=0-1-42".
 * DC_ENOTFOUND when !ev->has_srcpos. */
int dc_cdc_srcpos_format(dc_buf *out, const dc_cdc_event *ev, dc_err *err);
/* Its inverse (for rebuilding the position index from the table): the
 * position of a string _format wrote; DC_EINVAL naming what is wrong. */
int dc_cdc_srcpos_parse(dc_cdc_srcpos *out, const char *s, size_t n, dc_err *err);
/* <0, 0, >0 as a is earlier than, the same as, or later than b. */
int dc_cdc_srcpos_cmp(const dc_cdc_srcpos *a, const dc_cdc_srcpos *b);

/* A copy of src whose column i writes the table column idents[i] (its
 * physical name under column mapping; NULL: its own name): the row keys
 * become the idents, the names (which match the image) stay. Holds a
 * reference on src. */
int dc_cdc_tschema_mapped(dc_cdc_tschema **out, dc_cdc_tschema *src, const char *const *idents,
                          dc_err *err);

/* ------------------------------------------------ schema-change records */

/* Debezium's schema-change topic (include.schema.changes=true), read for the
 * column renames and drops a typed table follows in place through Delta
 * column mapping (cdc_schemachange.c: how a rename is told from a drop plus
 * an add). Added columns are not noted: the data records carry them. */
typedef enum dc_cdc_colop_kind { DC_CDC_COL_RENAME = 1, DC_CDC_COL_DROP } dc_cdc_colop_kind;

/* One rename or drop; strings live as long as the log. */
typedef struct dc_cdc_colop {
    dc_cdc_srcpos pos;          /* the DDL's binlog position (payload.source) */
    dc_cdc_colop_kind kind;
    const char *table;          /* "db.table" of tableChanges[].id */
    const char *from;           /* the column's name before */
    const char *to;             /* RENAME: the new name; DROP: NULL */
    const char *ddl;            /* the statement's first 200 bytes (messages), or NULL */
    int64_t line;               /* where the record was (the caller's count) */
} dc_cdc_colop;

typedef struct dc_cdc_schemalog dc_cdc_schemalog;

int dc_cdc_schemalog_new(dc_cdc_schemalog **out, dc_err *err);
void dc_cdc_schemalog_free(dc_cdc_schemalog *l);
/* Decodes one record value of the topic (a tombstone, a record without
 * tableChanges: nothing) and appends its renames and drops in the record's
 * order; the log keeps each table's last column list to compare the next
 * ALTER with. Errors (DC_EINVAL) name `line` and what is wrong; nothing is
 * appended then. */
int dc_cdc_schemalog_add(dc_cdc_schemalog *l, const char *rec, size_t len, int64_t line,
                         dc_err *err);
/* Renames and drops so far (0 for NULL), and the i-th. */
size_t dc_cdc_schemalog_n(const dc_cdc_schemalog *l);
const dc_cdc_colop *dc_cdc_schemalog_op(const dc_cdc_schemalog *l, size_t i);
/* Records added so far (0 for NULL). */
size_t dc_cdc_schemalog_records(const dc_cdc_schemalog *l);
/* "db.table" from a data record's schema block (its name
 * "<prefix>.<db>.<table>.Envelope"), into out[cap]; "" when the block has no
 * such name. DC_EINVAL when the block is not JSON. */
int dc_cdc_envelope_table(char *out, size_t cap, const char *schema, size_t len, dc_err *err);

#endif /* DC_CDC_H */
