/*
 * Column mapping, mode name (Delta PROTOCOL.md "Column Mapping"), as
 * deltacdc writes it: every StructField (nested ones too) carries
 * delta.columnMapping.id (unique, never reused: the table property
 * delta.columnMapping.maxColumnId is the greatest ever given) and
 * delta.columnMapping.physicalName, the name of its column in the data
 * files (dc_pq_schema_from_delta writes physical names and field ids, and
 * stats are keyed by them, as the protocol asks).
 *
 *   - A field without a physical name gets its own name as one (a new
 *     table, and every field of a table upgraded by Spark's rule), so files
 *     stay readable by name until a column is renamed.
 *   - Rename: the logical name changes in the schema only; the files keep
 *     the physical name.
 *   - Drop: the field leaves the schema; the files keep its data, which no
 *     reader looks at again (they read by physical name).
 *   - A column added later brings a physical name nobody used (the caller
 *     picks "col-<uuid>", as Spark does): re-adding a dropped column's name
 *     must not bring its old data back.
 *
 * Everything in deltacdc that reads data files by a column's name resolves
 * it with dc_delta_colmap_physical first.
 */
#include "delta_int.h"
#include "delta_write_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define CM_ID "delta.columnMapping.id"
#define CM_PHYS "delta.columnMapping.physicalName"
#define CM_MAX "delta.columnMapping.maxColumnId"

const char *dc_delta_colmap_physical(const dc_delta_schema *s, const char *logical)
{
    const dc_delta_field *f = s ? dc_delta_schema_find(s, logical) : NULL;
    return f ? f->physical_name : NULL;
}

int dc_delta_colmap_max_id(int64_t *out, const dc_delta_metadata *m, dc_err *err)
{
    bool found = false;
    const char *v = dc_delta_map_get(&m->configuration, CM_MAX, &found);
    *out = 0;
    if (!v) return 0;
    char *end = NULL;
    const long long x = strtoll(v, &end, 10);
    if (!*v || *end || x < 0 || x > INT32_MAX)
        return dc_err_set(err, DC_ECORRUPT, "table property %s is '%s', not a column id",
                          CM_MAX, v);
    *out = x;
    return 0;
}

/* ----------------------------------------------------------- rewriting */

static const dc_delta_field *by_physical(const dc_delta_schema *s, const char *phys)
{
    for (uint32_t i = 0; i < s->root.n_children; i++)
        if (strcmp(s->root.children[i].physical_name, phys) == 0) return &s->root.children[i];
    return NULL;
}

typedef struct cm_rw {
    dc_buf *out;
    int64_t *max_id;            /* the greatest id given (in and out) */
    const dc_delta_colmap_edit *edit; /* top-level renames and drops, or NULL */
    const dc_delta_schema *old; /* ids of top-level fields missing one, by physical name */
    dc_err *err;
} cm_rw;

static int put_type(cm_rw *w, const dc_json *type, int depth);

/* The edit's entry for a top-level field of this physical name, or -1. */
static int32_t edit_of(const dc_delta_colmap_edit *e, const char *physical)
{
    for (uint32_t i = 0; e && i < e->n; i++)
        if (strcmp(e->physical[i], physical) == 0) return (int32_t)i;
    return -1;
}

/* One StructField: its members as they are, the type rewritten, metadata
 * completed (an id and a physical name), the name from the edit. */
static int put_field(cm_rw *w, const dc_json *f, int depth, bool top, bool *skipped)
{
    dc_err *err = w->err;
    const char *name = dc_json_str(dc_json_get(f, "name"));
    const dc_json *type = dc_json_get(f, "type");
    const dc_json *md = dc_json_get(f, "metadata");
    if (!name || !type) return dc_err_set(err, DC_EINVAL, "column mapping: a field needs a name "
                                          "and a type");
    const char *phys = dc_json_str(dc_json_get(md, CM_PHYS));
    if (!phys) phys = name;
    const int32_t e = top ? edit_of(w->edit, phys) : -1;
    *skipped = e >= 0 && !w->edit->logical[e];
    if (*skipped) return 0;
    if (e >= 0) name = w->edit->logical[e];
    DC_TRY(dc_buf_puts(w->out, "{\"name\":", err));
    DC_TRY(dc_json_put_str(w->out, name, strlen(name), err));
    DC_TRY(dc_buf_puts(w->out, ",\"type\":", err));
    DC_TRY(put_type(w, type, depth + 1));
    for (uint32_t i = 0; f->type == DC_JSON_OBJECT && i < f->len; i++) {
        const dc_json *m = &f->u.items[i];
        if (strcmp(m->key, "name") == 0 || strcmp(m->key, "type") == 0 ||
            strcmp(m->key, "metadata") == 0)
            continue;
        DC_TRY(dc_buf_putc(w->out, ',', err));
        DC_TRY(dc_json_put_str(w->out, m->key, m->key_len, err));
        DC_TRY(dc_buf_putc(w->out, ':', err));
        DC_TRY(dc_json_write(w->out, m, err));
    }
    DC_TRY(dc_buf_puts(w->out, ",\"metadata\":{", err));
    bool any = false;
    for (uint32_t i = 0; md && md->type == DC_JSON_OBJECT && i < md->len; i++) {
        const dc_json *m = &md->u.items[i];
        if (strcmp(m->key, CM_ID) == 0 || strcmp(m->key, CM_PHYS) == 0) continue;
        if (any) DC_TRY(dc_buf_putc(w->out, ',', err));
        DC_TRY(dc_json_put_str(w->out, m->key, m->key_len, err));
        DC_TRY(dc_buf_putc(w->out, ':', err));
        DC_TRY(dc_json_write(w->out, m, err));
        any = true;
    }
    int64_t id = 0;
    const dc_json *idv = dc_json_get(md, CM_ID);
    if (idv) {
        DC_TRY(dc_json_i64(&id, idv, CM_ID, err));
        if (id < 1 || id > INT32_MAX)
            return dc_err_set(err, DC_EINVAL, "column mapping: column '%s' has id %" PRId64,
                              name, id);
    } else if (top && w->old && by_physical(w->old, phys) && by_physical(w->old, phys)->has_id) {
        id = by_physical(w->old, phys)->id; /* a column rewritten (widened) keeps its id */
    } else {
        if (*w->max_id >= INT32_MAX)
            return dc_err_set(err, DC_ELIMIT, "column mapping: no column id left");
        id = ++*w->max_id;
    }
    if (id > *w->max_id) *w->max_id = id;
    DC_TRY(dc_buf_appendf(w->out, err, "%s\"" CM_ID "\":%" PRId64 ",\"" CM_PHYS "\":",
                          any ? "," : "", id));
    DC_TRY(dc_json_put_str(w->out, phys, strlen(phys), err));
    return dc_buf_puts(w->out, "}}", err);
}

static int put_struct(cm_rw *w, const dc_json *type, int depth, bool top)
{
    dc_err *err = w->err;
    const dc_json *fields = dc_json_get(type, "fields");
    if (!fields || fields->type != DC_JSON_ARRAY)
        return dc_err_set(err, DC_EINVAL, "column mapping: a struct without fields");
    DC_TRY(dc_buf_puts(w->out, "{\"type\":\"struct\",\"fields\":[", err));
    bool first = true;
    for (uint32_t i = 0; i < fields->len; i++) {
        const size_t at = w->out->len;
        if (!first) DC_TRY(dc_buf_putc(w->out, ',', err));
        bool skipped = false;
        DC_TRY(put_field(w, &fields->u.items[i], depth, top, &skipped));
        if (skipped) w->out->len = at;
        else first = false;
    }
    return dc_buf_puts(w->out, "]}", err);
}

/* A type: structs (inside arrays and maps too) rewritten, the rest copied. */
static int put_type(cm_rw *w, const dc_json *type, int depth)
{
    dc_err *err = w->err;
    if (depth > DC_JSON_MAX_DEPTH) return dc_err_set(err, DC_ELIMIT, "column mapping: schema "
                                                     "nested too deeply");
    const char *kind = type->type == DC_JSON_OBJECT ? dc_json_str(dc_json_get(type, "type"))
                                                    : NULL;
    if (!kind) return dc_json_write(w->out, type, err);
    if (strcmp(kind, "struct") == 0) return put_struct(w, type, depth, false);
    DC_TRY(dc_buf_putc(w->out, '{', err));
    for (uint32_t i = 0; i < type->len; i++) {
        const dc_json *m = &type->u.items[i];
        if (i) DC_TRY(dc_buf_putc(w->out, ',', err));
        DC_TRY(dc_json_put_str(w->out, m->key, m->key_len, err));
        DC_TRY(dc_buf_putc(w->out, ':', err));
        const bool sub = strcmp(m->key, "elementType") == 0 || strcmp(m->key, "keyType") == 0 ||
                         strcmp(m->key, "valueType") == 0;
        DC_TRY(sub ? put_type(w, m, depth + 1) : dc_json_write(w->out, m, err));
    }
    return dc_buf_putc(w->out, '}', err);
}

int dc_delta_colmap_rewrite(dc_buf *out, int64_t *max_id, const char *schema_json,
                            const dc_delta_colmap_edit *edit, const dc_delta_schema *old,
                            dc_err *err)
{
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    int rc = dc_json_parse(&doc, &a, schema_json, strlen(schema_json), err);
    cm_rw w = {out, max_id, edit, old, err};
    dc_buf_reset(out);
    if (rc == 0) rc = put_struct(&w, doc, 0, true);
    if (rc == 0) rc = dc_buf_putc(out, '\0', err);
    if (rc == 0) out->len--; /* NUL-terminated, not counted */
    dc_arena_dispose(&a);
    if (rc < 0) dc_err_prefix(err, "column mapping");
    return rc;
}

/* ------------------------------------------------- the schema's change */

/* Unique ids and physical names among the top-level fields. */
static int check_unique(const dc_delta_schema *s, dc_err *err)
{
    const dc_delta_field *c = s->root.children;
    for (uint32_t i = 0; i < s->root.n_children; i++) {
        if (!c[i].has_id)
            return dc_err_set(err, DC_EINVAL, "column mapping: column '%s' has no id", c[i].name);
        for (uint32_t j = 0; j < i; j++)
            if (c[j].id == c[i].id || strcmp(c[j].physical_name, c[i].physical_name) == 0 ||
                strcmp(c[j].name, c[i].name) == 0)
                return dc_err_set(err, DC_EINVAL, "column mapping: columns '%s' and '%s' share "
                                  "a name, an id or a physical name", c[j].name, c[i].name);
    }
    return 0;
}

/* Old and new matched by physical name: a kept column keeps its id,
 * nullability and type (or widens when `widen`); a new one is nullable with
 * an id above the old maximum. */
static int check_mapped(const dc_delta_schema *old, const dc_delta_schema *nw, int64_t old_max,
                        bool widen, dc_err *err)
{
    DC_TRY(check_unique(nw, err));
    for (uint32_t i = 0; i < nw->root.n_children; i++) {
        const dc_delta_field *y = &nw->root.children[i];
        const dc_delta_field *x = by_physical(old, y->physical_name);
        if (!x) {
            if (!y->nullable || y->id <= old_max)
                return dc_err_set(err, DC_EINVAL, "column mapping: new column '%s' must be "
                                  "nullable with a new id (it has %d, the table's greatest is "
                                  "%" PRId64 ")", y->name, (int)y->id, old_max);
            continue;
        }
        if (x->id != y->id || x->nullable != y->nullable)
            return dc_err_set(err, DC_EINVAL, "column mapping: column '%s' (was '%s') changes "
                              "its id or nullability", y->name, x->name);
        if (x->type != y->type && !widen)
            return dc_err_set(err, DC_EINVAL, "column mapping: column '%s' changes type",
                              y->name);
    }
    return 0;
}

/* m's configuration with maxColumnId set to max (items in `a`). */
static int with_max_id(dc_delta_metadata *m, dc_arena *a, int64_t max, dc_err *err)
{
    const uint32_t n = m->configuration.n;
    dc_delta_kv *kv = dc_arena_alloc(a, (n + 1) * sizeof *kv, err);
    char *v = dc_arena_alloc(a, 24, err);
    if (!kv || !v) return DC_ENOMEM;
    snprintf(v, 24, "%" PRId64, max);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(m->configuration.items[i].key, CM_MAX) != 0) kv[k++] = m->configuration.items[i];
    kv[k++] = (dc_delta_kv){CM_MAX, v};
    m->configuration.items = kv;
    m->configuration.n = k;
    return 0;
}

int dc_delta_tx_set_schema_mapped(dc_delta_tx *tx, const char *schema_json, int64_t max_id,
                                  bool widen, dc_err *err)
{
    dc_delta_snapshot *snap = dc_delta_w_tx_snapshot(tx);
    const dc_delta_metadata *cur = dc_delta_snapshot_metadata(snap);
    dc_delta_cm_mode mode = DC_DELTA_CM_NONE;
    const dc_delta_schema *old = NULL;
    dc_delta_schema *nw = NULL;
    int64_t old_max = 0;
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    int rc = dc_delta_cm_mode_of(&mode, dc_delta_snapshot_protocol(snap), cur, err);
    if (rc == 0 && mode != DC_DELTA_CM_NAME)
        rc = dc_err_set(err, DC_EUNSUPPORTED, "renaming or dropping a column needs column "
                        "mapping mode name on the table (delta.columnMapping.mode)");
    if (rc == 0) rc = dc_delta_colmap_max_id(&old_max, cur, err);
    if (rc == 0) rc = dc_delta_snapshot_schema(&old, snap, err);
    if (rc == 0) rc = dc_delta_schema_parse(&nw, schema_json, strlen(schema_json), err);
    if (rc == 0) rc = check_mapped(old, nw, old_max, widen, err);
    if (rc == 0 && max_id < old_max)
        rc = dc_err_set(err, DC_EINVAL, "column mapping: maxColumnId would go down");
    if (rc == 0) {
        dc_delta_metadata m = *cur;
        m.schema_string = schema_json;
        rc = with_max_id(&m, &a, max_id, err);
        if (rc == 0) rc = dc_delta_w_tx_set_metadata(tx, &m, err); /* copies */
    }
    dc_delta_schema_free(nw);
    dc_arena_dispose(&a);
    return rc;
}
