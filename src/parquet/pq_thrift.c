/* Thrift compact protocol reader and writer (see pq_thrift.h). */
#include "pq_thrift.h"

#include <stdio.h>

/* ------------------------------------------------------------ reader */

void pq_tr_init(pq_treader *r, const uint8_t *p, size_t n, const char *what, dc_arena *arena)
{
    dc_cur_init(&r->cur, p, n, what);
    r->arena = arena;
    r->depth = 0;
    r->located = false;
}

static const char *type_name(uint8_t t)
{
    static const char *const names[] = {
        "stop", "bool", "bool", "i8", "i16", "i32", "i64", "double",
        "binary", "list", "set", "map", "struct", "uuid",
    };
    return t < sizeof names / sizeof names[0] ? names[t] : "invalid type";
}

static int truncated(const pq_treader *r, size_t need, dc_err *err)
{
    return dc_err_set(err, DC_ECORRUPT, "truncated: need %zu bytes at offset %zu, have %zu",
                      need, pq_tr_offset(r), dc_cur_left(&r->cur));
}

static int take(pq_treader *r, size_t n, const uint8_t **out, dc_err *err)
{
    if (dc_cur_left(&r->cur) < n) return truncated(r, n, err);
    *out = r->cur.p;
    r->cur.p += n;
    return 0;
}

/* Unsigned LEB128 of at most 10 bytes, then checked to be <= max. */
static int varint(pq_treader *r, uint64_t max, uint64_t *out, dc_err *err)
{
    const uint8_t *start = r->cur.p;
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (r->cur.p >= r->cur.end) return truncated(r, 1, err);
        const uint8_t b = *r->cur.p++;
        if (shift == 63 && b > 1) break;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (v > max) break;
            *out = v;
            return 0;
        }
        if (shift == 63) break;
    }
    return dc_err_set(err, DC_ECORRUPT, "varint at offset %zu is out of range (at most %llu)",
                      (size_t)(start - r->cur.base), (unsigned long long)max);
}

static int64_t unzigzag(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

int pq_tr_i8(pq_treader *r, int8_t *out, dc_err *err)
{
    const uint8_t *p = NULL;
    DC_TRY(take(r, 1, &p, err));
    *out = (int8_t)p[0];
    return 0;
}

int pq_tr_i16(pq_treader *r, int16_t *out, dc_err *err)
{
    uint64_t u = 0;
    DC_TRY(varint(r, UINT16_MAX, &u, err));
    *out = (int16_t)unzigzag(u);
    return 0;
}

int pq_tr_i32(pq_treader *r, int32_t *out, dc_err *err)
{
    uint64_t u = 0;
    DC_TRY(varint(r, UINT32_MAX, &u, err));
    *out = (int32_t)unzigzag(u);
    return 0;
}

int pq_tr_i64(pq_treader *r, int64_t *out, dc_err *err)
{
    uint64_t u = 0;
    DC_TRY(varint(r, UINT64_MAX, &u, err));
    *out = unzigzag(u);
    return 0;
}

int pq_tr_double(pq_treader *r, double *out, dc_err *err)
{
    const uint8_t *p = NULL;
    DC_TRY(take(r, 8, &p, err));
    memcpy(out, p, 8); /* little-endian on the wire and on our hosts */
    return 0;
}

int pq_tr_binary(pq_treader *r, const uint8_t **p, uint32_t *len, dc_err *err)
{
    uint64_t n = 0;
    DC_TRY(varint(r, UINT32_MAX, &n, err));
    if (n > DC_THRIFT_MAX_BINARY)
        return dc_err_set(err, DC_ELIMIT, "binary of %llu bytes exceeds the limit of %u",
                          (unsigned long long)n, DC_THRIFT_MAX_BINARY);
    DC_TRY(take(r, (size_t)n, p, err));
    *len = (uint32_t)n;
    return 0;
}

int pq_tr_bool_elem(pq_treader *r, bool *out, dc_err *err)
{
    const uint8_t *p = NULL;
    DC_TRY(take(r, 1, &p, err));
    *out = p[0] == PQ_TT_TRUE;
    return 0;
}

int pq_tr_expect(const pq_treader *r, uint8_t type, uint8_t want, dc_err *err)
{
    if (type == want) return 0;
    if (want == PQ_TT_TRUE && type == PQ_TT_FALSE) return 0;
    if (want == PQ_TT_LIST && type == PQ_TT_SET) return 0;
    (void)r;
    return dc_err_set(err, DC_ECORRUPT, "wire type %s where %s was expected", type_name(type),
                      type_name(want));
}

int pq_tr_field_bool(const pq_treader *r, uint8_t type, bool *out, dc_err *err)
{
    DC_TRY(pq_tr_expect(r, type, PQ_TT_TRUE, err));
    *out = type == PQ_TT_TRUE;
    return 0;
}

int pq_tr_field_i8(pq_treader *r, uint8_t type, int8_t *out, dc_err *err)
{
    DC_TRY(pq_tr_expect(r, type, PQ_TT_I8, err));
    return pq_tr_i8(r, out, err);
}

int pq_tr_field_i16(pq_treader *r, uint8_t type, int16_t *out, dc_err *err)
{
    DC_TRY(pq_tr_expect(r, type, PQ_TT_I16, err));
    return pq_tr_i16(r, out, err);
}

int pq_tr_field_i32(pq_treader *r, uint8_t type, int32_t *out, dc_err *err)
{
    DC_TRY(pq_tr_expect(r, type, PQ_TT_I32, err));
    return pq_tr_i32(r, out, err);
}

int pq_tr_field_i64(pq_treader *r, uint8_t type, int64_t *out, dc_err *err)
{
    DC_TRY(pq_tr_expect(r, type, PQ_TT_I64, err));
    return pq_tr_i64(r, out, err);
}

int pq_tr_field_binary(pq_treader *r, uint8_t type, const uint8_t **p, uint32_t *len,
                       dc_err *err)
{
    DC_TRY(pq_tr_expect(r, type, PQ_TT_BINARY, err));
    return pq_tr_binary(r, p, len, err);
}

/* Fewest bytes one container element of wire type t takes. */
static size_t min_elem_size(uint8_t t)
{
    switch (t) {
    case PQ_TT_DOUBLE: return 8;
    case PQ_TT_UUID: return 16;
    default: return 1; /* a byte, a varint, a length, a header, or STOP */
    }
}

static bool valid_type(uint8_t t) { return t >= PQ_TT_TRUE && t <= PQ_TT_UUID; }

/* Reads a list/set header; the element count must fit in the bytes left. */
static int list_header(pq_treader *r, uint8_t *elem, uint32_t *count, dc_err *err)
{
    const uint8_t *p = NULL;
    DC_TRY(take(r, 1, &p, err));
    uint64_t n = p[0] >> 4;
    *elem = p[0] & 0x0f;
    if (n == 15) DC_TRY(varint(r, INT32_MAX, &n, err));
    if (!valid_type(*elem))
        return dc_err_set(err, DC_ECORRUPT, "list element type %u is not a Thrift type",
                          *elem);
    if (n > DC_THRIFT_MAX_LIST)
        return dc_err_set(err, DC_ELIMIT, "list of %llu elements exceeds the limit of %u",
                          (unsigned long long)n, (unsigned)DC_THRIFT_MAX_LIST);
    if (n > dc_cur_left(&r->cur) / min_elem_size(*elem))
        return dc_err_set(err, DC_ECORRUPT,
                          "list of %llu %s elements cannot fit in the %zu bytes left",
                          (unsigned long long)n, type_name(*elem), dc_cur_left(&r->cur));
    *count = (uint32_t)n;
    return 0;
}

int pq_tr_list(pq_treader *r, uint8_t type, uint8_t elem, uint32_t *count, dc_err *err)
{
    uint8_t got = 0;
    DC_TRY(pq_tr_expect(r, type, PQ_TT_LIST, err));
    DC_TRY(list_header(r, &got, count, err));
    if (got == elem || (elem == PQ_TT_TRUE && got == PQ_TT_FALSE)) return 0;
    return dc_err_set(err, DC_ECORRUPT, "list of %s where a list of %s was expected",
                      type_name(got), type_name(elem));
}

/* Field header: STOP, or a type with a delta (1..15) from the last id or a
 * zigzag i16 id of its own. */
static int field_header(pq_treader *r, int16_t *last, uint8_t *type, int16_t *id, dc_err *err)
{
    const uint8_t *p = NULL;
    DC_TRY(take(r, 1, &p, err));
    *type = p[0] & 0x0f;
    if (p[0] == PQ_TT_STOP) return 0;
    if (!valid_type(*type))
        return dc_err_set(err, DC_ECORRUPT, "field type %u is not a Thrift type", *type);
    const int delta = p[0] >> 4;
    if (delta == 0) {
        DC_TRY(pq_tr_i16(r, id, err));
    } else {
        if (*last > INT16_MAX - delta)
            return dc_err_set(err, DC_ECORRUPT, "field id %d + %d overflows", *last, delta);
        *id = (int16_t)(*last + delta);
    }
    *last = *id;
    return 0;
}

static int enter(pq_treader *r, dc_err *err)
{
    if (r->depth >= DC_THRIFT_MAX_DEPTH)
        return dc_err_set(err, DC_ELIMIT, "nesting deeper than %d at offset %zu",
                          DC_THRIFT_MAX_DEPTH, pq_tr_offset(r));
    r->depth++;
    return 0;
}

static int skip_struct(pq_treader *r, dc_err *err)
{
    DC_TRY(enter(r, err));
    int16_t last = 0, id = 0;
    uint8_t type = 0;
    int rc;
    for (;;) {
        rc = field_header(r, &last, &type, &id, err);
        if (rc < 0 || type == PQ_TT_STOP) break;
        rc = pq_tr_skip(r, type, true, err);
        if (rc < 0) break;
    }
    r->depth--;
    return rc;
}

static int skip_elems(pq_treader *r, uint8_t t, uint64_t n, dc_err *err)
{
    int rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) rc = pq_tr_skip(r, t, false, err);
    return rc;
}

static int skip_list(pq_treader *r, dc_err *err)
{
    uint8_t elem = 0;
    uint32_t n = 0;
    DC_TRY(list_header(r, &elem, &n, err));
    DC_TRY(enter(r, err));
    const int rc = skip_elems(r, elem, n, err);
    r->depth--;
    return rc;
}

/* Map: varint size, then (if not empty) a byte of key and value types. */
static int skip_map(pq_treader *r, dc_err *err)
{
    uint64_t n = 0;
    const uint8_t *p = NULL;
    DC_TRY(varint(r, INT32_MAX, &n, err));
    if (n == 0) return 0;
    DC_TRY(take(r, 1, &p, err));
    const uint8_t kt = p[0] >> 4, vt = p[0] & 0x0f;
    if (!valid_type(kt) || !valid_type(vt))
        return dc_err_set(err, DC_ECORRUPT, "map key/value types %u/%u are not Thrift types",
                          kt, vt);
    if (n > DC_THRIFT_MAX_LIST ||
        n > dc_cur_left(&r->cur) / (min_elem_size(kt) + min_elem_size(vt)))
        return dc_err_set(err, DC_ECORRUPT, "map of %llu entries cannot fit in the %zu bytes left",
                          (unsigned long long)n, dc_cur_left(&r->cur));
    DC_TRY(enter(r, err));
    int rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        rc = pq_tr_skip(r, kt, false, err);
        if (rc == 0) rc = pq_tr_skip(r, vt, false, err);
    }
    r->depth--;
    return rc;
}

int pq_tr_skip(pq_treader *r, uint8_t type, bool in_field, dc_err *err)
{
    const uint8_t *p = NULL;
    uint64_t u = 0;
    switch (type) {
    case PQ_TT_TRUE:
    case PQ_TT_FALSE: return in_field ? 0 : take(r, 1, &p, err);
    case PQ_TT_I8: return take(r, 1, &p, err);
    case PQ_TT_I16:
    case PQ_TT_I32:
    case PQ_TT_I64: return varint(r, UINT64_MAX, &u, err);
    case PQ_TT_DOUBLE: return take(r, 8, &p, err);
    case PQ_TT_UUID: return take(r, 16, &p, err);
    case PQ_TT_BINARY: {
        uint32_t n = 0;
        return pq_tr_binary(r, &p, &n, err);
    }
    case PQ_TT_LIST:
    case PQ_TT_SET: return skip_list(r, err);
    case PQ_TT_MAP: return skip_map(r, err);
    case PQ_TT_STRUCT: return skip_struct(r, err);
    default:
        return dc_err_set(err, DC_ECORRUPT, "wire type %u is not a Thrift type", type);
    }
}

/* Rewrites err as "<what>: <Struct>.<field> (field id N) at offset X: <msg>"
 * once, at the innermost struct that saw the failure. */
static void locate(pq_treader *r, const pq_tstruct *d, bool has_id, int16_t id, size_t at,
                   dc_err *err)
{
    if (r->located || !err) return;
    r->located = true;
    char msg[DC_ERR_MSG_MAX];
    memcpy(msg, err->msg, sizeof msg);
    const char *what = r->cur.what ? r->cur.what : "thrift";
    if (!has_id) {
        dc_err_set(err, err->code, "%s: %s at offset %zu: %s", what, d->name, at, msg);
        return;
    }
    const char *fname = id >= 0 && (uint32_t)id < d->n_fields && d->fields[id].name
                            ? d->fields[id].name : "(unknown)";
    dc_err_set(err, err->code, "%s: %s.%s (field id %d) at offset %zu: %s", what, d->name,
               fname, id, at, msg);
}

static int missing_field(pq_treader *r, const pq_tstruct *d, uint32_t missing,
                         const uint8_t *mismatch, dc_err *err)
{
    const int16_t id = (int16_t)__builtin_ctz(missing);
    if (mismatch[id])
        dc_err_set(err, DC_ECORRUPT, "required field has wire type %s, expected %s",
                   type_name(mismatch[id]), type_name(d->fields[id].type));
    else
        dc_err_set(err, DC_ECORRUPT, "required field is missing");
    locate(r, d, true, id, pq_tr_offset(r), err);
    return DC_ECORRUPT;
}

static bool type_matches(uint8_t want, uint8_t got)
{
    return got == want || (want == PQ_TT_TRUE && got == PQ_TT_FALSE) ||
           (want == PQ_TT_LIST && got == PQ_TT_SET);
}

/* Calls fn for a known field of the expected type, else skips the value. */
static int read_field(pq_treader *r, const pq_tstruct *d, void *obj, pq_tfield_fn fn,
                      int16_t id, uint8_t type, uint8_t *mismatch, dc_err *err)
{
    const bool known = id > 0 && (uint32_t)id < d->n_fields && d->fields[id].name;
    int rc = PQ_TSKIP;
    if (known && type_matches(d->fields[id].type, type)) {
        rc = fn(obj, r, id, type, err);
    } else if (known && id < 32) {
        mismatch[id] = type;
    }
    if (rc == PQ_TSKIP) rc = pq_tr_skip(r, type, true, err);
    else if (rc == 0 && known) rc = 1; /* seen */
    return rc;
}

int pq_tr_struct(pq_treader *r, const pq_tstruct *d, void *obj, pq_tfield_fn fn, dc_err *err)
{
    size_t at = pq_tr_offset(r);
    int rc = enter(r, err);
    if (rc < 0) {
        locate(r, d, false, 0, at, err);
        return rc;
    }
    int16_t last = 0, id = 0;
    uint32_t seen = 0;
    uint8_t mismatch[32] = {0}; /* wire type of known fields skipped for their type */
    for (;;) {
        uint8_t type = 0;
        at = pq_tr_offset(r);
        rc = field_header(r, &last, &type, &id, err);
        if (rc < 0) {
            locate(r, d, false, 0, at, err);
            break;
        }
        if (type == PQ_TT_STOP) {
            /* The id after STOP is meaningless; report at the STOP byte. */
            r->cur.p--;
            if (d->required & ~seen)
                rc = missing_field(r, d, d->required & ~seen, mismatch, err);
            r->cur.p++;
            break;
        }
        rc = read_field(r, d, obj, fn, id, type, mismatch, err);
        if (rc == 1 && id < 32) seen |= 1u << id;
        if (rc < 0) {
            locate(r, d, true, id, at, err);
            break;
        }
    }
    r->depth--;
    return rc;
}

/* ------------------------------------------------------------ writer */

void pq_tw_init(pq_twriter *w, dc_buf *out, dc_err *err)
{
    w->out = out;
    w->err = err;
    w->rc = 0;
    w->depth = 0;
}

int pq_tw_fail(pq_twriter *w, int code, const char *fmt, ...)
{
    if (w->rc < 0) return w->rc;
    va_list ap;
    va_start(ap, fmt);
    dc_err_setv(w->err, code, fmt, ap);
    va_end(ap);
    w->rc = code;
    return code;
}

static void put(pq_twriter *w, const void *p, size_t n)
{
    if (w->rc < 0) return;
    w->rc = dc_buf_append(w->out, p, n, w->err);
}

static void put_varint(pq_twriter *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    put(w, b, n);
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

void pq_tw_struct_begin(pq_twriter *w)
{
    DC_ASSERT(w->depth < DC_THRIFT_MAX_DEPTH);
    w->last[w->depth++] = 0;
}

void pq_tw_struct_end(pq_twriter *w)
{
    DC_ASSERT(w->depth > 0);
    w->depth--;
    const uint8_t stop = PQ_TT_STOP;
    put(w, &stop, 1);
}

void pq_tw_field(pq_twriter *w, int16_t id, uint8_t type)
{
    DC_ASSERT(w->depth > 0);
    int16_t *last = &w->last[w->depth - 1];
    const int delta = id - *last;
    if (delta > 0 && delta <= 15) {
        const uint8_t b = (uint8_t)(delta << 4 | type);
        put(w, &b, 1);
    } else {
        put(w, &type, 1);
        put_varint(w, zigzag(id));
    }
    *last = id;
}

void pq_tw_list(pq_twriter *w, uint8_t elem, size_t count)
{
    if (count > INT32_MAX) {
        pq_tw_fail(w, DC_ELIMIT, "thrift list of %zu elements is too long", count);
        return;
    }
    if (count < 15) {
        const uint8_t b = (uint8_t)(count << 4 | elem);
        put(w, &b, 1);
    } else {
        const uint8_t b = (uint8_t)(0xf0 | elem);
        put(w, &b, 1);
        put_varint(w, count);
    }
}

void pq_tw_i8(pq_twriter *w, int8_t v) { put(w, &v, 1); }
void pq_tw_i16(pq_twriter *w, int16_t v) { put_varint(w, zigzag(v)); }
void pq_tw_i32(pq_twriter *w, int32_t v) { put_varint(w, zigzag(v)); }
void pq_tw_i64(pq_twriter *w, int64_t v) { put_varint(w, zigzag(v)); }
void pq_tw_double(pq_twriter *w, double v) { put(w, &v, 8); }

void pq_tw_binary(pq_twriter *w, const void *p, size_t n)
{
    if (n > INT32_MAX) {
        pq_tw_fail(w, DC_ELIMIT, "thrift binary of %zu bytes is too long", n);
        return;
    }
    put_varint(w, n);
    put(w, p, n);
}

/* In containers false is 2, as the Java and C++ Thrift libraries write it. */
void pq_tw_bool_elem(pq_twriter *w, bool v)
{
    const uint8_t b = v ? PQ_TT_TRUE : PQ_TT_FALSE;
    put(w, &b, 1);
}

void pq_tw_field_bool(pq_twriter *w, int16_t id, bool v)
{
    pq_tw_field(w, id, v ? PQ_TT_TRUE : PQ_TT_FALSE);
}

void pq_tw_field_i8(pq_twriter *w, int16_t id, int8_t v)
{
    pq_tw_field(w, id, PQ_TT_I8);
    pq_tw_i8(w, v);
}

void pq_tw_field_i16(pq_twriter *w, int16_t id, int16_t v)
{
    pq_tw_field(w, id, PQ_TT_I16);
    pq_tw_i16(w, v);
}

void pq_tw_field_i32(pq_twriter *w, int16_t id, int32_t v)
{
    pq_tw_field(w, id, PQ_TT_I32);
    pq_tw_i32(w, v);
}

void pq_tw_field_i64(pq_twriter *w, int16_t id, int64_t v)
{
    pq_tw_field(w, id, PQ_TT_I64);
    pq_tw_i64(w, v);
}

void pq_tw_field_binary(pq_twriter *w, int16_t id, const void *p, size_t n)
{
    pq_tw_field(w, id, PQ_TT_BINARY);
    pq_tw_binary(w, p, n);
}

void pq_tw_field_string(pq_twriter *w, int16_t id, const char *s)
{
    pq_tw_field_binary(w, id, s, strlen(s));
}
