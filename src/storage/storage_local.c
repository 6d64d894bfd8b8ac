/*
 * storage: the local filesystem backend.
 *
 * Durability: every object that appears is first written to a temporary file
 * in the same directory (".<name>.<pid>.<n>.<ns>.tmp": dc_storage_is_temp_name
 * recognises them for VACUUM), fsync'ed, then renamed
 * (replace) or linked (put-if-absent: link() fails with EEXIST, so two
 * processes racing for the same commit file can not both win), and the
 * directory is fsync'ed so the new name survives a crash.
 *
 * Names published by a streaming writer (data files, deletion vectors,
 * checkpoints, index files) have their directory fsync deferred: the
 * directory is noted, and every note is synced before the next write or
 * put-if-absent (a commit, _last_checkpoint) of this process publishes its
 * name, and when a storage closes. Nothing can durably refer to such a name
 * before that, so the order readers rely on (a commit's files durable
 * before the commit) holds, and the data file and the deletion vectors of a
 * commit, both in the table's root, cost one directory fsync instead of
 * two (an fsync costs ~0.5 ms of CPU on a virtio disk). The notes are
 * process-wide, not per storage, because files and their commit may go
 * through different dc_storage objects of one table.
 */
#include "storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Writer buffer: parquet writes pages of ~1 MiB, commits a few KiB. */
#define LOCAL_WRITE_BUF (256u * 1024)

typedef struct local_writer {
    dc_storage_writer base;  /* first: the generic part */
    int fd;                  /* the temporary file, -1 once closed */
    char *tmp;               /* temporary file path (owned) */
    char *final;             /* destination path (owned) */
    uint8_t *buf;            /* pending bytes (owned) */
    size_t buf_len;          /* bytes pending in buf */
} local_writer;

static atomic_uint_fast64_t tmp_counter;

/* Directories holding names published without a directory fsync yet; past
 * this many distinct ones (a partitioned table's batch) they are synced at
 * once rather than noted. */
#define LOCAL_MAX_PENDING_DIRS 64

static struct {
    pthread_mutex_t mu;                      /* guards the rest */
    char *dirs[LOCAL_MAX_PENDING_DIRS];      /* owned paths, distinct */
    size_t n;                                /* entries in dirs */
} pending = {PTHREAD_MUTEX_INITIALIZER, {NULL}, 0};

void (*dc_storage_local_test_on_dir_sync)(const char *dir) = NULL;

/* root + "/" + path into a fresh string; absolute paths pass through. */
static int full_path(char **out, const dc_storage *s, const char *path, dc_err *err)
{
    *out = NULL;
    size_t rl = strlen(s->root), pl = strlen(path), n;
    if (path[0] == '/') {
        *out = dc_strdup(path);
    } else if (!dc_add_overflow_sz(rl, pl + 2, &n)) {
        *out = dc_malloc(n);
        if (*out) {
            memcpy(*out, s->root, rl);
            (*out)[rl] = '/';
            memcpy(*out + rl + 1, path, pl + 1);
            if (pl == 0) (*out)[rl] = '\0';
        }
    }
    if (!*out) return dc_err_set(err, DC_ENOMEM, "out of memory building a path");
    return 0;
}

static int os_error(dc_err *err, const char *op, const char *path)
{
    int e = errno;
    int code = e == ENOENT || e == ENOTDIR ? DC_ENOTFOUND : e == EEXIST ? DC_EEXISTS : DC_EIO;
    if (code == DC_EIO && (e == EINTR || e == EAGAIN || e == ENOSPC || e == EMFILE))
        return dc_err_set_retriable(err, code, "%s %s: %s", op, path, strerror(e));
    return dc_err_set(err, code, "%s %s: %s", op, path, strerror(e));
}

static int fsync_dir_of(const char *file, dc_err *err);

/* Creates every missing directory above `file` (mkdir -p of its dirname).
 * A directory made here is synced into its parent before anything goes in
 * it: a file's own directory fsync does not make the directory's name
 * durable, so after a crash _delta_log/ (or a partition directory) and
 * everything under it could be gone although its commit was synced. */
static int make_parents(char *file, dc_err *err)
{
    int rc = 0;
    for (char *p = file + 1; *p && rc == 0; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(file, 0777) == 0) rc = fsync_dir_of(file, err);
        else if (errno != EEXIST) rc = os_error(err, "mkdir", file);
        *p = '/';
    }
    return rc;
}

static int sync_dir(const char *dir, dc_err *err)
{
    if (dc_storage_local_test_on_dir_sync) dc_storage_local_test_on_dir_sync(dir);
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) rc = os_error(err, "fsync directory", dir);
    if (fd >= 0) close(fd);
    return rc;
}

/* The directory part of `file` into dir[PATH_MAX]. */
static int dir_of(char dir[PATH_MAX], const char *file, dc_err *err)
{
    const char *slash = strrchr(file, '/');
    size_t n = slash == file ? 1 : slash ? (size_t)(slash - file) : 0;
    if (n >= PATH_MAX)
        return dc_err_set(err, DC_ELIMIT, "a directory name of %zu bytes: %.64s...", n, file);
    if (n) memcpy(dir, file, n);
    else dir[n++] = '.';
    dir[n] = '\0';
    return 0;
}

/* Allocates nothing: it runs after a put-if-absent's link, when the file is
 * already in place and an out-of-memory error would report a commit that
 * happened as one that did not. */
static int fsync_dir_of(const char *file, dc_err *err)
{
    char dir[PATH_MAX];
    DC_TRY(dir_of(dir, file, err));
    return sync_dir(dir, err);
}

/* Syncs every noted directory (see the top of the file). A directory that
 * fails stays noted, so the next publish tries it again before its own. */
static int sync_pending(dc_err *err)
{
    int rc = 0;
    pthread_mutex_lock(&pending.mu);
    size_t keep = 0;
    for (size_t i = 0; i < pending.n; i++) {
        if (rc == 0 && (rc = sync_dir(pending.dirs[i], err)) == 0) {
            dc_free(pending.dirs[i]);
            continue;
        }
        pending.dirs[keep++] = pending.dirs[i];
    }
    pending.n = keep;
    pthread_mutex_unlock(&pending.mu);
    return rc;
}

/* Notes the directory of `file` for a later sync_pending, or syncs it now
 * when it can not be noted (no memory, too many directories). */
static int defer_dir_sync(const char *file, dc_err *err)
{
    char dir[PATH_MAX];
    DC_TRY(dir_of(dir, file, err));
    pthread_mutex_lock(&pending.mu);
    bool noted = false;
    for (size_t i = 0; i < pending.n && !noted; i++) noted = strcmp(pending.dirs[i], dir) == 0;
    if (!noted && pending.n < LOCAL_MAX_PENDING_DIRS && (pending.dirs[pending.n] = dc_strdup(dir)))
        pending.n++, noted = true;
    pthread_mutex_unlock(&pending.mu);
    return noted ? 0 : sync_dir(dir, err);
}

static int write_all(int fd, const uint8_t *p, size_t n, const char *path, dc_err *err)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return os_error(err, "write", path);
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

bool dc_storage_is_temp_name(const char *name)
{
    /* temp_name's shape: '.', the base name, then ".<pid>.<n>.<ns>.tmp" */
    const size_t n = strlen(name);
    if (n < 12 || name[0] != '.' || strcmp(name + n - 4, ".tmp") != 0) return false;
    size_t i = n - 4, dots = 0;
    while (i > 1 && dots < 3) {
        size_t d = 0;
        while (i > 1 && name[i - 1] >= '0' && name[i - 1] <= '9') i--, d++;
        if (d == 0 || name[i - 1] != '.') return false;
        i--;
        dots++;
    }
    return dots == 3 && i > 1; /* a base name before the numbers */
}

/* "<dir>/.<base>.<pid>.<n>.<ns>.tmp" next to `final`. */
static char *temp_name(const char *final)
{
    const char *slash = strrchr(final, '/');
    size_t dl = slash ? (size_t)(slash - final) + 1 : 0;
    uint64_t n = atomic_fetch_add(&tmp_counter, 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t cap = strlen(final) + 80;
    char *t = dc_malloc(cap);
    if (!t) return NULL;
    snprintf(t, cap, "%.*s.%s.%ld.%llu.%ld.tmp", (int)dl, final, final + dl, (long)getpid(),
             (unsigned long long)n, (long)ts.tv_nsec);
    return t;
}

/* The parents are made only when the create finds one missing: nearly
 * every file goes into a directory that exists, and a mkdir per path
 * component was ~13 syscalls a commit. */
static int open_temp(int *fd_out, char **tmp_out, char *final, dc_err *err)
{
    *fd_out = -1;
    *tmp_out = NULL;
    char *tmp = temp_name(final);
    if (!tmp) return dc_err_set(err, DC_ENOMEM, "out of memory");
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
    int fd = open(tmp, flags, 0666);
    if (fd < 0 && errno == ENOENT) {
        const int rc = make_parents(final, err);
        if (rc < 0) {
            dc_free(tmp);
            return rc;
        }
        fd = open(tmp, flags, 0666);
    }
    if (fd < 0) {
        int rc = os_error(err, "create", tmp);
        dc_free(tmp);
        return rc;
    }
    *fd_out = fd;
    *tmp_out = tmp;
    return 0;
}

/* Moves a synced temp file into place: rename, or link for put-if-absent
 * (falling back to renameat2(RENAME_NOREPLACE) where hard links are refused). */
static int publish(const char *tmp, const char *final, bool if_absent, bool defer,
                   dc_err *err)
{
    int rc = 0;
    if (!if_absent) {
        if (rename(tmp, final) != 0) rc = os_error(err, "rename to", final);
    } else if (link(tmp, final) != 0) {
        if (errno == EEXIST) {
            rc = dc_err_set(err, DC_EEXISTS, "%s already exists", final);
        } else if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP) {
            if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) != 0)
                rc = errno == EEXIST ? dc_err_set(err, DC_EEXISTS, "%s already exists", final)
                                     : os_error(err, "rename (no replace) to", final);
            else
                tmp = NULL;  /* moved: nothing left to unlink */
        } else {
            rc = os_error(err, "link to", final);
        }
    }
    if (if_absent && tmp) unlink(tmp);
    if (rc == 0 && (defer ? defer_dir_sync(final, err) : fsync_dir_of(final, err)) < 0) {
        /* The new name is visible (readers may already use it) but may not
         * survive a crash: neither "done" nor "not done" is true, and a
         * caller that cleaned up as for a failure would delete what a
         * visible commit names. */
        rc = DC_EUNKNOWN;
        if (err) {
            err->code = rc;
            err->retriable = false;
        }
        dc_err_prefix(err, "%s is in place, but not known to be durable", final);
    }
    return rc;
}

static int put(dc_storage *s, const char *path, const void *p, size_t n, bool if_absent,
               dc_err *err)
{
    char *final = NULL, *tmp = NULL;
    int fd = -1;
    int rc = full_path(&final, s, path, err);
    if (rc < 0) goto out;
    if ((rc = open_temp(&fd, &tmp, final, err)) < 0) goto out;
    if ((rc = write_all(fd, p, n, tmp, err)) < 0) goto out;
    if (fsync(fd) != 0) {
        rc = os_error(err, "fsync", tmp);
        goto out;
    }
    close(fd);
    fd = -1;
    /* the names this one may refer to become durable before it appears */
    if ((rc = sync_pending(err)) < 0) goto out;
    rc = publish(tmp, final, if_absent, false, err);
    if (!if_absent && rc < 0 && rc != DC_EUNKNOWN) unlink(tmp); /* unknown: it was renamed */
    dc_free(tmp);
    tmp = NULL;
out:
    if (fd >= 0) close(fd);
    if (tmp) {
        unlink(tmp);
        dc_free(tmp);
    }
    dc_free(final);
    return rc;
}

static int local_write(dc_storage *s, const char *path, const void *p, size_t n, dc_err *err)
{
    dc_storage_count(&s->stats.put, 1);
    return put(s, path, p, n, false, err);
}

static int local_put_if_absent(dc_storage *s, const char *path, const void *p, size_t n,
                               dc_err *err)
{
    dc_storage_count(&s->stats.put, 1);
    return put(s, path, p, n, true, err);
}

static int read_exact(int fd, uint64_t off, uint8_t *dst, size_t n, const char *path,
                      dc_err *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, dst + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return os_error(err, "read", path);
        }
        if (r == 0)
            return dc_err_set(err, DC_ECORRUPT,
                              "%s: truncated: wanted %zu bytes at offset %llu, file ends after %llu",
                              path, n, (unsigned long long)off, (unsigned long long)(off + done));
        done += (size_t)r;
    }
    return 0;
}

static int local_read(dc_storage *s, const char *path, dc_buf *out, dc_err *err)
{
    dc_storage_count(&s->stats.get, 1);
    char *full = NULL;
    int fd = -1;
    int rc = full_path(&full, s, path, err);
    if (rc < 0) goto out;
    fd = open(full, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = os_error(err, "open", full);
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = dc_err_set(err, DC_EINVAL, "read %s: is a directory", full);
        goto out;
    }
    if ((uint64_t)st.st_size > out->max - out->len) {
        rc = dc_err_set(err, DC_ELIMIT, "%s: %lld bytes exceed the limit of %zu", full,
                        (long long)st.st_size, out->max - out->len);
        goto out;
    }
    size_t n = (size_t)st.st_size;
    if ((rc = dc_buf_reserve(out, n, err)) < 0) goto out;
    if ((rc = read_exact(fd, 0, out->data + out->len, n, full, err)) < 0) goto out;
    out->len += n;
out:
    if (fd >= 0) close(fd);
    dc_free(full);
    return rc;
}

static int local_read_range(dc_storage *s, const char *path, uint64_t offset, size_t n,
                            uint8_t *dst, dc_err *err)
{
    dc_storage_count(&s->stats.get, 1);
    char *full = NULL;
    int fd = -1;
    int rc = full_path(&full, s, path, err);
    if (rc < 0) goto out;
    fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = os_error(err, "open", full);
        goto out;
    }
    rc = read_exact(fd, offset, dst, n, full, err);
out:
    if (fd >= 0) close(fd);
    dc_free(full);
    return rc;
}

static int local_size(dc_storage *s, const char *path, uint64_t *size_out, dc_err *err)
{
    dc_storage_count(&s->stats.get, 1);
    char *full = NULL;
    int rc = full_path(&full, s, path, err);
    struct stat st;
    if (rc == 0 && stat(full, &st) != 0) rc = os_error(err, "stat", full);
    if (rc == 0) *size_out = (uint64_t)st.st_size;
    dc_free(full);
    return rc;
}

static int local_remove(dc_storage *s, const char *path, dc_err *err)
{
    dc_storage_count(&s->stats.del, 1);
    char *full = NULL;
    int rc = full_path(&full, s, path, err);
    if (rc == 0 && unlink(full) != 0) rc = os_error(err, "remove", full);
    dc_free(full);
    return rc;
}

static int local_local_path(dc_storage *s, const char *path, dc_buf *out, dc_err *err)
{
    if (path[0] != '/') {
        DC_TRY(dc_buf_puts(out, s->root, err));
        DC_TRY(dc_buf_putc(out, '/', err));
    }
    DC_TRY(dc_buf_puts(out, path, err));
    DC_TRY(dc_buf_putc(out, '\0', err));
    out->len--;
    return 0;
}

static int push_entry(dc_storage_list *l, int dfd, const char *name, dc_err *err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, 0) != 0) {
        if (errno == ENOENT) return 0;  /* removed while listing */
        return os_error(err, "stat", name);
    }
    const bool dir = S_ISDIR(st.st_mode);
    return dc_storage_list_push(l, name, strlen(name), dir ? 0 : (uint64_t)st.st_size,
                                (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000,
                                dir, err);
}

static int local_list(dc_storage *s, const char *dir, const char *start_after,
                      dc_storage_list *out, dc_err *err)
{
    dc_storage_count(&s->stats.list, 1);
    char *full = NULL;
    DIR *d = NULL;
    size_t first = out->n;
    int rc = full_path(&full, s, dir, err);
    if (rc < 0) goto out;
    d = opendir(full);
    if (!d) {
        rc = os_error(err, "list", full);
        goto out;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) rc = os_error(err, "list", full);
            break;
        }
        const char *nm = de->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0) continue;
        if (start_after && strcmp(nm, start_after) <= 0) continue;
        if ((rc = push_entry(out, dirfd(d), nm, err)) < 0) break;
    }
    if (rc == 0) dc_storage_list_sort(out, first);
out:
    if (d) closedir(d);
    dc_free(full);
    return rc;
}

/* ------------------------------------------------------------ writer */

static int lw_flush(local_writer *w, dc_err *err)
{
    int rc = write_all(w->fd, w->buf, w->buf_len, w->tmp, err);
    w->buf_len = 0;
    return rc;
}

static int lw_write(dc_storage_writer *base, const void *p, size_t n, dc_err *err)
{
    local_writer *w = (local_writer *)base;
    if (w->buf_len + n <= LOCAL_WRITE_BUF) {
        memcpy(w->buf + w->buf_len, p, n);
        w->buf_len += n;
        return 0;
    }
    DC_TRY(lw_flush(w, err));
    if (n >= LOCAL_WRITE_BUF) return write_all(w->fd, p, n, w->tmp, err);
    memcpy(w->buf, p, n);
    w->buf_len = n;
    return 0;
}

static void lw_free(local_writer *w, bool unlink_tmp)
{
    if (w->fd >= 0) close(w->fd);
    if (unlink_tmp && w->tmp) unlink(w->tmp);
    dc_free(w->tmp);
    dc_free(w->final);
    dc_free(w->buf);
    dc_free(w);
}

static int lw_commit(dc_storage_writer *base, bool if_absent, dc_err *err)
{
    dc_storage_count(&base->s->stats.put, 1);
    local_writer *w = (local_writer *)base;
    int rc = lw_flush(w, err);
    if (rc == 0 && fsync(w->fd) != 0) rc = os_error(err, "fsync", w->tmp);
    bool tmp_left = true;
    if (rc == 0) {
        close(w->fd);
        w->fd = -1;
        rc = publish(w->tmp, w->final, if_absent, true, err);
        /* publish() moved the temp file, or unlinked it for put-if-absent. */
        tmp_left = rc < 0 && rc != DC_EUNKNOWN && !if_absent;
    }
    lw_free(w, tmp_left);
    return rc;
}

static void lw_abort(dc_storage_writer *base) { lw_free((local_writer *)base, true); }

static const dc_storage_writer_ops local_writer_ops = {
    .write = lw_write,
    .commit = lw_commit,
    .abort = lw_abort,
};

static int local_writer_open(dc_storage_writer **out, dc_storage *s, const char *path,
                             dc_err *err)
{
    *out = NULL;
    local_writer *w = dc_calloc(1, sizeof *w);
    if (!w) return dc_err_set(err, DC_ENOMEM, "out of memory");
    w->fd = -1;
    w->base.ops = &local_writer_ops;
    w->base.s = s;
    int rc = full_path(&w->final, s, path, err);
    if (rc == 0 && !(w->buf = dc_malloc(LOCAL_WRITE_BUF)))
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc == 0) rc = open_temp(&w->fd, &w->tmp, w->final, err);
    if (rc < 0) {
        lw_free(w, true);
        return rc;
    }
    *out = &w->base;
    return 0;
}

/* The local backend keeps no state beyond the root path; names still
 * waiting for their directory's fsync get it now (a failure here leaves them
 * noted for the next publish or close: close can not report it). */
static void local_close(dc_storage *s)
{
    (void)s;
    sync_pending(NULL);
}

static const dc_storage_ops local_ops = {
    .version = DC_STORAGE_OPS_VERSION,
    .scheme = "file",
    .read = local_read,
    .read_range = local_read_range,
    .size = local_size,
    .write = local_write,
    .put_if_absent = local_put_if_absent,
    .list = local_list,
    .remove = local_remove,
    .writer_open = local_writer_open,
    .local_path = local_local_path,
    .close = local_close,
};

int dc_storage_local_open(dc_storage **out, const char *dir, dc_err *err)
{
    *out = NULL;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    if (n == 0) return dc_err_set(err, DC_EINVAL, "storage: empty local path");
    dc_storage *s = dc_calloc(1, sizeof *s);
    char *root = dc_strndup(dir, n);
    if (!s || !root) {
        dc_free(s);
        dc_free(root);
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    s->ops = &local_ops;
    s->root = root;
    s->ctx = NULL;
    *out = s;
    return 0;
}
