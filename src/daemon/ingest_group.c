/* ingest: several processes in one consumer group (DESIGN.md, part 11).
 * The source tells the loop when a topic-partition leaves this process
 * (source.h, dc_source_revoke_fn); here its tables finish with it: a
 * revocation commits their batches in hand while the partition is still
 * ours, so the next owner resumes right after them and nothing is read
 * twice; a lost assignment (our session expired, so another member may be
 * writing the table already) abandons them, never committing after the loss
 * (the next owner reads those records again from the table's position). The
 * table is then closed: its key index is memory another member now needs,
 * and a later assignment opens it afresh at the version its new owner left.
 * A revoked table's index is persisted first, as at a clean stop: the next
 * owner loads it instead of building it from the data files or following
 * every commit since the last persisted one (a lost one is not: it may hold
 * the abandoned batch). */
#include "ingest_int.h"

#include <inttypes.h>

/* The route of a topic seen before, NULL when none (nothing of it is held). */
static ing_route *known_route(ing_state *st, const char *topic)
{
    for (size_t i = 0; i < st->n_routes; i++)
        if (strcmp(st->routes[i].topic, topic) == 0) return &st->routes[i];
    return NULL;
}

/* Commits (revoked) or abandons (lost) the slot's batch in hand, then closes
 * its table. */
static int give_up(ing_state *st, ing_slot *s, const char *topic, int32_t partition, bool lost,
                   dc_err *err)
{
    if (s->h.n_in && lost) {
        DC_LOG(DC_LOG_WARN, "ingest", "table %s: %s [%" PRId32 "] lost: abandoning the batch "
               "in hand (%" PRIu64 " records); its next owner reads them from the table's "
               "position", s->path, topic, partition, s->h.n_in);
        ing_slot_reset(s);
    } else if (s->h.n_in) {
        if (st->dlq && ing_dlq_pending(st->dlq)) DC_TRY(ing_dlq_commit(st->dlq, err));
        DC_LOG(DC_LOG_INFO, "ingest", "table %s: %s [%" PRId32 "] revoked: committing the "
               "batch in hand (%" PRIu64 " records)", s->path, topic, partition, s->h.n_in);
        DC_TRY(ing_slot_commit(st, s, err));
    }
    if (!lost) ing_slot_persist(st, s, false);
    if (s->table)
        DC_LOG(DC_LOG_INFO, "ingest", "table %s: closed (its partition %s [%" PRId32 "] "
               "went to another member)", s->path, topic, partition);
    dc_merge_table_free(s->table);
    s->table = NULL;
    s->probed = false;
    return 0;
}

int ing_revoke_cb(void *ctx, const char *topic, int32_t partition, bool lost, dc_err *err)
{
    ing_state *st = ctx;
    ing_route *rt = known_route(st, topic);
    if (!rt) return 0;
    DC_TRY(give_up(st, rt->slot, topic, partition, lost, err));
    if (rt->twin) DC_TRY(give_up(st, rt->twin, topic, partition, lost, err));
    bool held = false;
    for (size_t i = 0; i < st->n_slots && !held; i++) held = st->slots[i]->h.n_in > 0;
    if (!held) st->in_hand = 0; /* nothing left to close a batch for */
    return 0;
}
