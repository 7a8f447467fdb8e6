/* SPDX-License-Identifier: MIT */
/*
 * A vhost-user backend for tests: a virtio-blk device over an in-memory
 * disk, or a virtio-net device that sends every frame back (options.type),
 * running on its own thread (with its own GMainContext) inside the test
 * process; it records every message it receives and can be told to
 * misbehave.
 *
 * It listens on a unix socket path and accepts one frontend at a time
 * (server mode, the default), or dials the path (client mode).  Guest
 * memory comes from SET_MEM_TABLE / ADD_MEM_REG (each region mmap()ed
 * from its fd), rings from SET_VRING_*; on each kick the avail ring is
 * walked.  blk: VIRTIO_BLK_T_IN/OUT/FLUSH/GET_ID requests are served from
 * and to the disk.  net: queue pair p is receiveq 2p and transmitq 2p+1
 * (GET_QUEUE_NUM answers the number of pairs); each frame sent on a
 * transmitq comes back on the receiveq of the same pair with the Ethernet
 * destination and source MACs swapped (as dpdk-testpmd's macswap) or
 * unchanged (net_loopback).  Then the call eventfd is signalled.  The
 * wire format is include/hw/virtio/vhost-user-proto.h, shared with kvmini.
 *
 * Inflight tracking (blk, options.inflight): the region the frontend hands
 * back with SET_INFLIGHT_FD records every request taken from a ring until
 * it is in the used ring, as the vhost-user spec's "Inflight I/O
 * tracking" lays it out for split rings; a ring that starts with entries
 * left in it serves those first, oldest first.  A backend that crashed
 * with requests in flight is modelled by holding them (vub_set_hold) and
 * freeing the backend; a new one on the same socket resubmits them.
 *
 * Threading: every function here may be called from any thread; state is
 * guarded by one mutex that the backend thread holds while it handles a
 * message or a kick (but not while it holds a reply back,
 * VUB_FAULT_REPLY_DELAY).  The vub_wait_*() functions block the caller
 * (not the backend) up to a timeout and return false if it expired.
 */
#ifndef TESTS_QTEST_VHOST_USER_TEST_BACKEND_H
#define TESTS_QTEST_VHOST_USER_TEST_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "hw/virtio/vhost-user-proto.h"

typedef struct Vub Vub;

#define VUB_BIT(n) (1ULL << (n))

/* VERSION_1, SEG_MAX, BLK_SIZE, FLUSH, CONFIG_WCE, MQ, LOG_ALL (26: the
 * backend logs its writes when asked), PROTOCOL_FEATURES (30) */
#define VUB_DEFAULT_FEATURES \
    (VUB_BIT(32) | VUB_BIT(2) | VUB_BIT(6) | VUB_BIT(9) | VUB_BIT(11) | \
     VUB_BIT(12) | VUB_BIT(VHOST_USER_F_LOG_ALL) | \
     VUB_BIT(VHOST_USER_F_PROTOCOL_FEATURES))

#define VUB_DEFAULT_PROTOCOL_FEATURES \
    (VUB_BIT(VHOST_USER_PROTOCOL_F_MQ) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_BACKEND_REQ) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_CONFIG) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_STATUS))

/* virtio-net: VERSION_1, MTU (3), GUEST_ANNOUNCE (21), MQ (22), LOG_ALL,
 * PROTOCOL_FEATURES.  No MAC, STATUS or control queue (the frontend
 * provides those), no offloads, no MRG_RXBUF. */
#define VUB_NET_DEFAULT_FEATURES \
    (VUB_BIT(32) | VUB_BIT(3) | VUB_BIT(21) | VUB_BIT(22) | \
     VUB_BIT(VHOST_USER_F_LOG_ALL) | \
     VUB_BIT(VHOST_USER_F_PROTOCOL_FEATURES))

/* No CONFIG: a net frontend owns the config space. */
#define VUB_NET_DEFAULT_PROTOCOL_FEATURES \
    (VUB_BIT(VHOST_USER_PROTOCOL_F_MQ) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_RARP) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_NET_MTU) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | \
     VUB_BIT(VHOST_USER_PROTOCOL_F_STATUS))

#define VUB_MAX_QUEUES  16          /* rings: 8 queue pairs for net */
#define VUB_SEG_MAX     126         /* data segments per request */
#define VUB_SERIAL      "vub-test-disk"

typedef enum VubDeviceType {
    VUB_DEVICE_BLK,
    VUB_DEVICE_NET,
} VubDeviceType;

typedef struct VubOptions {
    const char *path;           /* unix socket path (copied) */
    VubDeviceType type;
    bool client;                /* dial path instead of listening on it */
    bool redial;                /* client: dial again after a disconnect */
    int connect_timeout_ms;     /* client: give up dialing after this */
    uint64_t disk_size;         /* bytes, a multiple of 512 */
    unsigned num_queues;        /* GET_QUEUE_NUM and config num_queues;
                                 * net: queue pairs (2 rings each) */
    uint64_t features;          /* offered by GET_FEATURES */
    uint64_t protocol_features; /* offered by GET_PROTOCOL_FEATURES */
    uint64_t max_mem_slots;     /* GET_MAX_MEM_SLOTS */
    bool net_loopback;          /* net: frames come back unchanged */
    bool inflight;              /* blk: offer INFLIGHT_SHMFD and track
                                 * requests in the region SET_INFLIGHT_FD
                                 * maps (off: the region is handed out but
                                 * never used) */
    uint8_t *disk;              /* blk: serve this disk (disk_size bytes,
                                 * the caller's, outliving the backend)
                                 * instead of a private one, so that a
                                 * backend freed and created again (a
                                 * restart) or a second one (migration)
                                 * sees the same data, as with one image
                                 * file; NULL: private, zero-filled */
    uint32_t *served;           /* blk: disk_size / 512 counters of the
                                 * caller's: each read or write served
                                 * adds one (atomically) at its first
                                 * sector, so over backends sharing them
                                 * a request served twice shows */
} VubOptions;

/* Fill o with the defaults: server mode on path, 64 MiB disk, one queue,
 * VUB_DEFAULT_FEATURES / VUB_DEFAULT_PROTOCOL_FEATURES, 32 slots, 30 s
 * dial timeout. */
void vub_options_init(VubOptions *o, const char *path);
/* The same for a virtio-net backend with pairs queue pairs (1 to
 * VUB_MAX_QUEUES / 2): VUB_NET_DEFAULT_FEATURES /
 * VUB_NET_DEFAULT_PROTOCOL_FEATURES, macswap, no disk. */
void vub_options_init_net(VubOptions *o, const char *path, unsigned pairs);

/* Create the backend and start its thread: in server mode the socket is
 * listening when this returns (an existing file at path is replaced); in
 * client mode the thread dials path every 10 ms until it connects or the
 * timeout expires.  Fails the test (g_error) if the socket cannot be
 * created.  Free with vub_free(). */
Vub *vub_new(const VubOptions *o);
/* Shorthand: server mode on path with the defaults. */
Vub *vub_new_server(const char *path);
/* Stop the thread, close every fd, unmap guest memory, unlink the socket
 * path (server mode) and free b.  NULL is ignored. */
void vub_free(Vub *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Vub, vub_free)

/* --- the message log ------------------------------------------------------ */

/* One message received from the frontend. */
typedef struct VubMsg {
    uint32_t request;
    uint32_t flags;
    uint32_t size;              /* as in the header */
    uint8_t *payload;           /* size bytes (NULL if 0) */
    unsigned nfds;              /* fds that came with it */
    unsigned conn;              /* connection number, from 1 */
} VubMsg;

void vub_msg_free(VubMsg *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VubMsg, vub_msg_free)

/* Messages logged so far (over all connections). */
unsigned vub_log_len(Vub *b);
/* A copy of log entry i, or NULL if out of range.  Caller frees. */
VubMsg *vub_log_get(Vub *b, unsigned i);
/* A copy of the nth message with this request (0 = first; -1 = last),
 * or NULL.  Caller frees. */
VubMsg *vub_find(Vub *b, uint32_t request, int nth);
/* How many messages with this request were received. */
unsigned vub_count(Vub *b, uint32_t request);
/* Request names of the whole log, space separated ("GET_FEATURES
 * SET_OWNER ..."), from entry `from` on.  Caller frees. */
char *vub_log_string(Vub *b, unsigned from);
/* Forget every logged message (counts restart from zero). */
void vub_log_clear(Vub *b);

/* Wait until at least n messages with this request were logged. */
bool vub_wait_for_count(Vub *b, uint32_t request, unsigned n,
                        int timeout_ms);
/* Wait until one message with this request was logged. */
bool vub_wait_for_request(Vub *b, uint32_t request, int timeout_ms);

/* --- connection ----------------------------------------------------------- */

bool vub_connected(Vub *b);
/* Connections made so far (accepted or dialed). */
unsigned vub_connections(Vub *b);
/* Wait until at least n connections were made / none is up. */
bool vub_wait_connections(Vub *b, unsigned n, int timeout_ms);
bool vub_wait_disconnected(Vub *b, int timeout_ms);
/* Drop the current connection as if the backend had crashed. */
void vub_disconnect(Vub *b);
/* Why the last connection ended or was refused ("EOF", "message 7
 * dropped on purpose", "payload of 9999 bytes too large", ...); caller
 * frees; NULL if none. */
char *vub_last_error(Vub *b);

/* --- negotiated state ----------------------------------------------------- */

uint64_t vub_acked_features(Vub *b);
uint64_t vub_acked_protocol_features(Vub *b);
/* Last SET_STATUS value. */
uint8_t vub_status(Vub *b);
/* What GET_FEATURES / GET_PROTOCOL_FEATURES offer from now on. */
void vub_set_features(Vub *b, uint64_t features);
void vub_set_protocol_features(Vub *b, uint64_t features);
/* Change the capacity in config space (for CONFIG_CHANGE_MSG tests). */
void vub_set_capacity(Vub *b, uint64_t sectors);

/* --- memory and rings ----------------------------------------------------- */

/* Copy up to max regions of the current memory table to out (may be
 * NULL); returns the number of regions. */
unsigned vub_mem_regions(Vub *b, VhostUserMemoryRegion *out, unsigned max);
/* Read / write guest memory through the backend's own mappings.  False
 * if [gpa, gpa+len) is not inside one mapped region. */
bool vub_read_guest(Vub *b, uint64_t gpa, void *buf, size_t len);
bool vub_write_guest(Vub *b, uint64_t gpa, const void *buf, size_t len);
/* vub_write_guest, then mark the pages in the dirty log while LOG_ALL is
 * on, as a backend's own writes (DMA) must be; any thread. */
bool vub_write_guest_logged(Vub *b, uint64_t gpa, const void *buf,
                            size_t len);

typedef struct VubVringInfo {
    uint16_t num;
    uint16_t last_avail;        /* next avail entry the backend reads */
    uint16_t used_idx;          /* next used entry the backend writes */
    bool addr_set;
    bool started;               /* kick fd received, not stopped */
    bool enabled;               /* effective (see SET_VRING_ENABLE) */
    bool has_kick, has_call;
    int enable_msg;             /* last SET_VRING_ENABLE num, -1: none */
    uint16_t avail_seen;        /* avail index at the last walk */
    uint64_t kicks;             /* kick eventfd reads */
    uint64_t completed;         /* requests put in the used ring */
    uint64_t calls;             /* call eventfd writes */
    unsigned held;              /* taken and held (vub_set_hold) */
    unsigned inflight;          /* entries marked in the inflight region
                                 * (0 without one) */
    uint64_t resubmitted;       /* requests served again from the region */
} VubVringInfo;

/* State of ring idx (zeroed if idx is out of range). */
VubVringInfo vub_vring_info(Vub *b, unsigned idx);
/* Wait until ring idx is started and enabled (the frontend's start
 * sequence for it is over). */
bool vub_wait_vring_running(Vub *b, unsigned idx, int timeout_ms);
/* Wait until the backend walked ring idx and found its avail index at
 * avail (it has seen every buffer published so far). */
bool vub_wait_avail_seen(Vub *b, unsigned idx, uint16_t avail,
                         int timeout_ms);
/* Wait until ring idx is started (kick fd received), enabled or not. */
bool vub_wait_vring_started(Vub *b, unsigned idx, int timeout_ms);
/* Wait until ring idx has completed at least n requests (net: frames
 * taken from a transmitq or written to a receiveq). */
bool vub_wait_completed(Vub *b, unsigned idx, uint64_t n, int timeout_ms);

/* --- holding requests (blk) ---------------------------------------------- */

/* While hold is on, every request taken from a ring (new or resubmitted)
 * stays marked inflight and is neither served nor put in the used ring
 * until vub_complete_held(); at most 64 per ring, then the ring is left
 * alone.  Turning it off serves what comes next, not what is held.  Held
 * requests are forgotten when their ring starts again or the connection
 * ends (with options.inflight the next start resubmits them); the end of
 * a connection also turns holding off, as a crash would: the next
 * connection serves. */
void vub_set_hold(Vub *b, bool hold);
/* Wait until ring idx holds at least n requests. */
bool vub_wait_held(Vub *b, unsigned idx, unsigned n, int timeout_ms);
/* Serve the held request whose head descriptor is head, put it in the used
 * ring and signal the call eventfd; false if ring idx is not running or
 * holds no such request.  With torn, the backend stops half-way as if it
 * crashed after publishing the used entry: the inflight region keeps the
 * request marked and its used_idx behind; free the backend next (the
 * spec's "when reconnecting" step 1 is for the one after it). */
bool vub_complete_held(Vub *b, unsigned idx, uint16_t head, bool torn);

/* --- the disk ------------------------------------------------------------- */

typedef struct VubBlkStats {
    uint64_t reads, writes, flushes, get_ids;
    uint64_t ioerr;             /* out of range, bad chain */
    uint64_t unsupported;       /* unknown request type */
    uint64_t bytes_read, bytes_written;
} VubBlkStats;

uint64_t vub_disk_size(Vub *b);
/* Direct access to the disk contents; the range must be inside it. */
void vub_disk_read(Vub *b, uint64_t offset, void *buf, size_t len);
void vub_disk_write(Vub *b, uint64_t offset, const void *buf, size_t len);
VubBlkStats vub_blk_stats(Vub *b);

/* --- the network (VUB_DEVICE_NET) ---------------------------------------- */

/* Counters of queue pair p, over every connection.  A frame stays in its
 * transmitq until the receiveq of the pair has a buffer for it (a kick of
 * the receiveq moves it then): nothing is dropped for lack of buffers. */
typedef struct VubNetStats {
    uint64_t tx_packets, tx_bytes;  /* frames taken from the transmitq */
    uint64_t rx_packets, rx_bytes;  /* frames written to the receiveq */
    uint64_t tx_errors;         /* bad chains, runts (< 14 bytes), giants */
    uint64_t rx_errors;         /* receive chains too small for a header */
    uint64_t rx_truncated;      /* frames cut to fit a receive buffer */
} VubNetStats;

VubNetStats vub_net_stats(Vub *b, unsigned pair);
/* Wait until pair has written at least n frames to its receiveq. */
bool vub_wait_net_rx(Vub *b, unsigned pair, uint64_t n, int timeout_ms);
/* Macswap (false) or loopback (true) from now on. */
void vub_set_net_loopback(Vub *b, bool loopback);
/* The MAC of the last SEND_RARP (over all connections); false if none
 * came. */
bool vub_net_rarp_mac(Vub *b, uint8_t mac[6]);
/* The value of the last NET_SET_MTU; 0 if none came. */
uint64_t vub_net_mtu(Vub *b);

/* --- misbehaviour --------------------------------------------------------- */

typedef enum VubFaultKind {
    VUB_FAULT_REPLY_SIZE = 1,   /* header size = value; value bytes sent
                                 * (the real payload, zero padded) */
    VUB_FAULT_REPLY_REQUEST,    /* header request = value */
    VUB_FAULT_REPLY_FLAGS,      /* header flags = value */
    VUB_FAULT_REPLY_FD,         /* an eventfd rides along with the reply */
    VUB_FAULT_NO_REPLY,         /* the reply (or ack) is never sent */
    VUB_FAULT_ACK_STATUS,       /* REPLY_ACK carries status = value */
    VUB_FAULT_REPLY_DELAY,      /* the reply (or ack) waits until another
                                 * message from the frontend is readable
                                 * or value ms have passed (a backend slow
                                 * to answer): see vub_interleaved() */
} VubFaultKind;

#define VUB_ANY_REQUEST UINT32_MAX

/* Spoil the replies to `request` (or VUB_ANY_REQUEST); with once, only
 * the next one.  Several faults may be active.  Faults meant for the
 * first messages of a connection must be set before the peer can
 * connect (before starting kvmini, or right after vub_new in client
 * mode while nobody listens yet). */
void vub_add_fault(Vub *b, VubFaultKind kind, uint32_t request,
                   uint64_t value, bool once);
void vub_clear_faults(Vub *b);
/* Close the connection when the nth message (from 1) of the current or
 * next connection arrives, without handling it.  One-shot; 0 cancels. */
void vub_drop_at(Vub *b, unsigned n);
/* The same for whatever message comes next (counted under the lock, so
 * none slips in between): a backend that dies at the frontend's next
 * step, e.g. the device stop of a migration's switch-over. */
void vub_drop_at_next(Vub *b);
/* Messages the frontend sent while a reply was held back
 * (VUB_FAULT_REPLY_DELAY): a frontend that waits for each reply before
 * its next request, as the protocol requires, never sends one.  While a
 * reply is held, the request is in the log (vub_wait_*() see it). */
unsigned vub_interleaved(Vub *b);

/* --- the backend channel (SET_BACKEND_REQ_FD) ----------------------------- */

/* Send a backend -> frontend request with payload (size bytes) and an
 * optional fd (-1: none; it is duplicated, the caller keeps it).  With
 * need_reply the frontend's u64 reply is read (up to timeout_ms) into
 * *status.  False if there is no channel or it failed. */
bool vub_backend_send(Vub *b, uint32_t request, const void *payload,
                      uint32_t size, int fd, bool need_reply,
                      uint64_t *status, int timeout_ms);
bool vub_send_config_change(Vub *b, bool need_reply, uint64_t *status);
/* Write len raw bytes on the channel (a message cut short, say). */
bool vub_backend_send_raw(Vub *b, const void *buf, size_t len);
/* VRING_HOST_NOTIFIER_MSG for ring idx: with_fd passes a one-page memfd
 * (size 4096, offset 0), else the NOFD bit. */
bool vub_send_host_notifier(Vub *b, unsigned idx, bool with_fd,
                            bool need_reply, uint64_t *status);
bool vub_send_iotlb(Vub *b, const VhostUserIotlb *msg, bool need_reply,
                    uint64_t *status);
/* True once the frontend gave a backend channel. */
bool vub_has_backend_channel(Vub *b);

#endif
