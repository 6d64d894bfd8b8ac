/* storage: the local backend (atomic writes, put-if-absent, listing, writer). */
#include "../test.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/storage/storage.h"


TEST(storage_local_write_read_list)
{
    dc_err err;
    dc_err_clear(&err);
    char *dir = dc_test_tmpdir("dc_storage");
    CHECK(dir != NULL);
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    CHECK_OK(dc_storage_write(s, "_delta_log/b.json", "bbb", 3, &err), &err);
    CHECK_OK(dc_storage_write(s, "_delta_log/a.json", "a", 1, &err), &err);
    CHECK_OK(dc_storage_write(s, "_delta_log/a.json", "aa", 2, &err), &err); /* replace */
    CHECK_OK(dc_storage_write(s, "_delta_log/c.json", "", 0, &err), &err);

    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    CHECK_OK(dc_storage_read(s, "_delta_log/a.json", &b, &err), &err);
    CHECK_EQ_INT(b.len, 2);
    CHECK(memcmp(b.data, "aa", 2) == 0);
    uint8_t two[2];
    CHECK_OK(dc_storage_read_range(s, "_delta_log/b.json", 1, 2, two, &err), &err);
    CHECK(memcmp(two, "bb", 2) == 0);
    CHECK_EQ_INT(dc_storage_read_range(s, "_delta_log/b.json", 2, 2, two, &err), DC_ECORRUPT);
    CHECK_EQ_INT(dc_storage_read(s, "_delta_log/zz.json", &b, &err), DC_ENOTFOUND);
    /* bounded: a 3-byte object does not fit a buffer with 2 bytes of room */
    dc_buf small;
    dc_buf_init(&small, 2);
    CHECK_EQ_INT(dc_storage_read(s, "_delta_log/b.json", &small, &err), DC_ELIMIT);
    dc_buf_dispose(&small);
    uint64_t sz = 0;
    CHECK_OK(dc_storage_size(s, "_delta_log/b.json", &sz, &err), &err);
    CHECK_EQ_INT(sz, 3);

    dc_storage_list l;
    dc_storage_list_init(&l);
    CHECK_OK(dc_storage_list_dir(s, "_delta_log", NULL, &l, &err), &err);
    CHECK_EQ_INT(l.n, 3); /* no temporary files left behind */
    if (l.n == 3) {
        CHECK_EQ_STR(l.entries[0].name, "a.json");
        CHECK_EQ_STR(l.entries[1].name, "b.json");
        CHECK_EQ_STR(l.entries[2].name, "c.json");
        CHECK_EQ_INT(l.entries[1].size, 3);
        CHECK(l.entries[1].mtime_ms > 1600000000000LL);
    }
    dc_storage_list_dispose(&l);
    dc_storage_list_init(&l);
    CHECK_OK(dc_storage_list_dir(s, "_delta_log", "a.json", &l, &err), &err);
    CHECK_EQ_INT(l.n, 2);
    if (l.n) CHECK_EQ_STR(l.entries[0].name, "b.json");
    dc_storage_list_dispose(&l);
    dc_storage_list_init(&l);
    CHECK_EQ_INT(dc_storage_list_dir(s, "nope", NULL, &l, &err), DC_ENOTFOUND);
    dc_storage_list_dispose(&l);

    CHECK_OK(dc_storage_remove(s, "_delta_log/c.json", &err), &err);
    CHECK_EQ_INT(dc_storage_remove(s, "_delta_log/c.json", &err), DC_ENOTFOUND);
    dc_buf_dispose(&b);
    dc_storage_free(s);
    dc_test_rm_rf(dir);
    free(dir);
}

TEST(storage_local_put_if_absent)
{
    dc_err err;
    dc_err_clear(&err);
    char *dir = dc_test_tmpdir("dc_storage");
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    CHECK_OK(dc_storage_put_if_absent(s, "x/1.json", "one", 3, &err), &err);
    CHECK_EQ_INT(dc_storage_put_if_absent(s, "x/1.json", "two", 3, &err), DC_EEXISTS);
    dc_buf b;
    dc_buf_init(&b, 100);
    CHECK_OK(dc_storage_read(s, "x/1.json", &b, &err), &err);
    CHECK(b.len == 3 && memcmp(b.data, "one", 3) == 0); /* the loser changed nothing */
    dc_buf_dispose(&b);
    dc_storage_list l;
    dc_storage_list_init(&l);
    CHECK_OK(dc_storage_list_dir(s, "x", NULL, &l, &err), &err);
    CHECK_EQ_INT(l.n, 1); /* the loser's temp file is gone */
    dc_storage_list_dispose(&l);
    dc_storage_free(s);
    dc_test_rm_rf(dir);
    free(dir);
}

/* Eight processes race for the same 20 names: each name is won exactly once. */
TEST(storage_local_put_if_absent_race)
{
    dc_err err;
    dc_err_clear(&err);
    char *dir = dc_test_tmpdir("dc_storage");
    enum { PROCS = 8, NAMES = 20 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            dc_storage *cs = NULL;
            dc_err e;
            int wins = 0;
            if (dc_storage_open(&cs, dir, &e) != 0) _exit(100);
            for (int i = 0; i < NAMES; i++) {
                char name[64], body[32];
                snprintf(name, sizeof name, "_delta_log/%020d.json", i);
                int n = snprintf(body, sizeof body, "%d\n", p);
                int rc = dc_storage_put_if_absent(cs, name, body, (size_t)n, &e);
                if (rc == 0) wins++;
                else if (rc != DC_EEXISTS) _exit(101);
            }
            dc_storage_free(cs);
            _exit(wins);
        }
    }
    int total = 0;
    for (int p = 0; p < PROCS; p++) {
        int st = 0;
        waitpid(pids[p], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) <= NAMES);
        total += WEXITSTATUS(st);
    }
    CHECK_EQ_INT(total, NAMES);
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    dc_storage_list l;
    dc_storage_list_init(&l);
    CHECK_OK(dc_storage_list_dir(s, "_delta_log", NULL, &l, &err), &err);
    CHECK_EQ_INT(l.n, NAMES);
    dc_storage_list_dispose(&l);
    dc_storage_free(s);
    dc_test_rm_rf(dir);
    free(dir);
}

TEST(storage_local_writer)
{
    dc_err err;
    dc_err_clear(&err);
    char *dir = dc_test_tmpdir("dc_storage");
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    dc_storage_writer *w = NULL;
    CHECK_OK(dc_storage_writer_open(&w, s, "p=1/data.parquet", &err), &err);
    static uint8_t big[300000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
    CHECK_OK(dc_storage_writer_write(w, "PAR1", 4, &err), &err);
    CHECK_OK(dc_storage_writer_write(w, big, sizeof big, &err), &err);
    CHECK_EQ_INT(dc_storage_writer_bytes(w), 4 + sizeof big);
    uint64_t sz = 0;
    CHECK_EQ_INT(dc_storage_size(s, "p=1/data.parquet", &sz, &err), DC_ENOTFOUND);
    CHECK_OK(dc_storage_writer_commit(w, true, &err), &err);
    CHECK_OK(dc_storage_size(s, "p=1/data.parquet", &sz, &err), &err);
    CHECK_EQ_INT(sz, 4 + sizeof big);
    uint8_t got[8];
    CHECK_OK(dc_storage_read_range(s, "p=1/data.parquet", 100, 8, got, &err), &err);
    CHECK(memcmp(got, big + 96, 8) == 0);

    /* if_absent on an existing path loses and leaves no temp file */
    CHECK_OK(dc_storage_writer_open(&w, s, "p=1/data.parquet", &err), &err);
    CHECK_OK(dc_storage_writer_write(w, "x", 1, &err), &err);
    CHECK_EQ_INT(dc_storage_writer_commit(w, true, &err), DC_EEXISTS);
    /* abort leaves nothing */
    CHECK_OK(dc_storage_writer_open(&w, s, "p=1/other.parquet", &err), &err);
    CHECK_OK(dc_storage_writer_write(w, "x", 1, &err), &err);
    dc_storage_writer_abort(w);
    dc_storage_writer_abort(NULL);
    dc_storage_list l;
    dc_storage_list_init(&l);
    CHECK_OK(dc_storage_list_dir(s, "p=1", NULL, &l, &err), &err);
    CHECK_EQ_INT(l.n, 1);
    dc_storage_list_dispose(&l);
    dc_storage_free(s);
    dc_test_rm_rf(dir);
    free(dir);
}

TEST(storage_open_uris)
{
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    CHECK_EQ_INT(dc_storage_open(&s, "gs://bucket/table", &err), DC_EUNSUPPORTED);
    CHECK(strstr(err.msg, "gs") != NULL);
    CHECK_EQ_INT(dc_storage_open(&s, "", &err), DC_EINVAL);
    CHECK_OK(dc_storage_open(&s, "file:///tmp/x/", &err), &err);
    CHECK_EQ_STR(s->root, "/tmp/x");
    dc_buf b;
    dc_buf_init(&b, 1000);
    CHECK_OK(dc_storage_local_path(s, "a/b", &b, &err), &err);
    CHECK(b.len == 10 && memcmp(b.data, "/tmp/x/a/b", 10) == 0);
    dc_buf_dispose(&b);
    dc_storage_free(s);
    dc_storage_free(NULL);
}

/* Directories synced, in order (dc_storage_local_test_on_dir_sync). */
static char synced[16][256];
static int n_synced;

static void note_sync(const char *dir)
{
    if (n_synced < 16) snprintf(synced[n_synced++], sizeof synced[0], "%s", dir);
}

static bool was_synced(const char *dir)
{
    for (int i = 0; i < n_synced; i++)
        if (strcmp(synced[i], dir) == 0) return true;
    return false;
}

/* A directory the backend creates is synced into its parent before use:
 * the file's own directory fsync does not make the directory's name durable
 * (before, a crash could lose _delta_log/ or a partition directory with the
 * synced commit in it). */
TEST(storage_local_new_directories_synced_into_parents)
{
    char *root = dc_test_tmpdir("dc_dirsync");
    char sub[256], a[300], ab[300];
    snprintf(sub, sizeof sub, "%s/t", root);
    snprintf(a, sizeof a, "%s/a", sub);
    snprintf(ab, sizeof ab, "%s/a/b", sub);
    dc_err err;
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_local_open(&s, sub, &err), &err);
    n_synced = 0;
    dc_storage_local_test_on_dir_sync = note_sync;
    CHECK_OK(dc_storage_put_if_absent(s, "a/b/c.json", "x", 1, &err), &err);
    dc_storage_local_test_on_dir_sync = NULL;
    CHECK(was_synced(root)); /* t/ made: synced into the tmpdir */
    CHECK(was_synced(sub));  /* a/ into t/ */
    CHECK(was_synced(a));    /* b/ into a/ */
    CHECK(was_synced(ab));   /* the file into b/ */
    /* existing directories are not synced again */
    n_synced = 0;
    dc_storage_local_test_on_dir_sync = note_sync;
    CHECK_OK(dc_storage_write(s, "a/b/d.json", "x", 1, &err), &err);
    dc_storage_local_test_on_dir_sync = NULL;
    CHECK_EQ_INT(n_synced, 1);
    CHECK(was_synced(ab));
    dc_storage_free(s);
    dc_test_rm_rf(root);
    free(root);
}

/* A streaming writer's name gets its directory fsync before the next put of
 * the process publishes (a commit naming the file), not at once: a commit's
 * data file and deletion vectors, in one directory, share one fsync. */
TEST(storage_local_writer_dir_sync_deferred_to_next_put)
{
    char *root = dc_test_tmpdir("dc_dirdefer");
    char logdir[300];
    snprintf(logdir, sizeof logdir, "%s/_delta_log", root);
    dc_err err;
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_local_open(&s, root, &err), &err);
    CHECK_OK(dc_storage_put_if_absent(s, "_delta_log/0.json", "x", 1, &err), &err);
    n_synced = 0;
    dc_storage_local_test_on_dir_sync = note_sync;
    for (int i = 0; i < 2; i++) {
        dc_storage_writer *w = NULL;
        CHECK_OK(dc_storage_writer_open(&w, s, i ? "b.parquet" : "a.parquet", &err), &err);
        CHECK_OK(dc_storage_writer_write(w, "PAR1", 4, &err), &err);
        CHECK_OK(dc_storage_writer_commit(w, true, &err), &err);
    }
    CHECK_EQ_INT(n_synced, 0); /* both names visible, their directory not yet synced */
    uint64_t sz = 0;
    CHECK_OK(dc_storage_size(s, "a.parquet", &sz, &err), &err);
    CHECK_OK(dc_storage_size(s, "b.parquet", &sz, &err), &err);
    CHECK_OK(dc_storage_put_if_absent(s, "_delta_log/1.json", "y", 1, &err), &err);
    dc_storage_local_test_on_dir_sync = NULL;
    CHECK_EQ_INT(n_synced, 2); /* the root once (before), then _delta_log */
    CHECK(n_synced == 2 && strcmp(synced[0], root) == 0 && strcmp(synced[1], logdir) == 0);
    /* a name left noted is synced when the storage closes */
    dc_storage_writer *w = NULL;
    CHECK_OK(dc_storage_writer_open(&w, s, "c.parquet", &err), &err);
    CHECK_OK(dc_storage_writer_commit(w, false, &err), &err);
    n_synced = 0;
    dc_storage_local_test_on_dir_sync = note_sync;
    dc_storage_free(s);
    dc_storage_local_test_on_dir_sync = NULL;
    CHECK_EQ_INT(n_synced, 1);
    CHECK(was_synced(root));
    dc_test_rm_rf(root);
    free(root);
}
