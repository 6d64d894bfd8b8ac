/*
 * common/pool: a small fixed pool of worker threads (issue 13, "both
 * cores"). The caller hands every thread the same job at once and waits
 * for all of them: the callers split the work themselves (an atomic
 * counter over chunks), so the pool holds no queue and allocates nothing
 * per job. The calling thread takes part as thread 0, so a pool of N
 * threads starts N - 1 workers; a pool of one runs the job inline.
 *
 * Not reentrant: one job at a time, from one owning thread.
 */
#ifndef DC_POOL_H
#define DC_POOL_H

#include "dc_common.h"
#include "dc_limits.h" /* DC_POOL_MAX_THREADS */

typedef struct dc_pool dc_pool;

/* A job: run once by each of the pool's threads, `thread` in [0, n). */
typedef void (*dc_pool_fn)(void *ctx, unsigned thread);

/* A pool of n_threads (>= 1, the caller included; at most DC_POOL_MAX_THREADS). */
int dc_pool_new(dc_pool **out, unsigned n_threads, dc_err *err);
/* Stops and joins the workers. NULL is a no-op. */
void dc_pool_free(dc_pool *p);
unsigned dc_pool_threads(const dc_pool *p);
/* Runs fn(ctx, i) on every thread i (the caller is 0) and returns when all
 * have returned: whatever the workers wrote is visible to the caller. */
void dc_pool_run(dc_pool *p, dc_pool_fn fn, void *ctx);
/* CPU seconds the workers (not the caller) have run so far; a busy pipeline
 * logs it beside the caller's own (CLOCK_THREAD_CPUTIME_ID). */
double dc_pool_workers_cpu(const dc_pool *p);
/* Cores this process may run on (its CPU affinity; 1 when unknown), for a
 * "number of cores" default. */
unsigned dc_pool_cores(void);

#endif /* DC_POOL_H */
