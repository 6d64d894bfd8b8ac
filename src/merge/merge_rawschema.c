/* merge: the Debezium value schemas a raw table has seen (issue 9), kept in
 * <table>/_deltacdc_schemas/ (merge.h: "Raw tables keep their schemas").
 *
 * Two kinds of small file, both named by the SHA-256 of what they hold, so
 * writing one twice is a no-op and a crash leaves nothing half-made (each is
 * put-if-absent, durably, before the commit whose rows use it):
 *   S-<hex>.json  a record's "schema" member, byte for byte;
 *   P-<hex>.json  a change point {"topic","partition","offset","schema":"<hex>"}:
 *                 from that offset on, the partition's records carried that
 *                 schema (up to its next change point).
 * A change point states a fact about the stream, not about the table: one
 * written for a batch whose commit then failed is true for the retry too.
 * Delta readers, OPTIMIZE and VACUUM leave names starting with '_' alone. */
#include "merge_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "../json/dc_json.h"

#define DIR_NAME DC_MERGE_SCHEMAS_DIR

/* The last schema noted for one topic-partition. */
typedef struct last_tp {
    char *topic;            /* owned */
    int32_t partition;
    char *schema;           /* owned copy of the schema bytes (compared by memcmp) */
    size_t len;
} last_tp;

/* A file to put before the next commit. */
typedef struct pending_file {
    char *name;             /* owned: "_deltacdc_schemas/X-<hex>.json" */
    char *body;             /* owned */
    size_t len;
} pending_file;

struct dc_merge_schemas {
    last_tp *last;          /* owned array */
    size_t n_last, cap_last;
    pending_file *pend;     /* owned array */
    size_t n_pend, cap_pend;
};

static void hex_sha256(char out[65], const void *p, size_t n)
{
    unsigned char md[32];
    unsigned int len = 0;
    DC_ASSERT(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) == 1 && len == 32);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int dc_merge_schemas_new(dc_merge_schemas **out, dc_err *err)
{
    *out = dc_calloc(1, sizeof **out);
    return *out ? 0 : dc_err_set(err, DC_ENOMEM, "out of memory");
}

void dc_merge_schemas_free(dc_merge_schemas *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n_last; i++) {
        dc_free(w->last[i].topic);
        dc_free(w->last[i].schema);
    }
    for (size_t i = 0; i < w->n_pend; i++) {
        dc_free(w->pend[i].name);
        dc_free(w->pend[i].body);
    }
    dc_free(w->last);
    dc_free(w->pend);
    dc_free(w);
}

static int add_pending(dc_merge_schemas *w, char kind, const char *body, size_t len,
                       char hex_out[65], dc_err *err)
{
    char hex[65], name[128];
    hex_sha256(hex, body, len);
    if (hex_out) memcpy(hex_out, hex, 65);
    snprintf(name, sizeof name, "%s/%c-%s.json", DIR_NAME, kind, hex);
    for (size_t i = 0; i < w->n_pend; i++)
        if (strcmp(w->pend[i].name, name) == 0) return 0;
    DC_TRY(dc_array_grow((void **)&w->pend, &w->cap_pend, w->n_pend + 1, sizeof *w->pend,
                         SIZE_MAX, err));
    pending_file *f = &w->pend[w->n_pend];
    f->name = dc_strdup(name);
    f->body = dc_malloc(len ? len : 1);
    if (!f->name || !f->body) {
        dc_free(f->name);
        dc_free(f->body);
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    memcpy(f->body, body, len);
    f->len = len;
    w->n_pend++;
    return 0;
}

/* The change point's file body. */
static int point_body(dc_buf *out, const char *topic, int32_t partition, int64_t offset,
                      const char *hex, dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "{\"topic\":", err));
    DC_TRY(dc_json_put_str(out, topic, strlen(topic), err));
    return dc_buf_appendf(out, err, ",\"partition\":%d,\"offset\":%lld,\"schema\":\"%s\"}\n",
                          (int)partition, (long long)offset, hex);
}

int dc_merge_schemas_note(dc_merge_schemas *w, const char *topic, int32_t partition,
                          int64_t offset, const char *schema, size_t len, dc_err *err)
{
    if (!schema || !len) return 0; /* no block: the partition's last schema goes on */
    last_tp *l = NULL;
    for (size_t i = 0; i < w->n_last && !l; i++)
        if (w->last[i].partition == partition && strcmp(w->last[i].topic, topic) == 0)
            l = &w->last[i];
    if (l && l->len == len && memcmp(l->schema, schema, len) == 0) return 0;
    if (!l) {
        DC_TRY(dc_array_grow((void **)&w->last, &w->cap_last, w->n_last + 1, sizeof *w->last,
                             SIZE_MAX, err));
        l = &w->last[w->n_last];
        memset(l, 0, sizeof *l);
        if (!(l->topic = dc_strdup(topic))) return dc_err_set(err, DC_ENOMEM, "out of memory");
        l->partition = partition;
        w->n_last++;
    }
    char *copy = dc_malloc(len);
    if (!copy) return dc_err_set(err, DC_ENOMEM, "out of memory");
    memcpy(copy, schema, len);
    char hex[65];
    dc_buf body;
    dc_buf_init(&body, 1 << 20);
    int rc = add_pending(w, 'S', schema, len, hex, err);
    if (rc == 0) rc = point_body(&body, topic, partition, offset, hex, err);
    if (rc == 0) rc = add_pending(w, 'P', (const char *)body.data, body.len, NULL, err);
    dc_buf_dispose(&body);
    if (rc < 0) {
        dc_free(copy);
        return rc;
    }
    dc_free(l->schema);
    l->schema = copy;
    l->len = len;
    return 0;
}

int dc_merge_schemas_flush(dc_merge_schemas *w, const char *table_uri, dc_err *err)
{
    if (!w || !w->n_pend) return 0;
    dc_storage *s = NULL;
    int rc = dc_storage_open(&s, table_uri, err);
    /* schema files first: a change point never names a schema that is not there */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; rc == 0 && i < w->n_pend; i++) {
            const pending_file *f = &w->pend[i];
            if ((f->name[sizeof DIR_NAME] == 'S') != (pass == 0)) continue;
            rc = dc_storage_put_if_absent(s, f->name, f->body, f->len, err);
            if (rc == DC_EUNKNOWN) { /* content-addressed: putting it again settles it */
                dc_err_clear(err);
                rc = dc_storage_put_if_absent(s, f->name, f->body, f->len, err);
            }
            if (rc == DC_EEXISTS) {
                dc_err_clear(err);
                rc = 0;
            }
            if (rc < 0) dc_err_prefix(err, "table %s: writing %s", table_uri, f->name);
        }
    }
    if (rc == 0) {
        for (size_t i = 0; i < w->n_pend; i++) {
            dc_free(w->pend[i].name);
            dc_free(w->pend[i].body);
        }
        w->n_pend = 0;
    }
    dc_storage_free(s);
    return rc;
}

/* ------------------------------------------------------------- reading */

/* One change point read back. */
typedef struct point {
    char *topic;            /* owned */
    int32_t partition;
    int64_t offset;
    uint32_t schema;        /* index into the set's schemas */
} point;

struct dc_merge_schema_set {
    dc_merge_schema *schemas; /* owned array (ids and blocks owned) */
    size_t n_schemas, cap_schemas;
    point *points;          /* owned array, sorted by topic, partition, offset */
    size_t n_points, cap_points;
};

void dc_merge_schema_set_free(dc_merge_schema_set *set)
{
    if (!set) return;
    for (size_t i = 0; i < set->n_schemas; i++) {
        dc_free(set->schemas[i].id);
        dc_free(set->schemas[i].block);
    }
    for (size_t i = 0; i < set->n_points; i++) dc_free(set->points[i].topic);
    dc_free(set->schemas);
    dc_free(set->points);
    dc_free(set);
}

static int point_cmp(const void *a, const void *b)
{
    const point *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    if (c) return c;
    if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Names are "S-<64 hex>.json" / "P-<64 hex>.json"; their bytes must hash
 * to the name (a torn or edited file is refused, never half-read). */
static int read_checked(dc_storage *s, const char *name, dc_buf *b, dc_err *err)
{
    char path[160], hex[65];
    snprintf(path, sizeof path, "%s/%s", DIR_NAME, name);
    dc_buf_reset(b);
    DC_TRY(dc_storage_read(s, path, b, err));
    hex_sha256(hex, b->data ? (const char *)b->data : "", b->len);
    if (memcmp(name + 2, hex, 64) != 0)
        return dc_err_set(err, DC_ECORRUPT, "%s: its bytes do not hash to its name", path);
    return 0;
}

static bool well_named(const char *name, char kind)
{
    if (strlen(name) != 2 + 64 + 5 || name[0] != kind || name[1] != '-') return false;
    for (int i = 2; i < 66; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return false;
    return strcmp(name + 66, ".json") == 0;
}

static int add_schema(dc_merge_schema_set *set, const char *name, const dc_buf *b, dc_err *err)
{
    DC_TRY(dc_array_grow((void **)&set->schemas, &set->cap_schemas, set->n_schemas + 1,
                         sizeof *set->schemas, SIZE_MAX, err));
    dc_merge_schema *m = &set->schemas[set->n_schemas];
    m->id = dc_strndup(name + 2, 64);
    m->block = dc_malloc(b->len + 1);
    if (!m->id || !m->block) {
        dc_free(m->id);
        dc_free(m->block);
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    memcpy(m->block, b->data, b->len);
    m->block[b->len] = '\0';
    m->len = b->len;
    set->n_schemas++;
    return 0;
}

static int add_point(dc_merge_schema_set *set, const char *name, const dc_buf *b, dc_err *err)
{
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    int64_t part = 0, off = 0;
    int rc = dc_json_parse(&doc, &a, (const char *)b->data, b->len, err);
    const dc_json *topic = rc == 0 ? dc_json_get(doc, "topic") : NULL;
    const dc_json *schema = rc == 0 ? dc_json_get(doc, "schema") : NULL;
    if (rc == 0 && (!topic || topic->type != DC_JSON_STRING || !schema ||
                    schema->type != DC_JSON_STRING || schema->len != 64))
        rc = dc_err_set(err, DC_ECORRUPT, "not a change point (topic, partition, offset, schema)");
    if (rc == 0) rc = dc_json_i64(&part, dc_json_get(doc, "partition"), "partition", err);
    if (rc == 0) rc = dc_json_i64(&off, dc_json_get(doc, "offset"), "offset", err);
    uint32_t idx = 0;
    bool found = false;
    for (size_t i = 0; rc == 0 && i < set->n_schemas && !found; i++)
        if (memcmp(set->schemas[i].id, schema->u.str, 64) == 0) {
            idx = (uint32_t)i;
            found = true;
        }
    if (rc == 0 && !found)
        rc = dc_err_set(err, DC_ECORRUPT, "names schema %.64s, which is not in %s", schema->u.str,
                        DIR_NAME);
    if (rc == 0) rc = dc_array_grow((void **)&set->points, &set->cap_points, set->n_points + 1,
                                    sizeof *set->points, SIZE_MAX, err);
    if (rc == 0) {
        point *p = &set->points[set->n_points];
        p->topic = dc_strndup(topic->u.str, topic->len);
        p->partition = (int32_t)part;
        p->offset = off;
        p->schema = idx;
        if (p->topic) set->n_points++;
        else rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    if (rc < 0) dc_err_prefix(err, "%s/%s", DIR_NAME, name);
    dc_arena_dispose(&a);
    return rc;
}

int dc_merge_schema_set_load(dc_merge_schema_set **out, dc_storage *s, dc_err *err)
{
    dc_merge_schema_set *set = dc_calloc(1, sizeof *set);
    if (!set) return dc_err_set(err, DC_ENOMEM, "out of memory");
    dc_storage_list l;
    dc_storage_list_init(&l);
    dc_buf b;
    dc_buf_init(&b, DC_JSON_MAX_DOC_BYTES);
    int rc = dc_storage_list_dir(s, DIR_NAME, NULL, &l, err);
    if (rc == DC_ENOTFOUND) {
        dc_err_clear(err);
        rc = 0;
    }
    for (int pass = 0; pass < 2; pass++) /* schemas, then the points naming them */
        for (size_t i = 0; rc == 0 && i < l.n; i++) {
            const char *name = l.entries[i].name;
            if (!well_named(name, pass ? 'P' : 'S')) continue;
            rc = read_checked(s, name, &b, err);
            if (rc == 0) rc = pass ? add_point(set, name, &b, err) : add_schema(set, name, &b, err);
        }
    if (rc == 0 && set->n_points)
        qsort(set->points, set->n_points, sizeof *set->points, point_cmp);
    dc_buf_dispose(&b);
    dc_storage_list_dispose(&l);
    if (rc < 0) {
        dc_merge_schema_set_free(set);
        set = NULL;
    }
    *out = set;
    return rc;
}

uint32_t dc_merge_schema_set_count(const dc_merge_schema_set *set)
{
    return (uint32_t)set->n_schemas;
}

const dc_merge_schema *dc_merge_schema_set_get(const dc_merge_schema_set *set, uint32_t i)
{
    return i < set->n_schemas ? &set->schemas[i] : NULL;
}

uint32_t dc_merge_schema_set_at(uint32_t *out, uint32_t max, const dc_merge_schema_set *set,
                                int64_t offset)
{
    uint32_t n = 0;
    for (size_t i = 0; i < set->n_points;) {
        /* the run of one topic-partition: its last point at or before offset */
        size_t j = i;
        const point *best = NULL;
        while (j < set->n_points && set->points[j].partition == set->points[i].partition &&
               strcmp(set->points[j].topic, set->points[i].topic) == 0) {
            if (set->points[j].offset <= offset) best = &set->points[j];
            j++;
        }
        bool dup = false;
        for (uint32_t k = 0; best && k < n; k++) dup = dup || out[k] == best->schema;
        if (best && !dup && n < max) out[n++] = best->schema;
        i = j;
    }
    return n;
}

int64_t dc_merge_schema_set_first(const dc_merge_schema_set *set, uint32_t i)
{
    int64_t first = INT64_MAX;
    for (size_t j = 0; j < set->n_points; j++)
        if (set->points[j].schema == i && set->points[j].offset < first)
            first = set->points[j].offset;
    return first;
}

int dc_merge_schema_set_order(uint32_t **out, uint32_t *n_out, const dc_merge_schema_set *set,
                              dc_err *err)
{
    const uint32_t n = dc_merge_schema_set_count(set);
    uint32_t *o = dc_malloc((n ? n : 1) * sizeof *o);
    if (!o) return dc_err_set(err, DC_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) { /* insertion sort: a handful of schemas */
        const int64_t f = dc_merge_schema_set_first(set, i);
        uint32_t j = i;
        for (; j > 0 && dc_merge_schema_set_first(set, o[j - 1]) > f; j--) o[j] = o[j - 1];
        o[j] = i;
    }
    *out = o;
    *n_out = n;
    return 0;
}
