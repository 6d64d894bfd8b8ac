/*
 * Changing a table's properties (metaData.configuration) as Spark's ALTER
 * TABLE SET/UNSET TBLPROPERTIES does: one commit with a new metaData action,
 * after the names and the resulting values are checked (maint_props.c's
 * rules). Used by `deltacdc properties` and by the daemon for the pipeline
 * file's tables[].properties.
 */
#include "maint.h"

#include <string.h>

/* Names alone: refused keys, repeated keys, keys to unset that are not set. */
static int check_names(const dc_maint_prop_change *a, const dc_delta_metadata *m, dc_err *err)
{
    const uint32_t n = a->n_set ? a->n_set : a->n_unset;
    for (uint32_t i = 0; i < n; i++) {
        const char *k = a->n_set ? a->set[i].key : a->unset[i];
        if (strlen(k) > 256) return dc_err_set(err, DC_EINVAL, "'%.40s...': key too long", k);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(k, a->n_set ? a->set[j].key : a->unset[j]) == 0)
                return dc_err_set(err, DC_EINVAL, "'%s' given twice", k);
        const char *why = dc_maint_property_refused(k);
        if (why) return dc_err_set(err, DC_EUNSUPPORTED, "'%s' %s", k, why);
        bool found = false;
        dc_delta_map_get(&m->configuration, k, &found);
        if (a->n_unset && !found) return dc_err_set(err, DC_EINVAL, "'%s' is not set", k);
        if (a->n_set && strlen(a->set[i].value) > 4096)
            return dc_err_set(err, DC_EINVAL, "'%s': value longer than 4096 bytes", k);
    }
    return 0;
}

/* The new configuration: the old one with the changes, in the old order,
 * new keys at the end. `*changed` when it differs. */
static int new_configuration(dc_delta_kv **out, uint32_t *n_out, bool *changed,
                             const dc_maint_prop_change *a, const dc_delta_metadata *m, dc_err *err)
{
    const dc_delta_map *old = &m->configuration;
    dc_delta_kv *c = dc_calloc((size_t)old->n + a->n_set + 1, sizeof *c);
    if (!c) return dc_err_set(err, DC_ENOMEM, "out of memory");
    uint32_t n = 0;
    *changed = false;
    for (uint32_t i = 0; i < old->n; i++) {
        bool drop = false;
        for (uint32_t j = 0; j < a->n_unset; j++)
            drop |= strcmp(old->items[i].key, a->unset[j]) == 0;
        *changed |= drop;
        if (!drop) c[n++] = old->items[i];
    }
    for (uint32_t j = 0; j < a->n_set; j++) {
        uint32_t i = 0;
        while (i < n && strcmp(c[i].key, a->set[j].key) != 0) i++;
        *changed |= i == n || !c[i].value || strcmp(c[i].value, a->set[j].value) != 0;
        c[i] = a->set[j];
        if (i == n) n++;
    }
    *out = c;
    *n_out = n;
    return 0;
}

/* The new configuration's values, read back as deltacdc will read them. */
static int check_values(const dc_delta_snapshot *snap, const dc_delta_kv *c, uint32_t n,
                        dc_err *err)
{
    dc_delta_metadata m = *dc_delta_snapshot_metadata(snap);
    m.configuration.n = n;
    m.configuration.items = (dc_delta_kv *)c;
    return dc_maint_check_properties(dc_delta_snapshot_protocol(snap), &m, err);
}

static int commit_changes(int64_t *version, const dc_maint_prop_change *a, dc_delta_snapshot *snap,
                          const dc_delta_kv *c, uint32_t n, dc_err *err)
{
    dc_delta_tx *tx = NULL;
    dc_buf p;
    dc_buf_init(&p, DC_JSON_MAX_DOC_BYTES);
    int rc = dc_delta_tx_new(&tx, snap, a->n_set ? "SET TBLPROPERTIES" : "UNSET TBLPROPERTIES",
                             err);
    /* operationParameters as Spark writes them: a JSON object (set) or array (unset) */
    rc = rc < 0 ? rc : dc_buf_putc(&p, a->n_set ? '{' : '[', err);
    for (uint32_t i = 0; rc == 0 && i < (a->n_set ? a->n_set : a->n_unset); i++) {
        const char *k = a->n_set ? a->set[i].key : a->unset[i];
        if (i) rc = dc_buf_putc(&p, ',', err);
        if (rc == 0) rc = dc_json_put_str(&p, k, strlen(k), err);
        if (rc == 0 && a->n_set) rc = dc_buf_putc(&p, ':', err);
        if (rc == 0 && a->n_set)
            rc = dc_json_put_str(&p, a->set[i].value, strlen(a->set[i].value), err);
    }
    if (rc == 0) rc = dc_buf_putc(&p, a->n_set ? '}' : ']', err);
    if (rc == 0) rc = dc_buf_putc(&p, '\0', err);
    if (rc == 0) rc = dc_delta_tx_param(tx, "properties", (const char *)p.data, err);
    if (rc == 0 && a->n_unset) rc = dc_delta_tx_param(tx, "ifExists", "false", err);
    if (rc == 0) rc = dc_delta_tx_set_configuration(tx, c, n, err);
    if (rc == 0) rc = dc_delta_tx_commit(version, tx, err);
    dc_delta_tx_free(tx);
    dc_buf_dispose(&p);
    return rc;
}

/* One attempt on the latest version: 0 done, DC_ECONFLICT (retriable) to
 * try again. */
static int attempt(const dc_maint_prop_change *a, dc_storage *s, bool *changed, int64_t *version,
                   dc_err *err)
{
    dc_delta_snapshot *snap = NULL;
    dc_delta_kv *c = NULL;
    uint32_t n = 0;
    int rc = dc_delta_snapshot_load(&snap, s, -1, err);
    if (rc == 0) rc = check_names(a, dc_delta_snapshot_metadata(snap), err);
    if (rc == 0) rc = new_configuration(&c, &n, changed, a, dc_delta_snapshot_metadata(snap), err);
    if (rc == 0) rc = check_values(snap, c, n, err);
    *version = rc == 0 ? dc_delta_snapshot_version(snap) : -1;
    if (rc == 0 && *changed) rc = commit_changes(version, a, snap, c, n, err);
    dc_free(c);
    dc_delta_snapshot_free(snap);
    return rc;
}

int dc_maint_set_properties(int64_t *version_out, bool *changed, dc_storage *s,
                            const dc_maint_prop_change *c, dc_err *err)
{
    *changed = false;
    *version_out = -1;
    if (c->n_set && c->n_unset)
        return dc_err_set(err, DC_EINVAL, "set or unset properties, not both in one commit");
    for (int tries = 0;; tries++) {
        int rc = attempt(c, s, changed, version_out, err);
        if (rc != DC_ECONFLICT || !err->retriable || tries == DC_MAINT_PROPERTY_RETRIES)
            return rc;
        dc_err_clear(err);
    }
}
