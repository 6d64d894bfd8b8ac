/* Typed tables' decoding (src/cdc/cdc_typed.c, cdc_tschema.c, cdc_tdelta.c,
 * cdc_srcpos.c): every Debezium MariaDB/MySQL encoding of issue 9 with NULLs,
 * extremes and bad values (error texts checked), the Delta schema round
 * trip, source positions, and the real Debezium 3.5 capture in tests/data. */
#include "../test.h"

#include <stdio.h>
#include <stdlib.h>

#include "../../src/cdc/cdc.h"
#include "../../src/json/dc_json.h"

/* A tschema whose "after" struct has the given field schemas. */
static dc_cdc_tschema *mk(const char *fields, const dc_cdc_typed_opts *o)
{
    char block[8192];
    dc_err err;
    dc_cdc_tschema *s = NULL;
    snprintf(block, sizeof block,
             "{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":[%s],"
             "\"optional\":true,\"name\":\"t.Value\",\"field\":\"after\"}],\"optional\":false}",
             fields);
    const int rc = dc_cdc_tschema_from_block(&s, o, block, strlen(block), &err);
    if (rc != 0) dc_test_fail(__FILE__, __LINE__, "tschema of %s: %s", fields, err.msg);
    return s;
}

/* The typed row of image, or "ERR: <message>" (static storage). */
static const char *row(const dc_cdc_tschema *s, const char *image)
{
    static char text[16384];
    dc_buf out;
    dc_err err;
    dc_buf_init(&out, 1 << 20);
    const int rc = dc_cdc_typed_row(&out, s, image, strlen(image), &err);
    if (rc == 0) snprintf(text, sizeof text, "%.*s", (int)out.len, (const char *)out.data);
    else snprintf(text, sizeof text, "ERR: %s", err.msg);
    dc_buf_dispose(&out);
    return text;
}

/* One column `field` of the given schema: the row of {"v": value}. */
static const char *one(const char *schema, const char *value, const dc_cdc_typed_opts *o)
{
    char f[4096], img[4096];
    static char text[16384];
    snprintf(f, sizeof f, "{%s,\"optional\":true,\"field\":\"v\"}", schema);
    snprintf(img, sizeof img, "{\"v\":%s}", value);
    dc_cdc_tschema *s = mk(f, o);
    if (!s) return "ERR: no schema";
    snprintf(text, sizeof text, "%s", row(s, img));
    dc_cdc_tschema_free(s);
    return text;
}

/* Base64 of big-endian bytes given as hex. */
static const char *b64(const char *hex)
{
    static char text[256];
    uint8_t b[64];
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &b[i]);
    dc_buf out;
    dc_err err;
    dc_buf_init(&out, 1 << 10);
    CHECK_OK(dc_base64_encode(&out, b, n, &err), &err);
    snprintf(text, sizeof text, "\"%.*s\"", (int)out.len, (const char *)out.data);
    dc_buf_dispose(&out);
    return text;
}

#define DEC(p, s)                                                                           \
    "\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"parameters\":{" \
    "\"scale\":\"" #s "\",\"connect.decimal.precision\":\"" #p "\"}"
#define NAMED(t, n) "\"type\":\"" t "\",\"name\":\"" n "\""

TEST(cdc_typed_ints_and_bools)
{
    CHECK_EQ_STR(one("\"type\":\"int8\"", "-128", NULL), "{\"v\":-128}");
    CHECK_EQ_STR(one("\"type\":\"int8\"", "127", NULL), "{\"v\":127}");
    CHECK_EQ_STR(one("\"type\":\"int8\"", "128", NULL),
                 "ERR: column 'v': expected an int8 (-128..127), got 128");
    CHECK_EQ_STR(one("\"type\":\"int16\"", "-32768", NULL), "{\"v\":-32768}");
    CHECK_EQ_STR(one("\"type\":\"int16\"", "32768", NULL),
                 "ERR: column 'v': expected an int16 (-32768..32767), got 32768");
    CHECK_EQ_STR(one("\"type\":\"int32\"", "-2147483648", NULL), "{\"v\":-2147483648}");
    CHECK_EQ_STR(one("\"type\":\"int32\"", "2147483648", NULL),
                 "ERR: column 'v': expected an int32, got 2147483648");
    CHECK_EQ_STR(one("\"type\":\"int64\"", "-9223372036854775808", NULL),
                 "{\"v\":-9223372036854775808}");
    CHECK_EQ_STR(one("\"type\":\"int64\"", "9223372036854775808", NULL),
                 "ERR: column 'v': expected an int64, got 9223372036854775808");
    CHECK_EQ_STR(one("\"type\":\"int64\"", "1.5", NULL), "ERR: column 'v': expected an int64, got 1.5");
    CHECK_EQ_STR(one("\"type\":\"int32\"", "\"5\"", NULL),
                 "ERR: column 'v': expected an int32, got \"5\"");
    CHECK_EQ_STR(one(NAMED("int32", "io.debezium.time.Year"), "2155", NULL), "{\"v\":2155}");
    CHECK_EQ_STR(one("\"type\":\"boolean\"", "true", NULL), "{\"v\":true}");
    CHECK_EQ_STR(one("\"type\":\"boolean\"", "1", NULL), "ERR: column 'v': expected a boolean, got 1");
    CHECK_EQ_STR(one("\"type\":\"boolean\"", "null", NULL), "{\"v\":null}");
}

TEST(cdc_typed_decimals)
{
    CHECK_EQ_STR(one(DEC(10, 2), b64("01e240"), NULL), "{\"v\":\"1234.56\"}"); /* 123456 */
    CHECK_EQ_STR(one(DEC(10, 2), b64("fe1dc0"), NULL), "{\"v\":\"-1234.56\"}"); /* -123456 */
    CHECK_EQ_STR(one(DEC(10, 2), b64("00"), NULL), "{\"v\":\"0.00\"}");
    CHECK_EQ_STR(one(DEC(10, 2), b64("ff"), NULL), "{\"v\":\"-0.01\"}");
    CHECK_EQ_STR(one(DEC(5, 5), b64("80"), NULL), "{\"v\":\"-0.00128\"}");
    /* BIGINT UNSIGNED, precise: Decimal(20,0), above 2^63. */
    CHECK_EQ_STR(one(DEC(20, 0), b64("00ffffffffffffffff"), NULL),
                 "{\"v\":\"18446744073709551615\"}");
    CHECK_EQ_STR(one(DEC(20, 0), b64("008000000000000000"), NULL),
                 "{\"v\":\"9223372036854775808\"}");
    /* DECIMAL(65,30): 10^65 - 1 and its negative, a string column. */
    dc_cdc_tschema *s = mk("{" DEC(65, 30) ",\"optional\":true,\"field\":\"v\"}", NULL);
    CHECK(s && dc_cdc_tschema_col(s, 0)->type == DC_TYPE_STRING);
    dc_cdc_tschema_free(s);
    s = mk("{" DEC(38, 10) ",\"optional\":true,\"field\":\"v\"}", NULL);
    CHECK(s && dc_cdc_tschema_col(s, 0)->type == DC_TYPE_DECIMAL);
    dc_cdc_tschema_free(s);
    /* 65 digits, as a number (decimal.format=NUMERIC) and as base64 below. */
    CHECK_EQ_STR(one(DEC(65, 30),
                     "99999999999999999999999999999999999.999999999999999999999999999999", NULL),
                 "{\"v\":\"99999999999999999999999999999999999.999999999999999999999999999999\"}");
    CHECK_EQ_STR(one(DEC(65, 30), "-3.141592653589793238462643383279", NULL),
                 "{\"v\":\"-3.141592653589793238462643383279\"}");
    CHECK_EQ_STR(one(DEC(65, 30), "999999999999999999999999999999999999", NULL),
                 "ERR: column 'v': 66 digits exceed the precision 65 of decimal(65,30) "
                 "(value 999999999999999999999999999999999999)");
    /* decimal.format=NUMERIC: numbers, exact at the scale. */
    CHECK_EQ_STR(one(DEC(10, 2), "12.5", NULL), "{\"v\":\"12.50\"}");
    CHECK_EQ_STR(one(DEC(10, 2), "1.25E+3", NULL), "{\"v\":\"1250.00\"}");
    CHECK_EQ_STR(one(DEC(10, 2), "-0.010", NULL), "{\"v\":\"-0.01\"}");
    CHECK_EQ_STR(one(DEC(10, 2), "1.234", NULL),
                 "ERR: column 'v': more fraction digits than the scale (value 1.234)");
    /* Bad input: beyond the precision, bad base64, the wrong kind. */
    CHECK_EQ_STR(one(DEC(3, 0), b64("3039"), NULL), /* 12345 */
                 "ERR: column 'v': 5 digits exceed the precision 3 of decimal(3,0) (value \"MDk=\")");
    CHECK_EQ_STR(one(DEC(10, 2), "\"!!!!\"", NULL),
                 "ERR: column 'v': expected a Decimal as base64 of its unscaled value, got \"!!!!\"");
    CHECK_EQ_STR(one(DEC(10, 2), "\"AB\"", NULL),
                 "ERR: column 'v': expected a Decimal as base64 of its unscaled value, got \"AB\"");
    CHECK_EQ_STR(one(DEC(10, 2), "true", NULL),
                 "ERR: column 'v': expected a Decimal (base64 or a number), got true");
    /* decimal.handling.mode=string/double arrive as plain types. */
    CHECK_EQ_STR(one("\"type\":\"string\"", "\"1234.5600\"", NULL), "{\"v\":\"1234.5600\"}");
    CHECK_EQ_STR(one("\"type\":\"double\"", "1234.56", NULL), "{\"v\":1234.56}");
}

TEST(cdc_typed_floats)
{
    CHECK_EQ_STR(one("\"type\":\"float\"", "3.40282E38", NULL), "{\"v\":3.40282E38}");
    CHECK_EQ_STR(one("\"type\":\"float\"", "-0.0", NULL), "{\"v\":-0.0}");
    CHECK_EQ_STR(one("\"type\":\"float\"", "1e39", NULL),
                 "ERR: column 'v': expected a float32 number, got 1e39");
    CHECK_EQ_STR(one("\"type\":\"double\"", "1.7976931348623157E308", NULL),
                 "{\"v\":1.7976931348623157E308}");
    CHECK_EQ_STR(one("\"type\":\"double\"", "1e400", NULL),
                 "ERR: column 'v': expected a float64 number, got 1e400");
    CHECK_EQ_STR(one("\"type\":\"double\"", "\"NaN\"", NULL),
                 "ERR: column 'v': expected a float64 number, got \"NaN\"");
}

TEST(cdc_typed_dates_and_timestamps)
{
    const char *const date = NAMED("int32", "io.debezium.time.Date");
    CHECK_EQ_STR(one(date, "0", NULL), "{\"v\":\"1970-01-01\"}");
    CHECK_EQ_STR(one(date, "-1", NULL), "{\"v\":\"1969-12-31\"}");
    CHECK_EQ_STR(one(date, "-719162", NULL), "{\"v\":\"0001-01-01\"}");
    CHECK_EQ_STR(one(date, "-354285", NULL), "{\"v\":\"1000-01-01\"}");
    CHECK_EQ_STR(one(date, "2932896", NULL), "{\"v\":\"9999-12-31\"}");
    CHECK_EQ_STR(one(date, "19782", NULL), "{\"v\":\"2024-02-29\"}");
    CHECK_EQ_STR(one(date, "2932897", NULL),
                 "ERR: column 'v': date out of range 0001-01-01..9999-12-31 (value 2932897)");
    CHECK_EQ_STR(one(date, "-719163", NULL),
                 "ERR: column 'v': date out of range 0001-01-01..9999-12-31 (value -719163)");
    const char *const ms = NAMED("int64", "io.debezium.time.Timestamp");
    const char *const us = NAMED("int64", "io.debezium.time.MicroTimestamp");
    const char *const ns = NAMED("int64", "io.debezium.time.NanoTimestamp");
    CHECK_EQ_STR(one(ms, "0", NULL), "{\"v\":\"1970-01-01T00:00:00.000000\"}");
    CHECK_EQ_STR(one(ms, "-1", NULL), "{\"v\":\"1969-12-31T23:59:59.999000\"}");
    CHECK_EQ_STR(one(ms, "253402300799999", NULL), "{\"v\":\"9999-12-31T23:59:59.999000\"}");
    CHECK_EQ_STR(one(ms, "253402300800000", NULL),
                 "ERR: column 'v': timestamp out of range 0001-01-01..9999-12-31 (value "
                 "253402300800000)");
    CHECK_EQ_STR(one(us, "1709296496789012", NULL), "{\"v\":\"2024-03-01T12:34:56.789012\"}");
    CHECK_EQ_STR(one(us, "-30610224000000000", NULL), "{\"v\":\"1000-01-01T00:00:00.000000\"}");
    CHECK_EQ_STR(one(ns, "1000", NULL), "{\"v\":\"1970-01-01T00:00:00.000001\"}");
    CHECK_EQ_STR(one(ns, "1500", NULL),
                 "ERR: column 'v': sub-microsecond nanoseconds (Delta holds microseconds) (value 1500)");
    CHECK_EQ_STR(one(ms, "9223372036854775807", NULL),
                 "ERR: column 'v': out of range (value 9223372036854775807)");
    const dc_cdc_typed_opts utc = {.datetime_as_timestamp = true};
    CHECK_EQ_STR(one(us, "1", &utc), "{\"v\":\"1970-01-01T00:00:00.000001Z\"}");
    const char *const zoned = NAMED("string", "io.debezium.time.ZonedTimestamp");
    CHECK_EQ_STR(one(zoned, "\"2038-01-19T03:14:07.999999Z\"", NULL),
                 "{\"v\":\"2038-01-19T03:14:07.999999Z\"}");
    CHECK_EQ_STR(one(zoned, "\"2024-03-01T14:34:56+02:00\"", NULL),
                 "{\"v\":\"2024-03-01T12:34:56.000000Z\"}");
    CHECK_EQ_STR(one(zoned, "\"1970-01-01T00:00:01.000001Z\"", NULL),
                 "{\"v\":\"1970-01-01T00:00:01.000001Z\"}");
    CHECK_EQ_STR(one(zoned, "\"2024-03-01T00:30:00.5-01:00\"", NULL),
                 "{\"v\":\"2024-03-01T01:30:00.500000Z\"}");
    CHECK_EQ_STR(one(zoned, "\"2024-03-01T12:34:56.123456000Z\"", NULL),
                 "{\"v\":\"2024-03-01T12:34:56.123456Z\"}");
    CHECK_EQ_STR(one(zoned, "\"2024-03-01T12:34:56.1234567Z\"", NULL),
                 "ERR: column 'v': sub-microsecond digits (a timestamp holds microseconds) (value "
                 "\"2024-03-01T12:34:56.1234567Z\")");
    CHECK_EQ_STR(one(zoned, "\"2023-02-29T00:00:00Z\"", NULL),
                 "ERR: column 'v': not a date in 0001-01-01..9999-12-31 (value "
                 "\"2023-02-29T00:00:00Z\")");
    CHECK_EQ_STR(one(zoned, "\"2024-03-01T12:34:56\"", NULL),
                 "ERR: column 'v': no offset (Z or +HH:MM) at the end (value \"2024-03-01T12:34:56\")");
    CHECK_EQ_STR(one(zoned, "1709296496", NULL),
                 "ERR: column 'v': expected an ISO-8601 timestamp string, got 1709296496");
}

TEST(cdc_typed_times)
{
    const char *const micro = NAMED("int64", "io.debezium.time.MicroTime");
    const char *const milli = NAMED("int32", "io.debezium.time.Time");
    const char *const nano = NAMED("int64", "io.debezium.time.NanoTime");
    const dc_cdc_typed_opts str = {.time_as_string = true};
    CHECK_EQ_STR(one(micro, "-3723456789", NULL), "{\"v\":-3723456789}");
    CHECK_EQ_STR(one(micro, "-3723456789", &str), "{\"v\":\"-01:02:03.456789\"}");
    CHECK_EQ_STR(one(micro, "3020399000000", &str), "{\"v\":\"838:59:59.000000\"}");
    CHECK_EQ_STR(one(micro, "-3020399000000", &str), "{\"v\":\"-838:59:59.000000\"}");
    CHECK_EQ_STR(one(micro, "86400000000", &str), "{\"v\":\"24:00:00.000000\"}");
    CHECK_EQ_STR(one(milli, "45296000", NULL), "{\"v\":45296000000}");
    CHECK_EQ_STR(one(nano, "45296000001000", NULL), "{\"v\":45296000001}");
    CHECK_EQ_STR(one(nano, "1", NULL),
                 "ERR: column 'v': sub-microsecond nanoseconds (Delta holds microseconds) (value 1)");
    CHECK_EQ_STR(one(milli, "2147483648", NULL),
                 "ERR: column 'v': expected a time (int32 ms), got 2147483648");
}

TEST(cdc_typed_strings_enums_sets)
{
    CHECK_EQ_STR(one("\"type\":\"string\"", "\"\"", NULL), "{\"v\":\"\"}");
    CHECK_EQ_STR(one("\"type\":\"string\"", "\"h\xc3\xa9llo \xf0\x9f\x98\x80\"", NULL),
                 "{\"v\":\"h\xc3\xa9llo \xf0\x9f\x98\x80\"}");
    CHECK_EQ_STR(one("\"type\":\"string\"", "\"\\uD83D\\uDE00 \\u0000\"", NULL),
                 "{\"v\":\"\\uD83D\\uDE00 \\u0000\"}");
    CHECK_EQ_STR(one("\"type\":\"string\"", "5", NULL), "ERR: column 'v': expected a string, got 5");
    CHECK_EQ_STR(one(NAMED("string", "io.debezium.data.Json"), "\"{\\\"k\\\": [1, 2.5]}\"", NULL),
                 "{\"v\":\"{\\\"k\\\": [1, 2.5]}\"}");
    const char *const en = NAMED("string", "io.debezium.data.Enum")
        ",\"parameters\":{\"allowed\":\"small,medium,x-large\"}";
    CHECK_EQ_STR(one(en, "\"medium\"", NULL), "{\"v\":\"medium\"}");
    CHECK_EQ_STR(one(en, "\"x-large\"", NULL), "{\"v\":\"x-large\"}");
    CHECK_EQ_STR(one(en, "\"\"", NULL), "{\"v\":\"\"}"); /* MySQL's error value */
    CHECK_EQ_STR(one(en, "\"large\"", NULL),
                 "ERR: column 'v': 'large' is not one of the allowed values small,medium,x-large "
                 "(value \"large\")");
    CHECK_EQ_STR(one(en, "\"mediu\"", NULL),
                 "ERR: column 'v': 'mediu' is not one of the allowed values small,medium,x-large "
                 "(value \"mediu\")");
    CHECK_EQ_STR(one(en, "\"sm\\u0061ll\"", NULL), "{\"v\":\"sm\\u0061ll\"}");
    const char *const set = NAMED("string", "io.debezium.data.EnumSet")
        ",\"parameters\":{\"allowed\":\"a,b,c\"}";
    CHECK_EQ_STR(one(set, "\"a,c\"", NULL), "{\"v\":[\"a\",\"c\"]}");
    CHECK_EQ_STR(one(set, "\"\"", NULL), "{\"v\":[]}");
    CHECK_EQ_STR(one(set, "\"b\"", NULL), "{\"v\":[\"b\"]}");
    CHECK_EQ_STR(one(set, "\"a,x\"", NULL),
                 "ERR: column 'v': 'x' is not one of the allowed values a,b,c (value \"a,x\")");
    CHECK_EQ_STR(one(set, "[\"a\"]", NULL),
                 "ERR: column 'v': expected a set value (a comma-separated string), got [\"a\"]");
}

TEST(cdc_typed_bytes_and_geometry)
{
    CHECK_EQ_STR(one("\"type\":\"bytes\"", "\"AP8Qqw==\"", NULL), "{\"v\":\"AP8Qqw==\"}");
    CHECK_EQ_STR(one("\"type\":\"bytes\"", "\"\"", NULL), "{\"v\":\"\"}");
    CHECK_EQ_STR(one("\"type\":\"bytes\"", "\"\\/w8=\"", NULL), "{\"v\":\"/w8=\"}");
    CHECK_EQ_STR(one("\"type\":\"bytes\"", "\"AP8\"", NULL),
                 "ERR: column 'v': expected bytes as a base64 string, got \"AP8\"");
    CHECK_EQ_STR(one("\"type\":\"bytes\"", "\"A=P8\"", NULL),
                 "ERR: column 'v': expected bytes as a base64 string, got \"A=P8\"");
    CHECK_EQ_STR(one(NAMED("bytes", "io.debezium.data.Bits"), "\"/w8=\"", NULL), "{\"v\":\"/w8=\"}");
    const char *const geom =
        NAMED("struct", "io.debezium.data.geometry.Geometry")
        ",\"fields\":[{\"type\":\"bytes\",\"optional\":false,\"field\":\"wkb\"},"
        "{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}]";
    CHECK_EQ_STR(one(geom, "{\"wkb\":\"AQE=\",\"srid\":null}", NULL),
                 "{\"v\":{\"wkb\":\"AQE=\",\"srid\":null}}");
    CHECK_EQ_STR(one(geom, "{\"srid\":4326,\"wkb\":\"AQE=\"}", NULL),
                 "{\"v\":{\"wkb\":\"AQE=\",\"srid\":4326}}");
    CHECK_EQ_STR(one(geom, "{\"srid\":4326}", NULL),
                 "ERR: column 'v': column 'wkb': null in a non-optional column");
    CHECK_EQ_STR(one(geom, "\"AQE=\"", NULL),
                 "ERR: column 'v': expected a struct (an object), got \"AQE=\"");
    /* Structs other than geometry, arrays and maps are refused at the schema. */
    char block[512];
    dc_err err;
    dc_cdc_tschema *s = NULL;
    snprintf(block, sizeof block, "{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":"
             "[{\"type\":\"array\",\"items\":{\"type\":\"int32\"},\"optional\":true,\"field\":\"a\"}],"
             "\"field\":\"after\"}]}");
    CHECK_EQ_INT(dc_cdc_tschema_from_block(&s, NULL, block, strlen(block), &err), DC_EUNSUPPORTED);
    CHECK_EQ_STR(err.msg, "column 'a': type array is not supported in a typed table");
    snprintf(block, sizeof block, "{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":"
             "[{\"type\":\"string\",\"name\":\"io.debezium.time.Date\",\"field\":\"d\"}],"
             "\"field\":\"after\"}]}");
    CHECK_EQ_INT(dc_cdc_tschema_from_block(&s, NULL, block, strlen(block), &err), DC_EINVAL);
    CHECK_EQ_STR(err.msg, "column 'd': io.debezium.time.Date with type string (expected int32)");
}

TEST(cdc_typed_rows_nulls_order_unknown)
{
    dc_cdc_tschema *s = mk("{\"type\":\"int64\",\"optional\":false,\"field\":\"id\"},"
                           "{\"type\":\"string\",\"optional\":true,\"field\":\"n\\u00e4me\"},"
                           "{\"type\":\"int32\",\"optional\":true,\"field\":\"x\"}", NULL);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_EQ_INT(dc_cdc_tschema_ncols(s), 3);
    CHECK_EQ_STR(dc_cdc_tschema_col(s, 1)->name, "n\xc3\xa4me");
    CHECK_EQ_STR(row(s, "{\"id\":1,\"n\xc3\xa4me\":\"a\",\"x\":2}"), "{\"id\":1,\"n\xc3\xa4me\":\"a\",\"x\":2}");
    /* Out of order, an escaped name, a missing member (null). */
    CHECK_EQ_STR(row(s, " { \"x\" : 2 , \"id\" : 1 } "), "{\"id\":1,\"n\xc3\xa4me\":null,\"x\":2}");
    CHECK_EQ_STR(row(s, "{\"n\\u00e4me\":\"b\",\"id\":7}"), "{\"id\":7,\"n\xc3\xa4me\":\"b\",\"x\":null}");
    CHECK_EQ_STR(row(s, "{\"id\":null}"), "ERR: column 'id': null in a non-optional column");
    CHECK_EQ_STR(row(s, "{\"x\":1}"), "ERR: column 'id': null in a non-optional column");
    CHECK_EQ_STR(row(s, "{\"id\":1,\"y\":1}"),
                 "ERR: column 'y' is in the image but not in the schema");
    CHECK_EQ_STR(row(s, "{\"id\":1,\"x\":}"), "ERR: cdc: expected a value but found '}' at byte 12");
    CHECK_EQ_STR(row(s, "[1]"), "ERR: cdc: expected an object (a row image) but found '[' at byte 0");
    CHECK_EQ_STR(row(s, "{\"id\":1} x"), "ERR: cdc: expected the end of the image but found 'x' at byte 9");
    /* Members without braces, appended. */
    dc_buf out;
    dc_err err;
    dc_buf_init(&out, 1 << 16);
    CHECK_OK(dc_buf_puts(&out, "{\"__op\":\"c\",", &err), &err);
    CHECK_OK(dc_cdc_typed_members(&out, s, "{\"id\":3}", 8, &err), &err);
    static const char want[] = "{\"__op\":\"c\",\"id\":3,\"n\xc3\xa4me\":null,\"x\":null";
    CHECK(out.len == sizeof want - 1 && memcmp(out.data, want, out.len) == 0);
    dc_buf_dispose(&out);
    CHECK_EQ_INT(dc_cdc_tschema_find(s, "x", 1), 2);
    CHECK_EQ_INT(dc_cdc_tschema_find(s, "y", 1), -1);
    dc_cdc_tschema_free(s);
}

/* The StructField JSON of a one-column schema. */
static const char *field_json(const char *schema)
{
    static char text[8192];
    char f[4096];
    snprintf(f, sizeof f, "{%s,\"optional\":true,\"field\":\"v\"}", schema);
    dc_cdc_tschema *s = mk(f, NULL);
    dc_buf out;
    dc_err err;
    dc_buf_init(&out, 1 << 16);
    CHECK_OK(dc_cdc_tcol_delta_json(&out, dc_cdc_tschema_col(s, 0), &err), &err);
    snprintf(text, sizeof text, "%.*s", (int)out.len, (const char *)out.data);
    dc_buf_dispose(&out);
    dc_cdc_tschema_free(s);
    return text;
}

TEST(cdc_typed_delta_schema)
{
    CHECK_EQ_STR(field_json("\"type\":\"int16\""),
                 "{\"name\":\"v\",\"type\":\"short\",\"nullable\":true,\"metadata\":{\"deltacdc."
                 "debezium\":\"{\\\"type\\\":\\\"int16\\\",\\\"optional\\\":true,\\\"field\\\":\\\"v\\\"}\"}}");
    CHECK(strstr(field_json(DEC(10, 2)), "\"type\":\"decimal(10,2)\""));
    CHECK(strstr(field_json(DEC(20, 0)), "\"type\":\"decimal(20,0)\""));
    CHECK(strstr(field_json(DEC(65, 30)), "\"type\":\"string\""));
    CHECK(strstr(field_json(NAMED("int64", "io.debezium.time.MicroTimestamp")),
                 "\"type\":\"timestamp_ntz\""));
    CHECK(strstr(field_json(NAMED("string", "io.debezium.time.ZonedTimestamp")),
                 "\"type\":\"timestamp\""));
    CHECK(strstr(field_json(NAMED("int64", "io.debezium.time.MicroTime")), "\"type\":\"long\""));
    CHECK(strstr(field_json(NAMED("string", "io.debezium.data.EnumSet")),
                 "\"type\":{\"type\":\"array\",\"elementType\":\"string\",\"containsNull\":false}"));
    CHECK(strstr(field_json(NAMED("struct", "io.debezium.data.geometry.Point")
                            ",\"fields\":[{\"type\":\"double\",\"field\":\"x\"},"
                            "{\"type\":\"bytes\",\"optional\":true,\"field\":\"wkb\"}]"),
                 "\"type\":{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":\"double\","
                 "\"nullable\":true,\"metadata\":{}},{\"name\":\"wkb\",\"type\":\"binary\","));
}

/* tschema → Delta struct JSON → from_delta gives the same columns. */
static void delta_round_trip(dc_cdc_tschema *s)
{
    dc_buf b;
    dc_err err;
    dc_arena a;
    dc_json *dom = NULL;
    dc_cdc_tschema *back = NULL;
    dc_buf_init(&b, 1 << 24);
    dc_arena_init(&a, 1 << 26);
    CHECK_OK(dc_cdc_tschema_delta_json(&b, s, &err), &err);
    CHECK_OK(dc_json_parse(&dom, &a, (const char *)b.data, b.len, &err), &err);
    CHECK_OK(dc_cdc_tschema_from_delta(&back, dom, NULL, &err), &err);
    CHECK(back && dc_cdc_tschema_equal(s, back));
    dc_cdc_tschema_free(back);
    dc_arena_dispose(&a);
    dc_buf_dispose(&b);
}

TEST(cdc_typed_from_delta)
{
    static const char *const fields =
        "{\"type\":\"int64\",\"optional\":false,\"field\":\"id\"},"
        "{" DEC(12, 3) ",\"optional\":true,\"field\":\"d\"},"
        "{" NAMED("int64", "io.debezium.time.Timestamp") ",\"optional\":true,\"field\":\"ts\"},"
        "{" NAMED("int64", "io.debezium.time.MicroTime") ",\"optional\":true,\"field\":\"t\"},"
        "{" NAMED("string", "io.debezium.data.EnumSet") ",\"parameters\":{\"allowed\":\"a,b\"},"
        "\"optional\":true,\"field\":\"s\"}";
    const dc_cdc_typed_opts both = {.datetime_as_timestamp = true, .time_as_string = true};
    for (int i = 0; i < 2; i++) {
        dc_cdc_tschema *s = mk(fields, i ? &both : NULL);
        if (s) delta_round_trip(s);
        dc_cdc_tschema_free(s);
    }
    /* Without our metadata: unambiguous types map, a timestamp is refused. */
    static const char delta[] =
        "{\"type\":\"struct\",\"fields\":[{\"name\":\"__op\",\"type\":\"string\"},"
        "{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"p\",\"type\":\"decimal(10,2)\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"d\",\"type\":\"date\",\"nullable\":true,\"metadata\":{}}]}";
    dc_arena a;
    dc_json *dom = NULL;
    dc_err err;
    dc_cdc_tschema *s = NULL;
    dc_arena_init(&a, 1 << 20);
    CHECK_OK(dc_json_parse(&dom, &a, delta, sizeof delta - 1, &err), &err);
    const char *const skip[] = {"__op", NULL};
    CHECK_OK(dc_cdc_tschema_from_delta(&s, dom, skip, &err), &err);
    if (s) {
        CHECK_EQ_INT(dc_cdc_tschema_ncols(s), 3);
        CHECK_EQ_STR(row(s, "{\"id\":5,\"p\":\"AeI=\",\"d\":-1}"),
                     "{\"id\":5,\"p\":\"4.82\",\"d\":\"1969-12-31\"}");
    }
    dc_cdc_tschema_free(s);
    static const char ts[] = "{\"type\":\"struct\",\"fields\":[{\"name\":\"t\",\"type\":"
                             "\"timestamp_ntz\",\"nullable\":true,\"metadata\":{}}]}";
    CHECK_OK(dc_json_parse(&dom, &a, ts, sizeof ts - 1, &err), &err);
    CHECK_EQ_INT(dc_cdc_tschema_from_delta(&s, dom, NULL, &err), DC_EUNSUPPORTED);
    CHECK(strstr(err.msg, "column 't': Delta type timestamp_ntz without \"deltacdc.debezium\""));
    dc_arena_dispose(&a);
}

TEST(cdc_typed_cache)
{
    static const char block[] = "{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":"
                                "[{\"type\":\"int32\",\"field\":\"a\"}],\"field\":\"after\"}]}";
    dc_cdc_tschema_cache c;
    const dc_cdc_tschema *s1 = NULL, *s2 = NULL;
    dc_err err;
    dc_cdc_tschema_cache_init(&c, NULL);
    CHECK_OK(dc_cdc_tschema_cache_get(&s1, &c, block, sizeof block - 1, &err), &err);
    CHECK_OK(dc_cdc_tschema_cache_get(&s2, &c, block, sizeof block - 1, &err), &err);
    CHECK(s1 && s1 == s2 && c.hits == 1 && c.misses == 1);
    /* By schema_id: a miss compares the bytes and notes the id; the id then
     * answers alone; another id with the same bytes still hits by memcmp. */
    CHECK_OK(dc_cdc_tschema_cache_get_id(&s2, &c, block, sizeof block - 1, 7, &err), &err);
    CHECK(s2 == s1 && c.id[c.last_hit] == 7);
    CHECK_OK(dc_cdc_tschema_cache_get_id(&s2, &c, block, sizeof block - 1, 8, &err), &err);
    CHECK(s2 == s1 && c.id[c.last_hit] == 8 && c.misses == 1);
    static const char other[] = "{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":"
                                "[{\"type\":\"int64\",\"field\":\"b\"}],\"field\":\"after\"}]}";
    CHECK_OK(dc_cdc_tschema_cache_get_id(&s2, &c, other, sizeof other - 1, 9, &err), &err);
    CHECK(s2 && s2 != s1 && c.misses == 2);
    CHECK_OK(dc_cdc_tschema_cache_get_id(&s2, &c, block, sizeof block - 1, 8, &err), &err);
    CHECK(s2 == s1);
    dc_cdc_tschema *kept = dc_cdc_tschema_dup((dc_cdc_tschema *)s1);
    CHECK_EQ_INT(dc_cdc_tschema_cache_get(&s1, &c, "{}", 2, &err), DC_EINVAL);
    dc_cdc_tschema_cache_dispose(&c);
    CHECK_EQ_INT(dc_cdc_tschema_ncols(kept), 1); /* still alive: our reference */
    dc_cdc_tschema_free(kept);
    CHECK_EQ_INT(dc_cdc_tschema_from_record(&kept, NULL, "{\"op\":\"c\"}", 10, &err), DC_ENOTFOUND);
}

/* ------------------------------------------------------ source positions */

TEST(cdc_srcpos_format_parse_order)
{
    static const char rec[] =
        "{\"payload\":{\"before\":null,\"after\":{\"id\":1},\"source\":{\"version\":\"3.5.0\","
        "\"connector\":\"mariadb\",\"snapshot\":null,\"server_id\":5401,\"gtid\":\"0-4201-9\","
        "\"file\":\"binlog.000010\",\"pos\":7633,\"row\":2,\"thread\":5},\"op\":\"c\",\"ts_ms\":1}}";
    const dc_cdc_keyspec ks = {1, {"id"}};
    dc_cdc_event ev;
    dc_buf scratch, out;
    dc_err err;
    dc_buf_init(&scratch, 1 << 16);
    dc_buf_init(&out, 1 << 16);
    CHECK_OK(dc_cdc_decode(&ev, &scratch, &ks, rec, sizeof rec - 1, &err), &err);
    CHECK(ev.has_srcpos && ev.srcpos.file == 10 && ev.srcpos.pos == 7633 && ev.srcpos.row == 2 &&
          !ev.srcpos.snapshot && ev.has_server_id && ev.server_id == 5401);
    CHECK_OK(dc_cdc_srcpos_format(&out, &ev, &err), &err);
    CHECK_EQ_INT(out.len, 34);
    CHECK(memcmp(out.data, "binlog.000010:7633:2 gtid=0-4201-9", 34) == 0);
    dc_cdc_srcpos p;
    CHECK_OK(dc_cdc_srcpos_parse(&p, (const char *)out.data, out.len, &err), &err);
    CHECK(dc_cdc_srcpos_cmp(&p, &ev.srcpos) == 0);
    /* Order: file number (rollover .000009 → .000010), pos, snapshot first, row. */
    static const char *const ordered[] = {
        "mysql-bin.000009:4:0:snapshot", "mysql-bin.000009:4:0", "mysql-bin.000009:4:1",
        "mysql-bin.000009:120:0", "mysql-bin.000009:9999999999:3", "mysql-bin.000010:4:0",
        "mysql-bin.000010:4:0 gtid=0-1-5", "mysql-bin.000100:0:0", "a:b.1000000:7:2147483647"};
    dc_cdc_srcpos prev = {0};
    for (size_t i = 0; i < sizeof ordered / sizeof ordered[0]; i++) {
        CHECK_OK(dc_cdc_srcpos_parse(&p, ordered[i], strlen(ordered[i]), &err), &err);
        if (i > 0 && i != 6) CHECK(dc_cdc_srcpos_cmp(&prev, &p) < 0 && dc_cdc_srcpos_cmp(&p, &prev) > 0);
        if (i == 6) CHECK(dc_cdc_srcpos_cmp(&prev, &p) == 0); /* the GTID does not order */
        prev = p;
    }
    static const char *const bad[] = {"", "mysql-bin:4:0", "mysql-bin.000001:4", "mysql-bin.1:x:0",
                                      "mysql-bin.1:4:2147483648", "mysql-bin.:4:0", ".5:-1:0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(dc_cdc_srcpos_parse(&p, bad[i], strlen(bad[i]), &err), DC_EINVAL);
    CHECK(strstr(err.msg, "is not FILE.N:POS:ROW[:snapshot][ gtid=G]"));
    /* Snapshot reads; a source without a usable position. */
    static const char snap[] = "{\"op\":\"r\",\"after\":{\"id\":1},\"source\":{\"snapshot\":\"first\","
                               "\"file\":\"binlog.000001\",\"pos\":4589,\"row\":0,\"gtid\":null}}";
    CHECK_OK(dc_cdc_decode(&ev, &scratch, &ks, snap, sizeof snap - 1, &err), &err);
    CHECK(ev.has_srcpos && ev.srcpos.snapshot && !ev.gtid);
    dc_buf_reset(&out);
    CHECK_OK(dc_cdc_srcpos_format(&out, &ev, &err), &err);
    CHECK(out.len == 29 && memcmp(out.data, "binlog.000001:4589:0:snapshot", 29) == 0);
    static const char nopos[] = "{\"op\":\"c\",\"after\":{\"id\":1},\"source\":{\"file\":\"binlog\","
                                "\"pos\":4589}}";
    CHECK_OK(dc_cdc_decode(&ev, &scratch, &ks, nopos, sizeof nopos - 1, &err), &err);
    CHECK(!ev.has_srcpos && ev.src_file_len == 6);
    CHECK_EQ_INT(dc_cdc_srcpos_format(&out, &ev, &err), DC_ENOTFOUND);
    dc_buf_dispose(&scratch);
    dc_buf_dispose(&out);
}

/* ------------------------------------------------- real Debezium output */

/* Every record of the real MariaDB capture (tests/data, from the e2e
 * branch's Debezium 3.5 run) types without error; the trusted path
 * (dc_cdc_typed_event) writes what the checking one writes; a few values
 * are checked by hand against the workload. */
TEST(cdc_typed_real_debezium)
{
    static const char *const paths[] = {"tests/data/debezium_mariadb_alltypes.jsonl",
                                        "../tests/data/debezium_mariadb_alltypes.jsonl",
                                        "../../tests/data/debezium_mariadb_alltypes.jsonl"};
    FILE *f = NULL;
    for (size_t i = 0; !f && i < 3; i++) f = fopen(paths[i], "rb");
    CHECK(f != NULL);
    if (!f) return;
    const dc_cdc_keyspec ks = {1, {"id"}};
    dc_cdc_tschema_cache tc;
    dc_buf scratch, a, b;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rows = 0, with_pos = 0, found = 0;
    dc_cdc_tschema_cache_init(&tc, NULL);
    dc_buf_init(&scratch, 1 << 24);
    dc_buf_init(&a, 1 << 24);
    dc_buf_init(&b, 1 << 24);
    while ((n = getline(&line, &cap, f)) > 0) {
        dc_cdc_event ev;
        dc_err err;
        const dc_cdc_tschema *s = NULL;
        CHECK_OK(dc_cdc_decode(&ev, &scratch, &ks, line, (size_t)n, &err), &err);
        if (ev.kind != DC_CDC_CHANGE) continue;
        CHECK(ev.schema != NULL);
        CHECK_OK(dc_cdc_tschema_cache_get(&s, &tc, ev.schema, ev.schema_len, &err), &err);
        dc_buf_reset(&a);
        dc_buf_reset(&b);
        const bool del = ev.op == 'd';
        CHECK_OK(dc_cdc_typed_members(&a, s, del ? ev.before : ev.after,
                                      del ? ev.before_len : ev.after_len, &err), &err);
        CHECK_OK(dc_cdc_typed_event(&b, s, &ev, &err), &err);
        CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        dc_buf_reset(&b);
        CHECK_OK(dc_cdc_typed_members_decoded(&b, s, del ? ev.before : ev.after,
                                              del ? ev.before_len : ev.after_len, &err), &err);
        CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        rows++;
        with_pos += ev.has_srcpos;
        CHECK_OK(dc_buf_putc(&a, 0, &err), &err);
        const char *const r = (const char *)a.data;
        if (strncmp(r, "\"id\":3,", 7) == 0 && ev.op == 'c') {
            found++;
            CHECK(strstr(r, "\"c_ubig\":\"18446744073709551615\""));
            CHECK(strstr(r, "\"c_dec65\":\"99999999999999999999999999999999999."
                            "999999999999999999999999999999\""));
            CHECK(strstr(r, "\"c_date\":\"9999-12-31\""));
            CHECK(strstr(r, "\"c_dt6\":\"9999-12-31T23:59:59.999999\""));
            CHECK(strstr(r, "\"c_ts6\":\"2038-01-19T03:14:07.999999Z\""));
            CHECK(strstr(r, "\"c_time6\":3020399000000"));
            CHECK(strstr(r, "\"c_tiny\":127"));
        }
    }
    CHECK(rows >= 30 && with_pos == rows && found == 1);
    CHECK(tc.hits > 0);
    free(line);
    fclose(f);
    dc_buf_dispose(&scratch);
    dc_buf_dispose(&a);
    dc_buf_dispose(&b);
    dc_cdc_tschema_cache_dispose(&tc);
}

TEST(cdc_typed_variable_scale_decimal)
{
    /* io.debezium.data.VariableScaleDecimal: each value carries its scale;
     * the column is a string of the exact digits. */
    const char *const vd = NAMED("struct", "io.debezium.data.VariableScaleDecimal")
        ",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},"
        "{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}]";
    CHECK_EQ_STR(one(vd, "{\"scale\":2,\"value\":\"MDk=\"}", NULL), "{\"v\":\"123.45\"}");
    CHECK_EQ_STR(one(vd, "{ \"value\" : \"+w==\" , \"scale\" : 3 }", NULL),
                 "{\"v\":\"-0.005\"}");
    CHECK_EQ_STR(one(vd, "{\"scale\":0,\"value\":\"AA==\"}", NULL), "{\"v\":\"0\"}");
    CHECK_EQ_STR(one(vd, "null", NULL), "{\"v\":null}");
    CHECK(strncmp(one(vd, "{\"scale\":-1,\"value\":\"AA==\"}", NULL),
                  "ERR: column 'v': expected a VariableScaleDecimal", 48) == 0);
    CHECK(strncmp(one(vd, "{\"scale\":1}", NULL),
                  "ERR: column 'v': expected a VariableScaleDecimal", 48) == 0);
    CHECK(strncmp(one(vd, "{\"scale\":1,\"value\":\"%%%\"}", NULL),
                  "ERR: column 'v': expected a VariableScaleDecimal", 48) == 0);
    CHECK(strncmp(one(vd, "\"1.5\"", NULL),
                  "ERR: column 'v': expected a VariableScaleDecimal", 48) == 0);
}
