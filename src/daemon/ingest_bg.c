/* ingest: maintenance beside ingestion (issue 13), maintenance.background.
 *
 * One thread per daemon follows every table the daemon writes, on its own
 * storage handle and its own snapshot of each table, never the ingest
 * thread's (which owns the merge table, its snapshot and its key index).
 * After each commit the ingest thread posts the table's new version; the
 * thread then steps its snapshot up to it (taking the commits the ingest
 * thread left parsed, delta_ccache.c, instead of reading them back), one
 * version at a time so that a
 * checkpoint is written at exactly the version due (while the ingest thread
 * commits the next ones), and runs the policy of ingest_maint.c (log
 * cleanup, manifest), VACUUM at its interval, and OPTIMIZE at its interval:
 * the rewrite only (dc_optimize_prepare: plan, read, sort, write the new
 * files), which is what takes time.
 *
 * The rewrite's commit is the ingest thread's (ing_bg_tick, between two
 * batches): dc_optimize_commit_prepared on the merge table's snapshot
 * carries the deletes that batches made meanwhile in the rewritten files
 * over to the new file as a deletion vector, and the key index follows the
 * rows with the rewrite's row maps (ing_optimize_after). That costs a
 * commit and one pass over the index, not the rewrite. The key index is
 * persisted by the ingest thread too, after the thread reports a
 * checkpoint.
 *
 * Without deletion vectors (mode cow) a bin whose input a batch rewrote is
 * left out; after BG_MAX_MISSES such runs in a row one run is made between
 * batches as with maintenance.background off.
 *
 * Shared under `mu`: the versions posted, the rewrite ready, the
 * checkpoint flag, the counts; everything else of a table is the thread's.
 */
#include "ingest_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <time.h>

#include "../delta/delta.h"
#include "../maint/maint.h"
#include "../maint/optimize.h"

/* Seconds between two log cleanups of a table at least (as ingest_maint.c). */
#define BG_LOG_CLEANUP_EVERY_S 3600.0

/* One table the thread follows. */
typedef struct bg_table {
    const ing_slot *slot;       /* whose table (identity only: never read by the thread) */
    char *path;                 /* the table's location (owned copy) */
    /* under bg->mu */
    dc_metrics_table *mt;       /* its metrics (borrowed; locked by the registry), or NULL */
    int64_t want;               /* newest version the ingest thread committed */
    int64_t done;               /* newest version the thread has followed */
    dc_optimize_prepared *ready; /* a rewrite for the ingest thread to commit, or NULL */
    double ready_s;             /* seconds the rewrite took */
    bool checkpointed;          /* a checkpoint was written since the ingest thread looked */
    /* the thread's own */
    dc_metrics_table *mt_run;   /* mt, copied under mu before each piece of work */
    dc_storage *s;              /* owned */
    dc_delta_snapshot *snap;    /* owned; NULL until the first version */
    int64_t seen;               /* the version followed (-1: none) */
    double last_optimize;       /* monotonic seconds of the last OPTIMIZE check (0: none) */
    double last_vacuum;         /* of the last VACUUM (0: none yet) */
    double last_log_cleanup;    /* of the last log cleanup (0: none yet) */
} bg_table;

struct ing_bg {
    const dc_config *cfg;       /* borrowed */
    pthread_t th;
    bool started;               /* th is running */
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* work posted, stop asked, or the thread went idle */
    bool stop;                  /* under mu */
    bool busy;                  /* under mu: the thread is working on a table */
    bg_table **tabs;            /* under mu (the array; each table's shared fields too) */
    size_t n_tabs, cap_tabs;
    uint64_t checkpoints;       /* under mu: automatic checkpoints written */
    uint64_t vacuums;           /* under mu: VACUUM runs */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ----------------------------------------------------- the thread's work */

/* The policy after commit `v` of those up to `want` (checkpoint when due
 * and no later one is due by `want`, log cleanup after it, the manifest at
 * the newest version only). */
static void bg_policy(ing_bg *bg, bg_table *t, int64_t v, int64_t want)
{
    const bool newest = v == want;
    const dc_config *c = bg->cfg;
    dc_maint_opts o;
    dc_maint_opts_init(&o);
    o.checkpoint_interval = c->checkpoint_interval;
    o.checkpoint_min_change = c->checkpoint_min_change;
    const double t0 = now_s();
    o.log_cleanup = c->log_cleanup && (t->last_log_cleanup == 0 ||
                                       t0 - t->last_log_cleanup >= BG_LOG_CLEANUP_EVERY_S);
    o.manifest = c->manifest && newest;
    o.newest = want; /* behind: only the newest due checkpoint is written */
    dc_maint_result r;
    dc_err err;
    dc_err_clear(&err);
    const int rc = dc_maint_after_commit(&r, t->s, t->snap, v, &o, &err);
    if (r.checkpoint_tried && t->mt_run)
        dc_metrics_maint_done(t->mt_run, DC_METRICS_CHECKPOINT, r.checkpoint_seconds,
                              r.checkpointed);
    if (r.log_tried && t->mt_run)
        dc_metrics_maint_done(t->mt_run, DC_METRICS_LOG_CLEANUP, r.log_seconds,
                              r.cleaned || r.log.skipped);
    if (r.cleaned) t->last_log_cleanup = t0;
    if (r.checkpointed)
        DC_LOG(DC_LOG_INFO, "maint", "%s: checkpoint at version %" PRId64 " (%" PRId64 " files, %"
               PRId64 " bytes), %.1f ms (maintenance thread)", t->path, r.checkpoint.version,
               r.checkpoint.num_add_files, r.checkpoint.size_in_bytes,
               r.checkpoint_seconds * 1000.0);
    if (r.cleaned && r.log.plan.n_remove)
        DC_LOG(DC_LOG_INFO, "maint", "%s: log cleanup removed %zu files below checkpoint %"
               PRId64, t->path, r.log.plan.n_remove, r.log.plan.keep_from);
    if (rc < 0) DC_LOG(DC_LOG_WARN, "maint", "%s: %s", t->path, err.msg);
    if (!r.checkpointed) return;
    pthread_mutex_lock(&bg->mu);
    bg->checkpoints++;
    t->checkpointed = true;
    pthread_mutex_unlock(&bg->mu);
}

/* The thread's snapshot of t up to `want`, a version at a time (each one
 * the policy sees); a failure drops the snapshot (loaded anew next time). */
static void bg_follow(ing_bg *bg, bg_table *t, int64_t want)
{
    dc_err err;
    dc_err_clear(&err);
    int rc = t->s ? 0 : dc_storage_open(&t->s, t->path, &err);
    if (rc == 0 && !t->snap) {
        rc = dc_delta_snapshot_load(&t->snap, t->s, want, &err);
        if (rc == 0) t->seen = want - 1; /* the policy sees `want` below */
    }
    for (int64_t v = t->seen + 1; rc == 0 && v <= want; v++) {
        if (v > dc_delta_snapshot_version(t->snap))
            rc = dc_delta_snapshot_update(t->snap, v, &err);
        if (rc == 0) bg_policy(bg, t, v, want);
        if (rc == 0) t->seen = v;
    }
    if (rc < 0) {
        DC_LOG(DC_LOG_WARN, "maint", "%s: maintenance thread: %s (read again at the next commit)",
               t->path, err.msg);
        dc_delta_snapshot_free(t->snap);
        t->snap = NULL;
        t->seen = want;
    }
}

static void bg_vacuum(ing_bg *bg, bg_table *t)
{
    if (!t->snap || !ing_maint_vacuum(bg->cfg, t->path, t->snap, t->mt_run, &t->last_vacuum))
        return;
    pthread_mutex_lock(&bg->mu);
    bg->vacuums++;
    pthread_mutex_unlock(&bg->mu);
}

/* OPTIMIZE's rewrite when its interval has passed and a threshold is
 * crossed; the result waits in t->ready for the ingest thread. */
static void bg_optimize(ing_bg *bg, bg_table *t, bool has_ready)
{
    const dc_config *c = bg->cfg;
    if (c->optimize != DC_CFG_OPTIMIZE_AUTO || !t->snap || has_ready) return;
    const double t0 = now_s();
    if (t->last_optimize == 0) t->last_optimize = t0; /* the first run waits an interval too */
    if ((t0 - t->last_optimize) * 1000.0 < (double)c->optimize_interval_ms) return;
    dc_optimize_opts o;
    ing_optimize_opts(&o, c);
    dc_err err;
    dc_err_clear(&err);
    bool yes = false;
    dc_optimize_prepared *p = NULL;
    int rc = ing_optimize_worth_it(&yes, t->snap, &o, c, &err);
    if (rc == 0 && yes) rc = dc_optimize_prepare(&p, t->snap, &o, &err);
    if (yes || rc < 0) t->last_optimize = now_s(); /* else check again after the next commit */
    if (rc < 0) {
        DC_LOG(DC_LOG_WARN, "optimize", "%s: %s", t->path, err.msg);
        if (t->mt_run) dc_metrics_maint_done(t->mt_run, DC_METRICS_OPTIMIZE, now_s() - t0, false);
        return;
    }
    if (!p || dc_optimize_prepared_empty(p)) {
        dc_optimize_prepared_free(p, t->s);
        return;
    }
    /* The batches committed meanwhile: their deletes carried over here, so
     * that the ingest thread's commit has only the last few to rebase. */
    pthread_mutex_lock(&bg->mu);
    const int64_t want = t->want;
    pthread_mutex_unlock(&bg->mu);
    bg_follow(bg, t, want);
    if (t->snap && dc_optimize_prepared_rebase(p, t->snap, &err) < 0) {
        DC_LOG(DC_LOG_WARN, "optimize", "%s: %s", t->path, err.msg);
        dc_optimize_prepared_free(p, t->s);
        return;
    }
    DC_LOG(DC_LOG_DEBUG, "optimize", "%s: rewrite of version %" PRId64 " ready (rebased on %"
           PRId64 "), %.1f ms", t->path, dc_optimize_prepared_version(p),
           t->snap ? dc_delta_snapshot_version(t->snap) : -1, (now_s() - t0) * 1000.0);
    pthread_mutex_lock(&bg->mu);
    t->ready = p;
    t->ready_s = now_s() - t0;
    pthread_mutex_unlock(&bg->mu);
}

/* A table with a version not followed yet (under mu), or NULL. */
static bg_table *bg_next(ing_bg *bg)
{
    for (size_t i = 0; i < bg->n_tabs; i++)
        if (bg->tabs[i]->want > bg->tabs[i]->done) return bg->tabs[i];
    return NULL;
}

static void *bg_main(void *arg)
{
    ing_bg *bg = arg;
    pthread_mutex_lock(&bg->mu);
    while (!bg->stop) {
        bg_table *t = bg_next(bg);
        if (!t) {
            bg->busy = false;
            pthread_cond_broadcast(&bg->cv);
            pthread_cond_wait(&bg->cv, &bg->mu);
            continue;
        }
        bg->busy = true;
        const int64_t want = t->want;
        const bool has_ready = t->ready != NULL;
        t->mt_run = t->mt;
        pthread_mutex_unlock(&bg->mu);
        bg_follow(bg, t, want);
        bg_vacuum(bg, t);
        bg_optimize(bg, t, has_ready);
        pthread_mutex_lock(&bg->mu);
        t->done = want;
    }
    bg->busy = false;
    pthread_cond_broadcast(&bg->cv);
    pthread_mutex_unlock(&bg->mu);
    return NULL;
}

/* ------------------------------------------------- the ingest thread's side */

int ing_bg_start(ing_state *st, dc_err *err)
{
    if (!st->cfg->maint_background) return 0;
    ing_bg *bg = dc_calloc(1, sizeof *bg);
    if (!bg) return dc_err_set(err, DC_ENOMEM, "out of memory");
    bg->cfg = st->cfg;
    pthread_mutex_init(&bg->mu, NULL);
    pthread_cond_init(&bg->cv, NULL);
    const int e = pthread_create(&bg->th, NULL, bg_main, bg);
    if (e != 0) {
        pthread_cond_destroy(&bg->cv);
        pthread_mutex_destroy(&bg->mu);
        dc_free(bg);
        return dc_err_set(err, DC_EIO, "starting the maintenance thread: error %d", e);
    }
    bg->started = true;
    st->bg = bg;
    dc_delta_commit_cache_enable(true); /* the thread's snapshots take our commits parsed */
    return 0;
}

/* The slot's entry (under mu), added when new. */
static int bg_table_of(bg_table **out, ing_bg *bg, const ing_slot *s, dc_err *err)
{
    for (size_t i = 0; i < bg->n_tabs; i++)
        if (bg->tabs[i]->slot == s) {
            *out = bg->tabs[i];
            return 0;
        }
    DC_TRY(dc_array_grow((void **)&bg->tabs, &bg->cap_tabs, bg->n_tabs + 1, sizeof *bg->tabs,
                         SIZE_MAX, err));
    bg_table *t = dc_calloc(1, sizeof *t);
    if (!t || !(t->path = dc_strdup(s->path))) {
        dc_free(t);
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    t->slot = s;
    t->want = t->done = t->seen = -1;
    bg->tabs[bg->n_tabs++] = t;
    *out = t;
    return 0;
}

/* Background rewrites left out this many times in a row (a table without
 * deletion vectors whose small files the batches keep rewriting) make the
 * next run an inline one, between batches, so that compaction still
 * progresses. */
#define BG_MAX_MISSES 3

int ing_bg_committed(ing_state *st, ing_slot *s, dc_err *err)
{
    ing_bg *bg = st->bg;
    if (!bg || !s->table) return 0;
    if (s->optimize_misses >= BG_MAX_MISSES) {
        const uint64_t before = st->stats.optimizes;
        ing_slot_optimize(st, s);
        if (st->stats.optimizes != before) s->optimize_misses = 0;
    }
    const int64_t v = dc_delta_snapshot_version(dc_merge_table_snapshot(s->table));
    bg_table *t = NULL;
    pthread_mutex_lock(&bg->mu);
    int rc = bg_table_of(&t, bg, s, err);
    if (rc == 0) {
        t->mt = s->mt;
        if (v > t->want) t->want = v;
        pthread_cond_broadcast(&bg->cv);
    }
    pthread_mutex_unlock(&bg->mu);
    return rc;
}

/* Commits a ready rewrite of the slot's table (the ingest thread's work). */
static void commit_ready(ing_state *st, ing_slot *s, dc_optimize_prepared *p, double prep_s)
{
    dc_optimize_result r;
    dc_optimize_result_init(&r);
    dc_err err;
    dc_err_clear(&err);
    const double t0 = now_s();
    dc_delta_snapshot *snap = dc_merge_table_snapshot(s->table);
    const int rc = dc_optimize_commit_prepared(&r, p, snap, &err);
    r.seconds = now_s() - t0;
    ing_metrics_maint(s, DC_METRICS_OPTIMIZE, prep_s + r.seconds,
                      rc == 0 || rc == DC_ECONFLICT);
    if (r.rows_carried || r.bins_dropped)
        DC_LOG(DC_LOG_INFO, "optimize", "%s: rewrite of version %" PRId64 " committed on %"
               PRId64 ": %" PRIu64 " rows deleted meanwhile hidden by deletion vectors, %" PRIu64
               " bins left out", s->path, dc_optimize_prepared_version(p), r.read_version,
               r.rows_carried, r.bins_dropped);
    ing_optimize_after(st, s, &r, rc, &err);
    s->optimize_misses = r.version < 0 && r.bins_dropped ? s->optimize_misses + 1 : 0;
    dc_optimize_prepared_free(p, dc_delta_snapshot_storage(snap));
    dc_optimize_result_dispose(&r);
    dc_err_clear(&err);
    if (ing_bg_committed(st, s, &err) < 0) DC_LOG(DC_LOG_WARN, "optimize", "%s", err.msg);
}

void ing_bg_tick(ing_state *st)
{
    ing_bg *bg = st->bg;
    if (!bg) return;
    for (size_t i = 0; i < st->n_slots; i++) {
        ing_slot *s = st->slots[i];
        if (ing_commit_busy(st, s)) continue; /* its table is the committer's until settled */
        dc_optimize_prepared *p = NULL;
        double prep_s = 0;
        bool cp = false;
        pthread_mutex_lock(&bg->mu);
        for (size_t k = 0; k < bg->n_tabs; k++) {
            bg_table *t = bg->tabs[k];
            if (t->slot != s) continue;
            p = t->ready;
            prep_s = t->ready_s;
            cp = t->checkpointed;
            t->ready = NULL;
            t->checkpointed = false;
        }
        pthread_mutex_unlock(&bg->mu);
        if (cp) ing_slot_persist(st, s, true);
        if (p && s->table) commit_ready(st, s, p, prep_s);
        else dc_optimize_prepared_free(p, NULL); /* the table went: VACUUM takes its files */
    }
}

/* True when the thread has followed every table and holds nothing ready. */
static bool bg_idle(ing_bg *bg, bool *ready)
{
    *ready = false;
    for (size_t i = 0; i < bg->n_tabs; i++) *ready |= bg->tabs[i]->ready != NULL;
    return !bg->busy && !bg_next(bg);
}

void ing_bg_drain(ing_state *st)
{
    ing_bg *bg = st->bg;
    if (!bg) return;
    /* a commit of a ready rewrite posts a version, which may make another
     * rewrite ready: a few rounds at most (the optimize interval) */
    for (int round = 0; round < 8; round++) {
        bool ready = false;
        pthread_mutex_lock(&bg->mu);
        while (!bg_idle(bg, &ready)) pthread_cond_wait(&bg->cv, &bg->mu);
        pthread_mutex_unlock(&bg->mu);
        if (!ready) return;
        ing_bg_tick(st);
    }
}

void ing_bg_stop(ing_state *st)
{
    ing_bg *bg = st->bg;
    if (!bg) return;
    pthread_mutex_lock(&bg->mu);
    bg->stop = true;
    pthread_cond_broadcast(&bg->cv);
    pthread_mutex_unlock(&bg->mu);
    if (bg->started) pthread_join(bg->th, NULL);
    dc_delta_commit_cache_enable(false);
    for (size_t i = 0; i < bg->n_tabs; i++) { /* a clean stop persists indexes anyway */
        bg_table *t = bg->tabs[i];
        dc_optimize_prepared_free(t->ready, t->s);
        dc_delta_snapshot_free(t->snap);
        dc_storage_free(t->s);
        dc_free(t->path);
        dc_free(t);
    }
    st->stats.checkpoints += bg->checkpoints;
    st->stats.vacuums += bg->vacuums;
    dc_free(bg->tabs);
    pthread_cond_destroy(&bg->cv);
    pthread_mutex_destroy(&bg->mu);
    dc_free(bg);
    st->bg = NULL;
}
