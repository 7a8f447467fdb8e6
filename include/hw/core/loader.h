/* SPDX-License-Identifier: MIT */
/*
 * Kernel loaders for the x86 machine: PVH ELF (Xen PVH note, 32-bit entry,
 * hvm_start_info) and Linux bzImage (boot protocol 2.x, 64-bit entry).
 *
 * A loader writes the kernel, its command line, boot information and
 * optional initrd/modules into guest memory through an AddressSpace and
 * returns the initial CPU state for the boot vCPU.  It never touches KVM.
 */
#ifndef HW_CORE_LOADER_H
#define HW_CORE_LOADER_H

#include "exec/memory.h"
#include "hw/boards.h"        /* E820Entry, BootCpuState */

/* What the machine hands a loader. */
typedef struct BootInfo {
    const char *kernel_path;
    const char *cmdline;          /* final command line ("" if none) */
    const char *initrd_path;      /* NULL if none; a PVH module otherwise */
    const E820Entry *e820;        /* guest memory map, sorted */
    unsigned e820_nr;
    const void *dtb;              /* optional, bzImage gets it as setup_data */
    size_t dtb_size;
} BootInfo;

/* Fixed low-memory layout used by the loaders (all below 1 MiB). */
#define BOOT_GDT_ADDR         0x0500
#define BOOT_START_INFO_ADDR  0x6000
#define BOOT_MEMMAP_ADDR      0x6100   /* up to 128 entries */
#define BOOT_ZERO_PAGE_ADDR   0x7000   /* Linux boot_params */
#define BOOT_PML4_ADDR        0x9000   /* + PDPT at 0xa000, PDs at 0xb000.. */
#define BOOT_CMDLINE_ADDR     0x20000
#define BOOT_CMDLINE_MAX      0x10000

/* Selectors of the GDT the bzImage loader writes at BOOT_GDT_ADDR
 * (entries: 0 and 1 null, 2 64-bit code, 3 flat data); the accelerator
 * loads CS with BOOT_LINUX64_CS and DS/ES/SS with BOOT_LINUX64_DS. */
#define BOOT_LINUX64_CS       0x10
#define BOOT_LINUX64_DS       0x18

/* Detect the format of path and load it.  Errors name the file and the
 * reason ("not an ELF or bzImage kernel", "no PVH entry note", ...). */
bool load_kernel(AddressSpace *as, const BootInfo *info, BootCpuState *cpu,
                 Error **errp);
/* As load_kernel() for a kernel image already in memory (data, len bytes;
 * not retained).  info->kernel_path only names the image in messages and
 * may be NULL.  Never reads past data + len, whatever the content: this is
 * the fuzzing entry point. */
bool load_kernel_from_buffer(AddressSpace *as, const BootInfo *info,
                             const void *data, size_t len, BootCpuState *cpu,
                             Error **errp);

#endif
