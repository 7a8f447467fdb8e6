/* SPDX-License-Identifier: MIT */
/*
 * Synthetic kernel images for the loader tests and the loader fuzz target:
 * a tiny PVH ELF (ELF32 or ELF64, one PT_LOAD, the Xen PHYS32_ENTRY note
 * in a PT_NOTE segment or an SHT_NOTE section) and a tiny bzImage (a setup
 * area with a boot protocol header followed by "protected-mode" bytes).
 * Header-only so that tests/unit and tests/fuzz share one copy; the
 * payload bytes follow test_image_byte() so a test can check where they
 * landed.
 */
#ifndef TESTS_KERNEL_IMAGES_H
#define TESTS_KERNEL_IMAGES_H

#include <elf.h>
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Byte i of a synthetic payload. */
static inline uint8_t test_image_byte(size_t i)
{
    return (uint8_t)(i * 7 + 3);
}

static inline void test_st_le(uint8_t *p, uint64_t v, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        p[i] = v >> (8 * i);
    }
}

/* Store field f of the Elf32_T / Elf64_T structure at p. */
#define TEST_ELF_PUT(is64, p, T, f, v)                                    \
    ((is64) ? test_st_le((p) + offsetof(Elf64_##T, f), (v),               \
                         sizeof(((Elf64_##T *)0)->f))                     \
            : test_st_le((p) + offsetof(Elf32_##T, f), (v),               \
                         sizeof(((Elf32_##T *)0)->f)))

typedef struct TestElfSpec {
    bool is64;
    uint64_t paddr;         /* of the PT_LOAD segment */
    size_t filesz;
    size_t memsz;           /* > filesz: bss */
    uint64_t entry;         /* value of the PVH note */
    unsigned note_descsz;   /* 4 or 8; 0 = no PVH note at all */
    bool note_in_section;   /* SHT_NOTE section instead of PT_NOTE */
} TestElfSpec;

#define TEST_ELF_NOTE_OFF   0x100   /* note, then payload at 0x200 */
#define TEST_ELF_DATA_OFF   0x200

static inline void test_elf_note(uint8_t *p, const TestElfSpec *s)
{
    test_st_le(p, 4, 4);                    /* namesz: "Xen\0" */
    test_st_le(p + 4, s->note_descsz, 4);
    test_st_le(p + 8, 18, 4);               /* XEN_ELFNOTE_PHYS32_ENTRY */
    memcpy(p + 12, "Xen", 4);
    test_st_le(p + 16, s->entry, s->note_descsz);
}

static inline void test_elf_ehdr(uint8_t *d, const TestElfSpec *s,
                                 unsigned phnum, uint64_t shoff,
                                 unsigned shnum)
{
    bool w = s->is64;

    memcpy(d, ELFMAG, SELFMAG);
    d[EI_CLASS] = w ? ELFCLASS64 : ELFCLASS32;
    d[EI_DATA] = ELFDATA2LSB;
    d[EI_VERSION] = EV_CURRENT;
    TEST_ELF_PUT(w, d, Ehdr, e_type, ET_EXEC);
    TEST_ELF_PUT(w, d, Ehdr, e_machine, w ? EM_X86_64 : EM_386);
    TEST_ELF_PUT(w, d, Ehdr, e_version, EV_CURRENT);
    TEST_ELF_PUT(w, d, Ehdr, e_entry, s->paddr);
    TEST_ELF_PUT(w, d, Ehdr, e_phoff, w ? sizeof(Elf64_Ehdr)
                                        : sizeof(Elf32_Ehdr));
    TEST_ELF_PUT(w, d, Ehdr, e_ehsize, w ? sizeof(Elf64_Ehdr)
                                         : sizeof(Elf32_Ehdr));
    TEST_ELF_PUT(w, d, Ehdr, e_phentsize, w ? sizeof(Elf64_Phdr)
                                            : sizeof(Elf32_Phdr));
    TEST_ELF_PUT(w, d, Ehdr, e_phnum, phnum);
    TEST_ELF_PUT(w, d, Ehdr, e_shoff, shoff);
    TEST_ELF_PUT(w, d, Ehdr, e_shentsize, w ? sizeof(Elf64_Shdr)
                                            : sizeof(Elf32_Shdr));
    TEST_ELF_PUT(w, d, Ehdr, e_shnum, shnum);
}

static inline void test_elf_phdr(uint8_t *p, bool w, uint32_t type,
                                 uint64_t off, uint64_t paddr,
                                 uint64_t filesz, uint64_t memsz)
{
    TEST_ELF_PUT(w, p, Phdr, p_type, type);
    TEST_ELF_PUT(w, p, Phdr, p_offset, off);
    TEST_ELF_PUT(w, p, Phdr, p_vaddr, paddr);
    TEST_ELF_PUT(w, p, Phdr, p_paddr, paddr);
    TEST_ELF_PUT(w, p, Phdr, p_filesz, filesz);
    TEST_ELF_PUT(w, p, Phdr, p_memsz, memsz);
    TEST_ELF_PUT(w, p, Phdr, p_align, type == PT_NOTE ? 4 : 0x1000);
}

/* Build the ELF; free with g_byte_array_unref(). */
static inline GByteArray *test_build_pvh_elf(const TestElfSpec *s)
{
    bool w = s->is64;
    size_t phsz = w ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    size_t shsz = w ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
    size_t ehsz = w ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    bool note_ph = s->note_descsz && !s->note_in_section;
    uint64_t shoff = TEST_ELF_DATA_OFF + s->filesz;
    size_t total = shoff + (s->note_in_section ? 2 * shsz : 0);
    GByteArray *ba = g_byte_array_sized_new(total);
    uint8_t *d;

    g_byte_array_set_size(ba, total);
    d = ba->data;
    memset(d, 0, total);
    test_elf_ehdr(d, s, note_ph ? 2 : 1, s->note_in_section ? shoff : 0,
                  s->note_in_section ? 2 : 0);
    test_elf_phdr(d + ehsz, w, PT_LOAD, TEST_ELF_DATA_OFF, s->paddr,
                  s->filesz, s->memsz);
    if (note_ph) {
        test_elf_phdr(d + ehsz + phsz, w, PT_NOTE, TEST_ELF_NOTE_OFF, 0,
                      16 + s->note_descsz, 0);
    }
    if (s->note_descsz) {
        test_elf_note(d + TEST_ELF_NOTE_OFF, s);
    }
    for (size_t i = 0; i < s->filesz; i++) {
        d[TEST_ELF_DATA_OFF + i] = test_image_byte(i);
    }
    if (s->note_in_section) {   /* section 0 is the null section */
        uint8_t *sh = d + shoff + shsz;
        TEST_ELF_PUT(w, sh, Shdr, sh_type, SHT_NOTE);
        TEST_ELF_PUT(w, sh, Shdr, sh_offset, TEST_ELF_NOTE_OFF);
        TEST_ELF_PUT(w, sh, Shdr, sh_size, 16 + s->note_descsz);
        TEST_ELF_PUT(w, sh, Shdr, sh_addralign, 4);
    }
    return ba;
}

typedef struct TestBzSpec {
    uint16_t version;           /* boot protocol, e.g. 0x020f */
    uint8_t setup_sects;        /* 0 means 4 */
    uint16_t xloadflags;
    uint32_t cmdline_size;
    uint32_t initrd_addr_max;
    uint32_t init_size;
    size_t kernel_size;         /* protected-mode bytes after the setup */
} TestBzSpec;

/* Build the bzImage; free with g_byte_array_unref(). */
static inline GByteArray *test_build_bzimage(const TestBzSpec *s)
{
    size_t setup = ((s->setup_sects ? s->setup_sects : 4) + 1) * 512;
    size_t total = setup + s->kernel_size;
    GByteArray *ba = g_byte_array_sized_new(total);
    uint8_t *d;

    g_byte_array_set_size(ba, total);
    d = ba->data;
    memset(d, 0, total);
    d[0x1f1] = s->setup_sects;
    test_st_le(d + 0x1fe, 0xaa55, 2);       /* boot_flag */
    d[0x200] = 0xeb;                        /* jmp over the header ... */
    d[0x201] = 0x66;                        /* ... which ends at 0x268 */
    memcpy(d + 0x202, "HdrS", 4);
    test_st_le(d + 0x206, s->version, 2);
    d[0x211] = 0x01;                        /* LOADED_HIGH */
    test_st_le(d + 0x214, 0x100000, 4);     /* code32_start */
    test_st_le(d + 0x22c, s->initrd_addr_max, 4);
    test_st_le(d + 0x236, s->xloadflags, 2);
    test_st_le(d + 0x238, s->cmdline_size, 4);
    test_st_le(d + 0x260, s->init_size, 4);
    for (size_t i = 0; i < s->kernel_size; i++) {
        d[setup + i] = test_image_byte(i);
    }
    return ba;
}

#endif
