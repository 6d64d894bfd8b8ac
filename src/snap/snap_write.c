/*
 * snap: the output table and its one commit per date.
 *
 * The output is a plain partitioned Delta table (protocol 1/2, no deletion
 * vectors, no column mapping) so that every engine — and a symlink manifest
 * for Hive/Presto — reads it: the CDC table's columns by display name, then
 * data_date (string, the partition column). A date's commit removes every
 * live file of data_date=D and adds the new ones: readers see the old
 * partition or the new one. A CDC table that gained columns since the
 * output was created adds them in the same commit (schema evolution);
 * a column whose type changed is refused (rebuild the output).
 */
#include "snap_int.h"

#include "../maint/maint.h"

#define PART_COL "data_date"
/* Rows parsed into one arena before it is reset. */
#define ROWS_PER_ARENA 1024

int sn_fields_json(dc_buf *b, uint32_t *n_out, const char *schema_string,
                       const dc_delta_schema *skip, dc_err *err)
{
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    int rc = dc_json_parse(&doc, &a, schema_string, strlen(schema_string), err);
    const dc_json *fields = rc == 0 ? dc_json_get(doc, "fields") : NULL;
    if (rc == 0 && (!fields || fields->type != DC_JSON_ARRAY))
        rc = dc_err_set(err, DC_ECORRUPT, "a table schema without fields");
    for (uint32_t i = 0; rc == 0 && i < fields->len; i++) {
        const dc_json *f = &fields->u.items[i];
        const char *name = dc_json_str(dc_json_get(f, "name"));
        const dc_json *type = dc_json_get(f, "type"), *nullable = dc_json_get(f, "nullable");
        if (!name || !type) {
            rc = dc_err_set(err, DC_ECORRUPT, "a schema field without name or type");
            break;
        }
        if (skip && dc_delta_schema_find(skip, name)) continue;
        rc = dc_buf_puts(b, ",{\"name\":", err);
        if (rc == 0) rc = dc_json_put_str(b, name, strlen(name), err);
        if (rc == 0) rc = dc_buf_puts(b, ",\"type\":", err);
        if (rc == 0) rc = dc_json_write(b, type, err);
        if (rc == 0) rc = dc_buf_appendf(b, err, ",\"nullable\":%s,\"metadata\":{}}",
                                         nullable && nullable->type == DC_JSON_FALSE ? "false"
                                                                                    : "true");
        (*n_out)++;
    }
    dc_arena_dispose(&a);
    return rc;
}

/* The schema of a new output table: the CDC table's columns, data_date
 * (partitioned: not for a rebase's history). */
static int new_schema(dc_buf *b, const sn_input *cdc, bool partitioned, dc_err *err)
{
    uint32_t n = 0;
    DC_TRY(dc_buf_puts(b, "{\"type\":\"struct\",\"fields\":[", err));
    const size_t at = b->len;
    DC_TRY(sn_fields_json(b, &n, sn_input_schema_string(cdc), NULL, err));
    if (b->len > at) memmove(b->data + at, b->data + at + 1, --b->len - at); /* first comma */
    if (partitioned)
        DC_TRY(dc_buf_appendf(b, err, "%s{\"name\":\"" PART_COL "\",\"type\":\"string\","
                              "\"nullable\":true,\"metadata\":{}}", n ? "," : ""));
    DC_TRY(dc_buf_puts(b, "]}", err));
    return dc_buf_putc(b, '\0', err);
}

static int create_out(dc_storage *st, const sn_input *cdc, const sn_layout *l, bool partitioned,
                      dc_err *err)
{
    dc_buf schema, keys;
    dc_buf_init(&schema, DC_JSON_MAX_DOC_BYTES);
    dc_buf_init(&keys, 1 << 16);
    int rc = new_schema(&schema, cdc, partitioned, err);
    for (uint32_t i = 0; rc == 0 && i < l->n_keys; i++)
        rc = dc_buf_appendf(&keys, err, "%s%s", i ? "," : "", l->keys[i]);
    if (rc == 0) rc = dc_buf_putc(&keys, '\0', err);
    if (rc == 0) {
        const char *const parts[] = {PART_COL};
        const dc_delta_kv conf[] = {{"deltacdc.key", (const char *)keys.data}};
        dc_delta_create_opts c;
        memset(&c, 0, sizeof c);
        c.schema_json = (const char *)schema.data;
        c.n_partition_columns = partitioned ? 1 : 0;
        c.partition_columns = parts;
        c.configuration = conf;
        c.n_configuration = 1;
        c.description = partitioned ? "deltacdc snapshot: the latest row per key, one "
                                      "partition per date"
                                    : "deltacdc rebase: the history, the latest row per key";
        rc = dc_delta_table_create(st, &c, err);
        if (rc == DC_EEXISTS) { /* created meanwhile by another run: use it */
            dc_err_clear(err);
            rc = 0;
        }
    }
    dc_buf_dispose(&schema);
    dc_buf_dispose(&keys);
    return rc;
}

/* Checks an existing output against the CDC table; *evolved gets the
 * schema with the CDC table's new columns appended (len 0: none). */
static int check_out(dc_buf *evolved, dc_delta_snapshot *out, const sn_input *cdc,
                     const char *uri, bool partitioned, dc_err *err)
{
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(out);
    const dc_delta_schema *os = NULL;
    DC_TRY(dc_delta_snapshot_schema(&os, out, err));
    if (partitioned && (m->n_partition_columns != 1 ||
                        strcmp(m->partition_columns[0], PART_COL) != 0))
        return dc_err_set(err, DC_EINVAL, "the output table %s is not partitioned by "
                          PART_COL " alone: not a snapshot table", uri);
    if (!partitioned && m->n_partition_columns)
        return dc_err_set(err, DC_EINVAL, "the history table %s is partitioned: a rebase "
                          "writes an unpartitioned history", uri);
    const dc_delta_field *root = &cdc->schema->root;
    for (uint32_t i = 0; i < root->n_children; i++) {
        const dc_delta_field *cf = &root->children[i];
        const dc_delta_field *of = dc_delta_schema_find(os, cf->name);
        if (of && (of->type != cf->type || of->precision != cf->precision ||
                   of->scale != cf->scale))
            return dc_err_set(err, DC_EINVAL, "column '%s' has another type in the CDC table "
                              "than in the output table %s (rebuild the output under a new "
                              "path)", cf->name, uri);
    }
    uint32_t n = 0;
    dc_buf add;
    dc_buf_init(&add, DC_JSON_MAX_DOC_BYTES);
    int rc = sn_fields_json(&add, &n, sn_input_schema_string(cdc), os, err);
    if (rc == 0 && n > 0) {
        /* The output's own schema text, its closing "]}" cut, then the new fields. */
        const char *s = m->schema_string;
        const char *end = strrchr(s, ']');
        if (!end) rc = dc_err_set(err, DC_ECORRUPT, "the output table's schema is damaged");
        if (rc == 0) rc = dc_buf_append(evolved, s, (size_t)(end - s), err);
        if (rc == 0) rc = dc_buf_append(evolved, add.data, add.len, err);
        if (rc == 0) rc = dc_buf_puts(evolved, "]}", err);
        if (rc == 0) rc = dc_buf_putc(evolved, '\0', err);
    }
    dc_buf_dispose(&add);
    return rc;
}

/* Removes every live file of data_date = date (NULL: every live file). */
static int remove_partition(uint64_t *n_out, dc_delta_tx *tx, const dc_delta_snapshot *out,
                            const char *date, dc_err *err)
{
    for (size_t i = 0; i < dc_delta_snapshot_n_files(out); i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(out, i);
        bool found = false;
        const char *v = date ? dc_delta_map_get(&a->partition_values, PART_COL, &found) : NULL;
        if (date && (!v || strcmp(v, date) != 0)) continue;
        DC_TRY(dc_delta_tx_remove_file(tx, a, true, err));
        (*n_out)++;
    }
    return 0;
}

/* Every key's newest row, deletes left out, into the file writer (with
 * data_date = date unless NULL). */
static int write_rows(dc_snap_result *res, dc_delta_file_writer *w, sn_sorter *s,
                      const char *date, dc_err *err)
{
    dc_arena a;
    dc_arena_init(&a, (size_t)1 << 32);
    dc_buf row;
    dc_buf_init(&row, SN_MAX_ROW_BYTES + 64);
    int rc = 0;
    uint64_t n = 0;
    for (;;) {
        const sn_hdr *h = NULL;
        const uint8_t *key = NULL, *text = NULL;
        bool done = false;
        if ((rc = sn_sorter_next(&h, &key, &text, &done, s, err)) < 0 || done) break;
        if (h->del) {
            res->deleted++;
            continue;
        }
        if (n++ % ROWS_PER_ARENA == 0) dc_arena_reset(&a);
        dc_buf_reset(&row);
        DC_ASSERT(h->rlen >= 2 && text[h->rlen - 1] == '}');
        rc = dc_buf_append(&row, text, h->rlen - (date ? 1 : 0), err);
        if (rc == 0 && date) rc = dc_buf_appendf(&row, err, "%s\"" PART_COL "\":\"%s\"}",
                                                 h->rlen > 2 ? "," : "", date);
        dc_json *obj = NULL;
        if (rc == 0) rc = dc_json_parse(&obj, &a, (const char *)row.data, row.len, err);
        if (rc == 0) rc = dc_delta_file_writer_write_row(w, obj, err);
        if (rc < 0) break;
        res->rows++;
    }
    dc_buf_dispose(&row);
    dc_arena_dispose(&a);
    return rc;
}

/* The commit's parameters and metrics, in Spark's words for a replaceWhere
 * (or an overwrite of the whole history). */
static int describe(dc_delta_tx *tx, const dc_snap_result *res, const sn_target *tg,
                    const sn_input *cdc, const sn_input *hist, dc_err *err)
{
    char pred[64], v[32];
    snprintf(pred, sizeof pred, "[\"(" PART_COL " = '%s')\"]", tg->date ? tg->date : "");
    DC_TRY(dc_delta_tx_param(tx, "mode", "Overwrite", err));
    if (tg->date) {
        DC_TRY(dc_delta_tx_param(tx, "partitionBy", "[\"" PART_COL "\"]", err));
        DC_TRY(dc_delta_tx_param(tx, "predicate", pred, err));
    }
    DC_TRY(dc_delta_tx_param(tx, "deltacdc.cdcTable", cdc->uri, err));
    snprintf(v, sizeof v, "%lld", (long long)res->cdc_version);
    DC_TRY(dc_delta_tx_param(tx, "deltacdc.cdcVersion", v, err));
    if (hist) {
        DC_TRY(dc_delta_tx_param(tx, "deltacdc.historyTable", hist->uri, err));
        snprintf(v, sizeof v, "%lld", (long long)res->history_version);
        DC_TRY(dc_delta_tx_param(tx, "deltacdc.historyVersion", v, err));
    }
    if (tg->txn_app) DC_TRY(dc_delta_tx_set_txn(tx, tg->txn_app, tg->txn_version, err));
    DC_TRY(dc_delta_tx_metric(tx, "numOutputRows", (int64_t)res->rows, err));
    DC_TRY(dc_delta_tx_metric(tx, "numRemovedFiles", (int64_t)res->replaced_files, err));
    return dc_delta_tx_metric(tx, "numDeletedKeys", (int64_t)res->deleted, err);
}

int sn_write(dc_snap_result *res, const sn_target *tg, sn_fold *f, dc_err *err)
{
    const sn_layout *l = &f->l;
    const sn_input *cdc = &f->cdc, *hist = f->has_hist ? &f->hist : NULL;
    dc_storage *st = NULL;
    dc_delta_snapshot *out = NULL;
    dc_delta_tx *tx = NULL;
    dc_delta_file_writer *w = NULL;
    dc_buf evolved;
    dc_buf_init(&evolved, DC_JSON_MAX_DOC_BYTES);
    const bool part = tg->date != NULL;
    int rc = dc_storage_open(&st, tg->uri, err);
    if (rc == 0) {
        rc = dc_delta_snapshot_load(&out, st, -1, err);
        if (rc == DC_ENOTFOUND) {
            dc_err_clear(err);
            rc = create_out(st, cdc, l, part, err);
            if (rc == 0) rc = dc_delta_snapshot_load(&out, st, -1, err);
        }
    }
    if (rc == 0) rc = check_out(&evolved, out, cdc, tg->uri, part, err);
    if (rc == 0) rc = dc_delta_tx_new(&tx, out, "WRITE", err);
    if (rc == 0 && evolved.len) rc = dc_delta_tx_set_schema(tx, (const char *)evolved.data, err);
    if (rc == 0) rc = dc_delta_file_writer_new(&w, out, evolved.len ? (const char *)evolved.data
                                                                    : NULL, err);
    if (rc == 0) rc = remove_partition(&res->replaced_files, tx, out, tg->date, err);
    if (rc == 0) rc = f->binary ? sn_bin_write(res, w, &f->bin, &f->s,
                                               f->streamed ? &f->hx.r : NULL, tg->date, err)
                                : write_rows(res, w, &f->s, tg->date, err);
    if (rc == 0) rc = dc_delta_file_writer_finish(w, tx, err);
    if (rc == 0) rc = describe(tx, res, tg, cdc, hist, err);
    if (rc == 0) {
        /* Two runs of one date must not both add: a concurrent add conflicts. */
        dc_delta_tx_mark_read_all(tx);
        rc = dc_delta_tx_commit(&res->version, tx, err);
    }
    if (rc == 0 && tg->manifest) {
        dc_maint_manifest_result mr;
        rc = dc_delta_tx_apply_to_snapshot(tx, res->version, err);
        if (rc == 0) rc = dc_maint_manifest_write(&mr, out, err);
        if (rc < 0) dc_err_prefix(err, "committed version %lld, then the symlink manifest",
                                  (long long)res->version);
    }
    if (rc < 0) dc_err_prefix(err, "%s table %s", part ? "output" : "history", tg->uri);
    dc_delta_file_writer_free(w);
    dc_delta_tx_free(tx);
    dc_delta_snapshot_free(out);
    dc_storage_free(st);
    dc_buf_dispose(&evolved);
    return rc;
}
