/* `deltacdc bootstrap`: a MySQL/MariaDB table copied into a typed Delta
 * table from one consistent snapshot, in resumable key chunks (src/boot). */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../boot/boot.h"

static const char usage[] =
    "usage: deltacdc bootstrap -c pipeline.yaml [--table DB.T] [--dry-run] [--progress]\n"
    "       deltacdc bootstrap --db mysql://USER@HOST:PORT/DB --source-table T --table PATH\n"
    "                          [--key COL[,COL]] [--chunk-rows N] [--mode dv|cow] [--dry-run]\n"
    "                          [--ssl-mode M] [--ssl-ca FILE] [--ssl-cert FILE] [--ssl-key FILE]\n"
    "                          [--soft-deletes true|false] [--meta-prefix P]\n"
    "                          [--datetime timestamp_ntz|timestamp] [--time long|string]\n"
    "                          [--progress]\n"
    "                          [--log-level L]\n"
    "\n"
    "Copies one MySQL/MariaDB table into a typed Delta table (the history the CDC stream\n"
    "continues): one consistent snapshot (START TRANSACTION WITH CONSISTENT SNAPSHOT) whose\n"
    "binlog position every row carries in __source_pos (op r), read in primary-key chunks,\n"
    "each chunk one Delta commit. Types are the ones `ingest --format typed` gives the\n"
    "same columns from Debezium. An interrupted bootstrap resumes after its last committed\n"
    "chunk when run again. CDC events at or before the snapshot's position are stale\n"
    "against these rows; later ones apply (README: Bootstrap).\n"
    "\n"
    "With -c, every base table of source.mysql.url that a format typed tables[] entry\n"
    "matches (\"{db}.{table}\" against tables[].match) is copied into the table its path\n"
    "names, with the entry's key, mode and typed options, chunks of bootstrap.chunk_rows;\n"
    "the password comes from the variable source.mysql.pwd_env names (MYSQL_PWD).\n"
    "\n"
    "  -c, --config FILE    the pipeline file (source.mysql, bootstrap, tables)\n"
    "  --table DB.T         with -c: only this source table\n"
    "  --db URL             mysql://USER@HOST:PORT/DB; the password comes from MYSQL_PWD\n"
    "                       (never from the URL; never printed)\n"
    "  --source-table T     the table (T in the URL's database, or DB.T)\n"
    "  --table PATH         the typed Delta table to write (directory or file:// URI)\n"
    "                       (with -c: the source table DB.T)\n"
    "  --key COL[,COL]      key columns (default: the primary key); integer, string,\n"
    "                       binary, date, datetime, timestamp or decimal (<= 18 digits)\n"
    "  --chunk-rows N       rows per chunk and commit (default 250000)\n"
    "  --mode dv|cow        deletion vectors (default) or copy-on-write, for later merges\n"
    "  --dry-run            print the plan (table, estimated rows, chunks, resume point)\n"
    "                       and write nothing\n"
    "  --ssl-mode M         disabled, preferred (default), required, verify_ca,\n"
    "                       verify_identity\n"
    "  --ssl-ca FILE, --ssl-cert FILE, --ssl-key FILE   TLS files\n"
    "  --soft-deletes B     typed layout: with a __deleted column (as ingest's option)\n"
    "  --meta-prefix P      typed layout: prefix of the metadata columns (default __)\n"
    "  --datetime T, --time T   DATETIME and TIME column types, as the pipeline keys\n"
    "                       tables[].datetime and tables[].time (give the ingest's values)\n"
    "  --progress           progress on stderr even when it is not a terminal\n"
    "  --log-level L        error, warn (default), info, debug, trace\n"
    "\n"
    "Exit status: 0 done (or nothing left), 1 error, 2 usage, 3 stopped by a signal\n"
    "(run again to resume).\n";


/* The flags; 2 on a usage error (printed). */
static int parse(dc_boot_opts *o, bool *progress, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--dry-run") == 0) { o->dry_run = true; continue; }
        if (strcmp(a, "--progress") == 0) { *progress = true; continue; }
        if (i + 1 >= argc || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "deltacdc bootstrap: %s '%s' (see --help)\n",
                    strncmp(a, "--", 2) == 0 ? "missing value after" : "unexpected argument", a);
            return 2;
        }
        const char *v = argv[++i];
        dc_err err;
        dc_err_clear(&err);
        int rc = 0;
        if (strcmp(a, "--db") == 0) o->db.url = v;
        else if (strcmp(a, "--source-table") == 0) o->source_table = v;
        else if (strcmp(a, "--table") == 0) o->table_uri = v;
        else if (strcmp(a, "--key") == 0) o->key = v;
        else if (strcmp(a, "--ssl-ca") == 0) o->db.ssl_ca = v;
        else if (strcmp(a, "--ssl-cert") == 0) o->db.ssl_cert = v;
        else if (strcmp(a, "--ssl-key") == 0) o->db.ssl_key = v;
        else if (strcmp(a, "--meta-prefix") == 0) o->typed.meta_prefix = v;
        else if (strcmp(a, "--ssl-mode") == 0) rc = dc_mysql_ssl_mode_parse(&o->db.ssl_mode, v, &err);
        else if (strcmp(a, "--log-level") == 0) {
            dc_log_level l;
            if ((rc = dc_log_parse_level(&l, v, &err)) == 0) dc_log_set_level(l);
        } else if (strcmp(a, "--soft-deletes") == 0) {
            if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
                o->typed.soft_deletes = strcmp(v, "true") == 0;
            else rc = dc_err_set(&err, DC_EINVAL, "--soft-deletes: expected true or false");
        } else if (strcmp(a, "--datetime") == 0) {
            if (strcmp(v, "timestamp_ntz") == 0 || strcmp(v, "timestamp") == 0)
                o->typed.types.datetime_as_timestamp = strcmp(v, "timestamp") == 0;
            else rc = dc_err_set(&err, DC_EINVAL, "--datetime: expected timestamp_ntz or "
                                 "timestamp, not '%s'", v);
        } else if (strcmp(a, "--time") == 0) {
            if (strcmp(v, "long") == 0 || strcmp(v, "string") == 0)
                o->typed.types.time_as_string = strcmp(v, "string") == 0;
            else rc = dc_err_set(&err, DC_EINVAL, "--time: expected long or string, not '%s'", v);
        } else if (strcmp(a, "--mode") == 0) {
            if (strcmp(v, "dv") == 0) o->mode = DC_MERGE_DV;
            else if (strcmp(v, "cow") == 0) o->mode = DC_MERGE_COW;
            else rc = dc_err_set(&err, DC_EINVAL, "--mode: expected dv or cow, not '%s'", v);
        } else if (strcmp(a, "--chunk-rows") == 0) {
            char *e = NULL;
            const unsigned long long n = strtoull(v, &e, 10);
            if (*v == '-' || !*v || *e || n == 0 || n > 100000000ull)
                rc = dc_err_set(&err, DC_EINVAL, "--chunk-rows: expected 1..100000000, not '%s'",
                                v);
            o->chunk_rows = n;
        } else {
            rc = dc_err_set(&err, DC_EINVAL, "unknown option '%s' (see --help)", a);
        }
        if (rc < 0) {
            fprintf(stderr, "deltacdc bootstrap: %s\n", err.msg);
            return 2;
        }
    }
    const char *missing = !o->db.url ? "--db" : !o->source_table ? "--source-table"
                          : !o->table_uri ? "--table" : NULL;
    if (missing) {
        fprintf(stderr, "deltacdc bootstrap: %s is required (see --help)\n", missing);
        return 2;
    }
    return 0;
}

static int pipeline_form(int argc, char **argv, bool *is);

int dc_cli_bootstrap(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    dc_log_set_level(DC_LOG_WARN);
    bool is_pipeline = false;
    const int pf = pipeline_form(argc, argv, &is_pipeline);
    if (is_pipeline) return pf;
    dc_boot_opts o;
    memset(&o, 0, sizeof o);
    bool progress = false;
    const int u = parse(&o, &progress, argc, argv);
    if (u) return u;
    o.db.password = getenv("MYSQL_PWD");
    o.progress = progress || isatty(STDERR_FILENO) ? stderr : NULL;
    o.plan = stdout;
    o.stop = &dc_cli_stop_requested;
    dc_cli_stop_on_signals();
    dc_err err;
    dc_err_clear(&err);
    dc_boot_result r;
    const int rc = dc_boot_run(&r, &o, &err);
    if (rc < 0) {
        fprintf(stderr, "deltacdc bootstrap: %s\n", err.msg);
        return 1;
    }
    if (o.dry_run) return 0;
    dc_cli_boot_summary(o.source_table, &r);
    return r.done ? 0 : 3;
}

void dc_cli_boot_summary(const char *name, const dc_boot_result *r)
{
    const double rate = r->seconds > 0 ? (double)r->rows / r->seconds : 0;
    fprintf(stderr, "bootstrap %s: %llu rows in %llu chunks, %.1fs (%.0f rows/s), position "
            "%s:%lld%s%s, first position %s, %s, version %lld\n", name,
            (unsigned long long)r->rows, (unsigned long long)r->chunks, r->seconds, rate,
            r->pos.file[0] ? r->pos.file : "-", (long long)r->pos.pos,
            r->pos.gtid[0] ? " gtid " : "", r->pos.gtid, r->first_pos[0] ? r->first_pos : "-",
            r->done ? "done" : "stopped (run again to resume)", (long long)r->version);
}

/* -c FILE: the pipeline form (cli_boot_pipeline.c); other flags than
 * --table, --dry-run, --progress and --log-level are refused with it. */
static int pipeline_form(int argc, char **argv, bool *is)
{
    const char *file = NULL, *only = NULL;
    bool dry = false, progress = false;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) *is = true;
    if (!*is) return 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--dry-run") == 0) { dry = true; continue; }
        if (strcmp(a, "--progress") == 0) { progress = true; continue; }
        const bool takes = strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ||
                           strcmp(a, "--table") == 0 || strcmp(a, "--log-level") == 0;
        if (!takes || i + 1 >= argc) {
            fprintf(stderr, "deltacdc bootstrap: %s '%s' with -c (see --help)\n",
                    takes ? "missing value after" : "unexpected argument", a);
            return 2;
        }
        const char *v = argv[++i];
        if (a[1] == 'c' || strcmp(a, "--config") == 0) file = v;
        else if (strcmp(a, "--table") == 0) only = v;
        else {
            dc_log_level l;
            dc_err err;
            if (dc_log_parse_level(&l, v, &err) < 0) {
                fprintf(stderr, "deltacdc bootstrap: %s\n", err.msg);
                return 2;
            }
            dc_log_set_level(l);
        }
    }
    dc_cli_stop_on_signals();
    return dc_cli_boot_pipeline(file, only, dry, progress);
}
