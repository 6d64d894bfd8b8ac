/* OPTIMIZE planning (src/maint/optimize_plan.c) over hand-made add actions:
 * which files are picked (small, deleted share), how they are packed (per
 * partition, up to the target), which bins are dropped, the run's budget. */
#include "../test.h"

#include <stdio.h>
#include <stdlib.h>

#include "../../src/maint/optimize.h"

#define MIB ((int64_t)1 << 20)

typedef struct pfile {
    dc_delta_add a;
    char stats[64];
    dc_delta_kv part[2];
} pfile;

/* A file of `size` bytes and `rows` rows (-1: no stats), `deleted` of them
 * in a DV, in partition p ("" none; "null" a null value). */
static void mk(pfile *f, int64_t size, int64_t rows, int64_t deleted, const char *p)
{
    memset(f, 0, sizeof *f);
    f->a.path = "x.parquet";
    f->a.size = size;
    if (rows >= 0) {
        snprintf(f->stats, sizeof f->stats, "{\"numRecords\":%lld}", (long long)rows);
        f->a.stats = f->stats;
    }
    if (deleted > 0) {
        f->a.has_dv = true;
        f->a.dv.storage_type = 'u';
        f->a.dv.cardinality = deleted;
    }
    if (*p) {
        f->part[0].key = "day";
        f->part[0].value = strcmp(p, "null") == 0 ? NULL : p;
        f->a.partition_values.n = 1;
        f->a.partition_values.items = f->part;
    }
}

static void plan(dc_optimize_plan *out, pfile *f, size_t n, const dc_optimize_opts *o)
{
    const dc_delta_add **a = dc_calloc(n + 1, sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = &f[i].a;
    dc_err err;
    dc_err_clear(&err);
    CHECK_OK(dc_optimize_plan_files(out, a, n, o, &err), &err);
    dc_free(a);
}

/* Bin b's files as a sorted "i,j,k" string. */
static const char *bin_text(const dc_optimize_plan *p, size_t b)
{
    static char buf[256];
    size_t idx[64], n = p->bins[b].n;
    CHECK(n <= 64);
    memcpy(idx, p->bins[b].files, n * sizeof *idx);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && idx[j - 1] > idx[j]; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    buf[0] = 0;
    for (size_t i = 0; i < n; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%zu", i ? "," : "", idx[i]);
    return buf;
}

static dc_optimize_opts opts(int64_t target)
{
    dc_optimize_opts o;
    dc_optimize_opts_init(&o);
    o.target_file_size = target;
    return o;
}

TEST(optimize_plan_picks_small_files_only)
{
    pfile f[5];
    mk(&f[0], 1 * MIB, 100, 0, "");
    mk(&f[1], 90 * MIB, 100, 0, "");  /* big, no deletes: stays */
    mk(&f[2], 2 * MIB, 100, 0, "");
    mk(&f[3], 40 * MIB, 100, 0, "");  /* above target/4 = 25 MiB: not small */
    mk(&f[4], 3 * MIB, -1, 0, "");    /* no stats: still small by size */
    dc_optimize_opts o = opts(100 * MIB);
    dc_optimize_plan p;
    plan(&p, f, 5, &o);
    CHECK_EQ_INT(p.n_bins, 1);
    CHECK_EQ_STR(bin_text(&p, 0), "0,2,4");
    CHECK_EQ_INT(p.n_files, 3);
    CHECK_EQ_INT(p.n_small, 3);
    CHECK_EQ_INT(p.bytes, 6 * MIB);
    CHECK_EQ_INT(p.bins[0].rows, -1); /* one input without numRecords */
    dc_optimize_plan_dispose(&p);
    /* An explicit min size: the 40 MiB file is small too. */
    o.min_file_size = 50 * MIB;
    plan(&p, f, 5, &o);
    CHECK_EQ_INT(p.n_bins, 1);
    CHECK_EQ_STR(bin_text(&p, 0), "0,2,3,4");
    dc_optimize_plan_dispose(&p);
}

TEST(optimize_plan_packs_bins_up_to_the_target)
{
    pfile f[8];
    for (int i = 0; i < 8; i++) mk(&f[i], 3 * MIB, 10, 0, "");
    dc_optimize_opts o = opts(10 * MIB);
    o.min_file_size = 5 * MIB;
    dc_optimize_plan p;
    plan(&p, f, 8, &o);
    /* 3 files (9 MiB) per bin; the last two files make a third bin. */
    CHECK_EQ_INT(p.n_bins, 3);
    CHECK_EQ_INT(p.bins[0].n, 3);
    CHECK_EQ_INT(p.bins[1].n, 3);
    CHECK_EQ_INT(p.bins[2].n, 2);
    for (size_t b = 0; b < p.n_bins; b++) CHECK(p.bins[b].bytes <= 10 * MIB);
    CHECK_EQ_INT(p.n_files, 8);
    dc_optimize_plan_dispose(&p);
    /* Seven files: the seventh would be alone in its bin with nothing to
     * purge, so it is left out. */
    plan(&p, f, 7, &o);
    CHECK_EQ_INT(p.n_bins, 2);
    CHECK_EQ_INT(p.n_files, 6);
    dc_optimize_plan_dispose(&p);
}

TEST(optimize_plan_deleted_ratio_rule)
{
    pfile f[4];
    mk(&f[0], 60 * MIB, 1000, 300, "");  /* 30% deleted */
    mk(&f[1], 60 * MIB, 1000, 100, "");  /* 10% */
    mk(&f[2], 60 * MIB, -1, 900, "");    /* DV but no numRecords: share unknown */
    mk(&f[3], 60 * MIB, 1000, 1000, ""); /* every row deleted */
    dc_optimize_opts o = opts(100 * MIB);
    dc_optimize_plan p;
    plan(&p, f, 4, &o);
    /* 0 and 3 picked; 3 has no live rows (estimated output 0), so both fit
     * one bin; 1 and 2 stay. */
    CHECK_EQ_INT(p.n_bins, 1);
    CHECK_EQ_STR(bin_text(&p, 0), "0,3");
    CHECK_EQ_INT(p.n_deleted, 2);
    CHECK_EQ_INT(p.bins[0].deleted, 1300);
    dc_optimize_plan_dispose(&p);
    o.max_deleted_ratio = 0.05;
    plan(&p, f, 4, &o);
    CHECK_EQ_INT(p.n_files, 3);          /* 0, 1, 3 */
    CHECK_EQ_INT(p.candidates, 3);
    dc_optimize_plan_dispose(&p);
    o.max_deleted_ratio = 2.0;           /* off: only the all-deleted file... is not small */
    plan(&p, f, 4, &o);
    CHECK_EQ_INT(p.n_bins, 0);
    CHECK_EQ_INT(p.candidates, 0);
    dc_optimize_plan_dispose(&p);
    /* A lone file with deleted rows is a bin of its own (rewritten without them). */
    o.max_deleted_ratio = 0.2;
    plan(&p, f, 1, &o);
    CHECK_EQ_INT(p.n_bins, 1);
    CHECK_EQ_INT(p.bins[0].n, 1);
    dc_optimize_plan_dispose(&p);
}

TEST(optimize_plan_keeps_partitions_apart)
{
    pfile f[7];
    mk(&f[0], 1 * MIB, 10, 0, "2024-01-01");
    mk(&f[1], 1 * MIB, 10, 0, "2024-01-02");
    mk(&f[2], 1 * MIB, 10, 0, "2024-01-01");
    mk(&f[3], 1 * MIB, 10, 0, "null");
    mk(&f[4], 1 * MIB, 10, 0, "2024-01-02");
    mk(&f[5], 1 * MIB, 10, 0, "null");
    mk(&f[6], 1 * MIB, 10, 0, "");       /* empty value is not null */
    f[6].part[0].key = "day";
    f[6].part[0].value = "";
    f[6].a.partition_values.n = 1;
    f[6].a.partition_values.items = f[6].part;
    dc_optimize_opts o = opts(100 * MIB);
    dc_optimize_plan p;
    plan(&p, f, 7, &o);
    CHECK_EQ_INT(p.n_bins, 3);           /* the lone "" file is dropped */
    int seen = 0;
    for (size_t b = 0; b < p.n_bins; b++) {
        const char *t = bin_text(&p, b);
        seen |= strcmp(t, "0,2") == 0 ? 1 : strcmp(t, "1,4") == 0 ? 2 : strcmp(t, "3,5") == 0 ? 4 : 0;
    }
    CHECK_EQ_INT(seen, 7);
    dc_optimize_plan_dispose(&p);
}

TEST(optimize_plan_budget_small_first_then_most_deleted)
{
    pfile f[6];
    mk(&f[0], 50 * MIB, 1000, 500, "");  /* 50% deleted */
    mk(&f[1], 4 * MIB, 100, 0, "");
    mk(&f[2], 60 * MIB, 1000, 900, "");  /* 90% deleted */
    mk(&f[3], 2 * MIB, 100, 0, "");
    mk(&f[4], 3 * MIB, 100, 0, "");
    mk(&f[5], 70 * MIB, 1000, 250, "");  /* 25% */
    dc_optimize_opts o = opts(128 * MIB);
    o.max_files = 4;
    dc_optimize_plan p;
    plan(&p, f, 6, &o);
    CHECK_EQ_INT(p.candidates, 6);
    CHECK_EQ_INT(p.n_files, 4);          /* the 3 small ones, then the 90% one */
    CHECK_EQ_INT(p.n_small, 3);
    CHECK_EQ_INT(p.n_deleted, 1);
    bool has2 = false;
    for (size_t b = 0; b < p.n_bins; b++)
        for (size_t k = 0; k < p.bins[b].n; k++) has2 |= p.bins[b].files[k] == 2;
    CHECK(has2);
    dc_optimize_plan_dispose(&p);
    /* A byte budget: the smalls, then the first file with deleted rows
     * whatever its size (the 90% one, 60 MiB: past the budget), then
     * nothing that does not fit (50 MiB, 70 MiB). */
    o.max_files = 0;
    o.max_bytes = (uint64_t)(9 * MIB + 55 * MIB);
    plan(&p, f, 6, &o);
    CHECK_EQ_INT(p.bytes, 9 * MIB + 60 * MIB);
    CHECK_EQ_INT(p.n_deleted, 1);
    dc_optimize_plan_dispose(&p);
    /* A budget the smalls use up still lets the most deleted file in, and a
     * budget below the first small file still takes it. */
    o.max_bytes = (uint64_t)(2 * MIB);
    plan(&p, f, 6, &o);
    CHECK_EQ_INT(p.n_small, 1);            /* 2 MiB, then 3 and 4 do not fit */
    CHECK_EQ_INT(p.n_deleted, 1);
    CHECK_EQ_INT(p.bytes, 2 * MIB + 60 * MIB);
    dc_optimize_plan_dispose(&p);
    /* A budget smaller than any file still takes one candidate. */
    o.max_bytes = 1;
    o.min_file_size = 0;
    plan(&p, f, 6, &o);
    CHECK_EQ_INT(p.n_files, 1);
    CHECK_EQ_INT(p.bins[0].files[0], 2);
    dc_optimize_plan_dispose(&p);
}

TEST(optimize_plan_empty_and_bad_options)
{
    dc_optimize_opts o = opts(DC_OPTIMIZE_DEFAULT_TARGET);
    dc_optimize_plan p;
    plan(&p, NULL, 0, &o);
    CHECK_EQ_INT(p.n_bins, 0);
    dc_optimize_plan_dispose(&p);
    dc_err err;
    o.target_file_size = 0;
    CHECK(dc_optimize_plan_files(&p, NULL, 0, &o, &err) == DC_EINVAL);
    CHECK(strstr(err.msg, "target file size") != NULL);
    o = opts(MIB);
    o.min_file_size = 2 * MIB;
    CHECK(dc_optimize_opts_check(&o, &err) == DC_EINVAL);
    o = opts(MIB);
    o.max_deleted_ratio = 0;
    CHECK(dc_optimize_opts_check(&o, &err) == DC_EINVAL);
    o = opts(MIB);
    o.sort = DC_OPTIMIZE_SORT_KEYS;
    CHECK(dc_optimize_opts_check(&o, &err) == DC_EINVAL);
}

/* Random files: every bin holds files of one partition, no file is in two
 * bins, a lone file is there for its deleted rows, every picked file is
 * small or over the ratio, and the file budget holds. */
TEST(optimize_plan_random_invariants)
{
    srand(7);
    static const char *parts[] = {"", "a", "b", "null"};
    for (int round = 0; round < 200; round++) {
        const size_t n = (size_t)(rand() % 60);
        pfile *f = dc_calloc(n + 1, sizeof *f);
        for (size_t i = 0; i < n; i++) {
            const int64_t rows = rand() % 5 == 0 ? -1 : 1 + rand() % 1000;
            mk(&f[i], 1 + rand() % (int)(80 * MIB), rows,
               rows > 0 && rand() % 2 ? rand() % (rows + 1) : 0, parts[rand() % 4]);
        }
        dc_optimize_opts o = opts(64 * MIB);
        o.max_files = (uint64_t)(rand() % 3 ? 0 : 1 + rand() % 20);
        dc_optimize_plan p;
        plan(&p, f, n, &o);
        uint8_t *used = dc_calloc(n + 1, 1);
        uint64_t files = 0;
        for (size_t b = 0; b < p.n_bins; b++) {
            const dc_optimize_bin *bin = &p.bins[b];
            CHECK(bin->n >= 1);
            CHECK(bin->n > 1 || bin->deleted > 0);
            const char *p0 = bin->n ? (f[bin->files[0]].a.partition_values.n
                                           ? f[bin->files[0]].part[0].value : "-") : NULL;
            for (size_t k = 0; k < bin->n; k++) {
                const pfile *x = &f[bin->files[k]];
                const char *pk = x->a.partition_values.n ? x->part[0].value : "-";
                CHECK((p0 == NULL && pk == NULL) || (p0 && pk && strcmp(p0, pk) == 0));
                CHECK(!used[bin->files[k]]);
                used[bin->files[k]] = 1;
                int64_t nr = -1;
                dc_err e;
                if (x->a.stats) dc_delta_stats_num_records(&nr, x->a.stats, &e);
                const bool small = x->a.size < o.target_file_size / 4;
                const bool ratio = nr > 0 && x->a.has_dv &&
                                   (double)x->a.dv.cardinality / (double)nr >= 0.2;
                CHECK(small || ratio);
            }
            files += bin->n;
        }
        CHECK_EQ_INT(files, p.n_files);
        if (o.max_files) CHECK(p.n_files <= o.max_files);
        dc_free(used);
        dc_optimize_plan_dispose(&p);
        dc_free(f);
    }
}
