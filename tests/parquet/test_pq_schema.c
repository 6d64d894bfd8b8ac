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
