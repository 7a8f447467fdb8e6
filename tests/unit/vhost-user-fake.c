/* SPDX-License-Identifier: MIT */
/*
 * The scripted fake vhost-user backend and the fixture of the frontend's
 * unit tests (see vhost-user-fake.h).
 */
#include "vhost-user-fake.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "qemu/compiler.h"

/* --- the fake backend ------------------------------------------------------ */

FbStep st_reply(uint32_t req, uint32_t size, const void *payload)
{
    FbStep s = { .expect = req, .reply = true, .send_len = -1, .fd = -1,
                 .hdr = { req, FL_REPLY, size } };

    if (payload) {
        memcpy(&s.payload, payload, MIN(size, sizeof(s.payload)));
    }
    return s;
}

FbStep st_u64(uint32_t req, uint64_t v)
{
    return st_reply(req, sizeof(v), &v);
}

FbStep st_none(uint32_t req)
{
    return (FbStep) { .expect = req, .send_len = -1, .fd = -1 };
}

/* A "set" request: acked when REPLY_ACK is in force. */
FbStep st_set(uint32_t req, bool ack)
{
    return ack ? st_u64(req, 0) : st_none(req);
}

static int fb_recv(int fd, void *buf, size_t len, FbRecord *rec)
{
    char control[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
    size_t done = 0;

    while (done < len) {
        struct iovec iov = { (char *)buf + done, len - done };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = control,
                             .msg_controllen = sizeof(control) };
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        if (poll(&pfd, 1, 5000) <= 0) {
            return -1;
        }
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0) {
            return n == 0 ? 0 : -1;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
             c = CMSG_NXTHDR(&mh, c)) {
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k && rec->nfds < VHOST_USER_MAX_FDS; i++) {
                memcpy(&rec->fds[rec->nfds++], CMSG_DATA(c) + i * sizeof(int),
                       sizeof(int));
            }
        }
        done += n;
    }
    return 1;
}

void fb_send(int fd, const FbStep *st)
{
    uint8_t buf[VHOST_USER_HDR_SIZE + sizeof(VhostUserPayload)];
    size_t len = st->send_len >= 0 ? (size_t)st->send_len : st->hdr.size;
    char control[CMSG_SPACE(sizeof(int))] = { 0 };
    struct iovec iov = { buf, VHOST_USER_HDR_SIZE + len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    memcpy(buf, &st->hdr, VHOST_USER_HDR_SIZE);
    memcpy(buf + VHOST_USER_HDR_SIZE, &st->payload, len);
    if (st->fd >= 0) {
        mh.msg_control = control;
        mh.msg_controllen = sizeof(control);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &st->fd, sizeof(int));
    }
    g_assert_cmpint(sendmsg(fd, &mh, MSG_NOSIGNAL), ==, iov.iov_len);
}

static gpointer fb_thread(gpointer opaque)
{
    Fixture *f = opaque;

    for (unsigned i = 0; i < f->n_steps; i++) {
        const FbStep *st = &f->steps[i];
        FbRecord *rec = &f->rec[f->n_rec];

        if (fb_recv(f->be_fd, &rec->hdr, VHOST_USER_HDR_SIZE, rec) <= 0) {
            f->script_broken = true;
            break;
        }
        if (rec->hdr.size > sizeof(rec->payload) ||
            (rec->hdr.size &&
             fb_recv(f->be_fd, &rec->payload, rec->hdr.size, rec) <= 0)) {
            f->script_broken = true;
            break;
        }
        f->n_rec++;
        f->script_broken |= rec->hdr.request != st->expect;
        if (st->reply) {
            fb_send(f->be_fd, st);
        }
        if (st->hangup) {
            shutdown(f->be_fd, SHUT_RDWR);
        }
    }
    return NULL;
}

void fb_clear(Fixture *f)
{
    for (unsigned i = 0; i < f->n_rec; i++) {
        for (unsigned j = 0; j < f->rec[i].nfds; j++) {
            close(f->rec[i].fds[j]);
        }
    }
    memset(f->rec, 0, sizeof(f->rec));
    f->n_rec = 0;
    f->script_broken = false;
}

void fb_start(Fixture *f, const FbStep *steps, unsigned n)
{
    g_assert_cmpuint(n, <=, MAX_STEPS);
    fb_clear(f);
    memcpy(f->steps, steps, n * sizeof(*steps));
    f->n_steps = n;
    f->thread = g_thread_new("fake-backend", fb_thread, f);
}

/* Wait for the script; ok: every step ran as expected. */
void fb_join(Fixture *f, bool ok)
{
    g_thread_join(f->thread);
    f->thread = NULL;
    if (ok) {
        g_assert_false(f->script_broken);
        g_assert_cmpuint(f->n_rec, ==, f->n_steps);
    }
}

/* Nothing was sent that the script did not take. */
void fb_assert_quiet(Fixture *f)
{
    struct pollfd pfd = { .fd = f->be_fd, .events = POLLIN };

    g_assert_cmpint(poll(&pfd, 1, 0), ==, 0);
}

void rec_check(Fixture *f, unsigned i, uint32_t req, uint32_t flags,
               uint32_t size, unsigned nfds)
{
    g_assert_cmpuint(i, <, f->n_rec);
    g_assert_cmpstr(vhost_user_request_name(f->rec[i].hdr.request), ==,
                    vhost_user_request_name(req));
    g_assert_cmphex(f->rec[i].hdr.flags, ==, flags);
    g_assert_cmpuint(f->rec[i].hdr.size, ==, size);
    g_assert_cmpuint(f->rec[i].nfds, ==, nfds);
}

/* --- fixture --------------------------------------------------------------- */


static void chr_event(void *opaque, ChrEvent event)
{
    Fixture *f = opaque;

    f->closed_events += event == CHR_EVENT_CLOSED;
}

static void config_notifier(struct vhost_dev *dev, VhostConfigDoneFn *done,
                            void *opaque)
{
    container_of(dev, Fixture, dev)->config_changes++;
    if (done) {
        done(dev, opaque);
    }
}

static const VhostDevConfigOps test_config_ops = {
    .config_notifier = config_notifier,
};

void fixture_setup(Fixture *f, gconstpointer data)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_autofree char *opts = NULL;
    Error *err = NULL;

    f->dir = g_dir_make_tmp("test-vhost-user-XXXXXX", NULL);
    f->path = g_build_filename(f->dir, "vu.sock", NULL);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
    f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)),
                    ==, 0);
    g_assert_cmpint(listen(f->listen_fd, 1), ==, 0);
    opts = g_strdup_printf("socket,id=vu0,path=%s", f->path);
    f->chr = qemu_chr_new_from_opts(opts, NULL, &err);
    g_assert_null(err);
    f->be_fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    g_assert_cmpint(f->be_fd, >=, 0);
    f->chan_fd = -1;
    qemu_chr_fe_set_handlers(f->chr, NULL, chr_event, f);
    g_assert_true(vhost_user_init(&f->u, f->chr, "vhost-user-test 'vu0'",
                                  &err));
    f->u.timeout_ms = 2000;
    f->dev = (struct vhost_dev) {
        .id = "vu0", .nvqs = 2, .vq_index = 0, .vq_index_end = 2,
        .vhost_ops = &vhost_user_ops, .opaque = &f->u,
        .config_ops = &test_config_ops,
    };
}

void fixture_teardown(Fixture *f, gconstpointer data)
{
    vhost_user_ops.backend_cleanup(&f->dev);
    vhost_user_cleanup(&f->u);
    vhost_user_cleanup(&f->u);          /* safe twice */
    fb_clear(f);
    if (f->chan_fd >= 0) {
        close(f->chan_fd);
    }
    close(f->be_fd);
    qemu_chr_free(f->chr);
    close(f->listen_fd);
    unlink(f->path);
    rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

/* Negotiation without protocol features. */
void init_plain(Fixture *f)
{
    FbStep s[] = {
        st_u64(VHOST_USER_GET_FEATURES, F_VERSION_1),
        st_none(VHOST_USER_SET_OWNER),
    };
    Error *err = NULL;

    fb_start(f, s, G_N_ELEMENTS(s));
    g_assert_true(vhost_user_ops.backend_init(&f->dev, &f->u, &err));
    g_assert_null(err);
    fb_join(f, true);
}

/* Negotiation with protocol features: the backend offers pf. */
void init_proto(Fixture *f, uint64_t pf)
{
    bool ack = pf & PF(REPLY_ACK);
    FbStep s[MAX_STEPS];
    unsigned n = 0;
    Error *err = NULL;

    s[n++] = st_u64(VHOST_USER_GET_FEATURES, F_VERSION_1 | F_PROTOCOL);
    s[n++] = st_u64(VHOST_USER_GET_PROTOCOL_FEATURES, pf);
    s[n++] = st_none(VHOST_USER_SET_PROTOCOL_FEATURES);
    if (pf & PF(MQ)) {
        s[n++] = st_u64(VHOST_USER_GET_QUEUE_NUM, 4);
    }
    if (pf & PF(CONFIGURE_MEM_SLOTS)) {
        s[n++] = st_u64(VHOST_USER_GET_MAX_MEM_SLOTS, 16);
    }
    if (pf & PF(BACKEND_REQ)) {
        s[n++] = st_set(VHOST_USER_SET_BACKEND_REQ_FD, ack);
    }
    s[n++] = st_set(VHOST_USER_SET_OWNER, ack);
    fb_start(f, s, n);
    g_assert_true(vhost_user_ops.backend_init(&f->dev, &f->u, &err));
    g_assert_null(err);
    fb_join(f, true);
    if (pf & PF(BACKEND_REQ)) {
        f->chan_fd = dup(f->rec[n - 2].fds[0]);
    }
}

int memfd_page(const char *name)
{
    int fd = memfd_create(name, MFD_CLOEXEC);

    g_assert_cmpint(ftruncate(fd, getpagesize()), ==, 0);
    return fd;
}

bool same_file(int a, int b)
{
    struct stat sa, sb;

    return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_ino == sb.st_ino &&
           sa.st_dev == sb.st_dev;
}

void make_regions(VhostMemoryRegion *r, unsigned n, int fd)
{
    for (unsigned i = 0; i < n; i++) {
        r[i] = (VhostMemoryRegion) {
            .guest_phys_addr = i * 0x1000000ULL,
            .memory_size = 0x100000,
            .userspace_addr = 0x7f0000000000ULL + i * 0x1000000ULL,
            .mmap_offset = i * 0x100000ULL,
            .fd = fd,
        };
    }
}

unsigned count_fds(void)
{
    GDir *dir = g_dir_open("/proc/self/fd", 0, NULL);
    unsigned n = 0;

    g_assert_nonnull(dir);
    while (g_dir_read_name(dir)) {
        n++;
    }
    g_dir_close(dir);
    return n;
}

/* --- the backend channel --- */

/* Send a backend request: header, send_len payload bytes (-1: all). */
void chan_send_raw(Fixture *f, uint32_t req, uint32_t flags,
                   const void *payload, uint32_t size, int send_len, int fd)
{
    FbStep st = st_reply(req, size, payload);

    st.hdr.flags = flags;
    st.send_len = send_len >= 0 ? send_len :
                  (int)MIN(size, sizeof(VhostUserPayload));
    st.fd = fd;
    fb_send(f->chan_fd, &st);
}

void chan_send(Fixture *f, uint32_t req, uint32_t flags,
               const void *payload, uint32_t size, int fd)
{
    chan_send_raw(f, req, flags, payload, size, -1, fd);
}

bool chan_readable(Fixture *f)
{
    struct pollfd pfd = { .fd = f->chan_fd, .events = POLLIN };

    return poll(&pfd, 1, 0) == 1;
}

/* Run the main loop until the frontend answers; return its u64. */
uint64_t chan_reply(Fixture *f, uint32_t req)
{
    VhostUserMsg m;

    WAIT_FOR(chan_readable(f));
    g_assert_cmpint(recv(f->chan_fd, &m, VHOST_USER_HDR_SIZE + 8, 0), ==,
                    VHOST_USER_HDR_SIZE + 8);
    g_assert_cmpuint(m.hdr.request, ==, req);
    g_assert_cmphex(m.hdr.flags, ==, FL_REPLY);
    g_assert_cmpuint(m.hdr.size, ==, 8);
    return m.payload.u64;
}

uint64_t host_notifier(Fixture *f, uint64_t u64, uint64_t size,
                       uint64_t offset, int fd)
{
    VhostUserVringArea area = { .u64 = u64, .size = size, .offset = offset };

    chan_send(f, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG, FL_NEED, &area,
              sizeof(area), fd);
    return chan_reply(f, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG);
}
