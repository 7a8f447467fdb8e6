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
 * hold it around MMIO dispatch, so u->notifiers and u->devs change under
 * the lock that device cleanup holds.  Nothing here talks on the main
 * socket: a CONFIG_CHANGE_MSG's GET_CONFIG is queued on the connection's
 * worker (the one thread that talks to the backend) and its ack, if asked
 * for, is sent once the worker re-read the config.  The handler is a
 * main-loop callback and nothing iterates the main loop with the lock
 * held, so it never finds the lock taken by its own thread; while the
 * worker waits for a reply the lock is free, and the channel is served.
 * The channel is read as bytes arrive, never waited on: a message cut
 * short gets u->timeout_ms (a main-loop timer) to be completed, then the
 * channel and the connection are dropped.
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

/* The message being received.  The channel is read as bytes arrive,
 * never waited on: a backend that stops in the middle of a message holds
 * neither the main loop nor the machine lock.  It gets the reply timeout
 * to finish the message (a main-loop timer), then it is malformed. */
struct VuBackendIn {
    VuBackendMsg m;
    size_t len;                 /* bytes of m.msg received */
    guint timer;                /* the rest is due by then */
};

typedef enum VuRecv {
    VU_RECV_BAD = -1,           /* malformed: *why */
    VU_RECV_MORE,               /* the rest has not arrived yet */
    VU_RECV_DONE,               /* a whole message */
    VU_RECV_GONE,               /* the backend closed between messages */
} VuRecv;

/* Frame-check a header: NULL if it is fine, else why not (allocated). */
static char *vu_backend_bad_header(const VhostUserHeader *h)
{
    const uint32_t known = VHOST_USER_VERSION_MASK | VHOST_USER_NEED_REPLY;

    if ((h->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
        (h->flags & ~known)) {
        return g_strdup_printf("%s: flags 0x%x, expected 0x%x [| 0x%x]",
                               vhost_user_backend_request_name(h->request),
                               h->flags, VHOST_USER_VERSION,
                               VHOST_USER_NEED_REPLY);
    }
    if (h->size > VHOST_USER_PAYLOAD_MAX) {
        return g_strdup_printf("%s: size %u exceeds the maximum %zu",
                               vhost_user_backend_request_name(h->request),
                               h->size, VHOST_USER_PAYLOAD_MAX);
    }
    return NULL;
}

/* One recvmsg of up to len bytes, never waiting: bytes (their fds
 * added to fds), 0 at end of file, -errno (-EAGAIN: nothing there yet,
 * -EMSGSIZE: too many fds). */
static ssize_t vu_backend_recv_some(int fd, void *buf, size_t len,
                                    VuFds *fds)
{
    char control[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
    struct iovec iov = { buf, len };
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control, .msg_controllen = sizeof(control),
    };
    ssize_t n;

    do {
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    return n && !vu_collect_fds(&mh, fds) ? -EMSGSIZE : n;
}

/* What is there of the current message, without waiting: the header
 * first (checked as soon as it is whole), then exactly its payload. */
static VuRecv vu_backend_recv(VhostUserState *u, struct VuBackendIn *in,
                              char **why)
{
    const VhostUserHeader *h = &in->m.msg.hdr;

    for (;;) {
        size_t want = VHOST_USER_HDR_SIZE;
        ssize_t n;

        if (in->len >= VHOST_USER_HDR_SIZE) {
            *why = vu_backend_bad_header(h);
            if (*why) {
                return VU_RECV_BAD;
            }
            want += h->size;
            if (in->len == want) {
                return VU_RECV_DONE;
            }
        }
        n = vu_backend_recv_some(u->backend_fd, (char *)&in->m.msg + in->len,
                                 want - in->len, &in->m.fds);
        if (n == -EAGAIN) {
            return VU_RECV_MORE;
        }
        if ((n == 0 || n == -ECONNRESET) && !in->len) {
            return VU_RECV_GONE;
        }
        if (n <= 0) {
            *why = n == -EMSGSIZE ?
                   g_strdup_printf("more than %d fds with one message",
                                   VHOST_USER_MAX_FDS) :
                   n ? g_strdup_printf("read failed: %s", g_strerror(-n))
                     : g_strdup("message cut short: end of file");
            return VU_RECV_BAD;
        }
        in->len += n;
    }
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

static gboolean vu_backend_in_expired(gpointer opaque);

/* The part of a message that has come starts the clock for the rest
 * (none with an unlimited timeout). */
static void vu_backend_in_arm(VhostUserState *u, struct VuBackendIn *in)
{
    if (in->len && !in->timer && u->timeout_ms >= 0) {
        in->timer = g_timeout_add(u->timeout_ms, vu_backend_in_expired, u);
    }
}

/* Ready for the next message; the fds of this one go with *m (NULL:
 * closed). */
static void vu_backend_in_reset(struct VuBackendIn *in, VuBackendMsg *m)
{
    if (in->timer) {
        g_source_remove(in->timer);
    }
    if (m) {
        *m = in->m;
    } else {
        vu_fds_close(&in->m.fds);
    }
    memset(in, 0, sizeof(*in));
}

/* Handle the message in m; false when the channel is gone. */
static bool vu_backend_handle(VhostUserState *u, VuBackendMsg *m)
{
    g_autofree char *why = NULL;
    VuBackendResult res;
    unsigned nfds = m->fds.n;

    u->backend_requests++;
    res = vu_backend_dispatch(u, m);
    vu_fds_close(&m->fds);
    if (res == VU_BACKEND_MALFORMED) {
        why = g_strdup_printf("malformed %s (size %u, %u fd(s))",
                vhost_user_backend_request_name(m->msg.hdr.request),
                m->msg.hdr.size, nfds);
        vu_backend_fail(u, why);
        return false;
    }
    if ((m->msg.hdr.flags & VHOST_USER_NEED_REPLY) && u->backend_fd >= 0 &&
        res != VU_BACKEND_DEFERRED &&
        !vu_backend_reply(u, m->msg.hdr.request, res == VU_BACKEND_OK)) {
        vu_backend_fail(u, "cannot send a reply");
        return false;
    }
    return u->backend_fd >= 0;
}

/* Take what arrived; handle the message once it is whole.  False when
 * the channel is gone. */
static bool vu_backend_receive(VhostUserState *u)
{
    struct VuBackendIn *in = u->backend_in;
    g_autofree char *why = NULL;
    VuBackendMsg m;

    switch (vu_backend_recv(u, in, &why)) {
    case VU_RECV_MORE:
        vu_backend_in_arm(u, in);
        return true;
    case VU_RECV_GONE:
        /* The backend went away (or gave up the channel): the main
         * connection reports its own hang-up. */
        vu_backend_channel_close(u);
        return false;
    case VU_RECV_BAD:
        vu_backend_fail(u, why);
        return false;
    default:
        vu_backend_in_reset(in, &m);
        return vu_backend_handle(u, &m);
    }
}

/* The machine lock around each main-loop callback (none in tests
 * without a machine). */
static void vu_backend_lock(VhostUserState *u)
{
    if (u->lock) {
        g_mutex_lock(u->lock);
    }
}

static void vu_backend_unlock(VhostUserState *u)
{
    if (u->lock) {
        g_mutex_unlock(u->lock);
    }
}

/* Bytes arrived, with the machine lock held (see the file comment). */
static gboolean vu_backend_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    VhostUserState *u = opaque;
    guint self = g_source_get_id(g_main_current_source());
    bool alive = false;

    vu_backend_lock(u);
    /* Whoever held the lock may have closed this channel meanwhile. */
    if (u->backend_watch == self) {
        alive = vu_backend_receive(u);
    }
    vu_backend_unlock(u);
    /* Not alive: the source was removed by vu_backend_channel_close(). */
    return alive ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* The rest of a message did not come in time. */
static gboolean vu_backend_in_expired(gpointer opaque)
{
    VhostUserState *u = opaque;
    guint self = g_source_get_id(g_main_current_source());
    struct VuBackendIn *in;

    vu_backend_lock(u);
    in = u->backend_in;
    if (in && in->timer == self) {
        g_autofree char *why = g_strdup_printf(
            "message cut short: nothing more within %d ms", u->timeout_ms);

        in->timer = 0;          /* this source ends by returning */
        vu_backend_fail(u, why);
    }
    vu_backend_unlock(u);
    return G_SOURCE_REMOVE;
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
    u->backend_in = g_new0(struct VuBackendIn, 1);
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
    if (u->backend_in) {
        vu_backend_in_reset(u->backend_in, NULL);
        g_clear_pointer(&u->backend_in, g_free);
    }
    if (u->backend_fd >= 0) {
        close(u->backend_fd);
        u->backend_fd = -1;
    }
}
