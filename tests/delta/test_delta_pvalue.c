/* delta: partition values (string form in the log → JSON conventions) and schemas. */
#include "../test.h"

#include "../../src/delta/delta_int.h"

static void check_pv(dc_type t, int p, int s, const char *in, const char *want, int line)
{
    dc_err err;
    dc_err_clear(&err);
    dc_delta_field f = {0};
    f.name = "col";
    f.type = t;
    f.precision = p;
    f.scale = s;
    dc_buf b;
    dc_buf_init(&b, 1000);
    int rc = dc_delta_partition_value_json(&b, &f, in, &err);
    if (!want) {
        if (rc == 0)
            dc_test_fail(__FILE__, line, "'%s' accepted as %.*s", in, (int)b.len, (const char *)b.data);
        else if (!strstr(err.msg, "col"))
            dc_test_fail(__FILE__, line, "message '%s' does not name the column", err.msg);
    } else if (rc != 0) {
        dc_test_fail(__FILE__, line, "'%s' refused: %s", in ? in : "(null)", err.msg);
    } else if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0) {
        dc_test_fail(__FILE__, line, "'%s' -> %.*s, expected %s", in ? in : "(null)", (int)b.len,
                     (const char *)b.data, want);
    }
    dc_buf_dispose(&b);
}

#define PV(t, in, want) check_pv(t, 0, 0, in, want, __LINE__)
#define PVD(p, s, in, want) check_pv(DC_TYPE_DECIMAL, p, s, in, want, __LINE__)

TEST(delta_partition_values_primitives)
{
    PV(DC_TYPE_STRING, "a \"b\"/%2F", "\"a \\\"b\\\"/%2F\"");  /* no unescaping: the log has the value */
    PV(DC_TYPE_STRING, NULL, "null");
    PV(DC_TYPE_STRING, "", "null");       /* an empty string is null for any type */
    PV(DC_TYPE_STRING, "null", "\"null\""); /* the text null is a string */
    PV(DC_TYPE_INT, "", "null");
    PV(DC_TYPE_INT, "-2147483648", "-2147483648");
    PV(DC_TYPE_INT, "2147483648", NULL);
    PV(DC_TYPE_BYTE, "127", "127");
    PV(DC_TYPE_BYTE, "128", NULL);
    PV(DC_TYPE_SHORT, "-32768", "-32768");
    PV(DC_TYPE_LONG, "9223372036854775807", "9223372036854775807");
    PV(DC_TYPE_LONG, "1.0", NULL);
    PV(DC_TYPE_LONG, "12a", NULL);
    PV(DC_TYPE_BOOLEAN, "true", "true");
    PV(DC_TYPE_BOOLEAN, "false", "false");
    PV(DC_TYPE_BOOLEAN, "yes", NULL);
    PV(DC_TYPE_DOUBLE, "1.0", "1.0");
    PV(DC_TYPE_DOUBLE, "-0.5", "-0.5");
    PV(DC_TYPE_DOUBLE, "NaN", "\"NaN\"");
    PV(DC_TYPE_DOUBLE, "Infinity", "\"Infinity\"");
    PV(DC_TYPE_FLOAT, "0.1", "0.1");
    PV(DC_TYPE_DOUBLE, "x", NULL);
    PV(DC_TYPE_BINARY, "\x01\x02\x03", "\"AQID\"");
    PV(DC_TYPE_NULL, "x", "null");
}

TEST(delta_partition_values_decimals)
{
    PVD(5, 2, "1.5", "\"1.50\"");
    PVD(5, 2, "-1.5", "\"-1.50\"");
    PVD(5, 2, "123.45", "\"123.45\"");
    PVD(5, 2, "1234.5", NULL);            /* exceeds the precision */
    PVD(5, 2, "1.234", NULL);             /* more fraction digits than the scale */
    PVD(5, 2, "1.230", "\"1.23\"");       /* trailing zeros beyond the scale are fine */
    PVD(5, 0, "42", "\"42\"");
    PVD(10, 2, "1E+2", "\"100.00\"");     /* Java's BigDecimal.toString */
    PVD(10, 10, "0E-10", "\"0.0000000000\"");
    PVD(10, 3, "-0.000", "\"0.000\"");
    PVD(10, 3, "0.001", "\"0.001\"");
    PVD(38, 0, "12345678901234567890123456789012345678", "\"12345678901234567890123456789012345678\"");
    PVD(5, 2, "", "null");
    PVD(5, 2, "1..2", NULL);
    PVD(5, 2, "abc", NULL);
}

TEST(delta_partition_values_dates_and_timestamps)
{
    PV(DC_TYPE_DATE, "2021-09-08", "\"2021-09-08\"");
    PV(DC_TYPE_DATE, "1969-12-31", "\"1969-12-31\"");
    PV(DC_TYPE_DATE, "2021-02-29", NULL);
    PV(DC_TYPE_DATE, "2020-02-29", "\"2020-02-29\"");
    PV(DC_TYPE_DATE, "2021-9-8", NULL);
    /* PROTOCOL.md: "{year}-{month}-{day} {hour}:{minute}:{second}[.{microsecond}]" */
    PV(DC_TYPE_TIMESTAMP, "2021-09-08 11:11:11", "\"2021-09-08T11:11:11.000000Z\"");
    PV(DC_TYPE_TIMESTAMP, "1970-01-01 00:00:00.123456", "\"1970-01-01T00:00:00.123456Z\"");
    PV(DC_TYPE_TIMESTAMP, "1970-01-01 00:00:00.5", "\"1970-01-01T00:00:00.500000Z\"");
    /* ...or ISO 8601 adjusted to UTC */
    PV(DC_TYPE_TIMESTAMP, "1970-01-01T00:00:00.123456Z", "\"1970-01-01T00:00:00.123456Z\"");
    PV(DC_TYPE_TIMESTAMP, "2021-01-01T01:30:00+02:00", "\"2020-12-31T23:30:00.000000Z\"");
    PV(DC_TYPE_TIMESTAMP, "1969-12-31 23:59:59.999999", "\"1969-12-31T23:59:59.999999Z\"");
    PV(DC_TYPE_TIMESTAMP_NTZ, "2021-11-18 02:30:00.123456", "\"2021-11-18T02:30:00.123456\"");
    PV(DC_TYPE_TIMESTAMP, "2021-09-08 25:00:00", NULL);
    PV(DC_TYPE_TIMESTAMP, "2021-09-08 11:11:11 junk", NULL);
    PV(DC_TYPE_TIMESTAMP, "", "null");
}

TEST(delta_schema_parse)
{
    dc_err err;
    const char *text =
        "{\"type\":\"struct\",\"fields\":["
        "{\"name\":\"a\",\"type\":\"integer\",\"nullable\":false,\"metadata\":{}},"
        "{\"name\":\"b\",\"type\":{\"type\":\"struct\",\"fields\":[{\"name\":\"c\",\"type\":\"decimal(10,2)\","
        "\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":5,"
        "\"delta.columnMapping.physicalName\":\"col-c\"}}]},\"nullable\":true,"
        "\"metadata\":{\"delta.columnMapping.id\":4,\"delta.columnMapping.physicalName\":\"col-b\"}},"
        "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":{\"type\":\"array\","
        "\"elementType\":\"timestamp_ntz\",\"containsNull\":false},\"valueContainsNull\":true},"
        "\"nullable\":true,\"metadata\":{}}]}";
    dc_delta_schema *s = NULL;
    CHECK_OK(dc_delta_schema_parse(&s, text, strlen(text), &err), &err);
    if (!s) return;
    CHECK_EQ_INT(s->root.n_children, 3);
    const dc_delta_field *a = dc_delta_schema_find(s, "a");
    CHECK(a && a->type == DC_TYPE_INT && !a->nullable && strcmp(a->physical_name, "a") == 0);
    const dc_delta_field *b = dc_delta_schema_find(s, "b");
    CHECK(b && b->type == DC_TYPE_STRUCT && b->has_id && b->id == 4);
    CHECK_EQ_STR(b->physical_name, "col-b");
    CHECK(b->children[0].type == DC_TYPE_DECIMAL && b->children[0].precision == 10 &&
          b->children[0].scale == 2);
    CHECK_EQ_STR(b->children[0].physical_name, "col-c");
    const dc_delta_field *m = dc_delta_schema_find(s, "m");
    CHECK(m && m->type == DC_TYPE_MAP && m->n_children == 2);
    CHECK(m->children[1].type == DC_TYPE_ARRAY && m->children[1].nullable);
    CHECK(m->children[1].children[0].type == DC_TYPE_TIMESTAMP_NTZ && !m->children[1].children[0].nullable);
    CHECK(dc_delta_schema_find(s, "zz") == NULL);
    dc_delta_schema_free(s);

    const char *variant = "{\"type\":\"struct\",\"fields\":[{\"name\":\"v\",\"type\":\"variant\"}]}";
    CHECK_EQ_INT(dc_delta_schema_parse(&s, variant, strlen(variant), &err), DC_EUNSUPPORTED);
    CHECK(strstr(err.msg, "variant") && strstr(err.msg, "'v'"));
    const char *bad = "{\"type\":\"struct\",\"fields\":[{\"name\":\"d\",\"type\":\"decimal(50,2)\"}]}";
    CHECK(dc_delta_schema_parse(&s, bad, strlen(bad), &err) < 0);
    CHECK_EQ_INT(dc_delta_schema_parse(&s, "[]", 2, &err), DC_ECORRUPT);
    dc_delta_schema_free(NULL);
}

TEST(delta_column_mapping_mode)
{
    dc_err err;
    dc_delta_kv kv = {"delta.columnMapping.mode", "name"};
    dc_delta_metadata m = {0};
    m.configuration.n = 1;
    m.configuration.items = &kv;
    dc_delta_cm_mode mode;
    dc_delta_protocol p1 = {1, 2, false, 0, NULL, false, 0, NULL};
    CHECK_OK(dc_delta_cm_mode_of(&mode, &p1, &m, &err), &err);
    CHECK_EQ_INT(mode, DC_DELTA_CM_NONE);  /* reader version 1: the property is not honoured */
    dc_delta_protocol p2 = {2, 5, false, 0, NULL, false, 0, NULL};
    CHECK_OK(dc_delta_cm_mode_of(&mode, &p2, &m, &err), &err);
    CHECK_EQ_INT(mode, DC_DELTA_CM_NAME);
    const char *cm[] = {"columnMapping"};
    dc_delta_protocol p3 = {3, 7, true, 1, cm, true, 1, cm};
    kv.value = "id";
    CHECK_OK(dc_delta_cm_mode_of(&mode, &p3, &m, &err), &err);
    CHECK_EQ_INT(mode, DC_DELTA_CM_ID);
    dc_delta_protocol p3n = {3, 7, true, 0, NULL, true, 0, NULL};
    CHECK_OK(dc_delta_cm_mode_of(&mode, &p3n, &m, &err), &err);
    CHECK_EQ_INT(mode, DC_DELTA_CM_NONE);
    kv.value = "weird";
    CHECK_EQ_INT(dc_delta_cm_mode_of(&mode, &p2, &m, &err), DC_EUNSUPPORTED);
}
