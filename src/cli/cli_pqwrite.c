/* `deltacdc parquet write` (JSON lines -> Parquet) and `parquet rewrite`
 * (Parquet -> Parquet through our reader and writer, timed: benchmarks). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../parquet/parquet.h"

/* Splits a stream into lines without an unbounded allocation. */
typedef struct line_reader {
    FILE *f;          /* borrowed */
    dc_buf buf;       /* bytes read and not yet returned */
    size_t start;     /* first byte of the next line in buf */
    bool eof;         /* the stream is exhausted */
} line_reader;

/* Next line without its '\n' (and '\r'); *line NULL at the end of input. */
static int next_line(line_reader *lr, const char **line, size_t *len, dc_err *err)
{
    for (;;) {
        const uint8_t *s = lr->buf.data + lr->start;
        size_t avail = lr->buf.len - lr->start;
        const uint8_t *nl = avail ? memchr(s, '\n', avail) : NULL;
        if (nl || (lr->eof && avail)) {
            size_t n = nl ? (size_t)(nl - s) : avail;
            lr->start += n + (nl ? 1 : 0);
            if (n && s[n - 1] == '\r') n--;
            *line = (const char *)s;
            *len = n;
            return 0;
        }
        if (lr->eof) {
            *line = NULL;
            return 0;
        }
        /* compact, then read more */
        if (lr->start) memmove(lr->buf.data, lr->buf.data + lr->start, avail);
        lr->buf.len = avail;
        lr->start = 0;
        if (lr->buf.cap - lr->buf.len < (1u << 20)) {
            int rc = dc_buf_reserve(&lr->buf, 1u << 20, err);
            if (rc == DC_ELIMIT)
                return dc_err_set(err, DC_ELIMIT, "a line is longer than %zu bytes",
                                  (size_t)DC_JSONL_MAX_LINE);
            if (rc < 0) return rc;
        }
        size_t got = fread(lr->buf.data + lr->buf.len, 1, lr->buf.cap - lr->buf.len, lr->f);
        lr->buf.len += got;
        if (got == 0) {
            if (ferror(lr->f)) return dc_err_set(err, DC_EIO, "read: %s", strerror(errno));
            lr->eof = true;
        }
    }
}

static int parse_size(size_t *out, const char *s, const char *opt, dc_err *err)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < 1024 || v > (1ull << 31))
        return dc_err_set(err, DC_EINVAL, "%s: expected a byte count from 1024 to 2147483648, got '%s'",
                          opt, s);
    *out = (size_t)v;
    return 0;
}

static int parse_level(int *out, const char *s, dc_err *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > 22)
        return dc_err_set(err, DC_EINVAL, "--level: expected 1..22 (zstd) or 1..9 (gzip), got '%s'", s);
    *out = (int)v;
    return 0;
}

static int parse_codec(pq_codec *out, const char *s, dc_err *err)
{
    if (strcmp(s, "zstd") == 0) *out = PQ_CODEC_ZSTD;
    else if (strcmp(s, "snappy") == 0) *out = PQ_CODEC_SNAPPY;
    else if (strcmp(s, "gzip") == 0) *out = PQ_CODEC_GZIP;
    else if (strcmp(s, "none") == 0 || strcmp(s, "uncompressed") == 0) *out = PQ_CODEC_UNCOMPRESSED;
    else return dc_err_set(err, DC_EINVAL, "--codec: '%s' is not one of zstd, snappy, gzip, none", s);
    return 0;
}

/* Options shared by write and rewrite. */
typedef struct write_args {
    const char *schema;         /* --schema (write only) */
    const char *pos[2];         /* IN, OUT */
    int n_pos;
    dc_pq_writer_opts opts;
} write_args;

static int parse_write_args(write_args *a, int argc, char **argv, dc_err *err)
{
    dc_pq_writer_opts_init(&a->opts);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(o, "--schema") == 0 && has_val) a->schema = argv[++i];
        else if (strcmp(o, "--codec") == 0 && has_val) DC_TRY(parse_codec(&a->opts.codec, argv[++i], err));
        else if (strcmp(o, "--row-group-bytes") == 0 && has_val)
            DC_TRY(parse_size(&a->opts.row_group_bytes, argv[++i], o, err));
        else if (strcmp(o, "--page-bytes") == 0 && has_val)
            DC_TRY(parse_size(&a->opts.page_bytes, argv[++i], o, err));
        else if (strcmp(o, "--level") == 0 && has_val) DC_TRY(parse_level(&a->opts.level, argv[++i], err));
        else if (strcmp(o, "--no-dictionary") == 0) a->opts.dictionary = false;
        else if (o[0] == '-' && o[1] != '\0')
            return dc_err_set(err, DC_EINVAL, "unknown or incomplete option '%s'", o);
        else if (a->n_pos < 2) a->pos[a->n_pos++] = o;
        else return dc_err_set(err, DC_EINVAL, "unexpected argument '%s'", o);
    }
    if (a->n_pos != 2) return dc_err_set(err, DC_EINVAL, "expected IN and OUT files");
    return 0;
}

/* A writer on a temporary file beside `out`, renamed into place by finish(). */
typedef struct out_file {
    char tmp[4096];             /* temporary path */
    dc_pq_sink sink;
    bool open;                  /* sink holds an fd */
} out_file;

static int out_open(out_file *o, const char *path, dc_err *err)
{
    if (snprintf(o->tmp, sizeof o->tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof o->tmp)
        return dc_err_set(err, DC_EINVAL, "output path too long");
    DC_TRY(dc_pq_sink_file_open(&o->sink, o->tmp, err));
    o->open = true;
    return 0;
}

static int out_finish(out_file *o, const char *path, int rc, dc_err *err)
{
    if (o->open) {
        dc_err scratch;
        int crc = dc_pq_sink_file_close(&o->sink, rc == 0, rc == 0 ? err : &scratch);
        if (rc == 0) rc = crc;
        o->open = false;
    }
    if (rc == 0 && rename(o->tmp, path) != 0)
        rc = dc_err_set(err, DC_EIO, "%s: rename: %s", path, strerror(errno));
    if (rc < 0 && o->tmp[0]) unlink(o->tmp);
    return rc;
}

static int load_schema(dc_pq_schema **out, const char *path, dc_err *err)
{
    uint8_t *text = NULL;
    size_t len = 0;
    dc_arena arena;
    dc_arena_init(&arena, DC_MAX_SMALL_FILE);
    dc_json *doc = NULL;
    int rc = dc_file_read_all(&text, &len, path, DC_MAX_SMALL_FILE, err);
    if (rc == 0) rc = dc_json_parse(&doc, &arena, (const char *)text, len, err);
    if (rc == 0) rc = dc_pq_schema_from_delta(out, doc, err);
    if (rc < 0 && rc != DC_ENOTFOUND && rc != DC_EIO) dc_err_prefix(err, "%s", path);
    dc_arena_dispose(&arena);
    dc_free(text);
    return rc;
}

/* Feeds every line of `in` to the writer; errors name the line. */
static int write_lines(dc_pq_writer *w, FILE *in, const char *in_name, dc_err *err)
{
    line_reader lr = {.f = in};
    dc_buf_init(&lr.buf, DC_JSONL_MAX_LINE + (1u << 20));
    dc_arena arena;
    dc_arena_init(&arena, DC_JSON_MAX_DOC_BYTES);
    int rc = 0;
    const char *line = NULL;
    size_t len = 0;
    for (uint64_t lineno = 1;; lineno++) {
        if ((rc = next_line(&lr, &line, &len, err)) < 0) {
            dc_err_prefix(err, "%s:%llu", in_name, (unsigned long long)lineno);
            break;
        }
        if (!line) break;
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
        if (i == len) continue; /* blank lines are allowed */
        dc_json *row;
        dc_arena_reset(&arena);
        rc = dc_json_parse(&row, &arena, line, len, err);
        if (rc == 0) rc = dc_pq_writer_write_json_row(w, row, err);
        if (rc < 0) {
            dc_err_prefix(err, "%s:%llu", in_name, (unsigned long long)lineno);
            break;
        }
    }
    dc_arena_dispose(&arena);
    dc_buf_dispose(&lr.buf);
    return rc;
}

int dc_cli_parquet_write(int argc, char **argv)
{
    dc_err err;
    dc_err_clear(&err);
    write_args a = {0};
    dc_pq_schema *schema = NULL;
    dc_pq_writer *w = NULL;
    out_file o = {0};
    FILE *in = NULL;
    int rc = parse_write_args(&a, argc, argv, &err);
    if (rc == 0 && !a.schema) rc = dc_err_set(&err, DC_EINVAL, "--schema SCHEMA.json is required");
    if (rc < 0) {
        fprintf(stderr, "deltacdc parquet write: %s (see deltacdc parquet --help)\n", err.msg);
        return 2;
    }
    if ((rc = load_schema(&schema, a.schema, &err)) < 0) goto out;
    in = strcmp(a.pos[0], "-") == 0 ? stdin : fopen(a.pos[0], "rb");
    if (!in) {
        rc = dc_err_set(&err, errno == ENOENT ? DC_ENOTFOUND : DC_EIO, "%s: %s", a.pos[0],
                        strerror(errno));
        goto out;
    }
    if ((rc = out_open(&o, a.pos[1], &err)) < 0) goto out;
    if ((rc = dc_pq_writer_new(&w, schema, &a.opts, &o.sink, &err)) < 0) goto out;
    if ((rc = write_lines(w, in, a.pos[0], &err)) < 0) goto out;
    rc = dc_pq_writer_close(w, &err);
out:
    dc_pq_writer_free(w);
    rc = out_finish(&o, a.pos[1], rc, &err);
    if (in && in != stdin) fclose(in);
    dc_pq_schema_free(schema);
    return rc < 0 ? (fprintf(stderr, "deltacdc: %s\n", err.msg), 1) : 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Decodes a whole row group into columns, then encodes them: timed apart. */
static int rewrite_rg(dc_pq_writer *w, dc_pq_reader *r, uint32_t rg, dc_pq_column *cols,
                      double *dec_s, double *enc_s, dc_err *err)
{
    const dc_pq_schema *s = dc_pq_reader_schema(r);
    double t0 = now_s();
    for (uint32_t l = 0; l < s->n_leaves; l++) DC_TRY(dc_pq_reader_read_column(&cols[l], r, rg, l, err));
    double t1 = now_s();
    DC_TRY(dc_pq_writer_write_columns(w, cols, (size_t)dc_pq_reader_meta(r)->row_groups[rg].num_rows, err));
    *dec_s += t1 - t0;
    *enc_s += now_s() - t1;
    return 0;
}

int dc_cli_parquet_rewrite(int argc, char **argv)
{
    dc_err err;
    dc_err_clear(&err);
    write_args a = {0};
    dc_pq_reader *r = NULL;
    dc_pq_writer *w = NULL;
    dc_pq_column *cols = NULL;
    uint32_t n_cols = 0;
    out_file o = {0};
    double dec = 0, enc = 0;
    int rc = parse_write_args(&a, argc, argv, &err);
    if (rc < 0) {
        fprintf(stderr, "deltacdc parquet rewrite: %s (see deltacdc parquet --help)\n", err.msg);
        return 2;
    }
    if ((rc = dc_pq_reader_open_file(&r, a.pos[0], &err)) < 0) goto out;
    const dc_pq_schema *s = dc_pq_reader_schema(r);
    n_cols = s->n_leaves;
    if (!(cols = dc_calloc(n_cols ? n_cols : 1, sizeof *cols))) {
        rc = dc_err_set(&err, DC_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < n_cols; i++) dc_pq_column_init(&cols[i]);
    if ((rc = out_open(&o, a.pos[1], &err)) < 0) goto out;
    if ((rc = dc_pq_writer_new(&w, s, &a.opts, &o.sink, &err)) < 0) goto out;
    for (uint32_t rg = 0; rc == 0 && rg < dc_pq_reader_meta(r)->n_row_groups; rg++)
        rc = rewrite_rg(w, r, rg, cols, &dec, &enc, &err);
    if (rc < 0) goto out;
    double t = now_s();
    rc = dc_pq_writer_close(w, &err);
    enc += now_s() - t;
    if (rc == 0) printf("decode_s=%.4f encode_s=%.4f\n", dec, enc);
out:
    dc_pq_writer_free(w);
    rc = out_finish(&o, a.pos[1], rc, &err);
    for (uint32_t i = 0; cols && i < n_cols; i++) dc_pq_column_dispose(&cols[i]);
    dc_free(cols);
    dc_pq_reader_free(r);
    return rc < 0 ? (fprintf(stderr, "deltacdc: %s\n", err.msg), 1) : 0;
}
