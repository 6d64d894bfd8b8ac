/*
 * snap: `deltacdc rebase` (snap.h), the seed's mitigation for a MERGE that
 * slows down as the table grows ("replace the Delta data with the latest
 * merged snapshot and restart consumption"), as one safe command.
 *
 * Two commits, each atomic, each safe to repeat:
 *   1. fold: history ∪ CDC table at version V → the latest row per key,
 *      deletes dropped (the snapshot's merge, sn_fold) → a new version of the
 *      history table that replaces all its files, with the txn
 *      "deltacdc.rebase/<CDC table id>" = V;
 *   2. drop: one commit of the CDC table removes every file that was live at
 *      V and still is. Files are immutable, so such a file holds only rows
 *      the fold read (a deletion vector added since only hides more of
 *      them); files added after V — ingest going on — stay. The CDC table's
 *      txns (the ingest's offsets and source-position watermarks, the
 *      bootstrap floor) are not touched: ingest resumes exactly where it
 *      was, and a running ingest follows the removal like any other foreign
 *      commit (the key index drops the removed files' keys).
 * A crash between the two leaves the history holding V and the CDC table
 * still holding V's rows: readers of history ∪ CDC see each folded row twice
 * with the same rank, which the snapshot's merge (a tie goes to the history)
 * reads as one. The next run finds the history's txn and finishes step 2
 * before anything else. A rerun with nothing new commits nothing.
 *
 * A concurrent commit that removed a file step 2 removes (a deletion vector
 * added by ingest, an OPTIMIZE) conflicts; step 2 is then planned again on
 * the latest version. Rows an OPTIMIZE or a copy-on-write rewrite moved into
 * a new file after V stay in the CDC table: folded again by the next
 * rebase, they change nothing (same rows, same rank).
 */
#include "snap_int.h"

#include <stdlib.h>
#include <time.h>

/* Attempts of step 2 when other writers keep winning the race. */
#define REBASE_DROP_ATTEMPTS 20

void dc_snap_rebase_result_init(dc_snap_rebase_result *r)
{
    memset(r, 0, sizeof *r);
    r->fold.version = r->fold.cdc_version = r->fold.history_version = -1;
    r->drop_version = r->resumed = -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The paths live at `version` of the CDC table, sorted (borrowed from *snap,
 * which the caller frees). */
static int paths_at(const char ***out, size_t *n_out, dc_delta_snapshot **snap, dc_storage *st,
                    int64_t version, dc_err *err)
{
    int rc = dc_delta_snapshot_load(snap, st, version, err);
    if (rc < 0) {
        dc_err_prefix(err, "the CDC table's version %lld (folded into the history, its files "
                      "still to remove)", (long long)version);
        return rc;
    }
    const size_t n = dc_delta_snapshot_n_files(*snap);
    const char **p = dc_malloc((n ? n : 1) * sizeof *p);
    if (!p) return dc_err_set(err, DC_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) p[i] = dc_delta_snapshot_file(*snap, i)->path;
    qsort(p, n, sizeof *p, cmp_str);
    *out = p;
    *n_out = n;
    return 0;
}

/* One attempt of step 2 on the latest version; DC_ECONFLICT when another
 * writer won. */
static int drop_once(dc_snap_rebase_result *res, dc_storage *st, const char **paths, size_t n,
                     int64_t folded, const char *history_uri, dc_err *err)
{
    dc_delta_snapshot *cur = NULL;
    dc_delta_tx *tx = NULL;
    uint64_t removed = 0, kept = 0;
    char v[32];
    int rc = dc_delta_snapshot_load(&cur, st, -1, err);
    if (rc == 0) rc = dc_delta_tx_new(&tx, cur, "DELETE", err);
    for (size_t i = 0; rc == 0 && i < dc_delta_snapshot_n_files(cur); i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(cur, i);
        if (!bsearch(&a->path, paths, n, sizeof *paths, cmp_str)) {
            kept++;
            continue;
        }
        rc = dc_delta_tx_remove_file(tx, a, true, err);
        removed++;
    }
    snprintf(v, sizeof v, "%lld", (long long)folded);
    if (rc == 0 && removed) {
        /* Not read_all: files ingest adds meanwhile do not conflict (they stay). */
        rc = dc_delta_tx_param(tx, "predicate", "[\"deltacdc rebase: the files folded into "
                               "the history\"]", err);
        if (rc == 0) rc = dc_delta_tx_param(tx, "deltacdc.rebase.foldedVersion", v, err);
        if (rc == 0) rc = dc_delta_tx_param(tx, "deltacdc.historyTable", history_uri, err);
        if (rc == 0) rc = dc_delta_tx_metric(tx, "numRemovedFiles", (int64_t)removed, err);
        if (rc == 0) rc = dc_delta_tx_commit(&res->drop_version, tx, err);
    }
    if (rc == 0) {
        res->removed_files += removed;
        res->kept_files = kept;
    }
    dc_delta_tx_free(tx);
    dc_delta_snapshot_free(cur);
    return rc;
}

/* Step 2 for the fold of CDC version `folded`: removes the files live at
 * `folded` that still are (none: nothing committed). */
static int drop_folded(dc_snap_rebase_result *res, dc_storage *st, int64_t folded,
                       const char *history_uri, dc_err *err)
{
    dc_delta_snapshot *old = NULL;
    const char **paths = NULL;
    size_t n = 0;
    int rc = paths_at(&paths, &n, &old, st, folded, err);
    for (int i = 0; rc == 0; i++) {
        rc = drop_once(res, st, paths, n, folded, history_uri, err);
        if (rc != DC_ECONFLICT || i + 1 == REBASE_DROP_ATTEMPTS) break;
        DC_LOG(DC_LOG_INFO, "snap", "rebase: %s; removing the folded files again on the "
               "latest version", err->msg);
        dc_err_clear(err);
        rc = 0;
    }
    if (rc < 0) dc_err_prefix(err, "removing the rows folded into the history (CDC version "
                              "%lld) from the CDC table", (long long)folded);
    dc_free(paths);
    dc_delta_snapshot_free(old);
    return rc;
}

/* The CDC table's latest snapshot (*snap), the appId of its rebases, and
 * the version of the last fold the history records (-1: none; the history
 * missing is *hist_exists false). */
static int read_state(dc_delta_snapshot **snap, dc_buf *app, bool *hist_exists,
                      int64_t *folded, dc_storage *cst, const dc_snap_opts *o, dc_err *err)
{
    *folded = -1;
    *hist_exists = false;
    int rc = dc_delta_snapshot_load(snap, cst, -1, err);
    if (rc < 0) {
        dc_err_prefix(err, "CDC table %s", o->cdc_uri);
        return rc;
    }
    dc_buf_reset(app);
    DC_TRY(dc_buf_appendf(app, err, "%s%s%c", SN_REBASE_APP,
                          dc_delta_snapshot_metadata(*snap)->id, '\0'));
    dc_storage *hst = NULL;
    dc_delta_snapshot *h = NULL;
    rc = dc_storage_open(&hst, o->history_uri, err);
    if (rc == 0) rc = dc_delta_snapshot_load(&h, hst, -1, err);
    if (rc == 0) {
        *hist_exists = true;
        if (dc_delta_snapshot_txn_version(folded, h, (const char *)app->data) < 0) *folded = -1;
    } else if (rc == DC_ENOTFOUND) {
        dc_err_clear(err);
        rc = 0;
    } else {
        dc_err_prefix(err, "history table %s", o->history_uri);
    }
    dc_delta_snapshot_free(h);
    dc_storage_free(hst);
    return rc;
}

/* A table whose deletes leave no row can not be folded: a key deleted after
 * the rebase would stay in the history. */
static int check_cdc(const sn_fold *f, dc_err *err)
{
    if (!f->cdc.has_meta[SN_M_DEL] && !f->cdc.raw)
        return dc_err_set(err, DC_EINVAL, "the CDC table %s removes deleted rows (typed, "
                          "without %s): after a rebase a delete would find no row to mark "
                          "and the key would stay in the history. Ingest with "
                          "soft_deletes: true", f->cdc.uri, f->l.meta[SN_M_DEL]);
    return 0;
}

/* Step 1 at CDC version `version`: the history's new version. */
static int fold(dc_snap_rebase_result *res, const dc_snap_opts *o, bool hist_exists,
                int64_t version, const char *app, dc_err *err)
{
    dc_snap_opts fo = *o;
    if (!hist_exists) fo.history_uri = NULL; /* the first rebase creates it */
    sn_fold f;
    int rc = sn_fold_run(&f, &res->fold, &fo, version, err);
    if (rc == 0 && !f.has_hist) rc = check_cdc(&f, err);
    const sn_target tg = {.uri = o->history_uri, .txn_app = app, .txn_version = version};
    if (rc == 0) rc = sn_write(&res->fold, &tg, &f, err);
    sn_fold_dispose(&f);
    return rc;
}

int dc_snap_rebase(dc_snap_rebase_result *out, const dc_snap_opts *o, dc_err *err)
{
    dc_snap_rebase_result_init(out);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!o->cdc_uri || !o->history_uri)
        return dc_err_set(err, DC_EINVAL, "the CDC table and the history table are required");
    dc_storage *cst = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_buf app;
    dc_buf_init(&app, 4096);
    bool hist_exists = false;
    int64_t folded = -1;
    int rc = dc_storage_open(&cst, o->cdc_uri, err);
    if (rc == 0) rc = read_state(&snap, &app, &hist_exists, &folded, cst, o, err);
    if (rc == 0 && folded >= 0) {
        /* A fold the history holds: its files go first (a crash between the
         * steps; none left after a complete run). */
        rc = drop_folded(out, cst, folded, o->history_uri, err);
        if (rc == 0 && out->removed_files) out->resumed = folded;
        dc_delta_snapshot_free(snap);
        snap = NULL;
        if (rc == 0) rc = dc_delta_snapshot_load(&snap, cst, -1, err);
    }
    if (rc == 0 && dc_delta_snapshot_n_files(snap) > 0) {
        const int64_t v = dc_delta_snapshot_version(snap);
        rc = fold(out, o, hist_exists, v, (const char *)app.data, err);
        if (rc == 0) out->folded = true;
        if (rc == 0) rc = drop_folded(out, cst, v, o->history_uri, err);
    }
    dc_delta_snapshot_free(snap);
    dc_storage_free(cst);
    dc_buf_dispose(&app);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    out->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return rc;
}
