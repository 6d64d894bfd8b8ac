/* cli: subcommand entry points. Each returns the process exit status. */
#ifndef DC_CLI_H
#define DC_CLI_H

#define DC_VERSION "0.1.0"

int dc_cli_parquet(int argc, char **argv);

#endif
