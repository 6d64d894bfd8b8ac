/* Internal to src/boot/: the run's state, and the reader thread that reads
 * chunks from the source (boot_read.c) while the main thread merges and
 * commits the previous one (boot.c), so the server streams during commits. */
#ifndef DC_BOOT_INT_H
#define DC_BOOT_INT_H

#include "boot.h"

#include <pthread.h>

#include "../parquet/parquet.h"

#define BOOT_PIPELINE "bootstrap"
#define BOOT_DEFAULT_CHUNK 250000
/* commit_block: the merge refused a chunk's columns alone (read it again) */
#define BOOT_AGAIN 1

/* The run's state. */
typedef struct boot {
    const dc_boot_opts *o;
    dc_mysql *m;                    /* the connection (owned; the reader's while it runs) */
    dc_mysql_table st;              /* the source table's columns */
    char db[256], name[256];        /* source database and table */
    char topic[600];                /* "<db>.<table>": names the txn appId */
    dc_cdc_keyspec keys;            /* key column names (borrowed from st) */
    uint32_t key_col[DC_CDC_MAX_KEYS]; /* their columns in st */
    dc_buf schema;                  /* the Debezium schema block */
    dc_cdc_tschema *cols;           /* its columns (the typed options applied): the reader
                                       decodes each row with them (one reference) */
    dc_buf last_key;                /* where the next chunk starts: the last key read, a JSON
                                       array of SQL literals (the reader's while it runs) */
    int64_t chunk;                  /* last committed chunk (0: none) */
    uint64_t rows_before;           /* rows committed by earlier runs */
    dc_merge_table *t;              /* the Delta table (owned; the main thread's) */
    /* the reader's short way (boot_fast.c) */
    uint8_t *fast;                  /* per column its short way; NULL: every row the long way */
    size_t *fast_at;                /* n_cols + 1 offsets of the columns' keys in fast_keys */
    dc_buf fast_keys;               /* ",\"name\":" of each column (no comma first) */
    /* the rows as columns too (boot_fast.c, dc_merge_batch_columns) */
    dc_pq_schema *pqs;              /* the table's leaves (its Delta schema), or NULL: none */
    uint32_t *col_leaf;             /* per source column its leaf in pqs */
    bool images;                    /* chunks keep their images even with columns (after a
                                       refusal: the reader's while it runs) */
} boot;

/* Chooses the short way for every column of the table, or none (b->fast
 * NULL) when one column has no short way. */
int dc_boot_fast_plan(boot *b, dc_err *err);
/* Appends the row's typed members the short way (*ok), or nothing when a
 * value is not the short way's (!*ok: the caller takes the long way). */
int dc_boot_fast_members(bool *ok, dc_buf *d, const boot *b, char **row,
                         const unsigned long *lens, dc_err *err);

/* Plans the rows as columns of the table's leaves (b->pqs), when every
 * column takes the short way and is a flat leaf of the table by its name;
 * else b->pqs stays NULL. Errors: out of memory, a schema that does not
 * parse. */
int dc_boot_cols_plan(boot *b, dc_err *err);
/* Whether every value of the row takes the short way (what
 * dc_boot_fast_members checks), without writing the members. */
bool dc_boot_fast_ok(const boot *b, char **row, const unsigned long *lens);
/* Appends a row that took the short way to the columns cols (one per leaf
 * of b->pqs); false when a value is not taken (cols are then unusable: the
 * chunk's images are written instead, which decide it). */
bool dc_boot_cols_row(dc_pq_column *cols, const boot *b, char **row, const unsigned long *lens);

/* Whether a key column of this encoding is a LONG in the chunk (integers,
 * dates as days, DATETIMEs as ms or µs) or else a STRING (text, TIMESTAMP's
 * ISO string, binary and decimal as base64): the value Debezium's image
 * holds, which the merge brings to the table's key form (dc_mtyped_key). */
bool dc_boot_key_long(dc_mysql_enc enc);
/* Whether bootstrap takes a key column of this type (what typed tables take
 * as keys: integer, string, binary, date, datetime, timestamp, decimal of up
 * to 18 digits). */
bool dc_boot_key_ok(const dc_mysql_column *c);

/* A chunk read: its rows as [u32 image length][image][keys], the image the
 * row's decoded typed members (dc_cdc_typed_members; empty in an imageless
 * block, whose columns hold the rows), each key a
 * LONG as 8 bytes or a STRING as [u32 length][bytes] (dc_boot_key_long). */
typedef enum rblock_state { RB_FREE = 0, RB_FILLING, RB_READY } rblock_state;
typedef struct rblock {
    rblock_state state;             /* guarded by the reader's mutex */
    dc_buf data;                    /* the rows */
    uint64_t n;                     /* rows */
    uint64_t n_fast;                /* of them, read the short way (boot_fast.c) */
    bool last;                      /* fewer rows than a chunk: the table's end */
    dc_buf last_key;                /* its last key (JSON array of SQL literals, NUL-ended) */
    dc_buf img;                     /* scratch: one row's Debezium after image */
    dc_buf kv;                      /* scratch: one key's Debezium value (put_key) */
    dc_pq_column *cols;             /* the rows as columns: one per leaf of b->pqs */
    bool cols_ok;                   /* every row is in cols (dc_boot_cols_row) */
    bool imageless;                 /* the rows' images are empty: cols alone hold them
                                       (dc_merge_batch_columns_only; cols_ok then) */
    dc_buf after;                   /* the key the chunk was read after (JSON array of SQL
                                       literals, or empty: the start), to read it again */
    int rc;                         /* the read's outcome */
    dc_err err;                     /* its error */
} rblock;

typedef struct boot_reader {
    boot *b;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool quit;                      /* the main thread stops: read no more */
    rblock blk[2];                  /* filled alternately */
} boot_reader;

/* Starts reading chunks after b->last_key into the two blocks in turn. */
int dc_boot_reader_start(boot_reader *r, boot *b, dc_err *err);
/* The next block in order (waits until READY); NULL never. */
rblock *dc_boot_reader_next(boot_reader *r, uint32_t i);
/* Hands block back for reuse. */
void dc_boot_reader_release(boot_reader *r, rblock *blk);
/* Stops the thread (after the block it is reading) and frees the blocks. */
void dc_boot_reader_stop(boot_reader *r);

#endif /* DC_BOOT_INT_H */
