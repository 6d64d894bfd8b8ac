/* daemon/ingest: what only src/daemon/ sees. */
#ifndef DC_INGEST_INT_H
#define DC_INGEST_INT_H

#include "ingest.h"

#include "../cdc/cdc.h"
#include "../merge/merge.h"
#include "../source/source.h"

/* ---------------------------------------------------- routing (pure) */

/* {db} and {table} of a topic: slices of the topic name (or static text). */
typedef struct ing_capture {
    const char *db;      /* NULL when the topic gives none */
    size_t db_len;
    const char *table;   /* NULL when the topic gives none */
    size_t table_len;
} ing_capture;

/* Values of a path template's placeholders. */
typedef struct ing_vars {
    const char *warehouse; /* {warehouse} */
    const char *topic;     /* {topic} */
    const char *pipeline;  /* {pipeline} */
    const char *path;      /* {path}: the raw table's path (tables[].typed_path only) */
    ing_capture cap;       /* {db}, {table} */
} ing_vars;

/* Matches `topic` against a pattern such as "cdc-{db}-{table}" (source.h's
 * syntax); fills cap with {db} and {table} when the pattern has them. */
bool ing_pattern_match(const char *pattern, const char *topic, ing_capture *cap);
/* {db}.{table} of an explicit topic: the last two dot-separated parts
 * (Debezium's "<prefix>.<db>.<table>"), else "default" and the whole name. */
void ing_topic_names(ing_capture *cap, const char *topic);
/* The first of tabs[n] whose match fits the topic's {db}.{table} (captured
 * by the first pattern that matches it, else ing_topic_names); tmp is
 * scratch. No match is DC_EINVAL naming the topic. */
int ing_find_table(const dc_config_table **out, ing_capture *cap, const dc_config_table *tabs,
                   uint32_t n, const char *const *patterns, size_t n_patterns, const char *topic,
                   dc_buf *tmp, dc_err *err);
/* Glob with * and ? over s[0..n). */
bool ing_glob(const char *glob, const char *s, size_t n);
/* Expands a path template into out (NUL-terminated); a placeholder without a
 * value is an error naming it. */
int ing_expand(dc_buf *out, const char *tmpl, const ing_vars *v, dc_err *err);
/* The typed table's path of a [raw, typed] entry: its tables[].typed_path
 * (default "{path}_typed", from config_table.c) with {path} = raw_path. */
int ing_expand_typed(dc_buf *out, const dc_config_table *e, const char *raw_path,
                     const ing_vars *v, dc_err *err);

/* ------------------------------------------------------ the loop's state */

/* A topic-partition with records in the batch in hand. */
typedef struct ing_tp {
    const char *topic;   /* borrowed from the route (lives as long as the state) */
    int32_t partition;
    int64_t last;        /* last offset added to the batch */
    int64_t resume;      /* replay: the reopened table's next offset (-2: not asked) */
    bool has_id;         /* file source: the input's identity at `last` is below */
    uint64_t id_bytes;   /* bytes of the input through `last` */
    uint64_t id_hash;    /* their hash (dc_source_input_hash) */
    uint64_t n;          /* records of it in the batch (metrics) */
} ing_tp;

/* An event kept for replay after a commit conflict. */
typedef struct ing_kept {
    dc_cdc_event ev;     /* slices point into the slot's keep arena */
    uint32_t tp;         /* index into the slot's tps */
    int64_t offset;      /* the record's offset */
} ing_kept;

/* The batch in hand of a table: its positions and a copy of its events
 * (for a replay after a conflict, and what the committer thread builds the
 * batch from: ingest_commit.c). A slot fills one while the committer
 * thread commits the one before it. */
typedef struct ing_hand {
    uint64_t n_in;              /* records added to it */
    ing_tp *tps;                /* positions in the batch (owned array) */
    size_t n_tps, cap_tps;
    dc_arena keep_arena;        /* bytes of the kept events */
    ing_kept *kept;             /* the batch's events, for replay (owned array) */
    size_t n_kept, cap_kept;
    size_t kept_bytes;          /* bytes kept, checked against the replay budget */
    bool keep_lost;             /* budget exceeded: a conflict can not be replayed (never
                                   with a deferred slot: its batch closes first) */
    const char *kept_schema;    /* the schema block kept last (in keep_arena), shared by
                                   the kept events that repeat it; NULL: none */
    uint32_t kept_schema_len;
    uint64_t kept_schema_id;    /* its dc_cdc_event.schema_id (0: none): equal ids are
                                   equal bytes, no memcmp */
    double batch_t0;            /* monotonic seconds its first record came */
    int64_t batch_ts_max;       /* newest source ts_ms in it (0: none) */
} ing_hand;

/* One Delta table the pipeline writes. */
/* A Kafka schema-change topic being followed (ingest_schemachange.c). */
typedef struct ing_sckafka ing_sckafka;

typedef struct ing_slot {
    char *path;                 /* the table's location (owned) */
    const dc_config_table *ct;  /* its configuration entry (borrowed) */
    int format;                 /* DC_CFG_FORMAT_RAW or _TYPED (an entry of format BOTH
                                   has one slot of each) */
    dc_arena arena;             /* key names */
    dc_cdc_keyspec keys;        /* key columns, once known */
    bool keys_known;            /* keys is filled */
    dc_cdc_key_type key_types[DC_CDC_MAX_KEYS]; /* of an existing table (else guessed) */
    uint8_t key_int_bytes[DC_CDC_MAX_KEYS]; /* integer keys' schema widths (0: none) */
    const char *create_schema;  /* typed: schema block of the record creating the table
                                   (borrowed from it, set by ing_slot_key_types) */
    size_t create_schema_len;
    bool probed;                /* existence checked: table == NULL means absent */
    dc_merge_table *table;      /* open table, NULL while absent */
    dc_cdc_schemalog *schemalog; /* typed: tables[].schema_changes_topic read (owned), or NULL */
    int64_t schemalog_bytes;    /* the file's size when it was read */
    ing_sckafka *sck;           /* the schema-change topic when it is a Kafka topic (owned),
                                   else NULL */
    dc_merge_batch *batch;      /* the batch in hand, NULL when empty (and always with
                                   `deferred`) */
    dc_merge_schemas *schemas;  /* raw: the schemas its records carried, to keep in the
                                   table's _deltacdc_schemas/ (NULL until the first) */
    uint64_t noted_id;          /* raw: dc_cdc_event.schema_id of the schema noted last (0:
                                   none): the same id again is the same bytes, no note (its
                                   memcmp of the block was a tenth of the loop's CPU) */
    const char *noted_topic;    /* and its topic (the route's string) and partition */
    int32_t noted_partition;
    ing_hand h;                 /* the batch in hand's positions and kept events */
    bool deferred;              /* the committer thread builds and commits the batch from
                                   h's kept events (ingest_commit.c); the loop only checks
                                   and keeps them */
    dc_merge_keyshape shape;    /* deferred: the table's key columns, copied while the
                                   committer did not hold the table (the loop checks events
                                   against it instead of reading the table) */
    bool shape_set;             /* shape was copied from the open table */
    double last_optimize;       /* monotonic seconds of the last OPTIMIZE check (0: none) */
    uint32_t optimize_misses;   /* background rewrites in a row that committed nothing
                                   (inputs rewritten meanwhile on a table without DVs) */
    double last_vacuum;         /* monotonic seconds of the last VACUUM (0: none yet) */
    double last_log_cleanup;    /* monotonic seconds of the last log cleanup (0: none yet) */
    double last_persist;        /* monotonic seconds of the last key index write (0: none) */
    dc_storage_stats req_mark;  /* the table storage's request counters at the last batch
                                   line (debug level: requests per batch) */
    dc_metrics_table *mt;       /* the table's metrics (borrowed), NULL when metrics are off */
    char *stop_error;           /* on_table_error stop_table: the error that stopped the
                                   table (owned); non-NULL: skipped for the rest of the run */
} ing_slot;

/* A topic seen, and the table it goes to. */
typedef struct ing_route {
    char *topic;        /* owned */
    ing_slot *slot;     /* borrowed from the state's slots */
    ing_slot *twin;     /* format [raw, typed]: the typed table (slot is the raw one),
                           fed the same records; NULL otherwise */
    bool paused;        /* its tables all stopped: the source no longer fetches it */
} ing_route;

typedef struct ing_dlq ing_dlq;
typedef struct ing_par ing_par;
typedef struct ing_ahead ing_ahead;
typedef struct ing_bg ing_bg;
typedef struct ing_commit ing_commit;

typedef struct ing_state {
    const dc_ingest_opts *o;    /* borrowed */
    const dc_config *cfg;       /* borrowed */
    dc_source *src;             /* owned */
    bool file_source;           /* the source is a file (one table, no captures) */
    char **patterns;            /* topic patterns capturing {db}/{table} (owned) */
    size_t n_patterns;
    ing_route *routes;          /* owned array */
    size_t n_routes, cap_routes;
    size_t last_route;          /* index of the last route used (fast path) */
    ing_slot **slots;           /* owned array of owned slots */
    size_t n_slots, cap_slots;
    dc_config_table default_table; /* used when the configuration has no tables */
    dc_buf scratch;             /* decoder scratch */
    dc_cdc_schema_cache schema_cache; /* JsonConverter repeats the schema block in every
                                   record: one already validated is skipped by memcmp */
    dc_buf tmp;                 /* paths, messages */
    uint64_t in_hand;           /* records read since the last close */
    double last_close;          /* monotonic seconds of the last close */
    double first_in;            /* monotonic seconds the batch in hand got its first
                                   record (trigger.min_interval counts from it) */
    ing_dlq *dlq;               /* dead-letter table, opened on the first bad record */
    dc_ingest_stats stats;
    dc_metrics *metrics;        /* o->metrics (borrowed), NULL when off */
    bool halt;                  /* an error of the whole run (not of one table) is being
                                   returned: no table is stopped for it */
    ing_par *par;               /* decoders on ingest.threads threads (owned), NULL: one */
    ing_ahead *ahead;           /* a file source read and decoded on a thread of its own
                                   (ingest_ahead.c; owned), NULL: polled by the loop */
    struct ing_bg *bg;          /* the maintenance thread (ingest_bg.c), NULL when
                                   maintenance.background is off */
    ing_commit *commit;         /* the committer thread of deferred slots (ingest_commit.c;
                                   owned), NULL: none */
} ing_state;

/* ------------------------------------------------ a table (a slot) */

/* Checks once whether the table exists; opens it if so (learning its key
 * columns from its schema when the configuration gives none). */
int ing_slot_probe(ing_state *st, ing_slot *s, dc_err *err);
/* Key columns from the Kafka record key's fields. */
int ing_slot_keys_from_record(ing_slot *s, const dc_source_record *r, dc_err *err);
/* Key types of an absent table from its first change event (and the
 * record's schema block when it has one). */
int ing_slot_key_types(ing_slot *s, const dc_source_record *r, const dc_cdc_event *ev,
                       dc_err *err);
/* Creates the absent table (after ing_slot_key_types). */
int ing_slot_create(ing_state *st, ing_slot *s, const char *topic, dc_err *err);
/* Adds an event to the batch in hand (created on demand); `topic` is the
 * route's string. */
int ing_slot_add(ing_slot *s, const dc_cdc_event *ev, const char *topic, int32_t partition,
                 int64_t offset, dc_err *err);
/* Next offset of a topic-partition with records in hand, else -1. */
int64_t ing_slot_in_hand(const ing_slot *s, const char *topic, int32_t partition);
/* Notes the input identity a file source gave with record r (its position in
 * the batch, added just before); committed with the batch's position. */
void ing_slot_note_input(ing_slot *s, const char *topic, const dc_source_record *r);
/* Whether ev fits the batch in hand (else it is committed first: a full
 * batch is not the record's fault); a deferred slot's bound is its kept
 * events' (the replay budget). */
bool ing_slot_has_room(const ing_slot *s, const dc_cdc_event *ev);
/* Commits the batch in hand (replaying it after conflicts), logs it, tells
 * the source. */
int ing_slot_commit(ing_state *st, ing_slot *s, dc_err *err);
/* After the first attempt at the batch (rc, *res: its outcome, here or on
 * the committer thread): the replays after a conflict, then the log line,
 * metrics, counts, the source told, the slot reset. */
int ing_slot_committed(ing_state *st, ing_slot *s, int rc, dc_merge_result *res, dc_err *err);
/* After a table's batch was committed (rc 0) or failed (ingest.c): a failure
 * stops the table (ing_slot_stop); a new version goes to maintenance. commits:
 * st->stats.commits before the batch. */
int ing_slot_after_commit(ing_state *st, ing_slot *s, int rc, uint64_t commits, dc_err *err);
void ing_slot_reset(ing_slot *s);
/* A batch in hand's bookkeeping (ing_hand): set up, emptied (its arena's
 * memory freed, its arrays kept), released. */
void ing_hand_init(ing_hand *h);
void ing_hand_reset(ing_hand *h);
void ing_hand_dispose(ing_hand *h);
/* The committer thread's part of a deferred slot's batch: the merge batch
 * built from h's kept events on table t, and one commit (ingest_batch.c). */
int ing_hand_commit(dc_merge_result *res, dc_merge_table *t, const ing_hand *h, dc_err *err);

/* ------------------ the committer thread (ingest_commit.c, threads >= 2) */

int ing_commit_new(ing_commit **out, dc_err *err);
/* Stops and joins the thread (settle first: a job not settled is left). */
void ing_commit_free(ing_commit *c);
/* The thread holds s's batch (s NULL: any slot's) and its table. */
bool ing_commit_busy(const ing_state *st, const ing_slot *s);
/* Hands the deferred slot's batch in hand (and its table) to the thread; the
 * slot starts an empty hand. Nothing may be held (ing_commit_settle first). */
int ing_commit_hand(ing_state *st, ing_slot *s, dc_err *err);
/* Waits for the batch the thread holds, if any, and finishes it on the loop
 * (ing_slot_committed, ing_slot_after_commit): its error is returned as
 * close_batch returns a commit's. */
int ing_commit_settle(ing_state *st, dc_err *err);
/* ing_commit_settle when the thread is done, else nothing (no wait). */
int ing_commit_poll(ing_state *st, dc_err *err);
/* CPU seconds of the thread, wall seconds the loop waited for it and the
 * thread's CPU seconds meanwhile. NULL c: zeros. */
void ing_commit_cpu(ing_commit *c, double *thread_s, double *wait_s, double *wait_cpu);
/* Automatic OPTIMIZE of the slot's table after a commit (ingest_optimize.c):
 * thresholds, interval and bounds from maintenance.*; failures are logged. */
void ing_slot_optimize(ing_state *st, ing_slot *s);
/* Checkpoint policy, log cleanup, manifest and VACUUM after a commit
 * (ingest_maint.c); failures are logged. */
void ing_slot_maintain(ing_state *st, ing_slot *s);
/* The key index written next to a checkpoint (at most once per
 * index.persist_interval), or at a clean stop (checkpointed false). */
void ing_slot_persist(ing_state *st, ing_slot *s, bool checkpointed);
/* Writes every open table's key index (a clean stop), when index.persist. */
void ing_persist_all(ing_state *st);
void ing_slot_free(ing_slot *s);

/* A topic-partition leaves this process (a consumer-group rebalance):
 * commits (lost false) or abandons (lost true) its tables' batches in hand and
 * closes them (ingest_group.c; source.h's dc_source_revoke_fn). */
int ing_revoke_cb(void *ctx, const char *topic, int32_t partition, bool lost, dc_err *err);
/* ----------------------- maintenance beside ingestion (ingest_bg.c) */

struct dc_optimize_opts;
struct dc_optimize_result;
/* OPTIMIZE's options from maintenance.* (ingest_optimize.c). */
void ing_optimize_opts(struct dc_optimize_opts *o, const dc_config *c);
/* *yes when the table crossed a threshold (a dry run's plan says). */
int ing_optimize_worth_it(bool *yes, dc_delta_snapshot *snap, const struct dc_optimize_opts *o,
                          const dc_config *c, dc_err *err);
/* After an OPTIMIZE commit attempt of the slot's table: stats, log line,
 * the key index moved along (rc, err: the attempt's outcome). */
void ing_optimize_after(ing_state *st, ing_slot *s, const struct dc_optimize_result *r, int rc,
                        const dc_err *err);

/* VACUUM of a table when maintenance.vacuum is auto and its interval has
 * passed since *last (set when it runs); logged, metrics fed; true when it
 * ran (ingest_maint.c). Either thread. */
bool ing_maint_vacuum(const dc_config *c, const char *path, dc_delta_snapshot *snap,
                      dc_metrics_table *mt, double *last);
/* Starts the thread (st->bg) when maintenance.background is on. */
int ing_bg_start(ing_state *st, dc_err *err);
/* Ingest thread, after a commit of the slot's table: the thread follows
 * the table to that version (checkpoint, log cleanup, manifest, VACUUM,
 * OPTIMIZE's rewrite). */
int ing_bg_committed(ing_state *st, ing_slot *s, dc_err *err);
/* Ingest thread, between batches: commits the rewrites the thread has
 * ready (and writes key indexes after its checkpoints). */
void ing_bg_tick(ing_state *st);
/* A run that ends drained (--once): waits until the thread has followed
 * every table and commits what it made ready, so that the run's
 * maintenance is done when it returns. */
void ing_bg_drain(ing_state *st);
/* Stops and joins the thread; rewrites not committed are deleted. Adds
 * its counts to st->stats. NULL st->bg: no-op. */
void ing_bg_stop(ing_state *st);

/* ------------------------------------------- metrics (ingest_metrics.c) */

/* The hooks that feed the registry; each is a no-op when metrics are off,
 * and none runs per record (ing_slot_add only notes the batch's first
 * record time and its newest ts_ms). */
int ing_metrics_slot(ing_state *st, ing_slot *s, dc_err *err);
void ing_metrics_first(ing_slot *s, const dc_cdc_event *ev);
void ing_metrics_batch(ing_state *st, ing_slot *s, const dc_merge_result *r, uint64_t retries);
void ing_metrics_dead_letter(ing_slot *s);
void ing_metrics_maint(ing_slot *s, dc_metrics_maint kind, double seconds, bool ok);
/* At every turn of the loop: history samples and watermarks every 10 s. */
void ing_metrics_tick(ing_state *st);
/* The run stopped on `err`: marks the table it names (or the last one used
 * for a record's error, or every table). */
void ing_metrics_fail(ing_state *st, const dc_err *err);

/* ------------------------------------- a table stops (ingest_stop.c) */

/* on_table_error: stop_table and the error `err` holds is the table's:
 * stops the slot (drops its batch in hand, marks it failed in the metrics,
 * pauses the topics that feed only stopped tables) and clears err; the run
 * goes on (0) unless no table nor partition is left to ingest (then err is
 * returned as it is, and the run halts). stop_daemon, or a halt: returns
 * err's code as it is. */
int ing_slot_stop(ing_state *st, ing_slot *s, dc_err *err);
/* Pauses the route's topic when all its tables have stopped (once). */
int ing_route_pause(ing_state *st, ing_route *rt, dc_err *err);
/* At the end of a run that went on after tables stopped: an error naming
 * them (exit status 1), else 0. */
int ing_stopped_error(const ing_state *st, dc_err *err);

/* ------------------------------------------------ dead-letter table */

/* Opens (creating if absent) the dead-letter table at `path`. */
int ing_dlq_open(ing_dlq **out, const char *path, const char *pipeline, dc_err *err);
/* *has: (topic, partition, offset) is already in the table (an earlier
 * run dead-lettered it and crashed before its data commit). */
int ing_dlq_has(bool *has, ing_dlq *d, const char *topic, int32_t partition, int64_t offset,
                dc_err *err);
int ing_dlq_add(ing_dlq *d, const char *topic, int32_t partition, int64_t offset,
                const char *error, const char *raw, size_t raw_len, dc_err *err);
/* Rows waiting for the next commit. */
size_t ing_dlq_pending(const ing_dlq *d);
/* Commits the pending rows (and their positions) in one append. */
int ing_dlq_commit(ing_dlq *d, dc_err *err);
void ing_dlq_free(ing_dlq *d);

/* tables[].schema_changes_topic (ingest_schemachange.c): a file of the
 * schema-change topic's record values, or the Kafka topic itself. _open
 * reads it when the table is opened (a Kafka topic up to its high
 * watermarks); _refresh reads a file again when a batch begins and the file
 * grew; _poll reads every slot's Kafka topic on to its high watermarks (after
 * a poll returned records, before they go to the batches). Errors name the
 * table and the file or topic, partition and offset. */
int ing_schemalog_open(const ing_state *st, ing_slot *s, dc_err *err);
int ing_schemalog_refresh(ing_slot *s, dc_err *err);
int ing_schemalog_poll(ing_state *st, dc_err *err);
void ing_sckafka_free(ing_sckafka *k);

/* ------------------------------ decoding on several threads (ingest_par.c) */

/* A record decoded ahead of its turn. */
typedef struct ing_pre {
    const dc_cdc_keyspec *keys; /* the keys it was decoded with (its route's table's), NULL:
                                   not decoded ahead (no route or keys yet) */
    bool ok;                    /* ev is the record's event (else decode it in its turn) */
    dc_cdc_event ev;            /* slices into the record, or the decoding thread's arena:
                                   valid until the next poll */
} ing_pre;

/* A decoder of records ahead of their turn, one per thread. */
typedef struct ing_decoder {
    dc_buf scratch;             /* dc_cdc_decode's scratch (reset per record) */
    dc_cdc_schema_cache cache;  /* schema blocks this thread validated */
    dc_arena *keys;             /* escaped key strings copied out of scratch go here
                                   (borrowed: the owner resets it with the records) */
} ing_decoder;

void ing_decoder_init(ing_decoder *d, dc_arena *keys);
void ing_decoder_dispose(ing_decoder *d);
/* Decodes r ahead with pre->keys (ingest_par.c); any failure, a tombstone
 * or no keys leave pre->ok false: the loop decodes it in its turn. */
void ing_pre_decode(ing_pre *pre, ing_decoder *d, const dc_source_record *r);

/* The keys a record of `topic` is decoded with ahead of its turn: its
 * route's table's, when the route exists and they are known (ingest.c). */
const dc_cdc_keyspec *ing_decode_keys(ing_state *st, const char *topic);
/* One record into its tables, and counted in hand (ingest.c); pre: decoded
 * ahead, or NULL. */
int ing_handle(ing_state *st, const dc_source_record *r, const ing_pre *pre, dc_err *err);
/* Decoders on `threads` threads (the caller's included) for polls of at
 * most max_records. */
int ing_par_new(ing_par **out, unsigned threads, size_t max_records, dc_err *err);
void ing_par_free(ing_par *p);
unsigned ing_par_threads(const ing_par *p);
/* Logs the CPU time of the loop's thread and of the decoders (INFO). */
void ing_par_log_cpu(const ing_par *p);
/* Every record of a poll through ing_handle, in order, decoded on every
 * thread (p NULL, or a small poll: inline). Stops at the first error. */
int ing_par_handle(ing_par *p, ing_state *st, const dc_source_record *recs, size_t n,
                   dc_err *err);

/* A reader thread polling src and decoding the records ahead, up to a few
 * polls of max_records (ingest_ahead.c), helped to decode by threads - 2
 * more (the loop's is one of `threads`). watermarks: note the source's
 * high watermark per poll (for metrics). keys: the table's key columns when
 * known already (NULL: published once the loop knows them). */
int ing_ahead_new(ing_ahead **out, dc_source *src, unsigned threads, size_t max_records,
                  bool watermarks, const dc_cdc_keyspec *keys, dc_err *err);
/* Stops and joins the reader. NULL is a no-op. */
void ing_ahead_free(ing_ahead *a);
/* The next at most `max` records in the source's order, each with its
 * decoding (*pre), as the source's poll would give them; valid until the
 * next call. Waits for the reader; at most timeout_ms when the source had
 * nothing (a pipe). A poll's error is returned in its turn. */
int ing_ahead_poll(ing_ahead *a, ing_state *st, const dc_source_record **recs,
                   const ing_pre **pre, size_t max, size_t *n_out, bool *eof_out,
                   int timeout_ms, dc_err *err);
/* The source's high watermark when the records last handed out were read. */
int64_t ing_ahead_watermark(const ing_ahead *a);
/* CPU seconds of the reader thread and its helpers so far. */
double ing_ahead_reader_cpu(ing_ahead *a);
/* Threads that read and decode (the reader and its helpers). */
unsigned ing_ahead_threads(const ing_ahead *a);
/* Wall seconds the loop waited for the reader (not for a pipe's data), and
 * the reader's CPU seconds meanwhile (the critical path's share of it). */
void ing_ahead_waits(const ing_ahead *a, double *wait_s, double *wait_cpu);

#endif /* DC_INGEST_INT_H */
