/* Unit tests of the ingest loop (dc_ingest_run) on the file source: a run
 * to the end, batches by record cap, a stop request, a replayed file, a
 * commit that keeps losing to another writer (replayed on the table's new
 * version by the daemon), bad records in both on_error modes, and
 * allocation failures anywhere in a run. The table is read back through the
 * Delta read side. */
#include "../test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../src/daemon/ingest.h"
#include "../../src/delta/delta.h"
#include "../../src/merge/merge.h"
#include "../../src/merge/merge_int.h" /* dc_merge_test_hook_before_commit, DC_MERGE_MAX_ATTEMPTS */
#include "../../src/storage/storage.h"  /* DC_STORAGE_FAULTS_ENV */

typedef struct fx {
    char dir[64];        /* temporary directory */
    char src[128];       /* the JSON-lines file */
    char table[128];     /* the table */
    char topic[4200];    /* "file:<realpath of src>" */
    dc_config cfg;
} fx;

static void fx_init(fx *f, int n_records, int max_batch)
{
    dc_err err;
    memset(f, 0, sizeof *f);
    dc_log_set_level(getenv("DC_TEST_LOG") ? DC_LOG_DEBUG : DC_LOG_ERROR);
    strcpy(f->dir, "/tmp/dc_ingest_XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->src, sizeof f->src, "%s/s.jsonl", f->dir);
    snprintf(f->table, sizeof f->table, "%s/t", f->dir);
    FILE *fp = fopen(f->src, "w");
    CHECK(fp != NULL);
    /* Keys 0..9 created, then updated over and over; ts_ms rises. */
    for (int i = 1; fp && i <= n_records; i++)
        fprintf(fp, "{\"op\":\"%c\",\"before\":null,\"after\":{\"id\":%d,\"v\":%d},\"ts_ms\":%d}\n",
                i <= 10 ? 'c' : 'u', (i - 1) % 10, i, 1000 + i);
    if (fp) fclose(fp);
    char *real = realpath(f->src, NULL);
    snprintf(f->topic, sizeof f->topic, "file:%s", real ? real : "?");
    free(real);
    CHECK_OK(dc_config_init(&f->cfg, &err), &err);
    char src_uri[160], batch[32];
    snprintf(src_uri, sizeof src_uri, "file:%s", f->src);
    snprintf(batch, sizeof batch, "%d", max_batch);
    f->cfg.source_uri = dc_arena_strndup(&f->cfg.arena, src_uri, strlen(src_uri), &err);
    CHECK_OK(dc_config_table_only(&f->cfg, f->table, &err), &err);
    CHECK_OK(dc_config_table_set(&f->cfg, "key", "id", "--key", &err), &err);
    CHECK_OK(dc_config_set(&f->cfg, "trigger.max_records", batch, "--max-batch", &err), &err);
}

static void fx_free(fx *f)
{
    dc_config_dispose(&f->cfg);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    CHECK(system(cmd) == 0);
}

static int fx_run(dc_ingest_stats *st, fx *f, volatile sig_atomic_t *stop, dc_err *err)
{
    dc_ingest_opts o = {.cfg = &f->cfg, .once = true, .stop = stop};
    dc_err_clear(err);
    return dc_ingest_run(st, &o, err);
}

/* "id:v" of every live row, sorted by id (ids are 0..9). */
static void fx_state(char *out, size_t cap, const fx *f)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    dc_delta_scan *sc = NULL;
    dc_buf rows;
    dc_buf_init(&rows, 1 << 24);
    int v[10];
    for (int i = 0; i < 10; i++) v[i] = -1;
    CHECK_OK(dc_storage_open(&s, f->table, &err), &err);
    CHECK_OK(dc_delta_snapshot_load(&snap, s, -1, &err), &err);
    CHECK_OK(dc_delta_scan_new(&sc, snap, NULL, 0, &err), &err);
    for (bool done = false; sc && !done;) CHECK_OK(dc_delta_scan_next(sc, &rows, &done, &err), &err);
    CHECK_OK(dc_buf_putc(&rows, '\0', &err), &err);
    for (const char *p = (const char *)rows.data; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
        int id = -1, val = -1;
        const char *rec = strstr(p, "\"json_record\":");
        if (sscanf(p, "{\"id\":%d", &id) == 1 && rec &&
            sscanf(rec, "\"json_record\":\"{\\\"id\\\":%*d,\\\"v\\\":%d", &val) == 1 &&
            id >= 0 && id < 10) {
            CHECK(v[id] == -1); /* no key twice */
            v[id] = val;
        }
    }
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 10 && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%d:%d ", i, v[i]);
    dc_delta_scan_free(sc);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    dc_buf_dispose(&rows);
}

/* The state after records 1..n of fx_init's stream. */
static void want_state(char *out, size_t cap, int n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int id = 0; id < 10 && len < cap; id++) {
        int last = -1;
        for (int i = 1; i <= n; i++)
            if ((i - 1) % 10 == id) last = i;
        len += (size_t)snprintf(out + len, cap - len, "%d:%d ", id, last);
    }
}

static int64_t table_position(const fx *f)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    int64_t v = -1;
    char app[4300];
    snprintf(app, sizeof app, "deltacdc/%s/0", f->topic);
    CHECK_OK(dc_storage_open(&s, f->table, &err), &err);
    if (s && dc_delta_snapshot_load(&snap, s, -1, &err) == 0)
        (void)dc_delta_snapshot_txn_version(&v, snap, app);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return v;
}

TEST(ingest_loop_runs_to_the_end_in_batches)
{
    fx f;
    fx_init(&f, 95, 20);
    dc_ingest_stats st;
    dc_err err;
    CHECK_OK(fx_run(&st, &f, NULL, &err), &err);
    CHECK_EQ_INT(st.records, 95);
    CHECK_EQ_INT(st.batches, 5);
    CHECK_EQ_INT(st.commits, 5);
    CHECK_EQ_INT(st.inserted, 10);
    CHECK_EQ_INT(table_position(&f), 95);
    char got[256], want[256];
    fx_state(got, sizeof got, &f);
    want_state(want, sizeof want, 95);
    CHECK_EQ_STR(got, want);
    /* Again: resumes after line 95, reads nothing, commits nothing. */
    CHECK_OK(fx_run(&st, &f, NULL, &err), &err);
    CHECK_EQ_INT(st.records, 0);
    CHECK_EQ_INT(st.commits, 0);
    fx_free(&f);
}

TEST(ingest_loop_stop_request_commits_nothing_unread)
{
    fx f;
    fx_init(&f, 30, 1000);
    volatile sig_atomic_t stop = 1;
    dc_ingest_stats st;
    dc_err err;
    CHECK_OK(fx_run(&st, &f, &stop, &err), &err);
    CHECK_EQ_INT(st.records, 0);
    CHECK_EQ_INT(st.commits, 0);
    fx_free(&f);
}

/* ------------------------------------------- another writer keeps winning */

static fx *g_fx;
static int g_hook_calls;
static bool g_in_hook;

/* Before each of our commits, another writer commits the next record of the
 * same file (same appId): our commit conflicts every time, merge gives up
 * after its attempts, and the daemon reopens the table and replays. */
static int other_writer_first(void)
{
    if (g_in_hook || g_hook_calls++ >= DC_MERGE_MAX_ATTEMPTS + 1) return 0;
    g_in_hook = true;
    dc_err err;
    dc_merge_opts o;
    memset(&o, 0, sizeof o);
    o.table_uri = g_fx->table;
    o.pipeline = "deltacdc";
    o.keys.n = 1;
    o.keys.names[0] = "id";
    o.key_types[0] = DC_CDC_KEY_LONG;
    dc_merge_table *t = NULL;
    dc_merge_batch *b = NULL;
    dc_merge_result r;
    CHECK_OK(dc_merge_table_open(&t, &o, &err), &err);
    int64_t next = -1;
    if (t) CHECK_OK(dc_merge_resume_offset(&next, t, g_fx->topic, 0, &err), &err);
    if (next < 1) next = 1;
    /* Record `next` of the stream, exactly as the file has it. */
    char after[64];
    int n = snprintf(after, sizeof after, "{\"id\":%d,\"v\":%d}", (int)((next - 1) % 10),
                     (int)next);
    dc_cdc_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = DC_CDC_CHANGE;
    ev.op = next <= 10 ? 'c' : 'u';
    ev.has_ts_ms = true;
    ev.ts_ms = 1000 + next;
    ev.after = after;
    ev.after_len = (uint32_t)n;
    ev.n_keys = 1;
    ev.keys[0].type = DC_CDC_KEY_LONG;
    ev.keys[0].i = (next - 1) % 10;
    if (t) CHECK_OK(dc_merge_batch_new(&b, t, &err), &err);
    if (b) CHECK_OK(dc_merge_batch_add(b, &ev, g_fx->topic, 0, next, &err), &err);
    if (b) CHECK_OK(dc_merge_batch_commit(&r, b, &err), &err);
    dc_merge_batch_free(b);
    dc_merge_table_free(t);
    g_in_hook = false;
    return 0;
}

TEST(ingest_loop_replays_after_conflicts)
{
    fx f;
    fx_init(&f, 40, 25);
    dc_ingest_stats st;
    dc_err err;
    g_fx = &f;
    g_hook_calls = 0;
    dc_merge_test_hook_before_commit = other_writer_first;
    int rc = fx_run(&st, &f, NULL, &err);
    dc_merge_test_hook_before_commit = NULL;
    CHECK_OK(rc, &err);
    CHECK_EQ_INT(st.retries, 1);
    CHECK(g_hook_calls >= DC_MERGE_MAX_ATTEMPTS + 1);
    CHECK_EQ_INT(table_position(&f), 40);
    char got[256], want[256];
    fx_state(got, sizeof got, &f);
    want_state(want, sizeof want, 40);
    CHECK_EQ_STR(got, want);
    fx_free(&f);
}

/* -------------------------------------------------------------- bad input */

static void append_line(const fx *f, const char *line)
{
    FILE *fp = fopen(f->src, "a");
    CHECK(fp != NULL);
    if (fp) {
        fprintf(fp, "%s\n", line);
        fclose(fp);
    }
}

TEST(ingest_loop_bad_record_fails_or_goes_to_dead_letters)
{
    fx f;
    fx_init(&f, 12, 5);
    append_line(&f, "{\"op\":\"c\",\"after\":{\"v\":1},\"ts_ms\":1}"); /* line 13: no id */
    append_line(&f, "{\"op\":\"u\",\"before\":null,\"after\":{\"id\":3,\"v\":14},\"ts_ms\":2000}");
    dc_ingest_stats st;
    dc_err err;
    CHECK_EQ_INT(fx_run(&st, &f, NULL, &err), DC_EINVAL);
    char want_pos[4300];
    snprintf(want_pos, sizeof want_pos, "topic %s partition 0 offset 13", f.topic);
    CHECK(strstr(err.msg, want_pos) != NULL);
    CHECK_EQ_INT(table_position(&f), 10); /* batches 1-5, 6-10; not 11-15 */
    f.cfg.on_error = DC_CFG_ON_ERROR_DEAD_LETTER;
    CHECK_OK(fx_run(&st, &f, NULL, &err), &err);
    CHECK_EQ_INT(st.dead_letters, 1);
    CHECK_EQ_INT(table_position(&f), 14);
    char got[256];
    fx_state(got, sizeof got, &f);
    /* lines 1..12, then line 14 gave id 3 the value 14 */
    CHECK_EQ_STR(got, "0:11 1:12 2:3 3:14 4:5 5:6 6:7 7:8 8:9 9:10 ");
    /* The dead-letter table holds the record once, even after a rerun. */
    CHECK_OK(fx_run(&st, &f, NULL, &err), &err);
    CHECK_EQ_INT(st.dead_letters, 0);
    fx_free(&f);
}

TEST(ingest_loop_survives_allocation_failures)
{
    for (long n = 1; n < 100000; n += 53) {
        fx f;
        fx_init(&f, 30, 10);
        dc_ingest_stats st;
        dc_err err;
        dc_alloc_fail_after(n);
        int rc = fx_run(&st, &f, NULL, &err);
        dc_alloc_fail_after(0);
        /* Whatever failed, a clean rerun finishes the job exactly. */
        if (rc < 0) CHECK_OK(fx_run(&st, &f, NULL, &err), &err);
        CHECK_EQ_INT(table_position(&f), 30);
        char got[256], want[256];
        fx_state(got, sizeof got, &f);
        want_state(want, sizeof want, 30);
        CHECK_EQ_STR(got, want);
        fx_free(&f);
        if (rc == 0) break; /* n beyond the run's allocations */
    }
}

/* A batch that fills up (here at 4 events, 64 Mi in production) is committed
 * early: before, the full batch's DC_ELIMIT counted as a bad record, and
 * with on_error dead_letter good rows went to the dead-letter table. */
TEST(ingest_loop_full_batch_commits_early_not_dead_letters)
{
    fx f;
    fx_init(&f, 30, 1000);
    f.cfg.on_error = DC_CFG_ON_ERROR_DEAD_LETTER;
    dc_merge_test_max_batch_events = 4;
    dc_ingest_stats st;
    dc_err err;
    const int rc = fx_run(&st, &f, NULL, &err);
    dc_merge_test_max_batch_events = 0;
    CHECK_OK(rc, &err);
    CHECK_EQ_INT(st.dead_letters, 0);
    CHECK(st.commits >= 3); /* 10 keys, at most 4 per batch */
    CHECK_EQ_INT(table_position(&f), 30);
    char got[256], want[256];
    fx_state(got, sizeof got, &f);
    want_state(want, sizeof want, 30);
    CHECK_EQ_STR(got, want);
    fx_free(&f);
}

/* A commit whose outcome stays unknown (the reply lost, the log unreadable
 * while resolving) stops the run: nothing after it is read or committed, and
 * the restart resumes from what the table holds, losing and doubling
 * nothing. */
TEST(ingest_loop_unknown_commit_outcome_stops_then_resumes)
{
    fx f;
    fx_init(&f, 30, 10);
    dc_err err;
    /* versions: 0 the table, 1 and 2 the batches (no VACUUM commits between);
     * the catch-up before a batch probes version 2 by its size, so failing
     * every read of it fails only the resolution's read-back */
    CHECK_OK(dc_config_set(&f.cfg, "maintenance.vacuum", "off", "test", &err), &err);
    setenv(DC_STORAGE_FAULTS_ENV,
           "test-only,put_if_absent@_delta_log/00000000000000000002.json:after:#1,"
           "read@_delta_log/00000000000000000002.json:before:1", 1);
    dc_ingest_stats st;
    const int rc = fx_run(&st, &f, NULL, &err);
    unsetenv(DC_STORAGE_FAULTS_ENV);
    CHECK_EQ_INT(rc, DC_EUNKNOWN);
    CHECK(strstr(err.msg, "may or may not be committed") != NULL);
    CHECK_EQ_INT(st.commits, 1); /* the first batch; the second in doubt; no third */
    CHECK_EQ_INT(table_position(&f), 20); /* the commit had landed */
    CHECK_OK(fx_run(&st, &f, NULL, &err), &err);
    CHECK_EQ_INT(table_position(&f), 30);
    char got[256], want[256];
    fx_state(got, sizeof got, &f);
    want_state(want, sizeof want, 30);
    CHECK_EQ_STR(got, want);
    fx_free(&f);
}

/* ------------------------------------- a failed commit, on 1 and 2 threads */

static int g_fail_at;     /* the commit attempt the hook fails (1-based) */
static int g_fail_calls;  /* attempts so far (the committing thread's) */

static int fail_nth(void) { return ++g_fail_calls == g_fail_at; }

/* Files of the table at `path`, -1 when there is no table. */
static int64_t table_files(const char *path)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    int64_t n = -1;
    CHECK_OK(dc_storage_open(&s, path, &err), &err);
    if (s && dc_delta_snapshot_load(&snap, s, -1, &err) == 0)
        n = (int64_t)dc_delta_snapshot_n_files(snap);
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    return n;
}

/* With --threads 2 a raw table's batch is committed on the committer thread
 * while the loop reads the next one (ingest_commit.c). When that commit
 * fails, the run ends as on one thread: the same error, the table at the
 * batch before, and nothing read after it committed — not the next
 * batch, not its bad record's dead letter. */
TEST(ingest_loop_thread_failed_commit_ends_as_on_one_thread)
{
    char msg[2][DC_ERR_MSG_MAX];
    for (int t = 0; t < 2; t++) {
        fx f;
        fx_init(&f, 17, 5);
        append_line(&f, "{\"op\":\"c\",\"after\":{\"v\":1},\"ts_ms\":1}"); /* line 18: no id */
        for (int i = 19; i <= 40; i++) {
            char line[128];
            snprintf(line, sizeof line, "{\"op\":\"u\",\"before\":null,\"after\":{\"id\":%d,"
                     "\"v\":%d},\"ts_ms\":%d}", (i - 1) % 10, i, 1000 + i);
            append_line(&f, line);
        }
        char dlq[128];
        snprintf(dlq, sizeof dlq, "%s/dlq", f.dir);
        dc_err err;
        CHECK_OK(dc_config_set(&f.cfg, "ingest.threads", t ? "2" : "1", "--threads", &err), &err);
        CHECK_OK(dc_config_set(&f.cfg, "on_error", "dead_letter", "test", &err), &err);
        CHECK_OK(dc_config_set(&f.cfg, "dead_letter.path", dlq, "test", &err), &err);
        g_fail_at = 3; /* records 11..15 */
        g_fail_calls = 0;
        dc_merge_test_hook_before_commit = fail_nth;
        dc_ingest_stats st;
        const int rc = fx_run(&st, &f, NULL, &err);
        dc_merge_test_hook_before_commit = NULL;
        CHECK_EQ_INT(rc, DC_EIO);
        CHECK(strstr(err.msg, "commit") && strstr(err.msg, "test hook"));
        /* the message without the run's directory */
        size_t n = 0;
        for (const char *p = err.msg; *p && n + 1 < sizeof msg[t];) {
            if (strncmp(p, f.dir, strlen(f.dir)) == 0) {
                p += strlen(f.dir);
                msg[t][n++] = '~';
            } else {
                msg[t][n++] = *p++;
            }
        }
        msg[t][n] = '\0';
        CHECK_EQ_INT(table_position(&f), 10);
        CHECK(table_files(dlq) <= 0); /* line 18 is after the failed batch */
        CHECK_EQ_INT(g_fail_calls, 3);
        /* a clean rerun finishes the job, line 18 dead-lettered once */
        CHECK_OK(fx_run(&st, &f, NULL, &err), &err);
        CHECK_EQ_INT(st.dead_letters, 1);
        CHECK_EQ_INT(table_position(&f), 40);
        fx_free(&f);
    }
    CHECK_EQ_STR(msg[1], msg[0]);
}
