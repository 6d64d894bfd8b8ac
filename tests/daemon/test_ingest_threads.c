/* Unit tests of ingest on several threads (ingest.threads, ingest_par.c):
 * the same stream gives the same table, row for row, the same counts and
 * the same dead letters on 1, 2 and 3 threads; decoded ahead are string
 * keys with escapes (copied out of a decoder's scratch), tombstones, late
 * events and bad records (decoded again, in turn, by the loop). Run under
 * TSan by `make unit-tsan` (their names hold "thread"). */
#include "../test.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../../src/daemon/ingest.h"
#include "../../src/daemon/ingest_int.h"
#include "../../src/source/source_int.h"
#include "../../src/delta/delta.h"
#include "../../src/storage/storage.h"

#define N_RECORDS 3000

/* The stream: 300 string keys (one in three with an escaped quote), ops c,
 * u and d in turn, a tombstone after each delete, one event in 50 late by
 * 100 ms, and a bad record every 997 lines (not JSON, or no key). */
static void write_stream(const char *path)
{
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    for (int i = 1; fp && i <= N_RECORDS; i++) {
        const int k = (i * 7) % 300;
        const char *esc = k % 3 == 0 ? "\\\"" : "";
        const long ts = 10000 + i - (i % 50 == 0 ? 100 : 0);
        if (i % 997 == 0) {
            fputs(i % 2 ? "{\"op\":\"c\",\"after\":{\"v\":1},\"ts_ms\":1}\n" : "{not json\n", fp);
            continue;
        }
        const char op = i <= 300 ? 'c' : "cud"[i % 3];
        if (op == 'd')
            fprintf(fp, "{\"op\":\"d\",\"before\":{\"id\":\"k%s%d\",\"v\":%d},\"after\":null,"
                    "\"ts_ms\":%ld}\nnull\n", esc, k, i, ts);
        else
            fprintf(fp, "{\"op\":\"%c\",\"before\":null,\"after\":{\"id\":\"k%s%d\",\"v\":%d},"
                    "\"ts_ms\":%ld}\n", op, esc, k, i, ts);
    }
    if (fp) fclose(fp);
}

/* Every row of the table as text, in scan order, into rows (NUL-terminated). */
static void table_rows(dc_buf *rows, const char *table)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_scan *sc = NULL;
    CHECK_OK(dc_storage_open(&s, table, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    CHECK_OK(dc_delta_scan_new(&sc, snap, NULL, 0, &err), &err);
    for (bool done = false; sc && !done;) CHECK_OK(dc_delta_scan_next(sc, rows, &done, &err), &err);
    CHECK_OK(dc_buf_putc(rows, '\0', &err), &err);
    dc_delta_scan_free(sc);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
}

/* One run of the stream (a file:, or a kafka:// URI when src has "://")
 * into dir/t<threads> on `threads` threads. */
static void run(dc_ingest_stats *st, dc_buf *rows, const char *dir, const char *src,
                const char *threads, const char *max_batch)
{
    dc_err err;
    dc_config cfg;
    char table[256], dlq[256], uri[256];
    snprintf(table, sizeof table, "%s/t%s", dir, threads);
    snprintf(dlq, sizeof dlq, "%s/dlq%s", dir, threads);
    snprintf(uri, sizeof uri, strstr(src, "://") ? "%s" : "file:%s", src);
    CHECK_OK(dc_config_init(&cfg, &err), &err);
    cfg.source_uri = uri;
    CHECK_OK(dc_config_table_only(&cfg, table, &err), &err);
    CHECK_OK(dc_config_table_set(&cfg, "key", "id", "--key", &err), &err);
    CHECK_OK(dc_config_set(&cfg, "trigger.max_records", max_batch, "--max-batch", &err), &err);
    CHECK_OK(dc_config_set(&cfg, "ingest.threads", threads, "--threads", &err), &err);
    CHECK_OK(dc_config_set(&cfg, "on_error", "dead_letter", "test", &err), &err);
    CHECK_OK(dc_config_set(&cfg, "dead_letter.path", dlq, "test", &err), &err);
    dc_ingest_opts o = {.cfg = &cfg, .once = true};
    dc_err_clear(&err);
    CHECK_OK(dc_ingest_run(st, &o, &err), &err);
    table_rows(rows, table);
    dc_config_dispose(&cfg);
}

TEST(ingest_threads_give_the_tables_of_one_thread)
{
    dc_log_set_level(getenv("DC_TEST_LOG") ? DC_LOG_DEBUG : DC_LOG_ERROR);
    char *dir = dc_test_tmpdir("dc_ingest_threads");
    CHECK(dir != NULL);
    if (!dir) return;
    char src[256];
    snprintf(src, sizeof src, "%s/s.jsonl", dir);
    write_stream(src);
    static const char *const batches[] = {"100000", "700"};
    for (int b = 0; b < 2; b++) {
        dc_buf one;
        dc_buf_init(&one, 1 << 26);
        dc_ingest_stats s1;
        char sub[300];
        snprintf(sub, sizeof sub, "%s/b%d", dir, b);
        CHECK(mkdir(sub, 0700) == 0);
        run(&s1, &one, sub, src, "1", batches[b]);
        CHECK_EQ_INT(s1.dead_letters, 3);
        CHECK(strstr((const char *)one.data, "k\\\"3") != NULL); /* escaped keys arrived */
        for (int t = 2; t <= 3; t++) {
            dc_buf rows;
            dc_buf_init(&rows, 1 << 26);
            dc_ingest_stats st;
            const char threads[2] = {(char)('0' + t), 0};
            run(&st, &rows, sub, src, threads, batches[b]);
            CHECK_EQ_STR((const char *)rows.data, (const char *)one.data);
            CHECK_EQ_INT(st.records, s1.records);
            CHECK_EQ_INT(st.commits, s1.commits);
            CHECK_EQ_INT(st.inserted, s1.inserted);
            CHECK_EQ_INT(st.updated, s1.updated);
            CHECK_EQ_INT(st.deleted, s1.deleted);
            CHECK_EQ_INT(st.dead_letters, s1.dead_letters);
            dc_buf_dispose(&rows);
        }
        dc_buf_dispose(&one);
    }
    dc_test_rm_rf(dir);
    free(dir);
}

/* Line i of the read-ahead test's file: its length varies with i, one in
 * 13 is blank (a tombstone); `bad`: line `bad` is longer than the limit. */
static int ahead_line(char *out, size_t cap, int i, int bad)
{
    if (i % 13 == 0) return snprintf(out, cap, "\n");
    int len = snprintf(out, cap, "{\"op\":\"c\",\"after\":{\"id\":%d,\"v\":\"%.*s\"}}", i,
                       i == bad ? 150 : i % 40, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    return len + snprintf(out + len, cap - (size_t)len, "\n");
}

/* Reads the file through ing_ahead (on `threads`) in pieces of `max` and checks every
 * record against its line, in order; returns the poll's result at the end
 * (0 at the file's end) with *lines the records seen. */
static int ahead_read(const char *path, size_t max_line, size_t max, unsigned threads,
                      int *lines, dc_err *err)
{
    dc_source *src = NULL;
    ing_ahead *a = NULL;
    ing_state st;
    memset(&st, 0, sizeof st); /* no routes: nothing decoded ahead */
    int rc = dc_source_file_open(&src, path, max_line, NULL, NULL, NULL, err);
    if (rc == 0) rc = ing_ahead_new(&a, src, threads, 64, true, NULL, err);
    *lines = 0;
    for (bool eof = false; rc == 0 && !eof;) {
        const dc_source_record *recs = NULL;
        const ing_pre *pre = NULL;
        size_t n = 0;
        rc = ing_ahead_poll(a, &st, &recs, &pre, max, &n, &eof, 1000, err);
        CHECK(n <= max);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            char want[300];
            const int len = ahead_line(want, sizeof want, ++*lines, -1) - 1;
            CHECK_EQ_INT(recs[i].offset, *lines);
            CHECK(!pre[i].ok); /* no keys known: the loop decodes it */
            if (*lines % 13 == 0) CHECK(recs[i].value == NULL);
            else CHECK(recs[i].value && recs[i].value_len == (size_t)len &&
                       memcmp(recs[i].value, want, (size_t)len) == 0);
        }
        if (rc == 0 && n) CHECK(ing_ahead_watermark(a) > *lines);
    }
    if (rc == 0) { /* the end stays the end */
        const dc_source_record *recs;
        const ing_pre *pre;
        size_t n = 1;
        bool eof = false;
        CHECK_OK(ing_ahead_poll(a, &st, &recs, &pre, max, &n, &eof, 0, err), err);
        CHECK(eof && n == 0);
    }
    ing_ahead_free(a);
    dc_source_free(src);
    return rc;
}

/* The reader thread (ingest_ahead.c): the file's records in order, in
 * pieces smaller and larger than the reader's polls, valid until the next
 * call, and a bad line's error in its turn after every line before it. */
TEST(ingest_thread_reads_ahead_in_order)
{
    char *dir = dc_test_tmpdir("dc_ingest_ahead");
    CHECK(dir != NULL);
    if (!dir) return;
    char path[256], bad[256], line[300];
    snprintf(path, sizeof path, "%s/a.jsonl", dir);
    snprintf(bad, sizeof bad, "%s/b.jsonl", dir);
    FILE *fp = fopen(path, "w"), *fb = fopen(bad, "w");
    CHECK(fp && fb);
    for (int i = 1; fp && fb && i <= 20000; i++) {
        ahead_line(line, sizeof line, i, -1);
        fputs(line, fp);
        if (i <= 5000) {
            ahead_line(line, sizeof line, i, 5000);
            fputs(line, fb);
        }
    }
    if (fp) fclose(fp);
    if (fb) fclose(fb);
    dc_err err;
    int lines = 0;
    static const size_t maxes[] = {1, 7, 64, 1000};
    for (size_t m = 0; m < sizeof maxes / sizeof *maxes; m++) {
        CHECK_OK(ahead_read(path, 1000, maxes[m], 2 + (unsigned)m % 2, &lines, &err), &err);
        CHECK_EQ_INT(lines, 20000);
    }
    /* a 100-byte limit: line 5000 is too long; lines 1-4999 come first */
    dc_err_clear(&err);
    CHECK_EQ_INT(ahead_read(bad, 100, 7, 3, &lines, &err), DC_ELIMIT);
    CHECK(strstr(err.msg, "line 5000 is longer than 100 bytes") != NULL);
    CHECK(lines >= 4990 && lines <= 4999);
    dc_test_rm_rf(dir);
    free(dir);
}

/* Not in the TSan build: librdkafka starts its threads with C11 thrd_create,
 * which glibc runs without the pthread_create that TSan intercepts, so TSan
 * has no state for them and crashes in their first malloc (the mock
 * cluster's thread). The ASan+UBSan and plain runs have it. */
#ifndef __SANITIZE_THREAD__

/* Every line of rows (NUL-terminated) sorted, into out: the table's rows
 * whatever its files' order. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void sorted_lines(dc_buf *out, const dc_buf *rows)
{
    dc_err err;
    char *copy = strdup((const char *)rows->data), *save = NULL;
    const char **v = NULL;
    size_t n = 0, cap = 0;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (n == cap) v = realloc(v, (cap = cap ? 2 * cap : 256) * sizeof *v);
        v[n++] = l;
    }
    qsort(v, n, sizeof *v, cmp_str);
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(dc_buf_append(out, v[i], strlen(v[i]), &err), &err);
        CHECK_OK(dc_buf_putc(out, '\n', &err), &err);
    }
    CHECK_OK(dc_buf_putc(out, '\0', &err), &err);
    free(v);
    free(copy);
}

/* The stream's lines as Kafka records on librdkafka's mock cluster (the key
 * {"id":...} of each value; a "null" line is a tombstone for the key
 * before it). False when the cluster or a produce fails. */
static bool produce_stream(rd_kafka_t *prod, const char *topic, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return false;
    char line[512], key[128] = "";
    bool ok = true;
    while (ok && fgets(line, sizeof line, fp)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n') line[--n] = '\0';
        const bool tomb = strcmp(line, "null") == 0;
        const char *id = strstr(line, "\"id\":\"");
        if (id) {
            const char *end = id + 6;
            while (*end && !(*end == '"' && end[-1] != '\\')) end++;
            snprintf(key, sizeof key, "{%.*s}", (int)(end + 1 - id), id);
        }
        ok = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                               RD_KAFKA_V_KEY(key, strlen(key)),
                               RD_KAFKA_V_VALUE(tomb ? NULL : line, tomb ? 0 : n),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    fclose(fp);
    return ok && rd_kafka_flush(prod, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* The Kafka source's threaded path (ingest_par.c: records decoded ahead by
 * the pool; the file source reads ahead on its own thread instead): the same
 * stream from a topic of librdkafka's mock cluster gives, on 2 threads, the
 * rows, records and dead letters of one thread (batches end where polls do,
 * so the files and the insert/update counts may differ). */
TEST(ingest_threads_kafka_source_gives_the_table_of_one_thread)
{
    dc_log_set_level(getenv("DC_TEST_LOG") ? DC_LOG_DEBUG : DC_LOG_ERROR);
    char *dir = dc_test_tmpdir("dc_ingest_threads_kafka");
    CHECK(dir != NULL);
    if (!dir) return;
    char src[256], es[256], uri[512];
    snprintf(src, sizeof src, "%s/s.jsonl", dir);
    write_stream(src);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    bool ok = rd_kafka_conf_set(c, "test.mock.num.brokers", "1", es, sizeof es) ==
                  RD_KAFKA_CONF_OK &&
              rd_kafka_conf_set(c, "log_level", "0", es, sizeof es) == RD_KAFKA_CONF_OK;
    rd_kafka_t *prod = ok ? rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof es) : NULL;
    if (!prod) rd_kafka_conf_destroy(c);
    rd_kafka_mock_cluster_t *mc = prod ? rd_kafka_handle_mock_cluster(prod) : NULL;
    CHECK(mc != NULL);
    if (mc) {
        snprintf(uri, sizeof uri, "kafka://%s/items", rd_kafka_mock_cluster_bootstraps(mc));
        CHECK(rd_kafka_mock_topic_create(mc, "items", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
        CHECK(produce_stream(prod, "items", src));
        dc_buf one, two;
        dc_buf_init(&one, 1 << 26);
        dc_buf_init(&two, 1 << 26);
        dc_ingest_stats s1, s2;
        run(&s1, &one, dir, uri, "1", "700");
        run(&s2, &two, dir, uri, "2", "700");
        CHECK_EQ_INT(s1.dead_letters, 3);
        CHECK(strstr((const char *)one.data, "k\\\"3") != NULL); /* escaped keys arrived */
        dc_buf a, b;
        dc_buf_init(&a, 1 << 26);
        dc_buf_init(&b, 1 << 26);
        sorted_lines(&a, &one);
        sorted_lines(&b, &two);
        CHECK(a.len > 1000);
        CHECK_EQ_STR((const char *)b.data, (const char *)a.data);
        CHECK_EQ_INT(s2.records, s1.records);
        CHECK_EQ_INT(s2.dead_letters, s1.dead_letters);
        dc_buf_dispose(&a);
        dc_buf_dispose(&b);
        dc_buf_dispose(&one);
        dc_buf_dispose(&two);
    }
    if (prod) rd_kafka_destroy(prod);
    dc_test_rm_rf(dir);
    free(dir);
}

#endif /* __SANITIZE_THREAD__ */
