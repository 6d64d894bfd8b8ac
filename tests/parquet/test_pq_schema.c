/* Schema building: levels and legacy list/map layouts (LogicalTypes.md). */
#include "../test.h"
#include "../../src/parquet/parquet.h"

static pq_schema_element el(const char *name, int rep, int type, int nchildren, int ct)
{
    pq_schema_element e;
    memset(&e, 0, sizeof e);
    e.name = name;
    e.has_repetition = rep >= 0;
    e.repetition = rep >= 0 ? (pq_repetition)rep : PQ_REQUIRED;
    e.has_type = type >= 0;
    e.type = type >= 0 ? (pq_type)type : PQ_INT32;
    e.num_children = nchildren;
    e.converted_type = (pq_converted_type)ct;
    return e;
}

TEST(schema_three_level_list_levels)
{
    dc_err err;
    /* optional group a (LIST) { repeated group list { optional int32 element } } */
    pq_schema_element e[] = {
        el("schema", -1, -1, 2, PQ_CT_NONE),
        el("id", PQ_REQUIRED, PQ_INT64, 0, PQ_CT_NONE),
        el("a", PQ_OPTIONAL, -1, 1, PQ_CT_LIST),
        el("list", PQ_REPEATED, -1, 1, PQ_CT_NONE),
        el("element", PQ_OPTIONAL, PQ_INT32, 0, PQ_CT_NONE),
    };
    dc_pq_schema *s = NULL;
    CHECK_OK(dc_pq_schema_from_elements(&s, e, 5, &err), &err);
    if (!s) return;
    CHECK_EQ_INT(s->n_leaves, 2);
    CHECK_EQ_INT(s->leaves[0].max_def, 0);
    CHECK_EQ_INT(s->leaves[1].max_def, 3);
    CHECK_EQ_INT(s->leaves[1].max_rep, 1);
    CHECK_EQ_STR(s->leaves[1].dotted, "a.list.element");
    const dc_pq_field *a = &s->root.children[1];
    CHECK_EQ_INT(a->type, DC_TYPE_ARRAY);
    CHECK_EQ_INT(a->def_level, 1);
    CHECK_EQ_INT(a->children[0].def_level, 3);
    CHECK_EQ_INT(a->children[0].rep_level, 1);
    CHECK(s->leaves[1].field == &a->children[0]);
    dc_pq_schema_free(s);
}

TEST(schema_legacy_lists_and_maps)
{
    dc_err err;
    /* repeated int32 r;  optional group l (LIST) { repeated int32 array };
       optional group m (MAP) { repeated group key_value { required binary key (UTF8);
       optional int32 value } } */
    pq_schema_element e[] = {
        el("schema", -1, -1, 3, PQ_CT_NONE),
        el("r", PQ_REPEATED, PQ_INT32, 0, PQ_CT_NONE),
        el("l", PQ_OPTIONAL, -1, 1, PQ_CT_LIST),
        el("array", PQ_REPEATED, PQ_INT32, 0, PQ_CT_NONE),
        el("m", PQ_OPTIONAL, -1, 1, PQ_CT_MAP),
        el("key_value", PQ_REPEATED, -1, 2, PQ_CT_MAP_KEY_VALUE),
        el("key", PQ_REQUIRED, PQ_BYTE_ARRAY, 0, PQ_CT_UTF8),
        el("value", PQ_OPTIONAL, PQ_INT32, 0, PQ_CT_NONE),
    };
    dc_pq_schema *s = NULL;
    CHECK_OK(dc_pq_schema_from_elements(&s, e, 8, &err), &err);
    if (!s) return;
    CHECK_EQ_INT(s->n_leaves, 4);
    const dc_pq_field *r = &s->root.children[0], *l = &s->root.children[1], *m = &s->root.children[2];
    CHECK_EQ_INT(r->type, DC_TYPE_ARRAY);
    CHECK(!r->nullable);
    CHECK_EQ_INT(r->children[0].def_level, 1);
    CHECK_EQ_INT(s->leaves[0].max_def, 1);
    CHECK_EQ_INT(s->leaves[0].max_rep, 1);
    CHECK_EQ_INT(l->type, DC_TYPE_ARRAY);
    CHECK_EQ_INT(s->leaves[1].max_def, 2);
    CHECK_EQ_INT(m->type, DC_TYPE_MAP);
    CHECK_EQ_INT(m->children[0].type, DC_TYPE_STRING);
    CHECK_EQ_INT(s->leaves[2].max_def, 2);
    CHECK_EQ_INT(s->leaves[3].max_def, 3);
    CHECK_EQ_INT(s->leaves[3].max_rep, 1);
    dc_pq_schema_free(s);
}

TEST(schema_rejects_bad_trees)
{
    dc_err err;
    pq_schema_element short_tree[] = {el("schema", -1, -1, 3, PQ_CT_NONE),
                                      el("a", PQ_REQUIRED, PQ_INT32, 0, PQ_CT_NONE)};
    dc_pq_schema *s = NULL;
    CHECK_EQ_INT(dc_pq_schema_from_elements(&s, short_tree, 2, &err), DC_ECORRUPT);
    CHECK(s == NULL);
    pq_schema_element list_not_repeated[] = {el("schema", -1, -1, 1, PQ_CT_NONE),
                                             el("l", PQ_OPTIONAL, -1, 1, PQ_CT_LIST),
                                             el("x", PQ_OPTIONAL, PQ_INT32, 0, PQ_CT_NONE)};
    CHECK_EQ_INT(dc_pq_schema_from_elements(&s, list_not_repeated, 3, &err), DC_ECORRUPT);
    CHECK(strstr(err.msg, "repeated") != NULL);
    pq_schema_element flba[] = {el("schema", -1, -1, 1, PQ_CT_NONE),
                                el("f", PQ_OPTIONAL, PQ_FIXED_LEN_BYTE_ARRAY, 0, PQ_CT_NONE)};
    CHECK_EQ_INT(dc_pq_schema_from_elements(&s, flba, 2, &err), DC_ECORRUPT);
}

static dc_pq_schema *from_delta_text(const char *text, dc_err *err)
{
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    dc_json *doc = NULL;
    dc_pq_schema *s = NULL;
    if (dc_json_parse(&doc, &a, text, strlen(text), err) == 0) dc_pq_schema_from_delta(&s, doc, err);
    dc_arena_dispose(&a);
    return s;
}

TEST(schema_from_delta_spark_mapping)
{
    dc_err err;
    dc_err_clear(&err);
    const char *text =
        "{\"type\":\"struct\",\"fields\":["
        "{\"name\":\"b\",\"type\":\"byte\",\"nullable\":false,\"metadata\":{}},"
        "{\"name\":\"d9\",\"type\":\"decimal(9,2)\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"d18\",\"type\":\"decimal(18,2)\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"d38\",\"type\":\"decimal(38,10)\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"ts\",\"type\":\"timestamp\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"ntz\",\"type\":\"timestamp_ntz\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"arr\",\"type\":{\"type\":\"array\",\"elementType\":\"string\",\"containsNull\":true},"
        "\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":"
        "{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]},"
        "\"valueContainsNull\":true},\"nullable\":false,\"metadata\":{}},"
        "{\"name\":\"cm\",\"type\":\"integer\",\"nullable\":true,\"metadata\":"
        "{\"delta.columnMapping.id\":7,\"delta.columnMapping.physicalName\":\"col-abc\"}}]}";
    dc_pq_schema *s = from_delta_text(text, &err);
    CHECK(s != NULL);
    if (!s) { fprintf(stderr, "%s\n", err.msg); return; }
    CHECK_EQ_INT(s->n_leaves, 10);
    CHECK_EQ_INT(s->leaves[0].phys, PQ_INT32);
    CHECK_EQ_INT(s->leaves[0].max_def, 0);
    CHECK_EQ_INT(s->leaves[1].phys, PQ_INT32);
    CHECK_EQ_INT(s->leaves[2].phys, PQ_INT64);
    CHECK_EQ_INT(s->leaves[3].phys, PQ_FIXED_LEN_BYTE_ARRAY);
    CHECK_EQ_INT(s->leaves[3].type_length, 16);
    const pq_schema_element *ts = &s->elements[s->leaves[4].elem];
    CHECK(ts->logical.kind == PQ_LT_TIMESTAMP && ts->logical.is_adjusted_to_utc);
    const pq_schema_element *ntz = &s->elements[s->leaves[5].elem];
    CHECK(ntz->logical.kind == PQ_LT_TIMESTAMP && !ntz->logical.is_adjusted_to_utc);
    CHECK_EQ_STR(s->leaves[6].dotted, "arr.list.element");
    CHECK_EQ_INT(s->leaves[6].max_def, 3);
    CHECK_EQ_INT(s->leaves[6].max_rep, 1);
    CHECK_EQ_STR(s->leaves[7].dotted, "m.key_value.key");
    CHECK_EQ_INT(s->leaves[7].max_def, 1);
    CHECK_EQ_STR(s->leaves[8].dotted, "m.key_value.value.x");
    CHECK_EQ_INT(s->leaves[8].max_def, 3);
    CHECK_EQ_STR(s->root.children[8].name, "col-abc");
    CHECK(s->root.children[8].has_field_id && s->root.children[8].field_id == 7);

    /* Round trip through the file form: the elements rebuild the same tree. */
    dc_pq_schema *back = NULL;
    CHECK_OK(dc_pq_schema_from_elements(&back, s->elements, s->n_elements, &err), &err);
    if (back) {
        dc_buf a, b;
        dc_buf_init(&a, 1 << 20);
        dc_buf_init(&b, 1 << 20);
        CHECK_OK(dc_pq_schema_to_delta_json(&a, s, &err), &err);
        CHECK_OK(dc_pq_schema_to_delta_json(&b, back, &err), &err);
        CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        for (uint32_t i = 0; i < s->n_leaves; i++) {
            CHECK_EQ_INT(back->leaves[i].max_def, s->leaves[i].max_def);
            CHECK_EQ_INT(back->leaves[i].max_rep, s->leaves[i].max_rep);
        }
        dc_buf_dispose(&a);
        dc_buf_dispose(&b);
        dc_pq_schema_free(back);
    }
    dc_pq_schema_free(s);
}

TEST(schema_from_delta_errors)
{
    dc_err err;
    CHECK(from_delta_text("{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}", &err) == NULL);
    CHECK(strstr(err.msg, "field 'a'") && strstr(err.msg, "unknown type"));
    CHECK(from_delta_text("{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"decimal(40,2)\"}]}", &err) == NULL);
    CHECK(from_delta_text("[1,2]", &err) == NULL);
    CHECK(from_delta_text("{\"type\":\"struct\",\"fields\":[{\"name\":\"s\",\"type\":{\"type\":\"struct\",\"fields\":[]}}]}", &err) == NULL);
    for (long n = 1; n < 200; n++) {
        dc_alloc_fail_after(n);
        dc_pq_schema *s = from_delta_text("{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":"
                                          "{\"type\":\"array\",\"elementType\":\"decimal(20,3)\"}}]}", &err);
        dc_alloc_fail_after(0);
        dc_pq_schema_free(s);
    }
}
