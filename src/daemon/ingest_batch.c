/* ingest: a table's batch in hand — adding events, keeping copies of them
 * for a replay, committing, and the replay after a conflict. */
#include "ingest_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "../common/dc_limits.h"

/* Conflicts (another writer committed something we depend on) retried per batch. */
#define MAX_CONFLICT_RETRIES 5

/* Index of the slot's position entry for (topic, partition), added if new.
 * `topic` is the route's string: the same pointer for the same topic. */
static int tp_index(uint32_t *out, ing_slot *s, const char *topic, int32_t partition, dc_err *err)
{
    for (size_t i = s->h.n_tps; i-- > 0;) {
        if (s->h.tps[i].topic == topic && s->h.tps[i].partition == partition) {
            *out = (uint32_t)i;
            return 0;
        }
    }
    DC_TRY(dc_array_grow((void **)&s->h.tps, &s->h.cap_tps, s->h.n_tps + 1, sizeof *s->h.tps, SIZE_MAX,
                         err));
    s->h.tps[s->h.n_tps] = (ing_tp){.topic = topic, .partition = partition, .last = -1, .resume = -2};
    *out = (uint32_t)s->h.n_tps++;
    return 0;
}

static const char *keep_bytes(ing_slot *s, const char *p, size_t n, dc_err *err)
{
    if (!p) return NULL;
    return dc_arena_strndup(&s->h.keep_arena, p, n, err);
}

/* A raw table's row is COALESCE(after, before) (merge_batch.c): the
 * before image is kept only when there is no after. */
static bool keeps_before(const ing_slot *s, const dc_cdc_event *ev)
{
    return ev->before && (s->format == DC_CFG_FORMAT_TYPED || !ev->after);
}

/* Bytes keeping ev costs against the replay budget; *same: a typed table's
 * schema block is the one kept last (kept once while it repeats). */
static size_t keep_cost(const ing_slot *s, const dc_cdc_event *ev, bool *same)
{
    /* The schema block is most of a record's bytes (JsonConverter repeats it
     * in every record). A raw table's replay never reads it (its schemas were
     * noted when the events were first added): not kept. A typed table's is
     * kept once while it repeats. */
    const bool typed = s->format == DC_CFG_FORMAT_TYPED;
    *same = typed && ev->schema && s->h.kept_schema && ev->schema_len == s->h.kept_schema_len &&
            ((ev->schema_id && ev->schema_id == s->h.kept_schema_id) ||
             memcmp(ev->schema, s->h.kept_schema, ev->schema_len) == 0);
    size_t bytes = sizeof(ing_kept) + ev->after_len + (keeps_before(s, ev) ? ev->before_len : 0) +
                   (typed && !*same ? ev->schema_len : 0) + ev->src_file_len + ev->gtid_len + 5;
    for (uint32_t i = 0; i < ev->n_keys; i++)
        if (ev->keys[i].type == DC_CDC_KEY_STRING) bytes += ev->keys[i].len + 1;
    return bytes;
}

/* A deferred slot's batch is its kept events: it closes before keeping
 * gives up. The batch built from them is far below the merge's byte bound
 * (each kept event's bytes hold its image and string keys). */
_Static_assert(2 * DC_INGEST_MAX_REPLAY_BYTES < DC_MERGE_MAX_BATCH_BYTES,
               "a deferred batch closes on the replay budget before the merge's");

bool ing_slot_has_room(const ing_slot *s, const dc_cdc_event *ev)
{
    if (!s->deferred) return !s->batch || dc_merge_batch_has_room(s->batch, ev);
    bool same;
    return s->h.n_in == 0 ||
           (s->h.kept_bytes + keep_cost(s, ev, &same) <= DC_INGEST_MAX_REPLAY_BYTES &&
            s->h.n_kept < dc_merge_batch_max_events());
}

/* Copies the event into the slot's keep arena (or gives up keeping when the
 * replay budget is spent). */
static int keep(ing_slot *s, const dc_cdc_event *ev, uint32_t tp, int64_t offset, dc_err *err)
{
    if (s->h.keep_lost) return 0;
    const bool typed = s->format == DC_CFG_FORMAT_TYPED;
    bool same_schema;
    const size_t bytes = keep_cost(s, ev, &same_schema);
    /* (a deferred slot's batch closed first, ing_slot_has_room; its first
     * event is kept whatever its size: the keep arena holds one line) */
    if (s->h.kept_bytes + bytes > DC_INGEST_MAX_REPLAY_BYTES && !(s->deferred && !s->h.n_kept)) {
        DC_ASSERT(!s->deferred);
        s->h.keep_lost = true;
        return 0;
    }
    DC_TRY(dc_array_grow((void **)&s->h.kept, &s->h.cap_kept, s->h.n_kept + 1, sizeof *s->h.kept, SIZE_MAX,
                         err));
    ing_kept *k = &s->h.kept[s->h.n_kept];
    k->ev = *ev;
    k->tp = tp;
    k->offset = offset;
    if (ev->after && !(k->ev.after = keep_bytes(s, ev->after, ev->after_len, err))) return err->code;
    if (!keeps_before(s, ev)) {
        k->ev.before = NULL;
        k->ev.before_len = 0;
    } else if (!(k->ev.before = keep_bytes(s, ev->before, ev->before_len, err))) {
        return err->code;
    }
    /* typed tables read the schema block and the source position's names */
    if (!typed) {
        k->ev.schema = NULL;
        k->ev.schema_len = 0;
        k->ev.schema_id = 0;
    } else if (same_schema) {
        k->ev.schema = s->h.kept_schema;
    } else if (ev->schema) {
        if (!(k->ev.schema = keep_bytes(s, ev->schema, ev->schema_len, err))) return err->code;
        s->h.kept_schema = k->ev.schema;
        s->h.kept_schema_len = ev->schema_len;
        s->h.kept_schema_id = ev->schema_id;
    }
    if (ev->src_file && !(k->ev.src_file = keep_bytes(s, ev->src_file, ev->src_file_len, err)))
        return err->code;
    if (ev->gtid && !(k->ev.gtid = keep_bytes(s, ev->gtid, ev->gtid_len, err)))
        return err->code;
    for (uint32_t i = 0; i < ev->n_keys; i++) {
        if (ev->keys[i].type != DC_CDC_KEY_STRING) continue;
        k->ev.keys[i].s = dc_arena_strndup(&s->h.keep_arena, ev->keys[i].s, ev->keys[i].len, err);
        if (!k->ev.keys[i].s) return err->code;
    }
    s->h.kept_bytes += bytes;
    s->h.n_kept++;
    return 0;
}

static int noted(ing_slot *s, const dc_cdc_event *ev, uint32_t tp, const char *topic,
                 int32_t partition, int64_t offset, dc_err *err);

int ing_slot_add(ing_slot *s, const dc_cdc_event *ev, const char *topic, int32_t partition,
                 int64_t offset, dc_err *err)
{
    if (s->deferred) {
        /* the committer thread adds the kept events to a batch: the loop
         * refuses here what that add would refuse of the event itself */
        if (s->h.n_in == 0) DC_TRY(ing_schemalog_refresh(s, err));
        if (!s->shape_set) { /* no commit holds the table (ing_commit_hand sets it) */
            dc_merge_table_keyshape(&s->shape, s->table, (const char *const *)s->keys.names);
            s->shape_set = true;
        }
        DC_TRY(dc_merge_event_check(&s->shape, ev, topic, partition, offset, err));
        uint32_t tp;
        DC_TRY(tp_index(&tp, s, topic, partition, err));
        return noted(s, ev, tp, topic, partition, offset, err);
    }
    if (!s->batch) {
        DC_TRY(ing_schemalog_refresh(s, err));
        DC_TRY(dc_merge_batch_new(&s->batch, s->table, err));
    }
    uint32_t tp;
    DC_TRY(tp_index(&tp, s, topic, partition, err));
    DC_TRY(dc_merge_batch_add(s->batch, ev, topic, partition, offset, err));
    return noted(s, ev, tp, topic, partition, offset, err);
}

/* An event the batch took: its position, schema, metrics and kept copy. */
static int noted(ing_slot *s, const dc_cdc_event *ev, uint32_t tp, const char *topic,
                 int32_t partition, int64_t offset, dc_err *err)
{
    if (offset > s->h.tps[tp].last) s->h.tps[tp].last = offset;
    /* a raw table keeps the schemas its rows were written with (merge.h) */
    if (s->format == DC_CFG_FORMAT_RAW && ev->kind == DC_CDC_CHANGE && ev->schema &&
        !(ev->schema_id && ev->schema_id == s->noted_id && topic == s->noted_topic &&
          partition == s->noted_partition)) {
        if (!s->schemas) DC_TRY(dc_merge_schemas_new(&s->schemas, err));
        DC_TRY(dc_merge_schemas_note(s->schemas, topic, partition, offset, ev->schema,
                                     ev->schema_len, err));
        s->noted_id = ev->schema_id;
        s->noted_topic = topic;
        s->noted_partition = partition;
    }
    if (s->h.n_in == 0) ing_metrics_first(s, ev);
    if (ev->kind == DC_CDC_CHANGE && ev->has_ts_ms && ev->ts_ms > s->h.batch_ts_max)
        s->h.batch_ts_max = ev->ts_ms;
    s->h.tps[tp].n++;
    s->h.n_in++;
    return keep(s, ev, tp, offset, err);
}

void ing_slot_note_input(ing_slot *s, const char *topic, const dc_source_record *r)
{
    for (size_t i = 0; i < s->h.n_tps; i++) {
        ing_tp *tp = &s->h.tps[i];
        if (tp->topic != topic || tp->partition != r->partition || tp->last != r->offset)
            continue;
        tp->has_id = true;
        tp->id_bytes = r->input_bytes;
        tp->id_hash = r->input_hash;
    }
}

/* The identities noted for the batch's positions, into the batch to commit
 * (again after a replay: the replayed batch is a new one). */
static int put_input_ids(dc_merge_batch *b, const ing_hand *h, dc_err *err)
{
    for (size_t i = 0; i < h->n_tps; i++) {
        const ing_tp *tp = &h->tps[i];
        if (tp->has_id)
            DC_TRY(dc_merge_batch_set_input_id(b, tp->topic, tp->partition, tp->id_bytes,
                                               tp->id_hash, err));
    }
    return 0;
}

/* A batch of table t from h's kept events: those at or after their
 * position's resume offset (a replay's), or all (resume not asked). */
static int kept_batch(dc_merge_batch **out, uint64_t *n_out, dc_merge_table *t, const ing_hand *h,
                      dc_err *err)
{
    DC_TRY(dc_merge_batch_new(out, t, err));
    uint64_t n = 0;
    for (size_t i = 0; i < h->n_kept; i++) {
        const ing_kept *k = &h->kept[i];
        const ing_tp *tp = &h->tps[k->tp];
        if (tp->resume >= 0 && k->offset < tp->resume) continue;
        DC_TRY(dc_merge_batch_add(*out, &k->ev, tp->topic, tp->partition, k->offset, err));
        n++;
    }
    *n_out = n;
    return 0;
}

int ing_hand_commit(dc_merge_result *res, dc_merge_table *t, const ing_hand *h, dc_err *err)
{
    memset(res, 0, sizeof *res);
    res->version = -1;
    dc_merge_batch *b = NULL;
    uint64_t n;
    int rc = kept_batch(&b, &n, t, h, err);
    if (rc == 0) rc = put_input_ids(b, h, err);
    if (rc == 0) rc = dc_merge_batch_commit(res, b, err);
    dc_merge_batch_free(b);
    return rc;
}

/* The next offset of (topic, partition) when the batch in hand has records
 * of it (a reassigned partition must not be read twice), else -1. */
int64_t ing_slot_in_hand(const ing_slot *s, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < s->h.n_tps; i++)
        if (s->h.tps[i].partition == partition && strcmp(s->h.tps[i].topic, topic) == 0)
            return s->h.tps[i].last + 1;
    return -1;
}

/* After a conflict: reopen the table and re-add the kept events the table
 * does not have yet (offset >= its recorded position + 1). */
static int replay(ing_state *st, ing_slot *s, dc_err *err)
{
    dc_merge_table_free(s->table);
    s->table = NULL;
    s->probed = false;
    DC_TRY(ing_slot_probe(st, s, err));
    if (!s->table) return dc_err_set(err, DC_ECONFLICT, "table %s vanished during a conflict", s->path);
    for (size_t i = 0; i < s->h.n_tps; i++)
        DC_TRY(dc_merge_resume_offset(&s->h.tps[i].resume, s->table, s->h.tps[i].topic,
                                      s->h.tps[i].partition, err));
    s->shape_set = false; /* of the table closed */
    uint64_t n;
    DC_TRY(kept_batch(&s->batch, &n, s->table, &s->h, err));
    DC_LOG(DC_LOG_WARN, "ingest", "table %s: commit conflict, replaying %" PRIu64 " of %zu "
           "events on the table's latest version", s->path, n, s->h.n_kept);
    return 0;
}

static void log_batch(ing_slot *s, const dc_merge_result *r)
{
    if (dc_log_threshold < DC_LOG_INFO) return;
    /* Said only where they apply: a truncate's rows, a typed table's repeats
     * (Debezium's at-least-once deliveries, no-ops) and schema changes. */
    char extra[192] = "";
    int n = 0;
    if (r->truncate)
        n += snprintf(extra + n, sizeof extra - (size_t)n, ", truncate removed %" PRIu64 " rows",
                      r->truncated);
    if (r->typed)
        n += snprintf(extra + n, sizeof extra - (size_t)n, ", repeats %" PRIu64, r->repeats);
    if (r->columns_added || r->columns_widened)
        snprintf(extra + n, sizeof extra - (size_t)n,
                 ", columns added %" PRIu32 ", widened %" PRIu32, r->columns_added,
                 r->columns_widened);
    DC_LOG(DC_LOG_INFO, "ingest",
           "batch %s: %" PRIu64 " records in, %" PRIu64 " inserted, %" PRIu64 " updated, %"
           PRIu64 " deleted, %" PRIu64 " stale%s, merged in %.1f ms, version %" PRId64,
           s->path, s->h.n_in, r->inserted, r->updated, r->deleted, r->stale, extra,
           r->seconds * 1000.0, r->version);
    if (DC_LOG_DEBUG > dc_log_threshold || !s->table) return;
    /* Storage requests since the last batch line (object stores bill them). */
    dc_storage_stats now, d;
    dc_storage_stats_get(dc_delta_snapshot_storage(dc_merge_table_snapshot(s->table)), &now);
    dc_storage_stats_sub(&d, &now, &s->req_mark);
    s->req_mark = now;
    DC_LOG(DC_LOG_DEBUG, "ingest",
           "batch %s: requests: GET %" PRIu64 ", PUT %" PRIu64 ", LIST %" PRIu64 ", DELETE %"
           PRIu64 ", retries %" PRIu64 "; %" PRIu64 " bytes in, %" PRIu64 " bytes out",
           s->path, d.get, d.put, d.list, d.del, d.retries, d.bytes_in, d.bytes_out);
}

/* One attempt at the batch built in s->batch (spent after it). */
static int commit_once(dc_merge_result *res, ing_slot *s, dc_err *err)
{
    memset(res, 0, sizeof *res);
    res->version = -1;
    int rc = put_input_ids(s->batch, &s->h, err);
    if (rc == 0) rc = dc_merge_batch_commit(res, s->batch, err);
    dc_merge_batch_free(s->batch);
    s->batch = NULL;
    return rc;
}

/* Commits the slot's batch; then tells the source what is committed. */
int ing_slot_commit(ing_state *st, ing_slot *s, dc_err *err)
{
    dc_merge_result res;
    memset(&res, 0, sizeof res);
    res.version = -1;
    uint64_t n;
    /* a deferred slot's batch is its kept events (here when it is not
     * handed to the committer thread: a revoked partition) */
    if (s->deferred && s->h.n_in && !s->batch) DC_TRY(kept_batch(&s->batch, &n, s->table, &s->h, err));
    /* schema files before the commit whose rows use them */
    if (s->batch) DC_TRY(dc_merge_schemas_flush(s->schemas, s->path, err));
    const int rc = s->batch ? commit_once(&res, s, err) : 0;
    return ing_slot_committed(st, s, rc, &res, err);
}

int ing_slot_committed(ing_state *st, ing_slot *s, int rc, dc_merge_result *res, dc_err *err)
{
    const uint64_t retries = st->stats.retries;
    for (int attempt = 0; rc < 0; attempt++) {
        if (rc != DC_ECONFLICT || attempt >= MAX_CONFLICT_RETRIES || s->h.keep_lost) {
            dc_err_prefix(err, "table %s: commit", s->path);
            return rc;
        }
        DC_LOG(DC_LOG_WARN, "ingest", "table %s: %s", s->path, err->msg);
        dc_err_clear(err);
        st->stats.retries++;
        DC_TRY(replay(st, s, err));
        rc = commit_once(res, s, err);
    }
    log_batch(s, res);
    ing_metrics_batch(st, s, res, st->stats.retries - retries);
    if (res->version >= 0) st->stats.commits++;
    st->stats.inserted += res->inserted;
    st->stats.updated += res->updated;
    st->stats.deleted += res->deleted;
    st->stats.truncated += res->truncated;
    for (size_t i = 0; i < s->h.n_tps && rc == 0; i++)
        rc = st->src->ops->committed(st->src, s->h.tps[i].topic, s->h.tps[i].partition,
                                     s->h.tps[i].last, err);
    ing_slot_reset(s);
    return rc;
}

void ing_hand_init(ing_hand *h)
{
    memset(h, 0, sizeof *h);
    dc_arena_init(&h->keep_arena, DC_INGEST_MAX_REPLAY_BYTES + (size_t)1024 * 1024);
}

void ing_hand_reset(ing_hand *h)
{
    h->n_in = 0;
    h->n_tps = 0;
    h->n_kept = 0;
    h->kept_bytes = 0;
    h->keep_lost = false;
    h->kept_schema = NULL;
    h->kept_schema_id = 0;
    dc_arena_reset(&h->keep_arena);
}

void ing_hand_dispose(ing_hand *h)
{
    dc_free(h->tps);
    dc_free(h->kept);
    dc_arena_dispose(&h->keep_arena);
    memset(h, 0, sizeof *h);
}

/* Forgets the batch in hand (committed, or abandoned on an error). */
void ing_slot_reset(ing_slot *s)
{
    dc_merge_batch_free(s->batch);
    s->batch = NULL;
    ing_hand_reset(&s->h);
}

void ing_slot_free(ing_slot *s)
{
    if (!s) return;
    ing_slot_reset(s);
    dc_merge_table_free(s->table);
    dc_merge_schemas_free(s->schemas);
    dc_cdc_schemalog_free(s->schemalog);
    ing_sckafka_free(s->sck);
    ing_hand_dispose(&s->h);
    dc_arena_dispose(&s->arena);
    dc_free(s->stop_error);
    dc_free(s->path);
    dc_free(s);
}
