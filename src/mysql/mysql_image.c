/*
 * Rows in Debezium's encoding: the text protocol's value of each column
 * (session time zone UTC, utf8mb4) → the JSON value Debezium's connector
 * puts in an after image for it (tests/data/debezium_mariadb_README.md).
 * Decimals go as JSON numbers (JsonConverter's decimal.format=NUMERIC),
 * which src/cdc reads as exactly as base64.
 */
#include "mysql_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "../json/dc_json.h"

/* Parses n digits at s into *v; false when one is not a digit. */
static bool digits(const char *s, size_t n, int64_t *v)
{
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

/* ".ffffff" at s (len n, may be 0) → microseconds; false when malformed. */
static bool fraction_us(const char *s, size_t n, int64_t *us)
{
    *us = 0;
    if (n == 0) return true;
    if (s[0] != '.' || n > 7) return false;
    int64_t f = 0;
    if (!digits(s + 1, n - 1, &f)) return false;
    for (size_t i = n - 1; i < 6; i++) f *= 10;
    *us = f;
    return true;
}

/* "YYYY-MM-DD" → days; *zero for a zero date (month or day 0). */
static bool parse_date(const char *s, size_t n, int64_t *days, bool *zero)
{
    int64_t y, m, d;
    if (n < 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &m) ||
        !digits(s + 8, 2, &d) || m > 12 || d > 31)
        return false;
    *zero = m == 0 || d == 0;
    if (!*zero) *days = dc_days_from_civil(y, (unsigned)m, (unsigned)d);
    return true;
}

/* "YYYY-MM-DD HH:MM:SS[.f]" → µs since 1970; *zero for a zero date. */
static bool parse_datetime(const char *s, size_t n, int64_t *us, bool *zero)
{
    int64_t days = 0, h, mi, se, f;
    if (n < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' || !parse_date(s, 10, &days, zero) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se) ||
        !fraction_us(s + 19, n - 19, &f))
        return false;
    *us = (days * 86400 + h * 3600 + mi * 60 + se) * 1000000 + f;
    return true;
}

/* "[-]H+:MM:SS[.f]" → µs. */
static bool parse_time(const char *s, size_t n, int64_t *us)
{
    const bool neg = n > 0 && s[0] == '-';
    const char *p = s + neg, *e = s + n;
    const char *c1 = memchr(p, ':', (size_t)(e - p));
    int64_t h, mi, se, f;
    if (!c1 || c1 == p || e - c1 < 6 || c1[3] != ':' || !digits(p, (size_t)(c1 - p), &h) ||
        !digits(c1 + 1, 2, &mi) || !digits(c1 + 4, 2, &se) ||
        !fraction_us(c1 + 6, (size_t)(e - c1 - 6), &f))
        return false;
    const int64_t v = (h * 3600 + mi * 60 + se) * 1000000 + f;
    *us = neg ? -v : v;
    return true;
}

static int bad(const dc_mysql_column *c, const char *v, size_t n, dc_err *err)
{
    return dc_err_set(err, DC_EINVAL, "column '%s' (%s): unexpected value '%.*s'", c->name,
                      c->column_type, (int)(n > 64 ? 64 : n), v);
}

/* GEOMETRY's internal value: 4-byte little-endian SRID, then WKB. */
static int put_geometry(dc_buf *o, const dc_mysql_column *c, const char *v, size_t n, dc_err *err)
{
    if (n < 4 + 5) return bad(c, "(geometry)", 10, err);
    const uint32_t srid = dc_load_le32(v);
    const uint8_t *wkb = (const uint8_t *)v + 4;
    const size_t wn = n - 4;
    DC_TRY(dc_buf_putc(o, '{', err));
    if (c->enc == DC_MYSQL_ENC_POINT) {
        if (wn < 21 || wkb[0] != 1) return bad(c, "(point)", 7, err);
        double x, y;
        memcpy(&x, wkb + 5, 8);
        memcpy(&y, wkb + 13, 8);
        DC_TRY(dc_buf_appendf(o, err, "\"x\":%.17g,\"y\":%.17g,", x, y));
    }
    DC_TRY(dc_buf_puts(o, "\"wkb\":\"", err));
    DC_TRY(dc_base64_encode(o, wkb, wn, err));
    if (srid) return dc_buf_appendf(o, err, "\",\"srid\":%" PRIu32 "}", srid);
    return dc_buf_puts(o, "\",\"srid\":null}", err);
}

/* A number as the server printed it, as JSON wants it: YEAR prints 0 as
 * "0000", and JSON has no leading zeros. */
static int put_number(dc_buf *o, const dc_mysql_column *c, const char *v, size_t n, dc_err *err)
{
    size_t i = v[0] == '-';
    if (n == 0 || n > 128 || i >= n || v[i] < '0' || v[i] > '9') return bad(c, v, n, err);
    if (i) DC_TRY(dc_buf_putc(o, '-', err));
    while (i + 1 < n && v[i] == '0' && v[i + 1] >= '0' && v[i + 1] <= '9') i++;
    return dc_buf_append(o, v + i, n - i, err);
}

/* One non-null value. */
static int put_value(dc_buf *o, const dc_mysql_column *c, const char *v, size_t n, dc_err *err)
{
    int64_t x = 0;
    bool zero = false;
    switch (c->enc) {
    case DC_MYSQL_ENC_INT: case DC_MYSQL_ENC_DECIMAL: case DC_MYSQL_ENC_FLOAT:
    case DC_MYSQL_ENC_YEAR:
        return put_number(o, c, v, n, err);
    case DC_MYSQL_ENC_STRING: return dc_json_put_str(o, v, n, err);
    case DC_MYSQL_ENC_BYTES:
        DC_TRY(dc_buf_putc(o, '"', err));
        DC_TRY(dc_base64_encode(o, (const uint8_t *)v, n, err));
        return dc_buf_putc(o, '"', err);
    case DC_MYSQL_ENC_BIT1: {
        bool set = false;
        for (size_t i = 0; i < n; i++) set |= v[i] != 0;
        return dc_buf_puts(o, set ? "true" : "false", err);
    }
    case DC_MYSQL_ENC_BITS: {
        uint8_t le[64];
        if (n > sizeof le) return bad(c, "(bits)", 6, err);
        for (size_t i = 0; i < n; i++) le[i] = (uint8_t)v[n - 1 - i];
        DC_TRY(dc_buf_putc(o, '"', err));
        DC_TRY(dc_base64_encode(o, le, n, err));
        return dc_buf_putc(o, '"', err);
    }
    case DC_MYSQL_ENC_DATE:
        if (!parse_date(v, n, &x, &zero) || n != 10) return bad(c, v, n, err);
        if (zero) return dc_buf_puts(o, "null", err);
        return dc_json_put_i64(o, x, err);
    case DC_MYSQL_ENC_DATETIME_MS: case DC_MYSQL_ENC_DATETIME_US:
        if (!parse_datetime(v, n, &x, &zero)) return bad(c, v, n, err);
        if (zero) return dc_buf_puts(o, "null", err);
        if (c->enc == DC_MYSQL_ENC_DATETIME_MS) /* at most 3 fraction digits: exact */
            x = x >= 0 ? x / 1000 : -((-x + 999) / 1000);
        return dc_json_put_i64(o, x, err);
    case DC_MYSQL_ENC_TIMESTAMP:
        if (!parse_datetime(v, n, &x, &zero)) return bad(c, v, n, err);
        if (zero) return dc_buf_puts(o, "null", err);
        return dc_buf_appendf(o, err, "\"%.10sT%.*sZ\"", v, (int)(n - 11), v + 11);
    case DC_MYSQL_ENC_TIME:
        if (!parse_time(v, n, &x)) return bad(c, v, n, err);
        return dc_json_put_i64(o, x, err);
    case DC_MYSQL_ENC_GEOMETRY: case DC_MYSQL_ENC_POINT: return put_geometry(o, c, v, n, err);
    }
    return bad(c, v, n, err);
}

int dc_mysql_value(dc_buf *out, const dc_mysql_column *c, const char *v, size_t n, dc_err *err)
{
    return put_value(out, c, v, n, err);
}

int dc_mysql_image(dc_buf *out, const dc_mysql_table *t, char **row, const unsigned long *lens,
                   dc_err *err)
{
    DC_TRY(dc_buf_putc(out, '{', err));
    for (uint32_t i = 0; i < t->n_cols; i++) {
        const dc_mysql_column *c = &t->cols[i];
        if (i) DC_TRY(dc_buf_putc(out, ',', err));
        DC_TRY(dc_json_put_str(out, c->name, strlen(c->name), err));
        DC_TRY(dc_buf_putc(out, ':', err));
        if (!row[i]) DC_TRY(dc_buf_puts(out, "null", err));
        else DC_TRY(put_value(out, c, row[i], lens[i], err));
    }
    return dc_buf_putc(out, '}', err);
}
