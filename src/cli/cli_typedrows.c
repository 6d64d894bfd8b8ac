/* `deltacdc typed-rows FILE.jsonl ...`: a test/dev tool, not in the usage
 * text. Decodes a file of Debezium records (one JSON value per line) into
 * typed rows as the typed table writes them (src/cdc/cdc.h), so the interop
 * tests can write them with `deltacdc parquet write --schema` and judge the
 * values with pyarrow, and so the decoder's speed can be measured apart from
 * the merge.
 *
 * Each change event gives one row: its after image (its before image for a
 * delete). Records without a schema block take their columns from
 * --delta-schema. A schema change starts a new segment: segment N is written
 * to PREFIX.N.schema.json (the Delta struct) and PREFIX.N.rows.jsonl. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../cdc/cdc.h"
#include "../common/dc_limits.h"
#include "../json/dc_json.h"

static const char usage[] =
    "usage: deltacdc typed-rows FILE.jsonl --out-prefix PREFIX [options]\n"
    "  Writes PREFIX.N.schema.json and PREFIX.N.rows.jsonl per schema segment N.\n"
    "  --key COLS                 key columns (default id)\n"
    "  --delta-schema FILE        Delta struct JSON for records without schema blocks\n"
    "  --datetime-as-timestamp    DATETIME as timestamp (UTC) instead of timestamp_ntz\n"
    "  --time-as-string           TIME as \"HH:MM:SS.ffffff\" instead of long microseconds\n"
    "  --pos                      add __op and __source_pos (string) columns first\n"
    "  --bench N                  instead: decode the file N times, print events/s\n";

typedef struct tr_args {
    const char *path, *prefix, *key, *delta_schema; /* the options, borrowed from argv */
    dc_cdc_typed_opts opts;                          /* --datetime-as-timestamp, --time-as-string */
    bool pos;                                        /* --pos */
    long bench;                                      /* --bench N (0: off) */
} tr_args;

static int parse_args(tr_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->key = "id";
    for (int i = 1; i < argc; i++) {
        const char *const o = argv[i];
        const bool more = i + 1 < argc;
        if (strcmp(o, "--out-prefix") == 0 && more) a->prefix = argv[++i];
        else if (strcmp(o, "--key") == 0 && more) a->key = argv[++i];
        else if (strcmp(o, "--delta-schema") == 0 && more) a->delta_schema = argv[++i];
        else if (strcmp(o, "--bench") == 0 && more) a->bench = strtol(argv[++i], NULL, 10);
        else if (strcmp(o, "--datetime-as-timestamp") == 0) a->opts.datetime_as_timestamp = true;
        else if (strcmp(o, "--time-as-string") == 0) a->opts.time_as_string = true;
        else if (strcmp(o, "--pos") == 0) a->pos = true;
        else if (o[0] != '-' && !a->path) a->path = o;
        else return -1;
    }
    return a->path && (a->prefix || a->bench > 0) ? 0 : -1;
}

/* The output of one schema segment. */
typedef struct segment {
    int n;                        /* segment number, -1 before the first */
    dc_cdc_tschema *schema;       /* its columns (a reference) */
    FILE *rows;                   /* PREFIX.N.rows.jsonl */
} segment;

static int open_segment(segment *sg, const tr_args *a, dc_cdc_tschema *s, dc_err *err)
{
    char path[4096];
    dc_buf b;
    if (sg->rows && fclose(sg->rows) != 0)
        return dc_err_set(err, DC_EIO, "typed-rows: writing segment %d failed", sg->n);
    sg->rows = NULL;
    dc_cdc_tschema_free(sg->schema);
    sg->schema = dc_cdc_tschema_dup(s);
    sg->n++;
    dc_buf_init(&b, DC_CDC_MAX_TSCHEMA_BYTES);
    int rc = dc_buf_puts(&b, "{\"type\":\"struct\",\"fields\":[", err);
    if (rc == 0 && a->pos)
        rc = dc_buf_puts(&b, "{\"name\":\"__op\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
                         "{\"name\":\"__source_pos\",\"type\":\"string\",\"nullable\":true,"
                         "\"metadata\":{}}", err);
    for (uint32_t i = 0; rc == 0 && i < dc_cdc_tschema_ncols(s); i++) {
        if (i || a->pos) rc = dc_buf_putc(&b, ',', err);
        if (rc == 0) rc = dc_cdc_tcol_delta_json(&b, dc_cdc_tschema_col(s, i), err);
    }
    if (rc == 0) rc = dc_buf_puts(&b, "]}\n", err);
    snprintf(path, sizeof path, "%s.%d.schema.json", a->prefix, sg->n);
    FILE *f = rc == 0 ? fopen(path, "w") : NULL;
    if (rc == 0 && (!f || fwrite(b.data, 1, b.len, f) != b.len))
        rc = dc_err_set(err, DC_EIO, "typed-rows: cannot write %s", path);
    if (f && fclose(f) != 0 && rc == 0) rc = dc_err_set(err, DC_EIO, "typed-rows: cannot write %s", path);
    snprintf(path, sizeof path, "%s.%d.rows.jsonl", a->prefix, sg->n);
    if (rc == 0 && !(sg->rows = fopen(path, "w")))
        rc = dc_err_set(err, DC_EIO, "typed-rows: cannot create %s", path);
    dc_buf_dispose(&b);
    return rc;
}

/* Decoding state shared by the row and bench loops. */
typedef struct tr_state {
    dc_cdc_keyspec keys;              /* --key */
    dc_arena arena;                   /* keyspec names */
    dc_cdc_schema_cache scache;       /* the scanner's schema block cache */
    dc_cdc_tschema_cache tcache;      /* parsed schema blocks */
    dc_cdc_tschema *fixed;            /* from --delta-schema, or NULL */
    dc_cdc_tschema *last;             /* columns of the last schema block (a reference) */
    dc_buf scratch;                   /* decode scratch */
    dc_buf row;                       /* one typed row */
} tr_state;

/* One line → its typed row in st->row (empty for records that give none). */
static int one_line(tr_state *st, const tr_args *a, const char *line, size_t n,
                    const dc_cdc_tschema **schema_out, dc_err *err)
{
    dc_cdc_event ev;
    dc_buf_reset(&st->row);
    *schema_out = NULL;
    DC_TRY(dc_cdc_decode_cached(&ev, &st->scratch, &st->scache, &st->keys, line, n, err));
    if (ev.kind != DC_CDC_CHANGE) return 0;
    /* Records without a schema block take the columns of --delta-schema,
     * else of the last block seen (as a table's schema would give them). */
    const dc_cdc_tschema *s = st->fixed ? st->fixed : st->last;
    if (ev.schema) DC_TRY(dc_cdc_tschema_cache_get(&s, &st->tcache, ev.schema, ev.schema_len, err));
    if (s != st->last && s != st->fixed) {
        dc_cdc_tschema_free(st->last);
        st->last = dc_cdc_tschema_dup((dc_cdc_tschema *)s);
    }
    if (!s) return dc_err_set(err, DC_EINVAL, "a record without a schema block (give --delta-schema)");
    DC_TRY(dc_buf_putc(&st->row, '{', err));
    if (a->pos) {
        char op[] = "\"__op\":\"c\",\"__source_pos\":";
        op[8] = ev.op;
        DC_TRY(dc_buf_puts(&st->row, op, err));
        if (ev.has_srcpos) {
            dc_buf p;
            dc_buf_init(&p, 1 << 20);
            int rc = dc_cdc_srcpos_format(&p, &ev, err);
            if (rc == 0) rc = dc_json_put_str(&st->row, (const char *)p.data, p.len, err);
            dc_buf_dispose(&p);
            DC_TRY(rc);
        } else {
            DC_TRY(dc_buf_puts(&st->row, "null", err));
        }
        if (dc_cdc_tschema_ncols(s)) DC_TRY(dc_buf_putc(&st->row, ',', err));
    }
    DC_TRY(dc_cdc_typed_event(&st->row, s, &ev, err));
    DC_TRY(dc_buf_puts(&st->row, "}\n", err));
    *schema_out = s;
    return 0;
}

static int rows_pass(tr_state *st, const tr_args *a, const char *data, size_t len, dc_err *err)
{
    segment sg = {.n = -1};
    size_t line_no = 0;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < len;) {
        const char *const nl = memchr(data + off, '\n', len - off);
        const size_t n = nl ? (size_t)(nl - (data + off)) : len - off;
        line_no++;
        const dc_cdc_tschema *s = NULL;
        if (n > 0) rc = one_line(st, a, data + off, n, &s, err);
        if (rc == 0 && s && (!sg.schema || !dc_cdc_tschema_equal(sg.schema, s)))
            rc = open_segment(&sg, a, (dc_cdc_tschema *)s, err);
        if (rc == 0 && s && fwrite(st->row.data, 1, st->row.len, sg.rows) != st->row.len)
            rc = dc_err_set(err, DC_EIO, "typed-rows: write failed");
        if (rc < 0) dc_err_prefix(err, "%s:%zu", a->path, line_no);
        off += n + 1;
    }
    if (sg.rows && fclose(sg.rows) != 0 && rc == 0)
        rc = dc_err_set(err, DC_EIO, "typed-rows: write failed");
    dc_cdc_tschema_free(sg.schema);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine may be shared */
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Decode only, then decode + typed rows, `bench` times over the file. */
static int bench_pass(tr_state *st, const tr_args *a, const char *data, size_t len, dc_err *err)
{
    double rate[2];
    size_t events = 0;
    for (int typed = 0; typed < 2; typed++) {
        const double t0 = now_s();
        events = 0;
        for (long r = 0; r < a->bench; r++) {
            for (size_t off = 0; off < len;) {
                const char *const nl = memchr(data + off, '\n', len - off);
                const size_t n = nl ? (size_t)(nl - (data + off)) : len - off;
                const dc_cdc_tschema *s = NULL;
                dc_cdc_event ev;
                if (n > 0 && typed) DC_TRY(one_line(st, a, data + off, n, &s, err));
                else if (n > 0)
                    DC_TRY(dc_cdc_decode_cached(&ev, &st->scratch, &st->scache, &st->keys,
                                                data + off, n, err));
                events += n > 0;
                off += n + 1;
            }
        }
        rate[typed] = (double)events / (now_s() - t0);
    }
    printf("records %zu | decode %.0f rec/s | decode + typed rows %.0f rec/s | %.0f%%\n", events,
           rate[0], rate[1], 100.0 * rate[1] / rate[0]);
    return 0;
}

int dc_cli_typed_rows(int argc, char **argv)
{
    tr_args a;
    tr_state st;
    dc_err err;
    uint8_t *data = NULL, *schema_text = NULL;
    size_t len = 0, schema_len = 0;
    if (parse_args(&a, argc, argv) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    memset(&st, 0, sizeof st);
    dc_err_clear(&err);
    dc_arena_init(&st.arena, 1 << 20);
    dc_cdc_schema_cache_init(&st.scache);
    dc_cdc_tschema_cache_init(&st.tcache, &a.opts);
    dc_buf_init(&st.scratch, DC_JSONL_MAX_LINE);
    dc_buf_init(&st.row, DC_JSONL_MAX_LINE);
    int rc = dc_cdc_keyspec_parse(&st.keys, &st.arena, a.key, &err);
    if (rc == 0) rc = dc_file_read_all(&data, &len, a.path, DC_MAX_SMALL_FILE, &err);
    if (rc == 0 && a.delta_schema) {
        dc_arena sa;
        dc_json *dom = NULL;
        dc_arena_init(&sa, DC_CDC_MAX_TSCHEMA_BYTES);
        rc = dc_file_read_all(&schema_text, &schema_len, a.delta_schema, DC_MAX_SMALL_FILE, &err);
        if (rc == 0) rc = dc_json_parse(&dom, &sa, (const char *)schema_text, schema_len, &err);
        if (rc == 0) rc = dc_cdc_tschema_from_delta(&st.fixed, dom, NULL, &err);
        dc_arena_dispose(&sa);
    }
    if (rc == 0 && a.bench > 0) rc = bench_pass(&st, &a, (const char *)data, len, &err);
    else if (rc == 0) rc = rows_pass(&st, &a, (const char *)data, len, &err);
    if (rc < 0) fprintf(stderr, "deltacdc typed-rows: %s\n", err.msg);
    dc_cdc_tschema_free(st.fixed);
    dc_cdc_tschema_free(st.last);
    dc_cdc_tschema_cache_dispose(&st.tcache);
    dc_cdc_schema_cache_dispose(&st.scache);
    dc_buf_dispose(&st.scratch);
    dc_buf_dispose(&st.row);
    dc_arena_dispose(&st.arena);
    dc_free(data);
    dc_free(schema_text);
    return rc < 0 ? 1 : 0;
}
