/* Unit tests of src/config: defaults from the table, the YAML loader (nesting,
 * dotted keys, lists, topics, properties, tables), ${ENV}, durations, bounds,
 * errors naming file:line and key, secrets, the dump round trip, the
 * generated example and reference, and allocation failures. */
#include "../test.h"

#include <stdlib.h>

#include "../../src/config/config.h"

static int load(dc_config *c, const char *text, dc_err *err)
{
    dc_err_clear(err);
    int rc = dc_config_init(c, err);
    if (rc == 0) rc = dc_config_load_text(c, "p.yaml", text, strlen(text), err);
    return rc;
}

/* Loads text expecting an error whose message contains every `want` piece. */
static void expect_error(const char *text, const char *want1, const char *want2)
{
    dc_config c;
    dc_err err;
    int rc = load(&c, text, &err);
    CHECK(rc < 0);
    if (rc < 0 && (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2))))
        dc_test_fail(__FILE__, __LINE__, "error '%s' lacks '%s' / '%s' (input: %s)", err.msg,
                     want1, want2 ? want2 : "", text);
    dc_config_dispose(&c);
}

TEST(config_defaults_come_from_the_table)
{
    dc_config c;
    dc_err err;
    CHECK_OK(load(&c, "", &err), &err);
    CHECK_EQ_STR(c.pipeline, "deltacdc");
    CHECK_EQ_STR(c.warehouse, "./lake");
    CHECK_EQ_INT(c.trigger_interval_ms, 10000);
    CHECK_EQ_INT(c.trigger_max_records, 1000000);
    CHECK_EQ_INT(c.kafka_starting_offsets, DC_CFG_OFFSETS_EARLIEST);
    CHECK(c.kafka_fail_on_data_loss);
    CHECK_EQ_INT(c.on_error, DC_CFG_ON_ERROR_FAIL);
    CHECK_EQ_INT(c.log_level, DC_LOG_INFO);
    CHECK_EQ_INT(c.n_tables, 0);
    CHECK(c.kafka_bootstrap == NULL && c.source_file == NULL);
    dc_config_dispose(&c);
}

static const char full[] =
    "pipeline: shop-cdc\n"
    "source:\n"
    "  kafka:\n"
    "    bootstrap_servers: 127.0.0.1:9092\n"
    "    topics: \"cdc-{db}-{table}\"\n"
    "    starting_offsets: latest\n"
    "    fail_on_data_loss: false\n"
    "    properties:\n"
    "      security.protocol: SASL_PLAINTEXT\n"
    "      sasl.username: ingest\n"
    "      sasl.password: ${DC_TEST_SECRET}\n"
    "      sasl.jaas.config: \"x password=${DC_TEST_SECRET};\"\n"
    "warehouse: /tmp/lake\n"
    "tables:\n"
    "  - match: \"shop.*\"\n"
    "    key: [id]\n"
    "  - match: \"crm.*\"\n"
    "    path: \"{warehouse}/crm/{table}\"\n"
    "    format: raw\n"
    "    mode: cow\n"
    "    key: \"tenant, id\"\n"
    "trigger.interval: 1m30s\n"
    "trigger: {max_records: 1_000}\n"
    "on_error: dead_letter\n"
    "log_level: DEBUG\n";

TEST(config_full_file)
{
    setenv("DC_TEST_SECRET", "hunter2", 1);
    dc_config c;
    dc_err err;
    CHECK_OK(load(&c, full, &err), &err);
    CHECK_EQ_STR(c.pipeline, "shop-cdc");
    CHECK_EQ_STR(c.kafka_bootstrap, "127.0.0.1:9092");
    CHECK_EQ_STR(c.kafka_topics.pattern, "cdc-{db}-{table}");
    CHECK_EQ_INT(c.kafka_starting_offsets, DC_CFG_OFFSETS_LATEST);
    CHECK(!c.kafka_fail_on_data_loss);
    CHECK_EQ_INT(c.kafka_props.n, 4);
    if (c.kafka_props.n == 4) {
        CHECK_EQ_STR(c.kafka_props.keys[2], "sasl.password");
        CHECK_EQ_STR(c.kafka_props.values[2], "hunter2");
        CHECK_EQ_STR(c.kafka_props.values[3], "x password=hunter2;");
    }
    CHECK_EQ_INT(c.n_tables, 2);
    if (c.n_tables == 2) {
        CHECK_EQ_STR(c.tables[0].path, "{warehouse}/{db}.db/{table}");
        CHECK_EQ_INT(c.tables[0].mode, DC_CFG_MODE_DV);
        CHECK_EQ_INT(c.tables[0].key.n, 1);
        CHECK_EQ_INT(c.tables[0].line, 15);
        CHECK_EQ_INT(c.tables[1].mode, DC_CFG_MODE_COW);
        CHECK_EQ_INT(c.tables[1].key.n, 2);
        if (c.tables[1].key.n == 2) CHECK_EQ_STR(c.tables[1].key.items[1], "id");
    }
    CHECK_EQ_INT(c.trigger_interval_ms, 90000);
    CHECK_EQ_INT(c.trigger_max_records, 1000);
    CHECK_EQ_INT(c.on_error, DC_CFG_ON_ERROR_DEAD_LETTER);
    CHECK_EQ_INT(c.log_level, DC_LOG_DEBUG);
    dc_config_dispose(&c);
}

TEST(config_secrets_never_printed_and_dump_round_trips)
{
    setenv("DC_TEST_SECRET", "hunter2", 1);
    dc_config c, d;
    dc_err err;
    dc_buf out, out2;
    dc_buf_init(&out, 1 << 20);
    dc_buf_init(&out2, 1 << 20);
    CHECK_OK(load(&c, full, &err), &err);
    CHECK_OK(dc_config_dump(&out, &c, &err), &err);
    CHECK_OK(dc_buf_putc(&out, '\0', &err), &err);
    const char *text = (const char *)out.data;
    CHECK(strstr(text, "hunter2") == NULL);
    CHECK(strstr(text, "sasl.password: \"*****\"") != NULL);
    CHECK(strstr(text, "sasl.jaas.config: \"*****\"") != NULL);
    CHECK(strstr(text, "sasl.username: ingest") != NULL);
    /* The dump is a pipeline file: loading it gives the same dump. */
    CHECK_OK(load(&d, text, &err), &err);
    CHECK_OK(dc_config_dump(&out2, &d, &err), &err);
    CHECK_OK(dc_buf_putc(&out2, '\0', &err), &err);
    CHECK_EQ_STR((const char *)out2.data, text);
    CHECK(dc_is_secret_key("ssl.key.password"));
    CHECK(dc_is_secret_key("sasl.oauthbearer.client.secret"));
    CHECK(!dc_is_secret_key("bootstrap.servers"));
    dc_buf_dispose(&out);
    dc_buf_dispose(&out2);
    dc_config_dispose(&c);
    dc_config_dispose(&d);
}

TEST(config_errors_name_file_line_and_key)
{
    expect_error("pipeline: a\ntrigger:\n  intervl: 5s\n", "p.yaml:3: trigger.intervl",
                 "unknown key");
    expect_error("maintenance:\n  defrag: auto\n", "p.yaml:2: maintenance.defrag", "unknown key");
    expect_error("trigger:\n  interval: 10x\n", "p.yaml:2: trigger.interval", "not a duration");
    expect_error("trigger:\n  interval: 1ms\n", "p.yaml:2: trigger.interval", "out of bounds");
    expect_error("trigger:\n  max_records: 0\n", "p.yaml:2: trigger.max_records",
                 "out of bounds");
    expect_error("trigger:\n  max_records: lots\n", "trigger.max_records", "not an integer");
    /* more than one batch can hold (DC_MERGE_MAX_BATCH_EVENTS) */
    expect_error("trigger:\n  max_records: 100000000\n", "p.yaml:2: trigger.max_records",
                 "out of bounds");
    expect_error("tables:\n  - mode: fast\n", "p.yaml:2: tables[].mode", "not one of dv,cow");
    expect_error("tables:\n  - colour: red\n", "p.yaml:2: tables[].colour", "unknown key");
    expect_error("tables:\n  - key: [a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q]\n", "tables[].key",
                 "17 items");
    expect_error("source:\n  kafka:\n    fail_on_data_loss: maybe\n",
                 "p.yaml:3: source.kafka.fail_on_data_loss", "not a boolean");
    expect_error("pipeline: a\npipeline: b\n", "p.yaml:2: pipeline", "set twice (first on line 1)");
    expect_error("trigger:\n  interval: 5s\ntrigger.interval: 6s\n", "p.yaml:3: trigger.interval",
                 "set twice");
    expect_error("source:\n  file: x.jsonl\n  kafka:\n    bootstrap_servers: h:1\n",
                 "p.yaml:2: source.file", "give one source");
    expect_error("source:\n  kafka:\n    topics: [a, \"b-{table}\"]\n", "source.kafka.topics",
                 "single string");
    expect_error("tables: {match: x}\n", "p.yaml:1: tables", "list of tables");
    expect_error("trigger: 5s\n", "p.yaml:1: trigger", "expected a mapping");
    expect_error("pipeline: [a]\n", "p.yaml:1: pipeline", "single value");
    expect_error("pipeline: a\n  b: [\n", "p.yaml:", "not valid YAML");
    expect_error("- a\n- b\n", "p.yaml:1", "expected a mapping");
    unsetenv("DC_TEST_UNSET_VAR");
    expect_error("warehouse: /x/${DC_TEST_UNSET_VAR}\n", "p.yaml:1: warehouse",
                 "DC_TEST_UNSET_VAR is not set");
    expect_error("warehouse: /x/${}\n", "p.yaml:1: warehouse", "variable name");
    setenv("DC_TEST_BAD_UTF8", "\xff\xfe", 1);
    expect_error("warehouse: /x/${DC_TEST_BAD_UTF8}\n", "p.yaml:1: warehouse", "not UTF-8");
    expect_error("warehouse: /x/${A\n", "p.yaml:1: warehouse", "variable name");
}

TEST(config_env_and_nulls)
{
    dc_config c;
    dc_err err;
    setenv("DC_TEST_WH", "/data/lake", 1);
    CHECK_OK(load(&c, "warehouse: ${DC_TEST_WH}/x\npipeline: p$${literal}\ntrigger:\n"
                      "  interval: ~\n", &err), &err);
    CHECK_EQ_STR(c.warehouse, "/data/lake/x");
    CHECK_EQ_STR(c.pipeline, "p${literal}");
    CHECK_EQ_INT(c.trigger_interval_ms, 10000); /* null: the default */
    dc_config_dispose(&c);
    CHECK_OK(load(&c, "source:\n  kafka:\n    topics: [a.shop.x, b]\n", &err), &err);
    CHECK(c.kafka_topics.pattern == NULL);
    CHECK_EQ_INT(c.kafka_topics.list.n, 2);
    dc_config_dispose(&c);
}

TEST(config_durations)
{
    dc_err err;
    int64_t ms = 0;
    CHECK_OK(dc_config_parse_duration(&ms, "500ms", &err), &err);
    CHECK_EQ_INT(ms, 500);
    CHECK_OK(dc_config_parse_duration(&ms, "10s", &err), &err);
    CHECK_EQ_INT(ms, 10000);
    CHECK_OK(dc_config_parse_duration(&ms, "5m", &err), &err);
    CHECK_EQ_INT(ms, 300000);
    CHECK_OK(dc_config_parse_duration(&ms, "1h1m1s1ms", &err), &err);
    CHECK_EQ_INT(ms, 3661001);
    CHECK_OK(dc_config_parse_duration(&ms, "7d", &err), &err);
    CHECK_EQ_INT(ms, 7LL * 86400000);
    const char *bad[] = {"", "10", "s", "10x", "1.5s", "-1s", "10 s", "99999999999999999999s",
                         "9223372036854775807d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(dc_config_parse_duration(&ms, bad[i], &err), DC_EINVAL);
}

TEST(config_flags_override)
{
    dc_config c;
    dc_err err;
    CHECK_OK(load(&c, "tables:\n  - match: a.*\n  - match: b.*\n", &err), &err);
    CHECK_OK(dc_config_set(&c, "trigger.interval", "250ms", "--trigger", &err), &err);
    CHECK_EQ_INT(c.trigger_interval_ms, 250);
    CHECK_EQ_INT(dc_config_set(&c, "trigger.interval", "soon", "--trigger", &err), DC_EINVAL);
    CHECK(strstr(err.msg, "--trigger: 'soon' is not a duration") != NULL);
    CHECK_EQ_INT(dc_config_set(&c, "trigger.max_records", "0", "--max-batch", &err), DC_EINVAL);
    CHECK(strstr(err.msg, "--max-batch") != NULL);
    CHECK_EQ_INT(dc_config_set(&c, "tables", "x", "--x", &err), DC_EINVAL);
    CHECK_OK(dc_config_table_set(&c, "mode", "cow", "--mode", &err), &err);
    CHECK(c.tables[0].mode == DC_CFG_MODE_COW && c.tables[1].mode == DC_CFG_MODE_COW);
    CHECK_EQ_INT(dc_config_table_set(&c, "format", "parquet", "--format", &err), DC_EINVAL);
    CHECK(strstr(err.msg, "--format: 'parquet' is not one of raw | typed | raw,typed") != NULL);
    CHECK_OK(dc_config_table_only(&c, "/t/x", &err), &err);
    CHECK_EQ_INT(c.n_tables, 1);
    CHECK_EQ_STR(c.tables[0].path, "/t/x");
    CHECK_EQ_STR(c.tables[0].match, "*");
    CHECK_EQ_INT(c.tables[0].mode, DC_CFG_MODE_DV);
    CHECK_OK(dc_config_table_set(&c, "key", "a,b", "--key", &err), &err);
    CHECK_EQ_INT(c.tables[0].key.n, 2);
    CHECK_EQ_INT(dc_config_table_set(&c, "key", "a,,b", "--key", &err), DC_EINVAL);
    dc_config_dispose(&c);
}

TEST(config_generated_example_loads_and_reference_lists_every_key)
{
    dc_err err;
    dc_buf ex, ref;
    dc_buf_init(&ex, 1 << 20);
    dc_buf_init(&ref, 1 << 20);
    CHECK_OK(dc_config_example_yaml(&ex, &err), &err);
    CHECK_OK(dc_config_reference_md(&ref, &err), &err);
    CHECK_OK(dc_buf_putc(&ref, '\0', &err), &err);
    dc_config c;
    CHECK_OK(dc_config_init(&c, &err), &err);
    CHECK_OK(dc_config_load_text(&c, "example", (const char *)ex.data, ex.len, &err), &err);
    CHECK_EQ_STR(c.pipeline, "shop-cdc");
    CHECK_EQ_STR(c.kafka_topics.pattern, "cdc-{db}-{table}");
    CHECK_EQ_INT(c.n_tables, 1);
    for (size_t i = 0; i < dc_cfg_n_keys; i++) {
        char cell[128];
        snprintf(cell, sizeof cell, "| `%s", dc_cfg_keys[i].key);
        if (!strstr((const char *)ref.data, cell))
            dc_test_fail(__FILE__, __LINE__, "reference lacks %s", dc_cfg_keys[i].key);
        if (!dc_cfg_keys[i].doc || !*dc_cfg_keys[i].doc)
            dc_test_fail(__FILE__, __LINE__, "%s has no doc text", dc_cfg_keys[i].key);
    }
    dc_config_dispose(&c);
    dc_buf_dispose(&ex);
    dc_buf_dispose(&ref);
}

TEST(config_survives_allocation_failures)
{
    setenv("DC_TEST_SECRET", "hunter2", 1);
    for (long n = 1; n < 400; n++) {
        dc_config c;
        dc_err err;
        dc_err_clear(&err);
        memset(&c, 0, sizeof c);
        dc_alloc_fail_after(n);
        int rc = dc_config_init(&c, &err);
        if (rc == 0) rc = dc_config_load_text(&c, "p.yaml", full, strlen(full), &err);
        dc_alloc_fail_after(0);
        CHECK(rc == 0 || rc == DC_ENOMEM || rc == DC_ELIMIT);
        if (rc == 0) CHECK_EQ_INT(c.n_tables, 2);
        dc_config_dispose(&c);
    }
}

/* The S3 credentials (issue 12): secret keys print as *****, and the rule
 * holds for the whole table: a key named like a secret is marked secret. */
TEST(config_s3_secrets_masked_and_every_secret_named_key_marked)
{
    setenv("DC_TEST_S3_SECRET", "wJalrXUtnFEMI-test-secret", 1);
    static const char text[] =
        "warehouse: s3://bucket/lake\n"
        "storage:\n"
        "  s3:\n"
        "    endpoint: http://127.0.0.1:9000\n"
        "    path_style: path\n"
        "    access_key_id: AKIDEXAMPLE\n"
        "    secret_access_key: ${DC_TEST_S3_SECRET}\n"
        "    session_token: ${DC_TEST_S3_SECRET}\n"
        "    max_attempts: 3\n";
    dc_config c;
    dc_err err;
    dc_buf out;
    dc_buf_init(&out, 1 << 20);
    CHECK_OK(load(&c, text, &err), &err);
    CHECK_EQ_STR(c.s3_secret_access_key, "wJalrXUtnFEMI-test-secret");
    CHECK_EQ_INT(c.s3_path_style, DC_CFG_S3_PATH_PATH);
    CHECK_EQ_INT(c.s3_max_attempts, 3);
    CHECK(c.s3_verify_tls);
    CHECK_OK(dc_config_dump(&out, &c, &err), &err);
    CHECK_OK(dc_buf_putc(&out, '\0', &err), &err);
    const char *dump = (const char *)out.data;
    CHECK(strstr(dump, "wJalrXUtnFEMI") == NULL);
    CHECK(strstr(dump, "secret_access_key: \"*****\"") != NULL);
    CHECK(strstr(dump, "session_token: \"*****\"") != NULL);
    CHECK(strstr(dump, "access_key_id: AKIDEXAMPLE") != NULL);
    for (size_t i = 0; i < dc_cfg_n_keys; i++) {
        const dc_cfg_key *k = &dc_cfg_keys[i];
        if (k->type != DC_CFG_STR) continue;
        const bool named = strstr(k->key, "secret") || strstr(k->key, "token") ||
                           strstr(k->key, "password");
        if (named && !k->secret) fprintf(stderr, "key %s looks secret but is not\n", k->key);
        CHECK(!named || k->secret);
    }
    dc_buf_dispose(&out);
    dc_config_dispose(&c);
}

TEST(config_table_format_sets_and_columns)
{
    const char *text =
        "tables:\n"
        "  - format: [typed, raw]\n"
        "    typed_path: '{path}-t'\n"
        "    key: id\n"
        "    columns:\n"
        "      id: int64\n"
        "      price: decimal(10,2)\n"
        "      kind: enum(a,b)\n"
        "      born: date\n"
        "  - format: 'raw, typed'\n"
        "  - format: typed\n";
    dc_config c;
    dc_err err;
    dc_buf out;
    dc_buf_init(&out, 1 << 20);
    CHECK_OK(load(&c, text, &err), &err);
    CHECK_EQ_INT(c.n_tables, 3);
    CHECK_EQ_INT(c.tables[0].format, DC_CFG_FORMAT_BOTH);
    CHECK_EQ_INT(c.tables[1].format, DC_CFG_FORMAT_BOTH);
    CHECK_EQ_INT(c.tables[2].format, DC_CFG_FORMAT_TYPED);
    CHECK_EQ_STR(c.tables[0].typed_path, "{path}-t");
    CHECK_EQ_STR(c.tables[1].typed_path, "{path}_typed");
    CHECK_EQ_INT(c.tables[0].columns.n, 4);
    CHECK_OK(dc_config_columns_schema(&out, &c.tables[0].columns, &c.tables[0].key, &err), &err);
    const char *s = (const char *)out.data;
    CHECK(strstr(s, "{\"field\":\"id\",\"optional\":false,\"type\":\"int64\"}") != NULL);
    CHECK(strstr(s, "\"connect.decimal.precision\":\"10\"") && strstr(s, "\"scale\":\"2\""));
    CHECK(strstr(s, "\"io.debezium.data.Enum\"") && strstr(s, "\"allowed\":\"a,b\""));
    CHECK(strstr(s, "\"io.debezium.time.Date\"") && strstr(s, "\"field\":\"after\""));
    dc_config_dispose(&c);
    /* a type that is none of them is refused at its line */
    CHECK_EQ_INT(load(&c, "tables:\n  - columns:\n      id: integer\n", &err), DC_EINVAL);
    CHECK(strstr(err.msg, ":3") && strstr(err.msg, "'integer' is not a column type"));
    dc_config_dispose(&c);
    CHECK_EQ_INT(load(&c, "tables:\n  - format: [raw, parquet]\n", &err), DC_EINVAL);
    CHECK(strstr(err.msg, "is not one of raw | typed | raw,typed") != NULL);
    dc_config_dispose(&c);
    const char *bad[] = {"decimal(0,0)", "decimal(5,6)", "decimal(5, 2)x", "enum()", "set",
                         "enum(a\"b)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(dc_config_column_check(bad[i], &err) == DC_EINVAL);
    dc_buf_dispose(&out);
}
