/* Writing JSON: string escaping, integers without printf, shortest
 * round-trip doubles and floats, and compact serialization of a DOM. */
#include "dc_json.h"
#include "json_int.h"

#include "../common/dc_limits.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* For each byte, 0 when it is copied as is, else the letter after the
 * backslash ('u' for \u00XX). */
static const char escape_of[256] = {
    ['\x00'] = 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',    /* 0x00-0x07 */
    'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',               /* 0x08-0x0f */
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',               /* 0x10-0x17 */
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',               /* 0x18-0x1f */
    ['"'] = '"',
    ['\\'] = '\\',
};

static const char hex_digit[] = "0123456789abcdef";

int dc_json_put_str(dc_buf *out, const char *s, size_t n, dc_err *err)
{
    const uint8_t *p = (const uint8_t *)(s ? s : ""), *const end = p + (s ? n : 0);
    size_t need;
    if (dc_add_overflow_sz(n, 2, &need))
        return dc_err_set(err, DC_ELIMIT, "json: string of %zu bytes too long", n);
    DC_TRY(dc_buf_reserve(out, need, err)); /* the least it takes; escapes may add more */
    out->data[out->len++] = '"';
    while (p < end) {
        const uint8_t *const run = p;
        while (p < end && !escape_of[*p]) p++;
        DC_TRY(dc_buf_append(out, run, (size_t)(p - run), err));
        if (p == end) break;
        char e[6] = {'\\', escape_of[*p], '0', '0', hex_digit[*p >> 4], hex_digit[*p & 15]};
        DC_TRY(dc_buf_append(out, e, e[1] == 'u' ? 6 : 2, err));
        p++;
    }
    return dc_buf_putc(out, '"', err);
}

/* Two digits at a time (the classic itoa table). */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes v in decimal ending just before `end`; returns where it starts. */
static char *format_u64(char *end, uint64_t v)
{
    char *p = end;
    while (v >= 100) {
        const unsigned i = (unsigned)(v % 100) * 2;
        v /= 100;
        *--p = digit_pairs[i + 1];
        *--p = digit_pairs[i];
    }
    if (v >= 10) {
        *--p = digit_pairs[v * 2 + 1];
        *--p = digit_pairs[v * 2];
    } else {
        *--p = (char)('0' + v);
    }
    return p;
}

int dc_json_put_u64(dc_buf *out, uint64_t v, dc_err *err)
{
    char text[24];
    char *const end = text + sizeof text;
    const char *const start = format_u64(end, v);
    return dc_buf_append(out, start, (size_t)(end - start), err);
}

int dc_json_put_i64(dc_buf *out, int64_t v, dc_err *err)
{
    char text[24];
    char *const end = text + sizeof text;
    /* 0 - (uint64_t)v is |v| for every v, INT64_MIN included. */
    char *start = format_u64(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    if (v < 0) *--start = '-';
    return dc_buf_append(out, start, (size_t)(end - start), err);
}

/* The C locale, so that '.' is the decimal point whatever setlocale did.
 * Created once, lock-free; glibc hands out a static object for "C". */
locale_t dc_json_c_locale(void)
{
    static locale_t cached;
    locale_t loc = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (loc) return loc;
    loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!loc) return (locale_t)0;
    locale_t expected = (locale_t)0;
    if (!__atomic_compare_exchange_n(&cached, &expected, loc, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        freelocale(loc);
        loc = expected;
    }
    return loc;
}

/* Shortest "%.Ng" text of a finite v that reads back exactly (as a float when
 * is_float), with ".0" appended to integral texts so readers keep a float.
 * From `digits` (DBL_DIG/FLT_DIG) up: any decimal of that many digits maps to
 * one value, so %g at that precision (trailing zeros dropped) is already the
 * shortest when one that short exists. Subnormals have fewer significant bits,
 * so for them the search starts at 1 digit. Returns the text length. */
static size_t shortest_text(char text[40], double v, bool is_float)
{
    const int max_digits = is_float ? FLT_DECIMAL_DIG : DBL_DECIMAL_DIG;
    const double min_normal = is_float ? (double)FLT_MIN : DBL_MIN;
    int digits = is_float ? FLT_DIG : DBL_DIG;
    if (fabs(v) < min_normal) digits = 1;
    const locale_t loc = dc_json_c_locale();
    const locale_t old = loc ? uselocale(loc) : (locale_t)0;
    int n = 0;
    for (; digits <= max_digits; digits++) {
        n = snprintf(text, 40, "%.*g", digits, v);
        if (is_float ? strtof(text, NULL) == (float)v : strtod(text, NULL) == v) break;
    }
    if (old) uselocale(old);
    DC_ASSERT(n > 0 && n < 36);
    if (!strpbrk(text, ".e")) {
        memcpy(text + n, ".0", 3);
        n += 2;
    }
    return (size_t)n;
}

/* NaN and infinities have no JSON number: quoted names, as Spark's to_json. */
static const char *non_finite_text(double v)
{
    if (isnan(v)) return "\"NaN\"";
    return v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
}

int dc_json_put_f64(dc_buf *out, double v, dc_err *err)
{
    if (!isfinite(v)) return dc_buf_puts(out, non_finite_text(v), err);
    char text[40];
    const size_t n = shortest_text(text, v, false);
    return dc_buf_append(out, text, n, err);
}

int dc_json_put_f32(dc_buf *out, float v, dc_err *err)
{
    if (!isfinite(v)) return dc_buf_puts(out, non_finite_text(v), err);
    char text[40];
    const size_t n = shortest_text(text, v, true);
    return dc_buf_append(out, text, n, err);
}

/* ------------------------------------------------------------- DOM */

/* `depth` counts the containers around v, as the parser does. */
static int write_value(dc_buf *out, const dc_json *v, int depth, dc_err *err)
{
    switch (v->type) {
    case DC_JSON_NULL: return dc_buf_append(out, "null", 4, err);
    case DC_JSON_FALSE: return dc_buf_append(out, "false", 5, err);
    case DC_JSON_TRUE: return dc_buf_append(out, "true", 4, err);
    case DC_JSON_NUMBER: return dc_buf_append(out, v->u.str, v->len, err);
    case DC_JSON_STRING: return dc_json_put_str(out, v->u.str, v->len, err);
    case DC_JSON_ARRAY:
    case DC_JSON_OBJECT: break;
    default:
        return dc_err_set(err, DC_EINVAL, "json: cannot write a value of type %d", (int)v->type);
    }
    if (depth >= DC_JSON_MAX_DEPTH)
        return dc_err_set(err, DC_ELIMIT, "json: cannot write nesting deeper than %d",
                          DC_JSON_MAX_DEPTH);
    const bool is_object = v->type == DC_JSON_OBJECT;
    DC_TRY(dc_buf_putc(out, is_object ? '{' : '[', err));
    for (uint32_t i = 0; i < v->len; i++) {
        const dc_json *m = &v->u.items[i];
        if (i > 0) DC_TRY(dc_buf_putc(out, ',', err));
        if (is_object) {
            DC_TRY(dc_json_put_str(out, m->key, m->key_len, err));
            DC_TRY(dc_buf_putc(out, ':', err));
        }
        DC_TRY(write_value(out, m, depth + 1, err));
    }
    return dc_buf_putc(out, is_object ? '}' : ']', err);
}

int dc_json_write(dc_buf *out, const dc_json *v, dc_err *err)
{
    if (!v) return dc_err_set(err, DC_EINVAL, "json: cannot write a NULL value");
    return write_value(out, v, 0, err);
}
