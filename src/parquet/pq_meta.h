/*
 * Parquet file metadata (parquet.thrift) as C structs, and their Thrift
 * compact-protocol decoders and encoders. Internal to src/parquet/.
 *
 * Decoded structs live in a dc_arena owned by the caller; byte strings
 * (statistics, names) are copied into that arena, so the input buffer may be
 * freed after decoding. An `is_set` flag (or a has_ field) marks optional
 * fields that were present.
 */
#ifndef DC_PQ_META_H
#define DC_PQ_META_H

#include "../common/dc_common.h"

/* ------------------------------------------------------------ enums */
typedef enum {
    PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_INT96 = 3,
    PQ_FLOAT = 4, PQ_DOUBLE = 5, PQ_BYTE_ARRAY = 6, PQ_FIXED_LEN_BYTE_ARRAY = 7,
} pq_type;

typedef enum {
    PQ_CT_NONE = -1, PQ_CT_UTF8 = 0, PQ_CT_MAP = 1, PQ_CT_MAP_KEY_VALUE = 2, PQ_CT_LIST = 3,
    PQ_CT_ENUM = 4, PQ_CT_DECIMAL = 5, PQ_CT_DATE = 6, PQ_CT_TIME_MILLIS = 7,
    PQ_CT_TIME_MICROS = 8, PQ_CT_TIMESTAMP_MILLIS = 9, PQ_CT_TIMESTAMP_MICROS = 10,
    PQ_CT_UINT_8 = 11, PQ_CT_UINT_16 = 12, PQ_CT_UINT_32 = 13, PQ_CT_UINT_64 = 14,
    PQ_CT_INT_8 = 15, PQ_CT_INT_16 = 16, PQ_CT_INT_32 = 17, PQ_CT_INT_64 = 18,
    PQ_CT_JSON = 19, PQ_CT_BSON = 20, PQ_CT_INTERVAL = 21,
} pq_converted_type;

typedef enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 } pq_repetition;

typedef enum {
    PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICTIONARY = 2, PQ_ENC_RLE = 3, PQ_ENC_BIT_PACKED = 4,
    PQ_ENC_DELTA_BINARY_PACKED = 5, PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_ENC_DELTA_BYTE_ARRAY = 7, PQ_ENC_RLE_DICTIONARY = 8, PQ_ENC_BYTE_STREAM_SPLIT = 9,
} pq_encoding;

typedef enum {
    PQ_CODEC_UNCOMPRESSED = 0, PQ_CODEC_SNAPPY = 1, PQ_CODEC_GZIP = 2, PQ_CODEC_LZO = 3,
    PQ_CODEC_BROTLI = 4, PQ_CODEC_LZ4 = 5, PQ_CODEC_ZSTD = 6, PQ_CODEC_LZ4_RAW = 7,
} pq_codec;

typedef enum {
    PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3,
} pq_page_type;

typedef enum { PQ_BO_UNORDERED = 0, PQ_BO_ASCENDING = 1, PQ_BO_DESCENDING = 2 } pq_boundary_order;

/* LogicalType union member ids (field ids in parquet.thrift). */
typedef enum {
    PQ_LT_NONE = 0, PQ_LT_STRING = 1, PQ_LT_MAP = 2, PQ_LT_LIST = 3, PQ_LT_ENUM = 4,
    PQ_LT_DECIMAL = 5, PQ_LT_DATE = 6, PQ_LT_TIME = 7, PQ_LT_TIMESTAMP = 8,
    PQ_LT_INTEGER = 10, PQ_LT_UNKNOWN = 11, PQ_LT_JSON = 12, PQ_LT_BSON = 13,
    PQ_LT_UUID = 14, PQ_LT_FLOAT16 = 15, PQ_LT_VARIANT = 16, PQ_LT_GEOMETRY = 17,
    PQ_LT_GEOGRAPHY = 18,
} pq_logical_kind;

typedef enum { PQ_UNIT_MILLIS = 1, PQ_UNIT_MICROS = 2, PQ_UNIT_NANOS = 3 } pq_time_unit;

/* ------------------------------------------------------------ structs */

typedef struct pq_bytes {
    const uint8_t *ptr; /* arena-owned copy (decode) or caller-owned (encode) */
    uint32_t len;
} pq_bytes;

typedef struct pq_logical_type {
    pq_logical_kind kind;   /* PQ_LT_NONE when the field is absent */
    int32_t scale, precision;  /* DECIMAL */
    bool is_adjusted_to_utc;   /* TIME, TIMESTAMP */
    pq_time_unit unit;         /* TIME, TIMESTAMP */
    int8_t bit_width;          /* INTEGER: 8, 16, 32, 64 */
    bool is_signed;            /* INTEGER */
} pq_logical_type;

typedef struct pq_schema_element {
    bool has_type;
    pq_type type;              /* leaves only */
    int32_t type_length;       /* FIXED_LEN_BYTE_ARRAY; 0 if absent */
    bool has_repetition;       /* absent only on the root */
    pq_repetition repetition;
    const char *name;          /* NUL-terminated, arena-owned */
    int32_t num_children;      /* 0 for leaves (absent) */
    pq_converted_type converted_type; /* PQ_CT_NONE if absent */
    bool has_scale, has_precision, has_field_id;
    int32_t scale, precision, field_id;
    pq_logical_type logical;   /* kind PQ_LT_NONE if absent */
} pq_schema_element;

typedef struct pq_statistics {
    bool is_set;               /* the Statistics struct was present */
    bool has_max, has_min;     /* deprecated fields 1, 2 (signed order, old writers) */
    pq_bytes max, min;
    bool has_null_count, has_distinct_count;
    int64_t null_count, distinct_count;
    bool has_max_value, has_min_value;  /* fields 5, 6: column-order aware */
    pq_bytes max_value, min_value;
    bool has_is_max_exact, has_is_min_exact;
    bool is_max_value_exact, is_min_value_exact;
} pq_statistics;

typedef struct pq_key_value {
    const char *key;           /* NUL-terminated */
    const char *value;         /* NULL when absent */
} pq_key_value;

typedef struct pq_page_encoding_stats {
    pq_page_type page_type;
    pq_encoding encoding;
    int32_t count;
} pq_page_encoding_stats;

typedef struct pq_column_meta {
    pq_type type;
    uint32_t n_encodings;
    pq_encoding *encodings;
    uint32_t n_path;
    const char **path_in_schema;
    pq_codec codec;
    int64_t num_values;
    int64_t total_uncompressed_size;
    int64_t total_compressed_size;
    uint32_t n_kv;
    pq_key_value *kv;
    int64_t data_page_offset;
    bool has_index_page_offset, has_dictionary_page_offset;
    int64_t index_page_offset, dictionary_page_offset;
    pq_statistics statistics;
    uint32_t n_encoding_stats;
    pq_page_encoding_stats *encoding_stats;
    bool has_bloom_filter_offset, has_bloom_filter_length;
    int64_t bloom_filter_offset;
    int32_t bloom_filter_length;
} pq_column_meta;

typedef struct pq_column_chunk {
    const char *file_path;     /* NULL when absent (always for us) */
    int64_t file_offset;
    bool has_meta_data;
    pq_column_meta meta_data;
    bool has_offset_index, has_column_index;
    int64_t offset_index_offset, column_index_offset;
    int32_t offset_index_length, column_index_length;
    bool is_encrypted;         /* crypto_metadata or encrypted_column_metadata present */
} pq_column_chunk;

typedef struct pq_sorting_column {
    int32_t column_idx;
    bool descending, nulls_first;
} pq_sorting_column;

typedef struct pq_row_group {
    uint32_t n_columns;
    pq_column_chunk *columns;
    int64_t total_byte_size;
    int64_t num_rows;
    uint32_t n_sorting_columns;
    pq_sorting_column *sorting_columns;
    bool has_file_offset, has_total_compressed_size, has_ordinal;
    int64_t file_offset, total_compressed_size;
    int16_t ordinal;
} pq_row_group;

typedef enum { PQ_ORDER_UNKNOWN = 0, PQ_ORDER_TYPE_DEFINED = 1, PQ_ORDER_IEEE754_TOTAL = 2 } pq_column_order;

typedef struct pq_file_meta {
    int32_t version;
    uint32_t n_schema;
    pq_schema_element *schema;   /* depth-first, root first */
    int64_t num_rows;
    uint32_t n_row_groups;
    pq_row_group *row_groups;
    uint32_t n_kv;
    pq_key_value *kv;
    const char *created_by;      /* NULL when absent */
    uint32_t n_column_orders;
    pq_column_order *column_orders;
    bool has_encryption_algorithm; /* encrypted file with plaintext footer */
} pq_file_meta;

typedef struct pq_data_page_header {
    int32_t num_values;
    pq_encoding encoding, definition_level_encoding, repetition_level_encoding;
    pq_statistics statistics;
} pq_data_page_header;

typedef struct pq_dictionary_page_header {
    int32_t num_values;
    pq_encoding encoding;
    bool has_is_sorted, is_sorted;
} pq_dictionary_page_header;

typedef struct pq_data_page_header_v2 {
    int32_t num_values, num_nulls, num_rows;
    pq_encoding encoding;
    int32_t definition_levels_byte_length, repetition_levels_byte_length;
    bool is_compressed;          /* defaults to true when absent */
    pq_statistics statistics;
} pq_data_page_header_v2;

typedef struct pq_page_header {
    pq_page_type type;
    int32_t uncompressed_page_size;
    int32_t compressed_page_size;
    bool has_crc;
    int32_t crc;
    bool has_data_page_header, has_dictionary_page_header, has_data_page_header_v2;
    pq_data_page_header data_page_header;
    pq_dictionary_page_header dictionary_page_header;
    pq_data_page_header_v2 data_page_header_v2;
} pq_page_header;

typedef struct pq_column_index {
    uint32_t n_pages;
    bool *null_pages;
    pq_bytes *min_values, *max_values;
    pq_boundary_order boundary_order;
    bool has_null_counts;
    int64_t *null_counts;        /* n_pages entries when has_null_counts */
} pq_column_index;

typedef struct pq_page_location {
    int64_t offset;
    int32_t compressed_page_size;
    int64_t first_row_index;
} pq_page_location;

typedef struct pq_offset_index {
    uint32_t n_pages;
    pq_page_location *page_locations;
} pq_offset_index;

/* ------------------------------------------------------------ codec */

/* Decoders: `p,n` is untrusted. On success *consumed (where given) is the
 * number of bytes the struct occupied. Errors are DC_ECORRUPT/DC_ELIMIT with a
 * message naming the struct, the field id and the byte offset. Unknown fields
 * are skipped (forward compatibility). Required fields that are missing are
 * an error. */
int pq_file_meta_decode(pq_file_meta *out, dc_arena *arena, const uint8_t *p, size_t n,
                        dc_err *err);
int pq_page_header_decode(pq_page_header *out, size_t *consumed, dc_arena *arena,
                          const uint8_t *p, size_t n, dc_err *err);
int pq_column_index_decode(pq_column_index *out, dc_arena *arena, const uint8_t *p, size_t n,
                           dc_err *err);
int pq_offset_index_decode(pq_offset_index *out, dc_arena *arena, const uint8_t *p, size_t n,
                           dc_err *err);

/* Encoders append the compact-protocol bytes to `out`. Optional fields are
 * written only when their has_/is_set flag is true (or pointer non-NULL). */
int pq_file_meta_encode(dc_buf *out, const pq_file_meta *m, dc_err *err);
int pq_page_header_encode(dc_buf *out, const pq_page_header *h, dc_err *err);
int pq_column_index_encode(dc_buf *out, const pq_column_index *ci, dc_err *err);
int pq_offset_index_encode(dc_buf *out, const pq_offset_index *oi, dc_err *err);

const char *pq_type_name(pq_type t);
const char *pq_encoding_name(pq_encoding e);
const char *pq_codec_name(pq_codec c);

#endif /* DC_PQ_META_H */
