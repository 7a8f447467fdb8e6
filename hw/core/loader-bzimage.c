/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage loader using the 64-bit boot protocol (Linux
 * Documentation/arch/x86/boot.rst): the real-mode setup code is skipped,
 * the protected-mode kernel goes to 1 MiB and the vCPU enters it in long
 * mode at load address + 0x200 with %rsi pointing at boot_params (the
 * "zero page").  The loader fills boot_params from the image's setup
 * header plus what a boot loader must provide (type_of_loader, command
 * line, e820 map, initrd, optional device tree as setup_data) and builds
 * what long mode needs: an identity map of the low 4 GiB with 2 MiB pages
 * and a GDT with the __BOOT_CS / __BOOT_DS selectors.
 *
 * Offsets below are those of struct boot_params / struct setup_header in
 * the boot protocol; the image is untrusted and bounds-checked.
 */
#include "hw/core/loader.h"
#include "loader-internal.h"

#include <inttypes.h>
#include <string.h>

/* boot_params ("zero page") layout. */
#define BP_SIZE             0x1000
#define BP_E820_ENTRIES     0x1e8
#define BP_HDR              0x1f1     /* struct setup_header starts here */
#define BP_HDR_END_MAX      0x290     /* ... and may not go past this */
#define BP_E820_TABLE       0x2d0
#define BP_E820_ENTRY_SIZE  20

/* setup_header fields, as offsets in the image and in boot_params. */
#define HDR_SETUP_SECTS     0x1f1
#define HDR_JUMP            0x200     /* 2-byte jump; its 2nd byte gives */
#define HDR_MAGIC           0x202     /* the header length from 0x202 */
#define HDR_VERSION         0x206
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS       0x211
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_HEAP_END_PTR    0x224
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_XLOADFLAGS      0x236
#define HDR_CMDLINE_SIZE    0x238
#define HDR_SETUP_DATA      0x250
#define HDR_INIT_SIZE       0x260

#define LOADED_HIGH         0x01
#define CAN_USE_HEAP        0x80
#define XLF_KERNEL_64       0x01
#define LOADER_TYPE_UNKNOWN 0xff
#define SETUP_DTB           2

#define BZ_KERNEL_ADDR      LOADER_LOW_END
#define BZ_ENTRY_64_OFFSET  0x200
/* Heap end for the (unused) real-mode setup, as an offset minus 0x200. */
#define BZ_HEAP_END_PTR     (0xe000 - 0x200)
/* setup_data (the device tree) goes after the command line, below the
 * EBDA; the kernel keeps setup_data ranges reserved. */
#define BZ_SETUP_DATA_ADDR  (BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX)
#define BZ_SETUP_DATA_END   0x9f000ULL
#define BZ_SETUP_DATA_HDR   16        /* next (u64), type (u32), len (u32) */

/* Identity map: PML4, one PDPT, four PDs of 2 MiB pages. */
#define BZ_PT_PAGES         6
#define PTE_PRESENT_RW      0x3ULL
#define PTE_PS              0x80ULL
#define BZ_GDT_ENTRIES      4

G_STATIC_ASSERT(G_BYTE_ORDER == G_LITTLE_ENDIAN);
G_STATIC_ASSERT(BP_E820_TABLE + LOADER_E820_MAX * BP_E820_ENTRY_SIZE <=
                BP_SIZE);
G_STATIC_ASSERT(BOOT_ZERO_PAGE_ADDR + BP_SIZE <= BOOT_PML4_ADDR);
G_STATIC_ASSERT(BOOT_PML4_ADDR + BZ_PT_PAGES * 0x1000 <= BOOT_CMDLINE_ADDR);
G_STATIC_ASSERT(BOOT_GDT_ADDR + BZ_GDT_ENTRIES * 8 <= BOOT_START_INFO_ADDR);

/* What the loader needs from the image's setup header. */
typedef struct BzImage {
    const char *name;
    const uint8_t *data;
    size_t len;
    uint16_t version;
    size_t setup_size;          /* real-mode part, skipped */
    size_t hdr_end;             /* end of the setup header to copy */
    uint32_t cmdline_size;
    uint32_t initrd_addr_max;
    uint32_t init_size;
} BzImage;

static uint64_t ld_le(const uint8_t *p, size_t size)
{
    uint64_t v = 0;

    for (size_t i = 0; i < size; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void st_le(uint8_t *p, uint64_t v, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        p[i] = v >> (8 * i);
    }
}

static bool bz_check_version(const BzImage *bz, Error **errp)
{
    const uint8_t *d = bz->data;

    if (bz->version < 0x0206) {
        error_setg(errp, "'%s': Linux boot protocol %u.%02u is too old "
                   "(2.06 or later needed)", bz->name, bz->version >> 8,
                   bz->version & 0xff);
        return false;
    }
    if (bz->version < 0x020c || !(d[HDR_XLOADFLAGS] & XLF_KERNEL_64)) {
        error_setg(errp, "'%s': kernel has no 64-bit entry point "
                   "(XLF_KERNEL_64)", bz->name);
        return false;
    }
    if (!(d[HDR_LOADFLAGS] & LOADED_HIGH)) {
        error_setg(errp, "'%s': kernel is not loaded high (zImage?)",
                   bz->name);
        return false;
    }
    return true;
}

static bool bz_parse(BzImage *bz, Error **errp)
{
    const uint8_t *d = bz->data;
    unsigned setup_sects;

    /* The caller checked the magic, so len > HDR_MAGIC + 4; a real setup
     * area is at least 5 sectors, which covers the whole header. */
    setup_sects = d[HDR_SETUP_SECTS];
    bz->setup_size = ((setup_sects ? setup_sects : 4) + 1) * 512;
    if (bz->len <= bz->setup_size) {
        error_setg(errp, "'%s': truncated bzImage (%zu bytes, setup code "
                   "alone is %zu)", bz->name, bz->len, bz->setup_size);
        return false;
    }
    bz->version = ld_le(d + HDR_VERSION, 2);
    if (!bz_check_version(bz, errp)) {
        return false;
    }
    bz->hdr_end = MIN(HDR_MAGIC + (size_t)d[HDR_JUMP + 1], BP_HDR_END_MAX);
    bz->cmdline_size = ld_le(d + HDR_CMDLINE_SIZE, 4);
    bz->initrd_addr_max = ld_le(d + HDR_INITRD_ADDR_MAX, 4);
    bz->init_size = ld_le(d + HDR_INIT_SIZE, 4);
    return true;
}

static bool bz_check_fit(const BzImage *bz, const BootInfo *info,
                         Error **errp)
{
    size_t cmdline_len = info->cmdline ? strlen(info->cmdline) : 0;
    uint64_t kernel_size = bz->len - bz->setup_size;
    uint64_t need = MAX(kernel_size, bz->init_size);

    if (cmdline_len > bz->cmdline_size) {
        error_setg(errp, "'%s': command line is too long (%zu bytes, the "
                   "kernel accepts %" PRIu32 ")", bz->name, cmdline_len,
                   bz->cmdline_size);
        return false;
    }
    if (!loader_range_in_ram(info, BZ_KERNEL_ADDR, need)) {
        error_setg(errp, "'%s': kernel (0x%" PRIx64 " bytes at 0x%llx) does "
                   "not fit in guest RAM", bz->name, need, BZ_KERNEL_ADDR);
        return false;
    }
    if (info->dtb && info->dtb_size > BZ_SETUP_DATA_END - BZ_SETUP_DATA_ADDR -
                                      BZ_SETUP_DATA_HDR) {
        error_setg(errp, "device tree is too large (%zu bytes)",
                   info->dtb_size);
        return false;
    }
    return true;
}

static void bz_fill_e820(uint8_t *bp, const BootInfo *info)
{
    for (unsigned i = 0; i < info->e820_nr; i++) {
        uint8_t *e = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;
        st_le(e, info->e820[i].addr, 8);
        st_le(e + 8, info->e820[i].size, 8);
        st_le(e + 16, info->e820[i].type, 4);
    }
    bp[BP_E820_ENTRIES] = info->e820_nr;
}

/* Append the device tree as a SETUP_DTB setup_data node, chained in front
 * of whatever list the image already names. */
static bool bz_write_dtb(AddressSpace *as, const BootInfo *info,
                         uint8_t *bp, Error **errp)
{
    uint8_t hdr[BZ_SETUP_DATA_HDR];

    st_le(hdr, ld_le(bp + HDR_SETUP_DATA, 8), 8);
    st_le(hdr + 8, SETUP_DTB, 4);
    st_le(hdr + 12, info->dtb_size, 4);
    if (!loader_write(as, BZ_SETUP_DATA_ADDR, hdr, sizeof(hdr),
                      "setup_data", errp) ||
        !loader_write(as, BZ_SETUP_DATA_ADDR + sizeof(hdr), info->dtb,
                      info->dtb_size, "device tree", errp)) {
        return false;
    }
    st_le(bp + HDR_SETUP_DATA, BZ_SETUP_DATA_ADDR, 8);
    return true;
}

static bool bz_load_initrd(AddressSpace *as, const BzImage *bz,
                           const BootInfo *info, uint8_t *bp, Error **errp)
{
    uint64_t kernel_end = BZ_KERNEL_ADDR +
                          MAX(bz->len - bz->setup_size, bz->init_size);
    uint64_t floor = (kernel_end + LOADER_PAGE_SIZE - 1) &
                     ~(LOADER_PAGE_SIZE - 1);
    uint64_t limit = (uint64_t)bz->initrd_addr_max + 1;
    uint64_t addr, size;

    if (!loader_load_initrd(as, info, limit, floor, &addr, &size, errp)) {
        return false;
    }
    st_le(bp + HDR_RAMDISK_IMAGE, addr, 4);
    st_le(bp + HDR_RAMDISK_SIZE, size, 4);
    return true;
}

static bool bz_write_zero_page(AddressSpace *as, const BzImage *bz,
                               const BootInfo *info, Error **errp)
{
    g_autofree uint8_t *bp = g_malloc0(BP_SIZE);

    memcpy(bp + BP_HDR, bz->data + BP_HDR, bz->hdr_end - BP_HDR);
    bp[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNKNOWN;
    bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
    st_le(bp + HDR_HEAP_END_PTR, BZ_HEAP_END_PTR, 2);
    st_le(bp + HDR_CMD_LINE_PTR, BOOT_CMDLINE_ADDR, 4);
    st_le(bp + HDR_RAMDISK_IMAGE, 0, 4);
    st_le(bp + HDR_RAMDISK_SIZE, 0, 4);
    bz_fill_e820(bp, info);
    if (info->initrd_path && !bz_load_initrd(as, bz, info, bp, errp)) {
        return false;
    }
    if (info->dtb && !bz_write_dtb(as, info, bp, errp)) {
        return false;
    }
    return loader_write(as, BOOT_ZERO_PAGE_ADDR, bp, BP_SIZE, "boot_params",
                        errp);
}

/* Identity map of [0, 4 GiB) and the GDT; fills the long-mode state. */
static bool bz_write_long_mode(AddressSpace *as, BootCpuState *cpu,
                               Error **errp)
{
    static const uint64_t gdt[BZ_GDT_ENTRIES] = {
        0, 0, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL,
    };
    g_autofree uint64_t *pt = g_new0(uint64_t, BZ_PT_PAGES * 512);
    uint64_t *pml4 = pt, *pdpt = pt + 512, *pd = pt + 1024;

    pml4[0] = (BOOT_PML4_ADDR + 0x1000) | PTE_PRESENT_RW;
    for (unsigned i = 0; i < 4; i++) {
        pdpt[i] = (BOOT_PML4_ADDR + 0x2000 + i * 0x1000) | PTE_PRESENT_RW;
    }
    for (unsigned i = 0; i < 4 * 512; i++) {
        pd[i] = ((uint64_t)i << 21) | PTE_PRESENT_RW | PTE_PS;
    }
    if (!loader_write(as, BOOT_PML4_ADDR, pt, BZ_PT_PAGES * 0x1000,
                      "page tables", errp) ||
        !loader_write(as, BOOT_GDT_ADDR, gdt, sizeof(gdt), "GDT", errp)) {
        return false;
    }
    cpu->cr3 = BOOT_PML4_ADDR;
    cpu->gdt_base = BOOT_GDT_ADDR;
    cpu->gdt_limit = sizeof(gdt) - 1;
    return true;
}

bool load_bzimage_buf(AddressSpace *as, const BootInfo *info,
                      const char *name, const uint8_t *data, size_t len,
                      BootCpuState *cpu, Error **errp)
{
    BzImage bz = { .name = name, .data = data, .len = len };

    if (len < HDR_MAGIC + 4 || memcmp(data + HDR_MAGIC, "HdrS", 4)) {
        error_setg(errp, "'%s' is not a bzImage kernel", name);
        return false;
    }
    if (!loader_check_info(info, errp) || !bz_parse(&bz, errp) ||
        !bz_check_fit(&bz, info, errp)) {
        return false;
    }
    if (!loader_write(as, BZ_KERNEL_ADDR, data + bz.setup_size,
                      len - bz.setup_size, "kernel", errp) ||
        !loader_write_cmdline(as, info, errp) ||
        !bz_write_zero_page(as, &bz, info, errp)) {
        return false;
    }
    memset(cpu, 0, sizeof(*cpu));
    if (!bz_write_long_mode(as, cpu, errp)) {
        return false;
    }
    cpu->mode = BOOT_CPU_LINUX64;
    cpu->rip = BZ_KERNEL_ADDR + BZ_ENTRY_64_OFFSET;
    cpu->rsi = BOOT_ZERO_PAGE_ADDR;
    return true;
}
