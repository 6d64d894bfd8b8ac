/* A second, slow Debezium decoder built on the dc_json DOM, written from the
 * rules in src/cdc/cdc.h, to judge the fast scanner (unit tests and
 * fuzz/fuzz_cdc_decode.c). cdc_ref_check decodes a record both ways and
 * returns NULL when they agree, else what differs. Header-only (static
 * functions) so the fuzzer and the tests share it. */
#ifndef DC_CDC_REF_H
#define DC_CDC_REF_H

#include "../../src/cdc/cdc.h"
#include "../../src/json/dc_json.h"

#include <stdio.h>

/* Outcome of the reference decode. */
typedef enum cdc_ref_rc {
    CDC_REF_OK = 0,      /* an event */
    CDC_REF_REJECT,      /* valid JSON that is not an acceptable record */
    CDC_REF_BAD_JSON,    /* dc_json_parse refuses the record */
} cdc_ref_rc;

/* The reference's event: DOM nodes instead of slices. */
typedef struct cdc_ref_event {
    dc_cdc_kind kind;           /* as in dc_cdc_event */
    char op;                    /* as in dc_cdc_event */
    bool has_ts_ms;             /* as in dc_cdc_event */
    int64_t ts_ms;              /* as in dc_cdc_event */
    const dc_json *before;      /* the image, NULL if absent/null */
    const dc_json *after;       /* the image, NULL if absent/null */
    const dc_json *keys[DC_CDC_MAX_KEYS]; /* key column values */
    const dc_json *schema;      /* the envelope's schema block (payload an object), or NULL */
    const dc_json *file;        /* payload.source.file when a string, else NULL */
    const dc_json *gtid;        /* payload.source.gtid when a string, else NULL */
    bool has_server_id;         /* as in dc_cdc_event */
    int64_t server_id;          /* as in dc_cdc_event */
    bool pos_ok;                /* has_srcpos, except for the file name's escapes (which
                                 * the DOM hides: checked on the decoder's raw slice) */
    dc_cdc_srcpos srcpos;       /* as in dc_cdc_event, when pos_ok */
} cdc_ref_event;

static bool cdc_ref_present(const dc_json *v) { return v && v->type != DC_JSON_NULL; }

/* payload.source: the binlog position rules of cdc.h on the DOM. */
static void cdc_ref_source(cdc_ref_event *ev, const dc_json *st)
{
    dc_err err;
    const dc_json *const src = dc_json_get(st, "source");
    if (!src || src->type != DC_JSON_OBJECT) return;
    const dc_json *const gtid = dc_json_get(src, "gtid"), *const sid = dc_json_get(src, "server_id");
    const dc_json *const file = dc_json_get(src, "file"), *const snap = dc_json_get(src, "snapshot");
    const dc_json *const pos = dc_json_get(src, "pos"), *const row = dc_json_get(src, "row");
    if (gtid && gtid->type == DC_JSON_STRING) ev->gtid = gtid;
    if (sid && sid->type == DC_JSON_NUMBER && dc_json_i64(&ev->server_id, sid, "s", &err) == 0)
        ev->has_server_id = true;
    if (!file || file->type != DC_JSON_STRING) return;
    ev->file = file;
    ev->srcpos.snapshot = snap && (snap->type == DC_JSON_TRUE ||
                                   (snap->type == DC_JSON_STRING &&
                                    !(snap->len == 5 && memcmp(snap->u.str, "false", 5) == 0)));
    int64_t r = 0;
    if (cdc_ref_present(row) &&
        (row->type != DC_JSON_NUMBER || dc_json_i64(&r, row, "r", &err) != 0 || r < 0 ||
         r > INT32_MAX))
        return;
    ev->srcpos.row = (int32_t)r;
    /* The file number: the digits after the name's last '.'. */
    const char *const dot = memrchr(file->u.str, '.', file->len);
    if (!dot || dot == file->u.str + file->len - 1) return;
    int64_t fno = 0;
    for (const char *d = dot + 1; d < file->u.str + file->len; d++) {
        if (*d < '0' || *d > '9' || fno > (INT64_MAX - (*d - '0')) / 10) return;
        fno = fno * 10 + (*d - '0');
    }
    ev->srcpos.file = fno;
    if (!pos || pos->type != DC_JSON_NUMBER ||
        dc_json_i64(&ev->srcpos.pos, pos, "p", &err) != 0 || ev->srcpos.pos < 0)
        return;
    ev->pos_ok = true;
}

/* The payload-level rules on object st (the payload, or a bare record). */
static cdc_ref_rc cdc_ref_interpret(cdc_ref_event *ev, const dc_json *st,
                                    const dc_cdc_keyspec *ks)
{
    dc_err err;
    cdc_ref_source(ev, st);
    const dc_json *const ts = dc_json_get(st, "ts_ms");
    if (cdc_ref_present(ts)) {
        if (dc_json_i64(&ev->ts_ms, ts, "ts_ms", &err) != 0) return CDC_REF_REJECT;
        ev->has_ts_ms = true;
    }
    const dc_json *const img[2] = {dc_json_get(st, "before"), dc_json_get(st, "after")};
    const dc_json *const op = dc_json_get(st, "op");
    const bool marker = dc_json_get(st, "ddl") || dc_json_get(st, "databaseName") ||
                        dc_json_get(st, "tableChanges") || dc_json_get(st, "status");
    if (!cdc_ref_present(op)) {
        if (!cdc_ref_present(img[0]) && !cdc_ref_present(img[1]) && (marker || ts))
            return CDC_REF_OK;
        return CDC_REF_REJECT;
    }
    if (op->type != DC_JSON_STRING || op->len != 1 || !op->u.str[0] ||
        !strchr("cudrtm", op->u.str[0]))
        return CDC_REF_REJECT;
    ev->op = op->u.str[0];
    if (ev->op == 'm') return CDC_REF_OK;
    for (int i = 0; i < 2; i++)
        if (cdc_ref_present(img[i]) && img[i]->type != DC_JSON_OBJECT) return CDC_REF_REJECT;
    ev->before = cdc_ref_present(img[0]) ? img[0] : NULL;
    ev->after = cdc_ref_present(img[1]) ? img[1] : NULL;
    if (ev->op == 't') {
        ev->kind = DC_CDC_TRUNCATE;
        return CDC_REF_OK;
    }
    const dc_json *const row = ev->op == 'd' ? ev->before : ev->after;
    if (!row) return CDC_REF_REJECT;
    for (uint32_t i = 0; i < ks->n; i++) {
        ev->keys[i] = dc_json_get(row, ks->names[i]);
        if (!cdc_ref_present(ev->keys[i])) return CDC_REF_REJECT;
    }
    ev->kind = DC_CDC_CHANGE;
    return CDC_REF_OK;
}

static cdc_ref_rc cdc_ref_decode(cdc_ref_event *ev, dc_arena *a, const dc_cdc_keyspec *ks,
                                 const char *rec, size_t n)
{
    dc_err err;
    memset(ev, 0, sizeof *ev);
    ev->kind = DC_CDC_SKIP;
    size_t i = 0;
    while (i < n && (rec[i] == ' ' || rec[i] == '\t' || rec[i] == '\r' || rec[i] == '\n')) i++;
    if (i == n) return CDC_REF_OK;
    dc_json *root = NULL;
    if (dc_json_parse(&root, a, rec, n, &err) != 0) return CDC_REF_BAD_JSON;
    if (root->type == DC_JSON_NULL) return CDC_REF_OK;
    if (root->type != DC_JSON_OBJECT) return CDC_REF_REJECT;
    const dc_json *const payload = dc_json_get(root, "payload");
    if (payload) {
        if (payload->type == DC_JSON_NULL) return CDC_REF_OK;
        if (payload->type != DC_JSON_OBJECT) return CDC_REF_REJECT;
        const dc_json *const schema = dc_json_get(root, "schema");
        if (cdc_ref_present(schema)) ev->schema = schema;
        return cdc_ref_interpret(ev, payload, ks);
    }
    if (dc_json_get(root, "schema")) return CDC_REF_REJECT;
    return cdc_ref_interpret(ev, root, ks);
}

/* Does the JSON text s[0..n) parse to a value that writes like v? */
static bool cdc_ref_same_json(dc_arena *a, const char *s, size_t n, const dc_json *v)
{
    dc_err err;
    dc_json *back = NULL;
    dc_buf w1, w2;
    bool same = false;
    if (!s || !v) return !s && !v;
    if (dc_json_parse(&back, a, s, n, &err) != 0) return false;
    dc_buf_init(&w1, (size_t)1 << 30);
    dc_buf_init(&w2, (size_t)1 << 30);
    if (dc_json_write(&w1, back, &err) == 0 && dc_json_write(&w2, v, &err) == 0)
        same = w1.len == w2.len && (w1.len == 0 || memcmp(w1.data, w2.data, w1.len) == 0);
    dc_buf_dispose(&w1);
    dc_buf_dispose(&w2);
    return same;
}

/* Does the decoded key k say what the DOM value v says? */
static bool cdc_ref_same_key(dc_arena *a, const dc_cdc_key *k, const dc_json *v)
{
    dc_err err;
    int64_t i;
    if (v->type == DC_JSON_NUMBER && dc_json_i64(&i, v, "key", &err) == 0)
        return k->type == DC_CDC_KEY_LONG && k->i == i;
    if (k->type != DC_CDC_KEY_STRING || !k->s) return false;
    if (v->type == DC_JSON_STRING || v->type == DC_JSON_NUMBER)
        return k->len == v->len && memcmp(k->s, v->u.str, v->len) == 0;
    if (v->type == DC_JSON_TRUE) return k->len == 4 && memcmp(k->s, "true", 4) == 0;
    if (v->type == DC_JSON_FALSE) return k->len == 5 && memcmp(k->s, "false", 5) == 0;
    return cdc_ref_same_json(a, k->s, k->len, v);
}

/* Do two decodes of the same record say exactly the same? */
static bool cdc_ref_same_event(const dc_cdc_event *a, const dc_cdc_event *b)
{
    if (a->kind != b->kind || a->op != b->op || a->has_ts_ms != b->has_ts_ms ||
        a->ts_ms != b->ts_ms || a->after != b->after || a->after_len != b->after_len ||
        a->before != b->before || a->before_len != b->before_len || a->n_keys != b->n_keys ||
        a->schema != b->schema || a->schema_len != b->schema_len ||
        a->has_srcpos != b->has_srcpos || a->src_file != b->src_file ||
        a->src_file_len != b->src_file_len || a->gtid != b->gtid || a->gtid_len != b->gtid_len ||
        a->has_server_id != b->has_server_id || a->server_id != b->server_id)
        return false;
    if (a->has_srcpos && dc_cdc_srcpos_cmp(&a->srcpos, &b->srcpos) != 0) return false;
    for (uint32_t i = 0; i < a->n_keys; i++) {
        const dc_cdc_key *const x = &a->keys[i], *const y = &b->keys[i];
        if (x->type != y->type || (x->type == DC_CDC_KEY_LONG && x->i != y->i) ||
            (x->type == DC_CDC_KEY_STRING &&
             (x->len != y->len || (x->len && memcmp(x->s, y->s, x->len) != 0))))
            return false;
    }
    return true;
}

/* Does the raw string body s[0..n) (a slice of the record) unescape to v? */
static bool cdc_ref_same_body(dc_arena *a, const char *rec, size_t rn, const char *s, uint32_t n,
                              const dc_json *v)
{
    if (!s || !v) return !s && !v;
    if (s < rec + 1 || s + n + 1 > rec + rn || s[-1] != '"' || s[n] != '"') return false;
    dc_json tmp = *v;
    tmp.key = NULL;
    return cdc_ref_same_json(a, s - 1, (size_t)n + 2, &tmp);
}

/* The schema slice and the source fields against the reference. */
static const char *cdc_ref_check_source(dc_arena *a, const dc_cdc_event *ev,
                                        const cdc_ref_event *ref, const char *rec, size_t n)
{
    if (ev->schema && (ev->schema < rec || ev->schema + ev->schema_len > rec + n))
        return "schema slice outside the record";
    if (!cdc_ref_same_json(a, ev->schema, ev->schema_len, ref->schema)) return "schema differs";
    if (!cdc_ref_same_body(a, rec, n, ev->gtid, ev->gtid_len, ref->gtid)) return "gtid differs";
    if (!cdc_ref_same_body(a, rec, n, ev->src_file, ev->src_file_len, ref->file))
        return "source file differs";
    if (ev->has_server_id != ref->has_server_id ||
        (ev->has_server_id && ev->server_id != ref->server_id))
        return "server_id differs";
    const bool want = ref->pos_ok && ev->src_file && !memchr(ev->src_file, '\\', ev->src_file_len);
    if (ev->has_srcpos != want) return "has_srcpos differs";
    if (want && (ev->srcpos.file != ref->srcpos.file || ev->srcpos.pos != ref->srcpos.pos ||
                 ev->srcpos.row != ref->srcpos.row || ev->srcpos.snapshot != ref->srcpos.snapshot))
        return "srcpos differs";
    return NULL;
}

/* dc_cdc_decode_cached with `cache` must give what dc_cdc_decode gave (rc,
 * ev, err message); NULL when it does. */
static const char *cdc_ref_check_cached(dc_cdc_schema_cache *cache, const dc_cdc_keyspec *ks,
                                        const char *rec, size_t n, int rc,
                                        const dc_cdc_event *ev, const dc_err *err)
{
    dc_err err2;
    dc_cdc_event ev2;
    dc_buf scratch2;
    const char *bad = NULL;
    dc_buf_init(&scratch2, (size_t)1 << 30);
    dc_err_clear(&err2);
    const int rc2 = dc_cdc_decode_cached(&ev2, &scratch2, cache, ks, rec, n, &err2);
    if (rc2 != rc) bad = "cached decode: another return code";
    else if (rc != 0 && strcmp(err->msg, err2.msg) != 0) bad = "cached decode: another error";
    else if (rc == 0 && !cdc_ref_same_event(ev, &ev2)) bad = "cached decode: another event";
    dc_buf_dispose(&scratch2);
    return bad;
}

/* Decodes rec with dc_cdc_decode and with the reference; NULL when they
 * agree (and the slices lie inside rec), else a description of the first
 * difference (static storage). `msg` receives the decoder's error text.
 * With a cache, dc_cdc_decode_cached must also agree (twice: a miss that
 * fills the cache, then a hit). */
static const char *cdc_ref_check(const dc_cdc_keyspec *ks, const char *rec, size_t n,
                                 char msg[DC_ERR_MSG_MAX], dc_cdc_schema_cache *cache)
{
    static char why[DC_ERR_MSG_MAX + 64];
    dc_err err;
    dc_arena a;
    dc_buf scratch;
    dc_cdc_event ev;
    cdc_ref_event ref;
    const char *bad = NULL;
    dc_arena_init(&a, (size_t)1 << 32);
    dc_buf_init(&scratch, (size_t)1 << 30);
    dc_err_clear(&err);
    const int rc = dc_cdc_decode(&ev, &scratch, ks, rec, n, &err);
    const cdc_ref_rc want = cdc_ref_decode(&ref, &a, ks, rec, n);
    if (msg) snprintf(msg, DC_ERR_MSG_MAX, "%s", err.msg);
    if ((rc == 0) != (want == CDC_REF_OK)) {
        snprintf(why, sizeof why, "decoder rc %d (%s), reference %d", rc, err.msg, (int)want);
        bad = why;
        goto out;
    }
    for (int pass = 0; cache && !bad && pass < 2; pass++)
        bad = cdc_ref_check_cached(cache, ks, rec, n, rc, &ev, &err);
    if (bad) goto out;
    if (rc != 0) {
        if (want == CDC_REF_BAD_JSON && rc != DC_EINVAL && rc != DC_ELIMIT) bad = "odd error code";
        else if (!strstr(err.msg, " at byte ") || strncmp(err.msg, "cdc: ", 5) != 0)
            bad = "error message without 'cdc: ' and ' at byte '";
        goto out;
    }
    if (ev.kind != ref.kind) bad = "kind differs";
    else if (ev.kind != DC_CDC_SKIP && ev.op != ref.op) bad = "op differs";
    else if (ev.has_ts_ms != ref.has_ts_ms || ev.ts_ms != ref.ts_ms) bad = "ts_ms differs";
    else if ((ev.after && (ev.after < rec || ev.after + ev.after_len > rec + n)) ||
             (ev.before && (ev.before < rec || ev.before + ev.before_len > rec + n)))
        bad = "slice outside the record";
    else if (!cdc_ref_same_json(&a, ev.after, ev.after_len, ref.after)) bad = "after differs";
    else if (!cdc_ref_same_json(&a, ev.before, ev.before_len, ref.before)) bad = "before differs";
    else if (ev.n_keys != (ev.kind == DC_CDC_CHANGE ? ks->n : 0)) bad = "n_keys differs";
    for (uint32_t i = 0; !bad && i < ev.n_keys; i++)
        if (!cdc_ref_same_key(&a, &ev.keys[i], ref.keys[i])) bad = "key differs";
    if (!bad) bad = cdc_ref_check_source(&a, &ev, &ref, rec, n);
out:
    dc_buf_dispose(&scratch);
    dc_arena_dispose(&a);
    return bad;
}

#endif /* DC_CDC_REF_H */
