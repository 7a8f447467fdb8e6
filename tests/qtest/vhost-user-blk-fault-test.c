/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-blk under qtest with backends that misbehave: broken
 * replies, failed acks, hang-ups, late arrival, requests on the backend
 * channel.  kvmini must drop such a backend with a reason on stderr, keep
 * answering qtest, come back when the backend does (ring position handed
 * back in SET_VRING_BASE) and keep exactly the fds it had.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <linux/virtio_blk.h>

#include "hw/virtio/virtio-mmio.h"
#include "vhost-user-blk-common.h"

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
/* kvmini waits VHOST_USER_REPLY_TIMEOUT_MS (10 s) for it. */
static const BadReply bad_none = { VUB_FAULT_NO_REPLY, 0, "no reply" };

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
/* --- the backend channel ------------------------------------------------- */

/* Requests on the backend channel: a host-notifier page is taken or
 * withdrawn, an unknown queue and IOTLB (no vIOMMU) are refused with a
 * reason, and a malformed message drops the backend. */
static void test_backend_requests(void)
{
    VhostUserIotlb io = { .size = 4096, .perm = 3, .type = 2 };
    uint64_t st = 99;
    VubOptions o;
    Blk t;
    int fd;

    blk_options(&o);
    o.protocol_features |= VUB_BIT(VHOST_USER_PROTOCOL_F_HOST_NOTIFIER);
    blk_init(&t, &o, true);
    blk_launch(&t, NULL, NULL, NULL);
    blk_driver_start(&t, 1);
    g_assert_true(vub_send_host_notifier(t.b, 0, true, true, &st));
    g_assert_cmpuint(st, ==, 0);
    g_assert_true(vub_send_host_notifier(t.b, 0, false, true, &st));
    g_assert_cmpuint(st, ==, 0);
    g_assert_true(vub_send_host_notifier(t.b, 5, true, true, &st));
    g_assert_cmpuint(st, !=, 0);
    g_assert_true(vub_send_iotlb(t.b, &io, true, &st));
    g_assert_cmpuint(st, !=, 0);
    blk_expect_stderr(&t, "no queue 5", "vIOMMU", NULL);
    blk_write_check(&t, 0, 3, 512, 5);

    fd = eventfd(0, EFD_CLOEXEC);
    g_assert_true(vub_backend_send(t.b, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
                                   NULL, 0, fd, false, NULL, 0));
    close(fd);
    g_assert_true(vub_wait_disconnected(t.b, TIMEOUT_MS));
    blk_expect_stderr(&t, "backend channel", "malformed", NULL);
    blk_assert_alive(&t);
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
    g_test_add_data_func("/vhost-user-blk/bad-reply/flags", &bad_flags,
                         test_bad_reply);
    g_test_add_data_func("/vhost-user-blk/bad-reply/size", &bad_size,
                         test_bad_reply);
    g_test_add_data_func("/vhost-user-blk/bad-reply/request", &bad_request,
                         test_bad_reply);
    g_test_add_data_func("/vhost-user-blk/bad-reply/fd", &bad_fd,
                         test_bad_reply);
    g_test_add_data_func("/vhost-user-blk/bad-reply/none", &bad_none,
                         test_bad_reply);
    g_test_add_func("/vhost-user-blk/reply-ack-error", test_reply_ack_error);
    g_test_add_func("/vhost-user-blk/reconnect/late-backend",
                    test_reconnect_late_backend);
    g_test_add_func("/vhost-user-blk/reconnect/resume",
                    test_reconnect_resume);
    g_test_add_func("/vhost-user-blk/no-fd-leak", test_no_fd_leak);
    g_test_add_func("/vhost-user-blk/backend-channel/requests",
                    test_backend_requests);
    return g_test_run();
}
