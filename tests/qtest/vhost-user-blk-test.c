/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-blk under qtest, checked on the wire: kvmini runs with
 * -device vhost-user-blk, the test vhost-user backend runs on a thread of
 * this process and records every message, and the test plays the guest's
 * virtio driver.  Guest memory is seen from both sides (qtest writes, the
 * backend reads through the table it was sent: memfd, file, two regions
 * with -m 5G), the exact requests of negotiation, start and stop, and
 * blk requests through the real data path on one and four queues.
 * Misbehaving backends are in vhost-user-blk-fault-test.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <linux/virtio_blk.h>

#include "hw/virtio/virtio-mmio.h"
#include "vhost-user-blk-common.h"

/* --- guest memory through the memory table -------------------------------- */

/* A pattern written with qtest is what the backend reads through its own
 * mapping, and the other way round. */
static void check_shared(Blk *t, uint64_t gpa)
{
    uint8_t pat[4096], back[4096];

    blk_fill(pat, sizeof(pat), gpa >> 12);
    qtest_bufwrite(t->qts, gpa, pat, sizeof(pat));
    g_assert_true(vub_read_guest(t->b, gpa, back, sizeof(back)));
    g_assert_cmpmem(back, sizeof(back), pat, sizeof(pat));
    blk_fill(pat, sizeof(pat), 77);
    g_assert_true(vub_write_guest(t->b, gpa + 8, pat, 64));
    qtest_memread(t->qts, gpa + 8, back, 64);
    g_assert_cmpmem(back, 64, pat, 64);
}

/* The region table the backend got: one message per region with
 * CONFIGURE_MEM_SLOTS (ADD_MEM_REG), else one SET_MEM_TABLE. */
static void check_regions(Blk *t, const VhostUserMemoryRegion *want,
                          unsigned n, bool add_mem_reg)
{
    VhostUserMemoryRegion got[8];

    g_assert_cmpuint(vub_mem_regions(t->b, got, 8), ==, n);
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmphex(got[i].guest_phys_addr, ==, want[i].guest_phys_addr);
        g_assert_cmphex(got[i].memory_size, ==, want[i].memory_size);
        g_assert_cmphex(got[i].mmap_offset, ==, want[i].mmap_offset);
    }
    if (add_mem_reg) {
        g_assert_cmpuint(vub_count(t->b, VHOST_USER_ADD_MEM_REG), ==, n);
        g_assert_cmpuint(vub_count(t->b, VHOST_USER_SET_MEM_TABLE), ==, 0);
        for (unsigned i = 0; i < n; i++) {
            g_autoptr(VubMsg) m = vub_find(t->b, VHOST_USER_ADD_MEM_REG, i);

            g_assert_cmpuint(m->nfds, ==, 1);
            g_assert_cmpuint(m->size, ==, sizeof(VhostUserMemRegMsg));
        }
    } else {
        g_autoptr(VubMsg) m = vub_find(t->b, VHOST_USER_SET_MEM_TABLE, 0);
        VhostUserMemory mem = { 0 };

        g_assert_cmpuint(vub_count(t->b, VHOST_USER_SET_MEM_TABLE), ==, 1);
        g_assert_cmpuint(vub_count(t->b, VHOST_USER_ADD_MEM_REG), ==, 0);
        g_assert_cmpuint(m->nfds, ==, n);
        memcpy(&mem, m->payload, MIN(m->size, sizeof(mem)));
        g_assert_cmpuint(mem.nregions, ==, n);
    }
}

static void test_mem_memfd(void)
{
    VhostUserMemoryRegion want = { 0, 256 * MiB, 0, 0 };
    Blk t;

    blk_init(&t, NULL, true);
    blk_launch(&t, NULL, NULL, "-m 256M");
    blk_driver_start(&t, 1);
    check_regions(&t, &want, 1, true);
    check_shared(&t, 0x500000);
    check_shared(&t, 256 * MiB - 4096);
    blk_free(&t);
}

static void test_mem_file(void)
{
    VhostUserMemoryRegion want = { 0, 128 * MiB, 0, 0 };
    g_autofree char *ram = NULL;
    g_autofree char *extra = NULL;
    uint8_t in_file[16], seen[16];
    Blk t;
    int fd;

    blk_init(&t, NULL, true);
    ram = g_build_filename(t.dir, "ram", NULL);
    extra = g_strdup_printf("-object memory-backend-file,id=mem,size=128M,"
                            "mem-path=%s,share=on "
                            "-machine memory-backend=mem", ram);
    blk_launch(&t, NULL, NULL, extra);
    blk_driver_start(&t, 1);
    check_regions(&t, &want, 1, true);
    check_shared(&t, 0x700000);
    /* ...and it is the file's content. */
    fd = open(ram, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(pread(fd, in_file, 16, 0x700000 + 8), ==, 16);
    close(fd);
    g_assert_true(vub_read_guest(t.b, 0x700000 + 8, seen, 16));
    g_assert_cmpmem(in_file, 16, seen, 16);
    qtest_quit(t.qts);
    t.qts = NULL;
    g_unlink(ram);
    blk_free(&t);
}

/* -m 5G: below the 3 GiB hole and from 4 GiB, both in one memfd. */
static void test_mem_5g(gconstpointer data)
{
    bool slots = GPOINTER_TO_INT(data);
    VhostUserMemoryRegion want[2] = {
        { 0, 3 * GiB, 0, 0 },
        { 4 * GiB, 2 * GiB, 0, 3 * GiB },
    };
    VubOptions o;
    Blk t;

    blk_options(&o);
    if (!slots) {
        o.protocol_features &=
            ~VUB_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
    }
    blk_init(&t, &o, true);
    blk_launch(&t, NULL, NULL, "-m 5G");
    blk_driver_start(&t, 1);
    check_regions(&t, want, 2, slots);
    check_shared(&t, 3 * GiB - 4096);
    check_shared(&t, 4 * GiB);
    check_shared(&t, 6 * GiB - 4096);
    blk_write_check(&t, 0, 5, 4096, 1);
    blk_free(&t);
}

/* --- negotiation ---------------------------------------------------------- */

/* Every request after SET_PROTOCOL_FEATURES that has no reply of its own
 * asks for an ack when REPLY_ACK is in force, and none does without. */
static void check_need_reply(Blk *t, bool reply_ack)
{
    static const uint32_t own_reply[] = {
        VHOST_USER_GET_FEATURES, VHOST_USER_GET_PROTOCOL_FEATURES,
        VHOST_USER_GET_QUEUE_NUM, VHOST_USER_GET_MAX_MEM_SLOTS,
        VHOST_USER_GET_VRING_BASE, VHOST_USER_GET_CONFIG,
        VHOST_USER_GET_INFLIGHT_FD, VHOST_USER_GET_STATUS,
        VHOST_USER_SET_PROTOCOL_FEATURES,
    };
    bool after = false;

    for (unsigned i = 0; i < vub_log_len(t->b); i++) {
        g_autoptr(VubMsg) m = vub_log_get(t->b, i);
        bool own = false;

        for (unsigned k = 0; k < G_N_ELEMENTS(own_reply); k++) {
            own |= m->request == own_reply[k];
        }
        if (after && !own) {
            g_assert_cmpuint(!!(m->flags & VHOST_USER_NEED_REPLY), ==,
                             reply_ack);
        }
        after |= m->request == VHOST_USER_SET_PROTOCOL_FEATURES;
        g_assert_cmphex(m->flags & ~VHOST_USER_NEED_REPLY, ==,
                        VHOST_USER_VERSION);
    }
}

static void test_negotiate_protocol(void)
{
    g_autofree char *init = NULL, *start = NULL;
    uint64_t acked;
    unsigned n;
    Blk t;

    blk_init(&t, NULL, true);
    blk_launch(&t, NULL, NULL, NULL);
    init = vub_log_string(t.b, 0);
    g_assert_cmpstr(init, ==, "GET_FEATURES GET_PROTOCOL_FEATURES "
                    "SET_PROTOCOL_FEATURES GET_QUEUE_NUM GET_MAX_MEM_SLOTS "
                    "SET_BACKEND_REQ_FD SET_OWNER GET_CONFIG");
    /* kvmini supports every protocol feature the backend offers. */
    g_assert_cmphex(vub_acked_protocol_features(t.b), ==,
                    VUB_DEFAULT_PROTOCOL_FEATURES);
    n = vub_log_len(t.b);
    blk_driver_start(&t, 1);
    start = vub_log_string(t.b, n);
    g_assert_cmpstr(start, ==, "GET_INFLIGHT_FD SET_INFLIGHT_FD SET_FEATURES "
                    "ADD_MEM_REG SET_VRING_NUM SET_VRING_BASE SET_VRING_ADDR "
                    "SET_VRING_KICK SET_VRING_CALL SET_VRING_ENABLE "
                    "SET_STATUS");
    acked = msg_u64(t.b, VHOST_USER_SET_FEATURES, -1);
    g_assert_cmphex(acked, ==, vub_acked_features(t.b));
    g_assert_cmphex(acked & ~VUB_DEFAULT_FEATURES, ==, 0);
    g_assert_true(acked & VUB_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
    g_assert_true(acked & VUB_BIT(32));
    g_assert_cmphex(acked & t.dev.features, ==,
                    t.dev.features & VUB_DEFAULT_FEATURES);
    g_assert_cmpuint(msg_u64(t.b, VHOST_USER_SET_STATUS, -1) & 0xf,
                     ==, 0xf);
    check_need_reply(&t, true);
    blk_free(&t);
}

/* Protocol features, but only CONFIG: no ack, no slots, no channel. */
static void test_negotiate_config_only(void)
{
    g_autofree char *init = NULL;
    VubOptions o;
    Blk t;

    blk_options(&o);
    o.protocol_features = VUB_BIT(VHOST_USER_PROTOCOL_F_CONFIG);
    blk_init(&t, &o, true);
    blk_launch(&t, NULL, NULL, NULL);
    init = vub_log_string(t.b, 0);
    g_assert_cmpstr(init, ==, "GET_FEATURES GET_PROTOCOL_FEATURES "
                    "SET_PROTOCOL_FEATURES SET_OWNER GET_CONFIG");
    blk_driver_start(&t, 1);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SET_MEM_TABLE), ==, 1);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_ADD_MEM_REG), ==, 0);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_INFLIGHT_FD), ==, 0);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SET_STATUS), ==, 0);
    check_need_reply(&t, false);
    blk_write_check(&t, 0, 0, 512, 3);
    blk_free(&t);
}

/* Without bit 30 there is no GET_PROTOCOL_FEATURES, hence no config
 * space: the device cannot be created. */
static void test_negotiate_no_protocol(void)
{
    g_autofree char *args = NULL, *err = NULL, *log = NULL;
    VubOptions o;
    int status;
    Blk t;

    blk_options(&o);
    o.features &= ~VUB_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
    blk_init(&t, &o, true);
    args = g_strdup_printf("-accel qtest -qtest unix:%s/none -serial null "
                           "-chardev socket,id=c0,path=%s "
                           "-device vhost-user-blk,chardev=c0",
                           t.dir, t.sock);
    qtest_run_kvmini(args, NULL, &err, &status);
    g_assert_cmpint(status, !=, 0);
    g_test_message("kvmini: %s", err);
    g_assert_nonnull(strstr(err, "CONFIG"));
    /* SET_OWNER has no reply: the log is complete once the backend saw
     * the hang-up behind it. */
    g_assert_true(vub_wait_disconnected(t.b, TIMEOUT_MS));
    log = vub_log_string(t.b, 0);
    g_assert_cmpstr(log, ==, "GET_FEATURES SET_OWNER");
    blk_free(&t);
}

/* kvmini listens (server=on) and the backend dials, as DPDK's
 * virtio-user server mode. */
static void test_frontend_server(void)
{
    VubOptions o;
    Blk t;

    blk_options(&o);
    o.client = true;
    blk_init(&t, &o, true);
    blk_launch(&t, ",server=on", NULL, NULL);
    g_assert_cmpuint(vub_connections(t.b), ==, 1);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 12, 2048, 6);
    blk_free(&t);
}

static void test_queues_refused(void)
{
    g_autofree char *args = NULL, *err = NULL;
    int status;
    Blk t;

    blk_init(&t, NULL, true);
    args = g_strdup_printf("-accel qtest -qtest unix:%s/none -serial null "
                           "-chardev socket,id=c0,path=%s "
                           "-device vhost-user-blk,chardev=c0,num-queues=4",
                           t.dir, t.sock);
    qtest_run_kvmini(args, NULL, &err, &status);
    g_assert_cmpint(status, !=, 0);
    g_assert_nonnull(strstr(err, "num-queues=4 but the backend supports "
                            "only 1"));
    blk_free(&t);
}

static void test_vring_base_reset(void)
{
    g_autofree char *stop = NULL;
    g_autoptr(VubMsg) m = NULL;
    unsigned n;
    VhostUserVringState s;
    VubVringInfo info;
    Blk t;

    blk_init(&t, NULL, true);
    blk_launch(&t, NULL, NULL, NULL);
    blk_driver_start(&t, 1);
    for (unsigned i = 0; i < 3; i++) {
        blk_write_check(&t, 0, i, 512, i);
    }
    g_assert_cmpint(last_vring_base(&t, 0), ==, 0);
    n = vub_log_len(t.b);
    qvirtio_reset(&t.dev);
    g_assert_true(vub_wait_for_request(t.b, VHOST_USER_GET_VRING_BASE,
                                       TIMEOUT_MS));
    m = vub_find(t.b, VHOST_USER_GET_VRING_BASE, -1);
    memcpy(&s, m->payload, sizeof(s));
    g_assert_cmpuint(s.index, ==, 0);
    stop = vub_log_string(t.b, n);
    g_assert_cmpstr(stop, ==, "SET_STATUS SET_VRING_ENABLE GET_VRING_BASE");
    g_assert_cmpuint(msg_u64(t.b, VHOST_USER_SET_STATUS, -1), ==,
                     0);
    info = vub_vring_info(t.b, 0);
    g_assert_false(info.started);
    g_assert_cmpuint(info.last_avail, ==, 3);
    g_assert_cmpuint(info.completed, ==, 3);

    blk_driver_start(&t, 1);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_SET_VRING_BASE), ==, 2);
    g_assert_cmpint(last_vring_base(&t, 0), ==, 0);
    blk_write_check(&t, 0, 40, 512, 4);
    blk_free(&t);
}

/* --- the data path -------------------------------------------------------- */

static void test_blk_io(void)
{
    uint8_t buf[4096], back[4096], id[20] = { 0 };
    QVirtioBlkReq req;
    VubBlkStats st;
    Blk t;

    blk_init(&t, NULL, true);
    blk_launch(&t, NULL, NULL, NULL);
    blk_driver_start(&t, 1);
    g_assert_cmpuint(qvirtio_config_readq(&t.dev, 0), ==, 64 * MiB / 512);
    g_assert_cmpuint(qvirtio_config_readl(&t.dev, 12), ==, VUB_SEG_MAX);
    g_assert_cmpuint(qvirtio_config_readl(&t.dev, 20), ==, 512);

    blk_write_check(&t, 0, 16, sizeof(buf), 1);
    g_assert_true(qvirtio_wait_irq(&t.dev, TIMEOUT_MS));
    g_assert_cmphex(qvirtio_isr(&t.dev) & VIRTIO_MMIO_INT_VRING, ==,
                    VIRTIO_MMIO_INT_VRING);
    qvirtio_isr_ack(&t.dev, VIRTIO_MMIO_INT_VRING);

    blk_fill(buf, sizeof(buf), 2);
    vub_disk_write(t.b, 100 * 512, buf, sizeof(buf));
    g_assert_cmpint(qvirtio_blk_rw(t.vq[0], &t.alloc, VIRTIO_BLK_T_IN, 100,
                                   back, sizeof(back)), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    g_assert_true(qvirtio_wait_irq(&t.dev, TIMEOUT_MS));

    /* A chain of header, four data descriptors and status. */
    blk_fill(buf, 2048, 3);
    req = qvirtio_blk_submit(t.vq[0], &t.alloc, VIRTIO_BLK_T_OUT, 200, buf,
                             2048, 4);
    qvirtqueue_kick(t.vq[0]);
    g_assert_cmpint(qvirtio_blk_complete(t.vq[0], &req, NULL, TIMEOUT_MS),
                    ==, VIRTIO_BLK_S_OK);
    vub_disk_read(t.b, 200 * 512, back, 2048);
    g_assert_cmpmem(back, 2048, buf, 2048);

    g_assert_cmpint(qvirtio_blk_rw(t.vq[0], &t.alloc, VIRTIO_BLK_T_FLUSH, 0,
                                   NULL, 0), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpint(qvirtio_blk_rw(t.vq[0], &t.alloc, VIRTIO_BLK_T_GET_ID, 0,
                                   id, sizeof(id)), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpstr((char *)id, ==, VUB_SERIAL);
    g_assert_cmpint(qvirtio_blk_rw(t.vq[0], &t.alloc, VIRTIO_BLK_T_IN,
                                   64 * MiB / 512, back, 512), ==,
                    VIRTIO_BLK_S_IOERR);
    st = vub_blk_stats(t.b);
    g_assert_cmpuint(st.writes, ==, 2);
    g_assert_cmpuint(st.reads, ==, 1);
    g_assert_cmpuint(st.flushes, ==, 1);
    g_assert_cmpuint(st.get_ids, ==, 1);
    g_assert_cmpuint(st.ioerr, ==, 1);
    blk_free(&t);
}

/* num-queues=4: every queue is handed to the backend and serves I/O. */
static void test_multiqueue(void)
{
    QVirtioBlkReq req[4];
    uint8_t buf[4][1024];
    VubOptions o;
    Blk t;

    blk_options(&o);
    o.num_queues = 4;
    blk_init(&t, &o, true);
    blk_launch(&t, NULL, ",num-queues=4", NULL);
    blk_driver_start(&t, 4);
    g_assert_true(t.dev.features & (1ULL << VIRTIO_BLK_F_MQ));
    g_assert_cmpuint(qvirtio_config_readw(&t.dev, 34), ==, 4);
    for (unsigned q = 0; q < 4; q++) {
        blk_fill(buf[q], sizeof(buf[q]), 40 + q);
        req[q] = qvirtio_blk_submit(t.vq[q], &t.alloc, VIRTIO_BLK_T_OUT,
                                    8 * q, buf[q], sizeof(buf[q]), 1);
        qvirtqueue_kick(t.vq[q]);
    }
    for (unsigned q = 0; q < 4; q++) {
        uint8_t back[1024];

        g_assert_cmpint(qvirtio_blk_complete(t.vq[q], &req[q], NULL,
                                             TIMEOUT_MS), ==,
                        VIRTIO_BLK_S_OK);
        g_assert_cmpuint(vub_vring_info(t.b, q).completed, ==, 1);
        vub_disk_read(t.b, 8 * q * 512, back, sizeof(back));
        g_assert_cmpmem(back, sizeof(back), buf[q], sizeof(buf[q]));
    }
    g_assert_true(qvirtio_wait_irq(&t.dev, TIMEOUT_MS));
    blk_free(&t);
}

/* The backend changes the capacity and says so on its channel: kvmini
 * fetches the config again and interrupts the guest. */
static void test_config_change(void)
{
    uint64_t status = 99;
    Blk t;

    blk_init(&t, NULL, true);
    blk_launch(&t, NULL, NULL, NULL);
    blk_driver_start(&t, 1);
    g_assert_true(vub_has_backend_channel(t.b));
    vub_set_capacity(t.b, 4096);
    g_assert_true(vub_send_config_change(t.b, true, &status));
    g_assert_cmpuint(status, ==, 0);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_CONFIG), ==, 2);
    g_assert_true(qvirtio_wait_irq(&t.dev, TIMEOUT_MS));
    g_assert_cmphex(qvirtio_isr(&t.dev) & VIRTIO_MMIO_INT_CONFIG, ==,
                    VIRTIO_MMIO_INT_CONFIG);
    g_assert_cmpuint(qvirtio_config_readq(&t.dev, 0), ==, 4096);
    blk_free(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vhost-user-blk/mem/memfd", test_mem_memfd);
    g_test_add_func("/vhost-user-blk/mem/file", test_mem_file);
    g_test_add_data_func("/vhost-user-blk/mem/5G/set-mem-table",
                         GINT_TO_POINTER(false), test_mem_5g);
    g_test_add_data_func("/vhost-user-blk/mem/5G/add-mem-reg",
                         GINT_TO_POINTER(true), test_mem_5g);
    g_test_add_func("/vhost-user-blk/negotiate/protocol",
                    test_negotiate_protocol);
    g_test_add_func("/vhost-user-blk/negotiate/config-only",
                    test_negotiate_config_only);
    g_test_add_func("/vhost-user-blk/negotiate/no-protocol",
                    test_negotiate_no_protocol);
    g_test_add_func("/vhost-user-blk/frontend-server", test_frontend_server);
    g_test_add_func("/vhost-user-blk/negotiate/queues-refused",
                    test_queues_refused);
    g_test_add_func("/vhost-user-blk/vring-base/reset",
                    test_vring_base_reset);
    g_test_add_func("/vhost-user-blk/blk/io", test_blk_io);
    g_test_add_func("/vhost-user-blk/blk/multiqueue", test_multiqueue);
    g_test_add_func("/vhost-user-blk/blk/config-change", test_config_change);
    return g_test_run();
}
