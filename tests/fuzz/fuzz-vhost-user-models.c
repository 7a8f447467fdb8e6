/* SPDX-License-Identifier: MIT */
/*
 * The device models fuzz-vhost-user runs (fuzz-vhost-user.h): how each
 * is created, what its log lines start with, and what the well-behaved
 * backend of the recovery offers it.
 */
#include "fuzz-vhost-user.h"

#include <linux/virtio_blk.h>
#include <linux/virtio_net.h>

#define F(b)            (1ULL << (b))
#define PF(b)           (1ULL << VHOST_USER_PROTOCOL_F_##b)
#define FVU_F_COMMON                                                    \
    (F(VIRTIO_F_VERSION_1) | F(VHOST_USER_F_PROTOCOL_FEATURES) |        \
     F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_RING_F_EVENT_IDX) |      \
     F(VHOST_USER_F_LOG_ALL))

const FvuModel fvu_models[FVU_MODELS] = {
    [FVU_BLK] = {
        .device = "vhost-user-blk,chardev=vu0,id=disk0",
        .id = "disk0", .label = "vhost-user-blk 'disk0'",
        .features = FVU_F_COMMON | F(VIRTIO_BLK_F_SEG_MAX) |
                    F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_FLUSH) |
                    F(VIRTIO_BLK_F_CONFIG_WCE) | F(VIRTIO_BLK_F_DISCARD),
        .required_pf = PF(CONFIG),
    },
    [FVU_BLK_MQ] = {
        .device = "vhost-user-blk,chardev=vu0,id=disk0,num-queues=2,"
                  "queue-size=64",
        .id = "disk0", .label = "vhost-user-blk 'disk0'",
        .features = FVU_F_COMMON | F(VIRTIO_BLK_F_MQ) |
                    F(VIRTIO_BLK_F_WRITE_ZEROES) | F(VIRTIO_BLK_F_FLUSH),
        .required_pf = PF(CONFIG) | PF(MQ),
    },
    [FVU_NET] = {
        .netdev = "vhost-user,id=net0,chardev=vu0,queues=2",
        .device = "virtio-net-device,netdev=net0,id=nic0,mq=on,mtu=1500",
        .id = "nic0", .label = "virtio-net-device 'nic0'", .net = true,
        .features = FVU_F_COMMON | F(VIRTIO_NET_F_CSUM) |
                    F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_MRG_RXBUF) |
                    F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_MTU),
        .required_pf = PF(MQ),
    },
    [FVU_DEV] = {
        .device = "vhost-user-device,chardev=vu0,id=dev0,virtio-id=26,"
                  "num_vqs=2,vq_size=64,config_size=16",
        .id = "dev0", .label = "vhost-user-device 'dev0'",
        .features = FVU_F_COMMON | F(0) | F(1),
        .required_pf = PF(CONFIG),
    },
};

/* Offered by the well-behaved backend (with what the model needs):
 * every bit the spec defines (kvmini keeps what it implements); the same
 * without REPLY_ACK and CONFIGURE_MEM_SLOTS; nothing more; the backend
 * channel without CONFIG (unless the model needs it) nor HOST_NOTIFIER. */
static const uint64_t fvu_good_pf[FVU_GOOD_VARIANTS] = {
    0x1ffff,
    0x1ffff & ~(PF(REPLY_ACK) | PF(CONFIGURE_MEM_SLOTS)),
    0,
    PF(REPLY_ACK) | PF(LOG_SHMFD) | PF(INFLIGHT_SHMFD) | PF(STATUS) |
    PF(RARP) | PF(NET_MTU) | PF(BACKEND_REQ),
};

FvuGood fvu_good(unsigned model, unsigned v)
{
    const FvuModel *m = &fvu_models[model % FVU_MODELS];

    return (FvuGood){
        .features = m->features,
        .protocol_features = fvu_good_pf[v % FVU_GOOD_VARIANTS] |
                             m->required_pf,
    };
}
