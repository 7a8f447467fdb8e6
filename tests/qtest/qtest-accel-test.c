/* SPDX-License-Identifier: MIT */
/*
 * The qtest accelerator in-process: a machine built with -accel qtest
 * connects to a socket this test listens on, and the test drives the glib
 * main loop itself.  Covers what the kvmini binary cannot show without
 * devices: emulated irqfds (a signalled eventfd pulses its GSI), direct
 * set_irq, start failures and shutdown when the peer hangs up.
 */
#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sysemu/sysemu.h"

typedef struct Peer {
    char *dir;
    char *path;
    int listen_fd;
    int fd;
    MachineState *ms;
} Peer;

static void peer_listen(Peer *p)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_autoptr(GError) err = NULL;

    p->dir = g_dir_make_tmp("qtest-accel-XXXXXX", &err);
    g_assert_no_error(err);
    p->path = g_build_filename(p->dir, "sock", NULL);
    g_assert_cmpuint(strlen(p->path), <, sizeof(sa.sun_path));
    strcpy(sa.sun_path, p->path);
    p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(p->listen_fd, >=, 0);
    g_assert_cmpint(bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)),
                    ==, 0);
    g_assert_cmpint(listen(p->listen_fd, 1), ==, 0);
    p->fd = -1;
}

/* Build a qtest machine on spec and start it; false if start failed. */
static bool peer_start(Peer *p, const char *spec, Error **errp)
{
    g_autoptr(Error) err = NULL;

    p->ms = machine_new();
    p->ms->accel = &qtest_accel_ops;
    p->ms->qtest_chardev = g_strdup(spec);
    p->ms->serial_spec = g_strdup("none");
    g_assert_true(machine_build(p->ms, &err));
    g_assert_null(err);
    return p->ms->accel->start(p->ms, errp);
}

static void peer_connect(Peer *p)
{
    g_autofree char *spec = NULL;
    g_autoptr(Error) err = NULL;

    peer_listen(p);
    spec = g_strdup_printf("unix:%s", p->path);
    g_assert_true(peer_start(p, spec, &err));
    p->fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    g_assert_cmpint(p->fd, >=, 0);
}

static void peer_free(Peer *p)
{
    if (p->fd >= 0) {
        close(p->fd);
    }
    close(p->listen_fd);
    machine_free(p->ms);
    g_unlink(p->path);
    g_rmdir(p->dir);
    g_free(p->path);
    g_free(p->dir);
}

static void pump(void)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

/* Run the main loop until want bytes have arrived; they must equal want. */
static void expect(Peer *p, const char *want)
{
    size_t len = strlen(want), got = 0;
    g_autofree char *buf = g_malloc0(len + 1);
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (got < len) {
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

        pump();
        if (poll(&pfd, 1, 10) == 1) {
            ssize_t n = read(p->fd, buf + got, len - got);

            g_assert_cmpint(n, >, 0);
            got += n;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
    g_assert_cmpstr(buf, ==, want);
}

static void send_line(Peer *p, const char *line)
{
    g_autofree char *msg = g_strconcat(line, "\n", NULL);

    g_assert_cmpint(write(p->fd, msg, strlen(msg)), ==, strlen(msg));
}

static void test_irqfd(void)
{
    Peer p;
    EventNotifier e;
    g_autoptr(Error) err = NULL;
    const AccelOps *ops = &qtest_accel_ops;

    peer_connect(&p);
    g_assert_true(event_notifier_init(&e, false, &err));
    g_assert_true(ops->irqfd_add(p.ms, &e, 7, &err));
    send_line(&p, "irq_intercept_in ioapic");
    expect(&p, "OK\n");
    event_notifier_set(&e);
    expect(&p, "IRQ raise 7\nIRQ lower 7\n");
    event_notifier_set(&e);
    event_notifier_set(&e);           /* two signals, one pulse */
    expect(&p, "IRQ raise 7\nIRQ lower 7\n");
    g_assert_false(ops->irqfd_add(p.ms, &e, 8, NULL));
    g_assert_false(ops->irqfd_add(p.ms, &e, 100000, NULL));
    ops->irqfd_del(p.ms, &e, 7);
    event_notifier_set(&e);
    send_line(&p, "endianness");
    expect(&p, "OK little\n");        /* no IRQ line any more */
    g_assert_true(ops->irqfd_add(p.ms, &e, 9, &err));   /* left bound */
    peer_free(&p);
    event_notifier_cleanup(&e);
}

static void test_set_irq(void)
{
    Peer p;

    peer_connect(&p);
    machine_set_irq(p.ms, 9, 1);        /* not intercepting: silent */
    send_line(&p, "irq_intercept_out ioapic");
    expect(&p, "IRQ raise 9\nOK\n");
    machine_set_irq(p.ms, 9, 1);
    machine_set_irq(p.ms, 9, 0);
    machine_set_irq(p.ms, 4, 1);
    send_line(&p, "endianness");
    expect(&p, "IRQ lower 9\nIRQ raise 4\nOK little\n");
    peer_free(&p);
}

static void test_hangup_shuts_down(void)
{
    Peer p;
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    peer_connect(&p);
    send_line(&p, "clock_step 5");
    expect(&p, "OK 5\n");
    g_assert_false(p.ms->shutdown_requested);
    close(p.fd);
    p.fd = -1;
    while (!p.ms->shutdown_requested) {
        g_main_context_iteration(NULL, FALSE);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    }
    g_assert_cmpint(p.ms->exit_status, ==, 0);
    peer_free(&p);
}

static void test_start_fails(void)
{
    Peer p;
    g_autoptr(Error) err = NULL;

    peer_listen(&p);
    g_assert_false(peer_start(&p, "unix:/nonexistent/qtest.sock", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "-qtest"));
    peer_free(&p);
}

static void test_needs_chardev(void)
{
    MachineState *ms = machine_new();
    g_autoptr(Error) err = NULL;

    ms->accel = &qtest_accel_ops;
    ms->serial_spec = g_strdup("none");
    g_assert_false(machine_build(ms, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "-qtest"));
    machine_free(ms);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qtest/accel/irqfd", test_irqfd);
    g_test_add_func("/qtest/accel/set-irq", test_set_irq);
    g_test_add_func("/qtest/accel/hangup-shuts-down", test_hangup_shuts_down);
    g_test_add_func("/qtest/accel/start-fails", test_start_fails);
    g_test_add_func("/qtest/accel/needs-chardev", test_needs_chardev);
    return g_test_run();
}
