/*
 * cli: `-c pipeline.yaml` and `--table NAME` for the commands that take a
 * TABLE (checkpoint, optimize, vacuum, cleanup, manifest, properties, cat,
 * inspect, history), so that a lake on S3 is maintained with the same file
 * the daemon runs with: its storage.s3.* settings (endpoint, region,
 * credentials through ${ENV}) become the process's S3 settings, and a table
 * name db.table is found where the daemon writes it (tables[].path, default
 * {warehouse}/{db}.db/{table}, dc_ingest_table_path). The command itself
 * sees its usual arguments: both options are taken out of argv and the
 * resolved location put in as the TABLE.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../daemon/ingest.h"
#include "../storage/storage.h"

/* Largest argv a table command is given (options and KEY=VALUE pairs). */
#define PIPELINE_MAX_ARGS 256

static const char pipeline_help[] =
    "\n"
    "  Where TABLE is (every table command):\n"
    "  -c, --config FILE  a pipeline file: its storage.s3.* settings (endpoint,\n"
    "                     region, credentials) are used for s3:// tables, as\n"
    "                     deltacdc ingest -c uses them (else the AWS environment)\n"
    "  --table NAME       the table instead of TABLE: with -c a name db.table is\n"
    "                     resolved through the file's tables[].path (default\n"
    "                     {warehouse}/{db}.db/{table}); a location is used as is\n";

int dc_cli_configure_s3(const dc_config *c, dc_err *err)
{
    dc_storage_s3_opts o;
    dc_storage_s3_opts_init(&o);
    o.endpoint = c->s3_endpoint;
    o.region = c->s3_region;
    o.path_style = c->s3_path_style == DC_CFG_S3_PATH_PATH      ? 1
                   : c->s3_path_style == DC_CFG_S3_PATH_VIRTUAL ? 0
                                                                : -1;
    o.verify_tls = c->s3_verify_tls ? 1 : 0;
    o.ca_file = c->s3_ca_file;
    o.allow_unsafe_single_writer = c->s3_allow_unsafe ? 1 : -1;
    o.access_key_id = c->s3_access_key_id;
    o.secret_access_key = c->s3_secret_access_key;
    o.session_token = c->s3_session_token;
    o.profile = c->s3_profile;
    o.connect_timeout_ms = c->s3_connect_timeout_ms;
    o.request_timeout_ms = c->s3_request_timeout_ms;
    o.max_attempts = (int)c->s3_max_attempts;
    return dc_storage_s3_configure(&o, err);
}

/* A location rather than a name: a URI, or a path with a '/'. */
static bool is_location(const char *t) { return strstr(t, "://") || strchr(t, '/'); }

/* What -c and --table said, argv without them. */
typedef struct pipeline_args {
    const char *config;               /* -c FILE, or NULL */
    const char *table;                /* --table NAME, or NULL */
    int argc;                         /* entries of argv */
    char *argv[PIPELINE_MAX_ARGS + 2]; /* [0] the command, [1] the table if --table, rest */
} pipeline_args;

static int take_args(pipeline_args *p, int argc, char **argv, dc_err *err)
{
    memset(p, 0, sizeof *p);
    if (argc > PIPELINE_MAX_ARGS)
        return dc_err_set(err, DC_ELIMIT, "more than %d arguments", PIPELINE_MAX_ARGS);
    p->argv[p->argc++] = argv[0];
    int table_at = -1;
    for (int i = 1; i < argc; i++) {
        const bool cfg = strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0;
        if (!cfg && strcmp(argv[i], "--table") != 0) {
            p->argv[p->argc++] = argv[i];
            continue;
        }
        if (i + 1 >= argc) return dc_err_set(err, DC_EINVAL, "%s needs a value", argv[i]);
        if (cfg) p->config = argv[++i];
        else p->table = argv[++i];
        if (!cfg) table_at = p->argc; /* where the table goes: the first positional */
    }
    if (table_at >= 0) {
        memmove(&p->argv[2], &p->argv[1], (size_t)(p->argc - 1) * sizeof *p->argv);
        p->argc++;
    }
    return 0;
}

/* Loads the pipeline file, configures S3 from it and resolves --table. */
static int apply_config(pipeline_args *p, dc_config *c, dc_buf *path, dc_err *err)
{
    if (p->config) {
        DC_TRY(dc_config_load_file(c, p->config, err));
        DC_TRY(dc_cli_configure_s3(c, err));
    }
    if (!p->table) return 0;
    if (is_location(p->table) || !p->config) {
        p->argv[1] = (char *)p->table;
        return 0;
    }
    int rc = dc_ingest_table_path(path, c, p->table, err);
    if (rc < 0) {
        dc_err_prefix(err, "--table %s (through %s)", p->table, p->config);
        return rc;
    }
    p->argv[1] = (char *)path->data;
    return 0;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return true;
    return false;
}

int dc_cli_with_pipeline(dc_cli_fn fn, int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        const int rc = fn(argc, argv);
        if (rc == 0) fputs(pipeline_help, stdout);
        return rc;
    }
    dc_err err;
    dc_err_clear(&err);
    pipeline_args p;
    dc_config c;
    dc_buf path;
    if (take_args(&p, argc, argv, &err) < 0) {
        fprintf(stderr, "deltacdc %s: %s (see deltacdc %s --help)\n", argv[0], err.msg, argv[0]);
        return 2;
    }
    if (!p.config && !p.table) return fn(argc, argv);
    dc_buf_init(&path, 64 * 1024);
    int rc = dc_config_init(&c, &err);
    const bool have_cfg = rc == 0;
    if (rc == 0) rc = apply_config(&p, &c, &path, &err);
    int status = 1;
    if (rc == 0) {
        p.argv[p.argc] = NULL;
        status = fn(p.argc, p.argv);
    } else {
        fprintf(stderr, "deltacdc %s: %s\n", argv[0], err.msg);
    }
    if (have_cfg) dc_config_dispose(&c);
    dc_buf_dispose(&path);
    return status;
}
