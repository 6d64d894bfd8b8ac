/*
 * The bootstrap of one table (boot.h says what it promises and why).
 */
#include "boot_int.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <time.h>

#include "../delta/delta.h"
#include "../json/dc_json.h"


static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int split_table(boot *b, dc_err *err)
{
    const char *s = b->o->source_table, *dot = strchr(s, '.');
    const char *db = dot ? s : dc_mysql_db(b->m);
    const size_t dbn = dot ? (size_t)(dot - s) : strlen(db);
    const char *name = dot ? dot + 1 : s;
    if (dbn == 0) return dc_err_set(err, DC_EINVAL, "--source-table %s: no database (give DB.T "
                                    "or a database in the URL)", s);
    if (dbn >= sizeof b->db || strlen(name) >= sizeof b->name || !*name)
        return dc_err_set(err, DC_EINVAL, "--source-table '%s': bad name", s);
    memcpy(b->db, db, dbn);
    b->db[dbn] = 0;
    strcpy(b->name, name);
    snprintf(b->topic, sizeof b->topic, "%s.%s", b->db, b->name);
    return 0;
}

/* Key columns: --key, else the primary key; of the types dc_boot_key_ok takes. */
static int resolve_keys(boot *b, dc_arena *a, dc_err *err)
{
    const dc_mysql_table *st = &b->st;
    if (b->o->key) {
        DC_TRY(dc_cdc_keyspec_parse(&b->keys, a, b->o->key, err));
    } else {
        if (st->n_pk == 0)
            return dc_err_set(err, DC_EINVAL, "%s has no primary key: give --key COL[,COL] (a "
                              "unique, not null column set)", b->topic);
        if (st->n_pk > DC_CDC_MAX_KEYS) return dc_err_set(err, DC_ELIMIT, "key too wide");
        b->keys.n = st->n_pk;
        for (uint32_t i = 0; i < st->n_pk; i++) b->keys.names[i] = st->cols[st->pk[i]].name;
    }
    for (uint32_t i = 0; i < b->keys.n; i++) {
        const int32_t c = dc_mysql_table_find(st, b->keys.names[i]);
        if (c < 0) return dc_err_set(err, DC_EINVAL, "key column '%s' is not a column of %s",
                                     b->keys.names[i], b->topic);
        const dc_mysql_column *col = &st->cols[c];
        if (!dc_boot_key_ok(col))
            return dc_err_set(err, DC_EUNSUPPORTED, "key column '%s' (%s): typed tables take "
                              "integer, string, binary, date, datetime, timestamp and decimal "
                              "(up to 18 digits) key columns only", col->name, col->column_type);
        b->key_col[i] = (uint32_t)c;
    }
    return 0;
}

/* ------------------------------------------------------------ resume */

/* The committed chunk's commitInfo: its last key and first position. */
static int read_progress(boot *b, dc_boot_result *res, dc_err *err)
{
    dc_delta_snapshot *snap = dc_merge_table_snapshot(b->t);
    char app[700];
    snprintf(app, sizeof app, "%s/%s/0", BOOT_PIPELINE, b->topic);
    if (dc_delta_snapshot_txn_version(&b->chunk, snap, app) < 0) {
        b->chunk = 0;
        return 0;
    }
    char want[32];
    snprintf(want, sizeof want, "%" PRId64, b->chunk);
    dc_storage *s = NULL;
    DC_TRY(dc_storage_open(&s, b->o->table_uri, err));
    int rc = DC_ENOTFOUND;
    for (int64_t v = dc_delta_snapshot_version(snap); rc == DC_ENOTFOUND && v >= 0; v--) {
        dc_delta_commit *c = NULL;
        if (dc_delta_commit_read(&c, s, v, err) < 0) {
            dc_err_clear(err);
            break; /* cleaned up: older commits are gone too */
        }
        for (size_t i = 0; rc == DC_ENOTFOUND && i < c->n_actions; i++) {
            if (c->actions[i].type != DC_DELTA_ACTION_COMMIT_INFO) continue;
            dc_arena a;
            dc_arena_init(&a, 1 << 26);
            dc_json *doc = NULL;
            if (dc_json_parse(&doc, &a, c->actions[i].u.commit_info.json,
                              c->actions[i].u.commit_info.len, err) == 0) {
                const dc_json *p = dc_json_get(doc, "operationParameters");
                const char *ch = dc_json_str(dc_json_get(p, "bootstrap.chunk"));
                const char *lk = dc_json_str(dc_json_get(p, "bootstrap.lastKey"));
                const char *fp = dc_json_str(dc_json_get(p, "bootstrap.firstPosition"));
                const char *nr = dc_json_str(dc_json_get(p, "bootstrap.rows"));
                const char *dn = dc_json_str(dc_json_get(p, "bootstrap.done"));
                const char *tb = dc_json_str(dc_json_get(p, "bootstrap.source"));
                if (ch && lk && strcmp(ch, want) == 0 && tb && strcmp(tb, b->topic) == 0) {
                    dc_buf_reset(&b->last_key);
                    rc = dc_buf_puts(&b->last_key, lk, err);
                    if (fp) snprintf(res->first_pos, sizeof res->first_pos, "%s", fp);
                    b->rows_before = nr ? strtoull(nr, NULL, 10) : 0;
                    res->done = dn && strcmp(dn, "true") == 0;
                }
            }
            dc_err_clear(err);
            dc_arena_dispose(&a);
        }
        dc_delta_commit_free(c);
    }
    dc_storage_free(s);
    if (rc == DC_ENOTFOUND)
        return dc_err_set(err, DC_ECORRUPT, "%s: txn %s says chunk %s was committed but no "
                          "commit of it with bootstrap.lastKey is in the log", b->o->table_uri,
                          app, want);
    res->resumed = true;
    return rc;
}

static void progress(const boot *b, FILE *f, uint64_t rows, double t0, bool last)
{
    if (!f) return;
    const double dt = now_s() - t0;
    const double rate = dt > 0 ? (double)rows / dt : 0;
    const int64_t est = b->st.est_rows;
    const uint64_t done = b->rows_before + rows;
    char eta[64] = "?";
    if (est > 0 && rate > 0)
        snprintf(eta, sizeof eta, "%.0fs", done >= (uint64_t)est ? 0.0
                 : (double)((uint64_t)est - done) / rate);
    fprintf(f, "\r%s: %" PRIu64 " rows, %.0f rows/s, ETA %s   %s", b->topic, done, rate,
            last ? "0s" : eta, last ? "\n" : "");
    fflush(f);
}

/* Commit parameters of a chunk. */
static int chunk_params(dc_merge_batch *mb, const boot *b, const rblock *blk,
                        const dc_boot_result *res, uint64_t total, dc_err *err)
{
    char v[400];
    snprintf(v, sizeof v, "%" PRId64, b->chunk + 1);
    DC_TRY(dc_merge_batch_param(mb, "bootstrap.chunk", v, err));
    DC_TRY(dc_merge_batch_param(mb, "bootstrap.source", b->topic, err));
    DC_TRY(dc_merge_batch_param(mb, "bootstrap.lastKey", (const char *)blk->last_key.data, err));
    snprintf(v, sizeof v, "%s:%" PRId64, res->pos.file, res->pos.pos);
    DC_TRY(dc_merge_batch_param(mb, "bootstrap.position", v, err));
    DC_TRY(dc_merge_batch_param(mb, "bootstrap.gtid", res->pos.gtid, err));
    DC_TRY(dc_merge_batch_param(mb, "bootstrap.firstPosition", res->first_pos, err));
    snprintf(v, sizeof v, "%" PRIu64, total);
    DC_TRY(dc_merge_batch_param(mb, "bootstrap.rows", v, err));
    return dc_merge_batch_param(mb, "bootstrap.done", blk->last ? "true" : "false", err);
}

/* The block's rows as op r events into one batch, committed. */
static int commit_block(boot *b, const rblock *blk, dc_cdc_event *ev, dc_boot_result *res,
                        dc_err *err)
{
    dc_merge_batch *mb = NULL;
    dc_merge_result mr;
    int rc = dc_merge_batch_new(&mb, b->t, err);
    if (rc == 0) dc_merge_batch_history(mb, &ev->srcpos);
    if (rc == 0) dc_merge_batch_images_typed(mb); /* decoded by the reader */
    if (rc == 0 && blk->cols_ok) dc_merge_batch_columns(mb, b->pqs, blk->cols); /* and converted */
    if (rc == 0 && blk->imageless) dc_merge_batch_columns_only(mb); /* alone */
    const uint8_t *p = blk->data.data, *end = p + blk->data.len;
    for (uint64_t i = 0; rc == 0 && i < blk->n; i++) {
        DC_ASSERT(end - p >= 4);
        ev->after_len = dc_load_le32(p);
        ev->after = blk->imageless ? NULL : (const char *)p + 4;
        p += 4 + ev->after_len;
        ev->n_keys = b->keys.n;
        for (uint32_t k = 0; k < b->keys.n; k++) {
            if (dc_boot_key_long(b->st.cols[b->key_col[k]].enc)) {
                ev->keys[k].type = DC_CDC_KEY_LONG;
                ev->keys[k].i = (int64_t)dc_load_le64(p);
                p += 8;
            } else {
                const uint32_t n = dc_load_le32(p);
                ev->keys[k] = (dc_cdc_key){DC_CDC_KEY_STRING, 0, (const char *)p + 4, n};
                p += 4 + n;
            }
        }
        rc = dc_merge_batch_add(mb, ev, b->topic, 0, b->chunk + 1, err);
    }
    DC_ASSERT(rc < 0 || p == end);
    const uint64_t total = b->rows_before + res->rows + blk->n;
    if (rc == 0) rc = chunk_params(mb, b, blk, res, total, err);
    if (rc == 0) rc = dc_merge_batch_commit(&mr, mb, err);
    if (rc < 0 && dc_merge_batch_columns_refused(mb)) rc = BOOT_AGAIN;
    dc_merge_batch_free(mb);
    if (rc != 0) return rc;
    b->chunk++;
    res->version = mr.version;
    res->chunks++;
    res->rows += blk->n;
    DC_LOG(DC_LOG_DEBUG, "boot", "%s: chunk %" PRId64 " of %" PRIu64 " rows (%" PRIu64
           " read the short way) committed as version %" PRId64, b->topic, b->chunk, blk->n,
           blk->n_fast, mr.version);
    return 0;
}

/* The merge refused a chunk's columns alone (a stale row): the reader
 * stops, and reads it again with its images from then on. */
static int read_again(boot_reader *r, boot *b, const rblock *blk, dc_err *err)
{
    DC_LOG(DC_LOG_INFO, "boot", "%s: chunk %" PRId64 " is read again with its images (%s)",
           b->topic, b->chunk + 1, err->msg);
    dc_err_clear(err);
    dc_buf after; /* blk goes with the reader */
    dc_buf_init(&after, 1 << 20);
    int rc = blk->after.len ? dc_buf_append(&after, blk->after.data, blk->after.len, err) : 0;
    dc_boot_reader_stop(r);
    dc_buf_reset(&b->last_key); /* the reader's until it stopped */
    if (rc == 0 && after.len) rc = dc_buf_append(&b->last_key, after.data, after.len, err);
    dc_buf_dispose(&after);
    b->images = true;
    return rc < 0 ? rc : dc_boot_reader_start(r, b, err);
}

/* Chunks read by the reader thread, merged and committed here. */
static int copy_rows(boot *b, dc_boot_result *res, dc_cdc_event *ev, dc_err *err)
{
    boot_reader r;
    const double t0 = now_s();
    int rc = dc_boot_reader_start(&r, b, err);
    for (uint32_t i = 0; rc == 0; i++) {
        rblock *blk = dc_boot_reader_next(&r, i);
        if (blk->rc < 0) {
            *err = blk->err;
            rc = blk->rc;
            break;
        }
        if (blk->n > 0) rc = commit_block(b, blk, ev, res, err);
        if (rc == BOOT_AGAIN) {
            DC_ASSERT(blk->imageless);
            rc = read_again(&r, b, blk, err);
            i = UINT32_MAX; /* the restarted reader fills block 0 first */
            continue;
        }
        res->done = blk->last;
        dc_boot_reader_release(&r, blk);
        if (rc == 0) progress(b, b->o->progress, res->rows, t0, res->done);
        if (res->done || (b->o->stop && *b->o->stop)) break;
    }
    dc_boot_reader_stop(&r);
    return rc;
}

/* ------------------------------------------------------------- run */

/* The template event of every row: op r at the snapshot's position. */
static int event_template(dc_cdc_event *ev, const boot *b, const dc_boot_result *res,
                          dc_err *err)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = DC_CDC_CHANGE;
    ev->op = 'r';
    ev->has_ts_ms = true;
    ev->ts_ms = res->pos.ts_ms;
    ev->schema = (const char *)b->schema.data;
    ev->schema_len = (uint32_t)b->schema.len;
    ev->schema_id = dc_cdc_schema_id_new(); /* one block: the merge compares the id */
    const char *dot = strrchr(res->pos.file, '.');
    char *e = NULL;
    const long long fno = dot ? strtoll(dot + 1, &e, 10) : -1;
    if (!dot || e == dot + 1 || *e || fno < 0)
        return dc_err_set(err, DC_EINVAL, "binlog file name '%s' has no number", res->pos.file);
    ev->has_srcpos = true;
    ev->srcpos = (dc_cdc_srcpos){fno, res->pos.pos, 0, true};
    ev->src_file = res->pos.file;
    ev->src_file_len = (uint32_t)strlen(res->pos.file);
    if (res->pos.gtid[0]) {
        ev->gtid = res->pos.gtid;
        ev->gtid_len = (uint32_t)strlen(res->pos.gtid);
    }
    return 0;
}

/* Room in the key index for the rows still to come (the server's estimate
 * and a third more, keeping the index's probes short), made once: else
 * each chunk that outgrows the index rehashes every key it holds. */
static int reserve_keys(boot *b)
{
    const int64_t est = b->st.est_rows;
    if (est <= 0 || (uint64_t)est <= b->rows_before) return 0;
    const uint64_t left = (uint64_t)est - b->rows_before;
    dc_err e;
    if (dc_merge_table_reserve_keys(b->t, left + left / 3, &e) < 0) /* a hint: batches reserve */
        DC_LOG(DC_LOG_INFO, "boot", "%s: key index not reserved for %" PRIu64 " rows (%s)",
               b->topic, left, e.msg);
    return 0;
}

/* Opens the Delta table (creating it from the schema block unless dry). */
static int open_table(boot *b, bool create, dc_err *err)
{
    dc_merge_opts mo;
    memset(&mo, 0, sizeof mo);
    mo.table_uri = b->o->table_uri;
    mo.pipeline = BOOT_PIPELINE;
    mo.mode = b->o->mode;
    mo.format = DC_FORMAT_TYPED;
    mo.typed = b->o->typed;
    mo.typed.create_schema = (const char *)b->schema.data;
    mo.typed.create_schema_len = b->schema.len;
    mo.keys = b->keys;
    mo.create_if_missing = create;
    return dc_merge_table_open(&b->t, &mo, err);
}

static void print_plan(const boot *b, const dc_boot_result *res)
{
    FILE *f = b->o->plan ? b->o->plan : stdout;
    const uint64_t n = b->o->chunk_rows ? b->o->chunk_rows : BOOT_DEFAULT_CHUNK;
    fprintf(f, "bootstrap plan (dry run: nothing is written)\n");
    fprintf(f, "  source:    %s on %s\n", b->topic, dc_mysql_where(b->m));
    fprintf(f, "  table:     %s (%s, %s)\n", b->o->table_uri, b->t ? "exists" : "to be created",
            b->o->mode == DC_MERGE_COW ? "cow" : "dv");
    fprintf(f, "  key:       ");
    for (uint32_t i = 0; i < b->keys.n; i++) fprintf(f, "%s%s", i ? "," : "", b->keys.names[i]);
    fprintf(f, "\n  columns:   %u\n", b->st.n_cols);
    if (b->st.est_rows >= 0)
        fprintf(f, "  rows:      ~%" PRId64 " (information_schema estimate)\n", b->st.est_rows);
    else
        fprintf(f, "  rows:      unknown\n");
    const int64_t left = b->st.est_rows < 0 ? -1
                         : b->st.est_rows > (int64_t)b->rows_before
                         ? b->st.est_rows - (int64_t)b->rows_before : 0;
    if (left < 0) fprintf(f, "  chunks:    %" PRIu64 " rows each\n", n);
    else fprintf(f, "  chunks:    %" PRIu64 " rows each, ~%" PRId64 " to go\n", n,
                 left == 0 ? 1 : (left + (int64_t)n - 1) / (int64_t)n);
    if (res->resumed)
        fprintf(f, "  resume:    after chunk %" PRId64 " (%" PRIu64 " rows), last key %.*s, "
                "first position %s%s\n", b->chunk, b->rows_before, (int)b->last_key.len,
                (const char *)b->last_key.data, res->first_pos, res->done ? " (done)" : "");
}

static int run(boot *b, dc_boot_result *res, dc_err *err)
{
    const dc_boot_opts *o = b->o;
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    int rc = dc_mysql_connect(&b->m, &o->db, err);
    if (rc == 0) rc = split_table(b, err);
    if (rc == 0) rc = dc_mysql_table_load(&b->st, b->m, b->db, b->name, err);
    if (rc == 0) rc = resolve_keys(b, &a, err);
    if (rc == 0) rc = dc_mysql_debezium_schema(&b->schema, &b->st, "deltacdc", err);
    if (rc == 0) rc = dc_cdc_tschema_from_block(&b->cols, &o->typed.types,
                                                (const char *)b->schema.data, b->schema.len, err);
    if (rc == 0) rc = dc_boot_fast_plan(b, err);
    res->est_rows = b->st.est_rows;
    if (rc == 0) {
        rc = open_table(b, !o->dry_run, err);
        if (rc == DC_ENOTFOUND && o->dry_run) {
            dc_err_clear(err);
            rc = 0;
        }
    }
    if (rc == 0 && b->t) rc = read_progress(b, res, err);
    if (rc == 0 && b->t && !o->dry_run) rc = dc_boot_cols_plan(b, err);
    if (rc == 0 && o->dry_run) {
        print_plan(b, res);
        goto out;
    }
    if (rc == 0 && res->done) goto out; /* finished before: nothing to read */
    if (rc == 0) rc = dc_mysql_snapshot_begin(&res->pos, b->m, err);
    if (rc == 0 && !res->pos.file[0])
        rc = dc_err_set(err, DC_EINVAL, "binary logging is off on %s: without a binlog position "
                        "the history can not be reconciled with CDC (set log_bin)",
                        dc_mysql_where(b->m));
    if (rc == 0 && !res->first_pos[0])
        snprintf(res->first_pos, sizeof res->first_pos, "%s:%" PRId64, res->pos.file,
                 res->pos.pos);
    res->first_chunk = b->chunk + 1;
    if (rc == 0) rc = reserve_keys(b);
    dc_cdc_event ev;
    if (rc == 0) rc = event_template(&ev, b, res, err);
    if (rc == 0) rc = copy_rows(b, res, &ev, err);
    if (rc == 0) rc = dc_mysql_exec(b->m, "COMMIT", err);
out:
    dc_arena_dispose(&a);
    return rc;
}

/* Each chunk fills the same large buffers afresh (the rows, their columns,
 * the batch's events, the Parquet writer's row group): glibc maps blocks
 * above its threshold on their own and unmaps them when freed, so every
 * chunk paid a page fault per 4 KiB of them again (a tenth of the client's
 * CPU). Blocks up to glibc's largest threshold come from the heap instead,
 * which keeps what is freed for the next chunk (measured: 49k faults -> 34k
 * for 2 chunks of 250k rows, 40k -> 16k for 5 of 100k). Process-wide, and
 * bootstrap is the process's one job. */
static void reuse_memory(void)
{
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    (void)mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's maximum on 64-bit */
    (void)mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

int dc_boot_run(dc_boot_result *out, const dc_boot_opts *o, dc_err *err)
{
    reuse_memory();
    memset(out, 0, sizeof *out);
    out->version = -1;
    out->est_rows = -1;
    const double t0 = now_s();
    boot b;
    memset(&b, 0, sizeof b);
    b.o = o;
    dc_buf_init(&b.schema, DC_JSON_MAX_DOC_BYTES);
    dc_buf_init(&b.last_key, 1 << 20);
    dc_buf_init(&b.fast_keys, DC_JSON_MAX_DOC_BYTES);
    const int rc = run(&b, out, err);
    if (rc < 0 && b.topic[0]) dc_err_prefix(err, "bootstrap of %s", b.topic);
    dc_merge_table_free(b.t);
    dc_mysql_table_dispose(&b.st);
    dc_cdc_tschema_free(b.cols);
    dc_mysql_close(b.m);
    dc_buf_dispose(&b.schema);
    dc_buf_dispose(&b.last_key);
    dc_buf_dispose(&b.fast_keys);
    dc_free(b.fast);
    dc_free(b.fast_at);
    dc_pq_schema_free(b.pqs);
    dc_free(b.col_leaf);
    out->seconds = now_s() - t0;
    return rc;
}
