/*
 * A table's columns from information_schema, and the JsonConverter schema
 * block Debezium's MySQL/MariaDB connector sends for them (with its default
 * settings: decimal.handling.mode=precise, bigint.unsigned.handling.mode=
 * precise, time.precision.mode=adaptive_time_microseconds,
 * binary.handling.mode=bytes), field for field as in the real capture of
 * tests/data/debezium_mariadb_alltypes.jsonl.
 */
#include "mysql_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../json/dc_json.h"

static char *dup_lower(const char *s)
{
    char *d = strdup(s ? s : "");
    for (char *p = d; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return d;
}

static bool is(const char *dt, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(dt, *names) == 0) return true;
    return false;
}

/* The encoding of a column's values. */
static int choose_enc(dc_mysql_column *c, dc_err *err)
{
    static const char *const ints[] = {"tinyint", "smallint", "mediumint", "int", "integer",
                                       NULL};
    static const char *const strs[] = {"char", "varchar", "tinytext", "text", "mediumtext",
                                       "longtext", "enum", "set", "json", "inet4", "inet6",
                                       "uuid", NULL};
    static const char *const bins[] = {"binary", "varbinary", "tinyblob", "blob", "mediumblob",
                                       "longblob", NULL};
    static const char *const geoms[] = {"geometry", "linestring", "polygon", "multipoint",
                                        "multilinestring", "multipolygon",
                                        "geometrycollection", NULL};
    const char *dt = c->data_type;
    if (is(dt, ints)) c->enc = DC_MYSQL_ENC_INT;
    else if (strcmp(dt, "bigint") == 0)
        c->enc = c->is_unsigned ? DC_MYSQL_ENC_DECIMAL : DC_MYSQL_ENC_INT;
    else if (strcmp(dt, "decimal") == 0 || strcmp(dt, "numeric") == 0) c->enc = DC_MYSQL_ENC_DECIMAL;
    else if (strcmp(dt, "float") == 0 || strcmp(dt, "double") == 0 || strcmp(dt, "real") == 0)
        c->enc = DC_MYSQL_ENC_FLOAT;
    else if (strcmp(dt, "year") == 0) c->enc = DC_MYSQL_ENC_YEAR;
    else if (is(dt, strs)) c->enc = DC_MYSQL_ENC_STRING;
    else if (is(dt, bins)) c->enc = DC_MYSQL_ENC_BYTES;
    else if (strcmp(dt, "bit") == 0)
        c->enc = c->precision == 1 ? DC_MYSQL_ENC_BIT1 : DC_MYSQL_ENC_BITS;
    else if (strcmp(dt, "date") == 0) c->enc = DC_MYSQL_ENC_DATE;
    else if (strcmp(dt, "datetime") == 0)
        c->enc = c->dt_precision > 3 ? DC_MYSQL_ENC_DATETIME_US : DC_MYSQL_ENC_DATETIME_MS;
    else if (strcmp(dt, "timestamp") == 0) c->enc = DC_MYSQL_ENC_TIMESTAMP;
    else if (strcmp(dt, "time") == 0) c->enc = DC_MYSQL_ENC_TIME;
    else if (strcmp(dt, "point") == 0) c->enc = DC_MYSQL_ENC_POINT;
    else if (is(dt, geoms)) c->enc = DC_MYSQL_ENC_GEOMETRY;
    else
        return dc_err_set(err, DC_EUNSUPPORTED, "column '%s': type %s has no Debezium mapping "
                          "here", c->name, c->column_type);
    return 0;
}

static int64_t num_or(const char *v, bool null)
{
    return null ? -1 : strtoll(v, NULL, 10);
}

/* Columns of db.table in ordinal order. */
static int load_columns(dc_mysql_table *t, dc_mysql *m, const dc_buf *where, dc_err *err)
{
    dc_buf q;
    dc_buf_init(&q, 1 << 20);
    int rc = dc_buf_appendf(&q, err, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
                            "NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, "
                            "CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS %.*s "
                            "ORDER BY ORDINAL_POSITION", (int)where->len,
                            (const char *)where->data);
    if (rc == 0) rc = dc_buf_putc(&q, 0, err);
    if (rc == 0) rc = dc_mysql_stream_start(m, (const char *)q.data, err);
    dc_buf_dispose(&q);
    uint32_t cap = 0;
    for (bool done = false; rc == 0;) {
        char **r = NULL;
        unsigned long *l = NULL;
        if ((rc = dc_mysql_stream_next(&r, &l, &done, m, err)) < 0 || done) break;
        if (t->n_cols == cap) {
            cap = cap ? cap * 2 : 16;
            dc_mysql_column *p = dc_realloc(t->cols, cap * sizeof *p);
            if (!p) {
                rc = dc_err_set(err, DC_ENOMEM, "out of memory");
                break;
            }
            t->cols = p;
        }
        dc_mysql_column *c = &t->cols[t->n_cols++];
        memset(c, 0, sizeof *c);
        c->name = strdup(r[0] ? r[0] : "");
        c->data_type = dup_lower(r[1]);
        c->column_type = dup_lower(r[2]);
        if (!c->name || !c->data_type || !c->column_type) {
            rc = dc_err_set(err, DC_ENOMEM, "out of memory");
            break;
        }
        c->nullable = r[3] && strcmp(r[3], "YES") == 0;
        c->is_unsigned = strstr(c->column_type, "unsigned") != NULL;
        c->precision = num_or(r[4], !r[4]);
        c->scale = num_or(r[5], !r[5]);
        c->dt_precision = num_or(r[6], !r[6]);
        c->char_len = num_or(r[7], !r[7]);
    }
    dc_mysql_stream_end(m);
    for (uint32_t i = 0; rc == 0 && i < t->n_cols; i++) rc = choose_enc(&t->cols[i], err);
    return rc;
}

/* Primary key columns in key order. */
static int load_pk(dc_mysql_table *t, dc_mysql *m, const dc_buf *where, dc_err *err)
{
    dc_buf q;
    dc_buf_init(&q, 1 << 20);
    int rc = dc_buf_appendf(&q, err, "SELECT COLUMN_NAME FROM information_schema.STATISTICS %.*s "
                            "AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX", (int)where->len,
                            (const char *)where->data);
    if (rc == 0) rc = dc_buf_putc(&q, 0, err);
    if (rc == 0) rc = dc_mysql_stream_start(m, (const char *)q.data, err);
    dc_buf_dispose(&q);
    for (bool done = false; rc == 0;) {
        char **r = NULL;
        unsigned long *l = NULL;
        if ((rc = dc_mysql_stream_next(&r, &l, &done, m, err)) < 0 || done) break;
        const int32_t i = dc_mysql_table_find(t, r[0] ? r[0] : "");
        if (i < 0) continue;
        if (t->n_pk == 16) {
            rc = dc_err_set(err, DC_ELIMIT, "a primary key of more than 16 columns");
            break;
        }
        t->pk[t->n_pk++] = (uint32_t)i;
    }
    dc_mysql_stream_end(m);
    return rc;
}

int dc_mysql_table_load(dc_mysql_table *out, dc_mysql *m, const char *db, const char *table,
                        dc_err *err)
{
    memset(out, 0, sizeof *out);
    out->est_rows = -1;
    out->db = strdup(db);
    out->name = strdup(table);
    if (!out->db || !out->name) return dc_err_set(err, DC_ENOMEM, "out of memory");
    dc_buf where, b;
    dc_buf_init(&where, 1 << 20);
    dc_buf_init(&b, 1 << 20);
    int rc = dc_buf_puts(&where, "WHERE TABLE_SCHEMA = ", err);
    if (rc == 0) rc = dc_mysql_put_literal(&where, m, db, strlen(db), err);
    if (rc == 0) rc = dc_buf_puts(&where, " AND TABLE_NAME = ", err);
    if (rc == 0) rc = dc_mysql_put_literal(&where, m, table, strlen(table), err);
    if (rc == 0) rc = load_columns(out, m, &where, err);
    if (rc == 0 && out->n_cols == 0)
        rc = dc_err_set(err, DC_ENOTFOUND, "table %s.%s not found on %s (or not visible to the "
                        "user)", db, table, dc_mysql_where(m));
    if (rc == 0) rc = load_pk(out, m, &where, err);
    dc_buf q;
    dc_buf_init(&q, 1 << 20);
    if (rc == 0) rc = dc_buf_appendf(&q, err, "SELECT TABLE_ROWS FROM information_schema.TABLES "
                                     "%.*s", (int)where.len, (const char *)where.data);
    if (rc == 0) rc = dc_buf_putc(&q, 0, err);
    const char *v[16];
    bool null[16];
    uint32_t n = 0;
    if (rc == 0 && dc_mysql_query_row(&b, v, null, &n, m, (const char *)q.data, err) == 0 &&
        !null[0])
        out->est_rows = strtoll(v[0], NULL, 10);
    dc_err_clear(err); /* the estimate is optional */
    dc_buf_dispose(&q);
    dc_buf_dispose(&where);
    dc_buf_dispose(&b);
    if (rc < 0) dc_err_prefix(err, "reading the columns of %s.%s", db, table);
    return rc;
}

void dc_mysql_table_dispose(dc_mysql_table *t)
{
    for (uint32_t i = 0; i < t->n_cols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].data_type);
        free(t->cols[i].column_type);
    }
    dc_free(t->cols);
    free(t->db);
    free(t->name);
    memset(t, 0, sizeof *t);
}

int32_t dc_mysql_table_find(const dc_mysql_table *t, const char *name)
{
    for (uint32_t i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i].name, name) == 0) return (int32_t)i;
    return -1;
}

int dc_mysql_select_list(dc_buf *out, const dc_mysql_table *t, dc_err *err)
{
    for (uint32_t i = 0; i < t->n_cols; i++) {
        const dc_mysql_column *c = &t->cols[i];
        if (i) DC_TRY(dc_buf_puts(out, ", ", err));
        const bool single = c->enc == DC_MYSQL_ENC_FLOAT && strcmp(c->data_type, "float") == 0;
        if (single) DC_TRY(dc_buf_puts(out, "CAST(", err));
        DC_TRY(dc_mysql_put_ident(out, c->name, strlen(c->name), err));
        if (single) DC_TRY(dc_buf_puts(out, " AS DOUBLE)", err));
    }
    return 0;
}

/* ---------------------------------------------------- schema block */

/* ENUM('a','b''c') / SET(...) → "a,b'c" (Debezium's "allowed"). */
static int allowed_values(dc_buf *out, const char *column_type, dc_err *err)
{
    const char *p = strchr(column_type, '(');
    bool first = true;
    while (p && *p) {
        const char *q = strchr(p, '\'');
        if (!q) break;
        if (!first) DC_TRY(dc_buf_putc(out, ',', err));
        first = false;
        for (q++; *q; q++) {
            if (*q == '\'' && q[1] == '\'') {
                DC_TRY(dc_buf_putc(out, '\'', err));
                q++;
            } else if (*q == '\'') {
                break;
            } else {
                DC_TRY(dc_buf_putc(out, (uint8_t)*q, err));
            }
        }
        p = *q ? q + 1 : q;
    }
    return 0;
}

/* "type", "name", "parameters" of one column's field. */
static int field_type(dc_buf *o, const dc_mysql_column *c, dc_err *err)
{
    const char *dt = c->data_type;
    switch (c->enc) {
    case DC_MYSQL_ENC_INT: {
        const char *ty = "int32";
        if (strcmp(dt, "tinyint") == 0) ty = "int16";
        else if (strcmp(dt, "smallint") == 0) ty = c->is_unsigned ? "int32" : "int16";
        else if (strcmp(dt, "mediumint") == 0) ty = "int32";
        else if (strcmp(dt, "int") == 0 || strcmp(dt, "integer") == 0)
            ty = c->is_unsigned ? "int64" : "int32";
        else if (strcmp(dt, "bigint") == 0) ty = "int64";
        return dc_buf_appendf(o, err, "\"type\":\"%s\"", ty);
    }
    case DC_MYSQL_ENC_DECIMAL: {
        const int64_t p = strcmp(dt, "bigint") == 0 ? 20 : c->precision;
        const int64_t s = strcmp(dt, "bigint") == 0 ? 0 : c->scale < 0 ? 0 : c->scale;
        return dc_buf_appendf(o, err, "\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect."
                              "data.Decimal\",\"version\":1,\"parameters\":{\"scale\":\"%" PRId64
                              "\",\"connect.decimal.precision\":\"%" PRId64 "\"}", s, p);
    }
    case DC_MYSQL_ENC_FLOAT:
        return dc_buf_appendf(o, err, "\"type\":\"%s\"",
                              strcmp(dt, "float") == 0 ? "float" : "double");
    case DC_MYSQL_ENC_YEAR:
        return dc_buf_puts(o, "\"type\":\"int32\",\"name\":\"io.debezium.time.Year\",\"version\":1",
                           err);
    case DC_MYSQL_ENC_STRING: {
        const bool en = strcmp(dt, "enum") == 0, set = strcmp(dt, "set") == 0;
        if (strcmp(dt, "json") == 0)
            return dc_buf_puts(o, "\"type\":\"string\",\"name\":\"io.debezium.data.Json\","
                               "\"version\":1", err);
        if (!en && !set) return dc_buf_puts(o, "\"type\":\"string\"", err);
        dc_buf a;
        dc_buf_init(&a, 1 << 24);
        int rc = allowed_values(&a, c->column_type, err);
        if (rc == 0) rc = dc_buf_appendf(o, err, "\"type\":\"string\",\"name\":\"io.debezium.data."
                                         "%s\",\"version\":1,\"parameters\":{\"allowed\":",
                                         en ? "Enum" : "EnumSet");
        if (rc == 0) rc = dc_json_put_str(o, (const char *)a.data, a.len, err);
        if (rc == 0) rc = dc_buf_putc(o, '}', err);
        dc_buf_dispose(&a);
        return rc;
    }
    case DC_MYSQL_ENC_BYTES: return dc_buf_puts(o, "\"type\":\"bytes\"", err);
    case DC_MYSQL_ENC_BIT1: return dc_buf_puts(o, "\"type\":\"boolean\"", err);
    case DC_MYSQL_ENC_BITS:
        return dc_buf_appendf(o, err, "\"type\":\"bytes\",\"name\":\"io.debezium.data.Bits\","
                              "\"version\":1,\"parameters\":{\"length\":\"%" PRId64 "\"}",
                              c->precision);
    case DC_MYSQL_ENC_DATE:
        return dc_buf_puts(o, "\"type\":\"int32\",\"name\":\"io.debezium.time.Date\",\"version\":1",
                           err);
    case DC_MYSQL_ENC_DATETIME_MS:
        return dc_buf_puts(o, "\"type\":\"int64\",\"name\":\"io.debezium.time.Timestamp\","
                           "\"version\":1", err);
    case DC_MYSQL_ENC_DATETIME_US:
        return dc_buf_puts(o, "\"type\":\"int64\",\"name\":\"io.debezium.time.MicroTimestamp\","
                           "\"version\":1", err);
    case DC_MYSQL_ENC_TIMESTAMP:
        return dc_buf_puts(o, "\"type\":\"string\",\"name\":\"io.debezium.time.ZonedTimestamp\","
                           "\"version\":1", err);
    case DC_MYSQL_ENC_TIME:
        return dc_buf_puts(o, "\"type\":\"int64\",\"name\":\"io.debezium.time.MicroTime\","
                           "\"version\":1", err);
    case DC_MYSQL_ENC_GEOMETRY:
        return dc_buf_puts(o, "\"type\":\"struct\",\"fields\":[{\"type\":\"bytes\",\"optional\":"
                           "false,\"field\":\"wkb\"},{\"type\":\"int32\",\"optional\":true,"
                           "\"field\":\"srid\"}],\"name\":\"io.debezium.data.geometry.Geometry\","
                           "\"version\":1,\"doc\":\"Geometry\"", err);
    case DC_MYSQL_ENC_POINT:
        return dc_buf_puts(o, "\"type\":\"struct\",\"fields\":[{\"type\":\"double\",\"optional\":"
                           "false,\"field\":\"x\"},{\"type\":\"double\",\"optional\":false,"
                           "\"field\":\"y\"},{\"type\":\"bytes\",\"optional\":true,\"field\":"
                           "\"wkb\"},{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}],"
                           "\"name\":\"io.debezium.data.geometry.Point\",\"version\":1,\"doc\":"
                           "\"Geometry (POINT)\"", err);
    }
    return dc_err_set(err, DC_EINVAL, "column '%s': no encoding", c->name);
}

/* One image struct ("before" or "after"). */
static int image_struct(dc_buf *o, const dc_mysql_table *t, const char *server,
                        const char *field, dc_err *err)
{
    DC_TRY(dc_buf_puts(o, "{\"type\":\"struct\",\"fields\":[", err));
    for (uint32_t i = 0; i < t->n_cols; i++) {
        const dc_mysql_column *c = &t->cols[i];
        DC_TRY(dc_buf_puts(o, i ? ",{" : "{", err));
        DC_TRY(field_type(o, c, err));
        DC_TRY(dc_buf_appendf(o, err, ",\"optional\":%s,\"field\":",
                              c->nullable ? "true" : "false"));
        DC_TRY(dc_json_put_str(o, c->name, strlen(c->name), err));
        DC_TRY(dc_buf_putc(o, '}', err));
    }
    DC_TRY(dc_buf_puts(o, "],\"optional\":true,\"name\":", err));
    dc_buf n;
    dc_buf_init(&n, 1 << 16);
    int rc = dc_buf_appendf(&n, err, "%s.%s.%s.Value", server, t->db, t->name);
    if (rc == 0) rc = dc_json_put_str(o, (const char *)n.data, n.len, err);
    dc_buf_dispose(&n);
    if (rc < 0) return rc;
    return dc_buf_appendf(o, err, ",\"field\":\"%s\"}", field);
}

int dc_mysql_debezium_schema(dc_buf *out, const dc_mysql_table *t, const char *server,
                             dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "{\"type\":\"struct\",\"fields\":[", err));
    DC_TRY(image_struct(out, t, server, "before", err));
    DC_TRY(dc_buf_putc(out, ',', err));
    DC_TRY(image_struct(out, t, server, "after", err));
    DC_TRY(dc_buf_puts(out, ",{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
                       "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"}],"
                       "\"optional\":false,\"name\":", err));
    dc_buf n;
    dc_buf_init(&n, 1 << 16);
    int rc = dc_buf_appendf(&n, err, "%s.%s.%s.Envelope", server, t->db, t->name);
    if (rc == 0) rc = dc_json_put_str(out, (const char *)n.data, n.len, err);
    dc_buf_dispose(&n);
    if (rc < 0) return rc;
    return dc_buf_puts(out, ",\"version\":2}", err);
}
