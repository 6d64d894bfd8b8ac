/*
 * Raw-format rows in columns (one dc_pq_column per column of the table,
 * the raw format being flat) and the data files they become: written
 * through storage with put-if-absent, durable before any commit names them,
 * with stats from the footer. dc_merge_write_file is the one data-file
 * writer of src/merge: raw rows come as columns, typed rows (merge_batch.c,
 * merge_typed_cow.c) as JSON rows through a feed function.
 */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>

void dc_mrows_init(mrows *r, const dc_merge_table *t)
{
    memset(r, 0, sizeof *r);
    r->t = t;
    DC_ASSERT(t->pq_schema->n_leaves == t->n_cols);
    for (uint32_t i = 0; i < t->n_cols; i++) dc_pq_column_init(&r->cols[i]);
}

void dc_mrows_dispose(mrows *r)
{
    if (!r->t) return;
    for (uint32_t i = 0; i < r->t->n_cols; i++) dc_pq_column_dispose(&r->cols[i]);
    r->t = NULL;
}

static const dc_pq_leaf *leaf_of(const mrows *r, uint32_t col)
{
    DC_ASSERT(col < r->t->n_cols);
    return &r->t->pq_schema->leaves[col];
}

/* One more level entry: def = max_def (a value) or 0 (null). */
static int put_level(mrows *r, uint32_t col, bool present, dc_err *err)
{
    const dc_pq_leaf *leaf = leaf_of(r, col);
    dc_pq_column *c = &r->cols[col];
    DC_ASSERT(c->n_levels == r->n);
    if (!present && leaf->max_def == 0)
        return dc_err_set(err, DC_EINVAL, "column '%s' is not nullable: no null can go in it",
                          r->t->cols[col].name);
    DC_TRY(dc_pq_column_reserve_levels(c, 1, leaf->max_def > 0, false, err));
    if (leaf->max_def > 0) c->def[c->n_levels] = present ? leaf->max_def : 0;
    c->n_levels++;
    return 0;
}

int dc_mrows_put_null(mrows *r, uint32_t col, dc_err *err)
{
    return put_level(r, col, false, err);
}

int dc_mrows_put_i64(mrows *r, uint32_t col, int64_t v, dc_err *err)
{
    const dc_pq_leaf *leaf = leaf_of(r, col);
    dc_pq_column *c = &r->cols[col];
    if (leaf->phys == PQ_INT32) {
        int32_t lo = INT32_MIN, hi = INT32_MAX;
        if (r->t->cols[col].type == DC_TYPE_SHORT) lo = INT16_MIN, hi = INT16_MAX;
        if (r->t->cols[col].type == DC_TYPE_BYTE) lo = INT8_MIN, hi = INT8_MAX;
        if (v < lo || v > hi)
            return dc_err_set(err, DC_EINVAL, "column '%s': %" PRId64 " does not fit its type",
                              r->t->cols[col].name, v);
        const int32_t w = (int32_t)v;
        DC_TRY(dc_buf_append(&c->values, &w, 4, err));
    } else {
        DC_ASSERT(leaf->phys == PQ_INT64);
        DC_TRY(dc_buf_append(&c->values, &v, 8, err));
    }
    DC_TRY(put_level(r, col, true, err));
    c->n_values++;
    return 0;
}

int dc_mrows_put_bytes(mrows *r, uint32_t col, const void *p, size_t n, dc_err *err)
{
    if (!p) return dc_mrows_put_null(r, col, err);
    const dc_pq_leaf *leaf = leaf_of(r, col);
    dc_pq_column *c = &r->cols[col];
    DC_ASSERT(leaf->phys == PQ_BYTE_ARRAY);
    if (n > UINT32_MAX - c->values.len)
        return dc_err_set(err, DC_ELIMIT, "column '%s': more than 4 GiB of values in one file",
                          r->t->cols[col].name);
    DC_TRY(dc_pq_column_reserve_offsets(c, 1, err));
    DC_TRY(dc_buf_append(&c->values, p, n, err));
    DC_TRY(put_level(r, col, true, err));
    c->offsets[c->n_values + 1] = (uint32_t)c->values.len;
    c->n_values++;
    return 0;
}

int dc_mrows_put_key(mrows *r, const mkey *k, dc_err *err)
{
    const dc_merge_table *t = r->t;
    if (t->index.int_keys) return dc_mrows_put_i64(r, t->key_col[0], k->i, err);
    size_t at = 0;
    for (uint32_t i = 0; i < t->n_keys; i++) {
        if (t->key_types[i] == DC_CDC_KEY_LONG) {
            DC_ASSERT(k->len - at >= 8);
            DC_TRY(dc_mrows_put_i64(r, t->key_col[i], dc_mkey_long_get(k->b + at), err));
            at += 8;
        } else {
            DC_ASSERT(k->len - at >= 4);
            const uint32_t n = dc_load_le32(k->b + at);
            DC_ASSERT(k->len - at - 4 >= n);
            DC_TRY(dc_mrows_put_bytes(r, t->key_col[i], k->b + at + 4, n, err));
            at += 4 + (size_t)n;
        }
    }
    DC_ASSERT(at == k->len);
    return 0;
}

void dc_mrows_end_row(mrows *r)
{
    r->n++;
    for (uint32_t i = 0; i < r->t->n_cols; i++) DC_ASSERT(r->cols[i].n_levels == r->n);
}

/* ------------------------------------------------------------- files */

static int new_path(mfile_out *f, const char *tag, dc_err *err)
{
    char uuid[37], name[128];
    DC_TRY(dc_delta_uuid_v4(uuid, err));
    snprintf(name, sizeof name, "part-00000-%s-c000.%s.parquet", uuid, tag);
    if (!(f->rel_path = dc_strdup(name)))
        return dc_err_set(err, DC_ENOMEM, "data file: out of memory");
    return 0;
}

/* Streams the rows into storage and makes the file appear (durably). */
static int write_parquet(mfile_out *f, dc_merge_table *t, const dc_pq_writer_opts *po,
                         dc_mfeed_fn feed, void *ctx, pq_file_meta const **meta_out,
                         dc_pq_writer **pw_out, dc_err *err)
{
    dc_storage_writer *sw = NULL;
    DC_TRY(dc_storage_writer_open(&sw, t->s, f->rel_path, err));
    dc_pq_sink sink = {1, sw, dc_storage_writer_write};
    int rc = dc_pq_writer_new(pw_out, t->pq_schema, po, &sink, err);
    if (rc == 0) rc = feed(*pw_out, ctx, err);
    if (rc == 0) rc = dc_pq_writer_close(*pw_out, err);
    if (rc == 0) {
        f->add.size = (int64_t)dc_pq_writer_bytes_written(*pw_out);
        *meta_out = dc_pq_writer_meta(*pw_out);
        rc = dc_storage_unknown_is_failure(dc_storage_writer_commit(sw, true, err), err);
        sw = NULL;
        f->written = rc == 0;
    }
    dc_storage_writer_abort(sw);
    return rc;
}

int dc_merge_write_file(mfile_out *f, dc_merge_table *t, dc_mfeed_fn feed, void *ctx,
                        size_t n_rows, dc_err *err)
{
    memset(f, 0, sizeof *f);
    dc_buf_init(&f->path_enc, 1 << 20);
    dc_buf_init(&f->stats, DC_JSON_MAX_DOC_BYTES);
    DC_ASSERT(n_rows > 0);
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(t->snap);
    dc_delta_stats_opts so;
    dc_pq_writer_opts po;
    const char *tag = NULL;
    const pq_file_meta *meta = NULL;
    dc_pq_writer *pw = NULL;
    int rc = dc_delta_stats_opts_from_metadata(&so, dc_delta_snapshot_protocol(t->snap), m,
                                               err);
    if (rc == 0) rc = dc_delta_data_file_opts(&po, &tag, m, err);
    if (rc == 0) rc = new_path(f, tag, err);
    if (rc == 0) rc = write_parquet(f, t, &po, feed, ctx, &meta, &pw, err);
    if (rc == 0) rc = dc_delta_stats_from_footer(&f->stats, t->pq_schema, meta, &so, err);
    if (rc == 0) rc = dc_buf_putc(&f->stats, 0, err);
    if (rc == 0) rc = dc_delta_path_encode(&f->path_enc, f->rel_path, strlen(f->rel_path), err);
    if (rc == 0) rc = dc_buf_putc(&f->path_enc, 0, err);
    if (rc == 0 && meta->num_rows != (int64_t)n_rows)
        rc = dc_err_set(err, DC_EINVAL, "%" PRId64 " rows written, %zu expected", meta->num_rows,
                        n_rows);
    if (rc == 0) {
        f->n_rows = n_rows;
        f->add.path = (const char *)f->path_enc.data;
        f->add.modification_time = dc_delta_now_ms();
        f->add.data_change = true;
        f->add.stats = (const char *)f->stats.data;
    }
    dc_pq_writer_free(pw);
    if (rc < 0) dc_err_prefix(err, "data file %s", f->rel_path ? f->rel_path : "(new)");
    return rc;
}

static int feed_columns(dc_pq_writer *w, void *ctx, dc_err *err)
{
    const mrows *r = ctx;
    return dc_pq_writer_write_columns(w, r->cols, r->n, err);
}

int dc_mrows_write_file(mfile_out *f, mrows *r, dc_err *err)
{
    return dc_merge_write_file(f, (dc_merge_table *)r->t, feed_columns, r, r->n, err);
}

void dc_mfile_out_dispose(mfile_out *f)
{
    dc_free(f->rel_path);
    dc_buf_dispose(&f->path_enc);
    dc_buf_dispose(&f->stats);
    memset(f, 0, sizeof *f);
}

void dc_mfile_out_discard(mfile_out *f, dc_storage *s)
{
    dc_err err;
    if (f->written && dc_storage_remove(s, f->rel_path, &err) < 0)
        DC_LOG(DC_LOG_WARN, "merge", "could not remove unused data file: %s", err.msg);
}

/* ------------------------------------------------------ reading back */

int64_t dc_mcol_i64(const mcolcur *cc, size_t vi)
{
    const uint8_t *p = cc->c->values.data;
    if (cc->leaf->phys == PQ_INT32) {
        DC_ASSERT((vi + 1) * 4 <= cc->c->values.len);
        return (int32_t)dc_load_le32(p + vi * 4);
    }
    DC_ASSERT(cc->leaf->phys == PQ_INT64 && (vi + 1) * 8 <= cc->c->values.len);
    return (int64_t)dc_load_le64(p + vi * 8);
}
