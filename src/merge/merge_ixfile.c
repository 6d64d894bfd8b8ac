/*
 * The key index file: a persisted mx_index (slots, ordering values, ghosts,
 * key bytes, file table) that a restart loads instead of reading every data
 * file. The slot array is stored as it is in memory, with the index's hash
 * seed, so loading is reading (no rehash) and the peak is the index itself.
 *
 * Layout (little-endian; sections 8-aligned, in this order):
 *   header   MXF_HDR bytes (below), its own checksum last
 *   files    per file: u64 rows, u32 path length, u32 0, path, zero pad to 8
 *   slots    cap × 16 bytes (mx_slot)
 *   ord      cap × 4 bytes (ordering values), zero pad to 8
 *   ghosts   n_ghosts × 16 bytes (ts, off)
 *   arena    arena_len bytes (byte keys' records)
 * Each section has a 64-bit checksum in the header. A file that does not
 * check out (size, checksums, every slot's file, row, ghost and key record,
 * the Robin Hood order of the slots) is refused: the caller builds the index
 * from the table instead. Nothing read is trusted before it is checked.
 */
#include "merge_int.h"

#include <inttypes.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the key index file stores slots as they are in memory: little-endian hosts only"
#endif

/* Header fields (byte offsets). */
enum {
    H_MAGIC = 0, H_FORMAT = 8, H_FLAGS = 12, H_VERSION = 16, H_IDENT = 24, H_SEED = 32,
    H_N = 40, H_CAP = 48, H_BASE_HI = 56, H_BASE_LO = 64, H_SHIFT = 72, H_GHOST_FREE = 76,
    H_N_GHOSTS = 80, H_GHOSTS_LIVE = 88, H_ARENA = 96, H_N_FILES = 104, H_FILES_BYTES = 112,
    H_SUM_FILES = 120, H_SUM_SLOTS = 128, H_SUM_GHOSTS = 136, H_SUM_ARENA = 144,
    H_SUM_HEADER = 152, MXF_HDR = 160
};
#define MXF_MAGIC "DCKEYIX\x01"
#define MXF_FORMAT 1u
#define F_INT_KEYS 1u
#define F_WINDOW 2u

/* ----------------------------------------------------------- checksum */

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t lane(uint64_t a, uint64_t v)
{
    return rotl(a + v * 0xc2b2ae3d27d4eb4fULL, 31) * 0x9e3779b185ebca87ULL;
}

/* A 64-bit checksum (four independent lanes of multiply-rotate, so a whole
 * index is summed at memory speed); not cryptographic: it catches torn,
 * truncated and bit-flipped files. */
uint64_t dc_mxf_sum(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t a[4] = {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL, 0xa4093822299f31d0ULL,
                     0x082efa98ec4e6c89ULL};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 4; k++) a[k] = lane(a[k], dc_load_le64(p + i + 8 * k));
    uint64_t h = rotl(a[0], 1) + rotl(a[1], 7) + rotl(a[2], 12) + rotl(a[3], 18) + n;
    for (; i + 8 <= n; i += 8) h = rotl(h ^ lane(0, dc_load_le64(p + i)), 27) * 0x9e3779b185ebca87ULL;
    uint64_t w = 0;
    if (i < n) memcpy(&w, p + i, n - i);
    h ^= lane(0, w);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* ------------------------------------------------------------- writing */

/* The file table section into out. */
static int files_encode(dc_buf *out, const mx_index *x, dc_err *err)
{
    for (size_t i = 0; i < x->n_files; i++) {
        const size_t len = strlen(x->files[i].path);
        uint8_t h[16] = {0};
        dc_store_le64(h, x->files[i].n_rows);
        dc_store_le32(h + 8, (uint32_t)len);
        DC_TRY(dc_buf_append(out, h, 16, err));
        DC_TRY(dc_buf_append(out, x->files[i].path, len, err));
        static const uint8_t zero[8] = {0};
        DC_TRY(dc_buf_append(out, zero, pad8(len) - len, err));
    }
    return 0;
}

static void header_encode(uint8_t *h, const mx_index *x, int64_t version, uint64_t ident,
                          const dc_buf *files)
{
    memset(h, 0, MXF_HDR);
    memcpy(h + H_MAGIC, MXF_MAGIC, 8);
    dc_store_le32(h + H_FORMAT, MXF_FORMAT);
    dc_store_le32(h + H_FLAGS, (x->int_keys ? F_INT_KEYS : 0) | (x->w.set ? F_WINDOW : 0));
    dc_store_le64(h + H_VERSION, (uint64_t)version);
    dc_store_le64(h + H_IDENT, ident);
    dc_store_le64(h + H_SEED, x->seed);
    dc_store_le64(h + H_N, x->n);
    dc_store_le64(h + H_CAP, x->cap);
    dc_store_le64(h + H_BASE_HI, x->w.base_hi);
    dc_store_le64(h + H_BASE_LO, x->w.base_lo);
    dc_store_le32(h + H_SHIFT, x->w.shift);
    dc_store_le32(h + H_GHOST_FREE, x->ghost_free);
    dc_store_le64(h + H_N_GHOSTS, x->n_ghosts);
    dc_store_le64(h + H_GHOSTS_LIVE, x->ghosts_live);
    dc_store_le64(h + H_ARENA, x->arena.len);
    dc_store_le64(h + H_N_FILES, x->n_files);
    dc_store_le64(h + H_FILES_BYTES, files->len);
    dc_store_le64(h + H_SUM_FILES, dc_mxf_sum(files->data, files->len));
    /* slots and ordering values as one checksum: ord padded with zeros */
    const uint64_t ss = dc_mxf_sum(x->slots, x->cap * sizeof *x->slots);
    const uint64_t so = dc_mxf_sum(x->ord, x->cap * sizeof *x->ord);
    dc_store_le64(h + H_SUM_SLOTS, ss ^ rotl(so, 17));
    dc_store_le64(h + H_SUM_GHOSTS, dc_mxf_sum(x->ghosts, x->n_ghosts * sizeof *x->ghosts));
    dc_store_le64(h + H_SUM_ARENA, dc_mxf_sum(x->arena.data, x->arena.len));
    dc_store_le64(h + H_SUM_HEADER, dc_mxf_sum(h, H_SUM_HEADER));
}

int dc_mxf_write(const mx_index *x, int64_t version, uint64_t ident, mxf_write_fn wr, void *ctx,
                 dc_err *err)
{
    DC_ASSERT(x->slots && x->arena.len % 8 == 0);
    dc_buf files;
    dc_buf_init(&files, DC_MERGE_MAX_INDEX_BYTES);
    uint8_t h[MXF_HDR];
    static const uint8_t zero[8] = {0};
    const size_t ord_bytes = x->cap * sizeof *x->ord;
    int rc = files_encode(&files, x, err);
    if (rc == 0) {
        header_encode(h, x, version, ident, &files);
        rc = wr(ctx, h, MXF_HDR, err);
    }
    if (rc == 0 && files.len) rc = wr(ctx, files.data, files.len, err);
    if (rc == 0) rc = wr(ctx, x->slots, x->cap * sizeof *x->slots, err);
    if (rc == 0) rc = wr(ctx, x->ord, ord_bytes, err);
    if (rc == 0 && pad8(ord_bytes) > ord_bytes) rc = wr(ctx, zero, pad8(ord_bytes) - ord_bytes, err);
    if (rc == 0 && x->n_ghosts) rc = wr(ctx, x->ghosts, x->n_ghosts * sizeof *x->ghosts, err);
    if (rc == 0 && x->arena.len) rc = wr(ctx, x->arena.data, x->arena.len, err);
    dc_buf_dispose(&files);
    return rc;
}

/* ------------------------------------------------------------- reading */

/* What the header says, checked for sizes that add up to the file's. */
typedef struct mxf_head {
    uint32_t flags;
    int64_t version;
    uint64_t ident, seed, n, cap, base_hi, base_lo, n_ghosts, ghosts_live, arena, n_files,
        files_bytes;
    uint32_t shift, ghost_free;
    uint64_t sum_files, sum_slots, sum_ghosts, sum_arena;
} mxf_head;

static int head_decode(mxf_head *o, const uint8_t *h, uint64_t size, dc_err *err)
{
    if (memcmp(h + H_MAGIC, MXF_MAGIC, 8) != 0)
        return dc_err_set(err, DC_ECORRUPT, "not a key index file (magic)");
    if (dc_load_le64(h + H_SUM_HEADER) != dc_mxf_sum(h, H_SUM_HEADER))
        return dc_err_set(err, DC_ECORRUPT, "header checksum mismatch");
    if (dc_load_le32(h + H_FORMAT) != MXF_FORMAT)
        return dc_err_set(err, DC_ECORRUPT, "format %u, this build reads %u",
                          dc_load_le32(h + H_FORMAT), MXF_FORMAT);
    *o = (mxf_head){dc_load_le32(h + H_FLAGS), (int64_t)dc_load_le64(h + H_VERSION),
                    dc_load_le64(h + H_IDENT), dc_load_le64(h + H_SEED), dc_load_le64(h + H_N),
                    dc_load_le64(h + H_CAP), dc_load_le64(h + H_BASE_HI),
                    dc_load_le64(h + H_BASE_LO), dc_load_le64(h + H_N_GHOSTS),
                    dc_load_le64(h + H_GHOSTS_LIVE), dc_load_le64(h + H_ARENA),
                    dc_load_le64(h + H_N_FILES), dc_load_le64(h + H_FILES_BYTES),
                    dc_load_le32(h + H_SHIFT), dc_load_le32(h + H_GHOST_FREE),
                    dc_load_le64(h + H_SUM_FILES), dc_load_le64(h + H_SUM_SLOTS),
                    dc_load_le64(h + H_SUM_GHOSTS), dc_load_le64(h + H_SUM_ARENA)};
    const uint64_t lim = DC_MERGE_MAX_INDEX_BYTES;
    if (o->flags & ~(F_INT_KEYS | F_WINDOW) || o->version < 0 || o->shift > 127 ||
        o->cap == 0 || o->n >= o->cap || o->cap > lim / 32 || o->n_ghosts > MX_ROW_MASK ||
        o->ghosts_live > o->n_ghosts || o->ghosts_live > o->n || o->arena > lim ||
        o->arena % 8 || o->files_bytes > lim || o->files_bytes % 8 ||
        o->n_files > o->files_bytes / 16 || o->n_files >= MX_FILE_NONE ||
        ((o->flags & F_INT_KEYS) && o->arena))
        return dc_err_set(err, DC_ECORRUPT, "header fields out of range");
    const uint64_t want = MXF_HDR + o->files_bytes + o->cap * 16 + pad8(o->cap * 4) +
                          o->n_ghosts * 16 + o->arena; /* each term < 2^41: no overflow */
    if (want != size)
        return dc_err_set(err, DC_ECORRUPT, "%" PRIu64 " bytes, the header describes %" PRIu64,
                          size, want);
    return 0;
}

/* Parses the file table section into x (paths checked: non-empty, no NUL,
 * each once). */
static int files_decode(mx_index *x, const mxf_head *h, const uint8_t *p, dc_err *err)
{
    DC_TRY(dc_mx_files_reserve(x, h->n_files, err));
    size_t at = 0;
    for (uint64_t i = 0; i < h->n_files; i++) {
        if (h->files_bytes - at < 16) return dc_err_set(err, DC_ECORRUPT, "file table truncated");
        const uint64_t rows = dc_load_le64(p + at);
        const uint32_t len = dc_load_le32(p + at + 8);
        at += 16;
        if (rows > (uint64_t)MX_ROW_MASK + 1 || len == 0 || dc_load_le32(p + at - 4) != 0 ||
            pad8(len) > h->files_bytes - at || memchr(p + at, 0, len) ||
            memcmp(p + at + len, (const uint8_t[8]){0}, pad8(len) - len) != 0)
            return dc_err_set(err, DC_ECORRUPT, "file %" PRIu64 " of the file table is bad", i);
        char *path = dc_malloc((size_t)len + 1);
        if (!path) return dc_err_set(err, DC_ENOMEM, "key index: out of memory (file path)");
        memcpy(path, p + at, len);
        path[len] = 0;
        if (dc_mx_file_find(x, path) >= 0) {
            dc_free(path);
            return dc_err_set(err, DC_ECORRUPT, "file '%.*s' is in the file table twice",
                              (int)len, (const char *)p + at);
        }
        (void)dc_mx_file_adopt(x, path, rows);
        at += pad8(len);
    }
    if (at != h->files_bytes) return dc_err_set(err, DC_ECORRUPT, "file table size mismatch");
    return 0;
}

/* Free ghost entries: the chain from ghost_free, each entry once, as many
 * as are not live. Marks them in `free_`. */
static int ghosts_check_free(const mx_index *x, uint8_t *free_, dc_err *err)
{
    size_t n = 0;
    for (uint32_t g = x->ghost_free; g != UINT32_MAX; g = (uint32_t)x->ghosts[g].ts) {
        if (g >= x->n_ghosts || free_[g] || ++n > x->n_ghosts - x->ghosts_live ||
            x->ghosts[g].ts < 0 || x->ghosts[g].ts > (int64_t)UINT32_MAX)
            return dc_err_set(err, DC_ECORRUPT, "the free list of deleted keys is bad");
        free_[g] = 1;
    }
    if (n != x->n_ghosts - x->ghosts_live)
        return dc_err_set(err, DC_ECORRUPT, "the free list of deleted keys is short");
    return 0;
}

/* One occupied slot: its file, row, ordering value, ghost and key record. */
static bool slot_ok(const mx_index *x, size_t i, uint8_t *used)
{
    const mx_slot *s = &x->slots[i];
    const uint32_t o = x->ord[i];
    if (s->file == MX_FILE_NONE + 1) {
        if (s->row >= x->n_ghosts || used[s->row] || o != MX_ORD_NULL) return false;
        used[s->row] = 1;
    } else {
        if (s->file - 1 >= x->n_files) return false;
        if ((uint64_t)(s->row & MX_ROW_MASK) >= x->files[s->file - 1].n_rows) return false;
        if (o == MX_ORD_BELOW || o == MX_ORD_TOP || (o != MX_ORD_NULL && !x->w.set)) return false;
    }
    if (x->int_keys) return true;
    if (s->key % 8 || s->key > x->arena.len || x->arena.len - s->key < 16) return false;
    const uint8_t *r = x->arena.data + s->key;
    const uint32_t len = dc_load_le32(r + 8);
    return len <= DC_MERGE_MAX_KEY_BYTES && len <= x->arena.len - s->key - 16 &&
           dc_load_le64(r) == dc_mx_hash_bytes(x, r + 16, len);
}

/* Hash of the key of an occupied slot (its record's, checked by slot_ok). */
static uint64_t key_hash(const mx_index *x, const mx_slot *s)
{
    if (x->int_keys) return dc_mx_hash_i64(x, (int64_t)s->key);
    return dc_load_le64(x->arena.data + s->key);
}

/* Every slot, and the Robin Hood order that lookups rely on: along a run, an
 * entry is at most one step further from its home than the one before it,
 * and an entry after an empty slot sits at its home. */
static int slots_check(const mx_index *x, dc_err *err)
{
    uint8_t *used = dc_calloc(x->n_ghosts ? x->n_ghosts : 1, 1);
    if (!used) return dc_err_set(err, DC_ENOMEM, "key index: out of memory");
    int rc = ghosts_check_free(x, used, err);
    size_t n = 0, prev = SIZE_MAX; /* distance of the previous entry; MAX: empty */
    size_t last = x->cap - 1;
    while (last > 0 && x->slots[last].file) last--; /* start after an empty slot */
    if (rc == 0 && x->slots[last].file) rc = dc_err_set(err, DC_ECORRUPT, "no empty slot");
    for (size_t k = 1; rc == 0 && k <= x->cap; k++) {
        const size_t i = (last + k) % x->cap;
        const mx_slot *s = &x->slots[i];
        if (!s->file) {
            prev = SIZE_MAX;
            continue;
        }
        if (!slot_ok(x, i, used)) {
            rc = dc_err_set(err, DC_ECORRUPT, "slot %zu is bad", i);
            break;
        }
        const size_t hm = (size_t)(((unsigned __int128)key_hash(x, s) * x->cap) >> 64);
        const size_t d = i >= hm ? i - hm : i + x->cap - hm;
        if (prev == SIZE_MAX ? d != 0 : d > prev + 1)
            rc = dc_err_set(err, DC_ECORRUPT, "slot %zu is out of its probe order", i);
        prev = d;
        n++;
    }
    if (rc == 0 && n != x->n) rc = dc_err_set(err, DC_ECORRUPT, "%zu keys, the header says %zu",
                                               n, x->n);
    for (size_t g = 0; rc == 0 && g < x->n_ghosts; g++)
        if (!used[g]) rc = dc_err_set(err, DC_ECORRUPT, "deleted key entry %zu is unused", g);
    dc_free(used);
    return rc;
}

/* Reads `n` bytes at `*at` into dst and checks nothing yet. */
static int rd(mxf_read_fn read, void *ctx, uint64_t *at, void *dst, size_t n, dc_err *err)
{
    if (n) DC_TRY(read(ctx, *at, n, dst, err));
    *at += n;
    return 0;
}

static int sections_read(mx_index *x, const mxf_head *h, mxf_read_fn read, void *ctx,
                         dc_err *err)
{
    uint64_t at = MXF_HDR;
    uint8_t *files = dc_malloc(h->files_bytes ? h->files_bytes : 1);
    if (!files) return dc_err_set(err, DC_ENOMEM, "key index: out of memory (file table)");
    int rc = rd(read, ctx, &at, files, h->files_bytes, err);
    if (rc == 0 && dc_mxf_sum(files, h->files_bytes) != h->sum_files)
        rc = dc_err_set(err, DC_ECORRUPT, "file table checksum mismatch");
    if (rc == 0) rc = files_decode(x, h, files, err);
    dc_free(files);
    if (rc == 0) rc = dc_mx_alloc_slots(x, h->cap, false, err);
    if (rc == 0) rc = rd(read, ctx, &at, x->slots, h->cap * sizeof *x->slots, err);
    if (rc == 0) rc = rd(read, ctx, &at, x->ord, h->cap * sizeof *x->ord, err);
    uint8_t pad[8] = {0};
    const size_t npad = pad8(h->cap * 4) - h->cap * 4;
    if (rc == 0) rc = rd(read, ctx, &at, pad, npad, err);
    if (rc == 0 && memcmp(pad, (const uint8_t[8]){0}, npad) != 0)
        rc = dc_err_set(err, DC_ECORRUPT, "padding after the ordering values is not zero");
    if (rc == 0 && (dc_mxf_sum(x->slots, h->cap * sizeof *x->slots) ^
                    rotl(dc_mxf_sum(x->ord, h->cap * sizeof *x->ord), 17)) != h->sum_slots)
        rc = dc_err_set(err, DC_ECORRUPT, "slots checksum mismatch");
    if (rc == 0 && h->n_ghosts) {
        x->ghosts = dc_malloc(h->n_ghosts * sizeof *x->ghosts);
        x->cap_ghosts = x->ghosts ? h->n_ghosts : 0;
        rc = x->ghosts ? rd(read, ctx, &at, x->ghosts, h->n_ghosts * 16, err)
                       : dc_err_set(err, DC_ENOMEM, "key index: out of memory (deleted keys)");
        if (rc == 0 && dc_mxf_sum(x->ghosts, h->n_ghosts * 16) != h->sum_ghosts)
            rc = dc_err_set(err, DC_ECORRUPT, "deleted keys checksum mismatch");
    }
    if (rc == 0 && h->arena) rc = dc_buf_reserve(&x->arena, h->arena, err);
    if (rc == 0) rc = rd(read, ctx, &at, x->arena.data, h->arena, err);
    if (rc == 0 && dc_mxf_sum(x->arena.data, h->arena) != h->sum_arena)
        rc = dc_err_set(err, DC_ECORRUPT, "key bytes checksum mismatch");
    if (rc == 0) x->arena.len = h->arena;
    return rc;
}

int dc_mxf_load(mx_index *x, int64_t *version_out, uint64_t ident, uint64_t size,
                mxf_read_fn read, void *ctx, dc_err *err)
{
    DC_ASSERT(x->n == 0 && x->n_files == 0 && x->n_ghosts == 0);
    uint8_t hb[MXF_HDR];
    mxf_head h;
    memset(&h, 0, sizeof h);
    if (size < MXF_HDR) return dc_err_set(err, DC_ECORRUPT, "%" PRIu64 " bytes: truncated", size);
    DC_TRY(read(ctx, 0, MXF_HDR, hb, err));
    DC_TRY(head_decode(&h, hb, size, err));
    if (h.ident != ident)
        return dc_err_set(err, DC_ECORRUPT, "written for another table or key layout");
    if (((h.flags & F_INT_KEYS) != 0) != x->int_keys)
        return dc_err_set(err, DC_ECORRUPT, "written for another key layout");
    x->seed = h.seed; /* before the paths are hashed into the path map */
    int rc = sections_read(x, &h, read, ctx, err);
    if (rc == 0) {
        x->n = h.n;
        x->w = (mx_window){h.base_hi, h.base_lo, h.shift, (h.flags & F_WINDOW) != 0};
        x->n_ghosts = h.n_ghosts;
        x->ghosts_live = h.ghosts_live;
        x->ghost_free = h.ghost_free;
        rc = slots_check(x, err);
    }
    if (rc < 0) {
        dc_mx_clear(x);
        return rc;
    }
    dc_mx_hint_huge(x);
    *version_out = h.version;
    return 0;
}
