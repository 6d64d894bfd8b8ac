/* The Debezium decoder's hot path: one validating pass over a record, no DOM.
 *
 * The record is checked as strictly as dc_json_parse checks a document (RFC
 * 8259 grammar, UTF-8, escapes and surrogate pairs, nesting depth, nothing
 * after the value), so whatever decodes here also parses there, and the
 * before/after slices handed out are themselves valid JSON.
 *
 * Only three levels are looked at: the record's members ("schema" is skipped,
 * "payload" descended into), the payload's members (op, ts_ms, before, after,
 * the schema-change and transaction markers), and the members of the
 * before/after images, where the key columns are noted as value slices.
 * Everything else goes through skip_value, an iterative validator that
 * builds nothing. Decisions wait for the end of the record, so repeated
 * members resolve as in the DOM (the last one wins) and the order of members
 * does not matter (Debezium writes op after the images). */
#include "cdc.h"

#include "../common/dc_limits.h"

#include <stdio.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Slice lengths are uint32_t in dc_cdc_event. */
_Static_assert(DC_JSON_MAX_DOC_BYTES <= UINT32_MAX, "slices fit the event's lengths");

/* A value's text in the record; s == NULL when the member was absent. */
typedef struct slice {
    const uint8_t *s; /* first byte of the value */
    const uint8_t *e; /* one past its last byte */
} slice;

/* What one object at the payload level (the payload, or a bare record) holds. */
typedef struct pstate {
    slice op;                              /* value of "op" */
    slice ts;                              /* value of "ts_ms" */
    slice img[2];                          /* values of "before" [0] and "after" [1] */
    slice key[2][DC_CDC_MAX_KEYS];         /* key column values in before [0] / after [1] */
    bool marker;                           /* ddl, databaseName, tableChanges or status seen */
} pstate;

/* The pass over one record. */
typedef struct scanner {
    const uint8_t *base;                   /* the record, for offsets in errors */
    const uint8_t *end;                    /* one past its last byte */
    dc_err *err;                           /* receives the first failure */
    const dc_cdc_keyspec *keys;            /* key columns to note in the images */
    size_t key_len[DC_CDC_MAX_KEYS];       /* strlen of each key name */
    bool has_schema;                       /* a top-level "schema" member was seen */
    dc_cdc_schema_cache *cache;            /* schema blocks validated before, or NULL */
    slice payload;                         /* value of the last top-level "payload" */
    slice schema;                          /* value of the last top-level "schema" */
} scanner;

/* Members the scanner tells apart. */
enum member {
    M_OTHER = 0, M_SCHEMA, M_PAYLOAD, M_BEFORE, M_AFTER, M_OP, M_TS_MS, M_MARKER,
};

/* 1 for bytes a string may hold as they are: printable ASCII except '"' and '\\'. */
static const uint8_t plain_byte[256] = {
    ['\x20'] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,       /* 0x20-0x2f, '"' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x30-0x3f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x40-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,                  /* 0x50-0x5f, '\\' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x60-0x6f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                  /* 0x70-0x7f */
};

/* ------------------------------------------------------------- errors */

static int fail_at(const scanner *sc, const uint8_t *at, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), cold, noinline));
static int fail_at(const scanner *sc, const uint8_t *at, int code, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dc_err_set(sc->err, code, "cdc: %s at byte %zu", what, (size_t)(at - sc->base));
}

/* Names the byte at `at` ("end of input", "'x'", "byte 0x01"). */
static const char *describe(const scanner *sc, const uint8_t *at, char buf[16])
{
    return dc_describe_byte(at, sc->end, buf);
}

static __attribute__((cold, noinline)) int fail_found(const scanner *sc, const uint8_t *at,
                                                      const char *expected)
{
    char b[16];
    return fail_at(sc, at, DC_EINVAL, "expected %s but found %s", expected, describe(sc, at, b));
}

static __attribute__((cold, noinline)) int fail_depth(const scanner *sc, const uint8_t *at)
{
    return fail_at(sc, at, DC_ELIMIT, "nesting deeper than %d", DC_JSON_MAX_DEPTH);
}

/* Up to 40 bytes of a value's JSON text for a message, cut on a UTF-8 boundary. */
static int shown_len(slice v)
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
static int32_t hex4(const uint8_t *p)
{
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        const int d = hex_val(p[i]);
        if (d < 0) return -1;
        v = v << 4 | d;
    }
    return v;
}


/* High bit set in each byte of v (little-endian load of 8 string bytes)
 * that needs a look: a control byte, '"', '\\' or a byte >= 0x80. A borrow
 * only marks bytes above a true hit, so the lowest set bit is exact. */
static inline uint64_t special8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    const uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    const uint64_t ctl = (v - ones * 0x20) & ~v;
    return (ctl | ((q - ones) & ~q) | ((b - ones) & ~b) | v) & high;
}

/* Checks the escape whose backslash is at p; returns the bytes it spans
 * (2, 6 or 12 for a surrogate pair) or a negative error. */
static int check_escape(const scanner *sc, const uint8_t *p, const uint8_t *open)
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
static __attribute__((noinline)) int scan_string_rest(const scanner *sc, const uint8_t *open,
                                                      const uint8_t *p,
                                                      const uint8_t **close_out,
                                                      bool *escaped_out)
{
    const uint8_t *const end = sc->end;
    bool escaped = false;
    for (;;) {
        for (;;) {
            if (end - p < 8) {
                while (p < end && plain_byte[*p]) p++;
                break;
            }
            const uint64_t m = special8(dc_load_le64(p));
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
static inline __attribute__((always_inline)) int scan_string(const scanner *sc,
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
        const uint64_t m = special8(dc_load_le64(p));
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
static int scan_number(const scanner *sc, const uint8_t *start, const uint8_t **out)
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

static __attribute__((cold, noinline)) int fail_literal(const scanner *sc, const uint8_t *p)
{
    char b[16];
    return fail_at(sc, p, DC_EINVAL, "invalid literal starting with %s (expected %s)",
                   describe(sc, p, b), *p == 't' ? "true" : *p == 'f' ? "false" : "null");
}

/* true, false or null at p (whose first byte is t, f or n). */
static inline int scan_literal(const scanner *sc, const uint8_t *p, const uint8_t **out)
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
static int skip_value(const scanner *sc, const uint8_t *p, int depth, const uint8_t **out)
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
static size_t unescape_one(const uint8_t **s, uint8_t *d)
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
static size_t unescape(const uint8_t *s, const uint8_t *e, uint8_t *d)
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
static bool escaped_eq(const uint8_t *s, const uint8_t *e, const char *name, size_t n)
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

/* ------------------------------------------------------------- members */

/* Which member the key s..e names (the body of a checked string). */
static enum member classify(const uint8_t *s, const uint8_t *e, bool escaped)
{
    uint8_t buf[64];
    if (escaped) {
        if (e - s > (ptrdiff_t)sizeof buf) return M_OTHER; /* longer than any name below */
        e = buf + unescape(s, e, buf);
        s = buf;
    }
#define IS(lit) ((size_t)(e - s) == sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0)
    switch (e - s) {
    case 2: return IS("op") ? M_OP : M_OTHER;
    case 3: return IS("ddl") ? M_MARKER : M_OTHER;
    case 5: return IS("after") ? M_AFTER : IS("ts_ms") ? M_TS_MS : M_OTHER;
    case 6:
        return IS("before") ? M_BEFORE : IS("schema") ? M_SCHEMA : IS("status") ? M_MARKER
                                                                                : M_OTHER;
    case 7: return IS("payload") ? M_PAYLOAD : M_OTHER;
    case 12: return IS("databaseName") || IS("tableChanges") ? M_MARKER : M_OTHER;
    default: return M_OTHER;
    }
#undef IS
}

/* memcmp(...) == 0 without a library call for the short names of columns. */
static inline bool bytes_eq(const uint8_t *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != (uint8_t)b[i]) return false;
    return true;
}

/* Index of the key column named by s..e, or -1. */
static int key_index(const scanner *sc, const uint8_t *s, const uint8_t *e, bool escaped)
{
    const size_t n = (size_t)(e - s);
    for (uint32_t i = 0; i < sc->keys->n; i++) {
        const char *const name = sc->keys->names[i];
        if (escaped) {
            if (sc->key_len[i] <= n && escaped_eq(s, e, name, sc->key_len[i])) return (int)i;
        } else if (sc->key_len[i] == n && bytes_eq(s, name, n)) {
            return (int)i;
        }
    }
    return -1;
}

/* Reads `"key" :` at p (whitespace before allowed): the key's body and
 * whether it has escapes; *out is just past the colon. */
static int scan_key(const scanner *sc, const uint8_t *p, slice *name, bool *escaped,
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
static int member_end(const scanner *sc, const uint8_t *p, bool *more, const uint8_t **out)
{
    p = skip_ws(p, sc->end);
    if (p < sc->end && (*p == ',' || *p == '}')) {
        *more = *p == ',';
        *out = p + 1;
        return 0;
    }
    return fail_found(sc, p, "',' or '}'");
}

/* The object at p ('{') is a before/after image: validates it and notes
 * the value of each key column (the last one when repeated) in keys[]. */
static int scan_image(const scanner *sc, const uint8_t *p, int depth, slice *keys,
                      const uint8_t **out)
{
    if (depth >= DC_JSON_MAX_DEPTH) return fail_depth(sc, p);
    p = skip_ws(p + 1, sc->end);
    bool more = !(p < sc->end && *p == '}');
    if (!more) p++;
    while (more) {
        slice name;
        bool escaped = false;
        DC_TRY(scan_key(sc, p, &name, &escaped, &p));
        const uint8_t *const v = p;
        DC_TRY(skip_value(sc, p, depth + 1, &p));
        const int k = key_index(sc, name.s, name.e, escaped);
        if (k >= 0) keys[k] = (slice){v, p};
        DC_TRY(member_end(sc, p, &more, &p));
    }
    *out = p;
    return 0;
}

static void pstate_reset(pstate *st, uint32_t n_keys)
{
    st->op.s = st->ts.s = st->img[0].s = st->img[1].s = NULL;
    for (uint32_t i = 0; i < n_keys; i++) st->key[0][i].s = st->key[1][i].s = NULL;
    st->marker = false;
}

/* ------------------------------------------------------- schema cache */

void dc_cdc_schema_cache_init(dc_cdc_schema_cache *c)
{
    memset(c, 0, sizeof *c);
}

void dc_cdc_schema_cache_dispose(dc_cdc_schema_cache *c)
{
    for (int i = 0; i < DC_CDC_SCHEMA_CACHE_SLOTS; i++) dc_free(c->block[i]);
    memset(c, 0, sizeof *c);
}

/* Copies the validated block b[0..n) into the next slot (best effort). */
static void remember(dc_cdc_schema_cache *c, const uint8_t *b, size_t n)
{
    if (n > DC_CDC_MAX_CACHED_SCHEMA) return;
    const uint32_t i = c->next;
    c->next = (i + 1) % DC_CDC_SCHEMA_CACHE_SLOTS;
    dc_free(c->block[i]);
    c->block[i] = dc_malloc(n);
    c->len[i] = c->block[i] ? n : 0;
    if (c->block[i]) memcpy(c->block[i], b, n);
}

/* The schema block (an object) at p: a cached block when the bytes match
 * one, else validated by skip_value and remembered. */
static int skip_schema(const scanner *sc, const uint8_t *p, int depth, const uint8_t **out)
{
    dc_cdc_schema_cache *const c = sc->cache;
    const size_t left = (size_t)(sc->end - p);
    for (uint32_t k = 0; k < DC_CDC_SCHEMA_CACHE_SLOTS; k++) {
        const uint32_t i = (c->last_hit + k) % DC_CDC_SCHEMA_CACHE_SLOTS;
        if (c->block[i] && c->len[i] <= left && memcmp(p, c->block[i], c->len[i]) == 0) {
            c->last_hit = i;
            c->hits++;
            *out = p + c->len[i];
            return 0;
        }
    }
    DC_TRY(skip_value(sc, p, depth, out));
    c->misses++;
    remember(c, p, (size_t)(*out - p));
    return 0;
}

/* The object at p ('{') at the payload level: the payload itself (inner
 * NULL), or the record, which may instead carry "schema" and "payload" (the
 * payload's members then go to *inner). */
static int scan_envelope(scanner *sc, const uint8_t *p, int depth, pstate *st, pstate *inner,
                         const uint8_t **out)
{
    if (depth >= DC_JSON_MAX_DEPTH) return fail_depth(sc, p);
    p = skip_ws(p + 1, sc->end);
    bool more = !(p < sc->end && *p == '}');
    if (!more) p++;
    while (more) {
        slice name;
        bool escaped = false;
        DC_TRY(scan_key(sc, p, &name, &escaped, &p));
        const uint8_t *const v = p;
        enum member m = classify(name.s, name.e, escaped);
        if (!inner && (m == M_SCHEMA || m == M_PAYLOAD)) m = M_OTHER;
        if ((m == M_BEFORE || m == M_AFTER) && p < sc->end && *p == '{') {
            slice *const keys = st->key[m == M_AFTER];
            for (uint32_t i = 0; i < sc->keys->n; i++) keys[i].s = NULL;
            DC_TRY(scan_image(sc, p, depth + 1, keys, &p));
        } else if (m == M_SCHEMA && sc->cache && p < sc->end && *p == '{') {
            DC_TRY(skip_schema(sc, p, depth + 1, &p));
        } else if (m == M_PAYLOAD && p < sc->end && *p == '{') {
            pstate_reset(inner, sc->keys->n);
            DC_TRY(scan_envelope(sc, p, depth + 1, inner, NULL, &p));
        } else {
            DC_TRY(skip_value(sc, p, depth + 1, &p));
        }
        const slice val = {v, p};
        switch (m) {
        case M_SCHEMA:
            sc->has_schema = true;
            sc->schema = val;
            break;
        case M_PAYLOAD: sc->payload = val; break;
        case M_BEFORE: st->img[0] = val; break;
        case M_AFTER: st->img[1] = val; break;
        case M_OP: st->op = val; break;
        case M_TS_MS: st->ts = val; break;
        case M_MARKER: st->marker = true; break;
        case M_OTHER: break;
        }
        DC_TRY(member_end(sc, p, &more, &p));
    }
    *out = p;
    return 0;
}

/* ------------------------------------------------------ interpretation */

/* The integer JSON text v (no fraction or exponent) when it fits int64. */
static bool slice_i64(slice v, int64_t *out)
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

static const char *json_type_name(uint8_t c)
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

/* The op (a one-letter string) → *op, or an error naming what was found. */
static int read_op(const scanner *sc, slice v, const char *where, char *op)
{
    uint8_t buf[8];
    size_t n = 0;
    if (*v.s == '"' && v.e - v.s <= (ptrdiff_t)sizeof buf) {
        n = unescape(v.s + 1, v.e - 1, buf);
        if (n == 1 && memchr("cudrtm", buf[0], 6) && buf[0]) {
            *op = (char)buf[0];
            return 0;
        }
    }
    if (*v.s != '"')
        return fail_at(sc, v.s, DC_EINVAL, "%sop: expected a string, found %s", where,
                       json_type_name(*v.s));
    return fail_at(sc, v.s, DC_EINVAL, "%sop: unknown op %.*s (expected one of c, u, d, r, t, m)",
                   where, shown_len(v), (const char *)v.s);
}

/* One key column's value slice → out (strings borrowed from the record when
 * they have no escapes, else unescaped into scratch at *off_out). */
static int read_key(const scanner *sc, slice v, uint32_t i, const char *where,
                    const char *img_name, dc_cdc_key *out, dc_buf *scratch, size_t *off_out)
{
    const char *const name = sc->keys->names[i];
    *off_out = SIZE_MAX;
    if (*v.s == 'n')
        return fail_at(sc, v.s, DC_EINVAL, "key column '%s' is null in %s%s", name, where,
                       img_name);
    if (*v.s == '"') {
        const uint8_t *const body = v.s + 1, *const close = v.e - 1;
        out->type = DC_CDC_KEY_STRING;
        if (!memchr(body, '\\', (size_t)(close - body))) {
            out->s = (const char *)body;
            out->len = (uint32_t)(close - body);
            return 0;
        }
        DC_TRY(dc_buf_reserve(scratch, (size_t)(close - body), sc->err));
        *off_out = scratch->len;
        const size_t n = unescape(body, close, scratch->data + scratch->len);
        scratch->len += n;
        out->s = NULL; /* set once scratch stops moving */
        out->len = (uint32_t)n;
        return 0;
    }
    if ((*v.s == '-' || is_digit(*v.s)) && slice_i64(v, &out->i)) {
        out->type = DC_CDC_KEY_LONG;
        return 0;
    }
    /* Fractions, exponents, out-of-range integers, booleans, objects, arrays:
     * their JSON text. */
    out->type = DC_CDC_KEY_STRING;
    out->s = (const char *)v.s;
    out->len = (uint32_t)(v.e - v.s);
    return 0;
}

/* Fills out->keys from the image slots of the chosen payload. */
static int read_keys(const scanner *sc, const slice *slots, slice img, const char *where,
                     const char *img_name, dc_cdc_event *out, dc_buf *scratch)
{
    size_t off[DC_CDC_MAX_KEYS];
    for (uint32_t i = 0; i < sc->keys->n; i++) {
        if (!slots[i].s)
            return fail_at(sc, img.s, DC_EINVAL, "key column '%s' missing from %s%s",
                           sc->keys->names[i], where, img_name);
        DC_TRY(read_key(sc, slots[i], i, where, img_name, &out->keys[i], scratch, &off[i]));
    }
    for (uint32_t i = 0; i < sc->keys->n; i++)
        if (off[i] != SIZE_MAX) out->keys[i].s = (const char *)scratch->data + off[i];
    out->n_keys = sc->keys->n;
    return 0;
}

/* Decides what the record is from its payload-level members; `where` is
 * "payload." or "" (a record without envelope), `at` the payload's offset. */
static int interpret(const scanner *sc, const pstate *st, const char *where, const uint8_t *at,
                     dc_cdc_event *out, dc_buf *scratch)
{
    if (st->ts.s && *st->ts.s != 'n') {
        if (!slice_i64(st->ts, &out->ts_ms))
            return fail_at(sc, st->ts.s, DC_EINVAL, "%sts_ms: expected an integer, found %.*s",
                           where, shown_len(st->ts), (const char *)st->ts.s);
        out->has_ts_ms = true;
    }
    bool img_present[2];
    for (int i = 0; i < 2; i++) img_present[i] = st->img[i].s && *st->img[i].s != 'n';
    if (!st->op.s || *st->op.s == 'n') {
        /* Heartbeats carry ts_ms only; schema changes ddl, databaseName and
         * tableChanges; transaction metadata status: none is a row change. */
        if (!img_present[0] && !img_present[1] && (st->marker || st->ts.s)) return 0;
        return fail_at(sc, at, DC_EINVAL,
                       "%sop missing: not a Debezium change event, heartbeat or schema change",
                       where);
    }
    DC_TRY(read_op(sc, st->op, where, &out->op));
    if (out->op == 'm') return 0;
    static const char *const img_name[2] = {"before", "after"};
    for (int i = 0; i < 2; i++) {
        if (img_present[i] && *st->img[i].s != '{')
            return fail_at(sc, st->img[i].s, DC_EINVAL, "%s%s: expected an object or null, found %s",
                           where, img_name[i], json_type_name(*st->img[i].s));
    }
    if (img_present[0]) {
        out->before = (const char *)st->img[0].s;
        out->before_len = (uint32_t)(st->img[0].e - st->img[0].s);
    }
    if (img_present[1]) {
        out->after = (const char *)st->img[1].s;
        out->after_len = (uint32_t)(st->img[1].e - st->img[1].s);
    }
    if (out->op == 't') {
        out->kind = DC_CDC_TRUNCATE;
        return 0;
    }
    const int which = out->op == 'd' ? 0 : 1;
    if (!img_present[which])
        return fail_at(sc, st->img[which].s ? st->img[which].s : at, DC_EINVAL,
                       "op '%c' without a%s %s image (%s%s is %s)", out->op,
                       which ? "n" : "", img_name[which], where, img_name[which],
                       st->img[which].s ? "null" : "missing");
    DC_TRY(read_keys(sc, st->key[which], st->img[which], where, img_name[which], out, scratch));
    out->kind = DC_CDC_CHANGE;
    return 0;
}

int dc_cdc_decode(dc_cdc_event *out, dc_buf *scratch, const dc_cdc_keyspec *keys,
                  const char *rec, size_t n, dc_err *err)
{
    return dc_cdc_decode_cached(out, scratch, NULL, keys, rec, n, err);
}

int dc_cdc_decode_cached(dc_cdc_event *out, dc_buf *scratch, dc_cdc_schema_cache *cache,
                         const dc_cdc_keyspec *keys, const char *rec, size_t n, dc_err *err)
{
    memset(out, 0, sizeof *out);
    out->kind = DC_CDC_SKIP;
    dc_buf_reset(scratch);
    if (!keys || keys->n == 0 || keys->n > DC_CDC_MAX_KEYS)
        return dc_err_set(err, DC_EINVAL, "cdc: a keyspec names 1 to %d columns",
                          DC_CDC_MAX_KEYS);
    if (n > DC_JSON_MAX_DOC_BYTES)
        return dc_err_set(err, DC_ELIMIT, "cdc: record of %zu bytes exceeds the limit of %zu", n,
                          DC_JSON_MAX_DOC_BYTES);
    scanner sc = {0};
    sc.base = (const uint8_t *)(rec ? rec : "");
    sc.end = sc.base + (rec ? n : 0);
    sc.err = err;
    sc.keys = keys;
    sc.cache = cache;
    for (uint32_t i = 0; i < keys->n; i++) sc.key_len[i] = strlen(keys->names[i]);
    const uint8_t *p = skip_ws(sc.base, sc.end);
    if (p == sc.end) return 0; /* empty value: tombstone */
    const uint8_t *const start = p;
    if (*p == 'n') {
        DC_TRY(scan_literal(&sc, p, &p)); /* null: tombstone */
    } else if (*p == '{') {
        pstate top, inner;
        pstate_reset(&top, keys->n);
        pstate_reset(&inner, keys->n);
        DC_TRY(scan_envelope(&sc, p, 0, &top, &inner, &p));
        p = skip_ws(p, sc.end);
        if (p < sc.end) goto trailing;
        if (sc.payload.s) {
            if (*sc.payload.s == 'n') return 0; /* JsonConverter envelope of a tombstone */
            if (sc.schema.s && *sc.schema.s != 'n') {
                out->schema = (const char *)sc.schema.s;
                out->schema_len = (uint32_t)(sc.schema.e - sc.schema.s);
            }
            if (*sc.payload.s != '{')
                return fail_at(&sc, sc.payload.s, DC_EINVAL,
                               "payload: expected an object or null, found %s",
                               json_type_name(*sc.payload.s));
            return interpret(&sc, &inner, "payload.", sc.payload.s, out, scratch);
        }
        if (sc.has_schema)
            return fail_at(&sc, start, DC_EINVAL, "record has a schema block but no payload");
        return interpret(&sc, &top, "", start, out, scratch);
    } else {
        char b[16];
        return fail_at(&sc, p, DC_EINVAL, "record is not a JSON object (starts with %s)",
                       describe(&sc, p, b));
    }
    p = skip_ws(p, sc.end);
    if (p == sc.end) return 0;
trailing:;
    char b[16];
    return fail_at(&sc, p, DC_EINVAL, "unexpected %s after the record", describe(&sc, p, b));
}
