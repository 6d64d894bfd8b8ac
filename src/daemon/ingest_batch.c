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
    for (size_t i = s->n_tps; i-- > 0;) {
        if (s->tps[i].topic == topic && s->tps[i].partition == partition) {
            *out = (uint32_t)i;
            return 0;
        }
    }
    DC_TRY(dc_array_grow((void **)&s->tps, &s->cap_tps, s->n_tps + 1, sizeof *s->tps, SIZE_MAX,
                         err));
    s->tps[s->n_tps] = (ing_tp){.topic = topic, .partition = partition, .last = -1, .resume = -2};
    *out = (uint32_t)s->n_tps++;
    return 0;
}

static const char *keep_bytes(ing_slot *s, const char *p, size_t n, dc_err *err)
{
    if (!p) return NULL;
    return dc_arena_strndup(&s->keep_arena, p, n, err);
}

/* Copies the event into the slot's keep arena (or gives up keeping when the
 * replay budget is spent). */
static int keep(ing_slot *s, const dc_cdc_event *ev, uint32_t tp, int64_t offset, dc_err *err)
{
    if (s->keep_lost) return 0;
    /* The schema block is most of a record's bytes (JsonConverter repeats it
     * in every record). A raw table's replay never reads it (its schemas were
     * noted when the events were first added): not kept. A typed table's is
     * kept once while it repeats. */
    const bool typed = s->format == DC_CFG_FORMAT_TYPED;
    const bool same_schema = typed && ev->schema && s->kept_schema &&
                             ev->schema_len == s->kept_schema_len &&
                             ((ev->schema_id && ev->schema_id == s->kept_schema_id) ||
                              memcmp(ev->schema, s->kept_schema, ev->schema_len) == 0);
    size_t bytes = sizeof(ing_kept) + ev->after_len + ev->before_len +
                   (typed && !same_schema ? ev->schema_len : 0) + ev->src_file_len +
                   ev->gtid_len + 5;
    for (uint32_t i = 0; i < ev->n_keys; i++)
        if (ev->keys[i].type == DC_CDC_KEY_STRING) bytes += ev->keys[i].len + 1;
    if (s->kept_bytes + bytes > DC_INGEST_MAX_REPLAY_BYTES) {
        s->keep_lost = true;
        return 0;
    }
    DC_TRY(dc_array_grow((void **)&s->kept, &s->cap_kept, s->n_kept + 1, sizeof *s->kept, SIZE_MAX,
                         err));
    ing_kept *k = &s->kept[s->n_kept];
    k->ev = *ev;
    k->tp = tp;
    k->offset = offset;
    if (ev->after && !(k->ev.after = keep_bytes(s, ev->after, ev->after_len, err))) return err->code;
    if (ev->before && !(k->ev.before = keep_bytes(s, ev->before, ev->before_len, err)))
        return err->code;
    /* typed tables read the schema block and the source position's names */
    if (!typed) {
        k->ev.schema = NULL;
        k->ev.schema_len = 0;
        k->ev.schema_id = 0;
    } else if (same_schema) {
        k->ev.schema = s->kept_schema;
    } else if (ev->schema) {
        if (!(k->ev.schema = keep_bytes(s, ev->schema, ev->schema_len, err))) return err->code;
        s->kept_schema = k->ev.schema;
        s->kept_schema_len = ev->schema_len;
        s->kept_schema_id = ev->schema_id;
    }
    if (ev->src_file && !(k->ev.src_file = keep_bytes(s, ev->src_file, ev->src_file_len, err)))
        return err->code;
    if (ev->gtid && !(k->ev.gtid = keep_bytes(s, ev->gtid, ev->gtid_len, err)))
        return err->code;
    for (uint32_t i = 0; i < ev->n_keys; i++) {
        if (ev->keys[i].type != DC_CDC_KEY_STRING) continue;
        k->ev.keys[i].s = dc_arena_strndup(&s->keep_arena, ev->keys[i].s, ev->keys[i].len, err);
        if (!k->ev.keys[i].s) return err->code;
    }
    s->kept_bytes += bytes;
    s->n_kept++;
    return 0;
}

int ing_slot_add(ing_slot *s, const dc_cdc_event *ev, const char *topic, int32_t partition,
                 int64_t offset, dc_err *err)
{
    if (!s->batch) {
        DC_TRY(ing_schemalog_refresh(s, err));
        DC_TRY(dc_merge_batch_new(&s->batch, s->table, err));
    }
    uint32_t tp;
    DC_TRY(tp_index(&tp, s, topic, partition, err));
    DC_TRY(dc_merge_batch_add(s->batch, ev, topic, partition, offset, err));
    if (offset > s->tps[tp].last) s->tps[tp].last = offset;
    /* a raw table keeps the schemas its rows were written with (merge.h) */
    if (s->format == DC_CFG_FORMAT_RAW && ev->kind == DC_CDC_CHANGE && ev->schema) {
        if (!s->schemas) DC_TRY(dc_merge_schemas_new(&s->schemas, err));
        DC_TRY(dc_merge_schemas_note(s->schemas, topic, partition, offset, ev->schema,
                                     ev->schema_len, err));
    }
    if (s->n_in == 0) ing_metrics_first(s, ev);
    if (ev->kind == DC_CDC_CHANGE && ev->has_ts_ms && ev->ts_ms > s->batch_ts_max)
        s->batch_ts_max = ev->ts_ms;
    s->tps[tp].n++;
    s->n_in++;
    return keep(s, ev, tp, offset, err);
}

void ing_slot_note_input(ing_slot *s, const char *topic, const dc_source_record *r)
{
    for (size_t i = 0; i < s->n_tps; i++) {
        ing_tp *tp = &s->tps[i];
        if (tp->topic != topic || tp->partition != r->partition || tp->last != r->offset)
            continue;
        tp->has_id = true;
        tp->id_bytes = r->input_bytes;
        tp->id_hash = r->input_hash;
    }
}

/* The identities noted for the batch's positions, into the batch to commit
 * (again after a replay: the replayed batch is a new one). */
static int put_input_ids(ing_slot *s, dc_err *err)
{
    for (size_t i = 0; i < s->n_tps; i++) {
        const ing_tp *tp = &s->tps[i];
        if (tp->has_id)
            DC_TRY(dc_merge_batch_set_input_id(s->batch, tp->topic, tp->partition, tp->id_bytes,
                                               tp->id_hash, err));
    }
    return 0;
}

/* The next offset of (topic, partition) when the batch in hand has records
 * of it (a reassigned partition must not be read twice), else -1. */
int64_t ing_slot_in_hand(const ing_slot *s, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < s->n_tps; i++)
        if (s->tps[i].partition == partition && strcmp(s->tps[i].topic, topic) == 0)
            return s->tps[i].last + 1;
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
    for (size_t i = 0; i < s->n_tps; i++)
        DC_TRY(dc_merge_resume_offset(&s->tps[i].resume, s->table, s->tps[i].topic,
                                      s->tps[i].partition, err));
    DC_TRY(dc_merge_batch_new(&s->batch, s->table, err));
    uint64_t n = 0;
    for (size_t i = 0; i < s->n_kept; i++) {
        const ing_kept *k = &s->kept[i];
        const ing_tp *tp = &s->tps[k->tp];
        if (tp->resume >= 0 && k->offset < tp->resume) continue;
        DC_TRY(dc_merge_batch_add(s->batch, &k->ev, tp->topic, tp->partition, k->offset, err));
        n++;
    }
    DC_LOG(DC_LOG_WARN, "ingest", "table %s: commit conflict, replaying %" PRIu64 " of %zu "
           "events on the table's latest version", s->path, n, s->n_kept);
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
           s->path, s->n_in, r->inserted, r->updated, r->deleted, r->stale, extra,
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

/* Commits the slot's batch; then tells the source what is committed. */
int ing_slot_commit(ing_state *st, ing_slot *s, dc_err *err)
{
    dc_merge_result res;
    int rc = 0;
    const uint64_t retries = st->stats.retries;
    /* schema files before the commit whose rows use them */
    if (s->batch) DC_TRY(dc_merge_schemas_flush(s->schemas, s->path, err));
    for (int attempt = 0; s->batch; attempt++) {
        memset(&res, 0, sizeof res);
        rc = put_input_ids(s, err);
        if (rc == 0) rc = dc_merge_batch_commit(&res, s->batch, err);
        dc_merge_batch_free(s->batch);
        s->batch = NULL;
        if (rc == 0) break;
        if (rc != DC_ECONFLICT || attempt >= MAX_CONFLICT_RETRIES || s->keep_lost) {
            dc_err_prefix(err, "table %s: commit", s->path);
            return rc;
        }
        DC_LOG(DC_LOG_WARN, "ingest", "table %s: %s", s->path, err->msg);
        dc_err_clear(err);
        st->stats.retries++;
        DC_TRY(replay(st, s, err));
    }
    log_batch(s, &res);
    ing_metrics_batch(st, s, &res, st->stats.retries - retries);
    if (res.version >= 0) st->stats.commits++;
    st->stats.inserted += res.inserted;
    st->stats.updated += res.updated;
    st->stats.deleted += res.deleted;
    st->stats.truncated += res.truncated;
    for (size_t i = 0; i < s->n_tps && rc == 0; i++)
        rc = st->src->ops->committed(st->src, s->tps[i].topic, s->tps[i].partition,
                                     s->tps[i].last, err);
    ing_slot_reset(s);
    return rc;
}

/* Forgets the batch in hand (committed, or abandoned on an error). */
void ing_slot_reset(ing_slot *s)
{
    dc_merge_batch_free(s->batch);
    s->batch = NULL;
    s->n_in = 0;
    s->n_tps = 0;
    s->n_kept = 0;
    s->kept_bytes = 0;
    s->keep_lost = false;
    s->kept_schema = NULL;
    s->kept_schema_id = 0;
    dc_arena_reset(&s->keep_arena);
}

void ing_slot_free(ing_slot *s)
{
    if (!s) return;
    ing_slot_reset(s);
    dc_merge_table_free(s->table);
    dc_merge_schemas_free(s->schemas);
    dc_cdc_schemalog_free(s->schemalog);
    ing_sckafka_free(s->sck);
    dc_free(s->tps);
    dc_free(s->kept);
    dc_arena_dispose(&s->keep_arena);
    dc_arena_dispose(&s->arena);
    dc_free(s->stop_error);
    dc_free(s->path);
    dc_free(s);
}
