/* delta: scans — column mapping by id, schema evolution, widening, partition
 * values, an inline DV — over a table built here with the Parquet writer. */
#include "../test.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "../../src/delta/delta_int.h"


/* The file's own schema: names x1.. that only field ids connect to the table. */
static const char file_schema[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":1,"
    "\"delta.columnMapping.physicalName\":\"x1\"}},"
    "{\"name\":\"name\",\"type\":\"string\",\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":2,"
    "\"delta.columnMapping.physicalName\":\"x2\"}},"
    "{\"name\":\"w\",\"type\":\"integer\",\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":5,"
    "\"delta.columnMapping.physicalName\":\"x5\"}},"
    "{\"name\":\"f\",\"type\":\"float\",\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":6,"
    "\"delta.columnMapping.physicalName\":\"x6\"}},"
    "{\"name\":\"s\",\"type\":{\"type\":\"struct\",\"fields\":[{\"name\":\"in\",\"type\":\"integer\","
    "\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":8,\"delta.columnMapping.physicalName\":"
    "\"x8\"}}]},\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":7,"
    "\"delta.columnMapping.physicalName\":\"x7\"}}]}";

static void write_file(const char *path, dc_err *err)
{
    dc_arena ar;
    dc_arena_init(&ar, 1 << 24);
    dc_json *sj = NULL, *row = NULL;
    dc_pq_schema *schema = NULL;
    dc_pq_writer *w = NULL;
    dc_pq_sink sink;
    dc_pq_writer_opts o;
    dc_pq_writer_opts_init(&o);
    CHECK_OK(dc_json_parse(&sj, &ar, file_schema, strlen(file_schema), err), err);
    CHECK_OK(dc_pq_schema_from_delta(&schema, sj, err), err);
    CHECK_OK(dc_pq_sink_file_open(&sink, path, err), err);
    CHECK_OK(dc_pq_writer_new(&w, schema, &o, &sink, err), err);
    for (int i = 0; i < 10; i++) {
        char text[200];
        snprintf(text, sizeof text,
                 "{\"x1\":%d,\"x2\":\"n%d\",\"x5\":%d,\"x6\":0.1,\"x7\":{\"x8\":%d}}", i, i, -i, i * 10);
        CHECK_OK(dc_json_parse(&row, &ar, text, strlen(text), err), err);
        CHECK_OK(dc_pq_writer_write_json_row(w, row, err), err);
    }
    CHECK_OK(dc_pq_writer_close(w, err), err);
    CHECK_OK(dc_pq_sink_file_close(&sink, true, err), err);
    dc_pq_writer_free(w);
    dc_pq_schema_free(schema);
    dc_arena_dispose(&ar);
}

/* The table: id mode; physical names differ from the file's (ids decide);
 * "extra" was added later (absent from the file); w widened int -> long,
 * f float -> double; s.in renamed and nested; "part" is a partition column. */
static const char table_schema[] =
    "{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":["
    "{\\\"name\\\":\\\"id\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{"
    "\\\"delta.columnMapping.id\\\":1,\\\"delta.columnMapping.physicalName\\\":\\\"col-1\\\"}},"
    "{\\\"name\\\":\\\"label\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{"
    "\\\"delta.columnMapping.id\\\":2,\\\"delta.columnMapping.physicalName\\\":\\\"col-2\\\"}},"
    "{\\\"name\\\":\\\"extra\\\",\\\"type\\\":\\\"integer\\\",\\\"nullable\\\":true,\\\"metadata\\\":{"
    "\\\"delta.columnMapping.id\\\":3,\\\"delta.columnMapping.physicalName\\\":\\\"col-3\\\"}},"
    "{\\\"name\\\":\\\"part\\\",\\\"type\\\":\\\"date\\\",\\\"nullable\\\":true,\\\"metadata\\\":{"
    "\\\"delta.columnMapping.id\\\":4,\\\"delta.columnMapping.physicalName\\\":\\\"col-4\\\"}},"
    "{\\\"name\\\":\\\"w\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{"
    "\\\"delta.columnMapping.id\\\":5,\\\"delta.columnMapping.physicalName\\\":\\\"col-5\\\"}},"
    "{\\\"name\\\":\\\"f\\\",\\\"type\\\":\\\"double\\\",\\\"nullable\\\":true,\\\"metadata\\\":{"
    "\\\"delta.columnMapping.id\\\":6,\\\"delta.columnMapping.physicalName\\\":\\\"col-6\\\"}},"
    "{\\\"name\\\":\\\"s\\\",\\\"type\\\":{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":"
    "\\\"inner\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{"
    "\\\"delta.columnMapping.id\\\":8,\\\"delta.columnMapping.physicalName\\\":\\\"col-8\\\"}},"
    "{\\\"name\\\":\\\"added\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{"
    "\\\"delta.columnMapping.id\\\":9,\\\"delta.columnMapping.physicalName\\\":\\\"col-9\\\"}}]},"
    "\\\"nullable\\\":true,\\\"metadata\\\":{\\\"delta.columnMapping.id\\\":7,"
    "\\\"delta.columnMapping.physicalName\\\":\\\"col-7\\\"}}]}";

static void write_log(dc_storage *s, const char *dv_z85, size_t dv_size, dc_err *err)
{
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    dc_buf_appendf(&b, err,
                   "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":"
                   "[\"columnMapping\",\"deletionVectors\"],\"writerFeatures\":[\"columnMapping\","
                   "\"deletionVectors\"]}}\n"
                   "{\"metaData\":{\"id\":\"t\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
                   "\"schemaString\":\"%s\",\"partitionColumns\":[\"part\"],\"configuration\":{"
                   "\"delta.columnMapping.mode\":\"id\"}}}\n"
                   "{\"add\":{\"path\":\"part%%3D1/f%%201.parquet\",\"partitionValues\":{\"col-4\":"
                   "\"2024-02-29\"},\"size\":1,\"modificationTime\":1,\"dataChange\":true,"
                   "\"deletionVector\":{\"storageType\":\"i\",\"pathOrInlineDv\":\"%s\","
                   "\"sizeInBytes\":%zu,\"cardinality\":2}}}\n",
                   table_schema, dv_z85, dv_size);
    CHECK_OK(dc_storage_write(s, "_delta_log/00000000000000000000.json", b.data, b.len, err), err);
    dc_buf_dispose(&b);
}

static void scan_all(dc_buf *out, dc_delta_snapshot *snap, const char *const *cols, size_t n,
                     uint64_t *rows, uint64_t *deleted)
{
    dc_err err;
    dc_delta_scan *sc = NULL;
    CHECK_OK(dc_delta_scan_new(&sc, snap, cols, n, &err), &err);
    if (!sc) return;
    for (bool done = false; !done;) {
        int rc = dc_delta_scan_next(sc, out, &done, &err);
        CHECK_OK(rc, &err);
        if (rc) break;
    }
    *rows = dc_delta_scan_rows(sc);
    *deleted = dc_delta_scan_rows_deleted(sc);
    dc_delta_scan_free(sc);
}

TEST(delta_scan_column_mapping_id_evolution_dv)
{
    dc_err err;
    char *dir = dc_test_tmpdir("dc_scan");
    char path[512];
    snprintf(path, sizeof path, "%s/part=1", dir);
    CHECK(mkdir(path, 0777) == 0);
    snprintf(path, sizeof path, "%s/part=1/f 1.parquet", dir);
    write_file(path, &err);
    /* DV deleting rows 2 and 5, inline; Z85 pads to 4 bytes */
    dc_delta_dv *dv = NULL;
    CHECK_OK(dc_delta_dv_new(&dv, &err), &err);
    dc_delta_dv_add(dv, 2, &err);
    dc_delta_dv_add(dv, 5, &err);
    dc_buf raw, z;
    dc_buf_init(&raw, 1 << 20);
    dc_buf_init(&z, 1 << 20);
    CHECK_OK(dc_delta_dv_encode(&raw, dv, &err), &err);
    const size_t dv_size = raw.len;
    while (raw.len % 4) dc_buf_putc(&raw, 0, &err);
    CHECK_OK(dc_z85_encode(&z, raw.data, raw.len, &err), &err);
    dc_buf_putc(&z, 0, &err);
    dc_storage *s = NULL;
    CHECK_OK(dc_storage_open(&s, dir, &err), &err);
    write_log(s, (const char *)z.data, dv_size, &err);

    dc_delta_snapshot *snap = NULL;
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    if (snap) {
        CHECK_EQ_INT(dc_delta_snapshot_cm_mode(snap), DC_DELTA_CM_ID);
        dc_buf out;
        dc_buf_init(&out, 1 << 20);
        uint64_t rows = 0, deleted = 0;
        scan_all(&out, snap, NULL, 0, &rows, &deleted);
        CHECK_EQ_INT(rows, 8);
        CHECK_EQ_INT(deleted, 2);
        dc_buf_putc(&out, 0, &err);
        const char *want0 =
            "{\"id\":0,\"label\":\"n0\",\"extra\":null,\"part\":\"2024-02-29\",\"w\":0,"
            "\"f\":0.10000000149011612,\"s\":{\"inner\":0,\"added\":null}}\n"
            "{\"id\":1,\"label\":\"n1\",\"extra\":null,\"part\":\"2024-02-29\",\"w\":-1,"
            "\"f\":0.10000000149011612,\"s\":{\"inner\":10,\"added\":null}}\n"
            "{\"id\":3,";
        if (strncmp((const char *)out.data, want0, strlen(want0)) != 0)
            dc_test_fail(__FILE__, __LINE__, "scan printed:\n%s", (const char *)out.data);
        CHECK(strstr((const char *)out.data, "\"id\":5,") == NULL);
        CHECK(strstr((const char *)out.data, "\"id\":9,") != NULL);

        /* selected columns, in the order asked */
        const char *cols[] = {"part", "id"};
        dc_buf_reset(&out);
        scan_all(&out, snap, cols, 2, &rows, &deleted);
        dc_buf_putc(&out, 0, &err);
        CHECK(strncmp((const char *)out.data, "{\"part\":\"2024-02-29\",\"id\":0}\n", 29) == 0);
        /* only partition columns: no column of the file is read, rows still count */
        const char *pc[] = {"part"};
        dc_buf_reset(&out);
        scan_all(&out, snap, pc, 1, &rows, &deleted);
        CHECK_EQ_INT(rows, 8);
        dc_delta_scan *sc = NULL;
        const char *bad[] = {"nope"};
        CHECK_EQ_INT(dc_delta_scan_new(&sc, snap, bad, 1, &err), DC_EINVAL);
        CHECK(strstr(err.msg, "nope") != NULL);
        dc_buf_dispose(&out);
        dc_delta_snapshot_free(snap);
    }
    dc_delta_dv_free(dv);
    dc_buf_dispose(&raw);
    dc_buf_dispose(&z);
    dc_storage_free(s);
    dc_test_rm_rf(dir);
    free(dir);
}
