/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the memory-hotplug question of the vhost core,
 * vhost_dev_can_add_region (hw/virtio/vhost-mem.c): a dry run of the
 * memory listener on the table in force plus one section, compared with
 * the backend's slot limit.  Uses the recording fake backend and the
 * memory fixture of vhost-fake.c (lo + hi = one 2 MiB memfd mapping at 0,
 * ram2 at RAM2_GPA, fd-less RAM, MMIO): a section that merges with a
 * neighbour (before or after it) keeps the count, one that does not adds
 * a region, a filtered one adds nothing; nothing is ever sent.
 */
#include "vhost-fake.h"

#include <string.h>

#define EXTRA_GPA 0x30000000ULL

static MemoryRegionSection section(Fix *f, MemoryRegion *mr, hwaddr gpa)
{
    return (MemoryRegionSection) {
        .mr = mr,
        .as = &f->as,
        .offset_within_address_space = gpa,
        .size = memory_region_size(mr),
    };
}

/* Two regions in force; a third that merges with nothing needs 3. */
static void test_new_region(void)
{
    g_autoptr(Error) err = NULL;
    MemoryRegionSection s;
    Fix f;

    fix_init(&f);
    f.fake.memslots = 3;
    fix_start(&f);
    g_assert_true(memory_region_init_ram_memfd(&f.extra, "x", MiB, NULL));
    s = section(&f, &f.extra, EXTRA_GPA);
    g_assert_true(vhost_dev_can_add_region(&f.dev, &s, &err));
    f.fake.memslots = 2;
    g_assert_false(vhost_dev_can_add_region(&f.dev, &s, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "dev0: guest memory would "
                    "need 3 regions, the backend accepts at most 2");
    /* A dry run: nothing sent, the table in force unchanged. */
    assert_log(&f, "");
    g_assert_cmpuint(f.dev.n_regions, ==, 2);
    g_assert_cmpuint(f.dev.mem_table_sends, ==, 1);
    fix_cleanup(&f);
}

/* The section continues the region before it (same fd, contiguous in
 * guest, host and file): merged, the count stays. */
static void test_merge_with_previous(void)
{
    g_autoptr(Error) err = NULL;
    MemoryRegionSection s;
    Fix f;

    fix_init(&f);
    memory_region_del_subregion(&f.root, &f.hi);
    f.fake.memslots = 2;
    fix_dev_init(&f);
    g_assert_cmpuint(f.dev.n_regions, ==, 2);
    s = section(&f, &f.hi, MiB);
    g_assert_true(vhost_dev_can_add_region(&f.dev, &s, &err));
    g_assert_null(err);
    /* The same memory elsewhere in guest space does not merge. */
    s.offset_within_address_space = EXTRA_GPA;
    g_assert_false(vhost_dev_can_add_region(&f.dev, &s, NULL));
    fix_cleanup(&f);
}

/* The section goes before a region it continues into: merged too. */
static void test_merge_with_next(void)
{
    MemoryRegionSection s;
    Fix f;

    fix_init(&f);
    memory_region_del_subregion(&f.root, &f.lo);
    f.fake.memslots = 2;
    fix_dev_init(&f);
    g_assert_cmphex(f.dev.regions[0].guest_phys_addr, ==, MiB);
    s = section(&f, &f.lo, 0);
    g_assert_true(vhost_dev_can_add_region(&f.dev, &s, NULL));
    /* The same host memory from another fd: the backend's capability is
     * asked, one that maps fds cannot merge it, one that takes any RAM
     * can. */
    memory_region_init_ram_ptr(&f.extra, "other-fd", MiB, f.ram.ram_ptr,
                               f.ram2.ram_fd, 0);
    s = section(&f, &f.extra, 0);
    g_assert_false(vhost_dev_can_add_region(&f.dev, &s, NULL));
    f.fake.any_ram = true;
    g_assert_true(vhost_dev_can_add_region(&f.dev, &s, NULL));
    fix_cleanup(&f);
}

/* What the backend would not take, and a dev without a backend, never
 * refuse. */
static void test_filtered_and_disconnected(void)
{
    MemoryRegionSection s;
    Fix f;

    fix_init(&f);
    f.fake.memslots = 2;
    fix_dev_init(&f);
    s = section(&f, &f.anon, EXTRA_GPA);     /* RAM without an fd */
    g_assert_true(vhost_dev_can_add_region(&f.dev, &s, NULL));
    s = section(&f, &f.mmio, EXTRA_GPA);     /* not RAM */
    g_assert_true(vhost_dev_can_add_region(&f.dev, &s, NULL));
    g_assert_true(memory_region_init_ram_memfd(&f.extra, "x", MiB, NULL));
    s = section(&f, &f.extra, EXTRA_GPA);
    g_assert_false(vhost_dev_can_add_region(&f.dev, &s, NULL));
    vhost_dev_cleanup(&f.dev);
    g_assert_true(vhost_dev_can_add_region(&f.dev, &s, NULL));
    fix_cleanup(&f);
}

/* After the dry run said yes, the real plug gives the predicted table. */
static void test_prediction_holds(void)
{
    MemoryRegionSection s;
    Fix f;

    fix_init(&f);
    f.fake.memslots = 3;
    fix_start(&f);
    g_assert_true(memory_region_init_ram_memfd(&f.extra, "x", MiB, NULL));
    s = section(&f, &f.extra, EXTRA_GPA);
    g_assert_true(vhost_dev_can_add_region(&f.dev, &s, NULL));
    memory_region_add_subregion(&f.root, EXTRA_GPA, &f.extra);
    g_assert_cmpuint(f.dev.n_regions, ==, 3);
    assert_log(&f, "set_mem_table n=3 [0x0+0x200000 fd] "
               "[0x10000000+0x100000 fd] [0x30000000+0x100000 fd];");
    memory_region_del_subregion(&f.root, &f.extra);
    assert_log(&f, TABLE2 ";");
    fix_cleanup(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vhost/hotplug/new-region", test_new_region);
    g_test_add_func("/vhost/hotplug/merge-previous",
                    test_merge_with_previous);
    g_test_add_func("/vhost/hotplug/merge-next", test_merge_with_next);
    g_test_add_func("/vhost/hotplug/filtered", test_filtered_and_disconnected);
    g_test_add_func("/vhost/hotplug/prediction", test_prediction_holds);
    return g_test_run();
}
