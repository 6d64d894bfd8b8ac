/*
 * daemon/ingest: the `deltacdc ingest` loop (issue 4). Reads Debezium
 * records from a source (file or Kafka), routes each topic to a Delta table,
 * decodes the records, gathers them in micro-batches (closed on the trigger
 * interval or record cap) and merges each batch into its table with one
 * commit that also records the source positions (exactly once). Bad records
 * stop the pipeline (on_error: fail) or go to a dead-letter Delta table.
 *
 * Sits on top: depends on config/, source/, cdc/, merge/, delta/, metrics/,
 * common/.
 */
#ifndef DC_INGEST_H
#define DC_INGEST_H

#include <signal.h>

#include "../common/dc_common.h"
#include "../config/config.h"
#include "../metrics/metrics.h"

typedef struct dc_ingest_opts {
    const dc_config *cfg;              /* the effective configuration (file + flags) */
    bool once;                         /* stop when the source is drained (file) or caught
                                          up (Kafka) and everything is committed */
    volatile sig_atomic_t *stop;       /* set (by a signal handler) to finish the batch in
                                          hand, commit it and return; may be NULL */
    dc_metrics *metrics;               /* fed once per batch (and by maintenance) when not
                                          NULL; read by the HTTP server (borrowed) */
} dc_ingest_opts;

/* What a run did. */
typedef struct dc_ingest_stats {
    uint64_t records;       /* records read from the source */
    uint64_t batches;       /* batches closed (each commits every table it touched) */
    uint64_t commits;       /* Delta commits of data tables */
    uint64_t inserted, updated, deleted; /* rows, summed over the commits */
    uint64_t truncated;     /* rows removed by truncates, summed over the commits */
    uint64_t dead_letters;  /* records written to the dead-letter table */
    uint64_t retries;       /* commits redone after a conflict */
    uint64_t optimizes;     /* automatic OPTIMIZE commits (maintenance.optimize) */
    uint64_t checkpoints;   /* automatic checkpoints (maintenance.checkpoint_interval) */
    uint64_t vacuums;       /* automatic VACUUM runs (maintenance.vacuum) */
} dc_ingest_stats;

/* The table a Kafka topic goes to under cfg (source.kafka.topics' pattern,
 * tables[], warehouse): its path, NUL-terminated, in out. For `deltacdc
 * check -c`, which must find the tables the daemon writes. */
int dc_ingest_table_path(dc_buf *out, const dc_config *cfg, const char *topic, dc_err *err);
/* The tables[] entry a source table db.table goes to under cfg (the first
 * whose match fits "db.table"; *entry NULL when none) and its path with
 * {warehouse}, {db}, {table} and {pipeline} (a {topic} is an error: a
 * bootstrap reads tables, not topics). For `deltacdc bootstrap -c`, which
 * must write the tables the daemon writes. */
int dc_ingest_source_table(const dc_config_table **entry, dc_buf *path, const dc_config *cfg,
                           const char *db, const char *table, dc_err *err);

/* The same for a table named "db.table" (`deltacdc snapshot -c --table`):
 * the first tables[] entry whose match fits it (*entry; the default entry
 * when tables is empty), and `tmpl` expanded (NULL: the entry's path). */
int dc_ingest_table_path_named(dc_buf *out, const dc_config_table **entry, const dc_config *cfg,
                               const char *db_table, const char *tmpl, dc_err *err);

/* Runs until the input is drained (once), *stop is set, or an error. On a
 * bad record with on_error fail the error names topic, partition and offset
 * and nothing of the batch in hand is committed. */
int dc_ingest_run(dc_ingest_stats *out, const dc_ingest_opts *o, dc_err *err);

#endif /* DC_INGEST_H */
