/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for memory access through an address space (system/memory.c):
 * dispatch to RAM and to I/O regions (accesses split or widened to what a
 * device implements, unassigned ranges, accesses across region ends),
 * ioeventfds catching writes, fd-backed RAM (memfd, shared and private
 * files, a caller's fd) and finalizing a region twice.  Flattening and
 * listeners are in test-memory.c.  No /dev/kvm needed.
 */
#include "memory-fake.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- dispatch ---------------------------------------------------------- */

static void test_dispatch_ram(void)
{
    Fixture f;
    uint8_t buf[16];
    MemoryRegionSection s;

    fixture_init(&f);
    memset(backing, 0, sizeof(backing));
    memory_region_add_subregion(&f.root, 0x1000, &f.ram);
    g_assert_cmpint(address_space_write(&f.as, 0x1ffe, "hello", 5), ==,
                    MEMTX_OK);
    g_assert_cmpmem(backing + 0xffe, 5, "hello", 5);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(address_space_read(&f.as, 0x1fff, buf, 3), ==, MEMTX_OK);
    g_assert_cmpmem(buf, 3, "ell", 3);
    g_assert_true(address_space_ram_ptr(&f.as, 0x1000, 0x4000) == backing);
    g_assert_true(address_space_ram_ptr(&f.as, 0x1010, 4) == backing + 0x10);
    g_assert_null(address_space_ram_ptr(&f.as, 0x4000, 0x2000));
    g_assert_null(address_space_ram_ptr(&f.as, 0x800, 4));
    g_assert_true(address_space_find_section(&f.as, 0x4fff, &s));
    g_assert_true(s.mr == &f.ram);
    g_assert_cmphex(s.offset_within_address_space, ==, 0x1000);
    g_assert_false(address_space_find_section(&f.as, 0x5000, &s));
    /* Read-only RAM: the write is dropped. */
    memory_region_set_readonly(&f.ram, true);
    g_assert_cmpint(address_space_write(&f.as, 0x1000, "x", 1), ==,
                    MEMTX_ERROR);
    g_assert_cmpint(backing[0], ==, 0);
    fixture_cleanup(&f);
}

static void test_dispatch_io_split(void)
{
    Fixture f;
    MemoryRegion io1, io4;
    uint64_t v = 0x1122334455667788ull;
    uint8_t buf[8];

    fixture_init(&f);
    memory_region_add_subregion(&f.root, 0x1000, &f.io);
    g_assert_cmpint(address_space_write(&f.as, 0x1000, &v, 8), ==, MEMTX_OK);
    assert_log(f.dev.log, "w4@0x0=0x55667788;w4@0x4=0x11223344");
    v = 0;
    g_assert_cmpint(address_space_read(&f.as, 0x1001, &v, 7), ==, MEMTX_OK);
    assert_log(f.dev.log, "r4@0x1;r2@0x5;r1@0x7");
    g_assert_cmphex(v, ==, 0x11223344556677ull);

    /* A byte-only device sees bytes. */
    memory_region_init_io(&io1, &dev_ops_1, &f.dev, "io1", 0x40);
    memory_region_add_subregion(&f.root, 0x2000, &io1);
    g_assert_cmpint(address_space_write(&f.as, 0x2002, "\xaa\xbb", 2), ==,
                    MEMTX_OK);
    assert_log(f.dev.log, "w1@0x2=0xaa;w1@0x3=0xbb");

    /* A word-only device: narrow accesses become aligned words. */
    memory_region_init_io(&io4, &dev_ops_4, &f.dev, "io4", 0x40);
    memory_region_add_subregion(&f.root, 0x3000, &io4);
    memset(f.dev.regs, 0, sizeof(f.dev.regs));
    f.dev.regs[4] = 0x11;
    f.dev.regs[5] = 0x22;
    f.dev.regs[6] = 0x33;
    g_assert_cmpint(address_space_read(&f.as, 0x3005, buf, 2), ==, MEMTX_OK);
    assert_log(f.dev.log, "r4@0x4");
    g_assert_cmphex(buf[0], ==, 0x22);
    g_assert_cmphex(buf[1], ==, 0x33);
    g_assert_cmpint(address_space_write(&f.as, 0x3006, "\x5a", 1), ==,
                    MEMTX_OK);
    assert_log(f.dev.log, "w4@0x4=0x5a0000");
    memory_region_del_subregion(&f.root, &io1);
    memory_region_del_subregion(&f.root, &io4);
    memory_region_finalize(&io1);
    memory_region_finalize(&io4);
    fixture_cleanup(&f);
}

static void test_dispatch_unassigned(void)
{
    Fixture f;
    uint8_t buf[8];

    fixture_init(&f);
    memset(buf, 0x12, sizeof(buf));
    g_assert_cmpint(address_space_read(&f.as, 0x1234, buf, 8), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpmem(buf, 8, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    g_assert_cmpint(address_space_write(&f.as, 0x1234, buf, 8), ==,
                    MEMTX_DECODE_ERROR);
    fixture_cleanup(&f);
}

static void test_dispatch_cross(void)
{
    Fixture f;
    uint8_t buf[8];

    fixture_init(&f);
    memset(backing, 0xab, sizeof(backing));
    memory_region_add_subregion(&f.root, 0x1000, &f.ram);      /* ..0x5000 */
    memory_region_add_subregion(&f.root, 0x5000, &f.io);       /* ..0x5040 */
    memset(f.dev.regs, 0, sizeof(f.dev.regs));
    f.dev.regs[0x3e] = 0x01;
    f.dev.regs[0x3f] = 0x02;
    /* RAM, then I/O. */
    g_assert_cmpint(address_space_read(&f.as, 0x4ffe, buf, 4), ==, MEMTX_OK);
    g_assert_cmpmem(buf, 4, "\xab\xab\x00\x00", 4);
    assert_log(f.dev.log, "r2@0x0");
    /* I/O, then nothing. */
    g_assert_cmpint(address_space_read(&f.as, 0x503e, buf, 4), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpmem(buf, 4, "\x01\x02\xff\xff", 4);
    assert_log(f.dev.log, "r2@0x3e");
    /* Nothing, then RAM: the hole ends where RAM starts. */
    g_assert_cmpint(address_space_write(&f.as, 0xffe, "\x01\x02\x03\x04", 4),
                    ==, MEMTX_DECODE_ERROR);
    g_assert_cmpmem(backing, 3, "\x03\x04\xab", 3);
    fixture_cleanup(&f);
}

static void test_dispatch_ioeventfd(void)
{
    Fixture f;
    EventNotifier e, any;
    uint32_t v;

    fixture_init(&f);
    g_assert_true(event_notifier_init(&e, false, NULL));
    g_assert_true(event_notifier_init(&any, false, NULL));
    memory_region_add_subregion(&f.root, 0x1000, &f.io);
    memory_region_add_eventfd(&f.io, 0x10, 4, true, 7, &e);
    memory_region_add_eventfd(&f.io, 0x20, 0, false, 0, &any);

    v = 7;
    g_assert_cmpint(address_space_write(&f.as, 0x1010, &v, 4), ==, MEMTX_OK);
    g_assert_true(event_notifier_test_and_clear(&e));
    assert_log(f.dev.log, "");
    /* Wrong data, wrong size: the device gets the write. */
    v = 8;
    address_space_write(&f.as, 0x1010, &v, 4);
    g_assert_false(event_notifier_test_and_clear(&e));
    assert_log(f.dev.log, "w4@0x10=0x8");
    v = 7;
    address_space_write(&f.as, 0x1010, &v, 2);
    g_assert_false(event_notifier_test_and_clear(&e));
    assert_log(f.dev.log, "w2@0x10=0x7");
    /* Any size, any data. */
    address_space_write(&f.as, 0x1020, "\x09", 1);
    g_assert_true(event_notifier_test_and_clear(&any));
    assert_log(f.dev.log, "");
    /* Reads never match. */
    address_space_read(&f.as, 0x1020, &v, 1);
    g_assert_false(event_notifier_test_and_clear(&any));
    assert_log(f.dev.log, "r1@0x20");
    /* Removed: back to the device. */
    memory_region_del_eventfd(&f.io, 0x10, 4, true, 7, &e);
    v = 7;
    address_space_write(&f.as, 0x1010, &v, 4);
    g_assert_false(event_notifier_test_and_clear(&e));
    assert_log(f.dev.log, "w4@0x10=0x7");
    fixture_cleanup(&f);
    event_notifier_cleanup(&e);
    event_notifier_cleanup(&any);
}

/* --- fd-backed RAM and lifetime ---------------------------------------- */

static void test_ram_memfd(void)
{
    Fixture f;
    MemoryRegion ram;
    Error *err = NULL;
    char buf[6] = { 0 };
    int fd;

    fixture_init(&f);
    g_assert_true(memory_region_init_ram_memfd(&ram, "mem", 0x10000, &err));
    g_assert_null(err);
    fd = memory_region_get_fd(&ram);
    g_assert_cmpint(fd, >=, 0);
    g_assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    g_assert_true(memory_region_is_ram(&ram));
    g_assert_nonnull(memory_region_get_ram_ptr(&ram));
    memory_region_add_subregion(&f.root, 0x100000, &ram);
    g_assert_cmpint(address_space_write(&f.as, 0x100100, "kvmini", 6), ==,
                    MEMTX_OK);
    g_assert_cmpint(pread(fd, buf, 6, 0x100), ==, 6);
    g_assert_cmpmem(buf, 6, "kvmini", 6);
    memory_region_del_subregion(&f.root, &ram);
    memory_region_finalize(&ram);
    /* The fd was the region's: it is closed now. */
    g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
    fixture_cleanup(&f);
}

static void test_ram_file(void)
{
    Fixture f;
    MemoryRegion shared, priv;
    g_autofree char *path = NULL;
    Error *err = NULL;
    char buf[4] = { 0 };
    int fd = g_file_open_tmp("test-memory-XXXXXX", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    fixture_init(&f);
    g_assert_true(memory_region_init_ram_file(&shared, "shared", 0x2000,
                                              path, true, &err));
    g_assert_null(err);
    g_assert_true(fcntl(memory_region_get_fd(&shared), F_GETFD) & FD_CLOEXEC);
    memory_region_add_subregion(&f.root, 0x0, &shared);
    g_assert_cmpint(address_space_write(&f.as, 0x1ffc, "abcd", 4), ==,
                    MEMTX_OK);
    g_assert_cmpint(pread(fd, buf, 4, 0x1ffc), ==, 4);
    g_assert_cmpmem(buf, 4, "abcd", 4);

    /* share=off: a private copy, no fd to hand out, the file untouched. */
    g_assert_true(memory_region_init_ram_file(&priv, "priv", 0x2000, path,
                                              false, &err));
    g_assert_cmpint(memory_region_get_fd(&priv), ==, -1);
    memory_region_add_subregion(&f.root, 0x10000, &priv);
    address_space_read(&f.as, 0x11ffc, buf, 4);
    g_assert_cmpmem(buf, 4, "abcd", 4);
    address_space_write(&f.as, 0x11ffc, "wxyz", 4);
    g_assert_cmpint(pread(fd, buf, 4, 0x1ffc), ==, 4);
    g_assert_cmpmem(buf, 4, "abcd", 4);

    memory_region_del_subregion(&f.root, &priv);
    memory_region_finalize(&priv);

    memory_region_del_subregion(&f.root, &shared);
    memory_region_finalize(&shared);
    fixture_cleanup(&f);
    close(fd);
    unlink(path);
}

/* Errors come back through errp and leave a finalized region. */
static void test_ram_errors(void)
{
    MemoryRegion bad;
    Error *err = NULL;

    g_assert_false(memory_region_init_ram_file(&bad, "bad", 0x1000,
                                               "/nonexistent/dir/x", true,
                                               &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "/nonexistent/dir/x"));
    error_free(err);
    err = NULL;
    g_assert_null(bad.ram_ptr);
    g_assert_cmpint(bad.ram_fd, ==, -1);
    memory_region_finalize(&bad);
    g_assert_false(memory_region_init_ram_memfd(&bad, "zero", 0, &err));
    g_assert_nonnull(err);
    error_free(err);
    memory_region_finalize(&bad);
}

static void test_ram_from_fd_not_owned(void)
{
    MemoryRegion a;
    int fd = memfd_create("t", MFD_CLOEXEC);

    g_assert_cmpint(ftruncate(fd, 0x3000), ==, 0);
    g_assert_true(memory_region_init_ram_from_fd(&a, "a", 0x1000, fd, 0x1000,
                                                 false, NULL));
    g_assert_cmpint(memory_region_get_fd(&a), ==, fd);
    g_assert_cmphex(a.ram_fd_offset, ==, 0x1000);
    memcpy(a.ram_ptr, "zz", 2);
    memory_region_finalize(&a);
    /* Still open: the caller owns it. */
    char buf[2];
    g_assert_cmpint(pread(fd, buf, 2, 0x1000), ==, 2);
    g_assert_cmpmem(buf, 2, "zz", 2);
    close(fd);
}

static void test_finalize_safe(void)
{
    MemoryRegion zero, ram, c;

    memset(&zero, 0, sizeof(zero));
    memory_region_finalize(&zero);
    memory_region_finalize(&zero);
    g_assert_true(memory_region_init_ram_memfd(&ram, "r", 0x1000, NULL));
    memory_region_finalize(&ram);
    memory_region_finalize(&ram);
    g_assert_null(ram.ram_ptr);
    g_assert_cmpint(ram.ram_fd, ==, -1);
    memory_region_init(&c, "c", 0x1000);
    memory_region_finalize(&c);
    memory_region_finalize(&c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/dispatch/ram", test_dispatch_ram);
    g_test_add_func("/memory/dispatch/io-split", test_dispatch_io_split);
    g_test_add_func("/memory/dispatch/unassigned", test_dispatch_unassigned);
    g_test_add_func("/memory/dispatch/cross", test_dispatch_cross);
    g_test_add_func("/memory/dispatch/ioeventfd", test_dispatch_ioeventfd);
    g_test_add_func("/memory/ram/memfd", test_ram_memfd);
    g_test_add_func("/memory/ram/file", test_ram_file);
    g_test_add_func("/memory/ram/errors", test_ram_errors);
    g_test_add_func("/memory/ram/from-fd", test_ram_from_fd_not_owned);
    g_test_add_func("/memory/finalize", test_finalize_safe);
    return g_test_run();
}
