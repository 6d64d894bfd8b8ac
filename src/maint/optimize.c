/*
 * OPTIMIZE runs (optimize.h): plan on a snapshot, rewrite each bin, commit
 * the removes and adds once with dataChange=false; on a lost race delete
 * what was written and, when allowed, plan again on the latest version.
 */
#include "optimize_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void dc_optimize_raw_keys(const char **names, uint32_t *n, uint32_t max,
                          const dc_delta_schema *s)
{
    static const char *const tail[4] = {"ts_ms", "json_record", "operation_type", "offset"};
    static const dc_type types[4] = {DC_TYPE_LONG, DC_TYPE_STRING, DC_TYPE_STRING, DC_TYPE_LONG};
    const dc_delta_field *root = &s->root;
    *n = 0;
    if (root->n_children < 5 || root->n_children - 4 > max) return;
    const uint32_t nk = root->n_children - 4;
    for (uint32_t i = 0; i < 4; i++) {
        const dc_delta_field *f = &root->children[nk + i];
        if (strcmp(f->name, tail[i]) != 0 || f->type != types[i]) return;
    }
    for (uint32_t i = 0; i < nk; i++) {
        const dc_type t = root->children[i].type;
        if (t != DC_TYPE_LONG && t != DC_TYPE_INT && t != DC_TYPE_SHORT && t != DC_TYPE_BYTE &&
            t != DC_TYPE_STRING)
            return;
        names[i] = root->children[i].name;
    }
    *n = nk;
}

/* ------------------------------------------------------------ result */

void dc_optimize_result_init(dc_optimize_result *r)
{
    memset(r, 0, sizeof *r);
    r->read_version = -1;
    r->version = -1;
    dc_arena_init(&r->arena, DC_JSON_MAX_DOC_BYTES);
}

void dc_optimize_result_dispose(dc_optimize_result *r)
{
    for (size_t i = 0; r->removed && i < r->n_removed; i++) dc_free(r->removed[i]);
    dc_free(r->removed);
    for (size_t i = 0; r->row_maps && i < r->n_removed; i++) dc_free(r->row_maps[i]);
    dc_free(r->row_maps);
    dc_free(r->map_rows);
    dc_free(r->map_added);
    dc_free(r->added);
    dc_optimize_plan_dispose(&r->plan);
    dc_arena_dispose(&r->arena);
    memset(r, 0, sizeof *r);
    r->read_version = -1;
    r->version = -1;
}

/* Back to empty for another attempt; the retry count and the start survive. */
static void result_reset(dc_optimize_result *r)
{
    const int retries = r->retries;
    dc_optimize_result_dispose(r);
    dc_optimize_result_init(r);
    r->retries = retries;
}

static const char *arena_str(dc_arena *a, const char *s, dc_err *err)
{
    return s ? dc_arena_strndup(a, s, strlen(s), err) : NULL;
}

/* A committed add, copied into the result (path, partition values, stats). */
static int keep_add(dc_optimize_result *r, const dc_delta_add *a, dc_err *err)
{
    dc_delta_add *k = &r->added[r->n_added];
    *k = *a;
    k->tags = (dc_delta_map){0, NULL};
    if (!(k->path = arena_str(&r->arena, a->path, err))) return err->code;
    if (a->stats && !(k->stats = arena_str(&r->arena, a->stats, err))) return err->code;
    const uint32_t n = a->partition_values.n;
    k->partition_values.items = n ? dc_arena_alloc(&r->arena, n * sizeof(dc_delta_kv), err) : NULL;
    if (n && !k->partition_values.items) return err->code;
    for (uint32_t i = 0; i < n; i++) {
        dc_delta_kv *kv = &k->partition_values.items[i];
        if (!(kv->key = arena_str(&r->arena, a->partition_values.items[i].key, err)))
            return err->code;
        kv->value = a->partition_values.items[i].value;
        if (kv->value && !(kv->value = arena_str(&r->arena, kv->value, err))) return err->code;
    }
    r->n_added++;
    return 0;
}

/* ---------------------------------------------------------- one bin */

/* What one attempt holds. */
typedef struct run_state {
    dc_optimize_result *r;
    const dc_optimize_opts *o;
    opt_ctx ctx;
    const dc_delta_add **files;     /* the snapshot's live files */
    size_t n_files;
    opt_out *outs;                  /* per bin */
    dc_delta_tx *tx;
    dc_maint_progress prog;         /* phase "rewriting" */
    int64_t min_out, max_out;       /* output file sizes */
    bool committed;                 /* the commit is (or may be) in the log: its files stay */
} run_state;

static int tx_add_out(run_state *st, const opt_out *out, const dc_delta_add *first, dc_err *err)
{
    dc_delta_add a;
    memset(&a, 0, sizeof a);
    a.path = (const char *)out->path_enc.data;
    a.partition_values = first->partition_values;
    a.size = out->size;
    a.modification_time = dc_delta_now_ms();
    a.data_change = false;
    a.stats = (const char *)out->stats.data;
    DC_TRY(dc_delta_tx_add(st->tx, &a, err));
    if (st->r->files_added == 0 || out->size < st->min_out) st->min_out = out->size;
    if (out->size > st->max_out) st->max_out = out->size;
    st->r->files_added++;
    st->r->bytes_added += (uint64_t)out->size;
    return 0;
}

/* Rewrites bin b and puts its removes and add in the transaction. A bin of
 * a layout we do not rewrite is skipped (a warning). */
static int do_bin(run_state *st, size_t b, dc_err *err)
{
    const dc_optimize_bin *bin = &st->r->plan.bins[b];
    const dc_delta_add **in = dc_calloc(bin->n, sizeof *in);
    if (!in) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    for (size_t k = 0; k < bin->n; k++) in[k] = st->files[bin->files[k]];
    int rc = opt_rewrite_bin(&st->outs[b], &st->ctx, in, bin->n, err);
    if (rc == DC_EUNSUPPORTED) {
        DC_LOG(DC_LOG_WARN, "optimize", "skipping a bin of %zu files: %s", bin->n, err->msg);
        dc_err_clear(err);
        opt_out_discard(&st->outs[b], st->ctx.s);
        st->outs[b].skipped = true;
        st->r->bins_skipped++;
        rc = 0;
        goto out;
    }
    for (size_t k = 0; rc == 0 && k < bin->n; k++) {
        rc = dc_delta_tx_remove_file(st->tx, in[k], false, err);
        st->r->files_removed++;
        st->r->bytes_removed += (uint64_t)(in[k]->size > 0 ? in[k]->size : 0);
        st->r->dvs_removed += in[k]->has_dv;
    }
    if (rc == 0 && st->outs[b].rel_path) rc = tx_add_out(st, &st->outs[b], in[0], err);
    st->r->rows += st->outs[b].rows;
    st->r->rows_dropped += st->outs[b].rows_dropped;
out:
    st->prog.files_done += bin->n;
    st->prog.bytes_done += (uint64_t)bin->bytes;
    if (rc == 0 && st->o->progress) st->o->progress(st->o->progress_ctx, &st->prog);
    dc_free(in);
    return rc;
}

/* --------------------------------------------------------- committing */

static int put_metrics(run_state *st, dc_err *err)
{
    const dc_optimize_result *r = st->r;
    DC_TRY(dc_delta_tx_param(st->tx, "predicate", "[]", err));
    DC_TRY(dc_delta_tx_param(st->tx, "zOrderBy", "[]", err));
    DC_TRY(dc_delta_tx_param(st->tx, "auto", st->o->automatic ? "true" : "false", err));
    DC_TRY(dc_delta_tx_metric(st->tx, "numRemovedFiles", (int64_t)r->files_removed, err));
    DC_TRY(dc_delta_tx_metric(st->tx, "numAddedFiles", (int64_t)r->files_added, err));
    DC_TRY(dc_delta_tx_metric(st->tx, "numRemovedBytes", (int64_t)r->bytes_removed, err));
    DC_TRY(dc_delta_tx_metric(st->tx, "numAddedBytes", (int64_t)r->bytes_added, err));
    DC_TRY(dc_delta_tx_metric(st->tx, "minFileSize", st->min_out, err));
    DC_TRY(dc_delta_tx_metric(st->tx, "maxFileSize", st->max_out, err));
    DC_TRY(dc_delta_tx_metric(st->tx, "numDeletionVectorsRemoved", (int64_t)r->dvs_removed, err));
    DC_TRY(dc_delta_tx_metric(st->tx, "numOutputRows", (int64_t)r->rows, err));
    return dc_delta_tx_metric(st->tx, "numDeletedRowsPurged", (int64_t)r->rows_dropped, err);
}

/* After the commit: the removed paths and the adds, for the caller (the
 * daemon moves its key index with them). */
static int keep_lists(run_state *st, dc_err *err)
{
    dc_optimize_result *r = st->r;
    const dc_optimize_plan *p = &r->plan;
    r->removed = dc_calloc(p->n_files + 1, sizeof *r->removed);
    r->added = dc_calloc(p->n_bins + 1, sizeof *r->added);
    if (!r->removed || !r->added) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    if (st->o->row_maps) {
        r->row_maps = dc_calloc(p->n_files + 1, sizeof *r->row_maps);
        r->map_rows = dc_calloc(p->n_files + 1, sizeof *r->map_rows);
        r->map_added = dc_calloc(p->n_files + 1, sizeof *r->map_added);
        if (!r->row_maps || !r->map_rows || !r->map_added)
            return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    }
    for (size_t b = 0; b < p->n_bins; b++) {
        opt_out *o = &st->outs[b];
        if (o->skipped) continue;
        for (size_t k = 0; k < p->bins[b].n; k++) {
            char *path = dc_strdup(st->files[p->bins[b].files[k]]->path);
            if (!path) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
            if (r->row_maps) { /* taken over from the bin */
                DC_ASSERT(k < o->n_maps);
                r->row_maps[r->n_removed] = o->maps[k];
                r->map_rows[r->n_removed] = o->map_rows[k];
                r->map_added[r->n_removed] = o->rel_path ? (uint32_t)r->n_added : UINT32_MAX;
                o->maps[k] = NULL;
            }
            r->removed[r->n_removed++] = path;
        }
        if (!o->rel_path) continue;
        dc_delta_add a;
        memset(&a, 0, sizeof a);
        a.path = (const char *)o->path_enc.data;
        a.partition_values = st->files[p->bins[b].files[0]]->partition_values;
        a.size = o->size;
        a.stats = (const char *)o->stats.data;
        DC_TRY(keep_add(r, &a, err));
    }
    return 0;
}

static int rewrite_and_commit(run_state *st, dc_delta_snapshot *snap, dc_err *err)
{
    const dc_optimize_plan *p = &st->r->plan;
    st->outs = dc_calloc(p->n_bins + 1, sizeof *st->outs);
    if (!st->outs) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    DC_TRY(dc_delta_tx_new(&st->tx, snap, "OPTIMIZE", err));
    st->prog.phase = "rewriting";
    st->prog.files_total = p->n_files;
    st->prog.bytes_total = p->bytes;
    for (size_t b = 0; b < p->n_bins; b++) DC_TRY(do_bin(st, b, err));
    if (st->r->files_removed == 0) return 0; /* every bin skipped */
    DC_TRY(put_metrics(st, err));
    int rc = dc_delta_tx_commit(&st->r->version, st->tx, err);
    /* In doubt, the rewritten files stay: a visible commit may name them. */
    st->committed = rc == 0 || rc == DC_EUNKNOWN;
    if (rc < 0) return rc;
    rc = keep_lists(st, err);
    if (rc < 0)
        dc_err_prefix(err, "optimize committed version %" PRId64 ", then", st->r->version);
    return rc;
}

static int plan(run_state *st, dc_delta_snapshot *snap, dc_err *err)
{
    st->n_files = dc_delta_snapshot_n_files(snap);
    st->files = dc_calloc(st->n_files + 1, sizeof *st->files);
    if (!st->files) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    for (size_t i = 0; i < st->n_files; i++) st->files[i] = dc_delta_snapshot_file(snap, i);
    return dc_optimize_plan_files(&st->r->plan, st->files, st->n_files, st->o, err);
}

static int run_once(dc_optimize_result *r, dc_delta_snapshot *snap, const dc_optimize_opts *o,
                    dc_err *err)
{
    result_reset(r);
    r->read_version = dc_delta_snapshot_version(snap);
    run_state st;
    memset(&st, 0, sizeof st);
    st.r = r;
    st.o = o;
    /* the context first: a table we can not write or a bad sort column is an
     * error even when there is nothing to do */
    int rc = opt_ctx_init(&st.ctx, snap, o, err);
    if (rc == 0) rc = plan(&st, snap, err);
    if (rc == 0 && r->plan.n_bins && !o->dry_run) rc = rewrite_and_commit(&st, snap, err);
    for (size_t b = 0; st.outs && b < r->plan.n_bins; b++) {
        if (rc < 0 && !st.committed) opt_out_discard(&st.outs[b], st.ctx.s);
        opt_out_dispose(&st.outs[b]);
    }
    if (rc < 0 && (!st.committed || rc == DC_EUNKNOWN)) r->version = -1;
    dc_delta_tx_free(st.tx);
    if (st.ctx.schema || st.ctx.s) opt_ctx_dispose(&st.ctx);
    dc_free(st.outs);
    dc_free(st.files);
    return rc;
}

int dc_optimize_run(dc_optimize_result *out, dc_delta_snapshot *snap, const dc_optimize_opts *o,
                    dc_err *err)
{
    const double t0 = now_s();
    out->retries = 0;
    int rc = dc_optimize_opts_check(o, err);
    for (int attempt = 0; rc == 0; attempt++) {
        rc = run_once(out, snap, o, err);
        if (rc != DC_ECONFLICT) break;
        if (attempt >= o->max_retries) {
            dc_err_prefix(err, "optimize gave up after %d conflict%s", attempt + 1,
                          attempt ? "s" : "");
            err->retriable = true;
            break;
        }
        DC_LOG(DC_LOG_WARN, "optimize", "%s: planning again on the latest version", err->msg);
        dc_err_clear(err);
        out->retries++;
        rc = dc_delta_snapshot_update(snap, -1, err);
    }
    out->seconds = now_s() - t0;
    return rc;
}
