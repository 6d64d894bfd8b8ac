/*
 * JSON text rows → levels and values, without a DOM (the direct pass of
 * dc_pq_writer_write_json_text). Typed tables hand every row over as JSON
 * text; parsing it into dc_json nodes and shredding those cost about as
 * much as decoding the Debezium record did (callgrind, issue 9's
 * bench/ingest_file --format typed). This pass walks the text and the
 * logical tree together, as pq_shred.c walks a DOM, and converts each
 * scalar through the same pq_wr_json_value, so a value is stored exactly
 * as the JSON-row path stores it.
 *
 * The pass takes only what it can be sure of: strings (UTF-8 and escapes
 * checked as the JSON parser does; \\u surrogates excepted), numbers of at
 * most PQ_TEXT_MAX_NUMBER bytes, structs, arrays. Anything else (a
 * surrogate escape, a map, a duplicate or unknown member, a bad value) rolls
 * the row back and hands it to the DOM path, which writes it or reports the
 * error in its own words: the direct pass never decides an error.
 */
#include "pq_wr_int.h"

/* Longest number text taken directly (copied to NUL-terminate it for
 * strtod); longer ones, never written by deltacdc, take the DOM path. */
#define PQ_TEXT_MAX_NUMBER 63

/* The direct pass over one row's text. */
typedef struct ptext {
    dc_pq_writer *w;        /* the writer whose columns receive the row */
    const uint8_t *p;       /* next byte */
    const uint8_t *end;     /* one past the last byte of the row */
    dc_err *err;            /* scratch: the DOM path sets the real error */
} ptext;

/* Not taken by the direct pass (the DOM path decides). */
#define PT_NO (-1)

static inline void ws(ptext *t)
{
    while (t->p < t->end && (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r'))
        t->p++;
}

static int hex4(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        const uint8_t c = p[i];
        const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return PT_NO;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* Unescapes the string body s..e (escapes checked here; \u surrogates are
 * left to the DOM path) into t->w->unesc. */
static int unescape(ptext *t, const uint8_t *s, const uint8_t *e)
{
    dc_buf *u = &t->w->unesc;
    dc_buf_reset(u);
    if (dc_buf_reserve(u, (size_t)(e - s), t->err) < 0) return PT_NO;
    uint8_t *d = u->data;
    while (s < e) {
        if (*s != '\\') {
            *d++ = *s++;
            continue;
        }
        if (e - s < 2) return PT_NO;
        const uint8_t c = s[1];
        s += 2;
        switch (c) {
        case '"': case '\\': case '/': *d++ = c; break;
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (e - s < 4 || hex4(s, &cp) < 0 || (cp >= 0xd800 && cp <= 0xdfff)) return PT_NO;
            s += 4;
            d += dc_utf8_put(d, cp);
            break;
        }
        default: return PT_NO;
        }
    }
    u->len = (size_t)(d - u->data);
    return 0;
}

/* A string at t->p ('"'): its value [*s, *s + *n), the text itself or, with
 * escapes, the writer's unesc buffer (valid until the next string). */
static int string_body(ptext *t, const uint8_t **s, uint32_t *n)
{
    const uint8_t *p = t->p + 1;
    const uint8_t *const body = p;
    bool escaped = false;
    while (p < t->end) {
        /* the common bytes, 8 per test, then the tail one by one */
        uint64_t m = 0;
        while (t->end - p >= 8 && !(m = dc_json_special8(dc_load_le64(p)))) p += 8;
        if (m) p += __builtin_ctzll(m) >> 3;
        else while (p < t->end && dc_json_plain_byte[*p]) p++;
        if (p >= t->end) break;
        const uint8_t c = *p;
        if (c == '"') break;
        if (c < 0x20) return PT_NO;
        if (c == '\\') {
            escaped = true;
            p += 2;
            continue;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        const size_t k = dc_utf8_seq_len(p, t->end);
        if (k == 0) return PT_NO;
        p += k;
    }
    if (p >= t->end || (size_t)(p - body) > UINT32_MAX) return PT_NO;
    t->p = p + 1;
    if (!escaped) {
        *s = body;
        *n = (uint32_t)(p - body);
        return 0;
    }
    if (unescape(t, body, p) < 0) return PT_NO;
    *s = t->w->unesc.data;
    *n = (uint32_t)t->w->unesc.len;
    return 0;
}

static inline bool digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* A number at t->p in JSON's grammar, copied NUL-terminated into buf. */
static int number(ptext *t, char *buf, uint32_t *n)
{
    const uint8_t *p = t->p, *const s = p, *const e = t->end;
    if (p < e && *p == '-') p++;
    if (p >= e || !digit(*p)) return PT_NO;
    if (*p == '0') p++;
    else while (p < e && digit(*p)) p++;
    if (p < e && *p == '.') {
        if (++p >= e || !digit(*p)) return PT_NO;
        while (p < e && digit(*p)) p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || !digit(*p)) return PT_NO;
        while (p < e && digit(*p)) p++;
    }
    const size_t len = (size_t)(p - s);
    if (len > PQ_TEXT_MAX_NUMBER) return PT_NO;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *n = (uint32_t)len;
    t->p = p;
    return 0;
}

static bool literal(ptext *t, const char *word, size_t n)
{
    if ((size_t)(t->end - t->p) < n || memcmp(t->p, word, n) != 0) return false;
    t->p += n;
    return true;
}

static int value(ptext *t, const dc_pq_field *f, int16_t rep);

/* A primitive value into leaf f: the scalar as the DOM would hold it. */
static int leaf(ptext *t, const dc_pq_field *f, int16_t rep)
{
    char num[PQ_TEXT_MAX_NUMBER + 1];
    dc_json v;
    memset(&v, 0, sizeof v);
    const uint8_t c = *t->p;
    if (c == '"') {
        const uint8_t *s;
        if (string_body(t, &s, &v.len) < 0) return PT_NO;
        v.type = DC_JSON_STRING;
        v.u.str = (const char *)s;
    } else if (c == 't' || c == 'f') {
        const bool yes = c == 't';
        if (!literal(t, yes ? "true" : "false", yes ? 4 : 5)) return PT_NO;
        v.type = yes ? DC_JSON_TRUE : DC_JSON_FALSE;
    } else {
        if (number(t, num, &v.len) < 0) return PT_NO;
        v.type = DC_JSON_NUMBER;
        v.u.str = num;
    }
    return pq_wr_shred_leaf(t->w, f, &v, rep, t->err) < 0 ? PT_NO : 0;
}

/* Index of f's child named name[0..n), trying `hint` (schema order) first; -1: none. */
static int32_t child(const dc_pq_field *f, const uint8_t *name, uint32_t n, uint32_t hint)
{
    for (uint32_t k = 0; k < f->n_children; k++) {
        const uint32_t j = hint + k < f->n_children ? hint + k : hint + k - f->n_children;
        const char *cn = f->children[j].name;
        if (strlen(cn) == n && memcmp(cn, name, n) == 0) return (int32_t)j;
    }
    return -1;
}

/* Top-level member `hint` when t->p holds exactly its name as a string
 * whose bytes are all plain (no escape can hide there: the name is those
 * bytes), without scanning or unescaping it; -1 otherwise. Typed rows
 * name their columns in schema order, so nearly every member is taken here. */
static int32_t root_member(ptext *t, uint32_t hint)
{
    const dc_pq_field *root = &t->w->schema->root;
    if (hint >= root->n_children) return -1;
    const uint32_t n = t->w->root_name_len[hint];
    const uint8_t *p = t->p;
    if (n == UINT32_MAX || (size_t)(t->end - p) < (size_t)n + 2 || p[n + 1] != '"' ||
        memcmp(p + 1, root->children[hint].name, n) != 0)
        return -1;
    t->p = p + n + 2;
    return (int32_t)hint;
}

/* The members of the object at t->p ('{') into struct f; seen[] (f's
 * children) marks the members found. */
static int members(ptext *t, const dc_pq_field *f, int16_t rep, size_t seen)
{
    const bool root = f == &t->w->schema->root;
    t->p++;
    ws(t);
    if (t->p < t->end && *t->p == '}') {
        t->p++;
        return 0;
    }
    for (uint32_t hint = 0;;) {
        const uint8_t *name;
        uint32_t n = 0;
        if (t->p >= t->end || *t->p != '"') return PT_NO;
        int32_t i = root ? root_member(t, hint) : -1;
        if (i < 0) {
            if (string_body(t, &name, &n) < 0) return PT_NO;
            i = child(f, name, n, hint);
        }
        if (i < 0 || t->w->seen.data[seen + (size_t)i]) return PT_NO;
        t->w->seen.data[seen + (size_t)i] = 1;
        hint = (uint32_t)i + 1;
        ws(t);
        if (t->p >= t->end || *t->p != ':') return PT_NO;
        t->p++;
        if (value(t, &f->children[i], rep) < 0) return PT_NO;
        ws(t);
        if (t->p >= t->end) return PT_NO;
        const uint8_t c = *t->p++;
        if (c == '}') return 0;
        if (c != ',') return PT_NO;
        ws(t);
    }
}

/* The object at t->p ('{') into struct f; missing members are null. */
static int object(ptext *t, const dc_pq_field *f, int16_t rep)
{
    dc_pq_writer *const w = t->w;
    const size_t base = w->seen.len; /* an offset: seen may move */
    if (dc_buf_reserve(&w->seen, f->n_children, t->err) < 0) return PT_NO;
    if (f->n_children) memset(w->seen.data + base, 0, f->n_children);
    w->seen.len += f->n_children;
    if (members(t, f, rep, base) < 0) return PT_NO;
    for (uint32_t i = 0; i < f->n_children; i++) {
        if (w->seen.data[base + i]) continue;
        const dc_pq_field *ch = &f->children[i];
        if (!ch->nullable) return PT_NO;
        if (pq_wr_push_nulls(w, ch, (int16_t)(ch->def_level - 1), rep, t->err) < 0) return PT_NO;
    }
    w->seen.len = base;
    return 0;
}

/* The array at t->p ('[') into array field f. */
static int array(ptext *t, const dc_pq_field *f, int16_t rep)
{
    const dc_pq_field *el = &f->children[0];
    t->p++;
    ws(t);
    if (t->p < t->end && *t->p == ']') {
        t->p++;
        return pq_wr_push_nulls(t->w, el, f->def_level, rep, t->err) < 0 ? PT_NO : 0;
    }
    for (uint32_t i = 0;; i++) {
        if (value(t, el, i == 0 ? rep : el->rep_level) < 0) return PT_NO;
        ws(t);
        if (t->p >= t->end) return PT_NO;
        const uint8_t c = *t->p++;
        if (c == ']') return 0;
        if (c != ',') return PT_NO;
    }
}

/* Any value (after whitespace) into field f. */
static int value(ptext *t, const dc_pq_field *f, int16_t rep)
{
    ws(t);
    if (t->p >= t->end) return PT_NO;
    const uint8_t c = *t->p;
    if (c == 'n') {
        if (!f->nullable || !literal(t, "null", 4)) return PT_NO;
        return pq_wr_push_nulls(t->w, f, (int16_t)(f->def_level - 1), rep, t->err) < 0 ? PT_NO
                                                                                       : 0;
    }
    switch (f->type) {
    case DC_TYPE_STRUCT: return c == '{' ? object(t, f, rep) : PT_NO;
    case DC_TYPE_ARRAY: return c == '[' ? array(t, f, rep) : PT_NO;
    case DC_TYPE_MAP: return PT_NO;
    default: break;
    }
    if (c == '{' || c == '[') return PT_NO;
    DC_ASSERT(f->leaf >= 0 && (uint32_t)f->leaf < t->w->schema->n_leaves);
    return leaf(t, f, rep);
}

/* The DOM path: the row parsed, then shredded as dc_pq_writer_write_json_row does. */
static int dom_row(dc_pq_writer *w, const char *text, size_t n, dc_err *err)
{
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *row = NULL;
    int rc = dc_json_parse(&row, &a, text, n, err);
    if (rc == 0) rc = pq_wr_shred_row(w, row, err);
    dc_arena_dispose(&a);
    return rc;
}

int dc_pq_writer_write_json_text(dc_pq_writer *w, const char *text, size_t n, dc_err *err)
{
    DC_TRY(pq_wr_check_open(w, err));
    const size_t rg_bytes = w->rg_bytes;
    pq_wr_mark_all(w);
    w->depth = 0;
    w->seen.len = 0;
    dc_err scratch;
    dc_err_clear(&scratch);
    ptext t = {w, (const uint8_t *)text, (const uint8_t *)text + n, &scratch};
    ws(&t);
    int rc = t.p < t.end && *t.p == '{' ? object(&t, &w->schema->root, 0) : PT_NO;
    ws(&t);
    if (rc == 0 && t.p == t.end) {
        w->rg_bytes += pq_wr_level_bytes(w);
        w->rg_rows++;
    } else {
        pq_wr_rollback(w, rg_bytes);
        DC_TRY(dom_row(w, text, n, err));
    }
    return pq_wr_maybe_flush(w, err);
}
