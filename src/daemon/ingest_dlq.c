/* ingest: the dead-letter table (on_error: dead_letter). A plain Delta
 * append table (topic, partition, offset, error, raw, ts); each append also
 * records, per topic-partition, the last offset it holds (a txn action with
 * the pipeline's appIds), so a record dead-lettered before a crash is not
 * written twice when the run is redone. */
#include "ingest_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "../common/dc_limits.h"
#include "../delta/delta.h"
#include "../json/dc_json.h"

static const char dlq_schema[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"name\":\"topic\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"partition\",\"type\":\"integer\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"offset\",\"type\":\"long\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"error\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"raw\",\"type\":\"binary\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"ts\",\"type\":\"timestamp\",\"nullable\":false,\"metadata\":{}}]}";

/* A topic-partition with rows waiting. */
typedef struct dlq_tp {
    char *topic;        /* owned */
    int32_t partition;
    int64_t last;       /* highest offset pending */
} dlq_tp;

struct ing_dlq {
    char *pipeline;            /* owned: appId prefix */
    dc_storage *sto;           /* the table's storage */
    dc_delta_snapshot *snap;   /* latest version we know */
    dc_buf rows;               /* pending rows, JSON lines */
    size_t n_rows;             /* lines in rows */
    dlq_tp *tps;               /* pending positions (owned array) */
    size_t n_tps, cap_tps;
};

static int app_id(dc_buf *b, const ing_dlq *d, const char *topic, int32_t partition, dc_err *err)
{
    return dc_delta_app_id(b, d->pipeline, topic, partition, err);
}

int ing_dlq_open(ing_dlq **out, const char *path, const char *pipeline, dc_err *err)
{
    ing_dlq *d = dc_calloc(1, sizeof *d);
    if (!d) return dc_err_set(err, DC_ENOMEM, "out of memory");
    dc_buf_init(&d->rows, DC_MAX_SMALL_FILE);
    int rc = (d->pipeline = dc_strdup(pipeline)) ? 0 : dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc == 0) rc = dc_storage_open(&d->sto, path, err);
    if (rc == 0) rc = dc_delta_snapshot_load(&d->snap, d->sto, -1, err);
    if (rc == DC_ENOTFOUND) {
        dc_err_clear(err);
        dc_delta_create_opts co = {.schema_json = dlq_schema, .name = "deltacdc dead letters"};
        rc = dc_delta_table_create(d->sto, &co, err);
        if (rc == DC_EEXISTS) { /* created concurrently: fine */
            dc_err_clear(err);
            rc = 0;
        }
        if (rc == 0) rc = dc_delta_snapshot_load(&d->snap, d->sto, -1, err);
    }
    if (rc < 0) {
        dc_err_prefix(err, "%s", path);
        ing_dlq_free(d);
        return rc;
    }
    DC_LOG(DC_LOG_INFO, "ingest", "dead-letter table %s at version %" PRId64, path,
           dc_delta_snapshot_version(d->snap));
    *out = d;
    return 0;
}

int ing_dlq_has(bool *has, ing_dlq *d, const char *topic, int32_t partition, int64_t offset,
                dc_err *err)
{
    /* the same builder as the commit's: a lookup can not miss what was written */
    dc_buf app;
    dc_buf_init(&app, DC_DELTA_MAX_APP_ID_BYTES);
    int64_t v = -1;
    int rc = app_id(&app, d, topic, partition, err);
    *has = rc == 0 && dc_delta_snapshot_txn_version(&v, d->snap, (const char *)app.data) == 0 &&
           offset <= v;
    dc_buf_dispose(&app);
    return rc;
}

static int note_tp(ing_dlq *d, const char *topic, int32_t partition, int64_t offset, dc_err *err)
{
    for (size_t i = 0; i < d->n_tps; i++) {
        if (d->tps[i].partition == partition && strcmp(d->tps[i].topic, topic) == 0) {
            if (offset > d->tps[i].last) d->tps[i].last = offset;
            return 0;
        }
    }
    if (d->n_tps == d->cap_tps) {
        size_t cap = d->cap_tps ? d->cap_tps * 2 : 8;
        dlq_tp *p = dc_realloc(d->tps, cap * sizeof *p);
        if (!p) return dc_err_set(err, DC_ENOMEM, "out of memory");
        d->tps = p;
        d->cap_tps = cap;
    }
    char *t = dc_strdup(topic);
    if (!t) return dc_err_set(err, DC_ENOMEM, "out of memory");
    d->tps[d->n_tps++] = (dlq_tp){.topic = t, .partition = partition, .last = offset};
    return 0;
}

static int put_now(dc_buf *b, dc_err *err)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    return dc_buf_appendf(b, err, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\"", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                          ts.tv_nsec / 1000);
}

int ing_dlq_add(ing_dlq *d, const char *topic, int32_t partition, int64_t offset,
                const char *error, const char *raw, size_t raw_len, dc_err *err)
{
    dc_buf *b = &d->rows;
    DC_TRY(dc_buf_puts(b, "{\"topic\":", err));
    DC_TRY(dc_json_put_str(b, topic, strlen(topic), err));
    DC_TRY(dc_buf_appendf(b, err, ",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"error\":",
                          partition, offset));
    DC_TRY(dc_json_put_str(b, error, strlen(error), err));
    DC_TRY(dc_buf_puts(b, ",\"raw\":", err));
    if (raw) {
        DC_TRY(dc_buf_putc(b, '"', err));
        DC_TRY(dc_base64_encode(b, (const uint8_t *)raw, raw_len, err));
        DC_TRY(dc_buf_putc(b, '"', err));
    } else {
        DC_TRY(dc_buf_puts(b, "null", err));
    }
    DC_TRY(dc_buf_puts(b, ",\"ts\":", err));
    DC_TRY(put_now(b, err));
    DC_TRY(dc_buf_puts(b, "}\n", err));
    d->n_rows++;
    return note_tp(d, topic, partition, offset, err);
}

size_t ing_dlq_pending(const ing_dlq *d) { return d->n_rows; }

static int write_rows(dc_delta_file_writer *fw, const dc_buf *rows, dc_err *err)
{
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    int rc = 0;
    const char *p = (const char *)rows->data, *end = p + rows->len;
    while (rc == 0 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        DC_ASSERT(nl != NULL);
        dc_json *row = NULL;
        dc_arena_reset(&a);
        rc = dc_json_parse(&row, &a, p, (size_t)(nl - p), err);
        if (rc == 0) rc = dc_delta_file_writer_write_row(fw, row, err);
        p = nl + 1;
    }
    dc_arena_dispose(&a);
    return rc;
}

static void clear_pending(ing_dlq *d)
{
    dc_buf_reset(&d->rows);
    d->n_rows = 0;
    for (size_t i = 0; i < d->n_tps; i++) dc_free(d->tps[i].topic);
    d->n_tps = 0;
}

int ing_dlq_commit(ing_dlq *d, dc_err *err)
{
    dc_delta_tx *tx = NULL;
    dc_delta_file_writer *fw = NULL;
    dc_buf app;
    dc_buf_init(&app, DC_DELTA_MAX_APP_ID_BYTES);
    int64_t v = -1;
    int rc = dc_delta_snapshot_update(d->snap, -1, err);
    if (rc == 0) rc = dc_delta_tx_new(&tx, d->snap, "WRITE", err);
    if (rc == 0) rc = dc_delta_tx_param(tx, "mode", "Append", err);
    for (size_t i = 0; rc == 0 && i < d->n_tps; i++) {
        rc = app_id(&app, d, d->tps[i].topic, d->tps[i].partition, err);
        if (rc == 0) rc = dc_delta_tx_set_txn(tx, (const char *)app.data, d->tps[i].last, err);
    }
    if (rc == 0) rc = dc_delta_file_writer_new(&fw, d->snap, NULL, err);
    if (rc == 0) rc = write_rows(fw, &d->rows, err);
    if (rc == 0) rc = dc_delta_file_writer_finish(fw, tx, err);
    if (rc == 0) rc = dc_delta_tx_commit(&v, tx, err);
    if (rc == 0) rc = dc_delta_snapshot_update(d->snap, v, err);
    if (rc == 0)
        DC_LOG(DC_LOG_INFO, "ingest", "dead-letter table: %zu records, version %" PRId64,
               d->n_rows, v);
    else
        dc_err_prefix(err, "dead-letter table");
    if (rc == 0) clear_pending(d);
    dc_delta_file_writer_free(fw);
    dc_delta_tx_free(tx);
    dc_buf_dispose(&app);
    return rc;
}

void ing_dlq_free(ing_dlq *d)
{
    if (!d) return;
    clear_pending(d);
    dc_free(d->tps);
    dc_buf_dispose(&d->rows);
    dc_delta_snapshot_free(d->snap);
    dc_storage_free(d->sto);
    dc_free(d->pipeline);
    dc_free(d);
}
