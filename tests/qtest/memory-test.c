/* SPDX-License-Identifier: MIT */
/*
 * Guest memory through qtest: RAM at several addresses with every access
 * width and every bulk command, RAM above 4 GiB with -m 5G, the 3–4 GiB
 * hole and unassigned MMIO reading as all ones.
 */
#include <string.h>

#include "libqtest.h"

#define MiB (1024ULL * 1024)
#define GiB (1024ULL * MiB)

/* Every fixed-width access at addr, checked in both directions. */
static void check_widths(QTestState *s, uint64_t addr)
{
    qtest_writeq(s, addr, 0x0123456789abcdefULL);
    g_assert_cmphex(qtest_readq(s, addr), ==, 0x0123456789abcdefULL);
    g_assert_cmphex(qtest_readl(s, addr), ==, 0x89abcdef);
    g_assert_cmphex(qtest_readl(s, addr + 4), ==, 0x01234567);
    g_assert_cmphex(qtest_readw(s, addr + 2), ==, 0x89ab);
    g_assert_cmphex(qtest_readb(s, addr + 7), ==, 0x01);
    qtest_writeb(s, addr + 1, 0x5a);
    qtest_writew(s, addr + 2, 0xa55a);
    qtest_writel(s, addr + 4, 0xfeedf00d);
    g_assert_cmphex(qtest_readq(s, addr), ==, 0xfeedf00da55a5aefULL);
}

/* Bulk commands at addr agree with each other. */
static void check_bulk(QTestState *s, uint64_t addr, size_t size)
{
    g_autofree uint8_t *pattern = g_malloc(size);
    g_autofree uint8_t *back = g_malloc(size);

    for (size_t i = 0; i < size; i++) {
        pattern[i] = (i * 7 + addr) & 0xff;
    }
    qtest_memwrite(s, addr, pattern, size);
    qtest_bufread(s, addr, back, size);
    g_assert_cmpmem(back, size, pattern, size);
    qtest_memset(s, addr, 0, size);
    qtest_memread(s, addr, back, size);
    for (size_t i = 0; i < size; i++) {
        g_assert_cmphex(back[i], ==, 0);
    }
    qtest_bufwrite(s, addr, pattern, size);
    qtest_memread(s, addr, back, size);
    g_assert_cmpmem(back, size, pattern, size);
    qtest_memset(s, addr + 1, 0xc3, size - 2);
    g_assert_cmphex(qtest_readb(s, addr), ==, pattern[0]);
    g_assert_cmphex(qtest_readb(s, addr + 1), ==, 0xc3);
    g_assert_cmphex(qtest_readb(s, addr + size - 2), ==, 0xc3);
    g_assert_cmphex(qtest_readb(s, addr + size - 1), ==, pattern[size - 1]);
}

static void test_ram_low(void)
{
    static const uint64_t addrs[] = {
        0x0, 0x8, 0xffd, 0x1000, 0x9fff8, 0x100000, 0x7654321,
        256 * MiB - 8,
    };
    QTestState *s = qtest_init("-m 256M");

    for (size_t i = 0; i < G_N_ELEMENTS(addrs); i++) {
        check_widths(s, addrs[i]);
    }
    check_bulk(s, 0x0, 64);
    check_bulk(s, 0x1ff0, 4096 + 32);        /* crosses pages */
    check_bulk(s, 0x200000, 1 * MiB);
    check_bulk(s, 256 * MiB - 4096, 4096);   /* up to the end of RAM */
    qtest_quit(s);
}

static void test_ram_fresh_is_zero(void)
{
    QTestState *s = qtest_init("-m 64M");
    uint8_t buf[512];

    qtest_memread(s, 0x100000, buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++) {
        g_assert_cmphex(buf[i], ==, 0);
    }
    g_assert_cmphex(qtest_readq(s, 64 * MiB - 8), ==, 0);
    qtest_quit(s);
}

/* Nothing mapped: reads are all ones and writes are dropped. */
static void check_unassigned(QTestState *s, uint64_t addr)
{
    uint8_t buf[16];

    g_assert_cmphex(qtest_readb(s, addr), ==, 0xff);
    g_assert_cmphex(qtest_readw(s, addr), ==, 0xffff);
    g_assert_cmphex(qtest_readl(s, addr), ==, 0xffffffff);
    g_assert_cmphex(qtest_readq(s, addr), ==, UINT64_MAX);
    qtest_writeq(s, addr, 0);
    g_assert_cmphex(qtest_readq(s, addr), ==, UINT64_MAX);
    qtest_bufread(s, addr, buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++) {
        g_assert_cmphex(buf[i], ==, 0xff);
    }
}

static void test_unassigned(void)
{
    QTestState *s = qtest_init("-m 128M");

    check_unassigned(s, 128 * MiB);
    check_unassigned(s, 1 * GiB);
    check_unassigned(s, 0xfebfff00);         /* no virtio-mmio devices */
    check_unassigned(s, 4 * GiB);
    check_unassigned(s, 0xfffffffffffffff0ULL);
    qtest_quit(s);
}

/* A range that starts in RAM and ends past it. */
static void test_ram_edge(void)
{
    QTestState *s = qtest_init("-m 128M");
    uint8_t buf[8];

    qtest_writel(s, 128 * MiB - 4, 0x11223344);
    qtest_memread(s, 128 * MiB - 4, buf, sizeof(buf));
    g_assert_cmphex(buf[0], ==, 0x44);
    g_assert_cmphex(buf[3], ==, 0x11);
    g_assert_cmphex(buf[4], ==, 0xff);
    g_assert_cmphex(buf[7], ==, 0xff);
    qtest_quit(s);
}

static void test_ram_above_4g(void)
{
    QTestState *s = qtest_init("-m 5G");

    /* 3 GiB below the hole, 2 GiB from 4 GiB. */
    check_widths(s, 0);
    check_widths(s, 3 * GiB - 8);
    check_widths(s, 4 * GiB);
    check_widths(s, 5 * GiB);
    check_widths(s, 6 * GiB - 8);
    check_bulk(s, 4 * GiB - 0, 8192);
    check_bulk(s, 6 * GiB - 4096, 4096);
    check_unassigned(s, 3 * GiB);
    check_unassigned(s, 3 * GiB + 512 * MiB);
    check_unassigned(s, 4 * GiB - 16);
    check_unassigned(s, 6 * GiB);
    /* Below and above the hole are different memory. */
    qtest_writeq(s, 0x1000, 0x1111);
    qtest_writeq(s, 4 * GiB + 0x1000, 0x2222);
    g_assert_cmphex(qtest_readq(s, 0x1000), ==, 0x1111);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qtest/memory/ram-low", test_ram_low);
    g_test_add_func("/qtest/memory/fresh-ram-is-zero", test_ram_fresh_is_zero);
    g_test_add_func("/qtest/memory/unassigned", test_unassigned);
    g_test_add_func("/qtest/memory/ram-edge", test_ram_edge);
    g_test_add_func("/qtest/memory/ram-above-4g", test_ram_above_4g);
    return g_test_run();
}
