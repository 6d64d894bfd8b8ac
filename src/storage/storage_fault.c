/*
 * storage: a fault-injecting backend for tests, a wrapper over another
 * backend (SQLite's I/O error injection, its "crash" VFS). Any op can fail
 * before it takes effect, after it took effect (the reply is lost), or hang
 * past a timeout and then leave the outcome open, chosen by a seeded
 * schedule so that a failing run can be replayed.
 *
 * The schedule is a comma-separated list:
 *     OP[@PREFIX]:WHEN:TRIGGER   a rule; every rule counts the calls it
 *                                matches, the first that fires wins
 *     seed=N                     the random schedule's seed (default 1)
 *     hang_ms=N                  how long a hang lasts (default 20)
 * OP is read, read_range, size, write, put_if_absent, list, remove,
 * writer_open, writer_write, writer_commit, or * for all of them; PREFIX
 * limits the rule to paths that start with it ("_delta_log/" for commits).
 * WHEN is
 *     before  the op is not done; DC_EIO (retriable);
 *     after   the op is done, then fails: DC_EUNKNOWN for an op that changes
 *             the store (write, put_if_absent, remove, writer_commit), DC_EIO
 *             for one that reads (the bytes read are dropped);
 *     lost    the op is not done, but the caller can not know: DC_EUNKNOWN
 *             for a change (a request lost on its way), DC_EIO for a read;
 *     hang    the call sleeps hang_ms, then a change is done or not (a coin
 *             of the seeded schedule) and DC_EUNKNOWN is returned; a read is
 *             not done and is DC_EIO, as a client timeout would be.
 * TRIGGER is #N (the Nth call the rule matches, from 1), #N+ (the Nth and
 * every later one: "from the Nth on", e.g. every read after a first probe)
 * or a probability in [0, 1] drawn for every call it matches.
 *
 * Example: "put_if_absent@_delta_log/:after:#1,write:before:0.02,seed=7".
 * dc_storage_open wraps every root in it when the environment variable
 * DC_STORAGE_FAULTS holds such a list behind the word "test-only" (see
 * dc_storage_open), s3:// roots as well as local ones. local_path passes
 * through: what readers mmap is not injected; over a backend without it
 * (S3) the wrapper has none either, so readers take the remote path.
 */
#include "storage.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Rules in one schedule: enough for every op twice. */
#define FAULT_MAX_RULES 32
/* A rule's path prefix. */
#define FAULT_MAX_PREFIX 128

typedef enum fop {
    F_READ, F_READ_RANGE, F_SIZE, F_WRITE, F_PUT_IF_ABSENT, F_LIST, F_REMOVE,
    F_WRITER_OPEN, F_WRITER_WRITE, F_WRITER_COMMIT, F_N_OPS, F_ANY = F_N_OPS
} fop;

static const char *const fop_names[F_N_OPS] = {
    "read", "read_range", "size", "write", "put_if_absent", "list", "remove",
    "writer_open", "writer_write", "writer_commit",
};

typedef enum fwhen { W_NONE, W_BEFORE, W_AFTER, W_LOST, W_HANG } fwhen;

typedef struct frule {
    fop op;                        /* the op it matches, or F_ANY */
    char prefix[FAULT_MAX_PREFIX]; /* paths it matches ("" for all) */
    fwhen when;                    /* what an injected fault does */
    uint64_t nth;                  /* fire on this matching call (0: use p) */
    bool from_nth;                 /* ... and on every later one (#N+) */
    double p;                      /* else fire with this probability */
    uint64_t calls;                /* matching calls so far */
} frule;

typedef struct fctx {
    dc_storage *inner;             /* the wrapped backend (owned) */
    pthread_mutex_t mu;            /* guards rules' counters, rng and injected */
    frule rules[FAULT_MAX_RULES];  /* the schedule */
    size_t n_rules;
    uint64_t rng;                  /* splitmix64 state, from seed= */
    long hang_ms;                  /* a hang's length */
    uint64_t injected;             /* faults injected so far (for tests) */
} fctx;

static uint64_t next_rand(fctx *c)
{
    uint64_t z = (c->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double next_unit(fctx *c) { return (double)(next_rand(c) >> 11) / 9007199254740992.0; }

/* What the schedule does to this call of op on path; *done_out for a hang:
 * whether a change is applied before the time-out. */
static fwhen decide(fctx *c, fop op, const char *path, bool *done_out)
{
    fwhen w = W_NONE;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n_rules; i++) { /* every rule counts the call */
        frule *r = &c->rules[i];
        if (r->op != F_ANY && r->op != op) continue;
        if (r->prefix[0] && strncmp(path, r->prefix, strlen(r->prefix)) != 0) continue;
        r->calls++;
        const bool fire = r->nth ? (r->from_nth ? r->calls >= r->nth : r->calls == r->nth)
                                 : next_unit(c) < r->p;
        if (fire && w == W_NONE) w = r->when;
    }
    *done_out = w == W_HANG && (next_rand(c) & 1);
    if (w != W_NONE) c->injected++;
    pthread_mutex_unlock(&c->mu);
    return w;
}

static int injected(dc_err *err, fop op, const char *path, fwhen w, bool changes,
                    const fctx *c)
{
    if (w == W_BEFORE)
        return dc_err_set_retriable(err, DC_EIO, "%s %s: injected fault (before)",
                                    fop_names[op], path);
    if (!changes)
        return dc_err_set_retriable(err, DC_EIO, "%s %s: injected fault (%s)", fop_names[op], path,
                                    w == W_HANG ? "timed out" : w == W_LOST ? "no reply"
                                                                            : "reply lost");
    if (w == W_HANG)
        return dc_err_set(err, DC_EUNKNOWN, "%s %s: injected fault (timed out after %ld ms)",
                          fop_names[op], path, c->hang_ms);
    if (w == W_LOST)
        return dc_err_set(err, DC_EUNKNOWN, "%s %s: injected fault (no reply)", fop_names[op],
                          path);
    return dc_err_set(err, DC_EUNKNOWN, "%s %s: injected fault (done, the reply was lost)",
                      fop_names[op], path);
}

static void hang(const fctx *c)
{
    struct timespec ts = {c->hang_ms / 1000, (c->hang_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Before the inner op: true when it is not to be done (then *rc_out is the
 * call's result); *w_out is what happens after it otherwise. */
static bool skip(int *rc_out, fwhen *w_out, dc_storage *s, fop op, const char *path,
                 bool changes, dc_err *err)
{
    fctx *c = s->ctx;
    bool done = false;
    const fwhen w = decide(c, op, path, &done);
    *w_out = w;
    if (w == W_HANG) hang(c);
    if (w == W_BEFORE || w == W_LOST || (w == W_HANG && !(changes && done))) {
        *rc_out = injected(err, op, path, w, changes, c);
        return true;
    }
    return false;
}

/* After the inner op: its result, or the injected failure. */
static int after(int rc, fwhen w, dc_storage *s, fop op, const char *path, bool changes,
                 dc_err *err)
{
    if (rc < 0 || w == W_NONE) return rc;
    return injected(err, op, path, w, changes, s->ctx);
}

static dc_storage *inner_of(dc_storage *s) { return ((fctx *)s->ctx)->inner; }

static int f_read(dc_storage *s, const char *path, dc_buf *out, dc_err *err)
{
    int rc;
    fwhen w;
    const size_t len = out->len;
    if (!skip(&rc, &w, s, F_READ, path, false, err))
        rc = after(dc_storage_read(inner_of(s), path, out, err), w, s, F_READ, path, false, err);
    if (rc < 0) out->len = len; /* a failed read appends nothing */
    return rc;
}

static int f_read_range(dc_storage *s, const char *path, uint64_t offset, size_t n,
                        uint8_t *dst, dc_err *err)
{
    int rc;
    fwhen w;
    if (skip(&rc, &w, s, F_READ_RANGE, path, false, err)) return rc;
    rc = dc_storage_read_range(inner_of(s), path, offset, n, dst, err);
    return after(rc, w, s, F_READ_RANGE, path, false, err);
}

static int f_size(dc_storage *s, const char *path, uint64_t *size_out, dc_err *err)
{
    int rc;
    fwhen w;
    if (skip(&rc, &w, s, F_SIZE, path, false, err)) return rc;
    rc = dc_storage_size(inner_of(s), path, size_out, err);
    return after(rc, w, s, F_SIZE, path, false, err);
}

static int f_write(dc_storage *s, const char *path, const void *p, size_t n, dc_err *err)
{
    int rc;
    fwhen w;
    if (skip(&rc, &w, s, F_WRITE, path, true, err)) return rc;
    rc = dc_storage_write(inner_of(s), path, p, n, err);
    return after(rc, w, s, F_WRITE, path, true, err);
}

static int f_put_if_absent(dc_storage *s, const char *path, const void *p, size_t n,
                           dc_err *err)
{
    int rc;
    fwhen w;
    if (skip(&rc, &w, s, F_PUT_IF_ABSENT, path, true, err)) return rc;
    rc = dc_storage_put_if_absent(inner_of(s), path, p, n, err);
    return after(rc, w, s, F_PUT_IF_ABSENT, path, true, err);
}

static int f_list(dc_storage *s, const char *dir, const char *start_after,
                  dc_storage_list *out, dc_err *err)
{
    int rc;
    fwhen w;
    const size_t n = out->n;
    if (!skip(&rc, &w, s, F_LIST, dir, false, err)) {
        rc = dc_storage_list_dir(inner_of(s), dir, start_after, out, err);
        rc = after(rc, w, s, F_LIST, dir, false, err);
    }
    if (rc < 0) out->n = n;
    return rc;
}

static int f_remove(dc_storage *s, const char *path, dc_err *err)
{
    int rc;
    fwhen w;
    if (skip(&rc, &w, s, F_REMOVE, path, true, err)) return rc;
    rc = dc_storage_remove(inner_of(s), path, err);
    return after(rc, w, s, F_REMOVE, path, true, err);
}

static int f_local_path(dc_storage *s, const char *path, dc_buf *out, dc_err *err)
{
    return dc_storage_local_path(inner_of(s), path, out, err);
}

/* ------------------------------------------------------------ writer */

typedef struct fwriter {
    dc_storage_writer base;     /* first: the generic part */
    dc_storage_writer *inner;   /* the wrapped backend's writer (owned until commit) */
    char *path;                 /* the destination, for rules and messages (owned) */
} fwriter;

static void fw_free(fwriter *w)
{
    dc_free(w->path);
    dc_free(w);
}

static int fw_write(dc_storage_writer *base, const void *p, size_t n, dc_err *err)
{
    fwriter *w = (fwriter *)base;
    int rc;
    fwhen wh;
    if (skip(&rc, &wh, base->s, F_WRITER_WRITE, w->path, false, err)) return rc;
    rc = dc_storage_writer_write(w->inner, p, n, err);
    return after(rc, wh, base->s, F_WRITER_WRITE, w->path, false, err);
}

static int fw_commit(dc_storage_writer *base, bool if_absent, dc_err *err)
{
    fwriter *w = (fwriter *)base;
    int rc;
    fwhen wh;
    if (skip(&rc, &wh, base->s, F_WRITER_COMMIT, w->path, true, err)) {
        dc_storage_writer_abort(w->inner);
    } else {
        rc = dc_storage_writer_commit(w->inner, if_absent, err);
        rc = after(rc, wh, base->s, F_WRITER_COMMIT, w->path, true, err);
    }
    fw_free(w);
    return rc;
}

static void fw_abort(dc_storage_writer *base)
{
    fwriter *w = (fwriter *)base;
    dc_storage_writer_abort(w->inner);
    fw_free(w);
}

static const dc_storage_writer_ops fault_writer_ops = {
    .write = fw_write,
    .commit = fw_commit,
    .abort = fw_abort,
};

static int f_writer_open(dc_storage_writer **out, dc_storage *s, const char *path, dc_err *err)
{
    *out = NULL;
    int rc;
    fwhen w;
    if (skip(&rc, &w, s, F_WRITER_OPEN, path, false, err)) return rc;
    fwriter *fw = dc_calloc(1, sizeof *fw);
    if (!fw || !(fw->path = dc_strdup(path))) {
        dc_free(fw);
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    fw->base.ops = &fault_writer_ops;
    fw->base.s = s;
    rc = dc_storage_writer_open(&fw->inner, inner_of(s), path, err);
    rc = after(rc, w, s, F_WRITER_OPEN, path, false, err);
    if (rc < 0) {
        dc_storage_writer_abort(fw->inner);
        fw_free(fw);
        return rc;
    }
    *out = &fw->base;
    return 0;
}

static void f_close(dc_storage *s)
{
    fctx *c = s->ctx;
    if (!c) return;
    dc_storage_free(c->inner);
    pthread_mutex_destroy(&c->mu);
    dc_free(c);
}

/* Passes through: VACUUM's cleanup of unfinished uploads is not injected. */
static int f_abort_uploads(dc_storage *s, int64_t cutoff_ms, bool dry_run, uint64_t *n_out,
                           dc_err *err)
{
    return dc_storage_abort_uploads(inner_of(s), cutoff_ms, dry_run, n_out, err);
}

/* The table, with or without local_path (over an object store readers must
 * take the remote path: the inner backend has no local files to map). */
#define FAULT_OPS(local_path_fn)                                                    \
    {                                                                               \
        .version = DC_STORAGE_OPS_VERSION, .scheme = "fault", .read = f_read,         \
        .read_range = f_read_range, .size = f_size, .write = f_write,                 \
        .put_if_absent = f_put_if_absent, .list = f_list, .remove = f_remove,         \
        .writer_open = f_writer_open, .local_path = (local_path_fn), .close = f_close, \
        .abort_uploads = f_abort_uploads,                                             \
    }

static const dc_storage_ops fault_ops = FAULT_OPS(f_local_path);
static const dc_storage_ops fault_ops_remote = FAULT_OPS(NULL);

/* ---------------------------------------------------------- schedule */

static int parse_u64(uint64_t *out, const char *s, size_t n)
{
    if (n == 0 || n > 19) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "OP[@PREFIX]:WHEN:TRIGGER" of n bytes into r. */
static int parse_rule(frule *r, const char *s, size_t n, dc_err *err)
{
    const char *c1 = memchr(s, ':', n);
    const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(s + n - c1 - 1)) : NULL;
    if (!c2) return -1;
    const char *at = memchr(s, '@', (size_t)(c1 - s));
    const size_t op_len = (size_t)((at ? at : c1) - s);
    memset(r, 0, sizeof *r);
    r->op = F_N_OPS + 1;
    if (op_len == 1 && s[0] == '*') r->op = F_ANY;
    for (int i = 0; i < F_N_OPS; i++)
        if (strlen(fop_names[i]) == op_len && memcmp(fop_names[i], s, op_len) == 0) r->op = (fop)i;
    if (r->op > F_ANY) return -1;
    if (at) {
        const size_t pl = (size_t)(c1 - at - 1);
        if (pl >= sizeof r->prefix) return dc_err_set(err, DC_ELIMIT, "prefix too long");
        memcpy(r->prefix, at + 1, pl);
    }
    const size_t wl = (size_t)(c2 - c1 - 1);
    r->when = wl == 6 && memcmp(c1 + 1, "before", 6) == 0 ? W_BEFORE
              : wl == 5 && memcmp(c1 + 1, "after", 5) == 0 ? W_AFTER
              : wl == 4 && memcmp(c1 + 1, "lost", 4) == 0  ? W_LOST
              : wl == 4 && memcmp(c1 + 1, "hang", 4) == 0  ? W_HANG
                                                           : W_NONE;
    if (r->when == W_NONE) return -1;
    const char *t = c2 + 1;
    const size_t tl = (size_t)(s + n - t);
    if (tl > 1 && t[0] == '#') {
        r->from_nth = t[tl - 1] == '+';
        const size_t dl = tl - 1 - (r->from_nth ? 1 : 0);
        return dl == 0 || parse_u64(&r->nth, t + 1, dl) < 0 || !r->nth ? -1 : 0;
    }
    char num[32], *end;
    if (tl == 0 || tl >= sizeof num) return -1;
    memcpy(num, t, tl);
    num[tl] = '\0';
    r->p = strtod(num, &end);
    return *end || !(r->p >= 0.0 && r->p <= 1.0) ? -1 : 0;
}

/* One item of the schedule. */
static int parse_item(fctx *c, const char *s, size_t n, dc_err *err)
{
    uint64_t v;
    if (n > 5 && memcmp(s, "seed=", 5) == 0) {
        if (parse_u64(&v, s + 5, n - 5) < 0) return -1;
        c->rng = v;
        return 0;
    }
    if (n > 8 && memcmp(s, "hang_ms=", 8) == 0) {
        if (parse_u64(&v, s + 8, n - 8) < 0 || v > 600000) return -1;
        c->hang_ms = (long)v;
        return 0;
    }
    if (n == 9 && memcmp(s, "test-only", 9) == 0) return 0;
    if (c->n_rules == FAULT_MAX_RULES)
        return dc_err_set(err, DC_ELIMIT, "more than %d rules", FAULT_MAX_RULES);
    return parse_rule(&c->rules[c->n_rules++], s, n, err);
}

static int parse_spec(fctx *c, const char *spec, dc_err *err)
{
    c->rng = 1;
    c->hang_ms = 20;
    for (const char *p = spec; *p;) {
        const char *e = strchr(p, ',');
        const size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && parse_item(c, p, n, err) < 0) {
            if (err && err->code == DC_OK)
                dc_err_set(err, DC_EINVAL, "expected OP[@PREFIX]:before|after|lost|hang:#N|P, "
                           "seed=N or hang_ms=N");
            dc_err_prefix(err, "storage faults '%s': item '%.*s'", spec, (int)n, p);
            return err ? err->code : DC_EINVAL;
        }
        p += n + (e != NULL);
    }
    return 0;
}

int dc_storage_fault_open(dc_storage **out, dc_storage *inner, const char *spec, dc_err *err)
{
    *out = NULL;
    dc_storage *s = dc_calloc(1, sizeof *s);
    fctx *c = dc_calloc(1, sizeof *c);
    char *root = dc_strdup(inner->root);
    int rc = s && c && root ? 0 : dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc == 0) {
        dc_err_clear(err);
        rc = parse_spec(c, spec, err);
    }
    if (rc < 0) {
        dc_free(s);
        dc_free(c);
        dc_free(root);
        dc_storage_free(inner);
        return rc;
    }
    pthread_mutex_init(&c->mu, NULL);
    c->inner = inner;
    s->ops = inner->ops->local_path ? &fault_ops : &fault_ops_remote;
    s->root = root;
    s->ctx = c;
    *out = s;
    return 0;
}

uint64_t dc_storage_fault_injected(dc_storage *s)
{
    if (s->ops != &fault_ops && s->ops != &fault_ops_remote) return 0;
    fctx *c = s->ctx;
    pthread_mutex_lock(&c->mu);
    const uint64_t n = c->injected;
    pthread_mutex_unlock(&c->mu);
    return n;
}
