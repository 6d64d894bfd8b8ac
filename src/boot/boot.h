/*
 * boot: `deltacdc bootstrap` (issue 10) — a MySQL/MariaDB table copied into
 * a typed Delta table, the seed's DataX step done right.
 *
 * One consistent snapshot (dc_mysql_snapshot_begin: REPEATABLE READ, the
 * binlog position it sees) read in primary-key chunks
 *   SELECT .. WHERE (key) > (last) ORDER BY key LIMIT N
 * all in the same transaction, rows streamed (mysql_use_result). Each row
 * becomes what Debezium's connector would send for it in a snapshot — an
 * op 'r' event with the table's Debezium schema block and the snapshot's
 * binlog position as source position (file:pos:0:snapshot, gtid) — and goes
 * through the typed merge (src/merge) like any CDC event: ONE mapping of
 * MySQL types (src/cdc's, from the schema block), the same table layout,
 * and the same ranking by source position, which is what reconciles the
 * history with the stream: a CDC event at or before the snapshot's position
 * ranks below the bootstrap's row of its key (stale), every later one
 * applies.
 *
 * Each chunk is one Delta commit: its rows, the txn "bootstrap/<db>.<table>/0"
 * with version = the chunk number (also each row's __offset), and in
 * commitInfo.operationParameters: bootstrap.chunk, bootstrap.lastKey (the
 * chunk's last key as SQL literals, a JSON array), bootstrap.position and
 * bootstrap.gtid (this run's snapshot), bootstrap.firstPosition (the first
 * run's), bootstrap.rows (rows so far), bootstrap.done ("true" when the
 * chunk was the last). An interrupted bootstrap resumes after the committed
 * chunk's last key. A resumed run has a new snapshot at a later position P2:
 * rows up to the last key hold the first snapshot (position P1), the rest
 * hold P2 (each row's __source_pos says which); replaying CDC from P1 makes
 * the table equal to the source: an event in (P1, P2] is stale for a key
 * read at P2 and applies to a key read at P1. A key is never written twice:
 * rows are merged by key, so even a chunk read again is an update, not a
 * second row.
 */
#ifndef DC_BOOT_H
#define DC_BOOT_H

#include <signal.h>
#include <stdio.h>

#include "../cdc/cdc.h"
#include "../common/dc_common.h"
#include "../merge/merge.h"
#include "../mysql/mysql.h"

typedef struct dc_boot_opts {
    dc_mysql_opts db;               /* connection (URL, password, TLS) */
    const char *source_table;       /* "T" (in the URL's database) or "DB.T" */
    const char *table_uri;          /* the typed Delta table (path or file:// URI) */
    const char *key;                /* "a,b": key columns; NULL: the primary key */
    uint64_t chunk_rows;            /* rows per chunk (= per commit); 0: 250000 */
    bool dry_run;                   /* print the plan, write nothing */
    dc_merge_mode mode;             /* dv (default) or cow */
    dc_merge_typed_opts typed;      /* soft deletes, meta prefix, DATETIME/TIME types */
    FILE *progress;                 /* progress lines (rows, rows/s, ETA), or NULL */
    FILE *plan;                     /* where --dry-run prints its plan (stdout) */
    volatile sig_atomic_t *stop;    /* set by a signal: stop after the chunk in hand */
} dc_boot_opts;

typedef struct dc_boot_result {
    uint64_t rows;                  /* rows read and merged by this run */
    uint64_t chunks;                /* chunks committed by this run */
    int64_t first_chunk;            /* the chunk this run started at (1, or after a resume) */
    bool resumed;                   /* a previous run's chunks were found */
    bool done;                      /* the table was read to its end */
    int64_t version;                /* last Delta version committed, -1: none */
    double seconds;                 /* wall time */
    dc_mysql_binlog_pos pos;        /* this run's snapshot position */
    char first_pos[320];            /* the first run's position "file:pos" */
    int64_t est_rows;               /* information_schema's estimate, -1 */
} dc_boot_result;

/* Runs the bootstrap of one table. Errors name the source table, the
 * column or the Delta table; the password never appears in them. */
int dc_boot_run(dc_boot_result *out, const dc_boot_opts *o, dc_err *err);

#endif /* DC_BOOT_H */
