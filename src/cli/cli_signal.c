/* The stop request of the long-running commands (ingest, bootstrap). */
#include "cli.h"

#include <string.h>

volatile sig_atomic_t dc_cli_stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    dc_cli_stop_requested = 1;
}

void dc_cli_stop_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second signal kills: the table stays consistent */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}
