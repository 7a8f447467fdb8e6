/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user frontend: kvmini's side of the vhost-user protocol
 * (QEMU docs/interop/vhost-user.rst), spoken over a socket chardev to an
 * external backend (qemu-storage-daemon, DPDK, virtiofsd, ...).
 *
 * One VhostUserState per chardev connection.  It is shared by every
 * struct vhost_dev of one device (a multiqueue net device has one per
 * queue pair): the device passes it as the opaque of vhost_dev_init()
 * together with &vhost_user_ops.  The first vhost_dev to reach
 * backend_init negotiates for the connection (GET_FEATURES, protocol
 * features, GET_QUEUE_NUM, GET_MAX_MEM_SLOTS, the backend channel,
 * SET_OWNER); the others reuse the result.
 *
 * The device owns the chardev events: it attaches with
 *   qemu_chr_fe_set_handlers(chr, NULL, its_event_fn, opaque)
 * (receive == NULL: a hang-up-only watch, replies are read here), calls
 * vhost_user_init() + vhost_dev_init() on CHR_EVENT_OPENED and
 * vhost_dev_cleanup() + vhost_user_cleanup() on CHR_EVENT_CLOSED.
 *
 * Requests and replies.  Every request is written with its fds
 * (SCM_RIGHTS) in one go; a reply is read synchronously with a timeout
 * (VhostUserState.timeout_ms, 10 s by default) — never a nested main loop.
 * With REPLY_ACK every request that has no reply of its own carries
 * NEED_REPLY and the ack is awaited; a non-zero ack fails the call with
 * "backend rejected SET_X (status N)".  Replies are validated strictly:
 * flags == VERSION|REPLY, the request echoed, the exact payload size of
 * that request (never more than VHOST_USER_PAYLOAD_MAX, checked before
 * the payload is read) and the exact number of fds.  Three exceptions
 * the spec or real backends require: an empty GET_CONFIG reply is the
 * backend's error answer (the call fails, the connection stays); the
 * SET_LOG_BASE reply may be empty (DPDK) or a u64 (libvhost-user); a
 * GET_INFLIGHT_FD reply for an empty region carries no fd.  A violation,
 * a timeout, EOF or a write error is a protocol error: the call fails with
 * a message naming the request, "<label>: disconnecting backend: <why>"
 * is logged, and the connection is dropped with qemu_chr_fe_disconnect()
 * — the device gets CHR_EVENT_CLOSED later, from the main loop.  While
 * not connected, every request fails at once.
 *
 * Requests never sent: IOTLB_MSG (kvmini has no vIOMMU), the crypto,
 * GPU and postcopy requests, SET_LOG_FD (nothing waits for the backend's
 * log signal) and SET_VRING_ENDIAN (kvmini's devices are VIRTIO 1.0,
 * always little-endian).
 *
 * Threading: every request is sent from the connection's worker thread
 * (include/hw/virtio/vhost-worker.h), machine lock held, so one request
 * and its reply never interleave with another's on the socket.  The
 * chardev has the lock (qemu_chr_fe_set_lock): waiting for a reply, or
 * for room to write, releases it.  The backend channel is watched on the
 * main loop; its handler takes the same lock (VhostUserState.lock) around
 * each message and never waits on the main socket (a CONFIG_CHANGE_MSG's
 * GET_CONFIG is queued on the worker), so it answers even while the
 * worker waits for a reply — except the ack of a config change, which
 * follows the re-read: a backend that holds a reply back until that ack
 * comes makes the worker's wait time out and the connection drop.
 * Without a lock (unit tests, no machine) everything runs on the caller's
 * thread.
 */
#ifndef HW_VIRTIO_VHOST_USER_H
#define HW_VIRTIO_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chardev/char.h"
#include "hw/virtio/vhost-user-proto.h"
#include "hw/virtio/vhost-conn.h"
#include "hw/virtio/vhost.h"

/* Default wait for one reply. */
#define VHOST_USER_REPLY_TIMEOUT_MS 10000
/* Memory slots without CONFIGURE_MEM_SLOTS (one SET_MEM_TABLE). */
#define VHOST_USER_DEFAULT_MEM_SLOTS VHOST_USER_MAX_RAM_SLOTS
/* Upper bound applied to what GET_MAX_MEM_SLOTS reports (as QEMU caps it
 * at what the platform supports; KVM offers 509 user slots on x86). */
#define VHOST_USER_MEM_SLOTS_CAP 509

/* Protocol features kvmini implements: all of the header's bits except
 * CRYPTO_SESSION, PAGEFAULT (postcopy) and INBAND_NOTIFICATIONS. */
#define VHOST_USER_PROTOCOL_FEATURES_SUPPORTED                 \
    ((1ULL << VHOST_USER_PROTOCOL_F_MQ) |                      \
     (1ULL << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |               \
     (1ULL << VHOST_USER_PROTOCOL_F_RARP) |                    \
     (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |               \
     (1ULL << VHOST_USER_PROTOCOL_F_NET_MTU) |                 \
     (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |             \
     (1ULL << VHOST_USER_PROTOCOL_F_CROSS_ENDIAN) |            \
     (1ULL << VHOST_USER_PROTOCOL_F_CONFIG) |                  \
     (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |         \
     (1ULL << VHOST_USER_PROTOCOL_F_HOST_NOTIFIER) |           \
     (1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |          \
     (1ULL << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |            \
     (1ULL << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |     \
     (1ULL << VHOST_USER_PROTOCOL_F_STATUS))

/*
 * A host-notifier page the backend offered for one queue
 * (VRING_HOST_NOTIFIER_MSG).  virtio-mmio has a single QueueNotify
 * register for all queues, so the page cannot be mapped into the guest
 * per queue: it is kept (and unmapped when replaced, withdrawn or at
 * cleanup) but guest kicks keep going through the ioeventfd sent with
 * SET_VRING_KICK, which every backend must honour anyway.
 */
typedef struct VhostUserHostNotifier {
    void *addr;                 /* MAP_SHARED page, NULL if none */
    size_t size;
} VhostUserHostNotifier;

typedef struct VhostUserState {
    /* --- connection (set by vhost_user_init) --- */
    Chardev *chr;               /* not owned: the device's chardev */
    char *dev_label;            /* "vhost-user-blk 'disk0'", for logs */
    /* Wait for one reply, in ms.  Tests may lower it after init. */
    int timeout_ms;
    bool inited;
    /* The machine lock (MachineState.lock), which the backend channel's
     * handler takes around each message.  Not owned; set by the device
     * that owns the connection, kept by vhost_user_init() and
     * vhost_user_cleanup().  NULL: no locking (tests without a machine,
     * where everything runs on one thread). */
    GMutex *lock;

    /* --- negotiated by the first backend_init (read-only outside) --- */
    bool negotiated;
    bool owner_set;             /* SET_OWNER sent on this connection */
    uint64_t features;          /* GET_FEATURES as the backend offered */
    uint64_t protocol_features; /* in force (after SET_PROTOCOL_FEATURES) */
    uint64_t max_queues;        /* GET_QUEUE_NUM; 0 without MQ */
    unsigned memory_slots;      /* 8, or GET_MAX_MEM_SLOTS (capped) */

    /* vhost_devs on this connection (struct vhost_dev *), in
     * backend_init order; the first gets CONFIG_CHANGE_MSG. */
    GPtrArray *devs;

    /* The memory table as the backend has it (CONFIGURE_MEM_SLOTS): the
     * fds are kvmini's own RAM fds, recorded for comparison, not owned. */
    VhostMemoryRegion *shadow;
    unsigned n_shadow;

    /* --- backend -> frontend channel (BACKEND_REQ) --- */
    int backend_fd;             /* our end of the socketpair, -1 if none */
    guint backend_watch;
    struct VuBackendIn *backend_in; /* the message being received */
    VhostUserHostNotifier notifiers[VIRTIO_QUEUE_MAX];

    /* --- counters, for QMP --- */
    uint64_t requests_sent;
    uint64_t protocol_errors;   /* each one dropped the connection */
    uint64_t backend_requests;  /* messages received on the channel */
} VhostUserState;

/* The VhostOps of vhost-user (pass &vhost_user_ops to vhost_dev_init). */
extern const VhostOps vhost_user_ops;

/*
 * Prepare u (zeroed, or cleaned up) for the connection on chr.
 * dev_label names the device in log lines ("vhost-user-blk 'disk0'"; the
 * chardev id if NULL).  Sends nothing: the negotiation happens in the
 * first backend_init.  u->lock is kept.  Returns false with errp set if
 * chr is NULL.
 */
bool vhost_user_init(VhostUserState *u, Chardev *chr, const char *dev_label,
                     Error **errp);
/*
 * Release what the connection holds: the backend channel, host-notifier
 * mappings, the memory shadow.  Leaves the chardev alone (the device owns
 * it) and keeps u->lock.  Safe twice and on a zeroed or half-initialised
 * u; call it after vhost_dev_cleanup() of every vhost_dev using u.
 */
void vhost_user_cleanup(VhostUserState *u);

/* Is the chardev connected (requests possible)? */
bool vhost_user_is_connected(const VhostUserState *u);

/*
 * The backend connection (include/hw/virtio/vhost-conn.h) over socket
 * chardev chr: claims chr for owner ("chardev 'c0' is already in use by
 * OWNER" if another frontend has it) until the connection is freed.
 * lock is the machine lock.  NULL with errp set on failure.
 */
VhostConn *vhost_user_conn_new(Chardev *chr, const char *owner, GMutex *lock,
                               Error **errp);
/* The chardev= property of a device: "chardev is required (...)" or
 * "chardev 'ID' not found". */
bool vhost_user_chardev_opt(MachineState *ms, GHashTable *opts,
                            Chardev **chr, Error **errp);

/* --- device-specific requests (dev must have been through init) --- */

/* Was protocol feature bit negotiated on dev's connection? */
bool vhost_user_has_protocol_feature(struct vhost_dev *dev, unsigned bit);

/* NET_SET_MTU (checked by the backend with REPLY_ACK).  Fails if the
 * NET_MTU protocol feature was not negotiated. */
bool vhost_user_net_set_mtu(struct vhost_dev *dev, uint16_t mtu,
                            Error **errp);
/* SEND_RARP: ask the backend to announce mac after migration.  Sends
 * nothing and fails if the RARP protocol feature was not negotiated. */
bool vhost_user_send_rarp(struct vhost_dev *dev, const uint8_t mac[6],
                          Error **errp);

#endif
