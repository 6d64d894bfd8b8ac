/*
 * delta: protocol checks, Delta schema JSON → dc_delta_schema, column
 * mapping mode.
 */
#include "delta_int.h"

#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------ protocol */

/* Reader features this build implements. vacuumProtocolCheck asks nothing of
 * readers (PROTOCOL.md: "readers don't need to understand or change anything"). */
static const char *const reader_features[] = {
    "deletionVectors", "timestampNtz",         "columnMapping",       "v2Checkpoint",
    "typeWidening",    "typeWidening-preview", "vacuumProtocolCheck",
};

static bool has_feature(uint32_t n, const char *const *list, const char *f)
{
    for (uint32_t i = 0; i < n; i++)
        if (list[i] && strcmp(list[i], f) == 0) return true;
    return false;
}

bool dc_delta_protocol_has_reader_feature(const dc_delta_protocol *p, const char *feature)
{
    return has_feature(p->n_reader_features, p->reader_features, feature);
}

bool dc_delta_protocol_has_writer_feature(const dc_delta_protocol *p, const char *feature)
{
    return has_feature(p->n_writer_features, p->writer_features, feature);
}

int dc_delta_protocol_check_read(const dc_delta_protocol *p, dc_err *err)
{
    if (p->min_reader_version < 1 || p->min_reader_version > 3)
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "delta: table needs reader version %d; deltacdc reads versions 1 to 3",
                          (int)p->min_reader_version);
    if (p->min_reader_version < 3) return 0;
    for (uint32_t i = 0; i < p->n_reader_features; i++) {
        const char *f = p->reader_features[i] ? p->reader_features[i] : "(null)";
        if (!has_feature(sizeof reader_features / sizeof *reader_features, reader_features, f))
            return dc_err_set(err, DC_EUNSUPPORTED,
                              "delta: table uses reader feature '%s', which deltacdc does not "
                              "support",
                              f);
    }
    return 0;
}

/* --------------------------------------------------------------- schema */

typedef struct sctx {
    dc_arena *arena;
    dc_err *err;
    const char *column;   /* top-level column being parsed, for messages */
} sctx;

static int bad(const sctx *c, const char *what)
{
    return dc_err_set(c->err, DC_ECORRUPT, "delta schema: column '%s': %s",
                      c->column ? c->column : "(root)", what);
}

static const struct {
    const char *name;
    dc_type type;
} primitives[] = {
    {"string", DC_TYPE_STRING},   {"long", DC_TYPE_LONG},       {"integer", DC_TYPE_INT},
    {"short", DC_TYPE_SHORT},     {"byte", DC_TYPE_BYTE},       {"float", DC_TYPE_FLOAT},
    {"double", DC_TYPE_DOUBLE},   {"boolean", DC_TYPE_BOOLEAN}, {"binary", DC_TYPE_BINARY},
    {"date", DC_TYPE_DATE},       {"timestamp", DC_TYPE_TIMESTAMP},
    {"timestamp_ntz", DC_TYPE_TIMESTAMP_NTZ},                   {"void", DC_TYPE_NULL},
};

static int parse_primitive(sctx *c, dc_delta_field *f, const char *s)
{
    for (size_t i = 0; i < sizeof primitives / sizeof *primitives; i++) {
        if (strcmp(s, primitives[i].name) == 0) {
            f->type = primitives[i].type;
            return 0;
        }
    }
    if (strcmp(s, "decimal") == 0) {
        f->type = DC_TYPE_DECIMAL;
        f->precision = 10;
        f->scale = 0;
        return 0;
    }
    int p = 0, sc = 0, used = 0;
    if (sscanf(s, "decimal(%d,%d)%n", &p, &sc, &used) == 2 && s[used] == '\0') {
        if (p < 1 || p > 38 || sc < 0 || sc > p) return bad(c, "decimal precision/scale out of range");
        f->type = DC_TYPE_DECIMAL;
        f->precision = p;
        f->scale = sc;
        return 0;
    }
    return dc_err_set(c->err, DC_EUNSUPPORTED,
                      "delta schema: column '%s': type '%s' is not supported",
                      c->column ? c->column : "(root)", s);
}

static int alloc_children(sctx *c, dc_delta_field *f, uint32_t n)
{
    f->n_children = n;
    f->children = NULL;
    if (n == 0) return 0;
    f->children = dc_arena_alloc(c->arena, (size_t)n * sizeof *f->children, c->err);
    if (!f->children) return c->err->code;
    memset(f->children, 0, (size_t)n * sizeof *f->children);
    return 0;
}

static int nullable_of(const dc_json *o, const char *key, bool *out)
{
    const dc_json *v = dc_json_get(o, key);
    *out = !v || v->type != DC_JSON_FALSE;  /* absent: nullable (Spark's default) */
    return 0;
}

static int mapping_of(sctx *c, dc_delta_field *f, const dc_json *md)
{
    f->metadata = md && md->type == DC_JSON_OBJECT ? md : NULL;
    f->physical_name = f->name;
    if (!f->metadata) return 0;
    const dc_json *pn = dc_json_get(md, "delta.columnMapping.physicalName");
    if (pn) {
        if (pn->type != DC_JSON_STRING) return bad(c, "delta.columnMapping.physicalName is not a string");
        f->physical_name = pn->u.str;
    }
    const dc_json *id = dc_json_get(md, "delta.columnMapping.id");
    if (id) {
        int64_t v;
        dc_err tmp;
        if (dc_json_i64(&v, id, "id", &tmp) < 0 || v < INT32_MIN || v > INT32_MAX)
            return bad(c, "delta.columnMapping.id is not a 32-bit integer");
        f->has_id = true;
        f->id = (int32_t)v;
    }
    return 0;
}

static int parse_struct_field(sctx *c, dc_delta_field *f, const dc_json *o, int depth);

static int parse_struct(sctx *c, dc_delta_field *f, const dc_json *t, int depth)
{
    const dc_json *fields = dc_json_get(t, "fields");
    if (!fields || fields->type != DC_JSON_ARRAY) return bad(c, "struct without a fields array");
    f->type = DC_TYPE_STRUCT;
    DC_TRY(alloc_children(c, f, fields->len));
    for (uint32_t i = 0; i < fields->len; i++)
        DC_TRY(parse_struct_field(c, &f->children[i], &fields->u.items[i], depth));
    return 0;
}

static int parse_nested(sctx *c, dc_delta_field *f, const dc_json *t, int depth)
{
    if (depth > DC_JSON_MAX_DEPTH) return bad(c, "nesting too deep");
    const char *kind = dc_json_str(dc_json_get(t, "type"));
    if (!kind) return bad(c, "type object without a \"type\" string");
    if (strcmp(kind, "struct") == 0) return parse_struct(c, f, t, depth + 1);
    if (strcmp(kind, "array") == 0) {
        const dc_json *et = dc_json_get(t, "elementType");
        if (!et) return bad(c, "array without elementType");
        f->type = DC_TYPE_ARRAY;
        DC_TRY(alloc_children(c, f, 1));
        dc_delta_field *e = &f->children[0];
        e->name = e->physical_name = "element";
        DC_TRY(nullable_of(t, "containsNull", &e->nullable));
        return et->type == DC_JSON_STRING ? parse_primitive(c, e, et->u.str)
                                          : parse_nested(c, e, et, depth + 1);
    }
    if (strcmp(kind, "map") == 0) {
        const dc_json *kt = dc_json_get(t, "keyType"), *vt = dc_json_get(t, "valueType");
        if (!kt || !vt) return bad(c, "map without keyType/valueType");
        f->type = DC_TYPE_MAP;
        DC_TRY(alloc_children(c, f, 2));
        dc_delta_field *k = &f->children[0], *v = &f->children[1];
        k->name = k->physical_name = "key";
        v->name = v->physical_name = "value";
        DC_TRY(nullable_of(t, "valueContainsNull", &v->nullable));
        DC_TRY(kt->type == DC_JSON_STRING ? parse_primitive(c, k, kt->u.str)
                                          : parse_nested(c, k, kt, depth + 1));
        return vt->type == DC_JSON_STRING ? parse_primitive(c, v, vt->u.str)
                                          : parse_nested(c, v, vt, depth + 1);
    }
    return dc_err_set(c->err, DC_EUNSUPPORTED, "delta schema: column '%s': type '%s' is not supported",
                      c->column ? c->column : "(root)", kind);
}

static int parse_struct_field(sctx *c, dc_delta_field *f, const dc_json *o, int depth)
{
    if (o->type != DC_JSON_OBJECT) return bad(c, "a struct field is not an object");
    const char *name = dc_json_str(dc_json_get(o, "name"));
    if (!name) return bad(c, "a struct field without a name");
    f->name = name;
    bool top = c->column == NULL;
    if (top) c->column = name;
    DC_TRY(nullable_of(o, "nullable", &f->nullable));
    DC_TRY(mapping_of(c, f, dc_json_get(o, "metadata")));
    const dc_json *t = dc_json_get(o, "type");
    int rc = !t ? bad(c, "field without a type")
             : t->type == DC_JSON_STRING ? parse_primitive(c, f, t->u.str)
             : t->type == DC_JSON_OBJECT ? parse_nested(c, f, t, depth + 1)
                                         : bad(c, "type is neither a string nor an object");
    if (top && rc == 0) c->column = NULL;
    return rc;
}

int dc_delta_schema_parse(dc_delta_schema **out, const char *text, size_t n, dc_err *err)
{
    *out = NULL;
    dc_delta_schema *s = dc_calloc(1, sizeof *s);
    if (!s) return dc_err_set(err, DC_ENOMEM, "out of memory");
    dc_arena_init(&s->arena, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    sctx c = {&s->arena, err, NULL};
    int rc = dc_json_parse(&doc, &s->arena, text, n, err);
    if (rc < 0) {
        dc_err_prefix(err, "delta schema");
        goto out;
    }
    s->root.name = s->root.physical_name = "";
    s->root.nullable = false;
    if (doc->type != DC_JSON_OBJECT || !dc_json_str(dc_json_get(doc, "type")) ||
        strcmp(dc_json_str(dc_json_get(doc, "type")), "struct") != 0) {
        rc = bad(&c, "the schema is not a struct");
        goto out;
    }
    rc = parse_struct(&c, &s->root, doc, 0);
out:
    if (rc < 0) {
        dc_delta_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void dc_delta_schema_free(dc_delta_schema *s)
{
    if (!s) return;
    dc_arena_dispose(&s->arena);
    dc_free(s);
}

const dc_delta_field *dc_delta_schema_find(const dc_delta_schema *s, const char *name)
{
    for (uint32_t i = 0; i < s->root.n_children; i++)
        if (strcmp(s->root.children[i].name, name) == 0) return &s->root.children[i];
    return NULL;
}

int dc_delta_cm_mode_of(dc_delta_cm_mode *out, const dc_delta_protocol *p,
                        const dc_delta_metadata *m, dc_err *err)
{
    *out = DC_DELTA_CM_NONE;
    bool honoured = p->min_reader_version == 2 ||
                    (p->min_reader_version >= 3 &&
                     dc_delta_protocol_has_reader_feature(p, "columnMapping"));
    if (!honoured) return 0;
    const char *mode = dc_delta_map_get(&m->configuration, "delta.columnMapping.mode", NULL);
    if (!mode || strcmp(mode, "none") == 0) return 0;
    if (strcmp(mode, "name") == 0) *out = DC_DELTA_CM_NAME;
    else if (strcmp(mode, "id") == 0) *out = DC_DELTA_CM_ID;
    else
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "delta: column mapping mode '%s' is not one of none, name, id", mode);
    return 0;
}
