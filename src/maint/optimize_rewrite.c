/*
 * OPTIMIZE: one bin rewritten into one file. Phase 1 reads the sort key of
 * every live row (the key columns only; rows hidden by a deletion vector
 * are left out) and sorts the rows; phase 2 copies the rows, column by
 * column, in that order into chunks handed to the Parquet writer. Inputs
 * the sorted order visits in file order keep one decoded row group at a
 * time (optimize_input.c).
 */
#include "optimize_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* Rows gathered per output chunk at most (fewer when their bytes reach
 * DC_OPTIMIZE_CHUNK_BYTES). */
#define OPT_CHUNK_ROWS 16384

/* A live row of the bin and where it is. */
typedef struct opt_row {
    const uint8_t *key;     /* its sort key (in the bin's key buffer), NULL without one */
    uint64_t key_off;       /* offset of the key in that buffer while it grows */
    uint32_t key_len;
    uint32_t in;            /* input index */
    uint32_t rg;            /* row group */
    uint32_t row;           /* row within the row group */
} opt_row;

typedef struct bin_state {
    opt_ctx *c;
    opt_input *in;          /* n_in inputs */
    size_t n_in;
    opt_row *rows;          /* live rows, in output order once sorted */
    size_t n_rows, cap_rows;
    dc_buf keys;            /* sort keys of the rows */
    dc_pq_column *kcol;     /* key columns of the row group being read */
    dc_pq_column *out;      /* output columns of the chunk being gathered */
    uint64_t dropped;       /* rows hidden by deletion vectors */
} bin_state;

/* ------------------------------------------------------ phase 1: rows */

static int push_row(bin_state *b, uint32_t in, uint32_t rg, uint32_t row, uint64_t key_off,
                    dc_err *err)
{
    if (b->n_rows == b->cap_rows) {
        size_t cap = b->cap_rows ? b->cap_rows * 2 : 4096, bytes;
        if (cap > DC_OPTIMIZE_MAX_BIN_ROWS || dc_mul_overflow_sz(cap, sizeof *b->rows, &bytes))
            return dc_err_set(err, DC_ELIMIT, "optimize: more than %" PRIu64 " rows in a bin",
                              (uint64_t)DC_OPTIMIZE_MAX_BIN_ROWS);
        opt_row *p = dc_realloc(b->rows, bytes);
        if (!p) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory for %zu rows", cap);
        b->rows = p;
        b->cap_rows = cap;
    }
    const size_t len = b->keys.len - key_off;
    b->rows[b->n_rows++] = (opt_row){NULL, key_off, (uint32_t)len, in, rg, row};
    return 0;
}

/* Appends the sort key of one row; cur[k] is the next value of key k. */
static int row_key(bin_state *b, const opt_input *in, size_t row, size_t *cur, dc_err *err)
{
    const opt_ctx *c = b->c;
    const size_t at = b->keys.len;
    for (uint32_t k = 0; k < c->n_keys; k++) {
        const uint32_t leaf = c->key_leaf[k];
        if (in->map[leaf] < 0) {
            DC_TRY(opt_key_null(&b->keys, err));
            continue;
        }
        const dc_pq_leaf *sl = &dc_pq_reader_schema(in->r)->leaves[in->map[leaf]];
        const dc_pq_column *col = &b->kcol[k];
        if (sl->max_def > 0 && col->def[row] != sl->max_def) {
            DC_TRY(opt_key_null(&b->keys, err));
            continue;
        }
        DC_TRY(opt_key_value(&b->keys, sl, col, cur[k]++, err));
    }
    if (b->keys.len - at > DC_OPTIMIZE_MAX_KEY_BYTES)
        return dc_err_set(err, DC_ELIMIT, "%s: a sort key of %zu bytes (limit %zu)",
                          in->add->path, b->keys.len - at, (size_t)DC_OPTIMIZE_MAX_KEY_BYTES);
    return 0;
}

static int read_keys(bin_state *b, opt_input *in, uint32_t rg, size_t rows, dc_err *err)
{
    const opt_ctx *c = b->c;
    for (uint32_t k = 0; k < c->n_keys; k++) {
        const int32_t sleaf = in->map[c->key_leaf[k]];
        if (sleaf < 0) continue;
        DC_TRY(dc_pq_reader_read_column(&b->kcol[k], in->r, rg, (uint32_t)sleaf, err));
        if (b->kcol[k].n_levels != rows)
            return dc_err_set(err, DC_ECORRUPT, "%s: row group %u has %zu rows, sort column "
                              "%u %zu values", in->add->path, rg, rows, k + 1,
                              b->kcol[k].n_levels);
    }
    return 0;
}

/* The live rows of input i, with their keys. */
static int collect_input(bin_state *b, uint32_t i, dc_err *err)
{
    opt_input *in = &b->in[i];
    const pq_file_meta *m = dc_pq_reader_meta(in->r);
    uint64_t base = 0;
    size_t dv_at = 0;
    for (uint32_t rg = 0; rg < in->n_rg; rg++) {
        const int64_t rows = m->row_groups[rg].num_rows;
        if (rows < 0 || rows > (int64_t)UINT32_MAX - 1)
            return dc_err_set(err, DC_ELIMIT, "%s: row group %u has %" PRId64 " rows",
                              in->add->path, rg, rows);
        if (b->c->n_keys) DC_TRY(read_keys(b, in, rg, (size_t)rows, err));
        size_t cur[DC_OPTIMIZE_MAX_KEYS] = {0};
        for (uint32_t r = 0; r < (uint32_t)rows; r++) {
            const uint64_t key_off = b->keys.len;
            if (b->c->n_keys) DC_TRY(row_key(b, in, r, cur, err));
            while (dv_at < in->n_dv && in->dv[dv_at] < base + r) dv_at++;
            if (dv_at < in->n_dv && in->dv[dv_at] == base + r) {
                b->keys.len = key_off;  /* deleted: its key is not kept */
                b->dropped++;
                continue;
            }
            DC_TRY(push_row(b, i, rg, r, key_off, err));
            in->live++;
        }
        base += (uint64_t)rows;
    }
    if (m->num_rows >= 0 && base != (uint64_t)m->num_rows)
        return dc_err_set(err, DC_ECORRUPT, "%s: row groups hold %" PRIu64 " rows, the footer "
                          "says %" PRId64, in->add->path, base, m->num_rows);
    return 0;
}

static int cmp_row(const void *pa, const void *pb)
{
    const opt_row *a = pa, *b = pb;
    if (a->key) {
        const uint32_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
        const int c = memcmp(a->key, b->key, n);
        if (c) return c;
        if (a->key_len != b->key_len) return a->key_len < b->key_len ? -1 : 1;
    }
    if (a->in != b->in) return a->in < b->in ? -1 : 1;
    if (a->rg != b->rg) return a->rg < b->rg ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

/* Sorts the rows by key; inputs visited out of file order are marked. */
static void sort_rows(bin_state *b)
{
    if (!b->c->n_keys) return;
    for (size_t k = 0; k < b->n_rows; k++) b->rows[k].key = b->keys.data + b->rows[k].key_off;
    qsort(b->rows, b->n_rows, sizeof *b->rows, cmp_row);
    uint64_t *last = dc_calloc(b->n_in + 1, sizeof *last);
    for (size_t k = 0; k < b->n_rows; k++) {
        const opt_row *r = &b->rows[k];
        const uint64_t pos = ((uint64_t)r->rg << 32 | r->row) + 1;
        if (!last) {
            b->in[r->in].monotonic = false;  /* no memory to tell: keep everything */
            continue;
        }
        if (pos < last[r->in]) b->in[r->in].monotonic = false;
        last[r->in] = pos;
    }
    dc_free(last);
}

/* ---------------------------------------------------- phase 2: copy */

/* Appends row `row` of decoded row group g of input `in` to output leaf i. */
static int copy_row(dc_pq_column *dst, const dc_pq_leaf *tl, const opt_input *in,
                    const opt_rg *g, uint32_t i, uint32_t row, dc_err *err)
{
    const bool want_def = tl->max_def > 0, want_rep = tl->max_rep > 0;
    if (in->map[i] < 0) { /* the file lacks the column: a null at the top */
        DC_TRY(dc_pq_column_reserve_levels(dst, 1, want_def, want_rep, err));
        DC_ASSERT(want_def);
        dst->def[dst->n_levels] = 0;
        if (want_rep) dst->rep[dst->n_levels] = 0;
        dst->n_levels++;
        return 0;
    }
    const dc_pq_column *src = &g->cols[i];
    const size_t ls = g->lstart[i] ? g->lstart[i][row] : row;
    const size_t le = g->lstart[i] ? g->lstart[i][row + 1] : (size_t)row + 1;
    const size_t vs = g->vstart[i] ? g->vstart[i][row] : row;
    const size_t ve = g->vstart[i] ? g->vstart[i][row + 1] : (size_t)row + 1;
    DC_TRY(dc_pq_column_reserve_levels(dst, le - ls, want_def, want_rep, err));
    for (size_t l = ls; want_def && l < le; l++)
        dst->def[dst->n_levels + l - ls] = in->promote[i] ? tl->max_def : src->def[l];
    if (want_rep) memcpy(dst->rep + dst->n_levels, src->rep + ls, (le - ls) * sizeof *dst->rep);
    dst->n_levels += le - ls;
    const size_t w = dc_pq_phys_width(tl->phys, tl->type_length);
    if (w) {
        DC_TRY(dc_buf_append(&dst->values, src->values.data + vs * w, (ve - vs) * w, err));
    } else if (ve > vs) {
        const uint32_t o0 = src->offsets[vs], n = src->offsets[ve] - o0;
        if (dst->values.len + n > UINT32_MAX)
            return dc_err_set(err, DC_ELIMIT, "optimize: a chunk of more than 4 GiB");
        DC_TRY(dc_pq_column_reserve_offsets(dst, ve - vs, err));
        const uint32_t base = (uint32_t)dst->values.len;
        DC_TRY(dc_buf_append(&dst->values, src->values.data + o0, n, err));
        for (size_t v = vs; v < ve; v++)
            dst->offsets[dst->n_values + 1 + (v - vs)] = base + (src->offsets[v + 1] - o0);
    }
    dst->n_values += ve - vs;
    return 0;
}

/* Gathers rows [*at, ...) into b->out (at most a chunk); *n gets the count. */
static int gather(bin_state *b, size_t *at, size_t *n, dc_err *err)
{
    const dc_pq_schema *ts = b->c->schema;
    for (uint32_t i = 0; i < ts->n_leaves; i++) {
        dc_pq_column_reset(&b->out[i]);
        if (ts->leaves[i].phys == PQ_BYTE_ARRAY)  /* offsets[0] even for an all-null chunk */
            DC_TRY(dc_pq_column_reserve_offsets(&b->out[i], 0, err));
    }
    size_t bytes = 0;
    *n = 0;
    while (*at < b->n_rows && *n < OPT_CHUNK_ROWS && bytes < DC_OPTIMIZE_CHUNK_BYTES) {
        const opt_row *r = &b->rows[(*at)++];
        opt_input *in = &b->in[r->in];
        const opt_rg *g = NULL;
        DC_TRY(opt_input_rg(&g, in, b->c, r->rg, err));
        bytes = 0;
        for (uint32_t i = 0; i < ts->n_leaves; i++) {
            DC_TRY(copy_row(&b->out[i], &ts->leaves[i], in, g, i, r->row, err));
            bytes += b->out[i].values.len;
        }
        (*n)++;
    }
    return 0;
}

/* ---------------------------------------------------------- the file */

static int new_path(opt_out *o, const opt_ctx *c, const dc_delta_add *first, dc_err *err)
{
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(c->snap);
    dc_buf p;
    dc_buf_init(&p, 1 << 20);
    char uuid[37];
    int rc = dc_delta_uuid_v4(uuid, err);
    for (uint32_t i = 0; rc == 0 && i < m->n_partition_columns; i++) {
        bool found = false;
        const char *v = dc_delta_map_get(&first->partition_values, m->partition_columns[i],
                                         &found);
        rc = dc_delta_partition_dir(&p, m->partition_columns[i], v, err);
        if (rc == 0) rc = dc_buf_putc(&p, '/', err);
    }
    if (rc == 0) rc = dc_buf_appendf(&p, err, "part-00000-%s-c000.%s.parquet%c", uuid,
                                     c->codec_tag, 0);
    if (rc == 0) o->rel_path = (char *)dc_buf_steal(&p, NULL);
    dc_buf_dispose(&p);
    return rc;
}

static int write_rows(bin_state *b, dc_pq_writer *pw, dc_err *err)
{
    for (size_t at = 0; at < b->n_rows;) {
        size_t n = 0;
        DC_TRY(gather(b, &at, &n, err));
        DC_TRY(dc_pq_writer_write_columns(pw, b->out, n, err));
    }
    return 0;
}

/* Streams the sorted rows into a new file and makes it appear durably. */
static int write_file(opt_out *o, bin_state *b, dc_err *err)
{
    const opt_ctx *c = b->c;
    dc_storage_writer *sw = NULL;
    dc_pq_writer *pw = NULL;
    int rc = new_path(o, c, b->in[0].add, err);
    if (rc == 0) rc = dc_storage_writer_open(&sw, c->s, o->rel_path, err);
    dc_pq_sink sink = {1, sw, dc_storage_writer_write};
    if (rc == 0) rc = dc_pq_writer_new(&pw, c->schema, &c->pq, &sink, err);
    if (rc == 0) rc = write_rows(b, pw, err);
    if (rc == 0) rc = dc_pq_writer_close(pw, err);
    const pq_file_meta *meta = rc == 0 ? dc_pq_writer_meta(pw) : NULL;
    if (rc == 0 && (meta->num_rows < 0 || (uint64_t)meta->num_rows != b->n_rows))
        rc = dc_err_set(err, DC_EINTERNAL, "optimize: wrote %" PRId64 " rows of %zu",
                        meta->num_rows, b->n_rows);
    if (rc == 0) rc = dc_delta_stats_from_footer(&o->stats, c->schema, meta, &c->stats, err);
    if (rc == 0) rc = dc_buf_putc(&o->stats, 0, err);
    if (rc == 0) {
        o->size = (int64_t)dc_pq_writer_bytes_written(pw);
        rc = dc_storage_unknown_is_failure(dc_storage_writer_commit(sw, true, err), err);
        sw = NULL;
        o->written = rc == 0;
    }
    if (rc == 0) rc = dc_delta_path_encode(&o->path_enc, o->rel_path, strlen(o->rel_path), err);
    if (rc == 0) rc = dc_buf_putc(&o->path_enc, 0, err);
    dc_storage_writer_abort(sw);
    dc_pq_writer_free(pw);
    if (rc < 0) dc_err_prefix(err, "optimize: writing %s", o->rel_path ? o->rel_path : "a file");
    return rc;
}

static int bin_state_init(bin_state *b, opt_ctx *c, size_t n, dc_err *err)
{
    memset(b, 0, sizeof *b);
    b->c = c;
    dc_buf_init(&b->keys, DC_OPTIMIZE_MAX_BIN_KEY_BYTES);
    b->in = dc_calloc(n + 1, sizeof *b->in);
    b->kcol = dc_calloc(DC_OPTIMIZE_MAX_KEYS, sizeof *b->kcol);
    b->out = dc_calloc(c->schema->n_leaves + 1, sizeof *b->out);
    if (!b->in || !b->kcol || !b->out) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    for (uint32_t k = 0; k < DC_OPTIMIZE_MAX_KEYS; k++) dc_pq_column_init(&b->kcol[k]);
    for (uint32_t i = 0; i < c->schema->n_leaves; i++) dc_pq_column_init(&b->out[i]);
    return 0;
}

static void bin_state_dispose(bin_state *b)
{
    for (size_t i = 0; b->in && i < b->n_in; i++) opt_input_close(&b->in[i], b->c);
    for (uint32_t k = 0; b->kcol && k < DC_OPTIMIZE_MAX_KEYS; k++) dc_pq_column_dispose(&b->kcol[k]);
    for (uint32_t i = 0; b->out && i < b->c->schema->n_leaves; i++) dc_pq_column_dispose(&b->out[i]);
    dc_free(b->in);
    dc_free(b->kcol);
    dc_free(b->out);
    dc_free(b->rows);
    dc_buf_dispose(&b->keys);
}

/* Where each input row went: maps[in][physical row] = output row (rows
 * are written in b->rows order), UINT32_MAX for rows not written. */
static int make_maps(opt_out *out, const bin_state *b, dc_err *err)
{
    out->maps = dc_calloc(b->n_in, sizeof *out->maps);
    out->map_rows = dc_calloc(b->n_in, sizeof *out->map_rows);
    uint64_t **rg_base = dc_calloc(b->n_in, sizeof *rg_base);
    int rc = out->maps && out->map_rows && rg_base ? 0 : DC_ENOMEM;
    out->n_maps = out->maps && out->map_rows ? b->n_in : 0;
    for (size_t i = 0; rc == 0 && i < b->n_in; i++) {
        const pq_file_meta *m = dc_pq_reader_meta(b->in[i].r);
        const uint64_t rows = (uint64_t)m->num_rows; /* checked by collect_input */
        out->map_rows[i] = rows;
        out->maps[i] = dc_malloc((rows ? rows : 1) * sizeof **out->maps);
        rg_base[i] = dc_malloc((m->n_row_groups + 1) * sizeof **rg_base);
        if (!out->maps[i] || !rg_base[i]) {
            rc = DC_ENOMEM;
            break;
        }
        memset(out->maps[i], 0xff, rows * sizeof **out->maps);
        uint64_t base = 0;
        for (uint32_t rg = 0; rg < m->n_row_groups; rg++) {
            rg_base[i][rg] = base;
            base += (uint64_t)m->row_groups[rg].num_rows;
        }
    }
    DC_ASSERT(rc < 0 || b->n_rows < UINT32_MAX);
    for (size_t k = 0; rc == 0 && k < b->n_rows; k++) {
        const opt_row *r = &b->rows[k];
        const uint64_t phys = rg_base[r->in][r->rg] + r->row;
        DC_ASSERT(phys < out->map_rows[r->in] && out->maps[r->in][phys] == UINT32_MAX);
        out->maps[r->in][phys] = (uint32_t)k;
    }
    for (size_t i = 0; rg_base && i < b->n_in; i++) dc_free(rg_base[i]);
    dc_free(rg_base);
    if (rc < 0) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory for the row maps");
    return 0;
}

int opt_rewrite_bin(opt_out *out, opt_ctx *c, const dc_delta_add *const *files, size_t n,
                    dc_err *err)
{
    memset(out, 0, sizeof *out);
    dc_buf_init(&out->path_enc, 1 << 20);
    dc_buf_init(&out->stats, DC_JSON_MAX_DOC_BYTES);
    DC_ASSERT(n > 0 && n <= UINT32_MAX);
    bin_state b;
    int rc = bin_state_init(&b, c, n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = opt_input_open(&b.in[i], c, files[i], err);
        b.n_in = i + 1;
        if (rc == 0) rc = collect_input(&b, (uint32_t)i, err);
    }
    if (rc == 0) sort_rows(&b);
    if (rc == 0 && b.n_rows) rc = write_file(out, &b, err);
    if (rc == 0 && c->o->row_maps) rc = make_maps(out, &b, err);
    if (rc == 0) {
        out->rows = b.n_rows;
        out->rows_dropped = b.dropped;
    }
    bin_state_dispose(&b);
    return rc;
}

void opt_out_dispose(opt_out *o)
{
    for (size_t i = 0; i < o->n_maps; i++) dc_free(o->maps[i]);
    dc_free(o->maps);
    dc_free(o->map_rows);
    dc_free(o->rel_path);
    dc_buf_dispose(&o->path_enc);
    dc_buf_dispose(&o->stats);
    memset(o, 0, sizeof *o);
}

void opt_out_discard(opt_out *o, dc_storage *s)
{
    dc_err err;
    if (o->written && dc_storage_remove(s, o->rel_path, &err) < 0)
        DC_LOG(DC_LOG_WARN, "optimize", "could not remove the unused file %s: %s", o->rel_path,
               err.msg);
    o->written = false;
}
