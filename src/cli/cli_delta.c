/* `deltacdc cat|inspect|history TABLE`: read Delta tables. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../delta/delta.h"

static const char usage[] =
    "usage:\n"
    "  deltacdc cat TABLE [--version N] [--format jsonl|csv] [--columns A,B]\n"
    "        rows of the table's snapshot (JSON lines in the value conventions, or CSV\n"
    "        with a header; nested values as JSON text, null as an empty field)\n"
    "  deltacdc inspect TABLE [--version N] [--json] [--files]\n"
    "        version, protocol and features, schema, partition columns, configuration,\n"
    "        files, rows, rows deleted by deletion vectors, txn appId -> version;\n"
    "        --files also lists the live data files (decoded paths)\n"
    "  deltacdc history TABLE [--json]\n"
    "        one line per commit, newest first: version, timestamp, operation, parameters\n"
    "TABLE is a directory, a file:// URI or s3://bucket/prefix (settings from the AWS\n"
    "environment: AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, ...; see README).\n";

typedef struct opts {
    const char *cmd;       /* "cat", "inspect", "history" */
    const char *table;
    int64_t version;       /* -1: latest */
    bool csv;              /* cat --format csv */
    bool json;             /* inspect/history --json */
    bool files;            /* inspect --files: list the live files */
    char *columns;         /* cat --columns (borrowed from argv) */
} opts;

static int fail(const dc_err *err)
{
    fprintf(stderr, "deltacdc: %s\n", err->msg);
    return 1;
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "deltacdc %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see deltacdc %s --help)\n", cmd);
    return 2;
}

static int emit(const dc_buf *b, dc_err *err)
{
    if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len)
        return dc_err_set(err, DC_EIO, "writing to stdout: %s", strerror(errno));
    return 0;
}

/* Returns 0, or the exit status of a usage error. */
static int parse_args(opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->cmd = argv[0];
    o->version = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const bool has_val = i + 1 < argc;
        if (strcmp(a, "--version") == 0 && has_val && strcmp(o->cmd, "history") != 0) {
            char *end;
            errno = 0;
            long long v = strtoll(argv[++i], &end, 10);
            if (errno || *end || v < 0) return usage_error(o->cmd, "bad version '%s'", argv[i]);
            o->version = v;
        } else if (strcmp(a, "--format") == 0 && has_val && strcmp(o->cmd, "cat") == 0) {
            const char *f = argv[++i];
            if (strcmp(f, "csv") == 0) o->csv = true;
            else if (strcmp(f, "jsonl") != 0) return usage_error(o->cmd, "unknown format '%s'", f);
        } else if (strcmp(a, "--columns") == 0 && has_val && strcmp(o->cmd, "cat") == 0) {
            o->columns = argv[++i];
        } else if (strcmp(a, "--json") == 0 && strcmp(o->cmd, "cat") != 0) {
            o->json = true;
        } else if (strcmp(a, "--files") == 0 && strcmp(o->cmd, "inspect") == 0) {
            o->files = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error(o->cmd, "unknown option '%s'", a);
        } else if (o->table) {
            return usage_error(o->cmd, "unexpected argument '%s'", a);
        } else {
            o->table = a;
        }
    }
    if (!o->table) return usage_error(o->cmd, "%s needs a TABLE", o->cmd);
    return 0;
}

/* ---------------------------------------------------------------- cat */

static int csv_field(dc_buf *out, const char *s, size_t n, bool always_quote, dc_err *err)
{
    bool quote = always_quote || n == 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) return dc_buf_append(out, s, n, err);
    DC_TRY(dc_buf_putc(out, '"', err));
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') DC_TRY(dc_buf_putc(out, '"', err));
        DC_TRY(dc_buf_putc(out, (uint8_t)s[i], err));
    }
    return dc_buf_putc(out, '"', err);
}

/* One JSON row → one CSV record (strings as they are; "" for an empty one). */
static int json_to_csv(dc_buf *out, dc_arena *arena, const char *line, size_t n, dc_err *err)
{
    dc_json *row = NULL;
    DC_TRY(dc_json_parse(&row, arena, line, n, err));
    dc_buf tmp;
    dc_buf_init(&tmp, DC_JSONL_MAX_LINE);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < row->len; i++) {
        const dc_json *v = &row->u.items[i];
        if (i) rc = dc_buf_putc(out, ',', err);
        if (rc < 0 || v->type == DC_JSON_NULL) continue;
        if (v->type == DC_JSON_STRING) {
            rc = csv_field(out, v->u.str, v->len, false, err);
            continue;
        }
        dc_buf_reset(&tmp);
        rc = dc_json_write(&tmp, v, err);
        if (rc == 0) rc = csv_field(out, (const char *)tmp.data, tmp.len, false, err);
    }
    dc_buf_dispose(&tmp);
    if (rc == 0) rc = dc_buf_putc(out, '\n', err);
    dc_arena_reset(arena);
    return rc;
}

static int csv_header(dc_buf *out, dc_delta_snapshot *snap, const char *const *cols, size_t n,
                      dc_err *err)
{
    const dc_delta_schema *s;
    DC_TRY(dc_delta_snapshot_schema(&s, snap, err));
    size_t count = cols ? n : s->root.n_children;
    for (size_t i = 0; i < count; i++) {
        const char *name = cols ? cols[i] : s->root.children[i].name;
        if (i) DC_TRY(dc_buf_putc(out, ',', err));
        DC_TRY(csv_field(out, name, strlen(name), false, err));
    }
    return dc_buf_putc(out, '\n', err);
}

/* Splits "a,b" in place into an array of names. */
static int split_columns(const char ***out, size_t *n_out, char *list, dc_err *err)
{
    size_t n = 1;
    for (const char *p = list; *p; p++) n += *p == ',';
    const char **v = dc_calloc(n, sizeof *v);
    if (!v) return dc_err_set(err, DC_ENOMEM, "out of memory");
    size_t k = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) v[k++] = tok;
    *out = v;
    *n_out = k;
    return 0;
}

static int cmd_cat(const opts *o, dc_delta_snapshot *snap, dc_err *err)
{
    const char **cols = NULL;
    size_t n_cols = 0;
    char *list = o->columns ? dc_strdup(o->columns) : NULL;
    dc_delta_scan *sc = NULL;
    dc_buf rows, csv;
    dc_arena arena;
    dc_buf_init(&rows, DC_PQ_MAX_CHUNK_BYTES);
    dc_buf_init(&csv, DC_PQ_MAX_CHUNK_BYTES);
    dc_arena_init(&arena, (size_t)4 * DC_JSONL_MAX_LINE);
    int rc = list ? split_columns(&cols, &n_cols, list, err) : 0;
    if (rc == 0) rc = dc_delta_scan_new(&sc, snap, cols, n_cols, err);
    if (rc == 0 && o->csv) rc = csv_header(&csv, snap, cols, n_cols, err);
    if (rc == 0) rc = emit(&csv, err);
    for (bool done = false; rc == 0 && !done;) {
        dc_buf_reset(&rows);
        rc = dc_delta_scan_next(sc, &rows, &done, err);
        if (rc < 0 || !o->csv) {
            if (rc == 0) rc = emit(&rows, err);
            continue;
        }
        dc_buf_reset(&csv);
        for (size_t pos = 0; rc == 0 && pos < rows.len;) {
            const char *line = (const char *)rows.data + pos;
            const char *nl = memchr(line, '\n', rows.len - pos);
            size_t len = nl ? (size_t)(nl - line) : rows.len - pos;
            rc = json_to_csv(&csv, &arena, line, len, err);
            pos += len + 1;
        }
        if (rc == 0) rc = emit(&csv, err);
    }
    dc_delta_scan_free(sc);
    dc_arena_dispose(&arena);
    dc_buf_dispose(&rows);
    dc_buf_dispose(&csv);
    dc_free(cols);
    dc_free(list);
    return rc;
}

/* ------------------------------------------------------------ inspect */

typedef struct totals {
    uint64_t size;            /* sum of add.size */
    uint64_t records;         /* sum of numRecords where stats have it */
    uint64_t no_stats;        /* files without numRecords */
    uint64_t deleted;         /* sum of DV cardinalities */
    uint64_t dvs;             /* files with a DV */
} totals;

static int count_files(totals *t, const dc_delta_snapshot *snap, dc_err *err)
{
    memset(t, 0, sizeof *t);
    dc_arena arena;
    dc_arena_init(&arena, (size_t)4 * DC_JSONL_MAX_LINE);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < dc_delta_snapshot_n_files(snap); i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(snap, i);
        t->size += (uint64_t)a->size;
        if (a->has_dv) {
            t->dvs++;
            t->deleted += (uint64_t)a->dv.cardinality;
        }
        dc_json *st = NULL;
        int64_t nr = -1;
        dc_err ignore;
        if (a->stats && dc_json_parse(&st, &arena, a->stats, strlen(a->stats), &ignore) == 0 &&
            dc_json_i64(&nr, dc_json_get(st, "numRecords"), "numRecords", &ignore) == 0 && nr >= 0)
            t->records += (uint64_t)nr;
        else
            t->no_stats++;
        dc_arena_reset(&arena);
    }
    dc_arena_dispose(&arena);
    (void)err;
    return rc;
}

static int put_strs(dc_buf *b, uint32_t n, const char *const *v, dc_err *err)
{
    DC_TRY(dc_buf_putc(b, '[', err));
    for (uint32_t i = 0; i < n; i++) {
        if (i) DC_TRY(dc_buf_putc(b, ',', err));
        DC_TRY(dc_json_put_str(b, v[i], strlen(v[i]), err));
    }
    return dc_buf_putc(b, ']', err);
}

static int put_map(dc_buf *b, const dc_delta_map *m, dc_err *err)
{
    DC_TRY(dc_buf_putc(b, '{', err));
    for (uint32_t i = 0; i < m->n; i++) {
        if (i) DC_TRY(dc_buf_putc(b, ',', err));
        DC_TRY(dc_json_put_str(b, m->items[i].key, strlen(m->items[i].key), err));
        DC_TRY(dc_buf_putc(b, ':', err));
        if (m->items[i].value)
            DC_TRY(dc_json_put_str(b, m->items[i].value, strlen(m->items[i].value), err));
        else
            DC_TRY(dc_buf_puts(b, "null", err));
    }
    return dc_buf_putc(b, '}', err);
}

static const char *cm_name(dc_delta_cm_mode m)
{
    return m == DC_DELTA_CM_NAME ? "name" : m == DC_DELTA_CM_ID ? "id" : "none";
}

/* A live file's decoded storage path, as a JSON string or a plain line. */
static int put_file_path(dc_buf *b, const dc_delta_add *a, bool json, dc_err *err)
{
    dc_buf p;
    dc_buf_init(&p, 1 << 20);
    int rc = dc_delta_path_to_storage(&p, a->path, err);
    if (rc == 0)
        rc = json ? dc_json_put_str(b, (const char *)p.data, p.len, err)
                  : dc_buf_append(b, p.data, p.len, err);
    dc_buf_dispose(&p);
    return rc;
}

static int inspect_json(dc_buf *b, const dc_delta_snapshot *snap, const totals *t, bool files,
                        dc_err *err)
{
    const dc_delta_protocol *p = dc_delta_snapshot_protocol(snap);
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(snap);
    DC_TRY(dc_buf_appendf(b, err, "{\"version\":%lld,\"checkpointVersion\":",
                          (long long)dc_delta_snapshot_version(snap)));
    int64_t cv = dc_delta_snapshot_checkpoint_version(snap);
    DC_TRY(cv >= 0 ? dc_json_put_i64(b, cv, err) : dc_buf_puts(b, "null", err));
    DC_TRY(dc_buf_appendf(b, err, ",\"protocol\":{\"minReaderVersion\":%d,\"minWriterVersion\":%d",
                          (int)p->min_reader_version, (int)p->min_writer_version));
    DC_TRY(dc_buf_puts(b, ",\"readerFeatures\":", err));
    DC_TRY(put_strs(b, p->n_reader_features, p->reader_features, err));
    DC_TRY(dc_buf_puts(b, ",\"writerFeatures\":", err));
    DC_TRY(put_strs(b, p->n_writer_features, p->writer_features, err));
    DC_TRY(dc_buf_puts(b, "},\"id\":", err));
    DC_TRY(dc_json_put_str(b, m->id, strlen(m->id), err));
    DC_TRY(dc_buf_puts(b, ",\"name\":", err));
    DC_TRY(m->name ? dc_json_put_str(b, m->name, strlen(m->name), err) : dc_buf_puts(b, "null", err));
    DC_TRY(dc_buf_puts(b, ",\"schema\":", err));
    DC_TRY(dc_buf_puts(b, m->schema_string, err));
    DC_TRY(dc_buf_puts(b, ",\"partitionColumns\":", err));
    DC_TRY(put_strs(b, m->n_partition_columns, m->partition_columns, err));
    DC_TRY(dc_buf_appendf(b, err, ",\"columnMapping\":\"%s\",\"configuration\":",
                          cm_name(dc_delta_snapshot_cm_mode(snap))));
    DC_TRY(put_map(b, &m->configuration, err));
    DC_TRY(dc_buf_appendf(b, err,
                          ",\"numFiles\":%zu,\"sizeInBytes\":%llu,\"numRecords\":%llu,"
                          "\"filesWithoutNumRecords\":%llu,\"numDeletionVectors\":%llu,"
                          "\"numDeletedRows\":%llu,\"txns\":{",
                          dc_delta_snapshot_n_files(snap), (unsigned long long)t->size,
                          (unsigned long long)t->records, (unsigned long long)t->no_stats,
                          (unsigned long long)t->dvs, (unsigned long long)t->deleted));
    for (size_t i = 0; i < dc_delta_snapshot_n_txns(snap); i++) {
        const dc_delta_txn *x = dc_delta_snapshot_txn(snap, i);
        if (i) DC_TRY(dc_buf_putc(b, ',', err));
        DC_TRY(dc_json_put_str(b, x->app_id, strlen(x->app_id), err));
        DC_TRY(dc_buf_appendf(b, err, ":%lld", (long long)x->version));
    }
    DC_TRY(dc_buf_puts(b, "},\"domains\":{", err));
    for (size_t i = 0; i < dc_delta_snapshot_n_domains(snap); i++) {
        const dc_delta_domain *d = dc_delta_snapshot_domain(snap, i);
        if (i) DC_TRY(dc_buf_putc(b, ',', err));
        DC_TRY(dc_json_put_str(b, d->domain, strlen(d->domain), err));
        DC_TRY(dc_buf_putc(b, ':', err));
        DC_TRY(dc_json_put_str(b, d->configuration, strlen(d->configuration), err));
    }
    DC_TRY(dc_buf_putc(b, '}', err));
    if (files) {
        DC_TRY(dc_buf_puts(b, ",\"files\":[", err));
        for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++) {
            if (i) DC_TRY(dc_buf_putc(b, ',', err));
            DC_TRY(put_file_path(b, dc_delta_snapshot_file(snap, i), true, err));
        }
        DC_TRY(dc_buf_putc(b, ']', err));
    }
    return dc_buf_puts(b, "}\n", err);
}

static const char *type_text(const dc_delta_field *f, char *buf, size_t cap)
{
    static const char *const names[] = {
        [DC_TYPE_BOOLEAN] = "boolean", [DC_TYPE_BYTE] = "byte",     [DC_TYPE_SHORT] = "short",
        [DC_TYPE_INT] = "integer",     [DC_TYPE_LONG] = "long",     [DC_TYPE_FLOAT] = "float",
        [DC_TYPE_DOUBLE] = "double",   [DC_TYPE_STRING] = "string", [DC_TYPE_BINARY] = "binary",
        [DC_TYPE_DATE] = "date",       [DC_TYPE_TIMESTAMP] = "timestamp",
        [DC_TYPE_TIMESTAMP_NTZ] = "timestamp_ntz",                  [DC_TYPE_STRUCT] = "struct",
        [DC_TYPE_ARRAY] = "array",     [DC_TYPE_MAP] = "map",       [DC_TYPE_NULL] = "void",
    };
    if (f->type == DC_TYPE_DECIMAL) {
        snprintf(buf, cap, "decimal(%d,%d)", (int)f->precision, (int)f->scale);
        return buf;
    }
    return (unsigned)f->type < sizeof names / sizeof *names && names[f->type] ? names[f->type] : "?";
}

static int put_schema_text(dc_buf *b, const dc_delta_field *f, int depth, dc_err *err)
{
    for (uint32_t i = 0; i < f->n_children; i++) {
        const dc_delta_field *c = &f->children[i];
        char tb[48];
        DC_TRY(dc_buf_appendf(b, err, "%*s%s: %s%s", 2 + 2 * depth, "", c->name,
                              type_text(c, tb, sizeof tb), c->nullable ? "" : " not null"));
        if (strcmp(c->physical_name, c->name) != 0 || c->has_id)
            DC_TRY(dc_buf_appendf(b, err, "  (physical %s, id %d)", c->physical_name, (int)c->id));
        DC_TRY(dc_buf_putc(b, '\n', err));
        if (depth < 32) DC_TRY(put_schema_text(b, c, depth + 1, err));
    }
    return 0;
}

static int inspect_text(dc_buf *b, dc_delta_snapshot *snap, const totals *t, bool files,
                        dc_err *err)
{
    const dc_delta_protocol *p = dc_delta_snapshot_protocol(snap);
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(snap);
    const dc_delta_schema *s;
    DC_TRY(dc_delta_snapshot_schema(&s, snap, err));
    DC_TRY(dc_buf_appendf(b, err, "version:           %lld\n", (long long)dc_delta_snapshot_version(snap)));
    int64_t cv = dc_delta_snapshot_checkpoint_version(snap);
    if (cv >= 0) DC_TRY(dc_buf_appendf(b, err, "loaded from:       checkpoint %lld\n", (long long)cv));
    DC_TRY(dc_buf_appendf(b, err, "protocol:          reader %d, writer %d\n",
                          (int)p->min_reader_version, (int)p->min_writer_version));
    DC_TRY(dc_buf_puts(b, "reader features:  ", err));
    for (uint32_t i = 0; i < p->n_reader_features; i++)
        DC_TRY(dc_buf_appendf(b, err, " %s", p->reader_features[i]));
    DC_TRY(dc_buf_puts(b, "\nwriter features:  ", err));
    for (uint32_t i = 0; i < p->n_writer_features; i++)
        DC_TRY(dc_buf_appendf(b, err, " %s", p->writer_features[i]));
    DC_TRY(dc_buf_appendf(b, err, "\ntable id:          %s\n", m->id));
    if (m->name) DC_TRY(dc_buf_appendf(b, err, "name:              %s\n", m->name));
    DC_TRY(dc_buf_puts(b, "partition columns:", err));
    for (uint32_t i = 0; i < m->n_partition_columns; i++)
        DC_TRY(dc_buf_appendf(b, err, " %s", m->partition_columns[i]));
    DC_TRY(dc_buf_appendf(b, err, "\ncolumn mapping:    %s\nschema:\n",
                          cm_name(dc_delta_snapshot_cm_mode(snap))));
    DC_TRY(put_schema_text(b, &s->root, 0, err));
    DC_TRY(dc_buf_puts(b, "configuration:\n", err));
    for (uint32_t i = 0; i < m->configuration.n; i++)
        DC_TRY(dc_buf_appendf(b, err, "  %s = %s\n", m->configuration.items[i].key,
                              m->configuration.items[i].value ? m->configuration.items[i].value : "null"));
    DC_TRY(dc_buf_appendf(b, err, "files:             %zu (%llu bytes)\n",
                          dc_delta_snapshot_n_files(snap), (unsigned long long)t->size));
    DC_TRY(dc_buf_appendf(b, err, "rows:              %llu", (unsigned long long)t->records));
    if (t->no_stats) DC_TRY(dc_buf_appendf(b, err, " (+ %llu files without numRecords)",
                                           (unsigned long long)t->no_stats));
    DC_TRY(dc_buf_appendf(b, err, "\nrows deleted (DV): %llu in %llu files\ntxn:\n",
                          (unsigned long long)t->deleted, (unsigned long long)t->dvs));
    for (size_t i = 0; i < dc_delta_snapshot_n_txns(snap); i++) {
        const dc_delta_txn *x = dc_delta_snapshot_txn(snap, i);
        DC_TRY(dc_buf_appendf(b, err, "  %s -> %lld\n", x->app_id, (long long)x->version));
    }
    if (!files) return 0;
    DC_TRY(dc_buf_puts(b, "files:\n", err));
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++) {
        DC_TRY(dc_buf_puts(b, "  ", err));
        DC_TRY(put_file_path(b, dc_delta_snapshot_file(snap, i), false, err));
        DC_TRY(dc_buf_putc(b, '\n', err));
    }
    return 0;
}

static int cmd_inspect(const opts *o, dc_delta_snapshot *snap, dc_err *err)
{
    totals t;
    dc_buf b;
    dc_buf_init(&b, DC_MAX_SMALL_FILE);
    int rc = count_files(&t, snap, err);
    if (rc == 0)
        rc = o->json ? inspect_json(&b, snap, &t, o->files, err)
                     : inspect_text(&b, snap, &t, o->files, err);
    if (rc == 0) rc = emit(&b, err);
    dc_buf_dispose(&b);
    return rc;
}

/* ------------------------------------------------------------ history */

static int put_iso_ms(dc_buf *b, int64_t ms, dc_err *err)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) return dc_buf_puts(b, "?", err);
    return dc_buf_appendf(b, err, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                          (int)(ms - (int64_t)secs * 1000));
}

static int history_line(dc_buf *b, const opts *o, const dc_delta_commit *c, int64_t mtime,
                        dc_arena *arena, dc_err *err)
{
    const dc_json *ci = NULL;
    for (size_t i = 0; i < c->n_actions && !ci; i++) {
        const dc_delta_action *a = &c->actions[i];
        dc_json *doc = NULL;
        if (a->type == DC_DELTA_ACTION_COMMIT_INFO &&
            dc_json_parse(&doc, arena, a->u.commit_info.json, a->u.commit_info.len, err) == 0)
            ci = doc;
    }
    int64_t ts = mtime;
    dc_err ignore;
    if (dc_json_i64(&ts, dc_json_get(ci, "inCommitTimestamp"), "", &ignore) < 0 &&
        dc_json_i64(&ts, dc_json_get(ci, "timestamp"), "", &ignore) < 0)
        ts = mtime;
    const char *op = dc_json_str(dc_json_get(ci, "operation"));
    const dc_json *params = dc_json_get(ci, "operationParameters");
    if (o->json) {
        DC_TRY(dc_buf_appendf(b, err, "{\"version\":%lld,\"timestamp\":", (long long)c->version));
        DC_TRY(dc_buf_putc(b, '"', err));
        DC_TRY(put_iso_ms(b, ts, err));
        DC_TRY(dc_buf_puts(b, "\",\"operation\":", err));
        DC_TRY(op ? dc_json_put_str(b, op, strlen(op), err) : dc_buf_puts(b, "null", err));
        DC_TRY(dc_buf_puts(b, ",\"operationParameters\":", err));
        DC_TRY(params ? dc_json_write(b, params, err) : dc_buf_puts(b, "null", err));
        return dc_buf_puts(b, "}\n", err);
    }
    DC_TRY(dc_buf_appendf(b, err, "%lld\t", (long long)c->version));
    DC_TRY(put_iso_ms(b, ts, err));
    DC_TRY(dc_buf_appendf(b, err, "\t%s\t", op ? op : "-"));
    DC_TRY(params ? dc_json_write(b, params, err) : dc_buf_puts(b, "{}", err));
    return dc_buf_putc(b, '\n', err);
}

static int cmd_history(const opts *o, dc_storage *s, dc_err *err)
{
    dc_delta_versions vs = {0};
    dc_buf b;
    dc_arena arena;
    dc_buf_init(&b, DC_MAX_SMALL_FILE);
    dc_arena_init(&arena, DC_MAX_SMALL_FILE);
    int rc = dc_delta_log_versions(&vs, s, err);
    if (rc == 0 && vs.n == 0)
        rc = dc_err_set(err, DC_ENOTFOUND, "%s: not a Delta table (no commit in _delta_log)", s->root);
    for (size_t i = vs.n; rc == 0 && i-- > 0;) {
        dc_delta_commit *c = NULL;
        dc_buf_reset(&b);
        rc = dc_delta_commit_read(&c, s, vs.versions[i], err);
        if (rc == 0) rc = history_line(&b, o, c, vs.mtimes_ms[i], &arena, err);
        if (rc == 0) rc = emit(&b, err);
        dc_delta_commit_free(c);
        dc_arena_reset(&arena);
    }
    dc_delta_versions_dispose(&vs);
    dc_arena_dispose(&arena);
    dc_buf_dispose(&b);
    return rc;
}

/* -------------------------------------------------------------- entry */

static int delta_main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    }
    opts o;
    int status = parse_args(&o, argc, argv);
    if (status) return status;
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    int rc = dc_storage_open(&s, o.table, &err);
    if (rc == 0 && strcmp(o.cmd, "history") == 0) {
        rc = cmd_history(&o, s, &err);
    } else if (rc == 0) {
        rc = dc_delta_snapshot_load(&snap, s, o.version, &err);
        if (rc == 0) rc = strcmp(o.cmd, "cat") == 0 ? cmd_cat(&o, snap, &err)
                                                     : cmd_inspect(&o, snap, &err);
    }
    if (rc == 0 && fflush(stdout) != 0)
        rc = dc_err_set(&err, DC_EIO, "writing to stdout: %s", strerror(errno));
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return rc < 0 ? fail(&err) : 0;
}

int dc_cli_delta(int argc, char **argv)
{
    return dc_cli_with_pipeline(delta_main, argc, argv);
}
