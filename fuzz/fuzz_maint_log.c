/* Fuzzes what maintenance reads from outside: durations (table properties,
 * --retain) and _delta_log listings. The input is lines; the first is parsed
 * as a duration (and, when it parses, formatted and parsed back to the same
 * value); every other line is "<mtime> <name>", a file of a listing that is
 * classified, sorted by name and planned for cleanup with a cutoff and a
 * cap taken from the duration. The plan must keep every version from the
 * checkpoint it keeps on: nothing at or after keep_from is marked (but
 * compacted files starting there), a complete checkpoint sits at keep_from,
 * and keep_from is at most the cutoff commit and the cap. */
#include "../src/maint/maint.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_FILES 512

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_maint_log: %s\n", what);
        abort();
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const dc_maint_log_file *)a)->name, ((const dc_maint_log_file *)b)->name);
}

static void fuzz_duration(const char *s, int64_t *ms)
{
    dc_err err;
    dc_err_clear(&err);
    *ms = 0;
    if (dc_maint_parse_duration(ms, s, &err) < 0) {
        check(strstr(err.msg, "duration") != NULL, "an error that does not say duration");
        *ms = 0;
        return;
    }
    check(*ms >= 0, "negative duration");
    char buf[48];
    int64_t back = -1;
    check(dc_maint_parse_duration(&back, dc_maint_format_duration(buf, sizeof buf, *ms), &err) == 0
          && back == *ms, "format/parse round trip");
}

static void check_plan(const dc_maint_log_file *f, size_t n, const dc_maint_log_plan *p,
                       int64_t cap)
{
    size_t marked = 0;
    bool cp_kept = p->keep_from < 0;
    check(p->keep_from <= p->cutoff_commit, "keep_from after the cutoff commit");
    check(cap < 0 || p->keep_from <= cap, "keep_from after the cap");
    for (size_t i = 0; i < n; i++) {
        marked += f[i].remove;
        if (f[i].remove) {
            check(f[i].kind != DC_MAINT_LOG_OTHER, "an unknown file marked");
            check(f[i].version < p->keep_from ||
                  (f[i].kind == DC_MAINT_LOG_COMPACTED && f[i].version <= p->keep_from),
                  "a file a retained version needs marked");
        }
        if (!f[i].remove && f[i].version == p->keep_from &&
            (f[i].kind == DC_MAINT_LOG_CHECKPOINT || f[i].kind == DC_MAINT_LOG_CHECKPOINT_PART))
            cp_kept = true;
    }
    check(cp_kept, "no checkpoint left at keep_from");
    check(marked == p->n_remove, "n_remove does not count the marks");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    dc_maint_log_file *files = calloc(MAX_FILES, sizeof *files);
    if (!text || !files) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    int64_t ms = 0;
    fuzz_duration(line ? line : "", &ms);
    size_t n = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL && n < MAX_FILES) {
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        *sp = '\0';
        files[n].mtime_ms = strtoll(line, NULL, 10);
        files[n].size = 1;
        dc_maint_log_classify(&files[n], sp + 1);
        files[n].name = sp + 1;
        n++;
    }
    qsort(files, n, sizeof *files, by_name);
    /* Names must be unique in a listing; sorted, duplicates are adjacent. */
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(files[u - 1].name, files[i].name) != 0) files[u++] = files[i];
    dc_maint_log_plan p;
    const int64_t cap = (ms % 7 == 3) ? (ms / 1000) % 64 : -1;
    dc_maint_log_plan_files(&p, files, u, ms, cap);
    check_plan(files, u, &p, cap);
    free(files);
    free(text);
    return 0;
}
