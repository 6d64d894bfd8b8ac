/* `deltacdc check`: the freshness monitor run once (issue 11), for cron and
 * Airflow: prints a table (or JSON) and exits 0 when every partition is
 * within the tolerance, 1 when one is late, 2 on a usage error and 3 when
 * the check could not run (broker or table unreachable). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../monitor/monitor.h"

static const char usage[] =
    "usage: deltacdc check --table PATH --kafka HOST:PORT --topic T [--pipeline NAME]\n"
    "                      [--max-lag-records N] [--max-lag DURATION] [--timeout DURATION]\n"
    "                      [--json]\n"
    "\n"
    "Freshness: per partition of the topic, the broker's latest record against the offset\n"
    "the table has committed (its txn action <pipeline>/<topic>/<partition>): lag in records\n"
    "and in seconds (now - CreateTime of the oldest record not yet in the table). A partition\n"
    "is late when it is more than --max-lag-records behind (default 0) AND that record is\n"
    "older than --max-lag (default 5m).\n"
    "\n"
    "  --pipeline NAME      the pipeline that writes the table (default deltacdc)\n"
    "  --timeout DURATION   per broker request (default 10s)\n"
    "  --json               one JSON object instead of the table\n"
    "\n"
    "Exit status: 0 fresh, 1 a partition is late, 2 usage error, 3 the check could not run.\n";

typedef struct check_args {
    dc_fresh_opts o;
    bool json;
} check_args;

static int parse_int(int64_t *out, const char *flag, const char *v, dc_err *err)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < 0)
        return dc_err_set(err, DC_EINVAL, "%s '%s': expected a count >= 0", flag, v);
    *out = n;
    return 0;
}

static int parse(check_args *a, int argc, char **argv, dc_err *err)
{
    int64_t ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (strcmp(f, "--json") == 0) {
            a->json = true;
            continue;
        }
        if (i + 1 >= argc) return dc_err_set(err, DC_EINVAL, "%s needs a value (or is unknown: "
                                             "see deltacdc check --help)", f);
        const char *v = argv[++i];
        if (strcmp(f, "--table") == 0) a->o.table = v;
        else if (strcmp(f, "--kafka") == 0) a->o.bootstrap = v;
        else if (strcmp(f, "--topic") == 0) a->o.topic = v;
        else if (strcmp(f, "--pipeline") == 0) a->o.pipeline = v;
        else if (strcmp(f, "--max-lag-records") == 0) DC_TRY(parse_int(&a->o.max_lag_records, f, v, err));
        else if (strcmp(f, "--max-lag") == 0 || strcmp(f, "--timeout") == 0) {
            DC_TRY(dc_config_parse_duration(&ms, v, err));
            if (f[2] == 'm') a->o.max_lag_seconds = (double)ms / 1000.0;
            else a->o.timeout_ms = ms > 0 && ms < 3600000 ? (int)ms : 10000;
        } else {
            return dc_err_set(err, DC_EINVAL, "unknown argument '%s' (see deltacdc check --help)", f);
        }
    }
    if (!a->o.table || !a->o.bootstrap || !a->o.topic)
        return dc_err_set(err, DC_EINVAL, "give --table PATH, --kafka HOST:PORT and --topic T "
                          "(checking from a pipeline file, -c, is not available yet)");
    return 0;
}

int dc_cli_check(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    }
    dc_err err;
    dc_err_clear(&err);
    check_args a = {.o = {.pipeline = "deltacdc", .max_lag_seconds = 300, .timeout_ms = 10000}};
    if (parse(&a, argc, argv, &err) < 0) {
        fprintf(stderr, "deltacdc check: %s\n", err.msg);
        return 2;
    }
    dc_fresh_result r;
    if (dc_monitor_freshness(&r, &a.o, &err) < 0) {
        fprintf(stderr, "deltacdc check: %s\n", err.msg);
        return 3;
    }
    dc_buf b;
    dc_buf_init(&b, 64 * 1024 * 1024);
    int rc = a.json ? dc_monitor_fresh_json(&b, &a.o, &r, &err)
                    : dc_monitor_fresh_text(&b, &a.o, &r, &err);
    if (rc == 0) fwrite(b.data, 1, b.len, stdout);
    else fprintf(stderr, "deltacdc check: %s\n", err.msg);
    const int status = rc < 0 ? 3 : r.ok ? 0 : 1;
    dc_buf_dispose(&b);
    dc_fresh_result_dispose(&r);
    return status;
}
