/* SPDX-License-Identifier: MIT */
/*
 * Live migration of the virtio-net device: its part of the
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
#include "virtio-net-internal.h"
#include "hw/virtio/virtio-migration.h"

#include <string.h>

enum {
    VNET_RX_PROMISC = 1 << 0,
    VNET_RX_ALLMULTI = 1 << 1,
    VNET_RX_ALLUNI = 1 << 2,
    VNET_RX_NOMULTI = 1 << 3,
    VNET_RX_NOUNI = 1 << 4,
    VNET_RX_NOBCAST = 1 << 5,
};

static uint8_t vnet_rx_bits(const VirtIONetRxFilter *rx)
{
    return (rx->promisc ? VNET_RX_PROMISC : 0) |
           (rx->allmulti ? VNET_RX_ALLMULTI : 0) |
           (rx->alluni ? VNET_RX_ALLUNI : 0) |
           (rx->nomulti ? VNET_RX_NOMULTI : 0) |
           (rx->nouni ? VNET_RX_NOUNI : 0) |
           (rx->nobcast ? VNET_RX_NOBCAST : 0);
}

static void vnet_mig_save(VirtIODevice *vdev, GByteArray *out)
{
    VirtIONet *s = vnet_of(vdev);

    mig_put_bytes(out, s->mac, sizeof(s->mac));
    mig_put_be16(out, s->status);
    mig_put_be32(out, s->curr_pairs);
    mig_put_u8(out, vnet_rx_bits(&s->rx));
    mig_put_be32(out, s->rx.uni_entries);
    mig_put_be32(out, s->rx.multi_entries);
}

static void vnet_set_rx_bits(VirtIONetRxFilter *rx, uint8_t bits)
{
    rx->promisc = bits & VNET_RX_PROMISC;
    rx->allmulti = bits & VNET_RX_ALLMULTI;
    rx->alluni = bits & VNET_RX_ALLUNI;
    rx->nomulti = bits & VNET_RX_NOMULTI;
    rx->nouni = bits & VNET_RX_NOUNI;
    rx->nobcast = bits & VNET_RX_NOBCAST;
}

static bool vnet_mig_load(VirtIODevice *vdev, MigReader *r,
                            Error **errp)
{
    VirtIONet *s = vnet_of(vdev);
    uint8_t mac[VIRTIO_NET_ETH_ALEN], rx_bits;
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
    vnet_set_rx_bits(&s->rx, rx_bits);
    s->rx.uni_entries = uni;
    s->rx.multi_entries = multi;
    return true;
}

/* The network learns where the guest is now: the guest announces itself
 * (GUEST_ANNOUNCE) or the backend sends a RARP.  As QEMU, a failure
 * only warns: the guest runs, the switches learn on its next frame. */
static bool vnet_mig_post_load(VirtIODevice *vdev, Error **errp)
{
    VirtIONet *s = vnet_of(vdev);
    Error *err = NULL;

    if (!(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return true;
    }
    if (!virtio_net_announce(s, &err)) {
        warn_report("%s", error_get_pretty(err));
        error_free(err);
    }
    return true;
}

const VirtioMigrationOps vnet_migration_ops = {
    .setup = vhost_device_migration_setup,
    .cleanup = vhost_device_migration_cleanup,
    .vm_state_change = vhost_device_vm_state_change,
    .save = vnet_mig_save,
    .load = vnet_mig_load,
    .post_load = vnet_mig_post_load,
};
