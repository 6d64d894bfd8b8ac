/*
 * json: a strict RFC 8259 parser into an arena-owned DOM, and the writing
 * helpers every module uses to print JSON (string escaping, numbers).
 *
 * Used for Delta schemas, Delta log actions, JSON-lines inputs and CLI output.
 * The Debezium hot path has its own scanner (src/cdc), not this DOM.
 * Depends on common/ only.
 */
#ifndef DC_JSON_H
#define DC_JSON_H

#include "../common/dc_common.h"

typedef enum dc_json_type {
    DC_JSON_NULL = 0,
    DC_JSON_FALSE,
    DC_JSON_TRUE,
    DC_JSON_NUMBER,
    DC_JSON_STRING,
    DC_JSON_ARRAY,
    DC_JSON_OBJECT,
} dc_json_type;

typedef struct dc_json dc_json;

/* One value. Strings are unescaped, NUL-terminated, and may contain NUL (use len).
 * Numbers keep their source text so that int64 and decimals lose nothing (a
 * NUL-terminated copy in the arena, like strings). Members of an array or
 * object are `len` consecutive nodes. */
struct dc_json {
    dc_json_type type;
    uint32_t len;        /* STRING: bytes; NUMBER: text bytes; ARRAY/OBJECT: members */
    union {
        const char *str;     /* STRING: unescaped bytes; NUMBER: source text */
        dc_json *items;      /* ARRAY/OBJECT: `len` consecutive members */
    } u;
    const char *key;     /* member of an OBJECT: unescaped key, NUL-terminated; else NULL */
    uint32_t key_len;    /* bytes of key */
};

/* Parses exactly one JSON value (surrounding whitespace allowed) from text[0..n).
 * Nodes and strings are allocated in `arena` (freed by resetting it); the
 * result does not point into `text`.
 * Errors: DC_EINVAL "json: <what> at line L column C (byte B)" (L and C from 1,
 * C counted in bytes; B from 0), DC_ELIMIT for nesting beyond DC_JSON_MAX_DEPTH
 * or a document the arena maximum can not hold, DC_ENOMEM. Duplicate keys are kept (dc_json_get finds
 * the last, as most JSON readers do). Invalid UTF-8 in strings is an error. */
/* 1 for bytes a JSON string may hold as they are (printable ASCII except '"'
 * and '\\'): the fast path of every string scanner, src/cdc's included. */
extern const uint8_t dc_json_plain_byte[256];

/* High bit set in each byte of v (8 string bytes, a little-endian load) that
 * is not a plain byte: a control byte, '"', '\\' or a byte >= 0x80. A
 * borrow only marks bytes above a true hit, so the lowest set bit is exact:
 * string scanners skip 8 plain bytes per test (src/cdc's, pq_text_in.c's). */
static inline uint64_t dc_json_special8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    const uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    const uint64_t ctl = (v - ones * 0x20) & ~v;
    return (ctl | ((q - ones) & ~q) | ((b - ones) & ~b) | v) & high;
}

int dc_json_parse(dc_json **out, dc_arena *arena, const char *text, size_t n, dc_err *err);

/* "null", "a boolean", "a number", "a string", "an array", "an object": for
 * error messages that say what was found. */
const char *dc_json_type_name(dc_json_type t);
/* Member of an object by key (the last one if repeated), or NULL. */
const dc_json *dc_json_get(const dc_json *obj, const char *key);
/* String value or NULL when v is NULL or not a string. */
const char *dc_json_str(const dc_json *v);
/* Integer value of a NUMBER without fraction/exponent that fits int64 → 0,
 * else DC_EINVAL (message names `what`). */
int dc_json_i64(int64_t *out, const dc_json *v, const char *what, dc_err *err);
/* Any NUMBER as double (strtod semantics, correctly rounded, C locale whatever
 * setlocale did; beyond the double range gives ±inf) → 0, else DC_EINVAL.
 * Also accepts the strings "NaN", "Infinity", "-Infinity" that
 * dc_json_put_f64 writes, so the writer's output always reads back. */
int dc_json_f64(double *out, const dc_json *v, const char *what, dc_err *err);

/* ----------------------------------------------------------- writing */

/* Appends `"..."` with JSON escaping (\" \\ \n \r \t \b \f, \u00XX for other
 * control bytes; bytes >= 0x80 copied as they are: the caller guarantees UTF-8). */
int dc_json_put_str(dc_buf *out, const char *s, size_t n, dc_err *err);
int dc_json_put_i64(dc_buf *out, int64_t v, dc_err *err);
int dc_json_put_u64(dc_buf *out, uint64_t v, dc_err *err);
/* Shortest text that reads back to the same double ("1.5", "1e+300", "-0.0"
 * printed as "-0.0"); NaN and infinities print as the strings "NaN",
 * "Infinity", "-Infinity" (with quotes), as Spark's to_json does.
 * Integral values get ".0" ("3.0", "0.0") so that readers such as Python's
 * json keep them as floats; exponents look like "1e+300", "1e-07" (valid JSON).
 * Independent of the process locale. */
int dc_json_put_f64(dc_buf *out, double v, dc_err *err);
/* Same for a float: shortest text that reads back to the same float. */
int dc_json_put_f32(dc_buf *out, float v, dc_err *err);

/* Serializes a DOM value back to compact JSON (for tests and round trips). */
int dc_json_write(dc_buf *out, const dc_json *v, dc_err *err);

#endif /* DC_JSON_H */
