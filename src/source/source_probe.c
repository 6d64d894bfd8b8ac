/* source: a Kafka probe for the freshness monitor (issue 11) — a topic's
 * partitions, their watermarks, and the timestamp of the record at an
 * offset, through a librdkafka consumer that never joins a group or commits
 * (partitions are assigned by hand), so it can run next to the daemon. */
#include "source.h"

#include <librdkafka/rdkafka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

struct dc_kafka_probe {
    rd_kafka_t *rk;   /* the consumer (owned) */
};

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, dc_err *err)
{
    char es[512];
    if (rd_kafka_conf_set(conf, key, val, es, sizeof es) != RD_KAFKA_CONF_OK)
        return dc_err_set(err, DC_EINVAL, "kafka property %s=%s: %s", key,
                          dc_is_secret_key(key) ? "*****" : val,
                          dc_is_secret_key(key) ? "rejected" : es);
    return 0;
}

int dc_kafka_probe_new(dc_kafka_probe **out, const char *bootstrap, uint32_t n_props,
                       const char *const *keys, const char *const *values, dc_err *err)
{
    *out = NULL;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    dc_kafka_probe *p = dc_calloc(1, sizeof *p);
    int rc = p ? 0 : dc_err_set(err, DC_ENOMEM, "kafka probe: out of memory");
    if (rc == 0) rc = conf_set(conf, "bootstrap.servers", bootstrap, err);
    if (rc == 0) rc = conf_set(conf, "client.id", "deltacdc-check", err);
    if (rc == 0) rc = conf_set(conf, "group.id", "deltacdc-check", err); /* never joined */
    if (rc == 0) rc = conf_set(conf, "enable.auto.commit", "false", err);
    if (rc == 0) rc = conf_set(conf, "log_level", "3", err);
    /* dc_kafka_probe_read stops at the end of a partition without waiting */
    if (rc == 0) rc = conf_set(conf, "enable.partition.eof", "true", err);
    /* a timestamp probe needs one record: fetch little, prefetch nothing */
    if (rc == 0) rc = conf_set(conf, "fetch.message.max.bytes", "65536", err);
    if (rc == 0) rc = conf_set(conf, "queued.min.messages", "1", err);
    for (uint32_t i = 0; rc == 0 && i < n_props; i++) rc = conf_set(conf, keys[i], values[i], err);
    char es[512];
    if (rc == 0 && !(p->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, es, sizeof es)))
        rc = dc_err_set(err, DC_EINVAL, "kafka probe: %s", es);
    if (rc == 0) conf = NULL; /* the handle owns it */
    if (conf) rd_kafka_conf_destroy(conf);
    if (rc < 0) {
        dc_kafka_probe_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void dc_kafka_probe_free(dc_kafka_probe *p)
{
    if (!p) return;
    if (p->rk) {
        rd_kafka_consumer_close(p->rk);
        rd_kafka_destroy(p->rk);
    }
    dc_free(p);
}

static int cmp_i32(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int dc_kafka_probe_partitions(int32_t **parts_out, size_t *n_out, dc_kafka_probe *p,
                              const char *topic, int timeout_ms, dc_err *err)
{
    *parts_out = NULL;
    *n_out = 0;
    rd_kafka_topic_t *t = rd_kafka_topic_new(p->rk, topic, NULL);
    if (!t) return dc_err_set(err, DC_ENOMEM, "kafka: topic handle %s", topic);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, t, &md, timeout_ms);
    int rc = 0;
    if (e) {
        rc = dc_err_set_retriable(err, DC_EIO, "kafka: metadata of topic %s: %s", topic,
                                  rd_kafka_err2str(e));
    } else if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
        rc = dc_err_set(err, DC_ENOTFOUND, "kafka: topic %s: %s", topic,
                        md->topic_cnt == 1 && md->topics[0].err
                            ? rd_kafka_err2str(md->topics[0].err) : "no partitions");
    } else {
        const int n = md->topics[0].partition_cnt;
        int32_t *parts = dc_calloc((size_t)n, sizeof *parts);
        if (!parts) {
            rc = dc_err_set(err, DC_ENOMEM, "kafka: out of memory");
        } else {
            for (int i = 0; i < n; i++) parts[i] = md->topics[0].partitions[i].id;
            qsort(parts, (size_t)n, sizeof *parts, cmp_i32);
            *parts_out = parts;
            *n_out = (size_t)n;
        }
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return rc;
}

int dc_kafka_probe_topics(char ***names_out, size_t *n_out, dc_kafka_probe *p, int timeout_ms,
                          dc_err *err)
{
    *names_out = NULL;
    *n_out = 0;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 1, NULL, &md, timeout_ms);
    if (e)
        return dc_err_set_retriable(err, DC_EIO, "kafka: listing topics: %s", rd_kafka_err2str(e));
    char **names = dc_calloc(md->topic_cnt ? (size_t)md->topic_cnt : 1, sizeof *names);
    size_t n = 0;
    int rc = names ? 0 : dc_err_set(err, DC_ENOMEM, "kafka: out of memory");
    for (int i = 0; rc == 0 && i < md->topic_cnt; i++) {
        if (strncmp(md->topics[i].topic, "__", 2) == 0) continue;
        if (!(names[n] = dc_strdup(md->topics[i].topic)))
            rc = dc_err_set(err, DC_ENOMEM, "kafka: out of memory");
        else
            n++;
    }
    rd_kafka_metadata_destroy(md);
    if (rc < 0) {
        dc_kafka_probe_topics_free(names, n);
        return rc;
    }
    *names_out = names;
    *n_out = n;
    return 0;
}

void dc_kafka_probe_topics_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++) dc_free(names[i]);
    dc_free(names);
}

int dc_kafka_probe_watermarks(int64_t *low, int64_t *high, dc_kafka_probe *p, const char *topic,
                              int32_t partition, int timeout_ms, dc_err *err)
{
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(p->rk, topic, partition, low, high,
                                                             timeout_ms);
    if (e)
        return dc_err_set_retriable(err, DC_EIO, "kafka: watermarks of %s [%d]: %s", topic,
                                    (int)partition, rd_kafka_err2str(e));
    return 0;
}

/* The first message of (topic, partition) at or after offset the consumer
 * returns, or NULL at the deadline. */
static rd_kafka_message_t *first_message(dc_kafka_probe *p, const char *topic, int32_t partition,
                                         int64_t offset, int timeout_ms, dc_err *err)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p->rk, 100);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || m->err == 0) {
            /* the handle is kept across checks: a record fetched for an
             * earlier assignment (before `offset`) is not this one */
            if (m->err == 0 && m->partition == partition && m->offset >= offset &&
                strcmp(rd_kafka_topic_name(m->rkt), topic) == 0)
                return m;
        } else {
            dc_err_set_retriable(err, DC_EIO, "kafka: reading %s [%d]: %s", topic, (int)partition,
                                 rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return NULL;
        }
        rd_kafka_message_destroy(m);
    }
    dc_err_set_retriable(err, DC_EIO, "kafka: no record of %s [%d] within %d ms", topic,
                         (int)partition, timeout_ms);
    return NULL;
}

int dc_kafka_probe_timestamp(int64_t *ts_ms_out, int64_t *offset_out, dc_kafka_probe *p,
                             const char *topic, int32_t partition, int64_t offset, int timeout_ms,
                             dc_err *err)
{
    *ts_ms_out = -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    rd_kafka_resp_err_t e = rd_kafka_assign(p->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return dc_err_set(err, DC_EIO, "kafka: assigning %s [%d]: %s", topic, (int)partition,
                          rd_kafka_err2str(e));
    rd_kafka_message_t *m = first_message(p, topic, partition, offset, timeout_ms, err);
    rd_kafka_assign(p->rk, NULL);
    if (!m) return err->code;
    rd_kafka_timestamp_type_t type;
    *ts_ms_out = rd_kafka_message_timestamp(m, &type);
    *offset_out = m->offset;
    rd_kafka_message_destroy(m);
    return 0;
}

int dc_kafka_probe_read(int64_t *next_out, dc_kafka_probe *p, const char *topic,
                        int32_t partition, int64_t from, int64_t to, dc_kafka_probe_fn fn,
                        void *ctx, int timeout_ms, dc_err *err)
{
    *next_out = from;
    if (from >= to) return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = from;
    rd_kafka_resp_err_t e = rd_kafka_assign(p->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return dc_err_set(err, DC_EIO, "kafka: assigning %s [%d]: %s", topic, (int)partition,
                          rd_kafka_err2str(e));
    int rc = 0;
    int idle_ms = 0; /* waited since the last event */
    while (rc == 0 && *next_out < to) {
        if (idle_ms >= timeout_ms) {
            rc = dc_err_set_retriable(err, DC_EIO, "kafka: %s [%d]: offsets %" PRId64 " to %"
                                      PRId64 " not read within %d ms", topic, (int)partition,
                                      *next_out, to - 1, timeout_ms);
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p->rk, 100);
        if (!m) {
            idle_ms += 100;
            continue;
        }
        idle_ms = 0;
        const bool ours = m->rkt && m->partition == partition &&
                          strcmp(rd_kafka_topic_name(m->rkt), topic) == 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (ours && m->offset >= *next_out) *next_out = to; /* the rest is markers */
        } else if (m->err) {
            rc = dc_err_set_retriable(err, DC_EIO, "kafka: reading %s [%d] at offset %" PRId64
                                      ": %s", topic, (int)partition, *next_out,
                                      rd_kafka_message_errstr(m));
        } else if (ours && m->offset >= *next_out && m->offset < to) {
            rc = fn(ctx, m->offset, m->payload, m->payload ? m->len : 0, err);
            if (rc == 0) *next_out = m->offset + 1;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(p->rk, NULL);
    return rc;
}
