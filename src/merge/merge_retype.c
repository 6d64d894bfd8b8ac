/* merge: `deltacdc retype RAW TYPED` (issue 9), a typed table rebuilt from a
 * raw table: the recovery path after schema trouble. Every live raw row
 * (json_record, its operation, ts_ms and offset) goes through the typed
 * merge as the change event it was, with the Debezium schema its record
 * carried (merge_rawschema.c: the schema of the row's offset), so the typed
 * table's columns and values are those typed ingest gives. One pass over
 * the raw rows per schema, oldest schema first (by its first change point),
 * so the table evolves as it did under typed ingest: columns added, types
 * widened, dropped columns kept. The raw table's
 * txn positions are copied in the last commit, so `ingest --format typed`
 * goes on from where the raw table stood. A row has no source position (the
 * raw table keeps none): __source_pos is null, and such rows rank below
 * every positioned event (merge_int.h, DC_MTYPED_POS_BIT). */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "../json/dc_json.h"

/* Rows a batch of the retype takes at most (each batch its own commit). */
#define RETYPE_BATCH_ROWS 200000

typedef struct retype {
    const dc_merge_retype_opts *o;
    dc_storage *raw_sto;            /* owned */
    dc_delta_snapshot *raw;         /* owned */
    dc_merge_schema_set *schemas;   /* owned */
    dc_cdc_keyspec keys;            /* the raw table's key columns (names in its schema) */
    dc_cdc_key_type key_types[DC_CDC_MAX_KEYS];
    dc_merge_table *t;              /* the typed table, NULL until created */
    dc_merge_batch *b;              /* batch in hand */
    uint32_t n_batches;             /* batches so far (each its own "partition") */
    uint64_t in_batch;              /* rows in b */
    const dc_merge_schema *pass;    /* the schema whose rows this pass adds */
    dc_buf rec;                     /* the synthetic Debezium record of a row */
    dc_buf scratch;                 /* decoder scratch */
    dc_merge_retype_stats st;
} retype;

/* Key columns: the raw layout's columns before ts_ms. */
static int raw_keys(retype *r, dc_err *err)
{
    const dc_delta_schema *sch = NULL;
    DC_TRY(dc_delta_snapshot_schema(&sch, r->raw, err));
    const dc_delta_field *root = &sch->root;
    uint32_t ts = 0;
    while (ts < root->n_children && strcmp(root->children[ts].name, "ts_ms") != 0) ts++;
    if (ts == 0 || ts > DC_CDC_MAX_KEYS || ts + 4 != root->n_children ||
        strcmp(root->children[ts + 1].name, "json_record") != 0 ||
        strcmp(root->children[ts + 2].name, "operation_type") != 0 ||
        strcmp(root->children[ts + 3].name, "offset") != 0)
        return dc_err_set(err, DC_EINVAL, "not a raw table (key columns, then ts_ms, "
                          "json_record, operation_type, offset)");
    for (uint32_t i = 0; i < ts; i++) {
        r->keys.names[i] = root->children[i].name;
        const dc_type ty = root->children[i].type;
        r->key_types[i] = ty == DC_TYPE_BYTE || ty == DC_TYPE_SHORT || ty == DC_TYPE_INT ||
                          ty == DC_TYPE_LONG ? DC_CDC_KEY_LONG : DC_CDC_KEY_STRING;
    }
    r->keys.n = ts;
    return 0;
}

/* The schema of the row at `offset`; more than one candidate (partitions in
 * different schemas at that offset) is refused rather than guessed. */
static int row_schema(const dc_merge_schema **out, retype *r, int64_t offset, dc_err *err)
{
    uint32_t idx[2];
    const uint32_t n = dc_merge_schema_set_at(idx, 2, r->schemas, offset);
    if (n == 0)
        return dc_err_set(err, DC_EINVAL, "no schema kept for offset %" PRId64 " (no change "
                          "point at or before it in %s)", offset, DC_MERGE_SCHEMAS_DIR);
    if (n > 1)
        return dc_err_set(err, DC_EUNSUPPORTED, "offset %" PRId64 " has two schemas (%.12s, "
                          "%.12s: partitions in different schemas there); retype can not tell "
                          "which the row used", offset,
                          dc_merge_schema_set_get(r->schemas, idx[0])->id,
                          dc_merge_schema_set_get(r->schemas, idx[1])->id);
    *out = dc_merge_schema_set_get(r->schemas, idx[0]);
    return 0;
}

static int open_typed(retype *r, const dc_merge_schema *create, dc_err *err)
{
    dc_merge_opts mo;
    memset(&mo, 0, sizeof mo);
    mo.table_uri = r->o->typed_uri;
    mo.pipeline = DC_MERGE_RETYPE_PIPELINE;
    mo.mode = r->o->mode;
    mo.format = DC_FORMAT_TYPED;
    mo.typed = r->o->typed;
    mo.typed.create_schema = create->block;
    mo.typed.create_schema_len = create->len;
    mo.keys = r->keys;
    memcpy(mo.key_types, r->key_types, sizeof mo.key_types);
    mo.create_if_missing = true;
    return dc_merge_table_open(&r->t, &mo, err);
}

static int flush(retype *r, dc_err *err)
{
    if (!r->b) return 0;
    dc_merge_result res;
    memset(&res, 0, sizeof res);
    int rc = dc_merge_batch_commit(&res, r->b, err);
    dc_merge_batch_free(r->b);
    r->b = NULL;
    r->in_batch = 0;
    r->n_batches++;
    if (rc == 0) {
        r->st.commits++;
        r->st.rows_out += res.inserted;
    }
    return rc;
}

/* One raw row (a JSON line of the scan) into the batch. */
static int add_row(retype *r, const dc_json *row, dc_err *err)
{
    const dc_json *jr = dc_json_get(row, "json_record");
    const dc_json *op = dc_json_get(row, "operation_type");
    const dc_json *ts = dc_json_get(row, "ts_ms");
    int64_t offset = 0;
    DC_TRY(dc_json_i64(&offset, dc_json_get(row, "offset"), "offset", err));
    if (!jr || jr->type != DC_JSON_STRING || !op || op->type != DC_JSON_STRING || op->len != 1)
        return dc_err_set(err, DC_EINVAL, "offset %" PRId64 ": no json_record or "
                          "operation_type", offset);
    const dc_merge_schema *sch = NULL;
    DC_TRY(row_schema(&sch, r, offset, err));
    if (sch != r->pass) return 0; /* another pass's */
    if (!r->t) DC_TRY(open_typed(r, sch, err));
    dc_buf *b = &r->rec;
    dc_buf_reset(b);
    const bool del = op->u.str[0] == 'd';
    DC_TRY(dc_buf_puts(b, "{\"schema\":", err));
    DC_TRY(dc_buf_append(b, sch->block, sch->len, err));
    DC_TRY(dc_buf_puts(b, ",\"payload\":{\"before\":", err));
    DC_TRY(del ? dc_buf_append(b, jr->u.str, jr->len, err) : dc_buf_puts(b, "null", err));
    DC_TRY(dc_buf_puts(b, ",\"after\":", err));
    DC_TRY(del ? dc_buf_puts(b, "null", err) : dc_buf_append(b, jr->u.str, jr->len, err));
    DC_TRY(dc_buf_appendf(b, err, ",\"op\":\"%c\"", op->u.str[0]));
    if (ts && ts->type == DC_JSON_NUMBER)
        DC_TRY(dc_buf_appendf(b, err, ",\"ts_ms\":%.*s", (int)ts->len, ts->u.str));
    DC_TRY(dc_buf_puts(b, "}}", err));
    dc_cdc_event ev;
    DC_TRY(dc_cdc_decode(&ev, &r->scratch, &r->keys, (const char *)b->data, b->len, err));
    if (r->b && (r->in_batch >= RETYPE_BATCH_ROWS || !dc_merge_batch_has_room(r->b, &ev)))
        DC_TRY(flush(r, err));
    if (!r->b) DC_TRY(dc_merge_batch_new(&r->b, r->t, err));
    /* each batch its own "partition": offsets repeat across the raw
     * table's partitions, and a batch skips offsets its partition has */
    DC_TRY(dc_merge_batch_add(r->b, &ev, DC_MERGE_RETYPE_TOPIC, (int32_t)r->n_batches, offset,
                              err));
    r->in_batch++;
    r->st.rows_in++;
    return 0;
}

static int scan_rows(retype *r, dc_err *err)
{
    dc_delta_scan *sc = NULL;
    dc_buf lines;
    dc_buf_init(&lines, (size_t)1 << 34);
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    int rc = dc_delta_scan_new(&sc, r->raw, NULL, 0, err);
    for (bool done = false; rc == 0 && !done;) {
        dc_buf_reset(&lines);
        rc = dc_delta_scan_next(sc, &lines, &done, err);
        const char *p = (const char *)lines.data, *end = p + lines.len;
        while (rc == 0 && p && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            dc_json *row = NULL;
            dc_arena_reset(&a);
            rc = dc_json_parse(&row, &a, p, n, err);
            if (rc == 0) rc = add_row(r, row, err);
            if (rc < 0 && row) {
                const dc_json *k = dc_json_get(row, r->keys.names[0]);
                dc_buf kb;
                dc_buf_init(&kb, 4096);
                if (k && dc_json_write(&kb, k, err) == 0 && dc_buf_putc(&kb, 0, err) == 0)
                    dc_err_prefix(err, "raw row %s = %s", r->keys.names[0],
                                  (const char *)kb.data);
                dc_buf_dispose(&kb);
            }
            p += n + 1;
        }
    }
    dc_delta_scan_free(sc);
    dc_arena_dispose(&a);
    dc_buf_dispose(&lines);
    return rc;
}

/* The raw table's positions (txns) into the typed table, in one commit. */
static int copy_positions(retype *r, dc_err *err)
{
    const size_t n = dc_delta_snapshot_n_txns(r->raw);
    if (!n || !r->t) return 0;
    dc_delta_tx *tx = NULL;
    int64_t v = -1;
    int rc = dc_delta_tx_new(&tx, dc_merge_table_snapshot(r->t), "SET TBLPROPERTIES", err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const dc_delta_txn *x = dc_delta_snapshot_txn(r->raw, i);
        rc = dc_delta_tx_set_txn(tx, x->app_id, x->version, err);
    }
    if (rc == 0) rc = dc_delta_tx_param(tx, "deltacdc.retypedFrom", r->o->raw_uri, err);
    if (rc == 0) rc = dc_delta_tx_commit(&v, tx, err);
    if (rc == 0) r->st.positions = n;
    dc_delta_tx_free(tx);
    return rc;
}

int dc_merge_retype(dc_merge_retype_stats *out, const dc_merge_retype_opts *o, dc_err *err)
{
    retype r;
    memset(&r, 0, sizeof r);
    r.o = o;
    dc_buf_init(&r.rec, DC_JSON_MAX_DOC_BYTES);
    dc_buf_init(&r.scratch, DC_JSON_MAX_DOC_BYTES);
    dc_storage *tsto = NULL;
    dc_delta_snapshot *tsnap = NULL;
    int rc = dc_storage_open(&r.raw_sto, o->raw_uri, err);
    if (rc == 0) rc = dc_delta_snapshot_load(&r.raw, r.raw_sto, -1, err);
    if (rc == 0) rc = raw_keys(&r, err);
    if (rc == 0) rc = dc_merge_schema_set_load(&r.schemas, r.raw_sto, err);
    if (rc == 0 && dc_merge_schema_set_count(r.schemas) == 0)
        rc = dc_err_set(err, DC_EINVAL, "it keeps no Debezium schemas (%s/ is empty: the "
                        "stream had no schema blocks, or the table was written before "
                        "deltacdc kept them)", DC_MERGE_SCHEMAS_DIR);
    if (rc < 0) {
        dc_err_prefix(err, "raw table %s", o->raw_uri);
        goto out;
    }
    /* a typed table that exists is not overwritten (nor merged into) */
    rc = dc_storage_open(&tsto, o->typed_uri, err);
    if (rc == 0) rc = dc_delta_snapshot_load(&tsnap, tsto, -1, err);
    if (rc == 0) {
        rc = dc_err_set(err, DC_EEXISTS, "typed table %s exists: retype writes a new table "
                        "(remove it, or give another path)", o->typed_uri);
        goto out;
    }
    if (rc != DC_ENOTFOUND) goto out;
    dc_err_clear(err);
    uint32_t *order = NULL, n_order = 0;
    rc = dc_merge_schema_set_order(&order, &n_order, r.schemas, err);
    for (uint32_t i = 0; rc == 0 && i < n_order; i++) {
        r.pass = dc_merge_schema_set_get(r.schemas, order[i]);
        rc = scan_rows(&r, err);
        if (rc == 0) rc = flush(&r, err); /* one schema's rows per commit */
    }
    dc_free(order);
    if (rc == 0) rc = copy_positions(&r, err);
    if (rc < 0) dc_err_prefix(err, "retype %s -> %s", o->raw_uri, o->typed_uri);
out:
    if (out) *out = r.st;
    dc_merge_batch_free(r.b);
    dc_merge_table_free(r.t);
    dc_delta_snapshot_free(tsnap);
    dc_storage_free(tsto);
    dc_merge_schema_set_free(r.schemas);
    dc_delta_snapshot_free(r.raw);
    dc_storage_free(r.raw_sto);
    dc_buf_dispose(&r.rec);
    dc_buf_dispose(&r.scratch);
    return rc;
}
