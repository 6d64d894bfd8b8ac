/* storage: the fault-injecting backend (storage_fault.c): each kind of fault
 * does what it says to the store (before: nothing done; after: done, then
 * DC_EUNKNOWN; lost: not done, DC_EUNKNOWN; hang: either), the Nth-call and
 * probability triggers replay the same way for the same seed, bad schedules
 * are refused naming the item, and DC_STORAGE_FAULTS is honoured only behind
 * "test-only,". */
#include "../test.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "../../src/storage/storage.h"

typedef struct ffx {
    char *dir;       /* a fresh root */
    dc_storage *s;   /* the fault backend over it */
    dc_err err;
} ffx;

static void ffx_open(ffx *f, const char *spec)
{
    memset(f, 0, sizeof *f);
    f->dir = dc_test_tmpdir("dc_fault");
    dc_storage *inner = NULL;
    CHECK_OK(dc_storage_local_open(&inner, f->dir, &f->err), &f->err);
    CHECK_OK(dc_storage_fault_open(&f->s, inner, spec, &f->err), &f->err);
}

static void ffx_close(ffx *f)
{
    dc_storage_free(f->s);
    dc_test_rm_rf(f->dir);
    free(f->dir);
}

static bool present(const ffx *f, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", f->dir, rel);
    struct stat st;
    return stat(p, &st) == 0;
}

TEST(storage_fault_before_after_lost)
{
    ffx f;
    ffx_open(&f, "put_if_absent@_delta_log/:after:#1,put_if_absent:lost:#3,write:before:#1");
    /* after: done, and the caller is told the outcome is unknown */
    CHECK_EQ_INT(dc_storage_put_if_absent(f.s, "_delta_log/a", "x", 1, &f.err), DC_EUNKNOWN);
    CHECK(strstr(f.err.msg, "_delta_log/a") != NULL);
    CHECK(present(&f, "_delta_log/a"));
    /* the prefix: a data file does not count towards the commit rule */
    CHECK_OK(dc_storage_put_if_absent(f.s, "part-1.parquet", "x", 1, &f.err), &f.err);
    /* lost: not done, unknown all the same (the 3rd put_if_absent) */
    CHECK_EQ_INT(dc_storage_put_if_absent(f.s, "_delta_log/b", "x", 1, &f.err), DC_EUNKNOWN);
    CHECK(!present(&f, "_delta_log/b"));
    /* before: not done, an ordinary retriable failure */
    CHECK_EQ_INT(dc_storage_write(f.s, "w", "x", 1, &f.err), DC_EIO);
    CHECK(f.err.retriable);
    CHECK(!present(&f, "w"));
    /* the Nth call only: the next ones go through */
    CHECK_OK(dc_storage_write(f.s, "w", "x", 1, &f.err), &f.err);
    CHECK_OK(dc_storage_put_if_absent(f.s, "_delta_log/c", "x", 1, &f.err), &f.err);
    CHECK_EQ_INT(dc_storage_fault_injected(f.s), 3);
    ffx_close(&f);
}

TEST(storage_fault_read_after_appends_nothing)
{
    ffx f;
    ffx_open(&f, "read:after:1");
    CHECK_OK(dc_storage_write(f.s, "r", "hello", 5, &f.err), &f.err);
    dc_buf b;
    dc_buf_init(&b, 1024);
    CHECK_EQ_INT(dc_storage_read(f.s, "r", &b, &f.err), DC_EIO);
    CHECK_EQ_INT(b.len, 0);
    dc_buf_dispose(&b);
    ffx_close(&f);
}

TEST(storage_fault_writer_commit_after_is_in_place)
{
    ffx f;
    ffx_open(&f, "writer_commit:after:#1,writer_commit:before:#2");
    dc_storage_writer *w = NULL;
    CHECK_OK(dc_storage_writer_open(&w, f.s, "d/one", &f.err), &f.err);
    CHECK_OK(dc_storage_writer_write(w, "abc", 3, &f.err), &f.err);
    CHECK_EQ_INT(dc_storage_writer_commit(w, true, &f.err), DC_EUNKNOWN);
    CHECK(present(&f, "d/one"));
    CHECK_OK(dc_storage_writer_open(&w, f.s, "d/two", &f.err), &f.err);
    CHECK_OK(dc_storage_writer_write(w, "abc", 3, &f.err), &f.err);
    CHECK_EQ_INT(dc_storage_writer_commit(w, true, &f.err), DC_EIO);
    CHECK(!present(&f, "d/two"));
    ffx_close(&f);
}

/* Which of 40 calls fail, as a bit mask, under "write:before:0.5,seed=N". */
static uint64_t pattern(unsigned seed)
{
    char spec[64];
    snprintf(spec, sizeof spec, "write:before:0.5,seed=%u", seed);
    ffx f;
    ffx_open(&f, spec);
    uint64_t m = 0;
    for (int i = 0; i < 40; i++)
        if (dc_storage_write(f.s, "p", "x", 1, &f.err) < 0) m |= 1ull << i;
    ffx_close(&f);
    return m;
}

TEST(storage_fault_probability_replays_by_seed)
{
    const uint64_t a = pattern(7), b = pattern(7), c = pattern(8);
    CHECK(a == b);
    CHECK(a != c);
    const int n = __builtin_popcountll(a);
    CHECK(n > 8 && n < 32); /* about half of 40 */
}

TEST(storage_fault_hang_does_either)
{
    int done = 0, not_done = 0;
    for (unsigned seed = 1; seed <= 16; seed++) {
        char spec[64];
        snprintf(spec, sizeof spec, "put_if_absent:hang:1,hang_ms=1,seed=%u", seed);
        ffx f;
        ffx_open(&f, spec);
        CHECK_EQ_INT(dc_storage_put_if_absent(f.s, "h", "x", 1, &f.err), DC_EUNKNOWN);
        if (present(&f, "h")) done++;
        else not_done++;
        ffx_close(&f);
    }
    CHECK(done > 0 && not_done > 0);
}

TEST(storage_fault_bad_schedules_name_the_item)
{
    static const char *const bad[] = {"put:after:1", "write:sometimes:1", "write:after:1.5",
                                      "write:after:#0", "write:after", "seed=x", "hang_ms=-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        dc_err err;
        dc_storage *inner = NULL, *s = NULL;
        CHECK_OK(dc_storage_local_open(&inner, "/tmp", &err), &err);
        CHECK_EQ_INT(dc_storage_fault_open(&s, inner, bad[i], &err), DC_EINVAL);
        CHECK(s == NULL);
        CHECK(strstr(err.msg, bad[i]) != NULL);
    }
}

TEST(storage_fault_env_only_behind_test_only)
{
    dc_err err;
    dc_storage *s = NULL;
    setenv(DC_STORAGE_FAULTS_ENV, "write:before:1", 1);
    CHECK_EQ_INT(dc_storage_open(&s, "/tmp", &err), DC_EINVAL);
    CHECK(s == NULL);
    CHECK(strstr(err.msg, "test-only") != NULL);
    setenv(DC_STORAGE_FAULTS_ENV, "test-only,write:before:1", 1);
    CHECK_OK(dc_storage_open(&s, "/tmp", &err), &err);
    CHECK_EQ_INT(dc_storage_write(s, "dc_fault_never_written", "x", 1, &err), DC_EIO);
    CHECK_EQ_INT(dc_storage_fault_injected(s), 1);
    dc_storage_free(s);
    unsetenv(DC_STORAGE_FAULTS_ENV);
    CHECK_OK(dc_storage_open(&s, "/tmp", &err), &err);
    CHECK_EQ_INT(dc_storage_fault_injected(s), 0); /* a plain local root */
    dc_storage_free(s);
}
