/*
 * snap: `deltacdc snapshot` from end to end (snap.h): check the inputs, read
 * them into sorted runs, merge, write the partition in one commit. Also the
 * Hive DDL of the output.
 */
#include "snap_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void dc_snap_opts_init(dc_snap_opts *o)
{
    memset(o, 0, sizeof *o);
    o->memory_bytes = (int64_t)512 << 20;
    o->manifest = true;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* YYYY-MM-DD, a real calendar date. */
static int check_date(const char *d, dc_err *err)
{
    int y = 0, m = 0, day = 0, n = 0;
    if (!d || sscanf(d, "%4d-%2d-%2d%n", &y, &m, &day, &n) != 3 || n != 10 || d[n] ||
        d[4] != '-' || d[7] != '-' || y < 1 || m < 1 || m > 12 || day < 1 || day > 31)
        goto bad;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = day, .tm_hour = 12};
    (void)timegm(&tm);
    if (tm.tm_mday != day) goto bad;
    return 0;
bad:
    return dc_err_set(err, DC_EINVAL, "--date '%s': expected a date YYYY-MM-DD", d ? d : "");
}

/* The history's columns must be the CDC table's (the seed's {hive_columns}
 * = {delta_columns}), with the same types; and with a history, the CDC
 * table must keep its deletes, or a key deleted since would come back. */
static int check_inputs(const sn_input *cdc, const sn_input *hist, const sn_layout *l,
                        dc_err *err)
{
    if (!cdc->has_meta[SN_M_OP])
        return dc_err_set(err, DC_EUNSUPPORTED, "the CDC table %s has no %s column: neither "
                          "a typed table nor a raw one (key columns, ts_ms, json_record, "
                          "operation_type, offset)", cdc->uri, l->meta[SN_M_OP]);
    if (!hist) return 0;
    if (!cdc->has_meta[SN_M_DEL] && !cdc->raw) /* raw tables keep their delete rows */
        return dc_err_set(err, DC_EINVAL, "the CDC table %s removes deleted rows (typed, "
                          "without %s): a key deleted since the history would come back from "
                          "the history. Ingest with soft_deletes: true, or bootstrap the "
                          "history into the CDC table and snapshot it without --history",
                          cdc->uri, l->meta[SN_M_DEL]);
    const dc_delta_field *root = &hist->schema->root;
    for (uint32_t i = 0; i < root->n_children; i++) {
        const dc_delta_field *hf = &root->children[i];
        const dc_delta_field *cf = dc_delta_schema_find(cdc->schema, hf->name);
        if (!cf)
            return dc_err_set(err, DC_EINVAL, "column '%s' of the history table %s is not in "
                              "the CDC table %s", hf->name, hist->uri, cdc->uri);
        if (cf->type != hf->type || cf->precision != hf->precision || cf->scale != hf->scale)
            return dc_err_set(err, DC_EINVAL, "column '%s' has another type in the history "
                              "table %s than in the CDC table %s", hf->name, hist->uri,
                              cdc->uri);
    }
    return 0;
}

/* Opens the inputs (the CDC table at `version`, else at as_of, else the
 * latest) and settles the key. */
static int open_inputs(dc_snap_result *res, sn_input *cdc, sn_input *hist, sn_layout *l,
                       const dc_snap_opts *o, int64_t version, dc_err *err)
{
    if (version < 0 && o->as_of) {
        dc_storage *st = NULL;
        int rc = dc_storage_open(&st, o->cdc_uri, err);
        if (rc == 0) rc = sn_as_of_version(&version, st, o->as_of, err);
        dc_storage_free(st);
        if (rc < 0) {
            dc_err_prefix(err, "CDC table %s", o->cdc_uri);
            return rc;
        }
    }
    DC_TRY(sn_input_open(cdc, "CDC", o->cdc_uri, version, l, err));
    res->cdc_version = dc_delta_snapshot_version(cdc->snap);
    if (o->history_uri) {
        DC_TRY(sn_input_open(hist, "history", o->history_uri, -1, l, err));
        res->history_version = dc_delta_snapshot_version(hist->snap);
    }
    DC_TRY(check_inputs(cdc, o->history_uri ? hist : NULL, l, err));
    return sn_layout_keys(l, o->key, cdc, o->history_uri ? hist : NULL, err);
}

/* The second thread's share of the reading (both cores: decoding and
 * sorting overlap). Binary rows: the history's order is checked first; a
 * history in key order is streamed at the merge (sn_hist), and this thread
 * then reads CDC files (claimed one at a time, beside the first thread)
 * into its own sorter — as it does without a history; any other history is
 * read into that sorter. JSON rows: the history, into its sorter. */
typedef struct hist_job {
    sn_fold *f;                 /* inputs, layout, bin (read only); f->hs its own */
    sn_input *hist;             /* the history, or NULL */
    const int64_t *floor;       /* the CDC rows' floor (read only) */
    atomic_size_t *claim;       /* the CDC files' next index, shared; NULL: none to share */
    bool streamed;              /* out: the history streams (f->hx) */
    sn_read_stats st;           /* out: history rows read */
    sn_read_stats cst;          /* out: CDC rows read */
    dc_err err;                 /* out */
    int rc;                     /* out */
} hist_job;

static void *hist_main(void *arg)
{
    hist_job *j = arg;
    sn_fold *f = j->f;
    const sn_bin *bin = f->binary ? &f->bin : NULL;
    dc_err_clear(&j->err);
    j->rc = 0;
    if (j->hist && bin) {
        j->rc = sn_hist_check(&j->streamed, &f->hx, &j->err);
        if (j->rc == 0 && j->streamed) j->st.rows = f->hx.rows;
    }
    if (j->rc == 0 && j->hist && !j->streamed)
        j->rc = bin ? sn_bin_read(&j->st, j->hist, true, NULL, f->cdc.has_meta, &f->l, bin,
                                  &f->hs, NULL, &j->err)
                    : sn_input_read(&j->st, j->hist, true, NULL, f->cdc.has_meta, &f->l, &f->hs,
                                    &j->err);
    else if (j->rc == 0 && j->claim)
        j->rc = sn_bin_read(&j->cst, &f->cdc, false, j->floor, NULL, &f->l, bin, &f->hs,
                            j->claim, &j->err);
    if (j->rc == 0) sn_sorter_sort(&f->hs); /* here, beside the first thread's reading */
    return NULL;
}

/* Reads the CDC table into f->s (and f->hs, on a second thread) and the
 * history (when there is one) into f->hs or its stream f->hx. */
static int read_inputs(dc_snap_result *out, sn_fold *f, dc_err *err)
{
    sn_input *hist = f->has_hist ? &f->hist : NULL;
    const sn_bin *bin = f->binary ? &f->bin : NULL;
    atomic_size_t claim = 0;
    const int64_t *floor = hist && hist->has_floor ? hist->floor : NULL;
    hist_job j = {.f = f, .hist = hist, .floor = floor, .claim = bin ? &claim : NULL};
    pthread_t th;
    bool threaded = false;
    if (hist || bin) {
        threaded = pthread_create(&th, NULL, hist_main, &j) == 0;
        if (!threaded) hist_main(&j);
    }
    sn_read_stats st;
    int rc = bin ? sn_bin_read(&st, &f->cdc, false, floor, NULL, &f->l, bin, &f->s, j.claim, err)
                 : sn_input_read(&st, &f->cdc, false, floor, NULL, &f->l, &f->s, err);
    if (threaded) pthread_join(th, NULL);
    f->streamed = j.streamed;
    out->cdc_rows = st.rows + j.cst.rows;
    out->floor_skipped = st.floor_skipped + j.cst.floor_skipped;
    out->history_rows = j.st.rows;
    if (j.rc < 0 && (rc == 0 || rc == DC_EUNSUPPORTED)) {
        *err = j.err;
        return j.rc;
    }
    return rc;
}

/* The inputs into sorted runs: as binary rows when both tables' columns
 * allow (sn_bin), else — or when a data file stores a column otherwise —
 * as JSON rows (the runs started over). Binary rows fill two sorters of
 * half the budget each (both threads read); JSON rows too with a history
 * (its own), else one of the whole budget. */
static int read_runs(dc_snap_result *out, sn_fold *f, const dc_snap_opts *o, dc_err *err)
{
    sn_input *hist = f->has_hist ? &f->hist : NULL;
    int rc = sn_bin_init(&f->bin, &f->cdc, hist, &f->l, err);
    f->binary = rc == 0;
    if (rc == 0 && hist) {
        rc = sn_hist_init(&f->hx, hist, f->cdc.has_meta, &f->l, &f->bin, err);
        f->has_hx = true;
    }
    if (rc == 0) rc = read_inputs(out, f, err); /* the sorters have half each */
    if (rc != DC_EUNSUPPORTED) return rc;
    DC_LOG(DC_LOG_INFO, "snap", "rows read as JSON: %s", err->msg);
    dc_err_clear(err);
    f->binary = f->streamed = false;
    sn_sorter_dispose(&f->s);
    sn_sorter_dispose(&f->hs);
    const int64_t budget = hist ? o->memory_bytes / 2 : o->memory_bytes;
    sn_sorter_init(&f->s, budget, o->tmp_dir);
    sn_sorter_init(&f->hs, budget, o->tmp_dir);
    return read_inputs(out, f, err);
}

int sn_fold_run(sn_fold *f, dc_snap_result *out, const dc_snap_opts *o, int64_t version,
                dc_err *err)
{
    memset(f, 0, sizeof *f);
    f->has_hist = o->history_uri != NULL;
    if (o->memory_bytes < ((int64_t)1 << 20))
        return dc_err_set(err, DC_EINVAL, "a memory budget of at least 1MiB is "
                          "needed");
    sn_sorter_init(&f->s, o->memory_bytes / 2, o->tmp_dir);
    sn_sorter_init(&f->hs, o->memory_bytes / 2, o->tmp_dir);
    int rc = sn_layout_init(&f->l, o->meta_prefix, err);
    if (rc == 0) rc = open_inputs(out, &f->cdc, &f->hist, &f->l, o, version, err);
    if (rc == 0) rc = read_runs(out, f, o, err);
    if (rc == 0) rc = sn_sorter_finish(&f->s, &f->hs, f->streamed ? &f->hx.stream : NULL, err);
    out->history_streamed = f->streamed;
    out->runs_spilled = f->s.n_spills + f->hs.n_spills;
    out->spill_bytes = f->s.spill_bytes + f->hs.spill_bytes;
    return rc;
}

void sn_fold_dispose(sn_fold *f)
{
    if (f->has_hx) sn_hist_dispose(&f->hx);
    sn_bin_dispose(&f->bin);
    sn_sorter_dispose(&f->s);
    sn_sorter_dispose(&f->hs);
    sn_input_dispose(&f->cdc);
    sn_input_dispose(&f->hist);
    sn_layout_dispose(&f->l);
}

int dc_snap_run(dc_snap_result *out, const dc_snap_opts *o, dc_err *err)
{
    memset(out, 0, sizeof *out);
    out->version = out->cdc_version = out->history_version = -1;
    const double t0 = now_s();
    if (!o->cdc_uri || !o->out_uri)
        return dc_err_set(err, DC_EINVAL, "the CDC table and the output are required");
    DC_TRY(check_date(o->date, err));
    sn_fold f;
    int rc = sn_fold_run(&f, out, o, -1, err);
    const sn_target tg = {.uri = o->out_uri, .date = o->date, .manifest = o->manifest};
    if (rc == 0) rc = sn_write(out, &tg, &f, err);
    sn_fold_dispose(&f);
    out->seconds = now_s() - t0;
    return rc;
}

/* ---------------------------------------------------------------- DDL */

int sn_hive_type(dc_buf *out, const dc_delta_field *f, dc_err *err)
{
    static const char *const names[] = {
        [DC_TYPE_BOOLEAN] = "BOOLEAN", [DC_TYPE_BYTE] = "TINYINT", [DC_TYPE_SHORT] = "SMALLINT",
        [DC_TYPE_INT] = "INT", [DC_TYPE_LONG] = "BIGINT", [DC_TYPE_FLOAT] = "FLOAT",
        [DC_TYPE_DOUBLE] = "DOUBLE", [DC_TYPE_STRING] = "STRING", [DC_TYPE_BINARY] = "BINARY",
        [DC_TYPE_DATE] = "DATE", [DC_TYPE_TIMESTAMP] = "TIMESTAMP",
        [DC_TYPE_TIMESTAMP_NTZ] = "TIMESTAMP"};
    if (f->type == DC_TYPE_DECIMAL)
        return dc_buf_appendf(out, err, "DECIMAL(%d,%d)", (int)f->precision, (int)f->scale);
    if ((size_t)f->type < sizeof names / sizeof *names && names[f->type])
        return dc_buf_puts(out, names[f->type], err);
    return dc_err_set(err, DC_EUNSUPPORTED, "column '%s': no Hive type for it in the DDL "
                      "(nested columns are not written by snapshot)", f->name);
}

/* `name` with each dot-separated part in backquotes. */
static int put_name(dc_buf *out, const char *name, dc_err *err)
{
    DC_TRY(dc_buf_putc(out, '`', err));
    for (const char *p = name; *p; p++) {
        if (*p == '.') DC_TRY(dc_buf_puts(out, "`.`", err));
        else if (*p == '`') DC_TRY(dc_buf_puts(out, "``", err));
        else DC_TRY(dc_buf_putc(out, (uint8_t)*p, err));
    }
    return dc_buf_putc(out, '`', err);
}

/* The table's location as Hive wants it: URIs as they are, local paths
 * absolute with file:. */
static int location(dc_buf *out, const char *uri, dc_err *err)
{
    if (strstr(uri, "://")) return dc_buf_puts(out, uri, err);
    char *abs = realpath(uri, NULL);
    if (!abs) return dc_err_set(err, DC_ENOTFOUND, "output table %s: not found", uri);
    const int rc = dc_buf_appendf(out, err, "file:%s", abs);
    free(abs);
    return rc;
}

int dc_snap_ddl(dc_buf *out, const char *out_uri, const char *name, dc_err *err)
{
    dc_storage *st = NULL;
    dc_delta_snapshot *snap = NULL;
    const dc_delta_schema *ds = NULL;
    int rc = dc_storage_open(&st, out_uri, err);
    if (rc == 0) rc = dc_delta_snapshot_load(&snap, st, -1, err);
    if (rc == 0) rc = dc_delta_snapshot_schema(&ds, snap, err);
    if (rc == 0) rc = dc_buf_puts(out, "CREATE EXTERNAL TABLE IF NOT EXISTS ", err);
    if (rc == 0) rc = put_name(out, name, err);
    if (rc == 0) rc = dc_buf_puts(out, " (\n", err);
    const dc_delta_field *root = ds ? &ds->root : NULL;
    for (uint32_t i = 0, n = 0; rc == 0 && i < root->n_children; i++) {
        const dc_delta_field *f = &root->children[i];
        if (strcmp(f->name, "data_date") == 0) continue;
        rc = dc_buf_puts(out, n++ ? ",\n  " : "  ", err);
        if (rc == 0) rc = put_name(out, f->name, err);
        if (rc == 0) rc = dc_buf_putc(out, ' ', err);
        if (rc == 0) rc = sn_hive_type(out, f, err);
    }
    if (rc == 0) rc = dc_buf_puts(out, "\n)\nPARTITIONED BY (`data_date` STRING)\n"
                                  "ROW FORMAT SERDE "
                                  "'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'\n"
                                  "STORED AS INPUTFORMAT "
                                  "'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'\n"
                                  "OUTPUTFORMAT "
                                  "'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
                                  "LOCATION '", err);
    if (rc == 0) rc = location(out, out_uri, err);
    if (rc == 0) rc = dc_buf_puts(out, "/_symlink_format_manifest/';\nMSCK REPAIR TABLE ", err);
    if (rc == 0) rc = put_name(out, name, err);
    if (rc == 0) rc = dc_buf_puts(out, ";\n", err);
    if (rc < 0) dc_err_prefix(err, "DDL of %s", out_uri);
    dc_delta_snapshot_free(snap);
    dc_storage_free(st);
    return rc;
}
