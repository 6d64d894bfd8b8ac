/*
 * tables[].schema_changes_topic: Debezium's schema-change records, for the
 * renames and drops a typed table follows in place
 * (src/cdc/cdc_schemachange.c, src/merge/merge_colmap.c).
 *
 * Two places to read them from:
 * - a file (file:PATH, or a plain path when the source is a file): JSON
 *   lines of the topic's record values, the form the file source reads
 *   (`null` lines are tombstones). It is read whole when the table is
 *   opened, and again when a batch begins and the file's size changed.
 * - a Kafka topic (kafka://HOST:PORT[,HOST:PORT]/TOPIC, or a bare topic name
 *   when the source is Kafka: the source's brokers and properties). It is
 *   read from its beginning when the table is opened, then after every poll
 *   that returned records, each partition up to the high watermark the broker
 *   gives then, before those records go to the batch.
 *
 * Why that orders the changes right: Debezium writes a DDL's schema-change
 * record before the data records after it, so once a data record is in hand
 * its DDL's record is below the schema-change topic's high watermark, and
 * the merge applies each change before the first record with a later source
 * position (merge_colmap.c). A record read before its DDL's record was
 * written (a file written later than the data) keeps the names as they were.
 * Debezium keys schema-change records by database, so one database's
 * changes are in one partition, in binlog order; partitions are read one
 * after the other, and the changes of one table must come in position order.
 */
#include "ingest_int.h"

#include <inttypes.h>
#include <sys/stat.h>

/* How long one read of the schema-change topic may wait for a record below
 * the high watermark before the run stops (retriable: the broker is slow). */
#define SC_KAFKA_TIMEOUT_MS 30000

/* A Kafka schema-change topic being followed. */
struct ing_sckafka {
    dc_kafka_probe *probe;      /* a consumer that never joins a group (owned) */
    char *topic;                /* owned */
    int32_t *parts;             /* its partitions, ascending (owned) */
    int64_t *next;              /* per partition: the next offset to read (owned) */
    size_t n_parts;
};

void ing_sckafka_free(ing_sckafka *k)
{
    if (!k) return;
    dc_kafka_probe_free(k->probe);
    dc_free(k->topic);
    dc_free(k->parts);
    dc_free(k->next);
    dc_free(k);
}

/* ------------------------------------------------------------- a file */

static const char *file_path(const char *spec)
{
    return strncmp(spec, "file:", 5) == 0 ? spec + 5 : spec;
}

static int load_file(dc_cdc_schemalog **out, int64_t *bytes, const char *spec, dc_err *err)
{
    *out = NULL;
    const char *path = file_path(spec);
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
    return stat(file_path(spec), &st) == 0 ? (int64_t)st.st_size : -1;
}

/* ------------------------------------------------------ a Kafka topic */

/* Where a spec names a Kafka topic: *bootstrap (into tmp) and *topic, or
 * *topic NULL for a file. */
static int kafka_spec(const char **bootstrap, const char **topic, dc_buf *tmp,
                      const ing_state *st, const char *spec, dc_err *err)
{
    *bootstrap = *topic = NULL;
    const dc_config *c = st->cfg;
    const char *hosts = NULL;
    size_t hosts_len = 0;
    if (strncmp(spec, "kafka://", 8) == 0) {
        hosts = spec + 8;
        const char *slash = strchr(hosts, '/');
        if (!slash || slash == hosts || !slash[1] || strpbrk(slash + 1, ",?/"))
            return dc_err_set(err, DC_EINVAL, "'%s': expected kafka://HOST:PORT[,HOST:PORT]/TOPIC "
                              "(one topic)", spec);
        hosts_len = (size_t)(slash - hosts);
        *topic = slash + 1;
    } else if (strncmp(spec, "file:", 5) == 0 || st->file_source) {
        return 0;
    } else if (c->source_uri && strncmp(c->source_uri, "kafka://", 8) == 0) {
        hosts = c->source_uri + 8;
        hosts_len = strcspn(hosts, "/");
        *topic = spec;
    } else {
        DC_ASSERT(c->kafka_bootstrap != NULL); /* a Kafka source has its brokers */
        hosts = c->kafka_bootstrap;
        hosts_len = strlen(hosts);
        *topic = spec;
    }
    dc_buf_reset(tmp);
    DC_TRY(dc_buf_append(tmp, hosts, hosts_len, err));
    DC_TRY(dc_buf_putc(tmp, '\0', err));
    *bootstrap = (const char *)tmp->data;
    return 0;
}

/* dc_kafka_probe_fn: one record value into the log. */
static int add_record(void *ctx, int64_t offset, const char *value, size_t len, dc_err *err)
{
    if (!value) return 0; /* a tombstone */
    return dc_cdc_schemalog_add(ctx, value, len, offset, err);
}

/* Every partition of the topic up to its high watermark as of now. */
static int read_kafka(ing_sckafka *k, dc_cdc_schemalog *l, dc_err *err)
{
    const size_t before = dc_cdc_schemalog_n(l);
    for (size_t i = 0; i < k->n_parts; i++) {
        int64_t low = 0, high = 0;
        DC_TRY(dc_kafka_probe_watermarks(&low, &high, k->probe, k->topic, k->parts[i],
                                         SC_KAFKA_TIMEOUT_MS, err));
        if (k->next[i] < low) { /* retention deleted records never read */
            if (k->next[i] > 0 || dc_cdc_schemalog_records(l) > 0)
                return dc_err_set(err, DC_EIO, "kafka: schema-change topic %s [%d]: offsets %"
                                  PRId64 " to %" PRId64 " are gone (retention): the renames "
                                  "and drops in them cannot be followed", k->topic,
                                  (int)k->parts[i], k->next[i], low - 1);
            k->next[i] = low; /* a topic whose first records expired before we came */
        }
        int rc = dc_kafka_probe_read(&k->next[i], k->probe, k->topic, k->parts[i], k->next[i],
                                     high, add_record, l, SC_KAFKA_TIMEOUT_MS, err);
        if (rc < 0) {
            dc_err_prefix(err, "schema-change topic %s [%d] offset %" PRId64, k->topic,
                          (int)k->parts[i], k->next[i]);
            return rc;
        }
    }
    if (dc_cdc_schemalog_n(l) > before)
        DC_LOG(DC_LOG_INFO, "ingest", "schema-change topic %s: %zu records, %zu column renames "
               "and drops", k->topic, dc_cdc_schemalog_records(l), dc_cdc_schemalog_n(l));
    return 0;
}

static int open_kafka(ing_sckafka **out, const ing_state *st, const char *bootstrap,
                      const char *topic, dc_err *err)
{
    const dc_config *c = st->cfg;
    ing_sckafka *k = dc_calloc(1, sizeof *k);
    int rc = k ? 0 : dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc == 0 && !(k->topic = dc_strdup(topic)))
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc == 0) rc = dc_kafka_probe_new(&k->probe, bootstrap, c->kafka_props.n,
                                         c->kafka_props.keys, c->kafka_props.values, err);
    if (rc == 0) rc = dc_kafka_probe_partitions(&k->parts, &k->n_parts, k->probe, topic,
                                                SC_KAFKA_TIMEOUT_MS, err);
    if (rc == 0 && !(k->next = dc_calloc(k->n_parts, sizeof *k->next)))
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
    if (rc < 0) {
        ing_sckafka_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

/* ------------------------------------------------------------ the slot */

int ing_schemalog_open(const ing_state *st, ing_slot *s, dc_err *err)
{
    const char *spec = s->ct->schema_changes_topic;
    if (!spec || s->schemalog || s->format != DC_CFG_FORMAT_TYPED) return 0; /* raw: unused */
    const char *bootstrap = NULL, *topic = NULL;
    dc_buf tmp;
    dc_buf_init(&tmp, 64 * 1024);
    int rc = kafka_spec(&bootstrap, &topic, &tmp, st, spec, err);
    if (rc == 0 && !topic) {
        rc = load_file(&s->schemalog, &s->schemalog_bytes, spec, err);
    } else if (rc == 0) {
        rc = open_kafka(&s->sck, st, bootstrap, topic, err);
        if (rc == 0) rc = dc_cdc_schemalog_new(&s->schemalog, err);
        if (rc == 0) rc = read_kafka(s->sck, s->schemalog, err);
    }
    dc_buf_dispose(&tmp);
    if (rc < 0) {
        dc_cdc_schemalog_free(s->schemalog);
        s->schemalog = NULL;
        ing_sckafka_free(s->sck);
        s->sck = NULL;
        dc_err_prefix(err, "table %s: tables[].schema_changes_topic", s->path);
    }
    return rc;
}

int ing_schemalog_refresh(ing_slot *s, dc_err *err)
{
    const char *spec = s->ct->schema_changes_topic;
    if (!spec || !s->table || !s->schemalog || s->sck || size_of(spec) == s->schemalog_bytes)
        return 0;
    dc_cdc_schemalog *l = NULL;
    int64_t bytes = 0;
    int rc = load_file(&l, &bytes, spec, err);
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

int ing_schemalog_poll(ing_state *st, dc_err *err)
{
    for (size_t i = 0; i < st->n_slots; i++) {
        ing_slot *s = st->slots[i];
        if (!s->sck) continue;
        /* appended in place: the merge reads the log by index, so a batch in
         * hand goes on with the changes after its last record */
        int rc = read_kafka(s->sck, s->schemalog, err);
        if (rc < 0) {
            dc_err_prefix(err, "table %s: tables[].schema_changes_topic", s->path);
            return rc;
        }
    }
    return 0;
}
