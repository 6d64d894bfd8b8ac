/* src/mysql without a server: the text protocol's values of each column kind
 * → Debezium's after image, the schema block → src/cdc's typed columns, and
 * the image decoded by src/cdc into the typed row (the one mapping). */
#include "../test.h"

#include "../../src/cdc/cdc.h"
#include "../../src/mysql/mysql.h"

/* One column of a fake table. */
static dc_mysql_column col(const char *name, const char *dt, const char *ct, dc_mysql_enc enc,
                           int64_t prec, int64_t scale, int64_t dtp)
{
    dc_mysql_column c;
    memset(&c, 0, sizeof c);
    c.name = (char *)name;
    c.data_type = (char *)dt;
    c.column_type = (char *)ct;
    c.nullable = true;
    c.is_unsigned = strstr(ct, "unsigned") != NULL;
    c.precision = prec;
    c.scale = scale;
    c.dt_precision = dtp;
    c.enc = enc;
    return c;
}

/* The image of one row of one column. */
static int image1(dc_buf *out, dc_mysql_column c, const char *v, unsigned long n, dc_err *err)
{
    dc_mysql_table t;
    memset(&t, 0, sizeof t);
    t.cols = &c;
    t.n_cols = 1;
    char *row[1] = {(char *)v};
    unsigned long lens[1] = {n};
    dc_buf_reset(out);
    return dc_mysql_image(out, &t, row, lens, err);
}

#define IMG(c, v, want)                                                                   \
    do {                                                                                  \
        CHECK_EQ_INT(image1(&b, c, v, sizeof(v) - 1, &err), 0);                           \
        if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0)                    \
            dc_test_fail(__FILE__, __LINE__, "image %.*s, expected %s", (int)b.len,       \
                         (const char *)b.data, want);                                     \
    } while (0)

TEST(mysql_image_each_encoding)
{
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    dc_err err;
    dc_err_clear(&err);
    IMG(col("y", "year", "year(4)", DC_MYSQL_ENC_YEAR, -1, -1, -1), "0000", "{\"y\":0}");
    IMG(col("i", "int", "int(11)", DC_MYSQL_ENC_INT, 10, 0, -1), "-0042", "{\"i\":-42}");
    IMG(col("d", "decimal", "decimal(10,2)", DC_MYSQL_ENC_DECIMAL, 10, 2, -1), "-0.01",
        "{\"d\":-0.01}");
    IMG(col("d", "date", "date", DC_MYSQL_ENC_DATE, -1, -1, -1), "2024-02-29", "{\"d\":19782}");
    IMG(col("d", "date", "date", DC_MYSQL_ENC_DATE, -1, -1, -1), "1969-12-31", "{\"d\":-1}");
    IMG(col("d", "date", "date", DC_MYSQL_ENC_DATE, -1, -1, -1), "0000-00-00", "{\"d\":null}");
    IMG(col("t", "datetime", "datetime(3)", DC_MYSQL_ENC_DATETIME_MS, -1, -1, 3),
        "2024-03-01 12:34:56.789", "{\"t\":1709296496789}");
    IMG(col("t", "datetime", "datetime(6)", DC_MYSQL_ENC_DATETIME_US, -1, -1, 6),
        "2024-03-01 12:34:56.789012", "{\"t\":1709296496789012}");
    IMG(col("t", "datetime", "datetime(6)", DC_MYSQL_ENC_DATETIME_US, -1, -1, 6),
        "1969-12-31 23:59:59.5", "{\"t\":-500000}");
    IMG(col("z", "timestamp", "timestamp(3)", DC_MYSQL_ENC_TIMESTAMP, -1, -1, 3),
        "2038-01-19 03:14:07.999", "{\"z\":\"2038-01-19T03:14:07.999Z\"}");
    IMG(col("h", "time", "time(6)", DC_MYSQL_ENC_TIME, -1, -1, 6), "-01:02:03.456789",
        "{\"h\":-3723456789}");
    IMG(col("h", "time", "time", DC_MYSQL_ENC_TIME, -1, -1, 0), "838:59:59",
        "{\"h\":3020399000000}");
    IMG(col("s", "varchar", "varchar(9)", DC_MYSQL_ENC_STRING, -1, -1, -1), "a\"\n\xc3\xa9",
        "{\"s\":\"a\\\"\\n\xc3\xa9\"}");
    IMG(col("x", "varbinary", "varbinary(4)", DC_MYSQL_ENC_BYTES, -1, -1, -1), "\x00\xff\x10\xab",
        "{\"x\":\"AP8Qqw==\"}");
    IMG(col("b", "bit", "bit(1)", DC_MYSQL_ENC_BIT1, 1, -1, -1), "\x01", "{\"b\":true}");
    IMG(col("b", "bit", "bit(12)", DC_MYSQL_ENC_BITS, 12, -1, -1), "\x0a\xaa",
        "{\"b\":\"qgo=\"}"); /* Debezium's little-endian bytes, as in the capture */
    /* POINT(13.4 52.5) SRID 4326: the server's SRID + WKB */
    static const char pt[] = "\xe6\x10\x00\x00\x01\x01\x00\x00\x00\xcd\xcc\xcc\xcc\xcc\xcc\x2a"
                             "\x40\x00\x00\x00\x00\x00\x40\x4a\x40";
    IMG(col("p", "point", "point", DC_MYSQL_ENC_POINT, -1, -1, -1), pt,
        "{\"p\":{\"x\":13.4,\"y\":52.5,\"wkb\":\"AQEAAADNzMzMzMwqQAAAAAAAQEpA\",\"srid\":4326}}");
    /* bad text names the column */
    CHECK(image1(&b, col("d", "date", "date", DC_MYSQL_ENC_DATE, -1, -1, -1), "2024-13-01", 10,
                 &err) == DC_EINVAL);
    CHECK(strstr(err.msg, "column 'd'") != NULL);
    CHECK(image1(&b, col("h", "time", "time", DC_MYSQL_ENC_TIME, -1, -1, 0), "12:3", 4,
                 &err) == DC_EINVAL);
    dc_buf_dispose(&b);
}

TEST(mysql_schema_block_is_cdc_typed)
{
    dc_mysql_column cs[] = {
        col("id", "int", "int(11)", DC_MYSQL_ENC_INT, 10, 0, -1),
        col("u", "bigint", "bigint(20) unsigned", DC_MYSQL_ENC_DECIMAL, 20, 0, -1),
        col("e", "enum", "enum('a','it''s')", DC_MYSQL_ENC_STRING, -1, -1, -1),
        col("s", "set", "set('x','y')", DC_MYSQL_ENC_STRING, -1, -1, -1),
        col("f", "float", "float", DC_MYSQL_ENC_FLOAT, 12, -1, -1),
        col("t", "datetime", "datetime", DC_MYSQL_ENC_DATETIME_MS, -1, -1, 0),
    };
    cs[0].nullable = false;
    dc_mysql_table t;
    memset(&t, 0, sizeof t);
    t.db = "d";
    t.name = "t";
    t.cols = cs;
    t.n_cols = 6;
    dc_buf blk, img, row;
    dc_buf_init(&blk, 1 << 20);
    dc_buf_init(&img, 1 << 20);
    dc_buf_init(&row, 1 << 20);
    dc_err err;
    dc_err_clear(&err);
    dc_cdc_tschema *ts = NULL;
    CHECK_EQ_INT(dc_mysql_debezium_schema(&blk, &t, "srv", &err), 0);
    CHECK_EQ_INT(dc_cdc_tschema_from_block(&ts, NULL, (const char *)blk.data, blk.len, &err), 0);
    if (ts) {
        CHECK_EQ_INT(dc_cdc_tschema_ncols(ts), 6);
        CHECK(dc_cdc_tschema_col(ts, 0)->type == DC_TYPE_INT && !dc_cdc_tschema_col(ts, 0)->optional);
        CHECK(dc_cdc_tschema_col(ts, 1)->type == DC_TYPE_DECIMAL);
        CHECK_EQ_INT(dc_cdc_tschema_col(ts, 1)->precision, 20);
        CHECK(dc_cdc_tschema_col(ts, 2)->kind == DC_CDC_TK_ENUM);
        CHECK(strcmp(dc_cdc_tschema_col(ts, 2)->allowed, "a,it's") == 0);
        CHECK(dc_cdc_tschema_col(ts, 3)->type == DC_TYPE_ARRAY);
        CHECK(dc_cdc_tschema_col(ts, 4)->type == DC_TYPE_FLOAT);
        CHECK(dc_cdc_tschema_col(ts, 5)->kind == DC_CDC_TK_TS_MS);
        char *r[6] = {"7", "18446744073709551615", "it's", "x,y", "3.140000104904175",
                      "2024-03-01 12:34:56"};
        unsigned long l[6];
        for (int i = 0; i < 6; i++) l[i] = strlen(r[i]);
        CHECK_EQ_INT(dc_mysql_image(&img, &t, r, l, &err), 0);
        CHECK_EQ_INT(dc_cdc_typed_row(&row, ts, (const char *)img.data, img.len, &err), 0);
        dc_buf_putc(&row, 0, &err);
        CHECK(strstr((const char *)row.data, "\"u\":\"18446744073709551615\"") != NULL);
        CHECK(strstr((const char *)row.data, "\"s\":[\"x\",\"y\"]") != NULL);
    }
    dc_cdc_tschema_free(ts);
    dc_buf_dispose(&blk);
    dc_buf_dispose(&img);
    dc_buf_dispose(&row);
}
