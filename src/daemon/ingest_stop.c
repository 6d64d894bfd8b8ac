/* ingest: one table stops on its error, the others go on (on_table_error:
 * stop_table, the default). A stopped table's batch in hand is dropped, so
 * its log ends at its last commit and a restart resumes from its own txn
 * positions; records for it are skipped, and a topic that feeds only
 * stopped tables is paused at the source. The run ends with an error when
 * nothing is left to ingest, and at its end (--once, a stop request) when
 * any table stopped, so a scheduler sees the failure. */
#include "ingest_int.h"

#include <inttypes.h>

static bool route_stopped(const ing_route *rt)
{
    return rt->slot->stop_error && (!rt->twin || rt->twin->stop_error);
}

int ing_route_pause(ing_state *st, ing_route *rt, dc_err *err)
{
    /* A source still opening (the file source asks where to resume inside
     * its open) can not pause yet: its records are skipped in handle. */
    if (rt->paused || !route_stopped(rt) || !st->src) return 0;
    DC_TRY(dc_source_pause_topic(st->src, rt->topic, err));
    rt->paused = true;
    return 0;
}

static size_t n_stopped(const ing_state *st)
{
    size_t n = 0;
    for (size_t i = 0; i < st->n_slots; i++) n += st->slots[i]->stop_error != NULL;
    return n;
}

int ing_slot_stop(ing_state *st, ing_slot *s, dc_err *err)
{
    if (ing_commit_busy(st, s)) {
        /* The batch before this error is still being committed: on one
         * thread it was committed before these records were read, so it
         * finishes first, and its failure is the table's error (stopping
         * it, or the run). */
        dc_err e;
        dc_err_clear(&e);
        const int rc = ing_commit_settle(st, &e);
        if (rc < 0) {
            *err = e;
            return rc;
        }
        if (s->stop_error) { /* stopped by that failure: this error never happened */
            dc_err_clear(err);
            return 0;
        }
    }
    if (st->halt || st->cfg->on_table_error != DC_CFG_TABLE_ERROR_STOP_TABLE || s->stop_error)
        return err->code;
    if (!(s->stop_error = dc_strdup(err->msg)))
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    ing_slot_reset(s);
    /* Its key index may hold the failed batch's changes: never persisted,
     * and its memory goes back. */
    dc_merge_table_free(s->table);
    s->table = NULL;
    if (s->mt) dc_metrics_fail(st->metrics, s->mt, s->stop_error);
    dc_err perr;
    dc_err_clear(&perr);
    for (size_t i = 0; i < st->n_routes; i++) {
        if (ing_route_pause(st, &st->routes[i], &perr) < 0) {
            *err = perr; /* the source failed: the run can not go on */
            st->halt = true;
            return err->code;
        }
    }
    /* The last table: the run ends with its error as it is (one line, as
     * when the file source's only table fails). Tables whose topics sent
     * nothing yet have no slot: the source's partitions left say whether
     * anything may still come. */
    if (n_stopped(st) == st->n_slots && (!st->src || dc_source_active_partitions(st->src) <= 0)) {
        st->halt = true;
        return err->code;
    }
    dc_err_clear(err);
    DC_LOG(DC_LOG_ERROR, "ingest", "table %s stopped, the other tables go on (on_table_error: "
           "stop_table; its uncommitted records are dropped, a restart resumes after its last "
           "commit): %s", s->path, s->stop_error);
    return 0;
}

int ing_stopped_error(const ing_state *st, dc_err *err)
{
    const size_t n = n_stopped(st);
    for (size_t i = 0; n && i < st->n_slots; i++) {
        const ing_slot *s = st->slots[i];
        if (s->stop_error)
            return dc_err_set(err, DC_EINVAL, "%zu of %zu tables stopped on an error (the "
                              "others ingested all they read); table %s: %s", n,
                              st->n_slots, s->path, s->stop_error);
    }
    return 0;
}
