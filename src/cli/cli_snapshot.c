/* `deltacdc snapshot`: the seed's nightly merge — history ∪ CDC table →
 * latest row per key → deletes dropped → partition data_date=D of a dated
 * Delta table, in one commit (src/snap). And `deltacdc rebase`, which folds
 * the CDC table into the history with the same merge (same flags, same
 * pipeline-file lookup). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../daemon/ingest.h"
#include "../snap/snap.h"

static const char usage[] =
    "usage: deltacdc snapshot --cdc PATH --out PATH --date YYYY-MM-DD [--history PATH]\n"
    "                         [--as-of VERSION|TIME] [--key COL[,COL]] [--print-ddl]\n"
    "       deltacdc snapshot -c pipeline.yaml [--table DB.TABLE] --date YYYY-MM-DD\n"
    "                         [--as-of VERSION|TIME] [--print-ddl]\n"
    "       deltacdc snapshot --out PATH --print-ddl [--name DB.TABLE]\n"
    "   common: [--memory SIZE] [--tmp-dir DIR] [--meta-prefix P] [--no-manifest]\n"
    "           [--log-level L]\n"
    "\n"
    "The seed's nightly merge, done right: the history table's rows (op 'c', older than\n"
    "every CDC row) and the CDC table's rows, the newest row per key, deletes\n"
    "dropped, written as the partition data_date=DATE of the output Delta table in ONE\n"
    "commit that replaces the partition's old files (a rerun of a date is idempotent and\n"
    "atomic). Rows with a source position (__source_pos) rank by it: a CDC row at or\n"
    "before the history's position never regresses it, and CDC rows at or before a\n"
    "bootstrap's recorded position are skipped. Memory is bounded: sorted runs spill to\n"
    "a temporary directory beyond --memory. A symlink manifest is written for Hive/Presto.\n"
    "\n"
    "  --cdc PATH           the CDC table: typed (ingest --format typed; with --history it\n"
    "                       needs soft deletes, so that deleted keys stay deleted) or raw\n"
    "                       (json_record decoded with the Debezium schemas it keeps)\n"
    "  --history PATH       the history table (optional: a CDC table that holds its\n"
    "                       bootstrap needs none)\n"
    "  --out PATH           the dated table (created when absent, partitioned by data_date)\n"
    "  --date YYYY-MM-DD    the partition to write\n"
    "  --as-of V|TIME       read the CDC table at version V, or as of a UTC time\n"
    "                       (YYYY-MM-DD[ HH:MM[:SS]]): the last commit at or before it\n"
    "  --key COL[,COL]      key columns (default: the CDC table's deltacdc.key property)\n"
    "  -c FILE              a pipeline file: paths from tables[].path (the CDC table),\n"
    "                       snapshot.path and snapshot.history; --table DB.TABLE picks one\n"
    "                       (default: every tables[].match that names one table)\n"
    "  --print-ddl          print Hive DDL (external table over the symlink manifest,\n"
    "                       partitioned by data_date); alone with --out: DDL only\n"
    "  --name DB.TABLE      the DDL's table name (default: from --table, else snapshot.t)\n"
    "  --memory SIZE        sorted rows held in memory before spilling (default 512MiB)\n"
    "  --tmp-dir DIR        where runs spill (default $TMPDIR, else /tmp)\n"
    "  --meta-prefix P      typed layout: prefix of the metadata columns (default __)\n"
    "  --no-manifest        do not write _symlink_format_manifest\n"
    "  --log-level L        error, warn (default), info, debug, trace\n"
    "\n"
    "Prints one summary line per table on stderr. Exit status: 0 done, 1 error (nothing\n"
    "committed), 2 usage.\n";

static const char rebase_usage[] =
    "usage: deltacdc rebase --cdc PATH --history PATH [--key COL[,COL]]\n"
    "       deltacdc rebase -c pipeline.yaml [--table DB.TABLE]\n"
    "   common: [--memory SIZE] [--tmp-dir DIR] [--meta-prefix P] [--log-level L]\n"
    "\n"
    "The seed's mitigation for a MERGE that slows down as the table grows (\"replace the\n"
    "Delta data with the latest merged snapshot and restart consumption\"), as one safe\n"
    "command. Two commits: (1) the history table (created when absent) gets ONE commit\n"
    "that replaces all its files with history + the CDC table at its latest version V,\n"
    "the newest row per key, deletes dropped (the snapshot's merge), and records V (txn\n"
    "deltacdc.rebase/<CDC table id>); (2) the CDC table gets ONE commit that removes the\n"
    "files live at V. Files ingest added since V stay, and the CDC table's txns (the\n"
    "ingest's offsets) are untouched: ingest, running or restarted, goes on where it\n"
    "was, nothing lost or doubled. A run interrupted between the two commits is finished\n"
    "by the next run; a run with nothing new commits nothing. Afterwards the full state\n"
    "is history + CDC table: `deltacdc snapshot --history` reads it.\n"
    "\n"
    "  --cdc PATH           the CDC table: typed with soft deletes (so that a key deleted\n"
    "                       after the rebase is dropped from the history), or raw\n"
    "  --history PATH       the history table (created by the first rebase)\n"
    "  --key COL[,COL]      key columns (default: the CDC table's deltacdc.key property)\n"
    "  -c FILE              a pipeline file: the CDC table from tables[].path, the history\n"
    "                       from snapshot.history (required); --table DB.TABLE picks one\n"
    "                       (default: every tables[].match that names one table)\n"
    "  --memory SIZE        sorted rows held in memory before spilling (default 512MiB)\n"
    "  --tmp-dir DIR        where runs spill (default $TMPDIR, else /tmp)\n"
    "  --meta-prefix P      typed layout: prefix of the metadata columns (default __)\n"
    "  --log-level L        error, warn (default), info, debug, trace\n"
    "\n"
    "Prints one summary line per table on stderr. Exit status: 0 done, 1 error, 2 usage.\n";

/* Flags beyond dc_snap_opts. */
typedef struct snap_cli {
    bool rebase;            /* `deltacdc rebase` */
    const char *config;     /* -c */
    const char *table;      /* --table db.t */
    const char *name;       /* --name db.t (DDL) */
    bool ddl;               /* --print-ddl */
    bool memory_set;        /* --memory given (beats snapshot.memory) */
} snap_cli;

static int parse_flag(dc_snap_opts *o, snap_cli *c, const char *a, const char *v, dc_err *err)
{
    if (strcmp(a, "--cdc") == 0) o->cdc_uri = v;
    else if (strcmp(a, "--history") == 0) o->history_uri = v;
    else if (strcmp(a, "--out") == 0) o->out_uri = v;
    else if (strcmp(a, "--date") == 0) o->date = v;
    else if (strcmp(a, "--as-of") == 0) o->as_of = v;
    else if (strcmp(a, "--key") == 0) o->key = v;
    else if (strcmp(a, "--tmp-dir") == 0) o->tmp_dir = v;
    else if (strcmp(a, "--meta-prefix") == 0) o->meta_prefix = v;
    else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) c->config = v;
    else if (strcmp(a, "--table") == 0) c->table = v;
    else if (strcmp(a, "--name") == 0) c->name = v;
    else if (strcmp(a, "--memory") == 0) {
        c->memory_set = true;
        return dc_config_parse_size(&o->memory_bytes, v, err);
    } else if (strcmp(a, "--log-level") == 0) {
        dc_log_level l;
        DC_TRY(dc_log_parse_level(&l, v, err));
        dc_log_set_level(l);
    } else {
        return dc_err_set(err, DC_EINVAL, "unknown option '%s' (see --help)", a);
    }
    return 0;
}

/* What rebase needs of the flags; 2 on a usage error (printed). */
static int parse_rebase(const dc_snap_opts *o, const snap_cli *c)
{
    const char *bad = c->ddl ? "--print-ddl" : o->out_uri ? "--out" : o->date ? "--date"
                      : o->as_of ? "--as-of" : !o->manifest ? "--no-manifest" : NULL;
    if (bad) {
        fprintf(stderr, "deltacdc rebase: %s is a snapshot option (see --help)\n", bad);
        return 2;
    }
    const char *missing = c->config ? NULL : !o->cdc_uri ? "--cdc"
                          : !o->history_uri ? "--history" : NULL;
    if (missing) {
        fprintf(stderr, "deltacdc rebase: %s is required (see --help)\n", missing);
        return 2;
    }
    if (c->config && (o->cdc_uri || o->history_uri)) {
        fprintf(stderr, "deltacdc rebase: -c takes the paths from the pipeline file: give "
                "--cdc/--history without it\n");
        return 2;
    }
    return 0;
}

/* The flags; 2 on a usage error (printed). */
static int parse(dc_snap_opts *o, snap_cli *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--print-ddl") == 0) { c->ddl = true; continue; }
        if (strcmp(a, "--no-manifest") == 0) { o->manifest = false; continue; }
        if (i + 1 >= argc || a[0] != '-') {
            fprintf(stderr, "deltacdc %s: %s '%s' (see --help)\n", c->rebase ? "rebase" : "snapshot",
                    a[0] == '-' ? "missing value after" : "unexpected argument", a);
            return 2;
        }
        dc_err err;
        dc_err_clear(&err);
        if (parse_flag(o, c, a, argv[++i], &err) < 0) {
            fprintf(stderr, "deltacdc %s: %s: %s\n", c->rebase ? "rebase" : "snapshot", a,
                    err.msg);
            return 2;
        }
    }
    if (c->rebase) return parse_rebase(o, c);
    const bool ddl_only = c->ddl && !o->date && !c->config;
    const char *missing = ddl_only ? (!o->out_uri ? "--out" : NULL)
                          : !o->date ? "--date"
                          : c->config ? NULL
                          : !o->cdc_uri ? "--cdc" : !o->out_uri ? "--out" : NULL;
    if (missing) {
        fprintf(stderr, "deltacdc snapshot: %s is required (see --help)\n", missing);
        return 2;
    }
    if (c->config && (o->cdc_uri || o->out_uri || o->history_uri)) {
        fprintf(stderr, "deltacdc snapshot: -c takes the paths from the pipeline file: give "
                "--cdc/--out/--history without it\n");
        return 2;
    }
    return 0;
}

static void print_result(const char *what, const dc_snap_opts *o, const dc_snap_result *r)
{
    fprintf(stderr, "snapshot %s%s%s data_date=%s version %lld: %llu rows (%llu keys deleted), "
            "read %llu CDC rows (version %lld)", strcmp(what, "-") ? what : "",
            strcmp(what, "-") ? ": " : "", o->out_uri, o->date,
            (long long)r->version, (unsigned long long)r->rows, (unsigned long long)r->deleted,
            (unsigned long long)r->cdc_rows, (long long)r->cdc_version);
    if (o->history_uri)
        fprintf(stderr, " + %llu history rows (version %lld%s)",
                (unsigned long long)r->history_rows, (long long)r->history_version,
                r->history_streamed ? ", in key order: streamed" : "");
    if (r->floor_skipped)
        fprintf(stderr, ", %llu at or before the history's position",
                (unsigned long long)r->floor_skipped);
    fprintf(stderr, ", replaced %llu files, %u runs spilled (%llu bytes), %.2fs\n",
            (unsigned long long)r->replaced_files, r->runs_spilled,
            (unsigned long long)r->spill_bytes, r->seconds);
}

static void print_rebase(const char *what, const dc_snap_opts *o,
                         const dc_snap_rebase_result *r)
{
    const char *w = strcmp(what, "-") ? what : "";
    if (r->resumed >= 0)
        fprintf(stderr, "rebase %s%s%s: finished an interrupted rebase (CDC version %lld): "
                "removed its folded files from the CDC table\n", w, *w ? ": " : "", o->cdc_uri,
                (long long)r->resumed);
    if (!r->folded) {
        fprintf(stderr, "rebase %s%s%s: nothing to fold (the CDC table holds no files), "
                "%.2fs\n", w, *w ? ": " : "", o->cdc_uri, r->seconds);
        return;
    }
    const dc_snap_result *f = &r->fold;
    fprintf(stderr, "rebase %s%s%s -> %s version %lld: %llu rows (%llu keys deleted), folded "
            "%llu CDC rows (version %lld)", w, *w ? ": " : "", o->cdc_uri, o->history_uri,
            (long long)f->version, (unsigned long long)f->rows, (unsigned long long)f->deleted,
            (unsigned long long)f->cdc_rows, (long long)f->cdc_version);
    if (f->history_version >= 0)
        fprintf(stderr, " + %llu history rows (version %lld%s)",
                (unsigned long long)f->history_rows, (long long)f->history_version,
                f->history_streamed ? ", in key order: streamed" : "");
    fprintf(stderr, "; CDC table version %lld removed %llu files, kept %llu added since, "
            "%u runs spilled, %.2fs\n", (long long)r->drop_version,
            (unsigned long long)r->removed_files, (unsigned long long)r->kept_files,
            f->runs_spilled, r->seconds);
}

/* One rebase; 0 or 1. */
static int run_rebase(const dc_snap_opts *o, const char *what)
{
    dc_err err;
    dc_err_clear(&err);
    dc_snap_rebase_result r;
    if (dc_snap_rebase(&r, o, &err) < 0) {
        fprintf(stderr, "deltacdc rebase: %s\n", err.msg);
        return 1;
    }
    print_rebase(what, o, &r);
    return 0;
}

/* One snapshot (and its DDL when asked), or one rebase; 0 or 1. */
static int run_one(const dc_snap_opts *o, const snap_cli *c, const char *what)
{
    if (c->rebase) return run_rebase(o, what);
    dc_err err;
    dc_err_clear(&err);
    if (o->date) {
        dc_snap_result r;
        if (dc_snap_run(&r, o, &err) < 0) {
            fprintf(stderr, "deltacdc snapshot: %s\n", err.msg);
            return 1;
        }
        print_result(what, o, &r);
    }
    if (!c->ddl) return 0;
    dc_buf ddl;
    dc_buf_init(&ddl, 1 << 24);
    const char *name = c->name ? c->name : strcmp(what, "-") ? what : "snapshot.t";
    int rc = dc_snap_ddl(&ddl, o->out_uri, name, &err);
    if (rc == 0) fwrite(ddl.data, 1, ddl.len, stdout);
    else fprintf(stderr, "deltacdc snapshot: %s\n", err.msg);
    dc_buf_dispose(&ddl);
    return rc < 0 ? 1 : 0;
}

static bool names_one_table(const char *match)
{
    return strchr(match, '.') && !strpbrk(match, "*?[");
}

/* -c: every table (or --table's) with its paths from the pipeline file. */
static int run_config(dc_snap_opts *o, const snap_cli *c)
{
    dc_config cfg;
    dc_err err;
    dc_err_clear(&err);
    int rc = dc_config_init(&cfg, &err);
    if (rc == 0) rc = dc_config_load_file(&cfg, c->config, &err);
    if (rc == 0) rc = dc_cli_configure_s3(&cfg, &err); /* storage.s3.* for s3:// tables */
    const char *cmd = c->rebase ? "rebase" : "snapshot";
    if (rc == 0 && c->rebase && !cfg.snapshot_history)
        rc = dc_err_set(&err, DC_EINVAL, "%s: rebase needs snapshot.history (the history "
                        "table the CDC table is folded into)", c->config);
    if (rc < 0) {
        fprintf(stderr, "deltacdc %s: %s\n", cmd, err.msg);
        dc_config_dispose(&cfg);
        return rc == DC_EINVAL ? 2 : 1;
    }
    if (!c->memory_set) o->memory_bytes = cfg.snapshot_memory;
    if (!o->tmp_dir) o->tmp_dir = cfg.snapshot_temp_dir;
    int status = 0, done = 0;
    dc_buf cdc, out, hist;
    dc_buf_init(&cdc, 1 << 16);
    dc_buf_init(&out, 1 << 16);
    dc_buf_init(&hist, 1 << 16);
    for (uint32_t i = 0; status == 0 && i < (c->table ? 1 : cfg.n_tables); i++) {
        const char *name = c->table ? c->table : cfg.tables[i].match;
        if (!c->table && !names_one_table(name)) continue;
        const dc_config_table *e = NULL;
        rc = dc_ingest_table_path_named(&cdc, &e, &cfg, name, NULL, &err);
        if (rc == 0 && !c->rebase)
            rc = dc_ingest_table_path_named(&out, &e, &cfg, name, cfg.snapshot_path, &err);
        if (rc == 0 && cfg.snapshot_history)
            rc = dc_ingest_table_path_named(&hist, &e, &cfg, name, cfg.snapshot_history, &err);
        if (rc < 0) {
            fprintf(stderr, "deltacdc %s: %s: %s\n", cmd, c->config, err.msg);
            status = 2;
            break;
        }
        o->cdc_uri = (const char *)cdc.data;
        o->out_uri = c->rebase ? NULL : (const char *)out.data;
        o->history_uri = cfg.snapshot_history ? (const char *)hist.data : NULL;
        if (!o->meta_prefix) o->meta_prefix = e->meta_prefix;
        status = run_one(o, c, name);
        done++;
    }
    if (status == 0 && done == 0) {
        fprintf(stderr, "deltacdc %s: %s: no tables[].match names one table (db.table): "
                "give --table DB.TABLE\n", cmd, c->config);
        status = 2;
    }
    dc_buf_dispose(&cdc);
    dc_buf_dispose(&out);
    dc_buf_dispose(&hist);
    dc_config_dispose(&cfg);
    return status;
}

/* snapshot and rebase: the same flags, the same pipeline-file lookup. */
static int run_cli(int argc, char **argv, bool rebase)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(rebase ? rebase_usage : usage, stdout);
            return 0;
        }
    dc_log_set_level(DC_LOG_WARN);
    dc_snap_opts o;
    dc_snap_opts_init(&o);
    snap_cli c;
    memset(&c, 0, sizeof c);
    c.rebase = rebase;
    const int u = parse(&o, &c, argc, argv);
    if (u) return u;
    if (c.config) return run_config(&o, &c);
    return run_one(&o, &c, c.name ? c.name : "-");
}

int dc_cli_snapshot(int argc, char **argv)
{
    return run_cli(argc, argv, false);
}

int dc_cli_rebase(int argc, char **argv)
{
    return run_cli(argc, argv, true);
}
