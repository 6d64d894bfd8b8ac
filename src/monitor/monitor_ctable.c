/*
 * monitor: completeness, the table side — the source position a typed table
 * has reached, its rows counted and hashed per range, and the keys of the
 * ranges that differ (matched against the source's rows of the same
 * snapshot).
 */
#include "monitor_cint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------ ranges */

static size_t slot(int64_t id, size_t cap)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

dc_cmon_range *dc_cmon_map_find(const dc_cmon_map *m, int64_t id)
{
    if (!m->cap) return NULL;
    for (size_t i = slot(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->b[i].used) return NULL;
        if (m->b[i].id == id) return &m->b[i];
    }
}

static int grow(dc_cmon_map *m, dc_err *err)
{
    const size_t cap = m->cap ? m->cap * 2 : 1024;
    if (cap / 2 > DC_MONITOR_MAX_RANGES)
        return dc_err_set(err, DC_ELIMIT, "completeness: more than %zu ranges (use larger "
                          "ranges)", (size_t)DC_MONITOR_MAX_RANGES);
    dc_cmon_range *b = dc_calloc(cap, sizeof *b);
    if (!b) return dc_err_set(err, DC_ENOMEM, "completeness: out of memory");
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->b[i].used) continue;
        size_t j = slot(m->b[i].id, cap);
        while (b[j].used) j = (j + 1) & (cap - 1);
        b[j] = m->b[i];
    }
    dc_free(m->b);
    m->b = b;
    m->cap = cap;
    return 0;
}

int dc_cmon_map_get(dc_cmon_range **out, dc_cmon_map *m, int64_t id, dc_err *err)
{
    if ((*out = dc_cmon_map_find(m, id))) return 0;
    if ((m->n + 1) * 2 > m->cap) DC_TRY(grow(m, err));
    size_t i = slot(id, m->cap);
    while (m->b[i].used) i = (i + 1) & (m->cap - 1);
    m->b[i] = (dc_cmon_range){.id = id, .used = true};
    m->n++;
    *out = &m->b[i];
    return 0;
}

/* ---------------------------------------------------------- position */

int dc_cmon_pos_parse(dc_cdc_srcpos *out, const char *file, int64_t pos, dc_err *err)
{
    const char *dot = strrchr(file, '.');
    char *e = NULL;
    const long long n = dot ? strtoll(dot + 1, &e, 10) : -1;
    if (!dot || e == dot + 1 || *e || n < 0)
        return dc_err_set(err, DC_EINVAL, "the source's binlog file '%s' has no number (is "
                          "binary logging on?)", file);
    /* A snapshot read at P sorts before a streamed change at P (srcpos_cmp):
     * rows the bootstrap wrote at P are not after it, a change at P is. */
    *out = (dc_cdc_srcpos){n, pos, 0, true};
    return 0;
}

/* The position a watermark's two txn versions encode (merge_typed.c's
 * dc_mtyped_pos_seq: file; pos << 32 | stream bit 31 | row, sign-flipped). */
static dc_cdc_srcpos decode_watermark(int64_t hi, int64_t lo)
{
    const uint64_t u = (uint64_t)lo ^ (1ull << 63);
    return (dc_cdc_srcpos){hi, (int64_t)(u >> 32), (int32_t)(u & 0x7fffffffu),
                           (u & (1ull << 31)) == 0};
}

/* The greatest position the table's watermarks and history floor record. */
static bool reached(dc_cdc_srcpos *out, const dc_delta_snapshot *snap)
{
    bool found = false;
    char lo_id[DC_DELTA_MAX_APP_ID_BYTES];
    for (size_t i = 0; i < dc_delta_snapshot_n_txns(snap); i++) {
        const dc_delta_txn *t = dc_delta_snapshot_txn(snap, i);
        const size_t n = strlen(t->app_id);
        if (n < 7 || n >= sizeof lo_id || strcmp(t->app_id + n - 7, "#pos.hi") != 0) continue;
        memcpy(lo_id, t->app_id, n + 1);
        lo_id[n - 2] = 'l';
        lo_id[n - 1] = 'o';
        int64_t lo = 0;
        if (dc_delta_snapshot_txn_version(&lo, snap, lo_id) < 0) continue;
        const dc_cdc_srcpos p = decode_watermark(t->version, lo);
        if (!found || dc_cdc_srcpos_cmp(&p, out) > 0) *out = p;
        found = true;
    }
    return found;
}

int dc_cmon_table_position(cctx *c, dc_err *err)
{
    dc_delta_snapshot_free(c->snap);
    c->snap = NULL;
    if (!c->s) DC_TRY(dc_storage_open(&c->s, c->o->table, err));
    DC_TRY(dc_delta_snapshot_load(&c->snap, c->s, -1, err));
    dc_complete_result *r = c->r;
    r->table_version = dc_delta_snapshot_version(c->snap);
    dc_cdc_srcpos at;
    r->reached[0] = 0;
    r->behind = true;
    if (reached(&at, c->snap)) {
        /* named like P's file: its base name with the watermark's number */
        const char *dot = strrchr(r->pos.file, '.');
        const int base = dot ? (int)(dot - r->pos.file) : 0;
        snprintf(r->reached, sizeof r->reached, "%.*s.%06lld:%lld", base, r->pos.file,
                 (long long)at.file, (long long)at.pos);
        r->behind = dc_cdc_srcpos_cmp(&at, &c->p) < 0;
    }
    return 0;
}

/* -------------------------------------------------------------- rows */

/* One scan row's facts. */
typedef struct trow {
    const dc_json *obj;         /* the row */
    int64_t k0;                 /* first key (integer keys), or its bucket (hashed) */
    bool after;                 /* its __source_pos is after P */
} trow;

/* The row's bucket: the hash of its key's canonical text modulo the
 * buckets, as source_buckets has the source compute it; text, val scratch. */
static int row_bucket(int64_t *out, const cctx *c, const dc_json *obj, dc_buf *text,
                      dc_buf *val, dc_err *err)
{
    DC_TRY(dc_monitor_canon_key(text, val, &c->st, obj, err));
    *out = (int64_t)(dc_monitor_canon_hash(text->data, text->len) % (uint64_t)c->r->buckets);
    return 0;
}

/* The row's first key or bucket, after-P flag; false for a soft-deleted row. */
static int row_facts(bool *live, trow *t, const cctx *c, const dc_json *obj, dc_buf *text,
                     dc_buf *val, dc_err *err)
{
    char name[1200];
    t->obj = obj;
    snprintf(name, sizeof name, "%sdeleted", c->prefix);
    const dc_json *del = dc_json_get(obj, name);
    *live = !del || del->type != DC_JSON_TRUE;
    snprintf(name, sizeof name, "%ssource_pos", c->prefix);
    const dc_json *pos = dc_json_get(obj, name);
    t->after = false;
    if (pos && pos->type == DC_JSON_STRING) {
        dc_cdc_srcpos p;
        dc_err e;
        dc_err_clear(&e);
        if (dc_cdc_srcpos_parse(&p, pos->u.str, pos->len, &e) == 0)
            t->after = dc_cdc_srcpos_cmp(&p, &c->p) > 0;
    }
    t->k0 = 0;
    if (c->hashed) return row_bucket(&t->k0, c, obj, text, val, err);
    if (!c->int_key) return 0;
    const char *kname = c->st.cols[c->key_col].name;
    const dc_json *k = dc_json_get(obj, kname);
    if (!k || (k->type != DC_JSON_NUMBER && k->type != DC_JSON_STRING))
        return dc_err_set(err, DC_EINVAL, "table %s: a row without key column '%s'",
                          c->o->table, kname);
    char *e = NULL;
    t->k0 = strtoll(k->u.str, &e, 10);
    if (e == k->u.str || *e)
        return dc_err_set(err, DC_EINVAL, "table %s: key '%s' is not an integer", c->o->table,
                          k->u.str);
    return 0;
}

/* Pass 1: counts, max, ranges. */
static int add_row(cctx *c, const trow *t, dc_buf *text, dc_buf *val, dc_err *err)
{
    dc_complete_result *r = c->r;
    r->tab_rows++;
    r->after_rows += t->after;
    if (c->int_key && (!r->tab_has_max || t->k0 > r->tab_max)) r->tab_max = t->k0;
    r->tab_has_max |= c->int_key;
    if (c->o->mode != DC_COMPLETE_RANGES) return 0;
    dc_cmon_range *b = NULL;
    DC_TRY(dc_cmon_map_get(&b, &c->map, dc_cmon_range_id(c, t->k0), err));
    DC_TRY(dc_monitor_canon_row(text, val, &c->st, t->obj, err));
    b->tab_n++;
    b->tab_h ^= dc_monitor_canon_hash(text->data, text->len);
    b->after |= t->after;
    return 0;
}

typedef int (*row_fn)(cctx *c, const trow *t, dc_buf *text, dc_buf *val, void *ctx,
                      dc_err *err);

/* The columns a probe (count, max_id) reads: the first key and the
 * metadata it needs, those the table has; ranges read every column. */
static int probe_columns(const char *names[3], size_t *n, cctx *c, char meta[2][1200],
                         dc_err *err)
{
    const dc_delta_schema *schema = NULL;
    DC_TRY(dc_delta_snapshot_schema(&schema, c->snap, err));
    snprintf(meta[0], sizeof meta[0], "%ssource_pos", c->prefix);
    snprintf(meta[1], sizeof meta[1], "%sdeleted", c->prefix);
    const char *want[3] = {c->st.cols[c->key_col].name, meta[0], meta[1]};
    *n = 0;
    for (int i = 0; i < 3; i++)
        if (dc_delta_schema_find(schema, want[i])) names[(*n)++] = want[i];
    return 0;
}

/* Every live row of the snapshot through fn. */
static int scan(cctx *c, row_fn fn, void *ctx, dc_err *err)
{
    dc_delta_scan *sc = NULL;
    const char *cols[3];
    char meta[2][1200];
    size_t n_cols = 0;
    dc_buf lines, text, val;
    dc_arena a;
    dc_buf_init(&lines, (size_t)1 << 34);
    dc_buf_init(&text, (size_t)1 << 34);
    dc_buf_init(&val, DC_MONITOR_MAX_VALUE_BYTES);
    dc_arena_init(&a, (size_t)1 << 34);
    const bool probe = c->o->mode != DC_COMPLETE_RANGES;
    int rc = probe ? probe_columns(cols, &n_cols, c, meta, err) : 0;
    if (rc == 0) rc = dc_delta_scan_new(&sc, c->snap, probe ? cols : NULL, n_cols, err);
    bool done = false;
    while (rc == 0 && !done) {
        dc_buf_reset(&lines);
        rc = dc_delta_scan_next(sc, &lines, &done, err);
        const char *p = (const char *)lines.data, *end = p + lines.len;
        while (rc == 0 && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            dc_json *obj = NULL;
            trow t;
            bool live = true;
            dc_arena_reset(&a);
            rc = dc_json_parse(&obj, &a, p, n, err);
            if (rc == 0) rc = row_facts(&live, &t, c, obj, &text, &val, err);
            if (rc == 0 && live) rc = fn(c, &t, &text, &val, ctx, err);
            p += n + 1;
        }
    }
    dc_delta_scan_free(sc);
    dc_arena_dispose(&a);
    dc_buf_dispose(&lines);
    dc_buf_dispose(&text);
    dc_buf_dispose(&val);
    if (rc < 0) dc_err_prefix(err, "table %s", c->o->table);
    return rc;
}

static int pass1(cctx *c, const trow *t, dc_buf *text, dc_buf *val, void *ctx, dc_err *err)
{
    (void)ctx;
    return add_row(c, t, text, val, err);
}

int dc_cmon_table_scan(cctx *c, dc_err *err)
{
    return scan(c, pass1, NULL, err);
}

int dc_cmon_table_count(bool *counted, cctx *c, dc_err *err)
{
    *counted = false;
    const dc_delta_schema *schema = NULL;
    DC_TRY(dc_delta_snapshot_schema(&schema, c->snap, err));
    char del[1200];
    snprintf(del, sizeof del, "%sdeleted", c->prefix);
    /* soft-deleted rows stay in the files: only their rows tell */
    if (dc_delta_schema_find(schema, del)) return 0;
    uint64_t rows = 0;
    for (size_t i = 0; i < dc_delta_snapshot_n_files(c->snap); i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(c->snap, i);
        int64_t n = -1;
        dc_err tmp;
        dc_err_clear(&tmp);
        if (dc_delta_stats_num_records(&n, a->stats, &tmp) < 0 || n < 0) return 0;
        const int64_t gone = a->has_dv ? a->dv.cardinality : 0;
        if (gone > n)
            return dc_err_set(err, DC_ECORRUPT, "table %s: file %s: its deletion vector "
                              "removes %" PRId64 " rows of %" PRId64, c->o->table, a->path, gone,
                              n);
        rows += (uint64_t)(n - gone);
    }
    c->r->tab_rows = rows;
    *counted = true;
    return 0;
}

int dc_cmon_table_max(bool *known, cctx *c, dc_err *err)
{
    *known = false;
    bool counted = false;
    DC_TRY(dc_cmon_table_count(&counted, c, err));
    const dc_delta_schema *schema = NULL;
    DC_TRY(dc_delta_snapshot_schema(&schema, c->snap, err));
    const char *phys = dc_delta_colmap_physical(schema, c->st.cols[c->key_col].name);
    if (!counted || !phys) return 0;
    /* a file without a vector holds its max; one with may have deleted it */
    bool clean = false, dv = false;
    int64_t clean_max = 0, dv_max = 0;
    for (size_t i = 0; i < dc_delta_snapshot_n_files(c->snap); i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(c->snap, i);
        int64_t n = 0, max = 0;
        bool tight = true;
        dc_err tmp;
        dc_err_clear(&tmp);
        if (dc_delta_stats_num_records(&n, a->stats, &tmp) < 0) return 0;
        if (n - (a->has_dv ? a->dv.cardinality : 0) <= 0) continue;
        if (dc_delta_stats_max_i64(&max, &tight, a->stats, phys, &tmp) < 0) return 0;
        if (!tight && !a->has_dv) return 0; /* wide bounds: not a row's value */
        bool *have = a->has_dv ? &dv : &clean;
        int64_t *m = a->has_dv ? &dv_max : &clean_max;
        if (!*have || max > *m) *m = max;
        *have = true;
    }
    if (dv && (!clean || dv_max > clean_max)) return 0;
    c->r->tab_has_max = clean;
    c->r->tab_max = clean_max;
    *known = true;
    return 0;
}

/* --------------------------------------------------------------- keys */

/* A key of one side: its canonical text (what the sides match on: unlike
 * the values joined by ',', it is unambiguous), first key or bucket, the
 * row's hash. */
typedef struct kent {
    char *canon;                /* owned, n bytes */
    size_t n;
    int64_t k0;
    uint64_t h;
    bool after;
} kent;

typedef struct klist {
    kent *e;
    size_t n, cap;
} klist;

static int klist_add(klist *l, const char *canon, size_t n, int64_t k0, uint64_t h, bool after,
                     dc_err *err)
{
    DC_TRY(dc_array_grow((void **)&l->e, &l->cap, l->n + 1, sizeof *l->e, (size_t)1 << 40,
                         err));
    char *s = dc_malloc(n + 1);
    if (!s) return dc_err_set(err, DC_ENOMEM, "completeness: out of memory");
    memcpy(s, canon, n);
    s[n] = 0;
    l->e[l->n++] = (kent){s, n, k0, h, after};
    return 0;
}

static void klist_dispose(klist *l)
{
    for (size_t i = 0; i < l->n; i++) dc_free(l->e[i].canon);
    dc_free(l->e);
}

static int kent_cmp(const void *a, const void *b)
{
    const kent *x = a, *y = b;
    if (x->k0 != y->k0) return x->k0 < y->k0 ? -1 : 1;
    const int o = memcmp(x->canon, y->canon, x->n < y->n ? x->n : y->n);
    return o ? o : (x->n > y->n) - (x->n < y->n);
}

/* The table's keys in the drilled ranges. */
static int pass2(cctx *c, const trow *t, dc_buf *text, dc_buf *val, void *ctx, dc_err *err)
{
    const dc_cmon_range *b = dc_cmon_map_find(&c->map, dc_cmon_range_id(c, t->k0));
    if (!b || !b->drill) return 0;
    DC_TRY(dc_monitor_canon_row(text, val, &c->st, t->obj, err));
    const uint64_t h = dc_monitor_canon_hash(text->data, text->len);
    DC_TRY(dc_monitor_canon_key(text, val, &c->st, t->obj, err));
    return klist_add(ctx, (const char *)text->data, text->len, t->k0, h, t->after, err);
}

/* One source row: key text, first key or bucket, hash. */
static int key_row(void *ctx, char **row, unsigned long *lens, dc_err *err)
{
    return klist_add(ctx, row[0], lens[0], strtoll(row[1], NULL, 10),
                     strtoull(row[2], NULL, 10), false, err);
}

/* The WHERE of the source's keys: the range's first keys, or the drilled
 * buckets (one query for all: a bucket is no index range). */
static int keys_where(dc_buf *q, const cctx *c, const dc_complete_range *d, size_t n,
                      dc_err *err)
{
    if (!c->hashed)
        return dc_buf_appendf(q, err, " WHERE %s BETWEEN %" PRId64 " AND %" PRId64,
                              (const char *)c->kid.data, d->lo, d->hi);
    DC_TRY(dc_buf_appendf(q, err, " WHERE %s IN (", (const char *)c->bucket.data));
    for (size_t i = 0; i < n; i++)
        DC_TRY(dc_buf_appendf(q, err, "%s%" PRId64, i ? "," : "", d[i].lo));
    return dc_buf_putc(q, ')', err);
}

/* The source's keys and hashes in n ranges from d (hashed), or in d alone,
 * from the open snapshot. */
static int source_keys(klist *l, cctx *c, const dc_complete_range *d, size_t n, dc_err *err)
{
    dc_buf q;
    dc_buf_init(&q, 1 << 26);
    int rc = dc_buf_puts(&q, "SELECT ", err);
    if (rc == 0) rc = dc_mysql_canon_key(&q, &c->st, err);
    if (rc == 0)
        rc = dc_buf_appendf(&q, err, ", %s, ",
                            (const char *)(c->hashed ? c->bucket.data : c->kid.data));
    if (rc == 0) rc = dc_mysql_canon_hash(&q, &c->st, err);
    if (rc == 0) rc = dc_buf_puts(&q, (const char *)c->from.data, err);
    if (rc == 0) rc = keys_where(&q, c, d, n, err);
    if (rc == 0) rc = dc_buf_putc(&q, 0, err);
    if (rc == 0) rc = dc_cmon_stream(c->m, (const char *)q.data, key_row, l, err);
    dc_buf_dispose(&q);
    return rc;
}

/* A key as people read it: its values joined by ',' (hex for binary, as in
 * the canonical text), from the canonical text "<bytes>:<text>" / "N". */
static int key_display(dc_buf *out, const kent *e, dc_err *err)
{
    const char *p = e->canon, *end = p + e->n;
    dc_buf_reset(out);
    for (bool first = true; p < end; first = false) {
        if (!first) DC_TRY(dc_buf_putc(out, ',', err));
        if (*p == 'N') {
            DC_TRY(dc_buf_puts(out, "NULL", err));
            p++;
            continue;
        }
        char *colon = NULL;
        const unsigned long long len = strtoull(p, &colon, 10);
        if (colon == p || colon >= end || *colon != ':' || len > (size_t)(end - colon - 1))
            return dc_err_set(err, DC_EINVAL, "completeness: a key's text is not canonical");
        DC_TRY(dc_buf_append(out, colon + 1, (size_t)len, err));
        p = colon + 1 + len;
    }
    return dc_buf_putc(out, 0, err);
}

static int add_key(dc_complete_result *r, uint32_t max, const kent *e, dc_complete_diff d,
                   dc_buf *tmp, dc_err *err)
{
    if (r->n_keys >= max) {
        r->keys_truncated = true;
        return 0;
    }
    if (!r->keys && !(r->keys = dc_calloc(max, sizeof *r->keys)))
        return dc_err_set(err, DC_ENOMEM, "completeness: out of memory");
    DC_TRY(key_display(tmp, e, err));
    if (!(r->keys[r->n_keys].key = dc_strdup((const char *)tmp->data)))
        return dc_err_set(err, DC_ENOMEM, "completeness: out of memory");
    r->keys[r->n_keys].diff = d;
    r->keys[r->n_keys++].after = e->after;
    return 0;
}

/* Merges the two sorted lists into r->keys. */
static int diff_keys(cctx *c, const klist *src, const klist *tab, dc_err *err)
{
    const uint32_t max = c->o->max_keys ? c->o->max_keys : DC_MONITOR_MAX_KEYS;
    dc_buf tmp;
    dc_buf_init(&tmp, DC_MONITOR_MAX_VALUE_BYTES);
    int rc = 0;
    size_t i = 0, j = 0;
    while (rc == 0 && (i < src->n || j < tab->n)) {
        const int o = i == src->n ? 1 : j == tab->n ? -1 : kent_cmp(&src->e[i], &tab->e[j]);
        if (o < 0) rc = add_key(c->r, max, &src->e[i++], DC_DIFF_MISSING, &tmp, err);
        else if (o > 0) rc = add_key(c->r, max, &tab->e[j++], DC_DIFF_EXTRA, &tmp, err);
        else if (src->e[i++].h != tab->e[j].h)
            rc = add_key(c->r, max, &tab->e[j++], DC_DIFF_VALUES, &tmp, err);
        else j++;
    }
    dc_buf_dispose(&tmp);
    return rc;
}

int dc_cmon_keys(cctx *c, dc_err *err)
{
    klist src = {0}, tab = {0};
    int rc = 0;
    const size_t n = c->r->n_ranges < DC_MONITOR_MAX_KEY_RANGES ? c->r->n_ranges
                                                                 : DC_MONITOR_MAX_KEY_RANGES;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const dc_complete_range *d = &c->r->ranges[i];
        dc_cmon_range *b = dc_cmon_map_find(&c->map, dc_cmon_range_id(c, d->lo));
        DC_ASSERT(b);
        b->drill = true;
        if (!c->hashed) rc = source_keys(&src, c, d, 1, err);
    }
    if (rc == 0 && c->hashed && n) rc = source_keys(&src, c, c->r->ranges, n, err);
    if (rc == 0) rc = scan(c, pass2, &tab, err);
    if (rc == 0) {
        if (src.n) qsort(src.e, src.n, sizeof *src.e, kent_cmp);
        if (tab.n) qsort(tab.e, tab.n, sizeof *tab.e, kent_cmp);
        rc = diff_keys(c, &src, &tab, err);
    }
    c->r->keys_truncated |= c->r->n_ranges > n;
    klist_dispose(&src);
    klist_dispose(&tab);
    return rc;
}
