/* snap: sorted runs spilled beyond a small budget and merged back give each
 * key's newest record once, keys ascending — the same as holding all in
 * memory; ranks order by class, then the pair, then history before CDC. */
#include "../test.h"

#include <stdlib.h>

#include "../../src/snap/snap_int.h"

#define N_KEYS 5000
#define N_RECS 120000

static uint64_t rnd_state = 42;
static uint64_t rnd(void)
{
    rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
    return rnd_state >> 33;
}

static void key_of(uint8_t out[8], uint32_t k)
{
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)((uint64_t)k >> (56 - 8 * i));
}

static uint32_t key_back(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return (uint32_t)v;
}

/* Adds N_RECS records over N_KEYS keys; best[k] is the rank (cls, r0, r1,
 * history) that must win and its row tag. */
typedef struct best { int seen; sn_hdr h; uint32_t tag; } best;

static int newer(const sn_hdr *a, const sn_hdr *b)
{
    uint8_t k[8] = {0};
    return sn_rec_cmp(a, k, b, k) < 0; /* same key: smaller is newer */
}

/* two: the records go to two sorters alternately (the history's and the
 * CDC table's), merged by the first. */
static void run(int64_t budget, bool two, uint32_t *spills_out)
{
    static best want[N_KEYS];
    memset(want, 0, sizeof want);
    rnd_state = 42;
    sn_sorter s, s2;
    sn_sorter_init(&s, budget, NULL);
    sn_sorter_init(&s2, budget, NULL);
    dc_err err;
    dc_err_clear(&err);
    char row[80];
    for (uint32_t i = 0; i < N_RECS; i++) {
        const uint32_t k = (uint32_t)(rnd() % N_KEYS);
        sn_hdr h;
        memset(&h, 0, sizeof h);
        h.cls = (uint8_t)(rnd() % 3);
        h.rank[0] = (int64_t)(rnd() % 4);
        h.rank[1] = (int64_t)(rnd() % 8) - 4;
        h.history = (uint8_t)(rnd() % 2);
        h.klen = 8;
        h.rlen = (uint32_t)snprintf(row, sizeof row, "{\"tag\":%u,\"pad\":\"%0*u\"}", i,
                                    (int)(rnd() % 40), 0);
        uint8_t key[8];
        key_of(key, k);
        CHECK_OK(sn_sorter_add(two && i % 2 ? &s2 : &s, &h, key, (const uint8_t *)row, &err),
                 &err);
        if (!want[k].seen || newer(&h, &want[k].h)) {
            want[k].seen = 1;
            want[k].h = h;
            want[k].tag = i;
        } else if (!newer(&want[k].h, &h)) {
            want[k].tag = UINT32_MAX; /* an exact tie: either may win */
        }
    }
    CHECK_OK(sn_sorter_finish(&s, two ? &s2 : NULL, NULL, &err), &err);
    *spills_out = s.n_spills + s2.n_spills;
    int64_t last = -1;
    uint32_t n = 0;
    for (;;) {
        const sn_hdr *h = NULL;
        const uint8_t *key = NULL, *text = NULL;
        bool done = false;
        CHECK_OK(sn_sorter_next(&h, &key, &text, &done, &s, &err), &err);
        if (done) break;
        const uint32_t k = key_back(key);
        CHECK(k < N_KEYS && (int64_t)k > last);
        last = k;
        n++;
        unsigned tag = 0;
        CHECK(sscanf((const char *)text, "{\"tag\":%u", &tag) == 1);
        CHECK(!newer(&want[k].h, h) && !newer(h, &want[k].h));
        if (want[k].tag != UINT32_MAX) CHECK_EQ_INT(tag, want[k].tag);
    }
    uint32_t keys = 0;
    for (uint32_t k = 0; k < N_KEYS; k++) keys += (uint32_t)want[k].seen;
    CHECK_EQ_INT(n, keys);
    sn_sorter_dispose(&s);
    sn_sorter_dispose(&s2);
}

TEST(snap_sort_spills_and_merges_like_memory)
{
    uint32_t spills_small = 0, spills_big = 0, spills_two = 0, spills_two_big = 0;
    run((int64_t)1 << 20, false, &spills_small);
    run((int64_t)1 << 30, false, &spills_big);
    run((int64_t)1 << 20, true, &spills_two);
    run((int64_t)1 << 30, true, &spills_two_big);
    CHECK(spills_small >= 5);
    CHECK_EQ_INT(spills_big, 0);
    CHECK(spills_two >= 4);
    CHECK_EQ_INT(spills_two_big, 0);
}

TEST(snap_sort_ranks)
{
    uint8_t k[8] = {0};
    sn_hdr a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.klen = b.klen = 8;
    /* a position-ranked row beats a history row without one */
    a.cls = SN_CLS_POS;
    b.cls = SN_CLS_HISTORY;
    b.history = 1;
    CHECK(sn_rec_cmp(&a, k, &b, k) < 0);
    /* at the same position, the history wins (no regression) */
    b.cls = SN_CLS_POS;
    a.rank[0] = b.rank[0] = 3;
    a.rank[1] = b.rank[1] = -7;
    CHECK(sn_rec_cmp(&b, k, &a, k) < 0);
    /* a later position wins whatever its origin */
    a.rank[1] = -6;
    CHECK(sn_rec_cmp(&a, k, &b, k) < 0);
    /* keys order first */
    uint8_t k2[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    CHECK(sn_rec_cmp(&b, k, &a, k2) < 0);
}

TEST(snap_sort_empty)
{
    /* every row skipped (a CDC table wholly at or before the history floor) */
    sn_sorter s, s2;
    sn_sorter_init(&s, (int64_t)1 << 20, NULL);
    sn_sorter_init(&s2, (int64_t)1 << 20, NULL);
    dc_err err;
    dc_err_clear(&err);
    CHECK_OK(sn_sorter_finish(&s, &s2, NULL, &err), &err);
    const sn_hdr *h = NULL;
    const uint8_t *key = NULL, *row = NULL;
    bool done = false;
    CHECK_OK(sn_sorter_next(&h, &key, &row, &done, &s, &err), &err);
    CHECK(done);
    sn_sorter_dispose(&s);
    sn_sorter_dispose(&s2);
}

/* Keys of the run differing only past 4 bytes beyond their shared head,
 * keys that are prefixes of others, and runs given already in order: the
 * sort's 4-byte prefixes tie there and the whole key must decide. */
static int key_cmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    const int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na < nb ? -1 : na > nb);
}

static void run_strings(int64_t budget, bool in_order)
{
    enum { N = 6000 };
    sn_sorter s;
    sn_sorter_init(&s, budget, NULL);
    dc_err err;
    dc_err_clear(&err);
    rnd_state = 7;
    for (uint32_t i = 0; i < N; i++) {
        /* "cust-" then i in decimal, then (for odd i) "-x" and i's square: "cust-1" is a
         * prefix of "cust-1-x1", and "cust-1000..." shares "cust-100" with "cust-1001" */
        const uint32_t k = in_order ? i : (uint32_t)(rnd() % N);
        char key[64];
        const int kl = snprintf(key, sizeof key, k % 2 ? "cust-%u-x%u" : "cust-%u", k / 2,
                                k * k);
        sn_hdr h;
        memset(&h, 0, sizeof h);
        h.cls = SN_CLS_TS;
        h.rank[0] = (int64_t)(rnd() % 1000);
        h.klen = (uint32_t)kl;
        h.rlen = 1;
        CHECK_OK(sn_sorter_add(&s, &h, (const uint8_t *)key, (const uint8_t *)"r", &err), &err);
    }
    CHECK_OK(sn_sorter_finish(&s, NULL, NULL, &err), &err);
    uint8_t last[64];
    size_t last_n = 0;
    uint32_t n = 0;
    for (;;) {
        const sn_hdr *h = NULL;
        const uint8_t *key = NULL, *row = NULL;
        bool done = false;
        CHECK_OK(sn_sorter_next(&h, &key, &row, &done, &s, &err), &err);
        if (done) break;
        if (n) CHECK(key_cmp(last, last_n, key, h->klen) < 0);
        memcpy(last, key, h->klen);
        last_n = h->klen;
        n++;
    }
    if (in_order) CHECK_EQ_INT(n, N);
    CHECK(n > N / 2);
    sn_sorter_dispose(&s);
}

TEST(snap_sort_string_keys_and_prefix_ties)
{
    run_strings((int64_t)1 << 30, false);
    run_strings((int64_t)1 << 30, true);
    run_strings((int64_t)1 << 16, false); /* spilled runs */
    run_strings((int64_t)1 << 16, true);
}

/* sn_key_cmp (8 bytes a step, inline) orders keys as bytes, then length,
 * exactly as memcmp over the shorter length and then the lengths do. */
static int ref_key_cmp(const uint8_t *a, uint32_t na, const uint8_t *b, uint32_t nb)
{
    const int c = memcmp(a, b, na < nb ? na : nb);
    if (c) return c < 0 ? -1 : 1;
    return na == nb ? 0 : na < nb ? -1 : 1;
}

TEST(snap_key_cmp_orders_like_memcmp)
{
    rnd_state = 7;
    uint8_t a[24], b[24];
    for (int i = 0; i < 200000; i++) {
        const uint32_t na = (uint32_t)(rnd() % 21), nb = (uint32_t)(rnd() % 21);
        for (uint32_t k = 0; k < 24; k++) a[k] = b[k] = (uint8_t)(rnd() % 3 ? 0x80 : rnd());
        if (rnd() % 2) b[rnd() % 24] ^= (uint8_t)(1u << (rnd() % 8)); /* one bit apart */
        CHECK_EQ_INT(sn_key_cmp(a, na, b, nb), ref_key_cmp(a, na, b, nb));
    }
}
