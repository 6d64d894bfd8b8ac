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

/* Names alone: refused keys, repeated keys, keys to unset that are not set. */
static int check_names(const props_args *a, const dc_delta_metadata *m, dc_err *err)
{
    const uint32_t n = a->n_set ? a->n_set : a->n_unset;
    for (uint32_t i = 0; i < n; i++) {
        const char *k = a->n_set ? a->set[i].key : a->unset[i];
        if (strlen(k) > 256) return dc_err_set(err, DC_EINVAL, "'%.40s...': key too long", k);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(k, a->n_set ? a->set[j].key : a->unset[j]) == 0)
                return dc_err_set(err, DC_EINVAL, "'%s' given twice", k);
        const char *why = dc_maint_property_refused(k);
        if (why) return dc_err_set(err, DC_EUNSUPPORTED, "'%s' %s", k, why);
        bool found = false;
        dc_delta_map_get(&m->configuration, k, &found);
        if (a->n_unset && !found) return dc_err_set(err, DC_EINVAL, "'%s' is not set", k);
        if (a->n_set && strlen(a->set[i].value) > 4096)
            return dc_err_set(err, DC_EINVAL, "'%s': value longer than 4096 bytes", k);
    }
    return 0;
}

/* The new configuration: the old one with the changes, in the old order,
 * new keys at the end. `*changed` when it differs. */
static int new_configuration(dc_delta_kv **out, uint32_t *n_out, bool *changed,
                             const props_args *a, const dc_delta_metadata *m, dc_err *err)
{
    const dc_delta_map *old = &m->configuration;
    dc_delta_kv *c = dc_calloc((size_t)old->n + a->n_set + 1, sizeof *c);
    if (!c) return dc_err_set(err, DC_ENOMEM, "out of memory");
    uint32_t n = 0;
    *changed = false;
    for (uint32_t i = 0; i < old->n; i++) {
        bool drop = false;
        for (uint32_t j = 0; j < a->n_unset; j++) drop |= strcmp(old->items[i].key, a->unset[j]) == 0;
        *changed |= drop;
        if (!drop) c[n++] = old->items[i];
    }
    for (uint32_t j = 0; j < a->n_set; j++) {
        uint32_t i = 0;
        while (i < n && strcmp(c[i].key, a->set[j].key) != 0) i++;
        *changed |= i == n || !c[i].value || strcmp(c[i].value, a->set[j].value) != 0;
        c[i] = a->set[j];
        if (i == n) n++;
    }
    *out = c;
    *n_out = n;
    return 0;
}

/* The new configuration's values, read back as deltacdc will read them. */
static int check_values(const dc_delta_snapshot *snap, const dc_delta_kv *c, uint32_t n,
                        dc_err *err)
{
    dc_delta_metadata m = *dc_delta_snapshot_metadata(snap);
    m.configuration.n = n;
    m.configuration.items = (dc_delta_kv *)c;
    return dc_maint_check_properties(dc_delta_snapshot_protocol(snap), &m, err);
}

static int commit_changes(int64_t *version, const props_args *a, dc_delta_snapshot *snap,
                          const dc_delta_kv *c, uint32_t n, dc_err *err)
{
    dc_delta_tx *tx = NULL;
    dc_buf p;
    dc_buf_init(&p, DC_JSON_MAX_DOC_BYTES);
    int rc = dc_delta_tx_new(&tx, snap, a->n_set ? "SET TBLPROPERTIES" : "UNSET TBLPROPERTIES",
                             err);
    /* operationParameters as Spark writes them: a JSON object (set) or array (unset) */
    rc = rc < 0 ? rc : dc_buf_putc(&p, a->n_set ? '{' : '[', err);
    for (uint32_t i = 0; rc == 0 && i < (a->n_set ? a->n_set : a->n_unset); i++) {
        const char *k = a->n_set ? a->set[i].key : a->unset[i];
        if (i) rc = dc_buf_putc(&p, ',', err);
        if (rc == 0) rc = dc_json_put_str(&p, k, strlen(k), err);
        if (rc == 0 && a->n_set) rc = dc_buf_putc(&p, ':', err);
        if (rc == 0 && a->n_set)
            rc = dc_json_put_str(&p, a->set[i].value, strlen(a->set[i].value), err);
    }
    if (rc == 0) rc = dc_buf_putc(&p, a->n_set ? '}' : ']', err);
    if (rc == 0) rc = dc_buf_putc(&p, '\0', err);
    if (rc == 0) rc = dc_delta_tx_param(tx, "properties", (const char *)p.data, err);
    if (rc == 0 && a->n_unset) rc = dc_delta_tx_param(tx, "ifExists", "false", err);
    if (rc == 0) rc = dc_delta_tx_set_configuration(tx, c, n, err);
    if (rc == 0) rc = dc_delta_tx_commit(version, tx, err);
    dc_delta_tx_free(tx);
    dc_buf_dispose(&p);
    return rc;
}

static void print_properties(const dc_delta_snapshot *snap)
{
    const dc_delta_map *c = &dc_delta_snapshot_metadata(snap)->configuration;
    for (uint32_t i = 0; i < c->n; i++)
        printf("%s=%s\n", c->items[i].key, c->items[i].value ? c->items[i].value : "null");
}

/* One attempt on the latest version: 0 done, DC_ECONFLICT (retriable) to
 * try again. */
static int attempt(const props_args *a, dc_storage *s, bool *changed, int64_t *version,
                   dc_err *err)
{
    dc_delta_snapshot *snap = NULL;
    dc_delta_kv *c = NULL;
    uint32_t n = 0;
    int rc = dc_delta_snapshot_load(&snap, s, -1, err);
    if (rc == 0 && !a->n_set && !a->n_unset) {
        print_properties(snap);
        *changed = false;
        goto out;
    }
    if (rc == 0) rc = check_names(a, dc_delta_snapshot_metadata(snap), err);
    if (rc == 0) rc = new_configuration(&c, &n, changed, a, dc_delta_snapshot_metadata(snap), err);
    if (rc == 0) rc = check_values(snap, c, n, err);
    *version = rc == 0 ? dc_delta_snapshot_version(snap) : -1;
    if (rc == 0 && *changed) rc = commit_changes(version, a, snap, c, n, err);
out:
    dc_free(c);
    dc_delta_snapshot_free(snap);
    return rc;
}

int dc_cli_properties(int argc, char **argv)
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
    for (int tries = 0; rc == 0; tries++) {
        rc = attempt(&a, s, &changed, &version, &err);
        if (rc != DC_ECONFLICT || !err.retriable || tries == 3) break;
        dc_err_clear(&err);
        rc = 0;
    }
    if (rc == 0 && (a.n_set || a.n_unset))
        printf(changed ? "properties %s: version %lld: %s %u propert%s\n"
                       : "properties %s: version %lld: nothing to change (%s %u propert%s "
                         "already as asked)\n",
               a.table, (long long)version, a.n_set ? "set" : "unset",
               a.n_set ? a.n_set : a.n_unset, (a.n_set ? a.n_set : a.n_unset) == 1 ? "y" : "ies");
    else if (rc < 0)
        fprintf(stderr, "deltacdc properties %s: %s (nothing committed)\n", a.table, err.msg);
    dc_storage_free(s);
    args_dispose(&a);
    return rc == 0 ? 0 : 1;
}
