/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net device for fuzzing, without a backend: a VirtIONet
 * built by hand (two queue pairs, mq and mtu set, never connected) whose
 * control queue is served by the product's vnet_handle_ctrl(), whose
 * VhostDevice hooks are the product's vnet_device_ops and whose migration
 * ops are the product's vnet_migration_ops (hw/net/virtio-net-internal.h).
 *
 * The device class itself is static in hw/net/virtio-net.c and can
 * only be created with a backend connected, so this file has
 * a class of its own that does what the real one does without a backend:
 * offers the device features plus the data-path ones a backend would
 * (VERSION_1, INDIRECT_DESC, EVENT_IDX), puts the control-queue handler
 * on queue 2 * pairs with MQ, else 2 (virtio 1.x §5.1.2), fills the
 * config, resets the model state.  With fake_backend set, DRIVER_OK
 * "starts" the usable pairs as the real device does minus the backend
 * (the transport binds their guest notifiers as irqfds and their host
 * notifiers as ioeventfds on QueueNotify; status 0 or NEEDS_RESET undo
 * it), so that VQ_PAIRS_SET reaches vhost_device_enable_rings(), whose
 * SET_VRING_ENABLE calls a recording fake VhostOps; without it nothing
 * ever starts (what migration needs: its vm_state_change is the
 * product's, for a device not connected).
 */
#ifndef TESTS_FUZZ_FUZZ_NET_H
#define TESTS_FUZZ_FUZZ_NET_H

#include "../../hw/net/virtio-net-internal.h"
#include "hw/virtio/virtio-migration.h"

#include <linux/virtio_net.h>
#include <string.h>

#define FUZZ_NET_PAIRS      2
#define FUZZ_NET_NVQS       (2 * FUZZ_NET_PAIRS + 1)
#define FUZZ_NET_CTRL       (2 * FUZZ_NET_PAIRS)    /* with MQ */
#define FUZZ_NET_QSIZE      256
#define FUZZ_NET_CTRL_QSIZE 64
#define FUZZ_NET_MTU        1500
#define FUZZ_NET_CONFIG_SIZE \
    (offsetof(struct virtio_net_config, mtu) + sizeof(uint16_t))

/* What the driver may accept. */
#define FUZZ_NET_FEATURES                                             \
    ((1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |     \
     (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_CTRL_RX) | \
     (1ULL << VIRTIO_NET_F_CTRL_RX_EXTRA) |                           \
     (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR) |                           \
     (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE) | (1ULL << VIRTIO_NET_F_MQ) | \
     (1ULL << VIRTIO_NET_F_MTU) | (1ULL << VIRTIO_F_VERSION_1) |      \
     (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                          \
     (1ULL << VIRTIO_RING_F_EVENT_IDX))

typedef struct FuzzNet {
    VirtIONet s;
    struct vhost_dev pairs[FUZZ_NET_PAIRS];
    bool fake_backend;
    unsigned enables;               /* SET_VRING_ENABLE calls */
    bool bad_enable;                /* one for a pair not started */
} FuzzNet;

static inline FuzzNet *fuzz_net_of(VirtIODevice *vdev)
{
    return container_of(vnet_of(vdev), FuzzNet, s);
}

static inline bool fuzz_net_set_vring_enable(struct vhost_dev *dev,
                                             bool enable, Error **errp)
{
    FuzzNet *n = dev->opaque;
    unsigned p = dev - n->pairs;

    n->enables++;
    if (p >= n->s.parent.started_devs || enable != (p < n->s.curr_pairs)) {
        n->bad_enable = true;
    }
    return true;
}

static const VhostOps fuzz_net_vhost_ops = {
    .name = "fuzz",
    .set_vring_enable = fuzz_net_set_vring_enable,
};

static inline uint64_t fuzz_net_get_features(VirtIODevice *vdev)
{
    return FUZZ_NET_FEATURES;
}

static inline bool fuzz_net_set_features(VirtIODevice *vdev,
                                         uint64_t features)
{
    unsigned ctrl = virtio_has_feature(features, VIRTIO_NET_F_MQ) ?
                    FUZZ_NET_CTRL : 2;

    for (unsigned i = 0; i < vdev->nvqs; i++) {
        vdev->vq[i].handler = NULL;
    }
    if (virtio_has_feature(features, VIRTIO_NET_F_CTRL_VQ)) {
        vdev->vq[ctrl].handler = vnet_handle_ctrl;
    }
    return true;
}

static inline void fuzz_net_get_config(VirtIODevice *vdev)
{
    VirtIONet *s = vnet_of(vdev);
    struct virtio_net_config cfg = {
        .status = htole16(s->status),
        .max_virtqueue_pairs = htole16(s->max_pairs),
        .mtu = htole16(s->mtu),
    };

    memcpy(cfg.mac, s->mac, sizeof(cfg.mac));
    memcpy(vdev->config, &cfg, MIN(vdev->config_len, FUZZ_NET_CONFIG_SIZE));
}

/* As the VhostDevice start / stop minus the backend: the guest
 * notifiers of the pairs' queues bound (irqfd), their host notifiers
 * (ioeventfd on QueueNotify), SET_VRING_ENABLE per pair; and back. */
static inline void fuzz_net_start(FuzzNet *n, unsigned pairs)
{
    VirtIODevice *vdev = &n->s.parent.vdev;
    const VirtioTransportOps *t = vdev->transport;

    g_assert(t->set_guest_notifiers(vdev, 2 * pairs, true, NULL));
    for (unsigned i = 0; i < 2 * pairs; i++) {
        g_assert(t->set_host_notifier(vdev, i, true, NULL));
    }
    n->s.parent.started_devs = pairs;
    vhost_device_enable_rings(&n->s.parent, NULL);
}

static inline void fuzz_net_stop(FuzzNet *n)
{
    VirtIODevice *vdev = &n->s.parent.vdev;
    const VirtioTransportOps *t = vdev->transport;
    unsigned pairs = n->s.parent.started_devs;

    n->s.parent.started_devs = 0;
    for (unsigned i = 2 * pairs; i-- > 0;) {
        g_assert(t->set_host_notifier(vdev, i, false, NULL));
    }
    g_assert(t->set_guest_notifiers(vdev, 2 * pairs, false, NULL));
}

/* The pairs a backend would run now (fake_backend only). */
static inline void fuzz_net_set_status(VirtIODevice *vdev, uint8_t status)
{
    FuzzNet *n = fuzz_net_of(vdev);
    VirtIONet *s = &n->s;
    bool run = (status & VIRTIO_CONFIG_S_DRIVER_OK) &&
               !(status & VIRTIO_CONFIG_S_NEEDS_RESET) && !vdev->vm_stopped;

    if (!n->fake_backend || run == (s->parent.started_devs != 0)) {
        return;
    }
    if (run) {
        fuzz_net_start(n, vnet_acked(s, VIRTIO_NET_F_MQ) ? s->max_pairs : 1);
    } else {
        fuzz_net_stop(n);
    }
}

static inline void fuzz_net_reset(VirtIODevice *vdev)
{
    FuzzNet *n = fuzz_net_of(vdev);
    VirtIONet *s = &n->s;

    if (s->parent.started_devs) {
        fuzz_net_stop(n);
    }
    vnet_reset_state(s);
}

static const VirtioDeviceClass fuzz_net_class = {
    .name = "virtio-net-device",
    .device_id = VIRTIO_ID_NET,
    .get_features = fuzz_net_get_features,
    .set_features = fuzz_net_set_features,
    .get_config = fuzz_net_get_config,
    .set_status = fuzz_net_set_status,
    .reset = fuzz_net_reset,
    .migration = &vnet_migration_ops,
};

/* Plug the device into the machine's next virtio-mmio slot. */
static inline void fuzz_net_init(FuzzNet *n, MachineState *ms,
                                 bool fake_backend)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    VirtIONet *s = &n->s;
    VhostDevice *d = &s->parent;
    Error *err = NULL;

    memset(n, 0, sizeof(*n));
    n->fake_backend = fake_backend;
    d->ms = ms;
    d->id = g_strdup("net0");
    d->label = g_strdup("virtio-net-device 'net0'");
    d->ops = &vnet_device_ops;
    d->devs = n->pairs;
    d->ndevs = FUZZ_NET_PAIRS;
    s->mq = true;
    s->mtu = FUZZ_NET_MTU;
    s->max_pairs = FUZZ_NET_PAIRS;
    s->curr_pairs = 1;
    s->status = VIRTIO_NET_S_LINK_UP;
    memcpy(s->perm_mac, mac, sizeof(mac));
    memcpy(s->mac, mac, sizeof(mac));
    for (unsigned p = 0; p < FUZZ_NET_PAIRS; p++) {
        n->pairs[p].nvqs = 2;
        n->pairs[p].vq_index = 2 * p;
        n->pairs[p].vq_index_end = 2 * FUZZ_NET_PAIRS;
        if (fake_backend) {
            n->pairs[p].vhost_ops = &fuzz_net_vhost_ops;
            n->pairs[p].opaque = n;
        }
    }
    virtio_init(&d->vdev, &fuzz_net_class, ms, d->id, FUZZ_NET_NVQS,
                FUZZ_NET_QSIZE, FUZZ_NET_CONFIG_SIZE);
    d->vdev.vq[FUZZ_NET_NVQS - 1].num_max = FUZZ_NET_CTRL_QSIZE;
    if (!virtio_mmio_plug(&d->proxy, &d->vdev, ms, &err)) {
        g_error("fuzz-net: %s", error_get_pretty(err));
    }
}

static inline void fuzz_net_cleanup(FuzzNet *n)
{
    virtio_mmio_unplug(&n->s.parent.proxy);
    virtio_cleanup(&n->s.parent.vdev);
    g_free(n->s.parent.id);
    g_free(n->s.parent.label);
}

/*
 * A control command as a driver queues it: header and data device-
 * readable at buf (descriptors head and head + 1, the data one only if
 * len), the ack byte device-writable after them (preset to 0xff so that
 * an answer shows), made available.  Returns the ack byte's address.
 */
static inline hwaddr fuzz_net_ctrl_cmd(MachineState *ms, const FuzzQueue *q,
                                       uint16_t head, hwaddr buf,
                                       uint8_t class, uint8_t cmd,
                                       const void *data, uint32_t len)
{
    AddressSpace *as = &ms->address_space_memory;
    struct virtio_net_ctrl_hdr hdr = { .class = class, .cmd = cmd };
    hwaddr ack = buf + sizeof(hdr) + len;
    uint16_t d = head;

    address_space_write(as, buf, &hdr, sizeof(hdr));
    address_space_write(as, buf + sizeof(hdr), data, len);
    fuzz_wr(ms, ack, 0xff, 1);
    fuzz_ring_desc(ms, q->desc, d, buf, sizeof(hdr), VRING_DESC_F_NEXT,
                   (d + 1) % q->num);
    d = (d + 1) % q->num;
    if (len) {
        fuzz_ring_desc(ms, q->desc, d, buf + sizeof(hdr), len,
                       VRING_DESC_F_NEXT, (d + 1) % q->num);
        d = (d + 1) % q->num;
    }
    fuzz_ring_desc(ms, q->desc, d, ack, 1, VRING_DESC_F_WRITE, 0);
    fuzz_ring_avail(ms, q, head);
    return ack;
}

/* Checks that hold whatever the driver did. */
static inline bool fuzz_net_sane(const FuzzNet *n)
{
    const VirtIONet *s = &n->s;

    return s->curr_pairs >= 1 && s->curr_pairs <= s->max_pairs &&
           !n->bad_enable;
}

#endif
