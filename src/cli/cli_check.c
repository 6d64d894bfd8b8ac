/* `deltacdc check`: the monitors run once (issue 11), for cron and Airflow:
 * freshness (a topic against the table) and completeness (a MySQL/MariaDB
 * table against the typed table). Prints a table (or JSON) and exits 0 when
 * every check is green, 1 when one is red (a late partition, a mismatch),
 * 2 on a usage error, 3 when a check could not run (broker, database or
 * table unreachable) and 4 when a completeness check is pending (the table
 * has not reached the source's position yet). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../daemon/ingest.h"
#include "../monitor/monitor.h"
#include "../source/source.h"

static const char usage[] =
    "usage: deltacdc check --table PATH --kafka HOST:PORT --topic T [--pipeline NAME]\n"
    "                      [--max-lag-records N] [--max-lag DURATION] [--timeout DURATION]\n"
    "                      [--json]\n"
    "       deltacdc check --table PATH --db mysql://USER@HOST:PORT/DB --source-table T\n"
    "                      [--mode count|max_id|ranges] [--range-size N] [--keys]\n"
    "                      [--max-keys N] [--wait DURATION] [--meta-prefix P]\n"
    "                      [--ssl-mode M] [--ssl-ca FILE] [--json]\n"
    "       deltacdc check -c pipeline.yaml [--monitor NAME] [--topic T] [--max-lag-records N]\n"
    "                      [--max-lag DURATION] [--timeout DURATION] [--wait DURATION] [--json]\n"
    "\n"
    "Freshness: per partition of the topic, the broker's latest record against the offset\n"
    "the table has committed (its txn action <pipeline>/<topic>/<partition>): lag in records\n"
    "and in seconds (now - CreateTime of the oldest record not yet in the table). A partition\n"
    "is late when it is more than --max-lag-records behind (default 0) AND that record is\n"
    "older than --max-lag (default 5m).\n"
    "\n"
    "Completeness (--db): the source table read in ONE consistent snapshot whose binlog\n"
    "position P is recorded (password from MYSQL_PWD, never printed), against the typed\n"
    "table: the row count (count), the greatest first key (max_id: an integer; the\n"
    "files' stats answer when no deletion vector can hide it), or (ranges, the default)\n"
    "per range of --range-size key values (default 10000) a row count and an\n"
    "order-independent checksum of each row's canonical text, computed by the source's\n"
    "SQL and by deltacdc alike. A key whose first column is not an integer (a string,\n"
    "date, decimal, binary, or a composite key led by one) is cut instead into\n"
    "ceil(rows / --range-size) buckets by the MD5 of the key's canonical text (no\n"
    "collation involved). A mismatch names the ranges or buckets and, with --keys, the\n"
    "keys (missing in the table, extra in it, different values; at most --max-keys,\n"
    "default 1000). Equal means \"verified through source position P\". A difference\n"
    "while the table's recorded source position is behind P, or in rows the table\n"
    "changed after P, is PENDING, not a mismatch; --wait DURATION waits that long for\n"
    "the table to reach P first. --ssl-mode and --ssl-ca as for bootstrap.\n"
    "\n"
    "With -c, every topic of the pipeline's Kafka source (source.kafka.topics: the list,\n"
    "or the broker's topics its pattern matches) is checked against the table the daemon\n"
    "writes it to; tolerances default to monitors.max_lag_records and monitors.max_lag;\n"
    "--json prints one object per topic, one per line. The completeness monitors of\n"
    "monitors.completeness run too; --monitor NAME runs one: freshness, completeness,\n"
    "or a source table of monitors.completeness.tables.\n"
    "\n"
    "  --pipeline NAME      the pipeline that writes the table (default deltacdc)\n"
    "  --timeout DURATION   per broker request (default 10s)\n"
    "  --json               one JSON object instead of the table\n"
    "\n"
    "Exit status: 0 green, 1 a partition is late or a table differs, 2 usage error,\n"
    "3 a check could not run, 4 a completeness check is pending.\n";

typedef struct check_args {
    dc_fresh_opts o;
    dc_complete_opts co;    /* completeness (--db) */
    const char *monitor;    /* -c: --monitor NAME, or NULL for all */
    bool json;
    const char *config;     /* -c FILE, or NULL */
    bool lag_given, records_given; /* --max-lag / --max-lag-records given */
} check_args;

static int parse_int(int64_t *out, const char *flag, const char *v, dc_err *err)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < 0)
        return dc_err_set(err, DC_EINVAL, "%s '%s': expected a count >= 0", flag, v);
    *out = n;
    return 0;
}

static int parse(check_args *a, int argc, char **argv, dc_err *err)
{
    int64_t ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (strcmp(f, "--json") == 0 || strcmp(f, "--keys") == 0) {
            a->json |= f[2] == 'j';
            a->co.keys |= f[2] == 'k';
            continue;
        }
        if (i + 1 >= argc) return dc_err_set(err, DC_EINVAL, "%s needs a value (or is unknown: "
                                             "see deltacdc check --help)", f);
        const char *v = argv[++i];
        if (strcmp(f, "-c") == 0 || strcmp(f, "--config") == 0) a->config = v;
        else if (strcmp(f, "--table") == 0) a->o.table = v;
        else if (strcmp(f, "--kafka") == 0) a->o.bootstrap = v;
        else if (strcmp(f, "--topic") == 0) a->o.topic = v;
        else if (strcmp(f, "--pipeline") == 0) a->o.pipeline = v;
        else if (strcmp(f, "--monitor") == 0) a->monitor = v;
        else if (strcmp(f, "--db") == 0) a->co.db.url = v;
        else if (strcmp(f, "--source-table") == 0) a->co.source_table = v;
        else if (strcmp(f, "--meta-prefix") == 0) a->co.meta_prefix = v;
        else if (strcmp(f, "--mode") == 0) DC_TRY(dc_complete_mode_parse(&a->co.mode, v, err));
        else if (strcmp(f, "--ssl-mode") == 0)
            DC_TRY(dc_mysql_ssl_mode_parse(&a->co.db.ssl_mode, v, err));
        else if (strcmp(f, "--ssl-ca") == 0) a->co.db.ssl_ca = v;
        else if (strcmp(f, "--range-size") == 0 || strcmp(f, "--max-keys") == 0) {
            int64_t n = 0;
            DC_TRY(parse_int(&n, f, v, err));
            if (n < 1 || n > (f[2] == 'r' ? INT64_MAX / 2 : 1000000))
                return dc_err_set(err, DC_EINVAL, "%s '%s': out of range", f, v);
            if (f[2] == 'r') a->co.chunk = n;
            else a->co.max_keys = (uint32_t)n;
        } else if (strcmp(f, "--wait") == 0) DC_TRY(dc_config_parse_duration(&a->co.wait_ms, v, err));
        else if (strcmp(f, "--max-lag-records") == 0) {
            DC_TRY(parse_int(&a->o.max_lag_records, f, v, err));
            a->records_given = true;
        } else if (strcmp(f, "--max-lag") == 0 || strcmp(f, "--timeout") == 0) {
            DC_TRY(dc_config_parse_duration(&ms, v, err));
            a->lag_given |= f[2] == 'm';
            if (f[2] == 'm') a->o.max_lag_seconds = (double)ms / 1000.0;
            else a->o.timeout_ms = ms > 0 && ms < 3600000 ? (int)ms : 10000;
        } else {
            return dc_err_set(err, DC_EINVAL, "unknown argument '%s' (see deltacdc check --help)", f);
        }
    }
    if (a->config && (a->o.table || a->o.bootstrap || a->co.db.url))
        return dc_err_set(err, DC_EINVAL, "-c takes the tables, brokers and databases from the "
                          "pipeline file: --table, --kafka and --db go without it");
    if (!a->config && a->co.db.url) {
        if (!a->o.table || !a->co.source_table)
            return dc_err_set(err, DC_EINVAL, "completeness: give --table PATH, --db URL and "
                              "--source-table T");
        if (a->o.bootstrap) return dc_err_set(err, DC_EINVAL, "give --db or --kafka, not both");
        a->co.table = a->o.table;
        a->co.name = a->co.source_table;
        return 0;
    }
    if (!a->config && (!a->o.table || !a->o.bootstrap || !a->o.topic))
        return dc_err_set(err, DC_EINVAL, "give --table PATH, --kafka HOST:PORT and --topic T, "
                          "or -c pipeline.yaml");
    return 0;
}

/* One check, printed; 0 fresh, 1 late, 3 could not check (reason on stderr). */
static int check_one(const check_args *a, dc_buf *b)
{
    dc_err err;
    dc_err_clear(&err);
    dc_fresh_result r;
    if (dc_monitor_freshness(&r, &a->o, &err) < 0) {
        fprintf(stderr, "deltacdc check: %s\n", err.msg);
        return 3;
    }
    dc_buf_reset(b);
    int rc = a->json ? dc_monitor_fresh_json(b, &a->o, &r, &err)
                     : dc_monitor_fresh_text(b, &a->o, &r, &err);
    if (rc == 0) fwrite(b->data, 1, b->len, stdout);
    else fprintf(stderr, "deltacdc check: %s\n", err.msg);
    const int status = rc < 0 ? 3 : r.ok ? 0 : 1;
    dc_fresh_result_dispose(&r);
    return status;
}

/* One completeness check, printed; 0 ok, 1 mismatch, 3 could not check, 4
 * pending. */
static int complete_one(const check_args *a, const dc_complete_opts *co, dc_buf *b)
{
    dc_err err;
    dc_err_clear(&err);
    dc_complete_result r;
    if (dc_monitor_complete(&r, co, &err) < 0) {
        fprintf(stderr, "deltacdc check: %s\n", err.msg);
        return 3;
    }
    dc_buf_reset(b);
    int rc = a->json ? dc_monitor_complete_json(b, co, &r, &err)
                     : dc_monitor_complete_text(b, co, &r, &err);
    if (rc == 0) fwrite(b->data, 1, b->len, stdout);
    else fprintf(stderr, "deltacdc check: %s\n", err.msg);
    const int status = rc < 0 ? 3 : r.state == DC_COMPLETE_OK ? 0
                                  : r.state == DC_COMPLETE_MISMATCH ? 1 : 4;
    dc_complete_result_dispose(&r);
    return status;
}

/* The topics of the pipeline's source (the list, or the broker's topics the
 * pattern matches), or just --topic. */
static int pipeline_topics(char ***out, size_t *n, const check_args *a, const dc_config *c,
                           dc_err *err)
{
    if (a->o.topic || c->kafka_topics.list.n) {
        const size_t k = a->o.topic ? 1 : c->kafka_topics.list.n;
        if (!(*out = dc_calloc(k, sizeof **out))) return dc_err_set(err, DC_ENOMEM, "out of memory");
        for (*n = 0; *n < k; (*n)++)
            if (!((*out)[*n] = dc_strdup(a->o.topic ? a->o.topic : c->kafka_topics.list.items[*n])))
                return dc_err_set(err, DC_ENOMEM, "out of memory");
        return 0;
    }
    dc_kafka_probe *p = NULL;
    DC_TRY(dc_kafka_probe_new(&p, c->kafka_bootstrap, c->kafka_props.n, c->kafka_props.keys,
                              c->kafka_props.values, err));
    int rc = dc_kafka_probe_topics(out, n, p, a->o.timeout_ms, err);
    dc_kafka_probe_free(p);
    dc_source_capture caps[DC_SOURCE_MAX_CAPTURES];
    size_t kept = 0, nc = 0;
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        if (dc_source_pattern_match(c->kafka_topics.pattern, (*out)[i], caps, &nc))
            (*out)[kept++] = (*out)[i];
        else
            dc_free((*out)[i]);
    }
    *n = kept;
    return rc;
}

/* -c: every topic of the pipeline against its table; the worst status. */
static int check_pipeline(check_args *a, dc_buf *b)
{
    dc_err err;
    dc_err_clear(&err);
    dc_config c;
    char **topics = NULL;
    size_t n = 0;
    int status = 0;
    dc_buf path;
    dc_buf_init(&path, 64 * 1024);
    dc_cli_cmons cm = {0};
    size_t ran = 0;
    int rc = dc_config_init(&c, &err);
    if (rc == 0) rc = dc_config_load_file(&c, a->config, &err);
    if (rc == 0) rc = dc_cli_cmons_load(&cm, &c, &err);
    const bool kafka = c.kafka_bootstrap && (c.kafka_topics.pattern || c.kafka_topics.list.n);
    const bool fresh = kafka && (!a->monitor || strcmp(a->monitor, "freshness") == 0);
    if (rc == 0 && !kafka && !cm.n)
        rc = dc_err_set(&err, DC_EINVAL, "%s: no monitor to run: no source.kafka with "
                        "bootstrap_servers and topics (freshness) and no monitors.completeness",
                        a->config);
    for (size_t i = 0; rc == 0 && i < cm.n; i++) {
        if (a->monitor && strcmp(a->monitor, "completeness") != 0 &&
            strcmp(a->monitor, cm.o[i].name) != 0)
            continue;
        cm.o[i].wait_ms = a->co.wait_ms;
        const int s = complete_one(a, &cm.o[i], b);
        ran++;
        if (s == 3 || (s == 1 && status != 3) || (s == 4 && status == 0)) status = s;
    }
    if (rc == 0 && !fresh) {
        if (!ran) rc = dc_err_set(&err, DC_EINVAL, "%s: no monitor named '%s' (freshness, "
                                  "completeness, or a source table of "
                                  "monitors.completeness.tables)", a->config, a->monitor);
        if (rc == 0) goto out;
    }
    if (rc == 0) rc = pipeline_topics(&topics, &n, a, &c, &err);
    if (rc < 0) {
        fprintf(stderr, "deltacdc check: %s\n", err.msg);
        status = 3;
        goto out;
    }
    a->o.bootstrap = c.kafka_bootstrap;
    a->o.pipeline = c.pipeline;
    a->o.n_props = c.kafka_props.n;
    a->o.prop_keys = c.kafka_props.keys;
    a->o.prop_values = c.kafka_props.values;
    if (!a->records_given) a->o.max_lag_records = c.monitor_max_lag_records;
    if (!a->lag_given) a->o.max_lag_seconds = (double)c.monitor_max_lag_ms / 1000.0;
    for (size_t i = 0; i < n; i++) {
        int s = 3;
        if (dc_ingest_table_path(&path, &c, topics[i], &err) < 0) {
            fprintf(stderr, "deltacdc check: topic %s: %s\n", topics[i], err.msg);
            dc_err_clear(&err);
        } else {
            a->o.table = (const char *)path.data;
            a->o.topic = topics[i];
            s = check_one(a, b);
        }
        if (s == 3 || (s == 1 && status != 3) || (s == 4 && status == 0)) status = s;
    }
    if (n == 0) fprintf(stderr, "deltacdc check: no topic of the pipeline on the broker\n");
out:
    dc_cli_cmons_dispose(&cm);
    dc_kafka_probe_topics_free(topics, n);
    dc_buf_dispose(&path);
    dc_config_dispose(&c);
    return status;
}

int dc_cli_check(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    }
    dc_err err;
    dc_err_clear(&err);
    check_args a = {.o = {.pipeline = "deltacdc", .max_lag_seconds = 300, .timeout_ms = 10000},
                    .co = {.mode = DC_COMPLETE_RANGES, .chunk = 10000}};
    a.co.db.password = getenv("MYSQL_PWD");
    if (parse(&a, argc, argv, &err) < 0) {
        fprintf(stderr, "deltacdc check: %s\n", err.msg);
        return 2;
    }
    dc_buf b;
    dc_buf_init(&b, 64 * 1024 * 1024);
    const int status = a.config ? check_pipeline(&a, &b)
                       : a.co.db.url ? complete_one(&a, &a.co, &b) : check_one(&a, &b);
    dc_buf_dispose(&b);
    return status;
}
