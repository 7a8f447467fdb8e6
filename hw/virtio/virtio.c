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

#include <endian.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

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

/* Host pointer of a ring inside guest RAM, NULL if not wholly in RAM. */
static void *virtio_queue_ring_ptr(VirtIODevice *vdev, hwaddr addr,
                                   hwaddr len)
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

/* --- VMM-side split-ring processing -------------------------------------- */

/* The rings as host pointers, looked up again on every call: the memory
 * map may have changed since QueueReady checked them. */
typedef struct VirtQueueRings {
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t num;
} VirtQueueRings;

/* Where a descriptor chain is being read from: the queue's table, or the
 * indirect table its head points to. */
typedef struct VirtQueueWalk {
    const struct vring_desc *table;
    unsigned size;                  /* entries */
    unsigned seen;                  /* visited: more than size is a loop */
    bool indirect;
} VirtQueueWalk;

static uint16_t vq_load16(const void *p)
{
    return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

static bool virtqueue_map_rings(VirtQueue *vq, VirtQueueRings *r)
{
    VirtIODevice *vdev = vq->vdev;

    if (vdev->broken || !vq->ready || !vq->num) {
        return false;
    }
    r->num = vq->num;
    r->desc = virtio_queue_ring_ptr(vdev, vq->desc,
                                    virtio_queue_desc_size(r->num));
    r->avail = virtio_queue_ring_ptr(vdev, vq->avail,
                                     virtio_queue_avail_size(r->num));
    r->used = virtio_queue_ring_ptr(vdev, vq->used,
                                    virtio_queue_used_size(r->num));
    if (!r->desc || !r->avail || !r->used) {
        virtio_error(vdev, "queue %u: rings are no longer inside guest RAM",
                     vq->index);
        return false;
    }
    return true;
}

/* Buffers the driver made available and the device has not taken; an
 * index more than a ring ahead is a driver bug. */
static bool virtqueue_avail_count(VirtQueue *vq, const VirtQueueRings *r,
                                  uint16_t *count)
{
    uint16_t idx = vq_load16(&r->avail->idx);

    *count = idx - vq->last_avail_idx;
    if (*count > r->num) {
        virtio_error(vq->vdev, "queue %u: available index %u is %u ahead "
                     "of %u (queue size %u)", vq->index, idx, *count,
                     vq->last_avail_idx, r->num);
        return false;
    }
    return true;
}

bool virtqueue_empty(VirtQueue *vq)
{
    VirtQueueRings r;
    uint16_t count;

    return !virtqueue_map_rings(vq, &r) ||
           !virtqueue_avail_count(vq, &r, &count) || !count;
}

/* Copy descriptor i once (the guest may change it meanwhile) and check
 * where it leads. */
static bool virtqueue_read_desc(VirtQueue *vq, VirtQueueWalk *w, unsigned i,
                                struct vring_desc *d)
{
    const char *table = w->indirect ? "indirect table" : "queue";

    if (i >= w->size) {
        virtio_error(vq->vdev, "queue %u: descriptor index %u out of range "
                     "(%s of %u)", vq->index, i, table, w->size);
        return false;
    }
    if (++w->seen > w->size) {
        virtio_error(vq->vdev, "queue %u: descriptor chain loops (%s of "
                     "%u)", vq->index, table, w->size);
        return false;
    }
    memcpy(d, &w->table[i], sizeof(*d));
    d->addr = le64toh(d->addr);
    d->len = le32toh(d->len);
    d->flags = le16toh(d->flags);
    d->next = le16toh(d->next);
    return true;
}

/* The head is an indirect descriptor: continue in its table. */
static bool virtqueue_enter_indirect(VirtQueue *vq, VirtQueueWalk *w,
                                     const struct vring_desc *d)
{
    VirtIODevice *vdev = vq->vdev;

    if (!virtio_has_feature(vdev->guest_features,
                            VIRTIO_RING_F_INDIRECT_DESC)) {
        virtio_error(vdev, "queue %u: indirect descriptor but "
                     "VIRTIO_RING_F_INDIRECT_DESC was not negotiated",
                     vq->index);
        return false;
    }
    if (d->flags & VRING_DESC_F_NEXT) {
        virtio_error(vdev, "queue %u: indirect descriptor with NEXT set",
                     vq->index);
        return false;
    }
    if (!d->len || d->len % sizeof(struct vring_desc)) {
        virtio_error(vdev, "queue %u: indirect table of %u bytes is not a "
                     "non-zero multiple of %zu", vq->index, d->len,
                     sizeof(struct vring_desc));
        return false;
    }
    w->table = virtio_queue_ring_ptr(vdev, d->addr, d->len);
    if (!w->table) {
        virtio_error(vdev, "queue %u: indirect table [0x%" PRIx64 ", +0x%x) "
                     "is not inside guest RAM", vq->index,
                     (uint64_t)d->addr, d->len);
        return false;
    }
    w->size = d->len / sizeof(struct vring_desc);
    w->seen = 0;
    w->indirect = true;
    return true;
}

static bool virtqueue_add_buf(VirtQueue *vq, VirtQueueElement *e,
                              const struct vring_desc *d)
{
    bool writable = d->flags & VRING_DESC_F_WRITE;
    unsigned *n = writable ? &e->in_num : &e->out_num;
    struct iovec *sg = writable ? e->in_sg : e->out_sg;
    void *p;

    if (!writable && e->in_num) {
        virtio_error(vq->vdev, "queue %u: device-readable buffer after a "
                     "device-writable one", vq->index);
        return false;
    }
    if (*n == VIRTQUEUE_MAX_SG) {
        virtio_error(vq->vdev, "queue %u: more than %d %s buffers in one "
                     "chain", vq->index, VIRTQUEUE_MAX_SG,
                     writable ? "device-writable" : "device-readable");
        return false;
    }
    p = d->len ? virtio_queue_ring_ptr(vq->vdev, d->addr, d->len) : NULL;
    if (!p) {
        virtio_error(vq->vdev, "queue %u: buffer [0x%" PRIx64 ", +0x%x) is "
                     "%s", vq->index, (uint64_t)d->addr, d->len,
                     d->len ? "not inside guest RAM" : "empty");
        return false;
    }
    if (writable) {
        e->in_gpa[*n] = d->addr;
    }
    sg[(*n)++] = (struct iovec){ .iov_base = p, .iov_len = d->len };
    if (writable) {
        e->in_len += d->len;
    } else {
        e->out_len += d->len;
    }
    return true;
}

static bool virtqueue_walk(VirtQueue *vq, const VirtQueueRings *r,
                           uint16_t head, VirtQueueElement *e)
{
    VirtQueueWalk w = { .table = r->desc, .size = r->num };
    struct vring_desc d;

    if (!virtqueue_read_desc(vq, &w, head, &d)) {
        return false;
    }
    /* An indirect head stands for its whole table, which starts at 0. */
    if (d.flags & VRING_DESC_F_INDIRECT) {
        if (!virtqueue_enter_indirect(vq, &w, &d) ||
            !virtqueue_read_desc(vq, &w, 0, &d)) {
            return false;
        }
    }
    for (;;) {
        if (d.flags & VRING_DESC_F_INDIRECT) {
            virtio_error(vq->vdev, "queue %u: indirect descriptor %s",
                         vq->index, w.indirect ? "inside an indirect table"
                                               : "not at the chain's head");
            return false;
        }
        if (!virtqueue_add_buf(vq, e, &d)) {
            return false;
        }
        if (!(d.flags & VRING_DESC_F_NEXT)) {
            return true;
        }
        if (!virtqueue_read_desc(vq, &w, d.next, &d)) {
            return false;
        }
    }
}

/* With EVENT_IDX: "notify me once you have seen this avail index". */
static void virtqueue_set_avail_event(VirtQueue *vq, const VirtQueueRings *r)
{
    uint16_t *event = (uint16_t *)&r->used->ring[r->num];

    if (virtio_has_feature(vq->vdev->guest_features,
                           VIRTIO_RING_F_EVENT_IDX)) {
        __atomic_store_n(event, htole16(vq->last_avail_idx),
                         __ATOMIC_RELEASE);
    }
}

VirtQueueElement *virtqueue_pop(VirtQueue *vq)
{
    g_autofree VirtQueueElement *e = NULL;
    VirtQueueRings r;
    uint16_t count, head;

    if (!virtqueue_map_rings(vq, &r) ||
        !virtqueue_avail_count(vq, &r, &count) || !count) {
        return NULL;
    }
    /* The acquire load of avail->idx orders the reads below after it. */
    head = vq_load16(&r.avail->ring[vq->last_avail_idx % r.num]);
    e = g_new0(VirtQueueElement, 1);
    if (!virtqueue_walk(vq, &r, head, e)) {
        return NULL;
    }
    e->index = head;
    vq->last_avail_idx++;
    virtqueue_set_avail_event(vq, &r);
    return g_steal_pointer(&e);
}

/* Does the driver want an interrupt now that used moved on from old? */
static bool virtqueue_wants_notify(VirtQueue *vq, const VirtQueueRings *r,
                                   uint16_t old)
{
    uint16_t now = vq->used_idx;

    /* The used index store must be visible before the driver's flags are
     * read; the driver does the mirror image (virtio 1.x §2.7.10). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (virtio_has_feature(vq->vdev->guest_features,
                           VIRTIO_RING_F_EVENT_IDX)) {
        uint16_t event = vq_load16(&r->avail->ring[r->num]);

        return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
    }
    return !(vq_load16(&r->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
}

/* kvmini writes guest RAM through host pointers here, which KVM's dirty
 * log cannot see: mark the written buffers and the used ring for
 * migration (a no-op unless RAM is being logged). */
static void virtqueue_mark_dirty(VirtQueue *vq, const VirtQueueElement *elem,
                                 uint32_t len)
{
    AddressSpace *as = vq->vdev->dma_as;

    for (unsigned i = 0; i < elem->in_num && len; i++) {
        uint32_t n = MIN(len, elem->in_sg[i].iov_len);

        address_space_set_dirty(as, elem->in_gpa[i], n);
        len -= n;
    }
    address_space_set_dirty(as, vq->used,
                            virtio_queue_used_size(vq->num));
}

bool virtqueue_push(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len)
{
    struct vring_used_elem ue;
    VirtQueueRings r;
    uint16_t old = vq->used_idx;

    if (!virtqueue_map_rings(vq, &r)) {
        return false;
    }
    virtqueue_mark_dirty(vq, elem, len);
    ue.id = htole32(elem->index);
    ue.len = htole32(MIN((size_t)len, elem->in_len));
    memcpy(&r.used->ring[old % r.num], &ue, sizeof(ue));
    vq->used_idx = old + 1;
    /* The element is in place before the driver can see the index. */
    __atomic_store_n(&r.used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
    return virtqueue_wants_notify(vq, &r, old);
}

void virtqueue_notify(VirtQueue *vq)
{
    if (!vq->vdev->broken) {
        virtio_notify(vq->vdev, vq);
    }
}

static size_t iov_copy(const struct iovec *sg, unsigned n, size_t offset,
                       void *buf, size_t len, bool to_iov)
{
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        size_t chunk;

        if (offset >= sg[i].iov_len) {
            offset -= sg[i].iov_len;
            continue;
        }
        chunk = MIN(sg[i].iov_len - offset, len - done);
        if (to_iov) {
            memcpy((uint8_t *)sg[i].iov_base + offset,
                   (const uint8_t *)buf + done, chunk);
        } else {
            memcpy((uint8_t *)buf + done,
                   (const uint8_t *)sg[i].iov_base + offset, chunk);
        }
        done += chunk;
        offset = 0;
    }
    return done;
}

size_t virtqueue_elem_read(const VirtQueueElement *elem, size_t offset,
                           void *buf, size_t len)
{
    return iov_copy(elem->out_sg, elem->out_num, offset, buf, len, false);
}

size_t virtqueue_elem_write(const VirtQueueElement *elem, size_t offset,
                            const void *buf, size_t len)
{
    return iov_copy(elem->in_sg, elem->in_num, offset, (void *)buf, len,
                    true);
}
