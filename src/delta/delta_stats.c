/*
 * Add-action statistics from a Parquet footer (PROTOCOL.md "Per-file
 * Statistics"): numRecords, minValues, maxValues, nullCount, tightBounds.
 *
 * What Spark collects, reproduced from its documented behaviour: min/max only
 * for numbers, decimals, dates, timestamps (truncated to milliseconds) and
 * strings (a prefix of 32 UTF-16 units; the max gets a tie-breaker character
 * so it stays an upper bound); nullCount for every leaf; the first
 * dataSkippingNumIndexedCols leaf columns only (an array or a map counts as
 * one). Arrays and maps get no statistics here: a footer's leaf null counts
 * describe their elements, not the column.
 */
#include "delta.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <math.h>
#include <stdio.h>

/* The aggregate of one leaf over every row group. */
typedef struct leaf_agg {
    bool indexed;          /* within num_indexed_cols */
    bool eligible;         /* min/max collected for its type */
    bool has_nulls;        /* every row group had a null count */
    int64_t null_count;
    bool has_min, has_max; /* bounds below are valid */
    bool min_dead, max_dead; /* some row group with values had no bound */
    pq_bytes min, max;     /* plain-encoded, borrowed from the footer */
} leaf_agg;

typedef struct stats_ctx {
    const dc_pq_schema *schema;
    const pq_file_meta *meta;
    const dc_delta_stats_opts *o;
    leaf_agg *agg;         /* one per schema leaf */
    int32_t next_col;      /* columns counted so far for num_indexed_cols */
} stats_ctx;

enum { K_MIN, K_MAX, K_NULLS };

void dc_delta_stats_opts_init(dc_delta_stats_opts *o)
{
    o->num_indexed_cols = 32;
    o->string_prefix = 32;
    o->tight_bounds = false;
}

static int parse_i32_prop(int32_t *out, const dc_delta_metadata *m, const char *key, int32_t lo,
                          dc_err *err)
{
    bool found = false;
    const char *v = dc_delta_map_get(&m->configuration, key, &found);
    if (!found || !v) return 0;
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > INT32_MAX)
        return dc_err_set(err, DC_EINVAL, "table property %s: expected an integer >= %d, got '%s'",
                          key, (int)lo, v);
    *out = (int32_t)x;
    return 0;
}

int dc_delta_stats_opts_from_metadata(dc_delta_stats_opts *o, const dc_delta_protocol *p,
                                      const dc_delta_metadata *m, dc_err *err)
{
    dc_delta_stats_opts_init(o);
    DC_TRY(parse_i32_prop(&o->num_indexed_cols, m, "delta.dataSkippingNumIndexedCols", -1, err));
    DC_TRY(parse_i32_prop(&o->string_prefix, m, "delta.dataSkippingStringPrefixLength", 0, err));
    bool found = false;
    const char *dv = dc_delta_map_get(&m->configuration, "delta.enableDeletionVectors", &found);
    o->tight_bounds = dc_delta_protocol_has_writer_feature(p, "deletionVectors") ||
                      (dv && strcmp(dv, "true") == 0);
    return 0;
}

static bool type_eligible(const dc_pq_field *f, const dc_pq_leaf *l)
{
    switch (f->type) {
    case DC_TYPE_BYTE: case DC_TYPE_SHORT: case DC_TYPE_INT: case DC_TYPE_LONG:
    case DC_TYPE_FLOAT: case DC_TYPE_DOUBLE: case DC_TYPE_DECIMAL: case DC_TYPE_DATE:
    case DC_TYPE_STRING:
        return true;
    case DC_TYPE_TIMESTAMP: case DC_TYPE_TIMESTAMP_NTZ:
        return !f->int96 && l->phys == PQ_INT64;
    default:
        return false;
    }
}

/* Marks which leaves are indexed, in schema order (Spark's truncation). */
static void mark_indexed(stats_ctx *c, const dc_pq_field *f)
{
    for (uint32_t i = 0; i < f->n_children; i++) {
        const dc_pq_field *ch = &f->children[i];
        if (ch->type == DC_TYPE_STRUCT) {
            mark_indexed(c, ch);
            continue;
        }
        const bool in = c->o->num_indexed_cols < 0 || c->next_col < c->o->num_indexed_cols;
        c->next_col++;
        if (ch->type == DC_TYPE_ARRAY || ch->type == DC_TYPE_MAP || ch->leaf < 0) continue;
        leaf_agg *a = &c->agg[ch->leaf];
        a->indexed = in;
        a->eligible = in && type_eligible(ch, &c->schema->leaves[ch->leaf]);
    }
}

/* Byte width a plain value must have, 0 for variable. */
static uint32_t plain_width(const dc_pq_leaf *l)
{
    switch (l->phys) {
    case PQ_BOOLEAN: return 1;
    case PQ_INT32: case PQ_FLOAT: return 4;
    case PQ_INT64: case PQ_DOUBLE: return 8;
    case PQ_FIXED_LEN_BYTE_ARRAY: return (uint32_t)l->type_length;
    default: return 0;
    }
}

static int cmp_signed_be(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    const bool an = alen && (a[0] & 0x80), bn = blen && (b[0] & 0x80);
    if (an != bn) return an ? -1 : 1;
    const uint8_t pad = an ? 0xff : 0x00;
    const size_t n = alen > blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        const uint8_t x = i + alen < n ? pad : a[i + alen - n];
        const uint8_t y = i + blen < n ? pad : b[i + blen - n];
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

/* Compares two plain values of leaf l in its logical order. */
static int cmp_value(const dc_pq_leaf *l, pq_bytes a, pq_bytes b)
{
    switch (l->phys) {
    case PQ_INT32: {
        const int32_t x = (int32_t)dc_load_le32(a.ptr), y = (int32_t)dc_load_le32(b.ptr);
        return (x > y) - (x < y);
    }
    case PQ_INT64: {
        const int64_t x = (int64_t)dc_load_le64(a.ptr), y = (int64_t)dc_load_le64(b.ptr);
        return (x > y) - (x < y);
    }
    case PQ_FLOAT: {
        float x, y;
        memcpy(&x, a.ptr, 4);
        memcpy(&y, b.ptr, 4);
        return (x > y) - (x < y);
    }
    case PQ_DOUBLE: {
        double x, y;
        memcpy(&x, a.ptr, 8);
        memcpy(&y, b.ptr, 8);
        return (x > y) - (x < y);
    }
    default:
        if (l->field && l->field->type == DC_TYPE_DECIMAL)
            return cmp_signed_be(a.ptr, a.len, b.ptr, b.len);
        {
            const size_t n = a.len < b.len ? a.len : b.len;
            const int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
            if (c) return c < 0 ? -1 : 1;
            return (a.len > b.len) - (a.len < b.len);
        }
    }
}

/* The column-order-aware bound of a row group, or the deprecated one where
 * its (signed) order is the logical one. */
static bool rg_bound(pq_bytes *out, const pq_statistics *st, const dc_pq_leaf *l, bool want_max)
{
    if (want_max ? st->has_max_value : st->has_min_value) {
        *out = want_max ? st->max_value : st->min_value;
        return true;
    }
    const bool signed_ok = l->phys == PQ_INT32 || l->phys == PQ_INT64 || l->phys == PQ_FLOAT ||
                           l->phys == PQ_DOUBLE;
    if (signed_ok && (want_max ? st->has_max : st->has_min)) {
        *out = want_max ? st->max : st->min;
        return true;
    }
    return false;
}

static void fold_bound(leaf_agg *a, const dc_pq_leaf *l, const pq_statistics *st, bool want_max)
{
    bool *has = want_max ? &a->has_max : &a->has_min;
    bool *dead = want_max ? &a->max_dead : &a->min_dead;
    pq_bytes *cur = want_max ? &a->max : &a->min;
    pq_bytes v;
    const uint32_t w = plain_width(l);
    if (*dead) return;
    if (!st->is_set || !rg_bound(&v, st, l, want_max) || (w && v.len != w)) {
        *dead = true;
        *has = false;
        return;
    }
    const int c = *has ? cmp_value(l, v, *cur) : 0;
    if (!*has || (want_max ? c > 0 : c < 0)) *cur = v;
    *has = true;
}

/* Folds every row group's statistics of one leaf into agg. */
static int aggregate_leaf(stats_ctx *c, uint32_t li, dc_err *err)
{
    leaf_agg *a = &c->agg[li];
    const dc_pq_leaf *l = &c->schema->leaves[li];
    a->has_nulls = true;
    for (uint32_t r = 0; r < c->meta->n_row_groups; r++) {
        const pq_row_group *rg = &c->meta->row_groups[r];
        if (li >= rg->n_columns || !rg->columns[li].has_meta_data)
            return dc_err_set(err, DC_ECORRUPT, "stats: row group %u has no chunk for column %s",
                              r, l->dotted);
        const pq_statistics *st = &rg->columns[li].meta_data.statistics;
        const bool nulls_known = st->is_set && st->has_null_count && st->null_count >= 0;
        if (nulls_known && dc_add_overflow_i64(a->null_count, st->null_count, &a->null_count))
            return dc_err_set(err, DC_ECORRUPT, "stats: null count overflow in column %s",
                              l->dotted);
        if (!nulls_known) a->has_nulls = false;
        if (!a->eligible) continue;
        if (nulls_known && st->null_count >= rg->num_rows) continue; /* all null: no bound */
        fold_bound(a, l, st, false);
        fold_bound(a, l, st, true);
    }
    return 0;
}

/* ------------------------------------------------------------ rendering */

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static int put_date(dc_buf *out, int64_t days, dc_err *err)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    return dc_buf_appendf(out, err, "\"%04" PRId64 "-%02u-%02u\"", y, m, d);
}

/* Timestamp in `unit` → "YYYY-MM-DDTHH:MM:SS.mmm[Z]", truncated to ms. */
static int put_ts(dc_buf *out, int64_t v, pq_time_unit unit, bool utc, dc_err *err)
{
    const int64_t ms = unit == PQ_UNIT_MILLIS ? v
                       : unit == PQ_UNIT_MICROS ? floor_div(v, 1000) : floor_div(v, 1000000);
    const int64_t days = floor_div(ms, 86400000);
    const int64_t rem = ms - days * 86400000;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    return dc_buf_appendf(out, err, "\"%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03u%s\"", y, m, d,
                          (unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60),
                          (unsigned)(rem / 1000 % 60), (unsigned)(rem % 1000), utc ? "Z" : "");
}

/* Unscaled big-endian two's complement (or an int64) as a decimal number. */
static int put_decimal(dc_buf *out, const uint8_t *p, size_t n, int64_t i64, bool is_i64,
                       int32_t scale, dc_err *err)
{
    __int128 v = 0;
    if (is_i64) {
        v = i64;
    } else {
        if (n > 16) return 1; /* wider than any Delta decimal: no stat */
        v = n && (p[0] & 0x80) ? -1 : 0;
        for (size_t i = 0; i < n; i++) v = (__int128)(((unsigned __int128)v << 8) | p[i]);
    }
    const bool neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    char digits[48];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    while (nd <= scale) digits[nd++] = '0';
    if (neg) DC_TRY(dc_buf_putc(out, '-', err));
    for (int i = nd - 1; i >= 0; i--) {
        DC_TRY(dc_buf_putc(out, (uint8_t)digits[i], err));
        if (i == scale && scale > 0) DC_TRY(dc_buf_putc(out, '.', err));
    }
    return 0;
}

/* Length in bytes of the UTF-8 sequence at p[0] (1 for invalid bytes) and
 * its code point. */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    const uint8_t c = p[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (len > n) len = 1;
    uint32_t v = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t i = 1; i < len; i++) v = (v << 6) | (p[i] & 0x3f);
    *cp = v;
    return len;
}

/* Byte length of the shortest prefix with >= `units` UTF-16 units that does
 * not split a surrogate pair (Spark's truncateMinStringAgg); *units_out gets
 * its unit count. */
static size_t prefix_bytes(const uint8_t *p, size_t n, int32_t units, int64_t *units_out)
{
    size_t i = 0;
    int64_t u = 0;
    while (i < n && u < units) {
        uint32_t cp;
        i += utf8_next(p + i, n - i, &cp);
        u += cp >= 0x10000 ? 2 : 1;
    }
    *units_out = u;
    return i;
}

static const uint8_t UTF8_MAX_CHAR[4] = {0xF4, 0x8F, 0xBF, 0xBF}; /* U+10FFFF */

static int put_min_string(dc_buf *out, pq_bytes v, int32_t prefix, dc_err *err)
{
    int64_t u;
    const size_t cut = prefix_bytes(v.ptr, v.len, prefix, &u);
    return dc_json_put_str(out, (const char *)v.ptr, cut, err);
}

/* Spark's truncateMaxStringAgg: the prefix, extended past U+10FFFF
 * characters, then DEL (0x7f) when the next character is below it, else
 * U+10FFFF; gives up (returns 1, nothing written) beyond 2 * prefix units. */
static int put_max_string(dc_buf *out, pq_bytes v, int32_t prefix, dc_err *err)
{
    int64_t units;
    size_t cur = prefix_bytes(v.ptr, v.len, prefix, &units);
    while (units <= 2 * (int64_t)prefix) {
        if (cur >= v.len) return dc_json_put_str(out, (const char *)v.ptr, v.len, err);
        uint32_t cp;
        const size_t len = utf8_next(v.ptr + cur, v.len - cur, &cp);
        if (cp == 0x10FFFF) {
            cur += len;
            units += 2;
            continue;
        }
        dc_buf tmp;
        dc_buf_init(&tmp, (size_t)v.len + 8);
        int rc = dc_buf_append(&tmp, v.ptr, cur, err);
        if (rc == 0 && cp < 0x7f) rc = dc_buf_putc(&tmp, 0x7f, err);
        else if (rc == 0) rc = dc_buf_append(&tmp, UTF8_MAX_CHAR, 4, err);
        if (rc == 0) rc = dc_json_put_str(out, (const char *)tmp.data, tmp.len, err);
        dc_buf_dispose(&tmp);
        return rc;
    }
    return 1;
}

/* Writes one bound as JSON; returns 1 (nothing written) when the value has
 * no JSON form Spark would give (NaN/infinite, unrepresentable). */
static int put_bound(dc_buf *out, const dc_pq_leaf *l, pq_bytes v, bool is_max, int32_t prefix,
                     dc_err *err)
{
    const dc_pq_field *f = l->field;
    switch (f->type) {
    case DC_TYPE_FLOAT: {
        float x;
        memcpy(&x, v.ptr, 4);
        return isfinite(x) ? dc_json_put_f32(out, x, err) : 1;
    }
    case DC_TYPE_DOUBLE: {
        double x;
        memcpy(&x, v.ptr, 8);
        return isfinite(x) ? dc_json_put_f64(out, x, err) : 1;
    }
    case DC_TYPE_DATE:
        return put_date(out, (int32_t)dc_load_le32(v.ptr), err);
    case DC_TYPE_TIMESTAMP: case DC_TYPE_TIMESTAMP_NTZ:
        return put_ts(out, (int64_t)dc_load_le64(v.ptr), f->unit, f->type == DC_TYPE_TIMESTAMP,
                      err);
    case DC_TYPE_DECIMAL:
        if (l->phys == PQ_INT32 || l->phys == PQ_INT64)
            return put_decimal(out, NULL, 0,
                               l->phys == PQ_INT32 ? (int32_t)dc_load_le32(v.ptr)
                                                   : (int64_t)dc_load_le64(v.ptr),
                               true, f->scale, err);
        return put_decimal(out, v.ptr, v.len, 0, false, f->scale, err);
    case DC_TYPE_STRING:
        return is_max ? put_max_string(out, v, prefix, err) : put_min_string(out, v, prefix, err);
    default: /* byte, short, int, long */
        if (l->phys == PQ_INT32) return dc_json_put_i64(out, (int32_t)dc_load_le32(v.ptr), err);
        return dc_json_put_i64(out, (int64_t)dc_load_le64(v.ptr), err);
    }
}

/* Renders the members of struct f for stat `kind` into out (an open object);
 * *any tells whether a member was written. */
static int render_struct(stats_ctx *c, dc_buf *out, const dc_pq_field *f, int kind, bool *any,
                         dc_err *err)
{
    *any = false;
    for (uint32_t i = 0; i < f->n_children; i++) {
        const dc_pq_field *ch = &f->children[i];
        const size_t mark = out->len;
        if (*any) DC_TRY(dc_buf_putc(out, ',', err));
        DC_TRY(dc_json_put_str(out, ch->name, strlen(ch->name), err));
        DC_TRY(dc_buf_putc(out, ':', err));
        int wrote = 0;
        if (ch->type == DC_TYPE_STRUCT) {
            bool sub = false;
            DC_TRY(dc_buf_putc(out, '{', err));
            DC_TRY(render_struct(c, out, ch, kind, &sub, err));
            DC_TRY(dc_buf_putc(out, '}', err));
            wrote = sub;
        } else if (ch->leaf >= 0 && ch->type != DC_TYPE_ARRAY && ch->type != DC_TYPE_MAP) {
            const leaf_agg *a = &c->agg[ch->leaf];
            const dc_pq_leaf *l = &c->schema->leaves[ch->leaf];
            if (kind == K_NULLS && a->indexed && a->has_nulls) {
                DC_TRY(dc_json_put_i64(out, a->null_count, err));
                wrote = 1;
            } else if (kind != K_NULLS && a->eligible && (kind == K_MIN ? a->has_min : a->has_max)) {
                const int rc = put_bound(out, l, kind == K_MIN ? a->min : a->max, kind == K_MAX,
                                         c->o->string_prefix, err);
                if (rc < 0) return rc;
                wrote = rc == 0;
            }
        }
        if (wrote) *any = true;
        else out->len = mark;
    }
    return 0;
}

static int render(stats_ctx *c, dc_buf *out, dc_err *err)
{
    static const char *const names[3] = {"minValues", "maxValues", "nullCount"};
    DC_TRY(dc_buf_appendf(out, err, "{\"numRecords\":%" PRId64, c->meta->num_rows));
    for (int k = K_MIN; k <= K_NULLS; k++) {
        const size_t mark = out->len;
        bool any = false;
        DC_TRY(dc_buf_appendf(out, err, ",\"%s\":{", names[k]));
        DC_TRY(render_struct(c, out, &c->schema->root, k, &any, err));
        if (any) DC_TRY(dc_buf_putc(out, '}', err));
        else out->len = mark;
    }
    if (c->o->tight_bounds) DC_TRY(dc_buf_puts(out, ",\"tightBounds\":true", err));
    return dc_buf_putc(out, '}', err);
}

int dc_delta_stats_from_footer(dc_buf *out, const dc_pq_schema *schema, const pq_file_meta *meta,
                               const dc_delta_stats_opts *o, dc_err *err)
{
    int rc = 0;
    stats_ctx c = {schema, meta, o, NULL, 0};
    const size_t start = out->len;
    if (meta->num_rows < 0)
        return dc_err_set(err, DC_ECORRUPT, "stats: negative num_rows %" PRId64, meta->num_rows);
    if (schema->n_leaves) {
        c.agg = dc_calloc(schema->n_leaves, sizeof *c.agg);
        if (!c.agg) return dc_err_set(err, DC_ENOMEM, "stats: out of memory");
    }
    mark_indexed(&c, &schema->root);
    for (uint32_t i = 0; i < schema->n_leaves && rc == 0; i++) rc = aggregate_leaf(&c, i, err);
    if (rc == 0) rc = render(&c, out, err);
    if (rc < 0) out->len = start;
    dc_free(c.agg);
    return rc;
}

/* Writers (ours, Spark's, delta-rs's) put numRecords first: stats that
 * start {"numRecords":N, or {"numRecords":N} give N without a parse, which
 * cost ~12k instructions per file a batch adds DVs to. Anything else (a
 * leading zero, a sign, 19+ digits, another first key) takes the parse. */
static bool num_records_first(int64_t *out, const char *stats)
{
    static const char key[] = "{\"numRecords\":";
    if (strncmp(stats, key, sizeof key - 1) != 0) return false;
    const char *p = stats + sizeof key - 1;
    int64_t v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 18) return false;
        v = v * 10 + (*p - '0');
    }
    if (digits == 0 || (digits > 1 && p[-digits] == '0') || (*p != ',' && *p != '}'))
        return false;
    *out = v;
    return true;
}

int dc_delta_stats_num_records(int64_t *out, const char *stats, dc_err *err)
{
    if (stats && num_records_first(out, stats)) return 0;
    int rc = 0;
    dc_arena arena;
    dc_arena_init(&arena, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    if (!stats) {
        rc = DC_ENOTFOUND;
        goto out;
    }
    if ((rc = dc_json_parse(&doc, &arena, stats, strlen(stats), err)) < 0) {
        dc_err_prefix(err, "stats");
        goto out;
    }
    const dc_json *n = dc_json_get(doc, "numRecords");
    if (!n || n->type == DC_JSON_NULL) {
        rc = DC_ENOTFOUND;
        goto out;
    }
    rc = dc_json_i64(out, n, "stats.numRecords", err);
out:
    dc_arena_dispose(&arena);
    return rc;
}

int dc_delta_stats_max_i64(int64_t *out, bool *tight, const char *stats, const char *physical,
                           dc_err *err)
{
    if (!stats) return DC_ENOTFOUND;
    dc_arena arena;
    dc_arena_init(&arena, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    int rc = dc_json_parse(&doc, &arena, stats, strlen(stats), err);
    if (rc < 0) dc_err_prefix(err, "stats");
    const dc_json *max = rc < 0 ? NULL : dc_json_get(doc, "maxValues");
    const dc_json *v = max && max->type == DC_JSON_OBJECT ? dc_json_get(max, physical) : NULL;
    const dc_json *tb = rc < 0 ? NULL : dc_json_get(doc, "tightBounds");
    *tight = !tb || tb->type != DC_JSON_FALSE;
    if (rc == 0) rc = v && v->type != DC_JSON_NULL ? dc_json_i64(out, v, "stats.maxValues", err)
                                                   : DC_ENOTFOUND;
    dc_arena_dispose(&arena);
    return rc;
}
