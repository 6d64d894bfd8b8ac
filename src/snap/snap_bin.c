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
    uint32_t *fw;               /* per column: the file's bytes a value (0: BYTE_ARRAY) */
    uint32_t *rw;               /* per column: the row's bytes a value (0: a u32 length
                                   and the bytes) */
    int16_t *max_def;           /* per column: the file leaf's max_def (0: never null) */
    dc_pq_column *cols;         /* per column: the row group's values */
    size_t *vi;                 /* per column: the next value */
    const uint8_t **vp;         /* the row: per column its value (NULL: null) */
    uint32_t *vn;               /* and its bytes */
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
        r->max_def[j] = 0;
        r->rw[j] = (uint32_t)dc_pq_phys_width(ls->leaves[j].phys, ls->leaves[j].type_length);
        r->fw[j] = r->rw[j];
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
        r->fw[j] = (uint32_t)dc_pq_phys_width(fl->phys, fl->type_length);
        r->max_def[j] = fl->max_def;
        if (fl->phys != PQ_BYTE_ARRAY && r->fw[j] == 0) return unsupported(r, path, lf->name, err);
    }
    return 0;
}

static int64_t load_int(const uint8_t *p, uint32_t n)
{
    return n == 4 ? (int64_t)(int32_t)dc_load_le32(p) : (int64_t)dc_load_le64(p);
}

/* The bytes of the row's key (row_key's encoding); an error for a null. */
static int key_len(uint32_t *out, const bin_rd *r, dc_err *err)
{
    size_t n = 0;
    for (uint32_t i = 0; i < r->l->n_keys; i++) {
        const int32_t j = r->b->key_col[i];
        if (!r->vp[j]) return dc_err_set(err, DC_EINVAL, "key column '%s' is null", r->l->keys[i]);
        n += r->l->key_int[i] ? 9 : 5 + (size_t)r->vn[j];
    }
    if (n > SN_MAX_KEY_BYTES)
        return dc_err_set(err, DC_ELIMIT, "a key of %zu bytes is too large", n);
    *out = (uint32_t)n;
    return 0;
}

/* The key of the row at p (snap_input.c's encoding, from the values):
 * integers as a tag 1 and 8 big-endian bytes, sign flipped; other values as
 * a tag 2, a big-endian u32 length and the bytes. */
static void row_key(uint8_t *p, const bin_rd *r)
{
    for (uint32_t i = 0; i < r->l->n_keys; i++) {
        const int32_t j = r->b->key_col[i];
        if (r->l->key_int[i]) {
            const uint32_t w = r->conv[j] == CONV_I32_I64 ? 4 : r->vn[j];
            const uint64_t u = (uint64_t)load_int(r->vp[j], w) ^ (1ull << 63);
            p[0] = 1;
            for (int k = 0; k < 8; k++) p[1 + k] = (uint8_t)(u >> (56 - 8 * k));
            p += 9;
            continue;
        }
        const uint32_t n = r->vn[j];
        p[0] = 2;
        for (int k = 0; k < 4; k++) p[1 + k] = (uint8_t)(n >> (24 - 8 * k));
        memcpy(p + 5, r->vp[j], n);
        p += 5 + n;
    }
}

/* The bytes of the row's record row (snap_int.h's form). */
static size_t row_len(const bin_rd *r)
{
    size_t n = r->n;
    for (uint32_t j = 0; j < r->n; j++)
        if (r->vp[j]) n += r->rw[j] ? r->rw[j] : 4 + (size_t)r->vn[j];
    return n;
}

/* The row's values at p, in the CDC table's column order: per column a
 * byte 0 (null), or a byte 1 and the value (fixed width, or a u32 length
 * and the bytes); returns the end. */
static uint8_t *row_values(uint8_t *p, const bin_rd *r)
{
    for (uint32_t j = 0; j < r->n; j++) {
        const uint8_t *v = r->vp[j];
        if (!v) {
            *p++ = 0;
            continue;
        }
        *p++ = 1;
        switch (r->conv[j]) {
        case CONV_I32_I64:
            dc_store_le64(p, (uint64_t)(int64_t)(int32_t)dc_load_le32(v));
            p += 8;
            continue;
        case CONV_F32_F64: {
            float f;
            memcpy(&f, v, 4);
            const double d = f;
            memcpy(p, &d, 8);
            p += 8;
            continue;
        }
        default:
            break;
        }
        switch (r->rw[j]) {
        case 8: memcpy(p, v, 8); p += 8; break;
        case 4: memcpy(p, v, 4); p += 4; break;
        case 1: *p++ = *v; break;
        case 0:
            dc_store_le32(p, r->vn[j]);
            memcpy(p + 4, v, r->vn[j]);
            p += 4 + (size_t)r->vn[j];
            break;
        default: memcpy(p, v, r->rw[j]); p += r->rw[j]; break;
        }
    }
    return p;
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

/* The record of the row in r->vp/vn, into the sorter: its key and row
 * written where the sorter keeps them (no copy of a row built apart). */
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
    DC_TRY(key_len(&h.klen, r, err));
    const size_t rlen = row_len(r);
    if (rlen > SN_MAX_ROW_BYTES)
        return dc_err_set(err, DC_ELIMIT, "a row of %zu bytes is too large", rlen);
    h.rlen = (uint32_t)rlen;
    uint8_t *key = NULL, *row = NULL;
    DC_TRY(sn_sorter_put(&key, &row, r->s, &h, err));
    row_key(key, r);
    DC_ASSERT(row_values(row, r) == row + rlen);
    return 0;
}

/* The values of row `row` of the row group into r->vp/vn (cursors move on). */
static void take_row(bin_rd *r, size_t row)
{
    for (uint32_t j = 0; j < r->n; j++) {
        r->vp[j] = NULL;
        if (r->map[j] < 0) continue;
        const dc_pq_column *c = &r->cols[j];
        if (r->max_def[j] > 0 && c->def[row] != r->max_def[j]) continue;
        const size_t v = r->vi[j]++;
        const uint32_t w = r->fw[j];
        if (w == 0) {
            r->vp[j] = c->values.data + c->offsets[v];
            r->vn[j] = c->offsets[v + 1] - c->offsets[v];
        } else {
            r->vp[j] = c->values.data + v * w;
            r->vn[j] = w;
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
        take_row(r, i);
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
    r->fw = dc_calloc(n, sizeof *r->fw);
    r->rw = dc_calloc(n, sizeof *r->rw);
    r->max_def = dc_calloc(n, sizeof *r->max_def);
    if (!r->map || !r->conv || !r->cols || !r->vi || !r->vp || !r->vn || !r->fw || !r->rw ||
        !r->max_def)
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
    dc_free(r->fw);
    dc_free(r->rw);
    dc_free(r->max_def);
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
    int32_t *to;                /* per rows' column: the output leaf it fills, -1: none */
    uint32_t *width;            /* per rows' column: bytes a value (0: a u32 length first) */
    uint32_t *unfed;            /* output leaves no rows' column fills (always null) */
    uint32_t n_unfed;
    dc_pq_column *cols;         /* per output leaf */
    size_t n;                   /* rows gathered */
    bool ready;                 /* the columns hold room for BIN_BATCH_ROWS rows */
} bin_wr;

/* Which output leaf each of the rows' columns fills (by display name: the
 * output table has no column mapping; check_out made the types agree). */
static int wr_map(bin_wr *w, dc_err *err)
{
    const dc_pq_schema *ls = w->b->schema;
    const uint32_t nl = w->os->n_leaves ? w->os->n_leaves : 1;
    const uint32_t nc = ls->root.n_children ? ls->root.n_children : 1;
    w->to = dc_calloc(nc, sizeof *w->to);
    w->width = dc_calloc(nc, sizeof *w->width);
    w->unfed = dc_calloc(nl, sizeof *w->unfed);
    w->cols = dc_calloc(nl, sizeof *w->cols);
    bool *fed = dc_calloc(nl, sizeof *fed);
    int rc = 0;
    if (!w->to || !w->width || !w->unfed || !w->cols || !fed) {
        rc = dc_err_set(err, DC_ENOMEM, "snapshot: out of memory");
        goto out;
    }
    for (uint32_t k = 0; k < w->os->n_leaves; k++) dc_pq_column_init(&w->cols[k]);
    for (uint32_t j = 0; j < ls->root.n_children; j++) {
        const dc_pq_leaf *ll = &ls->leaves[j];
        w->to[j] = -1;
        w->width[j] = (uint32_t)dc_pq_phys_width(ll->phys, ll->type_length);
    }
    for (uint32_t i = 0; i < w->os->root.n_children; i++) {
        const dc_pq_field *f = &w->os->root.children[i];
        const int32_t j = f->leaf >= 0 ? col_of(ls, f->name) : -1;
        if (j < 0) continue;
        const dc_pq_leaf *ol = &w->os->leaves[f->leaf], *ll = &ls->leaves[j];
        if (ol->phys != ll->phys || ol->type_length != ll->type_length || ol->max_rep != 0) {
            rc = dc_err_set(err, DC_EINVAL, "column '%s' is stored otherwise in the output "
                            "table than in the CDC table", f->name);
            goto out;
        }
        w->to[j] = f->leaf;
        fed[f->leaf] = true;
    }
    for (uint32_t k = 0; k < w->os->n_leaves; k++)
        if (!fed[k]) w->unfed[w->n_unfed++] = k;
out:
    dc_free(fed);
    return rc;
}

static void wr_dispose(bin_wr *w)
{
    for (uint32_t k = 0; w->cols && k < w->os->n_leaves; k++) dc_pq_column_dispose(&w->cols[k]);
    dc_free(w->to);
    dc_free(w->width);
    dc_free(w->unfed);
    dc_free(w->cols);
}

/* Room in every output column for a batch: levels and offsets for
 * BIN_BATCH_ROWS rows, and their values when fixed-width (reserved once, so
 * that a row is stored without a call per value). */
static int wr_ready(bin_wr *w, dc_err *err)
{
    for (uint32_t k = 0; k < w->os->n_leaves; k++) {
        const dc_pq_leaf *ol = &w->os->leaves[k];
        dc_pq_column *c = &w->cols[k];
        DC_TRY(dc_pq_column_reserve_levels(c, BIN_BATCH_ROWS, ol->max_def > 0, false, err));
        if (ol->phys == PQ_BYTE_ARRAY) DC_TRY(dc_pq_column_reserve_offsets(c, BIN_BATCH_ROWS, err));
        else DC_TRY(dc_buf_reserve(&c->values, BIN_BATCH_ROWS *
                                   dc_pq_phys_width(ol->phys, ol->type_length), err));
    }
    w->ready = true;
    return 0;
}

static int not_nullable(const dc_pq_leaf *ol, dc_err *err)
{
    return dc_err_set(err, DC_EINVAL, "column '%s' is not nullable: a row has no value for it",
                      ol->dotted);
}

/* Appends one value (NULL: null) to output leaf k; room for its level (and
 * for a fixed-width value) is there (wr_ready). */
static int put_value(bin_wr *w, uint32_t k, const uint8_t *v, uint32_t len, dc_err *err)
{
    const dc_pq_leaf *ol = &w->os->leaves[k];
    dc_pq_column *c = &w->cols[k];
    if (!v) {
        if (ol->max_def == 0) return not_nullable(ol, err);
        c->def[c->n_levels++] = 0;
        return 0;
    }
    if (ol->max_def > 0) c->def[c->n_levels] = ol->max_def;
    c->n_levels++;
    dc_buf *vb = &c->values;
    if (ol->phys == PQ_BYTE_ARRAY) {
        if (len > UINT32_MAX - vb->len)
            return dc_err_set(err, DC_ELIMIT, "column '%s': over 4 GiB in a batch", ol->dotted);
        if (len > vb->cap - vb->len) DC_TRY(dc_buf_reserve(vb, len, err));
        memcpy(vb->data + vb->len, v, len);
        vb->len += len;
        c->offsets[c->n_values + 1] = (uint32_t)vb->len;
    } else {
        switch (len) {
        case 8: memcpy(vb->data + vb->len, v, 8); break;
        case 4: memcpy(vb->data + vb->len, v, 4); break;
        case 1: vb->data[vb->len] = *v; break;
        default: memcpy(vb->data + vb->len, v, len); break;
        }
        vb->len += len;
    }
    c->n_values++;
    return 0;
}

/* Appends a record's row (snap_int.h's form) to the output's columns. */
static int put_row(bin_wr *w, const uint8_t *p, uint32_t n, dc_err *err)
{
    if (!w->ready) DC_TRY(wr_ready(w, err));
    const uint32_t nc = w->b->schema->root.n_children;
    const uint8_t *end = p + n;
    for (uint32_t j = 0; j < nc; j++) {
        if (p >= end) goto bad;
        const bool present = *p++ != 0;
        uint32_t len = 0;
        if (present) {
            len = w->width[j];
            if (len == 0) {
                if (end - p < 4) goto bad;
                len = dc_load_le32(p);
                p += 4;
            }
            if ((size_t)(end - p) < len) goto bad;
        }
        if (w->to[j] >= 0) DC_TRY(put_value(w, (uint32_t)w->to[j], present ? p : NULL, len, err));
        p += len;
    }
    if (p != end) goto bad;
    for (uint32_t i = 0; i < w->n_unfed; i++) DC_TRY(put_value(w, w->unfed[i], NULL, 0, err));
    w->n++;
    return 0;
bad: /* our own records, read back from memory or a spill file we wrote */
    return dc_err_set(err, DC_ECORRUPT, "snapshot: a damaged run record (%u bytes)", n);
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
        rc = put_row(&w, row, h->rlen, err);
        if (rc == 0) res->rows++;
        if (rc == 0 && (w.n == BIN_BATCH_ROWS || (w.n % 1024 == 0 &&
                                                   batch_bytes(&w) > BIN_BATCH_BYTES)))
            rc = flush(&w, dw, date, err);
    }
    if (rc == 0) rc = flush(&w, dw, date, err);
    wr_dispose(&w);
    return rc;
}
