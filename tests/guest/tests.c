/* SPDX-License-Identifier: MIT */
/*
 * The table of tests selectable with test=NAME.  Adding a test: write
 * int test_foo(void) in test-foo.c (return 0 to pass, or
 * test_fail(code, ...) with a code >= 3), declare it below, add a table
 * row and list the file in meson.build.
 */
#include "guest.h"

int test_hello(void);
int test_irq(void);
int test_fault(void);
int test_unassigned(void);
int test_blk(void);
int test_blk_bench(void);
int test_blk_loop(void);
int test_net(void), test_net_bench(void);
int test_ping(void);
int test_dirty(void);
int test_reset(void);

static const struct guest_test tests[] = {
    { "hello", test_hello },
    { "irq", test_irq },
    { "fault", test_fault },
    { "unassigned", test_unassigned },
    { "blk", test_blk },
    { "blk-bench", test_blk_bench },
    { "blk-loop", test_blk_loop },
    { "net", test_net }, { "net-bench", test_net_bench },
    { "ping", test_ping },
    { "dirty", test_dirty },
    { "reset", test_reset },
};

static const char *current = "?";

const struct guest_test *test_find(const char *name)
{
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(tests); i++) {
        if (!strcmp(tests[i].name, name)) {
            return &tests[i];
        }
    }
    return NULL;
}

const char *test_current(void)
{
    return current;
}

void test_set_current(const char *name)
{
    current = name;
}

int test_fail(int code, const char *fmt, ...)
{
    va_list ap;

    printf("test %s: FAIL ", current);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    return code;
}
