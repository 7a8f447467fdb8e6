/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the kernel loaders (hw/core/loader*.c).  Synthetic PVH
 * ELFs and bzImages (tests/unit/kernel-images.h) are written to a temporary
 * directory and loaded into an address space whose root holds one RAM
 * region over a host buffer, so every byte the loader wrote can be checked
 * directly: segments, bss, start_info, memory map, command line, modules,
 * boot_params, page tables and the initial CPU state.  Error cases check
 * the exact message a user would see.
 */
#include "hw/core/loader.h"
#include "kernel-images.h"

#include <glib/gstdio.h>
#include <inttypes.h>
#include <string.h>

#define RAM_SIZE      (16 * 1024 * 1024)
#define LOW_RAM_END   0x9fc00
#define HIGH_RAM      0x100000

typedef struct TestVM {
    MemoryRegion root;
    MemoryRegion ram;
    AddressSpace as;
    uint8_t *mem;
    E820Entry e820[3];
    BootInfo info;
    BootCpuState cpu;
    char *dir;
} TestVM;

static void vm_init(TestVM *vm)
{
    memset(vm, 0, sizeof(*vm));
    vm->mem = g_malloc0(RAM_SIZE);
    memory_region_init(&vm->root, "root", UINT64_MAX);
    memory_region_init_ram_ptr(&vm->ram, "ram", RAM_SIZE, vm->mem, -1, 0);
    memory_region_add_subregion(&vm->root, 0, &vm->ram);
    address_space_init(&vm->as, &vm->root, "memory");
    vm->e820[0] = (E820Entry){ 0, LOW_RAM_END, E820_RAM };
    vm->e820[1] = (E820Entry){ LOW_RAM_END, HIGH_RAM - LOW_RAM_END,
                               E820_RESERVED };
    vm->e820[2] = (E820Entry){ HIGH_RAM, RAM_SIZE - HIGH_RAM, E820_RAM };
    vm->info.cmdline = "console=ttyS0 quiet";
    vm->info.e820 = vm->e820;
    vm->info.e820_nr = 3;
    vm->dir = g_dir_make_tmp("kvmini-loader-XXXXXX", NULL);
    g_assert_nonnull(vm->dir);
}

static void vm_cleanup(TestVM *vm)
{
    g_autoptr(GDir) dir = g_dir_open(vm->dir, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(vm->dir, name, NULL);
        g_unlink(path);
    }
    g_rmdir(vm->dir);
    g_free(vm->dir);
    address_space_destroy(&vm->as);
    memory_region_del_subregion(&vm->root, &vm->ram);
    memory_region_finalize(&vm->ram);
    memory_region_finalize(&vm->root);
    g_free(vm->mem);
}

/* Write data to DIR/name; the returned path is interned. */
static const char *vm_file(TestVM *vm, const char *name, const void *data,
                           size_t len)
{
    g_autofree char *path = g_build_filename(vm->dir, name, NULL);

    g_assert_true(g_file_set_contents(path, data, len, NULL));
    return g_intern_string(path);
}

static void vm_set_kernel(TestVM *vm, GByteArray *image)
{
    vm->info.kernel_path = vm_file(vm, "kernel", image->data, image->len);
    g_byte_array_unref(image);
}

static void vm_load_ok(TestVM *vm)
{
    g_autoptr(Error) err = NULL;

    if (!load_kernel(&vm->as, &vm->info, &vm->cpu, &err)) {
        g_error("load_kernel: %s", error_get_pretty(err));
    }
}

/* Load and expect failure with exactly the message fmt (after %s = path
 * formatting). */
static void vm_load_fails(TestVM *vm, const char *expected)
{
    g_autoptr(Error) err = NULL;

    g_assert_false(load_kernel(&vm->as, &vm->info, &vm->cpu, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, expected);
}

static uint64_t ld(const uint8_t *p, size_t size)
{
    uint64_t v = 0;

    for (size_t i = 0; i < size; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static void assert_payload(const TestVM *vm, uint64_t addr, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        g_assert_cmpuint(vm->mem[addr + i], ==, test_image_byte(i));
    }
}

/* --- PVH --------------------------------------------------------------- */

static const TestElfSpec elf_default = {
    .is64 = true, .paddr = 0x100000, .filesz = 0x1234, .memsz = 0x3000,
    .entry = 0x100010, .note_descsz = 4,
};

static void check_start_info(const TestVM *vm, unsigned nr_modules)
{
    const uint8_t *si = vm->mem + BOOT_START_INFO_ADDR;

    g_assert_cmphex(ld(si, 4), ==, 0x336ec578);
    g_assert_cmpuint(ld(si + 4, 4), ==, 1);         /* version */
    g_assert_cmpuint(ld(si + 8, 4), ==, 0);         /* flags */
    g_assert_cmpuint(ld(si + 12, 4), ==, nr_modules);
    g_assert_cmphex(ld(si + 24, 8), ==, BOOT_CMDLINE_ADDR);
    g_assert_cmphex(ld(si + 32, 8), ==, 0);         /* rsdp_paddr */
    g_assert_cmphex(ld(si + 40, 8), ==, BOOT_MEMMAP_ADDR);
    g_assert_cmpuint(ld(si + 48, 4), ==, vm->info.e820_nr);
    for (unsigned i = 0; i < vm->info.e820_nr; i++) {
        const uint8_t *e = vm->mem + BOOT_MEMMAP_ADDR + i * 24;
        g_assert_cmphex(ld(e, 8), ==, vm->e820[i].addr);
        g_assert_cmphex(ld(e + 8, 8), ==, vm->e820[i].size);
        g_assert_cmpuint(ld(e + 16, 4), ==, vm->e820[i].type);
    }
    g_assert_cmpstr((const char *)vm->mem + BOOT_CMDLINE_ADDR, ==,
                    vm->info.cmdline);
}

static void check_pvh_load(const TestElfSpec *spec)
{
    TestVM vm;

    vm_init(&vm);
    memset(vm.mem + spec->paddr, 0xaa, spec->memsz);   /* bss must clear */
    vm_set_kernel(&vm, test_build_pvh_elf(spec));
    vm_load_ok(&vm);
    assert_payload(&vm, spec->paddr, spec->filesz);
    for (size_t i = spec->filesz; i < spec->memsz; i++) {
        g_assert_cmpuint(vm.mem[spec->paddr + i], ==, 0);
    }
    check_start_info(&vm, 0);
    g_assert_cmpint(vm.cpu.mode, ==, BOOT_CPU_PVH32);
    g_assert_cmphex(vm.cpu.rip, ==, spec->entry);
    g_assert_cmphex(vm.cpu.rbx, ==, BOOT_START_INFO_ADDR);
    vm_cleanup(&vm);
}

static void test_pvh_elf64(void)
{
    check_pvh_load(&elf_default);
}

static void test_pvh_elf32(void)
{
    TestElfSpec spec = elf_default;

    spec.is64 = false;
    spec.paddr = 0x200000;
    spec.entry = 0x200000;
    check_pvh_load(&spec);
}

static void test_pvh_note_8byte(void)
{
    TestElfSpec spec = elf_default;

    spec.note_descsz = 8;
    check_pvh_load(&spec);
}

static void test_pvh_note_in_section(void)
{
    TestElfSpec spec = elf_default;

    spec.note_in_section = true;
    check_pvh_load(&spec);
    spec.is64 = false;
    check_pvh_load(&spec);
}

static void test_pvh_initrd(void)
{
    g_autofree uint8_t *initrd = g_malloc(0x2345);
    TestVM vm;

    for (size_t i = 0; i < 0x2345; i++) {
        initrd[i] = i * 13;
    }
    vm_init(&vm);
    vm_set_kernel(&vm, test_build_pvh_elf(&elf_default));
    vm.info.initrd_path = vm_file(&vm, "initrd", initrd, 0x2345);
    vm_load_ok(&vm);
    check_start_info(&vm, 1);

    uint64_t modlist = ld(vm.mem + BOOT_START_INFO_ADDR + 16, 8);
    const uint8_t *mod = vm.mem + modlist;
    uint64_t paddr = ld(mod, 8);
    g_assert_cmphex(paddr, ==, (RAM_SIZE - 0x2345) & ~0xfffULL);
    g_assert_cmphex(ld(mod + 8, 8), ==, 0x2345);
    g_assert_cmphex(ld(mod + 16, 8), ==, 0);
    g_assert_cmpmem(vm.mem + paddr, 0x2345, initrd, 0x2345);
    vm_cleanup(&vm);
}

static void test_pvh_empty_cmdline(void)
{
    TestVM vm;

    vm_init(&vm);
    vm.info.cmdline = "";
    vm_set_kernel(&vm, test_build_pvh_elf(&elf_default));
    memset(vm.mem + BOOT_CMDLINE_ADDR, 'x', 16);
    vm_load_ok(&vm);
    g_assert_cmpuint(vm.mem[BOOT_CMDLINE_ADDR], ==, 0);
    vm_cleanup(&vm);
}

static void test_load_from_buffer(void)
{
    g_autoptr(GByteArray) image = test_build_pvh_elf(&elf_default);
    g_autoptr(Error) err = NULL;
    static const char junk[] = "#!/bin/sh\necho not a kernel\n";
    TestVM vm;

    vm_init(&vm);
    g_assert_true(load_kernel_from_buffer(&vm.as, &vm.info, image->data,
                                          image->len, &vm.cpu, &err));
    assert_payload(&vm, elf_default.paddr, elf_default.filesz);
    g_assert_false(load_kernel_from_buffer(&vm.as, &vm.info, junk,
                                           sizeof(junk), &vm.cpu, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "'kernel' is not an ELF or bzImage kernel");
    vm_cleanup(&vm);
}

/* --- PVH errors --------------------------------------------------------- */

static void test_err_missing_file(void)
{
    TestVM vm;

    vm_init(&vm);
    vm.info.kernel_path = "/nonexistent/kvmini/vmlinux";
    vm_load_fails(&vm, "could not open '/nonexistent/kvmini/vmlinux': "
                  "No such file or directory");
    vm_cleanup(&vm);
}

static void test_err_not_kernel(void)
{
    static const char text[] = "this is not a kernel image";
    TestVM vm;

    vm_init(&vm);
    vm.info.kernel_path = vm_file(&vm, "text", text, sizeof(text));
    g_autofree char *msg =
        g_strdup_printf("'%s' is not an ELF or bzImage kernel",
                        vm.info.kernel_path);
    vm_load_fails(&vm, msg);
    vm_cleanup(&vm);
}

/* Load spec and expect "'PATH': " + suffix. */
static void check_pvh_error(const TestElfSpec *spec, size_t truncate,
                            const char *suffix)
{
    GByteArray *image = test_build_pvh_elf(spec);
    TestVM vm;

    vm_init(&vm);
    if (truncate) {
        g_byte_array_set_size(image, truncate);
    }
    vm_set_kernel(&vm, image);
    g_autofree char *msg = g_strdup_printf("'%s': %s", vm.info.kernel_path,
                                           suffix);
    vm_load_fails(&vm, msg);
    vm_cleanup(&vm);
}

static void test_err_no_note(void)
{
    TestElfSpec spec = elf_default;

    spec.note_descsz = 0;
    check_pvh_error(&spec, 0,
                    "no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
}

static void test_err_segment_outside_ram(void)
{
    TestElfSpec spec = elf_default;

    spec.paddr = RAM_SIZE - 0x1000;
    check_pvh_error(&spec, 0, "segment at 0xfff000 (0x3000 bytes) is "
                    "outside guest RAM");
    spec.paddr = 0x100000000ULL;
    check_pvh_error(&spec, 0, "segment at 0x100000000 (0x3000 bytes) is "
                    "outside guest RAM");
}

static void test_err_segment_low(void)
{
    TestElfSpec spec = elf_default;

    spec.paddr = 0x8000;
    check_pvh_error(&spec, 0, "segment at 0x8000 overlaps the boot area "
                    "below 1 MiB");
}

static void test_err_truncated(void)
{
    check_pvh_error(&elf_default, TEST_ELF_DATA_OFF + 0x100,
                    "segment at 0x100000 extends past the end of the file");
    check_pvh_error(&elf_default, sizeof(Elf64_Ehdr) + 8,
                    "program headers extend past the end of the file");
    check_pvh_error(&elf_default, 20, "truncated ELF header");
}

static void test_err_cmdline_too_long(void)
{
    g_autofree char *cmdline = g_strnfill(BOOT_CMDLINE_MAX, 'a');
    TestVM vm;

    vm_init(&vm);
    vm_set_kernel(&vm, test_build_pvh_elf(&elf_default));
    vm.info.cmdline = cmdline;
    vm_load_fails(&vm, "kernel command line is too long (65536 bytes, "
                  "max 65535)");
    cmdline[BOOT_CMDLINE_MAX - 1] = '\0';      /* the longest allowed */
    vm_load_ok(&vm);
    vm_cleanup(&vm);
}

static void test_err_boot_info(void)
{
    E820Entry many[129];
    TestVM vm;

    vm_init(&vm);
    vm.info.kernel_path = NULL;
    vm_load_fails(&vm, "no kernel image given");
    vm_set_kernel(&vm, test_build_pvh_elf(&elf_default));
    for (unsigned i = 0; i < G_N_ELEMENTS(many); i++) {
        many[i] = (E820Entry){ i * 0x100000ULL, 0x100000, E820_RAM };
    }
    vm.info.e820 = many;
    vm.info.e820_nr = G_N_ELEMENTS(many);
    vm_load_fails(&vm, "too many memory map entries (129, max 128)");
    vm_cleanup(&vm);
}

static void test_err_initrd(void)
{
    TestVM vm;

    vm_init(&vm);
    vm_set_kernel(&vm, test_build_pvh_elf(&elf_default));
    vm.info.initrd_path = "/nonexistent/initrd";
    vm_load_fails(&vm, "could not open '/nonexistent/initrd': No such file "
                  "or directory");
    /* Larger than the RAM left above the kernel. */
    g_autofree uint8_t *big = g_malloc0(RAM_SIZE - HIGH_RAM - 0x3000 + 1);
    vm.info.initrd_path = vm_file(&vm, "big", big,
                                  RAM_SIZE - HIGH_RAM - 0x3000 + 1);
    g_autofree char *msg = g_strdup_printf(
        "initrd '%s' (%d bytes) does not fit in guest RAM between 0x103000 "
        "and 0x100000000", vm.info.initrd_path,
        RAM_SIZE - HIGH_RAM - 0x3000 + 1);
    vm_load_fails(&vm, msg);
    vm_cleanup(&vm);
}

/* --- bzImage ------------------------------------------------------------ */

static const TestBzSpec bz_default = {
    .version = 0x020f, .setup_sects = 3, .xloadflags = 0x1,
    .cmdline_size = 2047, .initrd_addr_max = 0x7fffffff,
    .init_size = 0x10000, .kernel_size = 0x4321,
};

static void check_zero_page(const TestVM *vm, uint8_t setup_sects)
{
    const uint8_t *bp = vm->mem + BOOT_ZERO_PAGE_ADDR;

    g_assert_cmpmem(bp + 0x202, 4, "HdrS", 4);
    g_assert_cmpuint(bp[0x1f1], ==, setup_sects);
    g_assert_cmphex(ld(bp + 0x206, 2), ==, bz_default.version);
    g_assert_cmphex(bp[0x210], ==, 0xff);            /* type_of_loader */
    g_assert_cmphex(bp[0x211], ==, 0x81);            /* CAN_USE_HEAP|HIGH */
    g_assert_cmphex(ld(bp + 0x224, 2), ==, 0xde00);  /* heap_end_ptr */
    g_assert_cmphex(ld(bp + 0x228, 4), ==, BOOT_CMDLINE_ADDR);
    g_assert_cmpuint(bp[0x1e8], ==, 3);              /* e820_entries */
    for (unsigned i = 0; i < 3; i++) {
        const uint8_t *e = bp + 0x2d0 + i * 20;
        g_assert_cmphex(ld(e, 8), ==, vm->e820[i].addr);
        g_assert_cmphex(ld(e + 8, 8), ==, vm->e820[i].size);
        g_assert_cmpuint(ld(e + 16, 4), ==, vm->e820[i].type);
    }
    g_assert_cmpuint(bp[0x2d0 + 3 * 20], ==, 0);
    g_assert_cmpstr((const char *)vm->mem + BOOT_CMDLINE_ADDR, ==,
                    vm->info.cmdline);
}

static void check_long_mode(const TestVM *vm)
{
    const uint8_t *pt = vm->mem + BOOT_PML4_ADDR;

    g_assert_cmphex(ld(pt, 8), ==, (BOOT_PML4_ADDR + 0x1000) | 3);
    g_assert_cmphex(ld(pt + 8, 8), ==, 0);
    for (unsigned i = 0; i < 4; i++) {
        g_assert_cmphex(ld(pt + 0x1000 + i * 8, 8), ==,
                        (BOOT_PML4_ADDR + 0x2000 + i * 0x1000) | 3);
    }
    g_assert_cmphex(ld(pt + 0x2000, 8), ==, 0x83);
    g_assert_cmphex(ld(pt + 0x2008, 8), ==, 0x200083);
    g_assert_cmphex(ld(pt + 0x5ff8, 8), ==, 0xffe00083);  /* last 2 MiB */
    g_assert_cmphex(ld(vm->mem + BOOT_GDT_ADDR + 16, 8), ==,
                    0x00af9b000000ffffULL);
    g_assert_cmphex(ld(vm->mem + BOOT_GDT_ADDR + 24, 8), ==,
                    0x00cf93000000ffffULL);
    g_assert_cmpint(vm->cpu.mode, ==, BOOT_CPU_LINUX64);
    g_assert_cmphex(vm->cpu.rip, ==, 0x100200);
    g_assert_cmphex(vm->cpu.rsi, ==, BOOT_ZERO_PAGE_ADDR);
    g_assert_cmphex(vm->cpu.cr3, ==, BOOT_PML4_ADDR);
    g_assert_cmphex(vm->cpu.gdt_base, ==, BOOT_GDT_ADDR);
    g_assert_cmpuint(vm->cpu.gdt_limit, ==, 31);
}

static void check_bzimage_load(const TestBzSpec *spec)
{
    TestVM vm;

    vm_init(&vm);
    vm_set_kernel(&vm, test_build_bzimage(spec));
    vm_load_ok(&vm);
    check_zero_page(&vm, spec->setup_sects);
    g_assert_cmphex(ld(vm.mem + BOOT_ZERO_PAGE_ADDR + 0x218, 8), ==, 0);
    assert_payload(&vm, 0x100000, spec->kernel_size);
    check_long_mode(&vm);
    vm_cleanup(&vm);
}

static void test_bzimage(void)
{
    TestBzSpec spec = bz_default;

    check_bzimage_load(&spec);
    spec.setup_sects = 0;               /* means 4 */
    check_bzimage_load(&spec);
}

static void test_bzimage_initrd(void)
{
    g_autofree uint8_t *initrd = g_malloc(0x5000);
    TestBzSpec spec = bz_default;
    TestVM vm;

    memset(initrd, 0x5a, 0x5000);
    spec.initrd_addr_max = 0x7fffff;    /* 8 MiB - 1: below RAM's end */
    vm_init(&vm);
    vm_set_kernel(&vm, test_build_bzimage(&spec));
    vm.info.initrd_path = vm_file(&vm, "initrd", initrd, 0x5000);
    vm_load_ok(&vm);

    const uint8_t *bp = vm.mem + BOOT_ZERO_PAGE_ADDR;
    g_assert_cmphex(ld(bp + 0x218, 4), ==, 0x800000 - 0x5000);
    g_assert_cmphex(ld(bp + 0x21c, 4), ==, 0x5000);
    g_assert_cmpmem(vm.mem + 0x800000 - 0x5000, 0x5000, initrd, 0x5000);
    vm_cleanup(&vm);
}

static void test_bzimage_dtb(void)
{
    static const uint8_t dtb[] = { 0xd0, 0x0d, 0xfe, 0xed, 1, 2, 3, 4, 5 };
    TestVM vm;

    vm_init(&vm);
    vm_set_kernel(&vm, test_build_bzimage(&bz_default));
    vm.info.dtb = dtb;
    vm.info.dtb_size = sizeof(dtb);
    vm_load_ok(&vm);

    uint64_t sd = ld(vm.mem + BOOT_ZERO_PAGE_ADDR + 0x250, 8);
    g_assert_cmphex(sd, >=, BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX);
    g_assert_cmphex(sd + 16 + sizeof(dtb), <=, LOW_RAM_END);
    g_assert_cmphex(ld(vm.mem + sd, 8), ==, 0);          /* next */
    g_assert_cmpuint(ld(vm.mem + sd + 8, 4), ==, 2);     /* SETUP_DTB */
    g_assert_cmpuint(ld(vm.mem + sd + 12, 4), ==, sizeof(dtb));
    g_assert_cmpmem(vm.mem + sd + 16, sizeof(dtb), dtb, sizeof(dtb));
    vm_cleanup(&vm);
}

static void check_bzimage_error(const TestBzSpec *spec, const char *cmdline,
                                const char *suffix)
{
    TestVM vm;

    vm_init(&vm);
    vm_set_kernel(&vm, test_build_bzimage(spec));
    if (cmdline) {
        vm.info.cmdline = cmdline;
    }
    g_autofree char *msg = g_strdup_printf("'%s': %s", vm.info.kernel_path,
                                           suffix);
    vm_load_fails(&vm, msg);
    vm_cleanup(&vm);
}

static void test_err_bzimage(void)
{
    TestBzSpec spec = bz_default;

    spec.version = 0x0205;
    check_bzimage_error(&spec, NULL, "Linux boot protocol 2.05 is too old "
                        "(2.06 or later needed)");
    spec.version = 0x020b;
    check_bzimage_error(&spec, NULL, "kernel has no 64-bit entry point "
                        "(XLF_KERNEL_64)");
    spec = bz_default;
    spec.xloadflags = 0;
    check_bzimage_error(&spec, NULL, "kernel has no 64-bit entry point "
                        "(XLF_KERNEL_64)");
    spec = bz_default;
    spec.cmdline_size = 4;
    check_bzimage_error(&spec, "console=ttyS0", "command line is too long "
                        "(13 bytes, the kernel accepts 4)");
    spec = bz_default;
    spec.init_size = RAM_SIZE;
    check_bzimage_error(&spec, NULL, "kernel (0x1000000 bytes at 0x100000) "
                        "does not fit in guest RAM");
    spec = bz_default;
    spec.kernel_size = 0;
    check_bzimage_error(&spec, NULL, "truncated bzImage (2048 bytes, setup "
                        "code alone is 2048)");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/loader/pvh/elf64", test_pvh_elf64);
    g_test_add_func("/loader/pvh/elf32", test_pvh_elf32);
    g_test_add_func("/loader/pvh/note-8byte", test_pvh_note_8byte);
    g_test_add_func("/loader/pvh/note-in-section", test_pvh_note_in_section);
    g_test_add_func("/loader/pvh/initrd", test_pvh_initrd);
    g_test_add_func("/loader/pvh/empty-cmdline", test_pvh_empty_cmdline);
    g_test_add_func("/loader/buffer", test_load_from_buffer);
    g_test_add_func("/loader/error/missing-file", test_err_missing_file);
    g_test_add_func("/loader/error/not-kernel", test_err_not_kernel);
    g_test_add_func("/loader/error/no-note", test_err_no_note);
    g_test_add_func("/loader/error/segment-outside-ram",
                    test_err_segment_outside_ram);
    g_test_add_func("/loader/error/segment-low", test_err_segment_low);
    g_test_add_func("/loader/error/truncated", test_err_truncated);
    g_test_add_func("/loader/error/cmdline-too-long",
                    test_err_cmdline_too_long);
    g_test_add_func("/loader/error/initrd", test_err_initrd);
    g_test_add_func("/loader/error/boot-info", test_err_boot_info);
    g_test_add_func("/loader/bzimage/basic", test_bzimage);
    g_test_add_func("/loader/bzimage/initrd", test_bzimage_initrd);
    g_test_add_func("/loader/bzimage/dtb", test_bzimage_dtb);
    g_test_add_func("/loader/error/bzimage", test_err_bzimage);
    return g_test_run();
}
