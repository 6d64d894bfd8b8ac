/* snap: what only src/snap/ sees. */
#ifndef DC_SNAP_INT_H
#define DC_SNAP_INT_H

#include "snap.h"

#include <stdatomic.h>
#include <stdio.h>

#include "../cdc/cdc.h"
#include "../delta/delta.h"
#include "../json/dc_json.h"

/* Key columns of a snapshot (as many as a typed table may have). */
#define SN_MAX_KEYS DC_CDC_MAX_KEYS
/* One row's JSON text or key, in runs and spill files: a row is one object
 * of a scan, bounded by the JSON document limit. */
#define SN_MAX_ROW_BYTES DC_JSON_MAX_DOC_BYTES
#define SN_MAX_KEY_BYTES ((size_t)1 << 20)

/* Rank classes, oldest first: a history row without a position (the seed's
 * ts_ms 0), a row ranked by source position, a row ranked by (ts_ms,
 * offset) — typed tables rank positioned events below unpositioned ones
 * (merge_typed.c), and so does the snapshot. */
enum { SN_CLS_HISTORY = 0, SN_CLS_POS = 1, SN_CLS_TS = 2 };

/* A row in a run (memory and spill files): the header, then klen key bytes,
 * then rlen bytes of row JSON. */
typedef struct sn_hdr {
    uint32_t klen;          /* encoded key bytes (sn_key_*) */
    uint32_t rlen;          /* row JSON bytes */
    int64_t rank[2];        /* within cls: source position pair, or (ts_ms, offset) */
    uint8_t cls;            /* SN_CLS_* */
    uint8_t history;        /* 1: a history row (wins a tie with a CDC row) */
    uint8_t del;            /* the row is a delete (__op d, or __deleted true) */
    uint8_t direct;         /* a streamed history row: rlen 0, its values are the
                               stream's reader's row (never in a run) */
    uint8_t pad[4];         /* zero */
} sn_hdr;
_Static_assert(sizeof(sn_hdr) == 32, "sn_hdr is written to spill files as it is");

/* Order of two encoded keys: bytes (unsigned), then length. Inline and 8
 * bytes a step: the merge compares keys some five times a row, mostly of 9
 * bytes (an integer key), where a call to memcmp cost more than the work. */
static inline int sn_key_cmp(const uint8_t *a, uint32_t na, const uint8_t *b, uint32_t nb)
{
    const uint32_t n = na < nb ? na : nb;
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint64_t x = dc_load_le64(a + i), y = dc_load_le64(b + i);
        if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
    }
    for (; i < n; i++)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return na == nb ? 0 : na < nb ? -1 : 1;
}

/* Order of two records: key ascending, then newest first. */
int sn_rec_cmp(const sn_hdr *a, const uint8_t *ka, const sn_hdr *b, const uint8_t *kb);

/* ------------------------------------------------------------ sorter */

/* Records in key order made on demand, each key at most once: the history
 * read as it lies when its files are in key order (snap_hist.c), merged
 * with the runs without being held or sorted. */
typedef struct sn_stream {
    /* The next record (*has false: none left); key and row valid until the
     * next call. */
    int (*next)(bool *has, sn_hdr *h, const uint8_t **key, const uint8_t **row, void *ctx,
                dc_err *err);
    void *ctx;              /* the stream's state */
} sn_stream;

/* A source of the final merge: the in-memory run, a spilled one, or a stream. */
typedef struct sn_src {
    FILE *f;                /* spilled run (unlinked temp file), or NULL */
    const sn_stream *stream; /* a stream, or NULL */
    const struct sn_sorter *mem; /* memory: the sorter whose run in hand this is */
    size_t next;            /* memory: index of the next record */
    sn_hdr h;               /* current record's header */
    const uint8_t *key;     /* its key (into buf, or into the memory run) */
    const uint8_t *row;     /* its row */
    dc_buf buf;             /* file: the current record's key and row */
} sn_src;

/* A run holds at most this many bytes of records (their offsets are 32-bit
 * counts of 8 bytes); a larger budget spills at it. */
#define SN_MAX_RUN_BYTES ((int64_t)1 << 34)

/* A record of the run in hand, as the sort orders it: 8 bytes, what an
 * offset alone took, so that the budget holds as many records as before. */
typedef struct sn_ent {
    uint32_t pfx;           /* sort_run: the 4 key bytes after those every key of the run
                               shares, big-endian, zero-padded (orders like the keys, ties
                               left to sn_rec_cmp) */
    uint32_t off8;          /* the record's offset in data, in units of 8 bytes */
} sn_ent;

typedef struct sn_sorter {
    int64_t budget;         /* bytes of records + entries held before a spill */
    const char *tmp_dir;    /* spill directory */
    dc_buf data;            /* the run in hand: records, 8-byte aligned */
    sn_ent *recs;           /* its records, in sorted order once `sorted` */
    size_t n, cap;          /* records, capacity of recs */
    bool sorted;            /* recs is sorted (no record added since) */
    FILE **spills;          /* spilled runs (rewound by sn_sorter_finish) */
    uint32_t n_spills;
    uint64_t spill_bytes;   /* bytes written to spills */
    sn_src *srcs;           /* merge: one per spill, then the memory run */
    uint32_t n_srcs;
    uint32_t *heap;         /* merge: indexes into srcs, a min-heap by sn_rec_cmp */
    uint32_t n_heap;
    dc_buf last_key;        /* merge: the key last returned */
    bool started;           /* merge: last_key is valid */
} sn_sorter;

void sn_sorter_init(sn_sorter *s, int64_t budget, const char *tmp_dir);
void sn_sorter_dispose(sn_sorter *s);
/* Adds a record (copied); spills the run in hand first when it is full. */
int sn_sorter_add(sn_sorter *s, const sn_hdr *h, const uint8_t *key, const uint8_t *row,
                  dc_err *err);
/* Adds a record whose header is *h and whose h->klen key bytes and h->rlen
 * row bytes the caller writes at *key and *row (valid until the next call on
 * s): no copy of a row built elsewhere. Spills first like sn_sorter_add. */
int sn_sorter_put(uint8_t **key, uint8_t **row, sn_sorter *s, const sn_hdr *h, dc_err *err);
/* Sorts the run in hand now (sn_sorter_finish then finds it sorted): lets
 * the thread that filled a sorter sort it too. */
void sn_sorter_sort(sn_sorter *s);
/* Sorts the run in hand and starts the merge of every run — also those of
 * `other` (NULL: none; filled by another thread, which has finished with
 * it) and the records of `stream` (NULL: none), which then come out of s's
 * merge too. */
int sn_sorter_finish(sn_sorter *s, sn_sorter *other, const sn_stream *stream, dc_err *err);
/* The newest record of the next key (pointers valid until the next call);
 * *done when every run is drained. */
int sn_sorter_next(const sn_hdr **h, const uint8_t **key, const uint8_t **row, bool *done,
                   sn_sorter *s, dc_err *err);

/* ------------------------------------------------------------- inputs */

/* Metadata columns of the typed layout. */
enum { SN_M_OP = 0, SN_M_TS, SN_M_OFF, SN_M_POS, SN_M_DEL, SN_M_N };

/* One input table. */
typedef struct sn_input {
    const char *role;           /* "history" or "CDC", for messages */
    const char *uri;            /* as given */
    dc_storage *st;             /* owned */
    dc_delta_snapshot *snap;    /* owned */
    const dc_delta_schema *schema;  /* borrowed from snap */
    bool has_meta[SN_M_N];      /* which metadata columns the table has */
    bool has_floor;             /* a bootstrap's history floor (merge.h) */
    bool raw;                   /* a raw (seed layout) table: rows decoded from json_record
                                   (snap_raw.c); schema is then `offered` */
    struct dc_merge_schema_set *schemas; /* raw: the Debezium schemas it keeps (owned) */
    dc_buf offered_json;        /* raw: the columns its rows decode to, Delta schema JSON */
    dc_delta_schema *offered;   /* raw: it, parsed (owned) */
    dc_cdc_tschema_cache cache; /* raw: parsed schema blocks */
    bool cache_on;              /* cache initialised */
    dc_buf typed;               /* raw: the row in hand, decoded */
    bool ranked;                /* a history `deltacdc rebase` wrote (a txn SN_REBASE_APP/...):
                                   its rows carry the CDC rows' own rank, and rank by it */
    int64_t floor[2];           /* it, as a rank pair */
} sn_input;

/* ---------------------------------------------------------- raw input */

/* Whether a schema is the raw layout (key columns, ts_ms, json_record,
 * operation_type, offset); *n_keys the key columns' count. */
bool sn_raw_layout(const dc_delta_schema *s, uint32_t *n_keys);
struct sn_layout;
/* Loads a raw input's kept schemas and the columns its rows decode to. */
int sn_raw_open(sn_input *in, const struct sn_layout *l, dc_err *err);
void sn_raw_dispose(sn_input *in);
/* A raw table's scan line as the typed row it stands for (*row valid until
 * the next call). */
int sn_raw_row(const char **row, size_t *len, sn_input *in, const struct sn_layout *l,
               const char *line, size_t n, dc_arena *a, dc_err *err);
/* The Delta schema JSON text of the columns the input offers. */
const char *sn_input_schema_string(const sn_input *in);

/* The columns both inputs share: names, key columns, meta names. */
typedef struct sn_layout {
    char *meta[SN_M_N];         /* prefixed metadata column names (owned) */
    uint32_t n_keys;
    char *keys[SN_MAX_KEYS];    /* key column names (owned) */
    bool key_int[SN_MAX_KEYS];  /* an integer column: encoded as a number */
} sn_layout;

int sn_layout_init(sn_layout *l, const char *meta_prefix, dc_err *err);
void sn_layout_dispose(sn_layout *l);

/* Opens a table at `version` (< 0: latest). Missing is DC_ENOTFOUND naming
 * the role and the path. */
int sn_input_open(sn_input *in, const char *role, const char *uri, int64_t version,
                  const sn_layout *l, dc_err *err);
void sn_input_dispose(sn_input *in);
/* The version of the CDC table `as_of` names (a number, or a time: the last
 * commit at or before it). */
int sn_as_of_version(int64_t *out, dc_storage *st, const char *as_of, dc_err *err);
/* Key columns from `key` ("a,b") or the CDC table's deltacdc.key; checks
 * every input has them with compatible types. */
int sn_layout_keys(sn_layout *l, const char *key, const sn_input *cdc, const sn_input *hist,
                   dc_err *err);

/* Counters of sn_input_read. */
typedef struct sn_read_stats {
    uint64_t rows;              /* rows read */
    uint64_t floor_skipped;     /* CDC rows at or before `floor` */
} sn_read_stats;

/* A row's metadata values, as sn_rank reads them (any input form). */
typedef struct sn_meta {
    const char *op;             /* __op text (op_len bytes), or NULL */
    size_t op_len;
    const char *pos;            /* __source_pos text (pos_len bytes; 0: none) */
    size_t pos_len;
    bool has_ts, has_off;       /* __ts_ms / __offset present (not null) */
    int64_t ts, off;            /* their values */
    bool deleted;               /* __deleted is true */
} sn_meta;

/* The record header's rank, class and delete flag from a row's metadata. A
 * history row without a position is older than every CDC row (the seed's
 * ts_ms 0), unless the history is a rebase's (`ranked`): its rows are CDC
 * rows folded, with their own rank, so that a late CDC event older than a
 * folded row does not regress it. */
int sn_rank(sn_hdr *h, const sn_meta *m, bool history, bool ranked, dc_err *err);

/* Reads every row of `in` into the sorter. `floor` (NULL: none) skips the
 * positioned rows at or before it. History rows without __op/__ts_ms get
 * the seed's 'c' and 0 when the CDC table has them (cdc_meta: its has_meta). */
int sn_input_read(sn_read_stats *out, sn_input *in, bool history, const int64_t *floor,
                  const bool *cdc_meta, const sn_layout *l, sn_sorter *s, dc_err *err);

/* ------------------------------------------------------- binary rows */

/* Rows as values, not JSON (snap_bin.c): when every column of both inputs
 * is a primitive one (the typed tables' case), each row of a data file goes
 * from its Parquet columns into a run record whose row is, per column of
 * the CDC table in its order, a byte 1 and the value as Parquet stores it
 * (fixed width, or a u32 length and the bytes) or a byte 0 for null; the
 * write puts those values back into columns. No JSON text per row: the scan
 * → sort → write path costs what copying the values costs. */
typedef struct sn_bin {
    dc_pq_schema *schema;       /* the rows' columns: the CDC table's (display names,
                                   flat), Parquet types as the output stores them */
    int32_t key_col[SN_MAX_KEYS]; /* the key columns' indexes in schema */
    int32_t meta_col[SN_M_N];   /* the metadata columns' (-1: absent) */
} sn_bin;

/* DC_EUNSUPPORTED when a table has a nested column or a partition column
 * (the JSON rows then do). */
int sn_bin_init(sn_bin *b, const sn_input *cdc, const sn_input *hist, const sn_layout *l,
                dc_err *err);
void sn_bin_dispose(sn_bin *b);
/* sn_input_read in binary rows. DC_EUNSUPPORTED when a data file stores a
 * column otherwise than the table's type says (an older file of a widened
 * column beyond int → long and float → double): the caller reads as JSON.
 * claim NULL: every data file; else the files are taken one at a time by
 * index from *claim, which other threads reading the same input share. */
int sn_bin_read(sn_read_stats *out, sn_input *in, bool history, const int64_t *floor,
                const bool *cdc_meta, const sn_layout *l, const sn_bin *b, sn_sorter *s,
                atomic_size_t *claim, dc_err *err);
/* How a file's leaf becomes a row's value (sn_bin_rd.conv). */
enum { SN_CONV_SAME = 0, SN_CONV_I32_I64, SN_CONV_F32_F64 };

/* Reading one input as binary rows: the file in hand and the row being
 * built (snap_bin.c; snap_hist.c streams the history with it). */
typedef struct sn_bin_rd {
    sn_input *in;
    const sn_bin *b;
    const sn_layout *l;
    bool history;
    const int64_t *floor;       /* positioned rows at or before it are skipped (NULL: none) */
    sn_read_stats *st;          /* counters (owned by the caller) */
    bool const_op, const_ts;    /* history rows get the seed's 'c' and ts_ms 0 */
    uint32_t n;                 /* the rows' columns */
    int32_t *map;               /* per column: the file's leaf, -1 absent */
    uint8_t *conv;              /* per column: SN_CONV_* */
    uint32_t *fw;               /* per column: the file's bytes a value (0: BYTE_ARRAY) */
    uint32_t *rw;               /* per column: the row's bytes a value (0: a u32 length
                                   and the bytes) */
    int16_t *rg_def;            /* per column, for the row group loaded: max_def when its
                                   rows' levels must be read, 0 when none is null, -1 when
                                   all are */
    dc_pq_column *cols;         /* per column: the row group's values */
    size_t *vi;                 /* per column: the next value */
    const uint8_t **vp;         /* the row: per column its value (NULL: null) */
    uint32_t *vn;               /* and its bytes */
    uint32_t *take;             /* the columns a row is taken from (take_row) */
    uint32_t n_take;            /* all n, or the key columns alone (sn_bin_rd_keys_only) */
} sn_bin_rd;

/* One data file of an input being read, row group by row group. */
typedef struct sn_bin_file {
    const dc_delta_add *add;    /* its add action (borrowed from the snapshot) */
    dc_buf path;                /* its storage path, NUL-terminated */
    dc_buf hold;                /* its bytes when not mapped */
    dc_pq_reader *pr;           /* NULL when closed */
    uint64_t *del;              /* rows its deletion vector deletes, ascending */
    size_t n_del, dvi;          /* their count; the next one */
    uint32_t rg;                /* the row group loaded (UINT32_MAX: none yet) */
    uint64_t base;              /* the file's row index of its first row */
    size_t row, rows;           /* the next row of the row group; its rows */
} sn_bin_file;

int sn_bin_rd_init(sn_bin_rd *r, sn_input *in, bool history, const int64_t *floor,
                   const bool *cdc_meta, const sn_layout *l, const sn_bin *b,
                   sn_read_stats *st, dc_err *err);
/* From now on rows are taken from the key columns alone (on: an order
 * check), or from every column. */
void sn_bin_rd_keys_only(sn_bin_rd *r, bool on);
void sn_bin_rd_dispose(sn_bin_rd *r);
/* Opens data file `add` of r's input and maps its columns to the rows'
 * (DC_EUNSUPPORTED: it stores a column otherwise). Close it whatever it returns. */
int sn_bin_file_open(sn_bin_file *f, sn_bin_rd *r, const dc_delta_add *add, dc_err *err);
void sn_bin_file_close(sn_bin_file *f);
/* The file's next live row into r->vp/vn (the columns r takes); *has
 * false at the file's end (checked against its deletion vector). */
int sn_bin_file_next(bool *has, sn_bin_file *f, sn_bin_rd *r, dc_err *err);
/* The bytes of the row's key (sn_bin_key's encoding); an error for a null. */
int sn_bin_key_len(uint32_t *out, const sn_bin_rd *r, dc_err *err);
/* The row's key at p (integers as a tag 1 and 8 big-endian bytes, sign
 * flipped; other values as a tag 2, a big-endian u32 length and the bytes). */
void sn_bin_key(uint8_t *p, const sn_bin_rd *r);
/* The row's record header; *skip when it is at or before r->floor.
 * direct: a record without row bytes (sn_hdr.direct). */
int sn_bin_hdr(sn_hdr *h, bool *skip, sn_bin_rd *r, bool direct, dc_err *err);
/* The row's values at row (h->rlen bytes, snap_int.h's form). */
void sn_bin_values(uint8_t *row, const sn_bin_rd *r, const sn_hdr *h);

/* ------------------------------------------------- history in order */

/* The history streamed from its files when they lie in key order
 * (snap_hist.c): a bootstrap's or a rebase's history is, and then it is
 * neither held nor sorted nor spilled. */
typedef struct sn_hist {
    sn_bin_rd r;                /* reads the history */
    sn_read_stats st;           /* rows streamed */
    uint64_t rows;              /* live rows sn_hist_check counted */
    size_t *order;              /* live files (snapshot indexes) in key order */
    size_t n_order;
    size_t next;                /* the next of order to open */
    sn_bin_file f;              /* the file in hand */
    bool open;                  /* f is open */
    dc_buf rec[2];              /* the last two records' keys (their rows are r's row:
                                   sn_hdr.direct): one handed out, the other its
                                   predecessor (the order guard) */
    uint32_t klen[2];           /* their bytes */
    uint32_t cur;               /* rec[cur]: the last handed out */
    sn_stream stream;           /* the merge's source over this (h must not move) */
} sn_hist;

int sn_hist_init(sn_hist *h, sn_input *in, const bool *cdc_meta, const sn_layout *l,
                 const sn_bin *b, dc_err *err);
void sn_hist_dispose(sn_hist *h);
/* Reads the key columns of every live file: *sorted when, files taken in
 * some order, the live rows' keys ascend strictly (then h->stream yields the
 * history's records in that order). DC_EUNSUPPORTED as sn_bin_read. */
int sn_hist_check(bool *sorted, sn_hist *h, dc_err *err);

/* Every key's newest binary row, deletes left out, into the writer. A
 * record flagged `direct` (the streamed history's) holds no row bytes: its
 * values are the current row of `direct`. */
int sn_bin_write(dc_snap_result *res, dc_delta_file_writer *w, const sn_bin *b, sn_sorter *s,
                 const sn_bin_rd *direct, const char *date, dc_err *err);

/* Appends the StructFields of `schema_string` (name not in `skip`), each
 * after a comma, without column-mapping metadata; *n_out counts them. */
int sn_fields_json(dc_buf *b, uint32_t *n_out, const char *schema_string,
                   const dc_delta_schema *skip, dc_err *err);

/* ------------------------------------------------------------- output */

/* Where the merged rows go. */
typedef struct sn_target {
    const char *uri;            /* the table, created when absent */
    const char *date;           /* the partition data_date=date, or NULL: the whole table
                                   (rebase: an unpartitioned history table) */
    const char *txn_app;        /* a txn the commit sets (NULL: none) */
    int64_t txn_version;        /* its version */
    bool manifest;              /* write the symlink manifest after the commit */
} sn_target;


/* ------------------------------------------------------------- fold */

/* The inputs read and merged, ready for sn_write (snap.c). */
typedef struct sn_fold {
    sn_input cdc;               /* the CDC table */
    sn_input hist;              /* the history, when has_hist */
    bool has_hist;
    sn_layout l;
    sn_sorter s;                /* the CDC table's runs; its merge yields every run */
    sn_sorter hs;               /* the second thread's runs: the history's, or (the
                                   history streamed, or none) CDC files' */
    sn_bin bin;                 /* the rows' binary layout, when binary */
    bool binary;                /* the runs hold binary rows (else JSON rows) */
    sn_hist hx;                 /* the history's order check and stream (binary rows) */
    bool has_hx;                /* hx was initialised */
    bool streamed;              /* the history is merged from hx.stream, not from runs */
} sn_fold;

/* Opens the inputs (the CDC table at `version`; < 0: as_of, else the
 * latest), reads them into sorted runs and starts their merge. Dispose
 * whatever it returns. */
int sn_fold_run(sn_fold *f, dc_snap_result *out, const dc_snap_opts *o, int64_t version,
                dc_err *err);
void sn_fold_dispose(sn_fold *f);

/* Writes every key's newest row of f's merge (deletes left out) and commits
 * once, replacing the partition (or the whole table) (snap_write.c). */
int sn_write(dc_snap_result *res, const sn_target *tg, sn_fold *f, dc_err *err);

/* The txn appId prefix a rebase sets in the history: "deltacdc.rebase/<CDC table id>",
 * version = the CDC table version it folded (snap_rebase.c). */
#define SN_REBASE_APP "deltacdc.rebase/"

/* Hive's name of a Delta type (DDL); NULL for types it has no name for. */
int sn_hive_type(dc_buf *out, const dc_delta_field *f, dc_err *err);

#endif /* DC_SNAP_INT_H */
