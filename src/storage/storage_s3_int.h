/*
 * storage (S3 backend), what only src/storage sees: the pure parts of the
 * backend (settings resolution, URLs, the credentials file, the XML of
 * replies, retry classification), kept apart from the HTTP code so unit tests
 * and the fuzzer reach them without a server.
 */
#ifndef DC_STORAGE_S3_INT_H
#define DC_STORAGE_S3_INT_H

#include "storage.h"

/* ------------------------------------------------------------- settings */

/* Settings after resolution (opts, then the environment, then the
 * credentials file, then defaults). Strings owned (dc_free). */
typedef struct s3_conf {
    char *scheme_host;       /* "https://s3.us-east-1.amazonaws.com" or the endpoint */
    char *region;            /* signing region */
    bool path_style;         /* bucket in the path (true) or in the host name */
    bool verify_tls;         /* verify the server's certificate and name */
    char *ca_file;           /* extra CA bundle or NULL */
    bool allow_unsafe;       /* single-writer mode on a store without conditional PUTs */
    bool oss;                /* Alibaba OSS: x-oss-forbid-overwrite instead of If-None-Match */
    char *access_key_id;     /* NULL: anonymous requests */
    char *secret_access_key; /* secret: never printed or logged */
    char *session_token;     /* secret, or NULL */
    long connect_timeout_ms; /* connection phase */
    long request_timeout_ms; /* whole request */
    int max_attempts;        /* tries per request (>= 1) */
} s3_conf;

/* getenv, or a test's replacement (NULL: unset). */
typedef const char *(*s3_getenv_fn)(void *ctx, const char *name);

/* Resolves o (may be NULL) over the environment seen through env. Errors
 * name the setting; no secret is ever put in a message. */
int s3_conf_resolve(s3_conf *c, const dc_storage_s3_opts *o, s3_getenv_fn env, void *env_ctx,
                    dc_err *err);
void s3_conf_dispose(s3_conf *c);

/* The [profile] section of an AWS shared credentials file (text, n bytes):
 * sets *key_id, *secret and *token (dc_strdup'ed, NULL when absent).
 * DC_ENOTFOUND when the profile is not in the file. `name` is for messages. */
int s3_credentials_parse(char **key_id, char **secret, char **token, const char *text, size_t n,
                         const char *profile, const char *name, dc_err *err);

/* ------------------------------------------------------------------ URLs */

/* "s3://bucket/prefix/" into bucket and prefix (no leading or trailing '/';
 * "" for the bucket root). Owned strings. */
int s3_uri_split(char **bucket, char **prefix, const char *uri, dc_err *err);

/* Appends the URL of object key `key` (already the full key) to out, the key
 * percent-encoded (unreserved bytes and '/' kept) as SigV4's canonical URI
 * wants it; `query` (NULL or already encoded and sorted) follows a '?'. */
int s3_url_build(dc_buf *out, const s3_conf *c, const char *bucket, const char *key,
                 const char *query, dc_err *err);
/* Appends s percent-encoded; keep_slash keeps '/' (paths) or encodes it (query). */
int s3_url_encode(dc_buf *out, const char *s, size_t n, bool keep_slash, dc_err *err);

/* ------------------------------------------------------------------- XML */

/* A span of a reply body. */
typedef struct s3_span {
    const char *p;  /* first byte (not NUL-terminated) */
    size_t n;       /* bytes */
} s3_span;

/* The content of the next <tag>...</tag> in [*pos, end): true when found,
 * and *pos then moves past the closing tag. Attributes on the opening tag are
 * allowed; <tag/> is an empty element. Elements of the same name do not
 * nest in S3's replies, so the first closing tag ends it. */
bool s3_xml_next(s3_span *out, const char **pos, const char *end, const char *tag);
/* The first <tag> inside span (a whole element's content), or false. */
bool s3_xml_child(s3_span *out, s3_span in, const char *tag);
/* Appends the text of sp with XML entities decoded (&amp; &lt; &gt; &quot;
 * &apos; &#N; &#xN;), NUL-terminated (len excludes it). A bad entity is
 * DC_ECORRUPT. */
int s3_xml_text(dc_buf *out, s3_span sp, dc_err *err);

/* One page of a ListObjectsV2 reply. */
typedef struct s3_list_page {
    bool truncated;          /* IsTruncated: another page follows */
    char *next_token;        /* NextContinuationToken (dc_free), or NULL */
} s3_list_page;

/* Parses one ListObjectsV2 page: every Contents/Key (and CommonPrefixes/
 * Prefix) that starts with `prefix` is appended to out by its name after the
 * prefix (a common prefix without its trailing '/', as a directory); keys
 * not under the prefix or with a '/' left are skipped. Not sorted here. */
int s3_list_parse(s3_list_page *page, dc_storage_list *out, const char *body, size_t n,
                  const char *prefix, dc_err *err);
/* "2026-12-07T14:48:46.000Z" into milliseconds since the epoch. */
bool s3_parse_time(int64_t *ms_out, const char *s, size_t n);

/* <Error><Code>..</Code><Message>..</Message></Error>: the code and message
 * (NUL-terminated, truncated to fit) or empty strings. */
void s3_error_parse(char *code, size_t code_cap, char *msg, size_t msg_cap, const char *body,
                    size_t n);
/* InitiateMultipartUploadResult/UploadId, dc_strdup'ed. */
int s3_upload_id_parse(char **out, const char *body, size_t n, dc_err *err);
/* DeleteObjects result: the first <Error> that is not NoSuchKey (key and code
 * into err, DC_EIO), else 0. */
int s3_delete_result_parse(const char *body, size_t n, dc_err *err);

/* One unfinished multipart upload of a ListMultipartUploads page. */
typedef struct s3_upload {
    char *key;               /* the full object key (owned) */
    char *upload_id;         /* UploadId (owned) */
    int64_t initiated_ms;    /* Initiated: when it was started, ms since the epoch */
} s3_upload;

/* One page of a ListMultipartUploads reply (s3_uploads_page_dispose). */
typedef struct s3_uploads_page {
    bool truncated;          /* IsTruncated: another page follows */
    char *next_key;          /* NextKeyMarker when truncated (owned) */
    char *next_id;           /* NextUploadIdMarker when truncated (owned, may be NULL) */
    s3_upload *v;            /* the uploads (owned array) */
    size_t n;                /* entries in v */
} s3_uploads_page;

/* Parses one ListMultipartUploads page. An <Upload> without Key, UploadId
 * or a valid Initiated time is DC_ECORRUPT: an upload whose age is unknown
 * must not be judged stale. */
int s3_uploads_parse(s3_uploads_page *page, const char *body, size_t n, dc_err *err);
void s3_uploads_page_dispose(s3_uploads_page *page);

/* --------------------------------------------------------------- retries */

/* What to do after one attempt. */
typedef enum s3_verdict {
    S3_OK = 0,         /* 2xx (206 for ranges) */
    S3_RETRY,          /* transient and not applied (throttled, refused, not sent) */
    S3_RETRY_MAYBE,    /* transient, and a write may have been applied (timeout after
                          sending, connection reset, 500) */
    S3_FAIL,           /* final: the status says what */
} s3_verdict;

/* Transport outcome of an attempt, as the HTTP layer saw it. */
typedef enum s3_net {
    S3_NET_OK = 0,     /* a full HTTP reply arrived */
    S3_NET_NOT_SENT,   /* resolve/connect failed: the request never left */
    S3_NET_LOST,       /* sent (maybe partly), then the reply was lost or timed out */
} s3_net;

/* Classifies an attempt from the transport outcome, the HTTP status and the
 * error Code of the body ("" when none). */
s3_verdict s3_classify(s3_net net, long status, const char *code);
/* The DC_E* code for a final HTTP status (404 DC_ENOTFOUND, 412 DC_EEXISTS...). */
int s3_status_code(long status, const char *code);

#endif /* DC_STORAGE_S3_INT_H */
