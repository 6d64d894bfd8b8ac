/*
 * Dremel shredding of JSON rows: walks the logical tree (dc_pq_field) and a
 * JSON object together and appends definition/repetition levels and values to
 * each leaf's column buffer. A row that fails (type mismatch, null in a
 * required field, unknown member) is rolled back so no partial levels remain.
 *
 * Levels: a present field reaches its def_level; a null optional field gives
 * every leaf below it def_level - 1; an empty array/map gives its leaves the
 * array's own def_level (present, no element). The first leaf entry of a
 * value repeats at the level its caller passes; later elements of an array
 * repeat at the element's rep_level.
 */
#include "pq_wr_int.h"

#include <stdio.h>

/* --------------------------------------------------------------- paths */

static void path_push(dc_pq_writer *w, const char *name, int64_t index, const char *key,
                      uint32_t key_len)
{
    DC_ASSERT(w->depth < (int)(sizeof w->path / sizeof w->path[0]));
    w->path[w->depth++] = (pq_wr_frame){.name = name, .index = index, .key = key,
                                        .key_len = key_len};
}

/* "a.b[3].c" or m["key"] into buf. */
static void path_format(const dc_pq_writer *w, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < w->depth && n + 1 < cap; i++) {
        const pq_wr_frame *f = &w->path[i];
        int k;
        if (f->name)
            k = snprintf(buf + n, cap - n, "%s%s", n ? "." : "", f->name);
        else if (f->key)
            k = snprintf(buf + n, cap - n, "[\"%.*s\"]", f->key_len > 40 ? 40 : (int)f->key_len,
                         f->key);
        else
            k = snprintf(buf + n, cap - n, "[%lld]", (long long)f->index);
        if (k < 0) break;
        n += (size_t)k;
    }
    if (n >= cap) n = cap - 1;
    buf[n] = '\0';
}

static int fail_at(dc_pq_writer *w, dc_err *err)
{
    char p[512];
    path_format(w, p, sizeof p);
    dc_err_prefix(err, "field %s", p[0] ? p : "(row)");
    return err ? err->code : DC_EINVAL;
}

/* ------------------------------------------------------------- columns */

int pq_wr_push_levels(dc_pq_writer *w, const dc_pq_leaf *leaf, int16_t def, int16_t rep,
                      dc_err *err)
{
    dc_pq_column *c = &w->cols[leaf - w->schema->leaves];
    if (c->n_levels == c->levels_cap)
        DC_TRY(pq_wr_col_reserve_levels(c, leaf, 1, err));
    if (leaf->max_def > 0) c->def[c->n_levels] = def;
    if (leaf->max_rep > 0) c->rep[c->n_levels] = rep;
    c->n_levels++;
    return 0;
}

int pq_wr_push_nulls(dc_pq_writer *w, const dc_pq_field *f, int16_t def, int16_t rep,
                     dc_err *err)
{
    if (f->leaf >= 0) return pq_wr_push_levels(w, &w->schema->leaves[f->leaf], def, rep, err);
    for (uint32_t i = 0; i < f->n_children; i++)
        DC_TRY(pq_wr_push_nulls(w, &f->children[i], def, rep, err));
    return 0;
}

static int shred(dc_pq_writer *w, const dc_pq_field *f, const dc_json *v, int16_t rep,
                 dc_err *err);

int pq_wr_shred_leaf(dc_pq_writer *w, const dc_pq_field *f, const dc_json *v, int16_t rep,
                      dc_err *err)
{
    const dc_pq_leaf *leaf = &w->schema->leaves[f->leaf];
    dc_pq_column *c = &w->cols[f->leaf];
    size_t before = c->values.len;
    int rc = pq_wr_json_value(c, leaf, v, err);
    if (rc < 0) {
        c->values.len = before;
        return rc == DC_ENOMEM || rc == DC_ELIMIT ? rc : fail_at(w, err);
    }
    /* Byte-array pushes count their value themselves (offsets in step). */
    if (leaf->phys != PQ_BYTE_ARRAY) c->n_values++;
    w->rg_bytes += c->values.len - before;
    return pq_wr_push_levels(w, leaf, f->def_level, rep, err);
}

/* ------------------------------------------------------------- structs */

/* name (NUL-terminated) equals key[0..n) (which may hold NUL bytes). */
static bool name_eq(const char *name, const char *key, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (name[i] != key[i] || name[i] == '\0') return false;
    return name[n] == '\0';
}

/* Members usually come in schema order: start looking at `hint`. */
static int find_child(const dc_pq_field *f, const char *key, uint32_t key_len, uint32_t hint)
{
    for (uint32_t k = 0; k < f->n_children; k++) {
        uint32_t i = hint + k < f->n_children ? hint + k : hint + k - f->n_children;
        if (name_eq(f->children[i].name, key, key_len)) return (int)i;
    }
    return -1;
}

static int shred_struct(dc_pq_writer *w, const dc_pq_field *f, const dc_json *v, int16_t rep,
                        dc_err *err)
{
    if (v->type != DC_JSON_OBJECT) {
        dc_err_set(err, DC_EINVAL, "expected an object (struct), got %s",
                   v->type == DC_JSON_ARRAY ? "an array" : "a scalar");
        return fail_at(w, err);
    }
    /* Member-seen flags on a stack (offsets, not pointers: it may move). */
    size_t base = w->seen.len;
    DC_TRY(dc_buf_reserve(&w->seen, f->n_children, err));
    if (f->n_children) memset(w->seen.data + base, 0, f->n_children);
    w->seen.len += f->n_children;
    int rc = 0;
    uint32_t hint = 0;
    for (uint32_t m = 0; m < v->len && rc == 0; m++) {
        const dc_json *mem = &v->u.items[m];
        int i = find_child(f, mem->key, mem->key_len, hint);
        if (i < 0 || w->seen.data[base + (size_t)i]) {
            char name[96];
            snprintf(name, sizeof name, "%.*s", mem->key_len > 80 ? 80 : (int)mem->key_len,
                     mem->key);
            path_push(w, name, 0, NULL, 0);
            dc_err_set(err, DC_EINVAL, "%s", i < 0 ? "unknown field (not in the schema)"
                                                   : "duplicate member in the object");
            rc = fail_at(w, err);
            w->depth--;
            break;
        }
        w->seen.data[base + (size_t)i] = 1;
        hint = (uint32_t)i + 1;
        path_push(w, f->children[i].name, 0, NULL, 0);
        rc = shred(w, &f->children[i], mem, rep, err);
        w->depth--;
    }
    for (uint32_t i = 0; i < f->n_children && rc == 0; i++) {
        if (w->seen.data[base + i]) continue;
        path_push(w, f->children[i].name, 0, NULL, 0);
        rc = shred(w, &f->children[i], NULL, rep, err);
        w->depth--;
    }
    w->seen.len = base;
    return rc;
}

/* -------------------------------------------------------------- arrays */

static int shred_array(dc_pq_writer *w, const dc_pq_field *f, const dc_json *v, int16_t rep,
                       dc_err *err)
{
    if (v->type != DC_JSON_ARRAY) {
        dc_err_set(err, DC_EINVAL, "expected an array, got %s",
                   v->type == DC_JSON_OBJECT ? "an object" : "a scalar");
        return fail_at(w, err);
    }
    DC_ASSERT(f->n_children == 1);
    const dc_pq_field *el = &f->children[0];
    if (v->len == 0) return pq_wr_push_nulls(w, el, f->def_level, rep, err);
    for (uint32_t i = 0; i < v->len; i++) {
        path_push(w, NULL, i, NULL, 0);
        int rc = shred(w, el, &v->u.items[i], i == 0 ? rep : el->rep_level, err);
        w->depth--;
        if (rc < 0) return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- maps */

/* One entry; key_node is the JSON key (a string node made up for the object
 * form, or the "key" member). */
static int shred_entry(dc_pq_writer *w, const dc_pq_field *f, const dc_json *key,
                       const dc_json *val, int16_t rep, dc_err *err)
{
    const dc_pq_field *kf = &f->children[0], *vf = &f->children[1];
    if (!key || key->type == DC_JSON_NULL) {
        dc_err_set(err, DC_EINVAL, "map key is null (map keys must not be null)");
        return fail_at(w, err);
    }
    path_push(w, "key", 0, NULL, 0);
    int rc = shred(w, kf, key, rep, err);
    w->depth--;
    if (rc < 0) return rc;
    path_push(w, "value", 0, NULL, 0);
    rc = shred(w, vf, val, rep, err);
    w->depth--;
    return rc;
}

static int shred_map_array(dc_pq_writer *w, const dc_pq_field *f, const dc_json *v,
                           int16_t rep, dc_err *err)
{
    const int16_t erep = f->children[0].rep_level;
    for (uint32_t i = 0; i < v->len; i++) {
        const dc_json *e = &v->u.items[i];
        path_push(w, NULL, i, NULL, 0);
        int rc = 0;
        if (e->type != DC_JSON_OBJECT) {
            dc_err_set(err, DC_EINVAL, "expected a {\"key\":...,\"value\":...} object");
            rc = fail_at(w, err);
        }
        for (uint32_t m = 0; rc == 0 && m < e->len; m++) {
            const dc_json *mem = &e->u.items[m];
            if (strcmp(mem->key, "key") != 0 && strcmp(mem->key, "value") != 0) {
                dc_err_set(err, DC_EINVAL, "unknown member \"%.*s\" in a map entry (only key "
                           "and value)", mem->key_len > 80 ? 80 : (int)mem->key_len, mem->key);
                rc = fail_at(w, err);
            }
        }
        if (rc == 0)
            rc = shred_entry(w, f, dc_json_get(e, "key"), dc_json_get(e, "value"),
                             i == 0 ? rep : erep, err);
        w->depth--;
        if (rc < 0) return rc;
    }
    return 0;
}

static int shred_map_object(dc_pq_writer *w, const dc_pq_field *f, const dc_json *v,
                            int16_t rep, dc_err *err)
{
    const dc_pq_field *kf = &f->children[0];
    if (kf->type != DC_TYPE_STRING) {
        dc_err_set(err, DC_EINVAL, "a map with non-string keys must be an array of "
                   "{\"key\":...,\"value\":...} objects");
        return fail_at(w, err);
    }
    const int16_t erep = kf->rep_level;
    for (uint32_t i = 0; i < v->len; i++) {
        const dc_json *mem = &v->u.items[i];
        dc_json key = {.type = DC_JSON_STRING, .len = mem->key_len, .u.str = mem->key};
        path_push(w, NULL, i, mem->key, mem->key_len);
        int rc = shred_entry(w, f, &key, mem, i == 0 ? rep : erep, err);
        w->depth--;
        if (rc < 0) return rc;
    }
    return 0;
}

static int shred_map(dc_pq_writer *w, const dc_pq_field *f, const dc_json *v, int16_t rep,
                     dc_err *err)
{
    DC_ASSERT(f->n_children == 2);
    if (v->type != DC_JSON_ARRAY && v->type != DC_JSON_OBJECT) {
        dc_err_set(err, DC_EINVAL, "expected a map (an array of {\"key\",\"value\"} objects "
                   "or an object), got a scalar");
        return fail_at(w, err);
    }
    if (v->len == 0) {
        DC_TRY(pq_wr_push_nulls(w, &f->children[0], f->def_level, rep, err));
        return pq_wr_push_nulls(w, &f->children[1], f->def_level, rep, err);
    }
    if (v->type == DC_JSON_ARRAY) return shred_map_array(w, f, v, rep, err);
    return shred_map_object(w, f, v, rep, err);
}

/* ------------------------------------------------------------ the walk */

/* v == NULL: the member is missing (same as null). */
static int shred(dc_pq_writer *w, const dc_pq_field *f, const dc_json *v, int16_t rep,
                 dc_err *err)
{
    if (!v || v->type == DC_JSON_NULL) {
        if (!f->nullable) {
            dc_err_set(err, DC_EINVAL, "null%s in a non-nullable field", v ? "" : " (missing)");
            return fail_at(w, err);
        }
        return pq_wr_push_nulls(w, f, (int16_t)(f->def_level - 1), rep, err);
    }
    switch (f->type) {
    case DC_TYPE_STRUCT: return shred_struct(w, f, v, rep, err);
    case DC_TYPE_ARRAY: return shred_array(w, f, v, rep, err);
    case DC_TYPE_MAP: return shred_map(w, f, v, rep, err);
    default: break;
    }
    DC_ASSERT(f->leaf >= 0 && (uint32_t)f->leaf < w->schema->n_leaves);
    return pq_wr_shred_leaf(w, f, v, rep, err);
}

/* Level bytes one entry costs in the buffers, for the row-group size. */
size_t pq_wr_level_bytes(const dc_pq_writer *w)
{
    size_t n = 0;
    for (uint32_t i = 0; i < w->schema->n_leaves; i++) {
        const dc_pq_column *c = &w->cols[i];
        n += (c->n_levels - w->marks[i].n_levels) *
             (size_t)((w->schema->leaves[i].max_def > 0) + (w->schema->leaves[i].max_rep > 0)) * 2;
        if (w->schema->leaves[i].phys == PQ_BYTE_ARRAY)
            n += (c->n_values - w->marks[i].n_values) * 4;
    }
    return n;
}

int pq_wr_shred_row(dc_pq_writer *w, const dc_json *row, dc_err *err)
{
    const size_t rg_bytes = w->rg_bytes;
    pq_wr_mark_all(w);
    w->depth = 0;
    w->seen.len = 0;
    if (row->type != DC_JSON_OBJECT)
        return dc_err_set(err, DC_EINVAL, "a row must be a JSON object");
    int rc = shred_struct(w, &w->schema->root, row, 0, err);
    if (rc < 0) {
        pq_wr_rollback(w, rg_bytes);
        return rc;
    }
    w->rg_bytes += pq_wr_level_bytes(w);
    w->rg_rows++;
    return 0;
}
