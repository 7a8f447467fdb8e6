/* SPDX-License-Identifier: MIT */
/*
 * The VMM's memory as vhost sees it: ring addresses are the VMM's virtual
 * addresses, buffer addresses are guest-physical and go through the
 * memory table to virtual ones.  Where a region is a shared mapping (memfd
 * RAM) we map the same pages through /proc/PID/map_files and copy
 * directly (zero copy for the VMM); private RAM is reached with
 * process_vm_readv/writev, which works for any mapping.
 */
#include "standin.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* x86-64 with 4-level paging: what access_ok() accepts. */
#define TASK_SIZE_MAX 0x7ffffffff000ULL
#define PAGE 4096ULL

bool standin_user_range_ok(uint64_t addr, uint64_t size)
{
    return size <= TASK_SIZE_MAX && addr <= TASK_SIZE_MAX - size;
}

/* log_access_ok(): the log bytes for [addr, addr + size) are user
 * memory. */
bool standin_log_access_ok(uint64_t log_base, uint64_t addr, uint64_t size)
{
    uint64_t a = addr / PAGE / 8;

    if (a > UINT64_MAX - log_base) {
        return false;
    }
    return standin_user_range_ok(log_base + a,
                                 (size + PAGE * 8 - 1) / PAGE / 8);
}

/* If [uaddr, uaddr + len) lies in a shared mapping of the VMM, map the same
 * pages here (map_files needs CAP_SYS_ADMIN; without it we fall back to
 * process_vm). */
static void region_map_shared(pid_t pid, StandinRegion *r)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/maps", pid);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return;
    }
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        uint64_t start, end, off;
        char perms[8];
        g_autofree char *mf = NULL;
        uint64_t delta;
        int fd;
        void *p;

        if (sscanf(*l, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64, &start, &end,
                   perms, &off) != 4 ||
            r->uaddr < start || r->uaddr + r->size > end) {
            continue;
        }
        if (perms[3] != 's') {
            return;
        }
        mf = g_strdup_printf("/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid,
                             start, end);
        fd = open(mf, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            return;
        }
        delta = (r->uaddr - start) & ~(PAGE - 1);
        r->map_len = r->uaddr + r->size - (start + delta);
        p = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                 off + delta);
        close(fd);
        if (p != MAP_FAILED) {
            r->map_base = p;
            r->local = (uint8_t *)p + (r->uaddr - start - delta);
        }
        return;
    }
}

void standin_mem_clear(StandinMem *m)
{
    for (unsigned i = 0; i < m->n; i++) {
        if (m->r[i].map_base) {
            munmap(m->r[i].map_base, m->r[i].map_len);
        }
    }
    memset(m, 0, sizeof(*m));
}

/* vhost_set_memory() after the header checks: every region non-empty and
 * in user space; rings with a backend and LOG_ALL need the log to cover
 * the new table. */
int standin_mem_set(StandinDevice *d, const struct vhost_memory_region *regs,
                    unsigned n)
{
    g_autofree StandinMem *m = g_new0(StandinMem, 1);

    for (unsigned i = 0; i < n; i++) {
        const struct vhost_memory_region *g = &regs[i];

        if (!g->memory_size ||
            g->guest_phys_addr + g->memory_size - 1 < g->guest_phys_addr ||
            !standin_user_range_ok(g->userspace_addr, g->memory_size)) {
            return -EFAULT;
        }
        for (int q = 0; q < STANDIN_NVQS; q++) {
            if (d->vq[q].backend_fd >= 0 &&
                standin_vq_has(&d->vq[q], F_LOG_ALL) &&
                !standin_log_access_ok(d->log_base, g->guest_phys_addr,
                                       g->memory_size)) {
                return -EFAULT;
            }
        }
        m->r[i] = (StandinRegion){ .gpa = g->guest_phys_addr,
                                   .size = g->memory_size,
                                   .uaddr = g->userspace_addr };
    }
    m->n = n;
    m->set = true;
    for (unsigned i = 0; i < n; i++) {
        region_map_shared(d->mem_pid, &m->r[i]);
    }
    standin_mem_clear(&d->mem);
    d->mem = *m;
    return 0;
}

/* Our pointer for [uaddr, uaddr + len) if a shared region holds it. */
static uint8_t *local_ptr(StandinDevice *d, uint64_t uaddr, size_t len)
{
    for (unsigned i = 0; i < d->mem.n; i++) {
        StandinRegion *r = &d->mem.r[i];

        if (r->local && uaddr >= r->uaddr && len <= r->size &&
            uaddr - r->uaddr <= r->size - len) {
            return r->local + (uaddr - r->uaddr);
        }
    }
    return NULL;
}

int standin_read(StandinDevice *d, uint64_t uaddr, void *buf, size_t len)
{
    uint8_t *p = local_ptr(d, uaddr, len);
    struct iovec l = { buf, len }, r = { (void *)uaddr, len };

    if (p) {
        memcpy(buf, p, len);
        return 0;
    }
    return process_vm_readv(d->mem_pid, &l, 1, &r, 1, 0) == (ssize_t)len
           ? 0 : -EFAULT;
}

int standin_write(StandinDevice *d, uint64_t uaddr, const void *buf,
                  size_t len)
{
    uint8_t *p = local_ptr(d, uaddr, len);
    struct iovec l = { (void *)buf, len }, r = { (void *)uaddr, len };

    if (p) {
        memcpy(p, buf, len);
        return 0;
    }
    return process_vm_writev(d->mem_pid, &l, 1, &r, 1, 0) == (ssize_t)len
           ? 0 : -EFAULT;
}

/* translate_desc(): guest-physical [gpa, gpa + len) to pieces of the VMM's
 * address space.  Returns the number of pieces, -EFAULT for an address
 * outside the table, -ENOBUFS when iov_max pieces do not suffice. */
int standin_translate(StandinDevice *d, uint64_t gpa, uint64_t len,
                      StandinIov *iov, int iov_max)
{
    int n = 0;

    while (len) {
        StandinRegion *hit = NULL;
        uint64_t off, chunk;

        for (unsigned i = 0; i < d->mem.n && !hit; i++) {
            StandinRegion *r = &d->mem.r[i];

            if (gpa >= r->gpa && gpa - r->gpa < r->size) {
                hit = r;
            }
        }
        if (!hit) {
            return -EFAULT;
        }
        if (n >= iov_max) {
            return -ENOBUFS;
        }
        off = gpa - hit->gpa;
        chunk = MIN(len, hit->size - off);
        iov[n++] = (StandinIov){ hit->uaddr + off, chunk };
        gpa += chunk;
        len -= chunk;
    }
    return n;
}

/* Copy len bytes out of the pieces, starting skip bytes in. */
int standin_iov_read(StandinDevice *d, const StandinIov *iov, int n,
                     size_t skip, void *buf, size_t len)
{
    uint8_t *out = buf;

    for (int i = 0; i < n && len; i++) {
        size_t take;

        if (skip >= iov[i].len) {
            skip -= iov[i].len;
            continue;
        }
        take = MIN(len, iov[i].len - skip);
        if (standin_read(d, iov[i].uaddr + skip, out, take) < 0) {
            return -EFAULT;
        }
        out += take;
        len -= take;
        skip = 0;
    }
    return len ? -EFAULT : 0;
}

int standin_iov_write(StandinDevice *d, const StandinIov *iov, int n,
                      size_t skip, const void *buf, size_t len)
{
    const uint8_t *in = buf;

    for (int i = 0; i < n && len; i++) {
        size_t put;

        if (skip >= iov[i].len) {
            skip -= iov[i].len;
            continue;
        }
        put = MIN(len, iov[i].len - skip);
        if (standin_write(d, iov[i].uaddr + skip, in, put) < 0) {
            return -EFAULT;
        }
        in += put;
        len -= put;
        skip = 0;
    }
    return len ? -EFAULT : 0;
}

/* Set one bit in the VMM's log.  In private memory (the usual case: the
 * log is the VMM's heap) we read-modify-write the byte through process_vm;
 * the VMM reads-and-clears whole words atomically, so a bit it cleared
 * meanwhile may come back (a spurious dirty page) but a bit we set is
 * never lost.  Our workers serialise among themselves. */
static int log_set_bit(StandinDevice *d, uint64_t page)
{
    uint64_t addr = d->log_base + page / 8;
    uint8_t bit = 1u << (page % 8), byte;
    uint8_t *local = local_ptr(d, addr, 1);
    int r = 0;

    if (local) {
        /* A log we can reach directly: set_bit, atomically. */
        __atomic_fetch_or(local, bit, __ATOMIC_SEQ_CST);
    } else {
        pthread_mutex_lock(&d->sup->log_lock);
        r = standin_read(d, addr, &byte, 1);
        if (r == 0) {
            byte |= bit;
            r = standin_write(d, addr, &byte, 1);
        }
        pthread_mutex_unlock(&d->sup->log_lock);
    }
    if (r == 0) {
        __atomic_add_fetch(&d->stats.log_bits, 1, __ATOMIC_RELAXED);
    }
    return r;
}

/* log_write(): one bit per 4 KiB guest-physical page written. */
int standin_log_write(StandinDevice *d, uint64_t gpa, uint64_t len)
{
    uint64_t page = gpa / PAGE;

    if (!len) {
        return 0;
    }
    len += gpa % PAGE;
    for (;;) {
        int r = log_set_bit(d, page);

        if (r < 0) {
            return r;
        }
        if (len <= PAGE) {
            return 0;
        }
        len -= PAGE;
        page++;
    }
}
