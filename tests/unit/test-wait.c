/* SPDX-License-Identifier: MIT */
/*
 * Bounded, cancellable waits (include/qemu/wait.h): a wait ends when its
 * fd is ready, when its deadline passes — counted from the start, so that
 * signals arriving meanwhile never stretch it — or at once when a cancel
 * fd becomes readable, even if the fd is ready too.  A reconnect delay is
 * a cancellable sleep.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <glib.h>

#include "qemu/wait.h"

static void on_sigusr1(int sig)
{
}

typedef struct Pester {
    pthread_t target;
    gint stop;
    unsigned sent;
} Pester;

/* A signal with a handler (no SA_RESTART) to the waiting thread every
 * 10 ms: each interrupts its poll() with EINTR. */
static gpointer pester(gpointer opaque)
{
    Pester *p = opaque;

    while (!g_atomic_int_get(&p->stop)) {
        pthread_kill(p->target, SIGUSR1);
        p->sent++;
        g_usleep(10 * 1000);
    }
    return NULL;
}

/* 200 ms of waiting on a pipe nobody writes, under a hail of signals:
 * the wait ends after 200 ms, not 200 ms after the last signal. */
static void test_deadline_survives_signals(void)
{
    struct sigaction sa = { .sa_handler = on_sigusr1 };
    Pester p = { .target = pthread_self() };
    int fds[2];
    gint64 t0, ms;
    GThread *th;
    int r;

    sigemptyset(&sa.sa_mask);
    g_assert_cmpint(sigaction(SIGUSR1, &sa, NULL), ==, 0);
    g_assert_cmpint(pipe(fds), ==, 0);
    th = g_thread_new("pester", pester, &p);
    t0 = g_get_monotonic_time();
    r = qemu_wait_fd(fds[0], POLLIN, qemu_deadline_ms(200), NULL);
    ms = (g_get_monotonic_time() - t0) / 1000;
    g_atomic_int_set(&p.stop, 1);
    g_thread_join(th);
    g_assert_cmpint(r, ==, 0);
    g_assert_cmpuint(p.sent, >=, 10);
    g_assert_cmpint(ms, >=, 200);
    g_assert_cmpint(ms, <, 2000);
    close(fds[0]);
    close(fds[1]);
}

/* Readable fd: its revents, also once cancelled (a peer that answered
 * is heard); a silent fd that is cancelled: -ECANCELED after the grace. */
static void test_ready_and_cancel(void)
{
    int fds[2];
    int efd = eventfd(0, EFD_CLOEXEC);
    WaitCancel c = { .fd = { -1, efd } };
    char x;
    gint64 t0;

    g_assert_cmpint(pipe(fds), ==, 0);
    g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
    g_assert_cmpint(qemu_wait_fd(fds[0], POLLIN, -1, &c), ==, POLLIN);
    g_assert_false(qemu_wait_cancelled(&c));
    g_assert_cmpint(eventfd_write(efd, 1), ==, 0);
    g_assert_true(qemu_wait_cancelled(&c));
    g_assert_cmpint(qemu_wait_fd(fds[0], POLLIN, -1, &c), ==, POLLIN);
    g_assert_cmpint(read(fds[0], &x, 1), ==, 1);
    t0 = g_get_monotonic_time();
    g_assert_cmpint(qemu_wait_fd(fds[0], POLLIN, -1, &c), ==, -ECANCELED);
    g_assert_cmpint(g_get_monotonic_time() - t0, >=,
                    WAIT_CANCEL_GRACE_MS * 1000);
    g_assert_false(qemu_wait_cancelled(NULL));
    close(efd);
    close(fds[0]);
    close(fds[1]);
}

static gpointer cancel_later(gpointer opaque)
{
    g_usleep(50 * 1000);
    g_assert_cmpint(eventfd_write(GPOINTER_TO_INT(opaque), 1), ==, 0);
    return NULL;
}

/* A wait with no deadline and a sleep of an hour both end when another
 * thread cancels. */
static void test_cancel_from_thread(void)
{
    int efd = eventfd(0, EFD_CLOEXEC);
    WaitCancel c = { .fd = { efd, -1 } };
    int fds[2];
    GThread *th;
    gint64 t0;

    g_assert_cmpint(pipe(fds), ==, 0);
    th = g_thread_new("cancel", cancel_later, GINT_TO_POINTER(efd));
    g_assert_cmpint(qemu_wait_fd(fds[0], POLLIN, -1, &c), ==, -ECANCELED);
    g_thread_join(th);
    t0 = g_get_monotonic_time();
    g_assert_false(qemu_sleep_cancellable(3600LL * G_USEC_PER_SEC, &c));
    g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC);
    g_assert_true(qemu_sleep_cancellable(20 * 1000, NULL));
    close(efd);
    close(fds[0]);
    close(fds[1]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/wait/deadline-survives-signals",
                    test_deadline_survives_signals);
    g_test_add_func("/wait/ready-and-cancel", test_ready_and_cancel);
    g_test_add_func("/wait/cancel-from-thread", test_cancel_from_thread);
    return g_test_run();
}
