/*
 * storage (S3 backend): the request engine shared by storage_s3.c (open,
 * requests, retries, the conditional-write probe) and storage_s3_ops.c (the
 * vtable's operations and the multipart writer). Only src/storage sees it.
 */
#ifndef DC_STORAGE_S3_HTTP_H
#define DC_STORAGE_S3_HTTP_H

#include "storage_s3_int.h"

#include <pthread.h>

/* Handles kept for reuse (connections stay open inside them). */
#define S3_POOL 8
/* Error bodies kept: S3's are a few hundred bytes. */
#define S3_MAX_ERROR_BODY ((size_t)64 * 1024)
/* Replies parsed whole (a ListObjectsV2 page of 1000 keys is ~300 KiB). */
#define S3_MAX_REPLY ((size_t)16 * 1024 * 1024)
/* Multipart part size: S3's minimum is 5 MiB (except the last part); 8 MiB
 * parts keep a writer's memory small and reach 80 GB with 10000 parts. */
#define S3_PART_SIZE ((size_t)8 * 1024 * 1024)
#define S3_MAX_PARTS 10000
/* DeleteObjects takes at most 1000 keys. */
#define S3_DELETE_BATCH 1000
/* Backoff between attempts: full jitter over 100 ms doubling to 5 s. */
#define S3_BACKOFF_BASE_MS 100L
#define S3_BACKOFF_CAP_MS 5000L

/* One open s3:// root: dc_storage.ctx. */
typedef struct s3_ctx {
    s3_conf conf;            /* resolved settings (owns the secrets) */
    char *bucket;            /* bucket name */
    char *prefix;            /* key prefix of the table ("" or "a/b", no '/' at the ends) */
    char *userpwd;           /* "key:secret" for curl's SigV4 (secret; NULL: anonymous) */
    char *sigv4;             /* "aws:amz:<region>:s3" */
    pthread_mutex_t mu;      /* guards pool, n_pool and probe */
    void *pool[S3_POOL];     /* idle CURL easy handles */
    int n_pool;              /* handles in pool */
    int probe;               /* conditional PUTs: 0 not probed, 1 enforced, -1 not enforced */
    uint64_t rng;            /* jitter state (atomic adds of a constant, then mixed) */
} s3_ctx;

/* One request, retried as a unit. Inputs first, then what came back. */
typedef struct s3_req {
    const char *method;      /* GET, HEAD, PUT, POST, DELETE */
    const char *key;         /* the full object key ("" for the bucket) */
    const char *query;       /* encoded, sorted query or NULL */
    const void *body;        /* request body or NULL */
    size_t body_n;           /* its bytes */
    const char *hdr[4];      /* extra "Name: value" headers, NULL-terminated */
    uint64_t *counter;       /* which request counter to bump (&s->stats.get...) */
    bool is_write;           /* a lost reply leaves the outcome unknown */
    bool conditional;        /* put-if-absent: never on a reused connection (below) */
    dc_buf *sink;            /* 2xx body goes here (NULL: a reply buffer of the request) */
    uint8_t *dst;            /* or into dst (range reads), at most dst_n bytes */
    size_t dst_n;            /* capacity of dst */
    /* results */
    long status;             /* last HTTP status (0: none) */
    char code[64];           /* S3 error Code of the last reply, or "" */
    char msg[256];           /* its Message */
    char etag[128];          /* ETag header of the last reply */
    size_t dst_got;          /* bytes written to dst */
    int64_t length;          /* Content-Length of the reply (-1: unknown) */
    bool maybe_applied;      /* an attempt of this write may have taken effect */
    bool overflow;           /* the body exceeded the sink's max or dst_n */
    dc_buf reply;            /* body when sink is NULL (init/dispose by s3_req_*) */
} s3_req;

void s3_req_init(s3_req *r, const char *method, const char *key, uint64_t *counter);
void s3_req_dispose(s3_req *r);
/* Runs r with retries. 0 on a 2xx; otherwise the DC_E* of the final status
 * (err names the location and the S3 code, never a secret). The caller
 * decides what maybe_applied means for it. */
int s3_do(dc_storage *s, s3_req *r, dc_err *err);
/* The full key of a table-relative path (appended to out, NUL-terminated). */
int s3_key(dc_buf *out, const s3_ctx *c, const char *path, dc_err *err);
/* Hex SHA-256 of p (65 bytes with the NUL). */
void s3_sha256_hex(char out[65], const void *p, size_t n);
/* Base64 MD5 of p (Content-MD5), 25 bytes with the NUL. */
void s3_md5_b64(char out[32], const void *p, size_t n);
/* Refuses to write when the store does not enforce conditional PUTs (probed
 * once per open storage) and single-writer mode is off. *enforced tells
 * put-if-absent which way to go. */
int s3_check_writable(dc_storage *s, bool *enforced, dc_err *err);
/* The header that makes a PUT conditional on absence on this store. */
const char *s3_if_absent_header(const s3_ctx *c);

/* Frees the ctx (the vtable's close). */
void s3_close(dc_storage *s);

/* storage_s3_ops.c */
extern const dc_storage_ops s3_ops;

#endif /* DC_STORAGE_S3_HTTP_H */
