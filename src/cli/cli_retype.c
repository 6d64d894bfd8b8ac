/* `deltacdc retype RAW_TABLE TYPED_TABLE`: a typed table rebuilt from a raw
 * table (src/merge/merge_retype.c), the recovery path after schema trouble. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../merge/merge.h"

static const char usage[] =
    "usage: deltacdc retype RAW_TABLE TYPED_TABLE [--mode dv|cow] [--soft-deletes]\n"
    "                       [--meta-prefix P] [--datetime timestamp_ntz|timestamp]\n"
    "                       [--time long|string]\n"
    "\n"
    "Builds a new typed table from a raw table: every live row (its json_record,\n"
    "operation, ts_ms and offset) decoded with the Debezium schema its record carried,\n"
    "which the raw table keeps in _deltacdc_schemas/ (README: Typed tables). The\n"
    "result is what `ingest --format typed` gives for those events, except that\n"
    "__source_pos is null (the raw table keeps no source positions). The raw table's\n"
    "positions are copied, so `ingest --format typed --table TYPED_TABLE` goes on from\n"
    "where the raw table stood. An existing TYPED_TABLE is refused.\n"
    "\n"
    "  --mode dv|cow        deletion vectors (default) or copy-on-write\n"
    "  --soft-deletes       deleted rows (the raw table's tombstone rows) are kept with\n"
    "                       __deleted = true\n"
    "  --meta-prefix P      prefix of the metadata columns (default __)\n"
    "  --datetime T         DATETIME columns as timestamp_ntz (default) or timestamp (UTC)\n"
    "  --time T             TIME columns as long microseconds (default) or string\n";

int dc_cli_retype(int argc, char **argv)
{
    dc_merge_retype_opts o;
    memset(&o, 0, sizeof o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const bool more = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(a, "--mode") == 0 && more && (strcmp(argv[i + 1], "dv") == 0 ||
                                                 strcmp(argv[i + 1], "cow") == 0))
            o.mode = strcmp(argv[++i], "cow") == 0 ? DC_MERGE_COW : DC_MERGE_DV;
        else if (strcmp(a, "--soft-deletes") == 0) o.typed.soft_deletes = true;
        else if (strcmp(a, "--meta-prefix") == 0 && more) o.typed.meta_prefix = argv[++i];
        else if (strcmp(a, "--datetime") == 0 && more &&
                 (strcmp(argv[i + 1], "timestamp") == 0 ||
                  strcmp(argv[i + 1], "timestamp_ntz") == 0))
            o.typed.types.datetime_as_timestamp = strcmp(argv[++i], "timestamp") == 0;
        else if (strcmp(a, "--time") == 0 && more &&
                 (strcmp(argv[i + 1], "long") == 0 || strcmp(argv[i + 1], "string") == 0))
            o.typed.types.time_as_string = strcmp(argv[++i], "string") == 0;
        else if (a[0] != '-' && !o.raw_uri) o.raw_uri = a;
        else if (a[0] != '-' && !o.typed_uri) o.typed_uri = a;
        else {
            fprintf(stderr, "deltacdc retype: bad argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (!o.raw_uri || !o.typed_uri) {
        fputs(usage, stderr);
        return 2;
    }
    dc_err err;
    dc_err_clear(&err);
    dc_merge_retype_stats st;
    if (dc_merge_retype(&st, &o, &err) < 0) {
        fprintf(stderr, "deltacdc retype: %s\n", err.msg);
        return 1;
    }
    printf("retype: %" PRIu64 " raw rows, %" PRIu64 " typed rows in %" PRIu64 " commits, %zu "
           "positions copied\n", st.rows_in, st.rows_out, st.commits, st.positions);
    return 0;
}
