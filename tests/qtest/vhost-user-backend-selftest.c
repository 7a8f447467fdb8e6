/* SPDX-License-Identifier: MIT */
/*
 * Self-test of the test vhost-user backend (vhost-user-test-backend.h),
 * with no kvmini: the test plays a minimal frontend over the socket with
 * the shared wire-format header.  It negotiates, hands over a memfd as
 * guest memory at guest-physical 0 (with a made-up frontend virtual
 * address, which the backend only uses for translation), builds split
 * rings in it, kicks and checks what landed on the disk, in the used ring
 * and on the call eventfd; then each misbehaviour switch, the backend
 * channel, client mode, the dirty log and fd hygiene.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "vhost-user-test-backend.h"

#define MiB         (1024 * 1024)
#define FE_MEM_SIZE (16 * MiB)
#define FE_UVA      0x7f1200000000ULL   /* "frontend virtual" of gpa 0 */
#define FE_NUM      16
#define FE_TIMEOUT  5000

typedef struct FeReply {
    VhostUserMsg msg;
    int fds[VHOST_USER_MAX_FDS];
    unsigned nfds;
} FeReply;

typedef struct FeRing {
    unsigned idx;
    uint64_t desc, avail, used;     /* gpa */
    uint16_t avail_idx;
    int kick, call;
} FeRing;

typedef struct Fe {
    char *dir;
    char *path;
    Vub *b;
    int fd;
    int mem_fd;
    uint8_t *mem;
    FeRing ring[4];
} Fe;

/* --- the frontend's socket ------------------------------------------------ */

static void fe_send_fds(Fe *fe, uint32_t req, uint32_t flags,
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

static void fe_send(Fe *fe, uint32_t req, uint32_t flags,
                    const void *payload, uint32_t size)
{
    fe_send_fds(fe, req, flags, payload, size, NULL, 0);
}

/* Receive one message on fd; false on timeout or EOF. */
static bool fe_recv_on(int fd, FeReply *r, int timeout_ms)
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

static void fe_reply_close_fds(FeReply *r)
{
    for (unsigned i = 0; i < r->nfds; i++) {
        close(r->fds[i]);
    }
    r->nfds = 0;
}

/* Receive a well-formed reply to req. */
static void fe_expect_reply(Fe *fe, uint32_t req, FeReply *r)
{
    g_assert_true(fe_recv_on(fe->fd, r, FE_TIMEOUT));
    g_assert_cmpuint(r->msg.hdr.request, ==, req);
    g_assert_cmphex(r->msg.hdr.flags, ==,
                    VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
}

static uint64_t fe_get_u64(Fe *fe, uint32_t req)
{
    FeReply r;

    fe_send(fe, req, 0, NULL, 0);
    fe_expect_reply(fe, req, &r);
    g_assert_cmpuint(r.msg.hdr.size, ==, 8);
    g_assert_cmpuint(r.nfds, ==, 0);
    return r.msg.payload.u64;
}

/* Send with NEED_REPLY and return the ack status. */
static uint64_t fe_acked(Fe *fe, uint32_t req, const void *payload,
                         uint32_t size, const int *fds, unsigned nfds)
{
    FeReply r;

    fe_send_fds(fe, req, VHOST_USER_NEED_REPLY, payload, size, fds, nfds);
    fe_expect_reply(fe, req, &r);
    g_assert_cmpuint(r.msg.hdr.size, ==, 8);
    return r.msg.payload.u64;
}

static void fe_set_u64(Fe *fe, uint32_t req, uint64_t v)
{
    g_assert_cmpuint(fe_acked(fe, req, &v, sizeof(v), NULL, 0), ==, 0);
}

static void fe_set_state(Fe *fe, uint32_t req, unsigned idx, unsigned num)
{
    VhostUserVringState s = { idx, num };

    g_assert_cmpuint(fe_acked(fe, req, &s, sizeof(s), NULL, 0), ==, 0);
}

/* --- set-up --------------------------------------------------------------- */

static void fe_connect(Fe *fe)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    unsigned before = vub_connections(fe->b);

    fe->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    strcpy(sa.sun_path, fe->path);
    g_assert_cmpint(connect(fe->fd, (struct sockaddr *)&sa, sizeof(sa)), ==,
                    0);
    g_assert_true(vub_wait_connections(fe->b, before + 1, FE_TIMEOUT));
}

static void fe_init(Fe *fe, const VubOptions *opts_in, bool connect)
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

static void fe_cleanup(Fe *fe)
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

static void fe_negotiate(Fe *fe, uint64_t features, uint64_t protocol)
{
    g_assert_cmphex(fe_get_u64(fe, VHOST_USER_GET_FEATURES), ==,
                    VUB_DEFAULT_FEATURES);
    fe_send(fe, VHOST_USER_SET_OWNER, 0, NULL, 0);
    g_assert_cmphex(fe_get_u64(fe, VHOST_USER_GET_PROTOCOL_FEATURES), ==,
                    VUB_DEFAULT_PROTOCOL_FEATURES);
    fe_send(fe, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &protocol, 8);
    fe_send(fe, VHOST_USER_SET_FEATURES, 0, &features, 8);
}

static void fe_set_mem_table(Fe *fe)
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
static void fe_ring_send(Fe *fe, unsigned idx, unsigned base)
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
static void fe_ring_start(Fe *fe, unsigned idx, unsigned base)
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
static void fe_start(Fe *fe, unsigned nq)
{
    fe_negotiate(fe, VUB_DEFAULT_FEATURES, VUB_DEFAULT_PROTOCOL_FEATURES);
    fe_set_mem_table(fe);
    for (unsigned i = 0; i < nq; i++) {
        fe_ring_start(fe, i, 0);
    }
}

/* --- requests ------------------------------------------------------------- */

/* Buffers of request slot s (0..4) of ring r: header, status, data. */
static uint64_t fe_slot_base(const FeRing *r, unsigned s)
{
    return 0x200000 + r->idx * 0x100000 + s * 0x10000;
}

static void fe_desc(Fe *fe, FeRing *r, uint16_t i, uint64_t gpa,
                    uint32_t len, uint16_t flags)
{
    struct vring_desc *d = (struct vring_desc *)(fe->mem + r->desc) + i;

    *d = (struct vring_desc) { gpa, len, flags, (uint16_t)(i + 1) };
}

/* Queue a blk request; data at its slot (len bytes; for OUT, copied from
 * out).  Returns its slot. */
static unsigned fe_blk(Fe *fe, unsigned idx, uint32_t type, uint64_t sector,
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

static uint8_t fe_status(Fe *fe, unsigned idx, unsigned slot)
{
    return fe->mem[fe_slot_base(&fe->ring[idx], slot) + 0x20];
}

static uint8_t *fe_data(Fe *fe, unsigned idx, unsigned slot)
{
    return fe->mem + fe_slot_base(&fe->ring[idx], slot) + 0x1000;
}

static void fe_kick(Fe *fe, unsigned idx)
{
    g_assert_cmpint(eventfd_write(fe->ring[idx].kick, 1), ==, 0);
}

static bool fe_wait_call(Fe *fe, unsigned idx)
{
    struct pollfd pfd = { .fd = fe->ring[idx].call, .events = POLLIN };
    eventfd_t v;

    return poll(&pfd, 1, FE_TIMEOUT) == 1 &&
           eventfd_read(fe->ring[idx].call, &v) == 0;
}

static struct vring_used *fe_used(Fe *fe, unsigned idx)
{
    return (struct vring_used *)(fe->mem + fe->ring[idx].used);
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (i * 31 + seed) & 0xff;
    }
}

/* Submit, kick, wait for the call, check the status. */
static unsigned fe_blk_sync(Fe *fe, unsigned idx, uint32_t type,
                            uint64_t sector, const void *out, uint32_t len,
                            uint8_t want_status)
{
    unsigned slot = fe_blk(fe, idx, type, sector, out, len);

    fe_kick(fe, idx);
    g_assert_true(fe_wait_call(fe, idx));
    g_assert_cmpuint(fe_status(fe, idx, slot), ==, want_status);
    return slot;
}

/* --- tests: negotiation --------------------------------------------------- */

static void test_negotiate(void)
{
    g_autofree char *log = NULL;
    g_autoptr(VubMsg) m = NULL;
    Fe fe;

    fe_init(&fe, NULL, true);
    fe_negotiate(&fe, VUB_DEFAULT_FEATURES, VUB_DEFAULT_PROTOCOL_FEATURES);
    g_assert_cmpuint(fe_get_u64(&fe, VHOST_USER_GET_QUEUE_NUM), ==, 1);
    g_assert_cmpuint(fe_get_u64(&fe, VHOST_USER_GET_MAX_MEM_SLOTS), ==, 32);
    fe_set_u64(&fe, VHOST_USER_SET_STATUS, 0xf);
    g_assert_cmpuint(fe_get_u64(&fe, VHOST_USER_GET_STATUS), ==, 0xf);
    g_assert_cmpuint(vub_status(fe.b), ==, 0xf);
    log = vub_log_string(fe.b, 0);
    g_assert_cmpstr(log, ==, "GET_FEATURES SET_OWNER GET_PROTOCOL_FEATURES "
                    "SET_PROTOCOL_FEATURES SET_FEATURES GET_QUEUE_NUM "
                    "GET_MAX_MEM_SLOTS SET_STATUS GET_STATUS");
    g_assert_cmphex(vub_acked_features(fe.b), ==, VUB_DEFAULT_FEATURES);
    g_assert_cmphex(vub_acked_protocol_features(fe.b), ==,
                    VUB_DEFAULT_PROTOCOL_FEATURES);
    m = vub_find(fe.b, VHOST_USER_SET_FEATURES, 0);
    g_assert_nonnull(m);
    g_assert_cmphex(m->flags, ==, VHOST_USER_VERSION);
    g_assert_cmpuint(m->size, ==, 8);
    g_assert_cmpmem(m->payload, 8, &(uint64_t){ VUB_DEFAULT_FEATURES }, 8);
    g_assert_cmpuint(m->nfds, ==, 0);
    g_assert_cmpuint(m->conn, ==, 1);
    g_assert_null(vub_find(fe.b, VHOST_USER_SET_FEATURES, 1));
    g_assert_cmpuint(vub_count(fe.b, VHOST_USER_GET_FEATURES), ==, 1);
    vub_log_clear(fe.b);
    g_assert_cmpuint(vub_log_len(fe.b), ==, 0);
    fe_cleanup(&fe);
}

static void test_custom_features(void)
{
    uint64_t f = VUB_BIT(32), pf = VUB_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK);
    uint64_t bad = f | VUB_BIT(9);
    VubOptions o;
    Fe fe;

    vub_options_init(&o, "unused");
    o.features = f;
    o.protocol_features = pf;
    fe_init(&fe, &o, true);
    g_assert_cmphex(fe_get_u64(&fe, VHOST_USER_GET_FEATURES), ==, f);
    g_assert_cmphex(fe_get_u64(&fe, VHOST_USER_GET_PROTOCOL_FEATURES), ==,
                    pf);
    /* A feature that was not offered is refused. */
    g_assert_cmpuint(fe_acked(&fe, VHOST_USER_SET_FEATURES, &bad, 8, NULL,
                              0), ==, 1);
    vub_set_features(fe.b, bad);
    vub_set_protocol_features(fe.b, 0);
    g_assert_cmphex(fe_get_u64(&fe, VHOST_USER_GET_FEATURES), ==, bad);
    g_assert_cmphex(fe_get_u64(&fe, VHOST_USER_GET_PROTOCOL_FEATURES), ==, 0);
    fe_set_u64(&fe, VHOST_USER_SET_FEATURES, bad);
    g_assert_cmphex(vub_acked_features(fe.b), ==, bad);
    fe_cleanup(&fe);
}

/* --- tests: the data path ------------------------------------------------- */

static void test_blk_io(void)
{
    uint8_t buf[4096], back[4096];
    struct vring_used *used;
    VubVringInfo info;
    VubBlkStats st;
    unsigned s;
    Fe fe;

    fe_init(&fe, NULL, true);
    fe_start(&fe, 1);
    used = fe_used(&fe, 0);
    fill(buf, sizeof(buf), 1);
    fe_blk_sync(&fe, 0, VIRTIO_BLK_T_OUT, 8, buf, sizeof(buf),
                VIRTIO_BLK_S_OK);
    g_assert_cmpuint(used->idx, ==, 1);
    g_assert_cmpuint(used->ring[0].id, ==, 0);
    g_assert_cmpuint(used->ring[0].len, ==, 1);
    vub_disk_read(fe.b, 8 * 512, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));

    fill(buf, sizeof(buf), 2);
    vub_disk_write(fe.b, 100 * 512, buf, sizeof(buf));
    s = fe_blk_sync(&fe, 0, VIRTIO_BLK_T_IN, 100, NULL, sizeof(buf),
                    VIRTIO_BLK_S_OK);
    g_assert_cmpmem(fe_data(&fe, 0, s), sizeof(buf), buf, sizeof(buf));
    g_assert_cmpuint(used->ring[1].id, ==, 3);
    g_assert_cmpuint(used->ring[1].len, ==, sizeof(buf) + 1);
    /* The backend's view of guest memory is the same memory. */
    g_assert_true(vub_read_guest(fe.b, fe_slot_base(&fe.ring[0], s) + 0x1000,
                                 back, sizeof(back)));
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    g_assert_false(vub_read_guest(fe.b, FE_MEM_SIZE - 8, back, 16));

    fe_blk_sync(&fe, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, VIRTIO_BLK_S_OK);
    s = fe_blk_sync(&fe, 0, VIRTIO_BLK_T_GET_ID, 0, NULL, 20,
                    VIRTIO_BLK_S_OK);
    g_assert_cmpstr((char *)fe_data(&fe, 0, s), ==, VUB_SERIAL);
    fe_blk_sync(&fe, 0, VIRTIO_BLK_T_IN, 64 * MiB / 512 - 1, NULL, 1024,
                VIRTIO_BLK_S_IOERR);
    fe_blk_sync(&fe, 0, 99, 0, NULL, 512, VIRTIO_BLK_S_UNSUPP);

    st = vub_blk_stats(fe.b);
    g_assert_cmpuint(st.writes, ==, 1);
    g_assert_cmpuint(st.reads, ==, 1);
    g_assert_cmpuint(st.flushes, ==, 1);
    g_assert_cmpuint(st.get_ids, ==, 1);
    g_assert_cmpuint(st.ioerr, ==, 1);
    g_assert_cmpuint(st.unsupported, ==, 1);
    g_assert_cmpuint(st.bytes_written, ==, 4096);
    info = vub_vring_info(fe.b, 0);
    g_assert_cmpuint(info.completed, ==, 6);
    g_assert_cmpuint(info.last_avail, ==, 6);
    g_assert_cmpuint(info.used_idx, ==, 6);
    g_assert_cmpuint(info.calls, ==, 6);
    g_assert_cmpuint(info.kicks, ==, 6);
    g_assert_true(info.started && info.enabled && info.addr_set);
    g_assert_true(vub_wait_completed(fe.b, 0, 6, 0));
    fe_cleanup(&fe);
}

/* Header and the first data sector share a descriptor; the rest of the
 * data comes in two more; status alone. */
static void test_blk_split_chain(void)
{
    FeRing *r;
    struct vring_avail *av;
    struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_OUT, .sector = 3 };
    uint8_t buf[1536], back[1536];
    Fe fe;

    fe_init(&fe, NULL, true);
    fe_start(&fe, 1);
    r = &fe.ring[0];
    av = (struct vring_avail *)(fe.mem + r->avail);
    fill(buf, sizeof(buf), 9);
    memcpy(fe.mem + 0x300000, &h, sizeof(h));
    memcpy(fe.mem + 0x300000 + sizeof(h), buf, 512);
    memcpy(fe.mem + 0x310000, buf + 512, 512);
    memcpy(fe.mem + 0x320000, buf + 1024, 512);
    fe_desc(&fe, r, 4, 0x300000, sizeof(h) + 512, VRING_DESC_F_NEXT);
    fe_desc(&fe, r, 5, 0x310000, 512, VRING_DESC_F_NEXT);
    fe_desc(&fe, r, 6, 0x320000, 512, VRING_DESC_F_NEXT);
    fe_desc(&fe, r, 7, 0x330000, 1, VRING_DESC_F_WRITE);
    av->ring[0] = 4;
    __atomic_store_n(&av->idx, 1, __ATOMIC_RELEASE);
    fe_kick(&fe, 0);
    g_assert_true(fe_wait_call(&fe, 0));
    g_assert_cmpuint(fe.mem[0x330000], ==, VIRTIO_BLK_S_OK);
    vub_disk_read(fe.b, 3 * 512, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    fe_cleanup(&fe);
}

static void test_vring_base(void)
{
    uint8_t buf[512] = { 1, 2, 3 };
    FeReply r;
    VubVringInfo info;
    VhostUserVringState s = { 0, 0 };
    Fe fe;

    fe_init(&fe, NULL, true);
    fe_start(&fe, 1);
    for (int i = 0; i < 3; i++) {
        fe_blk_sync(&fe, 0, VIRTIO_BLK_T_OUT, i, buf, sizeof(buf),
                    VIRTIO_BLK_S_OK);
    }
    fe_send(&fe, VHOST_USER_GET_VRING_BASE, 0, &s, sizeof(s));
    fe_expect_reply(&fe, VHOST_USER_GET_VRING_BASE, &r);
    g_assert_cmpuint(r.msg.hdr.size, ==, sizeof(s));
    g_assert_cmpuint(r.msg.payload.state.index, ==, 0);
    g_assert_cmpuint(r.msg.payload.state.num, ==, 3);
    info = vub_vring_info(fe.b, 0);
    g_assert_false(info.started);
    g_assert_false(info.has_kick || info.has_call);

    /* Stopped: a kick on the old fd goes nowhere. */
    fe_blk(&fe, 0, VIRTIO_BLK_T_OUT, 7, buf, sizeof(buf));
    fe_kick(&fe, 0);
    g_assert_false(vub_wait_completed(fe.b, 0, 4, 200));

    /* Restarted from 3: the pending entry is served at once. */
    fe_ring_send(&fe, 0, 3);
    g_assert_true(vub_wait_completed(fe.b, 0, 4, FE_TIMEOUT));
    g_assert_cmpuint(fe_used(&fe, 0)->idx, ==, 4);
    g_assert_cmpuint(vub_vring_info(fe.b, 0).last_avail, ==, 4);
    fe_cleanup(&fe);
}

static void test_multiqueue(void)
{
    VhostUserConfig c = { .offset = 0,
                          .size = sizeof(struct virtio_blk_config) };
    struct virtio_blk_config cfg;
    uint8_t buf[512], back[512];
    VubOptions o;
    FeReply r;
    Fe fe;

    vub_options_init(&o, "unused");
    o.num_queues = 4;
    fe_init(&fe, &o, true);
    fe_negotiate(&fe, VUB_DEFAULT_FEATURES, VUB_DEFAULT_PROTOCOL_FEATURES);
    g_assert_cmpuint(fe_get_u64(&fe, VHOST_USER_GET_QUEUE_NUM), ==, 4);
    fe_send(&fe, VHOST_USER_GET_CONFIG, 0, &c,
            VHOST_USER_CONFIG_HDR_SIZE + c.size);
    fe_expect_reply(&fe, VHOST_USER_GET_CONFIG, &r);
    memcpy(&cfg, r.msg.payload.config.region, sizeof(cfg));
    g_assert_cmpuint(cfg.num_queues, ==, 4);
    fe_set_mem_table(&fe);
    for (unsigned q = 0; q < 4; q++) {
        fe_ring_start(&fe, q, 0);
    }
    for (unsigned q = 0; q < 4; q++) {
        fill(buf, sizeof(buf), q + 10);
        fe_blk_sync(&fe, q, VIRTIO_BLK_T_OUT, 10 + q, buf, sizeof(buf),
                    VIRTIO_BLK_S_OK);
    }
    for (unsigned q = 0; q < 4; q++) {
        fill(buf, sizeof(buf), q + 10);
        vub_disk_read(fe.b, (10 + q) * 512, back, sizeof(back));
        g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
        g_assert_cmpuint(vub_vring_info(fe.b, q).completed, ==, 1);
    }
    fe_cleanup(&fe);
}

/* --- tests: replies and misbehaviour -------------------------------------- */

static bool fe_nothing_arrives(Fe *fe, int ms)
{
    struct pollfd pfd = { .fd = fe->fd, .events = POLLIN };

    return poll(&pfd, 1, ms) == 0;
}

static void test_reply_ack(void)
{
    VhostUserVringState s = { 0, 16 }, odd = { 0, 100 };
    uint64_t f = VUB_DEFAULT_FEATURES;
    Fe fe;

    fe_init(&fe, NULL, true);
    g_assert_cmpuint(fe_acked(&fe, VHOST_USER_SET_VRING_NUM, &s, sizeof(s),
                              NULL, 0), ==, 0);
    vub_add_fault(fe.b, VUB_FAULT_ACK_STATUS, VHOST_USER_SET_VRING_NUM, 7,
                  true);
    g_assert_cmpuint(fe_acked(&fe, VHOST_USER_SET_VRING_NUM, &s, sizeof(s),
                              NULL, 0), ==, 7);
    g_assert_cmpuint(fe_acked(&fe, VHOST_USER_SET_VRING_NUM, &s, sizeof(s),
                              NULL, 0), ==, 0);
    g_assert_cmpuint(fe_acked(&fe, VHOST_USER_SET_VRING_NUM, &odd,
                              sizeof(odd), NULL, 0), ==, 1);
    g_assert_cmpuint(fe_acked(&fe, 35, NULL, 0, NULL, 0), ==, 1);
    /* Without NEED_REPLY nothing comes back. */
    fe_send(&fe, VHOST_USER_SET_FEATURES, 0, &f, 8);
    g_assert_true(fe_nothing_arrives(&fe, 100));
    fe_cleanup(&fe);
}

static void test_fault_replies(void)
{
    uint64_t f = VUB_DEFAULT_FEATURES;
    uint8_t big[4096];
    FeReply r;
    Fe fe;

    fe_init(&fe, NULL, true);
    vub_add_fault(fe.b, VUB_FAULT_REPLY_SIZE, VHOST_USER_GET_FEATURES, 16,
                  true);
    fe_send(&fe, VHOST_USER_GET_FEATURES, 0, NULL, 0);
    g_assert_true(fe_recv_on(fe.fd, &r, FE_TIMEOUT));
    g_assert_cmpuint(r.msg.hdr.size, ==, 16);
    g_assert_cmphex(r.msg.payload.u64, ==, f);

    /* Larger than any payload: exactly that many bytes follow. */
    vub_add_fault(fe.b, VUB_FAULT_REPLY_SIZE, VHOST_USER_GET_FEATURES,
                  sizeof(big), true);
    fe_send(&fe, VHOST_USER_GET_FEATURES, 0, NULL, 0);
    g_assert_cmpint(recv(fe.fd, &r.msg.hdr, 12, MSG_WAITALL), ==, 12);
    g_assert_cmpuint(r.msg.hdr.size, ==, sizeof(big));
    g_assert_cmpint(recv(fe.fd, big, sizeof(big), MSG_WAITALL), ==,
                    sizeof(big));
    g_assert_true(fe_nothing_arrives(&fe, 50));

    vub_add_fault(fe.b, VUB_FAULT_REPLY_REQUEST, VHOST_USER_GET_FEATURES, 99,
                  true);
    fe_send(&fe, VHOST_USER_GET_FEATURES, 0, NULL, 0);
    g_assert_true(fe_recv_on(fe.fd, &r, FE_TIMEOUT));
    g_assert_cmpuint(r.msg.hdr.request, ==, 99);

    vub_add_fault(fe.b, VUB_FAULT_REPLY_FLAGS, VUB_ANY_REQUEST,
                  VHOST_USER_VERSION, true);
    fe_send(&fe, VHOST_USER_GET_QUEUE_NUM, 0, NULL, 0);
    g_assert_true(fe_recv_on(fe.fd, &r, FE_TIMEOUT));
    g_assert_cmphex(r.msg.hdr.flags, ==, VHOST_USER_VERSION);

    vub_add_fault(fe.b, VUB_FAULT_REPLY_FD, VHOST_USER_GET_FEATURES, 0,
                  false);
    for (int i = 0; i < 2; i++) {
        fe_send(&fe, VHOST_USER_GET_FEATURES, 0, NULL, 0);
        fe_expect_reply(&fe, VHOST_USER_GET_FEATURES, &r);
        g_assert_cmpuint(r.nfds, ==, 1);
        fe_reply_close_fds(&r);
    }
    vub_clear_faults(fe.b);

    vub_add_fault(fe.b, VUB_FAULT_NO_REPLY, VHOST_USER_GET_FEATURES, 0,
                  true);
    fe_send(&fe, VHOST_USER_GET_FEATURES, 0, NULL, 0);
    g_assert_true(fe_nothing_arrives(&fe, 100));
    g_assert_cmphex(fe_get_u64(&fe, VHOST_USER_GET_FEATURES), ==, f);
    g_assert_cmpuint(fe_get_u64(&fe, VHOST_USER_GET_QUEUE_NUM), ==, 1);
    fe_cleanup(&fe);
}

static void test_drop_at(void)
{
    g_autofree char *err = NULL;
    g_autoptr(VubMsg) m = NULL;
    FeReply r;
    Fe fe;

    fe_init(&fe, NULL, true);
    vub_drop_at(fe.b, 3);
    fe_get_u64(&fe, VHOST_USER_GET_FEATURES);
    fe_send(&fe, VHOST_USER_SET_OWNER, 0, NULL, 0);
    fe_send(&fe, VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0);
    g_assert_false(fe_recv_on(fe.fd, &r, FE_TIMEOUT));     /* EOF */
    g_assert_true(vub_wait_disconnected(fe.b, FE_TIMEOUT));
    err = vub_last_error(fe.b);
    g_assert_cmpstr(err, ==,
                    "message 3 (GET_PROTOCOL_FEATURES) dropped on purpose");
    g_assert_cmpuint(vub_log_len(fe.b), ==, 3);

    /* The backend takes the next frontend. */
    close(fe.fd);
    fe_connect(&fe);
    g_assert_true(vub_connected(fe.b));
    g_assert_cmpuint(vub_connections(fe.b), ==, 2);
    fe_get_u64(&fe, VHOST_USER_GET_PROTOCOL_FEATURES);
    m = vub_find(fe.b, VHOST_USER_GET_PROTOCOL_FEATURES, -1);
    g_assert_cmpuint(m->conn, ==, 2);
    fe_cleanup(&fe);
}

typedef enum BadKind {
    BAD_TOO_LARGE, BAD_VERSION, BAD_KICK_NO_FD, BAD_RING_INDEX,
    BAD_MEM_TABLE_FDS, BAD_SHORT,
} BadKind;

static void fe_send_bad(Fe *fe, BadKind kind)
{
    VhostUserHeader h = { VHOST_USER_SET_FEATURES, VHOST_USER_VERSION,
                          5000 };
    VhostUserVringState s = { 5, 16 };
    VhostUserMemory m = { .nregions = 2 };
    uint64_t u = 0;

    switch (kind) {
    case BAD_TOO_LARGE:
        g_assert_cmpint(send(fe->fd, &h, sizeof(h), 0), ==, sizeof(h));
        break;
    case BAD_VERSION:
        fe_send(fe, VHOST_USER_GET_FEATURES, 2, NULL, 0);
        break;
    case BAD_KICK_NO_FD:
        fe_send(fe, VHOST_USER_SET_VRING_KICK, 0, &u, 8);
        break;
    case BAD_RING_INDEX:
        fe_send(fe, VHOST_USER_SET_VRING_NUM, 0, &s, sizeof(s));
        break;
    case BAD_MEM_TABLE_FDS:
        fe_send_fds(fe, VHOST_USER_SET_MEM_TABLE, 0, &m, sizeof(m),
                    &fe->mem_fd, 1);
        break;
    case BAD_SHORT:
        fe_send(fe, VHOST_USER_SET_FEATURES, 0, &u, 4);
        break;
    }
}

static void test_protocol_errors(void)
{
    static const char *const why[] = {
        [BAD_TOO_LARGE] = "SET_FEATURES: payload of 5000 bytes too large",
        [BAD_VERSION] = "GET_FEATURES: bad flags 0x3",
        [BAD_KICK_NO_FD] = "SET_VRING_KICK: no fd and no NOFD bit",
        [BAD_RING_INDEX] = "SET_VRING_NUM: ring 5 out of range (1 queues)",
        [BAD_MEM_TABLE_FDS] = "SET_MEM_TABLE: 2 regions, 264 bytes, 1 fds",
        [BAD_SHORT] = "SET_FEATURES: payload of 4 bytes, want at least 8",
    };
    FeReply r;
    Fe fe;

    fe_init(&fe, NULL, false);
    for (unsigned k = 0; k < G_N_ELEMENTS(why); k++) {
        g_autofree char *err = NULL;

        fe_connect(&fe);
        fe_send_bad(&fe, k);
        g_assert_false(fe_recv_on(fe.fd, &r, FE_TIMEOUT));
        g_assert_true(vub_wait_disconnected(fe.b, FE_TIMEOUT));
        err = vub_last_error(fe.b);
        g_assert_cmpstr(err, ==, why[k]);
        close(fe.fd);
        fe.fd = -1;
    }
    fe_cleanup(&fe);
}

/* --- tests: config, inflight, memory slots -------------------------------- */

static void fe_get_config(Fe *fe, uint32_t offset, uint32_t size, void *out)
{
    VhostUserConfig c = { .offset = offset, .size = size };
    FeReply r;

    fe_send(fe, VHOST_USER_GET_CONFIG, 0, &c,
            VHOST_USER_CONFIG_HDR_SIZE + size);
    fe_expect_reply(fe, VHOST_USER_GET_CONFIG, &r);
    g_assert_cmpuint(r.msg.hdr.size, ==, VHOST_USER_CONFIG_HDR_SIZE + size);
    g_assert_cmpuint(r.msg.payload.config.offset, ==, offset);
    g_assert_cmpuint(r.msg.payload.config.size, ==, size);
    memcpy(out, r.msg.payload.config.region, size);
}

static void test_config(void)
{
    VhostUserConfig set = { .offset = offsetof(struct virtio_blk_config,
                                               wce),
                            .size = 1, .region = { 0 } };
    struct virtio_blk_config cfg;
    uint32_t seg_max;
    uint8_t wce;
    Fe fe;

    fe_init(&fe, NULL, true);
    fe_get_config(&fe, 0, sizeof(cfg), &cfg);
    g_assert_cmpuint(cfg.capacity, ==, 64 * MiB / 512);
    g_assert_cmpuint(cfg.blk_size, ==, 512);
    g_assert_cmpuint(cfg.seg_max, ==, VUB_SEG_MAX);
    g_assert_cmpuint(cfg.num_queues, ==, 1);
    g_assert_cmpuint(cfg.wce, ==, 1);
    fe_get_config(&fe, offsetof(struct virtio_blk_config, seg_max), 4,
                  &seg_max);
    g_assert_cmpuint(seg_max, ==, VUB_SEG_MAX);
    g_assert_cmpuint(fe_acked(&fe, VHOST_USER_SET_CONFIG, &set,
                              VHOST_USER_CONFIG_HDR_SIZE + 1, NULL, 0), ==,
                     0);
    fe_get_config(&fe, set.offset, 1, &wce);
    g_assert_cmpuint(wce, ==, 0);
    vub_set_capacity(fe.b, 1234);
    fe_get_config(&fe, 0, sizeof(cfg), &cfg);
    g_assert_cmpuint(cfg.capacity, ==, 1234);
    fe_cleanup(&fe);
}

static void test_inflight(void)
{
    VhostUserInflight in = { .num_queues = 2, .queue_size = 128 };
    struct stat st;
    FeReply r;
    Fe fe;

    fe_init(&fe, NULL, true);
    fe_send(&fe, VHOST_USER_GET_INFLIGHT_FD, 0, &in, sizeof(in));
    fe_expect_reply(&fe, VHOST_USER_GET_INFLIGHT_FD, &r);
    g_assert_cmpuint(r.msg.hdr.size, ==, sizeof(in));
    g_assert_cmpuint(r.nfds, ==, 1);
    g_assert_cmpuint(r.msg.payload.inflight.mmap_size, ==, 2 * 2112);
    g_assert_cmpuint(r.msg.payload.inflight.mmap_offset, ==, 0);
    g_assert_cmpint(fstat(r.fds[0], &st), ==, 0);
    g_assert_cmpuint(st.st_size, ==, 2 * 2112);
    in = r.msg.payload.inflight;
    g_assert_cmpuint(fe_acked(&fe, VHOST_USER_SET_INFLIGHT_FD, &in,
                              sizeof(in), r.fds, 1), ==, 0);
    fe_reply_close_fds(&r);
    fe_cleanup(&fe);
}

static uint64_t fe_mem_reg(Fe *fe, uint32_t req, int fd, uint64_t gpa,
                           uint64_t size, uint64_t uva, uint64_t offset)
{
    VhostUserMemRegMsg m = { .region = { gpa, size, uva, offset } };

    return fe_acked(fe, req, &m, sizeof(m), &fd, fd >= 0);
}

static void test_mem_slots(void)
{
    int fd = memfd_create("fe-extra", MFD_CLOEXEC);
    uint64_t hi = 0x100000000ULL;
    VhostUserMemoryRegion regs[4];
    uint8_t *extra;
    uint32_t v = 0;
    VubOptions o;
    Fe fe;

    vub_options_init(&o, "unused");
    o.max_mem_slots = 2;
    fe_init(&fe, &o, true);
    g_assert_cmpuint(fe_get_u64(&fe, VHOST_USER_GET_MAX_MEM_SLOTS), ==, 2);
    g_assert_cmpint(ftruncate(fd, 2 * MiB), ==, 0);
    extra = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    g_assert(extra != MAP_FAILED);
    memcpy(extra + MiB + 4, "slot", 4);
    memcpy(fe.mem + 64, "low!", 4);

    /* 1 MiB of the memfd, from offset 1 MiB, at 4 GiB. */
    g_assert_cmpuint(fe_mem_reg(&fe, VHOST_USER_ADD_MEM_REG, fe.mem_fd, 0,
                                FE_MEM_SIZE, FE_UVA, 0), ==, 0);
    g_assert_cmpuint(fe_mem_reg(&fe, VHOST_USER_ADD_MEM_REG, fd, hi, MiB,
                                0x7f3400000000ULL, MiB), ==, 0);
    g_assert_cmpuint(vub_mem_regions(fe.b, regs, 4), ==, 2);
    g_assert_cmphex(regs[1].guest_phys_addr, ==, hi);
    g_assert_cmphex(regs[1].mmap_offset, ==, MiB);
    g_assert_true(vub_read_guest(fe.b, hi + 4, &v, 4));
    g_assert_cmpmem(&v, 4, "slot", 4);
    g_assert_true(vub_read_guest(fe.b, 64, &v, 4));
    g_assert_cmpmem(&v, 4, "low!", 4);
    g_assert_true(vub_write_guest(fe.b, hi + 8, "back", 4));
    g_assert_cmpmem(extra + MiB + 8, 4, "back", 4);

    /* Slots full; then remove and the table shrinks. */
    g_assert_cmpuint(fe_mem_reg(&fe, VHOST_USER_ADD_MEM_REG, fd, 2 * hi,
                                MiB, 0x7f3500000000ULL, 0), ==, 1);
    g_assert_cmpuint(fe_mem_reg(&fe, VHOST_USER_REM_MEM_REG, -1, hi, MiB,
                                0x7f3400000000ULL, 0), ==, 0);
    g_assert_cmpuint(vub_mem_regions(fe.b, NULL, 0), ==, 1);
    g_assert_false(vub_read_guest(fe.b, hi + 4, &v, 4));
    g_assert_cmpuint(fe_mem_reg(&fe, VHOST_USER_REM_MEM_REG, fd, hi, MiB,
                                0x7f3400000000ULL, 0), ==, 1);
    munmap(extra, 2 * MiB);
    close(fd);
    fe_cleanup(&fe);
}

/* --- tests: the backend channel ------------------------------------------- */

typedef struct SendJob {
    Vub *b;
    uint64_t status;
    bool ok;
} SendJob;

static gpointer send_config_change_thread(gpointer opaque)
{
    SendJob *j = opaque;

    j->ok = vub_send_config_change(j->b, true, &j->status);
    return NULL;
}

static void test_backend_channel(void)
{
    VhostUserIotlb io = { .iova = 0x1000, .size = 0x2000, .uaddr = 0x3000,
                          .perm = 3, .type = 2 };
    VhostUserHeader ack = { VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
                            VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, 8 };
    uint64_t zero[2] = { 0 };
    SendJob job;
    GThread *t;
    FeReply r;
    int sv[2];
    Fe fe;

    fe_init(&fe, NULL, true);
    g_assert_false(vub_send_config_change(fe.b, false, NULL));
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    g_assert_cmpuint(fe_acked(&fe, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0,
                              &sv[1], 1), ==, 0);
    close(sv[1]);
    g_assert_true(vub_has_backend_channel(fe.b));

    g_assert_true(vub_send_config_change(fe.b, false, NULL));
    g_assert_true(fe_recv_on(sv[0], &r, FE_TIMEOUT));
    g_assert_cmpuint(r.msg.hdr.request, ==,
                     VHOST_USER_BACKEND_CONFIG_CHANGE_MSG);
    g_assert_cmphex(r.msg.hdr.flags, ==, VHOST_USER_VERSION);
    g_assert_cmpuint(r.msg.hdr.size, ==, 0);

    /* With NEED_REPLY the sender waits for the frontend's answer. */
    job = (SendJob) { .b = fe.b, .status = 99 };
    t = g_thread_new("send", send_config_change_thread, &job);
    g_assert_true(fe_recv_on(sv[0], &r, FE_TIMEOUT));
    g_assert_cmphex(r.msg.hdr.flags, ==,
                    VHOST_USER_VERSION | VHOST_USER_NEED_REPLY);
    g_assert_cmpint(send(sv[0], &ack, sizeof(ack), 0), ==, sizeof(ack));
    g_assert_cmpint(send(sv[0], zero, 8, 0), ==, 8);
    g_thread_join(t);
    g_assert_true(job.ok);
    g_assert_cmpuint(job.status, ==, 0);

    g_assert_true(vub_send_host_notifier(fe.b, 1, true, false, NULL));
    g_assert_true(fe_recv_on(sv[0], &r, FE_TIMEOUT));
    g_assert_cmpuint(r.msg.hdr.request, ==,
                     VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG);
    g_assert_cmpuint(r.msg.hdr.size, ==, sizeof(VhostUserVringArea));
    g_assert_cmpuint(r.nfds, ==, 1);
    g_assert_cmphex(r.msg.payload.area.u64, ==, 1);
    g_assert_cmpuint(r.msg.payload.area.size, ==, 4096);
    fe_reply_close_fds(&r);
    g_assert_true(vub_send_host_notifier(fe.b, 2, false, false, NULL));
    g_assert_true(fe_recv_on(sv[0], &r, FE_TIMEOUT));
    g_assert_cmphex(r.msg.payload.area.u64, ==,
                    2 | VHOST_USER_VRING_NOFD_MASK);
    g_assert_cmpuint(r.nfds, ==, 0);

    g_assert_true(vub_send_iotlb(fe.b, &io, false, NULL));
    g_assert_true(fe_recv_on(sv[0], &r, FE_TIMEOUT));
    g_assert_cmpuint(r.msg.hdr.request, ==, VHOST_USER_BACKEND_IOTLB_MSG);
    g_assert_cmpmem(&r.msg.payload.iotlb, sizeof(io), &io, sizeof(io));

    /* No answer: the sender gives up. */
    g_assert_false(vub_backend_send(fe.b, VHOST_USER_BACKEND_IOTLB_MSG, &io,
                                    sizeof(io), -1, true, NULL, 100));
    close(sv[0]);
    fe_cleanup(&fe);
}

/* --- tests: client mode --------------------------------------------------- */

static int fe_listen(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    strcpy(sa.sun_path, path);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    return fd;
}

static int fe_accept(int lfd)
{
    struct pollfd pfd = { .fd = lfd, .events = POLLIN };

    g_assert_cmpint(poll(&pfd, 1, FE_TIMEOUT), ==, 1);
    return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void test_client_mode(void)
{
    VubOptions o;
    Fe fe;
    int lfd;

    vub_options_init(&o, "unused");
    o.client = true;
    o.redial = true;
    fe_init(&fe, &o, false);
    lfd = fe_listen(fe.path);
    fe.fd = fe_accept(lfd);
    g_assert_cmpint(fe.fd, >=, 0);
    g_assert_true(vub_wait_connections(fe.b, 1, FE_TIMEOUT));
    g_assert_cmphex(fe_get_u64(&fe, VHOST_USER_GET_FEATURES), ==,
                    VUB_DEFAULT_FEATURES);
    /* The frontend goes away; the backend dials again. */
    close(fe.fd);
    fe.fd = fe_accept(lfd);
    g_assert_cmpint(fe.fd, >=, 0);
    g_assert_true(vub_wait_connections(fe.b, 2, FE_TIMEOUT));
    g_assert_cmpuint(fe_get_u64(&fe, VHOST_USER_GET_QUEUE_NUM), ==, 1);
    close(lfd);
    unlink(fe.path);
    fe_cleanup(&fe);
}

static void test_client_timeout(void)
{
    g_autofree char *err = NULL;
    VubOptions o;
    Vub *b;

    vub_options_init(&o, "/nonexistent/vub.sock");
    o.client = true;
    o.connect_timeout_ms = 50;
    b = vub_new(&o);
    g_usleep(300 * 1000);
    err = vub_last_error(b);
    g_assert_true(g_str_has_prefix(err, "cannot connect to "
                                   "/nonexistent/vub.sock"));
    g_assert_false(vub_connected(b));
    vub_free(b);
}

/* --- tests: dirty log and fds --------------------------------------------- */

static void test_dirty_log(void)
{
    int lfd = memfd_create("fe-log", MFD_CLOEXEC);
    size_t log_size = FE_MEM_SIZE / 4096 / 8;
    VhostUserLog l = { .mmap_size = log_size, .mmap_offset = 0 };
    VhostUserVringAddr a;
    FeReply r;
    uint8_t *log;
    unsigned s;
    Fe fe;

    g_assert_cmpint(ftruncate(lfd, log_size), ==, 0);
    log = mmap(NULL, log_size, PROT_READ | PROT_WRITE, MAP_SHARED, lfd, 0);
    fe_init(&fe, NULL, true);
    fe_start(&fe, 1);
    fe_send_fds(&fe, VHOST_USER_SET_LOG_BASE, 0, &l, sizeof(l), &lfd, 1);
    fe_expect_reply(&fe, VHOST_USER_SET_LOG_BASE, &r);
    g_assert_cmpuint(r.msg.payload.u64, ==, 0);
    a = (VhostUserVringAddr) { .index = 0, .flags = 1 << VHOST_VRING_F_LOG,
                               .desc_user_addr = FE_UVA + fe.ring[0].desc,
                               .avail_user_addr = FE_UVA + fe.ring[0].avail,
                               .used_user_addr = FE_UVA + fe.ring[0].used,
                               .log_guest_addr = fe.ring[0].used };
    g_assert_cmpuint(fe_acked(&fe, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a),
                              NULL, 0), ==, 0);

    s = fe_blk_sync(&fe, 0, VIRTIO_BLK_T_IN, 0, NULL, 8192,
                    VIRTIO_BLK_S_OK);
    for (size_t pg = 0; pg < FE_MEM_SIZE / 4096; pg++) {
        uint64_t base = fe_slot_base(&fe.ring[0], s);
        bool want = pg == base / 4096 ||                  /* status */
                    pg == base / 4096 + 1 || pg == base / 4096 + 2 ||
                    pg == fe.ring[0].used / 4096;          /* used ring */
        bool got = log[pg / 8] & (1 << (pg % 8));

        g_assert_cmpuint(got, ==, want);
    }
    munmap(log, log_size);
    close(lfd);
    fe_cleanup(&fe);
}

static unsigned count_fds(void)
{
    g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
    unsigned n = 0;

    g_assert_nonnull(d);
    while (g_dir_read_name(d)) {
        n++;
    }
    return n;
}

/* Everything the backend got from a frontend is closed when it leaves,
 * and everything else when it is freed. */
static void test_no_fd_leak(void)
{
    VhostUserInflight in = { .num_queues = 1, .queue_size = 64 };
    unsigned before = count_fds(), idle;
    uint8_t buf[512] = { 0 };
    FeReply r;
    int sv[2];
    Fe fe;

    fe_init(&fe, NULL, false);
    idle = count_fds();
    fe_connect(&fe);
    fe_start(&fe, 1);
    fe_blk_sync(&fe, 0, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf),
                VIRTIO_BLK_S_OK);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    fe_acked(&fe, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
    close(sv[1]);
    fe_send(&fe, VHOST_USER_GET_INFLIGHT_FD, 0, &in, sizeof(in));
    fe_expect_reply(&fe, VHOST_USER_GET_INFLIGHT_FD, &r);
    fe_reply_close_fds(&r);
    vub_add_fault(fe.b, VUB_FAULT_REPLY_FD, VHOST_USER_GET_FEATURES, 0, true);
    fe_send(&fe, VHOST_USER_GET_FEATURES, 0, NULL, 0);
    fe_expect_reply(&fe, VHOST_USER_GET_FEATURES, &r);
    fe_reply_close_fds(&r);

    close(sv[0]);
    close(fe.fd);
    fe.fd = -1;
    close(fe.ring[0].kick);
    close(fe.ring[0].call);
    fe.ring[0].kick = fe.ring[0].call = -1;
    g_assert_true(vub_wait_disconnected(fe.b, FE_TIMEOUT));
    g_assert_cmpuint(count_fds(), ==, idle);
    fe_cleanup(&fe);
    g_assert_cmpuint(count_fds(), ==, before);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vub/negotiate", test_negotiate);
    g_test_add_func("/vub/custom-features", test_custom_features);
    g_test_add_func("/vub/blk/io", test_blk_io);
    g_test_add_func("/vub/blk/split-chain", test_blk_split_chain);
    g_test_add_func("/vub/vring-base", test_vring_base);
    g_test_add_func("/vub/multiqueue", test_multiqueue);
    g_test_add_func("/vub/reply-ack", test_reply_ack);
    g_test_add_func("/vub/fault/replies", test_fault_replies);
    g_test_add_func("/vub/fault/drop-at", test_drop_at);
    g_test_add_func("/vub/protocol-errors", test_protocol_errors);
    g_test_add_func("/vub/config", test_config);
    g_test_add_func("/vub/inflight", test_inflight);
    g_test_add_func("/vub/mem-slots", test_mem_slots);
    g_test_add_func("/vub/backend-channel", test_backend_channel);
    g_test_add_func("/vub/client/redial", test_client_mode);
    g_test_add_func("/vub/client/timeout", test_client_timeout);
    g_test_add_func("/vub/dirty-log", test_dirty_log);
    g_test_add_func("/vub/no-fd-leak", test_no_fd_leak);
    return g_test_run();
}
