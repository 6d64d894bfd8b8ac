/*
 * Classic single-file checkpoints (PROTOCOL.md "Checkpoints", V1 spec):
 * _delta_log/<v>.checkpoint.parquet holds one row per action of the
 * reconciled snapshot — protocol, metaData, txn, live domainMetadata, add,
 * and remove tombstones not yet past delta.deletedFileRetentionDuration —
 * in the nested schema Spark writes (each action a struct column; maps as
 * map<string,string>; add.stats as JSON text; deletionVector a struct).
 * Then _last_checkpoint {version, size, sizeInBytes, numOfAddFiles} is
 * replaced atomically, unless it already names a newer checkpoint.
 *
 * protocol, metaData, txn and domain rows are the same JSON objects as
 * commit lines, written through the Parquet writer's JSON-row path against
 * the schema below; add and remove rows, nearly all of them, go column by
 * column straight from the snapshot's structs (delta_checkpoint_cols.c).
 */
#include "delta_write_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define F(name, type) "{\"name\":\"" name "\",\"type\":" type ",\"nullable\":true,\"metadata\":{}}"
#define STRUCT(...) "{\"type\":\"struct\",\"fields\":[" __VA_ARGS__ "]}"
#define MAP_SS "{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":\"string\"," \
               "\"valueContainsNull\":true}"
#define ARR_S "{\"type\":\"array\",\"elementType\":\"string\",\"containsNull\":true}"
#define DV_STRUCT STRUCT(F("storageType", "\"string\"") "," F("pathOrInlineDv", "\"string\"") "," \
                         F("offset", "\"integer\"") "," F("sizeInBytes", "\"integer\"") ","      \
                         F("cardinality", "\"long\"") "," F("maxRowIndex", "\"long\""))

/* The checkpoint schema as Delta schema JSON, Spark's column order. */
static const char CHECKPOINT_SCHEMA[] = STRUCT(
    F("txn", STRUCT(F("appId", "\"string\"") "," F("version", "\"long\"") ","
                    F("lastUpdated", "\"long\""))) ","
    F("add", STRUCT(F("path", "\"string\"") "," F("partitionValues", MAP_SS) ","
                    F("size", "\"long\"") "," F("modificationTime", "\"long\"") ","
                    F("dataChange", "\"boolean\"") "," F("stats", "\"string\"") ","
                    F("tags", MAP_SS) "," F("deletionVector", DV_STRUCT) ","
                    F("baseRowId", "\"long\"") "," F("defaultRowCommitVersion", "\"long\"") ","
                    F("clusteringProvider", "\"string\""))) ","
    F("remove", STRUCT(F("path", "\"string\"") "," F("deletionTimestamp", "\"long\"") ","
                       F("dataChange", "\"boolean\"") "," F("extendedFileMetadata", "\"boolean\"") ","
                       F("partitionValues", MAP_SS) "," F("size", "\"long\"") ","
                       F("deletionVector", DV_STRUCT) "," F("baseRowId", "\"long\"") ","
                       F("defaultRowCommitVersion", "\"long\""))) ","
    F("metaData", STRUCT(F("id", "\"string\"") "," F("name", "\"string\"") ","
                         F("description", "\"string\"") ","
                         F("format", STRUCT(F("provider", "\"string\"") "," F("options", MAP_SS)))
                         "," F("schemaString", "\"string\"") ","
                         F("partitionColumns", ARR_S) "," F("configuration", MAP_SS) ","
                         F("createdTime", "\"long\""))) ","
    F("protocol", STRUCT(F("minReaderVersion", "\"integer\"") ","
                         F("minWriterVersion", "\"integer\"") "," F("readerFeatures", ARR_S) ","
                         F("writerFeatures", ARR_S))) ","
    F("domainMetadata", STRUCT(F("domain", "\"string\"") "," F("configuration", "\"string\"") ","
                               F("removed", "\"boolean\""))));

#define DEFAULT_RETENTION_MS ((int64_t)7 * 24 * 3600 * 1000)

/* delta.deletedFileRetentionDuration ("interval 1 week", "interval 30 days",
 * "7 days"...) in ms; unparseable values keep every tombstone (-1). */
static int64_t retention_ms(const dc_delta_metadata *m)
{
    bool found = false;
    const char *v = dc_delta_map_get(&m->configuration, "delta.deletedFileRetentionDuration",
                                     &found);
    if (!v) return DEFAULT_RETENTION_MS;
    if (strncasecmp(v, "interval", 8) == 0) v += 8;
    char *end = NULL;
    const long long n = strtoll(v, &end, 10);
    if (end == v || n < 0) return -1;
    while (*end == ' ') end++;
    static const struct { const char *unit; int64_t ms; } units[] = {
        {"week", 7LL * 86400000}, {"day", 86400000}, {"hour", 3600000}, {"minute", 60000},
        {"second", 1000}, {"millisecond", 1},
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        const size_t ul = strlen(units[i].unit);
        if (strncasecmp(end, units[i].unit, ul) == 0 &&
            (end[ul] == '\0' || ((end[ul] == 's' || end[ul] == 'S') && end[ul + 1] == '\0'))) {
            int64_t ms;
            return dc_mul_overflow_i64(n, units[i].ms, &ms) ? -1 : ms;
        }
    }
    return -1;
}

const char *dc_delta_w_checkpoint_schema(void) { return CHECKPOINT_SCHEMA; }

typedef struct cp_ctx {
    dc_pq_writer *pw;            /* the checkpoint file */
    dc_delta_cp_cols *cols;      /* add and remove rows, column by column */
    dc_arena arena;              /* one row's DOM, reset per row */
    dc_buf line;                 /* one row's JSON text */
    int64_t rows;                /* actions written */
    int64_t adds;                /* add rows */
} cp_ctx;

static int put_row(cp_ctx *c, const dc_delta_action *a, dc_err *err)
{
    dc_json *row = NULL;
    c->line.len = 0;
    dc_arena_reset(&c->arena);
    DC_TRY(dc_delta_w_checkpoint_row_json(&c->line, a, err));
    DC_TRY(dc_json_parse(&row, &c->arena, (const char *)c->line.data, c->line.len, err));
    DC_TRY(dc_pq_writer_write_json_row(c->pw, row, err));
    c->rows++;
    if (a->type == DC_DELTA_ACTION_ADD) c->adds++;
    return 0;
}

static int put_table_rows(cp_ctx *c, dc_delta_snapshot *snap, dc_err *err)
{
    dc_delta_action a;
    a.type = DC_DELTA_ACTION_PROTOCOL;
    a.u.protocol = *dc_delta_snapshot_protocol(snap);
    DC_TRY(put_row(c, &a, err));
    a.type = DC_DELTA_ACTION_METADATA;
    a.u.metadata = *dc_delta_snapshot_metadata(snap);
    DC_TRY(put_row(c, &a, err));
    for (size_t i = 0; i < dc_delta_snapshot_n_txns(snap); i++) {
        a.type = DC_DELTA_ACTION_TXN;
        a.u.txn = *dc_delta_snapshot_txn(snap, i);
        DC_TRY(put_row(c, &a, err));
    }
    for (size_t i = 0; i < dc_delta_snapshot_n_domains(snap); i++) {
        a.type = DC_DELTA_ACTION_DOMAIN_METADATA;
        a.u.domain = *dc_delta_snapshot_domain(snap, i);
        DC_TRY(put_row(c, &a, err));
    }
    return 0;
}

static int put_file_rows(cp_ctx *c, dc_delta_snapshot *snap, dc_err *err)
{
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++) {
        dc_delta_add add = *dc_delta_snapshot_file(snap, i);
        add.data_change = false; /* checkpoints re-state files; they change no data */
        DC_TRY(dc_delta_cp_cols_add(c->cols, &add, err));
        c->rows++;
        c->adds++;
    }
    const int64_t keep = retention_ms(dc_delta_snapshot_metadata(snap));
    const int64_t now = dc_delta_now_ms();
    for (size_t i = 0; i < dc_delta_snapshot_n_tombstones(snap); i++) {
        dc_delta_remove rm = *dc_delta_snapshot_tombstone(snap, i);
        if (keep >= 0 && rm.has_deletion_timestamp && rm.deletion_timestamp < now - keep)
            continue; /* expired: VACUUM may already have deleted the file */
        rm.data_change = false;
        DC_TRY(dc_delta_cp_cols_remove(c->cols, &rm, err));
        c->rows++;
    }
    return dc_delta_cp_cols_flush(c->cols, err);
}

/* Writes the checkpoint file through a storage writer. */
static int write_file(cp_ctx *c, dc_delta_snapshot *snap, const char *name, uint64_t *bytes,
                      dc_err *err)
{
    dc_storage *s = dc_delta_snapshot_storage(snap);
    dc_arena sa;
    dc_arena_init(&sa, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    dc_pq_schema *schema = NULL;
    dc_storage_writer *sw = NULL;
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    o.codec = PQ_CODEC_SNAPPY; /* what Spark writes; every reader has it */
    dc_pq_sink sink;
    int rc = dc_json_parse(&doc, &sa, CHECKPOINT_SCHEMA, strlen(CHECKPOINT_SCHEMA), err);
    if (rc == 0) rc = dc_pq_schema_from_delta(&schema, doc, err);
    if (rc == 0) rc = dc_storage_writer_open(&sw, s, name, err);
    if (rc == 0) {
        sink = (dc_pq_sink){1, sw, dc_storage_writer_write};
        rc = dc_pq_writer_new(&c->pw, schema, &o, &sink, err);
    }
    if (rc == 0) rc = dc_delta_cp_cols_new(&c->cols, c->pw, schema, err);
    if (rc == 0) rc = put_table_rows(c, snap, err);
    if (rc == 0) rc = put_file_rows(c, snap, err);
    if (rc == 0) rc = dc_pq_writer_close(c->pw, err);
    if (rc == 0) {
        *bytes = dc_pq_writer_bytes_written(c->pw);
        rc = dc_storage_writer_commit(sw, false, err); /* same content if raced: last wins */
        sw = NULL;
    }
    dc_storage_writer_abort(sw);
    dc_delta_cp_cols_free(c->cols);
    c->cols = NULL;
    dc_pq_writer_free(c->pw);
    c->pw = NULL;
    dc_pq_schema_free(schema);
    dc_arena_dispose(&sa);
    return rc;
}

static int write_last_checkpoint(dc_storage *s, const dc_delta_checkpoint_info *info,
                                 dc_err *err)
{
    if (dc_delta_last_checkpoint(s) > info->version) return 0;
    char text[256];
    const int n = snprintf(text, sizeof text,
                           "{\"version\":%" PRId64 ",\"size\":%" PRId64 ",\"sizeInBytes\":%" PRId64
                           ",\"numOfAddFiles\":%" PRId64 "}",
                           info->version, info->size, info->size_in_bytes, info->num_add_files);
    DC_ASSERT(n > 0 && (size_t)n < sizeof text);
    return dc_storage_write(s, "_delta_log/_last_checkpoint", text, (size_t)n, err);
}

int dc_delta_checkpoint_write(dc_delta_checkpoint_info *out, dc_delta_snapshot *snap,
                              dc_err *err)
{
    int rc = 0;
    cp_ctx c;
    memset(&c, 0, sizeof c);
    dc_arena_init(&c.arena, DC_JSON_MAX_DOC_BYTES);
    dc_buf_init(&c.line, DC_JSON_MAX_DOC_BYTES);
    const int64_t version = dc_delta_snapshot_version(snap);
    char name[96];
    uint64_t bytes = 0;
    snprintf(name, sizeof name, "_delta_log/%020" PRId64 ".checkpoint.parquet", version);
    if ((rc = write_file(&c, snap, name, &bytes, err)) < 0) goto out;
    out->version = version;
    out->size = c.rows;
    out->size_in_bytes = (int64_t)bytes;
    out->num_add_files = c.adds;
    DC_ASSERT(c.adds == (int64_t)dc_delta_snapshot_n_files(snap));
    /* The checkpoint is complete: later policy checks need not read storage. */
    dc_delta_snapshot_note_checkpoint(snap, version);
    rc = write_last_checkpoint(dc_delta_snapshot_storage(snap), out, err);
out:
    if (rc < 0) dc_err_prefix(err, "checkpoint %s", name);
    dc_buf_dispose(&c.line);
    dc_arena_dispose(&c.arena);
    return rc;
}
