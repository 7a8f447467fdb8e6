/* SPDX-License-Identifier: MIT */
/*
 * Unix socket backend: client (default) or server (server=on, the socket
 * is created with mode 0600), file-descriptor passing with SCM_RIGHTS in
 * both directions, hang-up detection, and for clients reconnect=SECONDS
 * or reconnect-ms=MILLISECONDS (QEMU 9.2's spelling; re-dial until the
 * peer is back).  A server serves one peer at a time:
 * further connections are refused while one is active.
 */
#include "char-internal.h"
#include "qemu/option.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib-unix.h>

#define CHR_MAX_FDS 32      /* enough for 8 mem regions plus protocol fds */

typedef struct SocketChardev {
    char *path;
    bool server;
    bool wait;
    uint64_t reconnect_ms;  /* re-dial interval, 0 = off */
    int listen_fd;
    guint listen_watch;
    guint reconnect_timer;
    guint closed_idle;      /* CLOSED event pending on the main loop */
    gint64 redial_at;       /* a dropped client dials again from then */
    bool opened_sent;
} SocketChardev;

static SocketChardev *sock_of(Chardev *chr)
{
    return chr->backend;
}

/* Main-loop callbacks change the connection and call the frontend under
 * the frontend's lock, as the frontend's own threads do. */
static void socket_fe_lock(Chardev *chr)
{
    if (chr->fe_lock) {
        g_mutex_lock(chr->fe_lock);
    }
}

static void socket_fe_unlock(Chardev *chr)
{
    if (chr->fe_lock) {
        g_mutex_unlock(chr->fe_lock);
    }
}

static bool fill_addr(const char *path, struct sockaddr_un *sa, Error **errp)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", path);
        return false;
    }
    strcpy(sa->sun_path, path);
    return true;
}

static void socket_set_connected(Chardev *chr, int fd)
{
    SocketChardev *s = sock_of(chr);

    if (s->closed_idle) {
        /* A peer arrived before the CLOSED owed for the connection that
         * qemu_chr_fe_disconnect() dropped (the listen watch outranks the
         * idle): deliver it now, so that OPENED never follows OPENED. */
        g_source_remove(s->closed_idle);
        s->closed_idle = 0;
        chardev_notify_closed(chr);
    }
    chr->fd_in = chr->fd_out = fd;
    chr->connected = true;
    chr->conn_gen++;
    s->opened_sent = false;
    if (chr->fe_receive || chr->fe_event) {
        chr->cls->start_input(chr);
    }
}

static bool socket_connect(Chardev *chr, Error **errp)
{
    SocketChardev *s = sock_of(chr);
    struct sockaddr_un sa;

    if (!fill_addr(s->path, &sa, errp)) {
        return false;
    }
    /* Non-blocking: a server whose listen queue is full (hung, not
     * accepting) must not stall the main loop; a unix connect completes
     * at once or fails with EAGAIN.  The connection is blocking after. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "socket");
        return false;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (errno == EAGAIN) {
            error_setg(errp, "Failed to connect to '%s': the server does not "
                       "accept connections (its queue is full)", s->path);
        } else {
            error_setg_errno(errp, errno, "Failed to connect to '%s'",
                             s->path);
        }
        close(fd);
        return false;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        error_setg_errno(errp, errno, "'%s': fcntl", s->path);
        close(fd);
        return false;
    }
    socket_set_connected(chr, fd);
    return true;
}

static gboolean socket_reconnect_cb(gpointer data)
{
    Chardev *chr = data;
    gboolean again = G_SOURCE_REMOVE;

    socket_fe_lock(chr);
    if (chr->connected) {
        /* Somebody else dialled meanwhile (a device waiting for it). */
        sock_of(chr)->reconnect_timer = 0;
    } else if (!socket_connect(chr, NULL)) {
        again = G_SOURCE_CONTINUE;
    } else {
        sock_of(chr)->reconnect_timer = 0;
    }
    socket_fe_unlock(chr);
    return again;
}

static void socket_schedule_reconnect(Chardev *chr)
{
    SocketChardev *s = sock_of(chr);

    if (s->reconnect_ms && !s->reconnect_timer) {
        s->reconnect_timer = g_timeout_add(s->reconnect_ms,
                                           socket_reconnect_cb, chr);
    }
}

static void socket_hangup(Chardev *chr);

/* The current peer may have gone while its hang-up still waits in the
 * main loop (a client that disconnects and at once reconnects): settle
 * that first, so the newcomer is not refused for a peer that is gone. */
static void socket_reap_dead_peer(Chardev *chr)
{
    struct pollfd pfd = { .fd = chr->fd_in, .events = POLLRDHUP };

    if (chr->connected && chr->fd_in >= 0 && poll(&pfd, 1, 0) > 0 &&
        (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR))) {
        socket_hangup(chr);
    }
}

static bool socket_accept(Chardev *chr)
{
    SocketChardev *s = sock_of(chr);
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        return false;
    }
    socket_reap_dead_peer(chr);
    if (chr->connected) {
        /* One peer at a time: refuse without disturbing the current one. */
        warn_report("chardev '%s': refusing a second connection", chr->id);
        close(fd);
        return false;
    }
    socket_set_connected(chr, fd);
    return true;
}

static gboolean socket_listen_cb(gint fd, GIOCondition cond, gpointer data)
{
    socket_fe_lock(data);
    socket_accept(data);
    socket_fe_unlock(data);
    return G_SOURCE_CONTINUE;
}

static bool socket_wait_connected(Chardev *chr, Error **errp);

static bool socket_listen(Chardev *chr, Error **errp)
{
    SocketChardev *s = sock_of(chr);
    struct sockaddr_un sa;

    if (!fill_addr(s->path, &sa, errp)) {
        return false;
    }
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0) {
        error_setg_errno(errp, errno, "socket");
        return false;
    }
    unlink(s->path);
    if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket to '%s'", s->path);
        return false;
    }
    /* Before listen(): nobody can connect while the mode is still open. */
    if (chmod(s->path, 0600) < 0 || listen(s->listen_fd, 1) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on '%s'", s->path);
        return false;
    }
    /* wait=on: the first peer before anything else (cancellable). */
    if (s->wait && !socket_wait_connected(chr, errp)) {
        return false;
    }
    s->listen_watch = g_unix_fd_add(s->listen_fd, G_IO_IN, socket_listen_cb, chr);
    return true;
}

/* reconnect=SECONDS or (QEMU 9.2) reconnect-ms=MILLISECONDS, not both. */
static bool socket_parse_reconnect(SocketChardev *s, GHashTable *opts,
                                   Error **errp)
{
    uint64_t secs = 0;

    if (qemu_opt_get(opts, "reconnect") &&
        qemu_opt_get(opts, "reconnect-ms")) {
        error_setg(errp, "'reconnect' and 'reconnect-ms' are mutually "
                   "exclusive");
        return false;
    }
    if (!qemu_opt_get_number(opts, "reconnect", 0, &secs, errp) ||
        !qemu_opt_get_number(opts, "reconnect-ms", 0, &s->reconnect_ms,
                             errp)) {
        return false;
    }
    if (secs > G_MAXUINT / 1000 || s->reconnect_ms > G_MAXUINT) {
        error_setg(errp, "reconnect interval too large");
        return false;
    }
    if (secs) {
        s->reconnect_ms = secs * 1000;
    }
    return true;
}

static bool socket_parse(Chardev *chr, GHashTable *opts, Error **errp)
{
    static const char *const keys[] = { "backend", "id", "path", "server",
                                        "wait", "reconnect", "reconnect-ms",
                                        NULL };
    SocketChardev *s = sock_of(chr);
    const char *path = qemu_opt_get(opts, "path");

    if (!qemu_opts_check_keys(opts, keys, errp) ||
        !qemu_opt_get_bool(opts, "server", false, &s->server, errp) ||
        !qemu_opt_get_bool(opts, "wait", true, &s->wait, errp) ||
        !socket_parse_reconnect(s, opts, errp)) {
        return false;
    }
    if (!path) {
        error_setg(errp, "chardev: socket: no path given (only unix sockets "
                   "are supported)");
        return false;
    }
    if (s->server && s->reconnect_ms) {
        error_setg(errp, "'%s' option is incompatible with 'server=on'",
                   qemu_opt_get(opts, "reconnect") ? "reconnect" :
                   "reconnect-ms");
        return false;
    }
    s->path = g_strdup(path);
    return true;
}

static bool socket_open(Chardev *chr, GHashTable *opts, Error **errp)
{
    SocketChardev *s = g_new0(SocketChardev, 1);

    s->listen_fd = -1;
    chr->backend = s;
    if (!socket_parse(chr, opts, errp)) {
        return false;
    }
    if (s->server) {
        return socket_listen(chr, errp);
    }
    if (s->reconnect_ms) {
        /* Backend may come later: not an error, keep dialling. */
        if (!socket_connect(chr, NULL)) {
            socket_schedule_reconnect(chr);
        }
        return true;
    }
    return socket_connect(chr, errp);
}

static void socket_disconnect(Chardev *chr)
{
    chardev_stop_input(chr);
    if (chr->fd_in >= 0) {
        close(chr->fd_in);
        chr->conn_gen++;
    }
    chr->fd_in = chr->fd_out = -1;
    chardev_drop_fds(chr);
}

/* recvmsg with SCM_RIGHTS; queue the fds that came with the data. */
static ssize_t socket_recv(Chardev *chr, uint8_t *buf, size_t len)
{
    char control[CMSG_SPACE(sizeof(int) * CHR_MAX_FDS)];
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control, .msg_controllen = sizeof(control),
    };
    ssize_t n = recvmsg(chr->fd_in, &msg, MSG_CMSG_CLOEXEC);

    if (n < 0) {
        return -1;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(c);
        for (size_t i = 0; i < nfds; i++) {
            g_queue_push_tail(chr->recv_fds, GINT_TO_POINTER(fds[i]));
        }
    }
    return n;
}

/* The peer is gone (or we dropped it): tell the frontend, re-dial. */
static void socket_hangup(Chardev *chr)
{
    socket_disconnect(chr);
    chardev_notify_closed(chr);
    socket_schedule_reconnect(chr);
}

static gboolean socket_closed_idle(gpointer data)
{
    Chardev *chr = data;

    socket_fe_lock(chr);
    sock_of(chr)->closed_idle = 0;
    if (!chr->connected) {
        chardev_notify_closed(chr);
        socket_schedule_reconnect(chr);
    }
    socket_fe_unlock(chr);
    return G_SOURCE_REMOVE;
}

/* Drop the connection now, deliver CLOSED later from the main loop so
 * that a frontend deep in a request never sees it re-entrantly. */
static void socket_fe_disconnect(Chardev *chr)
{
    SocketChardev *s = sock_of(chr);

    if (!chr->connected) {
        return;
    }
    socket_disconnect(chr);
    chr->connected = false;
    if (s->reconnect_ms) {
        s->redial_at = g_get_monotonic_time() +
                       (gint64)s->reconnect_ms * G_TIME_SPAN_MILLISECOND;
    }
    if (!s->closed_idle) {
        s->closed_idle = g_idle_add(socket_closed_idle, chr);
    }
}

static gboolean socket_readable(gint fd, GIOCondition cond, gpointer data)
{
    Chardev *chr = data;
    uint8_t buf[4096];
    ssize_t n = socket_recv(chr, buf, sizeof(buf));

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        chr->in_watch = 0;
        socket_hangup(chr);
        return G_SOURCE_REMOVE;
    }
    if (chr->fe_receive) {
        chr->fe_receive(chr->fe_opaque, buf, n);
    }
    return G_SOURCE_CONTINUE;
}

/* Event-only frontends read synchronously; watch just for hang-ups. */
static gboolean socket_hup(gint fd, GIOCondition cond, gpointer data)
{
    Chardev *chr = data;

    socket_fe_lock(chr);
    chr->in_watch = 0;
    socket_hangup(chr);
    socket_fe_unlock(chr);
    return G_SOURCE_REMOVE;
}

/* Sleep until now + us (or chr->cancel), without the frontend's lock. */
static void socket_sleep_unlocked(Chardev *chr, gint64 us)
{
    socket_fe_unlock(chr);
    qemu_sleep_cancellable(us, chr->cancel);
    socket_fe_lock(chr);
}

/* One step of waiting for a peer: accept or dial; false with errp set
 * when the wait must end.  A frontend that gave its lock (held by the
 * caller) waits without it, as for a reply: a device_add waiting for its
 * backend stalls no vCPU. */
static bool socket_wait_step(Chardev *chr, Error **errp)
{
    SocketChardev *s = sock_of(chr);
    int r;

    if (s->server) {
        socket_fe_unlock(chr);
        r = qemu_wait_fd(s->listen_fd, POLLIN, -1, chr->cancel);
        socket_fe_lock(chr);
        if (chr->connected) {
            return true;        /* the main loop accepted meanwhile */
        }
        if (r < 0 && r != -ECANCELED) {
            error_setg_errno(errp, -r, "waiting for a connection on '%s'",
                             s->path);
            return false;
        }
        if (r > 0) {
            socket_accept(chr);
        }
    } else if (g_get_monotonic_time() < s->redial_at) {
        /* The frontend dropped the last peer: the interval first. */
        socket_sleep_unlocked(chr, s->redial_at - g_get_monotonic_time());
        s->redial_at = 0;
    } else if (!socket_connect(chr, NULL)) {
        if (!s->reconnect_ms) {
            return socket_connect(chr, errp);
        }
        socket_sleep_unlocked(chr, s->reconnect_ms * G_TIME_SPAN_MILLISECOND);
    }
    if (!chr->connected && qemu_wait_cancelled(chr->cancel)) {
        error_setg(errp, "interrupted while waiting for a peer on '%s'",
                   s->path);
        return false;
    }
    return true;
}

static bool socket_wait_connected(Chardev *chr, Error **errp)
{
    SocketChardev *s = sock_of(chr);

    /* A peer accepted while no frontend was attached (after a failed
     * device_add) may have left since: that is no connection to hand
     * out, its successor may be queued already. */
    socket_reap_dead_peer(chr);
    while (!chr->connected) {
        if (!socket_wait_step(chr, errp)) {
            return false;
        }
    }
    if (s->reconnect_timer) {
        g_source_remove(s->reconnect_timer);
        s->reconnect_timer = 0;
    }
    return true;
}

/* Wait until the connection is readable (POLLIN) or writable (POLLOUT),
 * with the frontend's lock released: on a private duplicate of the
 * socket, so that whoever drops or replaces the connection meanwhile
 * (under the lock) cannot pull the fd from under the poll.  > 0 ready,
 * else as qemu_wait_fd. */
static int socket_wait_ready(Chardev *chr, short events, gint64 deadline_us)
{
    unsigned gen = chr->conn_gen;
    int fd, r;

    if (!chr->fe_lock) {
        return qemu_wait_fd(chr->fd_in, events, deadline_us, chr->cancel);
    }
    fd = fcntl(chr->fd_in, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    g_mutex_unlock(chr->fe_lock);
    r = qemu_wait_fd(fd, events, deadline_us, chr->cancel);
    g_mutex_lock(chr->fe_lock);
    close(fd);
    if (r > 0 && (gen != chr->conn_gen || !chr->connected)) {
        return -ECONNRESET;     /* not the connection we waited on */
    }
    return r;
}

static ssize_t socket_read_sync(Chardev *chr, uint8_t *buf, size_t len,
                                gint64 deadline_us)
{
    int r;

    if (!chr->connected) {
        return -ENOTCONN;
    }
    r = socket_wait_ready(chr, POLLIN, deadline_us);
    if (r < 0) {
        return r;
    }
    if (r == 0) {
        return -ETIMEDOUT;
    }
    ssize_t n = socket_recv(chr, buf, len);
    return n < 0 ? -errno : n;
}

static void socket_start_input(Chardev *chr)
{
    SocketChardev *s = sock_of(chr);

    if (!chr->connected) {
        return;
    }
    if (!chr->in_watch && chr->fe_receive) {
        chr->in_watch = g_unix_fd_add(chr->fd_in,
                                      G_IO_IN | G_IO_HUP | G_IO_ERR,
                                      socket_readable, chr);
    } else if (!chr->in_watch && chr->fe_event) {
        /* POLLRDHUP: a peer that shut its side down (half-close) is gone
         * too; GIOCondition values are poll(2)'s on Linux. */
        chr->in_watch = g_unix_fd_add(chr->fd_in, (GIOCondition)
                                      (G_IO_HUP | G_IO_ERR | POLLRDHUP),
                                      socket_hup, chr);
    }
    if (!s->opened_sent && chr->fe_event) {
        s->opened_sent = true;
        chr->fe_event(chr->fe_opaque, CHR_EVENT_OPENED);
    }
}

static ssize_t socket_send(Chardev *chr, const uint8_t *buf, size_t len,
                           const int *fds, size_t nfds, int flags)
{
    char control[CMSG_SPACE(sizeof(int) * CHR_MAX_FDS)] = { 0 };
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (!chr->connected) {
        return -ENOTCONN;
    }
    if (nfds > CHR_MAX_FDS) {
        return -EINVAL;
    }
    if (nfds) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t r = sendmsg(chr->fd_out, &msg, MSG_NOSIGNAL | flags);
    return r < 0 ? -errno : r;
}

static ssize_t socket_write(Chardev *chr, const uint8_t *buf, size_t len,
                            const int *fds, size_t nfds)
{
    return socket_send(chr, buf, len, fds, nfds, 0);
}

/* A peer that does not read fills the socket: wait for room as for a
 * reply, lock released, until the deadline. */
static ssize_t socket_write_sync(Chardev *chr, const uint8_t *buf,
                                 size_t len, const int *fds, size_t nfds,
                                 gint64 deadline_us)
{
    for (;;) {
        ssize_t r = socket_send(chr, buf, len, fds, nfds, MSG_DONTWAIT);
        int w;

        if (r != -EAGAIN) {
            return r;
        }
        w = socket_wait_ready(chr, POLLOUT, deadline_us);
        if (w < 0) {
            return w;
        }
        if (w == 0) {
            return -ETIMEDOUT;
        }
        if (!chr->connected) {
            return -ENOTCONN;
        }
    }
}

static ssize_t socket_write_nonblock(Chardev *chr, const uint8_t *buf,
                                     size_t len)
{
    ssize_t r;

    if (!chr->connected) {
        return -ENOTCONN;
    }
    r = send(chr->fd_out, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    return r < 0 ? -errno : r;
}

static bool socket_reconnects(const Chardev *chr)
{
    const SocketChardev *s = chr->backend;

    return !s->server && s->reconnect_ms;
}

static void socket_close(Chardev *chr)
{
    SocketChardev *s = sock_of(chr);

    if (!s) {
        return;
    }
    socket_disconnect(chr);
    if (s->closed_idle) {
        g_source_remove(s->closed_idle);
    }
    if (s->listen_watch) {
        g_source_remove(s->listen_watch);
    }
    if (s->reconnect_timer) {
        g_source_remove(s->reconnect_timer);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        unlink(s->path);
    }
    g_free(s->path);
    g_free(s);
    chr->backend = NULL;
}

const ChardevClass chardev_socket_class = {
    .type = "socket",
    .open = socket_open,
    .write = socket_write,
    .write_nonblock = socket_write_nonblock,
    .close = socket_close,
    .start_input = socket_start_input,
    .disconnect = socket_fe_disconnect,
    .reconnects = socket_reconnects,
    .read_sync = socket_read_sync,
    .write_sync = socket_write_sync,
    .wait_connected = socket_wait_connected,
};
