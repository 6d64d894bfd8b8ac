/*
 * snap: the history streamed in key order (snap_int.h, sn_hist).
 *
 * A history written by `deltacdc bootstrap` (primary-key chunks) or by a
 * rebase (the merge's own output) lies in key order already. Copying it
 * into the sorter's runs, finding them in order, and — once it outgrows the
 * budget, as a 10M-row history does — writing them to the temporary
 * directory and reading them back was most of a snapshot's work. So the
 * history's key columns are read first (a fraction of its bytes): when the
 * live rows of each file have strictly ascending keys and the files' key
 * ranges do not overlap, the files are merged with the CDC runs straight
 * from their Parquet columns, a row group at a time, in the order of their
 * first keys: no run holds them and nothing spills. Any other history goes
 * through the sorter as before. The stream checks the order again as it
 * reads (a file changed in between is an error, never a wrong merge).
 */
#include "snap_int.h"

#include <stdlib.h>

static int hist_next(bool *has, sn_hdr *hd, const uint8_t **key, const uint8_t **row,
                     void *ctx, dc_err *err);

int sn_hist_init(sn_hist *h, sn_input *in, const bool *cdc_meta, const sn_layout *l,
                 const sn_bin *b, dc_err *err)
{
    memset(h, 0, sizeof *h);
    for (int i = 0; i < 2; i++) dc_buf_init(&h->rec[i], SN_MAX_KEY_BYTES + SN_MAX_ROW_BYTES);
    h->stream = (sn_stream){.next = hist_next, .ctx = h};
    return sn_bin_rd_init(&h->r, in, true, NULL, cdc_meta, l, b, &h->st, err);
}

void sn_hist_dispose(sn_hist *h)
{
    if (h->open) sn_bin_file_close(&h->f);
    sn_bin_rd_dispose(&h->r);
    for (int i = 0; i < 2; i++) dc_buf_dispose(&h->rec[i]);
    dc_free(h->order);
    memset(h, 0, sizeof *h);
}

/* ------------------------------------------------------------- check */

/* One live file's key range (keys in the check's buffer). */
typedef struct span {
    size_t file;                /* snapshot index */
    size_t lo, hi;              /* offsets of its first and last key in keys */
    uint32_t lo_len, hi_len;
} span;

/* The check's state. */
typedef struct checker {
    sn_hist *h;
    dc_buf keys;                /* every span's first and last key */
    dc_buf k[2];                /* the row's key and the previous one */
    span *spans;
    size_t n_spans;
} checker;

static int span_cmp(const void *x, const void *y, void *ctx)
{
    const span *a = x, *b = y;
    const uint8_t *keys = ctx;
    return sn_key_cmp(keys + a->lo, a->lo_len, keys + b->lo, b->lo_len);
}

/* The key columns of file i: *sorted false at the first key not above the
 * one before; else its span is added (a file without live rows has none). */
static int check_file(bool *sorted, checker *c, size_t i, dc_err *err)
{
    sn_hist *h = c->h;
    const dc_delta_add *add = dc_delta_snapshot_file(h->r.in->snap, i);
    sn_bin_file f;
    int rc = sn_bin_file_open(&f, &h->r, add, err);
    uint32_t cur = 0, n = 0;
    span sp = {.file = i};
    for (bool has = true; rc == 0 && *sorted;) {
        if ((rc = sn_bin_file_next(&has, &f, &h->r, err)) < 0 || !has) break;
        uint32_t kl = 0;
        if ((rc = sn_bin_key_len(&kl, &h->r, err)) < 0) break;
        dc_buf *k = &c->k[cur ^= 1];
        dc_buf_reset(k);
        if ((rc = dc_buf_reserve(k, kl, err)) < 0) break;
        sn_bin_key(k->data, &h->r);
        k->len = kl;
        const dc_buf *prev = &c->k[cur ^ 1];
        if (n++ && sn_key_cmp(prev->data, (uint32_t)prev->len, k->data, kl) >= 0) *sorted = false;
        if (n == 1) {
            sp.lo = c->keys.len;
            sp.lo_len = kl;
            rc = dc_buf_append(&c->keys, k->data, kl, err);
        }
    }
    h->rows += n;
    if (rc == 0 && *sorted && n) {
        sp.hi = c->keys.len;
        sp.hi_len = (uint32_t)c->k[cur].len;
        rc = dc_buf_append(&c->keys, c->k[cur].data, c->k[cur].len, err);
        if (rc == 0) c->spans[c->n_spans++] = sp;
    }
    if (rc < 0 && rc != DC_EUNSUPPORTED) dc_err_prefix(err, "%s", add->path);
    sn_bin_file_close(&f);
    return rc;
}

int sn_hist_check(bool *sorted, sn_hist *h, dc_err *err)
{
    const size_t nf = dc_delta_snapshot_n_files(h->r.in->snap);
    checker c = {.h = h};
    dc_buf_init(&c.keys, (size_t)1 << 40);
    for (int i = 0; i < 2; i++) dc_buf_init(&c.k[i], SN_MAX_KEY_BYTES);
    c.spans = dc_calloc(nf ? nf : 1, sizeof *c.spans);
    *sorted = true;
    h->rows = 0;
    int rc = c.spans ? 0 : dc_err_set(err, DC_ENOMEM, "snapshot: out of memory");
    sn_bin_rd_keys_only(&h->r, true);
    for (size_t i = 0; rc == 0 && *sorted && i < nf; i++) rc = check_file(sorted, &c, i, err);
    sn_bin_rd_keys_only(&h->r, false);
    if (rc == 0 && *sorted) {
        qsort_r(c.spans, c.n_spans, sizeof *c.spans, span_cmp, c.keys.data);
        for (size_t i = 1; i < c.n_spans && *sorted; i++) {
            const span *a = &c.spans[i - 1], *b = &c.spans[i];
            *sorted = sn_key_cmp(c.keys.data + a->hi, a->hi_len, c.keys.data + b->lo,
                              b->lo_len) < 0;
        }
    }
    if (rc == 0 && *sorted) {
        h->order = dc_calloc(c.n_spans ? c.n_spans : 1, sizeof *h->order);
        if (!h->order) rc = dc_err_set(err, DC_ENOMEM, "snapshot: out of memory");
        for (size_t i = 0; rc == 0 && i < c.n_spans; i++) h->order[i] = c.spans[i].file;
        h->n_order = c.n_spans;
    }
    if (rc < 0 && rc != DC_EUNSUPPORTED)
        dc_err_prefix(err, "history table %s", h->r.in->uri);
    dc_free(c.spans);
    dc_buf_dispose(&c.keys);
    for (int i = 0; i < 2; i++) dc_buf_dispose(&c.k[i]);
    return rc;
}

/* ------------------------------------------------------------ stream */

/* The next live row of the files in order into h->r (*has false: none). */
static int next_row(bool *has, sn_hist *h, dc_err *err)
{
    for (;;) {
        if (!h->open) {
            if (h->next == h->n_order) {
                *has = false;
                return 0;
            }
            const dc_delta_add *add = dc_delta_snapshot_file(h->r.in->snap,
                                                             h->order[h->next++]);
            h->open = true;
            DC_TRY(sn_bin_file_open(&h->f, &h->r, add, err));
        }
        DC_TRY(sn_bin_file_next(has, &h->f, &h->r, err));
        if (*has) return 0;
        sn_bin_file_close(&h->f);
        h->open = false;
    }
}

/* The row in h->r as the next record, in the buffer the last but one used:
 * its key alone, the record `direct` (the write takes the values from h->r,
 * where they stay until the stream moves on). */
static int make_record(sn_hdr *hd, sn_hist *h, dc_err *err)
{
    bool skip = false;
    DC_TRY(sn_bin_hdr(hd, &skip, &h->r, true, err));
    DC_ASSERT(!skip && hd->direct && hd->rlen == 0); /* the history has no floor */
    h->cur ^= 1;
    dc_buf *b = &h->rec[h->cur];
    dc_buf_reset(b);
    DC_TRY(dc_buf_reserve(b, hd->klen, err));
    sn_bin_key(b->data, &h->r);
    b->len = hd->klen;
    h->klen[h->cur] = hd->klen;
    const dc_buf *p = &h->rec[h->cur ^ 1];
    if (h->st.rows > 0 && sn_key_cmp(p->data, h->klen[h->cur ^ 1], b->data, hd->klen) >= 0)
        return dc_err_set(err, DC_ECORRUPT, "%s: a key not above the one before, although "
                          "the file's keys were found in order (changed meanwhile?)",
                          h->f.add->path);
    return 0;
}

static int hist_next(bool *has, sn_hdr *hd, const uint8_t **key, const uint8_t **row,
                     void *ctx, dc_err *err)
{
    sn_hist *h = ctx;
    int rc = next_row(has, h, err);
    if (rc == 0 && *has) rc = make_record(hd, h, err);
    if (rc < 0) {
        dc_err_prefix(err, "history table %s, row %llu", h->r.in->uri,
                      (unsigned long long)h->st.rows);
        return rc;
    }
    if (!*has) return 0;
    h->st.rows++;
    *key = h->rec[h->cur].data;
    *row = *key + hd->klen;
    return 0;
}

