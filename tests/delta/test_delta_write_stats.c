/* delta write: add-action stats from a Parquet footer (aggregation over row
 * groups, types, Spark's string truncation, indexed-column limit) and the
 * path/partition escaping writers use. */
#include "../test.h"

#include "../../src/delta/delta_write_int.h"

/* A footer with one chunk per leaf per row group, built by hand. */
typedef struct fake_footer {
    pq_file_meta meta;
    pq_row_group rgs[2];
    pq_column_chunk chunks[2][8];
} fake_footer;

static dc_pq_schema *schema_of(const char *json)
{
    dc_err err;
    dc_err_clear(&err);
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    dc_json *doc = NULL;
    dc_pq_schema *s = NULL;
    CHECK_OK(dc_json_parse(&doc, &a, json, strlen(json), &err), &err);
    if (doc) CHECK_OK(dc_pq_schema_from_delta(&s, doc, &err), &err);
    dc_arena_dispose(&a);
    return s;
}

static void set_stats(pq_column_chunk *c, int64_t nulls, const void *min, uint32_t min_len,
                      const void *max, uint32_t max_len)
{
    memset(c, 0, sizeof *c);
    c->has_meta_data = true;
    pq_statistics *st = &c->meta_data.statistics;
    st->is_set = true;
    st->has_null_count = true;
    st->null_count = nulls;
    if (min) {
        st->has_min_value = st->has_max_value = true;
        st->min_value = (pq_bytes){min, min_len};
        st->max_value = (pq_bytes){max, max_len};
    }
}

static char *stats_json(const dc_pq_schema *s, fake_footer *f, uint32_t n_rg,
                        const int64_t *rows, const dc_delta_stats_opts *o)
{
    dc_err err;
    dc_err_clear(&err);
    memset(&f->meta, 0, sizeof f->meta);
    f->meta.n_row_groups = n_rg;
    f->meta.row_groups = f->rgs;
    for (uint32_t r = 0; r < n_rg; r++) {
        f->rgs[r].n_columns = s->n_leaves;
        f->rgs[r].columns = f->chunks[r];
        f->rgs[r].num_rows = rows[r];
        f->meta.num_rows += rows[r];
    }
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    CHECK_OK(dc_delta_stats_from_footer(&b, s, &f->meta, o, &err), &err);
    CHECK_OK(dc_buf_putc(&b, 0, &err), &err);
    return (char *)dc_buf_steal(&b, NULL);
}

TEST(delta_write_stats_aggregate_types)
{
    static const char schema[] =
        "{\"type\":\"struct\",\"fields\":["
        "{\"name\":\"i\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"s\",\"type\":{\"type\":\"struct\",\"fields\":["
        "  {\"name\":\"d\",\"type\":\"date\",\"nullable\":true,\"metadata\":{}},"
        "  {\"name\":\"b\",\"type\":\"boolean\",\"nullable\":true,\"metadata\":{}}]},"
        " \"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"dec\",\"type\":\"decimal(5,2)\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"ts\",\"type\":\"timestamp\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"arr\",\"type\":{\"type\":\"array\",\"elementType\":\"long\","
        " \"containsNull\":true},\"nullable\":true,\"metadata\":{}}]}";
    dc_pq_schema *s = schema_of(schema);
    CHECK(s && s->n_leaves == 6);
    if (!s) return;
    fake_footer f;
    const int64_t i_lo0 = 5, i_hi0 = 9, i_lo1 = -3, i_hi1 = 7;
    const int32_t d_lo = 19723, d_hi = 19724;          /* 2024-01-01, 2024-01-02 */
    const int32_t dec_lo = -150, dec_hi = 12345;       /* -1.50, 123.45 */
    const int64_t ts_lo = 1704067200123999, ts_hi = -1; /* ms truncation, pre-epoch */
    const uint8_t bf = 0, bt = 1;
    set_stats(&f.chunks[0][0], 1, &i_lo0, 8, &i_hi0, 8);
    set_stats(&f.chunks[1][0], 0, &i_lo1, 8, &i_hi1, 8);
    set_stats(&f.chunks[0][1], 0, &d_lo, 4, &d_lo, 4);
    set_stats(&f.chunks[1][1], 2, &d_hi, 4, &d_hi, 4);
    set_stats(&f.chunks[0][2], 0, &bf, 1, &bt, 1);
    set_stats(&f.chunks[1][2], 0, &bf, 1, &bt, 1);
    set_stats(&f.chunks[0][3], 0, &dec_lo, 4, &dec_hi, 4);
    set_stats(&f.chunks[1][3], 3, NULL, 0, NULL, 0); /* all null: no bound, no harm */
    set_stats(&f.chunks[0][4], 0, &ts_lo, 8, &ts_lo, 8);
    set_stats(&f.chunks[1][4], 0, &ts_hi, 8, &ts_hi, 8);
    set_stats(&f.chunks[0][5], 0, &i_lo0, 8, &i_hi0, 8);
    set_stats(&f.chunks[1][5], 0, &i_lo0, 8, &i_hi0, 8);
    const int64_t rows[2] = {4, 3};
    dc_delta_stats_opts o;
    dc_delta_stats_opts_init(&o);
    o.tight_bounds = true;
    char *j = stats_json(s, &f, 2, rows, &o);
    CHECK_EQ_STR(j,
                 "{\"numRecords\":7,"
                 "\"minValues\":{\"i\":-3,\"s\":{\"d\":\"2024-01-01\"},\"dec\":-1.50,"
                 "\"ts\":\"1969-12-31T23:59:59.999Z\"},"
                 "\"maxValues\":{\"i\":9,\"s\":{\"d\":\"2024-01-02\"},\"dec\":123.45,"
                 "\"ts\":\"2024-01-01T00:00:00.123Z\"},"
                 "\"nullCount\":{\"i\":1,\"s\":{\"d\":2,\"b\":0},\"dec\":3,\"ts\":0},"
                 "\"tightBounds\":true}");
    dc_free(j);
    /* Only the first 2 leaf columns are indexed: i and s.d. */
    o.num_indexed_cols = 2;
    o.tight_bounds = false;
    j = stats_json(s, &f, 2, rows, &o);
    CHECK_EQ_STR(j, "{\"numRecords\":7,\"minValues\":{\"i\":-3,\"s\":{\"d\":\"2024-01-01\"}},"
                    "\"maxValues\":{\"i\":9,\"s\":{\"d\":\"2024-01-02\"}},"
                    "\"nullCount\":{\"i\":1,\"s\":{\"d\":2}}}");
    dc_free(j);
    /* A row group without a bound kills that bound (it would not be a bound). */
    f.chunks[1][0].meta_data.statistics.has_min_value = false;
    o.num_indexed_cols = 1;
    j = stats_json(s, &f, 2, rows, &o);
    CHECK_EQ_STR(j, "{\"numRecords\":7,\"maxValues\":{\"i\":9},\"nullCount\":{\"i\":1}}");
    dc_free(j);
    dc_pq_schema_free(s);
}

static char *string_stats(const char *min, const char *max)
{
    dc_pq_schema *s = schema_of("{\"type\":\"struct\",\"fields\":[{\"name\":\"s\","
                                "\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}");
    if (!s) return NULL;
    fake_footer f;
    set_stats(&f.chunks[0][0], 0, min, (uint32_t)strlen(min), max, (uint32_t)strlen(max));
    const int64_t rows[1] = {2};
    dc_delta_stats_opts o;
    dc_delta_stats_opts_init(&o);
    o.string_prefix = 4;
    char *j = stats_json(s, &f, 1, rows, &o);
    dc_pq_schema_free(s);
    return j;
}

TEST(delta_write_stats_string_truncation)
{
    char *j = string_stats("abc", "abcd");
    CHECK_EQ_STR(j, "{\"numRecords\":2,\"minValues\":{\"s\":\"abc\"},\"maxValues\":{\"s\":\"abcd\"},"
                    "\"nullCount\":{\"s\":0}}");
    dc_free(j);
    /* Longer than the prefix: min cut, max cut + DEL (next char < 0x7f). */
    j = string_stats("abcdefg", "abcdefg");
    CHECK_EQ_STR(j, "{\"numRecords\":2,\"minValues\":{\"s\":\"abcd\"},"
                    "\"maxValues\":{\"s\":\"abcd\x7f\"},\"nullCount\":{\"s\":0}}");
    dc_free(j);
    /* Next char above 0x7f: the tie-breaker is U+10FFFF. */
    j = string_stats("abcd\xc3\xa9", "abcd\xc3\xa9");
    CHECK_EQ_STR(j, "{\"numRecords\":2,\"minValues\":{\"s\":\"abcd\"},"
                    "\"maxValues\":{\"s\":\"abcd\xf4\x8f\xbf\xbf\"},\"nullCount\":{\"s\":0}}");
    dc_free(j);
    /* A supplementary character counts two units and is never split. */
    j = string_stats("abc\xf0\x9f\x98\x80xyz", "abc\xf0\x9f\x98\x80xyz");
    CHECK_EQ_STR(j, "{\"numRecords\":2,\"minValues\":{\"s\":\"abc\xf0\x9f\x98\x80\"},"
                    "\"maxValues\":{\"s\":\"abc\xf0\x9f\x98\x80\x7f\"},\"nullCount\":{\"s\":0}}");
    dc_free(j);
    /* Past 2 x prefix of U+10FFFF there is no max at all. */
    j = string_stats("a", "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf");
    CHECK_EQ_STR(j, "{\"numRecords\":2,\"minValues\":{\"s\":\"a\"},\"nullCount\":{\"s\":0}}");
    dc_free(j);
}

TEST(delta_write_stats_num_records)
{
    dc_err err;
    dc_err_clear(&err);
    int64_t n = 0;
    CHECK_OK(dc_delta_stats_num_records(&n, "{\"numRecords\":12,\"minValues\":{}}", &err), &err);
    CHECK_EQ_INT(n, 12);
    CHECK_EQ_INT(dc_delta_stats_num_records(&n, "{\"minValues\":{}}", &err), DC_ENOTFOUND);
    CHECK_EQ_INT(dc_delta_stats_num_records(&n, NULL, &err), DC_ENOTFOUND);
    CHECK(dc_delta_stats_num_records(&n, "{\"numRecords\":", &err) < 0);
    /* the shortcut for numRecords first agrees with the parse, which takes
       every other shape */
    CHECK_OK(dc_delta_stats_num_records(&n, "{\"numRecords\":0}", &err), &err);
    CHECK_EQ_INT(n, 0);
    CHECK_OK(dc_delta_stats_num_records(&n, "{\"numRecords\":123456789012345678,\"x\":1}", &err),
             &err);
    CHECK_EQ_INT(n, 123456789012345678LL);
    CHECK_OK(dc_delta_stats_num_records(&n, "{\"numRecords\":1234567890123456789}", &err), &err);
    CHECK_EQ_INT(n, 1234567890123456789LL);
    CHECK_OK(dc_delta_stats_num_records(&n, "{ \"numRecords\" : 7 }", &err), &err);
    CHECK_EQ_INT(n, 7);
    CHECK_OK(dc_delta_stats_num_records(&n, "{\"minValues\":{\"numRecords\":5},\"numRecords\":9}",
                                        &err), &err);
    CHECK_EQ_INT(n, 9);
    CHECK(dc_delta_stats_num_records(&n, "{\"numRecords\":01}", &err) < 0);
    CHECK(dc_delta_stats_num_records(&n, "{\"numRecords\":1x}", &err) < 0);
    CHECK(dc_delta_stats_num_records(&n, "{\"numRecords\":-1}", &err) < 0 || n == -1);
}

/* The completeness monitor's max_id from the log: a column's maxValues and
 * whether the bounds are tight. */
TEST(delta_write_stats_max_i64)
{
    dc_err err;
    dc_err_clear(&err);
    int64_t m = 0;
    bool tight = false;
    CHECK_OK(dc_delta_stats_max_i64(&m, &tight, "{\"numRecords\":3,\"maxValues\":{\"id\":-7,"
                                    "\"x\":9}}", "id", &err), &err);
    CHECK(m == -7 && tight);
    CHECK_OK(dc_delta_stats_max_i64(&m, &tight, "{\"maxValues\":{\"id\":9223372036854775807},"
                                    "\"tightBounds\":false}", "id", &err), &err);
    CHECK(m == INT64_MAX && !tight);
    CHECK_EQ_INT(dc_delta_stats_max_i64(&m, &tight, "{\"maxValues\":{\"x\":1}}", "id", &err),
                 DC_ENOTFOUND);
    CHECK_EQ_INT(dc_delta_stats_max_i64(&m, &tight, "{\"maxValues\":{\"id\":null}}", "id", &err),
                 DC_ENOTFOUND);
    CHECK_EQ_INT(dc_delta_stats_max_i64(&m, &tight, "{\"numRecords\":0}", "id", &err),
                 DC_ENOTFOUND);
    CHECK_EQ_INT(dc_delta_stats_max_i64(&m, &tight, NULL, "id", &err), DC_ENOTFOUND);
    /* not an integer, not JSON: errors, not a max */
    CHECK(dc_delta_stats_max_i64(&m, &tight, "{\"maxValues\":{\"id\":\"a\"}}", "id", &err) < 0);
    CHECK(dc_delta_stats_max_i64(&m, &tight, "{\"maxValues\":", "id", &err) < 0);
}

TEST(delta_write_path_and_partition_escaping)
{
    dc_err err;
    dc_err_clear(&err);
    dc_buf b;
    dc_buf_init(&b, 1 << 16);
    const char *p = "p=a b%3A/x#y?\xc3\xa9.parquet";
    CHECK_OK(dc_delta_path_encode(&b, p, strlen(p), &err), &err);
    CHECK_OK(dc_buf_putc(&b, 0, &err), &err);
    CHECK_EQ_STR((char *)b.data, "p=a%20b%253A/x%23y%3F%C3%A9.parquet");
    /* The read side decodes it back. */
    dc_buf d;
    dc_buf_init(&d, 1 << 16);
    CHECK_OK(dc_delta_path_to_storage(&d, (char *)b.data, &err), &err);
    CHECK(d.len == strlen(p) && memcmp(d.data, p, d.len) == 0);
    b.len = 0;
    CHECK_OK(dc_delta_partition_dir(&b, "c", "a:b/c=d e", &err), &err);
    CHECK_OK(dc_buf_putc(&b, 0, &err), &err);
    CHECK_EQ_STR((char *)b.data, "c=a%3Ab%2Fc%3Dd e");
    b.len = 0;
    CHECK_OK(dc_delta_partition_dir(&b, "c", NULL, &err), &err);
    CHECK_OK(dc_buf_putc(&b, 0, &err), &err);
    CHECK_EQ_STR((char *)b.data, "c=__HIVE_DEFAULT_PARTITION__");
    char u1[37], u2[37];
    CHECK_OK(dc_delta_uuid_v4(u1, &err), &err);
    CHECK_OK(dc_delta_uuid_v4(u2, &err), &err);
    CHECK(strlen(u1) == 36 && u1[14] == '4' && strchr("89ab", u1[19]) && strcmp(u1, u2) != 0);
    dc_buf_dispose(&b);
    dc_buf_dispose(&d);
}

/* tightBounds:false appended to the text as it is, or set in place. */
TEST(delta_write_stats_wide)
{
    dc_err err;
    dc_err_clear(&err);
    dc_arena a;
    dc_arena_init(&a, 1 << 16);
    const char *out = NULL;
    CHECK_OK(dc_delta_w_stats_wide(&out, &a, "{\"numRecords\":3,\"minValues\":{\"id\":1}}", &err),
             &err);
    CHECK_EQ_STR(out, "{\"numRecords\":3,\"minValues\":{\"id\":1},\"tightBounds\":false}");
    CHECK_OK(dc_delta_w_stats_wide(&out, &a, "{\"numRecords\":3}\n ", &err), &err);
    CHECK_EQ_STR(out, "{\"numRecords\":3,\"tightBounds\":false}");
    CHECK_OK(dc_delta_w_stats_wide(&out, &a, "{}", &err), &err);
    CHECK_EQ_STR(out, "{\"tightBounds\":false}");
    CHECK_OK(dc_delta_w_stats_wide(&out, &a, "{\"tightBounds\":true,\"numRecords\":1}", &err), &err);
    CHECK_EQ_STR(out, "{\"tightBounds\":false,\"numRecords\":1}");
    CHECK_OK(dc_delta_w_stats_wide(&out, &a, "{\"numRecords\":1,\"tightBounds\":false} ", &err),
             &err);
    CHECK_EQ_STR(out, "{\"numRecords\":1,\"tightBounds\":false}");
    CHECK_OK(dc_delta_w_stats_wide(&out, &a, NULL, &err), &err);
    CHECK(out == NULL);
    CHECK(dc_delta_w_stats_wide(&out, &a, "{\"numRecords\":", &err) < 0);
    CHECK(dc_delta_w_stats_wide(&out, &a, "[1]", &err) < 0);
    dc_arena_dispose(&a);
}
