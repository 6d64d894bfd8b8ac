/* Unit tests of ingest on several threads (ingest.threads, ingest_par.c):
 * the same stream gives the same table, row for row, the same counts and
 * the same dead letters on 1, 2 and 3 threads; decoded ahead are string
 * keys with escapes (copied out of a decoder's scratch), tombstones, late
 * events and bad records (decoded again, in turn, by the loop). Run under
 * TSan by `make unit-tsan` (their names hold "thread"). */
#include "../test.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../../src/daemon/ingest.h"
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

/* One run of the stream into dir/t<threads> on `threads` threads. */
static void run(dc_ingest_stats *st, dc_buf *rows, const char *dir, const char *src,
                const char *threads, const char *max_batch)
{
    dc_err err;
    dc_config cfg;
    char table[256], dlq[256], uri[256];
    snprintf(table, sizeof table, "%s/t%s", dir, threads);
    snprintf(dlq, sizeof dlq, "%s/dlq%s", dir, threads);
    snprintf(uri, sizeof uri, "file:%s", src);
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
