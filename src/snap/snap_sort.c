/*
 * snap: key-sorted runs in bounded memory, and their streaming merge.
 *
 * Rows are appended to the run in hand until it holds the memory budget;
 * the run is then sorted (key ascending, newest first within a key), cut
 * down to each key's newest row — the only one that can win — and written
 * to an unlinked temporary file. At the end the last run is sorted in place
 * and every run is merged through a min-heap: the first record of a key to
 * come out is its newest over all runs, the rest of the key is skipped.
 * Memory: the budget, plus one record and one stdio buffer per spilled run,
 * and while a run is sorted a scratch copy of its entries (8 bytes a record).
 *
 * The sort: each record's entry carries 4 bytes of its key (past the bytes
 * every key of the run shares), so that nearly every comparison is of two
 * integers; a run already in key order (a history written in primary-key
 * order) is found so in one pass and left as it is; others are radix-sorted
 * on those bytes, and records sharing them ordered by the whole key and rank.
 */
#include "snap_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* stdio buffer of a spilled run, written and read back. */
#define SPILL_BUF_BYTES ((size_t)1 << 20)
/* Records of a memory run fetched ahead of the merge (src_advance). */
#define PREFETCH_AHEAD 16

_Static_assert(SN_MAX_RUN_BYTES + SN_MAX_ROW_BYTES + SN_MAX_KEY_BYTES < ((int64_t)1 << 35),
               "a record's offset in 8-byte units fits sn_ent.off8");

static int rank_cmp(const sn_hdr *a, const sn_hdr *b)
{
    if (a->cls != b->cls) return a->cls < b->cls ? -1 : 1;
    for (int i = 0; i < 2; i++)
        if (a->rank[i] != b->rank[i]) return a->rank[i] < b->rank[i] ? -1 : 1;
    /* Same position: the history holds the row as of that position, so a
     * CDC row there is not newer (it must not regress the history). */
    if (a->history != b->history) return a->history ? 1 : -1;
    return 0;
}

int sn_rec_cmp(const sn_hdr *a, const uint8_t *ka, const sn_hdr *b, const uint8_t *kb)
{
    const int c = sn_key_cmp(ka, a->klen, kb, b->klen);
    return c ? c : -rank_cmp(a, b);
}

/* Records of one prefix sorted by insertion beyond which qsort_r takes them. */
#define TIE_INSERTION_MAX 16

static int ent_cmp(const void *x, const void *y, void *ctx)
{
    const sn_ent *ea = x, *eb = y;
    if (ea->pfx != eb->pfx) return ea->pfx < eb->pfx ? -1 : 1;
    const uint8_t *base = ctx;
    const sn_hdr *a = (const sn_hdr *)(base + ((size_t)ea->off8 << 3));
    const sn_hdr *b = (const sn_hdr *)(base + ((size_t)eb->off8 << 3));
    return sn_rec_cmp(a, (const uint8_t *)(a + 1), b, (const uint8_t *)(b + 1));
}

void sn_sorter_init(sn_sorter *s, int64_t budget, const char *tmp_dir)
{
    memset(s, 0, sizeof *s);
    s->budget = budget < SN_MAX_RUN_BYTES ? budget : SN_MAX_RUN_BYTES;
    s->tmp_dir = tmp_dir;
    /* A run never outgrows the budget by more than one row. */
    dc_buf_init(&s->data, (size_t)s->budget + SN_MAX_ROW_BYTES + SN_MAX_KEY_BYTES);
    dc_buf_init(&s->last_key, SN_MAX_KEY_BYTES);
}

void sn_sorter_dispose(sn_sorter *s)
{
    for (uint32_t i = 0; i < s->n_spills; i++)
        if (s->spills[i]) fclose(s->spills[i]);
    for (uint32_t i = 0; i < s->n_srcs; i++) dc_buf_dispose(&s->srcs[i].buf);
    dc_free(s->spills);
    dc_free(s->srcs);
    dc_free(s->heap);
    dc_free(s->recs);
    dc_buf_dispose(&s->data);
    dc_buf_dispose(&s->last_key);
    memset(s, 0, sizeof *s);
}

static const sn_hdr *rec_at(const sn_sorter *s, size_t i)
{
    return (const sn_hdr *)(s->data.data + ((size_t)s->recs[i].off8 << 3));
}

static bool same_key(const sn_hdr *a, const sn_hdr *b)
{
    return a->klen == b->klen && memcmp(a + 1, b + 1, a->klen) == 0;
}

/* A new unlinked temporary file in tmp_dir. */
static int spill_open(FILE **out, const sn_sorter *s, dc_err *err)
{
    const char *dir = s->tmp_dir ? s->tmp_dir : getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    dc_buf path;
    dc_buf_init(&path, 4096);
    int rc = dc_buf_appendf(&path, err, "%s/deltacdc-snapshot-XXXXXX%c", dir, '\0');
    int fd = rc == 0 ? mkstemp((char *)path.data) : -1;
    if (rc == 0 && fd < 0)
        rc = dc_err_set(err, DC_EIO, "can not create a temporary file in %s: %s "
                        "(set --tmp-dir or snapshot.temp_dir)", dir, strerror(errno));
    if (rc == 0) {
        unlink((const char *)path.data); /* gone with the process, whatever happens */
        if (!(*out = fdopen(fd, "w+b"))) {
            close(fd);
            rc = dc_err_set(err, DC_EIO, "fdopen: %s", strerror(errno));
        } else {
            setvbuf(*out, NULL, _IOFBF, SPILL_BUF_BYTES);
        }
    }
    dc_buf_dispose(&path);
    return rc;
}

/* How many leading key bytes every record of the run shares (n >= 1). */
static size_t common_prefix(const sn_sorter *s)
{
    const sn_hdr *h0 = rec_at(s, 0);
    const uint8_t *k0 = (const uint8_t *)(h0 + 1);
    size_t c = h0->klen;
    for (size_t i = 1; i < s->n && c > 0; i++) {
        const sn_hdr *h = rec_at(s, i);
        const uint8_t *k = (const uint8_t *)(h + 1);
        if (h->klen < c) c = h->klen;
        if (memcmp(k0, k, c) == 0) continue;
        size_t j = 0;
        while (k0[j] == k[j]) j++;
        c = j;
    }
    return c;
}

/* Each entry's pfx. Past the bytes all keys share, 4 bytes decide nearly
 * every comparison (integer keys of a table up to 2^32 rows, strings with a
 * common head): the sort compares integers, not records scattered over the
 * run. */
static void set_prefixes(sn_sorter *s)
{
    const size_t skip = common_prefix(s);
    for (size_t i = 0; i < s->n; i++) {
        const sn_hdr *h = rec_at(s, i);
        const uint8_t *k = (const uint8_t *)(h + 1) + skip;
        const size_t m = h->klen - skip < 4 ? h->klen - skip : 4;
        uint32_t v = 0;
        for (size_t j = 0; j < m; j++) v |= (uint32_t)k[j] << (24 - 8 * j);
        s->recs[i].pfx = v;
    }
}

/* Whether the run is already in order: a history written in key order
 * (a bootstrap's primary-key chunks) costs one pass, no sort. */
static bool in_order(const sn_sorter *s)
{
    for (size_t i = 1; i < s->n; i++)
        if (ent_cmp(&s->recs[i - 1], &s->recs[i], s->data.data) > 0) return false;
    return true;
}

/* Stable LSD radix sort of the entries by pfx, a byte a pass, skipping the
 * bytes every entry shares; false when its scratch array can not be had.
 * The scratch (8 bytes a record, while the run is sorted) is what glibc's
 * qsort_r took for its merge sort. */
static bool radix_sort(sn_sorter *s)
{
    sn_ent *tmp = dc_malloc(s->n * sizeof *tmp);
    if (!tmp) return false;
    size_t cnt[4][256];
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < s->n; i++)
        for (int d = 0; d < 4; d++) cnt[d][(s->recs[i].pfx >> (8 * d)) & 255]++;
    sn_ent *from = s->recs, *to = tmp;
    for (int d = 0; d < 4; d++) {
        if (cnt[d][(from[0].pfx >> (8 * d)) & 255] == s->n) continue;
        size_t pos[256], at = 0;
        for (int b = 0; b < 256; b++) pos[b] = at, at += cnt[d][b];
        for (size_t i = 0; i < s->n; i++) to[pos[(from[i].pfx >> (8 * d)) & 255]++] = from[i];
        sn_ent *t = from;
        from = to;
        to = t;
    }
    if (from != s->recs) memcpy(s->recs, from, s->n * sizeof *s->recs);
    dc_free(tmp);
    return true;
}

/* Orders each stretch of equal prefixes by the whole key and the rank. */
static void sort_ties(sn_sorter *s)
{
    for (size_t i = 0; i < s->n;) {
        size_t j = i + 1;
        while (j < s->n && s->recs[j].pfx == s->recs[i].pfx) j++;
        if (j - i > TIE_INSERTION_MAX) {
            qsort_r(s->recs + i, j - i, sizeof *s->recs, ent_cmp, s->data.data);
        } else {
            for (size_t k = i + 1; k < j; k++) {
                const sn_ent e = s->recs[k];
                size_t m = k;
                for (; m > i && ent_cmp(&s->recs[m - 1], &e, s->data.data) > 0; m--)
                    s->recs[m] = s->recs[m - 1];
                s->recs[m] = e;
            }
        }
        i = j;
    }
}

static void sort_run(sn_sorter *s)
{
    if (s->sorted) return;
    s->sorted = true;
    if (s->n < 2) return;
    set_prefixes(s);
    if (in_order(s)) return;
    if (radix_sort(s)) sort_ties(s);
    else qsort_r(s->recs, s->n, sizeof *s->recs, ent_cmp, s->data.data);
}

void sn_sorter_sort(sn_sorter *s)
{
    sort_run(s);
}

/* Sorts the run in hand, writes each key's newest record to a new spill. */
static int spill(sn_sorter *s, dc_err *err)
{
    void *grown = dc_realloc(s->spills, (s->n_spills + 1) * sizeof *s->spills);
    if (!grown) return dc_err_set(err, DC_ENOMEM, "out of memory");
    s->spills = grown;
    FILE *f = NULL;
    DC_TRY(spill_open(&f, s, err));
    s->spills[s->n_spills++] = f;
    sort_run(s);
    for (size_t i = 0; i < s->n; i++) {
        const sn_hdr *h = rec_at(s, i);
        if (i > 0 && same_key(h, rec_at(s, i - 1))) continue;
        const size_t n = sizeof *h + h->klen + h->rlen;
        if (fwrite_unlocked(h, 1, n, f) != n)
            return dc_err_set(err, DC_EIO, "writing a spilled run to %s: %s",
                              s->tmp_dir ? s->tmp_dir : "the temporary directory",
                              strerror(errno));
        s->spill_bytes += n;
    }
    if (fflush(f) != 0)
        return dc_err_set(err, DC_EIO, "writing a spilled run: %s", strerror(errno));
    dc_buf_reset(&s->data);
    s->n = 0;
    s->sorted = false;
    return 0;
}

/* Asks for huge pages under the run's records (transparent huge pages are
 * often on for madvise'd memory only): the merge reads them in key order,
 * not in the order they lie, and with 4 KiB pages nearly every record of a
 * large run missed the TLB as well as the cache. A hint: failure is fine. */
static void huge_pages(const dc_buf *b)
{
    const uintptr_t huge = (uintptr_t)2 << 20;
    const uintptr_t lo = ((uintptr_t)b->data + huge - 1) & ~(huge - 1);
    const uintptr_t hi = ((uintptr_t)b->data + b->cap) & ~(huge - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

int sn_sorter_put(uint8_t **key, uint8_t **row, sn_sorter *s, const sn_hdr *h, dc_err *err)
{
    if (h->klen > SN_MAX_KEY_BYTES || h->rlen > SN_MAX_ROW_BYTES)
        return dc_err_set(err, DC_ELIMIT, "a row of %u bytes (key %u) is too large",
                          h->rlen, h->klen);
    const size_t used = sizeof *h + h->klen + h->rlen;
    const size_t n = (used + 7) & ~(size_t)7;
    if (s->n > 0 && (int64_t)(s->data.len + n + (s->n + 1) * sizeof *s->recs) > s->budget)
        DC_TRY(spill(s, err));
    if (s->n == s->cap) {
        const size_t cap = s->cap ? s->cap * 2 : 4096;
        sn_ent *grown = dc_realloc(s->recs, cap * sizeof *grown);
        if (!grown) return dc_err_set(err, DC_ENOMEM, "out of memory");
        s->recs = grown;
        s->cap = cap;
    }
    const size_t cap = s->data.cap;
    /* The whole budget at once: pages are touched only as records come, and
     * growing by doubling copied the run (and faulted its pages) each time.
     * A budget the system will not map at once grows as it did. */
    if (!cap) (void)dc_buf_reserve(&s->data, (size_t)s->budget + n, NULL);
    DC_TRY(dc_buf_reserve(&s->data, n, err));
    if (s->data.cap != cap) huge_pages(&s->data);
    uint8_t *p = s->data.data + s->data.len;
    memcpy(p, h, sizeof *h);
    memset(p + used, 0, n - used);
    s->recs[s->n].pfx = 0;
    s->recs[s->n++].off8 = (uint32_t)(s->data.len >> 3);
    s->data.len += n;
    s->sorted = false;
    *key = p + sizeof *h;
    *row = *key + h->klen;
    return 0;
}

int sn_sorter_add(sn_sorter *s, const sn_hdr *h, const uint8_t *key, const uint8_t *row,
                  dc_err *err)
{
    uint8_t *k = NULL, *r = NULL;
    DC_TRY(sn_sorter_put(&k, &r, s, h, err));
    if (h->klen) memcpy(k, key, h->klen);
    if (h->rlen) memcpy(r, row, h->rlen);
    return 0;
}

/* ------------------------------------------------------------- merge */

/* Moves source i to its next record; *has false when it is drained. */
static int src_advance(bool *has, sn_src *src, dc_err *err)
{
    if (src->stream)
        return src->stream->next(has, &src->h, &src->key, &src->row, src->stream->ctx, err);
    if (!src->f) {
        *has = src->next < src->mem->n;
        if (!*has) return 0;
        const sn_hdr *h = rec_at(src->mem, src->next++);
        /* The run's records come out in key order, not in the order they
         * lie in memory (a CDC table's are scattered): ask for a later one
         * now, so that its cache lines are there when its turn comes. */
        if (src->next + PREFETCH_AHEAD < src->mem->n) {
            const uint8_t *p = (const uint8_t *)rec_at(src->mem, src->next + PREFETCH_AHEAD);
            __builtin_prefetch(p);
            __builtin_prefetch(p + 64);
            __builtin_prefetch(p + 128); /* a record of ~130 bytes spans three lines */
        }
        src->h = *h;
        src->key = (const uint8_t *)(h + 1);
        src->row = src->key + h->klen;
        return 0;
    }
    const size_t got = fread_unlocked(&src->h, 1, sizeof src->h, src->f);
    if (got == 0 && feof(src->f)) {
        *has = false;
        return 0;
    }
    const size_t n = (size_t)src->h.klen + src->h.rlen;
    if (got != sizeof src->h || src->h.klen > SN_MAX_KEY_BYTES || src->h.rlen > SN_MAX_ROW_BYTES)
        return dc_err_set(err, DC_ECORRUPT, "a spilled run reads back short or "
                          "damaged (temporary directory full or changed?)");
    dc_buf_reset(&src->buf);
    DC_TRY(dc_buf_reserve(&src->buf, n, err));
    if (fread_unlocked(src->buf.data, 1, n, src->f) != n)
        return dc_err_set(err, DC_ECORRUPT, "a spilled run reads back short");
    src->key = src->buf.data;
    src->row = src->buf.data + src->h.klen;
    *has = true;
    return 0;
}

static bool heap_less(const sn_sorter *s, uint32_t a, uint32_t b)
{
    const sn_src *x = &s->srcs[a], *y = &s->srcs[b];
    return sn_rec_cmp(&x->h, x->key, &y->h, y->key) < 0;
}

static void heap_down(sn_sorter *s, uint32_t i)
{
    for (;;) {
        uint32_t m = i;
        const uint32_t l = 2 * i + 1, r = 2 * i + 2;
        if (l < s->n_heap && heap_less(s, s->heap[l], s->heap[m])) m = l;
        if (r < s->n_heap && heap_less(s, s->heap[r], s->heap[m])) m = r;
        if (m == i) return;
        const uint32_t t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
}

int sn_sorter_finish(sn_sorter *s, sn_sorter *other, const sn_stream *stream, dc_err *err)
{
    sort_run(s);
    if (other) sort_run(other);
    const uint32_t n_other = other ? other->n_spills + 1 : 0;
    s->n_srcs = s->n_spills + 1 + n_other + (stream ? 1 : 0);
    s->srcs = dc_calloc(s->n_srcs, sizeof *s->srcs);
    s->heap = dc_calloc(s->n_srcs, sizeof *s->heap);
    if (!s->srcs || !s->heap) return dc_err_set(err, DC_ENOMEM, "out of memory");
    uint32_t i = 0;
    for (uint32_t j = 0; j < s->n_spills; j++) s->srcs[i++].f = s->spills[j];
    for (uint32_t j = 0; other && j < other->n_spills; j++) s->srcs[i++].f = other->spills[j];
    s->srcs[i++].mem = s;
    if (other) s->srcs[i++].mem = other;
    if (stream) s->srcs[i++].stream = stream;
    DC_ASSERT(i == s->n_srcs);
    for (i = 0; i < s->n_srcs; i++) {
        sn_src *src = &s->srcs[i];
        dc_buf_init(&src->buf, SN_MAX_KEY_BYTES + SN_MAX_ROW_BYTES);
        if (src->f && fseek(src->f, 0, SEEK_SET) != 0)
            return dc_err_set(err, DC_EIO, "rewinding a spilled run: %s",
                              strerror(errno));
        bool has = false;
        DC_TRY(src_advance(&has, src, err));
        if (has) s->heap[s->n_heap++] = i;
    }
    for (i = s->n_heap / 2; i-- > 0;) heap_down(s, i);
    return 0;
}

int sn_sorter_next(const sn_hdr **h, const uint8_t **key, const uint8_t **row, bool *done,
                   sn_sorter *s, dc_err *err)
{
    while (s->n_heap > 0) {
        sn_src *src = &s->srcs[s->heap[0]];
        const bool repeat = s->started && sn_key_cmp(src->key, src->h.klen, s->last_key.data,
                                                     (uint32_t)s->last_key.len) == 0;
        if (!repeat) {
            /* The newest record of a new key: hand it out. It stays on top
             * and, as a repeat of last_key, moves on at the next call (so
             * the pointers stay valid till then). */
            dc_buf_reset(&s->last_key);
            DC_TRY(dc_buf_append(&s->last_key, src->key, src->h.klen, err));
            s->started = true;
            *h = &src->h;
            *key = src->key;
            *row = src->row;
            *done = false;
            return 0;
        }
        bool has = false;
        DC_TRY(src_advance(&has, src, err));
        if (!has) s->heap[0] = s->heap[--s->n_heap];
        if (s->n_heap) heap_down(s, 0);
    }
    *done = true;
    return 0;
}
