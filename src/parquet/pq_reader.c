/*
 * Parquet reader: opens a file (mapped) or a buffer, validates the footer and
 * the schema, reads one column chunk into a dc_pq_column page by page, and
 * interprets row-group statistics.
 *
 * Every size and offset comes from the file and is checked before use: the
 * footer against the file, each column chunk against the data region before
 * the footer, each page against its column chunk, each level and value count
 * against the chunk's num_values.
 */
#include "pq_reader_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC_LEN 4
/* "PAR1" + footer length + "PAR1": nothing smaller can be a Parquet file. */
#define MIN_FILE_LEN (2 * MAGIC_LEN + 4)

/* ------------------------------------------------------------- open */

static int reader_new(dc_pq_reader **out, const char *name, dc_err *err)
{
    dc_pq_reader *r = dc_calloc(1, sizeof *r);
    if (!r) return dc_err_set(err, DC_ENOMEM, "out of memory opening a Parquet reader");
    r->name = dc_strdup(name);
    if (!r->name || pq_codec_ctx_new(&r->codec, err) < 0) {
        dc_free(r->name);
        dc_free(r);
        return dc_err_set(err, DC_ENOMEM, "out of memory opening a Parquet reader");
    }
    dc_arena_init(&r->meta_arena, DC_PQ_MAX_FOOTER_MEMORY);
    dc_arena_init(&r->page_arena, DC_PQ_MAX_FOOTER_MEMORY);
    dc_buf_init(&r->page, DC_PQ_MAX_PAGE_BYTES);
    dc_buf_init(&r->scratch, (size_t)DC_PQ_MAX_PAGE_VALUES * sizeof(uint32_t));
    dc_pq_column_init(&r->dict);
    dc_pq_column_init(&r->tmp);
    *out = r;
    return 0;
}

void dc_pq_reader_free(dc_pq_reader *r)
{
    if (!r) return;
    for (uint32_t i = 0; i < r->n_cols; i++) dc_pq_column_dispose(&r->cols[i]);
    dc_free(r->cols);
    dc_pq_column_dispose(&r->tmp);
    dc_pq_column_dispose(&r->dict);
    dc_buf_dispose(&r->scratch);
    dc_buf_dispose(&r->page);
    pq_codec_ctx_free(r->codec);
    dc_arena_dispose(&r->page_arena);
    dc_pq_schema_free(r->schema);
    dc_arena_dispose(&r->meta_arena);
    if (r->map) munmap(r->map, r->len);
    dc_free(r->fetched);
    dc_free(r->name);
    dc_free(r);
}

/* Checks both magics and the footer length; sets r->data_end. */
static int check_frame(dc_pq_reader *r, uint32_t *footer_len, dc_err *err)
{
    if (r->len < MIN_FILE_LEN)
        return dc_err_set(err, DC_ECORRUPT,
                          "file is %zu bytes, a Parquet file has at least %d (PAR1, footer "
                          "length, PAR1)", r->len, MIN_FILE_LEN);
    const uint8_t *tail = r->data + r->len - MAGIC_LEN;
    if (memcmp(tail, "PARE", MAGIC_LEN) == 0 || memcmp(r->data, "PARE", MAGIC_LEN) == 0)
        return dc_err_set(err, DC_EUNSUPPORTED, "encrypted Parquet files are not supported");
    if (memcmp(r->data, "PAR1", MAGIC_LEN) != 0)
        return dc_err_set(err, DC_ECORRUPT, "not a Parquet file: no PAR1 magic at offset 0");
    if (memcmp(tail, "PAR1", MAGIC_LEN) != 0)
        return dc_err_set(err, DC_ECORRUPT, "not a Parquet file: no PAR1 magic at offset %zu",
                          r->len - MAGIC_LEN);
    uint32_t flen = dc_load_le32(r->data + r->len - 2 * MAGIC_LEN);
    if (flen > DC_PQ_MAX_FOOTER_BYTES)
        return dc_err_set(err, DC_ELIMIT, "footer length %u at offset %zu exceeds the limit of %u",
                          flen, r->len - 2 * MAGIC_LEN, (unsigned)DC_PQ_MAX_FOOTER_BYTES);
    if (flen > r->len - MIN_FILE_LEN)
        return dc_err_set(err, DC_ECORRUPT,
                          "footer length %u at offset %zu does not fit a file of %zu bytes", flen,
                          r->len - 2 * MAGIC_LEN, r->len);
    r->data_end = r->len - 2 * MAGIC_LEN - flen;
    *footer_len = flen;
    return 0;
}

/* First byte of a column chunk: the dictionary page when there is one.
 * dictionary_page_offset 0 means absent (dict-page-offset-zero.parquet);
 * data_page_offset 0 with a dictionary means a chunk of only a dictionary
 * page (column_chunk_key_value_metadata.parquet, 0 rows). */
static int64_t chunk_start(const pq_column_meta *cm)
{
    int64_t start = cm->data_page_offset;
    if (cm->has_dictionary_page_offset && cm->dictionary_page_offset > 0 &&
        (cm->dictionary_page_offset < start || start < MAGIC_LEN))
        start = cm->dictionary_page_offset;
    return start;
}

static int check_chunk(const dc_pq_reader *r, const pq_row_group *g, uint32_t c, dc_err *err)
{
    const dc_pq_leaf *leaf = &r->schema->leaves[c];
    const pq_column_chunk *cc = &g->columns[c];
    if (cc->file_path)
        return dc_err_set(err, DC_EUNSUPPORTED, "column chunk stored in another file (%s)",
                          cc->file_path);
    if (!cc->has_meta_data) return dc_err_set(err, DC_ECORRUPT, "column chunk has no metadata");
    const pq_column_meta *cm = &cc->meta_data;
    if (cm->type != leaf->phys)
        return dc_err_set(err, DC_ECORRUPT, "physical type %s does not match the schema's %s",
                          pq_type_name(cm->type), pq_type_name(leaf->phys));
    if (leaf->phys == PQ_FIXED_LEN_BYTE_ARRAY && leaf->type_length <= 0)
        return dc_err_set(err, DC_ECORRUPT, "FIXED_LEN_BYTE_ARRAY with type_length %d",
                          (int)leaf->type_length);
    if (cm->num_values < 0)
        return dc_err_set(err, DC_ECORRUPT, "num_values is %lld", (long long)cm->num_values);
    int64_t start = chunk_start(cm), size = cm->total_compressed_size;
    /* pyarrow writes empty chunks of an empty row group at offset 0 */
    if (size == 0 && cm->num_values == 0) return 0;
    if (start < MAGIC_LEN || (uint64_t)start > r->data_end || size < 0 ||
        (uint64_t)size > r->data_end - (uint64_t)start)
        return dc_err_set(err, DC_ECORRUPT,
                          "chunk of %lld bytes at offset %lld lies outside the data region "
                          "[4, %zu)", (long long)size, (long long)start, r->data_end);
    return 0;
}

static int check_row_groups(const dc_pq_reader *r, dc_err *err)
{
    const pq_file_meta *m = &r->meta;
    if (m->num_rows < 0)
        return dc_err_set(err, DC_ECORRUPT, "footer: num_rows is %lld", (long long)m->num_rows);
    if (m->n_row_groups > DC_PQ_MAX_ROW_GROUPS)
        return dc_err_set(err, DC_ELIMIT, "footer: %u row groups exceed the limit of %d",
                          m->n_row_groups, DC_PQ_MAX_ROW_GROUPS);
    for (uint32_t g = 0; g < m->n_row_groups; g++) {
        const pq_row_group *rg = &m->row_groups[g];
        if (rg->num_rows < 0)
            return dc_err_set(err, DC_ECORRUPT, "row group %u: num_rows is %lld", g,
                              (long long)rg->num_rows);
        if (rg->n_columns != r->schema->n_leaves)
            return dc_err_set(err, DC_ECORRUPT, "row group %u: %u column chunks for %u columns",
                              g, rg->n_columns, r->schema->n_leaves);
        for (uint32_t c = 0; c < rg->n_columns; c++) {
            int rc = check_chunk(r, rg, c, err);
            if (rc < 0) {
                dc_err_prefix(err, "row group %u, column %s", g, r->schema->leaves[c].dotted);
                return rc;
            }
        }
    }
    return 0;
}

static int check_encryption(const pq_file_meta *m, dc_err *err)
{
    bool enc = m->has_encryption_algorithm;
    for (uint32_t g = 0; g < m->n_row_groups && !enc; g++)
        for (uint32_t c = 0; c < m->row_groups[g].n_columns && !enc; c++)
            enc = m->row_groups[g].columns[c].is_encrypted;
    if (enc) return dc_err_set(err, DC_EUNSUPPORTED, "encrypted Parquet files are not supported");
    return 0;
}

static int reader_load(dc_pq_reader *r, dc_err *err)
{
    uint32_t flen = 0;
    int rc = check_frame(r, &flen, err);
    if (rc < 0) return rc;
    rc = pq_file_meta_decode(&r->meta, &r->meta_arena, r->data + r->data_end, flen, err);
    if (rc < 0) {
        dc_err_prefix(err, "footer at offset %zu", r->data_end);
        return rc;
    }
    rc = check_encryption(&r->meta, err);
    if (rc < 0) return rc;
    rc = dc_pq_schema_from_elements(&r->schema, r->meta.schema, r->meta.n_schema, err);
    if (rc < 0) {
        dc_err_prefix(err, "schema");
        return rc;
    }
    return check_row_groups(r, err);
}

int dc_pq_reader_open_mem(dc_pq_reader **out, const uint8_t *data, size_t len, const char *name,
                          dc_err *err)
{
    dc_pq_reader *r = NULL;
    *out = NULL;
    if (!name) name = "<memory>";
    int rc = reader_new(&r, name, err);
    if (rc < 0) return rc;
    r->data = data;
    r->len = len;
    rc = reader_load(r, err);
    if (rc < 0) {
        dc_err_prefix(err, "%s", name);
        dc_pq_reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int dc_pq_reader_open_sparse(dc_pq_reader **out, uint8_t *data, size_t len, size_t tail,
                             const char *name, dc_pq_fetch_fn fetch, void *fetch_ctx,
                             dc_err *err)
{
    *out = NULL;
    dc_pq_reader *r = NULL;
    int rc = dc_pq_reader_open_mem(&r, data, len, name, err);
    const size_t n = rc == 0 ? (size_t)r->meta.n_row_groups * r->schema->n_leaves : 0;
    if (rc == 0 && !(r->fetched = dc_calloc(n ? n : 1, 1)))
        rc = dc_err_set(err, DC_ENOMEM, "out of memory opening a Parquet reader");
    if (rc < 0) {
        dc_pq_reader_free(r);
        return rc;
    }
    /* Chunks inside the bytes the caller already holds need no fetch. */
    for (uint32_t g = 0; g < r->meta.n_row_groups; g++)
        for (uint32_t l = 0; l < r->schema->n_leaves; l++)
            if ((size_t)chunk_start(&r->meta.row_groups[g].columns[l].meta_data) >= len - tail)
                r->fetched[(size_t)g * r->schema->n_leaves + l] = 1;
    r->fetch = fetch;
    r->fetch_ctx = fetch_ctx;
    *out = r;
    return 0;
}

static int map_file(void **map_out, size_t *len_out, const char *path, dc_err *err)
{
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dc_err_set(err, errno == ENOENT ? DC_ENOTFOUND : DC_EIO, "%s: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = dc_err_set(err, DC_EIO, "%s: fstat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = dc_err_set(err, DC_EINVAL, "%s: not a regular file", path);
        goto out;
    }
    *map_out = NULL;
    *len_out = (size_t)st.st_size;
    if (st.st_size == 0) goto out;  /* nothing to map; the frame check reports it */
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        rc = dc_err_set(err, DC_EIO, "%s: mmap: %s", path, strerror(errno));
        goto out;
    }
    *map_out = m;
out:
    close(fd);
    return rc;
}

int dc_pq_reader_open_file(dc_pq_reader **out, const char *path, dc_err *err)
{
    dc_pq_reader *r = NULL;
    void *map = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = map_file(&map, &len, path, err);
    if (rc < 0) return rc;
    rc = reader_new(&r, path, err);
    if (rc < 0) {
        if (map) munmap(map, len);
        return rc;
    }
    r->map = map;
    r->data = map ? (const uint8_t *)map : (const uint8_t *)"";
    r->len = len;
    rc = reader_load(r, err);
    if (rc < 0) {
        dc_err_prefix(err, "%s", path);
        dc_pq_reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

const pq_file_meta *dc_pq_reader_meta(const dc_pq_reader *r) { return &r->meta; }
const dc_pq_schema *dc_pq_reader_schema(const dc_pq_reader *r) { return r->schema; }

/* ------------------------------------------------------ column chunk */

/* State of one read_column call. */
typedef struct chunk_ctx {
    dc_pq_reader *r;        /* the reader (file bytes, scratch buffers) */
    const dc_pq_leaf *leaf; /* the column being read */
    const pq_column_meta *cm;  /* its chunk's metadata in the row group */
    dc_pq_column *out;      /* the caller's column, filled page by page */
    size_t width;           /* bytes per value, 0 for BYTE_ARRAY */
    bool have_dict;         /* r->dict holds this chunk's dictionary */
    int64_t rows;           /* levels with rep == 0 so far (repeated columns) */
} chunk_ctx;

/* The body of a page (or of a v2 page's values section) uncompressed:
 * either the bytes in the file or r->page. */
static int inflate(const uint8_t **p_out, size_t *n_out, chunk_ctx *c, const uint8_t *src,
                   size_t src_len, size_t out_len, bool compressed, dc_err *err)
{
    dc_pq_reader *r = c->r;
    if (!compressed || c->cm->codec == PQ_CODEC_UNCOMPRESSED) {
        *p_out = src;
        *n_out = src_len;
        return 0;
    }
    if (src_len == 0) {
        /* An empty section (a v2 page of nulls): codecs reject 0 input bytes. */
        if (out_len != 0)
            return dc_err_set(err, DC_ECORRUPT, "0 compressed bytes for %zu uncompressed",
                              out_len);
        *p_out = src;
        *n_out = 0;
        return 0;
    }
    dc_buf_reset(&r->page);
    DC_TRY(dc_buf_reserve(&r->page, out_len ? out_len : 1, err));
    DC_TRY(pq_decompress_ctx(r->codec, r->page.data, out_len, c->cm->codec, src, src_len, err));
    *p_out = r->page.data;
    *n_out = out_len;
    return 0;
}

/* Byte-array decoders compute data + len before copying: give them a buffer
 * even when every value is empty. */
static int reserve_bytes(dc_pq_column *col, dc_err *err)
{
    return dc_buf_reserve(&col->values, 1, err);
}

static int decode_plain(dc_pq_column *col, const chunk_ctx *c, size_t count, const uint8_t *p,
                        size_t n, dc_err *err)
{
    size_t used, bytes;
    if (count == 0) return 0;  /* an empty dictionary: nothing to copy, maybe no buffer */
    switch (c->leaf->phys) {
    case PQ_BOOLEAN:
        DC_TRY(dc_buf_reserve(&col->values, count, err));
        DC_TRY(pq_plain_bool_decode(col->values.data + col->values.len, count, p, n, err));
        col->values.len += count;
        return 0;
    case PQ_BYTE_ARRAY:
        DC_TRY(dc_pq_column_reserve_offsets(col, count, err));
        DC_TRY(reserve_bytes(col, err));
        return pq_plain_ba_decode(&col->values, col->offsets + col->n_values, count, p, n, &used,
                                  err);
    default:
        if (dc_mul_overflow_sz(count, c->width, &bytes) || bytes > n)
            return dc_err_set(err, DC_ECORRUPT, "PLAIN: %zu values of %zu bytes need more than "
                              "the %zu bytes present", count, c->width, n);
        DC_TRY(dc_buf_append(&col->values, p, bytes, err));
        return 0;
    }
}

static int read_dict_page(chunk_ctx *c, const pq_page_header *h, const uint8_t *body,
                          dc_err *err)
{
    dc_pq_reader *r = c->r;
    if (!h->has_dictionary_page_header)
        return dc_err_set(err, DC_ECORRUPT, "dictionary page without a dictionary_page_header");
    if (c->have_dict)
        return dc_err_set(err, DC_ECORRUPT, "a second dictionary page in the column chunk");
    if (c->out->n_levels > 0)
        return dc_err_set(err, DC_ECORRUPT, "dictionary page after data pages");
    const pq_dictionary_page_header *d = &h->dictionary_page_header;
    if (d->num_values < 0 || (uint32_t)d->num_values > DC_PQ_MAX_PAGE_VALUES)
        return dc_err_set(err, DC_ECORRUPT, "dictionary num_values %d outside [0, %u]",
                          (int)d->num_values, (unsigned)DC_PQ_MAX_PAGE_VALUES);
    if (d->encoding != PQ_ENC_PLAIN && d->encoding != PQ_ENC_PLAIN_DICTIONARY)
        return dc_err_set(err, DC_EUNSUPPORTED, "dictionary page in encoding %s",
                          pq_encoding_name(d->encoding));
    const uint8_t *p;
    size_t n;
    DC_TRY(inflate(&p, &n, c, body, (size_t)h->compressed_page_size,
                   (size_t)h->uncompressed_page_size, true, err));
    dc_pq_column_reset(&r->dict);
    DC_TRY(decode_plain(&r->dict, c, (size_t)d->num_values, p, n, err));
    r->dict.n_values = (size_t)d->num_values;
    c->have_dict = true;
    return 0;
}

/* ---------------------------------------------------------- values */

/* Dictionary indices into r->scratch, checked against the dictionary size. */
static int dict_indices(const uint32_t **idx_out, chunk_ctx *c, size_t count, const uint8_t *p,
                        size_t n, dc_err *err)
{
    dc_pq_reader *r = c->r;
    if (!c->have_dict)
        return dc_err_set(err, DC_ECORRUPT,
                          "dictionary-encoded page but the chunk has no dictionary page");
    if (n < 1) return dc_err_set(err, DC_ECORRUPT, "dictionary indices: bit width byte missing");
    int bw = p[0];
    if (bw > 32)
        return dc_err_set(err, DC_ECORRUPT, "dictionary indices: bit width %d exceeds 32", bw);
    dc_buf_reset(&r->scratch);
    DC_TRY(dc_buf_reserve(&r->scratch, count * sizeof(uint32_t), err));
    uint32_t *idx = (uint32_t *)(void *)r->scratch.data;
    DC_TRY(pq_rle_decode_u32(idx, count, bw, p + 1, n - 1, err));
    uint32_t mx = 0;
    for (size_t i = 0; i < count; i++) mx = idx[i] > mx ? idx[i] : mx;
    if (mx >= r->dict.n_values)
        return dc_err_set(err, DC_ECORRUPT, "dictionary index %u out of range (dictionary has %zu "
                          "values)", mx, r->dict.n_values);
    *idx_out = idx;
    return 0;
}

static int gather_fixed(dc_pq_column *out, const dc_pq_column *dict, size_t w,
                        const uint32_t *idx, size_t count, dc_err *err)
{
    DC_TRY(dc_buf_reserve(&out->values, count * w, err));
    uint8_t *dst = out->values.data + out->values.len;
    const uint8_t *src = dict->values.data;
    if (w == 4) {
        for (size_t i = 0; i < count; i++) memcpy(dst + 4 * i, src + 4 * (size_t)idx[i], 4);
    } else if (w == 8) {
        for (size_t i = 0; i < count; i++) memcpy(dst + 8 * i, src + 8 * (size_t)idx[i], 8);
    } else if (w == 1) {
        for (size_t i = 0; i < count; i++) dst[i] = src[idx[i]];
    } else {
        for (size_t i = 0; i < count; i++) memcpy(dst + w * i, src + w * (size_t)idx[i], w);
    }
    out->values.len += count * w;
    return 0;
}

static int gather_bytes(dc_pq_column *out, const dc_pq_column *dict, const uint32_t *idx,
                        size_t count, dc_err *err)
{
    const uint32_t *doff = dict->offsets;
    size_t total = 0;
    for (size_t i = 0; i < count; i++) total += doff[idx[i] + 1] - doff[idx[i]];
    DC_TRY(dc_pq_column_reserve_offsets(out, count, err));
    DC_TRY(dc_buf_reserve(&out->values, total, err));
    const uint8_t *src = dict->values.data;
    uint8_t *base = out->values.data;
    uint32_t *off = out->offsets + out->n_values;
    uint32_t o = off[0];
    if (total == 0) {  /* only empty strings: there may be no buffer to copy from or to */
        for (size_t i = 0; i < count; i++) off[i + 1] = o;
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        uint32_t s = doff[idx[i]], l = doff[idx[i] + 1] - s;
        memcpy(base + o, src + s, l);
        o += l;
        off[i + 1] = o;
    }
    out->values.len = o;
    return 0;
}

static int decode_dict(chunk_ctx *c, size_t count, const uint8_t *p, size_t n, dc_err *err)
{
    const uint32_t *idx = NULL;
    DC_TRY(dict_indices(&idx, c, count, p, n, err));
    if (c->leaf->phys == PQ_BYTE_ARRAY) return gather_bytes(c->out, &c->r->dict, idx, count, err);
    return gather_fixed(c->out, &c->r->dict, c->width, idx, count, err);
}

/* RLE booleans: 4-byte length, then the hybrid encoding with bit width 1. */
static int decode_rle_bool(chunk_ctx *c, size_t count, const uint8_t *p, size_t n, dc_err *err)
{
    dc_pq_reader *r = c->r;
    if (n < 4) return dc_err_set(err, DC_ECORRUPT, "RLE booleans: 4-byte length missing");
    uint32_t len = dc_load_le32(p);
    if (len > n - 4)
        return dc_err_set(err, DC_ECORRUPT, "RLE booleans: length %u exceeds the %zu bytes left",
                          len, n - 4);
    dc_buf_reset(&r->scratch);
    DC_TRY(dc_buf_reserve(&r->scratch, count * sizeof(uint32_t), err));
    uint32_t *v = (uint32_t *)(void *)r->scratch.data;
    DC_TRY(pq_rle_decode_u32(v, count, 1, p + 4, len, err));
    DC_TRY(dc_buf_reserve(&c->out->values, count, err));
    uint8_t *dst = c->out->values.data + c->out->values.len;
    for (size_t i = 0; i < count; i++) dst[i] = (uint8_t)(v[i] & 1);
    c->out->values.len += count;
    return 0;
}

static int decode_delta_int(chunk_ctx *c, size_t count, const uint8_t *p, size_t n, dc_err *err)
{
    dc_pq_column *out = c->out;
    size_t got = 0, used;
    DC_TRY(dc_buf_reserve(&out->values, count * c->width, err));
    void *dst = out->values.data + out->values.len;
    if (c->leaf->phys == PQ_INT32)
        DC_TRY(pq_delta_decode_i32(dst, count, &got, p, n, &used, err));
    else
        DC_TRY(pq_delta_decode_i64(dst, count, &got, p, n, &used, err));
    if (got != count)
        return dc_err_set(err, DC_ECORRUPT, "DELTA_BINARY_PACKED: %zu values for %zu non-null "
                          "levels", got, count);
    out->values.len += count * c->width;
    return 0;
}

/* DELTA_BYTE_ARRAY on FLBA: decode as byte arrays, then check every width. */
static int decode_delta_flba(chunk_ctx *c, size_t count, const uint8_t *p, size_t n,
                             dc_err *err)
{
    dc_pq_column *t = &c->r->tmp;
    dc_pq_column_reset(t);
    DC_TRY(dc_pq_column_reserve_offsets(t, count, err));
    DC_TRY(reserve_bytes(t, err));
    DC_TRY(pq_delta_byte_array_decode(&t->values, t->offsets, count, p, n, err));
    for (size_t i = 0; i < count; i++)
        if (t->offsets[i + 1] - t->offsets[i] != c->width)
            return dc_err_set(err, DC_ECORRUPT, "DELTA_BYTE_ARRAY: value %zu has %u bytes, the "
                              "column's width is %zu", i, t->offsets[i + 1] - t->offsets[i],
                              c->width);
    return dc_buf_append(&c->out->values, t->values.data, t->values.len, err);
}

static int unsupported_enc(const chunk_ctx *c, pq_encoding enc, dc_err *err)
{
    return dc_err_set(err, DC_EUNSUPPORTED, "encoding %s for %s values", pq_encoding_name(enc),
                      pq_type_name(c->leaf->phys));
}

static int decode_values(chunk_ctx *c, pq_encoding enc, size_t count, const uint8_t *p, size_t n,
                         dc_err *err)
{
    dc_pq_column *out = c->out;
    pq_type t = c->leaf->phys;
    if (count == 0) return 0;
    switch (enc) {
    case PQ_ENC_PLAIN:
        return decode_plain(out, c, count, p, n, err);
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY:
        return decode_dict(c, count, p, n, err);
    case PQ_ENC_RLE:
        if (t != PQ_BOOLEAN) return unsupported_enc(c, enc, err);
        return decode_rle_bool(c, count, p, n, err);
    case PQ_ENC_DELTA_BINARY_PACKED:
        if (t != PQ_INT32 && t != PQ_INT64) return unsupported_enc(c, enc, err);
        return decode_delta_int(c, count, p, n, err);
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
        if (t != PQ_BYTE_ARRAY) return unsupported_enc(c, enc, err);
        DC_TRY(dc_pq_column_reserve_offsets(out, count, err));
        DC_TRY(reserve_bytes(out, err));
        return pq_delta_length_decode(&out->values, out->offsets + out->n_values, count, p, n,
                                      err);
    case PQ_ENC_DELTA_BYTE_ARRAY:
        if (t == PQ_FIXED_LEN_BYTE_ARRAY) return decode_delta_flba(c, count, p, n, err);
        if (t != PQ_BYTE_ARRAY) return unsupported_enc(c, enc, err);
        DC_TRY(dc_pq_column_reserve_offsets(out, count, err));
        DC_TRY(reserve_bytes(out, err));
        return pq_delta_byte_array_decode(&out->values, out->offsets + out->n_values, count, p,
                                          n, err);
    case PQ_ENC_BYTE_STREAM_SPLIT:
        if (t == PQ_BOOLEAN || t == PQ_BYTE_ARRAY || t == PQ_INT96)
            return unsupported_enc(c, enc, err);
        DC_TRY(dc_buf_reserve(&out->values, count * c->width, err));
        DC_TRY(pq_bss_decode(out->values.data + out->values.len, count, c->width, p, n, err));
        out->values.len += count * c->width;
        return 0;
    default:
        return unsupported_enc(c, enc, err);
    }
}

/* ---------------------------------------------------------- levels */

/* v1 levels at p[*off..n): RLE with a 4-byte length, or legacy BIT_PACKED. */
static int levels_v1(int16_t *dst, size_t count, int max, pq_encoding enc, const uint8_t *p,
                     size_t n, size_t *off, const char *what, dc_err *err)
{
    int bw = pq_bit_width((uint64_t)max);
    size_t left = n - *off, used;
    if (enc == PQ_ENC_RLE) {
        if (left < 4)
            return dc_err_set(err, DC_ECORRUPT, "%s levels: 4-byte length missing", what);
        uint32_t len = dc_load_le32(p + *off);
        if (len > left - 4)
            return dc_err_set(err, DC_ECORRUPT, "%s levels: length %u exceeds the %zu bytes "
                              "left", what, len, left - 4);
        DC_TRY(pq_rle_decode_i16(dst, count, bw, p + *off + 4, len, err));
        *off += 4 + (size_t)len;
        return 0;
    }
    if (enc == PQ_ENC_BIT_PACKED) {
        DC_TRY(pq_bitpacked_legacy_decode_i16(dst, count, bw, p + *off, left, &used, err));
        *off += used;
        return 0;
    }
    return dc_err_set(err, DC_EUNSUPPORTED, "%s levels in encoding %s", what,
                      pq_encoding_name(enc));
}

/* Checks the levels of a page just decoded at out->n_levels and counts its
 * non-null values and (repeated columns) the rows that start in it. */
static int finish_levels(chunk_ctx *c, size_t count, size_t *n_vals, dc_err *err)
{
    const dc_pq_column *out = c->out;
    const int16_t max_def = c->leaf->max_def, max_rep = c->leaf->max_rep;
    size_t nv = count;
    if (max_def > 0) {
        const int16_t *d = out->def + out->n_levels;
        size_t bad = 0;
        nv = 0;
        for (size_t i = 0; i < count; i++) {
            nv += d[i] == max_def;
            bad += (uint16_t)d[i] > (uint16_t)max_def;
        }
        if (bad)
            return dc_err_set(err, DC_ECORRUPT, "definition level above the maximum %d", max_def);
    }
    if (max_rep > 0) {
        const int16_t *rp = out->rep + out->n_levels;
        size_t bad = 0, rows = 0;
        for (size_t i = 0; i < count; i++) {
            rows += rp[i] == 0;
            bad += (uint16_t)rp[i] > (uint16_t)max_rep;
        }
        if (bad)
            return dc_err_set(err, DC_ECORRUPT, "repetition level above the maximum %d", max_rep);
        if (out->n_levels == 0 && count > 0 && rp[0] != 0)
            return dc_err_set(err, DC_ECORRUPT, "the chunk's first repetition level is %d, a "
                              "record starts with 0", rp[0]);
        c->rows += (int64_t)rows;
    }
    *n_vals = nv;
    return 0;
}

/* A page's num_values, checked against the limit and what the chunk has left. */
static int page_count(size_t *out, const chunk_ctx *c, int32_t num_values, dc_err *err)
{
    uint64_t left = (uint64_t)c->cm->num_values - c->out->n_levels;
    if (num_values < 0 || (uint32_t)num_values > DC_PQ_MAX_PAGE_VALUES)
        return dc_err_set(err, DC_ECORRUPT, "num_values %d outside [0, %u]", (int)num_values,
                          (unsigned)DC_PQ_MAX_PAGE_VALUES);
    if ((uint64_t)num_values > left)
        return dc_err_set(err, DC_ECORRUPT, "%d values, more than the %llu the chunk has left",
                          (int)num_values, (unsigned long long)left);
    *out = (size_t)num_values;
    return dc_pq_column_reserve_levels(c->out, *out, c->leaf->max_def > 0, c->leaf->max_rep > 0,
                                       err);
}

static int read_data_v1(chunk_ctx *c, const pq_page_header *h, const uint8_t *body, dc_err *err)
{
    dc_pq_column *out = c->out;
    if (!h->has_data_page_header)
        return dc_err_set(err, DC_ECORRUPT, "data page without a data_page_header");
    const pq_data_page_header *dp = &h->data_page_header;
    size_t count, nv, off = 0, n;
    const uint8_t *p;
    DC_TRY(page_count(&count, c, dp->num_values, err));
    DC_TRY(inflate(&p, &n, c, body, (size_t)h->compressed_page_size,
                   (size_t)h->uncompressed_page_size, true, err));
    if (c->leaf->max_rep > 0)
        DC_TRY(levels_v1(out->rep + out->n_levels, count, c->leaf->max_rep,
                         dp->repetition_level_encoding, p, n, &off, "repetition", err));
    if (c->leaf->max_def > 0)
        DC_TRY(levels_v1(out->def + out->n_levels, count, c->leaf->max_def,
                         dp->definition_level_encoding, p, n, &off, "definition", err));
    DC_TRY(finish_levels(c, count, &nv, err));
    DC_TRY(decode_values(c, dp->encoding, nv, p + off, n - off, err));
    out->n_levels += count;
    out->n_values += nv;
    return 0;
}

static int read_data_v2(chunk_ctx *c, const pq_page_header *h, const uint8_t *body, dc_err *err)
{
    dc_pq_column *out = c->out;
    if (!h->has_data_page_header_v2)
        return dc_err_set(err, DC_ECORRUPT, "data page v2 without a data_page_header_v2");
    const pq_data_page_header_v2 *d2 = &h->data_page_header_v2;
    int64_t rl = d2->repetition_levels_byte_length, dl = d2->definition_levels_byte_length;
    if (rl < 0 || dl < 0 || rl + dl > h->compressed_page_size ||
        rl + dl > h->uncompressed_page_size)
        return dc_err_set(err, DC_ECORRUPT, "level lengths %lld + %lld exceed the page size",
                          (long long)rl, (long long)dl);
    size_t count, nv, n;
    const uint8_t *p;
    DC_TRY(page_count(&count, c, d2->num_values, err));
    if (c->leaf->max_rep > 0)
        DC_TRY(pq_rle_decode_i16(out->rep + out->n_levels, count,
                                 pq_bit_width((uint64_t)c->leaf->max_rep), body, (size_t)rl, err));
    if (c->leaf->max_def > 0)
        DC_TRY(pq_rle_decode_i16(out->def + out->n_levels, count,
                                 pq_bit_width((uint64_t)c->leaf->max_def), body + rl, (size_t)dl,
                                 err));
    DC_TRY(finish_levels(c, count, &nv, err));
    size_t lv = (size_t)(rl + dl);
    DC_TRY(inflate(&p, &n, c, body + lv, (size_t)h->compressed_page_size - lv,
                   (size_t)h->uncompressed_page_size - lv, d2->is_compressed, err));
    DC_TRY(decode_values(c, d2->encoding, nv, p, n, err));
    out->n_levels += count;
    out->n_values += nv;
    return 0;
}

/* One page at `pos`; *next is where the following page starts. */
static int read_page(chunk_ctx *c, size_t pos, size_t end, size_t *next, dc_err *err)
{
    dc_pq_reader *r = c->r;
    pq_page_header h;
    size_t hlen = 0;
    dc_arena_reset(&r->page_arena);
    DC_TRY(pq_page_header_decode(&h, &hlen, &r->page_arena, r->data + pos, end - pos, err));
    if (h.compressed_page_size < 0 || h.uncompressed_page_size < 0)
        return dc_err_set(err, DC_ECORRUPT, "page sizes %d / %d", (int)h.compressed_page_size,
                          (int)h.uncompressed_page_size);
    if ((uint32_t)h.compressed_page_size > DC_PQ_MAX_PAGE_BYTES ||
        (uint32_t)h.uncompressed_page_size > DC_PQ_MAX_PAGE_UNCOMPRESSED)
        return dc_err_set(err, DC_ELIMIT, "page of %d bytes (%d uncompressed) exceeds the limit "
                          "of %u", (int)h.compressed_page_size, (int)h.uncompressed_page_size,
                          (unsigned)DC_PQ_MAX_PAGE_BYTES);
    if (hlen > end - pos || (size_t)h.compressed_page_size > end - pos - hlen)
        return dc_err_set(err, DC_ECORRUPT, "page of %d bytes after a %zu-byte header overruns "
                          "the column chunk ending at offset %zu", (int)h.compressed_page_size,
                          hlen, end);
    const uint8_t *body = r->data + pos + hlen;
    *next = pos + hlen + (size_t)h.compressed_page_size;
    switch (h.type) {
    case PQ_PAGE_DICTIONARY: return read_dict_page(c, &h, body, err);
    case PQ_PAGE_DATA: return read_data_v1(c, &h, body, err);
    case PQ_PAGE_DATA_V2: return read_data_v2(c, &h, body, err);
    default: return 0;  /* INDEX pages and page types from the future carry nothing we need */
    }
}

static int read_chunk(chunk_ctx *c, uint32_t *page_no, size_t *page_off, dc_err *err)
{
    const pq_column_meta *cm = c->cm;
    size_t pos = (size_t)chunk_start(cm), end = pos + (size_t)cm->total_compressed_size;
    while (pos < end && c->out->n_levels < (uint64_t)cm->num_values) {
        *page_off = pos;
        DC_TRY(read_page(c, pos, end, &pos, err));
        ++*page_no;
    }
    *page_off = SIZE_MAX;
    if (c->out->n_levels != (uint64_t)cm->num_values)
        return dc_err_set(err, DC_ECORRUPT, "the chunk's pages hold %zu values, its metadata "
                          "says %lld", c->out->n_levels, (long long)cm->num_values);
    return 0;
}

int dc_pq_reader_read_column(dc_pq_column *out, dc_pq_reader *r, uint32_t rg, uint32_t leaf,
                             dc_err *err)
{
    dc_pq_column_reset(out);
    if (rg >= r->meta.n_row_groups || leaf >= r->schema->n_leaves)
        return dc_err_set(err, DC_EINVAL, "%s: no row group %u column %u (%u row groups, %u "
                          "columns)", r->name, rg, leaf, r->meta.n_row_groups,
                          r->schema->n_leaves);
    const pq_row_group *g = &r->meta.row_groups[rg];
    chunk_ctx c = {
        .r = r, .leaf = &r->schema->leaves[leaf], .cm = &g->columns[leaf].meta_data, .out = out,
    };
    c.width = dc_pq_phys_width(c.leaf->phys, c.leaf->type_length);
    uint32_t page_no = 0;
    size_t page_off = SIZE_MAX;
    int rc = 0;
    uint8_t *got = r->fetched ? &r->fetched[(size_t)rg * r->schema->n_leaves + leaf] : NULL;
    if (got && !*got) { /* bounds were checked against the file when the footer was read */
        const size_t start = (size_t)chunk_start(c.cm);
        rc = r->fetch(r->fetch_ctx, r->name, start, (size_t)c.cm->total_compressed_size,
                      (uint8_t *)r->data + start, err);
        if (rc == 0) *got = 1;
    }
    if (rc == 0) rc = read_chunk(&c, &page_no, &page_off, err);
    if (rc == 0) {
        int64_t rows = c.leaf->max_rep > 0 ? c.rows : (int64_t)out->n_levels;
        if (rows != g->num_rows)
            rc = dc_err_set(err, DC_ECORRUPT, "the chunk holds %lld rows, the row group %lld",
                            (long long)rows, (long long)g->num_rows);
    }
    if (rc < 0 && page_off != SIZE_MAX)
        dc_err_prefix(err, "%s: row group %u, column %s, page %u at offset %zu", r->name, rg,
                      c.leaf->dotted, page_no, page_off);
    else if (rc < 0)
        dc_err_prefix(err, "%s: row group %u, column %s", r->name, rg, c.leaf->dotted);
    return rc;
}

/* -------------------------------------------------------- statistics */

/* Deprecated min/max were written in signed order by old writers: trust
 * them only where signed order is the type's order (PARQUET-251). */
static bool legacy_stats_ok(const dc_pq_leaf *l)
{
    switch (l->field->type) {
    case DC_TYPE_UINT8: case DC_TYPE_UINT16: case DC_TYPE_UINT32: case DC_TYPE_UINT64:
        return false;
    default:
        break;
    }
    switch (l->phys) {
    case PQ_BOOLEAN: case PQ_INT32: case PQ_INT64: case PQ_FLOAT: case PQ_DOUBLE: return true;
    default: return false;
    }
}

static bool stat_nan(const dc_pq_leaf *l, pq_bytes v)
{
    if (l->phys == PQ_FLOAT) {
        float f;
        memcpy(&f, v.ptr, 4);
        return isnan(f);
    }
    if (l->phys == PQ_DOUBLE) {
        double d;
        memcpy(&d, v.ptr, 8);
        return isnan(d);
    }
    if (l->field->type == DC_TYPE_FLOAT16 && v.len == 2) {
        uint16_t h = (uint16_t)(v.ptr[0] | v.ptr[1] << 8);
        return (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0;
    }
    return false;
}

/* Statistics of a fixed-width type must have that width. */
static bool stat_width_ok(const dc_pq_leaf *l, pq_bytes v)
{
    size_t w = dc_pq_phys_width(l->phys, l->type_length);
    if (l->phys == PQ_BYTE_ARRAY) return true;
    return v.len == w && (w != 0) && v.ptr;
}

int dc_pq_reader_stats(dc_pq_stats *out, const dc_pq_reader *r, uint32_t rg, uint32_t leaf,
                       dc_err *err)
{
    memset(out, 0, sizeof *out);
    if (rg >= r->meta.n_row_groups || leaf >= r->schema->n_leaves)
        return dc_err_set(err, DC_EINVAL, "%s: no row group %u column %u", r->name, rg, leaf);
    const dc_pq_leaf *l = &r->schema->leaves[leaf];
    const pq_statistics *s = &r->meta.row_groups[rg].columns[leaf].meta_data.statistics;
    if (!s->is_set) return 0;
    if (s->has_null_count && s->null_count >= 0) {
        out->has_null_count = true;
        out->null_count = s->null_count;
    }
    bool order_known = !(leaf < r->meta.n_column_orders &&
                         r->meta.column_orders[leaf] == PQ_ORDER_UNKNOWN);
    if (l->phys == PQ_INT96 || l->field->type == DC_TYPE_NULL) return 0;  /* no defined order */
    if (s->has_min_value && s->has_max_value && order_known) {
        out->min = s->min_value;
        out->max = s->max_value;
    } else if (s->has_min && s->has_max && legacy_stats_ok(l)) {
        out->min = s->min;
        out->max = s->max;
    } else {
        return 0;
    }
    if (!stat_width_ok(l, out->min) || !stat_width_ok(l, out->max) || stat_nan(l, out->min) ||
        stat_nan(l, out->max)) {
        memset(&out->min, 0, sizeof out->min);
        memset(&out->max, 0, sizeof out->max);
        return 0;
    }
    out->has_min_max = true;
    return 0;
}

/* Statistics that are known and usable for skipping, else false. */
static bool usable_stats(dc_pq_stats *st, const dc_pq_reader *r, uint32_t rg, uint32_t leaf)
{
    if (rg >= r->meta.n_row_groups || leaf >= r->schema->n_leaves) return false;
    return dc_pq_reader_stats(st, r, rg, leaf, NULL) == 0;
}

/* True when the statistics prove a flat column's row group holds only nulls. */
static bool all_null(const dc_pq_stats *st, const dc_pq_reader *r, uint32_t rg, uint32_t leaf)
{
    const pq_row_group *g = &r->meta.row_groups[rg];
    return r->schema->leaves[leaf].max_rep == 0 && st->has_null_count &&
           st->null_count == g->num_rows && g->columns[leaf].meta_data.num_values == g->num_rows;
}

bool dc_pq_reader_rg_may_contain_i64(const dc_pq_reader *r, uint32_t rg, uint32_t leaf,
                                     int64_t lo, int64_t hi)
{
    dc_pq_stats st;
    if (!usable_stats(&st, r, rg, leaf)) return true;
    const dc_pq_leaf *l = &r->schema->leaves[leaf];
    if (l->phys != PQ_INT32 && l->phys != PQ_INT64) return true;
    if (r->meta.row_groups[rg].num_rows == 0 || all_null(&st, r, rg, leaf)) return false;
    if (!st.has_min_max) return true;
    bool uns = l->field->type == DC_TYPE_UINT8 || l->field->type == DC_TYPE_UINT16 ||
               l->field->type == DC_TYPE_UINT32 || l->field->type == DC_TYPE_UINT64;
    int64_t mn, mx;
    if (l->phys == PQ_INT32) {
        uint32_t a = dc_load_le32(st.min.ptr), b = dc_load_le32(st.max.ptr);
        mn = uns ? (int64_t)a : (int64_t)(int32_t)a;
        mx = uns ? (int64_t)b : (int64_t)(int32_t)b;
    } else {
        uint64_t a = dc_load_le64(st.min.ptr), b = dc_load_le64(st.max.ptr);
        if (uns && a > (uint64_t)INT64_MAX) return false;  /* every value exceeds any int64 */
        mn = (int64_t)a;
        mx = uns && b > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)b;
    }
    return !(mx < lo || mn > hi);
}

/* Unsigned lexicographic comparison, shorter prefix first. */
static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) return c;
    return an < bn ? -1 : an > bn;
}

bool dc_pq_reader_rg_may_contain_bytes(const dc_pq_reader *r, uint32_t rg, uint32_t leaf,
                                       const uint8_t *lo, size_t lo_len, const uint8_t *hi,
                                       size_t hi_len)
{
    dc_pq_stats st;
    if (!usable_stats(&st, r, rg, leaf)) return true;
    const dc_pq_leaf *l = &r->schema->leaves[leaf];
    if (l->phys != PQ_BYTE_ARRAY && l->phys != PQ_FIXED_LEN_BYTE_ARRAY) return true;
    if (r->meta.row_groups[rg].num_rows == 0 || all_null(&st, r, rg, leaf)) return false;
    if (!st.has_min_max || !l->unsigned_order) return true;
    return !(cmp_bytes(st.max.ptr, st.max.len, lo, lo_len) < 0 ||
             cmp_bytes(st.min.ptr, st.min.len, hi, hi_len) > 0);
}
