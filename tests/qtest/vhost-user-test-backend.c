/* SPDX-License-Identifier: MIT */
/*
 * The test vhost-user backend: its thread, the socket (listen and accept
 * or dial), reading messages with their fds, the message log, waiting and
 * the public accessors that are not about memory, rings or the disk.
 *
 * The thread iterates its own GMainContext until b->stopping is set; every
 * callback takes b->lock for its whole run (a reply held back with
 * VUB_FAULT_REPLY_DELAY drops it while it waits) and broadcasts b->cond
 * when it changed something, so a test thread waiting in vub_wait_*()
 * re-checks.
 * A message is read in one go once its header is readable (the socket has
 * a receive timeout, so a frontend that sends half a message cannot hang
 * the backend).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhost-user-test-backend-int.h"

#define VUB_DIAL_INTERVAL_MS 10

/* --- small helpers -------------------------------------------------------- */

void vub_close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

GSource *vub_watch(Vub *b, int fd, GIOCondition cond, GUnixFDSourceFunc fn,
                   gpointer data)
{
    GSource *src = g_unix_fd_source_new(fd, cond);

    g_source_set_callback(src, G_SOURCE_FUNC(fn), data, NULL);
    g_source_attach(src, b->ctx);
    return src;
}

void vub_unwatch(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

void vub_set_error(Vub *b, const char *fmt, ...)
{
    va_list ap;

    g_free(b->last_error);
    va_start(ap, fmt);
    b->last_error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (g_getenv("VUB_DEBUG")) {
        g_printerr("vub: %s\n", b->last_error);
    }
}

bool vub_send_msg(int fd, const VhostUserHeader *hdr, const void *payload,
                  size_t len, const int *fds, unsigned nfds)
{
    struct iovec iov[2] = {
        { .iov_base = (void *)hdr, .iov_len = VHOST_USER_HDR_SIZE },
        { .iov_base = (void *)payload, .iov_len = payload ? len : 0 },
    };
    char control[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))] = { 0 };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
    size_t total = iov[0].iov_len + iov[1].iov_len;
    ssize_t n;

    g_assert(nfds <= VHOST_USER_MAX_FDS);
    if (nfds) {
        struct cmsghdr *cm;

        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
    }
    do {
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    /* A short write of a few hundred bytes on a unix socket only happens
     * when the peer is gone; treat it as a failure. */
    return n == (ssize_t)total;
}

/* --- the connection ------------------------------------------------------- */

static gboolean vub_conn_cb(int fd, GIOCondition cond, gpointer opaque);
static gboolean vub_accept_cb(int fd, GIOCondition cond, gpointer opaque);
static void vub_start_dial(Vub *b);

static void vub_attach_conn(Vub *b, int fd)
{
    struct timeval tv = { .tv_sec = VUB_RECV_TIMEOUT_MS / 1000 };

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    b->conn_fd = fd;
    b->conn_msgs = 0;
    b->connections++;
    vub_session_reset(b);
    b->conn_src = vub_watch(b, fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                            vub_conn_cb, b);
    g_cond_broadcast(&b->cond);
}

void vub_drop_connection(Vub *b, const char *fmt, ...)
{
    va_list ap;

    if (b->conn_fd < 0) {
        return;
    }
    g_free(b->last_error);
    va_start(ap, fmt);
    b->last_error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (g_getenv("VUB_DEBUG")) {
        g_printerr("vub: disconnect: %s\n", b->last_error);
    }
    vub_unwatch(&b->conn_src);
    vub_close_fd(&b->conn_fd);
    vub_close_fd(&b->backend_fd);
    vub_vrings_reset(b);
    vub_regions_clear(b);
    vub_dirty_log_clear(b);
    vub_inflight_unmap(b);
    b->hold = false;            /* a crashed backend held; the next serves */
    if (!g_atomic_int_get(&b->stopping)) {
        if (!b->opts.client) {
            b->listen_src = vub_watch(b, b->listen_fd, G_IO_IN,
                                      vub_accept_cb, b);
        } else if (b->opts.redial) {
            vub_start_dial(b);
        }
    }
    g_cond_broadcast(&b->cond);
}

static gboolean vub_accept_cb(int fd, GIOCondition cond, gpointer opaque)
{
    Vub *b = opaque;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

    if (c < 0) {
        return G_SOURCE_CONTINUE;
    }
    g_mutex_lock(&b->lock);
    /* One frontend at a time: stop accepting until this one leaves. */
    vub_unwatch(&b->listen_src);
    vub_attach_conn(b, c);
    g_mutex_unlock(&b->lock);
    return G_SOURCE_CONTINUE;
}

static int vub_dial_once(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert(fd >= 0);
    strcpy(sa.sun_path, path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static gboolean vub_dial_cb(gpointer opaque)
{
    Vub *b = opaque;
    int fd = vub_dial_once(b->opts.path);
    int err = errno;

    g_mutex_lock(&b->lock);
    if (fd >= 0) {
        vub_unwatch(&b->dial_src);
        vub_attach_conn(b, fd);
    } else if (g_get_monotonic_time() > b->dial_deadline) {
        vub_unwatch(&b->dial_src);
        vub_set_error(b, "cannot connect to %s: %s", b->opts.path,
                      g_strerror(err));
        g_cond_broadcast(&b->cond);
    }
    g_mutex_unlock(&b->lock);
    return G_SOURCE_CONTINUE;
}

static void vub_start_dial(Vub *b)
{
    b->dial_deadline = g_get_monotonic_time() +
                       b->opts.connect_timeout_ms * G_TIME_SPAN_MILLISECOND;
    b->dial_src = g_timeout_source_new(VUB_DIAL_INTERVAL_MS);
    g_source_set_callback(b->dial_src, vub_dial_cb, b, NULL);
    g_source_attach(b->dial_src, b->ctx);
}

static int vub_listen(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert(fd >= 0);
    strcpy(sa.sun_path, path);
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 4) < 0) {
        g_error("vub: cannot listen on %s: %s", path, g_strerror(errno));
    }
    return fd;
}

/* --- receiving ------------------------------------------------------------ */

static bool vub_recv_all(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

/* Collect SCM_RIGHTS fds; extra ones beyond the maximum are closed. */
static void vub_take_fds(struct msghdr *mh, VubReq *req)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
         cm = CMSG_NXTHDR(mh, cm)) {
        size_t n;
        int *fds;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        fds = (int *)CMSG_DATA(cm);
        for (size_t i = 0; i < n; i++) {
            if (req->nfds < VHOST_USER_MAX_FDS) {
                req->fds[req->nfds++] = fds[i];
            } else {
                close(fds[i]);
            }
        }
    }
}

static void vub_close_req_fds(VubReq *req)
{
    for (unsigned i = 0; i < req->nfds; i++) {
        vub_close_fd(&req->fds[i]);
    }
}

/* Read the header and its fds; "" on EOF, else an error or NULL. */
static const char *vub_recv_header(Vub *b, VubReq *req)
{
    struct iovec iov = { .iov_base = &req->msg.hdr,
                         .iov_len = VHOST_USER_HDR_SIZE };
    char control[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control,
                         .msg_controllen = sizeof(control) };
    ssize_t n;

    do {
        n = recvmsg(b->conn_fd, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        return "";
    }
    if (n < 0) {
        return g_strerror(errno);
    }
    vub_take_fds(&mh, req);
    if (mh.msg_flags & MSG_CTRUNC) {
        return "too many fds with one message";
    }
    if ((size_t)n < VHOST_USER_HDR_SIZE &&
        !vub_recv_all(b->conn_fd, (uint8_t *)&req->msg.hdr + n,
                      VHOST_USER_HDR_SIZE - n)) {
        return "truncated header";
    }
    return NULL;
}

static void vub_log_append(Vub *b, const VubReq *req, bool with_payload)
{
    VubMsg *m = g_new0(VubMsg, 1);

    m->request = req->msg.hdr.request;
    m->flags = req->msg.hdr.flags;
    m->size = req->msg.hdr.size;
    m->nfds = req->nfds;
    m->conn = b->connections;
    if (with_payload && m->size) {
        m->payload = g_memdup2(&req->msg.payload, m->size);
    }
    g_ptr_array_add(b->log, m);
    b->conn_msgs++;
}

/* Read one whole message into req; on failure the connection is dropped
 * and false returned. */
static bool vub_recv_req(Vub *b, VubReq *req)
{
    const char *err = vub_recv_header(b, req);
    uint32_t size = req->msg.hdr.size;

    if (err) {
        vub_close_req_fds(req);
        vub_drop_connection(b, "%s", *err ? err : "EOF");
        return false;
    }
    if (size > VHOST_USER_PAYLOAD_MAX) {
        vub_log_append(b, req, false);
        vub_close_req_fds(req);
        vub_drop_connection(b, "%s: payload of %u bytes too large",
                            vhost_user_request_name(req->msg.hdr.request),
                            size);
        return false;
    }
    if (!vub_recv_all(b->conn_fd, &req->msg.payload, size)) {
        vub_close_req_fds(req);
        vub_drop_connection(b, "%s: truncated payload",
                            vhost_user_request_name(req->msg.hdr.request));
        return false;
    }
    vub_log_append(b, req, true);
    return true;
}

static gboolean vub_conn_cb(int fd, GIOCondition cond, gpointer opaque)
{
    Vub *b = opaque;
    VubReq req = { .nfds = 0 };

    g_mutex_lock(&b->lock);
    if (vub_recv_req(b, &req)) {
        if (b->drop_at && b->conn_msgs == b->drop_at) {
            b->drop_at = 0;
            vub_close_req_fds(&req);
            vub_drop_connection(b, "message %u (%s) dropped on purpose",
                                b->conn_msgs,
                                vhost_user_request_name(req.msg.hdr.request));
        } else {
            vub_dispatch(b, &req);
            vub_close_req_fds(&req);
        }
    }
    g_cond_broadcast(&b->cond);
    g_mutex_unlock(&b->lock);
    return G_SOURCE_CONTINUE;
}

/* --- life cycle ----------------------------------------------------------- */

void vub_options_init(VubOptions *o, const char *path)
{
    *o = (VubOptions) {
        .path = path,
        .connect_timeout_ms = 30000,
        .disk_size = 64 * 1024 * 1024,
        .num_queues = 1,
        .features = VUB_DEFAULT_FEATURES,
        .protocol_features = VUB_DEFAULT_PROTOCOL_FEATURES,
        .max_mem_slots = 32,
    };
}

static gpointer vub_thread(gpointer opaque)
{
    Vub *b = opaque;

    g_main_context_push_thread_default(b->ctx);
    while (!g_atomic_int_get(&b->stopping)) {
        g_main_context_iteration(b->ctx, TRUE);
    }
    g_main_context_pop_thread_default(b->ctx);
    return NULL;
}

void vub_options_init_net(VubOptions *o, const char *path, unsigned pairs)
{
    vub_options_init(o, path);
    o->type = VUB_DEVICE_NET;
    o->disk_size = 0;
    o->num_queues = pairs;
    o->features = VUB_NET_DEFAULT_FEATURES;
    o->protocol_features = VUB_NET_DEFAULT_PROTOCOL_FEATURES;
}

Vub *vub_new(const VubOptions *o)
{
    Vub *b = g_new0(Vub, 1);
    unsigned per_queue = o->type == VUB_DEVICE_NET ? 2 : 1;

    g_assert(o->path && strlen(o->path) < sizeof(((struct sockaddr_un *)0)
                                                 ->sun_path));
    g_assert(o->num_queues >= 1 &&
             o->num_queues * per_queue <= VUB_MAX_QUEUES);
    g_assert(o->disk_size % 512 == 0);
    b->opts = *o;
    b->opts.path = g_strdup(o->path);
    g_mutex_init(&b->lock);
    g_mutex_init(&b->backend_lock);
    g_cond_init(&b->cond);
    b->ctx = g_main_context_new();
    b->log = g_ptr_array_new_with_free_func((GDestroyNotify)vub_msg_free);
    b->listen_fd = b->conn_fd = b->backend_fd = -1;
    b->features = o->features;
    b->protocol_features = o->protocol_features;
    if (o->inflight) {
        b->protocol_features |=
            VUB_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
    }
    vub_vrings_init(b);
    if (o->type == VUB_DEVICE_NET) {
        vub_net_init(b);
    } else {
        vub_blk_init(b);
    }
    if (o->client) {
        vub_start_dial(b);
    } else {
        b->listen_fd = vub_listen(o->path);
        b->listen_src = vub_watch(b, b->listen_fd, G_IO_IN, vub_accept_cb,
                                  b);
    }
    b->thread = g_thread_new("vub", vub_thread, b);
    return b;
}

Vub *vub_new_server(const char *path)
{
    VubOptions o;

    vub_options_init(&o, path);
    return vub_new(&o);
}

void vub_free(Vub *b)
{
    if (!b) {
        return;
    }
    g_atomic_int_set(&b->stopping, 1);
    g_main_context_wakeup(b->ctx);
    g_thread_join(b->thread);
    /* The thread is gone: what follows runs alone. */
    g_mutex_lock(&b->lock);
    vub_drop_connection(b, "backend freed");
    vub_unwatch(&b->listen_src);
    vub_unwatch(&b->dial_src);
    if (b->listen_fd >= 0) {
        vub_close_fd(&b->listen_fd);
        unlink(b->opts.path);
    }
    vub_blk_cleanup(b);
    vub_net_cleanup(b);
    g_mutex_unlock(&b->lock);
    g_ptr_array_free(b->log, TRUE);
    g_main_context_unref(b->ctx);
    g_mutex_clear(&b->lock);
    g_mutex_clear(&b->backend_lock);
    g_cond_clear(&b->cond);
    g_free((char *)b->opts.path);
    g_free(b->last_error);
    g_free(b);
}

/* --- waiting -------------------------------------------------------------- */

bool vub_wait_until(Vub *b, VubPred *pred, const void *arg, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() +
                 (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;
    bool ok;

    g_mutex_lock(&b->lock);
    while (!(ok = pred(b, arg))) {
        if (!g_cond_wait_until(&b->cond, &b->lock, end)) {
            ok = pred(b, arg);
            break;
        }
    }
    g_mutex_unlock(&b->lock);
    return ok;
}

/* --- the log -------------------------------------------------------------- */

void vub_msg_free(VubMsg *m)
{
    if (m) {
        g_free(m->payload);
        g_free(m);
    }
}

static VubMsg *vub_msg_copy(const VubMsg *m)
{
    VubMsg *c = g_memdup2(m, sizeof(*m));

    c->payload = m->payload ? g_memdup2(m->payload, m->size) : NULL;
    return c;
}

unsigned vub_log_len(Vub *b)
{
    unsigned n;

    g_mutex_lock(&b->lock);
    n = b->log->len;
    g_mutex_unlock(&b->lock);
    return n;
}

VubMsg *vub_log_get(Vub *b, unsigned i)
{
    VubMsg *m = NULL;

    g_mutex_lock(&b->lock);
    if (i < b->log->len) {
        m = vub_msg_copy(g_ptr_array_index(b->log, i));
    }
    g_mutex_unlock(&b->lock);
    return m;
}

static unsigned vub_count_locked(Vub *b, uint32_t request)
{
    unsigned n = 0;

    for (guint i = 0; i < b->log->len; i++) {
        const VubMsg *m = g_ptr_array_index(b->log, i);

        n += m->request == request;
    }
    return n;
}

unsigned vub_count(Vub *b, uint32_t request)
{
    unsigned n;

    g_mutex_lock(&b->lock);
    n = vub_count_locked(b, request);
    g_mutex_unlock(&b->lock);
    return n;
}

VubMsg *vub_find(Vub *b, uint32_t request, int nth)
{
    VubMsg *found = NULL;
    int want;

    g_mutex_lock(&b->lock);
    want = nth >= 0 ? nth : (int)vub_count_locked(b, request) + nth;
    for (guint i = 0; i < b->log->len && want >= 0; i++) {
        const VubMsg *m = g_ptr_array_index(b->log, i);

        if (m->request == request && want-- == 0) {
            found = vub_msg_copy(m);
        }
    }
    g_mutex_unlock(&b->lock);
    return found;
}

char *vub_log_string(Vub *b, unsigned from)
{
    GString *s = g_string_new(NULL);

    g_mutex_lock(&b->lock);
    for (guint i = from; i < b->log->len; i++) {
        const VubMsg *m = g_ptr_array_index(b->log, i);

        g_string_append_printf(s, "%s%s", s->len ? " " : "",
                               vhost_user_request_name(m->request));
    }
    g_mutex_unlock(&b->lock);
    return g_string_free(s, FALSE);
}

void vub_log_clear(Vub *b)
{
    g_mutex_lock(&b->lock);
    g_ptr_array_set_size(b->log, 0);
    g_mutex_unlock(&b->lock);
}

typedef struct VubCountArg {
    uint32_t request;
    unsigned n;
} VubCountArg;

static bool vub_pred_count(Vub *b, const void *opaque)
{
    const VubCountArg *a = opaque;

    return vub_count_locked(b, a->request) >= a->n;
}

bool vub_wait_for_count(Vub *b, uint32_t request, unsigned n,
                        int timeout_ms)
{
    VubCountArg a = { request, n };

    return vub_wait_until(b, vub_pred_count, &a, timeout_ms);
}

bool vub_wait_for_request(Vub *b, uint32_t request, int timeout_ms)
{
    return vub_wait_for_count(b, request, 1, timeout_ms);
}

/* --- connection state ----------------------------------------------------- */

bool vub_connected(Vub *b)
{
    bool c;

    g_mutex_lock(&b->lock);
    c = b->conn_fd >= 0;
    g_mutex_unlock(&b->lock);
    return c;
}

unsigned vub_connections(Vub *b)
{
    unsigned n;

    g_mutex_lock(&b->lock);
    n = b->connections;
    g_mutex_unlock(&b->lock);
    return n;
}

static bool vub_pred_connections(Vub *b, const void *opaque)
{
    return b->connections >= *(const unsigned *)opaque;
}

static bool vub_pred_disconnected(Vub *b, const void *opaque)
{
    return b->conn_fd < 0;
}

bool vub_wait_connections(Vub *b, unsigned n, int timeout_ms)
{
    return vub_wait_until(b, vub_pred_connections, &n, timeout_ms);
}

bool vub_wait_disconnected(Vub *b, int timeout_ms)
{
    return vub_wait_until(b, vub_pred_disconnected, NULL, timeout_ms);
}

static gboolean vub_disconnect_cb(gpointer opaque)
{
    Vub *b = opaque;

    g_mutex_lock(&b->lock);
    vub_drop_connection(b, "dropped by the test");
    g_mutex_unlock(&b->lock);
    return G_SOURCE_REMOVE;
}

void vub_disconnect(Vub *b)
{
    /* Sources belong to the backend thread: let it do the work. */
    g_main_context_invoke(b->ctx, vub_disconnect_cb, b);
}

char *vub_last_error(Vub *b)
{
    char *e;

    g_mutex_lock(&b->lock);
    e = g_strdup(b->last_error);
    g_mutex_unlock(&b->lock);
    return e;
}

/* --- negotiated state and faults ------------------------------------------ */

uint64_t vub_acked_features(Vub *b)
{
    uint64_t f;

    g_mutex_lock(&b->lock);
    f = b->acked_features;
    g_mutex_unlock(&b->lock);
    return f;
}

uint64_t vub_acked_protocol_features(Vub *b)
{
    uint64_t f;

    g_mutex_lock(&b->lock);
    f = b->acked_protocol_features;
    g_mutex_unlock(&b->lock);
    return f;
}

uint8_t vub_status(Vub *b)
{
    uint8_t s;

    g_mutex_lock(&b->lock);
    s = b->status;
    g_mutex_unlock(&b->lock);
    return s;
}

void vub_set_features(Vub *b, uint64_t features)
{
    g_mutex_lock(&b->lock);
    b->features = features;
    g_mutex_unlock(&b->lock);
}

void vub_set_protocol_features(Vub *b, uint64_t features)
{
    g_mutex_lock(&b->lock);
    b->protocol_features = features;
    g_mutex_unlock(&b->lock);
}

void vub_add_fault(Vub *b, VubFaultKind kind, uint32_t request,
                   uint64_t value, bool once)
{
    g_mutex_lock(&b->lock);
    g_assert(b->nfaults < VUB_MAX_FAULTS);
    b->faults[b->nfaults++] = (VubFault) { kind, request, value, once };
    g_mutex_unlock(&b->lock);
}

void vub_clear_faults(Vub *b)
{
    g_mutex_lock(&b->lock);
    b->nfaults = 0;
    g_mutex_unlock(&b->lock);
}

void vub_drop_at(Vub *b, unsigned n)
{
    g_mutex_lock(&b->lock);
    b->drop_at = n;
    g_mutex_unlock(&b->lock);
}

void vub_drop_at_next(Vub *b)
{
    g_mutex_lock(&b->lock);
    b->drop_at = (b->conn_fd >= 0 ? b->conn_msgs : 0) + 1;
    g_mutex_unlock(&b->lock);
}
