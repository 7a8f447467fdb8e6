/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the memory API (system/memory.c): flattening with
 * priorities, aliases and disabled regions; the exact sequence of listener
 * calls for each kind of change; transactions; ioeventfds; dirty logging;
 * dispatch to RAM and I/O; fd-backed RAM.  No /dev/kvm needed.
 */
#include "exec/memory.h"

#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- helpers ----------------------------------------------------------- */

static void append_section(GString *s, const MemoryRegionSection *sec)
{
    g_string_append_printf(s, "%s@0x%" PRIx64 "+0x%" PRIx64, sec->mr->name,
                           sec->offset_within_address_space, sec->size);
    if (sec->offset_within_region) {
        g_string_append_printf(s, "/0x%" PRIx64, sec->offset_within_region);
    }
    if (sec->readonly) {
        g_string_append(s, " ro");
    }
}

/* The flat view as "name@addr+size[/offset][ ro]" separated by spaces. */
static char *flat_str(AddressSpace *as)
{
    GString *s = g_string_new("");

    for (unsigned i = 0; i < as->current_map->nr; i++) {
        if (i) {
            g_string_append_c(s, ' ');
        }
        append_section(s, &as->current_map->sections[i]);
    }
    return g_string_free(s, FALSE);
}

#define assert_flat(as, expected) do {              \
        g_autofree char *got_ = flat_str(as);       \
        g_assert_cmpstr(got_, ==, expected);        \
    } while (0)

/* A listener that records every call as "op args;" into log. */
typedef struct Rec {
    MemoryListener l;
    GString *log;
    const char *tag;         /* prefix "tag:" when several share a log */
    bool refuse_global;      /* log_global_start fails */
} Rec;

static Rec *rec_of(MemoryListener *l)
{
    return (Rec *)l;
}

static void rec_op_sfx(MemoryListener *l, const char *op,
                       const MemoryRegionSection *s, const char *suffix)
{
    Rec *r = rec_of(l);

    if (r->tag) {
        g_string_append_printf(r->log, "%s:", r->tag);
    }
    g_string_append(r->log, op);
    if (s) {
        g_string_append_c(r->log, ' ');
        append_section(r->log, s);
    }
    g_string_append_printf(r->log, "%s;", suffix ? suffix : "");
}

static void rec_op(MemoryListener *l, const char *op,
                   const MemoryRegionSection *s)
{
    rec_op_sfx(l, op, s, NULL);
}

static void rec_begin(MemoryListener *l) { rec_op(l, "begin", NULL); }
static void rec_commit(MemoryListener *l) { rec_op(l, "commit", NULL); }
static void rec_add(MemoryListener *l, MemoryRegionSection *s)
{
    rec_op(l, "add", s);
}
static void rec_del(MemoryListener *l, MemoryRegionSection *s)
{
    rec_op(l, "del", s);
}
static void rec_nop(MemoryListener *l, MemoryRegionSection *s)
{
    rec_op(l, "nop", s);
}
static void rec_log(MemoryListener *l, MemoryRegionSection *s, int o, int n,
                    const char *op)
{
    g_autofree char *sfx = g_strdup_printf(" %d>%d", o, n);

    rec_op_sfx(l, op, s, sfx);
}
static void rec_log_start(MemoryListener *l, MemoryRegionSection *s,
                          int o, int n)
{
    rec_log(l, s, o, n, "log_start");
}
static void rec_log_stop(MemoryListener *l, MemoryRegionSection *s,
                         int o, int n)
{
    rec_log(l, s, o, n, "log_stop");
}
static void rec_log_sync(MemoryListener *l, MemoryRegionSection *s)
{
    rec_op(l, "sync", s);
}
static bool rec_global_start(MemoryListener *l, Error **errp)
{
    rec_op(l, "gstart", NULL);
    if (rec_of(l)->refuse_global) {
        error_setg(errp, "refused");
        return false;
    }
    return true;
}
static void rec_global_stop(MemoryListener *l) { rec_op(l, "gstop", NULL); }
static void rec_eventfd(MemoryListener *l, MemoryRegionSection *s,
                        bool match, uint64_t data, const char *op)
{
    g_autofree char *sfx = match ? g_strdup_printf("=0x%" PRIx64, data) : NULL;

    rec_op_sfx(l, op, s, sfx);
}
static void rec_eventfd_add(MemoryListener *l, MemoryRegionSection *s,
                            bool match, uint64_t data, EventNotifier *e)
{
    rec_eventfd(l, s, match, data, "evadd");
}
static void rec_eventfd_del(MemoryListener *l, MemoryRegionSection *s,
                            bool match, uint64_t data, EventNotifier *e)
{
    rec_eventfd(l, s, match, data, "evdel");
}

static void rec_init(Rec *r, GString *log, const char *tag, int priority)
{
    *r = (Rec) {
        .l = {
            .begin = rec_begin, .commit = rec_commit,
            .region_add = rec_add, .region_del = rec_del,
            .region_nop = rec_nop,
            .log_start = rec_log_start, .log_stop = rec_log_stop,
            .log_sync = rec_log_sync,
            .log_global_start = rec_global_start,
            .log_global_stop = rec_global_stop,
            .eventfd_add = rec_eventfd_add, .eventfd_del = rec_eventfd_del,
            .priority = priority, .name = tag,
        },
        .log = log, .tag = tag,
    };
}

/* The log without the trailing ';', then cleared. */
static char *take(GString *log)
{
    if (log->len && log->str[log->len - 1] == ';') {
        g_string_truncate(log, log->len - 1);
    }
    char *s = g_strdup(log->str);
    g_string_truncate(log, 0);
    return s;
}

#define assert_log(log, expected) do {              \
        g_autofree char *got_ = take(log);          \
        g_assert_cmpstr(got_, ==, expected);        \
    } while (0)

/* An I/O device with 64 byte-wide registers that logs each access. */
typedef struct Dev {
    GString *log;
    uint8_t regs[64];
} Dev;

static uint64_t dev_read(void *opaque, hwaddr addr, unsigned size)
{
    Dev *d = opaque;
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)d->regs[addr + i] << (8 * i);
    }
    g_string_append_printf(d->log, "r%u@0x%" PRIx64 ";", size, addr);
    return v;
}

static void dev_write(void *opaque, hwaddr addr, uint64_t data,
                      unsigned size)
{
    Dev *d = opaque;

    for (unsigned i = 0; i < size; i++) {
        d->regs[addr + i] = data >> (8 * i);
    }
    g_string_append_printf(d->log, "w%u@0x%" PRIx64 "=0x%" PRIx64 ";", size,
                           addr, data);
}

static const MemoryRegionOps dev_ops = {
    .read = dev_read, .write = dev_write,
};
static const MemoryRegionOps dev_ops_1 = {
    .read = dev_read, .write = dev_write, .impl_min = 1, .impl_max = 1,
};
static const MemoryRegionOps dev_ops_4 = {
    .read = dev_read, .write = dev_write, .impl_min = 4, .impl_max = 4,
};

static uint8_t backing[0x20000];

static void ram_init(MemoryRegion *mr, const char *name, uint64_t size)
{
    memory_region_init_ram_ptr(mr, name, size, backing, -1, 0);
}

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

typedef struct Fixture {
    MemoryRegion root, ram, io;
    AddressSpace as;
    GString *log;
    Rec rec;
    Dev dev;
} Fixture;

static void fixture_init(Fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->log = g_string_new("");
    f->dev.log = g_string_new("");
    memory_region_init(&f->root, "root", UINT64_MAX);
    address_space_init(&f->as, &f->root, "as");
    ram_init(&f->ram, "ram", 0x4000);
    memory_region_init_io(&f->io, &dev_ops, &f->dev, "io", 0x40);
    rec_init(&f->rec, f->log, NULL, 0);
}

static void fixture_cleanup(Fixture *f)
{
    memory_listener_unregister(&f->rec.l);
    address_space_destroy(&f->as);
    memory_region_finalize(&f->root);
    memory_region_finalize(&f->ram);
    memory_region_finalize(&f->io);
    g_string_free(f->log, TRUE);
    g_string_free(f->dev.log, TRUE);
}

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
