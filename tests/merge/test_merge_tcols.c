/* merge: a typed batch's new rows written as columns from their values in
 * stored form (merge_tcols.c) make the same data files, byte for byte, as
 * the rows' JSON text did (dc_merge_test_typed_text): every flat kind the
 * typed decoder knows, nulls, escapes, soft deletes, and a batch whose
 * records gain a set column midway (rows of both ways in one file). */
#include "merge_fixture.h"

#include <dirent.h>

#define F(t, name) "{\"type\":\"" t "\",\"optional\":true,\"field\":\"" name "\"}"
#define FN(t, n, name) "{\"type\":\"" t "\",\"optional\":true,\"name\":\"" n "\",\"field\":\"" name "\"}"
#define FDEC(name, s, p) "{\"type\":\"bytes\",\"optional\":true,\"name\":" \
    "\"org.apache.kafka.connect.data.Decimal\",\"parameters\":{\"scale\":\"" s "\"," \
    "\"connect.decimal.precision\":\"" p "\"},\"field\":\"" name "\"}"
#define COLS \
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"id\"}," F("boolean", "b") "," \
    F("int8", "i8") "," F("int16", "i16") "," F("int32", "i32") "," \
    FN("int32", "io.debezium.time.Year", "y") "," F("float", "f") "," F("double", "d") "," \
    F("string", "s") "," FN("string", "io.debezium.data.Json", "j") "," \
    "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\"," \
    "\"parameters\":{\"allowed\":\"x,y\"},\"field\":\"e\"}," F("bytes", "bin") "," \
    FN("bytes", "io.debezium.data.Bits", "bits") "," FDEC("dec", "2", "10") "," \
    FDEC("dec18", "3", "18") "," FDEC("dec30", "5", "30") "," FDEC("dec65", "30", "65") "," \
    "{\"type\":\"struct\",\"optional\":true,\"name\":\"io.debezium.data.VariableScaleDecimal\"," \
    "\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"}," \
    "{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}],\"field\":\"vd\"}," \
    FN("int32", "io.debezium.time.Date", "dt") "," FN("int64", "io.debezium.time.Timestamp", "tms") \
    "," FN("int64", "io.debezium.time.MicroTimestamp", "tus") "," \
    FN("int64", "io.debezium.time.NanoTimestamp", "tns") "," \
    FN("string", "io.debezium.time.ZonedTimestamp", "zt") "," \
    FN("int32", "io.debezium.time.Time", "tm") "," FN("int64", "io.debezium.time.MicroTime", "tmu")
#define SET_COL ",{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.EnumSet\"," \
    "\"parameters\":{\"allowed\":\"p,q\"},\"field\":\"st\"}"
#define ENVELOPE(cols) "{\"type\":\"struct\",\"fields\":[" \
    "{\"type\":\"struct\",\"optional\":true,\"field\":\"before\",\"fields\":[" cols "]}," \
    "{\"type\":\"struct\",\"optional\":true,\"field\":\"after\",\"fields\":[" cols "]}," \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"}]}"

static const char BLOCK[] = ENVELOPE(COLS);
static const char BLOCK_SET[] = ENVELOPE(COLS SET_COL);

/* Row images: every column set (three shapes), or only the key (nulls). */
static void image(char *out, size_t cap, int64_t id, int shape, bool set)
{
    static const char *const strs[] = {
        "plain", "h\\u00e9llo \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\n", ""};
    static const char *const b64[] = {"AAEC/w==", "AAEC\\/w==", ""};
    static const char *const decs[] = {"AYag", "/g==", "AA=="};
    static const char *const zts[] = {"2024-05-01T10:00:00.5+02:00", "0001-01-01T00:00:00Z",
                                      "9999-12-31T23:59:59.999999+01:30"};
    if (shape == 3) {
        snprintf(out, cap, "{\"id\":%lld%s}", (long long)id, set ? ",\"st\":\"p,q\"" : "");
        return;
    }
    snprintf(out, cap,
             "{\"id\":%lld,\"b\":%s,\"i8\":%d,\"i16\":%d,\"i32\":%d,\"y\":%d,\"f\":%s,\"d\":%s,"
             "\"s\":\"%s\",\"j\":\"{\\\"a\\\":[1,%d]}\",\"e\":\"%s\",\"bin\":\"%s\","
             "\"bits\":\"Aw==\",\"dec\":\"%s\",\"dec18\":\"%s\",\"dec30\":\"%s\",\"dec65\":\"%s\","
             "\"vd\":{\"scale\":%d,\"value\":\"%s\"},\"dt\":%d,\"tms\":%lld,\"tus\":%lld,"
             "\"tns\":%lld,\"zt\":\"%s\",\"tm\":%d,\"tmu\":%lld%s}",
             (long long)id, shape ? "true" : "false", shape == 1 ? -128 : 127,
             shape == 2 ? -32768 : 32767, (int)id * 7 - 3, 1901 + shape,
             shape == 1 ? "1.5" : "3.4028234e38", shape == 2 ? "-2.25e-10" : "0.1",
             strs[shape], (int)id, shape == 1 ? "x" : "y", b64[shape], decs[shape], decs[shape],
             decs[(shape + 1) % 3], decs[shape], shape, decs[shape],
             shape == 2 ? -719162 : 19000 + (int)id, 1714557600123LL + id, -1714557600123456LL,
             1714557600123456000LL, zts[shape], shape == 1 ? -3600000 : 86399999,
             shape == 2 ? -838LL * 3600000000LL : 90000000000LL, set ? ",\"st\":\"q\"" : "");
}

static void add(mfx *f, char op, int64_t id, int shape, bool set)
{
    char img[4096];
    image(img, sizeof img, id, shape, set);
    dc_cdc_event e = mfx_ev(op, id, 1000 + f->next_off, img);
    e.schema = set ? BLOCK_SET : BLOCK;
    e.schema_len = (uint32_t)strlen(e.schema);
    e.has_srcpos = true;
    e.srcpos.file = 3;
    e.srcpos.pos = 100 + f->next_off;
    e.src_file = "mysql-bin.000003";
    e.src_file_len = (uint32_t)strlen(e.src_file);
    mfx_add_at(f, &e, "t", 0, f->next_off++);
}

/* Three batches into a new table, the rows' way chosen by `text`. */
static void run(mfx *f, bool text, bool soft, dc_merge_mode mode)
{
    static const char *const names[] = {"id"};
    static const dc_cdc_key_type types[] = {DC_CDC_KEY_LONG};
    mfx_init(f, mode, 1, names, types);
    f->o.format = DC_FORMAT_TYPED;
    f->o.typed.soft_deletes = soft;
    f->o.typed.create_schema = BLOCK;
    f->o.typed.create_schema_len = strlen(BLOCK);
    mfx_open(f);
    dc_merge_test_typed_text = text;
    for (int64_t id = 40; id > 0; id--) add(f, 'c', id, (int)(id % 4), false); /* unsorted keys */
    mfx_commit(f);
    for (int64_t id = 1; id <= 40; id += 3) add(f, id % 2 ? 'u' : 'd', id, (int)(id + 1) % 4, false);
    mfx_commit(f);
    for (int64_t id = 30; id <= 60; id++) add(f, 'u', id, (int)id % 4, id % 3 == 0);
    mfx_commit(f);
    dc_merge_test_typed_text = false;
}

/* The data files' bytes, sorted (their names are random). */
static size_t files_of(const mfx *f, dc_buf *out, size_t max)
{
    dc_err err;
    size_t n = 0;
    DIR *d = opendir(f->dir);
    CHECK(d != NULL);
    for (struct dirent *de; d && (de = readdir(d)) != NULL;) {
        const size_t len = strlen(de->d_name);
        if (len < 9 || strcmp(de->d_name + len - 8, ".parquet") != 0 || n == max) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", f->dir, de->d_name);
        FILE *fp = fopen(path, "rb");
        CHECK(fp != NULL);
        dc_buf_init(&out[n], (size_t)1 << 26);
        char chunk[65536];
        for (size_t k; fp && (k = fread(chunk, 1, sizeof chunk, fp)) > 0;)
            CHECK_OK(dc_buf_append(&out[n], chunk, k, &err), &err);
        if (fp) fclose(fp);
        n++;
    }
    if (d) closedir(d);
    for (size_t i = 0; i < n; i++) /* insertion sort by (length, bytes) */
        for (size_t j = i; j > 0; j--) {
            dc_buf *a = &out[j - 1], *b = &out[j];
            const int c = a->len != b->len ? (a->len < b->len ? -1 : 1)
                                           : memcmp(a->data, b->data, a->len);
            if (c <= 0) break;
            const dc_buf t = *a;
            *a = *b;
            *b = t;
        }
    return n;
}

static void same_files(bool soft, dc_merge_mode mode)
{
    mfx a, b;
    run(&a, true, soft, mode);
    run(&b, false, soft, mode);
    char *sa = mfx_state(&a), *sb = mfx_state(&b);
    CHECK(strcmp(sa, sb) == 0);
    CHECK(strstr(sa, "\"dec65\":\"0.000000000000000000000000000000\"") != NULL);
    CHECK(strstr(sa, "\"st\":[\"p\",\"q\"]") != NULL);
    dc_free(sa);
    dc_free(sb);
    dc_buf fa[16], fb[16];
    const size_t na = files_of(&a, fa, 16), nb = files_of(&b, fb, 16);
    CHECK_EQ_INT(na, nb);
    CHECK(na >= 3);
    for (size_t i = 0; i < na && i < nb; i++) {
        CHECK_EQ_INT(fa[i].len, fb[i].len);
        CHECK(fa[i].len == fb[i].len && memcmp(fa[i].data, fb[i].data, fa[i].len) == 0);
    }
    for (size_t i = 0; i < na; i++) dc_buf_dispose(&fa[i]);
    for (size_t i = 0; i < nb; i++) dc_buf_dispose(&fb[i]);
    mfx_close(&a);
    mfx_close(&b);
}

TEST(merge_typed_cols_same_files_dv) { same_files(false, DC_MERGE_DV); }
TEST(merge_typed_cols_same_files_cow_soft) { same_files(true, DC_MERGE_COW); }
