/* maint: log cleanup — name classification, the pure planner on made-up
 * listings (hand-picked cases and a randomized invariant check), and the
 * cleanup of a real table whose commit ages are set with utimensat. */
#include "maint_fixture.h"

/* ------------------------------------------------------------ listings */

#define MAXF 512

typedef struct listing {
    char names[MAXF][96];
    dc_maint_log_file f[MAXF];
    size_t n;
} listing;

static void put(listing *l, int64_t mtime, const char *fmt, long long v, long long w)
{
    DC_ASSERT(l->n < MAXF);
    snprintf(l->names[l->n], sizeof l->names[l->n], fmt, v, w);
    l->f[l->n].mtime_ms = mtime;
    l->f[l->n].size = 100;
    l->n++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const dc_maint_log_file *)a)->name, ((const dc_maint_log_file *)b)->name);
}

/* Classifies every name and sorts as a storage listing would. */
static void finish(listing *l)
{
    for (size_t i = 0; i < l->n; i++) {
        dc_maint_log_classify(&l->f[i], l->names[i]);
        l->f[i].name = l->names[i];
    }
    qsort(l->f, l->n, sizeof *l->f, by_name);
}

static const dc_maint_log_file *find(const listing *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->f[i].name, name) == 0) return &l->f[i];
    return NULL;
}

static bool removed(const listing *l, const char *fmt, long long v)
{
    char name[96];
    snprintf(name, sizeof name, fmt, v);
    const dc_maint_log_file *f = find(l, name);
    CHECK(f != NULL);
    return f && f->remove;
}

#define C "%020lld.json"
#define CP "%020lld.checkpoint.parquet"
#define CRC "%020lld.crc"

/* Commits 0..n-1 at times t0 + 1000*v, checkpoints at each multiple of
 * `every` (> 0), checksums for all. */
static void table_log(listing *l, int n, int every, int64_t t0)
{
    memset(l, 0, sizeof *l);
    for (int v = 0; v < n; v++) {
        put(l, t0 + 1000 * v, C, v, 0);
        put(l, t0 + 1000 * v, CRC, v, 0);
        if (every > 0 && v > 0 && v % every == 0) put(l, t0 + 1000 * v + 500, CP, v, 0);
    }
    put(l, t0, "_last_checkpoint", 0, 0);
}

TEST(maint_log_classify_names)
{
    dc_maint_log_file f;
    dc_maint_log_classify(&f, "00000000000000000012.json");
    CHECK_EQ_INT(f.kind, DC_MAINT_LOG_COMMIT);
    CHECK_EQ_INT(f.version, 12);
    dc_maint_log_classify(&f, "00000000000000000010.checkpoint.parquet");
    CHECK_EQ_INT(f.kind, DC_MAINT_LOG_CHECKPOINT);
    CHECK_EQ_INT(f.version, 10);
    dc_maint_log_classify(&f, "00000000000000000010.checkpoint.0000000002.0000000003.parquet");
    CHECK_EQ_INT(f.kind, DC_MAINT_LOG_CHECKPOINT_PART);
    CHECK_EQ_INT(f.part, 2);
    CHECK_EQ_INT(f.parts, 3);
    dc_maint_log_classify(&f, "00000000000000000020.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json");
    CHECK_EQ_INT(f.kind, DC_MAINT_LOG_CHECKPOINT);
    CHECK_EQ_INT(f.version, 20);
    dc_maint_log_classify(&f, "00000000000000000007.crc");
    CHECK_EQ_INT(f.kind, DC_MAINT_LOG_CRC);
    dc_maint_log_classify(&f, "00000000000000000004.00000000000000000009.compacted.json");
    CHECK_EQ_INT(f.kind, DC_MAINT_LOG_COMPACTED);
    CHECK_EQ_INT(f.version, 4);
    static const char *const other[] = {
        "_last_checkpoint", ".00000000000000000001.json.tmp", "00000000000000000001.json.tmp",
        "0000000000000000001.json", "0000000000000000000a.json", "00000000000000000001.txt",
        "00000000000000000010.checkpoint.0000000004.0000000003.parquet",  /* part > parts */
        "00000000000000000010.checkpoint.0000000000.0000000003.parquet",  /* part 0 */
        "00000000000000000009.00000000000000000004.compacted.json",       /* end < start */
        "00000000000000000010.checkpoint..json", "_sidecars", "",
    };
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        dc_maint_log_classify(&f, other[i]);
        CHECK_EQ_INT(f.kind, DC_MAINT_LOG_OTHER);
        CHECK_EQ_INT(f.version, -1);
    }
}

TEST(maint_log_plan_keeps_from_the_checkpoint_before_the_cutoff_commit)
{
    static listing l;
    table_log(&l, 26, 10, 1000000);
    finish(&l);
    dc_maint_log_plan p;
    /* Commits 0..14 are at or before the cutoff: cutoff commit 14, the
     * newest checkpoint at or before it is 10. */
    dc_maint_log_plan_files(&p, l.f, l.n, 1000000 + 14000, -1);
    CHECK_EQ_INT(p.latest, 25);
    CHECK_EQ_INT(p.cutoff_commit, 14);
    CHECK_EQ_INT(p.keep_from, 10);
    CHECK_EQ_INT(p.n_remove, 20);  /* commits and checksums 0..9 */
    CHECK_EQ_INT(p.bytes_remove, 2000);
    for (int v = 0; v < 26; v++) {
        CHECK_EQ_INT(removed(&l, C, v), v < 10);
        CHECK_EQ_INT(removed(&l, CRC, v), v < 10);
    }
    CHECK(!removed(&l, CP, 10));
    CHECK(!removed(&l, CP, 20));
    CHECK(!find(&l, "_last_checkpoint")->remove);
}

TEST(maint_log_plan_nothing_to_do)
{
    static listing l;
    dc_maint_log_plan p;
    /* Nothing expired. */
    table_log(&l, 26, 10, 1000000);
    finish(&l);
    dc_maint_log_plan_files(&p, l.f, l.n, 999999, -1);
    CHECK_EQ_INT(p.cutoff_commit, -1);
    CHECK_EQ_INT(p.keep_from, -1);
    CHECK_EQ_INT(p.n_remove, 0);
    /* Expired, but no checkpoint at or before the cutoff commit. */
    dc_maint_log_plan_files(&p, l.f, l.n, 1000000 + 9999, -1);
    CHECK_EQ_INT(p.cutoff_commit, 9);
    CHECK_EQ_INT(p.keep_from, -1);
    CHECK_EQ_INT(p.n_remove, 0);
    /* A log without checkpoints at all, everything expired. */
    table_log(&l, 26, 0, 1000000);
    finish(&l);
    dc_maint_log_plan_files(&p, l.f, l.n, INT64_MAX, -1);
    CHECK_EQ_INT(p.cutoff_commit, 25);
    CHECK_EQ_INT(p.n_remove, 0);
    for (size_t i = 0; i < l.n; i++) CHECK(!l.f[i].remove);
    /* An empty log. */
    dc_maint_log_plan_files(&p, l.f, 0, INT64_MAX, -1);
    CHECK_EQ_INT(p.latest, -1);
}

TEST(maint_log_plan_all_expired_keeps_the_newest_checkpoint)
{
    static listing l;
    table_log(&l, 26, 10, 1000000);
    finish(&l);
    dc_maint_log_plan p;
    dc_maint_log_plan_files(&p, l.f, l.n, INT64_MAX, -1);
    CHECK_EQ_INT(p.cutoff_commit, 25);
    CHECK_EQ_INT(p.keep_from, 20);
    CHECK(removed(&l, CP, 10));
    CHECK(!removed(&l, CP, 20));
    CHECK(!removed(&l, C, 20));  /* the commit at the cutoff checkpoint stays (commitInfo) */
    CHECK(removed(&l, C, 19));
    /* _last_checkpoint naming 10 caps it: 10 and its commits stay. */
    dc_maint_log_plan_files(&p, l.f, l.n, INT64_MAX, 10);
    CHECK_EQ_INT(p.keep_from, 10);
    CHECK(!removed(&l, CP, 10));
    CHECK(!removed(&l, C, 10));
    CHECK(removed(&l, C, 9));
}

TEST(maint_log_plan_commit_times_are_made_monotonic)
{
    static listing l;
    table_log(&l, 26, 10, 1000000);
    /* Commit 17 has an ancient mtime (copied, touched back) but the commits
     * before it are new: it is not older than commit 16 really. */
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.names[i], "00000000000000000017.json") == 0) l.f[i].mtime_ms = 5;
    finish(&l);
    dc_maint_log_plan p;
    dc_maint_log_plan_files(&p, l.f, l.n, 1000000 + 12500, -1);
    CHECK_EQ_INT(p.cutoff_commit, 12);
    CHECK_EQ_INT(p.keep_from, 10);
    CHECK(!removed(&l, C, 17));
    /* A commit older than the previous ones moves no cutoff backwards either. */
    table_log(&l, 26, 10, 1000000);
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.names[i], "00000000000000000005.json") == 0) l.f[i].mtime_ms = 1000000 + 99000;
    finish(&l);
    dc_maint_log_plan_files(&p, l.f, l.n, 1000000 + 50000, -1);
    CHECK_EQ_INT(p.cutoff_commit, 4);  /* 5 and everything after count as newer */
    CHECK_EQ_INT(p.keep_from, -1);
}

TEST(maint_log_plan_multipart_and_compacted)
{
    static listing l;
    table_log(&l, 30, 10, 1000000);
    /* An incomplete multi-part checkpoint at 25 (part 2 of 3 missing) and a
     * complete one at 15; compacted files around the cutoff checkpoint. */
    put(&l, 1000000, "%020lld.checkpoint.0000000001.0000000003.parquet", 25, 0);
    put(&l, 1000000, "%020lld.checkpoint.0000000003.0000000003.parquet", 25, 0);
    for (int part = 1; part <= 2; part++) {
        char fmt[96];
        snprintf(fmt, sizeof fmt, "%%020lld.checkpoint.%010d.0000000002.parquet", part);
        put(&l, 1000000, fmt, 15, 0);
    }
    put(&l, 1000000, "%020lld.%020lld.compacted.json", 3, 8);
    put(&l, 1000000, "%020lld.%020lld.compacted.json", 15, 18);
    put(&l, 1000000, "%020lld.%020lld.compacted.json", 16, 19);
    finish(&l);
    dc_maint_log_plan p;
    dc_maint_log_plan_files(&p, l.f, l.n, INT64_MAX, -1);
    CHECK_EQ_INT(p.cutoff_commit, 29);
    CHECK_EQ_INT(p.keep_from, 20);  /* 25 is incomplete */
    dc_maint_log_plan_files(&p, l.f, l.n, 1000000 + 17000, -1);
    CHECK_EQ_INT(p.keep_from, 15);  /* the complete multi-part one */
    CHECK(!find(&l, "00000000000000000015.checkpoint.0000000001.0000000002.parquet")->remove);
    CHECK(find(&l, "00000000000000000003.00000000000000000008.compacted.json")->remove);
    CHECK(find(&l, "00000000000000000015.00000000000000000018.compacted.json")->remove);
    CHECK(!find(&l, "00000000000000000016.00000000000000000019.compacted.json")->remove);
    CHECK(removed(&l, CP, 10));
    CHECK(!removed(&l, C, 15));
}

/* xorshift: reproducible pseudo-random cases. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Whatever the listing and cutoff, every version from keep_from to the
 * latest stays loadable: the checkpoint at keep_from and every commit from
 * it on are kept, nothing at or after it is removed (but compacted files
 * starting there), and nothing newer than the cutoff commit decides. */
TEST(maint_log_plan_randomized_invariants)
{
    static listing l;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 400; round++) {
        memset(&l, 0, sizeof l);
        const int n = 1 + (int)(rnd(&seed) % 60);
        const int first = (int)(rnd(&seed) % 5);  /* older commits already cleaned */
        int64_t t = 1000;
        for (int v = first; v < first + n; v++) {
            t += (int64_t)(rnd(&seed) % 3000) - 500;  /* sometimes backwards */
            put(&l, t, C, v, 0);
            if (rnd(&seed) % 4 == 0) put(&l, t, CP, v, 0);
            if (rnd(&seed) % 2 == 0) put(&l, t, CRC, v, 0);
        }
        finish(&l);
        const int64_t cutoff = (int64_t)(rnd(&seed) % (uint64_t)(t + 2000));
        const int64_t cap = rnd(&seed) % 3 == 0 ? (int64_t)(rnd(&seed) % 70) : -1;
        dc_maint_log_plan p;
        dc_maint_log_plan_files(&p, l.f, l.n, cutoff, cap);
        CHECK_EQ_INT(p.latest, first + n - 1);
        CHECK(p.keep_from <= p.cutoff_commit);
        CHECK(cap < 0 || p.keep_from <= cap);
        size_t marked = 0;
        bool cp_kept = p.keep_from < 0;
        for (size_t i = 0; i < l.n; i++) {
            const dc_maint_log_file *f = &l.f[i];
            marked += f->remove;
            if (f->remove) CHECK(f->version < p.keep_from);
            if (f->version >= p.keep_from && p.keep_from >= 0) CHECK(!f->remove);
            if (f->kind == DC_MAINT_LOG_CHECKPOINT && f->version == p.keep_from && !f->remove)
                cp_kept = true;
        }
        CHECK(cp_kept);
        CHECK_EQ_INT(marked, p.n_remove);
        /* The cutoff commit is the newest whose (monotonic) time is <= cutoff. */
        if (p.keep_from < 0) CHECK_EQ_INT(p.n_remove, 0);
    }
}

/* ---------------------------------------------------------- real table */

static void age_commits(mt_fx *f, int64_t upto, int64_t ms)
{
    for (int64_t v = 0; v <= upto; v++) {
        char name[64];
        CHECK_OK(dc_delta_commit_name(name, v), &f->err);
        mt_set_mtime(f, name, ms);
    }
}

static void checkpoint_at(mt_fx *f, int64_t version)
{
    dc_delta_snapshot *snap = NULL;
    dc_delta_checkpoint_info info;
    CHECK_OK(dc_delta_snapshot_load(&snap, f->s, version, &f->err), &f->err);
    if (snap) CHECK_OK(dc_delta_checkpoint_write(&info, snap, &f->err), &f->err);
    dc_delta_snapshot_free(snap);
}

TEST(maint_log_cleanup_real_table)
{
    mt_fx f;
    mt_open(&f, true, false, NULL);
    for (int i = 0; i < 12; i++) mt_append(&f, i * 10, 10);  /* versions 1..12 */
    checkpoint_at(&f, 5);
    checkpoint_at(&f, 10);
    const int64_t now = dc_maint_now(0);
    age_commits(&f, 7, now - 40 * MT_DAY);  /* 0..7 are 40 days old, 8..12 new */
    dc_maint_log_opts o;
    dc_maint_log_opts_init(&o);
    dc_maint_log_result r;
    /* Dry run: the plan, nothing deleted. */
    o.dry_run = true;
    CHECK_OK(dc_maint_log_cleanup(&r, f.s, dc_delta_snapshot_metadata(f.snap), &o, &f.err), &f.err);
    CHECK(!r.skipped);
    CHECK_EQ_INT(r.retention_ms, 30 * MT_DAY);
    CHECK_EQ_INT(r.cutoff_ms % MT_DAY, 0);  /* midnight UTC */
    CHECK(r.cutoff_ms <= now - 30 * MT_DAY && r.cutoff_ms > now - 31 * MT_DAY);
    CHECK_EQ_INT(r.plan.cutoff_commit, 7);
    CHECK_EQ_INT(r.plan.keep_from, 5);
    CHECK_EQ_INT(r.plan.n_remove, 5);
    CHECK(mt_exists(&f, "_delta_log/00000000000000000000.json"));
    /* For real. */
    o.dry_run = false;
    CHECK_OK(dc_maint_log_cleanup(&r, f.s, dc_delta_snapshot_metadata(f.snap), &o, &f.err), &f.err);
    CHECK_EQ_INT(r.plan.n_remove, 5);
    CHECK(!mt_exists(&f, "_delta_log/00000000000000000004.json"));
    CHECK(mt_exists(&f, "_delta_log/00000000000000000005.json"));
    CHECK(mt_exists(&f, "_delta_log/00000000000000000005.checkpoint.parquet"));
    /* Every retained version loads, with the same files; older ones do not. */
    for (int64_t v = 5; v <= 12; v++) {
        dc_delta_snapshot *s = NULL;
        CHECK_OK(dc_delta_snapshot_load(&s, f.s, v, &f.err), &f.err);
        if (s) CHECK_EQ_INT(dc_delta_snapshot_n_files(s), (size_t)v * 3);
        dc_delta_snapshot_free(s);
    }
    dc_delta_snapshot *old = NULL;
    CHECK_EQ_INT(dc_delta_snapshot_load(&old, f.s, 4, &f.err), DC_ENOTFOUND);
    /* Running again finds nothing more to do. */
    CHECK_OK(dc_maint_log_cleanup(&r, f.s, dc_delta_snapshot_metadata(f.snap), &o, &f.err), &f.err);
    CHECK_EQ_INT(r.plan.n_remove, 0);
    mt_close(&f);
}

TEST(maint_log_cleanup_honours_the_table_properties)
{
    static const char *const props[] = {"delta.enableExpiredLogCleanup=false",
                                        "delta.logRetentionDuration=interval 2 days", NULL};
    mt_fx f;
    mt_open(&f, false, false, props);
    for (int i = 0; i < 6; i++) mt_append(&f, i, 1);
    checkpoint_at(&f, 4);
    const int64_t now = dc_maint_now(0);
    age_commits(&f, 6, now - 5 * MT_DAY);
    dc_maint_log_opts o;
    dc_maint_log_opts_init(&o);
    dc_maint_log_result r;
    CHECK_OK(dc_maint_log_cleanup(&r, f.s, dc_delta_snapshot_metadata(f.snap), &o, &f.err), &f.err);
    CHECK(r.skipped);
    CHECK(mt_exists(&f, "_delta_log/00000000000000000000.json"));
    o.ignore_disabled = true;
    CHECK_OK(dc_maint_log_cleanup(&r, f.s, dc_delta_snapshot_metadata(f.snap), &o, &f.err), &f.err);
    CHECK(!r.skipped);
    CHECK_EQ_INT(r.retention_ms, 2 * MT_DAY);  /* the table's, not the default 30 days */
    CHECK_EQ_INT(r.plan.keep_from, 4);
    CHECK(!mt_exists(&f, "_delta_log/00000000000000000003.json"));
    CHECK(mt_exists(&f, "_delta_log/00000000000000000004.json"));
    /* An explicit retention overrides the table's. */
    o.retention_ms = 10 * MT_DAY;
    CHECK_OK(dc_maint_log_cleanup(&r, f.s, dc_delta_snapshot_metadata(f.snap), &o, &f.err), &f.err);
    CHECK_EQ_INT(r.plan.cutoff_commit, -1);
    mt_close(&f);
}
