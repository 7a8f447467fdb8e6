/* SPDX-License-Identifier: MIT */
/*
 * PVH ELF loader.  A PVH kernel is an ELF32 or ELF64 x86 image whose
 * PT_LOAD segments are copied to their physical addresses (p_paddr) and
 * whose 32-bit entry point is given by a Xen ELF note (name "Xen", type
 * XEN_ELFNOTE_PHYS32_ENTRY).  The boot vCPU starts there in flat 32-bit
 * protected mode with %ebx pointing at a struct hvm_start_info (version 1)
 * that gives the command line, the memory map and the modules (the initrd).
 *
 * The file is untrusted input: every offset and size read from it is
 * bounds-checked against the buffer before use, and every segment against
 * guest RAM, before the first byte is written to the guest.
 */
#include "hw/core/loader.h"
#include "loader-internal.h"

#include <elf.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

/* From the Xen public headers (elfnote.h, arch-x86/hvm/start_info.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY   18
#define HVM_START_MAGIC            0x336ec578
#define HVM_START_VERSION          1

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;      /* version 1 */
    uint32_t memmap_entries;    /* version 1 */
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

/* The module list lives right after start_info, before the memory map. */
#define PVH_MODLIST_ADDR  (BOOT_START_INFO_ADDR + 0x40)

/* The structures are written in host byte order: KVM x86 hosts only. */
G_STATIC_ASSERT(G_BYTE_ORDER == G_LITTLE_ENDIAN);
G_STATIC_ASSERT(sizeof(struct hvm_start_info) == 56);
G_STATIC_ASSERT(sizeof(struct hvm_modlist_entry) == 32);
G_STATIC_ASSERT(sizeof(struct hvm_memmap_table_entry) == 24);
G_STATIC_ASSERT(PVH_MODLIST_ADDR >= BOOT_START_INFO_ADDR + 56);
G_STATIC_ASSERT(PVH_MODLIST_ADDR + 32 <= BOOT_MEMMAP_ADDR);
G_STATIC_ASSERT(BOOT_MEMMAP_ADDR + LOADER_E820_MAX * 24 <=
                BOOT_ZERO_PAGE_ADDR);

typedef struct ElfFile {
    const char *name;
    const uint8_t *data;
    size_t len;
    bool is64;
    uint64_t phoff;
    uint64_t shoff;
    unsigned phentsize, phnum;
    unsigned shentsize, shnum;
    bool sections_ok;          /* the section header table is in the file */
} ElfFile;

/* One program header or SHT_NOTE section, class-independent. */
typedef struct ElfSeg {
    uint32_t type;
    uint64_t offset;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
    uint64_t align;
} ElfSeg;

static uint64_t ld_le(const uint8_t *p, size_t size)
{
    uint64_t v = 0;

    for (size_t i = 0; i < size; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

/* Field f of the Elf32_T or Elf64_T structure at p, per the file class.
 * The caller has checked that the whole structure is inside the file. */
#define ELF_GET(ef, p, T, f)                                              \
    ((ef)->is64 ? ld_le((p) + offsetof(Elf64_##T, f),                     \
                        sizeof(((Elf64_##T *)0)->f))                      \
                : ld_le((p) + offsetof(Elf32_##T, f),                     \
                        sizeof(((Elf32_##T *)0)->f)))

static bool table_in_file(const ElfFile *ef, uint64_t off, unsigned entsize,
                          unsigned num, size_t minsize)
{
    return entsize >= minsize && off <= ef->len &&
           (uint64_t)entsize * num <= ef->len - off;
}

static bool elf_check_ident(const ElfFile *ef, Error **errp)
{
    const uint8_t *d = ef->data;

    if (ef->len < EI_NIDENT) {
        error_setg(errp, "'%s': truncated ELF header", ef->name);
        return false;
    }
    if (d[EI_CLASS] != ELFCLASS32 && d[EI_CLASS] != ELFCLASS64) {
        error_setg(errp, "'%s': unknown ELF class %u", ef->name,
                   d[EI_CLASS]);
        return false;
    }
    if (d[EI_DATA] != ELFDATA2LSB) {
        error_setg(errp, "'%s': not a little-endian ELF file", ef->name);
        return false;
    }
    size_t ehsize = d[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Ehdr)
                                               : sizeof(Elf32_Ehdr);
    if (ef->len < ehsize) {
        error_setg(errp, "'%s': truncated ELF header", ef->name);
        return false;
    }
    return true;
}

static bool elf_parse(ElfFile *ef, Error **errp)
{
    const uint8_t *d = ef->data;

    if (!elf_check_ident(ef, errp)) {
        return false;
    }
    ef->is64 = d[EI_CLASS] == ELFCLASS64;
    unsigned machine = ELF_GET(ef, d, Ehdr, e_machine);
    if (machine != EM_386 && machine != EM_X86_64) {
        error_setg(errp, "'%s': not an x86 ELF file (e_machine %u)",
                   ef->name, machine);
        return false;
    }
    ef->phoff = ELF_GET(ef, d, Ehdr, e_phoff);
    ef->phentsize = ELF_GET(ef, d, Ehdr, e_phentsize);
    ef->phnum = ELF_GET(ef, d, Ehdr, e_phnum);
    ef->shoff = ELF_GET(ef, d, Ehdr, e_shoff);
    ef->shentsize = ELF_GET(ef, d, Ehdr, e_shentsize);
    ef->shnum = ELF_GET(ef, d, Ehdr, e_shnum);
    if (!table_in_file(ef, ef->phoff, ef->phentsize, ef->phnum,
                       ef->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr))) {
        error_setg(errp, "'%s': program headers extend past the end of the "
                   "file", ef->name);
        return false;
    }
    /* Sections are only a fallback for finding the note: a bad table is
     * ignored rather than refused. */
    ef->sections_ok = table_in_file(ef, ef->shoff, ef->shentsize, ef->shnum,
                                    ef->is64 ? sizeof(Elf64_Shdr)
                                             : sizeof(Elf32_Shdr));
    return true;
}

static void elf_get_phdr(const ElfFile *ef, unsigned i, ElfSeg *s)
{
    const uint8_t *ph = ef->data + ef->phoff + (uint64_t)i * ef->phentsize;

    s->type = ELF_GET(ef, ph, Phdr, p_type);
    s->offset = ELF_GET(ef, ph, Phdr, p_offset);
    s->paddr = ELF_GET(ef, ph, Phdr, p_paddr);
    s->filesz = ELF_GET(ef, ph, Phdr, p_filesz);
    s->memsz = ELF_GET(ef, ph, Phdr, p_memsz);
    s->align = ELF_GET(ef, ph, Phdr, p_align);
}

static void elf_get_shdr(const ElfFile *ef, unsigned i, ElfSeg *s)
{
    const uint8_t *sh = ef->data + ef->shoff + (uint64_t)i * ef->shentsize;

    s->type = ELF_GET(ef, sh, Shdr, sh_type);
    s->offset = ELF_GET(ef, sh, Shdr, sh_offset);
    s->paddr = 0;
    s->filesz = ELF_GET(ef, sh, Shdr, sh_size);
    s->memsz = s->filesz;
    s->align = ELF_GET(ef, sh, Shdr, sh_addralign);
}

static bool pvh_note_entry(const ElfFile *ef, const uint8_t *desc,
                           uint64_t descsz, uint64_t *entry, Error **errp)
{
    if (descsz != 4 && descsz != 8) {
        error_setg(errp, "'%s': PVH entry note has a %" PRIu64 "-byte "
                   "value (4 or 8 expected)", ef->name, descsz);
        return false;
    }
    *entry = ld_le(desc, descsz);
    if (*entry >= LOADER_4G) {
        error_setg(errp, "'%s': PVH entry point 0x%" PRIx64 " is not below "
                   "4 GiB", ef->name, *entry);
        return false;
    }
    return true;
}

/* Walk the notes of one PT_NOTE segment or SHT_NOTE section.  Returns 1
 * when the PVH note was found, 0 when not, -1 on a bad PVH note.  A
 * malformed note ends the walk: the image may still have a good one
 * elsewhere. */
static int pvh_find_note_in(const ElfFile *ef, const ElfSeg *s,
                            uint64_t *entry, Error **errp)
{
    uint64_t align = s->align == 8 ? 8 : 4;

    if (s->offset > ef->len || s->filesz > ef->len - s->offset) {
        return 0;
    }
    const uint8_t *p = ef->data + s->offset;
    uint64_t left = s->filesz;
    while (left >= 12) {
        uint64_t namesz = ld_le(p, 4), descsz = ld_le(p + 4, 4);
        uint64_t name_pad = (namesz + align - 1) & ~(align - 1);
        uint64_t desc_pad = (descsz + align - 1) & ~(align - 1);
        if (name_pad > left - 12 || descsz > left - 12 - name_pad) {
            return 0;
        }
        if (namesz == 4 && !memcmp(p + 12, "Xen", 4) &&
            ld_le(p + 8, 4) == XEN_ELFNOTE_PHYS32_ENTRY) {
            return pvh_note_entry(ef, p + 12 + name_pad, descsz, entry,
                                  errp) ? 1 : -1;
        }
        if (desc_pad >= left - 12 - name_pad) {
            return 0;
        }
        p += 12 + name_pad + desc_pad;
        left -= 12 + name_pad + desc_pad;
    }
    return 0;
}

static bool pvh_find_entry(const ElfFile *ef, uint64_t *entry, Error **errp)
{
    ElfSeg s;
    int r;

    for (unsigned i = 0; i < ef->phnum; i++) {
        elf_get_phdr(ef, i, &s);
        if (s.type == PT_NOTE && (r = pvh_find_note_in(ef, &s, entry, errp))) {
            return r > 0;
        }
    }
    for (unsigned i = 0; ef->sections_ok && i < ef->shnum; i++) {
        elf_get_shdr(ef, i, &s);
        if (s.type == SHT_NOTE && (r = pvh_find_note_in(ef, &s, entry, errp))) {
            return r > 0;
        }
    }
    error_setg(errp, "'%s': no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)",
               ef->name);
    return false;
}

static bool pvh_check_segment(const ElfFile *ef, const BootInfo *info,
                              const ElfSeg *s, Error **errp)
{
    if (s->filesz > s->memsz) {
        error_setg(errp, "'%s': segment at 0x%" PRIx64 " has p_filesz > "
                   "p_memsz", ef->name, s->paddr);
        return false;
    }
    if (s->offset > ef->len || s->filesz > ef->len - s->offset) {
        error_setg(errp, "'%s': segment at 0x%" PRIx64 " extends past the "
                   "end of the file", ef->name, s->paddr);
        return false;
    }
    if (s->paddr < LOADER_LOW_END) {
        error_setg(errp, "'%s': segment at 0x%" PRIx64 " overlaps the boot "
                   "area below 1 MiB", ef->name, s->paddr);
        return false;
    }
    if (s->memsz > UINT64_MAX - s->paddr ||
        !loader_range_in_ram(info, s->paddr, s->memsz)) {
        error_setg(errp, "'%s': segment at 0x%" PRIx64 " (0x%" PRIx64
                   " bytes) is outside guest RAM", ef->name, s->paddr,
                   s->memsz);
        return false;
    }
    return true;
}

/* Validate every PT_LOAD segment; *end is where the highest one ends. */
static bool pvh_check_segments(const ElfFile *ef, const BootInfo *info,
                               uint64_t *end, Error **errp)
{
    unsigned nr_load = 0;
    ElfSeg s;

    *end = LOADER_LOW_END;
    for (unsigned i = 0; i < ef->phnum; i++) {
        elf_get_phdr(ef, i, &s);
        if (s.type != PT_LOAD || s.memsz == 0) {
            continue;
        }
        if (!pvh_check_segment(ef, info, &s, errp)) {
            return false;
        }
        *end = MAX(*end, s.paddr + s.memsz);
        nr_load++;
    }
    if (!nr_load) {
        error_setg(errp, "'%s': no loadable segment", ef->name);
        return false;
    }
    return true;
}

static bool pvh_load_segments(AddressSpace *as, const ElfFile *ef,
                              Error **errp)
{
    ElfSeg s;

    for (unsigned i = 0; i < ef->phnum; i++) {
        elf_get_phdr(ef, i, &s);
        if (s.type != PT_LOAD || s.memsz == 0) {
            continue;
        }
        if (!loader_write(as, s.paddr, ef->data + s.offset, s.filesz,
                          "kernel segment", errp) ||
            !loader_zero(as, s.paddr + s.filesz, s.memsz - s.filesz, errp)) {
            return false;
        }
    }
    return true;
}

static bool pvh_write_memmap(AddressSpace *as, const BootInfo *info,
                             Error **errp)
{
    g_autofree struct hvm_memmap_table_entry *map =
        g_new0(struct hvm_memmap_table_entry, MAX(info->e820_nr, 1));

    for (unsigned i = 0; i < info->e820_nr; i++) {
        map[i].addr = info->e820[i].addr;
        map[i].size = info->e820[i].size;
        map[i].type = info->e820[i].type;   /* same numbering as e820 */
    }
    return loader_write(as, BOOT_MEMMAP_ADDR, map,
                        sizeof(*map) * info->e820_nr, "PVH memory map",
                        errp);
}

/* The initrd becomes module 0, as high as possible below 4 GiB and above
 * the kernel. */
static bool pvh_load_module(AddressSpace *as, const BootInfo *info,
                            uint64_t kernel_end, Error **errp)
{
    struct hvm_modlist_entry mod = { 0 };
    uint64_t floor = (kernel_end + LOADER_PAGE_SIZE - 1) &
                     ~(LOADER_PAGE_SIZE - 1);

    if (!loader_load_initrd(as, info, LOADER_4G, floor, &mod.paddr,
                            &mod.size, errp)) {
        return false;
    }
    return loader_write(as, PVH_MODLIST_ADDR, &mod, sizeof(mod),
                        "PVH module list", errp);
}

static bool pvh_write_boot_info(AddressSpace *as, const BootInfo *info,
                                uint64_t kernel_end, Error **errp)
{
    struct hvm_start_info si = {
        .magic = HVM_START_MAGIC,
        .version = HVM_START_VERSION,
        .cmdline_paddr = BOOT_CMDLINE_ADDR,
        .memmap_paddr = BOOT_MEMMAP_ADDR,
        .memmap_entries = info->e820_nr,
    };

    if (!loader_write_cmdline(as, info, errp) ||
        !pvh_write_memmap(as, info, errp)) {
        return false;
    }
    if (info->initrd_path) {
        if (!pvh_load_module(as, info, kernel_end, errp)) {
            return false;
        }
        si.nr_modules = 1;
        si.modlist_paddr = PVH_MODLIST_ADDR;
    }
    return loader_write(as, BOOT_START_INFO_ADDR, &si, sizeof(si),
                        "PVH start info", errp);
}

bool load_pvh_elf_buf(AddressSpace *as, const BootInfo *info, const char *name,
                      const uint8_t *data, size_t len, BootCpuState *cpu,
                      Error **errp)
{
    ElfFile ef = { .name = name, .data = data, .len = len };
    uint64_t entry, kernel_end;

    if (!loader_check_info(info, errp) || !elf_parse(&ef, errp) ||
        !pvh_find_entry(&ef, &entry, errp) ||
        !pvh_check_segments(&ef, info, &kernel_end, errp)) {
        return false;
    }
    if (!pvh_load_segments(as, &ef, errp) ||
        !pvh_write_boot_info(as, info, kernel_end, errp)) {
        return false;
    }
    memset(cpu, 0, sizeof(*cpu));
    cpu->mode = BOOT_CPU_PVH32;
    cpu->rip = entry;
    cpu->rbx = BOOT_START_INFO_ADDR;
    return true;
}
