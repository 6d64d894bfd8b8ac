/*
 * OPTIMIZE planning (optimize.h): which files, and in which bins. Pure: it
 * sees add actions only (size, stats numRecords, the DV's cardinality,
 * partitionValues), so tests can plan over hand-made files.
 */
#include "optimize_int.h"

#include <inttypes.h>
#include <stdlib.h>

void dc_optimize_opts_init(dc_optimize_opts *o)
{
    memset(o, 0, sizeof *o);
    o->target_file_size = DC_OPTIMIZE_DEFAULT_TARGET;
    o->min_file_size = -1;
    o->max_deleted_ratio = DC_OPTIMIZE_DEFAULT_RATIO;
    o->sort = DC_OPTIMIZE_SORT_AUTO;
    o->max_retries = DC_OPTIMIZE_DEFAULT_RETRIES;
}

int dc_optimize_opts_check(const dc_optimize_opts *o, dc_err *err)
{
    if (o->target_file_size <= 0)
        return dc_err_set(err, DC_EINVAL, "target file size: %" PRId64 " bytes (must be > 0)",
                          o->target_file_size);
    if (o->min_file_size > o->target_file_size)
        return dc_err_set(err, DC_EINVAL, "min file size %" PRId64 " is above the target file "
                          "size %" PRId64, o->min_file_size, o->target_file_size);
    if (!(o->max_deleted_ratio > 0.0))  /* NaN too */
        return dc_err_set(err, DC_EINVAL, "max deleted ratio %g: must be > 0 (above 1 turns "
                          "the rule off)", o->max_deleted_ratio);
    if (o->max_retries < 0 || o->max_retries > 1000)
        return dc_err_set(err, DC_EINVAL, "max retries %d: must be 0..1000", o->max_retries);
    if (o->sort == DC_OPTIMIZE_SORT_KEYS && (o->n_keys == 0 || o->n_keys > DC_OPTIMIZE_MAX_KEYS))
        return dc_err_set(err, DC_EINVAL, "%u sort columns (1..%d)", o->n_keys,
                          DC_OPTIMIZE_MAX_KEYS);
    for (uint32_t i = 0; o->sort == DC_OPTIMIZE_SORT_KEYS && i < o->n_keys; i++)
        if (!o->keys[i] || !*o->keys[i])
            return dc_err_set(err, DC_EINVAL, "sort column %u has no name", i + 1);
    return 0;
}

static int64_t min_size_of(const dc_optimize_opts *o)
{
    return o->min_file_size >= 0 ? o->min_file_size : o->target_file_size / 4;
}

/* ------------------------------------------------------- candidates */

/* A file the plan may take. */
typedef struct cand {
    size_t i;               /* index into the planner's input */
    char *part;             /* canonical partition tuple (dc_malloc) */
    int64_t size;           /* bytes */
    int64_t rows;           /* numRecords, -1 unknown */
    int64_t deleted;        /* DV cardinality */
    int64_t est;            /* estimated output bytes: size x live share */
    double share;           /* deleted / rows (0 when rows unknown) */
    bool small;             /* picked for its size (else for its deleted rows) */
} cand;

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const dc_delta_kv *)a)->key, ((const dc_delta_kv *)b)->key);
}

/* "key\x01value\x00" per entry sorted by key ("key\x02\x00" for null), so
 * two files of one partition get the same text whatever their map order. */
static int partition_text(char **out, const dc_delta_map *m, dc_err *err)
{
    dc_delta_kv *kv = dc_malloc((m->n ? m->n : 1) * sizeof *kv);
    dc_buf b;
    dc_buf_init(&b, (size_t)64 * 1024 * 1024);
    int rc = kv ? 0 : dc_err_set(err, DC_ENOMEM, "optimize plan: out of memory");
    if (rc == 0 && m->n) memcpy(kv, m->items, m->n * sizeof *kv);
    if (rc == 0) qsort(kv, m->n, sizeof *kv, cmp_kv);
    for (uint32_t k = 0; rc == 0 && k < m->n; k++) {
        rc = dc_buf_puts(&b, kv[k].key, err);
        if (rc == 0) rc = dc_buf_putc(&b, kv[k].value ? 1 : 2, err);
        if (rc == 0 && kv[k].value) rc = dc_buf_puts(&b, kv[k].value, err);
        if (rc == 0) rc = dc_buf_putc(&b, 0x1f, err);
    }
    if (rc == 0) rc = dc_buf_putc(&b, 0, err);
    if (rc == 0) *out = (char *)dc_buf_steal(&b, NULL);
    dc_buf_dispose(&b);
    dc_free(kv);
    return rc;
}

/* Fills *c for file i; *pick false when the file is no candidate. */
static int describe(cand *c, bool *pick, const dc_delta_add *a, size_t i,
                    const dc_optimize_opts *o)
{
    memset(c, 0, sizeof *c);
    c->i = i;
    c->size = a->size > 0 ? a->size : 0;
    c->rows = -1;
    int64_t rows = 0;
    dc_err tmp;
    if (a->stats && dc_delta_stats_num_records(&rows, a->stats, &tmp) == 0 && rows >= 0)
        c->rows = rows;
    c->deleted = a->has_dv && a->dv.cardinality > 0 ? a->dv.cardinality : 0;
    if (c->rows >= 0 && c->deleted > c->rows) c->deleted = c->rows; /* a bad DV: the rewrite says */
    c->share = c->rows > 0 ? (double)c->deleted / (double)c->rows : 0.0;
    c->est = c->rows > 0 ? (int64_t)((double)c->size * (1.0 - c->share)) : c->size;
    c->small = c->size < min_size_of(o);
    const bool ratio = c->rows > 0 && c->deleted > 0 && c->share >= o->max_deleted_ratio;
    *pick = c->small || ratio;
    return 0;
}

/* Priority: small files first (smallest first), then ratio files (most
 * deleted share first, then smallest); input order breaks ties. */
static int cmp_priority(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->small != b->small) return a->small ? -1 : 1;
    if (!a->small && a->share != b->share) return a->share > b->share ? -1 : 1;
    if (a->size != b->size) return a->size < b->size ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Packing order: partition, then estimated output size, then input order. */
static int cmp_pack(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    const int p = strcmp(a->part, b->part);
    if (p) return p;
    if (a->est != b->est) return a->est < b->est ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Keeps the candidates the budget allows, in priority order. The first
 * small file and the first file with deleted rows are always kept (when
 * there are such candidates): each kind makes progress at every run, so
 * neither small files nor deleted rows can pile up behind the other. */
static size_t apply_budget(cand *c, size_t n, const dc_optimize_opts *o)
{
    qsort(c, n, sizeof *c, cmp_priority);
    size_t kept = 0;
    uint64_t bytes = 0;
    bool small_kept = false, ratio_kept = false;
    for (size_t k = 0; k < n; k++) {
        if (o->max_files && kept >= o->max_files) break;
        const uint64_t sz = (uint64_t)c[k].size;
        const bool first_of_kind = c[k].small ? !small_kept : !ratio_kept;
        if (!first_of_kind && o->max_bytes && (bytes + sz > o->max_bytes || bytes + sz < bytes))
            continue;
        small_kept |= c[k].small;
        ratio_kept |= !c[k].small;
        bytes += sz;
        cand t = c[kept];
        c[kept++] = c[k];
        c[k] = t;
    }
    return kept;
}

/* ------------------------------------------------------------- bins */

static void bin_add(dc_optimize_bin *b, const cand *c)
{
    b->files[b->n++] = c->i;
    b->bytes += c->size;
    if (b->rows >= 0) b->rows = c->rows >= 0 ? b->rows + c->rows : -1;
    b->deleted += c->deleted;
}

/* Packs the (partition-sorted) candidates into bins; drops bins of one
 * file without deleted rows. */
static void pack(dc_optimize_plan *p, const cand *c, size_t n, const dc_optimize_opts *o)
{
    size_t used = 0;
    for (size_t k = 0; k < n;) {
        dc_optimize_bin *b = &p->bins[p->n_bins];
        memset(b, 0, sizeof *b);
        b->files = p->idx + used;
        int64_t est = 0;
        size_t first = k;
        for (; k < n; k++) {
            if (k > first && strcmp(c[k].part, c[first].part) != 0) break;
            if (b->n && est + c[k].est > o->target_file_size) break;
            est += c[k].est;
            bin_add(b, &c[k]);
        }
        if (b->n == 1 && b->deleted == 0) continue;  /* nothing to gain */
        for (size_t j = first; j < k; j++) {
            p->n_small += c[j].small;
            p->n_deleted += !c[j].small;
        }
        used += b->n;
        p->n_files += b->n;
        p->bytes += (uint64_t)b->bytes;
        p->n_bins++;
    }
}

int dc_optimize_plan_files(dc_optimize_plan *out, const dc_delta_add *const *files, size_t n,
                           const dc_optimize_opts *o, dc_err *err)
{
    memset(out, 0, sizeof *out);
    DC_TRY(dc_optimize_opts_check(o, err));
    cand *c = dc_calloc(n ? n : 1, sizeof *c);
    out->bins = dc_calloc(n ? n : 1, sizeof *out->bins);
    out->idx = dc_calloc(n ? n : 1, sizeof *out->idx);
    size_t nc = 0;
    int rc = c && out->bins && out->idx ? 0 : dc_err_set(err, DC_ENOMEM, "optimize plan: out "
                                                         "of memory for %zu files", n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool pick = false;
        rc = describe(&c[nc], &pick, files[i], i, o);
        if (rc == 0 && pick) rc = partition_text(&c[nc].part, &files[i]->partition_values, err);
        if (rc == 0 && pick) nc++;
    }
    if (rc == 0) {
        out->candidates = nc;
        const size_t kept = nc ? apply_budget(c, nc, o) : 0;
        qsort(c, kept, sizeof *c, cmp_pack);
        pack(out, c, kept, o);
    }
    for (size_t k = 0; c && k < nc; k++) dc_free(c[k].part);
    dc_free(c);
    if (rc < 0) dc_optimize_plan_dispose(out);
    return rc;
}

void dc_optimize_plan_dispose(dc_optimize_plan *p)
{
    dc_free(p->bins);
    dc_free(p->idx);
    memset(p, 0, sizeof *p);
}
