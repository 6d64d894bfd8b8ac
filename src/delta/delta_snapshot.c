/*
 * delta: reconciliation (PROTOCOL.md, Action Reconciliation) — the file
 * table keyed by (path, DV unique id), latest protocol/metaData, txn per
 * appId, domain metadata per domain — and the snapshot's getters.
 */
#include "delta_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------- packing */

/* Copies an action's strings into one allocation: measure, then copy. */
typedef struct packer {
    char *p;       /* next free byte; NULL while measuring */
    size_t used;   /* bytes measured or used */
} packer;

static const char *pack_str(packer *k, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    const char *r = NULL;
    if (k->p) {
        memcpy(k->p + k->used, s, n);
        r = k->p + k->used;
    }
    k->used += n;
    return r;
}

static void pack_align(packer *k) { k->used = (k->used + 7) & ~(size_t)7; }

static void pack_map(packer *k, dc_delta_map *dst, const dc_delta_map *src)
{
    pack_align(k);
    dc_delta_kv *items = k->p ? (dc_delta_kv *)(k->p + k->used) : NULL;
    k->used += (size_t)src->n * sizeof(dc_delta_kv);
    for (uint32_t i = 0; i < src->n; i++) {
        const char *key = pack_str(k, src->items[i].key);
        const char *val = pack_str(k, src->items[i].value);
        if (items) {
            items[i].key = key;
            items[i].value = val;
        }
    }
    if (dst) {
        dst->n = src->n;
        dst->items = src->n ? items : NULL;
    }
}

/* Packs the strings of `a` (already copied by value into e->a) into k. */
static void pack_file(packer *k, file_entry *e, const dc_delta_action *a, const char *key,
                      size_t key_len)
{
    file_entry *t = k->p ? e : NULL;
    const char *kk = NULL;
    if (k->p) {
        memcpy(k->p + k->used, key, key_len);
        k->p[k->used + key_len] = '\0';
        kk = k->p + k->used;
    }
    k->used += key_len + 1;
    if (t) t->key = kk;
    if (a->type == DC_DELTA_ACTION_ADD) {
        const dc_delta_add *s = &a->u.add;
        dc_delta_add *d = t ? &t->a.add : NULL;
        const char *path = pack_str(k, s->path), *stats = pack_str(k, s->stats);
        const char *dvp = s->has_dv ? pack_str(k, s->dv.path_or_inline) : NULL;
        const char *cp = pack_str(k, s->clustering_provider);
        pack_map(k, d ? &d->partition_values : NULL, &s->partition_values);
        pack_map(k, d ? &d->tags : NULL, &s->tags);
        if (d) d->path = path, d->stats = stats, d->dv.path_or_inline = dvp, d->clustering_provider = cp;
    } else {
        const dc_delta_remove *s = &a->u.remove;
        dc_delta_remove *d = t ? &t->a.remove : NULL;
        const char *path = pack_str(k, s->path);
        const char *dvp = s->has_dv ? pack_str(k, s->dv.path_or_inline) : NULL;
        pack_map(k, d ? &d->partition_values : NULL, &s->partition_values);
        /* Tombstones keep no stats or tags (as checkpoints do). */
        if (d) d->path = path, d->dv.path_or_inline = dvp, d->stats = NULL, d->tags.n = 0,
               d->tags.items = NULL;
    }
}

static int make_entry(file_entry **out, const dc_delta_action *a, const char *key,
                      size_t key_len, uint64_t hash, uint64_t seq, dc_err *err)
{
    packer k = {NULL, sizeof(file_entry)};
    pack_file(&k, NULL, a, key, key_len);
    file_entry *e = dc_malloc(k.used);
    if (!e) return dc_err_set(err, DC_ENOMEM, "out of memory keeping a file entry");
    memset(e, 0, sizeof *e);
    e->hash = hash;
    e->seq = seq;
    e->key_len = key_len;
    e->is_add = a->type == DC_DELTA_ACTION_ADD;
    if (e->is_add) e->a.add = a->u.add;
    else e->a.remove = a->u.remove;
    k.p = (char *)e;
    k.used = sizeof(file_entry);
    pack_file(&k, e, a, key, key_len);
    *out = e;
    return 0;
}

/* ---------------------------------------------------------- file table */

void dc_delta_ft_init(file_table *t) { memset(t, 0, sizeof *t); }

void dc_delta_ft_dispose(file_table *t)
{
    for (size_t i = 0; i < t->cap; i++) dc_free(t->slots[i].e);
    dc_free(t->slots);
    memset(t, 0, sizeof *t);
}

static int ft_grow(file_table *t, dc_err *err)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    ft_slot *slots = dc_calloc(cap, sizeof *slots);
    if (!slots) return dc_err_set(err, DC_ENOMEM, "out of memory growing the file table");
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].e) continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (slots[j].e) j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    dc_free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

/* Slot of key: the entry's, or the empty one where it would go. */
static size_t ft_find(const file_table *t, const char *key, size_t key_len, uint64_t hash)
{
    size_t j = hash & (t->cap - 1);
    for (;;) {
        const ft_slot *sl = &t->slots[j];
        if (!sl->e || (sl->hash == hash && sl->e->key_len == key_len &&
                       memcmp(sl->e->key, key, key_len) == 0))
            return j;
        j = (j + 1) & (t->cap - 1);
    }
}

static void list_unlink(file_table *t, file_entry *e)
{
    file_list *l = e->is_add ? &t->adds : &t->removes;
    if (!e->is_add) t->removes_moved = true; /* the tombstone view may point at it */
    if (e->prev) e->prev->next = e->next;
    else l->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else l->tail = e->prev;
}

static void list_append(file_table *t, file_entry *e)
{
    file_list *l = e->is_add ? &t->adds : &t->removes;
    e->prev = l->tail;
    e->next = NULL;
    if (l->tail) l->tail->next = e;
    else l->head = e;
    l->tail = e;
}

/* path, or path "\n" DV unique id: the logical file's key, written into
 * `buf` when it fits (the common case), else into a fresh allocation. */
static char *make_key(char *buf, size_t cap, size_t *len_out, const dc_delta_action *a)
{
    const bool add = a->type == DC_DELTA_ACTION_ADD;
    const char *path = add ? a->u.add.path : a->u.remove.path;
    const dc_delta_dv_desc *dv = (add ? a->u.add.has_dv : a->u.remove.has_dv)
                                     ? (add ? &a->u.add.dv : &a->u.remove.dv) : NULL;
    const size_t pl = strlen(path), dl = dv ? strlen(dv->path_or_inline) : 0;
    const size_t need = pl + (dv ? 2 + dl + 16 : 0) + 1;  /* "\n", type, "@offset" */
    char *k = need <= cap ? buf : dc_malloc(need);
    if (!k) return NULL;
    size_t n = pl;
    memcpy(k, path, pl);
    if (dv) {
        k[n++] = '\n';
        k[n++] = dv->storage_type;
        memcpy(k + n, dv->path_or_inline, dl);
        n += dl;
        if (dv->has_offset) n += (size_t)snprintf(k + n, need - n, "@%d", (int)dv->offset);
    }
    k[n] = '\0';
    *len_out = n;
    return k;
}

int dc_delta_ft_apply(file_table *t, const dc_delta_action *a, uint64_t seq, dc_err *err)
{
    DC_ASSERT(a->type == DC_DELTA_ACTION_ADD || a->type == DC_DELTA_ACTION_REMOVE);
    char stack[512];
    size_t key_len = 0;
    char *key = make_key(stack, sizeof stack, &key_len, a);
    int rc = key ? 0 : dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc == 0 && t->n + 1 > t->cap / 2) {
        if (t->n >= DC_DELTA_MAX_FILES)
            rc = dc_err_set(err, DC_ELIMIT, "delta: more than %zu logical files", DC_DELTA_MAX_FILES);
        else
            rc = ft_grow(t, err);
    }
    file_entry *e = NULL;
    const uint64_t h = rc == 0 ? dc_delta_hash(key, key_len) : 0;
    if (rc == 0) rc = make_entry(&e, a, key, key_len, h, seq, err);
    if (rc == 0) {
        size_t j = ft_find(t, key, key_len, h);
        file_entry *old = t->slots[j].e;
        if (old) {
            t->n_adds -= old->is_add;
            list_unlink(t, old);
            dc_free(old);
        } else {
            t->n++;
        }
        t->n_adds += e->is_add;
        t->slots[j].hash = h;
        t->slots[j].e = e;
        list_append(t, e);
    }
    if (key != stack) dc_free(key);
    return rc;
}

/* ------------------------------------------------------------ snapshot */

static const char *arena_str(dc_arena *a, const char *s, dc_err *err, int *rc)
{
    if (!s || *rc) return NULL;
    const char *r = dc_arena_strndup(a, s, strlen(s), err);
    if (!r) *rc = err ? err->code : DC_ENOMEM;
    return r;
}

static int copy_strs(const char ***dst, const char *const *src, uint32_t n, dc_arena *a,
                     dc_err *err)
{
    *dst = NULL;
    if (n == 0) return 0;
    const char **v = dc_arena_alloc(a, (size_t)n * sizeof *v, err);
    if (!v) return err ? err->code : DC_ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; i < n; i++) v[i] = arena_str(a, src[i], err, &rc);
    *dst = v;
    return rc;
}

static int copy_map(dc_delta_map *dst, const dc_delta_map *src, dc_arena *a, dc_err *err)
{
    dst->n = 0;
    dst->items = NULL;
    if (src->n == 0) return 0;
    dc_delta_kv *kv = dc_arena_alloc(a, (size_t)src->n * sizeof *kv, err);
    if (!kv) return err ? err->code : DC_ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; i < src->n; i++) {
        kv[i].key = arena_str(a, src->items[i].key, err, &rc);
        kv[i].value = arena_str(a, src->items[i].value, err, &rc);
    }
    dst->n = src->n;
    dst->items = kv;
    return rc;
}

int dc_delta_copy_protocol(dc_delta_protocol *dst, const dc_delta_protocol *src, dc_arena *a,
                           dc_err *err)
{
    *dst = *src;
    DC_TRY(copy_strs(&dst->reader_features, src->reader_features, src->n_reader_features, a, err));
    return copy_strs(&dst->writer_features, src->writer_features, src->n_writer_features, a, err);
}

int dc_delta_copy_metadata(dc_delta_metadata *dst, const dc_delta_metadata *src, dc_arena *a,
                           dc_err *err)
{
    int rc = 0;
    *dst = *src;
    dst->id = arena_str(a, src->id, err, &rc);
    dst->name = arena_str(a, src->name, err, &rc);
    dst->description = arena_str(a, src->description, err, &rc);
    dst->format_provider = arena_str(a, src->format_provider, err, &rc);
    dst->schema_string = arena_str(a, src->schema_string, err, &rc);
    if (rc == 0) rc = copy_map(&dst->format_options, &src->format_options, a, err);
    if (rc == 0)
        rc = copy_strs(&dst->partition_columns, src->partition_columns, src->n_partition_columns,
                       a, err);
    if (rc == 0) rc = copy_map(&dst->configuration, &src->configuration, a, err);
    return rc;
}

static int apply_txn(dc_delta_snapshot *snap, const dc_delta_txn *t, dc_err *err)
{
    for (size_t i = 0; i < snap->n_txns; i++) {
        if (strcmp(snap->txns[i].app_id, t->app_id) == 0) {
            snap->txns[i].version = t->version;
            snap->txns[i].has_last_updated = t->has_last_updated;
            snap->txns[i].last_updated = t->last_updated;
            return 0;
        }
    }
    if (snap->n_txns == snap->cap_txns) {
        size_t cap = snap->cap_txns ? snap->cap_txns * 2 : 8;
        dc_delta_txn *v = dc_realloc(snap->txns, cap * sizeof *v);
        if (!v) return dc_err_set(err, DC_ENOMEM, "out of memory");
        snap->txns = v;
        snap->cap_txns = cap;
    }
    int rc = 0;
    dc_delta_txn *d = &snap->txns[snap->n_txns];
    *d = *t;
    d->app_id = arena_str(&snap->arena, t->app_id, err, &rc);
    if (rc == 0) snap->n_txns++;
    return rc;
}

static int apply_domain(dc_delta_snapshot *snap, const dc_delta_domain *dm, dc_err *err)
{
    int rc = 0;
    const char *conf = arena_str(&snap->arena, dm->configuration, err, &rc);
    if (rc) return rc;
    for (size_t i = 0; i < snap->n_domains; i++) {
        if (strcmp(snap->domains[i].domain, dm->domain) == 0) {
            snap->domains[i].configuration = conf;
            snap->domains[i].removed = dm->removed;
            return 0;
        }
    }
    if (snap->n_domains == snap->cap_domains) {
        size_t cap = snap->cap_domains ? snap->cap_domains * 2 : 8;
        dc_delta_domain *v = dc_realloc(snap->domains, cap * sizeof *v);
        if (!v) return dc_err_set(err, DC_ENOMEM, "out of memory");
        snap->domains = v;
        snap->cap_domains = cap;
    }
    dc_delta_domain *d = &snap->domains[snap->n_domains];
    d->domain = arena_str(&snap->arena, dm->domain, err, &rc);
    d->configuration = conf;
    d->removed = dm->removed;
    if (rc == 0) snap->n_domains++;
    return rc;
}

int dc_delta_snap_apply(dc_delta_snapshot *snap, const dc_delta_action *a, dc_err *err)
{
    switch (a->type) {
    case DC_DELTA_ACTION_ADD:
    case DC_DELTA_ACTION_REMOVE: return dc_delta_ft_apply(&snap->files, a, snap->seq++, err);
    case DC_DELTA_ACTION_PROTOCOL:
        snap->has_protocol = true;
        return dc_delta_copy_protocol(&snap->protocol, &a->u.protocol, &snap->arena, err);
    case DC_DELTA_ACTION_METADATA:
        snap->has_metadata = true;
        dc_delta_schema_free(snap->schema);  /* a new schema invalidates the cached one */
        snap->schema = NULL;
        return dc_delta_copy_metadata(&snap->metadata, &a->u.metadata, &snap->arena, err);
    case DC_DELTA_ACTION_TXN: return apply_txn(snap, &a->u.txn, err);
    case DC_DELTA_ACTION_DOMAIN_METADATA: return apply_domain(snap, &a->u.domain, err);
    default: return 0;  /* commitInfo, cdc, checkpoint-only and unknown actions */
    }
}

/* Brings the tombstone view up to date: the tombstones newer than the view
 * appended, or (after one left the middle of the list) all of them again. */
static int finish_tombs(dc_delta_snapshot *snap, dc_err *err)
{
    file_table *t = &snap->files;
    const size_t want = t->n - t->n_adds;
    if (t->removes_moved) {
        snap->n_tomb = 0;
        snap->tomb_next_seq = 0;
    }
    if (want > snap->cap_tomb) {
        size_t cap = snap->cap_tomb ? snap->cap_tomb : 64;
        while (cap < want) cap *= 2;
        const dc_delta_remove **p = dc_realloc(snap->tomb, cap * sizeof *p);
        if (!p) return dc_err_set(err, DC_ENOMEM, "out of memory");
        snap->tomb = p;
        snap->cap_tomb = cap;
    }
    const file_entry *e = t->removes.tail;
    while (e && e->prev && e->prev->seq >= snap->tomb_next_seq) e = e->prev;
    if (e && e->seq < snap->tomb_next_seq) e = NULL; /* nothing new */
    for (; e; e = e->next) {
        DC_DASSERT(snap->n_tomb == 0 || e->seq > snap->tomb_next_seq - 1);
        snap->tomb[snap->n_tomb++] = &e->a.remove;
        snap->tomb_next_seq = e->seq + 1;
    }
    t->removes_moved = false;
    DC_ASSERT(snap->n_tomb == want);
    return 0;
}

int dc_delta_snap_finish(dc_delta_snapshot *snap, dc_err *err)
{
    file_table *t = &snap->files;
    dc_free(snap->live);
    snap->live = dc_malloc((t->n_adds ? t->n_adds : 1) * sizeof *snap->live);
    if (!snap->live) return dc_err_set(err, DC_ENOMEM, "out of memory");
    snap->n_live = 0;
    uint64_t last_seq = 0;
    for (const file_entry *e = t->adds.head; e; e = e->next) {
        DC_DASSERT(e->is_add && e->seq >= last_seq);
        last_seq = e->seq;
        snap->live[snap->n_live++] = &e->a.add;
    }
    DC_ASSERT(snap->n_live == t->n_adds);
    (void)last_seq;
    DC_TRY(finish_tombs(snap, err));
    return dc_delta_cm_mode_of(&snap->cm_mode, &snap->protocol, &snap->metadata, err);
}

/* ------------------------------------------------------------- getters */

void dc_delta_snapshot_free(dc_delta_snapshot *snap)
{
    if (!snap) return;
    dc_delta_ft_dispose(&snap->files);
    dc_delta_schema_free(snap->schema);
    dc_free(snap->txns);
    dc_free(snap->domains);
    dc_free(snap->live);
    dc_free(snap->tomb);
    dc_arena_dispose(&snap->arena);
    dc_free(snap);
}

int64_t dc_delta_snapshot_version(const dc_delta_snapshot *snap) { return snap->version; }
dc_storage *dc_delta_snapshot_storage(const dc_delta_snapshot *snap) { return snap->storage; }
const dc_delta_protocol *dc_delta_snapshot_protocol(const dc_delta_snapshot *snap)
{
    return &snap->protocol;
}
const dc_delta_metadata *dc_delta_snapshot_metadata(const dc_delta_snapshot *snap)
{
    return &snap->metadata;
}
dc_delta_cm_mode dc_delta_snapshot_cm_mode(const dc_delta_snapshot *snap) { return snap->cm_mode; }
size_t dc_delta_snapshot_n_files(const dc_delta_snapshot *snap) { return snap->n_live; }
const dc_delta_add *dc_delta_snapshot_file(const dc_delta_snapshot *snap, size_t i)
{
    DC_ASSERT(i < snap->n_live);
    return snap->live[i];
}
size_t dc_delta_snapshot_n_tombstones(const dc_delta_snapshot *snap) { return snap->n_tomb; }
const dc_delta_remove *dc_delta_snapshot_tombstone(const dc_delta_snapshot *snap, size_t i)
{
    DC_ASSERT(i < snap->n_tomb);
    return snap->tomb[i];
}
size_t dc_delta_snapshot_n_txns(const dc_delta_snapshot *snap) { return snap->n_txns; }
const dc_delta_txn *dc_delta_snapshot_txn(const dc_delta_snapshot *snap, size_t i)
{
    DC_ASSERT(i < snap->n_txns);
    return &snap->txns[i];
}
int dc_delta_app_id(dc_buf *out, const char *pipeline, const char *topic, int32_t partition,
                    dc_err *err)
{
    dc_buf_reset(out);
    const size_t need = strlen(pipeline) + strlen(topic) + 16; /* '/', '/', int32, NUL */
    if (need > DC_DELTA_MAX_APP_ID_BYTES)
        return dc_err_set(err, DC_ELIMIT, "topic '%.64s...' (%zu bytes): its txn appId would "
                          "exceed %zu bytes", topic, strlen(topic), DC_DELTA_MAX_APP_ID_BYTES);
    DC_TRY(dc_buf_appendf(out, err, "%s/%s/%" PRId32, pipeline, topic, partition));
    return dc_buf_putc(out, '\0', err);
}

int dc_delta_snapshot_txn_version(int64_t *version_out, const dc_delta_snapshot *snap,
                                  const char *app_id)
{
    for (size_t i = 0; i < snap->n_txns; i++) {
        if (strcmp(snap->txns[i].app_id, app_id) == 0) {
            *version_out = snap->txns[i].version;
            return 0;
        }
    }
    return DC_ENOTFOUND;
}
size_t dc_delta_snapshot_n_domains(const dc_delta_snapshot *snap)
{
    size_t n = 0;
    for (size_t i = 0; i < snap->n_domains; i++) n += !snap->domains[i].removed;
    return n;
}
const dc_delta_domain *dc_delta_snapshot_domain(const dc_delta_snapshot *snap, size_t i)
{
    for (size_t k = 0; k < snap->n_domains; k++) {
        if (snap->domains[k].removed) continue;
        if (i-- == 0) return &snap->domains[k];
    }
    DC_ASSERT(!"domain index out of range");
    return NULL;
}
int64_t dc_delta_snapshot_checkpoint_version(const dc_delta_snapshot *snap)
{
    return snap->checkpoint_version;
}

int64_t dc_delta_snapshot_known_checkpoint(const dc_delta_snapshot *snap)
{
    return snap->known_checkpoint > snap->checkpoint_version ? snap->known_checkpoint
                                                              : snap->checkpoint_version;
}

void dc_delta_snapshot_note_checkpoint(dc_delta_snapshot *snap, int64_t version)
{
    if (version <= snap->known_checkpoint) return;
    snap->known_checkpoint = version;
    snap->seq_at_checkpoint = snap->seq;
}

uint64_t dc_delta_snapshot_changes_since_checkpoint(const dc_delta_snapshot *snap)
{
    return snap->seq - snap->seq_at_checkpoint;
}

bool dc_delta_snapshot_broken(const dc_delta_snapshot *snap) { return snap->broken; }

int dc_delta_snapshot_schema(const dc_delta_schema **out, dc_delta_snapshot *snap, dc_err *err)
{
    if (!snap->schema) {
        const char *s = snap->metadata.schema_string;
        DC_TRY(dc_delta_schema_parse(&snap->schema, s, strlen(s), err));
    }
    *out = snap->schema;
    return 0;
}
