/*
 * The key index after a rewrite that keeps every live row (OPTIMIZE, issue
 * 5): the rows of the removed files now live in the added files, at other
 * row numbers. Instead of rebuilding the whole index, the added files'
 * key, ts_ms, offset and operation_type columns are read and each slot that
 * pointed into a removed file is moved to the same row (same key, same
 * sequence) in its new file; then the snapshot follows the commit.
 *
 * Kept apart from merge_scan.c (which builds the index) on purpose: it
 * reads rows the same way (the canonical key of merge_int.h) but never
 * inserts; tests compare the moved index with a rebuilt one.
 */
#include "merge_int.h"

#include <inttypes.h>

dc_delta_snapshot *dc_merge_table_snapshot(dc_merge_table *t)
{
    return t->snap;
}

/* Columns read from an added file: key parts, then ts_ms, offset,
 * operation_type (-1: the file lacks it). */
typedef struct rp_file {
    dc_merge_table *t;
    const char *path;               /* add path, for messages */
    dc_pq_reader *r;
    int32_t leaf[DC_CDC_MAX_KEYS + MSEQ_COLS];
    dc_pq_column col[DC_CDC_MAX_KEYS + MSEQ_COLS];
    dc_buf kb;                      /* canonical key bytes of the current row */
    uint32_t file_id;               /* its id in the file table */
    const uint8_t *gone;            /* per file id below n_gone: 1 when removed */
    size_t n_gone;
    uint64_t moved;                 /* slots moved into this file */
} rp_file;

static int leaf_of(int32_t *out, const rp_file *f, const char *name, bool want_int, dc_err *err)
{
    const dc_pq_schema *ps = dc_pq_reader_schema(f->r);
    *out = -1;
    for (uint32_t i = 0; i < ps->root.n_children; i++) {
        const dc_pq_field *fl = &ps->root.children[i];
        if (strcmp(fl->name, name) != 0) continue;
        const dc_pq_leaf *l = fl->leaf >= 0 ? &ps->leaves[fl->leaf] : NULL;
        const bool fits = l && l->max_rep == 0 &&
                          (want_int ? l->phys == PQ_INT64 || l->phys == PQ_INT32
                                    : l->phys == PQ_BYTE_ARRAY);
        if (!fits)
            return dc_err_set(err, DC_ECORRUPT, "%s: column '%s' is not a %s column", f->path,
                              name, want_int ? "integer" : "string");
        *out = fl->leaf;
    }
    return 0;
}

static int map_columns(rp_file *f, dc_err *err)
{
    const dc_merge_table *t = f->t;
    for (uint32_t i = 0; i < t->n_keys; i++) {
        DC_TRY(leaf_of(&f->leaf[i], f, t->key_names[i], t->key_types[i] == DC_CDC_KEY_LONG, err));
        if (f->leaf[i] < 0)
            return dc_err_set(err, DC_ECORRUPT, "%s: no key column '%s'", f->path,
                              t->key_names[i]);
    }
    for (uint32_t i = 0; i < MSEQ_COLS; i++) {
        f->leaf[t->n_keys + i] = -1;
        if (t->seq_names[i])
            DC_TRY(leaf_of(&f->leaf[t->n_keys + i], f, t->seq_names[i], i < 2, err));
    }
    return 0;
}

/* The canonical key of a row (merge_int.h); *ok false when a part is null. */
static int row_key(bool *ok, mkey *k, rp_file *f, mcolcur *cc, size_t row, dc_err *err)
{
    const dc_merge_table *t = f->t;
    *ok = true;
    dc_buf_reset(&f->kb);
    for (uint32_t i = 0; i < t->n_keys; i++) {
        size_t vi = 0;
        if (!dc_mcolcur_next(&cc[i], row, &vi)) {
            *ok = false;
            continue; /* keep every cursor in step */
        }
        if (t->key_types[i] == DC_CDC_KEY_LONG) {
            const int64_t v = dc_mcol_i64(&cc[i], vi);
            uint8_t b[8];
            if (t->index.int_keys) {
                k->i = v;
                continue;
            }
            dc_mkey_long_put(b, v);
            DC_TRY(dc_buf_append(&f->kb, b, 8, err));
        } else {
            const uint32_t *o = cc[i].c->offsets;
            uint8_t l[4];
            dc_store_le32(l, o[vi + 1] - o[vi]);
            DC_TRY(dc_buf_append(&f->kb, l, 4, err));
            DC_TRY(dc_buf_append(&f->kb, cc[i].c->values.data + o[vi], o[vi + 1] - o[vi], err));
        }
    }
    if (f->kb.len > DC_MERGE_MAX_KEY_BYTES)
        return dc_err_set(err, DC_ELIMIT, "%s: a key of %zu bytes", f->path, f->kb.len);
    k->b = f->kb.data;
    k->len = (uint32_t)f->kb.len;
    k->hash = t->index.int_keys ? dc_mkey_hash_i64(k->i) : dc_mkey_hash_bytes(k->b, k->len);
    return 0;
}


/* Moves the key's slot to this row when it points into a removed file at
 * the same sequence (that is this row before the rewrite). */
static void move_slot(rp_file *f, const mkey *k, const mx_val *v)
{
    mx_index *x = &f->t->index;
    const size_t slot = dc_mx_find(x, k);
    if (slot == SIZE_MAX) return; /* a key the index does not hold (null part, or a loser) */
    const mx_val cur = dc_mx_get(x, slot);
    if (cur.file >= f->n_gone || !f->gone[cur.file]) return; /* held by a file that stays */
    if (dc_mseq_cmp(cur.seq, v->seq) != 0) return; /* a duplicate row of the key, not its row */
    dc_mx_set(x, slot, v);
    f->moved++;
}

static int move_rg(rp_file *f, uint32_t rg, uint64_t base, dc_err *err)
{
    mcolcur cc[DC_CDC_MAX_KEYS + MSEQ_COLS];
    const size_t rows = (size_t)dc_pq_reader_meta(f->r)->row_groups[rg].num_rows;
    DC_TRY(dc_merge_read_cols(cc, f->col, f->leaf, f->t->n_keys + MSEQ_COLS, f->r, rg, f->path, err));
    for (size_t row = 0; row < rows; row++) {
        mkey k = {0};
        bool ok = false;
        DC_TRY(row_key(&ok, &k, f, cc, row, err));
        mx_val v = {f->file_id, (uint32_t)(base + row), {0, 0}};
        dc_merge_row_seq(&v, f->leaf, f->t->n_keys, cc, row);
        if (ok) move_slot(f, &k, &v);
    }
    return 0;
}

static int move_into(rp_file *f, const dc_delta_add *add, dc_err *err)
{
    const pq_file_meta *m = dc_pq_reader_meta(f->r);
    if (m->num_rows < 0 || (uint64_t)m->num_rows > MX_ROW_MASK)
        return dc_err_set(err, DC_ELIMIT, "%s: %" PRId64 " rows; the key index takes files of "
                          "fewer than 2^31 rows", f->path, m->num_rows);
    DC_TRY(dc_mx_file_add(&f->file_id, &f->t->index, add->path, (uint64_t)m->num_rows, err));
    DC_TRY(map_columns(f, err));
    uint64_t base = 0;
    for (uint32_t rg = 0; rg < m->n_row_groups; rg++) {
        DC_TRY(move_rg(f, rg, base, err));
        base += (uint64_t)m->row_groups[rg].num_rows;
    }
    return 0;
}

static int move_file(uint64_t *moved, dc_merge_table *t, const dc_delta_add *add,
                     const uint8_t *gone, size_t n_gone, dc_err *err)
{
    rp_file f;
    memset(&f, 0, sizeof f);
    f.t = t;
    f.path = add->path;
    f.gone = gone;
    f.n_gone = n_gone;
    dc_buf hold;
    dc_buf_init(&hold, 0);
    dc_buf_init(&f.kb, DC_MERGE_MAX_KEY_BYTES * 2);
    for (uint32_t i = 0; i < DC_CDC_MAX_KEYS + MSEQ_COLS; i++) dc_pq_column_init(&f.col[i]);
    int rc = dc_merge_open_file(&f.r, &hold, t, add->path, true, err);
    if (rc == 0) rc = move_into(&f, add, err);
    *moved += f.moved;
    for (uint32_t i = 0; i < DC_CDC_MAX_KEYS + MSEQ_COLS; i++) dc_pq_column_dispose(&f.col[i]);
    dc_pq_reader_free(f.r);
    dc_buf_dispose(&f.kb);
    dc_buf_dispose(&hold);
    return rc;
}

/* Debug builds: no slot may still point into a removed file. */
#ifdef DC_DEBUG
static bool none_left(const dc_merge_table *t, const uint8_t *gone, size_t n_gone)
{
    for (size_t i = 0; i < t->index.cap; i++) {
        const uint32_t f = t->index.slots[i].file;
        if (f && f - 1 < n_gone && gone[f - 1]) return false;
    }
    return true;
}
#endif

/* Marks the removed files; false when one is not in the file table. */
static bool mark_gone(uint8_t *gone, const dc_merge_table *t, const char *const *removed,
                      size_t n_removed)
{
    for (size_t i = 0; i < n_removed; i++) {
        const int64_t id = dc_mx_file_find(&t->index, removed[i]);
        if (id < 0) return false;
        gone[id] = 1;
    }
    return true;
}

int dc_merge_table_after_rewrite(dc_merge_table *t, int64_t read_version, int64_t version,
                                 const char *const *removed, size_t n_removed,
                                 const dc_delta_add *added, size_t n_added, dc_err *err)
{
    const size_t n_gone = t->index.n_files;
    uint8_t *gone = dc_calloc(n_gone + 1, 1);
    if (!gone) return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    int rc = 0;
    uint64_t moved = 0;
    if (t->broken || dc_delta_snapshot_version(t->snap) != read_version ||
        !mark_gone(gone, t, removed, n_removed)) {
        /* the index does not describe the files the rewrite read: rebuild */
        DC_LOG(DC_LOG_INFO, "merge", "%s: version %" PRId64 " rewrote files the key index was "
               "not built on: rebuilding it", t->s->root, version);
        rc = dc_merge_table_catch_up(t, err);
        goto out;
    }
    for (size_t i = 0; rc == 0 && i < n_added; i++)
        rc = move_file(&moved, t, &added[i], gone, n_gone, err);
    if (rc == 0) DC_DASSERT(none_left(t, gone, n_gone));
    if (rc == 0) rc = dc_merge_table_refresh(t, version, version, err);
    if (rc == 0)
        DC_LOG(DC_LOG_DEBUG, "merge", "%s: version %" PRId64 ": %" PRIu64 " keys moved from %zu "
               "files into %zu", t->s->root, version, moved, n_removed, n_added);
out:
    if (rc < 0) {
        t->broken = true; /* rebuilt before its next use */
        dc_err_prefix(err, "key index after version %" PRId64, version);
    }
    dc_free(gone);
    return rc;
}
