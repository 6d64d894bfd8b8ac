/*
 * maint: durations and the table properties maintenance honours
 * (delta.checkpointInterval, delta.logRetentionDuration,
 * delta.deletedFileRetentionDuration, delta.enableExpiredLogCleanup,
 * delta.compatibility.symlinkFormatManifest.enabled).
 *
 * Delta stores durations as Spark CalendarInterval text ("interval 1 week",
 * "interval 30 days"); people type short forms on the command line ("168h").
 * One parser takes both.
 */
#include "maint.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

/* A unit and what one of it is in milliseconds. Longest names first where a
 * prefix could match a shorter one ("ms" before "m", "min" before "m"). */
typedef struct unit {
    const char *name;
    int64_t ms;
} unit;

static const unit UNITS[] = {
    {"milliseconds", 1}, {"millisecond", 1}, {"msecs", 1}, {"msec", 1}, {"ms", 1},
    {"seconds", 1000}, {"second", 1000}, {"secs", 1000}, {"sec", 1000}, {"s", 1000},
    {"minutes", 60000}, {"minute", 60000}, {"mins", 60000}, {"min", 60000}, {"m", 60000},
    {"hours", 3600000}, {"hour", 3600000}, {"hrs", 3600000}, {"hr", 3600000}, {"h", 3600000},
    {"days", 86400000}, {"day", 86400000}, {"d", 86400000},
    {"weeks", 604800000}, {"week", 604800000}, {"w", 604800000},
};

static const char *skip_space(const char *p)
{
    while (*p && isspace((unsigned char)*p)) p++;
    return p;
}

/* The unit at p (a whole word: what follows is not a letter); NULL if none. */
static const unit *match_unit(const char *p, size_t *len_out)
{
    size_t n = 0;
    while (isalpha((unsigned char)p[n])) n++;
    for (size_t i = 0; i < sizeof UNITS / sizeof *UNITS; i++) {
        if (strlen(UNITS[i].name) == n && strncasecmp(p, UNITS[i].name, n) == 0) {
            *len_out = n;
            return &UNITS[i];
        }
    }
    return NULL;
}

int dc_maint_parse_duration(int64_t *ms_out, const char *s, dc_err *err)
{
    const char *p = skip_space(s ? s : "");
    int64_t total = 0;
    int terms = 0;
    if (strncasecmp(p, "interval", 8) == 0 && (p[8] == '\0' || isspace((unsigned char)p[8])))
        p = skip_space(p + 8);
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return dc_err_set(err, DC_EINVAL,
                              "duration '%s': expected a number at '%s' (e.g. 168h, 30m, "
                              "\"interval 7 days\")", s, p);
        char *end = NULL;
        errno = 0;
        const long long n = strtoll(p, &end, 10);
        if (errno == ERANGE) return dc_err_set(err, DC_EINVAL, "duration '%s': too large", s);
        p = skip_space(end);
        size_t ul = 0;
        const unit *u = match_unit(p, &ul);
        if (!u)
            return dc_err_set(err, DC_EINVAL,
                              "duration '%s': expected a unit (ms, s, m, h, d, w or "
                              "millisecond(s) .. week(s)) at '%s'", s, p);
        int64_t ms = 0;
        if (dc_mul_overflow_i64(n, u->ms, &ms) || dc_add_overflow_i64(total, ms, &total))
            return dc_err_set(err, DC_EINVAL, "duration '%s': too large", s);
        p = skip_space(p + ul);
        terms++;
    }
    if (terms == 0) return dc_err_set(err, DC_EINVAL, "duration '%s': empty", s ? s : "");
    *ms_out = total;
    return 0;
}

/* A boolean table property: "true"/"false" in any case, else DC_EINVAL. */
static int prop_bool(bool *out, const dc_delta_metadata *m, const char *key, bool def,
                     dc_err *err)
{
    bool found = false;
    const char *v = dc_delta_map_get(&m->configuration, key, &found);
    *out = def;
    if (!v) return 0;
    if (strcasecmp(v, "true") == 0) *out = true;
    else if (strcasecmp(v, "false") == 0) *out = false;
    else return dc_err_set(err, DC_EINVAL, "table property %s='%s': expected true or false",
                           key, v);
    return 0;
}

static int prop_duration(int64_t *out, const dc_delta_metadata *m, const char *key, int64_t def,
                         dc_err *err)
{
    bool found = false;
    const char *v = dc_delta_map_get(&m->configuration, key, &found);
    *out = def;
    if (!v) return 0;
    const int rc = dc_maint_parse_duration(out, v, err);
    if (rc < 0) dc_err_prefix(err, "table property %s", key);
    return rc;
}

static int prop_interval(int64_t *out, const dc_delta_metadata *m, dc_err *err)
{
    static const char key[] = "delta.checkpointInterval";
    bool found = false;
    const char *v = dc_delta_map_get(&m->configuration, key, &found);
    *out = DC_MAINT_DEFAULT_CHECKPOINT_INTERVAL;
    if (!v) return 0;
    char *end = NULL;
    errno = 0;
    const long long n = strtoll(v, &end, 10);
    if (end == v || *skip_space(end) != '\0' || errno == ERANGE || n < 1 || n > INT32_MAX)
        return dc_err_set(err, DC_EINVAL,
                          "table property %s='%s': expected a whole number >= 1", key, v);
    *out = n;
    return 0;
}

int dc_maint_props_from_metadata(dc_maint_props *out, const dc_delta_metadata *m, dc_err *err)
{
    memset(out, 0, sizeof *out);
    DC_TRY(prop_interval(&out->checkpoint_interval, m, err));
    DC_TRY(prop_duration(&out->log_retention_ms, m, "delta.logRetentionDuration",
                         DC_MAINT_DEFAULT_LOG_RETENTION_MS, err));
    DC_TRY(prop_duration(&out->file_retention_ms, m, "delta.deletedFileRetentionDuration",
                         DC_MAINT_DEFAULT_FILE_RETENTION_MS, err));
    DC_TRY(prop_bool(&out->expired_log_cleanup, m, "delta.enableExpiredLogCleanup", true, err));
    DC_TRY(prop_bool(&out->manifest_on_commit, m,
                     "delta.compatibility.symlinkFormatManifest.enabled", false, err));
    return 0;
}

int64_t dc_maint_now(int64_t now_ms)
{
    if (now_ms != 0) return now_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *dc_maint_format_duration(char *buf, size_t n, int64_t ms)
{
    static const struct { int64_t ms; const char *u; } units[] = {
        {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"},
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(buf, n, "%lld%s", (long long)(ms / units[i].ms), units[i].u);
            return buf;
        }
    }
    snprintf(buf, n, "0s");
    return buf;
}

/* ------------------------------------------------- setting properties */

/* Delta properties a metaData change may set: their meaning does not depend
 * on the protocol. The values of those deltacdc reads are checked by
 * dc_maint_check_properties. */
static const char *const SETTABLE[] = {
    "delta.logRetentionDuration", "delta.deletedFileRetentionDuration",
    "delta.checkpointInterval", "delta.enableExpiredLogCleanup",
    "delta.parquet.compression.codec", "delta.dataSkippingNumIndexedCols",
    "delta.dataSkippingStatsColumns", "delta.dataSkippingStringPrefixLength",
    "delta.checkpoint.writeStatsAsJson", "delta.checkpoint.writeStatsAsStruct",
    "delta.targetFileSize", "delta.compatibility.symlinkFormatManifest.enabled",
};

/* Properties that turn a table feature on or off or name protocol versions. */
static bool changes_protocol(const char *k)
{
    static const char *const exact[] = {
        "delta.enableDeletionVectors", "delta.appendOnly", "delta.enableChangeDataFeed",
        "delta.enableRowTracking", "delta.enableTypeWidening", "delta.checkpointPolicy",
        "delta.minReaderVersion", "delta.minWriterVersion", "delta.enableInCommitTimestamps",
        "delta.universalFormat.enabledFormats",
    };
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (strcmp(exact[i], k) == 0) return true;
    return strncmp(k, "delta.feature.", 14) == 0 || strncmp(k, "delta.columnMapping.", 20) == 0 ||
           strncmp(k, "delta.enableIcebergCompat", 25) == 0;
}

const char *dc_maint_property_refused(const char *key)
{
    if (strncmp(key, "delta.", 6) != 0) return NULL;
    for (size_t i = 0; i < sizeof SETTABLE / sizeof *SETTABLE; i++)
        if (strcmp(SETTABLE[i], key) == 0) return NULL;
    return changes_protocol(key)
               ? "changes the table's protocol or features, which a property change here "
                 "does not do"
               : "is not a Delta property deltacdc sets (misspelt? deltacdc properties --help "
                 "lists them)";
}

int dc_maint_check_properties(const dc_delta_protocol *p, const dc_delta_metadata *m,
                              dc_err *err)
{
    dc_maint_props mp;
    dc_delta_stats_opts so;
    dc_pq_writer_opts po;
    const char *tag = NULL;
    DC_TRY(dc_maint_props_from_metadata(&mp, m, err));
    DC_TRY(dc_delta_stats_opts_from_metadata(&so, p, m, err));
    DC_TRY(dc_delta_data_file_opts(&po, &tag, m, err));
    const dc_delta_map *c = &m->configuration;
    for (uint32_t i = 0; i < c->n; i++) {
        const char *k = c->items[i].key, *v = c->items[i].value ? c->items[i].value : "null";
        if ((strcmp(k, "delta.checkpoint.writeStatsAsJson") == 0 ||
             strcmp(k, "delta.checkpoint.writeStatsAsStruct") == 0 ||
             strcmp(k, "delta.compatibility.symlinkFormatManifest.enabled") == 0) &&
            strcasecmp(v, "true") != 0 && strcasecmp(v, "false") != 0)
            return dc_err_set(err, DC_EINVAL, "table property %s: '%s' is not true or false", k,
                              v);
        if (strcmp(k, "delta.targetFileSize") == 0) {
            char *end = NULL;
            errno = 0;
            const long long bytes = strtoll(v, &end, 10);
            if (end == v || *end || errno == ERANGE || bytes < 1)
                return dc_err_set(err, DC_EINVAL, "table property delta.targetFileSize: '%s' is "
                                  "not a positive number of bytes", v);
        }
    }
    return 0;
}
