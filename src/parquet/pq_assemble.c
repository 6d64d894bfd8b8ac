/*
 * Record assembly: rows of a row group as JSON lines, rebuilt from the
 * (definition, repetition, value) streams of the projected leaves following
 * the logical tree of dc_pq_field.
 *
 * Every leaf has a cursor (level index, value index). Emitting a field
 * consumes, for each leaf under it, the levels of one slot: one level when
 * the field is null or an empty list, more when lists repeat. A container
 * looks at the levels of its first leaf to decide null / empty / present and
 * how many entries follow; every other leaf is checked against the same
 * expectations as it is consumed (repetition level of the slot, definition
 * level within what the ancestors imply), so leaves that disagree are
 * reported as corrupt instead of producing shifted rows.
 */
#include "pq_reader_int.h"

typedef struct cursor {
    size_t lv;              /* next level entry */
    size_t vi;              /* next non-null value */
} cursor;

typedef struct asm_ctx {
    const dc_pq_reader *r;  /* the reader; r->cols holds the leaves read */
    const dc_pq_schema *s;  /* its schema */
    dc_buf *out;            /* the caller's output */
    cursor *cur;            /* one per leaf (only projected ones move) */
    size_t row;             /* row being emitted, within the row group */
} asm_ctx;

static int bad(const asm_ctx *a, uint32_t leaf, dc_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(const asm_ctx *a, uint32_t leaf, dc_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dc_err_setv(err, DC_ECORRUPT, fmt, ap);
    va_end(ap);
    dc_err_prefix(err, "column %s, row %zu", a->s->leaves[leaf].dotted, a->row);
    return DC_ECORRUPT;
}

static uint32_t first_leaf(const dc_pq_field *f)
{
    while (f->leaf < 0) f = &f->children[0];  /* check_tree guarantees children */
    return (uint32_t)f->leaf;
}

/* Definition level at the cursor of `leaf`, checked: the level exists, its
 * repetition level is `rexp` and its definition level is at least `min_def`. */
static int peek(const asm_ctx *a, uint32_t leaf, int min_def, int rexp, int16_t *d_out,
                dc_err *err)
{
    const dc_pq_column *col = &a->r->cols[leaf];
    size_t lv = a->cur[leaf].lv;
    if (lv >= col->n_levels) return bad(a, leaf, err, "levels end inside the row");
    int16_t d = col->def ? col->def[lv] : a->s->leaves[leaf].max_def;
    if (col->rep && col->rep[lv] != rexp)
        return bad(a, leaf, err, "repetition level %d where %d was expected", col->rep[lv], rexp);
    if (d < min_def)
        return bad(a, leaf, err, "definition level %d below the %d its parents imply", d,
                   min_def);
    *d_out = d;
    return 0;
}

/* Consumes one slot of every leaf under f, whose definition levels must be
 * in [min_def, max_def]: f is null or an empty list there. */
static int skip(asm_ctx *a, const dc_pq_field *f, int min_def, int rexp, int max_def,
                dc_err *err)
{
    if (f->leaf >= 0) {
        int16_t d;
        DC_TRY(peek(a, (uint32_t)f->leaf, min_def, rexp, &d, err));
        if (d > max_def)
            return bad(a, (uint32_t)f->leaf, err, "definition level %d where an enclosing field "
                       "is null or empty (at most %d)", d, max_def);
        a->cur[f->leaf].lv++;
        return 0;
    }
    for (uint32_t i = 0; i < f->n_children; i++)
        DC_TRY(skip(a, &f->children[i], min_def, rexp, max_def, err));
    return 0;
}

static int emit_leaf(asm_ctx *a, const dc_pq_field *f, int min_def, int rexp, dc_err *err)
{
    uint32_t li = (uint32_t)f->leaf;
    const dc_pq_leaf *leaf = &a->s->leaves[li];
    const dc_pq_column *col = &a->r->cols[li];
    cursor *c = &a->cur[li];
    int16_t d;
    DC_TRY(peek(a, li, min_def, rexp, &d, err));
    c->lv++;
    if (d < leaf->max_def) return dc_buf_append(a->out, "null", 4, err);
    if (c->vi >= col->n_values) return bad(a, li, err, "more non-null levels than values");
    int rc = pq_json_put_value(a->out, leaf, col, c->vi++, err);
    if (rc < 0) dc_err_prefix(err, "column %s, row %zu", leaf->dotted, a->row);
    return rc;
}

static int emit(asm_ctx *a, const dc_pq_field *f, int min_def, int rexp, dc_err *err);

static int put_key(dc_buf *out, const char *name, dc_err *err)
{
    DC_TRY(dc_json_put_str(out, name, strlen(name), err));
    return dc_buf_putc(out, ':', err);
}

static int emit_struct(asm_ctx *a, const dc_pq_field *f, int rexp, dc_err *err)
{
    DC_TRY(dc_buf_putc(a->out, '{', err));
    for (uint32_t i = 0; i < f->n_children; i++) {
        if (i) DC_TRY(dc_buf_putc(a->out, ',', err));
        DC_TRY(put_key(a->out, f->children[i].name, err));
        DC_TRY(emit(a, &f->children[i], f->def_level, rexp, err));
    }
    return dc_buf_putc(a->out, '}', err);
}

/* One entry of an array (its element) or a map ({"key":k,"value":v}). */
static int emit_entry(asm_ctx *a, const dc_pq_field *f, int min_def, int rexp, dc_err *err)
{
    if (f->type == DC_TYPE_ARRAY) return emit(a, &f->children[0], min_def, rexp, err);
    DC_TRY(dc_buf_append(a->out, "{\"key\":", 7, err));
    DC_TRY(emit(a, &f->children[0], min_def, rexp, err));
    DC_TRY(dc_buf_append(a->out, ",\"value\":", 9, err));
    if (f->n_children > 1) DC_TRY(emit(a, &f->children[1], min_def, rexp, err));
    else DC_TRY(dc_buf_append(a->out, "null", 4, err));
    return dc_buf_putc(a->out, '}', err);
}

/* A present array or map whose first leaf is at definition level d. Entries
 * exist from def_level + 1; each entry after the first starts with the
 * children's repetition level. */
static int emit_list(asm_ctx *a, const dc_pq_field *f, int16_t d, int rexp, dc_err *err)
{
    if (d == f->def_level) {
        DC_TRY(skip(a, f, f->def_level, rexp, f->def_level, err));
        return dc_buf_append(a->out, "[]", 2, err);
    }
    uint32_t fl = first_leaf(f);
    const dc_pq_column *col = &a->r->cols[fl];
    const cursor *c = &a->cur[fl];
    const int inner = f->def_level + 1, r1 = f->children[0].rep_level;
    if (!col->rep) return bad(a, fl, err, "no repetition levels under a repeated field");
    DC_TRY(dc_buf_putc(a->out, '[', err));
    DC_TRY(emit_entry(a, f, inner, rexp, err));
    while (c->lv < col->n_levels && col->rep[c->lv] == r1) {
        DC_TRY(dc_buf_putc(a->out, ',', err));
        DC_TRY(emit_entry(a, f, inner, r1, err));
    }
    return dc_buf_putc(a->out, ']', err);
}

/* One slot of field f: its ancestors are present at definition level
 * min_def, and the slot's levels carry repetition level rexp. */
static int emit(asm_ctx *a, const dc_pq_field *f, int min_def, int rexp, dc_err *err)
{
    if (f->leaf >= 0) return emit_leaf(a, f, min_def, rexp, err);
    int16_t d;
    DC_TRY(peek(a, first_leaf(f), min_def, rexp, &d, err));
    if (d < f->def_level) {
        DC_TRY(skip(a, f, min_def, rexp, f->def_level - 1, err));
        return dc_buf_append(a->out, "null", 4, err);
    }
    if (f->type == DC_TYPE_STRUCT) return emit_struct(a, f, rexp, err);
    return emit_list(a, f, d, rexp, err);
}

/* Every container has the children assembly relies on. */
static int check_tree(const dc_pq_field *f, dc_err *err)
{
    if (f->leaf >= 0) return 0;
    bool ok = f->n_children > 0 && f->children;
    if (f->type == DC_TYPE_ARRAY) ok = ok && f->n_children == 1;
    else if (f->type == DC_TYPE_MAP) ok = ok && f->n_children <= 2;
    else if (f->type != DC_TYPE_STRUCT) ok = false;
    if (!ok)
        return dc_err_set(err, DC_EUNSUPPORTED, "field %s: a %s group with %u children",
                          f->name, f->type == DC_TYPE_ARRAY ? "list"
                          : f->type == DC_TYPE_MAP ? "map" : "struct", f->n_children);
    for (uint32_t i = 0; i < f->n_children; i++) DC_TRY(check_tree(&f->children[i], err));
    return 0;
}

/* Reads every leaf under f into r->cols. */
static int read_leaves(dc_pq_reader *r, uint32_t rg, const dc_pq_field *f, dc_err *err)
{
    if (f->leaf >= 0) return dc_pq_reader_read_column(&r->cols[f->leaf], r, rg, (uint32_t)f->leaf,
                                                      err);
    for (uint32_t i = 0; i < f->n_children; i++)
        DC_TRY(read_leaves(r, rg, &f->children[i], err));
    return 0;
}

/* Every level of every projected leaf was consumed by the rows. */
static int check_consumed(const asm_ctx *a, const dc_pq_field *f, dc_err *err)
{
    if (f->leaf >= 0) {
        const dc_pq_column *col = &a->r->cols[f->leaf];
        if (a->cur[f->leaf].lv != col->n_levels)
            return bad(a, (uint32_t)f->leaf, err, "%zu levels left after the last row",
                       col->n_levels - a->cur[f->leaf].lv);
        return 0;
    }
    for (uint32_t i = 0; i < f->n_children; i++) DC_TRY(check_consumed(a, &f->children[i], err));
    return 0;
}

/* The text before each projected top-level value: "{\"a\":", ",\"b\":", ...
 * into keys, with key_off[i]..key_off[i+1] for the i-th projected field. */
static int build_keys(dc_buf *keys, size_t *key_off, const dc_pq_field *root,
                      const bool *project, dc_err *err)
{
    size_t k = 0;
    key_off[0] = 0;
    for (uint32_t i = 0; i < root->n_children; i++) {
        if (project && !project[i]) continue;
        DC_TRY(dc_buf_putc(keys, k ? ',' : '{', err));
        DC_TRY(put_key(keys, root->children[i].name, err));
        key_off[++k] = keys->len;
    }
    return 0;
}

/* All projected fields are flat primitives: level i of every leaf is row i
 * (read_column checked n_levels == num_rows), so no cursors are needed. */
static int emit_flat_rows(asm_ctx *a, const dc_pq_field *const *fields, size_t n_fields,
                          const dc_buf *keys, const size_t *key_off, size_t n_rows, dc_err *err)
{
    for (a->row = 0; a->row < n_rows; a->row++) {
        if (n_fields == 0) DC_TRY(dc_buf_putc(a->out, '{', err));
        for (size_t k = 0; k < n_fields; k++) {
            uint32_t li = (uint32_t)fields[k]->leaf;
            const dc_pq_leaf *leaf = &a->s->leaves[li];
            const dc_pq_column *col = &a->r->cols[li];
            DC_TRY(dc_buf_append(a->out, keys->data + key_off[k], key_off[k + 1] - key_off[k],
                                 err));
            if (col->def && col->def[a->row] != leaf->max_def) {
                DC_TRY(dc_buf_append(a->out, "null", 4, err));
                continue;
            }
            int rc = pq_json_put_value(a->out, leaf, col, a->cur[li].vi++, err);
            if (rc < 0) {
                dc_err_prefix(err, "column %s, row %zu", leaf->dotted, a->row);
                return rc;
            }
        }
        DC_TRY(dc_buf_append(a->out, "}\n", 2, err));
    }
    return 0;
}

static int emit_nested_rows(asm_ctx *a, const dc_pq_field *const *fields, size_t n_fields,
                            const dc_buf *keys, const size_t *key_off, size_t n_rows,
                            dc_err *err)
{
    for (a->row = 0; a->row < n_rows; a->row++) {
        if (n_fields == 0) DC_TRY(dc_buf_putc(a->out, '{', err));
        for (size_t k = 0; k < n_fields; k++) {
            DC_TRY(dc_buf_append(a->out, keys->data + key_off[k], key_off[k + 1] - key_off[k],
                                 err));
            DC_TRY(emit(a, fields[k], 0, 0, err));
        }
        DC_TRY(dc_buf_append(a->out, "}\n", 2, err));
    }
    for (size_t k = 0; k < n_fields; k++) DC_TRY(check_consumed(a, fields[k], err));
    return 0;
}

/* Rows of the projected fields (their leaves already read). */
static int emit_rows(asm_ctx *a, const bool *project, size_t n_rows, dc_err *err)
{
    const dc_pq_field *root = &a->s->root;
    const dc_pq_field **fields = dc_calloc(root->n_children + 1, sizeof *fields);
    size_t *key_off = dc_calloc(root->n_children + 2, sizeof *key_off);
    size_t n = 0;
    bool flat = true;
    dc_buf keys;
    int rc = 0;
    dc_buf_init(&keys, DC_PQ_MAX_FOOTER_BYTES);
    if (!fields || !key_off) {
        rc = dc_err_set(err, DC_ENOMEM, "out of memory for %u fields", root->n_children);
        goto out;
    }
    for (uint32_t i = 0; i < root->n_children; i++) {
        if (project && !project[i]) continue;
        fields[n] = &root->children[i];
        flat = flat && fields[n]->leaf >= 0 && a->s->leaves[fields[n]->leaf].max_rep == 0;
        n++;
    }
    if ((rc = build_keys(&keys, key_off, root, project, err)) < 0) goto out;
    if (flat)
        rc = emit_flat_rows(a, fields, n, &keys, key_off, n_rows, err);
    else
        rc = emit_nested_rows(a, fields, n, &keys, key_off, n_rows, err);
out:
    dc_buf_dispose(&keys);
    dc_free(key_off);
    dc_free(fields);
    return rc;
}

/* The reader's per-leaf columns, allocated on first use. */
static int ensure_cols(dc_pq_reader *r, dc_err *err)
{
    uint32_t n = r->schema->n_leaves;
    if (r->cols || n == 0) return 0;
    r->cols = dc_calloc(n, sizeof *r->cols);
    if (!r->cols) return dc_err_set(err, DC_ENOMEM, "out of memory for %u columns", n);
    for (uint32_t i = 0; i < n; i++) dc_pq_column_init(&r->cols[i]);
    r->n_cols = n;
    return 0;
}

int dc_pq_reader_rows_json(dc_buf *out, dc_pq_reader *r, uint32_t rg, const bool *project,
                           dc_err *err)
{
    const dc_pq_schema *s = r->schema;
    const dc_pq_field *root = &s->root;
    size_t start_len = out->len;
    cursor *cur = NULL;
    int rc = 0;
    if (rg >= r->meta.n_row_groups)
        return dc_err_set(err, DC_EINVAL, "%s: no row group %u (%u row groups)", r->name, rg,
                          r->meta.n_row_groups);
    if ((rc = ensure_cols(r, err)) < 0) goto out;
    for (uint32_t i = 0; i < root->n_children; i++) {
        if (project && !project[i]) continue;
        if ((rc = check_tree(&root->children[i], err)) < 0) goto prefixed;
        if ((rc = read_leaves(r, rg, &root->children[i], err)) < 0) goto out;
    }
    cur = dc_calloc(s->n_leaves ? s->n_leaves : 1, sizeof *cur);
    if (!cur) {
        rc = dc_err_set(err, DC_ENOMEM, "out of memory for %u column cursors", s->n_leaves);
        goto out;
    }
    asm_ctx a = { .r = r, .s = s, .out = out, .cur = cur };
    rc = emit_rows(&a, project, (size_t)r->meta.row_groups[rg].num_rows, err);
prefixed:
    if (rc < 0) dc_err_prefix(err, "%s: row group %u", r->name, rg);
out:
    dc_free(cur);
    if (rc < 0) out->len = start_len;
    return rc;
}
