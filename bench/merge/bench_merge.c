/*
 * bench/merge: MERGE latency against table size, and the key index.
 *
 *   bench_merge gen TABLE ROWS ROWS_PER_FILE
 *       builds a raw dv table keyed by a long "id" (0..ROWS-1) quickly: the
 *       Parquet files are written directly in one row group each and
 *       committed as adds in one commit.
 *   bench_merge run BATCHES EVENTS UPDATE_PCT TABLE...
 *       opens the tables (timing each index build), then merges BATCHES
 *       rounds of one batch per table, interleaved so that every table sees
 *       the same machine load, each of EVENTS events (UPDATE_PCT% updates of
 *       random existing keys, the rest inserts of new keys); prints per
 *       table one line:
 *       rows open_s open_cpu_s index_bytes_per_row median_ms min_ms max_ms median_cpu_ms
 *       (the first round is a warm-up and not counted; with DC_BENCH_LOAD set
 *       in the environment the tables load their persisted index instead of
 *       building it), then persist_s: the
 *       time to write the table's key index file (_deltacdc/keyindex/).
 *   bench_merge restart TABLE [build]
 *       opens TABLE as a restarted daemon does, loading the persisted index
 *       (or, with "build", building it from the data files); prints
 *       rows open_s open_cpu_s loaded peak_rss_bytes
 *
 * Driven by bench/merge/run.py.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "../../src/delta/delta.h"
#include "../../src/merge/merge.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const dc_err *err)
{
    fprintf(stderr, "bench_merge: %s: %s\n", what, err->msg);
    return 1;
}

static void opts_for(dc_merge_opts *o, const char *table)
{
    static const char *const names[] = {"id"};
    memset(o, 0, sizeof *o);
    o->table_uri = table;
    o->pipeline = "bench";
    o->mode = DC_MERGE_DV;
    o->format = DC_FORMAT_RAW;
    o->keys.n = 1;
    o->keys.names[0] = names[0];
    o->key_types[0] = DC_CDC_KEY_LONG;
    o->create_if_missing = true;
}

/* ------------------------------------------------------------- gen */

/* Columns of one file: id, ts_ms, json_record, operation_type, offset
 * (the order merge creates). */
static int fill_columns(dc_pq_column *c, int64_t first, int64_t n, dc_err *err)
{
    char rec[64];
    for (int i = 0; i < 5; i++) dc_pq_column_reset(&c[i]);
    for (int i = 0; i < 5; i++) DC_TRY(dc_pq_column_reserve_levels(&c[i], (size_t)n, true, false, err));
    DC_TRY(dc_pq_column_reserve_offsets(&c[2], (size_t)n, err));
    DC_TRY(dc_pq_column_reserve_offsets(&c[3], (size_t)n, err));
    for (int64_t k = first; k < first + n; k++) {
        const int64_t ts = 1000;
        const int len = snprintf(rec, sizeof rec, "{\"id\":%" PRId64 ",\"v\":0}", k);
        DC_TRY(dc_buf_append(&c[0].values, &k, 8, err));
        DC_TRY(dc_buf_append(&c[1].values, &ts, 8, err));
        DC_TRY(dc_buf_append(&c[2].values, rec, (size_t)len, err));
        DC_TRY(dc_buf_append(&c[3].values, "c", 1, err));
        DC_TRY(dc_buf_append(&c[4].values, &k, 8, err));
        for (int i = 0; i < 5; i++) {
            c[i].def[c[i].n_levels++] = 1;
            c[i].n_values++;
        }
        c[2].offsets[c[2].n_values] = (uint32_t)c[2].values.len;
        c[3].offsets[c[3].n_values] = (uint32_t)c[3].values.len;
    }
    return 0;
}

static int write_file(dc_delta_tx *tx, dc_storage *s, const dc_pq_schema *ps, dc_pq_column *c,
                      int64_t first, int64_t n, int idx, dc_err *err)
{
    char name[128], uuid[37];
    DC_TRY(dc_delta_uuid_v4(uuid, err));
    snprintf(name, sizeof name, "part-%05d-%s-c000.zstd.parquet", idx, uuid);
    DC_TRY(fill_columns(c, first, n, err));
    dc_storage_writer *sw = NULL;
    dc_pq_writer *pw = NULL;
    dc_pq_writer_opts po;
    dc_pq_writer_opts_init(&po);
    po.row_group_bytes = (size_t)1 << 30; /* one row group per file */
    dc_buf stats;
    dc_buf_init(&stats, 1 << 20);
    DC_TRY(dc_storage_writer_open(&sw, s, name, err));
    dc_pq_sink sink = {1, sw, dc_storage_writer_write};
    int rc = dc_pq_writer_new(&pw, ps, &po, &sink, err);
    if (rc == 0) rc = dc_pq_writer_write_columns(pw, c, (size_t)n, err);
    if (rc == 0) rc = dc_pq_writer_close(pw, err);
    if (rc == 0) rc = dc_storage_writer_commit(sw, true, err);
    else dc_storage_writer_abort(sw);
    dc_delta_stats_opts so;
    dc_delta_stats_opts_init(&so);
    so.tight_bounds = true;
    if (rc == 0) rc = dc_delta_stats_from_footer(&stats, ps, dc_pq_writer_meta(pw), &so, err);
    if (rc == 0) rc = dc_buf_putc(&stats, 0, err);
    if (rc == 0) {
        dc_delta_add a;
        memset(&a, 0, sizeof a);
        a.path = name;
        a.size = (int64_t)dc_pq_writer_bytes_written(pw);
        a.modification_time = dc_delta_now_ms();
        a.data_change = true;
        a.stats = (const char *)stats.data;
        rc = dc_delta_tx_add(tx, &a, err);
    }
    dc_pq_writer_free(pw);
    dc_buf_dispose(&stats);
    return rc;
}

static int gen(const char *table, int64_t rows, int64_t per_file)
{
    dc_err err;
    dc_err_clear(&err);
    dc_merge_opts o;
    opts_for(&o, table);
    dc_merge_table *mt = NULL;
    if (dc_merge_table_open(&mt, &o, &err) < 0) return fail("create", &err);
    dc_merge_table_free(mt);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_tx *tx = NULL;
    dc_pq_schema *ps = NULL;
    dc_arena a;
    dc_arena_init(&a, 1 << 24);
    dc_json *doc = NULL;
    dc_pq_column c[5];
    for (int i = 0; i < 5; i++) dc_pq_column_init(&c[i]);
    int64_t version = -1;
    const double t0 = now_s();
    int rc = dc_storage_open(&s, table, &err);
    if (rc == 0) rc = dc_delta_snapshot_load(&snap, s, -1, &err);
    if (rc == 0) {
        const char *sj = dc_delta_snapshot_metadata(snap)->schema_string;
        rc = dc_json_parse(&doc, &a, sj, strlen(sj), &err);
    }
    if (rc == 0) rc = dc_pq_schema_from_delta(&ps, doc, &err);
    if (rc == 0) rc = dc_delta_tx_new(&tx, snap, "WRITE", &err);
    for (int64_t first = 0, i = 0; rc == 0 && first < rows; first += per_file, i++)
        rc = write_file(tx, s, ps, c, first, first + per_file > rows ? rows - first : per_file,
                        (int)i, &err);
    if (rc == 0) rc = dc_delta_tx_commit(&version, tx, &err);
    if (rc == 0)
        printf("generated %" PRId64 " rows in %.1f s (version %" PRId64 ")\n", rows,
               now_s() - t0, version);
    for (int i = 0; i < 5; i++) dc_pq_column_dispose(&c[i]);
    dc_pq_schema_free(ps);
    dc_arena_dispose(&a);
    dc_delta_tx_free(tx);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return rc < 0 ? fail("gen", &err) : 0;
}

/* ------------------------------------------------------------- run */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* One table under test. */
typedef struct bt {
    dc_merge_table *t;
    int64_t rows, next_key, offset;
    double open_s, open_cpu_s, bpr, persist_s;
    double *ms, *cpu_ms;             /* per measured batch */
} bt;

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One batch: adds events and commits; its wall and CPU time in ms. */
static int one_batch(bt *x, int batch, int events, int update_pct, double *ms, double *cms,
                     dc_err *err)
{
    dc_merge_batch *b = NULL;
    dc_merge_result r;
    char rec[96];
    const double t0 = now_s(), c0 = cpu_s();
    DC_TRY(dc_merge_batch_new(&b, x->t, err));
    int rc = 0;
    for (int i = 0; rc == 0 && i < events; i++) {
        dc_cdc_event e;
        memset(&e, 0, sizeof e);
        const bool upd = (int)(rnd() % 100) < update_pct;
        e.kind = DC_CDC_CHANGE;
        e.op = upd ? 'u' : 'c';
        e.has_ts_ms = true;
        e.ts_ms = 2000 + batch;
        e.n_keys = 1;
        e.keys[0].type = DC_CDC_KEY_LONG;
        e.keys[0].i = upd ? (int64_t)(rnd() % (uint64_t)x->rows) : x->next_key++;
        const int n = snprintf(rec, sizeof rec, "{\"id\":%" PRId64 ",\"v\":%d}", e.keys[0].i, batch);
        e.after = rec;
        e.after_len = (uint32_t)n;
        rc = dc_merge_batch_add(b, &e, "bench", 0, x->offset++, err);
    }
    if (rc == 0) rc = dc_merge_batch_commit(&r, b, err);
    dc_merge_batch_free(b);
    *ms = (now_s() - t0) * 1e3;
    *cms = (cpu_s() - c0) * 1e3;
    return rc;
}

static int cmp_dbl(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int open_one(bt *x, const char *table, int batches, dc_err *err)
{
    dc_merge_opts o;
    opts_for(&o, table);
    o.create_if_missing = false;
    o.index_file = getenv("DC_BENCH_LOAD") != NULL; /* merge after a restart that loads */
    const double t0 = now_s(), c0 = cpu_s();
    DC_TRY(dc_merge_table_open(&x->t, &o, err));
    x->open_s = now_s() - t0;
    x->open_cpu_s = cpu_s() - c0;
    dc_merge_index_stats st;
    dc_merge_index_stats_get(&st, x->t);
    x->rows = (int64_t)st.rows;
    x->bpr = (double)st.bytes / (double)st.rows;
    x->next_key = x->rows;
    DC_TRY(dc_merge_resume_offset(&x->offset, x->t, "bench", 0, err));
    if (x->offset < 0) x->offset = 0;
    x->ms = calloc((size_t)batches, sizeof *x->ms);
    x->cpu_ms = calloc((size_t)batches, sizeof *x->cpu_ms);
    return x->ms && x->cpu_ms ? 0 : dc_err_set(err, DC_ENOMEM, "out of memory");
}

static void report(bt *x, int batches)
{
    qsort(x->ms, (size_t)batches, sizeof *x->ms, cmp_dbl);
    qsort(x->cpu_ms, (size_t)batches, sizeof *x->cpu_ms, cmp_dbl);
    printf("%" PRId64 " %.3f %.3f %.2f %.2f %.2f %.2f %.2f %.3f\n", x->rows, x->open_s,
           x->open_cpu_s, x->bpr, x->ms[batches / 2], x->ms[0], x->ms[batches - 1],
           x->cpu_ms[batches / 2], x->persist_s);
}

static int run(int batches, int events, int update_pct, char **tables, int n)
{
    dc_err err;
    dc_err_clear(&err);
    bt *x = calloc((size_t)n, sizeof *x);
    int rc = x ? 0 : dc_err_set(&err, DC_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < n; i++) rc = open_one(&x[i], tables[i], batches, &err);
    for (int round = 0; rc == 0 && round <= batches; round++)
        for (int i = 0; rc == 0 && i < n; i++) {
            double ms = 0, cms = 0;
            rc = one_batch(&x[i], round, events, update_pct, &ms, &cms, &err);
            if (round > 0) {
                x[i].ms[round - 1] = ms;
                x[i].cpu_ms[round - 1] = cms;
            }
        }
    for (int i = 0; rc == 0 && i < n; i++) {
        const double t0 = now_s();
        rc = dc_merge_table_persist(x[i].t, &err);
        x[i].persist_s = now_s() - t0;
    }
    for (int i = 0; rc == 0 && i < n; i++) report(&x[i], batches);
    for (int i = 0; x && i < n; i++) {
        dc_merge_table_free(x[i].t);
        free(x[i].ms);
        free(x[i].cpu_ms);
    }
    free(x);
    return rc < 0 ? fail("run", &err) : 0;
}

static int restart(const char *table, bool build)
{
    dc_err err;
    dc_err_clear(&err);
    dc_merge_opts o;
    opts_for(&o, table);
    o.create_if_missing = false;
    o.index_file = !build;
    dc_merge_table *t = NULL;
    const double t0 = now_s(), c0 = cpu_s();
    if (dc_merge_table_open(&t, &o, &err) < 0) return fail("restart", &err);
    const double open_s = now_s() - t0, open_cpu = cpu_s() - c0;
    dc_merge_index_stats st;
    dc_merge_index_stats_get(&st, t);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%" PRIu64 " %.3f %.3f %d %lld\n", st.rows, open_s, open_cpu, st.loads > 0,
           (long long)ru.ru_maxrss * 1024);
    dc_merge_table_free(t);
    return 0;
}

int main(int argc, char **argv)
{
    dc_log_set_level(DC_LOG_WARN);
    if (argc == 5 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], atoll(argv[3]), atoll(argv[4]));
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "restart") == 0)
        return restart(argv[2], argc == 4 && strcmp(argv[3], "build") == 0);
    if (argc >= 6 && strcmp(argv[1], "run") == 0)
        return run(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv + 5, argc - 5);
    fprintf(stderr, "usage: bench_merge gen TABLE ROWS ROWS_PER_FILE | "
                    "run BATCHES EVENTS UPDATE_PCT TABLE... | restart TABLE [build]\n");
    return 2;
}
