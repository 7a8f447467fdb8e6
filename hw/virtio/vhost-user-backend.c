/* SPDX-License-Identifier: MIT */
/*
 * The backend -> frontend channel of vhost-user (BACKEND_REQ): one end of
 * a socketpair handed to the backend with SET_BACKEND_REQ_FD, the other
 * watched on the main loop.  The backend sends requests on it:
 *
 *   CONFIG_CHANGE_MSG        -> vhost_dev_config_changed() of the first
 *                               vhost_dev of the connection (the device
 *                               re-reads its config and tells the guest);
 *   VRING_HOST_NOTIFIER_MSG  -> map (or, with NOFD, unmap) the page the
 *                               backend offers as the queue's doorbell.
 *                               virtio-mmio has one QueueNotify register
 *                               for all queues, so the page is kept but
 *                               guest kicks keep using the ioeventfd;
 *   IOTLB_MSG, anything else -> refused (kvmini has no vIOMMU).
 *
 * Framing errors (bad flags, a size beyond VHOST_USER_PAYLOAD_MAX or
 * wrong for the request, fds where none belong, a message cut short)
 * close the channel and drop the backend connection.  A well-formed
 * request kvmini cannot honour is refused: answered with 1 when the
 * backend asked for a reply (NEED_REPLY), otherwise only logged.  Every
 * fd received is closed (a mapping keeps its file by itself).
 *
 * Locking.  The channel is watched on the main loop, and each message is
 * read, handled and answered with the machine lock held (u->lock, handed
 * over by the device; NULL in tests without a machine), as vCPU threads
 * hold it around MMIO dispatch.  So the GET_CONFIG a CONFIG_CHANGE_MSG
 * sends on the main socket never interleaves with a vCPU's request there
 * (a guest's config write sends SET_CONFIG and reads its ack: without the
 * lock either thread could read the other's reply), and u->notifiers
 * and u->devs change under the lock that device cleanup holds.  The handler
 * is a main-loop callback and nothing iterates the main loop with the
 * lock held (no nested loop), so it never finds the lock taken by its own
 * thread.  A vCPU waiting for a reply holds the lock: a backend that
 * holds back that reply until its own NEED_REPLY request here is answered
 * makes the vCPU's wait time out (u->timeout_ms) and the connection drop;
 * only then is the request handled (a GET_CONFIG then fails: not
 * connected).  A message cut short holds the lock up to u->timeout_ms,
 * as a slow reply to a vCPU's request does.
 */
#include "vhost-user-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib-unix.h>

/* One message as read from the channel. */
typedef struct VuBackendMsg {
    VhostUserMsg msg;
    VuFds fds;
} VuBackendMsg;

typedef enum VuBackendResult {
    VU_BACKEND_OK,          /* done: reply 0 */
    VU_BACKEND_REFUSED,     /* well-formed but refused: reply 1 */
    VU_BACKEND_MALFORMED,   /* drop the channel and the connection */
    VU_BACKEND_DEFERRED,    /* the reply, if asked for, is sent later */
} VuBackendResult;

/* --- reading ------------------------------------------------------------- */

/* Queue the fds of one recvmsg; false if there were more than fit. */
static bool vu_collect_fds(struct msghdr *mh, VuFds *fds)
{
    bool fit = !(mh->msg_flags & MSG_CTRUNC);

    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

        for (size_t i = 0; i < n; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (fds->n < VHOST_USER_MAX_FDS) {
                fds->fd[fds->n++] = fd;
            } else {
                close(fd);
                fit = false;
            }
        }
    }
    return fit;
}

/* Read exactly len bytes by deadline_us, unless cancel fires: 1, 0 on
 * EOF before the first byte, -errno (-EMSGSIZE: too many fds, -EBADMSG:
 * EOF after some bytes, -ETIMEDOUT, -ECANCELED). */
static int vu_channel_read(int fd, void *buf, size_t len, VuFds *fds,
                           gint64 deadline_us, const WaitCancel *cancel)
{
    char control[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
    size_t done = 0;

    while (done < len) {
        struct iovec iov = { (char *)buf + done, len - done };
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1,
            .msg_control = control, .msg_controllen = sizeof(control),
        };
        int r = qemu_wait_fd(fd, POLLIN, deadline_us, cancel);
        ssize_t n;

        if (r <= 0) {
            return r == 0 ? -ETIMEDOUT : r;
        }
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            /* EOF inside a message is a message cut short. */
            return n < 0 ? -errno : done ? -EBADMSG : 0;
        }
        if (!vu_collect_fds(&mh, fds)) {
            return -EMSGSIZE;
        }
        done += n;
    }
    return 1;
}

/* Read and frame-check one message: 1 ok, 0 EOF before a message,
 * -1 malformed (*why says how). */
static int vu_backend_read(VhostUserState *u, VuBackendMsg *m, char **why)
{
    VhostUserHeader *h = &m->msg.hdr;
    const uint32_t known = VHOST_USER_VERSION_MASK | VHOST_USER_NEED_REPLY;
    gint64 deadline = qemu_deadline_ms(u->timeout_ms);
    const WaitCancel *cancel = u->chr ? u->chr->cancel : NULL;
    int r = vu_channel_read(u->backend_fd, h, VHOST_USER_HDR_SIZE, &m->fds,
                            deadline, cancel);

    if (r == 0 || r == -ECONNRESET) {
        return 0;               /* the backend went away */
    }
    if (r < 0) {
        *why = g_strdup_printf("read failed: %s", g_strerror(-r));
        return -1;
    }
    if ((h->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
        (h->flags & ~known)) {
        *why = g_strdup_printf("%s: flags 0x%x, expected 0x%x [| 0x%x]",
                               vhost_user_backend_request_name(h->request),
                               h->flags, VHOST_USER_VERSION,
                               VHOST_USER_NEED_REPLY);
        return -1;
    }
    if (h->size > VHOST_USER_PAYLOAD_MAX) {
        *why = g_strdup_printf("%s: size %u exceeds the maximum %zu",
                               vhost_user_backend_request_name(h->request),
                               h->size, VHOST_USER_PAYLOAD_MAX);
        return -1;
    }
    r = h->size ? vu_channel_read(u->backend_fd, &m->msg.payload, h->size,
                                  &m->fds, deadline, cancel) : 1;
    if (r <= 0) {
        *why = g_strdup_printf("%s: payload cut short: %s",
                               vhost_user_backend_request_name(h->request),
                               r ? g_strerror(-r) : "end of file");
        return -1;
    }
    return 1;
}

/* --- host notifiers ------------------------------------------------------ */

void vu_host_notifiers_unmap(VhostUserState *u, unsigned first, unsigned n)
{
    for (unsigned i = first; i < first + n && i < VIRTIO_QUEUE_MAX; i++) {
        VhostUserHostNotifier *hn = &u->notifiers[i];

        if (hn->addr) {
            munmap(hn->addr, hn->size);
            hn->addr = NULL;
            hn->size = 0;
        }
    }
}

/* Is queue idx one of the queues of a vhost_dev on this connection? */
static bool vu_queue_known(VhostUserState *u, unsigned idx)
{
    for (unsigned i = 0; u->devs && i < u->devs->len; i++) {
        struct vhost_dev *dev = g_ptr_array_index(u->devs, i);

        if (idx >= dev->vq_index && idx < dev->vq_index + dev->nvqs) {
            return true;
        }
    }
    return false;
}

static VuBackendResult vu_refuse(VhostUserState *u, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static VuBackendResult vu_refuse(VhostUserState *u, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    warn_report("%s: backend request refused: %s", u->dev_label, msg);
    return VU_BACKEND_REFUSED;
}

/* Check what the backend offers for queue idx and map it.  The caller
 * closes the fd either way: a mapping keeps its file by itself. */
static VuBackendResult vu_map_notifier(VhostUserState *u, unsigned idx,
                                       const VhostUserVringArea *area,
                                       VuFds *fds)
{
    long page = sysconf(_SC_PAGESIZE);
    void *addr;

    if (fds->n != 1) {
        return vu_refuse(u, "VRING_HOST_NOTIFIER_MSG (queue %u): no fd", idx);
    }
    if (area->size != (uint64_t)page || area->offset % page) {
        return vu_refuse(u, "VRING_HOST_NOTIFIER_MSG (queue %u): size 0x%"
                         PRIx64 " offset 0x%" PRIx64 ", expected one "
                         "page-aligned page", idx, area->size, area->offset);
    }
    addr = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fds->fd[0],
                area->offset);
    if (addr == MAP_FAILED) {
        return vu_refuse(u, "VRING_HOST_NOTIFIER_MSG (queue %u): mmap: %s",
                         idx, g_strerror(errno));
    }
    vu_host_notifiers_unmap(u, idx, 1);
    u->notifiers[idx].addr = addr;
    u->notifiers[idx].size = page;
    return VU_BACKEND_OK;
}

static VuBackendResult vu_host_notifier(VhostUserState *u, VuBackendMsg *m)
{
    const VhostUserVringArea *area = &m->msg.payload.area;
    unsigned idx = area->u64 & VHOST_USER_VRING_IDX_MASK;
    bool nofd = area->u64 & VHOST_USER_VRING_NOFD_MASK;

    if (m->msg.hdr.size != sizeof(*area) || m->fds.n > 1) {
        return VU_BACKEND_MALFORMED;
    }
    if (!vu_has(u, VHOST_USER_PROTOCOL_F_HOST_NOTIFIER)) {
        return vu_refuse(u, "VRING_HOST_NOTIFIER_MSG: HOST_NOTIFIER was not "
                         "negotiated");
    }
    if (idx >= VIRTIO_QUEUE_MAX || !vu_queue_known(u, idx)) {
        return vu_refuse(u, "VRING_HOST_NOTIFIER_MSG: no queue %u", idx);
    }
    if (nofd) {
        if (m->fds.n) {
            return vu_refuse(u, "VRING_HOST_NOTIFIER_MSG (queue %u): fd "
                             "sent with NOFD", idx);
        }
        vu_host_notifiers_unmap(u, idx, 1);
        return VU_BACKEND_OK;
    }
    return vu_map_notifier(u, idx, area, &m->fds);
}

/* --- dispatch ------------------------------------------------------------ */

static bool vu_backend_reply(VhostUserState *u, uint32_t request, bool ok);
static void vu_backend_fail(VhostUserState *u, const char *why);

/* A config change answered once the device re-read its config. */
typedef struct VuConfigAck {
    VhostUserState *u;
    guint watch;                /* the channel it came on */
} VuConfigAck;

static void vu_config_ack(struct vhost_dev *dev, void *opaque)
{
    VuConfigAck *a = opaque;
    VhostUserState *u = a->u;

    /* Not if the channel (or the connection) went meanwhile. */
    if (u->backend_watch == a->watch && u->backend_fd >= 0 &&
        !vu_backend_reply(u, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, true)) {
        vu_backend_fail(u, "cannot send a reply");
    }
    g_free(a);
}

static VuBackendResult vu_config_change(VhostUserState *u, VuBackendMsg *m)
{
    struct vhost_dev *dev;
    VuConfigAck *a;

    if (m->fds.n) {
        return VU_BACKEND_MALFORMED;
    }
    if (!vu_has(u, VHOST_USER_PROTOCOL_F_CONFIG) || !u->devs->len) {
        return vu_refuse(u, "CONFIG_CHANGE_MSG: CONFIG was not negotiated");
    }
    /* The payload (normally none) carries nothing: ignored.  The device
     * fetches the config where it talks to the backend (not here, on the
     * main loop); the ack, if asked for, follows that. */
    dev = g_ptr_array_index(u->devs, 0);
    if (!(m->msg.hdr.flags & VHOST_USER_NEED_REPLY)) {
        vhost_dev_config_changed(dev, NULL, NULL);
        return VU_BACKEND_OK;
    }
    a = g_new(VuConfigAck, 1);
    *a = (VuConfigAck) { u, u->backend_watch };
    vhost_dev_config_changed(dev, vu_config_ack, a);
    return VU_BACKEND_DEFERRED;
}

static VuBackendResult vu_backend_dispatch(VhostUserState *u, VuBackendMsg *m)
{
    uint32_t request = m->msg.hdr.request;

    switch (request) {
    case VHOST_USER_BACKEND_CONFIG_CHANGE_MSG:
        return vu_config_change(u, m);
    case VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG:
        return vu_host_notifier(u, m);
    case VHOST_USER_BACKEND_IOTLB_MSG:
        return vu_refuse(u, "IOTLB_MSG: kvmini has no vIOMMU");
    default:
        return vu_refuse(u, "unknown request %u", request);
    }
}

static bool vu_backend_reply(VhostUserState *u, uint32_t request, bool ok)
{
    VhostUserMsg reply = {
        .hdr = {
            .request = request,
            .flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
            .size = sizeof(uint64_t),
        },
        .payload.u64 = ok ? 0 : 1,
    };
    size_t len = VHOST_USER_HDR_SIZE + sizeof(uint64_t);
    ssize_t n;

    do {
        n = send(u->backend_fd, &reply, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)len;
}

/* --- the channel --------------------------------------------------------- */

static void vu_backend_fail(VhostUserState *u, const char *why)
{
    vu_backend_channel_close(u);
    vu_protocol_error(u, NULL, "backend channel: %s", why);
}

/* Handle one message; false when the channel is gone. */
static bool vu_backend_handle(VhostUserState *u)
{
    VuBackendMsg m = { .fds.n = 0 };
    g_autofree char *why = NULL;
    VuBackendResult res;
    unsigned nfds;
    int r = vu_backend_read(u, &m, &why);

    if (r <= 0) {
        vu_fds_close(&m.fds);
        if (r == 0) {
            /* The backend went away (or gave up the channel): the main
             * connection reports its own hang-up. */
            vu_backend_channel_close(u);
        } else {
            vu_backend_fail(u, why);
        }
        return false;
    }
    u->backend_requests++;
    nfds = m.fds.n;
    res = vu_backend_dispatch(u, &m);
    vu_fds_close(&m.fds);
    if (res == VU_BACKEND_MALFORMED) {
        why = g_strdup_printf("malformed %s (size %u, %u fd(s))",
                vhost_user_backend_request_name(m.msg.hdr.request),
                m.msg.hdr.size, nfds);
        vu_backend_fail(u, why);
        return false;
    }
    if ((m.msg.hdr.flags & VHOST_USER_NEED_REPLY) && u->backend_fd >= 0 &&
        res != VU_BACKEND_DEFERRED &&
        !vu_backend_reply(u, m.msg.hdr.request, res == VU_BACKEND_OK)) {
        vu_backend_fail(u, "cannot send a reply");
        return false;
    }
    return u->backend_fd >= 0;
}

/* One message, with the machine lock held (see the file comment). */
static gboolean vu_backend_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    VhostUserState *u = opaque;
    GMutex *lock = u->lock;
    guint self = g_source_get_id(g_main_current_source());
    bool alive = false;

    if (lock) {
        g_mutex_lock(lock);
    }
    /* Whoever held the lock may have closed this channel meanwhile. */
    if (u->backend_watch == self) {
        alive = vu_backend_handle(u);
    }
    if (lock) {
        g_mutex_unlock(lock);
    }
    /* Not alive: the source was removed by vu_backend_channel_close(). */
    return alive ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

bool vu_backend_channel_open(VhostUserState *u, Error **errp)
{
    VhostUserMsg msg = { .hdr.request = VHOST_USER_SET_BACKEND_REQ_FD };
    int sv[2];
    bool ok;

    vu_backend_channel_close(u);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        error_setg_errno(errp, errno, "SET_BACKEND_REQ_FD: socketpair");
        return false;
    }
    ok = vu_set(u, &msg, -1, &sv[1], 1, errp);
    close(sv[1]);           /* the backend has its own copy now */
    if (!ok) {
        close(sv[0]);
        return false;
    }
    u->backend_fd = sv[0];
    u->backend_watch = g_unix_fd_add(sv[0], G_IO_IN | G_IO_HUP | G_IO_ERR,
                                     vu_backend_ready, u);
    return true;
}

void vu_backend_channel_close(VhostUserState *u)
{
    if (u->backend_watch) {
        g_source_remove(u->backend_watch);
        u->backend_watch = 0;
    }
    if (u->backend_fd >= 0) {
        close(u->backend_fd);
        u->backend_fd = -1;
    }
}
