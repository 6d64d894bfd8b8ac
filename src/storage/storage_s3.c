/*
 * storage: the S3 backend ("s3://bucket/prefix"): opening a root, the
 * request engine (libcurl with its built-in SigV4 signing, retries with
 * backoff and jitter), and the conditional-write probe. The operations are
 * in storage_s3_ops.c, the pure parts in storage_s3_conf.c / _xml.c.
 *
 * Commits need put-if-absent: a PUT with "If-None-Match: *" (AWS S3, MinIO,
 * and recent S3-compatible stores enforce it; Alibaba OSS spells it
 * "x-oss-forbid-overwrite: true"). A store that ignores the header would let
 * two writers both "win" one version, so before the first write through an
 * open storage we probe: create an object under "<table>/_deltacdc_probe/"
 * (a '_' directory, which Delta readers and VACUUM ignore, and outside
 * _delta_log so log listings never see it), PUT it again conditionally,
 * expect 412, delete it. Without enforcement writes are refused unless the
 * user opted into single-writer mode (storage.s3.allow_unsafe_single_writer
 * or AWS_S3_ALLOW_UNSAFE_RENAME=true, as delta-rs).
 *
 * Secrets: the key pair goes to curl only (CURLOPT_USERNAME/PASSWORD, the
 * token as a header); no message or log line of this file formats them.
 */
#include "storage_s3_http.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------- global settings */

static dc_storage_s3_opts g_opts;       /* copies owned by g_store */
static bool g_have_opts;                /* dc_storage_s3_configure was called */
static dc_arena g_store;                /* strings of g_opts */
static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_rc;              /* curl_global_init's result */

static void curl_init_once(void) { g_curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

void dc_storage_s3_opts_init(dc_storage_s3_opts *o)
{
    memset(o, 0, sizeof *o);
    o->path_style = -1;
    o->verify_tls = -1;
    o->allow_unsafe_single_writer = -1;
}

static int keep(const char **dst, const char *v, dc_err *err)
{
    *dst = NULL;
    if (!v) return 0;
    char *c = dc_arena_strndup(&g_store, v, strlen(v), err);
    if (!c) return DC_ENOMEM;
    *dst = c;
    return 0;
}

int dc_storage_s3_configure(const dc_storage_s3_opts *o, dc_err *err)
{
    if (g_have_opts) dc_arena_dispose(&g_store);
    g_have_opts = false;
    dc_storage_s3_opts_init(&g_opts);
    if (!o) return 0;
    dc_arena_init(&g_store, (size_t)1 << 20);
    g_opts = *o;
    g_have_opts = true;
    DC_TRY(keep(&g_opts.endpoint, o->endpoint, err));
    DC_TRY(keep(&g_opts.region, o->region, err));
    DC_TRY(keep(&g_opts.ca_file, o->ca_file, err));
    DC_TRY(keep(&g_opts.access_key_id, o->access_key_id, err));
    DC_TRY(keep(&g_opts.secret_access_key, o->secret_access_key, err));
    DC_TRY(keep(&g_opts.session_token, o->session_token, err));
    return keep(&g_opts.profile, o->profile, err);
}

static const char *real_getenv(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

/* ------------------------------------------------------------ open/close */

void s3_close(dc_storage *s)
{
    s3_ctx *c = s->ctx;
    if (!c) return;
    for (int i = 0; i < c->n_pool; i++) curl_easy_cleanup(c->pool[i]);
    pthread_mutex_destroy(&c->mu);
    s3_conf_dispose(&c->conf);
    dc_free(c->bucket);
    dc_free(c->prefix);
    if (c->userpwd) memset(c->userpwd, 0, strlen(c->userpwd));
    dc_free(c->userpwd);
    dc_free(c->sigv4);
    dc_free(c);
    s->ctx = NULL;
}

static int ctx_new(s3_ctx **out, const char *uri, dc_err *err)
{
    s3_ctx *c = dc_calloc(1, sizeof *c);
    if (!c) return dc_err_set(err, DC_ENOMEM, "out of memory");
    *out = c;
    pthread_mutex_init(&c->mu, NULL);
    c->rng = dc_rand_seed() ^ (uintptr_t)c;
    DC_TRY(s3_uri_split(&c->bucket, &c->prefix, uri, err));
    DC_TRY(s3_conf_resolve(&c->conf, g_have_opts ? &g_opts : NULL, real_getenv, NULL, err));
    dc_buf b;
    dc_buf_init(&b, 4096);
    int rc = dc_buf_appendf(&b, err, "aws:amz:%s:s3", c->conf.region);
    if (rc == 0) rc = dc_buf_putc(&b, '\0', err);
    if (rc == 0) c->sigv4 = (char *)dc_buf_steal(&b, NULL);
    dc_buf_dispose(&b);
    return rc;
}

int dc_storage_s3_open(dc_storage **out, const char *uri, dc_err *err)
{
    *out = NULL;
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_rc != CURLE_OK)
        return dc_err_set(err, DC_EIO, "storage %s: curl_global_init: %s", uri,
                          curl_easy_strerror(g_curl_rc));
    dc_storage *s = dc_calloc(1, sizeof *s);
    size_t n = strlen(uri);
    while (n > 5 && uri[n - 1] == '/') n--;
    char *root = dc_strndup(uri, n);
    if (!s || !root) {
        dc_free(s);
        dc_free(root);
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    s->ops = &s3_ops;
    s->root = root;
    s3_ctx *c = NULL;
    int rc = ctx_new(&c, uri, err);
    s->ctx = c;
    if (rc < 0) {
        dc_err_prefix(err, "storage %s", root);
        dc_storage_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ------------------------------------------------------------- helpers */

int s3_key(dc_buf *out, const s3_ctx *c, const char *path, dc_err *err)
{
    if (path[0] == '/')
        return dc_err_set(err, DC_EUNSUPPORTED, "s3://%s/%s: absolute path '%s' on an object "
                                                "store", c->bucket, c->prefix, path);
    if (*c->prefix) DC_TRY(dc_buf_appendf(out, err, "%s%s", c->prefix, *path ? "/" : ""));
    DC_TRY(dc_buf_puts(out, path, err));
    DC_TRY(dc_buf_putc(out, '\0', err));
    out->len--;
    return 0;
}

void s3_sha256_hex(char out[65], const void *p, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    static const char hex[] = "0123456789abcdef";
    DC_ASSERT(EVP_Digest(p ? p : "", n, md, &len, EVP_sha256(), NULL) == 1 && len == 32);
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void s3_md5_b64(char out[32], const void *p, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    DC_ASSERT(EVP_Digest(p ? p : "", n, md, &len, EVP_md5(), NULL) == 1 && len == 16);
    EVP_EncodeBlock((unsigned char *)out, md, 16); /* 24 chars + NUL */
}

const char *s3_if_absent_header(const s3_ctx *c)
{
    return c->conf.oss ? "x-oss-forbid-overwrite: true" : "If-None-Match: *";
}

void s3_req_init(s3_req *r, const char *method, const char *key, uint64_t *counter)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->key = key;
    r->counter = counter;
    r->length = -1;
    dc_buf_init(&r->reply, S3_MAX_REPLY);
}

void s3_req_dispose(s3_req *r) { dc_buf_dispose(&r->reply); }

/* ------------------------------------------------------------ one attempt */

/* Where the body of the reply in progress goes. */
typedef struct attempt {
    s3_req *r;
    void *h;                 /* the CURL handle */
    dc_buf *sink;            /* 2xx body */
    size_t sink_start;       /* sink->len before the attempt (reset on retry) */
    dc_buf errbody;          /* non-2xx body */
    uint64_t got;            /* body bytes received */
} attempt;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    attempt *a = ud;
    const size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &status);
    a->got += n;
    if (status < 200 || status >= 300) {
        if (a->errbody.len + n <= a->errbody.max) dc_buf_append(&a->errbody, p, n, NULL);
        return n;
    }
    if (a->r->dst) {
        if (a->r->dst_got + n > a->r->dst_n) {
            a->r->overflow = true;
            return 0; /* aborts the transfer */
        }
        memcpy(a->r->dst + a->r->dst_got, p, n);
        a->r->dst_got += n;
        return n;
    }
    if (dc_buf_append(a->sink, p, n, NULL) < 0) {
        a->r->overflow = true;
        return 0;
    }
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    attempt *a = ud;
    const size_t n = size * nmemb;
    if (n > 5 && strncasecmp(p, "etag:", 5) == 0) {
        const char *v = p + 5, *e = p + n;
        while (v < e && (*v == ' ' || *v == '\t')) v++;
        while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) e--;
        const size_t vl = (size_t)(e - v) < sizeof a->r->etag ? (size_t)(e - v)
                                                               : sizeof a->r->etag - 1;
        memcpy(a->r->etag, v, vl);
        a->r->etag[vl] = '\0';
    }
    return n;
}

static void *handle_get(s3_ctx *c)
{
    void *h = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->n_pool > 0) h = c->pool[--c->n_pool];
    pthread_mutex_unlock(&c->mu);
    if (h) curl_easy_reset(h);
    else h = curl_easy_init();
    return h;
}

static void handle_put(s3_ctx *c, void *h)
{
    pthread_mutex_lock(&c->mu);
    if (c->n_pool < S3_POOL) {
        c->pool[c->n_pool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h) curl_easy_cleanup(h);
}

/* Headers of the request: ours, the payload hash curl signs, the token. */
static int build_headers(struct curl_slist **out, const s3_ctx *c, const s3_req *r, dc_err *err)
{
    char line[128], sha[65];
    struct curl_slist *l = NULL, *t;
    s3_sha256_hex(sha, r->body, r->body_n);
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", sha);
    bool ok = (l = curl_slist_append(l, line)) != NULL;
    /* Every header given here is signed (curl 7.88 signs even "Expect:",
     * which only removes a header, and the server then computes another
     * signature), so nothing but real headers; no form content type. */
    if (ok && (r->body || strcmp(r->method, "PUT") == 0))
        ok = (t = curl_slist_append(l, "Content-Type: application/octet-stream")) && (l = t);
    for (int i = 0; ok && i < 4 && r->hdr[i]; i++) ok = (t = curl_slist_append(l, r->hdr[i])) && (l = t);
    if (ok && c->conf.session_token) {
        dc_buf b;
        dc_buf_init(&b, 64 * 1024);
        ok = dc_buf_appendf(&b, NULL, "x-amz-security-token: %s", c->conf.session_token) == 0 &&
             dc_buf_putc(&b, '\0', NULL) == 0;
        ok = ok && (t = curl_slist_append(l, (const char *)b.data)) && (l = t);
        if (b.data) memset(b.data, 0, b.len);
        dc_buf_dispose(&b);
    }
    if (!ok) {
        curl_slist_free_all(l);
        return dc_err_set(err, DC_ENOMEM, "out of memory building request headers");
    }
    *out = l;
    return 0;
}

static void set_options(void *h, const s3_ctx *c, const s3_req *r, const char *url,
                        struct curl_slist *hdrs, attempt *a)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->conf.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->conf.request_timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->conf.verify_tls ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->conf.verify_tls ? 2L : 0L);
    if (c->conf.ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, c->conf.ca_file);
    if (c->conf.access_key_id) {
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->conf.access_key_id);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->conf.secret_access_key);
    }
    /* libcurl silently sends a request again when a reused connection dies
     * before the reply; for a conditional PUT that hides the first attempt
     * (which may have taken effect) and shows us only the retry's 412. A
     * fresh connection is never retried that way, so every attempt is ours
     * to count. */
    if (r->conditional) curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    if (strcmp(r->method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        if (strcmp(r->method, "DELETE") == 0 || r->body || strcmp(r->method, "PUT") == 0 ||
            strcmp(r->method, "POST") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_n);
        }
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

/* The transport outcome of a curl error. */
static s3_net net_of(CURLcode cc, void *h, bool *fatal)
{
    *fatal = false;
    if (cc == CURLE_OK) return S3_NET_OK;
    if (cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_CONNECT ||
        cc == CURLE_COULDNT_RESOLVE_PROXY)
        return S3_NET_NOT_SENT;
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
        cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_URL_MALFORMAT || cc == CURLE_OUT_OF_MEMORY ||
        cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_WRITE_ERROR) {
        *fatal = true;
        return S3_NET_NOT_SENT;
    }
    /* A timeout or reset before the request went out is not ambiguous. */
    curl_off_t pre = 0;
    curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pre);
    return pre == 0 ? S3_NET_NOT_SENT : S3_NET_LOST;
}

/* One attempt: fills r's results; returns the verdict (fatal: S3_FAIL with
 * *cc set). */
static s3_verdict attempt_once(dc_storage *s, s3_req *r, const char *url, CURLcode *cc,
                               dc_err *err)
{
    s3_ctx *c = s->ctx;
    attempt a = {.r = r, .sink = r->sink ? r->sink : &r->reply};
    a.sink_start = a.sink->len;
    dc_buf_init(&a.errbody, S3_MAX_ERROR_BODY);
    struct curl_slist *hdrs = NULL;
    *cc = CURLE_OK;
    r->status = 0;
    r->code[0] = r->msg[0] = r->etag[0] = '\0';
    r->dst_got = 0;
    r->overflow = false;
    if (build_headers(&hdrs, c, r, err) < 0) {
        dc_buf_dispose(&a.errbody);
        *cc = CURLE_OUT_OF_MEMORY;
        return S3_FAIL;
    }
    a.h = handle_get(c);
    if (!a.h) {
        curl_slist_free_all(hdrs);
        dc_buf_dispose(&a.errbody);
        *cc = CURLE_OUT_OF_MEMORY;
        return S3_FAIL;
    }
    set_options(a.h, c, r, url, hdrs, &a);
    dc_storage_count(r->counter, 1);
    *cc = curl_easy_perform(a.h);
    bool fatal = false;
    s3_net net = net_of(*cc, a.h, &fatal);
    if (*cc == CURLE_WRITE_ERROR && r->overflow) fatal = true;
    curl_easy_getinfo(a.h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_off_t cl = -1;
    curl_easy_getinfo(a.h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    r->length = (int64_t)cl;
    dc_storage_count(&s->stats.bytes_in, a.got);
    if (net != S3_NET_NOT_SENT) dc_storage_count(&s->stats.bytes_out, r->body_n);
    s3_error_parse(r->code, sizeof r->code, r->msg, sizeof r->msg, (const char *)a.errbody.data,
                   a.errbody.len);
    handle_put(c, a.h);
    curl_slist_free_all(hdrs);
    dc_buf_dispose(&a.errbody);
    const s3_verdict v = fatal ? S3_FAIL : s3_classify(net, r->status, r->code);
    if (v != S3_OK) a.sink->len = a.sink_start; /* a retry starts the body again */
    return v;
}

static uint64_t jitter_rand(s3_ctx *c)
{
    return dc_rand_next(&c->rng);
}

static int final_error(dc_storage *s, const s3_req *r, CURLcode cc, int attempts, bool transient,
                       dc_err *err)
{
    const s3_ctx *c = s->ctx;
    const char *what = r->key;
    if (r->overflow)
        return dc_err_set(err, DC_ELIMIT, "s3://%s/%s: %s: the reply is larger than expected",
                          c->bucket, what, r->method);
    if (cc != CURLE_OK) {
        if (transient)
            return dc_err_set_retriable(err, DC_EIO, "s3://%s/%s: %s: %s (after %d attempts)",
                                        c->bucket, what, r->method, curl_easy_strerror(cc),
                                        attempts);
        return dc_err_set(err, DC_EIO, "s3://%s/%s: %s: %s", c->bucket, what, r->method,
                          curl_easy_strerror(cc));
    }
    const int code = s3_status_code(r->status, r->code);
    if (transient)
        return dc_err_set_retriable(err, code, "s3://%s/%s: %s: HTTP %ld %s %s (after %d attempts)",
                                    c->bucket, what, r->method, r->status, r->code, r->msg,
                                    attempts);
    if (code == DC_ENOTFOUND && strcmp(r->code, "NoSuchBucket") == 0)
        return dc_err_set(err, DC_ENOTFOUND, "s3://%s: no such bucket", c->bucket);
    return dc_err_set(err, code, "s3://%s/%s: %s: HTTP %ld %s%s%s", c->bucket, what, r->method,
                      r->status, r->code, *r->msg ? ": " : "", r->msg);
}

int s3_do(dc_storage *s, s3_req *r, dc_err *err)
{
    s3_ctx *c = s->ctx;
    dc_buf url;
    dc_buf_init(&url, 64 * 1024);
    int rc = s3_url_build(&url, &c->conf, c->bucket, r->key, r->query, err);
    if (rc < 0) goto out;
    /* The URL holds no secret (SigV4 goes in headers). */
    DC_LOG(DC_LOG_TRACE, "storage", "%s %s", r->method, (const char *)url.data);
    CURLcode cc = CURLE_OK;
    s3_verdict v = S3_FAIL;
    int attempt_no;
    r->maybe_applied = false;
    for (attempt_no = 1;; attempt_no++) {
        v = attempt_once(s, r, (const char *)url.data, &cc, err);
        if (v == S3_RETRY_MAYBE && r->is_write) r->maybe_applied = true;
        if (v == S3_OK || v == S3_FAIL || attempt_no >= c->conf.max_attempts) break;
        dc_storage_count(&s->stats.retries, 1);
        const long ms = dc_backoff_ms(attempt_no, S3_BACKOFF_BASE_MS, S3_BACKOFF_CAP_MS,
                                      jitter_rand(c));
        DC_LOG(DC_LOG_DEBUG, "storage", "s3://%s/%s: %s: %s%ld %s, retrying in %ld ms",
               c->bucket, r->key, r->method, cc ? curl_easy_strerror(cc) : "HTTP ",
               cc ? 0L : r->status, r->code, ms);
        dc_sleep_ms(ms);
    }
    if (v != S3_OK) rc = final_error(s, r, cc, attempt_no, v != S3_FAIL, err);
out:
    dc_buf_dispose(&url);
    return rc;
}

/* ------------------------------------------------------------ the probe */

/* *verdict: 1 enforced, -1 not enforced. A failure (a negative DC_E*) is
 * stored nowhere: the next write probes again. */
static int probe(int *verdict_out, dc_storage *s, dc_err *err)
{
    s3_ctx *c = s->ctx;
    char name[80];
    dc_buf key;
    dc_buf_init(&key, 64 * 1024);
    snprintf(name, sizeof name, "_deltacdc_probe/%016llx.probe",
             (unsigned long long)jitter_rand(c));
    int rc = s3_key(&key, c, name, err), verdict = 0;
    for (int i = 0; rc == 0 && i < 2; i++) {
        s3_req r;
        s3_req_init(&r, "PUT", (const char *)key.data, &s->stats.put);
        r.body = "deltacdc conditional-write probe\n";
        r.body_n = strlen(r.body);
        r.hdr[0] = s3_if_absent_header(c);
        rc = s3_do(s, &r, err);
        if (i == 1) {
            /* Second conditional PUT of an existing key: 412 (409 on OSS) is
             * enforcement; 200 means the header was ignored; 501 not supported. */
            if (rc == 0) verdict = -1;
            else if (rc == DC_EEXISTS && !r.maybe_applied) verdict = 1;
            else if (rc == DC_EUNSUPPORTED || rc == DC_EINVAL) verdict = -1;
            if (verdict) {
                dc_err_clear(err);
                rc = 0;
            }
        }
        s3_req_dispose(&r);
    }
    s3_req del;
    s3_req_init(&del, "DELETE", (const char *)key.data, &s->stats.del);
    if (key.data && s3_do(s, &del, NULL) < 0)
        DC_LOG(DC_LOG_WARN, "storage", "%s: could not remove the probe object %s (harmless)",
               s->root, name);
    s3_req_dispose(&del);
    dc_buf_dispose(&key);
    *verdict_out = verdict;
    return rc;
}

int s3_check_writable(dc_storage *s, bool *enforced, dc_err *err)
{
    s3_ctx *c = s->ctx;
    pthread_mutex_lock(&c->mu);
    int p = c->probe, rc = 0;
    pthread_mutex_unlock(&c->mu);
    if (p == 0) {
        rc = probe(&p, s, err);
        if (rc == 0 && p == 0) rc = dc_err_set(err, DC_EIO, "the second PUT of the probe "
                                                             "neither failed nor succeeded");
        if (rc < 0) {
            dc_err_prefix(err, "storage %s: probing conditional writes", s->root);
            return rc;
        }
        pthread_mutex_lock(&c->mu);
        c->probe = p;
        pthread_mutex_unlock(&c->mu);
        if (p < 0)
            DC_LOG(c->conf.allow_unsafe ? DC_LOG_WARN : DC_LOG_ERROR, "storage",
                   "%s: the store does not enforce conditional PUTs (%s)%s", s->root,
                   s3_if_absent_header(c),
                   c->conf.allow_unsafe ? "; single-writer mode: only one writer may run" : "");
    }
    *enforced = p > 0;
    if (p < 0 && !c->conf.allow_unsafe)
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "storage %s: the store does not enforce conditional PUTs (%s), so two "
                          "writers could both commit the same table version; refusing to write. "
                          "If this is the table's only writer, set "
                          "storage.s3.allow_unsafe_single_writer: true (or "
                          "AWS_S3_ALLOW_UNSAFE_RENAME=true)",
                          s->root, s3_if_absent_header(c));
    return 0;
}
