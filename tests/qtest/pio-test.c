/* SPDX-License-Identifier: MIT */
/*
 * The exit ports and kvmini's exit status under qtest: isa-debug-exit at
 * 0xf4 (value v -> status (v << 1) | 1), the i8042 reset command (status
 * 0), and a clean exit when the test closes the qtest socket.
 */
#include <string.h>

#include "libqtest.h"

/* Send a command that ends kvmini; do not insist on a reply, since the
 * process may be gone before it is read. */
static int exit_by(const char *extra_args, const char *cmd)
{
    QTestState *s = qtest_init(extra_args);
    int status;

    qtest_send_raw(s, cmd, strlen(cmd));
    qtest_send_raw(s, "\n", 1);
    status = qtest_wait_exit(s);
    g_assert_cmpint(qtest_quit_status(s), ==, status);
    return status;
}

static void test_debug_exit(void)
{
    g_assert_cmpint(exit_by(NULL, "outb 0xf4 5"), ==, 11);
    g_assert_cmpint(exit_by(NULL, "outb 0xf4 0"), ==, 1);
    g_assert_cmpint(exit_by(NULL, "outl 0xf4 0x3f"), ==, 127);
}

static void test_i8042_reset(void)
{
    g_assert_cmpint(exit_by(NULL, "outb 0x64 0xfe"), ==, 0);
}

/* Other i8042 commands do nothing. */
static void test_i8042_other(void)
{
    QTestState *s = qtest_init(NULL);

    qtest_outb(s, 0x64, 0xd1);
    g_assert_cmphex(qtest_inb(s, 0x64), ==, 0);
    qtest_quit(s);
}

static void test_socket_close(void)
{
    QTestState *s = qtest_init(NULL);

    g_assert_cmpint(qtest_readb(s, 0), ==, 0);
    g_assert_cmpint(qtest_quit_status(s), ==, 0);
}

/* The debug-exit reply still arrives before kvmini goes away. */
static void test_debug_exit_reply(void)
{
    QTestState *s = qtest_init(NULL);
    g_autofree char *rsp = qtest_rsp_raw(s, "outb 0xf4 0x2");

    g_assert_cmpstr(rsp, ==, "OK");
    g_assert_cmpint(qtest_wait_exit(s), ==, 5);
    g_assert_cmpint(qtest_quit_status(s), ==, 5);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qtest/pio/debug-exit", test_debug_exit);
    g_test_add_func("/qtest/pio/debug-exit-reply", test_debug_exit_reply);
    g_test_add_func("/qtest/pio/i8042-reset", test_i8042_reset);
    g_test_add_func("/qtest/pio/i8042-other", test_i8042_other);
    g_test_add_func("/qtest/pio/socket-close", test_socket_close);
    return g_test_run();
}
