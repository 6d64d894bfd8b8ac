/*
 * storage (S3 backend): the XML of S3 replies and the retry rules. Pure
 * functions over bytes from the network (untrusted): every span is bounded
 * by the reply's length, nothing is NUL-terminated until copied out.
 *
 * S3 replies are flat, machine-written XML (ListBucketResult, Error,
 * InitiateMultipartUploadResult, DeleteResult): no nesting of one element
 * name inside itself, no CDATA in the fields read here. A scanner that finds
 * <tag>...</tag> is enough and is fuzzed (fuzz/fuzz_s3_xml.c).
 */
#include "storage_s3_int.h"

#include <stdlib.h>
#include <time.h>

/* Position of the first `needle` in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *needle, size_t nn)
{
    if (p >= end || (size_t)(end - p) < nn) return NULL;
    return memmem(p, (size_t)(end - p), needle, nn);
}

bool s3_xml_next(s3_span *out, const char **pos, const char *end, const char *tag)
{
    const size_t tl = strlen(tag);
    const char *p = *pos;
    while ((p = find(p, end, "<", 1)) != NULL) {
        p++;
        if ((size_t)(end - p) < tl || memcmp(p, tag, tl) != 0) continue;
        const char *q = p + tl;
        if (q >= end) return false;
        if (*q != '>' && *q != ' ' && *q != '/' && *q != '\t' && *q != '\n' && *q != '\r')
            continue; /* <KeyCount> is not <Key> */
        const char *gt = find(q, end, ">", 1);
        if (!gt) return false;
        if (gt > q && gt[-1] == '/') { /* <tag/>: empty */
            out->p = gt + 1;
            out->n = 0;
            *pos = gt + 1;
            return true;
        }
        const char *body = gt + 1;
        /* The closing tag: "</" tag ">". */
        for (const char *c = body; (c = find(c, end, "</", 2)) != NULL; c += 2) {
            if ((size_t)(end - c) >= tl + 3 && memcmp(c + 2, tag, tl) == 0 && c[2 + tl] == '>') {
                out->p = body;
                out->n = (size_t)(c - body);
                *pos = c + 3 + tl;
                return true;
            }
        }
        return false;
    }
    return false;
}

bool s3_xml_child(s3_span *out, s3_span in, const char *tag)
{
    const char *pos = in.p;
    return s3_xml_next(out, &pos, in.p + in.n, tag);
}

/* Appends code point cp as UTF-8. */
static int put_utf8(dc_buf *out, uint32_t cp, dc_err *err)
{
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xC0 | (cp >> 6));
        b[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | (cp >> 18));
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return dc_buf_append(out, b, n, err);
}

/* One entity starting after '&' at e (n bytes up to and without ';'). */
static int put_entity(dc_buf *out, const char *e, size_t n, dc_err *err)
{
    static const struct { const char *name; char c; } named[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strlen(named[i].name) == n && memcmp(e, named[i].name, n) == 0)
            return dc_buf_putc(out, (uint8_t)named[i].c, err);
    if (n >= 2 && n <= 9 && e[0] == '#') {
        const bool hex = e[1] == 'x';
        uint32_t cp = 0;
        size_t i = hex ? 2 : 1;
        if (i == n) goto bad;
        for (; i < n; i++) {
            const char c = e[i];
            uint32_t d;
            if (c >= '0' && c <= '9') d = (uint32_t)(c - '0');
            else if (hex && c >= 'a' && c <= 'f') d = (uint32_t)(c - 'a' + 10);
            else if (hex && c >= 'A' && c <= 'F') d = (uint32_t)(c - 'A' + 10);
            else goto bad;
            cp = cp * (hex ? 16 : 10) + d;
            if (cp > 0x10FFFF) goto bad;
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) goto bad;
        return put_utf8(out, cp, err);
    }
bad:
    return dc_err_set(err, DC_ECORRUPT, "S3 reply: bad XML entity '&%.*s;'",
                      (int)(n > 16 ? 16 : n), e);
}

int s3_xml_text(dc_buf *out, s3_span sp, dc_err *err)
{
    const char *p = sp.p, *end = sp.p + sp.n;
    /* XML has no NUL character; one would cut the C string short (a key or
     * an upload id that is not the one sent). */
    if (memchr(p, '\0', sp.n))
        return dc_err_set(err, DC_ECORRUPT, "S3 reply: a NUL byte in XML text");
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        DC_TRY(dc_buf_append(out, p, (size_t)(stop - p), err));
        if (!amp) break;
        const char *semi = memchr(amp, ';', (size_t)(end - amp));
        if (!semi || semi - amp > 12)
            return dc_err_set(err, DC_ECORRUPT, "S3 reply: unterminated XML entity");
        DC_TRY(put_entity(out, amp + 1, (size_t)(semi - amp - 1), err));
        p = semi + 1;
    }
    DC_TRY(dc_buf_putc(out, '\0', err));
    out->len--;
    return 0;
}

/* ------------------------------------------------------------- listing */

bool s3_parse_time(int64_t *ms_out, const char *s, size_t n)
{
    /* YYYY-MM-DDTHH:MM:SS[.fff]Z */
    if (n < 20) return false;
    int v[6];
    static const int at[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
    static const char sep[6] = {'-', '-', 'T', ':', ':', 0};
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int k = 0; k < len[i]; k++) {
            const char c = s[at[i] + k];
            if (c < '0' || c > '9') return false;
            v[i] = v[i] * 10 + (c - '0');
        }
        if (sep[i] && s[at[i] + len[i]] != sep[i]) return false;
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
        return false;
    int ms = 0;
    size_t i = 19;
    if (s[i] == '.') {
        int digits = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (digits++ < 3) ms = ms * 10 + (s[i] - '0');
        while (digits < 3) {
            ms *= 10;
            digits++;
        }
    }
    if (i >= n || s[i] != 'Z') return false;
    struct tm tm = {0};
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    *ms_out = (int64_t)timegm(&tm) * 1000 + ms;
    return true;
}

/* The name of key (decoded in b) under prefix: false when not directly under it. */
static bool name_under(const char **name, size_t *n, const dc_buf *b, const char *prefix,
                       bool is_dir)
{
    const size_t pl = strlen(prefix);
    size_t kl = b->len;
    if (kl <= pl || memcmp(b->data, prefix, pl) != 0) return false;
    if (is_dir && b->data[kl - 1] == '/') kl--;
    *name = (const char *)b->data + pl;
    *n = kl - pl;
    return *n > 0 && !memchr(*name, '/', *n);
}

static int parse_contents(dc_storage_list *out, s3_span c, dc_buf *b, const char *prefix,
                          dc_err *err)
{
    s3_span key, sz, lm;
    if (!s3_xml_child(&key, c, "Key"))
        return dc_err_set(err, DC_ECORRUPT, "S3 ListObjectsV2 reply: <Contents> without <Key>");
    dc_buf_reset(b);
    DC_TRY(s3_xml_text(b, key, err));
    uint64_t size = 0;
    int64_t mtime = 0;
    if (s3_xml_child(&sz, c, "Size")) {
        if (sz.n == 0 || sz.n > 19)
            return dc_err_set(err, DC_ECORRUPT, "S3 ListObjectsV2 reply: bad <Size>");
        for (size_t i = 0; i < sz.n; i++) {
            if (sz.p[i] < '0' || sz.p[i] > '9')
                return dc_err_set(err, DC_ECORRUPT, "S3 ListObjectsV2 reply: bad <Size>");
            size = size * 10 + (uint64_t)(sz.p[i] - '0');
        }
    }
    if (s3_xml_child(&lm, c, "LastModified") && !s3_parse_time(&mtime, lm.p, lm.n))
        return dc_err_set(err, DC_ECORRUPT, "S3 ListObjectsV2 reply: bad <LastModified> '%.*s'",
                          (int)(lm.n > 40 ? 40 : lm.n), lm.p);
    const char *name;
    size_t n;
    if (!name_under(&name, &n, b, prefix, false)) return 0;
    return dc_storage_list_push(out, name, n, size, mtime, false, err);
}

static int parse_prefix(dc_storage_list *out, s3_span c, dc_buf *b, const char *prefix,
                        dc_err *err)
{
    s3_span p;
    if (!s3_xml_child(&p, c, "Prefix")) return 0;
    dc_buf_reset(b);
    DC_TRY(s3_xml_text(b, p, err));
    const char *name;
    size_t n;
    if (!name_under(&name, &n, b, prefix, true)) return 0;
    return dc_storage_list_push(out, name, n, 0, 0, true, err);
}

int s3_list_parse(s3_list_page *page, dc_storage_list *out, const char *body, size_t n,
                  const char *prefix, dc_err *err)
{
    page->truncated = false;
    page->next_token = NULL;
    const char *end = body + n, *pos = body;
    s3_span root, sp;
    if (!s3_xml_next(&root, &pos, end, "ListBucketResult"))
        return dc_err_set(err, DC_ECORRUPT, "S3 ListObjectsV2 reply: no <ListBucketResult>");
    dc_buf b;
    dc_buf_init(&b, (size_t)64 * 1024);
    int rc = 0;
    const char *rend = root.p + root.n;
    pos = root.p;
    while (rc == 0 && s3_xml_next(&sp, &pos, rend, "Contents"))
        rc = parse_contents(out, sp, &b, prefix, err);
    pos = root.p;
    while (rc == 0 && s3_xml_next(&sp, &pos, rend, "CommonPrefixes"))
        rc = parse_prefix(out, sp, &b, prefix, err);
    /* Our own IsTruncated, not one inside a key: Contents were skipped above,
     * and S3 escapes '<' in keys, so a tag found here is the reply's. */
    if (rc == 0 && s3_xml_child(&sp, root, "IsTruncated"))
        page->truncated = sp.n == 4 && memcmp(sp.p, "true", 4) == 0;
    if (rc == 0 && page->truncated) {
        if (!s3_xml_child(&sp, root, "NextContinuationToken") || sp.n == 0) {
            rc = dc_err_set(err, DC_ECORRUPT,
                            "S3 ListObjectsV2 reply: truncated without NextContinuationToken");
        } else {
            dc_buf_reset(&b);
            rc = s3_xml_text(&b, sp, err);
            if (rc == 0 && !(page->next_token = dc_strdup((const char *)b.data)))
                rc = dc_err_set(err, DC_ENOMEM, "out of memory");
        }
    }
    dc_buf_dispose(&b);
    return rc;
}

/* ------------------------------------------------- multipart uploads */

static int text_dup(char **out, s3_span sp, dc_buf *b, dc_err *err)
{
    dc_buf_reset(b);
    DC_TRY(s3_xml_text(b, sp, err));
    if (!(*out = dc_strdup((const char *)b->data)))
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    return 0;
}

static int parse_upload(s3_uploads_page *page, s3_span u, dc_buf *b, dc_err *err)
{
    s3_span key, id, at;
    if (!s3_xml_child(&key, u, "Key") || key.n == 0 || !s3_xml_child(&id, u, "UploadId") ||
        id.n == 0)
        return dc_err_set(err, DC_ECORRUPT, "S3 ListMultipartUploads reply: <Upload> without "
                          "<Key> or <UploadId>");
    s3_upload x = {0};
    if (!s3_xml_child(&at, u, "Initiated") || !s3_parse_time(&x.initiated_ms, at.p, at.n))
        return dc_err_set(err, DC_ECORRUPT, "S3 ListMultipartUploads reply: <Upload> without a "
                          "valid <Initiated>");
    if (page->n % 64 == 0) {
        s3_upload *v = dc_realloc(page->v, (page->n + 64) * sizeof *v);
        if (!v) return dc_err_set(err, DC_ENOMEM, "out of memory");
        page->v = v;
    }
    int rc = text_dup(&x.key, key, b, err);
    if (rc == 0) rc = text_dup(&x.upload_id, id, b, err);
    if (rc < 0) {
        dc_free(x.key);
        return rc;
    }
    page->v[page->n++] = x;
    return 0;
}

int s3_uploads_parse(s3_uploads_page *page, const char *body, size_t n, dc_err *err)
{
    memset(page, 0, sizeof *page);
    const char *end = body + n, *pos = body;
    s3_span root, sp;
    if (!s3_xml_next(&root, &pos, end, "ListMultipartUploadsResult"))
        return dc_err_set(err, DC_ECORRUPT,
                          "S3 ListMultipartUploads reply: no <ListMultipartUploadsResult>");
    dc_buf b;
    dc_buf_init(&b, (size_t)64 * 1024);
    int rc = 0;
    pos = root.p;
    while (rc == 0 && s3_xml_next(&sp, &pos, root.p + root.n, "Upload"))
        rc = parse_upload(page, sp, &b, err);
    if (rc == 0 && s3_xml_child(&sp, root, "IsTruncated"))
        page->truncated = sp.n == 4 && memcmp(sp.p, "true", 4) == 0;
    if (rc == 0 && page->truncated) {
        if (!s3_xml_child(&sp, root, "NextKeyMarker") || sp.n == 0)
            rc = dc_err_set(err, DC_ECORRUPT,
                            "S3 ListMultipartUploads reply: truncated without NextKeyMarker");
        if (rc == 0) rc = text_dup(&page->next_key, sp, &b, err);
        if (rc == 0 && s3_xml_child(&sp, root, "NextUploadIdMarker") && sp.n > 0)
            rc = text_dup(&page->next_id, sp, &b, err);
    }
    dc_buf_dispose(&b);
    if (rc < 0) s3_uploads_page_dispose(page);
    return rc;
}

void s3_uploads_page_dispose(s3_uploads_page *page)
{
    for (size_t i = 0; i < page->n; i++) {
        dc_free(page->v[i].key);
        dc_free(page->v[i].upload_id);
    }
    dc_free(page->v);
    dc_free(page->next_key);
    dc_free(page->next_id);
    memset(page, 0, sizeof *page);
}

/* ------------------------------------------------------- other replies */

static void copy_text(char *dst, size_t cap, s3_span sp)
{
    dc_buf b;
    dc_buf_init(&b, cap > 0 ? cap * 4 : 1);
    dst[0] = '\0';
    if (s3_xml_text(&b, sp, NULL) == 0) {
        size_t n = b.len < cap - 1 ? b.len : cap - 1;
        memcpy(dst, b.data, n);
        dst[n] = '\0';
        /* One line in logs: control bytes from the server become '?'. */
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)dst[i] < 0x20) dst[i] = '?';
    }
    dc_buf_dispose(&b);
}

void s3_error_parse(char *code, size_t code_cap, char *msg, size_t msg_cap, const char *body,
                    size_t n)
{
    code[0] = msg[0] = '\0';
    const char *pos = body;
    s3_span e, sp;
    if (!s3_xml_next(&e, &pos, body + n, "Error")) return;
    if (s3_xml_child(&sp, e, "Code")) copy_text(code, code_cap, sp);
    if (s3_xml_child(&sp, e, "Message")) copy_text(msg, msg_cap, sp);
}

int s3_upload_id_parse(char **out, const char *body, size_t n, dc_err *err)
{
    *out = NULL;
    const char *pos = body;
    s3_span sp;
    if (!s3_xml_next(&sp, &pos, body + n, "UploadId") || sp.n == 0)
        return dc_err_set(err, DC_ECORRUPT, "S3 CreateMultipartUpload reply: no <UploadId>");
    dc_buf b;
    dc_buf_init(&b, 4096);
    int rc = s3_xml_text(&b, sp, err);
    if (rc == 0 && !(*out = dc_strdup((const char *)b.data)))
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    dc_buf_dispose(&b);
    return rc;
}

int s3_delete_result_parse(const char *body, size_t n, dc_err *err)
{
    const char *pos = body, *end = body + n;
    s3_span e, sp;
    if (!find(body, end, "<DeleteResult", 13))
        return dc_err_set(err, DC_ECORRUPT, "S3 DeleteObjects reply: no <DeleteResult>");
    while (s3_xml_next(&e, &pos, end, "Error")) {
        char code[64], key[512];
        code[0] = key[0] = '\0';
        if (s3_xml_child(&sp, e, "Code")) copy_text(code, sizeof code, sp);
        if (strcmp(code, "NoSuchKey") == 0) continue;
        if (s3_xml_child(&sp, e, "Key")) copy_text(key, sizeof key, sp);
        return dc_err_set(err, DC_EIO, "S3 DeleteObjects: '%s': %s", key, code);
    }
    return 0;
}

/* ------------------------------------------------------------- retries */

s3_verdict s3_classify(s3_net net, long status, const char *code)
{
    if (net == S3_NET_NOT_SENT) return S3_RETRY;
    if (net == S3_NET_LOST) return S3_RETRY_MAYBE;
    if (status >= 200 && status < 300) return S3_OK;
    /* Throttling is refused before the request is applied. */
    if (status == 429 || status == 503 || strcmp(code, "SlowDown") == 0 ||
        strcmp(code, "RequestTimeTooSkewed") == 0)
        return S3_RETRY;
    /* A conditional write racing another on the same key (AWS): not applied. */
    if (status == 409 && strcmp(code, "ConditionalRequestConflict") == 0) return S3_RETRY;
    /* 408: the server gave up reading our body; not applied. */
    if (status == 408 || strcmp(code, "RequestTimeout") == 0) return S3_RETRY;
    /* 500 InternalError may come after the write took effect (AWS says to
     * retry; a conditional PUT's retry then can not tell ours from another's). */
    if (status >= 500) return S3_RETRY_MAYBE;
    return S3_FAIL;
}

int s3_status_code(long status, const char *code)
{
    if (status == 404) return DC_ENOTFOUND;
    if (status == 412) return DC_EEXISTS;
    /* OSS x-oss-forbid-overwrite: 409 FileAlreadyExists. */
    if (status == 409) return DC_EEXISTS;
    if (status == 416) return DC_ECORRUPT;
    if (status == 501 || strcmp(code, "NotImplemented") == 0) return DC_EUNSUPPORTED;
    if (status == 400) return DC_EINVAL;
    return DC_EIO;
}
