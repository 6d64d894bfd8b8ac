/* Bounded growable buffers, the cursor's error path and the arena. */
#include "dc_common.h"

#include <stdio.h>
#include <stdlib.h>

_Static_assert(sizeof(void *) == 8, "deltacdc assumes a 64-bit host");

void dc_buf_init(dc_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void dc_buf_dispose(dc_buf *b)
{
    dc_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int dc_buf_reserve(dc_buf *b, size_t extra, dc_err *err)
{
    size_t need;
    if (dc_add_overflow_sz(b->len, extra, &need) || need > b->max)
        return dc_err_set(err, DC_ELIMIT, "buffer would exceed its maximum of %zu bytes",
                          b->max);
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max) cap = b->max;
    uint8_t *p = dc_realloc(b->data, cap);
    if (!p) return dc_err_set(err, DC_ENOMEM, "out of memory growing a buffer to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int dc_buf_append_grow(dc_buf *b, const void *p, size_t n, dc_err *err)
{
    if (n == 0) return 0;
    DC_TRY(dc_buf_reserve(b, n, err));
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int dc_buf_appendf(dc_buf *b, dc_err *err, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return dc_err_set(err, DC_EINTERNAL, "formatting failed");
    if ((size_t)n < sizeof small) return dc_buf_append(b, small, (size_t)n, err);
    DC_TRY(dc_buf_reserve(b, (size_t)n + 1, err));
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

uint8_t *dc_buf_steal(dc_buf *b, size_t *len_out)
{
    uint8_t *p = b->data;
    if (len_out) *len_out = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int dc_cur_short(const dc_cur *c, size_t need, dc_err *err)
{
    return dc_err_set(err, DC_ECORRUPT, "%s: truncated at offset %zu: need %zu bytes, have %zu",
                      c->what ? c->what : "input", dc_cur_offset(c), need, dc_cur_left(c));
}

int dc_cur_uvarint(dc_cur *c, uint64_t *out, dc_err *err)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b = 0;
        DC_TRY(dc_cur_u8(c, &b, err));
        if (shift == 63 && b > 1)
            return dc_err_set(err, DC_ECORRUPT, "%s: varint overflows 64 bits at offset %zu",
                              c->what ? c->what : "input", dc_cur_offset(c));
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return dc_err_set(err, DC_ECORRUPT, "%s: varint longer than 10 bytes at offset %zu",
                      c->what ? c->what : "input", dc_cur_offset(c));
}

/* ---------------------------------------------------------------- arena */

struct dc_arena_chunk {
    dc_arena_chunk *next; /* older chunk */
    size_t size;          /* usable bytes in data[] */
    size_t used;          /* bytes handed out from data[] */
    _Alignas(16) uint8_t data[];
};

#define ARENA_CHUNK (64u * 1024)

void dc_arena_init(dc_arena *a, size_t max)
{
    a->head = NULL;
    a->used = 0;
    a->max = max;
}

void dc_arena_reset(dc_arena *a)
{
    dc_arena_chunk *c = a->head;
    while (c) {
        dc_arena_chunk *next = c->next;
        dc_free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}

void dc_arena_dispose(dc_arena *a) { dc_arena_reset(a); }

void *dc_arena_alloc(dc_arena *a, size_t n, dc_err *err)
{
    size_t rounded, total;
    if (dc_add_overflow_sz(n, 15, &rounded))
        goto limit;
    rounded &= ~(size_t)15;
    if (dc_add_overflow_sz(a->used, rounded, &total) || total > a->max)
        goto limit;
#ifndef DC_ARENA_PASSTHROUGH
    dc_arena_chunk *c = a->head;
    if (!c || c->size - c->used < rounded) {
        size_t size = rounded > ARENA_CHUNK / 4 ? rounded : ARENA_CHUNK;
        c = dc_malloc(sizeof *c + size);
        if (!c) goto oom;
        c->size = size;
        c->used = 0;
        /* A big private chunk goes behind the head so the head keeps serving. */
        if (size != ARENA_CHUNK && a->head) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += rounded;
#else
    dc_arena_chunk *c = dc_malloc(sizeof *c + rounded);
    if (!c) goto oom;
    c->size = c->used = rounded;
    c->next = a->head;
    a->head = c;
    void *p = c->data;
#endif
    a->used = total;
    return p;
limit:
    dc_err_set(err, DC_ELIMIT, "arena would exceed its maximum of %zu bytes", a->max);
    return NULL;
oom:
    dc_err_set(err, DC_ENOMEM, "out of memory allocating %zu bytes", n);
    return NULL;
}

char *dc_arena_strndup(dc_arena *a, const char *s, size_t n, dc_err *err)
{
    char *d = dc_arena_alloc(a, n + 1, err);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
