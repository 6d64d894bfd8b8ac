/*
 * Typed values in stored form → Parquet columns (dc_cdc_typed_values_put):
 * the second half of a typed row's way into a data file without JSON text.
 * cdc_typed.c decodes an image's values and writes them tagged
 * (cdc_typed_int.h); here each lands in its leaf's column as the writer
 * would store the JSON text of the same value: integers, dates' days and
 * timestamps' microseconds, booleans and bytes directly
 * (dc_pq_column_put_i64/_bool/_bytes), decimals of up to 18 digits as
 * their unscaled value (dc_pq_column_put_unscaled), wider decimals and
 * floating-point numbers through the writer's own text conversion
 * (dc_pq_column_put_json), so rounding and scaling are the writer's, not a
 * second copy of them.
 */
#include "cdc_typed_int.h"

#include "../parquet/pq_meta.h"

/* A length-prefixed payload at *p (the record is ours: lengths fit). */
static const uint8_t *payload(const uint8_t **p, uint32_t *n)
{
    memcpy(n, *p, 4);
    const uint8_t *s = *p + 4;
    *p = s + *n;
    return s;
}

/* A decimal's digits or a number's text through the writer's conversion. */
static int put_text(dc_pq_column *c, const dc_pq_leaf *leaf, bool number, const uint8_t *s,
                    uint32_t n, dc_err *err)
{
    char num[64]; /* strtof/strtod need the number NUL-terminated */
    dc_json v;
    memset(&v, 0, sizeof v);
    v.type = number ? DC_JSON_NUMBER : DC_JSON_STRING;
    v.len = n;
    v.u.str = (const char *)s;
    if (number) {
        if (n >= sizeof num)
            return dc_err_set(err, DC_ELIMIT, "a number of %u bytes", (unsigned)n);
        memcpy(num, s, n);
        num[n] = '\0';
        v.u.str = num;
    }
    return dc_pq_column_put_json(c, leaf, &v, err);
}

/* One value (tag at *p) into column c of leaf (NULL: skipped). */
static int put_one(dc_pq_column *c, const dc_pq_leaf *leaf, const uint8_t **p, dc_err *err)
{
    const uint8_t tag = *(*p)++;
    int64_t x;
    uint32_t n;
    const uint8_t *s;
    switch (tag) {
    case DC_CDC_TV_NULL: return leaf ? dc_pq_column_put_json(c, leaf, NULL, err) : 0;
    case DC_CDC_TV_FALSE: case DC_CDC_TV_TRUE:
        return leaf ? dc_pq_column_put_bool(c, leaf, tag == DC_CDC_TV_TRUE, err) : 0;
    case DC_CDC_TV_I64: case DC_CDC_TV_DEC:
        memcpy(&x, *p, 8);
        *p += 8;
        if (!leaf) return 0;
        return tag == DC_CDC_TV_DEC ? dc_pq_column_put_unscaled(c, leaf, x, err)
                                    : dc_pq_column_put_i64(c, leaf, x, err);
    case DC_CDC_TV_BYTES:
        s = payload(p, &n);
        return leaf ? dc_pq_column_put_bytes(c, leaf, s, n, err) : 0;
    case DC_CDC_TV_TEXT: case DC_CDC_TV_NUM:
        s = payload(p, &n);
        return leaf ? put_text(c, leaf, tag == DC_CDC_TV_NUM, s, n, err) : 0;
    }
    return dc_err_set(err, DC_EINTERNAL, "stored-form value with tag %u", (unsigned)tag);
}

int dc_cdc_typed_values_put(dc_pq_column *cols, const dc_pq_leaf *leaves, const int32_t *leaf_of,
                            bool *filled, const dc_cdc_tschema *s, const uint8_t *rec,
                            size_t len, dc_err *err)
{
    const uint8_t *p = rec, *const end = rec + len;
    for (uint32_t i = 0; i < s->n; i++) {
        DC_ASSERT(p < end);
        const int32_t l = leaf_of[i];
        const int rc = put_one(l >= 0 ? &cols[l] : NULL, l >= 0 ? &leaves[l] : NULL, &p, err);
        if (rc < 0) {
            dc_err_prefix(err, "column '%s'", s->cols[i].name);
            return rc;
        }
        if (l >= 0) filled[l] = true;
    }
    DC_ASSERT(p == end);
    return 0;
}
