/*
 * Renames and in-place drops for typed tables (issue 9): a batch follows
 * Debezium's schema-change records (dc_cdc_schemalog, from
 * schema_changes_topic) through the table's column mapping (mode name,
 * src/delta/delta_colmap.c).
 *
 * Every table column is known by its physical name, which never changes.
 * The batch keeps the logical name of each as of the event it is adding:
 * before adding an event at source position P, every rename or drop of the
 * table's records with a position below P that the table has not applied
 * yet is applied (Debezium writes a table's changes in binlog order, so one
 * pass over the log follows a partition). A record's columns are then
 * mapped by their names onto physical names (dc_cdc_tschema_mapped), so the
 * records before and after `RENAME COLUMN note TO remark` write the same
 * file column; a name no live column has is a new column, given a new
 * physical name "col-<uuid>" (a dropped column's name added again must not
 * read its old data back). The commit writes the logical names as they stand
 * after the batch's last event (dc_mcolmap_schema).
 *
 * Which renames are already in the table: those at or below the table's
 * source-position watermark of the event's partition (the commit that
 * applied them also applied an event after them); a table without one was
 * just created from a record's schema, which already shows every change
 * before that record.
 *
 * Not followed: a key column renamed or dropped (refused: the index and
 * deltacdc.key name it); records without a schema block after a rename in
 * the same batch (decoded with the table's columns as the batch began).
 */
#include "merge_int.h"

#include <inttypes.h>
#include <stdio.h>

/* One table column as the batch sees it. */
typedef struct mcm_col {
    char *logical;              /* its name now (owned); NULL once dropped */
    char *physical;             /* its data files' column name (owned) */
    bool edited;                /* renamed or dropped by this batch */
} mcm_col;

/* A record's schema mapped at one generation of the names. */
typedef struct mcm_map {
    const dc_cdc_tschema *src;  /* the cache's (borrowed: the cache outlives the batch) */
    dc_cdc_tschema *mapped;     /* owned reference */
    uint32_t gen;
} mcm_map;

struct mcolmap {
    bool loaded;                /* cols read from the table's schema */
    mcm_col *cols;
    uint32_t n, cap;
    uint32_t gen;               /* bumped by every rename and drop applied */
    bool edited;                /* a rename or drop was applied */
    bool started;               /* next_op placed (first event) */
    size_t next_op;             /* the log's first op not applied */
    char table[512];            /* "db.table" of the records ("": unknown) */
    bool no_table;              /* a schema block named no table (warned once) */
    mcm_map *maps;
    uint32_t n_maps, cap_maps;
    int64_t max_id;             /* maxColumnId of the evolved schema (dc_mcolmap_schema) */
};

void dc_merge_table_set_schema_changes(dc_merge_table *t, const dc_cdc_schemalog *log)
{
    if (t->typed) t->typed->schemalog = log;
}

int dc_mcolmap_new(mcolmap **out, dc_err *err)
{
    *out = dc_calloc(1, sizeof **out);
    return *out ? 0 : dc_err_set(err, DC_ENOMEM, "out of memory");
}

void dc_mcolmap_free(mcolmap *cm)
{
    if (!cm) return;
    for (uint32_t i = 0; i < cm->n; i++) {
        dc_free(cm->cols[i].logical);
        dc_free(cm->cols[i].physical);
    }
    for (uint32_t i = 0; i < cm->n_maps; i++) dc_cdc_tschema_free(cm->maps[i].mapped);
    dc_free(cm->cols);
    dc_free(cm->maps);
    dc_free(cm);
}

bool dc_mcolmap_edited(const mcolmap *cm) { return cm && cm->edited; }

static int push_col(mcolmap *cm, const char *logical, const char *physical, dc_err *err)
{
    if (cm->n == cm->cap) {
        const uint32_t cap = cm->cap ? cm->cap * 2 : 32;
        mcm_col *v = dc_realloc(cm->cols, cap * sizeof *v);
        if (!v) return dc_err_set(err, DC_ENOMEM, "out of memory");
        cm->cols = v;
        cm->cap = cap;
    }
    mcm_col *c = &cm->cols[cm->n];
    memset(c, 0, sizeof *c);
    c->logical = dc_strdup(logical);
    c->physical = dc_strdup(physical);
    if (!c->logical || !c->physical) {
        dc_free(c->logical);
        dc_free(c->physical);
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    cm->n++;
    return 0;
}

static int load(mcolmap *cm, dc_merge_table *t, dc_err *err)
{
    const dc_delta_schema *s = NULL;
    DC_TRY(dc_delta_snapshot_schema(&s, t->snap, err));
    for (uint32_t i = 0; i < s->root.n_children; i++)
        DC_TRY(push_col(cm, s->root.children[i].name, s->root.children[i].physical_name, err));
    cm->loaded = true;
    return 0;
}

static mcm_col *live(mcolmap *cm, const char *logical)
{
    for (uint32_t i = 0; i < cm->n; i++)
        if (cm->cols[i].logical && strcmp(cm->cols[i].logical, logical) == 0) return &cm->cols[i];
    return NULL;
}

static bool is_key(const dc_merge_table *t, const char *name)
{
    for (uint32_t i = 0; i < t->n_keys; i++)
        if (strcmp(t->key_names[i], name) == 0) return true;
    return false;
}

/* One rename or drop; one whose column is gone already is skipped. */
static int apply_op(mcolmap *cm, const dc_merge_table *t, const dc_cdc_colop *op, dc_err *err)
{
    mcm_col *c = live(cm, op->from);
    if (!c) {
        DC_LOG(DC_LOG_DEBUG, "merge", "%s: schema change at line %" PRId64 " (%s): no column "
               "'%s' now, skipped", t->s->root, op->line, op->ddl ? op->ddl : "", op->from);
        return 0;
    }
    if (is_key(t, op->from))
        return dc_err_set(err, DC_EUNSUPPORTED, "schema change at line %" PRId64 " (%s) %s key "
                          "column '%s': not followed (the table's key names it); nothing "
                          "committed", op->line, op->ddl ? op->ddl : "",
                          op->kind == DC_CDC_COL_RENAME ? "renames" : "drops", op->from);
    if (!t->typed->cm)
        return dc_err_set(err, DC_EUNSUPPORTED, "schema change at line %" PRId64 " (%s) %s "
                          "column '%s', and the table has no column mapping (it was created "
                          "without --schema-changes): recreate it with them; nothing committed",
                          op->line, op->ddl ? op->ddl : "",
                          op->kind == DC_CDC_COL_RENAME ? "renames" : "drops", op->from);
    if (op->kind == DC_CDC_COL_RENAME) {
        if (live(cm, op->to))
            return dc_err_set(err, DC_EINVAL, "schema change at line %" PRId64 " renames '%s' "
                              "to '%s', which the table already has", op->line, op->from, op->to);
        char *to = dc_strdup(op->to);
        if (!to) return dc_err_set(err, DC_ENOMEM, "out of memory");
        dc_free(c->logical);
        c->logical = to;
    } else {
        dc_free(c->logical);
        c->logical = NULL;
    }
    c->edited = cm->edited = true;
    cm->gen++;
    DC_LOG(DC_LOG_INFO, "merge", "%s: column '%s' %s%s (schema change at line %" PRId64 ")",
           t->s->root, op->from, op->kind == DC_CDC_COL_RENAME ? "renamed to " : "dropped",
           op->kind == DC_CDC_COL_RENAME ? op->to : "", op->line);
    return 0;
}

/* The records' table from the first schema block seen. */
static void find_table(mcolmap *cm, const dc_merge_table *t, const dc_cdc_event *ev)
{
    if (cm->table[0] || cm->no_table || !ev->schema) return;
    dc_err e;
    dc_err_clear(&e);
    if (dc_cdc_envelope_table(cm->table, sizeof cm->table, ev->schema, ev->schema_len, &e) < 0 ||
        !cm->table[0]) {
        cm->no_table = true;
        DC_LOG(DC_LOG_WARN, "merge", "%s: the records' schema block names no table "
               "(<prefix>.<db>.<table>.Envelope): schema changes are not followed",
               t->s->root);
    }
}

int dc_mcolmap_advance(mcolmap *cm, dc_merge_table *t, const dc_cdc_event *ev, const mseq *wm,
                       dc_err *err)
{
    const dc_cdc_schemalog *log = t->typed->schemalog;
    if (!log) return 0;
    if (!cm->loaded) DC_TRY(load(cm, t, err));
    find_table(cm, t, ev);
    if (!cm->table[0] || !ev->has_srcpos) return 0;
    const size_t n = dc_cdc_schemalog_n(log);
    if (!cm->started) { /* skip what the table has: at or below wm, else before this event */
        while (cm->next_op < n) {
            const dc_cdc_colop *op = dc_cdc_schemalog_op(log, cm->next_op);
            const bool had = wm ? dc_mseq_cmp(dc_mtyped_pos_seq(&op->pos), *wm) <= 0
                                : dc_cdc_srcpos_cmp(&op->pos, &ev->srcpos) < 0;
            if (!had) break;
            cm->next_op++;
        }
        cm->started = true;
    }
    for (; cm->next_op < n; cm->next_op++) {
        const dc_cdc_colop *op = dc_cdc_schemalog_op(log, cm->next_op);
        if (dc_cdc_srcpos_cmp(&op->pos, &ev->srcpos) >= 0) break;
        if (strcmp(op->table, cm->table) == 0) DC_TRY(apply_op(cm, t, op, err));
    }
    return 0;
}

/* A new physical name: "col-<uuid>" (Spark's form). */
static int new_physical(char out[48], dc_err *err)
{
    char id[37];
    DC_TRY(dc_delta_uuid_v4(id, err));
    snprintf(out, 48, "col-%s", id);
    return 0;
}

int dc_mcolmap_map(const dc_cdc_tschema **out, mcolmap *cm, dc_merge_table *t,
                   const dc_cdc_tschema *src, dc_err *err)
{
    *out = src;
    if (!t->typed->cm) return 0; /* a table with column mapping maps every record */
    if (!cm->loaded) DC_TRY(load(cm, t, err));
    for (uint32_t i = 0; i < cm->n_maps; i++)
        if (cm->maps[i].src == src && cm->maps[i].gen == cm->gen) {
            *out = cm->maps[i].mapped;
            return 0;
        }
    const uint32_t n = dc_cdc_tschema_ncols(src);
    const char **idents = dc_calloc(n ? n : 1, sizeof *idents);
    if (!idents) return dc_err_set(err, DC_ENOMEM, "out of memory");
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        const char *name = dc_cdc_tschema_col(src, i)->name;
        mcm_col *c = live(cm, name);
        if (!c) { /* a new column */
            char phys[48];
            rc = new_physical(phys, err);
            if (rc == 0) rc = push_col(cm, name, phys, err);
            if (rc == 0) c = &cm->cols[cm->n - 1];
        }
        if (rc == 0) idents[i] = c->physical;
    }
    dc_cdc_tschema *mapped = NULL;
    if (rc == 0 && cm->n_maps == cm->cap_maps) {
        const uint32_t cap = cm->cap_maps ? cm->cap_maps * 2 : 8;
        mcm_map *v = dc_realloc(cm->maps, cap * sizeof *v);
        if (!v) rc = dc_err_set(err, DC_ENOMEM, "out of memory");
        else cm->maps = v, cm->cap_maps = cap;
    }
    if (rc == 0) rc = dc_cdc_tschema_mapped(&mapped, (dc_cdc_tschema *)src, idents, err);
    dc_free(idents);
    if (rc < 0) return rc;
    cm->maps[cm->n_maps++] = (mcm_map){src, mapped, cm->gen};
    *out = mapped;
    return 0;
}

int dc_mcolmap_schema(dc_buf *out, mcolmap *cm, const dc_merge_table *t, dc_err *err)
{
    const dc_delta_schema *old = NULL;
    const char **phys = NULL, **logical = NULL;
    dc_buf in;
    dc_buf_init(&in, DC_JSON_MAX_DOC_BYTES);
    int rc = dc_delta_snapshot_schema(&old, t->snap, err);
    if (rc == 0) rc = dc_delta_colmap_max_id(&cm->max_id, dc_delta_snapshot_metadata(t->snap),
                                             err);
    if (rc == 0) rc = dc_buf_append(&in, out->data, out->len, err);
    if (rc == 0 && (!(phys = dc_calloc(cm->n + 1, sizeof *phys)) ||
                    !(logical = dc_calloc(cm->n + 1, sizeof *logical))))
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    uint32_t k = 0;
    for (uint32_t i = 0; rc == 0 && i < cm->n; i++) {
        if (!cm->cols[i].edited && cm->cols[i].logical) continue;
        phys[k] = cm->cols[i].physical;
        logical[k++] = cm->cols[i].logical;
    }
    /* Added columns carry their physical names; a rename after the add in
     * this batch is an edit like the others. */
    const dc_delta_colmap_edit edit = {k, phys, logical};
    if (rc == 0) rc = dc_delta_colmap_rewrite(out, &cm->max_id, (const char *)in.data, &edit,
                                              old, err);
    if (rc == 0) rc = dc_buf_putc(out, '\0', err); /* callers count the NUL */
    dc_free(phys);
    dc_free(logical);
    dc_buf_dispose(&in);
    return rc;
}

int dc_mcolmap_set_schema(dc_delta_tx *tx, const mcolmap *cm, const char *schema_json,
                          bool widen, dc_err *err)
{
    return dc_delta_tx_set_schema_mapped(tx, schema_json, cm->max_id, widen, err);
}

/* Members of row (an object) not in schema s's top level, removed in place:
 * rows decoded before a drop in the same batch, and carried rows of files
 * written before one, hold the dropped column. */
void dc_mcolmap_strip(dc_json *row, const dc_pq_schema *s)
{
    if (!row || row->type != DC_JSON_OBJECT) return;
    uint32_t k = 0;
    for (uint32_t i = 0; i < row->len; i++) {
        const dc_json *m = &row->u.items[i];
        bool known = false;
        for (uint32_t j = 0; j < s->root.n_children && !known; j++)
            known = strlen(s->root.children[j].name) == m->key_len &&
                    memcmp(s->root.children[j].name, m->key, m->key_len) == 0;
        if (known) row->u.items[k++] = *m;
    }
    row->len = k;
}
