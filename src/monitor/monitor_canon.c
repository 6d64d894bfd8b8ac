/*
 * monitor: the canonical text of a typed table's row (completeness, mode
 * `ranges`) — the same bytes src/mysql/mysql_canon.c has the source's SQL
 * compute for the same row (its header lists the form of each type). The
 * value comes from a scan row (delta/'s JSON conventions: decimals as
 * strings, dates "YYYY-MM-DD", timestamps "YYYY-MM-DDTHH:MM:SS.ffffff[Z]",
 * binary as base64, SET as an array, GEOMETRY as {"wkb","srid"}), read by
 * the source column's Debezium encoding; the table's other renderings of a
 * type (DATETIME as epoch numbers, TIME as a string) are accepted too.
 */
#include "monitor_int.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

/* MariaDB's my_gcvt prints a double in the 'f' form when its decimal point
 * position decpt (value = 0.DIGITS x 10^decpt) lies within these bounds, or
 * its digits reach past the point (MAX_DECPT_FOR_F_FORMAT = DBL_DIG). */
#define GCVT_MAX_DECPT 15

int dc_monitor_canon_double(dc_buf *out, double d, dc_err *err)
{
    if (!isfinite(d)) return dc_err_set(err, DC_EINVAL, "a float that is not finite (%g)", d);
    if (d == 0) return dc_buf_putc(out, '0', err);
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) { /* the shortest digits that read back as d */
        snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d) break;
    }
    /* buf: [-]D[.DDD]e[+-]XX */
    const bool neg = buf[0] == '-';
    char digs[20];
    int len = 0;
    const char *p = buf + neg;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digs[len++] = *p;
    while (len > 1 && digs[len - 1] == '0') len--;
    const int decpt = atoi(p + 1) + 1;
    if (neg) DC_TRY(dc_buf_putc(out, '-', err));
    if (decpt >= 1 - GCVT_MAX_DECPT && (decpt <= GCVT_MAX_DECPT || len > decpt)) {
        if (decpt <= 0) {
            DC_TRY(dc_buf_puts(out, "0.", err));
            for (int i = 0; i < -decpt; i++) DC_TRY(dc_buf_putc(out, '0', err));
            return dc_buf_append(out, digs, (size_t)len, err);
        }
        if (decpt < len) {
            DC_TRY(dc_buf_append(out, digs, (size_t)decpt, err));
            DC_TRY(dc_buf_putc(out, '.', err));
            return dc_buf_append(out, digs + decpt, (size_t)(len - decpt), err);
        }
        DC_TRY(dc_buf_append(out, digs, (size_t)len, err));
        for (int i = len; i < decpt; i++) DC_TRY(dc_buf_putc(out, '0', err));
        return 0;
    }
    DC_TRY(dc_buf_putc(out, digs[0], err));
    if (len > 1) {
        DC_TRY(dc_buf_putc(out, '.', err));
        DC_TRY(dc_buf_append(out, digs + 1, (size_t)(len - 1), err));
    }
    return dc_buf_appendf(out, err, "e%d", decpt - 1);
}

static int put_hex(dc_buf *out, const uint8_t *p, size_t n, dc_err *err)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        DC_TRY(dc_buf_putc(out, (uint8_t)hex[p[i] >> 4], err));
        DC_TRY(dc_buf_putc(out, (uint8_t)hex[p[i] & 15], err));
    }
    return 0;
}

static int unexpected(const dc_mysql_column *c, const dc_json *v, dc_err *err)
{
    return dc_err_set(err, DC_EINVAL, "column '%s' (%s): unexpected value (%s) in the table",
                      c->name, c->column_type, dc_json_type_name(v->type));
}

/* "YYYY-MM-DD HH:MM:SS.ffffff" from µs since 1970. */
static int put_epoch_us(dc_buf *out, int64_t us, dc_err *err)
{
    /* floor division without negating or multiplying back (INT64_MIN fits) */
    const int64_t days = us / 86400000000LL - (us % 86400000000LL < 0);
    int64_t rest = us % 86400000000LL, y;
    if (rest < 0) rest += 86400000000LL;
    unsigned m, d;
    dc_civil_from_days(days, &y, &m, &d);
    return dc_buf_appendf(out, err, "%04lld-%02u-%02u %02lld:%02lld:%02lld.%06lld", (long long)y, m,
                          d, (long long)(rest / 3600000000LL), (long long)(rest / 60000000 % 60),
                          (long long)(rest / 1000000 % 60), (long long)(rest % 1000000));
}

/* A timestamp string of the scan ("...T...[.f][Z]") as "... ....ffffff". */
static int put_ts_text(dc_buf *out, const dc_mysql_column *c, const dc_json *v, dc_err *err)
{
    const char *s = v->u.str;
    size_t n = v->len;
    if (n && s[n - 1] == 'Z') n--;
    if (n < 19 || s[10] != 'T') return unexpected(c, v, err);
    DC_TRY(dc_buf_append(out, s, 10, err));
    DC_TRY(dc_buf_putc(out, ' ', err));
    DC_TRY(dc_buf_append(out, s + 11, 8, err));
    size_t f = n > 20 && s[19] == '.' ? n - 20 : 0;
    DC_TRY(dc_buf_putc(out, '.', err));
    DC_TRY(dc_buf_append(out, s + 20, f > 6 ? 6 : f, err));
    for (; f < 6; f++) DC_TRY(dc_buf_putc(out, '0', err));
    return 0;
}

/* TIME as "[-]H+:MM:SS[.f]" → µs digits. */
static int put_time_text(dc_buf *out, const dc_mysql_column *c, const dc_json *v, dc_err *err)
{
    const char *s = v->u.str;
    const bool neg = v->len && s[0] == '-';
    long long h = 0, mi = 0, se = 0, us = 0;
    char frac[8] = "";
    if (sscanf(s + neg, "%lld:%lld:%lld.%7[0-9]", &h, &mi, &se, frac) < 3)
        return unexpected(c, v, err);
    for (int i = 0; i < 6; i++) us = us * 10 + (frac[i] && i < (int)strlen(frac) ? frac[i] - '0' : 0);
    const long long t = (h * 3600 + mi * 60 + se) * 1000000 + us;
    return dc_buf_appendf(out, err, "%lld", neg ? -t : t);
}

/* Bytes of a base64 string value into tmp (reset). */
static int b64(dc_buf *tmp, const dc_mysql_column *c, const dc_json *v, dc_err *err)
{
    dc_buf_reset(tmp);
    if (v->type != DC_JSON_STRING) return unexpected(c, v, err);
    const int rc = dc_base64_decode(tmp, v->u.str, v->len, err);
    if (rc < 0) dc_err_prefix(err, "column '%s' (%s)", c->name, c->column_type);
    return rc;
}

/* GEOMETRY/POINT: {"wkb": base64, "srid": n|null} → HEX(SRID LE32 + WKB). */
static int put_geometry(dc_buf *out, dc_buf *tmp, const dc_mysql_column *c, const dc_json *v,
                        dc_err *err)
{
    const dc_json *wkb = v->type == DC_JSON_OBJECT ? dc_json_get(v, "wkb") : NULL;
    const dc_json *srid = v->type == DC_JSON_OBJECT ? dc_json_get(v, "srid") : NULL;
    int64_t id = 0;
    if (!wkb) return unexpected(c, v, err);
    if (srid && srid->type != DC_JSON_NULL) DC_TRY(dc_json_i64(&id, srid, c->name, err));
    const uint8_t le[4] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16),
                           (uint8_t)(id >> 24)};
    DC_TRY(put_hex(out, le, 4, err));
    DC_TRY(b64(tmp, c, wkb, err));
    return put_hex(out, tmp->data, tmp->len, err);
}

/* The value's digits (a number, or a decimal/number as a string). */
static int put_number_text(dc_buf *out, const dc_mysql_column *c, const dc_json *v, dc_err *err)
{
    if (v->type != DC_JSON_NUMBER && v->type != DC_JSON_STRING) return unexpected(c, v, err);
    return dc_buf_append(out, v->u.str, v->len, err);
}

static int put_float(dc_buf *out, const dc_mysql_column *c, const dc_json *v, dc_err *err)
{
    if (v->type != DC_JSON_NUMBER && v->type != DC_JSON_STRING) return unexpected(c, v, err);
    const bool single = strcmp(c->data_type, "float") == 0;
    const double d = single ? (double)strtof(v->u.str, NULL) : strtod(v->u.str, NULL);
    return dc_monitor_canon_double(out, d, err);
}

static int put_string(dc_buf *out, const dc_mysql_column *c, const dc_json *v, dc_err *err)
{
    if (v->type == DC_JSON_STRING || v->type == DC_JSON_NUMBER)
        return dc_buf_append(out, v->u.str, v->len, err);
    if (v->type != DC_JSON_ARRAY) return unexpected(c, v, err);
    for (uint32_t i = 0; i < v->len; i++) { /* SET: its members joined as MySQL prints them */
        if (v->u.items[i].type != DC_JSON_STRING) return unexpected(c, &v->u.items[i], err);
        if (i) DC_TRY(dc_buf_putc(out, ',', err));
        DC_TRY(dc_buf_append(out, v->u.items[i].u.str, v->u.items[i].len, err));
    }
    return 0;
}

/* One non-null value's text. */
static int put_value(dc_buf *out, dc_buf *tmp, const dc_mysql_column *c, const dc_json *v,
                     dc_err *err)
{
    int64_t x = 0;
    const bool scalar = v->type == DC_JSON_NUMBER || v->type == DC_JSON_STRING ||
                        v->type == DC_JSON_TRUE || v->type == DC_JSON_FALSE;
    if (!scalar && c->enc != DC_MYSQL_ENC_STRING && c->enc != DC_MYSQL_ENC_GEOMETRY &&
        c->enc != DC_MYSQL_ENC_POINT)
        return unexpected(c, v, err);
    switch (c->enc) {
    case DC_MYSQL_ENC_INT: case DC_MYSQL_ENC_DECIMAL: case DC_MYSQL_ENC_YEAR:
        return put_number_text(out, c, v, err);
    case DC_MYSQL_ENC_FLOAT: return put_float(out, c, v, err);
    case DC_MYSQL_ENC_STRING: return put_string(out, c, v, err);
    case DC_MYSQL_ENC_BYTES:
        DC_TRY(b64(tmp, c, v, err));
        return put_hex(out, tmp->data, tmp->len, err);
    case DC_MYSQL_ENC_BIT1:
        if (v->type == DC_JSON_TRUE || v->type == DC_JSON_FALSE)
            return dc_buf_putc(out, v->type == DC_JSON_TRUE ? '1' : '0', err);
        return put_number_text(out, c, v, err);
    case DC_MYSQL_ENC_BITS: { /* little-endian bytes → the unsigned number */
        DC_TRY(b64(tmp, c, v, err));
        uint64_t u = 0;
        for (size_t i = tmp->len; i-- > 0;) {
            if (i >= 8 && tmp->data[i]) return unexpected(c, v, err);
            if (i < 8) u = u << 8 | tmp->data[i];
        }
        return dc_buf_appendf(out, err, "%" PRIu64, u);
    }
    case DC_MYSQL_ENC_DATE: {
        if (v->type == DC_JSON_STRING) return dc_buf_append(out, v->u.str, v->len, err);
        DC_TRY(dc_json_i64(&x, v, c->name, err));
        int64_t y;
        unsigned m, d;
        dc_civil_from_days(x, &y, &m, &d);
        return dc_buf_appendf(out, err, "%04lld-%02u-%02u", (long long)y, m, d);
    }
    case DC_MYSQL_ENC_DATETIME_MS: case DC_MYSQL_ENC_DATETIME_US: case DC_MYSQL_ENC_TIMESTAMP:
        if (v->type == DC_JSON_STRING) return put_ts_text(out, c, v, err);
        DC_TRY(dc_json_i64(&x, v, c->name, err));
        if (c->enc == DC_MYSQL_ENC_DATETIME_MS) {
            if (x > INT64_MAX / 1000 || x < INT64_MIN / 1000) return unexpected(c, v, err);
            x *= 1000;
        }
        return put_epoch_us(out, x, err);
    case DC_MYSQL_ENC_TIME:
        if (v->type == DC_JSON_STRING) return put_time_text(out, c, v, err);
        return put_number_text(out, c, v, err);
    case DC_MYSQL_ENC_GEOMETRY: case DC_MYSQL_ENC_POINT:
        return put_geometry(out, tmp, c, v, err);
    }
    return dc_err_set(err, DC_EUNSUPPORTED, "column '%s': no canonical form", c->name);
}

int dc_monitor_canon_value(dc_buf *out, bool *is_null, const dc_mysql_column *c,
                           const dc_json *v, dc_err *err)
{
    *is_null = !v || v->type == DC_JSON_NULL;
    if (*is_null) return 0;
    dc_buf tmp;
    dc_buf_init(&tmp, DC_MONITOR_MAX_VALUE_BYTES);
    int rc = put_value(out, &tmp, c, v, err);
    dc_buf_dispose(&tmp);
    return rc;
}

/* "<bytes>:<text>" or "N" of n source columns (idx: their indexes; NULL:
 * all) from a scan row object. */
static int canon_cols(dc_buf *out, dc_buf *val, const dc_mysql_table *t, const uint32_t *idx,
                      uint32_t n, const dc_json *row, dc_err *err)
{
    dc_buf_reset(out);
    for (uint32_t i = 0; i < n; i++) {
        const dc_mysql_column *c = &t->cols[idx ? idx[i] : i];
        bool is_null = false;
        dc_buf_reset(val);
        DC_TRY(dc_monitor_canon_value(val, &is_null, c, dc_json_get(row, c->name), err));
        if (is_null) {
            DC_TRY(dc_buf_putc(out, 'N', err));
            continue;
        }
        DC_TRY(dc_buf_appendf(out, err, "%zu:", val->len));
        DC_TRY(dc_buf_append(out, val->data, val->len, err));
    }
    return 0;
}

int dc_monitor_canon_row(dc_buf *out, dc_buf *val, const dc_mysql_table *t, const dc_json *row,
                         dc_err *err)
{
    return canon_cols(out, val, t, NULL, t->n_cols, row, err);
}

int dc_monitor_canon_key(dc_buf *out, dc_buf *val, const dc_mysql_table *t, const dc_json *row,
                         dc_err *err)
{
    return canon_cols(out, val, t, t->pk, t->n_pk, row, err);
}

uint64_t dc_monitor_canon_hash(const void *p, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    DC_ASSERT(EVP_Digest(n ? p : "", n, md, &len, EVP_md5(), NULL) == 1 && len == 16);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++) h = h << 8 | md[i];
    return h;
}
