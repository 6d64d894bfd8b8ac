/*
 * bench/delta: builds a table of N files (the log only: snapshot loads never
 * open data files) through the write side, optionally checkpoints it, and
 * times dc_delta_snapshot_load. Driven by bench/delta/run.py, which times
 * delta-rs on the same table in the same run.
 *
 *   bench_snapshot create DIR N_FILES FILES_PER_COMMIT
 *   bench_snapshot checkpoint DIR
 *   bench_snapshot load DIR REPEAT      prints the best load time in ms
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/delta/delta.h"

static const char SCHEMA[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"name\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}";

static int fail(const char *what, const dc_err *err)
{
    fprintf(stderr, "bench_snapshot: %s: %s\n", what, err->msg);
    return 1;
}

static int create(const char *dir, long n, long per)
{
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    const char *parts[] = {"p"};
    dc_delta_create_opts o = {SCHEMA, 1, parts, 0, NULL, false, NULL, NULL};
    if (dc_storage_open(&s, dir, &err) < 0 || dc_delta_table_create(s, &o, &err) < 0 ||
        dc_delta_snapshot_load(&snap, s, -1, &err) < 0)
        return fail("create", &err);
    for (long done = 0; done < n;) {
        dc_delta_tx *tx = NULL;
        int64_t v;
        if (dc_delta_tx_new(&tx, snap, "WRITE", &err) < 0) return fail("tx", &err);
        for (long i = 0; i < per && done < n; i++, done++) {
            char path[128], stats[256], pv[16];
            snprintf(pv, sizeof pv, "%ld", done % 100);
            snprintf(path, sizeof path, "p=%s/part-%05ld-bench.c000.zstd.parquet", pv, done);
            snprintf(stats, sizeof stats,
                     "{\"numRecords\":1000,\"minValues\":{\"id\":%ld,\"name\":\"a%ld\"},"
                     "\"maxValues\":{\"id\":%ld,\"name\":\"z%ld\"},\"nullCount\":{\"id\":0,"
                     "\"name\":3}}", done * 1000, done, done * 1000 + 999, done);
            dc_delta_kv kv = {"p", pv};
            dc_delta_add a;
            memset(&a, 0, sizeof a);
            a.path = path;
            a.partition_values = (dc_delta_map){1, &kv};
            a.size = 123456;
            a.modification_time = 1700000000000 + done;
            a.data_change = true;
            a.stats = stats;
            if (dc_delta_tx_add(tx, &a, &err) < 0) return fail("add", &err);
        }
        if (dc_delta_tx_commit(&v, tx, &err) < 0) return fail("commit", &err);
        dc_delta_tx_free(tx);
        if (dc_delta_snapshot_update(snap, v, &err) < 0) return fail("update", &err);
    }
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return 0;
}

static int checkpoint(const char *dir)
{
    dc_err err;
    dc_err_clear(&err);
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_checkpoint_info info;
    if (dc_storage_open(&s, dir, &err) < 0 || dc_delta_snapshot_load(&snap, s, -1, &err) < 0 ||
        dc_delta_checkpoint_write(&info, snap, &err) < 0)
        return fail("checkpoint", &err);
    printf("%lld %lld\n", (long long)info.version, (long long)info.size_in_bytes);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int load(const char *dir, int repeat)
{
    dc_err err;
    dc_err_clear(&err);
    double best = 1e18;
    size_t files = 0;
    for (int r = 0; r < repeat; r++) {
        dc_storage *s = NULL;
        dc_delta_snapshot *snap = NULL;
        const double t0 = now_ms();
        if (dc_storage_open(&s, dir, &err) < 0 || dc_delta_snapshot_load(&snap, s, -1, &err) < 0)
            return fail("load", &err);
        const double t = now_ms() - t0;
        files = dc_delta_snapshot_n_files(snap);
        if (t < best) best = t;
        dc_delta_snapshot_free(snap);
        dc_storage_free(s);
    }
    printf("%.3f %zu\n", best, files);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "create") == 0)
        return create(argv[2], atol(argv[3]), atol(argv[4]));
    if (argc == 3 && strcmp(argv[1], "checkpoint") == 0) return checkpoint(argv[2]);
    if (argc == 4 && strcmp(argv[1], "load") == 0) return load(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: bench_snapshot create DIR N PER | checkpoint DIR | load DIR REPEAT\n");
    return 2;
}
