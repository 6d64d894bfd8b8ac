/*
 * source: where Debezium records come from (issue 4). A small vtable with a
 * version field first (STYLE.md), implemented by the file source (JSON lines,
 * line number = offset) and the Kafka source (librdkafka).
 *
 * Positions: a record is identified by (topic, partition, offset). The table
 * is the source of truth: on start and on every partition assignment the
 * caller tells the source where to resume (the offset after the last one
 * committed in the table's txn actions) through `resume_offset`.
 */
#ifndef DC_SOURCE_H
#define DC_SOURCE_H

#include "../common/dc_common.h"

/* One record. Bytes are borrowed from the source until the next poll. */
typedef struct dc_source_record {
    const char *topic;       /* for the file source: "file:<canonical path>" */
    int32_t partition;       /* 0 for the file source */
    int64_t offset;          /* file source: 1-based line number */
    const char *value;       /* NULL for a tombstone (Kafka null value, or a "null" line) */
    size_t value_len;
    const char *key;         /* Kafka record key, NULL if none */
    size_t key_len;
    int64_t timestamp_ms;    /* broker/producer timestamp, -1 if unknown */
    bool has_input_id;       /* file source: input_bytes/input_hash below are set */
    uint64_t input_bytes;    /* bytes of the input through this record's line */
    uint64_t input_hash;     /* a hash of those lines (62 bits): their lengths, heads and
                                tails (source_file.c's line_hash) */
} dc_source_record;

/* The file source's input identity at a position (input_bytes, input_hash of
 * its last record), which the table keeps beside the position: on a resume
 * the lines skipped must be those bytes with that hash, or the input is
 * another one (a different stream on stdin, a rewritten file) and is
 * refused. Folds p[0..n) into a running input hash (start from 0); 62 bits, so that
 * it is a non-negative txn version. */
uint64_t dc_source_input_hash(uint64_t h, const uint8_t *p, size_t n);

typedef struct dc_source dc_source;

/* Asks the table layer where a topic-partition resumes: sets *offset_out to
 * the next offset to read (last committed + 1), or -1 when the table has no
 * position for it (then the source's starting_offsets rule applies). */
typedef int (*dc_source_resume_fn)(void *ctx, const char *topic, int32_t partition,
                                   int64_t *offset_out, dc_err *err);
/* Asks the table layer for the input identity it recorded with that position
 * (file source): *found false when it has none (an older table). */
typedef int (*dc_source_identity_fn)(void *ctx, const char *topic, int32_t partition,
                                     bool *found, uint64_t *bytes, uint64_t *hash, dc_err *err);
/* Tells the table layer that a topic-partition stops being this process's
 * (Kafka: a consumer-group rebalance moves it to another member). With
 * `lost` false it is still ours until the call returns, so the table layer
 * commits what it holds of it now, before the next owner resumes from the
 * table; with `lost` true (our session expired: another member may be
 * writing that table already) it abandons that instead, and the records are
 * read again by whoever resumes from the table. Called from within poll,
 * between two polls' records; records of that partition the poll had not
 * returned yet are dropped by the source. An error stops the run. */
typedef int (*dc_source_revoke_fn)(void *ctx, const char *topic, int32_t partition, bool lost,
                                   dc_err *err);

typedef struct dc_source_ops {
    int version;  /* 1 */
    /* Fills up to `max` records, waiting at most timeout_ms for the first.
     * *n_out 0 with *eof_out true: the input is drained (file) or caught up
     * to the high watermark as of the call (Kafka), for --once. */
    int (*poll)(dc_source *s, dc_source_record *out, size_t max, size_t *n_out, bool *eof_out,
                int timeout_ms, dc_err *err);
    /* Called after a Delta commit that includes records up to these
     * positions: Kafka stores them as the group's offsets, which its
     * auto-commit sends (monitoring only). */
    int (*committed)(dc_source *s, const char *topic, int32_t partition, int64_t offset,
                     dc_err *err);
    void (*free)(dc_source *s);
    /* Optional (NULL: unknown): the next offset the
     * broker will give for a topic-partition, as of the last fetch response
     * (never blocks), or -1 when none came yet. For consumer lag metrics. */
    int64_t (*high_watermark)(dc_source *s, const char *topic, int32_t partition);
    /* Optional (NULL: nothing to pause): stop fetching every partition of
     * the topic, now and on every later assignment, for the rest of the run
     * (a table of the caller stopped on an error). Records already fetched
     * may still come: the caller skips them. A paused partition does not
     * hold back eof. */
    int (*pause_topic)(dc_source *s, const char *topic, dc_err *err);
    /* Optional (NULL: unknown): assigned partitions not paused, -1 unknown. */
    int64_t (*active_partitions)(dc_source *s);
} dc_source_ops;


struct dc_source {
    const dc_source_ops *ops;
};

/* Source options common to both backends, filled from flags or the pipeline file. */
typedef struct dc_source_opts {
    const char *uri;                 /* file:PATH | file:- | kafka://HOST:PORT[,..]/TOPIC[,TOPIC]?group=G */
    const char *bootstrap_servers;   /* kafka: overrides the URI's hosts when set */
    const char *const *topics;       /* kafka: explicit topics, NULL-terminated, or NULL */
    const char *topic_pattern;       /* kafka: e.g. "cdc-{db}-{table}" → regex subscription */
    const char *group_id;            /* kafka consumer group */
    bool start_earliest;             /* starting_offsets: earliest (true) | latest */
    bool fail_on_data_loss;          /* committed offset gone (out of range) → error (default true) */
    uint32_t n_props;                /* librdkafka properties passed through */
    const char *const *prop_keys;
    const char *const *prop_values;
    dc_source_resume_fn resume;      /* where to resume each topic-partition */
    dc_source_identity_fn identity;  /* file: the input recorded there (NULL: not checked) */
    dc_source_revoke_fn revoke;      /* kafka: a partition leaves us (NULL: not told) */
    void *resume_ctx;                /* for all three */
} dc_source_opts;

int dc_source_open(dc_source **out, const dc_source_opts *o, dc_err *err);
static inline void dc_source_free(dc_source *s) { if (s) s->ops->free(s); }
/* The source's high watermark of a topic-partition, -1 when unknown. */
static inline int64_t dc_source_high_watermark(dc_source *s, const char *topic, int32_t partition)
{
    return s->ops->high_watermark ? s->ops->high_watermark(s, topic, partition) : -1;
}

/* Pauses a topic (a no-op for a source that can not). */
static inline int dc_source_pause_topic(dc_source *s, const char *topic, dc_err *err)
{
    return s->ops->pause_topic ? s->ops->pause_topic(s, topic, err) : 0;
}
/* Partitions still fetched, -1 when the source can not tell. */
static inline int64_t dc_source_active_partitions(dc_source *s)
{
    return s->ops->active_partitions ? s->ops->active_partitions(s) : -1;
}

/* Topic patterns (DESIGN.md: `topics: "cdc-{db}-{table}"`). Literal characters
 * are Kafka's topic alphabet [A-Za-z0-9._-]; each {name} captures one or more
 * characters: up to the next literal character when one follows, else the rest.
 * Two placeholders must be separated by a literal. "cdc-{db}-{table}" becomes
 * the librdkafka regex subscription "^cdc-([^-]+)-(.+)$". */
typedef struct dc_source_capture {
    const char *name;   /* placeholder name inside the pattern, e.g. "db" */
    size_t name_len;
    const char *value;  /* the captured part of the topic */
    size_t value_len;
} dc_source_capture;

#define DC_SOURCE_MAX_CAPTURES 8

/* The regex for a pattern, in a fresh string (dc_free); DC_EINVAL naming the
 * offending position when the pattern is not valid. */
int dc_source_pattern_regex(char **out, const char *pattern, dc_err *err);
/* Matches a topic against a (valid) pattern; on a match fills caps (borrowed
 * from pattern and topic) and *n_caps and returns true. */
bool dc_source_pattern_match(const char *pattern, const char *topic,
                             dc_source_capture caps[DC_SOURCE_MAX_CAPTURES], size_t *n_caps);

/* ------------------------------------------------ Kafka probe (monitors) */

/* A librdkafka consumer that never joins a group nor commits: the
 * freshness monitor's view of a topic (issue 11), next to the daemon's. */
typedef struct dc_kafka_probe dc_kafka_probe;

int dc_kafka_probe_new(dc_kafka_probe **out, const char *bootstrap, uint32_t n_props,
                       const char *const *keys, const char *const *values, dc_err *err);
void dc_kafka_probe_free(dc_kafka_probe *p);
/* The topic's partition ids, ascending (dc_free the array); an unknown
 * topic is DC_ENOTFOUND. */
int dc_kafka_probe_partitions(int32_t **parts_out, size_t *n_out, dc_kafka_probe *p,
                              const char *topic, int timeout_ms, dc_err *err);
/* Every topic of the cluster but the internal ones ("__..."), in the
 * broker's order; free with dc_kafka_probe_topics_free. */
int dc_kafka_probe_topics(char ***names_out, size_t *n_out, dc_kafka_probe *p, int timeout_ms,
                          dc_err *err);
void dc_kafka_probe_topics_free(char **names, size_t n);
/* Low and high watermark asked of the broker (blocks up to timeout_ms). */
int dc_kafka_probe_watermarks(int64_t *low, int64_t *high, dc_kafka_probe *p, const char *topic,
                              int32_t partition, int timeout_ms, dc_err *err);
/* Timestamp (CreateTime or LogAppendTime, ms) of the first record at or
 * after `offset` and that record's offset; -1 when it has none. */
int dc_kafka_probe_timestamp(int64_t *ts_ms_out, int64_t *offset_out, dc_kafka_probe *p,
                             const char *topic, int32_t partition, int64_t offset, int timeout_ms,
                             dc_err *err);

/* One record dc_kafka_probe_read hands over: value NULL for a tombstone;
 * bytes borrowed for the call. */
typedef int (*dc_kafka_probe_fn)(void *ctx, int64_t offset, const char *value, size_t len,
                                 dc_err *err);
/* Reads (topic, partition) from offset `from` up to `to` (exclusive: a high
 * watermark from _watermarks), calling fn for each record in offset order;
 * *next_out is the offset after the last one read (records in [from, to)
 * may be absent: compacted away, or transaction markers). Stops at fn's
 * first error; nothing coming for timeout_ms is a retriable DC_EIO. */
int dc_kafka_probe_read(int64_t *next_out, dc_kafka_probe *p, const char *topic,
                        int32_t partition, int64_t from, int64_t to, dc_kafka_probe_fn fn,
                        void *ctx, int timeout_ms, dc_err *err);

#endif /* DC_SOURCE_H */
