/*
 * The key index: key → (file, row, ordering value), open addressing with
 * Robin Hood linear probing over 16-byte slots and a parallel array of
 * 4-byte ordering values (an entry far from its home slot takes the place of
 * one nearer to its own, so probe lengths stay short at high load and a miss
 * stops early). Sized for a load of 6/7 (23.3 bytes per row for int keys)
 * and grown back to it when the load passes 0.93: the footprint stays
 * between 21.5 and 23.3 bytes per row. Any capacity works: the home slot is
 * the hash scaled into [0, cap) with a 128-bit multiply.
 *
 * A slot does not hold its row's sequence (16 bytes) but a 32-bit ordering
 * value (see mx_window in merge_int.h): comparisons with a new event are
 * exact unless the two values are equal, and then the caller reads the row's
 * sequence from its file (rare: same ordering step, or a repeat).
 *
 * Keys are never removed one by one (a replaced row keeps its key; deletes
 * keep a tombstone row), only all at once (truncate, rebuild), so there are
 * no tombstones. Setting a value never moves a slot; inserting may (Robin
 * Hood displaces), so a batch notes slot numbers before its commit, sets
 * them after, and inserts its new keys last.
 *
 * Also the file table (file id → path, rows) with a path map.
 */
#include "merge_int.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

/* ------------------------------------------------------------ hashing */

static uint64_t fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* A fresh index's seed: the address of a static (randomised by ASLR), the
 * index's address and the clock, mixed. */
static uint64_t new_seed(const void *x)
{
    static const char anchor = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return fmix64((uint64_t)(uintptr_t)&anchor ^ 0x9e3779b97f4a7c15ULL ^
                  fmix64((uint64_t)(uintptr_t)x) ^
                  fmix64((uint64_t)ts.tv_nsec * 1000003u + (uint64_t)ts.tv_sec));
}

uint64_t dc_mkey_hash_i64(uint64_t seed, int64_t v)
{
    return fmix64((uint64_t)v ^ seed);
}

static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t dc_mkey_hash_bytes(uint64_t seed, const uint8_t *p, size_t n)
{
    uint64_t h = seed ^ ((uint64_t)n * 0x87c37b91114253d5ULL);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        h ^= fmix64(dc_load_le64(p + i));
        h = rotl64(h, 27) * 0x4cf5ad432745937fULL + 0x52dce729;
    }
    uint64_t w = 0;
    if (i < n) memcpy(&w, p + i, n - i);
    h ^= fmix64(w ^ (uint64_t)n);
    return fmix64(h);
}

static int cmp_i64(int64_t a, int64_t b) { return a < b ? -1 : a > b; }

int dc_mkey_cmp(const mkey *a, const mkey *b, uint32_t n_parts, const dc_cdc_key_type *types)
{
    if (!a->b || !b->b) return cmp_i64(a->i, b->i); /* int keys */
    size_t pa = 0, pb = 0;
    for (uint32_t i = 0; i < n_parts; i++) {
        if (types[i] == DC_CDC_KEY_LONG) { /* order-preserving big-endian bytes */
            DC_ASSERT(a->len - pa >= 8 && b->len - pb >= 8);
            const int c = memcmp(a->b + pa, b->b + pb, 8);
            if (c) return c;
            pa += 8;
            pb += 8;
            continue;
        }
        DC_ASSERT(a->len - pa >= 4 && b->len - pb >= 4);
        const uint32_t la = dc_load_le32(a->b + pa), lb = dc_load_le32(b->b + pb);
        DC_ASSERT(a->len - pa - 4 >= la && b->len - pb - 4 >= lb);
        const int c = memcmp(a->b + pa + 4, b->b + pb + 4, la < lb ? la : lb);
        if (c) return c;
        if (la != lb) return la < lb ? -1 : 1;
        pa += 4 + (size_t)la;
        pb += 4 + (size_t)lb;
    }
    return 0;
}

/* -------------------------------------------------------------- index */

/* Arena record: [hash u64][len u32][pad u32][bytes], 8-aligned. */
#define REC_HDR 16u

static size_t rec_size(uint32_t len) { return (REC_HDR + (size_t)len + 7) & ~(size_t)7; }

static size_t cap_for(size_t n) { return n + n / 6 + 8; }

/* Grow past a load of 0.93. */
static bool too_full(size_t n, size_t cap) { return n > cap - cap / 14; }

void dc_mx_init(mx_index *x, bool int_keys)
{
    memset(x, 0, sizeof *x);
    x->int_keys = int_keys;
    x->seed = new_seed(x);
    x->ghost_free = UINT32_MAX;
    dc_buf_init(&x->arena, DC_MERGE_MAX_INDEX_BYTES);
}

static void files_free(mx_index *x)
{
    for (size_t i = 0; i < x->n_files; i++) dc_free(x->files[i].path);
    x->n_files = 0;
    if (x->pmap) memset(x->pmap, 0, x->pmap_cap * sizeof *x->pmap);
}

void dc_mx_dispose(mx_index *x)
{
    files_free(x);
    dc_free(x->files);
    dc_free(x->pmap);
    dc_free(x->slots);
    dc_free(x->ord);
    dc_free(x->ghosts);
    dc_buf_dispose(&x->arena);
    memset(x, 0, sizeof *x);
}

void dc_mx_clear(mx_index *x)
{
    if (x->slots) memset(x->slots, 0, x->cap * sizeof *x->slots);
    x->n = 0;
    x->gen++;
    memset(&x->w, 0, sizeof x->w);
    x->n_ghosts = x->ghosts_live = 0;
    x->ghost_free = UINT32_MAX;
    dc_buf_reset(&x->arena);
    files_free(x);
}

static size_t home(size_t cap, uint64_t h)
{
    return (size_t)(((unsigned __int128)h * cap) >> 64);
}

static uint64_t slot_hash(const mx_index *x, const mx_slot *s)
{
    if (x->int_keys) return dc_mx_hash_i64(x, (int64_t)s->key);
    return dc_load_le64(x->arena.data + s->key);
}

static bool slot_is(const mx_index *x, const mx_slot *s, const mkey *k)
{
    if (x->int_keys) return s->key == (uint64_t)k->i;
    const uint8_t *r = x->arena.data + s->key;
    return dc_load_le64(r) == k->hash && dc_load_le32(r + 8) == k->len &&
           memcmp(r + REC_HDR, k->b, k->len) == 0;
}

/* Probe distance of an entry sitting at slot j. */
static size_t dist_at(const mx_index *x, size_t j, uint64_t h)
{
    const size_t hm = home(x->cap, h);
    return j >= hm ? j - hm : j + x->cap - hm;
}

/* Places entry e (hash h, ordering value o) by Robin Hood; room is there. */
static void rh_place(mx_index *x, mx_slot e, uint32_t o, uint64_t h)
{
    size_t j = home(x->cap, h), d = 0;
    for (;;) {
        mx_slot *s = &x->slots[j];
        if (!s->file) {
            *s = e;
            x->ord[j] = o;
            return;
        }
        const uint64_t sh = slot_hash(x, s);
        const size_t sd = dist_at(x, j, sh);
        if (sd < d) { /* the richer entry moves on */
            const mx_slot t = *s;
            const uint32_t to = x->ord[j];
            *s = e;
            x->ord[j] = o;
            e = t;
            o = to;
            h = sh;
            d = sd;
        }
        j = j + 1 == x->cap ? 0 : j + 1;
        d++;
    }
}

/* Lookups land on random slots: with 4 KiB pages nearly every one is a TLB
 * miss on a large index. Ask for transparent huge pages (a hint; the kernel
 * may say no). */
static void hint_huge_pages(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    if (n < ((size_t)8 << 20)) return;
    const uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
    const uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)4095;
    if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/* Faults a new array in at once (one call instead of a page fault per
 * 4 KiB when a load writes it); a hint: old kernels say no. */
static void populate(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    if (n < ((size_t)8 << 20)) return;
    const uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
    const uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)4095;
    if (e > a) (void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

void dc_mx_hint_huge(mx_index *x)
{
    hint_huge_pages(x->slots, x->cap * sizeof *x->slots);
    hint_huge_pages(x->ord, x->cap * sizeof *x->ord);
}

int dc_mx_alloc_slots(mx_index *x, size_t cap, bool hint, dc_err *err)
{
    mx_slot *ns = dc_calloc(cap, sizeof *ns);
    uint32_t *no = dc_malloc(cap * sizeof *no);
    if (!ns || !no) {
        dc_free(ns);
        dc_free(no);
        return dc_err_set(err, DC_ENOMEM, "key index: out of memory for %zu slots", cap);
    }
    dc_free(x->slots);
    dc_free(x->ord);
    x->slots = ns;
    x->ord = no;
    x->cap = cap;
    if (hint) {
        dc_mx_hint_huge(x);
    } else {
        populate(ns, cap * sizeof *ns);
        populate(no, cap * sizeof *no);
    }
    return 0;
}

static int rehash(mx_index *x, size_t cap, dc_err *err)
{
    DC_ASSERT(cap > x->n);
    mx_slot *old = x->slots;
    uint32_t *old_ord = x->ord;
    const size_t old_cap = x->cap;
    x->slots = NULL;
    x->ord = NULL;
    if (dc_mx_alloc_slots(x, cap, true, err) < 0) {
        x->slots = old;
        x->ord = old_ord;
        x->cap = old_cap;
        return DC_ENOMEM;
    }
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].file) rh_place(x, old[i], old_ord[i], slot_hash(x, &old[i]));
    dc_free(old);
    dc_free(old_ord);
    return 0;
}

int dc_mx_reserve_ghosts(mx_index *x, size_t more, dc_err *err)
{
    size_t need;
    if (dc_add_overflow_sz(x->ghosts_live, more, &need) || need > MX_ROW_MASK)
        return dc_err_set(err, DC_ELIMIT, "key index: too many deleted keys");
    if (need <= x->cap_ghosts) return 0;
    size_t cap = x->cap_ghosts ? x->cap_ghosts : 64;
    while (cap < need) cap *= 2;
    mseq *g = dc_realloc(x->ghosts, cap * sizeof *g);
    if (!g) return dc_err_set(err, DC_ENOMEM, "key index: out of memory (deleted keys)");
    x->ghosts = g;
    x->cap_ghosts = cap;
    return 0;
}

int dc_mx_reserve(mx_index *x, size_t more, size_t more_bytes, dc_err *err)
{
    size_t need;
    if (dc_add_overflow_sz(x->n, more, &need) || need > SIZE_MAX / 2 / sizeof(mx_slot))
        return dc_err_set(err, DC_ELIMIT, "key index: %zu keys is too many", x->n);
    if (!x->slots || too_full(need, x->cap)) DC_TRY(rehash(x, cap_for(need), err));
    if (x->int_keys) return 0;
    size_t bytes;
    if (dc_mul_overflow_sz(more, REC_HDR + 7, &bytes) ||
        dc_add_overflow_sz(bytes, more_bytes, &bytes))
        return dc_err_set(err, DC_ELIMIT, "key index: key bytes overflow");
    return dc_buf_reserve(&x->arena, bytes, err);
}

size_t dc_mx_find(const mx_index *x, const mkey *k)
{
    if (!x->n) return SIZE_MAX;
    size_t j = home(x->cap, k->hash);
    for (size_t d = 0;; d++) {
        const mx_slot *s = &x->slots[j];
        if (!s->file) return SIZE_MAX;
        if (slot_is(x, s, k)) return j;
        /* Robin Hood: k would sit before any entry nearer to its home. */
        if (dist_at(x, j, slot_hash(x, s)) < d) return SIZE_MAX;
        j = j + 1 == x->cap ? 0 : j + 1;
    }
}

void dc_mx_prefetch(const mx_index *x, uint64_t hash)
{
    if (!x->cap) return;
    const size_t j = home(x->cap, hash);
    __builtin_prefetch(&x->slots[j], 1, 1);
    __builtin_prefetch(&x->ord[j], 1, 1);
}

/* ----------------------------------------------- ordering values */

typedef unsigned __int128 u128;

#define ORD_ROW_MAX (MX_ORD_TOP - 1u) /* rows take 2 .. ORD_ROW_MAX */
#define ORD_STEPS ((u128)(ORD_ROW_MAX - 2u))  /* steps above the window's base */

static u128 seq_u(mseq s)
{
    const uint64_t hi = (uint64_t)s.ts ^ ((uint64_t)1 << 63);
    const uint64_t lo = (uint64_t)s.off ^ ((uint64_t)1 << 63);
    return (u128)hi << 64 | lo;
}

static u128 w_base(const mx_window *w) { return (u128)w->base_hi << 64 | w->base_lo; }

/* Ordering value of a sequence: for a row (in the window) or an event. */
static uint32_t ord_of(const mx_window *w, mseq s)
{
    if (s.ts == INT64_MIN) return MX_ORD_NULL;
    if (!w->set) return MX_ORD_TOP; /* no row has a ts_ms: every one is older */
    const u128 u = seq_u(s), b = w_base(w);
    if (u < b) return MX_ORD_BELOW;
    const u128 st = (u - b) >> w->shift;
    return st > ORD_STEPS ? MX_ORD_TOP : 2u + (uint32_t)st;
}

static bool in_window(const mx_window *w, mseq s)
{
    if (s.ts == INT64_MIN) return true;
    if (!w->set) return false;
    const u128 u = seq_u(s), b = w_base(w);
    return u >= b && ((u - b) >> w->shift) <= ORD_STEPS;
}

/* Widens the window so that U fits, with as much room again beyond it, and
 * recomputes every stored value. The base stays a multiple of 2^shift, so
 * the new base is a whole number D of old steps below the old one and
 * value' = 2 + ((value - 2 + D) >> (shift' - shift)) exactly. */
static void rewindow(mx_index *x, mseq s)
{
    const u128 u = seq_u(s);
    mx_window *w = &x->w;
    if (!w->set) { /* first row: a window around it at the finest step */
        const u128 b = u - ORD_STEPS / 2; /* u >= 2^64: ts_ms is not null */
        *w = (mx_window){(uint64_t)(b >> 64), (uint64_t)b, 0, true};
        return;
    }
    const u128 b = w_base(w), top = b + (ORD_STEPS << w->shift);
    u128 lo = u < b ? u : b, hi = u > top ? u : top;
    const u128 span = hi - lo;
    if (u > top) hi = (~(u128)0 - hi > span) ? hi + span : ~(u128)0;
    if (u < b) lo = lo > span ? lo - span : 0;
    uint32_t ns = w->shift;
    u128 nb = lo >> ns << ns;
    while (ns < 127 && ((hi - nb) >> ns) > ORD_STEPS) {
        ns++;
        nb = lo >> ns << ns;
    }
    const u128 d = (b - nb) >> w->shift;
    const uint32_t ds = ns - w->shift;
    for (size_t i = 0; i < x->cap; i++) {
        if (!x->slots[i].file || x->ord[i] == MX_ORD_NULL) continue; /* ghosts hold NULL */
        const u128 v = ((u128)(x->ord[i] - 2u) + d) >> ds;
        DC_ASSERT(v <= ORD_STEPS);
        x->ord[i] = 2u + (uint32_t)v;
    }
    *w = (mx_window){(uint64_t)(nb >> 64), (uint64_t)nb, ns, true};
    x->rewindows++;
}

/* The ordering value to store for a row of sequence s (widening the window
 * first when s does not fit). */
static uint32_t ord_store(mx_index *x, mseq s)
{
    if (!in_window(&x->w, s)) rewindow(x, s);
    DC_ASSERT(in_window(&x->w, s));
    const uint32_t o = ord_of(&x->w, s);
    DC_ASSERT(o != MX_ORD_BELOW && o != MX_ORD_TOP);
    return o;
}

/* ------------------------------------------------------------ ghosts */

static uint32_t ghost_new(mx_index *x, mseq s)
{
    uint32_t g;
    if (x->ghost_free != UINT32_MAX) {
        g = x->ghost_free;
        x->ghost_free = (uint32_t)x->ghosts[g].ts;
    } else {
        DC_ASSERT(x->n_ghosts < x->cap_ghosts); /* reserved */
        g = (uint32_t)x->n_ghosts++;
    }
    x->ghosts[g] = s;
    x->ghosts_live++;
    return g;
}

static void ghost_drop(mx_index *x, uint32_t g)
{
    DC_ASSERT(g < x->n_ghosts && x->ghosts_live > 0);
    x->ghosts[g] = (mseq){(int64_t)x->ghost_free, INT64_MIN};
    x->ghost_free = g;
    x->ghosts_live--;
}

/* Fills slot i (empty or not) with v; a ghost entry it held is freed. */
static void slot_fill(mx_index *x, mx_slot *s, uint32_t *o, const mx_val *v)
{
    if (s->file == MX_FILE_NONE + 1) ghost_drop(x, s->row);
    s->file = v->file + 1;
    if (v->file == MX_FILE_NONE) {
        s->row = ghost_new(x, v->seq);
        *o = MX_ORD_NULL;
        return;
    }
    s->row = v->row;
    *o = ord_store(x, v->seq);
}

void dc_mx_set(mx_index *x, size_t slot, const mx_val *v)
{
    DC_ASSERT(slot < x->cap && x->slots[slot].file);
    DC_ASSERT(v->file < x->n_files || v->file == MX_FILE_NONE);
    uint32_t o = 0;
    mx_slot s = x->slots[slot];
    slot_fill(x, &s, &o, v); /* may rewindow: x->ord[slot] written after */
    x->slots[slot] = s;
    x->ord[slot] = o;
}

void dc_mx_move(mx_index *x, size_t slot, uint32_t file, uint32_t row)
{
    DC_ASSERT(slot < x->cap && x->slots[slot].file && x->slots[slot].file != MX_FILE_NONE + 1);
    DC_ASSERT(file < x->n_files);
    x->slots[slot].file = file + 1;
    x->slots[slot].row = row;
}

mx_val dc_mx_get(const mx_index *x, size_t slot)
{
    DC_ASSERT(slot < x->cap && x->slots[slot].file);
    const mx_slot *s = &x->slots[slot];
    mx_val v = {s->file - 1, s->row, {INT64_MIN, INT64_MIN}};
    if (v.file == MX_FILE_NONE) {
        DC_ASSERT(s->row < x->n_ghosts);
        v.seq = x->ghosts[s->row];
        v.row = 0;
    }
    return v;
}

int dc_mx_cmp(const mx_index *x, size_t slot, mseq s)
{
    DC_ASSERT(slot < x->cap && x->slots[slot].file);
    if (x->slots[slot].file == MX_FILE_NONE + 1) return dc_mseq_cmp(s, x->ghosts[x->slots[slot].row]);
    const uint32_t a = ord_of(&x->w, s), b = x->ord[slot];
    if (a != b) return a < b ? -1 : 1;
    return MX_UNSURE;
}

void dc_mx_insert(mx_index *x, const mkey *k, const mx_val *v)
{
    /* Room was reserved: the load stays under 0.93 and the arena fits. */
    DC_ASSERT(!too_full(x->n + 1, x->cap));
    DC_DASSERT(dc_mx_find(x, k) == SIZE_MAX);
    DC_ASSERT(v->file < x->n_files || v->file == MX_FILE_NONE);
    mx_slot e = {0, 0, 0};
    uint32_t o = 0;
    slot_fill(x, &e, &o, v);
    if (x->int_keys) {
        e.key = (uint64_t)k->i;
    } else {
        const size_t at = x->arena.len, sz = rec_size(k->len);
        DC_ASSERT(x->arena.cap - at >= sz);
        uint8_t *r = x->arena.data + at;
        memset(r, 0, sz);
        dc_store_le64(r, k->hash);
        dc_store_le32(r + 8, k->len);
        memcpy(r + REC_HDR, k->b, k->len);
        x->arena.len += sz;
        e.key = at;
    }
    rh_place(x, e, o, k->hash);
    x->n++;
}

void dc_mx_remove(mx_index *x, size_t slot)
{
    DC_ASSERT(slot < x->cap && x->slots[slot].file && x->n > 0);
    if (x->slots[slot].file == MX_FILE_NONE + 1) ghost_drop(x, x->slots[slot].row);
    size_t j = slot;
    for (;;) { /* pull the following entries of the run one step back */
        const size_t nx = j + 1 == x->cap ? 0 : j + 1;
        const mx_slot *s = &x->slots[nx];
        if (!s->file || dist_at(x, nx, slot_hash(x, s)) == 0) break;
        x->slots[j] = *s;
        x->ord[j] = x->ord[nx];
        j = nx;
    }
    memset(&x->slots[j], 0, sizeof x->slots[j]);
    x->n--;
}

int dc_mx_put_max(mx_index *x, const mkey *k, const mx_val *v, bool *dup, mx_seq_fn exact,
                  void *ctx, dc_err *err)
{
    *dup = false;
    const size_t j = dc_mx_find(x, k);
    if (j != SIZE_MAX) {
        *dup = true;
        int c = dc_mx_cmp(x, j, v->seq);
        if (c == MX_UNSURE) {
            const mx_val cur = dc_mx_get(x, j);
            mseq s;
            DC_TRY(exact(&s, ctx, cur.file, cur.row & MX_ROW_MASK, err));
            c = dc_mseq_cmp(v->seq, s);
        }
        if (c > 0) dc_mx_set(x, j, v);
        return 0;
    }
    DC_TRY(dc_mx_reserve(x, 1, k->len, err));
    dc_mx_insert(x, k, v);
    return 0;
}

void dc_mx_key_bytes(const mx_index *x, size_t slot, const uint8_t **p, uint32_t *n)
{
    DC_ASSERT(!x->int_keys && slot < x->cap && x->slots[slot].file);
    const uint8_t *r = x->arena.data + x->slots[slot].key;
    *n = dc_load_le32(r + 8);
    *p = r + REC_HDR;
}

uint64_t dc_mx_bytes(const mx_index *x)
{
    uint64_t b = (uint64_t)x->cap * (sizeof(mx_slot) + sizeof(uint32_t)) + x->arena.cap +
                 (uint64_t)x->n_ghosts * sizeof(mseq) +
                 (uint64_t)x->cap_files * sizeof(mx_file) + (uint64_t)x->pmap_cap * 4;
    for (size_t i = 0; i < x->n_files; i++) b += strlen(x->files[i].path) + 1;
    return b;
}

/* --------------------------------------------------------- file table */

static size_t pmap_home(const mx_index *x, uint64_t h) { return (size_t)h & (x->pmap_cap - 1); }

static int pmap_grow(mx_index *x, dc_err *err)
{
    const size_t cap = x->pmap_cap ? x->pmap_cap * 2 : 64;
    uint32_t *m = dc_calloc(cap, sizeof *m);
    if (!m) return dc_err_set(err, DC_ENOMEM, "key index: out of memory (file map)");
    dc_free(x->pmap);
    x->pmap = m;
    x->pmap_cap = cap;
    for (size_t id = 0; id < x->n_files; id++) {
        size_t j = pmap_home(x, x->files[id].hash);
        while (m[j]) j = (j + 1) & (cap - 1);
        m[j] = (uint32_t)id + 1;
    }
    return 0;
}

int64_t dc_mx_file_find(const mx_index *x, const char *path)
{
    if (!x->pmap_cap) return -1;
    const uint64_t h = dc_mx_hash_bytes(x, (const uint8_t *)path, strlen(path));
    for (size_t j = pmap_home(x, h);; j = (j + 1) & (x->pmap_cap - 1)) {
        const uint32_t id = x->pmap[j];
        if (!id) return -1;
        if (x->files[id - 1].hash == h && strcmp(x->files[id - 1].path, path) == 0)
            return (int64_t)id - 1;
    }
}

int dc_mx_files_reserve(mx_index *x, size_t more, dc_err *err)
{
    size_t need;
    if (dc_add_overflow_sz(x->n_files, more, &need) || need >= UINT32_MAX - 1)
        return dc_err_set(err, DC_ELIMIT, "key index: too many files");
    if (need > x->cap_files) {
        size_t cap = x->cap_files ? x->cap_files : 64;
        while (cap < need) cap *= 2;
        mx_file *f = dc_realloc(x->files, cap * sizeof *f);
        if (!f) return dc_err_set(err, DC_ENOMEM, "key index: out of memory (files)");
        x->files = f;
        x->cap_files = cap;
    }
    while (need * 2 > x->pmap_cap) DC_TRY(pmap_grow(x, err));
    return 0;
}

uint32_t dc_mx_file_adopt(mx_index *x, char *path, uint64_t n_rows)
{
    DC_ASSERT(x->n_files < x->cap_files && (x->n_files + 1) * 2 <= x->pmap_cap);
    DC_ASSERT(dc_mx_file_find(x, path) < 0);
    mx_file *f = &x->files[x->n_files];
    f->path = path;
    f->hash = dc_mx_hash_bytes(x, (const uint8_t *)path, strlen(path));
    f->n_rows = n_rows;
    f->snap_i = SIZE_MAX;
    size_t j = pmap_home(x, f->hash);
    while (x->pmap[j]) j = (j + 1) & (x->pmap_cap - 1);
    x->pmap[j] = (uint32_t)x->n_files + 1;
    return (uint32_t)x->n_files++;
}

int dc_mx_file_add(uint32_t *id_out, mx_index *x, const char *path, uint64_t n_rows,
                   dc_err *err)
{
    DC_TRY(dc_mx_files_reserve(x, 1, err));
    char *p = dc_strdup(path);
    if (!p) return dc_err_set(err, DC_ENOMEM, "key index: out of memory (file path)");
    *id_out = dc_mx_file_adopt(x, p, n_rows);
    return 0;
}
