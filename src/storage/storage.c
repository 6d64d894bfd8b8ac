/* storage: opening a root by URI, the op wrappers, directory lists. */
#include "storage.h"

#include <stdlib.h>
#include <string.h>

static int open_backend(dc_storage **out, const char *uri, dc_err *err);

void dc_storage_list_init(dc_storage_list *l)
{
    dc_arena_init(&l->arena, SIZE_MAX);
    l->n = 0;
    l->cap = 0;
    l->entries = NULL;
}

void dc_storage_list_dispose(dc_storage_list *l)
{
    dc_free(l->entries);
    dc_arena_dispose(&l->arena);
    l->entries = NULL;
    l->n = l->cap = 0;
}

/* Tests only: wraps a freshly opened root in the fault backend when
 * DC_STORAGE_FAULTS says so. The value must start with "test-only," so that
 * a stray variable can not make a production run fail on purpose; anything
 * else set there is refused rather than ignored, and every wrapped root is
 * announced at warn level. */
static int maybe_faults(dc_storage **s, dc_err *err)
{
    const char *spec = getenv(DC_STORAGE_FAULTS_ENV);
    if (!spec || !*spec) return 0;
    if (strncmp(spec, "test-only,", 10) != 0) {
        dc_storage_free(*s);
        *s = NULL;
        return dc_err_set(err, DC_EINVAL,
                          "%s is set, but it is a test-only knob that makes storage fail on "
                          "purpose: unset it (tests start its value with 'test-only,')",
                          DC_STORAGE_FAULTS_ENV);
    }
    DC_LOG(DC_LOG_WARN, "storage", "%s: injecting faults (%s=%s, tests only)", (*s)->root,
           DC_STORAGE_FAULTS_ENV, spec);
    dc_storage *inner = *s;
    *s = NULL;
    return dc_storage_fault_open(s, inner, spec, err);
}

int dc_storage_list_push(dc_storage_list *l, const char *name, size_t n, uint64_t size,
                         int64_t mtime_ms, bool is_dir, dc_err *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        dc_storage_entry *e = dc_realloc(l->entries, cap * sizeof *e);
        if (!e) return dc_err_set(err, DC_ENOMEM, "out of memory listing a directory");
        l->entries = e;
        l->cap = cap;
    }
    char *copy = dc_arena_strndup(&l->arena, name, n, err);
    if (!copy) return DC_ENOMEM;
    l->entries[l->n++] = (dc_storage_entry){copy, size, mtime_ms, is_dir};
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const dc_storage_entry *)a)->name, ((const dc_storage_entry *)b)->name);
}

void dc_storage_list_sort(dc_storage_list *l, size_t first)
{
    if (l->n > first) /* an empty list: entries may be NULL */
        qsort(l->entries + first, l->n - first, sizeof *l->entries, cmp_entry);
}

int dc_storage_open(dc_storage **out, const char *uri, dc_err *err)
{
    DC_TRY(open_backend(out, uri, err));
    return maybe_faults(out, err);
}

/* The backend a URI names. */
static int open_backend(dc_storage **out, const char *uri, dc_err *err)
{
    *out = NULL;
    if (!uri || !*uri) return dc_err_set(err, DC_EINVAL, "storage: empty table location");
    if (strncmp(uri, "file://", 7) == 0) {
        const char *p = uri + 7;
        /* file://localhost/x and file:///x; any other host is not local. */
        if (strncmp(p, "localhost/", 10) == 0) p += 9;
        if (*p != '/')
            return dc_err_set(err, DC_EINVAL, "storage: '%s': expected file:///absolute/path",
                              uri);
        return dc_storage_local_open(out, p, err);
    }
    if (strncmp(uri, "file:", 5) == 0) return dc_storage_local_open(out, uri + 5, err);
    if (strncmp(uri, "s3://", 5) == 0 || strncmp(uri, "s3a://", 6) == 0)
        return dc_storage_s3_open(out, uri, err);
    const char *colon = strstr(uri, "://");
    if (colon) {
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "storage: '%s': scheme '%.*s' is not supported (local paths, "
                          "file:// and s3://)",
                          uri, (int)(colon - uri), uri);
    }
    return dc_storage_local_open(out, uri, err);
}

void dc_storage_free(dc_storage *s)
{
    if (!s) return;
    if (s->ops && s->ops->close) s->ops->close(s);
    dc_free(s->root);
    dc_free(s);
}

static int unsupported(const dc_storage *s, const char *op, dc_err *err)
{
    return dc_err_set(err, DC_EUNSUPPORTED, "storage %s: %s is not supported by the '%s' backend",
                      s->root, op, s->ops->scheme);
}

int dc_storage_read(dc_storage *s, const char *path, dc_buf *out, dc_err *err)
{
    if (!s->ops->read) return unsupported(s, "read", err);
    return s->ops->read(s, path, out, err);
}

int dc_storage_read_range(dc_storage *s, const char *path, uint64_t offset, size_t n,
                          uint8_t *dst, dc_err *err)
{
    if (!s->ops->read_range) return unsupported(s, "read_range", err);
    return s->ops->read_range(s, path, offset, n, dst, err);
}

int dc_storage_size(dc_storage *s, const char *path, uint64_t *size_out, dc_err *err)
{
    if (!s->ops->size) return unsupported(s, "size", err);
    return s->ops->size(s, path, size_out, err);
}

int dc_storage_write(dc_storage *s, const char *path, const void *p, size_t n, dc_err *err)
{
    if (!s->ops->write) return unsupported(s, "write", err);
    return s->ops->write(s, path, p, n, err);
}

int dc_storage_put_if_absent(dc_storage *s, const char *path, const void *p, size_t n,
                             dc_err *err)
{
    if (!s->ops->put_if_absent) return unsupported(s, "put_if_absent", err);
    return s->ops->put_if_absent(s, path, p, n, err);
}

int dc_storage_list_dir(dc_storage *s, const char *dir, const char *start_after,
                        dc_storage_list *out, dc_err *err)
{
    if (!s->ops->list) return unsupported(s, "list", err);
    return s->ops->list(s, dir, start_after, out, err);
}

int dc_storage_remove(dc_storage *s, const char *path, dc_err *err)
{
    if (!s->ops->remove) return unsupported(s, "remove", err);
    return s->ops->remove(s, path, err);
}

int dc_storage_local_path(dc_storage *s, const char *path, dc_buf *out, dc_err *err)
{
    if (!s->ops->local_path) return unsupported(s, "local_path", err);
    return s->ops->local_path(s, path, out, err);
}

int dc_storage_writer_open(dc_storage_writer **out, dc_storage *s, const char *path,
                           dc_err *err)
{
    *out = NULL;
    if (!s->ops->writer_open) return unsupported(s, "writer_open", err);
    return s->ops->writer_open(out, s, path, err);
}

int dc_storage_writer_write(void *w, const void *p, size_t n, dc_err *err)
{
    dc_storage_writer *sw = w;
    int rc = sw->ops->write(sw, p, n, err);
    if (rc == 0) sw->bytes += n;
    return rc;
}

uint64_t dc_storage_writer_bytes(const dc_storage_writer *w) { return w->bytes; }

int dc_storage_writer_commit(dc_storage_writer *w, bool if_absent, dc_err *err)
{
    return w->ops->commit(w, if_absent, err);
}

int dc_storage_unknown_is_failure(int rc, dc_err *err)
{
    if (rc != DC_EUNKNOWN) return rc;
    if (err) {
        err->code = DC_EIO;
        err->retriable = true;
    }
    return DC_EIO;
}

void dc_storage_writer_abort(dc_storage_writer *w)
{
    if (w) w->ops->abort(w);
}

int dc_storage_remove_many(dc_storage *s, const char *const *paths, size_t n, dc_err *err)
{
    if (s->ops->version >= 2 && s->ops->remove_many)
        return s->ops->remove_many(s, paths, n, err);
    for (size_t i = 0; i < n; i++) {
        int rc = dc_storage_remove(s, paths[i], err);
        if (rc == DC_ENOTFOUND) dc_err_clear(err);
        else if (rc < 0) return rc;
    }
    return 0;
}

int dc_storage_abort_uploads(dc_storage *s, int64_t cutoff_ms, bool dry_run, uint64_t *n_out,
                             dc_err *err)
{
    *n_out = 0;
    if (s->ops->version < 3 || !s->ops->abort_uploads) return 0;
    return s->ops->abort_uploads(s, cutoff_ms, dry_run, n_out, err);
}

void dc_storage_stats_get(const dc_storage *s, dc_storage_stats *out)
{
    const uint64_t *src = &s->stats.get;
    uint64_t *dst = &out->get;
    /* Every field is a uint64_t counter, in order. */
    for (size_t i = 0; i < sizeof *out / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void dc_storage_stats_sub(dc_storage_stats *out, const dc_storage_stats *a,
                          const dc_storage_stats *b)
{
    const uint64_t *pa = &a->get, *pb = &b->get;
    uint64_t *po = &out->get;
    for (size_t i = 0; i < sizeof *out / sizeof(uint64_t); i++) po[i] = pa[i] - pb[i];
}
