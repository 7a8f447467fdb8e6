/* SPDX-License-Identifier: MIT */
/*
 * Private interface between the parts of the vhost-user net device:
 * vhost-user-net.c (device model, backend connection, start/stop),
 * vhost-user-net-ctrl.c (the control queue kvmini serves itself) and
 * vhost-user-net-migration.c (device state, announce after migration).
 */
#ifndef HW_NET_VHOST_USER_NET_INTERNAL_H
#define HW_NET_VHOST_USER_NET_INTERNAL_H

#include "hw/virtio/vhost-user-net.h"
#include "qemu/compiler.h"

static inline VHostUserNet *vu_net_of(VirtIODevice *vdev)
{
    return container_of(vdev, VHostUserNet, vdev);
}

/* Did the driver accept feature bit? */
static inline bool vu_net_acked(const VHostUserNet *s, unsigned bit)
{
    return virtio_has_feature(s->vdev.guest_features, bit);
}

/* --- vhost-user-net.c --- */
/* Log "LABEL: what: reason" and free err. */
void vu_net_report(VHostUserNet *s, Error *err, const char *what);
/* SET_VRING_ENABLE on every started pair: pairs below s->curr_pairs on,
 * the others off.  True when nothing runs. */
bool vu_net_enable_pairs(VHostUserNet *s, Error **errp);
/* Device reset, once the backends are stopped: no control-queue handler,
 * one queue pair, the permanent MAC, no pending announce, no RX filter. */
void vu_net_reset_state(VHostUserNet *s);
/* Migration's vm_state_change: stop the pairs while vdev->vm_stopped,
 * else start them if the driver runs. */
bool vu_net_vm_state_change(VirtIODevice *vdev, Error **errp);

/* --- vhost-user-net-ctrl.c --- */
/* VirtQueue.handler of the control queue: answer every available
 * command (VIRTIO_NET_OK or VIRTIO_NET_ERR in its ack byte), then raise
 * the queue's interrupt if the driver wants it.  A malformed chain or
 * command layout marks the device broken (virtio_error). */
void vu_net_handle_ctrl(VirtIODevice *vdev, VirtQueue *vq);

/* --- vhost-user-net-migration.c --- */
extern const struct VirtioMigrationOps vu_net_migration_ops;

#endif
