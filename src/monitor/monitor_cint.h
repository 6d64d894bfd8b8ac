/* monitor: the completeness check's insides (monitor_complete.c, the
 * source; monitor_ctable.c, the table; monitor_cout.c, the output). */
#ifndef DC_MONITOR_CINT_H
#define DC_MONITOR_CINT_H

#include "monitor_int.h"

#include "../cdc/cdc.h"
#include "../delta/delta.h"
#include "../storage/storage.h"

/* One range of key values (or hash bucket): both sides' rows and checksums. */
typedef struct dc_cmon_range {
    int64_t id;                 /* floor(key / chunk), or the bucket */
    uint64_t src_n, tab_n;      /* rows */
    uint64_t src_h, tab_h;      /* BIT_XOR of the rows' hashes */
    bool after;                 /* a table row in it changed after P */
    bool drill;                 /* its keys are looked up */
    bool used;                  /* the slot holds a range */
} dc_cmon_range;

/* Ranges by id: open addressing, linear probing, at most half full. */
typedef struct dc_cmon_map {
    dc_cmon_range *b;           /* cap slots (owned) */
    size_t cap, n;
} dc_cmon_map;

/* One check's state. */
typedef struct cctx {
    const dc_complete_opts *o;  /* borrowed */
    dc_complete_result *r;      /* filled */
    dc_mysql *m;                /* the source, in its snapshot transaction */
    dc_mysql_table st;          /* its columns and key */
    char db[256], name[256];    /* its database and name */
    uint32_t key_col;           /* index in st.cols of the first key column */
    bool int_key;               /* that column is an integer */
    bool hashed;                /* ranges by the key's hash (r->hashed) */
    dc_buf bucket;              /* hashed: the bucket's SQL expression, NUL-terminated */
    dc_buf from;                /* " FROM `db`.`t`", NUL-terminated */
    dc_buf kid;                 /* "`key`", NUL-terminated */
    const char *prefix;         /* metadata column prefix */
    dc_cdc_srcpos p;            /* P */
    dc_cmon_map map;            /* ranges mode */
    dc_storage *s;              /* the table's storage (owned) */
    dc_delta_snapshot *snap;    /* the table's snapshot compared (owned) */
} cctx;

int64_t dc_cmon_range_of(int64_t k, int64_t chunk);
/* The range id (map key) of a row whose first key or bucket is k0. */
int64_t dc_cmon_range_id(const cctx *c, int64_t k0);
/* Streams a query's rows from the open snapshot through fn (row values
 * valid during the call; SQL NULL is a NULL value). */
typedef int (*dc_cmon_row_fn)(void *ctx, char **row, unsigned long *lens, dc_err *err);
int dc_cmon_stream(dc_mysql *m, const char *sql, dc_cmon_row_fn fn, void *ctx, dc_err *err);
/* The range of id, added (zeroed) when new. */
int dc_cmon_map_get(dc_cmon_range **out, dc_cmon_map *m, int64_t id, dc_err *err);
dc_cmon_range *dc_cmon_map_find(const dc_cmon_map *m, int64_t id);
/* P from the binlog file name's number and the position. */
int dc_cmon_pos_parse(dc_cdc_srcpos *out, const char *file, int64_t pos, dc_err *err);
/* Loads the table's newest snapshot and the source position it reached
 * (r->reached, r->behind). */
int dc_cmon_table_position(cctx *c, dc_err *err);
/* Reads the table's rows: counts, max key, or the ranges' table side. */
int dc_cmon_table_scan(cctx *c, dc_err *err);
/* The snapshot's live rows from its log alone (r->tab_rows): each file's
 * stats numRecords less its deletion vector's cardinality. *counted is
 * false when that is not the answer (a file without numRecords, or a
 * table with soft deletes, whose rows only a scan tells): scan then. */
int dc_cmon_table_count(bool *counted, cctx *c, dc_err *err);
/* max_id from the log alone (r->tab_max, r->tab_rows): each live file's
 * stats maxValues of the key column. *known is false when that may not be
 * the answer (what dc_cmon_table_count can not count; a file without the
 * stat, or with wide bounds and no deletion vector; a file with a deletion
 * vector whose max exceeds the others': the vector may hide that row): scan
 * then. */
int dc_cmon_table_max(bool *known, cctx *c, dc_err *err);
/* The differing keys of the differing ranges (r->keys). */
int dc_cmon_keys(cctx *c, dc_err *err);

#endif /* DC_MONITOR_CINT_H */
