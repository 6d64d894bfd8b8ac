/*
 * monitor: the seed's freshness job built in (issue 11). Per partition of a
 * topic, the broker's latest record (high watermark - 1) against the
 * position the table has committed (its txn action "<pipeline>/<topic>/
 * <partition>", exact because each commit records it with the rows): lag in
 * records, and in seconds (now - the timestamp of the oldest record not yet
 * in the table, its Kafka CreateTime). A partition is red when both
 * tolerances are exceeded: more than max_lag_records records behind AND the
 * oldest of them older than max_lag_seconds (a busy topic is always a few
 * records behind, a stuck table ages).
 *
 * Inside the daemon (dc_monitor_sched_*) it runs on its own thread every
 * interval, records its verdicts in the metrics registry, logs the late
 * partitions and POSTs them to a webhook (libcurl, timeout, retries with
 * backoff).
 *
 * Depends on delta/, storage/, source/ (the Kafka probe), metrics/, json/
 * and common/.
 */
#ifndef DC_MONITOR_H
#define DC_MONITOR_H

#include "../common/dc_common.h"
#include "../metrics/metrics.h"

typedef struct dc_fresh_opts {
    const char *table;          /* the table's path or URI */
    const char *bootstrap;      /* Kafka HOST:PORT[,..] */
    const char *topic;
    const char *pipeline;       /* names the txn appIds ("deltacdc" by default) */
    uint32_t n_props;           /* librdkafka properties (SASL, SSL) */
    const char *const *prop_keys;
    const char *const *prop_values;
    int64_t max_lag_records;    /* tolerance, records */
    double max_lag_seconds;     /* tolerance, seconds */
    int timeout_ms;             /* per broker request */
} dc_fresh_opts;

typedef struct dc_fresh_part {
    int32_t partition;
    int64_t committed;          /* last offset the table holds (-1: none) */
    int64_t low, high;          /* broker watermarks */
    int64_t lag_records;        /* high - max(committed + 1, low), at least 0 */
    double lag_seconds;         /* now - timestamp of the oldest record not in the table */
    bool ok;                    /* within a tolerance */
} dc_fresh_part;

typedef struct dc_fresh_result {
    int64_t table_version;      /* the snapshot read */
    double checked_at;          /* unix seconds */
    dc_fresh_part *parts;       /* owned array, ascending partition */
    size_t n_parts;
    bool ok;                    /* every partition ok */
} dc_fresh_result;

/* Checks once. Broker or table errors are errors (not a red result). */
int dc_monitor_freshness(dc_fresh_result *out, const dc_fresh_opts *o, dc_err *err);
void dc_fresh_result_dispose(dc_fresh_result *r);

/* One line per partition, then a verdict line. */
int dc_monitor_fresh_text(dc_buf *out, const dc_fresh_opts *o, const dc_fresh_result *r,
                          dc_err *err);
/* {"monitor":"freshness","table":..,"topic":..,"ok":..,"partitions":[...]} */
int dc_monitor_fresh_json(dc_buf *out, const dc_fresh_opts *o, const dc_fresh_result *r,
                          dc_err *err);

/* POSTs body (JSON) to url: up to 1 + retries attempts, each bounded by
 * timeout_ms, with a backoff from 0.5 s doubling to 8 s between them; a
 * non-2xx answer counts as a failure. */
int dc_monitor_webhook_post(const char *url, const char *body, size_t n, int timeout_ms,
                            int retries, dc_err *err);

/* ------------------------------------------------ in the daemon */

typedef struct dc_monitor_sched_opts {
    const char *bootstrap;      /* the pipeline's Kafka */
    const char *pipeline;
    uint32_t n_props;           /* librdkafka properties (SASL, SSL) */
    const char *const *prop_keys;
    const char *const *prop_values;
    int64_t interval_ms;        /* between two rounds (the first after one interval) */
    int64_t max_lag_records;
    double max_lag_seconds;
    const char *webhook;        /* URL, NULL or "" for none (may hold a secret: never logged) */
    int webhook_timeout_ms;
    int webhook_retries;
} dc_monitor_sched_opts;

typedef struct dc_monitor_sched dc_monitor_sched;

/* Starts the monitor's thread over the tables of m (and the topics that
 * fed them, as the registry learns them). The strings of o and m must
 * outlive it. */
int dc_monitor_sched_start(dc_monitor_sched **out, const dc_monitor_sched_opts *o, dc_metrics *m,
                           dc_err *err);
/* Stops the thread (a round in progress finishes first). NULL is a no-op. */
void dc_monitor_sched_free(dc_monitor_sched *s);

#endif /* DC_MONITOR_H */
