/* SPDX-License-Identifier: MIT */
/*
 * The vhost core's view of guest memory: a MemoryListener collects the
 * writable RAM sections the backend can use into a table of
 * VhostMemoryRegions, merging neighbours that are contiguous in
 * guest-physical and host-virtual space (and, for a backend that maps
 * fds, one mapping of one fd), and on commit sends the table if it
 * changed while the device runs.  Also translates ring addresses through
 * the table (the backend can only reach what the table covers).
 *
 * This file is the one place where the memory rules are decided — which
 * RAM a backend gets, which regions merge, when two tables are equal, how
 * many regions fit: backends only answer needs_fd_memory and
 * memslots_limit, and set_mem_table never sees a table that breaks them.
 *
 * Policy: every commit collects the table into dev->regions; it is sent only
 * while the device is started (vhost_dev_start sends it once more), and only
 * when it differs from the previous one.  A table over the backend's slot
 * limit is reported and not sent.  Memory hotplug asks first
 * (vhost_dev_can_add_region): a dry run of the same merge on the table in
 * force plus the new section, so a plug that would overflow is refused
 * before anything is mapped.
 */
#include "hw/virtio/vhost.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/compiler.h"
#include "vhost-internal.h"

static struct vhost_dev *listener_dev(MemoryListener *l)
{
    return container_of(l, struct vhost_dev, memory_listener);
}

void vhost_tmp_reset(struct vhost_dev *dev)
{
    g_free(dev->tmp_regions);
    dev->tmp_regions = NULL;
    dev->n_tmp_regions = 0;
}

static void vhost_begin(MemoryListener *l)
{
    vhost_tmp_reset(listener_dev(l));
}

static bool vhost_needs_fd_memory(struct vhost_dev *dev)
{
    const VhostOps *ops = dev->vhost_ops;

    return ops->needs_fd_memory && ops->needs_fd_memory(dev);
}

/* May b extend a?  Both must be contiguous in guest-physical and
 * host-virtual space; a backend that maps fds also needs the result to
 * be one mapping of one fd (same fd, b's offset continuing a's). */
static bool vhost_can_merge(struct vhost_dev *dev, const VhostMemoryRegion *a,
                            const VhostMemoryRegion *b)
{
    if (a->guest_phys_addr + a->memory_size != b->guest_phys_addr ||
        a->userspace_addr + a->memory_size != b->userspace_addr) {
        return false;
    }
    return !vhost_needs_fd_memory(dev) ||
           (a->fd == b->fd &&
            a->mmap_offset + a->memory_size == b->mmap_offset);
}

/* The region a section becomes in the table; false if the backend could
 * not use it (not writable RAM, or no fd for a backend that maps fds). */
static bool vhost_section_region(struct vhost_dev *dev,
                                 const MemoryRegionSection *s,
                                 VhostMemoryRegion *r)
{
    MemoryRegion *mr = s->mr;

    /* ROM is not for a backend to write into (no ring can live there). */
    if (!memory_region_is_ram(mr) || !mr->ram_ptr || s->readonly ||
        mr->readonly ||
        (vhost_needs_fd_memory(dev) && memory_region_get_fd(mr) < 0)) {
        return false;
    }
    *r = (VhostMemoryRegion) {
        .guest_phys_addr = s->offset_within_address_space,
        .memory_size = s->size,
        .userspace_addr = (uintptr_t)mr->ram_ptr + s->offset_within_region,
        .mmap_offset = mr->ram_fd_offset + s->offset_within_region,
        .fd = memory_region_get_fd(mr),
    };
    return true;
}

static void vhost_region_addnop(MemoryListener *l, MemoryRegionSection *s)
{
    struct vhost_dev *dev = listener_dev(l);
    VhostMemoryRegion r, *prev;

    if (!vhost_section_region(dev, s, &r)) {
        return;
    }
    /* Sections arrive in address order: only the last one can merge. */
    prev = dev->n_tmp_regions ? &dev->tmp_regions[dev->n_tmp_regions - 1]
                              : NULL;
    if (prev && vhost_can_merge(dev, prev, &r)) {
        prev->memory_size += r.memory_size;
        return;
    }
    dev->tmp_regions = g_renew(VhostMemoryRegion, dev->tmp_regions,
                               dev->n_tmp_regions + 1);
    dev->tmp_regions[dev->n_tmp_regions++] = r;
}

bool vhost_region_equal(const VhostMemoryRegion *a,
                        const VhostMemoryRegion *b)
{
    return a->guest_phys_addr == b->guest_phys_addr &&
           a->memory_size == b->memory_size &&
           a->userspace_addr == b->userspace_addr &&
           a->mmap_offset == b->mmap_offset &&
           a->fd == b->fd;
}

static bool vhost_tables_equal(const VhostMemoryRegion *a, unsigned na,
                               const VhostMemoryRegion *b, unsigned nb)
{
    if (na != nb) {
        return false;
    }
    for (unsigned i = 0; i < na; i++) {
        if (!vhost_region_equal(&a[i], &b[i])) {
            return false;
        }
    }
    return true;
}

static unsigned vhost_memslots_limit(struct vhost_dev *dev)
{
    const VhostOps *ops = dev->vhost_ops;

    return ops->memslots_limit ? ops->memslots_limit(dev) : UINT_MAX;
}

bool vhost_dev_check_memslots(struct vhost_dev *dev, Error **errp)
{
    unsigned limit = vhost_memslots_limit(dev);

    if (dev->n_regions > limit) {
        error_setg(errp, "guest memory needs %u regions, the backend "
                   "accepts at most %u", dev->n_regions, limit);
        return false;
    }
    return true;
}

static int vhost_region_cmp(const void *a, const void *b)
{
    const VhostMemoryRegion *ra = a, *rb = b;

    return ra->guest_phys_addr < rb->guest_phys_addr ? -1 :
           ra->guest_phys_addr > rb->guest_phys_addr;
}

/* Sort t by address and merge neighbours as the listener would (it sees
 * sections in address order and merges each into the previous region);
 * returns how many regions remain. */
static unsigned vhost_regions_merge(struct vhost_dev *dev,
                                    VhostMemoryRegion *t, unsigned n)
{
    unsigned out = 0;

    qsort(t, n, sizeof(*t), vhost_region_cmp);
    for (unsigned i = 0; i < n; i++) {
        if (out && vhost_can_merge(dev, &t[out - 1], &t[i])) {
            t[out - 1].memory_size += t[i].memory_size;
        } else {
            t[out++] = t[i];
        }
    }
    return out;
}

bool vhost_dev_can_add_region(struct vhost_dev *dev,
                              const MemoryRegionSection *s, Error **errp)
{
    g_autofree VhostMemoryRegion *t = NULL;
    unsigned n, limit;
    VhostMemoryRegion r;

    if (!dev->vhost_ops || !dev->listener_registered ||
        !vhost_section_region(dev, s, &r)) {
        return true;
    }
    t = g_new(VhostMemoryRegion, dev->n_regions + 1);
    if (dev->n_regions) {
        memcpy(t, dev->regions, dev->n_regions * sizeof(*t));
    }
    t[dev->n_regions] = r;
    n = vhost_regions_merge(dev, t, dev->n_regions + 1);
    limit = vhost_memslots_limit(dev);
    if (n > limit) {
        error_setg(errp, "%s: guest memory would need %u regions, the "
                   "backend accepts at most %u", vhost_dev_name(dev), n,
                   limit);
        return false;
    }
    return true;
}

/* Check the slot limit, then set_mem_table with a copy of dev->regions:
 * while the worker waits for the backend's reply (lock released) a
 * memory commit may replace dev->regions. */
bool vhost_dev_send_mem_table(struct vhost_dev *dev, Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;
    g_autofree VhostMemoryRegion *table = NULL;

    if (!vhost_dev_check_memslots(dev, errp)) {
        return false;
    }
    if (!ops->set_mem_table) {
        return true;
    }
    table = g_memdup2(dev->regions, dev->n_regions * sizeof(*table));
    if (!ops->set_mem_table(dev, table, dev->n_regions, errp)) {
        return false;
    }
    dev->mem_table_sends++;
    return true;
}

/* Host address of [gpa, gpa+len) if it lies inside one region. */
static void *vhost_region_hva(const struct vhost_dev *dev, hwaddr gpa,
                              hwaddr len)
{
    for (unsigned i = 0; i < dev->n_regions; i++) {
        const VhostMemoryRegion *r = &dev->regions[i];

        if (gpa >= r->guest_phys_addr &&
            gpa - r->guest_phys_addr < r->memory_size &&
            len <= r->memory_size - (gpa - r->guest_phys_addr)) {
            return (void *)(uintptr_t)(r->userspace_addr +
                                       (gpa - r->guest_phys_addr));
        }
    }
    return NULL;
}

/* Translate the three rings of vq; false if one is not wholly inside a
 * region.  Results go to *desc, *avail, *used. */
bool vhost_virtqueue_translate(const struct vhost_dev *dev,
                               const struct vhost_virtqueue *vq,
                               void **desc, void **avail, void **used)
{
    *desc = vhost_region_hva(dev, vq->desc_phys, vq->desc_size);
    *avail = vhost_region_hva(dev, vq->avail_phys, vq->avail_size);
    *used = vhost_region_hva(dev, vq->used_phys, vq->used_size);
    return *desc && *avail && *used;
}

/* After a table change: a started ring that left the table is reported
 * (once) and marked; one whose host address moved, or that is back after
 * leaving, gets its address re-sent. */
static void vhost_verify_ring(struct vhost_dev *dev,
                              struct vhost_virtqueue *vq)
{
    void *desc, *avail, *used;
    Error *err = NULL;

    if (!vhost_virtqueue_translate(dev, vq, &desc, &avail, &used)) {
        if (!vq->unmapped) {
            error_report("%s: queue %u: ring no longer inside guest RAM "
                         "after a memory change", vhost_dev_name(dev),
                         vq->index);
        }
        vq->unmapped = true;
        return;
    }
    if (!vq->unmapped && desc == vq->desc && avail == vq->avail &&
        used == vq->used) {
        return;
    }
    vq->desc = desc;
    vq->avail = avail;
    vq->used = used;
    vq->unmapped = false;
    if (!vhost_virtqueue_set_addr(dev, vq, dev->log_enabled, &err)) {
        error_prepend(&err, "%s: queue %u: ", vhost_dev_name(dev), vq->index);
        error_report_err(err);
    }
}

static void vhost_commit_started(struct vhost_dev *dev)
{
    Error *err = NULL;

    if (!vhost_dev_send_mem_table(dev, &err)) {
        error_prepend(&err, "%s: memory table not sent: ",
                      vhost_dev_name(dev));
        error_report_err(err);
        return;
    }
    if (dev->log_enabled && !vhost_dev_log_prepare(dev, false, &err)) {
        error_prepend(&err, "%s: dirty log: ", vhost_dev_name(dev));
        error_report_err(err);
    }
    for (unsigned i = 0; i < dev->nvqs; i++) {
        if (dev->vqs[i].started) {
            vhost_verify_ring(dev, &dev->vqs[i]);
        }
    }
}

/* On the worker: the table in force now (a later commit may have
 * replaced the one this was posted for), if the device still runs. */
static void vhost_commit_work(void *opaque)
{
    struct vhost_dev *dev = opaque;

    if (dev->started) {
        vhost_commit_started(dev);
    }
}

/* The listener runs inside a memory transaction, where the machine lock
 * must not be released: it only takes the new table in, and what needs
 * the backend goes to the worker.  Posted even while a start is under
 * way on the worker (not yet `started`): it runs after the start and
 * sends the table the start may have missed. */
static void vhost_commit(MemoryListener *l)
{
    struct vhost_dev *dev = listener_dev(l);

    if (vhost_tables_equal(dev->tmp_regions, dev->n_tmp_regions,
                           dev->regions, dev->n_regions)) {
        vhost_tmp_reset(dev);
        return;
    }
    g_free(dev->regions);
    dev->regions = dev->tmp_regions;
    dev->n_regions = dev->n_tmp_regions;
    dev->tmp_regions = NULL;
    dev->n_tmp_regions = 0;
    if (dev->started || dev->worker) {
        vhost_dev_defer(dev, vhost_commit_work);
    }
}

/* Migration: logging on the whole address space.  This is the only switch
 * of the vhost log for migration (migration/ram.c starts global logging
 * before the savevm setup hooks, stops it before the cleanup hooks).  A
 * device that connects while migration runs joins through here too (the
 * memory API calls log_global_start on a listener registered during
 * logging): that registration runs on the worker (vhost_dev_init of a
 * reconnect), and the switch must happen right there — queued, it would
 * run after the device started, and what the backend wrote in between
 * would never be logged. */
static bool vhost_log_global_start(MemoryListener *l, Error **errp)
{
    struct vhost_dev *dev = listener_dev(l);

    if (!dev->worker) {
        return vhost_dev_migration_log(dev, true, errp);
    }
    if (vhost_worker_is_current(dev->worker)) {
        vhost_dev_migration_log_on(dev);    /* keeps a refusal for setup */
        return true;
    }
    vhost_dev_defer(dev, vhost_dev_migration_log_on);
    return true;
}

static void vhost_log_global_stop(MemoryListener *l)
{
    vhost_dev_defer(listener_dev(l), vhost_dev_migration_log_off);
}

static void vhost_log_sync(MemoryListener *l, MemoryRegionSection *s)
{
    vhost_dev_log_sync_section(listener_dev(l), s);
}

void vhost_listener_register(struct vhost_dev *dev, AddressSpace *as)
{
    dev->memory_listener = (MemoryListener) {
        .begin = vhost_begin,
        .commit = vhost_commit,
        .region_add = vhost_region_addnop,
        .region_nop = vhost_region_addnop,
        .log_global_start = vhost_log_global_start,
        .log_global_stop = vhost_log_global_stop,
        .log_sync = vhost_log_sync,
        .priority = VHOST_LISTENER_PRIORITY,
        .name = "vhost",
    };
    memory_listener_register(&dev->memory_listener, as);
    dev->listener_registered = true;
}
