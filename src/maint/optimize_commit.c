/*
 * OPTIMIZE: committing a prepared rewrite (optimize.h), on the snapshot it
 * read or on a later one. Between the two, a writer (the daemon's ingest
 * thread) may have deleted rows of the inputs (a new deletion vector on an
 * input, or the input removed). Those deletes are carried over instead of
 * losing the rewrite: each row's new place is in the bin's row map, so the
 * rows deleted since are hidden in the output by a deletion vector
 * (delta-io/delta#7407's row-level concurrency, done in one process where
 * the rewrite knows where every row went). The removes name the inputs as
 * they are now, so the commit replaces exactly the current files.
 */
#include "optimize_int.h"

#include <inttypes.h>
#include <stdlib.h>

/* Live files of the commit's snapshot, sorted by path for lookups. */
typedef struct live_ix {
    const dc_delta_add **adds;      /* dc_calloc */
    size_t n;
} live_ix;

static int cmp_add(const void *a, const void *b)
{
    return strcmp((*(const dc_delta_add *const *)a)->path, (*(const dc_delta_add *const *)b)->path);
}

static int live_build(live_ix *ix, dc_delta_snapshot *snap, dc_err *err)
{
    ix->n = dc_delta_snapshot_n_files(snap);
    ix->adds = dc_calloc(ix->n + 1, sizeof *ix->adds);
    if (!ix->adds) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    for (size_t i = 0; i < ix->n; i++) ix->adds[i] = dc_delta_snapshot_file(snap, i);
    qsort(ix->adds, ix->n, sizeof *ix->adds, cmp_add);
    return 0;
}

static const dc_delta_add *live_find(const live_ix *ix, const char *path)
{
    dc_delta_add key;
    key.path = path;
    const dc_delta_add *kp = &key;
    const dc_delta_add **hit = bsearch(&kp, ix->adds, ix->n, sizeof *ix->adds, cmp_add);
    return hit ? *hit : NULL;
}

static bool same_dv(const opt_pin *in, const dc_delta_add *live)
{
    if (in->has_dv != live->has_dv) return false;
    if (!in->has_dv) return true;
    const dc_delta_dv_desc *a = &in->dv, *b = &live->dv;
    return a->storage_type == b->storage_type && a->offset == b->offset &&
           a->size_in_bytes == b->size_in_bytes && a->cardinality == b->cardinality &&
           strcmp(a->path_or_inline, b->path_or_inline) == 0;
}

/* What the commit does with a bin. */
typedef enum bin_fate {
    BIN_AS_IS = 0,  /* no row deleted since: removes and the add */
    BIN_DV,         /* rows deleted since: the add with a deletion vector */
    BIN_NO_ROWS,    /* every row deleted since: removes of the live inputs only */
    BIN_DROP,       /* not rebased (no DVs, no row map): left out, its output deleted */
} bin_fate;

/* Rows of input k deleted since its last known state: their output rows
 * into `carried`, and the input's state moves on. `live` NULL: the input
 * is gone, all its rows go. */
static int carry_input(dc_delta_dv *carried, opt_pbin *pb, size_t k, const dc_delta_add *live,
                       dc_storage *s, dc_arena *arena, dc_err *err)
{
    opt_pin *in = &pb->in[k];
    const uint32_t *map = pb->out.maps[k];
    const uint64_t n = pb->out.map_rows[k];
    if (!live) {
        for (uint64_t r = 0; r < n; r++)
            if (map[r] != UINT32_MAX) DC_TRY(dc_delta_dv_add(carried, map[r], err));
        in->gone = true;
        return 0;
    }
    if (!live->has_dv)
        return dc_err_set(err, DC_ECORRUPT, "optimize: %s lost its deletion vector since the "
                          "rewrite read it", live->path);
    dc_delta_dv *old = NULL, *now = NULL;
    uint64_t *rows = NULL;
    size_t n_rows = 0;
    int rc = in->has_dv ? dc_delta_dv_load(&old, s, &in->dv, err) : 0;
    if (rc == 0) rc = dc_delta_dv_load(&now, s, &live->dv, err);
    if (rc == 0) rc = dc_delta_dv_to_array(&rows, &n_rows, now, err);
    for (size_t i = 0; rc == 0 && i < n_rows; i++) {
        if (old && dc_delta_dv_contains(old, rows[i])) continue;
        if (rows[i] >= n || map[rows[i]] == UINT32_MAX)
            rc = dc_err_set(err, DC_ECORRUPT, "optimize: %s: row %" PRIu64 " deleted since the "
                            "rewrite read the file, which had dropped it already", live->path,
                            rows[i]);
        else
            rc = dc_delta_dv_add(carried, map[rows[i]], err);
    }
    if (rc == 0) { /* the newer DV is the base of the next rebase */
        in->has_dv = true;
        in->dv = live->dv;
        in->dv.path_or_inline = dc_arena_strndup(arena, live->dv.path_or_inline,
                                                 strlen(live->dv.path_or_inline), err);
        if (!in->dv.path_or_inline) rc = err->code;
    }
    dc_free(rows);
    dc_delta_dv_free(old);
    dc_delta_dv_free(now);
    return rc;
}

/* Brings a bin's carried rows up to the live files of ix. */
static int rebase_bin(dc_optimize_prepared *p, opt_pbin *pb, const live_ix *ix, dc_storage *s,
                      dc_err *err)
{
    if (pb->skipped || pb->unrebasable || !pb->out.rel_path) return 0; /* no row to hide */
    for (size_t k = 0; k < pb->n_in; k++) {
        if (pb->in[k].gone) continue;
        const dc_delta_add *live = live_find(ix, pb->in[k].path);
        if (live && same_dv(&pb->in[k], live)) continue;
        if (!p->can_dv || pb->out.n_maps != pb->n_in) {
            pb->unrebasable = true;
            return 0;
        }
        if (!pb->carried) DC_TRY(dc_delta_dv_new(&pb->carried, err));
        DC_TRY(carry_input(pb->carried, pb, k, live, s, &p->arena, err));
    }
    return 0;
}

static bin_fate fate_of(const opt_pbin *pb)
{
    if (pb->unrebasable) return BIN_DROP;
    const uint64_t card = pb->carried ? dc_delta_dv_cardinality(pb->carried) : 0;
    return !card ? BIN_AS_IS : card >= pb->out.rows ? BIN_NO_ROWS : BIN_DV;
}

static int rebase_all(dc_optimize_prepared *p, const live_ix *ix, dc_delta_snapshot *snap,
                      dc_err *err)
{
    for (size_t b = 0; b < p->n_bins; b++)
        DC_TRY(rebase_bin(p, &p->bins[b], ix, dc_delta_snapshot_storage(snap), err));
    p->rebased_version = dc_delta_snapshot_version(snap);
    return 0;
}

int dc_optimize_prepared_rebase(dc_optimize_prepared *p, dc_delta_snapshot *snap, dc_err *err)
{
    if (dc_delta_snapshot_version(snap) <= p->rebased_version) return 0;
    live_ix ix = {NULL, 0};
    int rc = live_build(&ix, snap, err);
    if (rc == 0) rc = rebase_all(p, &ix, snap, err);
    dc_free(ix.adds);
    return rc;
}

/* What a commit holds while it is built. */
typedef struct commit_state {
    dc_optimize_result *r;
    dc_optimize_prepared *p;
    dc_delta_tx *tx;
    live_ix ix;
    int64_t min_out, max_out;       /* output file sizes */
} commit_state;

static int add_out(commit_state *cs, const opt_pbin *pb, const dc_delta_dv *carried,
                   dc_err *err)
{
    dc_optimize_result *r = cs->r;
    if (carried) DC_TRY(dc_delta_tx_add_with_dv(cs->tx, &pb->add, carried, err));
    else DC_TRY(dc_delta_tx_add(cs->tx, &pb->add, err));
    if (r->files_added == 0 || pb->out.size < cs->min_out) cs->min_out = pb->out.size;
    if (pb->out.size > cs->max_out) cs->max_out = pb->out.size;
    r->files_added++;
    r->bytes_added += (uint64_t)pb->out.size;
    return 0;
}

/* The bin's actions into the tx, after its fate. */
static int do_bin(commit_state *cs, opt_pbin *pb, dc_err *err)
{
    dc_optimize_result *r = cs->r;
    const bin_fate fate = fate_of(pb);
    int rc = 0;
    if (fate == BIN_DROP) {
        r->bins_dropped++;
        return 0;
    }
    for (size_t k = 0; rc == 0 && k < pb->n_in; k++) {
        const dc_delta_add *live = live_find(&cs->ix, pb->in[k].path);
        if (!live) continue; /* removed meanwhile: its rows are hidden in the output */
        rc = dc_delta_tx_remove_file(cs->tx, live, false, err);
        r->files_removed++;
        r->bytes_removed += (uint64_t)(live->size > 0 ? live->size : 0);
        r->dvs_removed += live->has_dv;
    }
    if (rc == 0 && pb->out.rel_path && fate != BIN_NO_ROWS)
        rc = add_out(cs, pb, fate == BIN_DV ? pb->carried : NULL, err);
    if (rc == 0 && pb->carried) r->rows_carried += dc_delta_dv_cardinality(pb->carried);
    pb->taken = rc == 0;
    pb->in_commit = rc == 0 && pb->out.rel_path && fate != BIN_NO_ROWS;
    r->rows += pb->out.rows;
    r->rows_dropped += pb->out.rows_dropped;
    return rc;
}

static int put_metrics(commit_state *cs, dc_err *err)
{
    const dc_optimize_result *r = cs->r;
    dc_delta_tx *tx = cs->tx;
    DC_TRY(dc_delta_tx_param(tx, "predicate", "[]", err));
    DC_TRY(dc_delta_tx_param(tx, "zOrderBy", "[]", err));
    DC_TRY(dc_delta_tx_param(tx, "auto", cs->p->automatic ? "true" : "false", err));
    DC_TRY(dc_delta_tx_metric(tx, "numRemovedFiles", (int64_t)r->files_removed, err));
    DC_TRY(dc_delta_tx_metric(tx, "numAddedFiles", (int64_t)r->files_added, err));
    DC_TRY(dc_delta_tx_metric(tx, "numRemovedBytes", (int64_t)r->bytes_removed, err));
    DC_TRY(dc_delta_tx_metric(tx, "numAddedBytes", (int64_t)r->bytes_added, err));
    DC_TRY(dc_delta_tx_metric(tx, "minFileSize", cs->min_out, err));
    DC_TRY(dc_delta_tx_metric(tx, "maxFileSize", cs->max_out, err));
    DC_TRY(dc_delta_tx_metric(tx, "numDeletionVectorsRemoved", (int64_t)r->dvs_removed, err));
    DC_TRY(dc_delta_tx_metric(tx, "numOutputRows", (int64_t)r->rows, err));
    return dc_delta_tx_metric(tx, "numDeletedRowsPurged", (int64_t)r->rows_dropped, err);
}

/* After the commit: the replaced paths, the adds and the row maps, for the
 * caller (the daemon moves its key index with them). */
static int keep_lists(commit_state *cs, dc_err *err)
{
    dc_optimize_result *r = cs->r;
    const dc_optimize_prepared *p = cs->p;
    size_t n_in = 0;
    for (size_t b = 0; b < p->n_bins; b++) n_in += p->bins[b].n_in;
    r->removed = dc_calloc(n_in + 1, sizeof *r->removed);
    r->added = dc_calloc(p->n_bins + 1, sizeof *r->added);
    r->row_maps = dc_calloc(n_in + 1, sizeof *r->row_maps);
    r->map_rows = dc_calloc(n_in + 1, sizeof *r->map_rows);
    r->map_added = dc_calloc(n_in + 1, sizeof *r->map_added);
    if (!r->removed || !r->added || !r->row_maps || !r->map_rows || !r->map_added)
        return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    bool maps = true;
    for (size_t b = 0; b < p->n_bins; b++) {
        opt_pbin *pb = &p->bins[b];
        if (!pb->taken) continue;
        maps &= pb->out.n_maps == pb->n_in;
        for (size_t k = 0; k < pb->n_in; k++) {
            char *path = dc_strdup(pb->in[k].path);
            if (!path) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
            if (pb->out.n_maps == pb->n_in) { /* taken over from the bin */
                r->row_maps[r->n_removed] = pb->out.maps[k];
                r->map_rows[r->n_removed] = pb->out.map_rows[k];
                pb->out.maps[k] = NULL;
            }
            r->map_added[r->n_removed] = pb->in_commit ? (uint32_t)r->n_added : UINT32_MAX;
            r->removed[r->n_removed++] = path;
        }
        if (!pb->in_commit) continue;
        DC_TRY(opt_copy_add(&r->added[r->n_added], &r->arena, &pb->add, err));
        r->n_added++;
    }
    if (!maps) { /* a partial set of maps is no use: the caller reads the files */
        for (size_t i = 0; i < r->n_removed; i++) dc_free(r->row_maps[i]);
        dc_free(r->row_maps);
        dc_free(r->map_rows);
        dc_free(r->map_added);
        r->row_maps = NULL;
        r->map_rows = NULL;
        r->map_added = NULL;
    }
    return 0;
}

/* The table a commit goes to must be the one rewritten, with its schema. */
static int same_table(const dc_optimize_prepared *p, dc_delta_snapshot *snap, dc_err *err)
{
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(snap);
    const bool id = (!p->meta_id && !m->id) || (p->meta_id && m->id && !strcmp(p->meta_id, m->id));
    const bool sc = (!p->schema && !m->schema_string) ||
                    (p->schema && m->schema_string && !strcmp(p->schema, m->schema_string));
    if (dc_delta_snapshot_version(snap) < p->read_version)
        return dc_err_set(err, DC_EINVAL, "optimize: committing a rewrite of version %" PRId64
                          " on version %" PRId64, p->read_version,
                          dc_delta_snapshot_version(snap));
    if (!id || !sc) {
        dc_err_set(err, DC_ECONFLICT, "optimize: the table's %s changed after version %" PRId64
                   ", which the rewrite read", id ? "schema" : "identity", p->read_version);
        err->retriable = true;
        return DC_ECONFLICT;
    }
    return 0;
}

static int build_and_commit(commit_state *cs, dc_delta_snapshot *snap, dc_err *err)
{
    dc_optimize_prepared *p = cs->p;
    DC_TRY(same_table(p, snap, err));
    DC_TRY(live_build(&cs->ix, snap, err));
    if (dc_delta_snapshot_version(snap) > p->rebased_version)
        DC_TRY(rebase_all(p, &cs->ix, snap, err));
    DC_TRY(dc_delta_tx_new(&cs->tx, snap, "OPTIMIZE", err));
    for (size_t b = 0; b < p->n_bins; b++)
        if (!p->bins[b].skipped) DC_TRY(do_bin(cs, &p->bins[b], err));
    if (cs->r->files_removed == 0 && cs->r->files_added == 0) return 0; /* nothing left */
    DC_TRY(put_metrics(cs, err));
    int rc = dc_delta_tx_commit(&cs->r->version, cs->tx, err);
    /* In doubt, the rewritten files stay: a visible commit may name them. */
    p->committed = rc == 0 || rc == DC_EUNKNOWN;
    if (rc < 0) return rc;
    rc = keep_lists(cs, err);
    if (rc < 0)
        dc_err_prefix(err, "optimize committed version %" PRId64 ", then", cs->r->version);
    return rc;
}

int dc_optimize_commit_prepared(dc_optimize_result *out, dc_optimize_prepared *p,
                                dc_delta_snapshot *snap, dc_err *err)
{
    opt_result_reset(out);
    out->read_version = dc_delta_snapshot_version(snap);
    out->plan = p->plan; /* taken over */
    memset(&p->plan, 0, sizeof p->plan);
    for (size_t b = 0; b < p->n_bins; b++) {
        out->bins_skipped += p->bins[b].skipped;
        p->bins[b].in_commit = p->bins[b].taken = false;
    }
    if (dc_optimize_prepared_empty(p)) return 0;
    commit_state cs;
    memset(&cs, 0, sizeof cs);
    cs.r = out;
    cs.p = p;
    int rc = build_and_commit(&cs, snap, err);
    if (rc < 0 && (!p->committed || rc == DC_EUNKNOWN)) out->version = -1;
    if (rc < 0 && !p->committed)
        for (size_t b = 0; b < p->n_bins; b++) p->bins[b].in_commit = p->bins[b].taken = false;
    dc_delta_tx_free(cs.tx);
    dc_free(cs.ix.adds);
    return rc;
}
