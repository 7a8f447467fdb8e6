/* SPDX-License-Identifier: MIT */
/*
 * The generic vhost core: connects one struct vhost_dev to its backend,
 * binds the queues' host notifiers, starts and stops the vrings (features,
 * memory table, ring layout, kick and call fds, enable, status), and
 * forwards feature, config and inflight requests.  It talks to the backend
 * only through dev->vhost_ops and never asks which backend that is: the
 * backend states what it can do (fd-backed memory, slot limit, shared log,
 * whether it can log).  The memory listener and table live in vhost-mem.c,
 * the dirty log in vhost-log.c.
 */
#include "hw/virtio/vhost.h"
#include "qemu/log.h"

#include <endian.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qemu/compiler.h"
#include "vhost-internal.h"

const char *vhost_dev_name(const struct vhost_dev *dev)
{
    if (dev->id) {
        return dev->id;
    }
    return dev->vhost_ops && dev->vhost_ops->name ? dev->vhost_ops->name
                                                  : "vhost";
}

static int vhost_backend_index(struct vhost_dev *dev, unsigned n)
{
    const VhostOps *ops = dev->vhost_ops;

    return ops->get_vq_index ? ops->get_vq_index(dev, (int)n) : (int)n;
}

/* --- init / cleanup ---------------------------------------------------- */

static void vhost_dev_alloc_vqs(struct vhost_dev *dev)
{
    dev->vqs = g_new0(struct vhost_virtqueue, dev->nvqs);
    for (unsigned i = 0; i < dev->nvqs; i++) {
        struct vhost_virtqueue *vq = &dev->vqs[i];

        vq->index = dev->vq_index + i;
        vq->kick_fd = vq->call_fd = -1;
    }
}

static bool vhost_dev_connect(struct vhost_dev *dev, void *opaque,
                              Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;

    if (ops->backend_init && !ops->backend_init(dev, opaque, errp)) {
        return false;
    }
    if (ops->set_owner && !ops->set_owner(dev, errp)) {
        return false;
    }
    if (ops->get_features && !ops->get_features(dev, &dev->features, errp)) {
        return false;
    }
    return true;
}

bool vhost_dev_init(struct vhost_dev *dev, void *opaque, const VhostOps *ops,
                    AddressSpace *as, Error **errp)
{
    dev->vhost_ops = ops;
    dev->opaque = opaque;
    dev->inflight = (VhostInflight) { .fd = -1 };
    dev->started = false;
    vhost_dev_alloc_vqs(dev);
    if (!vhost_dev_connect(dev, opaque, errp)) {
        goto fail;
    }
    if (as) {
        vhost_listener_register(dev, as);
    }
    if (!vhost_dev_check_memslots(dev, errp)) {
        goto fail;
    }
    return true;

fail:
    error_prepend(errp, "%s: ", vhost_dev_name(dev));
    vhost_dev_cleanup(dev);
    return false;
}

/* Fields the caller set before init (nvqs, vq_index, vq_index_end, id,
 * config_ops) are kept so that init can run again (reconnect).  A device
 * still started is dropped without a word to the backend (the caller
 * should have stopped it; the backend may be gone). */
void vhost_dev_cleanup(struct vhost_dev *dev)
{
    const VhostOps *ops = dev->vhost_ops;

    dev->started = false;   /* unregistering must not send a table */
    if (dev->listener_registered) {
        memory_listener_unregister(&dev->memory_listener);
        dev->listener_registered = false;
    }
    if (dev->worker) {
        /* Only the worker talks to the backend, so only it cleans up:
         * then no item of dev is running, and the queued ones go. */
        g_assert(vhost_worker_is_current(dev->worker));
        vhost_worker_cancel(dev->worker, dev);
    }
    g_clear_pointer(&dev->log_error, error_free);
    g_clear_pointer(&dev->vqs, g_free);
    vhost_tmp_reset(dev);
    g_clear_pointer(&dev->regions, g_free);
    dev->n_regions = 0;
    vhost_dev_log_drop(dev);
    dev->log_enabled = false;
    if (ops) {
        /* init set inflight.fd to -1: only then is it safe to free. */
        vhost_dev_free_inflight(&dev->inflight);
        if (ops->backend_cleanup) {
            ops->backend_cleanup(dev);
        }
    }
    dev->vhost_ops = NULL;
    dev->opaque = NULL;
    dev->vdev = NULL;
    dev->started = false;
}

void vhost_dev_defer(struct vhost_dev *dev, VhostWorkFn *fn)
{
    if (dev->worker) {
        vhost_worker_post(dev->worker, fn, dev, NULL);
    } else {
        fn(dev);
    }
}

/* --- host notifiers ---------------------------------------------------- */

static void vhost_dev_unset_host_notifiers(struct vhost_dev *dev,
                                           VirtIODevice *vdev, unsigned n)
{
    while (n-- > 0) {
        vdev->transport->set_host_notifier(vdev, dev->vq_index + n, false,
                                           NULL);
    }
}

bool vhost_dev_enable_notifiers(struct vhost_dev *dev, VirtIODevice *vdev,
                                Error **errp)
{
    unsigned i;
    bool ok = true;

    /* One listener update for all queues' ioeventfds. */
    if (vdev->dma_as) {
        address_space_transaction_begin(vdev->dma_as);
    }
    for (i = 0; i < dev->nvqs; i++) {
        if (!vdev->transport->set_host_notifier(vdev, dev->vq_index + i,
                                                true, errp)) {
            error_prepend(errp, "%s: queue %u: host notifier: ",
                          vhost_dev_name(dev), dev->vq_index + i);
            vhost_dev_unset_host_notifiers(dev, vdev, i);
            ok = false;
            break;
        }
    }
    if (vdev->dma_as) {
        address_space_transaction_commit(vdev->dma_as);
    }
    return ok;
}

void vhost_dev_disable_notifiers(struct vhost_dev *dev, VirtIODevice *vdev)
{
    if (vdev->dma_as) {
        address_space_transaction_begin(vdev->dma_as);
    }
    vhost_dev_unset_host_notifiers(dev, vdev, dev->nvqs);
    if (vdev->dma_as) {
        address_space_transaction_commit(vdev->dma_as);
    }
}

/* --- vring life cycle -------------------------------------------------- */

bool vhost_dev_set_features(struct vhost_dev *dev, bool log, Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;
    uint64_t features = dev->acked_features | dev->backend_features;

    if (log) {
        features |= 1ULL << VHOST_F_LOG_ALL;
    }
    return !ops->set_features || ops->set_features(dev, features, errp);
}

bool vhost_virtqueue_set_addr(struct vhost_dev *dev,
                              struct vhost_virtqueue *vq, bool log,
                              Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;
    struct vhost_vring_addr addr = {
        .desc_user_addr = (uintptr_t)vq->desc,
        .avail_user_addr = (uintptr_t)vq->avail,
        .used_user_addr = (uintptr_t)vq->used,
    };

    if (ops->vq_get_addr &&
        !ops->vq_get_addr(dev, &addr, vq->desc_phys, vq->avail_phys,
                          vq->used_phys, vq->desc, vq->avail, vq->used)) {
        error_setg(errp, "backend cannot address the rings");
        return false;
    }
    /* The ring addresses are the backend's; index and log are ours. */
    addr.index = vhost_backend_index(dev, vq->index);
    addr.flags = log ? 1u << VHOST_VRING_F_LOG : 0;
    addr.log_guest_addr = vq->used_phys;
    return !ops->set_vring_addr || ops->set_vring_addr(dev, &addr, errp);
}

/* Record the guest's ring layout and find it in the table. */
static bool vhost_virtqueue_map(struct vhost_dev *dev,
                                struct vhost_virtqueue *vq,
                                const VirtQueue *q, Error **errp)
{
    vq->num = q->num;
    vq->desc_phys = q->desc;
    vq->avail_phys = q->avail;
    vq->used_phys = q->used;
    vq->desc_size = virtio_queue_desc_size(q->num);
    vq->avail_size = virtio_queue_avail_size(q->num);
    vq->used_size = virtio_queue_used_size(q->num);
    if (!vhost_virtqueue_translate(dev, vq, &vq->desc, &vq->avail,
                                   &vq->used)) {
        error_setg(errp, "rings (desc 0x%" HWADDR_PRIx ", avail 0x%"
                   HWADDR_PRIx ", used 0x%" HWADDR_PRIx ") are not inside "
                   "the guest RAM given to the backend", q->desc, q->avail,
                   q->used);
        return false;
    }
    vq->unmapped = false;
    return true;
}

static bool vhost_vring_state(struct vhost_dev *dev,
                              bool (*op)(struct vhost_dev *,
                                         struct vhost_vring_state *, Error **),
                              unsigned n, unsigned num, Error **errp)
{
    struct vhost_vring_state s = {
        .index = vhost_backend_index(dev, n),
        .num = num,
    };

    return !op || op(dev, &s, errp);
}

static bool vhost_vring_file(struct vhost_dev *dev,
                             bool (*op)(struct vhost_dev *,
                                        struct vhost_vring_file *, Error **),
                             unsigned n, int fd, Error **errp)
{
    struct vhost_vring_file f = {
        .index = vhost_backend_index(dev, n),
        .fd = fd,
    };

    return !op || op(dev, &f, errp);
}

/* Kick and call fds, after the ring is fully described. */
static bool vhost_virtqueue_set_fds(struct vhost_dev *dev,
                                    struct vhost_virtqueue *vq, VirtQueue *q,
                                    Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;
    int kick = event_notifier_get_fd(&q->host_notifier);
    int call = event_notifier_get_fd(&q->guest_notifier);

    if (!vhost_vring_file(dev, ops->set_vring_kick, vq->index, kick, errp)) {
        return false;
    }
    vq->kick_fd = kick;
    if (!vhost_vring_file(dev, ops->set_vring_call, vq->index, call, errp)) {
        return false;
    }
    vq->call_fd = call;
    return true;
}

/* Stop never fails.  Its errors mostly mean the backend is already gone,
 * which the device reports once ("backend disconnected"), and a backend
 * that breaks the protocol is disconnected with the reason logged by its
 * VhostOps; so the details go to -d vhost only. */
static void vhost_stop_error(struct vhost_dev *dev, Error *err,
                             const char *what)
{
    qemu_log_mask(LOG_VHOST, "vhost: %s: %s: %s\n", vhost_dev_name(dev),
                  what, error_get_pretty(err));
    error_free(err);
}

/* Buffers the guest queued while no backend ran the ring (backend
 * restart, incoming migration) were kicked when nobody listened: kick
 * once more so the backend looks at them. */
static void vhost_virtqueue_kick_pending(struct vhost_virtqueue *vq,
                                         VirtQueue *q)
{
    const struct vring_avail *avail = vq->avail;
    uint16_t idx;

    if (!avail) {
        return;
    }
    idx = le16toh(__atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE));
    if (idx != q->last_avail_idx) {
        event_notifier_set(&q->host_notifier);
    }
}

/* NUM, BASE, ADDR, KICK, CALL for one ring.  A queue the driver did not
 * set up (size or descriptor address 0) is left alone. */
static bool vhost_virtqueue_start(struct vhost_dev *dev, VirtIODevice *vdev,
                                  struct vhost_virtqueue *vq, Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;
    VirtQueue *q = &vdev->vq[vq->index];

    if (!q->num || !q->desc) {
        return true;
    }
    if (!vhost_vring_state(dev, ops->set_vring_num, vq->index, q->num,
                           errp) ||
        !vhost_vring_state(dev, ops->set_vring_base, vq->index,
                           q->last_avail_idx, errp) ||
        !vhost_virtqueue_map(dev, vq, q, errp) ||
        !vhost_virtqueue_set_addr(dev, vq, dev->log_enabled, errp) ||
        !vhost_virtqueue_set_fds(dev, vq, q, errp)) {
        error_prepend(errp, "queue %u: ", vq->index);
        return false;
    }
    vq->started = true;
    vhost_virtqueue_kick_pending(vq, q);
    return true;
}

/* The backend is gone or refused: continue from what the used ring in
 * guest memory says was completed (requests past it are resubmitted). */
static uint16_t vhost_virtqueue_used_idx(const struct vhost_virtqueue *vq,
                                         const VirtQueue *q)
{
    const struct vring_used *used = vq->used;

    if (!used || vq->unmapped) {   /* the mapping may be gone */
        return q->used_idx;
    }
    return le16toh(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE));
}

/* GET_VRING_BASE stops the ring; its answer becomes the saved state. */
static void vhost_virtqueue_stop(struct vhost_dev *dev, VirtIODevice *vdev,
                                 struct vhost_virtqueue *vq)
{
    const VhostOps *ops = dev->vhost_ops;
    VirtQueue *q = &vdev->vq[vq->index];
    struct vhost_vring_state s = {
        .index = vhost_backend_index(dev, vq->index),
    };
    Error *err = NULL;

    if (!vq->started) {
        return;
    }
    if (ops->get_vring_base && ops->get_vring_base(dev, &s, &err)) {
        q->last_avail_idx = s.num;
        q->used_idx = s.num;
    } else {
        if (err) {
            vhost_stop_error(dev, err, "GET_VRING_BASE");
        }
        q->used_idx = vhost_virtqueue_used_idx(vq, q);
        q->last_avail_idx = q->used_idx;
    }
    vq->started = false;
    vq->kick_fd = vq->call_fd = -1;
}

static void vhost_dev_stop_vqs(struct vhost_dev *dev, VirtIODevice *vdev,
                               unsigned n)
{
    while (n-- > 0) {
        vhost_virtqueue_stop(dev, vdev, &dev->vqs[n]);
    }
}

static bool vhost_dev_start_vqs(struct vhost_dev *dev, VirtIODevice *vdev,
                                Error **errp)
{
    for (unsigned i = 0; i < dev->nvqs; i++) {
        if (!vhost_virtqueue_start(dev, vdev, &dev->vqs[i], errp)) {
            vhost_dev_stop_vqs(dev, vdev, i);
            return false;
        }
    }
    return true;
}

/* Enable the rings, then tell the backend the driver is ready. */
static bool vhost_dev_go(struct vhost_dev *dev, bool vrings, Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;

    if (vrings && ops->set_vring_enable &&
        !ops->set_vring_enable(dev, true, errp)) {
        return false;
    }
    if (ops->dev_start && !ops->dev_start(dev, true, errp)) {
        if (vrings && ops->set_vring_enable) {
            ops->set_vring_enable(dev, false, NULL);
        }
        return false;
    }
    return true;
}

/* Order on the wire: features, memory table, log base (when logging),
 * each ring, enable, status.  The log base goes before the rings so that
 * a ring with the log flag always has a log to write to. */
bool vhost_dev_start(struct vhost_dev *dev, VirtIODevice *vdev, bool vrings,
                     Error **errp)
{
    if (dev->started) {
        error_setg(errp, "%s: already started", vhost_dev_name(dev));
        return false;
    }
    dev->vdev = vdev;
    if (!vhost_dev_set_features(dev, dev->log_enabled, errp) ||
        !vhost_dev_send_mem_table(dev, errp) ||
        (dev->log_enabled && !vhost_dev_log_prepare(dev, true, errp))) {
        goto fail;
    }
    if (!vhost_dev_start_vqs(dev, vdev, errp)) {
        goto fail;
    }
    if (!vhost_dev_go(dev, vrings, errp)) {
        vhost_dev_stop_vqs(dev, vdev, dev->nvqs);
        goto fail;
    }
    dev->started = true;
    return true;

fail:
    error_prepend(errp, "%s: ", vhost_dev_name(dev));
    dev->vdev = NULL;
    return false;
}

/* Never fails: a backend that is gone only produces logged errors. */
void vhost_dev_stop(struct vhost_dev *dev, VirtIODevice *vdev, bool vrings)
{
    const VhostOps *ops = dev->vhost_ops;
    Error *err = NULL;

    if (!dev->started) {
        return;
    }
    if (ops->dev_start && !ops->dev_start(dev, false, &err)) {
        vhost_stop_error(dev, err, "status");
        err = NULL;
    }
    if (vrings && ops->set_vring_enable &&
        !ops->set_vring_enable(dev, false, &err)) {
        vhost_stop_error(dev, err, "disable rings");
    }
    vhost_dev_stop_vqs(dev, vdev, dev->nvqs);
    dev->started = false;
    dev->vdev = NULL;
}

bool vhost_dev_set_vring_enable(struct vhost_dev *dev, bool enable,
                                Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;

    if (!ops->set_vring_enable || ops->set_vring_enable(dev, enable, errp)) {
        return true;
    }
    error_prepend(errp, "queues %u-%u: ", dev->vq_index,
                  dev->vq_index + dev->nvqs - 1);
    return false;
}

/* --- features ---------------------------------------------------------- */

uint64_t vhost_get_features(struct vhost_dev *dev, const int *bits,
                            uint64_t features)
{
    for (const int *b = bits; *b != VHOST_INVALID_FEATURE_BIT; b++) {
        uint64_t mask = 1ULL << *b;

        if (!(dev->features & mask)) {
            features &= ~mask;
        }
    }
    return features;
}

void vhost_ack_features(struct vhost_dev *dev, const int *bits,
                        uint64_t features)
{
    for (const int *b = bits; *b != VHOST_INVALID_FEATURE_BIT; b++) {
        uint64_t mask = 1ULL << *b;

        if (features & mask) {
            dev->acked_features |= mask;
        }
    }
}

/* --- config space ------------------------------------------------------ */

bool vhost_dev_get_config(struct vhost_dev *dev, uint8_t *config,
                          uint32_t len, Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;

    if (!ops->get_config) {
        error_setg(errp, "%s: backend has no config space access",
                   vhost_dev_name(dev));
        return false;
    }
    return ops->get_config(dev, config, len, errp);
}

bool vhost_dev_set_config(struct vhost_dev *dev, const uint8_t *data,
                          uint32_t offset, uint32_t size, uint32_t flags,
                          Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;

    if (!ops->set_config) {
        error_setg(errp, "%s: backend has no config space access",
                   vhost_dev_name(dev));
        return false;
    }
    return ops->set_config(dev, data, offset, size, flags, errp);
}

void vhost_dev_config_changed(struct vhost_dev *dev, VhostConfigDoneFn *done,
                              void *opaque)
{
    if (dev->config_ops && dev->config_ops->config_notifier) {
        dev->config_ops->config_notifier(dev, done, opaque);
    } else if (done) {
        done(dev, opaque);
    }
}

/* --- inflight region --------------------------------------------------- */

bool vhost_dev_get_inflight(struct vhost_dev *dev, uint16_t queue_size,
                            VhostInflight *inflight, Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;

    if (inflight->addr || !ops->get_inflight_fd) {
        return true;    /* fetched already, or not supported */
    }
    if (!ops->get_inflight_fd(dev, queue_size, inflight, errp)) {
        error_prepend(errp, "%s: ", vhost_dev_name(dev));
        return false;
    }
    return true;
}

bool vhost_dev_set_inflight(struct vhost_dev *dev,
                            const VhostInflight *inflight, Error **errp)
{
    const VhostOps *ops = dev->vhost_ops;

    if (!inflight->addr || !ops->set_inflight_fd) {
        return true;
    }
    if (!ops->set_inflight_fd(dev, inflight, errp)) {
        error_prepend(errp, "%s: ", vhost_dev_name(dev));
        return false;
    }
    return true;
}

void vhost_dev_free_inflight(VhostInflight *inflight)
{
    if (inflight->addr) {
        munmap(inflight->addr, inflight->size);
    }
    if (inflight->fd >= 0) {
        close(inflight->fd);
    }
    *inflight = (VhostInflight) { .fd = -1 };
}
