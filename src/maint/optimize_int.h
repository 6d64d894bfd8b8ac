/* maint/optimize: what only the optimize files see (optimize_plan.c,
 * optimize_key.c, optimize_input.c, optimize_rewrite.c, optimize.c). */
#ifndef DC_OPTIMIZE_INT_H
#define DC_OPTIMIZE_INT_H

#include "optimize.h"

#include "../common/dc_limits.h"
#include "../parquet/parquet.h"
#include "../storage/storage.h"

/* ------------------------------------------------------- run context */

/* What every bin of a run shares: the output schema, the sort key, the
 * writer and stats options. */
typedef struct opt_ctx {
    dc_delta_snapshot *snap;        /* borrowed */
    dc_storage *s;                  /* borrowed from snap */
    const dc_optimize_opts *o;      /* borrowed */
    dc_arena arena;                 /* the schema DOM */
    dc_pq_schema *schema;           /* the table's data columns (no partition columns):
                                       the schema of every output file */
    uint32_t n_keys;                /* sort columns; 0: rows keep the input order */
    uint32_t key_leaf[DC_OPTIMIZE_MAX_KEYS]; /* their leaves in schema */
    dc_delta_stats_opts stats;      /* add stats from the table's properties */
    dc_pq_writer_opts pq;           /* codec from delta.parquet.compression.codec */
    const char *codec_tag;          /* in file names: "zstd", "snappy", ... */
} opt_ctx;

/* Output schema and sort key of the snapshot's table; a sort column that is
 * missing, nested or not primitive is DC_EINVAL naming it. */
int opt_ctx_init(opt_ctx *c, dc_delta_snapshot *snap, const dc_optimize_opts *o, dc_err *err);
void opt_ctx_dispose(opt_ctx *c);

/* ------------------------------------------------------------- keys */

/* Order-preserving encoding of sort keys: memcmp of two encodings orders
 * the rows as the key's values do, column after column. Per column: 0x00
 * for null (nulls first), else 0x01 and the value: integers (and dates,
 * timestamps, decimals on INT32/INT64) as 8 big-endian bytes with the sign
 * bit flipped, unsigned integers without the flip, floats as their IEEE
 * bits made monotonic, booleans as one byte, byte arrays (strings, binary,
 * decimals on FLBA with the sign bit flipped) with 0x00 escaped as
 * 0x00 0xff and ended by 0x00 0x00. */
int opt_key_null(dc_buf *out, dc_err *err);
/* Value vi (an index among the column's non-null values). INT96 is
 * DC_EUNSUPPORTED. */
int opt_key_value(dc_buf *out, const dc_pq_leaf *leaf, const dc_pq_column *c, size_t vi,
                  dc_err *err);

/* ----------------------------------------------------------- inputs */

/* One decoded row group of an input, by output leaf. */
typedef struct opt_rg {
    uint32_t rows;                  /* rows of the row group */
    dc_pq_column *cols;             /* per output leaf (empty for leaves the file lacks) */
    uint32_t **lstart;              /* per leaf: rows + 1 level starts; NULL when flat */
    uint32_t **vstart;              /* per leaf: rows + 1 value starts; NULL when every
                                       level holds a value (flat, required) */
} opt_rg;

/* An input file of a bin: its reader, how its leaves map to the output
 * schema, its deletion vector and its decoded row groups. */
typedef struct opt_input {
    const dc_delta_add *add;        /* borrowed from the snapshot */
    dc_pq_reader *r;
    dc_buf hold;                    /* the file's bytes when storage is not local */
    int32_t *map;                   /* per output leaf: the file's leaf, -1 absent (nulls) */
    bool *promote;                  /* per output leaf: the file's column is required,
                                       the output's optional (definition levels made) */
    uint64_t *dv;                   /* deleted rows, ascending (dc_free), or NULL */
    size_t n_dv;
    uint32_t n_rg;                  /* row groups */
    opt_rg **rgs;                   /* per row group, NULL until decoded */
    bool monotonic;                 /* the output visits its rows in file order: a
                                       decoded row group is dropped once passed */
    uint64_t live;                  /* rows kept (not deleted) */
} opt_input;

/* Opens the file of `add` and maps its schema onto c->schema. A layout we
 * do not rewrite is DC_EUNSUPPORTED naming the file and the column. */
int opt_input_open(opt_input *in, opt_ctx *c, const dc_delta_add *add, dc_err *err);
void opt_input_close(opt_input *in, const opt_ctx *c);
/* Row group rg decoded (kept in in->rgs); for a monotonic input the row
 * groups before it are dropped. */
int opt_input_rg(const opt_rg **out, opt_input *in, const opt_ctx *c, uint32_t rg, dc_err *err);

/* ------------------------------------------------------------ a bin */

/* The file one bin became. */
typedef struct opt_out {
    char *rel_path;                 /* storage path (dc_malloc); NULL when no row was live */
    dc_buf path_enc;                /* %-escaped add path, NUL-terminated */
    dc_buf stats;                   /* stats JSON, NUL-terminated */
    int64_t size;                   /* bytes */
    uint64_t rows;                  /* rows written */
    uint64_t rows_dropped;          /* rows of the inputs hidden by their DVs */
    bool written;                   /* the file exists in storage */
    bool skipped;                   /* the bin was left alone (a layout we do not rewrite) */
    uint32_t **maps;                /* opts.row_maps: per input of the bin, per physical row,
                                       its output row or UINT32_MAX (dc_malloc each) */
    uint64_t *map_rows;             /* entries of maps[k] */
    size_t n_maps;                  /* inputs */
} opt_out;

/* Rewrites the bin's files into one file (none when no row is live). */
int opt_rewrite_bin(opt_out *out, opt_ctx *c, const dc_delta_add *const *files, size_t n,
                    dc_err *err);
void opt_out_dispose(opt_out *o);
/* Deletes the written file (a commit that did not happen). */
void opt_out_discard(opt_out *o, dc_storage *s);

/* ---------------------------------------------------- prepared runs */

/* An input file as the rewrite read it (copied: the snapshot moves on). */
typedef struct opt_pin {
    const char *path;               /* add path as in the log (prepared arena) */
    int64_t size;
    bool has_dv;                    /* the DV the rewrite applied (rows it dropped) */
    dc_delta_dv_desc dv;            /* path_or_inline in the prepared arena; moved on to the
                                       file's newer DV by each rebase */
    bool gone;                      /* a later commit removed it (all its rows carried) */
} opt_pin;

/* One bin rewritten, waiting for its commit. */
typedef struct opt_pbin {
    size_t n_in;
    opt_pin *in;                    /* its inputs (prepared arena) */
    opt_out out;                    /* the file written (maps[k]: where input k's rows went) */
    dc_delta_add add;               /* the output's add (prepared arena); unset without rows */
    bool skipped;                   /* left alone (a layout we do not rewrite) */
    dc_delta_dv *carried;           /* output rows deleted since the rewrite read the inputs
                                       (rebases so far), or NULL: none */
    bool unrebasable;               /* an input changed and there is no way to carry it
                                       (no DVs on the table, no row map): left out */
    bool taken;                     /* the commit removes its (live) inputs */
    bool in_commit;                 /* the commit adds its output (kept when committed) */
} opt_pbin;

struct dc_optimize_prepared {
    int64_t read_version;           /* the snapshot the rewrite read */
    const char *schema;             /* its schemaString (arena): a commit on a table whose
                                       schema changed since is refused */
    const char *meta_id;            /* its metaData id (arena) */
    dc_optimize_plan plan;          /* the plan (taken over by the result at commit) */
    opt_pbin *bins;                 /* per bin of the plan (dc_calloc) */
    size_t n_bins;
    dc_arena arena;                 /* inputs' paths, DV descriptors, outputs' adds */
    bool committed;                 /* the commit is (or may be) in the log */
    bool automatic;                 /* opts.automatic (commitInfo operationParameters.auto) */
    bool can_dv;                    /* the table has deletion vectors (carried deletes) */
    int64_t rebased_version;        /* the inputs' state is as of this version */
};

/* Copies an add (path, stats, partition values; no tags, no DV) into arena. */
int opt_copy_add(dc_delta_add *k, dc_arena *arena, const dc_delta_add *a, dc_err *err);
/* A result back to empty for another attempt; retries survive. */
void opt_result_reset(dc_optimize_result *r);

#endif /* DC_OPTIMIZE_INT_H */
