/* SPDX-License-Identifier: MIT */
/* Option-string and number parsing as the command line uses them. */
#include "qemu/option.h"

#include <errno.h>

static void test_parse_basic(void)
{
    g_autoptr(GHashTable) o = NULL;
    Error *err = NULL;

    o = qemu_opts_parse("socket,id=c0,path=/tmp/a,,b,server=on", "backend",
                        &err);
    g_assert_null(err);
    g_assert_cmpstr(qemu_opt_get(o, "backend"), ==, "socket");
    g_assert_cmpstr(qemu_opt_get(o, "id"), ==, "c0");
    g_assert_cmpstr(qemu_opt_get(o, "path"), ==, "/tmp/a,b");
    g_assert_cmpstr(qemu_opt_get(o, "server"), ==, "on");
    g_assert_null(qemu_opt_get(o, "wait"));
}

static void test_parse_errors(void)
{
    Error *err = NULL;

    g_assert_null(qemu_opts_parse("a=1,a=2", NULL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'a' given more than once");
    g_clear_pointer(&err, error_free);
    g_assert_null(qemu_opts_parse("x,bare", "driver", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter 'bare'");
    g_clear_pointer(&err, error_free);
    g_assert_null(qemu_opts_parse("noimplied", NULL, &err));
    g_assert_nonnull(err);
    error_free(err);
}

static void test_typed(void)
{
    g_autoptr(GHashTable) o = qemu_opts_parse("b=off,n=0x10,s=64M,bad=x",
                                              NULL, NULL);
    Error *err = NULL;
    bool b = true;
    uint64_t n = 0;

    g_assert_true(qemu_opt_get_bool(o, "b", true, &b, &err));
    g_assert_false(b);
    g_assert_true(qemu_opt_get_bool(o, "missing", true, &b, &err));
    g_assert_true(b);
    g_assert_true(qemu_opt_get_number(o, "n", 0, &n, &err));
    g_assert_cmpuint(n, ==, 16);
    g_assert_true(qemu_opt_get_size(o, "s", 0, &n, &err));
    g_assert_cmpuint(n, ==, 64 << 20);
    g_assert_false(qemu_opt_get_bool(o, "bad", false, &b, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'bad' expects 'on' or 'off'");
    error_free(err);
}

static void test_check_keys(void)
{
    static const char *const allowed[] = { "id", "size", NULL };
    g_autoptr(GHashTable) o = qemu_opts_parse("id=x,sise=1", NULL, NULL);
    Error *err = NULL;

    g_assert_false(qemu_opts_check_keys(o, allowed, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter 'sise'");
    error_free(err);
}

static void test_strtosz(void)
{
    uint64_t v = 0;

    g_assert_cmpint(qemu_strtosz("5G", 'M', &v), ==, 0);
    g_assert_cmpuint(v, ==, 5ULL << 30);
    g_assert_cmpint(qemu_strtosz("256", 'M', &v), ==, 0);
    g_assert_cmpuint(v, ==, 256ULL << 20);
    g_assert_cmpint(qemu_strtosz("4096", 'B', &v), ==, 0);
    g_assert_cmpuint(v, ==, 4096);
    g_assert_cmpint(qemu_strtosz("64MB", 'B', &v), ==, 0);
    g_assert_cmpuint(v, ==, 64ULL << 20);
    g_assert_cmpint(qemu_strtosz("banana", 'M', &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtosz("5X", 'M', &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtosz("-1", 'M', &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtosz("99999999999T", 'M', &v), ==, -ERANGE);
}

static void test_strtou64(void)
{
    uint64_t v;

    g_assert_cmpint(qemu_strtou64("0xfeb00000", &v), ==, 0);
    g_assert_cmpuint(v, ==, 0xfeb00000);
    g_assert_cmpint(qemu_strtou64("12", &v), ==, 0);
    g_assert_cmpuint(v, ==, 12);
    g_assert_cmpint(qemu_strtou64("12a", &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtou64("", &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtou64("-3", &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtou64("0x1ffffffffffffffff", &v), ==, -ERANGE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/option/parse", test_parse_basic);
    g_test_add_func("/option/errors", test_parse_errors);
    g_test_add_func("/option/typed", test_typed);
    g_test_add_func("/option/check-keys", test_check_keys);
    g_test_add_func("/option/strtosz", test_strtosz);
    g_test_add_func("/option/strtou64", test_strtou64);
    return g_test_run();
}
