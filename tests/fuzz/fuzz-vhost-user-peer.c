/* SPDX-License-Identifier: MIT */
/*
 * The backend side of fuzz-vhost-user: the peer on the other end of the
 * frontend's socket chardev (kvmini listens, the peer connects).  It
 * writes the messages an input describes, with fds of the kinds a
 * hostile backend can pass (memfds of odd sizes, eventfds, pipes,
 * sockets, /dev/null, a directory; up to 88 of them), to the main socket
 * and to the backend channel; it reads what the frontend wrote and checks
 * that every request is well-formed (flags, size, the fds it must carry),
 * takes the channel's socket from SET_BACKEND_REQ_FD and closes every
 * other fd; and it can answer as a well-behaved backend (p->good): the
 * recovery after each input and the recording of seeds.
 *
 * No wait, anywhere.  The frontend reads replies synchronously
 * (qemu_chr_read_all_timeout with a 10 s timeout).  Its chardev stays a
 * real socket chardev, but its class is a copy whose read_sync calls the
 * socket's with a timeout of 0: whatever the peer says is in the socket
 * before the frontend reads, so a read sees data, end of file, or nothing
 * (the frontend's "no reply"), deterministically.  With p->good, the same
 * hook first lets the peer answer what the frontend has asked so far.
 */
#include "fuzz-vhost-user.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FVU_SEND_FDS_MAX    88
#define FVU_RECV_FDS_MAX    16

void fvu_peer_init(FvuPeer *p)
{
    memset(p, 0, sizeof(*p));
    p->fd = p->chan_fd = p->log_fd = p->extra_fd = -1;
}

static void fvu_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static char *fvu_path;

static void fvu_remove_dir(void)
{
    g_autofree char *dir = g_path_get_dirname(fvu_path);

    unlink(fvu_path);
    rmdir(dir);
}

/* One socket path for the whole run, in a directory of its own. */
const char *fvu_peer_path(void)
{
    if (!fvu_path) {
        g_autofree char *dir = g_dir_make_tmp("fuzz-vhost-user-XXXXXX",
                                              NULL);

        g_assert_nonnull(dir);
        fvu_path = g_build_filename(dir, "vu.sock", NULL);
        atexit(fvu_remove_dir);
    }
    return fvu_path;
}

/* A full listen queue (peers not accepted yet) refuses with EAGAIN. */
static int fvu_dial(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool fvu_peer_connect(FvuPeer *p, const char *path)
{
    p->fd = fvu_dial(path);
    p->acked_pf = 0;
    return p->fd >= 0;
}

void fvu_peer_connect_extra(FvuPeer *p, const char *path)
{
    fvu_close(&p->extra_fd);
    p->extra_fd = fvu_dial(path);
}

void fvu_peer_close(FvuPeer *p)
{
    fvu_close(&p->fd);
    fvu_close(&p->chan_fd);
    fvu_close(&p->log_fd);
    fvu_close(&p->extra_fd);
}

void fvu_peer_dirty_log(FvuPeer *p, uint8_t pattern)
{
    uint8_t *log;

    if (p->log_fd < 0 || !p->log_end) {
        return;
    }
    log = mmap(NULL, p->log_end, PROT_READ | PROT_WRITE, MAP_SHARED,
               p->log_fd, 0);
    g_assert(log != MAP_FAILED);
    /* Past the end of kvmini's memfd this would fault (SIGBUS). */
    memset(log, pattern, p->log_end);
    munmap(log, p->log_end);
}

/* --- what the peer writes ------------------------------------------------ */

static int fvu_memfd(size_t size)
{
    int fd = memfd_create("fuzz-vhost-user", MFD_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    return fd;
}

static int fvu_make_fd(unsigned kind)
{
    int sv[2];

    switch (kind) {
    case FVU_FD_MEMFD:
        return fvu_memfd(getpagesize());
    case FVU_FD_MEMFD_BIG:
        return fvu_memfd(16 * getpagesize());
    case FVU_FD_MEMFD_EMPTY:
        return fvu_memfd(0);
    case FVU_FD_EVENTFD:
        return eventfd(0, EFD_CLOEXEC);
    case FVU_FD_PIPE:
        g_assert_cmpint(pipe2(sv, O_CLOEXEC), ==, 0);
        close(sv[1]);
        return sv[0];
    case FVU_FD_SOCKET:
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                   sv), ==, 0);
        close(sv[1]);
        return sv[0];
    case FVU_FD_NULL:
        return open("/dev/null", O_RDWR | O_CLOEXEC);
    default:
        return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
}

unsigned fvu_fds_count(uint8_t spec)
{
    unsigned c = spec >> 3;

    return MIN(c < 24 ? c : 8 * (c - 20), FVU_SEND_FDS_MAX);
}

bool fvu_peer_send_bytes(int fd, const void *data, size_t len, uint8_t fds)
{
    unsigned nfds = fvu_fds_count(fds);
    char control[CMSG_SPACE(sizeof(int) * FVU_SEND_FDS_MAX)] = { 0 };
    struct iovec iov = { (void *)data, len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    int fdv[FVU_SEND_FDS_MAX];
    ssize_t n;

    if (fd < 0) {
        return false;
    }
    for (unsigned i = 0; i < nfds; i++) {
        fdv[i] = fvu_make_fd(fds & 7);
        g_assert_cmpint(fdv[i], >=, 0);
    }
    if (nfds) {
        struct cmsghdr *c;

        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fdv, sizeof(int) * nfds);
    }
    /* Never blocks: a full socket (or one the frontend closed) drops it. */
    n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    for (unsigned i = 0; i < nfds; i++) {
        close(fdv[i]);
    }
    return n == (ssize_t)len;
}

bool fvu_peer_send(int fd, const FvuMsg *m)
{
    uint8_t buf[VHOST_USER_HDR_SIZE + FVU_MAX_PAYLOAD];

    memcpy(buf, &m->hdr, VHOST_USER_HDR_SIZE);
    memcpy(buf + VHOST_USER_HDR_SIZE, m->payload, m->len);
    return fvu_peer_send_bytes(fd, buf, VHOST_USER_HDR_SIZE + m->len,
                               m->fds);
}

/* --- what the frontend wrote --------------------------------------------- */

typedef struct FvuRequest {
    VhostUserHeader hdr;
    VhostUserPayload pl;
    int fds[FVU_RECV_FDS_MAX];
    unsigned nfds;
} FvuRequest;

static void fvu_collect_fds(struct msghdr *mh, FvuRequest *rq)
{
    g_assert(!(mh->msg_flags & MSG_CTRUNC));
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

        g_assert(c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS);
        for (size_t i = 0; i < n; i++) {
            g_assert_cmpuint(rq->nfds, <, FVU_RECV_FDS_MAX);
            memcpy(&rq->fds[rq->nfds++], CMSG_DATA(c) + i * sizeof(int),
                   sizeof(int));
        }
    }
}

/* Exactly len bytes of what the frontend wrote: 1, 0 if there is nothing
 * (or end of file), -1 if the frontend stopped in the middle. */
static int fvu_recv(int fd, void *buf, size_t len, FvuRequest *rq)
{
    char control[CMSG_SPACE(sizeof(int) * FVU_RECV_FDS_MAX)];
    size_t done = 0;

    while (done < len) {
        struct iovec iov = { (char *)buf + done, len - done };
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1,
            .msg_control = control, .msg_controllen = sizeof(control),
        };
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return done ? -1 : 0;
        }
        fvu_collect_fds(&mh, rq);
        done += n;
    }
    return 1;
}

/* The fds a request must carry, or -1 if that depends on its payload. */
static int fvu_request_fds(uint32_t request)
{
    switch (request) {
    case VHOST_USER_SET_MEM_TABLE:
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
    case VHOST_USER_SET_VRING_ERR:
        return -1;
    case VHOST_USER_SET_LOG_BASE:
    case VHOST_USER_SET_LOG_FD:
    case VHOST_USER_SET_BACKEND_REQ_FD:
    case VHOST_USER_SET_INFLIGHT_FD:
    case VHOST_USER_ADD_MEM_REG:
        return 1;
    default:
        return 0;
    }
}

/* Requests with a reply of their own never carry NEED_REPLY. */
static bool fvu_has_reply(uint32_t request)
{
    switch (request) {
    case VHOST_USER_GET_FEATURES:
    case VHOST_USER_GET_PROTOCOL_FEATURES:
    case VHOST_USER_GET_QUEUE_NUM:
    case VHOST_USER_GET_VRING_BASE:
    case VHOST_USER_GET_CONFIG:
    case VHOST_USER_GET_INFLIGHT_FD:
    case VHOST_USER_GET_MAX_MEM_SLOTS:
    case VHOST_USER_GET_STATUS:
    case VHOST_USER_SET_LOG_BASE:
        return true;
    default:
        return false;
    }
}

static void fvu_bad_request(const FvuRequest *rq, const char *why)
{
    g_error("fuzz-vhost-user: the frontend sent a malformed %s (flags 0x%x,"
            " size %u, %u fd(s)): %s",
            vhost_user_request_name(rq->hdr.request), rq->hdr.flags,
            rq->hdr.size, rq->nfds, why);
}

/* Whatever the backend said, kvmini's requests stay well-formed. */
static void fvu_check_request(FvuPeer *p, const FvuRequest *rq)
{
    const VhostUserHeader *h = &rq->hdr;
    const VhostUserPayload *pl = &rq->pl;
    bool need = h->flags & VHOST_USER_NEED_REPLY;
    int fds = fvu_request_fds(h->request);

    if ((h->flags & ~VHOST_USER_NEED_REPLY) != VHOST_USER_VERSION) {
        fvu_bad_request(rq, "flags");
    }
    if (need && (fvu_has_reply(h->request) ||
                 !(p->acked_pf & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK)))) {
        fvu_bad_request(rq, "NEED_REPLY without REPLY_ACK, or with a "
                        "request that has its own reply");
    }
    if (!strcmp(vhost_user_request_name(h->request), "UNKNOWN")) {
        fvu_bad_request(rq, "unknown request");
    }
    if (h->request == VHOST_USER_SET_MEM_TABLE) {
        fds = pl->memory.nregions;
        if (fds > VHOST_USER_MAX_RAM_SLOTS ||
            h->size != offsetof(VhostUserMemory, regions) +
                       fds * sizeof(VhostUserMemoryRegion)) {
            fvu_bad_request(rq, "memory table size");
        }
    } else if (fds < 0) {
        fds = !(pl->u64 & VHOST_USER_VRING_NOFD_MASK);
    }
    if (rq->nfds != (unsigned)fds) {
        fvu_bad_request(rq, "fd count");
    }
    if (h->request == VHOST_USER_SET_PROTOCOL_FEATURES &&
        (pl->u64 & ~VHOST_USER_PROTOCOL_FEATURES_SUPPORTED)) {
        fvu_bad_request(rq, "protocol features kvmini does not implement");
    }
}

/* One request; false if the frontend wrote nothing (more). */
static bool fvu_read_request(FvuPeer *p, FvuRequest *rq)
{
    int r;

    rq->nfds = 0;
    r = fvu_recv(p->fd, &rq->hdr, VHOST_USER_HDR_SIZE, rq);
    if (r > 0 && rq->hdr.size > VHOST_USER_PAYLOAD_MAX) {
        fvu_bad_request(rq, "size");
    }
    if (r > 0 && rq->hdr.size) {
        r = fvu_recv(p->fd, &rq->pl, rq->hdr.size, rq) > 0 ?
            1 : -1;
    }
    if (r < 0) {
        fvu_bad_request(rq, "cut short");
    }
    return r > 0;
}

/* --- a well-behaved backend ---------------------------------------------- */

static void fvu_answer_u64(FvuMsg *a, uint64_t v)
{
    a->hdr.size = a->len = sizeof(v);
    memcpy(a->payload, &v, sizeof(v));
}

/* GET_CONFIG: the header echoed, then a pattern. */
static void fvu_answer_config(const FvuRequest *rq, FvuMsg *a)
{
    VhostUserConfig cfg = rq->pl.config;
    uint32_t size = MIN(cfg.size, VHOST_USER_MAX_CONFIG_SIZE);

    for (uint32_t i = 0; i < size; i++) {
        cfg.region[i] = 0x40 + i;
    }
    a->hdr.size = a->len = VHOST_USER_CONFIG_HDR_SIZE + size;
    memcpy(a->payload, &cfg, a->len);
}

/* GET_INFLIGHT_FD: one page, in a memfd of one page. */
static void fvu_answer_inflight(const FvuRequest *rq, FvuMsg *a)
{
    VhostUserInflight in = rq->pl.inflight;

    in.mmap_size = getpagesize();
    in.mmap_offset = 0;
    a->hdr.size = a->len = sizeof(in);
    memcpy(a->payload, &in, sizeof(in));
    a->fds = FVU_FDS(FVU_FD_MEMFD, 1);
}

/* The answer to a request that needs one; false if it needs none. */
static bool fvu_good_answer(FvuPeer *p, const FvuRequest *rq, FvuMsg *a)
{
    const VhostUserPayload *pl = &rq->pl;
    VhostUserVringState vs = { .index = pl->state.index };

    *a = (FvuMsg){
        .hdr = { rq->hdr.request, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK },
    };
    switch (rq->hdr.request) {
    case VHOST_USER_GET_FEATURES:
        fvu_answer_u64(a, p->good->features);
        return true;
    case VHOST_USER_GET_PROTOCOL_FEATURES:
        fvu_answer_u64(a, p->good->protocol_features);
        return true;
    case VHOST_USER_GET_QUEUE_NUM:
        fvu_answer_u64(a, 4);
        return true;
    case VHOST_USER_GET_MAX_MEM_SLOTS:
        fvu_answer_u64(a, 32);
        return true;
    case VHOST_USER_GET_STATUS:
        fvu_answer_u64(a, p->status);
        return true;
    case VHOST_USER_GET_CONFIG:
        fvu_answer_config(rq, a);
        return true;
    case VHOST_USER_GET_INFLIGHT_FD:
        fvu_answer_inflight(rq, a);
        return true;
    case VHOST_USER_GET_VRING_BASE:
        vs.num = p->base[vs.index & 0xff];
        a->hdr.size = a->len = sizeof(vs);
        memcpy(a->payload, &vs, sizeof(vs));
        return true;
    default:
        /* SET_LOG_BASE's reply is its ack, NEED_REPLY or not. */
        fvu_answer_u64(a, 0);
        return rq->hdr.request == VHOST_USER_SET_LOG_BASE ||
               (rq->hdr.flags & VHOST_USER_NEED_REPLY);
    }
}

/* Remember what a backend keeps; take the channel's socket. */
static void fvu_note_request(FvuPeer *p, FvuRequest *rq)
{
    const VhostUserPayload *pl = &rq->pl;

    p->requests++;
    switch (rq->hdr.request) {
    case VHOST_USER_SET_PROTOCOL_FEATURES:
        p->acked_pf = pl->u64;
        break;
    case VHOST_USER_SET_STATUS:
        p->status = pl->u64;
        break;
    case VHOST_USER_SET_VRING_BASE:
        p->base[pl->state.index & 0xff] = pl->state.num;
        break;
    case VHOST_USER_SET_VRING_KICK:
        p->kicks++;
        break;
    case VHOST_USER_GET_VRING_BASE:
        p->bases++;
        break;
    case VHOST_USER_SET_BACKEND_REQ_FD:
        fvu_close(&p->chan_fd);
        p->chan_fd = rq->fds[0];
        rq->nfds = 0;
        break;
    case VHOST_USER_SET_LOG_BASE:
        fvu_close(&p->log_fd);
        p->log_fd = rq->fds[0];
        p->log_end = pl->log.mmap_offset + pl->log.mmap_size;
        rq->nfds = 0;
        break;
    }
    for (unsigned i = 0; i < rq->nfds; i++) {
        close(rq->fds[i]);
    }
}

static void fvu_serve(FvuPeer *p, const FvuRequest *rq)
{
    FvuMsg a;

    if (!p->good || !fvu_good_answer(p, rq, &a)) {
        return;
    }
    fvu_peer_send(p->fd, &a);
    if (p->record) {
        fvu_put_msg(p->record, OP_MAIN, &a);
    }
}

/* The frontend's answers on the channel: well-formed, and dropped. */
static void fvu_drain_channel(FvuPeer *p)
{
    VhostUserMsg m;
    ssize_t n;

    while (p->chan_fd >= 0 &&
           (n = recv(p->chan_fd, &m, VHOST_USER_HDR_SIZE + sizeof(uint64_t),
                     MSG_DONTWAIT)) > 0) {
        g_assert_cmpint(n, ==, VHOST_USER_HDR_SIZE + sizeof(uint64_t));
        g_assert_cmphex(m.hdr.flags, ==,
                        VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
        g_assert_cmpuint(m.hdr.size, ==, sizeof(uint64_t));
        g_assert_cmpuint(m.payload.u64, <=, 1);
    }
}

void fvu_peer_drain(FvuPeer *p)
{
    FvuRequest rq;

    while (p->fd >= 0 && fvu_read_request(p, &rq)) {
        fvu_check_request(p, &rq);
        fvu_note_request(p, &rq);
        fvu_serve(p, &rq);
    }
    fvu_drain_channel(p);
}

/* --- the frontend's chardev ---------------------------------------------- */

static const ChardevClass *fvu_socket_class;
static ChardevClass fvu_class;
static FvuPeer *fvu_hook_peer;

/* Let the peer answer, then read what is there: never wait. */
static ssize_t fvu_read_now(Chardev *chr, uint8_t *buf, size_t len,
                            gint64 deadline_us)
{
    if (fvu_hook_peer) {
        fvu_peer_drain(fvu_hook_peer);
    }
    return fvu_socket_class->read_sync(chr, buf, len, 0);
}

void fvu_chr_hook(Chardev *chr, FvuPeer *p)
{
    fvu_hook_peer = p;
    if (!chr) {
        return;
    }
    if (!fvu_socket_class) {
        fvu_socket_class = chr->cls;
        fvu_class = *chr->cls;
        fvu_class.read_sync = fvu_read_now;
    }
    g_assert(chr->cls == fvu_socket_class || chr->cls == &fvu_class);
    chr->cls = &fvu_class;
}

/* --- encoding ------------------------------------------------------------ */

static void fvu_put_le(GByteArray *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t c = v >> (8 * i);

        g_byte_array_append(b, &c, 1);
    }
}

void fvu_put_msg(GByteArray *b, uint8_t op, const FvuMsg *m)
{
    fvu_put_le(b, op, 1);
    fvu_put_le(b, m->hdr.request, 4);
    fvu_put_le(b, m->hdr.flags, 4);
    fvu_put_le(b, m->hdr.size, 4);
    fvu_put_le(b, m->len, 2);
    g_byte_array_append(b, m->payload, m->len);
    fvu_put_le(b, m->fds, 1);
}

void fvu_get_msg(FuzzInput *in, FvuMsg *m)
{
    const uint8_t *p;
    size_t len;

    m->hdr.request = fuzz_in_le(in, 4);
    m->hdr.flags = fuzz_in_le(in, 4);
    m->hdr.size = fuzz_in_le(in, 4);
    len = fuzz_in_le(in, 2);
    p = fuzz_in_bytes(in, MIN(len, FVU_MAX_PAYLOAD), &m->len);
    memcpy(m->payload, p, m->len);
    m->fds = fuzz_in_u8(in);
}
