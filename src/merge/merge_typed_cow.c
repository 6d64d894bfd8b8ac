/*
 * Copy-on-write for typed tables: a file holding replaced rows is rewritten
 * without them (and without rows its deletion vector removed). A typed
 * table's columns may nest (geometry structs, SET arrays), so rows are
 * carried over in their JSON form (the reader's and the writer's common
 * conventions, parquet.h: the round trip is exact) instead of flat columns
 * as merge_cow.c does for raw tables; the file is written with the table's
 * schema of this commit (a column the batch adds is null in carried rows).
 * Index slots pointing at carried rows are noted as moves, as there.
 */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>

/* One file being rewritten. */
typedef struct tcow_src {
    dc_merge_table *t;
    mcow *c;
    const mcow_file *f;
    const dc_delta_add *live;
    dc_pq_reader *r;
    uint64_t *dv;                   /* rows its DV deletes (ascending), or NULL */
    size_t n_dv, dv_at, drop_at;    /* entries, walk positions */
    dc_buf lines;                   /* JSON lines of the current row group */
    dc_buf kb;                      /* canonical key of the current row */
    dc_arena a;                     /* the current row's DOM */
    uint32_t out_rows;              /* rows written so far */
} tcow_src;

static bool in_sorted(const uint64_t *a, size_t n, size_t *at, uint64_t row)
{
    while (*at < n && a[*at] < row) (*at)++;
    return *at < n && a[*at] == row;
}

/* A LONG key part from the reader's JSON text of a date ("YYYY-MM-DD": days),
 * timestamp ("YYYY-MM-DDTHH:MM:SS.ffffff[Z]": µs) or decimal ("-12.30": the
 * unscaled value), parquet.h's conventions; false when it is none of them. */
static bool text_long(int64_t *out, const dc_json *v, dc_type ty)
{
    char s[48];
    if (v->type != DC_JSON_STRING || v->len >= sizeof s) return false;
    memcpy(s, v->u.str, v->len);
    s[v->len] = '\0';
    int y = 0, n = 0;
    unsigned mo = 0, d = 0, h = 0, mi = 0, se = 0, us = 0;
    if (ty == DC_TYPE_DATE) {
        if (sscanf(s, "%d-%u-%u%n", &y, &mo, &d, &n) != 3 || s[n]) return false;
        *out = dc_days_from_civil(y, mo, d);
        return true;
    }
    if (ty == DC_TYPE_TIMESTAMP || ty == DC_TYPE_TIMESTAMP_NTZ) {
        if (sscanf(s, "%d-%u-%uT%u:%u:%u.%6u%n", &y, &mo, &d, &h, &mi, &se, &us, &n) != 7 ||
            (s[n] && strcmp(s + n, "Z") != 0))
            return false;
        *out = ((dc_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + se;
        *out = *out * 1000000 + us;
        return true;
    }
    int64_t x = 0; /* DECIMAL: the digits without the point (exactly `scale` after it) */
    const char *p = s + (s[0] == '-');
    if (!*p) return false;
    for (; *p; p++) {
        if (*p == '.') continue;
        if (*p < '0' || *p > '9' || x > (INT64_MAX - 9) / 10) return false;
        x = x * 10 + (*p - '0');
    }
    *out = s[0] == '-' ? -x : x;
    return true;
}

/* The canonical key of a carried row from its JSON members; false when a
 * part is missing or null. */
static int json_key(bool *ok, mkey *k, tcow_src *cs, const dc_json *row, dc_err *err)
{
    const dc_merge_table *t = cs->t;
    memset(k, 0, sizeof *k);
    dc_buf_reset(&cs->kb);
    *ok = true;
    for (uint32_t i = 0; i < t->n_keys && *ok; i++) {
        const dc_json *v = dc_json_get(row, dc_mtyped_physical(cs->t, t->key_names[i]));
        if (!v || v->type == DC_JSON_NULL) {
            *ok = false;
        } else if (t->key_types[i] == DC_CDC_KEY_LONG) {
            int64_t x = 0;
            if (!t->key_conv || v->type == DC_JSON_NUMBER)
                DC_TRY(dc_json_i64(&x, v, t->key_names[i], err));
            else if (!text_long(&x, v, t->key_dtype[i]))
                return dc_err_set(err, DC_ECORRUPT, "%s: key column '%s' has a value that is "
                                  "not a %s", cs->live->path, t->key_names[i],
                                  t->key_dtype[i] == DC_TYPE_DATE ? "date" :
                                  t->key_dtype[i] == DC_TYPE_DECIMAL ? "decimal" : "timestamp");
            k->i = x;
            uint8_t b[8];
            dc_mkey_long_put(b, x);
            if (!t->index.int_keys) DC_TRY(dc_buf_append(&cs->kb, b, 8, err));
        } else {
            if (v->type != DC_JSON_STRING)
                return dc_err_set(err, DC_ECORRUPT, "%s: key column '%s' is not a string",
                                  cs->live->path, t->key_names[i]);
            uint8_t l[4];
            if (t->key_dtype[i] == DC_TYPE_BINARY) { /* base64 in the row: its bytes */
                const size_t at = cs->kb.len;
                DC_TRY(dc_buf_append(&cs->kb, l, 4, err));
                DC_TRY(dc_base64_decode(&cs->kb, v->u.str, v->len, err));
                dc_store_le32(cs->kb.data + at, (uint32_t)(cs->kb.len - at - 4));
                continue;
            }
            dc_store_le32(l, v->len);
            DC_TRY(dc_buf_append(&cs->kb, l, 4, err));
            DC_TRY(dc_buf_append(&cs->kb, v->u.str, v->len, err));
        }
    }
    k->b = cs->kb.data;
    k->len = (uint32_t)cs->kb.len;
    k->hash = t->index.int_keys ? dc_mx_hash_i64(&t->index, k->i)
                                : dc_mx_hash_bytes(&t->index, k->b, k->len);
    return 0;
}

static void note_move(tcow_src *cs, const mkey *k, uint64_t row)
{
    mcow *c = cs->c;
    const size_t slot = dc_mx_find(&cs->t->index, k);
    if (slot == SIZE_MAX) return;
    const mx_val v = dc_mx_get(&cs->t->index, slot);
    if (v.file != cs->f->file_id || (v.row & MX_ROW_MASK) != row) return;
    DC_ASSERT(c->n_moves < c->cap_moves);
    c->moves[c->n_moves++] = (mcow_move){slot, cs->out_rows | (v.row & MX_ROW_TOMB),
                                         (uint32_t)c->n_outs};
}

/* Feeds the writer every row of the file that stays. */
static int feed_rows(dc_pq_writer *w, void *ctx, dc_err *err)
{
    tcow_src *cs = ctx;
    const pq_file_meta *m = dc_pq_reader_meta(cs->r);
    uint64_t base = 0;
    for (uint32_t rg = 0; rg < m->n_row_groups; rg++) {
        dc_buf_reset(&cs->lines);
        DC_TRY(dc_pq_reader_rows_json(&cs->lines, cs->r, rg, NULL, err));
        const char *p = (const char *)cs->lines.data, *end = p + cs->lines.len;
        for (uint64_t row = base; p < end; row++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            const bool drop = in_sorted(cs->f->rows, cs->f->n_rows, &cs->drop_at, row) ||
                              in_sorted(cs->dv, cs->n_dv, &cs->dv_at, row);
            if (!drop) {
                dc_json *doc = NULL;
                bool ok = false;
                mkey k;
                dc_arena_reset(&cs->a);
                DC_TRY(dc_json_parse(&doc, &cs->a, p, n, err));
                /* column mapping: a dropped column stays in the file, not in the table */
                if (cs->t->typed->cm) dc_mcolmap_strip(doc, cs->t->pq_schema);
                DC_TRY(dc_pq_writer_write_json_row(w, doc, err));
                DC_TRY(json_key(&ok, &k, cs, doc, err));
                if (ok) note_move(cs, &k, row);
                cs->out_rows++;
            }
            p += n + 1;
        }
        base += (uint64_t)m->row_groups[rg].num_rows;
    }
    return 0;
}

static int rewrite_one(mcow *c, dc_merge_table *t, dc_delta_tx *tx, const mcow_file *f,
                       dc_err *err)
{
    tcow_src cs;
    memset(&cs, 0, sizeof cs);
    cs.t = t;
    cs.c = c;
    cs.f = f;
    cs.live = dc_merge_live_add(t, f->file_id);
    dc_buf hold;
    dc_buf_init(&hold, 0);
    dc_buf_init(&cs.lines, DC_MERGE_MAX_BATCH_BYTES);
    dc_buf_init(&cs.kb, DC_MERGE_MAX_KEY_BYTES * 2);
    dc_arena_init(&cs.a, DC_JSON_MAX_DOC_BYTES);
    int rc = dc_merge_open_file(&cs.r, &hold, t, cs.live->path,
                                dc_delta_add_size(cs.live), err);
    if (rc == 0 && cs.live->has_dv) {
        dc_delta_dv *dv = NULL;
        rc = dc_delta_dv_load(&dv, t->s, &cs.live->dv, err);
        if (rc == 0) rc = dc_delta_dv_to_array(&cs.dv, &cs.n_dv, dv, err);
        dc_delta_dv_free(dv);
    }
    /* Rows that stay: the file's, less its DV's and the dropped ones (live rows). */
    const uint64_t rows = t->index.files[f->file_id].n_rows;
    const uint64_t keep = rows - cs.n_dv - f->n_rows;
    if (rc == 0 && keep > 0) {
        rc = dc_merge_write_file(&c->outs[c->n_outs], t, feed_rows, &cs, (size_t)keep, err);
        c->n_outs++; /* disposed (and removed if written) with the mcow */
        if (rc == 0) rc = dc_delta_tx_add(tx, &c->outs[c->n_outs - 1].add, err);
    }
    if (rc == 0) rc = dc_delta_tx_remove_file(tx, cs.live, true, err);
    if (rc == 0) c->rows_copied += keep;
    if (rc < 0) dc_err_prefix(err, "rewriting %s", cs.live->path);
    dc_pq_reader_free(cs.r);
    dc_free(cs.dv);
    dc_buf_dispose(&cs.lines);
    dc_buf_dispose(&cs.kb);
    dc_arena_dispose(&cs.a);
    dc_buf_dispose(&hold);
    return rc;
}

int dc_mtyped_cow_rewrite(mcow *c, dc_merge_table *t, dc_delta_tx *tx, const mcow_file *files,
                          size_t n, dc_err *err)
{
    DC_ASSERT(!c->outs && !c->moves);
    DC_TRY(dc_mcow_reserve(c, t, files, n, err));
    for (size_t i = 0; i < n; i++) DC_TRY(rewrite_one(c, t, tx, &files[i], err));
    return 0;
}
