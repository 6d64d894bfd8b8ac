/* delta: reconciliation, log segments, checkpoints, time travel (synthetic logs). */
#include "../test.h"

#include <stdlib.h>

#include "../../src/delta/delta_int.h"


static void put(dc_storage *s, const char *path, const char *text)
{
    dc_err err;
    CHECK_OK(dc_storage_write(s, path, text, strlen(text), &err), &err);
}

static void commit(dc_storage *s, int64_t v, const char *text)
{
    char path[64];
    dc_delta_commit_name(path, v);
    put(s, path, text);
}

#define PROTO "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
#define META                                                                                   \
    "{\"metaData\":{\"id\":\"t1\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"         \
    "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"a\\\","  \
    "\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","                  \
    "\"partitionColumns\":[],\"configuration\":{}}}\n"
#define ADD(p, extra)                                                                          \
    "{\"add\":{\"path\":\"" p "\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,"     \
    "\"dataChange\":true" extra "}}\n"
#define REMOVE(p, extra) "{\"remove\":{\"path\":\"" p "\",\"deletionTimestamp\":9,\"dataChange\":true" extra "}}\n"
#define DV1 ",\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":\"00000000000000000000\",\"offset\":1,\"sizeInBytes\":10,\"cardinality\":1}"

static void write_history(dc_storage *s)
{
    commit(s, 0, "{\"commitInfo\":{\"operation\":\"CREATE\"}}\n" PROTO META ADD("f1", "") ADD("f2", "")
                 "{\"txn\":{\"appId\":\"app1\",\"version\":1}}\n");
    commit(s, 1, REMOVE("f1", "") ADD("f3", "") "{\"txn\":{\"appId\":\"app1\",\"version\":2}}\n"
                 "{\"txn\":{\"appId\":\"app2\",\"version\":7}}\n"
                 "{\"domainMetadata\":{\"domain\":\"d1\",\"configuration\":\"x\",\"removed\":false}}\n");
    /* re-adding a live file (same key) replaces its metadata */
    commit(s, 2, ADD("f2", ",\"stats\":\"{\\\"numRecords\\\":5}\"") "{\"futureAction\":{}}\n");
    /* f3 gets a DV: add (f3, dv) + remove (f3, no dv) */
    commit(s, 3, ADD("f3", DV1) REMOVE("f3", "")
                 "{\"domainMetadata\":{\"domain\":\"d1\",\"configuration\":\"x\",\"removed\":true}}\n");
    /* f1 comes back */
    commit(s, 4, ADD("f1", ""));
}

/* "path[*]" per live file in log order ('*' when it has a DV). */
static void files_of(char *out, size_t cap, const dc_delta_snapshot *snap)
{
    out[0] = '\0';
    for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++) {
        const dc_delta_add *a = dc_delta_snapshot_file(snap, i);
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s%s", i ? "," : "", a->path, a->has_dv ? "*" : "");
    }
}

static void expect_version(dc_storage *s, int64_t v, const char *files, const char *tombs,
                           int64_t app1, int64_t n_domains)
{
    dc_err err;
    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_delta_snapshot_load(&snap, s, v, &err), &err);
    if (!snap) return;
    char got[256];
    files_of(got, sizeof got, snap);
    if (strcmp(got, files) != 0)
        dc_test_fail(__FILE__, __LINE__, "v%lld files '%s', expected '%s'", (long long)v, got, files);
    got[0] = '\0';
    for (size_t i = 0; i < dc_delta_snapshot_n_tombstones(snap); i++) {
        const dc_delta_remove *r = dc_delta_snapshot_tombstone(snap, i);
        size_t n = strlen(got);
        snprintf(got + n, sizeof got - n, "%s%s", i ? "," : "", r->path);
    }
    if (strcmp(got, tombs) != 0)
        dc_test_fail(__FILE__, __LINE__, "v%lld tombstones '%s', expected '%s'", (long long)v, got,
                     tombs);
    int64_t tv = -1;
    CHECK_OK(dc_delta_snapshot_txn_version(&tv, snap, "app1"), &err);
    CHECK_EQ_INT(tv, app1);
    CHECK_EQ_INT(dc_delta_snapshot_txn_version(&tv, snap, "nope"), DC_ENOTFOUND);
    CHECK_EQ_INT(dc_delta_snapshot_n_domains(snap), n_domains);
    CHECK_EQ_INT(dc_delta_snapshot_version(snap), v < 0 ? 4 : v);
    dc_delta_snapshot_free(snap);
}

TEST(delta_reconciliation)
{
    dc_err err;
    char *dir = dc_test_tmpdir("dc_snap");
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    write_history(s);
    /* files not ours are ignored, even when they are garbage */
    put(s, "_delta_log/00000000000000000000.crc", "garbage");
    put(s, "_delta_log/00000000000000000000.00000000000000000004.compacted.json", "garbage");
    put(s, "_delta_log/.s3-optimization-0", "");
    expect_version(s, 0, "f1,f2", "", 1, 0);
    expect_version(s, 1, "f2,f3", "f1", 2, 1);
    expect_version(s, 2, "f3,f2", "f1", 2, 1);   /* f2 re-added last */
    expect_version(s, 3, "f2,f3*", "f1,f3", 2, 0); /* (f3, dv) live, (f3) a tombstone */
    expect_version(s, -1, "f2,f3*,f1", "f3", 2, 0);

    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_delta_snapshot_load(&snap, s, 2, &err), &err);
    const dc_delta_add *f2 = dc_delta_snapshot_file(snap, 1);
    CHECK_EQ_STR(f2->stats, "{\"numRecords\":5}");
    /* moving forward gives what a fresh load gives */
    CHECK_OK(dc_delta_snapshot_update(snap, -1, &err), &err);
    char got[256];
    files_of(got, sizeof got, snap);
    CHECK_EQ_STR(got, "f2,f3*,f1");
    CHECK_EQ_INT(dc_delta_snapshot_version(snap), 4);
    CHECK_EQ_INT(dc_delta_snapshot_update(snap, 1, &err), DC_EINVAL);
    dc_delta_snapshot_free(snap);

    CHECK_EQ_INT(dc_delta_snapshot_load(&snap, s, 5, &err), DC_ENOTFOUND);
    CHECK(strstr(err.msg, "latest is 4") != NULL);

    /* history: every commit, with commitInfo kept */
    dc_delta_versions vs;
    CHECK_OK(dc_delta_log_versions(&vs, s, &err), &err);
    CHECK_EQ_INT(vs.n, 5);
    dc_delta_versions_dispose(&vs);
    dc_delta_commit *c = NULL;
    CHECK_OK(dc_delta_commit_read(&c, s, 0, &err), &err);
    CHECK(c && c->n_actions == 6 && c->actions[0].type == DC_DELTA_ACTION_COMMIT_INFO);
    dc_delta_commit_free(c);
    dc_storage_free(s);
    dc_test_rm_rf(dir);
    free(dir);
}

TEST(delta_v2_json_checkpoint_and_cleaned_log)
{
    dc_err err;
    char *dir = dc_test_tmpdir("dc_snap");
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    write_history(s);
    /* a V2 (UUID-named, JSON) checkpoint of version 2 */
    put(s, "_delta_log/00000000000000000002.checkpoint.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json",
        "{\"checkpointMetadata\":{\"version\":2}}\n" PROTO META ADD("f3", "") ADD("f2", "")
        REMOVE("f1", "") "{\"txn\":{\"appId\":\"app1\",\"version\":2}}\n"
        "{\"domainMetadata\":{\"domain\":\"d1\",\"configuration\":\"x\",\"removed\":false}}\n");
    /* an incomplete multi-part checkpoint at 3 must be ignored (its content is garbage) */
    put(s, "_delta_log/00000000000000000003.checkpoint.0000000001.0000000002.parquet", "garbage");
    put(s, "_delta_log/_last_checkpoint", "{\"version\":3,\"size\":4,\"parts\":2}");
    /* the log before the checkpoint is gone */
    dc_storage_remove(s, "_delta_log/00000000000000000000.json", &err);
    dc_storage_remove(s, "_delta_log/00000000000000000001.json", &err);
    expect_version(s, -1, "f2,f3*,f1", "f3", 2, 0);
    expect_version(s, 2, "f3,f2", "f1", 2, 1);
    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    CHECK_EQ_INT(dc_delta_snapshot_checkpoint_version(snap), 2);
    dc_delta_snapshot_free(snap);
    CHECK_EQ_INT(dc_delta_snapshot_load(&snap, s, 1, &err), DC_ENOTFOUND);
    CHECK(strstr(err.msg, "can not be reconstructed") != NULL);

    /* a gap after the checkpoint */
    dc_storage_remove(s, "_delta_log/00000000000000000003.json", &err);
    CHECK_EQ_INT(dc_delta_snapshot_load(&snap, s, -1, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "version 3 is missing") != NULL);
    dc_storage_free(s);
    dc_test_rm_rf(dir);
    free(dir);
}

TEST(delta_snapshot_errors)
{
    dc_err err;
    char *dir = dc_test_tmpdir("dc_snap");
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    CHECK_EQ_INT(dc_delta_snapshot_load(&snap, s, -1, &err), DC_ENOTFOUND);  /* no _delta_log */
    put(s, "_delta_log/_last_checkpoint", "");
    CHECK_EQ_INT(dc_delta_snapshot_load(&snap, s, -1, &err), DC_ENOTFOUND);  /* no commit */
    commit(s, 0, PROTO ADD("f1", ""));
    CHECK_EQ_INT(dc_delta_snapshot_load(&snap, s, -1, &err), DC_ECORRUPT);   /* no metaData */
    CHECK(strstr(err.msg, "metaData") != NULL);
    commit(s, 0, PROTO META "{\"add\":{\"path\":\"f\",\"size\":1}}\n");
    CHECK_EQ_INT(dc_delta_snapshot_load(&snap, s, -1, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "00000000000000000000.json:3") != NULL);          /* file and line */
    /* the protocol is what is reported when the table is one we can not read */
    commit(s, 0, "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
                 "\"readerFeatures\":[\"catalogManaged\"],\"writerFeatures\":[]}}\n" META);
    CHECK_EQ_INT(dc_delta_snapshot_load(&snap, s, -1, &err), DC_EUNSUPPORTED);
    CHECK(strstr(err.msg, "catalogManaged") != NULL);
    CHECK(snap == NULL);
    dc_storage_free(s);
    dc_test_rm_rf(dir);
    free(dir);
}

/* Every allocation failure is an error, never a crash or a leak (ASan). */
TEST(delta_snapshot_alloc_failures)
{
    dc_err err;
    char *dir = dc_test_tmpdir("dc_snap");
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    write_history(s);
    for (long n = 1; n < 2000; n++) {
        dc_delta_snapshot *snap = NULL;
        dc_alloc_fail_after(n);
        int rc = dc_delta_snapshot_load(&snap, s, -1, &err);
        dc_alloc_fail_after(0);
        dc_delta_snapshot_free(snap);
        if (rc == 0) break;
        if (rc != DC_ENOMEM && rc != DC_ELIMIT)
            dc_test_fail(__FILE__, __LINE__, "failing allocation %ld gave %d: %s", n, rc, err.msg);
    }
    dc_storage_free(s);
    dc_test_rm_rf(dir);
    free(dir);
}
