/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net control queue (virtio 1.x §5.1.6.5), served by kvmini:
 * vhost-user has no way to hand it to a backend (vDPA devices, later,
 * have their own).  Each command is a
 * virtio_net_ctrl_hdr (class, command) and its data, device-readable,
 * followed by one device-writable ack byte.  Handled: RX mode flags
 * (recorded: filtering is the backend's business), MAC_TABLE_SET (sizes
 * checked, entry counts recorded), MAC_ADDR_SET (the MAC in the config),
 * ANNOUNCE_ACK, and MQ VQ_PAIRS_SET, which enables or disables whole queue
 * pairs in the backend (vhost_dev_set_vring_enable).  Anything else, or a command
 * whose feature was not negotiated or whose data has the wrong size, is
 * answered VIRTIO_NET_ERR.  Runs on the vCPU thread that wrote
 * QueueNotify, machine lock held.
 */
#include "virtio-net-internal.h"
#include "qemu/log.h"

#include <endian.h>
#include <string.h>

/* A command: class and command from the header, its data after it. */
typedef struct VnetCmd {
    const VirtQueueElement *elem;
    uint8_t class, cmd;
    size_t data_len;                /* readable bytes after the header */
} VnetCmd;

#define VNET_CMD_DATA sizeof(struct virtio_net_ctrl_hdr)

/* Read exactly len bytes of command data at offset (after the header). */
static bool vnet_cmd_data(const VnetCmd *c, size_t offset, void *buf,
                          size_t len)
{
    return offset + len <= c->data_len &&
           virtqueue_elem_read(c->elem, VNET_CMD_DATA + offset, buf,
                               len) == len;
}

static uint8_t vnet_ctrl_rx(VirtIONet *s, const VnetCmd *c)
{
    VirtIONetRxFilter *rx = &s->rx;
    bool *flags[] = {
        [VIRTIO_NET_CTRL_RX_PROMISC] = &rx->promisc,
        [VIRTIO_NET_CTRL_RX_ALLMULTI] = &rx->allmulti,
        [VIRTIO_NET_CTRL_RX_ALLUNI] = &rx->alluni,
        [VIRTIO_NET_CTRL_RX_NOMULTI] = &rx->nomulti,
        [VIRTIO_NET_CTRL_RX_NOUNI] = &rx->nouni,
        [VIRTIO_NET_CTRL_RX_NOBCAST] = &rx->nobcast,
    };
    unsigned need = c->cmd <= VIRTIO_NET_CTRL_RX_ALLMULTI ?
                    VIRTIO_NET_F_CTRL_RX : VIRTIO_NET_F_CTRL_RX_EXTRA;
    uint8_t on;

    if (c->cmd >= G_N_ELEMENTS(flags) || !vnet_acked(s, need) ||
        c->data_len != sizeof(on) || !vnet_cmd_data(c, 0, &on, 1)) {
        return VIRTIO_NET_ERR;
    }
    *flags[c->cmd] = on;
    return VIRTIO_NET_OK;
}

/* One table of MAC_TABLE_SET: le32 entries, then entries MACs. */
static bool vnet_mac_table(const VnetCmd *c, size_t *offset,
                             uint32_t *entries)
{
    uint32_t n;

    if (!vnet_cmd_data(c, *offset, &n, sizeof(n))) {
        return false;
    }
    n = le32toh(n);
    *offset += sizeof(n);
    if (n > (c->data_len - *offset) / VIRTIO_NET_ETH_ALEN) {
        return false;
    }
    *offset += (size_t)n * VIRTIO_NET_ETH_ALEN;
    *entries = n;
    return true;
}

static uint8_t vnet_ctrl_mac(VirtIONet *s, const VnetCmd *c)
{
    uint8_t mac[VIRTIO_NET_ETH_ALEN];
    uint32_t uni, multi;
    size_t off = 0;

    if (c->cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
        if (!vnet_acked(s, VIRTIO_NET_F_CTRL_MAC_ADDR) ||
            c->data_len != sizeof(mac) ||
            !vnet_cmd_data(c, 0, mac, sizeof(mac))) {
            return VIRTIO_NET_ERR;
        }
        memcpy(s->mac, mac, sizeof(mac));
        return VIRTIO_NET_OK;
    }
    if (c->cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET ||
        !vnet_acked(s, VIRTIO_NET_F_CTRL_RX) ||
        !vnet_mac_table(c, &off, &uni) ||
        !vnet_mac_table(c, &off, &multi) || off != c->data_len) {
        return VIRTIO_NET_ERR;
    }
    s->rx.uni_entries = uni;
    s->rx.multi_entries = multi;
    return VIRTIO_NET_OK;
}

static uint8_t vnet_ctrl_announce(VirtIONet *s, const VnetCmd *c)
{
    if (c->cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK ||
        !vnet_acked(s, VIRTIO_NET_F_GUEST_ANNOUNCE) ||
        !(s->status & VIRTIO_NET_S_ANNOUNCE)) {
        return VIRTIO_NET_ERR;
    }
    s->status &= ~VIRTIO_NET_S_ANNOUNCE;
    return VIRTIO_NET_OK;
}

static uint8_t vnet_ctrl_mq(VirtIONet *s, const VnetCmd *c)
{
    uint16_t pairs;
    Error *err = NULL;

    if (c->cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
        !vnet_acked(s, VIRTIO_NET_F_MQ) || c->data_len != sizeof(pairs) ||
        !vnet_cmd_data(c, 0, &pairs, sizeof(pairs))) {
        return VIRTIO_NET_ERR;
    }
    pairs = le16toh(pairs);
    if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > s->max_pairs) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: VQ_PAIRS_SET %u outside 1..%u\n",
                      s->parent.label, pairs, s->max_pairs);
        return VIRTIO_NET_ERR;
    }
    s->curr_pairs = pairs;
    /* Not running: start enables the right pairs. */
    if (!vhost_device_enable_rings(&s->parent, &err)) {
        vhost_device_report(&s->parent, err, "VQ_PAIRS_SET");
        return VIRTIO_NET_ERR;
    }
    return VIRTIO_NET_OK;
}

static uint8_t vnet_ctrl_command(VirtIONet *s, const VnetCmd *c)
{
    switch (c->class) {
    case VIRTIO_NET_CTRL_RX:
        return vnet_ctrl_rx(s, c);
    case VIRTIO_NET_CTRL_MAC:
        return vnet_ctrl_mac(s, c);
    case VIRTIO_NET_CTRL_ANNOUNCE:
        return vnet_ctrl_announce(s, c);
    case VIRTIO_NET_CTRL_MQ:
        return vnet_ctrl_mq(s, c);
    default:
        qemu_log_mask(LOG_UNIMP, "%s: control class %u command %u not "
                      "supported\n", s->parent.label, c->class, c->cmd);
        return VIRTIO_NET_ERR;
    }
}

/* Each command: header and data readable, the ack byte writable. */
void vnet_handle_ctrl(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIONet *s = vnet_of(vdev);
    bool notify = false;
    VirtQueueElement *e;

    while ((e = virtqueue_pop(vq))) {
        struct virtio_net_ctrl_hdr hdr;
        VnetCmd c = { .elem = e };
        uint8_t ack;

        if (e->in_len < sizeof(ack) ||
            virtqueue_elem_read(e, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
            virtio_error(vdev, "control queue: command without a header "
                         "or an ack byte (%zu readable, %zu writable "
                         "bytes)", e->out_len, e->in_len);
            g_free(e);
            break;
        }
        c.class = hdr.class;
        c.cmd = hdr.cmd;
        c.data_len = e->out_len - sizeof(hdr);
        ack = vnet_ctrl_command(s, &c);
        virtqueue_elem_write(e, 0, &ack, sizeof(ack));
        notify |= virtqueue_push(vq, e, sizeof(ack));
        g_free(e);
    }
    if (notify) {
        virtqueue_notify(vq);
    }
}
