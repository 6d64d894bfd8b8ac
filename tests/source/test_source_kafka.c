/* Kafka source against librdkafka's mock cluster (a producer created with
 * test.mock.num.brokers=1 hosts it; the source connects to its bootstrap
 * servers like to any broker): subscription, patterns, resume offsets from
 * the table callback, eof at the high watermark, offsets out of range both
 * ways, a broker going down, group offset commits, cooperative rebalancing,
 * and secrets kept out of the logs. */
#include "../test.h"
#include "../../src/source/source_int.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* A mock cluster and a producer on it. */
typedef struct mock {
    rd_kafka_t *prod;            /* producer hosting the mock cluster */
    rd_kafka_mock_cluster_t *mc; /* the cluster (owned by prod) */
    char uri_hosts[256];         /* its bootstrap servers */
} mock;

static int quiet_level;

static bool mock_start(mock *m)
{
    char es[256];
    memset(m, 0, sizeof *m);
    quiet_level = dc_log_threshold;
    dc_log_set_level(getenv("DC_TEST_DEBUG") ? DC_LOG_DEBUG : DC_LOG_ERROR); /* librdkafka's chatter about the mock */
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "test.mock.num.brokers", "1", es, sizeof es) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "log_level", "0", es, sizeof es) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "linger.ms", "0", es, sizeof es) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(c);
        return false;
    }
    m->prod = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof es);
    if (!m->prod) return false;
    m->mc = rd_kafka_handle_mock_cluster(m->prod);
    if (!m->mc) return false;
    snprintf(m->uri_hosts, sizeof m->uri_hosts, "%s", rd_kafka_mock_cluster_bootstraps(m->mc));
    return true;
}

static void mock_stop(mock *m)
{
    if (m->prod) rd_kafka_destroy(m->prod);
    dc_log_set_level((dc_log_level)quiet_level);
}

/* Produces n records "v<i>" (key "k<i>") to topic/partition, then a tombstone if asked. */
static bool produce(mock *m, const char *topic, int32_t part, int first, int n, bool tomb)
{
    for (int i = first; i < first + n + (tomb ? 1 : 0); i++) {
        char k[32], v[32];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "v%d", i);
        bool is_tomb = tomb && i == first + n;
        rd_kafka_resp_err_t e = rd_kafka_producev(
            m->prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
            RD_KAFKA_V_KEY(k, strlen(k)),
            RD_KAFKA_V_VALUE(is_tomb ? NULL : v, is_tomb ? 0 : strlen(v)),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e) return false;
    }
    return rd_kafka_flush(m->prod, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

typedef struct got_rec {
    char topic[64];
    int32_t partition;
    int64_t offset;
    char key[16];
    char value[16];  /* "" with tomb for a tombstone */
    bool tomb;
    int64_t ts;
} got_rec;

/* Polls until eof, an error or the deadline; returns the count, or the error code. */
static int drain(dc_source *s, got_rec *recs, int max, size_t batch, int deadline_s,
                 dc_err *err)
{
    dc_source_record out[16];
    int n = 0;
    time_t end = time(NULL) + deadline_s;
    while (time(NULL) < end) {
        size_t got = 0;
        bool eof = false;
        int rc = s->ops->poll(s, out, batch, &got, &eof, 200, err);
        if (rc != 0) return rc;
        for (size_t i = 0; i < got && n < max; i++, n++) {
            got_rec *r = &recs[n];
            snprintf(r->topic, sizeof r->topic, "%s", out[i].topic);
            r->partition = out[i].partition;
            r->offset = out[i].offset;
            snprintf(r->key, sizeof r->key, "%.*s", (int)out[i].key_len,
                     out[i].key ? out[i].key : "");
            snprintf(r->value, sizeof r->value, "%.*s", (int)out[i].value_len,
                     out[i].value ? out[i].value : "");
            r->tomb = out[i].value == NULL;
            r->ts = out[i].timestamp_ms;
        }
        if (eof) return n;
    }
    dc_err_set(err, DC_EIO, "test: no eof within %d s (%d records)", deadline_s, n);
    return DC_EIO;
}

/* Table positions for the resume callback: next offset per partition of one topic. */
typedef struct table_pos {
    int64_t next[4];  /* per partition; -1: not in the table */
    int asked;        /* calls */
} table_pos;

static int table_resume(void *ctx, const char *topic, int32_t part, int64_t *off, dc_err *err)
{
    (void)topic, (void)err;
    table_pos *t = ctx;
    t->asked++;
    *off = part >= 0 && part < 4 ? t->next[part] : -1;
    return 0;
}

static int open_src(dc_source **s, const mock *m, const char *topics, const char *query,
                    table_pos *tp, uint32_t n_props, const char **keys, const char **vals,
                    dc_err *err)
{
    char uri[512];
    snprintf(uri, sizeof uri, "kafka://%s/%s?%s", m->uri_hosts, topics, query);
    dc_source_opts o = {.uri = uri, .resume = tp ? table_resume : NULL, .resume_ctx = tp,
                        .fail_on_data_loss = true, .n_props = n_props, .prop_keys = keys,
                        .prop_values = vals};
    return dc_source_open(s, &o, err);
}

TEST(source_kafka_subscribe_eof)
{
    mock m;
    CHECK(mock_start(&m));
    CHECK(rd_kafka_mock_topic_create(m.mc, "orders", 2, 1) == 0);
    CHECK(produce(&m, "orders", 0, 0, 5, true));
    CHECK(produce(&m, "orders", 1, 100, 3, false));
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    CHECK_OK(open_src(&s, &m, "orders", "group=g1&start=earliest", NULL, 0, NULL, NULL, &err),
             &err);
    got_rec r[32];
    int n = s ? drain(s, r, 32, 2, 30, &err) : -1;
    CHECK_EQ_INT(n, 9);
    int p0 = 0, p1 = 0, tombs = 0;
    for (int i = 0; i < n; i++) {
        CHECK_EQ_STR(r[i].topic, "orders");
        CHECK(r[i].ts > 0);
        if (r[i].partition == 0) {
            CHECK_EQ_INT(r[i].offset, p0); /* in order, none missing */
            if (p0 < 5) {
                char w[16];
                snprintf(w, sizeof w, "v%d", p0);
                CHECK_EQ_STR(r[i].value, w);
            }
            p0++;
        } else {
            CHECK_EQ_INT(r[i].offset, p1);
            p1++;
        }
        tombs += r[i].tomb;
    }
    CHECK_EQ_INT(p0, 6);
    CHECK_EQ_INT(p1, 3);
    CHECK_EQ_INT(tombs, 1);
    CHECK(n == 9 && strcmp(r[n - 1].key, "") != 0);
    dc_source_free(s);
    mock_stop(&m);
}

TEST(source_kafka_resume_from_table)
{
    mock m;
    CHECK(mock_start(&m));
    CHECK(rd_kafka_mock_topic_create(m.mc, "t", 2, 1) == 0);
    CHECK(produce(&m, "t", 0, 0, 6, false));
    CHECK(produce(&m, "t", 1, 0, 4, false));
    dc_err err;
    dc_err_clear(&err);
    /* partition 0 resumes at 4 from the table; partition 1 is new and starts
     * at the end (latest), so only what is produced later is read from it */
    table_pos tp = {.next = {4, -1, -1, -1}};
    dc_source *s = NULL;
    CHECK_OK(open_src(&s, &m, "t", "group=g2&start=latest", &tp, 0, NULL, NULL, &err), &err);
    got_rec r[32];
    int n = s ? drain(s, r, 32, 16, 30, &err) : -1;
    CHECK_EQ_INT(n, 2);
    CHECK(tp.asked >= 2);
    for (int i = 0; i < n; i++) {
        CHECK_EQ_INT(r[i].partition, 0);
        CHECK_EQ_INT(r[i].offset, 4 + i);
    }
    CHECK(produce(&m, "t", 1, 50, 2, false));
    CHECK(produce(&m, "t", 0, 60, 1, false));
    n = s ? drain(s, r, 32, 16, 30, &err) : -1;
    CHECK_EQ_INT(n, 3);
    int seen1 = 0;
    for (int i = 0; i < n; i++) {
        if (r[i].partition == 1) {
            CHECK_EQ_INT(r[i].offset, 4 + seen1);
            seen1++;
        } else {
            CHECK_EQ_INT(r[i].offset, 6);
        }
    }
    CHECK_EQ_INT(seen1, 2);
    dc_source_free(s);
    mock_stop(&m);
}

TEST(source_kafka_eof_waits_for_high_watermark)
{
    mock m;
    CHECK(mock_start(&m));
    CHECK(rd_kafka_mock_topic_create(m.mc, "w", 1, 1) == 0);
    CHECK(produce(&m, "w", 0, 0, 7, false));
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    CHECK_OK(open_src(&s, &m, "w", "group=g3&start=earliest", NULL, 0, NULL, NULL, &err), &err);
    /* one record per poll: eof must come only after the seventh */
    dc_source_record out[1];
    int records = 0, eof_polls = 0;
    time_t end = time(NULL) + 30;
    while (s && time(NULL) < end && eof_polls == 0) {
        size_t got = 0;
        bool eof = false;
        CHECK_OK(s->ops->poll(s, out, 1, &got, &eof, 200, &err), &err);
        records += (int)got;
        if (eof) {
            CHECK_EQ_INT(records, 7);
            eof_polls++;
        }
    }
    CHECK_EQ_INT(eof_polls, 1);
    /* an empty topic reaches eof too (through the partition-EOF event) */
    CHECK(rd_kafka_mock_topic_create(m.mc, "empty", 1, 1) == 0);
    dc_source *s2 = NULL;
    CHECK_OK(open_src(&s2, &m, "empty", "group=g3b&start=earliest", NULL, 0, NULL, NULL, &err),
             &err);
    got_rec r[4];
    CHECK_EQ_INT(s2 ? drain(s2, r, 4, 4, 30, &err) : -1, 0);
    dc_source_free(s2);
    dc_source_free(s);
    mock_stop(&m);
}

TEST(source_kafka_offset_out_of_range_fails)
{
    mock m;
    CHECK(mock_start(&m));
    CHECK(rd_kafka_mock_topic_create(m.mc, "gone", 1, 1) == 0);
    CHECK(produce(&m, "gone", 0, 0, 5, false));
    dc_err err;
    dc_err_clear(&err);
    table_pos tp = {.next = {100, -1, -1, -1}}; /* the table is past what the broker has */
    dc_source *s = NULL;
    CHECK_OK(open_src(&s, &m, "gone", "group=g4&start=earliest", &tp, 0, NULL, NULL, &err), &err);
    got_rec r[8];
    int rc = s ? drain(s, r, 8, 8, 30, &err) : 0;
    CHECK_EQ_INT(rc, DC_ENOTFOUND);
    CHECK(strstr(err.msg, "topic gone partition 0") != NULL);
    CHECK(strstr(err.msg, "offset 100") != NULL);
    CHECK(strstr(err.msg, "fail_on_data_loss") != NULL);
    dc_source_free(s);
    mock_stop(&m);
}

TEST(source_kafka_offset_out_of_range_continues)
{
    mock m;
    CHECK(mock_start(&m));
    CHECK(rd_kafka_mock_topic_create(m.mc, "gone", 1, 1) == 0);
    CHECK(produce(&m, "gone", 0, 0, 5, false));
    dc_err err;
    dc_err_clear(&err);
    table_pos tp = {.next = {100, -1, -1, -1}};
    dc_source *s = NULL;
    CHECK_OK(open_src(&s, &m, "gone", "group=g5&start=latest&fail_on_data_loss=false", &tp, 0,
                      NULL, NULL, &err), &err);
    got_rec r[8];
    /* reset to the earliest offset left, whatever starting_offsets says */
    int n = s ? drain(s, r, 8, 8, 30, &err) : -1;
    CHECK_EQ_INT(n, 5);
    CHECK(n == 5 && r[0].offset == 0 && r[4].offset == 4);
    dc_source_free(s);
    mock_stop(&m);
}

TEST(source_kafka_pattern_subscription)
{
    mock m;
    CHECK(mock_start(&m));
    CHECK(rd_kafka_mock_topic_create(m.mc, "cdc-shop-orders", 1, 1) == 0);
    CHECK(rd_kafka_mock_topic_create(m.mc, "cdc-shop-order-items", 1, 1) == 0);
    CHECK(rd_kafka_mock_topic_create(m.mc, "cdc-shop", 1, 1) == 0);
    CHECK(rd_kafka_mock_topic_create(m.mc, "other", 1, 1) == 0);
    CHECK(produce(&m, "cdc-shop-orders", 0, 0, 2, false));
    CHECK(produce(&m, "cdc-shop-order-items", 0, 0, 3, false));
    CHECK(produce(&m, "cdc-shop", 0, 0, 4, false));
    CHECK(produce(&m, "other", 0, 0, 5, false));
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    CHECK_OK(open_src(&s, &m, "cdc-{db}-{table}", "group=g6&start=earliest", NULL, 0, NULL, NULL,
                      &err), &err);
    got_rec r[32];
    int n = s ? drain(s, r, 32, 16, 30, &err) : -1;
    CHECK_EQ_INT(n, 5);
    for (int i = 0; i < n; i++) {
        dc_source_capture caps[DC_SOURCE_MAX_CAPTURES];
        size_t nc = 0;
        CHECK(dc_source_pattern_match("cdc-{db}-{table}", r[i].topic, caps, &nc));
        CHECK_EQ_INT(nc, 2);
    }
    dc_source_free(s);
    mock_stop(&m);
}

TEST(source_kafka_broker_down_and_back)
{
    mock m;
    CHECK(mock_start(&m));
    CHECK(rd_kafka_mock_topic_create(m.mc, "d", 1, 1) == 0);
    CHECK(produce(&m, "d", 0, 0, 3, false));
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    CHECK_OK(open_src(&s, &m, "d", "group=g7&start=earliest", NULL, 0, NULL, NULL, &err), &err);
    got_rec r[16];
    CHECK_EQ_INT(s ? drain(s, r, 16, 16, 30, &err) : -1, 3);
    /* fetches fail for a while: retried, never an error of poll */
    rd_kafka_mock_push_request_errors(m.mc, 1 /* Fetch */, 3,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    CHECK(rd_kafka_mock_broker_set_down(m.mc, 1) == 0);
    dc_source_record out[4];
    for (int i = 0; s && i < 5; i++) {
        size_t got = 9;
        bool eof = false;
        CHECK_OK(s->ops->poll(s, out, 4, &got, &eof, 200, &err), &err);
        CHECK_EQ_INT(got, 0);
    }
    CHECK(rd_kafka_mock_broker_set_up(m.mc, 1) == 0);
    CHECK(produce(&m, "d", 0, 3, 4, false));
    /* the consumer reconnects by itself: the new records come, none twice */
    int n = 0;
    for (time_t end = time(NULL) + 30; s && n < 4 && time(NULL) < end;) {
        size_t got = 0;
        bool eof = false;
        CHECK_OK(s->ops->poll(s, out, 4, &got, &eof, 200, &err), &err);
        for (size_t i = 0; i < got && n < 16; i++) r[n++].offset = out[i].offset;
    }
    CHECK_EQ_INT(n, 4);
    got_rec tail[4];
    CHECK_EQ_INT(s ? drain(s, tail, 4, 4, 30, &err) : -1, 0); /* and then eof */
    for (int i = 0; i < n; i++) CHECK_EQ_INT(r[i].offset, 3 + i);
    dc_source_free(s);
    mock_stop(&m);
}

/* The group's committed offset for topic/partition, read by another consumer. */
static int64_t group_committed(const mock *m, const char *group, const char *topic, int32_t part)
{
    char es[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", m->uri_hosts, es, sizeof es);
    rd_kafka_conf_set(c, "group.id", group, es, sizeof es);
    rd_kafka_conf_set(c, "log_level", "0", es, sizeof es);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, es, sizeof es);
    if (!rk) return -9;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, part);
    int64_t off = -9;
    if (rd_kafka_committed(rk, l, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) off = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return off;
}

TEST(source_kafka_committed_offsets_and_cooperative)
{
    mock m;
    CHECK(mock_start(&m));
    CHECK(rd_kafka_mock_topic_create(m.mc, "c", 2, 1) == 0);
    CHECK(produce(&m, "c", 0, 0, 4, false));
    CHECK(produce(&m, "c", 1, 0, 2, false));
    dc_err err;
    dc_err_clear(&err);
    const char *keys[] = {"partition.assignment.strategy", "auto.commit.interval.ms"};
    const char *vals[] = {"cooperative-sticky", "100"};
    table_pos tp = {.next = {1, 0, -1, -1}};
    dc_source *s = NULL;
    CHECK_OK(open_src(&s, &m, "c", "group=g8&start=latest", &tp, 2, keys, vals, &err), &err);
    got_rec r[16];
    int n = s ? drain(s, r, 16, 16, 30, &err) : -1;
    CHECK_EQ_INT(n, 5); /* 1..3 of partition 0, 0..1 of partition 1 */
    CHECK_OK(s ? s->ops->committed(s, "c", 0, 3, &err) : -1, &err);
    /* stored; auto-commit sends it within its interval */
    dc_source_record out[4];
    size_t got;
    bool eof;
    for (int i = 0; s && i < 5; i++) CHECK_OK(s->ops->poll(s, out, 4, &got, &eof, 100, &err), &err);
    CHECK_EQ_INT(group_committed(&m, "g8", "c", 0), 4);
    dc_source_free(s);
    mock_stop(&m);
}

TEST(source_kafka_secrets_not_logged)
{
    mock m;
    CHECK(mock_start(&m));
    CHECK(rd_kafka_mock_topic_create(m.mc, "s", 1, 1) == 0);
    /* capture stderr (dc_log's output) in a file while the source opens */
    char path[] = "/tmp/dc_test_log_XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(STDERR_FILENO);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    dc_log_set_level(DC_LOG_DEBUG);
    const char *keys[] = {"sasl.username", "sasl.password", "ssl.key.password"};
    const char *vals[] = {"ingest", "s3cr3t-pw", "k3y-pw"};
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    int rc = open_src(&s, &m, "s", "group=g9", NULL, 3, keys, vals, &err);
    dc_source_free(s);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    dc_log_set_level(DC_LOG_ERROR);
    CHECK_OK(rc, &err);
    uint8_t *log = NULL;
    size_t len = 0;
    CHECK_OK(dc_file_read_all(&log, &len, path, 1 << 24, &err), &err);
    char *text = dc_strndup((const char *)log, len);
    CHECK(text && strstr(text, "sasl.password=*****") != NULL);
    CHECK(text && strstr(text, "ssl.key.password=*****") != NULL);
    CHECK(text && strstr(text, "sasl.username=ingest") != NULL);
    CHECK(text && strstr(text, "s3cr3t-pw") == NULL);
    CHECK(text && strstr(text, "k3y-pw") == NULL);
    dc_free(text);
    dc_free(log);
    close(fd);
    unlink(path);
    mock_stop(&m);
}

/* The table side of two members of one group: positions and the partitions
 * taken away (table_pos first: table_resume reads it). */
typedef struct member_tbl {
    table_pos tp;
    int revoked;         /* revoke calls, lost == false */
    int lost;            /* revoke calls, lost == true */
    int32_t last_part;   /* partition of the last call */
} member_tbl;

static int member_revoke(void *ctx, const char *topic, int32_t part, bool lost, dc_err *err)
{
    (void)topic, (void)err;
    member_tbl *t = ctx;
    if (lost) t->lost++;
    else t->revoked++;
    t->last_part = part;
    return 0;
}

static int open_member(dc_source **s, const mock *m, member_tbl *t, dc_err *err)
{
    char uri[512];
    snprintf(uri, sizeof uri, "kafka://%s/rv?group=g9&start=earliest", m->uri_hosts);
    const char *keys[] = {"session.timeout.ms", "heartbeat.interval.ms"};
    const char *vals[] = {"6000", "200"};
    dc_source_opts o = {.uri = uri, .resume = table_resume, .revoke = member_revoke,
                        .resume_ctx = t, .fail_on_data_loss = true, .n_props = 2,
                        .prop_keys = keys, .prop_values = vals};
    return dc_source_open(s, &o, err);
}

/* One poll; the partitions of the records it returned, as bits. */
static unsigned poll_parts(dc_source *s, dc_err *err)
{
    dc_source_record out[16];
    size_t got = 0;
    bool eof = false;
    if (s->ops->poll(s, out, 16, &got, &eof, 100, err) != 0) return 1u << 31;
    unsigned bits = 0;
    for (size_t i = 0; i < got; i++) bits |= 1u << out[i].partition;
    return bits;
}

/* A second member joins: the default cooperative-sticky strategy moves one
 * of the first member's two partitions to it, the first is told (revoked,
 * not lost) before it gives it up and gets no record of it afterwards, the
 * second is asked where it resumes; leaving the group tells nothing (the
 * caller committed what it meant to before closing). */
TEST(source_kafka_revoke_tells_the_table)
{
    mock m;
    CHECK(mock_start(&m));
    CHECK(rd_kafka_mock_topic_create(m.mc, "rv", 2, 1) == 0);
    CHECK(produce(&m, "rv", 0, 0, 3, false));
    CHECK(produce(&m, "rv", 1, 0, 3, false));
    dc_err err;
    dc_err_clear(&err);
    member_tbl ta = {.tp = {.next = {-1, -1, -1, -1}}, .last_part = -1};
    member_tbl tb = {.tp = {.next = {-1, -1, -1, -1}}, .last_part = -1};
    dc_source *a = NULL, *b = NULL;
    CHECK_OK(open_member(&a, &m, &ta, &err), &err);
    got_rec r[16];
    CHECK_EQ_INT(a ? drain(a, r, 16, 16, 30, &err) : -1, 6); /* a has both partitions */
    CHECK_OK(open_member(&b, &m, &tb, &err), &err);
    for (time_t end = time(NULL) + 40; a && b && time(NULL) < end;) {
        (void)poll_parts(a, &err);
        (void)poll_parts(b, &err);
        if (ta.revoked && tb.tp.asked) break;
    }
    CHECK_EQ_INT(ta.revoked, 1);
    CHECK_EQ_INT(ta.lost, 0);
    CHECK_EQ_INT(tb.tp.asked, 1);
    const int32_t moved = ta.last_part;
    CHECK(moved == 0 || moved == 1);
    CHECK(produce(&m, "rv", 0, 3, 2, false));
    CHECK(produce(&m, "rv", 1, 3, 2, false));
    unsigned got_a = 0, got_b = 0;
    for (time_t end = time(NULL) + 10; a && b && time(NULL) < end && (!got_a || !got_b);) {
        got_a |= poll_parts(a, &err);
        got_b |= poll_parts(b, &err);
    }
    CHECK_EQ_INT((int)got_a, 1 << (1 - moved)); /* only what it kept */
    CHECK_EQ_INT((int)got_b, 1 << moved);
    dc_source_free(b);
    CHECK_EQ_INT(tb.revoked + tb.lost, 0);
    dc_source_free(a);
    CHECK_EQ_INT(ta.revoked, 1);
    mock_stop(&m);
}
