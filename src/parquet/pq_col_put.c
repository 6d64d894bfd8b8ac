/*
 * Stored-form values appended to a flat leaf's column (dc_pq_column_put_i64,
 * _bool, _bytes): for callers that decoded their values themselves (typed
 * tables' rows, src/cdc/cdc_tvals.c) and would otherwise format them as
 * JSON text only for dc_pq_column_put_json to parse it back. A value lands
 * exactly as the JSON conventions' form of it would: an integer as the
 * number, a date as its days, a timestamp as its microseconds, bytes as
 * themselves (a string's UTF-8 still checked).
 */
#include "pq_wr_int.h"
#include "pq_reader_int.h"

#include <inttypes.h>

/* Room for one more level entry of a flat leaf: the common case (room
 * left) without a call, as this runs once per value of a typed row. */
static inline int level_room(dc_pq_column *c, const dc_pq_leaf *leaf, dc_err *err)
{
    if (c->n_levels < c->levels_cap && (leaf->max_def == 0 || c->def)) return 0;
    return pq_wr_col_reserve_levels(c, leaf, 1, err);
}

/* The level of a value the caller appended (room made by level_room). */
static void end_value(dc_pq_column *c, const dc_pq_leaf *leaf)
{
    if (leaf->max_def > 0) c->def[c->n_levels] = leaf->max_def;
    c->n_levels++;
}

static int flat(const dc_pq_leaf *leaf, dc_err *err)
{
    if (leaf->max_rep > 0)
        return dc_err_set(err, DC_EINVAL, "leaf %s is repeated: not a flat column", leaf->dotted);
    return 0;
}

/* What an integer means in a leaf of type ty: its range and whether it takes one. */
static bool int_range(const dc_pq_leaf *leaf, int64_t *lo, int64_t *hi)
{
    *lo = INT64_MIN, *hi = INT64_MAX;
    switch (leaf->field->type) {
    case DC_TYPE_BYTE: *lo = INT8_MIN, *hi = INT8_MAX; return leaf->phys == PQ_INT32;
    case DC_TYPE_SHORT: *lo = INT16_MIN, *hi = INT16_MAX; return leaf->phys == PQ_INT32;
    case DC_TYPE_INT: case DC_TYPE_DATE:
        *lo = INT32_MIN, *hi = INT32_MAX;
        return leaf->phys == PQ_INT32;
    case DC_TYPE_LONG: return leaf->phys == PQ_INT64;
    case DC_TYPE_TIMESTAMP: case DC_TYPE_TIMESTAMP_NTZ: /* microseconds, as Delta writes them */
        return leaf->phys == PQ_INT64 && !leaf->field->int96 &&
               (leaf->field->unit == PQ_UNIT_MICROS || leaf->field->unit == 0);
    default: return false;
    }
}

int dc_pq_column_put_i64(dc_pq_column *c, const dc_pq_leaf *leaf, int64_t v, dc_err *err)
{
    int64_t lo, hi;
    DC_TRY(flat(leaf, err));
    if (!int_range(leaf, &lo, &hi))
        return dc_err_set(err, DC_EINVAL, "leaf %s does not take an integer", leaf->dotted);
    if (v < lo || v > hi)
        return dc_err_set(err, DC_EINVAL, "leaf %s: %" PRId64 " is out of its range",
                          leaf->dotted, v);
    DC_TRY(level_room(c, leaf, err));
    if (leaf->phys == PQ_INT32) {
        const int32_t w = (int32_t)v;
        DC_TRY(dc_buf_append(&c->values, &w, 4, err));
    } else {
        DC_TRY(dc_buf_append(&c->values, &v, 8, err));
    }
    c->n_values++;
    end_value(c, leaf);
    return 0;
}

int dc_pq_column_put_bool(dc_pq_column *c, const dc_pq_leaf *leaf, bool v, dc_err *err)
{
    DC_TRY(flat(leaf, err));
    if (leaf->field->type != DC_TYPE_BOOLEAN)
        return dc_err_set(err, DC_EINVAL, "leaf %s does not take a boolean", leaf->dotted);
    DC_TRY(level_room(c, leaf, err));
    DC_TRY(dc_buf_putc(&c->values, v, err));
    c->n_values++;
    end_value(c, leaf);
    return 0;
}

int dc_pq_column_put_bytes(dc_pq_column *c, const dc_pq_leaf *leaf, const void *p, size_t n,
                           dc_err *err)
{
    DC_TRY(flat(leaf, err));
    const dc_type ty = leaf->field->type;
    if (leaf->phys != PQ_BYTE_ARRAY || (ty != DC_TYPE_STRING && ty != DC_TYPE_BINARY))
        return dc_err_set(err, DC_EINVAL, "leaf %s does not take a string or bytes",
                          leaf->dotted);
    if (ty == DC_TYPE_STRING && !pq_utf8_valid(p, n))
        return dc_err_set(err, DC_EINVAL, "leaf %s: a string that is not UTF-8", leaf->dotted);
    DC_TRY(level_room(c, leaf, err));
    DC_TRY(pq_wr_col_push_ba(c, p, n, err));
    end_value(c, leaf);
    return 0;
}

int dc_pq_column_put_unscaled(dc_pq_column *c, const dc_pq_leaf *leaf, int64_t unscaled,
                              dc_err *err)
{
    DC_TRY(flat(leaf, err));
    const dc_pq_field *f = leaf->field;
    if (f->type != DC_TYPE_DECIMAL || f->precision < 1 || f->precision > 38)
        return dc_err_set(err, DC_EINVAL, "leaf %s does not take a decimal", leaf->dotted);
    /* at most `precision` digits: below 10^precision (always so from 19 digits on) */
    const uint64_t mag = unscaled < 0 ? (uint64_t)0 - (uint64_t)unscaled : (uint64_t)unscaled;
    uint64_t lim = 1;
    for (int32_t i = 0; i < f->precision && i < 19; i++) lim *= 10;
    if (f->precision <= 19 && mag >= lim)
        return dc_err_set(err, DC_EINVAL, "leaf %s: %" PRId64 " has more digits than "
                          "decimal(%d,%d) holds", leaf->dotted, unscaled, (int)f->precision,
                          (int)f->scale);
    uint8_t be[16];
    size_t width = 0;
    switch (leaf->phys) {
    case PQ_INT32: case PQ_INT64: break;
    case PQ_FIXED_LEN_BYTE_ARRAY: width = (size_t)leaf->type_length; break;
    case PQ_BYTE_ARRAY: width = 16; break;
    default:
        return dc_err_set(err, DC_EUNSUPPORTED, "decimal stored as %s", pq_type_name(leaf->phys));
    }
    if (width > sizeof be || (width == 0 && leaf->phys != PQ_INT32 && leaf->phys != PQ_INT64))
        return dc_err_set(err, DC_EUNSUPPORTED, "decimal in %zu bytes", width);
    const unsigned bits = leaf->phys == PQ_INT32 ? 32 : width > 0 && width < 8 ? 8 * (unsigned)width
                                                                              : 64;
    if (bits < 64 && (unscaled < -((int64_t)1 << (bits - 1)) ||
                      unscaled >= ((int64_t)1 << (bits - 1))))
        return dc_err_set(err, DC_EINVAL, "leaf %s: decimal does not fit %u bits", leaf->dotted,
                          bits);
    for (size_t i = 0; i < width; i++) /* big-endian two's complement, sign-extended */
        be[width - 1 - i] = i < 8 ? (uint8_t)((uint64_t)unscaled >> (8 * i))
                                  : (unscaled < 0 ? 0xff : 0);
    DC_TRY(level_room(c, leaf, err));
    if (leaf->phys == PQ_BYTE_ARRAY) {
        DC_TRY(pq_wr_col_push_ba(c, be, width, err));
        end_value(c, leaf);
        return 0;
    }
    if (leaf->phys == PQ_INT32) {
        const int32_t w = (int32_t)unscaled; /* checked above */
        DC_TRY(dc_buf_append(&c->values, &w, 4, err));
    } else if (leaf->phys == PQ_INT64) {
        DC_TRY(dc_buf_append(&c->values, &unscaled, 8, err));
    } else {
        DC_TRY(dc_buf_append(&c->values, be, width, err));
    }
    c->n_values++;
    end_value(c, leaf);
    return 0;
}
