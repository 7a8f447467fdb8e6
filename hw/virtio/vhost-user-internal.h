/* SPDX-License-Identifier: MIT */
/*
 * Private interface between the parts of the vhost-user frontend:
 * vhost-user-msg.c (messages: request/reply, validation, protocol
 * errors), vhost-user.c (connection, negotiation, VhostOps),
 * vhost-user-mem.c (memory table) and vhost-user-backend.c (backend ->
 * frontend channel).
 */
#ifndef HW_VIRTIO_VHOST_USER_INTERNAL_H
#define HW_VIRTIO_VHOST_USER_INTERNAL_H

#include "hw/virtio/vhost-user.h"

/* What a reply must look like. */
typedef struct VuExpect {
    uint32_t size;              /* exact payload size */
    bool or_empty;              /* a 0-byte payload is accepted too */
    unsigned max_fds;           /* fds accepted (the caller checks exact) */
} VuExpect;

/* fds that came with a reply; owned by whoever holds the struct. */
typedef struct VuFds {
    int fd[VHOST_USER_MAX_FDS];
    unsigned n;
} VuFds;

/* The connection a vhost_dev uses. */
static inline VhostUserState *vu_state(struct vhost_dev *dev)
{
    return dev->opaque;
}

static inline bool vu_has(const VhostUserState *u, int protocol_bit)
{
    return u->protocol_features & (1ULL << protocol_bit);
}

/*
 * Send msg (hdr.request, hdr.size and the payload filled by the caller;
 * flags are set here) with nfds fds.  For a request without a natural
 * reply: when REPLY_ACK is in force, NEED_REPLY is set and the ack
 * awaited.  queue (or -1) only decorates error messages.
 */
bool vu_set(VhostUserState *u, VhostUserMsg *msg, int queue,
            const int *fds, size_t nfds, Error **errp);
/*
 * Send msg (never with NEED_REPLY: it has a reply of its own) and read
 * that reply into *reply, validated against exp.  fds that came with the
 * reply go to *rfds (may be NULL when exp->max_fds is 0).
 */
bool vu_get(VhostUserState *u, VhostUserMsg *msg, int queue,
            const VuExpect *exp, VhostUserMsg *reply, VuFds *rfds,
            Error **errp);
/* vu_get() sending nfds fds with the request. */
bool vu_get_fds(VhostUserState *u, VhostUserMsg *msg, int queue,
                const int *fds, size_t nfds, const VuExpect *exp,
                VhostUserMsg *reply, VuFds *rfds, Error **errp);
/* A request with a u64 reply (GET_FEATURES, GET_QUEUE_NUM, ...). */
bool vu_get_u64(VhostUserState *u, uint32_t request, uint64_t *val,
                Error **errp);
/* A "set" request with a u64 payload, or with none. */
bool vu_set_u64(VhostUserState *u, uint32_t request, uint64_t val,
                Error **errp);
bool vu_set_empty(VhostUserState *u, uint32_t request, Error **errp);
/* Fail with "<REQ>: backend does not support <what>" unless protocol
 * feature bit was negotiated. */
bool vu_require(VhostUserState *u, int bit, uint32_t request,
                const char *what, Error **errp);
/* Protocol error: log "<label>: disconnecting backend: <msg>", drop the
 * connection, set errp to msg.  Always returns false. */
bool vu_protocol_error(VhostUserState *u, Error **errp, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* Close every fd of *fds. */
void vu_fds_close(VuFds *fds);

/* --- vhost-user-mem.c --- */
unsigned vu_memslots_limit(struct vhost_dev *dev);
bool vu_needs_fd_memory(struct vhost_dev *dev);
bool vu_set_mem_table(struct vhost_dev *dev, const VhostMemoryRegion *regions,
                      unsigned n, Error **errp);
/* GET_MAX_MEM_SLOTS during negotiation (or the default of 8). */
bool vu_mem_negotiate(VhostUserState *u, Error **errp);
void vu_mem_cleanup(VhostUserState *u);

/* --- vhost-user-backend.c --- */
/* socketpair + SET_BACKEND_REQ_FD + main-loop watch. */
bool vu_backend_channel_open(VhostUserState *u, Error **errp);
void vu_backend_channel_close(VhostUserState *u);
/* Unmap the host-notifier pages of queues [first, first + n). */
void vu_host_notifiers_unmap(VhostUserState *u, unsigned first, unsigned n);

#endif
