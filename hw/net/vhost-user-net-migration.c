/* SPDX-License-Identifier: MIT */
/*
 * Live migration of the vhost-user net device: its part of the
 * virtio-mmio section (hw/virtio/virtio-migration.h) and the announce
 * after switch-over.
 *
 * Device state, version 1 (inside the section, little-endian):
 *   6 bytes MAC (MAC_ADDR_SET may have changed it), u16 status
 *   (ANNOUNCE is dropped: the destination announces anew; LINK_UP is the
 *   destination's own), u32 active queue pairs (VQ_PAIRS_SET), u8 rx
 *   mode bits, u32 unicast and u32 multicast MAC table entries.
 * The queues themselves (rings and indices, the control queue's too) are
 * the core's part of the section.
 */
#include "vhost-user-net-internal.h"
#include "hw/virtio/virtio-migration.h"

#include <string.h>

enum {
    VU_NET_RX_PROMISC = 1 << 0,
    VU_NET_RX_ALLMULTI = 1 << 1,
    VU_NET_RX_ALLUNI = 1 << 2,
    VU_NET_RX_NOMULTI = 1 << 3,
    VU_NET_RX_NOUNI = 1 << 4,
    VU_NET_RX_NOBCAST = 1 << 5,
};

static struct vhost_dev *vu_net_mig_vhost_dev(VirtIODevice *vdev,
                                              unsigned n)
{
    VHostUserNet *s = vu_net_of(vdev);

    return n < s->max_pairs ? &s->pairs[n] : NULL;
}

static uint8_t vu_net_rx_bits(const VhostUserNetRxFilter *rx)
{
    return (rx->promisc ? VU_NET_RX_PROMISC : 0) |
           (rx->allmulti ? VU_NET_RX_ALLMULTI : 0) |
           (rx->alluni ? VU_NET_RX_ALLUNI : 0) |
           (rx->nomulti ? VU_NET_RX_NOMULTI : 0) |
           (rx->nouni ? VU_NET_RX_NOUNI : 0) |
           (rx->nobcast ? VU_NET_RX_NOBCAST : 0);
}

static void vu_net_mig_save(VirtIODevice *vdev, GByteArray *out)
{
    VHostUserNet *s = vu_net_of(vdev);

    mig_put_bytes(out, s->mac, sizeof(s->mac));
    mig_put_be16(out, s->status);
    mig_put_be32(out, s->curr_pairs);
    mig_put_u8(out, vu_net_rx_bits(&s->rx));
    mig_put_be32(out, s->rx.uni_entries);
    mig_put_be32(out, s->rx.multi_entries);
}

static void vu_net_set_rx_bits(VhostUserNetRxFilter *rx, uint8_t bits)
{
    rx->promisc = bits & VU_NET_RX_PROMISC;
    rx->allmulti = bits & VU_NET_RX_ALLMULTI;
    rx->alluni = bits & VU_NET_RX_ALLUNI;
    rx->nomulti = bits & VU_NET_RX_NOMULTI;
    rx->nouni = bits & VU_NET_RX_NOUNI;
    rx->nobcast = bits & VU_NET_RX_NOBCAST;
}

static bool vu_net_mig_load(VirtIODevice *vdev, MigReader *r,
                            Error **errp)
{
    VHostUserNet *s = vu_net_of(vdev);
    uint8_t mac[VHOST_USER_NET_ETH_ALEN], rx_bits;
    uint32_t pairs, uni, multi;
    uint16_t status;

    mig_get_copy(r, mac, sizeof(mac));
    status = mig_get_be16(r);
    pairs = mig_get_be32(r);
    rx_bits = mig_get_u8(r);
    uni = mig_get_be32(r);
    multi = mig_get_be32(r);
    if (!mig_reader_check_short(r, errp)) {
        return false;
    }
    if (pairs < 1 || pairs > s->max_pairs) {
        error_setg(errp, "%u active queue pairs, this device has %u",
                   pairs, s->max_pairs);
        return false;
    }
    memcpy(s->mac, mac, sizeof(mac));
    s->status = (status & ~(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE)) |
                (s->status & VIRTIO_NET_S_LINK_UP);
    s->curr_pairs = pairs;
    vu_net_set_rx_bits(&s->rx, rx_bits);
    s->rx.uni_entries = uni;
    s->rx.multi_entries = multi;
    return true;
}

/* The network learns where the guest is now: the guest announces itself
 * (GUEST_ANNOUNCE) or the backend sends a RARP.  As QEMU, a failure
 * only warns: the guest runs, the switches learn on its next frame. */
static bool vu_net_mig_post_load(VirtIODevice *vdev, Error **errp)
{
    VHostUserNet *s = vu_net_of(vdev);
    Error *err = NULL;

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return true;
    }
    if (!vhost_user_net_announce(s, &err)) {
        warn_report("%s", error_get_pretty(err));
        error_free(err);
    }
    return true;
}

const VirtioMigrationOps vu_net_migration_ops = {
    .vhost_dev = vu_net_mig_vhost_dev,
    .vm_state_change = vu_net_vm_state_change,
    .save = vu_net_mig_save,
    .load = vu_net_mig_load,
    .post_load = vu_net_mig_post_load,
};
