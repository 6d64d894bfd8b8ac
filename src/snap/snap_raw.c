/*
 * snap: a raw (the seed's layout) table as an input — key columns, ts_ms,
 * json_record, operation_type, offset. Its json_record is decoded the way
 * the seed's nightly job parses it, but exactly: with the Debezium schema
 * the record carried (the raw table keeps every schema it has seen,
 * merge_rawschema.c: the schema of a row is its offset's), into the typed
 * columns typed ingest would give (src/cdc's one type mapping), then
 * <prefix>op, <prefix>ts_ms and <prefix>offset from the raw row (and
 * <prefix>source_pos, <prefix>deleted: null, a raw row has neither), so that
 * each raw row enters the merge as the typed row it stands for and ranks by
 * (ts_ms, offset) like the raw table's own MERGE.
 *
 * The columns the input offers (its "schema" for the snapshot: the output's
 * columns, and what a history must agree with) are those of every schema
 * kept, oldest first by their first change point; a column a later schema
 * changed takes the later type (values decoded with an older schema still
 * fit a widened type), a column a later schema dropped stays (null in the
 * rows without it).
 */
#include "snap_int.h"

#include <inttypes.h>
#include <stdlib.h>

#include "../merge/merge.h"

/* The raw layout: key columns, then exactly these. */
static const char *const RAW_TAIL[] = {"ts_ms", "json_record", "operation_type", "offset"};

bool sn_raw_layout(const dc_delta_schema *s, uint32_t *n_keys)
{
    const dc_delta_field *root = &s->root;
    if (root->n_children < 5) return false;
    const uint32_t k = root->n_children - 4;
    for (uint32_t i = 0; i < 4; i++)
        if (strcmp(root->children[k + i].name, RAW_TAIL[i]) != 0) return false;
    if (n_keys) *n_keys = k;
    return true;
}

/* One column of the offered schema: its name and StructField JSON. */
typedef struct vcol {
    char *name;
    dc_buf json;
} vcol;

/* Adds (or, for a name already there, replaces) the columns of one schema. */
static int add_schema(vcol **cols, uint32_t *n, const dc_merge_schema *sch, dc_err *err)
{
    dc_cdc_tschema *ts = NULL;
    DC_TRY(dc_cdc_tschema_from_block(&ts, NULL, sch->block, sch->len, err));
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < dc_cdc_tschema_ncols(ts); i++) {
        const dc_cdc_tcol *c = dc_cdc_tschema_col(ts, i);
        uint32_t j = 0;
        while (j < *n && strcmp((*cols)[j].name, c->name) != 0) j++;
        if (j == *n) {
            vcol *grown = dc_realloc(*cols, (*n + 1) * sizeof **cols);
            if (!grown) {
                rc = dc_err_set(err, DC_ENOMEM, "out of memory");
                break;
            }
            *cols = grown;
            memset(&grown[j], 0, sizeof grown[j]);
            dc_buf_init(&grown[j].json, DC_JSON_MAX_DOC_BYTES);
            (*n)++;
            if (!(grown[j].name = dc_strndup(c->name, c->name_len))) {
                rc = dc_err_set(err, DC_ENOMEM, "out of memory");
                break;
            }
        }
        dc_buf_reset(&(*cols)[j].json);
        rc = dc_cdc_tcol_delta_json(&(*cols)[j].json, c, err);
    }
    dc_cdc_tschema_free(ts);
    return rc;
}

/* The offered schema's JSON text into out (NUL-terminated). */
static int offered_schema(dc_buf *out, const dc_merge_schema_set *set, const sn_layout *l,
                          dc_err *err)
{
    uint32_t *order = NULL, n = 0;
    DC_TRY(dc_merge_schema_set_order(&order, &n, set, err));
    vcol *cols = NULL;
    uint32_t nc = 0;
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = add_schema(&cols, &nc, dc_merge_schema_set_get(set, order[i]), err);
    if (rc == 0) rc = dc_buf_puts(out, "{\"type\":\"struct\",\"fields\":[", err);
    for (uint32_t i = 0; rc == 0 && i < nc; i++) {
        rc = dc_buf_append(out, cols[i].json.data, cols[i].json.len, err);
        if (rc == 0) rc = dc_buf_putc(out, ',', err);
    }
    /* all of the typed layout's metadata columns, so that a typed history
     * (a bootstrap's, with __source_pos) agrees; raw rows have no source
     * position and no soft-delete flag: null */
    static const char *const type[SN_M_N] = {"string", "long", "long", "string", "boolean"};
    for (int i = 0; rc == 0 && i < SN_M_N; i++)
        rc = dc_buf_appendf(out, err, "%s{\"name\":\"%s\",\"type\":\"%s\",\"nullable\":true,"
                            "\"metadata\":{}}", i ? "," : "", l->meta[i], type[i]);
    if (rc == 0) rc = dc_buf_puts(out, "]}", err);
    if (rc == 0) rc = dc_buf_putc(out, '\0', err);
    for (uint32_t i = 0; i < nc; i++) {
        dc_free(cols[i].name);
        dc_buf_dispose(&cols[i].json);
    }
    dc_free(cols);
    dc_free(order);
    return rc;
}

int sn_raw_open(sn_input *in, const sn_layout *l, dc_err *err)
{
    in->raw = true;
    DC_TRY(dc_merge_schema_set_load(&in->schemas, in->st, err));
    if (dc_merge_schema_set_count(in->schemas) == 0)
        return dc_err_set(err, DC_EINVAL, "a raw table that keeps no Debezium schemas (%s/ is "
                          "empty: the stream had no schema blocks, or the table was written "
                          "before deltacdc kept them): its json_record can not be decoded "
                          "exactly", DC_MERGE_SCHEMAS_DIR);
    dc_buf_init(&in->offered_json, DC_JSON_MAX_DOC_BYTES);
    DC_TRY(offered_schema(&in->offered_json, in->schemas, l, err));
    DC_TRY(dc_delta_schema_parse(&in->offered, (const char *)in->offered_json.data,
                                 in->offered_json.len - 1, err));
    in->schema = in->offered;
    dc_cdc_tschema_cache_init(&in->cache, NULL);
    in->cache_on = true;
    dc_buf_init(&in->typed, SN_MAX_ROW_BYTES);
    return 0;
}

void sn_raw_dispose(sn_input *in)
{
    if (!in->raw) return;
    dc_merge_schema_set_free(in->schemas);
    dc_delta_schema_free(in->offered);
    dc_buf_dispose(&in->offered_json);
    dc_buf_dispose(&in->typed);
    if (in->cache_on) dc_cdc_tschema_cache_dispose(&in->cache);
}

/* The schema of the raw row at `offset` (one candidate, as retype wants). */
static int row_schema(const dc_merge_schema **out, const sn_input *in, int64_t offset,
                      dc_err *err)
{
    uint32_t idx[2];
    const uint32_t n = dc_merge_schema_set_at(idx, 2, in->schemas, offset);
    if (n == 0)
        return dc_err_set(err, DC_EINVAL, "no Debezium schema kept for offset %" PRId64
                          " (no change point at or before it in %s)", offset,
                          DC_MERGE_SCHEMAS_DIR);
    if (n > 1)
        return dc_err_set(err, DC_EUNSUPPORTED, "offset %" PRId64 " has two schemas (partitions "
                          "in different schemas there): which one the row used is unknown",
                          offset);
    *out = dc_merge_schema_set_get(in->schemas, idx[0]);
    return 0;
}

int sn_raw_row(const char **row, size_t *len, sn_input *in, const sn_layout *l,
               const char *line, size_t n, dc_arena *a, dc_err *err)
{
    dc_json *obj = NULL;
    DC_TRY(dc_json_parse(&obj, a, line, n, err));
    const dc_json *jr = dc_json_get(obj, "json_record");
    const dc_json *op = dc_json_get(obj, "operation_type");
    const dc_json *ts = dc_json_get(obj, "ts_ms");
    int64_t offset = 0;
    DC_TRY(dc_json_i64(&offset, dc_json_get(obj, "offset"), "offset", err));
    if (!jr || jr->type != DC_JSON_STRING || !op || op->type != DC_JSON_STRING || op->len != 1)
        return dc_err_set(err, DC_EINVAL, "offset %" PRId64 ": no json_record or "
                          "operation_type", offset);
    const dc_merge_schema *sch = NULL;
    const dc_cdc_tschema *ts_cols = NULL;
    DC_TRY(row_schema(&sch, in, offset, err));
    DC_TRY(dc_cdc_tschema_cache_get(&ts_cols, &in->cache, sch->block, sch->len, err));
    dc_buf *b = &in->typed;
    dc_buf_reset(b);
    DC_TRY(dc_buf_putc(b, '{', err));
    const size_t at = b->len;
    int rc = dc_cdc_typed_members(b, ts_cols, jr->u.str, jr->len, err);
    if (rc < 0) {
        dc_err_prefix(err, "offset %" PRId64 ", json_record", offset);
        return rc;
    }
    DC_TRY(dc_buf_appendf(b, err, "%s\"%s\":\"%c\",\"%s\":", b->len > at ? "," : "",
                          l->meta[SN_M_OP], op->u.str[0], l->meta[SN_M_TS]));
    if (ts && ts->type == DC_JSON_NUMBER) DC_TRY(dc_buf_append(b, ts->u.str, ts->len, err));
    else DC_TRY(dc_buf_puts(b, "null", err));
    DC_TRY(dc_buf_appendf(b, err, ",\"%s\":%" PRId64 "}", l->meta[SN_M_OFF], offset));
    *row = (const char *)b->data;
    *len = b->len;
    return 0;
}
