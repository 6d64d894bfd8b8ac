/* Shared fixture of the maint tests: a table in a fresh temporary directory,
 * written through the delta write side, plus file-system helpers (ages are
 * simulated by setting modification times). */
#ifndef DC_TEST_MAINT_FIXTURE_H
#define DC_TEST_MAINT_FIXTURE_H

#include "../test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/delta/delta.h"
#include "../../src/maint/maint.h"

#define MT_DAY ((int64_t)86400000)

static const char MT_SCHEMA[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"_part\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}";

typedef struct mt_fx {
    char dir[64];            /* the table root */
    dc_storage *s;           /* open on dir */
    dc_delta_snapshot *snap; /* latest, kept current by the helpers */
    dc_err err;
} mt_fx;

/* Creates a table; partitioned by "_part" (a name starting with '_', to
 * check VACUUM's partition exception) when `partitioned`. Properties as
 * "k=v" strings, NULL-terminated. */
static inline void mt_open(mt_fx *f, bool partitioned, bool dv, const char *const *props)
{
    memset(f, 0, sizeof *f);
    char *d = dc_test_tmpdir("dc_maint");
    CHECK(d != NULL && strlen(d) < sizeof f->dir);
    if (d) snprintf(f->dir, sizeof f->dir, "%s", d);
    free(d);
    CHECK_OK(dc_storage_open(&f->s, f->dir, &f->err), &f->err);
    const char *parts[] = {"_part"};
    dc_delta_kv kv[8];
    char kbuf[8][128];
    uint32_t n = 0;
    for (; props && props[n] && n < 8; n++) {
        snprintf(kbuf[n], sizeof kbuf[n], "%s", props[n]);
        char *eq = strchr(kbuf[n], '=');
        *eq = '\0';
        kv[n] = (dc_delta_kv){kbuf[n], eq + 1};
    }
    dc_delta_create_opts o = {MT_SCHEMA, partitioned ? 1 : 0, parts, n, kv, dv, NULL, NULL};
    CHECK_OK(dc_delta_table_create(f->s, &o, &f->err), &f->err);
    CHECK_OK(dc_delta_snapshot_load(&f->snap, f->s, -1, &f->err), &f->err);
}

static inline void mt_close(mt_fx *f)
{
    dc_delta_snapshot_free(f->snap);
    dc_storage_free(f->s);
    dc_test_rm_rf(f->dir);
}

/* One commit adding rows first..first+n-1 (partition "a" for even ids, "b"
 * for odd, null every 5th). Returns the version. */
static inline int64_t mt_append(mt_fx *f, int first, int n)
{
    dc_delta_file_writer *fw = NULL;
    dc_delta_tx *tx = NULL;
    dc_arena a;
    dc_arena_init(&a, 1 << 20);
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_new(&tx, f->snap, "WRITE", &f->err), &f->err);
    CHECK_OK(dc_delta_file_writer_new(&fw, f->snap, NULL, &f->err), &f->err);
    for (int i = first; fw && i < first + n; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"id\":%d,\"_part\":%s}", i,
                 i % 5 == 0 ? "null" : i % 2 == 0 ? "\"a\"" : "\"b\"");
        dc_json *row = NULL;
        dc_arena_reset(&a);
        CHECK_OK(dc_json_parse(&row, &a, line, strlen(line), &f->err), &f->err);
        CHECK_OK(dc_delta_file_writer_write_row(fw, row, &f->err), &f->err);
    }
    CHECK_OK(dc_delta_file_writer_finish(fw, tx, &f->err), &f->err);
    CHECK_OK(dc_delta_tx_commit(&v, tx, &f->err), &f->err);
    dc_delta_file_writer_free(fw);
    dc_delta_tx_free(tx);
    dc_arena_dispose(&a);
    CHECK_OK(dc_delta_snapshot_update(f->snap, -1, &f->err), &f->err);
    return v;
}

/* Removes live file i (a tombstone with deletionTimestamp now). */
static inline int64_t mt_remove(mt_fx *f, size_t i)
{
    dc_delta_tx *tx = NULL;
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_new(&tx, f->snap, "DELETE", &f->err), &f->err);
    CHECK_OK(dc_delta_tx_remove_file(tx, dc_delta_snapshot_file(f->snap, i), true, &f->err),
             &f->err);
    CHECK_OK(dc_delta_tx_commit(&v, tx, &f->err), &f->err);
    dc_delta_tx_free(tx);
    CHECK_OK(dc_delta_snapshot_update(f->snap, -1, &f->err), &f->err);
    return v;
}

/* Soft-deletes row `row` of live file i with a DV. */
static inline int64_t mt_delete_row(mt_fx *f, size_t i, uint64_t row)
{
    dc_delta_tx *tx = NULL;
    int64_t v = -1;
    CHECK_OK(dc_delta_tx_new(&tx, f->snap, "DELETE", &f->err), &f->err);
    CHECK_OK(dc_delta_tx_delete_rows(tx, dc_delta_snapshot_file(f->snap, i), &row, 1, &f->err),
             &f->err);
    CHECK_OK(dc_delta_tx_commit(&v, tx, &f->err), &f->err);
    dc_delta_tx_free(tx);
    CHECK_OK(dc_delta_snapshot_update(f->snap, -1, &f->err), &f->err);
    return v;
}

/* "<dir>/<rel>" in a static buffer (one of two, so two may be in use). */
static inline const char *mt_path(const mt_fx *f, const char *rel)
{
    static char bufs[2][1024];
    static int next;
    char *buf = bufs[next++ & 1];
    const int n = snprintf(buf, sizeof bufs[0], "%s/%s", f->dir, rel);
    CHECK(n > 0 && (size_t)n < sizeof bufs[0]);
    return buf;
}

static inline bool mt_exists(const mt_fx *f, const char *rel)
{
    struct stat st;
    return stat(mt_path(f, rel), &st) == 0;
}

/* Creates a file (and its directories) holding one byte. */
static inline void mt_touch(const mt_fx *f, const char *rel)
{
    char p[1024];
    const int n = snprintf(p, sizeof p, "%s", mt_path(f, rel));
    CHECK(n > 0 && (size_t)n < sizeof p);
    for (char *s = p + strlen(f->dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        (void)mkdir(p, 0777);
        *s = '/';
    }
    FILE *fp = fopen(p, "w");
    CHECK(fp != NULL);
    if (fp) {
        fputc('x', fp);
        fclose(fp);
    }
}

/* Sets a file's modification time (ms since the epoch). */
static inline void mt_set_mtime(const mt_fx *f, const char *rel, int64_t ms)
{
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = (time_t)(ms / 1000);
    ts[0].tv_nsec = ts[1].tv_nsec = (long)(ms % 1000) * 1000000;
    CHECK(utimensat(AT_FDCWD, mt_path(f, rel), ts, 0) == 0);
}

/* Table-relative storage path of live file i, into buf. */
static inline const char *mt_live_rel(mt_fx *f, size_t i, char *buf, size_t n)
{
    dc_buf b;
    dc_buf_init(&b, 4096);
    CHECK_OK(dc_delta_path_to_storage(&b, dc_delta_snapshot_file(f->snap, i)->path, &f->err),
             &f->err);
    snprintf(buf, n, "%.*s", (int)b.len, (const char *)b.data);
    dc_buf_dispose(&b);
    return buf;
}

#endif
