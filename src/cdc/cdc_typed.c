/* Before/after images → typed rows in the Parquet writer's JSON conventions
 * (src/parquet/parquet.h), or (dc_cdc_typed_values, flat schemas) the same
 * values in stored form, tagged, for the merge to write as columns without
 * JSON text in between (cdc_tvals.c): the hot path of typed ingest. Both
 * forms come from one pass with the same checks; only the emitting differs.
 *
 * One validating pass over the image notes each member's value slice in a
 * stack array indexed by column (members come in schema order from
 * JsonConverter, so the next column is tried first); then the columns are
 * written in schema order, each value decoded as its kind says. Nothing is
 * allocated but the growth of `out`; values that need no change (integers,
 * strings, JSON text) are copied as they are.
 *
 * The encodings decoded here are those of Debezium's MariaDB/MySQL
 * connectors (https://debezium.io/documentation/reference/stable/connectors/
 * mariadb.html#mariadb-data-types): io.debezium.time.Date counts days since
 * the epoch, Timestamp/MicroTimestamp/NanoTimestamp count ms/µs/ns since the
 * epoch of a DATETIME read as UTC, ZonedTimestamp is an ISO-8601 string with
 * an offset, Time/MicroTime/NanoTime count ms/µs/ns of a TIME (negative and
 * beyond 24 h allowed), Decimal is the unscaled value's big-endian two's
 * complement in base64 (Kafka Connect's JsonConverter; a JSON number with
 * decimal.format=NUMERIC), EnumSet is the comma-separated members. */
#include "cdc_int.h"
#include "cdc_typed_int.h"

#include <math.h>
#include <stdlib.h>

/* One member's value in the image: byte offsets; s == UINT32_MAX when absent. */
typedef struct tval {
    uint32_t s;  /* first byte */
    uint32_t e;  /* one past the last */
} tval;

/* The pass over one image. */
typedef struct trow {
    cdc_lex lx;               /* the image */
    dc_buf *out;              /* receives the row */
    const dc_cdc_tcol *col;   /* the column being written, for messages */
    bool trusted;             /* the image was validated by dc_cdc_decode: members are
                               * found without checking the JSON again */
    bool bin;                 /* values in their stored form (DC_CDC_TV_*), not JSON text
                               * (dc_cdc_typed_values_decoded) */
} trow;

/* ------------------------------------------------------------- errors */

/* "column 'x': expected <what>, got <value>" (the value cut to 40 bytes). */
static __attribute__((cold, noinline)) int bad_value(const trow *t, slice v, const char *what)
{
    return dc_err_set(t->lx.err, DC_EINVAL, "column '%s': expected %s, got %.*s", t->col->name,
                      what, shown_len(v), (const char *)v.s);
}

static __attribute__((cold, noinline, format(printf, 3, 4))) int bad(const trow *t, slice v,
                                                                    const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dc_err_set(t->lx.err, DC_EINVAL, "column '%s': %s (value %.*s)", t->col->name, what,
                      shown_len(v), (const char *)v.s);
}

/* ------------------------------------------------------------- helpers */

static inline int put(const trow *t, const void *p, size_t n)
{
    return dc_buf_append(t->out, p, n, t->lx.err);
}

static inline int put_slice(const trow *t, slice v)
{
    return put(t, v.s, (size_t)(v.e - v.s));
}

static inline bool is_string(slice v) { return *v.s == '"'; }

/* ------------------------------------------- values in stored form (bin) */

/* A tag alone (TV_NULL, TV_FALSE, TV_TRUE). */
static inline int put_tag(const trow *t, uint8_t tag)
{
    return dc_buf_putc(t->out, (char)tag, t->lx.err);
}

/* TV_I64 and its 8 bytes, little-endian. */
static int put_tv_i64(const trow *t, int64_t x)
{
    uint8_t b[9];
    b[0] = DC_CDC_TV_I64;
    memcpy(b + 1, &x, 8);
    return put(t, b, 9);
}

/* A tag with a length (u32) and n bytes (TV_BYTES, TV_TEXT, TV_NUM). */
static int put_tv_bytes(const trow *t, uint8_t tag, const void *p, size_t n)
{
    if (n > UINT32_MAX) return dc_err_set(t->lx.err, DC_ELIMIT, "column '%s': a value of %zu "
                                          "bytes", t->col->name, n);
    uint8_t h[5];
    const uint32_t k = (uint32_t)n;
    h[0] = tag;
    memcpy(h + 1, &k, 4);
    DC_TRY(put(t, h, 5));
    return put(t, p, n);
}

/* A string value's body, unescaped, as TV_BYTES. */
static int put_tv_string(const trow *t, slice v)
{
    const uint8_t *const body = v.s + 1;
    const size_t n = (size_t)(v.e - v.s - 2);
    if (!memchr(body, '\\', n)) return put_tv_bytes(t, DC_CDC_TV_BYTES, body, n);
    DC_TRY(dc_buf_reserve(t->out, n + 5, t->lx.err));
    uint8_t *const d = t->out->data + t->out->len;
    const uint32_t k = (uint32_t)unescape(body, body + n, d + 5); /* never longer */
    d[0] = DC_CDC_TV_BYTES;
    memcpy(d + 1, &k, 4);
    t->out->len += 5 + (size_t)k;
    return 0;
}

/* The body of a string value, unescaped into buf (cap bytes) when it has
 * escapes; false when it does not fit. */
static bool body_of(slice v, uint8_t *buf, size_t cap, slice *body)
{
    body->s = v.s + 1;
    body->e = v.e - 1;
    const size_t n = (size_t)(body->e - body->s);
    if (!memchr(body->s, '\\', n)) return true;
    if (n > cap) return false;
    body->e = buf + unescape(body->s, body->e, buf);
    body->s = buf;
    return true;
}

/* An integer value in [lo, hi]. */
static bool int_in(slice v, int64_t lo, int64_t hi, int64_t *out)
{
    return (*v.s == '-' || is_digit(*v.s)) && slice_i64(v, out) && *out >= lo && *out <= hi;
}

/* ---------------------------------------------------- dates and times */

/* 0001-01-01 and 9999-12-31 in days since 1970: the range of Delta's dates
 * and timestamps (Spark's) and of "YYYY" in the writer's text. */
#define MIN_DAY (-719162)
#define MAX_DAY 2932896
#define US_PER_DAY 86400000000LL

static int64_t floor_div(int64_t a, int64_t b)
{
    const int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* "YYYY-MM-DD" of an in-range day into b (10 bytes). */
static void fmt_date(char *b, int64_t days)
{
    int64_t y;
    unsigned m, d;
    dc_civil_from_days(days, &y, &m, &d);
    const unsigned yy = (unsigned)y;
    b[0] = (char)('0' + yy / 1000);
    b[1] = (char)('0' + yy / 100 % 10);
    b[2] = (char)('0' + yy / 10 % 10);
    b[3] = (char)('0' + yy % 10);
    b[4] = '-';
    b[5] = (char)('0' + m / 10);
    b[6] = (char)('0' + m % 10);
    b[7] = '-';
    b[8] = (char)('0' + d / 10);
    b[9] = (char)('0' + d % 10);
}

/* n as `width` digits at b. */
static void fmt_digits(char *b, uint64_t n, int width)
{
    for (int i = width - 1; i >= 0; i--, n /= 10) b[i] = (char)('0' + n % 10);
}

static int put_date(const trow *t, slice v, int64_t days)
{
    if (days < MIN_DAY || days > MAX_DAY)
        return bad(t, v, "date out of range 0001-01-01..9999-12-31");
    if (t->bin) return put_tv_i64(t, days);
    char b[12];
    b[0] = '"';
    fmt_date(b + 1, days);
    b[11] = '"';
    return put(t, b, 12);
}

/* µs since the epoch → "YYYY-MM-DDTHH:MM:SS.ffffff[Z]". */
static int put_timestamp(const trow *t, slice v, int64_t us, bool utc)
{
    const int64_t day = floor_div(us, US_PER_DAY);
    if (day < MIN_DAY || day > MAX_DAY)
        return bad(t, v, "timestamp out of range 0001-01-01..9999-12-31");
    if (t->bin) return put_tv_i64(t, us);
    const uint64_t tod = (uint64_t)(us - day * US_PER_DAY);
    char b[32];
    b[0] = '"';
    fmt_date(b + 1, day);
    b[11] = 'T';
    fmt_digits(b + 12, tod / 3600000000u, 2);
    b[14] = ':';
    fmt_digits(b + 15, tod / 60000000u % 60, 2);
    b[17] = ':';
    fmt_digits(b + 18, tod / 1000000u % 60, 2);
    b[20] = '.';
    fmt_digits(b + 21, tod % 1000000u, 6);
    size_t n = 27;
    if (utc) b[n++] = 'Z';
    b[n++] = '"';
    return put(t, b, n);
}

/* A TIME in µs → long µs, or "[-]HH:MM:SS.ffffff" (hours as many digits as needed). */
static int put_time(const trow *t, int64_t us)
{
    char b[48];
    if (t->col->type != DC_TYPE_STRING)
        return t->bin ? put_tv_i64(t, us) : dc_json_put_i64(t->out, us, t->lx.err);
    const uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    const int n = snprintf(b, sizeof b, "\"%s%02llu:%02u:%02u.%06u\"", us < 0 ? "-" : "",
                           (unsigned long long)(a / 3600000000u), (unsigned)(a / 60000000u % 60),
                           (unsigned)(a / 1000000u % 60), (unsigned)(a % 1000000u));
    if (t->bin) return put_tv_bytes(t, DC_CDC_TV_BYTES, b + 1, (size_t)n - 2);
    return put(t, b, (size_t)n);
}

/* Digits s[0..n) → value. */
static bool digits_at(const uint8_t *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* ISO-8601 date-time with offset ("2024-02-29T23:59:59.123456+02:00",
 * "...Z"; seconds and fraction optional, fraction up to 9 digits) → UTC µs.
 * NULL on success, else what is wrong. */
static const char *parse_zoned(slice b, int64_t *us_out)
{
    const uint8_t *s = b.s;
    const size_t n = (size_t)(b.e - b.s);
    unsigned y, mo, d, h, mi, se = 0;
    if (n < 16 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
        !digits_at(s, 4, &y) || !digits_at(s + 5, 2, &mo) || !digits_at(s + 8, 2, &d) ||
        !digits_at(s + 11, 2, &h) || !digits_at(s + 14, 2, &mi))
        return "not an ISO-8601 date-time";
    static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return "not a date in 0001-01-01..9999-12-31";
    if (h > 23 || mi > 59) return "not a time of day";
    size_t i = 16;
    int64_t frac_us = 0;
    if (i < n && s[i] == ':') {
        if (i + 3 > n || !digits_at(s + i + 1, 2, &se) || se > 59) return "bad seconds";
        i += 3;
        if (i < n && s[i] == '.') {
            size_t k = 0;
            for (i++; i < n && is_digit(s[i]); i++, k++) {
                if (k >= 9) return "more than 9 fraction digits";
                if (k < 6) frac_us = frac_us * 10 + (s[i] - '0');
                else if (s[i] != '0') return "sub-microsecond digits (a timestamp holds microseconds)";
            }
            if (k == 0) return "no digits after '.'";
            for (; k < 6; k++) frac_us *= 10;
        }
    }
    int64_t off = 0;
    if (i == n) return "no offset (Z or +HH:MM) at the end";
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        unsigned oh, om = 0, os = 0;
        const size_t z = n - i;
        if (!(z >= 3 && digits_at(s + i + 1, 2, &oh))) return "bad offset";
        if (z == 6 && s[i + 3] == ':' && digits_at(s + i + 4, 2, &om)) {
        } else if (z == 9 && s[i + 3] == ':' && s[i + 6] == ':' && digits_at(s + i + 4, 2, &om) &&
                   digits_at(s + i + 7, 2, &os)) {
        } else if (z == 5 && digits_at(s + i + 3, 2, &om)) {
        } else if (z != 3) {
            return "bad offset";
        }
        if (oh > 18 || om > 59 || os > 59) return "bad offset";
        off = (s[i] == '-' ? -1 : 1) * ((int64_t)oh * 3600 + om * 60 + os);
        i = n;
    }
    if (i != n) return "no offset (Z or +HH:MM) at the end";
    const int64_t secs = dc_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    *us_out = secs * 1000000 + frac_us;
    return NULL;
}

/* ------------------------------------------------------------- numbers */

/* Does the JSON number v fit a float (or a double)? Plain numbers with at
 * most 38 integer digits do; others are read. */
static bool float_fits(slice v, bool single)
{
    const size_t n = (size_t)(v.e - v.s);
    const uint8_t *p = v.s + (*v.s == '-');
    size_t int_digits = 0;
    while (p < v.e && is_digit(*p)) p++, int_digits++;
    if (int_digits <= 38 && !memchr(v.s, 'e', n) && !memchr(v.s, 'E', n)) return true;
    char buf[512];
    if (n >= sizeof buf) return false;
    memcpy(buf, v.s, n);
    buf[n] = 0;
    if (single) return isfinite(strtof(buf, NULL));
    return isfinite(strtod(buf, NULL));
}

/* ---------------------------------------------------------------- base64 */

/* Value of a base64 digit (RFC 4648 alphabet), or -1. */
static inline int b64_digit(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (is_digit(c)) return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Is s[0..n) base64 as JsonConverter writes it (java.util.Base64: the
 * standard alphabet, padded to a multiple of 4)? */
static bool b64_valid(const uint8_t *s, size_t n)
{
    if (n % 4) return false;
    size_t pad = 0;
    if (n && s[n - 1] == '=') pad = n > 1 && s[n - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < n - pad; i++)
        if (b64_digit(s[i]) < 0) return false;
    return true;
}

/* Decodes valid base64 s[0..n) into out (room for n / 4 * 3); returns the bytes. */
static size_t b64_decode(const uint8_t *s, size_t n, uint8_t *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        acc = acc << 6 | (uint32_t)b64_digit(s[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    return k;
}

/* -------------------------------------------------------------- decimals */

/* Decimal digits of the unscaled value, most significant first, without
 * leading zeros (nd == 0 for zero). */
typedef struct digits {
    bool neg;                                    /* below zero */
    uint32_t nd;                                 /* digits in d */
    char d[DC_CDC_MAX_DECIMAL_DIGITS + 16];      /* the digits */
} digits;

/* Big-endian two's complement be[0..n) (n <= DC_CDC_MAX_DECIMAL_BYTES) → digits. */
static void digits_from_be(digits *out, const uint8_t *be, size_t n)
{
    uint8_t mag[DC_CDC_MAX_DECIMAL_BYTES];
    out->neg = n > 0 && (be[0] & 0x80);
    memcpy(mag, be, n);
    if (out->neg) { /* magnitude = ~x + 1 */
        unsigned carry = 1;
        for (size_t i = n; i-- > 0;) {
            const unsigned b = (uint8_t)~mag[i] + carry;
            mag[i] = (uint8_t)b;
            carry = b >> 8;
        }
    }
    uint32_t limb[DC_CDC_MAX_DECIMAL_BYTES / 4 + 1] = {0}; /* little-endian 32-bit limbs */
    for (size_t i = 0; i < n; i++) {
        const size_t bit = (n - 1 - i) * 8;
        limb[bit / 32] |= (uint32_t)mag[i] << (bit % 32);
    }
    /* Repeated division by 10^9: base-10^9 chunks, least significant first. */
    uint32_t chunk[12];
    size_t nc = 0, top = sizeof limb / sizeof limb[0];
    while (top > 0 && limb[top - 1] == 0) top--;
    while (top > 0) {
        uint64_t rem = 0;
        for (size_t i = top; i-- > 0;) {
            const uint64_t cur = rem << 32 | limb[i];
            limb[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        chunk[nc++] = (uint32_t)rem;
        while (top > 0 && limb[top - 1] == 0) top--;
    }
    out->nd = 0;
    for (size_t i = nc; i-- > 0;) {
        if (i == nc - 1) { /* the top chunk without leading zeros (no snprintf: hot) */
            int w = 1;
            for (uint32_t x = chunk[i]; x >= 10; x /= 10) w++;
            fmt_digits(out->d, chunk[i], w);
            out->nd = (uint32_t)w;
        } else {
            fmt_digits(out->d + out->nd, chunk[i], 9);
            out->nd += 9;
        }
    }
    if (out->nd == 0) out->neg = false;
}

/* A JSON number (decimal.format=NUMERIC) at `scale` → digits; NULL on
 * success, else why not. */
static const char *digits_from_number(digits *out, slice v, int32_t scale)
{
    const uint8_t *p = v.s;
    out->neg = *p == '-';
    p += out->neg;
    char d[DC_CDC_MAX_DECIMAL_DIGITS + 1];
    size_t nd = 0, nfrac = 0;
    bool frac = false;
    int64_t e = 0;
    for (; p < v.e && (is_digit(*p) || *p == '.'); p++) {
        if (*p == '.') {
            frac = true;
            continue;
        }
        nfrac += frac;
        if (nd == 0 && *p == '0') continue; /* leading zeros */
        if (nd == sizeof d) return "more digits than a decimal holds";
        d[nd++] = (char)*p;
    }
    if (p < v.e) { /* exponent: the scanner checked its syntax */
        p++;
        const bool eneg = *p == '-';
        p += *p == '-' || *p == '+';
        for (; p < v.e; p++)
            if ((e = e * 10 + (*p - '0')) > 100000) return "exponent out of range";
        if (eneg) e = -e;
    }
    /* Unscaled value = d × 10^k. */
    int64_t k = e - (int64_t)nfrac + scale;
    while (k < 0 && nd > 0) {
        if (d[nd - 1] != '0') return "more fraction digits than the scale";
        nd--, k++;
    }
    if (nd == 0) k = 0;
    if ((int64_t)nd + k > DC_CDC_MAX_DECIMAL_DIGITS) return "more digits than a decimal holds";
    memcpy(out->d, d, nd);
    for (; k > 0; k--) out->d[nd++] = '0';
    out->nd = (uint32_t)nd;
    if (nd == 0) out->neg = false;
    return NULL;
}

/* A Decimal column's value: base64 of the unscaled two's complement, or a
 * JSON number; written as "123.45" with exactly `scale` fraction digits. */
static int put_digits(const trow *t, const digits *dg, uint32_t sc);
static int put_vdecimal(const trow *t, slice v);

static bool be_to_i64(const uint8_t *p, size_t n, int64_t *out);

/* bin: a decimal(p <= 18) column's unscaled value be[0..n) as TV_DEC when
 * it holds at most p digits (else false: the digits' way decides, and says
 * what is wrong). */
static bool put_tv_unscaled(const trow *t, const uint8_t *be, size_t n)
{
    static const uint64_t pow10[19] = {
        1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
        100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
        10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
        100000000000000000ull, 1000000000000000000ull};
    const dc_cdc_tcol *const c = t->col;
    int64_t x;
    if (c->type != DC_TYPE_DECIMAL || c->precision < 1 || c->precision > 18 ||
        !be_to_i64(be, n, &x))
        return false;
    const uint64_t mag = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    if (mag >= pow10[c->precision]) return false;
    uint8_t b[9];
    b[0] = DC_CDC_TV_DEC;
    memcpy(b + 1, &x, 8);
    return put(t, b, 9) == 0; /* a failed append: the digits' way fails the same */
}

static int put_decimal(const trow *t, slice v)
{
    const dc_cdc_tcol *const c = t->col;
    digits dg;
    if (is_string(v)) {
        uint8_t buf[256], be[DC_CDC_MAX_DECIMAL_BYTES + 3];
        slice b;
        if (!body_of(v, buf, sizeof buf, &b)) return bad(t, v, "more digits than a decimal holds");
        const size_t n = (size_t)(b.e - b.s);
        if (!b64_valid(b.s, n) || n == 0)
            return bad_value(t, v, "a Decimal as base64 of its unscaled value");
        if (n / 4 * 3 > sizeof be) return bad(t, v, "more digits than a decimal holds");
        const size_t k = b64_decode(b.s, n, be);
        if (k > DC_CDC_MAX_DECIMAL_BYTES) return bad(t, v, "more digits than a decimal holds");
        if (t->bin && put_tv_unscaled(t, be, k)) return 0;
        digits_from_be(&dg, be, k);
    } else if (*v.s == '-' || is_digit(*v.s)) {
        const char *const why = digits_from_number(&dg, v, c->scale);
        if (why) return bad(t, v, "%s", why);
    } else {
        return bad_value(t, v, "a Decimal (base64 or a number)");
    }
    const uint32_t limit = c->precision > 0 ? (uint32_t)c->precision : DC_CDC_MAX_DECIMAL_DIGITS;
    if (dg.nd > limit)
        return bad(t, v, "%u digits exceed the precision %u of decimal(%d,%d)", (unsigned)dg.nd,
                   (unsigned)limit, (int)c->precision, (int)c->scale);
    return put_digits(t, &dg, (uint32_t)c->scale);
}

/* The digits at scale sc as a JSON string ("-12.30"); sc <= the digits a
 * decimal holds. */
static int put_digits(const trow *t, const digits *dgp, uint32_t sc)
{
    const digits dg = *dgp;
    char o[DC_CDC_MAX_DECIMAL_DIGITS * 2 + 8];
    size_t n = 0;
    o[n++] = '"';
    if (dg.neg) o[n++] = '-';
    if (dg.nd > sc) {
        memcpy(o + n, dg.d, dg.nd - sc);
        n += dg.nd - sc;
    } else {
        o[n++] = '0';
    }
    if (sc > 0) {
        o[n++] = '.';
        for (uint32_t i = dg.nd; i < sc; i++) o[n++] = '0';
        const uint32_t f = dg.nd < sc ? dg.nd : sc;
        memcpy(o + n, dg.d + dg.nd - f, f);
        n += f;
    }
    o[n++] = '"';
    if (t->bin) /* a decimal's text for its column; above 38 digits a string's bytes */
        return put_tv_bytes(t, t->col->type == DC_TYPE_DECIMAL ? DC_CDC_TV_TEXT : DC_CDC_TV_BYTES,
                            o + 1, n - 2);
    return put(t, o, n);
}

/* ----------------------------------------------------- enums and sets */

/* Is the member m one of the comma-separated `allowed` values? MySQL's
 * error value '' (an invalid ENUM value stored in non-strict mode) always
 * is. A value holding a comma is found as long as it is written so in
 * `allowed` (Debezium joins the values with ',' as they are). */
static bool allowed_has(const dc_cdc_tcol *c, const uint8_t *m, size_t n)
{
    if (!c->allowed || n == 0) return true;
    const char *a = c->allowed, *const end = a + c->allowed_len;
    while (a <= end) {
        const char *hit = n <= (size_t)(end - a) ? memmem(a, (size_t)(end - a), m, n) : NULL;
        if (!hit) return false;
        if ((hit == c->allowed || hit[-1] == ',') && (hit + n == end || hit[n] == ','))
            return true;
        a = hit + 1;
    }
    return false;
}

/* Checks member raw[0..n) (a piece of a string body, escapes as sent). */
static int check_member(const trow *t, slice v, const uint8_t *raw, size_t n)
{
    uint8_t buf[4096];
    const uint8_t *m = raw;
    if (!t->col->allowed) return 0;
    if (memchr(raw, '\\', n)) {
        if (n > sizeof buf) return bad(t, v, "not one of the allowed values");
        n = unescape(raw, raw + n, buf);
        m = buf;
    }
    if (!allowed_has(t->col, m, n))
        return bad(t, v, "'%.*s' is not one of the allowed values %.*s", n > 60 ? 60 : (int)n,
                   (const char *)m, t->col->allowed_len > 200 ? 200 : (int)t->col->allowed_len,
                   t->col->allowed);
    return 0;
}

static int put_enum(const trow *t, slice v)
{
    if (!is_string(v)) return bad_value(t, v, "an enum value (a string)");
    DC_TRY(check_member(t, v, v.s + 1, (size_t)(v.e - v.s - 2)));
    return t->bin ? put_tv_string(t, v) : put_slice(t, v);
}

/* "a,b" → ["a","b"]; "" → []. SET members hold no commas (MySQL refuses them). */
static int put_set(const trow *t, slice v)
{
    if (!is_string(v)) return bad_value(t, v, "a set value (a comma-separated string)");
    const uint8_t *p = v.s + 1, *const end = v.e - 1;
    if (p == end) return put(t, "[]", 2);
    DC_TRY(put(t, "[\"", 2));
    for (;;) {
        const uint8_t *comma = memchr(p, ',', (size_t)(end - p));
        if (!comma) comma = end;
        DC_TRY(check_member(t, v, p, (size_t)(comma - p)));
        DC_TRY(put(t, p, (size_t)(comma - p)));
        if (comma == end) break;
        DC_TRY(put(t, "\",\"", 3));
        p = comma + 1;
    }
    return put(t, "\"]", 2);
}

/* --------------------------------------------------------------- bytes */

/* bin: the bytes a base64 string body (escapes as sent) decodes to, as TV_BYTES. */
static int put_tv_b64(const trow *t, slice v, const uint8_t *body, size_t n)
{
    DC_TRY(dc_buf_reserve(t->out, 5 + 2 * n, t->lx.err)); /* unescaped text, then its bytes */
    uint8_t *const d = t->out->data + t->out->len;
    const uint8_t *txt = body;
    size_t k = n;
    if (memchr(body, '\\', n)) {
        k = unescape(body, body + n, d + 5 + n);
        txt = d + 5 + n;
    }
    if (!b64_valid(txt, k)) return bad_value(t, v, "bytes as a base64 string");
    const uint32_t m = (uint32_t)b64_decode(txt, k, d + 5); /* shorter than its text */
    d[0] = DC_CDC_TV_BYTES;
    memcpy(d + 1, &m, 4);
    t->out->len += 5 + (size_t)m;
    return 0;
}

/* Base64 of the bytes, checked, unescaped when the writer escaped '/'. */
static int put_bytes(const trow *t, slice v)
{
    if (!is_string(v)) return bad_value(t, v, "bytes as a base64 string");
    const uint8_t *const body = v.s + 1;
    const size_t n = (size_t)(v.e - v.s - 2);
    if (t->bin) return put_tv_b64(t, v, body, n);
    if (!memchr(body, '\\', n)) {
        if (!b64_valid(body, n)) return bad_value(t, v, "bytes as a base64 string");
        return put_slice(t, v);
    }
    DC_TRY(dc_buf_reserve(t->out, n + 2, t->lx.err));
    uint8_t *const d = t->out->data + t->out->len;
    d[0] = '"';
    const size_t k = unescape(body, body + n, d + 1);
    if (!b64_valid(d + 1, k)) return bad_value(t, v, "bytes as a base64 string");
    d[k + 1] = '"';
    t->out->len += k + 2;
    return 0;
}

/* ------------------------------------------------------------ dispatch */

static int put_object(const trow *t, const dc_cdc_tcol *cols, const cdc_bytes *keys, uint32_t n,
                      const uint8_t *p, int depth, tval *vals);

/* Integer ranges of the INT kind by Delta type. */
static void int_range(dc_type ty, int64_t *lo, int64_t *hi)
{
    switch (ty) {
    case DC_TYPE_BYTE: *lo = INT8_MIN, *hi = INT8_MAX; break;
    case DC_TYPE_SHORT: *lo = INT16_MIN, *hi = INT16_MAX; break;
    case DC_TYPE_INT: *lo = INT32_MIN, *hi = INT32_MAX; break;
    default: *lo = INT64_MIN, *hi = INT64_MAX; break;
    }
}

static const char *int_what(dc_type ty)
{
    switch (ty) {
    case DC_TYPE_BYTE: return "an int8 (-128..127)";
    case DC_TYPE_SHORT: return "an int16 (-32768..32767)";
    case DC_TYPE_INT: return "an int32";
    default: return "an int64";
    }
}

/* A time count of the TIME and timestamp kinds → µs. */
static int to_micros(const trow *t, slice v, int64_t scale_ms, bool nanos, int64_t lo, int64_t hi,
                     const char *what, int64_t *us)
{
    int64_t x;
    if (!int_in(v, lo, hi, &x)) return bad_value(t, v, what);
    if (nanos) {
        if (x % 1000) return bad(t, v, "sub-microsecond nanoseconds (Delta holds microseconds)");
        *us = x / 1000;
    } else if (dc_mul_overflow_i64(x, scale_ms, us)) {
        return bad(t, v, "out of range");
    }
    return 0;
}

/* One non-null value of column t->col. */
static int put_value(const trow *t, slice v, int depth)
{
    const dc_cdc_tcol *const c = t->col;
    int64_t x, lo, hi;
    switch (c->kind) {
    case DC_CDC_TK_BOOL:
        if (*v.s != 't' && *v.s != 'f') return bad_value(t, v, "a boolean");
        if (t->bin) return put_tag(t, *v.s == 't' ? DC_CDC_TV_TRUE : DC_CDC_TV_FALSE);
        return put_slice(t, v);
    case DC_CDC_TK_INT: case DC_CDC_TK_YEAR:
        int_range(c->type, &lo, &hi);
        if (!int_in(v, lo, hi, &x)) return bad_value(t, v, int_what(c->type));
        return t->bin ? put_tv_i64(t, x) : put_slice(t, v);
    case DC_CDC_TK_FLOAT: case DC_CDC_TK_DOUBLE: {
        const bool single = c->kind == DC_CDC_TK_FLOAT;
        if ((*v.s != '-' && !is_digit(*v.s)) || !float_fits(v, single))
            return bad_value(t, v, single ? "a float32 number" : "a float64 number");
        if (t->bin) return put_tv_bytes(t, DC_CDC_TV_NUM, v.s, (size_t)(v.e - v.s));
        return put_slice(t, v);
    }
    case DC_CDC_TK_STRING: case DC_CDC_TK_JSON:
        if (!is_string(v)) return bad_value(t, v, "a string");
        return t->bin ? put_tv_string(t, v) : put_slice(t, v);
    case DC_CDC_TK_ENUM: return put_enum(t, v);
    case DC_CDC_TK_ENUM_SET: return put_set(t, v);
    case DC_CDC_TK_BYTES: case DC_CDC_TK_BITS: return put_bytes(t, v);
    case DC_CDC_TK_DECIMAL: return put_decimal(t, v);
    case DC_CDC_TK_VDECIMAL: return put_vdecimal(t, v);
    case DC_CDC_TK_DATE_DAYS:
        if (!int_in(v, INT32_MIN, INT32_MAX, &x)) return bad_value(t, v, "a date (int32 days)");
        return put_date(t, v, x);
    case DC_CDC_TK_TS_MS: case DC_CDC_TK_TS_US: case DC_CDC_TK_TS_NS:
        DC_TRY(to_micros(t, v, c->kind == DC_CDC_TK_TS_MS ? 1000 : 1, c->kind == DC_CDC_TK_TS_NS,
                         INT64_MIN, INT64_MAX, "a timestamp (int64)", &x));
        return put_timestamp(t, v, x, c->type == DC_TYPE_TIMESTAMP);
    case DC_CDC_TK_ZONED_TS: {
        uint8_t buf[128];
        slice b;
        if (!is_string(v)) return bad_value(t, v, "an ISO-8601 timestamp string");
        const char *why = body_of(v, buf, sizeof buf, &b) ? parse_zoned(b, &x) : "too long";
        if (why) return bad(t, v, "%s", why);
        return put_timestamp(t, v, x, true);
    }
    case DC_CDC_TK_TIME_MS:
        DC_TRY(to_micros(t, v, 1000, false, INT32_MIN, INT32_MAX, "a time (int32 ms)", &x));
        return put_time(t, x);
    case DC_CDC_TK_TIME_US: case DC_CDC_TK_TIME_NS:
        DC_TRY(to_micros(t, v, 1, c->kind == DC_CDC_TK_TIME_NS, INT64_MIN, INT64_MAX,
                         "a time (int64)", &x));
        return put_time(t, x);
    case DC_CDC_TK_GEOMETRY: {
        tval kv[DC_CDC_MAX_STRUCT_FIELDS];
        if (*v.s != '{') return bad_value(t, v, "a struct (an object)");
        trow sub = *t;
        const int rc = put_object(&sub, c->children, NULL, c->n_children, v.s, depth, kv);
        if (rc < 0) dc_err_prefix(t->lx.err, "column '%s'", c->name); /* the member's own */
        return rc;
    }
    }
    return dc_err_set(t->lx.err, DC_EINTERNAL, "column '%s': unknown kind %d", c->name, (int)c->kind);
}

/* VariableScaleDecimal {"scale":S,"value":"<base64>"} (members in any
 * order, blanks allowed) → the exact digits as a string. */
static int put_vdecimal(const trow *t, slice v)
{
    static const char what[] = "a VariableScaleDecimal {\"scale\": int, \"value\": base64}";
    const uint8_t *p = v.s, *const e = v.e;
    slice sv = {NULL, NULL}, vv = {NULL, NULL};
#define VD_BLANKS() while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++
    if (p >= e || *p++ != '{') return bad_value(t, v, what);
    for (;;) {
        VD_BLANKS();
        if (p + 7 > e || *p != '"') return bad_value(t, v, what);
        const bool is_scale = memcmp(p, "\"scale\"", 7) == 0;
        if (!is_scale && memcmp(p, "\"value\"", 7) != 0) return bad_value(t, v, what);
        p += 7;
        VD_BLANKS();
        if (p >= e || *p++ != ':') return bad_value(t, v, what);
        VD_BLANKS();
        const uint8_t *s0 = p;
        if (p < e && *p == '"') { /* base64 has no escapes or quotes */
            p++;
            while (p < e && *p != '"' && *p != '\\') p++;
            if (p >= e || *p != '"') return bad_value(t, v, what);
            p++;
        } else {
            while (p < e && (*p == '-' || is_digit(*p))) p++;
        }
        if (is_scale) sv = (slice){s0, p};
        else vv = (slice){s0, p};
        VD_BLANKS();
        if (p < e && *p == ',') {
            p++;
            continue;
        }
        if (p < e && *p == '}') break;
        return bad_value(t, v, what);
    }
#undef VD_BLANKS
    int64_t scale = 0;
    if (!sv.s || !vv.s || sv.s == sv.e || !int_in(sv, 0, DC_CDC_MAX_DECIMAL_DIGITS, &scale) ||
        !is_string(vv))
        return bad_value(t, v, what);
    const size_t nb = (size_t)(vv.e - vv.s) - 2;
    uint8_t be[DC_CDC_MAX_DECIMAL_BYTES + 3];
    if (nb == 0 || !b64_valid(vv.s + 1, nb)) return bad_value(t, v, what);
    if (nb / 4 * 3 > sizeof be) return bad(t, v, "more digits than a decimal holds");
    const size_t k = b64_decode(vv.s + 1, nb, be);
    if (k > DC_CDC_MAX_DECIMAL_BYTES) return bad(t, v, "more digits than a decimal holds");
    digits dg;
    digits_from_be(&dg, be, k);
    if (dg.nd > DC_CDC_MAX_DECIMAL_DIGITS)
        return bad(t, v, "more digits than a decimal holds");
    return put_digits(t, &dg, (uint32_t)scale);
}

/* --------------------------------------------------------- the image */

/* Index of the column the member name s..e names: `next` first (members
 * come in schema order), then all; -1 when none. */
static int32_t find_col(const dc_cdc_tcol *cols, uint32_t n, uint32_t next, const uint8_t *s,
                        const uint8_t *e, bool escaped)
{
    uint8_t buf[DC_CDC_MAX_COLUMN_NAME];
    size_t len = (size_t)(e - s);
    if (escaped) {
        /* An escape decodes to at most its own length, so a name that fits
         * a column does within 6 bytes per byte of the longest name. */
        if (len > sizeof buf * 6) return -1;
        uint8_t big[DC_CDC_MAX_COLUMN_NAME * 6];
        len = unescape(s, e, big);
        if (len > sizeof buf) return -1;
        memcpy(buf, big, len);
        s = buf;
    }
    if (next < n && cols[next].name_len == len && memcmp(cols[next].name, s, len) == 0)
        return (int32_t)next;
    for (uint32_t i = 0; i < n; i++)
        if (cols[i].name_len == len && memcmp(cols[i].name, s, len) == 0) return (int32_t)i;
    return -1;
}

/* ---------------------------------------------- trusted (decoded) images */

/* Pass 1 over a validated image: `"key" : value` at p (whitespace allowed).
 * When `want` (a column whose name holds no '"' or '\\') is the member's
 * name, byte for byte up to the closing quote, that is all it takes: no
 * escape can hide there (*name is then not set; returns true). */
static bool fast_member(const trow *t, const uint8_t **pp, const dc_cdc_tcol *want, slice *name,
                        bool *escaped, slice *v)
{
    const uint8_t *const end = t->lx.end;
    const uint8_t *p = skip_ws(*pp, end);
    const uint8_t *close;
    bool found = false;
    if (want && (size_t)(end - p) > (size_t)want->name_len + 1 && p[want->name_len + 1] == '"' &&
        memcmp(p + 1, want->name, want->name_len) == 0) {
        close = p + want->name_len + 2;
        found = true;
    } else {
        close = fast_string_end(p, end);
        name->s = p + 1;
        name->e = close - 1;
        *escaped = memchr(name->s, '\\', (size_t)(name->e - name->s)) != NULL;
    }
    p = skip_ws(close, end) + 1; /* ':' */
    p = skip_ws(p, end);
    v->s = p;
    v->e = p = fast_skip(p, end);
    *pp = skip_ws(p, end);
    return found;
}

/* Pass 1: the object at p ('{'): each member's value slice into vals[];
 * keys (NULL inside structs) say which column names are plain. */
static int note_members(const trow *t, const dc_cdc_tcol *cols, const cdc_bytes *keys, uint32_t n,
                        const uint8_t *p, int depth, tval *vals, const uint8_t **out)
{
    const cdc_lex *const lx = &t->lx;
    if (depth >= DC_JSON_MAX_DEPTH) return fail_depth(lx, p);
    for (uint32_t i = 0; i < n; i++) vals[i].s = UINT32_MAX;
    p = skip_ws(p + 1, lx->end);
    bool more = !(p < lx->end && *p == '}');
    if (!more) p++;
    uint32_t next = 0;
    while (more) {
        slice name = {0}, v = {0};
        bool escaped = false;
        int32_t i = -1;
        if (t->trusted) {
            const dc_cdc_tcol *want = keys && next < n && keys[next].plain_name ? &cols[next]
                                                                                : NULL;
            if (fast_member(t, &p, want, &name, &escaped, &v)) i = (int32_t)next;
            more = *p++ == ',';
        } else {
            DC_TRY(scan_key(lx, p, &name, &escaped, &p));
            v.s = p;
            DC_TRY(skip_value(lx, p, depth + 1, &p));
            v.e = p;
            DC_TRY(member_end(lx, p, &more, &p));
        }
        if (i < 0) i = find_col(cols, n, next, name.s, name.e, escaped);
        if (i < 0)
            return dc_err_set(lx->err, DC_EINVAL, "column '%.*s' is in the image but not in the "
                              "schema", shown_len(name), (const char *)name.s);
        vals[i] = (tval){(uint32_t)(v.s - lx->base), (uint32_t)(v.e - lx->base)};
        next = (uint32_t)i + 1;
    }
    *out = p;
    return 0;
}

/* `"name":` of member i (after a comma but for the first); keys: the
 * prefixes made once (NULL: written here, for struct members). */
static int put_name(const trow *t, const cdc_bytes *keys, uint32_t i)
{
    if (i) DC_TRY(put(t, ",", 1));
    if (keys) return put(t, keys[i].s, keys[i].n);
    DC_TRY(dc_json_put_str(t->out, t->col->name, t->col->name_len, t->lx.err));
    return put(t, ":", 1);
}

/* The object at p as the members of the typed row (no braces), or with
 * t0->bin its values in stored form; `keys` are the `"name":` prefixes
 * (NULL: written here, for struct members). */

static int put_members(const trow *t0, const dc_cdc_tcol *cols, const cdc_bytes *keys, uint32_t n,
                       const uint8_t *p, int depth, tval *vals, const uint8_t **end_out)
{
    DC_TRY(note_members(t0, cols, keys, n, p, depth, vals, end_out));
    trow t = *t0;
    for (uint32_t i = 0; i < n; i++) {
        t.col = &cols[i];
        if (!t.bin) DC_TRY(put_name(&t, keys, i)); /* bin: the values alone, in column order */
        const slice v = {t.lx.base + vals[i].s, t.lx.base + vals[i].e};
        if (vals[i].s == UINT32_MAX || *v.s == 'n') {
            if (!cols[i].optional)
                return dc_err_set(t.lx.err, DC_EINVAL, "column '%s': null in a non-optional "
                                  "column", cols[i].name);
            DC_TRY(t.bin ? put_tag(&t, DC_CDC_TV_NULL) : put(&t, "null", 4));
            continue;
        }
        DC_TRY(put_value(&t, v, depth + 1));
    }
    return 0;
}

static int put_object(const trow *t, const dc_cdc_tcol *cols, const cdc_bytes *keys, uint32_t n,
                      const uint8_t *p, int depth, tval *vals)
{
    const uint8_t *end;
    DC_TRY(put(t, "{", 1));
    DC_TRY(put_members(t, cols, keys, n, p, depth, vals, &end));
    return put(t, "}", 1);
}

/* The image's members; *braces adds '{' '}' around them; bin: the values
 * in stored form instead (no braces). */
static int typed(dc_buf *out, const dc_cdc_tschema *s, const char *image, size_t len, bool braces,
                 bool trusted, bool bin, dc_err *err)
{
    tval vals[DC_CDC_MAX_COLUMNS];
    trow t = {.lx = {(const uint8_t *)image, (const uint8_t *)image + len, err}, .out = out,
              .trusted = trusted, .bin = bin};
    if (bin && !dc_cdc_tschema_flat(s))
        return dc_err_set(err, DC_EINTERNAL, "cdc: stored-form values of a schema with set or "
                          "struct columns");
    if (len > UINT32_MAX - 1)
        return dc_err_set(err, DC_ELIMIT, "cdc: an image of %zu bytes", len);
    DC_ASSERT(s->n <= DC_CDC_MAX_COLUMNS);
    const uint8_t *p = skip_ws(t.lx.base, t.lx.end), *end = NULL;
    if (p >= t.lx.end || *p != '{') return fail_found(&t.lx, p, "an object (a row image)");
    if (braces) DC_TRY(put(&t, "{", 1));
    DC_TRY(put_members(&t, s->cols, s->keys, s->n, p, 0, vals, &end));
    if (braces) DC_TRY(put(&t, "}", 1));
    end = skip_ws(end, t.lx.end);
    if (end < t.lx.end) return fail_found(&t.lx, end, "the end of the image");
    return 0;
}

int dc_cdc_typed_row(dc_buf *out, const dc_cdc_tschema *s, const char *image, size_t len,
                     dc_err *err)
{
    return typed(out, s, image, len, true, false, false, err);
}

int dc_cdc_typed_members(dc_buf *out, const dc_cdc_tschema *s, const char *image, size_t len,
                         dc_err *err)
{
    return typed(out, s, image, len, false, false, false, err);
}

int dc_cdc_typed_members_decoded(dc_buf *out, const dc_cdc_tschema *s, const char *image,
                                 size_t len, dc_err *err)
{
    return typed(out, s, image, len, false, true, false, err);
}

int dc_cdc_typed_event(dc_buf *out, const dc_cdc_tschema *s, const dc_cdc_event *ev, dc_err *err)
{
    const bool del = ev->op == 'd';
    const char *const img = del ? ev->before : ev->after;
    if (ev->kind != DC_CDC_CHANGE || !img)
        return dc_err_set(err, DC_EINVAL, "cdc: a typed row needs a change event with an image");
    return typed(out, s, img, del ? ev->before_len : ev->after_len, false, true, false, err);
}

bool dc_cdc_tschema_flat(const dc_cdc_tschema *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->cols[i].kind == DC_CDC_TK_ENUM_SET || s->cols[i].kind == DC_CDC_TK_GEOMETRY)
            return false;
    return true;
}

int dc_cdc_typed_values_decoded(dc_buf *out, const dc_cdc_tschema *s, const char *image,
                                size_t len, dc_err *err)
{
    return typed(out, s, image, len, false, true, true, err);
}

int dc_cdc_typed_values(dc_buf *out, const dc_cdc_tschema *s, const char *image, size_t len,
                        dc_err *err)
{
    return typed(out, s, image, len, false, false, true, err);
}

/* ---------------------------------------------------------------- keys */

/* Big-endian two's complement bytes → int64; false when it does not fit. */
static bool be_to_i64(const uint8_t *p, size_t n, int64_t *out)
{
    if (n == 0) return false;
    const uint8_t sign = (p[0] & 0x80) ? 0xff : 0x00;
    while (n > 8 && p[0] == sign && ((p[1] & 0x80) != 0) == (sign != 0)) p++, n--;
    if (n > 8) return false;
    uint64_t u = sign ? UINT64_MAX : 0;
    for (size_t i = 0; i < n; i++) u = (u << 8) | p[i];
    *out = (int64_t)u;
    return true;
}

int dc_cdc_typed_key(dc_cdc_key *k, dc_buf *scratch, const dc_cdc_tcol *c, dc_err *err)
{
    const bool is_long = k->type == DC_CDC_KEY_LONG;
    int64_t us = 0;
    switch (c->kind) {
    case DC_CDC_TK_DATE_DAYS:
    case DC_CDC_TK_TS_US:
        if (!is_long) break;
        return 0; /* days, µs: the column's value already */
    case DC_CDC_TK_TS_MS:
        if (!is_long) break;
        if (dc_mul_overflow_i64(k->i, 1000, &us))
            return dc_err_set(err, DC_EINVAL, "key column '%s': timestamp out of range", c->name);
        k->i = us;
        return 0;
    case DC_CDC_TK_TS_NS:
        if (!is_long) break;
        if (k->i % 1000)
            return dc_err_set(err, DC_EINVAL, "key column '%s': sub-microsecond nanoseconds "
                              "(Delta holds microseconds)", c->name);
        k->i /= 1000;
        return 0;
    case DC_CDC_TK_ZONED_TS: {
        if (is_long) break;
        const char *why = parse_zoned((slice){(const uint8_t *)k->s,
                                              (const uint8_t *)k->s + k->len}, &us);
        if (why) return dc_err_set(err, DC_EINVAL, "key column '%s': %s", c->name, why);
        *k = (dc_cdc_key){.type = DC_CDC_KEY_LONG, .i = us};
        return 0;
    }
    case DC_CDC_TK_DECIMAL: {
        /* the unscaled value: a decimal key has precision <= 18 (merge_typed.c) */
        uint8_t be[DC_CDC_MAX_DECIMAL_BYTES + 3];
        int64_t v = 0;
        if (is_long || !b64_valid((const uint8_t *)k->s, k->len) || k->len / 4 * 3 > sizeof be)
            break;
        const size_t n = b64_decode((const uint8_t *)k->s, k->len, be);
        if (!be_to_i64(be, n, &v))
            return dc_err_set(err, DC_EINVAL, "key column '%s': decimal beyond 18 digits",
                              c->name);
        *k = (dc_cdc_key){.type = DC_CDC_KEY_LONG, .i = v};
        return 0;
    }
    case DC_CDC_TK_BYTES:
    case DC_CDC_TK_BITS: {
        if (is_long || !b64_valid((const uint8_t *)k->s, k->len)) break;
        DC_TRY(dc_buf_reserve(scratch, k->len, err));
        uint8_t *d = scratch->data + scratch->len;
        k->len = (uint32_t)b64_decode((const uint8_t *)k->s, k->len, d);
        scratch->len += k->len;
        k->s = (const char *)d;
        return 0;
    }
    default:
        return 0;
    }
    return dc_err_set(err, DC_EINVAL, "key column '%s': %s where its schema (%s%s%s) wants %s",
                      c->name, is_long ? "a number" : "a string", c->src_type,
                      c->src_name ? " " : "", c->src_name ? c->src_name : "",
                      is_long ? "a string" : "a number");
}
