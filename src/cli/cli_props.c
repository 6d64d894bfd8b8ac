/*
 * `deltacdc properties TABLE [KEY=VALUE ...] [--unset KEY ...]`: prints or
 * changes a table's properties (metaData.configuration) as Spark's ALTER
 * TABLE SET/UNSET TBLPROPERTIES does: one commit with a new metaData action.
 *
 * Delta properties are checked before anything is written: the ones that
 * need another protocol or table feature are refused (that is a protocol
 * upgrade, not a property change), unknown delta.* names are refused (every
 * engine would ignore a misspelt one silently; Spark refuses them too), and
 * the values deltacdc reads are parsed as maintenance, statistics and the
 * file writer would. Other keys are the user's and are taken as they are.
 */
#include "cli.h"

#include "../common/dc_common.h"
#include "../delta/delta.h"
#include "../maint/maint.h"
#include "../storage/storage.h"

#include <stdio.h>
#include <string.h>

static const char props_usage[] =
    "usage: deltacdc properties TABLE [KEY=VALUE ...] [--unset KEY ...]\n"
    "  Without changes, prints the table's properties, one KEY=VALUE a line.\n"
    "  With KEY=VALUE, sets them; with --unset KEY, removes them (one kind per\n"
    "  run), in one commit (SET / UNSET TBLPROPERTIES, as Spark writes it). For\n"
    "  example, a table fed every second keeps about 86,400 commits a day in its\n"
    "  log for delta.logRetentionDuration (30 days unless set):\n"
    "      deltacdc properties TABLE delta.logRetentionDuration='interval 2 days'\n"
    "  Delta properties this can set: delta.logRetentionDuration,\n"
    "  delta.deletedFileRetentionDuration, delta.checkpointInterval,\n"
    "  delta.enableExpiredLogCleanup, delta.parquet.compression.codec,\n"
    "  delta.dataSkippingNumIndexedCols, delta.dataSkippingStatsColumns,\n"
    "  delta.dataSkippingStringPrefixLength, delta.checkpoint.writeStatsAsJson,\n"
    "  delta.checkpoint.writeStatsAsStruct, delta.targetFileSize,\n"
    "  delta.compatibility.symlinkFormatManifest.enabled; values are checked.\n"
    "  Properties that change the protocol (delta.enableDeletionVectors,\n"
    "  delta.columnMapping.mode, delta.appendOnly, ...) and unknown delta.* names\n"
    "  are refused; other keys are stored as given. A concurrent commit that\n"
    "  changes the metadata makes the run check and try again (3 times).\n";

typedef struct props_args {
    const char *table;
    dc_delta_kv *set;          /* KEY=VALUE, split in place */
    const char **unset;
    uint32_t n_set, n_unset;
} props_args;

static int parse(props_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(props_usage, stdout);
            return 1;
        }
    a->set = dc_calloc((size_t)argc, sizeof *a->set);
    a->unset = dc_calloc((size_t)argc, sizeof *a->unset);
    if (!a->set || !a->unset) {
        fprintf(stderr, "deltacdc properties: out of memory\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (strcmp(argv[i], "--unset") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "deltacdc properties: --unset needs a KEY\n%s", props_usage);
                return 2;
            }
            a->unset[a->n_unset++] = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "deltacdc properties: unknown option '%s'\n%s", argv[i], props_usage);
            return 2;
        } else if (!a->table) {
            a->table = argv[i];
        } else if (!eq || eq == argv[i]) {
            fprintf(stderr, "deltacdc properties: '%s': expected KEY=VALUE\n", argv[i]);
            return 2;
        } else {
            *eq = '\0';
            a->set[a->n_set++] = (dc_delta_kv){argv[i], eq + 1};
        }
    }
    if (!a->table) {
        fprintf(stderr, "deltacdc properties: no TABLE\n%s", props_usage);
        return 2;
    }
    if (a->n_set && a->n_unset) {
        fprintf(stderr, "deltacdc properties: set or --unset, not both in one run (Spark's "
                "SET and UNSET TBLPROPERTIES are two commands too)\n");
        return 2;
    }
    return 0;
}

static void args_dispose(props_args *a)
{
    dc_free(a->set);
    dc_free(a->unset);
}

static void print_properties(const dc_delta_snapshot *snap)
{
    const dc_delta_map *c = &dc_delta_snapshot_metadata(snap)->configuration;
    for (uint32_t i = 0; i < c->n; i++)
        printf("%s=%s\n", c->items[i].key, c->items[i].value ? c->items[i].value : "null");
}

static int properties_main(int argc, char **argv)
{
    props_args a;
    int rc = parse(&a, argc, argv);
    if (rc) {
        args_dispose(&a);
        return rc == 1 ? 0 : rc;
    }
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    bool changed = false;
    int64_t version = -1;
    rc = dc_storage_open(&s, a.table, &err);
    if (rc == 0 && !a.n_set && !a.n_unset) {
        dc_delta_snapshot *snap = NULL;
        rc = dc_delta_snapshot_load(&snap, s, -1, &err);
        if (rc == 0) print_properties(snap);
        dc_delta_snapshot_free(snap);
    } else if (rc == 0) {
        const dc_maint_prop_change c = {a.set, a.n_set, a.unset, a.n_unset};
        rc = dc_maint_set_properties(&version, &changed, s, &c, &err);
    }
    if (rc == 0 && (a.n_set || a.n_unset))
        printf(changed ? "properties %s: version %lld: %s %u propert%s\n"
                       : "properties %s: version %lld: nothing to change (%s %u propert%s "
                         "already as asked)\n",
               a.table, (long long)version, a.n_set ? "set" : "unset",
               a.n_set ? a.n_set : a.n_unset, (a.n_set ? a.n_set : a.n_unset) == 1 ? "y" : "ies");
    else if (rc < 0)
        fprintf(stderr, "deltacdc properties %s: %s%s\n", a.table, err.msg,
                a.n_set || a.n_unset ? " (nothing committed)" : "");
    dc_storage_free(s);
    args_dispose(&a);
    return rc == 0 ? 0 : 1;
}

int dc_cli_properties(int argc, char **argv)
{
    return dc_cli_with_pipeline(properties_main, argc, argv);
}
