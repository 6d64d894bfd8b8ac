/* cdc's internal lexer: the validating, allocation-free JSON pass that the
 * Debezium scanner (cdc_decode.c) and the typed row decoder (cdc_typed.c)
 * share. Only src/cdc includes this.
 *
 * Strings and numbers are checked as strictly as dc_json_parse checks them
 * (RFC 8259 grammar, UTF-8, escapes and surrogate pairs, nesting depth), so
 * whatever passes here also parses there. The functions are static (each
 * file gets its own copy, inlined where the compiler sees fit: the scanner's
 * hot loops stay as fast as when they lived in one file); those a file does
 * not use are dropped without a warning. */
#ifndef CDC_INT_H
#define CDC_INT_H

#include "cdc.h"

#include "../common/dc_limits.h"

#include <stdio.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The input one pass reads. */
typedef struct cdc_lex {
    const uint8_t *base;   /* first byte, for offsets in errors */
    const uint8_t *end;    /* one past the last byte */
    dc_err *err;           /* receives the first failure */
} cdc_lex;

#define CDC_LEX static __attribute__((unused))

typedef struct slice {
    const uint8_t *s; /* first byte of the value */
    const uint8_t *e; /* one past its last byte */
} slice;

/* ------------------------------------------------------------- errors */

CDC_LEX int fail_at(const cdc_lex *sc, const uint8_t *at, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), cold, noinline));
CDC_LEX int fail_at(const cdc_lex *sc, const uint8_t *at, int code, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dc_err_set(sc->err, code, "cdc: %s at byte %zu", what, (size_t)(at - sc->base));
}

/* Names the byte at `at` ("end of input", "'x'", "byte 0x01"). */
CDC_LEX const char *describe(const cdc_lex *sc, const uint8_t *at, char buf[16])
{
    return dc_describe_byte(at, sc->end, buf);
}

CDC_LEX __attribute__((cold, noinline)) int fail_found(const cdc_lex *sc, const uint8_t *at,
                                                      const char *expected)
{
    char b[16];
    return fail_at(sc, at, DC_EINVAL, "expected %s but found %s", expected, describe(sc, at, b));
}

CDC_LEX __attribute__((cold, noinline)) int fail_depth(const cdc_lex *sc, const uint8_t *at)
{
    return fail_at(sc, at, DC_ELIMIT, "nesting deeper than %d", DC_JSON_MAX_DEPTH);
}

/* Up to 40 bytes of a value's JSON text for a message, cut on a UTF-8 boundary. */
CDC_LEX int shown_len(slice v)
{
    size_t n = (size_t)(v.e - v.s);
    if (n <= 40) return (int)n;
    n = 40;
    while (n > 0 && (v.s[n] & 0xc0) == 0x80) n--;
    return (int)n;
}

/* ------------------------------------------------------------- lexing */

static inline const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end)
{
    /* Every byte that may start a token is above ' ': compact records take
     * one comparison. */
    if (__builtin_expect(p < end && *p > ' ', 1)) return p;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

static inline bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static inline int hex_val(uint8_t c)
{
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Value of 4 hex digits at p (p + 4 <= end checked by the caller), or -1. */
CDC_LEX int32_t hex4(const uint8_t *p)
{
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        const int d = hex_val(p[i]);
        if (d < 0) return -1;
        v = v << 4 | d;
    }
    return v;
}


/* Checks the escape whose backslash is at p; returns the bytes it spans
 * (2, 6 or 12 for a surrogate pair) or a negative error. */
CDC_LEX int check_escape(const cdc_lex *sc, const uint8_t *p, const uint8_t *open)
{
    const uint8_t *const end = sc->end;
    if (end - p < 2) return fail_at(sc, open, DC_EINVAL, "unterminated string");
    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return 2;
    case 'u': break;
    default: {
        char b[16];
        return fail_at(sc, p, DC_EINVAL, "invalid escape: backslash followed by %s",
                       describe(sc, p + 1, b));
    }
    }
    const int32_t cp = end - p >= 6 ? hex4(p + 2) : -1;
    if (cp < 0) return fail_at(sc, p, DC_EINVAL, "invalid \\u escape: expected 4 hex digits");
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return fail_at(sc, p, DC_EINVAL, "lone low surrogate \\u%04x in string", (unsigned)cp);
    if (cp < 0xd800 || cp > 0xdbff) return 6;
    if (end - p < 8 || p[6] != '\\' || p[7] != 'u')
        return fail_at(sc, p, DC_EINVAL, "high surrogate \\u%04x not followed by a low one",
                       (unsigned)cp);
    const int32_t lo = end - p >= 12 ? hex4(p + 8) : -1;
    if (lo < 0) return fail_at(sc, p, DC_EINVAL, "invalid \\u escape: expected 4 hex digits");
    if (lo < 0xdc00 || lo > 0xdfff)
        return fail_at(sc, p, DC_EINVAL, "high surrogate \\u%04x followed by \\u%04x",
                       (unsigned)cp, (unsigned)lo);
    return 12;
}

/* The rest of the string opening at `open`, from p on: escapes, non-ASCII
 * bytes, errors, and the last bytes of the record. Out of line so that the
 * common case (a short ASCII string) stays small and inlined. */
CDC_LEX __attribute__((noinline)) int scan_string_rest(const cdc_lex *sc, const uint8_t *open,
                                                      const uint8_t *p,
                                                      const uint8_t **close_out,
                                                      bool *escaped_out)
{
    const uint8_t *const end = sc->end;
    bool escaped = false;
    for (;;) {
        for (;;) {
            if (end - p < 8) {
                while (p < end && dc_json_plain_byte[*p]) p++;
                break;
            }
            const uint64_t m = dc_json_special8(dc_load_le64(p));
            if (m) {
                p += __builtin_ctzll(m) >> 3;
                break;
            }
            p += 8;
        }
        if (p >= end) return fail_at(sc, open, DC_EINVAL, "unterminated string");
        const uint8_t c = *p;
        if (c == '"') break;
        if (c == '\\') {
            const int n = check_escape(sc, p, open);
            if (n < 0) return n;
            escaped = true;
            p += n;
            continue;
        }
        if (c < 0x20)
            return fail_at(sc, p, DC_EINVAL,
                           "control character 0x%02x in string (must be escaped)", c);
        const size_t n = dc_utf8_seq_len(p, end);
        if (n == 0) return fail_at(sc, p, DC_EINVAL, "invalid UTF-8 in string");
        p += n;
    }
    *close_out = p;
    *escaped_out = escaped;
    return 0;
}

/* The string opening at `open`: finds its closing quote (*close_out),
 * checking UTF-8, control bytes and escapes; *escaped_out says whether it
 * has any. Eight bytes at a time while no byte needs a look. */
static inline __attribute__((always_inline)) int scan_string(const cdc_lex *sc,
                                                             const uint8_t *open,
                                                             const uint8_t **close_out,
                                                             bool *escaped_out)
{
    const uint8_t *p = open + 1;
    const uint8_t *const end = sc->end;
#ifdef __SSE2__
    /* 16 bytes at a time: '"', '\\', and (as signed bytes) both the control
     * bytes and the bytes >= 0x80 compare below 0x20. */
    while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        const __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                         _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
        const unsigned m = (unsigned)_mm_movemask_epi8(hit);
        if (m) {
            p += __builtin_ctz(m);
            goto found;
        }
        p += 16;
    }
#endif
    while (end - p >= 8) {
        const uint64_t m = dc_json_special8(dc_load_le64(p));
        if (m) {
            p += __builtin_ctzll(m) >> 3;
            goto found;
        }
        p += 8;
    }
    return scan_string_rest(sc, open, p, close_out, escaped_out);
found:
    if (*p != '"') return scan_string_rest(sc, open, p, close_out, escaped_out);
    *close_out = p;
    *escaped_out = false;
    return 0;
}

/* number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ("e"/"E") ["+"/"-"] 1*DIGIT ] */
CDC_LEX int scan_number(const cdc_lex *sc, const uint8_t *start, const uint8_t **out)
{
    const uint8_t *p = start, *const end = sc->end;
    if (*p == '-') p++;
    if (p >= end || !is_digit(*p)) return fail_found(sc, p, "a digit after '-'");
    if (*p == '0') {
        if (++p < end && is_digit(*p))
            return fail_at(sc, start, DC_EINVAL, "leading zero in number");
    } else {
        while (p < end && is_digit(*p)) p++;
    }
    if (p < end && *p == '.') {
        if (++p >= end || !is_digit(*p)) return fail_found(sc, p, "a digit after '.'");
        while (p < end && is_digit(*p)) p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !is_digit(*p)) return fail_found(sc, p, "a digit in the exponent");
        while (p < end && is_digit(*p)) p++;
    }
    *out = p;
    return 0;
}

static inline uint32_t word4(const char *s)
{
    uint32_t v;
    memcpy(&v, s, 4);
    return v;
}

CDC_LEX __attribute__((cold, noinline)) int fail_literal(const cdc_lex *sc, const uint8_t *p)
{
    char b[16];
    return fail_at(sc, p, DC_EINVAL, "invalid literal starting with %s (expected %s)",
                   describe(sc, p, b), *p == 't' ? "true" : *p == 'f' ? "false" : "null");
}

/* true, false or null at p (whose first byte is t, f or n). */
static inline int scan_literal(const cdc_lex *sc, const uint8_t *p, const uint8_t **out)
{
    if (sc->end - p >= 4) {
        const uint32_t w = dc_load_le32(p);
        if (w == word4("null") || w == word4("true")) {
            *out = p + 4;
            return 0;
        }
        if (w == word4("fals") && sc->end - p >= 5 && p[4] == 'e') {
            *out = p + 5;
            return 0;
        }
    }
    return fail_literal(sc, p);
}

static inline bool is_ws(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* Validates the value at p (whitespace before it allowed) with `depth`
 * containers open around it, building nothing; *out is just past it.
 * Iterative: `top` is the closing byte of the innermost open container,
 * `outer` those of the containers around it. Whitespace is looked at only
 * where the expected byte is not found, so compact records pay nothing
 * for it. */
CDC_LEX int skip_value(const cdc_lex *sc, const uint8_t *p, int depth, const uint8_t **out)
{
    uint8_t outer[DC_JSON_MAX_DEPTH];
    uint8_t top = 0;
    int sp = 0;
    const uint8_t *const end = sc->end;
    const uint8_t *close = NULL;
    bool escaped = false;
value:
    if (p >= end) return fail_found(sc, p, "a value");
    switch (*p) {
    case '"':
        DC_TRY(scan_string(sc, p, &close, &escaped));
        p = close + 1;
        goto next;
    case '{':
    case '[':
        if (depth + sp >= DC_JSON_MAX_DEPTH) return fail_depth(sc, p);
        outer[sp++] = top;
        top = *p == '{' ? '}' : ']';
        p = skip_ws(p + 1, end);
        if (p < end && *p == top) {
            p++;
            top = outer[--sp];
            goto next;
        }
        if (top == ']') goto value;
        goto key;
    case 't': case 'f': case 'n':
        DC_TRY(scan_literal(sc, p, &p));
        goto next;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        DC_TRY(scan_number(sc, p, &p));
        goto next;
    case ' ': case '\n': case '\r': case '\t':
        p = skip_ws(p, end);
        goto value;
    default:
        return fail_found(sc, p, "a value");
    }
next:
    if (sp == 0) {
        *out = p;
        return 0;
    }
    if (p < end) {
        const uint8_t c = *p;
        if (c == ',') {
            p++;
            if (top == ']') goto value;
            goto key;
        }
        if (c == top) {
            p++;
            top = outer[--sp];
            goto next;
        }
        if (is_ws(c)) {
            p = skip_ws(p, end);
            goto next;
        }
    }
    return fail_found(sc, p, top == '}' ? "',' or '}'" : "',' or ']'");
key:
    if (p < end && *p == '"') {
        DC_TRY(scan_string(sc, p, &close, &escaped));
        p = close + 1;
        if (p < end && *p == ':') {
            p++;
            goto value;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ':') {
            p++;
            goto value;
        }
        return fail_found(sc, p, "':' after the key");
    }
    if (p < end && is_ws(*p)) {
        p = skip_ws(p, end);
        goto key;
    }
    return fail_found(sc, p, "a string key");
}

/* ---------------------------------------------------------- unescaping */


/* Decodes the escape at s (checked by scan_string) into d; returns the bytes
 * written and advances *s. */
CDC_LEX size_t unescape_one(const uint8_t **s, uint8_t *d)
{
    const uint8_t *p = *s;
    uint32_t cp;
    switch (p[1]) {
    case 'b': cp = '\b'; break;
    case 'f': cp = '\f'; break;
    case 'n': cp = '\n'; break;
    case 'r': cp = '\r'; break;
    case 't': cp = '\t'; break;
    case 'u':
        cp = (uint32_t)hex4(p + 2);
        if (cp >= 0xd800 && cp <= 0xdbff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)hex4(p + 8) - 0xdc00);
            *s = p + 12;
            return dc_utf8_put(d, cp);
        }
        *s = p + 6;
        return dc_utf8_put(d, cp);
    default: cp = p[1]; break; /* '"', '\\', '/' */
    }
    *s = p + 2;
    d[0] = (uint8_t)cp;
    return 1;
}

/* Unescapes the checked string body s..e into d (room for e - s bytes: an
 * escape never decodes longer than itself); returns the length. */
CDC_LEX size_t unescape(const uint8_t *s, const uint8_t *e, uint8_t *d)
{
    uint8_t *const d0 = d;
    while (s < e) {
        const uint8_t *bs = memchr(s, '\\', (size_t)(e - s));
        if (!bs) bs = e;
        memcpy(d, s, (size_t)(bs - s));
        d += bs - s;
        s = bs;
        if (s < e) d += unescape_one(&s, d);
    }
    return (size_t)(d - d0);
}

/* Does the checked, escaped string body s..e decode to name[0..n)? */
CDC_LEX bool escaped_eq(const uint8_t *s, const uint8_t *e, const char *name, size_t n)
{
    const uint8_t *want = (const uint8_t *)name, *const want_end = want + n;
    while (s < e) {
        uint8_t tmp[4];
        size_t k = 1;
        if (*s == '\\') {
            k = unescape_one(&s, tmp);
        } else {
            tmp[0] = *s++;
        }
        if ((size_t)(want_end - want) < k || memcmp(want, tmp, k) != 0) return false;
        want += k;
    }
    return want == want_end;
}


/* Reads `"key" :` at p (whitespace before allowed): the key's body and
 * whether it has escapes; *out is just past the colon. */
CDC_LEX int scan_key(const cdc_lex *sc, const uint8_t *p, slice *name, bool *escaped,
                    const uint8_t **out)
{
    const uint8_t *close = NULL;
    p = skip_ws(p, sc->end);
    if (p >= sc->end || *p != '"') return fail_found(sc, p, "a string key");
    DC_TRY(scan_string(sc, p, &close, escaped));
    name->s = p + 1;
    name->e = close;
    p = skip_ws(close + 1, sc->end);
    if (p >= sc->end || *p != ':') return fail_found(sc, p, "':' after the key");
    *out = skip_ws(p + 1, sc->end);
    return 0;
}

/* After a member's value: ',' (→ *more true) or the closing '}'. */
CDC_LEX int member_end(const cdc_lex *sc, const uint8_t *p, bool *more, const uint8_t **out)
{
    p = skip_ws(p, sc->end);
    if (p < sc->end && (*p == ',' || *p == '}')) {
        *more = *p == ',';
        *out = p + 1;
        return 0;
    }
    return fail_found(sc, p, "',' or '}'");
}

/* ------------------------------------------------------ interpretation */

/* The integer JSON text v (no fraction or exponent) when it fits int64. */
CDC_LEX bool slice_i64(slice v, int64_t *out)
{
    const uint8_t *s = v.s;
    const bool neg = s < v.e && *s == '-';
    int64_t acc = 0;
    if (neg) s++;
    if (s == v.e) return false;
    for (; s < v.e; s++) {
        if (!is_digit(*s)) return false;
        const int d = *s - '0';
        if (dc_mul_overflow_i64(acc, 10, &acc) ||
            (neg ? dc_sub_overflow_i64(acc, d, &acc) : dc_add_overflow_i64(acc, d, &acc)))
            return false;
    }
    *out = acc;
    return true;
}

CDC_LEX const char *json_type_name(uint8_t c)
{
    switch (c) {
    case '{': return "an object";
    case '[': return "an array";
    case '"': return "a string";
    case 't': case 'f': return "a boolean";
    case 'n': return "null";
    default: return "a number";
    }
}
/* --------------------------------------------- JSON already validated */

/* One past the closing quote of the string opening at p, in JSON already
 * validated: a quote ends the string unless an odd run of backslashes
 * precedes it. */
CDC_LEX const uint8_t *fast_string_end(const uint8_t *p, const uint8_t *end)
{
    for (const uint8_t *q = p + 1;;) {
        const uint8_t *const quote = memchr(q, '"', (size_t)(end - q));
        DC_ASSERT(quote);
        const uint8_t *b = quote;
        while (b > q && b[-1] == '\\') b--;
        if (((quote - b) & 1) == 0) return quote + 1;
        q = quote + 1;
    }
}

/* One past the validated value at p (no whitespace before it). */
CDC_LEX const uint8_t *fast_skip(const uint8_t *p, const uint8_t *end)
{
    if (*p == '"') return fast_string_end(p, end);
    if (*p != '{' && *p != '[') {
        while (p < end && *p != ',' && *p != '}' && *p != ']' && !is_ws(*p)) p++;
        return p;
    }
    int depth = 0;
    for (;;) {
        const uint8_t c = *p;
        if (c == '"') {
            p = fast_string_end(p, end);
            continue;
        }
        depth += (c == '{' || c == '[') - (c == '}' || c == ']');
        p++;
        if (depth == 0) return p;
    }
}

#endif /* CDC_INT_H */
