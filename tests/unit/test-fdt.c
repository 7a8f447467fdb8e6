/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the machine device tree (hw/core/fdt.c): build a blob
 * for a small machine description, check it with libfdt and read back the
 * nodes a guest relies on (memory, cpus, chosen, serial, virtio-mmio).
 */
#include "hw/core/fdt.h"

#include <libfdt.h>
#include <string.h>

static const E820Entry ram[] = {
    { 0, 0x9fc00, E820_RAM },
    { 0x9fc00, 0x60400, E820_RESERVED },
    { 0x100000, 0xbff00000, E820_RAM },
    { 0x100000000ULL, 0x40000000, E820_RAM },
};

static const FdtMmioDevice mmio[] = {
    { 0xfeb00000, 0x200, 5 },
    { 0xfeb00200, 0x200, 6 },
};

static const FdtMachineDesc desc_default = {
    .ram = ram, .ram_nr = G_N_ELEMENTS(ram), .ncpus = 2,
    .cmdline = "console=ttyS0 virtio_mmio.device=512@0xfeb00000:5",
    .has_serial = true, .serial_port = 0x3f8, .serial_irq = 4,
    .mmio = mmio, .mmio_nr = G_N_ELEMENTS(mmio),
};

static void *build(const FdtMachineDesc *desc, size_t *size)
{
    g_autoptr(Error) err = NULL;
    void *fdt = fdt_build_machine(desc, size, &err);

    if (!fdt) {
        g_error("fdt_build_machine: %s", error_get_pretty(err));
    }
    g_assert_cmpint(fdt_check_header(fdt), ==, 0);
    g_assert_cmpuint(fdt_totalsize(fdt), ==, *size);
    return fdt;
}

static int node(const void *fdt, const char *path)
{
    int off = fdt_path_offset(fdt, path);

    if (off < 0) {
        g_error("%s: %s", path, fdt_strerror(off));
    }
    return off;
}

/* Property name of path as an array of n big-endian 32-bit cells. */
static void assert_cells(const void *fdt, const char *path, const char *name,
                         const uint32_t *cells, int n)
{
    int len;
    const fdt32_t *p = fdt_getprop(fdt, node(fdt, path), name, &len);

    g_assert_nonnull(p);
    g_assert_cmpint(len, ==, n * 4);
    for (int i = 0; i < n; i++) {
        g_assert_cmphex(fdt32_to_cpu(p[i]), ==, cells[i]);
    }
}

static void assert_string(const void *fdt, const char *path,
                          const char *name, const char *value)
{
    const char *p = fdt_getprop(fdt, node(fdt, path), name, NULL);

    g_assert_nonnull(p);
    g_assert_cmpstr(p, ==, value);
}

static void test_root_and_cpus(void)
{
    size_t size;
    g_autofree void *fdt = build(&desc_default, &size);

    assert_string(fdt, "/", "compatible", "kvmini,microvm");
    assert_cells(fdt, "/", "#address-cells", (uint32_t[]){ 2 }, 1);
    assert_cells(fdt, "/", "#size-cells", (uint32_t[]){ 2 }, 1);
    assert_cells(fdt, "/cpus/cpu@0", "reg", (uint32_t[]){ 0 }, 1);
    assert_cells(fdt, "/cpus/cpu@1", "reg", (uint32_t[]){ 1 }, 1);
    assert_string(fdt, "/cpus/cpu@1", "device_type", "cpu");
    g_assert_cmpint(fdt_path_offset(fdt, "/cpus/cpu@2"), ==,
                    -FDT_ERR_NOTFOUND);
}

static void test_memory(void)
{
    size_t size;
    g_autofree void *fdt = build(&desc_default, &size);

    assert_string(fdt, "/memory@0", "device_type", "memory");
    assert_cells(fdt, "/memory@0", "reg",
                 (uint32_t[]){ 0, 0, 0, 0x9fc00 }, 4);
    assert_cells(fdt, "/memory@100000", "reg",
                 (uint32_t[]){ 0, 0x100000, 0, 0xbff00000 }, 4);
    assert_cells(fdt, "/memory@100000000", "reg",
                 (uint32_t[]){ 1, 0, 0, 0x40000000 }, 4);
    g_assert_cmpint(fdt_path_offset(fdt, "/memory@9fc00"), ==,
                    -FDT_ERR_NOTFOUND);
}

static void test_chosen_and_serial(void)
{
    size_t size;
    g_autofree void *fdt = build(&desc_default, &size);

    assert_string(fdt, "/chosen", "bootargs", desc_default.cmdline);
    assert_string(fdt, "/chosen", "stdout-path", "/isa/serial@3f8");
    assert_string(fdt, "/isa/serial@3f8", "compatible", "ns16550a");
    assert_cells(fdt, "/isa/serial@3f8", "reg",
                 (uint32_t[]){ 1, 0x3f8, 8 }, 3);
    assert_cells(fdt, "/isa/serial@3f8", "interrupts", (uint32_t[]){ 4 }, 1);
    assert_cells(fdt, "/isa/serial@3f8", "clock-frequency",
                 (uint32_t[]){ 1843200 }, 1);
    assert_cells(fdt, "/isa", "#address-cells", (uint32_t[]){ 2 }, 1);
    assert_cells(fdt, "/isa", "#size-cells", (uint32_t[]){ 1 }, 1);
}

static void test_virtio_mmio(void)
{
    size_t size;
    g_autofree void *fdt = build(&desc_default, &size);

    assert_string(fdt, "/virtio_mmio@feb00000", "compatible", "virtio,mmio");
    assert_cells(fdt, "/virtio_mmio@feb00000", "reg",
                 (uint32_t[]){ 0, 0xfeb00000, 0, 0x200 }, 4);
    assert_cells(fdt, "/virtio_mmio@feb00000", "interrupts",
                 (uint32_t[]){ 5 }, 1);
    assert_cells(fdt, "/virtio_mmio@feb00200", "reg",
                 (uint32_t[]){ 0, 0xfeb00200, 0, 0x200 }, 4);
    assert_cells(fdt, "/virtio_mmio@feb00200", "interrupts",
                 (uint32_t[]){ 6 }, 1);

    /* Every interrupt goes to the node the root names as parent. */
    int len;
    const fdt32_t *parent = fdt_getprop(fdt, 0, "interrupt-parent", &len);
    g_assert_nonnull(parent);
    int ic = fdt_node_offset_by_phandle(fdt, fdt32_to_cpu(*parent));
    g_assert_cmpint(ic, >=, 0);
    g_assert_nonnull(fdt_getprop(fdt, ic, "interrupt-controller", NULL));
}

static void test_minimal(void)
{
    FdtMachineDesc desc = { .ram = ram, .ram_nr = 1, .ncpus = 1 };
    size_t size;
    g_autofree void *fdt = build(&desc, &size);

    assert_string(fdt, "/chosen", "bootargs", "");
    g_assert_cmpint(fdt_path_offset(fdt, "/isa"), ==, -FDT_ERR_NOTFOUND);
    g_assert_null(fdt_getprop(fdt, node(fdt, "/chosen"), "stdout-path",
                              NULL));
    g_assert_cmpint(fdt_subnode_offset(fdt, 0, "virtio_mmio@feb00000"), ==,
                    -FDT_ERR_NOTFOUND);
}

/* A blob larger than the first estimate: the builder must grow. */
static void test_large(void)
{
    g_autofree FdtMmioDevice *many = g_new0(FdtMmioDevice, 64);
    g_autofree char *cmdline = g_strnfill(20000, 'x');
    FdtMachineDesc desc = desc_default;
    size_t size;

    for (unsigned i = 0; i < 64; i++) {
        many[i] = (FdtMmioDevice){ 0xfeb00000 + i * 0x200, 0x200, 5 + i };
    }
    desc.mmio = many;
    desc.mmio_nr = 64;
    desc.ncpus = 64;
    desc.cmdline = cmdline;
    g_autofree void *fdt = build(&desc, &size);
    assert_string(fdt, "/chosen", "bootargs", cmdline);
    assert_cells(fdt, "/virtio_mmio@feb07e00", "interrupts",
                 (uint32_t[]){ 68 }, 1);
    node(fdt, "/cpus/cpu@63");
}

static void test_no_cpu(void)
{
    FdtMachineDesc desc = desc_default;
    g_autoptr(Error) err = NULL;
    size_t size = 0;

    desc.ncpus = 0;
    g_assert_null(fdt_build_machine(&desc, &size, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "device tree: the machine has no CPU");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fdt/root-and-cpus", test_root_and_cpus);
    g_test_add_func("/fdt/memory", test_memory);
    g_test_add_func("/fdt/chosen-and-serial", test_chosen_and_serial);
    g_test_add_func("/fdt/virtio-mmio", test_virtio_mmio);
    g_test_add_func("/fdt/minimal", test_minimal);
    g_test_add_func("/fdt/large", test_large);
    g_test_add_func("/fdt/no-cpu", test_no_cpu);
    return g_test_run();
}
