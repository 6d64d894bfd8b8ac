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

/* The canonical key of a row (merge_int.h), its bytes appended to f->kb
 * (k->b is set by the caller once kb stops moving); *ok false when a part
 * is null. */
static int row_key(bool *ok, mkey *k, rp_file *f, mcolcur *cc, size_t row, dc_err *err)
{
    const dc_merge_table *t = f->t;
    const size_t at = f->kb.len;
    *ok = true;
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
    if (f->kb.len - at > DC_MERGE_MAX_KEY_BYTES)
        return dc_err_set(err, DC_ELIMIT, "%s: a key of %zu bytes", f->path, f->kb.len - at);
    k->b = NULL;
    k->len = (uint32_t)(f->kb.len - at);
    k->hash = t->index.int_keys ? dc_mx_hash_i64(&t->index, k->i)
                                : dc_mx_hash_bytes(&t->index, f->kb.data + at, k->len);
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
    /* A duplicate row of the key, not its row, has another sequence. Only the
     * ordering values are compared (no read back): two rows of one key in
     * one ordering step are told apart only by their files (rare: a key
     * held twice, by another engine's commit). */
    const int c = dc_mx_cmp(x, slot, v->seq);
    if (c != 0 && c != MX_UNSURE) return;
    dc_mx_move(x, slot, v->file, v->row);
    f->moved++;
}

/* Rows are moved in chunks: keys first (prefetching their home slots), then
 * the lookups, so that the cache misses of a chunk overlap (the new file is
 * in key order, so its keys' slots are all over the index). */
#define MOVE_CHUNK 32

typedef struct move_pending {
    mkey k;                         /* b set from koff once the chunk's keys are in */
    size_t koff;                    /* offset of the key bytes in f->kb */
    mx_val v;                       /* the row in the new file */
} move_pending;

static int move_chunk(rp_file *f, mcolcur *cc, size_t row0, size_t n, uint64_t base, dc_err *err)
{
    move_pending p[MOVE_CHUNK];
    size_t np = 0;
    dc_buf_reset(&f->kb);
    for (size_t row = row0; row < row0 + n; row++) {
        move_pending *q = &p[np];
        bool ok = false;
        q->koff = f->kb.len;
        DC_TRY(row_key(&ok, &q->k, f, cc, row, err));
        q->v = (mx_val){f->file_id, (uint32_t)(base + row), {0, 0}};
        dc_merge_row_seq(&q->v, f->leaf, f->t->n_keys, cc, row);
        if (!ok) continue; /* a null key part: never indexed */
        dc_mx_prefetch(&f->t->index, q->k.hash);
        np++;
    }
    for (size_t i = 0; i < np; i++) {
        p[i].k.b = f->kb.data + p[i].koff;
        move_slot(f, &p[i].k, &p[i].v);
    }
    return 0;
}

static int move_rg(rp_file *f, uint32_t rg, uint64_t base, dc_err *err)
{
    mcolcur cc[DC_CDC_MAX_KEYS + MSEQ_COLS];
    const size_t rows = (size_t)dc_pq_reader_meta(f->r)->row_groups[rg].num_rows;
    DC_TRY(dc_merge_read_cols(cc, f->col, f->leaf, f->t->n_keys + MSEQ_COLS, f->r, rg, f->path, err));
    for (size_t row0 = 0; row0 < rows; row0 += MOVE_CHUNK)
        DC_TRY(move_chunk(f, cc, row0, rows - row0 < MOVE_CHUNK ? rows - row0 : MOVE_CHUNK,
                          base, err));
    f->t->rows_read += rows;
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
    dc_buf_init(&f.kb, (MOVE_CHUNK + 1) * DC_MERGE_MAX_KEY_BYTES); /* a chunk's keys */
    for (uint32_t i = 0; i < DC_CDC_MAX_KEYS + MSEQ_COLS; i++) dc_pq_column_init(&f.col[i]);
    int rc = dc_merge_open_file(&f.r, &hold, t, add->path, dc_delta_add_size(add), err);
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

/* Marks the removed files (gone[id] = 1, map_of[id] = their index in
 * rw->removed); false when one is not in the file table. */
static bool mark_gone(uint8_t *gone, int32_t *map_of, const dc_merge_table *t,
                      const dc_merge_rewrite *rw)
{
    for (size_t i = 0; i < rw->n_removed; i++) {
        const int64_t id = dc_mx_file_find(&t->index, rw->removed[i]);
        if (id < 0) return false;
        gone[id] = 1;
        map_of[id] = (int32_t)i;
    }
    return true;
}

/* ------------------------------------------------- moving by row maps */

/* The index is walked (its slots in order, 32 bytes each) instead of the
 * moved keys looked up one by one (a cache miss each, plus reading the new
 * files) when the rewrite moved at least 1/WALK_SHARE of the slots. */
#define WALK_SHARE 16

/* Live rows the row maps send to each added file (its row count). */
static uint64_t mapped_rows(uint64_t *per_added, const dc_merge_rewrite *rw)
{
    uint64_t total = 0;
    for (size_t i = 0; i < rw->n_removed; i++) {
        const uint32_t a = rw->map_added[i];
        for (uint64_t r = 0; r < rw->map_rows[i]; r++) {
            const bool live = rw->row_maps[i][r] != UINT32_MAX;
            total += live;
            if (live && a < rw->n_added) per_added[a]++;
        }
    }
    return total;
}

/* Repoints every slot held by a removed file to its row's new place. */
static int walk_slots(uint64_t *moved, dc_merge_table *t, const dc_merge_rewrite *rw,
                      const int32_t *map_of, size_t n_gone, const uint32_t *ids, dc_err *err)
{
    mx_index *x = &t->index;
    for (size_t i = 0; i < x->cap; i++) {
        mx_slot *s = &x->slots[i];
        if (!s->file || s->file - 1 >= n_gone || map_of[s->file - 1] < 0) continue;
        const size_t m = (size_t)map_of[s->file - 1];
        const uint32_t row = s->row & MX_ROW_MASK, a = rw->map_added[m];
        const uint32_t to = row < rw->map_rows[m] ? rw->row_maps[m][row] : UINT32_MAX;
        if (to == UINT32_MAX || a >= rw->n_added || to > MX_ROW_MASK)
            return dc_err_set(err, DC_EINTERNAL, "the rewrite did not keep row %u of %s, "
                              "which the key index holds", row, rw->removed[m]);
        s->file = ids[a] + 1;
        s->row = to | (s->row & MX_ROW_TOMB);
        (*moved)++;
    }
    return 0;
}

/* Adds the new files to the file table and walks the index; *done false
 * (nothing changed) when the rewrite is too small a share for a walk. */
static int move_by_maps(bool *done, uint64_t *moved, dc_merge_table *t,
                        const dc_merge_rewrite *rw, const int32_t *map_of, size_t n_gone,
                        dc_err *err)
{
    *done = false;
    uint64_t *rows = dc_calloc(rw->n_added + 1, sizeof *rows);
    uint32_t *ids = dc_calloc(rw->n_added + 1, sizeof *ids);
    int rc = rows && ids ? 0 : dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    const uint64_t live = rc == 0 ? mapped_rows(rows, rw) : 0;
    if (rc == 0 && live * WALK_SHARE < t->index.cap) goto out; /* look the keys up instead */
    for (size_t j = 0; rc == 0 && j < rw->n_added; j++) {
        if (rows[j] > MX_ROW_MASK)
            rc = dc_err_set(err, DC_ELIMIT, "%s: %" PRIu64 " rows; the key index takes files "
                            "of fewer than 2^31 rows", rw->added[j].path, rows[j]);
        else
            rc = dc_mx_file_add(&ids[j], &t->index, rw->added[j].path, rows[j], err);
    }
    if (rc == 0) rc = walk_slots(moved, t, rw, map_of, n_gone, ids, err);
    *done = rc == 0;
out:
    dc_free(rows);
    dc_free(ids);
    return rc;
}

int dc_merge_table_after_rewrite(dc_merge_table *t, const dc_merge_rewrite *rw, dc_err *err)
{
    const size_t n_gone = t->index.n_files;
    uint8_t *gone = dc_calloc(n_gone + 1, 1);
    int32_t *map_of = dc_malloc((n_gone + 1) * sizeof *map_of);
    if (!gone || !map_of) {
        dc_free(gone);
        dc_free(map_of);
        t->broken = true;
        return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    }
    memset(map_of, 0xff, (n_gone + 1) * sizeof *map_of);
    int rc = 0;
    uint64_t moved = 0;
    bool done = false;
    if (t->broken || dc_delta_snapshot_version(t->snap) != rw->read_version ||
        !mark_gone(gone, map_of, t, rw)) {
        /* the index does not describe the files the rewrite read: rebuild */
        DC_LOG(DC_LOG_INFO, "merge", "%s: version %" PRId64 " rewrote files the key index was "
               "not built on: rebuilding it", t->s->root, rw->version);
        rc = dc_merge_table_catch_up(t, err);
        goto out;
    }
    if (rw->row_maps) rc = move_by_maps(&done, &moved, t, rw, map_of, n_gone, err);
    for (size_t i = 0; rc == 0 && !done && i < rw->n_added; i++)
        rc = move_file(&moved, t, &rw->added[i], gone, n_gone, err);
    if (rc == 0) DC_DASSERT(none_left(t, gone, n_gone));
    if (rc == 0) rc = dc_merge_table_refresh(t, rw->version, rw->version, err);
    if (rc == 0)
        DC_LOG(DC_LOG_DEBUG, "merge", "%s: version %" PRId64 ": %" PRIu64 " keys moved from %zu "
               "files into %zu (%s)", t->s->root, rw->version, moved, rw->n_removed,
               rw->n_added, done ? "index walked with the row maps" : "keys looked up");
out:
    if (rc < 0) {
        t->broken = true; /* rebuilt before its next use */
        dc_err_prefix(err, "key index after version %" PRId64, rw->version);
    }
    dc_free(gone);
    dc_free(map_of);
    return rc;
}
