/* SPDX-License-Identifier: MIT */
/*
 * The minimal vhost-user frontend for the backend self-test (see
 * vhost-user-mini-frontend.h): raw messages with SCM_RIGHTS, replies read
 * with a timeout, and rings and blk requests written straight into the
 * memfd both sides map.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <linux/virtio_blk.h>

#include "vhost-user-mini-frontend.h"

/* --- the frontend's socket ------------------------------------------------ */

void fe_send_fds(Fe *fe, uint32_t req, uint32_t flags,
                 const void *payload, uint32_t size, const int *fds,
                 unsigned nfds)
{
    VhostUserHeader hdr = { req, VHOST_USER_VERSION | flags, size };
    struct iovec iov[2] = { { &hdr, sizeof(hdr) },
                            { (void *)payload, payload ? size : 0 } };
    char control[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))] = { 0 };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

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
    g_assert_cmpint(sendmsg(fe->fd, &mh, MSG_NOSIGNAL), ==,
                    sizeof(hdr) + iov[1].iov_len);
}

void fe_send(Fe *fe, uint32_t req, uint32_t flags,
             const void *payload, uint32_t size)
{
    fe_send_fds(fe, req, flags, payload, size, NULL, 0);
}

/* Receive one message on fd; false on timeout or EOF. */
bool fe_recv_on(int fd, FeReply *r, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    struct iovec iov = { &r->msg.hdr, sizeof(r->msg.hdr) };
    char control[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control,
                         .msg_controllen = sizeof(control) };
    struct cmsghdr *cm;

    memset(r, 0, sizeof(*r));
    if (poll(&pfd, 1, timeout_ms) != 1 ||
        recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL) !=
        sizeof(r->msg.hdr)) {
        return false;
    }
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        unsigned n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

        memcpy(r->fds + r->nfds, CMSG_DATA(cm), n * sizeof(int));
        r->nfds += n;
    }
    g_assert_cmpuint(r->msg.hdr.size, <=, sizeof(r->msg.payload));
    return r->msg.hdr.size == 0 ||
           recv(fd, &r->msg.payload, r->msg.hdr.size, MSG_WAITALL) ==
           r->msg.hdr.size;
}

void fe_reply_close_fds(FeReply *r)
{
    for (unsigned i = 0; i < r->nfds; i++) {
        close(r->fds[i]);
    }
    r->nfds = 0;
}

/* Receive a well-formed reply to req. */
void fe_expect_reply(Fe *fe, uint32_t req, FeReply *r)
{
    g_assert_true(fe_recv_on(fe->fd, r, FE_TIMEOUT));
    g_assert_cmpuint(r->msg.hdr.request, ==, req);
    g_assert_cmphex(r->msg.hdr.flags, ==,
                    VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
}

uint64_t fe_get_u64(Fe *fe, uint32_t req)
{
    FeReply r;

    fe_send(fe, req, 0, NULL, 0);
    fe_expect_reply(fe, req, &r);
    g_assert_cmpuint(r.msg.hdr.size, ==, 8);
    g_assert_cmpuint(r.nfds, ==, 0);
    return r.msg.payload.u64;
}

/* Send with NEED_REPLY and return the ack status. */
uint64_t fe_acked(Fe *fe, uint32_t req, const void *payload,
                  uint32_t size, const int *fds, unsigned nfds)
{
    FeReply r;

    fe_send_fds(fe, req, VHOST_USER_NEED_REPLY, payload, size, fds, nfds);
    fe_expect_reply(fe, req, &r);
    g_assert_cmpuint(r.msg.hdr.size, ==, 8);
    return r.msg.payload.u64;
}

void fe_set_u64(Fe *fe, uint32_t req, uint64_t v)
{
    g_assert_cmpuint(fe_acked(fe, req, &v, sizeof(v), NULL, 0), ==, 0);
}

void fe_set_state(Fe *fe, uint32_t req, unsigned idx, unsigned num)
{
    VhostUserVringState s = { idx, num };

    g_assert_cmpuint(fe_acked(fe, req, &s, sizeof(s), NULL, 0), ==, 0);
}

/* --- set-up --------------------------------------------------------------- */

void fe_connect(Fe *fe)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    unsigned before = vub_connections(fe->b);

    fe->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    strcpy(sa.sun_path, fe->path);
    g_assert_cmpint(connect(fe->fd, (struct sockaddr *)&sa, sizeof(sa)), ==,
                    0);
    g_assert_true(vub_wait_connections(fe->b, before + 1, FE_TIMEOUT));
}

void fe_init(Fe *fe, const VubOptions *opts_in, bool connect)
{
    g_autoptr(GError) err = NULL;
    VubOptions o;

    memset(fe, 0, sizeof(*fe));
    fe->dir = g_dir_make_tmp("vub-selftest-XXXXXX", &err);
    g_assert_no_error(err);
    fe->path = g_build_filename(fe->dir, "vub.sock", NULL);
    if (opts_in) {
        o = *opts_in;
        o.path = fe->path;
    } else {
        vub_options_init(&o, fe->path);
    }
    fe->b = vub_new(&o);
    fe->fd = -1;
    fe->mem_fd = memfd_create("fe-ram", MFD_CLOEXEC);
    g_assert_cmpint(ftruncate(fe->mem_fd, FE_MEM_SIZE), ==, 0);
    fe->mem = mmap(NULL, FE_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                   fe->mem_fd, 0);
    g_assert(fe->mem != MAP_FAILED);
    for (unsigned i = 0; i < G_N_ELEMENTS(fe->ring); i++) {
        fe->ring[i] = (FeRing) { .idx = i, .kick = -1, .call = -1 };
    }
    if (connect) {
        fe_connect(fe);
    }
}

void fe_cleanup(Fe *fe)
{
    vub_free(fe->b);
    if (fe->fd >= 0) {
        close(fe->fd);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(fe->ring); i++) {
        if (fe->ring[i].kick >= 0) {
            close(fe->ring[i].kick);
            close(fe->ring[i].call);
        }
    }
    munmap(fe->mem, FE_MEM_SIZE);
    close(fe->mem_fd);
    g_rmdir(fe->dir);
    g_free(fe->path);
    g_free(fe->dir);
}

void fe_negotiate(Fe *fe, uint64_t features, uint64_t protocol)
{
    g_assert_cmphex(fe_get_u64(fe, VHOST_USER_GET_FEATURES), ==,
                    VUB_DEFAULT_FEATURES);
    fe_send(fe, VHOST_USER_SET_OWNER, 0, NULL, 0);
    g_assert_cmphex(fe_get_u64(fe, VHOST_USER_GET_PROTOCOL_FEATURES), ==,
                    VUB_DEFAULT_PROTOCOL_FEATURES);
    fe_send(fe, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &protocol, 8);
    fe_send(fe, VHOST_USER_SET_FEATURES, 0, &features, 8);
}

void fe_set_mem_table(Fe *fe)
{
    VhostUserMemory m = {
        .nregions = 1,
        .regions[0] = { .guest_phys_addr = 0, .memory_size = FE_MEM_SIZE,
                        .userspace_addr = FE_UVA, .mmap_offset = 0 },
    };

    g_assert_cmpuint(fe_acked(fe, VHOST_USER_SET_MEM_TABLE, &m,
                              offsetof(VhostUserMemory, regions) +
                              sizeof(m.regions[0]), &fe->mem_fd, 1), ==, 0);
}

/* Send the ring set-up of ring idx starting at base: NUM, BASE, ADDR,
 * KICK, CALL, ENABLE (eventfds made on first use). */
void fe_ring_send(Fe *fe, unsigned idx, unsigned base)
{
    FeRing *r = &fe->ring[idx];
    VhostUserVringAddr a = { .index = idx,
                             .desc_user_addr = FE_UVA + r->desc,
                             .avail_user_addr = FE_UVA + r->avail,
                             .used_user_addr = FE_UVA + r->used };
    uint64_t u = idx;

    fe_set_state(fe, VHOST_USER_SET_VRING_NUM, idx, FE_NUM);
    fe_set_state(fe, VHOST_USER_SET_VRING_BASE, idx, base);
    g_assert_cmpuint(fe_acked(fe, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a),
                              NULL, 0), ==, 0);
    if (r->kick < 0) {
        r->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        r->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    g_assert_cmpuint(fe_acked(fe, VHOST_USER_SET_VRING_KICK, &u, 8,
                              &r->kick, 1), ==, 0);
    g_assert_cmpuint(fe_acked(fe, VHOST_USER_SET_VRING_CALL, &u, 8,
                              &r->call, 1), ==, 0);
    fe_set_state(fe, VHOST_USER_SET_VRING_ENABLE, idx, 1);
}

/* Ring idx lives at 64 KiB + idx * 16 KiB: desc, avail, used a page
 * apart, indices starting at base. */
void fe_ring_start(Fe *fe, unsigned idx, unsigned base)
{
    FeRing *r = &fe->ring[idx];

    r->desc = 0x10000 + idx * 0x4000;
    r->avail = r->desc + 0x1000;
    r->used = r->desc + 0x2000;
    r->avail_idx = base;
    *(uint16_t *)(fe->mem + r->avail + 2) = base;
    *(uint16_t *)(fe->mem + r->used + 2) = base;
    fe_ring_send(fe, idx, base);
}

/* negotiate (all protocol features), mem table, nq rings */
void fe_start(Fe *fe, unsigned nq)
{
    fe_negotiate(fe, VUB_DEFAULT_FEATURES, VUB_DEFAULT_PROTOCOL_FEATURES);
    fe_set_mem_table(fe);
    for (unsigned i = 0; i < nq; i++) {
        fe_ring_start(fe, i, 0);
    }
}

/* --- requests ------------------------------------------------------------- */

/* Buffers of request slot s (0..4) of ring r: header, status, data. */
uint64_t fe_slot_base(const FeRing *r, unsigned s)
{
    return 0x200000 + r->idx * 0x100000 + s * 0x10000;
}

void fe_desc(Fe *fe, FeRing *r, uint16_t i, uint64_t gpa,
             uint32_t len, uint16_t flags)
{
    struct vring_desc *d = (struct vring_desc *)(fe->mem + r->desc) + i;

    *d = (struct vring_desc) { gpa, len, flags, (uint16_t)(i + 1) };
}

/* Queue a blk request; data at its slot (len bytes; for OUT, copied from
 * out).  Returns its slot. */
unsigned fe_blk(Fe *fe, unsigned idx, uint32_t type, uint64_t sector,
                const void *out, uint32_t len)
{
    FeRing *r = &fe->ring[idx];
    unsigned slot = r->avail_idx % 5;
    uint64_t base = fe_slot_base(r, slot);
    struct virtio_blk_outhdr h = { .type = type, .sector = sector };
    uint16_t head = slot * 3, dflags;
    struct vring_avail *av = (struct vring_avail *)(fe->mem + r->avail);

    memcpy(fe->mem + base, &h, sizeof(h));
    fe->mem[base + 0x20] = 0xee;
    if (type == VIRTIO_BLK_T_OUT) {
        memcpy(fe->mem + base + 0x1000, out, len);
    }
    dflags = VRING_DESC_F_NEXT | (type == VIRTIO_BLK_T_OUT ? 0 :
                                  VRING_DESC_F_WRITE);
    fe_desc(fe, r, head, base, sizeof(h), VRING_DESC_F_NEXT);
    fe_desc(fe, r, head + 1, base + 0x1000, len, dflags);
    fe_desc(fe, r, head + 2, base + 0x20, 1, VRING_DESC_F_WRITE);
    av->ring[r->avail_idx % FE_NUM] = head;
    __atomic_store_n(&av->idx, ++r->avail_idx, __ATOMIC_RELEASE);
    return slot;
}

uint8_t fe_status(Fe *fe, unsigned idx, unsigned slot)
{
    return fe->mem[fe_slot_base(&fe->ring[idx], slot) + 0x20];
}

uint8_t *fe_data(Fe *fe, unsigned idx, unsigned slot)
{
    return fe->mem + fe_slot_base(&fe->ring[idx], slot) + 0x1000;
}

void fe_kick(Fe *fe, unsigned idx)
{
    g_assert_cmpint(eventfd_write(fe->ring[idx].kick, 1), ==, 0);
}

bool fe_wait_call(Fe *fe, unsigned idx)
{
    struct pollfd pfd = { .fd = fe->ring[idx].call, .events = POLLIN };
    eventfd_t v;

    return poll(&pfd, 1, FE_TIMEOUT) == 1 &&
           eventfd_read(fe->ring[idx].call, &v) == 0;
}

struct vring_used *fe_used(Fe *fe, unsigned idx)
{
    return (struct vring_used *)(fe->mem + fe->ring[idx].used);
}

void fe_fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (i * 31 + seed) & 0xff;
    }
}

/* Submit, kick, wait for the call, check the status. */
unsigned fe_blk_sync(Fe *fe, unsigned idx, uint32_t type,
                     uint64_t sector, const void *out, uint32_t len,
                     uint8_t want_status)
{
    unsigned slot = fe_blk(fe, idx, type, sector, out, len);

    fe_kick(fe, idx);
    g_assert_true(fe_wait_call(fe, idx));
    g_assert_cmpuint(fe_status(fe, idx, slot), ==, want_status);
    return slot;
}

bool fe_nothing_arrives(Fe *fe, int ms)
{
    struct pollfd pfd = { .fd = fe->fd, .events = POLLIN };

    return poll(&pfd, 1, ms) == 0;
}
