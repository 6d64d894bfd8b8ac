/* The completeness monitor's canonical row text (monitor_canon.c) against
 * what MariaDB 10.11's SQL (mysql_canon.c's expressions) printed for the
 * same values: the expected strings below were recorded from the server, for
 * every type of the typed table (the workload's all-types table,
 * tests/interop/mariadb_workload.py); tests/interop/test_check_completeness.py
 * compares the two sides end to end. */
#include "../test.h"

#include "../../src/monitor/monitor.h"

static dc_mysql_column col(const char *dt, dc_mysql_enc enc)
{
    dc_mysql_column c;
    memset(&c, 0, sizeof c);
    c.name = (char *)"c";
    c.data_type = (char *)dt;
    c.column_type = (char *)dt;
    c.enc = enc;
    return c;
}

/* The canonical text of one JSON value for column c. */
static const char *canon(dc_buf *b, dc_arena *a, dc_mysql_column c, const char *json)
{
    static dc_err err; /* its message outlives the call */
    dc_err_clear(&err);
    dc_json *v = NULL;
    bool is_null = false;
    dc_buf_reset(b);
    dc_arena_reset(a);
    if (dc_json_parse(&v, a, json, strlen(json), &err) < 0 ||
        dc_monitor_canon_value(b, &is_null, &c, v, &err) < 0)
        return err.msg;
    if (is_null) return "(null)";
    if (dc_buf_putc(b, 0, &err) < 0) return err.msg;
    return (const char *)b->data;
}

#define CANON(dt, enc, json, want) \
    CHECK_EQ_STR(canon(&b, &a, col(dt, enc), json), want)

TEST(monitor_canon_double_as_mariadb_prints_it)
{
    static const struct { double d; const char *want; } cases[] = {
        {(double)3.14f, "3.140000104904175"}, {2.718281828459045, "2.718281828459045"},
        {(double)3.40282e38f, "3.402820018375656e38"},
        {1.7976931348623157e308, "1.7976931348623157e308"},
        {(double)-1.17549e-38f, "-1.1754900067970481e-38"},
        {-2.2250738585072014e-308, "-2.2250738585072014e-308"}, {1e-300, "1e-300"},
        {0, "0"}, {1e-5, "0.00001"}, {1e-4, "0.0001"},
        {123456789012345678.0, "1.2345678901234568e17"}, {1e15, "1e15"}, {1e16, "1e16"},
        {1.5e16, "1.5e16"}, {0.000123, "0.000123"}, {1.23e-15, "0.00000000000000123"},
        {123456789012345.6, "123456789012345.6"}, {1.23e-16, "1.23e-16"},
        {1e-15, "0.000000000000001"}, {1234567890123456.7, "1234567890123456.8"},
        {12345678901234567.0, "1.2345678901234568e16"}, {100, "100"}, {0.1, "0.1"},
        {1e100, "1e100"}, {-5e-324, "-5e-324"}, {1.23e15, "1.23e15"},
        {123e12, "123000000000000"}, {16777216, "16777216"},
    };
    dc_buf b;
    dc_buf_init(&b, 1 << 10);
    dc_err err;
    dc_err_clear(&err);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dc_buf_reset(&b);
        CHECK_EQ_INT(dc_monitor_canon_double(&b, cases[i].d, &err), 0);
        CHECK_EQ_INT(dc_buf_putc(&b, 0, &err), 0);
        CHECK_EQ_STR((const char *)b.data, cases[i].want);
    }
    dc_buf_dispose(&b);
}

TEST(monitor_canon_each_type_as_mariadb)
{
    dc_buf b;
    dc_arena a;
    dc_buf_init(&b, 1 << 20);
    dc_arena_init(&a, 1 << 20);
    CANON("int", DC_MYSQL_ENC_INT, "-2147483648", "-2147483648");
    CANON("bigint", DC_MYSQL_ENC_DECIMAL, "\"18446744073709551615\"", "18446744073709551615");
    CANON("decimal", DC_MYSQL_ENC_DECIMAL, "\"-3.141592653589793238462643383279\"",
          "-3.141592653589793238462643383279");
    CANON("decimal", DC_MYSQL_ENC_DECIMAL, "\"1234.50\"", "1234.50");
    CANON("year", DC_MYSQL_ENC_YEAR, "2155", "2155");
    CANON("float", DC_MYSQL_ENC_FLOAT, "3.14", "3.140000104904175");
    CANON("float", DC_MYSQL_ENC_FLOAT, "3.40282e+38", "3.402820018375656e38");
    CANON("double", DC_MYSQL_ENC_FLOAT, "1e-300", "1e-300");
    CANON("tinyint", DC_MYSQL_ENC_BIT1, "true", "1");
    CANON("bit", DC_MYSQL_ENC_BIT1, "false", "0");
    CANON("bit", DC_MYSQL_ENC_BITS, "\"qgo=\"", "2730");  /* b'101010101010' */
    CANON("bit", DC_MYSQL_ENC_BITS, "\"/w8=\"", "4095");
    CANON("varchar", DC_MYSQL_ENC_STRING, "\"h\\u00e9llo w\\u00f6rld\"", "h\xc3\xa9llo w\xc3\xb6rld");
    CANON("set", DC_MYSQL_ENC_STRING, "[\"a\",\"c\"]", "a,c");
    CANON("set", DC_MYSQL_ENC_STRING, "[]", "");
    CANON("binary", DC_MYSQL_ENC_BYTES, "\"AP8Qqw==\"", "00FF10AB");
    CANON("blob", DC_MYSQL_ENC_BYTES, "\"\"", "");
    CANON("date", DC_MYSQL_ENC_DATE, "\"2024-02-29\"", "2024-02-29");
    CANON("date", DC_MYSQL_ENC_DATE, "19782", "2024-02-29");
    CANON("datetime", DC_MYSQL_ENC_DATETIME_MS, "\"2024-03-01T12:34:56.789000\"",
          "2024-03-01 12:34:56.789000");
    CANON("datetime", DC_MYSQL_ENC_DATETIME_MS, "1709296496789", "2024-03-01 12:34:56.789000");
    CANON("datetime", DC_MYSQL_ENC_DATETIME_MS, "-2147483647999", "1901-12-13 20:45:52.001000");
    CANON("datetime", DC_MYSQL_ENC_DATETIME_US, "\"9999-12-31T23:59:59.999999\"",
          "9999-12-31 23:59:59.999999");
    CANON("timestamp", DC_MYSQL_ENC_TIMESTAMP, "\"2038-01-19T03:14:07.999999Z\"",
          "2038-01-19 03:14:07.999999");
    CANON("timestamp", DC_MYSQL_ENC_TIMESTAMP, "\"1970-01-01T00:00:01Z\"",
          "1970-01-01 00:00:01.000000");
    CANON("time", DC_MYSQL_ENC_TIME, "-3723456789", "-3723456789");
    CANON("time", DC_MYSQL_ENC_TIME, "\"-01:02:03.456789\"", "-3723456789");
    CANON("time", DC_MYSQL_ENC_TIME, "\"838:59:59.000000\"", "3020399000000");
    CANON("point", DC_MYSQL_ENC_POINT,
          "{\"x\":13.4,\"y\":52.5,\"wkb\":\"AQEAAADNzMzMzMwqQAAAAAAAQEpA\",\"srid\":4326}",
          "E61000000101000000CDCCCCCCCCCC2A400000000000404A40");
    CANON("point", DC_MYSQL_ENC_POINT,
          "{\"x\":180.0,\"y\":90.0,\"wkb\":\"AQEAAAAAAAAAAIBmQAAAAAAAgFZA\",\"srid\":null}",
          "00000000010100000000000000008066400000000000805640");
    CANON("int", DC_MYSQL_ENC_INT, "null", "(null)");
    /* a value of the wrong kind names the column, not a crash */
    CHECK(strstr(canon(&b, &a, col("date", DC_MYSQL_ENC_DATE), "[1]"), "column 'c'") != NULL);
    CHECK(strstr(canon(&b, &a, col("datetime", DC_MYSQL_ENC_DATETIME_US), "{}"), "column 'c'"));
    CHECK(strstr(canon(&b, &a, col("point", DC_MYSQL_ENC_POINT), "{\"x\":1}"), "column 'c'"));
    dc_arena_dispose(&a);
    dc_buf_dispose(&b);
}

/* A table of n columns named by names, and what computing its texts needs. */
typedef struct canon_fx {
    dc_mysql_table t;           /* cols borrowed */
    dc_buf out, val;            /* the text, scratch */
    dc_arena a;                 /* parsed rows */
    dc_err err;
} canon_fx;

static void fx_init(canon_fx *f, dc_mysql_column *cols, const char *const *names, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) cols[i].name = (char *)names[i];
    memset(f, 0, sizeof *f);
    f->t.cols = cols;
    f->t.n_cols = n;
    dc_buf_init(&f->out, 1 << 20);
    dc_buf_init(&f->val, 1 << 20);
    dc_arena_init(&f->a, 1 << 20);
    dc_err_clear(&f->err);
}

static dc_json *fx_row(canon_fx *f, const char *json)
{
    dc_json *row = NULL;
    CHECK_EQ_INT(dc_json_parse(&row, &f->a, json, strlen(json), &f->err), 0);
    return row;
}

static void fx_dispose(canon_fx *f)
{
    dc_arena_dispose(&f->a);
    dc_buf_dispose(&f->out);
    dc_buf_dispose(&f->val);
}

TEST(monitor_canon_row_text_and_hash_as_mariadb)
{
    dc_mysql_column cols[3] = {col("int", DC_MYSQL_ENC_INT), col("varchar", DC_MYSQL_ENC_STRING),
                               col("int", DC_MYSQL_ENC_INT)};
    static const char *const names[3] = {"id", "s", "n"};
    canon_fx f;
    fx_init(&f, cols, names, 3);
    dc_json *row = fx_row(&f, "{\"id\":1,\"s\":\"h\\u00e9llo\",\"n\":null,\"__op\":\"r\"}");
    CHECK_EQ_INT(dc_monitor_canon_row(&f.out, &f.val, &f.t, row, &f.err), 0);
    CHECK_EQ_INT((int)f.out.len, 12);
    CHECK(memcmp(f.out.data, "1:16:h\xc3\xa9lloN", 12) == 0);
    /* SELECT CAST(CONV(LEFT(MD5('1:16:hélloN'), 16), 16, 10) AS UNSIGNED) */
    CHECK(dc_monitor_canon_hash(f.out.data, f.out.len) == 15452078901316072178ull);
    CHECK(dc_monitor_canon_hash("", 0) == 15284527576400310788ull);
    /* "a" + NULL and "" + "aN"-like texts can not collide: lengths prefix values */
    dc_json *r2 = fx_row(&f, "{\"id\":1,\"s\":\"h\\u00e9lloN\"}");
    CHECK_EQ_INT(dc_monitor_canon_row(&f.val, &f.out, &f.t, r2, &f.err), 0);
    CHECK(f.val.len != 12 || memcmp(f.val.data, "1:16:h\xc3\xa9lloN", 12) != 0);
    fx_dispose(&f);
}

/* The key's text: the key columns in key order (not the table's), each
 * "<bytes>:<text>" as in a row, for every kind a typed table takes as a key
 * (integer, string, date, decimal, binary); its hash as MariaDB printed
 * SELECT CAST(CONV(LEFT(MD5(text), 16), 16, 10) AS UNSIGNED) (and % 7, a
 * bucket of seven). */
TEST(monitor_canon_key_text_and_bucket_as_mariadb)
{
    dc_mysql_column cols[6] = {col("varchar", DC_MYSQL_ENC_STRING), col("int", DC_MYSQL_ENC_INT),
                               col("varchar", DC_MYSQL_ENC_STRING), col("date", DC_MYSQL_ENC_DATE),
                               col("decimal", DC_MYSQL_ENC_DECIMAL),
                               col("varbinary", DC_MYSQL_ENC_BYTES)};
    static const char *const names[6] = {"code", "n", "note", "d", "amt", "tag"};
    canon_fx f;
    fx_init(&f, cols, names, 6);
    dc_mysql_table *t = &f.t;
    dc_buf *out = &f.out;
    t->n_pk = 2;
    t->pk[0] = 1; /* PRIMARY KEY (n, code) */
    t->pk[1] = 0;
    dc_json *row = fx_row(&f, "{\"code\":\"c10\\u00e9\",\"n\":10,\"note\":\"x\",\"d\":19782,"
                              "\"amt\":\"12.50\",\"tag\":\"AAAAAQ==\",\"__source_pos\":\"f.1:2:0\"}");
    CHECK_EQ_INT(dc_monitor_canon_key(out, &f.val, t, row, &f.err), 0);
    CHECK_EQ_INT((int)out->len, 11);
    CHECK(memcmp(out->data, "2:105:c10\xc3\xa9", 11) == 0);
    CHECK(dc_monitor_canon_hash(out->data, out->len) == 8069937023389639079ull);
    CHECK(dc_monitor_canon_hash(out->data, out->len) % 7 == 3);
    /* a string key alone: the text without a length is not the key's text */
    t->n_pk = 1;
    t->pk[0] = 0;
    CHECK_EQ_INT(dc_monitor_canon_key(out, &f.val, t, row, &f.err), 0);
    CHECK_EQ_INT((int)out->len, 7);
    CHECK(memcmp(out->data, "5:c10\xc3\xa9", 7) == 0);
    /* MariaDB, for 'c10é' in a latin1 column (LENGTH 4 there): the hash of
     * CONCAT(LENGTH(CONVERT(c USING utf8mb4)), ':', CONVERT(c USING utf8mb4)) */
    CHECK(dc_monitor_canon_hash(out->data, out->len) == 16533050122404127719ull);
    /* PRIMARY KEY (d, amt, tag): date, decimal with its scale, binary in hex */
    t->n_pk = 3;
    t->pk[0] = 3;
    t->pk[1] = 4;
    t->pk[2] = 5;
    CHECK_EQ_INT(dc_monitor_canon_key(out, &f.val, t, row, &f.err), 0);
    CHECK_EQ_INT((int)out->len, 30);
    CHECK(memcmp(out->data, "10:2024-02-295:12.508:00000001", 30) == 0);
    CHECK(dc_monitor_canon_hash(out->data, out->len) == 11462543330154728288ull);
    /* a key value of the wrong kind names its column */
    row = fx_row(&f, "{\"code\":\"c\",\"n\":1,\"d\":[1],\"amt\":\"1.00\",\"tag\":\"\"}");
    CHECK(dc_monitor_canon_key(out, &f.val, t, row, &f.err) < 0);
    CHECK(strstr(f.err.msg, "column 'd'") != NULL);
    fx_dispose(&f);
}
