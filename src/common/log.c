/* Levelled, facility-tagged logging to stderr. */
#include "dc_common.h"

#include <stdio.h>
#include <strings.h>
#include <time.h>

int dc_log_threshold = DC_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void dc_log_set_level(dc_log_level level) { dc_log_threshold = (int)level; }

int dc_log_parse_level(dc_log_level *out, const char *s, dc_err *err)
{
    for (int i = 0; i <= DC_LOG_TRACE; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (dc_log_level)i;
            return 0;
        }
    }
    return dc_err_set(err, DC_EINVAL,
                      "log level '%s' is not one of error, warn, info, debug, trace", s);
}

void dc_log_write(dc_log_level level, const char *facility, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %-7s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000,
                     level_names[level < 0 ? 0 : level > 4 ? 4 : level], facility);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line); /* one fprintf: lines from threads do not interleave */
}
