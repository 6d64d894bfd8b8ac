/*
 * Building the key index from a table's files: only the key, ts_ms, offset
 * and operation_type columns are read (row group by row group), rows deleted
 * by a file's deletion vector are skipped, and each row is indexed at its
 * physical position. Also keeping the file table in step with the snapshot
 * and following commits made by others.
 */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int dc_merge_open_file(dc_pq_reader **out, dc_buf *hold, dc_merge_table *t,
                       const char *add_path, uint64_t size, dc_err *err)
{
    dc_buf p;
    dc_buf_init(&p, 1 << 20);
    dc_buf_init(hold, DC_MAX_SMALL_FILE);
    *out = NULL;
    int rc = dc_delta_path_to_storage(&p, add_path, err);
    if (rc == 0) rc = dc_buf_putc(&p, '\0', err);
    if (rc == 0) rc = dc_delta_pq_open(out, hold, t->s, (const char *)p.data, size, err);
    dc_buf_dispose(&p);
    return rc;
}

const dc_delta_add *dc_merge_live_add(const dc_merge_table *t, uint32_t id)
{
    DC_ASSERT(id < t->index.n_files);
    const mx_file *f = &t->index.files[id];
    DC_ASSERT(f->snap_i != SIZE_MAX); /* every indexed row is in a live file */
    const dc_delta_add *a = dc_delta_snapshot_file(t->snap, f->snap_i);
    DC_ASSERT(strcmp(a->path, f->path) == 0);
    return a;
}

/* ------------------------------------------------------- one file */

/* Columns read from one file: leaves of the key parts, ts_ms, offset and
 * operation_type (-1 when the file lacks the column: nulls). */
typedef struct scan_file {
    dc_merge_table *t;
    dc_pq_reader *r;
    const char *path;               /* add path, for messages */
    int32_t leaf[DC_CDC_MAX_KEYS + MSEQ_COLS]; /* keys, then ts, off, op */
    dc_pq_column col[DC_CDC_MAX_KEYS + MSEQ_COLS];
    uint64_t *dv;                   /* deleted rows ascending (dc_free), or NULL */
    size_t n_dv, dv_at;             /* entries and walk position */
    uint32_t file_id;
    bool unindex;                   /* drop the index entries pointing at the rows instead */
    dc_buf kb;                      /* canonical key bytes of the current row */
    uint64_t null_keys;             /* rows with a null key part: not indexed */
} scan_file;

static bool leaf_fits(const dc_pq_leaf *l, bool want_int)
{
    if (l->max_rep != 0) return false;
    if (want_int) return l->phys == PQ_INT64 || l->phys == PQ_INT32;
    return l->phys == PQ_BYTE_ARRAY;
}

static int find_leaf(int32_t *out, const scan_file *sf, const char *name, bool want_int,
                     dc_err *err)
{
    const dc_pq_schema *ps = dc_pq_reader_schema(sf->r);
    *out = -1;
    for (uint32_t i = 0; i < ps->root.n_children; i++) {
        const dc_pq_field *f = &ps->root.children[i];
        if (strcmp(f->name, name) != 0) continue;
        if (f->leaf < 0 || !leaf_fits(&ps->leaves[f->leaf], want_int))
            return dc_err_set(err, DC_ECORRUPT, "%s: column '%s' is not a %s column", sf->path,
                              name, want_int ? "integer" : "string");
        *out = f->leaf;
    }
    return 0;
}

static int map_leaves(scan_file *sf, dc_err *err)
{
    const dc_merge_table *t = sf->t;
    for (uint32_t i = 0; i < t->n_keys; i++) {
        const char *phys = t->typed ? dc_mtyped_physical((dc_merge_table *)t, t->key_names[i])
                                    : t->key_names[i];
        DC_TRY(find_leaf(&sf->leaf[i], sf, phys, t->key_types[i] == DC_CDC_KEY_LONG, err));
        if (sf->leaf[i] < 0)
            return dc_err_set(err, DC_ECORRUPT, "%s: the data file has no key column '%s'",
                              sf->path, t->key_names[i]);
    }
    for (uint32_t i = 0; i < MSEQ_COLS; i++) {
        sf->leaf[t->n_keys + i] = -1;
        if (t->seq_names[i])
            DC_TRY(find_leaf(&sf->leaf[t->n_keys + i], sf, t->seq_names[i], i < 2, err));
    }
    return 0;
}

/* Key of row `row` from the cursors, its bytes appended to sf->kb from
 * k->b's offset `at` (k->b is set by the caller once kb stops moving);
 * *ok false when a key part is null. */
static int row_key(bool *ok, mkey *k, scan_file *sf, mcolcur *cc, size_t row, dc_err *err)
{
    const dc_merge_table *t = sf->t;
    const size_t at = sf->kb.len;
    *ok = true;
    for (uint32_t i = 0; i < t->n_keys; i++) {
        size_t vi = 0;
        if (!dc_mcolcur_next(&cc[i], row, &vi)) {
            *ok = false;
            continue; /* keep every cursor in step */
        }
        if (t->key_types[i] == DC_CDC_KEY_LONG) {
            const int64_t v = dc_mcol_i64(&cc[i], vi);
            if (t->index.int_keys) {
                k->i = v;
                continue;
            }
            uint8_t b[8];
            dc_mkey_long_put(b, v);
            DC_TRY(dc_buf_append(&sf->kb, b, 8, err));
        } else {
            const uint32_t *o = cc[i].c->offsets;
            const uint32_t n = o[vi + 1] - o[vi];
            uint8_t l[4];
            dc_store_le32(l, n);
            DC_TRY(dc_buf_append(&sf->kb, l, 4, err));
            DC_TRY(dc_buf_append(&sf->kb, cc[i].c->values.data + o[vi], n, err));
        }
    }
    if (sf->kb.len - at > DC_MERGE_MAX_KEY_BYTES)
        return dc_err_set(err, DC_ELIMIT, "%s: a key of %zu bytes exceeds %zu", sf->path,
                          sf->kb.len - at, DC_MERGE_MAX_KEY_BYTES);
    k->b = NULL;
    k->len = (uint32_t)(sf->kb.len - at);
    k->hash = t->index.int_keys ? dc_mx_hash_i64(&t->index, k->i)
                                : dc_mx_hash_bytes(&t->index, sf->kb.data + at, k->len);
    return 0;
}

int dc_merge_read_cols(mcolcur *cc, dc_pq_column *col, const int32_t *leaf, uint32_t nc,
                       dc_pq_reader *r, uint32_t rg, const char *path, dc_err *err)
{
    const dc_pq_schema *ps = dc_pq_reader_schema(r);
    const size_t rows = (size_t)dc_pq_reader_meta(r)->row_groups[rg].num_rows;
    for (uint32_t i = 0; i < nc; i++) {
        cc[i] = (mcolcur){&col[i], NULL, 0};
        if (leaf[i] < 0) continue;
        cc[i].leaf = &ps->leaves[leaf[i]];
        DC_TRY(dc_pq_reader_read_column(&col[i], r, rg, (uint32_t)leaf[i], err));
        if (col[i].n_levels != rows)
            return dc_err_set(err, DC_ECORRUPT, "%s: row group %u has %zu rows, column %s %zu",
                              path, rg, rows, cc[i].leaf->dotted, col[i].n_levels);
    }
    return 0;
}

void dc_merge_row_seq(mx_val *v, const int32_t *leaf, uint32_t nk, mcolcur *cc, size_t row)
{
    size_t vi = 0;
    v->seq.ts = INT64_MIN;
    v->seq.off = INT64_MIN;
    if (leaf[nk] >= 0 && dc_mcolcur_next(&cc[nk], row, &vi)) v->seq.ts = dc_mcol_i64(&cc[nk], vi);
    if (leaf[nk + 1] >= 0 && dc_mcolcur_next(&cc[nk + 1], row, &vi))
        v->seq.off = dc_mcol_i64(&cc[nk + 1], vi);
    if (leaf[nk + 2] >= 0 && dc_mcolcur_next(&cc[nk + 2], row, &vi)) {
        const uint32_t *o = cc[nk + 2].c->offsets;
        if (o[vi + 1] - o[vi] == 1 && cc[nk + 2].c->values.data[o[vi]] == 'd')
            v->row |= MX_ROW_TOMB;
    }
    if (leaf[nk + 3] >= 0 && dc_mcolcur_next(&cc[nk + 3], row, &vi)) {
        const uint32_t *o = cc[nk + 3].c->offsets;
        mseq pos;
        if (dc_mtyped_pos_parse(&pos, (const char *)cc[nk + 3].c->values.data + o[vi],
                                o[vi + 1] - o[vi]) == 0)
            v->seq = pos;
    }
}

static bool dv_deleted(scan_file *sf, uint64_t row)
{
    while (sf->dv_at < sf->n_dv && sf->dv[sf->dv_at] < row) sf->dv_at++;
    return sf->dv_at < sf->n_dv && sf->dv[sf->dv_at] == row;
}

/* Rows are indexed in chunks: keys first (prefetching their home slots),
 * then inserts, so the cache misses of a chunk overlap. */
#define SCAN_CHUNK 32

typedef struct pending {
    mkey k;                         /* b set from koff after the chunk's keys are in */
    size_t koff;                    /* offset of the key bytes in sf->kb */
    mx_val v;
} pending;

static int scan_chunk(scan_file *sf, mcolcur *cc, size_t row0, size_t n, uint64_t base,
                      uint64_t *dups, dc_err *err)
{
    pending p[SCAN_CHUNK];
    size_t np = 0;
    dc_buf_reset(&sf->kb);
    for (size_t row = row0; row < row0 + n; row++) {
        pending *q = &p[np];
        bool ok = false;
        q->koff = sf->kb.len;
        DC_TRY(row_key(&ok, &q->k, sf, cc, row, err));
        q->v = (mx_val){sf->file_id, (uint32_t)(base + row), {0, 0}};
        dc_merge_row_seq(&q->v, sf->leaf, sf->t->n_keys, cc, row);
        if (dv_deleted(sf, base + row)) continue;
        if (!ok) {
            sf->null_keys++;
            continue;
        }
        dc_mx_prefetch(&sf->t->index, q->k.hash);
        np++;
    }
    mx_index *x = &sf->t->index;
    for (size_t i = 0; i < np; i++) {
        bool dup = false;
        p[i].k.b = sf->kb.data + p[i].koff;
        if (!sf->unindex) {
            DC_TRY(dc_mx_put_max(x, &p[i].k, &p[i].v, &dup, dc_merge_seq_fn, sf->t, err));
            *dups += dup;
            continue;
        }
        const size_t slot = dc_mx_find(x, &p[i].k);
        if (slot == SIZE_MAX) continue;
        const mx_val v = dc_mx_get(x, slot);
        if (v.file == sf->file_id && (v.row & MX_ROW_MASK) == (p[i].v.row & MX_ROW_MASK))
            dc_mx_remove(x, slot);
    }
    return 0;
}

static int scan_rg(scan_file *sf, uint32_t rg, uint64_t base, uint64_t *dups, dc_err *err)
{
    mcolcur cc[DC_CDC_MAX_KEYS + MSEQ_COLS];
    const size_t rows = (size_t)dc_pq_reader_meta(sf->r)->row_groups[rg].num_rows;
    DC_TRY(dc_merge_read_cols(cc, sf->col, sf->leaf, sf->t->n_keys + MSEQ_COLS, sf->r, rg, sf->path,
                              err));
    for (size_t row0 = 0; row0 < rows; row0 += SCAN_CHUNK)
        DC_TRY(scan_chunk(sf, cc, row0, rows - row0 < SCAN_CHUNK ? rows - row0 : SCAN_CHUNK,
                          base, dups, err));
    return 0;
}

static int load_dv(scan_file *sf, const dc_delta_add *add, dc_err *err)
{
    if (!add->has_dv) return 0;
    dc_delta_dv *dv = NULL;
    DC_TRY(dc_delta_dv_load(&dv, sf->t->s, &add->dv, err));
    int rc = dc_delta_dv_to_array(&sf->dv, &sf->n_dv, dv, err);
    dc_delta_dv_free(dv);
    return rc;
}

/* Walks every row group of an open file. The file id is allocated for a
 * new file (sf->file_id == UINT32_MAX) and the DV honoured when indexing. */
static int scan_file_rows(scan_file *sf, const dc_delta_add *add, dc_err *err)
{
    const pq_file_meta *m = dc_pq_reader_meta(sf->r);
    if (m->num_rows < 0 || (uint64_t)m->num_rows > MX_ROW_MASK)
        return dc_err_set(err, DC_ELIMIT, "%s: %" PRId64 " rows; the key index takes files of "
                          "fewer than 2^31 rows", sf->path, m->num_rows);
    if (sf->file_id == UINT32_MAX)
        DC_TRY(dc_mx_file_add(&sf->file_id, &sf->t->index, add->path, (uint64_t)m->num_rows,
                              err));
    DC_TRY(map_leaves(sf, err));
    if (add) DC_TRY(load_dv(sf, add, err));
    uint64_t base = 0, dups = 0;
    for (uint32_t rg = 0; rg < m->n_row_groups; rg++) {
        DC_TRY(scan_rg(sf, rg, base, &dups, err));
        base += (uint64_t)m->row_groups[rg].num_rows;
    }
    if (base != (uint64_t)m->num_rows)
        return dc_err_set(err, DC_ECORRUPT, "%s: row groups hold %" PRIu64 " rows, the footer "
                          "says %" PRId64, sf->path, base, m->num_rows);
    sf->t->dup_keys += dups;
    sf->t->rows_read += base;
    return 0;
}

/* Indexes the live rows of `add` (id UINT32_MAX: a new file), or with add
 * NULL drops the entries pointing at rows of file `id`. */
static int scan_one(dc_merge_table *t, const char *path, const dc_delta_add *add, uint32_t id,
                    dc_err *err)
{
    scan_file sf;
    memset(&sf, 0, sizeof sf);
    sf.t = t;
    sf.path = path;
    sf.file_id = id;
    sf.unindex = add == NULL;
    dc_buf hold;
    dc_buf_init(&hold, 0);
    dc_buf_init(&sf.kb, (SCAN_CHUNK + 1) * DC_MERGE_MAX_KEY_BYTES); /* a chunk's keys */
    for (uint32_t i = 0; i < DC_CDC_MAX_KEYS + MSEQ_COLS; i++) dc_pq_column_init(&sf.col[i]);
    int rc = dc_merge_open_file(&sf.r, &hold, t, path, dc_delta_add_size(add), err);
    if (rc == 0) rc = scan_file_rows(&sf, add, err);
    if (rc == 0 && sf.null_keys && add)
        DC_LOG(DC_LOG_WARN, "merge", "%s: %" PRIu64 " rows with a null key are not indexed",
               path, sf.null_keys);
    for (uint32_t i = 0; i < DC_CDC_MAX_KEYS + MSEQ_COLS; i++) dc_pq_column_dispose(&sf.col[i]);
    dc_pq_reader_free(sf.r);
    dc_free(sf.dv);
    dc_buf_dispose(&sf.kb);
    dc_buf_dispose(&hold);
    if (rc < 0) dc_err_prefix(err, "%s %s", add ? "indexing" : "unindexing", t->s->root);
    return rc;
}

int dc_merge_index_file(dc_merge_table *t, const dc_delta_add *add, dc_err *err)
{
    return scan_one(t, add->path, add, UINT32_MAX, err);
}

/* ------------------------------------------------------ whole table */

/* Rows the live files hold (stats numRecords less DV cardinality), to size
 * the index once; files without numRecords count 0 (the index then grows). */
static uint64_t live_rows_estimate(const dc_delta_snapshot *snap)
{
    uint64_t n = 0;
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(snap, i);
        int64_t rows = 0;
        dc_err tmp;
        if (dc_delta_stats_num_records(&rows, a->stats, &tmp) < 0 || rows < 0) continue;
        if (a->has_dv && a->dv.cardinality > 0 && a->dv.cardinality <= rows)
            rows -= a->dv.cardinality;
        n += (uint64_t)rows;
    }
    return n;
}

int dc_merge_index_build(dc_merge_table *t, dc_err *err)
{
    const double t0 = now_s();
    dc_mx_clear(&t->index);
    t->dup_keys = 0;
    t->n_builds++;
    const uint64_t est = live_rows_estimate(t->snap);
    if (est > SIZE_MAX / 64)
        return dc_err_set(err, DC_ELIMIT, "key index: %" PRIu64 " rows is too many", est);
    DC_TRY(dc_mx_reserve(&t->index, (size_t)est, 0, err));
    const size_t n = dc_delta_snapshot_n_files(t->snap);
    for (size_t i = 0; i < n; i++)
        DC_TRY(dc_merge_index_file(t, dc_delta_snapshot_file(t->snap, i), err));
    size_t unknown = 0;
    DC_TRY(dc_merge_files_sync(t, &unknown, err));
    DC_ASSERT(unknown == 0);
    t->build_seconds = now_s() - t0;
    if (t->dup_keys)
        DC_LOG(DC_LOG_WARN, "merge", "%s: %" PRIu64 " keys are held by more than one row; "
               "the row with the latest (ts_ms, offset) is the one merged into", t->s->root,
               t->dup_keys);
    DC_LOG(DC_LOG_INFO, "merge", "%s: key index of %zu keys over %zu files built in %.3f s "
           "(%.1f bytes per key)", t->s->root, t->index.n, n, t->build_seconds,
           t->index.n ? (double)dc_mx_bytes(&t->index) / (double)t->index.n : 0.0);
    return 0;
}

int dc_merge_files_sync(dc_merge_table *t, size_t *unknown, dc_err *err)
{
    (void)err;
    *unknown = 0;
    mx_index *x = &t->index;
    for (size_t id = 0; id < x->n_files; id++) x->files[id].snap_i = SIZE_MAX;
    for (size_t i = 0; i < dc_delta_snapshot_n_files(t->snap); i++) {
        const int64_t id = dc_mx_file_find(x, dc_delta_snapshot_file(t->snap, i)->path);
        if (id < 0) {
            (*unknown)++;
            continue;
        }
        DC_ASSERT(x->files[id].snap_i == SIZE_MAX); /* a path is live once */
        x->files[id].snap_i = i;
    }
    return 0;
}

/* ------------------------------------------------- following others */

/* What commits (from, to] other than `ours` did: changed metadata or
 * protocol, or touched (removed, re-added with a DV) files of the table. */
typedef struct foreign {
    bool meta;                      /* metaData or protocol: reload everything */
    uint8_t *touched;               /* per file id: 1 when a commit names its path */
    size_t n_touched;
} foreign;

/* Whether a new metaData changes what the index and the table's layout
 * checks were built on: the schema, partitioning, or deletion vectors in dv
 * mode. A change of other properties (log retention, checkpoint interval,
 * codec, ...) needs no reload: those are read from the snapshot when used. */
static bool metadata_matters(const dc_merge_table *t, const dc_delta_metadata *m)
{
    if (!m->schema_string || !t->schema_json || strcmp(m->schema_string, t->schema_json) != 0)
        return true;
    if (m->n_partition_columns) return true;
    bool found = false;
    const char *dv = dc_delta_map_get(&m->configuration, "delta.enableDeletionVectors", &found);
    return t->mode == DC_MERGE_DV && (!dv || strcmp(dv, "true") != 0);
}

/* "OPERATION by ENGINE" from a commit's commitInfo, for messages. */
static void commit_who(const dc_delta_commit *c, char *out, size_t n)
{
    snprintf(out, n, "a commit");
    dc_arena arena;
    dc_arena_init(&arena, DC_JSON_MAX_DOC_BYTES);
    for (size_t i = 0; i < c->n_actions; i++) {
        const dc_delta_action *a = &c->actions[i];
        dc_json *doc = NULL;
        if (a->type != DC_DELTA_ACTION_COMMIT_INFO ||
            dc_json_parse(&doc, &arena, a->u.commit_info.json, a->u.commit_info.len, NULL) < 0)
            continue;
        const dc_json *ci = dc_json_get(doc, "commitInfo");
        const dc_json *op = dc_json_get(ci ? ci : doc, "operation");
        const dc_json *eng = dc_json_get(ci ? ci : doc, "engineInfo");
        snprintf(out, n, "%s by %s", op && op->type == DC_JSON_STRING ? op->u.str : "a commit",
                 eng && eng->type == DC_JSON_STRING ? eng->u.str : "an unnamed engine");
        break;
    }
    dc_arena_dispose(&arena);
}

/* Where a file of the index stands inside (from, to], per file id. */
enum { FILE_AS_AT_FROM = 0, FILE_REMOVED, FILE_ADDED };

/* A commit that removes files an earlier commit had already removed, and
 * adds files, was planned on a stale snapshot by a writer whose conflict
 * check let it through (delta-rs 1.6 does this for two concurrent
 * compactions): the rows of those files may now be live twice. Nothing here
 * can undo another writer's commit; the operator is told which one. */
static void warn_double_remove(const dc_merge_table *t, const dc_delta_commit *c,
                               const uint8_t *state)
{
    const mx_index *x = &t->index;
    size_t twice = 0, adds = 0;
    const char *first = NULL;
    for (size_t i = 0; i < c->n_actions; i++) {
        const dc_delta_action *a = &c->actions[i];
        adds += a->type == DC_DELTA_ACTION_ADD;
        if (a->type != DC_DELTA_ACTION_REMOVE) continue;
        const int64_t id = dc_mx_file_find(x, a->u.remove.path);
        if (id >= 0 && (state[id] == FILE_REMOVED ||
                        (state[id] == FILE_AS_AT_FROM && x->files[id].snap_i == SIZE_MAX))) {
            twice++;
            if (!first) first = a->u.remove.path;
        }
    }
    if (!twice || !adds) return;
    char who[160];
    commit_who(c, who, sizeof who);
    DC_LOG(DC_LOG_WARN, "merge", "%s: version %" PRId64 " (%s) removes %zu file%s an earlier "
           "commit had already removed (first '%s') and adds %zu: it was planned on an older "
           "version and its writer's conflict check let it through, so rows of those files "
           "may now be in the table twice; check that writer and the table", t->s->root,
           c->version, who, twice, twice == 1 ? "" : "s", first, adds);
}

/* `ours` is `to` or outside the range: the commits before it are others'.
 * The index's snap_i still describe the snapshot at `from` here. */
static int foreign_changes(foreign *fc, dc_merge_table *t, int64_t from, int64_t to,
                           int64_t ours, dc_err *err)
{
    const mx_index *x = &t->index;
    const size_t n = x->n_files ? x->n_files : 1;
    fc->touched = dc_calloc(n, 1);
    if (!fc->touched) return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    if (to - from == 1 && ours == to) return 0; /* after each batch: only our commit */
    uint8_t *state = dc_calloc(n, 1);
    int rc = state ? 0 : dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    for (int64_t v = from + 1; rc == 0 && v <= to; v++) {
        if (v == ours) continue;
        dc_delta_commit *c = NULL;
        rc = dc_delta_commit_read(&c, t->s, v, err);
        if (rc < 0) break;
        warn_double_remove(t, c, state);
        /* removes first: a path removed and added in one commit is live after it */
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < c->n_actions; i++) {
                const dc_delta_action *a = &c->actions[i];
                fc->meta |= a->type == DC_DELTA_ACTION_PROTOCOL ||
                            (a->type == DC_DELTA_ACTION_METADATA &&
                             metadata_matters(t, &a->u.metadata));
                const char *path = a->type == DC_DELTA_ACTION_ADD && pass == 1 ? a->u.add.path
                                   : a->type == DC_DELTA_ACTION_REMOVE && pass == 0
                                       ? a->u.remove.path : NULL;
                const int64_t id = path ? dc_mx_file_find(x, path) : -1;
                if (id < 0) continue;
                state[id] = pass == 0 ? FILE_REMOVED : FILE_ADDED;
                if (!fc->touched[id]) {
                    fc->touched[id] = 1;
                    fc->n_touched++;
                }
            }
        dc_delta_commit_free(c);
    }
    dc_free(state);
    return rc;
}

/* Live files the index does not know: indexed (blind appends, OPTIMIZE
 * outputs, ...). */
static int index_unknown(dc_merge_table *t, dc_err *err)
{
    for (size_t i = 0; i < dc_delta_snapshot_n_files(t->snap); i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(t->snap, i);
        if (dc_mx_file_find(&t->index, a->path) < 0) DC_TRY(dc_merge_index_file(t, a, err));
    }
    size_t unknown = 0;
    DC_TRY(dc_merge_files_sync(t, &unknown, err));
    DC_ASSERT(unknown == 0);
    return 0;
}

/* Touched files: their entries are dropped (the file is read by its path:
 * a removed file is still in storage until VACUUM), and the ones still live
 * (a new DV) indexed again; then new files are indexed. Cost: the rows of
 * the files involved, not the table. */
static int apply_foreign(dc_merge_table *t, const foreign *fc, dc_err *err)
{
    mx_index *x = &t->index;
    size_t unknown = 0;
    for (size_t id = 0; id < x->n_files; id++)
        if (fc->touched[id]) DC_TRY(scan_one(t, x->files[id].path, NULL, (uint32_t)id, err));
    DC_TRY(dc_merge_files_sync(t, &unknown, err));
    for (size_t id = 0; id < x->n_files; id++)
        if (fc->touched[id] && x->files[id].snap_i != SIZE_MAX)
            DC_TRY(scan_one(t, x->files[id].path,
                            dc_delta_snapshot_file(t->snap, x->files[id].snap_i), (uint32_t)id,
                            err));
    return index_unknown(t, err);
}

int dc_merge_table_refresh(dc_merge_table *t, int64_t version, int64_t ours, dc_err *err)
{
    const int64_t from = dc_delta_snapshot_version(t->snap);
    DC_TRY(dc_delta_snapshot_update(t->snap, version, err));
    return dc_merge_table_follow(t, from, ours, err);
}

int dc_merge_table_follow(dc_merge_table *t, int64_t from, int64_t ours, dc_err *err)
{
    const int64_t to = dc_delta_snapshot_version(t->snap);
    if (to == from) return 0;
    foreign fc = {false, NULL, 0};
    int rc = foreign_changes(&fc, t, from, to, ours, err);
    if (rc == 0 && !fc.meta) {
        if (fc.n_touched)
            DC_LOG(DC_LOG_INFO, "merge", "%s: versions %" PRId64 "..%" PRId64 " changed %zu files "
                   "under the index: re-reading them", t->s->root, from + 1, to, fc.n_touched);
        rc = apply_foreign(t, &fc, err);
        if (rc < 0) { /* e.g. a removed file already vacuumed: read everything */
            DC_LOG(DC_LOG_INFO, "merge", "%s: %s; rebuilding the index", t->s->root, err->msg);
            dc_err_clear(err);
            rc = dc_merge_table_reload(t, err);
        }
    } else if (rc == 0) {
        DC_LOG(DC_LOG_INFO, "merge", "%s: versions %" PRId64 "..%" PRId64 " changed the table's "
               "metadata: reloading it", t->s->root, from + 1, to);
        rc = dc_merge_table_reload(t, err);
    }
    dc_free(fc.touched);
    if (rc < 0) t->broken = true;
    return rc;
}

/* ------------------------------------------- sequences read back */

/* Row groups of at most this many rows are kept whole after a tie was
 * read back (16 bytes a row); larger ones give up the one row. */
#define SEQC_MAX_ROWS ((uint64_t)1 << 20)

/* Sequences of rows [0, upto] of the row group `rg` whose columns cc holds
 * (seqs NULL: only row `upto` into *one). */
static void rg_seqs(mseq *seqs, mseq *one, const scan_file *sf, mcolcur *cc, size_t upto)
{
    for (size_t r = 0; r <= upto; r++) {
        mx_val v = {0, 0, {0, 0}};
        dc_merge_row_seq(&v, sf->leaf, sf->t->n_keys, cc, r);
        if (seqs) seqs[r] = v.seq;
        if (r == upto) *one = v.seq;
    }
}

/* Reads the row group holding `row` of an open file into the cache (or,
 * for a large one, that row alone into *out). */
static int seq_read_rg(mseq *out, scan_file *sf, uint32_t file, uint32_t row, dc_err *err)
{
    dc_merge_table *t = sf->t;
    const pq_file_meta *m = dc_pq_reader_meta(sf->r);
    uint64_t first = 0;
    uint32_t rg = 0;
    for (; rg < m->n_row_groups; rg++) {
        const uint64_t n = m->row_groups[rg].num_rows < 0 ? 0 : (uint64_t)m->row_groups[rg].num_rows;
        if (row < first + n) break;
        first += n;
    }
    if (rg == m->n_row_groups)
        return dc_err_set(err, DC_ECORRUPT, "%s: the key index holds row %u, the file has %"
                          PRIu64, sf->path, row, first);
    DC_TRY(map_leaves(sf, err));
    for (uint32_t i = 0; i < t->n_keys; i++) sf->leaf[i] = -1; /* the sequence alone */
    mcolcur cc[DC_CDC_MAX_KEYS + MSEQ_COLS];
    DC_TRY(dc_merge_read_cols(cc, sf->col, sf->leaf, t->n_keys + MSEQ_COLS, sf->r, rg, sf->path,
                              err));
    const uint64_t n = (uint64_t)m->row_groups[rg].num_rows;
    t->seq_reads++;
    if (n > SEQC_MAX_ROWS) {
        rg_seqs(NULL, out, sf, cc, row - first);
        return 0;
    }
    mseq *seqs = dc_malloc((size_t)n * sizeof *seqs);
    if (!seqs) return dc_err_set(err, DC_ENOMEM, "merge: out of memory (sequences)");
    rg_seqs(seqs, out, sf, cc, (size_t)n - 1);
    *out = seqs[row - first];
    dc_free(t->seqc.seqs);
    t->seqc.seqs = seqs;
    t->seqc.gen = t->index.gen;
    t->seqc.file = file;
    t->seqc.first = first;
    t->seqc.n = n;
    return 0;
}

int dc_merge_row_seq_read(mseq *out, dc_merge_table *t, uint32_t file, uint32_t row,
                          dc_err *err)
{
    DC_ASSERT(file < t->index.n_files);
    if (t->seqc.seqs && t->seqc.gen == t->index.gen && t->seqc.file == file &&
        row >= t->seqc.first && row - t->seqc.first < t->seqc.n) {
        *out = t->seqc.seqs[row - t->seqc.first];
        return 0;
    }
    scan_file sf;
    memset(&sf, 0, sizeof sf);
    sf.t = t;
    sf.path = t->index.files[file].path;
    dc_buf hold;
    dc_buf_init(&hold, 0);
    for (uint32_t i = 0; i < DC_CDC_MAX_KEYS + MSEQ_COLS; i++) dc_pq_column_init(&sf.col[i]);
    int rc = dc_merge_open_file(&sf.r, &hold, t, sf.path, true, err);
    if (rc == 0) rc = seq_read_rg(out, &sf, file, row, err);
    for (uint32_t i = 0; i < DC_CDC_MAX_KEYS + MSEQ_COLS; i++) dc_pq_column_dispose(&sf.col[i]);
    dc_pq_reader_free(sf.r);
    dc_buf_dispose(&hold);
    if (rc < 0) dc_err_prefix(err, "reading a row's sequence back from %s", t->s->root);
    return rc;
}

int dc_merge_seq_fn(mseq *out, void *ctx, uint32_t file, uint32_t row, dc_err *err)
{
    return dc_merge_row_seq_read(out, ctx, file, row, err);
}

int dc_merge_slot_cmp(int *cmp, dc_merge_table *t, size_t slot, mseq s, dc_err *err)
{
    *cmp = dc_mx_cmp(&t->index, slot, s);
    if (*cmp != MX_UNSURE) return 0;
    const mx_val v = dc_mx_get(&t->index, slot);
    mseq cur;
    DC_TRY(dc_merge_row_seq_read(&cur, t, v.file, v.row & MX_ROW_MASK, err));
    *cmp = dc_mseq_cmp(s, cur);
    return 0;
}
