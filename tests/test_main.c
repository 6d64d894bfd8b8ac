/* Runs every registered unit test (optionally only those whose name contains
 * argv[1]) and prints "N passed, N failed". */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>

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

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (int i = 0; i < n_tests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]) && !strstr(tests[i].file, argv[1]))
            continue;
        current_failures = 0;
        dc_alloc_fail_after(0);
        tests[i].fn();
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
