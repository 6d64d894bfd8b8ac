/*
 * delta: partition values, from their string form in the log (PROTOCOL.md,
 * Partition Value Serialization) to parquet.h's JSON value conventions.
 * The path escaping of partition directories plays no part here: the log
 * holds the unescaped value.
 */
#include "delta_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int bad_value(dc_err *err, const dc_delta_field *f, const char *v, const char *expected)
{
    return dc_err_set(err, DC_ECORRUPT, "delta: partition value '%.200s' of column '%s': expected %s",
                      v, f->name, expected);
}

static bool parse_i64(const char *s, int64_t *out)
{
    if (!*s || *s == ' ') return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static int put_int(dc_buf *out, const dc_delta_field *f, const char *v, dc_err *err)
{
    int64_t x, lo = INT64_MIN, hi = INT64_MAX;
    switch (f->type) {
    case DC_TYPE_BYTE: lo = INT8_MIN; hi = INT8_MAX; break;
    case DC_TYPE_SHORT: lo = INT16_MIN; hi = INT16_MAX; break;
    case DC_TYPE_INT: lo = INT32_MIN; hi = INT32_MAX; break;
    default: break;
    }
    if (!parse_i64(v, &x) || x < lo || x > hi) return bad_value(err, f, v, "an integer in range");
    return dc_json_put_i64(out, x, err);
}

static int put_float(dc_buf *out, const dc_delta_field *f, const char *v, dc_err *err)
{
    char *end;
    if (!*v || *v == ' ') return bad_value(err, f, v, "a number");
    if (f->type == DC_TYPE_FLOAT) {
        float x = strtof(v, &end);
        if (*end) return bad_value(err, f, v, "a number");
        return dc_json_put_f32(out, x, err);
    }
    double x = strtod(v, &end);
    if (*end) return bad_value(err, f, v, "a number");
    return dc_json_put_f64(out, x, err);
}

/* Decimal text ([+-]digits[.digits][(e|E)[+-]digits]) to exactly `scale`
 * fraction digits; a value that needs more precision is an error. */
static int put_decimal(dc_buf *out, const dc_delta_field *f, const char *v, dc_err *err)
{
    char digits[80];
    size_t nd = 0;
    int point = -1;  /* digits before the point */
    const char *p = v;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    for (; *p && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.' && point < 0) {
            point = (int)nd;
        } else if (*p >= '0' && *p <= '9' && nd < sizeof digits) {
            digits[nd++] = *p;
        } else {
            return bad_value(err, f, v, "a decimal number");
        }
    }
    if (nd == 0) return bad_value(err, f, v, "a decimal number");
    if (point < 0) point = (int)nd;
    if (*p) {
        int64_t e;
        if (!parse_i64(p + 1, &e) || e < -100 || e > 100) return bad_value(err, f, v, "a decimal number");
        point += (int)e;
    }
    /* Unscaled digits: value = digits * 10^(point - nd); we want scale fraction digits. */
    char res[128];
    size_t nr = 0;
    int frac_have = (int)nd - point;  /* may be negative */
    for (size_t i = 0; i < nd; i++) {
        if ((int)i - point >= f->scale) {  /* beyond scale: must be zero */
            if (digits[i] != '0') return bad_value(err, f, v, "no more fraction digits than the scale");
            continue;
        }
        res[nr++] = digits[i];
    }
    for (int i = frac_have; i < f->scale; i++) {
        if (nr >= sizeof res) return bad_value(err, f, v, "a decimal within precision");
        res[nr++] = '0';
    }
    /* res holds the unscaled integer; strip leading zeros, check precision. */
    size_t lead = 0;
    while (lead + 1 < nr && res[lead] == '0') lead++;
    size_t sig = nr - lead;
    if (sig > (size_t)f->precision && !(sig == 1 && res[lead] == '0'))
        return bad_value(err, f, v, "a decimal within precision");
    bool zero = sig == 1 && res[lead] == '0';
    char text[160];
    size_t n = 0;
    if (neg && !zero) text[n++] = '-';
    size_t int_digits = sig > (size_t)f->scale ? sig - (size_t)f->scale : 0;
    if (int_digits == 0) text[n++] = '0';
    else for (size_t i = 0; i < int_digits; i++) text[n++] = res[lead + i];
    if (f->scale > 0) {
        text[n++] = '.';
        for (int i = 0; i < f->scale; i++) {
            /* fraction digit i counted from the point */
            long idx = (long)sig - f->scale + i;
            text[n++] = idx < 0 ? '0' : res[lead + (size_t)idx];
        }
    }
    return dc_json_put_str(out, text, n, err);
}

/* ------------------------------------------------------------- dates */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static bool valid_date(int64_t y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1) return false;
    return d <= mdays[m - 1] + (m == 2 && is_leap(y));
}

/* Reads exactly n digits. */
static bool digits_n(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* "[-]YYYY-MM-DD" (4+ digit years). Advances *p. */
static bool parse_date(const char **p, int64_t *days)
{
    const char *s = *p;
    bool neg = *s == '-';
    if (neg) s++;
    int64_t y = 0;
    int nd = 0;
    while (*s >= '0' && *s <= '9' && nd < 7) y = y * 10 + (*s++ - '0'), nd++;
    if (nd < 4 || *s != '-') return false;
    s++;
    int m, d;
    if (!digits_n(&s, 2, &m) || *s++ != '-' || !digits_n(&s, 2, &d)) return false;
    if (neg) y = -y;
    if (!valid_date(y, m, d)) return false;
    *days = days_from_civil(y, m, d);
    *p = s;
    return true;
}

static int put_date_text(dc_buf *out, int64_t days, dc_err *err)
{
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    return dc_buf_appendf(out, err, "\"%04lld-%02d-%02d\"", (long long)y, m, d);
}

/* "date[ T]HH:MM[:SS[.fraction]][Z|+HH:MM|-HH:MM]" → microseconds since the
 * epoch, the offset applied. *had_zone tells whether a zone was given. */
static bool parse_timestamp(const char *s, int64_t *micros, bool *had_zone)
{
    int64_t days;
    int hh = 0, mi = 0, ss = 0;
    int64_t frac = 0;
    *had_zone = false;
    if (!parse_date(&s, &days)) return false;
    if (*s == ' ' || *s == 'T') {
        s++;
        if (!digits_n(&s, 2, &hh) || *s++ != ':' || !digits_n(&s, 2, &mi)) return false;
        if (*s == ':') {
            s++;
            if (!digits_n(&s, 2, &ss)) return false;
            if (*s == '.') {
                s++;
                int nd = 0;
                while (*s >= '0' && *s <= '9') {
                    if (nd < 6) frac = frac * 10 + (*s - '0');
                    nd++, s++;
                }
                if (nd == 0 || nd > 9) return false;
                for (; nd < 6; nd++) frac *= 10;
            }
        }
    }
    if (hh > 23 || mi > 59 || ss > 59) return false;
    int64_t off_s = 0;
    if (*s == 'Z') {
        s++;
        *had_zone = true;
    } else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1, oh, om = 0;
        if (!digits_n(&s, 2, &oh)) return false;
        if (*s == ':') s++;
        if (*s && !digits_n(&s, 2, &om)) return false;
        off_s = sign * (oh * 3600 + om * 60);
        *had_zone = true;
    }
    if (*s) return false;
    *micros = ((days * 86400 + hh * 3600 + mi * 60 + ss) - off_s) * 1000000 + frac;
    return true;
}

static int put_timestamp_text(dc_buf *out, int64_t micros, bool utc, dc_err *err)
{
    int64_t secs = micros >= 0 ? micros / 1000000 : -((-micros + 999999) / 1000000);
    int64_t us = micros - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    return dc_buf_appendf(out, err, "\"%04lld-%02d-%02dT%02d:%02d:%02d.%06lld%s\"", (long long)y, m,
                          d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
                          (long long)us, utc ? "Z" : "");
}

static int put_temporal(dc_buf *out, const dc_delta_field *f, const char *v, dc_err *err)
{
    if (f->type == DC_TYPE_DATE) {
        int64_t days;
        const char *p = v;
        if (!parse_date(&p, &days) || *p) return bad_value(err, f, v, "a date YYYY-MM-DD");
        return put_date_text(out, days, err);
    }
    int64_t micros;
    bool zone;
    if (!parse_timestamp(v, &micros, &zone))
        return bad_value(err, f, v, "a timestamp YYYY-MM-DD HH:MM:SS[.ffffff]");
    return put_timestamp_text(out, micros, f->type == DC_TYPE_TIMESTAMP, err);
}

int dc_delta_partition_value_json(dc_buf *out, const dc_delta_field *f, const char *value,
                                  dc_err *err)
{
    if (!value || !*value || f->type == DC_TYPE_NULL) return dc_buf_puts(out, "null", err);
    switch (f->type) {
    case DC_TYPE_STRING: return dc_json_put_str(out, value, strlen(value), err);
    case DC_TYPE_BOOLEAN:
        if (strcasecmp(value, "true") == 0) return dc_buf_puts(out, "true", err);
        if (strcasecmp(value, "false") == 0) return dc_buf_puts(out, "false", err);
        return bad_value(err, f, value, "true or false");
    case DC_TYPE_BYTE:
    case DC_TYPE_SHORT:
    case DC_TYPE_INT:
    case DC_TYPE_LONG: return put_int(out, f, value, err);
    case DC_TYPE_FLOAT:
    case DC_TYPE_DOUBLE: return put_float(out, f, value, err);
    case DC_TYPE_DECIMAL: return put_decimal(out, f, value, err);
    case DC_TYPE_DATE:
    case DC_TYPE_TIMESTAMP:
    case DC_TYPE_TIMESTAMP_NTZ: return put_temporal(out, f, value, err);
    case DC_TYPE_BINARY:
        DC_TRY(dc_buf_putc(out, '"', err));
        DC_TRY(dc_base64_encode(out, (const uint8_t *)value, strlen(value), err));
        return dc_buf_putc(out, '"', err);
    default: break;
    }
    return dc_err_set(err, DC_EUNSUPPORTED,
                      "delta: partition column '%s' has a type that can not be a partition column",
                      f->name);
}
