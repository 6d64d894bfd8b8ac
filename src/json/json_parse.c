/* Strict RFC 8259 parser into an arena-owned DOM, and the DOM accessors.
 *
 * One pass over the text, recursive descent bounded by DC_JSON_MAX_DEPTH.
 * Members of the open containers wait on one growable stack (innermost last);
 * when a container closes its members are copied into one arena array, so
 * every array/object ends up as `len` consecutive nodes and the stack is
 * reused by the next container. Strings without escapes are one memcpy. */
#include "dc_json.h"
#include "json_int.h"

#include "../common/dc_limits.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Lengths and member counts are uint32_t in dc_json; a document can not hold
 * more of either than it has bytes. */
_Static_assert(DC_JSON_MAX_DOC_BYTES <= UINT32_MAX, "lengths fit dc_json.len");

typedef struct parser {
    const uint8_t *base; /* start of the text, for positions in errors */
    const uint8_t *p;    /* next byte to read */
    const uint8_t *end;  /* one past the last byte */
    dc_arena *arena;     /* owns every node and string of the result */
    dc_err *err;         /* receives the first failure */
    dc_json *stack;      /* members of the open containers, innermost last; owned */
    size_t top;          /* members in use on `stack` */
    size_t cap;          /* members allocated for `stack` */
    int depth;           /* containers open around `p` */
} parser;

/* 1 for bytes a string may hold as they are: printable ASCII except '"' and '\\'. */
const uint8_t dc_json_plain_byte[256] = {
    ['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,       /* 0x20-0x2f, '"' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x30-0x3f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x40-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,                  /* 0x50-0x5f, '\\' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x60-0x6f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x70-0x7f */
};

static int parse_value(parser *ps, dc_json *out);

/* ------------------------------------------------------------- errors */

/* Records "json: <what> at line L column C (byte B)"; L and C count from 1
 * (C in bytes), B from 0. Only runs on failure, so the line scan is cheap. */
static int fail_at(const parser *ps, const uint8_t *at, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(const parser *ps, const uint8_t *at, int code, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t line = 1;
    const uint8_t *line_start = ps->base;
    for (const uint8_t *q = ps->base; q < at; q++) {
        if (*q == '\n') {
            line++;
            line_start = q + 1;
        }
    }
    return dc_err_set(ps->err, code, "json: %s at line %zu column %zu (byte %zu)", what, line,
                      (size_t)(at - line_start) + 1, (size_t)(at - ps->base));
}

/* Names the byte at `at` for an error message ("end of input", "'x'", "byte 0x01"). */
static const char *describe(const parser *ps, const uint8_t *at, char buf[16])
{
    return dc_describe_byte(at, ps->end, buf);
}

static int fail_found(const parser *ps, const char *expected)
{
    char b[16];
    return fail_at(ps, ps->p, DC_EINVAL, "expected %s but found %s", expected,
                   describe(ps, ps->p, b));
}

/* The arena already recorded ENOMEM or ELIMIT; say where in the text. */
static int arena_fail(const parser *ps, const uint8_t *at)
{
    dc_err_prefix(ps->err, "json: at byte %zu", (size_t)(at - ps->base));
    return ps->err ? ps->err->code : DC_ENOMEM;
}

/* ------------------------------------------------------------- helpers */

static inline void skip_ws(parser *ps)
{
    const uint8_t *p = ps->p;
    while (p < ps->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    ps->p = p;
}

static inline bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static inline bool at_byte(const parser *ps, uint8_t c)
{
    return ps->p < ps->end && *ps->p == c;
}



/* ------------------------------------------------------------- strings */

/* Four hex digits at *s (before e) → *out, advancing *s. */
static int read_hex4(const parser *ps, const uint8_t **s, const uint8_t *e, uint32_t *out)
{
    uint32_t v = 0;
    const uint8_t *p = *s;
    for (int i = 0; i < 4; i++, p++) {
        uint32_t d;
        if (p >= e) d = 16;
        else if (is_digit(*p)) d = (uint32_t)(*p - '0');
        else if (*p >= 'a' && *p <= 'f') d = (uint32_t)(*p - 'a' + 10);
        else if (*p >= 'A' && *p <= 'F') d = (uint32_t)(*p - 'A' + 10);
        else d = 16;
        if (d == 16)
            return fail_at(ps, *s - 2, DC_EINVAL, "invalid \\u escape: expected 4 hex digits");
        v = v << 4 | d;
    }
    *s = p;
    *out = v;
    return 0;
}

/* The code point of a \u escape whose 'u' is just before *s, combining a
 * surrogate pair; lone surrogates are errors. */
static int read_u_escape(const parser *ps, const uint8_t **s, const uint8_t *e, uint32_t *out)
{
    const uint8_t *const esc = *s - 2;
    uint32_t cp = 0, lo = 0;
    DC_TRY(read_hex4(ps, s, e, &cp));
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return fail_at(ps, esc, DC_EINVAL, "lone low surrogate \\u%04x in string", cp);
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (e - *s < 2 || (*s)[0] != '\\' || (*s)[1] != 'u')
            return fail_at(ps, esc, DC_EINVAL, "high surrogate \\u%04x not followed by a low one",
                           cp);
        *s += 2;
        DC_TRY(read_hex4(ps, s, e, &lo));
        if (lo < 0xdc00 || lo > 0xdfff)
            return fail_at(ps, esc, DC_EINVAL, "high surrogate \\u%04x followed by \\u%04x", cp,
                           lo);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    *out = cp;
    return 0;
}

/* Decodes the escapes of s..e (the body of a string already checked by
 * scan_string) into a fresh arena copy. Unescaped text is never longer. */
static int unescape(parser *ps, const uint8_t *s, const uint8_t *e, const char **out,
                    uint32_t *len_out)
{
    char *const d0 = dc_arena_alloc(ps->arena, (size_t)(e - s) + 1, ps->err);
    if (!d0) return arena_fail(ps, s);
    char *d = d0;
    while (s < e) {
        const uint8_t *bs = memchr(s, '\\', (size_t)(e - s));
        if (!bs) bs = e;
        memcpy(d, s, (size_t)(bs - s));
        d += bs - s;
        if (bs == e) break;
        const uint8_t c = bs[1]; /* scan_string saw a valid escape letter */
        s = bs + 2;
        switch (c) {
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            uint32_t cp = 0;
            DC_TRY(read_u_escape(ps, &s, e, &cp));
            d += dc_utf8_put((uint8_t *)d, cp);
            break;
        }
        default: *d++ = (char)c; break; /* '"', '\\', '/' */
        }
    }
    *d = '\0';
    *out = d0;
    *len_out = (uint32_t)(d - d0);
    return 0;
}

/* Finds the closing quote of the string opening at ps->p, checking UTF-8,
 * control bytes and escape letters on the way. */
static int scan_string(const parser *ps, const uint8_t **close_out, bool *escaped_out)
{
    const uint8_t *p = ps->p + 1;
    bool escaped = false;
    for (;;) {
        while (p < ps->end && dc_json_plain_byte[*p]) p++;
        if (p >= ps->end) return fail_at(ps, ps->p, DC_EINVAL, "unterminated string");
        const uint8_t c = *p;
        if (c == '"') break;
        if (c == '\\') {
            if (p + 1 >= ps->end) return fail_at(ps, ps->p, DC_EINVAL, "unterminated string");
            if (!strchr("\"\\/bfnrtu", p[1]) || p[1] == '\0') {
                char b[16];
                return fail_at(ps, p, DC_EINVAL, "invalid escape: backslash followed by %s",
                               describe(ps, p + 1, b));
            }
            escaped = true;
            p += 2;
            continue;
        }
        if (c < 0x20)
            return fail_at(ps, p, DC_EINVAL,
                           "control character 0x%02x in string (must be escaped)", c);
        const size_t n = dc_utf8_seq_len(p, ps->end);
        if (n == 0) return fail_at(ps, p, DC_EINVAL, "invalid UTF-8 in string");
        p += n;
    }
    *close_out = p;
    *escaped_out = escaped;
    return 0;
}

/* The string at ps->p (on its opening quote) → arena copy, NUL-terminated. */
static int parse_string(parser *ps, const char **out, uint32_t *len_out)
{
    const uint8_t *close = NULL;
    bool escaped = false;
    DC_TRY(scan_string(ps, &close, &escaped));
    const uint8_t *const body = ps->p + 1;
    if (escaped) {
        DC_TRY(unescape(ps, body, close, out, len_out));
    } else {
        *out = dc_arena_strndup(ps->arena, (const char *)body, (size_t)(close - body), ps->err);
        if (!*out) return arena_fail(ps, body);
        *len_out = (uint32_t)(close - body);
    }
    ps->p = close + 1;
    return 0;
}

/* ---------------------------------------------------- numbers, literals */

static const uint8_t *skip_digits(const uint8_t *p, const uint8_t *end)
{
    while (p < end && is_digit(*p)) p++;
    return p;
}

/* number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ("e"/"E") ["+"/"-"] 1*DIGIT ] */
static int parse_number(parser *ps, dc_json *out)
{
    const uint8_t *const start = ps->p, *const end = ps->end;
    const uint8_t *p = start;
    char b[16];
    if (*p == '-') p++;
    if (p >= end || !is_digit(*p))
        return fail_at(ps, p, DC_EINVAL, "expected a digit after '-' but found %s",
                       describe(ps, p, b));
    if (*p == '0') {
        if (++p < end && is_digit(*p)) return fail_at(ps, start, DC_EINVAL, "leading zero in number");
    } else {
        p = skip_digits(p, end);
    }
    if (p < end && *p == '.') {
        if (++p >= end || !is_digit(*p))
            return fail_at(ps, p, DC_EINVAL, "expected a digit after '.' but found %s",
                           describe(ps, p, b));
        p = skip_digits(p, end);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !is_digit(*p))
            return fail_at(ps, p, DC_EINVAL, "expected a digit in the exponent but found %s",
                           describe(ps, p, b));
        p = skip_digits(p, end);
    }
    const char *text = dc_arena_strndup(ps->arena, (const char *)start, (size_t)(p - start),
                                        ps->err);
    if (!text) return arena_fail(ps, start);
    out->type = DC_JSON_NUMBER;
    out->len = (uint32_t)(p - start);
    out->u.str = text;
    ps->p = p;
    return 0;
}

static int parse_literal(parser *ps, dc_json *out, const char *word, dc_json_type type)
{
    const size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        char b[16];
        return fail_at(ps, ps->p, DC_EINVAL, "invalid literal starting with %s (expected %s)",
                       describe(ps, ps->p, b), word);
    }
    ps->p += n;
    out->type = type;
    out->len = 0;
    out->u.str = NULL;
    return 0;
}

/* ---------------------------------------------------------- containers */

static int push(parser *ps, const dc_json *v)
{
    if (ps->top == ps->cap) {
        /* Every member on the stack ends in the arena: refuse early what it can not hold. */
        const dc_arena *a = ps->arena;
        const size_t budget = a->used < a->max ? (a->max - a->used) / sizeof(dc_json) : 0;
        if (ps->top >= budget)
            return fail_at(ps, ps->p, DC_ELIMIT,
                           "document needs more than the arena maximum of %zu bytes", a->max);
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        if (cap > budget) cap = budget;
        dc_json *s = dc_realloc(ps->stack, cap * sizeof *s);
        if (!s)
            return fail_at(ps, ps->p, DC_ENOMEM, "out of memory growing the parse stack to %zu",
                           cap);
        ps->stack = s;
        ps->cap = cap;
    }
    ps->stack[ps->top++] = *v;
    return 0;
}

static int open_container(parser *ps)
{
    if (ps->depth >= DC_JSON_MAX_DEPTH)
        return fail_at(ps, ps->p, DC_ELIMIT, "nesting deeper than %d", DC_JSON_MAX_DEPTH);
    ps->depth++;
    ps->p++;
    skip_ws(ps);
    return 0;
}

/* Moves the members pushed since `base` into one arena array owned by `out`
 * and steps over the closing bracket. */
static int close_container(parser *ps, dc_json *out, dc_json_type type, size_t base)
{
    const size_t count = ps->top - base;
    out->type = type;
    out->len = (uint32_t)count;
    out->u.items = NULL;
    if (count > 0) {
        dc_json *items = dc_arena_alloc(ps->arena, count * sizeof *items, ps->err);
        if (!items) return arena_fail(ps, ps->p);
        memcpy(items, ps->stack + base, count * sizeof *items);
        out->u.items = items;
    }
    ps->top = base;
    ps->depth--;
    ps->p++;
    return 0;
}

static int parse_array(parser *ps, dc_json *out)
{
    const size_t base = ps->top;
    DC_TRY(open_container(ps));
    if (at_byte(ps, ']')) return close_container(ps, out, DC_JSON_ARRAY, base);
    for (;;) {
        dc_json item;
        DC_TRY(parse_value(ps, &item));
        DC_TRY(push(ps, &item));
        skip_ws(ps);
        if (at_byte(ps, ']')) return close_container(ps, out, DC_JSON_ARRAY, base);
        if (!at_byte(ps, ',')) return fail_found(ps, "',' or ']'");
        ps->p++;
    }
}

static int parse_object(parser *ps, dc_json *out)
{
    const size_t base = ps->top;
    DC_TRY(open_container(ps));
    if (at_byte(ps, '}')) return close_container(ps, out, DC_JSON_OBJECT, base);
    for (;;) {
        const char *key;
        uint32_t key_len;
        skip_ws(ps);
        if (!at_byte(ps, '"')) return fail_found(ps, "a string key");
        DC_TRY(parse_string(ps, &key, &key_len));
        skip_ws(ps);
        if (!at_byte(ps, ':')) return fail_found(ps, "':' after the key");
        ps->p++;
        dc_json item;
        DC_TRY(parse_value(ps, &item));
        item.key = key;
        item.key_len = key_len;
        DC_TRY(push(ps, &item));
        skip_ws(ps);
        if (at_byte(ps, '}')) return close_container(ps, out, DC_JSON_OBJECT, base);
        if (!at_byte(ps, ',')) return fail_found(ps, "',' or '}'");
        ps->p++;
    }
}

static int parse_value(parser *ps, dc_json *out)
{
    skip_ws(ps);
    out->key = NULL;
    out->key_len = 0;
    if (ps->p >= ps->end) return fail_found(ps, "a value");
    switch (*ps->p) {
    case '{': return parse_object(ps, out);
    case '[': return parse_array(ps, out);
    case '"':
        out->type = DC_JSON_STRING;
        return parse_string(ps, &out->u.str, &out->len);
    case 't': return parse_literal(ps, out, "true", DC_JSON_TRUE);
    case 'f': return parse_literal(ps, out, "false", DC_JSON_FALSE);
    case 'n': return parse_literal(ps, out, "null", DC_JSON_NULL);
    default:
        if (*ps->p == '-' || is_digit(*ps->p)) return parse_number(ps, out);
        return fail_found(ps, "a value");
    }
}

int dc_json_parse(dc_json **out, dc_arena *arena, const char *text, size_t n, dc_err *err)
{
    int rc = 0;
    parser ps = {0};
    ps.base = (const uint8_t *)(text ? text : "");
    ps.p = ps.base;
    ps.end = ps.base + (text ? n : 0);
    ps.arena = arena;
    ps.err = err;
    *out = NULL;
    if (n > DC_JSON_MAX_DOC_BYTES) {
        rc = dc_err_set(err, DC_ELIMIT, "json: document of %zu bytes exceeds the limit of %zu",
                        n, DC_JSON_MAX_DOC_BYTES);
        goto out;
    }
    dc_json *const root = dc_arena_alloc(arena, sizeof *root, err);
    if (!root) {
        rc = arena_fail(&ps, ps.p);
        goto out;
    }
    if ((rc = parse_value(&ps, root)) < 0) goto out;
    skip_ws(&ps);
    if (ps.p < ps.end) {
        char b[16];
        rc = fail_at(&ps, ps.p, DC_EINVAL, "unexpected %s after the value",
                     describe(&ps, ps.p, b));
        goto out;
    }
    *out = root;
out:
    dc_free(ps.stack);
    return rc;
}

/* ----------------------------------------------------------- accessors */

const dc_json *dc_json_get(const dc_json *obj, const char *key)
{
    if (!obj || obj->type != DC_JSON_OBJECT || !key) return NULL;
    const size_t n = strlen(key);
    for (uint32_t i = obj->len; i-- > 0;) {
        const dc_json *m = &obj->u.items[i];
        if (m->key_len == n && memcmp(m->key, key, n) == 0) return m;
    }
    return NULL;
}

const char *dc_json_str(const dc_json *v)
{
    return v && v->type == DC_JSON_STRING ? v->u.str : NULL;
}

const char *dc_json_type_name(dc_json_type t)
{
    switch (t) {
    case DC_JSON_NULL: return "null";
    case DC_JSON_FALSE:
    case DC_JSON_TRUE: return "a boolean";
    case DC_JSON_NUMBER: return "a number";
    case DC_JSON_STRING: return "a string";
    case DC_JSON_ARRAY: return "an array";
    case DC_JSON_OBJECT: return "an object";
    }
    return "an invalid value";
}

/* Checks v is a NUMBER; otherwise an error naming `what` and what was found. */
static int want_number(const dc_json *v, const char *what, const char *expected, dc_err *err)
{
    if (!v) return dc_err_set(err, DC_EINVAL, "json: %s: missing (expected %s)", what, expected);
    if (v->type != DC_JSON_NUMBER)
        return dc_err_set(err, DC_EINVAL, "json: %s: expected %s, found %s", what, expected,
                          dc_json_type_name(v->type));
    return 0;
}

int dc_json_i64(int64_t *out, const dc_json *v, const char *what, dc_err *err)
{
    if (!what) what = "value";
    DC_TRY(want_number(v, what, "an integer", err));
    const char *s = v->u.str, *const e = s + v->len;
    const int shown = v->len > 64 ? 64 : (int)v->len;
    const bool neg = s < e && *s == '-';
    int64_t acc = 0;
    if (neg) s++;
    if (s == e) goto not_integer;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9') goto not_integer;
        const int d = *s - '0';
        /* Accumulate negatively when negative so INT64_MIN fits. */
        if (dc_mul_overflow_i64(acc, 10, &acc) ||
            (neg ? dc_sub_overflow_i64(acc, d, &acc) : dc_add_overflow_i64(acc, d, &acc)))
            return dc_err_set(err, DC_EINVAL, "json: %s: integer %.*s%s out of int64 range", what,
                              shown, v->u.str, shown < (int)v->len ? "..." : "");
    }
    *out = acc;
    return 0;
not_integer:
    return dc_err_set(err, DC_EINVAL, "json: %s: expected an integer, found %.*s%s", what, shown,
                      v->u.str, shown < (int)v->len ? "..." : "");
}


int dc_json_f64(double *out, const dc_json *v, const char *what, dc_err *err)
{
    if (!what) what = "value";
    if (v && v->type == DC_JSON_STRING) {
        /* What dc_json_put_f64 writes for the values JSON has no number for. */
        if (strcmp(v->u.str, "NaN") == 0 && v->len == 3) *out = NAN;
        else if (strcmp(v->u.str, "Infinity") == 0 && v->len == 8) *out = INFINITY;
        else if (strcmp(v->u.str, "-Infinity") == 0 && v->len == 9) *out = -INFINITY;
        else return want_number(v, what, "a number", err);
        return 0;
    }
    DC_TRY(want_number(v, what, "a number", err));
    const locale_t loc = dc_json_c_locale();
    char *end = NULL;
    /* Overflow gives ±inf, underflow 0 or a subnormal: what strtod and most readers do. */
    const double d = loc ? strtod_l(v->u.str, &end, loc) : strtod(v->u.str, &end);
    if (end != v->u.str + v->len || v->len == 0)
        return dc_err_set(err, DC_EINVAL, "json: %s: invalid number text", what);
    *out = d;
    return 0;
}
