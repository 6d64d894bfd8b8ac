/*
 * snap: key-sorted runs in bounded memory, and their streaming merge.
 *
 * Rows are appended to the run in hand until it holds the memory budget;
 * the run is then sorted (key ascending, newest first within a key), cut
 * down to each key's newest row — the only one that can win — and written
 * to an unlinked temporary file. At the end the last run is sorted in place
 * and every run is merged through a min-heap: the first record of a key to
 * come out is its newest over all runs, the rest of the key is skipped.
 * Memory: the budget, plus one record and one stdio buffer per spilled run.
 */
#include "snap_int.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* stdio buffer of a spilled run, written and read back. */
#define SPILL_BUF_BYTES ((size_t)1 << 20)

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
    const uint32_t n = a->klen < b->klen ? a->klen : b->klen;
    const int c = memcmp(ka, kb, n);
    if (c) return c;
    if (a->klen != b->klen) return a->klen < b->klen ? -1 : 1;
    return -rank_cmp(a, b);
}

static int mem_cmp(const void *x, const void *y, void *ctx)
{
    const uint8_t *base = ctx;
    const sn_hdr *a = (const sn_hdr *)(base + *(const size_t *)x);
    const sn_hdr *b = (const sn_hdr *)(base + *(const size_t *)y);
    return sn_rec_cmp(a, (const uint8_t *)(a + 1), b, (const uint8_t *)(b + 1));
}

void sn_sorter_init(sn_sorter *s, int64_t budget, const char *tmp_dir)
{
    memset(s, 0, sizeof *s);
    s->budget = budget;
    s->tmp_dir = tmp_dir;
    /* A run never outgrows the budget by more than one row. */
    dc_buf_init(&s->data, (size_t)budget + SN_MAX_ROW_BYTES + SN_MAX_KEY_BYTES);
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
    return (const sn_hdr *)(s->data.data + s->recs[i]);
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

static void sort_run(sn_sorter *s)
{
    if (s->n > 1) qsort_r(s->recs, s->n, sizeof *s->recs, mem_cmp, s->data.data);
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
        if (fwrite(h, 1, n, f) != n)
            return dc_err_set(err, DC_EIO, "writing a spilled run to %s: %s",
                              s->tmp_dir ? s->tmp_dir : "the temporary directory",
                              strerror(errno));
        s->spill_bytes += n;
    }
    if (fflush(f) != 0)
        return dc_err_set(err, DC_EIO, "writing a spilled run: %s", strerror(errno));
    dc_buf_reset(&s->data);
    s->n = 0;
    return 0;
}

int sn_sorter_add(sn_sorter *s, const sn_hdr *h, const uint8_t *key, const uint8_t *row,
                  dc_err *err)
{
    if (h->klen > SN_MAX_KEY_BYTES || h->rlen > SN_MAX_ROW_BYTES)
        return dc_err_set(err, DC_ELIMIT, "a row of %u bytes (key %u) is too large",
                          h->rlen, h->klen);
    const size_t n = (sizeof *h + h->klen + h->rlen + 7) & ~(size_t)7;
    if (s->n > 0 && (int64_t)(s->data.len + n + (s->n + 1) * sizeof *s->recs) > s->budget)
        DC_TRY(spill(s, err));
    if (s->n == s->cap) {
        const size_t cap = s->cap ? s->cap * 2 : 4096;
        size_t *grown = dc_realloc(s->recs, cap * sizeof *grown);
        if (!grown) return dc_err_set(err, DC_ENOMEM, "out of memory");
        s->recs = grown;
        s->cap = cap;
    }
    DC_TRY(dc_buf_reserve(&s->data, n, err));
    uint8_t *p = s->data.data + s->data.len;
    memcpy(p, h, sizeof *h);
    memcpy(p + sizeof *h, key, h->klen);
    memcpy(p + sizeof *h + h->klen, row, h->rlen);
    memset(p + sizeof *h + h->klen + h->rlen, 0, n - sizeof *h - h->klen - h->rlen);
    s->recs[s->n++] = s->data.len;
    s->data.len += n;
    return 0;
}

/* ------------------------------------------------------------- merge */

/* Moves source i to its next record; *has false when it is drained. */
static int src_advance(bool *has, sn_src *src, dc_err *err)
{
    if (!src->f) {
        *has = src->next < src->mem->n;
        if (!*has) return 0;
        const sn_hdr *h = rec_at(src->mem, src->next++);
        src->h = *h;
        src->key = (const uint8_t *)(h + 1);
        src->row = src->key + h->klen;
        return 0;
    }
    const size_t got = fread(&src->h, 1, sizeof src->h, src->f);
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
    if (fread(src->buf.data, 1, n, src->f) != n)
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

int sn_sorter_finish(sn_sorter *s, sn_sorter *other, dc_err *err)
{
    sort_run(s);
    if (other) sort_run(other);
    const uint32_t n_other = other ? other->n_spills + 1 : 0;
    s->n_srcs = s->n_spills + 1 + n_other;
    s->srcs = dc_calloc(s->n_srcs, sizeof *s->srcs);
    s->heap = dc_calloc(s->n_srcs, sizeof *s->heap);
    if (!s->srcs || !s->heap) return dc_err_set(err, DC_ENOMEM, "out of memory");
    uint32_t i = 0;
    for (uint32_t j = 0; j < s->n_spills; j++) s->srcs[i++].f = s->spills[j];
    for (uint32_t j = 0; other && j < other->n_spills; j++) s->srcs[i++].f = other->spills[j];
    s->srcs[i++].mem = s;
    if (other) s->srcs[i++].mem = other;
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
        const bool repeat = s->started && src->h.klen == s->last_key.len &&
                            memcmp(src->key, s->last_key.data, src->h.klen) == 0;
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
