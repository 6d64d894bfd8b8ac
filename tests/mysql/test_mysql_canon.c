/* src/mysql/mysql_canon.c: the SQL the completeness monitor sends for a
 * key's canonical text and its bucket (what tests/monitor's
 * test_monitor_canon.c computes from the table's values, and
 * tests/interop/test_check_completeness.py compares end to end): the key
 * columns in key order, strings converted to utf8mb4 (the bytes Debezium's
 * text becomes, whatever the column's character set). */
#include "../test.h"

#include "../../src/mysql/mysql.h"

TEST(mysql_canon_key_sql_in_key_order)
{
    dc_mysql_column cols[3];
    memset(cols, 0, sizeof cols);
    cols[0] = (dc_mysql_column){.name = (char *)"code", .data_type = (char *)"varchar",
                                .column_type = (char *)"varchar(20)", .enc = DC_MYSQL_ENC_STRING};
    cols[1] = (dc_mysql_column){.name = (char *)"note", .data_type = (char *)"varchar",
                                .column_type = (char *)"varchar(20)", .enc = DC_MYSQL_ENC_STRING};
    cols[2] = (dc_mysql_column){.name = (char *)"d`x", .data_type = (char *)"date",
                                .column_type = (char *)"date", .enc = DC_MYSQL_ENC_DATE};
    dc_mysql_table t;
    memset(&t, 0, sizeof t);
    t.cols = cols;
    t.n_cols = 3;
    t.n_pk = 2;
    t.pk[0] = 2; /* PRIMARY KEY (`d``x`, code) */
    t.pk[1] = 0;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    dc_err err;
    dc_err_clear(&err);
    CHECK_EQ_INT(dc_mysql_canon_key(&b, &t, &err), 0);
    CHECK_EQ_INT(dc_buf_putc(&b, 0, &err), 0);
    CHECK_EQ_STR((const char *)b.data,
                 "CONCAT(IFNULL(CONCAT(LENGTH(IF(MONTH(`d``x`) = 0 OR DAYOFMONTH(`d``x`) = 0, "
                 "NULL, DATE_FORMAT(`d``x`, '%Y-%m-%d'))), ':', IF(MONTH(`d``x`) = 0 OR "
                 "DAYOFMONTH(`d``x`) = 0, NULL, DATE_FORMAT(`d``x`, '%Y-%m-%d'))), 'N'), "
                 "IFNULL(CONCAT(LENGTH(CONVERT(`code` USING utf8mb4)), ':', "
                 "CONVERT(`code` USING utf8mb4)), 'N'))");
    dc_buf_reset(&b);
    CHECK_EQ_INT(dc_mysql_canon_key_hash(&b, &t, &err), 0);
    CHECK_EQ_INT(dc_buf_putc(&b, 0, &err), 0);
    CHECK(strncmp((const char *)b.data, "CAST(CONV(LEFT(MD5(CONCAT(IFNULL(", 33) == 0);
    CHECK(strstr((const char *)b.data, "`note`") == NULL); /* not a key column */
    CHECK(strcmp((const char *)b.data + b.len - 29, "), 16), 16, 10) AS UNSIGNED)") == 0);
    /* the row's text has every column, in table order */
    dc_buf_reset(&b);
    CHECK_EQ_INT(dc_mysql_canon_row(&b, &t, &err), 0);
    CHECK_EQ_INT(dc_buf_putc(&b, 0, &err), 0);
    const char *s = (const char *)b.data;
    CHECK(strstr(s, "`code`") < strstr(s, "`note`") && strstr(s, "`note`") < strstr(s, "`d``x`"));
    dc_buf_dispose(&b);
}
