/* SPDX-License-Identifier: MIT */
/*
 * The virtio core: device state shared by every virtio device (status,
 * feature negotiation, queues, config space with generation) and the
 * contract between a device model, its transport and the vhost core.
 *
 * A device model (e.g. hw/block/vhost-user-blk.c) embeds a VirtIODevice,
 * fills a VirtioDeviceClass and is plugged into a transport (virtio-mmio).
 * The transport implements the guest-visible registers and calls the
 * class hooks; the device never touches registers.  For vhost devices the
 * data path never runs here: the queues' host notifier (kick, an
 * ioeventfd) and guest notifier (call, an irqfd) go straight to the
 * backend.
 *
 * Threading: every entry point runs with the machine lock held.
 */
#ifndef HW_VIRTIO_VIRTIO_H
#define HW_VIRTIO_VIRTIO_H

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <sys/uio.h>

#include "exec/memory.h"
#include "hw/boards.h"
#include "qemu/event_notifier.h"

#define VIRTIO_QUEUE_MAX 64

typedef struct VirtIODevice VirtIODevice;
typedef struct VirtQueue VirtQueue;
struct VirtioMigrationOps;

/* VMM-side processing of a queue (kick arrived while no backend owns it). */
typedef void VirtQueueHandler(VirtIODevice *vdev, VirtQueue *vq);

struct VirtQueue {
    VirtIODevice *vdev;
    unsigned index;
    uint16_t num_max;           /* QueueNumMax */
    uint16_t num;               /* QueueNum, 0 = not set up */
    bool ready;                 /* QueueReady */
    hwaddr desc;                /* guest-physical ring addresses */
    hwaddr avail;
    hwaddr used;
    /* Ring indices saved while no backend runs the queue (vhost stop
     * stores GET_VRING_BASE here; start sends it back). */
    uint16_t last_avail_idx;
    uint16_t used_idx;
    EventNotifier host_notifier;    /* kick: guest -> backend */
    EventNotifier guest_notifier;   /* call: backend -> guest */
    bool host_notifier_bound;       /* registered as ioeventfd */
    bool guest_notifier_bound;      /* registered as irqfd */
    VirtQueueHandler *handler;      /* NULL for backend-owned queues */
};

typedef struct VirtioDeviceClass {
    const char *name;               /* "vhost-user-blk" */
    uint16_t device_id;             /* VIRTIO_ID_* */
    /* Features the device offers (called when the driver reads them). */
    uint64_t (*get_features)(VirtIODevice *vdev);
    /* Driver accepted these features (FEATURES_OK); false refuses. */
    bool (*set_features)(VirtIODevice *vdev, uint64_t features);
    /* Refresh vdev->config before the driver reads it. */
    void (*get_config)(VirtIODevice *vdev);
    /* The driver wrote [offset, offset+size) of vdev->config. */
    void (*set_config)(VirtIODevice *vdev, uint32_t offset, uint32_t size);
    /* Status changed (DRIVER_OK set → start the backend; cleared → stop).
     * A device that cannot start sets NEEDS_RESET via virtio_error(). */
    void (*set_status)(VirtIODevice *vdev, uint8_t status);
    /* Driver reset the device (status written 0). */
    void (*reset)(VirtIODevice *vdev);
    /* Live migration (hw/virtio/virtio-migration.h); NULL: the device
     * cannot migrate (migration is refused). */
    const struct VirtioMigrationOps *migration;
} VirtioDeviceClass;

/* What the vhost core and devices need from the transport. */
typedef struct VirtioTransportOps {
    /* Route queue n's host notifier as an ioeventfd on QueueNotify.
     * assign creates vq->host_notifier if it has no fd yet; unassign
     * removes the ioeventfd but keeps the fd open (it may still be in a
     * listener update inside an open memory transaction, or held by the
     * backend), and hands a kick that arrived meanwhile to vq->handler.
     * The fd is closed by the transport's unplug or virtio_cleanup().
     * Idempotent per queue. */
    bool (*set_host_notifier)(VirtIODevice *vdev, unsigned n, bool assign,
                              Error **errp);
    /* Bind (or unbind) the guest notifiers of queues [0, nvqs) to the
     * device's interrupt line as irqfds.  Same ownership as above: created
     * on first assign, kept open on unassign.  On failure the queues this
     * call bound are unbound again. */
    bool (*set_guest_notifiers)(VirtIODevice *vdev, unsigned nvqs,
                                bool assign, Error **errp);
    /* Raise the interrupt for used buffers / a config change (VMM side). */
    void (*notify_queue)(VirtIODevice *vdev, VirtQueue *vq);
    void (*notify_config)(VirtIODevice *vdev);
} VirtioTransportOps;

struct VirtIODevice {
    const VirtioDeviceClass *cls;
    const VirtioTransportOps *transport;
    void *transport_opaque;
    MachineState *ms;
    AddressSpace *dma_as;           /* guest memory as devices see it */
    char *id;                       /* -device ...,id= (or generated) */

    uint8_t status;                 /* VIRTIO_CONFIG_S_* */
    uint64_t host_features;         /* offered (after get_features) */
    uint64_t guest_features;        /* accepted by the driver */
    uint8_t isr;                    /* InterruptStatus bits */
    bool broken;                    /* invalid programming: needs reset */
    /* Migration holds the backend stopped (source after its stop step,
     * destination until post_load): the model must not start it. */
    bool vm_stopped;

    uint8_t *config;
    uint32_t config_len;
    uint32_t generation;            /* ConfigGeneration */

    VirtQueue vq[VIRTIO_QUEUE_MAX];
    unsigned nvqs;
};

/* Initialise the common state: nvqs queues of at most queue_size
 * entries (a power of two), config_len bytes of config. */
void virtio_init(VirtIODevice *vdev, const VirtioDeviceClass *cls,
                 MachineState *ms, const char *id, unsigned nvqs,
                 uint16_t queue_size, uint32_t config_len);
/* Free what virtio_init allocated and close the queues' notifiers (any
 * still bound are unbound through the transport first); safe twice and on
 * a zeroed device.  id == NULL in virtio_init uses cls->name. */
void virtio_cleanup(VirtIODevice *vdev);

/* Driver reset: if the status was non-zero the device first sees
 * cls->set_status(0) (stop the backend), then cls->reset; status,
 * features, ISR, the broken state and the queues' programming are cleared.
 * Notifiers (and their bindings) are kept. */
void virtio_reset(VirtIODevice *vdev);
/* Apply a status write (the transport validates FEATURES_OK first).
 * NEEDS_RESET is the device's bit: dropped from the value written, kept
 * while broken.  cls->set_status is called whenever the value changes. */
void virtio_set_status(VirtIODevice *vdev, uint8_t status);
bool virtio_device_started(const VirtIODevice *vdev);
static inline bool virtio_has_feature(uint64_t features, unsigned bit)
{
    return (features >> bit) & 1;
}

/* Offered features: cls->get_features plus VIRTIO_F_VERSION_1 (always
 * offered; kvmini is modern-only).  Also refreshes vdev->host_features. */
uint64_t virtio_host_features(VirtIODevice *vdev);
/* Feature negotiation at FEATURES_OK: features must be a subset of
 * virtio_host_features(), include VIRTIO_F_VERSION_1, and be accepted by
 * cls->set_features.  On success vdev->guest_features = features; on
 * failure errp says why and nothing changes (the transport then leaves
 * FEATURES_OK clear for the driver to read back). */
bool virtio_set_features(VirtIODevice *vdev, uint64_t features, Error **errp);

/* Mark the device broken (NEEDS_RESET) and log a guest error naming the
 * device.  If DRIVER_OK is set the driver also gets a config change
 * interrupt (virtio 1.x §2.1.2).  Only a reset (status 0) clears it;
 * until then the transport ignores queue and status writes. */
void virtio_error(VirtIODevice *vdev, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
/* The config changed on the device side: bump the generation and, once
 * DRIVER_OK is set, raise the config-change interrupt. */
void virtio_notify_config(VirtIODevice *vdev);
/* VMM-side queue processing put buffers in vq's used ring: raise the
 * used-buffer interrupt through the transport (no-op when unplugged). */
void virtio_notify(VirtIODevice *vdev, VirtQueue *vq);

/* Check queue n's programming (size, addresses inside RAM). */
bool virtio_queue_valid(VirtIODevice *vdev, unsigned n, Error **errp);
/* Ring sizes in bytes for a queue of num entries (split ring). */
hwaddr virtio_queue_desc_size(uint16_t num);
hwaddr virtio_queue_avail_size(uint16_t num);
hwaddr virtio_queue_used_size(uint16_t num);

/* --- VMM-side split-ring processing --------------------------------------
 *
 * For queues kvmini serves itself (VirtQueue.handler: e.g. virtio-net's
 * control queue), over vdev->dma_as.  vq->last_avail_idx and vq->used_idx
 * are the live ring indices while the VMM owns the queue.  Everything the
 * guest wrote is treated as hostile: ring addresses are re-checked on
 * every call, each descriptor is copied once and then validated (index
 * below the table size, no loop, buffer wholly inside guest RAM, non-zero
 * length, device-readable buffers before device-writable ones, at most
 * VIRTQUEUE_MAX_SG of each); a violation calls virtio_error() (NEEDS_RESET)
 * and nothing is consumed.  Indirect descriptors are accepted only as the
 * head of a chain, only when VIRTIO_RING_F_INDIRECT_DESC was negotiated,
 * never nested.  Machine lock held.
 */
#define VIRTQUEUE_MAX_SG 64

typedef struct VirtQueueElement {
    uint16_t index;                 /* head descriptor: the used-ring id */
    unsigned out_num;               /* device-readable buffers */
    unsigned in_num;                /* device-writable buffers */
    size_t out_len;                 /* their total sizes in bytes */
    size_t in_len;
    /* Host pointers into guest RAM; valid until the memory map changes,
     * i.e. for the handler call that popped the element. */
    struct iovec out_sg[VIRTQUEUE_MAX_SG];
    struct iovec in_sg[VIRTQUEUE_MAX_SG];
    /* Guest-physical address of each in_sg buffer: what kvmini writes
     * there is marked dirty for migration at virtqueue_push. */
    hwaddr in_gpa[VIRTQUEUE_MAX_SG];
} VirtQueueElement;

/* Is there nothing to pop (also true for a queue not ready or broken)? */
bool virtqueue_empty(VirtQueue *vq);
/* Take the next available chain.  Returns a new element (g_free() it after
 * virtqueue_push) or NULL: nothing available, or the guest broke the ring
 * (virtio_error() was called; the device needs reset).  With
 * VIRTIO_RING_F_EVENT_IDX the used ring's avail_event is advanced so the
 * driver keeps notifying. */
VirtQueueElement *virtqueue_pop(VirtQueue *vq);
/* Return elem to the driver through the used ring with len bytes written
 * (clamped to elem->in_len).  Returns true if the driver wants an
 * interrupt for it (no VRING_AVAIL_F_NO_INTERRUPT, or with EVENT_IDX the
 * used index reached used_event); the caller calls virtqueue_notify()
 * once after its batch if any push said so.  Does not free elem. */
bool virtqueue_push(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len);
/* Raise the used-buffer interrupt for vq (virtio_notify); nothing for a
 * broken device. */
void virtqueue_notify(VirtQueue *vq);
/* Copy between an element's buffers and buf, starting offset bytes into
 * the device-readable (read) or device-writable (write) part.  Return the
 * bytes copied: fewer than len when the buffers end first. */
size_t virtqueue_elem_read(const VirtQueueElement *elem, size_t offset,
                           void *buf, size_t len);
size_t virtqueue_elem_write(const VirtQueueElement *elem, size_t offset,
                            const void *buf, size_t len);

#endif
