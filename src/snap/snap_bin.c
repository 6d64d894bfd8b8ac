/*
 * snap: binary rows (snap_int.h, sn_bin) — data files' columns → run
 * records → the output's columns, with no JSON text per row.
 *
 * A data file is read row group by row group (only the columns the rows
 * hold), its rows deleted by the file's deletion vector left out; each row
 * becomes a record whose row is the values as Parquet stores them, in the
 * CDC table's column order (snap_int.h gives the form). The write walks the
 * merged records and appends each value to the output's column, handing
 * the columns to the Delta file writer every BIN_BATCH_ROWS rows.
 */
#include "snap_int.h"

#include <inttypes.h>

/* Rows (or bytes of values) gathered before they go to the Parquet writer. */
#define BIN_BATCH_ROWS 65536
#define BIN_BATCH_BYTES ((size_t)64 << 20)

/* ------------------------------------------------------------ layout */

static bool partitioned(const sn_input *in)
{
    return in && dc_delta_snapshot_metadata(in->snap)->n_partition_columns > 0;
}

static int32_t col_of(const dc_pq_schema *s, const char *name)
{
    for (uint32_t i = 0; i < s->root.n_children; i++)
        if (strcmp(s->root.children[i].name, name) == 0) return (int32_t)i;
    return -1;
}

/* The CDC table's columns (display names, no metadata) as a Parquet schema. */
static int layout_schema(sn_bin *b, const sn_input *cdc, dc_err *err)
{
    dc_buf js;
    dc_buf_init(&js, DC_JSON_MAX_DOC_BYTES);
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    uint32_t n = 0;
    int rc = dc_buf_puts(&js, "{\"type\":\"struct\",\"fields\":[", err);
    const size_t at = js.len;
    if (rc == 0) rc = sn_fields_json(&js, &n, dc_delta_snapshot_metadata(cdc->snap)->schema_string,
                                     NULL, err);
    if (rc == 0 && js.len > at) memmove(js.data + at, js.data + at + 1, --js.len - at);
    if (rc == 0) rc = dc_buf_puts(&js, "]}", err);
    if (rc == 0) rc = dc_json_parse(&doc, &a, (const char *)js.data, js.len, err);
    if (rc == 0) rc = dc_pq_schema_from_delta(&b->schema, doc, err);
    dc_arena_dispose(&a);
    dc_buf_dispose(&js);
    return rc;
}

int sn_bin_init(sn_bin *b, const sn_input *cdc, const sn_input *hist, const sn_layout *l,
                dc_err *err)
{
    memset(b, 0, sizeof *b);
    /* a raw input's rows are decoded from json_record (snap_raw.c) */
    if (cdc->raw || (hist && hist->raw))
        return dc_err_set(err, DC_EUNSUPPORTED, "a raw input table");
    if (partitioned(cdc) || partitioned(hist))
        return dc_err_set(err, DC_EUNSUPPORTED, "a partitioned input table");
    DC_TRY(layout_schema(b, cdc, err));
    const dc_pq_schema *s = b->schema;
    if (s->n_leaves != s->root.n_children)
        return dc_err_set(err, DC_EUNSUPPORTED, "the CDC table has nested columns");
    for (uint32_t i = 0; i < s->root.n_children; i++)
        if (s->root.children[i].leaf != (int32_t)i || s->leaves[i].max_rep != 0)
            return dc_err_set(err, DC_EUNSUPPORTED, "the CDC table has nested columns");
    for (uint32_t i = 0; i < l->n_keys; i++)
        if ((b->key_col[i] = col_of(s, l->keys[i])) < 0)
            return dc_err_set(err, DC_EINVAL, "key column '%s' is not in the CDC table",
                              l->keys[i]);
    for (int i = 0; i < SN_M_N; i++) b->meta_col[i] = col_of(s, l->meta[i]);
    /* Rows as values are typed rows: a table without __op (a raw table, whose
     * json_record must be decoded) goes as JSON rows. */
    if (b->meta_col[SN_M_OP] < 0)
        return dc_err_set(err, DC_EUNSUPPORTED, "the CDC table has no %s column",
                          l->meta[SN_M_OP]);
    return 0;
}

void sn_bin_dispose(sn_bin *b)
{
    dc_pq_schema_free(b->schema);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------ reading */

/* How a file's leaf becomes a row's value. */
enum { CONV_SAME = 0, CONV_I32_I64, CONV_F32_F64 };

/* Reading one input: its file in hand and the row being built. */
typedef struct bin_rd {
    sn_input *in;
    const sn_bin *b;
    const sn_layout *l;
    bool history;
    const int64_t *floor;
    sn_sorter *s;
    sn_read_stats *st;
    bool const_op, const_ts;    /* history rows get the seed's 'c' and ts_ms 0 */
    uint32_t n;                 /* the rows' columns */
    int32_t *map;               /* per column: the file's leaf, -1 absent */
    uint8_t *conv;              /* per column: CONV_* */
    dc_pq_column *cols;         /* per column: the row group's values */
    size_t *vi;                 /* per column: the next value */
    const uint8_t **vp;         /* the row: per column its value (NULL: null) */
    uint32_t *vn;               /* and its bytes */
    dc_buf row, key;            /* the record being built */
} bin_rd;

static int unsupported(const bin_rd *r, const char *path, const char *col, dc_err *err)
{
    return dc_err_set(err, DC_EUNSUPPORTED, "%s table %s: %s stores column '%s' otherwise "
                      "than the table's type", r->in->role, r->in->uri, path, col);
}

/* Which leaf of the file holds each column, and how it converts. */
static int map_file(bin_rd *r, const dc_pq_schema *fs, const char *path, dc_err *err)
{
    const dc_pq_schema *ls = r->b->schema;
    for (uint32_t j = 0; j < r->n; j++) {
        const dc_pq_field *lf = &ls->root.children[j];
        const dc_delta_field *df = dc_delta_schema_find(r->in->schema, lf->name);
        const char *phys = df ? df->physical_name : NULL;
        r->map[j] = -1;
        r->conv[j] = CONV_SAME;
        const int32_t k = phys ? col_of(fs, phys) : -1;
        if (k < 0) {
            if (df && dc_delta_snapshot_cm_mode(r->in->snap) == DC_DELTA_CM_ID)
                return unsupported(r, path, lf->name, err); /* found by id by the scan */
            continue; /* added later to the table: null in this file */
        }
        const dc_pq_field *ff = &fs->root.children[k];
        if (ff->leaf < 0 || fs->leaves[ff->leaf].max_rep != 0)
            return unsupported(r, path, lf->name, err);
        const dc_pq_leaf *ll = &ls->leaves[j], *fl = &fs->leaves[ff->leaf];
        const bool same = ff->type == lf->type && fl->phys == ll->phys &&
                          fl->type_length == ll->type_length && ff->int96 == lf->int96 &&
                          (lf->type != DC_TYPE_DECIMAL || (ff->precision == lf->precision &&
                                                          ff->scale == lf->scale)) &&
                          ((lf->type != DC_TYPE_TIMESTAMP && lf->type != DC_TYPE_TIMESTAMP_NTZ &&
                            lf->type != DC_TYPE_TIME) || ff->unit == lf->unit);
        if (same) {
            r->map[j] = ff->leaf;
        } else if (lf->type == DC_TYPE_LONG && fl->phys == PQ_INT32 &&
                   (ff->type == DC_TYPE_INT || ff->type == DC_TYPE_SHORT ||
                    ff->type == DC_TYPE_BYTE)) {
            r->map[j] = ff->leaf;
            r->conv[j] = CONV_I32_I64;
        } else if (lf->type == DC_TYPE_DOUBLE && ff->type == DC_TYPE_FLOAT) {
            r->map[j] = ff->leaf;
            r->conv[j] = CONV_F32_F64;
        } else {
            return unsupported(r, path, lf->name, err);
        }
    }
    return 0;
}

static int64_t load_int(const uint8_t *p, uint32_t n)
{
    return n == 4 ? (int64_t)(int32_t)dc_load_le32(p) : (int64_t)dc_load_le64(p);
}

/* Appends column j's value of the row (r->vp/vn) to the row bytes. */
static int put_col(bin_rd *r, uint32_t j, dc_err *err)
{
    if (!r->vp[j]) return dc_buf_putc(&r->row, 0, err);
    DC_TRY(dc_buf_putc(&r->row, 1, err));
    const dc_pq_leaf *ll = &r->b->schema->leaves[j];
    if (ll->phys == PQ_BYTE_ARRAY) {
        uint8_t n[4];
        dc_store_le32(n, r->vn[j]);
        DC_TRY(dc_buf_append(&r->row, n, 4, err));
    }
    if (r->conv[j] == CONV_I32_I64) {
        uint8_t v[8];
        dc_store_le64(v, (uint64_t)(int64_t)(int32_t)dc_load_le32(r->vp[j]));
        return dc_buf_append(&r->row, v, 8, err);
    }
    if (r->conv[j] == CONV_F32_F64) {
        float f;
        memcpy(&f, r->vp[j], 4);
        const double d = f;
        return dc_buf_append(&r->row, &d, 8, err);
    }
    return dc_buf_append(&r->row, r->vp[j], r->vn[j], err);
}

/* The key of the row (snap_input.c's encoding, from the values). */
static int row_key(bin_rd *r, dc_err *err)
{
    dc_buf_reset(&r->key);
    for (uint32_t i = 0; i < r->l->n_keys; i++) {
        const int32_t j = r->b->key_col[i];
        if (!r->vp[j]) return dc_err_set(err, DC_EINVAL, "key column '%s' is null", r->l->keys[i]);
        if (r->l->key_int[i]) {
            const uint32_t w = r->conv[j] == CONV_I32_I64 ? 4 : r->vn[j];
            const uint64_t u = (uint64_t)load_int(r->vp[j], w) ^ (1ull << 63);
            uint8_t b[9];
            b[0] = 1;
            for (int k = 0; k < 8; k++) b[1 + k] = (uint8_t)(u >> (56 - 8 * k));
            DC_TRY(dc_buf_append(&r->key, b, sizeof b, err));
            continue;
        }
        const uint32_t n = r->vn[j];
        const uint8_t b[5] = {2, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                              (uint8_t)n};
        DC_TRY(dc_buf_append(&r->key, b, sizeof b, err));
        DC_TRY(dc_buf_append(&r->key, r->vp[j], n, err));
    }
    return 0;
}

/* The row's metadata values for sn_rank. */
static void row_meta(sn_meta *m, const bin_rd *r)
{
    memset(m, 0, sizeof *m);
    const int32_t *mc = r->b->meta_col;
    if (mc[SN_M_OP] >= 0 && r->vp[mc[SN_M_OP]])
        m->op = (const char *)r->vp[mc[SN_M_OP]], m->op_len = r->vn[mc[SN_M_OP]];
    if (mc[SN_M_POS] >= 0 && r->vp[mc[SN_M_POS]])
        m->pos = (const char *)r->vp[mc[SN_M_POS]], m->pos_len = r->vn[mc[SN_M_POS]];
    if (mc[SN_M_DEL] >= 0 && r->vp[mc[SN_M_DEL]])
        m->deleted = r->vp[mc[SN_M_DEL]][0] != 0;
    if (mc[SN_M_TS] >= 0 && r->vp[mc[SN_M_TS]]) {
        const int32_t j = mc[SN_M_TS];
        m->has_ts = true;
        m->ts = load_int(r->vp[j], r->conv[j] == CONV_I32_I64 ? 4 : r->vn[j]);
    }
    if (mc[SN_M_OFF] >= 0 && r->vp[mc[SN_M_OFF]]) {
        const int32_t j = mc[SN_M_OFF];
        m->has_off = true;
        m->off = load_int(r->vp[j], r->conv[j] == CONV_I32_I64 ? 4 : r->vn[j]);
    }
}

static bool at_or_before(const int64_t a[2], const int64_t b[2])
{
    return a[0] < b[0] || (a[0] == b[0] && a[1] <= b[1]);
}

/* The record of the row in r->vp/vn, into the sorter. */
static int put_record(bin_rd *r, dc_err *err)
{
    static const uint8_t C[1] = {'c'}, ZERO[8] = {0};
    const int32_t *mc = r->b->meta_col;
    if (r->const_op) r->vp[mc[SN_M_OP]] = C, r->vn[mc[SN_M_OP]] = 1;
    if (r->const_ts) r->vp[mc[SN_M_TS]] = ZERO, r->vn[mc[SN_M_TS]] = 8;
    sn_hdr h;
    memset(&h, 0, sizeof h);
    sn_meta m;
    row_meta(&m, r);
    DC_TRY(sn_rank(&h, &m, r->history, r->in->ranked, err));
    if (r->floor && h.cls == SN_CLS_POS && at_or_before(h.rank, r->floor)) {
        r->st->floor_skipped++;
        return 0;
    }
    DC_TRY(row_key(r, err));
    dc_buf_reset(&r->row);
    for (uint32_t j = 0; j < r->n; j++) DC_TRY(put_col(r, j, err));
    h.klen = (uint32_t)r->key.len;
    h.rlen = (uint32_t)r->row.len;
    return sn_sorter_add(r->s, &h, r->key.data, r->row.data, err);
}

/* The values of row `row` of the row group into r->vp/vn (cursors move on). */
static void take_row(bin_rd *r, const dc_pq_schema *fs, size_t row)
{
    for (uint32_t j = 0; j < r->n; j++) {
        r->vp[j] = NULL;
        if (r->map[j] < 0) continue;
        const dc_pq_leaf *fl = &fs->leaves[r->map[j]];
        const dc_pq_column *c = &r->cols[j];
        if (fl->max_def > 0 && c->def[row] != fl->max_def) continue;
        const size_t v = r->vi[j]++;
        if (fl->phys == PQ_BYTE_ARRAY) {
            r->vp[j] = c->values.data + c->offsets[v];
            r->vn[j] = c->offsets[v + 1] - c->offsets[v];
        } else {
            const size_t w = dc_pq_phys_width(fl->phys, fl->type_length);
            r->vp[j] = c->values.data + v * w;
            r->vn[j] = (uint32_t)w;
        }
    }
}

static int read_rg(bin_rd *r, dc_pq_reader *pr, uint32_t rg, uint64_t base, const uint64_t *dv,
                   size_t n_dv, size_t *dvi, const char *path, dc_err *err)
{
    const dc_pq_schema *fs = dc_pq_reader_schema(pr);
    const int64_t rows = dc_pq_reader_meta(pr)->row_groups[rg].num_rows;
    for (uint32_t j = 0; j < r->n; j++) {
        r->vi[j] = 0;
        if (r->map[j] < 0) continue;
        DC_TRY(dc_pq_reader_read_column(&r->cols[j], pr, rg, (uint32_t)r->map[j], err));
        const dc_pq_leaf *fl = &fs->leaves[r->map[j]];
        const dc_pq_column *c = &r->cols[j];
        const size_t want = fl->max_def > 0 ? c->n_values : c->n_levels;
        if (rows < 0 || c->n_levels != (size_t)rows || want > c->n_levels)
            return dc_err_set(err, DC_ECORRUPT, "%s: row group %u: column %s does not hold "
                              "%" PRId64 " rows", path, rg, fl->dotted, rows);
    }
    for (size_t i = 0; i < (size_t)rows; i++) {
        take_row(r, fs, i);
        if (*dvi < n_dv && dv[*dvi] == base + i) {
            (*dvi)++;
            continue;
        }
        r->st->rows++;
        DC_TRY(put_record(r, err));
    }
    return 0;
}

/* One live data file of the input. */
static int read_file(bin_rd *r, const dc_delta_add *add, dc_err *err)
{
    dc_storage *st = dc_delta_snapshot_storage(r->in->snap);
    dc_buf p, hold;
    dc_buf_init(&p, 1 << 20);
    dc_buf_init(&hold, DC_MAX_SMALL_FILE);
    dc_pq_reader *pr = NULL;
    dc_delta_dv *dv = NULL;
    uint64_t *del = NULL;
    size_t n_del = 0, dvi = 0;
    int rc = dc_delta_path_to_storage(&p, add->path, err);
    if (rc == 0) rc = dc_buf_putc(&p, '\0', err);
    const char *path = (const char *)p.data;
    if (rc == 0) rc = dc_delta_pq_open(&pr, &hold, st, path, dc_delta_add_size(add), err);
    if (rc == 0 && add->has_dv) rc = dc_delta_dv_load(&dv, st, &add->dv, err);
    if (rc == 0 && dv) rc = dc_delta_dv_to_array(&del, &n_del, dv, err);
    if (rc == 0) rc = map_file(r, dc_pq_reader_schema(pr), add->path, err);
    uint64_t base = 0;
    const pq_file_meta *fm = rc == 0 ? dc_pq_reader_meta(pr) : NULL;
    for (uint32_t rg = 0; rc == 0 && rg < fm->n_row_groups; rg++) {
        rc = read_rg(r, pr, rg, base, del, n_del, &dvi, add->path, err);
        base += (uint64_t)fm->row_groups[rg].num_rows;
    }
    if (rc == 0 && dvi != n_del)
        rc = dc_err_set(err, DC_ECORRUPT, "%s: its deletion vector deletes rows beyond the "
                        "file's %" PRIu64, add->path, base);
    dc_free(del);
    dc_delta_dv_free(dv);
    dc_pq_reader_free(pr);
    dc_buf_dispose(&hold);
    dc_buf_dispose(&p);
    return rc;
}

static int rd_init(bin_rd *r, dc_err *err)
{
    const uint32_t n = r->n ? r->n : 1;
    r->map = dc_calloc(n, sizeof *r->map);
    r->conv = dc_calloc(n, sizeof *r->conv);
    r->cols = dc_calloc(n, sizeof *r->cols);
    r->vi = dc_calloc(n, sizeof *r->vi);
    r->vp = dc_calloc(n, sizeof *r->vp);
    r->vn = dc_calloc(n, sizeof *r->vn);
    dc_buf_init(&r->row, SN_MAX_ROW_BYTES);
    dc_buf_init(&r->key, SN_MAX_KEY_BYTES);
    if (!r->map || !r->conv || !r->cols || !r->vi || !r->vp || !r->vn)
        return dc_err_set(err, DC_ENOMEM, "snapshot: out of memory");
    for (uint32_t j = 0; j < r->n; j++) dc_pq_column_init(&r->cols[j]);
    return 0;
}

static void rd_dispose(bin_rd *r)
{
    for (uint32_t j = 0; r->cols && j < r->n; j++) dc_pq_column_dispose(&r->cols[j]);
    dc_free(r->map);
    dc_free(r->conv);
    dc_free(r->cols);
    dc_free(r->vi);
    dc_free(r->vp);
    dc_free(r->vn);
    dc_buf_dispose(&r->row);
    dc_buf_dispose(&r->key);
}

int sn_bin_read(sn_read_stats *out, sn_input *in, bool history, const int64_t *floor,
                const bool *cdc_meta, const sn_layout *l, const sn_bin *b, sn_sorter *s,
                dc_err *err)
{
    memset(out, 0, sizeof *out);
    bin_rd r = {.in = in, .b = b, .l = l, .history = history, .floor = floor, .s = s,
                .st = out, .n = b->schema->root.n_children};
    /* snap_input.c's history_extra: what the CDC table has and the history lacks */
    r.const_op = history && cdc_meta && cdc_meta[SN_M_OP] && !in->has_meta[SN_M_OP] &&
                 b->meta_col[SN_M_OP] >= 0;
    r.const_ts = history && cdc_meta && cdc_meta[SN_M_TS] && !in->has_meta[SN_M_TS] &&
                 b->meta_col[SN_M_TS] >= 0 &&
                 b->schema->leaves[b->meta_col[SN_M_TS]].phys == PQ_INT64;
    int rc = rd_init(&r, err);
    const size_t nf = dc_delta_snapshot_n_files(in->snap);
    for (size_t i = 0; rc == 0 && i < nf; i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(in->snap, i);
        rc = read_file(&r, a, err);
        if (rc < 0 && rc != DC_EUNSUPPORTED) dc_err_prefix(err, "%s", a->path);
    }
    if (rc < 0 && rc != DC_EUNSUPPORTED)
        dc_err_prefix(err, "%s table %s, row %llu", in->role, in->uri,
                      (unsigned long long)out->rows);
    rd_dispose(&r);
    return rc;
}

/* ------------------------------------------------------------ writing */

/* The output's columns being filled. */
typedef struct bin_wr {
    const dc_pq_schema *os;     /* the data files' schema (the writer's) */
    const sn_bin *b;
    int32_t *from;              /* per output leaf: the rows' column, -1: always null */
    dc_pq_column *cols;         /* per output leaf */
    const uint8_t **vp;         /* the record's values per rows' column (NULL: null) */
    uint32_t *vn;
    size_t n;                   /* rows gathered */
} bin_wr;

/* Which of the rows' columns fills each output leaf (by display name: the
 * output table has no column mapping; check_out made the types agree). */
static int wr_map(bin_wr *w, dc_err *err)
{
    const uint32_t nl = w->os->n_leaves ? w->os->n_leaves : 1;
    const uint32_t nc = w->b->schema->root.n_children ? w->b->schema->root.n_children : 1;
    w->from = dc_calloc(nl, sizeof *w->from);
    w->cols = dc_calloc(nl, sizeof *w->cols);
    w->vp = dc_calloc(nc, sizeof *w->vp);
    w->vn = dc_calloc(nc, sizeof *w->vn);
    if (!w->from || !w->cols || !w->vp || !w->vn)
        return dc_err_set(err, DC_ENOMEM, "snapshot: out of memory");
    for (uint32_t k = 0; k < w->os->n_leaves; k++) {
        dc_pq_column_init(&w->cols[k]);
        w->from[k] = -1;
    }
    for (uint32_t i = 0; i < w->os->root.n_children; i++) {
        const dc_pq_field *f = &w->os->root.children[i];
        const int32_t j = f->leaf >= 0 ? col_of(w->b->schema, f->name) : -1;
        if (j < 0) continue;
        const dc_pq_leaf *ol = &w->os->leaves[f->leaf], *ll = &w->b->schema->leaves[j];
        if (ol->phys != ll->phys || ol->type_length != ll->type_length || ol->max_rep != 0)
            return dc_err_set(err, DC_EINVAL, "column '%s' is stored otherwise in the output "
                              "table than in the CDC table", f->name);
        w->from[f->leaf] = j;
    }
    return 0;
}

static void wr_dispose(bin_wr *w)
{
    for (uint32_t k = 0; w->cols && k < w->os->n_leaves; k++) dc_pq_column_dispose(&w->cols[k]);
    dc_free(w->from);
    dc_free(w->cols);
    dc_free(w->vp);
    dc_free(w->vn);
}

/* Splits a record's row into its values (w->vp/vn). */
static int split_row(bin_wr *w, const uint8_t *p, uint32_t n, dc_err *err)
{
    const dc_pq_schema *ls = w->b->schema;
    const uint8_t *end = p + n;
    for (uint32_t j = 0; j < ls->root.n_children; j++) {
        if (p >= end) goto bad;
        const bool present = *p++ != 0;
        w->vp[j] = NULL;
        if (!present) continue;
        const dc_pq_leaf *ll = &ls->leaves[j];
        uint32_t len = (uint32_t)dc_pq_phys_width(ll->phys, ll->type_length);
        if (ll->phys == PQ_BYTE_ARRAY) {
            if (end - p < 4) goto bad;
            len = dc_load_le32(p);
            p += 4;
        }
        if ((size_t)(end - p) < len) goto bad;
        w->vp[j] = p;
        w->vn[j] = len;
        p += len;
    }
    if (p == end) return 0;
bad: /* our own records, read back from memory or a spill file we wrote */
    return dc_err_set(err, DC_ECORRUPT, "snapshot: a damaged run record (%u bytes)", n);
}

/* Appends the record's values to the output's columns. */
static int put_row(bin_wr *w, dc_err *err)
{
    for (uint32_t k = 0; k < w->os->n_leaves; k++) {
        const dc_pq_leaf *ol = &w->os->leaves[k];
        dc_pq_column *c = &w->cols[k];
        const int32_t j = w->from[k];
        const uint8_t *v = j >= 0 ? w->vp[j] : NULL;
        if (!v && ol->max_def == 0)
            return dc_err_set(err, DC_EINVAL, "column '%s' is not nullable: a row has no value "
                              "for it", ol->dotted);
        DC_TRY(dc_pq_column_reserve_levels(c, 1, ol->max_def > 0, ol->max_rep > 0, err));
        if (ol->max_def > 0) c->def[c->n_levels] = v ? ol->max_def : 0;
        if (ol->max_rep > 0) c->rep[c->n_levels] = 0;
        c->n_levels++;
        if (!v) continue;
        if (ol->phys == PQ_BYTE_ARRAY) {
            if (w->vn[j] > UINT32_MAX - c->values.len)
                return dc_err_set(err, DC_ELIMIT, "column '%s': over 4 GiB in a batch",
                                  ol->dotted);
            DC_TRY(dc_pq_column_reserve_offsets(c, 1, err));
            DC_TRY(dc_buf_append(&c->values, v, w->vn[j], err));
            c->offsets[c->n_values + 1] = (uint32_t)c->values.len;
        } else {
            DC_TRY(dc_buf_append(&c->values, v, w->vn[j], err));
        }
        c->n_values++;
    }
    w->n++;
    return 0;
}

static int flush(bin_wr *w, dc_delta_file_writer *dw, const char *date, dc_err *err)
{
    if (!w->n) return 0;
    const char *const pv[] = {date};
    DC_TRY(dc_delta_file_writer_write_columns(dw, pv, w->cols, w->n, err));
    for (uint32_t k = 0; k < w->os->n_leaves; k++) dc_pq_column_reset(&w->cols[k]);
    w->n = 0;
    return 0;
}

static size_t batch_bytes(const bin_wr *w)
{
    size_t n = 0;
    for (uint32_t k = 0; k < w->os->n_leaves; k++) n += w->cols[k].values.len;
    return n;
}

int sn_bin_write(dc_snap_result *res, dc_delta_file_writer *dw, const sn_bin *b, sn_sorter *s,
                 const char *date, dc_err *err)
{
    bin_wr w = {.os = dc_delta_file_writer_data_schema(dw), .b = b};
    int rc = wr_map(&w, err);
    while (rc == 0) {
        const sn_hdr *h = NULL;
        const uint8_t *key = NULL, *row = NULL;
        bool done = false;
        if ((rc = sn_sorter_next(&h, &key, &row, &done, s, err)) < 0 || done) break;
        if (h->del) {
            res->deleted++;
            continue;
        }
        rc = split_row(&w, row, h->rlen, err);
        if (rc == 0) rc = put_row(&w, err);
        if (rc == 0) res->rows++;
        if (rc == 0 && (w.n == BIN_BATCH_ROWS || (w.n % 1024 == 0 &&
                                                   batch_bytes(&w) > BIN_BATCH_BYTES)))
            rc = flush(&w, dw, date, err);
    }
    if (rc == 0) rc = flush(&w, dw, date, err);
    wr_dispose(&w);
    return rc;
}
