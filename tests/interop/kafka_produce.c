/*
 * kafka_produce: a test/benchmark tool (not part of deltacdc) that produces
 * records read from stdin to Kafka with librdkafka, at a given rate, and can
 * stamp each value with the time it was handed to the producer.
 *
 *   kafka_produce BOOTSTRAP TOPIC [--create PARTITIONS] [--rate N] [--stamp] [--log FILE]
 *
 * stdin: one record per line, "PARTITION<TAB>KEY<TAB>VALUE"; KEY or VALUE
 * "\N" is null (a tombstone value); PARTITION -1 lets the partitioner choose
 * by key. --create makes the topic first (an existing one is fine). --rate N
 * produces at most N records per second (0: as fast as possible). --stamp
 * replaces every "@TS@" in a value with the current Unix time in ms. --log
 * writes "INDEX MS" per record (0-based input line, send time in Unix ms);
 * that MS is also the record's Kafka timestamp (CreateTime), so a benchmark
 * can take each record's CreateTime from the log instead of consuming it.
 * Idempotent producer, acks=all; exits 0 only when every record was
 * delivered, after printing "produced N" on stdout.
 *
 * Built by the tests (tests/interop/kafka_util.py) with cc ... -lrdkafka.
 */
#define _GNU_SOURCE
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    if (m->err) {
        if (failed++ < 5)
            fprintf(stderr, "kafka_produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "kafka_produce: %s: %s\n", what, why);
    exit(2);
}

static void create_topic(rd_kafka_t *rk, const char *topic, int partitions)
{
    char es[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, es, sizeof es);
    if (!nt) die("NewTopic", es);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    if (!ev) die("CreateTopics", "timed out");
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t **r = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(r[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            die("CreateTopics", rd_kafka_topic_result_error_string(r[i]));
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
}

/* Replaces "@TS@" by the time in ms; returns a malloc'd copy. */
static char *stamp(const char *v, size_t n, size_t *out_n)
{
    char ts[32];
    int tl = snprintf(ts, sizeof ts, "%lld", epoch_ms());
    char *out = malloc(n * 5 + 1), *o = out; /* "@TS@" (4) -> at most 13 digits */
    if (!out) die("stamp", "out of memory");
    for (size_t i = 0; i < n;) {
        if (i + 4 <= n && memcmp(v + i, "@TS@", 4) == 0) {
            memcpy(o, ts, (size_t)tl);
            o += tl;
            i += 4;
        } else {
            *o++ = v[i++];
        }
    }
    *out_n = (size_t)(o - out);
    return out;
}

static void produce(rd_kafka_t *rk, const char *topic, int32_t part, const char *key,
                    size_t kn, const char *val, size_t vn, bool do_stamp, long long ts_ms)
{
    size_t sn = vn;
    char *sv = val && do_stamp ? stamp(val, vn, &sn) : NULL;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part < 0 ? RD_KAFKA_PARTITION_UA : part),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key ? kn : 0),
            RD_KAFKA_V_VALUE(sv ? sv : (char *)val, val ? sn : 0), RD_KAFKA_V_TIMESTAMP(ts_ms),
            RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 10);
            continue;
        }
        if (e) die("produce", rd_kafka_err2str(e));
        break;
    }
    free(sv);
}

int main(int argc, char **argv)
{
    if (argc < 3) die("usage", "kafka_produce BOOTSTRAP TOPIC [--create N] [--rate N] [--stamp]");
    int create = 0;
    double rate = 0;
    bool do_stamp = false;
    FILE *log = NULL;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--create") == 0 && i + 1 < argc) create = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) rate = atof(argv[++i]);
        else if (strcmp(argv[i], "--stamp") == 0) do_stamp = true;
        else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) {
            if (!(log = fopen(argv[++i], "w"))) die("--log", argv[i]);
        }
        else die("usage", argv[i]);
    }
    char es[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *props[][2] = {{"bootstrap.servers", argv[1]}, {"enable.idempotence", "true"},
                              {"acks", "all"}, {"linger.ms", "5"},
                              {"queue.buffering.max.messages", "1000000"},
                              {"message.max.bytes", "10000000"}};
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], es, sizeof es) != RD_KAFKA_CONF_OK)
            die(props[i][0], es);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof es);
    if (!rk) die("rd_kafka_new", es);
    if (create > 0) create_topic(rk, argv[2], create);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long long n = 0;
    const double t0 = now_s();
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n') line[--len] = '\0';
        char *t1 = memchr(line, '\t', (size_t)len);
        char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(line + len - t1 - 1)) : NULL;
        if (!t2) die("input", "expected PARTITION<TAB>KEY<TAB>VALUE");
        *t1 = *t2 = '\0';
        const char *key = strcmp(t1 + 1, "\\N") == 0 ? NULL : t1 + 1;
        const char *val = strcmp(t2 + 1, "\\N") == 0 ? NULL : t2 + 1;
        /* Ahead of the rate by more than 1 ms: wait (serving callbacks). */
        for (double ahead; rate > 0 && (ahead = (double)n / rate - (now_s() - t0)) > 0.001;)
            rd_kafka_poll(rk, (int)(ahead * 1000));
        const long long ms = epoch_ms();
        produce(rk, argv[2], atoi(line), key, key ? strlen(key) : 0, val,
                val ? (size_t)(line + len - (t2 + 1)) : 0, do_stamp, ms);
        if (log) fprintf(log, "%lld %lld\n", n, ms);
        rd_kafka_poll(rk, 0);
        n++;
    }
    free(line);
    if (log) fclose(log);
    if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("flush", "timed out");
    rd_kafka_destroy(rk);
    if (failed) {
        fprintf(stderr, "kafka_produce: %lld of %lld records not delivered\n", failed, n);
        return 1;
    }
    printf("produced %lld\n", n);
    return 0;
}
