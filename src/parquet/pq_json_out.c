/*
 * One Parquet value as JSON, in the conventions of parquet.h: decimals of
 * any width, dates and timestamps (proleptic Gregorian, any year), INT96,
 * times, UUIDs, half floats, unsigned integers, strings (checked UTF-8) and
 * binary (base64).
 *
 * Years have at least 4 digits; years before 1 are negative astronomical
 * years ("-0001-12-31" is 2 BC, year 0 is 1 BC); years past 9999 print all
 * their digits without a sign ("10000-01-01").
 */
#include "pq_reader_int.h"

#include <stdio.h>

#define NANOS_PER_DAY INT64_C(86400000000000)
#define JULIAN_UNIX_EPOCH INT64_C(2440588)  /* Julian day number of 1970-01-01 */
/* Decimals wider than this (after dropping sign-extension bytes) are
 * refused: 64 bytes is 154 digits, far past any DECIMAL precision in use. */
#define MAX_DECIMAL_BYTES 64

/* ---------------------------------------------------------- decimal */

/* Appends digits (most significant first) with `scale` fraction digits. */
static int put_scaled(dc_buf *out, bool neg, const char *digits, size_t nd, int32_t scale,
                      dc_err *err)
{
    DC_TRY(dc_buf_putc(out, '"', err));
    if (neg) DC_TRY(dc_buf_putc(out, '-', err));
    if (scale <= 0) {
        DC_TRY(dc_buf_append(out, digits, nd, err));
        for (int32_t i = 0; i < -scale && !(nd == 1 && digits[0] == '0'); i++)
            DC_TRY(dc_buf_putc(out, '0', err));
    } else if (nd <= (size_t)scale) {
        DC_TRY(dc_buf_append(out, "0.", 2, err));
        for (size_t i = nd; i < (size_t)scale; i++) DC_TRY(dc_buf_putc(out, '0', err));
        DC_TRY(dc_buf_append(out, digits, nd, err));
    } else {
        DC_TRY(dc_buf_append(out, digits, nd - (size_t)scale, err));
        DC_TRY(dc_buf_putc(out, '.', err));
        DC_TRY(dc_buf_append(out, digits + nd - (size_t)scale, (size_t)scale, err));
    }
    return dc_buf_putc(out, '"', err);
}

/* Decimal digits of a 128-bit magnitude into buf (no terminator); returns count. */
static size_t u128_digits(char buf[40], unsigned __int128 v)
{
    char tmp[40];
    size_t n = 0;
    while (v > UINT64_MAX) {
        /* peel 19 digits at a time so the slow 128-bit division runs at most twice */
        uint64_t low = (uint64_t)(v % UINT64_C(10000000000000000000));
        v /= UINT64_C(10000000000000000000);
        for (int i = 0; i < 19; i++, low /= 10) tmp[n++] = (char)('0' + low % 10);
    }
    uint64_t w = (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + w % 10);
        w /= 10;
    } while (w);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    return n;
}

static int put_decimal_i128(dc_buf *out, __int128 v, int32_t scale, dc_err *err)
{
    char d[40];
    bool neg = v < 0;
    unsigned __int128 mag = neg ? (unsigned __int128)0 - (unsigned __int128)v
                                : (unsigned __int128)v;
    size_t nd = u128_digits(d, mag);
    return put_scaled(out, neg, d, nd, scale, err);
}

/* Magnitude bytes (big-endian) to decimal digits by repeated division by 1e9. */
static int put_decimal_big(dc_buf *out, bool neg, uint8_t *mag, size_t n, int32_t scale,
                           dc_err *err)
{
    char digits[MAX_DECIMAL_BYTES * 3 + 16];
    size_t nd = 0;
    size_t first = 0;
    while (first < n) {
        uint64_t rem = 0;
        for (size_t i = first; i < n; i++) {
            uint64_t cur = rem << 8 | mag[i];
            mag[i] = (uint8_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        while (first < n && mag[first] == 0) first++;
        for (int k = 0; k < 9 && (first < n || rem); k++, rem /= 10)
            digits[nd++] = (char)('0' + rem % 10);
    }
    if (nd == 0) digits[nd++] = '0';
    for (size_t i = 0; i < nd / 2; i++) {
        char t = digits[i];
        digits[i] = digits[nd - 1 - i];
        digits[nd - 1 - i] = t;
    }
    return put_scaled(out, neg, digits, nd, scale, err);
}

int pq_json_put_decimal_be(dc_buf *out, const uint8_t *p, size_t n, int32_t scale, dc_err *err)
{
    if (n == 0) return dc_err_set(err, DC_ECORRUPT, "decimal value of 0 bytes");
    bool neg = p[0] & 0x80;
    uint8_t ext = neg ? 0xff : 0x00;
    /* drop sign-extension bytes, keeping one that carries the sign */
    while (n > 1 && p[0] == ext && ((p[1] & 0x80) == (ext & 0x80))) {
        p++;
        n--;
    }
    if (n <= 16) {
        unsigned __int128 u = neg ? ~(unsigned __int128)0 : 0;
        for (size_t i = 0; i < n; i++) u = u << 8 | p[i];
        return put_decimal_i128(out, (__int128)u, scale, err);
    }
    if (n > MAX_DECIMAL_BYTES)
        return dc_err_set(err, DC_EUNSUPPORTED, "decimal value of %zu significant bytes (at most "
                          "%d)", n, MAX_DECIMAL_BYTES);
    uint8_t mag[MAX_DECIMAL_BYTES];
    memcpy(mag, p, n);
    if (neg) {  /* two's complement negation: invert, add one */
        unsigned carry = 1;
        for (size_t i = n; i-- > 0;) {
            unsigned s = (uint8_t)~mag[i] + carry;
            mag[i] = (uint8_t)s;
            carry = s >> 8;
        }
    }
    return put_decimal_big(out, neg, mag, n, scale, err);
}

/* ------------------------------------------------------ date and time */

/* v = *q * per + *r with 0 <= *r < per (per > 0), without overflow. */
static void split_floor(int64_t v, int64_t per, int64_t *q, int64_t *r)
{
    *q = v / per;
    *r = v % per;
    if (*r < 0) {
        *r += per;
        --*q;
    }
}

/* "YYYY-MM-DD" without quotes into b; returns its length. */
static int fmt_date(char *b, size_t cap, int64_t days)
{
    int64_t y;
    unsigned m, d;
    dc_civil_from_days(days, &y, &m, &d);
    if (y >= 0) return snprintf(b, cap, "%04lld-%02u-%02u", (long long)y, m, d);
    return snprintf(b, cap, "-%04lld-%02u-%02u", -(long long)y, m, d);
}

int pq_json_put_date(dc_buf *out, int64_t days, dc_err *err)
{
    char b[48];
    int n = fmt_date(b, sizeof b, days);
    DC_TRY(dc_buf_putc(out, '"', err));
    DC_TRY(dc_buf_append(out, b, (size_t)n, err));
    return dc_buf_putc(out, '"', err);
}

/* "HH:MM:SS.fff..." of `frac_digits` digits for a time of day in units of
 * 10^-frac_digits s, 0 <= tod < one day. */
static int fmt_tod(char *b, size_t cap, int64_t tod, int frac_digits)
{
    int64_t per_s = frac_digits == 9 ? INT64_C(1000000000) : INT64_C(1000000);
    int64_t s = tod / per_s, frac = tod % per_s;
    return snprintf(b, cap, "%02d:%02d:%02d.%0*lld", (int)(s / 3600), (int)(s / 60 % 60),
                    (int)(s % 60), frac_digits, (long long)frac);
}

/* A timestamp split into days since the epoch and a time of day. */
static int put_ts_parts(dc_buf *out, int64_t days, int64_t tod, int frac_digits, bool utc,
                        dc_err *err)
{
    char b[96];
    int n = fmt_date(b, sizeof b, days);
    b[n++] = 'T';
    n += fmt_tod(b + n, sizeof b - (size_t)n, tod, frac_digits);
    if (utc) b[n++] = 'Z';
    DC_TRY(dc_buf_putc(out, '"', err));
    DC_TRY(dc_buf_append(out, b, (size_t)n, err));
    return dc_buf_putc(out, '"', err);
}

int pq_json_put_timestamp(dc_buf *out, int64_t v, pq_time_unit unit, bool utc, dc_err *err)
{
    int64_t per_day, scale = 1;
    int digits = 6;
    switch (unit) {
    case PQ_UNIT_MILLIS: per_day = INT64_C(86400000); scale = 1000; break;
    case PQ_UNIT_MICROS: per_day = INT64_C(86400000000); break;
    case PQ_UNIT_NANOS: per_day = NANOS_PER_DAY; digits = 9; break;
    default: return dc_err_set(err, DC_ECORRUPT, "timestamp unit %d", (int)unit);
    }
    int64_t days, tod;
    split_floor(v, per_day, &days, &tod);
    return put_ts_parts(out, days, tod * scale, digits, utc, err);
}

int pq_json_put_int96(dc_buf *out, const uint8_t p[12], dc_err *err)
{
    int64_t nanos = (int64_t)dc_load_le64(p);
    int64_t jd = (int32_t)dc_load_le32(p + 8);
    /* Spark's reading: (day - epoch) * micros per day + nanos / 1000, in
     * wrapping 64-bit arithmetic (out-of-range values wrap as in Spark) */
    uint64_t us = (uint64_t)(jd - JULIAN_UNIX_EPOCH) * UINT64_C(86400000000) +
                  (uint64_t)(nanos / 1000);
    return pq_json_put_timestamp(out, (int64_t)us, PQ_UNIT_MICROS, true, err);
}

static int put_time(dc_buf *out, int64_t v, pq_time_unit unit, dc_err *err)
{
    int64_t per_day = unit == PQ_UNIT_MILLIS ? INT64_C(86400000)
                    : unit == PQ_UNIT_MICROS ? INT64_C(86400000000) : NANOS_PER_DAY;
    if (v < 0 || v >= per_day)
        return dc_err_set(err, DC_ECORRUPT, "TIME value %lld outside one day", (long long)v);
    char b[48];
    int n = fmt_tod(b, sizeof b, unit == PQ_UNIT_MILLIS ? v * 1000 : v,
                    unit == PQ_UNIT_NANOS ? 9 : 6);
    DC_TRY(dc_buf_putc(out, '"', err));
    DC_TRY(dc_buf_append(out, b, (size_t)n, err));
    return dc_buf_putc(out, '"', err);
}

/* ------------------------------------------------------------ others */

float pq_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0x1f) {
        bits = sign | 0x7f800000u | m << 13;          /* infinity or NaN */
    } else if (e != 0) {
        bits = sign | (e + 112) << 23 | m << 13;      /* normal: rebias 15 → 127 */
    } else if (m == 0) {
        bits = sign;                                  /* ±0 */
    } else {                                          /* subnormal: normalise */
        int shift = 0;
        while (!(m & 0x400)) {
            m <<= 1;
            shift++;
        }
        bits = sign | (uint32_t)(113 - shift) << 23 | (m & 0x3ff) << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

bool pq_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n && (dc_load_le64(p + i) & UINT64_C(0x8080808080808080)) == 0) {
            i += 8;
            continue;
        }
        uint8_t c = p[i];
        if (c < 0x80) { i++; continue; }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
        else return false;
        if (n - i < len) return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += len;
    }
    return true;
}

static int put_base64(dc_buf *out, const uint8_t *p, size_t n, dc_err *err)
{
    DC_TRY(dc_buf_putc(out, '"', err));
    DC_TRY(dc_base64_encode(out, p, n, err));
    return dc_buf_putc(out, '"', err);
}

static int put_uuid(dc_buf *out, const uint8_t *p, dc_err *err)
{
    static const char hex[] = "0123456789abcdef";
    char b[38];
    size_t k = 0;
    b[k++] = '"';
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) b[k++] = '-';
        b[k++] = hex[p[i] >> 4];
        b[k++] = hex[p[i] & 15];
    }
    b[k++] = '"';
    return dc_buf_append(out, b, k, err);
}

static int mismatch(const dc_pq_leaf *l, dc_err *err)
{
    return dc_err_set(err, DC_ECORRUPT, "logical type %d is not readable from physical %s",
                      (int)l->field->type, pq_type_name(l->phys));
}

/* Integers (signed or not), floats and decimals stored in INT32/INT64. */
static int put_number(dc_buf *out, const dc_pq_leaf *l, const uint8_t *v, dc_err *err)
{
    const dc_pq_field *f = l->field;
    bool i32 = l->phys == PQ_INT32, i64 = l->phys == PQ_INT64;
    switch (f->type) {
    case DC_TYPE_BYTE: case DC_TYPE_SHORT: case DC_TYPE_INT: case DC_TYPE_LONG:
        if (i32) return dc_json_put_i64(out, (int32_t)dc_load_le32(v), err);
        if (i64) return dc_json_put_i64(out, (int64_t)dc_load_le64(v), err);
        return mismatch(l, err);
    case DC_TYPE_UINT8: case DC_TYPE_UINT16: case DC_TYPE_UINT32: case DC_TYPE_UINT64:
        if (i32) return dc_json_put_u64(out, dc_load_le32(v), err);
        if (i64) return dc_json_put_u64(out, dc_load_le64(v), err);
        return mismatch(l, err);
    case DC_TYPE_FLOAT: case DC_TYPE_DOUBLE:
        if (l->phys == PQ_FLOAT) {
            float x;
            memcpy(&x, v, 4);
            return dc_json_put_f32(out, x, err);
        }
        if (l->phys == PQ_DOUBLE) {
            double x;
            memcpy(&x, v, 8);
            return dc_json_put_f64(out, x, err);
        }
        return mismatch(l, err);
    default:  /* DECIMAL */
        if (i32) return put_decimal_i128(out, (int32_t)dc_load_le32(v), f->scale, err);
        if (i64) return put_decimal_i128(out, (int64_t)dc_load_le64(v), f->scale, err);
        return mismatch(l, err);
    }
}

static int put_temporal(dc_buf *out, const dc_pq_leaf *l, const uint8_t *v, dc_err *err)
{
    const dc_pq_field *f = l->field;
    bool i32 = l->phys == PQ_INT32, i64 = l->phys == PQ_INT64;
    switch (f->type) {
    case DC_TYPE_DATE:
        if (!i32) return mismatch(l, err);
        return pq_json_put_date(out, (int32_t)dc_load_le32(v), err);
    case DC_TYPE_TIME:
        if (i32) return put_time(out, (int32_t)dc_load_le32(v), f->unit, err);
        if (i64) return put_time(out, (int64_t)dc_load_le64(v), f->unit, err);
        return mismatch(l, err);
    default:  /* TIMESTAMP, TIMESTAMP_NTZ */
        if (l->phys == PQ_INT96) return pq_json_put_int96(out, v, err);
        if (!i64) return mismatch(l, err);
        return pq_json_put_timestamp(out, (int64_t)dc_load_le64(v), f->unit,
                                     f->type == DC_TYPE_TIMESTAMP, err);
    }
}

int pq_json_put_value(dc_buf *out, const dc_pq_leaf *leaf, const dc_pq_column *col, size_t vi,
                      dc_err *err)
{
    const uint8_t *v, *base = col->values.data ? col->values.data : (const uint8_t *)"";
    size_t n;
    if (leaf->phys == PQ_BYTE_ARRAY) {
        v = base + col->offsets[vi];
        n = col->offsets[vi + 1] - col->offsets[vi];
    } else {
        n = dc_pq_phys_width(leaf->phys, leaf->type_length);
        v = base + vi * n;
    }
    const dc_pq_field *f = leaf->field;
    switch (f->type) {
    case DC_TYPE_BOOLEAN:
        if (leaf->phys != PQ_BOOLEAN) return mismatch(leaf, err);
        return dc_buf_append(out, v[0] ? "true" : "false", v[0] ? 4 : 5, err);
    case DC_TYPE_BYTE: case DC_TYPE_SHORT: case DC_TYPE_INT: case DC_TYPE_LONG:
    case DC_TYPE_UINT8: case DC_TYPE_UINT16: case DC_TYPE_UINT32: case DC_TYPE_UINT64:
    case DC_TYPE_FLOAT: case DC_TYPE_DOUBLE:
        return put_number(out, leaf, v, err);
    case DC_TYPE_DECIMAL:
        if (leaf->phys == PQ_BYTE_ARRAY || leaf->phys == PQ_FIXED_LEN_BYTE_ARRAY)
            return pq_json_put_decimal_be(out, v, n, f->scale, err);
        return put_number(out, leaf, v, err);
    case DC_TYPE_STRING:
        if (!pq_utf8_valid(v, n))
            return dc_err_set(err, DC_ECORRUPT, "invalid UTF-8 in a STRING value");
        return dc_json_put_str(out, (const char *)v, n, err);
    case DC_TYPE_BINARY:
        return put_base64(out, v, n, err);
    case DC_TYPE_DATE: case DC_TYPE_TIME: case DC_TYPE_TIMESTAMP: case DC_TYPE_TIMESTAMP_NTZ:
        return put_temporal(out, leaf, v, err);
    case DC_TYPE_UUID:
        if (n != 16) return mismatch(leaf, err);
        return put_uuid(out, v, err);
    case DC_TYPE_FLOAT16:
        if (n != 2) return mismatch(leaf, err);
        return dc_json_put_f32(out, pq_half_to_float((uint16_t)(v[0] | v[1] << 8)), err);
    case DC_TYPE_NULL:
        return dc_buf_append(out, "null", 4, err);
    default:
        return dc_err_set(err, DC_EINTERNAL, "nested type %d at a leaf", (int)f->type);
    }
}
