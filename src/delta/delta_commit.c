/*
 * Transactions: collect actions against a snapshot, then commit them as the
 * next _delta_log/NNNNNNNNNNNNNNNNNNNN.json with put-if-absent. A lost race
 * reads the winning commits and applies the conflict rules
 * (delta_conflict.c); without a conflict the same actions are tried at the
 * next version, so concurrent appenders lose nothing.
 */
#include "delta_write_int.h"
#include "delta_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* A growable array of T in the tx (elements are plain structs). */
typedef struct vec {
    void *items;   /* dc_malloc'd */
    size_t n;      /* in use */
    size_t cap;    /* allocated */
} vec;

struct dc_delta_tx {
    dc_delta_snapshot *snap;   /* borrowed: what the tx read */
    dc_storage *s;             /* borrowed from snap */
    int64_t read_version;      /* snapshot version when the tx began */
    dc_arena arena;            /* owns every copied string and map */
    const char *operation;     /* commitInfo.operation (arena) */
    char txn_id[37];           /* commitInfo.txnId */
    vec adds;                  /* dc_delta_add */
    vec removes;               /* dc_delta_remove */
    vec txns;                  /* dc_delta_txn */
    vec domains;               /* dc_delta_domain */
    bool has_metadata;         /* metadata below is committed */
    dc_delta_metadata metadata;
    dc_buf params;             /* operationParameters members: "k":"v",... */
    dc_buf metrics;            /* caller's operationMetrics members */
    bool read_all;             /* dc_delta_tx_mark_read_all */
    dc_delta_dv_writer *dvw;   /* DVs of this tx, created on first delete */
    dc_delta_dv_cache dv_cache; /* the DV file the old DVs are read from (one GET for all) */
    int64_t rows_added;        /* numRecords of added files (new data only) */
    int64_t bytes_added;       /* sizes of added files */
    int64_t rows_deleted;      /* rows newly soft-deleted with DVs */
    int64_t dvs_added;         /* DVs on files that had none */
    int64_t dvs_updated;       /* DVs replacing an older DV */
    int64_t files_fully_deleted; /* files removed because every row went */
};

static int vec_push(vec *v, const void *item, size_t size, dc_err *err)
{
    if (v->n == v->cap) {
        const size_t cap = v->cap ? v->cap * 2 : 16;
        size_t bytes;
        if (cap > DC_DELTA_MAX_FILES || dc_mul_overflow_sz(cap, size, &bytes))
            return dc_err_set(err, DC_ELIMIT, "transaction: too many actions");
        void *p = dc_realloc(v->items, bytes);
        if (!p) return dc_err_set(err, DC_ENOMEM, "transaction: out of memory");
        v->items = p;
        v->cap = cap;
    }
    memcpy((uint8_t *)v->items + v->n * size, item, size);
    v->n++;
    return 0;
}

#define VEC_AT(v, T, i) (&((T *)(v).items)[i])

int dc_delta_tx_new(dc_delta_tx **out, dc_delta_snapshot *snap, const char *operation,
                    dc_err *err)
{
    *out = NULL;
    DC_TRY(dc_delta_protocol_check_write(dc_delta_snapshot_protocol(snap),
                                         dc_delta_snapshot_metadata(snap), err));
    dc_delta_tx *tx = dc_calloc(1, sizeof *tx);
    if (!tx) return dc_err_set(err, DC_ENOMEM, "transaction: out of memory");
    tx->snap = snap;
    tx->s = dc_delta_snapshot_storage(snap);
    tx->read_version = dc_delta_snapshot_version(snap);
    dc_arena_init(&tx->arena, DC_DELTA_MAX_COMMIT_BYTES);
    dc_buf_init(&tx->params, DC_JSON_MAX_DOC_BYTES);
    dc_buf_init(&tx->metrics, DC_JSON_MAX_DOC_BYTES);
    dc_delta_dv_cache_init(&tx->dv_cache);
    int rc = dc_delta_uuid_v4(tx->txn_id, err);
    if (rc == 0 && !(tx->operation = dc_delta_w_strdup(&tx->arena, operation ? operation
                                                       : "WRITE", err)))
        rc = DC_ENOMEM;
    if (rc < 0) {
        dc_delta_tx_free(tx);
        return rc;
    }
    *out = tx;
    return 0;
}

void dc_delta_tx_free(dc_delta_tx *tx)
{
    if (!tx) return;
    dc_free(tx->adds.items);
    dc_free(tx->removes.items);
    dc_free(tx->txns.items);
    dc_free(tx->domains.items);
    dc_buf_dispose(&tx->params);
    dc_buf_dispose(&tx->metrics);
    dc_delta_dv_writer_free(tx->dvw);
    dc_delta_dv_cache_dispose(&tx->dv_cache);
    dc_arena_dispose(&tx->arena);
    dc_free(tx);
}

/* ---------------------------------------------------------- actions */

int dc_delta_tx_add(dc_delta_tx *tx, const dc_delta_add *a, dc_err *err)
{
    if (!a->path || !*a->path) return dc_err_set(err, DC_EINVAL, "add: empty path");
    dc_delta_add copy;
    DC_TRY(dc_delta_w_copy_add(&copy, &tx->arena, a, err));
    DC_TRY(vec_push(&tx->adds, &copy, sizeof copy, err));
    if (a->data_change && !a->has_dv) {
        int64_t n = 0;
        dc_err tmp;
        if (dc_delta_stats_num_records(&n, a->stats, &tmp) == 0) tx->rows_added += n;
        tx->bytes_added += a->size;
    }
    return 0;
}

int dc_delta_tx_remove(dc_delta_tx *tx, const dc_delta_remove *r, dc_err *err)
{
    if (!r->path || !*r->path) return dc_err_set(err, DC_EINVAL, "remove: empty path");
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(tx->snap);
    if (r->data_change && dc_delta_w_prop_true(m, "delta.appendOnly"))
        return dc_err_set(err, DC_EINVAL,
                          "remove '%s': the table is append-only (delta.appendOnly=true)",
                          r->path);
    if (r->data_change && dc_delta_w_prop_true(m, "delta.enableChangeDataFeed"))
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "remove '%s': change data feed is enabled and deltacdc does not "
                          "write change data files", r->path);
    dc_delta_remove copy;
    DC_TRY(dc_delta_w_copy_remove(&copy, &tx->arena, r, err));
    return vec_push(&tx->removes, &copy, sizeof copy, err);
}

int dc_delta_tx_remove_file(dc_delta_tx *tx, const dc_delta_add *live, bool data_change,
                            dc_err *err)
{
    dc_delta_remove r;
    memset(&r, 0, sizeof r);
    r.path = live->path;
    r.has_deletion_timestamp = true;
    r.deletion_timestamp = dc_delta_now_ms();
    r.data_change = data_change;
    r.extended_file_metadata = true;
    r.partition_values = live->partition_values;
    r.has_size = true;
    r.size = live->size;
    r.stats = live->stats;
    r.tags = live->tags;
    r.has_dv = live->has_dv;
    r.dv = live->dv;
    r.has_base_row_id = live->has_base_row_id;
    r.base_row_id = live->base_row_id;
    r.has_default_row_commit_version = live->has_default_row_commit_version;
    r.default_row_commit_version = live->default_row_commit_version;
    return dc_delta_tx_remove(tx, &r, err);
}

int dc_delta_tx_set_txn(dc_delta_tx *tx, const char *app_id, int64_t version, dc_err *err)
{
    if (!app_id || !*app_id) return dc_err_set(err, DC_EINVAL, "txn: empty appId");
    for (size_t i = 0; i < tx->txns.n; i++) {
        dc_delta_txn *t = VEC_AT(tx->txns, dc_delta_txn, i);
        if (strcmp(t->app_id, app_id) == 0) {
            t->version = version;
            return 0;
        }
    }
    dc_delta_txn t = {NULL, version, true, dc_delta_now_ms()};
    if (!(t.app_id = dc_delta_w_strdup(&tx->arena, app_id, err))) return DC_ENOMEM;
    return vec_push(&tx->txns, &t, sizeof t, err);
}

int dc_delta_tx_set_domain(dc_delta_tx *tx, const char *domain, const char *configuration,
                           bool removed, dc_err *err)
{
    if (!domain || !*domain) return dc_err_set(err, DC_EINVAL, "domainMetadata: empty domain");
    if (strncmp(domain, "delta.", 6) == 0)
        return dc_err_set(err, DC_EINVAL,
                          "domainMetadata: '%s' is a system-controlled domain", domain);
    if (!dc_delta_protocol_has_writer_feature(dc_delta_snapshot_protocol(tx->snap),
                                              "domainMetadata"))
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "domainMetadata: the table does not support the domainMetadata "
                          "writer feature");
    dc_delta_domain d = {NULL, NULL, removed};
    if (!(d.domain = dc_delta_w_strdup(&tx->arena, domain, err))) return DC_ENOMEM;
    if (!(d.configuration = dc_delta_w_strdup(&tx->arena, configuration ? configuration : "",
                                              err)))
        return DC_ENOMEM;
    return vec_push(&tx->domains, &d, sizeof d, err);
}

static int put_member(dc_buf *b, const char *key, const char *value, bool quote, dc_err *err)
{
    if (b->len) DC_TRY(dc_buf_putc(b, ',', err));
    DC_TRY(dc_json_put_str(b, key, strlen(key), err));
    DC_TRY(dc_buf_putc(b, ':', err));
    if (!value) return dc_buf_puts(b, "null", err);
    if (quote) return dc_json_put_str(b, value, strlen(value), err);
    return dc_buf_puts(b, value, err);
}

int dc_delta_tx_param(dc_delta_tx *tx, const char *key, const char *value, dc_err *err)
{
    return put_member(&tx->params, key, value, true, err);
}

int dc_delta_tx_metric(dc_delta_tx *tx, const char *key, int64_t value, dc_err *err)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, value);
    return put_member(&tx->metrics, key, v, true, err);
}

void dc_delta_tx_mark_read_all(dc_delta_tx *tx)
{
    tx->read_all = true;
}

/* --------------------------------------------------- deletion vectors */

/* The remove of `live` and the add with the new DV (or nothing more when
 * every row is gone). */
static int replace_dv(dc_delta_tx *tx, const dc_delta_add *live, const dc_delta_dv *dv,
                      uint64_t old_card, int64_t num_records, dc_err *err)
{
    const uint64_t card = dc_delta_dv_cardinality(dv);
    DC_TRY(dc_delta_tx_remove_file(tx, live, true, err));
    tx->rows_deleted += (int64_t)(card - old_card);
    if (card >= (uint64_t)num_records) {
        tx->files_fully_deleted++;
        return 0;
    }
    if (!tx->dvw) DC_TRY(dc_delta_dv_writer_new(&tx->dvw, tx->s, err));
    dc_delta_add a = *live;
    a.data_change = true;
    a.has_dv = true;
    DC_TRY(dc_delta_dv_writer_add(&a.dv, &tx->arena, tx->dvw, dv, err));
    DC_TRY(dc_delta_w_stats_wide(&a.stats, &tx->arena, live->stats, err));
    if (live->has_dv) tx->dvs_updated++;
    else tx->dvs_added++;
    return dc_delta_tx_add(tx, &a, err);
}

/* Deletion vectors need the table property and the writer feature. */
static int dv_enabled(const dc_delta_tx *tx, const char *path, dc_err *err)
{
    const dc_delta_metadata *m = dc_delta_snapshot_metadata(tx->snap);
    if (!dc_delta_w_prop_true(m, "delta.enableDeletionVectors") ||
        !dc_delta_protocol_has_writer_feature(dc_delta_snapshot_protocol(tx->snap),
                                              "deletionVectors"))
        return dc_err_set(err, DC_EUNSUPPORTED,
                          "delete rows of '%s': deletion vectors are not enabled on the table",
                          path);
    return 0;
}

bool dc_delta_tx_can_delete_rows(const dc_delta_tx *tx)
{
    dc_err e;
    return dv_enabled(tx, "", &e) == 0;
}

int dc_delta_tx_add_with_dv(dc_delta_tx *tx, const dc_delta_add *a, const dc_delta_dv *dv,
                            dc_err *err)
{
    DC_TRY(dv_enabled(tx, a->path, err));
    DC_ASSERT(!a->has_dv);
    if (!tx->dvw) DC_TRY(dc_delta_dv_writer_new(&tx->dvw, tx->s, err));
    dc_delta_add k = *a;
    k.has_dv = true;
    DC_TRY(dc_delta_dv_writer_add(&k.dv, &tx->arena, tx->dvw, dv, err));
    DC_TRY(dc_delta_w_stats_wide(&k.stats, &tx->arena, a->stats, err));
    tx->dvs_added++;
    return dc_delta_tx_add(tx, &k, err);
}

int dc_delta_tx_delete_rows(dc_delta_tx *tx, const dc_delta_add *live, const uint64_t *rows,
                            size_t n, dc_err *err)
{
    int rc = 0;
    dc_delta_dv *dv = NULL;
    int64_t num_records = 0;
    DC_TRY(dv_enabled(tx, live->path, err));
    if ((rc = dc_delta_stats_num_records(&num_records, live->stats, err)) < 0) {
        if (rc == DC_ENOTFOUND)
            rc = dc_err_set(err, DC_EINVAL, "delete rows of '%s': its stats have no numRecords",
                            live->path);
        return rc;
    }
    rc = live->has_dv ? dc_delta_dv_load_cached(&dv, tx->s, &live->dv, &tx->dv_cache, err)
                      : dc_delta_dv_new(&dv, err);
    if (rc < 0) goto out;
    const uint64_t old_card = dc_delta_dv_cardinality(dv);
    for (size_t i = 0; i < n; i++) {
        if (rows[i] >= (uint64_t)num_records) {
            rc = dc_err_set(err, DC_EINVAL,
                            "delete rows of '%s': row %" PRIu64 " is past its %" PRId64 " rows",
                            live->path, rows[i], num_records);
            goto out;
        }
        if ((rc = dc_delta_dv_add(dv, rows[i], err)) < 0) goto out;
    }
    if (dc_delta_dv_cardinality(dv) != old_card)
        rc = replace_dv(tx, live, dv, old_card, num_records, err);
out:
    dc_delta_dv_free(dv);
    return rc;
}

/* ----------------------------------------------------------- commit */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A path at most once among the adds and once among the removes (PROTOCOL.md:
 * a valid commit has one file action of a type per path). Sorted, so large
 * transactions (OPTIMIZE) stay O(n log n). `paths` has room for n. */
static int check_unique(const char **paths, size_t n, const char *what, dc_err *err)
{
    qsort(paths, n, sizeof *paths, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(paths[i - 1], paths[i]) == 0)
            return dc_err_set(err, DC_EINVAL, "%s: path '%s' appears twice in one commit", what,
                              paths[i]);
    return 0;
}

static int check_actions(const dc_delta_tx *tx, dc_err *err)
{
    const size_t n = tx->adds.n > tx->removes.n ? tx->adds.n : tx->removes.n;
    const char **p = dc_calloc(n ? n : 1, sizeof *p);
    if (!p) return dc_err_set(err, DC_ENOMEM, "transaction: out of memory");
    for (size_t i = 0; i < tx->adds.n; i++) p[i] = VEC_AT(tx->adds, dc_delta_add, i)->path;
    int rc = check_unique(p, tx->adds.n, "add", err);
    for (size_t i = 0; rc == 0 && i < tx->removes.n; i++)
        p[i] = VEC_AT(tx->removes, dc_delta_remove, i)->path;
    if (rc == 0) rc = check_unique(p, tx->removes.n, "remove", err);
    dc_free(p);
    return rc;
}

static int default_metrics(dc_delta_tx *tx, dc_buf *b, dc_err *err)
{
    char v[24];
#define METRIC(k, x)                                              \
    do {                                                          \
        snprintf(v, sizeof v, "%" PRId64, (int64_t)(x));           \
        DC_TRY(put_member(b, (k), v, true, err));                 \
    } while (0)
    if (tx->metrics.len) return dc_buf_append(b, tx->metrics.data, tx->metrics.len, err);
    if (strcmp(tx->operation, "DELETE") == 0) {
        METRIC("numRemovedFiles", tx->removes.n);
        METRIC("numAddedFiles", tx->adds.n);
        METRIC("numDeletedRows", tx->rows_deleted);
        METRIC("numDeletionVectorsAdded", tx->dvs_added);
        METRIC("numDeletionVectorsRemoved", tx->dvs_updated);
        METRIC("numDeletionVectorsUpdated", tx->dvs_updated);
        METRIC("numAddedChangeFiles", 0);
    } else if (tx->adds.n || tx->removes.n) {
        METRIC("numFiles", tx->adds.n);
        METRIC("numOutputRows", tx->rows_added);
        METRIC("numOutputBytes", tx->bytes_added);
    }
#undef METRIC
    return 0;
}

static bool tx_blind_append(const dc_delta_tx *tx)
{
    if (tx->read_all || tx->removes.n) return false;
    for (size_t i = 0; i < tx->adds.n; i++)
        if (!VEC_AT(tx->adds, dc_delta_add, i)->data_change) return false;
    return true;
}

static int put_commit_info(dc_delta_tx *tx, dc_buf *b, dc_err *err)
{
    dc_buf m;
    dc_buf_init(&m, DC_JSON_MAX_DOC_BYTES);
    int rc = default_metrics(tx, &m, err);
    if (rc == 0) rc = dc_buf_appendf(b, err,
                                     "{\"commitInfo\":{\"timestamp\":%" PRId64
                                     ",\"operation\":", dc_delta_now_ms());
    if (rc == 0) rc = dc_json_put_str(b, tx->operation, strlen(tx->operation), err);
    if (rc == 0) rc = dc_buf_puts(b, ",\"operationParameters\":{", err);
    if (rc == 0 && tx->params.len) rc = dc_buf_append(b, tx->params.data, tx->params.len, err);
    if (rc == 0) rc = dc_buf_appendf(b, err,
                                     "},\"readVersion\":%" PRId64 ",\"isolationLevel\":"
                                     "\"WriteSerializable\",\"isBlindAppend\":%s,"
                                     "\"operationMetrics\":{",
                                     tx->read_version, tx_blind_append(tx) ? "true" : "false");
    if (rc == 0 && m.len) rc = dc_buf_append(b, m.data, m.len, err);
    if (rc == 0) rc = dc_buf_appendf(b, err, "},\"engineInfo\":\"%s\",\"txnId\":\"%s\"}}\n",
                                     DC_DELTA_ENGINE_INFO, tx->txn_id);
    dc_buf_dispose(&m);
    return rc;
}

/* Called per action of a tx. */
typedef int (*tx_action_fn)(void *ctx, const dc_delta_action *a, dc_err *err);

/* The tx's actions after commitInfo, in the commit file's order: metaData,
 * txn, domainMetadata, remove, add (the file and a snapshot that applies
 * the tx without reading it back see the same sequence). */
static int each_action(const dc_delta_tx *tx, tx_action_fn fn, void *ctx, dc_err *err)
{
    dc_delta_action a;
    if (tx->has_metadata) {
        a.type = DC_DELTA_ACTION_METADATA;
        a.u.metadata = tx->metadata;
        DC_TRY(fn(ctx, &a, err));
    }
    for (size_t i = 0; i < tx->txns.n; i++) {
        a.type = DC_DELTA_ACTION_TXN;
        a.u.txn = *VEC_AT(tx->txns, dc_delta_txn, i);
        DC_TRY(fn(ctx, &a, err));
    }
    for (size_t i = 0; i < tx->domains.n; i++) {
        a.type = DC_DELTA_ACTION_DOMAIN_METADATA;
        a.u.domain = *VEC_AT(tx->domains, dc_delta_domain, i);
        DC_TRY(fn(ctx, &a, err));
    }
    for (size_t i = 0; i < tx->removes.n; i++) {
        a.type = DC_DELTA_ACTION_REMOVE;
        a.u.remove = *VEC_AT(tx->removes, dc_delta_remove, i);
        DC_TRY(fn(ctx, &a, err));
    }
    for (size_t i = 0; i < tx->adds.n; i++) {
        a.type = DC_DELTA_ACTION_ADD;
        a.u.add = *VEC_AT(tx->adds, dc_delta_add, i);
        DC_TRY(fn(ctx, &a, err));
    }
    return 0;
}

static int put_line(void *ctx, const dc_delta_action *a, dc_err *err)
{
    dc_buf *b = ctx;
    DC_TRY(dc_delta_w_action_json(b, a, err));
    return dc_buf_putc(b, '\n', err);
}

/* The commit file: commitInfo first (in-commit timestamps want it so),
 * then the other actions. */
static int build_body(dc_delta_tx *tx, dc_buf *b, dc_err *err)
{
    DC_TRY(put_commit_info(tx, b, err));
    return each_action(tx, put_line, b, err);
}

/* The tx as the conflict checker sees it; the arrays point into tx. */
static int tx_info(dc_delta_tx_info *info, const char ***bufs, dc_delta_tx *tx, dc_err *err)
{
    memset(info, 0, sizeof *info);
    const size_t n = tx->removes.n + tx->txns.n + tx->domains.n + 1;
    const char **p = dc_calloc(n, sizeof *p);
    if (!p) return dc_err_set(err, DC_ENOMEM, "transaction: out of memory");
    *bufs = p;
    info->read_all = tx->read_all;
    info->blind_append = tx_blind_append(tx);
    info->changes_metadata = tx->has_metadata;
    info->removed = p;
    for (size_t i = 0; i < tx->removes.n; i++)
        p[info->n_removed++] = VEC_AT(tx->removes, dc_delta_remove, i)->path;
    info->app_ids = p + info->n_removed;
    for (size_t i = 0; i < tx->txns.n; i++)
        ((const char **)info->app_ids)[info->n_app_ids++] = VEC_AT(tx->txns, dc_delta_txn, i)->app_id;
    info->domains = info->app_ids + info->n_app_ids;
    for (size_t i = 0; i < tx->domains.n; i++)
        ((const char **)info->domains)[info->n_domains++] =
            VEC_AT(tx->domains, dc_delta_domain, i)->domain;
    return 0;
}

/* After losing `attempt`: checks every winner from it on; *next gets the
 * first version nobody has committed yet. */
static int check_winners(int64_t *next, dc_delta_tx *tx, int64_t attempt,
                         const dc_delta_tx_info *info, dc_err *err)
{
    for (int64_t v = attempt;; v++) {
        dc_delta_commit *c = NULL;
        int rc = dc_delta_commit_read(&c, tx->s, v, err);
        if (rc == DC_ENOTFOUND) {
            dc_err_clear(err);
            *next = v;
            return 0;
        }
        if (rc < 0) return rc;
        DC_LOG(DC_LOG_DEBUG, "delta", "commit: checking winner %" PRId64, v);
        rc = dc_delta_conflict_check(info, c, err);
        dc_delta_commit_free(c);
        if (rc < 0) return rc;
    }
}

static int commit_loop(int64_t *version_out, dc_delta_tx *tx, const dc_buf *body,
                       const dc_delta_tx_info *info, dc_err *err)
{
    int64_t attempt = tx->read_version + 1;
    for (int tries = 0; tries < DC_DELTA_MAX_COMMIT_ATTEMPTS; tries++) {
        int rc = dc_delta_commit_put(tx->s, attempt, body->data, body->len, err);
        if (rc == 0) {
            *version_out = attempt;
            return 0;
        }
        if (rc != DC_EEXISTS) return rc;
        dc_err_clear(err);
        DC_TRY(check_winners(&attempt, tx, attempt, info, err));
    }
    return dc_err_set_retriable(err, DC_ECONFLICT,
                                "commit: gave up after %d attempts lost to other writers",
                                DC_DELTA_MAX_COMMIT_ATTEMPTS);
}

/* Deep-copies one action of the tx into the commit c (room is reserved). */
static int copy_action(void *ctx, const dc_delta_action *a, dc_err *err)
{
    dc_delta_commit *c = ctx;
    dc_delta_action b = *a;
    dc_arena *ar = &c->arena;
    switch (a->type) {
    case DC_DELTA_ACTION_ADD: DC_TRY(dc_delta_w_copy_add(&b.u.add, ar, &a->u.add, err)); break;
    case DC_DELTA_ACTION_REMOVE:
        DC_TRY(dc_delta_w_copy_remove(&b.u.remove, ar, &a->u.remove, err));
        break;
    case DC_DELTA_ACTION_METADATA:
        DC_TRY(dc_delta_copy_metadata(&b.u.metadata, &a->u.metadata, ar, err));
        break;
    case DC_DELTA_ACTION_TXN:
        if (!(b.u.txn.app_id = dc_delta_w_strdup(ar, a->u.txn.app_id, err))) return DC_ENOMEM;
        break;
    case DC_DELTA_ACTION_DOMAIN_METADATA:
        if (!(b.u.domain.domain = dc_delta_w_strdup(ar, a->u.domain.domain, err)) ||
            !(b.u.domain.configuration = dc_delta_w_strdup(ar, a->u.domain.configuration, err)))
            return DC_ENOMEM;
        break;
    default: DC_ASSERT(!"an action type a transaction does not write");
    }
    c->actions[c->n_actions++] = b;
    return 0;
}

/* Leaves the committed actions parsed for a follower of the table in this
 * process (delta_ccache.c). Best effort: a failure only means the follower
 * reads the file. */
static void keep_parsed(dc_delta_tx *tx, int64_t version)
{
    if (!dc_delta_ccache_on()) return;
    const size_t n = tx->adds.n + tx->removes.n + tx->txns.n + tx->domains.n + 1;
    dc_delta_commit *c = dc_calloc(1, sizeof *c);
    if (!c) return;
    dc_arena_init(&c->arena, DC_DELTA_MAX_COMMIT_BYTES);
    c->version = version;
    c->actions = dc_malloc(n * sizeof *c->actions);
    dc_err e;
    if (!c->actions || each_action(tx, copy_action, c, &e) < 0) {
        dc_delta_commit_free(c);
        return;
    }
    DC_ASSERT(c->n_actions <= n);
    dc_delta_ccache_put(tx->s->root, c);
}

int dc_delta_tx_commit(int64_t *version_out, dc_delta_tx *tx, dc_err *err)
{
    int rc = 0;
    const char **bufs = NULL;
    dc_buf body;
    dc_buf_init(&body, DC_DELTA_MAX_COMMIT_BYTES);
    dc_delta_tx_info info;
    if ((rc = check_actions(tx, err)) < 0) goto out;
    if (tx->dvw && (rc = dc_delta_dv_writer_finish(tx->dvw, err)) < 0) goto out;
    if ((rc = build_body(tx, &body, err)) < 0) goto out;
    if ((rc = tx_info(&info, &bufs, tx, err)) < 0) goto out;
    rc = commit_loop(version_out, tx, &body, &info, err);
    if (rc == 0) keep_parsed(tx, *version_out);
out:
    if (rc < 0) dc_err_prefix(err, "commit to %s", tx->s->root);
    dc_free(bufs);
    dc_buf_dispose(&body);
    return rc;
}

static int apply_one(void *ctx, const dc_delta_action *a, dc_err *err)
{
    return dc_delta_snap_apply(ctx, a, err);
}

int dc_delta_tx_apply_to_snapshot(dc_delta_tx *tx, int64_t version, dc_err *err)
{
    dc_delta_snapshot *snap = tx->snap;
    DC_ASSERT(snap->version == tx->read_version && version > snap->version);
    if (snap->broken || version != snap->version + 1)
        return dc_delta_snapshot_update(snap, version, err); /* others committed between */
    int rc = each_action(tx, apply_one, snap, err);
    if (rc == 0) {
        snap->version = version;
        rc = dc_delta_snap_finish(snap, err);
    }
    if (rc < 0) snap->broken = true; /* never half-updated and looking whole */
    return rc;
}

int dc_delta_w_tx_set_metadata(dc_delta_tx *tx, const dc_delta_metadata *m, dc_err *err)
{
    dc_delta_metadata c = *m;
    dc_arena *a = &tx->arena;
#define CP(f) do { if (m->f && !(c.f = dc_delta_w_strdup(a, m->f, err))) return DC_ENOMEM; } while (0)
    CP(id);
    CP(name);
    CP(description);
    CP(format_provider);
    CP(schema_string);
#undef CP
    DC_TRY(dc_delta_w_copy_map(&c.format_options, a, &m->format_options, err));
    DC_TRY(dc_delta_w_copy_map(&c.configuration, a, &m->configuration, err));
    if (m->n_partition_columns) {
        c.partition_columns = dc_arena_alloc(a, m->n_partition_columns * sizeof(char *), err);
        if (!c.partition_columns) return DC_ENOMEM;
        for (uint32_t i = 0; i < m->n_partition_columns; i++)
            if (!(c.partition_columns[i] = dc_delta_w_strdup(a, m->partition_columns[i], err)))
                return DC_ENOMEM;
    }
    tx->metadata = c;
    tx->has_metadata = true;
    return 0;
}

dc_delta_snapshot *dc_delta_w_tx_snapshot(const dc_delta_tx *tx)
{
    return tx->snap;
}
