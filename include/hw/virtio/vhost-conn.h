/* SPDX-License-Identifier: MIT */
/*
 * A vhost backend connection: what a device holds to reach the backend
 * that runs its data path, whichever backend the user named on the
 * command line (-chardev + vhost-user today; tap,vhost=on and
 * vhost-vdpa are the next backends).  It bundles
 *   - the VhostOps every struct vhost_dev of the device is driven with and
 *     the backend state they share (VhostConn.opaque, handed to
 *     vhost_dev_init),
 *   - the connection's life cycle (wait for the backend at start-up, open
 *     and close around the vhost_devs' init and cleanup, drop a backend
 *     the device refuses),
 *   - capability questions a device asks (queue count, config space),
 *   - events up to the device (VhostConnClient: the backend came, went).
 * The device never asks which backend it has; backend files implement a
 * VhostConnClass and a constructor (vhost_user_conn_new, ...).
 *
 * Who owns it: whoever created it from the command line — a device with
 * its own backend property (vhost-user-blk's chardev=) or a netdev
 * (-netdev vhost-user) that a virtio-net device then uses.
 *
 * Threading: every call runs with the machine lock held
 * (VhostConn.lock).  The connection has a worker thread
 * (include/hw/virtio/vhost-worker.h), the only thread that talks to the
 * backend: whatever needs the backend runs there (vhost_conn_call /
 * vhost_conn_post).  The client callbacks come from the main loop, lock
 * held, and must not wait for the backend: they post.
 */
#ifndef HW_VIRTIO_VHOST_CONN_H
#define HW_VIRTIO_VHOST_CONN_H

#include "hw/virtio/vhost-worker.h"
#include "hw/virtio/vhost.h"

typedef struct VhostConn VhostConn;

/* What the device hears from its connection: main loop, machine lock
 * held; both post their work to the connection's worker. */
typedef struct VhostConnClient {
    /* The backend can be talked to again (a new connection after one was
     * lost): set the vhost_devs up; a refusal is logged ("LABEL: backend
     * connection failed: REASON") and the backend dropped
     * (vhost_conn_drop: a reconnecting backend may come back). */
    void (*up)(void *opaque);
    /* The backend went away: stop and clean up without talking to it. */
    void (*down)(void *opaque);
} VhostConnClient;

/* What x-query-vhost and the connection events show. */
typedef struct VhostConnInfo {
    const char *type;           /* "vhost-user" */
    const char *name;           /* chardev id, ... */
    char *socket_path;          /* unix socket path, NULL if none */
    uint64_t protocol_features; /* negotiated (vhost-user), else 0 */
} VhostConnInfo;

typedef struct VhostConnClass {
    const char *type;           /* "vhost-user": reports and event names */
    const VhostOps *ops;        /* for every vhost_dev on the connection */
    /* Block until the backend can be talked to (start-up: the backend
     * describes the device).  NULL: always ready. */
    bool (*wait)(VhostConn *c, Error **errp);
    /* Before the first vhost_dev_init of a connection / after the last
     * vhost_dev_cleanup.  close must be safe when open failed or never
     * ran. */
    bool (*open)(VhostConn *c, Error **errp);
    void (*close)(VhostConn *c);
    /* Give up the current connection after the device refused it; the
     * client hears down() later, from the main loop.  NULL: nothing to
     * drop (the device just stays disconnected). */
    void (*drop)(VhostConn *c);
    /* Does a dropped connection come back by itself (a backend that
     * failed is worth waiting past)?  NULL: no. */
    bool (*retries)(VhostConn *c);
    /* Start (on) or stop delivering events to c->client. */
    void (*watch)(VhostConn *c, bool on);
    /* Queues the backend serves (for net: queue pairs), if it says;
     * false when it does not.  Open connection only. */
    bool (*max_queues)(VhostConn *c, uint64_t *queues);
    /* Can the device config space be read and written? */
    bool (*has_config)(VhostConn *c);
    /* Fill info (socket_path newly allocated). */
    void (*query)(VhostConn *c, VhostConnInfo *info);
    /* Free the object (closed and unwatched already). */
    void (*free)(VhostConn *c);
} VhostConnClass;

struct VhostConn {
    const VhostConnClass *cls;
    char *name;                 /* the backend as the user named it */
    char *label;                /* the user, for log lines: "MODEL 'ID'" */
    void *opaque;               /* backend state for vhost_dev_init */
    GMutex *lock;               /* the machine lock */
    VhostWorker *worker;        /* NULL without a lock (unit tests) */
    const VhostConnClient *client;
    void *client_opaque;
    bool opened;
};

/* For backends: set up the common part of a new connection (and its
 * worker thread when lock is given); name is copied. */
void vhost_conn_setup(VhostConn *c, const VhostConnClass *cls,
                      const char *name, void *opaque, GMutex *lock);

/* Free c (detached and closed first); NULL-safe. */
void vhost_conn_free(VhostConn *c);

/* The device takes c: label names it in log lines ("vhost-user-blk
 * 'disk0'").  Events flow once vhost_conn_attach is called with a
 * client; detach (NULL-safe, idempotent) stops them. */
void vhost_conn_set_label(VhostConn *c, const char *label);
void vhost_conn_attach(VhostConn *c, const VhostConnClient *client,
                       void *opaque);
void vhost_conn_detach(VhostConn *c);

/* Block until the backend is there (see VhostConnClass.wait). */
bool vhost_conn_wait(VhostConn *c, Error **errp);
/* Open the connection and init dev on it (vhost_dev_init with the
 * connection's ops and state); the first call opens.  On failure dev is
 * cleaned up; close the connection with vhost_conn_close. */
bool vhost_conn_init_dev(VhostConn *c, struct vhost_dev *dev,
                         AddressSpace *as, Error **errp);
/* After the last vhost_dev_cleanup; safe when not open. */
void vhost_conn_close(VhostConn *c);
/* Refuse the current backend (see VhostConnClass.drop). */
void vhost_conn_drop(VhostConn *c);
/* Does a dropped connection come back (see VhostConnClass.retries)? */
bool vhost_conn_retries(VhostConn *c);

/* Capabilities of the open connection. */
bool vhost_conn_max_queues(VhostConn *c, uint64_t *queues);
bool vhost_conn_has_config(VhostConn *c);
/* info->socket_path must be freed by the caller. */
void vhost_conn_query(VhostConn *c, VhostConnInfo *info);

/* Run fn(opaque) on the connection's worker and wait for it (the lock
 * released meanwhile); without a worker, right here. */
void vhost_conn_call(VhostConn *c, VhostWorkFn *fn, void *opaque);
/* Queue fn(opaque) on the worker (destroy(opaque) after it); without a
 * worker, run it right here. */
void vhost_conn_post(VhostConn *c, VhostWorkFn *fn, void *opaque,
                     GDestroyNotify destroy);
/* Wait until what was queued on the worker so far has run. */
void vhost_conn_flush(VhostConn *c);

/* For backends: deliver an event, from the main loop, machine lock held
 * (the chardev takes it: qemu_chr_fe_set_lock). */
void vhost_conn_event_up(VhostConn *c);
void vhost_conn_event_down(VhostConn *c);

#endif
