/* Unit tests of the worker pool (dc_pool.h): every thread runs each job
 * once, the caller as thread 0, and what workers wrote is seen after the
 * run; bad sizes are refused. Run under TSan by `make unit-tsan`. */
#include "../test.h"

#include <stdatomic.h>

#include "../../src/common/dc_pool.h"

typedef struct count_job {
    atomic_int calls;           /* calls of the job, all threads */
    int per_thread[8];          /* calls per thread index (each thread its own slot) */
    int round;                  /* the run's number, read by every thread */
} count_job;

static void count(void *ctx, unsigned thread)
{
    count_job *j = ctx;
    atomic_fetch_add(&j->calls, 1);
    j->per_thread[thread] += j->round; /* plain writes: the run's end publishes them */
}

TEST(pool_thread_runs_every_thread_once_per_job)
{
    dc_err err;
    for (unsigned n = 1; n <= 4; n++) {
        dc_pool *p = NULL;
        CHECK_OK(dc_pool_new(&p, n, &err), &err);
        CHECK_EQ_INT(dc_pool_threads(p), n);
        count_job j;
        memset(&j, 0, sizeof j);
        atomic_init(&j.calls, 0);
        for (int r = 1; r <= 50; r++) {
            j.round = r;
            dc_pool_run(p, count, &j);
        }
        CHECK_EQ_INT(atomic_load(&j.calls), 50 * (int)n);
        for (unsigned t = 0; t < 8; t++) CHECK_EQ_INT(j.per_thread[t], t < n ? 50 * 51 / 2 : 0);
        dc_pool_free(p);
    }
    dc_pool_free(NULL);
    dc_pool_run(NULL, count, &(count_job){.round = 0}); /* no pool: inline */
}

TEST(pool_thread_refuses_bad_sizes)
{
    dc_err err;
    dc_pool *p = NULL;
    CHECK_EQ_INT(dc_pool_new(&p, 0, &err), DC_EINVAL);
    CHECK(p == NULL);
    CHECK_EQ_INT(dc_pool_new(&p, DC_POOL_MAX_THREADS + 1, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "threads") != NULL);
    CHECK(dc_pool_cores() >= 1);
}
