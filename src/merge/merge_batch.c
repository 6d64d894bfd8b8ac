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
 * A lost race reloads the table and plans again, a bounded number of times.
 */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Attempts at one batch when other writers keep winning the race. */
#define DC_MERGE_MAX_ATTEMPTS 5

int (*dc_merge_test_hook_before_commit)(void) = NULL;

/* A topic-partition seen in the batch. */
typedef struct mb_tp {
    const char *topic;          /* arena copy */
    int32_t partition;
    const char *app_id;         /* "<pipeline>/<topic>/<partition>", arena */
    int64_t max_off;            /* greatest offset added */
    int64_t committed;          /* table's txn version (-1: none), refreshed per attempt */
} mb_tp;

/* The winning event of one key. */
typedef struct mb_ev {
    mkey key;                   /* bytes in the batch arena */
    mseq seq;                   /* (ts_ms or INT64_MIN, offset) */
    bool has_ts;                /* ts_ms was present */
    char op;                    /* c, u, d, r */
    const char *image;          /* COALESCE(after, before) JSON text (arena), NULL: null */
    uint32_t image_len;
    uint32_t tp;                /* index into tps */
} mb_ev;

struct dc_merge_batch {
    dc_merge_table *t;          /* borrowed */
    dc_arena arena;             /* keys, images, topic names */
    mb_ev *evs;                 /* winners, one per key */
    size_t n_evs, cap_evs;
    uint32_t *map;              /* key → ev index + 1; power-of-two open addressing */
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
};

int dc_merge_batch_new(dc_merge_batch **out, dc_merge_table *t, dc_err *err)
{
    *out = NULL;
    dc_merge_batch *b = dc_calloc(1, sizeof *b);
    if (!b) return dc_err_set(err, DC_ENOMEM, "merge batch: out of memory");
    b->t = t;
    dc_arena_init(&b->arena, DC_MERGE_MAX_BATCH_BYTES);
    dc_buf_init(&b->kb, DC_MERGE_MAX_KEY_BYTES + 16);
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
    dc_arena_dispose(&b->arena);
    dc_free(b);
}

/* ------------------------------------------------------------ adding */

static int grow(void **p, size_t *cap, size_t n, size_t size, size_t max, dc_err *err)
{
    if (n < *cap) return 0;
    const size_t c = *cap ? *cap * 2 : 64;
    if (c > max) return dc_err_set(err, DC_ELIMIT, "merge batch: more than %zu entries", max);
    void *q = dc_realloc(*p, c * size);
    if (!q) return dc_err_set(err, DC_ENOMEM, "merge batch: out of memory");
    *p = q;
    *cap = c;
    return 0;
}

static bool tp_is(const mb_tp *tp, const char *topic, int32_t partition)
{
    return tp->partition == partition && strcmp(tp->topic, topic) == 0;
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
    DC_TRY(grow((void **)&b->tps, &b->cap_tps, b->n_tps, sizeof *b->tps, 1u << 20, err));
    dc_buf id;
    dc_buf_init(&id, 1 << 20);
    mb_tp tp = {NULL, partition, NULL, INT64_MIN, -1};
    int rc = dc_merge_app_id(&id, b->t, topic, partition, err);
    if (rc == 0 && (!(tp.topic = dc_arena_strndup(&b->arena, topic, strlen(topic), err)) ||
                    !(tp.app_id = dc_arena_strndup(&b->arena, (const char *)id.data, id.len - 1,
                                                   err))))
        rc = DC_ENOMEM;
    if (rc == 0 && dc_delta_snapshot_txn_version(&tp.committed, b->t->snap, tp.app_id) < 0)
        tp.committed = -1;
    dc_buf_dispose(&id);
    if (rc < 0) return rc;
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
        if (t->key_types[i] == DC_CDC_KEY_LONG) {
            if (ek->type != DC_CDC_KEY_LONG)
                return dc_err_set(err, DC_EINVAL, "key column '%s' is a long in the table, the "
                                  "event has a string", t->key_names[i]);
            if (t->index.int_keys) {
                k->i = ek->i;
                k->hash = dc_mkey_hash_i64(ek->i);
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
    k->hash = dc_mkey_hash_bytes(k->b, k->len);
    return 0;
}

static bool key_eq(const mkey *a, const mkey *b, bool int_keys)
{
    if (int_keys) return a->i == b->i;
    return a->hash == b->hash && a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static int map_grow(dc_merge_batch *b, dc_err *err)
{
    const size_t cap = b->map_cap ? b->map_cap * 2 : 1024;
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

/* Copies what the event needs beyond the call into the arena. */
static int fill_event(mb_ev *e, dc_merge_batch *b, const dc_cdc_event *ev, const mkey *k,
                      uint32_t tp, int64_t offset, dc_err *err)
{
    e->key = *k;
    if (!b->t->index.int_keys) {
        uint8_t *kb = dc_arena_alloc(&b->arena, k->len ? k->len : 1, err);
        if (!kb) return DC_ENOMEM;
        memcpy(kb, k->b, k->len);
        e->key.b = kb;
    }
    e->has_ts = ev->has_ts_ms;
    e->seq.ts = ev->has_ts_ms ? ev->ts_ms : INT64_MIN;
    e->seq.off = offset;
    e->op = ev->op;
    e->tp = tp;
    const char *img = ev->after ? ev->after : ev->before;
    const uint32_t n = ev->after ? ev->after_len : ev->before_len;
    e->image = NULL;
    e->image_len = 0;
    if (img && !(e->image = dc_arena_strndup(&b->arena, img, n, err))) return DC_ENOMEM;
    e->image_len = img ? n : 0;
    return 0;
}

static int add_change(dc_merge_batch *b, const dc_cdc_event *ev, uint32_t tp, int64_t offset,
                      dc_err *err)
{
    if (ev->op != 'c' && ev->op != 'u' && ev->op != 'd' && ev->op != 'r')
        return dc_err_set(err, DC_EINVAL, "op '%c' is not a row change", ev->op);
    mkey k;
    DC_TRY(event_key(&k, b, ev, err));
    if ((b->n_evs + 1) * 2 > b->map_cap) DC_TRY(map_grow(b, err));
    const size_t j = map_slot(b, &k);
    const mseq seq = {ev->has_ts_ms ? ev->ts_ms : INT64_MIN, offset};
    if (b->map[j]) {
        mb_ev *e = &b->evs[b->map[j] - 1];
        /* Ties go to the later event (a duplicate delivery is the same event). */
        if (dc_mseq_cmp(seq, e->seq) < 0) return 0;
        return fill_event(e, b, ev, &k, tp, offset, err);
    }
    DC_TRY(grow((void **)&b->evs, &b->cap_evs, b->n_evs, sizeof *b->evs,
                DC_MERGE_MAX_BATCH_EVENTS, err));
    DC_TRY(fill_event(&b->evs[b->n_evs], b, ev, &k, tp, offset, err));
    b->map[j] = (uint32_t)++b->n_evs;
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
    b->source_rows++;
    mb_tp *p = &b->tps[tp];
    if (offset > p->max_off) p->max_off = offset;
    if (offset <= p->committed) { /* committed before: a replay */
        b->replayed += ev->kind == DC_CDC_CHANGE;
        return 0;
    }
    int rc = 0;
    if (ev->kind == DC_CDC_TRUNCATE) add_truncate(b, tp, offset);
    else if (ev->kind == DC_CDC_CHANGE) rc = add_change(b, ev, tp, offset, err);
    if (rc < 0) dc_err_prefix(err, "%s/%" PRId32 "/%" PRId64, topic, partition, offset);
    return rc;
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
    mb_target *tg;              /* rows replaced */
    size_t n_tg;
    size_t new_keys;            /* keys the index gains */
    uint64_t inserted, updated, deleted, stale, files_removed;
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
    dc_free(p->tg);
    memset(p, 0, sizeof *p);
}

static void refresh_committed(dc_merge_batch *b)
{
    for (size_t i = 0; i < b->n_tps; i++)
        if (dc_delta_snapshot_txn_version(&b->tps[i].committed, b->t->snap, b->tps[i].app_id) < 0)
            b->tps[i].committed = -1;
}

/* One winner against the index: stale, or an insert/update/delete. */
static void classify(dc_merge_batch *b, mplan *p, uint32_t i)
{
    const mb_ev *e = &b->evs[i];
    const mx_index *x = &b->t->index;
    if (e->seq.off <= b->tps[e->tp].committed) { /* committed by another writer meanwhile */
        p->stale++;
        return;
    }
    const size_t slot = p->trunc ? SIZE_MAX : dc_mx_find(x, &e->key);
    bool tomb = false;
    if (slot != SIZE_MAX) {
        const mx_val v = dc_mx_get(x, slot);
        if (dc_mseq_cmp(e->seq, v.seq) <= 0) {
            p->stale++;
            return;
        }
        p->tg[p->n_tg++] = (mb_target){v.file, v.row & MX_ROW_MASK};
        tomb = (v.row & MX_ROW_TOMB) != 0;
    } else {
        p->new_keys++;
    }
    if (e->op == 'd') p->deleted++;
    else if (slot == SIZE_MAX || tomb) p->inserted++; /* absent, or re-created */
    else p->updated++;
    p->ap[p->n_ap++] = (mb_apply){i, slot};
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
    const size_t n = b->n_evs ? b->n_evs : 1;
    p->ap = dc_calloc(n, sizeof *p->ap);
    p->tg = dc_calloc(n, sizeof *p->tg);
    if (!p->ap || !p->tg) return dc_err_set(err, DC_ENOMEM, "merge: out of memory");
    for (size_t i = 0; i < b->n_evs; i++) classify(b, p, (uint32_t)i);
    qsort_r(p->ap, p->n_ap, sizeof *p->ap, cmp_apply, b);
    return 0;
}

/* The new rows as one data file, in key order. */
static int plan_write_new(dc_merge_batch *b, mplan *p, dc_err *err)
{
    if (!p->n_ap) return 0;
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
    if (b->t->mode == DC_MERGE_COW) {
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

static int tx_txns(dc_merge_batch *b, dc_delta_tx *tx, dc_err *err)
{
    for (size_t i = 0; i < b->n_tps; i++)
        if (b->tps[i].max_off > b->tps[i].committed)
            DC_TRY(dc_delta_tx_set_txn(tx, b->tps[i].app_id, b->tps[i].max_off, err));
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
        {"numTargetRowsCopied", p->cow.rows_copied},
        {"numOutputRows", p->n_ap + p->cow.rows_copied},
        {"numTargetFilesAdded", p->n_paths},
        {"numTargetFilesRemoved", p->files_removed},
        {"numSourceRowsStale", p->stale + b->replayed},
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
    if (p->trunc) DC_TRY(tx_truncate(b, p, tx, err));
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
        mx_val v = dc_mx_get(x, m->slot);
        v.file = ids[m->out];
        v.row = m->row;
        dc_mx_set(x, m->slot, &v);
    }
    const uint32_t id = p->n_ap ? ids[p->n_paths - 1] : 0;
    /* Sets first: slots noted while planning are valid until an insert. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < p->n_ap; i++) {
            const mb_ev *e = &b->evs[p->ap[i].ev];
            const bool set = p->ap[i].slot != SIZE_MAX && !p->trunc;
            if (set != (pass == 0)) continue;
            DC_ASSERT(i <= MX_ROW_MASK);
            const mx_val v = {id, (uint32_t)i | (e->op == 'd' ? MX_ROW_TOMB : 0), e->seq};
            if (set) dc_mx_set(x, p->ap[i].slot, &v);
            else dc_mx_insert(x, &e->key, &v);
        }
}

static bool nothing_to_commit(const dc_merge_batch *b, const mplan *p)
{
    return !p->trunc && p->n_ap == 0 && advancing_tps(b) == 0;
}

static void fill_result(dc_merge_result *r, const dc_merge_batch *b, const mplan *p,
                        int64_t version)
{
    r->version = version;
    r->source_rows = b->source_rows;
    r->inserted = p->inserted;
    r->updated = p->updated;
    r->deleted = p->deleted;
    r->stale = p->stale + b->replayed;
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
    int rc = dc_mx_reserve(&t->index, b->n_evs, key_bytes, err);
    if (rc == 0) rc = plan_classify(b, &p, err);
    if (rc == 0 && nothing_to_commit(b, &p)) goto out;
    if (rc == 0) rc = plan_write_new(b, &p, err);
    if (rc == 0) rc = dc_delta_tx_new(&tx, t->snap, "MERGE", err);
    if (rc == 0) rc = plan_tx(b, &p, tx, err);
    if (rc == 0 && dc_merge_test_hook_before_commit && dc_merge_test_hook_before_commit()) {
        keep_files = true; /* as a crash would leave them */
        rc = dc_err_set(err, DC_EIO, "merge: stopped before the commit (test hook)");
    }
    if (rc == 0) rc = dc_delta_tx_commit(&version, tx, err);
    if (rc == 0) {
        keep_files = true;
        plan_apply(b, &p);
        after_commit(t, tx, version);
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
        DC_LOG(DC_LOG_INFO, "merge", "%s: lost a commit race (%s); reloading, attempt %d",
               b->t->s->root, err->msg, attempt + 1);
        dc_err_clear(err);
        rc = dc_merge_table_catch_up(b->t, err);
    }
    out->seconds = now_s() - t0;
    if (rc < 0) dc_err_prefix(err, "merge into %s", b->t->s->root);
    return rc;
}
