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
 *   strings, ENUM, SET, JSON the text itself in UTF-8 (SET as "a,c"), whatever
 *                            the column's character set: its bytes and LENGTH
 *                            are those of CONVERT(.. USING utf8mb4), the bytes
 *                            Debezium's text becomes; CHAR without its
 *                            trailing spaces (as the server returns it)
 *   binary, BLOB             HEX(), upper case
 *   DATE                     "YYYY-MM-DD"
 *   DATETIME, TIMESTAMP      "YYYY-MM-DD HH:MM:SS.ffffff" (the session is UTC)
 *   TIME                     microseconds, signed digits
 *   GEOMETRY, POINT          HEX() of the stored value (SRID LE32 + WKB)
 *   zero dates, NULL         NULL (Debezium sends null for a zero date)
 *
 * A row is the concatenation over the columns (ordinal order) of
 * "<bytes>:<text>" for a value and "N" for NULL, so no two rows share a text.
 * A key is the same over the primary key's columns in key order. A text's
 * hash is the first 8 bytes of its MD5 as a big-endian unsigned integer.
 * Nothing here compares or orders values, so no collation is involved: two
 * keys a collation calls equal can not both be in the table, and the one
 * that is has the same bytes on both sides.
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
        rc = dc_buf_appendf(out, err, "CONVERT(%s USING utf8mb4)", id);
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

/* "<bytes>:<text>" or "N" of n columns (idx: their indexes; NULL: all). */
static int put_text(dc_buf *out, const dc_mysql_table *t, const uint32_t *idx, uint32_t n,
                    dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "CONCAT(", err));
    for (uint32_t i = 0; i < n; i++) {
        dc_buf e;
        dc_buf_init(&e, 1 << 16);
        int rc = dc_mysql_canon_expr(&e, &t->cols[idx ? idx[i] : i], err);
        if (rc == 0) rc = dc_buf_putc(&e, 0, err);
        if (rc == 0)
            rc = dc_buf_appendf(out, err, "%sIFNULL(CONCAT(LENGTH(%s), ':', %s), 'N')",
                                i ? ", " : "", (const char *)e.data, (const char *)e.data);
        dc_buf_dispose(&e);
        if (rc < 0) return rc;
    }
    return dc_buf_putc(out, ')', err);
}

/* The hash of that text. */
static int put_hash(dc_buf *out, const dc_mysql_table *t, const uint32_t *idx, uint32_t n,
                    dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "CAST(CONV(LEFT(MD5(", err));
    DC_TRY(put_text(out, t, idx, n, err));
    return dc_buf_puts(out, "), 16), 16, 10) AS UNSIGNED)", err);
}

int dc_mysql_canon_row(dc_buf *out, const dc_mysql_table *t, dc_err *err)
{
    return put_text(out, t, NULL, t->n_cols, err);
}

int dc_mysql_canon_key(dc_buf *out, const dc_mysql_table *t, dc_err *err)
{
    return put_text(out, t, t->pk, t->n_pk, err);
}

int dc_mysql_canon_hash(dc_buf *out, const dc_mysql_table *t, dc_err *err)
{
    return put_hash(out, t, NULL, t->n_cols, err);
}

int dc_mysql_canon_key_hash(dc_buf *out, const dc_mysql_table *t, dc_err *err)
{
    return put_hash(out, t, t->pk, t->n_pk, err);
}
