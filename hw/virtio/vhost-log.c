/* SPDX-License-Identifier: MIT */
/*
 * The vhost dirty log: while migration runs, the backend sets one bit per
 * 4 KiB guest-physical page it writes, in an array of 64-bit chunks that
 * kvmini allocates (in a memfd when the backend has to map it) and hands
 * over with set_log_base.  This file allocates and resizes the log, turns
 * logging on and off on a device (VHOST_F_LOG_ALL and the per-ring log
 * flag) and walks it for migration.
 *
 * The log outlives a stop of the device while logging stays enabled, so
 * bits the backend set before stopping are still there for the next sync;
 * it is freed when logging is disabled or the device is cleaned up.
 */
#include "hw/virtio/vhost.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhost-internal.h"

/* --- allocation -------------------------------------------------------- */

uint64_t vhost_get_log_size(const struct vhost_dev *dev)
{
    uint64_t chunks = 0;

    for (unsigned i = 0; i < dev->n_regions; i++) {
        const VhostMemoryRegion *r = &dev->regions[i];
        uint64_t last = r->guest_phys_addr + r->memory_size - 1;

        chunks = MAX(chunks, last / VHOST_LOG_CHUNK + 1);
    }
    return chunks;
}

static bool vhost_log_map_shared(struct vhost_log *log, size_t bytes,
                                 Error **errp)
{
    void *p;

    log->fd = memfd_create("vhost-log", MFD_CLOEXEC);
    if (log->fd < 0) {
        error_setg_errno(errp, errno, "memfd_create for the dirty log");
        return false;
    }
    if (ftruncate(log->fd, bytes) < 0) {
        error_setg_errno(errp, errno, "sizing the dirty log to %zu bytes",
                         bytes);
        return false;
    }
    p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, log->fd, 0);
    if (p == MAP_FAILED) {
        error_setg_errno(errp, errno, "mapping the dirty log");
        return false;
    }
    log->log = p;
    return true;
}

/* At least one chunk, so that the log always has an address. */
struct vhost_log *vhost_log_alloc(uint64_t size, bool share, Error **errp)
{
    struct vhost_log *log = g_new0(struct vhost_log, 1);
    size_t bytes;

    log->size = MAX(size, 1);
    log->fd = -1;
    bytes = log->size * sizeof(uint64_t);
    if (!share) {
        log->log = g_malloc0(bytes);
        return log;
    }
    if (!vhost_log_map_shared(log, bytes, errp)) {
        vhost_log_free(log);
        return NULL;
    }
    return log;
}

/* NULL-safe. */
void vhost_log_free(struct vhost_log *log)
{
    if (!log) {
        return;
    }
    if (log->fd >= 0) {
        if (log->log) {
            munmap(log->log, log->size * sizeof(uint64_t));
        }
        close(log->fd);
    } else {
        g_free(log->log);
    }
    g_free(log);
}

/* --- walking ----------------------------------------------------------- */

/* The hot path of migration: most chunks are zero and cost one load.  A
 * chunk wholly inside the range is taken with one exchange; a partial
 * chunk (range edges) only loses the bits inside the range. */
static inline uint64_t vhost_log_take(uint64_t *chunk, uint64_t mask)
{
    /* Relaxed load: a plain read, but race-free by C11 rules. */
    if (!(__atomic_load_n(chunk, __ATOMIC_RELAXED) & mask)) {
        return 0;
    }
    if (mask == UINT64_MAX) {
        return __atomic_exchange_n(chunk, 0, __ATOMIC_SEQ_CST);
    }
    return __atomic_fetch_and(chunk, ~mask, __ATOMIC_SEQ_CST) & mask;
}

uint64_t vhost_log_sync_range(struct vhost_log *log, uint64_t first_page,
                              uint64_t npages,
                              void (*mark)(uint64_t gpa, void *opaque),
                              void *opaque)
{
    uint64_t end, found = 0;
    uint64_t limit = log ? log->size * VHOST_LOG_BITS : 0;

    if (first_page >= limit) {
        return 0;
    }
    end = npages > limit - first_page ? limit : first_page + npages;
    for (uint64_t page = first_page; page < end;) {
        uint64_t c = page / VHOST_LOG_BITS;
        unsigned lo = page % VHOST_LOG_BITS;
        uint64_t span = MIN(VHOST_LOG_BITS - lo, end - page);
        uint64_t mask = span == VHOST_LOG_BITS ? UINT64_MAX
                                               : ((1ULL << span) - 1) << lo;
        uint64_t bits = vhost_log_take(&log->log[c], mask);

        for (; bits; bits &= bits - 1, found++) {
            uint64_t p = c * VHOST_LOG_BITS + __builtin_ctzll(bits);

            mark(p * VHOST_LOG_PAGE, opaque);
        }
        page += span;
    }
    return found;
}

/* Carry the bits of old into new (new covers at least what old does). */
static void vhost_log_merge(struct vhost_log *new, struct vhost_log *old)
{
    uint64_t n = MIN(old->size, new->size);

    for (uint64_t i = 0; i < n; i++) {
        uint64_t bits = vhost_log_take(&old->log[i], UINT64_MAX);

        if (bits) {
            __atomic_fetch_or(&new->log[i], bits, __ATOMIC_SEQ_CST);
        }
    }
}

/* --- per device -------------------------------------------------------- */

static bool vhost_send_log_base(struct vhost_dev *dev, struct vhost_log *log,
                                Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;

    return !ops->set_log_base || ops->set_log_base(dev, log, errp);
}

/* The old log is freed only after the backend took the new one, and its
 * bits move over: nothing the backend logged is lost by a resize. */
bool vhost_dev_log_prepare(struct vhost_dev *dev, bool resend, Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;
    uint64_t size = vhost_get_log_size(dev);
    bool share = ops->requires_shm_log && ops->requires_shm_log(dev);
    struct vhost_log *log;

    if (dev->log && dev->log->size >= size) {
        return !resend || vhost_send_log_base(dev, dev->log, errp);
    }
    log = vhost_log_alloc(size, share, errp);
    if (!log) {
        return false;
    }
    if (!vhost_send_log_base(dev, log, errp)) {
        vhost_log_free(log);
        return false;
    }
    if (dev->log) {
        vhost_log_merge(log, dev->log);
        vhost_log_free(dev->log);
    }
    dev->log = log;
    return true;
}

void vhost_dev_log_drop(struct vhost_dev *dev)
{
    vhost_log_free(dev->log);
    dev->log = NULL;
}

/* LOG_ALL in the features, then the log flag on every started ring. */
static bool vhost_dev_apply_log(struct vhost_dev *dev, bool log, Error **errp)
{
    if (!vhost_dev_set_features(dev, log, errp)) {
        error_prepend(errp, "SET_FEATURES: ");
        return false;
    }
    for (unsigned i = 0; i < dev->nvqs; i++) {
        struct vhost_virtqueue *vq = &dev->vqs[i];

        if (vq->started && !vhost_virtqueue_set_addr(dev, vq, log, errp)) {
            error_prepend(errp, "queue %u: ", vq->index);
            return false;
        }
    }
    return true;
}

static bool vhost_dev_log_start(struct vhost_dev *dev, Error **errp)
{
    if (!vhost_dev_log_prepare(dev, true, errp)) {
        return false;
    }
    if (!vhost_dev_apply_log(dev, true, errp)) {
        vhost_dev_apply_log(dev, false, NULL);  /* best effort */
        vhost_dev_log_drop(dev);
        return false;
    }
    dev->log_enabled = true;
    return true;
}

/* The backend stops logging before the log goes away. */
static void vhost_dev_log_stop(struct vhost_dev *dev)
{
    Error *err = NULL;

    if (!vhost_dev_apply_log(dev, false, &err)) {
        error_prepend(&err, "%s: disabling the dirty log: ",
                      vhost_dev_name(dev));
        error_report_err(err);
    }
    dev->log_enabled = false;
    vhost_dev_log_drop(dev);
}

/* The one place the backend is asked whether it can log.  For
 * migration the refusal is worded for the user of `migrate`. */
static bool vhost_dev_log_allowed(struct vhost_dev *dev, bool migration,
                                  Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;
    const char *reason = ops->log_blocker ? ops->log_blocker(dev) : NULL;

    if (!reason) {
        return true;
    }
    if (migration) {
        error_setg(errp, "%s: %s; migration is not possible",
                   vhost_dev_name(dev), reason);
    } else {
        error_setg(errp, "%s: cannot log dirty memory: %s",
                   vhost_dev_name(dev), reason);
    }
    return false;
}

static bool vhost_dev_log_switch(struct vhost_dev *dev, bool enable,
                                 bool migration, Error **errp)
{
    if (enable == dev->log_enabled) {
        return true;
    }
    if (enable && !vhost_dev_log_allowed(dev, migration, errp)) {
        return false;
    }
    if (!dev->started) {
        /* vhost_dev_start sets the log up from log_enabled. */
        dev->log_enabled = enable;
        if (!enable) {
            vhost_dev_log_drop(dev);
        }
        return true;
    }
    if (enable && !vhost_dev_log_start(dev, errp)) {
        error_prepend(errp, "%s: enabling the dirty log: ",
                      vhost_dev_name(dev));
        return false;
    }
    if (!enable) {
        vhost_dev_log_stop(dev);
    }
    return true;
}

bool vhost_dev_set_log(struct vhost_dev *dev, bool enable, Error **errp)
{
    return vhost_dev_log_switch(dev, enable, false, errp);
}

/* --- migration ---------------------------------------------------------- */

bool vhost_dev_migration_log(struct vhost_dev *dev, bool enable,
                             Error **errp)
{
    if (!dev->vhost_ops) {
        return true;    /* not connected: nothing writes guest memory */
    }
    return vhost_dev_log_switch(dev, enable, true, errp);
}

void vhost_dev_migration_log_on(void *opaque)
{
    struct vhost_dev *dev = opaque;
    Error *err = NULL;

    if (!vhost_dev_migration_log(dev, true, &err)) {
        /* Kept for the migration's setup, and said now for a backend
         * that connected while migration was already running. */
        warn_report("%s", error_get_pretty(err));
        error_free(dev->log_error);
        dev->log_error = err;
    }
}

void vhost_dev_migration_log_off(void *opaque)
{
    struct vhost_dev *dev = opaque;

    g_clear_pointer(&dev->log_error, error_free);
    vhost_dev_migration_log(dev, false, NULL);
}

bool vhost_dev_log_check(struct vhost_dev *dev, Error **errp)
{
    if (!dev->log_error) {
        return true;
    }
    error_propagate(errp, dev->log_error);
    dev->log_error = NULL;
    return false;
}

/* The log's page gpa, clipped to section s, becomes dirty in s->mr. */
static void vhost_log_mark_section(uint64_t gpa, void *opaque)
{
    const MemoryRegionSection *s = opaque;
    hwaddr start = s->offset_within_address_space;
    hwaddr lo = MAX(gpa, start);
    hwaddr hi = MIN(gpa + VHOST_LOG_PAGE, start + s->size);

    memory_region_set_dirty(s->mr, s->offset_within_region + (lo - start),
                            hi - lo);
}

void vhost_dev_log_sync_section(struct vhost_dev *dev,
                                const MemoryRegionSection *s)
{
    hwaddr start = s->offset_within_address_space;
    uint64_t first, last;

    if (!dev->log || !s->size || !memory_region_is_ram(s->mr)) {
        return;
    }
    first = start / VHOST_LOG_PAGE;
    last = (start + s->size - 1) / VHOST_LOG_PAGE;
    vhost_log_sync_range(dev->log, first, last - first + 1,
                         vhost_log_mark_section, (void *)s);
}
