/* Fuzzes the key index file decoder (src/merge/merge_ixfile.c): any input
 * loads or is refused cleanly, leaving the index empty. A loaded index must
 * find every key it holds at its own slot, answer comparisons without
 * crashing, and write back to the very bytes it was loaded from. The table
 * identity and key layout are taken from the input's own header, so the
 * fuzzer reaches the checks behind them. The first input byte picks a mode:
 * odd, the checksums are recomputed before loading, so that mutations reach
 * the structural checks (slots, ghosts, key records, probe order) instead of
 * stopping at a checksum; even, the file is loaded as it is. */
#include "../src/merge/merge_int.h"

#include <stdio.h>
#include <stdlib.h>

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_merge_ixfile: %s\n", what);
        abort();
    }
}

typedef struct src {
    const uint8_t *p;
    size_t n;
} src;

static int rd(void *ctx, uint64_t off, size_t n, void *dst, dc_err *err)
{
    const src *s = ctx;
    if (off > s->n || n > s->n - off) return dc_err_set(err, DC_ECORRUPT, "short");
    memcpy(dst, s->p + off, n);
    return 0;
}

typedef struct out {
    const uint8_t *p;       /* the input, compared as bytes come */
    size_t n, at;
    bool same;
} out;

static int put(void *ctx, const void *p, size_t n, dc_err *err)
{
    (void)err;
    out *o = ctx;
    if (o->at > o->n || n > o->n - o->at || memcmp(o->p + o->at, p, n) != 0) o->same = false;
    o->at += n;
    return 0;
}

static void loaded(mx_index *x, const uint8_t *data, size_t size, int64_t version,
                   uint64_t ident)
{
    for (size_t i = 0; i < x->cap; i++) {
        const mx_slot *s = &x->slots[i];
        if (!s->file) continue;
        mkey k = {0, (int64_t)s->key, NULL, 0};
        if (x->int_keys) {
            k.hash = dc_mx_hash_i64(x, k.i);
        } else {
            dc_mx_key_bytes(x, i, &k.b, &k.len);
            k.hash = dc_mx_hash_bytes(x, k.b, k.len);
        }
        check(dc_mx_find(x, &k) == i, "a key is not found at its slot");
        const int c = dc_mx_cmp(x, i, (mseq){(int64_t)i, 0});
        check(c == -1 || c == 0 || c == 1 || c == MX_UNSURE, "comparison out of range");
        (void)dc_mx_get(x, i);
    }
    out o = {data, size, 0, true};
    dc_err err;
    check(dc_mxf_write(x, version, ident, put, &o, &err) == 0, "write back failed");
    check(o.same && o.at == size, "written back differently");
}

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* Recomputes the section checksums and then the header's, where the header's
 * sizes place the sections inside the file (else leaves it). */
static void fix_sums(uint8_t *p, size_t n)
{
    if (n < 160) return;
    const uint64_t cap = dc_load_le64(p + 48), ghosts = dc_load_le64(p + 80),
                   arena = dc_load_le64(p + 96), files = dc_load_le64(p + 112);
    if (cap > n / 16 || ghosts > n / 16 || arena > n || files > n) return;
    const uint64_t ord = cap * 4, ordp = (ord + 7) & ~(uint64_t)7;
    if (160 + files + cap * 16 + ordp + ghosts * 16 + arena != n) return;
    uint64_t at = 160;
    dc_store_le64(p + 120, dc_mxf_sum(p + at, files));
    at += files;
    dc_store_le64(p + 128, dc_mxf_sum(p + at, cap * 16) ^ rotl(dc_mxf_sum(p + at + cap * 16, ord), 17));
    at += cap * 16 + ordp;
    dc_store_le64(p + 136, dc_mxf_sum(p + at, ghosts * 16));
    at += ghosts * 16;
    dc_store_le64(p + 144, dc_mxf_sum(p + at, arena));
    dc_store_le64(p + 152, dc_mxf_sum(p, 152));
}

static void one(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if ((data[0] & 1) == 0) {
        one(data + 1, size - 1);
        return 0;
    }
    uint8_t *p = malloc(size);
    check(p != NULL, "out of memory");
    memcpy(p, data + 1, size - 1);
    fix_sums(p, size - 1);
    one(p, size - 1);
    free(p);
    return 0;
}

static void one(const uint8_t *data, size_t size)
{
    uint64_t ident = 0;
    bool int_keys = false;
    if (size >= 32) {
        ident = dc_load_le64(data + 24);
        int_keys = (data[12] & 1) != 0;
    }
    mx_index x;
    dc_mx_init(&x, int_keys);
    src s = {data, size};
    int64_t version = -1;
    dc_err err;
    if (dc_mxf_load(&x, &version, ident, size, rd, &s, &err) == 0) {
        loaded(&x, data, size, version, ident);
    } else {
        check(x.n == 0 && x.n_files == 0 && x.n_ghosts == 0, "a refused file left keys");
    }
    dc_mx_dispose(&x);
}
