/* SPDX-License-Identifier: MIT */
/*
 * Private interface between the parts of the virtio-net device:
 * virtio-net.c (device model, VhostDevice hooks, announce),
 * virtio-net-ctrl.c (the control queue kvmini serves itself) and
 * virtio-net-migration.c (device state, announce after migration).  The
 * fuzz harness tests/fuzz/fuzz-net.h builds the device on it too.
 */
#ifndef HW_NET_VIRTIO_NET_INTERNAL_H
#define HW_NET_VIRTIO_NET_INTERNAL_H

#include "hw/virtio/virtio-net.h"
#include "qemu/compiler.h"

static inline VirtIONet *vnet_of(VirtIODevice *vdev)
{
    return container_of(vdev, VirtIONet, parent.vdev);
}

static inline VirtIONet *vnet_of_device(VhostDevice *d)
{
    return container_of(d, VirtIONet, parent);
}

/* Did the driver accept feature bit? */
static inline bool vnet_acked(const VirtIONet *s, unsigned bit)
{
    return virtio_has_feature(s->parent.vdev.guest_features, bit);
}

/* --- virtio-net.c --- */
/* The VhostDevice hooks of the device. */
extern const VhostDeviceOps vnet_device_ops;
/* Device reset, once the backends are stopped: no control-queue handler,
 * one queue pair, the permanent MAC, no pending announce, no RX filter. */
void vnet_reset_state(VirtIONet *s);

/* --- virtio-net-ctrl.c --- */
/* VirtQueue.handler of the control queue: answer every available
 * command (VIRTIO_NET_OK or VIRTIO_NET_ERR in its ack byte), then raise
 * the queue's interrupt if the driver wants it.  A malformed chain or
 * command layout marks the device broken (virtio_error). */
void vnet_handle_ctrl(VirtIODevice *vdev, VirtQueue *vq);

/* --- virtio-net-migration.c --- */
extern const struct VirtioMigrationOps vnet_migration_ops;

#endif
