/* SPDX-License-Identifier: MIT */
/*
 * Unit test of the qtest protocol server (accel/qtest/qtest-server.c)
 * without a socket or a kvmini process: a hand-built machine with 1 MiB
 * of RAM, a fake MMIO device that can drive interrupt lines and a fake
 * I/O port, and replies captured in a string.  Covers the exact reply of
 * every command, input buffering (split lines, CRLF, NUL bytes, over-long
 * lines), IRQ line ordering and the command log.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "hw/boards.h"
#include "sysemu/qtest.h"

#define RAM_SIZE   (1024 * 1024)
#define DEV_BASE   0x10000000
#define PORT_BASE  0x10

typedef struct Fixture {
    MachineState ms;
    MemoryRegion ram;
    MemoryRegion dev;
    MemoryRegion port;
    QTestServer *server;
    GString *out;
    uint64_t dev_reg;
    unsigned lock_checks;
} Fixture;

/* Fake device: offset 0 is a register; a write to offset 8 sets IRQ line
 * (value & 0xff) to (value >> 8) & 1.  Asserts the machine lock is held. */
static uint64_t dev_read(void *opaque, hwaddr addr, unsigned size)
{
    Fixture *f = opaque;
    uint64_t v;

    g_assert_false(g_mutex_trylock(&f->ms.lock));
    f->lock_checks++;
    v = addr == 0 ? f->dev_reg : 0x5a5a5a5a5a5a5a5aULL;
    return size == 8 ? v : v & ((1ULL << (8 * size)) - 1);
}

static void dev_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    Fixture *f = opaque;

    g_assert_false(g_mutex_trylock(&f->ms.lock));
    f->lock_checks++;
    if (addr == 0) {
        f->dev_reg = val;
    } else if (addr == 8) {
        qtest_server_set_irq(f->server, val & 0xff, (val >> 8) & 1);
    }
}

static const MemoryRegionOps dev_ops = {
    .read = dev_read,
    .write = dev_write,
    .impl_min = 1,
    .impl_max = 8,
};

static void capture(void *opaque, const char *buf, size_t len)
{
    Fixture *f = opaque;

    g_assert_cmpuint(len, >, 0);
    g_assert_cmpint(buf[len - 1], ==, '\n');
    g_string_append_len(f->out, buf, len);
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    MachineState *ms = &f->ms;
    g_autoptr(Error) err = NULL;

    g_mutex_init(&ms->lock);
    memory_region_init(&ms->system_memory, "system", UINT64_MAX);
    memory_region_init(&ms->system_io, "io", 0x10000);
    address_space_init(&ms->address_space_memory, &ms->system_memory,
                       "memory");
    address_space_init(&ms->address_space_io, &ms->system_io, "I/O");
    g_assert_true(memory_region_init_ram_memfd(&f->ram, "ram", RAM_SIZE,
                                               &err));
    memory_region_add_subregion(&ms->system_memory, 0, &f->ram);
    memory_region_init_io(&f->dev, &dev_ops, f, "dev", 0x100);
    memory_region_add_subregion(&ms->system_memory, DEV_BASE, &f->dev);
    memory_region_init_io(&f->port, &dev_ops, f, "port", 0x10);
    memory_region_add_subregion(&ms->system_io, PORT_BASE, &f->port);
    f->out = g_string_new(NULL);
    f->server = qtest_server_new(ms, capture, f);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    MachineState *ms = &f->ms;

    qtest_server_free(f->server);
    g_string_free(f->out, TRUE);
    memory_region_del_subregion(&ms->system_io, &f->port);
    memory_region_del_subregion(&ms->system_memory, &f->dev);
    memory_region_del_subregion(&ms->system_memory, &f->ram);
    address_space_destroy(&ms->address_space_memory);
    address_space_destroy(&ms->address_space_io);
    memory_region_finalize(&f->port);
    memory_region_finalize(&f->dev);
    memory_region_finalize(&f->ram);
    memory_region_finalize(&ms->system_memory);
    memory_region_finalize(&ms->system_io);
    g_mutex_clear(&ms->lock);
}

/* Everything the server sent for line, then forget it. */
static char *run(Fixture *f, const char *line)
{
    g_string_truncate(f->out, 0);
    qtest_server_process_line(f->server, line);
    return g_strdup(f->out->str);
}

static void check(Fixture *f, const char *line, const char *expected)
{
    g_autofree char *got = run(f, line);
    g_autofree char *want = g_strconcat(expected, "\n", NULL);

    g_assert_cmpstr(got, ==, want);
}

typedef struct Case {
    const char *cmd;
    const char *reply;       /* NULL: any "FAIL <reason>" */
} Case;

/* Run in order on one server: later cases see earlier writes. */
static const Case cases[] = {
    { "endianness", "OK little" },
    { "writeq 0x100 0x1122334455667788", "OK" },
    { "readb 0x100", "OK 0x0000000000000088" },
    { "readw 0x100", "OK 0x0000000000007788" },
    { "readl 0x104", "OK 0x0000000011223344" },
    { "readq 0x100", "OK 0x1122334455667788" },
    { "writeb 0x100 255", "OK" },
    { "writew 0x102 0xbeef", "OK" },
    { "writel 0x104 0", "OK" },
    { "readq 0x100", "OK 0x00000000beef77ff" },
    { "read 0x100 4", "OK 0xff77efbe" },
    { "read 0x100 0", "OK 0x" },
    { "write 0x200 3 0xa1b2c3", "OK" },
    { "read 0x200 3", "OK 0xa1b2c3" },
    { "write 0x200 3 0xFF", "OK" },
    { "read 0x200 4", "OK 0xff000000" },
    { "b64write 0x300 5 aGVsbG8=", "OK" },
    { "b64read 0x300 5", "OK aGVsbG8=" },
    { "b64read 0x300 0", "OK " },
    { "memset 0x400 3 0x7e", "OK" },
    { "read 0x3ff 5", "OK 0x007e7e7e00" },
    { "read 0xfffff 2", "OK 0x00ff" },            /* end of RAM */
    { "readq 0x20000000", "OK 0xffffffffffffffff" },
    { "writeq 0x10000000 0xcafe", "OK" },
    { "readq 0x10000000", "OK 0x000000000000cafe" },
    { "outw 0x10 0x1234", "OK" },
    { "inw 0x10", "OK 0x1234" },
    { "inb 0x10", "OK 0x0034" },
    { "inl 0x10", "OK 0x1234" },
    { "inl 0x14", "OK 0x5a5a5a5a" },
    { "inb 0x90", "OK 0x00ff" },
    { "inl 0x90", "OK 0xffffffff" },
    { "inl 0xfffc", "OK 0xffffffff" },
    { "clock_step", "OK 0" },
    { "clock_step 10", "OK 10" },
    { "clock_set 0x100", "OK 256" },
    { "clock_set 1", "OK 256" },
    { "clock_step 9223372036854775551", "OK 9223372036854775807" },
    { "clock_step 1", NULL },
    { "clock_step 0", "OK 9223372036854775807" },
    { "irq_intercept_out ioapic", "OK" },
    { "irq_intercept_in ioapic", "FAIL Interception already enabled" },
    { "frob", "FAIL Unknown command 'frob'" },
    { "", NULL }, { " \t ", NULL }, { "readb", NULL }, { "readb 1 2", NULL },
    { "readb x", NULL }, { "readb 0x", NULL }, { "readb -0", NULL },
    { "readb 0x1_0", NULL }, { "readb 08", NULL },
    { "readq 0xfffffffffffffff9", NULL }, { "readb 0xffffffffffffffff",
                                            "OK 0x00000000000000ff" },
    { "writeb 0 0x100", NULL }, { "writeq 0 0x10000000000000000", NULL },
    { "inb 0x10000", NULL }, { "inw 0xffff", NULL }, { "outl 0 0x1ffffffff",
                                                       NULL },
    { "read 0 16777217", NULL }, { "read 1 0xffffffffffffffff", NULL },
    { "read 0xffffffffffffffff 1", "OK 0xff" },
    { "read 0xffffffffffffffff 2", NULL },
    { "write 0 1 0x123", NULL }, { "write 0 1 0x1234", NULL },
    { "write 0 1 ab", NULL }, { "write 0 1 0xg0", NULL },
    { "b64write 0 2 AAA", NULL }, { "b64write 0 2 AAAA", NULL },
    { "b64write 0 3 AA=A", NULL }, { "b64write 0 3 A===", NULL },
    { "b64write 0 3 AA\x01A", NULL },
    { "memset 0 1 256", NULL }, { "memset 0 16777217 0", NULL },
    { "endianness big", NULL }, { "clock_set", NULL },
};

static void test_cases(Fixture *f, gconstpointer data)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = run(f, cases[i].cmd);

        g_test_message("'%s' -> %.*s", cases[i].cmd,
                       (int)strcspn(got, "\n"), got);
        if (cases[i].reply) {
            g_autofree char *want = g_strconcat(cases[i].reply, "\n", NULL);

            g_assert_cmpstr(got, ==, want);
        } else {
            g_assert_true(g_str_has_prefix(got, "FAIL "));
            g_assert_cmpuint(strlen(got), >, 6);
            g_assert_nonnull(strchr(got, '\n'));
            g_assert_true(strchr(got, '\n') == got + strlen(got) - 1);
        }
    }
    g_assert_cmpuint(f->lock_checks, >, 0);
}

static void test_unknown_echo_is_bounded(Fixture *f, gconstpointer data)
{
    g_autofree char *line = g_strnfill(100000, 'z');
    g_autofree char *got = run(f, line);

    g_assert_true(g_str_has_prefix(got, "FAIL Unknown command 'zzz"));
    g_assert_cmpuint(strlen(got), <, 300);
}

static void feed(Fixture *f, const char *bytes, size_t len)
{
    qtest_server_feed(f->server, (const uint8_t *)bytes, len);
}

static void test_feed_split(Fixture *f, gconstpointer data)
{
    static const char in[] = "writeb 0x10 7\r\nreadb 0x10\nendianness\n";

    for (size_t i = 0; i < strlen(in); i++) {
        feed(f, in + i, 1);
    }
    g_assert_cmpstr(f->out->str, ==,
                    "OK\nOK 0x0000000000000007\nOK little\n");
    g_string_truncate(f->out, 0);
    feed(f, "readb 0x10", 10);
    g_assert_cmpstr(f->out->str, ==, "");
    qtest_server_reset_input(f->server);
    feed(f, "endianness\n\n", 12);
    g_assert_true(g_str_has_prefix(f->out->str, "OK little\nFAIL "));
}

static void test_feed_nul(Fixture *f, gconstpointer data)
{
    feed(f, "readb 0\0 garbage\nendianness\n", 28);
    g_assert_true(g_str_has_prefix(f->out->str, "FAIL "));
    g_assert_true(g_str_has_suffix(f->out->str, "\nOK little\n"));
}

static void test_feed_too_long(Fixture *f, gconstpointer data)
{
    size_t chunk = 1024 * 1024;
    g_autofree char *buf = g_malloc(chunk);

    memset(buf, 'q', chunk);
    for (size_t done = 0; done <= QTEST_MAX_LINE; done += chunk) {
        feed(f, buf, chunk);
    }
    g_assert_cmpstr(f->out->str, ==, "");
    feed(f, buf, chunk);
    feed(f, "\nendianness\n", 12);
    g_assert_true(g_str_has_prefix(f->out->str, "FAIL line too long"));
    g_assert_true(g_str_has_suffix(f->out->str, "\nOK little\n"));
}

/* A maximal bulk transfer works and its reply has the exact length. */
static void test_max_transfer(Fixture *f, gconstpointer data)
{
    g_autofree char *cmd = g_strdup_printf("read 0 %u", QTEST_MAX_XFER);
    g_autofree char *got = run(f, cmd);

    g_assert_cmpuint(strlen(got), ==, 6 + 2 * QTEST_MAX_XFER);
    g_free(cmd);
    g_free(got);
    cmd = g_strdup_printf("memset 0 %u 0x11", QTEST_MAX_XFER);
    got = run(f, cmd);
    g_assert_cmpstr(got, ==, "OK\n");
    check(f, "readq 0xffff8", "OK 0x1111111111111111");
}

static void test_irq(Fixture *f, gconstpointer data)
{
    /* Not intercepting: levels are tracked but nothing is sent... */
    check(f, "writew 0x10000008 0x103", "OK");
    /* ...and intercepting announces the lines that are already high. */
    check(f, "irq_intercept_in ioapic", "IRQ raise 3\nOK");
    check(f, "writew 0x10000008 0x105", "IRQ raise 5\nOK");
    check(f, "writew 0x10000008 0x105", "OK");     /* no change */
    check(f, "writew 0x10000008 0x005", "IRQ lower 5\nOK");
    check(f, "writew 0x10000008 0x1ff", "IRQ raise 255\nOK");
    /* Past the last line: ignored, not even announced. */
    g_string_truncate(f->out, 0);
    qtest_server_set_irq(f->server, QTEST_MAX_GSI, 1);
    g_assert_cmpstr(f->out->str, ==, "");
}

static void test_log(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) gerr = NULL;
    g_autoptr(Error) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("qtest-log-XXXXXX", &gerr);
    g_autofree char *path = g_build_filename(dir, "log", NULL);
    g_autofree char *text = NULL;

    g_assert_no_error(gerr);
    g_assert_true(qtest_server_set_log(f->server, path, &err));
    check(f, "endianness", "OK little");
    check(f, "nope", "FAIL Unknown command 'nope'");
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "] endianness\n"));
    g_assert_nonnull(strstr(text, "] OK little\n"));
    g_assert_nonnull(strstr(text, "] FAIL Unknown command 'nope'\n"));
    g_assert_true(g_str_has_prefix(text, "[R +"));
    g_assert_false(qtest_server_set_log(f->server, "/nonexistent/x/log",
                                        &err));
    g_assert_nonnull(err);
    g_unlink(path);
    g_rmdir(dir);
}

#define ADD(name, fn) \
    g_test_add("/qtest/server/" name, Fixture, NULL, fixture_setup, fn, \
               fixture_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("cases", test_cases);
    ADD("unknown-echo-is-bounded", test_unknown_echo_is_bounded);
    ADD("feed-split", test_feed_split);
    ADD("feed-nul", test_feed_nul);
    ADD("feed-too-long", test_feed_too_long);
    ADD("max-transfer", test_max_transfer);
    ADD("irq", test_irq);
    ADD("log", test_log);
    return g_test_run();
}
