/* Schema-change records → renames and drops (src/cdc/cdc_schemachange.c),
 * on records shaped like Debezium 3.5's (tests/data/debezium_mariadb_schema_changes.jsonl). */
#include "../../src/cdc/cdc.h"
#include "../test.h"

#include <stdio.h>

/* A schema-change record value (no envelope) for `db.t` at pos. */
static const char *rec(char *buf, size_t cap, long pos, const char *type, const char *ddl,
                       const char *cols)
{
    char list[4096] = "";
    size_t n = 0;
    char name[64];
    const char *p = cols;
    while (*p) {
        size_t k = strcspn(p, ",");
        snprintf(name, sizeof name, "%.*s", (int)k, p);
        n += (size_t)snprintf(list + n, sizeof list - n, "%s{\"name\":\"%s\",\"position\":1}",
                              n ? "," : "", name);
        p += k + (p[k] == ',');
    }
    snprintf(buf, cap, "{\"source\":{\"file\":\"binlog.000001\",\"pos\":%ld,\"row\":0,"
             "\"snapshot\":null},\"databaseName\":\"db\",\"ddl\":\"%s\",\"tableChanges\":"
             "[{\"type\":\"%s\",\"id\":\"\\\"db\\\".\\\"t\\\"\",\"table\":{\"columns\":[%s]}}]}",
             pos, ddl, type, list);
    return buf;
}

static dc_cdc_schemalog *log_of(const char *const *recs, size_t n)
{
    dc_cdc_schemalog *l = NULL;
    dc_err err;
    CHECK_OK(dc_cdc_schemalog_new(&l, &err), &err);
    for (size_t i = 0; l && i < n; i++)
        CHECK_OK(dc_cdc_schemalog_add(l, recs[i], strlen(recs[i]), (int64_t)i + 1, &err), &err);
    return l;
}

TEST(cdc_schemachange_rename_change_drop)
{
    char b[6][8192];
    const char *recs[] = {
        rec(b[0], sizeof b[0], 100, "CREATE", "CREATE TABLE t (id INT, note TEXT, x INT, y INT)",
            "id,note,x,y"),
        rec(b[1], sizeof b[1], 200, "ALTER", "ALTER TABLE t RENAME COLUMN note TO remark",
            "id,remark,x,y"),
        rec(b[2], sizeof b[2], 300, "ALTER", "ALTER TABLE `t` CHANGE `x` `xx` DECIMAL(12,2)",
            "id,remark,xx,y"),
        rec(b[3], sizeof b[3], 400, "ALTER", "ALTER TABLE db.t DROP COLUMN y", "id,remark,xx"),
        /* a type change only: no rename */
        rec(b[4], sizeof b[4], 500, "ALTER", "ALTER TABLE t CHANGE COLUMN xx xx BIGINT",
            "id,remark,xx"),
        /* drop and add the same name back: a drop (the add comes with the data) */
        rec(b[5], sizeof b[5], 600, "ALTER", "ALTER TABLE t DROP remark, ADD COLUMN remark INT",
            "id,xx,remark"),
    };
    dc_cdc_schemalog *l = log_of(recs, 6);
    CHECK_EQ_INT(dc_cdc_schemalog_n(l), 4);
    const dc_cdc_colop *o = dc_cdc_schemalog_op(l, 0);
    CHECK_EQ_INT(o->kind, DC_CDC_COL_RENAME);
    CHECK_EQ_STR(o->from, "note");
    CHECK_EQ_STR(o->to, "remark");
    CHECK_EQ_STR(o->table, "db.t");
    CHECK_EQ_INT(o->pos.pos, 200);
    CHECK_EQ_INT(o->pos.file, 1);
    CHECK_EQ_INT(o->line, 2);
    o = dc_cdc_schemalog_op(l, 1);
    CHECK_EQ_INT(o->kind, DC_CDC_COL_RENAME);
    CHECK_EQ_STR(o->from, "x");
    CHECK_EQ_STR(o->to, "xx");
    o = dc_cdc_schemalog_op(l, 2);
    CHECK_EQ_INT(o->kind, DC_CDC_COL_DROP);
    CHECK_EQ_STR(o->from, "y");
    CHECK_EQ_INT(o->pos.pos, 400);
    o = dc_cdc_schemalog_op(l, 3);
    CHECK_EQ_INT(o->kind, DC_CDC_COL_DROP);
    CHECK_EQ_STR(o->from, "remark");
    CHECK_EQ_INT(o->pos.pos, 600);
    dc_cdc_schemalog_free(l);
}

TEST(cdc_schemachange_drop_then_rename_into_its_name)
{
    /* The structured lists alone would call this a drop of a; the DDL
     * replayed says b went and a became b. */
    char b[2][8192];
    const char *recs[] = {
        rec(b[0], sizeof b[0], 100, "CREATE", "CREATE TABLE t (a INT, b INT)", "a,b"),
        rec(b[1], sizeof b[1], 200, "ALTER",
            "ALTER TABLE t DROP COLUMN b, RENAME COLUMN a TO b /* why not */", "b"),
    };
    dc_cdc_schemalog *l = log_of(recs, 2);
    CHECK_EQ_INT(dc_cdc_schemalog_n(l), 2);
    CHECK_EQ_INT(dc_cdc_schemalog_op(l, 0)->kind, DC_CDC_COL_DROP);
    CHECK_EQ_STR(dc_cdc_schemalog_op(l, 0)->from, "b");
    CHECK_EQ_INT(dc_cdc_schemalog_op(l, 1)->kind, DC_CDC_COL_RENAME);
    CHECK_EQ_STR(dc_cdc_schemalog_op(l, 1)->to, "b");
    dc_cdc_schemalog_free(l);
}

TEST(cdc_schemachange_unfollowed_ddl_and_no_history)
{
    char b[3][8192];
    /* No CREATE before: only what the DDL says and the list confirms. */
    const char *first[] = {
        rec(b[0], sizeof b[0], 100, "ALTER", "ALTER TABLE t RENAME COLUMN a TO c, DROP d", "c,e"),
    };
    dc_cdc_schemalog *l = log_of(first, 1);
    CHECK_EQ_INT(dc_cdc_schemalog_n(l), 2);
    CHECK_EQ_STR(dc_cdc_schemalog_op(l, 0)->to, "c");
    CHECK_EQ_STR(dc_cdc_schemalog_op(l, 1)->from, "d");
    dc_cdc_schemalog_free(l);
    /* A statement the reader does not follow: names that went are drops. */
    const char *odd[] = {
        rec(b[1], sizeof b[1], 100, "CREATE", "CREATE TABLE t (a INT, b INT)", "a,b"),
        rec(b[2], sizeof b[2], 200, "ALTER", "ALTER TABLE t MODIFY something odd", "a"),
    };
    l = log_of(odd, 2);
    CHECK_EQ_INT(dc_cdc_schemalog_n(l), 1);
    CHECK_EQ_INT(dc_cdc_schemalog_op(l, 0)->kind, DC_CDC_COL_DROP);
    CHECK_EQ_STR(dc_cdc_schemalog_op(l, 0)->from, "b");
    dc_cdc_schemalog_free(l);
}

TEST(cdc_schemachange_refuses_bad_records)
{
    dc_cdc_schemalog *l = NULL;
    dc_err err;
    CHECK_OK(dc_cdc_schemalog_new(&l, &err), &err);
    const char *bad[] = {
        "{\"tableChanges\":[]}",                                   /* no source */
        "{\"source\":{\"file\":\"b.1\",\"pos\":\"x\"},\"tableChanges\":[]}",
        "{\"source\":{\"file\":\"b.1\",\"pos\":1},\"tableChanges\":[{\"type\":\"ALTER\"}]}",
        "{\"source\":{\"file\":\"b.1\",\"pos\":1},\"tableChanges\":[{\"type\":\"ALTER\","
        "\"id\":\"t\",\"table\":{\"columns\":[{}]}}]}",
        "[1]", "{",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(dc_cdc_schemalog_add(l, bad[i], strlen(bad[i]), 7, &err) < 0);
        CHECK(strstr(err.msg, "line 7") != NULL);
    }
    /* tombstones and data-less records are nothing */
    CHECK_OK(dc_cdc_schemalog_add(l, "null", 4, 8, &err), &err);
    CHECK_OK(dc_cdc_schemalog_add(l, "{\"payload\":null}", 16, 9, &err), &err);
    CHECK_EQ_INT(dc_cdc_schemalog_n(l), 0);
    dc_cdc_schemalog_free(l);
}

TEST(cdc_schemachange_envelope_table)
{
    char out[256];
    dc_err err;
    const char *s = "{\"type\":\"struct\",\"name\":\"e2e.shop.alltypes.Envelope\"}";
    CHECK_OK(dc_cdc_envelope_table(out, sizeof out, s, strlen(s), &err), &err);
    CHECK_EQ_STR(out, "shop.alltypes");
    s = "{\"type\":\"struct\",\"name\":\"a.b.c.d.Envelope\"}";
    CHECK_OK(dc_cdc_envelope_table(out, sizeof out, s, strlen(s), &err), &err);
    CHECK_EQ_STR(out, "c.d");
    s = "{\"type\":\"struct\"}";
    CHECK_OK(dc_cdc_envelope_table(out, sizeof out, s, strlen(s), &err), &err);
    CHECK_EQ_STR(out, "");
}
