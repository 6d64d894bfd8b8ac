/* ingest: a batch merged and committed on a thread of its own (issue 13,
 * "both cores"), while the loop fills the next one.
 *
 * With the file read and decoded ahead (ingest_ahead.c) the loop's thread
 * still added every event to the merge batch (key, map, copies) and ran the
 * merge and the commit (index look-ups, Parquet, the log): more than half
 * of its time. A deferred slot (a raw table of a file source on two threads
 * or more: ingest.c) keeps only the copies of its events it kept anyway
 * for a replay (ing_hand) and refuses there what the merge would refuse of
 * an event (dc_merge_event_check), so errors and dead letters come in the
 * record's turn as on one thread. When its batch closes, the hand moves
 * here with the table: this thread builds the merge batch from the kept
 * events and commits it once, while the loop fills a fresh hand.
 *
 * One batch at a time: the next close waits for this one's outcome before
 * anything else is committed (ing_commit_settle), so commits, their txn
 * positions and the dead-letter table's commits keep the order of one
 * thread, and a failed commit stops the table (or the run) before anything
 * after it is committed: its batch in hand is dropped as on one thread.
 * What follows a commit is the loop's, when it settles: a conflict's replay
 * (ing_slot_committed), the log line, metrics, counts, the source told,
 * maintenance (ing_slot_after_commit).
 *
 * Shared: while a job is posted and not done, its hand and its table are
 * this thread's alone; the loop reads neither (it checks events against
 * the slot's key shape, copied before the hand-off, ingest_batch.c; the
 * maintenance thread's handoffs skip the slot, ingest_bg.c). The job's
 * fields are the loop's otherwise; `mu` orders the two. */
#include "ingest_int.h"

#include <pthread.h>
#include <time.h>

struct ing_commit {
    pthread_t th;
    bool started;               /* th runs (joined by ing_commit_free) */
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* a job posted, a job done, or stop */
    bool stop;                  /* under mu: the thread leaves */
    bool posted;                /* under mu: the job is the thread's until done */
    bool done;                  /* under mu: its outcome is below */
    /* the job: written by the loop before posting, by the thread before done */
    ing_slot *slot;             /* whose batch, NULL: none (the loop's field only; the
                                   thread never reads the slot) */
    dc_merge_table *table;      /* the slot's table: the thread's while posted */
    ing_hand h;                 /* the batch's positions and kept events, moved out of
                                   the slot */
    int rc;                     /* the commit's result */
    dc_err err;                 /* its error */
    dc_merge_result res;        /* its counts */
    /* the loop's */
    ing_hand spare;             /* an empty hand for the slot's next batch (the memory of
                                   the last one committed) */
    double wait_s;              /* wall seconds the loop waited for commits */
    double wait_cpu;            /* the thread's CPU seconds meanwhile */
    double cpu_end;             /* the thread's CPU seconds when it left (under mu) */
    bool ended;                 /* it left (under mu) */
};

static double thread_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *commit_main(void *arg)
{
    ing_commit *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->stop && !(c->posted && !c->done)) pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop) break;
        pthread_mutex_unlock(&c->mu);
        dc_err err;
        dc_err_clear(&err);
        dc_merge_result res;
        const int rc = ing_hand_commit(&res, c->table, &c->h, &err);
        pthread_mutex_lock(&c->mu);
        c->rc = rc;
        c->err = err;
        c->res = res;
        c->done = true;
        pthread_cond_broadcast(&c->cv);
    }
    c->cpu_end = thread_cpu_now(); /* its clock is gone once it has returned */
    c->ended = true;
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int ing_commit_new(ing_commit **out, dc_err *err)
{
    *out = NULL;
    ing_commit *c = dc_calloc(1, sizeof *c);
    if (!c) return dc_err_set(err, DC_ENOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    ing_hand_init(&c->h);
    ing_hand_init(&c->spare);
    const int e = pthread_create(&c->th, NULL, commit_main, c);
    if (e != 0) {
        ing_commit_free(c);
        return dc_err_set(err, DC_EIO, "starting the committer thread: %s", strerror(e));
    }
    c->started = true;
    *out = c;
    return 0;
}

void ing_commit_free(ing_commit *c)
{
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    c->stop = true; /* a job still posted (never settled: the run failed) is left */
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->started) pthread_join(c->th, NULL);
    ing_hand_dispose(&c->h);
    ing_hand_dispose(&c->spare);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    dc_free(c);
}

bool ing_commit_busy(const ing_state *st, const ing_slot *s)
{
    return st->commit && st->commit->slot && (!s || st->commit->slot == s);
}

int ing_commit_hand(ing_state *st, ing_slot *s, dc_err *err)
{
    ing_commit *c = st->commit;
    DC_ASSERT(c && !c->slot && s->deferred && s->table && !s->batch && !s->h.keep_lost);
    /* schema files before the commit whose rows use them */
    DC_TRY(dc_merge_schemas_flush(s->schemas, s->path, err));
    /* the next batch's events are checked against the table as it is now
     * (the thread may reload it: its key types are read here, not there) */
    dc_merge_table_keyshape(&s->shape, s->table, (const char *const *)s->keys.names);
    s->shape_set = true;
    c->h = s->h;
    s->h = c->spare;
    memset(&c->spare, 0, sizeof c->spare);
    c->slot = s;
    c->table = s->table;
    pthread_mutex_lock(&c->mu);
    c->posted = true;
    c->done = false;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* Waits for the job's outcome (block false: only when it is there). */
static bool job_done(ing_commit *c, bool block)
{
    pthread_mutex_lock(&c->mu);
    bool done = c->done;
    if (!done && block) {
        clockid_t cid;
        struct timespec a, b, w0, w1;
        const bool clock = pthread_getcpuclockid(c->th, &cid) == 0 && clock_gettime(cid, &a) == 0;
        clock_gettime(CLOCK_MONOTONIC, &w0);
        while (!c->done) pthread_cond_wait(&c->cv, &c->mu);
        clock_gettime(CLOCK_MONOTONIC, &w1);
        if (clock && clock_gettime(cid, &b) == 0)
            c->wait_cpu += (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        c->wait_s += (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
        done = true;
    }
    if (done) c->posted = false;
    pthread_mutex_unlock(&c->mu);
    return done;
}

/* The finished job through the loop's part of a commit, with the slot's
 * hand of the committed batch in place for it (ing_slot_committed reads
 * the slot), then the slot's next hand back. */
static int settle(ing_state *st, dc_err *err)
{
    ing_commit *c = st->commit;
    ing_slot *s = c->slot;
    ing_hand next = s->h;
    s->h = c->h;
    memset(&c->h, 0, sizeof c->h);
    dc_merge_result res = c->res;
    int rc = c->rc;
    if (rc < 0) *err = c->err;
    const uint64_t commits = st->stats.commits;
    rc = ing_slot_committed(st, s, rc, &res, err);
    c->spare = s->h; /* reset: its arena's memory back, its arrays kept */
    ing_hand_reset(&c->spare);
    s->h = next;
    c->slot = NULL;
    return ing_slot_after_commit(st, s, rc, commits, err);
}

int ing_commit_settle(ing_state *st, dc_err *err)
{
    if (!ing_commit_busy(st, NULL)) return 0;
    job_done(st->commit, true);
    return settle(st, err);
}

int ing_commit_poll(ing_state *st, dc_err *err)
{
    if (!ing_commit_busy(st, NULL) || !job_done(st->commit, false)) return 0;
    return settle(st, err);
}

void ing_commit_cpu(ing_commit *c, double *thread_s, double *wait_s, double *wait_cpu)
{
    *thread_s = *wait_s = *wait_cpu = 0;
    if (!c) return;
    ing_commit *m = c;
    pthread_mutex_lock(&m->mu);
    clockid_t cid;
    struct timespec ts;
    *thread_s = m->cpu_end;
    if (m->started && !m->ended && pthread_getcpuclockid(m->th, &cid) == 0 &&
        clock_gettime(cid, &ts) == 0)
        *thread_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    pthread_mutex_unlock(&m->mu);
    *wait_s = c->wait_s;
    *wait_cpu = c->wait_cpu;
}
