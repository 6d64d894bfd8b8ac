/* Unit tests of the ingest routing helpers: topic patterns and Debezium
 * topic names to {db}/{table}, globs, path templates. */
#include "../test.h"

#include "../../src/daemon/ingest_int.h"

static void check_cap(const ing_capture *c, const char *db, const char *table)
{
    if (!c->db || strlen(db) != c->db_len || memcmp(c->db, db, c->db_len) != 0)
        dc_test_fail(__FILE__, __LINE__, "db '%.*s', expected '%s'", (int)c->db_len,
                     c->db ? c->db : "", db);
    if (!c->table || strlen(table) != c->table_len || memcmp(c->table, table, c->table_len) != 0)
        dc_test_fail(__FILE__, __LINE__, "table '%.*s', expected '%s'", (int)c->table_len,
                     c->table ? c->table : "", table);
}

TEST(ingest_route_patterns)
{
    ing_capture c;
    CHECK(ing_pattern_match("cdc-{db}-{table}", "cdc-shop-customers", &c));
    check_cap(&c, "shop", "customers");
    CHECK(ing_pattern_match("cdc-{db}-{table}", "cdc-shop-order-items", &c));
    check_cap(&c, "shop", "order-items");
    CHECK(!ing_pattern_match("cdc-{db}-{table}", "cdc-shop", &c));
    CHECK(!ing_pattern_match("cdc-{db}-{table}", "xcdc-shop-a", &c));
    CHECK(ing_pattern_match("{db}.{table}", "inventory.orders", &c));
    check_cap(&c, "inventory", "orders");
}

TEST(ingest_route_topic_names)
{
    ing_capture c;
    ing_topic_names(&c, "dbserver1.inventory.customers");
    check_cap(&c, "inventory", "customers");
    ing_topic_names(&c, "inventory.customers");
    check_cap(&c, "inventory", "customers");
    ing_topic_names(&c, "customers");
    check_cap(&c, "default", "customers");
    ing_topic_names(&c, "weird.");
    check_cap(&c, "default", "weird.");
    ing_topic_names(&c, ".x");
    check_cap(&c, "default", ".x");
}

TEST(ingest_route_glob)
{
    CHECK(ing_glob("*", "a.b", 3));
    CHECK(ing_glob("shop.*", "shop.customers", 14));
    CHECK(!ing_glob("shop.*", "shopx.customers", 15));
    CHECK(ing_glob("*.cust?mers", "shop.customers", 14));
    CHECK(ing_glob("a*b*c", "aXXbYYc", 7));
    CHECK(!ing_glob("a*b*c", "aXXbYY", 6));
    CHECK(ing_glob("", "", 0));
    CHECK(!ing_glob("", "x", 1));
}

TEST(ingest_route_expand)
{
    dc_err err;
    dc_buf b;
    dc_buf_init(&b, 4096);
    ing_vars v = {.warehouse = "./lake", .topic = "cdc-shop-customers", .pipeline = "p"};
    CHECK(ing_pattern_match("cdc-{db}-{table}", v.topic, &v.cap));
    CHECK_OK(ing_expand(&b, "{warehouse}/{db}.db/{table}", &v, &err), &err);
    CHECK_EQ_STR((const char *)b.data, "./lake/shop.db/customers");
    CHECK_OK(ing_expand(&b, "/x/{topic}-{pipeline}/{unknown}", &v, &err), &err);
    CHECK_EQ_STR((const char *)b.data, "/x/cdc-shop-customers-p/{unknown}");
    ing_vars f = {.warehouse = "./lake", .topic = "file:/a.jsonl", .pipeline = "p"};
    CHECK_EQ_INT(ing_expand(&b, "{warehouse}/{db}.db/{table}", &f, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "{db}") != NULL && strstr(err.msg, "file:/a.jsonl") != NULL);
    CHECK_EQ_INT(ing_expand(&b, "", &f, &err), DC_EINVAL);
    dc_buf_dispose(&b);
}
