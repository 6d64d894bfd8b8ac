/* `deltacdc parquet ...` subcommands. */
#include "cli.h"

#include <stdio.h>

int dc_cli_parquet(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "deltacdc parquet: not built yet\n");
    return 2;
}
