/*
 * delta: what only src/delta/ may see — the snapshot's internals, the file
 * table keyed by (path, DV unique id), log file names, and shared helpers.
 */
#ifndef DC_DELTA_INT_H
#define DC_DELTA_INT_H

#include "delta.h"

/* ------------------------------------------------------ log file names */

typedef enum log_kind {
    LOG_OTHER = 0,       /* not ours: .crc, compacted logs, temp files, ... */
    LOG_COMMIT,          /* NNNNNNNNNNNNNNNNNNNN.json */
    LOG_CHECKPOINT,      /* NNNNNNNNNNNNNNNNNNNN.checkpoint.parquet */
    LOG_CHECKPOINT_PART, /* NNNNNNNNNNNNNNNNNNNN.checkpoint.OOOOOOOOOO.PPPPPPPPPP.parquet */
    LOG_CHECKPOINT_UUID, /* NNNNNNNNNNNNNNNNNNNN.checkpoint.<uuid>.json|parquet (V2) */
} log_kind;

typedef struct log_name {
    log_kind kind;
    int64_t version;     /* the 20-digit version */
    uint32_t part;       /* LOG_CHECKPOINT_PART: 1-based part */
    uint32_t parts;      /* LOG_CHECKPOINT_PART: number of parts */
    bool json;           /* LOG_CHECKPOINT_UUID: .json (else .parquet) */
} log_name;

/* Classifies a file name in _delta_log (no directory part). */
log_name dc_delta_log_classify(const char *name);

/* ---------------------------------------------------------- file table */

/* One logical file of a snapshot: an add (live) or a remove (tombstone),
 * keyed by path + DV unique id. One allocation holds the entry, the key and
 * every string of the action, so replacing or cancelling is one free. */
typedef struct file_entry file_entry;
struct file_entry {
    uint64_t hash;        /* hash of key */
    uint64_t seq;         /* replay order of the action that set this entry */
    file_entry *prev, *next;  /* the table's list in replay order (log order) */
    bool is_add;          /* add (live file) or remove (tombstone) */
    const char *key;      /* path "\n" dv unique id (NUL-terminated) */
    size_t key_len;
    union {
        dc_delta_add add;       /* when is_add */
        dc_delta_remove remove; /* when !is_add */
    } a;
};

/* A list of entries in replay order. */
typedef struct file_list {
    file_entry *head, *tail;
} file_list;

/* A slot keeps the hash next to the pointer so probing does not touch
 * entries (100k-file tables: one cache miss per probe otherwise). */
typedef struct ft_slot {
    uint64_t hash;        /* hash of the entry's key (valid when e != NULL) */
    file_entry *e;        /* owned; NULL when empty */
} ft_slot;

/* Open addressing, linear probing; tombstones (deleted slots) are not needed
 * because entries are only replaced, and cancelled adds become remove entries. */
typedef struct file_table {
    ft_slot *slots;       /* cap slots */
    size_t cap;           /* power of two */
    size_t n;             /* entries */
    size_t n_adds;        /* entries with is_add */
    file_list adds;       /* the add entries, oldest action first: an entry set again
                             moves to the tail of its list, so no sort is needed */
    file_list removes;    /* the remove entries (tombstones), oldest action first */
    bool removes_moved;   /* a tombstone entry left the middle of `removes` since the
                             snapshot's tombstone view was last built: rebuild it whole */
} file_table;

void dc_delta_ft_init(file_table *t);
void dc_delta_ft_dispose(file_table *t);
/* Applies an add or remove (copied): the newest reference of a key wins. */
int dc_delta_ft_apply(file_table *t, const dc_delta_action *a, uint64_t seq, dc_err *err);

/* ------------------------------------------------------ DV file cache */

/* Deletion-vector files held whole, so that the DVs of many data files in
 * them (a batch writes all its DVs into one file) cost one GET a file, not
 * one a DV. A batch's files carry DVs from earlier batches in no particular
 * order: from the few before it when updates hit recent rows, from any of
 * them when they hit rows all over the table (bench/ingest_file's stream: a
 * 200-record batch touches ~130 files whose DVs sit in ~30 DV files; 4
 * entries thrashed, one read per DV). So many files are held, within
 * DC_DELTA_DV_CACHE_TOTAL bytes in all. DV files are immutable (unique
 * names): the bytes never go stale. */
#define DC_DELTA_DV_CACHE_FILES 64
typedef struct dc_delta_dv_cache_file {
    char *path;        /* storage path of the file held (owned), or NULL */
    bool too_big;      /* the file exceeds DC_DELTA_DV_CACHE_BYTES: read by range */
    dc_buf bytes;      /* its bytes */
    uint64_t used;     /* the cache's clock when last used (least is replaced) */
} dc_delta_dv_cache_file;

typedef struct dc_delta_dv_cache {
    dc_delta_dv_cache_file files[DC_DELTA_DV_CACHE_FILES]; /* the files held */
    uint64_t clock;    /* counts lookups */
} dc_delta_dv_cache;

void dc_delta_dv_cache_init(dc_delta_dv_cache *c);
void dc_delta_dv_cache_dispose(dc_delta_dv_cache *c);
/* dc_delta_dv_load, through the cache (same checks, same errors). */
int dc_delta_dv_load_cached(dc_delta_dv **out, dc_storage *s, const dc_delta_dv_desc *dv,
                            dc_delta_dv_cache *c, dc_err *err);

/* ------------------------------------------------------------ snapshot */

typedef struct txn_entry {
    dc_delta_txn txn;     /* strings owned by the snapshot's arena */
} txn_entry;

struct dc_delta_snapshot {
    dc_storage *storage;          /* borrowed */
    int64_t version;              /* version of this snapshot */
    int64_t checkpoint_version;   /* checkpoint it was built from, or -1 */
    int64_t known_checkpoint;     /* newest checkpoint this process knows of: the one it
                                     was built from, one written for it, or one noted
                                     (dc_delta_snapshot_note_checkpoint); -1 none */
    bool broken;                  /* an update failed while applying: the state is
                                     half new, half old; only freeing is allowed */
    dc_arena arena;               /* protocol, metadata, txns, domains (small, replaced rarely) */
    bool has_protocol, has_metadata;
    dc_delta_protocol protocol;   /* latest protocol */
    dc_delta_metadata metadata;   /* latest metaData */
    dc_delta_cm_mode cm_mode;     /* column mapping mode of the final protocol + metadata */
    dc_delta_schema *schema;      /* parsed on demand (owned) */
    size_t n_txns, cap_txns;
    dc_delta_txn *txns;           /* one per appId (owned array; strings in arena) */
    size_t n_domains, cap_domains;
    dc_delta_domain *domains;     /* latest per domain, tombstones included until the end */
    file_table files;             /* logical files */
    uint64_t seq;                 /* next replay sequence number (counts adds and removes) */
    uint64_t seq_at_checkpoint;   /* seq when the snapshot was loaded or known_checkpoint
                                     last moved: seq - this are the file actions since */
    /* Views built once replay ends: live adds and tombstones in log order.
     * The tombstone view only grows at its end between two builds (new
     * removes are the newest actions), so an update appends to it instead
     * of walking every tombstone of the retention period again. */
    size_t n_live;
    const dc_delta_add **live;    /* owned array, entries borrowed from files */
    size_t n_tomb, cap_tomb;
    const dc_delta_remove **tomb;
    uint64_t tomb_next_seq;       /* tombstones of seq >= this are not in the view yet */
};

/* The commit cache (delta_ccache.c): whether it is on; put takes c over
 * (freed when not kept); take hands over the entry of (root, version), or
 * NULL. */
bool dc_delta_ccache_on(void);
void dc_delta_ccache_put(const char *root, dc_delta_commit *c);
dc_delta_commit *dc_delta_ccache_take(const char *root, int64_t version);

/* Replays one action into the snapshot (reconciliation rules). */
int dc_delta_snap_apply(dc_delta_snapshot *snap, const dc_delta_action *a, dc_err *err);
/* Builds the live/tombstone views and drops domain tombstones. */
int dc_delta_snap_finish(dc_delta_snapshot *snap, dc_err *err);

/* Deep copies into an arena (protocol/metadata/txn/domain kept by snapshots). */
int dc_delta_copy_protocol(dc_delta_protocol *dst, const dc_delta_protocol *src, dc_arena *a,
                           dc_err *err);
int dc_delta_copy_metadata(dc_delta_metadata *dst, const dc_delta_metadata *src, dc_arena *a,
                           dc_err *err);

/* --------------------------------------------------------- checkpoints */

typedef int (*dc_delta_action_fn)(void *ctx, const dc_delta_action *a, dc_err *err);

/* Calls fn for every add and remove of a Parquet checkpoint or sidecar, read
 * column by column (strings valid only during the call). DC_EUNSUPPORTED,
 * before any call, when the add/remove columns are not laid out as the
 * protocol says (the caller then reads them as JSON rows). */
int dc_delta_cp_files(dc_pq_reader *r, const char *file, dc_delta_action_fn fn, void *ctx,
                      dc_err *err);

/* ---------------------------------------------------------------- DVs */

/* Checks the structure of one portable 32-bit Roaring bitmap at p[0..n)
 * (every container: sorted, in range, cardinalities true); sets its size in
 * bytes and its cardinality. `at` is p's offset, for messages. */
int dc_delta_roaring32_check(size_t *size_out, uint64_t *card_out, const uint8_t *p, size_t n,
                             size_t at, dc_err *err);

/* ------------------------------------------------------------ helpers */

/* 64-bit FNV-1a; good enough for paths, and deterministic for tests. */
uint64_t dc_delta_hash(const void *p, size_t n);
/* "_delta_log/" + 20-digit version + suffix. */
int dc_delta_log_path(char *out, size_t cap, int64_t version, const char *suffix);

#endif /* DC_DELTA_INT_H */
