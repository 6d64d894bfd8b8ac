/* maint: VACUUM file selection on real tables — live files, tombstones in
 * and out of the retention, DV files (live and superseded), orphans of a
 * crashed writer, recent files, hidden names, partition directories whose
 * names start with '_', the retention check, dry runs, empty directories. */
#include "maint_fixture.h"

#include "../../src/storage/storage.h"

/* 1 when every file the latest version names is present. */
static int outcome_live_files_present(mt_fx *f)
{
    CHECK_OK(dc_delta_snapshot_update(f->snap, -1, &f->err), &f->err);
    for (size_t i = 0; i < dc_delta_snapshot_n_files(f->snap); i++) {
        char rel[512];
        if (!mt_exists(f, mt_live_rel(f, i, rel, sizeof rel))) return 0;
    }
    return 1;
}

TEST(maint_vacuum_hidden_rule)
{
    const char *parts[] = {"_part", "day"};
    dc_delta_metadata m;
    memset(&m, 0, sizeof m);
    m.n_partition_columns = 2;
    m.partition_columns = parts;
    CHECK(dc_maint_vacuum_is_hidden("_delta_log", &m));
    CHECK(dc_maint_vacuum_is_hidden("_symlink_format_manifest", &m));
    CHECK(dc_maint_vacuum_is_hidden(".part-0.parquet.crc", &m));
    CHECK(dc_maint_vacuum_is_hidden("_tmp", &m));
    CHECK(dc_maint_vacuum_is_hidden("metadata", &m));
    CHECK(dc_maint_vacuum_is_hidden("_part", &m));        /* no '=' */
    CHECK(dc_maint_vacuum_is_hidden("_partx=1", &m));     /* another column */
    CHECK(!dc_maint_vacuum_is_hidden("_part=a", &m));
    CHECK(!dc_maint_vacuum_is_hidden("_change_data", &m));
    CHECK(!dc_maint_vacuum_is_hidden("_delta_index", &m));
    CHECK(!dc_maint_vacuum_is_hidden("day=2024-01-01", &m));
    CHECK(!dc_maint_vacuum_is_hidden("part-0.parquet", &m));
    CHECK(!dc_maint_vacuum_is_hidden("deletion_vector_x.bin", &m));
    CHECK(dc_maint_vacuum_is_hidden("_part=a", NULL));    /* no metadata: no exception */
}

/* Sets every regular file outside _delta_log to `ms`. */
static void age_all_data(mt_fx *f, int64_t ms)
{
    char cmd[512];
    const int len = snprintf(cmd, sizeof cmd, "cd '%s' && find . -path ./_delta_log -prune -o "
                             "-type f -print > .files", f->dir);
    CHECK(len > 0 && (size_t)len < sizeof cmd);
    CHECK(system(cmd) == 0);
    FILE *fp = fopen(mt_path(f, ".files"), "r");
    CHECK(fp != NULL);
    char line[1024];
    char names[64][1024];
    int n = 0;
    while (fp && n < 64 && fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "./.files") != 0 && strlen(line) < sizeof names[0] + 2)
            memcpy(names[n++], line + 2, strlen(line + 2) + 1);
    }
    if (fp) fclose(fp);
    unlink(mt_path(f, ".files"));
    for (int i = 0; i < n; i++) mt_set_mtime(f, names[i], ms);
}

typedef struct seen {
    char paths[64][256];
    int n;
} seen;

static void on_file(void *ctx, const char *path, uint64_t size)
{
    seen *s = ctx;
    (void)size;
    if (s->n < 64) snprintf(s->paths[s->n++], sizeof s->paths[0], "%s", path);
}

static bool saw(const seen *s, const char *path)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->paths[i], path) == 0) return true;
    return false;
}

static int vacuum(mt_fx *f, dc_maint_vacuum_result *r, seen *s, int64_t now, int64_t retain,
                  bool force, bool dry)
{
    dc_maint_vacuum_opts o;
    dc_maint_vacuum_opts_init(&o);
    o.now_ms = now;
    o.retain_ms = retain;
    o.force = force;
    o.dry_run = dry;
    o.on_file = on_file;
    o.ctx = s;
    if (s) s->n = 0;
    dc_err_clear(&f->err);
    return dc_maint_vacuum(r, f->snap, &o, &f->err);
}

TEST(maint_vacuum_selects_unreferenced_old_files)
{
    mt_fx f;
    mt_open(&f, true, false, NULL);
    mt_append(&f, 0, 10);  /* three files: _part=a, _part=b, _part=__HIVE_DEFAULT_PARTITION__ */
    char gone[256], live[256];
    mt_live_rel(&f, 0, gone, sizeof gone);
    mt_remove(&f, 0);      /* a tombstone stamped now */
    mt_live_rel(&f, 0, live, sizeof live);
    /* What a crashed writer and other tools leave behind. */
    mt_touch(&f, "_part=a/part-orphan.parquet");
    mt_touch(&f, "part-orphan-root.parquet");
    mt_touch(&f, "_part=zz/part-orphan.parquet");   /* a partition with no live file */
    mt_touch(&f, "recent-orphan.parquet");
    mt_touch(&f, "fresh/part-orphan.parquet");      /* old file in a directory just made */
    mt_touch(&f, "_hidden/x.parquet");
    mt_touch(&f, ".hidden.parquet");
    mt_touch(&f, "_part=a/.part-0.crc");
    mt_touch(&f, "metadata/v1.json");
    const int64_t now = dc_maint_now(0);
    age_all_data(&f, now - 10 * MT_DAY);
    mt_set_mtime(&f, "recent-orphan.parquet", now - MT_DAY);
    mt_set_mtime(&f, "_part=zz", now - 10 * MT_DAY);  /* an old directory */
    dc_maint_vacuum_result r;
    seen s;
    /* Default retention (1 week): the tombstone is fresh, so its file stays. */
    CHECK_OK(vacuum(&f, &r, &s, now, -1, false, false), &f.err);
    CHECK_EQ_INT(r.retain_ms, 7 * MT_DAY);
    CHECK_EQ_INT(r.files_listed, 8);      /* 3 table files + 5 unhidden extras */
    CHECK_EQ_INT(r.files_referenced, 3);  /* 2 live + 1 tombstone */
    CHECK_EQ_INT(r.files_recent, 1);
    CHECK_EQ_INT(r.files_removed, 4);
    CHECK_EQ_INT(r.bytes_removed, 4);
    CHECK(!mt_exists(&f, "fresh/part-orphan.parquet"));
    CHECK(mt_exists(&f, "fresh"));        /* a writer may be about to use it */
    CHECK(saw(&s, "_part=a/part-orphan.parquet"));
    CHECK(saw(&s, "part-orphan-root.parquet"));
    CHECK(saw(&s, "_part=zz/part-orphan.parquet"));
    CHECK(!mt_exists(&f, "_part=zz/part-orphan.parquet"));
    CHECK(!mt_exists(&f, "_part=zz"));    /* left empty, old: removed */
    CHECK_EQ_INT(r.dirs_removed, 1);      /* not _part=a (not empty), not _hidden */
    CHECK(mt_exists(&f, gone));
    CHECK(mt_exists(&f, live));
    CHECK(mt_exists(&f, "recent-orphan.parquet"));
    CHECK(mt_exists(&f, "_hidden/x.parquet"));
    CHECK(mt_exists(&f, ".hidden.parquet"));
    CHECK(mt_exists(&f, "_part=a/.part-0.crc"));
    CHECK(mt_exists(&f, "metadata/v1.json"));
    CHECK(mt_exists(&f, "_delta_log/00000000000000000000.json"));
    /* Eight days later the tombstone is past the retention: its file goes,
     * and so does the orphan that was recent. Live files stay, old or not. */
    CHECK_OK(vacuum(&f, &r, &s, now + 8 * MT_DAY, -1, false, false), &f.err);
    CHECK_EQ_INT(r.files_removed, 2);
    CHECK(saw(&s, gone));
    CHECK(!mt_exists(&f, gone));
    CHECK(mt_exists(&f, live));
    CHECK(!mt_exists(&f, "recent-orphan.parquet"));
    /* The table still reads, with every live file. */
    dc_delta_snapshot *back = NULL;
    CHECK_OK(dc_delta_snapshot_load(&back, f.s, -1, &f.err), &f.err);
    if (back) CHECK_EQ_INT(dc_delta_snapshot_n_files(back), 2);
    dc_delta_snapshot_free(back);
    mt_close(&f);
}

TEST(maint_vacuum_retention_check_and_dry_run)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    mt_append(&f, 0, 4);
    char gone[256];
    mt_live_rel(&f, 0, gone, sizeof gone);
    mt_remove(&f, 0);
    mt_touch(&f, "orphan.parquet");
    const int64_t now = dc_maint_now(0);
    mt_set_mtime(&f, "orphan.parquet", now - 2 * 3600000);
    mt_set_mtime(&f, gone, now - 2 * 3600000);
    dc_maint_vacuum_result r;
    seen s;
    /* Below the table's retention: refused without force, naming both. */
    CHECK_EQ_INT(vacuum(&f, &r, &s, now, 3600000, false, false), DC_EINVAL);
    CHECK(strstr(f.err.msg, "1h") != NULL && strstr(f.err.msg, "7d") != NULL);
    CHECK(strstr(f.err.msg, "delta.deletedFileRetentionDuration") != NULL);
    CHECK(mt_exists(&f, "orphan.parquet"));
    /* Dry run with force: lists both, deletes nothing. */
    CHECK_OK(vacuum(&f, &r, &s, now, 3600000, true, true), &f.err);
    CHECK_EQ_INT(r.files_removed, 1);     /* the tombstone (stamped now) is still in */
    CHECK(saw(&s, "orphan.parquet"));
    CHECK(mt_exists(&f, "orphan.parquet"));
    /* Retention 0 with force: the tombstone is expired too (stamped before now+1). */
    CHECK_OK(vacuum(&f, &r, &s, now + 1000, 0, true, true), &f.err);
    CHECK_EQ_INT(r.files_removed, 2);
    CHECK(saw(&s, gone));
    CHECK(mt_exists(&f, gone));
    CHECK_OK(vacuum(&f, &r, &s, now + 1000, 0, true, false), &f.err);
    CHECK_EQ_INT(r.files_removed, 2);
    CHECK(!mt_exists(&f, gone));
    CHECK(!mt_exists(&f, "orphan.parquet"));
    /* A retention above the table's needs no force. */
    CHECK_OK(vacuum(&f, &r, &s, now, 30 * MT_DAY, false, false), &f.err);
    CHECK_EQ_INT(r.files_removed, 0);
    mt_close(&f);
}

/* The DV file referenced by live file i, table-relative, into buf. */
static const char *dv_rel(mt_fx *f, size_t i, char *buf, size_t n)
{
    const dc_delta_add *a = dc_delta_snapshot_file(f->snap, i);
    CHECK(a->has_dv);
    dc_buf b;
    dc_buf_init(&b, 4096);
    CHECK_OK(dc_delta_dv_file_path(&b, &a->dv, &f->err), &f->err);
    snprintf(buf, n, "%.*s", (int)b.len, (const char *)b.data);
    dc_buf_dispose(&b);
    return buf;
}

TEST(maint_vacuum_keeps_dv_files_of_retained_versions)
{
    mt_fx f;
    mt_open(&f, false, true, NULL);
    mt_append(&f, 0, 10);
    char data[256], dv1[256], dv2[256];
    mt_live_rel(&f, 0, data, sizeof data);
    mt_delete_row(&f, 0, 1);
    dv_rel(&f, 0, dv1, sizeof dv1);
    mt_delete_row(&f, 0, 2);   /* a new DV file; the old one is the tombstone's */
    dv_rel(&f, 0, dv2, sizeof dv2);
    CHECK(strcmp(dv1, dv2) != 0);
    const int64_t now = dc_maint_now(0);
    age_all_data(&f, now - 30 * MT_DAY);
    dc_maint_vacuum_result r;
    seen s;
    CHECK_OK(vacuum(&f, &r, &s, now, -1, false, false), &f.err);
    CHECK_EQ_INT(r.files_removed, 0);
    CHECK_EQ_INT(r.files_referenced, 3);
    CHECK(mt_exists(&f, dv1));
    /* Past the tombstones' retention: only the superseded DV file goes (the
     * data file is the same physical file, still live). */
    CHECK_OK(vacuum(&f, &r, &s, now + 8 * MT_DAY, -1, false, false), &f.err);
    CHECK_EQ_INT(r.files_removed, 1);
    CHECK(saw(&s, dv1));
    CHECK(!mt_exists(&f, dv1));
    CHECK(mt_exists(&f, dv2));
    CHECK(mt_exists(&f, data));
    /* The rows read back through the remaining DV. */
    dc_delta_snapshot *back = NULL;
    dc_delta_scan *sc = NULL;
    dc_buf out;
    bool done = false;
    dc_buf_init(&out, 1 << 20);
    CHECK_OK(dc_delta_snapshot_load(&back, f.s, -1, &f.err), &f.err);
    if (back) CHECK_OK(dc_delta_scan_new(&sc, back, NULL, 0, &f.err), &f.err);
    while (sc && !done) CHECK_OK(dc_delta_scan_next(sc, &out, &done, &f.err), &f.err);
    if (sc) CHECK_EQ_INT(dc_delta_scan_rows(sc), 8);
    dc_delta_scan_free(sc);
    dc_delta_snapshot_free(back);
    dc_buf_dispose(&out);
    mt_close(&f);
}

static void count_progress(void *ctx, const dc_maint_progress *p)
{
    dc_maint_progress *last = ctx;
    CHECK(p->files_total == 0 || p->files_done <= p->files_total);
    *last = *p;
}

TEST(maint_vacuum_progress_reports_the_end_of_each_phase)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    mt_append(&f, 0, 3);
    for (int i = 0; i < 300; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "orphans/o%03d.parquet", i);
        mt_touch(&f, rel);
    }
    const int64_t now = dc_maint_now(0);
    dc_maint_progress last;
    memset(&last, 0, sizeof last);
    dc_maint_vacuum_opts o;
    dc_maint_vacuum_opts_init(&o);
    o.now_ms = now + 8 * MT_DAY;
    o.progress = count_progress;
    o.ctx = &last;
    dc_maint_vacuum_result r;
    CHECK_OK(dc_maint_vacuum(&r, f.snap, &o, &f.err), &f.err);
    CHECK_EQ_INT(r.files_removed, 300);
    CHECK_EQ_STR(last.phase, "deleting");
    CHECK_EQ_INT(last.files_done, 300);
    CHECK_EQ_INT(last.files_total, 300);
    CHECK_EQ_INT(last.bytes_done, 300);
    CHECK(!mt_exists(&f, "orphans"));
    mt_close(&f);
}

TEST(maint_vacuum_records_start_and_end_commits)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    mt_append(&f, 0, 4);
    mt_touch(&f, "orphan.parquet");
    const int64_t now = dc_maint_now(0);
    dc_maint_vacuum_opts o;
    dc_maint_vacuum_opts_init(&o);
    o.now_ms = now + 8 * MT_DAY;
    o.record = true;
    o.dry_run = true;
    dc_maint_vacuum_result r;
    CHECK_OK(dc_maint_vacuum(&r, f.snap, &o, &f.err), &f.err);
    CHECK_EQ_INT(r.start_version, -1);  /* a dry run changes nothing, not even the log */
    o.dry_run = false;
    CHECK_OK(dc_maint_vacuum(&r, f.snap, &o, &f.err), &f.err);
    CHECK_EQ_INT(r.start_version, 2);
    CHECK_EQ_INT(r.end_version, 3);
    static const char *const ops[] = {"VACUUM START", "VACUUM END"};
    for (int k = 0; k < 2; k++) {
        dc_delta_commit *c = NULL;
        CHECK_OK(dc_delta_commit_read(&c, f.s, 2 + k, &f.err), &f.err);
        if (!c) continue;
        CHECK_EQ_INT(c->n_actions, 1);
        CHECK_EQ_INT(c->actions[0].type, DC_DELTA_ACTION_COMMIT_INFO);
        char want[64];
        snprintf(want, sizeof want, "\"operation\":\"%s\"", ops[k]);
        CHECK(strstr(c->actions[0].u.commit_info.json, want) != NULL);
        CHECK(strstr(c->actions[0].u.commit_info.json,
                     k == 0 ? "\"numFilesToDelete\":\"1\"" : "\"numDeletedFiles\":\"1\"") != NULL);
        dc_delta_commit_free(c);
    }
    dc_delta_snapshot *back = NULL;
    CHECK_OK(dc_delta_snapshot_load(&back, f.s, -1, &f.err), &f.err);
    if (back) CHECK_EQ_INT(dc_delta_snapshot_n_files(back), 1);
    dc_delta_snapshot_free(back);
    mt_close(&f);
}

/* Temporary files a crashed writer left (".<name>.<pid>.<n>.<ns>.tmp", in
 * data directories and in _delta_log/) go once older than the retention;
 * younger ones (maybe a live writer's) and other hidden files stay. Before,
 * being hidden, they were never removed. */
TEST(maint_vacuum_removes_old_temp_files_of_crashed_writers)
{
    CHECK(dc_storage_is_temp_name(".part-0.parquet.1234.0.98765.tmp"));
    CHECK(dc_storage_is_temp_name(".00000000000000000003.json.7.12.5.tmp"));
    CHECK(!dc_storage_is_temp_name(".hidden.tmp"));
    CHECK(!dc_storage_is_temp_name("part.1.2.3.tmp"));
    CHECK(!dc_storage_is_temp_name(".1.2.3.tmp"));
    CHECK(!dc_storage_is_temp_name(".x.1.a.3.tmp"));
    mt_fx f;
    mt_open(&f, true, false, NULL);
    mt_append(&f, 0, 10);
    mt_touch(&f, ".part-9.parquet.4242.0.1.tmp");
    mt_touch(&f, "_part=a/.part-8.parquet.4242.1.2.tmp");
    mt_touch(&f, "_delta_log/.00000000000000000002.json.4242.2.3.tmp");
    mt_touch(&f, "_part=a/.part-7.parquet.4242.3.4.tmp"); /* young: a writer's, maybe */
    mt_touch(&f, ".hidden.parquet");
    const int64_t now = dc_maint_now(0);
    age_all_data(&f, now - 10 * MT_DAY);
    mt_set_mtime(&f, "_delta_log/.00000000000000000002.json.4242.2.3.tmp", now - 10 * MT_DAY);
    mt_set_mtime(&f, "_part=a/.part-7.parquet.4242.3.4.tmp", now - MT_DAY);
    dc_maint_vacuum_result r;
    seen s;
    CHECK_OK(vacuum(&f, &r, &s, now, -1, false, false), &f.err);
    CHECK_EQ_INT(r.files_temp, 3);
    CHECK_EQ_INT(r.files_removed, 3);
    CHECK(!mt_exists(&f, ".part-9.parquet.4242.0.1.tmp"));
    CHECK(!mt_exists(&f, "_part=a/.part-8.parquet.4242.1.2.tmp"));
    CHECK(!mt_exists(&f, "_delta_log/.00000000000000000002.json.4242.2.3.tmp"));
    CHECK(mt_exists(&f, "_part=a/.part-7.parquet.4242.3.4.tmp"));
    CHECK(mt_exists(&f, ".hidden.parquet"));
    CHECK_EQ_INT(outcome_live_files_present(&f), 1);
    mt_close(&f);
}

/* A file committed while VACUUM was listing (here: from its progress
 * callback at the end of the listing, an old file that looked orphaned) is
 * kept: the live set is read again right before deleting. */
static void commit_orphan(void *ctx, const dc_maint_progress *p)
{
    mt_fx *f = ctx;
    if (strcmp(p->phase, "listing") != 0 || p->files_total == 0) return;
    dc_delta_snapshot *snap = NULL;
    dc_delta_tx *tx = NULL;
    int64_t v = -1;
    CHECK_OK(dc_delta_snapshot_load(&snap, f->s, -1, &f->err), &f->err);
    CHECK_OK(dc_delta_tx_new(&tx, snap, "WRITE", &f->err), &f->err);
    dc_delta_add a;
    memset(&a, 0, sizeof a);
    a.path = "late.parquet";
    a.size = 1;
    a.data_change = true;
    a.stats = "{\"numRecords\":0}";
    CHECK_OK(dc_delta_tx_add(tx, &a, &f->err), &f->err);
    CHECK_OK(dc_delta_tx_commit(&v, tx, &f->err), &f->err);
    dc_delta_tx_free(tx);
    dc_delta_snapshot_free(snap);
}

TEST(maint_vacuum_rechecks_the_live_set_before_deleting)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    mt_append(&f, 0, 10);
    mt_touch(&f, "late.parquet");
    mt_touch(&f, "orphan.parquet");
    const int64_t now = dc_maint_now(0);
    age_all_data(&f, now - 10 * MT_DAY);
    dc_maint_vacuum_opts o;
    dc_maint_vacuum_opts_init(&o);
    o.now_ms = now;
    o.progress = commit_orphan;
    o.ctx = &f;
    dc_maint_vacuum_result r;
    CHECK_OK(dc_maint_vacuum(&r, f.snap, &o, &f.err), &f.err);
    CHECK_EQ_INT(r.files_relive, 1);
    CHECK_EQ_INT(r.files_removed, 1);
    CHECK(mt_exists(&f, "late.parquet"));
    CHECK(!mt_exists(&f, "orphan.parquet"));
    mt_close(&f);
}
