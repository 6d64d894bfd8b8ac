/* `deltacdc checkpoint TABLE`: writes a classic Parquet checkpoint of the
 * table's latest version and points _last_checkpoint at it. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "../delta/delta.h"

static const char usage[] =
    "usage: deltacdc checkpoint TABLE\n"
    "  Writes _delta_log/<version>.checkpoint.parquet for the latest version of\n"
    "  TABLE and updates _delta_log/_last_checkpoint.\n";

static int checkpoint_main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc != 2) {
        fputs(usage, stderr);
        return 2;
    }
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_checkpoint_info info;
    int rc = dc_storage_open(&s, argv[1], &err);
    if (rc == 0) rc = dc_delta_snapshot_load(&snap, s, -1, &err);
    if (rc == 0) rc = dc_delta_checkpoint_write(&info, snap, &err);
    if (rc == 0)
        printf("checkpoint at version %lld: %lld actions (%lld files), %lld bytes\n",
               (long long)info.version, (long long)info.size, (long long)info.num_add_files,
               (long long)info.size_in_bytes);
    else
        fprintf(stderr, "deltacdc checkpoint: %s\n", err.msg);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return rc == 0 ? 0 : 1;
}

int dc_cli_checkpoint(int argc, char **argv)
{
    return dc_cli_with_pipeline(checkpoint_main, argc, argv);
}
