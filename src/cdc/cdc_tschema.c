/* The typed table's columns, from a Debezium schema block (or from a Delta
 * schema this module wrote), and their Delta StructFields.
 *
 * Slow path: a schema block is parsed into a DOM once (the tschema cache in
 * cdc_typed.c keeps the result per distinct block). Every mapping follows
 * the field's "type", "name" and "parameters" as Debezium documents them for
 * the MariaDB and MySQL connectors:
 *   https://debezium.io/documentation/reference/stable/connectors/mariadb.html#mariadb-data-types
 *   https://debezium.io/documentation/reference/stable/connectors/mysql.html#mysql-data-types
 * (temporal types: io.debezium.time.* with time.precision.mode
 * adaptive_time_microseconds, org.apache.kafka.connect.data.* with connect;
 * decimals: org.apache.kafka.connect.data.Decimal with "scale" and, since
 * Debezium 2.4, "connect.decimal.precision"; BIGINT UNSIGNED with
 * bigint.unsigned.handling.mode=precise is Decimal with precision 20, scale 0;
 * ENUM/SET: io.debezium.data.Enum/EnumSet with "allowed"; BIT(n>1):
 * io.debezium.data.Bits; spatial types: io.debezium.data.geometry.*). */
#include "cdc_typed_int.h"

#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------- the object */

static int tschema_new(dc_cdc_tschema **out, uint32_t n, dc_err *err)
{
    dc_cdc_tschema *s = dc_calloc(1, sizeof *s);
    if (!s) return dc_err_set(err, DC_ENOMEM, "cdc: out of memory for a typed schema");
    dc_arena_init(&s->arena, DC_CDC_MAX_TSCHEMA_BYTES);
    s->refs = 1;
    s->n = n;
    s->cols = n ? dc_arena_alloc(&s->arena, n * sizeof *s->cols, err) : NULL;
    s->keys = n ? dc_arena_alloc(&s->arena, n * sizeof *s->keys, err) : NULL;
    if (n && (!s->cols || !s->keys)) {
        dc_cdc_tschema_free(s);
        return err ? err->code : DC_ENOMEM;
    }
    if (n) memset(s->cols, 0, n * sizeof *s->cols);
    *out = s;
    return 0;
}

dc_cdc_tschema *dc_cdc_tschema_dup(dc_cdc_tschema *s)
{
    if (s) s->refs++;
    return s;
}

void dc_cdc_tschema_free(dc_cdc_tschema *s)
{
    if (!s || --s->refs > 0) return;
    dc_cdc_tschema_free(s->parent);
    dc_arena_dispose(&s->arena);
    dc_free(s);
}

uint32_t dc_cdc_tschema_ncols(const dc_cdc_tschema *s) { return s->n; }

const dc_cdc_tcol *dc_cdc_tschema_col(const dc_cdc_tschema *s, uint32_t i)
{
    DC_ASSERT(i < s->n);
    return &s->cols[i];
}

int32_t dc_cdc_tschema_find(const dc_cdc_tschema *s, const char *name, size_t n)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->cols[i].name_len == n && memcmp(s->cols[i].name, name, n) == 0) return (int32_t)i;
    return -1;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

bool dc_cdc_tcol_equal(const dc_cdc_tcol *a, const dc_cdc_tcol *b)
{
    if (a->name_len != b->name_len || memcmp(a->name, b->name, a->name_len) != 0 ||
        a->optional != b->optional || a->kind != b->kind || a->type != b->type ||
        a->precision != b->precision || a->scale != b->scale ||
        a->allowed_len != b->allowed_len || (a->allowed == NULL) != (b->allowed == NULL) ||
        (a->allowed && memcmp(a->allowed, b->allowed, a->allowed_len) != 0) ||
        a->n_children != b->n_children)
        return false;
    for (uint32_t i = 0; i < a->n_children; i++)
        if (!dc_cdc_tcol_equal(&a->children[i], &b->children[i])) return false;
    return true;
}

bool dc_cdc_tschema_equal(const dc_cdc_tschema *a, const dc_cdc_tschema *b)
{
    if (a->n != b->n) return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (!dc_cdc_tcol_equal(&a->cols[i], &b->cols[i])) return false;
    return true;
}

/* ------------------------------------------------ field schema → column */

/* A Debezium semantic type: its name, the Connect type it must come with,
 * the kind, and the Delta type (before the options apply). */
typedef struct semantic {
    const char *name;     /* the field's "name" */
    const char *type;     /* the Connect type it requires */
    dc_cdc_tkind kind;    /* how values decode */
    dc_type delta;        /* Delta type (DECIMAL is refined by the precision) */
} semantic;

static const semantic semantics[] = {
    {"io.debezium.time.Year", "int32", DC_CDC_TK_YEAR, DC_TYPE_INT},
    {"org.apache.kafka.connect.data.Decimal", "bytes", DC_CDC_TK_DECIMAL, DC_TYPE_DECIMAL},
    {"io.debezium.time.Date", "int32", DC_CDC_TK_DATE_DAYS, DC_TYPE_DATE},
    {"org.apache.kafka.connect.data.Date", "int32", DC_CDC_TK_DATE_DAYS, DC_TYPE_DATE},
    {"io.debezium.time.Timestamp", "int64", DC_CDC_TK_TS_MS, DC_TYPE_TIMESTAMP_NTZ},
    {"org.apache.kafka.connect.data.Timestamp", "int64", DC_CDC_TK_TS_MS, DC_TYPE_TIMESTAMP_NTZ},
    {"io.debezium.time.MicroTimestamp", "int64", DC_CDC_TK_TS_US, DC_TYPE_TIMESTAMP_NTZ},
    {"io.debezium.time.NanoTimestamp", "int64", DC_CDC_TK_TS_NS, DC_TYPE_TIMESTAMP_NTZ},
    {"io.debezium.time.ZonedTimestamp", "string", DC_CDC_TK_ZONED_TS, DC_TYPE_TIMESTAMP},
    {"io.debezium.time.Time", "int32", DC_CDC_TK_TIME_MS, DC_TYPE_LONG},
    {"org.apache.kafka.connect.data.Time", "int32", DC_CDC_TK_TIME_MS, DC_TYPE_LONG},
    {"io.debezium.time.MicroTime", "int64", DC_CDC_TK_TIME_US, DC_TYPE_LONG},
    {"io.debezium.time.NanoTime", "int64", DC_CDC_TK_TIME_NS, DC_TYPE_LONG},
    {"io.debezium.data.Enum", "string", DC_CDC_TK_ENUM, DC_TYPE_STRING},
    {"io.debezium.data.EnumSet", "string", DC_CDC_TK_ENUM_SET, DC_TYPE_ARRAY},
    {"io.debezium.data.Json", "string", DC_CDC_TK_JSON, DC_TYPE_STRING},
    {"io.debezium.data.Bits", "bytes", DC_CDC_TK_BITS, DC_TYPE_BINARY},
    {"io.debezium.data.geometry.Geometry", "struct", DC_CDC_TK_GEOMETRY, DC_TYPE_STRUCT},
    {"io.debezium.data.geometry.Point", "struct", DC_CDC_TK_GEOMETRY, DC_TYPE_STRUCT},
    {"io.debezium.data.geometry.Geography", "struct", DC_CDC_TK_GEOMETRY, DC_TYPE_STRUCT},
    {"io.debezium.data.VariableScaleDecimal", "struct", DC_CDC_TK_VDECIMAL, DC_TYPE_STRING},
};

/* Plain Connect types (JsonConverter writes "float"/"double"; the Connect
 * names float32/float64 are taken too). */
static int plain_type(const char *t, dc_cdc_tkind *kind, dc_type *delta)
{
    static const struct { const char *t; dc_cdc_tkind k; dc_type d; } plain[] = {
        {"boolean", DC_CDC_TK_BOOL, DC_TYPE_BOOLEAN}, {"int8", DC_CDC_TK_INT, DC_TYPE_BYTE},
        {"int16", DC_CDC_TK_INT, DC_TYPE_SHORT},      {"int32", DC_CDC_TK_INT, DC_TYPE_INT},
        {"int64", DC_CDC_TK_INT, DC_TYPE_LONG},       {"float", DC_CDC_TK_FLOAT, DC_TYPE_FLOAT},
        {"float32", DC_CDC_TK_FLOAT, DC_TYPE_FLOAT},  {"double", DC_CDC_TK_DOUBLE, DC_TYPE_DOUBLE},
        {"float64", DC_CDC_TK_DOUBLE, DC_TYPE_DOUBLE}, {"string", DC_CDC_TK_STRING, DC_TYPE_STRING},
        {"bytes", DC_CDC_TK_BYTES, DC_TYPE_BINARY},
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        if (strcmp(t, plain[i].t) == 0) {
            *kind = plain[i].k;
            *delta = plain[i].d;
            return 0;
        }
    }
    return -1;
}

/* A parameter's value: JsonConverter writes them as strings; numbers go too. */
static const dc_json *param(const dc_json *f, const char *key)
{
    const dc_json *const p = dc_json_get(f, "parameters");
    const dc_json *const v = p && p->type == DC_JSON_OBJECT ? dc_json_get(p, key) : NULL;
    return v && (v->type == DC_JSON_STRING || v->type == DC_JSON_NUMBER) ? v : NULL;
}

/* An integer parameter in [lo, hi]; *out untouched when absent. */
static int int_param(int32_t *out, const dc_json *f, const char *key, int32_t lo, int32_t hi,
                     const char *col, dc_err *err)
{
    const dc_json *const v = param(f, key);
    if (!v) return 0;
    char *end = NULL;
    errno = 0;
    const long x = strtol(v->u.str, &end, 10);
    if (v->len == 0 || end != v->u.str + v->len || errno || x < lo || x > hi)
        return dc_err_set(err, DC_EINVAL, "column '%s': parameter %s \"%.*s\" is not an integer "
                          "in %d..%d", col, key, v->len > 40 ? 40 : (int)v->len, v->u.str,
                          (int)lo, (int)hi);
    *out = (int32_t)x;
    return 0;
}

static char *arena_str(dc_cdc_tschema *s, const char *p, size_t n, dc_err *err)
{
    return dc_arena_strndup(&s->arena, p, n, err);
}

static int parse_field(dc_cdc_tschema *s, dc_cdc_tcol *c, const dc_json *f,
                       const dc_cdc_typed_opts *o, bool nested, dc_err *err);

/* The members of a geometry struct (primitive fields only). */
static int parse_children(dc_cdc_tschema *s, dc_cdc_tcol *c, const dc_json *f,
                          const dc_cdc_typed_opts *o, dc_err *err)
{
    const dc_json *const fields = dc_json_get(f, "fields");
    if (!fields || fields->type != DC_JSON_ARRAY || fields->len == 0 ||
        fields->len > DC_CDC_MAX_STRUCT_FIELDS)
        return dc_err_set(err, DC_EINVAL, "column '%s': %s without 1..%d \"fields\"", c->name,
                          c->src_name, DC_CDC_MAX_STRUCT_FIELDS);
    dc_cdc_tcol *const kids = dc_arena_alloc(&s->arena, fields->len * sizeof *kids, err);
    if (!kids) return err ? err->code : DC_ENOMEM;
    memset(kids, 0, fields->len * sizeof *kids);
    for (uint32_t i = 0; i < fields->len; i++) {
        DC_TRY(parse_field(s, &kids[i], &fields->u.items[i], o, true, err));
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(kids[j].name, kids[i].name) == 0)
                return dc_err_set(err, DC_EINVAL, "column '%s': member '%s' twice", c->name,
                                  kids[i].name);
    }
    c->children = kids;
    c->n_children = fields->len;
    return 0;
}

/* Kind and Delta type of field f (name, type and parameters). */
static int map_type(dc_cdc_tschema *s, dc_cdc_tcol *c, const dc_json *f,
                    const dc_cdc_typed_opts *o, bool nested, dc_err *err)
{
    const semantic *sem = NULL;
    for (size_t i = 0; c->src_name && i < sizeof semantics / sizeof semantics[0]; i++)
        if (strcmp(c->src_name, semantics[i].name) == 0) sem = &semantics[i];
    if (sem && strcmp(sem->type, c->src_type) != 0)
        return dc_err_set(err, DC_EINVAL, "column '%s': %s with type %s (expected %s)", c->name,
                          sem->name, c->src_type, sem->type);
    if (sem && nested && sem->kind == DC_CDC_TK_GEOMETRY)
        return dc_err_set(err, DC_EUNSUPPORTED, "column '%s': a geometry inside a struct",
                          c->name);
    if (sem) {
        c->kind = sem->kind;
        c->type = sem->delta;
    } else if (plain_type(c->src_type, &c->kind, &c->type) != 0) {
        /* Unknown names on a plain type decode as that type (lossless);
         * structs, arrays and maps we do not know are refused. */
        return dc_err_set(err, DC_EUNSUPPORTED, "column '%s': type %s%s%s is not supported in a "
                          "typed table", c->name, c->src_type, c->src_name ? " named " : "",
                          c->src_name ? c->src_name : "");
    }
    switch (c->kind) {
    case DC_CDC_TK_DECIMAL:
        c->scale = -1;
        DC_TRY(int_param(&c->scale, f, "scale", 0, DC_CDC_MAX_DECIMAL_DIGITS, c->name, err));
        if (c->scale < 0)
            return dc_err_set(err, DC_EINVAL, "column '%s': Decimal without a \"scale\" parameter",
                              c->name);
        DC_TRY(int_param(&c->precision, f, "connect.decimal.precision", 1,
                         DC_CDC_MAX_DECIMAL_DIGITS, c->name, err));
        if (c->precision && c->scale > c->precision)
            return dc_err_set(err, DC_EINVAL, "column '%s': Decimal scale %d above its precision %d",
                              c->name, (int)c->scale, (int)c->precision);
        /* Delta decimals hold 38 digits; beyond, or with no precision given
         * (Debezium before 2.4), the exact digits go to a string. */
        if (c->precision < 1 || c->precision > 38) c->type = DC_TYPE_STRING;
        break;
    case DC_CDC_TK_ENUM: case DC_CDC_TK_ENUM_SET: {
        const dc_json *const a = param(f, "allowed");
        if (a && a->type == DC_JSON_STRING) {
            c->allowed = arena_str(s, a->u.str, a->len, err);
            if (!c->allowed) return err ? err->code : DC_ENOMEM;
            c->allowed_len = a->len;
        }
        break;
    }
    case DC_CDC_TK_TS_MS: case DC_CDC_TK_TS_US: case DC_CDC_TK_TS_NS:
        if (o->datetime_as_timestamp) c->type = DC_TYPE_TIMESTAMP;
        break;
    case DC_CDC_TK_TIME_MS: case DC_CDC_TK_TIME_US: case DC_CDC_TK_TIME_NS:
        if (o->time_as_string) c->type = DC_TYPE_STRING;
        break;
    case DC_CDC_TK_GEOMETRY:
        DC_TRY(parse_children(s, c, f, o, err));
        break;
    default:
        break;
    }
    return 0;
}

/* One field schema ({"type":..,"optional":..,"name":..,"parameters":..,
 * "field":..}) → column c. */
static int parse_field(dc_cdc_tschema *s, dc_cdc_tcol *c, const dc_json *f,
                       const dc_cdc_typed_opts *o, bool nested, dc_err *err)
{
    if (f->type != DC_JSON_OBJECT)
        return dc_err_set(err, DC_EINVAL, "cdc: a schema field is %s, not an object",
                          dc_json_type_name(f->type));
    const dc_json *const name = dc_json_get(f, "field"), *const type = dc_json_get(f, "type");
    if (!name || name->type != DC_JSON_STRING || name->len == 0 ||
        name->len > DC_CDC_MAX_COLUMN_NAME || memchr(name->u.str, 0, name->len))
        return dc_err_set(err, DC_EINVAL, "cdc: a schema field without a usable \"field\" name");
    c->name = arena_str(s, name->u.str, name->len, err);
    if (!c->name) return err ? err->code : DC_ENOMEM;
    c->name_len = name->len;
    if (!type || type->type != DC_JSON_STRING)
        return dc_err_set(err, DC_EINVAL, "column '%s': schema without a \"type\" string", c->name);
    c->src_type = arena_str(s, type->u.str, type->len, err);
    if (!c->src_type) return err ? err->code : DC_ENOMEM;
    const dc_json *const sname = dc_json_get(f, "name");
    if (sname && sname->type == DC_JSON_STRING) {
        c->src_name = arena_str(s, sname->u.str, sname->len, err);
        if (!c->src_name) return err ? err->code : DC_ENOMEM;
    }
    /* Connect's default for a schema is required; JsonConverter always writes it. */
    const dc_json *const opt = dc_json_get(f, "optional");
    c->optional = opt && opt->type == DC_JSON_TRUE;
    DC_TRY(map_type(s, c, f, o, nested, err));
    dc_buf js;
    dc_buf_init(&js, DC_CDC_MAX_TSCHEMA_BYTES);
    int rc = dc_json_write(&js, f, err);
    if (rc == 0) {
        c->src_json = arena_str(s, (const char *)js.data, js.len, err);
        if (!c->src_json) rc = err ? err->code : DC_ENOMEM;
    }
    dc_buf_dispose(&js);
    return rc;
}

/* The "name": prefix of each column's member in a typed row (its ident
 * when it has one). */
int cdc_tschema_make_keys(dc_cdc_tschema *s, dc_err *err)
{
    dc_buf b;
    dc_buf_init(&b, DC_CDC_MAX_TSCHEMA_BYTES);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < s->n; i++) {
        dc_buf_reset(&b);
        const char *id = s->cols[i].ident;
        rc = dc_json_put_str(&b, id ? id : s->cols[i].name, id ? strlen(id) : s->cols[i].name_len,
                             err);
        if (rc == 0) rc = dc_buf_putc(&b, ':', err);
        if (rc == 0) {
            const dc_cdc_tcol *c = &s->cols[i];
            s->keys[i].plain_name = !memchr(c->name, '"', c->name_len) &&
                                    !memchr(c->name, '\\', c->name_len);
            s->keys[i].s = arena_str(s, (const char *)b.data, b.len, err);
            s->keys[i].n = (uint32_t)b.len;
            if (!s->keys[i].s) rc = err ? err->code : DC_ENOMEM;
        }
    }
    dc_buf_dispose(&b);
    return rc;
}

int cdc_tschema_from_fields(dc_cdc_tschema **out, const dc_cdc_typed_opts *o,
                            const dc_json *fields, dc_err *err)
{
    static const dc_cdc_typed_opts defaults = {0};
    if (!o) o = &defaults;
    if (fields->len > DC_CDC_MAX_COLUMNS)
        return dc_err_set(err, DC_ELIMIT, "cdc: %u columns exceed the limit of %d", fields->len,
                          DC_CDC_MAX_COLUMNS);
    dc_cdc_tschema *s = NULL;
    DC_TRY(tschema_new(&s, fields->len, err));
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < fields->len; i++) {
        rc = parse_field(s, &s->cols[i], &fields->u.items[i], o, false, err);
        if (rc == 0 && dc_cdc_tschema_find(s, s->cols[i].name, s->cols[i].name_len) != (int32_t)i)
            rc = dc_err_set(err, DC_EINVAL, "column '%s' twice in the schema block",
                            s->cols[i].name);
    }
    if (rc == 0) rc = cdc_tschema_make_keys(s, err);
    if (rc < 0) {
        dc_cdc_tschema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* The envelope schema block (a DOM) → columns of its "after" (else "before") struct. */
static int from_block_dom(dc_cdc_tschema **out, const dc_cdc_typed_opts *o, const dc_json *block,
                          dc_err *err)
{
    const dc_json *const fields = block->type == DC_JSON_OBJECT ? dc_json_get(block, "fields") : NULL;
    const dc_json *row = NULL;
    for (uint32_t pass = 0; fields && fields->type == DC_JSON_ARRAY && !row && pass < 2; pass++) {
        for (uint32_t i = 0; i < fields->len; i++) {
            const dc_json *const f = &fields->u.items[i];
            const char *const name = f->type == DC_JSON_OBJECT ? dc_json_str(dc_json_get(f, "field"))
                                                               : NULL;
            if (name && strcmp(name, pass ? "before" : "after") == 0) row = f;
        }
    }
    const dc_json *const rf = row ? dc_json_get(row, "fields") : NULL;
    if (!rf || rf->type != DC_JSON_ARRAY || !str_eq(dc_json_str(dc_json_get(row, "type")), "struct"))
        return dc_err_set(err, DC_EINVAL, "cdc: the schema block has no \"after\" or \"before\" "
                          "struct with \"fields\"");
    return cdc_tschema_from_fields(out, o, rf, err);
}

int dc_cdc_tschema_from_block(dc_cdc_tschema **out, const dc_cdc_typed_opts *o,
                              const char *block, size_t n, dc_err *err)
{
    dc_arena a;
    dc_json *root = NULL;
    dc_arena_init(&a, DC_CDC_MAX_TSCHEMA_BYTES * 4);
    int rc = dc_json_parse(&root, &a, block, n, err);
    if (rc == 0) rc = from_block_dom(out, o, root, err);
    dc_arena_dispose(&a);
    return rc;
}

int dc_cdc_tschema_from_record(dc_cdc_tschema **out, const dc_cdc_typed_opts *o, const char *rec,
                               size_t n, dc_err *err)
{
    dc_arena a;
    dc_json *root = NULL;
    dc_arena_init(&a, (size_t)1 << 40);
    int rc = dc_json_parse(&root, &a, rec, n, err);
    const dc_json *const block = rc == 0 && root->type == DC_JSON_OBJECT
                                     ? dc_json_get(root, "schema") : NULL;
    if (rc == 0 && (!block || block->type == DC_JSON_NULL))
        rc = dc_err_set(err, DC_ENOTFOUND, "cdc: the record has no schema block");
    if (rc == 0) rc = from_block_dom(out, o, block, err);
    dc_arena_dispose(&a);
    return rc;
}

/* ---------------------------------------------------------------- cache */

void dc_cdc_tschema_cache_init(dc_cdc_tschema_cache *c, const dc_cdc_typed_opts *o)
{
    memset(c, 0, sizeof *c);
    if (o) c->opts = *o;
}

void dc_cdc_tschema_cache_dispose(dc_cdc_tschema_cache *c)
{
    for (int i = 0; i < DC_CDC_TSCHEMA_CACHE_SLOTS; i++) {
        dc_free(c->block[i]);
        dc_cdc_tschema_free(c->schema[i]);
    }
    memset(c, 0, sizeof *c);
}

int dc_cdc_tschema_cache_get(const dc_cdc_tschema **out, dc_cdc_tschema_cache *c,
                             const char *block, size_t n, dc_err *err)
{
    return dc_cdc_tschema_cache_get_id(out, c, block, n, 0, err);
}

int dc_cdc_tschema_cache_get_id(const dc_cdc_tschema **out, dc_cdc_tschema_cache *c,
                                const char *block, size_t n, uint64_t id, dc_err *err)
{
    for (uint32_t k = 0; k < DC_CDC_TSCHEMA_CACHE_SLOTS; k++) {
        const uint32_t i = (c->last_hit + k) % DC_CDC_TSCHEMA_CACHE_SLOTS;
        if (c->schema[i] && c->len[i] == n &&
            ((id && c->id[i] == id) || memcmp(c->block[i], block, n) == 0)) {
            c->last_hit = i;
            c->hits++;
            if (id) c->id[i] = id;
            *out = c->schema[i];
            return 0;
        }
    }
    dc_cdc_tschema *s = NULL;
    DC_TRY(dc_cdc_tschema_from_block(&s, &c->opts, block, n, err));
    uint8_t *const copy = dc_malloc(n ? n : 1);
    if (!copy) {
        dc_cdc_tschema_free(s);
        return dc_err_set(err, DC_ENOMEM, "cdc: out of memory caching a schema block");
    }
    memcpy(copy, block, n);
    const uint32_t i = c->next;
    c->next = (i + 1) % DC_CDC_TSCHEMA_CACHE_SLOTS;
    dc_free(c->block[i]);
    dc_cdc_tschema_free(c->schema[i]);
    c->block[i] = copy;
    c->len[i] = n;
    c->schema[i] = s;
    c->id[i] = id;
    c->last_hit = i;
    c->misses++;
    *out = s;
    return 0;
}
