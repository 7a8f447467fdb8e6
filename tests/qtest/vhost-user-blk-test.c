/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-blk under qtest, checked on the wire: kvmini runs with
 * -device vhost-user-blk, the test vhost-user backend
 * (vhost-user-test-backend.h) runs on a thread of this process and
 * records every message, and the test plays the guest's virtio driver
 * through virtio-mmio-driver.h.  Guest memory is seen from both sides
 * (qtest writes, the backend reads through the table it was sent), blk
 * requests go through the real data path, and misbehaving backends must
 * be dropped without taking kvmini down or leaking its fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "hw/virtio/virtio-mmio.h"
#include "libqtest.h"
#include "vhost-user-test-backend.h"
#include "virtio-mmio-driver.h"

#define MiB         (1024ULL * 1024)
#define GiB         (1024 * MiB)
#define TIMEOUT_MS  10000
#define RAM_LOW     0x100000            /* driver allocations from here */
#define RAM_HIGH    (64 * MiB)

/* What the driver asks for: the blk features the backend offers. */
#define BLK_WANTED ((1ULL << VIRTIO_BLK_F_SEG_MAX) | \
                    (1ULL << VIRTIO_BLK_F_BLK_SIZE) | \
                    (1ULL << VIRTIO_BLK_F_FLUSH) | \
                    (1ULL << VIRTIO_BLK_F_MQ))

typedef struct Blk {
    char *dir;
    char *sock;
    Vub *b;
    QTestState *qts;
    QVirtioDevice dev;
    QGuestAlloc alloc;
    QVirtQueue *vq[VUB_MAX_QUEUES];
    unsigned nvqs;
} Blk;

/* --- fixture -------------------------------------------------------------- */

static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (i * 13 + seed * 7 + (i >> 9)) & 0xff;
    }
}

/* Temporary directory and socket path; a backend unless o is NULL and
 * with_backend false. */
static void blk_init(Blk *t, const VubOptions *o, bool with_backend)
{
    g_autoptr(GError) err = NULL;

    memset(t, 0, sizeof(*t));
    t->dir = g_dir_make_tmp("vub-blk-XXXXXX", &err);
    g_assert_no_error(err);
    t->sock = g_build_filename(t->dir, "vub.sock", NULL);
    qguest_alloc_init(&t->alloc, RAM_LOW, RAM_HIGH);
    if (o) {
        VubOptions copy = *o;

        copy.path = t->sock;
        t->b = vub_new(&copy);
    } else if (with_backend) {
        t->b = vub_new_server(t->sock);
    }
}

static void blk_options(VubOptions *o)
{
    vub_options_init(o, "set-by-blk_init");
}

/* Start kvmini with the device on chardev c0; chr_opts and dev_opts are
 * appended to -chardev / -device (",reconnect=1"), extra to the line. */
static void blk_launch(Blk *t, const char *chr_opts, const char *dev_opts,
                       const char *extra)
{
    t->qts = qtest_initf("-chardev socket,id=c0,path=%s%s "
                         "-device vhost-user-blk,chardev=c0%s %s",
                         t->sock, chr_opts ? chr_opts : "",
                         dev_opts ? dev_opts : "", extra ? extra : "");
}

static void blk_free_queues(Blk *t)
{
    for (unsigned q = 0; q < t->nvqs; q++) {
        qvirtqueue_free(t->vq[q]);
        t->vq[q] = NULL;
    }
    t->nvqs = 0;
}

/* Be the guest driver: reset, negotiate, nvqs queues, DRIVER_OK; then
 * wait until the backend runs every ring. */
static void blk_driver_start(Blk *t, unsigned nvqs)
{
    if (!t->dev.qts) {
        g_assert_true(qvirtio_mmio_probe(&t->dev, t->qts, 0));
        g_assert_cmpuint(t->dev.device_id, ==, VIRTIO_ID_BLOCK);
    }
    blk_free_queues(t);
    qvirtio_reset(&t->dev);
    g_assert_true(qvirtio_negotiate(&t->dev, BLK_WANTED));
    for (unsigned q = 0; q < nvqs; q++) {
        t->vq[q] = qvirtqueue_setup(&t->dev, &t->alloc, q, 0);
    }
    t->nvqs = nvqs;
    qvirtio_driver_ok(&t->dev);
    for (unsigned q = 0; q < nvqs; q++) {
        g_assert_true(vub_wait_vring_running(t->b, q, TIMEOUT_MS));
    }
}

static void blk_free(Blk *t)
{
    blk_free_queues(t);
    if (t->qts) {
        qtest_quit(t->qts);
    }
    vub_free(t->b);
    g_rmdir(t->dir);
    g_free(t->sock);
    g_free(t->dir);
}

/* kvmini's stderr so far. */
static char *blk_stderr(Blk *t)
{
    g_autofree char *path = g_build_filename(qtest_tmpdir(t->qts),
                                             "stderr.log", NULL);
    char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

/* Wait until kvmini's stderr contains every string of the NULL-ended
 * list; fail the test with the text otherwise. */
static void blk_expect_stderr(Blk *t, const char *first, ...)
{
    gint64 end = g_get_monotonic_time() + TIMEOUT_MS * 1000LL;
    g_autofree char *text = NULL;

    for (;;) {
        const char *s = first;
        bool all = true;
        va_list ap;

        g_free(text);
        text = blk_stderr(t);
        va_start(ap, first);
        for (; s && all; s = va_arg(ap, const char *)) {
            all = strstr(text, s) != NULL;
        }
        va_end(ap);
        if (all) {
            return;
        }
        if (g_get_monotonic_time() > end) {
            g_error("kvmini stderr lacks '%s'...:\n%s", first, text);
        }
        g_usleep(10 * 1000);
    }
}

/* kvmini still answers qtest and its device registers. */
static void blk_assert_alive(Blk *t)
{
    g_assert_cmphex(qvirtio_readl(&t->dev, VIRTIO_MMIO_MAGIC_VALUE), ==,
                    VIRTIO_MMIO_MAGIC);
    qtest_writeq(t->qts, 0x2000, 0x1122334455667788ULL);
    g_assert_cmphex(qtest_readq(t->qts, 0x2000), ==, 0x1122334455667788ULL);
}

static uint64_t msg_u64(const VubMsg *m)
{
    uint64_t v = 0;

    g_assert_nonnull(m);
    g_assert_cmpuint(m->size, >=, 8);
    memcpy(&v, m->payload, 8);
    return v;
}

/* The nth (or last, -1) SET_VRING_BASE for ring idx: its num. */
static int last_vring_base(Blk *t, unsigned idx)
{
    int found = -1;

    for (int i = 0;; i++) {
        g_autoptr(VubMsg) m = vub_find(t->b, VHOST_USER_SET_VRING_BASE, i);
        VhostUserVringState s;

        if (!m) {
            return found;
        }
        memcpy(&s, m->payload, sizeof(s));
        if (s.index == idx) {
            found = s.num;
        }
    }
}

/* Write len bytes at sector through queue q and check the disk. */
static void blk_write_check(Blk *t, unsigned q, uint64_t sector,
                            size_t len, unsigned seed)
{
    g_autofree uint8_t *buf = g_malloc(len);
    g_autofree uint8_t *back = g_malloc(len);

    fill(buf, len, seed);
    g_assert_cmpint(qvirtio_blk_rw(t->vq[q], &t->alloc, VIRTIO_BLK_T_OUT,
                                   sector, buf, len), ==, VIRTIO_BLK_S_OK);
    vub_disk_read(t->b, sector * 512, back, len);
    g_assert_cmpmem(back, len, buf, len);
}

/* --- guest memory through the memory table -------------------------------- */

/* A pattern written with qtest is what the backend reads through its own
 * mapping, and the other way round. */
static void check_shared(Blk *t, uint64_t gpa)
{
    uint8_t pat[4096], back[4096];

    fill(pat, sizeof(pat), gpa >> 12);
    qtest_bufwrite(t->qts, gpa, pat, sizeof(pat));
    g_assert_true(vub_read_guest(t->b, gpa, back, sizeof(back)));
    g_assert_cmpmem(back, sizeof(back), pat, sizeof(pat));
    fill(pat, sizeof(pat), 77);
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
    acked = msg_u64(vub_find(t.b, VHOST_USER_SET_FEATURES, -1));
    g_assert_cmphex(acked, ==, vub_acked_features(t.b));
    g_assert_cmphex(acked & ~VUB_DEFAULT_FEATURES, ==, 0);
    g_assert_true(acked & VUB_BIT(VHOST_USER_F_PROTOCOL_FEATURES));
    g_assert_true(acked & VUB_BIT(32));
    g_assert_cmphex(acked & t.dev.features, ==,
                    t.dev.features & VUB_DEFAULT_FEATURES);
    g_assert_cmpuint(msg_u64(vub_find(t.b, VHOST_USER_SET_STATUS, -1)) & 0xf,
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
    log = vub_log_string(t.b, 0);
    g_assert_cmpstr(log, ==, "GET_FEATURES SET_OWNER");
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

/* --- misbehaving backends ------------------------------------------------- */

typedef struct BadReply {
    VubFaultKind kind;
    uint64_t value;
    const char *why;            /* in kvmini's stderr */
} BadReply;

static const BadReply bad_flags = { VUB_FAULT_REPLY_FLAGS,
                                    VHOST_USER_VERSION, "flags" };
static const BadReply bad_size = { VUB_FAULT_REPLY_SIZE, 4096, "size" };
static const BadReply bad_request = { VUB_FAULT_REPLY_REQUEST,
                                      VHOST_USER_GET_FEATURES, "request" };
static const BadReply bad_fd = { VUB_FAULT_REPLY_FD, 0, "fd" };

/* GET_VRING_BASE (at the driver's reset) gets a broken reply: the
 * backend is dropped, kvmini keeps running and says why. */
static void test_bad_reply(gconstpointer data)
{
    const BadReply *bad = data;
    Blk t;

    blk_init(&t, NULL, true);
    vub_add_fault(t.b, bad->kind, VHOST_USER_GET_VRING_BASE, bad->value,
                  true);
    blk_launch(&t, NULL, NULL, NULL);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 1, 512, 1);
    qvirtio_set_status(&t.dev, 0);
    g_assert_true(vub_wait_disconnected(t.b, TIMEOUT_MS));
    blk_assert_alive(&t);
    blk_expect_stderr(&t, "GET_VRING_BASE", "disconnecting backend",
                      bad->why, NULL);
    blk_free(&t);
}

/* A REPLY_ACK with a non-zero status fails the start, with the request
 * named; the connection itself is fine. */
static void test_reply_ack_error(void)
{
    Blk t;

    blk_init(&t, NULL, true);
    vub_add_fault(t.b, VUB_FAULT_ACK_STATUS, VHOST_USER_SET_VRING_ADDR, 1,
                  false);
    blk_launch(&t, NULL, NULL, NULL);
    g_assert_true(qvirtio_mmio_probe(&t.dev, t.qts, 0));
    g_assert_true(qvirtio_negotiate(&t.dev, BLK_WANTED));
    t.vq[0] = qvirtqueue_setup(&t.dev, &t.alloc, 0, 0);
    t.nvqs = 1;
    qvirtio_driver_ok(&t.dev);
    blk_expect_stderr(&t, "SET_VRING_ADDR", "status 1", NULL);
    g_assert_true(vub_connected(t.b));
    g_assert_false(vub_vring_info(t.b, 0).started);
    blk_assert_alive(&t);
    blk_free(&t);
}

/* --- reconnection and ring state ------------------------------------------ */

static gpointer late_backend(gpointer path)
{
    g_usleep(1500 * 1000);
    return vub_new_server(path);
}

/* reconnect=1 and no backend yet: kvmini waits (as QEMU's realize does)
 * and connects once it appears. */
static void test_reconnect_late_backend(void)
{
    gint64 t0 = g_get_monotonic_time();
    GThread *th;
    Blk t;

    blk_init(&t, NULL, false);
    th = g_thread_new("late-backend", late_backend, t.sock);
    blk_launch(&t, ",reconnect=1", NULL, NULL);
    t.b = g_thread_join(th);
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 1500 * 1000);
    g_assert_cmpuint(vub_connections(t.b), ==, 1);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_FEATURES), ==, 1);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 9, 1024, 2);
    blk_free(&t);
}

/* The backend drops out while the driver runs: kvmini re-dials, redoes
 * the whole start and hands the ring position back in SET_VRING_BASE;
 * nothing is served twice. */
static void test_reconnect_resume(void)
{
    g_autoptr(VubMsg) m = NULL;
    Blk t;

    blk_init(&t, NULL, true);
    blk_launch(&t, ",reconnect=1", NULL, NULL);
    blk_driver_start(&t, 1);
    for (unsigned i = 0; i < 3; i++) {
        blk_write_check(&t, 0, 20 + i, 512, i);
    }
    vub_disconnect(t.b);
    g_assert_true(vub_wait_connections(t.b, 2, TIMEOUT_MS));
    g_assert_true(vub_wait_vring_running(t.b, 0, TIMEOUT_MS));
    blk_expect_stderr(&t, "backend disconnected", NULL);
    m = vub_find(t.b, VHOST_USER_SET_VRING_BASE, -1);
    g_assert_cmpuint(m->conn, ==, 2);
    g_assert_cmpint(last_vring_base(&t, 0), ==, 3);
    blk_write_check(&t, 0, 30, 512, 9);
    g_assert_cmpuint(vub_vring_info(t.b, 0).used_idx, ==, 4);
    g_assert_cmpuint(vub_blk_stats(t.b).writes, ==, 4);
    blk_free(&t);
}

/* The driver resets the device: GET_VRING_BASE stops the ring at what
 * the backend consumed; the new rings start from zero. */
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
    g_assert_cmpuint(msg_u64(vub_find(t.b, VHOST_USER_SET_STATUS, -1)), ==,
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

    fill(buf, sizeof(buf), 2);
    vub_disk_write(t.b, 100 * 512, buf, sizeof(buf));
    g_assert_cmpint(qvirtio_blk_rw(t.vq[0], &t.alloc, VIRTIO_BLK_T_IN, 100,
                                   back, sizeof(back)), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    g_assert_true(qvirtio_wait_irq(&t.dev, TIMEOUT_MS));

    /* A chain of header, four data descriptors and status. */
    fill(buf, 2048, 3);
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
        fill(buf[q], sizeof(buf[q]), 40 + q);
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

/* --- fd hygiene ----------------------------------------------------------- */

static unsigned count_fds(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/fd", pid);
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    unsigned n = 0;

    g_assert_nonnull(d);
    while (g_dir_read_name(d)) {
        n++;
    }
    return n;
}

typedef enum Misbehave {
    MB_DROP,                    /* hang up */
    MB_FD_AT_INIT,              /* next GET_FEATURES reply carries an fd */
    MB_CONFIG_SIZE,             /* next GET_CONFIG reply is oversized */
    MB_DROP_IN_INIT,            /* next connection dies at message 4 */
    MB_COUNT
} Misbehave;

/* Misbehave, then hang up; returns the connections kvmini needs until
 * it is back in business. */
static unsigned misbehave(Blk *t, Misbehave k)
{
    switch (k) {
    case MB_DROP:
        break;
    case MB_FD_AT_INIT:
        vub_add_fault(t->b, VUB_FAULT_REPLY_FD, VHOST_USER_GET_FEATURES, 0,
                      true);
        break;
    case MB_CONFIG_SIZE:
        vub_add_fault(t->b, VUB_FAULT_REPLY_SIZE, VHOST_USER_GET_CONFIG,
                      4096, true);
        break;
    case MB_DROP_IN_INIT:
        vub_drop_at(t->b, 4);
        break;
    default:
        g_assert_not_reached();
    }
    vub_disconnect(t->b);
    return k == MB_DROP ? 1 : 2;
}

/* Backends that hang up or send garbage, again and again: kvmini comes
 * back each time with exactly the fds it had. */
static void test_no_fd_leak(void)
{
    unsigned fds, conns = 1;
    Blk t;

    blk_init(&t, NULL, true);
    blk_launch(&t, ",reconnect=1", NULL, NULL);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 0, 512, 0);
    fds = count_fds(qtest_pid(t.qts));
    for (Misbehave k = 0; k < MB_COUNT; k++) {
        conns += misbehave(&t, k);
        g_assert_true(vub_wait_connections(t.b, conns, 3 * TIMEOUT_MS));
        g_assert_true(vub_wait_vring_running(t.b, 0, TIMEOUT_MS));
        blk_write_check(&t, 0, 1 + k, 512, k);
        g_assert_cmpuint(count_fds(qtest_pid(t.qts)), ==, fds);
    }
    blk_expect_stderr(&t, "disconnecting backend", NULL);
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
    g_test_add_func("/vhost-user-blk/negotiate/queues-refused",
                    test_queues_refused);
    g_test_add_data_func("/vhost-user-blk/bad-reply/flags", &bad_flags,
                         test_bad_reply);
    g_test_add_data_func("/vhost-user-blk/bad-reply/size", &bad_size,
                         test_bad_reply);
    g_test_add_data_func("/vhost-user-blk/bad-reply/request", &bad_request,
                         test_bad_reply);
    g_test_add_data_func("/vhost-user-blk/bad-reply/fd", &bad_fd,
                         test_bad_reply);
    g_test_add_func("/vhost-user-blk/reply-ack-error", test_reply_ack_error);
    g_test_add_func("/vhost-user-blk/reconnect/late-backend",
                    test_reconnect_late_backend);
    g_test_add_func("/vhost-user-blk/reconnect/resume",
                    test_reconnect_resume);
    g_test_add_func("/vhost-user-blk/vring-base/reset",
                    test_vring_base_reset);
    g_test_add_func("/vhost-user-blk/blk/io", test_blk_io);
    g_test_add_func("/vhost-user-blk/blk/multiqueue", test_multiqueue);
    g_test_add_func("/vhost-user-blk/blk/config-change", test_config_change);
    g_test_add_func("/vhost-user-blk/no-fd-leak", test_no_fd_leak);
    return g_test_run();
}
