/*
 * `deltacdc delta-test ...`: a TEST/DEV TOOL that drives the Delta write side
 * directly, for the interop tests (tests/interop/test_delta_write.py) and for
 * poking at tables by hand. Not part of the product's command line (not in
 * `deltacdc --help`); its interface may change with the tests.
 *
 *   delta-test create TABLE --schema S.json [--partition-by a,b] [--dv] [--prop k=v]...
 *   delta-test append TABLE IN.jsonl [--schema S.json] [--partition-by a,b] [--dv]
 *                     [--prop k=v]... [--txn APP=VERSION]
 *       appends the rows of IN.jsonl as one commit (creating the table first
 *       when it does not exist and --schema is given; with --schema on an
 *       existing table whose schema differs: schema evolution in that commit)
 *   delta-test delete-rows TABLE FILE ROWS   soft-deletes rows (e.g. 0,5,7) of
 *       the live file FILE (its add path, or a unique suffix) with a DV
 *   delta-test remove TABLE FILE            removes a live file
 * Each prints the committed version on stdout. Exit 0, 1 on error, 3 on a
 * commit conflict.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../delta/delta.h"

#define MAX_PROPS 64

typedef struct dt_args {
    const char *pos[4];       /* positional arguments after the subcommand */
    int n_pos;
    const char *schema_path;  /* --schema */
    char *parts_buf;          /* --partition-by copy, split in place */
    const char *parts[64];
    uint32_t n_parts;
    bool dv;                  /* --dv */
    dc_delta_kv props[MAX_PROPS];
    uint32_t n_props;
    const char *txn;          /* --txn APP=VERSION */
} dt_args;

static int parse_args(dt_args *a, int argc, char **argv, dc_err *err)
{
    memset(a, 0, sizeof *a);
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        const bool has_val = i + 1 < argc;
        if (strcmp(o, "--dv") == 0) a->dv = true;
        else if (strcmp(o, "--schema") == 0 && has_val) a->schema_path = argv[++i];
        else if (strcmp(o, "--txn") == 0 && has_val) a->txn = argv[++i];
        else if (strcmp(o, "--partition-by") == 0 && has_val) {
            a->parts_buf = argv[++i];
            for (char *t = strtok(a->parts_buf, ","); t && a->n_parts < 64; t = strtok(NULL, ","))
                a->parts[a->n_parts++] = t;
        } else if (strcmp(o, "--prop") == 0 && has_val && a->n_props < MAX_PROPS) {
            char *kv = argv[++i], *eq = strchr(kv, '=');
            if (!eq) return dc_err_set(err, DC_EINVAL, "--prop %s: expected key=value", kv);
            *eq = '\0';
            a->props[a->n_props++] = (dc_delta_kv){kv, eq + 1};
        } else if (o[0] == '-' && o[1] == '-') {
            return dc_err_set(err, DC_EINVAL, "unknown option %s", o);
        } else if (a->n_pos < 4) {
            a->pos[a->n_pos++] = o;
        }
    }
    return 0;
}

static int read_text(char **out, const char *path, dc_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    DC_TRY(dc_file_read_all(&data, &len, path, DC_MAX_SMALL_FILE, err));
    char *s = dc_realloc(data, len + 1);
    if (!s) {
        dc_free(data);
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    s[len] = '\0';
    *out = s;
    return 0;
}

static int do_create(dc_storage *s, const dt_args *a, dc_err *err)
{
    char *schema = NULL;
    if (!a->schema_path) return dc_err_set(err, DC_EINVAL, "create: --schema is required");
    DC_TRY(read_text(&schema, a->schema_path, err));
    dc_delta_create_opts o = {schema, a->n_parts, a->parts, a->n_props, a->props, a->dv,
                              NULL, NULL};
    const int rc = dc_delta_table_create(s, &o, err);
    if (rc == 0) puts("0");
    dc_free(schema);
    return rc;
}

/* Feeds every non-blank line of `text` to the file writer. */
static int write_rows(dc_delta_file_writer *fw, char *text, const char *name, dc_err *err)
{
    dc_arena arena;
    dc_arena_init(&arena, DC_JSON_MAX_DOC_BYTES);
    int rc = 0;
    unsigned long line = 0;
    for (char *p = text; rc == 0 && p && *p;) {
        char *nl = strchr(p, '\n');
        const size_t len = nl ? (size_t)(nl - p) : strlen(p);
        line++;
        if (strspn(p, " \t\r") < len) {
            dc_json *row = NULL;
            dc_arena_reset(&arena);
            rc = dc_json_parse(&row, &arena, p, len, err);
            if (rc == 0) rc = dc_delta_file_writer_write_row(fw, row, err);
            if (rc < 0) dc_err_prefix(err, "%s:%lu", name, line);
        }
        p = nl ? nl + 1 : NULL;
    }
    dc_arena_dispose(&arena);
    return rc;
}

static int append_tx(dc_delta_snapshot *snap, const dt_args *a, const char *schema,
                     char *rows, dc_err *err)
{
    dc_delta_tx *tx = NULL;
    dc_delta_file_writer *fw = NULL;
    int64_t v = -1;
    const char *cur = dc_delta_snapshot_metadata(snap)->schema_string;
    const bool evolve = schema && cur && strcmp(schema, cur) != 0;
    int rc = dc_delta_tx_new(&tx, snap, "WRITE", err);
    if (rc == 0) rc = dc_delta_tx_param(tx, "mode", "Append", err);
    if (rc == 0 && evolve) rc = dc_delta_tx_set_schema(tx, schema, err);
    if (rc == 0 && a->txn) {
        const char *eq = strrchr(a->txn, '=');
        char app[256];
        if (!eq || (size_t)(eq - a->txn) >= sizeof app) {
            rc = dc_err_set(err, DC_EINVAL, "--txn %s: expected APP=VERSION", a->txn);
        } else {
            memcpy(app, a->txn, (size_t)(eq - a->txn));
            app[eq - a->txn] = '\0';
            rc = dc_delta_tx_set_txn(tx, app, strtoll(eq + 1, NULL, 10), err);
        }
    }
    if (rc == 0) rc = dc_delta_file_writer_new(&fw, snap, evolve ? schema : NULL, err);
    if (rc == 0) rc = write_rows(fw, rows, a->pos[1], err);
    if (rc == 0) rc = dc_delta_file_writer_finish(fw, tx, err);
    if (rc == 0) rc = dc_delta_tx_commit(&v, tx, err);
    if (rc == 0) printf("%lld\n", (long long)v);
    dc_delta_file_writer_free(fw);
    dc_delta_tx_free(tx);
    return rc;
}

static int do_append(dc_storage *s, const dt_args *a, dc_err *err)
{
    char *schema = NULL, *rows = NULL;
    dc_delta_snapshot *snap = NULL;
    int rc = 0;
    if (a->n_pos < 2) return dc_err_set(err, DC_EINVAL, "append: TABLE IN.jsonl expected");
    if (a->schema_path && (rc = read_text(&schema, a->schema_path, err)) < 0) goto out;
    if ((rc = read_text(&rows, a->pos[1], err)) < 0) goto out;
    rc = dc_delta_snapshot_load(&snap, s, -1, err);
    if (rc == DC_ENOTFOUND && schema) {
        dc_err_clear(err);
        dc_delta_create_opts o = {schema, a->n_parts, a->parts, a->n_props, a->props, a->dv,
                                  NULL, NULL};
        rc = dc_delta_table_create(s, &o, err);
        if (rc == DC_EEXISTS) rc = 0; /* a concurrent creator won: fine */
        if (rc == 0) rc = dc_delta_snapshot_load(&snap, s, -1, err);
    }
    if (rc == 0) rc = append_tx(snap, a, schema, rows, err);
out:
    dc_delta_snapshot_free(snap);
    dc_free(schema);
    dc_free(rows);
    return rc;
}

/* The live file whose path (as logged) equals or ends with `name`. */
static int find_live(const dc_delta_add **out, dc_delta_snapshot *snap, const char *name,
                     dc_err *err)
{
    const size_t nl = strlen(name);
    *out = NULL;
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++) {
        const dc_delta_add *f = dc_delta_snapshot_file(snap, i);
        const size_t pl = strlen(f->path);
        if (pl >= nl && strcmp(f->path + pl - nl, name) == 0) {
            if (*out) return dc_err_set(err, DC_EINVAL, "file '%s' is ambiguous", name);
            *out = f;
        }
    }
    if (!*out) return dc_err_set(err, DC_ENOTFOUND, "no live file matches '%s'", name);
    return 0;
}

static int do_file_op(dc_storage *s, const dt_args *a, bool delete_rows, dc_err *err)
{
    dc_delta_snapshot *snap = NULL;
    dc_delta_tx *tx = NULL;
    const dc_delta_add *live = NULL;
    uint64_t rows[4096];
    size_t n = 0;
    int64_t v = -1;
    if (a->n_pos < (delete_rows ? 3 : 2))
        return dc_err_set(err, DC_EINVAL, "expected TABLE FILE%s", delete_rows ? " ROWS" : "");
    int rc = dc_delta_snapshot_load(&snap, s, -1, err);
    if (rc == 0) rc = find_live(&live, snap, a->pos[1], err);
    if (rc == 0) rc = dc_delta_tx_new(&tx, snap, "DELETE", err);
    if (rc == 0 && delete_rows) {
        for (const char *p = a->pos[2]; *p && n < 4096; p += strspn(p, ","))
            rows[n++] = strtoull(p, (char **)&p, 10);
        rc = dc_delta_tx_delete_rows(tx, live, rows, n, err);
    } else if (rc == 0) {
        rc = dc_delta_tx_remove_file(tx, live, true, err);
    }
    if (rc == 0) rc = dc_delta_tx_commit(&v, tx, err);
    if (rc == 0) printf("%lld\n", (long long)v);
    dc_delta_tx_free(tx);
    dc_delta_snapshot_free(snap);
    return rc;
}

int dc_cli_delta_test(int argc, char **argv)
{
    dc_err err;
    dc_err_clear(&err);
    dt_args a;
    dc_storage *s = NULL;
    if (argc < 3) {
        fputs("usage: deltacdc delta-test create|append|delete-rows|remove TABLE ... "
              "(test/dev tool; see src/cli/cli_deltatest.c)\n", stderr);
        return 2;
    }
    int rc = parse_args(&a, argc, argv, &err);
    if (rc == 0) rc = dc_storage_open(&s, a.pos[0] ? a.pos[0] : "", &err);
    if (rc == 0) {
        const char *cmd = argv[1];
        if (strcmp(cmd, "create") == 0) rc = do_create(s, &a, &err);
        else if (strcmp(cmd, "append") == 0) rc = do_append(s, &a, &err);
        else if (strcmp(cmd, "delete-rows") == 0) rc = do_file_op(s, &a, true, &err);
        else if (strcmp(cmd, "remove") == 0) rc = do_file_op(s, &a, false, &err);
        else rc = dc_err_set(&err, DC_EINVAL, "unknown delta-test command '%s'", cmd);
    }
    if (rc < 0) fprintf(stderr, "deltacdc delta-test %s: %s: %s\n", argv[1],
                        dc_err_code_name(rc), err.msg);
    dc_storage_free(s);
    return rc == 0 ? 0 : rc == DC_ECONFLICT ? 3 : 1;
}
