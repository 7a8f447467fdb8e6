/* SPDX-License-Identifier: MIT */
/*
 * virtio-net driver of the test guest (virtio 1.x §5.1) on top of
 * virtio.c, and the frame exchange shared by test=net and test=net-bench
 * (test-net.c).
 *
 * Negotiated: VERSION_1, MAC, STATUS, and CTRL_VQ + MQ when more than one
 * queue pair is wanted; MRG_RXBUF only if the caller asks for it
 * (virtio_net_init_features()).  No offloads.  Every frame uses one
 * buffer holding the 12-byte struct virtio_net_hdr_v1 followed by the
 * Ethernet frame (no FCS): a 2 KiB buffer holds the largest frame, so a
 * device with MRG_RXBUF should report num_buffers = 1, and a caller that
 * negotiated it checks that (virtio_net_rx_num_buffers()).  Queue pair q is receiveq 2q and
 * transmitq 2q+1; the control queue is 2 * max_virtqueue_pairs.
 *
 * Every RX buffer is posted at start and re-posted by virtio_net_rx_put()
 * after the caller has looked at it.  TX buffers come from a per-queue
 * pool (virtio_net_tx_alloc()), which takes back the ones the device has
 * used when it runs empty.  Interrupts: RX queues always interrupt; TX
 * queues are told not to (VIRTQ_AVAIL_F_NO_INTERRUPT) except while
 * virtio_net_wait() waits for TX buffers.
 */
#ifndef GUEST_VIRTIO_NET_H
#define GUEST_VIRTIO_NET_H

#include "virtio.h"

/* Feature bits (§5.1.3). */
#define VIRTIO_NET_F_CSUM        0
#define VIRTIO_NET_F_GUEST_CSUM  1
#define VIRTIO_NET_F_MTU         3
#define VIRTIO_NET_F_MAC         5
#define VIRTIO_NET_F_MRG_RXBUF   15
#define VIRTIO_NET_F_STATUS      16
#define VIRTIO_NET_F_CTRL_VQ     17
#define VIRTIO_NET_F_MQ          22

/* Configuration space offsets (§5.1.4). */
#define VIRTIO_NET_CFG_MAC        0     /* u8[6], with VIRTIO_NET_F_MAC */
#define VIRTIO_NET_CFG_STATUS     6     /* le16, with VIRTIO_NET_F_STATUS */
#define VIRTIO_NET_CFG_MAX_PAIRS  8     /* le16, with VIRTIO_NET_F_MQ */
#define VIRTIO_NET_S_LINK_UP      1

/* Control queue (§5.1.6.5). */
#define VIRTIO_NET_CTRL_MQ               4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET  0
#define VIRTIO_NET_OK                    0

#define VIRTIO_NET_HDR_LEN       12     /* struct virtio_net_hdr_v1 */
#define VIRTIO_NET_BUF_SIZE      2048   /* header + frame, >= 1526 */
#define VIRTIO_NET_MAX_PAIRS     4

#define ETH_ALEN                 6
#define ETH_HLEN                 14
#define ETH_FRAME_MIN            60     /* without FCS */
#define ETH_FRAME_MAX            1514

struct virtio_net_hdr_v1 {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
};

struct virtio_net {
    struct virtio_dev dev;
    uint8_t mac[ETH_ALEN];      /* from config, or a fixed local one */
    bool mac_from_device;
    unsigned max_pairs;         /* max_virtqueue_pairs (1 without MQ) */
    unsigned npairs;            /* queue pairs in use */
    struct virtq rx[VIRTIO_NET_MAX_PAIRS];
    struct virtq tx[VIRTIO_NET_MAX_PAIRS];
    struct virtq ctrl;
    bool has_ctrl;
    uint16_t rx_kicked[VIRTIO_NET_MAX_PAIRS];
    uint16_t tx_kicked[VIRTIO_NET_MAX_PAIRS];
    unsigned tx_nfree[VIRTIO_NET_MAX_PAIRS];
    uint8_t tx_free[VIRTIO_NET_MAX_PAIRS][VIRTQ_MAX_SIZE];
    /* Statistics. */
    uint64_t tx_frames[VIRTIO_NET_MAX_PAIRS];
    uint64_t rx_frames[VIRTIO_NET_MAX_PAIRS];
};

/*
 * Find the nth virtio-net device, negotiate features (CTRL_VQ + MQ only
 * if want_pairs > 1), read the MAC, set up
 * min(want_pairs, max_virtqueue_pairs, VIRTIO_NET_MAX_PAIRS) queue pairs
 * (and the control queue), post every RX buffer, set DRIVER_OK and, with
 * more than one pair, send VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (waiting up to
 * timeout_us).  Prints "virtio-net: 0x<base> irq <n>, features 0x<f> of
 * 0x<offered>".  Returns 0, -1 if there is no such device, -2 if
 * initialisation failed, -3 if the control command failed (all printed).
 */
int virtio_net_init(struct virtio_net *n, unsigned nth, unsigned want_pairs,
                    uint64_t timeout_us);

/* virtio_net_init() also asking for the features in extra that the
 * driver can take: only VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) (others are
 * ignored). */
int virtio_net_init_features(struct virtio_net *n, unsigned nth,
                             unsigned want_pairs, uint64_t extra,
                             uint64_t timeout_us);

/* How many buffers the device says the frame at `frame` (from
 * virtio_net_rx_get()) spans: the header's num_buffers with MRG_RXBUF
 * negotiated (anything but 1 is a device error here: every frame fits a
 * buffer), else 1 (the field is then not the device's to set). */
unsigned virtio_net_rx_num_buffers(const struct virtio_net *n,
                                   const uint8_t *frame);

/* Link state: the STATUS config field's LINK_UP bit; true without
 * VIRTIO_NET_F_STATUS (§5.1.4: the link is then assumed up). */
bool virtio_net_link_up(const struct virtio_net *n);

/*
 * A TX buffer of queue pair q: returns where the Ethernet frame goes
 * (after the header), or NULL if all of the queue's buffers are with the
 * device (completed ones are reclaimed first).  Pass it to
 * virtio_net_tx_submit() with the frame length (ETH_FRAME_MIN..MAX).
 */
uint8_t *virtio_net_tx_alloc(struct virtio_net *n, unsigned q);
void virtio_net_tx_submit(struct virtio_net *n, unsigned q, uint8_t *frame,
                          unsigned len);

/* Notify every queue holding buffers the device was not told about. */
void virtio_net_kick(struct virtio_net *n);

/*
 * Take one received frame from RX queue q: returns 1 with *frame and *len
 * (frame bytes, without the header) set, 0 if there is none, -1 if the
 * device returned an invalid descriptor or a length shorter than the
 * header.  Hand the buffer back with virtio_net_rx_put() (needs a kick).
 */
int virtio_net_rx_get(struct virtio_net *n, unsigned q, uint8_t **frame,
                      uint32_t *len);
void virtio_net_rx_put(struct virtio_net *n, unsigned q, uint8_t *frame);

/*
 * Sleep until an RX queue has a frame or, if want_tx, a TX queue has a
 * completion; the caller arms the timer.  Returns 0, or -1/-2 as
 * virtio_wait().
 */
int virtio_net_wait(struct virtio_net *n, bool want_tx);

/* Send a control command (class, command, data) and wait for its ack.
 * Returns the ack (VIRTIO_NET_OK = 0), -1 on timeout, -2 on a queue
 * error or without a control queue. */
int virtio_net_ctrl(struct virtio_net *n, uint8_t cls, uint8_t cmd,
                    const void *data, uint32_t len, uint64_t timeout_us);

/*
 * test-net.c: the frame exchange of test=net and test=net-bench.
 *
 * Frame seq (0 <= seq < count) is sent on queue pair seq % npairs:
 *   bytes 0-5    destination: peer (ff:ff:ff:ff:ff:ff unless net_peer=)
 *   bytes 6-11   source: our MAC
 *   bytes 12-13  ethertype 0x88b5 (IEEE local experimental)
 *   bytes 14-17  seq, le32
 *   bytes 18-19  queue pair it was sent on, le16
 *   bytes 20-21  frame length, le16
 *   bytes 22-    byte i of the frame = (i & 0xff) ^ (seq & 0xff)
 * A good reply (testpmd macswap) has destination = our MAC, source =
 * peer, and the rest unchanged (with net_macswap=0: all unchanged).
 */
#define NET_ETHERTYPE     0x88b5
#define NET_WARMUP_TYPE   0x88b6    /* warm-up frames (net_warmup_ms=) */
#define NET_COUNT_MAX     (1u << 20)

struct net_run {
    /* Parameters. */
    uint64_t count;             /* frames to send */
    unsigned window;            /* frames in flight, all queues */
    unsigned len;               /* frame bytes */
    uint64_t timeout_us;        /* no progress for that long: give up */
    uint8_t peer[ETH_ALEN];
    const char *tag;            /* "net" or "net-bench": message prefix */
    bool unswapped;             /* frames come back as sent (net_macswap=0) */
    uint64_t warmup_us;         /* warm-up resend interval, 0: none */
    uint64_t resend_us;         /* quiet for that long: resend, 0: never */
    uint64_t lose_seq;          /* discard its first echo; ~0: none */
    /* Results. */
    uint64_t sent;
    uint64_t received;          /* frames with our ethertype */
    uint64_t good;              /* ... intact, each seq once */
    uint64_t bad;               /* ... corrupt, duplicated or misaddressed */
    uint64_t foreign;           /* other ethertypes (ignored) */
    uint64_t warmup_sent;       /* warm-up frames sent */
    uint64_t warmup_echoed;     /* ... and come back (also late ones) */
    uint64_t resent;            /* frames sent again (net_resend_ms) */
    uint64_t duplicates;        /* intact second copies after a resend */
    uint64_t oldest;            /* no seq below this is still missing */
    uint64_t waits;             /* sleeps in virtio_net_wait() */
    uint64_t tsc_start, tsc_end;   /* first send, last receive */
    int wait_rc;                /* 0; -1 timeout; -2 without interrupt */
    bool probe_failed;          /* ... while waiting for frame 0 */
    int ring_error;             /* the device returned a bad descriptor */
};

/* Parse xx:xx:xx:xx:xx:xx (hex, two digits at most per byte) into mac. */
bool net_parse_mac(const char *s, uint8_t *mac);

/* Parse count=, net_window=, net_len=, net_timeout_ms=, net_peer= and
 * net_queues=; set up the device and print its MAC and link; fail if the
 * link is down.  Returns 0 or a failure exit code (test_fail() printed). */
int net_prepare(struct virtio_net *n, struct net_run *r, const char *tag,
                uint64_t count_default, unsigned window_default);

/* Send and receive r->count frames.  Returns 0 or a failure exit code
 * (printed; r's results are filled in either way). */
int net_exchange(struct virtio_net *n, struct net_run *r);

#endif
