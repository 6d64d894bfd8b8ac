/*
 * The reader thread: chunks of the source table, in key order, each query
 * after the previous chunk's last key, all in the connection's consistent
 * snapshot; rows kept as their Debezium after images and keys.
 */
#include "boot_int.h"

#include <inttypes.h>
#include <stdlib.h>

#include "../json/dc_json.h"

/* WHERE (k1, k2) > (v1, v2) as k1 > v1 OR (k1 = v1 AND k2 > v2), which
 * every server's range optimizer turns into an index range. */
static int put_after(dc_buf *q, const boot *b, dc_err *err)
{
    if (b->last_key.len == 0) return 0;
    dc_arena a;
    dc_arena_init(&a, 1 << 26);
    dc_json *doc = NULL;
    int rc = dc_json_parse(&doc, &a, (const char *)b->last_key.data, b->last_key.len, err);
    if (rc == 0 && (doc->type != DC_JSON_ARRAY || doc->len != b->keys.n))
        rc = dc_err_set(err, DC_ECORRUPT, "bootstrap.lastKey has not %u values", b->keys.n);
    if (rc == 0) rc = dc_buf_puts(q, " WHERE ", err);
    for (uint32_t i = 0; rc == 0 && i < b->keys.n; i++) {
        if (i) rc = dc_buf_puts(q, " OR ", err);
        if (rc == 0) rc = dc_buf_putc(q, '(', err);
        for (uint32_t j = 0; rc == 0 && j <= i; j++) {
            const char *k = b->keys.names[j];
            const char *lit = dc_json_str(&doc->u.items[j]);
            if (!lit) rc = dc_err_set(err, DC_ECORRUPT, "bootstrap.lastKey: not strings");
            if (rc == 0 && j) rc = dc_buf_puts(q, " AND ", err);
            if (rc == 0) rc = dc_mysql_put_ident(q, k, strlen(k), err);
            if (rc == 0) rc = dc_buf_appendf(q, err, " %s %s", j == i ? ">" : "=", lit);
        }
        if (rc == 0) rc = dc_buf_putc(q, ')', err);
    }
    dc_arena_dispose(&a);
    return rc;
}

static int chunk_query(dc_buf *q, const boot *b, dc_err *err)
{
    dc_buf_reset(q);
    DC_TRY(dc_buf_puts(q, "SELECT ", err));
    DC_TRY(dc_mysql_select_list(q, &b->st, err));
    DC_TRY(dc_buf_puts(q, " FROM ", err));
    DC_TRY(dc_mysql_put_ident(q, b->db, strlen(b->db), err));
    DC_TRY(dc_buf_putc(q, '.', err));
    DC_TRY(dc_mysql_put_ident(q, b->name, strlen(b->name), err));
    DC_TRY(put_after(q, b, err));
    DC_TRY(dc_buf_puts(q, " ORDER BY ", err));
    for (uint32_t i = 0; i < b->keys.n; i++) {
        if (i) DC_TRY(dc_buf_puts(q, ", ", err));
        DC_TRY(dc_mysql_put_ident(q, b->keys.names[i], strlen(b->keys.names[i]), err));
    }
    const uint64_t n = b->o->chunk_rows ? b->o->chunk_rows : BOOT_DEFAULT_CHUNK;
    DC_TRY(dc_buf_appendf(q, err, " LIMIT %" PRIu64, n));
    return dc_buf_putc(q, 0, err);
}

/* ------------------------------------------------------------- rows */

bool dc_boot_key_long(dc_mysql_enc enc)
{
    return enc == DC_MYSQL_ENC_INT || enc == DC_MYSQL_ENC_DATE ||
           enc == DC_MYSQL_ENC_DATETIME_MS || enc == DC_MYSQL_ENC_DATETIME_US;
}

bool dc_boot_key_ok(const dc_mysql_column *c)
{
    switch (c->enc) {
    case DC_MYSQL_ENC_INT: case DC_MYSQL_ENC_STRING: case DC_MYSQL_ENC_BYTES:
    case DC_MYSQL_ENC_DATE: case DC_MYSQL_ENC_DATETIME_MS: case DC_MYSQL_ENC_DATETIME_US:
    case DC_MYSQL_ENC_TIMESTAMP:
        return true;
    case DC_MYSQL_ENC_DECIMAL: /* the merge keys it by its unscaled int64 */
        return c->precision > 0 && c->precision <= 18 && c->scale >= 0;
    default:
        return false;
    }
}

/* A DECIMAL's text ("-12.50") → Debezium's Decimal: the unscaled value's
 * big-endian two's complement bytes, base64 (what dc_cdc_typed_key reads). */
static int put_decimal_key(dc_buf *d, const dc_mysql_column *c, const char *v, size_t n,
                           dc_err *err)
{
    size_t i = n > 0 && v[0] == '-';
    const bool neg = i == 1;
    int64_t u = 0, frac = -1;
    for (; i < n; i++) {
        if (v[i] == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (v[i] < '0' || v[i] > '9' || dc_mul_overflow_i64(u, 10, &u) ||
            dc_add_overflow_i64(u, v[i] - '0', &u))
            return dc_err_set(err, DC_EINVAL, "key column '%s' (%s): '%.*s' is not a decimal "
                              "of up to 18 digits", c->name, c->column_type, (int)n, v);
        if (frac >= 0) frac++;
    }
    for (frac = frac < 0 ? 0 : frac; frac < c->scale; frac++)
        if (dc_mul_overflow_i64(u, 10, &u))
            return dc_err_set(err, DC_EINVAL, "key column '%s': decimal too wide", c->name);
    if (frac != c->scale)
        return dc_err_set(err, DC_EINVAL, "key column '%s' (%s): '%.*s' has more than %" PRId64
                          " decimals", c->name, c->column_type, (int)n, v, c->scale);
    uint8_t be[8];
    const uint64_t x = neg ? (uint64_t)0 - (uint64_t)u : (uint64_t)u;
    for (int k = 0; k < 8; k++) be[k] = (uint8_t)(x >> (56 - 8 * k));
    return dc_base64_encode(d, be, 8, err);
}

/* One key value appended in the chunk's form (dc_boot_key_long): the value
 * Debezium's after image holds for it, as the merge expects of an event. */
static int put_key(dc_buf *d, rblock *blk, const boot *b, uint32_t i, const char *v, size_t n,
                   dc_err *err)
{
    const dc_mysql_column *c = &b->st.cols[b->key_col[i]];
    dc_buf *kv = &blk->kv;
    dc_buf_reset(kv);
    if (c->enc == DC_MYSQL_ENC_DECIMAL) DC_TRY(put_decimal_key(kv, c, v, n, err));
    else if (c->enc == DC_MYSQL_ENC_INT || c->enc == DC_MYSQL_ENC_STRING)
        DC_TRY(dc_buf_append(kv, v, n, err));
    else DC_TRY(dc_mysql_value(kv, c, v, n, err));
    const char *s = (const char *)kv->data;
    size_t len = kv->len;
    if (dc_boot_key_long(c->enc)) {
        char num[32], *e = NULL;
        if (len >= sizeof num)
            return dc_err_set(err, DC_EINVAL, "key column '%s': '%.*s' is not a 64-bit integer",
                              c->name, (int)n, v);
        memcpy(num, s, len);
        num[len] = 0;
        const int64_t x = strtoll(num, &e, 10);
        if (len == 0 || e != num + len) /* "null": a zero date */
            return dc_err_set(err, DC_EINVAL, "key column '%s' (%s): '%.*s' is not a key value "
                              "(a zero date has none)", c->name, c->column_type, (int)n, v);
        uint8_t le[8];
        dc_store_le64(le, (uint64_t)x);
        return dc_buf_append(d, le, 8, err);
    }
    if (c->enc == DC_MYSQL_ENC_TIMESTAMP || c->enc == DC_MYSQL_ENC_BYTES) {
        if (len < 2 || s[0] != '"') /* "null": a zero timestamp */
            return dc_err_set(err, DC_EINVAL, "key column '%s' (%s): '%.*s' is not a key value",
                              c->name, c->column_type, (int)(n > 64 ? 64 : n), v);
        s++;
        len -= 2; /* the quotes: base64 and ISO text have nothing escaped */
    }
    uint8_t l[4];
    dc_store_le32(l, (uint32_t)len);
    DC_TRY(dc_buf_append(d, l, 4, err));
    return dc_buf_append(d, s, len, err);
}

/* The row's decoded after image and key values appended to the block. The
 * image is decoded here, on the reader's core, with the columns of the
 * schema block the committer's events carry (dc_merge_batch_images_typed):
 * the one type mapping, and the committer's core left for the merge. Most
 * rows take the short way from the server's text (boot_fast.c). */
static int put_row(rblock *blk, const boot *b, char **row, const unsigned long *lens,
                   dc_err *err)
{
    dc_buf *d = &blk->data;
    const size_t at = d->len;
    DC_TRY(dc_buf_append(d, "\0\0\0\0", 4, err));
    bool fast = false;
    if (blk->imageless) { /* the columns alone: a row they do not take ends it (fill) */
        fast = dc_boot_fast_ok(b, row, lens);
        blk->cols_ok = fast && dc_boot_cols_row(blk->cols, b, row, lens);
        blk->n_fast += fast;
        if (!blk->cols_ok) return 0;
    } else {
        DC_TRY(dc_boot_fast_members(&fast, d, b, row, lens, err));
        blk->n_fast += fast;
        if (blk->cols_ok) blk->cols_ok = fast && dc_boot_cols_row(blk->cols, b, row, lens);
    }
    if (!fast) {
        dc_buf_reset(&blk->img);
        DC_TRY(dc_mysql_image(&blk->img, &b->st, row, lens, err));
        DC_TRY(dc_cdc_typed_members(d, b->cols, (const char *)blk->img.data, blk->img.len,
                                    err));
    }
    const size_t n = d->len - at - 4;
    if (n > UINT32_MAX) return dc_err_set(err, DC_ELIMIT, "a row image of %zu bytes", n);
    dc_store_le32(d->data + at, (uint32_t)n);
    for (uint32_t i = 0; i < b->keys.n; i++) {
        const uint32_t c = b->key_col[i];
        if (!row[c]) return dc_err_set(err, DC_EINVAL, "key column '%s' is NULL in a row of %s",
                                       b->keys.names[i], b->topic);
        DC_TRY(put_key(d, blk, b, i, row[c], lens[c], err));
    }
    return 0;
}

/* The last row's key values, raw (the row is gone once the result ends). */
typedef struct rawkey {
    dc_buf raw;                     /* the values one after the other */
    size_t at[DC_CDC_MAX_KEYS];     /* where each starts */
    unsigned long len[DC_CDC_MAX_KEYS];
} rawkey;

static int keep_key(rawkey *k, const boot *b, char **row, const unsigned long *lens, dc_err *err)
{
    dc_buf_reset(&k->raw);
    for (uint32_t i = 0; i < b->keys.n; i++) {
        const uint32_t c = b->key_col[i];
        k->at[i] = k->raw.len;
        k->len[i] = lens[c];
        DC_TRY(dc_buf_append(&k->raw, row[c], lens[c], err));
    }
    return 0;
}

/* X'hex' of n bytes. */
static int put_hex_literal(dc_buf *out, const char *v, size_t n, dc_err *err)
{
    static const char hx[] = "0123456789ABCDEF";
    DC_TRY(dc_buf_puts(out, "X'", err));
    for (size_t i = 0; i < n; i++) {
        const char two[2] = {hx[(uint8_t)v[i] >> 4], hx[(uint8_t)v[i] & 15]};
        DC_TRY(dc_buf_append(out, two, 2, err));
    }
    return dc_buf_putc(out, '\'', err);
}

/* The kept key as a JSON array of SQL literals (NUL-terminated; len
 * without the NUL). */
static int key_literals(dc_buf *out, dc_mysql *m, const boot *b, const rawkey *k, dc_err *err)
{
    dc_buf lit;
    dc_buf_init(&lit, DC_MERGE_MAX_KEY_BYTES * 2 + 16);
    dc_buf_reset(out);
    int rc = dc_buf_putc(out, '[', err);
    for (uint32_t i = 0; rc == 0 && i < b->keys.n; i++) {
        const char *v = (const char *)k->raw.data + k->at[i];
        dc_buf_reset(&lit);
        const dc_mysql_enc enc = b->st.cols[b->key_col[i]].enc;
        if (enc == DC_MYSQL_ENC_INT || enc == DC_MYSQL_ENC_DECIMAL) /* compared exactly */
            rc = dc_buf_append(&lit, v, k->len[i], err);
        else if (enc == DC_MYSQL_ENC_BYTES) /* X'..': any bytes, and JSON-safe */
            rc = put_hex_literal(&lit, v, k->len[i], err);
        else /* text, and dates and times as the server printed them */
            rc = dc_mysql_put_literal(&lit, m, v, k->len[i], err);
        if (rc == 0 && i) rc = dc_buf_putc(out, ',', err);
        if (rc == 0) rc = dc_json_put_str(out, (const char *)lit.data, lit.len, err);
    }
    if (rc == 0) rc = dc_buf_putc(out, ']', err);
    if (rc == 0) rc = dc_buf_putc(out, 0, err);
    if (rc == 0) out->len--;
    dc_buf_dispose(&lit);
    return rc;
}

/* The chunk after b->last_key read into blk (emptied first). */
static int fill_once(rblock *blk, boot *b, dc_buf *q, rawkey *k, dc_err *err)
{
    dc_buf_reset(&blk->data);
    dc_buf_reset(&blk->last_key);
    blk->n = blk->n_fast = 0;
    blk->cols_ok = blk->cols != NULL;
    blk->imageless = blk->cols_ok && !b->images;
    for (uint32_t i = 0; blk->cols && i < b->pqs->n_leaves; i++)
        dc_pq_column_reset(&blk->cols[i]);
    char **row = NULL;
    unsigned long *lens = NULL;
    int rc = chunk_query(q, b, err);
    if (rc == 0) rc = dc_mysql_stream_start(b->m, (const char *)q->data, err);
    for (bool done = false; rc == 0;) {
        if ((rc = dc_mysql_stream_next(&row, &lens, &done, b->m, err)) < 0 || done) break;
        rc = put_row(blk, b, row, lens, err);
        if (rc < 0) dc_err_prefix(err, "%s: row %" PRIu64 " after key %.*s", b->topic,
                                  blk->n + 1, b->last_key.len ? (int)b->last_key.len : 6,
                                  b->last_key.len ? (const char *)b->last_key.data : "(none)");
        if (rc == 0 && blk->imageless && !blk->cols_ok) break; /* fill: read it again */
        if (rc == 0) rc = keep_key(k, b, row, lens, err);
        blk->n++;
    }
    dc_mysql_stream_end(b->m); /* the rest of a result left early is read and dropped */
    return rc;
}

/* Reads one chunk into blk, after b->last_key (which then moves on): as
 * columns alone while its rows all take them, else again with the images,
 * which decide the rows the columns do not take (from then on for every
 * chunk: a table that has such rows tends to have more). */
static int fill(rblock *blk, boot *b, dc_buf *q, rawkey *k, dc_err *err)
{
    const uint64_t limit = b->o->chunk_rows ? b->o->chunk_rows : BOOT_DEFAULT_CHUNK;
    dc_buf_reset(&blk->after);
    int rc = b->last_key.len ? dc_buf_append(&blk->after, b->last_key.data, b->last_key.len,
                                             err) : 0;
    if (rc == 0) rc = fill_once(blk, b, q, k, err);
    if (rc == 0 && blk->imageless && !blk->cols_ok) {
        DC_LOG(DC_LOG_DEBUG, "boot", "%s: a row the columns do not take after %" PRIu64
               " rows: the chunk read again with its images", b->topic, blk->n);
        b->images = true;
        rc = fill_once(blk, b, q, k, err);
    }
    blk->last = blk->n < limit;
    if (rc == 0 && blk->n > 0) rc = key_literals(&blk->last_key, b->m, b, k, err);
    if (rc == 0 && blk->n > 0) {
        dc_buf_reset(&b->last_key);
        rc = dc_buf_append(&b->last_key, blk->last_key.data, blk->last_key.len, err);
    }
    return rc;
}

/* ----------------------------------------------------------- thread */

static void *reader_main(void *arg)
{
    boot_reader *r = arg;
    dc_buf q;
    dc_buf_init(&q, 1 << 24);
    rawkey k;
    dc_buf_init(&k.raw, 1 << 20);
    for (uint32_t i = 0;; i ^= 1) {
        rblock *blk = &r->blk[i];
        pthread_mutex_lock(&r->mu);
        while (blk->state != RB_FREE && !r->quit) pthread_cond_wait(&r->cv, &r->mu);
        const bool quit = r->quit;
        if (!quit) blk->state = RB_FILLING;
        pthread_mutex_unlock(&r->mu);
        if (quit) break;
        dc_err_clear(&blk->err);
        blk->rc = fill(blk, r->b, &q, &k, &blk->err);
        const bool end = blk->rc < 0 || blk->last;
        pthread_mutex_lock(&r->mu);
        blk->state = RB_READY;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (end) break;
    }
    dc_buf_dispose(&q);
    dc_buf_dispose(&k.raw);
    return NULL;
}

int dc_boot_reader_start(boot_reader *r, boot *b, dc_err *err)
{
    memset(r, 0, sizeof *r);
    r->b = b;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    for (int i = 0; i < 2; i++) {
        dc_buf_init(&r->blk[i].data, DC_MERGE_MAX_BATCH_BYTES);
        dc_buf_init(&r->blk[i].last_key, 1 << 20);
        dc_buf_init(&r->blk[i].after, 1 << 20);
        dc_buf_init(&r->blk[i].img, DC_MERGE_MAX_BATCH_BYTES);
        dc_buf_init(&r->blk[i].kv, DC_MERGE_MAX_KEY_BYTES * 2 + 64);
        if (!b->pqs) continue;
        r->blk[i].cols = dc_calloc(b->pqs->n_leaves, sizeof *r->blk[i].cols);
        if (!r->blk[i].cols) return dc_err_set(err, DC_ENOMEM, "bootstrap: out of memory");
        for (uint32_t j = 0; j < b->pqs->n_leaves; j++) dc_pq_column_init(&r->blk[i].cols[j]);
    }
    if (pthread_create(&r->thread, NULL, reader_main, r) != 0)
        return dc_err_set(err, DC_EIO, "bootstrap: cannot start the reader thread");
    r->started = true;
    return 0;
}

rblock *dc_boot_reader_next(boot_reader *r, uint32_t i)
{
    rblock *blk = &r->blk[i & 1];
    pthread_mutex_lock(&r->mu);
    while (blk->state != RB_READY) pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    return blk;
}

void dc_boot_reader_release(boot_reader *r, rblock *blk)
{
    pthread_mutex_lock(&r->mu);
    blk->state = RB_FREE;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void dc_boot_reader_stop(boot_reader *r)
{
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->quit = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
        r->started = false;
    }
    for (int i = 0; i < 2; i++) {
        dc_buf_dispose(&r->blk[i].data);
        dc_buf_dispose(&r->blk[i].last_key);
        dc_buf_dispose(&r->blk[i].after);
        dc_buf_dispose(&r->blk[i].img);
        dc_buf_dispose(&r->blk[i].kv);
        for (uint32_t j = 0; r->blk[i].cols && j < r->b->pqs->n_leaves; j++)
            dc_pq_column_dispose(&r->blk[i].cols[j]);
        dc_free(r->blk[i].cols);
    }
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}
