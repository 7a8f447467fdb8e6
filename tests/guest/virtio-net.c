/* SPDX-License-Identifier: MIT */
/*
 * virtio-net driver for the test guest (see virtio-net.h).  Each RX and TX
 * buffer is one descriptor of VIRTIO_NET_BUF_SIZE bytes: the 12-byte
 * header, then the frame.  Buffers are static: VIRTQ_MAX_SIZE per queue.
 */
#include "virtio-net.h"
#include "io.h"

static uint8_t rx_bufs[VIRTIO_NET_MAX_PAIRS][VIRTQ_MAX_SIZE]
                      [VIRTIO_NET_BUF_SIZE] __attribute__((aligned(4096)))
                      GUEST_NOINIT;
static uint8_t tx_bufs[VIRTIO_NET_MAX_PAIRS][VIRTQ_MAX_SIZE]
                      [VIRTIO_NET_BUF_SIZE] __attribute__((aligned(4096)))
                      GUEST_NOINIT;

/* Locally administered address used when the device offers no MAC. */
static const uint8_t default_mac[ETH_ALEN] = {
    0x02, 0x6b, 0x76, 0x6d, 0x6e, 0x01
};

static int rx_post(struct virtio_net *n, unsigned q, uint8_t *buf)
{
    struct virtq_buf b = { buf, VIRTIO_NET_BUF_SIZE };

    return virtq_add(&n->rx[q], &b, 0, 1, buf);
}

/* Start the device with MAC and STATUS (and CTRL_VQ + MQ for more than
 * one pair, MRG_RXBUF if in extra); refuse MQ without CTRL_VQ.  0, or
 * -2. */
static int net_negotiate(struct virtio_net *n, unsigned want_pairs,
                         uint64_t extra)
{
    uint64_t wanted = VIRTIO_BIT(VIRTIO_NET_F_MAC) |
                      VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
                      (extra & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));

    if (want_pairs > 1) {
        wanted |= VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
                  VIRTIO_BIT(VIRTIO_NET_F_MQ);
    }
    if (virtio_start(&n->dev, wanted) < 0) {
        return -2;
    }
    /* MQ without a control queue cannot be used (§5.1.3.1). */
    if (virtio_has_feature(&n->dev, VIRTIO_NET_F_MQ) &&
        !virtio_has_feature(&n->dev, VIRTIO_NET_F_CTRL_VQ)) {
        printf("virtio-net: MQ offered without CTRL_VQ\n");
        virtio_fail(&n->dev);
        return -2;
    }
    printf("virtio-net: 0x%llx irq %u, features 0x%llx of 0x%llx\n",
           (unsigned long long)n->dev.base, n->dev.irq,
           (unsigned long long)n->dev.features,
           (unsigned long long)n->dev.device_features);
    return 0;
}

/* The MAC (the device's, or default_mac) and the number of pairs: what
 * was asked for, within what the device and the driver have. */
static void net_read_config(struct virtio_net *n, unsigned want_pairs)
{
    unsigned i;

    if (virtio_has_feature(&n->dev, VIRTIO_NET_F_MAC)) {
        for (i = 0; i < ETH_ALEN; i++) {
            n->mac[i] = virtio_config_read8(&n->dev, VIRTIO_NET_CFG_MAC + i);
        }
        n->mac_from_device = true;
    } else {
        memcpy(n->mac, default_mac, ETH_ALEN);
    }
    n->max_pairs = 1;
    if (virtio_has_feature(&n->dev, VIRTIO_NET_F_MQ)) {
        n->max_pairs = virtio_config_read16(&n->dev,
                                            VIRTIO_NET_CFG_MAX_PAIRS);
        if (n->max_pairs == 0) {
            n->max_pairs = 1;
        }
    }
    n->npairs = want_pairs;
    if (n->npairs > n->max_pairs) {
        n->npairs = n->max_pairs;
    }
    if (n->npairs > VIRTIO_NET_MAX_PAIRS) {
        n->npairs = VIRTIO_NET_MAX_PAIRS;
    }
}

/* The RX and TX queue of each pair (every RX buffer posted, every TX
 * buffer free, no TX interrupts) and the control queue.  0, or -2. */
static int net_setup_queues(struct virtio_net *n)
{
    unsigned q, i;

    for (q = 0; q < n->npairs; q++) {
        if (virtq_setup(&n->dev, &n->rx[q], 2 * q, 0) < 0 ||
            virtq_setup(&n->dev, &n->tx[q], 2 * q + 1, 0) < 0) {
            virtio_fail(&n->dev);
            return -2;
        }
        for (i = 0; i < n->rx[q].num; i++) {
            (void)rx_post(n, q, rx_bufs[q][i]);
        }
        for (i = 0; i < n->tx[q].num; i++) {
            n->tx_free[q][i] = (uint8_t)i;
        }
        n->tx_nfree[q] = n->tx[q].num;
        virtq_irq_disable(&n->tx[q]);
    }
    if (virtio_has_feature(&n->dev, VIRTIO_NET_F_CTRL_VQ)) {
        if (virtq_setup(&n->dev, &n->ctrl, 2 * n->max_pairs, 0) < 0) {
            virtio_fail(&n->dev);
            return -2;
        }
        n->has_ctrl = true;
    }
    return 0;
}

int virtio_net_init(struct virtio_net *n, unsigned nth, unsigned want_pairs,
                    uint64_t timeout_us)
{
    return virtio_net_init_features(n, nth, want_pairs, 0, timeout_us);
}

int virtio_net_init_features(struct virtio_net *n, unsigned nth,
                             unsigned want_pairs, uint64_t extra,
                             uint64_t timeout_us)
{
    memset(n, 0, sizeof(*n));
    if (!virtio_find(VIRTIO_ID_NET, nth, &n->dev)) {
        return -1;
    }
    if (want_pairs == 0) {
        want_pairs = 1;
    }
    if (net_negotiate(n, want_pairs, extra) < 0) {
        return -2;
    }
    net_read_config(n, want_pairs);
    if (net_setup_queues(n) < 0) {
        return -2;
    }
    if (virtio_driver_ok(&n->dev) < 0) {
        return -2;
    }
    virtio_net_kick(n);                 /* the RX buffers */

    if (virtio_has_feature(&n->dev, VIRTIO_NET_F_MQ)) {
        uint16_t pairs = (uint16_t)n->npairs;
        int rc = virtio_net_ctrl(n, VIRTIO_NET_CTRL_MQ,
                                 VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
                                 &pairs, sizeof(pairs), timeout_us);

        if (rc != VIRTIO_NET_OK) {
            printf("virtio-net: VQ_PAIRS_SET %u: %s %d\n", n->npairs,
                   rc < 0 ? "error" : "ack", rc);
            return -3;
        }
    }
    return 0;
}

bool virtio_net_link_up(const struct virtio_net *n)
{
    if (!virtio_has_feature(&n->dev, VIRTIO_NET_F_STATUS)) {
        return true;
    }
    return (virtio_config_read16(&n->dev, VIRTIO_NET_CFG_STATUS) &
            VIRTIO_NET_S_LINK_UP) != 0;
}

/* Return the TX buffers the device has used to the queue's pool (out of
 * line: keeps the common path of virtio_net_tx_alloc() short). */
static __attribute__((noinline)) void tx_reclaim(struct virtio_net *n, unsigned q)
{
    void *cookie;
    uint32_t len;

    while (virtq_get_used(&n->tx[q], &cookie, &len) > 0) {
        unsigned i = (unsigned)(((uint8_t *)cookie - tx_bufs[q][0]) /
                                VIRTIO_NET_BUF_SIZE);

        n->tx_free[q][n->tx_nfree[q]++] = (uint8_t)i;
    }
}

uint8_t *virtio_net_tx_alloc(struct virtio_net *n, unsigned q)
{
    uint8_t *buf;

    if (n->tx_nfree[q] == 0) {
        tx_reclaim(n, q);
        if (n->tx_nfree[q] == 0) {
            return NULL;
        }
    }
    /* The header stays all zero (no offloads, no GSO): the device does
     * not write TX buffers. */
    buf = tx_bufs[q][n->tx_free[q][--n->tx_nfree[q]]];
    return buf + VIRTIO_NET_HDR_LEN;
}

void virtio_net_tx_submit(struct virtio_net *n, unsigned q, uint8_t *frame,
                          unsigned len)
{
    struct virtq_buf b = { frame - VIRTIO_NET_HDR_LEN,
                           VIRTIO_NET_HDR_LEN + len };

    /* Cannot fail: the queue has a descriptor per TX buffer. */
    (void)virtq_add(&n->tx[q], &b, 1, 0, frame - VIRTIO_NET_HDR_LEN);
    n->tx_frames[q]++;
}

void virtio_net_kick(struct virtio_net *n)
{
    unsigned q;

    for (q = 0; q < n->npairs; q++) {
        if (n->rx_kicked[q] != n->rx[q].avail_idx) {
            n->rx_kicked[q] = n->rx[q].avail_idx;
            virtq_kick(&n->rx[q]);
        }
        if (n->tx_kicked[q] != n->tx[q].avail_idx) {
            n->tx_kicked[q] = n->tx[q].avail_idx;
            virtq_kick(&n->tx[q]);
        }
    }
}

int virtio_net_rx_get(struct virtio_net *n, unsigned q, uint8_t **frame,
                      uint32_t *len)
{
    void *cookie;
    uint32_t used;
    int rc = virtq_get_used(&n->rx[q], &cookie, &used);

    if (rc <= 0) {
        return rc;
    }
    if (used < VIRTIO_NET_HDR_LEN || used > VIRTIO_NET_BUF_SIZE) {
        (void)rx_post(n, q, cookie);
        return -1;
    }
    *frame = (uint8_t *)cookie + VIRTIO_NET_HDR_LEN;
    *len = used - VIRTIO_NET_HDR_LEN;
    n->rx_frames[q]++;
    return 1;
}

void virtio_net_rx_put(struct virtio_net *n, unsigned q, uint8_t *frame)
{
    (void)rx_post(n, q, frame - VIRTIO_NET_HDR_LEN);
}

unsigned virtio_net_rx_num_buffers(const struct virtio_net *n,
                                   const uint8_t *frame)
{
    const struct virtio_net_hdr_v1 *h =
        (const struct virtio_net_hdr_v1 *)(frame - VIRTIO_NET_HDR_LEN);

    if (!virtio_has_feature(&n->dev, VIRTIO_NET_F_MRG_RXBUF)) {
        return 1;
    }
    return *(const volatile uint16_t *)&h->num_buffers;    /* le16 */
}

static bool wait_tx;

static bool net_any_used(void *arg)
{
    struct virtio_net *n = arg;
    unsigned q;

    for (q = 0; q < n->npairs; q++) {
        if (virtq_has_used(&n->rx[q]) ||
            (wait_tx && virtq_has_used(&n->tx[q]))) {
            return true;
        }
    }
    return false;
}

int virtio_net_wait(struct virtio_net *n, bool want_tx)
{
    unsigned q;
    int rc;

    if (!want_tx && n->npairs == 1) {
        return virtq_wait(&n->rx[0]);
    }
    wait_tx = want_tx;
    for (q = 0; want_tx && q < n->npairs; q++) {
        virtq_irq_enable(&n->tx[q]);
    }
    rc = virtio_wait(net_any_used, n);
    for (q = 0; want_tx && q < n->npairs; q++) {
        virtq_irq_disable(&n->tx[q]);
    }
    return rc;
}

int virtio_net_ctrl(struct virtio_net *n, uint8_t cls, uint8_t cmd,
                    const void *data, uint32_t len, uint64_t timeout_us)
{
    /* Static: a request that times out may still be written later. */
    static struct {
        uint8_t hdr[2];
        uint8_t data[16];
        volatile uint8_t ack;
    } req __attribute__((aligned(64)));
    struct virtq_buf bufs[3];
    void *cookie;
    uint32_t used;

    if (!n->has_ctrl || len > sizeof(req.data)) {
        return -2;
    }
    req.hdr[0] = cls;
    req.hdr[1] = cmd;
    memcpy(req.data, data, len);
    req.ack = 0xff;
    bufs[0] = (struct virtq_buf){ req.hdr, sizeof(req.hdr) };
    bufs[1] = (struct virtq_buf){ req.data, len };
    bufs[2] = (struct virtq_buf){ (const void *)&req.ack, 1 };
    if (virtq_add(&n->ctrl, bufs, 2, 1, &req) < 0) {
        return -2;
    }
    virtq_kick(&n->ctrl);
    switch (virtq_wait_timeout(&n->ctrl, timeout_us)) {
    case -1:
        printf("virtio-net: control command timed out\n");
        return -1;
    case -2:
        printf("virtio-net: control command completed without "
               "interrupt\n");
        return -1;
    }
    if (virtq_get_used(&n->ctrl, &cookie, &used) <= 0 || cookie != &req) {
        return -2;
    }
    return req.ack;
}
