/* `deltacdc bootstrap -c pipeline.yaml [--table DB.T]`: the bootstrap of
 * every source table a typed tables[] entry matches, each into the table
 * that entry's path names, so that the daemon's CDC continues exactly the
 * tables the bootstrap wrote. Connection settings come from source.mysql,
 * the password from the environment variable source.mysql.pwd_env
 * names (never from the file). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../boot/boot.h"
#include "../config/config.h"
#include "../daemon/ingest.h"

_Static_assert(DC_CFG_SSL_PREFERRED == (int)DC_MYSQL_SSL_PREFERRED &&
               DC_CFG_SSL_DISABLED == (int)DC_MYSQL_SSL_DISABLED &&
               DC_CFG_SSL_REQUIRED == (int)DC_MYSQL_SSL_REQUIRED &&
               DC_CFG_SSL_VERIFY_CA == (int)DC_MYSQL_SSL_VERIFY_CA &&
               DC_CFG_SSL_VERIFY_IDENTITY == (int)DC_MYSQL_SSL_VERIFY_IDENTITY,
               "source.mysql.ssl_mode's values are mysql.h's modes in order");

/* The connection settings of the pipeline file. */
static void db_opts(dc_mysql_opts *o, const dc_config *c)
{
    memset(o, 0, sizeof *o);
    o->url = c->mysql_url;
    o->password = c->mysql_pwd_env ? getenv(c->mysql_pwd_env) : NULL;
    o->ssl_mode = (dc_mysql_ssl_mode)c->mysql_ssl_mode;
    o->ssl_ca = c->mysql_ssl_ca;
    o->ssl_cert = c->mysql_ssl_cert;
    o->ssl_key = c->mysql_ssl_key;
}

/* The server's base tables (the URL's database only, when it names one;
 * never the system schemas) as "db\0table\0" pairs in out. */
static int list_tables(dc_buf *out, uint32_t *n, const dc_mysql_opts *dbo, dc_err *err)
{
    dc_mysql *m = NULL;
    dc_buf q;
    dc_buf_init(&q, 1 << 16);
    *n = 0;
    dc_buf_reset(out);
    int rc = dc_mysql_connect(&m, dbo, err);
    if (rc == 0) rc = dc_buf_puts(&q, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema."
                                  "TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT "
                                  "IN ('mysql', 'information_schema', 'performance_schema', "
                                  "'sys')", err);
    if (rc == 0 && *dc_mysql_db(m)) {
        rc = dc_buf_puts(&q, " AND TABLE_SCHEMA = ", err);
        if (rc == 0) rc = dc_mysql_put_literal(&q, m, dc_mysql_db(m), strlen(dc_mysql_db(m)), err);
    }
    if (rc == 0) rc = dc_buf_puts(&q, " ORDER BY TABLE_SCHEMA, TABLE_NAME", err);
    if (rc == 0) rc = dc_buf_putc(&q, 0, err);
    if (rc == 0) rc = dc_mysql_stream_start(m, (const char *)q.data, err);
    for (bool done = false; rc == 0;) {
        char **row = NULL;
        unsigned long *lens = NULL;
        if ((rc = dc_mysql_stream_next(&row, &lens, &done, m, err)) < 0 || done) break;
        for (int i = 0; rc == 0 && i < 2; i++) {
            rc = dc_buf_append(out, row[i] ? row[i] : "", row[i] ? lens[i] : 0, err);
            if (rc == 0) rc = dc_buf_putc(out, 0, err);
        }
        (*n)++;
    }
    if (m) dc_mysql_stream_end(m);
    dc_mysql_close(m);
    dc_buf_dispose(&q);
    if (rc < 0) dc_err_prefix(err, "listing the tables of %s", dbo->url);
    return rc;
}

/* One table's options from its tables[] entry. key is scratch for "a,b". */
static int table_opts(dc_boot_opts *o, dc_buf *key, const dc_config *c, const dc_config_table *t,
                      dc_err *err)
{
    dc_buf_reset(key);
    for (uint32_t i = 0; i < t->key.n; i++)
        DC_TRY(dc_buf_appendf(key, err, "%s%s", i ? "," : "", t->key.items[i]));
    DC_TRY(dc_buf_putc(key, 0, err));
    o->key = t->key.n ? (const char *)key->data : NULL;
    o->chunk_rows = (uint64_t)c->bootstrap_chunk_rows;
    o->mode = t->mode == DC_CFG_MODE_COW ? DC_MERGE_COW : DC_MERGE_DV;
    o->typed.soft_deletes = t->soft_deletes;
    o->typed.meta_prefix = t->meta_prefix;
    o->typed.types.datetime_as_timestamp = t->datetime == DC_CFG_DATETIME_UTC;
    o->typed.types.time_as_string = t->time == DC_CFG_TIME_STRING;
    return 0;
}

int dc_cli_boot_pipeline(const char *file, const char *only, bool dry_run, bool progress)
{
    dc_config c;
    dc_err err;
    dc_err_clear(&err);
    dc_buf names, path, key, full;
    dc_buf_init(&names, 1 << 26);
    dc_buf_init(&path, 1 << 16);
    dc_buf_init(&key, 1 << 16);
    dc_buf_init(&full, 1 << 10);
    uint32_t n = 0, done = 0;
    int rc = dc_config_init(&c, &err);
    if (rc == 0) rc = dc_config_load_file(&c, file, &err);
    if (rc == 0 && !c.mysql_url)
        rc = dc_err_set(&err, DC_EINVAL, "%s: source.mysql.url is not set (the server to read "
                        "the tables from)", file);
    dc_mysql_opts dbo;
    db_opts(&dbo, &c);
    if (rc == 0) rc = list_tables(&names, &n, &dbo, &err);
    const char *p = (const char *)names.data;
    for (uint32_t i = 0; rc == 0 && i < n && !dc_cli_stop_requested; i++) {
        const char *db = p, *table = p + strlen(p) + 1;
        p = table + strlen(table) + 1;
        dc_buf_reset(&full);
        rc = dc_buf_appendf(&full, &err, "%s.%s", db, table);
        if (rc == 0) rc = dc_buf_putc(&full, 0, &err);
        if (rc < 0) break;
        const char *name = (const char *)full.data;
        if (only && strcmp(only, name) != 0) continue;
        const dc_config_table *t = NULL;
        rc = dc_ingest_source_table(&t, &path, &c, db, table, &err);
        if (rc == 0 && !t) {
            fprintf(stderr, "%s: no tables[] entry matches: skipped\n", name);
            continue;
        }
        if (rc == 0 && t->format == DC_CFG_FORMAT_RAW) {
            fprintf(stderr, "%s: its tables[] entry (line %d) is format raw: skipped (bootstrap "
                    "writes typed tables)\n", name, t->line);
            continue;
        }
        dc_boot_opts o;
        memset(&o, 0, sizeof o);
        o.db = dbo;
        o.source_table = name;
        o.table_uri = (const char *)path.data;
        o.dry_run = dry_run;
        o.progress = progress || isatty(STDERR_FILENO) ? stderr : NULL;
        o.plan = stdout;
        o.stop = &dc_cli_stop_requested;
        if (rc == 0) rc = table_opts(&o, &key, &c, t, &err);
        dc_boot_result r;
        if (rc == 0) rc = dc_boot_run(&r, &o, &err);
        if (rc < 0) break;
        done++;
        if (!dry_run) dc_cli_boot_summary(name, &r);
        if (!dry_run && !r.done) break; /* stopped by a signal */
    }
    if (rc == 0 && only && done == 0)
        rc = dc_err_set(&err, DC_EINVAL, "--table %s: no such typed table to bootstrap (a base "
                        "table of source.mysql.url that a format typed tables[] entry matches)",
                        only);
    if (rc < 0) fprintf(stderr, "deltacdc bootstrap: %s\n", err.msg);
    else fprintf(stderr, "bootstrap: %u of %u source tables %s\n", done, n,
                 dry_run ? "planned" : "done");
    dc_config_dispose(&c);
    dc_buf_dispose(&names);
    dc_buf_dispose(&path);
    dc_buf_dispose(&key);
    dc_buf_dispose(&full);
    if (rc < 0) return 1;
    return dc_cli_stop_requested ? 3 : 0;
}
