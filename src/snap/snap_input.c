/*
 * snap: the input tables — opening them (at a version for --as-of),
 * checking they agree on the key, and turning each row into a run record:
 * its key encoded for byte comparison, its rank, whether it is a delete.
 *
 * Rows come from dc_delta_scan (display names: a table with column mapping
 * reads the same), one JSON object per row.
 */
#include "snap_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../merge/merge.h"

/* Lines parsed into one arena before it is reset. */
#define ROWS_PER_ARENA 1024

static const char *const META[SN_M_N] = {"op", "ts_ms", "offset", "source_pos", "deleted"};

int sn_layout_init(sn_layout *l, const char *meta_prefix, dc_err *err)
{
    memset(l, 0, sizeof *l);
    const char *p = meta_prefix ? meta_prefix : "__";
    for (int i = 0; i < SN_M_N; i++) {
        const size_t n = strlen(p) + strlen(META[i]) + 1;
        if (!(l->meta[i] = dc_malloc(n))) return dc_err_set(err, DC_ENOMEM, "out of memory");
        snprintf(l->meta[i], n, "%s%s", p, META[i]);
    }
    return 0;
}

void sn_layout_dispose(sn_layout *l)
{
    for (int i = 0; i < SN_M_N; i++) dc_free(l->meta[i]);
    for (uint32_t i = 0; i < l->n_keys; i++) dc_free(l->keys[i]);
    memset(l, 0, sizeof *l);
}

int sn_input_open(sn_input *in, const char *role, const char *uri, int64_t version,
                  const sn_layout *l, dc_err *err)
{
    memset(in, 0, sizeof *in);
    in->role = role;
    in->uri = uri;
    int rc = dc_storage_open(&in->st, uri, err);
    if (rc == 0) rc = dc_delta_snapshot_load(&in->snap, in->st, version, err);
    if (rc == 0) rc = dc_delta_snapshot_schema(&in->schema, in->snap, err);
    if (rc == 0 && sn_raw_layout(in->schema, NULL) && !dc_delta_schema_find(in->schema,
                                                                            l->meta[SN_M_OP]))
        rc = sn_raw_open(in, l, err);
    if (rc < 0) {
        dc_err_prefix(err, "%s table %s", role, uri);
        return rc;
    }
    for (int i = 0; i < SN_M_N; i++)
        in->has_meta[i] = dc_delta_schema_find(in->schema, l->meta[i]) != NULL;
    in->has_floor = dc_merge_history_floor(in->floor, in->snap) == 0;
    for (size_t i = 0; i < dc_delta_snapshot_n_txns(in->snap); i++)
        in->ranked |= strncmp(dc_delta_snapshot_txn(in->snap, i)->app_id, SN_REBASE_APP,
                              strlen(SN_REBASE_APP)) == 0;
    return 0;
}

const char *sn_input_schema_string(const sn_input *in)
{
    return in->raw ? (const char *)in->offered_json.data
                   : dc_delta_snapshot_metadata(in->snap)->schema_string;
}

void sn_input_dispose(sn_input *in)
{
    sn_raw_dispose(in);
    dc_delta_snapshot_free(in->snap);
    dc_storage_free(in->st);
    memset(in, 0, sizeof *in);
}

/* ------------------------------------------------------------ as-of */

/* "YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z]" (UTC) → ms since the epoch. */
static bool parse_time(int64_t *ms, const char *s)
{
    int y, mo, d, h = 0, mi = 0, n = 0;
    double sec = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return false;
    const char *p = s + n;
    if (*p == ' ' || *p == 'T') {
        int k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) != 2 || k != 5) return false;
        p += 1 + k;
        if (*p == ':') {
            char *e = NULL;
            sec = strtod(p + 1, &e);
            if (e == p + 1 || sec < 0 || sec >= 61) return false;
            p = e;
        }
    }
    if (*p == 'Z') p++;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi};
    const time_t t = timegm(&tm);
    if (tm.tm_mday != d) return false; /* 2024-02-30 normalised away */
    *ms = (int64_t)t * 1000 + (int64_t)(sec * 1000.0 + 0.5);
    return true;
}

int sn_as_of_version(int64_t *out, dc_storage *st, const char *as_of, dc_err *err)
{
    char *e = NULL;
    errno = 0;
    const long long v = strtoll(as_of, &e, 10);
    if (*as_of >= '0' && *as_of <= '9' && !*e && errno == 0) {
        *out = v;
        return 0;
    }
    int64_t ms = 0;
    if (!parse_time(&ms, as_of))
        return dc_err_set(err, DC_EINVAL, "--as-of '%s': expected a version number or a UTC "
                          "time YYYY-MM-DD[ HH:MM[:SS[.fff]]]", as_of);
    dc_delta_versions vs;
    DC_TRY(dc_delta_log_versions(&vs, st, err));
    /* A commit's time is its file's modification time, made increasing as
     * Delta's time travel does (a clock step back does not reorder). */
    int64_t found = -1, prev = INT64_MIN;
    for (size_t i = 0; i < vs.n; i++) {
        const int64_t t = vs.mtimes_ms[i] > prev ? vs.mtimes_ms[i] : prev + 1;
        prev = t;
        if (t <= ms) found = vs.versions[i];
    }
    const int64_t first = vs.n ? vs.versions[0] : -1;
    const int64_t first_ms = vs.n ? vs.mtimes_ms[0] : 0;
    dc_delta_versions_dispose(&vs);
    if (found < 0)
        return dc_err_set(err, DC_ENOTFOUND, "--as-of '%s': the CDC table has no commit at or "
                          "before that time (its first, version %lld, is at %lld ms)", as_of,
                          (long long)first, (long long)first_ms);
    *out = found;
    return 0;
}

/* -------------------------------------------------------------- keys */

static bool is_int(dc_type t)
{
    return t == DC_TYPE_LONG || t == DC_TYPE_INT || t == DC_TYPE_SHORT || t == DC_TYPE_BYTE;
}

static int add_key(sn_layout *l, const char *name, size_t n, dc_err *err)
{
    if (l->n_keys == SN_MAX_KEYS)
        return dc_err_set(err, DC_ELIMIT, "more than %d key columns", SN_MAX_KEYS);
    if (!(l->keys[l->n_keys] = dc_strndup(name, n)))
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    l->n_keys++;
    return 0;
}

static int split_keys(sn_layout *l, const char *s, dc_err *err)
{
    for (const char *p = s; *p;) {
        const char *c = strchr(p, ',');
        const size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n == 0) return dc_err_set(err, DC_EINVAL, "key columns '%s': an empty name", s);
        DC_TRY(add_key(l, p, n, err));
        p += n + (c ? 1 : 0);
    }
    return 0;
}

/* The key column of `in` named l->keys[i]: present, and of the same kind. */
static int check_key(sn_layout *l, uint32_t i, const sn_input *in, bool first, dc_err *err)
{
    const dc_delta_field *f = dc_delta_schema_find(in->schema, l->keys[i]);
    if (!f)
        return dc_err_set(err, DC_EINVAL, "key column '%s' is not in the %s table %s",
                          l->keys[i], in->role, in->uri);
    if (f->type == DC_TYPE_STRUCT || f->type == DC_TYPE_ARRAY || f->type == DC_TYPE_MAP)
        return dc_err_set(err, DC_EINVAL, "key column '%s' of the %s table %s is not a "
                          "primitive column", l->keys[i], in->role, in->uri);
    if (first) l->key_int[i] = is_int(f->type);
    else if (l->key_int[i] != is_int(f->type))
        return dc_err_set(err, DC_EINVAL, "key column '%s' is %s in the CDC table but not in "
                          "the %s table %s", l->keys[i],
                          l->key_int[i] ? "an integer" : "not an integer", in->role, in->uri);
    return 0;
}

static int keys_of(sn_layout *l, const char *key, const char *prop, const sn_input *cdc,
                   const sn_input *hist, dc_err *err);

int sn_layout_keys(sn_layout *l, const char *key, const sn_input *cdc, const sn_input *hist,
                   dc_err *err)
{
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(cdc->snap);
    bool found = false;
    const char *prop = dc_delta_map_get(&m->configuration, "deltacdc.key", &found);
    dc_buf raw_keys;
    dc_buf_init(&raw_keys, 1 << 16);
    uint32_t nk = 0;
    const dc_delta_schema *rs = NULL;
    int rc = 0;
    if (!key && !prop && cdc->raw && dc_delta_snapshot_schema(&rs, cdc->snap, err) == 0 &&
        sn_raw_layout(rs, &nk)) { /* a raw table's key: its columns before ts_ms */
        for (uint32_t i = 0; rc == 0 && i < nk; i++)
            rc = dc_buf_appendf(&raw_keys, err, "%s%s", i ? "," : "", rs->root.children[i].name);
        if (rc == 0) rc = dc_buf_putc(&raw_keys, '\0', err);
        key = (const char *)raw_keys.data;
    }
    if (rc == 0) rc = keys_of(l, key, prop, cdc, hist, err);
    dc_buf_dispose(&raw_keys);
    return rc;
}

/* sn_layout_keys once the key text is known. */
static int keys_of(sn_layout *l, const char *key, const char *prop, const sn_input *cdc,
                   const sn_input *hist, dc_err *err)
{
    bool found = false;
    if (!key && !prop)
        return dc_err_set(err, DC_EINVAL, "the CDC table %s does not name its key columns "
                          "(table property deltacdc.key): give them with --key", cdc->uri);
    DC_TRY(split_keys(l, key ? key : prop, err));
    if (hist) {
        const dc_delta_metadata *hm = dc_delta_snapshot_metadata(hist->snap);
        const char *hk = dc_delta_map_get(&hm->configuration, "deltacdc.key", &found);
        if (hk && strcmp(hk, key ? key : prop) != 0)
            return dc_err_set(err, DC_EINVAL, "key mismatch: the history table %s is keyed by "
                              "(%s), the snapshot by (%s)", hist->uri, hk, key ? key : prop);
    }
    for (uint32_t i = 0; i < l->n_keys; i++) {
        DC_TRY(check_key(l, i, cdc, true, err));
        if (hist) DC_TRY(check_key(l, i, hist, false, err));
    }
    return 0;
}

/* -------------------------------------------------------------- rows */

/* Appends one key column's value to the encoded key: equal values give equal
 * bytes (the order need only be consistent: it groups a key's rows). */
static int encode_key(dc_buf *k, const sn_layout *l, uint32_t i, const dc_json *v, dc_err *err)
{
    if (!v || v->type == DC_JSON_NULL) return dc_err_set(err, DC_EINVAL, "key column '%s' is "
                                                         "null", l->keys[i]);
    if (l->key_int[i]) {
        int64_t x = 0;
        DC_TRY(dc_json_i64(&x, v, l->keys[i], err));
        uint8_t b[9];
        const uint64_t u = (uint64_t)x ^ (1ull << 63);
        b[0] = 1;
        for (int j = 0; j < 8; j++) b[1 + j] = (uint8_t)(u >> (56 - 8 * j));
        return dc_buf_append(k, b, sizeof b, err);
    }
    const char *s = v->type == DC_JSON_TRUE ? "true" : v->type == DC_JSON_FALSE ? "false"
                    : v->u.str;
    const uint32_t n = v->type == DC_JSON_TRUE ? 4 : v->type == DC_JSON_FALSE ? 5 : v->len;
    if (v->type == DC_JSON_ARRAY || v->type == DC_JSON_OBJECT)
        return dc_err_set(err, DC_EINVAL, "key column '%s' is not a primitive value",
                          l->keys[i]);
    const uint8_t b[5] = {2, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
                          (uint8_t)n};
    DC_TRY(dc_buf_append(k, b, sizeof b, err));
    return dc_buf_append(k, s, n, err);
}

int sn_rank(sn_hdr *h, const sn_meta *m, bool history, bool ranked, dc_err *err)
{
    h->history = history;
    if (m->pos_len > 0) {
        dc_cdc_srcpos p;
        DC_TRY(dc_cdc_srcpos_parse(&p, m->pos, m->pos_len, err));
        dc_merge_pos_rank(h->rank, &p);
        h->cls = SN_CLS_POS;
    } else if (history && (!ranked || !m->has_ts)) {
        h->cls = SN_CLS_HISTORY;
    } else {
        h->cls = SN_CLS_TS;
        h->rank[0] = m->has_ts ? m->ts : INT64_MIN;
        h->rank[1] = m->has_off ? m->off : INT64_MIN;
    }
    h->del = (m->op_len == 1 && m->op[0] == 'd') || m->deleted;
    return 0;
}

/* The record header of a row from its metadata values (NULL: absent). */
static int rank_of(sn_hdr *h, const dc_json *const *meta, const sn_layout *l, bool history,
                   bool ranked, dc_err *err)
{
    const dc_json *pos = meta[SN_M_POS], *ts = meta[SN_M_TS], *off = meta[SN_M_OFF];
    const dc_json *op = meta[SN_M_OP], *del = meta[SN_M_DEL];
    sn_meta m;
    memset(&m, 0, sizeof m);
    if (pos && pos->type == DC_JSON_STRING) m.pos = pos->u.str, m.pos_len = pos->len;
    if (op && op->type == DC_JSON_STRING) m.op = op->u.str, m.op_len = op->len;
    m.deleted = del && del->type == DC_JSON_TRUE;
    if ((!history || ranked) && !m.pos_len) { /* (ts_ms, offset) rank only these rows */
        m.has_ts = ts && ts->type != DC_JSON_NULL;
        m.has_off = off && off->type != DC_JSON_NULL;
        if (m.has_ts) DC_TRY(dc_json_i64(&m.ts, ts, l->meta[SN_M_TS], err));
        if (m.has_off) DC_TRY(dc_json_i64(&m.off, off, l->meta[SN_M_OFF], err));
    }
    return sn_rank(h, &m, history, ranked, err);
}

/* ------------------------------------------------ picking the members */

/* The members a record needs: the key columns' values, then the metadata
 * columns' (NULL when absent). */
typedef struct sn_pick {
    const dc_json *v[SN_MAX_KEYS + SN_M_N];  /* keys in layout order, then SN_M_* */
    dc_json node[SN_MAX_KEYS + SN_M_N];      /* the fast path's values */
} sn_pick;

/* The slot of a member name, or -1. */
static int slot_of(const sn_layout *l, const char *name, size_t n)
{
    for (uint32_t i = 0; i < l->n_keys; i++)
        if (strlen(l->keys[i]) == n && memcmp(l->keys[i], name, n) == 0) return (int)i;
    for (int i = 0; i < SN_M_N; i++)
        if (strlen(l->meta[i]) == n && memcmp(l->meta[i], name, n) == 0)
            return (int)l->n_keys + i;
    return -1;
}

/* The end of the string token at p (p at its opening quote), or NULL. */
static const char *string_end(const char *p, const char *end, bool *esc)
{
    for (p++; p < end; p++) {
        if (*p == '\\') { *esc = true; p++; continue; }
        if (*p == '"') return p + 1;
    }
    return NULL;
}

/* The end of the value at p (after it), or NULL: strings, nested
 * objects/arrays (balanced, strings skipped), numbers and literals. */
static const char *value_end(const char *p, const char *end, bool *esc)
{
    if (*p == '"') return string_end(p, end, esc);
    int depth = 0;
    for (; p < end; p++) {
        if (*p == '"') {
            if (!(p = string_end(p, end, esc))) return NULL;
            p--;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0) return p;
            if (--depth == 0) return p + 1;
        } else if (*p == ',' && depth == 0) {
            return p;
        }
    }
    return depth == 0 ? p : NULL;
}

/* The value text p[0..n) as a node: strings without escapes and numbers
 * point into the line (numbers copied NUL-terminated into the arena, as
 * dc_json keeps them); anything else is parsed alone. */
static int pick_value(const dc_json **out, dc_json *node, const char *p, size_t n, bool esc,
                      dc_arena *a, dc_err *err)
{
    memset(node, 0, sizeof *node);
    if (*p == '"' && !esc) {
        char *s = dc_arena_strndup(a, p + 1, n - 2, err);
        if (!s) return DC_ENOMEM;
        node->type = DC_JSON_STRING;
        node->u.str = s;
        node->len = (uint32_t)(n - 2);
    } else if (n == 4 && memcmp(p, "null", 4) == 0) {
        node->type = DC_JSON_NULL;
    } else if (n == 4 && memcmp(p, "true", 4) == 0) {
        node->type = DC_JSON_TRUE;
    } else if (n == 5 && memcmp(p, "false", 5) == 0) {
        node->type = DC_JSON_FALSE;
    } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
        char *s = dc_arena_strndup(a, p, n, err);
        if (!s) return DC_ENOMEM;
        node->type = DC_JSON_NUMBER;
        node->u.str = s;
        node->len = (uint32_t)n;
    } else {
        dc_json *v = NULL;
        DC_TRY(dc_json_parse(&v, a, p, n, err));
        *out = v;
        return 0;
    }
    *out = node;
    return 0;
}

/* The fast path over our own scan's output (a flat JSON object whose member
 * names the writer printed without escapes): 1 done, 0 when the line is not
 * of that shape (the caller parses it whole), or an error. */
static int pick_fast(sn_pick *pk, const sn_layout *l, const char *line, size_t n,
                     dc_arena *a, dc_err *err)
{
    const char *p = line, *end = line + n;
    if (n < 2 || *p != '{' || end[-1] != '}') return 0;
    p++;
    end--;
    while (p < end) {
        if (*p != '"') return 0;
        bool esc = false;
        const char *ne = string_end(p, end, &esc);
        if (!ne || esc || ne >= end || *ne != ':') return 0;
        const int slot = slot_of(l, p + 1, (size_t)(ne - p - 2));
        const char *v = ne + 1;
        esc = false;
        const char *ve = value_end(v, end, &esc);
        if (!ve || ve == v) return 0;
        if (slot >= 0)
            DC_TRY(pick_value(&pk->v[slot], &pk->node[slot], v, (size_t)(ve - v), esc, a, err));
        if (ve < end && *ve != ',') return 0;
        p = ve + (ve < end);
    }
    return 1;
}

/* Every member the record needs, by the fast path or a whole parse. */
static int pick(sn_pick *pk, const sn_layout *l, const char *line, size_t n, dc_arena *a,
                dc_err *err)
{
    memset(pk->v, 0, sizeof pk->v);
    const int fast = pick_fast(pk, l, line, n, a, err);
    if (fast != 0) return fast < 0 ? fast : 0;
    memset(pk->v, 0, sizeof pk->v);
    dc_json *obj = NULL;
    DC_TRY(dc_json_parse(&obj, a, line, n, err));
    if (obj->type != DC_JSON_OBJECT) return dc_err_set(err, DC_ECORRUPT, "a row is not a JSON "
                                                       "object");
    for (uint32_t i = 0; i < l->n_keys; i++) pk->v[i] = dc_json_get(obj, l->keys[i]);
    for (int i = 0; i < SN_M_N; i++) pk->v[l->n_keys + i] = dc_json_get(obj, l->meta[i]);
    return 0;
}

/* Scratch of sn_input_read. */
typedef struct sn_reader {
    sn_input *in;
    bool history;
    const int64_t *floor;
    const sn_layout *l;
    sn_sorter *s;
    const char *extra;          /* members appended to history rows (",\"__op\":\"c\"...") */
    dc_arena arena;             /* row DOMs, reset every ROWS_PER_ARENA rows */
    dc_buf key, row;            /* the record being built */
    sn_read_stats *st;
} sn_reader;

static bool at_or_before(const int64_t a[2], const int64_t b[2])
{
    return a[0] < b[0] || (a[0] == b[0] && a[1] <= b[1]);
}

static int read_line(sn_reader *r, const char *line, size_t n, dc_err *err)
{
    if (r->st->rows % ROWS_PER_ARENA == 0) dc_arena_reset(&r->arena);
    r->st->rows++;
    sn_pick pk;
    sn_hdr h;
    memset(&h, 0, sizeof h);
    DC_TRY(pick(&pk, r->l, line, n, &r->arena, err));
    dc_buf_reset(&r->key);
    for (uint32_t i = 0; i < r->l->n_keys; i++)
        DC_TRY(encode_key(&r->key, r->l, i, pk.v[i], err));
    DC_TRY(rank_of(&h, pk.v + r->l->n_keys, r->l, r->history, r->in->ranked, err));
    if (r->floor && h.cls == SN_CLS_POS && at_or_before(h.rank, r->floor)) {
        r->st->floor_skipped++;
        return 0;
    }
    const char *row = line;
    size_t rlen = n;
    if (*r->extra) {
        dc_buf_reset(&r->row);
        DC_TRY(dc_buf_append(&r->row, line, n - 1, err)); /* without the closing brace */
        DC_TRY(dc_buf_puts(&r->row, n > 2 ? r->extra : r->extra + 1, err));
        DC_TRY(dc_buf_putc(&r->row, '}', err));
        row = (const char *)r->row.data;
        rlen = r->row.len;
    }
    h.klen = (uint32_t)r->key.len;
    h.rlen = (uint32_t)rlen;
    return sn_sorter_add(r->s, &h, r->key.data, (const uint8_t *)row, err);
}

/* ",\"__op\":\"c\",\"__ts_ms\":0" for the metadata columns the CDC table has
 * and the history does not (the seed's convention for history rows). */
static int history_extra(dc_buf *out, const sn_input *in, const bool *cdc_meta,
                         const sn_layout *l, dc_err *err)
{
    if (!cdc_meta) return dc_buf_putc(out, '\0', err);
    if (cdc_meta[SN_M_OP] && !in->has_meta[SN_M_OP])
        DC_TRY(dc_buf_appendf(out, err, ",\"%s\":\"c\"", l->meta[SN_M_OP]));
    if (cdc_meta[SN_M_TS] && !in->has_meta[SN_M_TS])
        DC_TRY(dc_buf_appendf(out, err, ",\"%s\":0", l->meta[SN_M_TS]));
    return dc_buf_putc(out, '\0', err);
}

int sn_input_read(sn_read_stats *out, sn_input *in, bool history, const int64_t *floor,
                  const bool *cdc_meta, const sn_layout *l, sn_sorter *s, dc_err *err)
{
    memset(out, 0, sizeof *out);
    sn_reader r = {.in = in, .history = history, .floor = floor, .l = l, .s = s, .st = out};
    dc_arena_init(&r.arena, (size_t)1 << 32);
    dc_buf_init(&r.key, SN_MAX_KEY_BYTES);
    dc_buf_init(&r.row, SN_MAX_ROW_BYTES);
    dc_buf extra, batch;
    dc_buf_init(&extra, 4096);
    dc_buf_init(&batch, DC_PQ_MAX_CHUNK_BYTES);
    dc_delta_scan *sc = NULL;
    int rc = history_extra(&extra, in, history ? cdc_meta : NULL, l, err);
    r.extra = (const char *)extra.data;
    if (rc == 0) rc = dc_delta_scan_new(&sc, in->snap, NULL, 0, err);
    for (bool done = false; rc == 0 && !done;) {
        dc_buf_reset(&batch);
        rc = dc_delta_scan_next(sc, &batch, &done, err);
        const char *p = (const char *)batch.data, *end = p + batch.len;
        while (rc == 0 && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (n > 0 && in->raw) {
                const char *row = NULL;
                size_t len = 0;
                if (r.st->rows % ROWS_PER_ARENA == 0) dc_arena_reset(&r.arena);
                rc = sn_raw_row(&row, &len, in, l, p, n, &r.arena, err);
                if (rc == 0) rc = read_line(&r, row, len, err);
            } else if (n > 0) {
                rc = read_line(&r, p, n, err);
            }
            p += n + 1;
        }
    }
    if (rc < 0) dc_err_prefix(err, "%s table %s, row %llu", in->role, in->uri,
                              (unsigned long long)out->rows);
    dc_delta_scan_free(sc);
    dc_buf_dispose(&extra);
    dc_buf_dispose(&batch);
    dc_buf_dispose(&r.key);
    dc_buf_dispose(&r.row);
    dc_arena_dispose(&r.arena);
    return rc;
}
