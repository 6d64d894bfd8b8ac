/* Parquet reader: the parquet-testing corpus read value for value, malformed
 * and encrypted files refused, truncated and mutated files never crashing,
 * statistics, and the JSON value formatting.
 *
 * Expected rows were produced by pyarrow 26 (pq.read_table with
 * coerce_int96_timestamp_unit="us") converted to the JSON conventions of
 * parquet.h by the interop converter (tests/interop/conftest.py), never by
 * deltacdc. The corpus is found through $DC_SHARED, ../shared or ../../shared.
 */
#include "../test.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../../src/parquet/pq_reader_int.h"

/* ------------------------------------------------------------ helpers */

static const char *corpus_dir(void)
{
    static char dir[1024];
    static int found = -1;
    if (found >= 0) return found ? dir : NULL;
    const char *env = getenv("DC_SHARED");
    const char *cands[] = {env, "../shared", "../../shared"};
    found = 0;
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        struct stat st;
        if (!cands[i]) continue;
        snprintf(dir, sizeof dir, "%s/corpus/parquet-testing", cands[i]);
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
            found = 1;
            return dir;
        }
    }
    return NULL;
}

/* Full path of a corpus file; a missing corpus fails the calling test. */
static const char *corpus(const char *rel)
{
    static char path[2048];
    const char *d = corpus_dir();
    if (!d) {
        dc_test_fail(__FILE__, __LINE__, "parquet-testing corpus not found (set DC_SHARED)");
        return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", d, rel);
    return path;
}

static uint8_t *load(const char *rel, size_t *len)
{
    const char *p = corpus(rel);
    uint8_t *data = NULL;
    dc_err err;
    dc_err_clear(&err);
    if (!p) return NULL;
    if (dc_file_read_all(&data, len, p, (size_t)64 << 20, &err) != 0) {
        dc_test_fail(__FILE__, __LINE__, "%s: %s", rel, err.msg);
        return NULL;
    }
    return data;
}

/* Every row group of an open reader as JSON lines. */
static int cat_all(dc_buf *out, dc_pq_reader *r, dc_err *err)
{
    const pq_file_meta *m = dc_pq_reader_meta(r);
    for (uint32_t g = 0; g < m->n_row_groups; g++) DC_TRY(dc_pq_reader_rows_json(out, r, g, NULL, err));
    return 0;
}

/* Opens and reads everything (columns, then rows); returns the first error. */
static int read_everything(const uint8_t *data, size_t len, dc_buf *rows, dc_err *err)
{
    dc_pq_reader *r = NULL;
    dc_pq_column col;
    dc_pq_column_init(&col);
    int rc = dc_pq_reader_open_mem(&r, data, len, "mem.parquet", err);
    if (rc == 0) {
        const pq_file_meta *m = dc_pq_reader_meta(r);
        const dc_pq_schema *s = dc_pq_reader_schema(r);
        for (uint32_t g = 0; g < m->n_row_groups && rc == 0; g++)
            for (uint32_t l = 0; l < s->n_leaves && rc == 0; l++)
                rc = dc_pq_reader_read_column(&col, r, g, l, err);
        if (rc == 0) rc = cat_all(rows, r, err);
    }
    dc_pq_column_dispose(&col);
    dc_pq_reader_free(r);
    return rc;
}

/* JSON equality where numbers match when their texts are equal, when they
 * are the same double, or when the expected one is a float32 widened to
 * double and both round to the same float (pyarrow widens float columns). */
static bool num_equal(const dc_json *a, const dc_json *e)
{
    if (a->len == e->len && memcmp(a->u.str, e->u.str, a->len) == 0) return true;
    double x, y;
    if (dc_json_f64(&x, a, "a", NULL) || dc_json_f64(&y, e, "e", NULL)) return false;
    if (x == y) return true;
    return (double)(float)y == y && (float)x == (float)y;
}

static bool json_equal(const dc_json *a, const dc_json *e)
{
    if (a->type != e->type || (a->type >= DC_JSON_STRING && a->len != e->len)) return false;
    switch (a->type) {
    case DC_JSON_NUMBER: return num_equal(a, e);
    case DC_JSON_STRING: return memcmp(a->u.str, e->u.str, a->len) == 0;
    case DC_JSON_ARRAY:
    case DC_JSON_OBJECT:
        for (uint32_t i = 0; i < a->len; i++) {
            const dc_json *x = &a->u.items[i], *y = &e->u.items[i];
            if (a->type == DC_JSON_OBJECT && (x->key_len != y->key_len ||
                                              memcmp(x->key, y->key, x->key_len) != 0))
                return false;
            if (!json_equal(x, y)) return false;
        }
        return true;
    default: return true;
    }
}

static bool json_text_equal(const char *actual, size_t alen, const char *expected)
{
    dc_arena arena;
    dc_json *a = NULL, *e = NULL;
    dc_arena_init(&arena, (size_t)1 << 26);
    bool ok = dc_json_parse(&a, &arena, actual, alen, NULL) == 0 &&
              dc_json_parse(&e, &arena, expected, strlen(expected), NULL) == 0 &&
              json_equal(a, e);
    dc_arena_dispose(&arena);
    return ok;
}

/* Start of line `i` of text (lines end with '\n'), or NULL. */
static const char *nth_line(const dc_buf *b, size_t i, size_t *len)
{
    const char *p = (const char *)b->data, *end = p + b->len;
    for (size_t k = 0; k < i && p < end; k++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return NULL;
        p = nl + 1;
    }
    const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
    if (!nl) return NULL;
    *len = (size_t)(nl - p);
    return p;
}

static size_t count_lines(const dc_buf *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++) n += b->data[i] == '\n';
    return n;
}

/* ----------------------------------------------- corpus, row by row */

typedef struct expect_row {
    long row;
    const char *json;
} expect_row;

static const struct {
    const char *file;
    long n_rows;
    expect_row rows[3];
} corpus_rows[] = {
    {"data/alltypes_dictionary.parquet", 2, {
        {0, "{\"id\":0,\"bool_col\":true,\"tinyint_col\":0,\"smallint_col\":0,\"int_col\":0,\"bigint_col\":0,\"float_col\":0.0,\"double_col\":0.0,\"date_string_col\":\"MDEvMDEvMDk=\",\"string_col\":\"MA==\",\"timestamp_col\":\"2009-01-01T00:00:00.000000Z\"}"},
        {1, "{\"id\":1,\"bool_col\":false,\"tinyint_col\":1,\"smallint_col\":1,\"int_col\":1,\"bigint_col\":10,\"float_col\":1.100000023841858,\"double_col\":10.1,\"date_string_col\":\"MDEvMDEvMDk=\",\"string_col\":\"MQ==\",\"timestamp_col\":\"2009-01-01T00:01:00.000000Z\"}"},
    }},
    {"data/alltypes_plain.parquet", 8, {
        {0, "{\"id\":4,\"bool_col\":true,\"tinyint_col\":0,\"smallint_col\":0,\"int_col\":0,\"bigint_col\":0,\"float_col\":0.0,\"double_col\":0.0,\"date_string_col\":\"MDMvMDEvMDk=\",\"string_col\":\"MA==\",\"timestamp_col\":\"2009-03-01T00:00:00.000000Z\"}"},
        {1, "{\"id\":5,\"bool_col\":false,\"tinyint_col\":1,\"smallint_col\":1,\"int_col\":1,\"bigint_col\":10,\"float_col\":1.100000023841858,\"double_col\":10.1,\"date_string_col\":\"MDMvMDEvMDk=\",\"string_col\":\"MQ==\",\"timestamp_col\":\"2009-03-01T00:01:00.000000Z\"}"},
        {4, "{\"id\":2,\"bool_col\":true,\"tinyint_col\":0,\"smallint_col\":0,\"int_col\":0,\"bigint_col\":0,\"float_col\":0.0,\"double_col\":0.0,\"date_string_col\":\"MDIvMDEvMDk=\",\"string_col\":\"MA==\",\"timestamp_col\":\"2009-02-01T00:00:00.000000Z\"}"},
    }},
    {"data/alltypes_plain.snappy.parquet", 2, {
        {0, "{\"id\":6,\"bool_col\":true,\"tinyint_col\":0,\"smallint_col\":0,\"int_col\":0,\"bigint_col\":0,\"float_col\":0.0,\"double_col\":0.0,\"date_string_col\":\"MDQvMDEvMDk=\",\"string_col\":\"MA==\",\"timestamp_col\":\"2009-04-01T00:00:00.000000Z\"}"},
        {1, "{\"id\":7,\"bool_col\":false,\"tinyint_col\":1,\"smallint_col\":1,\"int_col\":1,\"bigint_col\":10,\"float_col\":1.100000023841858,\"double_col\":10.1,\"date_string_col\":\"MDQvMDEvMDk=\",\"string_col\":\"MQ==\",\"timestamp_col\":\"2009-04-01T00:01:00.000000Z\"}"},
    }},
    {"data/alltypes_tiny_pages.parquet", 7300, {
        {0, "{\"id\":122,\"bool_col\":true,\"tinyint_col\":2,\"smallint_col\":2,\"int_col\":2,\"bigint_col\":20,\"float_col\":2.200000047683716,\"double_col\":20.2,\"date_string_col\":\"01/13/09\",\"string_col\":\"2\",\"timestamp_col\":\"2009-01-13T01:02:05.410000Z\",\"year\":2009,\"month\":1}"},
        {1, "{\"id\":123,\"bool_col\":false,\"tinyint_col\":3,\"smallint_col\":3,\"int_col\":3,\"bigint_col\":30,\"float_col\":3.299999952316284,\"double_col\":30.299999999999997,\"date_string_col\":\"01/13/09\",\"string_col\":\"3\",\"timestamp_col\":\"2009-01-13T01:03:05.430000Z\",\"year\":2009,\"month\":1}"},
        {3650, "{\"id\":3732,\"bool_col\":true,\"tinyint_col\":2,\"smallint_col\":2,\"int_col\":2,\"bigint_col\":20,\"float_col\":2.200000047683716,\"double_col\":20.2,\"date_string_col\":\"01/09/10\",\"string_col\":\"2\",\"timestamp_col\":\"2010-01-09T00:22:03.610000Z\",\"year\":2010,\"month\":1}"},
    }},
    {"data/alltypes_tiny_pages_plain.parquet", 7300, {
        {0, "{\"id\":122,\"bool_col\":true,\"tinyint_col\":2,\"smallint_col\":2,\"int_col\":2,\"bigint_col\":20,\"float_col\":2.200000047683716,\"double_col\":20.2,\"date_string_col\":\"01/13/09\",\"string_col\":\"2\",\"timestamp_col\":\"2009-01-13T01:02:05.410000Z\",\"year\":2009,\"month\":1}"},
        {1, "{\"id\":123,\"bool_col\":false,\"tinyint_col\":3,\"smallint_col\":3,\"int_col\":3,\"bigint_col\":30,\"float_col\":3.299999952316284,\"double_col\":30.299999999999997,\"date_string_col\":\"01/13/09\",\"string_col\":\"3\",\"timestamp_col\":\"2009-01-13T01:03:05.430000Z\",\"year\":2009,\"month\":1}"},
        {3650, "{\"id\":3732,\"bool_col\":true,\"tinyint_col\":2,\"smallint_col\":2,\"int_col\":2,\"bigint_col\":20,\"float_col\":2.200000047683716,\"double_col\":20.2,\"date_string_col\":\"01/09/10\",\"string_col\":\"2\",\"timestamp_col\":\"2010-01-09T00:22:03.610000Z\",\"year\":2010,\"month\":1}"},
    }},
    {"data/binary.parquet", 12, {
        {0, "{\"foo\":\"AA==\"}"},
        {1, "{\"foo\":\"AQ==\"}"},
        {6, "{\"foo\":\"Bg==\"}"},
    }},
    {"data/binary_truncated_min_max.parquet", 12, {
        {0, "{\"utf8_full_truncation\":\"Blart Versenwald III\",\"binary_full_truncation\":\"QmxhcnQgVmVyc2Vud2FsZCBJSUk=\",\"utf8_partial_truncation\":\"Blart Versenwald III\",\"binary_partial_truncation\":\"QmxhcnQgVmVyc2Vud2FsZCBJSUk=\",\"utf8_no_truncation\":\"Blart Versenwald III\",\"binary_no_truncation\":\"QmxhcnQgVmVyc2Vud2FsZCBJSUk=\"}"},
        {1, "{\"utf8_full_truncation\":\"Alice Johnson\",\"binary_full_truncation\":\"QWxpY2UgSm9obnNvbg==\",\"utf8_partial_truncation\":\"Alice Johnson\",\"binary_partial_truncation\":\"QWxpY2UgSm9obnNvbg==\",\"utf8_no_truncation\":\"Al\",\"binary_no_truncation\":\"QWw=\"}"},
        {6, "{\"utf8_full_truncation\":\"Fiona Apple\",\"binary_full_truncation\":\"RmlvbmEgQXBwbGU=\",\"utf8_partial_truncation\":\"Fiona Apple\",\"binary_partial_truncation\":\"RmlvbmEgQXBwbGU=\",\"utf8_no_truncation\":\"Fiona Apple\",\"binary_no_truncation\":\"RmlvbmEgQXBwbGU=\"}"},
    }},
    {"data/byte_array_decimal.parquet", 24, {
        {0, "{\"value\":\"1.00\"}"},
        {1, "{\"value\":\"2.00\"}"},
        {12, "{\"value\":\"13.00\"}"},
    }},
    {"data/byte_stream_split.zstd.parquet", 300, {
        {0, "{\"f32\":1.764052391052246,\"f64\":-1.3065268517353166}"},
        {1, "{\"f32\":0.40015721321105957,\"f64\":1.658130679618188}"},
        {150, "{\"f32\":-0.06824160367250443,\"f64\":-1.0546284639850139}"},
    }},
    {"data/byte_stream_split_extended.gzip.parquet", 200, {
        {0, "{\"float16_plain\":10.3046875,\"float16_byte_stream_split\":10.3046875,\"float_plain\":10.33757495880127,\"float_byte_stream_split\":10.33757495880127,\"double_plain\":9.82038858616854,\"double_byte_stream_split\":9.82038858616854,\"int32_plain\":24191,\"int32_byte_stream_split\":24191,\"int64_plain\":293650000000,\"int64_byte_stream_split\":293650000000,\"flba5_plain\":\"MDM3OTU=\",\"flba5_byte_stream_split\":\"MDM3OTU=\",\"decimal_plain\":\"1003.858\",\"decimal_byte_stream_split\":\"1003.858\"}"},
        {1, "{\"float16_plain\":8.9609375,\"float16_byte_stream_split\":8.9609375,\"float_plain\":11.407482147216797,\"float_byte_stream_split\":11.407482147216797,\"double_plain\":10.196776096656958,\"double_byte_stream_split\":10.196776096656958,\"int32_plain\":41157,\"int32_byte_stream_split\":41157,\"int64_plain\":41079000000,\"int64_byte_stream_split\":41079000000,\"flba5_plain\":\"MDAzNjM=\",\"flba5_byte_stream_split\":\"MDAzNjM=\",\"decimal_plain\":\"968.825\",\"decimal_byte_stream_split\":\"968.825\"}"},
        {100, "{\"float16_plain\":9.625,\"float16_byte_stream_split\":9.625,\"float_plain\":11.727350234985352,\"float_byte_stream_split\":11.727350234985352,\"double_plain\":11.36386222981391,\"double_byte_stream_split\":11.36386222981391,\"int32_plain\":6029,\"int32_byte_stream_split\":6029,\"int64_plain\":280666000000,\"int64_byte_stream_split\":280666000000,\"flba5_plain\":\"MTg2MjU=\",\"flba5_byte_stream_split\":\"MTg2MjU=\",\"decimal_plain\":\"1131.481\",\"decimal_byte_stream_split\":\"1131.481\"}"},
    }},
    {"data/column_chunk_key_value_metadata.parquet", 0, {
    }},
    {"data/concatenated_gzip_members.parquet", 513, {
        {0, "{\"long_col\":1}"},
        {1, "{\"long_col\":2}"},
        {256, "{\"long_col\":257}"},
    }},
    {"data/data_index_bloom_encoding_stats.parquet", 14, {
        {0, "{\"String\":\"Hello\"}"},
        {1, "{\"String\":\"This is\"}"},
        {7, "{\"String\":\"today\"}"},
    }},
    {"data/data_index_bloom_encoding_with_length.parquet", 14, {
        {0, "{\"String\":\"Hello\"}"},
        {1, "{\"String\":\"This is\"}"},
        {7, "{\"String\":\"today\"}"},
    }},
    {"data/datapage_v1-corrupt-checksum.parquet", 5120, {
        {0, "{\"a\":50462976,\"b\":1734763876}"},
        {1, "{\"a\":117835012,\"b\":1802135912}"},
        {2560, "{\"a\":-33620224,\"b\":-1616994916}"},
    }},
    {"data/datapage_v1-snappy-compressed-checksum.parquet", 5120, {
        {0, "{\"a\":50462976,\"b\":1734763876}"},
        {1, "{\"a\":117835012,\"b\":1802135912}"},
        {2560, "{\"a\":-33620224,\"b\":-1616994916}"},
    }},
    {"data/datapage_v1-uncompressed-checksum.parquet", 5120, {
        {0, "{\"a\":50462976,\"b\":1734763876}"},
        {1, "{\"a\":117835012,\"b\":1802135912}"},
        {2560, "{\"a\":-33620224,\"b\":-1616994916}"},
    }},
    {"data/datapage_v2.snappy.parquet", 5, {
        {0, "{\"a\":\"abc\",\"b\":1,\"c\":2.0,\"d\":true,\"e\":[1,2,3]}"},
        {1, "{\"a\":\"abc\",\"b\":2,\"c\":3.0,\"d\":true,\"e\":null}"},
        {2, "{\"a\":\"abc\",\"b\":3,\"c\":4.0,\"d\":true,\"e\":null}"},
    }},
    {"data/datapage_v2_empty_datapage.snappy.parquet", 1, {
        {0, "{\"value\":null}"},
    }},
    {"data/delta_binary_packed.parquet", 200, {
    }},
    {"data/delta_byte_array.parquet", 1000, {
        {0, "{\"c_customer_id\":\"AAAAAAAAIODAAAAA\",\"c_salutation\":\"Sir\",\"c_first_name\":\"Mark\",\"c_last_name\":\"Bailey\",\"c_preferred_cust_flag\":\"N\",\"c_birth_country\":\"MOROCCO\",\"c_login\":null,\"c_email_address\":\"Mark.Bailey@rg9qCNVJ0s7qeY.com\",\"c_last_review_date\":\"2452443\"}"},
        {1, "{\"c_customer_id\":\"AAAAAAAAHODAAAAA\",\"c_salutation\":\"Mrs.\",\"c_first_name\":\"Lisa\",\"c_last_name\":\"Clark\",\"c_preferred_cust_flag\":\"Y\",\"c_birth_country\":\"ITALY\",\"c_login\":null,\"c_email_address\":\"Lisa.Clark@goPYS4tMB0.org\",\"c_last_review_date\":\"2452646\"}"},
        {500, "{\"c_customer_id\":\"AAAAAAAAEPBAAAAA\",\"c_salutation\":\"Mr.\",\"c_first_name\":\"Charles\",\"c_last_name\":\"Cromwell\",\"c_preferred_cust_flag\":\"N\",\"c_birth_country\":\"LITHUANIA\",\"c_login\":null,\"c_email_address\":\"Charles.Cromwell@dfbk.com\",\"c_last_review_date\":\"2452405\"}"},
    }},
    {"data/delta_encoding_optional_column.parquet", 100, {
        {0, "{\"c_customer_sk\":100,\"c_current_cdemo_sk\":1254468,\"c_current_hdemo_sk\":6370,\"c_current_addr_sk\":6672,\"c_first_shipto_date_sk\":2449148,\"c_first_sales_date_sk\":2449118,\"c_birth_day\":13,\"c_birth_month\":7,\"c_birth_year\":1958,\"c_customer_id\":\"AAAAAAAAEGAAAAAA\",\"c_salutation\":\"Ms.\",\"c_first_name\":\"Jeannette\",\"c_last_name\":\"Johnson\",\"c_preferred_cust_flag\":\"Y\",\"c_birth_country\":\"BANGLADESH\",\"c_email_address\":\"Jeannette.Johnson@8BvSqgp.com\",\"c_last_review_date\":\"2452635\"}"},
        {1, "{\"c_customer_sk\":99,\"c_current_cdemo_sk\":622676,\"c_current_hdemo_sk\":2152,\"c_current_addr_sk\":17228,\"c_first_shipto_date_sk\":2451687,\"c_first_sales_date_sk\":2451657,\"c_birth_day\":9,\"c_birth_month\":12,\"c_birth_year\":1961,\"c_customer_id\":\"AAAAAAAADGAAAAAA\",\"c_salutation\":\"Sir\",\"c_first_name\":\"Austin\",\"c_last_name\":\"Tran\",\"c_preferred_cust_flag\":\"Y\",\"c_birth_country\":\"NAMIBIA\",\"c_email_address\":\"Austin.Tran@ect7cnjLsucbd.edu\",\"c_last_review_date\":\"2452437\"}"},
        {50, "{\"c_customer_sk\":50,\"c_current_cdemo_sk\":759177,\"c_current_hdemo_sk\":72,\"c_current_addr_sk\":32567,\"c_first_shipto_date_sk\":2449384,\"c_first_sales_date_sk\":2449354,\"c_birth_day\":24,\"c_birth_month\":11,\"c_birth_year\":1965,\"c_customer_id\":\"AAAAAAAACDAAAAAA\",\"c_salutation\":\"Mr.\",\"c_first_name\":\"Christopher\",\"c_last_name\":\"Eller\",\"c_preferred_cust_flag\":\"N\",\"c_birth_country\":\"AUSTRALIA\",\"c_email_address\":\"Christopher.Eller@gV5Ua7HOmt.com\",\"c_last_review_date\":\"2452520\"}"},
    }},
    {"data/delta_encoding_required_column.parquet", 100, {
        {0, "{\"c_customer_sk:\":105,\"c_current_cdemo_sk:\":949850,\"c_current_hdemo_sk:\":383,\"c_current_addr_sk:\":46916,\"c_first_shipto_date_sk:\":2452463,\"c_first_sales_date_sk:\":2452433,\"c_birth_day:\":14,\"c_birth_month:\":1,\"c_birth_year:\":1945,\"c_customer_id:\":\"AAAAAAAAJGAAAAAA\",\"c_salutation:\":\"Dr.\",\"c_first_name:\":\"Frank\",\"c_last_name:\":\"Strain\",\"c_preferred_cust_flag:\":\"Y\",\"c_birth_country:\":\"VIRGIN ISLANDS, U.S.\",\"c_email_address:\":\"Frank.Strain@MbOHByB.edu\",\"c_last_review_date:\":\"2452378\"}"},
        {1, "{\"c_customer_sk:\":104,\"c_current_cdemo_sk:\":1090695,\"c_current_hdemo_sk:\":3116,\"c_current_addr_sk:\":25490,\"c_first_shipto_date_sk:\":2450355,\"c_first_sales_date_sk:\":2450325,\"c_birth_day:\":29,\"c_birth_month:\":11,\"c_birth_year:\":1936,\"c_customer_id:\":\"AAAAAAAAIGAAAAAA\",\"c_salutation:\":\"Dr.\",\"c_first_name:\":\"Benjamin\",\"c_last_name:\":\"Johnson\",\"c_preferred_cust_flag:\":\"Y\",\"c_birth_country:\":\"BAHRAIN\",\"c_email_address:\":\"Benjamin.Johnson@HL2ugJBTO.com\",\"c_last_review_date:\":\"2452499\"}"},
        {50, "{\"c_customer_sk:\":55,\"c_current_cdemo_sk:\":783093,\"c_current_hdemo_sk:\":1151,\"c_current_addr_sk:\":23256,\"c_first_shipto_date_sk:\":2451539,\"c_first_sales_date_sk:\":2451509,\"c_birth_day:\":12,\"c_birth_month:\":8,\"c_birth_year:\":1933,\"c_customer_id:\":\"AAAAAAAAHDAAAAAA\",\"c_salutation:\":\"Dr.\",\"c_first_name:\":\"Beryl\",\"c_last_name:\":\"Thomason\",\"c_preferred_cust_flag:\":\"N\",\"c_birth_country:\":\"UNITED KINGDOM\",\"c_email_address:\":\"Beryl.Thomason@OeqefhtCmZTAj.com\",\"c_last_review_date:\":\"2452380\"}"},
    }},
    {"data/delta_length_byte_array.parquet", 1000, {
        {0, "{\"FRUIT\":\"apple_banana_mango0\"}"},
        {1, "{\"FRUIT\":\"apple_banana_mango1\"}"},
        {500, "{\"FRUIT\":\"apple_banana_mango250000\"}"},
    }},
    {"data/dict-page-offset-zero.parquet", 39, {
        {0, "{\"l_partkey\":1552}"},
        {1, "{\"l_partkey\":1552}"},
        {19, "{\"l_partkey\":1552}"},
    }},
    {"data/fixed_length_byte_array.parquet", 1000, {
        {0, "{\"flba_field\":\"AAAD6A==\"}"},
        {1, "{\"flba_field\":null}"},
        {500, "{\"flba_field\":\"AAAB9A==\"}"},
    }},
    {"data/fixed_length_decimal.parquet", 24, {
        {0, "{\"value\":\"1.00\"}"},
        {1, "{\"value\":\"2.00\"}"},
        {12, "{\"value\":\"13.00\"}"},
    }},
    {"data/fixed_length_decimal_legacy.parquet", 24, {
        {0, "{\"value\":\"1.00\"}"},
        {1, "{\"value\":\"2.00\"}"},
        {12, "{\"value\":\"13.00\"}"},
    }},
    {"data/float16_nonzeros_and_nans.parquet", 8, {
        {0, "{\"x\":null}"},
        {1, "{\"x\":1.0}"},
        {4, "{\"x\":0.0}"},
    }},
    {"data/float16_zeros_and_nans.parquet", 3, {
        {0, "{\"x\":null}"},
        {1, "{\"x\":0.0}"},
        {2, "{\"x\":\"NaN\"}"},
    }},
    {"data/floating_orders_nan_count.parquet", 50, {
        {0, "{\"float_ieee754\":-2.0,\"float_typedef\":-2.0,\"double_ieee754\":-2.0,\"double_typedef\":-2.0,\"float16_ieee754\":-2.0,\"float16_typedef\":-2.0}"},
        {1, "{\"float_ieee754\":-1.0,\"float_typedef\":-1.0,\"double_ieee754\":-1.0,\"double_typedef\":-1.0,\"float16_ieee754\":-1.0,\"float16_typedef\":-1.0}"},
        {25, "{\"float_ieee754\":\"NaN\",\"float_typedef\":\"NaN\",\"double_ieee754\":\"NaN\",\"double_typedef\":\"NaN\",\"float16_ieee754\":\"NaN\",\"float16_typedef\":\"NaN\"}"},
    }},
    {"data/geospatial/crs-arbitrary-value.parquet", 1, {
    }},
    {"data/geospatial/crs-default.parquet", 1, {
    }},
    {"data/geospatial/crs-geography.parquet", 1, {
    }},
    {"data/geospatial/crs-projjson.parquet", 1, {
    }},
    {"data/geospatial/crs-srid.parquet", 1, {
    }},
    {"data/geospatial/geography-lines.parquet", 499, {
        {0, "{\"id\":122,\"geometry\":\"AQIAAAACAAAAANLQTz75QcDDx2reX7s+wABM1fgczkXA7+S8KJ9EOcA=\"}"},
        {1, "{\"id\":143,\"geometry\":\"AQIAAAACAAAAAEzV+BzORcDv5Lwon0Q5wACQi6oQNj/AVgvfwkICNsA=\"}"},
        {249, "{\"id\":427,\"geometry\":\"AQIAAAACAAAAAEgpeukFYkA0tk0F56xGQABmRVEkeWBA0e8wIryfREA=\"}"},
    }},
    {"data/geospatial/geography-points.parquet", 500, {
        {0, "{\"id\":122,\"geometry\":\"AQEAAAAA0tBPPvlBwMPHat5fuz7A\"}"},
        {1, "{\"id\":143,\"geometry\":\"AQEAAAAATNX4HM5FwO/kvCifRDnA\"}"},
        {250, "{\"id\":414,\"geometry\":\"AQEAAAAAZkVRJHlgQNHvMCK8n0RA\"}"},
    }},
    {"data/geospatial/geography-polygons.parquet", 500, {
        {0, "{\"id\":88,\"geometry\":\"AQMAAAABAAAABQAAAO5G2rTcBEPAHruSKogsQsAskypTittGwEXOOd4qDEPAo7BDpkfURcDYiINFTSFGwEjLzbZ7qUHAZBZgtpYsRcDuRtq03ARDwB67kiqILELA\"}"},
        {1, "{\"id\":122,\"geometry\":\"AQMAAAABAAAABQAAAJ76bSfklUTA9WLJMXeRPsA3hekIfQJCwL3OyTEznUHA8v7Rjo63PsAFDLHzo68+wEHt3/3S8EHAgk019lY8OsCe+m0n5JVEwPViyTF3kT7A\"}"},
        {250, "{\"id\":338,\"geometry\":\"AQMAAAABAAAABQAAAJZ1vCo9MmFAd6TqKU+nNEAP0TV63c1hQJtBt4mERzBAmqJx5etlYkAmOjzNksM0QHHpg9cRymFAdPB9V5pFOUCWdbwqPTJhQHek6ilPpzRA\"}"},
    }},
    {"data/geospatial/geospatial-with-nan.parquet", 3, {
        {0, "{\"group\":\"with-nan\",\"wkt\":\"POINT ZM (10 20 30 40)\",\"geometry\":\"AbkLAAAAAAAAAAAkQAAAAAAAADRAAAAAAAAAPkAAAAAAAABEQA==\"}"},
        {1, "{\"group\":\"with-nan\",\"wkt\":\"POINT ZM (50 60 70 80)\",\"geometry\":\"AbkLAAAAAAAAAABJQAAAAAAAAE5AAAAAAACAUUAAAAAAAABUQA==\"}"},
        {2, "{\"group\":\"with-nan\",\"wkt\":\"LINESTRING ZM (90 100 110 120, nan nan nan nan, 130 140 150 160)\",\"geometry\":\"AboLAAADAAAAAAAAAACAVkAAAAAAAABZQAAAAAAAgFtAAAAAAAAAXkAAAAAAAAD4fwAAAAAAAPh/AAAAAAAA+H8AAAAAAAD4fwAAAAAAQGBAAAAAAACAYUAAAAAAAMBiQAAAAAAAAGRA\"}"},
    }},
    {"data/geospatial/geospatial.parquet", 196, {
        {0, "{\"group\":\"all\",\"wkt\":\"POINT (30 10)\",\"geometry\":\"AQEAAAAAAAAAAAA+QAAAAAAAACRA\"}"},
        {1, "{\"group\":\"all\",\"wkt\":\"LINESTRING (30 10, 10 30, 40 40)\",\"geometry\":\"AQIAAAADAAAAAAAAAAAAPkAAAAAAAAAkQAAAAAAAACRAAAAAAAAAPkAAAAAAAABEQAAAAAAAAERA\"}"},
        {98, "{\"group\":\"linestring-z\",\"wkt\":\"LINESTRING Z (30 10 40, 10 30 40, 40 40 80)\",\"geometry\":\"AeoDAAADAAAAAAAAAAAAPkAAAAAAAAAkQAAAAAAAAERAAAAAAAAAJEAAAAAAAAA+QAAAAAAAAERAAAAAAAAAREAAAAAAAABEQAAAAAAAAFRA\"}"},
    }},
    {"data/hadoop_lz4_compressed.parquet", 4, {
        {0, "{\"c0\":1593604800,\"c1\":\"YWJj\",\"v11\":42.0}"},
        {1, "{\"c0\":1593604800,\"c1\":\"ZGVm\",\"v11\":7.7}"},
        {2, "{\"c0\":1593604801,\"c1\":\"YWJj\",\"v11\":42.125}"},
    }},
    {"data/hadoop_lz4_compressed_larger.parquet", 10000, {
        {0, "{\"a\":\"c7ce6bef-d5b0-4863-b199-8ea8c7fb117b\"}"},
        {1, "{\"a\":\"e8fb9197-cb9f-4118-b67f-fbfa65f61843\"}"},
        {5000, "{\"a\":\"081f015a-61ec-4154-8245-c707976e332e\"}"},
    }},
    {"data/int32_decimal.parquet", 24, {
        {0, "{\"value\":\"1.00\"}"},
        {1, "{\"value\":\"2.00\"}"},
        {12, "{\"value\":\"13.00\"}"},
    }},
    {"data/int32_with_null_pages.parquet", 1000, {
        {0, "{\"int32_field\":-654807448}"},
        {1, "{\"int32_field\":-465559769}"},
        {500, "{\"int32_field\":null}"},
    }},
    {"data/int64_decimal.parquet", 24, {
        {0, "{\"value\":\"1.00\"}"},
        {1, "{\"value\":\"2.00\"}"},
        {12, "{\"value\":\"13.00\"}"},
    }},
    {"data/int96_from_spark.parquet", 6, {
        {0, "{\"a\":\"2024-01-01T20:34:56.123456Z\"}"},
        {1, "{\"a\":\"2024-01-01T01:00:00.000000Z\"}"},
        {3, "{\"a\":\"2024-12-30T23:00:00.000000Z\"}"},
    }},
    {"data/list_columns.parquet", 3, {
        {0, "{\"int64_list\":[1,2,3],\"utf8_list\":[\"abc\",\"efg\",\"hij\"]}"},
        {1, "{\"int64_list\":[null,1],\"utf8_list\":null}"},
        {2, "{\"int64_list\":[4],\"utf8_list\":[\"efg\",null,\"hij\",\"xyz\"]}"},
    }},
    {"data/lz4_raw_compressed.parquet", 4, {
        {0, "{\"c0\":1593604800,\"c1\":\"YWJj\",\"v11\":42.0}"},
        {1, "{\"c0\":1593604800,\"c1\":\"ZGVm\",\"v11\":7.7}"},
        {2, "{\"c0\":1593604801,\"c1\":\"YWJj\",\"v11\":42.125}"},
    }},
    {"data/lz4_raw_compressed_larger.parquet", 10000, {
        {0, "{\"a\":\"c7ce6bef-d5b0-4863-b199-8ea8c7fb117b\"}"},
        {1, "{\"a\":\"e8fb9197-cb9f-4118-b67f-fbfa65f61843\"}"},
        {5000, "{\"a\":\"081f015a-61ec-4154-8245-c707976e332e\"}"},
    }},
    {"data/map_no_value.parquet", 3, {
        {0, "{\"my_map\":[{\"key\":1,\"value\":null},{\"key\":2,\"value\":null},{\"key\":3,\"value\":null}],\"my_map_no_v\":[1,2,3],\"my_list\":[1,2,3]}"},
        {1, "{\"my_map\":[{\"key\":4,\"value\":null},{\"key\":5,\"value\":null},{\"key\":6,\"value\":null}],\"my_map_no_v\":[4,5,6],\"my_list\":[4,5,6]}"},
        {2, "{\"my_map\":[{\"key\":7,\"value\":null},{\"key\":8,\"value\":null},{\"key\":9,\"value\":null}],\"my_map_no_v\":[7,8,9],\"my_list\":[7,8,9]}"},
    }},
    {"data/nan_in_stats.parquet", 2, {
        {0, "{\"x\":1.0}"},
        {1, "{\"x\":\"NaN\"}"},
    }},
    {"data/nested_lists.snappy.parquet", 3, {
        {0, "{\"a\":[[[\"a\",\"b\"],[\"c\"]],[null,[\"d\"]]],\"b\":1}"},
        {1, "{\"a\":[[[\"a\",\"b\"],[\"c\",\"d\"]],[null,[\"e\"]]],\"b\":1}"},
        {2, "{\"a\":[[[\"a\",\"b\"],[\"c\",\"d\"],[\"e\"]],[null,[\"f\"]]],\"b\":1}"},
    }},
    {"data/nested_maps.snappy.parquet", 6, {
        {0, "{\"a\":[{\"key\":\"a\",\"value\":[{\"key\":1,\"value\":true},{\"key\":2,\"value\":false}]}],\"b\":1,\"c\":1.0}"},
        {1, "{\"a\":[{\"key\":\"b\",\"value\":[{\"key\":1,\"value\":true}]}],\"b\":1,\"c\":1.0}"},
        {3, "{\"a\":[{\"key\":\"d\",\"value\":[]}],\"b\":1,\"c\":1.0}"},
    }},
    {"data/nested_structs.rust.parquet", 1, {
    }},
    {"data/non_hadoop_lz4_compressed.parquet", 4, {
        {0, "{\"c0\":1593604800,\"c1\":\"YWJj\",\"v11\":42.0}"},
        {1, "{\"c0\":1593604800,\"c1\":\"ZGVm\",\"v11\":7.7}"},
        {2, "{\"c0\":1593604801,\"c1\":\"YWJj\",\"v11\":42.125}"},
    }},
    {"data/nonnullable.impala.parquet", 1, {
        {0, "{\"ID\":8,\"Int_Array\":[-1],\"int_array_array\":[[-1,-2],[]],\"Int_Map\":[{\"key\":\"k1\",\"value\":-1}],\"int_map_array\":[[],[{\"key\":\"k1\",\"value\":1}],[],[]],\"nested_Struct\":{\"a\":-1,\"B\":[-1],\"c\":{\"D\":[[{\"e\":-1,\"f\":\"nonnullable\"}]]},\"G\":[]}}"},
    }},
    {"data/null_list.parquet", 1, {
        {0, "{\"emptylist\":[]}"},
    }},
    {"data/nullable.impala.parquet", 7, {
        {0, "{\"id\":1,\"int_array\":[1,2,3],\"int_array_Array\":[[1,2],[3,4]],\"int_map\":[{\"key\":\"k1\",\"value\":1},{\"key\":\"k2\",\"value\":100}],\"int_Map_Array\":[[{\"key\":\"k1\",\"value\":1}]],\"nested_struct\":{\"A\":1,\"b\":[1],\"C\":{\"d\":[[{\"E\":10,\"F\":\"aaa\"},{\"E\":-10,\"F\":\"bbb\"}],[{\"E\":11,\"F\":\"c\"}]]},\"g\":[{\"key\":\"foo\",\"value\":{\"H\":{\"i\":[1.1]}}}]}}"},
        {1, "{\"id\":2,\"int_array\":[null,1,2,null,3,null],\"int_array_Array\":[[null,1,2,null],[3,null,4],[],null],\"int_map\":[{\"key\":\"k1\",\"value\":2},{\"key\":\"k2\",\"value\":null}],\"int_Map_Array\":[[{\"key\":\"k3\",\"value\":null},{\"key\":\"k1\",\"value\":1}],null,[]],\"nested_struct\":{\"A\":null,\"b\":[null],\"C\":{\"d\":[[{\"E\":null,\"F\":null},{\"E\":10,\"F\":\"aaa\"},{\"E\":null,\"F\":null},{\"E\":-10,\"F\":\"bbb\"},{\"E\":null,\"F\":null}],[{\"E\":11,\"F\":\"c\"},null],[],null]},\"g\":[{\"key\":\"g1\",\"value\":{\"H\":{\"i\":[2.2,null]}}},{\"key\":\"g2\",\"value\":{\"H\":{\"i\":[]}}},{\"key\":\"g3\",\"value\":null},{\"key\":\"g4\",\"value\":{\"H\":{\"i\":null}}},{\"key\":\"g5\",\"value\":{\"H\":null}}]}}"},
        {3, "{\"id\":4,\"int_array\":null,\"int_array_Array\":[],\"int_map\":[],\"int_Map_Array\":[],\"nested_struct\":{\"A\":null,\"b\":null,\"C\":{\"d\":null},\"g\":null}}"},
    }},
    {"data/nulls.snappy.parquet", 8, {
        {0, "{\"b_struct\":{\"b_c_int\":null}}"},
        {1, "{\"b_struct\":{\"b_c_int\":null}}"},
        {4, "{\"b_struct\":{\"b_c_int\":null}}"},
    }},
    {"data/old_list_structure.parquet", 1, {
        {0, "{\"a\":[[1,2],[3,4]]}"},
    }},
    {"data/overflow_i16_page_cnt.parquet", 40000, {
        {0, "{\"inc\":false}"},
        {1, "{\"inc\":false}"},
        {20000, "{\"inc\":false}"},
    }},
    {"data/page_v2_empty_compressed.parquet", 10, {
        {0, "{\"integer_column\":null}"},
        {1, "{\"integer_column\":null}"},
        {5, "{\"integer_column\":null}"},
    }},
    {"data/plain-dict-uncompressed-checksum.parquet", 1000, {
        {0, "{\"long_field\":0,\"binary_field\":\"YTY1NWZkMGUtOTk0OS00MDU5LWJjYWUtZmQ2YTAwMmE0NjUy\"}"},
        {1, "{\"long_field\":0,\"binary_field\":\"YTY1NWZkMGUtOTk0OS00MDU5LWJjYWUtZmQ2YTAwMmE0NjUy\"}"},
        {500, "{\"long_field\":0,\"binary_field\":\"YTY1NWZkMGUtOTk0OS00MDU5LWJjYWUtZmQ2YTAwMmE0NjUy\"}"},
    }},
    {"data/repeated_no_annotation.parquet", 6, {
        {0, "{\"id\":1,\"phoneNumbers\":null}"},
        {1, "{\"id\":2,\"phoneNumbers\":null}"},
        {3, "{\"id\":4,\"phoneNumbers\":{\"phone\":[{\"number\":5555555555,\"kind\":null}]}}"},
    }},
    {"data/repeated_primitive_no_list.parquet", 4, {
        {0, "{\"Int32_list\":[0,1,2,3],\"String_list\":[\"foo\",\"zero\",\"one\",\"two\"],\"group_of_lists\":{\"Int32_list_in_group\":[0,1,2,3],\"String_list_in_group\":[\"foo\",\"zero\",\"one\",\"two\"]}}"},
        {1, "{\"Int32_list\":[],\"String_list\":[\"three\"],\"group_of_lists\":{\"Int32_list_in_group\":[],\"String_list_in_group\":[\"three\"]}}"},
        {2, "{\"Int32_list\":[4],\"String_list\":[\"four\"],\"group_of_lists\":{\"Int32_list_in_group\":[4],\"String_list_in_group\":[\"four\"]}}"},
    }},
    {"data/rle-dict-snappy-checksum.parquet", 1000, {
        {0, "{\"long_field\":0,\"binary_field\":\"Yzk1ZTI2M2EtZjVkNC00MDFmLTgxMDctNWNhNzE0NmExZjk4\"}"},
        {1, "{\"long_field\":0,\"binary_field\":\"Yzk1ZTI2M2EtZjVkNC00MDFmLTgxMDctNWNhNzE0NmExZjk4\"}"},
        {500, "{\"long_field\":0,\"binary_field\":\"Yzk1ZTI2M2EtZjVkNC00MDFmLTgxMDctNWNhNzE0NmExZjk4\"}"},
    }},
    {"data/rle-dict-uncompressed-corrupt-checksum.parquet", 1000, {
        {0, "{\"long_field\":0,\"binary_field\":\"NjMyNWMzMmItZjQxNy00MWFhLTllMDItOWI4NjAxNTQyYWZm\"}"},
        {1, "{\"long_field\":0,\"binary_field\":\"NjMyNWMzMmItZjQxNy00MWFhLTllMDItOWI4NjAxNTQyYWZm\"}"},
        {500, "{\"long_field\":0,\"binary_field\":\"NjMyNWMzMmItZjQxNy00MWFhLTllMDItOWI4NjAxNTQyYWZm\"}"},
    }},
    {"data/rle_boolean_encoding.parquet", 68, {
        {0, "{\"datatype_boolean\":true}"},
        {1, "{\"datatype_boolean\":false}"},
        {34, "{\"datatype_boolean\":false}"},
    }},
    {"data/single_nan.parquet", 1, {
        {0, "{\"mycol\":null}"},
    }},
    {"data/sort_columns.parquet", 6, {
        {0, "{\"a\":null,\"b\":\"a\"}"},
        {1, "{\"a\":2,\"b\":\"b\"}"},
        {3, "{\"a\":null,\"b\":\"a\"}"},
    }},
    {"data/unknown-logical-type.parquet", 3, {
        {0, "{\"column with known type\":\"known string 1\",\"column with unknown type\":\"dW5rbm93biBzdHJpbmcgMQ==\"}"},
        {1, "{\"column with known type\":\"known string 2\",\"column with unknown type\":\"dW5rbm93biBzdHJpbmcgMg==\"}"},
        {2, "{\"column with known type\":\"known string 3\",\"column with unknown type\":\"dW5rbm93biBzdHJpbmcgMw==\"}"},
    }},
    {"bad_data/ARROW-GH-43605.parquet", 21186, {
        {0, "{\"min_fl\":0}"},
        {1, "{\"min_fl\":0}"},
        {10593, "{\"min_fl\":0}"},
    }},
};

TEST(pq_reader_corpus_rows_match_pyarrow)
{
    dc_buf out;
    dc_buf_init(&out, (size_t)1 << 30);
    for (size_t i = 0; i < sizeof corpus_rows / sizeof corpus_rows[0]; i++) {
        const char *path = corpus(corpus_rows[i].file);
        dc_pq_reader *r = NULL;
        dc_err err;
        dc_err_clear(&err);
        if (!path) break;
        dc_buf_reset(&out);
        int rc = dc_pq_reader_open_file(&r, path, &err);
        if (rc == 0) rc = cat_all(&out, r, &err);
        dc_pq_reader_free(r);
        if (rc != 0) {
            dc_test_fail(__FILE__, __LINE__, "%s: %s", corpus_rows[i].file, err.msg);
            continue;
        }
        if ((long)count_lines(&out) != corpus_rows[i].n_rows)
            dc_test_fail(__FILE__, __LINE__, "%s: %zu rows, expected %ld", corpus_rows[i].file,
                         count_lines(&out), corpus_rows[i].n_rows);
        for (int k = 0; k < 3 && corpus_rows[i].rows[k].json; k++) {
            size_t len = 0;
            const char *line = nth_line(&out, (size_t)corpus_rows[i].rows[k].row, &len);
            if (!line || !json_text_equal(line, len, corpus_rows[i].rows[k].json))
                dc_test_fail(__FILE__, __LINE__, "%s row %ld:\n    got      %.*s\n    expected %s",
                             corpus_rows[i].file, corpus_rows[i].rows[k].row, line ? (int)len : 6,
                             line ? line : "(none)", corpus_rows[i].rows[k].json);
        }
    }
    dc_buf_dispose(&out);
}

/* Row 5 of int96_from_spark.parquet: Julian day -105862232 and
 * -32509551616000 ns of day (decoded from the dictionary page with Python).
 * Its micros overflow int64; Spark's fromJulianDay wraps and reads
 * 290000-12-30T23:00:00Z (pyarrow's nanosecond path gives another wrap,
 * DuckDB refuses the value). We follow Spark, as parquet.h says. */
TEST(pq_reader_int96_out_of_range_reads_as_spark)
{
    const char *path = corpus("data/int96_from_spark.parquet");
    dc_pq_reader *r = NULL;
    dc_err err;
    dc_buf out;
    size_t len = 0;
    dc_buf_init(&out, 1 << 20);
    if (!path) return;
    CHECK_OK(dc_pq_reader_open_file(&r, path, &err), &err);
    if (!r) return;
    CHECK_OK(cat_all(&out, r, &err), &err);
    const char *line = nth_line(&out, 5, &len);
    CHECK(line && json_text_equal(line, len, "{\"a\":\"290000-12-30T23:00:00.000000Z\"}"));
    dc_pq_reader_free(r);
    dc_buf_dispose(&out);
}

/* ------------------------------------------------ levels of one leaf */

TEST(pq_reader_list_levels)
{
    /* list_columns.parquet: int64_list [[1,2,3],[null,1],[4]] and
     * utf8_list [["abc","efg","hij"], null, ["efg",null,"hij","xyz"]]
     * (pyarrow); optional list / repeated / optional item: max_def 3. */
    static const int16_t def0[] = {3, 3, 3, 2, 3, 3}, rep0[] = {0, 1, 1, 0, 1, 0};
    static const int64_t val0[] = {1, 2, 3, 1, 4};
    static const int16_t def1[] = {3, 3, 3, 0, 3, 2, 3, 3}, rep1[] = {0, 1, 1, 0, 0, 1, 1, 1};
    static const char *val1[] = {"abc", "efg", "hij", "efg", "hij", "xyz"};
    const char *path = corpus("data/list_columns.parquet");
    dc_pq_reader *r = NULL;
    dc_pq_column c;
    dc_err err;
    if (!path) return;
    dc_pq_column_init(&c);
    CHECK_OK(dc_pq_reader_open_file(&r, path, &err), &err);
    if (!r) return;
    CHECK_EQ_INT(dc_pq_reader_schema(r)->leaves[0].max_def, 3);
    CHECK_EQ_INT(dc_pq_reader_schema(r)->leaves[0].max_rep, 1);
    CHECK_OK(dc_pq_reader_read_column(&c, r, 0, 0, &err), &err);
    CHECK_EQ_INT(c.n_levels, 6);
    CHECK_EQ_INT(c.n_values, 5);
    for (size_t i = 0; i < 6 && c.n_levels == 6; i++) {
        CHECK_EQ_INT(c.def[i], def0[i]);
        CHECK_EQ_INT(c.rep[i], rep0[i]);
    }
    for (size_t i = 0; i < 5 && c.n_values == 5; i++)
        CHECK_EQ_INT((int64_t)dc_load_le64(c.values.data + 8 * i), val0[i]);
    CHECK_OK(dc_pq_reader_read_column(&c, r, 0, 1, &err), &err);
    CHECK_EQ_INT(c.n_levels, 8);
    CHECK_EQ_INT(c.n_values, 6);
    for (size_t i = 0; i < 8 && c.n_levels == 8; i++) {
        CHECK_EQ_INT(c.def[i], def1[i]);
        CHECK_EQ_INT(c.rep[i], rep1[i]);
    }
    for (size_t i = 0; i < 6 && c.n_values == 6; i++) {
        CHECK_EQ_INT(c.offsets[i + 1] - c.offsets[i], strlen(val1[i]));
        CHECK(memcmp(c.values.data + c.offsets[i], val1[i], strlen(val1[i])) == 0);
    }
    dc_pq_column_dispose(&c);
    dc_pq_reader_free(r);
}

TEST(pq_reader_projection_reads_selected_fields)
{
    const char *path = corpus("data/alltypes_plain.parquet");
    dc_pq_reader *r = NULL;
    dc_err err;
    dc_buf out;
    size_t len = 0;
    if (!path) return;
    dc_buf_init(&out, 1 << 20);
    CHECK_OK(dc_pq_reader_open_file(&r, path, &err), &err);
    if (!r) return;
    uint32_t n = dc_pq_reader_schema(r)->root.n_children;
    bool *proj = calloc(n, 1);
    proj[0] = proj[9] = true;  /* id, string_col */
    CHECK_OK(dc_pq_reader_rows_json(&out, r, 0, proj, &err), &err);
    const char *line = nth_line(&out, 7, &len);
    CHECK(line && json_text_equal(line, len, "{\"id\":1,\"string_col\":\"MQ==\"}"));
    CHECK_EQ_INT(count_lines(&out), 8);
    free(proj);
    dc_pq_reader_free(r);
    dc_buf_dispose(&out);
}

/* --------------------------------------------- delta_*_expect.csv */

/* Next CSV field of line *p (quoted or not); *null when empty and unquoted. */
static size_t csv_field(const char **p, char *buf, size_t cap, bool *null)
{
    const char *s = *p;
    size_t n = 0;
    *null = true;
    if (*s == '"') {
        *null = false;
        for (s++; *s && !(*s == '"' && s[1] != '"'); s++) {
            if (*s == '"') s++;
            if (n + 1 < cap) buf[n++] = *s;
        }
        if (*s == '"') s++;
    } else {
        for (; *s && *s != ',' && *s != '\n' && *s != '\r'; s++) {
            *null = false;
            if (n + 1 < cap) buf[n++] = *s;
        }
    }
    if (*s == ',') s++;
    buf[n] = '\0';
    *p = s;
    return n;
}

/* Checks value `row` of every leaf against one CSV line. */
static void csv_check_row(const char *file, const char *line, long row, dc_pq_column *cols,
                          size_t *vi, const dc_pq_schema *s)
{
    char field[512];
    for (uint32_t l = 0; l < s->n_leaves; l++) {
        bool null;
        size_t n = csv_field(&line, field, sizeof field, &null);
        const dc_pq_column *c = &cols[l];
        const dc_pq_leaf *leaf = &s->leaves[l];
        bool present = (size_t)row < c->n_levels && (!c->def || c->def[row] == leaf->max_def);
        if (present == null) {
            dc_test_fail(__FILE__, __LINE__, "%s row %ld column %s: null mismatch", file, row,
                         leaf->dotted);
            continue;
        }
        if (null) continue;
        size_t v = vi[l]++;
        bool ok;
        if (leaf->phys == PQ_BYTE_ARRAY)
            ok = c->offsets[v + 1] - c->offsets[v] == n &&
                 memcmp(c->values.data + c->offsets[v], field, n) == 0;
        else if (leaf->phys == PQ_INT32)
            ok = (int32_t)dc_load_le32(c->values.data + 4 * v) == strtoll(field, NULL, 10);
        else
            ok = (int64_t)dc_load_le64(c->values.data + 8 * v) == strtoll(field, NULL, 10);
        if (!ok)
            dc_test_fail(__FILE__, __LINE__, "%s row %ld column %s: expected %s", file, row,
                         leaf->dotted, field);
    }
}

static void check_csv(const char *pq_rel, const char *csv_rel, long n_rows)
{
    size_t csv_len = 0;
    uint8_t *csv = load(csv_rel, &csv_len);
    const char *path = corpus(pq_rel);
    dc_pq_reader *r = NULL;
    dc_err err;
    if (!csv || !path) goto out;
    CHECK_OK(dc_pq_reader_open_file(&r, path, &err), &err);
    if (!r) goto out;
    const dc_pq_schema *s = dc_pq_reader_schema(r);
    CHECK_EQ_INT(dc_pq_reader_meta(r)->n_row_groups, 1);
    dc_pq_column *cols = calloc(s->n_leaves, sizeof *cols);
    size_t *vi = calloc(s->n_leaves, sizeof *vi);
    for (uint32_t l = 0; l < s->n_leaves; l++) {
        dc_pq_column_init(&cols[l]);
        CHECK_OK(dc_pq_reader_read_column(&cols[l], r, 0, l, &err), &err);
        CHECK_EQ_INT(cols[l].n_levels, n_rows);
    }
    char *text = (char *)csv;
    text[csv_len - 1] = '\0';  /* the CSV ends with a newline */
    char *line = strchr(text, '\n') + 1;  /* skip the header */
    long row = 0;
    for (; line && *line && row < n_rows; row++) {
        csv_check_row(csv_rel, line, row, cols, vi, s);
        line = strchr(line, '\n');
        if (line) line++;
    }
    CHECK_EQ_INT(row, n_rows);
    for (uint32_t l = 0; l < s->n_leaves; l++) dc_pq_column_dispose(&cols[l]);
    free(cols);
    free(vi);
out:
    dc_pq_reader_free(r);
    dc_free(csv);
}

TEST(pq_reader_delta_encodings_match_expect_csv)
{
    check_csv("data/delta_binary_packed.parquet", "data/delta_binary_packed_expect.csv", 200);
    check_csv("data/delta_byte_array.parquet", "data/delta_byte_array_expect.csv", 1000);
    check_csv("data/delta_encoding_optional_column.parquet",
              "data/delta_encoding_optional_column_expect.csv", 100);
    check_csv("data/delta_encoding_required_column.parquet",
              "data/delta_encoding_required_column_expect.csv", 100);
}

/* ----------------------------------------------------- refusals */

static void expect_failure(const char *rel, int code, const char *needle)
{
    size_t len = 0;
    uint8_t *data = load(rel, &len);
    dc_buf rows;
    dc_err err;
    dc_err_clear(&err);
    if (!data) return;
    dc_buf_init(&rows, (size_t)1 << 30);
    int rc = read_everything(data, len, &rows, &err);
    if (rc == 0) dc_test_fail(__FILE__, __LINE__, "%s was accepted", rel);
    else if (code && rc != code)
        dc_test_fail(__FILE__, __LINE__, "%s: %s (%s), expected %s", rel, err.msg,
                     dc_err_code_name(rc), dc_err_code_name(code));
    if (rc != 0 && needle && !strstr(err.msg, needle))
        dc_test_fail(__FILE__, __LINE__, "%s: message \"%s\" lacks \"%s\"", rel, err.msg, needle);
    dc_buf_dispose(&rows);
    dc_free(data);
}

TEST(pq_reader_refuses_malformed_files)
{
    expect_failure("bad_data/ARROW-GH-41317.parquet", DC_ECORRUPT, NULL);
    expect_failure("bad_data/ARROW-GH-41321.parquet", DC_ECORRUPT, "row group 0, column int64");
    expect_failure("bad_data/ARROW-GH-45185.parquet", DC_ECORRUPT, "repetition level");
    expect_failure("bad_data/ARROW-GH-47662.parquet", DC_ECORRUPT, NULL);
    expect_failure("bad_data/ARROW-RS-GH-6229-DICTHEADER.parquet", DC_ECORRUPT, NULL);
    expect_failure("bad_data/ARROW-RS-GH-6229-LEVELS.parquet", DC_ECORRUPT, NULL);
    expect_failure("bad_data/PARQUET-1481.parquet", DC_ECORRUPT, NULL);
    /* the data page overruns the chunk by its dictionary header (PARQUET-816);
     * pyarrow pads old parquet-mr chunks, we stop at the declared end */
    expect_failure("data/nation.dict-malformed.parquet", DC_ECORRUPT,
                   "mem.parquet: row group 0, column name, page 1 at offset 421: ");
    /* a page that inflates to 1 GiB */
    expect_failure("data/large_string_map.brotli.parquet", DC_ELIMIT, "page 0 at offset 4");
}

TEST(pq_reader_refuses_encrypted_files)
{
    static const char *files[] = {
        "data/encrypt_columns_and_footer.parquet.encrypted",
        "data/encrypt_columns_and_footer_aad.parquet.encrypted",
        "data/encrypt_columns_and_footer_bloom_filter.parquet.encrypted",
        "data/encrypt_columns_and_footer_ctr.parquet.encrypted",
        "data/encrypt_columns_and_footer_disable_aad_storage.parquet.encrypted",
        "data/encrypt_columns_plaintext_footer.parquet.encrypted",
        "data/external_key_material_java.parquet.encrypted",
        "data/uniform_encryption.parquet.encrypted",
        "data/aes256/encrypt_columns_and_footer.parquet.encrypted",
        "data/aes256/encrypt_columns_plaintext_footer.parquet.encrypted",
        "data/aes256/uniform_encryption.parquet.encrypted",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        expect_failure(files[i], DC_EUNSUPPORTED, "encrypted Parquet files are not supported");
}

/* Every readable file of the corpus, truncated at every offset (small
 * files) or at 97 evenly spread offsets, is refused without a crash. */
TEST(pq_reader_truncations_fail_cleanly)
{
    static const char *files[] = {
        "data/alltypes_plain.parquet", "data/datapage_v2.snappy.parquet",
        "data/nested_maps.snappy.parquet", "data/nullable.impala.parquet",
        "data/delta_length_byte_array.parquet", "data/byte_stream_split.zstd.parquet",
    };
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len = 0;
        uint8_t *data = load(files[f], &len);
        if (!data) continue;
        size_t step = len <= 2048 ? 1 : len / 97;
        for (size_t cut = 0; cut < len; cut += step) {
            uint8_t *copy = malloc(cut ? cut : 1);  /* exact size: ASan sees overreads */
            memcpy(copy, data, cut);
            dc_buf rows;
            dc_err err;
            dc_buf_init(&rows, (size_t)1 << 30);
            if (read_everything(copy, cut, &rows, &err) == 0)
                dc_test_fail(__FILE__, __LINE__, "%s cut at %zu was accepted", files[f], cut);
            dc_buf_dispose(&rows);
            free(copy);
        }
        dc_free(data);
    }
}

/* Each byte of small files replaced (by its complement, then by 0x7f):
 * reading may fail or succeed, but never crashes or reads out of bounds. */
TEST(pq_reader_mutations_never_crash)
{
    static const char *files[] = {
        "data/alltypes_plain.snappy.parquet", "data/datapage_v2.snappy.parquet",
        "data/nested_lists.snappy.parquet", "data/nonnullable.impala.parquet",
        "data/rle_boolean_encoding.parquet", "data/fixed_length_decimal.parquet",
        "data/list_columns.parquet", "data/null_list.parquet",
        "data/delta_encoding_optional_column.parquet",
    };
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len = 0;
        uint8_t *data = load(files[f], &len);
        if (!data) continue;
        uint8_t *copy = malloc(len);
        size_t step = len <= 4096 ? 1 : len / 1500;
        for (size_t i = 0; i < len; i += step) {
            for (int k = 0; k < 2; k++) {
                memcpy(copy, data, len);
                copy[i] = k ? 0x7f : (uint8_t)~copy[i];
                dc_buf rows;
                dc_err err;
                dc_buf_init(&rows, (size_t)1 << 28);
                (void)read_everything(copy, len, &rows, &err);
                dc_buf_dispose(&rows);
            }
        }
        free(copy);
        dc_free(data);
    }
}

/* Every allocation failure on the way is reported, never a crash or leak. */
TEST(pq_reader_allocation_failures)
{
    size_t len = 0;
    uint8_t *data = load("data/nullable.impala.parquet", &len);
    if (!data) return;
    bool done = false;
    for (long n = 1; n < 5000 && !done; n++) {
        dc_buf rows;
        dc_err err;
        dc_buf_init(&rows, (size_t)1 << 24);
        dc_alloc_fail_after(n);
        int rc = read_everything(data, len, &rows, &err);
        dc_alloc_fail_after(0);
        if (rc == 0) done = true;
        else if (rc != DC_ENOMEM) dc_test_fail(__FILE__, __LINE__, "n=%ld: %s", n, err.msg);
        dc_buf_dispose(&rows);
    }
    CHECK(done);
    dc_free(data);
}

/* Invalid UTF-8 in a STRING column is an error naming column and row, as
 * DuckDB does (pyarrow reads it but fails to convert the value). */
TEST(pq_reader_invalid_utf8_string_is_an_error)
{
    size_t len = 0;
    uint8_t *data = load("data/delta_byte_array.parquet", &len);  /* uncompressed */
    if (!data) return;
    uint8_t *hit = memmem(data, len, "MONTSERRAT", 10);
    CHECK(hit != NULL);
    if (hit) hit[1] = 0xff;
    dc_buf rows;
    dc_err err;
    dc_err_clear(&err);
    dc_buf_init(&rows, (size_t)1 << 28);
    int rc = read_everything(data, len, &rows, &err);
    CHECK_EQ_INT(rc, DC_ECORRUPT);
    CHECK(strstr(err.msg, "column c_birth_country, row ") != NULL);
    CHECK(strstr(err.msg, "invalid UTF-8") != NULL);
    dc_buf_dispose(&rows);
    dc_free(data);
}

/* ------------------------------------------------------ statistics */

TEST(pq_reader_statistics)
{
    dc_pq_reader *r = NULL;
    dc_pq_stats st;
    dc_err err;
    const char *path = corpus("data/int32_with_null_pages.parquet");
    if (!path) return;
    /* pyarrow: min -2136906554, max 2145722375, null_count 275 */
    CHECK_OK(dc_pq_reader_open_file(&r, path, &err), &err);
    if (!r) return;
    CHECK_OK(dc_pq_reader_stats(&st, r, 0, 0, &err), &err);
    CHECK(st.has_min_max && st.has_null_count);
    CHECK_EQ_INT(st.null_count, 275);
    if (st.has_min_max) {
        CHECK_EQ_INT((int32_t)dc_load_le32(st.min.ptr), -2136906554);
        CHECK_EQ_INT((int32_t)dc_load_le32(st.max.ptr), 2145722375);
    }
    CHECK(!dc_pq_reader_rg_may_contain_i64(r, 0, 0, 2145722376, INT64_MAX));
    CHECK(dc_pq_reader_rg_may_contain_i64(r, 0, 0, 2145722375, INT64_MAX));
    CHECK(!dc_pq_reader_rg_may_contain_i64(r, 0, 0, INT64_MIN, -2136906555));
    CHECK(dc_pq_reader_rg_may_contain_i64(r, 0, 0, 0, 0));
    CHECK(dc_pq_reader_stats(&st, r, 1, 0, NULL) == DC_EINVAL);
    dc_pq_reader_free(r);

    /* binary.parquet: min 0x00, max 0x0b */
    CHECK_OK(dc_pq_reader_open_file(&r, corpus("data/binary.parquet"), &err), &err);
    if (!r) return;
    CHECK_OK(dc_pq_reader_stats(&st, r, 0, 0, &err), &err);
    CHECK(st.has_min_max && st.min.len == 1 && st.max.len == 1);
    if (st.has_min_max && st.max.len == 1) CHECK_EQ_INT(st.max.ptr[0], 0x0b);
    CHECK(!dc_pq_reader_rg_may_contain_bytes(r, 0, 0, (const uint8_t *)"\x0c", 1,
                                             (const uint8_t *)"\xff", 1));
    CHECK(dc_pq_reader_rg_may_contain_bytes(r, 0, 0, (const uint8_t *)"\x05", 1,
                                            (const uint8_t *)"\x05", 1));
    CHECK(!dc_pq_reader_rg_may_contain_bytes(r, 0, 0, (const uint8_t *)"\x0b\x00", 2,
                                             (const uint8_t *)"\x0c", 1));
    dc_pq_reader_free(r);

    /* nan_in_stats.parquet: max is NaN, so min/max are not usable */
    CHECK_OK(dc_pq_reader_open_file(&r, corpus("data/nan_in_stats.parquet"), &err), &err);
    if (!r) return;
    CHECK_OK(dc_pq_reader_stats(&st, r, 0, 0, &err), &err);
    CHECK(!st.has_min_max);
    dc_pq_reader_free(r);
}

/* --------------------------------------------------- value formatting */

static void check_decimal(const char *hex, int32_t scale, const char *expected)
{
    uint8_t b[64];
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        b[i] = (uint8_t)v;
    }
    dc_buf out;
    dc_err err;
    dc_buf_init(&out, 4096);
    CHECK_OK(pq_json_put_decimal_be(&out, b, n, scale, &err), &err);
    CHECK_OK(dc_buf_putc(&out, 0, &err), &err);
    CHECK_EQ_STR((const char *)out.data, expected);
    dc_buf_dispose(&out);
}

TEST(pq_json_decimals)
{
    check_decimal("00", 0, "\"0\"");
    check_decimal("ff", 2, "\"-0.01\"");
    check_decimal("3039", 2, "\"123.45\"");
    check_decimal("cfc7", 2, "\"-123.45\"");
    check_decimal("0000000000003039", 7, "\"0.0012345\"");
    check_decimal("80000000000000000000000000000000", 0,
                  "\"-170141183460469231731687303715884105728\"");
    check_decimal("7fffffffffffffffffffffffffffffff", 38,
                  "\"1.70141183460469231731687303715884105727\"");
    /* wider than 128 bits: 10^40 and -(10^40 - 1) in 17 bytes, 2^255-1 in 32 */
    check_decimal("1d6329f1c35ca4bfabb9f5610000000000", 0,
                  "\"10000000000000000000000000000000000000000\"");
    check_decimal("e29cd60e3ca35b4054460a9f0000000001", 3,
                  "\"-9999999999999999999999999999999999999.999\"");
    check_decimal("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 0,
                  "\"57896044618658097711785492504343953926634992332820282019728792003956564819967\"");
    check_decimal("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff85", 1, "\"-12.3\"");
    dc_buf out;
    dc_buf_init(&out, 64);
    CHECK(pq_json_put_decimal_be(&out, (const uint8_t *)"", 0, 0, NULL) == DC_ECORRUPT);
    dc_buf_dispose(&out);
}

#define CHECK_FMT(call, expected)                                  \
    do {                                                           \
        dc_buf o_;                                                 \
        dc_err e_;                                                 \
        dc_buf_init(&o_, 256);                                     \
        CHECK_OK(call, &e_);                                       \
        CHECK_OK(dc_buf_putc(&o_, 0, &e_), &e_);                   \
        CHECK_EQ_STR((const char *)o_.data, expected);             \
        dc_buf_dispose(&o_);                                       \
    } while (0)

TEST(pq_json_dates_and_timestamps)
{
    /* expected texts from the interop converter's format_date/format_timestamp */
    CHECK_FMT(pq_json_put_date(&o_, 0, &e_), "\"1970-01-01\"");
    CHECK_FMT(pq_json_put_date(&o_, -719528, &e_), "\"0000-01-01\"");
    CHECK_FMT(pq_json_put_date(&o_, -719529, &e_), "\"-0001-12-31\"");
    CHECK_FMT(pq_json_put_date(&o_, 2932896, &e_), "\"9999-12-31\"");
    CHECK_FMT(pq_json_put_date(&o_, INT32_MAX, &e_), "\"5881580-07-11\"");
    CHECK_FMT(pq_json_put_date(&o_, INT32_MIN, &e_), "\"-5877641-06-23\"");
    CHECK_FMT(pq_json_put_timestamp(&o_, -1, PQ_UNIT_NANOS, true, &e_),
              "\"1969-12-31T23:59:59.999999999Z\"");
    CHECK_FMT(pq_json_put_timestamp(&o_, -1, PQ_UNIT_MICROS, false, &e_),
              "\"1969-12-31T23:59:59.999999\"");
    CHECK_FMT(pq_json_put_timestamp(&o_, INT64_MIN, PQ_UNIT_MICROS, true, &e_),
              "\"-290308-12-21T19:59:05.224192Z\"");
    CHECK_FMT(pq_json_put_timestamp(&o_, INT64_MAX, PQ_UNIT_NANOS, true, &e_),
              "\"2262-04-11T23:47:16.854775807Z\"");
    CHECK_FMT(pq_json_put_timestamp(&o_, INT64_MIN, PQ_UNIT_MILLIS, true, &e_),
              "\"-292275055-05-16T16:47:04.192000Z\"");
    /* INT96: 2009-01-01T00:01:00 is Julian day 2454833, 60e9 ns */
    uint8_t i96[12];
    dc_store_le64(i96, UINT64_C(60000000000));
    dc_store_le32(i96 + 8, 2454833);
    CHECK_FMT(pq_json_put_int96(&o_, i96, &e_), "\"2009-01-01T00:01:00.000000Z\"");
}

TEST(pq_json_half_floats_and_utf8)
{
    CHECK(pq_half_to_float(0x3c00) == 1.0f);
    CHECK(pq_half_to_float(0xc000) == -2.0f);
    CHECK(pq_half_to_float(0x7bff) == 65504.0f);
    CHECK(pq_half_to_float(0x0001) == 0x1p-24f);
    CHECK(pq_half_to_float(0x03ff) == 0x3ffp-24f);
    CHECK(pq_half_to_float(0x7c00) > 3e38f);
    CHECK(pq_half_to_float(0x7e00) != pq_half_to_float(0x7e00));
    uint16_t neg0 = 0x8000;
    float f = pq_half_to_float(neg0);
    CHECK(f == 0.0f && signbit(f));
    CHECK(pq_utf8_valid((const uint8_t *)"plain ascii text", 16));
    CHECK(pq_utf8_valid((const uint8_t *)"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    CHECK(!pq_utf8_valid((const uint8_t *)"\xc0\x80", 2));          /* overlong */
    CHECK(!pq_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));      /* surrogate */
    CHECK(!pq_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));  /* > U+10FFFF */
    CHECK(!pq_utf8_valid((const uint8_t *)"abcdefgh\xe2\x82", 10)); /* truncated */
    CHECK(!pq_utf8_valid((const uint8_t *)"\xff", 1));
}

/* ------------------------------------------------------ sparse reader */

/* The file a sparse reader fetches from, and what it asked for. */
typedef struct fake_remote {
    const uint8_t *file; /* the whole file */
    size_t len;
    int calls;           /* fetches made */
    size_t bytes;        /* bytes fetched */
} fake_remote;

static int fake_fetch(void *ctx, const char *name, uint64_t off, size_t n, uint8_t *dst,
                      dc_err *err)
{
    fake_remote *f = ctx;
    (void)name;
    if (off > f->len || n > f->len - off) return dc_err_set(err, DC_ECORRUPT, "out of range");
    memcpy(dst, f->file + off, n);
    f->calls++;
    f->bytes += n;
    return 0;
}

/* Object stores (issue 12): with only the magic and the footer in memory,
 * reading one column fetches that column's chunks alone, each once, and
 * gives the same values as a reader of the whole file; bytes never fetched
 * stay as they were (poisoned here), so nothing read them. */
TEST(pq_reader_sparse_fetches_only_the_columns_read)
{
    size_t len = 0;
    uint8_t *file = load("data/alltypes_plain.parquet", &len);
    if (!file) return;
    dc_err err;
    dc_err_clear(&err);
    uint8_t *sparse = malloc(len);
    memset(sparse, 0xAA, len);
    const uint32_t flen = dc_load_le32(file + len - 8);
    const size_t tail = flen + 8;
    memcpy(sparse, file, 4);
    memcpy(sparse + len - tail, file + len - tail, tail);
    fake_remote f = {file, len, 0, 0};
    dc_pq_reader *r = NULL, *whole = NULL;
    CHECK_OK(dc_pq_reader_open_sparse(&r, sparse, len, tail, "remote.parquet", fake_fetch, &f,
                                      &err), &err);
    CHECK_OK(dc_pq_reader_open_mem(&whole, file, len, "whole.parquet", &err), &err);
    CHECK_EQ_INT(f.calls, 0);
    dc_pq_column a, b;
    dc_pq_column_init(&a);
    dc_pq_column_init(&b);
    const pq_column_meta *cm = &dc_pq_reader_meta(r)->row_groups[0].columns[0].meta_data;
    CHECK_OK(dc_pq_reader_read_column(&a, r, 0, 0, &err), &err);
    CHECK_OK(dc_pq_reader_read_column(&a, r, 0, 0, &err), &err); /* again: no new fetch */
    CHECK_OK(dc_pq_reader_read_column(&b, whole, 0, 0, &err), &err);
    CHECK_EQ_INT(f.calls, 1);
    CHECK(f.bytes == (size_t)cm->total_compressed_size);
    CHECK(a.n_values == b.n_values && a.n_levels == b.n_levels);
    CHECK(a.values.len == b.values.len && memcmp(a.values.data, b.values.data, a.values.len) == 0);
    /* Column 1's chunk was never fetched: still poisoned. */
    const pq_column_meta *c1 = &dc_pq_reader_meta(r)->row_groups[0].columns[1].meta_data;
    CHECK(sparse[c1->data_page_offset] == 0xAA);
    dc_pq_column_dispose(&a);
    dc_pq_column_dispose(&b);
    dc_pq_reader_free(r);
    dc_pq_reader_free(whole);
    free(sparse);
    dc_free(file);
}
