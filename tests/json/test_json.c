/* Unit tests of src/json: the parser (valid and invalid documents, escapes,
 * UTF-8, limits, positions in errors), the accessors, the writers (strings,
 * integers, shortest doubles/floats) and allocation failures. */
#include "../test.h"

#include "../../src/common/dc_limits.h"
#include "../../src/json/dc_json.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define ARENA_MAX ((size_t)256 * 1024 * 1024)

/* Parses text (strlen) into *a; returns the root or NULL (err set). */
static const dc_json *parse(dc_arena *a, const char *text, dc_err *err)
{
    dc_json *v = NULL;
    if (dc_json_parse(&v, a, text, strlen(text), err) != 0) return NULL;
    return v;
}

/* Parses and writes back compactly; the result is a static copy. */
static const char *roundtrip(const char *text)
{
    static char out[4096];
    dc_err err;
    dc_arena a;
    dc_buf b;
    dc_arena_init(&a, ARENA_MAX);
    dc_buf_init(&b, 1 << 20);
    const dc_json *v = parse(&a, text, &err);
    snprintf(out, sizeof out, "(error %s)", v ? "" : err.msg);
    if (v && dc_json_write(&b, v, &err) == 0 && b.len < sizeof out) {
        memcpy(out, b.data, b.len);
        out[b.len] = '\0';
    }
    dc_buf_dispose(&b);
    dc_arena_dispose(&a);
    return out;
}

/* The (line, column, byte) an error message names, or false when it has none. */
static bool error_position(const char *msg, long *line, long *col, long *byte)
{
    const char *at = strstr(msg, " at line ");
    if (strncmp(msg, "json: ", 6) != 0 || !at) return false;
    return sscanf(at, " at line %ld column %ld (byte %ld)", line, col, byte) == 3;
}

/* Parsing n bytes must fail with `code` at the given 1-based line and column. */
static void check_fails_n(const char *text, size_t n, int code, long line, long col,
                          const char *file, int at_line)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    dc_json *v = NULL;
    const int rc = dc_json_parse(&v, &a, text, n, &err);
    long l = 0, c = 0, b = 0;
    if (rc != code)
        dc_test_fail(file, at_line, "parse of <%.60s> returned %d, expected %d (%s)", text, rc,
                     code, rc ? err.msg : "ok");
    else if (!error_position(err.msg, &l, &c, &b))
        dc_test_fail(file, at_line, "error without position: %s", err.msg);
    else if ((line && l != line) || (col && c != col))
        dc_test_fail(file, at_line, "<%.60s>: %s: expected line %ld column %ld", text, err.msg,
                     line, col);
    else if (v != NULL)
        dc_test_fail(file, at_line, "failed parse left *out set");
    dc_arena_dispose(&a);
}
#define CHECK_FAILS(text, line, col) \
    check_fails_n((text), strlen(text), DC_EINVAL, (line), (col), __FILE__, __LINE__)
#define CHECK_FAILS_N(text, n, line, col) \
    check_fails_n((text), (n), DC_EINVAL, (line), (col), __FILE__, __LINE__)

static void check_parses(const char *text, const char *file, int at_line)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    if (!parse(&a, text, &err)) dc_test_fail(file, at_line, "<%.60s>: %s", text, err.msg);
    dc_arena_dispose(&a);
}
#define CHECK_PARSES(text) check_parses((text), __FILE__, __LINE__)

/* --------------------------------------------------------------- parse */

TEST(json_scalars)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    const dc_json *v = parse(&a, " null ", &err);
    CHECK(v && v->type == DC_JSON_NULL);
    v = parse(&a, "true", &err);
    CHECK(v && v->type == DC_JSON_TRUE);
    v = parse(&a, "\tfalse\r\n", &err);
    CHECK(v && v->type == DC_JSON_FALSE);
    v = parse(&a, "-12.50e+3", &err);
    CHECK(v && v->type == DC_JSON_NUMBER && v->len == 9);
    CHECK_EQ_STR(v ? v->u.str : NULL, "-12.50e+3");
    v = parse(&a, "\"h\xc3\xa9llo\"", &err);
    CHECK_EQ_STR(dc_json_str(v), "h\xc3\xa9llo");
    CHECK(v && v->len == 6 && v->key == NULL);
    v = parse(&a, "[]", &err);
    CHECK(v && v->type == DC_JSON_ARRAY && v->len == 0);
    v = parse(&a, "{ }", &err);
    CHECK(v && v->type == DC_JSON_OBJECT && v->len == 0);
    CHECK(dc_json_get(v, "x") == NULL);
    CHECK(dc_json_str(NULL) == NULL);
    dc_arena_dispose(&a);
}

TEST(json_delta_commit_line)
{
    const char *line =
        "{\"add\":{\"path\":\"part-00000-a.snappy.parquet\",\"partitionValues\":{\"d\":\"2024\"},"
        "\"size\":1234,\"modificationTime\":1700000000000,\"dataChange\":true,"
        "\"stats\":\"{\\\"numRecords\\\":3}\",\"tags\":null}}";
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    const dc_json *v = parse(&a, line, &err);
    CHECK(v != NULL);
    const dc_json *add = dc_json_get(v, "add");
    CHECK(add && add->type == DC_JSON_OBJECT && add->len == 7);
    CHECK_EQ_STR(dc_json_str(dc_json_get(add, "path")), "part-00000-a.snappy.parquet");
    CHECK_EQ_STR(dc_json_str(dc_json_get(dc_json_get(add, "partitionValues"), "d")), "2024");
    int64_t size = 0, mtime = 0;
    CHECK_OK(dc_json_i64(&size, dc_json_get(add, "size"), "add.size", &err), &err);
    CHECK_EQ_INT(size, 1234);
    CHECK_OK(dc_json_i64(&mtime, dc_json_get(add, "modificationTime"), "m", &err), &err);
    CHECK_EQ_INT(mtime, 1700000000000LL);
    CHECK(dc_json_get(add, "dataChange")->type == DC_JSON_TRUE);
    CHECK(dc_json_get(add, "tags")->type == DC_JSON_NULL);
    CHECK_EQ_STR(dc_json_str(dc_json_get(add, "stats")), "{\"numRecords\":3}");
    /* Members are consecutive nodes, keys kept in order. */
    CHECK_EQ_STR(add->u.items[0].key, "path");
    CHECK_EQ_INT(add->u.items[0].key_len, 4);
    CHECK_EQ_STR(add->u.items[6].key, "tags");
    CHECK(dc_json_get(add, "missing") == NULL);
    CHECK(dc_json_get(add, "pat") == NULL);
    CHECK(dc_json_get(dc_json_get(add, "size"), "x") == NULL);
    CHECK_EQ_STR(roundtrip(line), line);
    dc_arena_dispose(&a);
}

TEST(json_duplicate_keys_last_wins)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    const dc_json *v = parse(&a, "{\"k\":1,\"j\":2,\"k\":3}", &err);
    CHECK(v && v->len == 3);
    int64_t k = 0;
    CHECK_OK(dc_json_i64(&k, dc_json_get(v, "k"), "k", &err), &err);
    CHECK_EQ_INT(k, 3);
    /* Keys may hold NUL: lookup by C string does not match them. */
    v = parse(&a, "{\"a\\u0000b\":1}", &err);
    CHECK(v && v->u.items[0].key_len == 3 && dc_json_get(v, "a") == NULL);
    dc_arena_dispose(&a);
}

TEST(json_nested_members_consecutive)
{
    /* Containers interleaved with scalars, and arrays larger than the initial
     * stack, must come out with the right members in the right order. */
    dc_buf b;
    dc_err err;
    dc_arena a;
    dc_buf_init(&b, 1 << 20);
    dc_arena_init(&a, ARENA_MAX);
    CHECK_OK(dc_buf_puts(&b, "[", &err), &err);
    for (int i = 0; i < 300; i++)
        CHECK_OK(dc_buf_appendf(&b, &err, "%s{\"i\":%d,\"sq\":[%d,%d],\"s\":\"x%d\"}",
                                i ? "," : "", i, i, i * i, i), &err);
    CHECK_OK(dc_buf_puts(&b, "]", &err), &err);
    dc_json *v = NULL;
    CHECK_OK(dc_json_parse(&v, &a, (const char *)b.data, b.len, &err), &err);
    CHECK(v && v->len == 300);
    for (uint32_t i = 0; v && i < v->len; i++) {
        const dc_json *o = &v->u.items[i];
        int64_t n = -1, sq = -1;
        CHECK_OK(dc_json_i64(&n, dc_json_get(o, "i"), "i", &err), &err);
        const dc_json *arr = dc_json_get(o, "sq");
        CHECK(arr && arr->len == 2);
        CHECK_OK(dc_json_i64(&sq, &arr->u.items[1], "sq", &err), &err);
        CHECK_EQ_INT(n, i);
        CHECK_EQ_INT(sq, (int64_t)i * i);
        char want[16];
        snprintf(want, sizeof want, "x%u", i);
        CHECK_EQ_STR(dc_json_str(dc_json_get(o, "s")), want);
    }
    dc_arena_dispose(&a);
    dc_buf_dispose(&b);
}

TEST(json_every_escape)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    const dc_json *v = parse(&a, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", &err);
    CHECK_EQ_STR(dc_json_str(v), "\"\\/\b\f\n\r\t");
    v = parse(&a, "\"a\\u0000b\"", &err);
    CHECK(v && v->len == 3 && memcmp(v->u.str, "a\0b", 4) == 0);
    v = parse(&a, "\"\\u0041\\u00e9\\u00E9\\u20ac\\uFFFF\\u007f\\u0080\\u07ff\\u0800\"", &err);
    CHECK_EQ_STR(dc_json_str(v), "A\xc3\xa9\xc3\xa9\xe2\x82\xac\xef\xbf\xbf\x7f\xc2\x80"
                                 "\xdf\xbf\xe0\xa0\x80");
    /* Surrogate pairs: U+1F600 and the extremes U+10000, U+10FFFF. */
    v = parse(&a, "\"x\\ud83d\\ude00y\\uD800\\uDC00\\udbff\\udfff\"", &err);
    CHECK_EQ_STR(dc_json_str(v), "x\xf0\x9f\x98\x80y\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
    /* Key with escapes. */
    v = parse(&a, "{\"\\u006b\\n\":true}", &err);
    CHECK(v && dc_json_get(v, "k\n") != NULL);
    dc_arena_dispose(&a);
}

TEST(json_bad_escapes_and_surrogates)
{
    CHECK_FAILS("\"\\x\"", 1, 2);
    CHECK_FAILS("\"\\U0041\"", 1, 2);
    CHECK_FAILS("\"\\'\"", 1, 2);
    CHECK_FAILS("\"ab\\u12\"", 1, 4);
    CHECK_FAILS("\"\\u12G4\"", 1, 2);
    CHECK_FAILS("\"\\u\"", 1, 2);
    CHECK_FAILS("\"\\ud800\"", 1, 2);          /* lone high */
    CHECK_FAILS("\"\\ud800x\"", 1, 2);
    CHECK_FAILS("\"\\ud800\\n\"", 1, 2);
    CHECK_FAILS("\"\\ud800\\u0041\"", 1, 2);   /* high + non-low */
    CHECK_FAILS("\"\\ud800\\ud800\"", 1, 2);   /* high + high */
    CHECK_FAILS("\"ok\\udc00\"", 1, 4);        /* lone low */
    CHECK_FAILS("\"\\ud800\\u", 1, 1);         /* unterminated */
    CHECK_FAILS("\"\\", 1, 1);
    CHECK_FAILS_N("\"\\\0\"", 4, 1, 2);
    CHECK_FAILS("\"\\\x01\"", 1, 2);
    CHECK_FAILS("\"\\\xc3\xa9\"", 1, 2);
}

TEST(json_utf8_validation)
{
    CHECK_PARSES("\"\xc2\x80\xdf\xbf\"");                  /* 2 bytes */
    CHECK_PARSES("\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\""); /* 3 bytes */
    CHECK_PARSES("\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"");  /* 4 bytes */
    CHECK_PARSES("\"\x7f\"");                              /* DEL needs no escape */
    CHECK_FAILS("\"\xc0\x80\"", 1, 2);                 /* overlong NUL */
    CHECK_FAILS("\"\xc1\xbf\"", 1, 2);                 /* overlong */
    CHECK_FAILS("\"ab\xe0\x80\x80\"", 1, 4);           /* overlong 3 */
    CHECK_FAILS("\"\xe0\x9f\xbf\"", 1, 2);
    CHECK_FAILS("\"\xf0\x80\x80\x80\"", 1, 2);         /* overlong 4 */
    CHECK_FAILS("\"\xf0\x8f\xbf\xbf\"", 1, 2);
    CHECK_FAILS("\"\xed\xa0\x80\"", 1, 2);             /* surrogate D800 */
    CHECK_FAILS("\"\xed\xbf\xbf\"", 1, 2);             /* surrogate DFFF */
    CHECK_FAILS("\"\xf4\x90\x80\x80\"", 1, 2);         /* U+110000 */
    CHECK_FAILS("\"\xf5\x80\x80\x80\"", 1, 2);
    CHECK_FAILS("\"\xff\"", 1, 2);
    CHECK_FAILS("\"\xfe\"", 1, 2);
    CHECK_FAILS("\"\x80\"", 1, 2);                     /* lone continuation */
    CHECK_FAILS("\"\xc3\"", 1, 2);                     /* truncated by the quote */
    CHECK_FAILS("\"\xe2\x82\"", 1, 2);
    CHECK_FAILS("\"\xf0\x9f\x98\"", 1, 2);
    CHECK_FAILS("\"\xe2\x82x\"", 1, 2);
    CHECK_FAILS_N("\"\xe2\x82", 3, 1, 2);              /* truncated by the end */
    CHECK_FAILS("\xef\xbb\xbf{}", 1, 1);               /* BOM is not JSON */
    CHECK_FAILS("{\"\xff\":1}", 1, 3);                 /* in a key */
}

TEST(json_valid_documents)
{
    static const char *const yes[] = {
        "[[] ]", "[\"\"]", "[]", "[\"a\"]", "[false]", "[null, 1, \"1\", {}]", "[1\n]",
        " [1]", "[1,null,null,null,2]", "[2] ", "[0e+1]", "[0e1]", "[ 4]", "[-0.000000000000000000000000000000000000000000000000000000000000000000000000000001]\n",
        "[20e1]", "[-0]", "[-1]", "[-123]", "[1E22]", "[1E-2]", "[1E+2]", "[123e45]",
        "[123.456e78]", "[1e-2]", "[1e+2]", "[123]", "[123.456789]", "[100000000000000000000]",
        "{\"asd\":\"sdf\", \"dfg\":\"fgh\"}", "{\"a\":[]}", "{\"\":0}", "{\"a\":\"b\",\"a\":\"c\"}",
        "[\"\\u0060\\u012a\\u12AB\"]", "[\"\\\\u0000\"]", "[\"new\\u00A0line\"]",
        "[\"\xf4\x8f\xbf\xbf\"]", "[\"\\u002c\"]", "[\"asd \"]", "[\"\\\"\"]", "[\"\\/\"]",
        "[\"a/*b*/c/*d//e\"]", "[\"\\u0012\"]", "[\"\\uFFFF\"]", "[\"\\uDBFF\\uDFFF\"]",
        "123", "-0.1", "\"asd\"", "null", "true", "false", " 1 ", "\"\"",
        "[[[[[[[[[[[[[[[[[[[[\"deep\"]]]]]]]]]]]]]]]]]]]]", "{\"a\":{\"b\":{\"c\":[1,{\"d\":null}]}}}",
        "[1.7976931348623157e308]", "[1e400]", "[-1e-400]", "\t\r\n [ \t\r\n ] \t\r\n",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) CHECK_PARSES(yes[i]);
}

TEST(json_invalid_documents)
{
    CHECK_FAILS("", 1, 1);
    CHECK_FAILS("   ", 1, 4);
    CHECK_FAILS("[1,]", 1, 4);                  /* trailing comma */
    CHECK_FAILS("{\"a\":1,}", 1, 8);
    CHECK_FAILS("[,1]", 1, 2);
    CHECK_FAILS("[1,,2]", 1, 4);
    CHECK_FAILS("[1 2]", 1, 4);
    CHECK_FAILS("{\"a\" 1}", 1, 6);
    CHECK_FAILS("{\"a\":}", 1, 6);
    CHECK_FAILS("{a:1}", 1, 2);                 /* unquoted key */
    CHECK_FAILS("{'a':1}", 1, 2);
    CHECK_FAILS("{1:1}", 1, 2);
    CHECK_FAILS("{\"a\":1", 1, 7);              /* unclosed */
    CHECK_FAILS("[1", 1, 3);
    CHECK_FAILS("[", 1, 2);
    CHECK_FAILS("]", 1, 1);
    CHECK_FAILS("[1]]", 1, 4);                  /* garbage after the value */
    CHECK_FAILS("{} x", 1, 4);
    CHECK_FAILS("1 2", 1, 3);
    CHECK_FAILS("[1]\n\n  x", 3, 3);
    CHECK_FAILS("01", 1, 1);                    /* leading zero */
    CHECK_FAILS("[-01]", 1, 2);
    CHECK_FAILS("[00]", 1, 2);
    CHECK_FAILS("1.", 1, 3);
    CHECK_FAILS("[1.]", 1, 4);
    CHECK_FAILS(".5", 1, 1);
    CHECK_FAILS("[.5]", 1, 2);
    CHECK_FAILS("-", 1, 2);
    CHECK_FAILS("[-]", 1, 3);
    CHECK_FAILS("+1", 1, 1);
    CHECK_FAILS("[1e]", 1, 4);
    CHECK_FAILS("[1e+]", 1, 5);
    CHECK_FAILS("[1E-x]", 1, 5);
    CHECK_FAILS("[1.e5]", 1, 4);
    CHECK_FAILS("[-.5]", 1, 3);
    CHECK_FAILS("[0x10]", 1, 3);
    CHECK_FAILS("[Infinity]", 1, 2);
    CHECK_FAILS("[NaN]", 1, 2);
    CHECK_FAILS("[-Infinity]", 1, 3);
    CHECK_FAILS("[1_000]", 1, 3);
    CHECK_FAILS("[tru]", 1, 2);
    CHECK_FAILS("[truex]", 1, 6);
    CHECK_FAILS("nul", 1, 1);
    CHECK_FAILS("True", 1, 1);
    CHECK_FAILS("\"abc", 1, 1);                 /* unterminated string */
    CHECK_FAILS("[\"abc]", 1, 2);
    CHECK_FAILS("\"a\nb\"", 1, 3);              /* raw control characters */
    CHECK_FAILS("\"a\tb\"", 1, 3);
    CHECK_FAILS("\"\x1f\"", 1, 2);
    CHECK_FAILS_N("\"a\0b\"", 5, 1, 3);
    CHECK_FAILS_N("[1]\0", 4, 1, 4);
    CHECK_FAILS_N("\0", 1, 1, 1);
    CHECK_FAILS("['a']", 1, 2);
    CHECK_FAILS("[\"a\" // c\n]", 1, 6);        /* no comments */
    CHECK_FAILS("/* c */ 1", 1, 1);
    CHECK_FAILS("[\f1]", 1, 2);                 /* form feed is not whitespace */
    CHECK_FAILS("[\v1]", 1, 2);
    CHECK_FAILS("[\xc2\xa0 1]", 1, 2);          /* nor is NBSP */
    CHECK_FAILS("{\"a\":1}{}", 1, 8);
    CHECK_FAILS("{\n  \"a\": [1, 2,\n    3,]\n}", 3, 7);
}

TEST(json_nesting_limit)
{
    char doc[2 * DC_JSON_MAX_DEPTH + 8];
    for (int d = DC_JSON_MAX_DEPTH; d <= DC_JSON_MAX_DEPTH + 1; d++) {
        memset(doc, '[', (size_t)d);
        memset(doc + d, ']', (size_t)d);
        doc[2 * d] = '\0';
        dc_err err;
        dc_arena a;
        dc_arena_init(&a, ARENA_MAX);
        const dc_json *v = parse(&a, doc, &err);
        if (d == DC_JSON_MAX_DEPTH) {
            CHECK(v != NULL);
            dc_buf b;
            dc_buf_init(&b, 1 << 20);
            CHECK_OK(dc_json_write(&b, v, &err), &err);
            CHECK(b.len == (size_t)2 * d && memcmp(b.data, doc, b.len) == 0);
            dc_buf_dispose(&b);
        } else {
            CHECK(v == NULL && err.code == DC_ELIMIT);
            long l, c, byte;
            CHECK(error_position(err.msg, &l, &c, &byte) && byte == DC_JSON_MAX_DEPTH);
        }
        dc_arena_dispose(&a);
    }
    /* Unclosed deep nesting: an error, not a crash. */
    char deep[100001];
    for (size_t i = 0; i < sizeof deep - 1; i++) deep[i] = i % 2 ? '[' : '{';
    deep[sizeof deep - 1] = '\0';
    check_fails_n(deep, strlen(deep), DC_EINVAL, 1, 2, __FILE__, __LINE__);
    memset(deep, '[', sizeof deep - 1);
    check_fails_n(deep, strlen(deep), DC_ELIMIT, 1, DC_JSON_MAX_DEPTH + 1, __FILE__, __LINE__);
}

TEST(json_arena_limit)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, 4096);
    char doc[20001];
    doc[0] = '[';
    for (int i = 0; i < 5000; i++) memcpy(doc + 1 + 4 * i, "1,2,", 4);
    doc[20000 - 1] = ']';
    doc[20000] = '\0';
    dc_json *v = NULL;
    CHECK_EQ_INT(dc_json_parse(&v, &a, doc, 20000, &err), DC_ELIMIT);
    CHECK(v == NULL);
    CHECK(strstr(err.msg, "json") != NULL);
    dc_arena_dispose(&a);
}

/* ------------------------------------------------------------ accessors */

TEST(json_i64_boundaries)
{
    static const struct {
        const char *text;
        int64_t want;
    } ok[] = {
        {"0", 0}, {"-0", 0}, {"7", 7}, {"-7", -7},
        {"9223372036854775807", INT64_MAX}, {"-9223372036854775808", INT64_MIN},
        {"9223372036854775806", INT64_MAX - 1}, {"-9223372036854775807", INT64_MIN + 1},
    };
    static const char *const bad[] = {
        "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "99999999999999999999999", "1.0", "1e2", "-0.0", "1E0", "\"1\"", "null", "true", "[1]",
    };
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = 42;
        CHECK_OK(dc_json_i64(&v, parse(&a, ok[i].text, &err), "n", &err), &err);
        CHECK(v == ok[i].want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        CHECK_EQ_INT(dc_json_i64(&v, parse(&a, bad[i], &err), "add.size", &err), DC_EINVAL);
        CHECK(strstr(err.msg, "add.size") != NULL);
        CHECK_EQ_INT(v, 42);
    }
    CHECK_EQ_INT(dc_json_i64(&(int64_t){0}, NULL, "add.size", &err), DC_EINVAL);
    CHECK(strstr(err.msg, "add.size: missing") != NULL);
    dc_arena_dispose(&a);
}

TEST(json_f64_reading)
{
    static const char *const nums[] = {
        "0", "-0", "1.5", "0.1", "1e308", "1.7976931348623157e308", "4.9e-324", "2.2250738585072014e-308",
        "123456789012345678901234567890", "-3.14159265358979323846", "1E-7", "9007199254740993",
    };
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        double d = 0, want = strtod(nums[i], NULL);
        CHECK_OK(dc_json_f64(&d, parse(&a, nums[i], &err), "x", &err), &err);
        CHECK(memcmp(&d, &want, sizeof d) == 0);
    }
    double d = 0;
    CHECK_OK(dc_json_f64(&d, parse(&a, "1e400", &err), "x", &err), &err);
    CHECK(isinf(d) && d > 0);
    CHECK_OK(dc_json_f64(&d, parse(&a, "\"NaN\"", &err), "x", &err), &err);
    CHECK(isnan(d));
    CHECK_OK(dc_json_f64(&d, parse(&a, "\"-Infinity\"", &err), "x", &err), &err);
    CHECK(isinf(d) && d < 0);
    CHECK_EQ_INT(dc_json_f64(&d, parse(&a, "\"1.5\"", &err), "stats.min", &err), DC_EINVAL);
    CHECK(strstr(err.msg, "stats.min") != NULL);
    CHECK_EQ_INT(dc_json_f64(&d, parse(&a, "false", &err), "x", &err), DC_EINVAL);
    CHECK_EQ_INT(dc_json_f64(&d, NULL, "x", &err), DC_EINVAL);
    dc_arena_dispose(&a);
}

/* -------------------------------------------------------------- writing */

static const char *put_str(const char *s, size_t n)
{
    static char out[8192];
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    out[0] = '\0';
    if (dc_json_put_str(&b, s, n, &err) == 0 && b.len < sizeof out) {
        memcpy(out, b.data, b.len);
        out[b.len] = '\0';
    }
    dc_buf_dispose(&b);
    return out;
}

TEST(json_put_str_escapes)
{
    CHECK_EQ_STR(put_str("", 0), "\"\"");
    CHECK_EQ_STR(put_str(NULL, 0), "\"\"");
    CHECK_EQ_STR(put_str("plain", 5), "\"plain\"");
    CHECK_EQ_STR(put_str("a\"b\\c/d", 7), "\"a\\\"b\\\\c/d\"");
    CHECK_EQ_STR(put_str("\b\f\n\r\t", 5), "\"\\b\\f\\n\\r\\t\"");
    CHECK_EQ_STR(put_str("\x00\x01\x1f\x7f", 4), "\"\\u0000\\u0001\\u001f\x7f\"");
    CHECK_EQ_STR(put_str("\xc3\xa9\xf0\x9f\x98\x80", 6), "\"\xc3\xa9\xf0\x9f\x98\x80\"");
    /* Every byte < 0x80 (and a UTF-8 tail) survives put_str → parse. */
    char all[140];
    for (int i = 0; i < 128; i++) all[i] = (char)i;
    memcpy(all + 128, "\xe2\x82\xac", 3);
    const char *text = put_str(all, 131);
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    const dc_json *v = parse(&a, text, &err);
    CHECK(v && v->type == DC_JSON_STRING && v->len == 131 && memcmp(v->u.str, all, 131) == 0);
    dc_arena_dispose(&a);
}

TEST(json_put_integers)
{
    static const int64_t edge[] = {0, 1, -1, 9, 10, 99, 100, -100, 12345, INT32_MAX, INT32_MIN,
                                   INT64_MAX, INT64_MIN, INT64_MIN + 1, 1000000000000000000LL};
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    char want[32];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const int64_t s = i < (int)(sizeof edge / sizeof edge[0]) ? edge[i]
                                                                  : (int64_t)(x >> (x % 64));
        const uint64_t u = i < 3 ? (uint64_t)i * UINT64_MAX / 2 : x >> (x % 61);
        dc_buf_reset(&b);
        CHECK_OK(dc_json_put_i64(&b, i % 2 ? -s / 3 : s, &err), &err);
        snprintf(want, sizeof want, "%lld", (long long)(i % 2 ? -s / 3 : s));
        CHECK(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0);
        dc_buf_reset(&b);
        CHECK_OK(dc_json_put_u64(&b, u, &err), &err);
        snprintf(want, sizeof want, "%llu", (unsigned long long)u);
        CHECK(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0);
    }
    dc_buf_reset(&b);
    CHECK_OK(dc_json_put_u64(&b, UINT64_MAX, &err), &err);
    CHECK(b.len == 20 && memcmp(b.data, "18446744073709551615", 20) == 0);
    dc_buf_dispose(&b);
}

static const char *put_f64(double v)
{
    static char out[64];
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    out[0] = '\0';
    if (dc_json_put_f64(&b, v, &err) == 0 && b.len < sizeof out) {
        memcpy(out, b.data, b.len);
        out[b.len] = '\0';
    }
    dc_buf_dispose(&b);
    return out;
}

static const char *put_f32(float v)
{
    static char out[64];
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    out[0] = '\0';
    if (dc_json_put_f32(&b, v, &err) == 0 && b.len < sizeof out) {
        memcpy(out, b.data, b.len);
        out[b.len] = '\0';
    }
    dc_buf_dispose(&b);
    return out;
}

TEST(json_put_f64_known)
{
    CHECK_EQ_STR(put_f64(0.0), "0.0");
    CHECK_EQ_STR(put_f64(-0.0), "-0.0");
    CHECK_EQ_STR(put_f64(1.5), "1.5");
    CHECK_EQ_STR(put_f64(3.0), "3.0");
    CHECK_EQ_STR(put_f64(-42.0), "-42.0");
    CHECK_EQ_STR(put_f64(0.1), "0.1");
    CHECK_EQ_STR(put_f64(0.1 + 0.2), "0.30000000000000004");
    CHECK_EQ_STR(put_f64(1e300), "1e+300");
    CHECK_EQ_STR(put_f64(1e-7), "1e-07");
    CHECK_EQ_STR(put_f64(123456789012.0), "123456789012.0");
    CHECK_EQ_STR(put_f64(1e16), "1e+16");
    CHECK_EQ_STR(put_f64(DBL_MAX), "1.7976931348623157e+308");
    CHECK_EQ_STR(put_f64(DBL_MIN), "2.2250738585072014e-308");
    CHECK_EQ_STR(put_f64(5e-324), "5e-324");
    CHECK_EQ_STR(put_f64(1e-310), "1e-310");
    CHECK_EQ_STR(put_f64(NAN), "\"NaN\"");
    CHECK_EQ_STR(put_f64(INFINITY), "\"Infinity\"");
    CHECK_EQ_STR(put_f64(-INFINITY), "\"-Infinity\"");
    CHECK_EQ_STR(put_f32(0.1f), "0.1");
    CHECK_EQ_STR(put_f32(-0.0f), "-0.0");
    CHECK_EQ_STR(put_f32(16777216.0f), "16777216.0");
    CHECK_EQ_STR(put_f32(FLT_MAX), "3.4028235e+38");
    CHECK_EQ_STR(put_f32(1e-45f), "1e-45");
    CHECK_EQ_STR(put_f32(1.0f / 3.0f), "0.33333334");
    CHECK_EQ_STR(put_f32(NAN), "\"NaN\"");
    CHECK_EQ_STR(put_f32(-INFINITY), "\"-Infinity\"");
}

/* Significant digits of a number text: leading and trailing zeros excluded. */
static int significant_digits(const char *t)
{
    int first = -1, last = -1, i = 0;
    for (; *t && *t != 'e'; t++) {
        if (*t < '0' || *t > '9') continue;
        if (*t != '0') {
            if (first < 0) first = i;
            last = i;
        }
        i++;
    }
    return first < 0 ? 1 : last - first + 1;
}

/* put then read back: identical bits; the text is a JSON number that
 * dc_json_f64 reads back too; one digit fewer does not read back (shortest). */
TEST(json_put_float_round_trip_random_bits)
{
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    uint64_t x = 0x243f6a8885a308d3ULL;
    int checked = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof d);
        if (i % 4 == 1) d = (double)(int64_t)(x >> 20) / 1024.0; /* dyadic, short */
        if (i % 4 == 2) d = (double)(x % 1000000) / 1000.0;      /* decimal-looking */
        float f;
        const uint32_t fx = (uint32_t)(x >> 32);
        memcpy(&f, &fx, sizeof f);
        if (isfinite(d)) {
            const char *t = put_f64(d);
            const double back = strtod(t, NULL);
            CHECK(memcmp(&back, &d, sizeof d) == 0);
            const int k = significant_digits(t);
            char shorter[512];
            snprintf(shorter, sizeof shorter, "%.*g", k - 1, d);
            CHECK(k <= 17 && (k == 1 || strtod(shorter, NULL) != d));
            if (i % 64 == 0) {
                double via = 0;
                CHECK_OK(dc_json_f64(&via, parse(&a, t, &err), "x", &err), &err);
                CHECK(memcmp(&via, &d, sizeof d) == 0);
                dc_arena_reset(&a);
            }
            checked++;
        }
        if (isfinite(f)) {
            const char *t = put_f32(f);
            const float back = strtof(t, NULL);
            CHECK(memcmp(&back, &f, sizeof f) == 0);
            const int k = significant_digits(t);
            char shorter[512];
            snprintf(shorter, sizeof shorter, "%.*g", k - 1, (double)f);
            CHECK(k <= 9 && (k == 1 || strtof(shorter, NULL) != f));
            if (i % 64 == 0) {
                CHECK(parse(&a, t, &err) != NULL);
                dc_arena_reset(&a);
            }
        }
    }
    CHECK(checked > 190000);
    dc_arena_dispose(&a);
}

TEST(json_numbers_ignore_locale)
{
    /* Only meaningful where a comma-decimal locale is installed; harmless elsewhere. */
    const char *names[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "fr_FR"};
    const char *set = NULL;
    for (size_t i = 0; i < 4 && !set; i++) set = setlocale(LC_NUMERIC, names[i]);
    CHECK_EQ_STR(put_f64(1.5), "1.5");
    CHECK_EQ_STR(put_f32(2.25f), "2.25");
    dc_err err;
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    double d = 0;
    CHECK_OK(dc_json_f64(&d, parse(&a, "1.25", &err), "x", &err), &err);
    CHECK(d == 1.25);
    dc_arena_dispose(&a);
    setlocale(LC_NUMERIC, "C");
}

TEST(json_write_round_trip)
{
    CHECK_EQ_STR(roundtrip(" { \"a\" : [ 1 , 2.50 , -0 , 1E+2 ] , \"b\" : { } , \"c\":[ ] } "),
                 "{\"a\":[1,2.50,-0,1E+2],\"b\":{},\"c\":[]}");
    CHECK_EQ_STR(roundtrip("\"\\u00e9\\/\\u0001\\ud83d\\ude00\""),
                 "\"\xc3\xa9/\\u0001\xf0\x9f\x98\x80\"");
    CHECK_EQ_STR(roundtrip("[true,false,null,\"\"]"), "[true,false,null,\"\"]");
    CHECK_EQ_STR(roundtrip("{\"k\\n\":\"v\\\"\",\"k\\n\":1}"), "{\"k\\n\":\"v\\\"\",\"k\\n\":1}");
    const char *schema =
        "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":false,"
        "\"metadata\":{}},{\"name\":\"amount\",\"type\":\"decimal(10,2)\",\"nullable\":true,"
        "\"metadata\":{\"comment\":\"\xe2\x82\xac\"}}]}";
    CHECK_EQ_STR(roundtrip(schema), schema);
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    CHECK_EQ_INT(dc_json_write(&b, NULL, &err), DC_EINVAL);
    dc_buf_dispose(&b);
    dc_buf_init(&b, 8); /* the buffer maximum is honoured */
    dc_arena a;
    dc_arena_init(&a, ARENA_MAX);
    CHECK_EQ_INT(dc_json_write(&b, parse(&a, "[1,2,3,4,5,6]", &err), &err), DC_ELIMIT);
    dc_arena_dispose(&a);
    dc_buf_dispose(&b);
}

/* --------------------------------------------------- allocation failure */

TEST(json_alloc_failure_injection)
{
    dc_buf doc;
    dc_err err;
    dc_buf_init(&doc, 1 << 20);
    CHECK_OK(dc_buf_puts(&doc, "{\"commitInfo\":{\"op\":\"WRITE\\n\",\"x\":[", &err), &err);
    for (int i = 0; i < 150; i++)
        CHECK_OK(dc_buf_appendf(&doc, &err, "%s{\"k\\u00e9%d\":[%d,\"s\\t\",null]}", i ? "," : "",
                                i, i), &err);
    CHECK_OK(dc_buf_puts(&doc, "]}}", &err), &err);
    int successes = 0;
    for (long n = 1; n < 5000 && !successes; n++) {
        dc_arena a;
        dc_arena_init(&a, ARENA_MAX);
        dc_json *v = NULL;
        dc_alloc_fail_after(n);
        const int rc = dc_json_parse(&v, &a, (const char *)doc.data, doc.len, &err);
        dc_buf out;
        dc_buf_init(&out, 1 << 20);
        int wrc = rc;
        if (rc == 0) wrc = dc_json_write(&out, v, &err);
        const long calls = dc_alloc_count();
        dc_alloc_fail_after(0);
        CHECK(rc == 0 || rc == DC_ENOMEM);
        CHECK(wrc == 0 || wrc == DC_ENOMEM);
        CHECK((rc == 0) == (v != NULL));
        if (rc == DC_ENOMEM) CHECK(strstr(err.msg, "json") != NULL);
        if (calls < n) { /* nothing failed: the full result must be right */
            CHECK_EQ_INT(wrc, 0);
            CHECK(out.len > 1000);
            successes++;
        }
        dc_buf_dispose(&out);
        dc_arena_dispose(&a);
    }
    CHECK_EQ_INT(successes, 1);
    dc_buf_dispose(&doc);
}
