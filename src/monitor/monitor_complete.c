/*
 * monitor: completeness — the source at one consistent snapshot against the
 * typed table (the seed's second job, monitor.h). The order matters: the
 * source is read first, in one snapshot whose binlog position P is
 * recorded; only then the table, whose rows at or after P hold everything
 * the source had at P. The source's transaction stays open until the keys of
 * differing ranges have been read from the same snapshot.
 */
#include "monitor_cint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int dc_complete_mode_parse(dc_complete_mode *out, const char *s, dc_err *err)
{
    static const char *const names[] = {"count", "max_id", "ranges"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (dc_complete_mode)i;
            return 0;
        }
    return dc_err_set(err, DC_EINVAL, "completeness mode '%s': expected count, max_id or ranges",
                      s);
}

const char *dc_complete_mode_name(dc_complete_mode m)
{
    return m == DC_COMPLETE_COUNT ? "count" : m == DC_COMPLETE_MAX_ID ? "max_id" : "ranges";
}

/* ------------------------------------------------------------ source */

/* db and table name of o->source_table (DB.T, or T in the URL's database). */
static int split_table(cctx *c, dc_err *err)
{
    const char *s = c->o->source_table, *dot = strchr(s, '.');
    const char *db = dot ? s : dc_mysql_db(c->m);
    const size_t dbn = dot ? (size_t)(dot - s) : strlen(db);
    const char *name = dot ? dot + 1 : s;
    if (dbn == 0 || dbn >= sizeof c->db || !*name || strlen(name) >= sizeof c->name)
        return dc_err_set(err, DC_EINVAL, "source table '%s': give DB.T, or T with a database "
                          "in the URL", s);
    memcpy(c->db, db, dbn);
    c->db[dbn] = 0;
    strcpy(c->name, name);
    return 0;
}

/* The source's columns and key, checked for the mode. */
static int source_table(cctx *c, dc_err *err)
{
    DC_TRY(split_table(c, err));
    DC_TRY(dc_mysql_table_load(&c->st, c->m, c->db, c->name, err));
    if (c->st.n_pk == 0)
        return dc_err_set(err, DC_EINVAL, "%s.%s has no primary key", c->db, c->name);
    c->key_col = c->st.pk[0];
    const dc_mysql_column *k = &c->st.cols[c->key_col];
    c->int_key = k->enc == DC_MYSQL_ENC_INT;
    /* the greatest string is the collation's: not a probe both sides agree on */
    if (c->o->mode == DC_COMPLETE_MAX_ID && !c->int_key)
        return dc_err_set(err, DC_EUNSUPPORTED, "%s.%s: mode max_id needs an integer first key "
                          "column, '%s' is %s (modes count and ranges take any key)", c->db,
                          c->name, k->name, k->column_type);
    c->hashed = c->r->hashed = c->o->mode == DC_COMPLETE_RANGES && !c->int_key;
    DC_TRY(dc_buf_appendf(&c->from, err, " FROM "));
    DC_TRY(dc_mysql_put_ident(&c->from, c->db, strlen(c->db), err));
    DC_TRY(dc_buf_putc(&c->from, '.', err));
    DC_TRY(dc_mysql_put_ident(&c->from, c->name, strlen(c->name), err));
    DC_TRY(dc_mysql_put_ident(&c->kid, k->name, strlen(k->name), err));
    DC_TRY(dc_buf_putc(&c->kid, 0, err));
    return dc_buf_putc(&c->from, 0, err);
}

/* The range of key k: floor(k / chunk), as "(k DIV N) - (k % N < 0)" in SQL. */
int64_t dc_cmon_range_of(int64_t k, int64_t chunk)
{
    return k / chunk - (k % chunk < 0);
}

int64_t dc_cmon_range_id(const cctx *c, int64_t k0)
{
    return c->hashed ? k0 : dc_cmon_range_of(k0, c->o->chunk);
}

/* count / max_id on the source. */
static int source_probe(cctx *c, dc_err *err)
{
    dc_buf q, row;
    dc_buf_init(&q, 1 << 20);
    dc_buf_init(&row, 1 << 20);
    const char *v[16];
    bool null[16];
    uint32_t n = 0;
    int rc = dc_buf_appendf(&q, err, "SELECT COUNT(*), MAX(%s)%s", (const char *)c->kid.data,
                            (const char *)c->from.data);
    if (rc == 0) rc = dc_buf_putc(&q, 0, err);
    if (rc == 0) rc = dc_mysql_query_row(&row, v, null, &n, c->m, (const char *)q.data, err);
    if (rc == 0) {
        c->r->src_rows = strtoull(v[0], NULL, 10);
        c->r->src_has_max = !null[1] && c->int_key;
        if (c->r->src_has_max) c->r->src_max = strtoll(v[1], NULL, 10);
    }
    dc_buf_dispose(&q);
    dc_buf_dispose(&row);
    return rc;
}

int dc_cmon_stream(dc_mysql *m, const char *sql, dc_cmon_row_fn fn, void *ctx, dc_err *err)
{
    int rc = dc_mysql_stream_start(m, sql, err);
    bool done = false;
    while (rc == 0) {
        char **row = NULL;
        unsigned long *lens = NULL;
        rc = dc_mysql_stream_next(&row, &lens, &done, m, err);
        if (rc < 0 || done) break;
        rc = fn(ctx, row, lens, err);
    }
    dc_mysql_stream_end(m);
    return rc;
}

/* One row of the GROUP BY: range, rows, checksum. */
static int range_row(void *ctx, char **row, unsigned long *lens, dc_err *err)
{
    (void)lens;
    cctx *c = ctx;
    dc_cmon_range *b = NULL;
    DC_TRY(dc_cmon_map_get(&b, &c->map, strtoll(row[0], NULL, 10), err));
    b->src_n = strtoull(row[1], NULL, 10);
    b->src_h = strtoull(row[2], NULL, 10);
    c->r->src_rows += b->src_n;
    return 0;
}

/* hashed: about chunk rows a bucket (the snapshot's count, so both sides
 * and every key lookup use one number), and the bucket as SQL. */
static int source_buckets(cctx *c, dc_err *err)
{
    dc_buf q, row;
    dc_buf_init(&q, 1 << 12);
    dc_buf_init(&row, 1 << 12);
    const char *v[16];
    bool null[16];
    uint32_t n = 0;
    int rc = dc_buf_appendf(&q, err, "SELECT COUNT(*)%s", (const char *)c->from.data);
    if (rc == 0) rc = dc_buf_putc(&q, 0, err);
    if (rc == 0) rc = dc_mysql_query_row(&row, v, null, &n, c->m, (const char *)q.data, err);
    if (rc == 0) {
        const uint64_t rows = strtoull(v[0], NULL, 10), ch = (uint64_t)c->o->chunk;
        uint64_t b = rows / ch + (rows % ch != 0);
        b = b < 1 ? 1 : b > DC_MONITOR_MAX_RANGES ? DC_MONITOR_MAX_RANGES : b;
        c->r->buckets = (int64_t)b;
        rc = dc_buf_putc(&c->bucket, '(', err);
    }
    if (rc == 0) rc = dc_mysql_canon_key_hash(&c->bucket, &c->st, err);
    if (rc == 0) rc = dc_buf_appendf(&c->bucket, err, " %% %" PRId64 ")", c->r->buckets);
    if (rc == 0) rc = dc_buf_putc(&c->bucket, 0, err);
    dc_buf_dispose(&q);
    dc_buf_dispose(&row);
    return rc;
}

/* ranges on the source: one GROUP BY over the snapshot. */
static int source_ranges(cctx *c, dc_err *err)
{
    dc_buf q;
    dc_buf_init(&q, 1 << 26);
    const char *k = (const char *)c->kid.data;
    int rc = c->hashed ? source_buckets(c, err) : 0;
    if (rc == 0 && c->hashed)
        rc = dc_buf_appendf(&q, err, "SELECT %s AS dc_range, COUNT(*), BIT_XOR(",
                            (const char *)c->bucket.data);
    else if (rc == 0)
        rc = dc_buf_appendf(&q, err, "SELECT (%s DIV %" PRId64 ") - (%s %% %" PRId64 " < 0) AS "
                            "dc_range, COUNT(*), BIT_XOR(", k, c->o->chunk, k, c->o->chunk);
    if (rc == 0) rc = dc_mysql_canon_hash(&q, &c->st, err);
    if (rc == 0) rc = dc_buf_appendf(&q, err, ")%s GROUP BY dc_range", (const char *)c->from.data);
    if (rc == 0) rc = dc_buf_putc(&q, 0, err);
    if (rc == 0) rc = dc_cmon_stream(c->m, (const char *)q.data, range_row, c, err);
    dc_buf_dispose(&q);
    return rc;
}

/* ------------------------------------------------------------ verdict */

static int cmp_range(const void *a, const void *b)
{
    const dc_complete_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The differing ranges of the map, ascending. */
static int collect_ranges(cctx *c, dc_err *err)
{
    dc_complete_result *r = c->r;
    size_t n = 0;
    for (size_t i = 0; i < c->map.cap; i++) {
        const dc_cmon_range *b = &c->map.b[i];
        if (!b->used) continue;
        r->n_compared++;
        n += b->src_n != b->tab_n || b->src_h != b->tab_h;
    }
    if (n && !(r->ranges = dc_calloc(n, sizeof *r->ranges)))
        return dc_err_set(err, DC_ENOMEM, "completeness: out of memory");
    for (size_t i = 0; i < c->map.cap; i++) {
        const dc_cmon_range *b = &c->map.b[i];
        if (!b->used || (b->src_n == b->tab_n && b->src_h == b->tab_h)) continue;
        const int64_t ch = c->hashed ? 1 : c->o->chunk;
        const int64_t lo = b->id * ch; /* |id| <= |k| / ch: no overflow */
        const int64_t hi = lo > INT64_MAX - (ch - 1) ? INT64_MAX : lo + (ch - 1);
        r->ranges[r->n_ranges++] = (dc_complete_range){lo, hi, b->src_n, b->tab_n, b->src_h,
                                                       b->tab_h, b->after};
    }
    if (r->n_ranges) qsort(r->ranges, r->n_ranges, sizeof *r->ranges, cmp_range);
    return 0;
}

/* OK when equal; else PENDING while the table is behind P or every
 * difference is in ranges changed after P; else MISMATCH. */
static void verdict(cctx *c)
{
    dc_complete_result *r = c->r;
    bool differs = false, judged = false;
    if (c->o->mode == DC_COMPLETE_RANGES) {
        for (size_t i = 0; i < r->n_ranges; i++) {
            differs = true;
            judged |= !r->ranges[i].after;
        }
    } else {
        differs = r->src_rows != r->tab_rows;
        if (c->o->mode == DC_COMPLETE_MAX_ID)
            differs = r->src_has_max != r->tab_has_max ||
                      (r->src_has_max && r->src_max != r->tab_max);
        judged = differs && r->after_rows == 0;
    }
    r->state = !differs ? DC_COMPLETE_OK
               : r->behind || !judged ? DC_COMPLETE_PENDING : DC_COMPLETE_MISMATCH;
}

/* ------------------------------------------------------------ the check */

static int wait_ms(int64_t ms)
{
    const struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    return nanosleep(&ts, NULL);
}

/* The table side, once it reached P or the wait is over. */
static int table_side(cctx *c, dc_err *err)
{
    const double until = now_s(CLOCK_MONOTONIC) + (double)c->o->wait_ms / 1000.0;
    for (;;) {
        DC_TRY(dc_cmon_table_position(c, err));
        if (!c->r->behind || now_s(CLOCK_MONOTONIC) >= until) break;
        wait_ms(500);
    }
    /* count: the log's row count decides when it equals the source's (OK)
     * or the table is behind P (PENDING); only a difference past P reads
     * the rows, to tell the rows changed after P (PENDING) from a mismatch */
    /* max_id likewise with the files' maxValues */
    dc_complete_result *r = c->r;
    bool logged = false;
    if (c->o->mode == DC_COMPLETE_COUNT) DC_TRY(dc_cmon_table_count(&logged, c, err));
    if (c->o->mode == DC_COMPLETE_MAX_ID) DC_TRY(dc_cmon_table_max(&logged, c, err));
    const bool equal = c->o->mode == DC_COMPLETE_COUNT
                           ? r->tab_rows == r->src_rows
                           : r->tab_has_max == r->src_has_max && r->tab_max == r->src_max;
    if (logged && (equal || r->behind)) return 0;
    r->tab_rows = 0;
    r->tab_has_max = false;
    r->tab_max = 0;
    return dc_cmon_table_scan(c, err);
}

static int run(cctx *c, dc_err *err)
{
    const dc_complete_opts *o = c->o;
    DC_TRY(dc_mysql_connect(&c->m, &o->db, err));
    DC_TRY(source_table(c, err));
    DC_TRY(dc_mysql_snapshot_begin(&c->r->pos, c->m, err));
    DC_TRY(dc_cmon_pos_parse(&c->p, c->r->pos.file, c->r->pos.pos, err));
    if (o->mode == DC_COMPLETE_RANGES) DC_TRY(source_ranges(c, err));
    else DC_TRY(source_probe(c, err));
    DC_TRY(table_side(c, err));
    if (o->mode == DC_COMPLETE_RANGES) DC_TRY(collect_ranges(c, err));
    verdict(c);
    if (o->keys && o->mode == DC_COMPLETE_RANGES && c->r->n_ranges)
        DC_TRY(dc_cmon_keys(c, err));
    return dc_mysql_exec(c->m, "COMMIT", err);
}

int dc_monitor_complete(dc_complete_result *out, const dc_complete_opts *o, dc_err *err)
{
    memset(out, 0, sizeof *out);
    const double t0 = now_s(CLOCK_MONOTONIC);
    out->checked_at = now_s(CLOCK_REALTIME);
    if (o->mode == DC_COMPLETE_RANGES && o->chunk <= 0)
        return dc_err_set(err, DC_EINVAL, "completeness: the range size must be > 0");
    cctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.r = out;
    c.prefix = o->meta_prefix ? o->meta_prefix : "__";
    dc_buf_init(&c.from, 1 << 12);
    dc_buf_init(&c.kid, 1 << 12);
    dc_buf_init(&c.bucket, 1 << 16);
    int rc = run(&c, err);
    if (rc < 0) dc_err_prefix(err, "completeness of %s against %s", o->table, o->source_table);
    dc_free(c.map.b);
    dc_delta_snapshot_free(c.snap);
    dc_storage_free(c.s);
    dc_buf_dispose(&c.from);
    dc_buf_dispose(&c.kid);
    dc_buf_dispose(&c.bucket);
    dc_mysql_table_dispose(&c.st);
    dc_mysql_close(c.m);
    out->seconds = now_s(CLOCK_MONOTONIC) - t0;
    if (rc < 0) dc_complete_result_dispose(out);
    return rc;
}

void dc_complete_result_dispose(dc_complete_result *r)
{
    for (size_t i = 0; i < r->n_keys; i++) dc_free(r->keys[i].key);
    dc_free(r->keys);
    dc_free(r->ranges);
    memset(r, 0, sizeof *r);
}
