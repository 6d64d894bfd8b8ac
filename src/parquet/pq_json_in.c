/*
 * JSON values → Parquet plain values, in the conventions of parquet.h:
 * numbers for integers (range-checked), numbers or "NaN"/"Infinity"/
 * "-Infinity" for floating point, strings (or numbers) for decimals with at
 * most `scale` significant fraction digits, "YYYY-MM-DD" dates, ISO-8601
 * timestamps, base64 binary. Every error says what was expected and what came.
 */
#include "pq_wr_int.h"
#include "pq_reader_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------ messages */

/* "got ..." part of a message: the value, shortened. */
static void describe(char *buf, size_t cap, const dc_json *v)
{
    switch (v->type) {
    case DC_JSON_NULL: snprintf(buf, cap, "null"); break;
    case DC_JSON_TRUE: snprintf(buf, cap, "true"); break;
    case DC_JSON_FALSE: snprintf(buf, cap, "false"); break;
    case DC_JSON_ARRAY: snprintf(buf, cap, "an array"); break;
    case DC_JSON_OBJECT: snprintf(buf, cap, "an object"); break;
    case DC_JSON_NUMBER:
        snprintf(buf, cap, "%.*s%s", v->len > 40 ? 40 : (int)v->len, v->u.str,
                 v->len > 40 ? "..." : "");
        break;
    case DC_JSON_STRING: {
        /* Control bytes and quotes shown as '?' so the message stays one line. */
        char s[48];
        uint32_t n = v->len > 40 ? 40 : v->len;
        for (uint32_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)v->u.str[i];
            s[i] = ch < 0x20 || ch == '"' || ch == 0x7f ? '?' : (char)ch;
        }
        s[n] = '\0';
        snprintf(buf, cap, "\"%s%s\"", s, v->len > 40 ? "..." : "");
        break;
    }
    }
}

static int expected(dc_err *err, int code, const char *what, const dc_json *v)
{
    char got[96];
    describe(got, sizeof got, v);
    return dc_err_set(err, code, "expected %s, got %s", what, got);
}

/* ------------------------------------------------------------ integers */

/* Integer text (JSON number without fraction or exponent) → int64. */
static bool parse_i64(int64_t *out, const char *s, size_t n)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    if (i == n) return false;
    uint64_t m = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (m > (UINT64_MAX - d) / 10) return false;
        m = m * 10 + d;
    }
    if (neg ? m > (uint64_t)INT64_MAX + 1 : m > (uint64_t)INT64_MAX) return false;
    *out = neg ? (int64_t)(0 - m) : (int64_t)m;
    return true;
}

static bool parse_u64(uint64_t *out, const char *s, size_t n)
{
    if (n == 0) return false;
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (m > (UINT64_MAX - d) / 10) return false;
        m = m * 10 + d;
    }
    *out = m;
    return true;
}

static int put_i32(dc_pq_column *c, int32_t v, dc_err *err)
{
    return dc_buf_append(&c->values, &v, 4, err);
}

static int put_i64(dc_pq_column *c, int64_t v, dc_err *err)
{
    return dc_buf_append(&c->values, &v, 8, err);
}

/* Signed integer in [lo, hi]. */
static int json_int(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v, int64_t lo,
                    int64_t hi, const char *what, dc_err *err)
{
    int64_t x;
    if (v->type != DC_JSON_NUMBER || !parse_i64(&x, v->u.str, v->len) || x < lo || x > hi)
        return expected(err, DC_EINVAL, what, v);
    if (leaf->phys == PQ_INT64) return put_i64(c, x, err);
    return put_i32(c, (int32_t)x, err);
}

static int json_uint(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v, uint64_t hi,
                     const char *what, dc_err *err)
{
    uint64_t x;
    if (v->type != DC_JSON_NUMBER || !parse_u64(&x, v->u.str, v->len) || x > hi)
        return expected(err, DC_EINVAL, what, v);
    if (leaf->phys == PQ_INT64) return put_i64(c, (int64_t)x, err);
    return put_i32(c, (int32_t)(uint32_t)x, err);
}

/* ------------------------------------------------------- floating point */

static bool str_is(const dc_json *v, const char *s)
{
    size_t n = strlen(s);
    return v->len == n && memcmp(v->u.str, s, n) == 0;
}

static int json_double(double *out, const dc_json *v, const char *what, dc_err *err)
{
    if (v->type == DC_JSON_STRING) {
        if (str_is(v, "NaN")) *out = NAN;
        else if (str_is(v, "Infinity") || str_is(v, "+Infinity")) *out = INFINITY;
        else if (str_is(v, "-Infinity")) *out = -INFINITY;
        else return expected(err, DC_EINVAL, what, v);
        return 0;
    }
    if (v->type != DC_JSON_NUMBER) return expected(err, DC_EINVAL, what, v);
    dc_err e2;
    if (dc_json_f64(out, v, what, &e2) < 0) return expected(err, DC_EINVAL, what, v);
    /* A finite literal too large for a double is not "Infinity". */
    if (isinf(*out)) return expected(err, DC_EINVAL, what, v);
    return 0;
}

static int json_float(dc_pq_column *c, const dc_json *v, dc_err *err)
{
    double d;
    DC_TRY(json_double(&d, v, "a float", err));
    float f = (float)d;
    if (v->type == DC_JSON_NUMBER) {
        /* Straight to float: text -> double -> float can round twice. The
         * text is NUL-terminated; a locale with another decimal point stops
         * strtof early, and then the double stands. */
        char *end = NULL;
        float g = strtof(v->u.str, &end);
        if (end == v->u.str + v->len) f = g;
    }
    if (isinf(f) && !isinf(d)) return expected(err, DC_EINVAL, "a float (in its range)", v);
    return dc_buf_append(&c->values, &f, 4, err);
}

/* -------------------------------------------------------------- decimal */

typedef unsigned __int128 u128;

/* 10^38: decimals have at most 38 digits. */
static u128 pow10_u128(int k)
{
    u128 p = 1;
    while (k-- > 0) p *= 10;
    return p;
}

/* Parses decimal text (sign, digits, '.', digits, exponent) into the unscaled
 * value at `scale`. Fails with a reason for: syntax, significant digits
 * beyond the scale, more than `precision` digits. */
static const char *parse_decimal(u128 *mag, bool *neg, const char *s, size_t n, int32_t precision,
                                 int32_t scale)
{
    size_t i = 0, int0, int1, fr0 = 0, fr1 = 0;
    *neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) *neg = s[i++] == '-';
    int0 = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    int1 = i;
    if (i < n && s[i] == '.') {
        fr0 = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        fr1 = i;
    }
    if (int1 == int0 && fr1 == fr0) return "no digits";
    int64_t e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
        if (i == n) return "bad exponent";
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if ((e = e * 10 + (s[i] - '0')) > 100000) return "exponent out of range";
        if (eneg) e = -e;
    }
    if (i != n) return "not a number";
    /* Each digit has weight 10^x at the target scale: x < 0 must be zero. */
    const u128 limit = pow10_u128(precision);
    u128 m = 0;
    int64_t x_last = 0;
    bool any = false;
    int64_t x = (int64_t)(int1 - int0) - 1 + e + scale;
    for (int part = 0; part < 2; part++) {
        size_t k0 = part ? fr0 : int0, k1 = part ? fr1 : int1;
        for (size_t k = k0; k < k1; k++, x--) {
            unsigned d = (unsigned)(s[k] - '0');
            if (x < 0) {
                if (d) return "more fraction digits than the scale";
                continue;
            }
            if (m > (limit - 1 - d) / 10) return "more digits than the precision";
            m = m * 10 + d;
            x_last = x;
            any = true;
        }
    }
    for (; any && m && x_last > 0; x_last--) {
        if (m > (limit - 1) / 10) return "more digits than the precision";
        m *= 10;
    }
    if (m >= limit) return "more digits than the precision";
    *mag = m;
    if (m == 0) *neg = false;
    return NULL;
}

/* Big-endian two's complement of v in `width` bytes. */
static void store_be(uint8_t *out, size_t width, u128 mag, bool neg)
{
    u128 v = neg ? (u128)0 - mag : mag;
    for (size_t i = 0; i < width; i++) {
        size_t shift = i * 8;
        uint8_t b = shift < 128 ? (uint8_t)(v >> shift) : (neg ? 0xff : 0);
        out[width - 1 - i] = b;
    }
}

static int json_decimal(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v, dc_err *err)
{
    const dc_pq_field *f = leaf->field;
    if (f->precision < 1 || f->precision > 38 || f->scale < 0 || f->scale > f->precision)
        return dc_err_set(err, DC_EINVAL, "decimal(%d,%d) is not a valid decimal type",
                          (int)f->precision, (int)f->scale);
    u128 mag;
    bool neg;
    const char *why = v->type != DC_JSON_STRING && v->type != DC_JSON_NUMBER
                          ? "" : parse_decimal(&mag, &neg, v->u.str, v->len, f->precision, f->scale);
    if (why) {
        char got[96];
        describe(got, sizeof got, v);
        return dc_err_set(err, DC_EINVAL, "expected a decimal(%d,%d), got %s%s%s%s",
                          (int)f->precision, (int)f->scale, got, *why ? " (" : "", why,
                          *why ? ")" : "");
    }
    if (leaf->phys == PQ_INT32) return put_i32(c, (int32_t)(neg ? -(int64_t)mag : (int64_t)mag), err);
    if (leaf->phys == PQ_INT64) return put_i64(c, neg ? -(int64_t)mag : (int64_t)mag, err);
    if (leaf->phys != PQ_FIXED_LEN_BYTE_ARRAY && leaf->phys != PQ_BYTE_ARRAY)
        return dc_err_set(err, DC_EUNSUPPORTED, "decimal stored as %s", pq_type_name(leaf->phys));
    uint8_t be[64];
    size_t width = leaf->phys == PQ_FIXED_LEN_BYTE_ARRAY ? (size_t)leaf->type_length : 16;
    if (width < 1 || width > sizeof be)
        return dc_err_set(err, DC_EUNSUPPORTED, "decimal in %zu bytes", width);
    /* The magnitude must fit the width as a signed number. */
    if (width < 16) {
        u128 lim = (u128)1 << (width * 8 - 1);
        if (neg ? mag > lim : mag >= lim)
            return dc_err_set(err, DC_EINVAL, "decimal does not fit %zu bytes", width);
    }
    store_be(be, width, mag, neg);
    if (leaf->phys == PQ_BYTE_ARRAY) return pq_wr_col_push_ba(c, be, width, err);
    return dc_buf_append(&c->values, be, width, err);
}

/* ------------------------------------------------------ dates and times */

static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* "YYYY-MM-DD" at s (n >= 10) → days; false if malformed or not a real date. */
static bool parse_date(int64_t *days, const char *s, size_t n)
{
    unsigned y, m, d;
    if (n < 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &m) ||
        !digits(s + 8, 2, &d))
        return false;
    static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap) return false;
    *days = dc_days_from_civil(y, m, d);
    return true;
}

/* "HH:MM:SS[.f{1,9}]" at s → nanoseconds of the day; *used = bytes read. */
static bool parse_time(int64_t *nanos, size_t *used, const char *s, size_t n)
{
    unsigned h, mi, se;
    if (n < 8 || s[2] != ':' || s[5] != ':' || !digits(s, 2, &h) || !digits(s + 3, 2, &mi) ||
        !digits(s + 6, 2, &se) || h > 23 || mi > 59 || se > 59)
        return false;
    size_t i = 8;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        size_t k = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, k++) {
            if (k >= 9) return false;
            frac = frac * 10 + (s[i] - '0');
        }
        if (k == 0) return false;
        for (; k < 9; k++) frac *= 10;
    }
    *nanos = ((int64_t)h * 3600 + mi * 60 + se) * 1000000000 + frac;
    *used = i;
    return true;
}

/* Zone suffix: "", "Z", "+HH:MM", "+HHMM", "+HH" → offset seconds. */
static bool parse_zone(int64_t *off, bool *has_zone, const char *s, size_t n)
{
    *off = 0;
    *has_zone = n > 0;
    if (n == 0) return true;
    if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) return true;
    if (s[0] != '+' && s[0] != '-') return false;
    unsigned hh, mm = 0;
    if (n < 3 || !digits(s + 1, 2, &hh)) return false;
    if (n == 6 && s[3] == ':') {
        if (!digits(s + 4, 2, &mm)) return false;
    } else if (n == 5) {
        if (!digits(s + 3, 2, &mm)) return false;
    } else if (n != 3) {
        return false;
    }
    if (hh > 18 || mm > 59) return false;
    *off = (s[0] == '-' ? -1 : 1) * ((int64_t)hh * 3600 + mm * 60);
    return true;
}

/* Timestamp text → seconds since the epoch (UTC) and nanoseconds within. */
static bool parse_timestamp(int64_t *secs, int64_t *nanos, bool *has_zone, const char *s,
                            size_t n)
{
    int64_t days, tod = 0, off = 0;
    if (!parse_date(&days, s, n)) return false;
    size_t i = 10;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return false;
        size_t used;
        if (!parse_time(&tod, &used, s + i + 1, n - i - 1)) return false;
        i += 1 + used;
    }
    if (!parse_zone(&off, has_zone, s + i, n - i)) return false;
    *secs = days * 86400 + tod / 1000000000 - off;
    *nanos = tod % 1000000000;
    return true;
}

/* Seconds + nanos → value in `unit`; false when it does not fit or would
 * lose sub-unit digits. */
static bool to_unit(int64_t *out, int64_t secs, int64_t nanos, pq_time_unit unit)
{
    int64_t per = unit == PQ_UNIT_MILLIS ? 1000 : unit == PQ_UNIT_MICROS ? 1000000 : 1000000000;
    int64_t div = 1000000000 / per, v;
    if (nanos % div) return false;
    if (dc_mul_overflow_i64(secs, per, &v) || dc_add_overflow_i64(v, nanos / div, &v))
        return false;
    *out = v;
    return true;
}

static int json_date(dc_pq_column *c, const dc_json *v, dc_err *err)
{
    int64_t days;
    if (v->type != DC_JSON_STRING || v->len != 10 || !parse_date(&days, v->u.str, v->len))
        return expected(err, DC_EINVAL, "a date \"YYYY-MM-DD\"", v);
    return put_i32(c, (int32_t)days, err);
}

static int json_timestamp(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v, bool ntz,
                          dc_err *err)
{
    const char *what = ntz ? "a timestamp_ntz \"YYYY-MM-DDTHH:MM:SS[.ffffff]\""
                           : "a timestamp \"YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM]\"";
    int64_t secs, nanos, x;
    bool has_zone;
    if (v->type != DC_JSON_STRING || !parse_timestamp(&secs, &nanos, &has_zone, v->u.str, v->len))
        return expected(err, DC_EINVAL, what, v);
    if (ntz && has_zone && !(v->len > 0 && (v->u.str[v->len - 1] == 'Z' || v->u.str[v->len - 1] == 'z')))
        return expected(err, DC_EINVAL, what, v);
    if (leaf->phys == PQ_INT96) {
        /* Legacy INT96: nanoseconds of the day, then the Julian day. */
        int64_t day = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
        int64_t nod = (secs - day * 86400) * 1000000000 + nanos;
        uint32_t jd = (uint32_t)(day + 2440588);
        uint8_t b[12];
        memcpy(b, &nod, 8);
        memcpy(b + 8, &jd, 4);
        return dc_buf_append(&c->values, b, 12, err);
    }
    pq_time_unit unit = leaf->field->unit ? leaf->field->unit : PQ_UNIT_MICROS;
    if (!to_unit(&x, secs, nanos, unit))
        return expected(err, DC_EINVAL, unit == PQ_UNIT_NANOS ? "a timestamp in range"
                        : unit == PQ_UNIT_MICROS ? "a timestamp with at most 6 fraction digits"
                                                 : "a timestamp with at most 3 fraction digits",
                        v);
    if (leaf->phys == PQ_INT32) return put_i32(c, (int32_t)x, err);
    return put_i64(c, x, err);
}

static int json_time(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v, dc_err *err)
{
    int64_t nanos, x;
    size_t used;
    pq_time_unit unit = leaf->field->unit ? leaf->field->unit : PQ_UNIT_MICROS;
    if (v->type != DC_JSON_STRING || !parse_time(&nanos, &used, v->u.str, v->len) ||
        used != v->len || !to_unit(&x, 0, nanos, unit))
        return expected(err, DC_EINVAL, "a time \"HH:MM:SS[.ffffff]\"", v);
    if (leaf->phys == PQ_INT32) return put_i32(c, (int32_t)x, err);
    return put_i64(c, x, err);
}

/* -------------------------------------------------------- byte strings */

static int json_binary(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v, dc_err *err)
{
    if (v->type != DC_JSON_STRING) return expected(err, DC_EINVAL, "a base64 string", v);
    size_t before = c->values.len;
    dc_err e2;
    int rc = dc_base64_decode(&c->values, v->u.str, v->len, &e2);
    if (rc == DC_ENOMEM || rc == DC_ELIMIT) {
        c->values.len = before;
        *err = e2;
        return rc;
    }
    if (rc < 0) {
        c->values.len = before;
        return expected(err, DC_EINVAL, "a base64 string", v);
    }
    if (leaf->phys == PQ_FIXED_LEN_BYTE_ARRAY) {
        if (c->values.len - before != (size_t)leaf->type_length) {
            c->values.len = before;
            char what[64];
            snprintf(what, sizeof what, "base64 of exactly %d bytes", (int)leaf->type_length);
            return expected(err, DC_EINVAL, what, v);
        }
        return 0;
    }
    rc = pq_wr_col_close_ba(c, before, err);
    if (rc < 0) c->values.len = before;
    return rc;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int json_uuid(dc_pq_column *c, const dc_json *v, dc_err *err)
{
    uint8_t b[16];
    size_t k = 0;
    bool ok = v->type == DC_JSON_STRING && v->len == 36;
    for (uint32_t i = 0; ok && i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            ok = v->u.str[i] == '-';
            continue;
        }
        int hi = hexval(v->u.str[i]), lo = i + 1 < 36 ? hexval(v->u.str[i + 1]) : -1;
        ok = hi >= 0 && lo >= 0;
        if (ok) b[k++] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    if (!ok || k != 16) return expected(err, DC_EINVAL, "a uuid \"8-4-4-4-12\" of hex digits", v);
    return dc_buf_append(&c->values, b, 16, err);
}

static int json_string(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v, dc_err *err)
{
    if (v->type != DC_JSON_STRING) return expected(err, DC_EINVAL, "a string", v);
    if (leaf->phys == PQ_FIXED_LEN_BYTE_ARRAY) {
        if (v->len != (uint32_t)leaf->type_length)
            return expected(err, DC_EINVAL, "a string of the column's fixed length", v);
        return dc_buf_append(&c->values, v->u.str, v->len, err);
    }
    return pq_wr_col_push_ba(c, (const uint8_t *)v->u.str, v->len, err);
}

/* ------------------------------------------------------------ dispatch */

static int json_bool(dc_pq_column *c, const dc_json *v, dc_err *err)
{
    if (v->type != DC_JSON_TRUE && v->type != DC_JSON_FALSE)
        return expected(err, DC_EINVAL, "a boolean", v);
    return dc_buf_putc(&c->values, v->type == DC_JSON_TRUE, err);
}

static int json_double_col(dc_pq_column *c, const dc_json *v, dc_err *err)
{
    double d;
    DC_TRY(json_double(&d, v, "a double", err));
    return dc_buf_append(&c->values, &d, 8, err);
}

int pq_wr_json_value(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v, dc_err *err)
{
    switch (leaf->field->type) {
    case DC_TYPE_BOOLEAN: return json_bool(c, v, err);
    case DC_TYPE_BYTE: return json_int(c, leaf, v, INT8_MIN, INT8_MAX, "a byte (-128..127)", err);
    case DC_TYPE_SHORT:
        return json_int(c, leaf, v, INT16_MIN, INT16_MAX, "a short (-32768..32767)", err);
    case DC_TYPE_INT: return json_int(c, leaf, v, INT32_MIN, INT32_MAX, "an int (32 bits)", err);
    case DC_TYPE_LONG: return json_int(c, leaf, v, INT64_MIN, INT64_MAX, "a long (64 bits)", err);
    case DC_TYPE_UINT8: return json_uint(c, leaf, v, UINT8_MAX, "an unsigned byte", err);
    case DC_TYPE_UINT16: return json_uint(c, leaf, v, UINT16_MAX, "an unsigned short", err);
    case DC_TYPE_UINT32: return json_uint(c, leaf, v, UINT32_MAX, "an unsigned int", err);
    case DC_TYPE_UINT64: return json_uint(c, leaf, v, UINT64_MAX, "an unsigned long", err);
    case DC_TYPE_FLOAT: return json_float(c, v, err);
    case DC_TYPE_DOUBLE: return json_double_col(c, v, err);
    case DC_TYPE_STRING: return json_string(c, leaf, v, err);
    case DC_TYPE_BINARY: return json_binary(c, leaf, v, err);
    case DC_TYPE_DECIMAL: return json_decimal(c, leaf, v, err);
    case DC_TYPE_DATE: return json_date(c, v, err);
    case DC_TYPE_TIMESTAMP: return json_timestamp(c, leaf, v, false, err);
    case DC_TYPE_TIMESTAMP_NTZ: return json_timestamp(c, leaf, v, true, err);
    case DC_TYPE_TIME: return json_time(c, leaf, v, err);
    case DC_TYPE_UUID: return json_uuid(c, v, err);
    case DC_TYPE_NULL: return expected(err, DC_EINVAL, "null (the column's type is null)", v);
    case DC_TYPE_FLOAT16:
        return dc_err_set(err, DC_EUNSUPPORTED, "writing float16 values is not supported");
    case DC_TYPE_STRUCT: case DC_TYPE_ARRAY: case DC_TYPE_MAP: break;
    }
    return dc_err_set(err, DC_EINTERNAL, "leaf %s has a non-primitive type", leaf->dotted);
}

/* ------------------------------------------------------ column values */

int dc_pq_column_put_json(dc_pq_column *c, const dc_pq_leaf *leaf, const dc_json *v, dc_err *err)
{
    if (leaf->max_rep > 0)
        return dc_err_set(err, DC_EINVAL, "leaf %s is repeated: not a flat column", leaf->dotted);
    if (!v && leaf->max_def == 0)
        return dc_err_set(err, DC_EINVAL, "leaf %s is required: null", leaf->dotted);
    /* a JSON member's string is UTF-8 (the parser checked it); these are not parsed */
    if (v && v->type == DC_JSON_STRING && leaf->field->type == DC_TYPE_STRING &&
        !pq_utf8_valid((const uint8_t *)v->u.str, v->len))
        return dc_err_set(err, DC_EINVAL, "leaf %s: a string that is not UTF-8", leaf->dotted);
    DC_TRY(pq_wr_col_reserve_levels(c, leaf, 1, err));
    if (v) {
        const size_t before = c->values.len;
        const int rc = pq_wr_json_value(c, leaf, v, err);
        if (rc < 0) {
            c->values.len = before;
            return rc;
        }
        /* Byte-array pushes count their value themselves (offsets in step). */
        if (leaf->phys != PQ_BYTE_ARRAY) c->n_values++;
    }
    if (leaf->max_def > 0) c->def[c->n_levels] = (int16_t)(leaf->max_def - (v ? 0 : 1));
    c->n_levels++;
    return 0;
}
