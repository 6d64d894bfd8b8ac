/* merge: dc_merge_event_check, the loop's check of an event a committer
 * thread adds later (ingest_commit.c), refuses what dc_merge_batch_add
 * refuses of the event itself, with the same code and message, and passes
 * what it takes: for tables keyed by one long, by a string, and by both. */
#include "merge_fixture.h"

/* The event through both, on table f (key shape from names). */
static void same_verdict(mfx *f, const dc_cdc_event *e, int64_t off, const char *want)
{
    dc_err e1, e2;
    dc_err_clear(&e1);
    dc_err_clear(&e2);
    dc_merge_keyshape k;
    dc_merge_table_keyshape(&k, f->t, (const char *const *)f->o.keys.names);
    const int rc_check = dc_merge_event_check(&k, e, "top", 3, off, &e1);
    dc_merge_batch *b = NULL;
    CHECK_OK(dc_merge_batch_new(&b, f->t, &e2), &e2);
    const int rc_add = dc_merge_batch_add(b, e, "top", 3, off, &e2);
    dc_merge_batch_free(b);
    CHECK_EQ_INT(rc_check, rc_add);
    if (rc_add < 0) CHECK_EQ_STR(e1.msg, e2.msg);
    if (want) CHECK(rc_add < 0 && strstr(e2.msg, want) != NULL);
    else CHECK_EQ_INT(rc_add, 0);
}

static dc_cdc_event str_ev(const char *s, uint32_t len)
{
    dc_cdc_event e = mfx_ev('c', 0, 1, "{}");
    e.keys[0].type = DC_CDC_KEY_STRING;
    e.keys[0].s = s;
    e.keys[0].len = len;
    return e;
}

TEST(merge_event_check_is_the_add_s_verdict)
{
    mfx f;
    mfx_open_id(&f, DC_MERGE_DV); /* one long key "id" */
    dc_cdc_event e = mfx_ev('c', 7, 1, "{\"id\":7}");
    same_verdict(&f, &e, 1, NULL);
    e.op = 'x';
    same_verdict(&f, &e, 2, "op 'x' is not a row change");
    e = mfx_ev('u', 7, 1, "{}");
    e.n_keys = 2;
    same_verdict(&f, &e, 3, "the event has 2 key values, the table 1 key columns");
    e = str_ev("abc", 3);
    same_verdict(&f, &e, 4, "key column 'id' is a long in the table, the event has a string");
    e = mfx_ev('t', 0, 1, NULL); /* a truncate, a skip: no keys to check */
    same_verdict(&f, &e, 5, NULL);
    e.kind = DC_CDC_SKIP;
    same_verdict(&f, &e, 6, NULL);
    e = mfx_ev('c', 7, 1, "{}");
    same_verdict(&f, &e, -1, "negative offset");
    mfx_close(&f);

    static const char *const names[] = {"k"};
    static const dc_cdc_key_type str[] = {DC_CDC_KEY_STRING};
    mfx_init(&f, DC_MERGE_DV, 1, names, str);
    mfx_open(&f);
    e = str_ev("abc", 3);
    same_verdict(&f, &e, 1, NULL);
    e = mfx_ev('c', 123456, 1, "{}"); /* a number in a string column: its text */
    same_verdict(&f, &e, 2, NULL);
    char *big = dc_malloc(DC_MERGE_MAX_KEY_BYTES);
    CHECK(big != NULL);
    if (big) {
        memset(big, 'x', DC_MERGE_MAX_KEY_BYTES);
        e = str_ev(big, (uint32_t)DC_MERGE_MAX_KEY_BYTES - 4); /* 4 bytes of length: fits */
        same_verdict(&f, &e, 3, NULL);
        e = str_ev(big, (uint32_t)DC_MERGE_MAX_KEY_BYTES - 3);
        same_verdict(&f, &e, 4, "exceeds");
    }
    dc_free(big);
    mfx_close(&f);

    static const char *const two[] = {"a", "b"};
    static const dc_cdc_key_type ls[] = {DC_CDC_KEY_LONG, DC_CDC_KEY_STRING};
    mfx_init(&f, DC_MERGE_DV, 2, two, ls);
    mfx_open(&f);
    e = mfx_ev('c', 5, 1, "{}");
    e.n_keys = 2;
    e.keys[1].type = DC_CDC_KEY_STRING;
    e.keys[1].s = "q";
    e.keys[1].len = 1;
    same_verdict(&f, &e, 1, NULL);
    e.keys[0] = e.keys[1]; /* a string where the long goes */
    same_verdict(&f, &e, 2, "key column 'a' is a long");
    mfx_close(&f);
}
