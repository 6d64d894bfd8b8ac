/* deltacdc command-line entry point: dispatches to the subcommands. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: deltacdc <command> [options]\n"
    "\n"
    "commands:\n"
    "  ingest [-c pipeline.yaml] [--source URI] [--table PATH] [--key COL[,COL]]\n"
    "         [--format raw|typed|raw,typed] [--mode dv|cow] [--trigger DURATION] [--max-batch N]\n"
    "         [--trigger-min DURATION] [--pipeline NAME] [--once] [--http ADDR]\n"
    "         [--soft-deletes true|false] [--meta-prefix P] [--log-level L]\n"
    "                                   Debezium records (Kafka or a JSON-lines file)\n"
    "                                   merged exactly once into Delta tables\n"
    "  check --table PATH --kafka HOST:PORT --topic T [--json]\n"
    "                                   freshness: is the topic's latest record in the\n"
    "                                   table? exit 1 when a partition is late\n"
    "  check --table PATH --db mysql://USER@HOST:PORT/DB --source-table T\n"
    "        --mode count|max_id|ranges [--keys] [--json]\n"
    "                                   completeness at one source snapshot: exit 1 on a\n"
    "                                   mismatch (naming ranges and keys), 4 pending\n"
    "  check -c pipeline.yaml [--monitor NAME]   every monitor of the pipeline, once\n"
    "  bootstrap --db mysql://USER@HOST:PORT/DB --source-table T --table PATH [--key COL]\n"
    "            [--chunk-rows N] [--mode dv|cow] [--dry-run] [--ssl-mode M] [--progress]\n"
    "                                   copy a MySQL/MariaDB table into a typed Delta table\n"
    "                                   (one consistent snapshot, resumable chunks)\n"
    "  snapshot --cdc PATH --out PATH --date YYYY-MM-DD [--history PATH] [--as-of V|TIME]\n"
    "           [--print-ddl] | snapshot -c pipeline.yaml [--table DB.TABLE] --date ...\n"
    "                                   the seed's nightly merge: latest row per key as the\n"
    "                                   partition data_date=DATE of a Delta table, one commit\n"
    "  rebase --cdc PATH --history PATH | rebase -c pipeline.yaml [--table DB.TABLE]\n"
    "                                   fold the CDC table into a new history version and\n"
    "                                   drop the folded rows; ingest goes on, exactly once\n"
    "  retype RAW_TABLE TYPED_TABLE [--mode dv|cow] [--soft-deletes]\n"
    "                                   rebuild a typed table from a raw table (its rows\n"
    "                                   and the Debezium schemas it keeps)\n"
    "  config show|check -c pipeline.yaml | config reference|example\n"
    "                                   the pipeline file (docs/CONFIGURATION.md)\n"
    "  parquet cat|schema|meta FILE     inspect any Parquet file\n"
    "  parquet write --schema SCHEMA.json IN.jsonl OUT.parquet [--codec zstd|snappy|gzip|none]\n"
    "                                   JSON lines -> Parquet\n"
    "  cat TABLE [--version N] [--format jsonl|csv]\n"
    "                                   rows of a Delta table's snapshot\n"
    "  inspect TABLE [--version N] [--json]\n"
    "                                   version, protocol, schema, files, rows, DVs, txns\n"
    "  history TABLE                    one line per commit\n"
    "  checkpoint TABLE                 write a Parquet checkpoint of the latest version\n"
    "  optimize TABLE [--target-file-size SIZE] [--min-file-size SIZE]\n"
    "                 [--max-deleted-ratio R] [--key COL[,COL]] [--dry-run]\n"
    "                                   compact small files and files with many deleted\n"
    "                                   rows, sorted by key (one dataChange=false commit)\n"
    "  vacuum TABLE [--retain D] [--dry-run] [--force]\n"
    "                                   delete files no retained version references\n"
    "  cleanup TABLE [--retain D] [--dry-run] [--force]\n"
    "                                   delete expired log files (commits, checkpoints)\n"
    "  manifest TABLE                   write _symlink_format_manifest for Hive/Presto\n"
    "  properties TABLE [KEY=VALUE ...] [--unset KEY ...]\n"
    "                                   print or change table properties (log retention,\n"
    "                                   checkpoint interval, ...) in one commit\n"
    "  version                          print the version\n"
    "\n"
    "TABLE is a directory, a file:// URI or s3://bucket/prefix (settings from the AWS\n"
    "environment, or storage.s3.* in a pipeline file: every table command takes\n"
    "-c pipeline.yaml, and --table db.table to find the table through its paths).\n"
    "\n"
    "Run 'deltacdc <command> --help' for a command's options.\n";

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("deltacdc %s\n", DC_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "ingest") == 0) return dc_cli_ingest(argc - 1, argv + 1);
    if (strcmp(argv[1], "check") == 0) return dc_cli_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "bootstrap") == 0) return dc_cli_bootstrap(argc - 1, argv + 1);
    if (strcmp(argv[1], "snapshot") == 0) return dc_cli_snapshot(argc - 1, argv + 1);
    if (strcmp(argv[1], "rebase") == 0) return dc_cli_rebase(argc - 1, argv + 1);
    if (strcmp(argv[1], "retype") == 0) return dc_cli_retype(argc - 1, argv + 1);
    if (strcmp(argv[1], "config") == 0) return dc_cli_config(argc - 1, argv + 1);
    if (strcmp(argv[1], "parquet") == 0) return dc_cli_parquet(argc - 1, argv + 1);
    if (strcmp(argv[1], "checkpoint") == 0) return dc_cli_checkpoint(argc - 1, argv + 1);
    if (strcmp(argv[1], "optimize") == 0) return dc_cli_optimize(argc - 1, argv + 1);
    if (strcmp(argv[1], "vacuum") == 0) return dc_cli_vacuum(argc - 1, argv + 1);
    if (strcmp(argv[1], "cleanup") == 0) return dc_cli_cleanup(argc - 1, argv + 1);
    if (strcmp(argv[1], "manifest") == 0) return dc_cli_manifest(argc - 1, argv + 1);
    if (strcmp(argv[1], "properties") == 0) return dc_cli_properties(argc - 1, argv + 1);
    /* Test/dev tool, deliberately not in the usage text (see cli_deltatest.c). */
    if (strcmp(argv[1], "delta-test") == 0) return dc_cli_delta_test(argc - 1, argv + 1);
    if (strcmp(argv[1], "source-dump") == 0) return dc_cli_source_dump(argc - 1, argv + 1);
    if (strcmp(argv[1], "typed-rows") == 0) return dc_cli_typed_rows(argc - 1, argv + 1);
    if (strcmp(argv[1], "cat") == 0 || strcmp(argv[1], "inspect") == 0 ||
        strcmp(argv[1], "history") == 0)
        return dc_cli_delta(argc - 1, argv + 1);
    fprintf(stderr, "deltacdc: unknown command '%s' (see deltacdc --help)\n", argv[1]);
    return 2;
}
