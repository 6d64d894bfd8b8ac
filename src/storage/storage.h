/*
 * storage: where a Delta table's bytes live, behind a small vtable (SQLite's
 * VFS, libgit2's odb_backend): the local filesystem, and S3-compatible object
 * stores (storage_s3.c: "s3://bucket/prefix").
 *
 * Paths are relative to the table root ("_delta_log/00000000000000000000.json",
 * "part=1/part-0000.parquet"), '/'-separated, never starting with '/' or
 * containing "." / ".." segments. As the single exception, a path that starts
 * with '/' is absolute on the backend's filesystem (local only: Delta `add`
 * paths and `p` deletion vectors may be absolute `file:` URIs, which the delta
 * module turns into such paths).
 *
 * Thread-safety: one dc_storage may be used from several threads at once;
 * a dc_storage_writer belongs to one thread.
 *
 * Depends on common/ only. The streaming writer's write function has the
 * signature of dc_pq_sink.write so that parquet can write straight into
 * storage without storage knowing parquet:
 *     dc_pq_sink sink = {1, w, dc_storage_writer_write};
 */
#ifndef DC_STORAGE_H
#define DC_STORAGE_H

#include "../common/dc_common.h"
#include "../common/dc_limits.h"

typedef struct dc_storage dc_storage;
typedef struct dc_storage_writer dc_storage_writer;

/* One directory entry. */
typedef struct dc_storage_entry {
    const char *name;   /* file name without the directory (arena-owned, NUL-terminated) */
    uint64_t size;      /* bytes; 0 for directories */
    int64_t mtime_ms;   /* modification time, milliseconds since the Unix epoch */
    bool is_dir;        /* a directory (local) or a common prefix (object stores) */
} dc_storage_entry;

/* The entries of one directory, sorted by name (byte order). Caller-owned:
 * dc_storage_list_init / dc_storage_list_dispose. */
typedef struct dc_storage_list {
    dc_arena arena;            /* owns names and the entries array */
    size_t n;                  /* entries in use */
    size_t cap;                /* entries allocated */
    dc_storage_entry *entries; /* n entries, sorted by name */
} dc_storage_list;

void dc_storage_list_init(dc_storage_list *l);
void dc_storage_list_dispose(dc_storage_list *l);
/* Backends: appends an entry (name: n bytes, copied into the arena). */
int dc_storage_list_push(dc_storage_list *l, const char *name, size_t n, uint64_t size,
                         int64_t mtime_ms, bool is_dir, dc_err *err);
/* Backends: sorts entries [first, n) by name. */
void dc_storage_list_sort(dc_storage_list *l, size_t first);

/* 2: remove_many (batched deletes: S3 DeleteObjects, 1000 keys a request).
 * 3: abort_uploads (unfinished multipart uploads a crashed writer left). */
#define DC_STORAGE_OPS_VERSION 3

/* A backend. Every op returns 0 or a negative DC_E* with err set; errors name
 * the full path. Missing objects are DC_ENOTFOUND. Ops a backend can not do
 * are NULL (the wrappers below then return DC_EUNSUPPORTED). */
typedef struct dc_storage_ops {
    int version;            /* DC_STORAGE_OPS_VERSION: first, so the struct can grow */
    const char *scheme;     /* "file" or "s3" */
    /* Appends the whole object to `out`; an object larger than out->max is
     * DC_ELIMIT (and nothing is appended). */
    int (*read)(dc_storage *s, const char *path, dc_buf *out, dc_err *err);
    /* Reads exactly n bytes at offset into dst; fewer available is DC_ECORRUPT. */
    int (*read_range)(dc_storage *s, const char *path, uint64_t offset, size_t n, uint8_t *dst,
                      dc_err *err);
    int (*size)(dc_storage *s, const char *path, uint64_t *size_out, dc_err *err);
    /* Creates or replaces the object atomically: readers see the old bytes or
     * all the new ones (local: temp file, fsync, rename, fsync directory).
     * Missing parent directories are created. */
    int (*write)(dc_storage *s, const char *path, const void *p, size_t n, dc_err *err);
    /* Creates the object only if absent, atomically and durably; DC_EEXISTS
     * (not retriable by itself: the caller decides) when it is present.
     * Local: temp file, fsync, link() (or renameat2 RENAME_NOREPLACE), fsync dir. */
    int (*put_if_absent)(dc_storage *s, const char *path, const void *p, size_t n, dc_err *err);
    /* Entries of directory `dir` ("" for the root) whose names sort after
     * `start_after` (NULL: all), appended to `out` and sorted by name.
     * A missing directory is DC_ENOTFOUND. */
    int (*list)(dc_storage *s, const char *dir, const char *start_after, dc_storage_list *out,
                dc_err *err);
    /* Removes an object; a missing one is DC_ENOTFOUND (S3 can not tell: 0). */
    int (*remove)(dc_storage *s, const char *path, dc_err *err);
    /* Streaming writer: bytes go to a temporary object that appears at `path`
     * only on dc_storage_writer_commit. */
    int (*writer_open)(dc_storage_writer **out, dc_storage *s, const char *path, dc_err *err);
    /* Local backends: the filesystem path of `path` (appended to out, NUL-
     * terminated), so readers can mmap. NULL for remote backends. */
    int (*local_path)(dc_storage *s, const char *path, dc_buf *out, dc_err *err);
    /* Releases the backend's ctx. */
    void (*close)(dc_storage *s);
    /* Version 2 (appended: a version-1 table ends before it). Removes n
     * objects, as few requests as the store allows (S3: DeleteObjects of up
     * to 1000 keys); missing objects are not an error. NULL (or version 1):
     * the wrapper removes them one by one. */
    int (*remove_many)(dc_storage *s, const char *const *paths, size_t n, dc_err *err);
    /* Version 3. Aborts the unfinished uploads under the root started before
     * cutoff_ms (dry_run: only counts them), the object store's counterpart
     * of the temp files a crashed local writer leaves: invisible to LIST,
     * billed until aborted. *n_out: how many. S3: ListMultipartUploads under
     * the prefix, AbortMultipartUpload each. NULL (or version < 3): none. */
    int (*abort_uploads)(dc_storage *s, int64_t cutoff_ms, bool dry_run, uint64_t *n_out,
                         dc_err *err);
} dc_storage_ops;

/* Requests made through one dc_storage, counted by the backend (S3: every
 * HTTP request, retries included; local: every operation). Updated with
 * relaxed atomics: several threads may share a storage. */
typedef struct dc_storage_stats {
    uint64_t get;        /* whole and range reads, HEAD */
    uint64_t put;        /* PUT, conditional PUT, multipart requests */
    uint64_t list;       /* LIST pages */
    uint64_t del;        /* DELETE and DeleteObjects requests */
    uint64_t retries;    /* requests repeated after a retriable failure */
    uint64_t bytes_in;   /* body bytes read */
    uint64_t bytes_out;  /* body bytes written */
} dc_storage_stats;

/* An open table root. Backends fill ops and ctx. */
struct dc_storage {
    const dc_storage_ops *ops;  /* the backend */
    char *root;                 /* the location as given, normalised (no trailing '/');
                                   owned, for messages */
    void *ctx;                  /* the backend's state, owned by it */
    dc_storage_stats stats;     /* request counters (dc_storage_stats_get to read) */
};

/* Opens a table root: "file:///abs/path", "file:relative", a plain path
 * (absolute or relative to the working directory), or "s3://bucket/prefix"
 * (settings: dc_storage_s3_configure, else the environment). The location
 * need not exist yet (a table being created). Other schemes are
 * DC_EUNSUPPORTED. With DC_STORAGE_FAULTS set (tests only) the root is
 * wrapped in the fault backend. */
int dc_storage_open(dc_storage **out, const char *uri, dc_err *err);
void dc_storage_free(dc_storage *s);

/* Wrappers over the ops (they check for NULL ops and prefix nothing). */
int dc_storage_read(dc_storage *s, const char *path, dc_buf *out, dc_err *err);
int dc_storage_read_range(dc_storage *s, const char *path, uint64_t offset, size_t n,
                          uint8_t *dst, dc_err *err);
int dc_storage_size(dc_storage *s, const char *path, uint64_t *size_out, dc_err *err);
int dc_storage_write(dc_storage *s, const char *path, const void *p, size_t n, dc_err *err);
int dc_storage_put_if_absent(dc_storage *s, const char *path, const void *p, size_t n,
                             dc_err *err);
int dc_storage_list_dir(dc_storage *s, const char *dir, const char *start_after,
                        dc_storage_list *out, dc_err *err);
int dc_storage_remove(dc_storage *s, const char *path, dc_err *err);
/* Removes n objects (batched where the backend can); missing ones are skipped. */
int dc_storage_remove_many(dc_storage *s, const char *const *paths, size_t n, dc_err *err);
int dc_storage_local_path(dc_storage *s, const char *path, dc_buf *out, dc_err *err);
/* Aborts (dry_run: counts) the unfinished uploads under the root started
 * before cutoff_ms; *n_out = 0 on a backend that has none. */
int dc_storage_abort_uploads(dc_storage *s, int64_t cutoff_ms, bool dry_run, uint64_t *n_out,
                             dc_err *err);

/* ----------------------------------------------------- streaming writer */

int dc_storage_writer_open(dc_storage_writer **out, dc_storage *s, const char *path,
                           dc_err *err);
/* Appends n bytes. `w` is a dc_storage_writer*: the void* matches dc_pq_sink.write. */
int dc_storage_writer_write(void *w, const void *p, size_t n, dc_err *err);
/* Bytes written so far. */
uint64_t dc_storage_writer_bytes(const dc_storage_writer *w);
/* Makes the object appear at its path, durably (local: fsync file, then
 * rename — or link when if_absent, DC_EEXISTS if the path exists; the
 * directory's fsync is deferred to the next dc_storage_write or
 * put_if_absent of the process, or the storage's close, so a commit's files
 * share one: nothing durable can name the file before that). The writer is
 * freed whatever the result. */
int dc_storage_writer_commit(dc_storage_writer *w, bool if_absent, dc_err *err);
/* Drops the temporary object and frees the writer; NULL is a no-op. */
void dc_storage_writer_abort(dc_storage_writer *w);

/* Backend vtable header for backends' own writers: every dc_storage_writer
 * starts with this. */
typedef struct dc_storage_writer_ops {
    int (*write)(dc_storage_writer *w, const void *p, size_t n, dc_err *err);
    int (*commit)(dc_storage_writer *w, bool if_absent, dc_err *err);
    void (*abort)(dc_storage_writer *w);
} dc_storage_writer_ops;

struct dc_storage_writer {
    const dc_storage_writer_ops *ops;  /* the backend's writer functions */
    dc_storage *s;                     /* borrowed: the storage it writes to */
    uint64_t bytes;                    /* bytes written so far */
};

/* Whether `name` (a file name, no directory) is a temporary file a backend
 * writes before an object appears (local: ".<name>.<pid>.<n>.<ns>.tmp"). A
 * writer that crashed leaves them behind; VACUUM removes those older than
 * its retention. */
bool dc_storage_is_temp_name(const char *name);

/* For an object nothing names yet (a data file, a DV file): an unknown
 * outcome is an ordinary retriable failure, since a copy that did land is
 * referenced by no commit and VACUUM removes it. Returns rc, with DC_EUNKNOWN
 * turned into a retriable DC_EIO, so that DC_EUNKNOWN above storage always
 * means "a commit may be in the log". */
int dc_storage_unknown_is_failure(int rc, dc_err *err);
/* A snapshot of the request counters. */
void dc_storage_stats_get(const dc_storage *s, dc_storage_stats *out);
/* out = a - b, field by field (requests made between two snapshots). */
void dc_storage_stats_sub(dc_storage_stats *out, const dc_storage_stats *a,
                          const dc_storage_stats *b);
/* Backends: adds to one counter (field is &s->stats.get, ...). */
static inline void dc_storage_count(uint64_t *field, uint64_t n)
{
    __atomic_fetch_add(field, n, __ATOMIC_RELAXED);
}

/* The local backend (also used by dc_storage_open for file: and plain paths). */
int dc_storage_local_open(dc_storage **out, const char *dir, dc_err *err);

/* Tests only: called with every directory the local backend fsyncs. */
extern void (*dc_storage_local_test_on_dir_sync)(const char *dir);

/* Tests only: a backend over `inner` (taken over: freed with the wrapper,
 * or at once on an error) whose ops fail on a seeded schedule, before or
 * after they take effect or after hanging (storage_fault.c describes `spec`,
 * e.g. "put_if_absent@_delta_log/:after:#1,seed=7"). */
int dc_storage_fault_open(dc_storage **out, dc_storage *inner, const char *spec, dc_err *err);
/* Faults a dc_storage_fault_open backend has injected so far (0 for others). */
uint64_t dc_storage_fault_injected(dc_storage *s);

/* The environment variable that makes dc_storage_open wrap every root in the
 * fault backend: a test-only knob, honoured only when its value starts with
 * "test-only," (a value without it is an error, never silently ignored). */
#define DC_STORAGE_FAULTS_ENV "DC_STORAGE_FAULTS"
/* ------------------------------------------------------------------ S3 */

/* Settings of the S3 backend. NULL strings and -1 flags are unset: the
 * environment then decides (AWS_ENDPOINT_URL, AWS_REGION/AWS_DEFAULT_REGION,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE
 * and ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE), AWS_CA_BUNDLE,
 * AWS_S3_ALLOW_UNSAFE_RENAME, AWS_ALLOW_HTTP is not needed: the endpoint's
 * scheme says), then the defaults. */
typedef struct dc_storage_s3_opts {
    const char *endpoint;          /* "http[s]://host[:port]" (NULL: AWS's, by region) */
    const char *region;            /* signing region (NULL: env, else us-east-1) */
    int path_style;                /* 1 path-style, 0 virtual-host, -1 auto: path-style
                                      with a custom endpoint, virtual-host on AWS */
    int verify_tls;                /* 0 only when explicitly off; -1/1 verify */
    const char *ca_file;           /* extra CA bundle (PEM) or NULL */
    int allow_unsafe_single_writer; /* 1: write to a store that does not enforce
                                       conditional PUTs (one writer only!); -1 env */
    const char *access_key_id;     /* NULL: env, then the credentials file */
    const char *secret_access_key; /* secret: never printed */
    const char *session_token;     /* secret: never printed */
    const char *profile;           /* credentials-file profile (NULL: AWS_PROFILE/default) */
    int64_t connect_timeout_ms;    /* 0: default */
    int64_t request_timeout_ms;    /* whole request, 0: default */
    int max_attempts;              /* tries per request, 0: default */
} dc_storage_s3_opts;

/* Sets the process-wide S3 settings used by every later dc_storage_open of
 * an s3:// location (strings are copied). Call before opening tables and
 * before starting threads; NULL resets to the environment. */
int dc_storage_s3_configure(const dc_storage_s3_opts *o, dc_err *err);
/* An opts with everything unset. */
void dc_storage_s3_opts_init(dc_storage_s3_opts *o);
int dc_storage_s3_open(dc_storage **out, const char *uri, dc_err *err);

#endif /* DC_STORAGE_H */
