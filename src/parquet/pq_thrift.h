/*
 * Thrift compact protocol: a reader over untrusted bytes and a writer into a
 * dc_buf. Internal to src/parquet/ (pq_meta.c is its user).
 *
 * Reader: every primitive is bounds-checked; containers are checked against
 * DC_THRIFT_MAX_LIST and against the bytes left (each element takes at least
 * one byte, so a list header cannot promise more than the input holds);
 * nesting is limited by DC_THRIFT_MAX_DEPTH. Structs are read by
 * pq_tr_struct, which calls back per field, skips what the callback does not
 * know, checks required fields and names the innermost struct and field in
 * the error message.
 *
 * Writer: errors are sticky (the first one is kept in the writer and every
 * later call does nothing), so encoders read as a flat list of fields and
 * check once at the end.
 */
#ifndef DC_PQ_THRIFT_H
#define DC_PQ_THRIFT_H

#include "../common/dc_common.h"
#include "../common/dc_limits.h"

/* Compact-protocol type codes (the low nibble of a field header). */
enum {
    PQ_TT_STOP = 0,
    PQ_TT_TRUE = 1,    /* bool true in a field header; a bool element type */
    PQ_TT_FALSE = 2,   /* bool false in a field header */
    PQ_TT_I8 = 3,
    PQ_TT_I16 = 4,
    PQ_TT_I32 = 5,
    PQ_TT_I64 = 6,
    PQ_TT_DOUBLE = 7,
    PQ_TT_BINARY = 8,
    PQ_TT_LIST = 9,
    PQ_TT_SET = 10,
    PQ_TT_MAP = 11,
    PQ_TT_STRUCT = 12,
    PQ_TT_UUID = 13,   /* Thrift 0.19+; 16 raw bytes. Parquet does not use it. */
};

/* Returned by a field callback to have pq_tr_struct skip the value. */
#define PQ_TSKIP 1

/* ------------------------------------------------------------ reader */

typedef struct pq_treader {
    dc_cur cur;         /* position in the untrusted input; cur.what prefixes errors */
    dc_arena *arena;    /* where decoders put what they keep; owned by the caller */
    uint32_t depth;     /* structs and containers open right now */
    bool located;       /* err already names the innermost struct and field */
} pq_treader;

/* One known field of a struct. */
typedef struct pq_tfield {
    const char *name;   /* as in parquet.thrift; NULL for ids not in the struct */
    uint8_t type;       /* expected wire type (PQ_TT_TRUE for bool, LIST for set) */
} pq_tfield;

/* A struct's name and fields, for messages, type checks and required fields. */
typedef struct pq_tstruct {
    const char *name;          /* Thrift struct name, e.g. "FileMetaData" */
    const pq_tfield *fields;   /* indexed by field id */
    uint32_t n_fields;         /* entries in fields */
    uint32_t required;         /* bit i set: field id i (< 32) is required */
} pq_tstruct;

/* Reads the value of field `id` of wire type `type` into obj. Returns 0 when
 * it consumed the value, PQ_TSKIP to have it skipped, negative on error.
 * pq_tr_struct calls it only when a known field has its expected wire type:
 * a known field with another type is skipped, as Thrift's generated code does
 * (some writers used ids that later got another meaning); if it was required
 * the missing-field error says which type was seen. */
typedef int (*pq_tfield_fn)(void *obj, pq_treader *r, int16_t id, uint8_t type, dc_err *err);

void pq_tr_init(pq_treader *r, const uint8_t *p, size_t n, const char *what, dc_arena *arena);
static inline size_t pq_tr_offset(const pq_treader *r) { return dc_cur_offset(&r->cur); }

/* Reads one struct (the bytes after its opening, up to and including STOP). */
int pq_tr_struct(pq_treader *r, const pq_tstruct *d, void *obj, pq_tfield_fn fn, dc_err *err);

/* Fails unless the wire type of a field is `want` (TRUE and FALSE both are bool). */
int pq_tr_expect(const pq_treader *r, uint8_t type, uint8_t want, dc_err *err);

/* Raw values (no type check): use after pq_tr_expect or inside a list. */
int pq_tr_i8(pq_treader *r, int8_t *out, dc_err *err);
int pq_tr_i16(pq_treader *r, int16_t *out, dc_err *err);
int pq_tr_i32(pq_treader *r, int32_t *out, dc_err *err);
int pq_tr_i64(pq_treader *r, int64_t *out, dc_err *err);
int pq_tr_double(pq_treader *r, double *out, dc_err *err);
/* Borrowed pointer into the input; len <= DC_THRIFT_MAX_BINARY. */
int pq_tr_binary(pq_treader *r, const uint8_t **p, uint32_t *len, dc_err *err);
/* A bool inside a list: one byte, 1 is true (0 and 2 are false). */
int pq_tr_bool_elem(pq_treader *r, bool *out, dc_err *err);

/* Field values with the wire-type check. */
int pq_tr_field_bool(const pq_treader *r, uint8_t type, bool *out, dc_err *err);
int pq_tr_field_i8(pq_treader *r, uint8_t type, int8_t *out, dc_err *err);
int pq_tr_field_i16(pq_treader *r, uint8_t type, int16_t *out, dc_err *err);
int pq_tr_field_i32(pq_treader *r, uint8_t type, int32_t *out, dc_err *err);
int pq_tr_field_i64(pq_treader *r, uint8_t type, int64_t *out, dc_err *err);
int pq_tr_field_binary(pq_treader *r, uint8_t type, const uint8_t **p, uint32_t *len,
                       dc_err *err);

/* A list (or set) field: checks the field type, reads the header, checks the
 * element type is `elem` and that `count` elements can fit in what is left. */
int pq_tr_list(pq_treader *r, uint8_t type, uint8_t elem, uint32_t *count, dc_err *err);

/* Skips a value of wire type `type`; in_field is true for a field value (where
 * a bool has no payload) and false for a container element. */
int pq_tr_skip(pq_treader *r, uint8_t type, bool in_field, dc_err *err);

/* ------------------------------------------------------------ writer */

typedef struct pq_twriter {
    dc_buf *out;                        /* destination; owned by the caller */
    dc_err *err;                        /* receives the first failure */
    int rc;                             /* 0, or the first failure (sticky) */
    uint32_t depth;                     /* structs open */
    int16_t last[DC_THRIFT_MAX_DEPTH];  /* last field id written, per open struct */
} pq_twriter;

void pq_tw_init(pq_twriter *w, dc_buf *out, dc_err *err);
/* Records a failure (the first one wins); returns w->rc. */
int pq_tw_fail(pq_twriter *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void pq_tw_struct_begin(pq_twriter *w);
void pq_tw_struct_end(pq_twriter *w);  /* writes STOP */
void pq_tw_field(pq_twriter *w, int16_t id, uint8_t type);
void pq_tw_list(pq_twriter *w, uint8_t elem, size_t count);

void pq_tw_i8(pq_twriter *w, int8_t v);
void pq_tw_i16(pq_twriter *w, int16_t v);
void pq_tw_i32(pq_twriter *w, int32_t v);
void pq_tw_i64(pq_twriter *w, int64_t v);
void pq_tw_double(pq_twriter *w, double v);
void pq_tw_binary(pq_twriter *w, const void *p, size_t n);
void pq_tw_bool_elem(pq_twriter *w, bool v);

/* Field header and value in one call. */
void pq_tw_field_bool(pq_twriter *w, int16_t id, bool v);
void pq_tw_field_i8(pq_twriter *w, int16_t id, int8_t v);
void pq_tw_field_i16(pq_twriter *w, int16_t id, int16_t v);
void pq_tw_field_i32(pq_twriter *w, int16_t id, int32_t v);
void pq_tw_field_i64(pq_twriter *w, int16_t id, int64_t v);
void pq_tw_field_binary(pq_twriter *w, int16_t id, const void *p, size_t n);
void pq_tw_field_string(pq_twriter *w, int16_t id, const char *s);

#endif /* DC_PQ_THRIFT_H */
