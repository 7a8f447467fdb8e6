/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-blk: a virtio-blk device whose data path runs in an external
 * vhost-user backend (qemu-storage-daemon, SPDK, ...).
 *
 *   -chardev socket,id=c0,path=/tmp/vub.sock[,reconnect=1]
 *   -device vhost-user-blk,chardev=c0[,id=disk0][,num-queues=N]
 *           [,queue-size=N][,config-wce=on|off]
 *
 * The device config comes from the backend (GET_CONFIG).  When the
 * backend goes away the device stops cleanly (ring state saved); when it
 * comes back (reconnect=, or a new peer on a server socket) the vhost
 * device is set up again and, if the guest driver is running, restarted
 * from the saved ring state, with the inflight region kept so the backend
 * can resubmit requests that were in flight.
 */
#ifndef HW_VIRTIO_VHOST_USER_BLK_H
#define HW_VIRTIO_VHOST_USER_BLK_H

#include <linux/virtio_blk.h>

#include "hw/virtio/vhost-device.h"

/* The connection life cycle is VhostDevice's (hw/virtio/vhost-device.h);
 * the blk specifics are its hooks. */
typedef struct VHostUserBlk {
    VhostDevice parent;             /* first: label "vhost-user-blk 'ID'" */

    /* Properties */
    uint16_t num_queues;
    uint16_t queue_size;
    bool config_wce;

    /* Backend */
    VhostInflight inflight;         /* survives backend restarts */
    struct virtio_blk_config blkcfg;
    bool have_config;               /* blkcfg fetched at least once */
} VHostUserBlk;

#endif
