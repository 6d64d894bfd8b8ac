/*
 * tables[].schema_changes_topic: Debezium's schema-change records, read
 * whole when the table is opened, for the renames and drops a typed table
 * follows in place (src/cdc/cdc_schemachange.c, src/merge/merge_colmap.c).
 *
 * Only a file is read (file:PATH, or a plain path: JSON lines of the topic's
 * record values, the form the file source reads; `null` lines are
 * tombstones). A Kafka topic is refused for now: reading it up to the data
 * records' position is not built. A running pipeline reads the file again
 * when a batch begins and the file's size changed (Debezium writes a DDL's
 * record before the data records after it; a record read before its DDL's
 * record reached the file is read with the names as they were).
 */
#include "ingest_int.h"

#include <inttypes.h>
#include <sys/stat.h>

int ing_schemalog_load(dc_cdc_schemalog **out, int64_t *bytes, const char *spec, dc_err *err)
{
    *out = NULL;
    if (strncmp(spec, "kafka://", 8) == 0)
        return dc_err_set(err, DC_EUNSUPPORTED, "'%s': a Kafka schema-change topic is not "
                          "read yet; give a file of its records (file:PATH)", spec);
    const char *path = strncmp(spec, "file:", 5) == 0 ? spec + 5 : spec;
    uint8_t *data = NULL;
    size_t len = 0;
    dc_cdc_schemalog *l = NULL;
    int rc = dc_file_read_all(&data, &len, path, DC_MAX_SMALL_FILE, err);
    if (rc == 0) rc = dc_cdc_schemalog_new(&l, err);
    const char *p = (const char *)data, *end = p + len;
    for (int64_t line = 1; rc == 0 && p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *q = p;
        p += n + (nl != NULL);
        while (n && (q[n - 1] == '\r' || q[n - 1] == ' ')) n--;
        if (n == 0) continue;
        rc = dc_cdc_schemalog_add(l, q, n, line, err);
    }
    dc_free(data);
    if (rc < 0) {
        dc_cdc_schemalog_free(l);
        dc_err_prefix(err, "%s", path);
        return rc;
    }
    DC_LOG(DC_LOG_INFO, "ingest", "%s: %zu schema-change records, %zu column renames and drops",
           path, dc_cdc_schemalog_records(l), dc_cdc_schemalog_n(l));
    *out = l;
    *bytes = (int64_t)len;
    return 0;
}

/* The file's size now, or -1. */
static int64_t size_of(const char *spec)
{
    struct stat st;
    const char *path = strncmp(spec, "file:", 5) == 0 ? spec + 5 : spec;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

int ing_schemalog_refresh(ing_slot *s, dc_err *err)
{
    const char *spec = s->ct->schema_changes_topic;
    if (!spec || !s->table || !s->schemalog || size_of(spec) == s->schemalog_bytes) return 0;
    dc_cdc_schemalog *l = NULL;
    int64_t bytes = 0;
    int rc = ing_schemalog_load(&l, &bytes, spec, err);
    if (rc < 0) {
        dc_err_prefix(err, "table %s: tables[].schema_changes_topic", s->path);
        return rc;
    }
    dc_merge_table_set_schema_changes(s->table, l);
    dc_cdc_schemalog_free(s->schemalog);
    s->schemalog = l;
    s->schemalog_bytes = bytes;
    return 0;
}
