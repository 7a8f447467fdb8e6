/* SPDX-License-Identifier: MIT */
/*
 * Bounded, cancellable waits on file descriptors.
 *
 * Every place where kvmini blocks on a peer (a backend's reply, a socket
 * peer to accept, a reconnect delay) waits through these helpers: with a
 * deadline on the monotonic clock, so that a signal or a spurious wake-up
 * never restarts the full timeout (only the remaining time is waited),
 * and watching a WaitCancel, the fds whose readability means "stop
 * waiting now" — the machine's shutdown notifier and its signalfd — so
 * that SIGTERM or QMP quit ends any wait at once (after a short grace
 * for a peer that is answering).
 *
 * Thread-safe: the helpers only poll; nothing is consumed from the cancel
 * fds (whoever owns them does).
 */
#ifndef QEMU_WAIT_H
#define QEMU_WAIT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define WAIT_CANCEL_FDS 2
/* What a cancelled wait still grants its fd: enough for a peer that
 * answers at once, far below any human's patience. */
#define WAIT_CANCEL_GRACE_MS 50

typedef struct WaitCancel {
    int fd[WAIT_CANCEL_FDS];    /* -1: unused slot */
} WaitCancel;

/* A deadline timeout_ms from now (monotonic, µs); -1 for timeout_ms < 0
 * (no deadline). */
gint64 qemu_deadline_ms(int timeout_ms);

/* Is any cancel fd readable now?  false for c == NULL. */
bool qemu_wait_cancelled(const WaitCancel *c);

/*
 * Wait until fd has one of events (POLLIN, ...), the deadline passes
 * (deadline_us: a qemu_deadline_ms() value, -1 = none) or c cancels.
 * Returns the revents (> 0), 0 on timeout, -ECANCELED when cancelled, or
 * -errno.  A ready fd wins; once cancelled, the fd still has
 * WAIT_CANCEL_GRACE_MS to become ready (a healthy backend answers its
 * last requests at shutdown, a stalled one costs that much).  EINTR is
 * retried with the remaining time.  fd may be -1: then it only sleeps,
 * and a cancel ends it at once.
 */
int qemu_wait_fd(int fd, short events, gint64 deadline_us,
                 const WaitCancel *c);

/* Sleep us microseconds unless cancelled: true if it slept all of it. */
bool qemu_sleep_cancellable(gint64 us, const WaitCancel *c);

#endif
