/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the memory table of the vhost core (hw/virtio/vhost-mem.c):
 * which RAM a backend gets, which neighbours merge (for a backend that
 * maps fds and for one that takes any RAM), when a table is re-sent, the
 * slot limit, and rings re-sent when their memory moves.  Driven through
 * the recording fake VhostOps and the memory fixture of vhost-fake.c
 * (lo + hi = one 2 MiB memfd mapping at 0, ram2 at RAM2_GPA, fd-less RAM,
 * MMIO); the hotplug dry run is in test-vhost-hotplug.c.
 */
#include "vhost-fake.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- memory table ------------------------------------------------------ */

static void test_init_sequence(void)
{
    Fix f;

    fix_init(&f);
    fix_dev_init(&f);
    /* Nothing is sent before start; the table is collected though. */
    assert_log(&f, "backend_init;set_owner;get_features;");
    g_assert_cmphex(f.dev.features, ==, f.fake.features);
    g_assert_cmpuint(f.dev.n_regions, ==, 2);
    g_assert_cmpuint(f.dev.mem_table_sends, ==, 0);
    g_assert_true(f.dev.listener_registered);
    g_assert_cmpint(f.dev.memory_listener.priority, ==, 20);
    fix_cleanup(&f);
    g_assert_cmpuint(f.fake.cleanups, ==, 1);
}

static void test_merge_neighbours(void)
{
    Fix f;
    VhostMemoryRegion *r;

    fix_init(&f);
    fix_dev_init(&f);
    r = f.dev.regions;
    g_assert_cmpuint(f.dev.n_regions, ==, 2);
    /* lo + hi merged; anon (no fd) and mmio filtered out. */
    g_assert_cmphex(r[0].guest_phys_addr, ==, 0);
    g_assert_cmphex(r[0].memory_size, ==, 2 * MiB);
    g_assert_true(r[0].userspace_addr == (uintptr_t)f.ram.ram_ptr);
    g_assert_cmphex(r[0].mmap_offset, ==, 0);
    g_assert_cmpint(r[0].fd, ==, f.ram.ram_fd);
    g_assert_cmphex(r[1].guest_phys_addr, ==, RAM2_GPA);
    g_assert_cmphex(r[1].memory_size, ==, MiB);
    g_assert_true(r[1].userspace_addr == (uintptr_t)f.ram2.ram_ptr);
    g_assert_cmpint(r[1].fd, ==, f.ram2.ram_fd);
    fix_cleanup(&f);
}

/* The backend's capability is asked: one that takes any RAM (as
 * vhost-kernel will) also gets the fd-less region. */
static void test_merge_policy(void)
{
    Fix f;

    fix_init(&f);
    f.fake.any_ram = true;
    fix_dev_init(&f);
    g_assert_cmpuint(f.dev.n_regions, ==, 3);
    g_assert_cmphex(f.dev.regions[0].memory_size, ==, 2 * MiB);
    g_assert_cmphex(f.dev.regions[2].guest_phys_addr, ==, ANON_GPA);
    g_assert_cmphex(f.dev.regions[2].memory_size, ==, MiB);
    g_assert_true(f.dev.regions[2].userspace_addr ==
                  (uintptr_t)f.anon_mem);
    g_assert_cmpint(f.dev.regions[2].fd, ==, -1);
    fix_cleanup(&f);
}

#define PAIR_GPA 0x40000000ULL

/* Regions a (fd_a at offset 0) and b (fd_b at off_b), back to back in
 * guest and host space at PAIR_GPA, for a backend that needs fd memory
 * or takes any RAM: the last region of the table they give. */
static VhostMemoryRegion merge_pair(bool any_ram, int fd_a, int fd_b,
                                    uint64_t off_b, uint8_t **host_out)
{
    Fix f;
    MemoryRegion a, b;
    VhostMemoryRegion last;
    uint8_t *host = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    g_assert_true(host != MAP_FAILED);
    fix_init(&f);
    f.fake.any_ram = any_ram;
    memory_region_init_ram_ptr(&a, "a", MiB, host, fd_a, 0);
    memory_region_init_ram_ptr(&b, "b", MiB, host + MiB, fd_b, off_b);
    memory_region_add_subregion(&f.root, PAIR_GPA, &a);
    memory_region_add_subregion(&f.root, PAIR_GPA + MiB, &b);
    fix_dev_init(&f);
    last = f.dev.regions[f.dev.n_regions - 1];
    memory_region_del_subregion(&f.root, &a);
    memory_region_del_subregion(&f.root, &b);
    fix_cleanup(&f);
    memory_region_finalize(&a);
    memory_region_finalize(&b);
    munmap(host, 2 * MiB);
    *host_out = host;
    return last;
}

/* Same fd, but a hole in the file between the two: one mapping of one
 * fd cannot describe both, so a backend that maps fds gets two regions;
 * one that takes any RAM gets them merged. */
static void test_merge_fd_hole(void)
{
    int fd = memfd_create("hole", MFD_CLOEXEC);
    VhostMemoryRegion r;
    uint8_t *host;

    r = merge_pair(false, fd, fd, 2 * MiB, &host);
    g_assert_cmphex(r.guest_phys_addr, ==, PAIR_GPA + MiB);
    g_assert_cmphex(r.memory_size, ==, MiB);
    g_assert_cmphex(r.mmap_offset, ==, 2 * MiB);
    g_assert_true(r.userspace_addr == (uintptr_t)host + MiB);
    r = merge_pair(true, fd, fd, 2 * MiB, &host);
    g_assert_cmphex(r.guest_phys_addr, ==, PAIR_GPA);
    g_assert_cmphex(r.memory_size, ==, 2 * MiB);
    close(fd);
}

/* Different fds: merged on addresses alone when the backend takes any
 * RAM (test_merge_fds: kept apart when it maps fds). */
static void test_merge_any_ram(void)
{
    int fd1 = memfd_create("a", MFD_CLOEXEC);
    int fd2 = memfd_create("b", MFD_CLOEXEC);
    VhostMemoryRegion r;
    uint8_t *host;

    r = merge_pair(true, fd1, fd2, MiB, &host);
    g_assert_cmphex(r.guest_phys_addr, ==, PAIR_GPA);
    g_assert_cmphex(r.memory_size, ==, 2 * MiB);
    g_assert_true(r.userspace_addr == (uintptr_t)host);
    g_assert_cmpint(r.fd, ==, fd1);
    r = merge_pair(false, fd1, fd2, MiB, &host);
    g_assert_cmphex(r.guest_phys_addr, ==, PAIR_GPA + MiB);
    g_assert_cmpint(r.fd, ==, fd2);
    close(fd1);
    close(fd2);
}

/* A gap in guest-physical space keeps two regions. */
static void test_merge_gap(void)
{
    Fix f;

    fix_init(&f);
    memory_region_set_address(&f.hi, MiB + 0x1000);
    fix_dev_init(&f);
    g_assert_cmpuint(f.dev.n_regions, ==, 3);
    g_assert_cmphex(f.dev.regions[0].memory_size, ==, MiB);
    g_assert_cmphex(f.dev.regions[1].guest_phys_addr, ==, MiB + 0x1000);
    fix_cleanup(&f);
}

/* Contiguous in both spaces, but different fds: two regions; same fd
 * with contiguous offsets: one. */
static void test_merge_fds(void)
{
    Fix f;
    MemoryRegion a, b;
    uint8_t *host = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd1 = memfd_create("a", MFD_CLOEXEC);
    int fd2 = memfd_create("b", MFD_CLOEXEC);

    g_assert_true(host != MAP_FAILED);
    fix_init(&f);
    memory_region_init_ram_ptr(&a, "a", MiB, host, fd1, 0);
    memory_region_init_ram_ptr(&b, "b", MiB, host + MiB, fd2, MiB);
    memory_region_add_subregion(&f.root, 0x40000000, &a);
    memory_region_add_subregion(&f.root, 0x40000000 + MiB, &b);
    fix_dev_init(&f);
    g_assert_cmpuint(f.dev.n_regions, ==, 4);
    g_assert_cmphex(f.dev.regions[3].mmap_offset, ==, MiB);
    memory_region_del_subregion(&f.root, &b);
    memory_region_finalize(&b);
    memory_region_init_ram_ptr(&b, "b", MiB, host + MiB, fd1, MiB);
    memory_region_add_subregion(&f.root, 0x40000000 + MiB, &b);
    g_assert_cmpuint(f.dev.n_regions, ==, 3);
    g_assert_cmphex(f.dev.regions[2].memory_size, ==, 2 * MiB);
    memory_region_del_subregion(&f.root, &a);
    memory_region_del_subregion(&f.root, &b);
    fix_cleanup(&f);
    memory_region_finalize(&a);
    memory_region_finalize(&b);
    munmap(host, 2 * MiB);
    close(fd1);
    close(fd2);
}

/* mmap_offset = the region's own fd offset + offset within the region. */
static void test_mmap_offset(void)
{
    Fix f;
    MemoryRegion win;
    int fd;

    fix_init(&f);
    fd = memfd_create("off", MFD_CLOEXEC);     /* owned by f.extra */
    g_assert_cmpint(ftruncate(fd, 4 * MiB), ==, 0);
    g_assert_true(memory_region_init_ram_from_fd(&f.extra, "extra", 2 * MiB,
                                                 fd, MiB, true, NULL));
    /* A window on the upper half: offset_within_region = 1M. */
    memory_region_init_alias(&win, "win", &f.extra, MiB, MiB);
    memory_region_add_subregion(&f.root, 0x40000000, &win);
    fix_dev_init(&f);
    g_assert_cmpuint(f.dev.n_regions, ==, 3);
    g_assert_cmphex(f.dev.regions[2].guest_phys_addr, ==, 0x40000000);
    g_assert_cmphex(f.dev.regions[2].memory_size, ==, MiB);
    g_assert_cmphex(f.dev.regions[2].mmap_offset, ==, 2 * MiB);
    g_assert_true(f.dev.regions[2].userspace_addr ==
                  (uintptr_t)f.extra.ram_ptr + MiB);
    g_assert_cmpint(f.dev.regions[2].fd, ==, fd);
    memory_region_del_subregion(&f.root, &win);
    memory_region_finalize(&win);
    fix_cleanup(&f);
}

/* Read-only RAM (ROM) is not given to the backend. */
static void test_rom_filtered(void)
{
    Fix f;

    fix_init(&f);
    g_assert_true(memory_region_init_ram_memfd(&f.extra, "rom", MiB, NULL));
    memory_region_set_readonly(&f.extra, true);
    memory_region_add_subregion(&f.root, 0x30000000, &f.extra);
    fix_dev_init(&f);
    g_assert_cmpuint(f.dev.n_regions, ==, 2);
    memory_region_set_readonly(&f.extra, false);
    g_assert_cmpuint(f.dev.n_regions, ==, 3);
    memory_region_del_subregion(&f.root, &f.extra);
    fix_cleanup(&f);
}

/* Started: an MMIO change leaves the table alone, a RAM change sends. */
static void test_resend_policy(void)
{
    Fix f;

    fix_init(&f);
    fix_start(&f);
    g_assert_cmpuint(f.dev.mem_table_sends, ==, 1);
    memory_region_set_address(&f.mmio, MMIO_GPA + 0x1000);
    memory_region_set_enabled(&f.anon, false);
    assert_log(&f, "");
    g_assert_cmpuint(f.dev.mem_table_sends, ==, 1);
    g_assert_true(memory_region_init_ram_memfd(&f.extra, "x", MiB, NULL));
    memory_region_add_subregion(&f.root, 0x30000000, &f.extra);
    assert_log(&f, "set_mem_table n=3 [0x0+0x200000 fd] "
               "[0x10000000+0x100000 fd] [0x30000000+0x100000 fd];");
    g_assert_cmpuint(f.dev.mem_table_sends, ==, 2);
    memory_region_del_subregion(&f.root, &f.extra);
    assert_log(&f, TABLE2 ";");
    fix_cleanup(&f);
}

static void test_memslots_start(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    f.fake.memslots = 2;
    fix_dev_init(&f);
    f.fake.memslots = 1;
    g_string_truncate(f.fake.log, 0);
    g_assert_false(vhost_dev_start(&f.dev, &f.vdev, true, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "dev0: "));
    g_assert_nonnull(strstr(error_get_pretty(err), "at most 1"));
    assert_log(&f, "set_features 0x0;");
    g_assert_false(f.dev.started);
    g_assert_cmpuint(f.dev.mem_table_sends, ==, 0);
    fix_cleanup(&f);
}

static void test_memslots_commit(void)
{
    Fix f;

    fix_init(&f);
    f.fake.memslots = 2;
    fix_start(&f);
    g_assert_true(memory_region_init_ram_memfd(&f.extra, "x", MiB, NULL));
    memory_region_add_subregion(&f.root, 0x30000000, &f.extra);
    assert_log(&f, "");     /* error reported, nothing sent */
    g_assert_cmpuint(f.dev.mem_table_sends, ==, 1);
    memory_region_del_subregion(&f.root, &f.extra);
    assert_log(&f, TABLE2 ";");
    fix_cleanup(&f);
}

static void test_memslots_init(void)
{
    Fix f;
    g_autoptr(Error) err = NULL;

    fix_init(&f);
    f.fake.memslots = 1;
    g_assert_false(vhost_dev_init(&f.dev, &f.fake, &fake_ops, &f.as, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "at most 1"));
    g_assert_false(f.dev.listener_registered);
    g_assert_cmpuint(f.as.listeners->len, ==, 0);
    fix_cleanup(&f);
    g_assert_cmpuint(f.fake.cleanups, ==, 1);
}

/* A ring whose memory moves is re-sent; one whose memory goes is
 * reported and marked. */
static void test_ring_remap(void)
{
    Fix f;

    fix_init(&f);
    fix_start(&f);
    /* Put ram2's first MiB where lo was: queue 0's rings move host-side. */
    address_space_transaction_begin(&f.as);
    memory_region_del_subregion(&f.root, &f.lo);
    memory_region_init_alias(&f.extra, "lo2", &f.ram2, 0, MiB);
    memory_region_add_subregion(&f.root, 0, &f.extra);
    address_space_transaction_commit(&f.as);
    assert_log(&f, "set_mem_table n=3 [0x0+0x100000 fd] [0x100000+0x100000 "
               "fd] [0x10000000+0x100000 fd];set_vring_addr 0 " Q0
               " flags=0x0 log=0x12000;");
    g_assert_true(f.dev.vqs[0].desc == (uint8_t *)f.ram2.ram_ptr + 0x10000);
    memory_region_del_subregion(&f.root, &f.ram2);
    assert_log(&f, "set_mem_table n=2 [0x0+0x100000 fd] "
               "[0x100000+0x100000 fd];");
    g_assert_false(f.dev.vqs[0].unmapped);
    g_assert_true(f.dev.vqs[1].unmapped);
    /* Back at the same host address: the ring address is sent again.
     * (ram2's start is also visible at GPA 0 through lo2, which is what
     * the fake's reverse lookup finds first.) */
    memory_region_add_subregion(&f.root, RAM2_GPA, &f.ram2);
    assert_log(&f, "set_mem_table n=3 [0x0+0x100000 fd] [0x100000+0x100000 "
               "fd] [0x10000000+0x100000 fd];set_vring_addr 1 desc=0x0 "
               "avail=0x1000 used=0x2000 flags=0x0 log=0x10002000;");
    g_assert_true(f.dev.vqs[1].desc == f.ram2.ram_ptr);
    g_assert_false(f.dev.vqs[1].unmapped);
    memory_region_del_subregion(&f.root, &f.extra);
    fix_cleanup(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vhost/mem/init-sequence", test_init_sequence);
    g_test_add_func("/vhost/mem/merge-neighbours", test_merge_neighbours);
    g_test_add_func("/vhost/mem/merge-policy", test_merge_policy);
    g_test_add_func("/vhost/mem/merge-fd-hole", test_merge_fd_hole);
    g_test_add_func("/vhost/mem/merge-any-ram", test_merge_any_ram);
    g_test_add_func("/vhost/mem/merge-gap", test_merge_gap);
    g_test_add_func("/vhost/mem/merge-fds", test_merge_fds);
    g_test_add_func("/vhost/mem/mmap-offset", test_mmap_offset);
    g_test_add_func("/vhost/mem/rom-filtered", test_rom_filtered);
    g_test_add_func("/vhost/mem/resend-policy", test_resend_policy);
    g_test_add_func("/vhost/mem/memslots-start", test_memslots_start);
    g_test_add_func("/vhost/mem/memslots-commit", test_memslots_commit);
    g_test_add_func("/vhost/mem/memslots-init", test_memslots_init);
    g_test_add_func("/vhost/mem/ring-remap", test_ring_remap);
    return g_test_run();
}
