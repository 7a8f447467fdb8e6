/* SPDX-License-Identifier: MIT */
/*
 * Character devices: byte streams between kvmini and the outside (stdio,
 * files, unix sockets), integrated with the glib main loop.
 *
 * A frontend (serial port, qtest, QMP, vhost-user) attaches with
 * qemu_chr_fe_set_handlers() and then receives bytes and events on the main
 * loop; it writes with qemu_chr_write_all().  The socket backend also
 * carries file descriptors (SCM_RIGHTS).
 */
#ifndef CHARDEV_CHAR_H
#define CHARDEV_CHAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>

#include "qemu/error.h"
#include "qemu/wait.h"

typedef struct Chardev Chardev;
typedef struct ChardevClass ChardevClass;

typedef enum ChrEvent {
    CHR_EVENT_OPENED,   /* connected (socket) or ready */
    CHR_EVENT_CLOSED,   /* peer hung up / EOF */
} ChrEvent;

/* Bytes arrived; called from the main loop. */
typedef void ChrReceiveFn(void *opaque, const uint8_t *buf, size_t len);
typedef void ChrEventFn(void *opaque, ChrEvent event);

struct ChardevClass {
    const char *type;                       /* "stdio", "file", "socket" */
    bool (*open)(Chardev *chr, GHashTable *opts, Error **errp);
    ssize_t (*write)(Chardev *chr, const uint8_t *buf, size_t len,
                     const int *fds, size_t nfds);
    /* One write that never blocks: bytes written, -EAGAIN if none fit
     * now, -errno (optional; default: write, which may block). */
    ssize_t (*write_nonblock)(Chardev *chr, const uint8_t *buf, size_t len);
    void (*close)(Chardev *chr);
    /* Start delivering input to the frontend (called when handlers set). */
    void (*start_input)(Chardev *chr);
    /* Drop the connection (optional). */
    void (*disconnect)(Chardev *chr);
    /* Does it come back by itself after a disconnect (optional)? */
    bool (*reconnects)(const Chardev *chr);
    /* Block until connected (optional; default: already connected);
     * chr->cancel ends the wait with an error. */
    bool (*wait_connected)(Chardev *chr, Error **errp);
    /* One blocking read until deadline_us (qemu_deadline_ms(); -1: none):
     * bytes, 0 on EOF, -ETIMEDOUT, -ECANCELED (chr->cancel), -errno. */
    ssize_t (*read_sync)(Chardev *chr, uint8_t *buf, size_t len,
                         gint64 deadline_us);
    /* One write that waits for room until deadline_us (optional;
     * default: write): as write, or -ETIMEDOUT, -ECANCELED. */
    ssize_t (*write_sync)(Chardev *chr, const uint8_t *buf, size_t len,
                          const int *fds, size_t nfds, gint64 deadline_us);
};

struct Chardev {
    char *id;
    const ChardevClass *cls;
    char *label;            /* the original option string, for messages */
    int fd_in;              /* -1 if none */
    int fd_out;             /* -1 if none */
    bool connected;
    guint in_watch;         /* main-loop source id for fd_in */
    GQueue *recv_fds;       /* fds received with data (int), socket only */
    void *backend;          /* backend-private state */

    /* What ends its blocking waits early (the machine's shutdown
     * notifier and signalfd); NULL: nothing does. */
    const WaitCancel *cancel;
    /* The frontend's lock (qemu_chr_fe_set_lock), NULL if none; and the
     * connection's number, changed whenever a peer comes or goes. */
    GMutex *fe_lock;
    unsigned conn_gen;

    char *fe_owner;         /* frontend that claimed it, for messages */
    ChrReceiveFn *fe_receive;
    ChrEventFn *fe_event;
    void *fe_opaque;
};

/* -chardev TYPE,id=ID,... (QEMU syntax).  Registers nothing: the caller
 * owns the result.  cancel (may be NULL) ends its blocking waits early,
 * from a server's wait=on at creation on (see Chardev.cancel). */
Chardev *qemu_chr_new_from_opts(const char *optstr, const WaitCancel *cancel,
                                Error **errp);
/* Short forms used by -serial/-qtest/-qmp: "stdio", "null", "file:PATH",
 * "unix:PATH[,server=on][,wait=off]". */
Chardev *qemu_chr_new_simple(const char *id, const char *spec,
                             const WaitCancel *cancel, Error **errp);
void qemu_chr_free(Chardev *chr);

/* A chardev serves one frontend: claim it for owner (recorded in
 * chr->fe_owner, for messages) or fail with "chardev 'ID' is already in
 * use by OWNER".  Main thread. */
bool qemu_chr_fe_claim(Chardev *chr, const char *owner, Error **errp);

/* The path= of a unix socket chardev (-chardev socket,path= or the
 * "unix:PATH" short form), newly allocated; NULL for other chardevs and
 * for chr == NULL. */
char *qemu_chr_socket_path(const Chardev *chr);

/*
 * A frontend whose requests may come from several threads (vhost-user:
 * a device's worker thread) gives its lock: from then on the chardev
 * changes its connection state and calls the frontend's handlers only
 * with that lock held (its main-loop callbacks take it), the frontend
 * calls the chardev with it held, and a synchronous read releases it
 * while it waits, so that a peer that does not answer stalls nobody
 * else.  Set it before attaching handlers; NULL: no lock (single
 * thread).
 */
void qemu_chr_fe_set_lock(Chardev *chr, GMutex *lock);

/* Attach a frontend; input starts flowing on the next main-loop turn.
 * Passing NULL handlers detaches. */
void qemu_chr_fe_set_handlers(Chardev *chr, ChrReceiveFn *receive,
                              ChrEventFn *event, void *opaque);
/* Write everything (blocking until done); -errno on failure. */
ssize_t qemu_chr_write_all(Chardev *chr, const uint8_t *buf, size_t len);
/* Same, with file descriptors attached to the first byte (socket only). */
ssize_t qemu_chr_write_all_fds(Chardev *chr, const uint8_t *buf, size_t len,
                               const int *fds, size_t nfds);
/* Same, within timeout_ms in all (-1: no limit) for a peer that stops
 * reading: -ETIMEDOUT, or -ECANCELED when chr->cancel fired.  With a
 * frontend lock (held by the caller) the lock is released while waiting
 * for room, as for a synchronous read. */
ssize_t qemu_chr_write_all_timeout(Chardev *chr, const uint8_t *buf,
                                   size_t len, const int *fds, size_t nfds,
                                   int timeout_ms);
/* For frontends that must not stall the main loop on a peer that stops
 * reading (QMP): one write of what fits now — bytes written, -EAGAIN if
 * nothing did, -errno if the peer is gone.  Backends that cannot tell
 * (stdio, files) write as qemu_chr_write_all would. */
ssize_t qemu_chr_write_nonblock(Chardev *chr, const uint8_t *buf, size_t len);
/* Call fn(opaque) from the main loop once the chardev can take more
 * output (or its connection broke; the next write tells which); fn
 * returns G_SOURCE_REMOVE or CONTINUE as a glib source does.  Returns the
 * source id, 0 if there is nothing to wait on.  The caller removes it
 * when the connection closes. */
guint qemu_chr_add_out_watch(Chardev *chr, GSourceFunc fn, void *opaque);
/* Take the oldest fd received with data, or -1 (socket only). */
int qemu_chr_get_msgfd(Chardev *chr);
/* Close every fd received and not yet taken. */
void qemu_chr_drop_msgfds(Chardev *chr);

/*
 * Synchronous reads for request/reply protocols (vhost-user): a frontend
 * that attaches with receive == NULL gets only events (a hang-up watch),
 * and reads replies itself.  Reads exactly len bytes within timeout_ms in
 * all (a signal never restarts the timeout).  fds that arrive are queued
 * (qemu_chr_get_msgfd).  With a frontend lock (held by the caller) the
 * lock is released while waiting; a connection that went or was replaced
 * meanwhile fails the read with -ECONNRESET.  Returns len, 0 if the peer
 * closed, -ETIMEDOUT, -ECANCELED when chr->cancel fired (kvmini is
 * shutting down), -ECONNRESET, or -errno.
 */
ssize_t qemu_chr_read_all_timeout(Chardev *chr, uint8_t *buf, size_t len,
                                  int timeout_ms);
/* Drop the current connection (socket): the frontend gets
 * CHR_EVENT_CLOSED from the main loop, never from inside this call; a
 * client with reconnect= dials again, a server accepts the next peer. */
void qemu_chr_fe_disconnect(Chardev *chr);
bool qemu_chr_is_connected(const Chardev *chr);
/* Block until the socket has a peer: a client with reconnect= (or
 * reconnect-ms=) dials at that interval, a server accepts.  A peer that
 * hung up already does not count (it is dropped first).  Used at
 * start-up by devices that need their backend to describe themselves (as
 * QEMU's realize does), and for a server's wait=on.  Fails with
 * "interrupted" when chr->cancel fires.  With a frontend lock (held by
 * the caller) the lock is released while waiting. */
bool qemu_chr_wait_connected(Chardev *chr, Error **errp);
/* Does the chardev come back by itself after a disconnect (a socket
 * client with reconnect= or reconnect-ms=)?  Its next dial then waits
 * the reconnect interval, so a backend that keeps failing is not
 * hammered. */
bool qemu_chr_reconnects(const Chardev *chr);


#endif
