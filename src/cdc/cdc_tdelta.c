/* Typed columns ↔ Delta StructFields.
 *
 * A column this module writes carries its Debezium field schema (compact
 * JSON) in the StructField's metadata under "deltacdc.debezium", so a table
 * read back gives exactly the columns it was made from, also for encodings
 * the Delta type cannot tell apart (a timestamp_ntz from milliseconds or
 * from microseconds, a long from MicroTime or from int64). Delta readers
 * ignore unknown metadata keys. */
#include "cdc_typed_int.h"

#include <stdio.h>

#define META_KEY "deltacdc.debezium"

/* Delta's name of a primitive type; NULL for the complex ones. */
static const char *delta_prim(dc_type t)
{
    switch (t) {
    case DC_TYPE_BOOLEAN: return "boolean";
    case DC_TYPE_BYTE: return "byte";
    case DC_TYPE_SHORT: return "short";
    case DC_TYPE_INT: return "integer";
    case DC_TYPE_LONG: return "long";
    case DC_TYPE_FLOAT: return "float";
    case DC_TYPE_DOUBLE: return "double";
    case DC_TYPE_STRING: return "string";
    case DC_TYPE_BINARY: return "binary";
    case DC_TYPE_DATE: return "date";
    case DC_TYPE_TIMESTAMP: return "timestamp";
    case DC_TYPE_TIMESTAMP_NTZ: return "timestamp_ntz";
    default: return NULL;
    }
}

static int put_field(dc_buf *out, const dc_cdc_tcol *c, bool meta, dc_err *err);

/* The type member's value of c. */
static int put_type(dc_buf *out, const dc_cdc_tcol *c, dc_err *err)
{
    const char *const prim = delta_prim(c->type);
    if (prim) return dc_json_put_str(out, prim, strlen(prim), err);
    switch (c->type) {
    case DC_TYPE_DECIMAL:
        return dc_buf_appendf(out, err, "\"decimal(%d,%d)\"", (int)c->precision, (int)c->scale);
    case DC_TYPE_ARRAY:
        return dc_buf_puts(out, "{\"type\":\"array\",\"elementType\":\"string\",\"containsNull\":false}",
                           err);
    case DC_TYPE_STRUCT:
        DC_TRY(dc_buf_puts(out, "{\"type\":\"struct\",\"fields\":[", err));
        for (uint32_t i = 0; i < c->n_children; i++) {
            if (i) DC_TRY(dc_buf_putc(out, ',', err));
            DC_TRY(put_field(out, &c->children[i], false, err));
        }
        return dc_buf_puts(out, "]}", err);
    default:
        return dc_err_set(err, DC_EINTERNAL, "cdc: column '%s' has no Delta type", c->name);
    }
}

static int put_field(dc_buf *out, const dc_cdc_tcol *c, bool meta, dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "{\"name\":", err));
    DC_TRY(dc_json_put_str(out, c->name, c->name_len, err));
    DC_TRY(dc_buf_puts(out, ",\"type\":", err));
    DC_TRY(put_type(out, c, err));
    DC_TRY(dc_buf_puts(out, ",\"nullable\":true,\"metadata\":{", err));
    if (meta && c->src_json) {
        DC_TRY(dc_buf_puts(out, "\"" META_KEY "\":", err));
        DC_TRY(dc_json_put_str(out, c->src_json, strlen(c->src_json), err));
    }
    if (meta && c->ident) { /* column mapping: the file column it writes */
        DC_TRY(dc_buf_puts(out, c->src_json ? "," : "", err));
        DC_TRY(dc_buf_puts(out, "\"delta.columnMapping.physicalName\":", err));
        DC_TRY(dc_json_put_str(out, c->ident, strlen(c->ident), err));
    }
    return dc_buf_puts(out, "}}", err);
}

int dc_cdc_tcol_delta_json(dc_buf *out, const dc_cdc_tcol *c, dc_err *err)
{
    return put_field(out, c, true, err);
}

int dc_cdc_tschema_delta_json(dc_buf *out, const dc_cdc_tschema *s, dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "{\"type\":\"struct\",\"fields\":[", err));
    for (uint32_t i = 0; i < s->n; i++) {
        if (i) DC_TRY(dc_buf_putc(out, ',', err));
        DC_TRY(dc_cdc_tcol_delta_json(out, &s->cols[i], err));
    }
    return dc_buf_puts(out, "]}", err);
}

/* ------------------------------------------------- Delta schema → columns */

/* The Debezium field schema of a Delta column without our metadata, where
 * the Delta type fixes the JSON encoding; else DC_EUNSUPPORTED. */
static int synthesize(dc_buf *b, const char *name, const dc_json *type, dc_err *err)
{
    const char *const t = dc_json_str(type);
    static const struct { const char *delta, *src; } plain[] = {
        {"boolean", "\"type\":\"boolean\""}, {"byte", "\"type\":\"int8\""},
        {"short", "\"type\":\"int16\""},     {"integer", "\"type\":\"int32\""},
        {"long", "\"type\":\"int64\""},      {"float", "\"type\":\"float\""},
        {"double", "\"type\":\"double\""},   {"string", "\"type\":\"string\""},
        {"binary", "\"type\":\"bytes\""},
        {"date", "\"type\":\"int32\",\"name\":\"io.debezium.time.Date\""},
    };
    DC_TRY(dc_buf_putc(b, '{', err));
    for (size_t i = 0; t && i < sizeof plain / sizeof plain[0]; i++) {
        if (strcmp(t, plain[i].delta) == 0) {
            DC_TRY(dc_buf_puts(b, plain[i].src, err));
            goto named;
        }
    }
    int p, s, k = 0;
    if (t && sscanf(t, "decimal(%d,%d)%n", &p, &s, &k) == 2 && t[k] == 0 && k > 0) {
        DC_TRY(dc_buf_appendf(b, err, "\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data."
                              "Decimal\",\"parameters\":{\"scale\":\"%d\",\"connect.decimal."
                              "precision\":\"%d\"}", s, p));
        goto named;
    }
    return dc_err_set(err, DC_EUNSUPPORTED, "column '%s': Delta type %s without \"" META_KEY
                      "\" metadata: its Debezium encoding is unknown (give the column's type in "
                      "the pipeline file, or let records with schema blocks create the table)",
                      name, t ? t : "(complex)");
named:
    DC_TRY(dc_buf_puts(b, ",\"optional\":true,\"field\":", err));
    DC_TRY(dc_json_put_str(b, name, strlen(name), err));
    return dc_buf_putc(b, '}', err);
}

/* Is name one of the NULL-terminated skip list? */
static bool skipped(const char *const *skip, const char *name)
{
    for (; skip && *skip; skip++)
        if (strcmp(*skip, name) == 0) return true;
    return false;
}

/* The fields array of Debezium field schemas for the Delta struct `st`. */
static int collect(dc_buf *b, const dc_json *fields, const char *const *skip, dc_err *err)
{
    bool first = true;
    DC_TRY(dc_buf_putc(b, '[', err));
    for (uint32_t i = 0; i < fields->len; i++) {
        const dc_json *const f = &fields->u.items[i];
        const char *const name = f->type == DC_JSON_OBJECT ? dc_json_str(dc_json_get(f, "name"))
                                                           : NULL;
        if (!name) return dc_err_set(err, DC_EINVAL, "cdc: a Delta field without a name");
        if (skipped(skip, name)) continue;
        if (!first) DC_TRY(dc_buf_putc(b, ',', err));
        first = false;
        const dc_json *const meta = dc_json_get(f, "metadata");
        const dc_json *const src = meta && meta->type == DC_JSON_OBJECT
                                       ? dc_json_get(meta, META_KEY) : NULL;
        if (src && src->type == DC_JSON_STRING)
            DC_TRY(dc_buf_append(b, src->u.str, src->len, err));
        else
            DC_TRY(synthesize(b, name, dc_json_get(f, "type"), err));
    }
    return dc_buf_putc(b, ']', err);
}

/* The options a table was made with show in its Delta types: DATETIME
 * columns as timestamp (datetime_as_timestamp), TIME columns as string
 * (time_as_string). Columns were parsed with both off. */
static void follow_options(dc_cdc_tschema *s, const dc_json *fields, const char *const *skip)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < fields->len && k < s->n; i++) {
        const dc_json *const f = &fields->u.items[i];
        if (skipped(skip, dc_json_str(dc_json_get(f, "name")))) continue;
        dc_cdc_tcol *const c = &s->cols[k++];
        const char *const t = dc_json_str(dc_json_get(f, "type"));
        if (!t) continue;
        if (c->type == DC_TYPE_TIMESTAMP_NTZ && strcmp(t, "timestamp") == 0)
            c->type = DC_TYPE_TIMESTAMP;
        if ((c->kind == DC_CDC_TK_TIME_MS || c->kind == DC_CDC_TK_TIME_US ||
             c->kind == DC_CDC_TK_TIME_NS) && strcmp(t, "string") == 0)
            c->type = DC_TYPE_STRING;
    }
}

/* Each column's name is its Delta field's (the Debezium schema kept in the
 * metadata has the name it had when it was added: a rename changes the
 * field only) and its ident the field's physical name under column mapping. */
static int cdc_tschema_delta_names(dc_cdc_tschema *s, const dc_json *fields,
                                   const char *const *skip, dc_err *err)
{
    const char *names[DC_CDC_MAX_COLUMNS], *idents[DC_CDC_MAX_COLUMNS];
    uint32_t k = 0;
    for (uint32_t i = 0; i < fields->len && k < s->n; i++) {
        const dc_json *const f = &fields->u.items[i];
        const char *const name = dc_json_str(dc_json_get(f, "name"));
        if (skipped(skip, name)) continue;
        names[k] = name;
        idents[k++] = dc_json_str(dc_json_get(dc_json_get(f, "metadata"),
                                              "delta.columnMapping.physicalName"));
    }
    return cdc_tschema_set_names(s, names, idents, err);
}

/* v as JSON without column mapping's metadata (delta.columnMapping.*),
 * which nested fields of a column-mapped table carry. */
static int write_sans_cm(dc_buf *out, const dc_json *v, bool in_metadata, int depth, dc_err *err)
{
    if (depth > DC_JSON_MAX_DEPTH) return dc_err_set(err, DC_ELIMIT, "cdc: type nested too deeply");
    if (v->type != DC_JSON_OBJECT && v->type != DC_JSON_ARRAY) return dc_json_write(out, v, err);
    const bool obj = v->type == DC_JSON_OBJECT;
    DC_TRY(dc_buf_putc(out, obj ? '{' : '[', err));
    bool first = true;
    for (uint32_t i = 0; i < v->len; i++) {
        const dc_json *m = &v->u.items[i];
        if (obj && in_metadata && strncmp(m->key, "delta.columnMapping.", 20) == 0) continue;
        if (!first) DC_TRY(dc_buf_putc(out, ',', err));
        first = false;
        if (obj) {
            DC_TRY(dc_json_put_str(out, m->key, m->key_len, err));
            DC_TRY(dc_buf_putc(out, ':', err));
        }
        DC_TRY(write_sans_cm(out, m, obj && strcmp(m->key, "metadata") == 0, depth + 1, err));
    }
    return dc_buf_putc(out, obj ? '}' : ']', err);
}

/* Each column's Delta type must be the one its Debezium schema maps to
 * (with the options that Delta type implies). */
static int check_types(const dc_cdc_tschema *s, const dc_json *fields, const char *const *skip,
                       dc_err *err)
{
    dc_buf want, have;
    dc_buf_init(&want, DC_CDC_MAX_TSCHEMA_BYTES);
    dc_buf_init(&have, DC_CDC_MAX_TSCHEMA_BYTES);
    int rc = 0;
    uint32_t k = 0;
    for (uint32_t i = 0; rc == 0 && i < fields->len; i++) {
        const dc_json *const f = &fields->u.items[i];
        if (skipped(skip, dc_json_str(dc_json_get(f, "name")))) continue;
        const dc_cdc_tcol *const c = &s->cols[k++];
        dc_buf_reset(&want);
        dc_buf_reset(&have);
        rc = put_type(&want, c, err);
        if (rc == 0) rc = write_sans_cm(&have, dc_json_get(f, "type"), false, 0, err);
        if (rc == 0 && (want.len != have.len || memcmp(want.data, have.data, want.len) != 0))
            rc = dc_err_set(err, DC_EINVAL, "column '%s': Delta type %.*s is not the %.*s its "
                            "Debezium schema maps to", c->name, (int)have.len,
                            (const char *)have.data, (int)want.len, (const char *)want.data);
    }
    dc_buf_dispose(&want);
    dc_buf_dispose(&have);
    return rc;
}

int dc_cdc_tschema_from_delta(dc_cdc_tschema **out, const dc_json *struct_type,
                              const char *const *skip, dc_err *err)
{
    const dc_json *const fields = struct_type && struct_type->type == DC_JSON_OBJECT
                                      ? dc_json_get(struct_type, "fields") : NULL;
    if (!fields || fields->type != DC_JSON_ARRAY)
        return dc_err_set(err, DC_EINVAL, "cdc: a Delta schema is a struct with \"fields\"");
    dc_buf b;
    dc_arena a;
    dc_json *dom = NULL;
    dc_cdc_tschema *s = NULL;
    dc_buf_init(&b, DC_CDC_MAX_TSCHEMA_BYTES);
    dc_arena_init(&a, DC_CDC_MAX_TSCHEMA_BYTES * 4);
    int rc = collect(&b, fields, skip, err);
    if (rc == 0) rc = dc_json_parse(&dom, &a, (const char *)b.data, b.len, err);
    if (rc == 0) rc = cdc_tschema_from_fields(&s, NULL, dom, err);
    if (rc == 0) follow_options(s, fields, skip);
    if (rc == 0) rc = cdc_tschema_delta_names(s, fields, skip, err);
    if (rc == 0) rc = check_types(s, fields, skip, err);
    if (rc == 0) *out = s;
    else dc_cdc_tschema_free(s);
    dc_buf_dispose(&b);
    dc_arena_dispose(&a);
    return rc;
}
