/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net control queue (virtio 1.x §5.1.6.5), served by kvmini:
 * vhost-user has no way to hand it to a backend.  Each command is a
 * virtio_net_ctrl_hdr (class, command) and its data, device-readable,
 * followed by one device-writable ack byte.  Handled: RX mode flags
 * (recorded: filtering is the backend's business), MAC_TABLE_SET (sizes
 * checked, entry counts recorded), MAC_ADDR_SET (the MAC in the config),
 * ANNOUNCE_ACK, and MQ VQ_PAIRS_SET, which enables or disables whole queue
 * pairs in the backend (SET_VRING_ENABLE).  Anything else, or a command
 * whose feature was not negotiated or whose data has the wrong size, is
 * answered VIRTIO_NET_ERR.  Runs on the vCPU thread that wrote
 * QueueNotify, machine lock held.
 */
#include "vhost-user-net-internal.h"
#include "qemu/log.h"

#include <endian.h>
#include <string.h>

/* A command: class and command from the header, its data after it. */
typedef struct VuNetCmd {
    const VirtQueueElement *elem;
    uint8_t class, cmd;
    size_t data_len;                /* readable bytes after the header */
} VuNetCmd;

#define VU_NET_CMD_DATA sizeof(struct virtio_net_ctrl_hdr)

/* Read exactly len bytes of command data at offset (after the header). */
static bool vu_net_cmd_data(const VuNetCmd *c, size_t offset, void *buf,
                            size_t len)
{
    return offset + len <= c->data_len &&
           virtqueue_elem_read(c->elem, VU_NET_CMD_DATA + offset, buf,
                               len) == len;
}

static uint8_t vu_net_ctrl_rx(VHostUserNet *s, const VuNetCmd *c)
{
    VhostUserNetRxFilter *rx = &s->rx;
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

    if (c->cmd >= G_N_ELEMENTS(flags) || !vu_net_acked(s, need) ||
        c->data_len != sizeof(on) || !vu_net_cmd_data(c, 0, &on, 1)) {
        return VIRTIO_NET_ERR;
    }
    *flags[c->cmd] = on;
    return VIRTIO_NET_OK;
}

/* One table of MAC_TABLE_SET: le32 entries, then entries MACs. */
static bool vu_net_mac_table(const VuNetCmd *c, size_t *offset,
                             uint32_t *entries)
{
    uint32_t n;

    if (!vu_net_cmd_data(c, *offset, &n, sizeof(n))) {
        return false;
    }
    n = le32toh(n);
    *offset += sizeof(n);
    if (n > (c->data_len - *offset) / VHOST_USER_NET_ETH_ALEN) {
        return false;
    }
    *offset += (size_t)n * VHOST_USER_NET_ETH_ALEN;
    *entries = n;
    return true;
}

static uint8_t vu_net_ctrl_mac(VHostUserNet *s, const VuNetCmd *c)
{
    uint8_t mac[VHOST_USER_NET_ETH_ALEN];
    uint32_t uni, multi;
    size_t off = 0;

    if (c->cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
        if (!vu_net_acked(s, VIRTIO_NET_F_CTRL_MAC_ADDR) ||
            c->data_len != sizeof(mac) ||
            !vu_net_cmd_data(c, 0, mac, sizeof(mac))) {
            return VIRTIO_NET_ERR;
        }
        memcpy(s->mac, mac, sizeof(mac));
        return VIRTIO_NET_OK;
    }
    if (c->cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET ||
        !vu_net_acked(s, VIRTIO_NET_F_CTRL_RX) ||
        !vu_net_mac_table(c, &off, &uni) ||
        !vu_net_mac_table(c, &off, &multi) || off != c->data_len) {
        return VIRTIO_NET_ERR;
    }
    s->rx.uni_entries = uni;
    s->rx.multi_entries = multi;
    return VIRTIO_NET_OK;
}

static uint8_t vu_net_ctrl_announce(VHostUserNet *s, const VuNetCmd *c)
{
    if (c->cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK ||
        !vu_net_acked(s, VIRTIO_NET_F_GUEST_ANNOUNCE) ||
        !(s->status & VIRTIO_NET_S_ANNOUNCE)) {
        return VIRTIO_NET_ERR;
    }
    s->status &= ~VIRTIO_NET_S_ANNOUNCE;
    return VIRTIO_NET_OK;
}

static uint8_t vu_net_ctrl_mq(VHostUserNet *s, const VuNetCmd *c)
{
    uint16_t pairs;
    Error *err = NULL;

    if (c->cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
        !vu_net_acked(s, VIRTIO_NET_F_MQ) || c->data_len != sizeof(pairs) ||
        !vu_net_cmd_data(c, 0, &pairs, sizeof(pairs))) {
        return VIRTIO_NET_ERR;
    }
    pairs = le16toh(pairs);
    if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > s->max_pairs) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: VQ_PAIRS_SET %u outside 1..%u\n",
                      s->label, pairs, s->max_pairs);
        return VIRTIO_NET_ERR;
    }
    s->curr_pairs = pairs;
    /* Not running: start enables the right pairs. */
    if (s->started_pairs && !vu_net_enable_pairs(s, &err)) {
        vu_net_report(s, err, "VQ_PAIRS_SET");
        return VIRTIO_NET_ERR;
    }
    return VIRTIO_NET_OK;
}

static uint8_t vu_net_ctrl_command(VHostUserNet *s, const VuNetCmd *c)
{
    switch (c->class) {
    case VIRTIO_NET_CTRL_RX:
        return vu_net_ctrl_rx(s, c);
    case VIRTIO_NET_CTRL_MAC:
        return vu_net_ctrl_mac(s, c);
    case VIRTIO_NET_CTRL_ANNOUNCE:
        return vu_net_ctrl_announce(s, c);
    case VIRTIO_NET_CTRL_MQ:
        return vu_net_ctrl_mq(s, c);
    default:
        qemu_log_mask(LOG_UNIMP, "%s: control class %u command %u not "
                      "supported\n", s->label, c->class, c->cmd);
        return VIRTIO_NET_ERR;
    }
}

/* Each command: header and data readable, the ack byte writable. */
void vu_net_handle_ctrl(VirtIODevice *vdev, VirtQueue *vq)
{
    VHostUserNet *s = vu_net_of(vdev);
    bool notify = false;
    VirtQueueElement *e;

    while ((e = virtqueue_pop(vq))) {
        struct virtio_net_ctrl_hdr hdr;
        VuNetCmd c = { .elem = e };
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
        ack = vu_net_ctrl_command(s, &c);
        virtqueue_elem_write(e, 0, &ack, sizeof(ack));
        notify |= virtqueue_push(vq, e, sizeof(ack));
        g_free(e);
    }
    if (notify) {
        virtqueue_notify(vq);
    }
}
