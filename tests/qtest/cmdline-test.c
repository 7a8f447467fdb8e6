/* SPDX-License-Identifier: MIT */
/*
 * Command-line errors: each bad invocation of kvmini prints exactly one
 * line "kvmini: ..." naming the option at fault on stderr, nothing on
 * stdout, and exits with status 1.  Runs kvmini directly (no qtest
 * connection) with -accel qtest so that no /dev/kvm is needed; the qtest
 * socket is never reached because the error comes first.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "libqtest.h"

#define QTEST_NOWHERE "-accel qtest -qtest unix:/nonexistent/kvmini.sock"

/* Run kvmini with args and check the single error line mentions needle. */
static void check_error(const char *args, const char *needle)
{
    g_autofree char *out = NULL, *err = NULL;
    int status;

    qtest_run_kvmini(args, &out, &err, &status);
    g_test_message("kvmini %s -> %d: %s", args, status, err);
    g_assert_cmpint(status, ==, 1);
    g_assert_cmpstr(out, ==, "");
    g_assert_true(g_str_has_prefix(err, "kvmini: "));
    g_assert_true(g_str_has_suffix(err, "\n"));
    g_assert_true(strchr(err, '\n') == err + strlen(err) - 1);  /* one line */
    if (!strstr(err, needle)) {
        g_error("'%s' does not mention '%s'", err, needle);
    }
}

static void test_unknown_option(void)
{
    check_error("-bogus-option", "-bogus-option");
    check_error("--frobnicate 1", "--frobnicate");
    check_error("notanoption", "notanoption");
}

static void test_missing_argument(void)
{
    check_error("-m", "-m");
    check_error(QTEST_NOWHERE " -kernel", "-kernel");
}

static void test_bad_memory(void)
{
    check_error("-m banana", "-m");
    check_error("-m banana", "banana");
    check_error("-m 0", "-m");
    check_error("-m 1001K", "-m");   /* not a multiple of 4 KiB */
}

static void test_missing_kernel(void)
{
    check_error(QTEST_NOWHERE " -kernel /nonexistent/vmlinux", "-kernel");
    check_error(QTEST_NOWHERE " -kernel /nonexistent/vmlinux",
                "/nonexistent/vmlinux");
}

static void test_non_elf_kernel(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    g_autofree char *args = NULL;
    int fd = g_file_open_tmp("kvmini-notelf-XXXXXX", &path, &error);

    g_assert_no_error(error);
    g_assert_cmpint(write(fd, "just some text\n", 15), ==, 15);
    close(fd);
    args = g_strdup_printf(QTEST_NOWHERE " -kernel %s", path);
    check_error(args, "-kernel");
    g_unlink(path);
}

static void test_bad_accel(void)
{
    check_error("-accel nope", "-accel");
    check_error("-accel nope", "nope");
    check_error("-machine accel=nope", "-machine");
}

static void test_bad_device(void)
{
    check_error(QTEST_NOWHERE " -device nosuchdev", "-device");
    check_error(QTEST_NOWHERE " -device nosuchdev", "nosuchdev");
}

static void test_qtest_options(void)
{
    check_error("-accel qtest", "-qtest");
    check_error(QTEST_NOWHERE, "/nonexistent/kvmini.sock");
    check_error(QTEST_NOWHERE " -qtest-log /nonexistent/dir/log",
                "/nonexistent/dir/log");
}

static void test_bad_sandbox(void)
{
    check_error("-sandbox foo", "-sandbox foo: Parameter 'enable' expects "
                "'on' or 'off'");
    check_error("-sandbox on,obsolete=maybe", "obsolete (allow or deny)");
    check_error("-sandbox on,elevateprivileges=no",
                "elevateprivileges (allow or deny or children)");
    check_error("-sandbox on,spawn=yes", "spawn (allow or deny)");
    check_error("-sandbox on,resourcecontrol=", "resourcecontrol");
    check_error("-sandbox on,nosuchkey=deny", "nosuchkey");
}

static void test_bad_run_with(void)
{
    check_error("-run-with user=kvmini-no-such-user",
                "-run-with user=kvmini-no-such-user: user "
                "\"kvmini-no-such-user\" does not exist");
    check_error("-runas kvmini-no-such-user", "-runas");
    check_error("-run-with user=", "user=NAME is required");
    check_error("-run-with chroot=/", "chroot");     /* not implemented */
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qtest/cmdline/unknown-option", test_unknown_option);
    g_test_add_func("/qtest/cmdline/missing-argument", test_missing_argument);
    g_test_add_func("/qtest/cmdline/bad-memory", test_bad_memory);
    g_test_add_func("/qtest/cmdline/missing-kernel", test_missing_kernel);
    g_test_add_func("/qtest/cmdline/non-elf-kernel", test_non_elf_kernel);
    g_test_add_func("/qtest/cmdline/bad-accel", test_bad_accel);
    g_test_add_func("/qtest/cmdline/bad-device", test_bad_device);
    g_test_add_func("/qtest/cmdline/qtest-options", test_qtest_options);
    g_test_add_func("/qtest/cmdline/bad-sandbox", test_bad_sandbox);
    g_test_add_func("/qtest/cmdline/bad-run-with", test_bad_run_with);
    return g_test_run();
}
