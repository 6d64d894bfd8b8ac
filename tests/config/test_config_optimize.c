/* The maintenance.optimize* settings and the size type they use: defaults,
 * units, bounds, errors naming file:line and key, and the dump round trip. */
#include "../test.h"

#include "../../src/config/config.h"

static int load(dc_config *c, const char *text, dc_err *err)
{
    dc_err_clear(err);
    int rc = dc_config_init(c, err);
    if (rc == 0) rc = dc_config_load_text(c, "p.yaml", text, strlen(text), err);
    return rc;
}

TEST(config_optimize_defaults)
{
    dc_config c;
    dc_err err;
    CHECK_OK(load(&c, "", &err), &err);
    CHECK_EQ_INT(c.optimize, DC_CFG_OPTIMIZE_AUTO);
    CHECK_EQ_INT(c.optimize_target_size, 32LL << 20);
    CHECK_EQ_INT(c.optimize_min_size, 8LL << 20);
    CHECK_EQ_INT(c.optimize_small_files, 16);
    CHECK_EQ_INT(c.optimize_deleted_pct, 20);
    CHECK_EQ_INT(c.optimize_max_bytes, 32LL << 20);
    CHECK_EQ_INT(c.optimize_max_files, 1000);
    CHECK_EQ_INT(c.optimize_interval_ms, 10000);
    dc_config_dispose(&c);
}

TEST(config_optimize_values_and_round_trip)
{
    dc_config c, d;
    dc_err err;
    CHECK_OK(load(&c, "maintenance:\n  optimize: off\n  optimize_target_file_size: 1GiB\n"
                      "  optimize_min_file_size: 64MB\n  optimize_max_bytes: 4096 KiB\n"
                      "maintenance.optimize_interval: 1m\n", &err), &err);
    CHECK_EQ_INT(c.optimize, DC_CFG_OPTIMIZE_OFF);
    CHECK_EQ_INT(c.optimize_target_size, 1LL << 30);
    CHECK_EQ_INT(c.optimize_min_size, 64000000);
    CHECK_EQ_INT(c.optimize_max_bytes, 4096LL << 10);
    CHECK_EQ_INT(c.optimize_interval_ms, 60000);
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    CHECK_OK(dc_config_dump(&b, &c, &err), &err);
    CHECK_OK(load(&d, "", &err), &err);
    CHECK_OK(dc_config_load_text(&d, "dump", (const char *)b.data, b.len, &err), &err);
    CHECK_EQ_INT(d.optimize, c.optimize);
    CHECK_EQ_INT(d.optimize_target_size, c.optimize_target_size);
    CHECK_EQ_INT(d.optimize_min_size, c.optimize_min_size);
    dc_buf_dispose(&b);
    dc_config_dispose(&c);
    dc_config_dispose(&d);
}

TEST(config_optimize_errors)
{
    static const struct { const char *text, *want1, *want2; } cases[] = {
        {"maintenance:\n  optimize: sometimes\n", "p.yaml:2: maintenance.optimize",
         "not one of auto,off"},
        {"maintenance:\n  optimize_target_file_size: 12XB\n",
         "p.yaml:2: maintenance.optimize_target_file_size", "not a size"},
        {"maintenance:\n  optimize_target_file_size: 1KiB\n",
         "maintenance.optimize_target_file_size", "out of bounds"},
        {"maintenance:\n  optimize_max_bytes: 99999999999999999999\n",
         "maintenance.optimize_max_bytes", "not a size"},
        {"maintenance:\n  optimize_deleted_percent: 0\n", "maintenance.optimize_deleted_percent",
         "out of bounds"},
        {"maintenance:\n  optimize_small_files: -3\n", "maintenance.optimize_small_files",
         "out of bounds"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_config c;
        dc_err err;
        const int rc = load(&c, cases[i].text, &err);
        CHECK(rc < 0);
        if (rc < 0 && (!strstr(err.msg, cases[i].want1) || !strstr(err.msg, cases[i].want2)))
            dc_test_fail(__FILE__, __LINE__, "error '%s' lacks '%s' / '%s'", err.msg,
                         cases[i].want1, cases[i].want2);
        dc_config_dispose(&c);
    }
}

TEST(config_parse_size)
{
    static const struct { const char *s; int64_t v; } ok[] = {
        {"0", 0}, {"4096", 4096}, {"1B", 1}, {"1K", 1024}, {"1kib", 1024}, {"1KB", 1000},
        {"128MiB", 128LL << 20}, {"64MB", 64000000}, {"2G", 2LL << 30}, {"1TiB", 1LL << 40},
        {"3 MiB", 3LL << 20}};
    dc_err err;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        CHECK_OK(dc_config_parse_size(&v, ok[i].s, &err), &err);
        CHECK_EQ_INT(v, ok[i].v);
    }
    static const char *const bad[] = {"", "MiB", "-1", "1.5MiB", "1 PiB", "9223372036854775807K",
                                      "12XB", "1MiBs"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 0;
        CHECK(dc_config_parse_size(&v, bad[i], &err) == DC_EINVAL);
        CHECK(strstr(err.msg, "not a size") != NULL);
    }
}
