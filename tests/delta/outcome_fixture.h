/* Shared by the lost-reply tests of every writer (the *_lost_reply.c files,
 * tests/delta/test_commit_outcome.c): a table's latest version with every
 * file it references checked to be present, read without faults. */
#ifndef DC_TEST_OUTCOME_FIXTURE_H
#define DC_TEST_OUTCOME_FIXTURE_H

#include "../test.h"

#include <stdlib.h>

#include "../../src/delta/delta.h"
#include "../../src/storage/storage.h"

/* The latest version of the table at dir (-1 when it can not be loaded);
 * a failed check for each data or DV file it names that is missing. */
static inline int64_t outcome_check_files(const char *dir)
{
    dc_err err;
    dc_storage *s = NULL;
    dc_delta_snapshot *snap = NULL;
    int64_t v = -1;
    dc_buf p;
    dc_buf_init(&p, 1 << 16);
    CHECK_OK(dc_storage_local_open(&s, dir, &err), &err);
    if (s && dc_delta_snapshot_load(&snap, s, -1, &err) == 0) {
        v = dc_delta_snapshot_version(snap);
        for (size_t i = 0; i < dc_delta_snapshot_n_files(snap); i++) {
            const dc_delta_add *a = dc_delta_snapshot_file(snap, i);
            uint64_t size = 0;
            dc_buf_reset(&p);
            CHECK_OK(dc_delta_path_to_storage(&p, a->path, &err), &err);
            CHECK_OK(dc_buf_putc(&p, 0, &err), &err);
            if (dc_storage_size(s, (const char *)p.data, &size, &err) < 0)
                dc_test_fail(__FILE__, __LINE__, "version %lld names a missing file: %s",
                             (long long)v, err.msg);
            if (!a->has_dv || a->dv.storage_type == 'i') continue;
            dc_buf_reset(&p);
            CHECK_OK(dc_delta_dv_file_path(&p, &a->dv, &err), &err);
            CHECK_OK(dc_buf_putc(&p, 0, &err), &err);
            if (dc_storage_size(s, (const char *)p.data, &size, &err) < 0)
                dc_test_fail(__FILE__, __LINE__, "version %lld names a missing DV file: %s",
                             (long long)v, err.msg);
        }
    } else {
        dc_test_fail(__FILE__, __LINE__, "loading %s: %s", dir, err.msg);
    }
    dc_delta_snapshot_free(snap);
    dc_storage_free(s);
    dc_buf_dispose(&p);
    return v;
}

/* Sets DC_STORAGE_FAULTS for the roots opened until outcome_faults_off. */
static inline void outcome_faults_on(const char *rules)
{
    char spec[512];
    snprintf(spec, sizeof spec, "test-only,%s", rules);
    setenv(DC_STORAGE_FAULTS_ENV, spec, 1);
}

static inline void outcome_faults_off(void) { unsetenv(DC_STORAGE_FAULTS_ENV); }

#endif
