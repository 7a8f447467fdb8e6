/* SPDX-License-Identifier: MIT */
/*
 * The qtest protocol as a client sees it: the exact reply format of every
 * command (QEMU's), FAIL replies for unknown commands, bad numbers and
 * wrong argument counts, and a server that survives garbage, NUL bytes and
 * very long lines and still answers afterwards.
 */
#include <string.h>

#include "libqtest.h"

/* Send cmd and compare the whole reply line. */
static void check_rsp(QTestState *s, const char *cmd, const char *expected)
{
    g_autofree char *rsp = qtest_rsp_raw(s, cmd);

    g_assert_cmpstr(rsp, ==, expected);
}

/* Send cmd and expect "FAIL <reason>". */
static void check_fail(QTestState *s, const char *cmd)
{
    g_autofree char *rsp = qtest_rsp_raw(s, cmd);

    if (!g_str_has_prefix(rsp, "FAIL ") || strlen(rsp) <= 5) {
        g_error("'%s' got '%s', expected FAIL <reason>", cmd, rsp);
    }
}

static void test_endianness(void)
{
    QTestState *s = qtest_init(NULL);

    check_rsp(s, "endianness", "OK little");
    qtest_quit(s);
}

static void test_fixed_width_memory(void)
{
    QTestState *s = qtest_init(NULL);

    check_rsp(s, "writeq 0x1000 0x1122334455667788", "OK");
    check_rsp(s, "readb 0x1000", "OK 0x0000000000000088");
    check_rsp(s, "readw 0x1000", "OK 0x0000000000007788");
    check_rsp(s, "readl 0x1000", "OK 0x0000000055667788");
    check_rsp(s, "readq 0x1000", "OK 0x1122334455667788");
    check_rsp(s, "writeb 0x1003 0xaa", "OK");
    check_rsp(s, "writew 0x1004 4660", "OK");        /* decimal 0x1234 */
    check_rsp(s, "writel 0x1008 0x0", "OK");
    check_rsp(s, "readq 0x1000", "OK 0x11221234aa667788");
    check_rsp(s, "readq 0x1008", "OK 0x0000000000000000");
    qtest_quit(s);
}

static void test_port_io(void)
{
    QTestState *s = qtest_init(NULL);

    /* Port 0x80 is unassigned: reads are all ones, writes are dropped. */
    check_rsp(s, "outb 0x80 0x12", "OK");
    check_rsp(s, "outw 0x80 0x1234", "OK");
    check_rsp(s, "outl 0x80 0x12345678", "OK");
    check_rsp(s, "inb 0x80", "OK 0x00ff");
    check_rsp(s, "inw 0x80", "OK 0xffff");
    check_rsp(s, "inl 0x80", "OK 0xffffffff");
    /* The serial scratch register keeps a byte. */
    check_rsp(s, "outb 0x3ff 0x5", "OK");
    check_rsp(s, "inb 0x3ff", "OK 0x0005");
    qtest_quit(s);
}

static void test_bulk(void)
{
    QTestState *s = qtest_init(NULL);

    check_rsp(s, "write 0x2000 4 0xdeadbeef", "OK");
    check_rsp(s, "read 0x2000 4", "OK 0xdeadbeef");
    check_rsp(s, "readl 0x2000", "OK 0x00000000efbeadde");
    check_rsp(s, "write 0x2000 4 0x12", "OK");      /* zero-padded */
    check_rsp(s, "read 0x2000 4", "OK 0x12000000");
    check_rsp(s, "write 0x2000 2 0x", "OK");
    check_rsp(s, "read 0x2000 3", "OK 0x000000");
    check_rsp(s, "read 0x2000 0", "OK 0x");
    check_rsp(s, "b64write 0x3000 3 AQID", "OK");
    check_rsp(s, "b64read 0x3000 3", "OK AQID");
    check_rsp(s, "read 0x3000 3", "OK 0x010203");
    check_rsp(s, "b64write 0x3000 4 /w==", "OK");   /* short: padded */
    check_rsp(s, "b64read 0x3000 4", "OK /wAAAA==");
    check_rsp(s, "memset 0x4000 4 0xab", "OK");
    check_rsp(s, "read 0x4000 5", "OK 0xabababab00");
    check_rsp(s, "memset 0x4000 0 0x1", "OK");
    qtest_quit(s);
}

static void test_irq_intercept(void)
{
    QTestState *s = qtest_init(NULL);

    check_rsp(s, "irq_intercept_in ioapic", "OK");
    check_rsp(s, "irq_intercept_in ioapic",
              "FAIL Interception already enabled");
    check_rsp(s, "irq_intercept_out /machine/ioapic",
              "FAIL Interception already enabled");
    qtest_quit(s);

    s = qtest_init(NULL);
    check_rsp(s, "irq_intercept_out /machine/ioapic", "OK");
    qtest_quit(s);
}

static void test_clock(void)
{
    QTestState *s = qtest_init(NULL);

    check_rsp(s, "clock_step", "OK 0");
    check_rsp(s, "clock_step 100", "OK 100");
    check_rsp(s, "clock_step", "OK 100");
    check_rsp(s, "clock_set 1000", "OK 1000");
    check_rsp(s, "clock_step 0x10", "OK 1016");
    check_rsp(s, "clock_set 5", "OK 1016");          /* never goes back */
    g_assert_cmpint(qtest_clock_step(s, 4), ==, 1020);
    g_assert_cmpint(qtest_clock_set(s, 2000), ==, 2000);
    g_assert_cmpint(qtest_clock_step_next(s), ==, 2000);
    qtest_quit(s);
}

static void test_unknown_command(void)
{
    QTestState *s = qtest_init(NULL);

    check_rsp(s, "nosuchcmd", "FAIL Unknown command 'nosuchcmd'");
    check_rsp(s, "nosuchcmd 1 2 3 4 5", "FAIL Unknown command 'nosuchcmd'");
    check_rsp(s, "READB 0", "FAIL Unknown command 'READB'");
    check_fail(s, "");
    check_fail(s, "   ");
    qtest_quit(s);
}

static const char *const bad_commands[] = {
    /* missing or extra arguments */
    "readb", "readq 0 0", "writeb 0", "writel", "inb", "outb 0x80",
    "read 0", "write 0 4", "b64read 0", "b64write 0 3", "memset 0 1",
    "irq_intercept_in", "clock_set", "clock_step 1 2", "endianness x",
    /* bad numbers */
    "readb banana", "readb 0x", "readb -1", "readb +1", "readb 0x1g",
    "readb 99999999999999999999999", "readb 0x10000000000000000",
    "readb 1e3", "readw 0b101", "clock_step -5", "clock_set 0x8000000000000000",
    "clock_step 99999999999999999999",
    /* values and ranges out of bounds */
    "writeb 0 0x100", "writew 0 0x10000", "writel 0 0x100000000",
    "readq 0xfffffffffffffff9", "inb 0x10000", "inl 0xfffd",
    "outw 0xffff 0", "outb 0x80 256",
    "read 0 0x10000000000", "read 0xffffffffffffffff 2",
    "memset 0 1 0x100", "memset 0 0xffffffffffffffff 0",
    /* bad data */
    "write 0 2 1234", "write 0 2 0x12345", "write 0 1 0x1234",
    "write 0 2 0xzz", "b64write 0 3 !!!!", "b64write 0 3 AQI",
    "b64write 0 1 AQID", "b64write 0 3 A=QD",
};

static void test_bad_arguments(void)
{
    QTestState *s = qtest_init(NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(bad_commands); i++) {
        check_fail(s, bad_commands[i]);
    }
    check_rsp(s, "endianness", "OK little");
    qtest_quit(s);
}

static void test_line_splitting(void)
{
    QTestState *s = qtest_init(NULL);
    static const char two[] = "writeb 0x10 0x7\nreadb 0x10\n";
    g_autofree char *r1 = NULL, *r2 = NULL;

    qtest_send_raw(s, two, strlen(two));
    r1 = qtest_recv_line(s);
    r2 = qtest_recv_line(s);
    g_assert_cmpstr(r1, ==, "OK");
    g_assert_cmpstr(r2, ==, "OK 0x0000000000000007");
    /* A command split over several writes. */
    qtest_send_raw(s, "rea", 3);
    g_usleep(20000);
    qtest_send_raw(s, "db 0x1", 6);
    g_usleep(20000);
    qtest_send_raw(s, "0\n", 2);
    g_free(r1);
    r1 = qtest_recv_line(s);
    g_assert_cmpstr(r1, ==, "OK 0x0000000000000007");
    check_rsp(s, "endianness\r", "OK little");
    check_rsp(s, "  readb\t0x10  ", "OK 0x0000000000000007");
    qtest_quit(s);
}

/* Random bytes: one reply per line, and the server keeps working. */
static void test_garbage(void)
{
    QTestState *s = qtest_init(NULL);
    g_autoptr(GRand) rand = g_rand_new_with_seed(42);
    uint8_t buf[4096];
    unsigned lines = 0;

    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = g_rand_int_range(rand, 0, 256);
        lines += buf[i] == '\n';
    }
    buf[sizeof(buf) - 1] = '\n';
    lines += 1;
    qtest_send_raw(s, buf, sizeof(buf));
    for (unsigned i = 0; i < lines; i++) {
        g_autofree char *rsp = qtest_recv_line(s);

        g_assert_true(g_str_has_prefix(rsp, "FAIL ") ||
                      g_str_has_prefix(rsp, "OK"));
    }
    qtest_send_raw(s, "readb 0\0junk\n", 13);
    g_free(qtest_recv_line(s));
    check_rsp(s, "endianness", "OK little");
    qtest_quit(s);
}

static void test_long_lines(void)
{
    QTestState *s = qtest_init(NULL);
    size_t len = 64 * 1024;
    g_autofree char *line = g_malloc(len + 1);
    g_autofree char *rsp = NULL;

    memset(line, 'A', len);
    line[len] = '\n';
    qtest_send_raw(s, line, len + 1);
    rsp = qtest_recv_line(s);
    g_assert_true(g_str_has_prefix(rsp, "FAIL Unknown command 'AAAA"));
    g_assert_cmpuint(strlen(rsp), <, 1024);
    check_rsp(s, "endianness", "OK little");
    qtest_quit(s);
}

/* Beyond the server's line limit (32 MiB + a bit) the line is dropped. */
static void test_huge_line(void)
{
    QTestState *s = qtest_init(NULL);
    size_t chunk = 1024 * 1024;
    g_autofree char *buf = g_malloc(chunk);
    g_autofree char *rsp = NULL;

    memset(buf, 'x', chunk);
    for (int i = 0; i < 40; i++) {
        qtest_send_raw(s, buf, chunk);
    }
    qtest_send_raw(s, "\n", 1);
    rsp = qtest_recv_line(s);
    g_assert_true(g_str_has_prefix(rsp, "FAIL line too long"));
    check_rsp(s, "endianness", "OK little");
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qtest/protocol/endianness", test_endianness);
    g_test_add_func("/qtest/protocol/fixed-width-memory",
                   test_fixed_width_memory);
    g_test_add_func("/qtest/protocol/port-io", test_port_io);
    g_test_add_func("/qtest/protocol/bulk", test_bulk);
    g_test_add_func("/qtest/protocol/irq-intercept", test_irq_intercept);
    g_test_add_func("/qtest/protocol/clock", test_clock);
    g_test_add_func("/qtest/protocol/unknown-command", test_unknown_command);
    g_test_add_func("/qtest/protocol/bad-arguments", test_bad_arguments);
    g_test_add_func("/qtest/protocol/line-splitting", test_line_splitting);
    g_test_add_func("/qtest/protocol/garbage", test_garbage);
    g_test_add_func("/qtest/protocol/long-lines", test_long_lines);
    g_test_add_func("/qtest/protocol/huge-line", test_huge_line);
    return g_test_run();
}
