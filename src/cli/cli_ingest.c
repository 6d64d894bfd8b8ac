/* `deltacdc ingest`: Debezium records merged exactly once into Delta tables.
 * The pipeline file (-c) is read first, then the flags override it. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../config/config.h"
#include "../daemon/ingest.h"
#include "../storage/storage.h"
#include "../http/http.h"
#include "../monitor/monitor.h"

static const char usage[] =
    "usage: deltacdc ingest [-c pipeline.yaml] [--source URI] [--table PATH] [--key COL[,COL]]\n"
    "                       [--format raw|typed|raw,typed] [--typed-table PATH]\n"
    "                       [--mode dv|cow] [--trigger DURATION]\n"
    "                       [--trigger-min DURATION] [--max-batch N] [--threads N] [--pipeline NAME]\n"
    "                       [--once] [--http ADDR] [--log-level L] [--soft-deletes true|false]\n"
    "                       [--meta-prefix P] [--schema-changes file:PATH|kafka://H:P/TOPIC]\n"
    "\n"
    "Reads Debezium change events and merges them into Delta tables, exactly once: each\n"
    "micro-batch is one Delta commit that also records the source positions, and a restart\n"
    "resumes after what the table holds.\n"
    "\n"
    "  -c, --config FILE    pipeline file (YAML; keys in docs/CONFIGURATION.md); the flags\n"
    "                       below override it\n"
    "  --source URI         file:PATH | file:- (stdin) | kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=G\n"
    "                       (file: one Debezium record value per line; the line number is\n"
    "                       its offset; null is a tombstone; a resume checks the input is\n"
    "                       the one the table's position was recorded for)\n"
    "  --table PATH         the table to write (directory, file:// or s3://bucket/prefix:\n"
    "                       storage.s3 settings, else the AWS environment); with Kafka,\n"
    "                       {db} and {table} of the topic may appear in it\n"
    "  --key COL[,COL]      key columns (default: the table's, or the Kafka record key's)\n"
    "  --format F           raw: the seed's table (key, ts_ms, json_record, operation_type,\n"
    "                       offset); typed: one column per source column, typed from the\n"
    "                       records' Debezium schema blocks (the first record creating the\n"
    "                       table must have one), then __op, __ts_ms, __offset,\n"
    "                       __source_pos; ranked by the binlog position; new columns are\n"
    "                       added live (README: Typed tables); raw,typed: both tables\n"
    "                       from one stream, each with its own position (exactly-once each)\n"
    "  --typed-table PATH   with --format raw,typed: the typed table (default: the raw\n"
    "                       table's path + \"_typed\"; {path} is the raw table's path)\n"
    "  --soft-deletes B     typed: a delete keeps the row with __deleted = true (default\n"
    "                       false: the row is removed)\n"
    "  --meta-prefix P      typed: prefix of the metadata columns (default __)\n"
    "  --schema-changes file:PATH|kafka://HOST:PORT/TOPIC|TOPIC\n"
    "                       typed: Debezium's schema-change records (include.schema.changes):\n"
    "                       a JSON-lines file of them, or the topic (a bare name: the\n"
    "                       source's broker), read up to its high watermark before each\n"
    "                       poll's records are merged. RENAME COLUMN, CHANGE old new and DROP COLUMN are\n"
    "                       followed in place through column mapping, ordered by binlog\n"
    "                       position (tables[].schema_changes_topic)\n"
    "  --mode dv|cow        deletion vectors (default) or copy-on-write\n"
    "  --trigger DURATION   commit interval at most, e.g. 500ms, 10s, 5m (default 10s)\n"
    "  --trigger-min DURATION\n"
    "                       commit as soon as the source is caught up (no more records\n"
    "                       right now) and the batch's first record is this old (default\n"
    "                       50ms); a backlog still fills batches up to --max-batch. Set it\n"
    "                       to the --trigger value to commit on the interval only\n"
    "  --max-batch N        records per batch at most (default 1000000)\n"
    "  --threads N          threads decoding records, the loop's included (ingest.threads;\n"
    "                       default 0: one per core; 1: no worker threads; a file source is\n"
    "                       read and decoded ahead on the others)\n"
    "  --pipeline NAME      the positions' name in the table (txn appIds \"NAME/<topic>/<part>\",\n"
    "                       default deltacdc); another name starts over from the first record\n"
    "  --once               stop when the input is drained (file) or caught up (Kafka),\n"
    "                       after committing; else run until SIGTERM/SIGINT, which finish\n"
    "                       and commit the batch in hand\n"
    "  --http ADDR          serve /metrics, /status, /healthz and a status page at /\n"
    "                       on HOST:PORT or PORT (127.0.0.1); port 0 picks a free port\n"
    "                       (http.listen; off unless set)\n"
    "  --log-level L        error, warn, info (default: one line per batch), debug, trace\n";


typedef struct flag {
    const char *name;       /* "--trigger" */
    const char *key;        /* config key it sets, or NULL (handled in apply) */
    const char *table_field; /* tables[] field it sets in every entry, or NULL */
} flag;

static const flag flags[] = {
    {"--source", NULL, NULL},          {"--table", NULL, NULL},
    {"--key", NULL, "key"},            {"--format", NULL, "format"},
    {"--mode", NULL, "mode"},          {"--trigger", "trigger.interval", NULL},
    {"--trigger-min", "trigger.min_interval", NULL},
    {"--max-batch", "trigger.max_records", NULL}, {"--log-level", "log_level", NULL},
    {"--threads", "ingest.threads", NULL},
    {"--pipeline", "pipeline", NULL},
    {"--http", "http.listen", NULL},
    {"--soft-deletes", NULL, "soft_deletes"}, {"--meta-prefix", NULL, "meta_prefix"},
    {"--typed-table", NULL, "typed_path"},
    {"--schema-changes", NULL, "schema_changes_topic"},
};

/* Applies one flag with its value to the configuration. */
static int apply(dc_config *c, const flag *f, const char *v, dc_err *err)
{
    if (strcmp(f->name, "--source") == 0) {
        if (strncmp(v, "file:", 5) != 0 && strncmp(v, "kafka://", 8) != 0)
            return dc_err_set(err, DC_EINVAL, "--source '%s': expected file:PATH, file:- or "
                              "kafka://HOST:PORT/TOPIC", v);
        c->source_uri = v;
        return 0;
    }
    if (strcmp(f->name, "--table") == 0) return dc_config_table_only(c, v, err);
    if (f->table_field) return dc_config_table_set(c, f->table_field, v, f->name, err);
    return dc_config_set(c, f->key, v, f->name, err);
}

static const flag *find_flag(const char *name)
{
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strcmp(flags[i].name, name) == 0) return &flags[i];
    return NULL;
}

/* -c first (the flags override the file whatever their order), then the
 * flags in order; --table before --key/--format/--mode. Returns 0, or 2 for
 * a usage error (message printed). */
static int parse(dc_config *c, bool *once, int argc, char **argv, dc_err *err)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) return dc_err_set(err, DC_EINVAL, "%s needs a value", argv[i]);
            if (c->file) return dc_err_set(err, DC_EINVAL, "-c given twice");
            DC_TRY(dc_config_load_file(c, argv[++i], err));
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 1; i < argc; i++) {
            const char *a = argv[i];
            if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
                i++;
                continue;
            }
            if (strcmp(a, "--once") == 0) {
                *once = true;
                continue;
            }
            const flag *f = find_flag(a);
            if (!f) return dc_err_set(err, DC_EINVAL, "unknown argument '%s' (see deltacdc ingest "
                                      "--help)", a);
            if (i + 1 >= argc) return dc_err_set(err, DC_EINVAL, "%s needs a value", a);
            const char *v = argv[++i];
            bool table_flag = f->table_field != NULL;
            if ((pass == 1) == table_flag) DC_TRY(apply(c, f, v, err));
        }
    }
    return 0;
}

/* The Kafka bootstrap servers of the source (HOSTS of kafka://HOSTS/...),
 * or NULL for a file source (dc_free it). */
static char *kafka_bootstrap(const dc_config *c)
{
    if (c->source_uri && strncmp(c->source_uri, "kafka://", 8) == 0)
        return dc_strndup(c->source_uri + 8, strcspn(c->source_uri + 8, "/?"));
    if (!c->source_uri && !c->source_file && c->kafka_bootstrap)
        return dc_strdup(c->kafka_bootstrap);
    return NULL;
}

static int start_monitor(dc_monitor_sched **out, const dc_config *c, const char *bootstrap,
                         const dc_cli_cmons *cm, dc_metrics *m, dc_err *err)
{
    const dc_monitor_sched_opts o = {
        .complete = cm->o, .n_complete = cm->n,
        .bootstrap = bootstrap, .pipeline = c->pipeline, .n_props = c->kafka_props.n,
        .prop_keys = c->kafka_props.keys, .prop_values = c->kafka_props.values,
        .interval_ms = c->monitor_interval_ms, .max_lag_records = c->monitor_max_lag_records,
        .max_lag_seconds = (double)c->monitor_max_lag_ms / 1000.0,
        .webhook = c->monitor_webhook, .webhook_timeout_ms = (int)c->monitor_webhook_timeout_ms,
        .webhook_retries = (int)c->monitor_webhook_retries,
    };
    return dc_monitor_sched_start(out, &o, m, err);
}

/* After a failure with HTTP on: /healthz answers 503 for a while, so that
 * a probe or a scrape sees the failure; a signal ends the wait. */
static void linger(int64_t ms)
{
    if (ms <= 0 || dc_cli_stop_requested) return;
    fprintf(stderr, "deltacdc ingest: serving /healthz (503) for %lld ms before exiting "
            "(http.fail_linger)\n", (long long)ms);
    const struct timespec step = {0, 100 * 1000 * 1000};
    for (int64_t waited = 0; waited < ms && !dc_cli_stop_requested; waited += 100)
        nanosleep(&step, NULL);
}

int dc_cli_ingest(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    }
    dc_err err;
    dc_err_clear(&err);
    dc_config c;
    dc_metrics *metrics = NULL;
    dc_http *http = NULL;
    dc_monitor_sched *mon = NULL;
    dc_cli_cmons cmons = {0};
    char *bootstrap = NULL;
    bool once = false;
    int status = 0;
    int rc = dc_config_init(&c, &err);
    if (rc == 0) rc = parse(&c, &once, argc, argv, &err);
    if (rc < 0) {
        fprintf(stderr, "deltacdc ingest: %s\n", err.msg);
        status = 2;
        goto out;
    }
    dc_log_set_level((dc_log_level)c.log_level);
    if ((rc = dc_cli_configure_s3(&c, &err)) < 0) {
        fprintf(stderr, "deltacdc ingest: %s\n", err.msg);
        status = 2;
        goto out;
    }
    dc_cli_stop_on_signals();
    bootstrap = kafka_bootstrap(&c);
    if (c.monitor_freshness != DC_CFG_MONITOR_AUTO) {
        dc_free(bootstrap);
        bootstrap = NULL;
    }
    if ((rc = dc_cli_cmons_load(&cmons, &c, &err)) < 0) {
        fprintf(stderr, "deltacdc ingest: %s\n", err.msg);
        status = 2;
        goto out;
    }
    const bool monitor = bootstrap || cmons.n;
    if (c.http_listen || monitor) rc = dc_metrics_new(&metrics, &err);
    if (rc == 0 && c.http_listen)
        rc = dc_http_start(&http, &(dc_http_opts){c.http_listen, c.http_token}, metrics, &err);
    if (rc == 0 && monitor) rc = start_monitor(&mon, &c, bootstrap, &cmons, metrics, &err);
    dc_ingest_opts o = {.cfg = &c, .once = once, .stop = &dc_cli_stop_requested,
                        .metrics = metrics};
    dc_ingest_stats stats;
    if (rc == 0) rc = dc_ingest_run(&stats, &o, &err);
    if (rc < 0) {
        fprintf(stderr, "deltacdc ingest: %s\n", err.msg);
        status = 1;
        if (http) linger(c.http_fail_linger_ms);
    }
out:
    dc_monitor_sched_free(mon);
    dc_cli_cmons_dispose(&cmons);
    dc_http_free(http);
    dc_metrics_free(metrics);
    dc_free(bootstrap);
    dc_config_dispose(&c);
    return status;
}
