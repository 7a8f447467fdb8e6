/* SPDX-License-Identifier: MIT */
/*
 * The machine's flattened device tree, written with libfdt's sequential
 * write API.  Layout:
 *
 *   / (compatible "kvmini,microvm", #address-cells = #size-cells = 2)
 *     cpus/cpu@N
 *     memory@ADDR                one per E820_RAM entry
 *     ioapic@fec00000            interrupt parent of the devices below
 *     isa/serial@3f8             reg <1 0x3f8 8>: I/O space, as ISA does
 *     virtio_mmio@ADDR           reg <base size>, interrupts <gsi>
 *     chosen                     bootargs, stdout-path
 *
 * The blob size is not known in advance: building starts with an estimate
 * and retries with a doubled buffer when libfdt runs out of space.
 */
#include "hw/core/fdt.h"

#include <inttypes.h>
#include <libfdt.h>
#include <string.h>

#define FDT_IOAPIC_ADDR     0xfec00000ULL
#define FDT_IOAPIC_SIZE     0x1000
#define FDT_IOAPIC_PHANDLE  1
#define FDT_UART_CLOCK      1843200
#define FDT_ISA_IO_SPACE    1      /* first reg cell of an ISA I/O range */
#define FDT_UART_REG_SIZE   8
#define FDT_SIZE_MAX        (16 * 1024 * 1024)

/* Propagate a negative libfdt status out of the enclosing function. */
#define FDT_TRY(call)                  \
    do {                               \
        int fdt_try_err_ = (call);     \
        if (fdt_try_err_ < 0) {        \
            return fdt_try_err_;       \
        }                              \
    } while (0)

static int prop_reg64(void *fdt, uint64_t base, uint64_t size)
{
    fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };

    return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int fdt_add_cpus(void *fdt, const FdtMachineDesc *desc)
{
    FDT_TRY(fdt_begin_node(fdt, "cpus"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 1));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 0));
    for (unsigned i = 0; i < desc->ncpus; i++) {
        g_autofree char *name = g_strdup_printf("cpu@%u", i);
        FDT_TRY(fdt_begin_node(fdt, name));
        FDT_TRY(fdt_property_string(fdt, "device_type", "cpu"));
        FDT_TRY(fdt_property_u32(fdt, "reg", i));
        FDT_TRY(fdt_end_node(fdt));
    }
    return fdt_end_node(fdt);
}

static int fdt_add_memory(void *fdt, const FdtMachineDesc *desc)
{
    for (unsigned i = 0; i < desc->ram_nr; i++) {
        const E820Entry *e = &desc->ram[i];
        if (e->type != E820_RAM || e->size == 0) {
            continue;
        }
        g_autofree char *name = g_strdup_printf("memory@%" PRIx64, e->addr);
        FDT_TRY(fdt_begin_node(fdt, name));
        FDT_TRY(fdt_property_string(fdt, "device_type", "memory"));
        FDT_TRY(prop_reg64(fdt, e->addr, e->size));
        FDT_TRY(fdt_end_node(fdt));
    }
    return 0;
}

static int fdt_add_ioapic(void *fdt)
{
    g_autofree char *name = g_strdup_printf("ioapic@%llx", FDT_IOAPIC_ADDR);

    FDT_TRY(fdt_begin_node(fdt, name));
    FDT_TRY(fdt_property_string(fdt, "compatible", "kvmini,ioapic"));
    FDT_TRY(prop_reg64(fdt, FDT_IOAPIC_ADDR, FDT_IOAPIC_SIZE));
    FDT_TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    FDT_TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 0));
    FDT_TRY(fdt_property_u32(fdt, "phandle", FDT_IOAPIC_PHANDLE));
    return fdt_end_node(fdt);
}

/* The UART sits in I/O port space, which only an ISA-style bus node can
 * address: reg = <space port size> with space 1 = I/O. */
static int fdt_add_serial(void *fdt, const FdtMachineDesc *desc)
{
    fdt32_t reg[3] = {
        cpu_to_fdt32(FDT_ISA_IO_SPACE), cpu_to_fdt32(desc->serial_port),
        cpu_to_fdt32(FDT_UART_REG_SIZE),
    };
    g_autofree char *name = g_strdup_printf("serial@%" PRIx32,
                                            desc->serial_port);

    FDT_TRY(fdt_begin_node(fdt, "isa"));
    FDT_TRY(fdt_property_string(fdt, "compatible", "isa"));
    FDT_TRY(fdt_property_string(fdt, "device_type", "isa"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 1));
    FDT_TRY(fdt_begin_node(fdt, name));
    FDT_TRY(fdt_property_string(fdt, "compatible", "ns16550a"));
    FDT_TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
    FDT_TRY(fdt_property_u32(fdt, "clock-frequency", FDT_UART_CLOCK));
    FDT_TRY(fdt_property_u32(fdt, "interrupts", desc->serial_irq));
    FDT_TRY(fdt_end_node(fdt));
    return fdt_end_node(fdt);
}

static int fdt_add_virtio_mmio(void *fdt, const FdtMachineDesc *desc)
{
    for (unsigned i = 0; i < desc->mmio_nr; i++) {
        const FdtMmioDevice *d = &desc->mmio[i];
        g_autofree char *name = g_strdup_printf("virtio_mmio@%" PRIx64,
                                                d->base);
        FDT_TRY(fdt_begin_node(fdt, name));
        FDT_TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
        FDT_TRY(prop_reg64(fdt, d->base, d->size));
        FDT_TRY(fdt_property_u32(fdt, "interrupts", d->irq));
        FDT_TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
        FDT_TRY(fdt_end_node(fdt));
    }
    return 0;
}

static int fdt_add_chosen(void *fdt, const FdtMachineDesc *desc)
{
    FDT_TRY(fdt_begin_node(fdt, "chosen"));
    FDT_TRY(fdt_property_string(fdt, "bootargs",
                                desc->cmdline ? desc->cmdline : ""));
    if (desc->has_serial) {
        g_autofree char *path = g_strdup_printf("/isa/serial@%" PRIx32,
                                                desc->serial_port);
        FDT_TRY(fdt_property_string(fdt, "stdout-path", path));
    }
    return fdt_end_node(fdt);
}

/* Write the whole tree into buf; returns 0 or a negative libfdt error. */
static int fdt_build_into(void *fdt, int size, const FdtMachineDesc *desc)
{
    FDT_TRY(fdt_create(fdt, size));
    FDT_TRY(fdt_finish_reservemap(fdt));
    FDT_TRY(fdt_begin_node(fdt, ""));
    FDT_TRY(fdt_property_string(fdt, "compatible", "kvmini,microvm"));
    FDT_TRY(fdt_property_string(fdt, "model", "kvmini microvm"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "interrupt-parent", FDT_IOAPIC_PHANDLE));
    FDT_TRY(fdt_add_cpus(fdt, desc));
    FDT_TRY(fdt_add_memory(fdt, desc));
    FDT_TRY(fdt_add_ioapic(fdt));
    if (desc->has_serial) {
        FDT_TRY(fdt_add_serial(fdt, desc));
    }
    FDT_TRY(fdt_add_virtio_mmio(fdt, desc));
    FDT_TRY(fdt_add_chosen(fdt, desc));
    FDT_TRY(fdt_end_node(fdt));
    return fdt_finish(fdt);
}

static size_t fdt_estimate(const FdtMachineDesc *desc)
{
    size_t cmdline = desc->cmdline ? strlen(desc->cmdline) : 0;

    return 4096 + cmdline +
           256 * ((size_t)desc->ncpus + desc->ram_nr + desc->mmio_nr);
}

void *fdt_build_machine(const FdtMachineDesc *desc, size_t *size,
                        Error **errp)
{
    size_t bufsize = fdt_estimate(desc);

    if (desc->ncpus == 0) {
        error_setg(errp, "device tree: the machine has no CPU");
        return NULL;
    }
    for (;;) {
        if (bufsize > FDT_SIZE_MAX) {
            error_setg(errp, "device tree: larger than %d bytes",
                       FDT_SIZE_MAX);
            return NULL;
        }
        g_autofree void *fdt = g_malloc0(bufsize);
        int err = fdt_build_into(fdt, bufsize, desc);
        if (err == -FDT_ERR_NOSPACE) {
            bufsize *= 2;
            continue;
        }
        if (err < 0) {
            error_setg(errp, "device tree: %s", fdt_strerror(err));
            return NULL;
        }
        *size = fdt_totalsize(fdt);
        return g_realloc(g_steal_pointer(&fdt), *size);
    }
}
