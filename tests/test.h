/* Minimal unit-test harness: TEST(name) registers a function; CHECK macros
 * record failures and keep going; test_main.c runs all and prints
 * "N passed, N failed". */
#ifndef DC_TEST_H
#define DC_TEST_H

#include <stdio.h>
#include <string.h>

#include "../src/common/dc_common.h"

typedef void (*dc_test_fn)(void);
void dc_test_register(const char *name, const char *file, dc_test_fn fn);
void dc_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The steering repo's shared/ folder (corpora): $DC_SHARED, ../shared or
 * ../../shared from the working directory; NULL when none exists. */
const char *dc_test_shared_dir(void);
/* "<shared>/corpus/<rel>" in a static buffer, or NULL (and a test failure
 * naming DC_SHARED) when the shared folder is missing. */
const char *dc_test_corpus(const char *rel);

/* A fresh directory /tmp/<prefix>_XXXXXX (strdup'd; free it), or NULL. */
char *dc_test_tmpdir(const char *prefix);
/* Removes a directory tree made by dc_test_tmpdir (complains, never fails). */
void dc_test_rm_rf(const char *dir);

#define TEST(name)                                                       \
    static void test_##name(void);                                       \
    __attribute__((constructor)) static void register_##name(void)       \
    { dc_test_register(#name, __FILE__, test_##name); }                  \
    static void test_##name(void)

#define CHECK(c)                                                               \
    do { if (!(c)) dc_test_fail(__FILE__, __LINE__, "CHECK(%s)", #c); } while (0)
#define CHECK_EQ_INT(a, b)                                                     \
    do { long long a_ = (long long)(a), b_ = (long long)(b);                    \
         if (a_ != b_) dc_test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", \
                                    #a, a_, #b, b_); } while (0)
#define CHECK_EQ_STR(a, b)                                                     \
    do { const char *a_ = (a), *b_ = (b);                                       \
         if (!a_ || !b_ || strcmp(a_, b_) != 0)                                 \
             dc_test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, \
                          a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
/* Checks an int return is 0 and prints err->msg otherwise. */
#define CHECK_OK(expr, errp)                                                   \
    do { int rc_ = (expr);                                                      \
         if (rc_ != 0) dc_test_fail(__FILE__, __LINE__, "%s returned %d: %s", #expr, rc_, \
                                    (errp)->msg); } while (0)

#endif
