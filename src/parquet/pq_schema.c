/*
 * Schemas: the Parquet flat element list <-> the logical tree of dc_pq_field
 * with definition/repetition levels, and Delta's schema JSON -> both, with
 * Spark's physical mapping.
 *
 * Reading follows the backward-compatibility rules of parquet-format's
 * LogicalTypes.md for lists and maps (2-level lists, repeated fields without
 * LIST, "array" and "<name>_tuple" element groups, MAP_KEY_VALUE).
 */
#include "parquet.h"

#include <stdio.h>
#include <stdlib.h>

/* State of one schema build. The schema's arena owns every output. */
typedef struct build {
    dc_pq_schema *s;          /* schema under construction */
    uint32_t next;            /* next element to consume (reader) */
    uint32_t n_leaves;        /* leaves assigned so far */
    uint32_t leaves_cap;      /* allocated entries of s->leaves */
    const char *path[DC_PQ_MAX_SCHEMA_DEPTH + 1]; /* names from the root's child down */
    int depth;                /* entries of path in use */
    dc_err *err;
} build;

static int schema_new(dc_pq_schema **out, dc_err *err)
{
    dc_pq_schema *s = dc_calloc(1, sizeof *s);
    if (!s) return dc_err_set(err, DC_ENOMEM, "out of memory allocating a schema");
    dc_arena_init(&s->arena, DC_PQ_MAX_FOOTER_BYTES);
    s->root.name = "";
    s->root.type = DC_TYPE_STRUCT;
    s->root.leaf = -1;
    *out = s;
    return 0;
}

void dc_pq_schema_free(dc_pq_schema *s)
{
    if (!s) return;
    dc_free(s->leaves);
    dc_arena_dispose(&s->arena);
    dc_free(s);
}

/* Records a primitive field as the next leaf. */
static int add_leaf(build *b, dc_pq_field *f, const pq_schema_element *e)
{
    dc_pq_schema *s = b->s;
    if (b->n_leaves == b->leaves_cap) {
        uint32_t cap = b->leaves_cap ? b->leaves_cap * 2 : 16;
        dc_pq_leaf *nl = dc_realloc(s->leaves, cap * sizeof *nl);
        if (!nl) return dc_err_set(b->err, DC_ENOMEM, "out of memory adding a column");
        s->leaves = nl;
        b->leaves_cap = cap;
    }
    dc_pq_leaf *l = &s->leaves[b->n_leaves];
    memset(l, 0, sizeof *l);
    l->elem = f->elem;
    l->phys = e->type;
    l->type_length = e->type_length;
    l->max_def = f->def_level;
    l->max_rep = f->rep_level;
    l->field = NULL; /* fixed up in finish(): fields may still move */
    l->n_path = (uint32_t)b->depth;
    l->path = dc_arena_alloc(&s->arena, sizeof(char *) * (size_t)(b->depth ? b->depth : 1), b->err);
    if (!l->path) return b->err->code;
    size_t total = 1;
    for (int i = 0; i < b->depth; i++) {
        l->path[i] = b->path[i];
        total += strlen(b->path[i]) + 1;
    }
    char *dotted = dc_arena_alloc(&s->arena, total, b->err);
    if (!dotted) return b->err->code;
    dotted[0] = '\0';
    for (int i = 0, off = 0; i < b->depth; i++)
        off += sprintf(dotted + off, i ? ".%s" : "%s", b->path[i]);
    l->dotted = dotted;
    bool text = l->phys == PQ_BYTE_ARRAY || l->phys == PQ_FIXED_LEN_BYTE_ARRAY;
    l->unsigned_order = (text && f->type != DC_TYPE_DECIMAL) || f->type == DC_TYPE_UINT8 ||
                        f->type == DC_TYPE_UINT16 || f->type == DC_TYPE_UINT32 ||
                        f->type == DC_TYPE_UINT64;
    f->leaf = (int32_t)b->n_leaves++;
    return 0;
}

/* Links each leaf to its field: done once the tree no longer moves. */
static void link_leaves(dc_pq_schema *s, dc_pq_field *f)
{
    if (f->leaf >= 0) s->leaves[f->leaf].field = f;
    for (uint32_t i = 0; i < f->n_children; i++) link_leaves(s, &f->children[i]);
}

/* ------------------------------------------------------ reading a file */

static int bad(build *b, uint32_t elem, const char *what)
{
    const char *name = b->s->elements[elem].name;
    return dc_err_set(b->err, DC_ECORRUPT, "parquet schema: element %u (%s): %s", elem,
                      name ? name : "?", what);
}

/* Logical type of a primitive element from its physical, logical and converted types. */
static int primitive_type(build *b, dc_pq_field *f, const pq_schema_element *e, uint32_t idx)
{
    const pq_logical_type *lt = &e->logical;
    pq_converted_type ct = e->converted_type;
    f->unit = PQ_UNIT_MICROS;
    bool dec = lt->kind == PQ_LT_DECIMAL || (lt->kind == PQ_LT_NONE && ct == PQ_CT_DECIMAL);
    if (dec) {
        f->type = DC_TYPE_DECIMAL;
        f->precision = lt->kind == PQ_LT_DECIMAL ? lt->precision : e->precision;
        f->scale = lt->kind == PQ_LT_DECIMAL ? lt->scale : e->scale;
        if (f->precision < 1 || f->scale < 0 || f->scale > f->precision)
            return bad(b, idx, "decimal with an invalid precision or scale");
        if (e->type != PQ_INT32 && e->type != PQ_INT64 && e->type != PQ_BYTE_ARRAY &&
            e->type != PQ_FIXED_LEN_BYTE_ARRAY)
            return bad(b, idx, "decimal annotation on a physical type that cannot hold it");
        return 0;
    }
    if (lt->kind == PQ_LT_UNKNOWN) {
        f->type = DC_TYPE_NULL;
        return 0;
    }
    switch (e->type) {
    case PQ_BOOLEAN: f->type = DC_TYPE_BOOLEAN; break;
    case PQ_FLOAT: f->type = DC_TYPE_FLOAT; break;
    case PQ_DOUBLE: f->type = DC_TYPE_DOUBLE; break;
    case PQ_INT96: f->type = DC_TYPE_TIMESTAMP; f->int96 = true; break;
    case PQ_INT32: {
        int bw = 32;
        bool sig = true;
        if (lt->kind == PQ_LT_INTEGER) { bw = lt->bit_width; sig = lt->is_signed; }
        else if (ct >= PQ_CT_UINT_8 && ct <= PQ_CT_UINT_32) { bw = 8 << (ct - PQ_CT_UINT_8); sig = false; }
        else if (ct >= PQ_CT_INT_8 && ct <= PQ_CT_INT_32) bw = 8 << (ct - PQ_CT_INT_8);
        if (lt->kind == PQ_LT_DATE || (lt->kind == PQ_LT_NONE && ct == PQ_CT_DATE))
            f->type = DC_TYPE_DATE;
        else if ((lt->kind == PQ_LT_TIME && lt->unit == PQ_UNIT_MILLIS) ||
                 (lt->kind == PQ_LT_NONE && ct == PQ_CT_TIME_MILLIS)) {
            f->type = DC_TYPE_TIME;
            f->unit = PQ_UNIT_MILLIS;
        } else if (bw == 8) f->type = sig ? DC_TYPE_BYTE : DC_TYPE_UINT8;
        else if (bw == 16) f->type = sig ? DC_TYPE_SHORT : DC_TYPE_UINT16;
        else f->type = sig ? DC_TYPE_INT : DC_TYPE_UINT32;
        break;
    }
    case PQ_INT64:
        if (lt->kind == PQ_LT_TIMESTAMP) {
            f->type = lt->is_adjusted_to_utc ? DC_TYPE_TIMESTAMP : DC_TYPE_TIMESTAMP_NTZ;
            f->unit = lt->unit;
        } else if (lt->kind == PQ_LT_NONE && (ct == PQ_CT_TIMESTAMP_MILLIS ||
                                              ct == PQ_CT_TIMESTAMP_MICROS)) {
            f->type = DC_TYPE_TIMESTAMP;
            f->unit = ct == PQ_CT_TIMESTAMP_MILLIS ? PQ_UNIT_MILLIS : PQ_UNIT_MICROS;
        } else if (lt->kind == PQ_LT_TIME || (lt->kind == PQ_LT_NONE && ct == PQ_CT_TIME_MICROS)) {
            f->type = DC_TYPE_TIME;
            f->unit = lt->kind == PQ_LT_TIME ? lt->unit : PQ_UNIT_MICROS;
        } else if ((lt->kind == PQ_LT_INTEGER && !lt->is_signed) ||
                   (lt->kind == PQ_LT_NONE && ct == PQ_CT_UINT_64)) {
            f->type = DC_TYPE_UINT64;
        } else {
            f->type = DC_TYPE_LONG;
        }
        break;
    case PQ_BYTE_ARRAY:
        f->type = (lt->kind == PQ_LT_STRING || lt->kind == PQ_LT_ENUM || lt->kind == PQ_LT_JSON ||
                   (lt->kind == PQ_LT_NONE &&
                    (ct == PQ_CT_UTF8 || ct == PQ_CT_ENUM || ct == PQ_CT_JSON)))
                      ? DC_TYPE_STRING : DC_TYPE_BINARY;
        break;
    case PQ_FIXED_LEN_BYTE_ARRAY:
        if (e->type_length <= 0) return bad(b, idx, "FIXED_LEN_BYTE_ARRAY without a positive type_length");
        if (lt->kind == PQ_LT_UUID && e->type_length == 16) f->type = DC_TYPE_UUID;
        else if (lt->kind == PQ_LT_FLOAT16 && e->type_length == 2) f->type = DC_TYPE_FLOAT16;
        else f->type = DC_TYPE_BINARY;
        break;
    default:
        return bad(b, idx, "unknown physical type");
    }
    return 0;
}

static int read_field(build *b, dc_pq_field *f, int16_t pdef, int16_t prep, bool as_required);

/* Children of a group element, consumed from b->next, into a fresh array. */
static int read_children(build *b, dc_pq_field *f, uint32_t idx, int16_t def, int16_t rep)
{
    const pq_schema_element *e = &b->s->elements[idx];
    if (e->num_children <= 0) return bad(b, idx, "group without children");
    if ((uint32_t)e->num_children > b->s->n_elements - b->next)
        return bad(b, idx, "num_children exceeds the remaining schema elements");
    f->n_children = (uint32_t)e->num_children;
    f->children = dc_arena_alloc(&b->s->arena, sizeof(dc_pq_field) * f->n_children, b->err);
    if (!f->children) return b->err->code;
    memset(f->children, 0, sizeof(dc_pq_field) * f->n_children);
    for (uint32_t i = 0; i < f->n_children; i++)
        DC_TRY(read_field(b, &f->children[i], def, rep, false));
    return 0;
}

static bool is_list(const pq_schema_element *e)
{
    return e->logical.kind == PQ_LT_LIST || (e->logical.kind == PQ_LT_NONE && e->converted_type == PQ_CT_LIST);
}

static bool is_map(const pq_schema_element *e)
{
    return e->logical.kind == PQ_LT_MAP ||
           (e->logical.kind == PQ_LT_NONE &&
            (e->converted_type == PQ_CT_MAP || e->converted_type == PQ_CT_MAP_KEY_VALUE));
}

/* LIST-annotated group at idx: element per the backward-compatibility rules. */
static int read_list(build *b, dc_pq_field *f, uint32_t idx)
{
    const pq_schema_element *e = &b->s->elements[idx];
    if (e->num_children != 1) return bad(b, idx, "LIST group must have exactly one child");
    uint32_t ridx = b->next;
    if (ridx >= b->s->n_elements) return bad(b, idx, "LIST group's child is missing");
    const pq_schema_element *r = &b->s->elements[ridx];
    if (!r->has_repetition || r->repetition != PQ_REPEATED)
        return bad(b, ridx, "the child of a LIST group must be repeated");
    f->type = DC_TYPE_ARRAY;
    f->n_children = 1;
    f->children = dc_arena_alloc(&b->s->arena, sizeof(dc_pq_field), b->err);
    if (!f->children) return b->err->code;
    memset(f->children, 0, sizeof(dc_pq_field));
    bool two_level = r->num_children <= 0 || r->num_children > 1 || strcmp(r->name, "array") == 0;
    if (!two_level) {
        size_t nl = strlen(e->name);
        two_level = strncmp(r->name, e->name, nl) == 0 && strcmp(r->name + nl, "_tuple") == 0;
    }
    int16_t rdef = (int16_t)(f->def_level + 1), rrep = (int16_t)(f->rep_level + 1);
    if (two_level) {
        /* the repeated node is the element itself, required */
        DC_TRY(read_field(b, &f->children[0], f->def_level, f->rep_level, true));
        DC_ASSERT(f->children[0].def_level == rdef && f->children[0].rep_level == rrep);
        return 0;
    }
    b->next++; /* the repeated group, then its only child is the element */
    if (b->depth >= DC_PQ_MAX_SCHEMA_DEPTH) return bad(b, ridx, "schema nested too deeply");
    b->path[b->depth++] = r->name;
    DC_TRY(read_field(b, &f->children[0], rdef, rrep, false));
    b->depth--;
    return 0;
}

/* MAP/MAP_KEY_VALUE group at idx: repeated key_value group of key and value. */
static int read_map(build *b, dc_pq_field *f, uint32_t idx)
{
    const pq_schema_element *e = &b->s->elements[idx];
    if (e->num_children != 1) return bad(b, idx, "MAP group must have exactly one child");
    uint32_t kidx = b->next;
    if (kidx >= b->s->n_elements) return bad(b, idx, "MAP group's child is missing");
    const pq_schema_element *kv = &b->s->elements[kidx];
    if (!kv->has_repetition || kv->repetition != PQ_REPEATED || kv->num_children < 1 ||
        kv->num_children > 2)
        return bad(b, kidx, "the child of a MAP group must be a repeated group of key and value");
    b->next++;
    if (b->depth >= DC_PQ_MAX_SCHEMA_DEPTH) return bad(b, kidx, "schema nested too deeply");
    b->path[b->depth++] = kv->name;
    f->type = DC_TYPE_MAP;
    dc_pq_field tmp = {0};
    tmp.elem = kidx;
    DC_TRY(read_children(b, &tmp, kidx, (int16_t)(f->def_level + 1), (int16_t)(f->rep_level + 1)));
    b->depth--;
    if (tmp.n_children == 1) {
        /* map without values (map_no_value.parquet): an array of its keys, like pyarrow */
        f->type = DC_TYPE_ARRAY;
        f->n_children = 1;
        f->children = tmp.children;
        f->children[0].name = "element";
        return 0;
    }
    f->n_children = 2;
    f->children = tmp.children;
    f->children[0].name = "key";
    f->children[1].name = "value";
    return 0;
}

/* Builds the field for the element at b->next at a struct-member position. */
static int read_field(build *b, dc_pq_field *f, int16_t pdef, int16_t prep, bool as_required)
{
    dc_pq_schema *s = b->s;
    if (b->next >= s->n_elements)
        return dc_err_set(b->err, DC_ECORRUPT, "parquet schema: fewer elements than num_children promise");
    uint32_t idx = b->next++;
    const pq_schema_element *e = &s->elements[idx];
    if (!e->has_repetition) return bad(b, idx, "missing repetition_type");
    if (b->depth >= DC_PQ_MAX_SCHEMA_DEPTH) return bad(b, idx, "schema nested too deeply");
    b->path[b->depth++] = e->name;
    f->name = e->name;
    f->elem = idx;
    f->leaf = -1;
    f->has_field_id = e->has_field_id;
    f->field_id = e->field_id;
    bool group = e->num_children > 0 || !e->has_type;
    if (e->repetition == PQ_REPEATED && !as_required) {
        /* legacy: a repeated field outside LIST is a required list of it */
        f->type = DC_TYPE_ARRAY;
        f->nullable = false;
        f->def_level = pdef;
        f->rep_level = prep;
        f->n_children = 1;
        f->children = dc_arena_alloc(&s->arena, sizeof(dc_pq_field), b->err);
        if (!f->children) return b->err->code;
        memset(f->children, 0, sizeof(dc_pq_field));
        b->next = idx;
        b->depth--;
        /* the element is this same node read as required: one def and rep deeper */
        return read_field(b, &f->children[0], pdef, prep, true);
    }
    bool optional = e->repetition == PQ_OPTIONAL && !as_required;
    f->nullable = optional;
    f->def_level = (int16_t)(pdef + (optional ? 1 : 0) + (as_required && e->repetition == PQ_REPEATED));
    f->rep_level = (int16_t)(prep + (as_required && e->repetition == PQ_REPEATED));
    if (f->def_level > DC_PQ_MAX_LEVEL - 2) return bad(b, idx, "too many nesting levels");
    int rc;
    if (!group) {
        rc = primitive_type(b, f, e, idx);
        if (rc == 0) rc = add_leaf(b, f, e);
    } else if (is_list(e)) {
        rc = read_list(b, f, idx);
    } else if (is_map(e)) {
        rc = read_map(b, f, idx);
    } else {
        f->type = DC_TYPE_STRUCT;
        rc = read_children(b, f, idx, f->def_level, f->rep_level);
    }
    b->depth--;
    return rc;
}

/* Copies the elements (names into the arena) and checks the root. */
static int copy_elements(dc_pq_schema *s, const pq_schema_element *elems, uint32_t n, dc_err *err)
{
    if (n == 0) return dc_err_set(err, DC_ECORRUPT, "parquet schema: no elements");
    if (n > DC_PQ_MAX_SCHEMA_ELEMENTS)
        return dc_err_set(err, DC_ELIMIT, "parquet schema: %u elements exceed the limit of %d", n,
                          DC_PQ_MAX_SCHEMA_ELEMENTS);
    s->elements = dc_arena_alloc(&s->arena, sizeof *elems * n, err);
    if (!s->elements) return err->code;
    memcpy(s->elements, elems, sizeof *elems * n);
    s->n_elements = n;
    for (uint32_t i = 0; i < n; i++) {
        const char *nm = elems[i].name ? elems[i].name : "";
        if (!(s->elements[i].name = dc_arena_strndup(&s->arena, nm, strlen(nm), err)))
            return err->code;
    }
    return 0;
}

int dc_pq_schema_from_elements(dc_pq_schema **out, const pq_schema_element *elems, uint32_t n,
                               dc_err *err)
{
    dc_pq_schema *s = NULL;
    int rc = schema_new(&s, err);
    if (rc < 0) return rc;
    build b = {.s = s, .err = err};
    if ((rc = copy_elements(s, elems, n, err)) < 0) goto out;
    const pq_schema_element *root = &s->elements[0];
    if (root->num_children < 0 || (root->has_type && root->num_children == 0 && n > 1)) {
        rc = dc_err_set(err, DC_ECORRUPT, "parquet schema: the root element is not a group");
        goto out;
    }
    b.next = 1;
    s->root.elem = 0;
    if (root->num_children > 0 &&
        (rc = read_children(&b, &s->root, 0, 0, 0)) < 0)
        goto out;
    if (b.next != n) {
        rc = dc_err_set(err, DC_ECORRUPT, "parquet schema: %u elements but the tree uses %u", n,
                        b.next);
        goto out;
    }
    s->n_leaves = b.n_leaves;
    link_leaves(s, &s->root);
out:
    if (rc < 0) {
        dc_pq_schema_free(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

/* ------------------------------------------------- Delta schema JSON */

/* Growable element list used while building from Delta JSON. */
typedef struct delta_build {
    build b;                  /* shared state (leaves, path, schema) */
    pq_schema_element *elems; /* dc_realloc'd; copied into the arena at the end */
    uint32_t n, cap;
} delta_build;

static int push_elem(delta_build *d, uint32_t *idx_out, const char *name, pq_repetition rep)
{
    if (d->n == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 32;
        if (cap > DC_PQ_MAX_SCHEMA_ELEMENTS)
            return dc_err_set(d->b.err, DC_ELIMIT, "delta schema: more than %d Parquet elements",
                              DC_PQ_MAX_SCHEMA_ELEMENTS);
        pq_schema_element *ne = dc_realloc(d->elems, cap * sizeof *ne);
        if (!ne) return dc_err_set(d->b.err, DC_ENOMEM, "out of memory building a schema");
        d->elems = ne;
        d->cap = cap;
    }
    pq_schema_element *e = &d->elems[d->n];
    memset(e, 0, sizeof *e);
    e->name = name;
    e->has_repetition = true;
    e->repetition = rep;
    e->converted_type = PQ_CT_NONE;
    *idx_out = d->n++;
    return 0;
}

static int delta_bad(delta_build *d, const char *what, const char *name)
{
    return dc_err_set(d->b.err, DC_EINVAL, "delta schema: field '%s': %s", name, what);
}

/* Smallest FLBA width holding a decimal of `precision` digits (Spark's minBytesForPrecision). */
static int32_t decimal_bytes(int32_t precision)
{
    /* smallest n with 10^precision <= 2^(8n-1); precision <= 38 fits 128 bits */
    unsigned __int128 lim = 1;
    for (int i = 0; i < precision; i++) lim *= 10;
    int32_t n = 1;
    while (n < 16 && lim > ((unsigned __int128)1 << (8 * n - 1))) n++;
    return n;
}

/* Fills element and field for a primitive Delta type name. */
static int delta_primitive(delta_build *d, dc_pq_field *f, pq_schema_element *e, const char *t,
                           const char *name)
{
    f->unit = PQ_UNIT_MICROS;
    e->has_type = true;
    int p = 0, sc = 0, nread = 0;
    if (strcmp(t, "boolean") == 0) { f->type = DC_TYPE_BOOLEAN; e->type = PQ_BOOLEAN; }
    else if (strcmp(t, "byte") == 0 || strcmp(t, "short") == 0) {
        bool byte = t[0] == 'b';
        f->type = byte ? DC_TYPE_BYTE : DC_TYPE_SHORT;
        e->type = PQ_INT32;
        e->converted_type = byte ? PQ_CT_INT_8 : PQ_CT_INT_16;
        e->logical = (pq_logical_type){.kind = PQ_LT_INTEGER, .bit_width = byte ? 8 : 16,
                                       .is_signed = true};
    } else if (strcmp(t, "integer") == 0) { f->type = DC_TYPE_INT; e->type = PQ_INT32; }
    else if (strcmp(t, "long") == 0) { f->type = DC_TYPE_LONG; e->type = PQ_INT64; }
    else if (strcmp(t, "float") == 0) { f->type = DC_TYPE_FLOAT; e->type = PQ_FLOAT; }
    else if (strcmp(t, "double") == 0) { f->type = DC_TYPE_DOUBLE; e->type = PQ_DOUBLE; }
    else if (strcmp(t, "string") == 0) {
        f->type = DC_TYPE_STRING;
        e->type = PQ_BYTE_ARRAY;
        e->converted_type = PQ_CT_UTF8;
        e->logical.kind = PQ_LT_STRING;
    } else if (strcmp(t, "binary") == 0) { f->type = DC_TYPE_BINARY; e->type = PQ_BYTE_ARRAY; }
    else if (strcmp(t, "date") == 0) {
        f->type = DC_TYPE_DATE;
        e->type = PQ_INT32;
        e->converted_type = PQ_CT_DATE;
        e->logical.kind = PQ_LT_DATE;
    } else if (strcmp(t, "timestamp") == 0 || strcmp(t, "timestamp_ntz") == 0) {
        bool utc = t[9] == '\0';
        f->type = utc ? DC_TYPE_TIMESTAMP : DC_TYPE_TIMESTAMP_NTZ;
        e->type = PQ_INT64;
        e->converted_type = utc ? PQ_CT_TIMESTAMP_MICROS : PQ_CT_NONE;
        e->logical = (pq_logical_type){.kind = PQ_LT_TIMESTAMP, .is_adjusted_to_utc = utc,
                                       .unit = PQ_UNIT_MICROS};
    } else if (strcmp(t, "decimal") == 0 ||
               (sscanf(t, "decimal(%d ,%d )%n", &p, &sc, &nread) == 2 && t[nread] == '\0')) {
        if (strcmp(t, "decimal") == 0) { p = 10; sc = 0; }
        if (p < 1 || p > 38 || sc < 0 || sc > p)
            return delta_bad(d, "decimal precision must be 1..38 and scale 0..precision", name);
        f->type = DC_TYPE_DECIMAL;
        f->precision = p;
        f->scale = sc;
        e->type = p <= 9 ? PQ_INT32 : p <= 18 ? PQ_INT64 : PQ_FIXED_LEN_BYTE_ARRAY;
        if (e->type == PQ_FIXED_LEN_BYTE_ARRAY) e->type_length = decimal_bytes(p);
        e->converted_type = PQ_CT_DECIMAL;
        e->has_precision = e->has_scale = true;
        e->precision = p;
        e->scale = sc;
        e->logical = (pq_logical_type){.kind = PQ_LT_DECIMAL, .precision = p, .scale = sc};
    } else {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown type \"%.100s\"", t);
        return delta_bad(d, msg, name);
    }
    return 0;
}

static int delta_field(delta_build *d, dc_pq_field *f, const char *name, const dc_json *type,
                       bool nullable, const dc_json *meta, int16_t pdef, int16_t prep);

/* An optional boolean member: absent means true (Spark's default). */
static int get_bool(delta_build *d, bool *out, const dc_json *v, const char *key, const char *name)
{
    if (!v || v->type == DC_JSON_TRUE) *out = true;
    else if (v->type == DC_JSON_FALSE) *out = false;
    else {
        char msg[96];
        snprintf(msg, sizeof msg, "\"%s\" must be true or false", key);
        return delta_bad(d, msg, name);
    }
    return 0;
}

/* Adds one child field from a Delta field object {"name","type","nullable","metadata"}. */
static int delta_member(delta_build *d, dc_pq_field *f, const dc_json *fo, int16_t pdef,
                        int16_t prep)
{
    const char *name = dc_json_str(dc_json_get(fo, "name"));
    const dc_json *type = dc_json_get(fo, "type");
    const dc_json *nul = dc_json_get(fo, "nullable");
    if (fo->type != DC_JSON_OBJECT || !name || !type)
        return dc_err_set(d->b.err, DC_EINVAL,
                          "delta schema: a field needs a string \"name\" and a \"type\"");
    bool nullable = true;
    DC_TRY(get_bool(d, &nullable, nul, "nullable", name));
    return delta_field(d, f, name, type, nullable, dc_json_get(fo, "metadata"), pdef, prep);
}

/* Allocates n zeroed children for f. */
static int alloc_children(delta_build *d, dc_pq_field *f, uint32_t n)
{
    f->n_children = n;
    f->children = dc_arena_alloc(&d->b.s->arena, sizeof(dc_pq_field) * (n ? n : 1), d->b.err);
    if (!f->children) return d->b.err->code;
    memset(f->children, 0, sizeof(dc_pq_field) * (n ? n : 1));
    return 0;
}

/* Pushes a repeated middle group ("list" or "key_value") with n children. */
static int push_repeated(delta_build *d, const char *name, int32_t n)
{
    uint32_t idx;
    DC_TRY(push_elem(d, &idx, name, PQ_REPEATED));
    d->elems[idx].num_children = n;
    return 0;
}

static int delta_nested(delta_build *d, dc_pq_field *f, uint32_t idx, const char *kind,
                        const dc_json *type)
{
    int16_t def = f->def_level, rep = f->rep_level;
    if (strcmp(kind, "struct") == 0) {
        const dc_json *fields = dc_json_get(type, "fields");
        if (!fields || fields->type != DC_JSON_ARRAY || fields->len == 0)
            return delta_bad(d, "struct needs a non-empty \"fields\" array", f->name);
        f->type = DC_TYPE_STRUCT;
        d->elems[idx].num_children = (int32_t)fields->len;
        DC_TRY(alloc_children(d, f, fields->len));
        for (uint32_t i = 0; i < fields->len; i++)
            DC_TRY(delta_member(d, &f->children[i], &fields->u.items[i], def, rep));
        return 0;
    }
    bool is_arr = strcmp(kind, "array") == 0;
    if (!is_arr && strcmp(kind, "map") != 0) return delta_bad(d, "unknown nested type", f->name);
    d->elems[idx].num_children = 1;
    d->elems[idx].converted_type = is_arr ? PQ_CT_LIST : PQ_CT_MAP;
    d->elems[idx].logical.kind = is_arr ? PQ_LT_LIST : PQ_LT_MAP;
    f->type = is_arr ? DC_TYPE_ARRAY : DC_TYPE_MAP;
    DC_TRY(push_repeated(d, is_arr ? "list" : "key_value", is_arr ? 1 : 2));
    d->b.path[d->b.depth++] = is_arr ? "list" : "key_value";
    DC_TRY(alloc_children(d, f, is_arr ? 1 : 2));
    int16_t cdef = (int16_t)(def + 1), crep = (int16_t)(rep + 1);
    if (is_arr) {
        const dc_json *et = dc_json_get(type, "elementType"), *cn = dc_json_get(type, "containsNull");
        if (!et) return delta_bad(d, "array needs \"elementType\"", f->name);
        bool en = true;
        DC_TRY(get_bool(d, &en, cn, "containsNull", f->name));
        DC_TRY(delta_field(d, &f->children[0], "element", et, en, NULL, cdef, crep));
    } else {
        const dc_json *kt = dc_json_get(type, "keyType"), *vt = dc_json_get(type, "valueType");
        const dc_json *vn = dc_json_get(type, "valueContainsNull");
        if (!kt || !vt) return delta_bad(d, "map needs \"keyType\" and \"valueType\"", f->name);
        bool vnull = true;
        DC_TRY(get_bool(d, &vnull, vn, "valueContainsNull", f->name));
        DC_TRY(delta_field(d, &f->children[0], "key", kt, false, NULL, cdef, crep));
        DC_TRY(delta_field(d, &f->children[1], "value", vt, vnull, NULL, cdef, crep));
    }
    d->b.depth--;
    return 0;
}

static int delta_field(delta_build *d, dc_pq_field *f, const char *name, const dc_json *type,
                       bool nullable, const dc_json *meta, int16_t pdef, int16_t prep)
{
    dc_err *err = d->b.err;
    const dc_json *phys = dc_json_get(meta, "delta.columnMapping.physicalName");
    const dc_json *id = dc_json_get(meta, "delta.columnMapping.id");
    const char *pname = dc_json_str(phys) ? dc_json_str(phys) : name;
    if (!(pname = dc_arena_strndup(&d->b.s->arena, pname, strlen(pname), err))) return err->code;
    if (d->b.depth >= DC_PQ_MAX_SCHEMA_DEPTH - 2) return delta_bad(d, "nested too deeply", name);
    uint32_t idx;
    DC_TRY(push_elem(d, &idx, pname, nullable ? PQ_OPTIONAL : PQ_REQUIRED));
    f->name = pname;
    f->elem = idx;
    f->leaf = -1;
    f->nullable = nullable;
    f->def_level = (int16_t)(pdef + (nullable ? 1 : 0));
    f->rep_level = prep;
    if (id) {
        int64_t v;
        DC_TRY(dc_json_i64(&v, id, "delta.columnMapping.id", err));
        if (v < INT32_MIN || v > INT32_MAX) return delta_bad(d, "column mapping id out of range", name);
        f->has_field_id = d->elems[idx].has_field_id = true;
        f->field_id = d->elems[idx].field_id = (int32_t)v;
    }
    d->b.path[d->b.depth++] = pname;
    int rc;
    if (type->type == DC_JSON_STRING) {
        rc = delta_primitive(d, f, &d->elems[idx], type->u.str, name);
        if (rc == 0) rc = add_leaf(&d->b, f, &d->elems[idx]);
    } else if (type->type == DC_JSON_OBJECT && dc_json_str(dc_json_get(type, "type"))) {
        rc = delta_nested(d, f, idx, dc_json_str(dc_json_get(type, "type")), type);
    } else {
        rc = delta_bad(d, "\"type\" must be a type name or a struct/array/map object", name);
    }
    d->b.depth--;
    return rc;
}

int dc_pq_schema_from_delta(dc_pq_schema **out, const dc_json *schema, dc_err *err)
{
    dc_pq_schema *s = NULL;
    delta_build d = {0};
    int rc = schema_new(&s, err);
    if (rc < 0) return rc;
    d.b.s = s;
    d.b.err = err;
    const dc_json *fields = dc_json_get(schema, "fields");
    if (!schema || schema->type != DC_JSON_OBJECT ||
        !dc_json_str(dc_json_get(schema, "type")) ||
        strcmp(dc_json_str(dc_json_get(schema, "type")), "struct") != 0 || !fields ||
        fields->type != DC_JSON_ARRAY) {
        rc = dc_err_set(err, DC_EINVAL,
                        "delta schema: expected {\"type\":\"struct\",\"fields\":[...]}");
        goto out;
    }
    uint32_t root;
    if ((rc = push_elem(&d, &root, "spark_schema", PQ_REQUIRED)) < 0) goto out;
    d.elems[root].has_repetition = false;
    d.elems[root].num_children = (int32_t)fields->len;
    if ((rc = alloc_children(&d, &s->root, fields->len)) < 0) goto out;
    for (uint32_t i = 0; i < fields->len; i++)
        if ((rc = delta_member(&d, &s->root.children[i], &fields->u.items[i], 0, 0)) < 0) goto out;
    if ((rc = copy_elements(s, d.elems, d.n, err)) < 0) goto out;
    /* names in the elements now point at arena copies; fields keep their own */
    s->n_leaves = d.b.n_leaves;
    link_leaves(s, &s->root);
out:
    dc_free(d.elems);
    if (rc < 0) {
        dc_pq_schema_free(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

/* --------------------------------------------------- to Delta JSON */

static int put_type(dc_buf *out, const dc_pq_field *f, dc_err *err);

static int put_field(dc_buf *out, const dc_pq_field *f, dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "{\"name\":", err));
    DC_TRY(dc_json_put_str(out, f->name, strlen(f->name), err));
    DC_TRY(dc_buf_puts(out, ",\"type\":", err));
    DC_TRY(put_type(out, f, err));
    DC_TRY(dc_buf_appendf(out, err, ",\"nullable\":%s,\"metadata\":{", f->nullable ? "true" : "false"));
    if (f->has_field_id)
        DC_TRY(dc_buf_appendf(out, err, "\"parquet.field.id\":%d", f->field_id));
    return dc_buf_puts(out, "}}", err);
}

static const char *primitive_name(const dc_pq_field *f)
{
    switch (f->type) {
    case DC_TYPE_BOOLEAN: return "boolean";
    case DC_TYPE_BYTE: return "byte";
    case DC_TYPE_SHORT: case DC_TYPE_UINT8: return "short";
    case DC_TYPE_INT: case DC_TYPE_UINT16: return "integer";
    case DC_TYPE_LONG: case DC_TYPE_UINT32: case DC_TYPE_TIME: return "long";
    case DC_TYPE_FLOAT: case DC_TYPE_FLOAT16: return "float";
    case DC_TYPE_DOUBLE: return "double";
    case DC_TYPE_STRING: case DC_TYPE_UUID: return "string";
    case DC_TYPE_BINARY: return "binary";
    case DC_TYPE_DATE: return "date";
    case DC_TYPE_TIMESTAMP: return "timestamp";
    case DC_TYPE_TIMESTAMP_NTZ: return "timestamp_ntz";
    case DC_TYPE_NULL: return "void";
    default: return NULL;
    }
}

static int put_type(dc_buf *out, const dc_pq_field *f, dc_err *err)
{
    switch (f->type) {
    case DC_TYPE_DECIMAL:
        return dc_buf_appendf(out, err, "\"decimal(%d,%d)\"", f->precision, f->scale);
    case DC_TYPE_UINT64:
        return dc_buf_puts(out, "\"decimal(20,0)\"", err); /* Spark's reading of UINT64 */
    case DC_TYPE_STRUCT:
        DC_TRY(dc_buf_puts(out, "{\"type\":\"struct\",\"fields\":[", err));
        for (uint32_t i = 0; i < f->n_children; i++) {
            if (i) DC_TRY(dc_buf_putc(out, ',', err));
            DC_TRY(put_field(out, &f->children[i], err));
        }
        return dc_buf_puts(out, "]}", err);
    case DC_TYPE_ARRAY:
        DC_TRY(dc_buf_puts(out, "{\"type\":\"array\",\"elementType\":", err));
        DC_TRY(put_type(out, &f->children[0], err));
        return dc_buf_appendf(out, err, ",\"containsNull\":%s}",
                              f->children[0].nullable ? "true" : "false");
    case DC_TYPE_MAP:
        DC_TRY(dc_buf_puts(out, "{\"type\":\"map\",\"keyType\":", err));
        DC_TRY(put_type(out, &f->children[0], err));
        DC_TRY(dc_buf_puts(out, ",\"valueType\":", err));
        DC_TRY(put_type(out, &f->children[1], err));
        return dc_buf_appendf(out, err, ",\"valueContainsNull\":%s}",
                              f->children[1].nullable ? "true" : "false");
    default:
        return dc_buf_appendf(out, err, "\"%s\"", primitive_name(f));
    }
}

int dc_pq_schema_to_delta_json(dc_buf *out, const dc_pq_schema *s, dc_err *err)
{
    return put_type(out, &s->root, err);
}
