/* The Debezium decoder's hot path: one validating pass over a record, no DOM.
 *
 * The record is checked as strictly as dc_json_parse checks a document (RFC
 * 8259 grammar, UTF-8, escapes and surrogate pairs, nesting depth, nothing
 * after the value), so whatever decodes here also parses there, and the
 * before/after slices handed out are themselves valid JSON.
 *
 * Only three levels are looked at: the record's members ("schema" is skipped,
 * "payload" descended into), the payload's members (op, ts_ms, before, after,
 * the schema-change and transaction markers), and the members of the
 * before/after images, where the key columns are noted as value slices.
 * Everything else goes through skip_value, an iterative validator that
 * builds nothing. Decisions wait for the end of the record, so repeated
 * members resolve as in the DOM (the last one wins) and the order of members
 * does not matter (Debezium writes op after the images). */
#include "cdc_int.h"

/* Slice lengths are uint32_t in dc_cdc_event. */
_Static_assert(DC_JSON_MAX_DOC_BYTES <= UINT32_MAX, "slices fit the event's lengths");

/* The members of payload.source the scanner notes (the binlog position). */
enum src_member { SRC_FILE = 0, SRC_POS, SRC_ROW, SRC_GTID, SRC_SERVER_ID, SRC_SNAPSHOT, SRC_N };

/* What one object at the payload level (the payload, or a bare record) holds. */
typedef struct pstate {
    slice op;                              /* value of "op" */
    slice ts;                              /* value of "ts_ms" */
    slice img[2];                          /* values of "before" [0] and "after" [1] */
    slice key[2][DC_CDC_MAX_KEYS];         /* key column values in before [0] / after [1] */
    bool marker;                           /* ddl, databaseName, tableChanges or status seen */
    slice src[SRC_N];                      /* members of the last "source" object */
} pstate;

/* The pass over one record. */
typedef struct scanner {
    union {
        cdc_lex lx;                        /* the record, for the lexer */
        struct {                           /* the same three, by name */
            const uint8_t *base;           /* the record, for offsets in errors */
            const uint8_t *end;            /* one past its last byte */
            dc_err *err;                   /* receives the first failure */
        };
    };
    const dc_cdc_keyspec *keys;            /* key columns to note in the images */
    size_t key_len[DC_CDC_MAX_KEYS];       /* strlen of each key name */
    bool has_schema;                       /* a top-level "schema" member was seen */
    dc_cdc_schema_cache *cache;            /* schema blocks validated before, or NULL */
    slice payload;                         /* value of the last top-level "payload" */
    slice schema;                          /* value of the last top-level "schema" */
    uint64_t schema_id;                    /* its cache id (dc_cdc_event.schema_id), or 0 */
} scanner;

/* Members the scanner tells apart. */
enum member {
    M_OTHER = 0, M_SCHEMA, M_PAYLOAD, M_BEFORE, M_AFTER, M_OP, M_TS_MS, M_MARKER, M_SOURCE,
};

/* ------------------------------------------------------------- members */

/* Which member the key s..e names (the body of a checked string). */
static enum member classify(const uint8_t *s, const uint8_t *e, bool escaped)
{
    uint8_t buf[64];
    if (escaped) {
        if (e - s > (ptrdiff_t)sizeof buf) return M_OTHER; /* longer than any name below */
        e = buf + unescape(s, e, buf);
        s = buf;
    }
#define IS(lit) ((size_t)(e - s) == sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0)
    switch (e - s) {
    case 2: return IS("op") ? M_OP : M_OTHER;
    case 3: return IS("ddl") ? M_MARKER : M_OTHER;
    case 5: return IS("after") ? M_AFTER : IS("ts_ms") ? M_TS_MS : M_OTHER;
    case 6:
        return IS("before")   ? M_BEFORE
               : IS("schema") ? M_SCHEMA
               : IS("status") ? M_MARKER
               : IS("source") ? M_SOURCE
                              : M_OTHER;
    case 7: return IS("payload") ? M_PAYLOAD : M_OTHER;
    case 12: return IS("databaseName") || IS("tableChanges") ? M_MARKER : M_OTHER;
    default: return M_OTHER;
    }
#undef IS
}

/* memcmp(...) == 0 without a library call for the short names of columns. */
static inline bool bytes_eq(const uint8_t *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != (uint8_t)b[i]) return false;
    return true;
}

/* Index of the key column named by s..e, or -1. */
static int key_index(const scanner *sc, const uint8_t *s, const uint8_t *e, bool escaped)
{
    const size_t n = (size_t)(e - s);
    for (uint32_t i = 0; i < sc->keys->n; i++) {
        const char *const name = sc->keys->names[i];
        if (escaped) {
            if (sc->key_len[i] <= n && escaped_eq(s, e, name, sc->key_len[i])) return (int)i;
        } else if (sc->key_len[i] == n && bytes_eq(s, name, n)) {
            return (int)i;
        }
    }
    return -1;
}

/* The object at p ('{') is a before/after image: validates it and notes
 * the value of each key column (the last one when repeated) in keys[]. */
static int scan_image(const scanner *sc, const uint8_t *p, int depth, slice *keys,
                      const uint8_t **out)
{
    if (depth >= DC_JSON_MAX_DEPTH) return fail_depth(&sc->lx, p);
    p = skip_ws(p + 1, sc->end);
    bool more = !(p < sc->end && *p == '}');
    if (!more) p++;
    while (more) {
        slice name;
        bool escaped = false;
        DC_TRY(scan_key(&sc->lx, p, &name, &escaped, &p));
        const uint8_t *const v = p;
        DC_TRY(skip_value(&sc->lx, p, depth + 1, &p));
        const int k = key_index(sc, name.s, name.e, escaped);
        if (k >= 0) keys[k] = (slice){v, p};
        DC_TRY(member_end(&sc->lx, p, &more, &p));
    }
    *out = p;
    return 0;
}

/* Which noted member of payload.source the key s..e names, or SRC_N. */
static enum src_member classify_source(const uint8_t *s, const uint8_t *e, bool escaped)
{
    uint8_t buf[16];
    if (escaped) {
        if (e - s > (ptrdiff_t)sizeof buf) return SRC_N; /* longer than any name below */
        e = buf + unescape(s, e, buf);
        s = buf;
    }
#define IS(lit) ((size_t)(e - s) == sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0)
    switch (e - s) {
    case 3: return IS("pos") ? SRC_POS : IS("row") ? SRC_ROW : SRC_N;
    case 4: return IS("file") ? SRC_FILE : IS("gtid") ? SRC_GTID : SRC_N;
    case 8: return IS("snapshot") ? SRC_SNAPSHOT : SRC_N;
    case 9: return IS("server_id") ? SRC_SERVER_ID : SRC_N;
    default: return SRC_N;
    }
#undef IS
}

/* The object at p ('{') is payload.source: validates it and notes the
 * members of the binlog position (the last one when repeated) in src[].
 * Its members are short strings and numbers: those are scanned here, the
 * rest by skip_value, so the raw table's hot path pays little more than
 * when skip_value took the whole object. */
static int scan_source(const scanner *sc, const uint8_t *p, int depth, slice *src,
                       const uint8_t **out)
{
    const cdc_lex *const lx = &sc->lx;
    const uint8_t *const end = sc->end;
    if (depth >= DC_JSON_MAX_DEPTH) return fail_depth(lx, p);
    for (int i = 0; i < SRC_N; i++) src[i].s = NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        *out = p + 1;
        return 0;
    }
    for (;;) {
        const uint8_t *kclose = NULL, *vclose = NULL;
        bool escaped = false, vesc = false;
        if (p >= end || *p != '"') return fail_found(lx, p, "a string key");
        DC_TRY(scan_string(lx, p, &kclose, &escaped));
        const slice name = {p + 1, kclose};
        p = skip_ws(kclose + 1, end);
        if (p >= end || *p != ':') return fail_found(lx, p, "':' after the key");
        p = skip_ws(p + 1, end);
        const uint8_t *const v = p;
        if (p < end && *p == '"') {
            DC_TRY(scan_string(lx, p, &vclose, &vesc));
            p = vclose + 1;
        } else if (p < end && is_digit(*p) && *p != '0') {
            /* pos, row, server_id: plain integers; anything else is rescanned */
            const uint8_t *q = p + 1;
            while (q < end && is_digit(*q)) q++;
            if (q < end && (*q == '.' || *q == 'e' || *q == 'E')) DC_TRY(scan_number(lx, p, &q));
            p = q;
        } else {
            DC_TRY(skip_value(lx, p, depth + 1, &p));
        }
        const enum src_member m = classify_source(name.s, name.e, escaped);
        if (m != SRC_N) src[m] = (slice){v, p};
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            *out = p + 1;
            return 0;
        }
        return fail_found(lx, p, "',' or '}'");
    }
}

static void pstate_reset(pstate *st, uint32_t n_keys)
{
    for (int i = 0; i < SRC_N; i++) st->src[i].s = NULL;
    st->op.s = st->ts.s = st->img[0].s = st->img[1].s = NULL;
    for (uint32_t i = 0; i < n_keys; i++) st->key[0][i].s = st->key[1][i].s = NULL;
    st->marker = false;
}

/* ------------------------------------------------------- schema cache */

void dc_cdc_schema_cache_init(dc_cdc_schema_cache *c)
{
    memset(c, 0, sizeof *c);
}

void dc_cdc_schema_cache_dispose(dc_cdc_schema_cache *c)
{
    for (int i = 0; i < DC_CDC_SCHEMA_CACHE_SLOTS; i++) dc_free(c->block[i]);
    memset(c, 0, sizeof *c);
}

/* The last schema_id given out, process-wide: ids are never reused, so one
 * names one block's bytes whichever cache (thread) gave it. */
static uint64_t last_schema_id;

uint64_t dc_cdc_schema_id_new(void)
{
    return __atomic_add_fetch(&last_schema_id, 1, __ATOMIC_RELAXED);
}

/* Copies the validated block b[0..n) into the next slot (best effort);
 * returns its new id, or 0 when it is not kept. */
static uint64_t remember(dc_cdc_schema_cache *c, const uint8_t *b, size_t n)
{
    if (n > DC_CDC_MAX_CACHED_SCHEMA) return 0;
    const uint32_t i = c->next;
    c->next = (i + 1) % DC_CDC_SCHEMA_CACHE_SLOTS;
    dc_free(c->block[i]);
    c->block[i] = dc_malloc(n);
    c->len[i] = c->block[i] ? n : 0;
    c->id[i] = 0;
    if (!c->block[i]) return 0;
    memcpy(c->block[i], b, n);
    c->id[i] = dc_cdc_schema_id_new();
    return c->id[i];
}

/* The schema block (an object) at p: a cached block when the bytes match
 * one, else validated by skip_value and remembered; *id is its cache id
 * (0: not cached). */
static int skip_schema(const scanner *sc, const uint8_t *p, int depth, const uint8_t **out,
                       uint64_t *id)
{
    dc_cdc_schema_cache *const c = sc->cache;
    const size_t left = (size_t)(sc->end - p);
    for (uint32_t k = 0; k < DC_CDC_SCHEMA_CACHE_SLOTS; k++) {
        const uint32_t i = (c->last_hit + k) % DC_CDC_SCHEMA_CACHE_SLOTS;
        if (c->block[i] && c->len[i] <= left && memcmp(p, c->block[i], c->len[i]) == 0) {
            c->last_hit = i;
            c->hits++;
            *out = p + c->len[i];
            *id = c->id[i];
            return 0;
        }
    }
    DC_TRY(skip_value(&sc->lx, p, depth, out));
    c->misses++;
    *id = remember(c, p, (size_t)(*out - p));
    return 0;
}

/* The object at p ('{') at the payload level: the payload itself (inner
 * NULL), or the record, which may instead carry "schema" and "payload" (the
 * payload's members then go to *inner). */
static int scan_envelope(scanner *sc, const uint8_t *p, int depth, pstate *st, pstate *inner,
                         const uint8_t **out)
{
    if (depth >= DC_JSON_MAX_DEPTH) return fail_depth(&sc->lx, p);
    p = skip_ws(p + 1, sc->end);
    bool more = !(p < sc->end && *p == '}');
    if (!more) p++;
    while (more) {
        slice name;
        bool escaped = false;
        DC_TRY(scan_key(&sc->lx, p, &name, &escaped, &p));
        const uint8_t *const v = p;
        uint64_t schema_id = 0;
        enum member m = classify(name.s, name.e, escaped);
        if (!inner && (m == M_SCHEMA || m == M_PAYLOAD)) m = M_OTHER;
        if ((m == M_BEFORE || m == M_AFTER) && p < sc->end && *p == '{') {
            slice *const keys = st->key[m == M_AFTER];
            for (uint32_t i = 0; i < sc->keys->n; i++) keys[i].s = NULL;
            DC_TRY(scan_image(sc, p, depth + 1, keys, &p));
        } else if (m == M_SOURCE && p < sc->end && *p == '{') {
            DC_TRY(scan_source(sc, p, depth + 1, st->src, &p));
        } else if (m == M_SCHEMA && sc->cache && p < sc->end && *p == '{') {
            DC_TRY(skip_schema(sc, p, depth + 1, &p, &schema_id));
        } else if (m == M_PAYLOAD && p < sc->end && *p == '{') {
            pstate_reset(inner, sc->keys->n);
            DC_TRY(scan_envelope(sc, p, depth + 1, inner, NULL, &p));
        } else {
            DC_TRY(skip_value(&sc->lx, p, depth + 1, &p));
        }
        const slice val = {v, p};
        switch (m) {
        case M_SCHEMA:
            sc->has_schema = true;
            sc->schema = val;
            sc->schema_id = schema_id;
            break;
        case M_PAYLOAD: sc->payload = val; break;
        case M_BEFORE: st->img[0] = val; break;
        case M_AFTER: st->img[1] = val; break;
        case M_OP: st->op = val; break;
        case M_TS_MS: st->ts = val; break;
        case M_MARKER: st->marker = true; break;
        case M_SOURCE:
            if (*v != '{') /* source null or not an object: no position */
                for (int i = 0; i < SRC_N; i++) st->src[i].s = NULL;
            break;
        case M_OTHER: break;
        }
        DC_TRY(member_end(&sc->lx, p, &more, &p));
    }
    *out = p;
    return 0;
}


/* The op (a one-letter string) → *op, or an error naming what was found. */
static int read_op(const scanner *sc, slice v, const char *where, char *op)
{
    uint8_t buf[8];
    size_t n = 0;
    if (*v.s == '"' && v.e - v.s <= (ptrdiff_t)sizeof buf) {
        n = unescape(v.s + 1, v.e - 1, buf);
        if (n == 1 && memchr("cudrtm", buf[0], 6) && buf[0]) {
            *op = (char)buf[0];
            return 0;
        }
    }
    if (*v.s != '"')
        return fail_at(&sc->lx, v.s, DC_EINVAL, "%sop: expected a string, found %s", where,
                       json_type_name(*v.s));
    return fail_at(&sc->lx, v.s, DC_EINVAL, "%sop: unknown op %.*s (expected one of c, u, d, r, t, m)",
                   where, shown_len(v), (const char *)v.s);
}

/* One key column's value slice → out (strings borrowed from the record when
 * they have no escapes, else unescaped into scratch at *off_out). */
static int read_key(const scanner *sc, slice v, uint32_t i, const char *where,
                    const char *img_name, dc_cdc_key *out, dc_buf *scratch, size_t *off_out)
{
    const char *const name = sc->keys->names[i];
    *off_out = SIZE_MAX;
    if (*v.s == 'n')
        return fail_at(&sc->lx, v.s, DC_EINVAL, "key column '%s' is null in %s%s", name, where,
                       img_name);
    if (*v.s == '"') {
        const uint8_t *const body = v.s + 1, *const close = v.e - 1;
        out->type = DC_CDC_KEY_STRING;
        if (!memchr(body, '\\', (size_t)(close - body))) {
            out->s = (const char *)body;
            out->len = (uint32_t)(close - body);
            return 0;
        }
        DC_TRY(dc_buf_reserve(scratch, (size_t)(close - body), sc->err));
        *off_out = scratch->len;
        const size_t n = unescape(body, close, scratch->data + scratch->len);
        scratch->len += n;
        out->s = NULL; /* set once scratch stops moving */
        out->len = (uint32_t)n;
        return 0;
    }
    if ((*v.s == '-' || is_digit(*v.s)) && slice_i64(v, &out->i)) {
        out->type = DC_CDC_KEY_LONG;
        return 0;
    }
    /* Fractions, exponents, out-of-range integers, booleans, objects, arrays:
     * their JSON text. */
    out->type = DC_CDC_KEY_STRING;
    out->s = (const char *)v.s;
    out->len = (uint32_t)(v.e - v.s);
    return 0;
}

/* Fills out->keys from the image slots of the chosen payload. */
static int read_keys(const scanner *sc, const slice *slots, slice img, const char *where,
                     const char *img_name, dc_cdc_event *out, dc_buf *scratch)
{
    size_t off[DC_CDC_MAX_KEYS];
    for (uint32_t i = 0; i < sc->keys->n; i++) {
        if (!slots[i].s)
            return fail_at(&sc->lx, img.s, DC_EINVAL, "key column '%s' missing from %s%s",
                           sc->keys->names[i], where, img_name);
        DC_TRY(read_key(sc, slots[i], i, where, img_name, &out->keys[i], scratch, &off[i]));
    }
    for (uint32_t i = 0; i < sc->keys->n; i++)
        if (off[i] != SIZE_MAX) out->keys[i].s = (const char *)scratch->data + off[i];
    out->n_keys = sc->keys->n;
    return 0;
}

/* The string body of v (a checked JSON string), or false. */
static bool string_body(slice v, slice *body)
{
    if (!v.s || *v.s != '"') return false;
    body->s = v.s + 1;
    body->e = v.e - 1;
    return true;
}

/* Does the checked string body b (escapes allowed) decode to lit? */
static bool body_is(slice b, const char *lit)
{
    uint8_t buf[64];
    const size_t n = strlen(lit);
    if (!memchr(b.s, '\\', (size_t)(b.e - b.s)))
        return (size_t)(b.e - b.s) == n && memcmp(b.s, lit, n) == 0;
    if (b.e - b.s > (ptrdiff_t)sizeof buf) return false; /* 6 bytes per escape at most */
    const size_t k = unescape(b.s, b.e, buf);
    return k == n && memcmp(buf, lit, n) == 0;
}

/* The number after the last '.' of a binlog file name ("mysql-bin.000003");
 * a name written with escapes gives none (binlog names never need one). */
static bool file_number(slice body, int64_t *out)
{
    if (memchr(body.s, '\\', (size_t)(body.e - body.s))) return false;
    const uint8_t *d = body.e;
    while (d > body.s && is_digit(d[-1])) d--;
    if (d == body.e || d == body.s || d[-1] != '.') return false;
    return slice_i64((slice){d, body.e}, out) && *out >= 0;
}

/* payload.source's noted members → the event's position fields. A source
 * that does not give a usable position is no error: the event then ranks by
 * ts_ms, as the raw table does. */
static void read_source(const slice *src, dc_cdc_event *out)
{
    slice body;
    int64_t row = 0;
    if (string_body(src[SRC_GTID], &body)) {
        out->gtid = (const char *)body.s;
        out->gtid_len = (uint32_t)(body.e - body.s);
    }
    if (src[SRC_SERVER_ID].s && slice_i64(src[SRC_SERVER_ID], &out->server_id))
        out->has_server_id = true;
    if (!string_body(src[SRC_FILE], &body)) return;
    out->src_file = (const char *)body.s;
    out->src_file_len = (uint32_t)(body.e - body.s);
    /* snapshot is a string in Debezium 1.x+ ("true", "first", "last",
     * "incremental", ..., "false"), a boolean before. */
    const slice snap = src[SRC_SNAPSHOT];
    slice sb;
    out->srcpos.snapshot = snap.s && (*snap.s == 't' ||
                                      (string_body(snap, &sb) && !body_is(sb, "false")));
    if (src[SRC_ROW].s && *src[SRC_ROW].s != 'n' &&
        (!slice_i64(src[SRC_ROW], &row) || row < 0 || row > INT32_MAX))
        return;
    out->srcpos.row = (int32_t)row;
    out->has_srcpos = file_number(body, &out->srcpos.file) && src[SRC_POS].s &&
                      slice_i64(src[SRC_POS], &out->srcpos.pos) && out->srcpos.pos >= 0;
}

/* Decides what the record is from its payload-level members; `where` is
 * "payload." or "" (a record without envelope), `at` the payload's offset. */
static int interpret(const scanner *sc, const pstate *st, const char *where, const uint8_t *at,
                     dc_cdc_event *out, dc_buf *scratch)
{
    read_source(st->src, out);
    if (st->ts.s && *st->ts.s != 'n') {
        if (!slice_i64(st->ts, &out->ts_ms))
            return fail_at(&sc->lx, st->ts.s, DC_EINVAL, "%sts_ms: expected an integer, found %.*s",
                           where, shown_len(st->ts), (const char *)st->ts.s);
        out->has_ts_ms = true;
    }
    bool img_present[2];
    for (int i = 0; i < 2; i++) img_present[i] = st->img[i].s && *st->img[i].s != 'n';
    if (!st->op.s || *st->op.s == 'n') {
        /* Heartbeats carry ts_ms only; schema changes ddl, databaseName and
         * tableChanges; transaction metadata status: none is a row change. */
        if (!img_present[0] && !img_present[1] && (st->marker || st->ts.s)) return 0;
        return fail_at(&sc->lx, at, DC_EINVAL,
                       "%sop missing: not a Debezium change event, heartbeat or schema change",
                       where);
    }
    DC_TRY(read_op(sc, st->op, where, &out->op));
    if (out->op == 'm') return 0;
    static const char *const img_name[2] = {"before", "after"};
    for (int i = 0; i < 2; i++) {
        if (img_present[i] && *st->img[i].s != '{')
            return fail_at(&sc->lx, st->img[i].s, DC_EINVAL, "%s%s: expected an object or null, found %s",
                           where, img_name[i], json_type_name(*st->img[i].s));
    }
    if (img_present[0]) {
        out->before = (const char *)st->img[0].s;
        out->before_len = (uint32_t)(st->img[0].e - st->img[0].s);
    }
    if (img_present[1]) {
        out->after = (const char *)st->img[1].s;
        out->after_len = (uint32_t)(st->img[1].e - st->img[1].s);
    }
    if (out->op == 't') {
        out->kind = DC_CDC_TRUNCATE;
        return 0;
    }
    const int which = out->op == 'd' ? 0 : 1;
    if (!img_present[which])
        return fail_at(&sc->lx, st->img[which].s ? st->img[which].s : at, DC_EINVAL,
                       "op '%c' without a%s %s image (%s%s is %s)", out->op,
                       which ? "n" : "", img_name[which], where, img_name[which],
                       st->img[which].s ? "null" : "missing");
    DC_TRY(read_keys(sc, st->key[which], st->img[which], where, img_name[which], out, scratch));
    out->kind = DC_CDC_CHANGE;
    return 0;
}

int dc_cdc_decode(dc_cdc_event *out, dc_buf *scratch, const dc_cdc_keyspec *keys,
                  const char *rec, size_t n, dc_err *err)
{
    return dc_cdc_decode_cached(out, scratch, NULL, keys, rec, n, err);
}

int dc_cdc_decode_cached(dc_cdc_event *out, dc_buf *scratch, dc_cdc_schema_cache *cache,
                         const dc_cdc_keyspec *keys, const char *rec, size_t n, dc_err *err)
{
    memset(out, 0, sizeof *out);
    out->kind = DC_CDC_SKIP;
    dc_buf_reset(scratch);
    if (!keys || keys->n == 0 || keys->n > DC_CDC_MAX_KEYS)
        return dc_err_set(err, DC_EINVAL, "cdc: a keyspec names 1 to %d columns",
                          DC_CDC_MAX_KEYS);
    if (n > DC_JSON_MAX_DOC_BYTES)
        return dc_err_set(err, DC_ELIMIT, "cdc: record of %zu bytes exceeds the limit of %zu", n,
                          DC_JSON_MAX_DOC_BYTES);
    scanner sc = {0};
    sc.base = (const uint8_t *)(rec ? rec : "");
    sc.end = sc.base + (rec ? n : 0);
    sc.err = err;
    sc.keys = keys;
    sc.cache = cache;
    for (uint32_t i = 0; i < keys->n; i++) sc.key_len[i] = strlen(keys->names[i]);
    const uint8_t *p = skip_ws(sc.base, sc.end);
    if (p == sc.end) return 0; /* empty value: tombstone */
    const uint8_t *const start = p;
    if (*p == 'n') {
        DC_TRY(scan_literal(&sc.lx, p, &p)); /* null: tombstone */
    } else if (*p == '{') {
        pstate top, inner;
        pstate_reset(&top, keys->n);
        pstate_reset(&inner, keys->n);
        DC_TRY(scan_envelope(&sc, p, 0, &top, &inner, &p));
        p = skip_ws(p, sc.end);
        if (p < sc.end) goto trailing;
        if (sc.payload.s) {
            if (*sc.payload.s == 'n') return 0; /* JsonConverter envelope of a tombstone */
            if (sc.schema.s && *sc.schema.s != 'n') {
                out->schema = (const char *)sc.schema.s;
                out->schema_len = (uint32_t)(sc.schema.e - sc.schema.s);
                out->schema_id = sc.schema_id;
            }
            if (*sc.payload.s != '{')
                return fail_at(&sc.lx, sc.payload.s, DC_EINVAL,
                               "payload: expected an object or null, found %s",
                               json_type_name(*sc.payload.s));
            return interpret(&sc, &inner, "payload.", sc.payload.s, out, scratch);
        }
        if (sc.has_schema)
            return fail_at(&sc.lx, start, DC_EINVAL, "record has a schema block but no payload");
        return interpret(&sc, &top, "", start, out, scratch);
    } else {
        char b[16];
        return fail_at(&sc.lx, p, DC_EINVAL, "record is not a JSON object (starts with %s)",
                       describe(&sc.lx, p, b));
    }
    p = skip_ws(p, sc.end);
    if (p == sc.end) return 0;
trailing:;
    char b[16];
    return fail_at(&sc.lx, p, DC_EINVAL, "unexpected %s after the record", describe(&sc.lx, p, b));
}
