/* Unit tests of src/cdc: the Debezium decoder on every record shape (with
 * and without the schema block, all ops, tombstones, heartbeats, schema
 * changes, escapes, unicode, composite keys), malformed records (each error
 * names what and where), allocation failures, a property test against the
 * DOM-based reference decoder (cdc_ref.h) on random records, the shared
 * sample stream, key types from schema blocks and keyspec parsing. */
#include "../test.h"

#include "../../src/cdc/cdc.h"
#include "../../src/common/dc_limits.h"
#include "../../src/json/dc_json.h"
#include "cdc_ref.h"

#include <stdio.h>
#include <stdlib.h>

static const dc_cdc_keyspec KEY_ID = {1, {"id"}};

/* A realistic JsonConverter schema block (MySQL connector, customers table). */
#define SCHEMA                                                                              \
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":["                    \
    "{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"},"                             \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"first_name\"},"                    \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"email\"}],\"optional\":true,"      \
    "\"name\":\"mysql1.shop.customers.Value\",\"field\":\"before\"},"                       \
    "{\"type\":\"struct\",\"fields\":["                                                     \
    "{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"},"                             \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"first_name\"},"                    \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"email\"}],\"optional\":true,"      \
    "\"name\":\"mysql1.shop.customers.Value\",\"field\":\"after\"},"                        \
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,"             \
    "\"field\":\"version\"},{\"type\":\"string\",\"optional\":true,"                        \
    "\"name\":\"io.debezium.data.Enum\",\"version\":1,\"parameters\":{\"allowed\":"         \
    "\"true,last,false,incremental\"},\"default\":\"false\",\"field\":\"snapshot\"}],"      \
    "\"optional\":false,\"name\":\"io.debezium.connector.mysql.Source\",\"field\":\"source\"}," \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"                            \
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"}],\"optional\":false,"       \
    "\"name\":\"mysql1.shop.customers.Envelope\",\"version\":1}"

#define SOURCE                                                                              \
    "{\"version\":\"2.7.3.Final\",\"connector\":\"mysql\",\"name\":\"mysql1\","             \
    "\"ts_ms\":1714557600000,\"snapshot\":\"false\",\"db\":\"shop\",\"table\":\"customers\"," \
    "\"server_id\":223344,\"file\":\"mysql-bin.000003\",\"pos\":154,\"row\":0,\"query\":null}"

/* Decodes text (strlen) with `ks` into *ev; scratch is static (reset per call). */
static int decode(dc_cdc_event *ev, const dc_cdc_keyspec *ks, const char *text, dc_err *err)
{
    static dc_buf scratch;
    static bool ready;
    if (!ready) {
        dc_buf_init(&scratch, 1 << 20);
        ready = true;
    }
    dc_err_clear(err);
    return dc_cdc_decode(ev, &scratch, ks, text, strlen(text), err);
}

/* The slice s[0..n) equals the C string want. */
static bool slice_is(const char *s, uint32_t n, const char *want)
{
    return s && strlen(want) == n && memcmp(s, want, n) == 0;
}

/* Agreement with the reference decoder, reported at the caller's line. */
#define CHECK_REF(ks, text)                                                        \
    do {                                                                           \
        dc_cdc_schema_cache cache_;                                                \
        dc_cdc_schema_cache_init(&cache_);                                         \
        const char *why_ = cdc_ref_check((ks), (text), strlen(text), NULL, &cache_); \
        if (why_) dc_test_fail(__FILE__, __LINE__, "%s on %s", why_, (text));      \
        dc_cdc_schema_cache_dispose(&cache_);                                      \
    } while (0)

TEST(cdc_create_with_schema_block)
{
    dc_err err;
    dc_cdc_event ev;
    const char *rec = "{\"schema\":" SCHEMA ",\"payload\":{\"before\":null,\"after\":"
                      "{\"id\":1001,\"first_name\":\"Sally\",\"email\":\"s@acme.com\"},"
                      "\"source\":" SOURCE ",\"op\":\"c\",\"ts_ms\":1714557600123,"
                      "\"transaction\":null}}";
    CHECK_OK(decode(&ev, &KEY_ID, rec, &err), &err);
    CHECK_EQ_INT(ev.kind, DC_CDC_CHANGE);
    CHECK_EQ_INT(ev.op, 'c');
    CHECK(ev.has_ts_ms);
    CHECK_EQ_INT(ev.ts_ms, 1714557600123);
    CHECK(ev.before == NULL);
    CHECK(slice_is(ev.after, ev.after_len,
                   "{\"id\":1001,\"first_name\":\"Sally\",\"email\":\"s@acme.com\"}"));
    CHECK(ev.after >= rec && ev.after + ev.after_len <= rec + strlen(rec));
    CHECK_EQ_INT(ev.n_keys, 1);
    CHECK_EQ_INT(ev.keys[0].type, DC_CDC_KEY_LONG);
    CHECK_EQ_INT(ev.keys[0].i, 1001);
    CHECK_REF(&KEY_ID, rec);
}

TEST(cdc_payload_before_schema_and_spaces)
{
    dc_err err;
    dc_cdc_event ev;
    /* Members in another order, pretty-printed, schema after payload. */
    const char *rec = " {\n  \"payload\" : {\n   \"op\" : \"u\" ,\n   \"ts_ms\" : 7 ,\n"
                      "   \"before\" : { \"id\" : 5 , \"first_name\" : \"a\" } ,\n"
                      "   \"after\" : { \"first_name\" : \"b\" , \"id\" : 5 }\n  } ,\n"
                      "  \"schema\" : " SCHEMA "\n}\r\n";
    CHECK_OK(decode(&ev, &KEY_ID, rec, &err), &err);
    CHECK_EQ_INT(ev.kind, DC_CDC_CHANGE);
    CHECK_EQ_INT(ev.op, 'u');
    CHECK_EQ_INT(ev.ts_ms, 7);
    CHECK(slice_is(ev.before, ev.before_len, "{ \"id\" : 5 , \"first_name\" : \"a\" }"));
    CHECK(slice_is(ev.after, ev.after_len, "{ \"first_name\" : \"b\" , \"id\" : 5 }"));
    CHECK_EQ_INT(ev.keys[0].i, 5);
    CHECK_REF(&KEY_ID, rec);
}

TEST(cdc_all_ops_without_schema)
{
    static const struct {
        const char *rec;
        dc_cdc_kind kind;
        char op;
        int64_t key;
    } cases[] = {
        {"{\"before\":null,\"after\":{\"id\":1},\"source\":" SOURCE ",\"op\":\"c\",\"ts_ms\":1}",
         DC_CDC_CHANGE, 'c', 1},
        {"{\"before\":{\"id\":2},\"after\":{\"id\":2,\"x\":1},\"op\":\"u\",\"ts_ms\":2}",
         DC_CDC_CHANGE, 'u', 2},
        {"{\"before\":{\"id\":-3},\"after\":null,\"op\":\"d\",\"ts_ms\":3}", DC_CDC_CHANGE, 'd',
         -3},
        {"{\"before\":null,\"after\":{\"id\":4},\"op\":\"r\",\"ts_ms\":4}", DC_CDC_CHANGE, 'r', 4},
        {"{\"before\":null,\"after\":null,\"source\":" SOURCE ",\"op\":\"t\",\"ts_ms\":5}",
         DC_CDC_TRUNCATE, 't', 0},
        {"{\"op\":\"m\",\"ts_ms\":6,\"message\":{\"prefix\":\"p\",\"content\":\"AA==\"}}",
         DC_CDC_SKIP, 'm', 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_err err;
        dc_cdc_event ev;
        CHECK_OK(decode(&ev, &KEY_ID, cases[i].rec, &err), &err);
        CHECK_EQ_INT(ev.kind, cases[i].kind);
        CHECK_EQ_INT(ev.op, cases[i].op);
        CHECK_EQ_INT(ev.ts_ms, (int64_t)i + 1);
        CHECK_EQ_INT(ev.n_keys, cases[i].kind == DC_CDC_CHANGE ? 1 : 0);
        if (cases[i].kind == DC_CDC_CHANGE) CHECK_EQ_INT(ev.keys[0].i, cases[i].key);
        CHECK_REF(&KEY_ID, cases[i].rec);
    }
}

TEST(cdc_delete_keys_from_before)
{
    dc_err err;
    dc_cdc_event ev;
    /* A delete's after is null; its key comes from before even when after
     * would name another id (it can not, but the rule is which image). */
    const char *rec = "{\"before\":{\"id\":10,\"first_name\":\"x\"},\"after\":null,\"op\":\"d\","
                      "\"ts_ms\":1}";
    CHECK_OK(decode(&ev, &KEY_ID, rec, &err), &err);
    CHECK_EQ_INT(ev.keys[0].i, 10);
    CHECK(ev.after == NULL);
    CHECK(slice_is(ev.before, ev.before_len, "{\"id\":10,\"first_name\":\"x\"}"));
    /* op 'u' takes after's key: a PK change sent as an update names the new one. */
    rec = "{\"before\":{\"id\":10},\"after\":{\"id\":11},\"op\":\"u\",\"ts_ms\":1}";
    CHECK_OK(decode(&ev, &KEY_ID, rec, &err), &err);
    CHECK_EQ_INT(ev.keys[0].i, 11);
}

TEST(cdc_tombstones_heartbeats_schema_changes)
{
    static const char *const skipped[] = {
        "",
        "  \n",
        "null",
        " null\r\n",
        "{\"schema\":null,\"payload\":null}",
        "{\"payload\":null,\"schema\":" SCHEMA "}",
        /* Heartbeat: payload {ts_ms} with its schema, and bare. */
        "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\",\"optional\":false,"
        "\"field\":\"ts_ms\"}],\"optional\":false,\"name\":"
        "\"io.debezium.connector.common.Heartbeat\"},\"payload\":{\"ts_ms\":1714557600000}}",
        "{\"ts_ms\":1714557600000}",
        /* Schema change (MySQL connector's schema change topic). */
        "{\"source\":" SOURCE ",\"ts_ms\":1714557600000,\"databaseName\":\"shop\","
        "\"schemaName\":null,\"ddl\":\"ALTER TABLE customers ADD COLUMN vip BOOL\","
        "\"tableChanges\":[{\"type\":\"ALTER\",\"id\":\"\\\"shop\\\".\\\"customers\\\"\","
        "\"table\":{\"defaultCharsetName\":\"utf8mb4\",\"primaryKeyColumnNames\":[\"id\"],"
        "\"columns\":[{\"name\":\"id\",\"jdbcType\":4,\"typeName\":\"INT\",\"position\":1,"
        "\"optional\":false,\"autoIncremented\":true,\"generated\":true}]}}]}",
        "{\"schema\":{\"type\":\"struct\",\"fields\":[],\"name\":"
        "\"io.debezium.connector.mysql.SchemaChangeValue\"},\"payload\":{\"databaseName\":"
        "\"shop\",\"ddl\":\"DROP TABLE t\",\"tableChanges\":[]}}",
        /* Transaction metadata (BEGIN/END on the transaction topic). */
        "{\"status\":\"BEGIN\",\"id\":\"3e11fa47-71ca-11e1-9e33-c80aa9429562:1\","
        "\"event_count\":null,\"data_collections\":null,\"ts_ms\":1}",
        "{\"status\":\"END\",\"id\":\"x:1\",\"event_count\":2,\"data_collections\":"
        "[{\"data_collection\":\"shop.customers\",\"event_count\":2}]}",
    };
    for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++) {
        dc_err err;
        dc_cdc_event ev;
        CHECK_OK(decode(&ev, &KEY_ID, skipped[i], &err), &err);
        CHECK_EQ_INT(ev.kind, DC_CDC_SKIP);
        CHECK_EQ_INT(ev.n_keys, 0);
        CHECK(ev.before == NULL && ev.after == NULL);
        CHECK_REF(&KEY_ID, skipped[i]);
    }
    dc_err err;
    dc_cdc_event ev;
    CHECK_OK(decode(&ev, &KEY_ID, "{\"ts_ms\":42}", &err), &err);
    CHECK(ev.has_ts_ms && ev.ts_ms == 42);
    CHECK_OK(decode(&ev, &KEY_ID, "", &err), &err);
    CHECK(!ev.has_ts_ms);
    /* NULL with length 0 is an empty value too. */
    dc_buf scratch;
    dc_buf_init(&scratch, 64);
    CHECK_OK(dc_cdc_decode(&ev, &scratch, &KEY_ID, NULL, 0, &err), &err);
    CHECK_EQ_INT(ev.kind, DC_CDC_SKIP);
    dc_buf_dispose(&scratch);
}

TEST(cdc_escaped_string_keys)
{
    dc_err err;
    dc_cdc_event ev;
    const dc_cdc_keyspec ks = {1, {"code"}};
    /* Escapes of every kind: quote, backslash, slash, controls, \u, surrogate pair. */
    const char *rec = "{\"op\":\"c\",\"after\":{\"code\":"
                      "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u4e2d\\ud83d\\ude00\\u0000z\"}}";
    CHECK_OK(decode(&ev, &ks, rec, &err), &err);
    static const char want[] = "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\0z";
    CHECK_EQ_INT(ev.keys[0].type, DC_CDC_KEY_STRING);
    CHECK_EQ_INT(ev.keys[0].len, sizeof want - 1);
    CHECK(memcmp(ev.keys[0].s, want, sizeof want - 1) == 0);
    CHECK_REF(&ks, rec);
    /* Without escapes the key borrows the record's bytes (no copy). */
    rec = "{\"op\":\"c\",\"after\":{\"code\":\"plain\"}}";
    CHECK_OK(decode(&ev, &ks, rec, &err), &err);
    CHECK(ev.keys[0].s == strstr(rec, "plain") && ev.keys[0].len == 5);
}

TEST(cdc_escapes_in_skipped_regions)
{
    dc_err err;
    dc_cdc_event ev;
    /* Brackets, quotes and escaped quotes inside strings of the schema block,
     * the source and the images must not confuse the skipping. */
    const char *rec =
        "{\"schema\":{\"doc\":\"}]}\\\"{[\",\"a\":[[],{},[{\"\\\\\":\"\\\\\"}],\"\\\"\"],"
        "\"b\":{\"c\":{\"d\":[1,-2.5e+3,true,false,null,\"\\u005d\"]}}},"
        "\"payload\":{\"source\":{\"query\":\"UPDATE t SET s='}' WHERE x=\\\"{\\\"\"},"
        "\"after\":{\"note\":\"\\\"id\\\":99\",\"nested\":{\"id\":98},\"id\":7,"
        "\"list\":[{\"id\":97}]},\"op\":\"r\"}}";
    CHECK_OK(decode(&ev, &KEY_ID, rec, &err), &err);
    CHECK_EQ_INT(ev.kind, DC_CDC_CHANGE);
    CHECK_EQ_INT(ev.keys[0].i, 7); /* only the image's own top-level member */
    CHECK(!ev.has_ts_ms);
    CHECK_REF(&KEY_ID, rec);
}

TEST(cdc_unicode)
{
    dc_err err;
    dc_cdc_event ev;
    const dc_cdc_keyspec ks = {2, {"n\xc3\xa4me", "id"}};
    /* Raw UTF-8 in names, keys and skipped text; one key name written with \u. */
    const char *rec = "{\"payload\":{\"after\":{\"n\\u00e4me\":\"Zo\xc3\xab \xe6\x9d\x8e "
                      "\xf0\x9f\x98\x80\",\"id\":1,\"x\":\"\xe2\x82\xac\"},"
                      "\"source\":{\"q\":\"\xc3\xa5\"},\"op\":\"c\",\"ts_ms\":1}}";
    CHECK_OK(decode(&ev, &ks, rec, &err), &err);
    CHECK_EQ_INT(ev.keys[0].type, DC_CDC_KEY_STRING);
    CHECK(slice_is(ev.keys[0].s, ev.keys[0].len, "Zo\xc3\xab \xe6\x9d\x8e \xf0\x9f\x98\x80"));
    CHECK_EQ_INT(ev.keys[1].i, 1);
    CHECK_REF(&ks, rec);
}

TEST(cdc_composite_keys_and_key_types)
{
    dc_err err;
    dc_cdc_event ev;
    const dc_cdc_keyspec ks = {4, {"tenant", "id", "ratio", "big"}};
    const char *rec = "{\"op\":\"c\",\"after\":{\"big\":9223372036854775808,\"id\":"
                      "-9223372036854775808,\"ratio\":1.5e3,\"tenant\":\"acme\",\"z\":0}}";
    CHECK_OK(decode(&ev, &ks, rec, &err), &err);
    CHECK_EQ_INT(ev.n_keys, 4);
    CHECK(ev.keys[0].type == DC_CDC_KEY_STRING && slice_is(ev.keys[0].s, ev.keys[0].len, "acme"));
    CHECK(ev.keys[1].type == DC_CDC_KEY_LONG && ev.keys[1].i == INT64_MIN);
    /* Non-integers and out-of-range integers keep their JSON text. */
    CHECK(ev.keys[2].type == DC_CDC_KEY_STRING && slice_is(ev.keys[2].s, ev.keys[2].len, "1.5e3"));
    CHECK(ev.keys[3].type == DC_CDC_KEY_STRING &&
          slice_is(ev.keys[3].s, ev.keys[3].len, "9223372036854775808"));
    CHECK_REF(&ks, rec);
    /* Booleans, objects and arrays as their JSON text; -0 is 0. */
    const dc_cdc_keyspec ks2 = {4, {"b", "o", "a", "z"}};
    rec = "{\"op\":\"c\",\"after\":{\"b\":true,\"o\":{\"k\": [1]},\"a\":[ ],\"z\":-0}}";
    CHECK_OK(decode(&ev, &ks2, rec, &err), &err);
    CHECK(slice_is(ev.keys[0].s, ev.keys[0].len, "true"));
    CHECK(slice_is(ev.keys[1].s, ev.keys[1].len, "{\"k\": [1]}"));
    CHECK(slice_is(ev.keys[2].s, ev.keys[2].len, "[ ]"));
    CHECK(ev.keys[3].type == DC_CDC_KEY_LONG && ev.keys[3].i == 0);
    CHECK_REF(&ks2, rec);
}

TEST(cdc_repeated_members_last_wins)
{
    dc_err err;
    dc_cdc_event ev;
    /* As dc_json_get: the last of repeated members counts, at every level. */
    const char *rec = "{\"payload\":{\"op\":\"x\",\"after\":{\"id\":1},\"ts_ms\":\"no\"},"
                      "\"payload\":{\"op\":\"d\",\"op\":\"c\",\"after\":{\"id\":2,\"id\":3},"
                      "\"ts_ms\":1.5,\"ts_ms\":9}}";
    CHECK_OK(decode(&ev, &KEY_ID, rec, &err), &err);
    CHECK_EQ_INT(ev.op, 'c');
    CHECK_EQ_INT(ev.ts_ms, 9);
    CHECK_EQ_INT(ev.keys[0].i, 3);
    CHECK_REF(&KEY_ID, rec);
    /* A later image without the key replaces the one that had it. */
    rec = "{\"op\":\"c\",\"after\":{\"id\":1},\"after\":{\"x\":1}}";
    CHECK(decode(&ev, &KEY_ID, rec, &err) == DC_EINVAL);
    CHECK_REF(&KEY_ID, rec);
}

/* Decoding must fail with `code`, a message containing `what` and naming
 * byte `at`. */
static void check_error(const dc_cdc_keyspec *ks, const char *rec, int code, const char *what,
                        long at, const char *file, int line)
{
    dc_err err;
    dc_cdc_event ev;
    const int rc = decode(&ev, ks, rec, &err);
    char want_at[48];
    snprintf(want_at, sizeof want_at, " at byte %ld", at);
    if (rc != code || !strstr(err.msg, what) || !strstr(err.msg, want_at) ||
        strncmp(err.msg, "cdc: ", 5) != 0)
        dc_test_fail(file, line, "%s: rc %d, message \"%s\"; expected %d, \"%s\"%s", rec, rc,
                     err.msg, code, what, want_at);
    dc_cdc_schema_cache cache;
    dc_cdc_schema_cache_init(&cache);
    const char *why = cdc_ref_check(ks, rec, strlen(rec), NULL, &cache);
    if (why) dc_test_fail(file, line, "%s on %s", why, rec);
    dc_cdc_schema_cache_dispose(&cache);
}
#define CHECK_ERROR(rec, what, at) check_error(&KEY_ID, rec, DC_EINVAL, what, at, __FILE__, __LINE__)

TEST(cdc_malformed_json)
{
    CHECK_ERROR("{", "expected a string key but found end of input", 1);
    CHECK_ERROR("{\"op\":\"c\"", "expected ',' or '}' but found end of input", 9);
    CHECK_ERROR("{\"op\":\"c}", "unterminated string", 6);
    CHECK_ERROR("{\"schema\":{\"a\":\"x}", "unterminated string", 15);
    CHECK_ERROR("{\"schema\":{\"a\":[1,2}}", "expected ',' or ']' but found '}'", 19);
    CHECK_ERROR("{\"schema\":{\"a\":[1,2]]}", "expected ',' or '}' but found ']'", 20);
    CHECK_ERROR("{\"schema\":[}", "expected a value but found '}'", 11);
    CHECK_ERROR("{\"schema\":{\"a\" 1}}", "expected ':' after the key but found '1'", 15);
    CHECK_ERROR("{\"schema\":{a:1}}", "expected a string key but found 'a'", 11);
    CHECK_ERROR("{\"schema\":{\"a\":1,}}", "expected a string key but found '}'", 17);
    CHECK_ERROR("{\"schema\":[1,]}", "expected a value but found ']'", 13);
    CHECK_ERROR("{\"op\":\"c\",\"after\":{\"id\":1}} {}", "unexpected '{' after the record", 28);
    CHECK_ERROR("{\"op\":\"c\",\"after\":{\"id\":1}}x", "unexpected 'x' after the record", 27);
    CHECK_ERROR("nul", "invalid literal starting with 'n' (expected null)", 0);
    CHECK_ERROR("null null", "unexpected 'n' after the record", 5);
    CHECK_ERROR("{\"a\":tru}", "invalid literal starting with 't' (expected true)", 5);
    CHECK_ERROR("{\"a\":01}", "leading zero in number", 5);
    CHECK_ERROR("{\"a\":-}", "expected a digit after '-' but found '}'", 6);
    CHECK_ERROR("{\"a\":1.}", "expected a digit after '.' but found '}'", 7);
    CHECK_ERROR("{\"a\":1e}", "expected a digit in the exponent but found '}'", 7);
    CHECK_ERROR("{\"a\":+1}", "expected a value but found '+'", 5);
    CHECK_ERROR("{\"a\":\"\\x\"}", "invalid escape: backslash followed by 'x'", 6);
    CHECK_ERROR("{\"a\":\"\\u12g4\"}", "invalid \\u escape: expected 4 hex digits", 6);
    CHECK_ERROR("{\"a\":\"\\udc00\"}", "lone low surrogate \\udc00", 6);
    CHECK_ERROR("{\"a\":\"\\ud800x\"}", "high surrogate \\ud800 not followed by a low one", 6);
    CHECK_ERROR("{\"a\":\"\\ud800\\u0041\"}", "high surrogate \\ud800 followed by \\u0041", 6);
    CHECK_ERROR("{\"a\":\"\x01\"}", "control character 0x01 in string", 6);
    CHECK_ERROR("{\"a\":\"\xc3\"}", "invalid UTF-8 in string", 6);
    CHECK_ERROR("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8 in string", 6); /* surrogate */
    CHECK_ERROR("{\"a\":\"\xc0\xaf\"}", "invalid UTF-8 in string", 6);     /* overlong */
    CHECK_ERROR("{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8 in string", 6); /* > U+10FFFF */
    CHECK_ERROR("{\"after\":{\"id\":\"\xff\"}}", "invalid UTF-8 in string", 16);
    CHECK_ERROR("[1]", "record is not a JSON object (starts with '[')", 0);
    CHECK_ERROR("  \"x\"", "record is not a JSON object (starts with '\"')", 2);
    CHECK_ERROR("\xef\xbb\xbf{}", "record is not a JSON object (starts with byte 0xef)", 0);
}

TEST(cdc_malformed_records)
{
    CHECK_ERROR("{}", "op missing", 0);
    CHECK_ERROR("{\"before\":null,\"after\":{\"id\":1},\"ts_ms\":1}", "op missing", 0);
    CHECK_ERROR("{\"schema\":{},\"payload\":{\"after\":{\"id\":1}}}", "payload.op missing", 23);
    CHECK_ERROR("{\"schema\":" SCHEMA "}", "record has a schema block but no payload", 0);
    CHECK_ERROR("{\"payload\":[]}", "payload: expected an object or null, found an array", 11);
    CHECK_ERROR("{\"after\":{\"id\":1},\"op\":\"x\"}", "op: unknown op \"x\"", 23);
    CHECK_ERROR("{\"after\":{\"id\":1},\"op\":\"cc\"}", "unknown op \"cc\"", 23);
    CHECK_ERROR("{\"after\":{\"id\":1},\"op\":\"\"}", "unknown op \"\"", 23);
    CHECK_ERROR("{\"after\":{\"id\":1},\"op\":99}", "op: expected a string, found a number", 23);
    CHECK_ERROR("{\"payload\":{\"after\":{\"id\":1},\"op\":\"c\",\"ts_ms\":1.5}}",
                "payload.ts_ms: expected an integer, found 1.5", 46);
    CHECK_ERROR("{\"after\":{\"id\":1},\"op\":\"c\",\"ts_ms\":\"1\"}",
                "ts_ms: expected an integer, found \"1\"", 35);
    CHECK_ERROR("{\"after\":{\"id\":1},\"op\":\"c\",\"ts_ms\":99999999999999999999}",
                "ts_ms: expected an integer", 35);
    CHECK_ERROR("{\"before\":null,\"after\":{\"id\":1},\"op\":\"d\"}",
                "op 'd' without a before image (before is null)", 10);
    CHECK_ERROR("{\"payload\":{\"after\":{\"id\":1},\"op\":\"d\"}}",
                "op 'd' without a before image (payload.before is missing)", 11);
    CHECK_ERROR("{\"after\":null,\"op\":\"c\"}", "op 'c' without an after image (after is null)",
                9);
    CHECK_ERROR("{\"op\":\"u\",\"after\":[1]}", "after: expected an object or null, found an array",
                18);
    CHECK_ERROR("{\"op\":\"c\",\"after\":{\"id\":1},\"before\":\"x\"}",
                "before: expected an object or null, found a string", 36);
    CHECK_ERROR("{\"op\":\"c\",\"after\":{\"idx\":1}}", "key column 'id' missing from after", 18);
    CHECK_ERROR("{\"payload\":{\"op\":\"r\",\"after\":{\"id\":null}}}",
                "key column 'id' is null in payload.after", 35);
    CHECK_ERROR("{\"op\":\"d\",\"before\":{\"x\":{\"id\":1}}}", "key column 'id' missing from before",
                19);
    /* A long unknown op is shown cut, on a UTF-8 boundary. */
    check_error(&KEY_ID, "{\"after\":{\"id\":1},\"op\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\"}",
                DC_EINVAL, "unknown op \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa (expected", 23,
                __FILE__, __LINE__);
    /* A composite key names the column that is missing. */
    const dc_cdc_keyspec ks = {2, {"id", "tenant"}};
    check_error(&ks, "{\"op\":\"c\",\"after\":{\"id\":1}}", DC_EINVAL,
                "key column 'tenant' missing from after", 18, __FILE__, __LINE__);
}

/* "[[[...]]]" nested `depth` deep inside the source block of a valid record. */
static char *deep_record(int depth)
{
    const char *head = "{\"op\":\"c\",\"after\":{\"id\":1},\"source\":";
    const size_t n = strlen(head) + 2 * (size_t)depth + 2;
    char *s = malloc(n);
    size_t k = strlen(head);
    memcpy(s, head, k);
    for (int i = 0; i < depth; i++) s[k++] = '[';
    for (int i = 0; i < depth; i++) s[k++] = ']';
    s[k++] = '}';
    s[k] = '\0';
    return s;
}

TEST(cdc_nesting_limit)
{
    dc_err err;
    dc_cdc_event ev;
    /* The record itself is one level: DC_JSON_MAX_DEPTH - 1 arrays fit. */
    char *ok = deep_record(DC_JSON_MAX_DEPTH - 1), *bad = deep_record(DC_JSON_MAX_DEPTH);
    CHECK_OK(decode(&ev, &KEY_ID, ok, &err), &err);
    CHECK_EQ_INT(decode(&ev, &KEY_ID, bad, &err), DC_ELIMIT);
    CHECK(strstr(err.msg, "nesting deeper than") != NULL);
    CHECK_REF(&KEY_ID, ok);
    CHECK_REF(&KEY_ID, bad);
    free(ok);
    free(bad);
    /* Nesting counts through payload and image levels too. */
    char rec[2 * DC_JSON_MAX_DEPTH + 128];
    size_t k = (size_t)snprintf(rec, sizeof rec, "{\"payload\":{\"op\":\"c\",\"after\":{\"id\":1,\"x\":");
    const int inner = DC_JSON_MAX_DEPTH - 3;
    for (int i = 0; i < inner; i++) rec[k++] = '[';
    for (int i = 0; i < inner; i++) rec[k++] = ']';
    memcpy(rec + k, "}}}", 4);
    CHECK_OK(decode(&ev, &KEY_ID, rec, &err), &err);
    CHECK_REF(&KEY_ID, rec);
    memmove(rec + k - inner + 1, rec + k - inner, (size_t)inner + 4);
    rec[k - inner] = '[';
    rec[k + 1] = ']';
    memcpy(rec + k + 2, "}}}", 4);
    CHECK_EQ_INT(decode(&ev, &KEY_ID, rec, &err), DC_ELIMIT);
    CHECK_REF(&KEY_ID, rec);
}

TEST(cdc_bad_keyspec)
{
    dc_err err;
    dc_cdc_event ev;
    const dc_cdc_keyspec none = {0, {NULL}};
    CHECK_EQ_INT(decode(&ev, &none, "{}", &err), DC_EINVAL);
    CHECK(strstr(err.msg, "keyspec") != NULL);
}

TEST(cdc_scratch_failures)
{
    dc_err err;
    dc_cdc_event ev;
    const char *rec = "{\"op\":\"c\",\"after\":{\"id\":\"\\u00e9\\u00e9\\u00e9\\u00e9\"}}";
    /* Out of memory growing scratch is DC_ENOMEM, not a crash. */
    dc_buf scratch;
    dc_buf_init(&scratch, 1 << 20);
    dc_alloc_fail_after(1);
    CHECK_EQ_INT(dc_cdc_decode(&ev, &scratch, &KEY_ID, rec, strlen(rec), &err), DC_ENOMEM);
    dc_alloc_fail_after(0);
    CHECK_OK(dc_cdc_decode(&ev, &scratch, &KEY_ID, rec, strlen(rec), &err), &err);
    CHECK(slice_is(ev.keys[0].s, ev.keys[0].len, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"));
    dc_buf_dispose(&scratch);
    /* A scratch buffer too small for the key is DC_ELIMIT. */
    dc_buf_init(&scratch, 4);
    CHECK_EQ_INT(dc_cdc_decode(&ev, &scratch, &KEY_ID, rec, strlen(rec), &err), DC_ELIMIT);
    dc_buf_dispose(&scratch);
    /* Several escaped keys: each points at its own bytes after scratch grew. */
    const dc_cdc_keyspec ks = {3, {"a", "b", "c"}};
    char big[400];
    snprintf(big, sizeof big, "{\"op\":\"c\",\"after\":{\"a\":\"%s\\n\",\"b\":\"x\\ty\",\"c\":"
             "\"%s\\\"\"}}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
             "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
    dc_buf_init(&scratch, 1 << 20);
    CHECK_OK(dc_cdc_decode(&ev, &scratch, &ks, big, strlen(big), &err), &err);
    CHECK(ev.keys[0].len == 69 && ev.keys[0].s[68] == '\n');
    CHECK(slice_is(ev.keys[1].s, ev.keys[1].len, "x\ty"));
    CHECK(ev.keys[2].len == 79 && ev.keys[2].s[78] == '"');
    dc_buf_dispose(&scratch);
}

TEST(cdc_schema_cache)
{
    dc_err err;
    dc_cdc_event ev;
    dc_buf scratch;
    dc_cdc_schema_cache c;
    dc_buf_init(&scratch, 1 << 20);
    dc_cdc_schema_cache_init(&c);
    char rec[4096];
    /* Five tables' blocks through four slots: round robin, hits on repeats. */
    for (int round = 0; round < 3; round++) {
        for (int t = 0; t < 5; t++) {
            snprintf(rec, sizeof rec, "{\"schema\":{\"name\":\"t%d\",\"fields\":[1,2]},"
                     "\"payload\":{\"op\":\"c\",\"after\":{\"id\":%d}}}", t < 4 ? t : 0, t);
            CHECK_OK(dc_cdc_decode_cached(&ev, &scratch, &c, &KEY_ID, rec, strlen(rec), &err),
                     &err);
            CHECK_EQ_INT(ev.keys[0].i, t);
        }
    }
    CHECK_EQ_INT(c.misses, 4);
    CHECK_EQ_INT(c.hits, 11);
    /* A hit still checks what follows the block; a cut block is scanned. */
    const char *block = "{\"schema\":{\"name\":\"t1\",\"fields\":[1,2]}";
    snprintf(rec, sizeof rec, "%sx,\"payload\":null}", block);
    CHECK_EQ_INT(dc_cdc_decode_cached(&ev, &scratch, &c, &KEY_ID, rec, strlen(rec), &err),
                 DC_EINVAL);
    CHECK(strstr(err.msg, "expected ',' or '}' but found 'x' at byte 38") != NULL);
    CHECK_EQ_INT(dc_cdc_decode_cached(&ev, &scratch, &c, &KEY_ID, block, strlen(block) - 3, &err),
                 DC_EINVAL);
    CHECK(strstr(err.msg, "expected a value but found end of input at byte 35") != NULL);
    /* A block that fails validation is not remembered; nor one whose copy
     * fails (the decode still succeeds). */
    const uint64_t misses = c.misses;
    snprintf(rec, sizeof rec, "{\"schema\":{\"a\":[1,]},\"payload\":null}");
    CHECK_EQ_INT(dc_cdc_decode_cached(&ev, &scratch, &c, &KEY_ID, rec, strlen(rec), &err),
                 DC_EINVAL);
    snprintf(rec, sizeof rec, "{\"schema\":{\"new\":1},\"payload\":{\"ts_ms\":1}}");
    dc_alloc_fail_after(1);
    CHECK_OK(dc_cdc_decode_cached(&ev, &scratch, &c, &KEY_ID, rec, strlen(rec), &err), &err);
    dc_alloc_fail_after(0);
    CHECK_OK(dc_cdc_decode_cached(&ev, &scratch, &c, &KEY_ID, rec, strlen(rec), &err), &err);
    CHECK_EQ_INT(c.misses, misses + 2);
    CHECK_OK(dc_cdc_decode_cached(&ev, &scratch, &c, &KEY_ID, rec, strlen(rec), &err), &err);
    CHECK_EQ_INT(c.misses, misses + 2);
    dc_cdc_schema_cache_dispose(&c);
    dc_cdc_schema_cache_dispose(&c); /* disposing twice is harmless */
    dc_buf_dispose(&scratch);
}

/* dc_cdc_event.schema_id: one nonzero id per cached block's bytes, never
 * given to other bytes (another cache, a replaced slot), 0 when not cached. */
TEST(cdc_schema_id)
{
    dc_err err;
    dc_cdc_event ev;
    dc_buf scratch;
    dc_cdc_schema_cache c, c2;
    dc_buf_init(&scratch, 1 << 20);
    dc_cdc_schema_cache_init(&c);
    dc_cdc_schema_cache_init(&c2);
    char rec[512];
    uint64_t ids[DC_CDC_SCHEMA_CACHE_SLOTS + 2] = {0};
    for (int t = 0; t < DC_CDC_SCHEMA_CACHE_SLOTS + 2; t++) {
        for (int again = 0; again < 2; again++) {
            snprintf(rec, sizeof rec, "{\"schema\":{\"name\":\"t%d\"},\"payload\":{\"op\":\"c\","
                     "\"after\":{\"id\":1}}}", t % (DC_CDC_SCHEMA_CACHE_SLOTS + 1));
            CHECK_OK(dc_cdc_decode_cached(&ev, &scratch, &c, &KEY_ID, rec, strlen(rec), &err),
                     &err);
            CHECK(ev.schema_id != 0);
            if (again) CHECK(ev.schema_id == ids[t]); /* a hit: the same id */
            ids[t] = ev.schema_id;
        }
        for (int u = 0; u < t; u++) CHECK(ids[u] != ids[t]); /* t0 again: replaced, new id */
    }
    /* Another cache (another decoding thread) gives the same bytes another id. */
    CHECK_OK(dc_cdc_decode_cached(&ev, &scratch, &c2, &KEY_ID, rec, strlen(rec), &err), &err);
    CHECK(ev.schema_id != 0 && ev.schema_id != ids[DC_CDC_SCHEMA_CACHE_SLOTS + 1]);
    /* No cache, no block, a null block, or a second "schema" that is not an
     * object after a cached one: 0. */
    CHECK_OK(dc_cdc_decode(&ev, &scratch, &KEY_ID, rec, strlen(rec), &err), &err);
    CHECK(ev.schema && ev.schema_id == 0);
    const char *no_block = "{\"op\":\"c\",\"after\":{\"id\":1}}";
    CHECK_OK(dc_cdc_decode_cached(&ev, &scratch, &c, &KEY_ID, no_block, strlen(no_block), &err),
             &err);
    CHECK(!ev.schema && ev.schema_id == 0);
    const char *twice = "{\"schema\":{\"name\":\"t1\"},\"schema\":[1],\"payload\":{\"op\":\"c\","
                        "\"after\":{\"id\":1}}}";
    CHECK_OK(dc_cdc_decode_cached(&ev, &scratch, &c, &KEY_ID, twice, strlen(twice), &err), &err);
    CHECK(ev.schema && *ev.schema == '[' && ev.schema_id == 0);
    dc_cdc_schema_cache_dispose(&c);
    dc_cdc_schema_cache_dispose(&c2);
    dc_buf_dispose(&scratch);
}

/* ------------------------------------------------------ property test */

typedef struct rng {
    uint64_t s; /* xorshift64* state */
} rng;

static uint64_t rnd(rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ull;
}
static uint32_t below(rng *r, uint32_t n) { return (uint32_t)(rnd(r) % n); }

static void put(dc_buf *b, const char *s) { (void)dc_buf_puts(b, s, NULL); }

static void gen_ws(rng *r, dc_buf *b)
{
    static const char *const ws[] = {" ", "\n", "\t ", "\r\n  "};
    if (below(r, 8) == 0) put(b, ws[below(r, 4)]);
}

/* A string with the kinds of text that trip scanners. */
static void gen_string(rng *r, dc_buf *b)
{
    static const char *const parts[] = {
        "a", "Sally", "}", "]", "{", "[", ",", ":", "\\\"", "\\\\", "\\/", "\\n", "\\u00e9",
        "\\ud83d\\ude00", "\\u0000", "\xc3\xa9", "\xe6\x9d\x8e", "\xf0\x9f\x98\x80", " ", "x y z",
        "\\\\\\\"", "0123456789abcdef",
    };
    put(b, "\"");
    const uint32_t n = below(r, 6);
    for (uint32_t i = 0; i < n; i++) put(b, parts[below(r, sizeof parts / sizeof parts[0])]);
    put(b, "\"");
}

static void gen_number(rng *r, dc_buf *b)
{
    static const char *const nums[] = {
        "0", "-0", "7", "-42", "1001", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "1.5", "-0.25", "1e3", "2E-2", "123456789012345678901234567890",
    };
    put(b, nums[below(r, sizeof nums / sizeof nums[0])]);
}

static void gen_value(rng *r, dc_buf *b, int depth);

static void gen_members(rng *r, dc_buf *b, int depth, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i) put(b, ",");
        gen_ws(r, b);
        gen_string(r, b);
        gen_ws(r, b);
        put(b, ":");
        gen_value(r, b, depth + 1);
    }
}

static void gen_value(rng *r, dc_buf *b, int depth)
{
    gen_ws(r, b);
    switch (below(r, depth > 3 ? 5 : 7)) {
    case 0: gen_string(r, b); break;
    case 1: gen_number(r, b); break;
    case 2: put(b, "null"); break;
    case 3: put(b, "true"); break;
    case 4: put(b, "false"); break;
    case 5:
        put(b, "{");
        gen_members(r, b, depth, below(r, 4));
        put(b, "}");
        break;
    default: {
        put(b, "[");
        const uint32_t n = below(r, 4);
        for (uint32_t i = 0; i < n; i++) {
            if (i) put(b, ",");
            gen_value(r, b, depth + 1);
        }
        put(b, "]");
    }
    }
    gen_ws(r, b);
}

/* An image {...} holding (usually) the key columns id and tenant. */
static void gen_image(rng *r, dc_buf *b)
{
    static const char *const ids[] = {"\"id\"", "\"i\\u0064\"", "\"id\""};
    put(b, "{");
    const uint32_t n = 1 + below(r, 5);
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
        if (!first) put(b, ",");
        first = false;
        gen_ws(r, b);
        switch (below(r, 5)) {
        case 0: case 1:
            put(b, ids[below(r, 3)]);
            put(b, ":");
            if (below(r, 4)) gen_number(r, b); else gen_value(r, b, 2);
            break;
        case 2:
            put(b, "\"tenant\":");
            if (below(r, 4)) gen_string(r, b); else gen_value(r, b, 2);
            break;
        default:
            gen_string(r, b);
            put(b, ":");
            gen_value(r, b, 2);
        }
    }
    if (below(r, 6)) put(b, first ? "\"id\":1,\"tenant\":\"t\"" : ",\"id\":1,\"tenant\":\"t\"");
    put(b, "}");
}

/* One payload member, by kind. */
static void gen_payload_member(rng *r, dc_buf *b, uint32_t kind)
{
    static const char *const ops[] = {"\"c\"", "\"u\"", "\"d\"", "\"r\"", "\"t\"", "\"m\"",
                                      "\"\\u0063\"", "\"x\"", "null", "1"};
    switch (kind) {
    case 0: case 1:
        put(b, kind ? "\"after\":" : "\"before\":");
        if (below(r, 5)) gen_image(r, b); else gen_value(r, b, 2);
        break;
    case 2:
        put(b, "\"op\":");
        put(b, ops[below(r, 7) ? below(r, 6) : below(r, 10)]);
        break;
    case 3:
        put(b, "\"ts_ms\":");
        if (below(r, 6)) gen_number(r, b); else gen_value(r, b, 2);
        break;
    case 4: put(b, "\"source\":" SOURCE); break;
    case 5: put(b, "\"transaction\":"); gen_value(r, b, 1); break;
    default: put(b, below(r, 2) ? "\"ddl\":\"DROP TABLE x\"" : "\"other\":"); if (b->data[b->len - 1] == ':') gen_value(r, b, 1);
    }
}

static void gen_payload(rng *r, dc_buf *b)
{
    uint32_t order[7] = {0, 1, 2, 3, 4, 5, 6};
    for (int i = 6; i > 0; i--) {
        const uint32_t j = below(r, (uint32_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    put(b, "{");
    bool first = true;
    for (int i = 0; i < 7; i++) {
        if (below(r, 8) == 0) continue;               /* sometimes drop a member */
        const int times = below(r, 12) == 0 ? 2 : 1;  /* sometimes repeat it */
        for (int t = 0; t < times; t++) {
            if (!first) put(b, ",");
            first = false;
            gen_ws(r, b);
            gen_payload_member(r, b, order[i]);
        }
    }
    put(b, "}");
}

static void gen_record(rng *r, dc_buf *b)
{
    switch (below(r, 10)) {
    case 0: put(b, "null"); return;
    case 1: case 2: case 3: gen_payload(r, b); return;  /* no envelope */
    default:
        put(b, "{");
        if (below(r, 2)) {
            put(b, "\"schema\":" SCHEMA ",\"payload\":");
            gen_payload(r, b);
        } else {
            put(b, "\"payload\":");
            gen_payload(r, b);
            put(b, ",");
            gen_ws(r, b);
            put(b, "\"schema\":");
            gen_value(r, b, 1);
        }
        put(b, "}");
    }
}

TEST(cdc_property_random_records_match_the_dom)
{
    rng r = {0x9e3779b97f4a7c15ull};
    const dc_cdc_keyspec ks1 = {1, {"id"}}, ks2 = {2, {"tenant", "id"}};
    dc_buf b;
    dc_buf_init(&b, 1 << 24);
    dc_cdc_schema_cache cache;
    dc_cdc_schema_cache_init(&cache);
    int changes = 0, mutated_fail = 0;
    for (int iter = 0; iter < 20000; iter++) {
        dc_buf_reset(&b);
        gen_record(&r, &b);
        /* One in four records gets a byte flipped, dropped or the tail cut. */
        if (below(&r, 4) == 0 && b.len > 0) {
            const size_t at = below(&r, (uint32_t)b.len);
            switch (below(&r, 3)) {
            case 0: b.data[at] = (uint8_t)below(&r, 256); break;
            case 1: memmove(b.data + at, b.data + at + 1, b.len - at - 1); b.len--; break;
            default: b.len = at;
            }
        }
        const char *const rec = (const char *)b.data;
        for (int k = 0; k < 2; k++) {
            const dc_cdc_keyspec *const ks = k ? &ks2 : &ks1;
            const char *why = cdc_ref_check(ks, rec, b.len, NULL, &cache);
            if (why) {
                dc_test_fail(__FILE__, __LINE__, "iteration %d: %s on %.*s", iter, why,
                             (int)b.len, rec);
                iter = 1 << 30;
                break;
            }
            dc_err err;
            dc_cdc_event ev;
            dc_buf scratch;
            dc_buf_init(&scratch, 1 << 20);
            const int rc = dc_cdc_decode(&ev, &scratch, ks, rec, b.len, &err);
            changes += rc == 0 && ev.kind == DC_CDC_CHANGE;
            mutated_fail += rc != 0;
            dc_buf_dispose(&scratch);
        }
    }
    /* The generator reaches both outcomes often (not a vacuous comparison). */
    CHECK(changes > 5000);
    CHECK(mutated_fail > 5000);
    CHECK(cache.hits > 10000 && cache.misses > 1000); /* both paths taken */
    dc_cdc_schema_cache_dispose(&cache);
    dc_buf_dispose(&b);
}

/* ------------------------------------------------------------- sample */

/* Finds examples/debezium/sample.jsonl from the repository root or tests/. */
static FILE *open_sample(void)
{
    static const char *const paths[] = {"examples/debezium/sample.jsonl",
                                        "../examples/debezium/sample.jsonl",
                                        "../../examples/debezium/sample.jsonl"};
    for (size_t i = 0; i < 3; i++) {
        FILE *f = fopen(paths[i], "rb");
        if (f) return f;
    }
    return NULL;
}

TEST(cdc_sample_stream)
{
    FILE *f = open_sample();
    CHECK(f != NULL);
    if (!f) return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int kinds[3] = {0}, ops[128] = {0}, lines = 0, with_schema = 0;
    dc_cdc_schema_cache cache;
    dc_cdc_schema_cache_init(&cache);
    dc_cdc_key_type types[1];
    while ((n = getline(&line, &cap, f)) > 0) {
        dc_err err;
        dc_cdc_event ev;
        lines++;
        if (line[n - 1] == '\n') line[--n] = '\0';
        CHECK_OK(decode(&ev, &KEY_ID, line, &err), &err);
        kinds[ev.kind]++;
        if (ev.kind != DC_CDC_SKIP) ops[(int)ev.op]++;
        CHECK(cdc_ref_check(&KEY_ID, line, (size_t)n, NULL, &cache) == NULL);
        const int rc = dc_cdc_key_types(types, &KEY_ID, line, (size_t)n, &err);
        if (rc == 0) {
            with_schema++;
            CHECK_EQ_INT(types[0], DC_CDC_KEY_LONG);
        } else {
            CHECK(rc == DC_ENOTFOUND);
        }
    }
    free(line);
    fclose(f);
    CHECK(cache.hits > 0);
    dc_cdc_schema_cache_dispose(&cache);
    CHECK(lines >= 25);
    CHECK(ops['r'] > 0 && ops['c'] > 0 && ops['u'] > 0 && ops['d'] > 0);
    CHECK_EQ_INT(kinds[DC_CDC_TRUNCATE], 1);
    CHECK(kinds[DC_CDC_SKIP] >= ops['d']); /* a tombstone after each delete */
    CHECK(with_schema > 0 && with_schema < lines);
}

/* ----------------------------------------------------------- key types */

TEST(cdc_key_types_from_schema_block)
{
    dc_err err;
    dc_cdc_key_type types[3];
    const char *rec = "{\"schema\":" SCHEMA ",\"payload\":{\"op\":\"c\",\"after\":{\"id\":1}}}";
    const dc_cdc_keyspec ks = {2, {"email", "id"}};
    CHECK_OK(dc_cdc_key_types(types, &ks, rec, strlen(rec), &err), &err);
    CHECK_EQ_INT(types[0], DC_CDC_KEY_STRING);
    CHECK_EQ_INT(types[1], DC_CDC_KEY_LONG);
    /* Logical types: Date (int32) and Timestamp (int64) are integers in JSON,
     * Decimal (bytes) is a base64 string. */
    const char *logical =
        "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":["
        "{\"type\":\"int32\",\"name\":\"io.debezium.time.Date\",\"field\":\"d\"},"
        "{\"type\":\"int64\",\"name\":\"io.debezium.time.Timestamp\",\"field\":\"ts\"},"
        "{\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\","
        "\"parameters\":{\"scale\":\"2\"},\"field\":\"amount\"},"
        "{\"type\":\"int8\",\"field\":\"tiny\"},{\"type\":\"boolean\",\"field\":\"flag\"}],"
        "\"field\":\"before\"}]},\"payload\":null}";
    const dc_cdc_keyspec ks3 = {3, {"d", "ts", "amount"}};
    CHECK_OK(dc_cdc_key_types(types, &ks3, logical, strlen(logical), &err), &err);
    CHECK(types[0] == DC_CDC_KEY_LONG && types[1] == DC_CDC_KEY_LONG &&
          types[2] == DC_CDC_KEY_STRING);
    const dc_cdc_keyspec ks2 = {2, {"tiny", "flag"}};
    CHECK_OK(dc_cdc_key_types(types, &ks2, logical, strlen(logical), &err), &err);
    CHECK(types[0] == DC_CDC_KEY_LONG && types[1] == DC_CDC_KEY_STRING);
}

TEST(cdc_key_types_errors)
{
    dc_err err;
    dc_cdc_key_type types[2];
    const char *bare = "{\"op\":\"c\",\"after\":{\"id\":1}}";
    CHECK_EQ_INT(dc_cdc_key_types(types, &KEY_ID, bare, strlen(bare), &err), DC_ENOTFOUND);
    const char *heartbeat = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\","
                            "\"field\":\"ts_ms\"}]},\"payload\":{\"ts_ms\":1}}";
    CHECK_EQ_INT(dc_cdc_key_types(types, &KEY_ID, heartbeat, strlen(heartbeat), &err),
                 DC_ENOTFOUND);
    const char *rec = "{\"schema\":" SCHEMA ",\"payload\":null}";
    const dc_cdc_keyspec ks = {1, {"nope"}};
    CHECK_EQ_INT(dc_cdc_key_types(types, &ks, rec, strlen(rec), &err), DC_EINVAL);
    CHECK(strstr(err.msg, "'nope'") && strstr(err.msg, "after"));
    CHECK_EQ_INT(dc_cdc_key_types(types, &KEY_ID, "{\"schema\":", 10, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "cdc: record") != NULL);
    CHECK_EQ_INT(dc_cdc_key_types(types, &KEY_ID, "null", 4, &err), DC_ENOTFOUND);
}

/* ------------------------------------------------------------ keyspec */

TEST(cdc_keyspec_parse)
{
    dc_err err;
    dc_arena a;
    dc_cdc_keyspec ks;
    dc_arena_init(&a, 1 << 20);
    CHECK_OK(dc_cdc_keyspec_parse(&ks, &a, "id", &err), &err);
    CHECK_EQ_INT(ks.n, 1);
    CHECK_EQ_STR(ks.names[0], "id");
    char text[] = " tenant ,\tid,order_no ";
    CHECK_OK(dc_cdc_keyspec_parse(&ks, &a, text, &err), &err);
    memset(text, 'x', sizeof text - 1); /* names are copies */
    CHECK_EQ_INT(ks.n, 3);
    CHECK_EQ_STR(ks.names[0], "tenant");
    CHECK_EQ_STR(ks.names[1], "id");
    CHECK_EQ_STR(ks.names[2], "order_no");
    static const char *const bad[] = {"", " ", "a,,b", "a,", ",a", "a,b,a", NULL};
    for (int i = 0; bad[i]; i++) {
        CHECK_EQ_INT(dc_cdc_keyspec_parse(&ks, &a, bad[i], &err), DC_EINVAL);
        CHECK_EQ_INT(ks.n, 0);
    }
    CHECK_EQ_INT(dc_cdc_keyspec_parse(&ks, &a, "a,b,a", &err), DC_EINVAL);
    CHECK(strstr(err.msg, "'a' named twice") != NULL);
    CHECK_EQ_INT(dc_cdc_keyspec_parse(&ks, &a, "a,,b", &err), DC_EINVAL);
    CHECK(strstr(err.msg, "empty column name at character 3") != NULL);
    CHECK_OK(dc_cdc_keyspec_parse(&ks, &a, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", &err), &err);
    CHECK_EQ_INT(ks.n, DC_CDC_MAX_KEYS);
    CHECK_EQ_INT(dc_cdc_keyspec_parse(&ks, &a, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", &err),
                 DC_EINVAL);
    CHECK(strstr(err.msg, "more than 16") != NULL);
    CHECK_EQ_INT(dc_cdc_keyspec_parse(&ks, &a, NULL, &err), DC_EINVAL);
    /* A failed copy is DC_ENOMEM (arena passthrough builds) or DC_ELIMIT. */
    dc_arena tiny;
    dc_arena_init(&tiny, 8);
    CHECK_EQ_INT(dc_cdc_keyspec_parse(&ks, &tiny, "a_long_column_name", &err), DC_ELIMIT);
    dc_arena_dispose(&tiny);
    dc_arena_dispose(&a);
    /* A parsed keyspec decodes. */
    dc_arena_init(&a, 1 << 20);
    CHECK_OK(dc_cdc_keyspec_parse(&ks, &a, "tenant, id", &err), &err);
    dc_cdc_event ev;
    CHECK_OK(decode(&ev, &ks, "{\"op\":\"c\",\"after\":{\"id\":3,\"tenant\":\"t\"}}", &err), &err);
    CHECK(ev.n_keys == 2 && ev.keys[1].i == 3 && slice_is(ev.keys[0].s, ev.keys[0].len, "t"));
    dc_arena_dispose(&a);
}
