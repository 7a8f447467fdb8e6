/* SPDX-License-Identifier: MIT */
/*
 * Kernel format detection and the pieces both loaders share.
 *
 * load_kernel() reads the file and hands the bytes to
 * load_kernel_from_buffer(), which picks the format from the content: the
 * ELF magic means a PVH kernel (loader-pvh.c), "HdrS" at offset 0x202 a
 * Linux bzImage (loader-bzimage.c).  Working on a buffer keeps the parsers
 * free of I/O, which is what the fuzz target exercises.  The helpers below
 * check guest ranges against the e820 table, write guest memory through
 * the AddressSpace, and place the command line and the initrd.
 */
#include "hw/core/loader.h"
#include "loader-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOADER_COPY_CHUNK  (1024 * 1024)

static const char *kernel_name(const BootInfo *info)
{
    return info->kernel_path ? info->kernel_path : "kernel";
}

/* Read exactly len bytes from fd; returns 0 or an errno value (EIO when
 * the file is shorter than expected). */
static int read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno;
        }
        if (n == 0) {
            return EIO;
        }
        p += n;
        len -= n;
    }
    return 0;
}

/* Open path read-only and return its size; -1 with errp set on failure. */
static int open_sized(const char *path, uint64_t *size, Error **errp)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        error_setg_errno(errp, errno, "could not open '%s'", path);
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "could not stat '%s'", path);
        close(fd);
        return -1;
    }
    *size = st.st_size;
    return fd;
}

/* Read a whole file (at most LOADER_KERNEL_MAX bytes) into a g_malloc'ed
 * buffer owned by the caller. */
static bool loader_read_file(const char *path, uint8_t **data, size_t *len,
                             Error **errp)
{
    uint64_t size;
    int fd;

    if (!path) {
        error_setg(errp, "no kernel image given");
        return false;
    }
    fd = open_sized(path, &size, errp);
    if (fd < 0) {
        return false;
    }
    if (size > LOADER_KERNEL_MAX) {
        error_setg(errp, "'%s' is too large (%" PRIu64 " bytes)", path, size);
        close(fd);
        return false;
    }
    g_autofree uint8_t *buf = g_malloc(size ? size : 1);
    int err = read_full(fd, buf, size);
    close(fd);
    if (err) {
        error_setg_errno(errp, err, "could not read '%s'", path);
        return false;
    }
    *data = g_steal_pointer(&buf);
    *len = size;
    return true;
}

bool loader_range_in_ram(const BootInfo *info, uint64_t addr, uint64_t size)
{
    for (unsigned i = 0; i < info->e820_nr; i++) {
        const E820Entry *e = &info->e820[i];
        if (e->type != E820_RAM || addr < e->addr) {
            continue;
        }
        if (addr - e->addr <= e->size && size <= e->size - (addr - e->addr)) {
            return true;
        }
    }
    return false;
}

bool loader_write(AddressSpace *as, uint64_t addr, const void *buf,
                  uint64_t len, const char *what, Error **errp)
{
    if (address_space_write(as, addr, buf, len) != MEMTX_OK) {
        error_setg(errp, "could not write the %s at 0x%" PRIx64
                   " (%" PRIu64 " bytes): not guest RAM", what, addr, len);
        return false;
    }
    return true;
}

/* How many of the len bytes at addr (a page boundary) lie in a hole of
 * the shared file behind guest RAM there (fresh memfd RAM at boot is all
 * hole): zero already, and writing zeros would only allocate pages. */
static uint64_t loader_hole_len(AddressSpace *as, uint64_t addr,
                                uint64_t len)
{
    MemoryRegionSection s;
    uint64_t in, off, end;
    int fd;
    off_t data;

    if (!address_space_find_section(as, addr, &s) ||
        !memory_region_is_ram(s.mr) || (fd = memory_region_get_fd(s.mr)) < 0) {
        return 0;
    }
    in = addr - s.offset_within_address_space;
    off = s.mr->ram_fd_offset + s.offset_within_region + in;
    end = off + MIN(len, s.size - in);
    data = lseek(fd, off, SEEK_DATA);
    if (data < 0) {
        return errno == ENXIO ? end - off : 0;
    }
    return (uint64_t)data > off ? (MIN((uint64_t)data, end) - off) &
                                  ~(uint64_t)4095 : 0;
}

bool loader_zero(AddressSpace *as, uint64_t addr, uint64_t len, Error **errp)
{
    static const uint8_t zeros[4096];

    while (len) {
        uint64_t n = addr % sizeof(zeros) ? 0 : loader_hole_len(as, addr, len);

        if (!n) {
            n = MIN(len, sizeof(zeros) - addr % sizeof(zeros));
            if (!loader_write(as, addr, zeros, n, "zeroed area", errp)) {
                return false;
            }
        }
        addr += n;
        len -= n;
    }
    return true;
}

bool loader_check_info(const BootInfo *info, Error **errp)
{
    size_t len = info->cmdline ? strlen(info->cmdline) + 1 : 1;

    if (len > BOOT_CMDLINE_MAX) {
        error_setg(errp, "kernel command line is too long (%zu bytes, "
                   "max %u)", len - 1, BOOT_CMDLINE_MAX - 1);
        return false;
    }
    if (info->e820_nr > LOADER_E820_MAX) {
        error_setg(errp, "too many memory map entries (%u, max %u)",
                   info->e820_nr, LOADER_E820_MAX);
        return false;
    }
    return true;
}

bool loader_write_cmdline(AddressSpace *as, const BootInfo *info,
                          Error **errp)
{
    const char *cmdline = info->cmdline ? info->cmdline : "";
    size_t len = strlen(cmdline) + 1;

    if (!loader_check_info(info, errp)) {
        return false;
    }
    return loader_write(as, BOOT_CMDLINE_ADDR, cmdline, len,
                        "command line", errp);
}

/* Highest page-aligned address a with [a, a + size) inside one RAM entry,
 * a >= floor and a + size <= limit. */
static bool place_high(const BootInfo *info, uint64_t size, uint64_t limit,
                       uint64_t floor, uint64_t *addr)
{
    bool found = false;

    for (unsigned i = 0; i < info->e820_nr; i++) {
        const E820Entry *e = &info->e820[i];
        if (e->type != E820_RAM) {
            continue;
        }
        uint64_t start = MAX(e->addr, floor);
        uint64_t end = e->size > UINT64_MAX - e->addr ? UINT64_MAX
                                                      : e->addr + e->size;
        end = MIN(end, limit);
        if (end <= start || end - start < size) {
            continue;
        }
        uint64_t a = (end - size) & ~(LOADER_PAGE_SIZE - 1);
        if (a >= start && (!found || a > *addr)) {
            *addr = a;
            found = true;
        }
    }
    return found;
}

/* Copy size bytes from fd into guest memory at addr, in chunks. */
static bool copy_fd_to_guest(AddressSpace *as, int fd, const char *path,
                             uint64_t addr, uint64_t size, Error **errp)
{
    g_autofree uint8_t *buf = g_malloc(MIN(size, LOADER_COPY_CHUNK) + 1);

    while (size) {
        uint64_t n = MIN(size, LOADER_COPY_CHUNK);
        int err = read_full(fd, buf, n);
        if (err) {
            error_setg_errno(errp, err, "could not read '%s'", path);
            return false;
        }
        if (!loader_write(as, addr, buf, n, "initrd", errp)) {
            return false;
        }
        addr += n;
        size -= n;
    }
    return true;
}

bool loader_load_initrd(AddressSpace *as, const BootInfo *info,
                        uint64_t limit, uint64_t floor, uint64_t *addr,
                        uint64_t *size, Error **errp)
{
    const char *path = info->initrd_path;
    int fd = open_sized(path, size, errp);

    if (fd < 0) {
        return false;
    }
    if (!place_high(info, *size, limit, floor, addr)) {
        error_setg(errp, "initrd '%s' (%" PRIu64 " bytes) does not fit in "
                   "guest RAM between 0x%" PRIx64 " and 0x%" PRIx64,
                   path, *size, floor, limit);
        close(fd);
        return false;
    }
    bool ok = copy_fd_to_guest(as, fd, path, *addr, *size, errp);
    close(fd);
    return ok;
}

bool load_kernel_from_buffer(AddressSpace *as, const BootInfo *info,
                             const void *data, size_t len, BootCpuState *cpu,
                             Error **errp)
{
    static const uint8_t elf_magic[4] = { 0x7f, 'E', 'L', 'F' };
    const uint8_t *p = data;
    const char *name = kernel_name(info);

    if (len >= sizeof(elf_magic) && !memcmp(p, elf_magic, 4)) {
        return load_pvh_elf_buf(as, info, name, p, len, cpu, errp);
    }
    if (len >= 0x206 && !memcmp(p + 0x202, "HdrS", 4)) {
        return load_bzimage_buf(as, info, name, p, len, cpu, errp);
    }
    error_setg(errp, "'%s' is not an ELF or bzImage kernel", name);
    return false;
}

bool load_kernel(AddressSpace *as, const BootInfo *info, BootCpuState *cpu,
                 Error **errp)
{
    g_autofree uint8_t *data = NULL;
    size_t len;

    if (!loader_read_file(info->kernel_path, &data, &len, errp)) {
        return false;
    }
    return load_kernel_from_buffer(as, info, data, len, cpu, errp);
}
