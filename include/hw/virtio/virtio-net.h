/* SPDX-License-Identifier: MIT */
/*
 * virtio-net: a virtio-net device whose data path runs in a vhost
 * backend, with multiqueue.  The backend is the netdev's: today
 * vhost-user (DPDK testpmd / OVS-DPDK, ...).
 *
 *   -chardev socket,id=c0,path=/tmp/vhn.sock[,server=on,wait=off]
 *   -netdev vhost-user,id=n0,chardev=c0[,queues=Q]
 *   -device virtio-net-device,netdev=n0[,id=ID][,mac=52:54:00:12:34:56]
 *           [,mq=on|off][,mtu=M][,rx_queue_size=N][,tx_queue_size=N]
 *
 * Queues: pair p is receiveq 2p and transmitq 2p+1, each pair one struct
 * vhost_dev on the netdev's connection.  The control queue is served by
 * kvmini itself (VirtQueue.handler, virtqueue_pop/push): it is queue 2Q
 * when the driver negotiated VIRTIO_NET_F_MQ, queue 2 otherwise (virtio
 * 1.x §5.1.2).  mq=on offers MQ; then the driver picks how many pairs run
 * with VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, which enables or disables the
 * rings of every pair (vhost_dev_set_vring_enable).
 *
 * The device offers MAC, STATUS, CTRL_VQ, CTRL_RX, CTRL_RX_EXTRA,
 * CTRL_MAC_ADDR and GUEST_ANNOUNCE itself, MQ with mq=on and MTU with
 * mtu=; the data-path features (checksum, GSO/TSO/UFO, MRG_RXBUF,
 * VERSION_1, INDIRECT_DESC, EVENT_IDX) only when the backend offers them.
 * The link status (VIRTIO_NET_S_LINK_UP) follows the backend connection,
 * with a config interrupt on every change.  Default MAC: 52:54:00:12:34:56
 * with the slot index added to the last byte.
 *
 * Life cycle: VhostDevice's (include/hw/virtio/vhost-device.h) — wait for
 * the backend at creation (a refusal there is fatal), connect (the queue
 * pairs the backend serves checked against queues=), start on DRIVER_OK,
 * stop on reset; a backend that goes away stops the device (link down),
 * one that comes back is set up again and restarted from the saved ring
 * state (link up).
 *
 * Threading: everything runs with the machine lock held.
 */
#ifndef HW_VIRTIO_VIRTIO_NET_H
#define HW_VIRTIO_VIRTIO_NET_H

#include <linux/virtio_net.h>

#include "hw/virtio/vhost-device.h"
#include "net/net.h"

#define VIRTIO_NET_ETH_ALEN 6
/* Queue pairs: 2 * pairs + the control queue fit VIRTIO_QUEUE_MAX. */
#define VIRTIO_NET_MAX_PAIRS ((VIRTIO_QUEUE_MAX - 1) / 2)

/* What the driver asked for on the control queue.  Filtering is the
 * backend's business (vhost has no request for it): kvmini records the
 * requests and acknowledges them. */
typedef struct VirtIONetRxFilter {
    bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
    uint32_t uni_entries;           /* of the last MAC_TABLE_SET */
    uint32_t multi_entries;
} VirtIONetRxFilter;

typedef struct VirtIONet {
    VhostDevice parent;             /* first: one vhost_dev per pair */
    Netdev *netdev;                 /* claimed; not owned */

    /* Properties */
    uint8_t perm_mac[VIRTIO_NET_ETH_ALEN];  /* mac= or the default */
    bool mac_set;                   /* mac= given */
    bool mq;
    uint16_t mtu;                   /* 0: VIRTIO_NET_F_MTU not offered */
    uint16_t rx_queue_size;
    uint16_t tx_queue_size;
    unsigned max_pairs;             /* the netdev's queues= */

    /* Guest-visible state (reset by a device reset) */
    uint8_t mac[VIRTIO_NET_ETH_ALEN];   /* MAC_ADDR_SET changes it */
    uint16_t status;                /* VIRTIO_NET_S_LINK_UP | _ANNOUNCE */
    unsigned curr_pairs;            /* VQ_PAIRS_SET, 1 after reset */
    VirtIONetRxFilter rx;
} VirtIONet;

/*
 * Announce the device's MAC on the network after migration (called by
 * the migration code on the destination once the guest runs, and by
 * announce-self).  If the driver negotiated VIRTIO_NET_F_GUEST_ANNOUNCE,
 * the guest does it: the status gets VIRTIO_NET_S_ANNOUNCE, a config
 * interrupt is raised and the driver acknowledges with
 * VIRTIO_NET_CTRL_ANNOUNCE_ACK.  Otherwise the backend is asked to
 * announce the MAC (vhost-user: SEND_RARP); that fails with errp set if
 * the backend is not connected or cannot.
 */
bool virtio_net_announce(VirtIONet *s, Error **errp);

#endif
