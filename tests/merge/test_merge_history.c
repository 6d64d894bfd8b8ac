/* merge: a typed table's history floor (dc_merge_batch_history, issue 10):
 * a bootstrap's rows at its snapshot position, then the stream — events at
 * or before that position change nothing (also for a key the history lacks),
 * a streamed event at the very position and every later one applies; the
 * floor survives a restart and a resumed bootstrap keeps the first one. */
#include "merge_fixture.h"

#define BLOCK "{\"type\":\"struct\",\"fields\":[" \
    "{\"type\":\"struct\",\"optional\":true,\"field\":\"after\",\"fields\":[" \
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"id\"}," \
    "{\"type\":\"string\",\"optional\":true,\"field\":\"v\"}]}," \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"}]}"

static dc_cdc_event hev(char op, int64_t id, int64_t pos, bool snapshot, const char *img)
{
    dc_cdc_event e = mfx_ev(op, id, 1, img);
    e.schema = BLOCK;
    e.schema_len = (uint32_t)strlen(BLOCK);
    e.has_srcpos = true;
    e.srcpos = (dc_cdc_srcpos){3, pos, 0, snapshot};
    e.src_file = "mysql-bin.000003";
    e.src_file_len = (uint32_t)strlen(e.src_file);
    return e;
}

/* A bootstrap chunk: rows ids[0..n) at snapshot position pos. */
static void history(mfx *f, const int64_t *ids, size_t n, int64_t pos)
{
    mfx_begin(f);
    const dc_cdc_srcpos p = {3, pos, 0, true};
    dc_merge_batch_history(f->b, &p);
    for (size_t i = 0; i < n; i++) {
        char img[64];
        snprintf(img, sizeof img, "{\"id\":%lld,\"v\":\"h\"}", (long long)ids[i]);
        const dc_cdc_event e = hev('r', ids[i], pos, true, img);
        mfx_add_at(f, &e, "boot", 0, f->next_off);
    }
    f->next_off++;
    mfx_commit(f);
}

static void stream(mfx *f, char op, int64_t id, int64_t pos, const char *v)
{
    char img[64];
    snprintf(img, sizeof img, "{\"id\":%lld,\"v\":\"%s\"}", (long long)id, v);
    const dc_cdc_event e = hev(op, id, pos, false, img);
    mfx_add_at(f, &e, "cdc", 0, f->next_off++);
}

/* A typed table keyed by id, of BLOCK's columns, the next offset 1. */
static void open_typed(mfx *f)
{
    static const char *const names[] = {"id"};
    static const dc_cdc_key_type types[] = {DC_CDC_KEY_LONG};
    mfx_init(f, DC_MERGE_DV, 1, names, types);
    f->o.format = DC_FORMAT_TYPED;
    f->o.typed.create_schema = BLOCK;
    f->o.typed.create_schema_len = strlen(BLOCK);
    mfx_open(f);
    f->next_off = 1;
}

TEST(merge_history_floor)
{
    mfx f;
    open_typed(&f);
    const int64_t a[] = {1, 2, 3};
    history(&f, a, 3, 1000);
    CHECK_EQ_INT(f.res.inserted, 3);
    /* older than the history: stale for held keys, and key 9 (deleted before
     * the snapshot, absent) is not re-created */
    stream(&f, 'u', 1, 500, "old");
    stream(&f, 'c', 9, 600, "gone");
    stream(&f, 'u', 2, 1000, "at");     /* streamed at the snapshot's position: after it */
    stream(&f, 'c', 10, 1200, "new");
    mfx_commit(&f);
    CHECK_EQ_INT(f.res.repeats, 2);
    CHECK_EQ_INT(f.res.inserted, 1);
    CHECK_EQ_INT(f.res.updated, 1);
    /* a restart keeps the floor; a resumed bootstrap at a later position
     * adds rows but leaves the floor at the first position */
    mfx_reopen(&f);
    const int64_t b[] = {4, 5};
    history(&f, b, 2, 2000);
    CHECK_EQ_INT(f.res.inserted, 2);
    stream(&f, 'c', 11, 900, "gone");   /* below the first position: skipped */
    stream(&f, 'u', 4, 1500, "older");  /* between the positions: stale for a key read at 2000 */
    stream(&f, 'u', 3, 1500, "newer");  /* ... and applies to one read at 1000 */
    mfx_commit(&f);
    CHECK_EQ_INT(f.res.repeats, 2); /* typed: stale-by-row events count as repeats too */
    CHECK_EQ_INT(f.res.updated, 1);
    CHECK_EQ_INT(f.res.inserted, 0);
    int64_t lo = 0;
    const dc_cdc_srcpos first = {3, 1000, 0, true};
    CHECK(dc_delta_snapshot_txn_version(&lo, dc_merge_table_snapshot(f.t),
                                        DC_MERGE_HISTORY_APP "#pos.lo") == 0);
    CHECK_EQ_INT(lo, dc_mtyped_pos_seq(&first).off);
    char *st = mfx_state(&f);
    CHECK(st && strstr(st, "gone") == NULL && strstr(st, "newer") && !strstr(st, "older"));
    free(st);
    mfx_close(&f);
}

/* A bootstrap chunk as columns alone (dc_merge_batch_columns_only): rows
 * ids[0..n) with v = "c<id>" at snapshot position pos, no images. Returns
 * the commit's outcome; *refused: the merge asked for the images. */
static int columns_chunk(bool *refused, mfx *f, const int64_t *ids, size_t n, int64_t pos,
                         dc_err *err)
{
    const dc_delta_metadata *md = dc_delta_snapshot_metadata(dc_merge_table_snapshot(f->t));
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    dc_json *doc = NULL;
    dc_pq_schema *s = NULL;
    CHECK_OK(dc_json_parse(&doc, &a, md->schema_string, strlen(md->schema_string), err), err);
    CHECK_OK(dc_pq_schema_from_delta(&s, doc, err), err);
    dc_pq_column *cols = dc_calloc(s->n_leaves, sizeof *cols);
    for (uint32_t j = 0; j < s->n_leaves; j++) {
        dc_pq_column_init(&cols[j]);
        const bool id = strcmp(s->leaves[j].path[0], "id") == 0;
        if (!id && strcmp(s->leaves[j].path[0], "v") != 0) continue; /* the batch's */
        for (size_t i = 0; i < n; i++) {
            char t[32];
            snprintf(t, sizeof t, id ? "%lld" : "c%lld", (long long)ids[i]);
            const dc_json v = {id ? DC_JSON_NUMBER : DC_JSON_STRING, (uint32_t)strlen(t),
                               {.str = t}, NULL, 0};
            CHECK_OK(dc_pq_column_put_json(&cols[j], &s->leaves[j], &v, err), err);
        }
    }
    mfx_begin(f);
    const dc_cdc_srcpos p = {3, pos, 0, true};
    dc_merge_batch_history(f->b, &p);
    dc_merge_batch_images_typed(f->b);
    dc_merge_batch_columns(f->b, s, cols);
    dc_merge_batch_columns_only(f->b);
    for (size_t i = 0; i < n; i++) {
        const dc_cdc_event e = hev('r', ids[i], pos, true, NULL);
        mfx_add_at(f, &e, "boot", 0, f->next_off);
    }
    f->next_off++;
    memset(&f->res, 0, sizeof f->res);
    const int rc = dc_merge_batch_commit(&f->res, f->b, err);
    *refused = dc_merge_batch_columns_refused(f->b);
    dc_merge_batch_free(f->b);
    f->b = NULL;
    for (uint32_t j = 0; j < s->n_leaves; j++) dc_pq_column_dispose(&cols[j]);
    dc_free(cols);
    dc_pq_schema_free(s);
    dc_arena_dispose(&a);
    return rc;
}

TEST(merge_history_columns_only)
{
    mfx f;
    open_typed(&f);
    dc_err err;
    dc_err_clear(&err);
    bool refused = true;
    const int64_t a[] = {1, 2};
    CHECK_OK(columns_chunk(&refused, &f, a, 2, 1000, &err), &err); /* written as they are */
    CHECK(!refused);
    CHECK_EQ_INT(f.res.inserted, 2);
    stream(&f, 'u', 3, 3000, "cdc");    /* a key the next chunk holds, newer than it */
    const int64_t v = mfx_commit(&f);
    /* key 3 is stale in a chunk read at 2000: the columns can not be written
     * as they are, nothing is committed and the caller is told to resend */
    const int64_t b[] = {3, 4};
    CHECK(columns_chunk(&refused, &f, b, 2, 2000, &err) == DC_EUNSUPPORTED);
    CHECK(refused);
    CHECK_EQ_INT(dc_delta_snapshot_version(dc_merge_table_snapshot(f.t)), v);
    dc_err_clear(&err);
    CHECK_OK(columns_chunk(&refused, &f, b, 2, 4000, &err), &err); /* newer: they go in */
    CHECK(!refused);
    CHECK_EQ_INT(f.res.inserted, 1);
    CHECK_EQ_INT(f.res.updated, 1);
    char *st = mfx_state(&f);
    CHECK(st && strstr(st, "\"c1\"") && strstr(st, "\"c2\"") && strstr(st, "\"c3\"") &&
          strstr(st, "\"c4\"") && !strstr(st, "\"cdc\""));
    free(st);
    mfx_close(&f);
}
