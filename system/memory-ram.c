/* SPDX-License-Identifier: MIT */
/*
 * RAM regions: the backends that give an MR_RAM region its host memory
 * (memfd, a file, a caller's fd, a caller's pointer), the accessors that
 * resolve aliases down to that memory, and the release of it at finalize.
 *
 * Only shared mappings keep their fd in mr->ram_fd: that fd is what
 * vhost-user passes to a backend, so a private mapping must not offer one.
 * mr->ram_owned says the mapping is ours to unmap; mr->ram_fd_owned says
 * the fd is ours to close (from_fd with own_fd=false maps but never
 * closes).
 */
#include "exec/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memory-internal.h"

/* Map fd; a private mapping keeps no fd, so nobody (vhost-user) mistakes
 * it for memory it could share.  Closes an owned fd on failure. */
static bool ram_map_fd(MemoryRegion *mr, int fd, uint64_t offset,
                       bool own_fd, bool shared, Error **errp)
{
    void *p = mmap(NULL, mr->size, PROT_READ | PROT_WRITE,
                   shared ? MAP_SHARED : MAP_PRIVATE, fd, offset);

    if (p == MAP_FAILED) {
        error_setg_errno(errp, errno, "memory region '%s': cannot map "
                         "0x%" PRIx64 " bytes", mr->name ?: "", mr->size);
        if (own_fd) {
            close(fd);
        }
        return false;
    }
    mr->ram_ptr = p;
    mr->ram_mapped_size = mr->size;
    mr->ram_owned = true;
    if (shared) {
        mr->ram_fd = fd;
        mr->ram_fd_offset = offset;
        mr->ram_fd_owned = own_fd;
    } else if (own_fd) {
        close(fd);
    }
    return true;
}

bool memory_region_init_ram_from_fd(MemoryRegion *mr, const char *name,
                                    uint64_t size, int fd, uint64_t offset,
                                    bool own_fd, Error **errp)
{
    memory_region_init_common(mr, name, size, MR_RAM);
    if (!ram_map_fd(mr, fd, offset, own_fd, true, errp)) {
        memory_region_finalize(mr);
        return false;
    }
    return true;
}

bool memory_region_init_ram_memfd(MemoryRegion *mr, const char *name,
                                  uint64_t size, Error **errp)
{
    int fd;

    memory_region_init_common(mr, name, size, MR_RAM);
    fd = memfd_create(name ?: "kvmini-ram", MFD_CLOEXEC);
    if (fd < 0) {
        error_setg_errno(errp, errno, "memory region '%s': memfd_create",
                         name ?: "");
        goto fail;
    }
    if (ftruncate(fd, size) < 0) {
        error_setg_errno(errp, errno, "memory region '%s': cannot size "
                         "memfd to 0x%" PRIx64, name ?: "", size);
        close(fd);
        goto fail;
    }
    if (ram_map_fd(mr, fd, 0, true, true, errp)) {
        return true;
    }
fail:
    memory_region_finalize(mr);
    return false;
}

/* Grow (never shrink) a regular file to size: it may hold data. */
static bool ram_file_grow(int fd, uint64_t size, const char *path,
                          Error **errp)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "cannot stat '%s'", path);
        return false;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < size &&
        ftruncate(fd, size) < 0) {
        error_setg_errno(errp, errno, "cannot grow '%s' to 0x%" PRIx64,
                         path, size);
        return false;
    }
    return true;
}

bool memory_region_init_ram_file(MemoryRegion *mr, const char *name,
                                 uint64_t size, const char *path, bool share,
                                 Error **errp)
{
    int fd;

    memory_region_init_common(mr, name, size, MR_RAM);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot open '%s'", path);
        goto fail;
    }
    if (!ram_file_grow(fd, size, path, errp)) {
        close(fd);
        goto fail;
    }
    if (ram_map_fd(mr, fd, 0, true, share, errp)) {
        return true;
    }
fail:
    memory_region_finalize(mr);
    return false;
}

void memory_region_init_ram_ptr(MemoryRegion *mr, const char *name,
                                uint64_t size, void *ptr, int fd,
                                uint64_t fd_offset)
{
    memory_region_init_common(mr, name, size, MR_RAM);
    mr->ram_ptr = ptr;
    mr->ram_fd = fd;
    mr->ram_fd_offset = fd_offset;
    mr->ram_mapped_size = size;
}

bool memory_region_is_ram(const MemoryRegion *mr)
{
    return mr->kind == MR_RAM;
}

/* Follow aliases down to the terminal region, summing their offsets. */
static const MemoryRegion *region_resolve(const MemoryRegion *mr,
                                          hwaddr *offset)
{
    *offset = 0;
    while (mr && mr->kind == MR_ALIAS) {
        *offset += mr->alias_offset;
        mr = mr->alias;
    }
    return mr;
}

void *memory_region_get_ram_ptr(MemoryRegion *mr)
{
    hwaddr off;
    const MemoryRegion *t = region_resolve(mr, &off);

    if (!t || t->kind != MR_RAM || !t->ram_ptr) {
        return NULL;
    }
    return (uint8_t *)t->ram_ptr + off;
}

int memory_region_get_fd(const MemoryRegion *mr)
{
    hwaddr off;
    const MemoryRegion *t = region_resolve(mr, &off);

    return t && t->kind == MR_RAM ? t->ram_fd : -1;
}

void memory_region_ram_release(MemoryRegion *mr)
{
    if (mr->ram_owned && mr->ram_ptr) {
        munmap(mr->ram_ptr, mr->ram_mapped_size);
    }
    if (mr->ram_fd_owned && mr->ram_fd >= 0) {
        close(mr->ram_fd);
    }
    g_free(mr->dirty_bitmap);
}
