/*
 * common: the contract every other module builds on.
 *
 * Errors (dc_err), checked arithmetic, the allocation hook, bounded growable
 * buffers (dc_buf), a bounds-checked little-endian cursor (dc_cur), an arena
 * for per-batch objects, and levelled, facility-tagged logging.
 *
 * This header includes nothing of ours (layering rule, checked by `make lint`).
 */
#ifndef DC_COMMON_H
#define DC_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------- errors */

/* Return codes: 0 is success, every error is negative. */
enum {
    DC_OK = 0,
    DC_EINVAL = -1,       /* bad input: a file, a message, a config value */
    DC_ENOMEM = -2,       /* allocation failed or a buffer hit its maximum */
    DC_EIO = -3,          /* the operating system said no */
    DC_ECORRUPT = -4,     /* bytes that do not decode: truncated, malformed */
    DC_EUNSUPPORTED = -5, /* valid but a feature we refuse (named in msg) */
    DC_ELIMIT = -6,       /* input exceeds one of dc_limits.h */
    DC_ENOTFOUND = -7,    /* a file, key or version that is not there */
    DC_ECONFLICT = -8,    /* a concurrent writer won; usually retriable */
    DC_EEXISTS = -9,      /* put-if-absent found the object present */
    DC_EINTERNAL = -10,   /* a bug of ours that was caught without aborting */
    DC_EUNKNOWN = -11,    /* the outcome is unknown: the operation may have taken effect
                             (a reply lost after a PUT, an fsync error after a rename);
                             the caller must find out before it retries or cleans up */
};

#define DC_ERR_MSG_MAX 1024

/* Caller-owned error: the first failure writes it, callers may prefix context. */
typedef struct dc_err {
    int code;                  /* DC_E* of the failure, DC_OK while clear */
    bool retriable;            /* true when retrying the same call can help */
    char msg[DC_ERR_MSG_MAX];  /* one line, says where and what */
} dc_err;

void dc_err_clear(dc_err *err);
/* Records code and message; returns code so callers can `return dc_err_set(...)`.
 * err may be NULL (the message is then dropped). */
int dc_err_set(dc_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int dc_err_setv(dc_err *err, int code, const char *fmt, va_list ap);
/* Same, marked retriable (timeouts, lost commit races). */
int dc_err_set_retriable(dc_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "context: " to the message already recorded. */
void dc_err_prefix(dc_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *dc_err_code_name(int code);

/* The one control-flow macro: propagate a negative return. */
#define DC_TRY(expr)                         \
    do {                                     \
        int dc_try_rc_ = (expr);             \
        if (dc_try_rc_ < 0) return dc_try_rc_; \
    } while (0)

/* A broken invariant of our own: abort, in release builds too. */
void dc_assert_fail(const char *expr, const char *file, int line)
    __attribute__((noreturn));
#define DC_ASSERT(c) \
    ((c) ? (void)0 : dc_assert_fail(#c, __FILE__, __LINE__))
/* Expensive self-checks, debug builds only. */
#ifdef DC_DEBUG
#define DC_DASSERT(c) DC_ASSERT(c)
#else
#define DC_DASSERT(c) ((void)0)
#endif

/* ---------------------------------------------------- checked arithmetic */

/* Each returns true on overflow (the result is then unspecified). */
static inline bool dc_add_overflow_sz(size_t a, size_t b, size_t *out)
{ return __builtin_add_overflow(a, b, out); }
static inline bool dc_mul_overflow_sz(size_t a, size_t b, size_t *out)
{ return __builtin_mul_overflow(a, b, out); }
static inline bool dc_add_overflow_i64(int64_t a, int64_t b, int64_t *out)
{ return __builtin_add_overflow(a, b, out); }
static inline bool dc_sub_overflow_i64(int64_t a, int64_t b, int64_t *out)
{ return __builtin_sub_overflow(a, b, out); }
static inline bool dc_mul_overflow_i64(int64_t a, int64_t b, int64_t *out)
{ return __builtin_mul_overflow(a, b, out); }

/* ------------------------------------------------------------ allocation */

/* Every allocation of ours goes through these, so tests can fail the Nth. */
void *dc_malloc(size_t n);
void *dc_calloc(size_t count, size_t size);
void *dc_realloc(void *p, size_t n);
/* Grows the array *p of `elem`-byte elements (capacity *cap) to hold at least
 * `need`, doubling; `max` caps the capacity (more than max is DC_ENOMEM: a
 * buffer at its limit, not bad input). One helper for every growing array. */
int dc_array_grow(void **p, size_t *cap, size_t need, size_t elem, size_t max, dc_err *err);
void dc_free(void *p);
char *dc_strdup(const char *s);
char *dc_strndup(const char *s, size_t n);
/* Tests: make the Nth allocation from now fail (0 disables); returns the count
 * of allocations made since the last call. Both count the calling thread's
 * allocations only (thread-local), so a second thread never races them. */
void dc_alloc_fail_after(long n);
long dc_alloc_count(void);

/* ------------------------------------------------------- bounded buffers */

/* A growable byte buffer that refuses to grow past `max` (curl's dynbuf). */
typedef struct dc_buf {
    uint8_t *data;  /* owned; NULL until the first append */
    size_t len;     /* bytes in use */
    size_t cap;     /* bytes allocated */
    size_t max;     /* growth limit in bytes; reaching it is DC_ELIMIT */
} dc_buf;

void dc_buf_init(dc_buf *b, size_t max);
void dc_buf_dispose(dc_buf *b);
static inline void dc_buf_reset(dc_buf *b) { b->len = 0; }
/* Ensures room for `extra` more bytes. */
int dc_buf_reserve(dc_buf *b, size_t extra, dc_err *err);
/* dc_buf_append when the bytes do not fit yet: grows b, then appends. */
int dc_buf_append_grow(dc_buf *b, const void *p, size_t n, dc_err *err);
/* Appends n bytes. Inline when they fit (cap <= max: no limit check), the
 * case of nearly every call on the per-row paths, where the call and the
 * checks of the growing path cost more than the copy (callgrind). */
static inline int dc_buf_append(dc_buf *b, const void *p, size_t n, dc_err *err)
{
    if (n && n <= b->cap - b->len) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        return 0;
    }
    return dc_buf_append_grow(b, p, n, err);
}
int dc_buf_appendf(dc_buf *b, dc_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int dc_buf_putc(dc_buf *b, uint8_t c, dc_err *err)
{
    if (b->len < b->cap) { b->data[b->len++] = c; return 0; }
    return dc_buf_append(b, &c, 1, err);
}
static inline int dc_buf_puts(dc_buf *b, const char *s, dc_err *err)
{ return dc_buf_append(b, s, strlen(s), err); }
/* Hands the bytes to the caller (who frees with dc_free); b is left empty. */
uint8_t *dc_buf_steal(dc_buf *b, size_t *len_out);

/* ------------------------------------------------------------- cursor */

/* Bounds-checked reader over untrusted bytes. `base` lets errors say where. */
typedef struct dc_cur {
    const uint8_t *base;  /* start of the whole input, for offsets in errors */
    const uint8_t *p;     /* next byte */
    const uint8_t *end;   /* one past the last readable byte */
    const char *what;     /* what is being decoded, e.g. "parquet footer" */
} dc_cur;

static inline void dc_cur_init(dc_cur *c, const void *p, size_t n, const char *what)
{
    c->base = (const uint8_t *)p;
    c->p = c->base;
    c->end = c->base + n;
    c->what = what;
}
static inline size_t dc_cur_left(const dc_cur *c) { return (size_t)(c->end - c->p); }
static inline size_t dc_cur_offset(const dc_cur *c) { return (size_t)(c->p - c->base); }
/* Error "what: truncated at offset N: need X bytes, have Y". */
int dc_cur_short(const dc_cur *c, size_t need, dc_err *err);
static inline int dc_cur_take(dc_cur *c, size_t n, const uint8_t **out, dc_err *err)
{
    if (dc_cur_left(c) < n) return dc_cur_short(c, n, err);
    *out = c->p;
    c->p += n;
    return 0;
}
static inline int dc_cur_u8(dc_cur *c, uint8_t *out, dc_err *err)
{
    if (c->p >= c->end) return dc_cur_short(c, 1, err);
    *out = *c->p++;
    return 0;
}
static inline int dc_cur_le32(dc_cur *c, uint32_t *out, dc_err *err)
{
    if (dc_cur_left(c) < 4) return dc_cur_short(c, 4, err);
    memcpy(out, c->p, 4); /* little-endian hosts only: checked in common.c */
    c->p += 4;
    return 0;
}
static inline int dc_cur_le64(dc_cur *c, uint64_t *out, dc_err *err)
{
    if (dc_cur_left(c) < 8) return dc_cur_short(c, 8, err);
    memcpy(out, c->p, 8);
    c->p += 8;
    return 0;
}
/* Unsigned LEB128 varint of at most 10 bytes. */
int dc_cur_uvarint(dc_cur *c, uint64_t *out, dc_err *err);

static inline uint32_t dc_load_le32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t dc_load_le64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void dc_store_le32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void dc_store_le64(void *p, uint64_t v) { memcpy(p, &v, 8); }

/* Names the byte at `at` for a decoder's error message: "end of input" when
 * at >= end, "'x'" for printable ASCII, else "byte 0x01" (written to buf). */
const char *dc_describe_byte(const uint8_t *at, const uint8_t *end, char buf[16]);

/* Proleptic Gregorian calendar (Hinnant's algorithms): days since 1970-01-01
 * of y-m-d, and back. Exact for every int32 day count. */
int64_t dc_days_from_civil(int64_t y, unsigned m, unsigned d);
void dc_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* --------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence of 2-4 bytes at p (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF), or 0. Shared by the JSON
 * parser and the Debezium scanner, which must agree byte for byte. */
static inline size_t dc_utf8_seq_len(const uint8_t *p, const uint8_t *end)
{
    const size_t left = (size_t)(end - p);
    const uint8_t c = p[0];
    uint8_t lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) n = 3;
    else if (c >= 0xf0 && c <= 0xf4) n = 4;
    else return 0;
    if (c == 0xe0) lo = 0xa0;      /* overlong below U+0800 */
    else if (c == 0xed) hi = 0x9f; /* U+D800..DFFF are surrogates */
    else if (c == 0xf0) lo = 0x90; /* overlong below U+10000 */
    else if (c == 0xf4) hi = 0x8f; /* above U+10FFFF */
    if (left < n || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    return n;
}

/* Writes code point cp (<= U+10FFFF, not a surrogate) as UTF-8; returns 1-4. */
static inline size_t dc_utf8_put(uint8_t *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (uint8_t)(0xc0 | cp >> 6);
        d[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (uint8_t)(0xe0 | cp >> 12);
        d[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        d[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (uint8_t)(0xf0 | cp >> 18);
    d[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    d[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    d[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* -------------------------------------------------------------- arena */

/* Bump allocator for objects that die together (a batch, a parsed document).
 * With DC_ARENA_PASSTHROUGH defined (debug/sanitizer builds) every object is
 * its own malloc so ASan sees each one. */
typedef struct dc_arena_chunk dc_arena_chunk;
typedef struct dc_arena {
    dc_arena_chunk *head;  /* newest chunk first; owned */
    size_t used;           /* bytes handed out since the last reset */
    size_t max;            /* limit on `used`; reaching it is DC_ELIMIT */
} dc_arena;

void dc_arena_init(dc_arena *a, size_t max);
void dc_arena_dispose(dc_arena *a);
void dc_arena_reset(dc_arena *a);
/* 8-byte aligned; NULL (with err set) on failure or when the limit is hit. */
void *dc_arena_alloc(dc_arena *a, size_t n, dc_err *err);
char *dc_arena_strndup(dc_arena *a, const char *s, size_t n, dc_err *err);

/* ------------------------------------------------------------- logging */

typedef enum dc_log_level {
    DC_LOG_ERROR = 0,
    DC_LOG_WARN = 1,
    DC_LOG_INFO = 2,
    DC_LOG_DEBUG = 3,
    DC_LOG_TRACE = 4,
} dc_log_level;

/* The current threshold; read before formatting (DC_LOG checks it). */
extern int dc_log_threshold;
void dc_log_set_level(dc_log_level level);
/* "error", "warn", "info", "debug", "trace" → 0 and *out, else DC_EINVAL. */
int dc_log_parse_level(dc_log_level *out, const char *s, dc_err *err);
void dc_log_write(dc_log_level level, const char *facility, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define DC_LOG(level, facility, ...)                          \
    do {                                                      \
        if ((int)(level) <= dc_log_threshold)                 \
            dc_log_write((level), (facility), __VA_ARGS__);   \
    } while (0)

/* --------------------------------------------------------------- misc */

/* Reads a whole file into a fresh buffer (freed with dc_free), at most max bytes. */
int dc_file_read_all(uint8_t **data_out, size_t *len_out, const char *path,
                     size_t max, dc_err *err);
/* True for configuration keys whose values are secrets and must print as
 * ***** (passwords, sasl.jaas.config, private keys, OAuth configs, tokens,
 * credentials). Matching is by substring, case-insensitive, so that a new
 * librdkafka property such as sasl.oauthbearer.client.secret is covered. */
bool dc_is_secret_key(const char *name);
/* Base64 (RFC 4648, padded). */
int dc_base64_encode(dc_buf *out, const uint8_t *p, size_t n, dc_err *err);
int dc_base64_decode(dc_buf *out, const char *s, size_t n, dc_err *err);

/* ---------------------------------------------------------------- retries */

/* The delay before attempt `attempt` (1 = the first retry): full jitter over
 * min(cap, base * 2^(attempt-1)) (AWS's "exponential backoff and jitter");
 * r is a uniform random 64-bit value. */
long dc_backoff_ms(int attempt, long base_ms, long cap_ms, uint64_t r);
/* A uniform 64-bit value from *state (splitmix64; atomic, so threads may
 * share a state). Seed a state from dc_rand_seed(). */
uint64_t dc_rand_next(uint64_t *state);
/* A seed that differs between processes and calls (clock and pid). */
uint64_t dc_rand_seed(void);
/* Sleeps ms milliseconds, resuming after signals. */
void dc_sleep_ms(long ms);

#endif /* DC_COMMON_H */
