/* delta write: conflict classification of a transaction against winning
 * commits (each rule, and what must not conflict). */
#include "../test.h"

#include "../../src/delta/delta.h"

/* A winning commit made of the given actions. */
static dc_delta_commit winner(dc_delta_action *acts, size_t n)
{
    dc_delta_commit c;
    memset(&c, 0, sizeof c);
    c.version = 7;
    c.n_actions = n;
    c.actions = acts;
    return c;
}

static dc_delta_action add_of(const char *path, bool data_change)
{
    dc_delta_action a;
    memset(&a, 0, sizeof a);
    a.type = DC_DELTA_ACTION_ADD;
    a.u.add.path = path;
    a.u.add.data_change = data_change;
    return a;
}

static dc_delta_action remove_of(const char *path)
{
    dc_delta_action a;
    memset(&a, 0, sizeof a);
    a.type = DC_DELTA_ACTION_REMOVE;
    a.u.remove.path = path;
    a.u.remove.data_change = true;
    return a;
}

static dc_delta_action commit_info(const char *json)
{
    dc_delta_action a;
    memset(&a, 0, sizeof a);
    a.type = DC_DELTA_ACTION_COMMIT_INFO;
    a.u.commit_info.json = json;
    a.u.commit_info.len = strlen(json);
    return a;
}

static int check(const dc_delta_tx_info *tx, dc_delta_action *acts, size_t n, dc_err *err)
{
    dc_delta_commit c = winner(acts, n);
    dc_err_clear(err);
    return dc_delta_conflict_check(tx, &c, err);
}

TEST(delta_write_conflict_appends_do_not_conflict)
{
    dc_err err;
    dc_delta_tx_info blind = {.blind_append = true};
    dc_delta_action w[] = {commit_info("{\"isBlindAppend\":true}"), add_of("a.parquet", true),
                           add_of("b.parquet", true)};
    CHECK_OK(check(&blind, w, 3, &err), &err);
    /* A reader tx ignores a blind append (WriteSerializable)... */
    dc_delta_tx_info reader = {.read_all = true};
    CHECK_OK(check(&reader, w, 3, &err), &err);
    /* ...but not files added by a commit that is not a blind append. */
    dc_delta_action w2[] = {commit_info("{\"isBlindAppend\":false}"), add_of("c.parquet", true)};
    CHECK_EQ_INT(check(&reader, w2, 2, &err), DC_ECONFLICT);
    CHECK(err.retriable && strstr(err.msg, "ConcurrentAppend") && strstr(err.msg, "c.parquet"));
    /* dataChange=false adds (OPTIMIZE's) are not new data. */
    dc_delta_action w3[] = {add_of("d.parquet", false)};
    CHECK_OK(check(&reader, w3, 1, &err), &err);
}

TEST(delta_write_conflict_deletes)
{
    dc_err err;
    const char *mine[] = {"p=1/x.parquet"};
    dc_delta_tx_info tx = {.n_removed = 1, .removed = mine};
    dc_delta_action other[] = {remove_of("p=1/y.parquet")};
    CHECK_OK(check(&tx, other, 1, &err), &err);
    dc_delta_action same[] = {remove_of("p=1/x.parquet")};
    CHECK_EQ_INT(check(&tx, same, 1, &err), DC_ECONFLICT);
    CHECK(err.retriable && strstr(err.msg, "ConcurrentDeleteDelete"));
    CHECK(strstr(err.msg, "version 7") != NULL);
    /* The same file escaped differently by another writer is the same file. */
    const char *mine2[] = {"p=a b/x.parquet"};
    dc_delta_tx_info tx2 = {.n_removed = 1, .removed = mine2};
    dc_delta_action esc[] = {remove_of("p=a%20b/x.parquet")};
    CHECK_EQ_INT(check(&tx2, esc, 1, &err), DC_ECONFLICT);
    /* A reader conflicts with any data-changing remove. */
    dc_delta_tx_info reader = {.read_all = true};
    CHECK_EQ_INT(check(&reader, other, 1, &err), DC_ECONFLICT);
    CHECK(strstr(err.msg, "ConcurrentDeleteRead") != NULL);
    /* A blind append does not care about removes of other files. */
    dc_delta_tx_info blind = {.blind_append = true};
    CHECK_OK(check(&blind, other, 1, &err), &err);
}

TEST(delta_write_conflict_table_actions)
{
    dc_err err;
    dc_delta_tx_info blind = {.blind_append = true};
    dc_delta_action md;
    memset(&md, 0, sizeof md);
    md.type = DC_DELTA_ACTION_METADATA;
    CHECK_EQ_INT(check(&blind, &md, 1, &err), DC_ECONFLICT);
    CHECK(strstr(err.msg, "MetadataChanged") != NULL);

    dc_delta_action pr;
    memset(&pr, 0, sizeof pr);
    pr.type = DC_DELTA_ACTION_PROTOCOL;
    pr.u.protocol.min_reader_version = 1;
    pr.u.protocol.min_writer_version = 2;
    CHECK_EQ_INT(check(&blind, &pr, 1, &err), DC_ECONFLICT);
    CHECK(err.retriable && strstr(err.msg, "ProtocolChanged"));
    /* A protocol we can not read is not worth a retry. */
    pr.u.protocol.min_reader_version = 9;
    CHECK_EQ_INT(check(&blind, &pr, 1, &err), DC_EUNSUPPORTED);
    CHECK(!err.retriable);

    const char *apps[] = {"cdc-topic-0"};
    dc_delta_tx_info tx = {.blind_append = true, .n_app_ids = 1, .app_ids = apps};
    dc_delta_action txn;
    memset(&txn, 0, sizeof txn);
    txn.type = DC_DELTA_ACTION_TXN;
    txn.u.txn.app_id = "cdc-topic-1";
    CHECK_OK(check(&tx, &txn, 1, &err), &err);
    txn.u.txn.app_id = "cdc-topic-0";
    CHECK_EQ_INT(check(&tx, &txn, 1, &err), DC_ECONFLICT);
    CHECK(strstr(err.msg, "ConcurrentTransaction") && strstr(err.msg, "cdc-topic-0"));

    const char *doms[] = {"my.domain"};
    dc_delta_tx_info dt = {.blind_append = true, .n_domains = 1, .domains = doms};
    dc_delta_action dm;
    memset(&dm, 0, sizeof dm);
    dm.type = DC_DELTA_ACTION_DOMAIN_METADATA;
    dm.u.domain.domain = "other";
    CHECK_OK(check(&dt, &dm, 1, &err), &err);
    dm.u.domain.domain = "my.domain";
    CHECK_EQ_INT(check(&dt, &dm, 1, &err), DC_ECONFLICT);
}
