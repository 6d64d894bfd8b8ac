/* Key columns: parsing "id" / "a,b" into a keyspec, and their types from a
 * record's JsonConverter schema block (slow path, once per table, DOM).
 *
 * The schema block of a Debezium change event (MySQL connector) looks like
 *   {"type":"struct","fields":[
 *      {"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},..],
 *       "optional":true,"name":"srv.shop.customers.Value","field":"before"},
 *      {.. same .., "field":"after"}, {"type":"struct",..,"field":"source"},
 *      {"type":"string","optional":false,"field":"op"}, ..],
 *    "optional":false,"name":"srv.shop.customers.Envelope"}
 * Integer Connect types (int8..int64, with or without a logical name such as
 * io.debezium.time.Timestamp) are written as JSON integers: LONG. Everything
 * else (strings, Decimal as base64 bytes, floats, booleans) is STRING. */
#include "cdc.h"

#include "../common/dc_limits.h"
#include "../json/dc_json.h"

/* The struct field of `fields` (an array of Connect field schemas) named `name`. */
static const dc_json *field_named(const dc_json *fields, const char *name)
{
    if (!fields || fields->type != DC_JSON_ARRAY) return NULL;
    const dc_json *found = NULL;
    for (uint32_t i = 0; i < fields->len; i++) {
        const char *const f = dc_json_str(dc_json_get(&fields->u.items[i], "field"));
        if (f && strcmp(f, name) == 0) found = &fields->u.items[i];
    }
    return found;
}

static dc_cdc_key_type type_of(const dc_json *field)
{
    const char *const t = dc_json_str(dc_json_get(field, "type"));
    if (t && (strcmp(t, "int8") == 0 || strcmp(t, "int16") == 0 || strcmp(t, "int32") == 0 ||
              strcmp(t, "int64") == 0))
        return DC_CDC_KEY_LONG;
    return DC_CDC_KEY_STRING;
}

/* The row struct's field list: "after" when the schema has it, else "before". */
static const dc_json *row_fields(const dc_json *schema, const char **which)
{
    const dc_json *const top = dc_json_get(schema, "fields");
    static const char *const names[2] = {"after", "before"};
    for (int i = 0; i < 2; i++) {
        const dc_json *const f = dc_json_get(field_named(top, names[i]), "fields");
        if (f && f->type == DC_JSON_ARRAY) {
            *which = names[i];
            return f;
        }
    }
    return NULL;
}

/* Bytes of a schema integer type (int8 1 .. int64 8), 0 for others. */
static uint8_t int_bytes_of(const dc_json *field)
{
    const char *const t = dc_json_str(dc_json_get(field, "type"));
    if (!t || strncmp(t, "int", 3) != 0) return 0;
    return strcmp(t, "int8") == 0 ? 1 : strcmp(t, "int16") == 0 ? 2
         : strcmp(t, "int32") == 0 ? 4 : strcmp(t, "int64") == 0 ? 8 : 0;
}

int dc_cdc_key_types(dc_cdc_key_type *types, const dc_cdc_keyspec *keys, const char *rec,
                     size_t n, dc_err *err)
{
    return dc_cdc_key_types_ex(types, NULL, keys, rec, n, err);
}

int dc_cdc_key_types_ex(dc_cdc_key_type *types, uint8_t *int_bytes, const dc_cdc_keyspec *keys,
                        const char *rec, size_t n, dc_err *err)
{
    int rc = 0;
    dc_arena arena;
    dc_arena_init(&arena, DC_JSON_MAX_DOC_BYTES);
    dc_json *root = NULL;
    if (!keys || keys->n == 0 || keys->n > DC_CDC_MAX_KEYS) {
        rc = dc_err_set(err, DC_EINVAL, "cdc: a keyspec names 1 to %d columns", DC_CDC_MAX_KEYS);
        goto out;
    }
    if ((rc = dc_json_parse(&root, &arena, rec, n, err)) < 0) {
        dc_err_prefix(err, "cdc: record");
        goto out;
    }
    const dc_json *const schema = dc_json_get(root, "schema");
    if (!schema || schema->type != DC_JSON_OBJECT) {
        rc = dc_err_set(err, DC_ENOTFOUND, "cdc: record has no schema block");
        goto out;
    }
    const char *which = NULL;
    const dc_json *const fields = row_fields(schema, &which);
    if (!fields) {
        rc = dc_err_set(err, DC_ENOTFOUND,
                        "cdc: schema block describes no before/after struct "
                        "(a heartbeat or schema-change record?)");
        goto out;
    }
    for (uint32_t i = 0; i < keys->n; i++) {
        const dc_json *const f = field_named(fields, keys->names[i]);
        if (!f) {
            rc = dc_err_set(err, DC_EINVAL,
                            "cdc: key column '%s' is not a field of the schema block's %s struct",
                            keys->names[i], which);
            goto out;
        }
        types[i] = type_of(f);
        if (int_bytes) int_bytes[i] = int_bytes_of(f);
    }
out:
    dc_arena_dispose(&arena);
    return rc;
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* Checks one trimmed name text[s..e) and appends it to out. */
static int add_name(dc_cdc_keyspec *out, dc_arena *arena, const char *text, size_t s, size_t e,
                    dc_err *err)
{
    if (s == e)
        return dc_err_set(err, DC_EINVAL, "cdc: key columns \"%s\": empty column name at "
                          "character %zu", text, s + 1);
    if (out->n == DC_CDC_MAX_KEYS)
        return dc_err_set(err, DC_EINVAL, "cdc: key columns \"%s\": more than %d columns", text,
                          DC_CDC_MAX_KEYS);
    for (uint32_t i = 0; i < out->n; i++) {
        if (strlen(out->names[i]) == e - s && memcmp(out->names[i], text + s, e - s) == 0)
            return dc_err_set(err, DC_EINVAL, "cdc: key columns \"%s\": column '%s' named twice",
                              text, out->names[i]);
    }
    const char *const name = dc_arena_strndup(arena, text + s, e - s, err);
    if (!name) return err ? err->code : DC_ENOMEM;
    out->names[out->n++] = name;
    return 0;
}

int dc_cdc_keyspec_parse(dc_cdc_keyspec *out, dc_arena *arena, const char *text, dc_err *err)
{
    memset(out, 0, sizeof *out);
    if (!text) return dc_err_set(err, DC_EINVAL, "cdc: no key columns given");
    const size_t n = strlen(text);
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && text[i] != ',') continue;
        size_t s = start, e = i;
        while (s < e && is_space(text[s])) s++;
        while (e > s && is_space(text[e - 1])) e--;
        const int rc = add_name(out, arena, text, s, e, err);
        if (rc < 0) {
            memset(out, 0, sizeof *out);
            return rc;
        }
        start = i + 1;
    }
    return 0;
}
