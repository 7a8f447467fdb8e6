/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the kernel loaders: arbitrary bytes go through
 * load_kernel_from_buffer() into a small guest (3 MiB of RAM, a split
 * e820 map, a command line and a device tree to append), which must either
 * load them or fail with an error, and never crash or touch memory outside
 * the input and the guest.  Build it with -fsanitize=address,undefined.
 *
 * Two builds of this file:
 *  - with KVMINI_LIBFUZZER defined (clang -fsanitize=fuzzer) it is a
 *    libFuzzer target (LLVMFuzzerTestOneInput);
 *  - otherwise it is a standalone program whose main() runs a bounded,
 *    deterministic campaign: valid synthetic PVH ELFs and a bzImage built
 *    in-process, then random and mutated inputs from a fixed seed.
 *    Environment: FUZZ_ITERATIONS (default 20000), FUZZ_SEED (default 1).
 *    Arguments: FILE... replays those inputs; --write-seeds DIR saves the
 *    seeds as a libFuzzer corpus.
 */
#include "hw/core/loader.h"
#include "../unit/kernel-images.h"

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_RAM_SIZE     (3 * 1024 * 1024)
#define FUZZ_LOW_RAM_END  0x9fc00

typedef struct FuzzVM {
    MemoryRegion root;
    MemoryRegion ram;
    AddressSpace as;
    uint8_t *mem;
    E820Entry e820[3];
    BootInfo info;
} FuzzVM;

/* One guest for the whole run: building it per input would dominate. */
static FuzzVM *fuzz_vm(void)
{
    static const uint8_t dtb[32] = { 0xd0, 0x0d, 0xfe, 0xed };
    static FuzzVM *vm;

    if (vm) {
        return vm;
    }
    vm = g_new0(FuzzVM, 1);
    vm->mem = g_malloc0(FUZZ_RAM_SIZE);
    memory_region_init(&vm->root, "root", UINT64_MAX);
    memory_region_init_ram_ptr(&vm->ram, "ram", FUZZ_RAM_SIZE, vm->mem, -1,
                               0);
    memory_region_add_subregion(&vm->root, 0, &vm->ram);
    address_space_init(&vm->as, &vm->root, "memory");
    vm->e820[0] = (E820Entry){ 0, FUZZ_LOW_RAM_END, E820_RAM };
    vm->e820[1] = (E820Entry){ FUZZ_LOW_RAM_END, 0x100000 - FUZZ_LOW_RAM_END,
                               E820_RESERVED };
    vm->e820[2] = (E820Entry){ 0x100000, FUZZ_RAM_SIZE - 0x100000,
                               E820_RAM };
    vm->info.cmdline = "console=ttyS0";
    vm->info.e820 = vm->e820;
    vm->info.e820_nr = 3;
    vm->info.dtb = dtb;
    vm->info.dtb_size = sizeof(dtb);
    return vm;
}

/* Returns whether the input loaded. */
static bool fuzz_one(const uint8_t *data, size_t size)
{
    FuzzVM *vm = fuzz_vm();
    BootCpuState cpu;
    Error *err = NULL;
    bool ok = load_kernel_from_buffer(&vm->as, &vm->info, data, size, &cpu,
                                      &err);

    g_assert(ok == (err == NULL));
    if (err) {
        g_assert(error_get_pretty(err)[0] != '\0');
        error_free(err);
    }
    return ok;
}

#ifdef KVMINI_LIBFUZZER

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size);
    return 0;
}

#else /* standalone */

#define FUZZ_MAX_INPUT  (64 * 1024)

static GPtrArray *make_seeds(void)
{
    static const TestElfSpec elf64 = {
        .is64 = true, .paddr = 0x100000, .filesz = 0x300, .memsz = 0x2000,
        .entry = 0x100000, .note_descsz = 4,
    };
    TestElfSpec elf32 = elf64, elf_sec = elf64;
    static const TestBzSpec bz = {
        .version = 0x020f, .setup_sects = 4, .xloadflags = 1,
        .cmdline_size = 2047, .initrd_addr_max = 0x7fffffff,
        .init_size = 0x4000, .kernel_size = 0x400,
    };
    GPtrArray *seeds = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);

    elf32.is64 = false;
    elf_sec.note_in_section = true;
    elf_sec.note_descsz = 8;
    g_ptr_array_add(seeds, test_build_pvh_elf(&elf64));
    g_ptr_array_add(seeds, test_build_pvh_elf(&elf32));
    g_ptr_array_add(seeds, test_build_pvh_elf(&elf_sec));
    g_ptr_array_add(seeds, test_build_bzimage(&bz));
    return seeds;
}

/* Values that tend to sit on boundaries of size and offset checks. */
static uint64_t interesting(GRand *r)
{
    static const uint64_t values[] = {
        0, 1, 2, 4, 8, 0x7f, 0x80, 0xff, 0x100, 0x1ff, 0x200, 0x1000,
        0x7fff, 0x8000, 0xffff, 0x10000, 0x9fc00, 0x100000, 0x2fffff,
        0x300000, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff,
        0x100000000ULL, 0x7fffffffffffffffULL, 0xfffffffffffffff0ULL,
        UINT64_MAX,
    };

    return values[g_rand_int_range(r, 0, G_N_ELEMENTS(values))];
}

/* Offset to mutate: headers matter most, so favour the first 0x300 bytes. */
static size_t pick_offset(GRand *r, size_t len)
{
    if (g_rand_boolean(r) && len > 0x300) {
        return g_rand_int_range(r, 0, 0x300);
    }
    return g_rand_int_range(r, 0, len);
}

static void mutate_once(GRand *r, GByteArray *ba)
{
    size_t off, n;

    if (ba->len == 0) {
        g_byte_array_set_size(ba, g_rand_int_range(r, 1, 64));
        return;
    }
    off = pick_offset(r, ba->len);
    switch (g_rand_int_range(r, 0, 6)) {
    case 0:
        ba->data[off] ^= 1u << g_rand_int_range(r, 0, 8);
        break;
    case 1:
        ba->data[off] = g_rand_int(r);
        break;
    case 2: {
        size_t width = 1u << g_rand_int_range(r, 1, 4);   /* 2, 4, 8 */
        if (off + width <= ba->len) {
            test_st_le(ba->data + off, interesting(r), width);
        }
        break;
    }
    case 3:
        g_byte_array_set_size(ba, off);
        break;
    case 4:
        n = ba->len + g_rand_int_range(r, 1, 512);
        g_byte_array_set_size(ba, MIN(n, FUZZ_MAX_INPUT));
        break;
    default:
        n = g_rand_int_range(r, 1, 64);
        g_byte_array_remove_range(ba, off, MIN(n, ba->len - off));
        break;
    }
}

static GByteArray *random_input(GRand *r)
{
    GByteArray *ba = g_byte_array_new();
    size_t len = g_rand_int_range(r, 0, 4096);

    g_byte_array_set_size(ba, len);
    for (size_t i = 0; i < len; i++) {
        ba->data[i] = g_rand_int(r);
    }
    if (len >= 0x206 && g_rand_boolean(r)) {    /* reach the bzImage path */
        memcpy(ba->data + 0x202, "HdrS", 4);
    } else if (len >= 4 && g_rand_boolean(r)) {
        memcpy(ba->data, ELFMAG, SELFMAG);
    }
    return ba;
}

static GByteArray *next_input(GRand *r, GPtrArray *seeds)
{
    if (g_rand_int_range(r, 0, 10) == 0) {
        return random_input(r);
    }
    GByteArray *seed = g_ptr_array_index(seeds,
                                         g_rand_int_range(r, 0, seeds->len));
    GByteArray *ba = g_byte_array_sized_new(seed->len);
    g_byte_array_append(ba, seed->data, seed->len);
    for (int n = g_rand_int_range(r, 1, 9); n > 0; n--) {
        mutate_once(r, ba);
    }
    return ba;
}

static unsigned env_uint(const char *name, unsigned dflt)
{
    const char *s = getenv(name);

    return s && *s ? (unsigned)strtoul(s, NULL, 0) : dflt;
}

static int write_seeds(const char *dir, GPtrArray *seeds)
{
    g_mkdir_with_parents(dir, 0755);
    for (unsigned i = 0; i < seeds->len; i++) {
        GByteArray *ba = g_ptr_array_index(seeds, i);
        g_autofree char *name = g_strdup_printf("%s/seed-%u", dir, i);
        g_autoptr(GError) err = NULL;
        if (!g_file_set_contents(name, (char *)ba->data, ba->len, &err)) {
            fprintf(stderr, "fuzz-loader: %s\n", err->message);
            return 1;
        }
    }
    return 0;
}

static int replay_files(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        g_autofree char *data = NULL;
        g_autoptr(GError) err = NULL;
        gsize len;
        if (!g_file_get_contents(argv[i], &data, &len, &err)) {
            fprintf(stderr, "fuzz-loader: %s\n", err->message);
            return 1;
        }
        printf("%s: %s\n", argv[i], fuzz_one((uint8_t *)data, len)
                                    ? "loaded" : "rejected");
    }
    return 0;
}

static int run_campaign(GPtrArray *seeds)
{
    unsigned iterations = env_uint("FUZZ_ITERATIONS", 20000);
    unsigned seed = env_uint("FUZZ_SEED", 1);
    g_autoptr(GRand) r = g_rand_new_with_seed(seed);
    unsigned loaded = 0;

    for (unsigned i = 0; i < seeds->len; i++) {
        GByteArray *ba = g_ptr_array_index(seeds, i);
        if (!fuzz_one(ba->data, ba->len)) {
            fprintf(stderr, "fuzz-loader: seed %u does not load\n", i);
            return 1;
        }
    }
    for (unsigned i = 0; i < iterations; i++) {
        GByteArray *ba = next_input(r, seeds);
        loaded += fuzz_one(ba->data, ba->len);
        g_byte_array_unref(ba);
    }
    printf("fuzz-loader: seed %u, %u inputs, %u loaded, %u rejected\n",
           seed, iterations, loaded, iterations - loaded);
    return 0;
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) seeds = make_seeds();

    /* A glib critical is a bug in this program: stop on it. */
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
    if (argc == 3 && !strcmp(argv[1], "--write-seeds")) {
        return write_seeds(argv[2], seeds);
    }
    if (argc > 1) {
        return replay_files(argc, argv);
    }
    return run_campaign(seeds);
}

#endif
