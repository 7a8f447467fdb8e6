/* SPDX-License-Identifier: MIT */
/*
 * The test vhost-user backend as a virtio-net device: a reflector.  Queue
 * pair p is receiveq 2p and transmitq 2p+1.  Every frame the driver puts
 * in a transmitq is copied, without its virtio-net header, into the next
 * buffer of the same pair's receiveq behind a fresh header (no offloads,
 * num_buffers 1), with the Ethernet destination and source MACs swapped
 * (dpdk-testpmd's macswap forwarding) or unchanged (net_loopback).
 *
 * A frame waits in its transmitq until the receiveq has a buffer: a kick,
 * start or enable of either ring of a pair moves what can be moved, so
 * nothing is lost and a test never races the backend.  A transmitq whose
 * pair's receiveq is disabled (SET_VRING_ENABLE 0) therefore keeps its
 * frames until the pair is enabled again.
 *
 * SEND_RARP (the MAC to announce) and NET_SET_MTU are recorded.  Runs on
 * the backend thread with b->lock held, except the public accessors at
 * the end.
 */
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "vhost-user-test-backend-int.h"

#define VUB_ETH_ALEN    6
#define VUB_ETH_HLEN    14

/* --- set-up --------------------------------------------------------------- */

void vub_net_init(Vub *b)
{
    b->net_frame = g_malloc(VUB_NET_MAX_FRAME);
}

void vub_net_cleanup(Vub *b)
{
    g_free(b->net_frame);
    b->net_frame = NULL;
}

/* The header in front of every frame: 12 bytes with VERSION_1 (or
 * MRG_RXBUF), the legacy 10 otherwise. */
static size_t vub_net_hdr_len(const Vub *b)
{
    uint64_t v12 = VUB_BIT(VIRTIO_F_VERSION_1) |
                   VUB_BIT(VIRTIO_NET_F_MRG_RXBUF);

    return b->acked_features & v12 ? sizeof(struct virtio_net_hdr_v1)
                                   : sizeof(struct virtio_net_hdr);
}

/* --- rings ---------------------------------------------------------------- */

static bool vub_net_ring_ready(VubVring *vq, VubRing *ring)
{
    return vq->started && vub_vring_enabled(vq) && vub_ring_map(vq, ring);
}

/* Entries made available and not taken yet; -1 (error recorded) if the
 * avail index is further ahead than the ring is long. */
static int vub_net_pending(VubVring *vq, const VubRing *ring)
{
    uint16_t avail = __atomic_load_n(&ring->avail->idx, __ATOMIC_ACQUIRE);
    uint16_t n = avail - vq->last_avail;

    vq->avail_seen = avail;
    if (n > vq->num) {
        vub_set_error(vq->b, "ring %u: avail idx %u is %u ahead of %u",
                      vq->index, avail, n, vq->last_avail);
        return -1;
    }
    return n;
}

static uint16_t vub_net_next_head(const VubVring *vq, const VubRing *ring)
{
    return ring->avail->ring[vq->last_avail % vq->num];
}

/* --- frames --------------------------------------------------------------- */

/* Copy the frame of the transmit chain at head (header stripped) to
 * b->net_frame; its length, or -1 for a malformed chain, a writable
 * buffer, a runt or a giant. */
static ssize_t vub_net_read_frame(VubVring *tx, const VubRing *ring,
                                  uint16_t head)
{
    Vub *b = tx->b;
    size_t hdr = vub_net_hdr_len(b);
    VubChain c = { .nout = 0 };
    size_t total, len;

    if (!vub_chain_collect(tx, ring, head, &c) || c.nin) {
        return -1;
    }
    total = vub_iov_size(c.out, c.nout);
    if (total < hdr + VUB_ETH_HLEN || total - hdr > VUB_NET_MAX_FRAME) {
        return -1;
    }
    len = total - hdr;
    vub_iov_copy(c.out, c.nout, hdr, b->net_frame, len, false);
    return len;
}

static void vub_net_macswap(uint8_t *frame)
{
    uint8_t tmp[VUB_ETH_ALEN];

    memcpy(tmp, frame, VUB_ETH_ALEN);
    memcpy(frame, frame + VUB_ETH_ALEN, VUB_ETH_ALEN);
    memcpy(frame + VUB_ETH_ALEN, tmp, VUB_ETH_ALEN);
}

/* Write header and b->net_frame (len bytes) into the receive chain at
 * head; returns the used length (0 if the chain cannot take a header). */
static uint32_t vub_net_write_frame(VubVring *rx, const VubRing *ring,
                                    uint16_t head, size_t len,
                                    VubNetStats *st)
{
    Vub *b = rx->b;
    struct virtio_net_hdr_v1 h = { .num_buffers = 1 };
    size_t hdr = vub_net_hdr_len(b), cap, n;
    VubChain c = { .nout = 0 };

    if (!vub_chain_collect(rx, ring, head, &c) || c.nout ||
        (cap = vub_iov_size(c.in, c.nin)) < hdr) {
        st->rx_errors++;
        return 0;
    }
    n = MIN(len, cap - hdr);
    st->rx_truncated += n < len;
    vub_iov_copy(c.in, c.nin, 0, &h, hdr, true);
    vub_iov_copy(c.in, c.nin, hdr, b->net_frame, n, true);
    for (unsigned i = 0; i < c.nin; i++) {
        vub_log_write(b, c.in[i].gpa, c.in[i].len);
    }
    st->rx_packets++;
    st->rx_bytes += n;
    return hdr + n;
}

/* The frame in b->net_frame goes to the next receive buffer. */
static void vub_net_deliver(VubVring *rx, const VubRing *ring, size_t len,
                            VubNetStats *st)
{
    uint16_t head = vub_net_next_head(rx, ring);

    if (!rx->b->opts.net_loopback) {
        vub_net_macswap(rx->b->net_frame);
    }
    vub_push_used(rx, ring, head, vub_net_write_frame(rx, ring, head, len,
                                                      st));
    rx->last_avail++;
}

/* --- forwarding ----------------------------------------------------------- */

typedef struct VubNetPair {
    VubVring *rx, *tx;
    VubRing rr, tr;
    int rx_avail, tx_avail;     /* entries waiting in each ring */
    VubNetStats *st;
} VubNetPair;

/* Move one frame; false (nothing taken) if it needs a receive buffer
 * and there is none. */
static bool vub_net_forward_one(VubNetPair *p)
{
    uint16_t head = vub_net_next_head(p->tx, &p->tr);
    ssize_t len = vub_net_read_frame(p->tx, &p->tr, head);

    if (len >= 0 && p->rx_avail <= 0) {
        return false;
    }
    if (len < 0) {
        p->st->tx_errors++;
    } else {
        p->st->tx_packets++;
        p->st->tx_bytes += len;
        vub_net_deliver(p->rx, &p->rr, len, p->st);
        p->rx_avail--;
    }
    vub_push_used(p->tx, &p->tr, head, 0);
    p->tx->last_avail++;
    p->tx_avail--;
    return true;
}

/* Move every frame of pair that has a receive buffer; interrupt each
 * ring that got used entries. */
static void vub_net_pump(Vub *b, unsigned pair)
{
    VubNetPair p = {
        .rx = &b->vq[2 * pair], .tx = &b->vq[2 * pair + 1],
        .st = &b->net_stats[pair],
    };
    uint16_t rx_used, tx_used;

    if (!vub_net_ring_ready(p.tx, &p.tr) ||
        (p.tx_avail = vub_net_pending(p.tx, &p.tr)) <= 0) {
        return;
    }
    p.rx_avail = vub_net_ring_ready(p.rx, &p.rr) ?
                 vub_net_pending(p.rx, &p.rr) : 0;
    rx_used = p.rx->used_idx;
    tx_used = p.tx->used_idx;
    while (p.tx_avail > 0 && vub_net_forward_one(&p)) {
        continue;
    }
    if (p.tx->used_idx != tx_used) {
        vub_vring_notify(p.tx, &p.tr);
    }
    if (p.rx->used_idx != rx_used) {
        vub_vring_notify(p.rx, &p.rr);
    }
}

void vub_net_process(VubVring *vq)
{
    if (vq->index / 2 < vq->b->opts.num_queues) {
        vub_net_pump(vq->b, vq->index / 2);
    }
}

/* --- requests ------------------------------------------------------------- */

/* A net request is refused by a blk backend and without its protocol
 * feature (kvmini must not send it then). */
static bool vub_net_request_ok(Vub *b, VubReq *req, unsigned pf_bit)
{
    const char *name = vhost_user_request_name(req->msg.hdr.request);

    if (b->opts.type != VUB_DEVICE_NET) {
        vub_set_error(b, "%s: not a net backend", name);
        return false;
    }
    if (!(b->acked_protocol_features & VUB_BIT(pf_bit))) {
        vub_set_error(b, "%s without its protocol feature %u", name, pf_bit);
        return false;
    }
    return true;
}

/* The MAC is in the first six bytes of the u64. */
VubResult vub_net_send_rarp(Vub *b, VubReq *req)
{
    if (!vub_net_request_ok(b, req, VHOST_USER_PROTOCOL_F_RARP)) {
        return VUB_ACK_FAIL;
    }
    memcpy(b->rarp_mac, &req->msg.payload.u64, VUB_ETH_ALEN);
    b->rarp_seen = true;
    return VUB_ACK_OK;
}

VubResult vub_net_set_mtu(Vub *b, VubReq *req)
{
    if (!vub_net_request_ok(b, req, VHOST_USER_PROTOCOL_F_NET_MTU)) {
        return VUB_ACK_FAIL;
    }
    b->net_mtu = req->msg.payload.u64;
    return VUB_ACK_OK;
}

/* --- public accessors (any thread) ---------------------------------------- */

VubNetStats vub_net_stats(Vub *b, unsigned pair)
{
    VubNetStats st;

    g_assert(pair < VUB_MAX_QUEUES / 2);
    g_mutex_lock(&b->lock);
    st = b->net_stats[pair];
    g_mutex_unlock(&b->lock);
    return st;
}

typedef struct VubNetRxArg {
    unsigned pair;
    uint64_t n;
} VubNetRxArg;

static bool vub_pred_net_rx(Vub *b, const void *opaque)
{
    const VubNetRxArg *a = opaque;

    return b->net_stats[a->pair].rx_packets >= a->n;
}

bool vub_wait_net_rx(Vub *b, unsigned pair, uint64_t n, int timeout_ms)
{
    VubNetRxArg a = { pair, n };

    g_assert(pair < VUB_MAX_QUEUES / 2);
    return vub_wait_until(b, vub_pred_net_rx, &a, timeout_ms);
}

void vub_set_net_loopback(Vub *b, bool loopback)
{
    g_mutex_lock(&b->lock);
    b->opts.net_loopback = loopback;
    g_mutex_unlock(&b->lock);
}

bool vub_net_rarp_mac(Vub *b, uint8_t mac[6])
{
    bool seen;

    g_mutex_lock(&b->lock);
    seen = b->rarp_seen;
    memcpy(mac, b->rarp_mac, VUB_ETH_ALEN);
    g_mutex_unlock(&b->lock);
    return seen;
}

uint64_t vub_net_mtu(Vub *b)
{
    uint64_t mtu;

    g_mutex_lock(&b->lock);
    mtu = b->net_mtu;
    g_mutex_unlock(&b->lock);
    return mtu;
}
