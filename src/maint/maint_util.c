/* maint: a string set, the table root and log paths made table-relative. */
#include "maint_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

/* ------------------------------------------------------------ string set */

#define STRSET_MAX_KEYS DC_DELTA_MAX_FILES

void mt_strset_init(mt_strset *s)
{
    memset(s, 0, sizeof *s);
    dc_arena_init(&s->arena, (size_t)1 << 40);
}

void mt_strset_dispose(mt_strset *s)
{
    dc_free(s->slots);
    dc_arena_dispose(&s->arena);
    memset(s, 0, sizeof *s);
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

/* Slot of key (present) or of the empty slot where it would go. */
static size_t find_slot(const mt_strset *s, const char *key, size_t n)
{
    size_t i = (size_t)fnv1a(key, n) & (s->cap - 1);
    while (s->slots[i] && !(strncmp(s->slots[i], key, n) == 0 && s->slots[i][n] == '\0'))
        i = (i + 1) & (s->cap - 1);
    return i;
}

static int grow(mt_strset *s, dc_err *err)
{
    const size_t cap = s->cap ? s->cap * 2 : 64;
    const char **old = s->slots;
    const size_t old_cap = s->cap;
    s->slots = dc_calloc(cap, sizeof *s->slots);
    if (!s->slots) {
        s->slots = old;
        return dc_err_set(err, DC_ENOMEM, "out of memory growing a path set to %zu slots", cap);
    }
    s->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i]) s->slots[find_slot(s, old[i], strlen(old[i]))] = old[i];
    dc_free(old);
    return 0;
}

int mt_strset_add(mt_strset *s, const char *key, size_t n, bool *added, dc_err *err)
{
    if (added) *added = false;
    if (s->cap && s->slots[find_slot(s, key, n)]) return 0;
    if (s->n >= STRSET_MAX_KEYS)
        return dc_err_set(err, DC_ELIMIT, "more than %zu paths (DC_DELTA_MAX_FILES)",
                          (size_t)STRSET_MAX_KEYS);
    if ((s->n + 1) * 2 > s->cap) DC_TRY(grow(s, err));
    char *copy = dc_arena_strndup(&s->arena, key, n, err);
    if (!copy) return DC_ENOMEM;
    s->slots[find_slot(s, key, n)] = copy;
    s->n++;
    if (added) *added = true;
    return 0;
}

bool mt_strset_has(const mt_strset *s, const char *key, size_t n)
{
    return s->cap && s->slots[find_slot(s, key, n)] != NULL;
}

/* -------------------------------------------------------------- the root */

int mt_buf_z(dc_buf *b, dc_err *err)
{
    DC_TRY(dc_buf_putc(b, '\0', err));
    b->len--;
    return 0;
}

int mt_root_init(mt_root *r, dc_storage *s, dc_err *err)
{
    dc_buf_init(&r->abs, PATH_MAX * 4);
    dc_buf_init(&r->real, PATH_MAX * 4);
    /* An object store has no filesystem root: absolute paths are never
     * inside it (abs and real stay empty; Delta paths there are relative). */
    if (!s->ops->local_path) {
        int rc = mt_buf_z(&r->abs, err);
        if (rc == 0) rc = mt_buf_z(&r->real, err);
        if (rc < 0) mt_root_dispose(r);
        return rc;
    }
    dc_buf local;
    dc_buf_init(&local, PATH_MAX * 4);
    int rc = dc_storage_local_path(s, "", &local, err);
    if (rc == 0 && (local.len == 0 || local.data[0] != '/')) {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            rc = dc_err_set(err, DC_EIO, "getcwd: %s", strerror(errno));
        else if ((rc = dc_buf_puts(&r->abs, cwd, err)) == 0 && strcmp(cwd, "/") != 0)
            rc = dc_buf_putc(&r->abs, '/', err);
    }
    if (rc == 0) rc = dc_buf_append(&r->abs, local.data, local.len, err);
    /* No trailing '/' (except the filesystem root itself). */
    while (rc == 0 && r->abs.len > 1 && r->abs.data[r->abs.len - 1] == '/') r->abs.len--;
    if (rc == 0) rc = mt_buf_z(&r->abs, err);
    if (rc == 0) {
        char *real = realpath((const char *)r->abs.data, NULL);
        if (real) rc = dc_buf_puts(&r->real, real, err);
        free(real); /* allocated by libc, not by dc_malloc */
        if (rc == 0) rc = mt_buf_z(&r->real, err);
    }
    dc_buf_dispose(&local);
    if (rc < 0) mt_root_dispose(r);
    return rc;
}

void mt_root_dispose(mt_root *r)
{
    dc_buf_dispose(&r->abs);
    dc_buf_dispose(&r->real);
}

/* Length of the prefix `root` + '/' of p when p starts with it, else 0. */
static size_t under(const dc_buf *root, const char *p, size_t n)
{
    const size_t rl = root->len;
    if (rl == 0) return 0;
    if (rl == 1 && root->data[0] == '/') return n > 1 && p[0] == '/' ? 1 : 0;
    if (n > rl + 1 && memcmp(p, root->data, rl) == 0 && p[rl] == '/') return rl + 1;
    return 0;
}

int mt_table_rel(dc_buf *out, bool *inside, const mt_root *r, const char *p, size_t n,
                 dc_err *err)
{
    size_t skip = 0;
    *inside = false;
    if (n > 0 && p[0] == '/') {
        skip = under(&r->abs, p, n);
        if (!skip) skip = under(&r->real, p, n);
        if (!skip) return 0;
    }
    *inside = true;
    DC_TRY(dc_buf_append(out, p + skip, n - skip, err));
    return mt_buf_z(out, err);
}

int mt_rel_of_log_path(dc_buf *out, bool *inside, const mt_root *r, const char *uri_path,
                       dc_err *err)
{
    dc_buf tmp;
    dc_buf_init(&tmp, PATH_MAX * 16);
    *inside = false;
    int rc = dc_delta_path_to_storage(&tmp, uri_path, err);
    if (rc == DC_EUNSUPPORTED) {
        dc_err_clear(err);  /* another scheme: not under a local root */
        rc = 0;
    } else if (rc == 0) {
        rc = mt_table_rel(out, inside, r, (const char *)tmp.data, tmp.len, err);
    }
    dc_buf_dispose(&tmp);
    return rc;
}

int mt_rel_of_dv(dc_buf *out, bool *inside, const mt_root *r, const dc_delta_dv_desc *dv,
                 dc_err *err)
{
    *inside = false;
    if (dv->storage_type == 'i') return 0;
    dc_buf tmp;
    dc_buf_init(&tmp, PATH_MAX * 16);
    int rc = dc_delta_dv_file_path(&tmp, dv, err);
    if (rc == DC_EUNSUPPORTED) {
        dc_err_clear(err);
        rc = 0;
    } else if (rc == 0) {
        rc = mt_table_rel(out, inside, r, (const char *)tmp.data, tmp.len, err);
    }
    dc_buf_dispose(&tmp);
    return rc;
}

bool mt_rmdir_if_empty(dc_storage *s, const char *rel)
{
    dc_buf p;
    dc_buf_init(&p, PATH_MAX * 4);
    bool removed = false;
    if (*rel && dc_storage_local_path(s, rel, &p, NULL) == 0 && mt_buf_z(&p, NULL) == 0)
        removed = rmdir((const char *)p.data) == 0;
    dc_buf_dispose(&p);
    return removed;
}

int mt_check_usable(const dc_delta_snapshot *snap, const char *what, dc_err *err)
{
    if (!dc_delta_snapshot_broken(snap)) return 0;
    return dc_err_set(err, DC_EINVAL,
                      "%s: the snapshot of version %lld is unusable after a failed update "
                      "(its files may be incomplete); load it again", what,
                      (long long)dc_delta_snapshot_version(snap));
}
