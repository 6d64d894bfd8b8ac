/* `deltacdc ingest`: Debezium records merged exactly once into Delta tables.
 * The pipeline file (-c) is read first, then the flags override it. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../daemon/ingest.h"

static const char usage[] =
    "usage: deltacdc ingest [-c pipeline.yaml] [--source URI] [--table PATH] [--key COL[,COL]]\n"
    "                       [--format raw|typed] [--mode dv|cow] [--trigger DURATION]\n"
    "                       [--trigger-min DURATION] [--max-batch N] [--once] [--log-level L]\n"
    "\n"
    "Reads Debezium change events and merges them into Delta tables, exactly once: each\n"
    "micro-batch is one Delta commit that also records the source positions, and a restart\n"
    "resumes after what the table holds.\n"
    "\n"
    "  -c, --config FILE    pipeline file (YAML; keys in docs/CONFIGURATION.md); the flags\n"
    "                       below override it\n"
    "  --source URI         file:PATH | file:- (stdin) | kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=G\n"
    "                       (file: one Debezium record value per line; the line number is\n"
    "                       its offset; null is a tombstone)\n"
    "  --table PATH         the table to write (directory or file:// URI); with Kafka,\n"
    "                       {db} and {table} of the topic may appear in it\n"
    "  --key COL[,COL]      key columns (default: the table's, or the Kafka record key's)\n"
    "  --format raw|typed   raw: the seed's table (key, ts_ms, json_record, operation_type,\n"
    "                       offset); typed: one column per source column (not yet)\n"
    "  --mode dv|cow        deletion vectors (default) or copy-on-write\n"
    "  --trigger DURATION   commit interval at most, e.g. 500ms, 10s, 5m (default 10s)\n"
    "  --trigger-min DURATION\n"
    "                       commit as soon as the source is caught up (no more records\n"
    "                       right now) and the batch's first record is this old (default\n"
    "                       50ms); a backlog still fills batches up to --max-batch. Set it\n"
    "                       to the --trigger value to commit on the interval only\n"
    "  --max-batch N        records per batch at most (default 1000000)\n"
    "  --once               stop when the input is drained (file) or caught up (Kafka),\n"
    "                       after committing; else run until SIGTERM/SIGINT, which finish\n"
    "                       and commit the batch in hand\n"
    "  --log-level L        error, warn, info (default: one line per batch), debug, trace\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second signal kills: the table stays consistent */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

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
    install_handlers();
    dc_ingest_opts o = {.cfg = &c, .once = once, .stop = &stop_requested};
    dc_ingest_stats stats;
    rc = dc_ingest_run(&stats, &o, &err);
    if (rc < 0) {
        fprintf(stderr, "deltacdc ingest: %s\n", err.msg);
        status = 1;
    }
out:
    dc_config_dispose(&c);
    return status;
}
