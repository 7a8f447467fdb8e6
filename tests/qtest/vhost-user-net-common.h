/* SPDX-License-Identifier: MIT */
/*
 * The fixture of the vhost-user-net qtests: a temporary directory with
 * the backend's socket, the test vhost-user backend as a virtio-net
 * reflector (vhost-user-test-backend.h), kvmini started with
 * "-chardev socket,id=c0,path=SOCK -netdev vhost-user,id=n0,chardev=c0,
 * queues=Q -device virtio-net-device,netdev=n0", and a virtio-net guest
 * driver over virtio-mmio-driver.h for the device in slot 0: receive and
 * transmit queues per pair, the control queue, receive buffers between
 * RAM_LOW and RAM_HIGH, frames sent and read back.  Helpers fail the test
 * on anything unexpected.
 */
#ifndef TESTS_QTEST_VHOST_USER_NET_COMMON_H
#define TESTS_QTEST_VHOST_USER_NET_COMMON_H

#include <linux/virtio_net.h>

#include "libqmp.h"
#include "libqtest.h"
#include "vhost-user-test-backend.h"
#include "virtio-mmio-driver.h"

#define MiB         (1024ULL * 1024)
#define TIMEOUT_MS  10000
#define RAM_LOW     0x100000            /* driver allocations from here */
#define RAM_HIGH    (64 * MiB)
#define MAX_PAIRS   2
#define RX_BUFS     16                  /* posted per receive queue */
#define RX_BUF_LEN  2048
#define HDR_LEN     sizeof(struct virtio_net_hdr_v1)
#define ETH_HLEN    14
#define BIT(n)      (1ULL << (n))

/* What the driver asks for unless a test says otherwise. */
#define NET_WANTED (BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | \
                    BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_RX) | \
                    BIT(VIRTIO_NET_F_CTRL_RX_EXTRA) | \
                    BIT(VIRTIO_NET_F_CTRL_MAC_ADDR))

/* Config space offsets (struct virtio_net_config). */
#define CFG_MAC     0
#define CFG_STATUS  6
#define CFG_PAIRS   8
#define CFG_MTU     10

/* The destination of the frames the tests send, and kvmini's default
 * MAC for slot 0. */
extern const uint8_t net_peer_mac[6];
extern const uint8_t net_default_mac[6];

typedef struct Net {
    char *dir;
    char *sock;
    char *qmp_sock;
    Vub *b;
    QTestState *qts;
    QmpClient *qmp;                 /* NULL unless launched with one */
    QVirtioDevice dev;
    QGuestAlloc alloc;
    unsigned queues;                /* the netdev's queues= */
    unsigned npairs;                /* pairs the driver set up */
    QVirtQueue *rx[MAX_PAIRS], *tx[MAX_PAIRS], *ctrl;
    uint64_t rx_gpa[MAX_PAIRS][256];    /* buffer of each receive head */
} Net;

/* --- fixture -------------------------------------------------------------- */

/* Directory and socket path; a backend made from o (its path replaced),
 * or a one-pair server-mode net backend if o is NULL. */
void net_init(Net *t, const VubOptions *o);
/* The kvmini options of the device: chardev c0 (chr_opts appended, e.g.
 * ",server=on"), netdev n0 with queues, the device (dev_opts appended,
 * e.g. ",mq=on").  Caller frees. */
char *net_args(Net *t, const char *chr_opts, unsigned queues,
               const char *dev_opts);
/* Start kvmini with net_args(); with qmp, also a QMP monitor, connected
 * and negotiated in t->qmp. */
void net_launch(Net *t, const char *chr_opts, unsigned queues,
                const char *dev_opts, bool qmp);
/* Quit kvmini (exit status 0 required), free the backend and the rest. */
void net_free(Net *t);
/* Wait until kvmini's stderr contains what; fail with its text if not. */
void net_expect_stderr(Net *t, const char *what);
/* Run kvmini (args as from net_args) where it must fail at start-up;
 * returns its exit status, *err its stderr (caller frees). */
int net_run_failing(Net *t, const char *args, char **err);
/* text is exactly one line (ending with its only newline). */
bool one_line(const char *text);

/* --- the backend's log ---------------------------------------------------- */

/* The u64 payload of the nth (-1: last) logged message of request. */
uint64_t msg_u64(Vub *b, uint32_t request, int nth);
/* num of the last ring-state message (SET_VRING_BASE, _ENABLE, ...) for
 * ring idx; -1 if none. */
int last_vring_state(Vub *b, uint32_t request, unsigned idx);

/* --- the guest driver ----------------------------------------------------- */

/* Be the driver: reset, negotiate wanted, a receive and a transmit queue
 * per usable pair (all with MQ, else one), the control queue with
 * CTRL_VQ, DRIVER_OK; once the backend runs, RX_BUFS receive buffers on
 * every pair.  May be called again. */
void net_driver_start(Net *t, uint64_t wanted);
/* Wait until b runs rings 0 and 1 and has started the other pairs'. */
void net_wait_backend(Net *t, Vub *b);
/* Post n receive buffers of RX_BUF_LEN on pair and kick. */
void net_post_rx(Net *t, unsigned pair, unsigned n);
/* A control command (class, cmd, len bytes of data); the ack byte. */
uint8_t net_ctrl(Net *t, uint8_t class, uint8_t cmd, const void *data,
                 size_t len);
/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET pairs; the ack byte. */
uint8_t net_ctrl_pairs(Net *t, uint16_t pairs);

/* --- frames --------------------------------------------------------------- */

/* An Ethernet frame of len (>= 14) bytes, dst, src, EtherType 0x88b5,
 * then a pattern depending on seed. */
void make_frame(uint8_t *f, size_t len, const uint8_t *dst,
                const uint8_t *src, unsigned seed);
/* Put a zero header and the frame on pair's transmit queue (one
 * descriptor, or with split header and frame in two) and kick. */
void net_send(Net *t, unsigned pair, const uint8_t *frame, size_t len,
              bool split);
/* The next transmit buffer of pair comes back (used length 0). */
void net_wait_tx_done(Net *t, unsigned pair);
/* The next received frame of pair is sent with the MACs swapped (or
 * unchanged with loopback) behind a header without offloads and
 * num_buffers 1. */
void net_check_echo(Net *t, unsigned pair, const uint8_t *sent, size_t len,
                    bool loopback);
/* Send a len-byte frame from the default MAC to the peer on pair, check
 * the echo, wait for the transmit buffer. */
void net_echo(Net *t, unsigned pair, size_t len, unsigned seed);

/* --- interrupts and config ------------------------------------------------ */

/* Forget the interrupts seen so far and acknowledge the ISR. */
void net_irq_clear(Net *t);
/* Wait for an interrupt on the slot's GSI with ISR bit 1 (config
 * change); acknowledge that bit. */
void net_wait_config_irq(Net *t);
uint16_t net_status(Net *t);
void net_config_mac(Net *t, uint8_t *mac);

#endif
