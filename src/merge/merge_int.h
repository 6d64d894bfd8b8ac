/*
 * Internal to src/merge/: the key index (merge_index.c), reading a table's
 * files into it (merge_scan.c), raw-format columns and data files
 * (merge_rows.c), copy-on-write rewrites (merge_cow.c), the table object
 * (merge_table.c) and batches (merge_batch.c).
 *
 * Keys. A table's key columns are LONG or STRING (the table's types). A key
 * of one LONG column is kept as its int64 ("int keys": the compact case of
 * the 24-bytes-per-row budget); any other key is kept as canonical bytes:
 * per column, LONG as 8 little-endian bytes, STRING as a 4-byte
 * little-endian length and the bytes. Equal keys have equal bytes, so the
 * index compares bytes after a hash hit: exact, no false matches.
 *
 * Sequence. A row's or event's (ts_ms, offset), compared lexicographically;
 * a null ts_ms or offset counts as INT64_MIN (the SQL ORDER BY .. DESC puts
 * nulls last, i.e. lowest).
 */
#ifndef DC_MERGE_INT_H
#define DC_MERGE_INT_H

#include "merge.h"

#include "../common/dc_limits.h"
#include "../delta/delta.h"

/* ------------------------------------------------------------ keys */

/* A key as looked up: borrowed bytes. */
typedef struct mkey {
    uint64_t hash;          /* of i (int keys) or of the bytes */
    int64_t i;              /* int keys: the value */
    const uint8_t *b;       /* other keys: canonical bytes */
    uint32_t len;           /* bytes of b */
} mkey;

/* A LONG part of canonical key bytes. */
static inline void dc_mkey_long_put(uint8_t out[8], int64_t v)
{
    const uint64_t u = (uint64_t)v ^ ((uint64_t)1 << 63);
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(u >> (56 - 8 * i));
}
static inline int64_t dc_mkey_long_get(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u = (u << 8) | p[i];
    return (int64_t)(u ^ ((uint64_t)1 << 63));
}

/* Hash of an int key / of canonical key bytes with an index's seed
 * (mx_index.seed: random per index, kept in its persisted file so that a
 * loaded slot array needs no rehash). */
uint64_t dc_mkey_hash_i64(uint64_t seed, int64_t v);
uint64_t dc_mkey_hash_bytes(uint64_t seed, const uint8_t *p, size_t n);
/* Order of two keys of one table (parts and their types in keyspec order):
 * numeric for LONG parts, byte-wise for STRING parts (a new file's rows are
 * sorted by it). Int keys (b NULL) compare by i. */
int dc_mkey_cmp(const mkey *a, const mkey *b, uint32_t n_parts, const dc_cdc_key_type *types);

/* Sequence (ts_ms, offset). */
typedef struct mseq {
    int64_t ts;             /* ts_ms, INT64_MIN when null */
    int64_t off;            /* offset, INT64_MIN when null */
} mseq;

static inline int dc_mseq_cmp(mseq a, mseq b)
{
    if (a.ts != b.ts) return a.ts < b.ts ? -1 : 1;
    if (a.off != b.off) return a.off < b.off ? -1 : 1;
    return 0;
}

/* ----------------------------------------------------------- index */

/* Row field of a slot: physical row index, top bit set for a tombstone row
 * (operation_type d). Files of 2^31 rows or more are refused. */
#define MX_ROW_TOMB 0x80000000u
#define MX_ROW_MASK 0x7fffffffu
/* File of a slot with no row (mx_val.file): a typed table's key whose row a
 * delete removed. The slot keeps the delete's sequence (exactly, in the
 * ghost table; the slot's row field is its entry there) so that an older
 * event arriving later (or again) stays stale instead of re-creating the
 * row. Never a real file id (the file table stops below UINT32_MAX - 1). */
#define MX_FILE_NONE (UINT32_MAX - 1)

/* One entry (open addressing, Robin Hood linear probing): 16 bytes, plus a
 * 4-byte ordering value in a parallel array (mx_index.ord). */
typedef struct mx_slot {
    uint64_t key;           /* int keys: the value's bits; else the byte offset of the
                               key's record in the index arena */
    uint32_t file;          /* file id + 1 (index into the file table + 1); 0: empty slot */
    uint32_t row;           /* physical row | MX_ROW_TOMB; ghosts: their ghost entry */
} mx_slot;
_Static_assert(sizeof(mx_slot) == 16, "an index slot is 16 bytes");

/* Ordering values (mx_index.ord): a slot keeps, instead of its row's
 * sequence (16 bytes), a 32-bit value that is a monotone function of it:
 * 0 for a null ts_ms, else 2 + (U - base) >> shift, where U is the sequence
 * as one unsigned 128-bit number (ts then offset) and (base, shift) the
 * index's window. An event's value is computed the same way (1 below the
 * window, MX_ORD_TOP above it), so different values order exactly and only
 * equal ones need the row's real sequence, read back from its file
 * (dc_merge_slot_cmp). Rows always fit the window: one that does not widens
 * it first (every stored value recomputed, exactly, from the old one). */
#define MX_ORD_NULL 0u
#define MX_ORD_BELOW 1u
#define MX_ORD_TOP UINT32_MAX
typedef struct mx_window {
    uint64_t base_hi, base_lo;      /* lowest sequence the window holds, as U */
    uint32_t shift;                 /* U units per ordering step: 2^shift */
    bool set;                       /* false until the first row with a ts_ms */
} mx_window;

/* What a slot says about its key's row (seq: what to store; dc_mx_get
 * fills it for ghosts only, a row's sequence is in its file). */
typedef struct mx_val {
    uint32_t file;          /* file id (0-based) */
    uint32_t row;           /* physical row | MX_ROW_TOMB */
    mseq seq;
} mx_val;

/* A table's file, by id (ids are indexes into the file table; they are never
 * reused until the table is rebuilt). */
typedef struct mx_file {
    char *path;             /* add.path as in the log (dc_malloc) */
    uint64_t hash;          /* hash of path, for the path map */
    uint64_t n_rows;        /* physical rows (footer num_rows) */
    size_t snap_i;          /* index of its add among the snapshot's files; SIZE_MAX
                               when the file is not live */
} mx_file;

typedef struct mx_index {
    bool int_keys;          /* one LONG key column: slot.key is the value */
    uint64_t seed;          /* hash seed of keys and paths */
    mx_slot *slots;         /* cap slots (dc_calloc) */
    uint32_t *ord;          /* cap ordering values, parallel to slots */
    size_t cap;             /* slots allocated; any size (fastrange home slot) */
    size_t n;               /* keys held */
    mx_window w;            /* how ord encodes sequences */
    uint64_t rewindows;     /* times the window was widened (tests, logs) */
    uint64_t gen;           /* bumped when cleared (file ids start over) */
    mseq *ghosts;           /* exact sequences of ghost slots (by slot.row) */
    size_t n_ghosts, cap_ghosts; /* entries used (with freed ones), allocated */
    uint32_t ghost_free;    /* first freed entry (chained through .ts), UINT32_MAX: none */
    size_t ghosts_live;     /* entries in use */
    dc_buf arena;           /* other keys: records [hash u64][len u32][bytes], 8-aligned */
    mx_file *files;         /* file table */
    size_t n_files, cap_files;
    uint32_t *pmap;         /* path map: file id + 1 per slot, 0 empty; power of two */
    size_t pmap_cap;
} mx_index;

void dc_mx_init(mx_index *x, bool int_keys);
void dc_mx_dispose(mx_index *x);
/* Drops every key and file (truncate, rebuild). Keeps the slot array. */
void dc_mx_clear(mx_index *x);
/* Makes room for `more` new keys holding `more_bytes` key bytes in total,
 * so that the next inserts and sets can not fail or move slots. */
int dc_mx_reserve(mx_index *x, size_t more, size_t more_bytes, dc_err *err);
/* Makes room for `more` new keys without a row (MX_FILE_NONE values). */
int dc_mx_reserve_ghosts(mx_index *x, size_t more, dc_err *err);
/* Replaces the slot arrays by `cap` empty slots (ordering values left
 * unset); the caller refills them (loading a persisted index). hint: ask
 * for huge pages now (see dc_mx_hint_huge). */
int dc_mx_alloc_slots(mx_index *x, size_t cap, bool hint, dc_err *err);
/* Asks for transparent huge pages for the slot arrays: lookups land on
 * random slots. Given after a load has filled them, so that the kernel
 * collapses pages in the background instead of compacting memory on every
 * fault of the load (measured: 2.0 s of system time for 50M rows, 1.3 s
 * without). */
void dc_mx_hint_huge(mx_index *x);
/* Slot of key k, or SIZE_MAX. Valid until the next insert or resize. */
size_t dc_mx_find(const mx_index *x, const mkey *k);
/* Inserts k (absent; room reserved); may move other keys' slots. */
void dc_mx_insert(mx_index *x, const mkey *k, const mx_val *v);
/* Starts loading the home slot of a hash (lookups soon after are cheaper). */
void dc_mx_prefetch(const mx_index *x, uint64_t hash);
/* Sets the value of a found slot (moves nothing). */
void dc_mx_set(mx_index *x, size_t slot, const mx_val *v);
/* Points a found slot at another place of the same row (a rewrite moved
 * it): its sequence stays. */
void dc_mx_move(mx_index *x, size_t slot, uint32_t file, uint32_t row);
mx_val dc_mx_get(const mx_index *x, size_t slot);
/* How sequence s compares with the slot's: -1 older, 1 newer, 0 equal
 * (ghosts: exact), MX_UNSURE when the ordering values are equal and the
 * row's own sequence decides. */
#define MX_UNSURE 2
int dc_mx_cmp(const mx_index *x, size_t slot, mseq s);
/* Removes the key of a found slot (backward shift; other slots move). A
 * byte key's record stays in the arena until the next rebuild. */
void dc_mx_remove(mx_index *x, size_t slot);
/* Reads the sequence of row `row` of file `file` (for MX_UNSURE). */
typedef int (*mx_seq_fn)(mseq *out, void *ctx, uint32_t file, uint32_t row, dc_err *err);
/* Builds: inserts k, or when present keeps the row with the greater
 * sequence (read through `exact` when the ordering values tie); *dup tells
 * a key seen twice. Grows as needed. */
int dc_mx_put_max(mx_index *x, const mkey *k, const mx_val *v, bool *dup, mx_seq_fn exact,
                  void *ctx, dc_err *err);
/* Key bytes of a slot (other keys), for messages and tests. */
void dc_mx_key_bytes(const mx_index *x, size_t slot, const uint8_t **p, uint32_t *n);
/* Memory held (slots, ordering values, arena, ghosts, file table, path map). */
uint64_t dc_mx_bytes(const mx_index *x);
/* The hash of a key for this index. */
static inline uint64_t dc_mx_hash_i64(const mx_index *x, int64_t v)
{
    return dc_mkey_hash_i64(x->seed, v);
}
static inline uint64_t dc_mx_hash_bytes(const mx_index *x, const uint8_t *p, size_t n)
{
    return dc_mkey_hash_bytes(x->seed, p, n);
}

/* The key index file (merge_ixfile.c): sections written through `wr` in
 * order; loaded through `read` (ranges straight into the index's arrays)
 * from a file of `size` bytes, refused (DC_ECORRUPT, x left empty) unless
 * every section, checksum and slot checks out and it was written for
 * `ident` (the table and key layout). x: just initialised, same int_keys. */
typedef int (*mxf_write_fn)(void *ctx, const void *p, size_t n, dc_err *err);
typedef int (*mxf_read_fn)(void *ctx, uint64_t off, size_t n, void *dst, dc_err *err);
uint64_t dc_mxf_sum(const void *data, size_t n);
int dc_mxf_write(const mx_index *x, int64_t version, uint64_t ident, mxf_write_fn wr, void *ctx,
                 dc_err *err);
int dc_mxf_load(mx_index *x, int64_t *version_out, uint64_t ident, uint64_t size,
                mxf_read_fn read, void *ctx, dc_err *err);

/* File table. _reserve makes room for `more` files so that _adopt (which
 * takes ownership of a dc_malloc'd path) can not fail. */
int dc_mx_files_reserve(mx_index *x, size_t more, dc_err *err);
uint32_t dc_mx_file_adopt(mx_index *x, char *path, uint64_t n_rows);
int dc_mx_file_add(uint32_t *id_out, mx_index *x, const char *path, uint64_t n_rows,
                   dc_err *err);
/* File id of a path, or -1. */
int64_t dc_mx_file_find(const mx_index *x, const char *path);

/* ----------------------------------------------------- table object */

/* Roles of the raw format's columns. */
typedef enum mcol_role { MCOL_KEY = 0, MCOL_TS, MCOL_JSON, MCOL_OP, MCOL_OFFSET } mcol_role;

/* One column of the table's schema. */
typedef struct mcol {
    const char *name;       /* display name (in t->dschema) */
    mcol_role role;
    uint32_t key_i;         /* MCOL_KEY: position in the keyspec */
    dc_type type;           /* the table's type (keys: LONG/INT/SHORT/BYTE or STRING) */
} mcol;

struct dc_merge_table {
    dc_storage *s;                  /* owned */
    dc_delta_snapshot *snap;        /* owned: what the index reflects */
    char *pipeline;                 /* owned copy, names appIds */
    dc_merge_mode mode;
    uint32_t n_keys;
    char *key_names[DC_CDC_MAX_KEYS];     /* owned copies */
    dc_cdc_key_type key_types[DC_CDC_MAX_KEYS]; /* LONG / STRING, from the table */
    dc_type key_dtype[DC_CDC_MAX_KEYS]; /* typed: the key columns' Delta types; a date,
                                   timestamp, decimal or binary key's event value goes
                                   through dc_cdc_typed_key (merge_typed.c) */
    bool key_conv;                  /* typed: some key part is such a column */
    uint32_t n_cols;
    mcol cols[DC_CDC_MAX_KEYS + 4]; /* the schema's columns in order */
    uint32_t key_col[DC_CDC_MAX_KEYS]; /* column of key part i */
    uint32_t ts_col, json_col, op_col, off_col; /* columns of the other roles */
    dc_table_format format;         /* RAW: the layout above; TYPED: t->typed */
    const char *seq_names[4];       /* columns the index reads besides the keys: sequence
                                       (ts_ms, offset), operation, source position (NULL:
                                       none); raw: ts_ms, offset, operation_type, NULL */
    struct mtyped *typed;           /* typed tables: layout, schema, options (merge_typed.c) */
    char *schema_json;              /* the table's schema string (owned copy) */
    dc_pq_schema *pq_schema;        /* Parquet schema of new data files */
    mx_index index;                 /* key → (file, row, sequence) and the file table */
    bool broken;                    /* index/snapshot out of step: reload before use */
    double build_seconds;           /* last index build */
    uint64_t n_builds;              /* full index builds so far (open, reloads) */
    uint64_t rows_read;             /* rows of data files read for the index so far (builds,
                                       re-reads after others' commits, moves after a
                                       rewrite): tests assert the work a step did */
    uint64_t dup_keys;              /* keys found in two rows at the last build */
    uint64_t ghosts;                /* slots without a row (MX_FILE_NONE) in the index */
    struct {
        uint64_t gen;               /* index generation the entry belongs to */
        uint32_t file;              /* file id */
        uint64_t first, n;          /* its rows first .. first + n - 1 */
        mseq *seqs;                 /* their sequences (dc_malloc), NULL: empty */
    } seqc;                         /* the row group last read back for a tie */
    uint64_t seq_reads;             /* row groups read back to order ties (tests, stats) */
    bool persist;                   /* load the persisted index when there is one */
    uint64_t n_loads;               /* index loads from a persisted file */
    int64_t persisted_version;      /* version last persisted by this process, -1: none */
};

/* Re-reads the table's schema from the snapshot (refusing a layout that is
 * no longer raw) and rebuilds the index (merge_table.c). */
int dc_merge_table_reload(dc_merge_table *t, dc_err *err);
/* Re-reads the table's schema from the snapshot (after our own commit
 * changed it); the index stays. */
int dc_merge_table_relayout(dc_merge_table *t, dc_err *err);
/* The index at open: the persisted one (when t->persist and a file checks
 * out) followed to the snapshot's version, else built (merge_ixstore.c). */
int dc_merge_index_open(dc_merge_table *t, dc_err *err);
/* Builds the index from the snapshot's live files (merge_scan.c). */
int dc_merge_index_build(dc_merge_table *t, dc_err *err);
/* Indexes one more live file (a concurrent blind append) keeping the
 * greater sequence per key. */
int dc_merge_index_file(dc_merge_table *t, const dc_delta_add *add, dc_err *err);
/* Points the file table at the snapshot's adds (snap_i); files no longer
 * live get SIZE_MAX. *unknown counts live files the table does not know. */
int dc_merge_files_sync(dc_merge_table *t, size_t *unknown, dc_err *err);
/* Moves the snapshot to `version` (latest when < 0) and brings the index
 * along: files others added are indexed, files they removed or gave a new
 * DV are re-read (their entries dropped, live rows indexed again); a
 * metadata or protocol change reloads everything. `ours` is a version this
 * process committed and already applied to the index (-1: none). */
int dc_merge_table_refresh(dc_merge_table *t, int64_t version, int64_t ours, dc_err *err);
/* The index after the snapshot moved from version `from` to its current
 * one (the second half of dc_merge_table_refresh). */
int dc_merge_table_follow(dc_merge_table *t, int64_t from, int64_t ours, dc_err *err);
/* Moves to the latest version: refresh, or a full reload when broken. */
int dc_merge_table_catch_up(dc_merge_table *t, dc_err *err);
/* appId of a topic-partition, into out (NUL-terminated). */
int dc_merge_app_id(dc_buf *out, const dc_merge_table *t, const char *topic, int32_t partition,
                    dc_err *err);

/* The live add of file `id` (asserts the file is live). */
const dc_delta_add *dc_merge_live_add(const dc_merge_table *t, uint32_t id);
/* Opens the Parquet file of an add (dc_delta_pq_open: local files mapped,
 * else read into *hold, which must outlive the reader, whole or by column
 * chunk; size: the add's, dc_delta_add_size, 0 when unknown). */
int dc_merge_open_file(dc_pq_reader **out, dc_buf *hold, dc_merge_table *t,
                       const char *add_path, uint64_t size, dc_err *err);

/* --------------------------------------------------- raw-format rows */

/* Columns of rows being written, one dc_pq_column per leaf of t->pq_schema
 * (the raw format is flat: leaf i is top-level column i). */
typedef struct mrows {
    const dc_merge_table *t;
    dc_pq_column cols[DC_CDC_MAX_KEYS + 4];
    size_t n;                       /* rows */
} mrows;

void dc_mrows_init(mrows *r, const dc_merge_table *t);
void dc_mrows_dispose(mrows *r);
/* Appends a null or an int64 (INT32 columns: range-checked) / bytes. */
int dc_mrows_put_null(mrows *r, uint32_t col, dc_err *err);
int dc_mrows_put_i64(mrows *r, uint32_t col, int64_t v, dc_err *err);
int dc_mrows_put_bytes(mrows *r, uint32_t col, const void *p, size_t n, dc_err *err);
/* Appends key bytes (canonical) to the key columns. */
int dc_mrows_put_key(mrows *r, const mkey *k, dc_err *err);
/* Marks one more complete row (every column got one value). */
void dc_mrows_end_row(mrows *r);

/* A data file written for a transaction. */
typedef struct mfile_out {
    char *rel_path;                 /* storage path (dc_malloc) */
    dc_delta_add add;               /* path/stats point into the bufs below */
    dc_buf path_enc;                /* %-escaped path, NUL-terminated */
    dc_buf stats;                   /* stats JSON, NUL-terminated */
    uint64_t n_rows;
    bool written;                   /* the file exists in storage */
} mfile_out;

/* Hands a new file's rows to its Parquet writer. */
typedef int (*dc_mfeed_fn)(dc_pq_writer *w, void *ctx, dc_err *err);
/* The one data-file writer: a new file of t's Parquet schema named and
 * written as the table's properties ask (dc_delta_data_file_opts), its rows
 * from `feed` (n_rows of them), made durable, with stats from its footer;
 * fills *f (dispose it; discard it when no commit names it). */
int dc_merge_write_file(mfile_out *f, dc_merge_table *t, dc_mfeed_fn feed, void *ctx,
                        size_t n_rows, dc_err *err);
/* Writes the rows as a new data file (durably) and fills *f. */
int dc_mrows_write_file(mfile_out *f, mrows *r, dc_err *err);
void dc_mfile_out_dispose(mfile_out *f);
/* Removes the written file (a commit that did not happen). */
void dc_mfile_out_discard(mfile_out *f, dc_storage *s);

/* Reads the canonical key of row `row` of the key columns (cols[i] for key
 * column i, leaves `leaves`) into kb; null → *null. Flat columns only. */
typedef struct mcolcur {
    const dc_pq_column *c;          /* column data of one row group */
    const dc_pq_leaf *leaf;         /* its leaf */
    size_t v;                       /* value index of the current row */
} mcolcur;

/* Advances to the next row: *null when it is null, else the value index in
 * *vi. */
static inline bool dc_mcolcur_next(mcolcur *cc, size_t row, size_t *vi)
{
    if (cc->leaf->max_def > 0 && cc->c->def[row] != cc->leaf->max_def) return false;
    *vi = cc->v++;
    return true;
}
/* Integer value i of a column (INT32 or INT64 leaf). */
int64_t dc_mcol_i64(const mcolcur *cc, size_t vi);

/* ------------------------------------------------- copy-on-write */

/* A file to rewrite without some rows. */
typedef struct mcow_file {
    uint32_t file_id;
    uint64_t *rows;                 /* rows to drop, ascending (borrowed) */
    size_t n_rows;
} mcow_file;

/* An index slot whose row moved to a new file. */
typedef struct mcow_move {
    size_t slot;
    uint32_t row;                   /* new physical row (tombstone bit kept) */
    uint32_t out;                   /* which rewritten file (index into outs) */
} mcow_move;

typedef struct mcow {
    mfile_out *outs;                /* rewritten files (n_outs) */
    size_t n_outs;
    mcow_move *moves;               /* slots to repoint after commit */
    size_t n_moves, cap_moves;
    uint64_t rows_copied;           /* rows carried over */
} mcow;

/* Room for the outputs and moves of rewriting `files` (at most every
 * physical row moves). */
int dc_mcow_reserve(mcow *c, const dc_merge_table *t, const mcow_file *files, size_t n,
                    dc_err *err);
/* Rewrites each file without its rows, adds remove + add to tx, and records
 * the index moves (applied by the caller after the commit). */
int dc_mcow_rewrite(mcow *c, dc_merge_table *t, dc_delta_tx *tx, const mcow_file *files,
                    size_t n, dc_err *err);
void dc_mcow_dispose(mcow *c, dc_storage *discard_from);

/* ------------------------------------------------- typed tables */

/* Table property naming a typed table's key columns ("a,b"). */
#define DC_MERGE_KEY_PROPERTY "deltacdc.key"

/* Metadata columns of the typed layout. */
typedef enum mt_meta { MT_OP = 0, MT_TS, MT_OFF, MT_POS, MT_DEL, MT_N } mt_meta;

typedef struct mtyped {
    bool soft_deletes;              /* deletes keep the row with MT_DEL true */
    dc_cdc_typed_opts types;        /* DATETIME / TIME choices */
    char *meta[MT_N];               /* prefixed metadata column names (owned) */
    dc_buf meta_keys;               /* `"<meta[i]>":` of each, JSON-escaped, back to back:
                                       a row's member names written without escaping */
    uint32_t meta_key_at[MT_N + 1]; /* where each starts in meta_keys (and the end) */
    dc_cdc_tschema *cols;           /* the table's source columns, from its Delta schema
                                       (one reference): records without a schema block */
    dc_cdc_tschema_cache cache;     /* records' schema blocks → their columns */
    bool cm;                        /* the table has column mapping mode name: m->cols'
                                       idents and the rows' keys are physical names */
    const dc_cdc_schemalog *schemalog; /* renames and drops to follow (borrowed), or NULL */
    dc_buf key_scratch;             /* binary keys' decoded bytes (dc_mtyped_key) */
} mtyped;

/* Key part i of an event in the form the index holds (t->key_conv: a date,
 * timestamp, decimal or binary key decoded by its column's encoding, from
 * the record's schema block or the table's columns); other parts as they
 * are. Bytes live until the next call. */
int dc_mtyped_key(dc_cdc_key *out, dc_merge_table *t, const dc_cdc_event *ev, uint32_t i,
                  dc_err *err);

/* One row of a typed table as the batch hands it over. */
typedef struct mtyped_row {
    const dc_cdc_tschema *cols;     /* the columns the image was decoded with */
    const char *image;              /* the after image (before for a soft delete) decoded:
                                       "\"a\":1,..." (dc_cdc_typed_members); NULL: none */
    uint32_t image_len;
    char op;
    bool has_ts;
    int64_t ts, offset;
    const char *pos;                /* __source_pos text, NULL: null */
    uint32_t pos_len;
} mtyped_row;

/* Columns a batch adds to a typed table, and table columns it widens
 * (borrowed from tschemas the batch holds), in the order first seen. */
typedef struct mt_added {
    const dc_cdc_tcol **cols;       /* new columns */
    uint32_t n, cap;
    const dc_cdc_tcol **wide;       /* widened columns, with their widest type seen */
    uint32_t n_wide, cap_wide;
} mt_added;

/* Options, names, the schema cache; sets t->seq_names. */
int dc_mtyped_new(dc_merge_table *t, const dc_merge_opts *o, dc_err *err);
void dc_mtyped_free(mtyped *m);
/* Creates a typed table from o->typed.create_schema (refused when NULL). */
int dc_mtyped_create(dc_storage *s, const dc_merge_opts *o, const mtyped *m, dc_err *err);
/* Checks the metadata and key columns of t's schema (t->schema_json), sets
 * t->key_types, rebuilds t->typed->cols. */
int dc_mtyped_check_layout(dc_merge_table *t, const dc_delta_schema *ds, dc_err *err);
/* A source position as an index sequence (order kept), and from the
 * __source_pos text (-1 when it does not parse). Positions rank above every
 * (ts_ms, offset) sequence: their first half carries DC_MTYPED_POS_BIT, so
 * a row without a position (a retyped table's, an unpositioned stream's)
 * is older than any positioned event. */
#define DC_MTYPED_POS_BIT ((int64_t)1 << 62)
mseq dc_mtyped_pos_seq(const dc_cdc_srcpos *p);
/* A position sequence read back from txn actions, which store it without
 * the bit (the format of versions before it, so either reads the other's):
 * the bit set. */
static inline mseq dc_mtyped_pos_stored(int64_t hi, int64_t lo)
{
    return (mseq){hi | DC_MTYPED_POS_BIT, lo};
}
int dc_mtyped_pos_parse(mseq *out, const char *s, size_t n);
/* The JSON row (Parquet writer conventions) of a winner into out (reset). */
int dc_mtyped_row(dc_buf *out, const dc_merge_table *t, const mtyped_row *r, dc_err *err);

/* A bootstrap's rows as columns (dc_merge_batch_columns, merge_hcols.c):
 * whether cols (one per leaf of s, n rows each or empty) fit the table's
 * layout: s's leaves are the table's, flat, and the empty ones are
 * metadata or nullable columns. */
bool dc_mhcols_fit(const dc_merge_table *t, const dc_pq_schema *s, const dc_pq_column *cols,
                   size_t n);
/* The new file from them, the metadata columns all `meta`'s values (its
 * image unused), the other empty ones null. */
int dc_mhcols_write(mfile_out *out, dc_merge_table *t, const dc_pq_column *cols, size_t n,
                    const mtyped_row *meta, dc_err *err);
/* A typed batch's new rows as columns, from values in stored form
 * (merge_tcols.c): _new for a file of t->pq_schema (strip: a record column
 * the schema lacks is left out, as dc_mcolmap_strip leaves it out of a JSON
 * row; else it is an error); _add appends one row (r->image holds its
 * values from dc_cdc_typed_values_decoded with r->cols; an error leaves the
 * columns unusable); _flush writes the rows so far to w and empties the
 * columns. */
typedef struct mtcols mtcols;
int dc_mtcols_new(mtcols **out, const dc_merge_table *t, bool strip, dc_err *err);
void dc_mtcols_free(mtcols *c);
int dc_mtcols_add(mtcols *c, const mtyped_row *r, dc_err *err);
size_t dc_mtcols_rows(const mtcols *c);
int dc_mtcols_flush(mtcols *c, dc_pq_writer *w, dc_err *err);
/* A record's columns against the table's and those added so far: new ones
 * and widened ones are noted in *ad; any other type change is DC_EINVAL
 * naming the column and both types. */
int dc_mtyped_compare(mt_added *ad, const dc_merge_table *t, const dc_cdc_tschema *rec,
                      dc_err *err);
/* t's schema string with the widened columns' new types and the added
 * columns appended (NUL-terminated). */
int dc_mtyped_evolved_schema(dc_buf *out, const dc_merge_table *t, const mt_added *ad,
                             dc_err *err);
/* Copy-on-write of a typed table's files (merge_typed_cow.c): as
 * dc_mcow_rewrite, rows carried over through their JSON form. */
int dc_mtyped_cow_rewrite(mcow *c, dc_merge_table *t, dc_delta_tx *tx, const mcow_file *files,
                          size_t n, dc_err *err);

/* Renames and drops of a batch (merge_colmap.c). */
typedef struct mcolmap mcolmap;
int dc_mcolmap_new(mcolmap **out, dc_err *err);
void dc_mcolmap_free(mcolmap *cm);
/* True when the batch applied a rename or drop (its commit changes the schema). */
bool dc_mcolmap_edited(const mcolmap *cm);
/* Applies the table's renames and drops placed before ev (wm: the event's
 * partition's committed watermark, NULL: none). */
int dc_mcolmap_advance(mcolmap *cm, dc_merge_table *t, const dc_cdc_event *ev, const mseq *wm,
                       dc_err *err);
/* src (a record's columns) mapped onto the table's physical columns as the
 * names stand now (new names get new physical names); src itself when the
 * table follows no schema changes. The result lives as long as cm. */
int dc_mcolmap_map(const dc_cdc_tschema **out, mcolmap *cm, dc_merge_table *t,
                   const dc_cdc_tschema *src, dc_err *err);
/* out (an evolved schema, NUL counted) with the batch's renames and drops
 * applied and column mapping ids given. */
int dc_mcolmap_schema(dc_buf *out, mcolmap *cm, const dc_merge_table *t, dc_err *err);
/* Puts that schema into tx (and maxColumnId). */
int dc_mcolmap_set_schema(dc_delta_tx *tx, const mcolmap *cm, const char *schema_json,
                          bool widen, dc_err *err);
/* Removes the members of an object row that are not columns of s. */
void dc_mcolmap_strip(dc_json *row, const dc_pq_schema *s);
/* The data files' name of column `logical` (column mapping), or logical. */
const char *dc_mtyped_physical(dc_merge_table *t, const char *logical);

/* ------------------------------------------------------ test hooks */

/* Tests only: when set and returning non-zero, a batch commit stops after
 * writing its data files and before the Delta commit, as a crash would. */
extern int (*dc_merge_test_hook_before_commit)(void);
/* Attempts at one batch when other writers keep winning the race. */
#define DC_MERGE_MAX_ATTEMPTS 10
/* Tests: a batch holds at most this many events (0: DC_MERGE_MAX_BATCH_EVENTS),
 * so that a full batch can be reached with a few records. */
extern size_t dc_merge_test_max_batch_events;
/* Tests: typed rows take the JSON-text way into their file even when their
 * columns are flat (the files of both ways are compared). */
extern bool dc_merge_test_typed_text;

/* The sequence of row `row` of file `file` (its id), read back from the
 * file: what orders two sequences whose ordering values tie. */
int dc_merge_row_seq_read(mseq *out, dc_merge_table *t, uint32_t file, uint32_t row,
                          dc_err *err);
/* The same as an mx_seq_fn (ctx: the table). */
int dc_merge_seq_fn(mseq *out, void *ctx, uint32_t file, uint32_t row, dc_err *err);
/* How s compares with the sequence of the key at `slot` (-1, 0, 1), exactly:
 * the row is read back when the ordering values tie. */
int dc_merge_slot_cmp(int *cmp, dc_merge_table *t, size_t slot, mseq s, dc_err *err);

/* Leaves the index reads of a file: the key parts, then t->seq_names. */
#define MSEQ_COLS 4
/* Sequence and tombstone flag of a row: leaf[] maps the key columns, then
 * the sequence (ts_ms, offset), operation and source-position columns
 * (t->seq_names), to cursors (index build in merge_scan.c and index moves
 * after OPTIMIZE share it). A non-null source position (typed tables) is
 * the sequence; else (ts_ms, offset). */
void dc_merge_row_seq(mx_val *v, const int32_t *leaf, uint32_t nk, mcolcur *cc, size_t row);
/* Reads row group `rg` of the `nc` columns at leaf[] (-1: absent, left
 * without a leaf) into col[] and points cc[] at them; a column whose level
 * count is not the row group's is DC_ECORRUPT naming `path`. */
int dc_merge_read_cols(mcolcur *cc, dc_pq_column *col, const int32_t *leaf, uint32_t nc,
                       dc_pq_reader *r, uint32_t rg, const char *path, dc_err *err);

#endif /* DC_MERGE_INT_H */
