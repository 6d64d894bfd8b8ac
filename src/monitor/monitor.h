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
 * interval, with one Kafka handle kept across checks, records its verdicts in the metrics registry, logs the late
 * partitions and POSTs them to a webhook (libcurl, timeout, retries with
 * backoff).
 *
 * Completeness (the seed's second job, dc_monitor_complete): the source
 * read in ONE consistent snapshot whose binlog position P is recorded,
 * against the typed table: the row count (`count`; the table's from its
 * log, each file's numRecords less its deletion vector, unless a file has
 * no stats or the table keeps soft-deleted rows), the greatest key
 * (`max_id`, from the files' stats when they tell), or per range of `chunk`
 * key values a row count and an order-independent checksum (BIT_XOR of a
 * 64-bit hash of each row's canonical text, mysql_canon.c and
 * monitor_canon.c) that the source's SQL and deltacdc compute alike
 * (`ranges`); a mismatch names the ranges, and on request the keys (missing
 * in the table, extra in it, different values). A key whose first column is
 * not an integer (strings, dates, decimals, binary, composite keys led by
 * one) is not cut in key order, which for strings is the collation's: its
 * rows go to ceil(rows / chunk) buckets by the hash of the key's canonical
 * text, a form both sides compute without comparing values.
 * The table is at P when the source positions its commits record (the
 * per-partition watermarks "<appId>#pos.hi/lo" and the bootstrap's history
 * floor) reach P. A full match verifies the table through P whatever its
 * watermark (its rows are the source's at P); a difference while the table
 * has not reached P is PENDING, not a mismatch, and so is a range whose
 * table rows carry a __source_pos after P (changed since the snapshot).
 *
 * Depends on delta/, storage/, source/ (the Kafka probe), mysql/ (the
 * source), cdc/ (source positions), metrics/, json/ and common/.
 */
#ifndef DC_MONITOR_H
#define DC_MONITOR_H

#include "../common/dc_common.h"
#include "../json/dc_json.h"
#include "../metrics/metrics.h"
#include "../mysql/mysql.h"

struct dc_kafka_probe;

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
    struct dc_kafka_probe *probe; /* a Kafka handle to use (borrowed; the daemon keeps one
                                     across checks), NULL: one made for this check */
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


/* ------------------------------------------------------ completeness */

typedef enum dc_complete_mode {
    DC_COMPLETE_COUNT = 0,      /* row counts */
    DC_COMPLETE_MAX_ID,         /* greatest key (first key column, an integer) */
    DC_COMPLETE_RANGES,         /* per key range (or hash bucket): rows and checksum */
} dc_complete_mode;

/* "count", "max_id", "ranges". */
int dc_complete_mode_parse(dc_complete_mode *out, const char *s, dc_err *err);
const char *dc_complete_mode_name(dc_complete_mode m);

typedef struct dc_complete_opts {
    const char *name;           /* the monitor's name (for output and alerts) */
    const char *table;          /* the typed table's path or URI */
    dc_mysql_opts db;           /* the source (password borrowed, never printed) */
    const char *source_table;   /* "T" (the URL's database) or "DB.T" */
    dc_complete_mode mode;
    int64_t chunk;              /* ranges: key values per range (> 0); rows per hash
                                   bucket, about, for a key whose first column is not an
                                   integer */
    bool keys;                  /* ranges: list the differing keys of mismatched ranges */
    uint32_t max_keys;          /* at most this many keys listed (0: DC_MONITOR_MAX_KEYS) */
    const char *meta_prefix;    /* the typed layout's metadata prefix (NULL: "__") */
    int64_t wait_ms;            /* wait up to this long for the table to reach P */
} dc_complete_opts;

typedef enum dc_complete_state {
    DC_COMPLETE_OK = 0,         /* equal: verified through P */
    DC_COMPLETE_MISMATCH,       /* differs where the table is past P */
    DC_COMPLETE_PENDING,        /* differs, but the table has not reached P (or the
                                   differing ranges changed after P): check again later */
} dc_complete_state;

/* A range of key values [lo, hi] that differs (hash buckets: lo = hi = the
 * bucket). */
typedef struct dc_complete_range {
    int64_t lo, hi;
    uint64_t src_rows, tab_rows;
    uint64_t src_sum, tab_sum;  /* BIT_XOR of the rows' hashes */
    bool after;                 /* the table has a row changed after P in it: not judged */
} dc_complete_range;

typedef enum dc_complete_diff {
    DC_DIFF_MISSING = 0,        /* in the source, not in the table */
    DC_DIFF_EXTRA,              /* in the table, not in the source */
    DC_DIFF_VALUES,             /* in both, different values */
} dc_complete_diff;

typedef struct dc_complete_key {
    char *key;                  /* the key's canonical values joined by ',' (owned) */
    dc_complete_diff diff;
    bool after;                 /* the table's row changed after P */
} dc_complete_key;

typedef struct dc_complete_result {
    dc_complete_state state;
    dc_mysql_binlog_pos pos;    /* P: the snapshot's binlog position */
    char reached[320];          /* the table's source position ("" when it has none) */
    bool behind;                /* the table has not reached P */
    int64_t table_version;      /* the table snapshot compared */
    uint64_t src_rows, tab_rows; /* rows on each side */
    bool src_has_max, tab_has_max; /* max_id: the table or source has a row */
    int64_t src_max, tab_max;   /* max_id: the greatest first key */
    uint64_t after_rows;        /* table rows whose __source_pos is after P (count mode:
                                   counted only when the row counts differ on a table
                                   past P, the one case they decide; else 0) */
    uint64_t n_compared;        /* ranges compared (ranges mode) */
    bool hashed;                /* ranges are hash buckets of the key's canonical text (its
                                   first column is not an integer) */
    int64_t buckets;            /* hashed: their number, ceil(source rows / chunk) */
    dc_complete_range *ranges;  /* the differing ones, ascending (owned) */
    size_t n_ranges;
    dc_complete_key *keys;      /* with keys: differing keys by range (or bucket), then
                                   canonical text (owned) */
    size_t n_keys;
    bool keys_truncated;        /* more than max_keys differ */
    double checked_at;          /* unix seconds */
    double seconds;             /* the check's duration */
} dc_complete_result;

/* Checks once. A source or table that can not be read is an error (not a
 * red result). */
int dc_monitor_complete(dc_complete_result *out, const dc_complete_opts *o, dc_err *err);
void dc_complete_result_dispose(dc_complete_result *r);
/* A table: the ranges that differ, the keys, a verdict line. */
int dc_monitor_complete_text(dc_buf *out, const dc_complete_opts *o, const dc_complete_result *r,
                             dc_err *err);
/* {"monitor":"completeness","name":..,"state":"ok|mismatch|pending",...} */
int dc_monitor_complete_json(dc_buf *out, const dc_complete_opts *o, const dc_complete_result *r,
                             dc_err *err);

/* The canonical text of one table value for source column c (the form of
 * src/mysql/mysql_canon.c); *is_null for null. */
int dc_monitor_canon_value(dc_buf *out, bool *is_null, const dc_mysql_column *c,
                           const dc_json *v, dc_err *err);
/* A row's canonical text ("<bytes>:<text>" or "N" per source column) from a
 * scan row object; val is scratch. */
int dc_monitor_canon_row(dc_buf *out, dc_buf *val, const dc_mysql_table *t, const dc_json *row,
                         dc_err *err);
/* The canonical text of the row's primary key (the same over the key
 * columns, in key order: mysql_canon.c's dc_mysql_canon_key). */
int dc_monitor_canon_key(dc_buf *out, dc_buf *val, const dc_mysql_table *t, const dc_json *row,
                         dc_err *err);
/* A double as MariaDB's CAST(d AS CHAR) prints it. */
int dc_monitor_canon_double(dc_buf *out, double d, dc_err *err);
/* First 8 bytes of the MD5 of p[0..n), big-endian: MariaDB's
 * CAST(CONV(LEFT(MD5(text), 16), 16, 10) AS UNSIGNED). */
uint64_t dc_monitor_canon_hash(const void *p, size_t n);

/* ------------------------------------------------ in the daemon */

typedef struct dc_monitor_sched_opts {
    const char *bootstrap;      /* the pipeline's Kafka (NULL: no freshness monitor) */
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
    const dc_complete_opts *complete; /* completeness monitors (borrowed), n_complete */
    size_t n_complete;
} dc_monitor_sched_opts;

typedef struct dc_monitor_sched dc_monitor_sched;

/* Starts the monitor's thread over the tables of m (and the topics that
 * fed them, as the registry learns them) for freshness, and over
 * o->complete for completeness. Every monitor (a table's topic, a
 * completeness entry) alerts when red and POSTs a recovery ("event":
 * "recovery") when it turns green again. The strings of o and m must
 * outlive it. */
int dc_monitor_sched_start(dc_monitor_sched **out, const dc_monitor_sched_opts *o, dc_metrics *m,
                           dc_err *err);
/* Stops the thread (a round in progress finishes first). NULL is a no-op. */
void dc_monitor_sched_free(dc_monitor_sched *s);

#endif /* DC_MONITOR_H */
