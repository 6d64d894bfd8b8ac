/*
 * Batches: events in, one Delta commit out.
 *
 * Adding keeps, per key, the event with the greatest (ts_ms, offset) (the
 * seed's ROW_NUMBER); a truncate drops what came before it in the batch;
 * events at or below the table's txn version of their topic-partition were
 * committed before (a replay after a crash) and are skipped.
 *
 * Committing plans against the key index — a winner newer than the key's
 * row replaces it (inserted when absent), an older or equal one is stale —
 * then writes the new rows as one file sorted by key, marks replaced rows in
 * deletion vectors (dv) or rewrites their files (cow), sets a txn per
 * topic-partition and commits once. Only after the commit succeeds is the
 * index changed (with room reserved beforehand, so that step can not fail).
 * A lost race reloads the table and plans again, a bounded number of times,
 * after a pause with jitter so that two writers in step fall out of it.
 */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The pause before a retry after a lost race (DC_MERGE_MAX_ATTEMPTS in all):
 * full jitter over 10 ms doubling to 1 s (at most 3.3 s in all). Without
 * it two writers of small batches retry in lock step and one can lose every
 * race. */
#define DC_MERGE_RETRY_BASE_MS 10
#define DC_MERGE_RETRY_CAP_MS 1000

int (*dc_merge_test_hook_before_commit)(void) = NULL;

/* Caller-added commitInfo parameters per batch (dc_merge_batch_param). */
#define MB_MAX_XPARAMS 8

/* A topic-partition seen in the batch. */
/* Room kept per event for a typed table's __source_pos text (file name,
 * position, row and GTID: well under this). */
#define MB_POS_BYTES 256
/* Keys ahead whose index slot is prefetched (dc_mx_prefetch) */
#define MB_PREFETCH 8

typedef struct mb_tp {
    const char *topic;          /* arena copy */
    int32_t partition;
    const char *app_id;         /* "<pipeline>/<topic>/<partition>", arena */
    int64_t max_off;            /* greatest offset added */
    int64_t committed;          /* table's txn version (-1: none), refreshed per attempt */
    int64_t id_bytes;           /* the input's identity at max_off (file source), -1: none */
    int64_t id_hash;            /* (dc_merge_batch_set_input_id) */
    /* typed tables: the source-position watermark (merge_typed.c) */
    const char *wm_ids[3];      /* "<app_id>#pos.hi", "#pos.lo", "#pos.key" (arena) */
    bool has_wm;                /* the table has a committed watermark */
    mseq wm;                    /* it (refreshed per attempt) */
    int64_t wm_key;             /* key_tag of the event at it */
    bool has_bpos;              /* an event of the batch had a source position */
    mseq bpos;                  /* the greatest one */
    int64_t bpos_key;           /* key_tag of its event */
} mb_tp;

/* The winning event of one key. */
typedef struct mb_ev {
    mkey key;                   /* bytes in the batch arena */
    mseq seq;                   /* (ts_ms or INT64_MIN, offset) */
    bool has_ts;                /* ts_ms was present */
    char op;                    /* c, u, d, r */
    const char *image;          /* COALESCE(after, before) JSON text (arena), NULL: null;
                                   typed: its decoded members (dc_cdc_typed_members), or
                                   with `vals` its values in stored form */
    uint32_t image_len;
    bool vals;                  /* typed: image holds dc_cdc_typed_values_decoded's values
                                   (flat columns: written as columns, merge_tcols.c) */
    uint32_t tp;                /* index into tps */
    const dc_cdc_tschema *cols; /* typed: how to decode the image (held by the batch) */
    const char *pos;            /* typed: __source_pos text (arena), NULL: none */
    uint32_t pos_len;
    int64_t ts, offset;         /* ts_ms (when has_ts) and offset as sent (seq may be the
                                   source position instead) */
} mb_ev;

struct dc_merge_batch {
    dc_merge_table *t;          /* borrowed */
    dc_arena arena;             /* keys, images, topic names */
    mb_ev *evs;                 /* winners, one per key */
    size_t n_evs, cap_evs;
    uint32_t *map;              /* key → ev index + 1; power-of-two open addressing */
    bool map_on;                /* map holds every event; until then keys came in strictly
                                   ascending order (a bootstrap's) and need no lookup */
    size_t map_cap;
    mb_tp *tps;
    size_t n_tps, cap_tps;
    uint32_t last_tp;           /* the topic-partition of the previous event (runs are common) */
    bool has_trunc;             /* a truncate was added (the last one below) */
    uint32_t trunc_tp;
    int64_t trunc_off;
    uint64_t source_rows;       /* events added, skipped ones included */
    uint64_t replayed;          /* change events at or below their txn version */
    dc_buf kb;                  /* key scratch */
    bool spent;                 /* committed (or failed): no more use */
    /* typed tables */
    dc_cdc_tschema **schemas;   /* records' column sets the events use (one reference each) */
    size_t n_schemas, cap_schemas;
    const dc_cdc_tschema *last_cols; /* the last record's, already compared */
    mt_added added;             /* columns the batch adds to the table */
    mcolmap *cm;                /* renames and drops it follows (merge_colmap.c) */
    uint64_t repeats;           /* events at or before their partition's watermark */
    dc_buf scratch;             /* __source_pos text, rows */
    /* the history's position (a bootstrap's snapshot, dc_merge_batch_history): a
       table-wide floor below which streamed events are already in the table */
    bool has_floor;             /* the table has one (txns DC_MERGE_HISTORY_APP#pos.*) */
    mseq floor;                 /* it (refreshed per attempt) */
    bool history;               /* this batch writes the history itself: no floor check */
    bool images_typed;          /* images come decoded (dc_merge_batch_images_typed) */
    mseq history_pos;           /* and its position (the floor it sets when lower) */
    const dc_pq_schema *hc_schema; /* the rows as columns too (dc_merge_batch_columns) */
    const dc_pq_column *hc_cols;   /* one per leaf of hc_schema, or NULL */
    bool hc_only;               /* the events have no images: only hc_cols say the rows */
    bool hc_refused;            /* the commit failed as they could not be written as they are */
    /* commitInfo operationParameters the caller adds (bootstrap: its progress) */
    const char *xparam[MB_MAX_XPARAMS][2]; /* key, value (arena copies) */
    uint32_t n_xparams;
};

/* The table's history floor (DC_MERGE_HISTORY_APP). */
static void read_floor(dc_merge_batch *b)
{
    int64_t hi = 0, lo = 0;
    b->has_floor = dc_delta_snapshot_txn_version(&hi, b->t->snap,
                                                 DC_MERGE_HISTORY_APP "#pos.hi") == 0 &&
                   dc_delta_snapshot_txn_version(&lo, b->t->snap,
                                                 DC_MERGE_HISTORY_APP "#pos.lo") == 0;
    b->floor = dc_mtyped_pos_stored(hi, lo);
}

int dc_merge_batch_new(dc_merge_batch **out, dc_merge_table *t, dc_err *err)
{
    *out = NULL;
    dc_merge_batch *b = dc_calloc(1, sizeof *b);
    if (!b) return dc_err_set(err, DC_ENOMEM, "merge batch: out of memory");
    b->t = t;
    dc_arena_init(&b->arena, DC_MERGE_MAX_BATCH_BYTES);
    dc_buf_init(&b->kb, DC_MERGE_MAX_KEY_BYTES + 16);
    dc_buf_init(&b->scratch, DC_MERGE_MAX_BATCH_BYTES);
    read_floor(b);
    if (dc_mcolmap_new(&b->cm, err) < 0) {
        dc_merge_batch_free(b);
        return err->code;
    }
    *out = b;
    return 0;
}

void dc_merge_batch_free(dc_merge_batch *b)
{
    if (!b) return;
    dc_free(b->evs);
    dc_free(b->map);
    dc_free(b->tps);
    dc_buf_dispose(&b->kb);
    dc_buf_dispose(&b->scratch);
    for (size_t i = 0; i < b->n_schemas; i++) dc_cdc_tschema_free(b->schemas[i]);
    dc_mcolmap_free(b->cm);
    dc_free(b->schemas);
    dc_free(b->added.cols);
    dc_free(b->added.wide);
    dc_arena_dispose(&b->arena);
    dc_free(b);
}

/* ------------------------------------------------------------ adding */

static bool tp_is(const mb_tp *tp, const char *topic, int32_t partition)
{
    return tp->partition == partition && strcmp(tp->topic, topic) == 0;
}

/* A typed table's committed watermark of one topic-partition. */
static void read_watermark(mb_tp *tp, const dc_delta_snapshot *snap)
{
    int64_t hi = 0, lo = 0, key = 0;
    tp->has_wm = dc_delta_snapshot_txn_version(&hi, snap, tp->wm_ids[0]) == 0 &&
                 dc_delta_snapshot_txn_version(&lo, snap, tp->wm_ids[1]) == 0 &&
                 dc_delta_snapshot_txn_version(&key, snap, tp->wm_ids[2]) == 0;
    tp->wm = dc_mtyped_pos_stored(hi, lo);
    tp->wm_key = key;
}

static int tp_get(uint32_t *out, dc_merge_batch *b, const char *topic, int32_t partition,
                  dc_err *err)
{
    if (b->n_tps && tp_is(&b->tps[b->last_tp], topic, partition)) {
        *out = b->last_tp;
        return 0;
    }
    for (size_t i = b->n_tps; i-- > 0;)
        if (tp_is(&b->tps[i], topic, partition)) {
            *out = b->last_tp = (uint32_t)i;
            return 0;
        }
    DC_TRY(dc_array_grow((void **)&b->tps, &b->cap_tps, b->n_tps + 1, sizeof *b->tps, 1u << 20,
                         err));
    dc_buf id;
    dc_buf_init(&id, 1 << 20);
    mb_tp tp = {NULL, partition, NULL, INT64_MIN, -1, -1, -1};
    int rc = dc_merge_app_id(&id, b->t, topic, partition, err);
    if (rc == 0 && (!(tp.topic = dc_arena_strndup(&b->arena, topic, strlen(topic), err)) ||
                    !(tp.app_id = dc_arena_strndup(&b->arena, (const char *)id.data, id.len - 1,
                                                   err))))
        rc = DC_ENOMEM;
    if (rc == 0 && dc_delta_snapshot_txn_version(&tp.committed, b->t->snap, tp.app_id) < 0)
        tp.committed = -1;
    static const char *const wm_parts[3] = {"hi", "lo", "key"};
    for (int i = 0; rc == 0 && b->t->format == DC_FORMAT_TYPED && i < 3; i++) {
        dc_buf_reset(&id);
        rc = dc_buf_appendf(&id, err, "%s#pos.%s", tp.app_id, wm_parts[i]);
        if (rc == 0 && !(tp.wm_ids[i] = dc_arena_strndup(&b->arena, (const char *)id.data,
                                                        id.len, err)))
            rc = DC_ENOMEM;
    }
    dc_buf_dispose(&id);
    if (rc < 0) return rc;
    if (b->t->format == DC_FORMAT_TYPED) read_watermark(&tp, b->t->snap);
    b->tps[b->n_tps] = tp;
    *out = b->last_tp = (uint32_t)b->n_tps++;
    return 0;
}

/* Canonical key of an event (into b->kb for byte keys). */
static int event_key(mkey *k, dc_merge_batch *b, const dc_cdc_event *ev, dc_err *err)
{
    const dc_merge_table *t = b->t;
    memset(k, 0, sizeof *k);
    if (ev->n_keys != t->n_keys)
        return dc_err_set(err, DC_EINVAL, "the event has %u key values, the table %u key "
                          "columns", ev->n_keys, t->n_keys);
    dc_buf_reset(&b->kb);
    for (uint32_t i = 0; i < t->n_keys; i++) {
        const dc_cdc_key *ek = &ev->keys[i];
        dc_cdc_key conv;
        if (t->key_conv) { /* typed: a date, timestamp, decimal or binary key */
            DC_TRY(dc_mtyped_key(&conv, b->t, ev, i, err));
            ek = &conv;
        }
        if (t->key_types[i] == DC_CDC_KEY_LONG) {
            if (ek->type != DC_CDC_KEY_LONG)
                return dc_err_set(err, DC_EINVAL, "key column '%s' is a long in the table, the "
                                  "event has a string", t->key_names[i]);
            if (t->index.int_keys) {
                k->i = ek->i;
                k->hash = dc_mx_hash_i64(&t->index, ek->i);
                return 0;
            }
            uint8_t v[8];
            dc_mkey_long_put(v, ek->i);
            DC_TRY(dc_buf_append(&b->kb, v, 8, err));
            continue;
        }
        char num[24];
        const char *s = ek->s;
        uint32_t n = ek->len;
        if (ek->type == DC_CDC_KEY_LONG) { /* a number in a string column: its text */
            n = (uint32_t)snprintf(num, sizeof num, "%" PRId64, ek->i);
            s = num;
        }
        uint8_t l[4];
        dc_store_le32(l, n);
        DC_TRY(dc_buf_append(&b->kb, l, 4, err));
        DC_TRY(dc_buf_append(&b->kb, s, n, err));
    }
    if (b->kb.len > DC_MERGE_MAX_KEY_BYTES)
        return dc_err_set(err, DC_ELIMIT, "a key of %zu bytes exceeds %zu", b->kb.len,
                          DC_MERGE_MAX_KEY_BYTES);
    k->b = b->kb.data;
    k->len = (uint32_t)b->kb.len;
    k->hash = dc_mx_hash_bytes(&t->index, k->b, k->len);
    return 0;
}

void dc_merge_table_keyshape(dc_merge_keyshape *out, const dc_merge_table *t,
                             const char *const *names)
{
    DC_ASSERT(t->format == DC_FORMAT_RAW && t->n_keys <= DC_CDC_MAX_KEYS);
    memset(out, 0, sizeof *out);
    out->n_keys = t->n_keys;
    for (uint32_t i = 0; i < t->n_keys; i++) {
        out->key_types[i] = t->key_types[i];
        out->key_names[i] = names[i];
    }
}

/* add_change's and event_key's refusals of a raw table's event, in their
 * order and words (tests/merge/test_merge_keycheck.c holds them equal). */
int dc_merge_event_check(const dc_merge_keyshape *k, const dc_cdc_event *ev, const char *topic,
                         int32_t partition, int64_t offset, dc_err *err)
{
    if (offset < 0)
        return dc_err_set(err, DC_EINVAL, "%s/%" PRId32 ": negative offset %" PRId64, topic,
                          partition, offset);
    if (ev->kind != DC_CDC_CHANGE) return 0;
    int rc = 0;
    size_t bytes = 0;
    if (ev->op != 'c' && ev->op != 'u' && ev->op != 'd' && ev->op != 'r')
        rc = dc_err_set(err, DC_EINVAL, "op '%c' is not a row change", ev->op);
    else if (ev->n_keys != k->n_keys)
        rc = dc_err_set(err, DC_EINVAL, "the event has %u key values, the table %u key "
                        "columns", ev->n_keys, k->n_keys);
    for (uint32_t i = 0; rc == 0 && i < k->n_keys; i++) {
        const dc_cdc_key *ek = &ev->keys[i];
        if (k->key_types[i] == DC_CDC_KEY_LONG) {
            if (ek->type != DC_CDC_KEY_LONG)
                rc = dc_err_set(err, DC_EINVAL, "key column '%s' is a long in the table, the "
                                "event has a string", k->key_names[i]);
            bytes += 8;
            continue;
        }
        char num[24];
        bytes += 4 + (ek->type == DC_CDC_KEY_LONG
                          ? (size_t)snprintf(num, sizeof num, "%" PRId64, ek->i) : ek->len);
    }
    if (rc == 0 && bytes > DC_MERGE_MAX_KEY_BYTES)
        rc = dc_err_set(err, DC_ELIMIT, "a key of %zu bytes exceeds %zu", bytes,
                        DC_MERGE_MAX_KEY_BYTES);
    if (rc < 0) dc_err_prefix(err, "%s/%" PRId32 "/%" PRId64, topic, partition, offset);
    return rc;
}

static bool key_eq(const mkey *a, const mkey *b, bool int_keys)
{
    if (int_keys) return a->i == b->i;
    return a->hash == b->hash && a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static int map_grow(dc_merge_batch *b, dc_err *err)
{
    size_t cap = b->map_cap ? b->map_cap * 2 : 1024;
    while (cap < (b->n_evs + 1) * 2) cap *= 2; /* built late (map_on): room for them all */
    uint32_t *m = dc_calloc(cap, sizeof *m);
    if (!m) return dc_err_set(err, DC_ENOMEM, "merge batch: out of memory");
    for (size_t i = 0; i < b->n_evs; i++) {
        size_t j = (size_t)b->evs[i].key.hash & (cap - 1);
        while (m[j]) j = (j + 1) & (cap - 1);
        m[j] = (uint32_t)i + 1;
    }
    dc_free(b->map);
    b->map = m;
    b->map_cap = cap;
    return 0;
}

/* Slot of k in the batch map: holding its event, or empty. */
static size_t map_slot(const dc_merge_batch *b, const mkey *k)
{
    size_t j = (size_t)k->hash & (b->map_cap - 1);
    while (b->map[j] && !key_eq(&b->evs[b->map[j] - 1].key, k, b->t->index.int_keys))
        j = (j + 1) & (b->map_cap - 1);
    return j;
}

/* What an event ranks by, and how a typed table decodes it. */
typedef struct mb_typed {
    mseq seq;                   /* (ts_ms, offset), or the source position */
    const dc_cdc_tschema *cols; /* typed: the record's columns; NULL for raw tables */
    bool flat;                  /* typed: cols are flat (dc_cdc_tschema_flat) */
} mb_typed;

bool dc_merge_test_typed_text = false;

/* Copies what the event needs beyond the call into the arena; *out is
 * written only on success (a record refused here leaves the key's earlier
 * winner as it was: with on_error dead_letter the batch goes on). */
static int fill_event(mb_ev *out, dc_merge_batch *b, const dc_cdc_event *ev, const mkey *k,
                      uint32_t tp, int64_t offset, const mb_typed *ty, dc_err *err)
{
    mb_ev e;
    memset(&e, 0, sizeof e);
    const char *img = ev->after ? ev->after : ev->before;
    uint32_t n = ev->after ? ev->after_len : ev->before_len;
    if (img && ty->cols && !b->images_typed) { /* typed: decoded now, so a bad value stops this record (the
                              * image's JSON was checked by dc_cdc_decode, or is a copy);
                              * flat columns in stored form, no JSON text (merge_tcols.c) */
        e.vals = ty->flat && !dc_merge_test_typed_text;
        dc_buf_reset(&b->scratch);
        DC_TRY(e.vals ? dc_cdc_typed_values_decoded(&b->scratch, ty->cols, img, n, err)
                      : dc_cdc_typed_members_decoded(&b->scratch, ty->cols, img, n, err));
        img = (const char *)b->scratch.data;
        n = (uint32_t)b->scratch.len;
    }
    if (img && b->images_typed) e.image = img; /* the caller's until the commit */
    else if (img && !(e.image = dc_arena_strndup(&b->arena, img, n, err))) return DC_ENOMEM;
    e.image_len = img ? n : 0;
    e.cols = ty->cols;
    /* a snapshot's rows share one position (of one source: the same
     * topic-partition): its text once */
    const mb_ev *l = b->n_evs ? &b->evs[b->n_evs - 1] : NULL;
    if (ty->cols && ev->has_srcpos && l && l->pos && l->tp == tp &&
        dc_mseq_cmp(l->seq, ty->seq) == 0) {
        e.pos = l->pos;
        e.pos_len = l->pos_len;
    } else if (ty->cols && ev->has_srcpos) {
        dc_buf_reset(&b->scratch);
        DC_TRY(dc_cdc_srcpos_format(&b->scratch, ev, err));
        e.pos_len = (uint32_t)b->scratch.len;
        if (!(e.pos = dc_arena_strndup(&b->arena, (const char *)b->scratch.data,
                                       b->scratch.len, err)))
            return DC_ENOMEM;
    }
    e.key = *k;
    if (!b->t->index.int_keys) {
        uint8_t *kb = dc_arena_alloc(&b->arena, k->len ? k->len : 1, err);
        if (!kb) return DC_ENOMEM;
        memcpy(kb, k->b, k->len);
        e.key.b = kb;
    }
    e.has_ts = ev->has_ts_ms;
    e.ts = ev->ts_ms;
    e.offset = offset;
    e.seq = ty->seq;
    e.op = ev->op;
    e.tp = tp;
    *out = e;
    return 0;
}

size_t dc_merge_test_max_batch_events = 0;

static size_t max_events(void)
{
    const size_t t = dc_merge_test_max_batch_events;
    return t && t < DC_MERGE_MAX_BATCH_EVENTS ? t : DC_MERGE_MAX_BATCH_EVENTS;
}

size_t dc_merge_batch_max_events(void) { return max_events(); }

bool dc_merge_batch_has_room(const dc_merge_batch *b, const dc_cdc_event *ev)
{
    if (ev->kind != DC_CDC_CHANGE) return true; /* truncates and skips take no room */
    /* The copies of one event: its key and image, each rounded up by the arena. */
    const size_t bytes = DC_MERGE_MAX_KEY_BYTES + 16 + (size_t)ev->after_len +
                         (size_t)ev->before_len + MB_POS_BYTES;
    return b->n_evs < max_events() && b->arena.used <= b->arena.max - bytes;
}

/* The record's columns (typed tables): its schema block's, checked against
 * the table's (new columns noted, type changes refused), or the table's. */
static int typed_cols(const dc_cdc_tschema **out, dc_merge_batch *b, const dc_cdc_event *ev,
                      const mb_tp *tp, dc_err *err)
{
    mtyped *m = b->t->typed;
    *out = m->cols;
    DC_TRY(dc_mcolmap_advance(b->cm, b->t, ev, tp->has_wm ? &tp->wm : NULL, err));
    if (!ev->schema) return 0;
    const dc_cdc_tschema *c = NULL;
    DC_TRY(dc_cdc_tschema_cache_get_id(&c, &m->cache, ev->schema, ev->schema_len,
                                       ev->schema_id, err));
    DC_TRY(dc_mcolmap_map(&c, b->cm, b->t, c, err));
    *out = c;
    if (c == b->last_cols) return 0;
    for (size_t i = 0; i < b->n_schemas; i++)
        if (b->schemas[i] == c) {
            b->last_cols = c;
            return 0;
        }
    DC_TRY(dc_mtyped_compare(&b->added, b->t, c, err));
    DC_TRY(dc_array_grow((void **)&b->schemas, &b->cap_schemas, b->n_schemas + 1,
                         sizeof *b->schemas, 1u << 16, err));
    b->schemas[b->n_schemas++] = dc_cdc_tschema_dup((dc_cdc_tschema *)c);
    b->last_cols = c;
    return 0;
}

/* A key's tag stored with the watermark: FNV-1a of its canonical bytes
 * (of the value for int keys), the same in every process. */
static int64_t key_tag(const mkey *k, bool int_keys)
{
    uint8_t iv[8];
    const uint8_t *p = k->b;
    size_t n = k->len;
    if (int_keys) {
        dc_mkey_long_put(iv, k->i);
        p = iv;
        n = 8;
    }
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return (int64_t)(h >> 1); /* a txn version: keep it non-negative */
}

/* At or below a watermark (w, its event's key tag wk): a position below
 * it, or the same position and key (the event applied last, again; one
 * position is shared by the rows of a snapshot and by the delete and the
 * create of a primary-key change, which differ in the key). */
static bool not_above(mseq s, int64_t key, mseq w, int64_t wk)
{
    const int c = dc_mseq_cmp(s, w);
    return c < 0 || (c == 0 && key == wk);
}

/* The event's sequence; typed tables: its source position when it has one,
 * and *repeat when that is not above its partition's watermark (committed,
 * or the batch's own: one partition is written in binlog order). */
static int event_seq(mb_typed *ty, bool *repeat, dc_merge_batch *b, const dc_cdc_event *ev,
                     const mkey *k, uint32_t tp, int64_t offset, dc_err *err)
{
    memset(ty, 0, sizeof *ty);
    *repeat = false;
    ty->seq = (mseq){ev->has_ts_ms ? ev->ts_ms : INT64_MIN, offset};
    if (b->t->format != DC_FORMAT_TYPED) return 0;
    DC_TRY(typed_cols(&ty->cols, b, ev, &b->tps[tp], err));
    ty->flat = ty->cols && dc_cdc_tschema_flat(ty->cols);
    if (!ev->has_srcpos) return 0;
    mb_tp *p = &b->tps[tp];
    ty->seq = dc_mtyped_pos_seq(&ev->srcpos);
    const int64_t tag = key_tag(k, b->t->index.int_keys);
    if ((!b->history && b->has_floor && dc_mseq_cmp(ty->seq, b->floor) <= 0) ||
        (p->has_wm && not_above(ty->seq, tag, p->wm, p->wm_key)) ||
        (p->has_bpos && not_above(ty->seq, tag, p->bpos, p->bpos_key))) {
        *repeat = true;
        return 0;
    }
    if (!p->has_bpos || dc_mseq_cmp(ty->seq, p->bpos) > 0) {
        p->has_bpos = true;
        p->bpos = ty->seq;
        p->bpos_key = tag;
    }
    return 0;
}

static int add_change(dc_merge_batch *b, const dc_cdc_event *ev, uint32_t tp, int64_t offset,
                      dc_err *err)
{
    if (ev->op != 'c' && ev->op != 'u' && ev->op != 'd' && ev->op != 'r')
        return dc_err_set(err, DC_EINVAL, "op '%c' is not a row change", ev->op);
    mkey k;
    DC_TRY(event_key(&k, b, ev, err));
    mb_typed ty;
    bool repeat = false;
    DC_TRY(event_seq(&ty, &repeat, b, ev, &k, tp, offset, err));
    if (repeat) {
        b->repeats++;
        return 0;
    }
    const mseq seq = ty.seq;
    if (!b->map_on && b->n_evs &&
        dc_mkey_cmp(&b->evs[b->n_evs - 1].key, &k, b->t->n_keys, b->t->key_types) >= 0)
        b->map_on = true; /* not ascending: a key may come again, look them up */
    if (b->map_on && (b->n_evs + 1) * 2 > b->map_cap) DC_TRY(map_grow(b, err));
    const size_t j = b->map_on ? map_slot(b, &k) : 0;
    if (b->map_on && b->map[j]) {
        mb_ev *e = &b->evs[b->map[j] - 1];
        const int c = dc_mseq_cmp(seq, e->seq);
        if (c == 0 && ev->has_srcpos && ty.cols) { /* typed: the same position again */
            b->repeats++;
            return 0;
        }
        /* Ties go to the later event (a duplicate delivery is the same event). */
        if (c < 0) return 0;
        return fill_event(e, b, ev, &k, tp, offset, &ty, err);
    }
    if (b->n_evs >= max_events()) /* the caller asks dc_merge_batch_has_room first */
        return dc_err_set(err, DC_ENOMEM, "merge batch: full at %zu events", b->n_evs);
    DC_TRY(dc_array_grow((void **)&b->evs, &b->cap_evs, b->n_evs + 1, sizeof *b->evs,
                         DC_MERGE_MAX_BATCH_EVENTS, err));
    DC_TRY(fill_event(&b->evs[b->n_evs], b, ev, &k, tp, offset, &ty, err));
    b->n_evs++;
    if (b->map_on) b->map[j] = (uint32_t)b->n_evs;
    return 0;
}

static void add_truncate(dc_merge_batch *b, uint32_t tp, int64_t offset)
{
    b->n_evs = 0; /* the batch's earlier events are gone with the table's rows */
    if (b->map) memset(b->map, 0, b->map_cap * sizeof *b->map);
    b->has_trunc = true;
    b->trunc_tp = tp;
    b->trunc_off = offset;
}

int dc_merge_batch_add(dc_merge_batch *b, const dc_cdc_event *ev, const char *topic,
                       int32_t partition, int64_t offset, dc_err *err)
{
    DC_ASSERT(!b->spent);
    uint32_t tp = 0;
    if (offset < 0)
        return dc_err_set(err, DC_EINVAL, "%s/%" PRId32 ": negative offset %" PRId64, topic,
                          partition, offset);
    DC_TRY(tp_get(&tp, b, topic, partition, err));
    mb_tp *p = &b->tps[tp];
    if (offset <= p->committed) { /* committed before: a replay */
        b->source_rows++;
        b->replayed += ev->kind == DC_CDC_CHANGE;
        if (offset > p->max_off) p->max_off = offset;
        return 0;
    }
    int rc = 0;
    if (ev->kind == DC_CDC_TRUNCATE) {
        add_truncate(b, tp, offset);
        /* typed: what came before the truncate's position is gone with it */
        if (b->t->format == DC_FORMAT_TYPED && ev->has_srcpos) {
            const mseq s = dc_mtyped_pos_seq(&ev->srcpos);
            if (!p->has_bpos || dc_mseq_cmp(s, p->bpos) > 0) {
                p->has_bpos = true;
                p->bpos = s;
                p->bpos_key = -1; /* no key: key_tag is never negative */
            }
        }
    }
    else if (ev->kind == DC_CDC_CHANGE) rc = add_change(b, ev, tp, offset, err);
    if (rc < 0) {
        /* Nothing of a failed event stays, its position least of all: a
         * commit must not record an offset whose event it does not hold. */
        dc_err_prefix(err, "%s/%" PRId32 "/%" PRId64, topic, partition, offset);
        return rc;
    }
    b->source_rows++;
    if (offset > p->max_off) p->max_off = offset;
    return 0;
}

void dc_merge_batch_history(dc_merge_batch *b, const dc_cdc_srcpos *pos)
{
    b->history = true;
    b->history_pos = dc_mtyped_pos_seq(pos);
}

void dc_merge_batch_images_typed(dc_merge_batch *b)
{
    DC_ASSERT(b->t->format == DC_FORMAT_TYPED);
    b->images_typed = true;
}

void dc_merge_batch_columns(dc_merge_batch *b, const dc_pq_schema *schema,
                            const dc_pq_column *cols)
{
    DC_ASSERT(b->t->format == DC_FORMAT_TYPED);
    b->hc_schema = schema;
    b->hc_cols = cols;
}

void dc_merge_batch_columns_only(dc_merge_batch *b)
{
    DC_ASSERT(b->hc_cols && b->n_evs == 0);
    b->hc_only = true;
}

bool dc_merge_batch_columns_refused(const dc_merge_batch *b) { return b->hc_refused; }

int dc_merge_batch_param(dc_merge_batch *b, const char *key, const char *value, dc_err *err)
{
    DC_ASSERT(!b->spent);
    if (b->n_xparams == MB_MAX_XPARAMS)
        return dc_err_set(err, DC_ELIMIT, "merge batch: more than %d extra commit parameters",
                          MB_MAX_XPARAMS);
    const char *k = dc_arena_strndup(&b->arena, key, strlen(key), err);
    const char *v = k ? dc_arena_strndup(&b->arena, value, strlen(value), err) : NULL;
    if (!v) return DC_ENOMEM;
    b->xparam[b->n_xparams][0] = k;
    b->xparam[b->n_xparams++][1] = v;
    return 0;
}

/* ---------------------------------------------------------- planning */

/* A winner that changes the table. */
typedef struct mb_apply {
    uint32_t ev;                /* index into evs */
    size_t slot;                /* its key's index slot, SIZE_MAX when absent */
} mb_apply;

/* A row replaced (its file and physical row). */
typedef struct mb_target {
    uint32_t file;
    uint32_t row;
} mb_target;

typedef struct mplan {
    bool trunc;                 /* the batch's truncate applies (not committed before) */
    mb_apply *ap;               /* rows of the new file, sorted by key after planning */
    size_t n_ap;
    mb_apply *gh;               /* typed hard deletes: keys left without a row */
    size_t n_gh;
    dc_pq_schema *evolved;      /* typed: the schema with the batch's new columns, or NULL */
    dc_buf evolved_json;        /* its Delta schema string */
    mb_target *tg;              /* rows replaced */
    size_t n_tg;
    size_t new_keys;            /* keys the index gains */
    uint64_t inserted, updated, deleted, stale, files_removed;
    uint64_t truncated;         /* rows the truncate removes: the index's keys before it */
    bool has_out;               /* out holds the written new file */
    mfile_out out;
    mcow cow;                   /* cow rewrites */
    char **paths;               /* paths of the files the commit adds: cow outputs, then
                                   the new file (dc_malloc'd until the index adopts them) */
    uint64_t *path_rows;        /* their physical rows */
    uint32_t *ids;              /* their file ids, once adopted */
    size_t n_paths;
} mplan;

static void plan_dispose(mplan *p, dc_storage *discard)
{
    if (p->has_out && discard) dc_mfile_out_discard(&p->out, discard);
    if (p->has_out) dc_mfile_out_dispose(&p->out);
    dc_mcow_dispose(&p->cow, discard);
    for (size_t i = 0; i < p->n_paths; i++) dc_free(p->paths[i]);
    dc_free(p->paths);
    dc_free(p->path_rows);
    dc_free(p->ids);
    dc_free(p->ap);
    dc_free(p->gh);
    dc_free(p->tg);
    dc_pq_schema_free(p->evolved);
    dc_buf_dispose(&p->evolved_json);
    memset(p, 0, sizeof *p);
}

static void refresh_committed(dc_merge_batch *b)
{
    read_floor(b);
    for (size_t i = 0; i < b->n_tps; i++) {
        if (dc_delta_snapshot_txn_version(&b->tps[i].committed, b->t->snap, b->tps[i].app_id) < 0)
            b->tps[i].committed = -1;
        if (b->t->format == DC_FORMAT_TYPED) read_watermark(&b->tps[i], b->t->snap);
    }
}

/* A typed table's delete without soft deletes: the row goes, the key stays
 * in the index without one (MX_FILE_NONE). */
static bool hard_delete(const dc_merge_batch *b, const mb_ev *e)
{
    return e->op == 'd' && b->t->format == DC_FORMAT_TYPED && !b->t->typed->soft_deletes;
}

/* One winner against the index: stale, or an insert/update/delete. */
static int classify(dc_merge_batch *b, mplan *p, uint32_t i, dc_err *err)
{
    const mb_ev *e = &b->evs[i];
    const mx_index *x = &b->t->index;
    if (e->offset <= b->tps[e->tp].committed) { /* committed by another writer meanwhile */
        p->stale++;
        return 0;
    }
    const size_t slot = p->trunc ? SIZE_MAX : dc_mx_find(x, &e->key);
    bool tomb = false, has_row = false;
    if (slot != SIZE_MAX) {
        const mx_val v = dc_mx_get(x, slot);
        int c = 0;
        DC_TRY(dc_merge_slot_cmp(&c, b->t, slot, e->seq, err));
        if (c <= 0) {
            p->stale++;
            return 0;
        }
        has_row = v.file != MX_FILE_NONE; /* else a deleted key of a typed table */
        if (has_row) p->tg[p->n_tg++] = (mb_target){v.file, v.row & MX_ROW_MASK};
        tomb = (v.row & MX_ROW_TOMB) != 0;
    } else {
        p->new_keys++;
    }
    if (hard_delete(b, e)) {
        p->deleted += has_row && !tomb;
        p->gh[p->n_gh++] = (mb_apply){i, slot};
        return 0;
    }
    if (e->op == 'd') p->deleted++;
    else if (!has_row || tomb) p->inserted++; /* absent, or re-created */
    else p->updated++;
    p->ap[p->n_ap++] = (mb_apply){i, slot};
    return 0;
}

static int cmp_apply(const void *a, const void *b_, void *ctx)
{
    const dc_merge_batch *b = ctx;
    const mb_ev *x = &b->evs[((const mb_apply *)a)->ev], *y = &b->evs[((const mb_apply *)b_)->ev];
    return dc_mkey_cmp(&x->key, &y->key, b->t->n_keys, b->t->key_types);
}

static int plan_classify(dc_merge_batch *b, mplan *p, dc_err *err)
{
    refresh_committed(b);
    p->trunc = b->has_trunc && b->trunc_off > b->tps[b->trunc_tp].committed;
    if (p->trunc) p->truncated = b->t->index.n; /* one live row per key */
    const size_t n = b->n_evs ? b->n_evs : 1;
    p->ap = dc_calloc(n, sizeof *p->ap);
    p->gh = dc_calloc(n, sizeof *p->gh);
    p->tg = dc_calloc(n, sizeof *p->tg);
    if (!p->ap || !p->gh || !p->tg) return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    /* Lookups land on random slots: the home slot of a key some keys ahead
     * is fetched while this one is looked up (a bootstrap's 250,000 keys) */
    for (size_t i = 0; i < b->n_evs; i++) {
        if (i + MB_PREFETCH < b->n_evs)
            dc_mx_prefetch(&b->t->index, b->evs[i + MB_PREFETCH].key.hash);
        DC_TRY(classify(b, p, (uint32_t)i, err));
    }
    bool sorted = true; /* a bootstrap adds its rows in key order: one pass, no sort */
    for (size_t i = 1; sorted && i < p->n_ap; i++)
        sorted = cmp_apply(&p->ap[i - 1], &p->ap[i], b) < 0;
    if (!sorted) qsort_r(p->ap, p->n_ap, sizeof *p->ap, cmp_apply, b);
    return 0;
}

/* Typed rows into the new file, in key order: a winner held in stored form
 * goes into columns (merge_tcols.c), written a slice at a time; one held as
 * JSON members (a set or struct column, a bootstrap's decoded text) as a
 * row's text, shredded straight into the writer's columns
 * (dc_pq_writer_write_json_text: no DOM) after the columns before it. */
typedef struct typed_feed {
    dc_merge_batch *b;
    const mplan *p;
} typed_feed;

/* Rows of stored-form values gathered before they go to the writer: the
 * columns stay small, and a slice is what the writer copies at a time. */
#define MB_TCOLS_SLICE 16384

/* One winner's row as JSON text; strip: without the members of columns the
 * batch dropped in place, through a DOM (dc_mcolmap_strip). */
static int feed_text_row(dc_pq_writer *w, dc_merge_batch *b, const mtyped_row *r, bool strip,
                         dc_arena *a, dc_err *err)
{
    DC_TRY(dc_mtyped_row(&b->scratch, b->t, r, err));
    if (!strip)
        return dc_pq_writer_write_json_text(w, (const char *)b->scratch.data, b->scratch.len,
                                            err);
    dc_json *row = NULL;
    dc_arena_reset(a);
    DC_TRY(dc_json_parse(&row, a, (const char *)b->scratch.data, b->scratch.len, err));
    dc_mcolmap_strip(row, b->t->pq_schema);
    return dc_pq_writer_write_json_row(w, row, err);
}

static int feed_typed(dc_pq_writer *w, void *ctx, dc_err *err)
{
    const typed_feed *f = ctx;
    dc_merge_batch *b = f->b;
    const bool strip = dc_mcolmap_edited(b->cm);
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    mtcols *tc = NULL;
    int rc = dc_mtcols_new(&tc, b->t, strip, err);
    for (size_t i = 0; rc == 0 && i < f->p->n_ap; i++) {
        const mb_ev *e = &b->evs[f->p->ap[i].ev];
        const mtyped_row r = {e->cols, e->image, e->image_len, e->op, e->has_ts,
                              e->ts, e->offset, e->pos, e->pos_len};
        if (e->vals) {
            rc = dc_mtcols_add(tc, &r, err);
            if (rc == 0 && dc_mtcols_rows(tc) == MB_TCOLS_SLICE) rc = dc_mtcols_flush(tc, w, err);
        } else {
            rc = dc_mtcols_flush(tc, w, err); /* the rows before it first */
            if (rc == 0) rc = feed_text_row(w, b, &r, strip, &a, err);
        }
        if (rc < 0) dc_err_prefix(err, "%s/%" PRId32 "/%" PRId64, b->tps[e->tp].topic,
                                  b->tps[e->tp].partition, e->offset);
    }
    if (rc == 0) rc = dc_mtcols_flush(tc, w, err);
    dc_mtcols_free(tc);
    dc_arena_dispose(&a);
    return rc;
}

/* The rows as the caller's columns (dc_merge_batch_columns): when every
 * event is inserted in the order added, with the same metadata. */
static bool hcols_apply(const dc_merge_batch *b, const mplan *p, mtyped_row *meta)
{
    if (!b->hc_cols || p->evolved || p->n_ap != b->n_evs || dc_mcolmap_edited(b->cm))
        return false;
    const mb_ev *f = &b->evs[0];
    for (size_t i = 0; i < p->n_ap; i++) {
        const mb_ev *e = &b->evs[p->ap[i].ev];
        if (p->ap[i].ev != i || e->op != f->op || e->op == 'd' || e->has_ts != f->has_ts ||
            e->ts != f->ts || e->offset != f->offset || e->pos_len != f->pos_len ||
            !e->pos != !f->pos ||
            (e->pos != f->pos && memcmp(e->pos, f->pos, e->pos_len) != 0)) /* often shared */
            return false;
    }
    *meta = (mtyped_row){NULL, NULL, 0, f->op, f->has_ts, f->ts, f->offset, f->pos, f->pos_len};
    return dc_mhcols_fit(b->t, b->hc_schema, b->hc_cols, p->n_ap);
}

/* The new rows as one data file, in key order. */
static int plan_write_new(dc_merge_batch *b, mplan *p, dc_err *err)
{
    if (!p->n_ap) return 0;
    mtyped_row meta;
    if (b->t->format == DC_FORMAT_TYPED && hcols_apply(b, p, &meta)) {
        p->has_out = true; /* disposed (and removed when written) by plan_dispose */
        return dc_mhcols_write(&p->out, b->t, b->hc_cols, p->n_ap, &meta, err);
    }
    if (b->hc_only) { /* no images to fall back on: the caller sends them */
        b->hc_refused = true;
        return dc_err_set(err, DC_EUNSUPPORTED, "the rows came as columns only, which can not "
                          "be written as they are (a row is stale, or the layout changed)");
    }
    if (b->t->format == DC_FORMAT_TYPED) {
        typed_feed f = {b, p};
        p->has_out = true; /* disposed (and removed when written) by plan_dispose */
        return dc_merge_write_file(&p->out, b->t, feed_typed, &f, p->n_ap, err);
    }
    const dc_merge_table *t = b->t;
    mrows r;
    dc_mrows_init(&r, t);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->n_ap; i++) {
        const mb_ev *e = &b->evs[p->ap[i].ev];
        const char op[1] = {e->op};
        rc = dc_mrows_put_key(&r, &e->key, err);
        if (rc == 0) rc = e->has_ts ? dc_mrows_put_i64(&r, t->ts_col, e->seq.ts, err)
                                    : dc_mrows_put_null(&r, t->ts_col, err);
        if (rc == 0) rc = dc_mrows_put_bytes(&r, t->json_col, e->image, e->image_len, err);
        if (rc == 0) rc = dc_mrows_put_bytes(&r, t->op_col, op, 1, err);
        if (rc == 0) rc = dc_mrows_put_i64(&r, t->off_col, e->seq.off, err);
        if (rc == 0) dc_mrows_end_row(&r);
    }
    if (rc == 0) {
        rc = dc_mrows_write_file(&p->out, &r, err);
        p->has_out = true; /* disposed (and removed when written) by plan_dispose */
    }
    dc_mrows_dispose(&r);
    return rc;
}

/* ------------------------------------------------------- transaction */

static int cmp_target(const void *a, const void *b)
{
    const mb_target *x = a, *y = b;
    if (x->file != y->file) return x->file < y->file ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* Targets grouped by file: rows (ascending) and one mcow_file per file. */
static int group_targets(mcow_file **files_out, size_t *n_out, uint64_t **rows_out, mplan *p,
                         dc_err *err)
{
    qsort(p->tg, p->n_tg, sizeof *p->tg, cmp_target);
    uint64_t *rows = dc_calloc(p->n_tg, sizeof *rows);
    mcow_file *files = dc_calloc(p->n_tg, sizeof *files);
    if (!rows || !files) {
        dc_free(rows);
        dc_free(files);
        return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    }
    size_t nf = 0;
    for (size_t i = 0; i < p->n_tg; i++) {
        rows[i] = p->tg[i].row;
        if (i == 0 || p->tg[i].file != p->tg[i - 1].file)
            files[nf++] = (mcow_file){p->tg[i].file, &rows[i], 0};
        DC_ASSERT(files[nf - 1].n_rows == 0 || rows[i] > rows[i - 1]); /* a row once */
        files[nf - 1].n_rows++;
    }
    *files_out = files;
    *n_out = nf;
    *rows_out = rows;
    return 0;
}

static int tx_replace(dc_merge_batch *b, mplan *p, dc_delta_tx *tx, dc_err *err)
{
    mcow_file *files = NULL;
    uint64_t *rows = NULL;
    size_t nf = 0;
    DC_TRY(group_targets(&files, &nf, &rows, p, err));
    int rc = 0;
    if (b->t->mode == DC_MERGE_COW && b->t->format == DC_FORMAT_TYPED) {
        rc = dc_mtyped_cow_rewrite(&p->cow, b->t, tx, files, nf, err);
    } else if (b->t->mode == DC_MERGE_COW) {
        rc = dc_mcow_rewrite(&p->cow, b->t, tx, files, nf, err);
    } else {
        for (size_t i = 0; rc == 0 && i < nf; i++)
            rc = dc_delta_tx_delete_rows(tx, dc_merge_live_add(b->t, files[i].file_id), files[i].rows,
                                         files[i].n_rows, err);
    }
    p->files_removed += nf;
    dc_free(files);
    dc_free(rows);
    return rc;
}

/* A widened column: every live file is rewritten with the new types (the
 * replaced rows left out), so that no reader needs type widening. */
static int tx_rewrite_all(dc_merge_batch *b, mplan *p, dc_delta_tx *tx, dc_err *err)
{
    mcow_file *tfiles = NULL, *files = NULL;
    uint64_t *rows = NULL;
    size_t nt = 0, nf = 0;
    const mx_index *x = &b->t->index;
    DC_TRY(group_targets(&tfiles, &nt, &rows, p, err));
    files = dc_calloc(x->n_files ? x->n_files : 1, sizeof *files);
    int rc = files ? 0 : dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    for (size_t id = 0, j = 0; rc == 0 && id < x->n_files; id++) {
        if (x->files[id].snap_i == SIZE_MAX) continue;
        while (j < nt && tfiles[j].file_id < id) j++;
        files[nf++] = j < nt && tfiles[j].file_id == id ? tfiles[j]
                                                        : (mcow_file){(uint32_t)id, NULL, 0};
    }
    if (rc == 0) rc = dc_mtyped_cow_rewrite(&p->cow, b->t, tx, files, nf, err);
    p->files_removed += nf;
    dc_free(files);
    dc_free(tfiles);
    dc_free(rows);
    return rc;
}

static int tx_truncate(dc_merge_batch *b, mplan *p, dc_delta_tx *tx, dc_err *err)
{
    const size_t n = dc_delta_snapshot_n_files(b->t->snap);
    for (size_t i = 0; i < n; i++)
        DC_TRY(dc_delta_tx_remove_file(tx, dc_delta_snapshot_file(b->t->snap, i), true, err));
    p->files_removed += n;
    return 0;
}

/* Topic-partitions whose committed offset this batch moves forward. */
static size_t advancing_tps(const dc_merge_batch *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n_tps; i++) n += b->tps[i].max_off > b->tps[i].committed;
    return n;
}

int dc_merge_batch_set_input_id(dc_merge_batch *b, const char *topic, int32_t partition,
                                uint64_t bytes, uint64_t hash, dc_err *err)
{
    if (bytes > INT64_MAX || hash > INT64_MAX)
        return dc_err_set(err, DC_EINVAL, "%s: input identity out of range", topic);
    for (size_t i = 0; i < b->n_tps; i++) {
        if (!tp_is(&b->tps[i], topic, partition)) continue;
        b->tps[i].id_bytes = (int64_t)bytes;
        b->tps[i].id_hash = (int64_t)hash;
    }
    return 0;
}

int dc_merge_input_id(bool *found, uint64_t *bytes, uint64_t *hash, dc_merge_table *t,
                      const char *topic, int32_t partition, dc_err *err)
{
    *found = false;
    dc_buf name;
    dc_buf_init(&name, 1 << 20);
    int64_t nb = -1, nh = -1;
    int rc = dc_buf_appendf(&name, err, "%s" DC_MERGE_ID_BYTES, topic);
    if (rc == 0) rc = dc_buf_putc(&name, '\0', err);
    if (rc == 0) rc = dc_merge_resume_offset(&nb, t, (const char *)name.data, partition, err);
    dc_buf_reset(&name);
    if (rc == 0) rc = dc_buf_appendf(&name, err, "%s" DC_MERGE_ID_HASH, topic);
    if (rc == 0) rc = dc_buf_putc(&name, '\0', err);
    if (rc == 0) rc = dc_merge_resume_offset(&nh, t, (const char *)name.data, partition, err);
    dc_buf_dispose(&name);
    if (rc == 0 && nb >= 1 && nh >= 1) {
        *found = true;
        *bytes = (uint64_t)(nb - 1);
        *hash = (uint64_t)(nh - 1);
    }
    return rc;
}

/* The txn "<pipeline>/<topic><suffix>/<partition>" = v. */
static int put_id_txn(dc_merge_batch *b, dc_delta_tx *tx, const mb_tp *tp, const char *suffix,
                      int64_t v, dc_err *err)
{
    dc_buf topic, id;
    dc_buf_init(&topic, 1 << 20);
    dc_buf_init(&id, 1 << 20);
    int rc = dc_buf_appendf(&topic, err, "%s%s", tp->topic, suffix);
    if (rc == 0) rc = dc_buf_putc(&topic, '\0', err);
    if (rc == 0) rc = dc_merge_app_id(&id, b->t, (const char *)topic.data, tp->partition, err);
    if (rc == 0) rc = dc_delta_tx_set_txn(tx, (const char *)id.data, v, err);
    dc_buf_dispose(&topic);
    dc_buf_dispose(&id);
    return rc;
}

static int tx_txns(dc_merge_batch *b, dc_delta_tx *tx, dc_err *err)
{
    for (size_t i = 0; i < b->n_tps; i++) {
        const mb_tp *p = &b->tps[i];
        if (p->max_off > p->committed) {
            DC_TRY(dc_delta_tx_set_txn(tx, p->app_id, p->max_off, err));
            if (p->id_bytes >= 0) {
                /* the input's identity moves with its position, in the same commit */
                DC_TRY(put_id_txn(b, tx, p, DC_MERGE_ID_BYTES, p->id_bytes, err));
                DC_TRY(put_id_txn(b, tx, p, DC_MERGE_ID_HASH, p->id_hash, err));
            }
        }
        /* typed: the partition's source-position watermark moves too */
        if (p->has_bpos && (!p->has_wm || dc_mseq_cmp(p->bpos, p->wm) > 0)) {
            /* stored without DC_MTYPED_POS_BIT: the txn format of older versions */
            DC_TRY(dc_delta_tx_set_txn(tx, p->wm_ids[0], p->bpos.ts & ~DC_MTYPED_POS_BIT, err));
            DC_TRY(dc_delta_tx_set_txn(tx, p->wm_ids[1], p->bpos.off, err));
            DC_TRY(dc_delta_tx_set_txn(tx, p->wm_ids[2], p->bpos_key, err));
        }
    }
    /* a history writer sets the floor, or lowers it (a resumed bootstrap keeps its first) */
    if (b->history && (!b->has_floor || dc_mseq_cmp(b->history_pos, b->floor) < 0)) {
        DC_TRY(dc_delta_tx_set_txn(tx, DC_MERGE_HISTORY_APP "#pos.hi",
                                   b->history_pos.ts & ~DC_MTYPED_POS_BIT, err));
        DC_TRY(dc_delta_tx_set_txn(tx, DC_MERGE_HISTORY_APP "#pos.lo", b->history_pos.off, err));
    }
    return 0;
}

static int tx_params(dc_merge_batch *b, const mplan *p, dc_delta_tx *tx, dc_err *err)
{
    dc_buf pred;
    dc_buf_init(&pred, 1 << 20);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < b->t->n_keys; i++)
        rc = dc_buf_appendf(&pred, err, "%s(target.%s = source.%s)", i ? " AND " : "",
                            b->t->key_names[i], b->t->key_names[i]);
    if (rc == 0) rc = dc_buf_putc(&pred, 0, err);
    if (rc == 0) rc = dc_delta_tx_param(tx, "predicate", (const char *)pred.data, err);
    if (rc == 0) rc = dc_delta_tx_param(tx, "matchedPredicates",
                                        "[{\"predicate\":\"(source.ts_ms, source.offset) > "
                                        "(target.ts_ms, target.offset)\",\"actionType\":"
                                        "\"update\"}]", err);
    if (rc == 0) rc = dc_delta_tx_param(tx, "notMatchedPredicates",
                                        "[{\"actionType\":\"insert\"}]", err);
    if (rc == 0) rc = dc_delta_tx_param(tx, "notMatchedBySourcePredicates", "[]", err);
    if (rc == 0) rc = dc_delta_tx_param(tx, "mode", b->t->mode == DC_MERGE_DV ? "dv" : "cow",
                                        err);
    if (rc == 0 && p->trunc) rc = dc_delta_tx_param(tx, "truncate", "true", err);
    for (uint32_t i = 0; rc == 0 && i < b->n_xparams; i++)
        rc = dc_delta_tx_param(tx, b->xparam[i][0], b->xparam[i][1], err);
    dc_buf_dispose(&pred);
    return rc;
}

static int tx_metrics(dc_merge_batch *b, const mplan *p, dc_delta_tx *tx, dc_err *err)
{
    const struct { const char *k; uint64_t v; } m[] = {
        {"numSourceRows", b->source_rows},
        {"numTargetRowsInserted", p->inserted},
        {"numTargetRowsUpdated", p->updated},
        {"numTargetRowsDeleted", p->deleted},
        {"numTargetRowsTruncated", p->truncated},
        {"numTargetRowsCopied", p->cow.rows_copied},
        {"numOutputRows", p->n_ap + p->cow.rows_copied},
        {"numTargetFilesAdded", p->n_paths},
        {"numTargetFilesRemoved", p->files_removed},
        {"numSourceRowsStale", p->stale + b->replayed + b->repeats},
    };
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        DC_TRY(dc_delta_tx_metric(tx, m[i].k, (int64_t)m[i].v, err));
    return 0;
}

/* Paths and rows of the files the commit adds, copied for the index. */
static int keep_paths(dc_merge_table *t, mplan *p, dc_err *err)
{
    const size_t n = p->cow.n_outs + (p->n_ap ? 1 : 0);
    p->paths = dc_calloc(n ? n : 1, sizeof *p->paths);
    p->path_rows = dc_calloc(n ? n : 1, sizeof *p->path_rows);
    p->ids = dc_calloc(n ? n : 1, sizeof *p->ids);
    if (!p->paths || !p->path_rows || !p->ids) return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    for (size_t i = 0; i < n; i++) {
        const mfile_out *f = i < p->cow.n_outs ? &p->cow.outs[i] : &p->out;
        if (!(p->paths[i] = dc_strdup(f->add.path)))
            return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
        p->path_rows[i] = f->n_rows;
        p->n_paths++;
    }
    return dc_mx_files_reserve(&t->index, n, err);
}

static int plan_tx(dc_merge_batch *b, mplan *p, dc_delta_tx *tx, dc_err *err)
{
    dc_delta_tx_mark_read_all(tx);
    const bool widen = p->evolved && b->added.n_wide > 0;
    if (p->evolved && b->t->typed && b->t->typed->cm)
        DC_TRY(dc_mcolmap_set_schema(tx, b->cm, (const char *)p->evolved_json.data, widen, err));
    else if (widen)
        DC_TRY(dc_delta_tx_set_schema_widened(tx, (const char *)p->evolved_json.data, err));
    else if (p->evolved)
        DC_TRY(dc_delta_tx_set_schema(tx, (const char *)p->evolved_json.data, err));
    if (p->trunc) DC_TRY(tx_truncate(b, p, tx, err));
    else if (widen) DC_TRY(tx_rewrite_all(b, p, tx, err));
    else if (p->n_tg) DC_TRY(tx_replace(b, p, tx, err));
    if (p->n_ap) DC_TRY(dc_delta_tx_add(tx, &p->out.add, err));
    DC_TRY(tx_txns(b, tx, err));
    DC_TRY(keep_paths(b->t, p, err));
    DC_TRY(tx_params(b, p, tx, err));
    return tx_metrics(b, p, tx, err);
}

/* ------------------------------------------------------------ commit */

/* The committed batch into the index; can not fail (room was reserved). */
static void plan_apply(dc_merge_batch *b, mplan *p)
{
    mx_index *x = &b->t->index;
    if (p->trunc) dc_mx_clear(x);
    uint32_t *ids = p->ids;
    for (size_t i = 0; i < p->n_paths; i++) {
        ids[i] = dc_mx_file_adopt(x, p->paths[i], p->path_rows[i]);
        p->paths[i] = NULL;
    }
    for (size_t i = 0; i < p->cow.n_moves; i++) {
        const mcow_move *m = &p->cow.moves[i];
        dc_mx_move(x, m->slot, ids[m->out], m->row);
    }
    const uint32_t id = p->n_ap ? ids[p->n_paths - 1] : 0;
    /* Sets first: slots noted while planning are valid until an insert. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < p->n_ap + p->n_gh; i++) {
            const bool row = i < p->n_ap; /* else a key left without a row */
            const mb_apply *a = row ? &p->ap[i] : &p->gh[i - p->n_ap];
            const mb_ev *e = &b->evs[a->ev];
            const bool set = a->slot != SIZE_MAX && !p->trunc;
            if (set != (pass == 0)) continue;
            if (!set && i + MB_PREFETCH < p->n_ap) /* inserts: as in plan_classify */
                dc_mx_prefetch(x, b->evs[p->ap[i + MB_PREFETCH].ev].key.hash);
            DC_ASSERT(i <= MX_ROW_MASK);
            mx_val v = {id, (uint32_t)i | (e->op == 'd' ? MX_ROW_TOMB : 0), e->seq};
            if (!row) v = (mx_val){MX_FILE_NONE, 0, e->seq};
            if (set) dc_mx_set(x, a->slot, &v);
            else dc_mx_insert(x, &e->key, &v);
        }
}

static bool nothing_to_commit(const dc_merge_batch *b, const mplan *p)
{
    return !p->trunc && p->n_ap == 0 && p->n_tg == 0 && p->n_gh == 0 && !p->evolved &&
           advancing_tps(b) == 0;
}

static void fill_result(dc_merge_result *r, const dc_merge_batch *b, const mplan *p,
                        int64_t version)
{
    r->version = version;
    r->source_rows = b->source_rows;
    r->inserted = p->inserted;
    r->updated = p->updated;
    r->deleted = p->deleted;
    r->truncate = p->trunc;
    r->truncated = p->truncated;
    r->stale = p->stale + b->replayed + b->repeats;
    r->typed = b->t->format == DC_FORMAT_TYPED;
    if (r->typed) r->repeats = p->stale + b->repeats;
    r->columns_added = p->evolved ? b->added.n : 0;
    r->columns_widened = p->evolved ? b->added.n_wide : 0;
}

/* After our commit: the snapshot moves to it (following any winner in
 * between); when it came right after the snapshot, by applying the tx's own
 * actions rather than reading the commit back. A failure here leaves a
 * committed batch: the table is marked to reload before its next use
 * instead of failing the batch. */
static void after_commit(dc_merge_table *t, dc_delta_tx *tx, int64_t version)
{
    dc_err e;
    dc_err_clear(&e);
    const int64_t from = dc_delta_snapshot_version(t->snap);
    int rc = dc_delta_tx_apply_to_snapshot(tx, version, &e);
    if (rc == 0) rc = dc_merge_table_follow(t, from, version, &e);
    if (rc < 0) {
        t->broken = true;
        DC_LOG(DC_LOG_WARN, "merge", "%s: version %" PRId64 " committed, but reading it back "
               "failed (%s): the index will be rebuilt", t->s->root, version, e.msg);
    }
}

/* The commit may be in the log, and reading it back failed: its files stay
 * (a visible commit may name them), and the index, which knows neither
 * outcome, is rebuilt from the log before the table is used again. */
static void commit_unknown(dc_merge_table *t, bool *keep_files)
{
    *keep_files = true;
    t->broken = true;
}

/* Typed: the table's schema with the batch's new columns, used for every
 * file of the commit (t->pq_schema swapped by attempt_once). */
static int plan_evolve(dc_merge_batch *b, mplan *p, dc_err *err)
{
    const bool cm = b->t->typed && b->t->typed->cm;
    if (!b->added.n && !b->added.n_wide && !dc_mcolmap_edited(b->cm)) return 0;
    dc_buf_init(&p->evolved_json, DC_JSON_MAX_DOC_BYTES);
    DC_TRY(dc_mtyped_evolved_schema(&p->evolved_json, b->t, &b->added, err));
    if (cm) DC_TRY(dc_mcolmap_schema(&p->evolved_json, b->cm, b->t, err));
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    int rc = dc_json_parse(&doc, &a, (const char *)p->evolved_json.data,
                           p->evolved_json.len - 1, err);
    if (rc == 0) rc = dc_pq_schema_from_delta(&p->evolved, doc, err);
    dc_arena_dispose(&a);
    if (rc < 0) dc_err_prefix(err, "adding %u and widening %u column(s)", b->added.n,
                              b->added.n_wide);
    return rc;
}

/* After a commit that added columns: the table's layout follows (the
 * index stays: the rows did not move). */
static void after_evolve(dc_merge_table *t, const dc_merge_batch *b)
{
    dc_err e;
    dc_err_clear(&e);
    DC_LOG(DC_LOG_INFO, "merge", "%s: %u source column(s) added, %u widened (every file "
           "rewritten)", t->s->root, b->added.n, b->added.n_wide);
    if (dc_merge_table_relayout(t, &e) < 0) {
        t->broken = true;
        DC_LOG(DC_LOG_WARN, "merge", "%s: reading the new schema back failed (%s): the table "
               "will be reloaded", t->s->root, e.msg);
    }
}

static int attempt_once(dc_merge_result *res, dc_merge_batch *b, dc_err *err)
{
    dc_merge_table *t = b->t;
    mplan p;
    memset(&p, 0, sizeof p);
    dc_delta_tx *tx = NULL;
    int64_t version = -1;
    bool keep_files = false;
    /* Room for every winner as a new key before planning: slots noted while
     * planning must not move (a resize would). */
    size_t key_bytes = 0;
    for (size_t i = 0; i < b->n_evs; i++) key_bytes += b->evs[i].key.len;
    dc_pq_schema *table_schema = t->pq_schema;
    int rc = dc_mx_reserve(&t->index, b->n_evs, key_bytes, err);
    if (rc == 0 && t->format == DC_FORMAT_TYPED) /* hard deletes keep keys without a row */
        rc = dc_mx_reserve_ghosts(&t->index, b->n_evs, err);
    if (rc == 0) rc = plan_classify(b, &p, err);
    if (rc == 0) rc = plan_evolve(b, &p, err);
    if (rc == 0 && nothing_to_commit(b, &p)) goto out;
    if (rc == 0 && p.evolved) t->pq_schema = p.evolved; /* the commit's files have it */
    if (rc == 0) rc = plan_write_new(b, &p, err);
    if (rc == 0) rc = dc_delta_tx_new(&tx, t->snap, "MERGE", err);
    if (rc == 0) rc = plan_tx(b, &p, tx, err);
    if (rc == 0 && dc_merge_test_hook_before_commit && dc_merge_test_hook_before_commit()) {
        keep_files = true; /* as a crash would leave them */
        rc = dc_err_set(err, DC_EIO, "merge: stopped before the commit (test hook)");
    }
    if (rc == 0) rc = dc_delta_tx_commit(&version, tx, err);
    if (rc == DC_EUNKNOWN) commit_unknown(t, &keep_files);
    t->pq_schema = table_schema;
    if (rc == 0) {
        keep_files = true;
        plan_apply(b, &p);
        after_commit(t, tx, version);
        if (p.evolved && !t->broken) after_evolve(t, b);
    }
out:
    if (rc == 0) fill_result(res, b, &p, version);
    dc_delta_tx_free(tx);
    plan_dispose(&p, keep_files ? NULL : t->s);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int dc_merge_batch_commit(dc_merge_result *out, dc_merge_batch *b, dc_err *err)
{
    memset(out, 0, sizeof *out);
    out->version = -1;
    DC_ASSERT(!b->spent);
    b->spent = true;
    const double t0 = now_s();
    int rc = dc_merge_table_catch_up(b->t, err);
    for (int attempt = 1; rc == 0; attempt++) {
        rc = attempt_once(out, b, err);
        if (rc != DC_ECONFLICT || !err->retriable || attempt >= DC_MERGE_MAX_ATTEMPTS) break;
        uint64_t seed = dc_rand_seed();
        const long ms = dc_backoff_ms(attempt, DC_MERGE_RETRY_BASE_MS, DC_MERGE_RETRY_CAP_MS,
                                      dc_rand_next(&seed));
        DC_LOG(DC_LOG_INFO, "merge", "%s: lost a commit race (%s); reloading in %ld ms, attempt %d",
               b->t->s->root, err->msg, ms, attempt + 1);
        dc_err_clear(err);
        dc_sleep_ms(ms);
        rc = dc_merge_table_catch_up(b->t, err);
    }
    out->seconds = now_s() - t0;
    if (rc < 0) dc_err_prefix(err, "merge into %s", b->t->s->root);
    return rc;
}
