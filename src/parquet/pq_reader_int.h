/*
 * Reader internals shared by pq_reader.c (footer, pages, statistics),
 * pq_assemble.c (record assembly into JSON rows) and pq_json_out.c (one
 * value in the JSON conventions of parquet.h). Internal to src/parquet/.
 */
#ifndef DC_PQ_READER_INT_H
#define DC_PQ_READER_INT_H

#include "parquet.h"
#include "pq_enc.h"

/* An open file. Not thread-safe: the scratch buffers are reused by every
 * read_column / rows_json call. */
struct dc_pq_reader {
    const uint8_t *data;    /* the whole file: mapped, or the caller's buffer */
    size_t len;             /* bytes of data */
    void *map;              /* mmap'd region to unmap (open_file), else NULL */
    char *name;             /* file name for messages; owned */
    size_t data_end;        /* offset of the footer: column chunks must end before it */
    dc_arena meta_arena;    /* owns everything `meta` points to */
    pq_file_meta meta;      /* the decoded footer */
    dc_pq_schema *schema;   /* owned; built from meta.schema */
    dc_arena page_arena;    /* the page header being decoded; reset per page */
    pq_codec_ctx *codec;    /* codec state reused across pages; owned */
    dc_buf page;            /* decompressed page body (scratch) */
    dc_buf scratch;         /* dictionary indices, RLE booleans (scratch) */
    dc_pq_column dict;      /* dictionary of the chunk being read */
    dc_pq_column tmp;       /* FLBA values decoded as byte arrays (scratch) */
    uint32_t n_cols;        /* entries of cols (0 until rows_json needs them) */
    dc_pq_column *cols;     /* one per leaf, reused by rows_json; owned */
    dc_pq_fetch_fn fetch;   /* sparse readers: fills a chunk before its first read, else NULL */
    void *fetch_ctx;        /* fetch's context (borrowed) */
    uint8_t *fetched;       /* sparse: per (row group, leaf), 1 once fetched (owned) */
};

/* Appends one non-null value of `leaf` (value index vi of `col`) in the JSON
 * conventions of parquet.h. Errors (invalid UTF-8 in a string, a decimal or
 * INT96 of the wrong width) say what; the caller adds column and row. */
int pq_json_put_value(dc_buf *out, const dc_pq_leaf *leaf, const dc_pq_column *col, size_t vi,
                      dc_err *err);

/* Formatting helpers, exposed for unit tests. */
/* Big-endian two's complement integer of n bytes (any n >= 1) with `scale`
 * fraction digits, as a JSON string "-123.45". */
int pq_json_put_decimal_be(dc_buf *out, const uint8_t *p, size_t n, int32_t scale, dc_err *err);
/* "YYYY-MM-DD" of days since 1970-01-01 (proleptic Gregorian). */
int pq_json_put_date(dc_buf *out, int64_t days, dc_err *err);
/* Timestamp of `v` units since the epoch: "YYYY-MM-DDTHH:MM:SS.ffffff[fff]" + "Z" when utc. */
int pq_json_put_timestamp(dc_buf *out, int64_t v, pq_time_unit unit, bool utc, dc_err *err);
/* INT96 (nanoseconds of day, Julian day) as a UTC timestamp in microseconds. */
int pq_json_put_int96(dc_buf *out, const uint8_t p[12], dc_err *err);
/* IEEE half precision to float. */
float pq_half_to_float(uint16_t h);
/* True when p[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool pq_utf8_valid(const uint8_t *p, size_t n);

#endif /* DC_PQ_READER_INT_H */
