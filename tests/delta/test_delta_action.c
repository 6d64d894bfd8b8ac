/* delta: parsing (and writing) one log line. */
#include "../test.h"

#include "../../src/delta/delta_int.h"

static int parse(dc_delta_action *a, dc_arena *ar, const char *line, dc_err *err)
{
    return dc_delta_action_parse(a, ar, line, strlen(line), "00000000000000000003.json", 7, err);
}

TEST(delta_action_add_with_dv)
{
    dc_err err;
    dc_arena ar;
    dc_arena_init(&ar, 1 << 20);
    dc_delta_action a;
    CHECK_OK(parse(&a, &ar,
                   "{\"add\":{\"path\":\"p=1/f%20x.parquet\",\"partitionValues\":{\"p\":\"1\","
                   "\"q\":null},\"size\":765,\"modificationTime\":1697571663000,\"dataChange\":true,"
                   "\"stats\":\"{\\\"numRecords\\\":50}\",\"tags\":{\"t\":\"v\"},\"unknownField\":[1,2],"
                   "\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":\"j=hZPftg7qJYIw^L+Oz9\","
                   "\"offset\":1,\"sizeInBytes\":36,\"cardinality\":2,\"maxRowIndex\":49},"
                   "\"baseRowId\":4071,\"defaultRowCommitVersion\":41}}",
                   &err),
             &err);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_ADD);
    const dc_delta_add *x = &a.u.add;
    CHECK_EQ_STR(x->path, "p=1/f%20x.parquet");
    CHECK_EQ_INT(x->partition_values.n, 2);
    bool found = false;
    CHECK_EQ_STR(dc_delta_map_get(&x->partition_values, "p", &found), "1");
    CHECK(found);
    CHECK(dc_delta_map_get(&x->partition_values, "q", &found) == NULL && found);
    CHECK(dc_delta_map_get(&x->partition_values, "zz", &found) == NULL && !found);
    CHECK_EQ_INT(x->size, 765);
    CHECK_EQ_INT(x->modification_time, 1697571663000LL);
    CHECK(x->data_change);
    CHECK_EQ_STR(x->stats, "{\"numRecords\":50}");
    CHECK_EQ_STR(dc_delta_map_get(&x->tags, "t", NULL), "v");
    CHECK(x->has_dv);
    CHECK_EQ_INT(x->dv.storage_type, 'u');
    CHECK_EQ_STR(x->dv.path_or_inline, "j=hZPftg7qJYIw^L+Oz9");
    CHECK(x->dv.has_offset);
    CHECK_EQ_INT(x->dv.offset, 1);
    CHECK_EQ_INT(x->dv.size_in_bytes, 36);
    CHECK_EQ_INT(x->dv.cardinality, 2);
    CHECK(x->dv.has_max_row_index && x->dv.max_row_index == 49);
    CHECK(x->has_base_row_id && x->base_row_id == 4071);
    CHECK(x->has_default_row_commit_version && x->default_row_commit_version == 41);

    dc_buf id;
    dc_buf_init(&id, 1000);
    CHECK_OK(dc_delta_dv_unique_id(&id, &x->dv, &err), &err);
    CHECK(id.len == 23 && memcmp(id.data, "uj=hZPftg7qJYIw^L+Oz9@1", 23) == 0);
    dc_buf_dispose(&id);
    dc_arena_dispose(&ar);
}

TEST(delta_action_other_types)
{
    dc_err err;
    dc_arena ar;
    dc_arena_init(&ar, 1 << 20);
    dc_delta_action a;
    CHECK_OK(parse(&a, &ar,
                   "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
                   "\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":[\"deletionVectors\","
                   "\"appendOnly\"]}}",
                   &err),
             &err);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_PROTOCOL);
    CHECK_EQ_INT(a.u.protocol.min_reader_version, 3);
    CHECK(a.u.protocol.has_reader_features && a.u.protocol.n_reader_features == 1);
    CHECK(dc_delta_protocol_has_writer_feature(&a.u.protocol, "appendOnly"));
    CHECK(!dc_delta_protocol_has_reader_feature(&a.u.protocol, "appendOnly"));

    CHECK_OK(parse(&a, &ar,
                   "{\"metaData\":{\"id\":\"abc\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
                   "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\","
                   "\"partitionColumns\":[\"a\",\"b\"],\"configuration\":{\"k\":\"v\"},"
                   "\"createdTime\":5}}",
                   &err),
             &err);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_METADATA);
    CHECK_EQ_STR(a.u.metadata.id, "abc");
    CHECK_EQ_INT(a.u.metadata.n_partition_columns, 2);
    CHECK_EQ_STR(a.u.metadata.partition_columns[1], "b");
    CHECK_EQ_STR(dc_delta_map_get(&a.u.metadata.configuration, "k", NULL), "v");
    CHECK(a.u.metadata.has_created_time && a.u.metadata.created_time == 5);

    CHECK_OK(parse(&a, &ar, "{\"txn\":{\"appId\":\"app\",\"version\":364475}}", &err), &err);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_TXN);
    CHECK_EQ_STR(a.u.txn.app_id, "app");
    CHECK_EQ_INT(a.u.txn.version, 364475);
    CHECK(!a.u.txn.has_last_updated);

    CHECK_OK(parse(&a, &ar,
                   "{\"remove\":{\"path\":\"x\",\"deletionTimestamp\":12,\"dataChange\":false}}", &err),
             &err);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_REMOVE);
    CHECK(a.u.remove.has_deletion_timestamp && a.u.remove.deletion_timestamp == 12);
    CHECK(!a.u.remove.data_change && !a.u.remove.has_dv && !a.u.remove.has_size);

    CHECK_OK(parse(&a, &ar,
                   "{\"domainMetadata\":{\"domain\":\"delta.rowTracking\",\"configuration\":"
                   "\"{\\\"rowIdHighWaterMark\\\":1}\",\"removed\":false}}",
                   &err),
             &err);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_DOMAIN_METADATA);
    CHECK_EQ_STR(a.u.domain.configuration, "{\"rowIdHighWaterMark\":1}");

    CHECK_OK(parse(&a, &ar, "{\"commitInfo\":{\"timestamp\":1, \"operation\":\"WRITE\", \"x\":[null]}}",
                   &err),
             &err);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_COMMIT_INFO);
    CHECK_EQ_STR(a.u.commit_info.json, "{\"timestamp\":1,\"operation\":\"WRITE\",\"x\":[null]}");

    CHECK_OK(parse(&a, &ar, "{\"checkpointMetadata\":{\"version\":9,\"tags\":{}}}", &err), &err);
    CHECK(a.type == DC_DELTA_ACTION_CHECKPOINT_METADATA && a.u.checkpoint_version == 9);
    CHECK_OK(parse(&a, &ar,
                   "{\"sidecar\":{\"path\":\"016ae953.parquet\",\"sizeInBytes\":2304522,"
                   "\"modificationTime\":1512909768000,\"tags\":{}}}",
                   &err),
             &err);
    CHECK(a.type == DC_DELTA_ACTION_SIDECAR && a.u.sidecar.size_in_bytes == 2304522);

    /* unknown actions, blank lines: ignored */
    CHECK_OK(parse(&a, &ar, "{\"futureAction\":{\"x\":1}}", &err), &err);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_NONE);
    CHECK_OK(parse(&a, &ar, "   ", &err), &err);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_NONE);
    dc_arena_dispose(&ar);
}

/* Rows of a Parquet checkpoint as the reader prints them. */
TEST(delta_action_checkpoint_rows)
{
    dc_err err;
    dc_arena ar;
    dc_arena_init(&ar, 1 << 20);
    dc_delta_action a;
    CHECK_OK(parse(&a, &ar,
                   "{\"txn\":null,\"add\":{\"path\":\"f\",\"partitionValues\":[{\"key\":\"p\","
                   "\"value\":\"1\"},{\"key\":\"q\",\"value\":null}],\"size\":1,"
                   "\"modificationTime\":2,\"dataChange\":false,\"stats\":null,\"tags\":null,"
                   "\"deletionVector\":null,\"stats_parsed\":{\"numRecords\":3,\"minValues\":{\"a\":1}}},"
                   "\"remove\":null,\"metaData\":null,\"protocol\":null}",
                   &err),
             &err);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_ADD);
    CHECK_EQ_INT(a.u.add.partition_values.n, 2);
    CHECK_EQ_STR(a.u.add.partition_values.items[0].key, "p");
    CHECK(a.u.add.partition_values.items[1].value == NULL);
    CHECK_EQ_STR(a.u.add.stats, "{\"numRecords\":3,\"minValues\":{\"a\":1}}");
    CHECK(!a.u.add.has_dv);
    /* a DV struct whose members are all null is no DV */
    CHECK_OK(parse(&a, &ar,
                   "{\"add\":{\"path\":\"f\",\"partitionValues\":[],\"size\":1,\"modificationTime\":2,"
                   "\"dataChange\":true,\"deletionVector\":{\"storageType\":null,"
                   "\"pathOrInlineDv\":null,\"offset\":null,\"sizeInBytes\":null,\"cardinality\":null}}}",
                   &err),
             &err);
    CHECK(a.type == DC_DELTA_ACTION_ADD && !a.u.add.has_dv);
    /* an all-null row */
    CHECK_OK(parse(&a, &ar, "{\"add\":null,\"remove\":null}", &err), &err);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_NONE);
    dc_arena_dispose(&ar);
}

static void check_bad(const char *line, const char *what)
{
    dc_err err;
    dc_err_clear(&err);
    dc_arena ar;
    dc_arena_init(&ar, 1 << 20);
    dc_delta_action a;
    int rc = parse(&a, &ar, line, &err);
    if (rc != DC_ECORRUPT && rc != DC_EUNSUPPORTED)
        dc_test_fail(__FILE__, __LINE__, "'%s' returned %d, expected an error", line, rc);
    /* every message names the file and the line */
    if (!strstr(err.msg, "00000000000000000003.json") || !strstr(err.msg, ":7"))
        dc_test_fail(__FILE__, __LINE__, "message '%s' does not say where", err.msg);
    if (what && !strstr(err.msg, what))
        dc_test_fail(__FILE__, __LINE__, "message '%s' does not name '%s'", err.msg, what);
    CHECK_EQ_INT(a.type, DC_DELTA_ACTION_NONE);
    dc_arena_dispose(&ar);
}

TEST(delta_action_malformed)
{
    check_bad("{\"add\":{\"path\":\"x\"", NULL);                       /* truncated JSON */
    check_bad("[1,2]", NULL);                                           /* not an object */
    check_bad("{\"add\":{\"partitionValues\":{},\"size\":1,\"modificationTime\":1,"
              "\"dataChange\":true}}", "add.path");                     /* missing path */
    check_bad("{\"add\":{\"path\":\"x\",\"partitionValues\":{},\"size\":\"1\","
              "\"modificationTime\":1,\"dataChange\":true}}", "add.size");
    check_bad("{\"add\":{\"path\":\"x\",\"partitionValues\":{},\"size\":-1,"
              "\"modificationTime\":1,\"dataChange\":true}}", "add.size");
    check_bad("{\"add\":{\"path\":\"x\",\"partitionValues\":{\"a\":1},\"size\":1,"
              "\"modificationTime\":1,\"dataChange\":true}}", "partitionValues");
    check_bad("{\"add\":{\"path\":\"x\",\"partitionValues\":{},\"size\":1,"
              "\"modificationTime\":1,\"dataChange\":true,\"deletionVector\":{\"storageType\":\"z\","
              "\"pathOrInlineDv\":\"a\",\"sizeInBytes\":1,\"cardinality\":1}}}", "storageType");
    check_bad("{\"protocol\":{\"minReaderVersion\":1.5,\"minWriterVersion\":2}}", "minReaderVersion");
    check_bad("{\"protocol\":{\"minReaderVersion\":99999999999,\"minWriterVersion\":2}}",
              "minReaderVersion");
    check_bad("{\"txn\":{\"appId\":\"a\"}}", "txn.version");
    check_bad("{\"metaData\":{\"id\":\"x\",\"partitionColumns\":[1]}}", "metaData.");
    check_bad("{\"txn\":{\"appId\":\"a\",\"version\":1},\"add\":{\"path\":\"x\"}}", "two actions");
    check_bad("{\"remove\":5}", "remove");
}

/* write_json → parse gives back the same action. */
TEST(delta_action_write_round_trip)
{
    dc_err err;
    dc_arena ar;
    dc_arena_init(&ar, 1 << 20);
    const char *lines[] = {
        "{\"add\":{\"path\":\"a b\",\"partitionValues\":{\"p\":null,\"q\":\"x\\\"y\"},\"size\":7,"
        "\"modificationTime\":8,\"dataChange\":true,\"stats\":\"{}\",\"tags\":{\"k\":\"v\"},"
        "\"deletionVector\":{\"storageType\":\"i\",\"pathOrInlineDv\":\"wi5b=\",\"sizeInBytes\":4,"
        "\"cardinality\":1},\"baseRowId\":1,\"defaultRowCommitVersion\":2,\"clusteringProvider\":\"liquid\"}}",
        "{\"remove\":{\"path\":\"a\",\"deletionTimestamp\":3,\"dataChange\":true,"
        "\"extendedFileMetadata\":true,\"partitionValues\":{},\"size\":4}}",
        "{\"metaData\":{\"id\":\"i\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
        "\"schemaString\":\"{}\",\"partitionColumns\":[\"p\"],\"configuration\":{\"a\":\"b\"},"
        "\"createdTime\":1}}",
        "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[],"
        "\"writerFeatures\":[\"x\"]}}",
        "{\"txn\":{\"appId\":\"a\",\"version\":-1,\"lastUpdated\":5}}",
        "{\"domainMetadata\":{\"domain\":\"d\",\"configuration\":\"c\",\"removed\":true}}",
        "{\"commitInfo\":{\"timestamp\":1,\"operation\":\"WRITE\"}}",
        "{\"cdc\":{\"path\":\"c\",\"partitionValues\":{},\"size\":1,\"dataChange\":false}}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        dc_delta_action a;
        dc_buf out;
        dc_buf_init(&out, 1 << 20);
        CHECK_OK(parse(&a, &ar, lines[i], &err), &err);
        CHECK_OK(dc_delta_action_write_json(&out, &a, &err), &err);
        if (out.len != strlen(lines[i]) || memcmp(out.data, lines[i], out.len) != 0)
            dc_test_fail(__FILE__, __LINE__, "round trip of line %zu:\n  %s\n  %.*s", i, lines[i],
                         (int)out.len, (const char *)out.data);
        dc_buf_dispose(&out);
    }
    dc_arena_dispose(&ar);
}

TEST(delta_log_names)
{
    log_name n = dc_delta_log_classify("00000000000000000010.json");
    CHECK(n.kind == LOG_COMMIT && n.version == 10);
    n = dc_delta_log_classify("00000000000000000010.checkpoint.parquet");
    CHECK(n.kind == LOG_CHECKPOINT && n.version == 10);
    n = dc_delta_log_classify("00000000000000000010.checkpoint.0000000002.0000000003.parquet");
    CHECK(n.kind == LOG_CHECKPOINT_PART && n.part == 2 && n.parts == 3);
    n = dc_delta_log_classify("00000000000000000002.checkpoint.e8fa2696-9728-4e9c-b285-634743fdd4fb.parquet");
    CHECK(n.kind == LOG_CHECKPOINT_UUID && !n.json && n.version == 2);
    n = dc_delta_log_classify("00000000000000000002.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json");
    CHECK(n.kind == LOG_CHECKPOINT_UUID && n.json);
    const char *others[] = {
        "00000000000000000010.crc", "00000000000000000000.00000000000000000005.compacted.json",
        "_last_checkpoint", ".s3-optimization-0", "0000000000000000001.json", "00000000000000000010.json.tmp",
        "00000000000000000010.checkpoint.0000000004.0000000003.parquet", "99999999999999999999.json",
        "00000000000000000010.checkpoint.a.b.json", ".00000000000000000010.json.123.tmp",
    };
    for (size_t i = 0; i < sizeof others / sizeof *others; i++)
        if (dc_delta_log_classify(others[i]).kind != LOG_OTHER)
            dc_test_fail(__FILE__, __LINE__, "'%s' is not a log file of ours", others[i]);
}

TEST(delta_path_decoding)
{
    dc_err err;
    dc_buf b;
    struct { const char *in, *out; } ok[] = {
        {"x=A%252FA/part-0.parquet", "x=A%2FA/part-0.parquet"},
        {"a%20b/c", "a b/c"},
        {"file:///tmp/t/f.parquet", "/tmp/t/f.parquet"},
        {"file:/tmp/t/f%3A.parquet", "/tmp/t/f:.parquet"},
        {"file://localhost/tmp/x", "/tmp/x"},
        {"50%_off", "50%_off"},  /* a lone % stays as it is */
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        dc_buf_init(&b, 1000);
        CHECK_OK(dc_delta_path_to_storage(&b, ok[i].in, &err), &err);
        if (b.len != strlen(ok[i].out) || memcmp(b.data, ok[i].out, b.len) != 0)
            dc_test_fail(__FILE__, __LINE__, "%s -> %.*s, expected %s", ok[i].in, (int)b.len,
                         (const char *)b.data, ok[i].out);
        dc_buf_dispose(&b);
    }
    dc_buf_init(&b, 1000);
    CHECK_EQ_INT(dc_delta_path_to_storage(&b, "s3://bucket/x", &err), DC_EUNSUPPORTED);
    CHECK_EQ_INT(dc_delta_path_to_storage(&b, "file://host/x", &err), DC_EUNSUPPORTED);
    dc_buf_dispose(&b);
}

TEST(delta_protocol_check)
{
    dc_err err;
    const char *ok_features[] = {"deletionVectors", "columnMapping", "timestampNtz", "v2Checkpoint",
                                 "typeWidening", "typeWidening-preview", "vacuumProtocolCheck"};
    dc_delta_protocol p = {3, 7, true, 7, ok_features, true, 0, NULL};
    CHECK_OK(dc_delta_protocol_check_read(&p, &err), &err);
    const char *bad[] = {"deletionVectors", "variantType"};
    p.n_reader_features = 2;
    p.reader_features = bad;
    CHECK_EQ_INT(dc_delta_protocol_check_read(&p, &err), DC_EUNSUPPORTED);
    CHECK(strstr(err.msg, "variantType") != NULL);
    dc_delta_protocol v4 = {4, 7, true, 0, NULL, true, 0, NULL};
    CHECK_EQ_INT(dc_delta_protocol_check_read(&v4, &err), DC_EUNSUPPORTED);
    CHECK(strstr(err.msg, "reader version 4") != NULL);
    dc_delta_protocol v2 = {2, 5, false, 0, NULL, false, 0, NULL};
    CHECK_OK(dc_delta_protocol_check_read(&v2, &err), &err);
}
