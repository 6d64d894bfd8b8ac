/*
 * storage: where a Delta table's bytes live, behind a small vtable (SQLite's
 * VFS, libgit2's odb_backend). Local filesystem now; S3-compatible stores later.
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

#define DC_STORAGE_OPS_VERSION 1

/* A backend. Every op returns 0 or a negative DC_E* with err set; errors name
 * the full path. Missing objects are DC_ENOTFOUND. Ops a backend can not do
 * are NULL (the wrappers below then return DC_EUNSUPPORTED). */
typedef struct dc_storage_ops {
    int version;            /* DC_STORAGE_OPS_VERSION: first, so the struct can grow */
    const char *scheme;     /* "file", later "s3" */
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
    /* Removes an object; a missing one is DC_ENOTFOUND. */
    int (*remove)(dc_storage *s, const char *path, dc_err *err);
    /* Streaming writer: bytes go to a temporary object that appears at `path`
     * only on dc_storage_writer_commit. */
    int (*writer_open)(dc_storage_writer **out, dc_storage *s, const char *path, dc_err *err);
    /* Local backends: the filesystem path of `path` (appended to out, NUL-
     * terminated), so readers can mmap. NULL for remote backends. */
    int (*local_path)(dc_storage *s, const char *path, dc_buf *out, dc_err *err);
    /* Releases the backend's ctx. */
    void (*close)(dc_storage *s);
} dc_storage_ops;

/* An open table root. Backends fill ops and ctx. */
struct dc_storage {
    const dc_storage_ops *ops;  /* the backend */
    char *root;                 /* the location as given, normalised (no trailing '/');
                                   owned, for messages */
    void *ctx;                  /* the backend's state, owned by it */
};

/* Opens a table root: "file:///abs/path", "file:relative", or a plain path
 * (absolute or relative to the working directory). The directory need not
 * exist yet (a table being created). "s3://..." and other schemes are
 * DC_EUNSUPPORTED for now. With DC_STORAGE_FAULTS set (tests only) the root
 * is wrapped in the fault backend. */
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
int dc_storage_local_path(dc_storage *s, const char *path, dc_buf *out, dc_err *err);

/* ----------------------------------------------------- streaming writer */

int dc_storage_writer_open(dc_storage_writer **out, dc_storage *s, const char *path,
                           dc_err *err);
/* Appends n bytes. `w` is a dc_storage_writer*: the void* matches dc_pq_sink.write. */
int dc_storage_writer_write(void *w, const void *p, size_t n, dc_err *err);
/* Bytes written so far. */
uint64_t dc_storage_writer_bytes(const dc_storage_writer *w);
/* Makes the object appear at its path, durably (local: fsync file, then
 * rename — or link when if_absent, DC_EEXISTS if the path exists — then fsync
 * the directory). The writer is freed whatever the result. */
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

#endif /* DC_STORAGE_H */
