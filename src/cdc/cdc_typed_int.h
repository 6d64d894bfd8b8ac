/* What the typed-table files of src/cdc share: the tschema's layout. */
#ifndef CDC_TYPED_INT_H
#define CDC_TYPED_INT_H

#include "cdc.h"

#include "../common/dc_limits.h"

#include <errno.h>

/* Bytes owned by the tschema's arena. */
typedef struct cdc_bytes {
    const char *s;   /* first byte */
    uint32_t n;      /* length */
    bool plain_name; /* keys[i]: column i's source name holds no '"' or '\\', so an
                        image member of that name is found by comparing its bytes */
} cdc_bytes;

struct dc_cdc_tschema {
    dc_arena arena;        /* owns cols, keys and every string they point to */
    uint32_t refs;         /* references; the last _free releases the arena */
    uint32_t n;            /* columns */
    dc_cdc_tcol *cols;     /* n columns in source order */
    cdc_bytes *keys;       /* n `"name":` prefixes of the typed row's members (JSON-escaped;
                              the column's ident when it has one) */
    dc_cdc_tschema *parent; /* a mapped copy's source, whose strings it shares (one
                               reference), or NULL */
};

/* Tags of values in stored form (dc_cdc_typed_values: cdc_typed.c writes
 * them, cdc_tvals.c reads them): one per column in schema order, then its
 * payload. Lengths and integers are little-endian, unaligned. */
enum {
    DC_CDC_TV_NULL = 0,  /* null */
    DC_CDC_TV_FALSE,     /* boolean false */
    DC_CDC_TV_TRUE,      /* boolean true */
    DC_CDC_TV_I64,       /* 8 bytes: an integer, a date's days, a timestamp's or TIME's µs */
    DC_CDC_TV_BYTES,     /* u32 length, bytes: a string's UTF-8 (unescaped) or binary bytes */
    DC_CDC_TV_TEXT,      /* u32 length, bytes: a decimal's digits "-12.30" as the writer's
                          * JSON conventions spell it (dc_pq_column_put_json converts it) */
    DC_CDC_TV_NUM,       /* u32 length, bytes: a float's or double's JSON number text */
    DC_CDC_TV_DEC,       /* 8 bytes: a decimal(p <= 18)'s unscaled value, at most p digits */
};

/* Makes the row keys from the columns' idents or names (cdc_tschema.c). */
int cdc_tschema_make_keys(dc_cdc_tschema *s, dc_err *err);
/* Gives column i the name names[i] (NULL: kept) and the ident idents[i]
 * (NULL: none), and remakes the row keys (cdc_tschema_map.c). */
int cdc_tschema_set_names(dc_cdc_tschema *s, const char *const *names,
                          const char *const *idents, dc_err *err);

/* Columns from a row struct's "fields" array (Debezium field schemas);
 * `o` NULL means the defaults. */
int cdc_tschema_from_fields(dc_cdc_tschema **out, const dc_cdc_typed_opts *o,
                            const dc_json *fields, dc_err *err);

#endif /* CDC_TYPED_INT_H */
