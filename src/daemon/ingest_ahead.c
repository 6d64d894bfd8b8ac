/* ingest: the file source read and decoded ahead on a thread of its own
 * (issue 13, "both cores"). With ingest_par.c alone the loop's thread still
 * read the file and waited for the decoders at every poll, and its workers
 * slept through every commit; here one reader thread polls the source,
 * copies each poll's bytes out of the source's buffer into a slot of its
 * own, and decodes the records into that slot, up to AHEAD_SLOTS polls
 * ahead, while the loop adds the previous polls to the batch and commits.
 * The loop takes the slots strictly in order, so what reaches the tables,
 * the errors and the dead letters are those of one thread: a record the
 * reader could not decode (no keys known yet, a bad record) is decoded
 * again by the loop in its turn, and a poll's error is returned when the
 * loop reaches it.
 *
 * Only the reader touches the source while it runs; the loop reads the
 * source's high watermark from the slot it took (ing_ahead_watermark).
 *
 * Once the loop no longer merges nor commits (ingest_commit.c) it is faster
 * than the reader and waits for it: a waiting loop takes chunks of the slot
 * being decoded, with a decoder and a key arena of its own (the last of
 * dec[] and of each slot's keys[]); the reader publishes the slot only when
 * the loop's chunks are done (job_open, helping, under mu). */
#include "ingest_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "../common/dc_pool.h"

/* Polls read ahead: enough to keep reading through a commit's first
 * moments, few enough that memory stays a few polls' worth. */
#define AHEAD_SLOTS 8
/* Records per chunk when more threads decode a slot (as in ingest_par.c). */
#define AHEAD_CHUNK 64
/* The reader's poll timeout on a pipe or a terminal: how often it looks at
 * a stop request while nothing comes. */
#define AHEAD_WAIT_MS 100
/* A slot's copy of one poll's bytes is bounded by the source's own buffer
 * (the longest line and a read); this only catches a runaway. */
#define AHEAD_MAX_BYTES ((size_t)4 * DC_JSONL_MAX_LINE)

/* One poll read ahead. */
typedef struct ahead_slot {
    dc_source_record *recs;     /* the poll's records, pointing into `data` (owned) */
    ing_pre *pre;               /* each decoded ahead, or not (owned) */
    size_t n;                   /* records in recs */
    bool eof;                   /* the source's end: the last slot */
    int rc;                     /* the poll's error (then the last slot), else 0 */
    dc_err err;                 /* its message */
    int64_t watermark;          /* the source's high watermark after the poll, -1: none */
    dc_buf data;                /* the records' values and keys, copied */
    dc_arena *keys;             /* escaped string keys of the decoded events, one arena
                                   per decoding thread (owned) */
} ahead_slot;

struct ing_ahead {
    dc_source *src;             /* borrowed; polled by the reader alone while it runs */
    size_t max;                 /* records per poll (a slot's capacity) */
    bool want_watermark;        /* metrics are on: note the high watermark per poll */
    dc_pool *pool;              /* the reader (its thread 0) and the threads that help
                                   it decode a slot (owned) */
    ing_decoder *dec;           /* one per pool thread, and the loop's last (keys: the
                                   slot's arena of it) */
    unsigned n_dec;             /* pool threads (dec and each slot's keys have one more) */
    ahead_slot *job;            /* the slot being decoded (the pool's job) */
    const dc_cdc_keyspec *job_keys; /* the keys it is decoded with */
    atomic_size_t next_chunk;   /* the job's next chunk to take */
    bool job_open;              /* under mu: chunks of the job may be taken (the loop,
                                   waiting for a slot, helps decode it) */
    uint64_t job_gen;           /* under mu: jobs opened so far */
    uint64_t helped_gen;        /* under mu: the last job the loop helped (once each) */
    bool helping;               /* under mu: the loop is decoding chunks of the job */
    pthread_cond_t helped;      /* the loop stopped helping */
    _Atomic(const dc_cdc_keyspec *) keys; /* the table's keys, published by the loop once
                                   known (they never change then); NULL: not yet */
    ahead_slot slots[AHEAD_SLOTS];
    pthread_mutex_t mu;         /* guards produced, consumed, finished and waits */
    pthread_cond_t filled;      /* a slot was filled, or the reader is starved */
    pthread_cond_t freed;       /* the loop released a slot, or stop */
    uint64_t produced;          /* slots filled so far; [consumed, produced) are full */
    uint64_t consumed;          /* slots the loop released */
    atomic_bool stop;           /* ing_ahead_free: the reader leaves */
    atomic_bool starved;        /* the reader's last poll found nothing (a pipe): the
                                   loop waits only its timeout */
    pthread_t tid;
    bool started;               /* tid runs (joined by ing_ahead_free) */
    bool ended;                 /* the reader returned (under mu) */
    double cpu;                 /* its CPU seconds then (under mu) */
    /* the loop's side */
    size_t off;                 /* records of slot `consumed` handed out */
    const char *topic;          /* the records' topic, for publishing the keys */
    int64_t watermark;          /* of the slot last handed out */
    double wait_s;              /* wall seconds the loop waited for a slot (reader busy) */
    double wait_cpu;            /* the reader's CPU seconds meanwhile */
};

/* Copies the poll's bytes out of the source's buffer (the next poll reuses
 * it) and points the records at the copy. */
static int copy_out(ahead_slot *sl, dc_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < sl->n; i++) total += sl->recs[i].value_len + sl->recs[i].key_len;
    dc_buf_reset(&sl->data);
    DC_TRY(dc_buf_reserve(&sl->data, total, err));
    for (size_t i = 0; i < sl->n; i++) {
        dc_source_record *r = &sl->recs[i];
        if (r->value) {
            char *at = (char *)sl->data.data + sl->data.len;
            DC_TRY(dc_buf_append(&sl->data, r->value, r->value_len, err));
            r->value = at;
        }
        if (r->key) {
            char *at = (char *)sl->data.data + sl->data.len;
            DC_TRY(dc_buf_append(&sl->data, r->key, r->key_len, err));
            r->key = at;
        }
    }
    return 0;
}

/* Decodes chunks of the slot until none is left (each pool thread). */
static void decode_job(void *ctx, unsigned thread)
{
    ing_ahead *a = ctx;
    ahead_slot *sl = a->job;
    ing_decoder *d = &a->dec[thread];
    d->keys = &sl->keys[thread];
    dc_arena_reset(d->keys);
    for (;;) {
        const size_t c = atomic_fetch_add_explicit(&a->next_chunk, 1, memory_order_relaxed);
        if (c * AHEAD_CHUNK >= sl->n) break;
        const size_t end = (c + 1) * AHEAD_CHUNK < sl->n ? (c + 1) * AHEAD_CHUNK : sl->n;
        for (size_t i = c * AHEAD_CHUNK; i < end; i++) {
            sl->pre[i].keys = a->job_keys;
            ing_pre_decode(&sl->pre[i], d, &sl->recs[i]);
        }
    }
}

/* One poll into the slot: records, their copies, their decoding. */
static void fill_slot(ing_ahead *a, ahead_slot *sl)
{
    sl->n = 0;
    sl->eof = false;
    sl->watermark = -1;
    dc_err_clear(&sl->err);
    sl->rc = 0;
    while (sl->n == 0 && !sl->eof && !atomic_load(&a->stop)) {
        sl->rc = a->src->ops->poll(a->src, sl->recs, a->max, &sl->n, &sl->eof, AHEAD_WAIT_MS,
                                   &sl->err);
        if (sl->rc < 0) return;
        const bool none = sl->n == 0 && !sl->eof;
        if (none != atomic_load(&a->starved)) {
            pthread_mutex_lock(&a->mu); /* the loop may wait for it */
            atomic_store(&a->starved, none);
            pthread_cond_signal(&a->filled);
            pthread_mutex_unlock(&a->mu);
        }
    }
    if ((sl->rc = copy_out(sl, &sl->err)) < 0) return;
    if (a->want_watermark && sl->n)
        sl->watermark = dc_source_high_watermark(a->src, sl->recs[0].topic, 0);
    pthread_mutex_lock(&a->mu); /* a loop waiting for this slot helps decode it */
    a->job = sl;
    a->job_keys = atomic_load_explicit(&a->keys, memory_order_acquire);
    atomic_store(&a->next_chunk, 0);
    a->job_open = true;
    a->job_gen++;
    pthread_cond_broadcast(&a->filled);
    pthread_mutex_unlock(&a->mu);
    dc_pool_run(a->pool, decode_job, a);
    pthread_mutex_lock(&a->mu); /* the slot is whole once the loop's chunks are done */
    a->job_open = false;
    while (a->helping) pthread_cond_wait(&a->helped, &a->mu);
    pthread_mutex_unlock(&a->mu);
}

static void *reader_main(void *arg)
{
    ing_ahead *a = arg;
    for (bool last = false; !last;) {
        pthread_mutex_lock(&a->mu);
        while (!atomic_load(&a->stop) && a->produced - a->consumed == AHEAD_SLOTS)
            pthread_cond_wait(&a->freed, &a->mu);
        ahead_slot *sl = &a->slots[a->produced % AHEAD_SLOTS];
        pthread_mutex_unlock(&a->mu);
        if (atomic_load(&a->stop)) break;
        fill_slot(a, sl); /* the slot is the reader's until produced moves past it */
        if (atomic_load(&a->stop) && sl->rc == 0 && !sl->eof && sl->n == 0) break;
        last = sl->rc < 0 || sl->eof;
        pthread_mutex_lock(&a->mu);
        a->produced++;
        pthread_cond_signal(&a->filled);
        pthread_mutex_unlock(&a->mu);
    }
    struct timespec ts; /* its clock is gone once it has returned */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    pthread_mutex_lock(&a->mu);
    a->ended = true;
    a->cpu = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int ing_ahead_new(ing_ahead **out, dc_source *src, unsigned threads, size_t max_records,
                  bool watermarks, const dc_cdc_keyspec *keys, dc_err *err)
{
    *out = NULL;
    ing_ahead *a = dc_calloc(1, sizeof *a);
    if (!a) return dc_err_set(err, DC_ENOMEM, "out of memory");
    a->src = src;
    a->max = max_records;
    a->want_watermark = watermarks;
    a->watermark = -1;
    atomic_store(&a->keys, keys); /* before the reader starts: its first polls decode too */
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->filled, NULL);
    pthread_cond_init(&a->freed, NULL);
    pthread_cond_init(&a->helped, NULL);
    const unsigned n_dec = threads > 1 ? threads - 1 : 1; /* the loop's thread excepted */
    int rc = dc_pool_new(&a->pool, n_dec, err);
    if (rc == 0 && !(a->dec = dc_calloc(n_dec + 1, sizeof *a->dec)))
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc == 0) a->n_dec = n_dec;
    for (unsigned t = 0; a->n_dec && t <= a->n_dec; t++) ing_decoder_init(&a->dec[t], NULL);
    for (size_t i = 0; rc == 0 && i < AHEAD_SLOTS; i++) {
        ahead_slot *sl = &a->slots[i];
        dc_buf_init(&sl->data, AHEAD_MAX_BYTES);
        sl->recs = dc_calloc(max_records, sizeof *sl->recs);
        sl->pre = dc_calloc(max_records, sizeof *sl->pre);
        sl->keys = dc_calloc(n_dec + 1, sizeof *sl->keys);
        if (!sl->recs || !sl->pre || !sl->keys) rc = dc_err_set(err, DC_ENOMEM, "out of memory");
        for (unsigned t = 0; sl->keys && t <= n_dec; t++)
            dc_arena_init(&sl->keys[t], DC_JSONL_MAX_LINE);
    }
    int e = rc == 0 ? pthread_create(&a->tid, NULL, reader_main, a) : 0;
    if (e != 0) rc = dc_err_set(err, DC_EIO, "starting the reader thread: %s", strerror(e));
    a->started = rc == 0;
    if (rc < 0) {
        ing_ahead_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void ing_ahead_free(ing_ahead *a)
{
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    atomic_store(&a->stop, true);
    pthread_cond_broadcast(&a->freed);
    pthread_mutex_unlock(&a->mu);
    if (a->started) pthread_join(a->tid, NULL);
    dc_pool_free(a->pool);
    for (size_t i = 0; i < AHEAD_SLOTS; i++) {
        ahead_slot *sl = &a->slots[i];
        dc_buf_dispose(&sl->data);
        for (unsigned t = 0; sl->keys && a->n_dec && t <= a->n_dec; t++)
            dc_arena_dispose(&sl->keys[t]);
        dc_free(sl->keys);
        dc_free(sl->recs);
        dc_free(sl->pre);
    }
    for (unsigned t = 0; a->n_dec && t <= a->n_dec; t++) ing_decoder_dispose(&a->dec[t]);
    dc_free(a->dec);
    pthread_cond_destroy(&a->helped);
    pthread_cond_destroy(&a->freed);
    pthread_cond_destroy(&a->filled);
    pthread_mutex_destroy(&a->mu);
    dc_free(a);
}

/* Waits for a filled slot: as long as it takes while the reader reads (a
 * regular file always has more until its end: an empty poll there would
 * close the batch early), at most timeout_ms while it is starved. */
static bool wait_filled(ing_ahead *a, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&a->mu);
    while (a->produced == a->consumed) {
        if (!atomic_load(&a->starved) && a->job_open && a->helped_gen != a->job_gen) {
            /* rather than wait for the reader, decode chunks of the slot it
             * fills (with the loop's decoder and arena, dec[n_dec]) */
            a->helped_gen = a->job_gen;
            a->helping = true;
            pthread_mutex_unlock(&a->mu);
            decode_job(a, a->n_dec);
            pthread_mutex_lock(&a->mu);
            a->helping = false;
            pthread_cond_signal(&a->helped);
        } else if (!atomic_load(&a->starved)) {
            /* the reader is the critical path meanwhile: its CPU is counted */
            clockid_t cid;
            struct timespec c0, c1, w0, w1;
            const bool clock = !a->ended && pthread_getcpuclockid(a->tid, &cid) == 0 &&
                               clock_gettime(cid, &c0) == 0;
            clock_gettime(CLOCK_MONOTONIC, &w0);
            pthread_cond_wait(&a->filled, &a->mu);
            clock_gettime(CLOCK_MONOTONIC, &w1);
            if (clock && !a->ended && clock_gettime(cid, &c1) == 0)
                a->wait_cpu += (double)(c1.tv_sec - c0.tv_sec) +
                               (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
            a->wait_s += (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
        } else if (timeout_ms <= 0 ||
                   pthread_cond_timedwait(&a->filled, &a->mu, &until) != 0) {
            break;
        }
    }
    const bool got = a->produced != a->consumed;
    pthread_mutex_unlock(&a->mu);
    return got;
}

/* The loop is done with the slot it holds: the reader may refill it. */
static void release(ing_ahead *a)
{
    pthread_mutex_lock(&a->mu);
    a->consumed++;
    pthread_cond_signal(&a->freed);
    pthread_mutex_unlock(&a->mu);
    a->off = 0;
}

int ing_ahead_poll(ing_ahead *a, ing_state *st, const dc_source_record **recs,
                   const ing_pre **pre, size_t max, size_t *n_out, bool *eof_out,
                   int timeout_ms, dc_err *err)
{
    *n_out = 0;
    *eof_out = false;
    /* the keys become known with the table's first record: decode with them */
    if (a->topic && !atomic_load_explicit(&a->keys, memory_order_relaxed)) {
        const dc_cdc_keyspec *k = ing_decode_keys(st, a->topic);
        if (k) atomic_store_explicit(&a->keys, k, memory_order_release);
    }
    ahead_slot *sl = &a->slots[a->consumed % AHEAD_SLOTS];
    /* the slot held since the last call is handed out whole: give it back
     * (its records were valid until this call) */
    pthread_mutex_lock(&a->mu);
    const bool holding = a->produced != a->consumed;
    pthread_mutex_unlock(&a->mu);
    if (holding && sl->rc == 0 && !sl->eof && a->off == sl->n) {
        release(a);
        sl = &a->slots[a->consumed % AHEAD_SLOTS];
    }
    if (!wait_filled(a, timeout_ms)) return 0;
    if (sl->rc < 0) { /* the poll failed there: the same error as reading it in turn */
        if (err) *err = sl->err;
        return sl->rc;
    }
    const size_t k = sl->n - a->off < max ? sl->n - a->off : max;
    *recs = sl->recs + a->off;
    *pre = sl->pre + a->off;
    a->off += k;
    *n_out = k;
    *eof_out = sl->eof;
    if (k) a->topic = sl->recs[0].topic, a->watermark = sl->watermark;
    return 0;
}

int64_t ing_ahead_watermark(const ing_ahead *a) { return a->watermark; }

double ing_ahead_reader_cpu(ing_ahead *a)
{
    pthread_mutex_lock(&a->mu);
    double cpu = a->cpu;
    clockid_t cid;
    struct timespec ts;
    if (a->started && !a->ended && pthread_getcpuclockid(a->tid, &cid) == 0 &&
        clock_gettime(cid, &ts) == 0)
        cpu = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    pthread_mutex_unlock(&a->mu);
    return cpu + dc_pool_workers_cpu(a->pool);
}

unsigned ing_ahead_threads(const ing_ahead *a) { return a->n_dec; }

void ing_ahead_waits(const ing_ahead *a, double *wait_s, double *wait_cpu)
{
    *wait_s = a->wait_s;
    *wait_cpu = a->wait_cpu;
}
