/* The allocation hook: every allocation of ours passes here so that tests can
 * make the Nth one fail (zstd, libgit2 failalloc, SQLite OOM tests). */
#include "dc_common.h"

#include <stdlib.h>

/* Per thread: the HTTP server's thread allocates while the ingest loop does,
 * and a test arms the countdown on the thread whose allocations it means. */
static _Thread_local long fail_countdown; /* 0: never fail; N: the Nth call from now fails */
static _Thread_local long alloc_calls;    /* calls since the last dc_alloc_fail_after */

void dc_alloc_fail_after(long n)
{
    fail_countdown = n;
    alloc_calls = 0;
}

long dc_alloc_count(void) { return alloc_calls; }

static bool should_fail(void)
{
    alloc_calls++;
    if (fail_countdown <= 0) return false;
    if (--fail_countdown == 0) return true;
    return false;
}

void *dc_malloc(size_t n)
{
    if (should_fail()) return NULL;
    return malloc(n ? n : 1);
}

void *dc_calloc(size_t count, size_t size)
{
    if (should_fail()) return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *dc_realloc(void *p, size_t n)
{
    if (should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

void dc_free(void *p) { free(p); }

char *dc_strndup(const char *s, size_t n)
{
    char *d = dc_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *dc_strdup(const char *s) { return dc_strndup(s, strlen(s)); }

int dc_array_grow(void **p, size_t *cap, size_t need, size_t elem, size_t max, dc_err *err)
{
    if (need <= *cap) return 0;
    if (need > max) return dc_err_set(err, DC_ENOMEM, "more than %zu entries", max);
    size_t n = *cap ? *cap : 16, bytes;
    while (n < need) n = n > SIZE_MAX / 2 ? need : n * 2;
    if (n > max) n = max;
    if (dc_mul_overflow_sz(n, elem, &bytes))
        return dc_err_set(err, DC_ENOMEM, "%zu entries of %zu bytes overflow", n, elem);
    void *q = dc_realloc(*p, bytes);
    if (!q) return dc_err_set(err, DC_ENOMEM, "out of memory (%zu bytes)", bytes);
    *p = q;
    *cap = n;
    return 0;
}
