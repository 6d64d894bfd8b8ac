/* cli: subcommand entry points. Each returns the process exit status. */
#ifndef DC_CLI_H
#define DC_CLI_H

#include <signal.h>
#include <stdbool.h>

#include "../config/config.h"
#include "../monitor/monitor.h"

#define DC_VERSION "0.1.0"

/* Set by SIGTERM/SIGINT once dc_cli_stop_on_signals ran: the long-running
 * commands (ingest, bootstrap) finish and commit what they have, then exit.
 * The handler is reset after the first signal, so a second one kills the
 * process (the table stays consistent: commits are atomic). */
extern volatile sig_atomic_t dc_cli_stop_requested;
void dc_cli_stop_on_signals(void);

/* A table command's entry (argv[0] is the command name). */
typedef int (*dc_cli_fn)(int argc, char **argv);
/* Runs fn with -c FILE / --config FILE and --table NAME taken out of argv:
 * the file's storage.s3.* configure S3, and NAME (resolved through the
 * file's tables[].path when it is db.table) becomes fn's TABLE argument;
 * --help gets a paragraph on both (cli_pipeline.c). */
int dc_cli_with_pipeline(dc_cli_fn fn, int argc, char **argv);
struct dc_config;
struct dc_err;
/* storage.s3.* of a loaded pipeline file as the process's S3 settings. */
int dc_cli_configure_s3(const struct dc_config *c, struct dc_err *err);

int dc_cli_parquet(int argc, char **argv);
/* Parquet subcommands (argv[0] is the subcommand name). */
int dc_cli_parquet_meta(const char *path);
int dc_cli_parquet_write(int argc, char **argv);
int dc_cli_parquet_rewrite(int argc, char **argv);
/* Delta read commands: argv[0] is "cat", "inspect" or "history". */
int dc_cli_delta(int argc, char **argv);

/* `deltacdc checkpoint TABLE` (cli_checkpoint.c). */
int dc_cli_checkpoint(int argc, char **argv);
/* Maintenance (cli_maint.c): `deltacdc vacuum|cleanup|manifest TABLE ...`. */
int dc_cli_vacuum(int argc, char **argv);
int dc_cli_cleanup(int argc, char **argv);
int dc_cli_manifest(int argc, char **argv);
/* `deltacdc delta-test ...`: test/dev tool for interop tests (cli_deltatest.c). */
int dc_cli_delta_test(int argc, char **argv);
/* `deltacdc source-dump URI ...`: test/dev tool printing a source's records (cli_sourcedump.c). */
int dc_cli_source_dump(int argc, char **argv);
/* `deltacdc typed-rows FILE ...`: test/dev tool printing typed rows (cli_typedrows.c). */
int dc_cli_typed_rows(int argc, char **argv);

/* `deltacdc properties TABLE [KEY=VALUE ...] [--unset KEY ...]` (cli_props.c). */
int dc_cli_properties(int argc, char **argv);

/* `deltacdc optimize TABLE ...` (cli_optimize.c). */
int dc_cli_optimize(int argc, char **argv);

/* `deltacdc config show|check|reference|example` (cli_config.c). */
int dc_cli_config(int argc, char **argv);
/* `deltacdc bootstrap ...` (cli_bootstrap.c). */
int dc_cli_bootstrap(int argc, char **argv);
/* `deltacdc bootstrap -c FILE [--table DB.T] [--dry-run] [--progress]`: every
 * source table a typed tables[] entry matches (cli_boot_pipeline.c). */
int dc_cli_boot_pipeline(const char *file, const char *only, bool dry_run, bool progress);
/* The summary line of one table's bootstrap, on stderr (cli_bootstrap.c). */
struct dc_boot_result;
void dc_cli_boot_summary(const char *name, const struct dc_boot_result *r);
/* `deltacdc snapshot ...` (cli_snapshot.c). */
int dc_cli_snapshot(int argc, char **argv);
/* `deltacdc rebase ...` (cli_snapshot.c: the same flags). */
int dc_cli_rebase(int argc, char **argv);
/* `deltacdc retype RAW TYPED` (cli_retype.c). */
int dc_cli_retype(int argc, char **argv);
/* `deltacdc ingest ...` (cli_ingest.c). */
int dc_cli_ingest(int argc, char **argv);
/* deltacdc check: the freshness monitor once (cli_check.c). */
int dc_cli_check(int argc, char **argv);

/* The completeness monitors of a pipeline file (cli_monitors.c). */
typedef struct dc_cli_cmons {
    dc_complete_opts *o;    /* n monitors (owned; strings borrowed from the config) */
    char **paths;           /* their table paths (owned) */
    size_t n;
} dc_cli_cmons;
int dc_cli_cmons_load(dc_cli_cmons *out, const dc_config *c, dc_err *err);
void dc_cli_cmons_dispose(dc_cli_cmons *m);

#endif
