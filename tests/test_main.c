/* Runs every registered unit test (optionally only those whose name contains
 * argv[1]) and prints "N passed, N failed". */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_TESTS 4096

static struct {
    const char *name;
    const char *file;
    dc_test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static int current_failures;

void dc_test_register(const char *name, const char *file, dc_test_fn fn)
{
    if (n_tests == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        abort();
    }
    tests[n_tests].name = name;
    tests[n_tests].file = file;
    tests[n_tests].fn = fn;
    n_tests++;
}

void dc_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failures++;
}

const char *dc_test_shared_dir(void)
{
    static char dir[1024];
    static int found = -1;
    if (found >= 0) return found ? dir : NULL;
    const char *cands[] = {getenv("DC_SHARED"), "../shared", "../../shared"};
    found = 0;
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        struct stat st;
        if (!cands[i]) continue;
        snprintf(dir, sizeof dir, "%s/corpus", cands[i]);
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(dir, sizeof dir, "%s", cands[i]);
            found = 1;
            return dir;
        }
    }
    return NULL;
}

const char *dc_test_corpus(const char *rel)
{
    static char path[2048];
    const char *d = dc_test_shared_dir();
    if (!d) {
        dc_test_fail(__FILE__, __LINE__, "shared corpus not found (set DC_SHARED)");
        return NULL;
    }
    snprintf(path, sizeof path, "%s/corpus/%s", d, rel);
    return path;
}

char *dc_test_tmpdir(const char *prefix)
{
    char tmpl[256];
    snprintf(tmpl, sizeof tmpl, "/tmp/%s_XXXXXX", prefix);
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void dc_test_rm_rf(const char *dir)
{
    char cmd[1024];
    if (!dir || strchr(dir, '\'')) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* DC_TEST_SLOW_MS=N prints every test that took longer than N ms (to find
 * what makes a stage slow). DC_TEST_SHARD=K/N runs the tests whose index
 * is K modulo N only: scripts/test.sh runs N such processes at once, as most
 * of the time goes to waiting (Kafka's mock cluster, retry pauses). */
int main(int argc, char **argv)
{
    int passed = 0, failed = 0, shard = 0, shards = 1;
    const char *slow = getenv("DC_TEST_SLOW_MS");
    const double slow_s = slow ? atof(slow) / 1000.0 : -1.0;
    const char *sh = getenv("DC_TEST_SHARD");
    if (sh && (sscanf(sh, "%d/%d", &shard, &shards) != 2 || shards < 1 || shard < 0 ||
               shard >= shards)) {
        fprintf(stderr, "DC_TEST_SHARD=%s: expected K/N with 0 <= K < N\n", sh);
        return 2;
    }
    for (int i = 0; i < n_tests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]) && !strstr(tests[i].file, argv[1]))
            continue;
        if (i % shards != shard) continue;
        current_failures = 0;
        dc_alloc_fail_after(0);
        const double t0 = now_s();
        tests[i].fn();
        const double took = now_s() - t0;
        if (slow_s >= 0 && took > slow_s)
            fprintf(stderr, "slow: %s (%s): %.2f s\n", tests[i].name, tests[i].file, took);
        dc_alloc_fail_after(0);
        if (current_failures) {
            fprintf(stderr, "FAIL %s (%s)\n", tests[i].name, tests[i].file);
            failed++;
        } else {
            passed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
