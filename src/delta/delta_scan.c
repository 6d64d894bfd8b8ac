/*
 * delta: scans — a snapshot's rows as JSON lines with display names.
 *
 * Per live file: open the Parquet file, read the row groups of the columns
 * asked for (dc_pq_reader_rows_json with a projection), then per row rebuild
 * the logical object: physical → display names (column mapping name/id, at
 * every nesting level), partition values from the log, null for columns the
 * file lacks (schema evolution), simple type widening, and rows deleted by
 * the file's deletion vector left out.
 */
#include "delta_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct out_col {
    const dc_delta_field *f;   /* the table column */
    bool partition;            /* value comes from the log */
    const char *pv_key;        /* partitionValues key (physical name under column mapping) */
    int32_t pq_index;          /* current file: index in the file's root children, or -1 */
    uint32_t dom_pos;          /* current file: position of its member in a row object */
} out_col;

struct dc_delta_scan {
    dc_delta_snapshot *snap;       /* borrowed */
    const dc_delta_schema *schema; /* borrowed from snap */
    dc_delta_cm_mode cm;
    uint32_t n_cols;
    out_col *cols;                 /* output columns in order */
    dc_buf keys;                   /* "\"name\":" of every column, concatenated */
    size_t *key_off;               /* n_cols + 1 offsets into keys */
    size_t next_file;              /* index of the next file to open */
    /* the open file */
    const dc_delta_add *add;       /* NULL when no file is open */
    char *path;                    /* its storage path (for messages) */
    dc_pq_reader *r;
    dc_buf hold;                   /* file bytes when storage is not local */
    dc_delta_dv *dv;               /* its deletion vector, or NULL */
    bool *project;                 /* per root child of the file */
    uint32_t rg;                   /* next row group */
    uint64_t row_base;             /* physical index of the row group's first row */
    dc_buf pv;                     /* rendered partition values of the file */
    size_t *pv_off;                /* n_cols + 1 offsets into pv */
    dc_buf rows;                   /* rows_json output of one row group */
    dc_arena arena;                /* DOM of one row */
    uint64_t file_deleted;         /* rows of the open file left out by its DV */
    uint64_t n_rows, n_deleted;
};

/* ------------------------------------------------------------ set up */

static int add_col(dc_delta_scan *sc, const dc_delta_field *f, dc_err *err)
{
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(sc->snap);
    out_col *c = &sc->cols[sc->n_cols++];
    c->f = f;
    c->partition = dc_delta_is_partition_column(m, f->name);
    c->pv_key = sc->cm != DC_DELTA_CM_NONE ? f->physical_name : f->name;
    c->pq_index = -1;
    DC_TRY(dc_json_put_str(&sc->keys, f->name, strlen(f->name), err));
    DC_TRY(dc_buf_putc(&sc->keys, ':', err));
    sc->key_off[sc->n_cols] = sc->keys.len;
    return 0;
}

static int choose_cols(dc_delta_scan *sc, const char *const *columns, size_t n_columns,
                       dc_err *err)
{
    const dc_delta_field *root = &sc->schema->root;
    size_t n = columns ? n_columns : root->n_children;
    sc->cols = dc_calloc(n ? n : 1, sizeof *sc->cols);
    sc->key_off = dc_calloc(n + 1, sizeof *sc->key_off);
    sc->pv_off = dc_calloc(n + 1, sizeof *sc->pv_off);
    if (!sc->cols || !sc->key_off || !sc->pv_off) return dc_err_set(err, DC_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const dc_delta_field *f = columns ? dc_delta_schema_find(sc->schema, columns[i])
                                          : &root->children[i];
        if (!f) return dc_err_set(err, DC_EINVAL, "delta: the table has no column '%s'", columns[i]);
        DC_TRY(add_col(sc, f, err));
    }
    return 0;
}

int dc_delta_scan_new(dc_delta_scan **out, dc_delta_snapshot *snap, const char *const *columns,
                      size_t n_columns, dc_err *err)
{
    *out = NULL;
    dc_delta_scan *sc = dc_calloc(1, sizeof *sc);
    if (!sc) return dc_err_set(err, DC_ENOMEM, "out of memory");
    sc->snap = snap;
    sc->cm = dc_delta_snapshot_cm_mode(snap);
    dc_buf_init(&sc->keys, DC_JSON_MAX_DOC_BYTES);
    dc_buf_init(&sc->hold, DC_MAX_SMALL_FILE);
    dc_buf_init(&sc->pv, DC_JSON_MAX_DOC_BYTES);
    dc_buf_init(&sc->rows, DC_PQ_MAX_CHUNK_BYTES);
    dc_arena_init(&sc->arena, (size_t)4 * DC_JSONL_MAX_LINE);
    int rc = dc_delta_snapshot_schema(&sc->schema, snap, err);
    if (rc == 0) rc = choose_cols(sc, columns, n_columns, err);
    if (rc < 0) {
        dc_delta_scan_free(sc);
        return rc;
    }
    *out = sc;
    return 0;
}

static void close_file(dc_delta_scan *sc)
{
    dc_pq_reader_free(sc->r);
    sc->r = NULL;
    dc_delta_dv_free(sc->dv);
    sc->dv = NULL;
    dc_free(sc->project);
    sc->project = NULL;
    dc_free(sc->path);
    sc->path = NULL;
    dc_buf_dispose(&sc->hold);
    sc->add = NULL;
}

void dc_delta_scan_free(dc_delta_scan *sc)
{
    if (!sc) return;
    close_file(sc);
    dc_free(sc->cols);
    dc_free(sc->key_off);
    dc_free(sc->pv_off);
    dc_buf_dispose(&sc->keys);
    dc_buf_dispose(&sc->pv);
    dc_buf_dispose(&sc->rows);
    dc_arena_dispose(&sc->arena);
    dc_free(sc);
}

uint64_t dc_delta_scan_rows(const dc_delta_scan *sc) { return sc->n_rows; }
uint64_t dc_delta_scan_rows_deleted(const dc_delta_scan *sc) { return sc->n_deleted; }

/* -------------------------------------------------------- name lookup */

/* The file's field for a table field among `pf`'s children, or NULL. */
static const dc_pq_field *resolve(const dc_delta_scan *sc, const dc_pq_field *pf,
                                  const dc_delta_field *df, uint32_t *index)
{
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < pf->n_children; i++) {
            const dc_pq_field *c = &pf->children[i];
            bool hit;
            if (sc->cm == DC_DELTA_CM_ID)
                hit = pass == 0 && df->has_id && c->has_field_id && c->field_id == df->id;
            else if (sc->cm == DC_DELTA_CM_NAME)
                hit = pass == 0 && strcmp(c->name, df->physical_name) == 0;
            else  /* display names; Spark resolves them case-insensitively */
                hit = pass == 0 ? strcmp(c->name, df->name) == 0
                                : strcasecmp(c->name, df->name) == 0;
            if (hit) {
                *index = i;
                return c;
            }
        }
    }
    return NULL;
}

/* --------------------------------------------------------- conversion */

static int type_error(const dc_delta_scan *sc, const dc_delta_field *df, const dc_pq_field *pf,
                      dc_err *err)
{
    return dc_err_set(err, DC_EUNSUPPORTED,
                      "delta: %s: column '%s' has type %d in the file and %d in the table, which "
                      "is not a widening deltacdc can read",
                      sc->path, df->name, (int)pf->type, (int)df->type);
}

static bool is_int(dc_type t)
{
    return t == DC_TYPE_BYTE || t == DC_TYPE_SHORT || t == DC_TYPE_INT || t == DC_TYPE_LONG ||
           t == DC_TYPE_UINT8 || t == DC_TYPE_UINT16 || t == DC_TYPE_UINT32;
}

static int put_zeros(dc_buf *out, int n, dc_err *err)
{
    for (int i = 0; i < n; i++) DC_TRY(dc_buf_putc(out, '0', err));
    return 0;
}

/* Timestamps as the table's type says: microseconds, 'Z' only for timestamp. */
static int put_timestamp(dc_buf *out, const dc_delta_field *df, const dc_json *v, dc_err *err)
{
    const char *s = v->u.str;
    size_t n = v->len;
    bool z = n > 0 && s[n - 1] == 'Z';
    if (z) n--;
    const char *dot = memchr(s, '.', n);
    if (dot && (size_t)(s + n - dot - 1) > 6) n = (size_t)(dot - s) + 7;  /* nanos → micros */
    DC_TRY(dc_buf_putc(out, '"', err));
    DC_TRY(dc_buf_append(out, s, n, err));
    if (!dot && memchr(s, 'T', n)) DC_TRY(dc_buf_puts(out, ".000000", err));
    if (df->type == DC_TYPE_TIMESTAMP) DC_TRY(dc_buf_putc(out, 'Z', err));
    return dc_buf_putc(out, '"', err);
}

static int widen(dc_buf *out, const dc_delta_scan *sc, const dc_delta_field *df,
                 const dc_pq_field *pf, const dc_json *v, dc_err *err)
{
    const dc_type ft = pf->type, tt = df->type;
    if (v->type == DC_JSON_NULL) return dc_buf_puts(out, "null", err);
    if (is_int(ft) && is_int(tt)) return dc_json_write(out, v, err);
    if ((is_int(ft) || ft == DC_TYPE_FLOAT) && tt == DC_TYPE_DOUBLE && v->type == DC_JSON_NUMBER) {
        char buf[64];
        size_t n = v->len < sizeof buf - 1 ? v->len : sizeof buf - 1;
        memcpy(buf, v->u.str, n);
        buf[n] = '\0';
        double d = ft == DC_TYPE_FLOAT ? (double)strtof(buf, NULL) : strtod(buf, NULL);
        return dc_json_put_f64(out, d, err);
    }
    if (ft == DC_TYPE_FLOAT && tt == DC_TYPE_DOUBLE) return dc_json_write(out, v, err); /* NaN, ±Inf */
    if (ft == DC_TYPE_DECIMAL && tt == DC_TYPE_DECIMAL && v->type == DC_JSON_STRING &&
        df->scale >= pf->scale) {
        DC_TRY(dc_buf_putc(out, '"', err));
        DC_TRY(dc_buf_append(out, v->u.str, v->len, err));
        if (pf->scale == 0 && df->scale > 0) DC_TRY(dc_buf_putc(out, '.', err));
        DC_TRY(put_zeros(out, df->scale - pf->scale, err));
        return dc_buf_putc(out, '"', err);
    }
    if (is_int(ft) && tt == DC_TYPE_DECIMAL && v->type == DC_JSON_NUMBER) {
        DC_TRY(dc_buf_putc(out, '"', err));
        DC_TRY(dc_buf_append(out, v->u.str, v->len, err));
        if (df->scale > 0) DC_TRY(dc_buf_putc(out, '.', err));
        DC_TRY(put_zeros(out, df->scale, err));
        return dc_buf_putc(out, '"', err);
    }
    if ((ft == DC_TYPE_TIMESTAMP || ft == DC_TYPE_TIMESTAMP_NTZ || ft == DC_TYPE_DATE) &&
        (tt == DC_TYPE_TIMESTAMP || tt == DC_TYPE_TIMESTAMP_NTZ) && v->type == DC_JSON_STRING) {
        if (ft != DC_TYPE_DATE) return put_timestamp(out, df, v, err);
        DC_TRY(dc_buf_putc(out, '"', err));
        DC_TRY(dc_buf_append(out, v->u.str, v->len, err));
        DC_TRY(dc_buf_puts(out, tt == DC_TYPE_TIMESTAMP ? "T00:00:00.000000Z\"" : "T00:00:00.000000\"", err));
        return 0;
    }
    if (ft == DC_TYPE_BINARY && tt == DC_TYPE_STRING && v->type == DC_JSON_STRING) {
        /* a string column written without the UTF8 annotation: printed as base64 */
        dc_buf raw;
        dc_buf_init(&raw, DC_JSONL_MAX_LINE);
        int rc = dc_base64_decode(&raw, v->u.str, v->len, err);
        if (rc == 0) rc = dc_json_put_str(out, (const char *)raw.data, raw.len, err);
        dc_buf_dispose(&raw);
        return rc;
    }
    return type_error(sc, df, pf, err);
}

static int put_value(dc_buf *out, const dc_delta_scan *sc, const dc_delta_field *df,
                     const dc_pq_field *pf, const dc_json *v, dc_err *err);

/* Member k of a row/struct object printed from file field children[k]. */
static const dc_json *member(const dc_json *obj, uint32_t k, const char *name)
{
    if (!obj || obj->type != DC_JSON_OBJECT) return NULL;
    if (k < obj->len && strcmp(obj->u.items[k].key, name) == 0) return &obj->u.items[k];
    return dc_json_get(obj, name);
}

static int put_struct(dc_buf *out, const dc_delta_scan *sc, const dc_delta_field *df,
                      const dc_pq_field *pf, const dc_json *v, dc_err *err)
{
    DC_TRY(dc_buf_putc(out, '{', err));
    for (uint32_t i = 0; i < df->n_children; i++) {
        const dc_delta_field *dc = &df->children[i];
        uint32_t k = 0;
        const dc_pq_field *pc = resolve(sc, pf, dc, &k);
        if (i) DC_TRY(dc_buf_putc(out, ',', err));
        DC_TRY(dc_json_put_str(out, dc->name, strlen(dc->name), err));
        DC_TRY(dc_buf_putc(out, ':', err));
        const dc_json *m = pc ? member(v, k, pc->name) : NULL;
        if (!pc || !m) DC_TRY(dc_buf_puts(out, "null", err));
        else DC_TRY(put_value(out, sc, dc, pc, m, err));
    }
    return dc_buf_putc(out, '}', err);
}

static int put_value(dc_buf *out, const dc_delta_scan *sc, const dc_delta_field *df,
                     const dc_pq_field *pf, const dc_json *v, dc_err *err)
{
    if (v->type == DC_JSON_NULL) return dc_buf_puts(out, "null", err);
    switch (df->type) {
    case DC_TYPE_STRUCT:
        if (pf->type != DC_TYPE_STRUCT || v->type != DC_JSON_OBJECT) return type_error(sc, df, pf, err);
        return put_struct(out, sc, df, pf, v, err);
    case DC_TYPE_ARRAY:
        if (pf->type != DC_TYPE_ARRAY || v->type != DC_JSON_ARRAY) return type_error(sc, df, pf, err);
        DC_TRY(dc_buf_putc(out, '[', err));
        for (uint32_t i = 0; i < v->len; i++) {
            if (i) DC_TRY(dc_buf_putc(out, ',', err));
            DC_TRY(put_value(out, sc, &df->children[0], &pf->children[0], &v->u.items[i], err));
        }
        return dc_buf_putc(out, ']', err);
    case DC_TYPE_MAP:
        if (pf->type != DC_TYPE_MAP || v->type != DC_JSON_ARRAY) return type_error(sc, df, pf, err);
        DC_TRY(dc_buf_putc(out, '[', err));
        for (uint32_t i = 0; i < v->len; i++) {
            const dc_json *e = &v->u.items[i];
            const dc_json *key = dc_json_get(e, "key"), *val = dc_json_get(e, "value");
            if (i) DC_TRY(dc_buf_putc(out, ',', err));
            DC_TRY(dc_buf_puts(out, "{\"key\":", err));
            if (key) DC_TRY(put_value(out, sc, &df->children[0], &pf->children[0], key, err));
            else DC_TRY(dc_buf_puts(out, "null", err));
            DC_TRY(dc_buf_puts(out, ",\"value\":", err));
            if (val) DC_TRY(put_value(out, sc, &df->children[1], &pf->children[1], val, err));
            else DC_TRY(dc_buf_puts(out, "null", err));
            DC_TRY(dc_buf_putc(out, '}', err));
        }
        return dc_buf_putc(out, ']', err);
    default: break;
    }
    if (pf->type == df->type && df->type != DC_TYPE_TIMESTAMP && df->type != DC_TYPE_TIMESTAMP_NTZ &&
        (df->type != DC_TYPE_DECIMAL || pf->scale == df->scale))
        return dc_json_write(out, v, err);
    if (pf->type == DC_TYPE_STRUCT || pf->type == DC_TYPE_ARRAY || pf->type == DC_TYPE_MAP)
        return type_error(sc, df, pf, err);
    return widen(out, sc, df, pf, v, err);
}

/* ---------------------------------------------------------- per file */

static int render_partitions(dc_delta_scan *sc, dc_err *err)
{
    dc_buf_reset(&sc->pv);
    for (uint32_t i = 0; i < sc->n_cols; i++) {
        const out_col *c = &sc->cols[i];
        sc->pv_off[i] = sc->pv.len;
        if (!c->partition) continue;
        const char *v = dc_delta_map_get(&sc->add->partition_values, c->pv_key, NULL);
        int rc = dc_delta_partition_value_json(&sc->pv, c->f, v, err);
        if (rc < 0) {
            dc_err_prefix(err, "%s", sc->add->path);
            return rc;
        }
    }
    sc->pv_off[sc->n_cols] = sc->pv.len;
    return 0;
}

static int map_columns(dc_delta_scan *sc, dc_err *err)
{
    const dc_pq_schema *ps = dc_pq_reader_schema(sc->r);
    sc->project = dc_calloc(ps->root.n_children ? ps->root.n_children : 1, sizeof *sc->project);
    if (!sc->project) return dc_err_set(err, DC_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < sc->n_cols; i++) {
        out_col *c = &sc->cols[i];
        uint32_t k;
        c->pq_index = -1;
        if (c->partition || !resolve(sc, &ps->root, c->f, &k)) continue;
        c->pq_index = (int32_t)k;
        sc->project[k] = true;
    }
    /* Members of a row object come in file order of the projected fields. */
    for (uint32_t i = 0; i < sc->n_cols; i++) {
        out_col *c = &sc->cols[i];
        if (c->pq_index < 0) continue;
        uint32_t pos = 0;
        for (int32_t k = 0; k < c->pq_index; k++) pos += sc->project[k];
        c->dom_pos = pos;
    }
    return 0;
}

static int open_file(dc_delta_scan *sc, const dc_delta_add *add, dc_err *err)
{
    dc_storage *s = dc_delta_snapshot_storage(sc->snap);
    dc_buf p;
    dc_buf_init(&p, 1 << 20);
    sc->add = add;
    sc->rg = 0;
    sc->row_base = 0;
    sc->file_deleted = 0;
    int rc = dc_delta_path_to_storage(&p, add->path, err);
    if (rc == 0) rc = dc_buf_putc(&p, '\0', err);
    if (rc == 0) sc->path = (char *)dc_buf_steal(&p, NULL);
    if (rc == 0)
        rc = dc_delta_pq_open(&sc->r, &sc->hold, s, sc->path, dc_delta_add_size(add), err);
    if (rc == 0 && add->has_dv) {
        rc = dc_delta_dv_load(&sc->dv, s, &add->dv, err);
        if (rc < 0) dc_err_prefix(err, "%s", add->path);
    }
    if (rc == 0) rc = map_columns(sc, err);
    if (rc == 0) rc = render_partitions(sc, err);
    dc_buf_dispose(&p);
    return rc;
}

/* ------------------------------------------------------------- rows */

static int put_row(dc_buf *out, dc_delta_scan *sc, const dc_json *row, dc_err *err)
{
    const dc_pq_schema *ps = dc_pq_reader_schema(sc->r);
    DC_TRY(dc_buf_putc(out, '{', err));
    for (uint32_t i = 0; i < sc->n_cols; i++) {
        const out_col *c = &sc->cols[i];
        if (i) DC_TRY(dc_buf_putc(out, ',', err));
        DC_TRY(dc_buf_append(out, sc->keys.data + sc->key_off[i], sc->key_off[i + 1] - sc->key_off[i],
                             err));
        if (c->partition) {
            DC_TRY(dc_buf_append(out, sc->pv.data + sc->pv_off[i], sc->pv_off[i + 1] - sc->pv_off[i],
                                 err));
            continue;
        }
        const dc_pq_field *pf = c->pq_index >= 0 ? &ps->root.children[c->pq_index] : NULL;
        const dc_json *v = pf ? member(row, c->dom_pos, pf->name) : NULL;
        if (!v) DC_TRY(dc_buf_puts(out, "null", err));
        else DC_TRY(put_value(out, sc, c->f, pf, v, err));
    }
    return dc_buf_puts(out, "}\n", err);
}

static bool deleted(const dc_delta_scan *sc, uint64_t row)
{
    return sc->dv && dc_delta_dv_contains(sc->dv, row);
}

/* The live rows of row group sc->rg of the open file. */
static int read_row_group(dc_delta_scan *sc, dc_buf *out, dc_err *err)
{
    const pq_file_meta *meta = dc_pq_reader_meta(sc->r);
    const int64_t n = meta->row_groups[sc->rg].num_rows;
    bool any = false;
    for (uint32_t i = 0; i < sc->n_cols; i++) any |= sc->cols[i].pq_index >= 0;
    dc_buf_reset(&sc->rows);
    if (any) DC_TRY(dc_pq_reader_rows_json(&sc->rows, sc->r, sc->rg, sc->project, err));
    const char *p = (const char *)sc->rows.data, *end = p + sc->rows.len;
    for (int64_t i = 0; i < n; i++) {
        const char *nl = any ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        if (any && !nl)
            return dc_err_set(err, DC_ECORRUPT, "%s: row group %u has fewer rows than its %lld",
                              sc->path, sc->rg, (long long)n);
        dc_json *row = NULL;
        const uint64_t idx = sc->row_base + (uint64_t)i;
        if (deleted(sc, idx)) {
            sc->n_deleted++;
            sc->file_deleted++;
        } else {
            if (any) DC_TRY(dc_json_parse(&row, &sc->arena, p, (size_t)(nl - p), err));
            DC_TRY(put_row(out, sc, row, err));
            sc->n_rows++;
            dc_arena_reset(&sc->arena);
        }
        p = any ? nl + 1 : p;
    }
    sc->row_base += (uint64_t)n;
    sc->rg++;
    return 0;
}

int dc_delta_scan_next(dc_delta_scan *sc, dc_buf *out, bool *done, dc_err *err)
{
    *done = false;
    const size_t start = out->len;
    while (out->len == start) {
        if (!sc->add) {
            if (sc->next_file >= dc_delta_snapshot_n_files(sc->snap)) {
                *done = true;
                return 0;
            }
            const dc_delta_add *add = dc_delta_snapshot_file(sc->snap, sc->next_file++);
            int rc = open_file(sc, add, err);
            if (rc < 0) {
                close_file(sc);
                return rc;
            }
        }
        if (sc->rg >= dc_pq_reader_meta(sc->r)->n_row_groups) {
            /* Every row the DV names must exist in the file. */
            if (sc->dv && sc->file_deleted != dc_delta_dv_cardinality(sc->dv)) {
                int rc = dc_err_set(err, DC_ECORRUPT,
                                    "%s: its deletion vector deletes %llu rows but only %llu of "
                                    "them are in the file's %llu rows",
                                    sc->path, (unsigned long long)dc_delta_dv_cardinality(sc->dv),
                                    (unsigned long long)sc->file_deleted,
                                    (unsigned long long)sc->row_base);
                close_file(sc);
                return rc;
            }
            close_file(sc);
            continue;
        }
        DC_TRY(read_row_group(sc, out, err));
    }
    return 0;
}
