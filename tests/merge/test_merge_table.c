/* merge: opening tables (refusing layouts that are not the raw one, naming
 * the column), creation per mode, and other writers: a commit that wins the
 * race against a batch (retried on the reloaded table), a blind append by
 * someone else (indexed before the next batch). */
#include "merge_fixture.h"

static int open_rc(mfx *f, dc_err *err)
{
    dc_err_clear(err);
    dc_merge_table *t = NULL;
    const int rc = dc_merge_table_open(&t, &f->o, err);
    dc_merge_table_free(t);
    return rc;
}

static void create_with_schema(mfx *f, const char *schema, bool dv)
{
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, f->dir, &err), &err);
    dc_delta_create_opts c;
    memset(&c, 0, sizeof c);
    c.schema_json = schema;
    c.enable_dv = dv;
    CHECK_OK(dc_delta_table_create(s, &c, &err), &err);
    dc_storage_free(s);
}

#define FIELD(n, t) "{\"name\":\"" n "\",\"type\":\"" t "\",\"nullable\":true,\"metadata\":{}}"
#define RAW_TAIL FIELD("ts_ms", "long") "," FIELD("json_record", "string") "," \
    FIELD("operation_type", "string") "," FIELD("offset", "long")

TEST(merge_table_refusals)
{
    static const char *const names[] = {"id"};
    static const dc_cdc_key_type lng[] = {DC_CDC_KEY_LONG}, str[] = {DC_CDC_KEY_STRING};
    dc_err err;
    mfx f;
    mfx_init(&f, DC_MERGE_DV, 1, names, lng);
    f.o.create_if_missing = false;
    CHECK_EQ_INT(open_rc(&f, &err), DC_ENOTFOUND);
    f.o.format = DC_FORMAT_TYPED;
    CHECK_EQ_INT(open_rc(&f, &err), DC_ENOTFOUND);
    f.o.create_if_missing = true;                    /* typed, no schema block to create from */
    CHECK_EQ_INT(open_rc(&f, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "no schema block") != NULL);
    f.o.format = DC_FORMAT_RAW;
    CHECK_OK(open_rc(&f, &err), &err);               /* created: long key */
    f.o.format = DC_FORMAT_TYPED;                    /* a raw table is not a typed one */
    CHECK_EQ_INT(open_rc(&f, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "'__op'") != NULL);
    f.o.format = DC_FORMAT_RAW;
    memcpy(f.o.key_types, str, sizeof str);
    CHECK_EQ_INT(open_rc(&f, &err), DC_EINVAL);      /* events say string */
    CHECK(strstr(err.msg, "'id'") != NULL);
    memcpy(f.o.key_types, lng, sizeof lng);
    f.o.keys.names[0] = "ts_ms";
    CHECK_EQ_INT(open_rc(&f, &err), DC_EINVAL);      /* a raw column as key */
    f.o.keys.names[0] = "other";
    CHECK_EQ_INT(open_rc(&f, &err), DC_EINVAL);      /* table's "id" is not raw for key other */
    CHECK(strstr(err.msg, "'id'") != NULL);
    mfx_close(&f);

    mfx_init(&f, DC_MERGE_DV, 1, names, lng);
    create_with_schema(&f, "{\"type\":\"struct\",\"fields\":[" FIELD("id", "long") "," RAW_TAIL
                       "," FIELD("extra", "string") "]}", true);
    CHECK_EQ_INT(open_rc(&f, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "'extra'") != NULL);
    mfx_close(&f);

    mfx_init(&f, DC_MERGE_DV, 1, names, lng);
    create_with_schema(&f, "{\"type\":\"struct\",\"fields\":[" FIELD("id", "long") ","
                       FIELD("ts_ms", "long") "," FIELD("json_record", "string") ","
                       FIELD("offset", "long") "]}", true);
    CHECK_EQ_INT(open_rc(&f, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "'operation_type'") != NULL);
    mfx_close(&f);

    mfx_init(&f, DC_MERGE_DV, 1, names, lng);
    create_with_schema(&f, "{\"type\":\"struct\",\"fields\":[" FIELD("id", "long") ","
                       FIELD("ts_ms", "string") "," FIELD("json_record", "string") ","
                       FIELD("operation_type", "string") "," FIELD("offset", "long") "]}", true);
    CHECK_EQ_INT(open_rc(&f, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "'ts_ms'") != NULL);
    mfx_close(&f);
}

/* dv mode creates (3,7) with deletion vectors; cow (1,2); dv on a table
 * without them is refused, cow on a dv table is fine. */
TEST(merge_table_protocols)
{
    dc_err err;
    mfx f;
    mfx_open_id(&f, DC_MERGE_COW);
    const dc_delta_protocol *p = dc_delta_snapshot_protocol(f.t->snap);
    CHECK_EQ_INT(p->min_reader_version, 1);
    CHECK_EQ_INT(p->min_writer_version, 2);
    f.o.mode = DC_MERGE_DV;
    CHECK_EQ_INT(open_rc(&f, &err), DC_EUNSUPPORTED);
    CHECK(strstr(err.msg, "cow") != NULL);
    mfx_close(&f);
    mfx_open_id(&f, DC_MERGE_DV);
    p = dc_delta_snapshot_protocol(f.t->snap);
    CHECK_EQ_INT(p->min_reader_version, 3);
    CHECK_EQ_INT(p->min_writer_version, 7);
    CHECK(dc_delta_protocol_has_writer_feature(p, "deletionVectors"));
    bool found = false;
    const char *v = dc_delta_map_get(&dc_delta_snapshot_metadata(f.t->snap)->configuration,
                                     "delta.enableDeletionVectors", &found);
    CHECK(v && strcmp(v, "true") == 0);
    f.o.mode = DC_MERGE_COW;
    CHECK_OK(open_rc(&f, &err), &err);
    mfx_close(&f);
}

/* A seed-style table whose key is an "integer": int32 values, range-checked. */
TEST(merge_table_int_key_column)
{
    dc_err err;
    mfx f;
    static const char *const names[] = {"id"};
    static const dc_cdc_key_type lng[] = {DC_CDC_KEY_LONG};
    mfx_init(&f, DC_MERGE_DV, 1, names, lng);
    create_with_schema(&f, "{\"type\":\"struct\",\"fields\":[" FIELD("id", "integer") ","
                       RAW_TAIL "]}", true);
    mfx_open(&f);
    mfx_add(&f, 'c', -5, 1, "{}");
    mfx_add(&f, 'c', 7, 1, "{}");
    mfx_commit(&f);
    mfx_add(&f, 'u', 7, 2, "{}");
    mfx_commit(&f);
    MFX_STATE(&f, "-5|1|c|0|{}\n7|2|u|2|{}\n");
    mfx_reopen(&f);
    CHECK_EQ_INT(f.t->index.n, 2);
    mfx_add(&f, 'c', (int64_t)1 << 40, 1, "{}");
    dc_merge_result r;
    dc_err_clear(&err);
    CHECK_EQ_INT(dc_merge_batch_commit(&r, f.b, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "'id'") != NULL);
    mfx_close(&f);
}

/* ------------------------------------------------------ other writers */

static mfx *g_other;
static int g_hook_calls;

/* Runs a commit of the other writer while our batch is about to commit. */
static int other_commits_first(void)
{
    if (g_hook_calls++ > 0) return 0;
    dc_merge_test_hook_before_commit = NULL;
    mfx_add(g_other, 'u', 1, 200, "{\"w\":\"other\"}");
    CHECK(mfx_commit(g_other) > 0);
    dc_merge_test_hook_before_commit = other_commits_first;
    return 0;
}

static void lost_race(dc_merge_mode mode)
{
    mfx a, b;
    mfx_open_id(&a, mode);
    mfx_add(&a, 'c', 1, 100, "{}");
    mfx_add(&a, 'c', 2, 100, "{}");
    mfx_commit(&a);
    b = a;                      /* a second writer on the same table */
    b.t = NULL;
    b.b = NULL;
    mfx_open(&b);
    b.next_off = 0;
    /* b: key 1 older than what a commits meanwhile, key 2 newer, key 3 new;
     * its own partition, so the txns do not collide. */
    const dc_cdc_event e1 = mfx_ev('u', 1, 150, "{\"w\":\"b\"}");
    const dc_cdc_event e2 = mfx_ev('u', 2, 150, "{\"w\":\"b\"}");
    const dc_cdc_event e3 = mfx_ev('c', 3, 150, "{\"w\":\"b\"}");
    mfx_add_at(&b, &e1, "t", 1, 0);
    mfx_add_at(&b, &e2, "t", 1, 1);
    mfx_add_at(&b, &e3, "t", 1, 2);
    g_other = &a;
    g_hook_calls = 0;
    a.next_off = 10;
    dc_merge_test_hook_before_commit = other_commits_first;
    const int64_t v = mfx_commit(&b);
    dc_merge_test_hook_before_commit = NULL;
    CHECK_EQ_INT(g_hook_calls, 2);      /* planned twice: the first commit lost */
    CHECK_EQ_INT(v, 3);
    CHECK_EQ_INT(b.res.stale, 1);
    CHECK_EQ_INT(b.res.updated, 1);
    CHECK_EQ_INT(b.res.inserted, 1);
    MFX_STATE(&b, "1|200|u|10|{\"w\":\"other\"}\n2|150|u|1|{\"w\":\"b\"}\n3|150|c|2|{\"w\":\"b\"}\n");
    char *kept = mfx_index_dump(b.t);
    mfx_reopen(&b);
    char *built = mfx_index_dump(b.t);
    CHECK_EQ_STR(built, kept);
    dc_free(kept);
    dc_free(built);
    dc_merge_table_free(b.t);
    mfx_close(&a);
}

TEST(merge_lost_race_dv) { lost_race(DC_MERGE_DV); }
TEST(merge_lost_race_cow) { lost_race(DC_MERGE_COW); }

/* Someone appends rows blindly (not through merge): the next batch indexes
 * their file first, so an update replaces their row instead of doubling it. */
TEST(merge_foreign_blind_append)
{
    dc_err err;
    dc_err_clear(&err);
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    mfx_add(&f, 'c', 1, 100, "{}");
    mfx_commit(&f);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_file_writer *w = NULL;
    dc_delta_tx *tx = NULL;
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    dc_json *row = NULL;
    const char *line = "{\"id\":7,\"ts_ms\":100,\"json_record\":\"{}\",\"operation_type\":\"c\","
                       "\"offset\":99}";
    int64_t v = -1;
    CHECK_OK(dc_storage_open(&s, f.dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    CHECK_OK(dc_delta_tx_new(&tx, snap, "WRITE", &err), &err);
    CHECK_OK(dc_delta_file_writer_new(&w, snap, NULL, &err), &err);
    CHECK_OK(dc_json_parse(&row, &a, line, strlen(line), &err), &err);
    CHECK_OK(dc_delta_file_writer_write_row(w, row, &err), &err);
    CHECK_OK(dc_delta_file_writer_finish(w, tx, &err), &err);
    CHECK_OK(dc_delta_tx_commit(&v, tx, &err), &err);
    CHECK_EQ_INT(v, 2);
    dc_delta_file_writer_free(w);
    dc_delta_tx_free(tx);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    dc_arena_dispose(&a);
    mfx_add(&f, 'u', 7, 200, "{\"n\":2}");
    CHECK_EQ_INT(mfx_commit(&f), 3);
    CHECK_EQ_INT(f.res.updated, 1);
    MFX_STATE(&f, "1|100|c|0|{}\n7|200|u|1|{\"n\":2}\n");
    mfx_close(&f);
}

/* Another writer compacts the table (every live row into one new file,
 * the old files removed): the next batch re-reads only those files (no full
 * rebuild) and its index equals the one a reopen builds. */
static void foreign_compaction(dc_merge_mode mode)
{
    dc_err err;
    dc_err_clear(&err);
    mfx f;
    mfx_open_id(&f, mode);
    for (int64_t i = 0; i < 30; i++) mfx_add(&f, 'c', i, 100, "{}");
    mfx_commit(&f);
    for (int64_t i = 0; i < 30; i += 4) mfx_add(&f, 'u', i, 200, "{\"u\":1}");
    mfx_add(&f, 'd', 5, 200, "{}");
    mfx_commit(&f);
    char *before = mfx_state(&f);
    /* The compaction, through the Delta write side. */
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_scan *sc = NULL;
    dc_delta_file_writer *w = NULL;
    dc_delta_tx *tx = NULL;
    dc_buf rows;
    dc_buf_init(&rows, 1 << 24);
    dc_arena a;
    dc_arena_init(&a, 1 << 24);
    int64_t v = -1;
    CHECK_OK(dc_storage_open(&s, f.dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    CHECK_OK(dc_delta_scan_new(&sc, snap, NULL, 0, &err), &err);
    for (bool done = false; !done;) CHECK_OK(dc_delta_scan_next(sc, &rows, &done, &err), &err);
    CHECK_OK(dc_delta_tx_new(&tx, snap, "OPTIMIZE", &err), &err);
    CHECK_OK(dc_delta_file_writer_new(&w, snap, NULL, &err), &err);
    for (size_t at = 0; at < rows.len;) {
        const uint8_t *nl = memchr(rows.data + at, '\n', rows.len - at);
        dc_json *row = NULL;
        CHECK_OK(dc_json_parse(&row, &a, (const char *)rows.data + at,
                               (size_t)(nl - rows.data) - at, &err), &err);
        CHECK_OK(dc_delta_file_writer_write_row(w, row, &err), &err);
        at = (size_t)(nl - rows.data) + 1;
    }
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++)
        CHECK_OK(dc_delta_tx_remove_file(tx, dc_delta_snapshot_file(snap, i), false, &err), &err);
    CHECK_OK(dc_delta_file_writer_finish(w, tx, &err), &err);
    CHECK_OK(dc_delta_tx_commit(&v, tx, &err), &err);
    dc_delta_file_writer_free(w);
    dc_delta_tx_free(tx);
    dc_delta_scan_free(sc);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    dc_arena_dispose(&a);
    dc_buf_dispose(&rows);
    MFX_STATE(&f, before);
    const uint64_t builds = f.t->n_builds;
    mfx_add(&f, 'u', 1, 300, "{\"u\":2}");
    mfx_add(&f, 'c', 5, 300, "{\"back\":1}");
    mfx_add(&f, 'c', 99, 300, "{}");
    mfx_commit(&f);
    CHECK_EQ_INT(f.t->n_builds, builds);     /* re-read the files, not the table */
    CHECK_EQ_INT(f.res.updated, 1);
    CHECK_EQ_INT(f.res.inserted, 2);         /* 5 re-created over its tombstone */
    CHECK_EQ_INT(f.t->index.n, 31);
    char *kept = mfx_index_dump(f.t);
    mfx_reopen(&f);
    char *built = mfx_index_dump(f.t);
    CHECK_EQ_STR(built, kept);
    char *after = mfx_state(&f);
    CHECK(strstr(after, "1|300|u|") != NULL);
    CHECK(strstr(after, "5|300|c|") != NULL);
    CHECK(strstr(after, "99|300|c|") != NULL);
    dc_free(before);
    dc_free(after);
    dc_free(kept);
    dc_free(built);
    mfx_close(&f);
}

TEST(merge_foreign_compaction_dv) { foreign_compaction(DC_MERGE_DV); }
TEST(merge_foreign_compaction_cow) { foreign_compaction(DC_MERGE_COW); }

/* Another writer deletes a row with a deletion vector: its key leaves the
 * index, so an event for it is an insert again, whatever its ts_ms. */
TEST(merge_foreign_dv_delete)
{
    dc_err err;
    dc_err_clear(&err);
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV);
    for (int64_t i = 0; i < 10; i++) mfx_add(&f, 'c', i, 100, "{}");
    mfx_commit(&f);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_tx *tx = NULL;
    int64_t v = -1;
    const uint64_t rows[] = {3, 7};  /* rows 3 and 7 hold keys 3 and 7 (sorted file) */
    CHECK_OK(dc_storage_open(&s, f.dir, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    CHECK_OK(dc_delta_tx_new(&tx, snap, "DELETE", &err), &err);
    CHECK_OK(dc_delta_tx_delete_rows(tx, dc_delta_snapshot_file(snap, 0), rows, 2, &err), &err);
    CHECK_OK(dc_delta_tx_commit(&v, tx, &err), &err);
    dc_delta_tx_free(tx);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    const uint64_t builds = f.t->n_builds;
    mfx_add(&f, 'u', 3, 50, "{\"old\":1}");
    mfx_add(&f, 'u', 4, 50, "{\"old\":1}");
    mfx_commit(&f);
    CHECK_EQ_INT(f.t->n_builds, builds);
    CHECK_EQ_INT(f.res.inserted, 1);
    CHECK_EQ_INT(f.res.stale, 1);
    CHECK_EQ_INT(f.t->index.n, 9);
    char *st = mfx_state(&f);
    CHECK(strstr(st, "3|50|u|10|{\"old\":1}\n") != NULL);
    CHECK(strstr(st, "7|") == NULL);
    dc_free(st);
    char *kept = mfx_index_dump(f.t);
    mfx_reopen(&f);
    char *built = mfx_index_dump(f.t);
    CHECK_EQ_STR(built, kept);
    dc_free(kept);
    dc_free(built);
    mfx_close(&f);
}
