/* SPDX-License-Identifier: MIT */
/*
 * SIGTERM, SIGINT and SIGHUP end kvmini at once, whatever it waits for.
 *
 * kvmini runs under qtest with a vhost-user-blk device whose backend (the
 * test backend, vhost-user-test-backend.h) never answers one request, or
 * with no backend at all; the signal comes while kvmini waits for it:
 * the backend's first replies at start-up (GET_FEATURES), the driver's
 * start (the memory table), the stop at shutdown (GET_VRING_BASE), a server
 * socket's first peer (wait=on, or the device's own wait with wait=off),
 * a reconnect dial.  Each time kvmini must
 * exit with status 0 — a signal is a request to shut down, as the user
 * guide says — well within the 10 s a reply may take, and a signal never
 * restarts that wait.  Under qtest the waiter is the main loop itself,
 * the hardest case: nothing but the wait can notice the signal.
 */
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>

#include "vhost-user-blk-common.h"

/* What "at once" means here: far below the 10 s reply timeout. */
#define EXIT_BOUND_MS 1000

/* Signal kvmini and time its exit; returns the exit status. */
static int signal_and_wait(GPid pid, int sig, gint64 *ms)
{
    gint64 t0 = g_get_monotonic_time();
    int status;

    g_assert_cmpint(kill(pid, sig), ==, 0);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        g_assert_cmpint(r, >=, 0);
        if (r == pid) {
            break;
        }
        if (g_get_monotonic_time() - t0 > 15 * G_USEC_PER_SEC) {
            kill(pid, SIGKILL);
            g_assert_not_reached();
        }
        g_usleep(2000);
    }
    *ms = (g_get_monotonic_time() - t0) / 1000;
    g_test_message("exit %d ms after signal %d", (int)*ms, sig);
    return WIFEXITED(status) ? WEXITSTATUS(status)
                             : 128 + WTERMSIG(status);
}

/* kvmini under qtest must exit 0 within the bound after sig. */
static void check_signal_exit(Blk *t, int sig)
{
    gint64 t0 = g_get_monotonic_time();
    gint64 ms;
    int status;

    g_assert_cmpint(kill(qtest_pid(t->qts), sig), ==, 0);
    status = qtest_wait_exit(t->qts);
    ms = (g_get_monotonic_time() - t0) / 1000;
    g_test_message("exit %d ms after signal %d", (int)ms, sig);
    g_assert_cmpint(status, ==, 0);
    g_assert_cmpint(ms, <, EXIT_BOUND_MS);
}

/* The test backend has the request pending (logged) and answers never. */
static void wait_request(Blk *t, uint32_t request)
{
    g_assert_true(vub_wait_for_request(t->b, request, TIMEOUT_MS));
}

static void blk_free_exited(Blk *t)
{
    /* Reaps nothing more: the process is gone. */
    qtest_quit_status(t->qts);
    t->qts = NULL;
    blk_free(t);
}

/* The driver sets DRIVER_OK; the backend never acknowledges the memory
 * table of the start that follows (ADD_MEM_REG: the test backend offers
 * CONFIGURE_MEM_SLOTS). */
static void test_start(void)
{
    g_autofree char *cmd = NULL;
    Blk t;

    blk_init(&t, NULL, true);
    vub_add_fault(t.b, VUB_FAULT_NO_REPLY, VHOST_USER_ADD_MEM_REG, 0, true);
    blk_launch(&t, NULL, NULL, NULL);
    g_assert_true(qvirtio_mmio_probe(&t.dev, t.qts, 0));
    g_assert_true(qvirtio_negotiate(&t.dev, BLK_WANTED));
    t.vq[0] = qvirtqueue_setup(&t.dev, &t.alloc, 0, 0);
    t.nvqs = 1;
    /* The status write does not return before the start: do not wait
     * for its "OK". */
    cmd = g_strdup_printf("writel 0x%" PRIx64 " 0x%x\n",
                          t.dev.base + VIRTIO_MMIO_STATUS,
                          qvirtio_get_status(&t.dev) |
                          VIRTIO_CONFIG_S_DRIVER_OK);
    qtest_send_raw(t.qts, cmd, strlen(cmd));
    wait_request(&t, VHOST_USER_ADD_MEM_REG);
    check_signal_exit(&t, SIGTERM);
    blk_free_exited(&t);
}

/* The driver runs; at shutdown the backend never answers GET_VRING_BASE
 * (kvmini stops every device before it exits). */
static void test_stop(void)
{
    Blk t;

    blk_init(&t, NULL, true);
    blk_launch(&t, NULL, NULL, NULL);
    blk_driver_start(&t, 1);
    blk_write_check(&t, 0, 1, 512, 1);
    vub_add_fault(t.b, VUB_FAULT_NO_REPLY, VHOST_USER_GET_VRING_BASE, 0,
                  false);
    check_signal_exit(&t, SIGTERM);
    blk_free_exited(&t);
}

/* A healthy backend is still stopped properly at shutdown: with two
 * queues, both rings' GET_VRING_BASE are sent and answered (a wait that
 * the shutdown cancels still hears a peer that answers at once). */
static void test_healthy_stop(void)
{
    VubOptions o;
    Blk t;

    blk_options(&o);
    o.num_queues = 2;
    blk_init(&t, &o, true);
    blk_launch(&t, NULL, ",num-queues=2", NULL);
    blk_driver_start(&t, 2);
    blk_write_check(&t, 1, 5, 512, 3);
    /* A backend that takes a moment (20 ms) to answer. */
    vub_add_fault(t.b, VUB_FAULT_REPLY_DELAY, VHOST_USER_GET_VRING_BASE, 20,
                  false);
    check_signal_exit(&t, SIGTERM);
    g_assert_cmpuint(vub_count(t.b, VHOST_USER_GET_VRING_BASE), ==, 2);
    blk_free_exited(&t);
}

/* --- while the machine is built (no qtest yet) ------------------------- */

/* Start kvmini with args (no qtest socket: it would never get there) and
 * return its pid once path exists (the socket it listens on, or the
 * directory it dials in). */
static GPid spawn_kvmini(const char *args, const char *path)
{
    g_autofree char *line = g_strdup_printf("%s %s",
                                            qtest_kvmini_binary(), args);
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) err = NULL;
    GPid pid;

    g_assert_true(g_shell_parse_argv(line, NULL, &argv, &err));
    g_assert_true(g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD |
                                G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                &pid, &err));
    for (unsigned i = 0; i < 1000 && !g_file_test(path, G_FILE_TEST_EXISTS);
         i++) {
        g_usleep(10 * 1000);
    }
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    g_usleep(100 * 1000);       /* well into the wait */
    return pid;
}

static void check_spawned_exit(GPid pid, int sig)
{
    gint64 ms;

    g_assert_cmpint(signal_and_wait(pid, sig, &ms), ==, 0);
    g_assert_cmpint(ms, <, EXIT_BOUND_MS);
    g_spawn_close_pid(pid);
}

/* kvmini with a vhost-user-blk on the test backend's socket, under
 * qtest (whose socket nobody serves: the build never gets that far). */
static GPid spawn_blk(Blk *t)
{
    g_autofree char *args = g_strdup_printf(
        "-accel qtest -qtest unix:%s/none.sock -serial null "
        "-chardev socket,id=c0,path=%s -device vhost-user-blk,chardev=c0",
        t->dir, t->sock);

    return spawn_kvmini(args, t->sock);
}

/* The backend never answers GET_FEATURES: kvmini is still building the
 * machine (the device waits for its backend, as QEMU's realize does). */
static void test_realize(gconstpointer data)
{
    Blk t;
    GPid pid;

    blk_init(&t, NULL, true);
    vub_add_fault(t.b, VUB_FAULT_NO_REPLY, VHOST_USER_GET_FEATURES, 0, true);
    pid = spawn_blk(&t);
    wait_request(&t, VHOST_USER_GET_FEATURES);
    check_spawned_exit(pid, GPOINTER_TO_INT(data));
    blk_free(&t);
}

/* Signals in a row (SIGHUP, then SIGTERM at once): the first ends the
 * wait, a later one neither restarts it nor changes the status. */
static void test_repeated(void)
{
    Blk t;
    GPid pid;

    blk_init(&t, NULL, true);
    vub_add_fault(t.b, VUB_FAULT_NO_REPLY, VHOST_USER_GET_FEATURES, 0, true);
    pid = spawn_blk(&t);
    wait_request(&t, VHOST_USER_GET_FEATURES);
    g_assert_cmpint(kill(pid, SIGHUP), ==, 0);
    check_spawned_exit(pid, SIGTERM);
    blk_free(&t);
}

/* server=on (wait=on): the machine waits for the first peer. */
static void test_server_wait(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("kvmini-sd-XXXXXX", &err);
    g_autofree char *sock = g_build_filename(dir, "s.sock", NULL);
    g_autofree char *args = g_strdup_printf(
        "-accel qtest -qtest unix:%s/none.sock -serial null "
        "-chardev socket,id=c0,path=%s,server=on "
        "-device vhost-user-blk,chardev=c0", dir, sock);

    check_spawned_exit(spawn_kvmini(args, sock), SIGTERM);
    g_unlink(sock);
    g_rmdir(dir);
}

/* server=on,wait=off: the socket does not wait, the device does (its
 * backend describes it: features, config). */
static void test_server_nowait_device(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("kvmini-sd-XXXXXX", &err);
    g_autofree char *sock = g_build_filename(dir, "s.sock", NULL);
    g_autofree char *args = g_strdup_printf(
        "-accel qtest -qtest unix:%s/none.sock -serial null "
        "-chardev socket,id=c0,path=%s,server=on,wait=off "
        "-device vhost-user-blk,chardev=c0", dir, sock);

    check_spawned_exit(spawn_kvmini(args, sock), SIGTERM);
    g_unlink(sock);
    g_rmdir(dir);
}

/* reconnect=1 and no backend ever: the device's realize dials on. */
static void test_reconnect_wait(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("kvmini-sd-XXXXXX", &err);
    g_autofree char *args = g_strdup_printf(
        "-accel qtest -qtest unix:%s/none.sock -serial null "
        "-chardev socket,id=c0,path=%s/absent.sock,reconnect=1 "
        "-device vhost-user-blk,chardev=c0", dir, dir);

    check_spawned_exit(spawn_kvmini(args, dir), SIGTERM);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/shutdown/sigterm/realize",
                         GINT_TO_POINTER(SIGTERM), test_realize);
    g_test_add_data_func("/shutdown/sigint/realize",
                         GINT_TO_POINTER(SIGINT), test_realize);
    g_test_add_data_func("/shutdown/sighup/realize",
                         GINT_TO_POINTER(SIGHUP), test_realize);
    g_test_add_func("/shutdown/sigterm/start", test_start);
    g_test_add_func("/shutdown/sigterm/stop", test_stop);
    g_test_add_func("/shutdown/sigterm/repeated", test_repeated);
    g_test_add_func("/shutdown/sigterm/healthy-stop", test_healthy_stop);
    g_test_add_func("/shutdown/sigterm/server-wait", test_server_wait);
    g_test_add_func("/shutdown/sigterm/server-nowait-device",
                    test_server_nowait_device);
    g_test_add_func("/shutdown/sigterm/reconnect-wait", test_reconnect_wait);
    return g_test_run();
}
