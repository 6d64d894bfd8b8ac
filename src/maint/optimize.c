/*
 * OPTIMIZE runs (optimize.h): plan on a snapshot, rewrite each bin, commit
 * the removes and adds once with dataChange=false; on a lost race delete
 * what was written and, when allowed, plan again on the latest version.
 */
#include "optimize_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
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

void opt_result_reset(dc_optimize_result *r)
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

int opt_copy_add(dc_delta_add *k, dc_arena *arena, const dc_delta_add *a, dc_err *err)
{
    *k = *a;
    k->tags = (dc_delta_map){0, NULL};
    k->has_dv = false; /* a new file's; a carried-over DV is the commit's business */
    if (!(k->path = arena_str(arena, a->path, err))) return err->code;
    if (a->stats && !(k->stats = arena_str(arena, a->stats, err))) return err->code;
    const uint32_t n = a->partition_values.n;
    k->partition_values.items = n ? dc_arena_alloc(arena, n * sizeof(dc_delta_kv), err) : NULL;
    if (n && !k->partition_values.items) return err->code;
    for (uint32_t i = 0; i < n; i++) {
        dc_delta_kv *kv = &k->partition_values.items[i];
        if (!(kv->key = arena_str(arena, a->partition_values.items[i].key, err)))
            return err->code;
        kv->value = a->partition_values.items[i].value;
        if (kv->value && !(kv->value = arena_str(arena, kv->value, err))) return err->code;
    }
    return 0;
}

/* ---------------------------------------------------------- preparing */

/* What one preparation holds while it runs. */
typedef struct prep_state {
    dc_optimize_prepared *p;
    const dc_optimize_opts *o;
    opt_ctx ctx;
    const dc_delta_add **files;     /* the snapshot's live files */
    size_t n_files;
    dc_maint_progress prog;         /* phase "rewriting" */
} prep_state;

/* An input as the rewrite read it, copied (the snapshot moves on). */
static int keep_input(opt_pin *k, dc_arena *a, const dc_delta_add *in, dc_err *err)
{
    memset(k, 0, sizeof *k);
    if (!(k->path = arena_str(a, in->path, err))) return err->code;
    k->size = in->size;
    k->has_dv = in->has_dv;
    k->dv = in->dv;
    if (in->has_dv && !(k->dv.path_or_inline = arena_str(a, in->dv.path_or_inline, err)))
        return err->code;
    return 0;
}

/* Rewrites bin b into its output file and keeps what the commit needs. A
 * bin of a layout we do not rewrite is skipped (a warning). */
static int prep_bin(prep_state *st, size_t b, dc_err *err)
{
    dc_optimize_prepared *p = st->p;
    const dc_optimize_bin *bin = &p->plan.bins[b];
    opt_pbin *pb = &p->bins[b];
    const dc_delta_add **in = dc_calloc(bin->n, sizeof *in);
    pb->in = dc_arena_alloc(&p->arena, bin->n * sizeof *pb->in, err);
    if (!in || !pb->in) {
        dc_free(in);
        return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    }
    pb->n_in = bin->n;
    for (size_t k = 0; k < bin->n; k++) in[k] = st->files[bin->files[k]];
    int rc = opt_rewrite_bin(&pb->out, &st->ctx, in, bin->n, err);
    if (rc == DC_EUNSUPPORTED) {
        DC_LOG(DC_LOG_WARN, "optimize", "skipping a bin of %zu files: %s", bin->n, err->msg);
        dc_err_clear(err);
        opt_out_discard(&pb->out, st->ctx.s);
        pb->skipped = true;
        rc = 0;
        goto out;
    }
    for (size_t k = 0; rc == 0 && k < bin->n; k++) rc = keep_input(&pb->in[k], &p->arena, in[k], err);
    if (rc == 0 && pb->out.rel_path) {
        dc_delta_add a;
        memset(&a, 0, sizeof a);
        a.path = (const char *)pb->out.path_enc.data;
        a.partition_values = in[0]->partition_values;
        a.size = pb->out.size;
        a.modification_time = dc_delta_now_ms();
        a.data_change = false;
        a.stats = (const char *)pb->out.stats.data;
        rc = opt_copy_add(&pb->add, &p->arena, &a, err);
    }
out:
    st->prog.files_done += bin->n;
    st->prog.bytes_done += (uint64_t)bin->bytes;
    if (rc == 0 && st->o->progress) st->o->progress(st->o->progress_ctx, &st->prog);
    dc_free(in);
    return rc;
}

static int plan(prep_state *st, dc_delta_snapshot *snap, dc_err *err)
{
    st->n_files = dc_delta_snapshot_n_files(snap);
    st->files = dc_calloc(st->n_files + 1, sizeof *st->files);
    if (!st->files) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    for (size_t i = 0; i < st->n_files; i++) st->files[i] = dc_delta_snapshot_file(snap, i);
    return dc_optimize_plan_files(&st->p->plan, st->files, st->n_files, st->o, err);
}

static int prep_new(dc_optimize_prepared **out, dc_delta_snapshot *snap, dc_err *err)
{
    dc_optimize_prepared *p = dc_calloc(1, sizeof *p);
    if (!p) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    dc_arena_init(&p->arena, DC_JSON_MAX_DOC_BYTES);
    p->read_version = dc_delta_snapshot_version(snap);
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(snap);
    *out = p;
    if (m->schema_string && !(p->schema = arena_str(&p->arena, m->schema_string, err)))
        return err->code;
    if (m->id && !(p->meta_id = arena_str(&p->arena, m->id, err))) return err->code;
    bool found = false;
    const char *dv = dc_delta_map_get(&m->configuration, "delta.enableDeletionVectors", &found);
    p->can_dv = found && dv && strcasecmp(dv, "true") == 0 &&
                dc_delta_protocol_has_writer_feature(dc_delta_snapshot_protocol(snap),
                                                     "deletionVectors");
    p->rebased_version = p->read_version;
    return 0;
}

int dc_optimize_prepare(dc_optimize_prepared **out, dc_delta_snapshot *snap,
                        const dc_optimize_opts *o, dc_err *err)
{
    *out = NULL;
    DC_TRY(dc_optimize_opts_check(o, err));
    prep_state st;
    memset(&st, 0, sizeof st);
    st.o = o;
    int rc = prep_new(&st.p, snap, err);
    if (st.p) st.p->automatic = o->automatic;
    /* the context first: a table we can not write or a bad sort column is an
     * error even when there is nothing to do */
    if (rc == 0) rc = opt_ctx_init(&st.ctx, snap, o, err);
    if (rc == 0) rc = plan(&st, snap, err);
    if (rc == 0 && st.p->plan.n_bins && !o->dry_run) {
        st.p->bins = dc_calloc(st.p->plan.n_bins, sizeof *st.p->bins);
        if (!st.p->bins) rc = dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
        else st.p->n_bins = st.p->plan.n_bins;
        st.prog.phase = "rewriting";
        st.prog.files_total = st.p->plan.n_files;
        st.prog.bytes_total = st.p->plan.bytes;
        for (size_t b = 0; rc == 0 && b < st.p->n_bins; b++) rc = prep_bin(&st, b, err);
    }
    if (st.ctx.schema || st.ctx.s) {
        if (rc < 0) dc_optimize_prepared_free(st.p, st.ctx.s); /* its files go */
        opt_ctx_dispose(&st.ctx);
    } else if (rc < 0) {
        dc_optimize_prepared_free(st.p, NULL);
    }
    dc_free(st.files);
    if (rc == 0) *out = st.p;
    return rc;
}

void dc_optimize_prepared_free(dc_optimize_prepared *p, dc_storage *discard_from)
{
    if (!p) return;
    for (size_t b = 0; b < p->n_bins; b++) {
        opt_pbin *pb = &p->bins[b];
        const bool keep = p->committed && pb->in_commit;
        if (!keep && discard_from) opt_out_discard(&pb->out, discard_from);
        opt_out_dispose(&pb->out);
        dc_delta_dv_free(pb->carried);
    }
    dc_free(p->bins);
    dc_optimize_plan_dispose(&p->plan);
    dc_arena_dispose(&p->arena);
    dc_free(p);
}

int64_t dc_optimize_prepared_version(const dc_optimize_prepared *p)
{
    return p->read_version;
}

bool dc_optimize_prepared_empty(const dc_optimize_prepared *p)
{
    for (size_t b = 0; b < p->n_bins; b++)
        if (!p->bins[b].skipped) return false;
    return true;
}

/* --------------------------------------------------------------- run */

static int run_once(dc_optimize_result *r, dc_delta_snapshot *snap, const dc_optimize_opts *o,
                    dc_err *err)
{
    opt_result_reset(r);
    r->read_version = dc_delta_snapshot_version(snap);
    dc_optimize_prepared *p = NULL;
    int rc = dc_optimize_prepare(&p, snap, o, err);
    if (rc == 0 && o->dry_run) {
        r->plan = p->plan; /* taken over */
        memset(&p->plan, 0, sizeof p->plan);
    } else if (rc == 0) {
        rc = dc_optimize_commit_prepared(r, p, snap, err);
    }
    dc_optimize_prepared_free(p, dc_delta_snapshot_storage(snap));
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
