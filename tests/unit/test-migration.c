/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the pieces of migration that need no second process:
 * the memory API's migration dirty bitmap (set, test-and-clear,
 * snapshots, aliases, address_space_write marking, logging off), the
 * stream encoders and the bounds-checked reader, and the configuration
 * check that makes a destination refuse a stream from another machine.
 */
#include "exec/memory.h"
#include "migration/stream.h"
#include "../../migration/migration-internal.h"

#include <string.h>

#define PAGE DIRTY_PAGE_SIZE

typedef struct Mem {
    MemoryRegion root, ram, alias;
    AddressSpace as;
} Mem;

/* 1 MiB of RAM, mapped at 0 and through an alias of its second half at
 * 16 MiB. */
static void mem_init(Mem *m)
{
    memory_region_init(&m->root, "root", UINT64_MAX);
    address_space_init(&m->as, &m->root, "memory");
    g_assert_true(memory_region_init_ram_memfd(&m->ram, "ram", 1 << 20,
                                               NULL));
    memory_region_init_alias(&m->alias, "alias", &m->ram, 512 << 10,
                             512 << 10);
    memory_region_add_subregion(&m->root, 0, &m->ram);
    memory_region_add_subregion(&m->root, 16 << 20, &m->alias);
}

static void mem_free(Mem *m)
{
    memory_region_del_subregion(&m->root, &m->alias);
    memory_region_del_subregion(&m->root, &m->ram);
    memory_region_finalize(&m->alias);
    memory_region_finalize(&m->ram);
    address_space_destroy(&m->as);
    memory_region_finalize(&m->root);
}

static void test_dirty_off(void)
{
    Mem m;

    mem_init(&m);
    memory_region_set_dirty(&m.ram, 0, PAGE);
    g_assert_false(memory_region_get_dirty(&m.ram, 0, PAGE));
    g_assert_null(m.ram.dirty_bitmap);
    mem_free(&m);
}

static void test_dirty_set_clear(void)
{
    Mem m;

    mem_init(&m);
    memory_region_set_log(&m.ram, true, DIRTY_MEMORY_MIGRATION);
    g_assert_false(memory_region_get_dirty(&m.ram, 0, 1 << 20));
    /* A write straddling a page boundary dirties both pages. */
    memory_region_set_dirty(&m.ram, 3 * PAGE - 1, 2);
    g_assert_false(memory_region_get_dirty(&m.ram, PAGE, PAGE));
    g_assert_true(memory_region_get_dirty(&m.ram, 2 * PAGE, 1));
    g_assert_true(memory_region_get_dirty(&m.ram, 3 * PAGE, 1));
    g_assert_true(memory_region_test_and_clear_dirty(&m.ram, 2 * PAGE,
                                                     PAGE));
    g_assert_false(memory_region_get_dirty(&m.ram, 2 * PAGE, PAGE));
    g_assert_true(memory_region_get_dirty(&m.ram, 3 * PAGE, PAGE));
    /* Beyond the region: ignored. */
    memory_region_set_dirty(&m.ram, 2 << 20, PAGE);
    /* Logging again starts clean. */
    memory_region_set_log(&m.ram, false, DIRTY_MEMORY_MIGRATION);
    memory_region_set_log(&m.ram, true, DIRTY_MEMORY_MIGRATION);
    g_assert_false(memory_region_get_dirty(&m.ram, 0, 1 << 20));
    mem_free(&m);
}

static void test_dirty_snapshot(void)
{
    Mem m;
    DirtyBitmapSnapshot *snap;
    unsigned long bits[2] = { 0x5, 1UL << 3 };   /* pages 0, 2, 67 */

    mem_init(&m);
    memory_region_set_log(&m.ram, true, DIRTY_MEMORY_MIGRATION);
    memory_region_set_dirty_bitmap(&m.ram, 10 * PAGE, bits, 128);
    memory_region_set_dirty(&m.ram, 255 * PAGE, PAGE);
    snap = memory_region_snapshot_and_clear_dirty(&m.ram, 8 * PAGE,
                                                  100 * PAGE);
    g_assert_cmpuint(snap->start, ==, 8 * PAGE);
    g_assert_true(memory_region_snapshot_get_dirty(&m.ram, snap, 10 * PAGE,
                                                   PAGE));
    g_assert_false(memory_region_snapshot_get_dirty(&m.ram, snap,
                                                    11 * PAGE, PAGE));
    g_assert_true(memory_region_snapshot_get_dirty(&m.ram, snap, 12 * PAGE,
                                                   PAGE));
    g_assert_true(memory_region_snapshot_get_dirty(&m.ram, snap, 77 * PAGE,
                                                   PAGE));
    g_free(snap);
    /* Taken pages are clean, the one outside the range stays dirty. */
    g_assert_false(memory_region_get_dirty(&m.ram, 0, 200 * PAGE));
    g_assert_true(memory_region_get_dirty(&m.ram, 255 * PAGE, PAGE));
    mem_free(&m);
}

static void test_dirty_alias_and_write(void)
{
    Mem m;
    uint32_t v = 0x1234;

    mem_init(&m);
    memory_region_set_log(&m.ram, true, DIRTY_MEMORY_MIGRATION);
    /* Through the alias: page 1 of the alias is page 129 of the RAM. */
    memory_region_set_dirty(&m.alias, PAGE, 4);
    g_assert_true(memory_region_test_and_clear_dirty(&m.ram, 129 * PAGE,
                                                     PAGE));
    /* A guest-physical write through the address space. */
    g_assert_cmpint(address_space_write(&m.as, (16 << 20) + 5 * PAGE, &v,
                                        sizeof(v)), ==, MEMTX_OK);
    g_assert_true(memory_region_test_and_clear_dirty(&m.ram, 133 * PAGE,
                                                     PAGE));
    address_space_set_dirty(&m.as, 7 * PAGE, 2 * PAGE);
    g_assert_true(memory_region_get_dirty(&m.ram, 7 * PAGE, PAGE));
    g_assert_true(memory_region_get_dirty(&m.ram, 8 * PAGE, PAGE));
    g_assert_false(memory_region_get_dirty(&m.ram, 9 * PAGE, PAGE));
    mem_free(&m);
}

/* --- stream encoding ----------------------------------------------------- */

static void test_stream_roundtrip(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autofree char *s = NULL;
    MigReader r;

    mig_put_u8(b, 7);
    mig_put_be16(b, 0x1234);
    mig_put_be32(b, 0xdeadbeef);
    mig_put_be64(b, 0x0102030405060708ULL);
    mig_put_str(b, "virtio-mmio@feb00000");
    g_assert_cmphex(b->data[1], ==, 0x12);          /* big-endian */
    mig_reader_init(&r, b->data, b->len);
    g_assert_cmpuint(mig_get_u8(&r), ==, 7);
    g_assert_cmphex(mig_get_be16(&r), ==, 0x1234);
    g_assert_cmphex(mig_get_be32(&r), ==, 0xdeadbeef);
    g_assert_cmphex(mig_get_be64(&r), ==, 0x0102030405060708ULL);
    s = mig_get_str(&r);
    g_assert_cmpstr(s, ==, "virtio-mmio@feb00000");
    g_assert_true(mig_reader_check(&r, "test", NULL));
}

static void test_stream_truncated(void)
{
    uint8_t buf[] = { 0, 10, 'a', 'b' };      /* a string claiming 10 */
    Error *err = NULL;
    MigReader r;

    mig_reader_init(&r, buf, sizeof(buf));
    g_assert_null(mig_get_str(&r));
    g_assert_cmpuint(mig_get_be64(&r), ==, 0);   /* stays failed */
    g_assert_false(mig_reader_check(&r, "device 'x'", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "device 'x': truncated"));
    error_free(err);
    /* Bytes left over are an error too. */
    mig_reader_init(&r, buf, sizeof(buf));
    mig_get_u8(&r);
    g_assert_false(mig_reader_check(&r, "x", NULL));
}

/* --- configuration check ------------------------------------------------- */

static GByteArray *config(uint64_t ram, uint32_t cpus, const char *accel,
                          const char *const *devs)
{
    GByteArray *b = g_byte_array_new();
    unsigned n = devs ? g_strv_length((char **)devs) : 0;

    mig_put_be64(b, ram);
    mig_put_be32(b, cpus);
    mig_put_str(b, accel);
    mig_put_be32(b, 1);
    mig_put_be64(b, 0);
    mig_put_be64(b, ram);
    mig_put_be32(b, n);
    for (unsigned i = 0; i < n; i++) {
        mig_put_str(b, devs[i]);
    }
    return b;
}

static void expect_mismatch(GByteArray *src, GByteArray *dst,
                            const char *text)
{
    Error *err = NULL;

    g_assert_false(savevm_config_check(src, dst, &err));
    if (!strstr(error_get_pretty(err), text)) {
        g_error("'%s' lacks '%s'", error_get_pretty(err), text);
    }
    error_free(err);
    g_byte_array_unref(src);
    g_byte_array_unref(dst);
}

static void test_config_check(void)
{
    static const char *const a[] = { "virtio-mmio@feb00000", NULL };
    static const char *const b[] = { "virtio-mmio@feb00200", NULL };
    g_autoptr(GByteArray) x = config(64 << 20, 1, "kvm", a);
    g_autoptr(GByteArray) y = config(64 << 20, 1, "kvm", a);

    g_assert_true(savevm_config_check(x, y, NULL));
    expect_mismatch(config(64 << 20, 1, "kvm", a),
                    config(32 << 20, 1, "kvm", a),
                    "configuration mismatch: RAM size (-m): source 64 MiB, "
                    "destination 32 MiB");
    expect_mismatch(config(64 << 20, 2, "kvm", a),
                    config(64 << 20, 1, "kvm", a),
                    "number of vCPUs (-smp): source 2, destination 1");
    expect_mismatch(config(64 << 20, 1, "kvm", a),
                    config(64 << 20, 1, "qtest", a),
                    "accelerator: source kvm, destination qtest");
    expect_mismatch(config(64 << 20, 1, "kvm", a),
                    config(64 << 20, 1, "kvm", b),
                    "device 'virtio-mmio@feb00000' of the source is missing "
                    "on the destination");
    expect_mismatch(config(64 << 20, 1, "kvm", NULL),
                    config(64 << 20, 1, "kvm", b),
                    "device 'virtio-mmio@feb00200' of the destination does "
                    "not exist on the source");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/dirty/off", test_dirty_off);
    g_test_add_func("/migration/dirty/set-clear", test_dirty_set_clear);
    g_test_add_func("/migration/dirty/snapshot", test_dirty_snapshot);
    g_test_add_func("/migration/dirty/alias-and-write",
                    test_dirty_alias_and_write);
    g_test_add_func("/migration/stream/roundtrip", test_stream_roundtrip);
    g_test_add_func("/migration/stream/truncated", test_stream_truncated);
    g_test_add_func("/migration/config-check", test_config_check);
    return g_test_run();
}
