/* `deltacdc parquet cat|schema|meta|scan|write`: inspect and write Parquet files. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../parquet/parquet.h"

static const char usage[] =
    "usage: deltacdc parquet <command> ...\n"
    "\n"
    "  cat FILE [--columns A,B]   rows as JSON lines (value conventions: see README)\n"
    "  schema FILE                the file's schema as Delta schema JSON\n"
    "  meta FILE                  row groups, columns, encodings, codecs, sizes, statistics\n"
    "  scan FILE                  decode every column without printing (benchmarks)\n"
    "  write --schema SCHEMA.json IN.jsonl OUT.parquet [--codec zstd|snappy|gzip|none]\n"
    "        [--level N] [--row-group-bytes N] [--page-bytes N] [--no-dictionary]\n"
    "                             JSON lines (IN may be '-') -> Parquet; OUT appears only\n"
    "                             when every line was written\n"
    "  rewrite IN.parquet OUT.parquet [--codec ...] [write options]\n"
    "                             decode with deltacdc's reader, encode with its writer,\n"
    "                             print decode and encode seconds (benchmarks)\n";

static int fail(const dc_err *err)
{
    fprintf(stderr, "deltacdc: %s\n", err->msg);
    return 1;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "deltacdc parquet: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see deltacdc parquet --help)\n");
    return 2;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return true;
    return false;
}

/* Marks the top-level fields named in a comma list; unknown names are an error. */
static int parse_projection(bool *project, const dc_pq_schema *s, const char *list, dc_err *err)
{
    const dc_pq_field *root = &s->root;
    memset(project, 0, root->n_children * sizeof *project);
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        bool found = false;
        for (uint32_t i = 0; i < root->n_children; i++) {
            if (strlen(root->children[i].name) == n && memcmp(root->children[i].name, p, n) == 0) {
                project[i] = found = true;
            }
        }
        if (!found)
            return dc_err_set(err, DC_EINVAL, "--columns: no top-level column '%.*s'", (int)n, p);
        p += n + (comma ? 1 : 0);
    }
    return 0;
}

static int cmd_cat(const char *path, const char *columns)
{
    dc_err err;
    dc_err_clear(&err);
    dc_pq_reader *r = NULL;
    bool *project = NULL;
    dc_buf out;
    dc_buf_init(&out, DC_PQ_MAX_CHUNK_BYTES);
    int rc = dc_pq_reader_open_file(&r, path, &err);
    if (rc < 0) goto out;
    const dc_pq_schema *s = dc_pq_reader_schema(r);
    if (columns) {
        project = dc_calloc(s->root.n_children + 1, sizeof *project);
        if (!project) { rc = dc_err_set(&err, DC_ENOMEM, "out of memory"); goto out; }
        if ((rc = parse_projection(project, s, columns, &err)) < 0) goto out;
    }
    const pq_file_meta *m = dc_pq_reader_meta(r);
    for (uint32_t rg = 0; rg < m->n_row_groups; rg++) {
        dc_buf_reset(&out);
        if ((rc = dc_pq_reader_rows_json(&out, r, rg, project, &err)) < 0) goto out;
        if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len) {
            rc = dc_err_set(&err, DC_EIO, "writing to stdout: %s", strerror(errno));
            goto out;
        }
    }
    if (fflush(stdout) != 0) rc = dc_err_set(&err, DC_EIO, "writing to stdout: %s", strerror(errno));
out:
    dc_buf_dispose(&out);
    dc_free(project);
    dc_pq_reader_free(r);
    return rc < 0 ? fail(&err) : 0;
}

static int cmd_scan(const char *path)
{
    dc_err err;
    dc_err_clear(&err);
    dc_pq_reader *r = NULL;
    dc_pq_column col;
    dc_pq_column_init(&col);
    uint64_t values = 0;
    int rc = dc_pq_reader_open_file(&r, path, &err);
    if (rc < 0) goto out;
    const pq_file_meta *m = dc_pq_reader_meta(r);
    const dc_pq_schema *s = dc_pq_reader_schema(r);
    for (uint32_t rg = 0; rg < m->n_row_groups; rg++) {
        for (uint32_t leaf = 0; leaf < s->n_leaves; leaf++) {
            if ((rc = dc_pq_reader_read_column(&col, r, rg, leaf, &err)) < 0) goto out;
            values += col.n_levels;
        }
    }
    printf("%lld rows, %llu levels decoded\n", (long long)m->num_rows, (unsigned long long)values);
out:
    dc_pq_column_dispose(&col);
    dc_pq_reader_free(r);
    return rc < 0 ? fail(&err) : 0;
}

static int cmd_schema(const char *path)
{
    dc_err err;
    dc_err_clear(&err);
    dc_pq_reader *r = NULL;
    dc_buf out;
    dc_buf_init(&out, 64u << 20);
    int rc = dc_pq_reader_open_file(&r, path, &err);
    if (rc == 0) rc = dc_pq_schema_to_delta_json(&out, dc_pq_reader_schema(r), &err);
    if (rc == 0) rc = dc_buf_putc(&out, '\n', &err);
    if (rc == 0) fwrite(out.data, 1, out.len, stdout);
    dc_buf_dispose(&out);
    dc_pq_reader_free(r);
    return rc < 0 ? fail(&err) : 0;
}

int dc_cli_parquet(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "write") == 0) return dc_cli_parquet_write(argc - 1, argv + 1);
    if (strcmp(cmd, "rewrite") == 0) return dc_cli_parquet_rewrite(argc - 1, argv + 1);
    const char *file = NULL, *columns = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--columns") == 0 && strcmp(cmd, "cat") == 0 && i + 1 < argc)
            columns = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return usage_error("unknown option '%s'", argv[i]);
        else if (file)
            return usage_error("unexpected argument '%s'", argv[i]);
        else
            file = argv[i];
    }
    if (!file) return usage_error("%s needs a FILE", cmd);
    if (strcmp(cmd, "cat") == 0) return cmd_cat(file, columns);
    if (strcmp(cmd, "schema") == 0) return cmd_schema(file);
    if (strcmp(cmd, "meta") == 0) return dc_cli_parquet_meta(file);
    if (strcmp(cmd, "scan") == 0) return cmd_scan(file);
    return usage_error("unknown command '%s'", cmd);
}
