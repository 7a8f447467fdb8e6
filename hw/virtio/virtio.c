/* SPDX-License-Identifier: MIT */
/*
 * The virtio core: state every virtio device shares, independent of the
 * transport.  Device status and reset, feature negotiation (what the
 * device offers, what the driver may accept), the split-ring checks that
 * decide whether a queue's programming can be handed to a backend, the
 * "needs reset" error state for invalid guest programming, and config
 * change notification.  Register decoding lives in the transport
 * (virtio-mmio.c); the data path lives in the vhost backend.
 */
#include "hw/virtio/virtio.h"

#include <stdarg.h>

#include "qemu/log.h"

/* Split-ring layout (virtio 1.x §2.7): 16-byte descriptors; avail =
 * flags, idx, ring[num], used_event; used = flags, idx, ring[num] of
 * 8-byte elements, avail_event. */
#define VRING_DESC_ALIGN  16
#define VRING_AVAIL_ALIGN 2
#define VRING_USED_ALIGN  4

static void virtio_queue_clear(VirtQueue *vq)
{
    vq->num = 0;
    vq->ready = false;
    vq->desc = 0;
    vq->avail = 0;
    vq->used = 0;
    vq->last_avail_idx = 0;
    vq->used_idx = 0;
}

void virtio_init(VirtIODevice *vdev, const VirtioDeviceClass *cls,
                 MachineState *ms, const char *id, unsigned nvqs,
                 uint16_t queue_size, uint32_t config_len)
{
    g_assert(nvqs <= VIRTIO_QUEUE_MAX);
    g_assert(queue_size && !(queue_size & (queue_size - 1)));

    *vdev = (VirtIODevice){
        .cls = cls,
        .ms = ms,
        .dma_as = ms ? &ms->address_space_memory : NULL,
        .id = g_strdup(id ? id : cls->name),
        .config = g_malloc0(config_len ? config_len : 1),
        .config_len = config_len,
        .nvqs = nvqs,
    };
    for (unsigned i = 0; i < VIRTIO_QUEUE_MAX; i++) {
        VirtQueue *vq = &vdev->vq[i];

        vq->vdev = vdev;
        vq->index = i;
        vq->num_max = i < nvqs ? queue_size : 0;
        event_notifier_init_fd(&vq->host_notifier, -1);
        event_notifier_init_fd(&vq->guest_notifier, -1);
    }
}

/* Ask the transport to drop bindings that still point into vdev, so that
 * no ioeventfd or irqfd outlives the notifiers closed below. */
static void virtio_unbind_notifiers(VirtIODevice *vdev)
{
    const VirtioTransportOps *t = vdev->transport;

    if (!t) {
        return;
    }
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        if (vdev->vq[i].host_notifier_bound && t->set_host_notifier) {
            t->set_host_notifier(vdev, i, false, NULL);
        }
    }
    if (t->set_guest_notifiers) {
        t->set_guest_notifiers(vdev, vdev->nvqs, false, NULL);
    }
}

void virtio_cleanup(VirtIODevice *vdev)
{
    /* cls is set by virtio_init and cleared here: a zeroed device (whose
     * notifier fds read 0, not -1) or a second call does nothing. */
    if (!vdev->cls) {
        return;
    }
    virtio_unbind_notifiers(vdev);
    for (unsigned i = 0; i < VIRTIO_QUEUE_MAX; i++) {
        event_notifier_cleanup(&vdev->vq[i].host_notifier);
        event_notifier_cleanup(&vdev->vq[i].guest_notifier);
    }
    g_free(vdev->config);
    g_free(vdev->id);
    vdev->config = NULL;
    vdev->id = NULL;
    vdev->config_len = 0;
    vdev->cls = NULL;
}

void virtio_reset(VirtIODevice *vdev)
{
    /* Let the device see the status drop first so it stops its backend
     * while the queue state it needs is still in place. */
    if (vdev->status) {
        vdev->broken = false;
        virtio_set_status(vdev, 0);
    }
    if (vdev->cls->reset) {
        vdev->cls->reset(vdev);
    }
    vdev->status = 0;
    vdev->guest_features = 0;
    vdev->isr = 0;
    vdev->broken = false;
    for (unsigned i = 0; i < vdev->nvqs; i++) {
        virtio_queue_clear(&vdev->vq[i]);
    }
}

void virtio_set_status(VirtIODevice *vdev, uint8_t status)
{
    /* NEEDS_RESET belongs to the device: the driver cannot clear it other
     * than by a reset, nor set it. */
    status &= ~VIRTIO_CONFIG_S_NEEDS_RESET;
    if (vdev->broken) {
        status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    }
    if (status == vdev->status) {
        return;
    }
    /* Store before calling the device: its hook may call virtio_error(),
     * which must not be overwritten afterwards. */
    vdev->status = status;
    if (vdev->cls->set_status) {
        vdev->cls->set_status(vdev, status);
    }
}

bool virtio_device_started(const VirtIODevice *vdev)
{
    return (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) && !vdev->broken;
}

uint64_t virtio_host_features(VirtIODevice *vdev)
{
    uint64_t f = vdev->cls->get_features ? vdev->cls->get_features(vdev) : 0;

    vdev->host_features = f | (1ULL << VIRTIO_F_VERSION_1);
    return vdev->host_features;
}

bool virtio_set_features(VirtIODevice *vdev, uint64_t features, Error **errp)
{
    uint64_t offered = virtio_host_features(vdev);

    if (features & ~offered) {
        error_setg(errp, "driver features 0x%" PRIx64 " not offered "
                   "(offered 0x%" PRIx64 ")", features & ~offered, offered);
        return false;
    }
    if (!virtio_has_feature(features, VIRTIO_F_VERSION_1)) {
        error_setg(errp, "driver did not accept VIRTIO_F_VERSION_1");
        return false;
    }
    if (vdev->cls->set_features && !vdev->cls->set_features(vdev, features)) {
        error_setg(errp, "device refused features 0x%" PRIx64, features);
        return false;
    }
    vdev->guest_features = features;
    return true;
}

void virtio_error(VirtIODevice *vdev, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qemu_log_mask(LOG_GUEST_ERROR, "virtio %s (%s): %s; device needs "
                  "reset\n", vdev->id ? vdev->id : "?",
                  vdev->cls ? vdev->cls->name : "?", msg);
    vdev->broken = true;
    vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    /* virtio 1.x §2.1.2: a running driver learns of NEEDS_RESET through
     * a configuration change notification. */
    if (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) {
        virtio_notify_config(vdev);
    }
}

void virtio_notify_config(VirtIODevice *vdev)
{
    /* The generation moves on every change so that a driver reading the
     * config in several accesses notices, even before DRIVER_OK. */
    vdev->generation++;
    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;
    }
    if (vdev->transport && vdev->transport->notify_config) {
        vdev->transport->notify_config(vdev);
    }
}

void virtio_notify(VirtIODevice *vdev, VirtQueue *vq)
{
    if (vdev->transport && vdev->transport->notify_queue) {
        vdev->transport->notify_queue(vdev, vq);
    }
}

hwaddr virtio_queue_desc_size(uint16_t num)
{
    return (hwaddr)sizeof(struct vring_desc) * num;
}

hwaddr virtio_queue_avail_size(uint16_t num)
{
    return 6 + (hwaddr)2 * num;
}

hwaddr virtio_queue_used_size(uint16_t num)
{
    return 6 + (hwaddr)sizeof(struct vring_used_elem) * num;
}

void *virtio_queue_ring_ptr(VirtIODevice *vdev, hwaddr addr, hwaddr len)
{
    if (!vdev->dma_as || !len || addr + len < addr) {
        return NULL;
    }
    return address_space_ram_ptr(vdev->dma_as, addr, len);
}

static bool virtio_ring_check(VirtIODevice *vdev, unsigned n,
                              const char *name, hwaddr addr, hwaddr len,
                              hwaddr align, Error **errp)
{
    if (addr & (align - 1)) {
        error_setg(errp, "queue %u: %s ring at 0x%" HWADDR_PRIx " is not "
                   "%" PRIu64 "-byte aligned", n, name, addr, align);
        return false;
    }
    if (!virtio_queue_ring_ptr(vdev, addr, len)) {
        error_setg(errp, "queue %u: %s ring [0x%" HWADDR_PRIx ", +0x%"
                   HWADDR_PRIx ") is not inside guest RAM", n, name, addr,
                   len);
        return false;
    }
    return true;
}

static bool virtio_queue_num_valid(VirtIODevice *vdev, unsigned n,
                                   Error **errp)
{
    const VirtQueue *vq = &vdev->vq[n];

    if (!vq->num) {
        error_setg(errp, "queue %u: QueueNum is 0", n);
        return false;
    }
    if (vq->num & (vq->num - 1)) {
        error_setg(errp, "queue %u: QueueNum %u is not a power of two", n,
                   vq->num);
        return false;
    }
    if (vq->num > vq->num_max) {
        error_setg(errp, "queue %u: QueueNum %u above QueueNumMax %u", n,
                   vq->num, vq->num_max);
        return false;
    }
    return true;
}

bool virtio_queue_valid(VirtIODevice *vdev, unsigned n, Error **errp)
{
    const VirtQueue *vq;

    if (n >= vdev->nvqs) {
        error_setg(errp, "queue %u does not exist (%u queues)", n,
                   vdev->nvqs);
        return false;
    }
    if (!virtio_queue_num_valid(vdev, n, errp)) {
        return false;
    }
    vq = &vdev->vq[n];
    return virtio_ring_check(vdev, n, "descriptor", vq->desc,
                             virtio_queue_desc_size(vq->num),
                             VRING_DESC_ALIGN, errp) &&
           virtio_ring_check(vdev, n, "available", vq->avail,
                             virtio_queue_avail_size(vq->num),
                             VRING_AVAIL_ALIGN, errp) &&
           virtio_ring_check(vdev, n, "used", vq->used,
                             virtio_queue_used_size(vq->num),
                             VRING_USED_ALIGN, errp);
}
