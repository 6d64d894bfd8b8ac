/*
 * parquet: deltacdc's Parquet reader and writer (the module's contract).
 *
 * Layers, bottom up:
 *   pq_meta.h    Thrift compact structs of the footer, page headers, indexes
 *   pq_enc.h     level/value encodings and compression codecs
 *   this header  schema (logical tree + leaves), column data, reader, writer,
 *                and the JSON value conventions of DESIGN.md
 *
 * JSON value conventions (DESIGN.md, `cat --format jsonl`), used for output by
 * the reader and accepted as input by the writer:
 *   boolean → true/false; byte/short/int/long and unsigned → numbers;
 *   float/double → shortest round-trip number, NaN/±Inf as "NaN",
 *   "Infinity", "-Infinity"; decimal → string "123.45" with exactly `scale`
 *   fraction digits; string → string; binary/fixed → base64 string;
 *   date → "YYYY-MM-DD"; timestamp → "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC,
 *   microseconds; nanoseconds, 9 digits, when the column's unit is NANOS);
 *   timestamp_ntz → the same without "Z"; INT96 → timestamp with microseconds
 *   (Spark's reading); time → "HH:MM:SS.ffffff"; uuid → "8-4-4-4-12" hex;
 *   float16 → number; struct → object in schema order; array → array;
 *   map → array of {"key":k,"value":v} (the writer also takes an object for
 *   string keys); null → null.
 */
#ifndef DC_PARQUET_H
#define DC_PARQUET_H

#include "../common/dc_common.h"
#include "../common/dc_limits.h"
#include "../json/dc_json.h"
#include "pq_meta.h"

/* ------------------------------------------------------------ schema */

/* Logical types: Delta's, then extra ones that foreign files carry. */
typedef enum dc_type {
    DC_TYPE_BOOLEAN, DC_TYPE_BYTE, DC_TYPE_SHORT, DC_TYPE_INT, DC_TYPE_LONG,
    DC_TYPE_FLOAT, DC_TYPE_DOUBLE, DC_TYPE_STRING, DC_TYPE_BINARY, DC_TYPE_DECIMAL,
    DC_TYPE_DATE, DC_TYPE_TIMESTAMP, DC_TYPE_TIMESTAMP_NTZ,
    DC_TYPE_STRUCT, DC_TYPE_ARRAY, DC_TYPE_MAP,
    /* read-only: from files other engines wrote */
    DC_TYPE_UINT8, DC_TYPE_UINT16, DC_TYPE_UINT32, DC_TYPE_UINT64,
    DC_TYPE_TIME,     /* time of day in `unit` */
    DC_TYPE_FLOAT16,  /* FLBA(2) IEEE half */
    DC_TYPE_UUID,     /* FLBA(16) */
    DC_TYPE_NULL,     /* UNKNOWN logical type: always null */
} dc_type;

typedef struct dc_pq_field dc_pq_field;

/* A node of the logical tree (what a user sees: structs, arrays, maps,
 * primitives). Legacy Parquet list/map layouts are normalised into this tree
 * when a file is read. */
struct dc_pq_field {
    const char *name;       /* struct member name; "element", "key", "value" inside
                               arrays and maps; "" for the root */
    dc_type type;
    bool nullable;          /* may be null (OPTIONAL) */
    int32_t precision, scale;  /* DECIMAL */
    pq_time_unit unit;      /* TIMESTAMP, TIMESTAMP_NTZ, TIME: unit in the file */
    bool int96;             /* TIMESTAMP stored as legacy INT96 */
    bool has_field_id;
    int32_t field_id;       /* Parquet field_id (Delta column mapping id) */
    uint32_t n_children;    /* STRUCT: members; ARRAY: 1 (element); MAP: 2 (key, value) */
    dc_pq_field *children;  /* arena-owned array of n_children */
    int32_t leaf;           /* primitives: index into dc_pq_schema.leaves; else -1 */
    int16_t def_level;      /* definition level at which this field is non-null */
    int16_t rep_level;      /* repetition level: repeated ancestors, counting an
                               ARRAY/MAP's own repeated group for its children */
    uint32_t elem;          /* index into dc_pq_schema.elements of the node that
                               carries this field (the outer group for lists/maps) */
};

/* One primitive column as stored (a Parquet leaf). */
typedef struct dc_pq_leaf {
    uint32_t elem;          /* index into dc_pq_schema.elements */
    pq_type phys;           /* physical type */
    int32_t type_length;    /* FLBA width, else 0 */
    int16_t max_def;        /* definition level of a present value */
    int16_t max_rep;        /* 0 for flat columns */
    const dc_pq_field *field;  /* the logical primitive stored here */
    uint32_t n_path;
    const char **path;      /* path_in_schema parts (arena-owned) */
    const char *dotted;     /* "a.b.list.element", for messages */
    bool unsigned_order;    /* stats compare unsigned (byte arrays, uintN, decimals on FLBA compare signed) */
} dc_pq_leaf;

typedef struct dc_pq_schema {
    dc_arena arena;         /* owns every pointer below */
    uint32_t n_elements;
    pq_schema_element *elements;  /* Parquet's flat depth-first list, root first */
    dc_pq_field root;       /* STRUCT of the top-level columns */
    uint32_t n_leaves;
    dc_pq_leaf *leaves;     /* in file column order */
} dc_pq_schema;

/* Reader side: from a file's schema elements (legacy layouts accepted:
 * 2-level lists, repeated fields without LIST, MAP_KEY_VALUE). */
int dc_pq_schema_from_elements(dc_pq_schema **out, const pq_schema_element *elems, uint32_t n,
                               dc_err *err);
/* Writer side: from Delta's schema JSON ({"type":"struct","fields":[...]}),
 * with Spark's physical mapping (decimal p<=9 INT32, p<=18 INT64, else FLBA
 * of the minimal width; timestamp INT64 micros UTC-adjusted, ntz not; byte
 * and short INT32 with INT(8/16) annotation; 3-level LIST, MAP with
 * key_value). Column mapping: a field's metadata "delta.columnMapping.id" is
 * written as field_id and "delta.columnMapping.physicalName" as the name. */
int dc_pq_schema_from_delta(dc_pq_schema **out, const dc_json *schema, dc_err *err);
/* Delta schema JSON of the logical tree (for `parquet schema`). */
int dc_pq_schema_to_delta_json(dc_buf *out, const dc_pq_schema *s, dc_err *err);
void dc_pq_schema_free(dc_pq_schema *s);
/* Width in bytes of one value in dc_pq_column.values: 1 (BOOLEAN), 4, 8, 12
 * (INT96), type_length (FLBA), or 0 for BYTE_ARRAY. */
size_t dc_pq_phys_width(pq_type t, int32_t type_length);

/* ------------------------------------------------------- column data */

/* The levels and values of one leaf for a run of rows (a row group when
 * reading, a batch when writing). Caller-owned: _init/_dispose. */
typedef struct dc_pq_column {
    size_t n_levels;        /* level entries (== rows when max_rep == 0) */
    int16_t *def;           /* n_levels entries; NULL when max_def == 0 */
    int16_t *rep;           /* n_levels entries; NULL when max_rep == 0 */
    size_t n_values;        /* non-null values: entries with def == max_def */
    dc_buf values;          /* fixed width: n_values * width bytes (BOOLEAN one
                               byte 0/1); BYTE_ARRAY: concatenated bytes */
    uint32_t *offsets;      /* BYTE_ARRAY: n_values + 1 offsets into values */
    size_t levels_cap;      /* allocated entries of def/rep */
    size_t offsets_cap;     /* allocated entries of offsets */
} dc_pq_column;

void dc_pq_column_init(dc_pq_column *c);
void dc_pq_column_dispose(dc_pq_column *c);
void dc_pq_column_reset(dc_pq_column *c);   /* keeps allocations */
/* Grows def (when want_def) and rep (when want_rep) to hold n_levels + extra
 * entries; amortised doubling, bounded by DC_PQ_MAX_CHUNK_BYTES. */
int dc_pq_column_reserve_levels(dc_pq_column *c, size_t extra, bool want_def, bool want_rep,
                                dc_err *err);
/* Grows offsets to hold n_values + extra + 1 entries (offsets[0] = 0 when new). */
int dc_pq_column_reserve_offsets(dc_pq_column *c, size_t extra, dc_err *err);

/* Appends one row's value of a flat leaf (max_rep 0) to c: v a scalar in
 * the JSON conventions above, converted exactly as the writer converts a
 * JSON row's member (dc_pq_writer_write_json_text; a string must be UTF-8,
 * as a parsed member's is), or NULL for null. For
 * callers that build whole columns (dc_pq_writer_write_columns) from values
 * they have as text. On an error c is as before. */
int dc_pq_column_put_json(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v,
                          dc_err *err);
/* The same for values a caller already holds in their stored form, without
 * text in between (pq_col_put.c), each stored as its JSON form would be:
 * _i64 an integer of a byte/short/integer/long leaf (range-checked), a
 * date's days or a timestamp's (or timestamp_ntz's) microseconds; _bool a
 * boolean; _bytes a string's UTF-8 (checked) or a binary's bytes. Any
 * other leaf is DC_EINVAL naming it. On an error c is as before. */
int dc_pq_column_put_i64(dc_pq_column *c, const dc_pq_leaf *leaf, int64_t v, dc_err *err);
int dc_pq_column_put_bool(dc_pq_column *c, const dc_pq_leaf *leaf, bool v, dc_err *err);
int dc_pq_column_put_bytes(dc_pq_column *c, const dc_pq_leaf *leaf, const void *p, size_t n,
                           dc_err *err);
/* A decimal leaf's value from its unscaled integer (at the leaf's scale),
 * stored as its "123.45" text would be; more digits than the leaf's
 * precision is DC_EINVAL. */
int dc_pq_column_put_unscaled(dc_pq_column *c, const dc_pq_leaf *leaf, int64_t unscaled,
                              dc_err *err);

/* ------------------------------------------------------------ reader */

typedef struct dc_pq_reader dc_pq_reader;

/* Opens a file (mapped read-only) or a caller-owned buffer that must outlive
 * the reader; decodes and validates the footer and the schema. Encrypted
 * files (PARE magic or an encryption algorithm) fail with DC_EUNSUPPORTED. */
int dc_pq_reader_open_file(dc_pq_reader **out, const char *path, dc_err *err);
int dc_pq_reader_open_mem(dc_pq_reader **out, const uint8_t *data, size_t len, const char *name,
                          dc_err *err);
/* Fills dst with the n bytes at offset `off` of the file named `name`. */
typedef int (*dc_pq_fetch_fn)(void *ctx, const char *name, uint64_t off, size_t n, uint8_t *dst,
                              dc_err *err);
/* A reader over a file not yet in memory (an object store): `data` holds
 * `len` bytes, the whole file's size, of which the caller filled only the
 * first 4 bytes and the last `tail` (footer, its length and magic; it may
 * be more). Each column chunk is fetched into place through `fetch` before
 * its first read, so a reader of some columns reads only theirs. data and
 * fetch_ctx must outlive the reader. */
int dc_pq_reader_open_sparse(dc_pq_reader **out, uint8_t *data, size_t len, size_t tail,
                             const char *name, dc_pq_fetch_fn fetch, void *fetch_ctx,
                             dc_err *err);
void dc_pq_reader_free(dc_pq_reader *r);
/* Borrowed, valid until dc_pq_reader_free. */
const pq_file_meta *dc_pq_reader_meta(const dc_pq_reader *r);
const dc_pq_schema *dc_pq_reader_schema(const dc_pq_reader *r);

/* Reads leaf `leaf` of row group `rg` into `out` (reset first). Errors name
 * the file, row group, column path, page and byte offset. */
int dc_pq_reader_read_column(dc_pq_column *out, dc_pq_reader *r, uint32_t rg, uint32_t leaf,
                             dc_err *err);

/* Appends the rows of row group `rg` to `out` as JSON lines (one object per
 * row, '\n' after each) in the conventions above. `project` selects top-level
 * fields by index into schema->root.children (NULL: all); only the leaves of
 * selected fields are read. */
int dc_pq_reader_rows_json(dc_buf *out, dc_pq_reader *r, uint32_t rg, const bool *project,
                           dc_err *err);

/* Row-group statistics of one leaf, decoded with the right sort order
 * (deprecated min/max ignored where their order is ambiguous; NaN ignored). */
typedef struct dc_pq_stats {
    bool has_null_count;
    int64_t null_count;
    bool has_min_max;        /* min and max below are valid */
    pq_bytes min, max;       /* plain-encoded values (borrowed from the footer) */
} dc_pq_stats;
int dc_pq_reader_stats(dc_pq_stats *out, const dc_pq_reader *r, uint32_t rg, uint32_t leaf,
                       dc_err *err);
/* Row-group skipping: false only when the row group's statistics prove that
 * no value of an INT32/INT64 leaf lies in [lo, hi]. */
bool dc_pq_reader_rg_may_contain_i64(const dc_pq_reader *r, uint32_t rg, uint32_t leaf,
                                     int64_t lo, int64_t hi);
/* Same for BYTE_ARRAY/FLBA leaves, byte-wise unsigned comparison. */
bool dc_pq_reader_rg_may_contain_bytes(const dc_pq_reader *r, uint32_t rg, uint32_t leaf,
                                       const uint8_t *lo, size_t lo_len, const uint8_t *hi,
                                       size_t hi_len);

/* ------------------------------------------------------------ writer */

/* Where the bytes go. A small vtable so storage backends can plug in. */
typedef struct dc_pq_sink {
    int version;            /* 1 */
    void *ctx;              /* the backend's state */
    /* Appends n bytes; returns 0 or DC_E* with err set. */
    int (*write)(void *ctx, const void *p, size_t n, dc_err *err);
} dc_pq_sink;

typedef struct dc_pq_writer_opts {
    pq_codec codec;           /* default PQ_CODEC_ZSTD */
    int level;                /* codec level, -1 for its default */
    size_t row_group_bytes;   /* flush a row group past this many buffered bytes */
    size_t page_bytes;        /* target uncompressed page size */
    size_t dict_bytes;        /* dictionary larger than this falls back to PLAIN */
    bool dictionary;          /* try dictionary encoding first (default true) */
    bool page_index;          /* write ColumnIndex and OffsetIndex (default true) */
    uint32_t n_kv;
    const pq_key_value *kv;   /* extra footer key-value metadata (borrowed) */
} dc_pq_writer_opts;

void dc_pq_writer_opts_init(dc_pq_writer_opts *o);

typedef struct dc_pq_writer dc_pq_writer;

/* `schema` and `sink` are borrowed and must outlive the writer. */
int dc_pq_writer_new(dc_pq_writer **out, const dc_pq_schema *schema,
                     const dc_pq_writer_opts *opts, dc_pq_sink *sink, dc_err *err);
/* One row as a JSON object in the conventions above (missing members are
 * null; unknown members are an error naming them; a null in a non-nullable
 * field is an error naming its path). */
int dc_pq_writer_write_json_row(dc_pq_writer *w, const dc_json *row, dc_err *err);
/* The same row as JSON text (text[0..n), one object), shredded straight
 * into the column buffers without building a DOM: for hot paths that
 * produce rows as text (typed tables). Rows the direct pass does not take
 * (string escapes, maps, numbers over 63 bytes, any error) go through
 * dc_json_parse and dc_pq_writer_write_json_row, so the values written and
 * the errors are exactly those of the JSON-row path. */
int dc_pq_writer_write_json_text(dc_pq_writer *w, const char *text, size_t n, dc_err *err);
/* Columnar input: one dc_pq_column per leaf, all covering the same n_rows. */
int dc_pq_writer_write_columns(dc_pq_writer *w, const dc_pq_column *cols, size_t n_rows,
                               dc_err *err);
/* Flushes the last row group (never an empty one) and writes the footer. */
int dc_pq_writer_close(dc_pq_writer *w, dc_err *err);
/* After close: the footer as written (borrowed until free), and file size. */
const pq_file_meta *dc_pq_writer_meta(const dc_pq_writer *w);
uint64_t dc_pq_writer_bytes_written(const dc_pq_writer *w);
void dc_pq_writer_free(dc_pq_writer *w);

/* Sinks for local files (fd owned by the sink, fsync on close) and memory. */
int dc_pq_sink_file_open(dc_pq_sink *out, const char *path, dc_err *err);
int dc_pq_sink_file_close(dc_pq_sink *s, bool fsync_it, dc_err *err);
void dc_pq_sink_mem_init(dc_pq_sink *out, dc_buf *buf);

#define DC_PQ_CREATED_BY "deltacdc version 0.1.0 (build deltacdc)"

#endif /* DC_PARQUET_H */
