/* The worker pool (dc_pool.h): workers sleep on a condition variable until
 * the generation moves, run the job, and count themselves done. One mutex
 * guards the job and both counters; the job itself runs unlocked. */
#include "dc_pool.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "dc_limits.h"

typedef struct pool_worker {
    dc_pool *pool;              /* back pointer */
    unsigned index;             /* 1..n_threads-1 (the caller is 0) */
    pthread_t tid;
} pool_worker;

struct dc_pool {
    unsigned n_threads;         /* the caller included */
    pool_worker *workers;       /* n_threads - 1, started */
    unsigned n_started;         /* workers actually running (joined by _free) */
    pthread_mutex_t mu;         /* guards everything below */
    pthread_cond_t go;          /* generation moved (a job, or stop) */
    pthread_cond_t done;        /* a worker finished the job */
    uint64_t generation;        /* bumped per job */
    unsigned running;           /* workers still in the current job */
    bool stop;                  /* _free: workers leave */
    dc_pool_fn fn;              /* the current job */
    void *ctx;
};

static void *worker_main(void *arg)
{
    pool_worker *w = arg;
    dc_pool *p = w->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->go, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        const dc_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->mu);
        fn(ctx, w->index);
        pthread_mutex_lock(&p->mu);
        if (--p->running == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int dc_pool_new(dc_pool **out, unsigned n_threads, dc_err *err)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > DC_POOL_MAX_THREADS)
        return dc_err_set(err, DC_EINVAL, "threads: %u is not between 1 and %d", n_threads,
                          DC_POOL_MAX_THREADS);
    dc_pool *p = dc_calloc(1, sizeof *p);
    if (!p) return dc_err_set(err, DC_ENOMEM, "thread pool: out of memory");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    int rc = 0;
    if (n_threads > 1 && !(p->workers = dc_calloc(n_threads - 1, sizeof *p->workers)))
        rc = dc_err_set(err, DC_ENOMEM, "thread pool: out of memory");
    for (unsigned i = 0; rc == 0 && i + 1 < n_threads; i++) {
        p->workers[i] = (pool_worker){p, i + 1, 0};
        int e = pthread_create(&p->workers[i].tid, NULL, worker_main, &p->workers[i]);
        if (e != 0) rc = dc_err_set(err, DC_EIO, "thread pool: starting thread %u of %u: %s",
                                    i + 2, n_threads, strerror(e));
        else p->n_started++;
    }
    if (rc < 0) {
        dc_pool_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void dc_pool_free(dc_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_started; i++) pthread_join(p->workers[i].tid, NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    dc_free(p->workers);
    dc_free(p);
}

unsigned dc_pool_threads(const dc_pool *p) { return p ? p->n_threads : 1; }

void dc_pool_run(dc_pool *p, dc_pool_fn fn, void *ctx)
{
    if (!p || p->n_threads == 1) {
        fn(ctx, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    DC_ASSERT(p->running == 0); /* one job at a time */
    p->fn = fn;
    p->ctx = ctx;
    p->running = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0);
    pthread_mutex_lock(&p->mu);
    while (p->running) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

unsigned dc_pool_cores(void)
{
    /* the cores this process may run on (taskset, a container's cpuset), else
     * the machine's */
    cpu_set_t set;
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                         : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) return 1;
    return n > DC_POOL_MAX_THREADS ? DC_POOL_MAX_THREADS : (unsigned)n;
}

double dc_pool_workers_cpu(const dc_pool *p)
{
    double sum = 0;
    for (unsigned i = 0; p && i < p->n_started; i++) {
        clockid_t cid;
        struct timespec ts;
        if (pthread_getcpuclockid(p->workers[i].tid, &cid) == 0 && clock_gettime(cid, &ts) == 0)
            sum += (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    }
    return sum;
}
