/* SPDX-License-Identifier: MIT */
/*
 * Self-test of the test vhost-user backend (vhost-user-test-backend.h),
 * with no kvmini, part two: the data path.  The test plays a minimal
 * frontend (vhost-user-mini-frontend.c) that hands over a memfd as guest
 * memory at guest-physical 0 (with a made-up frontend virtual address,
 * which the backend only uses for translation), builds split rings in it,
 * kicks and checks what landed on the disk, in the used ring and on the
 * call eventfd: block requests of each type, a chain split across
 * descriptors, stopping and restarting a ring from its base, several
 * queues, the dirty log of a logged ring, and that every fd the backend
 * got is closed when the frontend leaves.  The messages are covered in
 * vhost-user-backend-selftest.c.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "vhost-user-mini-frontend.h"

/* --- tests: the data path ------------------------------------------------- */

/* A write and a read through ring 0, checked in the used ring, on the
 * disk and through the backend's own view of guest memory. */
static void check_blk_rw(Fe *fe)
{
    struct vring_used *used = fe_used(fe, 0);
    uint8_t buf[4096], back[4096];
    unsigned s;

    fe_fill(buf, sizeof(buf), 1);
    fe_blk_sync(fe, 0, VIRTIO_BLK_T_OUT, 8, buf, sizeof(buf),
                VIRTIO_BLK_S_OK);
    g_assert_cmpuint(used->idx, ==, 1);
    g_assert_cmpuint(used->ring[0].id, ==, 0);
    g_assert_cmpuint(used->ring[0].len, ==, 1);
    vub_disk_read(fe->b, 8 * 512, back, sizeof(back));
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));

    fe_fill(buf, sizeof(buf), 2);
    vub_disk_write(fe->b, 100 * 512, buf, sizeof(buf));
    s = fe_blk_sync(fe, 0, VIRTIO_BLK_T_IN, 100, NULL, sizeof(buf),
                    VIRTIO_BLK_S_OK);
    g_assert_cmpmem(fe_data(fe, 0, s), sizeof(buf), buf, sizeof(buf));
    g_assert_cmpuint(used->ring[1].id, ==, 3);
    g_assert_cmpuint(used->ring[1].len, ==, sizeof(buf) + 1);
    g_assert_true(vub_read_guest(fe->b, fe_slot_base(&fe->ring[0], s) +
                                 0x1000, back, sizeof(back)));
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    g_assert_false(vub_read_guest(fe->b, FE_MEM_SIZE - 8, back, 16));
}

static void test_blk_io(void)
{
    VubVringInfo info;
    VubBlkStats st;
    unsigned s;
    Fe fe;

    fe_init(&fe, NULL, true);
    fe_start(&fe, 1);
    check_blk_rw(&fe);
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
    fe_fill(buf, sizeof(buf), 9);
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
        fe_fill(buf, sizeof(buf), q + 10);
        fe_blk_sync(&fe, q, VIRTIO_BLK_T_OUT, 10 + q, buf, sizeof(buf),
                    VIRTIO_BLK_S_OK);
    }
    for (unsigned q = 0; q < 4; q++) {
        fe_fill(buf, sizeof(buf), q + 10);
        vub_disk_read(fe.b, (10 + q) * 512, back, sizeof(back));
        g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
        g_assert_cmpuint(vub_vring_info(fe.b, q).completed, ==, 1);
    }
    fe_cleanup(&fe);
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
    g_test_add_func("/vub/blk/io", test_blk_io);
    g_test_add_func("/vub/blk/split-chain", test_blk_split_chain);
    g_test_add_func("/vub/vring-base", test_vring_base);
    g_test_add_func("/vub/multiqueue", test_multiqueue);
    g_test_add_func("/vub/dirty-log", test_dirty_log);
    g_test_add_func("/vub/no-fd-leak", test_no_fd_leak);
    return g_test_run();
}
