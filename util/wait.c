/* SPDX-License-Identifier: MIT */
/*
 * Bounded, cancellable waits (include/qemu/wait.h): one poll(2) over the
 * fd and the cancel fds, re-armed with the time left after EINTR.
 */
#include "qemu/wait.h"

#include <errno.h>
#include <poll.h>

gint64 qemu_deadline_ms(int timeout_ms)
{
    if (timeout_ms < 0) {
        return -1;
    }
    return g_get_monotonic_time() + (gint64)timeout_ms * 1000;
}

/* Milliseconds left until deadline_us, rounded up; -1 for none. */
static int wait_remaining_ms(gint64 deadline_us)
{
    gint64 left, ms;

    if (deadline_us < 0) {
        return -1;
    }
    left = deadline_us - g_get_monotonic_time();
    if (left <= 0) {
        return 0;
    }
    ms = (left + 999) / 1000;
    return ms > G_MAXINT ? G_MAXINT : (int)ms;
}

/* pfd[0] is fd, the cancel fds follow; returns how many are in use. */
static unsigned wait_fill(struct pollfd *pfd, int fd, short events,
                          const WaitCancel *c)
{
    unsigned n = 1;

    pfd[0] = (struct pollfd) { .fd = fd, .events = events };
    for (unsigned i = 0; c && i < WAIT_CANCEL_FDS; i++) {
        if (c->fd[i] >= 0) {
            pfd[n++] = (struct pollfd) { .fd = c->fd[i], .events = POLLIN };
        }
    }
    return n;
}

bool qemu_wait_cancelled(const WaitCancel *c)
{
    return qemu_wait_fd(-1, 0, 0, c) == -ECANCELED;
}

/* Cancelled: a peer that is about to answer (a healthy backend asked
 * for its ring state at shutdown) still gets WAIT_CANCEL_GRACE_MS. */
static int wait_grace(int fd, short events)
{
    struct pollfd pfd = { .fd = fd, .events = events };
    gint64 deadline = qemu_deadline_ms(WAIT_CANCEL_GRACE_MS);
    int r;

    if (fd < 0) {
        return -ECANCELED;
    }
    do {
        r = poll(&pfd, 1, wait_remaining_ms(deadline));
    } while (r < 0 && errno == EINTR);
    return r > 0 && pfd.revents ? pfd.revents : -ECANCELED;
}

int qemu_wait_fd(int fd, short events, gint64 deadline_us,
                 const WaitCancel *c)
{
    struct pollfd pfd[1 + WAIT_CANCEL_FDS];
    unsigned n = wait_fill(pfd, fd, events, c);

    for (;;) {
        int r = poll(pfd, n, wait_remaining_ms(deadline_us));

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -errno;
        }
        if (r > 0 && pfd[0].revents) {
            return pfd[0].revents;
        }
        for (unsigned i = 1; i < n; i++) {
            if (pfd[i].revents) {
                return wait_grace(fd, events);
            }
        }
        if (deadline_us >= 0 && g_get_monotonic_time() >= deadline_us) {
            return 0;
        }
    }
}

bool qemu_sleep_cancellable(gint64 us, const WaitCancel *c)
{
    return qemu_wait_fd(-1, 0, g_get_monotonic_time() + us, c) == 0;
}
