/* Shared by tests/merge/test_merge_*.c: a temporary raw table, events built
 * by hand (the decoder is not needed to test merging), and the table's
 * content read back through the Delta read side as sorted text lines
 * "key|ts_ms|op|offset|json_record" (null printed as "-"). */
#ifndef DC_TEST_MERGE_FIXTURE_H
#define DC_TEST_MERGE_FIXTURE_H

#include "../test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../src/delta/delta.h"
#include "../../src/merge/merge.h"
#include "../../src/merge/merge_int.h"

typedef struct mfx {
    char dir[64];
    dc_merge_opts o;
    dc_merge_table *t;
    dc_merge_batch *b;
    dc_merge_result res;
    int64_t next_off;       /* offset given to the next event (partition 0) */
} mfx;

static inline void mfx_init(mfx *f, dc_merge_mode mode, uint32_t n_keys, const char *const *names,
                            const dc_cdc_key_type *types)
{
    memset(f, 0, sizeof *f);
    dc_log_set_level(DC_LOG_WARN);
    strcpy(f->dir, "/tmp/dc_merge_XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    f->o.table_uri = f->dir;
    f->o.pipeline = "pipe";
    f->o.mode = mode;
    f->o.format = DC_FORMAT_RAW;
    f->o.keys.n = n_keys;
    for (uint32_t i = 0; i < n_keys; i++) {
        f->o.keys.names[i] = names[i];
        f->o.key_types[i] = types[i];
    }
    f->o.create_if_missing = true;
}

static inline void mfx_open(mfx *f)
{
    dc_err err;
    dc_err_clear(&err);
    CHECK_OK(dc_merge_table_open(&f->t, &f->o, &err), &err);
}

/* A table keyed by one long column "id". */
static inline void mfx_open_id(mfx *f, dc_merge_mode mode)
{
    static const char *const names[] = {"id"};
    static const dc_cdc_key_type types[] = {DC_CDC_KEY_LONG};
    mfx_init(f, mode, 1, names, types);
    mfx_open(f);
}

static inline void mfx_reopen(mfx *f)
{
    dc_merge_table_free(f->t);
    f->t = NULL;
    mfx_open(f);
}

static inline void mfx_close(mfx *f)
{
    char cmd[128];
    dc_merge_batch_free(f->b);
    dc_merge_table_free(f->t);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", f->dir);
}

static inline void mfx_begin(mfx *f)
{
    dc_err err;
    dc_err_clear(&err);
    CHECK(f->b == NULL);
    CHECK_OK(dc_merge_batch_new(&f->b, f->t, &err), &err);
}

/* An event of one long key: after image for c/u/r, before for d. */
static inline dc_cdc_event mfx_ev(char op, int64_t id, int64_t ts, const char *image)
{
    dc_cdc_event e;
    memset(&e, 0, sizeof e);
    e.kind = op == 't' ? DC_CDC_TRUNCATE : DC_CDC_CHANGE;
    e.op = op;
    e.has_ts_ms = true;
    e.ts_ms = ts;
    if (op == 'd') {
        e.before = image;
        e.before_len = image ? (uint32_t)strlen(image) : 0;
    } else if (op != 't') {
        e.after = image;
        e.after_len = image ? (uint32_t)strlen(image) : 0;
    }
    e.n_keys = op == 't' ? 0 : 1;
    e.keys[0].type = DC_CDC_KEY_LONG;
    e.keys[0].i = id;
    return e;
}

/* Adds an event at an explicit topic-partition/offset. */
static inline void mfx_add_at(mfx *f, const dc_cdc_event *e, const char *topic, int32_t part,
                              int64_t off)
{
    dc_err err;
    dc_err_clear(&err);
    if (!f->b) mfx_begin(f);
    CHECK_OK(dc_merge_batch_add(f->b, e, topic, part, off, &err), &err);
}

static inline void mfx_add(mfx *f, char op, int64_t id, int64_t ts, const char *image)
{
    const dc_cdc_event e = mfx_ev(op, id, ts, image);
    mfx_add_at(f, &e, "t", 0, f->next_off++);
}

/* Commits the open batch; returns the version (-1: nothing committed). */
static inline int64_t mfx_commit(mfx *f)
{
    dc_err err;
    dc_err_clear(&err);
    if (!f->b) mfx_begin(f);
    memset(&f->res, 0, sizeof f->res);
    CHECK_OK(dc_merge_batch_commit(&f->res, f->b, &err), &err);
    dc_merge_batch_free(f->b);
    f->b = NULL;
    return f->res.version;
}

static inline int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void put_field(dc_buf *o, const dc_json *v)
{
    dc_err err;
    if (!v || v->type == DC_JSON_NULL) CHECK_OK(dc_buf_puts(o, "-", &err), &err);
    else CHECK_OK(dc_buf_append(o, v->u.str, v->len, &err), &err);
}

/* One scanned row as "k1,k2|ts|op|off|json". */
static inline char *row_line(const dc_json *row, const dc_merge_opts *o)
{
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    if (o->format == DC_FORMAT_TYPED) { /* typed: the whole row, columns in schema order */
        CHECK_OK(dc_json_write(&b, row, &err), &err);
        CHECK_OK(dc_buf_putc(&b, 0, &err), &err);
        return (char *)dc_buf_steal(&b, NULL);
    }
    for (uint32_t i = 0; i < o->keys.n; i++) {
        if (i) CHECK_OK(dc_buf_putc(&b, ',', &err), &err);
        put_field(&b, dc_json_get(row, o->keys.names[i]));
    }
    static const char *const cols[] = {"ts_ms", "operation_type", "offset", "json_record"};
    for (int i = 0; i < 4; i++) {
        CHECK_OK(dc_buf_putc(&b, '|', &err), &err);
        put_field(&b, dc_json_get(row, cols[i]));
    }
    CHECK_OK(dc_buf_putc(&b, 0, &err), &err);
    return (char *)dc_buf_steal(&b, NULL);
}

/* The latest snapshot's rows (read side, DVs applied), sorted lines joined
 * by '\n'; caller frees with dc_free. */
static inline char *mfx_state(const mfx *f)
{
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_scan *sc = NULL;
    dc_buf out, all;
    dc_buf_init(&out, (size_t)1 << 30);
    dc_buf_init(&all, (size_t)1 << 30);
    CHECK_OK(dc_storage_open(&s, f->dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    CHECK_OK(dc_delta_scan_new(&sc, snap, NULL, 0, &err), &err);
    for (bool done = false; !done;) CHECK_OK(dc_delta_scan_next(sc, &out, &done, &err), &err);
    size_t n = 0, cap = 16;
    char **lines = dc_malloc(cap * sizeof *lines);
    dc_arena a;
    dc_arena_init(&a, (size_t)1 << 30);
    for (size_t at = 0; at < out.len;) {
        const uint8_t *nl = memchr(out.data + at, '\n', out.len - at);
        const size_t len = nl ? (size_t)(nl - out.data) - at : out.len - at;
        dc_json *row = NULL;
        CHECK_OK(dc_json_parse(&row, &a, (const char *)out.data + at, len, &err), &err);
        if (n == cap) lines = dc_realloc(lines, (cap *= 2) * sizeof *lines);
        lines[n++] = row_line(row, &f->o);
        at += len + 1;
    }
    qsort(lines, n, sizeof *lines, cmp_line);
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(dc_buf_puts(&all, lines[i], &err), &err);
        CHECK_OK(dc_buf_putc(&all, '\n', &err), &err);
        dc_free(lines[i]);
    }
    CHECK_OK(dc_buf_putc(&all, 0, &err), &err);
    dc_free(lines);
    dc_arena_dispose(&a);
    dc_buf_dispose(&out);
    dc_delta_scan_free(sc);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return (char *)dc_buf_steal(&all, NULL);
}

/* CHECKs the table's state equals `want` (sorted lines, each ending '\n'). */
#define MFX_STATE(f, want)                          \
    do {                                            \
        char *st_ = mfx_state(f);                   \
        CHECK_EQ_STR(st_, (want));                  \
        dc_free(st_);                               \
    } while (0)

/* The index as sorted lines "key|file path|row|ts|off" (byte keys in hex;
 * ts and off: a deleted key's, rows' are in their files),
 * to compare an index with the one a reopen builds. dc_free the result. */
static inline char *mfx_index_dump(const dc_merge_table *t)
{
    dc_err err;
    const mx_index *x = &t->index;
    char **lines = dc_calloc(x->n ? x->n : 1, sizeof *lines);
    size_t n = 0;
    for (size_t i = 0; i < x->cap; i++) {
        const mx_slot *sl = &x->slots[i];
        if (!sl->file) continue;
        dc_buf b;
        dc_buf_init(&b, 1 << 20);
        if (x->int_keys) {
            CHECK_OK(dc_buf_appendf(&b, &err, "%lld", (long long)sl->key), &err);
        } else {
            const uint8_t *p = NULL;
            uint32_t len = 0;
            dc_mx_key_bytes(x, i, &p, &len);
            for (uint32_t k = 0; k < len; k++) CHECK_OK(dc_buf_appendf(&b, &err, "%02x", p[k]), &err);
        }
        const bool none = sl->file - 1 == MX_FILE_NONE; /* a typed table's deleted key */
        CHECK(none || sl->file - 1 < x->n_files);
        CHECK(none || x->files[sl->file - 1].snap_i != SIZE_MAX); /* rows are in live files */
        /* a row's place fixes its sequence; a ghost keeps its own */
        const mseq g = none ? dc_mx_get(x, i).seq : (mseq){0, 0};
        CHECK_OK(dc_buf_appendf(&b, &err, "|%s|%u|%lld|%lld%c",
                                none ? "(no row)" : x->files[sl->file - 1].path,
                                none ? 0 : sl->row, (long long)g.ts, (long long)g.off, 0), &err);
        lines[n++] = (char *)dc_buf_steal(&b, NULL);
    }
    CHECK_EQ_INT(n, x->n);
    qsort(lines, n, sizeof *lines, cmp_line);
    dc_buf all;
    dc_buf_init(&all, (size_t)1 << 30);
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(dc_buf_appendf(&all, &err, "%s\n", lines[i]), &err);
        dc_free(lines[i]);
    }
    CHECK_OK(dc_buf_putc(&all, 0, &err), &err);
    dc_free(lines);
    return (char *)dc_buf_steal(&all, NULL);
}

/* The two batches of the crash and lost-reply scenarios: 50 inserts (offsets
 * 0..49), then updates, deletes and inserts (offsets 50..89). */
static inline void mfx_scenario_batch1(mfx *f)
{
    for (int64_t i = 0; i < 50; i++) mfx_add(f, 'c', i, 100, "{\"b\":1}");
}

static inline void mfx_scenario_batch2(mfx *f)
{
    f->next_off = 50;
    for (int64_t i = 0; i < 50; i += 2) mfx_add(f, 'u', i, 200, "{\"b\":2}");
    for (int64_t i = 1; i < 50; i += 10) mfx_add(f, 'd', i, 200, "{\"b\":1}");
    for (int64_t i = 50; i < 60; i++) mfx_add(f, 'c', i, 200, "{\"b\":2}");
}

/* The table state after both batches, undisturbed (dc_free it). */
static inline char *mfx_scenario_state(dc_merge_mode mode)
{
    mfx c;
    mfx_open_id(&c, mode);
    mfx_scenario_batch1(&c);
    mfx_commit(&c);
    mfx_scenario_batch2(&c);
    mfx_commit(&c);
    char *s = mfx_state(&c);
    mfx_close(&c);
    return s;
}

#endif /* DC_TEST_MERGE_FIXTURE_H */
