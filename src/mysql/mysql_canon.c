/*
 * The canonical text of a row, as the source's SQL computes it (issue 11's
 * completeness monitor, mode `ranges`). src/monitor computes the same text
 * from the typed table's values (monitor_canon.c); the two must agree byte
 * for byte, so the form of each type is chosen to be one both sides can
 * produce exactly:
 *
 *   integers, YEAR, BIT(n)   decimal digits ("-12", "4095"; BIT(1) "0"/"1")
 *   DECIMAL                  CAST AS CHAR: exactly `scale` fraction digits
 *   FLOAT, DOUBLE            the double (a FLOAT widened exactly) printed as
 *                            MariaDB prints a double: shortest round-trip
 *                            digits, 'f' or 'e' form by its rule
 *   strings, ENUM, SET, JSON the text itself (SET as "a,c")
 *   binary, BLOB             HEX(), upper case
 *   DATE                     "YYYY-MM-DD"
 *   DATETIME, TIMESTAMP      "YYYY-MM-DD HH:MM:SS.ffffff" (the session is UTC)
 *   TIME                     microseconds, signed digits
 *   GEOMETRY, POINT          HEX() of the stored value (SRID LE32 + WKB)
 *   zero dates, NULL         NULL (Debezium sends null for a zero date)
 *
 * A row is the concatenation over the columns (ordinal order) of
 * "<bytes>:<text>" for a value and "N" for NULL, so no two rows share a text.
 * Its hash is the first 8 bytes of its MD5 as a big-endian unsigned integer.
 */
#include "mysql_int.h"

#include <inttypes.h>
#include <stdio.h>

/* DATETIME/DATE NULL for the zero date (month or day 0), as the image does. */
static int zero_guard(dc_buf *o, const char *id, const char *fmt, dc_err *err)
{
    return dc_buf_appendf(o, err, "IF(MONTH(%s) = 0 OR DAYOFMONTH(%s) = 0, NULL, "
                          "DATE_FORMAT(%s, '%s'))", id, id, id, fmt);
}

int dc_mysql_canon_expr(dc_buf *out, const dc_mysql_column *c, dc_err *err)
{
    dc_buf idb;
    dc_buf_init(&idb, 1 << 12);
    int rc = dc_mysql_put_ident(&idb, c->name, strlen(c->name), err);
    if (rc == 0) rc = dc_buf_putc(&idb, 0, err);
    const char *id = (const char *)idb.data;
    switch (rc < 0 ? -1 : (int)c->enc) {
    case -1: break;
    case DC_MYSQL_ENC_INT: case DC_MYSQL_ENC_DECIMAL:
        rc = dc_buf_appendf(out, err, "CAST(%s AS CHAR)", id);
        break;
    case DC_MYSQL_ENC_YEAR: case DC_MYSQL_ENC_BIT1: case DC_MYSQL_ENC_BITS:
        rc = dc_buf_appendf(out, err, "CAST(%s + 0 AS CHAR)", id);
        break;
    case DC_MYSQL_ENC_FLOAT:
        rc = dc_buf_appendf(out, err, "CAST(CAST(%s AS DOUBLE) AS CHAR)", id);
        break;
    case DC_MYSQL_ENC_STRING:
        rc = dc_buf_puts(out, id, err);
        break;
    case DC_MYSQL_ENC_BYTES: case DC_MYSQL_ENC_GEOMETRY: case DC_MYSQL_ENC_POINT:
        rc = dc_buf_appendf(out, err, "HEX(%s)", id);
        break;
    case DC_MYSQL_ENC_DATE:
        rc = zero_guard(out, id, "%Y-%m-%d", err);
        break;
    case DC_MYSQL_ENC_DATETIME_MS: case DC_MYSQL_ENC_DATETIME_US: case DC_MYSQL_ENC_TIMESTAMP:
        rc = zero_guard(out, id, "%Y-%m-%d %H:%i:%s.%f", err);
        break;
    case DC_MYSQL_ENC_TIME:
        rc = dc_buf_appendf(out, err, "CAST(TIME_TO_SEC(%s) * 1000000 AS SIGNED)", id);
        break;
    default:
        rc = dc_err_set(err, DC_EUNSUPPORTED, "column '%s': no canonical form", c->name);
    }
    dc_buf_dispose(&idb);
    return rc;
}

int dc_mysql_canon_row(dc_buf *out, const dc_mysql_table *t, dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "CONCAT(", err));
    for (uint32_t i = 0; i < t->n_cols; i++) {
        dc_buf e;
        dc_buf_init(&e, 1 << 16);
        int rc = dc_mysql_canon_expr(&e, &t->cols[i], err);
        if (rc == 0) rc = dc_buf_putc(&e, 0, err);
        if (rc == 0)
            rc = dc_buf_appendf(out, err, "%sIFNULL(CONCAT(LENGTH(%s), ':', %s), 'N')",
                                i ? ", " : "", (const char *)e.data, (const char *)e.data);
        dc_buf_dispose(&e);
        if (rc < 0) return rc;
    }
    return dc_buf_putc(out, ')', err);
}

int dc_mysql_canon_hash(dc_buf *out, const dc_mysql_table *t, dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "CAST(CONV(LEFT(MD5(", err));
    DC_TRY(dc_mysql_canon_row(out, t, err));
    return dc_buf_puts(out, "), 16), 16, 10) AS UNSIGNED)", err);
}
