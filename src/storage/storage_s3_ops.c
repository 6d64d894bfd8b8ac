/*
 * storage (S3 backend): the vtable's operations and the streaming writer.
 *
 * Outcomes of put-if-absent: 0 (ours is there), DC_EEXISTS (412/409: it was
 * present before us, and no earlier attempt of ours may have taken effect),
 * DC_EUNKNOWN (an attempt was sent and its reply lost, and what followed can
 * not tell ours from another writer's: a later 412 may be our own object).
 * The delta layer resolves DC_EUNKNOWN by reading the log back.
 */
#include "storage_s3_http.h"

#include <stdio.h>
#include <stdlib.h>

/* Builds the full key of path into b; returns its text or NULL (err set). */
static const char *key_of(dc_buf *b, dc_storage *s, const char *path, dc_err *err)
{
    dc_buf_init(b, 64 * 1024);
    return s3_key(b, s->ctx, path, err) == 0 ? (const char *)b->data : NULL;
}

/* -------------------------------------------------------------- reads */

static int s3_read(dc_storage *s, const char *path, dc_buf *out, dc_err *err)
{
    dc_buf k;
    const char *key = key_of(&k, s, path, err);
    int rc = key ? 0 : DC_ENOMEM;
    if (rc == 0) {
        s3_req r;
        s3_req_init(&r, "GET", key, &s->stats.get);
        r.sink = out;
        const size_t start = out->len;
        rc = s3_do(s, &r, err);
        if (rc < 0) out->len = start; /* nothing appended on failure */
        s3_req_dispose(&r);
    }
    dc_buf_dispose(&k);
    return rc;
}

static int s3_read_range(dc_storage *s, const char *path, uint64_t offset, size_t n, uint8_t *dst,
                         dc_err *err)
{
    if (n == 0) return 0;
    dc_buf k;
    const char *key = key_of(&k, s, path, err);
    int rc = key ? 0 : DC_ENOMEM;
    char range[80];
    snprintf(range, sizeof range, "Range: bytes=%llu-%llu", (unsigned long long)offset,
             (unsigned long long)(offset + n - 1));
    s3_req r;
    s3_req_init(&r, "GET", key ? key : "", &s->stats.get);
    r.dst = dst;
    r.dst_n = n;
    r.hdr[0] = range;
    if (rc == 0) rc = s3_do(s, &r, err);
    if (rc == DC_ELIMIT || rc == DC_ECORRUPT || (rc == 0 && (r.status != 206 || r.dst_got != n))) {
        /* 416, a short range, or a server that ignored Range (200, whole object). */
        rc = dc_err_set(err, DC_ECORRUPT, "s3 %s/%s: %zu bytes at offset %llu: the object is "
                        "shorter (HTTP %ld, %zu bytes)", s->root, path, n,
                        (unsigned long long)offset, r.status, r.dst_got);
    }
    s3_req_dispose(&r);
    dc_buf_dispose(&k);
    return rc;
}

static int s3_size(dc_storage *s, const char *path, uint64_t *size_out, dc_err *err)
{
    dc_buf k;
    const char *key = key_of(&k, s, path, err);
    int rc = key ? 0 : DC_ENOMEM;
    s3_req r;
    s3_req_init(&r, "HEAD", key ? key : "", &s->stats.get);
    if (rc == 0) rc = s3_do(s, &r, err);
    if (rc == 0 && r.length < 0)
        rc = dc_err_set(err, DC_EIO, "s3 %s/%s: HEAD without Content-Length", s->root, path);
    if (rc == 0) *size_out = (uint64_t)r.length;
    s3_req_dispose(&r);
    dc_buf_dispose(&k);
    return rc;
}

/* ------------------------------------------------------------- writes */

/* A PUT of p; if_absent makes it conditional (enforced: the header; not
 * enforced, single-writer mode: a HEAD first). */
static int put_object(dc_storage *s, const char *path, const void *p, size_t n, bool if_absent,
                      dc_err *err)
{
    s3_ctx *c = s->ctx;
    bool enforced = false;
    DC_TRY(s3_check_writable(s, &enforced, err));
    if (if_absent && !enforced) {
        uint64_t sz;
        int rc = s3_size(s, path, &sz, err);
        if (rc == 0) return dc_err_set(err, DC_EEXISTS, "s3 %s/%s: exists", s->root, path);
        if (rc != DC_ENOTFOUND) return rc;
        dc_err_clear(err);
    }
    dc_buf k;
    const char *key = key_of(&k, s, path, err);
    int rc = key ? 0 : DC_ENOMEM;
    s3_req r;
    s3_req_init(&r, "PUT", key ? key : "", &s->stats.put);
    r.body = n ? p : "";
    r.body_n = n;
    r.is_write = true;
    if (if_absent && enforced) {
        r.hdr[0] = s3_if_absent_header(c);
        r.conditional = true;
    }
    if (rc == 0) rc = s3_do(s, &r, err);
    if (if_absent && r.maybe_applied && rc < 0) {
        /* Our earlier attempt may be the object now present (412), or may
         * still land: only the log can tell. */
        rc = dc_err_set(err, DC_EUNKNOWN,
                        "s3 %s/%s: conditional PUT: a reply was lost and the retry %s; the "
                        "object may be ours", s->root, path,
                        rc == DC_EEXISTS ? "found the object present" : "failed too");
    } else if (rc == DC_EEXISTS && !if_absent) {
        rc = dc_err_set(err, DC_EIO, "s3 %s/%s: PUT refused with HTTP %ld %s", s->root, path,
                        r.status, r.code);
    }
    s3_req_dispose(&r);
    dc_buf_dispose(&k);
    return rc;
}

static int s3_write(dc_storage *s, const char *path, const void *p, size_t n, dc_err *err)
{
    return put_object(s, path, p, n, false, err);
}

static int s3_put_if_absent(dc_storage *s, const char *path, const void *p, size_t n,
                            dc_err *err)
{
    return put_object(s, path, p, n, true, err);
}

static int s3_remove(dc_storage *s, const char *path, dc_err *err)
{
    dc_buf k;
    const char *key = key_of(&k, s, path, err);
    int rc = key ? 0 : DC_ENOMEM;
    s3_req r;
    s3_req_init(&r, "DELETE", key ? key : "", &s->stats.del);
    if (rc == 0) rc = s3_do(s, &r, err);
    s3_req_dispose(&r);
    dc_buf_dispose(&k);
    return rc;
}

/* Appends s XML-escaped. */
static int xml_escape(dc_buf *b, const char *s, dc_err *err)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': DC_TRY(dc_buf_puts(b, "&amp;", err)); break;
        case '<': DC_TRY(dc_buf_puts(b, "&lt;", err)); break;
        case '>': DC_TRY(dc_buf_puts(b, "&gt;", err)); break;
        case '"': DC_TRY(dc_buf_puts(b, "&quot;", err)); break;
        default: DC_TRY(dc_buf_putc(b, (uint8_t)*s, err));
        }
    }
    return 0;
}

/* One DeleteObjects request of n <= 1000 keys. */
static int delete_batch(dc_storage *s, const char *const *paths, size_t n, dc_err *err)
{
    dc_buf body, k;
    dc_buf_init(&body, (size_t)64 * 1024 * 1024);
    dc_buf_init(&k, 64 * 1024);
    int rc = dc_buf_puts(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                                "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                "<Quiet>true</Quiet>", err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        dc_buf_reset(&k);
        rc = s3_key(&k, s->ctx, paths[i], err);
        if (rc == 0) rc = dc_buf_puts(&body, "<Object><Key>", err);
        if (rc == 0) rc = xml_escape(&body, (const char *)k.data, err);
        if (rc == 0) rc = dc_buf_puts(&body, "</Key></Object>", err);
    }
    if (rc == 0) rc = dc_buf_puts(&body, "</Delete>", err);
    char md5[32], hdr[64];
    s3_req r;
    s3_req_init(&r, "POST", "", &s->stats.del);
    if (rc == 0) {
        s3_md5_b64(md5, body.data, body.len);
        snprintf(hdr, sizeof hdr, "Content-MD5: %s", md5);
        r.hdr[0] = hdr;
        r.query = "delete=";
        r.body = body.data;
        r.body_n = body.len;
        rc = s3_do(s, &r, err);
    }
    if (rc == 0) rc = s3_delete_result_parse((const char *)r.reply.data, r.reply.len, err);
    if (rc < 0) dc_err_prefix(err, "storage %s: deleting %zu objects", s->root, n);
    s3_req_dispose(&r);
    dc_buf_dispose(&body);
    dc_buf_dispose(&k);
    return rc;
}

static int s3_remove_many(dc_storage *s, const char *const *paths, size_t n, dc_err *err)
{
    for (size_t i = 0; i < n; i += S3_DELETE_BATCH)
        DC_TRY(delete_batch(s, paths + i, n - i < S3_DELETE_BATCH ? n - i : S3_DELETE_BATCH, err));
    return 0;
}

/* --------------------------------------------------------------- list */

/* The query of one ListObjectsV2 page, parameters sorted (SigV4's canonical
 * query string is sorted; curl signs the query as given). */
static int list_query(dc_buf *q, const char *token, const char *prefix, const char *start,
                      dc_err *err)
{
    dc_buf_reset(q);
    if (token) {
        DC_TRY(dc_buf_puts(q, "continuation-token=", err));
        DC_TRY(s3_url_encode(q, token, strlen(token), false, err));
        DC_TRY(dc_buf_putc(q, '&', err));
    }
    DC_TRY(dc_buf_puts(q, "delimiter=%2F&list-type=2&prefix=", err));
    DC_TRY(s3_url_encode(q, prefix, strlen(prefix), false, err));
    if (start && !token) {
        DC_TRY(dc_buf_puts(q, "&start-after=", err));
        DC_TRY(s3_url_encode(q, start, strlen(start), false, err));
    }
    DC_TRY(dc_buf_putc(q, '\0', err));
    q->len--;
    return 0;
}

static int s3_list(dc_storage *s, const char *dir, const char *start_after, dc_storage_list *out,
                   dc_err *err)
{
    s3_ctx *c = s->ctx;
    dc_buf prefix, start, q;
    dc_buf_init(&prefix, 64 * 1024);
    dc_buf_init(&start, 64 * 1024);
    dc_buf_init(&q, 256 * 1024);
    const size_t first = out->n;
    char *token = NULL;
    int rc = s3_key(&prefix, c, dir, err);
    if (rc == 0 && prefix.len > 0) rc = dc_buf_puts(&prefix, "/", err);
    if (rc == 0) rc = dc_buf_putc(&prefix, '\0', err); /* the text, '/' included */
    if (rc == 0 && start_after)
        rc = dc_buf_appendf(&start, err, "%s%s", (const char *)prefix.data, start_after);
    if (rc == 0) rc = dc_buf_putc(&start, '\0', err);
    bool more = rc == 0;
    while (more) {
        rc = list_query(&q, token, (const char *)prefix.data,
                        start_after ? (const char *)start.data : NULL, err);
        s3_req r;
        s3_req_init(&r, "GET", "", &s->stats.list);
        r.query = (const char *)q.data;
        if (rc == 0) rc = s3_do(s, &r, err);
        s3_list_page page = {0};
        if (rc == 0)
            rc = s3_list_parse(&page, out, (const char *)r.reply.data, r.reply.len,
                               (const char *)prefix.data, err);
        s3_req_dispose(&r);
        dc_free(token);
        token = page.next_token;
        more = rc == 0 && page.truncated;
    }
    if (rc == 0) dc_storage_list_sort(out, first);
    /* No keys under the prefix: the directory does not exist (objects stores
     * have no empty directories). With start_after, nothing newer is normal. */
    if (rc == 0 && out->n == first && !start_after)
        rc = dc_err_set(err, DC_ENOTFOUND, "%s/%s: no such directory", s->root, dir);
    if (rc < 0 && rc != DC_ENOTFOUND) dc_err_prefix(err, "listing %s/%s", s->root, dir);
    dc_free(token);
    dc_buf_dispose(&prefix);
    dc_buf_dispose(&start);
    dc_buf_dispose(&q);
    return rc;
}

/* ------------------------------------------------------------- writer */

/* A streaming write: bytes gather into one part; a small object is one PUT
 * at commit, a large one a multipart upload (aborted on failure). */
typedef struct s3_writer {
    dc_storage_writer base;  /* first: the generic part */
    char *path;              /* table-relative path (owned) */
    char *key;               /* full key (owned) */
    dc_buf part;             /* bytes of the part being filled */
    char *upload_id;         /* multipart upload, once started (owned) */
    dc_buf etags;            /* "<Part>...</Part>" of the parts uploaded */
    int n_parts;             /* parts uploaded */
} s3_writer;

static int upload_start(s3_writer *w, dc_err *err)
{
    dc_storage *s = w->base.s;
    s3_req r;
    s3_req_init(&r, "POST", w->key, &s->stats.put);
    r.query = "uploads=";
    int rc = s3_do(s, &r, err);
    if (rc == 0) rc = s3_upload_id_parse(&w->upload_id, (const char *)r.reply.data, r.reply.len, err);
    s3_req_dispose(&r);
    return rc;
}

static int upload_part(s3_writer *w, dc_err *err)
{
    dc_storage *s = w->base.s;
    if (!w->upload_id) DC_TRY(upload_start(w, err));
    if (w->n_parts >= S3_MAX_PARTS)
        return dc_err_set(err, DC_ELIMIT, "s3 %s/%s: more than %d parts of %zu bytes", s->root,
                          w->path, S3_MAX_PARTS, (size_t)S3_PART_SIZE);
    dc_buf q;
    dc_buf_init(&q, 64 * 1024);
    int rc = dc_buf_appendf(&q, err, "partNumber=%d&uploadId=", w->n_parts + 1);
    if (rc == 0) rc = s3_url_encode(&q, w->upload_id, strlen(w->upload_id), false, err);
    if (rc == 0) rc = dc_buf_putc(&q, '\0', err);
    s3_req r;
    s3_req_init(&r, "PUT", w->key, &s->stats.put);
    r.query = (const char *)q.data;
    r.body = w->part.data ? (const void *)w->part.data : "";
    r.body_n = w->part.len;
    if (rc == 0) rc = s3_do(s, &r, err);
    if (rc == 0 && !r.etag[0])
        rc = dc_err_set(err, DC_EIO, "s3 %s/%s: UploadPart reply without ETag", s->root, w->path);
    if (rc == 0) {
        rc = dc_buf_appendf(&w->etags, err, "<Part><PartNumber>%d</PartNumber><ETag>",
                            w->n_parts + 1);
        if (rc == 0) rc = xml_escape(&w->etags, r.etag, err);
        if (rc == 0) rc = dc_buf_puts(&w->etags, "</ETag></Part>", err);
    }
    if (rc == 0) {
        w->n_parts++;
        dc_buf_reset(&w->part);
    }
    s3_req_dispose(&r);
    dc_buf_dispose(&q);
    return rc;
}

static int sw_write(dc_storage_writer *base, const void *p, size_t n, dc_err *err)
{
    s3_writer *w = (s3_writer *)base;
    const uint8_t *b = p;
    while (n > 0) {
        size_t room = S3_PART_SIZE - w->part.len, take = n < room ? n : room;
        DC_TRY(dc_buf_append(&w->part, b, take, err));
        b += take;
        n -= take;
        if (w->part.len == S3_PART_SIZE) DC_TRY(upload_part(w, err));
    }
    return 0;
}

/* CompleteMultipartUpload; if_absent adds the conditional header (AWS
 * honours it on completion). */
static int upload_complete(s3_writer *w, bool if_absent, dc_err *err)
{
    dc_storage *s = w->base.s;
    dc_buf body, q;
    dc_buf_init(&body, (size_t)16 * 1024 * 1024);
    dc_buf_init(&q, 64 * 1024);
    int rc = dc_buf_puts(&body, "<CompleteMultipartUpload>", err);
    if (rc == 0) rc = dc_buf_append(&body, w->etags.data, w->etags.len, err);
    if (rc == 0) rc = dc_buf_puts(&body, "</CompleteMultipartUpload>", err);
    if (rc == 0) rc = dc_buf_puts(&q, "uploadId=", err);
    if (rc == 0) rc = s3_url_encode(&q, w->upload_id, strlen(w->upload_id), false, err);
    if (rc == 0) rc = dc_buf_putc(&q, '\0', err);
    s3_req r;
    s3_req_init(&r, "POST", w->key, &s->stats.put);
    r.query = (const char *)q.data;
    r.body = body.data;
    r.body_n = body.len;
    r.is_write = true;
    if (if_absent) {
        r.hdr[0] = s3_if_absent_header(s->ctx);
        r.conditional = true;
    }
    if (rc == 0) rc = s3_do(s, &r, err);
    /* 200 with an <Error> body is a failure too (S3 reports late errors so). */
    if (rc == 0 && r.reply.len && memmem(r.reply.data, r.reply.len, "<Error>", 7)) {
        char code[64], msg[256];
        s3_error_parse(code, sizeof code, msg, sizeof msg, (const char *)r.reply.data,
                       r.reply.len);
        rc = dc_err_set(err, DC_EIO, "s3 %s/%s: CompleteMultipartUpload: %s %s", s->root,
                        w->path, code, msg);
    }
    if (rc < 0 && r.maybe_applied)
        rc = dc_err_set(err, DC_EUNKNOWN, "s3 %s/%s: CompleteMultipartUpload: a reply was lost; "
                        "the object may be in place", s->root, w->path);
    s3_req_dispose(&r);
    dc_buf_dispose(&body);
    dc_buf_dispose(&q);
    return rc;
}

/* AbortMultipartUpload of `upload_id` on the full key `key`. */
static int abort_upload(dc_storage *s, const char *key, const char *upload_id, dc_err *err)
{
    dc_buf q;
    dc_buf_init(&q, 64 * 1024);
    s3_req r;
    s3_req_init(&r, "DELETE", key, &s->stats.del);
    int rc = dc_buf_puts(&q, "uploadId=", err);
    if (rc == 0) rc = s3_url_encode(&q, upload_id, strlen(upload_id), false, err);
    if (rc == 0) rc = dc_buf_putc(&q, '\0', err);
    r.query = (const char *)q.data;
    if (rc == 0) rc = s3_do(s, &r, err);
    s3_req_dispose(&r);
    dc_buf_dispose(&q);
    return rc;
}

static void upload_abort(s3_writer *w)
{
    dc_err e;
    dc_err_clear(&e);
    if (abort_upload(w->base.s, w->key, w->upload_id, &e) < 0)
        DC_LOG(DC_LOG_WARN, "storage", "%s/%s: aborting a multipart upload: %s (VACUUM, or a "
               "lifecycle rule for incomplete uploads, cleans it up)", w->base.s->root, w->path,
               e.msg);
}

static void sw_free(s3_writer *w)
{
    dc_free(w->path);
    dc_free(w->key);
    dc_free(w->upload_id);
    dc_buf_dispose(&w->part);
    dc_buf_dispose(&w->etags);
    dc_free(w);
}

static int sw_commit(dc_storage_writer *base, bool if_absent, dc_err *err)
{
    s3_writer *w = (s3_writer *)base;
    int rc;
    if (!w->upload_id) {
        rc = put_object(w->base.s, w->path, w->part.data, w->part.len, if_absent, err);
    } else {
        rc = w->part.len ? upload_part(w, err) : 0;
        if (rc == 0) rc = upload_complete(w, if_absent, err);
        if (rc < 0 && rc != DC_EUNKNOWN) upload_abort(w);
    }
    sw_free(w);
    return rc;
}

static void sw_abort(dc_storage_writer *base)
{
    s3_writer *w = (s3_writer *)base;
    if (w->upload_id) upload_abort(w);
    sw_free(w);
}

static const dc_storage_writer_ops s3_writer_ops = {sw_write, sw_commit, sw_abort};

static int s3_writer_open(dc_storage_writer **out, dc_storage *s, const char *path, dc_err *err)
{
    bool enforced;
    DC_TRY(s3_check_writable(s, &enforced, err));
    s3_writer *w = dc_calloc(1, sizeof *w);
    if (!w) return dc_err_set(err, DC_ENOMEM, "out of memory");
    w->base.ops = &s3_writer_ops;
    w->base.s = s;
    dc_buf_init(&w->part, S3_PART_SIZE);
    dc_buf_init(&w->etags, (size_t)S3_MAX_PARTS * 256);
    dc_buf k;
    dc_buf_init(&k, 64 * 1024);
    int rc = s3_key(&k, s->ctx, path, err);
    if (rc == 0) rc = dc_buf_putc(&k, '\0', err);
    if (rc == 0) w->key = (char *)dc_buf_steal(&k, NULL);
    if (rc == 0 && !(w->path = dc_strdup(path))) rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    dc_buf_dispose(&k);
    if (rc < 0) {
        sw_free(w);
        return rc;
    }
    *out = &w->base;
    return 0;
}

/* ------------------------------------------------- unfinished uploads */

/* The query of one ListMultipartUploads page, parameters sorted. */
static int uploads_query(dc_buf *q, const char *prefix, const s3_uploads_page *prev, dc_err *err)
{
    dc_buf_reset(q);
    if (prev && prev->next_key) {
        DC_TRY(dc_buf_puts(q, "key-marker=", err));
        DC_TRY(s3_url_encode(q, prev->next_key, strlen(prev->next_key), false, err));
        DC_TRY(dc_buf_putc(q, '&', err));
    }
    DC_TRY(dc_buf_puts(q, "prefix=", err));
    DC_TRY(s3_url_encode(q, prefix, strlen(prefix), false, err));
    if (prev && prev->next_id) {
        DC_TRY(dc_buf_puts(q, "&upload-id-marker=", err));
        DC_TRY(s3_url_encode(q, prev->next_id, strlen(prev->next_id), false, err));
    }
    DC_TRY(dc_buf_puts(q, "&uploads=", err));
    return dc_buf_putc(q, '\0', err);
}

/* Aborts (or counts) the uploads of one page started before the cutoff. */
static int abort_page(dc_storage *s, const s3_uploads_page *pg, const char *prefix,
                      int64_t cutoff_ms, bool dry_run, uint64_t *n_out, dc_err *err)
{
    for (size_t i = 0; i < pg->n; i++) {
        const s3_upload *u = &pg->v[i];
        if (strncmp(u->key, prefix, strlen(prefix)) != 0 || u->initiated_ms >= cutoff_ms)
            continue;
        if (!dry_run) {
            int rc = abort_upload(s, u->key, u->upload_id, err);
            if (rc == DC_ENOTFOUND) dc_err_clear(err); /* finished or aborted meanwhile */
            else if (rc < 0) return rc;
        }
        DC_LOG(DC_LOG_DEBUG, "storage", "s3://%s/%s: %s an unfinished upload started %lld s "
               "before the cutoff", ((s3_ctx *)s->ctx)->bucket, u->key,
               dry_run ? "would abort" : "aborted",
               (long long)((cutoff_ms - u->initiated_ms) / 1000));
        (*n_out)++;
    }
    return 0;
}

static int s3_abort_uploads(dc_storage *s, int64_t cutoff_ms, bool dry_run, uint64_t *n_out,
                            dc_err *err)
{
    s3_ctx *c = s->ctx;
    dc_buf prefix, q;
    dc_buf_init(&prefix, 64 * 1024);
    dc_buf_init(&q, 256 * 1024);
    s3_uploads_page page = {0};
    *n_out = 0;
    int rc = s3_key(&prefix, c, "", err);
    if (rc == 0 && prefix.len > 0) rc = dc_buf_puts(&prefix, "/", err);
    if (rc == 0) rc = dc_buf_putc(&prefix, '\0', err);
    for (bool first = true; rc == 0 && (first || page.truncated); first = false) {
        rc = uploads_query(&q, (const char *)prefix.data, first ? NULL : &page, err);
        s3_req r;
        s3_req_init(&r, "GET", "", &s->stats.list);
        r.query = (const char *)q.data;
        if (rc == 0) rc = s3_do(s, &r, err);
        s3_uploads_page_dispose(&page);
        if (rc == 0) rc = s3_uploads_parse(&page, (const char *)r.reply.data, r.reply.len, err);
        s3_req_dispose(&r);
        if (rc == 0)
            rc = abort_page(s, &page, (const char *)prefix.data, cutoff_ms, dry_run, n_out, err);
    }
    if (rc < 0) dc_err_prefix(err, "unfinished uploads under %s", s->root);
    s3_uploads_page_dispose(&page);
    dc_buf_dispose(&prefix);
    dc_buf_dispose(&q);
    return rc;
}

const dc_storage_ops s3_ops = {
    .version = DC_STORAGE_OPS_VERSION,
    .scheme = "s3",
    .read = s3_read,
    .read_range = s3_read_range,
    .size = s3_size,
    .write = s3_write,
    .put_if_absent = s3_put_if_absent,
    .list = s3_list,
    .remove = s3_remove,
    .writer_open = s3_writer_open,
    .local_path = NULL,
    .close = s3_close,
    .remove_many = s3_remove_many,
    .abort_uploads = s3_abort_uploads,
};
