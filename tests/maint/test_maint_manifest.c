/* maint: symlink manifests — content (absolute file: paths of exactly the
 * live files, per partition directory), unchanged manifests left alone,
 * stale partitions removed, refusal on deletion-vector tables. */
#include "maint_fixture.h"

#include <limits.h>

/* Reads a manifest's lines (sorted as written) into a fresh string. */
static char *read_manifest(mt_fx *f, const char *rel)
{
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    CHECK_OK(dc_storage_read(f->s, rel, &b, &f->err), &f->err);
    CHECK_OK(dc_buf_putc(&b, '\0', &f->err), &f->err);
    size_t n = 0;
    return (char *)dc_buf_steal(&b, &n);
}

/* The expected line of live file i: "file:" + absolute root + "/" + path. */
static void expected_line(mt_fx *f, size_t i, char *out, size_t n)
{
    char rel[256], root[PATH_MAX];
    CHECK(realpath(f->dir, root) != NULL);
    mt_live_rel(f, i, rel, sizeof rel);
    const int len = snprintf(out, n, "file:%s/%s\n", root, rel);
    CHECK(len > 0 && (size_t)len < n);
}

/* Every live file's line appears in the manifest of its partition, and the
 * manifests hold nothing else. */
static void check_manifests(mt_fx *f, const char *const *dirs, size_t n_dirs)
{
    size_t lines = 0;
    for (size_t d = 0; d < n_dirs; d++) {
        char rel[256];
        snprintf(rel, sizeof rel, "_symlink_format_manifest/%s%smanifest", dirs[d],
                 *dirs[d] ? "/" : "");
        char *text = read_manifest(f, rel);
        for (const char *p = text; p && *p; p = strchr(p, '\n') + 1) lines++;
        for (size_t i = 0; text && i < dc_delta_snapshot_n_files(f->snap); i++) {
            char want[512], pdir[256];
            expected_line(f, i, want, sizeof want);
            mt_live_rel(f, i, pdir, sizeof pdir);
            char *slash = strrchr(pdir, '/');
            if (slash) *slash = '\0';
            else pdir[0] = '\0';
            if (strcmp(pdir, dirs[d]) == 0) CHECK(strstr(text, want) != NULL);
        }
        dc_free(text);
    }
    CHECK_EQ_INT(lines, dc_delta_snapshot_n_files(f->snap));
}

TEST(maint_manifest_unpartitioned)
{
    mt_fx f;
    mt_open(&f, false, false, NULL);
    dc_maint_manifest_result r;
    /* An empty table gets an empty manifest. */
    CHECK_OK(dc_maint_manifest_write(&r, f.snap, &f.err), &f.err);
    CHECK_EQ_INT(r.n_manifests, 1);
    CHECK_EQ_INT(r.n_files, 0);
    char *text = read_manifest(&f, "_symlink_format_manifest/manifest");
    CHECK_EQ_STR(text, "");
    dc_free(text);
    mt_append(&f, 0, 5);
    mt_append(&f, 5, 5);
    mt_append(&f, 10, 5);
    mt_remove(&f, 1);
    CHECK_OK(dc_maint_manifest_write(&r, f.snap, &f.err), &f.err);
    CHECK_EQ_INT(r.n_manifests, 1);
    CHECK_EQ_INT(r.n_files, 2);
    static const char *const root[] = {""};
    check_manifests(&f, root, 1);
    /* Nothing changed: nothing rewritten. */
    CHECK_OK(dc_maint_manifest_write(&r, f.snap, &f.err), &f.err);
    CHECK_EQ_INT(r.n_manifests, 0);
    CHECK_EQ_INT(r.n_unchanged, 1);
    mt_close(&f);
}

TEST(maint_manifest_partitioned_and_stale)
{
    mt_fx f;
    mt_open(&f, true, false, NULL);
    mt_append(&f, 0, 10);   /* _part=a, _part=b, null */
    mt_append(&f, 10, 10);
    dc_maint_manifest_result r;
    CHECK_OK(dc_maint_manifest_write(&r, f.snap, &f.err), &f.err);
    CHECK_EQ_INT(r.n_manifests, 3);
    CHECK_EQ_INT(r.n_files, 6);
    static const char *const dirs[] = {"_part=a", "_part=b", "_part=__HIVE_DEFAULT_PARTITION__"};
    check_manifests(&f, dirs, 3);
    /* Remove both files of partition b: its manifest goes, with its directory;
     * the others are unchanged and not rewritten. */
    for (size_t i = dc_delta_snapshot_n_files(f.snap); i-- > 0;) {
        bool found = false;
        const char *v = dc_delta_map_get(&dc_delta_snapshot_file(f.snap, i)->partition_values,
                                         "_part", &found);
        if (v && strcmp(v, "b") == 0) mt_remove(&f, i);
    }
    CHECK_EQ_INT(dc_delta_snapshot_n_files(f.snap), 4);
    CHECK_OK(dc_maint_manifest_write(&r, f.snap, &f.err), &f.err);
    CHECK_EQ_INT(r.n_manifests, 0);
    CHECK_EQ_INT(r.n_unchanged, 2);
    CHECK_EQ_INT(r.n_stale, 1);
    CHECK(!mt_exists(&f, "_symlink_format_manifest/_part=b"));
    static const char *const left[] = {"_part=a", "_part=__HIVE_DEFAULT_PARTITION__"};
    check_manifests(&f, left, 2);
    /* A new file in a: only that manifest is rewritten. */
    mt_append(&f, 100, 1);   /* id 100 % 5 == 0: null partition */
    CHECK_OK(dc_maint_manifest_write(&r, f.snap, &f.err), &f.err);
    CHECK_EQ_INT(r.n_manifests, 1);
    CHECK_EQ_INT(r.n_unchanged, 1);
    mt_close(&f);
}

TEST(maint_manifest_refused_with_deletion_vectors)
{
    mt_fx f;
    mt_open(&f, false, true, NULL);
    mt_append(&f, 0, 5);
    dc_maint_manifest_result r;
    /* DVs enabled (none used yet) is enough: the next commit could add one. */
    CHECK_EQ_INT(dc_maint_manifest_write(&r, f.snap, &f.err), DC_EUNSUPPORTED);
    CHECK(strstr(f.err.msg, "deletion vectors") != NULL);
    CHECK(strstr(f.err.msg, "delta.enableDeletionVectors=true") != NULL);
    mt_delete_row(&f, 0, 1);
    dc_err_clear(&f.err);
    CHECK_EQ_INT(dc_maint_manifest_check(f.snap, &f.err), DC_EUNSUPPORTED);
    CHECK(strstr(f.err.msg, "1 live files with a DV") != NULL);
    CHECK(!mt_exists(&f, "_symlink_format_manifest"));
    mt_close(&f);
}
