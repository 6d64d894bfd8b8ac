/* ingest: decoding a poll's records on every thread of the pool (issue 13,
 * "both cores"). Records are independent until they reach their table's
 * batch, where the order decides the winner per key; so the records are cut
 * into chunks that any thread decodes, and the calling thread hands the
 * decoded events to ing_handle strictly in the poll's order, a chunk at a
 * time as soon as it is decoded, decoding chunks itself while it waits.
 *
 * A decode ahead uses the keys of the record's table, known before the
 * poll (keys never change once known); a record whose table is not routed
 * or has no keys yet, and any record whose decode failed, is decoded again
 * by ing_handle on the calling thread in its turn, so errors, dead letters
 * and table creation happen in order exactly as with one thread. */
#include "ingest_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "../common/dc_pool.h"

/* Records per chunk: small enough for the calling thread to start adding
 * soon after a poll, large enough that the hand-over costs nothing. */
#define PAR_CHUNK 64
/* Below this many records a poll is decoded inline (a trickle of records
 * under low load gains nothing from waking the workers). */
#define PAR_MIN_RECORDS (2 * PAR_CHUNK)

/* One thread's decoder: the keys arena its escaped keys go to, reset per
 * poll (the events live as long as the poll). */
typedef struct par_thread {
    ing_decoder d;              /* d.keys points at `keys` */
    dc_arena keys;
} par_thread;

struct ing_par {
    dc_pool *pool;              /* owned */
    par_thread *th;             /* one per pool thread (owned) */
    ing_pre *pre;               /* one per record of the poll (owned, POLL_MAX) */
    size_t cap_pre;
    atomic_int *done;           /* per chunk: decoded */
    size_t cap_chunks;
    /* the poll in hand (set by ing_par_handle for the job) */
    const dc_source_record *recs;
    size_t n;
    size_t n_chunks;
    atomic_size_t next;         /* next chunk to take */
    atomic_bool abort;          /* the calling thread failed: stop taking chunks */
    pthread_mutex_t mu;         /* with `decoded`: the calling thread waits for a chunk */
    pthread_cond_t decoded;
    ing_state *st;              /* the job's state (the calling thread's) */
    int rc;                     /* the calling thread's result */
    dc_err *err;
};

int ing_par_new(ing_par **out, unsigned threads, size_t max_records, dc_err *err)
{
    *out = NULL;
    ing_par *p = dc_calloc(1, sizeof *p);
    if (!p) return dc_err_set(err, DC_ENOMEM, "out of memory");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->decoded, NULL);
    int rc = dc_pool_new(&p->pool, threads, err);
    const size_t chunks = (max_records + PAR_CHUNK - 1) / PAR_CHUNK;
    if (rc == 0) {
        p->th = dc_calloc(threads, sizeof *p->th);
        p->pre = dc_calloc(max_records, sizeof *p->pre);
        p->done = dc_calloc(chunks, sizeof *p->done);
        if (!p->th || !p->pre || !p->done) rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    if (rc == 0) {
        p->cap_pre = max_records;
        p->cap_chunks = chunks;
        for (unsigned i = 0; i < threads; i++) {
            dc_arena_init(&p->th[i].keys, DC_JSONL_MAX_LINE);
            ing_decoder_init(&p->th[i].d, &p->th[i].keys);
        }
    }
    if (rc < 0) {
        ing_par_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void ing_par_free(ing_par *p)
{
    if (!p) return;
    const unsigned n = dc_pool_threads(p->pool);
    dc_pool_free(p->pool); /* joins the workers first */
    for (unsigned i = 0; p->th && i < n; i++) {
        ing_decoder_dispose(&p->th[i].d);
        dc_arena_dispose(&p->th[i].keys);
    }
    pthread_cond_destroy(&p->decoded);
    pthread_mutex_destroy(&p->mu);
    dc_free(p->th);
    dc_free(p->pre);
    dc_free(p->done);
    dc_free(p);
}

void ing_decoder_init(ing_decoder *d, dc_arena *keys)
{
    dc_buf_init(&d->scratch, DC_JSONL_MAX_LINE);
    dc_cdc_schema_cache_init(&d->cache);
    d->keys = keys;
}

void ing_decoder_dispose(ing_decoder *d)
{
    dc_buf_dispose(&d->scratch);
    dc_cdc_schema_cache_dispose(&d->cache);
}

unsigned ing_par_threads(const ing_par *p) { return p ? dc_pool_threads(p->pool) : 1; }

void ing_par_log_cpu(const ing_par *p)
{
    if (!p || dc_log_threshold < DC_LOG_INFO) return;
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    /* The loop's thread is the critical path: the workers only decode. */
    DC_LOG(DC_LOG_INFO, "ingest", "cpu: loop thread %.3f s, %u decoder thread%s %.3f s",
           (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, dc_pool_threads(p->pool) - 1,
           dc_pool_threads(p->pool) == 2 ? "" : "s", dc_pool_workers_cpu(p->pool));
}

void ing_pre_decode(ing_pre *pre, ing_decoder *d, const dc_source_record *r)
{
    dc_err e;
    dc_err_clear(&e);
    if (!pre->keys || !r->value) { /* not ready, or a tombstone: cheap in its turn */
        pre->ok = false;
        return;
    }
    dc_cdc_event *ev = &pre->ev;
    pre->ok = dc_cdc_decode_cached(ev, &d->scratch, &d->cache, pre->keys, r->value,
                                   r->value_len, &e) == 0;
    /* string keys with escapes point into the scratch, which the next record reuses */
    const char *lo = (const char *)d->scratch.data, *hi = lo + d->scratch.len;
    for (uint32_t k = 0; pre->ok && ev->kind == DC_CDC_CHANGE && k < ev->n_keys; k++) {
        dc_cdc_key *key = &ev->keys[k];
        if (key->type != DC_CDC_KEY_STRING || !lo || key->s < lo || key->s >= hi) continue;
        key->s = dc_arena_strndup(d->keys, key->s, key->len, &e);
        pre->ok = key->s != NULL;
    }
}

static void decode_chunk(ing_par *p, size_t c, par_thread *t)
{
    const size_t end = (c + 1) * PAR_CHUNK < p->n ? (c + 1) * PAR_CHUNK : p->n;
    for (size_t i = c * PAR_CHUNK; i < end; i++) ing_pre_decode(&p->pre[i], &t->d, &p->recs[i]);
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->done[c], 1, memory_order_release);
    pthread_cond_signal(&p->decoded);
    pthread_mutex_unlock(&p->mu);
}

/* Takes the next undecoded chunk and decodes it; false when none is left. */
static bool take_chunk(ing_par *p, par_thread *t)
{
    if (atomic_load_explicit(&p->abort, memory_order_relaxed)) return false;
    const size_t c = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
    if (c >= p->n_chunks) return false;
    decode_chunk(p, c, t);
    return true;
}

/* The calling thread: the chunks in order, each handed over once decoded. */
static int hand_over(ing_par *p, dc_err *err)
{
    for (size_t c = 0; c < p->n_chunks; c++) {
        while (!atomic_load_explicit(&p->done[c], memory_order_acquire)) {
            if (take_chunk(p, &p->th[0])) continue;
            pthread_mutex_lock(&p->mu); /* a worker has it: wait for it */
            while (!atomic_load_explicit(&p->done[c], memory_order_acquire))
                pthread_cond_wait(&p->decoded, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        const size_t end = (c + 1) * PAR_CHUNK < p->n ? (c + 1) * PAR_CHUNK : p->n;
        for (size_t i = c * PAR_CHUNK; i < end; i++)
            DC_TRY(ing_handle(p->st, &p->recs[i], &p->pre[i], err));
    }
    return 0;
}

static void job(void *ctx, unsigned thread)
{
    ing_par *p = ctx;
    if (thread != 0) {
        while (take_chunk(p, &p->th[thread])) {}
        return;
    }
    p->rc = hand_over(p, p->err);
    if (p->rc < 0) atomic_store(&p->abort, true);
}

int ing_par_handle(ing_par *p, ing_state *st, const dc_source_record *recs, size_t n,
                   dc_err *err)
{
    if (!p || n < PAR_MIN_RECORDS) {
        for (size_t i = 0; i < n; i++) DC_TRY(ing_handle(st, &recs[i], NULL, err));
        return 0;
    }
    DC_ASSERT(n <= p->cap_pre);
    p->recs = recs;
    p->n = n;
    p->n_chunks = (n + PAR_CHUNK - 1) / PAR_CHUNK;
    for (size_t c = 0; c < p->n_chunks; c++) atomic_init(&p->done[c], 0);
    for (unsigned t = 0; t < dc_pool_threads(p->pool); t++) dc_arena_reset(&p->th[t].keys);
    /* routes and keys are read here, before any thread starts: the workers
     * touch nothing of the state but the records */
    for (size_t i = 0; i < n; i++) p->pre[i].keys = ing_decode_keys(st, recs[i].topic);
    atomic_init(&p->next, 0);
    atomic_init(&p->abort, false);
    p->st = st;
    p->err = err;
    p->rc = 0;
    dc_pool_run(p->pool, job, p);
    return p->rc;
}
