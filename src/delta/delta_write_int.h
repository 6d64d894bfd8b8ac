/*
 * Internal to the write side of src/delta/: deep copies of actions into an
 * arena, the pieces of a transaction other write-side files fill, limits.
 */
#ifndef DC_DELTA_WRITE_INT_H
#define DC_DELTA_WRITE_INT_H

#include "delta.h"

/* Attempts at successive versions before a commit gives up (each attempt
 * follows a winner that did not conflict). Spark allows far more; a
 * process that loses this often is better told to back off. */
#define DC_DELTA_MAX_COMMIT_ATTEMPTS 1000
/* Bytes of one commit file we write (all actions of a transaction). */
#define DC_DELTA_MAX_COMMIT_BYTES ((size_t)1024 * 1024 * 1024)
/* A DV file: DV offsets are int32 in the log (Spark caps files likewise). */
#define DC_DELTA_MAX_DV_FILE_BYTES ((size_t)INT32_MAX)

/* Deep copies (strings, maps, DV) into `a`; NULL strings stay NULL. */
char *dc_delta_w_strdup(dc_arena *a, const char *s, dc_err *err);
int dc_delta_w_copy_map(dc_delta_map *out, dc_arena *a, const dc_delta_map *in, dc_err *err);
int dc_delta_w_copy_dv(dc_delta_dv_desc *out, dc_arena *a, const dc_delta_dv_desc *in,
                       dc_err *err);
int dc_delta_w_copy_add(dc_delta_add *out, dc_arena *a, const dc_delta_add *in, dc_err *err);
int dc_delta_w_copy_remove(dc_delta_remove *out, dc_arena *a, const dc_delta_remove *in,
                           dc_err *err);

/* The table's property `key` is "true" (case-insensitive). */
bool dc_delta_w_prop_true(const dc_delta_metadata *m, const char *key);

/* stats text with tightBounds set to false (in `a`), or NULL when stats is. */
int dc_delta_w_stats_wide(const char **out, dc_arena *a, const char *stats, dc_err *err);

/* Appends one action line (no newline) in Spark's field names. */
int dc_delta_w_action_json(dc_buf *out, const dc_delta_action *act, dc_err *err);
/* Same as a checkpoint row: remove without stats and tags. */
int dc_delta_w_checkpoint_row_json(dc_buf *out, const dc_delta_action *act, dc_err *err);

/* The add and remove rows of a checkpoint written column by column straight
 * from the structs (delta_checkpoint_cols.c): the same values and nulls as
 * dc_delta_w_checkpoint_row_json's rows, without a JSON round trip per row.
 * `pw` and `schema` (the checkpoint schema) are borrowed. Rows are staged
 * and handed to pw in slices; flush before writing any other row to pw and
 * before closing it. */
typedef struct dc_delta_cp_cols dc_delta_cp_cols;
int dc_delta_cp_cols_new(dc_delta_cp_cols **out, dc_pq_writer *pw, const dc_pq_schema *schema,
                         dc_err *err);
int dc_delta_cp_cols_add(dc_delta_cp_cols *c, const dc_delta_add *a, dc_err *err);
int dc_delta_cp_cols_remove(dc_delta_cp_cols *c, const dc_delta_remove *r, dc_err *err);
int dc_delta_cp_cols_flush(dc_delta_cp_cols *c, dc_err *err);
void dc_delta_cp_cols_free(dc_delta_cp_cols *c);
/* The checkpoint's schema as Delta schema JSON (static text). */
const char *dc_delta_w_checkpoint_schema(void);

/* The tx commits metaData `m` (copied); used by schema evolution. */
int dc_delta_w_tx_set_metadata(dc_delta_tx *tx, const dc_delta_metadata *m, dc_err *err);
/* The snapshot a tx reads. */
dc_delta_snapshot *dc_delta_w_tx_snapshot(const dc_delta_tx *tx);

/* A random version-4 UUID: its 16 bytes and canonical text. */
int dc_delta_w_uuid(uint8_t b[16], char out[37], dc_err *err);

#endif /* DC_DELTA_WRITE_INT_H */
