/*
 * OPTIMIZE inputs: the run's output schema and sort key (opt_ctx), and the
 * input files of a bin — their schema mapped onto the output's by logical
 * path, their deletion vector, and their row groups decoded with where each
 * row's levels and values start, so rows can be copied in any order.
 */
#include "optimize_int.h"

#include <inttypes.h>
#include <strings.h>

/* ------------------------------------------------------------ context */

/* The sort columns' leaves in the output schema. */
static int find_keys(opt_ctx *c, const char *const *names, uint32_t n, dc_err *err)
{
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(c->snap);
    const dc_delta_schema *ds = NULL;
    DC_TRY(dc_delta_snapshot_schema(&ds, c->snap, err));
    for (uint32_t k = 0; k < n; k++) {
        const dc_pq_field *f = NULL;
        const char *phys = dc_delta_colmap_physical(ds, names[k]); /* data files' name */
        if (!phys) phys = names[k];
        for (uint32_t i = 0; i < c->schema->root.n_children && !f; i++)
            if (strcmp(c->schema->root.children[i].name, phys) == 0)
                f = &c->schema->root.children[i];
        if (!f && dc_delta_is_partition_column(m, names[k]))
            return dc_err_set(err, DC_EINVAL, "sort column '%s' is a partition column (one "
                              "value per file: nothing to sort)", names[k]);
        if (!f) return dc_err_set(err, DC_EINVAL, "sort column '%s' is not a column of the "
                                  "table", names[k]);
        if (f->leaf < 0 || c->schema->leaves[f->leaf].max_rep != 0)
            return dc_err_set(err, DC_EINVAL, "sort column '%s' is not a primitive column",
                              names[k]);
        if (c->schema->leaves[f->leaf].phys == PQ_INT96)
            return dc_err_set(err, DC_EINVAL, "sort column '%s': INT96 is not sortable",
                              names[k]);
        c->key_leaf[k] = (uint32_t)f->leaf;
    }
    c->n_keys = n;
    return 0;
}

static int choose_keys(opt_ctx *c, dc_err *err)
{
    const dc_optimize_opts *o = c->o;
    if (o->sort == DC_OPTIMIZE_SORT_NONE) return 0;
    if (o->sort == DC_OPTIMIZE_SORT_KEYS) return find_keys(c, o->keys, o->n_keys, err);
    const dc_delta_schema *ds = NULL;
    DC_TRY(dc_delta_snapshot_schema(&ds, c->snap, err));
    const char *names[DC_OPTIMIZE_MAX_KEYS];
    uint32_t n = 0;
    dc_optimize_raw_keys(names, &n, DC_OPTIMIZE_MAX_KEYS, ds);
    return n ? find_keys(c, names, n, err) : 0;
}

int opt_ctx_init(opt_ctx *c, dc_delta_snapshot *snap, const dc_optimize_opts *o, dc_err *err)
{
    memset(c, 0, sizeof *c);
    c->snap = snap;
    c->s = dc_delta_snapshot_storage(snap);
    c->o = o;
    dc_arena_init(&c->arena, DC_JSON_MAX_DOC_BYTES);
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(snap);
    dc_json *doc = NULL;
    const dc_json *data = NULL;
    DC_TRY(dc_delta_protocol_check_write(dc_delta_snapshot_protocol(snap), m, err));
    if (!m->schema_string) return dc_err_set(err, DC_ECORRUPT, "the table has no schema");
    DC_TRY(dc_json_parse(&doc, &c->arena, m->schema_string, strlen(m->schema_string), err));
    DC_TRY(dc_delta_data_schema_json(&data, &c->arena, doc, m, err));
    DC_TRY(dc_pq_schema_from_delta(&c->schema, data, err));
    DC_TRY(dc_delta_stats_opts_from_metadata(&c->stats, dc_delta_snapshot_protocol(snap), m, err));
    DC_TRY(dc_delta_data_file_opts(&c->pq, &c->codec_tag, m, err));
    return choose_keys(c, err);
}

void opt_ctx_dispose(opt_ctx *c)
{
    dc_pq_schema_free(c->schema);
    dc_arena_dispose(&c->arena);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------ schema mapping */

static int mismatch(const opt_input *in, const dc_pq_field *tf, const char *what, dc_err *err)
{
    return dc_err_set(err, DC_EUNSUPPORTED, "%s: column '%s' %s than in the table's schema; "
                      "the file is left as it is", in->add->path, tf->name, what);
}

static bool same_primitive(const dc_pq_field *a, const dc_pq_field *b, const dc_pq_leaf *la,
                           const dc_pq_leaf *lb)
{
    if (a->type != b->type || la->phys != lb->phys || la->type_length != lb->type_length)
        return false;
    if (a->type == DC_TYPE_DECIMAL && (a->precision != b->precision || a->scale != b->scale))
        return false;
    if ((a->type == DC_TYPE_TIMESTAMP || a->type == DC_TYPE_TIMESTAMP_NTZ ||
         a->type == DC_TYPE_TIME) && (a->unit != b->unit || a->int96 != b->int96))
        return false;
    return true;
}

/* Maps every leaf under tf (output) onto sf (the file's), same shape. */
static int map_field(opt_input *in, const dc_pq_schema *ts, const dc_pq_schema *ss,
                     const dc_pq_field *tf, const dc_pq_field *sf, int depth, dc_err *err)
{
    if (depth > DC_PQ_MAX_SCHEMA_DEPTH) return mismatch(in, tf, "is nested deeper", err);
    if (tf->type != sf->type) return mismatch(in, tf, "has another type", err);
    if (tf->leaf >= 0) {
        if (sf->leaf < 0) return mismatch(in, tf, "has another type", err);
        const dc_pq_leaf *tl = &ts->leaves[tf->leaf], *sl = &ss->leaves[sf->leaf];
        if (!same_primitive(tf, sf, tl, sl)) return mismatch(in, tf, "has another type", err);
        if (tl->max_rep != sl->max_rep) return mismatch(in, tf, "is nested otherwise", err);
        in->promote[tf->leaf] = tl->max_def != sl->max_def;
        if (in->promote[tf->leaf] && !(tl->max_rep == 0 && sl->max_def == 0))
            return mismatch(in, tf, "is nullable otherwise", err);
        in->map[tf->leaf] = sf->leaf;
        return 0;
    }
    if (tf->type != DC_TYPE_STRUCT && tf->n_children != sf->n_children)
        return mismatch(in, tf, "is nested otherwise", err);
    if (tf->nullable != sf->nullable) return mismatch(in, tf, "is nullable otherwise", err);
    for (uint32_t k = 0; k < tf->n_children; k++) {
        const dc_pq_field *tc = &tf->children[k], *sc = NULL;
        if (tf->type != DC_TYPE_STRUCT) sc = &sf->children[k];
        for (uint32_t j = 0; !sc && j < sf->n_children; j++)
            if (strcmp(sf->children[j].name, tc->name) == 0) sc = &sf->children[j];
        if (!sc) return mismatch(in, tc, "is missing from a struct that has more members", err);
        DC_TRY(map_field(in, ts, ss, tc, sc, depth + 1, err));
    }
    return 0;
}

static int map_schema(opt_input *in, const opt_ctx *c, dc_err *err)
{
    const dc_pq_schema *ts = c->schema, *ss = dc_pq_reader_schema(in->r);
    in->map = dc_malloc((ts->n_leaves + 1) * sizeof *in->map);
    in->promote = dc_calloc(ts->n_leaves + 1, sizeof *in->promote);
    if (!in->map || !in->promote) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    for (uint32_t i = 0; i < ts->n_leaves; i++) in->map[i] = -1;
    for (uint32_t i = 0; i < ts->root.n_children; i++) {
        const dc_pq_field *tf = &ts->root.children[i], *sf = NULL;
        for (uint32_t j = 0; !sf && j < ss->root.n_children; j++)
            if (strcmp(ss->root.children[j].name, tf->name) == 0) sf = &ss->root.children[j];
        if (!sf && !tf->nullable) return mismatch(in, tf, "is missing and not nullable", err);
        if (sf) DC_TRY(map_field(in, ts, ss, tf, sf, 0, err));
    }
    return 0;
}

/* -------------------------------------------------------------- inputs */

static int open_reader(opt_input *in, opt_ctx *c, dc_err *err)
{
    dc_buf p;
    dc_buf_init(&p, 1 << 20);
    dc_buf_init(&in->hold, DC_MAX_SMALL_FILE);
    int rc = dc_delta_path_to_storage(&p, in->add->path, err);
    if (rc == 0) rc = dc_buf_putc(&p, '\0', err);
    if (rc == 0) rc = dc_delta_pq_open(&in->r, &in->hold, c->s, (const char *)p.data,
                                  dc_delta_add_size(in->add), err);
    dc_buf_dispose(&p);
    return rc;
}

static int load_dv(opt_input *in, const opt_ctx *c, dc_err *err)
{
    if (!in->add->has_dv) return 0;
    dc_delta_dv *dv = NULL;
    DC_TRY(dc_delta_dv_load(&dv, c->s, &in->add->dv, err));
    int rc = dc_delta_dv_to_array(&in->dv, &in->n_dv, dv, err);
    dc_delta_dv_free(dv);
    return rc;
}

int opt_input_open(opt_input *in, opt_ctx *c, const dc_delta_add *add, dc_err *err)
{
    memset(in, 0, sizeof *in);
    in->add = add;
    in->monotonic = true;
    DC_TRY(open_reader(in, c, err));
    const pq_file_meta *m = dc_pq_reader_meta(in->r);
    in->n_rg = m->n_row_groups;
    in->rgs = dc_calloc(in->n_rg + 1, sizeof *in->rgs);
    if (!in->rgs) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    DC_TRY(map_schema(in, c, err));
    DC_TRY(load_dv(in, c, err));
    if (in->n_dv && m->num_rows >= 0 && in->dv[in->n_dv - 1] >= (uint64_t)m->num_rows)
        return dc_err_set(err, DC_ECORRUPT, "%s: its deletion vector deletes row %" PRIu64
                          " of a file of %" PRId64 " rows", add->path, in->dv[in->n_dv - 1],
                          m->num_rows);
    return 0;
}

static void rg_free(opt_rg *g, uint32_t n_leaves)
{
    if (!g) return;
    for (uint32_t i = 0; i < n_leaves; i++) {
        if (g->cols) dc_pq_column_dispose(&g->cols[i]);
        if (g->lstart) dc_free(g->lstart[i]);
        if (g->vstart) dc_free(g->vstart[i]);
    }
    dc_free(g->cols);
    dc_free(g->lstart);
    dc_free(g->vstart);
    dc_free(g);
}

void opt_input_close(opt_input *in, const opt_ctx *c)
{
    for (uint32_t i = 0; in->rgs && i < in->n_rg; i++) rg_free(in->rgs[i], c->schema->n_leaves);
    dc_free(in->rgs);
    dc_free(in->map);
    dc_free(in->promote);
    dc_free(in->dv);
    dc_pq_reader_free(in->r);
    dc_buf_dispose(&in->hold);
    memset(in, 0, sizeof *in);
}

/* ------------------------------------------------------- row groups */

/* Level and value starts of every row of one decoded leaf. */
static int row_starts(opt_rg *g, uint32_t leaf, const dc_pq_leaf *sl, const opt_input *in,
                      uint32_t rg, dc_err *err)
{
    const dc_pq_column *col = &g->cols[leaf];
    const bool nested = sl->max_rep > 0;
    if (!nested && col->n_levels != g->rows)
        return dc_err_set(err, DC_ECORRUPT, "%s: row group %u has %u rows, column %s %zu values",
                          in->add->path, rg, g->rows, sl->dotted, col->n_levels);
    if (!nested && sl->max_def == 0) return 0;  /* row i is level i and value i */
    uint32_t *vs = dc_malloc(((size_t)g->rows + 1) * sizeof *vs);
    uint32_t *ls = nested ? dc_malloc(((size_t)g->rows + 1) * sizeof *ls) : NULL;
    g->vstart[leaf] = vs;
    g->lstart[leaf] = ls;
    if (!vs || (nested && !ls)) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    uint32_t row = 0, v = 0;
    for (size_t l = 0; l < col->n_levels; l++) {
        if (!nested || col->rep[l] == 0) {
            if (row == g->rows) goto bad;
            vs[row] = v;
            if (nested) ls[row] = (uint32_t)l;
            row++;
        }
        v += sl->max_def == 0 || col->def[l] == sl->max_def;
    }
    if (row != g->rows || v != col->n_values) goto bad;
    vs[row] = v;
    if (nested) ls[row] = (uint32_t)col->n_levels;
    return 0;
bad:
    return dc_err_set(err, DC_ECORRUPT, "%s: row group %u: column %s does not hold %u rows",
                      in->add->path, rg, sl->dotted, g->rows);
}

static int rg_load(opt_rg **out, opt_input *in, const opt_ctx *c, uint32_t rg, dc_err *err)
{
    const uint32_t nl = c->schema->n_leaves;
    const int64_t rows = dc_pq_reader_meta(in->r)->row_groups[rg].num_rows;
    if (rows < 0 || rows > (int64_t)UINT32_MAX - 1)
        return dc_err_set(err, DC_ELIMIT, "%s: row group %u has %" PRId64 " rows", in->add->path,
                          rg, rows);
    opt_rg *g = dc_calloc(1, sizeof *g);
    if (!g) return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    *out = g;
    g->rows = (uint32_t)rows;
    g->cols = dc_calloc(nl + 1, sizeof *g->cols);
    g->lstart = dc_calloc(nl + 1, sizeof *g->lstart);
    g->vstart = dc_calloc(nl + 1, sizeof *g->vstart);
    if (!g->cols || !g->lstart || !g->vstart)
        return dc_err_set(err, DC_ENOMEM, "optimize: out of memory");
    for (uint32_t i = 0; i < nl; i++) dc_pq_column_init(&g->cols[i]);
    const dc_pq_schema *ss = dc_pq_reader_schema(in->r);
    for (uint32_t i = 0; i < nl; i++) {
        if (in->map[i] < 0) continue;
        DC_TRY(dc_pq_reader_read_column(&g->cols[i], in->r, rg, (uint32_t)in->map[i], err));
        DC_TRY(row_starts(g, i, &ss->leaves[in->map[i]], in, rg, err));
    }
    return 0;
}

int opt_input_rg(const opt_rg **out, opt_input *in, const opt_ctx *c, uint32_t rg, dc_err *err)
{
    DC_ASSERT(rg < in->n_rg);
    if (!in->rgs[rg]) {
        if (in->monotonic)
            for (uint32_t i = 0; i < rg; i++) {
                rg_free(in->rgs[i], c->schema->n_leaves);
                in->rgs[i] = NULL;
            }
        int rc = rg_load(&in->rgs[rg], in, c, rg, err);
        if (rc < 0) {
            rg_free(in->rgs[rg], c->schema->n_leaves);
            in->rgs[rg] = NULL;
            return rc;
        }
    }
    *out = in->rgs[rg];
    return 0;
}
