/* Fuzz target: the server's text value of a column → Debezium's after image
 * (dc_mysql_image). The first byte picks the column kind, the rest is the
 * value. Paired check: an image that is produced must be one src/cdc decodes
 * with the schema block of the same column (dc_mysql_debezium_schema). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/cdc/cdc.h"
#include "../src/mysql/mysql.h"

static const struct { const char *dt, *ct; dc_mysql_enc enc; int64_t prec, scale, dtp; } K[] = {
    {"int", "int(11)", DC_MYSQL_ENC_INT, 10, 0, -1},
    {"decimal", "decimal(65,30)", DC_MYSQL_ENC_DECIMAL, 65, 30, -1},
    {"double", "double", DC_MYSQL_ENC_FLOAT, 22, -1, -1},
    {"year", "year(4)", DC_MYSQL_ENC_YEAR, -1, -1, -1},
    {"varchar", "varchar(10)", DC_MYSQL_ENC_STRING, -1, -1, -1},
    {"blob", "blob", DC_MYSQL_ENC_BYTES, -1, -1, -1},
    {"bit", "bit(1)", DC_MYSQL_ENC_BIT1, 1, -1, -1},
    {"bit", "bit(12)", DC_MYSQL_ENC_BITS, 12, -1, -1},
    {"date", "date", DC_MYSQL_ENC_DATE, -1, -1, -1},
    {"datetime", "datetime(3)", DC_MYSQL_ENC_DATETIME_MS, -1, -1, 3},
    {"datetime", "datetime(6)", DC_MYSQL_ENC_DATETIME_US, -1, -1, 6},
    {"timestamp", "timestamp(6)", DC_MYSQL_ENC_TIMESTAMP, -1, -1, 6},
    {"time", "time(6)", DC_MYSQL_ENC_TIME, -1, -1, 6},
    {"geometry", "geometry", DC_MYSQL_ENC_GEOMETRY, -1, -1, -1},
    {"point", "point", DC_MYSQL_ENC_POINT, -1, -1, -1},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const size_t k = data[0] % (sizeof K / sizeof *K);
    dc_mysql_column c;
    memset(&c, 0, sizeof c);
    c.name = "c";
    c.data_type = (char *)K[k].dt;
    c.column_type = (char *)K[k].ct;
    c.nullable = true;
    c.precision = K[k].prec;
    c.scale = K[k].scale;
    c.dt_precision = K[k].dtp;
    c.enc = K[k].enc;
    dc_mysql_table t;
    memset(&t, 0, sizeof t);
    t.db = "d";
    t.name = "t";
    t.cols = &c;
    t.n_cols = 1;
    char *v = malloc(size); /* a value of its own, so ASan sees reads past it */
    if (!v) return 0;
    memcpy(v, data + 1, size - 1);
    char *row[1] = {v};
    unsigned long lens[1] = {(unsigned long)(size - 1)};
    dc_buf img, blk, out;
    dc_buf_init(&img, 1 << 20);
    dc_buf_init(&blk, 1 << 20);
    dc_buf_init(&out, 1 << 20);
    dc_err err;
    dc_err_clear(&err);
    dc_cdc_tschema *ts = NULL;
    if (dc_mysql_image(&img, &t, row, lens, &err) == 0 &&
        dc_mysql_debezium_schema(&blk, &t, "s", &err) == 0 &&
        dc_cdc_tschema_from_block(&ts, NULL, (const char *)blk.data, blk.len, &err) == 0) {
        /* numbers pass through as the server printed them: only a decode
         * error of a number kind (out of range, not JSON) is allowed */
        const int rc = dc_cdc_typed_row(&out, ts, (const char *)img.data, img.len, &err);
        if (rc != 0 && c.enc != DC_MYSQL_ENC_INT && c.enc != DC_MYSQL_ENC_DECIMAL &&
            c.enc != DC_MYSQL_ENC_FLOAT && c.enc != DC_MYSQL_ENC_YEAR &&
            c.enc != DC_MYSQL_ENC_DATE && c.enc != DC_MYSQL_ENC_STRING &&
            c.enc != DC_MYSQL_ENC_TIMESTAMP && c.enc != DC_MYSQL_ENC_DATETIME_MS &&
            c.enc != DC_MYSQL_ENC_DATETIME_US)
            abort();
    }
    dc_cdc_tschema_free(ts);
    dc_buf_dispose(&img);
    dc_buf_dispose(&blk);
    dc_buf_dispose(&out);
    free(v);
    return 0;
}
