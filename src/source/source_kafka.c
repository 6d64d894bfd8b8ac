/*
 * source: Kafka through librdkafka's high-level consumer (DESIGN.md, part 1).
 *
 * The Delta table is the source of truth for positions. On every assignment
 * the rebalance callback asks the caller (opts->resume) where each partition
 * resumes and assigns at exactly that offset; a partition the table has never
 * seen starts at the beginning or the end (starting_offsets), never at the
 * group's committed offset. Consumer-group offsets are for lag monitors
 * only: after each Delta commit its positions are stored, and librdkafka's
 * auto-commit sends the stored ones (auto.commit.interval.ms, 5 s by
 * default, and on a revocation). An explicit commit per Delta commit, as
 * before, breaks failover with librdkafka < 2.10: a commit in flight while a
 * rebalance bumps the group's generation fails with ILLEGAL_GENERATION and
 * the member then treats its whole assignment as lost (librdkafka issue
 * #4059), so every member dropped its batches and tables at each takeover.
 *
 * Offsets gone (retention deleted them, or the topic was recreated): with
 * fail_on_data_loss, auto.offset.reset is "error" and the first fetch of such
 * a partition ends poll() with an error naming topic, partition and offset;
 * without it the consumer resets to the earliest offset still there (losing
 * no more than was deleted, like Spark's failOnDataLoss=false) and says so at
 * warn level.
 *
 * End of input for --once: from the first poll() after an assignment, the
 * high watermark of every assigned partition (as the fetch responses report
 * it) is followed for a short freshness window, then captured (partitions
 * assigned later are captured when first seen); eof is reported — by a poll
 * that returns no record, before consuming more — once each partition's
 * position (from consumed records, or from librdkafka's partition-EOF event,
 * enable.partition.eof, for partitions with nothing to consume) reached it.
 * So --once costs at least the window (about 1 s) and stops even while
 * producers go on. After reporting eof the captured watermarks are dropped:
 * a caller that goes on polling (the daemon ignores eof) simply continues,
 * and gets eof again only once it caught up with newer records.
 *
 * Several processes in one group (scale-out, failover): the assignment
 * strategy defaults to cooperative-sticky, which balances partitions across
 * the members and moves only those that must move, so with one partition per
 * topic (Debezium's default) each table has one writer and keeps it until
 * that member leaves or dies. A partition taken away is announced to the
 * caller (opts->revoke) before it is given up: on a revocation the caller
 * commits its batch in hand, on a lost assignment (our session expired, the
 * partition may be another member's already) it abandons it; records of it
 * fetched but not yet returned by the poll in progress are dropped. The next
 * owner resumes from the table's txn, and Delta's optimistic concurrency
 * (a winner's txn for our appId conflicts) guards against a zombie writer.
 *
 * librdkafka's logs go through dc_log (facility "kafka"); what it reports as
 * errors it retries by itself, so they are logged at warn; the errors that
 * stop us arrive through error_cb and consumer error events.
 */
#include "source_int.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

/* Bounds one poll's batch (records held until the next poll). */
#define KAFKA_MAX_BATCH ((size_t)1 << 24)

typedef struct kafka_src {
    dc_source base;                          /* first: the generic part */
    rd_kafka_t *rk;                          /* the consumer (owned) */
    rd_kafka_message_t **held;               /* messages lent to the caller (owned) */
    size_t n_held;                           /* messages in held */
    size_t held_cap;                         /* slots allocated in held */
    bool start_earliest;                     /* new partitions: beginning (else end) */
    bool fail_on_data_loss;                  /* out-of-range offsets are an error */
    dc_source_resume_fn resume;              /* the table's positions */
    dc_source_revoke_fn revoke;              /* a partition leaves us (NULL: not told) */
    void *resume_ctx;                        /* for both */
    rd_kafka_topic_partition_list_t *revoked; /* partitions revoked during the poll in progress,
                                                whose held records are dropped (owned) */
    bool assigned_once;                      /* a rebalance assigned (maybe nothing) */
    int64_t armed_at_ms;                     /* when eof was first asked, 0: not since last eof */
    int64_t fresh_window_ms;                 /* targets follow fetch responses this long */
    rd_kafka_topic_partition_list_t *hw;     /* frozen eof targets: high watermarks (owned) */
    rd_kafka_topic_partition_list_t *eofpos; /* offsets of partition-EOF events (owned) */
    char **paused;                           /* topics paused for the run (owned strings) */
    size_t n_paused;                         /* entries of paused */
    int pending_rc;                          /* error met in a callback, 0 if none */
    dc_err pending;                          /* its message, returned by the next poll */
} kafka_src;


/* Properties deltacdc sets itself: offsets live in the table, eof needs EOF events. */
static bool prop_is_managed(const char *key)
{
    static const char *const managed[] = {"enable.auto.commit", "enable.auto.offset.store",
                                          "enable.partition.eof", "auto.offset.reset"};
    for (size_t i = 0; i < sizeof managed / sizeof managed[0]; i++)
        if (strcmp(key, managed[i]) == 0) return true;
    return false;
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, dc_err *err)
{
    char es[512];
    bool secret = dc_is_secret_key(key);
    if (rd_kafka_conf_set(conf, key, val, es, sizeof es) != RD_KAFKA_CONF_OK)
        return dc_err_set(err, DC_EINVAL, "kafka property %s=%s: %s", key,
                          secret ? "*****" : val, secret ? "rejected" : es);
    DC_LOG(DC_LOG_DEBUG, "kafka", "property %s=%s", key, secret ? "*****" : val);
    return 0;
}

static void set_pending(kafka_src *k, int rc, const dc_err *e)
{
    if (k->pending_rc != 0) return; /* the first error is the one that matters */
    k->pending_rc = rc;
    k->pending = *e;
}

/* -------------------------------------------------------------- callbacks */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    dc_log_level l = level <= LOG_WARNING ? DC_LOG_WARN
                     : level <= LOG_INFO  ? DC_LOG_INFO
                                          : DC_LOG_DEBUG;
    /* A reset after "offset out of range" is data loss we were told to tolerate. */
    if (strcmp(fac, "OFFSET") == 0 && strstr(buf, "offset reset")) l = DC_LOG_WARN;
    DC_LOG(l, "kafka", "%s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    kafka_src *k = opaque;
    dc_err e;
    dc_err_clear(&e);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        dc_err_set(&e, DC_EIO, "kafka: fatal error: %s: %s", rd_kafka_err2name(orig), buf);
        set_pending(k, e.code, &e);
    } else if (code == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
               code == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED) {
        /* librdkafka would retry forever with the same credentials */
        dc_err_set(&e, DC_EINVAL, "kafka: authentication failed: %s", reason);
        set_pending(k, e.code, &e);
    } else {
        DC_LOG(DC_LOG_WARN, "kafka", "%s: %s (retrying)", rd_kafka_err2name(code), reason);
    }
}

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk, (void)opaque;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    /* Monitoring only: the table holds the positions that matter. */
    DC_LOG(DC_LOG_WARN, "kafka", "committing group offsets (%d partitions) failed: %s",
           offsets ? offsets->cnt : 0, rd_kafka_err2str(err));
}

static void note_offset(rd_kafka_topic_partition_list_t *l, const char *topic, int32_t part,
                        int64_t offset)
{
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(l, topic, part);
    if (!p) p = rd_kafka_topic_partition_list_add(l, topic, part);
    p->offset = offset;
}

static void list_del(rd_kafka_topic_partition_list_t *l, const char *topic, int32_t part)
{
    if (l) rd_kafka_topic_partition_list_del(l, topic, part);
}

static bool is_paused(const kafka_src *k, const char *topic)
{
    for (size_t i = 0; i < k->n_paused; i++)
        if (strcmp(k->paused[i], topic) == 0) return true;
    return false;
}

/* Pauses those of `parts` whose topic is paused (or only `topic` when not
 * NULL); *n_out: how many. */
static rd_kafka_resp_err_t pause_some(int *n_out, kafka_src *k,
                                      const rd_kafka_topic_partition_list_t *parts,
                                      const char *topic)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt + 1);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        if (topic ? strcmp(p->topic, topic) == 0 : is_paused(k, p->topic))
            rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    }
    *n_out = l->cnt;
    rd_kafka_resp_err_t e = l->cnt ? rd_kafka_pause_partitions(k->rk, l) : RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_destroy(l);
    return e;
}

/* Sets each partition's offset to where the table says it resumes. */
static int resume_offsets(kafka_src *k, rd_kafka_topic_partition_list_t *parts, dc_err *err)
{
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int64_t next = -1;
        if (k->resume) DC_TRY(k->resume(k->resume_ctx, p->topic, p->partition, &next, err));
        if (next < -1)
            return dc_err_set(err, DC_EINVAL, "kafka: topic %s partition %d: resume offset "
                              "%lld is not an offset", p->topic, (int)p->partition,
                              (long long)next);
        p->offset = next >= 0          ? next
                    : k->start_earliest ? RD_KAFKA_OFFSET_BEGINNING
                                        : RD_KAFKA_OFFSET_END;
        list_del(k->eofpos, p->topic, p->partition); /* an old EOF says nothing now */
        if (next >= 0)
            DC_LOG(DC_LOG_INFO, "kafka", "assigned %s [%d]: resuming at offset %lld",
                   p->topic, (int)p->partition, (long long)next);
        else
            DC_LOG(DC_LOG_INFO, "kafka", "assigned %s [%d]: not in the table, starting at "
                   "the %s", p->topic, (int)p->partition, k->start_earliest ? "beginning" : "end");
    }
    return 0;
}

/* Tells the caller which partitions leave us (it commits or abandons what it
 * holds of them) and notes them, so the poll in progress drops their records. */
static void tell_revoked(kafka_src *k, const rd_kafka_topic_partition_list_t *parts, bool lost)
{
    dc_err derr;
    dc_err_clear(&derr);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        DC_LOG(lost ? DC_LOG_WARN : DC_LOG_INFO, "kafka", "%s %s [%d]",
               lost ? "lost" : "revoked", p->topic, (int)p->partition);
        note_offset(k->revoked, p->topic, p->partition, RD_KAFKA_OFFSET_INVALID);
        list_del(k->eofpos, p->topic, p->partition);
        int rc = k->revoke ? k->revoke(k->resume_ctx, p->topic, p->partition, lost, &derr) : 0;
        if (rc != 0) {
            dc_err_prefix(&derr, "kafka: giving up %s [%d]", p->topic, (int)p->partition);
            set_pending(k, rc, &derr);
            dc_err_clear(&derr);
        }
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t code,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    kafka_src *k = opaque;
    bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *xe = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    dc_err derr;
    dc_err_clear(&derr);
    if (code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        int rc = resume_offsets(k, parts, &derr);
        if (rc != 0) {
            dc_err_prefix(&derr, "kafka: asking the table where to resume");
            set_pending(k, rc, &derr);
            return; /* assign nothing: the next poll returns the error */
        }
        k->assigned_once = true;
        if (coop) xe = rd_kafka_incremental_assign(rk, parts);
        else e = rd_kafka_assign(rk, parts);
        int n = 0; /* a paused topic stays paused through a rebalance */
        if (!xe && !e && k->n_paused) e = pause_some(&n, k, parts, NULL);
    } else {
        const bool lost = rd_kafka_assignment_lost(rk);
        if (lost)
            DC_LOG(DC_LOG_WARN, "kafka", "assignment of %d partitions lost (session timeout?): "
                   "their batches in hand are abandoned", parts->cnt);
        else
            DC_LOG(DC_LOG_INFO, "kafka", "%d partitions revoked", parts->cnt);
        tell_revoked(k, parts, lost);
        if (coop) xe = rd_kafka_incremental_unassign(rk, parts);
        else e = rd_kafka_assign(rk, NULL);
    }
    if (xe || e) {
        dc_err_set(&derr, DC_EIO, "kafka: %s failed: %s",
                   code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assign" : "unassign",
                   xe ? rd_kafka_error_string(xe) : rd_kafka_err2str(e));
        set_pending(k, DC_EIO, &derr);
        if (xe) rd_kafka_error_destroy(xe);
    }
}

/* ------------------------------------------------------------------ poll */

static void release_held(kafka_src *k)
{
    for (size_t i = 0; i < k->n_held; i++) rd_kafka_message_destroy(k->held[i]);
    k->n_held = 0;
}

/* A consumer event that is not a record. */
static int handle_event(kafka_src *k, const rd_kafka_message_t *m, dc_err *err)
{
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "(none)";
    switch (m->err) {
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
        note_offset(k->eofpos, topic, m->partition, m->offset);
        return 0;
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
        return dc_err_set(err, DC_ENOTFOUND,
                          "kafka: topic %s partition %d: offset %lld is out of range (deleted "
                          "by retention, or the topic was recreated): records would be lost; "
                          "set fail_on_data_loss: false to go on from the earliest offset left "
                          "(%s)", topic, (int)m->partition, (long long)m->offset,
                          rd_kafka_message_errstr(m));
    case RD_KAFKA_RESP_ERR__FATAL: {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(k->rk, buf, sizeof buf);
        return dc_err_set(err, DC_EIO, "kafka: fatal error: %s: %s", rd_kafka_err2name(orig), buf);
    }
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
        return dc_err_set(err, DC_EINVAL, "kafka: topic %s: %s", topic,
                          rd_kafka_message_errstr(m));
    default:
        /* unknown topic (not created yet), broker down...: librdkafka retries */
        DC_LOG(DC_LOG_WARN, "kafka", "topic %s partition %d: %s: %s", topic, (int)m->partition,
               rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
        return 0;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The high watermark the last fetch response reported for a partition, -1
 * before any. Asking never blocks: rd_kafka_query_watermark_offsets() in
 * librdkafka < 2.3 waits past its timeout, forever, while the leader is down
 * (librdkafka issue #2588), which would stall the daemon. */
static int64_t cached_watermark(const kafka_src *k, const char *topic, int32_t part)
{
    int64_t lo = 0, hi = -1;
    if (rd_kafka_get_watermark_offsets(k->rk, topic, part, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    return hi;
}

/* eof: every assigned partition's position reached its target. Targets follow
 * the fetch responses during the freshness window after the first question,
 * then are frozen: fetching is a long poll (fetch.wait.max.ms) that answers
 * at once when records arrive, so within the window the cached watermarks
 * catch up with whatever was produced before the question. */
static bool caught_up(kafka_src *k)
{
    rd_kafka_topic_partition_list_t *asg = NULL;
    if (!k->assigned_once || rd_kafka_assignment(k->rk, &asg) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    int64_t now = now_ms();
    if (k->armed_at_ms == 0) k->armed_at_ms = now;
    bool frozen = now - k->armed_at_ms >= k->fresh_window_ms;
    rd_kafka_position(k->rk, asg); /* last consumed + 1, or INVALID */
    bool done = true;
    for (int i = 0; i < asg->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &asg->elems[i];
        if (is_paused(k, p->topic)) continue; /* it will not move: not waited for */
        const rd_kafka_topic_partition_t *cap =
            rd_kafka_topic_partition_list_find(k->hw, p->topic, p->partition);
        int64_t hi = cap ? cap->offset : cached_watermark(k, p->topic, p->partition);
        if (hi < 0) { /* no fetch response yet */
            done = false;
            continue;
        }
        if (!cap && frozen) {
            note_offset(k->hw, p->topic, p->partition, hi);
            DC_LOG(DC_LOG_DEBUG, "kafka", "eof target %s [%d]: offset %lld", p->topic,
                   (int)p->partition, (long long)hi);
        }
        int64_t pos = p->offset;
        const rd_kafka_topic_partition_t *ev =
            rd_kafka_topic_partition_list_find(k->eofpos, p->topic, p->partition);
        if (ev && ev->offset > pos) pos = ev->offset;
        if (pos < hi) done = false;
    }
    rd_kafka_topic_partition_list_destroy(asg);
    return frozen && done;
}

/* caught_up(); when it is, the next question captures the watermarks anew. */
static bool eof_reached(kafka_src *k)
{
    if (!caught_up(k)) return false;
    rd_kafka_topic_partition_list_destroy(k->hw);
    k->hw = rd_kafka_topic_partition_list_new(8);
    k->armed_at_ms = 0;
    return true;
}

static void fill_record(dc_source_record *r, const rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    *r = (dc_source_record){
        .topic = rd_kafka_topic_name(m->rkt),
        .partition = m->partition,
        .offset = m->offset,
        .value = m->payload,
        .value_len = m->payload ? m->len : 0,
        .key = m->key,
        .key_len = m->key ? m->key_len : 0,
        .timestamp_ms = tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts,
    };
}

static int reserve_held(kafka_src *k, size_t max, dc_err *err)
{
    if (max <= k->held_cap) return 0;
    if (max > KAFKA_MAX_BATCH)
        return dc_err_set(err, DC_ELIMIT, "kafka: batch of %zu records asked, at most %zu",
                          max, KAFKA_MAX_BATCH);
    rd_kafka_message_t **h = dc_realloc(k->held, max * sizeof *h);
    if (!h) return dc_err_set(err, DC_ENOMEM, "kafka: out of memory for a batch of %zu", max);
    k->held = h;
    k->held_cap = max;
    return 0;
}

/* A rebalance inside the poll in progress took partitions away: their records
 * held but not yet returned are dropped (the caller committed or abandoned
 * what it had of them; the next owner reads them from the table's position). */
static void drop_revoked(kafka_src *k, dc_source_record *out)
{
    size_t kept = 0;
    for (size_t i = 0; i < k->n_held; i++) {
        rd_kafka_message_t *m = k->held[i];
        if (rd_kafka_topic_partition_list_find(k->revoked, rd_kafka_topic_name(m->rkt),
                                               m->partition)) {
            rd_kafka_message_destroy(m);
            continue;
        }
        k->held[kept] = m;
        out[kept++] = out[i];
    }
    if (kept != k->n_held)
        DC_LOG(DC_LOG_DEBUG, "kafka", "dropped %zu fetched records of revoked partitions",
               k->n_held - kept);
    k->n_held = kept;
    rd_kafka_topic_partition_list_destroy(k->revoked);
    k->revoked = rd_kafka_topic_partition_list_new(8);
}

static int kafka_poll(dc_source *s, dc_source_record *out, size_t max, size_t *n_out,
                      bool *eof_out, int timeout_ms, dc_err *err)
{
    kafka_src *k = (kafka_src *)s;
    *n_out = 0;
    *eof_out = false;
    release_held(k);
    DC_TRY(reserve_held(k, max, err));
    if (eof_reached(k)) { /* caught up, though producers may go on: stop here */
        *eof_out = true;
        return 0;
    }
    const int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int rc = 0;
    while (k->n_held < max && rc == 0) {
        int64_t left = k->n_held > 0 ? 0 : deadline - now_ms();
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, left > 0 ? (int)left : 0);
        if (k->revoked->cnt > 0) drop_revoked(k, out);
        if (k->pending_rc != 0) {
            rc = k->pending_rc;
            if (err) *err = k->pending;
        } else if (m && m->err) {
            rc = handle_event(k, m, err);
        } else if (m) {
            fill_record(&out[k->n_held], m);
            k->held[k->n_held++] = m;
            m = NULL;
        } else {
            break; /* nothing more within the timeout */
        }
        if (m) rd_kafka_message_destroy(m);
        if (rc == 0 && k->n_held == 0 && now_ms() >= deadline) break;
    }
    if (rc != 0) {
        release_held(k);
        return rc;
    }
    *n_out = k->n_held;
    if (k->n_held == 0) *eof_out = eof_reached(k);
    return 0;
}

static int kafka_committed(dc_source *s, const char *topic, int32_t partition, int64_t offset,
                           dc_err *err)
{
    (void)err;
    kafka_src *k = (kafka_src *)s;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    /* Kafka's committed offset is the next one to read; auto-commit sends it. */
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset + 1;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(k->rk, l);
    if (!e) e = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    /* A partition revoked meanwhile is refused (its new owner reports it). */
    if (e)
        DC_LOG(DC_LOG_DEBUG, "kafka", "storing %s [%d] offset %lld for the group: %s", topic,
               (int)partition, (long long)offset + 1, rd_kafka_err2str(e));
    return 0; /* monitoring only: never fails the pipeline */
}

static void kafka_free(dc_source *s)
{
    kafka_src *k = (kafka_src *)s;
    if (!k) return;
    release_held(k);
    /* Leaving the group revokes everything, and the caller is stopping: it
     * committed what it meant to (or stops on an error, committing nothing). */
    k->revoke = NULL;
    if (k->rk) {
        rd_kafka_consumer_close(k->rk);
        rd_kafka_destroy(k->rk);
    }
    if (k->hw) rd_kafka_topic_partition_list_destroy(k->hw);
    for (size_t i = 0; i < k->n_paused; i++) dc_free(k->paused[i]);
    dc_free(k->paused);
    if (k->eofpos) rd_kafka_topic_partition_list_destroy(k->eofpos);
    if (k->revoked) rd_kafka_topic_partition_list_destroy(k->revoked);
    dc_free(k->held);
    dc_free(k);
}

static int64_t kafka_high_watermark(dc_source *s, const char *topic, int32_t partition)
{
    return cached_watermark((const kafka_src *)s, topic, partition);
}

static int kafka_pause_topic(dc_source *s, const char *topic, dc_err *err)
{
    kafka_src *k = (kafka_src *)s;
    if (is_paused(k, topic)) return 0;
    char **p = dc_realloc(k->paused, (k->n_paused + 1) * sizeof *p);
    if (!p) return dc_err_set(err, DC_ENOMEM, "out of memory");
    k->paused = p;
    if (!(p[k->n_paused] = dc_strdup(topic))) return dc_err_set(err, DC_ENOMEM, "out of memory");
    k->n_paused++;
    rd_kafka_topic_partition_list_t *asg = NULL;
    rd_kafka_resp_err_t e = rd_kafka_assignment(k->rk, &asg);
    int n = 0;
    if (!e) e = pause_some(&n, k, asg, topic);
    if (asg) rd_kafka_topic_partition_list_destroy(asg);
    if (e) return dc_err_set(err, DC_EIO, "kafka: pausing topic %s: %s", topic, rd_kafka_err2str(e));
    DC_LOG(DC_LOG_WARN, "kafka", "topic %s paused (%d assigned partitions) for the rest of the run",
           topic, n);
    return 0;
}

static int64_t kafka_active_partitions(dc_source *s)
{
    kafka_src *k = (kafka_src *)s;
    rd_kafka_topic_partition_list_t *asg = NULL;
    if (rd_kafka_assignment(k->rk, &asg) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    int64_t n = 0;
    for (int i = 0; i < asg->cnt; i++) n += !is_paused(k, asg->elems[i].topic);
    rd_kafka_topic_partition_list_destroy(asg);
    return n;
}

static const dc_source_ops kafka_ops = {
    .version = 1,
    .poll = kafka_poll,
    .committed = kafka_committed,
    .free = kafka_free,
    .high_watermark = kafka_high_watermark,
    .pause_topic = kafka_pause_topic,
    .active_partitions = kafka_active_partitions,
};

/* ------------------------------------------------------------------ open */

static int build_conf(rd_kafka_conf_t *conf, const dc_kafka_cfg *c, dc_err *err)
{
    DC_TRY(conf_set(conf, "client.id", "deltacdc", err));
    DC_TRY(conf_set(conf, "log.connection.close", "false", err));
    if (c->bootstrap && *c->bootstrap) DC_TRY(conf_set(conf, "bootstrap.servers", c->bootstrap, err));
    if (c->group) DC_TRY(conf_set(conf, "group.id", c->group, err));
    DC_TRY(conf_set(conf, "enable.auto.commit", "true", err)); /* what kafka_committed stored */
    DC_TRY(conf_set(conf, "enable.auto.offset.store", "false", err));
    DC_TRY(conf_set(conf, "enable.partition.eof", "true", err));
    DC_TRY(conf_set(conf, "auto.offset.reset", c->fail_on_data_loss ? "error" : "earliest", err));
    /* Members of one group move only the partitions that must move (module
     * comment); a property given below overrides it. */
    DC_TRY(conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", err));
    for (uint32_t i = 0; i < c->n_props; i++) {
        if (prop_is_managed(c->prop_keys[i]))
            return dc_err_set(err, DC_EINVAL, "kafka property %s is managed by deltacdc "
                              "(positions live in the Delta table): use starting_offsets and "
                              "fail_on_data_loss", c->prop_keys[i]);
        DC_TRY(conf_set(conf, c->prop_keys[i], c->prop_values[i], err));
    }
    char v[1024];
    size_t vn = sizeof v;
    if (rd_kafka_conf_get(conf, "group.id", v, &vn) != RD_KAFKA_CONF_OK || vn <= 1)
        return dc_err_set(err, DC_EINVAL, "kafka source: no consumer group (?group=G in the "
                          "URI, or group_id)");
    bool mock = false; /* librdkafka's mock cluster (tests) needs no servers */
    for (uint32_t i = 0; i < c->n_props; i++)
        mock |= strcmp(c->prop_keys[i], "test.mock.num.brokers") == 0;
    vn = sizeof v;
    if (!mock &&
        (rd_kafka_conf_get(conf, "bootstrap.servers", v, &vn) != RD_KAFKA_CONF_OK || vn <= 1))
        return dc_err_set(err, DC_EINVAL, "kafka source: no bootstrap servers (HOST:PORT in the "
                          "URI, or bootstrap_servers)");
    return 0;
}

/* One fetch long-poll and some margin for its answer to come back. */
static int64_t fresh_window(const rd_kafka_conf_t *conf)
{
    char v[32];
    size_t vn = sizeof v;
    long wait = 500; /* librdkafka's default fetch.wait.max.ms */
    if (rd_kafka_conf_get(conf, "fetch.wait.max.ms", v, &vn) == RD_KAFKA_CONF_OK)
        wait = strtol(v, NULL, 10);
    return (int64_t)(wait > 0 ? wait : 0) + 500;
}

static int subscribe(kafka_src *k, const dc_kafka_cfg *c, dc_err *err)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    dc_buf names;
    dc_buf_init(&names, 64 * 1024);
    int rc = 0;
    for (size_t i = 0; c->subs[i]; i++) {
        rd_kafka_topic_partition_list_add(l, c->subs[i], RD_KAFKA_PARTITION_UA);
        if (names.len < 4096) (void)dc_buf_appendf(&names, NULL, "%s%s", i ? "," : "", c->subs[i]);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(k->rk, l);
    if (e) {
        rc = dc_err_set(err, DC_EINVAL, "kafka: subscribing to %.*s: %s", (int)names.len,
                        names.data ? (const char *)names.data : "", rd_kafka_err2str(e));
    } else {
        DC_LOG(DC_LOG_INFO, "kafka", "subscribed to %.*s (starting_offsets %s, "
               "fail_on_data_loss %s)", (int)names.len,
               names.data ? (const char *)names.data : "",
               c->start_earliest ? "earliest" : "latest", c->fail_on_data_loss ? "true" : "false");
    }
    dc_buf_dispose(&names);
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int dc_source_kafka_open(dc_source **out, const dc_kafka_cfg *c, dc_err *err)
{
    *out = NULL;
    char es[512];
    kafka_src *k = dc_calloc(1, sizeof *k);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = 0;
    if (!k) {
        rc = dc_err_set(err, DC_ENOMEM, "kafka: out of memory opening the source");
        goto out;
    }
    k->base.ops = &kafka_ops;
    k->start_earliest = c->start_earliest;
    k->fail_on_data_loss = c->fail_on_data_loss;
    k->resume = c->resume;
    k->revoke = c->revoke;
    k->resume_ctx = c->resume_ctx;
    k->revoked = rd_kafka_topic_partition_list_new(8);
    k->hw = rd_kafka_topic_partition_list_new(8);
    k->eofpos = rd_kafka_topic_partition_list_new(8);
    rc = build_conf(conf, c, err);
    if (rc != 0) goto out;
    k->fresh_window_ms = fresh_window(conf);
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, es, sizeof es);
    if (!k->rk) {
        rc = dc_err_set(err, DC_EINVAL, "kafka: creating the consumer: %s", es);
        goto out;
    }
    conf = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(k->rk);
    rc = subscribe(k, c, err);
out:
    if (conf) rd_kafka_conf_destroy(conf);
    if (rc != 0) {
        kafka_free(k ? &k->base : NULL);
        return rc;
    }
    *out = &k->base;
    return 0;
}
