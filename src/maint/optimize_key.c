/*
 * OPTIMIZE sort keys: an order-preserving byte encoding (optimize_int.h), so
 * that rows of any key shape sort with one memcmp.
 */
#include "optimize_int.h"

static int put_be64(dc_buf *out, uint64_t u, dc_err *err)
{
    uint8_t b[9];
    b[0] = 1;
    for (int i = 0; i < 8; i++) b[1 + i] = (uint8_t)(u >> (56 - 8 * i));
    return dc_buf_append(out, b, sizeof b, err);
}

/* Bytes with 0x00 escaped, ended by 0x00 0x00; flip_first flips the sign
 * bit of the first byte (two's complement big-endian decimals). */
static int put_bytes(dc_buf *out, const uint8_t *p, size_t n, bool flip_first, dc_err *err)
{
    DC_TRY(dc_buf_putc(out, 1, err));
    for (size_t i = 0; i < n; i++) {
        const uint8_t v = (uint8_t)(i == 0 && flip_first ? p[i] ^ 0x80 : p[i]);
        DC_TRY(dc_buf_putc(out, v, err));
        if (v == 0) DC_TRY(dc_buf_putc(out, 0xff, err));
    }
    DC_TRY(dc_buf_putc(out, 0, err));
    return dc_buf_putc(out, 0, err);
}

/* IEEE bits made monotonic: negatives inverted, positives with the sign set. */
static uint64_t double_bits(double d)
{
    uint64_t u;
    if (d == 0.0) d = 0.0; /* -0.0 sorts with 0.0 */
    memcpy(&u, &d, 8);
    return (u >> 63) ? ~u : u | ((uint64_t)1 << 63);
}

int opt_key_null(dc_buf *out, dc_err *err)
{
    return dc_buf_putc(out, 0, err);
}

static bool is_unsigned(dc_type t)
{
    return t == DC_TYPE_UINT8 || t == DC_TYPE_UINT16 || t == DC_TYPE_UINT32 ||
           t == DC_TYPE_UINT64;
}

int opt_key_value(dc_buf *out, const dc_pq_leaf *leaf, const dc_pq_column *c, size_t vi,
                  dc_err *err)
{
    const uint8_t *v = c->values.data;
    const dc_type ty = leaf->field->type;
    DC_ASSERT(vi < c->n_values);
    switch (leaf->phys) {
    case PQ_BOOLEAN:
        DC_TRY(dc_buf_putc(out, 1, err));
        return dc_buf_putc(out, v[vi] ? 1 : 0, err);
    case PQ_INT32: {
        const uint32_t u = dc_load_le32(v + vi * 4);
        if (is_unsigned(ty)) return put_be64(out, u, err);
        return put_be64(out, (uint64_t)(int64_t)(int32_t)u ^ ((uint64_t)1 << 63), err);
    }
    case PQ_INT64: {
        const uint64_t u = dc_load_le64(v + vi * 8);
        return put_be64(out, is_unsigned(ty) ? u : u ^ ((uint64_t)1 << 63), err);
    }
    case PQ_FLOAT: {
        float f;
        memcpy(&f, v + vi * 4, 4);
        return put_be64(out, double_bits((double)f), err);
    }
    case PQ_DOUBLE: {
        double d;
        memcpy(&d, v + vi * 8, 8);
        return put_be64(out, double_bits(d), err);
    }
    case PQ_BYTE_ARRAY:
        return put_bytes(out, v + c->offsets[vi], c->offsets[vi + 1] - c->offsets[vi],
                         ty == DC_TYPE_DECIMAL, err);
    case PQ_FIXED_LEN_BYTE_ARRAY: {
        const size_t w = (size_t)leaf->type_length;
        return put_bytes(out, v + vi * w, w, ty == DC_TYPE_DECIMAL, err);
    }
    case PQ_INT96:
        break;
    }
    return dc_err_set(err, DC_EUNSUPPORTED, "sort column '%s': INT96 timestamps are not a "
                      "sort key we order", leaf->dotted);
}
