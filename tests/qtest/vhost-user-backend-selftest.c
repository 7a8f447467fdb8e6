/* SPDX-License-Identifier: MIT */
/*
 * Self-test of the test vhost-user backend (vhost-user-test-backend.h),
 * with no kvmini: the test plays a minimal frontend over the socket with
 * the shared wire-format header (vhost-user-mini-frontend.c).  This file
 * covers the messages: negotiation and custom features, REPLY_ACK, each
 * misbehaviour switch (fault replies, a connection dropped at a given
 * request, malformed messages), the config space, inflight memory, memory
 * slots, the backend channel and client mode.  The data path through the
 * rings, the dirty log and fd hygiene are in
 * vhost-user-backend-selftest-io.c.
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

#include "vhost-user-mini-frontend.h"

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

/* --- tests: replies and misbehaviour -------------------------------------- */

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

/* Hand the backend a channel; returns our end. */
static int fe_open_channel(Fe *fe)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    g_assert_cmpuint(fe_acked(fe, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0,
                              &sv[1], 1), ==, 0);
    close(sv[1]);
    g_assert_true(vub_has_backend_channel(fe->b));
    return sv[0];
}

static void test_backend_config_change(void)
{
    VhostUserHeader ack = { VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
                            VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, 8 };
    uint64_t zero = 0;
    SendJob job;
    GThread *t;
    FeReply r;
    int chan;
    Fe fe;

    fe_init(&fe, NULL, true);
    g_assert_false(vub_send_config_change(fe.b, false, NULL));
    chan = fe_open_channel(&fe);
    g_assert_true(vub_send_config_change(fe.b, false, NULL));
    g_assert_true(fe_recv_on(chan, &r, FE_TIMEOUT));
    g_assert_cmpuint(r.msg.hdr.request, ==,
                     VHOST_USER_BACKEND_CONFIG_CHANGE_MSG);
    g_assert_cmphex(r.msg.hdr.flags, ==, VHOST_USER_VERSION);
    g_assert_cmpuint(r.msg.hdr.size, ==, 0);

    /* With NEED_REPLY the sender waits for the frontend's answer. */
    job = (SendJob) { .b = fe.b, .status = 99 };
    t = g_thread_new("send", send_config_change_thread, &job);
    g_assert_true(fe_recv_on(chan, &r, FE_TIMEOUT));
    g_assert_cmphex(r.msg.hdr.flags, ==,
                    VHOST_USER_VERSION | VHOST_USER_NEED_REPLY);
    g_assert_cmpint(send(chan, &ack, sizeof(ack), 0), ==, sizeof(ack));
    g_assert_cmpint(send(chan, &zero, 8, 0), ==, 8);
    g_thread_join(t);
    g_assert_true(job.ok);
    g_assert_cmpuint(job.status, ==, 0);
    close(chan);
    fe_cleanup(&fe);
}

static void test_backend_other_msgs(void)
{
    VhostUserIotlb io = { .iova = 0x1000, .size = 0x2000, .uaddr = 0x3000,
                          .perm = 3, .type = 2 };
    FeReply r;
    int chan;
    Fe fe;

    fe_init(&fe, NULL, true);
    chan = fe_open_channel(&fe);
    g_assert_true(vub_send_host_notifier(fe.b, 1, true, false, NULL));
    g_assert_true(fe_recv_on(chan, &r, FE_TIMEOUT));
    g_assert_cmpuint(r.msg.hdr.request, ==,
                     VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG);
    g_assert_cmpuint(r.msg.hdr.size, ==, sizeof(VhostUserVringArea));
    g_assert_cmpuint(r.nfds, ==, 1);
    g_assert_cmphex(r.msg.payload.area.u64, ==, 1);
    g_assert_cmpuint(r.msg.payload.area.size, ==, 4096);
    fe_reply_close_fds(&r);
    g_assert_true(vub_send_host_notifier(fe.b, 2, false, false, NULL));
    g_assert_true(fe_recv_on(chan, &r, FE_TIMEOUT));
    g_assert_cmphex(r.msg.payload.area.u64, ==,
                    2 | VHOST_USER_VRING_NOFD_MASK);
    g_assert_cmpuint(r.nfds, ==, 0);

    g_assert_true(vub_send_iotlb(fe.b, &io, false, NULL));
    g_assert_true(fe_recv_on(chan, &r, FE_TIMEOUT));
    g_assert_cmpuint(r.msg.hdr.request, ==, VHOST_USER_BACKEND_IOTLB_MSG);
    g_assert_cmpmem(&r.msg.payload.iotlb, sizeof(io), &io, sizeof(io));

    /* No answer: the sender gives up. */
    g_assert_false(vub_backend_send(fe.b, VHOST_USER_BACKEND_IOTLB_MSG, &io,
                                    sizeof(io), -1, true, NULL, 100));
    close(chan);
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
    /* It gives up after 50 ms; a loaded machine may take longer. */
    for (int i = 0; i < 500 && !(err = vub_last_error(b)); i++) {
        g_usleep(10 * 1000);
    }
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err, "cannot connect to "
                                   "/nonexistent/vub.sock"));
    g_assert_false(vub_connected(b));
    vub_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vub/negotiate", test_negotiate);
    g_test_add_func("/vub/custom-features", test_custom_features);
    g_test_add_func("/vub/reply-ack", test_reply_ack);
    g_test_add_func("/vub/fault/replies", test_fault_replies);
    g_test_add_func("/vub/fault/drop-at", test_drop_at);
    g_test_add_func("/vub/protocol-errors", test_protocol_errors);
    g_test_add_func("/vub/config", test_config);
    g_test_add_func("/vub/inflight", test_inflight);
    g_test_add_func("/vub/mem-slots", test_mem_slots);
    g_test_add_func("/vub/backend-channel/config-change",
                    test_backend_config_change);
    g_test_add_func("/vub/backend-channel/others", test_backend_other_msgs);
    g_test_add_func("/vub/client/redial", test_client_mode);
    g_test_add_func("/vub/client/timeout", test_client_timeout);
    return g_test_run();
}
