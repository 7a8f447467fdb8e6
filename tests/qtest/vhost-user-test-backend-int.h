/* SPDX-License-Identifier: MIT */
/*
 * Internals of the test vhost-user backend, shared by its four files:
 * vhost-user-test-backend.c (thread, connection, log, public accessors),
 * vhost-user-test-backend-msg.c (one handler per request),
 * vhost-user-test-backend-blk.c (guest memory, rings, virtio-blk) and
 * vhost-user-test-backend-net.c (virtio-net).
 *
 * Unless a comment says otherwise, every function declared here runs on
 * the backend thread with b->lock held.
 */
#ifndef TESTS_QTEST_VHOST_USER_TEST_BACKEND_INT_H
#define TESTS_QTEST_VHOST_USER_TEST_BACKEND_INT_H

#include <glib-unix.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "vhost-user-test-backend.h"

#define VUB_MAX_REGIONS     64
#define VUB_MAX_FAULTS      16
#define VUB_RECV_TIMEOUT_MS 5000
#define VUB_MAX_CHAIN       (VUB_SEG_MAX + 2)
#define VUB_NET_MAX_FRAME   65536   /* bytes after the virtio-net header */
#define VUB_MAX_HELD        64      /* requests a ring holds (vub_set_hold) */

/*
 * One split ring's part of the inflight region, as the vhost-user spec
 * lays it out ("Inflight I/O tracking"); the region is num_queues of them,
 * each rounded up to 64 bytes.  Only the backend reads it: the frontend
 * keeps it and hands it back.
 */
typedef struct VubInflightDesc {
    uint8_t inflight;           /* head taken, not yet in the used ring */
    uint8_t padding[5];
    uint16_t next;              /* links the last batch of used heads */
    uint64_t counter;           /* order in which heads were taken */
} VubInflightDesc;

typedef struct VubInflightQueue {
    uint64_t features;          /* 0 */
    uint16_t version;           /* 1; 0: a new region, never used */
    uint16_t desc_num;          /* queue size */
    uint16_t last_batch_head;
    uint16_t used_idx;          /* used->idx once the last batch is done */
    VubInflightDesc desc[];
} VubInflightQueue;

G_STATIC_ASSERT(sizeof(VubInflightDesc) == 16);
G_STATIC_ASSERT(sizeof(VubInflightQueue) == 16);

/* A head left inflight by an earlier backend, to serve again. */
typedef struct VubResubmit {
    uint16_t head;
    uint64_t counter;
} VubResubmit;

typedef struct VubRegion {
    VhostUserMemoryRegion r;
    uint8_t *map;               /* mmap() of the fd */
    size_t map_len;
    size_t map_delta;           /* guest_phys_addr is at map + map_delta */
} VubRegion;

typedef struct VubVring {
    Vub *b;
    unsigned index;
    uint16_t num;
    uint32_t addr_flags;
    uint64_t desc_uaddr, avail_uaddr, used_uaddr;
    uint64_t log_guest_addr;    /* gpa of the used ring, for the log */
    bool addr_set;
    uint16_t last_avail;
    uint16_t used_idx;
    uint16_t avail_seen;        /* avail index at the last walk */
    int kick_fd, call_fd, err_fd;
    GSource *kick_src;
    bool started;
    bool enable_set;            /* SET_VRING_ENABLE received */
    bool enable;                /* its value */
    uint64_t kicks, completed, calls;

    VubInflightQueue *inflight; /* its part of the region, or NULL */
    uint64_t counter;           /* for the next head taken */
    VubResubmit *resubmit;      /* left inflight, oldest first */
    unsigned nresubmit, resubmit_pos;
    uint64_t resubmitted;
    uint16_t held[VUB_MAX_HELD];    /* taken, not served (vub_set_hold) */
    unsigned nheld;
} VubVring;

typedef struct VubFault {
    VubFaultKind kind;
    uint32_t request;
    uint64_t value;
    bool once;
} VubFault;

/* A received message with its fds; handlers take the fds they keep
 * (setting the slot to -1), the dispatcher closes the rest. */
typedef struct VubReq {
    VhostUserMsg msg;
    int fds[VHOST_USER_MAX_FDS];
    unsigned nfds;
} VubReq;

struct Vub {
    VubOptions opts;            /* opts.path owned */
    GMutex lock;
    GCond cond;                 /* broadcast on any state change */
    GMainContext *ctx;
    GThread *thread;
    int stopping;               /* atomic: the thread should return */

    int listen_fd;
    GSource *listen_src;
    GSource *dial_src;
    gint64 dial_deadline;
    int conn_fd;
    GSource *conn_src;
    unsigned connections;
    unsigned conn_msgs;         /* messages on the current connection */
    char *last_error;
    int backend_fd;             /* SET_BACKEND_REQ_FD, -1 if none */
    GMutex backend_lock;        /* serialises backend channel users */

    GPtrArray *log;             /* VubMsg * */
    VubFault faults[VUB_MAX_FAULTS];
    unsigned nfaults;
    unsigned drop_at;
    unsigned interleaved;       /* see vub_interleaved() */

    uint64_t features, protocol_features;           /* offered */
    uint64_t acked_features, acked_protocol_features;
    uint8_t status;

    VubRegion regions[VUB_MAX_REGIONS];
    unsigned nregions;
    VubVring vq[VUB_MAX_QUEUES];

    uint8_t *dirty_map;         /* SET_LOG_BASE mapping */
    size_t dirty_map_len;
    uint8_t *dirty_log;         /* one bit per 4 KiB guest page */
    uint64_t dirty_log_size;    /* bytes */

    uint8_t *disk;
    struct virtio_blk_config config;
    VubBlkStats stats;

    /* The inflight region (SET_INFLIGHT_FD, with opts.inflight) */
    uint8_t *inflight_map;
    size_t inflight_map_len;
    uint8_t *inflight_base;     /* queue 0's part */
    uint16_t inflight_queues, inflight_qsize;
    bool hold;                  /* vub_set_hold */

    /* virtio-net */
    uint8_t *net_frame;         /* the frame being moved (NET_MAX_FRAME) */
    VubNetStats net_stats[VUB_MAX_QUEUES / 2];
    uint8_t rarp_mac[6];
    bool rarp_seen;
    uint64_t net_mtu;
};

/* Rings the frontend may use: net has two per queue pair. */
static inline unsigned vub_nrings(const Vub *b)
{
    return b->opts.type == VUB_DEVICE_NET ? 2 * b->opts.num_queues
                                          : b->opts.num_queues;
}

/* vhost-user-test-backend.c */
/* Watch fd on the backend's context; vub_unwatch() destroys and clears
 * *src (NULL is fine).  Any thread. */
GSource *vub_watch(Vub *b, int fd, GIOCondition cond, GUnixFDSourceFunc fn,
                   gpointer data);
void vub_unwatch(GSource **src);
/* Wait (caller's thread, lock NOT held) until pred(b, arg) is true. */
typedef bool VubPred(Vub *b, const void *arg);
bool vub_wait_until(Vub *b, VubPred *pred, const void *arg, int timeout_ms);
void vub_close_fd(int *fd);
/* Record why the connection failed (kept for vub_last_error). */
void vub_set_error(Vub *b, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Close the connection and release everything it set up. */
void vub_drop_connection(Vub *b, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Send one message (header, payload, optional fds) on fd; false on a
 * write error.  Any thread; no lock needed. */
bool vub_send_msg(int fd, const VhostUserHeader *hdr, const void *payload,
                  size_t len, const int *fds, unsigned nfds);

/* vhost-user-test-backend-msg.c */
typedef enum VubResult {
    VUB_ACK_OK,                 /* done: ack 0 if NEED_REPLY */
    VUB_ACK_FAIL,               /* refused: ack 1 if NEED_REPLY */
    VUB_REPLIED,                /* the handler sent its own reply */
    VUB_PROTOCOL_ERROR,         /* drop the connection */
} VubResult;

/* Handle one message: validate, run its handler, reply or ack. */
void vub_dispatch(Vub *b, VubReq *req);
/* Send a reply to req (faults applied; VUB_FAULT_REPLY_DELAY drops
 * b->lock while it waits). */
void vub_reply(Vub *b, const VubReq *req, const void *payload,
               uint32_t size, int fd);
/* Forget negotiated state for a new connection. */
void vub_session_reset(Vub *b);
/* Map / unmap the dirty log (SET_LOG_BASE). */
bool vub_dirty_log_set(Vub *b, int fd, uint64_t size, uint64_t offset);
void vub_dirty_log_clear(Vub *b);
/* Bytes of the inflight region for num_queues split rings of queue_size
 * entries. */
uint64_t vub_inflight_size(uint16_t num_queues, uint16_t queue_size);
/* Unmap the inflight region (SET_INFLIGHT_FD); the rings lose their part. */
void vub_inflight_unmap(Vub *b);

/* vhost-user-test-backend-blk.c */
void vub_blk_init(Vub *b);
void vub_blk_cleanup(Vub *b);
/* Map a region from fd (not consumed); false with an error set. */
bool vub_region_add(Vub *b, const VhostUserMemoryRegion *r, int fd);
/* Unmap the region matching r's gpa, size and uva; false if none. */
bool vub_region_remove(Vub *b, const VhostUserMemoryRegion *r);
void vub_regions_clear(Vub *b);
/* Host pointer for [addr, addr+len) if it lies in one region, else NULL. */
void *vub_gpa_to_hva(Vub *b, uint64_t gpa, uint64_t len);
void *vub_uva_to_hva(Vub *b, uint64_t uva, uint64_t len);

void vub_vrings_init(Vub *b);
/* Stop ring: remove the kick watch, close kick/call/err fds, drop the
 * list of requests to resubmit (the region still has them). */
void vub_vring_stop(VubVring *vq);
/* Stop and forget everything about every ring. */
void vub_vrings_reset(Vub *b);
/* Take kick fd (-1: polling mode) and start the ring: with an inflight
 * region, find what an earlier backend left in flight (resubmitted before
 * anything new). */
void vub_vring_set_kick(VubVring *vq, int fd);
/* Read the used index from the ring after SET_VRING_ADDR. */
void vub_vring_sync_used(VubVring *vq);
bool vub_vring_enabled(const VubVring *vq);
/* Serve every new avail entry if the ring runs. */
void vub_vring_process(VubVring *vq);

/* The parts of a split ring, mapped. */
typedef struct VubRing {
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
} VubRing;

/* vhost-user-test-backend-inflight.c */
/* A ring starts (used index just read from the ring): find its part of
 * the region and what to resubmit. */
void vub_inflight_start(VubVring *vq);
/* Head was taken from the avail ring. */
void vub_inflight_begin(VubVring *vq, uint16_t head);
/* Publish head in the used ring, clearing it in the region (torn: stop
 * after publishing, as a backend that crashes there would). */
void vub_complete(VubVring *vq, const VubRing *ring, uint16_t head,
                  uint32_t len, bool torn);
/* Heads of vq marked inflight. */
unsigned vub_inflight_count(const VubVring *vq);

/* A descriptor chain: host pointer, length and gpa of each buffer. */
typedef struct VubIov {
    uint8_t *base;
    uint32_t len;
    uint64_t gpa;
} VubIov;

typedef struct VubChain {
    VubIov out[VUB_MAX_CHAIN];  /* device-readable, in order */
    VubIov in[VUB_MAX_CHAIN];   /* device-writable, in order */
    unsigned nout, nin;
} VubChain;

/* Map vq's rings; false if its address is unset or outside memory. */
bool vub_ring_map(VubVring *vq, VubRing *ring);
/* Gather the chain at head; false if it is malformed. */
bool vub_chain_collect(VubVring *vq, const VubRing *ring, uint16_t head,
                       VubChain *c);
size_t vub_iov_size(const VubIov *iov, unsigned n);
/* Copy len bytes between buf and the iov starting at byte off; returns
 * the bytes copied. */
size_t vub_iov_copy(VubIov *iov, unsigned n, size_t off, void *buf,
                    size_t len, bool to_iov);
/* Mark [gpa, gpa+len) dirty if logging is on. */
void vub_log_write(Vub *b, uint64_t gpa, uint64_t len);
/* Put (head, len) in the used ring (release) and count it. */
void vub_push_used(VubVring *vq, const VubRing *ring, uint16_t head,
                   uint32_t len);
/* Signal the call eventfd unless the driver asked for no interrupt. */
void vub_vring_notify(VubVring *vq, const VubRing *ring);
/* Serve the blk request at head; returns the used length. */
uint32_t vub_blk_request(VubVring *vq, const VubRing *ring, uint16_t head);

/* vhost-user-test-backend-net.c */
void vub_net_init(Vub *b);
void vub_net_cleanup(Vub *b);
/* A kick, start or enable of ring vq: move the frames its pair can. */
void vub_net_process(VubVring *vq);
/* SEND_RARP and NET_SET_MTU (msg.c's table). */
VubResult vub_net_send_rarp(Vub *b, VubReq *req);
VubResult vub_net_set_mtu(Vub *b, VubReq *req);

#endif
