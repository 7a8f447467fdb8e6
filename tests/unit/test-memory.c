/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the memory API (system/memory.c): flattening with
 * priorities, aliases and disabled regions; the exact sequence of listener
 * calls for each kind of change; transactions; ioeventfds and dirty logging
 * as listeners see them.  Dispatch to RAM and I/O and fd-backed RAM are in
 * test-memory-dispatch.c; both use the recording listener and fixture of
 * memory-fake.c.  No /dev/kvm needed.
 */
#include "memory-fake.h"

/* --- flattening -------------------------------------------------------- */

static void test_flat_basic(void)
{
    MemoryRegion root, a, b;
    AddressSpace as;

    memory_region_init(&root, "root", UINT64_MAX);
    address_space_init(&as, &root, "as");
    assert_flat(&as, "");
    ram_init(&a, "a", 0x1000);
    ram_init(&b, "b", 0x2000);
    memory_region_add_subregion(&root, 0x3000, &b);
    memory_region_add_subregion(&root, 0x0, &a);
    assert_flat(&as, "a@0x0+0x1000 b@0x3000+0x2000");
    memory_region_set_address(&b, 0x1000);
    /* Adjacent but different regions stay two sections. */
    assert_flat(&as, "a@0x0+0x1000 b@0x1000+0x2000");
    memory_region_del_subregion(&root, &a);
    assert_flat(&as, "b@0x1000+0x2000");
    address_space_destroy(&as);
    memory_region_finalize(&a);
    memory_region_finalize(&b);
    memory_region_finalize(&root);
}

static void test_flat_priority(void)
{
    MemoryRegion root, ram, io, low;
    AddressSpace as;
    GString *log = g_string_new("");
    Dev d = { .log = log };

    memory_region_init(&root, "root", UINT64_MAX);
    address_space_init(&as, &root, "as");
    ram_init(&ram, "ram", 0x10000);
    memory_region_init_io(&io, &dev_ops, &d, "io", 0x1000);
    memory_region_init_io(&low, &dev_ops, &d, "low", 0x20000);
    memory_region_add_subregion(&root, 0, &ram);
    memory_region_add_subregion_overlap(&root, 0x4000, &io, 1);
    /* Lower priority than RAM: only shows beyond the end of RAM. */
    memory_region_add_subregion_overlap(&root, 0, &low, -1);
    assert_flat(&as, "ram@0x0+0x4000 io@0x4000+0x1000 "
                "ram@0x5000+0xb000/0x5000 low@0x10000+0x10000/0x10000");
    /* Disabled regions are invisible; the RAM pieces merge back. */
    memory_region_set_enabled(&io, false);
    assert_flat(&as, "ram@0x0+0x10000 low@0x10000+0x10000/0x10000");
    memory_region_set_enabled(&io, true);
    memory_region_set_enabled(&ram, false);
    assert_flat(&as, "low@0x0+0x4000 io@0x4000+0x1000 "
                "low@0x5000+0x1b000/0x5000");
    address_space_destroy(&as);
    memory_region_finalize(&root);
    memory_region_finalize(&ram);
    memory_region_finalize(&io);
    memory_region_finalize(&low);
    g_string_free(log, TRUE);
}

static void test_flat_equal_priority(void)
{
    MemoryRegion root, first, second;
    AddressSpace as;

    memory_region_init(&root, "root", 0x10000);
    address_space_init(&as, &root, "as");
    ram_init(&first, "first", 0x2000);
    ram_init(&second, "second", 0x2000);
    memory_region_add_subregion_overlap(&root, 0x0, &first, 2);
    memory_region_add_subregion_overlap(&root, 0x1000, &second, 2);
    assert_flat(&as, "first@0x0+0x1000 second@0x1000+0x2000");
    /* Re-adding makes it the later one: now it wins. */
    memory_region_del_subregion(&root, &first);
    memory_region_add_subregion_overlap(&root, 0x0, &first, 2);
    assert_flat(&as, "first@0x0+0x2000 second@0x2000+0x1000/0x1000");
    /* Moving does not re-add: first still wins. */
    memory_region_set_address(&second, 0x800);
    assert_flat(&as, "first@0x0+0x2000 second@0x2000+0x800/0x1800");
    address_space_destroy(&as);
    memory_region_finalize(&root);
    memory_region_finalize(&first);
    memory_region_finalize(&second);
}

static void test_flat_alias(void)
{
    MemoryRegion root, ram, lo, hi, hole, sub, inner, win;
    AddressSpace as;

    memory_region_init(&root, "root", UINT64_MAX);
    address_space_init(&as, &root, "as");
    ram_init(&ram, "ram", 0x10000);
    /* Two windows of ram, contiguous in both spaces: one section. */
    memory_region_init_alias(&lo, "lo", &ram, 0x2000, 0x1000);
    memory_region_init_alias(&hi, "hi", &ram, 0x3000, 0x1000);
    memory_region_add_subregion(&root, 0x100000, &lo);
    memory_region_add_subregion(&root, 0x101000, &hi);
    assert_flat(&as, "ram@0x100000+0x2000/0x2000");
    /* A window onto a container is clipped to the window. */
    memory_region_init(&sub, "sub", 0x8000);
    ram_init(&inner, "inner", 0x8000);
    memory_region_add_subregion(&sub, 0x1000, &inner);
    memory_region_init_alias(&win, "win", &sub, 0x2000, 0x2000);
    memory_region_add_subregion(&root, 0x200000, &win);
    assert_flat(&as, "ram@0x100000+0x2000/0x2000 "
                "inner@0x200000+0x2000/0x1000");
    /* A change behind the alias reaches the address space. */
    memory_region_set_address(&inner, 0x3000);
    assert_flat(&as, "ram@0x100000+0x2000/0x2000 inner@0x201000+0x1000");
    memory_region_set_readonly(&hi, true);
    assert_flat(&as, "ram@0x100000+0x1000/0x2000 "
                "ram@0x101000+0x1000/0x3000 ro inner@0x201000+0x1000");
    /* An alias window can be partly hidden like any region. */
    memory_region_init_io(&hole, NULL, NULL, "hole", 0x800);
    memory_region_add_subregion_overlap(&root, 0x100400, &hole, 1);
    assert_flat(&as, "ram@0x100000+0x400/0x2000 hole@0x100400+0x800 "
                "ram@0x100c00+0x400/0x2c00 ram@0x101000+0x1000/0x3000 ro "
                "inner@0x201000+0x1000");
    address_space_destroy(&as);
    memory_region_finalize(&root);
    memory_region_finalize(&lo);
    memory_region_finalize(&hi);
    memory_region_finalize(&hole);
    memory_region_finalize(&win);
    memory_region_finalize(&sub);
    memory_region_finalize(&inner);
    memory_region_finalize(&ram);
}

static void test_flat_nested(void)
{
    MemoryRegion root, bus, dev, ram;
    AddressSpace as;

    memory_region_init(&root, "root", UINT64_MAX);
    address_space_init(&as, &root, "as");
    memory_region_init(&bus, "bus", 0x1000);
    ram_init(&dev, "dev", 0x2000);   /* overhangs the bus: clipped */
    ram_init(&ram, "ram", 0x4000);
    memory_region_add_subregion(&bus, 0x800, &dev);
    memory_region_add_subregion_overlap(&root, 0x10000, &bus, 1);
    memory_region_add_subregion(&root, 0xe000, &ram);
    /* Containers show no content of their own: the gap in the bus is
     * transparent, the RAM under it shows through. */
    assert_flat(&as, "ram@0xe000+0x2800 dev@0x10800+0x800 "
                "ram@0x11000+0x1000/0x3000");
    memory_region_set_address(&dev, 0);
    assert_flat(&as, "ram@0xe000+0x2000 dev@0x10000+0x1000 "
                "ram@0x11000+0x1000/0x3000");
    address_space_destroy(&as);
    memory_region_finalize(&root);
    memory_region_finalize(&bus);
    memory_region_finalize(&dev);
    memory_region_finalize(&ram);
}

/* --- listeners --------------------------------------------------------- */

static void test_listener_add_del(void)
{
    Fixture f;

    fixture_init(&f);
    memory_listener_register(&f.rec.l, &f.as);
    assert_log(f.log, "begin;commit");
    memory_region_add_subregion(&f.root, 0x1000, &f.ram);
    assert_log(f.log, "begin;add ram@0x1000+0x4000;commit");
    memory_region_add_subregion(&f.root, 0x0, &f.io);
    assert_log(f.log, "begin;add io@0x0+0x40;nop ram@0x1000+0x4000;commit");
    memory_region_del_subregion(&f.root, &f.ram);
    assert_log(f.log, "begin;del ram@0x1000+0x4000;nop io@0x0+0x40;commit");
    /* A split: the old section goes, two new ones come, in address order. */
    memory_region_add_subregion_overlap(&f.root, 0x0, &f.ram, -1);
    assert_log(f.log, "begin;nop io@0x0+0x40;add ram@0x40+0x3fc0/0x40;"
               "commit");
    memory_listener_unregister(&f.rec.l);
    assert_log(f.log, "begin;del io@0x0+0x40;del ram@0x40+0x3fc0/0x40;"
               "commit");
    /* Unregistered: silent, and unregistering again is harmless. */
    memory_region_del_subregion(&f.root, &f.io);
    memory_listener_unregister(&f.rec.l);
    assert_log(f.log, "");
    memory_listener_register(&f.rec.l, &f.as);
    assert_log(f.log, "begin;add ram@0x0+0x4000;commit");
    fixture_cleanup(&f);
}

static void test_listener_resize_nochange(void)
{
    Fixture f;
    MemoryRegion hidden;

    fixture_init(&f);
    memory_region_add_subregion(&f.root, 0x0, &f.ram);
    memory_listener_register(&f.rec.l, &f.as);
    assert_log(f.log, "begin;add ram@0x0+0x4000;commit");
    memory_region_set_size(&f.ram, 0x2000);
    assert_log(f.log, "begin;del ram@0x0+0x4000;add ram@0x0+0x2000;commit");
    /* Growing RAM beyond its mapping is refused: nothing happens. */
    memory_region_set_size(&f.ram, 0x8000);
    assert_log(f.log, "");
    g_assert_cmpuint(f.ram.size, ==, 0x2000);
    /* A region entirely under a higher-priority one changes nothing. */
    ram_init(&hidden, "hidden", 0x1000);
    memory_region_add_subregion_overlap(&f.root, 0x0, &hidden, -1);
    assert_log(f.log, "begin;nop ram@0x0+0x2000;commit");
    memory_region_set_readonly(&f.ram, true);
    assert_log(f.log, "begin;del ram@0x0+0x2000;add ram@0x0+0x2000 ro;"
               "commit");
    memory_region_del_subregion(&f.root, &hidden);
    memory_region_finalize(&hidden);
    assert_log(f.log, "begin;nop ram@0x0+0x2000 ro;commit");
    fixture_cleanup(&f);
}

static void test_listener_order(void)
{
    Fixture f;
    Rec a, b;

    fixture_init(&f);
    rec_init(&a, f.log, "A", 10);
    rec_init(&b, f.log, "B", -5);
    memory_listener_register(&a.l, &f.as);
    memory_listener_register(&b.l, &f.as);
    assert_log(f.log, "A:begin;A:commit;B:begin;B:commit");
    memory_region_add_subregion(&f.root, 0x0, &f.ram);
    assert_log(f.log, "B:begin;A:begin;B:add ram@0x0+0x4000;"
               "A:add ram@0x0+0x4000;B:commit;A:commit");
    memory_region_del_subregion(&f.root, &f.ram);
    assert_log(f.log, "B:begin;A:begin;A:del ram@0x0+0x4000;"
               "B:del ram@0x0+0x4000;B:commit;A:commit");
    memory_listener_unregister(&a.l);
    memory_listener_unregister(&b.l);
    assert_log(f.log, "A:begin;A:commit;B:begin;B:commit");
    fixture_cleanup(&f);
}

static void test_transaction(void)
{
    Fixture f;

    fixture_init(&f);
    memory_listener_register(&f.rec.l, &f.as);
    g_string_truncate(f.log, 0);
    address_space_transaction_begin(&f.as);
    memory_region_add_subregion(&f.root, 0x0, &f.ram);
    address_space_transaction_begin(&f.as);
    memory_region_add_subregion(&f.root, 0x10000, &f.io);
    memory_region_set_size(&f.ram, 0x1000);
    address_space_transaction_commit(&f.as);
    /* Nothing until the outermost commit; the view is the old one. */
    assert_log(f.log, "");
    assert_flat(&f.as, "");
    g_assert_true(f.as.update_pending);
    address_space_transaction_commit(&f.as);
    assert_log(f.log, "begin;add ram@0x0+0x1000;add io@0x10000+0x40;commit");
    assert_flat(&f.as, "ram@0x0+0x1000 io@0x10000+0x40");
    g_assert_false(f.as.update_pending);
    /* A transaction without changes tells nobody anything. */
    address_space_transaction_begin(&f.as);
    address_space_transaction_commit(&f.as);
    assert_log(f.log, "");
    fixture_cleanup(&f);
}

static void test_two_address_spaces(void)
{
    Fixture f;
    MemoryRegion root2, alias;
    AddressSpace as2;
    GString *log2 = g_string_new("");
    Rec r2;

    fixture_init(&f);
    memory_region_init(&root2, "root2", UINT64_MAX);
    address_space_init(&as2, &root2, "as2");
    memory_region_init_alias(&alias, "alias", &f.root, 0x0, 0x100000);
    memory_region_add_subregion(&root2, 0x80000000, &alias);
    rec_init(&r2, log2, NULL, 0);
    memory_listener_register(&f.rec.l, &f.as);
    memory_listener_register(&r2.l, &as2);
    g_string_truncate(f.log, 0);
    g_string_truncate(log2, 0);
    memory_region_add_subregion(&f.root, 0x1000, &f.ram);
    assert_log(f.log, "begin;add ram@0x1000+0x4000;commit");
    assert_log(log2, "begin;add ram@0x80001000+0x4000;commit");
    /* A transaction on one address space leaves the other alone. */
    address_space_transaction_begin(&as2);
    memory_region_set_enabled(&f.ram, false);
    assert_log(f.log, "begin;del ram@0x1000+0x4000;commit");
    assert_log(log2, "");
    address_space_transaction_commit(&as2);
    assert_log(log2, "begin;del ram@0x80001000+0x4000;commit");
    memory_listener_unregister(&r2.l);
    address_space_destroy(&as2);
    memory_region_finalize(&root2);
    memory_region_finalize(&alias);
    g_string_free(log2, TRUE);
    fixture_cleanup(&f);
}

static void test_listener_eventfd(void)
{
    Fixture f;
    EventNotifier e1, e2;

    fixture_init(&f);
    g_assert_true(event_notifier_init(&e1, false, NULL));
    g_assert_true(event_notifier_init(&e2, false, NULL));
    memory_region_add_subregion(&f.root, 0x1000, &f.io);
    memory_listener_register(&f.rec.l, &f.as);
    assert_log(f.log, "begin;add io@0x1000+0x40;commit");
    memory_region_add_eventfd(&f.io, 0x10, 4, true, 5, &e1);
    assert_log(f.log, "begin;nop io@0x1000+0x40;"
               "evadd io@0x1010+0x4/0x10=0x5;commit");
    memory_region_add_eventfd(&f.io, 0x20, 0, false, 0, &e2);
    assert_log(f.log, "begin;nop io@0x1000+0x40;evadd io@0x1020+0x0/0x20;"
               "commit");
    /* Moving the region moves its eventfds. */
    memory_region_set_address(&f.io, 0x2000);
    assert_log(f.log, "begin;del io@0x1000+0x40;add io@0x2000+0x40;"
               "evdel io@0x1010+0x4/0x10=0x5;evdel io@0x1020+0x0/0x20;"
               "evadd io@0x2010+0x4/0x10=0x5;evadd io@0x2020+0x0/0x20;"
               "commit");
    /* Covering an eventfd's address hides it. */
    memory_region_add_subregion_overlap(&f.root, 0x2018, &f.ram, 1);
    assert_log(f.log, "begin;del io@0x2000+0x40;add io@0x2000+0x18;"
               "add ram@0x2018+0x4000;evdel io@0x2020+0x0/0x20;commit");
    memory_region_del_eventfd(&f.io, 0x10, 4, true, 5, &e1);
    assert_log(f.log, "begin;nop io@0x2000+0x18;nop ram@0x2018+0x4000;"
               "evdel io@0x2010+0x4/0x10=0x5;commit");
    memory_region_del_subregion(&f.root, &f.ram);
    g_string_truncate(f.log, 0);
    memory_listener_unregister(&f.rec.l);
    assert_log(f.log, "begin;del io@0x2000+0x40;evdel io@0x2020+0x0/0x20;"
               "commit");
    memory_listener_register(&f.rec.l, &f.as);
    assert_log(f.log, "begin;add io@0x2000+0x40;evadd io@0x2020+0x0/0x20;"
               "commit");
    fixture_cleanup(&f);
    event_notifier_cleanup(&e1);
    event_notifier_cleanup(&e2);
}

static void test_listener_log(void)
{
    Fixture f;

    fixture_init(&f);
    memory_region_add_subregion(&f.root, 0x0, &f.ram);
    memory_listener_register(&f.rec.l, &f.as);
    g_string_truncate(f.log, 0);
    memory_region_set_log(&f.ram, true, DIRTY_MEMORY_MIGRATION);
    assert_log(f.log, "begin;nop ram@0x0+0x4000;"
               "log_start ram@0x0+0x4000 0>1;commit");
    /* Setting it again changes nothing and tells nobody. */
    memory_region_set_log(&f.ram, true, DIRTY_MEMORY_MIGRATION);
    assert_log(f.log, "");
    address_space_log_sync(&f.as);
    assert_log(f.log, "sync ram@0x0+0x4000");
    /* A new listener learns that the section is being logged. */
    memory_listener_unregister(&f.rec.l);
    g_string_truncate(f.log, 0);
    memory_listener_register(&f.rec.l, &f.as);
    assert_log(f.log, "begin;add ram@0x0+0x4000;"
               "log_start ram@0x0+0x4000 0>1;commit");
    memory_region_set_log(&f.ram, false, DIRTY_MEMORY_MIGRATION);
    assert_log(f.log, "begin;nop ram@0x0+0x4000;"
               "log_stop ram@0x0+0x4000 1>0;commit");
    address_space_log_sync(&f.as);
    assert_log(f.log, "");
    fixture_cleanup(&f);
}

static void test_log_global(void)
{
    Fixture f;
    Rec a, b, c;
    Error *err = NULL;

    fixture_init(&f);
    rec_init(&a, f.log, "A", 0);
    rec_init(&b, f.log, "B", 1);
    rec_init(&c, f.log, "C", 2);
    b.refuse_global = true;
    memory_listener_register(&a.l, &f.as);
    memory_listener_register(&b.l, &f.as);
    memory_listener_register(&c.l, &f.as);
    g_string_truncate(f.log, 0);
    g_assert_false(address_space_log_global_start(&f.as, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, "B: refused");
    error_free(err);
    err = NULL;
    assert_log(f.log, "A:gstart;B:gstart;A:gstop");
    g_assert_cmpuint(f.as.log_global_depth, ==, 0);
    address_space_log_global_stop(&f.as);   /* not started: no-op */
    assert_log(f.log, "");

    b.refuse_global = false;
    g_assert_true(address_space_log_global_start(&f.as, &err));
    g_assert_null(err);
    assert_log(f.log, "A:gstart;B:gstart;C:gstart");
    g_assert_true(address_space_log_global_start(&f.as, NULL));  /* nests */
    address_space_log_global_stop(&f.as);
    assert_log(f.log, "");
    /* A listener that joins while logging is on starts logging too. */
    Rec d;
    rec_init(&d, f.log, "D", 3);
    memory_listener_register(&d.l, &f.as);
    assert_log(f.log, "D:gstart;D:begin;D:commit");
    memory_listener_unregister(&d.l);
    g_string_truncate(f.log, 0);
    address_space_log_global_stop(&f.as);
    assert_log(f.log, "C:gstop;B:gstop;A:gstop");
    memory_listener_unregister(&a.l);
    memory_listener_unregister(&b.l);
    memory_listener_unregister(&c.l);
    fixture_cleanup(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/flat/basic", test_flat_basic);
    g_test_add_func("/memory/flat/priority", test_flat_priority);
    g_test_add_func("/memory/flat/equal-priority", test_flat_equal_priority);
    g_test_add_func("/memory/flat/alias", test_flat_alias);
    g_test_add_func("/memory/flat/nested", test_flat_nested);
    g_test_add_func("/memory/listener/add-del", test_listener_add_del);
    g_test_add_func("/memory/listener/resize-nochange",
                    test_listener_resize_nochange);
    g_test_add_func("/memory/listener/order", test_listener_order);
    g_test_add_func("/memory/listener/transaction", test_transaction);
    g_test_add_func("/memory/listener/two-address-spaces",
                    test_two_address_spaces);
    g_test_add_func("/memory/listener/eventfd", test_listener_eventfd);
    g_test_add_func("/memory/listener/log", test_listener_log);
    g_test_add_func("/memory/listener/log-global", test_log_global);
    return g_test_run();
}
