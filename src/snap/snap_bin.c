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
#include <pthread.h>

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

static int unsupported(const sn_bin_rd *r, const char *path, const char *col, dc_err *err)
{
    return dc_err_set(err, DC_EUNSUPPORTED, "%s table %s: %s stores column '%s' otherwise "
                      "than the table's type", r->in->role, r->in->uri, path, col);
}

/* Which leaf of the file holds each column, and how it converts. */
static int map_file(sn_bin_rd *r, const dc_pq_schema *fs, const char *path, dc_err *err)
{
    const dc_pq_schema *ls = r->b->schema;
    for (uint32_t j = 0; j < r->n; j++) {
        const dc_pq_field *lf = &ls->root.children[j];
        const dc_delta_field *df = dc_delta_schema_find(r->in->schema, lf->name);
        const char *phys = df ? df->physical_name : NULL;
        r->map[j] = -1;
        r->conv[j] = SN_CONV_SAME;
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
            r->conv[j] = SN_CONV_I32_I64;
        } else if (lf->type == DC_TYPE_DOUBLE && ff->type == DC_TYPE_FLOAT) {
            r->map[j] = ff->leaf;
            r->conv[j] = SN_CONV_F32_F64;
        } else {
            return unsupported(r, path, lf->name, err);
        }
        r->fw[j] = (uint32_t)dc_pq_phys_width(fl->phys, fl->type_length);
        if (fl->phys != PQ_BYTE_ARRAY && r->fw[j] == 0) return unsupported(r, path, lf->name, err);
    }
    return 0;
}

static int64_t load_int(const uint8_t *p, uint32_t n)
{
    return n == 4 ? (int64_t)(int32_t)dc_load_le32(p) : (int64_t)dc_load_le64(p);
}

int sn_bin_key_len(uint32_t *out, const sn_bin_rd *r, dc_err *err)
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

/* snap_input.c's encoding, from the values. */
void sn_bin_key(uint8_t *p, const sn_bin_rd *r)
{
    for (uint32_t i = 0; i < r->l->n_keys; i++) {
        const int32_t j = r->b->key_col[i];
        if (r->l->key_int[i]) {
            const uint32_t w = r->conv[j] == SN_CONV_I32_I64 ? 4 : r->vn[j];
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
static size_t row_len(const sn_bin_rd *r)
{
    size_t n = r->n;
    for (uint32_t j = 0; j < r->n; j++)
        if (r->vp[j]) n += r->rw[j] ? r->rw[j] : 4 + (size_t)r->vn[j];
    return n;
}

/* The row's values at p, in the CDC table's column order: per column a
 * byte 0 (null), or a byte 1 and the value (fixed width, or a u32 length
 * and the bytes); returns the end. */
static uint8_t *row_values(uint8_t *p, const sn_bin_rd *r)
{
    for (uint32_t j = 0; j < r->n; j++) {
        const uint8_t *v = r->vp[j];
        if (!v) {
            *p++ = 0;
            continue;
        }
        *p++ = 1;
        switch (r->conv[j]) {
        case SN_CONV_I32_I64:
            dc_store_le64(p, (uint64_t)(int64_t)(int32_t)dc_load_le32(v));
            p += 8;
            continue;
        case SN_CONV_F32_F64: {
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

void sn_bin_values(uint8_t *row, const sn_bin_rd *r, const sn_hdr *h)
{
    DC_ASSERT(row_values(row, r) == row + h->rlen);
}

/* The row's metadata values for sn_rank. */
static void row_meta(sn_meta *m, const sn_bin_rd *r)
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
        m->ts = load_int(r->vp[j], r->conv[j] == SN_CONV_I32_I64 ? 4 : r->vn[j]);
    }
    if (mc[SN_M_OFF] >= 0 && r->vp[mc[SN_M_OFF]]) {
        const int32_t j = mc[SN_M_OFF];
        m->has_off = true;
        m->off = load_int(r->vp[j], r->conv[j] == SN_CONV_I32_I64 ? 4 : r->vn[j]);
    }
}

static bool at_or_before(const int64_t a[2], const int64_t b[2])
{
    return a[0] < b[0] || (a[0] == b[0] && a[1] <= b[1]);
}

int sn_bin_hdr(sn_hdr *h, bool *skip, sn_bin_rd *r, bool direct, dc_err *err)
{
    static const uint8_t C[1] = {'c'}, ZERO[8] = {0};
    const int32_t *mc = r->b->meta_col;
    if (r->const_op) r->vp[mc[SN_M_OP]] = C, r->vn[mc[SN_M_OP]] = 1;
    if (r->const_ts) r->vp[mc[SN_M_TS]] = ZERO, r->vn[mc[SN_M_TS]] = 8;
    memset(h, 0, sizeof *h);
    sn_meta m;
    row_meta(&m, r);
    DC_TRY(sn_rank(h, &m, r->history, r->in->ranked, err));
    *skip = r->floor && h->cls == SN_CLS_POS && at_or_before(h->rank, r->floor);
    if (*skip) {
        r->st->floor_skipped++;
        return 0;
    }
    DC_TRY(sn_bin_key_len(&h->klen, r, err));
    if (direct) {
        h->direct = 1;
        return 0;
    }
    const size_t rlen = row_len(r);
    if (rlen > SN_MAX_ROW_BYTES)
        return dc_err_set(err, DC_ELIMIT, "a row of %zu bytes is too large", rlen);
    h->rlen = (uint32_t)rlen;
    return 0;
}

/* The record of the row in r->vp/vn, into the sorter: its key and row
 * written where the sorter keeps them (no copy of a row built apart). */
static int put_record(sn_bin_rd *r, sn_sorter *s, dc_err *err)
{
    sn_hdr h;
    bool skip = false;
    DC_TRY(sn_bin_hdr(&h, &skip, r, false, err));
    if (skip) return 0;
    uint8_t *key = NULL, *row = NULL;
    DC_TRY(sn_sorter_put(&key, &row, s, &h, err));
    sn_bin_key(key, r);
    sn_bin_values(row, r, &h);
    return 0;
}

/* The values of row `row` of the row group into r->vp/vn (cursors move on). */
static void take_row(sn_bin_rd *r, size_t row)
{
    for (uint32_t t = 0; t < r->n_take; t++) {
        const uint32_t j = r->take[t];
        r->vp[j] = NULL;
        if (r->map[j] < 0) continue;
        const dc_pq_column *c = &r->cols[j];
        const int16_t d = r->rg_def[j];
        if (d < 0 || (d > 0 && c->def[row] != d)) continue;
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

/* Row group rg of the file: the columns r takes, read. */
static int load_rg(sn_bin_file *f, sn_bin_rd *r, uint32_t rg, dc_err *err)
{
    const dc_pq_schema *fs = dc_pq_reader_schema(f->pr);
    const int64_t rows = dc_pq_reader_meta(f->pr)->row_groups[rg].num_rows;
    for (uint32_t t = 0; t < r->n_take; t++) {
        const uint32_t j = r->take[t];
        r->vi[j] = 0;
        if (r->map[j] < 0) continue;
        DC_TRY(dc_pq_reader_read_column(&r->cols[j], f->pr, rg, (uint32_t)r->map[j], err));
        const dc_pq_leaf *fl = &fs->leaves[r->map[j]];
        const dc_pq_column *c = &r->cols[j];
        const size_t want = fl->max_def > 0 ? c->n_values : c->n_levels;
        if (rows < 0 || c->n_levels != (size_t)rows || want > c->n_levels)
            return dc_err_set(err, DC_ECORRUPT, "%s: row group %u: column %s does not hold "
                              "%" PRId64 " rows", f->add->path, rg, fl->dotted, rows);
        /* A column without a null (or all null) here: no level read a row.
         * The levels were a mispredicted branch and a load per value. */
        r->rg_def[j] = fl->max_def == 0 || c->n_values == c->n_levels ? 0
                       : c->n_values == 0                              ? -1
                                                                       : fl->max_def;
    }
    f->rg = rg;
    f->row = 0;
    f->rows = (size_t)rows;
    return 0;
}

int sn_bin_file_next(bool *has, sn_bin_file *f, sn_bin_rd *r, dc_err *err)
{
    const pq_file_meta *fm = dc_pq_reader_meta(f->pr);
    for (;;) {
        while (f->row == f->rows) {
            const uint32_t next = f->rg == UINT32_MAX ? 0 : f->rg + 1;
            if (f->rg != UINT32_MAX) f->base += f->rows;
            if (next >= fm->n_row_groups) {
                f->rg = next; /* stays at the end */
                f->rows = f->row = 0;
                if (f->dvi != f->n_del)
                    return dc_err_set(err, DC_ECORRUPT, "%s: its deletion vector deletes rows "
                                      "beyond the file's %" PRIu64, f->add->path, f->base);
                *has = false;
                return 0;
            }
            DC_TRY(load_rg(f, r, next, err));
        }
        const size_t i = f->row++;
        take_row(r, i);
        if (f->dvi < f->n_del && f->del[f->dvi] == f->base + i) {
            f->dvi++;
            continue;
        }
        *has = true;
        return 0;
    }
}

int sn_bin_file_open(sn_bin_file *f, sn_bin_rd *r, const dc_delta_add *add, dc_err *err)
{
    memset(f, 0, sizeof *f);
    f->add = add;
    f->rg = UINT32_MAX;
    dc_buf_init(&f->path, 1 << 20);
    dc_buf_init(&f->hold, DC_MAX_SMALL_FILE);
    dc_storage *st = dc_delta_snapshot_storage(r->in->snap);
    dc_delta_dv *dv = NULL;
    int rc = dc_delta_path_to_storage(&f->path, add->path, err);
    if (rc == 0) rc = dc_buf_putc(&f->path, '\0', err);
    if (rc == 0) rc = dc_delta_pq_open(&f->pr, &f->hold, st, (const char *)f->path.data,
                                       dc_delta_add_size(add), err);
    if (rc == 0 && add->has_dv) rc = dc_delta_dv_load(&dv, st, &add->dv, err);
    if (rc == 0 && dv) rc = dc_delta_dv_to_array(&f->del, &f->n_del, dv, err);
    if (rc == 0) rc = map_file(r, dc_pq_reader_schema(f->pr), add->path, err);
    dc_delta_dv_free(dv);
    return rc;
}

void sn_bin_file_close(sn_bin_file *f)
{
    dc_free(f->del);
    dc_pq_reader_free(f->pr);
    dc_buf_dispose(&f->hold);
    dc_buf_dispose(&f->path);
    memset(f, 0, sizeof *f);
}

/* One live data file of the input, into the sorter. */
static int read_file(sn_bin_rd *r, const dc_delta_add *add, sn_sorter *s, dc_err *err)
{
    sn_bin_file f;
    int rc = sn_bin_file_open(&f, r, add, err);
    for (bool has = true; rc == 0;) {
        if ((rc = sn_bin_file_next(&has, &f, r, err)) < 0 || !has) break;
        r->st->rows++;
        rc = put_record(r, s, err);
    }
    sn_bin_file_close(&f);
    return rc;
}

int sn_bin_rd_init(sn_bin_rd *r, sn_input *in, bool history, const int64_t *floor,
                   const bool *cdc_meta, const sn_layout *l, const sn_bin *b,
                   sn_read_stats *st, dc_err *err)
{
    *r = (sn_bin_rd){.in = in, .b = b, .l = l, .history = history, .floor = floor, .st = st,
                     .n = b->schema->root.n_children};
    /* snap_input.c's history_extra: what the CDC table has and the history lacks */
    r->const_op = history && cdc_meta && cdc_meta[SN_M_OP] && !in->has_meta[SN_M_OP] &&
                  b->meta_col[SN_M_OP] >= 0;
    r->const_ts = history && cdc_meta && cdc_meta[SN_M_TS] && !in->has_meta[SN_M_TS] &&
                  b->meta_col[SN_M_TS] >= 0 &&
                  b->schema->leaves[b->meta_col[SN_M_TS]].phys == PQ_INT64;
    const uint32_t n = r->n ? r->n : 1;
    r->map = dc_calloc(n, sizeof *r->map);
    r->conv = dc_calloc(n, sizeof *r->conv);
    r->cols = dc_calloc(n, sizeof *r->cols);
    r->vi = dc_calloc(n, sizeof *r->vi);
    r->vp = dc_calloc(n, sizeof *r->vp);
    r->vn = dc_calloc(n, sizeof *r->vn);
    r->fw = dc_calloc(n, sizeof *r->fw);
    r->rw = dc_calloc(n, sizeof *r->rw);
    r->rg_def = dc_calloc(n, sizeof *r->rg_def);
    r->take = dc_calloc(n, sizeof *r->take);
    if (!r->map || !r->conv || !r->cols || !r->vi || !r->vp || !r->vn || !r->fw || !r->rw ||
        !r->rg_def || !r->take)
        return dc_err_set(err, DC_ENOMEM, "snapshot: out of memory");
    for (uint32_t j = 0; j < r->n; j++) dc_pq_column_init(&r->cols[j]);
    for (uint32_t j = 0; j < r->n; j++) r->take[j] = j;
    r->n_take = r->n;
    return 0;
}

void sn_bin_rd_keys_only(sn_bin_rd *r, bool on)
{
    r->n_take = 0;
    for (uint32_t j = 0; j < r->n; j++) {
        bool key = !on;
        for (uint32_t i = 0; i < r->l->n_keys; i++) key |= r->b->key_col[i] == (int32_t)j;
        if (key) r->take[r->n_take++] = j;
        r->vp[j] = NULL;
    }
}

void sn_bin_rd_dispose(sn_bin_rd *r)
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
    dc_free(r->rg_def);
    dc_free(r->take);
    memset(r, 0, sizeof *r);
}

int sn_bin_read(sn_read_stats *out, sn_input *in, bool history, const int64_t *floor,
                const bool *cdc_meta, const sn_layout *l, const sn_bin *b, sn_sorter *s,
                atomic_size_t *claim, dc_err *err)
{
    memset(out, 0, sizeof *out);
    sn_bin_rd r;
    int rc = sn_bin_rd_init(&r, in, history, floor, cdc_meta, l, b, out, err);
    const size_t nf = dc_delta_snapshot_n_files(in->snap);
    for (size_t i = 0; rc == 0;) {
        const size_t f = claim ? atomic_fetch_add(claim, 1) : i++;
        if (f >= nf) break;
        const dc_delta_add *a = dc_delta_snapshot_file(in->snap, f);
        rc = read_file(&r, a, s, err);
        if (rc < 0 && rc != DC_EUNSUPPORTED) dc_err_prefix(err, "%s", a->path);
    }
    if (rc < 0 && rc != DC_EUNSUPPORTED)
        dc_err_prefix(err, "%s table %s, row %llu", in->role, in->uri,
                      (unsigned long long)out->rows);
    sn_bin_rd_dispose(&r);
    return rc;
}

/* ------------------------------------------------------------ writing */

/* Rows of the output's columns, gathered for one call of the file writer. */
typedef struct bin_batch {
    dc_pq_column *cols;         /* per output leaf */
    size_t n;                   /* rows gathered */
    bool ready;                 /* the columns hold room for BIN_BATCH_ROWS rows */
} bin_batch;

/* The output's columns being filled, and the thread that writes them: the
 * merge fills one batch while the writer thread encodes the other (both
 * cores; Parquet encoding and compression are about half the work). */
typedef struct bin_wr {
    const dc_pq_schema *os;     /* the data files' schema (the writer's) */
    const sn_bin *b;
    int32_t *to;                /* per rows' column: the output leaf it fills, -1: none */
    uint32_t *width;            /* per rows' column: bytes a value (0: a u32 length first) */
    uint32_t *unfed;            /* output leaves no rows' column fills (always null) */
    uint32_t n_unfed;
    bin_batch batch[2];         /* filled in turn */
    bin_batch *cur;             /* the one the merge fills */
    dc_delta_file_writer *dw;   /* used by the writer thread while it runs */
    const char *date;           /* the partition value (NULL: none) */
    bool threaded;              /* the writer thread runs (else batches are written inline) */
    pthread_t th;
    pthread_mutex_t mu;         /* guards full, done, rc, werr */
    pthread_cond_t cv;          /* full, done or rc changed */
    bin_batch *full;            /* handed to the writer thread until written (NULL: none) */
    bool done;                  /* no batch comes any more */
    int rc;                     /* the writer thread's failure (0: none) */
    dc_err werr;                /* its message */
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
    for (int i = 0; i < 2; i++) w->batch[i].cols = dc_calloc(nl, sizeof *w->batch[i].cols);
    w->cur = &w->batch[0];
    bool *fed = dc_calloc(nl, sizeof *fed);
    int rc = 0;
    if (!w->to || !w->width || !w->unfed || !w->batch[0].cols || !w->batch[1].cols || !fed) {
        rc = dc_err_set(err, DC_ENOMEM, "snapshot: out of memory");
        goto out;
    }
    for (int i = 0; i < 2; i++)
        for (uint32_t k = 0; k < w->os->n_leaves; k++) dc_pq_column_init(&w->batch[i].cols[k]);
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
    for (int i = 0; i < 2; i++) {
        for (uint32_t k = 0; w->batch[i].cols && k < w->os->n_leaves; k++)
            dc_pq_column_dispose(&w->batch[i].cols[k]);
        dc_free(w->batch[i].cols);
    }
    dc_free(w->to);
    dc_free(w->width);
    dc_free(w->unfed);
}

/* Room in every output column for a batch: levels and offsets for
 * BIN_BATCH_ROWS rows, and their values when fixed-width (reserved once, so
 * that a row is stored without a call per value). */
static int wr_ready(bin_wr *w, dc_err *err)
{
    for (uint32_t k = 0; k < w->os->n_leaves; k++) {
        const dc_pq_leaf *ol = &w->os->leaves[k];
        dc_pq_column *c = &w->cur->cols[k];
        DC_TRY(dc_pq_column_reserve_levels(c, BIN_BATCH_ROWS, ol->max_def > 0, false, err));
        if (ol->phys == PQ_BYTE_ARRAY) DC_TRY(dc_pq_column_reserve_offsets(c, BIN_BATCH_ROWS, err));
        else DC_TRY(dc_buf_reserve(&c->values, BIN_BATCH_ROWS *
                                   dc_pq_phys_width(ol->phys, ol->type_length), err));
    }
    w->cur->ready = true;
    return 0;
}

static int not_nullable(const dc_pq_leaf *ol, dc_err *err)
{
    return dc_err_set(err, DC_EINVAL, "column '%s' is not nullable: a row has no value for it",
                      ol->dotted);
}

/* Appends one value (NULL: null) to output leaf k; room for its level (and
 * for a fixed-width value) is there (wr_ready). */
static inline __attribute__((always_inline)) int
put_value(bin_wr *w, uint32_t k, const uint8_t *v, uint32_t len, dc_err *err)
{
    const dc_pq_leaf *ol = &w->os->leaves[k];
    dc_pq_column *c = &w->cur->cols[k];
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
    if (!w->cur->ready) DC_TRY(wr_ready(w, err));
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
    w->cur->n++;
    return 0;
bad: /* our own records, read back from memory or a spill file we wrote */
    return dc_err_set(err, DC_ECORRUPT, "snapshot: a damaged run record (%u bytes)", n);
}

/* Appends the current row of r (a streamed history's reader: the values
 * as its file stores them) to the output's columns, as put_row would the
 * record made of it. */
static int put_direct(bin_wr *w, const sn_bin_rd *r, dc_err *err)
{
    if (!w->cur->ready) DC_TRY(wr_ready(w, err));
    for (uint32_t j = 0; j < r->n; j++) {
        if (w->to[j] < 0) continue;
        const uint8_t *v = r->vp[j];
        uint32_t len = r->vn[j];
        uint8_t wide[8];
        if (v && r->conv[j] == SN_CONV_I32_I64) {
            dc_store_le64(wide, (uint64_t)(int64_t)(int32_t)dc_load_le32(v));
            v = wide;
            len = 8;
        } else if (v && r->conv[j] == SN_CONV_F32_F64) {
            float f;
            memcpy(&f, v, 4);
            const double d = f;
            memcpy(wide, &d, 8);
            v = wide;
            len = 8;
        }
        DC_TRY(put_value(w, (uint32_t)w->to[j], v, len, err));
    }
    for (uint32_t i = 0; i < w->n_unfed; i++) DC_TRY(put_value(w, w->unfed[i], NULL, 0, err));
    w->cur->n++;
    return 0;
}

/* Hands a batch's rows to the file writer; the batch is empty after. */
static int write_batch(bin_wr *w, bin_batch *bt, dc_err *err)
{
    if (!bt->n) return 0;
    const char *const pv[] = {w->date};
    DC_TRY(dc_delta_file_writer_write_columns(w->dw, pv, bt->cols, bt->n, err));
    for (uint32_t k = 0; k < w->os->n_leaves; k++) dc_pq_column_reset(&bt->cols[k]);
    bt->n = 0;
    return 0;
}

static void *writer_main(void *arg)
{
    bin_wr *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->full && !w->done) pthread_cond_wait(&w->cv, &w->mu);
        if (!w->full) break;
        bin_batch *bt = w->full;
        pthread_mutex_unlock(&w->mu);
        dc_err e;
        dc_err_clear(&e);
        const int rc = write_batch(w, bt, &e);
        pthread_mutex_lock(&w->mu);
        w->full = NULL;
        if (rc < 0) {
            w->rc = rc;
            w->werr = e;
        }
        pthread_cond_broadcast(&w->cv);
        if (rc < 0) break;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Waits until the writer thread has no batch in hand; its failure, if any. */
static int wait_idle(bin_wr *w, dc_err *err)
{
    pthread_mutex_lock(&w->mu);
    while (w->full && !w->rc) pthread_cond_wait(&w->cv, &w->mu);
    const int rc = w->rc;
    if (rc < 0) *err = w->werr;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* The batch being filled goes to the writer (the thread, or inline); the
 * merge goes on in the other, which the thread has written by then. */
static int hand_over(bin_wr *w, dc_err *err)
{
    if (!w->threaded) return write_batch(w, w->cur, err);
    DC_TRY(wait_idle(w, err));
    pthread_mutex_lock(&w->mu);
    w->full = w->cur;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->cur = w->cur == &w->batch[0] ? &w->batch[1] : &w->batch[0];
    return 0;
}

static void start_writer(bin_wr *w)
{
    if (pthread_mutex_init(&w->mu, NULL) != 0) return;
    if (pthread_cond_init(&w->cv, NULL) != 0) {
        pthread_mutex_destroy(&w->mu);
        return;
    }
    w->threaded = pthread_create(&w->th, NULL, writer_main, w) == 0;
    if (!w->threaded) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
    }
}

/* Lets the writer thread finish what it holds and end; its failure, if any. */
static int stop_writer(bin_wr *w, dc_err *err)
{
    if (!w->threaded) return 0;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    w->threaded = false;
    const int rc = w->rc;
    if (rc < 0) *err = w->werr;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    return rc;
}

static size_t batch_bytes(const bin_wr *w)
{
    size_t n = 0;
    for (uint32_t k = 0; k < w->os->n_leaves; k++) n += w->cur->cols[k].values.len;
    return n;
}

/* Every key's newest row into the batches. */
static int merge_rows(dc_snap_result *res, bin_wr *w, sn_sorter *s, const sn_bin_rd *direct,
                      dc_err *err)
{
    for (;;) {
        const sn_hdr *h = NULL;
        const uint8_t *key = NULL, *row = NULL;
        bool done = false;
        DC_TRY(sn_sorter_next(&h, &key, &row, &done, s, err));
        if (done) return hand_over(w, err);
        if (h->del) {
            res->deleted++;
            continue;
        }
        if (h->direct) {
            DC_ASSERT(direct);
            DC_TRY(put_direct(w, direct, err));
        } else {
            DC_TRY(put_row(w, row, h->rlen, err));
        }
        res->rows++;
        const size_t n = w->cur->n;
        if (n == BIN_BATCH_ROWS || (n % 1024 == 0 && batch_bytes(w) > BIN_BATCH_BYTES))
            DC_TRY(hand_over(w, err));
    }
}

int sn_bin_write(dc_snap_result *res, dc_delta_file_writer *dw, const sn_bin *b, sn_sorter *s,
                 const sn_bin_rd *direct, const char *date, dc_err *err)
{
    bin_wr w = {.os = dc_delta_file_writer_data_schema(dw), .b = b, .dw = dw, .date = date};
    int rc = wr_map(&w, err);
    if (rc == 0) start_writer(&w);
    if (rc == 0) rc = merge_rows(res, &w, s, direct, err);
    dc_err werr;
    dc_err_clear(&werr);
    const int wrc = stop_writer(&w, &werr);
    if (rc == 0 && wrc < 0) {
        *err = werr;
        rc = wrc;
    }
    wr_dispose(&w);
    return rc;
}
