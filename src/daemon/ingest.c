/* ingest: the loop. Poll the source, route each record to its table, decode
 * it, add it to the table's batch; close the batch on the trigger (interval
 * or record cap), on a drained input (--once) or on a stop request; a bad
 * record stops the run or goes to the dead-letter table. */
#include "ingest_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "../common/dc_limits.h"
#include "../common/dc_pool.h"

/* Records asked of the source per poll, and the longest wait of one poll
 * (bounds how late a stop request or a trigger deadline is noticed). */
#define POLL_MAX 4096
#define POLL_WAIT_MS 100

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ routing */

static const dc_config_table *tables_of(const ing_state *st, uint32_t *n)
{
    if (st->cfg->n_tables) {
        *n = st->cfg->n_tables;
        return st->cfg->tables;
    }
    *n = 1;
    return &st->default_table;
}

/* The configuration entry a topic goes to, and its {db}/{table}. */
static int find_table(const dc_config_table **out, ing_capture *cap, ing_state *st,
                      const char *topic, dc_err *err)
{
    uint32_t n;
    const dc_config_table *tabs = tables_of(st, &n);
    memset(cap, 0, sizeof *cap);
    if (st->file_source) { /* one table; checked in check_config */
        *out = &tabs[0];
        return 0;
    }
    return ing_find_table(out, cap, tabs, n, (const char *const *)st->patterns, st->n_patterns,
                          topic, &st->tmp, err);
}

/* ingest.threads: 0 is one per core. */
static unsigned threads_of(const ing_state *st)
{
    return st->cfg->ingest_threads > 0 ? (unsigned)st->cfg->ingest_threads : dc_pool_cores();
}

static int slot_for_path(ing_slot **out, ing_state *st, const char *path,
                         const dc_config_table *ct, int format, dc_err *err)
{
    for (size_t i = 0; i < st->n_slots; i++) {
        if (strcmp(st->slots[i]->path, path) == 0) {
            if (st->slots[i]->format != format)
                return dc_err_set(err, DC_EINVAL, "table %s: both a raw and a typed table "
                                  "would be written there (tables[].path, typed_path)", path);
            *out = st->slots[i];
            return 0;
        }
    }
    if (st->n_slots == st->cap_slots) {
        size_t cap = st->cap_slots ? st->cap_slots * 2 : 8;
        ing_slot **p = dc_realloc(st->slots, cap * sizeof *p);
        if (!p) return dc_err_set(err, DC_ENOMEM, "out of memory");
        st->slots = p;
        st->cap_slots = cap;
    }
    ing_slot *s = dc_calloc(1, sizeof *s);
    char *copy = dc_strdup(path);
    if (!s || !copy) {
        dc_free(s);
        dc_free(copy);
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    s->path = copy;
    s->ct = ct;
    s->format = format;
    dc_arena_init(&s->arena, 1024 * 1024);
    ing_hand_init(&s->h);
    /* a raw table of a file source on two threads or more: merged and
     * committed on the committer thread (ingest_commit.c) */
    s->deferred = format == DC_CFG_FORMAT_RAW && st->file_source && threads_of(st) > 1;
    for (uint32_t i = 0; i < ct->key.n; i++) s->keys.names[i] = ct->key.items[i];
    s->keys.n = ct->key.n;
    s->keys_known = ct->key.n > 0;
    st->slots[st->n_slots++] = s;
    *out = s;
    return ing_metrics_slot(st, s, err);
}

static int add_route(ing_route **out, ing_state *st, const char *topic, dc_err *err)
{
    const dc_config_table *ct = NULL;
    ing_vars v = {.warehouse = st->cfg->warehouse, .topic = topic,
                  .pipeline = st->cfg->pipeline};
    DC_TRY(find_table(&ct, &v.cap, st, topic, err));
    DC_TRY(ing_expand(&st->tmp, ct->path, &v, err));
    ing_slot *s = NULL, *twin = NULL;
    const bool both = ct->format == DC_CFG_FORMAT_BOTH;
    DC_TRY(slot_for_path(&s, st, (const char *)st->tmp.data, ct,
                         both ? DC_CFG_FORMAT_RAW : ct->format, err));
    if (both) { /* the typed table's path may use the raw one's ({path}) */
        DC_TRY(ing_expand_typed(&st->tmp, ct, s->path, &v, err));
        DC_TRY(slot_for_path(&twin, st, (const char *)st->tmp.data, ct, DC_CFG_FORMAT_TYPED,
                             err));
    }
    if (st->n_routes == st->cap_routes) {
        size_t cap = st->cap_routes ? st->cap_routes * 2 : 8;
        ing_route *p = dc_realloc(st->routes, cap * sizeof *p);
        if (!p) return dc_err_set(err, DC_ENOMEM, "out of memory");
        st->routes = p;
        st->cap_routes = cap;
    }
    char *copy = dc_strdup(topic);
    if (!copy) return dc_err_set(err, DC_ENOMEM, "out of memory");
    st->routes[st->n_routes] = (ing_route){.topic = copy, .slot = s, .twin = twin};
    st->last_route = st->n_routes++;
    *out = &st->routes[st->last_route];
    if (twin)
        DC_LOG(DC_LOG_INFO, "ingest", "topic %s -> tables %s (raw) and %s (typed)", topic,
               s->path, twin->path);
    else DC_LOG(DC_LOG_INFO, "ingest", "topic %s -> table %s", topic, s->path);
    return 0;
}

/* The route of a topic (the last one used first: records come in runs). */
static int route(ing_route **out, ing_state *st, const char *topic, dc_err *err)
{
    if (st->n_routes && strcmp(st->routes[st->last_route].topic, topic) == 0) {
        *out = &st->routes[st->last_route];
        return 0;
    }
    for (size_t i = 0; i < st->n_routes; i++) {
        if (strcmp(st->routes[i].topic, topic) == 0) {
            st->last_route = i;
            *out = &st->routes[i];
            return 0;
        }
    }
    return add_route(out, st, topic, err);
}

/* ------------------------------------------------------------ records */

/* Errors that describe the record rather than the machine. */
static bool is_bad_input(int rc)
{
    return rc == DC_EINVAL || rc == DC_ECORRUPT || rc == DC_ELIMIT || rc == DC_EUNSUPPORTED;
}

static int open_dlq(ing_state *st, dc_err *err)
{
    ing_vars v = {.warehouse = st->cfg->warehouse, .pipeline = st->cfg->pipeline};
    DC_TRY(ing_expand(&st->tmp, st->cfg->dead_letter_path, &v, err));
    int rc = ing_dlq_open(&st->dlq, (const char *)st->tmp.data, st->cfg->pipeline, err);
    if (rc < 0) dc_err_prefix(err, "dead-letter table");
    return rc;
}

static int close_batch(ing_state *st, dc_err *err);

/* A record that can not be applied: the error names it; with on_error
 * dead_letter it goes to the dead-letter table and its position is kept in
 * the data table's batch (a skipped event). */
static int bad_record(ing_state *st, ing_route *rt, ing_slot *s, const dc_source_record *r,
                      int rc, bool *dead, dc_err *err)
{
    dc_err_prefix(err, "topic %s partition %" PRId32 " offset %" PRId64, r->topic, r->partition,
                  r->offset);
    if (!is_bad_input(rc) || st->cfg->on_error != DC_CFG_ON_ERROR_DEAD_LETTER) return rc;
    char msg[DC_ERR_MSG_MAX];
    memcpy(msg, err->msg, sizeof msg);
    dc_err_clear(err);
    DC_LOG(DC_LOG_WARN, "ingest", "dead letter: %s", msg);
    if (!st->dlq) DC_TRY(open_dlq(st, err));
    bool has = *dead; /* the raw table of [raw, typed] refused it already */
    if (!has) DC_TRY(ing_dlq_has(&has, st->dlq, rt->topic, r->partition, r->offset, err));
    if (!has) {
        DC_TRY(ing_dlq_add(st->dlq, rt->topic, r->partition, r->offset, msg, r->value,
                           r->value ? r->value_len : 0, err));
        st->stats.dead_letters++;
        ing_metrics_dead_letter(s);
    }
    *dead = true;
    if (!s->table) return 0;
    dc_cdc_event skip;
    memset(&skip, 0, sizeof skip);
    skip.kind = DC_CDC_SKIP;
    if (!ing_slot_has_room(s, &skip)) { /* a deferred slot's kept events are its batch */
        DC_TRY(close_batch(st, err));
        if (s->stop_error) return 0; /* its commit failed there: stopped */
    }
    return ing_slot_add(s, &skip, rt->topic, r->partition, r->offset, err);
}

static int decode(dc_cdc_event *ev, ing_state *st, ing_slot *s, const dc_source_record *r,
                  dc_err *err)
{
    if (!r->value) {
        memset(ev, 0, sizeof *ev);
        ev->kind = DC_CDC_SKIP; /* a tombstone */
        return 0;
    }
    return dc_cdc_decode_cached(ev, &st->scratch, &st->schema_cache, &s->keys, r->value,
                                r->value_len, err);
}

/* Whether an event decoded with keys a is the one keys b give: the decoder
 * reads the key columns' names, nothing else of them ([raw, typed] twins
 * usually name the same columns). */
static bool same_keys(const dc_cdc_keyspec *a, const dc_cdc_keyspec *b)
{
    if (a == b) return true;
    if (a->n != b->n) return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (strcmp(a->names[i], b->names[i]) != 0) return false;
    return true;
}

/* The record into one of the route's tables. *dead: it went to the
 * dead-letter table already (for the raw table of [raw, typed]). */
static int handle_slot(ing_state *st, ing_route *rt, ing_slot *s, const dc_source_record *r,
                       const ing_pre *pre, bool *dead, dc_err *err)
{
    DC_TRY(ing_slot_probe(st, s, err));
    if (!s->keys_known) DC_TRY(ing_slot_keys_from_record(s, r, err));
    dc_cdc_event ev;
    int rc = 0;
    /* decoded ahead with these very keys (ingest_par.c), else now */
    if (pre && pre->ok && same_keys(pre->keys, &s->keys)) ev = pre->ev;
    else rc = decode(&ev, st, s, r, err);
    if (rc == 0 && !s->table) {
        /* No table yet: nothing to skip or truncate; the first change creates it. */
        if (ev.kind != DC_CDC_CHANGE) return 0;
        rc = ing_slot_key_types(s, r, &ev, err);
        if (rc == 0 && ing_slot_create(st, s, rt->topic, err) < 0) {
            /* e.g. a typed table refused for want of a schema block: name the record */
            dc_err_prefix(err, "topic %s partition %" PRId32 " offset %" PRId64, r->topic,
                          r->partition, r->offset);
            return err->code;
        }
    }
    /* A full batch is committed early; capacity is not the record's fault. */
    if (rc == 0 && !ing_slot_has_room(s, &ev)) {
        DC_TRY(close_batch(st, err));
        if (s->stop_error) return 0; /* its commit failed there: stopped */
    }
    if (rc == 0) rc = ing_slot_add(s, &ev, rt->topic, r->partition, r->offset, err);
    if (rc < 0) rc = bad_record(st, rt, s, r, rc, dead, err);
    if (rc == 0 && r->has_input_id) ing_slot_note_input(s, rt->topic, r);
    return rc;
}

/* Each table of the record's route: one, or the raw and the typed table of
 * [raw, typed] (each keeps its own position: a record one of them has
 * committed already is skipped by its batch). */
static int handle(ing_state *st, const dc_source_record *r, const ing_pre *pre, dc_err *err)
{
    ing_route *rt;
    DC_TRY(route(&rt, st, r->topic, err));
    if (rt->paused) return 0; /* fetched before the pause */
    bool dead = false;
    int rc = 0;
    for (ing_slot *s = rt->slot; s && rc == 0; s = s == rt->twin ? NULL : rt->twin) {
        if (s->stop_error) continue; /* on_table_error: stop_table */
        if ((rc = handle_slot(st, rt, s, r, pre, &dead, err)) < 0) rc = ing_slot_stop(st, s, err);
    }
    /* a new topic of stopped tables */
    return rc == 0 && rt->slot->stop_error ? ing_route_pause(st, rt, err) : rc;
}

int ing_handle(ing_state *st, const dc_source_record *r, const ing_pre *pre, dc_err *err)
{
    DC_TRY(handle(st, r, pre, err));
    st->in_hand++;
    return 0;
}

const dc_cdc_keyspec *ing_decode_keys(ing_state *st, const char *topic)
{
    /* existing routes only: a new one is made (or refused) in its turn */
    for (size_t i = 0; i < st->n_routes; i++) {
        const size_t j = (st->last_route + i) % st->n_routes;
        if (strcmp(st->routes[j].topic, topic) != 0) continue;
        const ing_slot *s = st->routes[j].slot;
        return s->keys_known ? &s->keys : NULL;
    }
    return NULL;
}

/* -------------------------------------------------------------- batches */

int ing_slot_after_commit(ing_state *st, ing_slot *s, int rc, uint64_t commits, dc_err *err)
{
    if (rc < 0) return ing_slot_stop(st, s, err);
    if (st->stats.commits == commits) return 0;
    if (st->bg) return ing_bg_committed(st, s, err); /* maintenance beside ingestion */
    ing_slot_optimize(st, s);
    ing_slot_maintain(st, s);
    return 0;
}

static int close_batch(ing_state *st, dc_err *err)
{
    /* the batch the committer thread holds first: commits stay in order, and
     * its failure stops its table before anything after it is committed */
    DC_TRY(ing_commit_settle(st, err));
    /* a rewrite the maintenance thread made ready is committed between two
     * batches, while no commit holds the table (before the next hand-off) */
    if (st->commit) ing_bg_tick(st);
    /* the dead-letter table is every table's: its failure stops the run */
    if (st->dlq && ing_dlq_pending(st->dlq) && ing_dlq_commit(st->dlq, err) < 0) {
        st->halt = true;
        return err->code;
    }
    for (size_t i = 0; i < st->n_slots; i++) {
        ing_slot *s = st->slots[i];
        if (!s->h.n_in) continue;
        if (s->deferred && st->commit) { /* merged and committed while the loop reads on */
            DC_TRY(ing_commit_settle(st, err)); /* another table's, one at a time */
            if (!s->h.n_in) continue; /* dropped there (its table stopped) */
            if (ing_commit_hand(st, s, err) < 0) DC_TRY(ing_slot_stop(st, s, err));
            continue;
        }
        const uint64_t commits = st->stats.commits;
        const int rc = ing_slot_commit(st, s, err);
        DC_TRY(ing_slot_after_commit(st, s, rc, commits, err));
    }
    ing_bg_tick(st);
    if (st->in_hand) st->stats.batches++;
    st->in_hand = 0;
    st->last_close = now_s();
    return 0;
}

/* Where one table resumes (topic, partition): its batch in hand's next
 * offset, its committed one, or -1 (absent: from the start). */
static int slot_resume(int64_t *out, ing_state *st, ing_slot *s, const char *topic,
                       int32_t partition, dc_err *err)
{
    DC_TRY(ing_slot_probe(st, s, err));
    *out = ing_slot_in_hand(s, topic, partition);
    if (*out >= 0) return 0;
    if (!s->table) return 0;
    return dc_merge_resume_offset(out, s->table, topic, partition, err);
}

/* The route's table that resumes first (the raw or the typed one of
 * [raw, typed]: the other skips what it has committed) and its offset. */
static int route_resume(ing_slot **slot_out, int64_t *offset_out, ing_state *st,
                        const char *topic, int32_t partition, dc_err *err)
{
    ing_route *rt;
    DC_TRY(route(&rt, st, topic, err));
    *slot_out = rt->slot;
    *offset_out = -1; /* every table stopped: any offset (the topic is paused) */
    bool any = false;
    for (ing_slot *s = rt->slot; s; s = s == rt->twin ? NULL : rt->twin) {
        int64_t next = -1;
        if (s->stop_error) continue; /* only the tables going on say where */
        if (slot_resume(&next, st, s, topic, partition, err) < 0) {
            DC_TRY(ing_slot_stop(st, s, err));
            continue;
        }
        if (!any || next < *offset_out) {
            *offset_out = next;
            *slot_out = s;
        }
        any = true;
    }
    return 0;
}

static int resume_cb(void *ctx, const char *topic, int32_t partition, int64_t *offset_out,
                     dc_err *err)
{
    ing_slot *s;
    return route_resume(&s, offset_out, ctx, topic, partition, err);
}

static int identity_cb(void *ctx, const char *topic, int32_t partition, bool *found,
                       uint64_t *bytes, uint64_t *hash, dc_err *err)
{
    ing_slot *s;
    int64_t next;
    *found = false;
    DC_TRY(route_resume(&s, &next, ctx, topic, partition, err));
    if (!s->table || s->stop_error) return 0;
    return dc_merge_input_id(found, bytes, hash, s->table, topic, partition, err);
}

/* How long the next poll may wait: with records in hand, no later than the
 * interval's deadline, and once the batch is old enough for a commit on
 * catching up, not at all (the poll only asks what is there right now). */
static int poll_timeout(const ing_state *st, double interval, double min_age)
{
    if (!st->in_hand) return POLL_WAIT_MS;
    const double now = now_s();
    double left = st->last_close + interval - now;
    const double to_min = st->first_in + min_age - now;
    if (to_min <= 0) left = 0;
    else if (to_min < left) left = to_min;
    return left <= 0 ? 0 : left * 1000 < POLL_WAIT_MS ? (int)(left * 1000) + 1 : POLL_WAIT_MS;
}

/* A file source at its end without --once: nothing more will come (a
 * regular file is read once, a pipe's writer has closed it); wait instead of
 * polling in a tight loop until a stop request. */
static void idle_at_end(void)
{
    const struct timespec ts = {0, POLL_WAIT_MS * 1000000L};
    nanosleep(&ts, NULL);
}

static int loop(ing_state *st, dc_source_record *recs, dc_err *err)
{
    const dc_config *c = st->cfg;
    const double interval = (double)c->trigger_interval_ms / 1000.0;
    const double min_age = (double)c->trigger_min_interval_ms / 1000.0;
    const uint64_t cap = (uint64_t)c->trigger_max_records;
    st->last_close = now_s();
    while (!(st->o->stop && *st->o->stop)) {
        const int timeout = poll_timeout(st, interval, min_age);
        size_t max = cap - st->in_hand < POLL_MAX ? (size_t)(cap - st->in_hand) : POLL_MAX;
        size_t n = 0;
        bool eof = false;
        const dc_source_record *got = recs;
        const ing_pre *pre = NULL; /* decoded ahead by the reader (ingest_ahead.c) */
        if (st->ahead)
            DC_TRY(ing_ahead_poll(st->ahead, st, &got, &pre, max, &n, &eof, timeout, err));
        else DC_TRY(st->src->ops->poll(st->src, recs, max, &n, &eof, timeout, err));
        if (n && !st->in_hand) st->first_in = now_s();
        if (n) DC_TRY(ing_schemalog_poll(st, err)); /* the DDLs before these records */
        for (size_t i = 0; pre && i < n; i++) DC_TRY(ing_handle(st, &got[i], &pre[i], err));
        if (!pre) DC_TRY(ing_par_handle(st->par, st, got, n, err));
        st->stats.records += n;
        DC_TRY(ing_commit_poll(st, err)); /* a commit done: its log line, maintenance */
        ing_metrics_tick(st);
        ing_bg_tick(st);
        const double now = now_s();
        /* Caught up: the poll found nothing more (within its timeout, which
         * is 0 once the batch is old enough), so committing now costs no
         * batching; under a backlog every poll returns records. */
        const bool caught_up = n == 0 && st->in_hand && now - st->first_in >= min_age;
        if (st->in_hand >= cap || (st->in_hand && now - st->last_close >= interval) || caught_up)
            DC_TRY(close_batch(st, err));
        if (eof && n == 0 && st->o->once) break;
        if (eof && n == 0 && st->file_source && !st->in_hand) idle_at_end();
    }
    return close_batch(st, err); /* drained, or stopping: commit what is in hand */
}

/* ------------------------------------------------------------- set-up */

static bool name_ok(const char *s)
{
    if (!*s || strlen(s) > 200) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

static int check_config(ing_state *st, dc_err *err)
{
    const dc_config *c = st->cfg;
    if (!name_ok(c->pipeline))
        return dc_err_set(err, DC_EINVAL, "pipeline '%s': use letters, digits, '.', '_' and '-' "
                          "(it names txn appIds)", c->pipeline);
    if (st->file_source && c->n_tables > 1)
        return dc_err_set(err, DC_EINVAL, "the file source feeds one table, and %u tables are "
                          "configured", c->n_tables);
    if (st->file_source && c->n_tables == 0)
        return dc_err_set(err, DC_EINVAL, "the file source needs the table's path: give --table "
                          "PATH (or one entry in tables:)");
    return 0;
}

static int add_pattern(ing_state *st, const char *p, size_t n, dc_err *err)
{
    char **a = dc_realloc(st->patterns, (st->n_patterns + 1) * sizeof *a);
    if (!a) return dc_err_set(err, DC_ENOMEM, "out of memory");
    st->patterns = a;
    if (!(a[st->n_patterns] = dc_strndup(p, n))) return dc_err_set(err, DC_ENOMEM, "out of memory");
    st->n_patterns++;
    return 0;
}

/* The topics of kafka://HOSTS/T1,T2?query that are patterns ({db}, {table}). */
static int uri_patterns(ing_state *st, const char *uri, dc_err *err)
{
    const char *p = strchr(uri + 8, '/');
    if (!p) return 0; /* the source refuses it with a better message */
    const char *end = p + 1 + strcspn(p + 1, "?");
    for (p++; p < end;) {
        size_t n = strcspn(p, ",?");
        if ((size_t)(end - p) < n) n = (size_t)(end - p);
        if (memchr(p, '{', n)) DC_TRY(add_pattern(st, p, n, err));
        p += n + 1;
    }
    return 0;
}

static bool uri_has_group(const char *uri)
{
    const char *q = strchr(uri, '?');
    for (; q; q = strchr(q + 1, '&'))
        if (strncmp(q + 1, "group=", 6) == 0) return true;
    return false;
}

/* "file:PATH", "file:-" or a kafka:// URI from the flags or the file. */
static int source_uri(const char **out, ing_state *st, dc_buf *b, dc_err *err)
{
    const dc_config *c = st->cfg;
    if (c->source_uri) {
        *out = c->source_uri;
    } else if (c->source_file) {
        DC_TRY(dc_buf_appendf(b, err, "file:%s", c->source_file));
        DC_TRY(dc_buf_putc(b, '\0', err));
        *out = (const char *)b->data;
    } else if (c->kafka_bootstrap) {
        if (!c->kafka_topics.pattern && c->kafka_topics.list.n == 0)
            return dc_err_set(err, DC_EINVAL, "source.kafka.topics is not set");
        DC_TRY(dc_buf_appendf(b, err, "kafka://%s/", c->kafka_bootstrap));
        for (uint32_t i = 0; i < c->kafka_topics.list.n; i++)
            DC_TRY(dc_buf_appendf(b, err, "%s%s", i ? "," : "", c->kafka_topics.list.items[i]));
        DC_TRY(dc_buf_putc(b, '\0', err));
        *out = (const char *)b->data;
    } else {
        return dc_err_set(err, DC_EINVAL, "no source: give --source URI, or source.kafka or "
                          "source.file in a pipeline file (-c)");
    }
    return 0;
}

static int open_source(ing_state *st, dc_err *err)
{
    const dc_config *c = st->cfg;
    dc_buf b;
    dc_buf_init(&b, 1024 * 1024);
    dc_source_opts so;
    memset(&so, 0, sizeof so);
    int rc = source_uri(&so.uri, st, &b, err);
    if (rc < 0) goto out;
    st->file_source = strncmp(so.uri, "file:", 5) == 0;
    if (!c->source_uri && !st->file_source) {
        so.bootstrap_servers = c->kafka_bootstrap;
        so.topic_pattern = c->kafka_topics.pattern;
        if (so.topic_pattern) rc = add_pattern(st, so.topic_pattern, strlen(so.topic_pattern), err);
    }
    if (rc == 0 && c->source_uri && !st->file_source) rc = uri_patterns(st, c->source_uri, err);
    if (rc < 0) goto out;
    /* A group in the URI (flags) beats the file's; the pipeline name is the default. */
    if (!(c->source_uri && uri_has_group(c->source_uri)))
        so.group_id = c->kafka_group ? c->kafka_group : c->pipeline;
    so.start_earliest = c->kafka_starting_offsets == DC_CFG_OFFSETS_EARLIEST;
    so.fail_on_data_loss = c->kafka_fail_on_data_loss;
    so.n_props = c->kafka_props.n;
    so.prop_keys = c->kafka_props.keys;
    so.prop_values = c->kafka_props.values;
    so.resume = resume_cb;
    so.identity = identity_cb;
    so.revoke = ing_revoke_cb;
    so.resume_ctx = st;
    rc = check_config(st, err);
    if (rc == 0)
        DC_LOG(DC_LOG_INFO, "ingest", "pipeline %s: source %s, trigger %" PRId64 " ms or %" PRId64
               " records, on_error %s, on_table_error %s", c->pipeline, so.uri,
               c->trigger_interval_ms, c->trigger_max_records,
               c->on_error ? "dead_letter" : "fail",
               c->on_table_error ? "stop_daemon" : "stop_table");
    if (rc == 0) rc = dc_source_open(&st->src, &so, err);
out:
    dc_buf_dispose(&b);
    return rc;
}

/* ingest.threads: decoders on that many threads (0: one per core); one
 * thread decodes inline as before, with no pool at all. */
static int open_threads(ing_state *st, dc_err *err)
{
    const unsigned n = threads_of(st);
    if (n <= 1) return 0;
    if (st->file_source) { /* a reader thread reads and decodes ahead (ingest_ahead.c) */
        /* the file's one route exists once the source asked where to resume */
        const dc_cdc_keyspec *keys = st->n_routes ? ing_decode_keys(st, st->routes[0].topic)
                                                  : NULL;
        DC_TRY(ing_ahead_new(&st->ahead, st->src, n, POLL_MAX, st->metrics != NULL, keys, err));
        DC_TRY(ing_commit_new(&st->commit, err));
        DC_LOG(DC_LOG_INFO, "ingest", "decoding on %u threads: reading the file and decoding "
               "on %u beside the loop's; raw tables merged and committed on a thread of "
               "their own", n, n - 1);
        return 0;
    }
    DC_TRY(ing_par_new(&st->par, n, POLL_MAX, err));
    DC_LOG(DC_LOG_INFO, "ingest", "decoding on %u threads", n);
    return 0;
}

/* The CPU of the loop's thread and of the others (INFO), when there are. */
static void log_cpu(ing_state *st)
{
    if (st->par) ing_par_log_cpu(st->par);
    if (!st->ahead || dc_log_threshold < DC_LOG_INFO) return;
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    const double loop_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    const unsigned n = ing_ahead_threads(st->ahead);
    double commit_s, wait_s, wait_cpu, rwait_s, rwait_cpu;
    ing_commit_cpu(st->commit, &commit_s, &wait_s, &wait_cpu);
    ing_ahead_waits(st->ahead, &rwait_s, &rwait_cpu);
    /* The critical path: the loop's CPU, and the other threads' CPU while
     * the loop waited for them (the last batch's commit, at least). */
    DC_LOG(DC_LOG_INFO, "ingest", "cpu: loop thread %.3f s, %u reader thread%s %.3f s (%.3f s "
           "while the loop waited %.3f s), committer thread %.3f s (%.3f s while the loop "
           "waited %.3f s); critical path %.3f s", loop_s, n, n == 1 ? "" : "s",
           ing_ahead_reader_cpu(st->ahead), rwait_cpu, rwait_s, commit_s, wait_cpu, wait_s,
           loop_s + wait_cpu + rwait_cpu);
}

static void state_dispose(ing_state *st)
{
    ing_commit_free(st->commit); /* settled by dc_ingest_run */
    ing_par_free(st->par);
    ing_ahead_free(st->ahead); /* its reader polls the source */
    dc_source_free(st->src);
    for (size_t i = 0; i < st->n_slots; i++) ing_slot_free(st->slots[i]);
    dc_free(st->slots);
    for (size_t i = 0; i < st->n_routes; i++) dc_free(st->routes[i].topic);
    dc_free(st->routes);
    ing_dlq_free(st->dlq);
    for (size_t i = 0; i < st->n_patterns; i++) dc_free(st->patterns[i]);
    dc_free(st->patterns);
    dc_buf_dispose(&st->scratch);
    dc_cdc_schema_cache_dispose(&st->schema_cache);
    dc_buf_dispose(&st->tmp);
}

/* The batch the committer thread holds when the loop ends is committed
 * whatever ended it (on one thread it was committed before the loop read
 * on); its failure came first in the stream, so it is the run's error. */
static int settle_last(ing_state *st, int rc, dc_err *err)
{
    dc_err e;
    dc_err_clear(&e);
    const int crc = ing_commit_settle(st, &e);
    if (crc == 0) return rc;
    if (rc < 0) DC_LOG(DC_LOG_INFO, "ingest", "after the commit failed: %s", err->msg);
    *err = e;
    return crc;
}

int dc_ingest_run(dc_ingest_stats *out, const dc_ingest_opts *o, dc_err *err)
{
    ing_state st;
    memset(&st, 0, sizeof st);
    st.o = o;
    st.cfg = o->cfg;
    st.metrics = o->metrics;
    st.default_table = (dc_config_table){.match = "*", .path = "{warehouse}/{db}.db/{table}"};
    dc_buf_init(&st.scratch, DC_JSONL_MAX_LINE);
    dc_cdc_schema_cache_init(&st.schema_cache);
    dc_buf_init(&st.tmp, 1024 * 1024);
    dc_source_record *recs = dc_calloc(POLL_MAX, sizeof *recs);
    int rc = recs ? 0 : dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc == 0) rc = open_source(&st, err);
    if (rc == 0) rc = open_threads(&st, err);
    if (rc == 0) rc = ing_bg_start(&st, err);
    if (rc == 0) rc = loop(&st, recs, err);
    if (st.commit) rc = settle_last(&st, rc, err);
    if (rc == 0 && o->once) ing_bg_drain(&st);
    ing_bg_stop(&st);
    if (rc == 0) ing_persist_all(&st); /* a clean stop: the next start loads the index */
    if (out) *out = st.stats;
    if (rc == 0) log_cpu(&st);
    if (rc == 0)
        DC_LOG(DC_LOG_INFO, "ingest", "done: %" PRIu64 " records, %" PRIu64 " batches, %" PRIu64
               " commits, %" PRIu64 " inserted, %" PRIu64 " updated, %" PRIu64 " deleted, %"
               PRIu64 " truncated, %" PRIu64 " dead letters, %" PRIu64 " optimizes, %" PRIu64
               " checkpoints, %" PRIu64 " vacuums", st.stats.records, st.stats.batches,
               st.stats.commits, st.stats.inserted, st.stats.updated, st.stats.deleted,
               st.stats.truncated, st.stats.dead_letters,
               st.stats.optimizes, st.stats.checkpoints, st.stats.vacuums);
    if (rc == 0) rc = ing_stopped_error(&st, err);
    if (rc < 0) ing_metrics_fail(&st, err);
    state_dispose(&st);
    dc_free(recs);
    return rc;
}
