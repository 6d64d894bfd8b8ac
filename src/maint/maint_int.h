/* maint: what only src/maint/ sees — a string set and the table root. */
#ifndef DC_MAINT_INT_H
#define DC_MAINT_INT_H

#include "maint.h"

/* A set of strings (open addressing, FNV-1a); keys are copied into the arena. */
typedef struct mt_strset {
    dc_arena arena;        /* owns the keys */
    size_t n;              /* keys in the set */
    size_t cap;            /* slots (a power of two, 0 before the first add) */
    const char **slots;    /* cap slots, NULL when empty; owned */
} mt_strset;

void mt_strset_init(mt_strset *s);
void mt_strset_dispose(mt_strset *s);
/* Adds key[0..n) (a no-op when present); *added (may be NULL) says which. */
int mt_strset_add(mt_strset *s, const char *key, size_t n, bool *added, dc_err *err);
bool mt_strset_has(const mt_strset *s, const char *key, size_t n);

/* DC_EINVAL when snap is broken (an update failed half way): writing a
 * checkpoint or manifest, or deleting files, from it could lose data. */
int mt_check_usable(const dc_delta_snapshot *snap, const char *what, dc_err *err);

/* NUL-terminates b's bytes (b->len unchanged). */
int mt_buf_z(dc_buf *b, dc_err *err);

/* A local table root as absolute filesystem paths, to tell whether an
 * absolute path in the log is inside the table. */
typedef struct mt_root {
    dc_buf abs;            /* the root made absolute (cwd prefixed), NUL-terminated */
    dc_buf real;           /* realpath() of it, NUL-terminated (len 0 when it failed) */
} mt_root;

/* DC_EUNSUPPORTED for storage without local paths. */
int mt_root_init(mt_root *r, dc_storage *s, dc_err *err);
void mt_root_dispose(mt_root *r);

/* The table-relative path of a storage path (dc_delta_path_to_storage's
 * result, `p` of length n): relative paths as they are, absolute ones inside
 * the root without the root prefix; *inside false (out untouched) for paths
 * outside the table. Appends to out and NUL-terminates (len excludes it). */
int mt_table_rel(dc_buf *out, bool *inside, const mt_root *r, const char *p, size_t n,
                 dc_err *err);

/* Table-relative path of an add/remove `path` (a URI reference) or of a
 * DV descriptor's file ('u'/'p'; inline DVs have none: *inside false).
 * Paths with a scheme other than file: are outside. */
int mt_rel_of_log_path(dc_buf *out, bool *inside, const mt_root *r, const char *uri_path,
                       dc_err *err);
int mt_rel_of_dv(dc_buf *out, bool *inside, const mt_root *r, const dc_delta_dv_desc *dv,
                 dc_err *err);

/* rmdir of a table-relative directory on local storage; errors (not empty,
 * gone, not local) are ignored: true when it was removed. */
bool mt_rmdir_if_empty(dc_storage *s, const char *rel);


#endif /* DC_MAINT_INT_H */
