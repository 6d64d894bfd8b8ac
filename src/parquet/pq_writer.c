/*
 * The Parquet writer: options, the writer object, row-group buffering (one
 * row group of levels and values in per-leaf dc_pq_column buffers, flushed
 * past row_group_bytes), columnar batches, the page index and the footer,
 * and the file and memory sinks.
 *
 * File layout: "PAR1", row groups (each column chunk: dictionary page, data
 * pages), every ColumnIndex, every OffsetIndex, the footer, its 4-byte
 * length, "PAR1" (what parquet-java and Arrow write).
 */
#include "pq_wr_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "../common/dc_limits.h"

/* Footer structures in memory: a few times the encoded footer at most. */
#define PQ_WR_META_ARENA_MAX ((size_t)DC_PQ_MAX_FOOTER_BYTES * 8)

void dc_pq_writer_opts_init(dc_pq_writer_opts *o)
{
    memset(o, 0, sizeof *o);
    o->codec = PQ_CODEC_ZSTD;
    o->level = -1;
    o->row_group_bytes = DC_PQ_DEFAULT_ROW_GROUP_BYTES;
    o->page_bytes = DC_PQ_DEFAULT_PAGE_BYTES;
    o->dict_bytes = DC_PQ_DEFAULT_DICT_BYTES;
    o->dictionary = true;
    o->page_index = true;
}

/* ---------------------------------------------------------- output */

static int sink_write(dc_pq_writer *w, const void *p, size_t n, dc_err *err)
{
    int rc = w->sink->write(w->sink->ctx, p, n, err);
    if (rc < 0) w->state = PQ_WR_FAILED;
    return rc;
}

static int flush_out(dc_pq_writer *w, dc_err *err)
{
    if (w->out.len == 0) return 0;
    DC_TRY(sink_write(w, w->out.data, w->out.len, err));
    dc_buf_reset(&w->out);
    return 0;
}

int pq_wr_emit(dc_pq_writer *w, const void *p, size_t n, dc_err *err)
{
    if (n == 0) return 0;
    if (w->out.len + n > PQ_WR_OUT_BYTES) {
        DC_TRY(flush_out(w, err));
        if (n >= PQ_WR_OUT_BYTES) {
            DC_TRY(sink_write(w, p, n, err));
            w->offset += n;
            return 0;
        }
    }
    DC_TRY(dc_buf_append(&w->out, p, n, err));
    w->offset += n;
    return 0;
}

/* ---------------------------------------------------------- columns */

int pq_wr_col_reserve_levels(dc_pq_column *c, const dc_pq_leaf *leaf, size_t extra, dc_err *err)
{
    return dc_pq_column_reserve_levels(c, extra, leaf->max_def > 0, leaf->max_rep > 0, err);
}

int pq_wr_col_close_ba(dc_pq_column *c, size_t start, dc_err *err)
{
    if (c->values.len > UINT32_MAX)
        return dc_err_set(err, DC_ELIMIT, "parquet writer: a column's byte arrays exceed 4 GiB "
                          "in one row group");
    DC_TRY(dc_pq_column_reserve_offsets(c, 1, err));
    if (c->n_values == 0) c->offsets[0] = (uint32_t)start;
    c->offsets[c->n_values + 1] = (uint32_t)c->values.len;
    c->n_values++;
    return 0;
}

int pq_wr_col_push_ba(dc_pq_column *c, const uint8_t *p, size_t n, dc_err *err)
{
    const size_t start = c->values.len;
    if (n > UINT32_MAX - start)
        return dc_err_set(err, DC_ELIMIT, "parquet writer: a column's byte arrays exceed 4 GiB "
                          "in one row group");
    /* Once per string value written: the offsets' room is checked here
     * before calling to grow them, and the value's end needs no 4 GiB check
     * beyond the one above. */
    if (!c->offsets || c->n_values + 2 > c->offsets_cap)
        DC_TRY(dc_pq_column_reserve_offsets(c, 1, err));
    DC_TRY(dc_buf_append(&c->values, p, n, err));
    if (c->n_values == 0) c->offsets[0] = (uint32_t)start;
    c->offsets[c->n_values + 1] = (uint32_t)c->values.len;
    c->n_values++;
    return 0;
}

void pq_wr_mark_all(dc_pq_writer *w)
{
    for (uint32_t i = 0; i < w->schema->n_leaves; i++) {
        const dc_pq_column *c = &w->cols[i];
        w->marks[i] = (pq_wr_mark){c->n_levels, c->n_values, c->values.len};
    }
}

void pq_wr_rollback(dc_pq_writer *w, size_t rg_bytes)
{
    for (uint32_t i = 0; i < w->schema->n_leaves; i++) {
        dc_pq_column *c = &w->cols[i];
        c->n_levels = w->marks[i].n_levels;
        c->n_values = w->marks[i].n_values;
        c->values.len = w->marks[i].values_len;
    }
    w->rg_bytes = rg_bytes;
}

/* -------------------------------------------------------- row groups */

static int rg_slot(dc_pq_writer *w, pq_row_group **out, dc_err *err)
{
    if (w->n_rgs >= DC_PQ_MAX_ROW_GROUPS)
        return dc_err_set(err, DC_ELIMIT, "parquet writer: more than %u row groups",
                          (unsigned)DC_PQ_MAX_ROW_GROUPS);
    if (w->n_rgs == w->rgs_cap) {
        uint32_t cap = w->rgs_cap ? w->rgs_cap * 2 : 8;
        pq_row_group *r = dc_realloc(w->rgs, (size_t)cap * sizeof *r);
        if (!r) return dc_err_set(err, DC_ENOMEM, "parquet writer: out of memory (row groups)");
        w->rgs = r;
        w->rgs_cap = cap;
    }
    pq_row_group *rg = &w->rgs[w->n_rgs];
    memset(rg, 0, sizeof *rg);
    rg->columns = dc_arena_alloc(&w->meta, (size_t)w->schema->n_leaves * sizeof *rg->columns, err);
    if (!rg->columns) return err ? err->code : DC_ENOMEM;
    *out = rg;
    return 0;
}

/* Writes the buffered rows as one row group (never an empty one). */
static int flush_row_group(dc_pq_writer *w, dc_err *err)
{
    if (w->rg_rows == 0) return 0;
    pq_row_group *rg = NULL;
    int rc = rg_slot(w, &rg, err);
    for (uint32_t i = 0; rc == 0 && i < w->schema->n_leaves; i++) {
        rc = pq_wr_chunk_write(w, i, &rg->columns[i], err);
        if (rc < 0) dc_err_prefix(err, "column %s of row group %u", w->schema->leaves[i].dotted,
                                  w->n_rgs);
    }
    if (rc < 0) {
        w->state = PQ_WR_FAILED;  /* pages of a half-written chunk are out */
        return rc;
    }
    rg->n_columns = w->schema->n_leaves;
    rg->num_rows = (int64_t)w->rg_rows;
    rg->has_file_offset = rg->has_total_compressed_size = true;
    rg->file_offset = rg->columns[0].file_offset;
    for (uint32_t i = 0; i < rg->n_columns; i++) {
        rg->total_byte_size += rg->columns[i].meta_data.total_uncompressed_size;
        rg->total_compressed_size += rg->columns[i].meta_data.total_compressed_size;
    }
    rg->has_ordinal = w->n_rgs <= INT16_MAX;
    rg->ordinal = (int16_t)(rg->has_ordinal ? w->n_rgs : 0);
    w->n_rgs++;
    w->num_rows += (int64_t)w->rg_rows;
    for (uint32_t i = 0; i < w->schema->n_leaves; i++) dc_pq_column_reset(&w->cols[i]);
    w->rg_rows = 0;
    w->rg_bytes = 0;
    return 0;
}

int pq_wr_maybe_flush(dc_pq_writer *w, dc_err *err)
{
    if (w->rg_bytes < w->opts.row_group_bytes) return 0;
    return flush_row_group(w, err);
}

/* ------------------------------------------------------------ object */

static int check_opts(const dc_pq_writer_opts *o, dc_err *err)
{
    /* LZ4 (Hadoop framing) is deprecated and read two ways; LZO not at all. */
    switch (o->codec) {
    case PQ_CODEC_UNCOMPRESSED: case PQ_CODEC_SNAPPY: case PQ_CODEC_GZIP: case PQ_CODEC_ZSTD:
    case PQ_CODEC_BROTLI: case PQ_CODEC_LZ4_RAW:
        break;
    default:
        return dc_err_set(err, DC_EUNSUPPORTED, "parquet writer: codec %s is not supported for "
                          "writing (use zstd, snappy, gzip, brotli, lz4_raw or uncompressed)",
                          pq_codec_name(o->codec));
    }
    if (o->row_group_bytes == 0 || o->row_group_bytes > DC_PQ_MAX_CHUNK_BYTES)
        return dc_err_set(err, DC_EINVAL, "parquet writer: row_group_bytes must be 1..%zu "
                          "(what a reader can hold of one column chunk)", DC_PQ_MAX_CHUNK_BYTES);
    if (o->page_bytes == 0 || o->page_bytes > DC_PQ_MAX_PAGE_BYTES / 2)
        return dc_err_set(err, DC_EINVAL, "parquet writer: page_bytes must be 1..%u",
                          DC_PQ_MAX_PAGE_BYTES / 2);
    if (o->dict_bytes > DC_PQ_MAX_PAGE_BYTES / 2)
        return dc_err_set(err, DC_EINVAL, "parquet writer: dict_bytes must be at most %u",
                          DC_PQ_MAX_PAGE_BYTES / 2);
    if (o->n_kv && !o->kv) return dc_err_set(err, DC_EINVAL, "parquet writer: n_kv without kv");
    for (uint32_t i = 0; i < o->n_kv; i++)
        if (!o->kv[i].key) return dc_err_set(err, DC_EINVAL, "parquet writer: kv[%u] has no key", i);
    return 0;
}

/* Depth of the logical tree, so paths of shredded rows fit w->path. */
static int tree_depth(const dc_pq_field *f)
{
    int d = 0;
    for (uint32_t i = 0; i < f->n_children; i++) {
        int c = tree_depth(&f->children[i]);
        if (c > d) d = c;
        if (d > DC_PQ_MAX_SCHEMA_DEPTH) break;
    }
    return d + 1;
}

static int check_schema(const dc_pq_schema *s, dc_err *err)
{
    if (s->n_leaves == 0)
        return dc_err_set(err, DC_EINVAL, "parquet writer: the schema has no columns");
    if (tree_depth(&s->root) > DC_PQ_MAX_SCHEMA_DEPTH)
        return dc_err_set(err, DC_ELIMIT, "parquet writer: schema nesting deeper than %d",
                          DC_PQ_MAX_SCHEMA_DEPTH);
    for (uint32_t i = 0; i < s->n_leaves; i++) {
        const dc_pq_leaf *l = &s->leaves[i];
        if (l->max_def < 0 || l->max_rep < 0 || !l->field || !l->path || l->n_path == 0 ||
            (l->phys == PQ_FIXED_LEN_BYTE_ARRAY && l->type_length <= 0))
            return dc_err_set(err, DC_EINVAL, "parquet writer: leaf %u (%s) is malformed", i,
                              l->dotted ? l->dotted : "?");
    }
    return 0;
}

static int writer_alloc(dc_pq_writer *w, dc_err *err)
{
    const uint32_t n = w->schema->n_leaves;
    w->cols = dc_calloc(n, sizeof *w->cols);
    w->marks = dc_calloc(n, sizeof *w->marks);
    if (!w->cols || !w->marks)
        return dc_err_set(err, DC_ENOMEM, "parquet writer: out of memory (%u columns)", n);
    for (uint32_t i = 0; i < n; i++) {
        dc_pq_column_init(&w->cols[i]);
        /* Offsets are 32-bit: one chunk's bytes stay below 4 GiB. */
        w->cols[i].values.max = UINT32_MAX;
    }
    /* Value bytes are never a NULL pointer, even for columns of empty
     * strings (memcmp/memcpy of 0 bytes from NULL is undefined). */
    for (uint32_t i = 0; i < n; i++) DC_TRY(dc_buf_reserve(&w->cols[i].values, 64, err));
    const dc_pq_field *root = &w->schema->root;
    w->root_name_len = dc_calloc(root->n_children ? root->n_children : 1,
                                 sizeof *w->root_name_len);
    if (!w->root_name_len)
        return dc_err_set(err, DC_ENOMEM, "parquet writer: out of memory (%u columns)", n);
    for (uint32_t i = 0; i < root->n_children; i++) {
        const char *nm = root->children[i].name;
        size_t k = 0;
        while (nm[k] && dc_json_plain_byte[(uint8_t)nm[k]]) k++;
        w->root_name_len[i] = nm[k] || k >= UINT32_MAX ? UINT32_MAX : (uint32_t)k;
    }
    return 0;
}

int dc_pq_writer_new(dc_pq_writer **out, const dc_pq_schema *schema,
                     const dc_pq_writer_opts *opts, dc_pq_sink *sink, dc_err *err)
{
    *out = NULL;
    dc_pq_writer_opts defaults;
    if (!opts) {
        dc_pq_writer_opts_init(&defaults);
        opts = &defaults;
    }
    DC_TRY(check_opts(opts, err));
    DC_TRY(check_schema(schema, err));
    if (!sink || sink->version != 1 || !sink->write)
        return dc_err_set(err, DC_EINVAL, "parquet writer: sink missing or not version 1");
    dc_pq_writer *w = dc_calloc(1, sizeof *w);
    if (!w) return dc_err_set(err, DC_ENOMEM, "parquet writer: out of memory");
    w->schema = schema;
    w->opts = *opts;
    w->sink = sink;
    dc_buf_init(&w->out, PQ_WR_OUT_BYTES);
    dc_arena_init(&w->meta, PQ_WR_META_ARENA_MAX);
    dc_buf_init(&w->ci, DC_PQ_MAX_FOOTER_BYTES);
    dc_buf_init(&w->oi, DC_PQ_MAX_FOOTER_BYTES);
    dc_buf_init(&w->seen, (size_t)DC_PQ_MAX_SCHEMA_ELEMENTS * DC_PQ_MAX_SCHEMA_DEPTH);
    dc_buf_init(&w->unesc, DC_JSON_MAX_DOC_BYTES);
    pq_wr_enc_init(&w->enc);
    int rc = writer_alloc(w, err);
    if (rc == 0) rc = pq_wr_emit(w, "PAR1", 4, err);
    if (rc < 0) {
        dc_pq_writer_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void dc_pq_writer_free(dc_pq_writer *w)
{
    if (!w) return;
    if (w->cols)
        for (uint32_t i = 0; i < w->schema->n_leaves; i++) dc_pq_column_dispose(&w->cols[i]);
    dc_free(w->cols);
    dc_free(w->marks);
    dc_free(w->root_name_len);
    dc_buf_dispose(&w->out);
    dc_arena_dispose(&w->meta);
    dc_free(w->rgs);
    dc_buf_dispose(&w->ci);
    dc_buf_dispose(&w->oi);
    dc_buf_dispose(&w->seen);
    dc_buf_dispose(&w->unesc);
    pq_wr_enc_dispose(&w->enc);
    dc_free(w);
}

int pq_wr_check_open(const dc_pq_writer *w, dc_err *err)
{
    if (w->state == PQ_WR_OPEN) return 0;
    return dc_err_set(err, DC_EINVAL, "parquet writer: %s",
                      w->state == PQ_WR_CLOSED ? "already closed"
                                               : "an earlier write failed; the file is unusable");
}

int dc_pq_writer_write_json_row(dc_pq_writer *w, const dc_json *row, dc_err *err)
{
    DC_TRY(pq_wr_check_open(w, err));
    DC_TRY(pq_wr_shred_row(w, row, err));
    return pq_wr_maybe_flush(w, err);
}

/* ------------------------------------------------------------- close */

/* Every ColumnIndex, then every OffsetIndex; chunk offsets become absolute. */
static int write_indexes(dc_pq_writer *w, dc_err *err)
{
    const int64_t ci_base = (int64_t)w->offset;
    DC_TRY(pq_wr_emit(w, w->ci.data, w->ci.len, err));
    const int64_t oi_base = (int64_t)w->offset;
    DC_TRY(pq_wr_emit(w, w->oi.data, w->oi.len, err));
    for (uint32_t r = 0; r < w->n_rgs; r++) {
        for (uint32_t i = 0; i < w->rgs[r].n_columns; i++) {
            pq_column_chunk *cc = &w->rgs[r].columns[i];
            if (cc->has_column_index) cc->column_index_offset += ci_base;
            if (cc->has_offset_index) cc->offset_index_offset += oi_base;
        }
    }
    return 0;
}

static int fill_footer(dc_pq_writer *w, dc_err *err)
{
    pq_file_meta *m = &w->fmeta;
    const dc_pq_schema *s = w->schema;
    memset(m, 0, sizeof *m);
    m->version = 1;
    m->n_schema = s->n_elements;
    m->schema = s->elements;
    m->num_rows = w->num_rows;
    m->n_row_groups = w->n_rgs;
    m->row_groups = w->rgs;
    m->n_kv = w->opts.n_kv;
    m->kv = (pq_key_value *)w->opts.kv;
    m->created_by = DC_PQ_CREATED_BY;
    m->column_orders = dc_arena_alloc(&w->meta, (size_t)s->n_leaves * sizeof *m->column_orders, err);
    if (!m->column_orders) return err ? err->code : DC_ENOMEM;
    for (uint32_t i = 0; i < s->n_leaves; i++) m->column_orders[i] = PQ_ORDER_TYPE_DEFINED;
    m->n_column_orders = s->n_leaves;
    return 0;
}

static int write_footer(dc_pq_writer *w, dc_err *err)
{
    dc_buf f;
    dc_buf_init(&f, DC_PQ_MAX_FOOTER_BYTES);
    int rc = fill_footer(w, err);
    if (rc == 0) rc = pq_file_meta_encode(&f, &w->fmeta, err);
    if (rc == 0) rc = pq_wr_emit(w, f.data, f.len, err);
    if (rc == 0) {
        uint8_t tail[8];
        dc_store_le32(tail, (uint32_t)f.len);
        memcpy(tail + 4, "PAR1", 4);
        rc = pq_wr_emit(w, tail, 8, err);
    }
    if (rc == DC_ELIMIT) dc_err_prefix(err, "parquet writer: footer");
    dc_buf_dispose(&f);
    return rc;
}

int dc_pq_writer_close(dc_pq_writer *w, dc_err *err)
{
    DC_TRY(pq_wr_check_open(w, err));
    int rc = flush_row_group(w, err);
    if (rc == 0) rc = write_indexes(w, err);
    if (rc == 0) rc = write_footer(w, err);
    if (rc == 0) rc = flush_out(w, err);
    w->state = rc < 0 ? PQ_WR_FAILED : PQ_WR_CLOSED;
    return rc;
}

const pq_file_meta *dc_pq_writer_meta(const dc_pq_writer *w)
{
    return w->state == PQ_WR_CLOSED ? &w->fmeta : NULL;
}

uint64_t dc_pq_writer_bytes_written(const dc_pq_writer *w) { return w->offset; }

/* ------------------------------------------------------------- sinks */

typedef struct file_sink {
    int fd;                 /* owned */
    char *path;             /* for messages; owned */
} file_sink;

static int file_write(void *ctx, const void *p, size_t n, dc_err *err)
{
    file_sink *fs = ctx;
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t k = write(fs->fd, b, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return dc_err_set(err, DC_EIO, "%s: write: %s", fs->path, strerror(errno));
        }
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

int dc_pq_sink_file_open(dc_pq_sink *out, const char *path, dc_err *err)
{
    memset(out, 0, sizeof *out);
    file_sink *fs = dc_calloc(1, sizeof *fs);
    char *dup = dc_strdup(path);
    if (!fs || !dup) {
        dc_free(fs);
        dc_free(dup);
        return dc_err_set(err, DC_ENOMEM, "%s: out of memory", path);
    }
    fs->path = dup;
    fs->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fs->fd < 0) {
        int rc = dc_err_set(err, errno == ENOENT ? DC_ENOTFOUND : DC_EIO, "%s: %s", path,
                            strerror(errno));
        dc_free(fs->path);
        dc_free(fs);
        return rc;
    }
    out->version = 1;
    out->ctx = fs;
    out->write = file_write;
    return 0;
}

int dc_pq_sink_file_close(dc_pq_sink *s, bool fsync_it, dc_err *err)
{
    file_sink *fs = s->ctx;
    if (!fs) return 0;
    int rc = 0;
    if (fsync_it && fsync(fs->fd) < 0)
        rc = dc_err_set(err, DC_EIO, "%s: fsync: %s", fs->path, strerror(errno));
    if (close(fs->fd) < 0 && rc == 0)
        rc = dc_err_set(err, DC_EIO, "%s: close: %s", fs->path, strerror(errno));
    dc_free(fs->path);
    dc_free(fs);
    s->ctx = NULL;
    return rc;
}

static int mem_write(void *ctx, const void *p, size_t n, dc_err *err)
{
    return dc_buf_append((dc_buf *)ctx, p, n, err);
}

void dc_pq_sink_mem_init(dc_pq_sink *out, dc_buf *buf)
{
    out->version = 1;
    out->ctx = buf;
    out->write = mem_write;
}
