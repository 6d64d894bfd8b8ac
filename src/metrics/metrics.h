/*
 * metrics: the daemon's registry of what it did and where each table stands
 * (issue 11), read by the HTTP endpoints (/metrics, /status, the status page).
 *
 * Two threads meet here: the ingest loop writes, the HTTP server reads. Each
 * table has its own mutex; the loop takes it a few times per batch (never
 * per record), and a reader takes it only long enough to copy the table into
 * a snapshot (dc_metrics_snapshot), so formatting a scrape never holds up a
 * batch. Tables are added, never removed, while the registry lives.
 *
 * A ring of per-10-second samples (freshness, lag, records in) covers the
 * last hour for the status page's plots; dc_metrics_tick takes them, called
 * from the loop at every turn (it returns at once until a sample is due).
 *
 * Depends on common/ only.
 */
#ifndef DC_METRICS_H
#define DC_METRICS_H

#include "../common/dc_common.h"

/* Histogram upper bounds, seconds: 1 ms to 2 min, roughly x2.5 per step
 * (batch and commit latencies, maintenance runs). +Inf is implicit. */
#define DC_METRICS_N_BUCKETS 15
extern const double dc_metrics_buckets[DC_METRICS_N_BUCKETS];

/* Samples in the history ring: one per DC_METRICS_SAMPLE_S over an hour. */
#define DC_METRICS_SAMPLE_S 10
#define DC_METRICS_HISTORY (3600 / DC_METRICS_SAMPLE_S)

typedef struct dc_metrics_hist {
    uint64_t counts[DC_METRICS_N_BUCKETS + 1]; /* per bucket, not cumulative; last is +Inf */
    uint64_t count;                            /* observations */
    double sum;                                /* their sum, seconds */
} dc_metrics_hist;

/* Adds one observation (seconds; negative values count as 0). */
void dc_metrics_hist_observe(dc_metrics_hist *h, double v);

/* Maintenance kinds, in the order of dc_metrics_maint_names. */
typedef enum dc_metrics_maint {
    DC_METRICS_CHECKPOINT = 0,
    DC_METRICS_OPTIMIZE = 1,
    DC_METRICS_VACUUM = 2,
    DC_METRICS_LOG_CLEANUP = 3,
    DC_METRICS_N_MAINT = 4,
} dc_metrics_maint;
extern const char *const dc_metrics_maint_names[DC_METRICS_N_MAINT];

/* A table's state, for /healthz and the status page. */
typedef enum dc_metrics_state {
    DC_METRICS_STARTING = 0, /* known, nothing committed by this run yet */
    DC_METRICS_RUNNING = 1,  /* committed at least once */
    DC_METRICS_FAILED = 2,   /* stopped on an error (error holds it) */
} dc_metrics_state;
extern const char *const dc_metrics_state_names[3];

/* One topic-partition feeding a table. */
typedef struct dc_metrics_part {
    char *topic;            /* owned */
    int32_t partition;
    uint64_t records_in;    /* records read and committed by this run */
    int64_t committed;      /* last offset committed to the table (-1: none yet) */
    int64_t high_watermark; /* next offset the broker will give (-1: unknown, file source) */
    int mon_ok;             /* freshness monitor's last verdict: 1 ok, 0 late, -1 not run */
    int64_t mon_lag_records;/* its lag in records */
    double mon_lag_seconds; /* its lag in seconds */
} dc_metrics_part;

/* One sample of the history ring. */
typedef struct dc_metrics_sample {
    double t;               /* unix seconds */
    double freshness_s;     /* as dc_metrics_freshness at t */
    int64_t lag;            /* records, summed over partitions (-1: unknown) */
    uint64_t records_in;    /* counter at t (the plots show its rate) */
} dc_metrics_sample;

/* Everything known of one table (the registry's copy and a snapshot's). */
typedef struct dc_metrics_tstate {
    char *path;             /* the table's location (owned) */
    dc_metrics_state state;
    char error[DC_ERR_MSG_MAX]; /* the error that stopped it (FAILED) */
    uint64_t records_in;    /* records committed (incl. skipped ones) */
    uint64_t batches;       /* batches committed */
    uint64_t commits;       /* Delta commits made (a batch of only stale events makes none) */
    uint64_t inserted, updated, deleted; /* rows; deleted counts tombstone rows written */
    uint64_t truncated;     /* rows removed by truncate events */
    uint64_t stale;         /* events older than the table's row: ignored */
    uint64_t dead_letters;  /* records sent to the dead-letter table */
    uint64_t retries;       /* commits redone after a conflict */
    dc_metrics_hist batch_h;  /* first record of a batch read -> its commit done */
    dc_metrics_hist commit_h; /* merge + Delta commit of a batch */
    int64_t version;        /* table version (-1: unknown) */
    uint64_t live_files;    /* data files in the snapshot */
    uint64_t live_rows;     /* rows visible (the key index's rows) */
    uint64_t dv_rows;       /* rows hidden by deletion vectors */
    int64_t last_event_ts_ms; /* source ts_ms of the newest event committed (0: none) */
    double last_commit_t;   /* unix seconds of the last commit (0: none) */
    int64_t pending_ts_ms;  /* source ts_ms of the batch in hand's first event (0: none) */
    double pending_t;       /* unix seconds it was read (0: no batch in hand) */
    uint64_t maint_failures[DC_METRICS_N_MAINT]; /* runs that failed */
    dc_metrics_hist maint_h[DC_METRICS_N_MAINT]; /* durations of the runs */
    dc_metrics_part *parts; /* owned array */
    size_t n_parts, cap_parts;
    uint64_t monitor_runs;   /* freshness checks of this table */
    uint64_t monitor_alerts; /* checks that found a partition late */
    uint64_t monitor_errors; /* checks that could not run (broker, table) */
    uint64_t complete_runs;   /* completeness checks of this table */
    uint64_t complete_alerts; /* checks that found a mismatch */
    uint64_t complete_errors; /* checks that could not run (database, table) */
    int complete_state;      /* the last one: -1 not run, 0 ok, 1 mismatch, 2 pending */
    uint64_t complete_ranges; /* the last one's differing ranges (ranges mode) */
    dc_metrics_sample *ring; /* DC_METRICS_HISTORY samples (owned), oldest at ring_head */
    size_t ring_n, ring_head;
} dc_metrics_tstate;

/* Freshness, seconds at `now` (unix): age of the oldest event the daemon has
 * read and not committed (by its source ts_ms, else by when it was read);
 * 0 when all it has read is committed. */
double dc_metrics_freshness(const dc_metrics_tstate *t, double now);
/* Consumer lag, records: high watermark - (committed + 1) summed over the
 * partitions with a known watermark; -1 when none is known. */
int64_t dc_metrics_lag(const dc_metrics_tstate *t);
/* The partition entry (NULL when absent). */
const dc_metrics_part *dc_metrics_part_find(const dc_metrics_tstate *t, const char *topic,
                                            int32_t partition);

typedef struct dc_metrics dc_metrics;
typedef struct dc_metrics_table dc_metrics_table;

int dc_metrics_new(dc_metrics **out, dc_err *err);
void dc_metrics_free(dc_metrics *m);

/* The table at `path`, added when new. The handle lives as long as m. */
int dc_metrics_table_get(dc_metrics_table **out, dc_metrics *m, const char *path, dc_err *err);

/* What one committed batch did (the daemon fills it once per batch). */
typedef struct dc_metrics_batch {
    uint64_t records_in;
    uint64_t inserted, updated, deleted, truncated, stale, retries;
    bool committed;          /* a Delta commit was made */
    double batch_s;          /* first record read -> committed */
    double commit_s;         /* merge + commit */
    int64_t last_event_ts_ms;/* newest source ts_ms in the batch (0: none) */
    int64_t version;         /* the table's version after it */
    uint64_t live_files, live_rows, dv_rows;
} dc_metrics_batch;

/* A batch started: its first event's source ts_ms (0 when it has none). */
void dc_metrics_pending(dc_metrics_table *t, int64_t ts_ms);
void dc_metrics_batch_done(dc_metrics_table *t, const dc_metrics_batch *b);
/* A topic-partition's progress: `records` more records committed, the last
 * committed offset (-1: unchanged), the high watermark (-1: unknown). */
int dc_metrics_part_update(dc_metrics_table *t, const char *topic, int32_t partition,
                           uint64_t records, int64_t committed, int64_t high_watermark,
                           dc_err *err);
void dc_metrics_dead_letter(dc_metrics_table *t);
/* A freshness check of one topic-partition of the table (monitor/). */
int dc_metrics_monitor_part(dc_metrics_table *t, const char *topic, int32_t partition, bool ok,
                            int64_t lag_records, double lag_seconds, dc_err *err);
/* A freshness check of the table ran: late (a partition was), or failed. */
void dc_metrics_monitor_run(dc_metrics_table *t, bool late, bool failed);
/* A completeness check of the table ran: its state (0 ok, 1 mismatch, 2
 * pending) and differing ranges, or it failed (state unchanged). */
void dc_metrics_complete_run(dc_metrics_table *t, int state, uint64_t ranges, bool failed);
void dc_metrics_maint_done(dc_metrics_table *t, dc_metrics_maint kind, double seconds, bool ok);
/* The table stopped on an error (t NULL: a failure of the whole daemon,
 * which every table and the registry itself record). */
void dc_metrics_fail(dc_metrics *m, dc_metrics_table *t, const char *msg);
/* True when a history sample is due at unix `now` (cheap: no lock; only
 * the thread that calls dc_metrics_tick may ask). */
bool dc_metrics_due(const dc_metrics *m, double now);
/* Takes a history sample of every table when one is due. */
void dc_metrics_tick(dc_metrics *m, double now);
/* Sets every partition's high watermark of table t from fn (called under
 * the table's lock: it must not block), -1 from fn leaves it. */
typedef int64_t (*dc_metrics_watermark_fn)(void *ctx, const char *topic, int32_t partition);
void dc_metrics_watermarks(dc_metrics_table *t, dc_metrics_watermark_fn fn, void *ctx);

/* A consistent copy of every table, for a reader (owned by the caller). */
typedef struct dc_metrics_snap {
    double now;                  /* unix seconds when taken */
    double started;              /* unix seconds the registry was made */
    bool failed;                 /* the daemon stopped on an error of no one table */
    char error[DC_ERR_MSG_MAX];  /* that error */
    dc_metrics_tstate *tables;   /* owned array */
    size_t n_tables;
} dc_metrics_snap;

int dc_metrics_snapshot(dc_metrics_snap *out, dc_metrics *m, dc_err *err);
void dc_metrics_snap_dispose(dc_metrics_snap *s);

/* Builders a test (or a reader) uses to make a snapshot without a daemon. */
int dc_metrics_tstate_init(dc_metrics_tstate *t, const char *path, dc_err *err);
void dc_metrics_tstate_dispose(dc_metrics_tstate *t);
void dc_metrics_tstate_sample(dc_metrics_tstate *t, double now);

/* Unix time now, seconds (wall clock: samples and ages are shown as dates). */
double dc_metrics_now(void);

#endif /* DC_METRICS_H */
