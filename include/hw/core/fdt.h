/* SPDX-License-Identifier: MIT */
/*
 * Flattened device tree describing the machine: memory, CPUs, the 16550
 * serial port, the virtio-mmio slots and /chosen/bootargs.  x86 guests do
 * not need it to boot (PVH has start_info), but bzImage kernels get it as
 * setup_data and `-machine dumpdtb=FILE` writes it for inspection.
 */
#ifndef HW_CORE_FDT_H
#define HW_CORE_FDT_H

#include <stddef.h>
#include "hw/core/loader.h"

typedef struct FdtMmioDevice {
    uint64_t base;
    uint64_t size;
    uint32_t irq;
} FdtMmioDevice;

typedef struct FdtMachineDesc {
    const E820Entry *ram;        /* E820_RAM entries become memory nodes */
    unsigned ram_nr;
    unsigned ncpus;
    const char *cmdline;
    bool has_serial;
    uint32_t serial_port;        /* I/O port base, e.g. 0x3f8 */
    uint32_t serial_irq;
    const FdtMmioDevice *mmio;   /* virtio-mmio slots */
    unsigned mmio_nr;
} FdtMachineDesc;

/* Build the blob; returns a g_malloc'ed buffer and its size in *size. */
void *fdt_build_machine(const FdtMachineDesc *desc, size_t *size,
                        Error **errp);

#endif
