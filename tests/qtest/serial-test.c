/* SPDX-License-Identifier: MIT */
/*
 * The 16550 UART at port 0x3f8 (IRQ 4) driven through qtest: scratch
 * register, line status, divisor latch, output to a -serial file, the
 * THRE interrupt seen as "IRQ raise 4" / "IRQ lower 4", and loopback.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "libqtest.h"

#define COM1      0x3f8
#define UART_THR  (COM1 + 0)
#define UART_RBR  (COM1 + 0)
#define UART_DLL  (COM1 + 0)
#define UART_IER  (COM1 + 1)
#define UART_DLM  (COM1 + 1)
#define UART_IIR  (COM1 + 2)
#define UART_LCR  (COM1 + 3)
#define UART_MCR  (COM1 + 4)
#define UART_LSR  (COM1 + 5)
#define UART_SCR  (COM1 + 7)
#define COM1_IRQ  4

#define LSR_DR    0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10
#define IER_RDI   0x01
#define IER_THRI  0x02
#define IIR_NONE  0x01
#define IIR_THRI  0x02
#define IIR_RDI   0x04

static void test_scratch(void)
{
    QTestState *s = qtest_init(NULL);

    for (unsigned v = 0; v < 256; v += 0x33) {
        qtest_outb(s, UART_SCR, v);
        g_assert_cmphex(qtest_inb(s, UART_SCR), ==, v);
    }
    qtest_quit(s);
}

static void test_idle_status(void)
{
    QTestState *s = qtest_init(NULL);

    g_assert_cmphex(qtest_inb(s, UART_LSR), ==, LSR_THRE | LSR_TEMT);
    g_assert_cmphex(qtest_inb(s, UART_IIR), ==, IIR_NONE);
    g_assert_cmphex(qtest_inb(s, UART_IER), ==, 0);
    qtest_quit(s);
}

static void test_divisor_latch(void)
{
    QTestState *s = qtest_init(NULL);

    qtest_outb(s, UART_LCR, 0x83);          /* DLAB, 8N1 */
    qtest_outb(s, UART_DLL, 0x0c);
    qtest_outb(s, UART_DLM, 0x01);
    g_assert_cmphex(qtest_inb(s, UART_DLL), ==, 0x0c);
    g_assert_cmphex(qtest_inb(s, UART_DLM), ==, 0x01);
    qtest_outb(s, UART_LCR, 0x03);
    g_assert_cmphex(qtest_inb(s, UART_LCR), ==, 0x03);
    /* Without DLAB the same ports are RBR/IER again. */
    g_assert_cmphex(qtest_inb(s, UART_IER), ==, 0);
    qtest_outb(s, UART_LCR, 0x83);
    g_assert_cmphex(qtest_inb(s, UART_DLL), ==, 0x0c);
    g_assert_cmphex(qtest_inb(s, UART_DLM), ==, 0x01);
    qtest_quit(s);
}

static void test_output_file(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("kvmini-serial-XXXXXX", &err);
    g_autofree char *path = g_build_filename(dir, "out.txt", NULL);
    g_autofree char *text = NULL;
    static const char msg[] = "Hello, kvmini!\n";
    QTestState *s;

    g_assert_no_error(err);
    s = qtest_initf("-serial file:%s", path);
    qtest_outb(s, UART_LCR, 0x03);
    for (size_t i = 0; i < strlen(msg); i++) {
        qtest_outb(s, UART_THR, msg[i]);
        g_assert_cmphex(qtest_inb(s, UART_LSR) & 0x60, ==, 0x60);
    }
    qtest_quit(s);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, msg);
    g_unlink(path);
    g_rmdir(dir);
}

static void test_thre_interrupt(void)
{
    QTestState *s = qtest_init(NULL);

    qtest_irq_intercept_in(s, "ioapic");
    g_assert_false(qtest_get_irq(s, COM1_IRQ));
    qtest_outb(s, UART_MCR, MCR_OUT2);
    qtest_outb(s, UART_IER, IER_THRI);
    g_assert_true(qtest_get_irq(s, COM1_IRQ));
    g_assert_cmphex(qtest_inb(s, UART_IIR), ==, IIR_THRI);
    /* Reading IIR acknowledged THRE. */
    g_assert_false(qtest_get_irq(s, COM1_IRQ));
    g_assert_cmphex(qtest_inb(s, UART_IIR), ==, IIR_NONE);
    /* Sending a byte empties the holding register again. */
    qtest_outb(s, UART_THR, 'x');
    g_assert_true(qtest_get_irq(s, COM1_IRQ));
    qtest_outb(s, UART_IER, 0);
    g_assert_false(qtest_get_irq(s, COM1_IRQ));
    qtest_quit(s);
}

/* The raw protocol lines, in order: IRQ lines come before the reply of
 * the command that caused them. */
static void expect_lines(QTestState *s, const char *cmd, const char *l1,
                         const char *l2)
{
    g_autofree char *r1 = NULL, *r2 = NULL;

    qtest_send_raw(s, cmd, strlen(cmd));
    qtest_send_raw(s, "\n", 1);
    r1 = qtest_recv_any_line(s);
    g_assert_cmpstr(r1, ==, l1);
    if (l2) {
        r2 = qtest_recv_any_line(s);
        g_assert_cmpstr(r2, ==, l2);
    }
}

static void test_irq_lines(void)
{
    QTestState *s = qtest_init(NULL);

    expect_lines(s, "irq_intercept_in ioapic", "OK", NULL);
    expect_lines(s, "outb 0x3fc 0x8", "OK", NULL);
    expect_lines(s, "outb 0x3f9 0x2", "IRQ raise 4", "OK");
    expect_lines(s, "inb 0x3fa", "IRQ lower 4", "OK 0x0002");
    expect_lines(s, "inb 0x3fa", "OK 0x0001", NULL);
    expect_lines(s, "outb 0x3f8 0x41", "IRQ raise 4", "OK");
    expect_lines(s, "outb 0x3f9 0x0", "IRQ lower 4", "OK");
    qtest_quit(s);
}

static void test_loopback(void)
{
    QTestState *s = qtest_init(NULL);

    qtest_irq_intercept_in(s, "ioapic");
    qtest_outb(s, UART_MCR, MCR_LOOP | MCR_OUT2);
    qtest_outb(s, UART_IER, IER_RDI);
    qtest_outb(s, UART_THR, 0xa5);
    g_assert_cmphex(qtest_inb(s, UART_LSR) & LSR_DR, ==, LSR_DR);
    g_assert_true(qtest_get_irq(s, COM1_IRQ));
    g_assert_cmphex(qtest_inb(s, UART_IIR), ==, IIR_RDI);
    g_assert_cmphex(qtest_inb(s, UART_RBR), ==, 0xa5);
    g_assert_cmphex(qtest_inb(s, UART_LSR) & LSR_DR, ==, 0);
    g_assert_false(qtest_get_irq(s, COM1_IRQ));
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qtest/serial/scratch", test_scratch);
    g_test_add_func("/qtest/serial/idle-status", test_idle_status);
    g_test_add_func("/qtest/serial/divisor-latch", test_divisor_latch);
    g_test_add_func("/qtest/serial/output-file", test_output_file);
    g_test_add_func("/qtest/serial/thre-interrupt", test_thre_interrupt);
    g_test_add_func("/qtest/serial/irq-lines", test_irq_lines);
    g_test_add_func("/qtest/serial/loopback", test_loopback);
    return g_test_run();
}
