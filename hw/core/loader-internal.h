/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the kernel loaders (hw/core/loader*.c) and not part of
 * the public loader API: the buffer entry points of each format,
 * guest-RAM checks against the e820 table, checked guest writes,
 * the command line and initrd placement.
 *
 * Every error message names what failed; a loader prefixes the kernel name.
 */
#ifndef HW_CORE_LOADER_INTERNAL_H
#define HW_CORE_LOADER_INTERNAL_H

#include "hw/core/loader.h"

/* Loaders keep their own structures below this address; kernel segments
 * must not overlap it. */
#define LOADER_LOW_END        0x100000ULL
#define LOADER_4G             0x100000000ULL
#define LOADER_PAGE_SIZE      0x1000ULL
/* Maximum number of memory map entries handed to a guest (both formats). */
#define LOADER_E820_MAX       128
/* A kernel file larger than this is refused before it is read. */
#define LOADER_KERNEL_MAX     (1ULL << 30)

/* Load a PVH ELF / bzImage from memory; name is used in messages. */
bool load_pvh_elf_buf(AddressSpace *as, const BootInfo *info, const char *name,
                      const uint8_t *data, size_t len, BootCpuState *cpu,
                      Error **errp);
bool load_bzimage_buf(AddressSpace *as, const BootInfo *info,
                      const char *name, const uint8_t *data, size_t len,
                      BootCpuState *cpu, Error **errp);

/* True if [addr, addr + size) lies inside one E820_RAM entry. */
bool loader_range_in_ram(const BootInfo *info, uint64_t addr, uint64_t size);

/* Write len bytes at addr; what names the data in the error message. */
bool loader_write(AddressSpace *as, uint64_t addr, const void *buf,
                  uint64_t len, const char *what, Error **errp);
/* Zero len bytes at addr (in chunks, without a buffer of size len). */
bool loader_zero(AddressSpace *as, uint64_t addr, uint64_t len,
                 Error **errp);

/* Checks that do not depend on the kernel format (command line length,
 * number of memory map entries), done before anything is written. */
bool loader_check_info(const BootInfo *info, Error **errp);

/* Write info->cmdline NUL-terminated at BOOT_CMDLINE_ADDR. */
bool loader_write_cmdline(AddressSpace *as, const BootInfo *info,
                          Error **errp);

/* Load info->initrd_path page-aligned as high as possible in RAM, below
 * limit and at or above floor.  Returns its address and size. */
bool loader_load_initrd(AddressSpace *as, const BootInfo *info,
                        uint64_t limit, uint64_t floor, uint64_t *addr,
                        uint64_t *size, Error **errp);

#endif
