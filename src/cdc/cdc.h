/*
 * cdc: decoding Debezium change events (issue 4).
 *
 * The hot path: one call per Kafka record value (or JSON line), no DOM. The
 * scanner walks the record once, skips the JsonConverter "schema" block
 * without building it (it only notes the types of the key columns when the
 * caller asks), and returns slices of the input for the before/after images.
 * Depends on common/ and json/ (for the slow path and escaping) only.
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

/* Parses "id" or "a,b" into a keyspec whose names point into `text` copies
 * held by `arena`. */
int dc_cdc_keyspec_parse(dc_cdc_keyspec *out, dc_arena *arena, const char *text, dc_err *err);

#endif /* DC_CDC_H */
