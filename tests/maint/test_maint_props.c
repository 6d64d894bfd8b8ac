/* maint: duration parsing (Delta's interval text and short forms), its
 * formatting, and the table properties with their defaults. */
#include "../test.h"

#include "../../src/maint/maint.h"

static int64_t dur(const char *s)
{
    dc_err err;
    dc_err_clear(&err);
    int64_t ms = -12345;
    CHECK_OK(dc_maint_parse_duration(&ms, s, &err), &err);
    return ms;
}

static void bad_dur(const char *s)
{
    dc_err err;
    dc_err_clear(&err);
    int64_t ms = -12345;
    CHECK_EQ_INT(dc_maint_parse_duration(&ms, s, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "duration") != NULL);
    CHECK_EQ_INT(ms, -12345);  /* untouched on error */
}

TEST(maint_duration_short_forms)
{
    CHECK_EQ_INT(dur("168h"), 168LL * 3600000);
    CHECK_EQ_INT(dur("1h"), 3600000);
    CHECK_EQ_INT(dur("30m"), 1800000);
    CHECK_EQ_INT(dur("10s"), 10000);
    CHECK_EQ_INT(dur("500ms"), 500);
    CHECK_EQ_INT(dur("7d"), 7 * 86400000LL);
    CHECK_EQ_INT(dur("1w"), 7 * 86400000LL);
    CHECK_EQ_INT(dur("1h30m"), 5400000);
    CHECK_EQ_INT(dur(" 2d 12h "), 60LL * 3600000);
    CHECK_EQ_INT(dur("0s"), 0);
}

TEST(maint_duration_delta_interval_text)
{
    CHECK_EQ_INT(dur("interval 1 week"), 7 * 86400000LL);
    CHECK_EQ_INT(dur("interval 30 days"), 30 * 86400000LL);
    CHECK_EQ_INT(dur("INTERVAL 2 WEEKS"), 14 * 86400000LL);
    CHECK_EQ_INT(dur("7 days"), 7 * 86400000LL);
    CHECK_EQ_INT(dur("interval 1 hour 30 minutes"), 5400000);
    CHECK_EQ_INT(dur("interval 1 second"), 1000);
    CHECK_EQ_INT(dur("interval 250 milliseconds"), 250);
    /* The checkpoint writer's default and the log retention default agree. */
    CHECK_EQ_INT(dur("interval 1 week"), DC_MAINT_DEFAULT_FILE_RETENTION_MS);
    CHECK_EQ_INT(dur("interval 30 days"), DC_MAINT_DEFAULT_LOG_RETENTION_MS);
}

TEST(maint_duration_refusals)
{
    bad_dur("");
    bad_dur("   ");
    bad_dur("interval");
    bad_dur("10");              /* a number needs a unit */
    bad_dur("-1h");
    bad_dur("1 fortnight");
    bad_dur("1h x");
    bad_dur("h");
    bad_dur("1.5h");
    bad_dur("99999999999999999999h");  /* strtoll range */
    bad_dur("9999999999999999w");      /* overflows in ms */
    bad_dur("9223372036854775807ms 1ms");  /* the sum overflows */
    dc_err err;
    dc_err_clear(&err);
    int64_t ms = 0;
    CHECK_EQ_INT(dc_maint_parse_duration(&ms, NULL, &err), DC_EINVAL);
}

TEST(maint_duration_format)
{
    char b[32];
    CHECK_EQ_STR(dc_maint_format_duration(b, sizeof b, 7 * 86400000LL), "7d");
    CHECK_EQ_STR(dc_maint_format_duration(b, sizeof b, 36 * 3600000LL), "36h");
    CHECK_EQ_STR(dc_maint_format_duration(b, sizeof b, 90 * 60000LL), "90m");
    CHECK_EQ_STR(dc_maint_format_duration(b, sizeof b, 1500), "1500ms");
    CHECK_EQ_STR(dc_maint_format_duration(b, sizeof b, 0), "0s");
    /* Round trip through the parser. */
    const int64_t vals[] = {1, 999, 1000, 61000, 3600000, 86400000, 123456789};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        CHECK_EQ_INT(dur(dc_maint_format_duration(b, sizeof b, vals[i])), vals[i]);
}

static int props_of(dc_maint_props *p, const dc_delta_kv *kv, uint32_t n, dc_err *err)
{
    dc_delta_metadata m;
    memset(&m, 0, sizeof m);
    m.configuration.n = n;
    m.configuration.items = (dc_delta_kv *)kv;
    return dc_maint_props_from_metadata(p, &m, err);
}

TEST(maint_props_defaults_and_values)
{
    dc_err err;
    dc_err_clear(&err);
    dc_maint_props p;
    CHECK_OK(props_of(&p, NULL, 0, &err), &err);
    CHECK_EQ_INT(p.checkpoint_interval, 10);
    CHECK_EQ_INT(p.log_retention_ms, 30 * 86400000LL);
    CHECK_EQ_INT(p.file_retention_ms, 7 * 86400000LL);
    CHECK(p.expired_log_cleanup);
    CHECK(!p.manifest_on_commit);
    const dc_delta_kv kv[] = {
        {"delta.checkpointInterval", "25"},
        {"delta.logRetentionDuration", "interval 2 days"},
        {"delta.deletedFileRetentionDuration", "interval 36 hours"},
        {"delta.enableExpiredLogCleanup", "FALSE"},
        {"delta.compatibility.symlinkFormatManifest.enabled", "true"},
    };
    CHECK_OK(props_of(&p, kv, 5, &err), &err);
    CHECK_EQ_INT(p.checkpoint_interval, 25);
    CHECK_EQ_INT(p.log_retention_ms, 2 * 86400000LL);
    CHECK_EQ_INT(p.file_retention_ms, 36 * 3600000LL);
    CHECK(!p.expired_log_cleanup);
    CHECK(p.manifest_on_commit);
}

TEST(maint_props_refusals_name_the_property)
{
    static const dc_delta_kv bad[][1] = {
        {{"delta.checkpointInterval", "0"}},
        {{"delta.checkpointInterval", "ten"}},
        {{"delta.checkpointInterval", "10x"}},
        {{"delta.checkpointInterval", "99999999999"}},
        {{"delta.logRetentionDuration", "forever"}},
        {{"delta.deletedFileRetentionDuration", "interval"}},
        {{"delta.enableExpiredLogCleanup", "yes"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        dc_err err;
        dc_err_clear(&err);
        dc_maint_props p;
        CHECK_EQ_INT(props_of(&p, bad[i], 1, &err), DC_EINVAL);
        CHECK(strstr(err.msg, bad[i][0].key) != NULL);
    }
}
