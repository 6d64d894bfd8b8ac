/* The completeness monitors of a pipeline file (monitors.completeness), as
 * `ingest` runs them on a schedule and `check -c` runs them once: one per
 * entry of monitors.completeness.tables, named after its source table. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "../daemon/ingest.h"

/* The Delta table of one entry: a path ({warehouse} expanded) when the value
 * has a '/' (or a scheme), else a topic routed through tables[]. */
static int entry_table(char **out, const dc_config *c, const char *v, dc_err *err)
{
    dc_buf b;
    dc_buf_init(&b, 1 << 16);
    int rc = 0;
    if (strchr(v, '/')) {
        for (const char *p = v; rc == 0 && *p;) {
            if (strncmp(p, "{warehouse}", 11) == 0 && c->warehouse) {
                rc = dc_buf_puts(&b, c->warehouse, err);
                p += 11;
            } else {
                rc = dc_buf_putc(&b, (uint8_t)*p++, err);
            }
        }
        if (rc == 0) rc = dc_buf_putc(&b, 0, err);
    } else {
        rc = dc_ingest_table_path(&b, c, v, err);
    }
    if (rc == 0 && !(*out = dc_strdup((const char *)b.data)))
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    dc_buf_dispose(&b);
    return rc;
}

int dc_cli_cmons_load(dc_cli_cmons *out, const dc_config *c, dc_err *err)
{
    memset(out, 0, sizeof *out);
    const uint32_t n = c->complete_mode == DC_CFG_COMPLETE_OFF ? 0 : c->complete_tables.n;
    /* One source for bootstrap and the monitor unless the monitor names its own
     * (a read replica, a user with SELECT only): source.mysql.url by default. */
    const char *db = c->complete_db ? c->complete_db : c->mysql_url;
    if (c->complete_mode != DC_CFG_COMPLETE_OFF && (!db || !n))
        return dc_err_set(err, DC_EINVAL, "monitors.completeness.mode is on: give "
                          "monitors.completeness.db (or source.mysql.url) and "
                          "monitors.completeness.tables");
    if (n && (!(out->o = dc_calloc(n, sizeof *out->o)) ||
              !(out->paths = dc_calloc(n, sizeof *out->paths))))
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    const char *pw_env = !c->complete_db && c->mysql_pwd_env ? c->mysql_pwd_env : "MYSQL_PWD";
    const char *pw = c->complete_password ? c->complete_password : getenv(pw_env);
    for (uint32_t i = 0; i < n; i++) {
        dc_complete_opts *o = &out->o[i];
        out->n = i + 1;
        DC_TRY(entry_table(&out->paths[i], c, c->complete_tables.values[i], err));
        o->name = c->complete_tables.keys[i];
        o->source_table = c->complete_tables.keys[i];
        o->table = out->paths[i];
        o->db.url = db;
        o->db.password = pw;
        o->mode = (dc_complete_mode)(c->complete_mode - DC_CFG_COMPLETE_COUNT);
        o->chunk = c->complete_range_size;
        o->keys = c->complete_keys;
        for (uint32_t t = 0; t < c->n_tables; t++) /* the table's own meta prefix */
            if (c->tables[t].meta_prefix) o->meta_prefix = c->tables[t].meta_prefix;
    }
    return 0;
}

void dc_cli_cmons_dispose(dc_cli_cmons *m)
{
    for (size_t i = 0; i < m->n; i++) dc_free(m->paths ? m->paths[i] : NULL);
    dc_free(m->paths);
    dc_free(m->o);
    memset(m, 0, sizeof *m);
}
