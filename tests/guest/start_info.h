/* SPDX-License-Identifier: MIT */
/*
 * PVH boot information: the structure a PVH loader (Xen, QEMU, kvmini)
 * places in guest memory and whose physical address it passes in %ebx.
 * Layout from the Xen public interface (arch-x86/hvm/start_info.h),
 * version 1: all addresses are guest-physical, 0 means "not present".
 */
#ifndef GUEST_START_INFO_H
#define GUEST_START_INFO_H

#include <stdint.h>

#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
    uint32_t magic;          /*  0: HVM_START_MAGIC */
    uint32_t version;        /*  4: 0 or 1 (memmap fields need >= 1) */
    uint32_t flags;          /*  8 */
    uint32_t nr_modules;     /* 12 */
    uint64_t modlist_paddr;  /* 16: array of struct hvm_modlist_entry */
    uint64_t cmdline_paddr;  /* 24: NUL-terminated ASCII */
    uint64_t rsdp_paddr;     /* 32: ACPI RSDP */
    uint64_t memmap_paddr;   /* 40: array of struct hvm_memmap_entry */
    uint32_t memmap_entries; /* 48 */
    uint32_t reserved;       /* 52 */
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

/* Types follow the E820 numbering. */
#define HVM_MEMMAP_RAM       1
#define HVM_MEMMAP_RESERVED  2
#define HVM_MEMMAP_ACPI      3
#define HVM_MEMMAP_NVS       4

struct hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "start_info layout");
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "memmap layout");

#endif
