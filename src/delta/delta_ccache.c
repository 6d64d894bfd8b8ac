/*
 * The commits this process just wrote, kept parsed for a snapshot in the
 * same process that follows the table (the daemon's maintenance thread,
 * which keeps its own snapshot of every table it maintains).
 *
 * Why: that snapshot stepped up by reading back and parsing each commit the
 * ingest thread had just written; a 200-record batch of a DV table commits
 * ~170 KB of JSON (a remove and an add with stats per file it touches), and
 * parsing it was ~15% of such a run's CPU. The transaction already holds
 * those actions: dc_delta_tx_commit copies them here (~5% of the parse),
 * and dc_delta_snapshot_update takes a version from here before it reads the
 * file. A snapshot applying them sees what the file holds but commitInfo
 * (which a snapshot ignores), as the writer's own snapshot does
 * (dc_delta_tx_apply_to_snapshot).
 *
 * Only dc_delta_snapshot_update takes from here; everything that looks at
 * a commit for its own sake (conflict checks, resolving an unknown outcome
 * by commitInfo.txnId, history) reads the file. Off unless enabled
 * (dc_delta_commit_cache_enable): with no follower, copies would only be
 * dropped again. Entries are keyed by the storage root and the version (a
 * version is written once: put-if-absent), taken once, and the oldest are
 * dropped past DC_DELTA_COMMIT_CACHE_ENTRIES or DC_DELTA_COMMIT_CACHE_BYTES.
 */
#include "delta_int.h"

#include <pthread.h>

static struct {
    pthread_mutex_t mu;                                  /* guards the rest */
    bool on;                                             /* dc_delta_commit_cache_enable */
    char *roots[DC_DELTA_COMMIT_CACHE_ENTRIES];          /* owned; oldest first */
    dc_delta_commit *commits[DC_DELTA_COMMIT_CACHE_ENTRIES]; /* owned, same order */
    size_t n;                                            /* entries in use */
    size_t bytes;                                        /* arena bytes of the commits held */
} cc = {PTHREAD_MUTEX_INITIALIZER, false, {NULL}, {NULL}, 0, 0};

/* Removes entry i (under mu), handing its commit to the caller. */
static dc_delta_commit *cc_remove(size_t i)
{
    dc_delta_commit *c = cc.commits[i];
    dc_free(cc.roots[i]);
    cc.bytes -= c->arena.used;
    memmove(&cc.roots[i], &cc.roots[i + 1], (cc.n - i - 1) * sizeof *cc.roots);
    memmove(&cc.commits[i], &cc.commits[i + 1], (cc.n - i - 1) * sizeof *cc.commits);
    cc.n--;
    return c;
}

void dc_delta_commit_cache_enable(bool on)
{
    pthread_mutex_lock(&cc.mu);
    cc.on = on;
    while (!on && cc.n) dc_delta_commit_free(cc_remove(0));
    pthread_mutex_unlock(&cc.mu);
}

bool dc_delta_ccache_on(void)
{
    pthread_mutex_lock(&cc.mu);
    const bool on = cc.on;
    pthread_mutex_unlock(&cc.mu);
    return on;
}

void dc_delta_ccache_put(const char *root, dc_delta_commit *c)
{
    char *key = dc_strdup(root);
    pthread_mutex_lock(&cc.mu);
    const bool keep = cc.on && key && c->arena.used <= DC_DELTA_COMMIT_CACHE_BYTES;
    while (keep && cc.n && (cc.n == DC_DELTA_COMMIT_CACHE_ENTRIES ||
                            cc.bytes + c->arena.used > DC_DELTA_COMMIT_CACHE_BYTES))
        dc_delta_commit_free(cc_remove(0));
    if (keep) {
        cc.roots[cc.n] = key;
        cc.commits[cc.n++] = c;
        cc.bytes += c->arena.used;
    }
    pthread_mutex_unlock(&cc.mu);
    if (!keep) {
        dc_free(key);
        dc_delta_commit_free(c);
    }
}

dc_delta_commit *dc_delta_ccache_take(const char *root, int64_t version)
{
    dc_delta_commit *c = NULL;
    pthread_mutex_lock(&cc.mu);
    for (size_t i = 0; i < cc.n && !c; i++)
        if (cc.commits[i]->version == version && strcmp(cc.roots[i], root) == 0) c = cc_remove(i);
    pthread_mutex_unlock(&cc.mu);
    return c;
}
