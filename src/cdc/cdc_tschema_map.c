/*
 * A typed schema seen through a table's column mapping: each source column
 * keeps its name (the image's members are matched by it) and gets the
 * physical name of the table column it writes as its ident, which is the
 * key of its member in the typed row (the data files' column name). A
 * renamed column's records before and after the rename thus write the same
 * file column.
 */
#include "cdc_typed_int.h"

int cdc_tschema_set_names(dc_cdc_tschema *s, const char *const *names,
                          const char *const *idents, dc_err *err)
{
    for (uint32_t i = 0; i < s->n; i++) {
        dc_cdc_tcol *c = &s->cols[i];
        if (names && names[i] && strcmp(names[i], c->name) != 0) {
            const size_t n = strlen(names[i]);
            if (n > DC_CDC_MAX_COLUMN_NAME)
                return dc_err_set(err, DC_ELIMIT, "cdc: column name of %zu bytes", n);
            if (!(c->name = dc_arena_strndup(&s->arena, names[i], n, err))) return DC_ENOMEM;
            c->name_len = (uint32_t)n;
        }
        c->ident = NULL;
        if (idents && idents[i] &&
            !(c->ident = dc_arena_strndup(&s->arena, idents[i], strlen(idents[i]), err)))
            return DC_ENOMEM;
    }
    return cdc_tschema_make_keys(s, err);
}

int dc_cdc_tschema_mapped(dc_cdc_tschema **out, dc_cdc_tschema *src, const char *const *idents,
                          dc_err *err)
{
    dc_cdc_tschema *s = dc_calloc(1, sizeof *s);
    if (!s) return dc_err_set(err, DC_ENOMEM, "cdc: out of memory for a mapped schema");
    dc_arena_init(&s->arena, DC_CDC_MAX_TSCHEMA_BYTES);
    s->refs = 1;
    s->n = src->n;
    s->parent = dc_cdc_tschema_dup(src); /* the copied columns point into its arena */
    int rc = 0;
    if (s->n) {
        s->cols = dc_arena_alloc(&s->arena, s->n * sizeof *s->cols, err);
        s->keys = dc_arena_alloc(&s->arena, s->n * sizeof *s->keys, err);
        if (!s->cols || !s->keys) rc = err ? err->code : DC_ENOMEM;
        else memcpy(s->cols, src->cols, s->n * sizeof *s->cols);
    }
    if (rc == 0) rc = cdc_tschema_set_names(s, NULL, idents, err);
    if (rc < 0) {
        dc_cdc_tschema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}
