/*
 * The Parquet writer's internals, shared by pq_writer.c (object, row groups,
 * footer, sinks), pq_wr_chunk.c (column chunk encoding: dictionary, pages,
 * statistics, page index), pq_shred.c (JSON rows → levels and values) and
 * pq_json_in.c (JSON values → plain bytes). Only these files include it.
 */
#ifndef DC_PQ_WR_INT_H
#define DC_PQ_WR_INT_H

#include "parquet.h"
#include "pq_enc.h"

/* Rows per data page at most, whatever their size (parquet-java's
 * page.row.count.limit and Arrow's max_rows_per_page): keeps pages small
 * enough for the page index to skip well. */
#define PQ_WR_PAGE_MAX_ROWS 20000
/* Write coalescing: bytes gathered before one call to the sink. */
#define PQ_WR_OUT_BYTES (256u * 1024)
/* Rows of a columnar batch copied before the row-group size is checked again. */
#define PQ_WR_BATCH_SLICE 65536

/* Writer states: a sink failure leaves the file unusable. */
enum { PQ_WR_OPEN = 0, PQ_WR_CLOSED = 1, PQ_WR_FAILED = 2 };

/* One slot of the dictionary's open-addressing table. */
typedef struct pq_wr_slot {
    uint32_t idx1;          /* dictionary index + 1; 0 = empty */
    uint32_t hash;          /* low 32 bits of the value's hash */
} pq_wr_slot;

/* What the page index needs of one data page. */
typedef struct pq_wr_page {
    int64_t offset;         /* file offset of the page header */
    int32_t size;           /* header + compressed body */
    int64_t first_row;      /* row index in the row group of its first row */
    int64_t null_count;     /* level entries below max_def */
    bool null_page;         /* no non-null value */
    bool has_minmax;        /* min/max below are set (false: only NaNs) */
    uint32_t min_off, min_len, max_off, max_len;  /* in pq_wr_enc.page_stats */
} pq_wr_page;

/* Min/max of a run of values, pointing into the column's values or the
 * dictionary (valid while one chunk is encoded). */
typedef struct pq_wr_minmax {
    bool has;               /* at least one value that orders (not NaN) */
    const uint8_t *min, *max;
    uint32_t min_len, max_len;
} pq_wr_minmax;

/* Scratch reused by every column chunk of the file (no per-chunk mallocs
 * once warmed up). */
typedef struct pq_wr_enc {
    uint32_t *idx;          /* dictionary index of every non-null value */
    size_t idx_cap;         /* allocated entries of idx */
    pq_wr_slot *slots;      /* hash table, n_slots entries (power of two) */
    size_t n_slots;
    dc_buf dict;            /* distinct values: fixed width packed, or BYTE_ARRAY bytes */
    uint32_t *dict_off;     /* BYTE_ARRAY: n_dict + 1 offsets into dict */
    size_t dict_off_cap;    /* allocated entries of dict_off */
    size_t n_dict;          /* distinct values */
    size_t dict_plain;      /* bytes of the dictionary page, PLAIN encoded */
    uint32_t *stamp;        /* per dictionary entry: last page that used it + 1 */
    size_t stamp_cap;       /* allocated entries of stamp */
    dc_buf body;            /* uncompressed page: levels then values */
    dc_buf lvl;             /* one level run, before its length prefix */
    dc_buf comp;            /* compressed page body */
    dc_buf hdr;             /* encoded page header */
    pq_wr_page *pages;      /* data pages of the current chunk */
    size_t n_pages, pages_cap;
    dc_buf page_stats;      /* page min/max bytes (truncated) for the column index */
    /* pages_cap entries each, to build the ColumnIndex / OffsetIndex */
    bool *ci_null;          /* null_pages */
    pq_bytes *ci_min, *ci_max;  /* min_values / max_values */
    int64_t *ci_nulls;      /* null_counts */
    pq_page_location *oi_loc;   /* page_locations */
    pq_codec_ctx *cctx;     /* codec state reused by every page (made on first use) */
} pq_wr_enc;

/* Column lengths before the row being shredded, to roll a failed row back. */
typedef struct pq_wr_mark {
    size_t n_levels;        /* dc_pq_column.n_levels */
    size_t n_values;        /* dc_pq_column.n_values */
    size_t values_len;      /* dc_pq_column.values.len */
} pq_wr_mark;

/* One step of the JSON path being shredded, for error messages. */
typedef struct pq_wr_frame {
    const char *name;       /* member name, or NULL for an array/map index */
    int64_t index;          /* element/entry index when name is NULL */
    const char *key;        /* map key (object form), else NULL */
    uint32_t key_len;       /* bytes of key */
} pq_wr_frame;

struct dc_pq_writer {
    const dc_pq_schema *schema;   /* borrowed */
    dc_pq_writer_opts opts;       /* copied; opts.kv borrowed */
    dc_pq_sink *sink;             /* borrowed */
    int state;                    /* PQ_WR_OPEN / CLOSED / FAILED */
    uint64_t offset;              /* file offset of the next byte (sunk + pending in out) */
    dc_buf out;                   /* bytes not yet handed to the sink */
    dc_pq_column *cols;           /* n_leaves buffers of the row group being built */
    size_t rg_rows;               /* rows buffered in cols */
    size_t rg_bytes;              /* approximate bytes buffered in cols */
    int64_t num_rows;             /* rows in row groups already written */
    dc_arena meta;                /* row groups' column chunks, stats, encodings */
    pq_row_group *rgs;            /* written row groups (dc_realloc'ed) */
    uint32_t n_rgs, rgs_cap;
    dc_buf ci, oi;                /* ColumnIndex / OffsetIndex bytes of all chunks,
                                     written at close; chunks hold offsets into them */
    pq_wr_enc enc;                /* chunk encoding scratch */
    pq_file_meta fmeta;           /* the footer, complete after close */
    /* shredding */
    pq_wr_mark *marks;            /* n_leaves lengths before the current row */
    dc_buf seen;                  /* stack of per-struct "member seen" flags */
    pq_wr_frame path[DC_PQ_MAX_SCHEMA_DEPTH * 2 + 2];  /* JSON path being shredded */
    int depth;                    /* frames in path */
    dc_buf unesc;                 /* a string value unescaped (pq_text_in.c) */
    uint32_t *root_name_len;      /* per top-level field: its name's length when every
                                     byte is plain JSON (dc_json_plain_byte), so that the
                                     text `"name"` is matched by comparing bytes
                                     (pq_text_in.c); else UINT32_MAX */
};

/* ---- pq_writer.c */
/* Appends bytes to the file (through the coalescing buffer). */
int pq_wr_emit(dc_pq_writer *w, const void *p, size_t n, dc_err *err);
/* Room for `extra` more level entries in c (def/rep as the leaf needs them). */
int pq_wr_col_reserve_levels(dc_pq_column *c, const dc_pq_leaf *leaf, size_t extra,
                             dc_err *err);
/* 0 while the writer accepts rows, else an error saying why not. */
int pq_wr_check_open(const dc_pq_writer *w, dc_err *err);
/* Appends one byte-array value (offsets kept in step). */
int pq_wr_col_push_ba(dc_pq_column *c, const uint8_t *p, size_t n, dc_err *err);
/* Records the bytes c->values[start..len) (appended directly) as one more
 * byte-array value. */
int pq_wr_col_close_ba(dc_pq_column *c, size_t start, dc_err *err);
/* Records every column's length (pq_wr_mark) / restores them after a failure. */
void pq_wr_mark_all(dc_pq_writer *w);
void pq_wr_rollback(dc_pq_writer *w, size_t rg_bytes);
/* Flushes the buffered rows as a row group when they exceed row_group_bytes. */
int pq_wr_maybe_flush(dc_pq_writer *w, dc_err *err);

/* ---- pq_wr_chunk.c */
void pq_wr_enc_init(pq_wr_enc *e);
void pq_wr_enc_dispose(pq_wr_enc *e);
/* Encodes and emits the column chunk of leaf `li` from w->cols[li] and fills
 * `cc` (metadata in w->meta, page index bytes appended to w->ci / w->oi with
 * their offsets relative to those buffers). */
int pq_wr_chunk_write(dc_pq_writer *w, uint32_t li, pq_column_chunk *cc, dc_err *err);

/* ---- pq_wr_stats.c */
/* Compares two plain-encoded values of `leaf` in its column order. */
int pq_wr_cmp(const dc_pq_leaf *leaf, const uint8_t *a, size_t alen, const uint8_t *b,
              size_t blen);
/* Min/max of values [v0, v1) of column c (NaN skipped). */
void pq_wr_minmax_range(pq_wr_minmax *mm, const dc_pq_leaf *leaf, const dc_pq_column *c,
                        size_t v0, size_t v1);
/* Folds one value (or another run's min/max) into mm. */
void pq_wr_minmax_add(pq_wr_minmax *mm, const dc_pq_leaf *leaf, const uint8_t *min,
                      uint32_t min_len, const uint8_t *max, uint32_t max_len);
/* Whether the leaf's type has an order we write statistics for. */
bool pq_wr_has_order(const dc_pq_leaf *leaf);
/* Truncated min (a prefix) and max (prefix incremented) of at most
 * DC_PQ_STATS_TRUNCATE bytes (plus a UTF-8 sequence). `*exact` false when
 * changed; max returns false when no upper bound that short exists. The
 * output buffers need DC_PQ_STATS_TRUNCATE + 4 bytes. */
void pq_wr_trunc_min(uint8_t *out, uint32_t *out_len, bool *exact, const uint8_t *p,
                     uint32_t n, bool utf8);
bool pq_wr_trunc_max(uint8_t *out, uint32_t *out_len, bool *exact, const uint8_t *p,
                     uint32_t n, bool utf8);

/* ---- pq_json_in.c */
/* Converts a non-null JSON value to leaf's plain value and appends it to c.
 * On error nothing is appended and the message says what was expected. */
int pq_wr_json_value(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v, dc_err *err);

/* ---- pq_shred.c */
int pq_wr_shred_row(dc_pq_writer *w, const dc_json *row, dc_err *err);
/* One level entry (def, rep) for leaf, no value. */
int pq_wr_push_levels(dc_pq_writer *w, const dc_pq_leaf *leaf, int16_t def, int16_t rep,
                      dc_err *err);
/* Every leaf below f gets (def, rep) and no value. */
int pq_wr_push_nulls(dc_pq_writer *w, const dc_pq_field *f, int16_t def, int16_t rep,
                     dc_err *err);
/* One non-null primitive value v of field f (a leaf): value and levels. */
int pq_wr_shred_leaf(dc_pq_writer *w, const dc_pq_field *f, const dc_json *v, int16_t rep,
                     dc_err *err);
/* Level bytes the rows since pq_wr_mark_all added to the buffers (row-group size). */
size_t pq_wr_level_bytes(const dc_pq_writer *w);

#endif /* DC_PQ_WR_INT_H */
