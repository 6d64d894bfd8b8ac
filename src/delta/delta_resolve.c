/*
 * The three-way outcome of a commit: committed, not committed, or unknown.
 *
 * A put-if-absent of a commit file can fail after it took effect: the local
 * backend's directory fsync failing after link(), an object store's PUT
 * whose reply was lost or timed out. Storage says so with DC_EUNKNOWN.
 * Cleaning up as after a failure would delete the data files a visible
 * commit names (rows lost, table unreadable); retrying at the next version
 * would commit the same rows twice. So the outcome is found by reading the
 * log back at the version tried:
 *
 *  - it holds our bytes: committed. A transaction's body carries a fresh
 *    commitInfo.txnId and a new table's version 0 a fresh metaData.id, so
 *    equal bytes can only be ours;
 *  - it holds other bytes: another writer's commit, and ours can never land
 *    on that name (put-if-absent): not committed, the caller's conflict path;
 *  - it is absent: ours has not landed — yet. On a local filesystem link()
 *    is synchronous, so absence after it returned is final. On an object
 *    store absence proves nothing by itself: a PUT whose reply was lost may
 *    still be applied after we looked, until its own timeout has passed.
 *    Rather than wait for that, the same bytes are put again: success or
 *    finding our bytes is committed, finding another writer's bytes is not
 *    committed (the name is taken, the late PUT can no longer land). Two
 *    copies of the same bytes can not commit twice: the name is one version;
 *  - the log can not be read, or the re-put fails again: after
 *    DC_DELTA_RESOLVE_ATTEMPTS with backoff the outcome stays unknown and
 *    DC_EUNKNOWN goes up. Callers then keep every file the commit names and
 *    stop; a restart reads the log and resumes from what the table holds
 *    (files of a commit that did not land are left to VACUUM).
 *
 * Who goes through it: every commit we write — merge batches, OPTIMIZE, the
 * dead-letter table, property changes, VACUUM's START/END records (VACUUM
 * deletes nothing unless START is known committed), table creation — via
 * dc_delta_tx_commit or dc_delta_commit_put. Each keeps the files its commit
 * names on DC_EUNKNOWN. Checkpoints, _last_checkpoint and manifests are
 * replaces of derived files: an unknown outcome is reported, nothing is
 * cleaned up, and writing them again is harmless.
 *
 * Durability on a local disk: a commit found in place after its directory
 * fsync failed is taken as committed. The next commit syncs the same
 * _delta_log directory (which makes every entry in it durable), and ext4 and
 * XFS turn a failed journal write read-only, so a later commit fails rather
 * than leave a gap behind a lost one.
 */
#include "delta_write_int.h"

#include <inttypes.h>
#include <time.h>

/* Read-backs (each with a re-put when the commit is absent) before an
 * unknown outcome is given up on, and the first pause between them
 * (doubling: 25 ms .. 400 ms, about 0.8 s in all). */
#define DC_DELTA_RESOLVE_ATTEMPTS 5
#define DC_DELTA_RESOLVE_PAUSE_MS 25

/* What `name` holds: 1 our bytes, 0 another writer's, DC_ENOTFOUND absent,
 * other negative codes when it could not be read. */
static int holds_ours(dc_storage *s, const char *name, const void *body, size_t len,
                      dc_err *err)
{
    dc_buf b;
    dc_buf_init(&b, len + 1); /* longer than ours is not ours: no need to read it all */
    int rc = dc_storage_read(s, name, &b, err);
    if (rc == DC_ELIMIT) {
        dc_err_clear(err);
        rc = 0;
    } else if (rc == 0) {
        rc = b.len == len && (len == 0 || memcmp(b.data, body, len) == 0);
    }
    dc_buf_dispose(&b);
    return rc;
}

/* One step of the resolution: 0 committed, DC_EEXISTS another writer's
 * commit holds the version, other codes still unknown. */
static int resolve_step(dc_storage *s, const char *name, const void *body, size_t len,
                        dc_err *err)
{
    int rc = holds_ours(s, name, body, len, err);
    if (rc == 1) return 0;
    if (rc == 0) return dc_err_set(err, DC_EEXISTS, "%s holds another writer's commit", name);
    if (rc != DC_ENOTFOUND) return rc;
    dc_err_clear(err);
    rc = dc_storage_put_if_absent(s, name, body, len, err);
    if (rc != DC_EEXISTS) return rc;
    dc_err_clear(err); /* present now: ours landed late, or a winner's; look again */
    rc = holds_ours(s, name, body, len, err);
    if (rc == 1) return 0;
    if (rc == 0) return dc_err_set(err, DC_EEXISTS, "%s holds another writer's commit", name);
    return rc;
}

int dc_delta_commit_resolve(dc_storage *s, int64_t version, const void *body, size_t len,
                            dc_err *err)
{
    char name[64];
    DC_TRY(dc_delta_commit_name(name, version));
    int rc = DC_EUNKNOWN;
    long pause = DC_DELTA_RESOLVE_PAUSE_MS;
    for (int i = 0; i < DC_DELTA_RESOLVE_ATTEMPTS; i++, pause *= 2) {
        if (i) dc_sleep_ms(pause);
        rc = resolve_step(s, name, body, len, err);
        if (rc == 0 || rc == DC_EEXISTS) break;
        DC_LOG(DC_LOG_WARN, "delta", "%s/%s: commit outcome still unknown (%s), attempt %d of %d",
               s->root, name, err->msg, i + 1, DC_DELTA_RESOLVE_ATTEMPTS);
    }
    if (rc == 0) {
        DC_LOG(DC_LOG_WARN, "delta", "%s/%s: the reply was lost, but the commit is in the log",
               s->root, name);
    } else if (rc != DC_EEXISTS) {
        rc = DC_EUNKNOWN;
        if (err) {
            err->code = rc;
            err->retriable = false;
        }
        dc_err_prefix(err, "version %" PRId64 " may or may not be committed (the log could not "
                      "be read back); its files are kept, and a restart resumes from what the "
                      "table holds", version);
    }
    return rc;
}

int dc_delta_commit_put(dc_storage *s, int64_t version, const void *body, size_t len,
                        dc_err *err)
{
    char name[64];
    DC_TRY(dc_delta_commit_name(name, version));
    const int rc = dc_storage_put_if_absent(s, name, body, len, err);
    if (rc != DC_EUNKNOWN) return rc;
    DC_LOG(DC_LOG_WARN, "delta", "%s/%s: outcome unknown (%s); reading the log back", s->root,
           name, err ? err->msg : "");
    dc_err_clear(err);
    return dc_delta_commit_resolve(s, version, body, len, err);
}
